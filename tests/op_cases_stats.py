"""Harness cases for the scan, stats and sorting families (ops/scan.py, stats.py, sorting.py).

prod and cumprod are polynomials, so finite differences are exact enough at
exact zeros too: their cases put exact zeros (one, two or more per slice)
into the input. Selections (sort, topk, cummax, median, quantile) use
gapped values, so no tie sits within a finite-difference step. NaN-skipping
reductions get NaN constants baked in (``where(mask, nan, x)``) while each
slice keeps at least one number.
"""
from __future__ import annotations

import numpy as np
from hypothesis import strategies as st

import tinygrad_edu as tg
from op_cases import axis_arg, case, const, gapped_leaves, leaf, small_shape
from tinygrad_edu.testing import arrays


def _mask(draw, shape):
    return draw(arrays(shape, np.bool_, elements=st.booleans()))


def _with_zeros(draw, shape, dtype):
    x = leaf(draw, shape, dtype)
    x.data[_mask(draw, shape)] = 0.0  # exact zeros, often several per slice
    return x


def _axis_int(draw, ndim):
    return draw(st.integers(-ndim, ndim - 1))


# ---- scan --------------------------------------------------------------------------------
@case("prod (exact zeros)")
def _prod(draw, dtype):
    shape = small_shape(draw)
    axis = draw(axis_arg(len(shape)))
    keep = draw(st.booleans())
    x = _with_zeros(draw, shape, dtype) if draw(st.booleans()) else leaf(draw, shape, dtype)
    how = draw(st.sampled_from(["tg", "np", "method", "dim"]))
    fns = {"tg": lambda a: tg.prod(a, axis, keepdims=keep),
           "np": lambda a: np.prod(a, axis=axis, keepdims=keep),
           "method": lambda a: a.prod(axis=axis, keepdims=keep),
           "dim": lambda a: tg.prod(a, dim=axis, keepdim=keep)}
    return fns[how], (x,)


@case("cumsum")
def _cumsum(draw, dtype):
    shape = small_shape(draw)
    axis = None if not shape or draw(st.booleans()) else _axis_int(draw, len(shape))
    how = draw(st.sampled_from(["tg", "np", "method", "dim"]))
    if how == "dim" and axis is None:
        how = "tg"
    fns = {"tg": lambda a: tg.cumsum(a, axis), "np": lambda a: np.cumsum(a, axis=axis),
           "method": lambda a: a.cumsum(axis), "dim": lambda a: tg.cumsum(a, dim=axis)}
    return fns[how], (leaf(draw, shape, dtype),)


@case("cumprod (exact zeros)")
def _cumprod(draw, dtype):
    shape = small_shape(draw)
    axis = None if not shape or draw(st.booleans()) else _axis_int(draw, len(shape))
    x = _with_zeros(draw, shape, dtype) if draw(st.booleans()) else leaf(draw, shape, dtype)
    how = draw(st.sampled_from(["tg", "np", "method"]))
    fns = {"tg": lambda a: tg.cumprod(a, axis), "np": lambda a: np.cumprod(a, axis=axis),
           "method": lambda a: a.cumprod(axis)}
    return fns[how], (x,)


@case("cumprod (long slice: several doubling steps)")
def _cumprod_long(draw, dtype):
    n = draw(st.integers(5, 11))
    x = leaf(draw, (2, n), dtype, min_value=-1.3, max_value=1.3)
    if draw(st.booleans()):
        x.data[:, draw(st.integers(0, n - 1))] = 0.0
    return (lambda a: tg.cumprod(a, axis=1)), (x,)


@case("diff")
def _diff(draw, dtype):
    shape = small_shape(draw, min_dims=1)
    ax = _axis_int(draw, len(shape))
    n = draw(st.integers(0, 3))
    edge = list(shape)
    edge[ax] = draw(st.integers(0, 2))
    kind = draw(st.sampled_from(["none", "scalar", "leaf", "array"]))
    x = leaf(draw, shape, dtype)
    one_half = np.dtype(dtype).type(1.5)  # numpy: a Python float would widen float32 to float64
    if kind == "leaf":
        p = leaf(draw, tuple(edge), dtype)
        return (lambda a, b: tg.diff(a, n, ax, prepend=b, append=one_half)), (x, p)
    if kind == "array":
        c = const(draw, tuple(edge), dtype)
        return (lambda a: np.diff(a, n, axis=ax, append=c)), (x,)
    if kind == "scalar":
        return (lambda a: a.diff(n, dim=ax, prepend=-one_half)), (x,)
    return (lambda a: np.diff(a, n, axis=ax)), (x,)


def _cum_extreme_case(name, fn):
    @case(name)
    def build(draw, dtype):
        shape = small_shape(draw)
        dim = _axis_int(draw, len(shape)) if shape else 0
        _, (x,) = gapped_leaves(draw, [shape], dtype)
        return (lambda a: fn(a, dim).values), (x,)


_cum_extreme_case("cummax", tg.cummax)
_cum_extreme_case("cummin", tg.cummin)
_cum_extreme_case("Tensor.cummax", lambda a, d: a.cummax(d))


# ---- sorting -------------------------------------------------------------------------------
@case("sort")
def _sort(draw, dtype):
    shape = small_shape(draw, min_dims=1)
    ax = _axis_int(draw, len(shape))
    _, (x,) = gapped_leaves(draw, [shape], dtype)
    how = draw(st.sampled_from(["tg", "np", "np None", "torch dim", "torch descending",
                                "method"]))
    desc = draw(st.booleans())
    fns = {"tg": lambda a: tg.sort(a, ax), "np": lambda a: np.sort(a, axis=ax),
           "np None": lambda a: np.sort(a, axis=None),
           "torch dim": lambda a: tg.sort(a, dim=ax).values,
           "torch descending": lambda a: tg.sort(a, dim=ax, descending=True).values,
           "method": lambda a: a.sort(dim=ax, descending=desc)[0]}
    return fns[how], (x,)


@case("topk")
def _topk(draw, dtype):
    shape = small_shape(draw, min_dims=1)
    ax = _axis_int(draw, len(shape))
    k = draw(st.integers(0, shape[ax]))
    largest = draw(st.booleans())
    _, (x,) = gapped_leaves(draw, [shape], dtype)
    if draw(st.booleans()):
        return (lambda a: a.topk(k, ax, largest).values), (x,)
    return (lambda a: tg.topk(a, k, dim=ax, largest=largest)[0]), (x,)


# ---- stats ---------------------------------------------------------------------------------
def _nan_mask(draw, shape):
    """NaN positions that leave every slice along every axis a number."""
    mask = _mask(draw, shape)
    if mask.size:
        mask.reshape(-1)[0] = False
        for ax in range(len(shape)):  # the first element of every slice stays a number
            idx = [slice(None)] * len(shape)
            idx[ax] = 0
            mask[tuple(idx)] = False
    return mask


def _baked(mask, fn):
    return lambda a: fn(tg.where(mask, np.nan, a))


@case("nansum (NaN constants)")
def _nansum(draw, dtype):
    shape = small_shape(draw)
    axis = draw(axis_arg(len(shape)))
    keep = draw(st.booleans())
    x, mask = leaf(draw, shape, dtype), _nan_mask(draw, shape)
    if draw(st.booleans()):
        return _baked(mask, lambda a: np.nansum(a, axis=axis, keepdims=keep)), (x,)
    return _baked(mask, lambda a: a.nansum(axis, keepdims=keep)), (x,)


@case("nanmean (NaN constants)")
def _nanmean(draw, dtype):
    shape = small_shape(draw, min_side=1)
    axis = draw(axis_arg(len(shape), allow_tuple=False))
    keep = draw(st.booleans())
    x, mask = leaf(draw, shape, dtype), _nan_mask(draw, shape)
    if axis is not None and draw(st.booleans()):
        return _baked(mask, lambda a: tg.nanmean(a, dim=axis, keepdim=keep)), (x,)
    return _baked(mask, lambda a: np.nanmean(a, axis=axis, keepdims=keep)), (x,)


@case("average")
def _average(draw, dtype):
    shape = small_shape(draw, min_dims=1, min_side=1)
    ax = _axis_int(draw, len(shape))
    x = leaf(draw, shape, dtype)
    kind = draw(st.sampled_from(["none", "const full", "leaf full", "leaf 1-d", "returned"]))
    pos = dict(min_value=0.2, max_value=2.0)
    if kind == "none":
        return (lambda a: np.average(a, axis=ax)), (x,)
    if kind == "const full":
        w = const(draw, shape, dtype, **pos)
        return (lambda a: np.average(a, weights=w)), (x,)
    if kind == "leaf full":
        w = leaf(draw, shape, dtype, **pos)
        return (lambda a, b: tg.average(a, ax, weights=b, keepdims=True)), (x, w)
    w = leaf(draw, (shape[ax],), dtype, **pos)
    if kind == "returned":
        return (lambda a, b: tg.average(a, ax, b, returned=True)), (x, w)
    return (lambda a, b: np.average(a, axis=ax, weights=b)), (x, w)


@case("ptp")
def _ptp(draw, dtype):
    shape = small_shape(draw, min_side=1)
    axis = draw(axis_arg(len(shape)))
    _, (x,) = gapped_leaves(draw, [shape], dtype)
    return (lambda a: np.ptp(a, axis=axis, keepdims=True)), (x,)


@case("median")
def _median(draw, dtype):
    shape = small_shape(draw, min_side=1)
    axis = draw(axis_arg(len(shape)))
    keep = draw(st.booleans())
    _, (x,) = gapped_leaves(draw, [shape], dtype)
    if draw(st.booleans()):
        return (lambda a: np.median(a, axis=axis, keepdims=keep)), (x,)
    return (lambda a: tg.median(a, axis, keepdims=keep)), (x,)


@case("nanmedian (NaN constants)")
def _nanmedian(draw, dtype):
    shape = small_shape(draw, min_side=1)
    axis = draw(axis_arg(len(shape), allow_tuple=False))
    _, (x,) = gapped_leaves(draw, [shape], dtype)
    mask = _nan_mask(draw, shape)
    return _baked(mask, lambda a: np.nanmedian(a, axis=axis)), (x,)


@case("quantile")
def _quantile(draw, dtype):
    shape = small_shape(draw, min_side=1)
    axis = draw(axis_arg(len(shape)))
    _, (x,) = gapped_leaves(draw, [shape], dtype)
    q = draw(st.sampled_from([0.0, 0.25, 0.3, 0.5, 0.9, 1.0, [0.1, 0.6], [[0.5], [0.95]]]))
    if isinstance(q, list):  # an array q in x's dtype; a Python float is weak (NEP 50)
        q = np.array(q, dtype=dtype)
    method = draw(st.sampled_from(["linear", "linear", "lower", "higher", "nearest", "midpoint"]))
    how = draw(st.sampled_from(["tg", "np", "percentile", "method"]))
    fns = {"tg": lambda a: tg.quantile(a, q, axis, method=method),
           "np": lambda a: np.quantile(a, q, axis=axis, method=method, keepdims=True),
           "percentile": lambda a: np.percentile(a, q * 100, axis=axis, method=method),
           "method": lambda a: a.quantile(q, axis, interpolation=method)}
    if how == "method" and isinstance(axis, tuple):
        how = "tg"
    return fns[how], (x,)


@case("put_along (adjoint of take_along)")
def _put_along(draw, dtype):
    from tinygrad_edu.ops.sorting import put_along

    shape = small_shape(draw, min_dims=1)
    ax = draw(st.integers(0, len(shape) - 1))
    k = draw(st.integers(0, 3))
    picked = list(shape)
    picked[ax] = k
    if draw(st.booleans()) and k <= shape[ax]:  # distinct positions: part of a permutation
        idx = np.argsort(draw(arrays(shape, np.float64, unique=True)), axis=ax)
        idx = idx[(slice(None),) * ax + (slice(0, k),)]
        unique = True
    else:  # repeats allowed: the gradients add up
        idx = draw(arrays(tuple(picked), np.int64, elements=st.integers(0, max(shape[ax] - 1, 0))))
        unique = False
    if shape[ax] == 0:
        picked[ax] = 0
        idx = np.zeros(tuple(picked), np.int64)
    g = leaf(draw, tuple(picked), dtype)
    return (lambda a: put_along(a, (idx, ax, unique), shape)), (g,)
