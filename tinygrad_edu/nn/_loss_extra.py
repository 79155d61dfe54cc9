"""More losses: divergence, robust regression, margin and likelihood losses, and
cross-entropy with class-probability targets.

Public through ``tinygrad_edu.nn.functional`` (modules in ``nn/loss.py``).
Names, arguments, defaults and formulas are ``torch.nn.functional``'s
(https://pytorch.org/docs/stable/nn.functional.html#loss-functions); the
values and gradients are checked against PyTorch's in
``tests/test_losses_extra.py`` (reference file ``tests/reference/losses.npz``).
Each is a composition of differentiable ops, so ``create_graph=True`` works.
Where a formula has a branch, the branches are chosen with ``where`` on
inputs that keep every branch finite, so no ``inf * 0`` turns a gradient into nan.
"""
from __future__ import annotations

import math

import numpy as np

from .._mode import guard
from ..ops import loss as _ops
from ..ops.elementwise import clip, exp, log, relu, sqrt, where
from ..ops._norm import vector_norm
from ..ops.reduce import log_softmax
from ..tensor import Tensor
from ._loss_functional import _elementwise_target, _input, _reduce, check_reduction

__all__ = ["cross_entropy_probabilities", "kl_div", "huber_loss", "smooth_l1_loss",
           "soft_margin_loss", "margin_ranking_loss", "cosine_embedding_loss",
           "triplet_margin_loss", "pairwise_distance", "normalize", "cosine_similarity",
           "poisson_nll_loss", "gaussian_nll_loss"]
from ..ops._common import asarray as _asarray


def cross_entropy_probabilities(x, target, weight, reduction, label_smoothing):
    """``cross_entropy`` with class-probability targets (called by ``cross_entropy``).

    ``l_i = -sum_c w_c y_ic log softmax(x_i)_c`` with ``y`` smoothed to
    ``(1 - eps) y + eps / C``; ``"mean"`` divides by the number of samples
    (N times the spatial size), not by the weights, as PyTorch.
    """
    op = "cross_entropy"
    c = x.shape[1] if x.ndim >= 2 else x.shape[0]
    y = _elementwise_target(op, x, target)
    if label_smoothing:
        y = y * (1 - label_smoothing) + label_smoothing / c
    cshape = (1, c) + (1,) * (x.ndim - 2) if x.ndim >= 2 else (c,)
    prod = log_softmax(x, axis=1 if x.ndim >= 2 else 0) * y
    if weight is not None:
        prod = prod * weight.reshape(cshape)
    loss = -prod.sum(axis=1 if x.ndim >= 2 else 0)
    return _reduce(loss, reduction)


def kl_div(input, target, reduction: str = "mean", log_target: bool = False):
    """Kullback-Leibler divergence ``KL(target || exp(input))``, pointwise as PyTorch.

    ``input`` holds log-probabilities. Pointwise loss:
    ``y (log y - x)`` (0 where ``y == 0``), or with ``log_target=True``
    (``target`` holds log-probabilities too) ``exp(y) (y - x)``.

    Args:
        input, target: the same shape, floating point.
        reduction: ``"batchmean"`` (sum / batch size: the mathematical KL
            divergence per sample; use it), ``"mean"`` (PyTorch's default,
            the mean over *all elements*), ``"sum"`` or ``"none"``.

    Gradient to a target that requires grad: ``log y + 1 - x``, taken as 0
    where ``y == 0`` (PyTorch gives nan there).

    Raises ValueError for other shapes or an unknown reduction.
    """
    op = "kl_div"
    if reduction == "batchmean":
        red = "sum"
    else:
        red = check_reduction(op, reduction)
    x = _input(op, input)
    y = _elementwise_target(op, x, target)
    if log_target:
        loss = exp(y) * (y - x)
    else:
        yv = y.data if isinstance(y, Tensor) else y
        positive = yv > 0
        safe = where(positive, y, 1)  # log(1) = 0: y log y is 0 at y == 0, with finite gradients
        loss = y * log(safe) - y * x
    out = _reduce(loss, red)
    if reduction == "batchmean" and x.ndim:
        out = out / x.shape[0]
    return out


def huber_loss(input, target, reduction: str = "mean", delta: float = 1.0):
    """Huber loss (Huber 1964): ``0.5 d**2`` where ``|d| < delta``, else ``delta (|d| - 0.5 delta)``; ``d = x - y``.

    Quadratic near 0, linear in the tails (robust to outliers); the
    derivative is ``clip(d, -delta, delta)``. Raises ValueError for
    ``delta <= 0`` or a target of another shape.
    """
    op = "huber_loss"
    check_reduction(op, reduction)
    if not delta > 0:
        raise ValueError(f"{op}: delta must be positive, got {delta!r}")
    x = _input(op, input)
    d = x - _elementwise_target(op, x, target)
    small = np.abs(d.data) < delta
    # the quadratic branch sees only its own elements: at d = +-inf the unselected d * d
    # would back-propagate 0 * inf = nan (PyTorch: +-delta)
    dq = where(small, d, 0)
    return _reduce(where(small, 0.5 * dq * dq, delta * (abs(d) - 0.5 * delta)), reduction)


def smooth_l1_loss(input, target, reduction: str = "mean", beta: float = 1.0):
    """Smooth L1 (Girshick 2015, Fast R-CNN): ``0.5 d**2 / beta`` where ``|d| < beta``, else ``|d| - 0.5 beta``.

    ``huber_loss / beta``; ``beta = 0`` is the L1 loss. Raises ValueError
    for ``beta < 0`` or a target of another shape.
    """
    op = "smooth_l1_loss"
    check_reduction(op, reduction)
    if not beta >= 0:
        raise ValueError(f"{op}: beta must be non-negative, got {beta!r}")
    x = _input(op, input)
    d = x - _elementwise_target(op, x, target)
    if beta == 0:
        return _reduce(abs(d), reduction)
    small = np.abs(d.data) < beta
    dq = where(small, d, 0)  # as in huber_loss: no 0 * inf = nan from the unselected branch
    return _reduce(where(small, 0.5 * dq * dq / beta, abs(d) - 0.5 * beta), reduction)


def soft_margin_loss(input, target, reduction: str = "mean"):
    """Two-class logistic loss ``log(1 + exp(-y x))`` for targets ``y`` in {1, -1}.

    Computed with the stable binary cross-entropy-with-logits op on ``-y x``
    (exact for any size, derivative ``-y sigmoid(-y x)`` exact at 0 too).
    """
    op = "soft_margin_loss"
    check_reduction(op, reduction)
    x = _input(op, input)
    z = -(_elementwise_target(op, x, target) * x)
    zeros = np.zeros(x.shape, dtype=x.dtype)
    return _reduce(_ops.binary_cross_entropy_with_logits(z, zeros, None), reduction)


def margin_ranking_loss(input1, input2, target, margin: float = 0.0, reduction: str = "mean"):
    """``max(0, -y (x1 - x2) + margin)``: rank ``x1`` above ``x2`` where ``y = 1``, below where ``y = -1``.

    ``input1``, ``input2`` and ``target`` broadcast together (PyTorch's rule).
    Raises ValueError when they do not.
    """
    op = "margin_ranking_loss"
    check_reduction(op, reduction)
    x1, x2 = _input(op, input1), _input(op, input2)
    y = target if isinstance(target, Tensor) else _asarray(target, dtype=x1.dtype)
    try:
        np.broadcast_shapes(x1.shape, x2.shape, np.shape(y))
    except ValueError:
        raise ValueError(f"{op}: shapes {x1.shape}, {x2.shape} and target {np.shape(y)} do not "
                         "broadcast together") from None
    return _reduce(relu(-y * (x1 - x2) + margin), reduction)


_COS_EPS = 1e-12  # PyTorch's EPSILON in cosine_embedding_loss


def cosine_embedding_loss(input1, input2, target, margin: float = 0.0, reduction: str = "mean"):
    """``1 - cos(x1, x2)`` where ``y = 1``, ``max(0, cos(x1, x2) - margin)`` where ``y = -1``.

    ``cos = sum(x1 x2) / sqrt((sum(x1**2) + 1e-12) (sum(x2**2) + 1e-12))``
    over the last axis (PyTorch's formula and epsilon). Shapes: ``(N, D)``
    inputs with ``(N,)`` targets, or ``(D,)`` with a 0-d target.

    Raises ValueError for inputs of other shapes or targets not in {1, -1}.
    """
    op = "cosine_embedding_loss"
    check_reduction(op, reduction)
    x1, x2 = _input(op, input1), _input(op, input2)
    if x1.shape != x2.shape or x1.ndim not in (1, 2):
        raise ValueError(f"{op}: inputs must both be (N, D) or (D,), got {x1.shape} and {x2.shape}")
    yv = _asarray(target.data if isinstance(target, Tensor) else target)
    if yv.shape != x1.shape[:-1]:
        raise ValueError(f"{op}: target must have shape {x1.shape[:-1]}, got {yv.shape}")
    if not guard(np.all(np.isin(yv, (1, -1)))):  # guard(): rechecked by each jit replay
        raise ValueError(f"{op}: target values must be 1 or -1")
    prod = (x1 * x2).sum(axis=-1)
    m1 = (x1 * x1).sum(axis=-1) + _COS_EPS
    m2 = (x2 * x2).sum(axis=-1) + _COS_EPS
    cos = prod / sqrt(m1 * m2)
    loss = where(yv == 1, 1 - cos, relu(cos - margin))
    return _reduce(loss, reduction)


def pairwise_distance(x1, x2, p: float = 2.0, eps: float = 1e-6, keepdim: bool = False):
    """``||x1 - x2 + eps||_p`` over the last axis (``torch.nn.functional.pairwise_distance``).

    The ``eps`` keeps the norm away from 0, where it is not differentiable.
    ``x1`` and ``x2`` broadcast; the result drops the last axis (kept as 1
    with ``keepdim``). ``p`` is a positive number or ``inf``.

    Raises ValueError for ``p <= 0`` or shapes that do not broadcast.
    """
    op = "pairwise_distance"
    if not p > 0:
        raise ValueError(f"{op}: p must be positive, got {p!r}")
    a, b = _input(op, x1), _input(op, x2)
    try:
        np.broadcast_shapes(a.shape, b.shape)
    except ValueError:
        raise ValueError(f"{op}: shapes {a.shape} and {b.shape} do not broadcast") from None
    d = a - b + eps
    # the norm op: at a zero difference (eps=0, equal inputs) its gradient is 0, as
    # PyTorch's; sqrt(sum(d * d)) gave 0/0 = nan there
    return vector_norm(d, axis=-1, keepdims=keepdim, ord=p)


def normalize(input, p: float = 2.0, dim: int = 1, eps: float = 1e-12):
    """``x / max(||x||_p, eps)`` along ``dim`` (``torch.nn.functional.normalize``).

    The norm is :func:`tinygrad_edu.linalg.vector_norm` (gradient 0 at a zero
    vector); where it is below ``eps`` the divisor is ``eps``, a constant, as
    PyTorch's ``clamp_min``. Same shape and dtype as ``input``.

    Raises ValueError for a ``dim`` out of range.
    """
    from ..ops._norm import vector_norm

    x = _input("normalize", input)
    return x / clip(vector_norm(x, axis=dim, keepdims=True, ord=p), eps, None)


def cosine_similarity(x1, x2, dim: int = 1, eps: float = 1e-8):
    """``sum(x1 x2) / (max(||x1||, eps) max(||x2||, eps))`` along ``dim`` (``torch.nn.functional.cosine_similarity``).

    ``x1`` and ``x2`` broadcast; the result drops ``dim``. Each vector is
    divided by its own clamped 2-norm first, as PyTorch 2 computes it. Values
    agree with PyTorch's everywhere; where a norm is below ``eps`` the
    gradient treats the clamped norm as the constant ``eps`` (PyTorch clamps
    it in place after the norm was recorded, so its gradient there also has a
    term through the norm, scaled by ``1/eps``).

    Raises ValueError for shapes that do not broadcast or a ``dim`` out of range.
    """
    from ..ops._norm import vector_norm

    op = "cosine_similarity"
    a, b = _input(op, x1), _input(op, x2)
    try:
        shape = np.broadcast_shapes(a.shape, b.shape)
    except ValueError:
        raise ValueError(f"{op}: shapes {a.shape} and {b.shape} do not broadcast") from None
    a, b = a.broadcast_to(shape), b.broadcast_to(shape)
    na = clip(vector_norm(a, axis=dim, keepdims=True), eps, None)
    nb = clip(vector_norm(b, axis=dim, keepdims=True), eps, None)
    return ((a / na) * (b / nb)).sum(axis=dim)


def triplet_margin_loss(anchor, positive, negative, margin: float = 1.0, p: float = 2.0,
                        eps: float = 1e-6, swap: bool = False, reduction: str = "mean"):
    """``max(d(a, p) - d(a, n) + margin, 0)`` with ``d`` the :func:`pairwise_distance`.

    Schroff et al. 2015 (FaceNet). With ``swap`` (Balntas et al. 2016) the
    negative distance is ``min(d(a, n), d(p, n))``. Shapes ``(N, D)`` or
    ``(D,)``, all three the same.

    Raises ValueError for inputs of different shapes or a non-positive margin.
    """
    op = "triplet_margin_loss"
    check_reduction(op, reduction)
    if not margin > 0:
        raise ValueError(f"{op}: margin must be positive, got {margin!r}")
    shapes = [np.shape(t) for t in (anchor, positive, negative)]
    if len(set(shapes)) != 1 or len(shapes[0]) not in (1, 2):
        raise ValueError(f"{op}: anchor, positive and negative must share a (N, D) or (D,) shape, "
                         f"got {shapes}")
    d_pos = pairwise_distance(anchor, positive, p, eps)
    d_neg = pairwise_distance(anchor, negative, p, eps)
    if swap:
        from ..ops.elementwise import minimum

        d_neg = minimum(d_neg, pairwise_distance(positive, negative, p, eps))
    return _reduce(clip(margin + d_pos - d_neg, 0, None), reduction)


def poisson_nll_loss(input, target, log_input: bool = True, full: bool = False,
                     eps: float = 1e-8, reduction: str = "mean"):
    """Negative log-likelihood of ``target`` under a Poisson distribution of rate ``input``.

    ``exp(x) - y x`` when ``log_input`` (``x`` is the log-rate), else
    ``x - y log(x + eps)``. With ``full`` the Stirling approximation of
    ``log(y!)``, ``y log y - y + 0.5 log(2 pi y)``, is added where ``y > 1``.
    """
    op = "poisson_nll_loss"
    check_reduction(op, reduction)
    x = _input(op, input)
    y = _elementwise_target(op, x, target)
    loss = exp(x) - y * x if log_input else x - y * log(x + eps)
    if full:
        yv = _asarray(y.data if isinstance(y, Tensor) else y)
        big = yv > 1
        safe = where(big, y, 2)  # every branch finite; the term is 0 where y <= 1
        stirling = safe * log(safe) - safe + 0.5 * log(2 * math.pi * safe)
        loss = loss + where(big, stirling, 0)
    return _reduce(loss, reduction)


def gaussian_nll_loss(input, target, var, full: bool = False, eps: float = 1e-6,
                      reduction: str = "mean"):
    """Negative log-likelihood of ``target`` under N(``input``, ``var``) (Nix & Weigend 1994).

    ``0.5 (log(max(var, eps)) + (x - y)**2 / max(var, eps))``, plus
    ``0.5 log(2 pi)`` with ``full``. As PyTorch, the clamp at ``eps`` is
    applied to the value only: the gradient to ``var`` is taken as if it
    were not clamped (PyTorch clamps under no_grad).

    Shapes: ``var`` of the input's shape, or with its last axis of size 1
    or dropped (one variance per sample, homoscedastic).

    Raises ValueError for a ``var`` of another shape or with negative entries.
    """
    op = "gaussian_nll_loss"
    check_reduction(op, reduction)
    x = _input(op, input)
    y = _elementwise_target(op, x, target)
    v = var if isinstance(var, Tensor) else Tensor._wrap(_asarray(var, dtype=x.dtype))
    if v.shape != x.shape:
        if x.ndim and v.shape == x.shape[:-1]:
            v = v.reshape(v.shape + (1,))
        elif not (x.ndim and v.shape == x.shape[:-1] + (1,)) and v.shape != x.shape:
            raise ValueError(f"{op}: var of shape {v.shape} does not fit input of shape {x.shape}")
    if np.any(v.data < 0):
        raise ValueError(f"{op}: var has negative entries")
    # max(var, eps) in value, identity in gradient: var + (clamped - var) with the difference constant
    v = v + (np.maximum(v.data, eps) - v.data)
    loss = 0.5 * (log(v) + (x - y) ** 2 / v)
    if full:
        loss = loss + 0.5 * math.log(2 * math.pi)
    return _reduce(loss, reduction)
