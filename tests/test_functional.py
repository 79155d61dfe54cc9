"""tinygrad_edu.functional against closed forms and finite differences, with
torch.autograd.functional's return structures."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import tinygrad_edu as tg
from tinygrad_edu import Tensor
from tinygrad_edu.functional import hessian, hvp, jacobian, jvp, vhp, vjp


# ---- a tiny local finite-difference helper (to be replaced by tinygrad_edu.gradcheck) ----
def numerical_jacobian(f, arrays, eps=1e-6):
    """Central-difference Jacobian blocks d f(*arrays) / d arrays[j], each of shape out + in_j."""
    base = np.asarray(f(*arrays))
    blocks = []
    for a in arrays:
        jac = np.zeros(base.shape + a.shape)
        for idx in np.ndindex(a.shape):
            old = a[idx]
            a[idx] = old + eps
            hi = np.asarray(f(*arrays))
            a[idx] = old - eps
            lo = np.asarray(f(*arrays))
            a[idx] = old
            jac[(...,) + idx] = (hi - lo) / (2 * eps)
        blocks.append(jac)
    return blocks


def on_arrays(func):
    """``func`` of Tensors as a function of float64 arrays, without recording."""
    def f(*arrays):
        with tg.no_grad():
            return func(*[Tensor(a) for a in arrays]).data
    return f


floats = st.floats(-1.5, 1.5, allow_nan=False, allow_subnormal=False)
shapes = hnp.array_shapes(min_dims=0, max_dims=2, max_side=3)


def exp_reducer(x):
    return x.exp().sum(axis=-1)


def smooth(x, y):
    """A non-linear function of two inputs with broadcasting (y against x)."""
    return (x * y).sin() + x ** 2 * y.exp()


# ---- vjp --------------------------------------------------------------------------------
def test_vjp_closed_form_and_structure():
    x = Tensor(np.arange(6.0).reshape(2, 3) / 5)
    v = Tensor([1.0, -2.0])
    out, g = vjp(exp_reducer, x, v)
    assert isinstance(out, Tensor) and isinstance(g, Tensor)
    np.testing.assert_allclose(out.data, np.exp(x.data).sum(-1))
    np.testing.assert_allclose(g.data, np.exp(x.data) * v.data[:, None])
    assert not out.requires_grad and not g.requires_grad


def test_vjp_tuple_inputs_and_outputs():
    x, y = Tensor([1.0, 2.0]), Tensor([3.0, 4.0])
    out, (gx, gy) = vjp(lambda a, b: 2 * a + 3 * b, (x, y), Tensor([1.0, 1.0]))
    np.testing.assert_array_equal(gx.data, [2.0, 2.0])
    np.testing.assert_array_equal(gy.data, [3.0, 3.0])
    outs, gx = vjp(lambda a: (a * 2, a.sum()), x, (Tensor([1.0, 0.0]), Tensor(5.0)))
    assert isinstance(outs, tuple) and len(outs) == 2 and isinstance(gx, Tensor)
    np.testing.assert_array_equal(gx.data, [7.0, 5.0])


@settings(max_examples=25, deadline=None)
@given(hnp.mutually_broadcastable_shapes(num_shapes=2, max_dims=2, max_side=3), st.integers(0, 2**31 - 1))
def test_vjp_matches_finite_differences(sh, seed):
    rng = np.random.default_rng(seed)
    x, y = (rng.uniform(-1, 1, s) for s in sh.input_shapes)
    v = rng.standard_normal(sh.result_shape)
    _, (gx, gy) = vjp(smooth, (Tensor(x), Tensor(y)), Tensor(v))
    jx, jy = numerical_jacobian(on_arrays(smooth), [x.copy(), y.copy()])
    axes = tuple(range(v.ndim))
    np.testing.assert_allclose(gx.data, np.tensordot(v, jx, axes=(axes, axes)), atol=1e-6)
    np.testing.assert_allclose(gy.data, np.tensordot(v, jy, axes=(axes, axes)), atol=1e-6)


def test_vjp_v_may_be_omitted_only_for_single_element_outputs():
    x = Tensor([1.0, 2.0])
    out, g = vjp(lambda a: (a ** 2).sum(keepdims=True), x)
    np.testing.assert_array_equal(g.data, [2.0, 4.0])
    with pytest.raises(RuntimeError, match=r"vjp: v can be omitted only .* shapes \[\(2,\)\]"):
        vjp(lambda a: a * 2, x)
    with pytest.raises(RuntimeError, match=r"vjp: v has shape \(3,\) but the output of the "
                                           r"function has shape \(2,\)"):
        vjp(lambda a: a * 2, x, Tensor([1.0, 1.0, 1.0]))
    with pytest.raises(RuntimeError, match="v has 1 entries but the output of the function has 2"):
        vjp(lambda a: (a, a), x, (Tensor([1.0, 1.0]),))


def test_inputs_are_untouched_and_results_detached():
    x = Tensor([1.0, 2.0], requires_grad=True)
    before = x.data.copy()
    out, g = vjp(lambda a: (a ** 3).sum(), x)
    assert x.grad is None and x.requires_grad and x.grad_fn is None
    assert np.array_equal(x.data, before)
    assert not out.requires_grad and not g.requires_grad
    x2 = Tensor([1.0, 2.0])
    vjp(lambda a: (a ** 3).sum(), x2)
    assert not x2.requires_grad


def test_create_graph_keeps_results_differentiable_wrt_original_inputs():
    x = Tensor([0.5, -1.0], requires_grad=True)
    out, g = vjp(lambda a: (a ** 3).sum(), x, create_graph=True)
    assert out.requires_grad and g.requires_grad
    np.testing.assert_allclose(g.data, 3 * x.data ** 2)
    g.sum().backward()
    np.testing.assert_allclose(x.grad.data, 6 * x.data)


def test_unused_input_gives_zeros_or_strict_error():
    x, y = Tensor([1.0, 2.0]), Tensor([3.0])
    _, (gx, gy) = vjp(lambda a, b: a * 2, (x, y), Tensor([1.0, 1.0]))
    np.testing.assert_array_equal(gy.data, [0.0])
    assert gy.shape == (1,)
    with pytest.raises(RuntimeError, match="does not depend on input 1.*strict=True"):
        vjp(lambda a, b: a * 2, (x, y), Tensor([1.0, 1.0]), strict=True)
    with pytest.raises(RuntimeError, match="output 0 of the function does not require grad"):
        vjp(lambda a: Tensor([1.0, 2.0]), x, Tensor([1.0, 1.0]), strict=True)
    _, g = vjp(lambda a: Tensor([1.0, 2.0]), x, Tensor([1.0, 1.0]))
    np.testing.assert_array_equal(g.data, [0.0, 0.0])


def test_type_errors():
    with pytest.raises(TypeError, match=r"vjp: the inputs must be a Tensor or a tuple of Tensors, "
                                        r"but entry 1 of the inputs is a list"):
        vjp(lambda a, b: a, (Tensor([1.0]), [1.0]), Tensor([1.0]))
    with pytest.raises(TypeError, match="the outputs of the user-provided function must be .* float"):
        vjp(lambda a: 3.0, Tensor([1.0]))
    with pytest.raises(TypeError, match="jacobian: input 0 has dtype int64"):
        jacobian(lambda a: a, Tensor([1, 2]))


def test_works_under_no_grad():
    with tg.no_grad():
        _, g = vjp(lambda a: (a * a).sum(), Tensor([3.0]))
        h = hessian(lambda a: (a ** 3).sum(), Tensor([2.0]))
    np.testing.assert_array_equal(g.data, [6.0])
    np.testing.assert_array_equal(h.data, [[12.0]])


# ---- jvp --------------------------------------------------------------------------------
def test_jvp_closed_form():
    x = Tensor(np.arange(6.0).reshape(2, 3) / 5)
    v = Tensor(np.ones((2, 3)))
    out, jv = jvp(exp_reducer, x, v)
    np.testing.assert_allclose(jv.data, np.exp(x.data).sum(-1))
    _, jv = jvp(lambda a, b: 2 * a + 3 * b, (Tensor([1.0, 2.0]), Tensor([3.0, 4.0])),
                (Tensor([1.0, 0.0]), Tensor([0.0, 1.0])))
    np.testing.assert_array_equal(jv.data, [2.0, 3.0])


@settings(max_examples=25, deadline=None)
@given(hnp.mutually_broadcastable_shapes(num_shapes=2, max_dims=2, max_side=3), st.integers(0, 2**31 - 1))
def test_jvp_matches_directional_finite_difference(sh, seed):
    rng = np.random.default_rng(seed)
    x, y = (rng.uniform(-1, 1, s) for s in sh.input_shapes)
    u, w = (rng.standard_normal(s) for s in sh.input_shapes)
    out, jv = jvp(smooth, (Tensor(x), Tensor(y)), (Tensor(u), Tensor(w)))
    f = on_arrays(smooth)
    eps = 1e-6
    num = (f(x + eps * u, y + eps * w) - f(x - eps * u, y - eps * w)) / (2 * eps)
    np.testing.assert_allclose(jv.data, num, atol=1e-6)
    np.testing.assert_allclose(out.data, f(x, y))


def test_jvp_structures_identity_and_independent_outputs():
    x = Tensor([1.0, 2.0])
    outs, jvs = jvp(lambda a: (a.sin(), a * 2, Tensor([7.0])), x, Tensor([1.0, 1.0]))
    assert isinstance(outs, tuple) and isinstance(jvs, tuple) and len(jvs) == 3
    np.testing.assert_allclose(jvs[0].data, np.cos(x.data))
    np.testing.assert_array_equal(jvs[1].data, [2.0, 2.0])
    np.testing.assert_array_equal(jvs[2].data, [0.0])
    _, jv = jvp(lambda a: a, x, Tensor([5.0, 6.0]))
    np.testing.assert_array_equal(jv.data, [5.0, 6.0])
    _, jv = jvp(lambda a: a * 3, Tensor(2.0))  # v omitted: one-element input
    np.testing.assert_array_equal(jv.data, 3.0)
    with pytest.raises(RuntimeError, match="jvp: v can be omitted only"):
        jvp(lambda a: a, x)
    with pytest.raises(RuntimeError, match="does not require grad"):
        jvp(lambda a: Tensor([7.0]), x, Tensor([1.0, 1.0]), strict=True)


def test_jvp_create_graph():
    x = Tensor([0.3, 0.9], requires_grad=True)
    _, jv = jvp(lambda a: a ** 3, x, Tensor([1.0, 2.0]), create_graph=True)
    np.testing.assert_allclose(jv.data, 3 * x.data ** 2 * [1.0, 2.0])
    jv.sum().backward()
    np.testing.assert_allclose(x.grad.data, 6 * x.data * [1.0, 2.0])


# ---- jacobian ---------------------------------------------------------------------------
def test_jacobian_of_a_linear_map_is_the_matrix():
    A = np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    J = jacobian(lambda x: Tensor(A) @ x, Tensor([1.0, 1.0, 1.0]))
    assert J.shape == (2, 3)
    np.testing.assert_array_equal(J.data, A)


def test_jacobian_shapes_and_structures():
    x, y = Tensor(np.ones((2, 3))), Tensor(np.ones(4))
    J = jacobian(lambda a: a * 2, x)
    assert isinstance(J, Tensor) and J.shape == (2, 3, 2, 3)
    np.testing.assert_array_equal(J.data.reshape(6, 6), 2 * np.eye(6))
    J = jacobian(lambda a, b: a.sum() * b, (x, y))
    assert isinstance(J, tuple) and [j.shape for j in J] == [(4, 2, 3), (4, 4)]
    J = jacobian(lambda a: (a.sum(), a[0]), x)
    assert isinstance(J, tuple) and [j.shape for j in J] == [(2, 3), (3, 2, 3)]
    J = jacobian(lambda a, b: (a.sum() * b, b[:2]), (x, y))
    assert isinstance(J, tuple) and all(isinstance(r, tuple) for r in J)
    assert [[j.shape for j in r] for r in J] == [[(4, 2, 3), (4, 4)], [(2, 2, 3), (2, 4)]]
    np.testing.assert_array_equal(J[1][0].data, 0.0)
    np.testing.assert_array_equal(J[1][1].data, np.eye(4)[:2])
    J = jacobian(lambda a: a[:0], Tensor([1.0, 2.0]))  # empty output
    assert J.shape == (0, 2)


@settings(max_examples=25, deadline=None)
@given(hnp.mutually_broadcastable_shapes(num_shapes=2, max_dims=2, max_side=3), st.integers(0, 2**31 - 1))
def test_jacobian_matches_finite_differences(sh, seed):
    rng = np.random.default_rng(seed)
    x, y = (rng.uniform(-1, 1, s) for s in sh.input_shapes)
    jx, jy = jacobian(smooth, (Tensor(x), Tensor(y)))
    nx, ny = numerical_jacobian(on_arrays(smooth), [x.copy(), y.copy()])
    assert jx.shape == sh.result_shape + x.shape and jy.shape == sh.result_shape + y.shape
    np.testing.assert_allclose(jx.data, nx, atol=1e-6)
    np.testing.assert_allclose(jy.data, ny, atol=1e-6)


def test_jacobian_strict_create_graph_and_vectorize():
    x, y = Tensor([1.0, 2.0]), Tensor([3.0])
    J = jacobian(lambda a, b: a * 2, (x, y))
    np.testing.assert_array_equal(J[1].data, np.zeros((2, 1)))
    with pytest.raises(RuntimeError, match="output 0 does not depend on input 1"):
        jacobian(lambda a, b: a * 2, (x, y), strict=True)
    with pytest.raises(RuntimeError, match="strict=True and vectorize=True"):
        jacobian(lambda a: a, x, strict=True, vectorize=True)
    np.testing.assert_array_equal(jacobian(lambda a: a * 2, x, vectorize=True).data, 2 * np.eye(2))
    xg = Tensor([1.0, 2.0], requires_grad=True)
    J = jacobian(lambda a: a ** 2, xg, create_graph=True)
    assert J.requires_grad
    J.sum().backward()  # d/dx sum(diag(2x)) = 2
    np.testing.assert_array_equal(xg.grad.data, [2.0, 2.0])


# ---- hessian ----------------------------------------------------------------------------
def test_hessian_closed_forms():
    x = Tensor([[1.0, 2.0], [3.0, 4.0]])
    H = hessian(lambda a: (a ** 3).sum(), x)
    assert H.shape == (2, 2, 2, 2)
    np.testing.assert_allclose(H.data.reshape(4, 4), np.diag(6 * x.data.ravel()))
    A = np.array([[1.0, 2.0], [0.5, -3.0]])
    H = hessian(lambda a: a @ Tensor(A) @ a, Tensor([0.3, -0.7]))  # x^T A x -> A + A^T
    np.testing.assert_allclose(H.data, A + A.T)


def test_hessian_tuple_inputs_has_cross_blocks():
    x, y = Tensor([1.0, 2.0]), Tensor([3.0, 4.0, 5.0])
    H = hessian(lambda a, b: (a[:, None] * b[None, :]).sum() + (b ** 2).sum(), (x, y))
    assert isinstance(H, tuple) and all(isinstance(r, tuple) for r in H)
    assert [[h.shape for h in r] for r in H] == [[(2, 2), (2, 3)], [(3, 2), (3, 3)]]
    np.testing.assert_array_equal(H[0][0].data, np.zeros((2, 2)))
    np.testing.assert_array_equal(H[0][1].data, np.ones((2, 3)))
    np.testing.assert_array_equal(H[1][0].data, np.ones((3, 2)))
    np.testing.assert_array_equal(H[1][1].data, 2 * np.eye(3))


@settings(max_examples=20, deadline=None)
@given(hnp.arrays(np.float64, hnp.array_shapes(min_dims=1, max_dims=2, max_side=3), elements=floats))
def test_hessian_matches_finite_differences_of_the_gradient(x):
    def f(a):
        return (a.sin() * a.exp()).sum() + (a ** 2).sum() ** 2

    def gradient(arr):
        t = Tensor(arr, requires_grad=True)
        f(t).backward()
        return t.grad.data

    H = hessian(f, Tensor(x))
    (num,) = numerical_jacobian(gradient, [x.copy()])
    np.testing.assert_allclose(H.data, num, atol=1e-5)
    n = x.size
    np.testing.assert_allclose(H.data.reshape(n, n), H.data.reshape(n, n).T, atol=1e-12)


def test_hessian_errors():
    with pytest.raises(RuntimeError, match="hessian: the function should return a Tensor with a "
                                           r"single element, got shape \(2,\)"):
        hessian(lambda a: a * 2, Tensor([1.0, 2.0]))
    with pytest.raises(RuntimeError, match="hessian: the function should return a single Tensor"):
        hessian(lambda a: (a.sum(), a.sum()), Tensor([1.0, 2.0]))
    with pytest.raises(RuntimeError, match="strict=True"):
        hessian(lambda a: (a * 2).sum(), Tensor([1.0, 2.0]), strict=True)
    H = hessian(lambda a: (a * 2).sum(), Tensor([1.0, 2.0]))  # linear: zero Hessian
    np.testing.assert_array_equal(H.data, np.zeros((2, 2)))


def test_hessian_create_graph():
    x = Tensor([0.5, 2.0], requires_grad=True)
    H = hessian(lambda a: (a ** 3).sum(), x, create_graph=True)
    H.sum().backward()  # sum(6x) -> 6
    np.testing.assert_allclose(x.grad.data, [6.0, 6.0])


# ---- hvp / vhp --------------------------------------------------------------------------
def rosenbrock(x):
    return ((1 - x[:-1]) ** 2 + 100 * (x[1:] - x[:-1] ** 2) ** 2).sum()


def rosenbrock_hessian(x):
    n = len(x)
    H = np.zeros((n, n))
    for i in range(n - 1):
        H[i, i] += 2 - 400 * (x[i + 1] - x[i] ** 2) + 800 * x[i] ** 2
        H[i, i + 1] -= 400 * x[i]
        H[i + 1, i] -= 400 * x[i]
        H[i + 1, i + 1] += 200
    return H


@settings(max_examples=25, deadline=None)
@given(hnp.arrays(np.float64, st.integers(2, 5), elements=floats), st.integers(0, 2**31 - 1))
def test_hvp_and_vhp_against_closed_form_rosenbrock(x, seed):
    v = np.random.default_rng(seed).standard_normal(x.shape)
    H = rosenbrock_hessian(x)
    out, hv = hvp(rosenbrock, Tensor(x), Tensor(v))
    out2, vh = vhp(rosenbrock, Tensor(x), Tensor(v))
    np.testing.assert_allclose(hv.data, H @ v, rtol=1e-10, atol=1e-9)
    np.testing.assert_allclose(vh.data, v @ H, rtol=1e-10, atol=1e-9)
    np.testing.assert_allclose(hessian(rosenbrock, Tensor(x)).data, H, rtol=1e-12, atol=1e-9)
    assert out.shape == () and np.array_equal(out.data, out2.data)


def test_hvp_tuple_inputs_and_structure():
    x, y = Tensor([1.0, 2.0]), Tensor([3.0, 4.0])
    f = lambda a, b: (2 * a ** 2 + 3 * b ** 2 + a * b).sum()  # noqa: E731
    out, (hx, hy) = hvp(f, (x, y), (Tensor([0.0, 1.0]), Tensor([1.0, 0.0])))
    # H = [[4I, I], [I, 6I]]
    np.testing.assert_array_equal(hx.data, [1.0, 4.0])
    np.testing.assert_array_equal(hy.data, [6.0, 1.0])
    _, (vx, vy) = vhp(f, (x, y), (Tensor([0.0, 1.0]), Tensor([1.0, 0.0])))
    np.testing.assert_array_equal(vx.data, hx.data)
    np.testing.assert_array_equal(vy.data, hy.data)
    _, h = hvp(lambda a: a ** 3, Tensor(2.0))  # v omitted for a one-element input
    np.testing.assert_array_equal(h.data, 12.0)


def test_hvp_errors_and_zeros():
    with pytest.raises(RuntimeError, match="hvp: the function should return a Tensor with a single"):
        hvp(lambda a: a * 2, Tensor([1.0, 2.0]), Tensor([1.0, 1.0]))
    with pytest.raises(RuntimeError, match="vhp: v can be omitted only"):
        vhp(lambda a: a.sum(), Tensor([1.0, 2.0]))
    _, h = hvp(lambda a, b: (a * 2).sum() + (b ** 2).sum(), (Tensor([1.0]), Tensor([1.0])),
               (Tensor([1.0]), Tensor([1.0])))
    np.testing.assert_array_equal(h[0].data, [0.0])
    np.testing.assert_array_equal(h[1].data, [2.0])
    with pytest.raises(RuntimeError, match="strict=True"):
        hvp(lambda a: (a * 2).sum(), Tensor([1.0]), Tensor([1.0]), strict=True)


def test_hvp_create_graph():
    x = Tensor([0.5, 2.0], requires_grad=True)
    _, h = hvp(lambda a: (a ** 4).sum(), x, Tensor([1.0, 1.0]), create_graph=True)
    np.testing.assert_allclose(h.data, 12 * x.data ** 2)
    h.sum().backward()
    np.testing.assert_allclose(x.grad.data, 24 * x.data)
