"""The jit's fast paths stay exact: Python numbers as typed 0-d arrays, SGD's update
written out, and 2-D matrix products through ``ndarray.dot``.

Each one replaces something eager does by something cheaper that is claimed to give the
same bits; every test here compares against what eager (or numpy itself) does, bit for bit
(``same_bits``: signed zeros and NaN payloads included), and fails if the claim breaks.
The per-call check and the cache key: test_jit_scope_keys.py; arrays the engine makes
from traced ones, and every harness op jitted: test_jit_traced_routes.py.
"""
from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import tinygrad_edu as tg
from tinygrad_edu import nn, optim
from tinygrad_edu._jit.numbers import _UFUNCS, as_typed

from _jit_helpers import assert_jit_equals_eager, batches, data, rig, same_bits, small

INF, NAN = math.inf, math.nan
FLOATS = (np.float16, np.float32, np.float64)
UFUNCS = sorted(_UFUNCS, key=lambda u: u.__name__)

# Python numbers at every edge of the three float formats: signed zeros, subnormals of
# float64 (zero in float16/32), ints float64 cannot hold exactly, float16's max (65504)
# and the first values that overflow it (65520 rounds up to inf), float32's max.
NUMBERS = [0, -0.0, 0.0, 1, 2, -1, 0.1, 1 / 3, 0.5, 1e-8, 6e-8, 1e-320, 5e-324, 1e300, -1e300,
           2 ** 60, 2 ** 53 + 1, -2 ** 31, 2 ** 64, INF, -INF, NAN, -NAN, 65504, 65519.99, 65520,
           70000, 3.4e38, 3.5e38, 2049]


def _operands(dtype):
    f = np.finfo(dtype)
    return np.array([0.0, -0.0, 1.0, -1.0, 0.5, 0.1, 3.0, INF, -INF, NAN, f.smallest_subnormal,
                     -f.smallest_subnormal, f.tiny, f.max, -f.max, 2.0], dtype)


def _outcome(call):
    """What one ufunc call does: its result, the warnings it gives, what it raises under
    ``np.errstate(all="raise")``."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with np.errstate(all="warn"):
            result = call()
    try:
        with np.errstate(all="raise"):
            call()
        raised = None
    except FloatingPointError as err:
        raised = str(err)
    return result, sorted(str(w.message) for w in caught), raised


def _same_call(ufunc, number, typed, operand):
    for order in (0, 1):
        args = [(operand, number), (number, operand)][order]
        targs = [(operand, typed), (typed, operand)][order]
        want, got = _outcome(lambda: ufunc(*args)), _outcome(lambda: ufunc(*targs))
        what = f"{ufunc.__name__}{'(n, a)' if order else '(a, n)'} with n={number!r}, a {operand.dtype}"
        assert type(want[0]) is type(got[0]), what
        assert same_bits(np.asarray(want[0]), np.asarray(got[0])), f"{what}: {want[0]} vs {got[0]}"
        assert want[1:] == got[1:], f"{what}: warnings/errors {want[1:]} vs {got[1:]}"


# ---- typed numbers (numbers.py): the converted 0-d array is numpy's own conversion ----

@pytest.mark.parametrize("dtype", FLOATS, ids=lambda d: d.__name__)
@pytest.mark.parametrize("ufunc", UFUNCS, ids=lambda u: u.__name__)
def test_a_typed_number_gives_the_bits_warnings_and_errors_of_the_python_number(ufunc, dtype):
    a = _operands(dtype)
    typed_any = 0
    for number in NUMBERS:
        typed = as_typed(number, np.dtype(dtype))
        if typed is None:
            continue
        typed_any += 1
        assert typed.shape == () and typed.dtype == dtype and not typed.flags.writeable
        for operand in (a, a[2:3].reshape(()), a[5]):  # an array, a 0-d array, a numpy scalar
            _same_call(ufunc, number, typed, operand)
    assert typed_any >= len(NUMBERS) - 12  # not vacuous: most numbers are converted


@settings(derandomize=True, max_examples=300, deadline=None)
@given(number=st.one_of(st.floats(), st.integers(-2 ** 80, 2 ** 80)),
       dtype=st.sampled_from(FLOATS), ufunc=st.sampled_from(UFUNCS))
def test_typed_numbers_any_number(number, dtype, ufunc):
    typed = as_typed(number, np.dtype(dtype))
    if typed is not None:
        _same_call(ufunc, number, typed, _operands(dtype))


def test_as_typed_refuses_what_it_cannot_prove():
    f16, f32, f64 = (np.dtype(d) for d in FLOATS)
    for number, dtype in [(True, f64), (np.float64(0.5), f32), (np.float32(1), f32), (1, np.dtype(np.int64)),
                          (1.5, np.dtype(np.complex128)), (2 ** 1024, f64),
                          # overflows warn (or raise under errstate) on every eager call
                          (70000, f16), (65520, f16), (1e300, f32), (-2 ** 31, f16), (3.5e38, f32)]:
        assert as_typed(number, dtype) is None, (number, dtype)
    for number, dtype in [(INF, f16), (-INF, f32), (NAN, f16), (-0.0, f64), (65504, f16),
                          (3.4e38, f32), (1e-320, f16), (2 ** 53 + 1, f64)]:
        assert as_typed(number, dtype) is not None, (number, dtype)


# ---- typed numbers in jitted steps (float16 and float32 models) -------------------------

def _numbers_rig(dtype):
    def make():
        model = nn.Sequential(nn.Linear(4, 6, rng=0, dtype=dtype), nn.Linear(6, 2, rng=1, dtype=dtype))
        opt = optim.SGD(model.parameters(), lr=0.05)

        def step(x, y):
            opt.zero_grad()
            h = model(x) * 0.1 + 3
            s = 1 / (1 + tg.exp(-h))
            r = tg.maximum(s - 0.75, 0) + tg.where(h > 3, h, 0.0) * 2 - tg.minimum(h, 2.5) / 3
            r = r + (h >= 3.0) * 0.5 + (h - 3) ** 3 + (1 - s) ** 2 + 0.5 ** 2
            loss = ((r - y) ** 2).mean()
            loss.backward()
            opt.step()
            return loss, s
        return rig(step, model, opt)
    return make


@pytest.mark.parametrize("dtype", [np.float16, np.float32], ids=lambda d: d.__name__)
def test_steps_with_python_numbers_replay_like_eager(dtype):
    rng = np.random.default_rng(3)
    xs, ys = rng.standard_normal((40, 4)).astype(dtype), rng.standard_normal((40, 2)).astype(dtype)
    fn, _ = assert_jit_equals_eager(_numbers_rig(dtype), batches(xs, 8, labels=ys), steps=8)
    assert fn.cache_info().hits == 6
    assert f"= 0.1 as {np.dtype(dtype)}" in fn.program  # the numbers were typed


def test_a_number_overflowing_the_dtype_warns_and_raises_on_replay_like_eager():
    """``x * 70000`` on float16: numpy warns "overflow encountered in cast" (raises under
    ``np.errstate(over="raise")``) on each call; a typed inf would have hidden it. Fix in
    numbers.as_typed: a conversion that sets a floating-point flag is not typed."""
    w = tg.Tensor(np.ones(3, np.float16), requires_grad=True)

    @tg.jit
    def f(x):
        return (x * 70000 + w).sum()

    x = tg.Tensor(np.ones(3, np.float16))
    for _ in range(4):
        with pytest.warns(RuntimeWarning, match="overflow"):
            assert np.isinf(f(x).data)
    with np.errstate(over="raise"), pytest.raises(FloatingPointError):
        f(x)
    assert f.cache_info().hits >= 3


# ---- SGD written out (sgd_step.py): every kind of learning rate -------------------------

def _sgd_rig(dtype=np.float64, lr=0.1):
    def make():
        r = small(dtype=dtype)
        r.opt.param_groups[0]["lr"] = lr
        return r
    return make


def _set_lr(values):
    def between(r, i):
        r.opt.param_groups[0]["lr"] = values(i)
    return between


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=lambda d: d.__name__)
@pytest.mark.parametrize("lr, between", [
    (0.1, None),
    (1, None),  # an int rate: converted like a float
    (np.float64(0.1), None),  # a strong numpy scalar: float32 params update in float64, cast back
    (np.float32(0.1), None),
    (0.1, _set_lr(lambda i: 0.1 / (i + 1))),  # a new float object every step
    (0.1, _set_lr(lambda i: [0.1, 0.05, 1, np.float64(0.02), 0.05][i % 5])),  # mixed kinds
    (0.1, _set_lr(lambda i: float(str(0.1 + (i > 5) * 0.1)))),  # equal values, new objects
], ids=["float", "int", "np.float64", "np.float32", "schedule", "mixed", "equal-objects"])
def test_sgd_learning_rates_replay_like_eager(dtype, lr, between):
    x, y = data(dtype=dtype)
    fn, r = assert_jit_equals_eager(_sgd_rig(dtype, lr), lambda i: (x, y), steps=10, between=between)
    assert fn.cache_info().records == 2 and "_lr" in fn.program  # written out, not the macro


def test_a_scheduler_stepping_sgd_replays_like_eager():
    def make():
        r = small(dtype=np.float32)
        r.sched = optim.lr_scheduler.StepLR(r.opt, step_size=2, gamma=0.5)
        return r

    x, y = data(dtype=np.float32)
    assert_jit_equals_eager(make, lambda i: (x, y), steps=10,
                            between=lambda r, i: r.sched.step() if i else None)


def test_the_sign_of_a_zero_learning_rate_reaches_the_parameters():
    """``p - (-0.0) * g`` and ``p - 0.0 * g`` differ on zero parameters: a typed rate cached
    by value (0.0 == -0.0) would replay the wrong sign."""
    signed = np.array([0.0, -0.0, 0.0, -0.0])
    start = np.array([-0.0, -0.0, 0.0, 0.0])

    def make():
        r = small()
        z = r.model.z = nn.Parameter(start.copy())  # in the snapshot, not in group 0
        r.opt.add_param_group({"params": [z], "lr": 0.0})
        inner = r.step

        def step(x, y):
            loss = inner(x, y)  # zero_grad, backward of the MLP, opt.step()
            (z * signed).sum().backward()  # z.grad: signed zeros
            r.opt.step()
            return loss
        r.step = step
        return r

    rates = [0.0, 0.0, 0.0, -0.0, -0.0, 0.0, -0.0, 0.0, 0.0, -0.0]
    after = set()

    def between(r, i):
        if i:
            after.add(tuple(np.signbit(r.model.z.data)))
        r.opt.param_groups[1]["lr"] = rates[i]
        r.model.z.data[...] = start  # each step's signs then follow its own rate only

    x, y = data()
    fn, r = assert_jit_equals_eager(make, lambda i: (x, y), steps=len(rates), between=between)
    assert fn.cache_info().hits >= len(rates) - 3
    assert len(after) == 2  # not vacuous: the two rates left different signs


def test_zero_and_negative_zero_numbers_in_one_program_stay_apart():
    w = tg.Tensor(np.array([1.0, -2.0, 3.0], np.float32), requires_grad=True)

    def fn(x):
        h = x * w
        return h * 0.0, h * -0.0, h + -0.0, h * 0, -0.0 - h * 0.0, h * NAN, h * -NAN

    f = tg.jit(fn)
    for v in (1.0, 2.0, -1.0, 3.0, 0.0):
        x = tg.Tensor(np.full(3, v, np.float32))
        for got, want in zip(f(x), fn(x)):
            assert same_bits(got.data, want.data), (v, got, want)
    assert f.cache_info().hits == 3


def test_two_param_groups_of_different_dtypes_and_rates():
    def make():
        m32, m64 = nn.Linear(4, 2, rng=0, dtype=np.float32), nn.Linear(4, 2, rng=1)
        opt = optim.SGD([{"params": m32.parameters(), "lr": 0.1},
                         {"params": m64.parameters(), "lr": 1}], lr=0.5)

        def step(x, y):
            opt.zero_grad()
            l32 = ((m32(x.astype(np.float32)) - y.astype(np.float32)) ** 2).mean()
            l64 = ((m64(x) - y) ** 2).mean() * 0.25
            (l32 + l64).backward()
            opt.step()
            return l32, l64
        return rig(step, nn.ModuleList([m32, m64]), opt)

    def between(r, i):
        g0, g1 = r.opt.param_groups
        g0["lr"], g1["lr"] = [(0.1, 1), (0.3, 1), (0.3, 0.5), (np.float64(0.2), 2)][i % 4]

    x, y = data()
    fn, _ = assert_jit_equals_eager(make, lambda i: (x, y), steps=10, between=between)
    assert fn.cache_info().records == 2


# ---- matmul through ndarray.dot (ops/linalg._mm) -------------------------------------------

_SHAPES = [((3, 4), (4, 5)), ((5, 1), (1, 4)), ((1, 7), (7, 1)), ((1, 1), (1, 1)), ((7, 5), (5, 1)),
           ((1, 9), (9, 6)), ((6, 1), (1, 1)), ((33, 17), (17, 9)), ((2, 0), (0, 3)), ((0, 3), (3, 2))]


def _layouts(a, requires_grad=True):
    """Tensors with ``a``'s values laid out as a C array, a Fortran array (the .T view of a
    transposed copy) and a strided view (every other column of a wider array)."""
    wide = tg.Tensor(np.repeat(a, 2, axis=1), requires_grad=requires_grad)[:, ::2]
    fortran = tg.Tensor(np.ascontiguousarray(a.T), requires_grad=requires_grad).T
    out = [tg.Tensor(a, requires_grad=requires_grad), fortran, wide]
    if min(a.shape) > 1:  # (with a 1 in the shape, every layout is contiguous)
        assert not wide.data.flags.c_contiguous and not wide.data.flags.f_contiguous
        assert fortran.data.flags.f_contiguous and not fortran.data.flags.c_contiguous
    return out


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=lambda d: d.__name__)
def test_2d_float_matmul_is_np_dot_bit_for_bit_forward_and_backward(dtype):
    rng = np.random.default_rng(0)
    checked = 0
    for sa, sb in _SHAPES:
        a, b = rng.standard_normal(sa).astype(dtype), rng.standard_normal(sb).astype(dtype)
        g = rng.standard_normal((sa[0], sb[1])).astype(dtype)
        for i in range(3):
            for j in range(3):
                va, vb = _layouts(a)[i], _layouts(b)[j]
                va.retain_grad(), vb.retain_grad()
                out = tg.matmul(va, vb)
                assert same_bits(out.data, np.dot(va.data, vb.data)), (sa, sb, va.data.strides, vb.data.strides)
                assert same_bits((va @ vb).data, out.data)
                out.backward(tg.Tensor(g))
                assert same_bits(va.grad.data, np.dot(g, vb.data.T))
                assert same_bits(vb.grad.data, np.dot(va.data.T, g))
                checked += 1
    assert checked == len(_SHAPES) * 9


def test_linear_forward_is_np_dot_plus_bias():
    rng = np.random.default_rng(1)
    for dtype in (np.float32, np.float64):
        lin = nn.Linear(5, 3, rng=0, dtype=dtype)
        for n in (1, 4):
            x = rng.standard_normal((n, 5)).astype(dtype)
            want = np.dot(x, lin.weight.data) + lin.bias.data
            assert same_bits(lin(tg.Tensor(x)).data, want)


@pytest.mark.parametrize("sa, sb, da, db", [
    ((3, 4), (4, 2), np.float32, np.float64),  # mixed: cast to the result dtype, then the product
    ((3, 4), (4, 2), np.int64, np.float64),
    ((3, 4), (4, 2), np.float16, np.float16),  # no BLAS for float16: np.matmul
    ((2, 3, 4), (4, 5), np.float64, np.float64),  # N-D: np.matmul
    ((2, 3, 4), (2, 4, 1), np.float32, np.float32),
    ((4,), (4, 3), np.float64, np.float64),  # 1-D operands
    ((3, 4), (4,), np.float32, np.float32),
    ((3, 4), (4, 2), np.int64, np.int64),
])
def test_other_products_follow_np_matmul(sa, sb, da, db):
    rng = np.random.default_rng(2)
    a = (rng.standard_normal(sa) * 3).astype(da)
    b = (rng.standard_normal(sb) * 3).astype(db)
    dt = np.result_type(a, b)
    want = np.matmul(a.astype(dt), b.astype(dt))
    got = tg.matmul(tg.Tensor(a), tg.Tensor(b)).data
    assert same_bits(got, want)
    if a.ndim == 2 == b.ndim and dt in (np.float32, np.float64):
        assert same_bits(got, np.dot(a, b))  # 2-D products made in BLAS: the blog's np.dot


def test_a_constant_matrix_times_a_tensor_is_recorded():
    """``const @ t`` (and its backward's ``const.T @ g``): ``ndarray.dot`` of a plain
    array does not dispatch, so a jit recording could not log it (TraceError). Fix in
    linalg._mm: np.dot, the same routine, when only the second operand is traced."""
    rng = np.random.default_rng(4)
    const = rng.standard_normal((3, 4))
    w = tg.Tensor(rng.standard_normal((4, 2)), requires_grad=True)

    def fn(x):
        w.grad = None
        out = const @ (w * x) + np.dot(const[:, :1].T, const @ w)
        out.sum().backward()
        return out, w.grad * 1.0

    f = tg.jit(fn)
    for v in (1.0, 1.0, 2.0, -1.0):
        x = tg.Tensor(np.full((4, 2), v))
        for got, want in zip(f(x), fn(x)):
            assert same_bits(got.data, want.data)
    assert f.cache_info().hits == 2
