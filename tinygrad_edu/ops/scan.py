"""Products and running scans: prod, cumsum, cumprod, diff (numpy) and cummax, cummin (PyTorch).

Zeros are handled exactly, with no division by ``x`` anywhere:

* ``prod``: d prod / dx_j is the product of the *other* elements, computed
  as (product of those before j) * (product of those after j), two
  exclusive running products. One zero in a slice gives the product of the
  others at the zero and 0 elsewhere; two or more give 0 everywhere.
* ``cumprod``: with y_i = x_0 ... x_i, the gradient is
  ``dx_j = sum_{i>=j} g_i prod_{k<=i, k!=j} x_k = L_j s_j`` where
  ``L_j = x_0 ... x_{j-1}`` and ``s_j = g_j + x_{j+1} s_{j+1}``: a linear
  recurrence, solved by log2(n) vectorised doubling steps (a parallel
  prefix scan, Hillis & Steele, "Data parallel algorithms", CACM 1986) instead
  of a loop over elements.

Both rules are written with ops that record on Tensors (slicing, products,
concatenate, cumprod itself), so second derivatives work (gradgradcheck).
PyTorch divides by x when a slice has no zero (``torch/csrc/autograd/FunctionsManual.cpp``,
``prod_backward``/``cumprod_backward``); the results agree up to rounding.
"""
from __future__ import annotations

from collections import namedtuple

import numpy as np
from numpy.lib.array_utils import normalize_axis_index

from ..autograd import backward_rule, record
from ..tensor import Tensor
from ._common import as_operand, axis_error, val
from .reduce import _expand, _reduce_plan
from .shape import astype, broadcast_to, concatenate, getitem, reshape

__all__ = ["prod", "cumsum", "cumprod", "diff", "cummax", "cummin"]

CumResult = namedtuple("cummax", ["values", "indices"])
CumMinResult = namedtuple("cummin", ["values", "indices"])


def _sl(axis, start=None, stop=None, step=None):
    """The index ``[..., start:stop:step]`` on ``axis`` (counted from the front)."""
    return (slice(None),) * axis + (slice(start, stop, step),)


def _unsupported(op, **given):
    bad = sorted(k for k, v in given.items() if v is not None)
    if bad:
        raise TypeError(f"{op}: {', '.join(k + '=' for k in bad)} not supported on Tensors")


def _cast(op, x, dtype):
    if isinstance(dtype, bool):  # torch's prod(x, dim, keepdim) passed positionally
        raise TypeError(f"{op}: the third positional argument is numpy's dtype; pass PyTorch's "
                        "keepdim as keepdim=True")
    return x if dtype is None or np.dtype(dtype) == x.dtype else astype(x, dtype)


# ---- prod -------------------------------------------------------------------------
def prod(x, axis=None, dtype=None, out=None, keepdims=False, initial=None, where=None, *,
         dim=None, keepdim=None):
    """Product of the elements over ``axis`` (``np.prod``; all axes when None).

    PyTorch's ``dim=``/``keepdim=`` are aliases. The gradient of each
    element is the product of the others in its slice (exact with zeros: no
    division, see the module docstring). Shape: ``x``'s without the reduced
    axes (kept as 1 with ``keepdims``); an empty product is 1.

    Raises ValueError for a bad axis, TypeError for ``out=``, ``initial=``,
    ``where=``.
    """
    _unsupported("prod", out=out, initial=initial, where=where)
    x = _cast("prod", as_operand("prod", x), dtype)
    axes, keepdims, kshape = _reduce_plan("prod", x, axis, keepdims, dim, keepdim)
    data = np.multiply.reduce(x.data, axis=axes, keepdims=keepdims)
    return record(data, _prod_backward, (x,), (axes, kshape))


@backward_rule("prod")
def _prod_backward(g, out, inputs, saved, needs):
    axes, kshape = saved
    x = inputs[0]
    return (_expand(g, kshape, x.shape) * product_of_others(x, axes),)


def product_of_others(x, axes):
    """For each element, the product of the other elements of its slice over ``axes``."""
    shape = tuple(x.shape)
    if len(axes) == 1:
        return _others_along(x, axes[0])
    kept = tuple(i for i in range(len(shape)) if i not in axes)
    perm = kept + tuple(axes)
    moved = tuple(shape[i] for i in perm)
    n = 1
    for a in axes:
        n *= shape[a]
    flat = x.transpose(perm).reshape(moved[:len(kept)] + (n,))
    others = _others_along(flat, len(kept)).reshape(moved)
    return others.transpose(tuple(np.argsort(perm)))


def _others_along(x, axis):
    n = x.shape[axis]
    if n == 0:
        return x
    before = exclusive_cumprod(x, axis)
    after = exclusive_cumprod(x[_sl(axis, None, None, -1)], axis)[_sl(axis, None, None, -1)]
    return before * after


def exclusive_cumprod(x, axis):
    """``[1, x_0, x_0 x_1, ...]``: the product of the elements before each one (n >= 1)."""
    one = np.ones(tuple(x.shape[:axis]) + (1,) + tuple(x.shape[axis + 1:]), dtype=x.dtype)
    return np.cumprod(np.concatenate((one, x[_sl(axis, None, -1)]), axis=axis), axis=axis)


# ---- cumsum / cumprod --------------------------------------------------------------
def _scan_axis(op, x, axis, dim):
    if dim is not None:
        if axis is not None:
            raise TypeError(f"{op}: pass either axis= or dim=, not both")
        axis = dim
    if axis is None:  # numpy: the flattened array
        return reshape(x, (-1,)), 0
    try:
        return x, normalize_axis_index(axis, x.ndim)
    except (ValueError, TypeError) as err:
        raise axis_error(op, axis, x.shape, err) from None


def cumsum(x, axis=None, dtype=None, out=None, *, dim=None):
    """Running sums along ``axis`` (``np.cumsum``; None flattens first, as numpy).

    ``dim=`` is PyTorch's alias. Backward: the reversed running sum of the
    incoming gradient, ``dx_j = sum_{i>=j} g_i``. Shape: ``x``'s (flat for
    ``axis=None``). Integer and bool inputs give integers, as numpy.
    """
    _unsupported("cumsum", out=out)
    x, ax = _scan_axis("cumsum", _cast("cumsum", as_operand("cumsum", x), dtype), axis, dim)
    return record(np.cumsum(x.data, axis=ax), _cumsum_backward, (x,), ax)


@backward_rule("cumsum")
def _cumsum_backward(g, out, inputs, ax, needs):
    rev = _sl(ax, None, None, -1)
    return (np.cumsum(g[rev], axis=ax)[rev],)


def cumprod(x, axis=None, dtype=None, out=None, *, dim=None):
    """Running products along ``axis`` (``np.cumprod``; None flattens first).

    ``dim=`` is PyTorch's alias. The gradient is exact with zeros (no
    division by ``x``; see the module docstring for the scan).
    """
    _unsupported("cumprod", out=out)
    x, ax = _scan_axis("cumprod", _cast("cumprod", as_operand("cumprod", x), dtype), axis, dim)
    return record(np.cumprod(x.data, axis=ax), _cumprod_backward, (x,), ax)


@backward_rule("cumprod")
def _cumprod_backward(g, out, inputs, ax, needs):
    x = inputs[0]
    if x.shape[ax] == 0:
        return (g,)
    return (exclusive_cumprod(x, ax) * suffix_scan(g, x[_sl(ax, 1, None)], ax),)


def suffix_scan(b, a, axis):
    """``s`` with ``s_j = b_j + a_j s_{j+1}`` (``s_{n-1} = b_{n-1}``) along ``axis``.

    ``a`` has one element fewer than ``b``. Each doubling step composes the
    affine maps ``s_j = B_j + A_j s_{j+d}`` pairwise, so d doubles and log2(n)
    steps finish; every step is a few whole-array operations.
    """
    n = b.shape[axis]
    d = 1
    if not isinstance(b, Tensor) and not isinstance(a, Tensor):  # arrays: update in place
        b = np.copy(b)  # (np.copy dispatches: a jit recording logs it; np.array does not)
        while d < n:
            b[_sl(axis, None, n - d)] += a * b[_sl(axis, d, None)]  # the product is a fresh array
            if 2 * d < n:
                a = a[_sl(axis, None, n - 2 * d)] * a[_sl(axis, d, n - d)]
            d *= 2
        return b
    while d < n:
        head = b[_sl(axis, None, n - d)] + a * b[_sl(axis, d, None)]
        b = np.concatenate((head, b[_sl(axis, n - d, None)]), axis=axis)
        if 2 * d < n:
            a = a[_sl(axis, None, n - 2 * d)] * a[_sl(axis, d, n - d)]
        d *= 2
    return b


# ---- diff ----------------------------------------------------------------------------
def diff(x, n=1, axis=-1, prepend=None, append=None, *, dim=None):
    """The ``n``-th discrete difference ``out[i] = x[i+1] - x[i]`` along ``axis`` (``np.diff``).

    ``prepend``/``append`` (numbers, arrays or Tensors, which get gradients)
    are joined to ``x`` first; a number is repeated over the other axes.
    ``dim=`` is PyTorch's alias. Built from slicing, subtraction and
    concatenate, so it is differentiable to any order. Bool input uses
    ``!=`` as numpy (no gradient).

    Raises ValueError for ``n < 0``, a 0-d input, a bad axis, or
    prepend/append shapes that do not fit.
    """
    x = as_operand("diff", x)
    if dim is not None:
        axis = dim
    if not isinstance(n, (int, np.integer)) or n < 0:
        raise ValueError(f"diff: order must be a non-negative integer, got n={n!r}")
    if x.ndim == 0:
        raise ValueError("diff: the input must be at least one-dimensional, got a 0-d tensor")
    try:
        ax = normalize_axis_index(axis, x.ndim)
    except (ValueError, TypeError) as err:
        raise axis_error("diff", axis, x.shape, err) from None
    if x.dtype == np.bool_:
        return Tensor._wrap(np.diff(x.data, n, ax, **_ends(prepend, append)))
    if n == 0:
        return x
    parts = [x]
    edge = tuple(x.shape[:ax]) + (1,) + tuple(x.shape[ax + 1:])
    for where, v in (("prepend", prepend), ("append", append)):
        if v is None:
            continue
        if np.ndim(val(v)) == 0:
            v = broadcast_to(v, edge) if isinstance(v, Tensor) else np.broadcast_to(v, edge)
        parts.insert(0 if where == "prepend" else len(parts), v)
    if len(parts) > 1:
        try:
            x = concatenate(parts, ax)
        except ValueError as err:
            raise ValueError(f"diff: prepend/append do not fit a tensor of shape {x.shape} along "
                             f"axis {ax} ({err})") from None
    for _ in range(n):  # n is the order of the difference, not a count of elements
        x = getitem(x, _sl(ax, 1, None)) - getitem(x, _sl(ax, None, -1))
    return x


def _ends(prepend, append):
    return {k: val(v) for k, v in (("prepend", prepend), ("append", append)) if v is not None}


# ---- cummax / cummin ------------------------------------------------------------------
def _cum_extreme(op, ufunc, result, x, dim, axis):
    if dim is None:
        dim = axis
    elif axis is not None:
        raise TypeError(f"{op}: pass either dim= or axis=, not both")
    if dim is None:
        raise TypeError(f"{op}() missing the required argument dim (torch.{op}(input, dim))")
    x = as_operand(op, x)
    scalar = x.ndim == 0
    xs = reshape(x, (1,)) if scalar else x
    try:
        ax = normalize_axis_index(dim, xs.ndim)
    except (ValueError, TypeError) as err:
        raise axis_error(op, dim, x.shape, err) from None
    d = xs.data
    run = ufunc.accumulate(d, axis=ax)
    # The running extreme sits at the latest element equal to it (ties take
    # the last index, as PyTorch); a NaN becomes the running value and
    # every later NaN takes over its index (PyTorch's rule too).
    hit = d == run
    if d.dtype.kind in "fc":
        hit |= np.isnan(d)
    pos = np.arange(d.shape[ax]).reshape((-1,) + (1,) * (d.ndim - ax - 1))
    idx = np.maximum.accumulate(np.where(hit, pos, 0), axis=ax) if d.size else np.zeros(d.shape, np.intp)
    from .sorting import take_along

    values = take_along(xs, idx, ax, unique=False)  # a running extreme repeats its index
    if scalar:
        values, idx = reshape(values, ()), idx.reshape(())
    return result(values, Tensor._wrap(idx.astype(np.int64)))


def cummax(x, dim=None, *, axis=None):
    """Running maximum along ``dim`` (``torch.cummax``): namedtuple ``(values, indices)``.

    ``indices[i]`` is where the running maximum up to i was found: at ties the
    latest equal element (PyTorch's choice), and once a NaN appears the
    values are NaN and the index is the latest NaN. The gradient of
    ``values[i]`` goes to ``x[indices[i]]``. ``dim`` is required (numpy has
    no cummax; ``np.maximum.accumulate`` is the values alone).
    """
    return _cum_extreme("cummax", np.maximum, CumResult, x, dim, axis)


def cummin(x, dim=None, *, axis=None):
    """Running minimum along ``dim`` (``torch.cummin``), like :func:`cummax`."""
    return _cum_extreme("cummin", np.minimum, CumMinResult, x, dim, axis)


NUMPY_FUNCTIONS = {
    np.prod: prod,
    np.cumsum: cumsum,
    np.cumprod: cumprod,
    np.diff: diff,
}

TENSOR_METHODS = {
    "prod": prod,
    "cumsum": cumsum,
    "cumprod": cumprod,
    "diff": diff,
    "cummax": cummax,
    "cummin": cummin,
}
