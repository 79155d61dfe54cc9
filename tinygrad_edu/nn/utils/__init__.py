"""Gradient clipping: the blog's "delta trimming", as ``torch.nn.utils``.

Both functions change ``p.grad`` in place after ``loss.backward()`` and
before ``optimizer.step()``; parameters whose ``grad`` is None are skipped,
and a parameter listed more than once (tied weights) counts once.
"""
from __future__ import annotations

import math

import numpy as np

from ..._mode import guard
from ..._mode import mode as _mode
from ...inplace import mark_modified
from ...tensor import Tensor

__all__ = ["clip_grad_norm_", "clip_grad_value_"]


def _grads(parameters, name):
    if isinstance(parameters, Tensor):
        parameters = [parameters]
    grads, seen = [], set()
    for i, p in enumerate(parameters):
        if not isinstance(p, Tensor):
            raise TypeError(f"{name}: parameter {i} is a {type(p).__name__}, not a Tensor")
        # A parameter listed twice (tied weights in two modules' parameters())
        # must count once in the norm and be scaled once.
        if p.grad is not None and id(p.grad.data) not in seen:
            seen.add(id(p.grad.data))
            grads.append(p.grad.data)
    return grads


def clip_grad_norm_(parameters, max_norm, norm_type=2.0, error_if_nonfinite=False):
    """Rescale gradients so that their joint norm is at most ``max_norm``; return the norm before.

    The total norm treats all gradients as one long vector::

        total = (sum_i ||g_i||_p ** p) ** (1/p)     (p = norm_type; max_i max|g_i| for p = inf)
        g_i = g_i * min(1, max_norm / (total + 1e-6))

    (Pascanu, Mikolov & Bengio 2013, "On the difficulty of training recurrent
    neural networks", Algorithm 1; the 1e-6 and the rule are PyTorch's.)

    Args:
        parameters: a Tensor or an iterable of Tensors (e.g. ``model.parameters()``).
        max_norm: the largest allowed norm (>= 0).
        norm_type: p of the p-norm, a positive number or ``float("inf")``.
        error_if_nonfinite: raise instead of clipping when the total norm
            is nan or inf. Otherwise, as PyTorch, such a norm still scales
            the gradients (to nan, or zero where finite).

    Returns:
        The total norm as a numpy float64 scalar (0.0 when no parameter has a
        gradient). It is computed in float64 whatever the gradients' dtype.

    Raises:
        ValueError: negative ``max_norm`` or non-positive ``norm_type``.
        RuntimeError: ``error_if_nonfinite`` and the norm is nan or inf; the
            gradients are then left unchanged.
        TypeError: a parameter that is not a Tensor.
    """
    max_norm, norm_type = float(max_norm), float(norm_type)
    if not max_norm >= 0:
        raise ValueError(f"clip_grad_norm_: max_norm must be >= 0, got {max_norm}")
    if not norm_type > 0:
        raise ValueError(f"clip_grad_norm_: norm_type must be > 0 or inf, got {norm_type}")
    grads = _grads(parameters, "clip_grad_norm_")
    if not grads:
        return np.float64(0.0)
    if norm_type == math.inf:
        total = max(np.float64(np.max(np.abs(g))) if g.size else np.float64(0.0) for g in grads)
    else:
        norms = np.stack([np.linalg.norm(g.ravel().astype(np.float64), norm_type) for g in grads])
        total = np.linalg.norm(norms, norm_type)
    tracing = _mode.tracing is not None
    if not tracing:  # a jit recording keeps the traced 0-d array
        total = np.float64(total)
    if error_if_nonfinite and not guard(np.isfinite(total)):
        raise RuntimeError(
            f"clip_grad_norm_: the total norm of order {norm_type} of the gradients is {total}, "
            "so they cannot be clipped; set error_if_nonfinite=False to clip anyway"
        )
    coef = np.minimum(max_norm / (total + 1e-6), 1.0)  # np.minimum keeps a nan coefficient, as PyTorch
    # Multiplying by exactly 1 changes nothing; a jit recording multiplies always (the
    # same bits), instead of a branch on the value.
    if tracing or not coef == 1.0:
        for g in grads:
            np.multiply(g, coef, out=g, casting="unsafe")
            mark_modified(g)  # a graph that read this .grad must not use the new value
    return total


def clip_grad_value_(parameters, clip_value):
    """Clamp every gradient element into ``[-clip_value, clip_value]``, in place.

    Args:
        parameters: a Tensor or an iterable of Tensors.
        clip_value: the bound (>= 0).

    Raises:
        ValueError: negative or nan ``clip_value``.
        TypeError: a parameter that is not a Tensor.
    """
    clip_value = float(clip_value)
    if not clip_value >= 0:
        raise ValueError(f"clip_grad_value_: clip_value must be >= 0, got {clip_value}")
    for g in _grads(parameters, "clip_grad_value_"):
        np.clip(g, -clip_value, clip_value, out=g, casting="unsafe")
        mark_modified(g)


# PyTorch's path to the packed-sequence helpers: from tinygrad_edu.nn.utils.rnn import pack_padded_sequence.
from . import rnn  # noqa: E402
