"""Reductions and normalisers: sum, mean, max, min, amax, amin, var, std, logsumexp, softmax,
log_softmax.

All take numpy's ``axis=`` (int, tuple, negative or None) and ``keepdims=``;
PyTorch's ``dim=``/``keepdim=`` are accepted as aliases, with PyTorch's meaning
of ``dim=()``: every axis (numpy's ``axis=()`` reduces none). Like numpy, ``max``
and ``min`` return values only (no indices), except with PyTorch's ``dim=``
keyword (numpy has none), which gives PyTorch's ``(values, indices)``.
"""
from __future__ import annotations

import contextlib
import warnings
from collections import namedtuple

import numpy as np
from numpy.lib.array_utils import normalize_axis_index, normalize_axis_tuple

from .._mode import mode as _mode
from ..autograd import backward_rule, record
from ..tensor import Tensor
from ._common import as_operand, axis_args, axis_error, val
from .elementwise import maximum, minimum

ValuesIndices = namedtuple("ValuesIndices", ["values", "indices"])
ValuesIndices.__doc__ = """``(values, indices)`` of ``max(dim=)``/``min(dim=)``, as ``torch.return_types.max``."""


def _reduce_plan(op, x, axis, keepdims, dim, keepdim):
    """Normalise the axes; return (axis tuple, keepdims, the shape with reduced axes kept as 1)."""
    shape = x.data.shape
    if isinstance(dim, (tuple, list)) and not dim:
        dim = None  # PyTorch's dim=() reduces every axis (numpy's axis=() reduces none)
    if axis is None and dim is None:  # the common full reduction, kept cheap
        return tuple(range(len(shape))), bool(keepdims or keepdim), (1,) * len(shape)
    axis, keepdims = axis_args(axis, keepdims, dim, keepdim)
    if axis is None:
        axes = tuple(range(len(shape)))
    else:
        try:
            axes = normalize_axis_tuple(axis, len(shape))
        except (ValueError, TypeError) as err:
            raise axis_error(op, axis, shape, err) from None
    kshape = tuple(1 if i in axes else n for i, n in enumerate(shape))
    return axes, keepdims, kshape


def _expand(g, kshape, shape):
    """Broadcast a reduced gradient back over the reduced axes."""
    if isinstance(g, Tensor):
        return np.broadcast_to(g.reshape(kshape), shape)  # recorded (create_graph)
    # fast path for arrays and numpy scalars: fill a new array (np.broadcast_to costs
    # several numpy calls)
    out = np.empty(shape, dtype=g.dtype)
    out[...] = g.reshape(kshape)
    return out


def sum(x, axis=None, keepdims=False, *, dim=None, keepdim=None):
    """Sum over ``axis`` (all axes when None); d/dx = 1 for every summed element.

    Shape: the input's shape without the reduced axes (kept as size 1 with
    ``keepdims=True``). Integer and bool inputs sum to integers, as numpy.

    Raises ValueError for an axis out of range, naming the axis and shape.
    """
    if not isinstance(x, Tensor):
        x = as_operand("sum", x)
    axes, keepdims, kshape = _reduce_plan("sum", x, axis, keepdims, dim, keepdim)
    return record(np.add.reduce(x.data, axis=axes, keepdims=keepdims), _sum_backward, (x,), kshape)


@backward_rule("sum")
def _sum_backward(g, out, inputs, kshape, needs):
    return (_expand(g, kshape, inputs[0].shape),)


def mean(x, axis=None, keepdims=False, *, dim=None, keepdim=None):
    """Arithmetic mean over ``axis``; d/dx = 1/n for each of the n averaged elements.

    Integer inputs give float64, as numpy. An empty reduction gives nan
    (with numpy's warning).
    """
    if not isinstance(x, Tensor):
        x = as_operand("mean", x)
    axes, keepdims, kshape = _reduce_plan("mean", x, axis, keepdims, dim, keepdim)
    n = 1
    for a in axes:
        n *= x.shape[a]
    d = x.data
    if d.dtype.kind in "fc" and n:
        data = np.add.reduce(d, axis=axes, keepdims=keepdims) / n  # np.mean without its wrapper
    else:
        data = np.mean(d, axis=axes, keepdims=keepdims)
    return record(data, _mean_backward, (x,), (kshape, n))


@backward_rule("mean")
def _mean_backward(g, out, inputs, saved, needs):
    kshape, n = saved
    return (_expand(g / n if n else g * np.nan, kshape, inputs[0].shape),)


def _extreme(op, fn, x, axis, keepdims, dim, keepdim):
    if not isinstance(x, Tensor):
        x = as_operand(op, x)
    axes, keepdims, kshape = _reduce_plan(op, x, axis, keepdims, dim, keepdim)
    try:
        data = fn(x.data, axis=axes, keepdims=keepdims)
    except ValueError as err:
        raise ValueError(f"{op}: cannot reduce a tensor of shape {x.shape} over axis {axis} ({err})") from None
    return record(data, _extreme_backward, (x,), (axes, kshape))


def _max_min(op, fn, argfn, binary, x, axis, keepdims, dim, keepdim):
    if isinstance(axis, Tensor):  # torch.max(a, b): numpy's axis is never a Tensor
        if keepdims is not False or dim is not None or keepdim is not None:
            raise TypeError(f"{op}(a, b) is the elementwise {binary.__name__}; it takes no dim/keepdim")
        return binary(x, axis)
    if dim is not None:
        if axis is not None:
            raise TypeError("pass either axis= or dim=, not both")
        return _values_indices(op, argfn, x, dim, keepdims if keepdim is None else keepdim)
    out = _extreme(op, fn, x, axis, keepdims, dim, keepdim)
    if isinstance(axis, (int, np.integer)):
        # PyTorch's x.max(1) gives (values, indices); ours gives values. Unpacking
        # them as a pair, or x.max(1)[0], would silently read rows, so iterating
        # this result (Tensor.__iter__) or indexing it with 0/1 (getitem) warns.
        out._meta_dict()["values_only"] = f"{op}({axis})"
    return out


def max(x, axis=None, keepdims=False, *, dim=None, keepdim=None):
    """Largest value over ``axis`` (``np.max``: values only, no indices).

    The gradient goes to the maximal elements; ties share it evenly (as
    ``torch.amax``). Raises ValueError on an empty reduction or a bad axis.

    PyTorch's forms, where they cannot be confused with numpy's:

    - ``max(dim=d, keepdim=False)`` (the keyword ``dim``): PyTorch's
      ``(values, indices)`` named tuple, ``d`` one int; ``values`` is
      ``x`` at ``indices`` (the first maximum), so its gradient goes to that
      element only, as in PyTorch. Raises ValueError if the axis is empty.
    - ``max(a, b)`` with a Tensor ``b``: the elementwise :func:`maximum`.
    - ``max(d)`` / ``max(axis=d)`` with one int stays numpy's values; the
      PyTorch readings of its result, unpacking (``v, i = x.max(1)``) and
      ``x.max(1)[0]``/``[1]``, warn naming ``dim=``.
    """
    return _max_min("max", np.max, np.argmax, maximum, x, axis, keepdims, dim, keepdim)


def min(x, axis=None, keepdims=False, *, dim=None, keepdim=None):
    """Smallest value over ``axis``; ties share the gradient evenly (as ``torch.amin``).

    PyTorch's ``min(dim=)`` and ``min(a, b)`` forms as in :func:`max`.
    """
    return _max_min("min", np.min, np.argmin, minimum, x, axis, keepdims, dim, keepdim)


def amax(x, axis=None, keepdims=False, *, dim=None, keepdim=None):
    """Largest values over ``axis`` (``np.amax``, ``torch.amax``): values only, ties split the gradient.

    PyTorch's ``dim=()`` (its default) reduces every axis; numpy's
    ``axis=()`` reduces none. Raises as :func:`max`.
    """
    return _extreme("amax", np.max, x, axis, keepdims, dim, keepdim)


def amin(x, axis=None, keepdims=False, *, dim=None, keepdim=None):
    """Smallest values over ``axis`` (``np.amin``, ``torch.amin``); as :func:`amax`."""
    return _extreme("amin", np.min, x, axis, keepdims, dim, keepdim)


def _values_indices(op, argfn, x, dim, keepdim):
    """PyTorch's ``max(dim=)``: values gathered at the first extreme index, and the int64 indices."""
    if not isinstance(x, Tensor):
        x = as_operand(op, x)
    if isinstance(dim, bool) or not isinstance(dim, (int, np.integer)):
        raise TypeError(f"{op}(dim=...) takes one int (PyTorch's (values, indices) form), got {dim!r}; "
                        f"for several axes use amax/amin or {op}(axis=...)")
    shape = x.shape
    if not shape and dim in (0, -1):  # PyTorch allows dim 0 of a 0-d tensor
        return ValuesIndices(x.reshape(()), Tensor._wrap(np.zeros((), np.int64)))
    try:
        ax = normalize_axis_index(dim, len(shape))
    except (ValueError, TypeError) as err:
        raise axis_error(op, dim, shape, err) from None
    if shape[ax] == 0:
        raise ValueError(f"{op}(dim={dim}): the reduced axis of a tensor of shape {shape} is empty")
    idx = argfn(x.data, axis=ax, keepdims=True)
    grid = [np.arange(n).reshape((-1,) + (1,) * (len(shape) - 1 - i)) for i, n in enumerate(shape)]
    grid[ax] = idx
    values = x[tuple(grid)]  # recorded getitem: the gradient goes to the chosen element only
    if not keepdim:
        values, idx = values.squeeze(ax), np.squeeze(idx, ax)
    return ValuesIndices(values, Tensor._wrap(idx.astype(np.int64, copy=False)))


@backward_rule("max/min")
def _extreme_backward(g, out, inputs, saved, needs):
    axes, kshape = saved
    x = inputs[0]
    xv = val(x)
    hit = xv == val(out).reshape(kshape)
    share = (hit / np.sum(hit, axis=axes, keepdims=True)).astype(xv.dtype, copy=False)
    return (_expand(g, kshape, x.shape) * share,)


def var(x, axis=None, *args, keepdims=False, ddof=None, dim=None, keepdim=None, correction=None,
        unbiased=None):
    """Variance ``sum((x - mean)**2) / (n - ddof)`` over ``axis`` (numpy's ``np.var``).

    ``ddof=0`` (numpy's default) is the population variance; ``ddof=1`` (or
    PyTorch's ``correction=1``, or old PyTorch's ``unbiased=True``) the
    unbiased estimate. d/dx = 2 (x - mean) / (n - ddof).

    With PyTorch's ``dim=`` and no ``ddof``/``correction``/``unbiased``, the
    result is numpy's ``ddof=0`` and a UserWarning names PyTorch's default
    (``correction=1``), so a PyTorch habit is not silently different.

    Everything after ``axis`` is keyword-only: a second positional argument
    is numpy's ``dtype``, old PyTorch's ``unbiased`` and was once our
    ``keepdims``, so ``x.var(0, True)`` raises TypeError rather than guess.

    With ``n - ddof <= 0`` (a size-1 axis with ``ddof=1``, an empty axis)
    the value is numpy's (nan or inf, with its warning) and the gradient
    ``2 / 0 * (x - mean)``: nan where x equals the mean, else +-inf, as
    ``torch.var(..., dim=)`` (an empty input gives an empty gradient).
    """
    return _var("var", x, axis, args, keepdims, ddof, dim, keepdim, correction, unbiased)


def _var(op, x, axis, args, keepdims, ddof, dim, keepdim, correction, unbiased):
    if args:
        raise TypeError(f"{op}: pass keepdims=, ddof= (or correction=/unbiased=) by keyword: a second "
                        f"positional argument {args[0]!r} means dtype in numpy and unbiased in "
                        f"PyTorch's {op}(dim, unbiased)")
    if ddof is None and correction is None and unbiased is None:
        if dim is not None:  # PyTorch's keyword, and PyTorch's default would be correction=1
            warnings.warn(f"{op}(dim=...) uses numpy's default ddof=0 (the population {op}); "
                          f"PyTorch's {op}(dim=...) defaults to correction=1. Pass correction=1 "
                          "(or ddof=1) for PyTorch's, or ddof=0 to keep numpy's and silence this",
                          UserWarning, stacklevel=3)
        ddof = 0
    if unbiased is not None:
        if correction is not None:
            raise TypeError(f"{op}: pass either correction= or unbiased=, not both")
        correction = 1 if unbiased else 0
    if correction is not None:
        ddof = correction
    if not isinstance(x, Tensor):
        x = as_operand(op, x)
    axes, keepdims, kshape = _reduce_plan(op, x, axis, keepdims, dim, keepdim)
    n = 1
    for a in axes:
        n *= x.shape[a]
    # numpy divides by max(n - ddof, 0); so does the gradient: 2 / 0 is inf, not ZeroDivisionError
    coef = 2 / (n - ddof) if n > ddof else np.inf
    if op == "std":
        data = np.std(x.data, axis=axes, keepdims=keepdims, ddof=ddof)
        return record(data, _std_backward, (x,), (axes, kshape, coef))
    data = np.var(x.data, axis=axes, keepdims=keepdims, ddof=ddof)
    return record(data, _var_backward, (x,), (axes, kshape, coef))


@backward_rule("var")
def _var_backward(g, out, inputs, saved, needs):
    axes, kshape, coef = saved
    x = inputs[0]
    centred = x - x.mean(axis=axes, keepdims=True)
    return (_expand(g, kshape, x.shape) * (centred * coef),)


def std(x, axis=None, *args, keepdims=False, ddof=None, dim=None, keepdim=None, correction=None,
        unbiased=None):
    """Standard deviation, ``sqrt(var(x, axis, ddof))`` (numpy's ``np.std``); arguments as :func:`var`.

    d/dx = (x - mean) / ((n - ddof) std), and 0 where std is 0 (all values
    equal, or one value with ``ddof=0``): PyTorch's ``std_backward`` masks
    zero std so, instead of sqrt's infinite slope times zero (nan). Other
    degenerate cases (``n - ddof <= 0``) give nan/inf as :func:`var`.
    """
    return _var("std", x, axis, args, keepdims, ddof, dim, keepdim, correction, unbiased)


@backward_rule("std")
def _std_backward(g, out, inputs, saved, needs):
    # d std = d var / (2 std), selected to 0 where std == 0 (torch's std_backward); the
    # safe denominator keeps inf out of the unselected branch, so double backward stays finite.
    zero = out == 0
    gvar = np.where(zero, 0, g / (2 * np.where(zero, 1, out)))
    return _var_backward(gvar, out, inputs, saved, needs)


def _quiet_if_empty(d):
    """numpy's divide-by-zero warning silenced for an empty input (the user's setting otherwise)."""
    return np.errstate(divide="ignore") if d.size == 0 else contextlib.nullcontext()


def _shift(d, axes):
    """The per-slice maximum, with non-finite maxima replaced by 0 (keeps exp finite)."""
    if d.size == 0:  # no maximum to take (np.max raises when a reduced axis is empty)
        return 0
    m = np.max(d, axis=axes, keepdims=True)
    if _mode.tracing is not None or not np.all(np.isfinite(m)):  # jit: the same bits, no branch
        m = np.where(np.isfinite(m), m, 0)
    return m


def logsumexp(x, axis=None, keepdims=False, *, dim=None, keepdim=None):
    """``log(sum(exp(x)))`` over ``axis``, computed stably as ``m + log(sum(exp(x - m)))``.

    m is the maximum, so the result is finite and exact for inputs of any
    size (1000.0, 1e17). d/dx = softmax(x) = exp(x - logsumexp(x)).
    """
    if not isinstance(x, Tensor):
        x = as_operand("logsumexp", x)
    axes, keepdims, kshape = _reduce_plan("logsumexp", x, axis, keepdims, dim, keepdim)
    d = x.data
    m = _shift(d, axes)
    with _quiet_if_empty(d):  # an empty sum is 0: log gives -inf, no warning
        data = np.log(np.sum(np.exp(d - m), axis=axes, keepdims=True)) + m
    if not keepdims:
        data = data.reshape(tuple(n for i, n in enumerate(kshape) if i not in axes))
    return record(data, _logsumexp_backward, (x,), kshape)


@backward_rule("logsumexp")
def _logsumexp_backward(g, out, inputs, kshape, needs):
    x = inputs[0]
    return (_expand(g, kshape, x.shape) * np.exp(x - out.reshape(kshape)),)


def _last_axis_default(axis, dim):
    """softmax/log_softmax work along the last axis unless ``axis`` or its alias ``dim`` is given."""
    return (-1, None) if axis is None and dim is None else (axis, dim)


def softmax(x, axis=None, *, dim=None):
    """``exp(x) / sum(exp(x))`` along ``axis`` (default the last), shifted by the max for stability.

    Backward: ``out * (g - sum(g * out, axis))``, the softmax Jacobian-vector product.
    """
    axis, dim = _last_axis_default(axis, dim)
    if not isinstance(x, Tensor):
        x = as_operand("softmax", x)
    axes, _, _ = _reduce_plan("softmax", x, axis, False, dim, None)
    e = np.exp(x.data - _shift(x.data, axes))
    return record(e / np.sum(e, axis=axes, keepdims=True), _softmax_backward, (x,), axes)


@backward_rule("softmax")
def _softmax_backward(g, out, inputs, axes, needs):
    return (out * (g - (g * out).sum(axis=axes, keepdims=True)),)


def log_softmax(x, axis=None, *, dim=None):
    """``x - logsumexp(x, axis)`` along ``axis`` (default the last), stable for any input size.

    Backward: ``g - exp(out) * sum(g, axis)``.
    """
    axis, dim = _last_axis_default(axis, dim)
    if not isinstance(x, Tensor):
        x = as_operand("log_softmax", x)
    axes, _, _ = _reduce_plan("log_softmax", x, axis, False, dim, None)
    shifted = x.data - _shift(x.data, axes)
    with _quiet_if_empty(x.data):  # empty: the log(0) of no slice needs no warning
        data = shifted - np.log(np.sum(np.exp(shifted), axis=axes, keepdims=True))
    return record(data, _log_softmax_backward, (x,), axes)


@backward_rule("log_softmax")
def _log_softmax_backward(g, out, inputs, axes, needs):
    return (g - np.exp(out) * g.sum(axis=axes, keepdims=True),)
