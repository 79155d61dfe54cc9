"""Gathering and scattering by index: numpy's take, take_along_axis, put_along_axis
(out of place) and PyTorch's gather, scatter, scatter_add, index_select, index_add,
narrow and masked_fill.

Every one is an integer-array index into the tensor, so they are built on
the indexing ops of ``shape.py``: a gather is ``x[idx]`` (gradient: added
back at ``idx``, so a repeated index accumulates), a scatter is the
out-of-place ``setitem`` (gradient to the overwritten input: zero where it
was overwritten; to the source: the gradient at the places it was written)
and a scatter-add is ``index_add`` (gradient to the source: ``g[idx]``).
Second derivatives come from the same adjoint pairs.

``idx`` for "along an axis" ops is numpy's fancy-index tuple: the index
array on ``dim`` and ``arange`` on every other axis, shaped like the index,
so ``out[i][j][k] = x[i][index[i][j][k]][k]`` for ``dim=1`` (PyTorch's
gather, which lets ``index`` be smaller than ``x`` off ``dim``).
"""
from __future__ import annotations

import numpy as np
from numpy.lib.array_utils import normalize_axis_index

from .._mode import guard
from ..tensor import Tensor
from ._common import as_operand, axis_error, describe
from .elementwise import where
from .shape import getitem, index_add as _index_add_at, reshape, setitem

__all__ = ["take", "take_along_axis", "put_along_axis", "gather", "scatter", "scatter_add",
           "index_select", "index_add", "narrow", "masked_fill"]
from ._common import asarray as _asarray


def _axis(op, axis, x):
    try:
        return normalize_axis_index(axis, x.ndim)
    except (ValueError, TypeError) as err:
        raise axis_error(op, axis, x.shape, err) from None


def _int_index(op, index):
    idx = _asarray(index.data if isinstance(index, Tensor) else index)
    if idx.dtype.kind not in "iu":
        if idx.size == 0 and idx.dtype.kind == "f":  # _asarray([]) is float64
            return idx.astype(np.intp)
        raise TypeError(f"{op}: index must hold integers, got {describe(index)}")
    return idx


def _check_range(op, idx, n, ax, shape, allow_negative):
    lo = -n if allow_negative else 0
    # guard(): a jit recording logs the range test, which each replay rechecks
    if idx.size and (guard(idx.min() < lo) or guard(idx.max() >= n)):
        idx = np.ndarray.view(idx, np.ndarray)  # about to raise: plain values for the message
        bad = idx[(idx < lo) | (idx >= n)].flat[0]
        raise IndexError(f"{op}: index {bad} is out of range for dim {ax} of size {n} "
                         f"(tensor of shape {shape}; valid indices are {lo}..{n - 1})")


def _along_axis_index(idx, ax, shape):
    """numpy's fancy-index tuple for "``idx`` along axis ``ax``": ``arange(shape[d])``
    shaped to broadcast on every other axis ``d``."""
    nd = len(shape)
    return tuple(idx if d == ax else np.arange(n).reshape((1,) * d + (n,) + (1,) * (nd - d - 1))
                 for d, n in enumerate(shape))


# ---- numpy ------------------------------------------------------------------------
def take(x, indices, axis=None, *, mode="raise", out=None):
    """Elements of ``x`` at ``indices`` (``np.take``): along ``axis``, or in the flattened
    tensor when ``axis`` is None (PyTorch's ``torch.take``, the same). Negative
    indices count from the end. Shape: ``x.shape[:axis] + indices.shape +
    x.shape[axis+1:]``. A repeated index gets the sum of its gradients.

    Raises IndexError naming the index and shape when it is out of range.
    """
    x = as_operand("take", x)
    if out is not None:
        raise TypeError("take: out= is not supported on Tensors (the result is a new Tensor)")
    if mode != "raise":
        raise ValueError(f"take: only mode='raise' is supported, got {mode!r}")
    idx = _int_index("take", indices)
    if axis is None:
        x, ax = reshape(x, (-1,)), 0
    else:
        ax = _axis("take", axis, x)
    _check_range("take", idx, x.shape[ax], ax, x.shape, allow_negative=True)
    return getitem(x, (slice(None),) * ax + (idx,))


def _along_checked(op, x, indices, axis, torch_rules):
    """The fancy index for ``indices`` along ``axis`` of ``x``, after PyTorch's shape rules
    (``index`` no larger than ``x`` off ``axis``; its shape is the result's) or numpy's
    (``index`` broadcasts against ``x`` off ``axis``), and the range check."""
    idx = _int_index(op, indices)
    if idx.ndim != x.ndim:
        raise ValueError(f"{op}: index must have as many dimensions as the tensor: index "
                         f"shape {idx.shape}, tensor shape {x.shape}")
    ax = _axis(op, axis, x)
    if torch_rules:
        if any(i > n for d, (i, n) in enumerate(zip(idx.shape, x.shape)) if d != ax):
            raise ValueError(f"{op}: index of shape {idx.shape} is larger than the tensor of shape "
                             f"{x.shape} off dim {ax}")
        fancy = _along_axis_index(idx, ax, idx.shape)
    else:
        fancy = _along_axis_index(idx, ax, x.shape)
        try:
            np.broadcast_shapes(*(p.shape for p in fancy))
        except ValueError:
            raise ValueError(f"{op}: index of shape {idx.shape} does not broadcast against the "
                             f"tensor of shape {x.shape} off axis {ax}") from None
    _check_range(op, idx, x.shape[ax], ax, x.shape, allow_negative=not torch_rules)
    return fancy, ax


def take_along_axis(x, indices, axis=-1):
    """``out[..., i, ...] = x[..., indices[..., i, ...], ...]`` along ``axis``
    (``np.take_along_axis``; ``indices`` broadcasts against ``x`` off ``axis``).
    ``axis=None`` works on the flattened tensor. Negative indices count from the end."""
    x = as_operand("take_along_axis", x)
    if axis is None:
        x, axis = reshape(x, (-1,)), 0
    fancy, _ = _along_checked("take_along_axis", x, indices, axis, torch_rules=False)
    return getitem(x, fancy)


def put_along_axis(x, indices, values, axis):
    """A copy of ``x`` with ``values`` written at ``indices`` along ``axis``: the
    out-of-place form of ``np.put_along_axis`` (which writes in place and returns
    None; ``np.put_along_axis`` on a Tensor raises TypeError pointing here).

    ``values`` broadcasts to the index's shape. Differentiable in ``x`` (zero
    gradient where overwritten) and in ``values``; where an index repeats, one
    write survives (the last) and only it receives the gradient.
    """
    x = as_operand("put_along_axis", x)
    if axis is None:
        return reshape(put_along_axis(reshape(x, (-1,)), indices, values, 0), x.shape)
    fancy, _ = _along_checked("put_along_axis", x, indices, axis, torch_rules=False)
    return setitem(x, fancy, values)


def _np_put_along_axis(arr, indices, values, axis):
    raise TypeError("np.put_along_axis writes in place and returns None, which would break the "
                    "graph of a Tensor; use tinygrad_edu.put_along_axis(x, indices, values, axis), "
                    "which returns a new Tensor")


# ---- PyTorch ----------------------------------------------------------------------
def gather(x, dim, index):
    """PyTorch's ``gather``: ``out[i][j][k] = x[i][index[i][j][k]][k]`` for ``dim=1``.

    ``index`` has ``x``'s number of dimensions and is no larger than ``x`` off
    ``dim``; the result has ``index``'s shape. Indices must lie in ``0..n-1``
    (PyTorch raises for negative ones too). A repeated index gets the sum of its
    gradients.

    Raises IndexError naming the index, dim and shape when out of range;
    ValueError when the shapes do not fit.
    """
    x = as_operand("gather", x)
    fancy, _ = _along_checked("gather", x, index, dim, torch_rules=True)
    return getitem(x, fancy)


def _src_for(op, src, idx_shape):
    """``src`` cut to the index's shape (PyTorch reads ``src[i][j]`` only where an index is)."""
    if not isinstance(src, Tensor) and np.ndim(src) == 0:
        return src
    src = as_operand(op, src)
    if src.ndim == 0:
        return src
    if src.ndim != len(idx_shape) or any(i > n for i, n in zip(idx_shape, src.shape)):
        raise ValueError(f"{op}: src of shape {src.shape} must have the index's dimensions and be at "
                         f"least as large (index shape {idx_shape})")
    if src.shape != idx_shape:
        src = getitem(src, tuple(slice(0, n) for n in idx_shape))
    return src


def scatter(x, dim, index, src=None, *, value=None, reduce=None):
    """PyTorch's out-of-place ``scatter``: a copy of ``x`` with ``x[i][index[i][j]] = src[i][j]``
    for ``dim=0`` (``src`` a Tensor at least as large as ``index``, or a number;
    ``value=`` is PyTorch's name for the number).

    Differentiable in ``x`` (zero gradient where overwritten) and ``src``. When
    an index repeats, PyTorch leaves unspecified which write survives
    (nondeterministic); here the last one in C order, and only it receives the
    gradient. ``reduce=`` is not supported (use :func:`scatter_add`).
    """
    x = as_operand("scatter", x)
    if reduce is not None:
        raise ValueError(f"scatter: reduce={reduce!r} is not supported; use scatter_add for 'add'")
    if (src is None) == (value is None):
        raise TypeError("scatter: pass exactly one of src and value")
    fancy, _ = _along_checked("scatter", x, index, dim, torch_rules=True)
    src = _src_for("scatter", value if src is None else src, np.shape(_int_index("scatter", index)))
    return setitem(x, fancy, src)


def scatter_add(x, dim, index, src):
    """PyTorch's out-of-place ``scatter_add``: ``out = x`` then
    ``out[i][index[i][j]] += src[i][j]`` for ``dim=0``; repeated indices add up.

    Differentiable in ``x`` (gradient ``g``) and ``src`` (``g`` gathered at the index).
    """
    x = as_operand("scatter_add", x)
    ishape = np.shape(_int_index("scatter_add", index))
    fancy, _ = _along_checked("scatter_add", x, index, dim, torch_rules=True)
    src = as_operand("scatter_add", src)
    src = _src_for("scatter_add", src, ishape)
    if src.ndim == 0:
        raise ValueError("scatter_add: src must be a tensor with the index's dimensions, got a 0-d one")
    return x + _index_add_at(src, fancy, x.shape)


def index_select(x, dim, index):
    """PyTorch's ``index_select``: the slices of ``x`` at the 1-D ``index`` along ``dim``.

    Indices must lie in ``0..n-1`` (PyTorch's rule); a repeated index gets the sum
    of its gradients.
    """
    x = as_operand("index_select", x)
    idx = _int_index("index_select", index)
    if idx.ndim > 1:
        raise ValueError(f"index_select: index must be 1-D, got shape {idx.shape}")
    ax = _axis("index_select", dim, x) if x.ndim else 0
    if x.ndim == 0:
        x = reshape(x, (1,))
        _check_range("index_select", idx, 1, 0, (), allow_negative=False)
        return reshape(getitem(x, idx.reshape(-1)), idx.shape)
    _check_range("index_select", idx, x.shape[ax], ax, x.shape, allow_negative=False)
    return getitem(x, (slice(None),) * ax + (idx.reshape(-1),))


def index_add(x, dim, index, source, *, alpha=1):
    """PyTorch's out-of-place ``index_add``: ``out = x`` then
    ``out[..., index[i], ...] += alpha * source[..., i, ...]`` along ``dim``;
    repeated indices add up. Differentiable in ``x`` and ``source``."""
    x = as_operand("index_add", x)
    idx = _int_index("index_add", index)
    ax = _axis("index_add", dim, x)
    if idx.ndim != 1:
        raise ValueError(f"index_add: index must be 1-D, got shape {idx.shape}")
    source = as_operand("index_add", source)
    want = x.shape[:ax] + idx.shape + x.shape[ax + 1:]
    if source.shape != want:
        raise ValueError(f"index_add: source of shape {source.shape} does not fit: expected {want} "
                         f"(tensor of shape {x.shape}, index of length {idx.size} on dim {ax})")
    _check_range("index_add", idx, x.shape[ax], ax, x.shape, allow_negative=False)
    if alpha != 1:
        source = source * alpha
    return x + _index_add_at(source, (slice(None),) * ax + (idx,), x.shape)


def narrow(x, dim, start, length):
    """PyTorch's ``narrow``: ``length`` elements of ``dim`` from ``start`` (negative
    ``start`` counts from the end). A view; raises IndexError naming the shape
    when the range does not fit."""
    x = as_operand("narrow", x)
    ax = _axis("narrow", dim, x)
    n = x.shape[ax]
    start, length = int(start), int(length)
    if start < 0:
        start += n
    if not 0 <= start <= n or length < 0 or start + length > n:
        raise IndexError(f"narrow: start {start} and length {length} do not fit dim {ax} of size "
                         f"{n} (tensor of shape {x.shape})")
    return getitem(x, (slice(None),) * ax + (slice(start, start + length),))


def masked_fill(x, mask, value):
    """PyTorch's out-of-place ``masked_fill``: ``value`` where the bool ``mask`` is True,
    ``x`` elsewhere (``mask`` broadcasts, and so does the result, as PyTorch's).

    ``value`` is a number or a 0-d Tensor (then it gets the summed gradient of
    the filled places). The gradient to ``x`` is a select: 0 where filled, never
    ``g * 0`` (so an infinite ``g`` cannot make nan).
    """
    x = as_operand("masked_fill", x)
    m = _asarray(mask.data if isinstance(mask, Tensor) else mask)
    if m.dtype != bool:
        raise TypeError(f"masked_fill: mask must be bool, got dtype {m.dtype}")
    if isinstance(value, Tensor) and value.ndim:
        raise ValueError(f"masked_fill: value must be a number or a 0-d Tensor, got shape {value.shape}")
    try:
        np.broadcast_shapes(m.shape, x.shape)
    except ValueError:
        raise ValueError(f"masked_fill: mask of shape {m.shape} does not broadcast with the tensor "
                         f"of shape {x.shape}") from None
    if not isinstance(value, Tensor):
        value = _asarray(value, dtype=x.dtype)
    return where(m, value, x)


NUMPY_FUNCTIONS = {
    np.take: lambda a, indices, axis=None, out=None, mode="raise": take(a, indices, axis, mode=mode, out=out),
    np.take_along_axis: lambda arr, indices, axis=-1: take_along_axis(arr, indices, axis),
    np.put_along_axis: _np_put_along_axis,
}

TENSOR_METHODS = {
    "take": take,
    "gather": gather,
    "scatter": scatter,
    "scatter_add": scatter_add,
    "index_select": index_select,
    "index_add": index_add,
    "narrow": narrow,
    "masked_fill": masked_fill,
}
