"""In-place ops: differentiable where PyTorch allows them, refused where they would lie."""
import numpy as np
import pytest

import tinygrad_edu as tg
from tinygrad_edu import Tensor, nn, optim


def leaf(values):
    return Tensor(np.asarray(values, dtype=np.float64), requires_grad=True)


def test_inplace_ops_on_non_leaves_are_differentiable():
    x = leaf([1.0, 2.0, 3.0])
    h = x * 2
    h += 1
    h *= x          # h = (2x + 1) x  ->  dh/dx = 4x + 1
    h -= 0.5
    h /= 2
    h.sum().backward()
    assert np.array_equal(x.grad.data, (4 * x.data + 1) / 2)


def test_inplace_with_itself():
    x = leaf([1.0, 3.0])
    h = x * 1
    h *= h
    h.sum().backward()
    assert np.array_equal(x.grad.data, 2 * x.data)


def test_setitem_is_differentiable_for_both_sides():
    x = leaf([1.0, 2.0, 3.0])
    v = leaf(5.0)
    h = x * 1
    h[1] = v * 2
    h.sum().backward()
    assert np.array_equal(x.grad.data, [1.0, 0.0, 1.0])
    assert np.array_equal(v.grad.data, 2.0)


def test_inplace_on_a_leaf_that_requires_grad_raises_outside_no_grad():
    x = leaf([1.0])
    with pytest.raises(RuntimeError, match="leaf"):
        x += 1
    with pytest.raises(RuntimeError, match="leaf"):
        x[0] = 2.0
    with tg.no_grad():
        x += 1
    assert np.array_equal(x.data, [2.0])


def test_overwriting_a_saved_value_makes_backward_raise_naming_the_op():
    x = leaf([0.5, 1.0])
    h = x.sigmoid()
    y = (h * x).sum()   # mul saved h
    h += 1
    with pytest.raises(RuntimeError, match="in-place.*'mul'"):
        y.backward()


def test_inplace_after_an_op_that_saved_its_output_still_differentiates_the_old_value():
    x = leaf([0.5, 1.0])
    h = x.sigmoid()     # sigmoid's backward needs its output: the snapshot keeps it
    h += 1
    h.sum().backward()
    s = 1 / (1 + np.exp(-x.data))
    assert np.array_equal(x.grad.data, 1.0 * (s * (1 - s)))


def test_writes_through_detach_are_caught():
    x = leaf([0.5, 1.0])
    h = x.exp()
    h.detach()[0] = 7.0
    with pytest.raises(RuntimeError, match="in-place.*exp"):
        h.sum().backward()


def test_consumer_recorded_before_an_inplace_op_is_refused():
    x = leaf([1.0, 2.0])
    h = x * 1
    y = h * 3
    h *= 2      # y's graph refers to the old h
    with pytest.raises(RuntimeError, match="in-place.*mul"):
        y.sum().backward()


def test_inplace_on_a_view_while_recording_is_refused():
    x = leaf([[1.0, 2.0], [3.0, 4.0]])
    v = (x * 1).T
    with pytest.raises(RuntimeError, match="view"):
        v += 1


def test_inplace_errors_for_shape_and_dtype_change_nothing():
    t = Tensor([1, 2, 3])
    with pytest.raises(ValueError, match="int64"):
        t += 1.5
    with pytest.raises(ValueError, match=r"\(2, 3\)"):
        t += np.ones((2, 3), dtype=np.int64)
    assert np.array_equal(t.data, [1, 2, 3])


def test_retained_graph_after_an_optimizer_step_is_refused():
    lin = nn.Linear(2, 1)
    opt = optim.SGD(lin.parameters(), lr=0.1)
    loss = (lin(np.ones((3, 2))) ** 2).sum()
    loss.backward(retain_graph=True)
    w_before = lin.weight.data
    opt.step()
    assert lin.weight.data is w_before  # updated in place, not reallocated
    with pytest.raises(RuntimeError, match="in-place"):
        loss.backward()


def test_no_inplace_no_check_costs_nothing_and_plain_training_works():
    lin = nn.Linear(2, 1, rng=0)
    opt = optim.SGD(lin.parameters(), lr=0.1)
    for _ in range(3):
        opt.zero_grad()
        loss = (lin(np.ones((3, 2))) ** 2).sum()
        loss.backward()
        opt.step()
    assert lin.weight.grad is not None
