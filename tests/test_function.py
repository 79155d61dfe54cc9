"""User-defined Functions: gradients against finite differences, create_graph,
no_grad, broadcasting, accumulation, multiple outputs, and error messages."""
import re

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import tinygrad_edu as tg
from tinygrad_edu import Function, Tensor


# ---- a tiny local finite-difference helper (to be replaced by tinygrad_edu.gradcheck) ----
def numerical_grad(f, arrays, eps=1e-6):
    """Central differences of the scalar ``f(*arrays)`` w.r.t. each float64 array."""
    grads = []
    for a in arrays:
        g = np.zeros_like(a)
        for idx in np.ndindex(a.shape):
            old = a[idx]
            a[idx] = old + eps
            hi = f(*arrays)
            a[idx] = old - eps
            lo = f(*arrays)
            a[idx] = old
            g[idx] = (hi - lo) / (2 * eps)
        grads.append(g)
    return grads


def check_grads(fn, arrays, seed=0, atol=1e-6, rtol=1e-5):
    """Compare backward of sum(fn(*tensors) * w) with central differences (float64)."""
    arrays = [np.array(a, dtype=np.float64) for a in arrays]
    ts = [Tensor(a, requires_grad=True) for a in arrays]
    out = fn(*ts)
    w = np.random.default_rng(seed).standard_normal(out.shape)
    (out * w).sum().backward()

    def scalar(*arrs):
        with tg.no_grad():
            return float(np.sum(fn(*[Tensor(a) for a in arrs]).data * w))

    for t, num in zip(ts, numerical_grad(scalar, arrays)):
        np.testing.assert_allclose(t.grad.data, num, atol=atol, rtol=rtol)


floats = st.floats(-2, 2, allow_nan=False, allow_subnormal=False)
small_shapes = hnp.array_shapes(min_dims=0, max_dims=3, max_side=3)


# ---- Functions used below ------------------------------------------------------------
from _functions import Cube  # noqa: E402  (shared with other test files)


class Exp(Function):
    """exp(x), saving the output (as most real exp implementations do)."""

    @staticmethod
    def forward(ctx, x):
        y = np.exp(x)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, g):
        (y,) = ctx.saved_tensors
        return g * y


class BMul(Function):
    """a * b with broadcasting; backward returns broadcast-shaped gradients."""

    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return a * b

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        return g * b, g * a


class SinCos(Function):
    """Two outputs; counts how often backward runs and records what it receives."""

    calls = []

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return np.sin(x), np.cos(x)

    @staticmethod
    def backward(ctx, gs, gc):
        SinCos.calls.append((gs.data.copy(), gc.data.copy()))
        (x,) = ctx.saved_tensors
        return gs * np.cos(x) - gc * np.sin(x)


# ---- gradients against finite differences ------------------------------------------
@settings(max_examples=25, deadline=None)
@given(hnp.arrays(np.float64, small_shapes, elements=floats))
def test_cube_matches_finite_differences(x):
    check_grads(Cube.apply, [x])


@settings(max_examples=25, deadline=None)
@given(hnp.arrays(np.float64, small_shapes, elements=floats))
def test_exp_saving_output_matches_finite_differences(x):
    check_grads(Exp.apply, [x])


@settings(max_examples=30, deadline=None)
@given(hnp.mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=3, max_side=3),
       st.integers(0, 2**31 - 1))
def test_broadcasting_gradients_are_summed_back(shapes, seed):
    rng = np.random.default_rng(seed)
    a, b = (rng.standard_normal(s) for s in shapes.input_shapes)
    check_grads(BMul.apply, [a, b], seed=seed)
    # and they equal the built-in mul's gradients exactly (same arithmetic, same reduction)
    ta, tb = Tensor(a, requires_grad=True), Tensor(b, requires_grad=True)
    ra, rb = Tensor(a, requires_grad=True), Tensor(b, requires_grad=True)
    w = rng.standard_normal(shapes.result_shape)
    (BMul.apply(ta, tb) * w).sum().backward()
    (ra * rb * w).sum().backward()
    assert ta.grad.shape == a.shape and tb.grad.shape == b.shape
    assert np.array_equal(ta.grad.data, ra.grad.data)
    assert np.array_equal(tb.grad.data, rb.grad.data)


@settings(max_examples=20, deadline=None)
@given(hnp.arrays(np.float64, hnp.array_shapes(min_dims=1, max_dims=2, max_side=3), elements=floats),
       st.integers(0, 2**31 - 1))
def test_multiple_outputs_match_finite_differences(x, seed):
    rng = np.random.default_rng(seed)
    wa, wb = rng.standard_normal(x.shape), rng.standard_normal(x.shape)

    def f(t):
        s, c = SinCos.apply(t)
        return s * wa + c * wb

    check_grads(f, [x], seed=seed)


# ---- create_graph: second derivatives ------------------------------------------------
def test_create_graph_second_derivative_through_saved_input():
    x = Tensor([-1.5, 0.5, 2.0], requires_grad=True)
    (g,) = tg.grad(Cube.apply(x).sum(), x, create_graph=True)
    assert g.requires_grad
    np.testing.assert_allclose(g.data, 3 * x.data ** 2)
    (h,) = tg.grad(g.sum(), x)
    np.testing.assert_allclose(h.data, 6 * x.data)


def test_create_graph_second_derivative_through_saved_output():
    # backward uses the saved *output*; it must come back with its history,
    # else d/dx (g * exp(x)) would miss the exp(x) factor's own derivative.
    x = Tensor([-1.0, 0.0, 0.7], requires_grad=True)
    (g,) = tg.grad(Exp.apply(x).sum(), x, create_graph=True)
    (h,) = tg.grad(g.sum(), x, create_graph=True)
    (k,) = tg.grad(h.sum(), x)
    np.testing.assert_allclose(h.data, np.exp(x.data))
    np.testing.assert_allclose(k.data, np.exp(x.data))


def test_create_graph_matches_finite_differences_of_first_derivative():
    x0 = np.array([[0.3, -1.2], [2.0, 0.1]])
    x = Tensor(x0, requires_grad=True)
    (g,) = tg.grad(Exp.apply(Cube.apply(x)).sum(), x, create_graph=True)
    g.sum().backward()

    def first(a):
        t = Tensor(a, requires_grad=True)
        (gg,) = tg.grad(Exp.apply(Cube.apply(t)).sum(), t)
        return float(gg.data.sum())

    (num,) = numerical_grad(first, [x0.copy()])
    np.testing.assert_allclose(x.grad.data, num, rtol=1e-6, atol=1e-6)


def test_create_graph_with_multiple_outputs():
    # d/dx [sin x + cos x] = cos x - sin x;  d2/dx2 = -sin x - cos x
    x = Tensor([0.2, 1.3, -0.8], requires_grad=True)
    s, c = SinCos.apply(x)
    (g,) = tg.grad((s + c).sum(), x, create_graph=True)
    np.testing.assert_allclose(g.data, np.cos(x.data) - np.sin(x.data))
    (h,) = tg.grad(g.sum(), x)
    np.testing.assert_allclose(h.data, -np.sin(x.data) - np.cos(x.data))


class TwoExp(Function):
    """(exp(x), 2 exp(x)), saving output 1: in a create_graph backward it must carry history."""

    @staticmethod
    def forward(ctx, x):
        e = np.exp(x)
        e2 = 2 * e
        ctx.save_for_backward(e2)
        return e, e2

    @staticmethod
    def backward(ctx, g1, g2):
        (e2,) = ctx.saved_tensors
        return (g1 * 0.5 + g2) * e2


def test_create_graph_saved_output_of_multi_output_function():
    x = Tensor([0.1, -0.4], requires_grad=True)
    a, b = TwoExp.apply(x)
    (g,) = tg.grad((a + b).sum(), x, create_graph=True)   # 3 exp(x)
    np.testing.assert_allclose(g.data, 3 * np.exp(x.data))
    (h,) = tg.grad(g.sum(), x)
    np.testing.assert_allclose(h.data, 3 * np.exp(x.data))


def test_backward_written_with_numpy_functions_is_recorded():
    class Sin(Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return np.sin(x)

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return g * np.cos(x)

    x = Tensor([0.3, 1.1], requires_grad=True)
    (g,) = tg.grad(Sin.apply(x).sum(), x, create_graph=True)
    (h,) = tg.grad(g.sum(), x)
    np.testing.assert_allclose(h.data, -np.sin(x.data))


# ---- modes, accumulation, bookkeeping --------------------------------------------------
def test_no_grad_records_nothing_and_skips_backward():
    x = Tensor([1.0, 2.0], requires_grad=True)
    seen = {}

    class Spy(Function):
        @staticmethod
        def forward(ctx, x):
            seen["needs"] = ctx.needs_input_grad
            seen["grad_mode"] = tg.is_grad_enabled()
            return x * 2

        @staticmethod
        def backward(ctx, g):  # pragma: no cover - must not run
            raise AssertionError("backward called under no_grad")

    with tg.no_grad():
        y = Spy.apply(x)
    assert not y.requires_grad and y.grad_fn is None
    assert seen == {"needs": (False,), "grad_mode": False}
    np.testing.assert_array_equal(y.data, [2.0, 4.0])


def test_forward_runs_under_no_grad_but_output_is_recorded():
    x = Tensor([1.0, 2.0], requires_grad=True)
    inner = {}

    class Twice(Function):
        @staticmethod
        def forward(ctx, x):
            y = x * 2
            inner["y_requires_grad"] = y.requires_grad
            return y

        @staticmethod
        def backward(ctx, g):
            return g * 2

    y = Twice.apply(x)
    assert inner["y_requires_grad"] is False
    assert y.requires_grad and y.grad_fn.name == "Twice"
    assert repr(y).endswith("grad_fn=<Twice>)")


def test_accumulation_over_uses_and_over_backward_calls():
    x = Tensor([0.5, -1.0], requires_grad=True)
    y = Cube.apply(x)
    (y + y * 2).sum().backward()
    np.testing.assert_allclose(x.grad.data, 9 * x.data ** 2)
    Cube.apply(x).sum().backward()
    np.testing.assert_allclose(x.grad.data, 12 * x.data ** 2)


def test_needs_input_grad_and_non_tensor_arguments():
    seen = {}

    class Affine(Function):
        @staticmethod
        def forward(ctx, x, w, scale, name=None):
            seen["needs"] = ctx.needs_input_grad
            seen["name"] = name
            ctx.scale = scale  # arbitrary attributes on ctx
            ctx.save_for_backward(w)
            return x * w * scale

        @staticmethod
        def backward(ctx, g):
            (w,) = ctx.saved_tensors
            # a gradient for w (which does not require grad) is ignored
            return g * w * ctx.scale, g * 123.0, None

    x = Tensor([1.0, 2.0], requires_grad=True)
    w = Tensor([3.0, 4.0])
    y = Affine.apply(x, w, 0.5, name="layer")
    assert seen == {"needs": (True, False, False), "name": "layer"}
    y.sum().backward()
    np.testing.assert_allclose(x.grad.data, [1.5, 2.0])
    assert w.grad is None


def test_gradient_for_non_tensor_argument_is_an_error():
    class Bad(Function):
        @staticmethod
        def forward(ctx, x, k):
            return x * k

        @staticmethod
        def backward(ctx, g):
            return g * 2, g

    x = Tensor([1.0], requires_grad=True)
    with pytest.raises(RuntimeError, match=r"Bad\.backward returned a gradient for argument 1, "
                                           r"which is a float"):
        Bad.apply(x, 2.0).sum().backward()


def test_backward_may_return_arrays_and_lists_of_grads():
    class Double(Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2

        @staticmethod
        def backward(ctx, g):
            return [np.asarray(g) * 2]

    x = Tensor([1.0, 3.0], requires_grad=True)
    Double.apply(x).sum().backward()
    np.testing.assert_array_equal(x.grad.data, [2.0, 2.0])
    # in a create_graph backward an array is a constant gradient
    x.grad = None
    (g,) = tg.grad(Double.apply(x).sum(), x, create_graph=True)
    np.testing.assert_array_equal(g.data, [2.0, 2.0])


def test_identity_function_returns_a_new_tensor():
    class Identity(Function):
        @staticmethod
        def forward(ctx, x):
            return x

        @staticmethod
        def backward(ctx, g):
            return g

    x = Tensor([1.0, 2.0], requires_grad=True)
    y = Identity.apply(x)
    assert y is not x and y.grad_fn is not None and x.grad_fn is None
    (y * y).sum().backward()
    np.testing.assert_array_equal(x.grad.data, [2.0, 4.0])


def test_hooks_and_retain_grad_on_function_outputs():
    x = Tensor([1.0, 2.0], requires_grad=True)
    y = Cube.apply(x)
    y.retain_grad()
    y.register_hook(lambda g: g * 10)
    (y * 2).sum().backward()
    np.testing.assert_array_equal(y.grad.data, [20.0, 20.0])
    np.testing.assert_allclose(x.grad.data, 20 * 3 * x.data ** 2)


def test_second_backward_without_retain_graph_is_refused():
    x = Tensor([1.0], requires_grad=True)
    y = Cube.apply(x).sum()
    y.backward()
    with pytest.raises(RuntimeError, match="retain_graph=True"):
        y.backward()


# ---- multiple outputs ------------------------------------------------------------------
def test_multiple_outputs_backward_called_once_with_all_gradients():
    SinCos.calls.clear()
    x = Tensor([0.1, 0.2], requires_grad=True)
    s, c = SinCos.apply(x)
    assert s.grad_fn.name == "SinCos[0]" and c.grad_fn.name == "SinCos[1]"
    (s * 2 + c * 3).sum().backward()
    assert len(SinCos.calls) == 1
    gs, gc = SinCos.calls[0]
    np.testing.assert_array_equal(gs, [2.0, 2.0])
    np.testing.assert_array_equal(gc, [3.0, 3.0])


def test_output_without_gradient_receives_zeros():
    SinCos.calls.clear()
    x = Tensor([0.1, 0.2, 0.3], requires_grad=True)
    s, c = SinCos.apply(x)
    s.sum().backward()
    gs, gc = SinCos.calls[0]
    np.testing.assert_array_equal(gs, np.ones(3))
    np.testing.assert_array_equal(gc, np.zeros(3))
    np.testing.assert_allclose(x.grad.data, np.cos(x.data))


def test_multiple_outputs_of_mixed_shapes_and_dtypes():
    seen = {}

    class Split(Function):
        @staticmethod
        def forward(ctx, x):
            return x[:2].astype(np.float32), x.sum(), (x > 0).astype(np.int64)

        @staticmethod
        def backward(ctx, g1, g2, g3):
            seen["dtypes"] = (g1.dtype, g2.dtype, g3.dtype)
            seen["shapes"] = (g1.shape, g2.shape, g3.shape)
            seen["g3"] = g3.data.copy()
            g = np.zeros(3) + g2.data
            g[:2] += g1.data
            return g

    x = Tensor([1.0, -2.0, 3.0], requires_grad=True)
    a, b, n = Split.apply(x)
    assert a.dtype == np.float32 and b.dtype == np.float64 and n.dtype == np.int64
    assert a.requires_grad and b.requires_grad and not n.requires_grad
    (a * Tensor([1.0, 2.0], dtype=np.float32)).sum().backward(retain_graph=True)
    np.testing.assert_array_equal(x.grad.data, [1.0, 2.0, 0.0])
    assert seen["dtypes"] == (np.float32, np.float64, np.int64)
    assert seen["shapes"] == ((2,), (), (3,))
    np.testing.assert_array_equal(seen["g3"], [0, 0, 0])
    b.backward()
    np.testing.assert_array_equal(x.grad.data, [2.0, 3.0, 1.0])


def test_tuple_of_one_output_returns_a_tuple():
    class One(Function):
        @staticmethod
        def forward(ctx, x):
            return (x * 3,)

        @staticmethod
        def backward(ctx, g):
            return g * 3

    x = Tensor([1.0], requires_grad=True)
    (y,) = One.apply(x)
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.data, [3.0])


# ---- errors ----------------------------------------------------------------------------
class TooFew(Function):
    @staticmethod
    def forward(ctx, a, b):
        return a * b

    @staticmethod
    def backward(ctx, g):
        return g


class WrongShape(Function):
    @staticmethod
    def forward(ctx, a):
        return a.sum(axis=0)

    @staticmethod
    def backward(ctx, g):
        return g  # forgot to expand: shape (3,) for an input of shape (2, 3)


class ReallyWrongShape(Function):
    @staticmethod
    def forward(ctx, a, b):
        return a + b

    @staticmethod
    def backward(ctx, g):
        return g, g[:, :2]


def test_wrong_number_of_gradients_names_the_function():
    a = Tensor([1.0, 2.0], requires_grad=True)
    b = Tensor([3.0, 4.0], requires_grad=True)
    y = TooFew.apply(a, b).sum()
    with pytest.raises(RuntimeError, match=r"TooFew\.backward returned 1 gradient, but forward "
                                           r"took 2 arguments"):
        y.backward()
    assert a.grad is None and b.grad is None  # nothing was written


def test_wrong_gradient_shape_names_function_input_and_shapes():
    a = Tensor(np.ones((2, 3)), requires_grad=True)
    b = Tensor(np.ones(3), requires_grad=True)
    y = ReallyWrongShape.apply(a, b).sum()
    msg = re.escape("ReallyWrongShape.backward returned a gradient of shape (2, 2) for input 1 of "
                    "shape (3,)")
    with pytest.raises(RuntimeError, match=msg):
        y.backward()
    assert a.grad is None and b.grad is None


def test_gradient_smaller_than_the_input_is_an_error():
    # (2, 3) does not broadcast to (3,): numpy could broadcast the gradient
    # up, but that would hide a forgotten expansion, so it is refused.
    a = Tensor(np.ones((2, 3)), requires_grad=True)
    with pytest.raises(RuntimeError, match=re.escape("shape (3,) for input 0 of shape (2, 3)")):
        WrongShape.apply(a).sum().backward()


def test_non_numeric_gradient_and_bad_outputs():
    class StrGrad(Function):
        @staticmethod
        def forward(ctx, x):
            return x * 1

        @staticmethod
        def backward(ctx, g):
            return np.array(["a"])

    x = Tensor([1.0], requires_grad=True)
    with pytest.raises(TypeError, match=r"StrGrad\.backward returned a gradient of dtype"):
        StrGrad.apply(x).sum().backward()

    class ListOut(Function):
        @staticmethod
        def forward(ctx, x):
            return [x]

        @staticmethod
        def backward(ctx, g):  # pragma: no cover
            return g

    with pytest.raises(TypeError, match=r"ListOut\.forward must return Tensors .* output 0 is a list"):
        ListOut.apply(x)


def test_tensor_keyword_argument_requiring_grad_is_refused():
    class Scale(Function):
        @staticmethod
        def forward(ctx, x, factor=None):
            return x * factor

        @staticmethod
        def backward(ctx, g):  # pragma: no cover
            return g

    x = Tensor([1.0], requires_grad=True)
    with pytest.raises(TypeError, match=r"Scale\.apply: keyword argument 'factor'"):
        Scale.apply(x, factor=Tensor([2.0], requires_grad=True))
    np.testing.assert_array_equal(Scale.apply(x, factor=Tensor([2.0])).data, [2.0])


def test_save_for_backward_refuses_non_tensors():
    class SaveInt(Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x, 3)
            return x

        @staticmethod
        def backward(ctx, g):  # pragma: no cover
            return g

    with pytest.raises(TypeError, match="save_for_backward: argument 1 is a int"):
        SaveInt.apply(Tensor([1.0], requires_grad=True))


def test_anomaly_mode_names_the_function_and_the_user_line():
    class BadLog(Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return np.log(x)

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return g / (x * 0)  # inf/nan on purpose

    x = Tensor([1.0, 2.0], requires_grad=True)
    with tg.detect_anomaly():
        y = BadLog.apply(x)  # MARK-badlog
        with pytest.raises(RuntimeError) as info, np.errstate(divide="ignore", invalid="ignore"):
            y.sum().backward()
    msg = str(info.value)
    line = next(i for i, text in enumerate(open(__file__), 1) if "MARK-badlog" in text
                and "BadLog.apply" in text)
    assert "'BadLog'" in msg
    assert f"test_function.py:{line}" in msg


def test_functional_transforms_go_through_functions():
    x = Tensor([0.5, -1.0, 2.0])
    H = tg.functional.hessian(lambda a: Cube.apply(a).sum(), x)
    np.testing.assert_allclose(H.data, np.diag(6 * x.data))
    Js, Jc = tg.functional.jacobian(SinCos.apply, x)
    np.testing.assert_allclose(Js.data, np.diag(np.cos(x.data)))
    np.testing.assert_allclose(Jc.data, np.diag(-np.sin(x.data)))


def test_input_overwritten_in_place_after_apply_is_caught():
    x = Tensor([1.0, 2.0], requires_grad=True)
    y = x * 1
    z = Cube.apply(y)
    y += 1  # Cube saved y: its backward would use the new values
    with pytest.raises(RuntimeError, match=r"saved tensor 0 \(shape \(2,\)\) of 'Cube' was overwritten"):
        z.sum().backward()
