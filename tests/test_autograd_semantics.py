"""PyTorch's autograd semantics: accumulation, retain_graph, create_graph, no_grad, grad()."""
import sys
import threading

import numpy as np
import pytest

import tinygrad_edu as tg
from tinygrad_edu import Tensor


def leaf(values):
    return Tensor(np.asarray(values, dtype=np.float64), requires_grad=True)


def test_a_tensor_used_several_times_accumulates():
    x = leaf([3.0])
    (x * x).backward()
    assert np.array_equal(x.grad.data, [6.0])
    a = leaf([2.0])
    (a - a).backward()
    assert np.array_equal(a.grad.data, [0.0])
    a = leaf([2.0])
    b = a + a
    c = b + b
    c.backward()
    assert np.array_equal(a.grad.data, [4.0])


def test_leaf_grad_accumulates_across_backward_calls_until_cleared():
    x = leaf([1.0, 2.0])
    (x * 3).sum().backward()
    (x * 3).sum().backward()
    assert np.array_equal(x.grad.data, [6.0, 6.0])
    x.grad = None
    (x * 3).sum().backward()
    assert np.array_equal(x.grad.data, [3.0, 3.0])


def test_gradients_of_different_leaves_never_share_memory():
    # a + b hands the same upstream array to both leaves; writing one must not touch the other
    a, b = leaf([1.0, 2.0]), leaf([3.0, 4.0])
    (a + b).sum().backward()
    assert not np.shares_memory(a.grad.data, b.grad.data)
    a.grad.data *= 10
    assert np.array_equal(b.grad.data, [1.0, 1.0])


def test_broadcast_gradient_is_summed_back_to_the_operand_shape():
    x = leaf(np.ones((2, 3)))
    b = leaf([1.0, 2.0, 3.0])
    c = leaf([[1.0], [2.0]])
    (x * b * c).sum().backward()
    assert b.grad.shape == (3,) and np.array_equal(b.grad.data, [3.0, 3.0, 3.0])
    assert c.grad.shape == (2, 1) and np.array_equal(c.grad.data, [[6.0], [6.0]])


def test_second_backward_without_retain_graph_raises():
    x = leaf([1.0])
    y = (x.exp() * 2).sum()
    y.backward()
    with pytest.raises(RuntimeError, match="retain_graph=True"):
        y.backward()


def test_retain_graph_allows_a_second_backward():
    x = leaf([1.0])
    y = (x.exp() * 2).sum()
    y.backward(retain_graph=True)
    y.backward()
    assert np.array_equal(x.grad.data, 2 * (2 * np.exp([1.0])))


def test_backward_frees_saved_arrays():
    x = leaf([1.0])
    y = x * 2
    z = y.exp().sum()
    z.backward()
    assert y.grad_fn.inputs is None and z.grad_fn.inputs is None


def test_non_scalar_backward_needs_a_gradient():
    x = leaf([1.0, 2.0])
    with pytest.raises(RuntimeError, match="scalar outputs"):
        (x * 2).backward()
    (x * 2).backward(np.array([1.0, 10.0]))
    assert np.array_equal(x.grad.data, [2.0, 20.0])
    with pytest.raises(RuntimeError, match="shape"):
        (x * 2).backward(np.ones(3))


def test_backward_on_a_tensor_that_does_not_require_grad_raises():
    with pytest.raises(RuntimeError, match="does not require grad"):
        Tensor([1.0]).sum().backward()


def test_ops_on_tensors_without_grad_return_leaves():
    a = Tensor([1.0]) * Tensor([2.0])
    assert a.is_leaf and not a.requires_grad


def test_no_grad_as_context_manager_and_decorator():
    x = leaf([1.0])
    with tg.no_grad():
        y = x * 2
        assert not tg.is_grad_enabled()
    assert tg.is_grad_enabled()
    assert y.is_leaf and not y.requires_grad

    @tg.no_grad()
    def f(t):
        return t * 2

    z = f(x)
    assert z.is_leaf and not z.requires_grad
    with tg.no_grad():
        with tg.enable_grad():
            assert (x * 2).requires_grad
    with tg.set_grad_enabled(False):
        assert not (x * 2).requires_grad


def test_no_grad_is_thread_local():
    seen = {}

    def other():
        seen["enabled"] = tg.is_grad_enabled()
        seen["records"] = (leaf([1.0]) * 2).requires_grad

    with tg.no_grad():
        th = threading.Thread(target=other)
        th.start()
        th.join()
    assert seen == {"enabled": True, "records": True}


def test_relu_and_abs_have_zero_derivative_at_zero():
    x = leaf([0.0, -1.0, 2.0])
    x.relu().sum().backward()
    assert np.array_equal(x.grad.data, [0.0, 0.0, 1.0])
    x.grad = None
    x.abs().sum().backward()
    assert np.array_equal(x.grad.data, [0.0, -1.0, 1.0])


def test_grad_returns_a_tuple_and_does_not_touch_dot_grad():
    x, w = leaf([1.0, 2.0]), leaf([3.0, 4.0])
    y = (x * w).sum()
    gx, gw = tg.grad(y, (x, w))
    assert np.array_equal(gx.data, [3.0, 4.0]) and np.array_equal(gw.data, [1.0, 2.0])
    assert x.grad is None and w.grad is None
    (g,) = tg.grad((x * x).sum(), x)
    assert isinstance(g, Tensor)


def test_grad_of_an_intermediate_and_unused_inputs():
    x = leaf([2.0])
    h = x * 3
    y = (h * h).sum()
    (gh,) = tg.grad(y, h, retain_graph=True)
    assert np.array_equal(gh.data, [12.0])
    unused = leaf([1.0])
    with pytest.raises(RuntimeError, match="not used"):
        tg.grad(y, [x, unused], retain_graph=True)
    gx, gu = tg.grad(y, [x, unused], allow_unused=True)
    assert gu is None and np.array_equal(gx.data, [36.0])


def test_create_graph_gives_second_derivatives():
    x = leaf([0.5, 2.0])
    y = (x ** 3).sum()
    (g,) = tg.grad(y, x, create_graph=True)
    assert g.requires_grad and np.allclose(g.data, 3 * x.data ** 2)
    (h,) = tg.grad(g.sum(), x)
    assert np.allclose(h.data, 6 * x.data)


def test_backward_create_graph_then_differentiate_grad():
    x = leaf([1.5])
    y = x.sin() * x
    y.backward(create_graph=True)
    gx = x.grad
    assert gx.requires_grad
    x.grad = None
    gx.backward()
    # d2/dx2 (x sin x) = 2 cos x - x sin x
    assert np.allclose(x.grad.data, 2 * np.cos(1.5) - 1.5 * np.sin(1.5))


def test_hessian_vector_product_with_matmul_and_sigmoid():
    rng = np.random.default_rng(0)
    W = leaf(rng.normal(size=(3, 2)))
    X = rng.normal(size=(4, 3))
    loss = ((X @ W).sigmoid() ** 2).sum()
    (g,) = tg.grad(loss, W, create_graph=True)
    v = rng.normal(size=W.shape)
    (hv,) = tg.grad((g * v).sum(), W)
    eps = 1e-6

    def grad_at(w):
        Wt = leaf(w)
        ((X @ Wt).sigmoid() ** 2).sum().backward()
        return Wt.grad.data

    fd = (grad_at(W.data + eps * v) - grad_at(W.data - eps * v)) / (2 * eps)
    np.testing.assert_allclose(hv.data, fd, rtol=1e-6, atol=1e-8)


def test_million_op_chain_backpropagates_iteratively():
    x = leaf([1.0])
    y = x
    n = 1_000_000
    for _ in range(n):
        y = y + 1.0
    limit = sys.getrecursionlimit()
    y.backward()
    assert sys.getrecursionlimit() == limit
    assert np.array_equal(x.grad.data, [1.0])
    assert np.array_equal(y.data, [1.0 + n])
