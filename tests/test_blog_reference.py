"""The blog's two networks, by hand and with autograd, side by side: equal bit for bit.

"A Neural Network in 11 lines of Python" (iamtrask, 2015) writes backprop by
hand. Its update ``syn += l.T.dot(delta)`` is SGD with lr=1 on the loss
``0.5 * sum((y - out)**2)``, so at every iteration the autograd gradient must
be exactly the negated manual update, and the final weights identical.
"""
import warnings

import numpy as np
import pytest

import tinygrad_edu as tg
from tinygrad_edu import blog, nn, optim
from tinygrad_edu.ops import elementwise


def nonlin(x, deriv=False):  # the blog's own function, verbatim
    if deriv:
        return x * (1 - x)
    return 1 / (1 + np.exp(-x))


X = np.array([[0, 0, 1], [0, 1, 1], [1, 0, 1], [1, 1, 1]])


def _autograd_step(net, opt, y):
    out = net(X)
    loss = 0.5 * ((y - out) ** 2).sum()
    opt.zero_grad()
    loss.backward()
    grads = [p.grad.data.copy() for p in net.parameters()]
    opt.step()
    return out, grads


def test_two_layer_network_matches_hand_written_backprop_bit_for_bit():
    y = np.array([[0, 0, 1, 1]]).T
    np.random.seed(1)
    syn0 = 2 * np.random.random((3, 1)) - 1
    net = nn.Sequential(nn.Linear(3, 1, bias=False), nn.Sigmoid())
    net[0].weight.data[...] = syn0
    opt = optim.SGD(net.parameters(), lr=1.0)
    for it in range(10000):
        l0 = X
        l1 = nonlin(np.dot(l0, syn0))
        l1_error = y - l1
        l1_delta = l1_error * nonlin(l1, True)
        update = np.dot(l0.T, l1_delta)
        syn0 += update

        out, (g0,) = _autograd_step(net, opt, y)
        assert np.array_equal(out.data, l1), f"forward differs at iteration {it}"
        assert np.array_equal(g0, -update), f"gradient differs at iteration {it}"
    assert np.array_equal(net[0].weight.data, syn0)


def _run_three_layer(iterations, check_every_step=True):
    y = np.array([[0], [1], [1], [0]])
    np.random.seed(1)
    syn0 = 2 * np.random.random((3, 4)) - 1
    syn1 = 2 * np.random.random((4, 1)) - 1
    net = nn.Sequential(nn.Linear(3, 4, bias=False), nn.Sigmoid(),
                        nn.Linear(4, 1, bias=False), nn.Sigmoid())
    net[0].weight.data[...] = syn0
    net[2].weight.data[...] = syn1
    opt = optim.SGD(net.parameters(), lr=1.0)
    mismatches = 0
    for j in range(iterations):
        l0 = X
        l1 = nonlin(np.dot(l0, syn0))
        l2 = nonlin(np.dot(l1, syn1))
        l2_error = y - l2
        l2_delta = l2_error * nonlin(l2, deriv=True)
        l1_error = l2_delta.dot(syn1.T)
        l1_delta = l1_error * nonlin(l1, deriv=True)
        up1, up0 = l1.T.dot(l2_delta), l0.T.dot(l1_delta)
        syn1 += up1
        syn0 += up0

        out, (g0, g1) = _autograd_step(net, opt, y)
        same = np.array_equal(g0, -up0) and np.array_equal(g1, -up1) and np.array_equal(out.data, l2)
        if check_every_step:
            assert same, f"iteration {j}: autograd differs from the blog's backprop"
        mismatches += not same
    final_same = np.array_equal(net[0].weight.data, syn0) and np.array_equal(net[2].weight.data, syn1)
    return final_same, mismatches


def test_three_layer_xor_network_matches_hand_written_backprop_bit_for_bit():
    final_same, mismatches = _run_three_layer(60000)
    assert final_same and mismatches == 0


def test_regrouped_sigmoid_backward_breaks_bitwise_equality(monkeypatch):
    # (g * out) * (1 - out) is the same math as g * (out * (1 - out)) but rounds
    # differently; the reference test must notice, or it proves nothing.
    @tg.autograd.backward_rule("sigmoid")
    def regrouped(g, out, inputs, saved, needs):
        return ((g * out) * (1 - out),)

    monkeypatch.setattr(elementwise, "_sigmoid_backward", regrouped)
    final_same, mismatches = _run_three_layer(2000, check_every_step=False)
    assert mismatches > 0 and not final_same


def test_blog_nonlin_on_a_tensor_records_a_graph_with_sigmoids_gradient():
    rng = np.random.default_rng(0)
    data = rng.normal(size=(4, 3)) * 3
    a = tg.Tensor(data, requires_grad=True)
    b = tg.Tensor(data, requires_grad=True)
    out_blog = nonlin(a)  # numpy's np.exp dispatches to the Tensor's exp
    assert isinstance(out_blog, tg.Tensor) and out_blog.grad_fn is not None
    out_ours = b.sigmoid()
    assert np.array_equal(out_blog.data, out_ours.data)  # same operations, same bits
    gout = rng.normal(size=data.shape)
    out_blog.backward(gout)
    out_ours.backward(gout)
    # different graphs (div/exp/neg vs one sigmoid rule): equal up to rounding
    np.testing.assert_allclose(a.grad.data, b.grad.data, rtol=1e-12, atol=1e-15)


def test_sigmoid_forward_is_the_blogs_formula_and_quiet_for_large_negative_inputs():
    x = np.array([-1000.0, -745.0, -30.0, 0.0, 30.0, 1000.0])
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # numpy's overflow warning would raise here
        got = tg.Tensor(x).sigmoid().data
    with np.errstate(over="ignore"):
        want = 1 / (1 + np.exp(-x))
    assert np.array_equal(got, want)


def test_demo_module_reports_identical_weights(capsys):
    blog.main()
    out = capsys.readouterr().out
    assert "Output After Training:" in out
    assert out.count("Error:") == 6
    assert out.count("identical bit for bit") == 2


@pytest.mark.parametrize("sizes", [(3, 1), (3, 4, 1)])
def test_blog_network_starts_from_the_blogs_weights(sizes):
    net = blog.blog_network(*sizes)
    np.random.seed(1)
    for layer, (n_in, n_out) in zip(net[::2], zip(sizes, sizes[1:])):
        assert np.array_equal(layer.weight.data, 2 * np.random.random((n_in, n_out)) - 1)
