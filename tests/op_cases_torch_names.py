"""Harness cases for PyTorch's names of our ops (tinygrad_edu/ops/torch_names.py) and the
PyTorch forms of max/min (``dim=`` -> values and indices, ``max(a, b)``), amax/amin and ``.mT``."""
from __future__ import annotations

import math

import numpy as np
from hypothesis import strategies as st

import tinygrad_edu as tg
from op_cases import case, gapped_leaves, leaf, small_shape


@case("permute")
def _permute(draw, dtype):
    shape = small_shape(draw)
    perm = tuple(draw(st.permutations(range(len(shape)))))
    perm = tuple(p - len(shape) if draw(st.booleans()) else p for p in perm)
    how = draw(st.sampled_from(["dims*", "tuple", "tg"]))
    fns = {"dims*": lambda a: a.permute(*perm), "tuple": lambda a: a.permute(perm),
           "tg": lambda a: tg.permute(a, perm)}
    return fns[how], (leaf(draw, shape, dtype),)


@case("view")
def _view(draw, dtype):
    shape = small_shape(draw)
    size = math.prod(shape)
    target = draw(st.sampled_from([(-1,), shape[::-1], (1,) + shape, shape + (1,), (size, 1), (1, -1)]))
    other = np.zeros(tuple(n for n in target if n != -1) if -1 not in target else (size,))
    how = draw(st.sampled_from(["ints", "tuple", "none", "view_as", "reshape_as"]))
    fns = {"ints": lambda a: a.view(*target), "tuple": lambda a: a.view(target),
           "none": lambda a: a.view(), "view_as": lambda a: a.view_as(other),
           "reshape_as": lambda a: a.T.reshape_as(other)}
    return fns[how], (leaf(draw, shape, dtype),)


@case("expand")
def _expand(draw, dtype):
    target = small_shape(draw)
    drop = draw(st.integers(0, len(target)))
    src = tuple(1 if draw(st.booleans()) else n for n in target[drop:])
    # -1 keeps an axis of the source (never a new leading one)
    sizes = target[:drop] + tuple(-1 if draw(st.booleans()) else n for n in target[drop:])
    how = draw(st.sampled_from(["ints", "tuple", "expand_as"]))
    other = np.zeros(target)
    fns = {"ints": lambda a: a.expand(*sizes), "tuple": lambda a: a.expand(sizes),
           "expand_as": lambda a: a.expand_as(other)}
    return fns[how], (leaf(draw, src, dtype),)


@case("unflatten")
def _unflatten(draw, dtype):
    shape = small_shape(draw, min_dims=1)
    d = draw(st.integers(-len(shape), len(shape) - 1))
    n = shape[d]
    sizes = draw(st.sampled_from([(n,), (1, n), (n, 1), (1, n, 1)]))
    if n and draw(st.booleans()):  # one -1, inferred
        i = draw(st.integers(0, len(sizes) - 1))
        sizes = sizes[:i] + (-1,) + sizes[i + 1:]
    how = draw(st.sampled_from(["method", "tg"]))
    fns = {"method": lambda a: a.unflatten(d, sizes), "tg": lambda a: tg.unflatten(a, d, sizes)}
    return fns[how], (leaf(draw, shape, dtype),)


@case("t() and mT")
def _t(draw, dtype):
    if draw(st.booleans()):
        return (lambda a: a.t()), (leaf(draw, small_shape(draw, max_dims=2), dtype),)
    return (lambda a: a.mT), (leaf(draw, small_shape(draw, min_dims=2), dtype),)


@case("to(dtype), type_as")
def _to(draw, dtype):
    x = leaf(draw, small_shape(draw), dtype)
    other = tg.zeros(1, dtype=np.float64)
    # Through float64 and back: exact in both harness dtypes, and a real cast in the float32 run.
    fns = {"to": lambda a: (a.to(np.float64) * 1).to(a.dtype),
           "to cpu, copy": lambda a: a.to("cpu", dtype, copy=True),
           "type_as": lambda a: (a.type_as(other) * 1).type_as(a),
           "contiguous": lambda a: (a * 1).contiguous().cpu(),
           "mT.contiguous().view": lambda a: (a.mT.contiguous().view(-1) if a.ndim >= 2 else a.contiguous())}
    return fns[draw(st.sampled_from(sorted(fns)))], (x,)


@case("max/min(dim=) values")
def _max_dim(draw, dtype):
    shape = small_shape(draw, min_dims=1, min_side=1)
    d = draw(st.integers(-len(shape), len(shape) - 1))
    keep = draw(st.booleans())
    _, (x,) = gapped_leaves(draw, [shape], dtype)
    op = draw(st.sampled_from(["max", "min", "tg.max"]))
    fns = {"max": lambda a: a.max(dim=d, keepdim=keep).values,
           "min": lambda a: a.min(dim=d, keepdim=keep)[0],
           "tg.max": lambda a: tg.max(a, dim=d, keepdim=keep).values}
    return fns[op], (x,)


@case("amax/amin")
def _amax(draw, dtype):
    shape = small_shape(draw, min_side=1)
    axes = tuple(i for i in range(len(shape)) if draw(st.booleans()))
    keep = draw(st.booleans())
    _, (x,) = gapped_leaves(draw, [shape], dtype)
    fns = {"amax": lambda a: a.amax(dim=axes, keepdim=keep), "amin": lambda a: a.amin(axes, keep),
           "tg.amax": lambda a: tg.amax(a, axis=axes, keepdims=keep)}
    return fns[draw(st.sampled_from(sorted(fns)))], (x,)


@case("max/min(a, b) elementwise")
def _max_binary(draw, dtype):
    shape = small_shape(draw)
    _, (a, b) = gapped_leaves(draw, [shape, shape], dtype)
    fns = {"tg.max": tg.max, "tg.min": tg.min, "method": lambda u, v: u.max(v)}
    return fns[draw(st.sampled_from(sorted(fns)))], (a, b)
