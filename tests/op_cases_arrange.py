"""Harness cases for the families arrange, join and gather (and PyTorch's F.pad / padding layers).

These ops copy, move or select elements, so every value is smooth: no gaps
needed. Shapes include size-0 and size-1 dims where the op allows them;
index draws include repeated and (numpy ops) negative indices.
"""
from __future__ import annotations

import math

import numpy as np
from hypothesis import strategies as st

import tinygrad_edu as tg
from tinygrad_edu.nn import padding as P
from tinygrad_edu.nn._pad_functional import pad as F_pad

from op_cases import case, leaf, small_shape, axis_arg


def _ints(draw, shape, lo, hi):
    """An int64 array of ``shape`` with values in ``lo..hi`` (repeats likely: small ranges)."""
    n = math.prod(shape)
    vals = draw(st.lists(st.integers(lo, hi), min_size=n, max_size=n))
    return np.array(vals, dtype=np.int64).reshape(shape)


def _how(draw, fns):
    """One of several spellings of the same op: ``{name: fn}``."""
    return fns[draw(st.sampled_from(sorted(fns)))]


# ---- arrange ---------------------------------------------------------------------------
@case("ravel")
def _ravel(draw, dtype):
    x = leaf(draw, small_shape(draw), dtype)
    return _how(draw, {"tg": tg.ravel, "np": np.ravel, "method": lambda a: a.ravel()}), (x,)


@case("moveaxis")
def _moveaxis(draw, dtype):
    shape = small_shape(draw, min_dims=1)
    n = len(shape)
    k = draw(st.integers(1, n))
    src = draw(st.permutations(range(n)))[:k]
    dst = draw(st.permutations(range(-n, 0)))[:k]
    return _how(draw, {"tg": lambda a: tg.moveaxis(a, src, dst),
                       "np": lambda a: np.moveaxis(a, src, dst),
                       "movedim int": lambda a: a.movedim(src[0], dst[0])}), (leaf(draw, shape, dtype),)


@case("rollaxis")
def _rollaxis(draw, dtype):
    shape = small_shape(draw, min_dims=1)
    n = len(shape)
    axis, start = draw(st.integers(-n, n - 1)), draw(st.integers(-n, n))
    return (lambda a: np.rollaxis(a, axis, start)), (leaf(draw, shape, dtype),)


@case("flip")
def _flip(draw, dtype):
    shape = small_shape(draw)
    axis = draw(axis_arg(len(shape)))
    fns = {"np": lambda a: np.flip(a, axis), "tg": lambda a: tg.flip(a, axis=axis)}
    if axis is not None:
        fns["torch dims"] = lambda a: a.flip(dims=axis)
    if isinstance(axis, tuple) and axis:
        fns["torch *dims"] = lambda a: a.flip(*axis)
    return _how(draw, fns), (leaf(draw, shape, dtype),)


@case("fliplr / flipud")
def _fliplr(draw, dtype):
    shape = small_shape(draw, min_dims=2)
    return _how(draw, {"lr": np.fliplr, "ud": np.flipud, "tg lr": tg.fliplr}), (leaf(draw, shape, dtype),)


@case("rot90")
def _rot90(draw, dtype):
    shape = small_shape(draw, min_dims=2)
    n = len(shape)
    a0, a1 = draw(st.lists(st.integers(0, n - 1), min_size=2, max_size=2, unique=True))
    axes = (a0 - n if draw(st.booleans()) else a0, a1)
    k = draw(st.integers(-5, 5))
    return _how(draw, {"np": lambda a: np.rot90(a, k, axes),
                       "torch dims": lambda a: tg.rot90(a, k, dims=axes)}), (leaf(draw, shape, dtype),)


@case("roll")
def _roll(draw, dtype):
    shape = small_shape(draw)
    n = len(shape)
    if n == 0 or draw(st.booleans()):
        shift, axis = draw(st.integers(-7, 7)), None
    else:
        k = draw(st.integers(1, 3))
        axis = tuple(draw(st.lists(st.integers(-n, n - 1), min_size=k, max_size=k)))
        shift = tuple(draw(st.lists(st.integers(-7, 7), min_size=k, max_size=k)))
        if k == 1 and draw(st.booleans()):
            axis, shift = axis[0], shift[0]
    return _how(draw, {"np": lambda a: np.roll(a, shift, axis),
                       "torch": lambda a: a.roll(shift, dims=axis)}), (leaf(draw, shape, dtype),)


@case("tile")
def _tile(draw, dtype):
    shape = small_shape(draw)
    reps = tuple(draw(st.lists(st.integers(0, 3), max_size=4)))
    fns = {"np": lambda a: np.tile(a, reps), "method": lambda a: a.tile(reps)}
    if len(reps) == 1:
        fns["np int"] = lambda a: np.tile(a, reps[0])
    return _how(draw, fns), (leaf(draw, shape, dtype),)


@case("repeat (numpy)")
def _repeat(draw, dtype):
    shape = small_shape(draw)
    axis = None if not shape or draw(st.booleans()) else draw(st.integers(-len(shape), len(shape) - 1))
    n = math.prod(shape) if axis is None else shape[axis]
    if draw(st.booleans()):
        r = draw(st.integers(0, 3))
    else:
        r = _ints(draw, (draw(st.sampled_from([n, 1])),), 0, 3)
    fns = {"np": lambda a: np.repeat(a, r, axis), "tg": lambda a: tg.repeat(a, r, axis),
           "repeat_interleave": lambda a: a.repeat_interleave(r, axis)}
    if axis is not None:
        fns["method axis="] = lambda a: a.repeat(r, axis=axis)
    return _how(draw, fns), (leaf(draw, shape, dtype),)


@case("pad (numpy modes)")
def _np_pad(draw, dtype):
    shape = small_shape(draw)
    mode = draw(st.sampled_from(["constant", "edge", "reflect", "symmetric", "wrap"]))
    pairs = [(draw(st.integers(0, 4)), draw(st.integers(0, 4))) if n or mode == "constant"
             else (0, 0) for n in shape]
    form = draw(st.sampled_from(["pairs", "one pair", "int"])) if shape else "int"
    if form == "one pair" and all(n or mode == "constant" for n in shape):
        width = pairs[0] if pairs else (1, 2)
    elif form == "int" and all(n or mode == "constant" for n in shape):
        width = draw(st.integers(0, 4))
    else:
        width = tuple(pairs)
    kw = {"constant_values": draw(st.sampled_from([0, 1.5, ((1, 2),) * len(shape) or 0]))} \
        if mode == "constant" else {}
    return (lambda a: np.pad(a, width, mode=mode, **kw)), (leaf(draw, shape, dtype),)


@case("F.pad (PyTorch modes) and padding layers")
def _torch_pad(draw, dtype):
    mode = draw(st.sampled_from(["constant", "reflect", "replicate", "circular"]))
    k = draw(st.integers(1, 2))
    lead = draw(st.integers(1, 2))
    shape = tuple(draw(st.integers(1, 3)) for _ in range(lead)) + \
        tuple(draw(st.integers(1 if mode != "constant" else 0, 4)) for _ in range(k))
    pad = []
    for n in reversed(shape[-k:]):
        hi = {"constant": 3, "reflect": n - 1, "replicate": 3, "circular": n}[mode]
        lo = -(n // 2) if mode == "constant" else 0
        pad += [draw(st.integers(lo, hi)), draw(st.integers(lo, hi))]
    pad = tuple(pad)
    if draw(st.booleans()):
        return (lambda a: F_pad(a, pad, mode)), (leaf(draw, shape, dtype),)
    if mode == "constant":
        layer = P.ConstantPad1d(pad, 0.5) if k == 1 else P.ZeroPad2d(pad)
    else:
        layer = getattr(P, {"reflect": "Reflection", "replicate": "Replication",
                            "circular": "Circular"}[mode] + f"Pad{k}d")(pad)
    return layer, (leaf(draw, shape, dtype),)


@case("tril / triu")
def _tri(draw, dtype):
    shape = small_shape(draw, min_dims=1, max_dims=4)
    k = draw(st.integers(-3, 3))
    return _how(draw, {"np.tril": lambda a: np.tril(a, k), "np.triu": lambda a: np.triu(a, k),
                       "torch tril": lambda a: a.tril(diagonal=k), "tg.triu": lambda a: tg.triu(a, k)}), \
        (leaf(draw, shape, dtype),)


# ---- join --------------------------------------------------------------------------------
@case("vstack / hstack / dstack / column_stack / row_stack")
def _stacks(draw, dtype):
    how = draw(st.sampled_from(["vstack", "hstack", "dstack", "column_stack", "row_stack"]))
    nd = draw(st.integers(0, 3))
    base = list(small_shape(draw, min_dims=nd, max_dims=nd))
    axis = {"vstack": 0, "row_stack": 0, "hstack": 1 if nd > 1 else 0, "dstack": 2,
            "column_stack": 1}[how]
    parts = []
    for _ in range(draw(st.integers(1, 3))):
        s = list(base)
        need = {"vstack": 2, "row_stack": 2, "hstack": 1, "dstack": 3, "column_stack": 2}[how]
        if axis < nd and nd >= need:
            s[axis] = draw(st.integers(0, 3))
        parts.append(leaf(draw, tuple(s), dtype))
    fn = getattr(np, how) if how != "row_stack" else tg.row_stack  # np.row_stack warns
    if draw(st.booleans()):
        fn = getattr(tg, how)
    return (lambda *ts: fn(list(ts))), tuple(parts)


@case("atleast_1d / 2d / 3d")
def _atleast(draw, dtype):
    how = draw(st.sampled_from(["atleast_1d", "atleast_2d", "atleast_3d"]))
    fn = getattr(draw(st.sampled_from([np, tg])), how)
    xs = tuple(leaf(draw, small_shape(draw, max_dims=4), dtype) for _ in range(draw(st.integers(1, 2))))
    return (lambda *ts: fn(*ts)), xs


def _tuple(fn):
    return lambda *ts: tuple(fn(*ts))


@case("split / array_split / h-v-dsplit")
def _split(draw, dtype):
    how = draw(st.sampled_from(["split", "array_split", "hsplit", "vsplit", "dsplit"]))
    need = {"split": 1, "array_split": 1, "hsplit": 1, "vsplit": 2, "dsplit": 3}[how]
    shape = small_shape(draw, min_dims=need, max_dims=max(need, 3))
    ax = {"hsplit": 1 if len(shape) > 1 else 0, "vsplit": 0, "dsplit": 2}.get(how)
    if ax is None:
        ax = draw(st.integers(-len(shape), len(shape) - 1))
    n = shape[ax]
    if draw(st.booleans()):  # indices, unsorted / out of range / negative allowed by numpy
        ios = draw(st.lists(st.integers(-n - 1, n + 1), max_size=3))
    elif how == "array_split":
        ios = draw(st.integers(1, 4))
    else:
        ios = draw(st.sampled_from([d for d in range(1, 5) if n % d == 0]))
    lib = draw(st.sampled_from([np, tg]))
    fn = getattr(lib, how)
    if how in ("split", "array_split"):
        return _tuple(lambda a: fn(a, ios, axis=ax)), (leaf(draw, shape, dtype),)
    return _tuple(lambda a: fn(a, ios)), (leaf(draw, shape, dtype),)


@case("chunk / unbind / tensor_split / Tensor.split (PyTorch)")
def _torch_split(draw, dtype):
    shape = small_shape(draw, min_dims=1)
    n = len(shape)
    dim = draw(st.integers(-n, n - 1))
    size = shape[dim]
    how = draw(st.sampled_from(["chunk", "unbind", "tensor_split", "split size", "split sizes"]))
    if how == "chunk":
        c = draw(st.integers(1, 4))
        return (lambda a: a.chunk(c, dim)), (leaf(draw, shape, dtype),)
    if how == "unbind" and size:  # no pieces: nothing for the harness to check
        return (lambda a: a.unbind(dim)), (leaf(draw, shape, dtype),)
    if how == "tensor_split":
        ios = draw(st.one_of(st.integers(1, 4), st.lists(st.integers(0, size), max_size=3)))
        return (lambda a: tg.tensor_split(a, ios, dim)), (leaf(draw, shape, dtype),)
    if how == "split size":
        s = draw(st.integers(1, 4))
        return (lambda a: a.split(s, dim=dim)), (leaf(draw, shape, dtype),)
    cuts = sorted(draw(st.lists(st.integers(0, size), max_size=3)))
    sizes = np.diff([0, *cuts, size]).tolist()
    return (lambda a: a.split(sizes, dim)), (leaf(draw, shape, dtype),)


# ---- gather ------------------------------------------------------------------------------
@case("take")
def _take(draw, dtype):
    shape = small_shape(draw)
    ishape = small_shape(draw, max_dims=2)
    if draw(st.booleans()) or not shape:
        n, axis = math.prod(shape), None
    else:
        axis = draw(st.integers(-len(shape), len(shape) - 1))
        n = shape[axis]
    if n == 0:
        ishape = ishape[:-1] + (0,) if ishape else (0,)
    idx = _ints(draw, ishape, -n, n - 1) if n else np.zeros(ishape, np.int64)
    return _how(draw, {"np": lambda a: np.take(a, idx, axis), "method": lambda a: a.take(idx, axis),
                       "tg": lambda a: tg.take(a, idx, axis=axis)}), (leaf(draw, shape, dtype),)


def _index_along(draw, shape, ax, lo_neg, torch_rules, min_side=0):
    """An index for ``shape`` along ``ax``: PyTorch's (no larger off ``ax``) or numpy's
    (broadcasting: each other axis 1 or the same)."""
    ax %= len(shape)
    n = shape[ax]
    ishape = []
    for d, m in enumerate(shape):
        if d == ax:
            ishape.append(draw(st.integers(min_side, 3)) if n else 0)
        elif torch_rules:
            ishape.append(draw(st.integers(min_side, m)) if m else 0)
        else:
            ishape.append(draw(st.sampled_from([1, m])))
    ishape = tuple(ishape)
    return _ints(draw, ishape, -n if lo_neg else 0, n - 1) if n else np.zeros(ishape, np.int64)


@case("take_along_axis")
def _take_along(draw, dtype):
    shape = small_shape(draw, min_dims=1)
    ax = draw(st.integers(-len(shape), len(shape) - 1))
    idx = _index_along(draw, shape, ax, True, False)
    return (lambda a: np.take_along_axis(a, idx, ax)), (leaf(draw, shape, dtype),)


@case("put_along_axis (out of place)")
def _put_along(draw, dtype):
    shape = small_shape(draw, min_dims=1)
    ax = draw(st.integers(-len(shape), len(shape) - 1))
    idx = _index_along(draw, shape, ax, True, False)
    target = np.broadcast_shapes(idx.shape, tuple(1 if d == ax % len(shape) else m
                                                  for d, m in enumerate(shape)))
    vshape = tuple(1 if draw(st.booleans()) else m for m in target)
    x, v = leaf(draw, shape, dtype), leaf(draw, vshape, dtype)
    return (lambda a, b: tg.put_along_axis(a, idx, b, ax)), (x, v)


@case("gather (PyTorch)")
def _gather(draw, dtype):
    shape = small_shape(draw, min_dims=1)
    dim = draw(st.integers(-len(shape), len(shape) - 1))
    idx = _index_along(draw, shape, dim, False, True)
    return _how(draw, {"tg": lambda a: tg.gather(a, dim, idx),
                       "method": lambda a: a.gather(dim, idx)}), (leaf(draw, shape, dtype),)


@case("scatter (PyTorch, out of place)")
def _scatter(draw, dtype):
    shape = small_shape(draw, min_dims=1)
    dim = draw(st.integers(-len(shape), len(shape) - 1))
    idx = _index_along(draw, shape, dim, False, True)
    x = leaf(draw, shape, dtype)
    if draw(st.booleans()):
        v = draw(st.sampled_from([0.0, -1.5]))
        return (lambda a: a.scatter(dim, idx, v)), (x,)
    src = leaf(draw, tuple(m + draw(st.integers(0, 1)) for m in idx.shape), dtype)
    return (lambda a, b: tg.scatter(a, dim, idx, b)), (x, src)


@case("scatter_add / index_add (PyTorch)")
def _scatter_add(draw, dtype):
    shape = small_shape(draw, min_dims=1)
    dim = draw(st.integers(-len(shape), len(shape) - 1))
    x = leaf(draw, shape, dtype)
    if draw(st.booleans()):
        idx = _index_along(draw, shape, dim, False, True)
        src = leaf(draw, tuple(m + draw(st.integers(0, 1)) for m in idx.shape), dtype)
        return _how(draw, {"tg": lambda a, b: tg.scatter_add(a, dim, idx, b),
                           "method": lambda a, b: a.scatter_add(dim, idx, b)}), (x, src)
    n = shape[dim]
    k = draw(st.integers(0, 4)) if n else 0
    idx = _ints(draw, (k,), 0, n - 1) if n else np.zeros(0, np.int64)
    sshape = shape[:dim % len(shape)] + (k,) + shape[dim % len(shape) + 1:]
    alpha = draw(st.sampled_from([1, -2.0]))
    return (lambda a, b: a.index_add(dim, idx, b, alpha=alpha)), (x, leaf(draw, sshape, dtype))


@case("index_select / narrow (PyTorch)")
def _index_select(draw, dtype):
    shape = small_shape(draw, min_dims=1)
    dim = draw(st.integers(-len(shape), len(shape) - 1))
    n = shape[dim]
    if draw(st.booleans()):
        idx = _ints(draw, (draw(st.integers(0, 4)) if n else 0,), 0, n - 1) if n else np.zeros(0, np.int64)
        return (lambda a: a.index_select(dim, idx)), (leaf(draw, shape, dtype),)
    start = draw(st.integers(-n, n)) if n else 0
    s = start + n if start < 0 else start
    length = draw(st.integers(0, n - s))
    return (lambda a: tg.narrow(a, dim, start, length)), (leaf(draw, shape, dtype),)


@case("masked_fill (PyTorch)")
def _masked_fill(draw, dtype):
    shape = small_shape(draw)
    drop = draw(st.integers(0, len(shape)))
    mshape = tuple(1 if draw(st.booleans()) else m for m in shape[drop:])
    mask = np.array(draw(st.lists(st.booleans(), min_size=math.prod(mshape),
                                  max_size=math.prod(mshape))), dtype=bool).reshape(mshape)
    x = leaf(draw, shape, dtype)
    if draw(st.booleans()):
        v = leaf(draw, (), dtype)
        return (lambda a, b: a.masked_fill(mask, b)), (x, v)
    return (lambda a: tg.masked_fill(a, mask, -0.75)), (x,)
