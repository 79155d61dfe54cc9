"""Joining and splitting: vstack, hstack, dstack, column_stack, row_stack, split,
array_split, hsplit, vsplit, dsplit, atleast_1d/2d/3d; PyTorch's chunk, unbind,
tensor_split and the ``Tensor.split`` method.

Joins are ``concatenate`` after ``atleast_nd`` reshapes; splits are basic
slices (views), one graph node per piece, each with the slicing rule's
gradient (the piece's gradient written into zeros of the input's shape).

One name, two meanings: ``np.split(x, 3)`` makes 3 equal *sections* (a
list gives split *indices*), while ``torch.split(x, 3)`` makes pieces of
*size* 3 (a list gives sizes). ``tinygrad_edu.split`` and ``np.split`` are
numpy's; ``ndarray`` has no ``split`` method, so the method ``x.split`` is
PyTorch's (sizes, ``dim=``) and refuses numpy's ``axis=`` keyword.
"""
from __future__ import annotations

import math
import warnings

import numpy as np
from numpy.lib.array_utils import normalize_axis_index

from ._common import as_operand, axis_error
from .shape import concatenate, getitem, reshape

__all__ = ["atleast_1d", "atleast_2d", "atleast_3d", "vstack", "row_stack", "hstack", "dstack",
           "column_stack", "split", "array_split", "hsplit", "vsplit", "dsplit", "chunk",
           "unbind", "tensor_split"]


def _axis(op, axis, x):
    try:
        return normalize_axis_index(axis, x.ndim)
    except (ValueError, TypeError) as err:
        raise axis_error(op, axis, x.shape, err) from None


def _atleast(op, nd, arys):
    outs = []
    for a in arys:
        a = as_operand(op, a)
        s = a.shape
        if a.ndim >= nd:
            outs.append(a)
            continue
        if nd == 1:
            new = (1,)
        elif nd == 2:
            new = (1,) + s if a.ndim == 1 else (1, 1)
        else:  # numpy: (n,) -> (1, n, 1), (m, n) -> (m, n, 1)
            new = {0: (1, 1, 1), 1: (1,) + s + (1,), 2: s + (1,)}[a.ndim]
        outs.append(reshape(a, new))
    return outs[0] if len(outs) == 1 else tuple(outs)


def atleast_1d(*arys):
    """Each input with at least 1 dimension (``np.atleast_1d``): 0-d -> ``(1,)``.
    One input gives a Tensor, several a tuple."""
    return _atleast("atleast_1d", 1, arys)


def atleast_2d(*arys):
    """Each input with at least 2 dimensions (``np.atleast_2d``): ``(n,)`` -> ``(1, n)``."""
    return _atleast("atleast_2d", 2, arys)


def atleast_3d(*arys):
    """Each input with at least 3 dimensions (``np.atleast_3d``): ``(n,)`` -> ``(1, n, 1)``,
    ``(m, n)`` -> ``(m, n, 1)``."""
    return _atleast("atleast_3d", 3, arys)


def _seq(op, tup, kwargs):
    if kwargs.get("dtype") is not None or kwargs.get("out") is not None:
        raise TypeError(f"{op}: dtype= and out= are not supported on Tensors")
    tup = list(tup)
    if not tup:
        raise ValueError(f"{op}: need at least one tensor")
    return tup


def vstack(tup, **kwargs):
    """Stack along axis 0 after :func:`atleast_2d` (``np.vstack``: rows)."""
    tup = _seq("vstack", tup, kwargs)
    return concatenate([atleast_2d(a) for a in tup], 0)


def row_stack(tup, **kwargs):
    """Another name for :func:`vstack` (numpy's ``row_stack``, deprecated there)."""
    return vstack(tup, **kwargs)


def hstack(tup, **kwargs):
    """Stack along axis 1, or axis 0 for 1-D inputs (``np.hstack``)."""
    tup = [atleast_1d(a) for a in _seq("hstack", tup, kwargs)]
    return concatenate(tup, 0 if tup[0].ndim == 1 else 1)


def dstack(tup, **kwargs):
    """Stack along axis 2 after :func:`atleast_3d` (``np.dstack``: depth)."""
    tup = _seq("dstack", tup, kwargs)
    return concatenate([atleast_3d(a) for a in tup], 2)


def column_stack(tup, **kwargs):
    """Stack 1-D inputs as columns (``(n,)`` -> ``(n, 1)``), others along axis 1
    (``np.column_stack``)."""
    parts = []
    for a in _seq("column_stack", tup, kwargs):
        a = as_operand("column_stack", a)
        parts.append(reshape(a, (-1, 1) if a.ndim == 1 else (1, 1)) if a.ndim < 2 else a)
    return concatenate(parts, 1)


def _pieces(x, ax, bounds):
    """``x`` sliced along ``ax`` at consecutive ``bounds`` (numpy's slicing: clamped)."""
    pre = (slice(None),) * ax
    return [getitem(x, pre + (slice(b, e),)) for b, e in zip(bounds[:-1], bounds[1:])]


def _split(op, x, indices_or_sections, axis, equal):
    x = as_operand(op, x)
    if x.ndim == 0:
        raise ValueError(f"{op}: cannot split a 0-d tensor")
    ax = _axis(op, axis, x)
    n = x.shape[ax]
    ios = indices_or_sections
    if np.ndim(ios) == 0:
        try:
            k = int(ios)
        except TypeError:
            raise TypeError(f"{op}: indices_or_sections must be an int or a list of ints, "
                            f"got {ios!r}") from None
        if k <= 0:
            raise ValueError(f"{op}: the number of sections must be positive, got {k}")
        if equal and n % k:
            raise ValueError(f"{op}: axis {ax} of size {n} (tensor of shape {x.shape}) does not "
                             f"split into {k} equal sections; use array_split for unequal ones")
        each, extra = divmod(n, k)
        sizes = [each + 1] * extra + [each] * (k - extra)
        bounds = [0, *np.cumsum(sizes).tolist()]
    else:
        bounds = [0, *(int(i) for i in ios), n]
    return _pieces(x, ax, bounds)


def split(x, indices_or_sections, axis=0):
    """numpy's ``np.split``: an int N makes N equal *sections* (ValueError if the axis does
    not divide), a list gives the *indices* where to cut. Returns a list of Tensors.

    Not ``torch.split``, whose int is a piece *size*: for that use the method
    ``x.split(size, dim=)``, :func:`chunk` or :func:`tensor_split`.
    """
    return _split("split", x, indices_or_sections, axis, equal=True)


def array_split(x, indices_or_sections, axis=0):
    """Like :func:`split`, but N sections need not be equal: the first ``n % N`` get one
    element more (``np.array_split``). Returns a list of Tensors."""
    return _split("array_split", x, indices_or_sections, axis, equal=False)


def hsplit(x, indices_or_sections):
    """:func:`split` along axis 1 (axis 0 for 1-D) (``np.hsplit``)."""
    x = as_operand("hsplit", x)
    if x.ndim == 0:
        raise ValueError("hsplit: needs at least 1 dimension, got a 0-d tensor")
    return _split("hsplit", x, indices_or_sections, 1 if x.ndim > 1 else 0, equal=True)


def vsplit(x, indices_or_sections):
    """:func:`split` along axis 0 of a tensor with at least 2 dimensions (``np.vsplit``)."""
    x = as_operand("vsplit", x)
    if x.ndim < 2:
        raise ValueError(f"vsplit: needs at least 2 dimensions, got shape {x.shape}")
    return _split("vsplit", x, indices_or_sections, 0, equal=True)


def dsplit(x, indices_or_sections):
    """:func:`split` along axis 2 of a tensor with at least 3 dimensions (``np.dsplit``)."""
    x = as_operand("dsplit", x)
    if x.ndim < 3:
        raise ValueError(f"dsplit: needs at least 3 dimensions, got shape {x.shape}")
    return _split("dsplit", x, indices_or_sections, 2, equal=True)


def tensor_split(x, indices_or_sections, dim=0):
    """PyTorch's ``tensor_split``: numpy's :func:`array_split` semantics, as a tuple."""
    return tuple(_split("tensor_split", x, indices_or_sections, dim, equal=False))


def chunk(x, chunks, dim=0):
    """PyTorch's ``chunk``: pieces of size ``ceil(n / chunks)`` along ``dim``, the last
    smaller; so there may be *fewer* than ``chunks`` pieces (``torch.chunk``). A
    size-0 axis gives ``chunks`` empty pieces. Returns a tuple."""
    x = as_operand("chunk", x)
    if x.ndim == 0:
        raise ValueError("chunk: cannot chunk a 0-d tensor")
    if not isinstance(chunks, (int, np.integer)) or chunks <= 0:
        raise ValueError(f"chunk: chunks must be a positive int, got {chunks!r}")
    ax = _axis("chunk", dim, x)
    n = x.shape[ax]
    if n == 0:
        return tuple(_pieces(x, ax, [0] * (chunks + 1)))
    size = math.ceil(n / chunks)
    return tuple(_pieces(x, ax, list(range(0, n, size)) + [n]))


def split_sizes(x, split_size_or_sections, dim=0, *, axis=None):
    """PyTorch's ``torch.split`` semantics (the method ``x.split``): an int is the *size*
    of each piece (the last may be smaller), a list gives every piece's size
    (they must add up to the axis). Returns a tuple.

    Raises TypeError for ``axis=``: that keyword belongs to numpy's
    ``np.split(x, sections, axis=)``, whose int means a number of *sections*;
    call ``tinygrad_edu.split`` for numpy's meaning.
    """
    if axis is not None:
        raise TypeError(
            "Tensor.split follows torch.split (piece sizes, dim=); for numpy's split into "
            f"sections/indices call tinygrad_edu.split(x, {split_size_or_sections!r}, axis={axis})")
    x = as_operand("split", x)
    if x.ndim == 0:
        raise ValueError("split: cannot split a 0-d tensor")
    ax = _axis("split", dim, x)
    n = x.shape[ax]
    s = split_size_or_sections
    if np.ndim(s) == 0:
        s = int(s)
        if s < 0 or (s == 0 and n):
            raise ValueError(f"split: split_size must be positive, got {s} (axis of size {n})")
        bounds = list(range(0, n, s)) + [n] if n else [0, 0]
        return tuple(_pieces(x, ax, bounds))
    sizes = [int(v) for v in s]
    if any(v < 0 for v in sizes) or sum(sizes) != n:
        raise ValueError(f"split: sizes {sizes} must be non-negative and add up to {n}, the size "
                         f"of dim {ax} (tensor of shape {x.shape})")
    return tuple(_pieces(x, ax, [0, *np.cumsum(sizes).tolist()]))


def unbind(x, dim=0):
    """The slices of ``x`` along ``dim``, that axis removed (``torch.unbind``; a tuple)."""
    x = as_operand("unbind", x)
    ax = _axis("unbind", dim, x)
    pre = (slice(None),) * ax
    return tuple(getitem(x, pre + (i,)) for i in range(x.shape[ax]))


NUMPY_FUNCTIONS = {
    np.atleast_1d: atleast_1d,
    np.atleast_2d: atleast_2d,
    np.atleast_3d: atleast_3d,
    np.vstack: vstack,
    np.hstack: hstack,
    np.dstack: dstack,
    np.column_stack: column_stack,
    np.split: split,
    np.array_split: array_split,
    np.hsplit: hsplit,
    np.vsplit: vsplit,
    np.dsplit: dsplit,
}
with warnings.catch_warnings():  # np.row_stack: deprecated in numpy 2.0, may be gone later
    warnings.simplefilter("ignore", DeprecationWarning)
    _np_row_stack = getattr(np, "row_stack", None)
if _np_row_stack is not None:
    NUMPY_FUNCTIONS[_np_row_stack] = row_stack

TENSOR_METHODS = {
    "split": split_sizes,
    "chunk": chunk,
    "unbind": unbind,
    "tensor_split": tensor_split,
}
