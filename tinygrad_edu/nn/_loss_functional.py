"""Loss functions (the functional forms; ``nn.loss`` wraps them in modules).

Public through ``tinygrad_edu.nn.functional``; names, arguments and formulas
follow ``torch.nn.functional`` (https://pytorch.org/docs/stable/nn.functional.html#loss-functions).

Every loss takes ``reduction``: ``"mean"`` (default) averages the
per-element losses, ``"sum"`` adds them, ``"none"`` returns them unreduced.
Targets may be Tensors (a target that requires grad gets a gradient) or
array-likes. Bad input raises ValueError naming the loss and the offending
shapes, dtypes or values, before anything is computed.
"""
from __future__ import annotations

import numpy as np

from .._mode import guard
from ..ops import loss as _ops
from ..ops.elementwise import abs as _abs
from ..ops.elementwise import where
from ..ops.reduce import log_softmax
from ..ops.shape import getitem, reshape, transpose
from ..tensor import Tensor
from ..ops._common import asarray as _asarray


_REDUCTIONS = ("mean", "sum", "none")


def check_reduction(op, reduction):
    """Return ``reduction`` if it is ``"mean"``, ``"sum"`` or ``"none"``; else raise ValueError."""
    if reduction not in _REDUCTIONS:
        raise ValueError(f"{op}: reduction must be one of {_REDUCTIONS}, got {reduction!r}")
    return reduction


def _reduce(loss, reduction):
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    return loss


def _input(op, x, floating=True):
    x = x if isinstance(x, Tensor) else Tensor._wrap(_asarray(x))
    if floating and x.dtype.kind != "f":
        raise ValueError(f"{op}: input must be floating point, got dtype {x.dtype} with shape {x.shape}")
    if not floating and x.dtype.kind not in "biuf":
        raise ValueError(f"{op}: input must be numeric, got dtype {x.dtype}")
    return x


def _elementwise_target(op, x, target):
    """The target of an elementwise loss: same shape as ``x``, numeric.

    A target that requires grad stays a Tensor (it gets a gradient); any
    other is a constant array cast to ``x``'s float dtype, so a float32 model
    is not promoted to float64 by an int or float64 target.
    """
    tv = target.data if isinstance(target, Tensor) else _asarray(target)
    if tv.dtype.kind not in "biuf":  # first: a string's "shape ()" would mislead
        raise ValueError(f"{op}: target must be numeric, got {type(target).__name__} of dtype {tv.dtype}")
    if tv.shape != x.shape:
        raise ValueError(f"{op}: target shape {tv.shape} must equal input shape {x.shape}")
    if isinstance(target, Tensor) and target.requires_grad:
        return target
    return tv.astype(x.dtype, copy=False) if x.dtype.kind == "f" else tv


# ---- regression ----------------------------------------------------------
def mse_loss(input, target, reduction: str = "mean"):
    """Mean squared error: ``l_i = (x_i - y_i)**2``, then reduced.

    Shapes: input and target the same shape (any). ``torch.nn.MSELoss``.

    Raises ValueError for a target of another shape (PyTorch only warns and
    broadcasts, which silently computes the wrong loss) or a non-numeric one.
    """
    check_reduction("mse_loss", reduction)
    x = _input("mse_loss", input, floating=False)
    d = x - _elementwise_target("mse_loss", x, target)
    return _reduce(d * d, reduction)


def l1_loss(input, target, reduction: str = "mean"):
    """Mean absolute error: ``l_i = |x_i - y_i|``, then reduced.

    The derivative at ``x_i == y_i`` is 0 (PyTorch's sign(0)). ``torch.nn.L1Loss``.
    Raises ValueError for a target of another shape or a non-numeric one.
    """
    check_reduction("l1_loss", reduction)
    x = _input("l1_loss", input, floating=False)
    return _reduce(_abs(x - _elementwise_target("l1_loss", x, target)), reduction)


# ---- binary classification ---------------------------------------------
def _check_unit_interval(op, name, arr):
    arr = _asarray(arr)
    if arr.size and ((arr < 0).any() or (arr > 1).any()):
        raise ValueError(f"{op}: all elements of {name} must be in [0, 1], got values in "
                         f"[{float(arr.min())}, {float(arr.max())}]")


def _const(w, dtype):
    """A weight that requires grad stays a Tensor; any other becomes an array of ``dtype``."""
    if isinstance(w, Tensor):
        return w if w.requires_grad else w.data.astype(dtype, copy=False)
    return _asarray(w, dtype=dtype)


def _weighted(op, loss, weight, shape):
    if weight is None:
        return loss
    try:
        if np.broadcast_shapes(np.shape(weight), shape) != shape:
            raise ValueError
    except ValueError:
        raise ValueError(f"{op}: weight of shape {np.shape(weight)} does not broadcast to the "
                         f"input shape {shape}") from None
    return loss * _const(weight, loss.dtype)


def binary_cross_entropy(input, target, weight=None, reduction: str = "mean"):
    """Binary cross-entropy of probabilities:
    ``l_i = -w_i (y_i max(log x_i, -100) + (1 - y_i) max(log(1 - x_i), -100))``.

    The log terms are clamped at -100 as in PyTorch (``torch.nn.BCELoss``), so
    probabilities of exactly 0 or 1 give finite losses, and the gradient,
    ``(x - y) / max(x (1 - x), 1e-12)``, stays finite too. Prefer
    :func:`binary_cross_entropy_with_logits` on raw scores: it is exact for
    any logit.

    Args:
        input: probabilities in [0, 1], any shape (float).
        target: same shape, values in [0, 1].
        weight: optional rescaling weight broadcastable to the input shape.

    Raises ValueError for a shape mismatch or values outside [0, 1].
    """
    op = "binary_cross_entropy"
    check_reduction(op, reduction)
    x = _input(op, input)
    y = _elementwise_target(op, x, target)
    _check_unit_interval(op, "input", x.data)
    _check_unit_interval(op, "target", y.data if isinstance(y, Tensor) else y)
    loss = _weighted(op, _ops.binary_cross_entropy(x, y), weight, x.shape)
    return _reduce(loss, reduction)


def binary_cross_entropy_with_logits(input, target, weight=None, reduction: str = "mean",
                                     pos_weight=None):
    """Sigmoid + binary cross-entropy in one stable step (``torch.nn.BCEWithLogitsLoss``):
    ``l_i = -w_i (p_c y_i log sigmoid(x_i) + (1 - y_i) log(1 - sigmoid(x_i)))``,
    computed as ``max(x, 0) - x y + log1p(exp(-|x|))`` (weighted form in
    :func:`tinygrad_edu.ops.loss.binary_cross_entropy_with_logits`). Exact and
    finite for logits of any size (1e4, -1e4); the gradient is
    ``sigmoid(x) - y`` (unweighted).

    Args:
        input: logits, any shape (float).
        target: same shape (usually 0/1 or probabilities).
        weight: optional rescaling weight broadcastable to the input shape.
        pos_weight: optional weight of positive examples ``p_c``, broadcastable
            to the input shape (typically ``(C,)`` for the last axis);
            ``p_c > 1`` raises recall, ``< 1`` precision.

    Raises ValueError for a target of another shape, or a weight/pos_weight
    that does not broadcast to the input.
    """
    op = "binary_cross_entropy_with_logits"
    check_reduction(op, reduction)
    x = _input(op, input)
    y = _elementwise_target(op, x, target)
    if pos_weight is not None:
        pw_shape = np.shape(pos_weight)
        try:
            ok = np.broadcast_shapes(pw_shape, x.shape) == x.shape
        except ValueError:
            ok = False
        if not ok:
            raise ValueError(f"{op}: pos_weight of shape {pw_shape} does not broadcast to the input "
                             f"shape {x.shape}")
        pos_weight = _const(pos_weight, x.dtype)
    loss = _ops.binary_cross_entropy_with_logits(x, y, pos_weight)
    return _reduce(_weighted(op, loss, weight, x.shape), reduction)


# ---- multi-class classification -------------------------------------------
def _class_targets(op, x, target, ignore_index):
    """Validate integer class-index targets for input ``x`` (classes on axis 1, or 0 if 1-D)."""
    tv = target.data if isinstance(target, Tensor) else _asarray(target)
    expected = x.shape[:1] + x.shape[2:] if x.ndim >= 2 else ()
    hint = ""
    if tv.shape == x.shape and x.ndim >= 1:
        hint = ("; a target shaped like the input looks like one-hot vectors or class "
                "probabilities: pass class indices instead, e.g. target.argmax(axis=1)")
    if tv.dtype.kind not in "iu":
        raise ValueError(f"{op}: target must hold integer class indices, got dtype {tv.dtype} "
                         f"with shape {tv.shape} for input shape {x.shape}{hint}")
    if tv.shape != expected:
        raise ValueError(f"{op}: for input of shape {x.shape} the target must have shape "
                         f"{expected} (one class index per sample), got {tv.shape}{hint}")
    c = x.shape[1] if x.ndim >= 2 else x.shape[0]
    # two reductions settle the usual case; the elementwise test only runs when one fails
    in_range = tv.size == 0 or (guard(np.minimum.reduce(tv, axis=None) >= 0)
                                and guard(np.maximum.reduce(tv, axis=None) < c))
    bad = None if in_range else (tv != ignore_index) & ((tv < 0) | (tv >= c))
    if bad is not None and bad.any():
        values = np.unique(tv[bad])
        raise ValueError(f"{op}: class indices {values[:10].tolist()}{' ...' if values.size > 10 else ''} "
                         f"are out of range for {c} classes (valid 0..{c - 1}, or "
                         f"ignore_index={ignore_index})")
    return tv.astype(np.intp, copy=False)


def _class_weight(op, weight, c, dtype):
    if weight is None:
        return None
    w = _asarray(weight.data if isinstance(weight, Tensor) else weight)
    if w.shape != (c,) or w.dtype.kind not in "biuf":
        raise ValueError(f"{op}: weight must be a numeric array of shape ({c},), one per class, "
                         f"got dtype {w.dtype} and shape {w.shape}")
    return w.astype(dtype, copy=False)


def _nll(logp, t, weight, ignore_index, reduction, label_smoothing):
    """Negative log-likelihood of class indices ``t`` under log-probabilities ``logp``.

    With classes moved to the last axis and flattened to rows, the picked
    log-probabilities are ``logp[row, t]`` (an indexing op whose backward
    scatters into the picked entries only).
    """
    c = logp.shape[1] if logp.ndim >= 2 else logp.shape[0]
    if logp.ndim > 2:  # (N, C, d1, ...) -> (N, d1, ..., C)
        logp = transpose(logp, (0, *range(2, logp.ndim), 1))
    rows = reshape(logp, (-1, c))
    valid = t != ignore_index
    all_valid = guard(valid.all())
    safe_t = t.ravel() if all_valid else np.where(valid, t, 0).ravel()
    picked = reshape(getitem(rows, (np.arange(safe_t.size), safe_t)), t.shape)
    if not all_valid:
        picked = where(valid, picked, 0)
    w = None  # per-element weight w[t_i] (0 where ignored); None means all ones
    if weight is not None:
        w = weight[safe_t].reshape(t.shape) * valid
    nll = -picked if w is None else -(picked * w)
    smooth = None
    if label_smoothing > 0:
        lp = reshape(rows, t.shape + (c,))
        smooth = -(lp.sum(axis=-1) if weight is None else (lp * weight).sum(axis=-1))
        if not all_valid:
            smooth = where(valid, smooth, 0)
    if reduction == "none":
        out, sm = nll, smooth
    else:
        out, sm = nll.sum(), None if smooth is None else smooth.sum()
        if reduction == "mean":
            denom = valid.sum() if w is None else w.sum()
            out = out / logp.dtype.type(denom)
            sm = None if sm is None else sm / logp.dtype.type(denom)
    if sm is None:
        return out
    return out * (1 - label_smoothing) + sm * (label_smoothing / c)


def nll_loss(input, target, weight=None, ignore_index: int = -100, reduction: str = "mean"):
    """Negative log-likelihood: ``l_i = -w[y_i] * input[i, y_i]`` (``torch.nn.NLLLoss``).

    ``input`` holds log-probabilities (e.g. from ``log_softmax``).

    Args:
        input: ``(N, C)``, ``(N, C, d1, ...)`` or unbatched ``(C,)`` (float).
        target: integer class indices of shape ``(N,)``, ``(N, d1, ...)`` or
            ``()``, a Tensor or array of ints.
        weight: optional per-class weights ``(C,)`` (a constant: no gradient).
        ignore_index: targets equal to it contribute 0 and are left out of
            the mean.
        reduction: ``"mean"`` divides by ``sum_i w[y_i]`` over non-ignored
            samples (their count when unweighted), as PyTorch.

    Raises ValueError for float or bool targets, a target shape that does not
    match (one-hot targets included), a class index outside ``[0, C)``, or
    a weight not of shape ``(C,)``.
    """
    op = "nll_loss"
    check_reduction(op, reduction)
    x = _input(op, input)
    if x.ndim == 0:
        raise ValueError(f"{op}: input must have a class axis, got a 0-d tensor")
    t = _class_targets(op, x, target, ignore_index)
    w = _class_weight(op, weight, x.shape[1] if x.ndim >= 2 else x.shape[0], x.dtype)
    return _nll(x, t, w, ignore_index, reduction, 0.0)


def cross_entropy(input, target, weight=None, ignore_index: int = -100, reduction: str = "mean",
                  label_smoothing: float = 0.0):
    """Softmax cross-entropy of logits and class indices (``torch.nn.CrossEntropyLoss``).

    ``l_i = -w[y_i] log softmax(x_i)[y_i]``, computed as ``nll_loss(log_softmax(x, axis=1))``:
    log_softmax subtracts the maximum, so logits of 1e4 or -1e4 are exact.

    With ``label_smoothing = eps`` the target is mixed with the uniform
    distribution (Szegedy et al. 2016, "Rethinking the Inception
    Architecture"), with PyTorch's formula:
    ``loss = (1 - eps) * nll + eps / C * smooth`` where
    ``smooth_i = -sum_c w[c] log softmax(x_i)[c]``, reduced like ``nll``
    (for ``"mean"`` both are divided by the same ``sum_i w[y_i]``).

    Class probabilities as targets (PyTorch's second form): a floating-point
    target of the input's shape is a distribution over the classes for each
    sample, ``l_i = -sum_c w_c y_ic log softmax(x_i)_c`` (smoothed as above;
    ``"mean"`` divides by the number of samples; ``ignore_index`` does not
    apply).

    Args and errors: as :func:`nll_loss`, plus ``label_smoothing`` in [0, 1]
    (ValueError otherwise).
    """
    op = "cross_entropy"
    check_reduction(op, reduction)
    if isinstance(label_smoothing, bool) or not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(f"{op}: label_smoothing must be in [0, 1], got {label_smoothing!r}")
    x = _input(op, input)
    if x.ndim == 0:
        raise ValueError(f"{op}: input must have a class axis, got a 0-d tensor")
    c = x.shape[1] if x.ndim >= 2 else x.shape[0]
    w = _class_weight(op, weight, c, x.dtype)
    tv = target.data if isinstance(target, Tensor) else _asarray(target)
    if tv.dtype.kind == "f" and tv.shape == x.shape:
        from ._loss_extra import cross_entropy_probabilities

        return cross_entropy_probabilities(x, target, w, reduction, float(label_smoothing))
    t = _class_targets(op, x, target, ignore_index)
    if x.ndim == 2 and w is None and not label_smoothing and not guard((t == ignore_index).any()):
        return _ops.cross_entropy_indices(x, t, reduction)  # the common case, as one fused op
    logp = log_softmax(x, axis=1 if x.ndim >= 2 else 0)
    return _nll(logp, t, w, ignore_index, reduction, float(label_smoothing))
