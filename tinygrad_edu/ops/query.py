"""Queries with no gradient: arg-extrema, nonzero, any/all, closeness, unique, searchsorted, ...

These answer questions about values (where, whether, how many) rather than
compute new values, so they have no derivative. They compute with numpy on
the data and return, consistently:

* a Tensor that does not require grad wherever numpy returns an array or a
  number (as the comparisons ``t > 0`` do; a scalar result, e.g.
  ``argmax(t)`` or ``count_nonzero(t)``, is a 0-d Tensor, which works in
  ``if``, ``int()``, ``float()`` and as an index);
* a tuple of such Tensors where numpy returns a tuple (``nonzero``,
  ``unique`` with ``return_*``);
* a Python bool for the yes/no predicates ``allclose``, ``array_equal``,
  ``array_equiv`` (numpy's type, made for ``if``/``assert``).

Names follow numpy; PyTorch's keywords ``dim=``/``keepdim=`` are accepted.
Where PyTorch gives the same name another meaning, numpy's stays:

* ``nonzero``: numpy's tuple of index arrays (one per axis). PyTorch's
  default is an ``(n, ndim)`` index matrix: that is ``nonzero(t,
  as_tuple=False)`` or ``argwhere(t)``; ``as_tuple=True`` is numpy's form.
* ``unique``: the function has numpy's positional order (``return_index``
  second); the method ``t.unique(sorted, return_inverse, return_counts,
  dim)`` has PyTorch's. Both always sort.
* ``searchsorted``: a 1-D sorted sequence (numpy); PyTorch's batched N-D
  form raises ValueError. ``right=True`` is PyTorch's ``side='right'``.
"""
from __future__ import annotations

import numpy as np

from ..tensor import Tensor
from ._common import axis_args, describe, val

__all__ = ["argmax", "argmin", "argwhere", "nonzero", "flatnonzero", "any", "all", "isclose",
           "allclose", "array_equal", "array_equiv", "count_nonzero", "searchsorted", "unique",
           "isinf", "isnan", "isfinite", "isneginf", "isposinf", "signbit", "logical_and", "logical_or", "logical_not",
           "bitwise_and", "bitwise_or", "bitwise_xor", "invert",
           "logical_xor"]
from ._common import asarray as _asarray


def _plain(x):
    """A numpy result as a Tensor without gradient."""
    return Tensor._wrap(_asarray(x))


def _data(op, x):
    """The numpy value of an operand; TypeError naming ``op`` for non-numeric input."""
    d = _asarray(val(x))
    if d.dtype.kind not in "biufc":
        raise TypeError(f"{op}: expected a Tensor or a numeric array-like, got {describe(x)} "
                        f"(dtype {d.dtype})")
    return d


def _no_out(op, out):
    if out is not None:
        raise TypeError(f"{op}: out= is not supported on Tensors")


def _call(op, fn, d, *args, **kw):
    """Run numpy's ``fn``, re-raising its errors (bad axis, ...) naming ``op`` and the shape."""
    try:
        return fn(d, *args, **kw)
    except (ValueError, TypeError) as err:  # numpy's AxisError is a ValueError
        raise type(err)(f"{op}: {err} (tensor of shape {d.shape})") from None


# ---- arg-extrema and positions ------------------------------------------------------------
def argmax(a, axis=None, out=None, *, keepdims=False, dim=None, keepdim=None):
    """Index of the largest element along ``axis`` (``np.argmax``; ``torch.argmax``).

    ``axis=None`` indexes the flattened tensor (both libraries). Ties: the
    first occurrence; NaN counts as the largest (both libraries). int64.
    """
    _no_out("argmax", out)
    axis, keepdims = axis_args(axis, keepdims, dim, keepdim)
    return _plain(_call("argmax", np.argmax, _data("argmax", a), axis=axis, keepdims=keepdims))


def argmin(a, axis=None, out=None, *, keepdims=False, dim=None, keepdim=None):
    """Index of the smallest element along ``axis`` (``np.argmin``); ties: the first."""
    _no_out("argmin", out)
    axis, keepdims = axis_args(axis, keepdims, dim, keepdim)
    return _plain(_call("argmin", np.argmin, _data("argmin", a), axis=axis, keepdims=keepdims))


def argwhere(a):
    """Indices of the non-zero elements as an ``(n, ndim)`` int64 Tensor (``np.argwhere``;
    this is also what ``torch.nonzero(t)`` returns)."""
    return _plain(np.argwhere(_data("argwhere", a)))


def nonzero(a, *, as_tuple=True):
    """Indices of the non-zero elements, one int64 Tensor per axis (``np.nonzero``).

    ``as_tuple=False`` gives PyTorch's default instead, the ``(n, ndim)``
    matrix of :func:`argwhere`.
    """
    d = _data("nonzero", a)
    if not as_tuple:
        return argwhere(d)
    if d.ndim == 0:
        raise ValueError("nonzero: not defined for a 0-d tensor (numpy); use atleast_1d or "
                         "t.reshape(1) first")
    return tuple(_plain(i) for i in np.nonzero(d))


def flatnonzero(a):
    """Indices of the non-zero elements of the flattened tensor (``np.flatnonzero``)."""
    return _plain(np.flatnonzero(_data("flatnonzero", a)))


def count_nonzero(a, axis=None, *, keepdims=False, dim=None):
    """Number of non-zero elements over ``axis`` (``np.count_nonzero``), as an int Tensor."""
    axis, keepdims = axis_args(axis, keepdims, dim, None)
    d = _data("count_nonzero", a)
    return _plain(_call("count_nonzero", np.count_nonzero, d, axis=axis, keepdims=keepdims))


# ---- truth reductions ----------------------------------------------------------------------
def any(a, axis=None, out=None, keepdims=False, *, where=None, dim=None, keepdim=None):
    """Whether any element over ``axis`` is true/non-zero (``np.any``), a bool Tensor."""
    _no_out("any", out)
    axis, keepdims = axis_args(axis, keepdims, dim, keepdim)
    kw = {} if where is None else {"where": _data("any", where)}
    return _plain(_call("any", np.any, _data("any", a), axis=axis, keepdims=keepdims, **kw))


def all(a, axis=None, out=None, keepdims=False, *, where=None, dim=None, keepdim=None):
    """Whether every element over ``axis`` is true/non-zero (``np.all``), a bool Tensor."""
    _no_out("all", out)
    axis, keepdims = axis_args(axis, keepdims, dim, keepdim)
    kw = {} if where is None else {"where": _data("all", where)}
    return _plain(_call("all", np.all, _data("all", a), axis=axis, keepdims=keepdims, **kw))


# ---- closeness and equality ---------------------------------------------------------------
def _pair(op, fn, a, b, *args):
    da, db = _data(op, a), _data(op, b)
    try:
        return fn(da, db, *args)
    except ValueError as err:
        raise ValueError(f"{op}: operands could not be broadcast together: shapes {da.shape} "
                         f"and {db.shape} ({err})") from None


def isclose(a, b, rtol=1e-05, atol=1e-08, equal_nan=False):
    """Elementwise ``|a - b| <= atol + rtol |b|`` (``np.isclose``; same defaults as
    ``torch.isclose``), a bool Tensor."""
    return _plain(_pair("isclose", np.isclose, a, b, rtol, atol, equal_nan))


def allclose(a, b, rtol=1e-05, atol=1e-08, equal_nan=False):
    """True if every element is close (``np.allclose``): a Python bool."""
    return bool(_pair("allclose", np.allclose, a, b, rtol, atol, equal_nan))


def array_equal(a1, a2, equal_nan=False):
    """True if both have the same shape and elements (``np.array_equal``): a Python bool."""
    return bool(np.array_equal(_data("array_equal", a1), _data("array_equal", a2), equal_nan))


def array_equiv(a1, a2):
    """True if they are equal after broadcasting (``np.array_equiv``): a Python bool."""
    return bool(np.array_equiv(_data("array_equiv", a1), _data("array_equiv", a2)))


# ---- searching and unique values -------------------------------------------------------------
def searchsorted(a, v, side="left", sorter=None, *, right=None, out_int32=False):
    """Where ``v`` would be inserted into the sorted 1-D ``a`` (``np.searchsorted``).

    ``side='left'`` gives the first such index, ``'right'`` the last;
    ``right=True`` is PyTorch's spelling. int64 (int32 with ``out_int32``).

    Raises ValueError if ``a`` is not 1-D: PyTorch batches an N-D sorted
    sequence over its leading axes, numpy does not.
    """
    if right is not None:
        side = "right" if right else "left"
    da, dv = _data("searchsorted", a), _data("searchsorted", v)
    if da.ndim != 1:
        raise ValueError(f"searchsorted: the sorted sequence must be 1-D (numpy), got shape "
                         f"{da.shape}; PyTorch's batched form is not supported: search each row")
    s = None if sorter is None else _data("searchsorted", sorter)
    out = np.searchsorted(da, dv, side=side, sorter=s)
    return _plain(out.astype(np.int32) if out_int32 else out)


def unique(ar, return_index=False, return_inverse=False, return_counts=False, axis=None, *,
           equal_nan=True, sorted=True, dim=None):
    """The sorted unique elements (``np.unique``), and optionally where they first
    occur, the inverse map and the counts, as a tuple in that order.

    ``dim=`` is PyTorch's alias of ``axis``; the result is always sorted
    (``sorted=False`` is accepted, as PyTorch may sort anyway). The inverse
    has numpy 2's shape.
    """
    if dim is not None:
        axis = dim
    d = _data("unique", ar)
    res = _call("unique", np.unique, d, return_index=return_index, return_inverse=return_inverse,
                return_counts=return_counts, axis=axis, equal_nan=equal_nan)
    return tuple(_plain(r) for r in res) if isinstance(res, tuple) else _plain(res)


def _unique_method(self, sorted=True, return_inverse=False, return_counts=False, dim=None):
    """``t.unique(sorted=True, return_inverse=False, return_counts=False, dim=None)``:
    PyTorch's method (positional order of ``torch.Tensor.unique``)."""
    return unique(self, False, return_inverse, return_counts, dim)


# ---- elementwise predicates ---------------------------------------------------------------
def _unary(name, fn):
    def pred(x):
        return _plain(fn(_data(name, x)))

    pred.__name__ = name
    pred.__doc__ = f"Elementwise ``np.{name}``: a bool Tensor without gradient."
    return pred


def _binary(name, fn):
    def pred(x1, x2):
        return _plain(_pair(name, fn, x1, x2))

    pred.__name__ = name
    pred.__doc__ = f"Elementwise ``np.{name}`` (broadcasting): a bool Tensor without gradient."
    return pred


isinf = _unary("isinf", np.isinf)
isneginf = _unary("isneginf", np.isneginf)
isposinf = _unary("isposinf", np.isposinf)
signbit = _unary("signbit", np.signbit)
logical_not = _unary("logical_not", np.logical_not)
logical_and = _binary("logical_and", np.logical_and)
logical_or = _binary("logical_or", np.logical_or)
logical_xor = _binary("logical_xor", np.logical_xor)
isnan = _unary("isnan", np.isnan)
isfinite = _unary("isfinite", np.isfinite)
bitwise_and = _binary("bitwise_and", np.bitwise_and)
bitwise_or = _binary("bitwise_or", np.bitwise_or)
bitwise_xor = _binary("bitwise_xor", np.bitwise_xor)
invert = _unary("invert", np.invert)


def _reflected(fn):
    def reflected(self, other):
        return fn(other, self)
    return reflected


NUMPY_UFUNCS = {
    np.isinf: isinf,
    np.isnan: isnan,
    np.isfinite: isfinite,
    np.bitwise_and: bitwise_and,
    np.bitwise_or: bitwise_or,
    np.bitwise_xor: bitwise_xor,
    np.invert: invert,
    np.signbit: signbit,
    np.logical_not: logical_not,
    np.logical_and: logical_and,
    np.logical_or: logical_or,
    np.logical_xor: logical_xor,
}

NUMPY_FUNCTIONS = {
    np.argmax: argmax,
    np.argmin: argmin,
    np.argwhere: argwhere,
    np.nonzero: nonzero,
    np.flatnonzero: flatnonzero,
    np.count_nonzero: count_nonzero,
    np.any: any,
    np.all: all,
    np.isclose: isclose,
    np.allclose: allclose,
    np.array_equal: array_equal,
    np.array_equiv: array_equiv,
    np.searchsorted: searchsorted,
    np.unique: unique,
    np.isneginf: isneginf,
    np.isposinf: isposinf,
}

TENSOR_METHODS = {
    "argmax": argmax,
    "argmin": argmin,
    "nonzero": nonzero,
    "count_nonzero": count_nonzero,
    "any": any,
    "all": all,
    "isclose": isclose,
    "allclose": allclose,
    "searchsorted": searchsorted,
    "unique": _unique_method,
    "isinf": isinf,
    "isneginf": isneginf,
    "isposinf": isposinf,
    "signbit": signbit,
    "logical_not": logical_not,
    "logical_and": logical_and,
    "logical_or": logical_or,
    "logical_xor": logical_xor,
    "isnan": isnan,
    "isfinite": isfinite,
    # masks combine as in numpy and PyTorch: (a > 0) & (b < 1), ~mask (bool or integer Tensors)
    "__and__": bitwise_and,
    "__rand__": _reflected(bitwise_and),
    "__or__": bitwise_or,
    "__ror__": _reflected(bitwise_or),
    "__xor__": bitwise_xor,
    "__rxor__": _reflected(bitwise_xor),
    "__invert__": invert,
}
