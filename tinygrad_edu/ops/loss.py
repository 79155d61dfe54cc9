"""Elementwise binary cross-entropy terms, as dedicated ops for numerical stability.

Composing these from log/exp/abs/maximum would be wrong at the edges:
``log(p)`` at ``p = 0`` gives an infinite gradient (nan after the clamp), and
``log1p(exp(-|x|))`` has ``abs``'s kink at ``x = 0``, where its composed
derivative is 0 instead of 1/2. Each op here computes the value with numpy
and has a backward rule with the closed-form derivative, written with numpy
functions only so that ``create_graph=True`` records it (see autograd.py).

Neither op reduces: the ``nn.functional`` losses apply weights and the
``reduction``.
"""
from __future__ import annotations

import numpy as np

from ..autograd import backward_rule, record
from ._common import val

_LOG_CLAMP = -100.0  # PyTorch's floor for the log terms of BCE
_BCE_EPS = 1e-12     # PyTorch's floor for p * (1 - p) in BCE's backward


def _clamped_logs(p):
    """``max(log p, -100)`` and ``max(log(1 - p), -100)``, without divide-by-zero warnings."""
    with np.errstate(divide="ignore"):
        return np.maximum(np.log(p), _LOG_CLAMP), np.maximum(np.log1p(-p), _LOG_CLAMP)


def binary_cross_entropy(p, y):
    """Elementwise ``-(y * max(log p, -100) + (1 - y) * max(log(1 - p), -100))``.

    The clamp at -100 is PyTorch's (``torch.nn.functional.binary_cross_entropy``):
    probabilities of exactly 0 or 1 give a loss of at most 100, never inf or
    nan. The backward is PyTorch's too:

    - d/dp = (p - y) / max(p (1 - p), 1e-12), finite for p in {0, 1};
    - d/dy = max(log(1 - p), -100) - max(log p, -100), the derivative of the
      clamped forward.

    Args:
        p: Tensor of probabilities in [0, 1] (the caller checks the range).
        y: Tensor or array of targets, same shape as ``p`` (may require grad).

    Returns an unreduced Tensor of ``p``'s shape.
    """
    pv, yv = val(p), val(y)
    log_p, log_1mp = _clamped_logs(pv)
    data = -(yv * log_p + (1 - yv) * log_1mp)
    return record(data, _bce_backward, (p, y))


@backward_rule("binary_cross_entropy")
def _bce_backward(g, out, inputs, saved, needs):
    p, y = inputs
    gp = gy = None
    if needs[0]:
        gp = g * (p - y) / np.maximum((1 - p) * p, _BCE_EPS)
    if needs[1]:
        log_p, log_1mp = _clamped_logs(p)
        gy = g * (log_1mp - log_p)
    return (gp, gy)


def _split(x):
    """``x`` where ``x >= 0`` (else 0), ``x`` where ``x < 0`` (else 0), and the mask ``x >= 0``.

    Each branch of a stable formula below sees only inputs on its own side
    of 0, so exp never overflows; with ``np.where`` the derivative of every
    branch is exact, including at 0 (where ``abs`` would give 0).
    """
    pos = val(x) >= 0
    return np.where(pos, x, 0), np.where(pos, 0, x), pos


def _sigmoid_neg(x):
    """``sigmoid(-x) = 1 - sigmoid(x)``, accurate for any x (tiny values keep their digits)."""
    xp, xn, pos = _split(x)
    e = np.exp(-xp)  # e <= 1 on the x >= 0 side
    return np.where(pos, e / (1 + e), 1 / (1 + np.exp(xn)))


def _softplus_neg(x):
    """``log(1 + exp(-x))`` for any x: ``log1p(exp(-x))`` for x >= 0, ``-x + log1p(exp(x))`` below."""
    xp, xn, pos = _split(x)
    return np.where(pos, np.log1p(np.exp(-xp)), np.log1p(np.exp(xn)) - xn)


def binary_cross_entropy_with_logits(x, y, pos_weight=None):
    """Elementwise ``-(w_p y log sigmoid(x) + (1 - y) log(1 - sigmoid(x)))``, stable for any ``x``.

    Computed as PyTorch does, ``(1 - y) x + l (log1p(exp(-|x|)) + max(-x, 0))``
    with ``l = 1 + (w_p - 1) y`` (``l = 1`` without ``pos_weight``), which is
    ``max(x, 0) - x y + log1p(exp(-|x|))`` in the unweighted case: no exp
    overflows, so logits of 1e4 or -1e4 give exact finite losses.

    Derivatives (closed form, exact at x = 0):

    - d/dx = (1 - y) - l * sigmoid(-x)   (= sigmoid(x) - y unweighted)
    - d/dy = -x + (w_p - 1) * softplus(-x)
    - d/dw_p = y * softplus(-x)

    Args:
        x: Tensor of logits.
        y: Tensor or array of targets, same shape as ``x``.
        pos_weight: None, or a Tensor/array broadcastable to ``x`` (the weight
            of positive examples, per class along the last axis).

    Returns an unreduced Tensor of the broadcast shape.
    """
    xv, yv = val(x), val(y)
    with np.errstate(over="ignore"):
        sp = np.log1p(np.exp(-np.abs(xv))) + np.maximum(-xv, 0)  # softplus(-x)
    if pos_weight is None:
        data = (1 - yv) * xv + sp
    else:
        data = (1 - yv) * xv + (1 + (val(pos_weight) - 1) * yv) * sp
    return record(data, _bce_logits_backward, (x, y, pos_weight))


@backward_rule("binary_cross_entropy_with_logits")
def _bce_logits_backward(g, out, inputs, saved, needs):
    x, y, pw = inputs
    gx = gy = gw = None
    if needs[0]:
        s = _sigmoid_neg(x)
        gx = g * ((1 - y) - s) if pw is None else g * ((1 - y) - (1 + (pw - 1) * y) * s)
    if needs[1] or needs[2]:
        sp = _softplus_neg(x)
        if needs[1]:
            gy = -g * x if pw is None else g * ((pw - 1) * sp - x)
        if needs[2]:
            gw = g * (y * sp)
    return (gx, gy, gw)


def cross_entropy_indices(x, target, reduction="mean"):
    """Softmax cross-entropy of logits ``x`` (N, C) and class indices ``target`` (N,), fused.

    ``l_i = logsumexp(x_i) - x_i[target_i]``, reduced by ``"mean"``, ``"sum"``
    or ``"none"``; the log-softmax subtracts each row's maximum, so huge
    logits are exact. The common case of ``nn.CrossEntropyLoss`` (no class
    weights, no ignored targets, no label smoothing) as one graph node
    instead of seven; gradient ``(softmax(x) - onehot(target)) * g``.
    ``target`` must already be validated (ints in ``[0, C)``).
    """
    d = x.data
    n = d.shape[0]
    shifted = d - np.maximum.reduce(d, axis=1, keepdims=True)
    logp = shifted - np.log(np.add.reduce(np.exp(shifted), axis=1, keepdims=True))
    rows = np.arange(n)
    nll = -logp[rows, target]
    if reduction == "none":
        data = nll
    else:
        data = np.add.reduce(nll)
        if reduction == "mean":
            data = data / d.dtype.type(n)
    return record(data, _cross_entropy_backward, (x,), (target, reduction, logp))


@backward_rule("cross_entropy")
def _cross_entropy_backward(g, out, inputs, saved, needs):
    target, reduction, logp = saved
    x = inputs[0]
    n = logp.shape[0]
    rows = np.arange(n)
    if reduction == "none":
        scale = g.reshape((n, 1))
    elif reduction == "mean":
        scale = g / n
    else:
        scale = g
    if isinstance(x, np.ndarray):
        # fast path: softmax from the forward's log-probabilities, minus the one-hot, in place
        d = np.exp(logp)
        d[rows, target] -= 1
        d *= scale
        return (d,)
    # create_graph: softmax recomputed from x with recorded ops, so the second
    # derivative sees its dependence on x
    probs = np.exp(x - x.logsumexp(axis=1, keepdims=True))
    onehot = np.zeros(logp.shape, dtype=logp.dtype)
    onehot[rows, target] = 1
    return ((probs - onehot) * scale,)
