"""The table of differentiable ops for the shared gradient harness (test_ops_gradients.py).

Each case is a hypothesis strategy, parametrised by dtype, that draws
``(fn, inputs)``: a function and a tuple of Tensors with requires_grad=True
(constants are baked into fn). Shapes cover broadcasting, size-1 and, where
the op allows, size-0 dims; values stay away from the op's
non-differentiable points (a kink, a pole, a tie), because finite
differences across such a point measure nothing. Every strategy is built
from ``tinygrad_edu.testing``, so the harness exercises those as well.
"""
from __future__ import annotations

import math

import numpy as np
from hypothesis import strategies as st

import tinygrad_edu as tg
from tinygrad_edu.ops import loss
from tinygrad_edu.ops.linalg import linear
from tinygrad_edu.ops.shape import clone, index_add, setitem
from tinygrad_edu.testing import (arrays, broadcastable_shapes, index_expressions, matmul_shapes,
                                  shapes, tensors)

CASES = {}

# Small values keep exp and products well scaled for finite differences.
VALUES = dict(min_value=-2.0, max_value=2.0)
# Ties and kinks are at least this far from any value (finite differences
# use eps = 1e-6, so anything far above it is safe).
GAP = 0.05


class OpCase:
    """One op in the harness: ``strategy(dtype)`` draws ``(fn, inputs)``."""

    def __init__(self, name, strategy):
        self.name = name
        self.strategy = strategy

    def __repr__(self):
        return self.name


def case(name):
    """Register a composite strategy ``build(draw, dtype) -> (fn, inputs)`` under ``name``."""
    def register(build):
        if name in CASES:
            raise ValueError(f"duplicate op case {name}")
        CASES[name] = OpCase(name, st.composite(build))
        return build
    return register


def leaf(draw, shape, dtype, **options):
    """Draw a Tensor with requires_grad=True via ``testing.tensors``."""
    return draw(tensors(shape, dtype, requires_grad=True, **{**VALUES, **options}))


def const(draw, shape, dtype, **options):
    """Draw a plain numpy constant via ``testing.arrays``."""
    return draw(arrays(shape, dtype, **{**VALUES, **options}))


def small_shape(draw, min_side=0, min_dims=0, max_dims=3):
    return draw(shapes(min_dims=min_dims, max_dims=max_dims, min_side=min_side, max_side=3))


def gapped_leaves(draw, shapes_, dtype, extra=0, **options):
    """Tensors of the given shapes whose values are all pairwise GAP apart.

    The first ``extra`` values of the joint draw are returned separately as
    Python floats (constants that must not tie with any element either).
    """
    sizes = [math.prod(s) for s in shapes_]
    # +-3 holds 121 distinct multiples of GAP: enough for three 3x3x3 tensors.
    flat = draw(arrays((sum(sizes) + extra,), dtype, min_gap=GAP,
                       **{"min_value": -3.0, "max_value": 3.0, **options}))
    consts, flat = [float(v) for v in flat[:extra]], flat[extra:]
    out, start = [], 0
    for s, n in zip(shapes_, sizes):
        out.append(tg.Tensor(flat[start:start + n].reshape(s), requires_grad=True))
        start += n
    return consts, out


@st.composite
def axis_arg(draw, ndim, allow_none=True, allow_tuple=True):
    """An ``axis=`` argument valid for ``ndim``: None, an int (maybe negative) or a tuple."""
    options = ["none"] if allow_none else []
    if ndim:
        options.append("int")
        if allow_tuple:
            options.append("tuple")
    kind = draw(st.sampled_from(options))
    if kind == "none":
        return None
    if kind == "int":
        return draw(st.integers(-ndim, ndim - 1))
    axes = draw(st.lists(st.integers(0, ndim - 1), unique=True, max_size=ndim))
    return tuple(a - ndim if draw(st.booleans()) else a for a in axes)


def reduced_count(shape, axis):
    if axis is None:
        return math.prod(shape)
    axes = axis if isinstance(axis, tuple) else (axis,)
    return math.prod(shape[a] for a in axes)


# ---- arithmetic, with broadcasting ----------------------------------------------
def _binary_case(name, op, b_options=None, a_options=None, min_side=0):
    @case(name)
    def build(draw, dtype):
        sa, sb = draw(broadcastable_shapes(2, min_side=min_side, max_side=3))
        a = leaf(draw, sa, dtype, **(a_options or {}))
        b = leaf(draw, sb, dtype, **(b_options or {}))
        return op, (a, b)


_binary_case("add", lambda a, b: a + b)
_binary_case("sub", lambda a, b: a - b)
_binary_case("mul", lambda a, b: a * b)
_binary_case("div", lambda a, b: a / b, b_options=dict(min_magnitude=0.5))
_binary_case("pow_tensor_tensor", lambda a, b: a ** b, a_options=dict(min_value=0.5))
_binary_case("tg.add", tg.add)
_binary_case("tg.sub", tg.sub)
_binary_case("tg.mul", tg.mul)
_binary_case("tg.div", tg.div, b_options=dict(min_magnitude=0.5))
_binary_case("tg.pow", tg.pow, a_options=dict(min_value=0.5))
_binary_case("np.add", np.add)
_binary_case("np.subtract", np.subtract)
_binary_case("np.multiply", np.multiply)
_binary_case("np.true_divide", np.true_divide, b_options=dict(min_magnitude=0.5))
_binary_case("np.power", np.power, a_options=dict(min_value=0.5))


def _unary_case(name, op, min_side=0, **options):
    @case(name)
    def build(draw, dtype):
        return op, (leaf(draw, small_shape(draw, min_side), dtype, **options),)


_unary_case("neg", lambda a: -a)
_unary_case("pos", lambda a: +a)
_unary_case("np.negative", np.negative)
_unary_case("np.positive", np.positive)
_unary_case("np.square", np.square)
_unary_case("np.reciprocal", np.reciprocal, min_magnitude=0.5)

# A number or an ndarray on the left of an operator must give a Tensor (reflected ops).
_unary_case("radd_scalar", lambda a: 1.5 + a)
_unary_case("rsub_scalar", lambda a: 1.5 - a)
_unary_case("rmul_scalar", lambda a: -2.5 * a)
_unary_case("rtruediv_scalar", lambda a: 2.0 / a, min_magnitude=0.5)
_unary_case("rpow_scalar", lambda a: 1.7 ** a)


@case("reflected numpy scalar")
def _numpy_scalar_left(draw, dtype):
    # A numpy scalar is not "weak" under NEP 50, so it has the tensor's dtype here.
    c = np.dtype(dtype).type(draw(st.sampled_from([1.5, -2.5, 0.75])))
    op = draw(st.sampled_from(["+", "-", "*", "/", "**"]))
    fns = {"+": lambda a: c + a, "-": lambda a: c - a, "*": lambda a: c * a,
           "/": lambda a: c / a, "**": lambda a: abs(c) ** a}
    options = dict(min_magnitude=0.5) if op == "/" else {}
    return fns[op], (leaf(draw, small_shape(draw), dtype, **options),)


_unary_case("rtruediv_int", lambda a: 3 / a, min_magnitude=0.5)


def _reflected_array_case(name, op, c_options=None, a_options=None):
    @case(name)
    def build(draw, dtype):
        sc, sa = draw(broadcastable_shapes(2, min_side=0, max_side=3))
        c = const(draw, sc, dtype, **(c_options or {}))
        a = leaf(draw, sa, dtype, **(a_options or {}))

        def fn(x):
            out = op(c, x)
            assert isinstance(out, tg.Tensor), f"{name}: got {type(out).__name__}, not a Tensor"
            return out
        return fn, (a,)


_reflected_array_case("radd_array", lambda c, x: c + x)
_reflected_array_case("rsub_array", lambda c, x: c - x)
_reflected_array_case("rmul_array", lambda c, x: c * x)
_reflected_array_case("rtruediv_array", lambda c, x: c / x, a_options=dict(min_magnitude=0.5))
_reflected_array_case("rpow_array", lambda c, x: c ** x, c_options=dict(min_value=0.5))
_reflected_array_case("sub_array_right", lambda c, x: x - c)
_reflected_array_case("div_array_right", lambda c, x: x / c, c_options=dict(min_magnitude=0.5))
_reflected_array_case("pow_array_exponent", lambda c, x: x ** c, a_options=dict(min_value=0.5))


@case("pow_scalar_exponent")
def _pow_scalar(draw, dtype):
    p = draw(st.sampled_from([0, 1, 2, 3, -1, -2, 0.5, -1.5, 2.5, 3.0]))
    whole = float(p).is_integer()
    options = {} if whole and p >= 0 else (dict(min_magnitude=0.5) if whole else dict(min_value=0.5))
    x = leaf(draw, small_shape(draw), dtype, **options)
    return (lambda a: a ** p), (x,)


# ---- matrix products --------------------------------------------------------------
def _matmul_case(name, op):
    @case(name)
    def build(draw, dtype):
        sa, sb = draw(matmul_shapes(min_side=0, max_side=3))
        return op, (leaf(draw, sa, dtype), leaf(draw, sb, dtype))


_matmul_case("matmul", lambda a, b: a @ b)
_matmul_case("np.matmul", np.matmul)
_matmul_case("tg.matmul", tg.matmul)
_matmul_case("Tensor.matmul", lambda a, b: a.matmul(b))


@case("rmatmul_array")
def _rmatmul(draw, dtype):
    sc, sa = draw(matmul_shapes(min_side=0, max_side=3))
    c = const(draw, sc, dtype)
    return (lambda x: c @ x), (leaf(draw, sa, dtype),)


@st.composite
def dot_shapes(draw):
    """Shape pairs for np.dot on up to 2-D operands (0-d multiplies)."""
    n, k, m = (draw(st.integers(0, 3)) for _ in range(3))
    return draw(st.sampled_from([((k,), (k,)), ((n, k), (k,)), ((k,), (k, m)), ((n, k), (k, m)),
                                 ((), (n, k)), ((k,), ())]))


def _dot_case(name, op):
    @case(name)
    def build(draw, dtype):
        sa, sb = draw(dot_shapes())
        return op, (leaf(draw, sa, dtype), leaf(draw, sb, dtype))


_dot_case("np.dot", np.dot)
_dot_case("tg.dot", tg.dot)
_dot_case("Tensor.dot", lambda a, b: a.dot(b))


@case("np.dot_array_left")
def _dot_array_left(draw, dtype):
    sc, sa = draw(dot_shapes())
    c = const(draw, sc, dtype)
    return (lambda w: np.dot(c, w)), (leaf(draw, sa, dtype),)


# ---- elementwise functions ----------------------------------------------------------
POSITIVE = dict(min_value=0.2, max_value=3.0)
for _name, _fn, _opts in [
    ("exp", tg.exp, {}), ("np.exp", np.exp, {}), ("Tensor.exp", lambda a: a.exp(), {}),
    ("log", tg.log, POSITIVE), ("np.log", np.log, POSITIVE),
    ("log1p", tg.log1p, dict(min_value=-0.8)), ("np.log1p", np.log1p, dict(min_value=-0.8)),
    ("sqrt", tg.sqrt, POSITIVE), ("np.sqrt", np.sqrt, POSITIVE),
    ("sin", tg.sin, {}), ("np.sin", np.sin, {}), ("cos", tg.cos, {}), ("np.cos", np.cos, {}),
    ("abs", tg.abs, dict(min_magnitude=GAP)), ("np.abs", np.abs, dict(min_magnitude=GAP)),
    ("builtin abs", abs, dict(min_magnitude=GAP)),
    ("tanh", tg.tanh, {}), ("np.tanh", np.tanh, {}),
    ("sigmoid", tg.sigmoid, {}), ("Tensor.sigmoid", lambda a: a.sigmoid(), {}),
    ("relu", tg.relu, dict(min_magnitude=GAP)), ("Tensor.relu", lambda a: a.relu(), dict(min_magnitude=GAP)),
    ("blog nonlin 1/(1+np.exp(-x))", lambda a: 1 / (1 + np.exp(-a)), {}),
]:
    _unary_case(_name, _fn, **_opts)


def _pick_case(name, op):
    @case(name)
    def build(draw, dtype):
        sa, sb = draw(broadcastable_shapes(2, min_side=0, max_side=3))
        _, (a, b) = gapped_leaves(draw, [sa, sb], dtype)
        return op, (a, b)


_pick_case("maximum", tg.maximum)
_pick_case("minimum", tg.minimum)
_pick_case("np.maximum", np.maximum)
_pick_case("np.minimum", np.minimum)
_pick_case("Tensor.maximum", lambda a, b: a.maximum(b))


@case("np.maximum_constant")
def _maximum_const(draw, dtype):
    (c,), (a,) = gapped_leaves(draw, [small_shape(draw)], dtype, extra=1)
    return (lambda x: np.maximum(x, c)), (a,)


@case("np.minimum_array_left")
def _minimum_array_left(draw, dtype):
    sc, sa = draw(broadcastable_shapes(2, min_side=0, max_side=3))
    _, (c, a) = gapped_leaves(draw, [sc, sa], dtype)
    c = c.data
    return (lambda x: np.minimum(c, x)), (a,)


@case("clip_scalar_bounds")
def _clip_scalars(draw, dtype):
    (lo, hi), (x,) = gapped_leaves(draw, [small_shape(draw)], dtype, extra=2)
    lo, hi = sorted((lo, hi))
    which = draw(st.sampled_from(["both", "lo", "hi", "np", "kw"]))
    fns = {"both": lambda a: tg.clip(a, lo, hi), "lo": lambda a: a.clip(lo, None),
           "hi": lambda a: a.clip(None, hi), "np": lambda a: np.clip(a, lo, hi),
           "kw": lambda a: a.clip(min=lo, max=hi)}
    return fns[which], (x,)


@case("clip_tensor_bounds")
def _clip_tensors(draw, dtype):
    # lo > hi is allowed: np.clip then returns hi everywhere (no check, as numpy).
    sx, slo, shi = draw(broadcastable_shapes(3, min_side=0, max_side=3))
    sx = np.broadcast_shapes(sx, slo, shi)  # clip's output has x's shape
    _, (x, lo, hi) = gapped_leaves(draw, [sx, slo, shi], dtype)
    return tg.clip, (x, lo, hi)


@case("np.clip_tensor_bounds")
def _np_clip_tensors(draw, dtype):
    sx, slo, shi = draw(broadcastable_shapes(3, min_side=0, max_side=3))
    sx = np.broadcast_shapes(sx, slo, shi)
    _, (x, lo, hi) = gapped_leaves(draw, [sx, slo, shi], dtype)
    return np.clip, (x, lo, hi)


@case("clip_one_tensor_bound")
def _clip_one_tensor(draw, dtype):
    sx, sb = draw(broadcastable_shapes(2, min_side=0, max_side=3))
    sx = np.broadcast_shapes(sx, sb)
    _, (x, b) = gapped_leaves(draw, [sx, sb], dtype)
    if draw(st.booleans()):
        return (lambda a, lo: tg.clip(a, lo, None)), (x, b)
    return (lambda a, hi: tg.clip(a, None, hi)), (x, b)


def _where_case(name, op):
    @case(name)
    def build(draw, dtype):
        sc, sx, sy = draw(broadcastable_shapes(3, min_side=0, max_side=3))
        cond = draw(arrays(sc, np.bool_, elements=st.booleans()))
        return (lambda x, y: op(cond, x, y)), (leaf(draw, sx, dtype), leaf(draw, sy, dtype))


_where_case("where", tg.where)
_where_case("np.where", np.where)


@case("where_tensor_condition")
def _where_tensor_cond(draw, dtype):
    sa, sb = draw(broadcastable_shapes(2, min_side=0, max_side=3))
    a = leaf(draw, sa, dtype, min_magnitude=GAP)
    return (lambda x, y: tg.where(x > 0, x, y)), (a, leaf(draw, sb, dtype))


# ---- reductions ----------------------------------------------------------------------
def _reduce_case(name, op, gapped=False, keepdims=True, allow_none=True, min_dims=0, min_count=0):
    @case(name)
    def build(draw, dtype):
        shape = small_shape(draw, min_dims=min_dims)
        axis = draw(axis_arg(len(shape), allow_none=allow_none))
        if reduced_count(shape, axis) < min_count:
            # Repair rather than reject, so that drawing every case at once
            # (test_the_table_covers_every_backward_rule) never filters.
            shape = tuple(max(n, min_count) for n in shape) or (min_count,)
            axis = None if allow_none else -1
        keep = draw(st.booleans()) if keepdims else False
        if gapped:
            _, (x,) = gapped_leaves(draw, [shape], dtype)
        else:
            x = leaf(draw, shape, dtype)
        return (lambda a: op(a, axis, keep)), (x,)


# Size-0 dims are allowed on the axes that are kept; a reduction over an
# empty axis has no value to differentiate (max raises, mean is nan).
nonempty, two_or_more = 1, 2
_reduce_case("sum", lambda a, axis, k: a.sum(axis=axis, keepdims=k))
_reduce_case("np.sum", lambda a, axis, k: np.sum(a, axis=axis, keepdims=k))
_reduce_case("tg.sum dim/keepdim", lambda a, axis, k: tg.sum(a, dim=axis, keepdim=k))
_reduce_case("mean", lambda a, axis, k: a.mean(axis=axis, keepdims=k), min_count=nonempty)
_reduce_case("np.mean", lambda a, axis, k: np.mean(a, axis=axis, keepdims=k), min_count=nonempty)
_reduce_case("max", lambda a, axis, k: a.max(axis=axis, keepdims=k), gapped=True, min_count=nonempty)
_reduce_case("np.max", lambda a, axis, k: np.max(a, axis=axis, keepdims=k), gapped=True, min_count=nonempty)
_reduce_case("np.amax", lambda a, axis, k: np.amax(a, axis=axis, keepdims=k), gapped=True,
             min_count=nonempty)
_reduce_case("min", lambda a, axis, k: a.min(axis=axis, keepdims=k), gapped=True, min_count=nonempty)
_reduce_case("np.min", lambda a, axis, k: np.min(a, axis=axis, keepdims=k), gapped=True, min_count=nonempty)
_reduce_case("var", lambda a, axis, k: a.var(axis=axis, keepdims=k), min_count=nonempty)
_reduce_case("var ddof=1", lambda a, axis, k: a.var(axis=axis, keepdims=k, ddof=1), min_count=two_or_more)
_reduce_case("np.var", lambda a, axis, k: np.var(a, axis=axis, keepdims=k), min_count=nonempty)
# std = sqrt(var) is not differentiable where var = 0: at least 2 distinct values.
_reduce_case("std", lambda a, axis, k: a.std(axis=axis, keepdims=k), gapped=True, min_count=two_or_more)
_reduce_case("np.std ddof=1", lambda a, axis, k: np.std(a, axis=axis, keepdims=k, ddof=1),
             gapped=True, min_count=two_or_more)
_reduce_case("logsumexp", lambda a, axis, k: a.logsumexp(axis=axis, keepdims=k), min_count=nonempty)
_reduce_case("softmax", lambda a, axis, k: a.softmax(axis=axis), keepdims=False,
             allow_none=False, min_dims=1, min_count=nonempty)
_reduce_case("tg.softmax dim", lambda a, axis, k: tg.softmax(a, dim=axis), keepdims=False,
             allow_none=False, min_dims=1, min_count=nonempty)
_reduce_case("log_softmax", lambda a, axis, k: a.log_softmax(axis=axis), keepdims=False,
             allow_none=False, min_dims=1, min_count=nonempty)
_reduce_case("tg.log_softmax dim", lambda a, axis, k: tg.log_softmax(a, dim=axis),
             keepdims=False, allow_none=False, min_dims=1, min_count=nonempty)


# ---- shape ops ------------------------------------------------------------------------
@case("reshape")
def _reshape(draw, dtype):
    shape = small_shape(draw)
    size = math.prod(shape)
    target = draw(st.sampled_from([(-1,), shape[::-1], (1,) + shape, shape + (1,), (size, 1),
                                   (1, -1)]))
    how = draw(st.sampled_from(["method", "method*", "np", "tg"]))
    fns = {"method": lambda a: a.reshape(target), "method*": lambda a: a.reshape(*target),
           "np": lambda a: np.reshape(a, target), "tg": lambda a: tg.reshape(a, target)}
    return fns[how], (leaf(draw, shape, dtype),)


@case("flatten")
def _flatten(draw, dtype):
    shape = small_shape(draw)
    x = leaf(draw, shape, dtype)
    if not shape:
        return tg.flatten, (x,)
    s = draw(st.integers(0, len(shape) - 1))
    e = draw(st.integers(s, len(shape) - 1))
    s, e = (s - len(shape) if draw(st.booleans()) else s), (e - len(shape) if draw(st.booleans()) else e)
    return (lambda a: a.flatten(s, e)), (x,)


@case("transpose")
def _transpose(draw, dtype):
    shape = small_shape(draw)
    perm = tuple(draw(st.permutations(range(len(shape)))))
    how = draw(st.sampled_from(["perm", "perm*", "default", ".T", "np", "np default", "tg"]))
    # "perm*" spells the permutation as separate ints; a 2-D identity that way is PyTorch's
    # swap idiom, which warns (tests/test_torch_names.py), so it is drawn for other ranks only
    if how == "perm*" and len(shape) == 2 and perm == (0, 1):
        how = "perm"
    fns = {"perm": lambda a: a.transpose(perm), "perm*": lambda a: a.transpose(*perm),
           "default": lambda a: a.transpose(), ".T": lambda a: a.T,
           "np": lambda a: np.transpose(a, perm), "np default": lambda a: np.transpose(a),
           "tg": lambda a: tg.transpose(a, perm)}
    return fns[how], (leaf(draw, shape, dtype),)


@case("swapaxes")
def _swapaxes(draw, dtype):
    shape = small_shape(draw, min_dims=1)
    n = len(shape)
    a1, a2 = draw(st.integers(-n, n - 1)), draw(st.integers(-n, n - 1))
    if draw(st.booleans()):
        return (lambda a: np.swapaxes(a, a1, a2)), (leaf(draw, shape, dtype),)
    return (lambda a: a.swapaxes(a1, a2)), (leaf(draw, shape, dtype),)


@case("squeeze")
def _squeeze(draw, dtype):
    base = list(small_shape(draw, max_dims=2))
    for _ in range(draw(st.integers(0, 2))):
        base.insert(draw(st.integers(0, len(base))), 1)
    shape = tuple(base)
    ones = [i for i, n in enumerate(shape) if n == 1]
    axis = None
    if ones and draw(st.booleans()):
        chosen = draw(st.lists(st.sampled_from(ones), min_size=1, unique=True))
        axis = chosen[0] if len(chosen) == 1 else tuple(chosen)
    how = draw(st.sampled_from(["method", "np", "tg dim"]))
    fns = {"method": lambda a: a.squeeze(axis), "np": lambda a: np.squeeze(a, axis),
           "tg dim": lambda a: tg.squeeze(a, dim=axis)}
    return fns[how], (leaf(draw, shape, dtype),)


@case("expand_dims")
def _expand_dims(draw, dtype):
    shape = small_shape(draw)
    n = len(shape)
    axis = draw(st.integers(-n - 1, n))
    how = draw(st.sampled_from(["expand_dims", "unsqueeze", "np", "np tuple"]))
    fns = {"expand_dims": lambda a: a.expand_dims(axis), "unsqueeze": lambda a: a.unsqueeze(axis),
           "np": lambda a: np.expand_dims(a, axis), "np tuple": lambda a: np.expand_dims(a, (0, -1))}
    return fns[how], (leaf(draw, shape, dtype),)


@case("broadcast_to")
def _broadcast_to(draw, dtype):
    target = small_shape(draw)
    drop = draw(st.integers(0, len(target)))
    src = tuple(1 if draw(st.booleans()) else n for n in target[drop:])
    how = draw(st.sampled_from(["method", "np", "tg"]))
    fns = {"method": lambda a: a.broadcast_to(target), "np": lambda a: np.broadcast_to(a, target),
           "tg": lambda a: tg.broadcast_to(a, target)}
    return fns[how], (leaf(draw, src, dtype),)


@case("astype (same dtype)")
def _astype(draw, dtype):
    x = leaf(draw, small_shape(draw), dtype)
    if draw(st.booleans()):
        return (lambda a: a.astype(dtype)), (x,)
    return ((lambda a: a.double()) if dtype == np.float64 else (lambda a: a.float())), (x,)


@case("getitem")
def _getitem(draw, dtype):
    shape = small_shape(draw)
    idx = draw(index_expressions(shape))
    return (lambda a: a[idx]), (leaf(draw, shape, dtype),)


@case("index_add")
def _index_add(draw, dtype):
    shape = small_shape(draw)
    idx = draw(index_expressions(shape))
    g_shape = np.empty(shape)[idx].shape
    return (lambda g: index_add(g, idx, shape)), (leaf(draw, g_shape, dtype),)


@case("concatenate")
def _concatenate(draw, dtype):
    shape = small_shape(draw, min_dims=1)
    axis = draw(st.integers(-len(shape), len(shape) - 1))
    k = draw(st.integers(1, 3))
    parts = []
    for _ in range(k):
        s = list(shape)
        s[axis] = draw(st.integers(0, 3))
        parts.append(leaf(draw, tuple(s), dtype))
    how = draw(st.sampled_from(["tg", "np", "cat dim"]))
    fns = {"tg": lambda *ts: tg.concatenate(ts, axis), "np": lambda *ts: np.concatenate(ts, axis=axis),
           "cat dim": lambda *ts: tg.cat(list(ts), dim=axis)}
    return fns[how], tuple(parts)


@case("stack")
def _stack(draw, dtype):
    shape = small_shape(draw)
    axis = draw(st.integers(-len(shape) - 1, len(shape)))
    parts = tuple(leaf(draw, shape, dtype) for _ in range(draw(st.integers(1, 3))))
    if draw(st.booleans()):
        return (lambda *ts: np.stack(ts, axis=axis)), parts
    return (lambda *ts: tg.stack(list(ts), axis)), parts


@case("clone")
def _clone(draw, dtype):
    x = leaf(draw, small_shape(draw), dtype)
    return ((lambda a: a.clone()) if draw(st.booleans()) else clone), (x,)


@st.composite
def setitem_args(draw, dtype):
    """(shape, idx, value shape): value broadcasts to x[idx]."""
    shape = small_shape(draw)
    idx = draw(index_expressions(shape))
    target = np.empty(shape)[idx].shape
    drop = draw(st.integers(0, len(target)))
    value_shape = tuple(1 if draw(st.booleans()) else n for n in target[drop:])
    return shape, idx, value_shape


@case("setitem")
def _setitem(draw, dtype):
    shape, idx, vshape = draw(setitem_args(dtype))
    x, v = leaf(draw, shape, dtype), leaf(draw, vshape, dtype)
    return (lambda a, b: setitem(a, idx, b)), (x, v)


@case("t[idx] = v (in place, on a clone)")
def _setitem_inplace(draw, dtype):
    shape, idx, vshape = draw(setitem_args(dtype))
    x, v = leaf(draw, shape, dtype), leaf(draw, vshape, dtype)

    def fn(a, b):
        y = a * 1.0  # a non-leaf we may overwrite
        y[idx] = b
        return y
    return fn, (x, v)


# ---- fused ops: affine map and losses ---------------------------------------------------
@case("linear (fused x @ w + b)")
def _linear(draw, dtype):
    (sx, sw), = [draw(matmul_shapes(max_batch_dims=0, min_side=0, max_side=3))]
    sx = sx if len(sx) == 2 else (2,) + sx  # x (..., in) with a batch axis
    sw = sw if len(sw) == 2 else sw + (2,)  # weight (in, out)
    batch = draw(st.sampled_from([(), (2,)]))
    sx = batch + sx
    bias_shape = draw(st.sampled_from([(sw[1],), (1, sw[1]), ()]))
    x, w, b = (leaf(draw, s, dtype) for s in (sx, sw, bias_shape))
    return linear, (x, w, b)


@case("binary_cross_entropy")
def _bce(draw, dtype):
    shape = small_shape(draw)
    p = leaf(draw, shape, dtype, min_value=0.05, max_value=0.95)  # away from the clamps at 0, 1
    y = leaf(draw, shape, dtype, min_value=0.0, max_value=1.0)
    return loss.binary_cross_entropy, (p, y)


@case("binary_cross_entropy_with_logits")
def _bce_logits(draw, dtype):
    shape = small_shape(draw, min_dims=1)
    x = leaf(draw, shape, dtype, min_value=-4.0, max_value=4.0)
    y = leaf(draw, shape, dtype, min_value=0.0, max_value=1.0)
    if draw(st.booleans()):
        return loss.binary_cross_entropy_with_logits, (x, y)
    w = leaf(draw, shape[-1:], dtype, min_value=0.2, max_value=3.0)
    return loss.binary_cross_entropy_with_logits, (x, y, w)


@case("cross_entropy (fused, class indices)")
def _cross_entropy(draw, dtype):
    n, c = draw(st.integers(1, 3)), draw(st.integers(1, 4))
    target = draw(arrays((n,), np.int64, elements=st.integers(0, c - 1)))
    reduction = draw(st.sampled_from(["mean", "sum", "none"]))
    x = leaf(draw, (n, c), dtype)
    return (lambda a: loss.cross_entropy_indices(a, target, reduction)), (x,)


# ---- compositions ---------------------------------------------------------------------
@case("two-layer net with broadcast bias")
def _mlp(draw, dtype):
    n, d, h = draw(st.integers(1, 3)), draw(st.integers(1, 3)), draw(st.integers(1, 3))
    X = const(draw, (n, d), dtype)
    w1, b1 = leaf(draw, (d, h), dtype), leaf(draw, (h,), dtype)
    w2 = leaf(draw, (h, 1), dtype)
    return (lambda w1, b1, w2: (np.tanh(np.dot(X, w1) + b1) @ w2).sigmoid().mean()), (w1, b1, w2)


@case("shared operand x*x, a-a, b=a+a; b+b")
def _reuse(draw, dtype):
    x = leaf(draw, small_shape(draw), dtype)

    def fn(a):
        b = a + a
        return (a * a) + (a - a) + (b + b)
    return fn, (x,)


# ---- the op families' cases live in files of their own (tests/op_cases_<family>.py) ----------
def _load_family_cases():
    import importlib
    import pathlib

    for path in sorted(pathlib.Path(__file__).parent.glob("op_cases_*.py")):
        importlib.import_module(path.stem)


_load_family_cases()
