"""Harness cases for the mathfn and rounding families (ops/mathfn.py, ops/rounding.py).

Values respect each op's domain (arcsin in (-0.9, 0.9), arccosh > 1.2, logs
> 0.2) and stay away from its jumps: the rounding ops get values whose
fractional part is in [0.15, 0.35] or [0.65, 0.85] (away from integers and
from halves), mod/fmod get divisors away from 0 and quotients away from
integers.
"""
from __future__ import annotations

import numpy as np
from hypothesis import strategies as st

import tinygrad_edu as tg
from op_cases import GAP, case, gapped_leaves, leaf, small_shape
from tinygrad_edu.testing import arrays, broadcastable_shapes

INSIDE_ONE = dict(min_value=-0.9, max_value=0.9)
POSITIVE = dict(min_value=0.2, max_value=3.0)


def _unary(name, variants, **options):
    """One case per op; each example picks one spelling (tg.f, np.f, Tensor.f)."""
    @case(name)
    def build(draw, dtype):
        return draw(st.sampled_from(variants)), (leaf(draw, small_shape(draw), dtype, **options),)


def _method(name, *args, **kw):
    return lambda a: getattr(a, name)(*args, **kw)


for _name, _fns, _opts in [
    ("expm1", [tg.expm1, np.expm1, _method("expm1")], {}),
    ("exp2", [tg.exp2, np.exp2, _method("exp2")], {}),
    ("log2", [tg.log2, np.log2, _method("log2")], POSITIVE),
    ("log10", [tg.log10, np.log10, _method("log10")], POSITIVE),
    ("tan", [tg.tan, np.tan, _method("tan")], dict(min_value=-1.2, max_value=1.2)),
    ("sinh", [tg.sinh, np.sinh, _method("sinh")], {}),
    ("cosh", [tg.cosh, np.cosh, _method("cosh")], {}),
    ("arcsin", [tg.arcsin, np.arcsin, tg.asin, _method("asin")], INSIDE_ONE),
    ("arccos", [tg.arccos, np.arccos, tg.acos, _method("acos")], INSIDE_ONE),
    ("arctan", [tg.arctan, np.arctan, tg.atan, _method("atan")], {}),
    ("arcsinh", [tg.arcsinh, np.arcsinh, tg.asinh, _method("asinh")], {}),
    ("arccosh", [tg.arccosh, np.arccosh, tg.acosh, _method("acosh")], dict(min_value=1.2, max_value=3.0)),
    ("arctanh", [tg.arctanh, np.arctanh, tg.atanh, _method("atanh")], INSIDE_ONE),
    ("sinc", [tg.sinc, np.sinc, _method("sinc")], {}),
    # near 0 the derivative switches to its Taylor series: both sides of the switch
    ("sinc near 0", [tg.sinc], dict(min_value=-0.05, max_value=0.05)),
    ("deg2rad", [tg.deg2rad, np.deg2rad, np.radians, tg.radians, _method("deg2rad")], {}),
    ("rad2deg", [tg.rad2deg, np.rad2deg, np.degrees, tg.degrees, _method("rad2deg")], {}),
    ("fabs", [tg.fabs, np.fabs], dict(min_magnitude=GAP)),
    ("square", [tg.square, np.square, _method("square")], {}),
    ("cbrt", [tg.cbrt, np.cbrt], dict(min_magnitude=0.2)),
    ("reciprocal", [tg.reciprocal, np.reciprocal, _method("reciprocal")], dict(min_magnitude=0.5)),
    ("rsqrt", [tg.rsqrt, _method("rsqrt")], POSITIVE),
    ("nan_to_num (finite)", [tg.nan_to_num, np.nan_to_num, _method("nan_to_num")], {}),
    ("clamp_min / clamp_max", [lambda a: tg.clamp_min(a, 0.0), _method("clamp_max", 0.0)],
     dict(min_magnitude=GAP)),
]:
    _unary(_name, _fns, **_opts)


@case("nan_to_num (nan and inf replaced)")
def _nan_to_num(draw, dtype):
    # the replaced elements are constants spliced in: their gradient must be 0
    x = leaf(draw, small_shape(draw, min_side=1, min_dims=1), dtype)
    special = np.array([np.nan, np.inf, -np.inf], dtype)[: x.shape[-1]]

    def fn(a):
        spliced = tg.concatenate([a, tg.Tensor(np.broadcast_to(special, a.shape[:-1] + special.shape))], -1)
        return np.nan_to_num(spliced, nan=1.5, posinf=3.0, neginf=-3.0)
    return fn, (x,)


def _binary(name, variants, a_options=None, b_options=None):
    @case(name)
    def build(draw, dtype):
        sa, sb = draw(broadcastable_shapes(2, min_side=0, max_side=3))
        fn = draw(st.sampled_from(variants))
        return fn, (leaf(draw, sa, dtype, **(a_options or {})), leaf(draw, sb, dtype, **(b_options or {})))


AWAY = dict(min_magnitude=0.2)
_binary("logaddexp", [tg.logaddexp, np.logaddexp, lambda a, b: a.logaddexp(b)])
_binary("logaddexp2", [tg.logaddexp2, np.logaddexp2, lambda a, b: a.logaddexp2(b)])
_binary("arctan2", [tg.arctan2, np.arctan2, tg.atan2, lambda a, b: a.atan2(b)], AWAY, AWAY)
_binary("hypot", [tg.hypot, np.hypot, lambda a, b: a.hypot(b)], AWAY, AWAY)
_binary("xlogy", [tg.xlogy, lambda a, b: a.xlogy(b)], dict(min_magnitude=GAP), POSITIVE)
_binary("Tensor.add/sub/mul/pow/true_divide", [
    lambda a, b: a.add(b, alpha=-1.5), lambda a, b: a.sub(b, alpha=2.0),
    lambda a, b: a.mul(b).pow(2).true_divide(1.5)])


@case("xlogy with x == 0")
def _xlogy_zero(draw, dtype):
    # x = 0 exactly where mask: value 0 and d/dy = x / y = 0 there
    shape = small_shape(draw, min_side=1)
    y = leaf(draw, shape, dtype, **POSITIVE)
    mask = draw(arrays(shape, np.bool_, elements=st.booleans()))
    x = leaf(draw, shape, dtype, min_magnitude=GAP)
    return (lambda a, b: tg.xlogy(tg.where(mask, 0.0, a), b)), (x, y)


def _pick(name, variants):
    @case(name)
    def build(draw, dtype):
        sa, sb = draw(broadcastable_shapes(2, min_side=0, max_side=3))
        _, (a, b) = gapped_leaves(draw, [sa, sb], dtype)
        return draw(st.sampled_from(variants)), (a, b)


# Every variant of a case records the same rules: the coverage test may draw any of them.
_pick("fmax", [tg.fmax, np.fmax, lambda x, y: x.fmax(y)])
_pick("fmin", [tg.fmin, np.fmin, lambda x, y: x.fmin(y)])


@case("fmax / fmin with NaN operands")
def _fmax_nan(draw, dtype):
    sa, sb = draw(broadcastable_shapes(2, min_side=1, max_side=3))
    _, (a, b) = gapped_leaves(draw, [sa, sb], dtype)
    nb = draw(arrays(sb, np.bool_, elements=st.booleans()))

    # NaNs spliced into one operand (both NaN has no derivative): the number takes the gradient
    def fn(x, y):
        y = tg.where(nb, np.nan, y)
        return np.fmax(x, y), tg.fmin(y, x)
    return fn, (a, b)


# ---- piecewise constant: values away from integers and halves ---------------------------------
def off_grid(draw, shape, dtype, lo=-3, hi=3):
    """A leaf whose values have fractional part in [0.15, 0.35] or [0.65, 0.85]."""
    k = draw(arrays(shape, np.int64, elements=st.integers(lo, hi - 1)))
    f = draw(arrays(shape, np.float64, elements=st.floats(0.15, 0.35)))
    up = draw(arrays(shape, np.bool_, elements=st.booleans()))
    return tg.Tensor((k + np.where(up, f + 0.5, f)).astype(dtype), requires_grad=True)


def _piecewise(name, variants):
    @case(name)
    def build(draw, dtype):
        return draw(st.sampled_from(variants)), (off_grid(draw, small_shape(draw), dtype),)


for _name, _fns in [
    ("sign", [tg.sign, np.sign, tg.sgn, _method("sign"), lambda a: tg.sign(a) * a]),
    ("floor", [tg.floor, np.floor, _method("floor")]),
    ("ceil", [tg.ceil, np.ceil, _method("ceil")]),
    ("round", [tg.round, tg.around, round, _method("round"), lambda a: np.round(a * 0.1, 1),
               lambda a: np.around(a * 0.1, decimals=1)]),
    ("rint", [tg.rint, np.rint]),
    ("trunc", [tg.trunc, np.trunc, tg.fix, np.fix, _method("trunc"), _method("fix")]),
    ("frac", [tg.frac, _method("frac")]),
]:
    _piecewise(_name, _fns)


@st.composite
def division_pair(draw, dtype):
    """(a, b), broadcastable: b a multiple of 0.5 in [-2.5, 2.5] (not 0), a off the 0.5 grid.

    a = 0.5 (k + f) with f in [0.2, 0.8] and b = 0.5 m (1 <= |m| <= 5), so a / b
    = (k + f) / m is at least 0.2 / 5 from any integer: no jump of mod/fmod/floor_divide.
    """
    sa, sb = draw(broadcastable_shapes(2, min_side=0, max_side=3))
    return off_half_grid(draw, sa, dtype), divisor(draw, sb, dtype)


def off_half_grid(draw, shape, dtype):
    k = draw(arrays(shape, np.int64, elements=st.integers(-6, 5)))
    f = draw(arrays(shape, np.float64, elements=st.floats(0.2, 0.8)))
    return tg.Tensor((0.5 * (k + f)).astype(dtype), requires_grad=True)


def divisor(draw, shape, dtype):
    m = draw(arrays(shape, np.int64, elements=st.sampled_from([-5, -4, -3, -2, -1, 1, 2, 3, 4, 5])))
    return tg.Tensor((0.5 * m).astype(dtype), requires_grad=True)


def _division(name, variants):
    @case(name)
    def build(draw, dtype):
        return draw(st.sampled_from(variants)), draw(division_pair(dtype))


for _name, _fns in [
    ("mod", [tg.mod, tg.remainder, np.mod, lambda a, b: a % b, lambda a, b: a.remainder(b)]),
    ("fmod", [tg.fmod, np.fmod, lambda a, b: a.fmod(b)]),
    ("floor_divide", [tg.floor_divide, np.floor_divide, lambda a, b: a // b,
                      lambda a, b: a.floor_divide(b), lambda a, b: a.div(b, rounding_mode="floor")]),
    ("divmod", [divmod, np.divmod, tg.divmod]),
    ("div rounding_mode=trunc", [lambda a, b: tg.div(a, b, rounding_mode="trunc")]),
]:
    _division(_name, _fns)


@case("rmod / rfloordiv (number on the left)")
def _reflected_division(draw, dtype):
    c = 0.5 * (draw(st.integers(-6, 5)) + draw(st.floats(0.2, 0.8)))
    return (lambda y: (c % y) + (c // y)), (divisor(draw, small_shape(draw), dtype),)


@case("clamp")
def _clamp(draw, dtype):
    (lo, hi), (x,) = gapped_leaves(draw, [small_shape(draw)], dtype, extra=2)
    lo, hi = sorted((lo, hi))
    return draw(st.sampled_from([lambda a: tg.clamp(a, lo, hi), lambda a: a.clamp(lo, hi),
                                 lambda a: a.clamp(min=lo, max=hi)])), (x,)


@case("clamp tensor bounds")
def _clamp_tensors(draw, dtype):
    sx, slo, shi = draw(broadcastable_shapes(3, min_side=0, max_side=3))
    sx = np.broadcast_shapes(sx, slo, shi)
    _, (x, lo, hi) = gapped_leaves(draw, [sx, slo, shi], dtype)
    return (lambda a, b, c: tg.clamp(a, min=b, max=c)), (x, lo, hi)
