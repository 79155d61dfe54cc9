"""The gradient checker itself: numerical_jacobian, gradcheck, gradgradcheck.

Most important: it must catch wrong backward rules, with a report that says
where. The rules below are deliberately broken in the ways real ones break.
"""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings

import tinygrad_edu as tg
from tinygrad_edu import autograd
from tinygrad_edu.autograd import backward_rule, record
from tinygrad_edu.ops._common import val
from tinygrad_edu.testing import assert_grad_close, tensors

# The harness's tolerances (see test_ops_gradients.py).
TIGHT = dict(atol=1e-6, rtol=1e-5)


def rng_tensor(*shape, seed=0, requires_grad=True, dtype=np.float64):
    data = np.random.default_rng(seed).uniform(-2, 2, shape).astype(dtype)
    return tg.Tensor(data, requires_grad=requires_grad)


# ---- custom ops with known bugs ------------------------------------------------------
@backward_rule("square_off_by_1.0005")
def _square_off(g, out, inputs, saved, needs):
    return (g * (2 * inputs[0]) * 1.0005,)


def square_off(x):
    """x**2 whose backward is 0.05 % too large."""
    return record(x.data ** 2, _square_off, (x,))


@backward_rule("bias_add_first_copy")
def _bias_add_first_copy(g, out, inputs, saved, needs):
    # Bug: takes the gradient of one broadcast copy (row 0) instead of
    # summing over all rows that used the bias.
    return (g if needs[0] else None, g[0] if needs[1] else None)


def bias_add(x, b):
    """x (n, d) + b (d,) whose backward skips the reduction over the batch axis."""
    return record(x.data + b.data, _bias_add_first_copy, (x, b))


@backward_rule("square_not_differentiable")
def _square_constant_slope(g, out, inputs, saved, needs):
    # Right value, but val() turns x into a constant in create_graph mode, so
    # the second derivative through this rule is lost.
    return (g * (2 * val(inputs[0])),)


def square_flat_backward(x):
    return record(x.data ** 2, _square_constant_slope, (x,))


# ---- numerical_jacobian ------------------------------------------------------------------
def test_numerical_jacobian_of_linear_map_is_the_matrix():
    A = np.random.default_rng(1).normal(size=(4, 3))
    x = rng_tensor(3)
    (J,), = numerical_jacobian_of(lambda v: tg.Tensor(A) @ v, x)
    assert J.shape == (4, 3) and J.dtype == np.float64
    np.testing.assert_allclose(J, A, rtol=1e-9, atol=1e-9)


def numerical_jacobian_of(fn, *inputs):
    return tg.numerical_jacobian(fn, inputs)


def test_numerical_jacobian_layout_for_several_inputs_and_outputs():
    x, y = rng_tensor(2, 3), rng_tensor(3, seed=1)
    c = rng_tensor(3, seed=2, requires_grad=False)
    jx, jy, jc = tg.numerical_jacobian(lambda a, b, k: (a * b, (a * k).sum()), (x, y, c))
    assert jc is None  # does not require grad: held fixed
    assert [j.shape for j in jx] == [(6, 6), (1, 6)]
    assert [j.shape for j in jy] == [(6, 3), (1, 3)]
    # d(x*y)[i, j] / dx[i, j] = y[j], on the diagonal of the flattened layout
    np.testing.assert_allclose(np.diag(jx[0]), np.tile(y.data, 2), rtol=1e-8)
    np.testing.assert_allclose(jx[1][0], np.tile(c.data, 2), rtol=1e-8)


def test_numerical_jacobian_leaves_inputs_untouched():
    x = rng_tensor(3, 2)
    before = x.data.copy()
    data_obj = x.data
    tg.numerical_jacobian(lambda a: a.reshape(-1) * 3, x)  # output is a view of the input
    assert x.data is data_obj and np.array_equal(x.data, before) and x.grad is None


def test_numerical_jacobian_copes_with_outputs_that_view_the_input():
    x = rng_tensor(2, 2)
    (J,), = tg.numerical_jacobian(lambda a: a.T, x)
    np.testing.assert_allclose(J, np.eye(4)[[0, 2, 1, 3]], atol=1e-9)


# ---- gradcheck passes on correct gradients ------------------------------------------------
@settings(max_examples=15, deadline=None)
@given(tensors(shape=(3, 2), requires_grad=True), tensors(shape=(2,), requires_grad=True))
def test_gradcheck_accepts_correct_gradients_slow_and_fast(x, b):
    fn = lambda a, c: ((a * c).tanh() + a ** 2, (a @ c).sum())  # noqa: E731
    assert tg.gradcheck(fn, (x, b), **TIGHT) is True
    assert tg.gradcheck(fn, (x, b), fast_mode=True, **TIGHT) is True
    assert tg.gradgradcheck(fn, (x, b), **TIGHT) is True
    assert tg.gradgradcheck(fn, (x, b), fast_mode=True, **TIGHT) is True


def test_gradcheck_passes_non_tensor_arguments_through_and_skips_inputs_without_grad():
    x = rng_tensor(2, 3)
    fixed = rng_tensor(2, 3, seed=5, requires_grad=False)
    # bias_add's wrong gradient goes only to b, which is not checked here
    b = rng_tensor(3, seed=3, requires_grad=False)
    assert tg.gradcheck(lambda a, axis, k, bb: bias_add(a * k, bb).sum(axis=axis), (x, 1, fixed, b))


def test_gradcheck_works_under_no_grad():
    x = rng_tensor(3)
    with tg.no_grad():
        assert tg.gradcheck(lambda a: a.exp(), x)
        assert tg.gradgradcheck(lambda a: a.exp(), x)


def test_gradcheck_does_not_touch_inputs_or_their_grad():
    x = rng_tensor(2, 2)
    x.grad = tg.Tensor(np.full((2, 2), 7.0))
    before = x.data.copy()
    tg.gradcheck(lambda a: a * a, x)
    tg.gradgradcheck(lambda a: a * a, x)
    assert np.array_equal(x.data, before) and np.array_equal(x.grad.data, np.full((2, 2), 7.0))


# ---- gradcheck catches wrong gradients ----------------------------------------------------
def test_off_by_factor_1_0005_is_caught_with_a_clear_report():
    x = rng_tensor(2, 3, seed=4)
    with pytest.raises(tg.GradcheckError) as info:
        tg.gradcheck(square_off, x, **TIGHT)
    msg = str(info.value)
    for part in ("gradcheck failed for square_off", "output 0", "input 0", "worst element",
                 "analytical:", "numerical:", "max |analytical - numerical|"):
        assert part in msg, part
    (mm,) = info.value.mismatches
    assert (mm.input, mm.output) == (0, 0)
    # the worst element is the largest |x| (error 0.0005 * 2|x|), on the diagonal
    worst = np.unravel_index(np.argmax(np.abs(x.data)), x.shape)
    assert mm.input_index == mm.output_index == tuple(int(i) for i in worst)
    assert mm.analytical == pytest.approx(1.0005 * mm.numerical, rel=1e-8)
    assert mm.analytical == pytest.approx(2 * 1.0005 * x.data[worst], rel=1e-12)
    assert mm.max_error == pytest.approx(0.0005 * 2 * np.abs(x.data).max(), rel=1e-4)
    assert f"{mm.analytical!r}" in msg and f"{mm.numerical!r}" in msg
    assert isinstance(info.value, RuntimeError)


def test_off_by_factor_1_0005_is_caught_in_fast_mode_and_without_raising():
    x = rng_tensor(2, 3, seed=4)
    with pytest.raises(tg.GradcheckError, match="fast mode: the random projection"):
        tg.gradcheck(square_off, x, fast_mode=True, **TIGHT)
    assert tg.gradcheck(square_off, x, raise_exception=False, **TIGHT) is False
    assert tg.gradcheck(square_off, x, raise_exception=False, fast_mode=True, **TIGHT) is False


def test_default_tolerances_are_pytorchs_and_admit_a_relative_error_below_rtol():
    # |a - n| = 5e-4 |n| <= atol + 1e-3 |n|: by definition not a mismatch at
    # PyTorch's defaults, which is why the harness uses rtol=1e-5.
    x = rng_tensor(2, 3, seed=4)
    assert tg.gradcheck(square_off, x) is True


def test_a_rule_that_skips_broadcast_reduction_is_caught():
    x, b = rng_tensor(4, 3), rng_tensor(3, seed=1)
    with pytest.raises(tg.GradcheckError) as info:
        tg.gradcheck(bias_add, (x, b))
    (mm,) = info.value.mismatches
    assert mm.input == 1 and mm.input_name == "input 1"
    # the rule passes one row's gradient where the sum over the rows (4) belongs
    assert mm.numerical == pytest.approx(1.0) and mm.analytical in (0.0, 1.0)
    assert "with respect to input 1 (shape (3,))" in str(info.value)
    with pytest.raises(tg.GradcheckError):
        tg.gradcheck(bias_add, (x, b), fast_mode=True)


def test_a_broken_shared_unbroadcast_is_caught(monkeypatch):
    # If the engine's single broadcast reduction took one copy instead of the
    # sum, every broadcasting op would be wrong; gradcheck on + must notice.
    def first_copy(g, shape):
        while g.ndim > len(shape):
            g = g[0]
        return g[tuple(slice(0, 1) if n == 1 else slice(None) for n in shape)].reshape(shape)

    monkeypatch.setattr(autograd, "unbroadcast", first_copy)
    a, b = rng_tensor(2, 3), rng_tensor(3, seed=1)
    with pytest.raises(tg.GradcheckError, match="with respect to input 1"):
        tg.gradcheck(lambda u, v: u + v, (a, b))
    with pytest.raises(AssertionError, match="Jacobian mismatch"):
        assert_grad_close(lambda u, v: u * v, (a, b))


def test_gradgradcheck_catches_a_backward_that_is_not_differentiable():
    x = rng_tensor(3, seed=7)
    assert tg.gradcheck(square_flat_backward, x, **TIGHT)  # first derivative is right
    with pytest.raises(tg.GradcheckError) as info:
        tg.gradgradcheck(square_flat_backward, x, **TIGHT)
    msg = str(info.value)
    assert "gradgradcheck failed" in msg
    assert "gradient of input 0" in msg and "with respect to input 0" in msg
    (mm,) = info.value.mismatches
    assert mm.analytical == 0.0 and mm.numerical != pytest.approx(0.0)
    with pytest.raises(tg.GradcheckError):
        tg.gradgradcheck(square_flat_backward, x, fast_mode=True, **TIGHT)


def test_gradgradcheck_checks_the_grad_outputs_too():
    x = rng_tensor(3, seed=7)
    v = tg.Tensor(np.array([1.0, -2.0, 0.5]), requires_grad=True)
    assert tg.gradgradcheck(lambda a: a.sin(), x, v, **TIGHT)
    assert tg.gradgradcheck(lambda a: a.sin(), x, (v.detach(),), **TIGHT)
    with pytest.raises(ValueError, match="1 outputs that require grad but 2 grad_outputs"):
        tg.gradgradcheck(lambda a: a.sin(), x, (v, v))


def test_a_detached_output_that_depends_on_the_input_is_caught():
    x = rng_tensor(3)
    with pytest.raises(tg.GradcheckError, match="does not require grad"):
        tg.gradcheck(lambda a: tg.Tensor(a.data * 2), x)
    # a constant output is fine: its Jacobian is zero both ways
    assert tg.gradcheck(lambda a: tg.Tensor(np.ones(2)), x)


def test_shape_changes_under_perturbation_are_reported():
    x = tg.Tensor([0.0, 1.0], requires_grad=True)
    with pytest.raises(tg.GradcheckError, match="changed the shapes"):
        tg.gradcheck(lambda a: a[a.data > 0], x)


# ---- bad use ---------------------------------------------------------------------------
def test_float32_inputs_warn_that_finite_differences_need_float64():
    x = rng_tensor(3, dtype=np.float32)
    with pytest.warns(UserWarning, match="input 0 has dtype float32.*need float64"):
        tg.gradcheck(lambda a: a * 2, x, raise_exception=False)


def test_errors_for_bad_arguments():
    with pytest.raises(ValueError, match="no input requires grad"):
        tg.gradcheck(lambda a: a * 2, rng_tensor(3, requires_grad=False))
    with pytest.raises(ValueError, match="no input requires grad"):
        tg.gradgradcheck(lambda a: a * 2, rng_tensor(3, requires_grad=False))
    with pytest.raises(TypeError, match="output 0 is ndarray"):
        tg.gradcheck(lambda a: a.data * 2, rng_tensor(3))
    big = tg.Tensor([1e12], requires_grad=True)
    with pytest.raises(ValueError, match="eps=1e-06 does not change element 0 of input 0"):
        tg.gradcheck(lambda a: a * 2, big)
    assert issubclass(tg.GradcheckError, RuntimeError)


def test_fast_mode_is_reproducible_and_seeded():
    x = rng_tensor(2, 3, seed=4)

    def report(seed):
        with pytest.raises(tg.GradcheckError) as info:
            tg.gradcheck(square_off, x, fast_mode=True, seed=seed, **TIGHT)
        return str(info.value).splitlines()[2]  # the projection line

    assert report(None) == report(None)
    assert report(1) != report(2)


def test_an_input_passed_twice_is_perturbed_as_one():
    # autograd's gradient for a repeated input is the total over both uses, so
    # the finite differences must move both uses together.
    x = rng_tensor(3, seed=2)
    assert tg.gradcheck(lambda a, b: a * b.exp(), (x, x), **TIGHT)
    assert tg.gradcheck(lambda a, b: a * b.exp(), (x, x), fast_mode=True, **TIGHT)
    assert tg.gradgradcheck(lambda a, b: a * b.exp(), (x, x), **TIGHT)
