"""Minimal examples of faults found by the graph fuzzer (tests/test_fuzz_graph.py)
and by the bad-input catalogue, kept so that they stay fixed.

Each test names the fault; the fix is described in its docstring.
"""
import warnings

import numpy as np
import pytest

import tinygrad_edu as tg
from tinygrad_edu import Tensor


def leaf(values):
    return Tensor(np.asarray(values, dtype=np.float64), requires_grad=True)


@pytest.mark.parametrize("op", ["softmax", "log_softmax", "logsumexp"])
def test_softmax_family_over_an_empty_axis(op):
    """Fault: numpy's raw "zero-size array to reduction operation maximum" from the
    max-shift. Fix: an empty slice shifts by 0; softmax of an empty axis is empty,
    logsumexp over it is -inf (PyTorch's results)."""
    x = leaf(np.zeros((0, 2)))
    with warnings.catch_warnings():
        warnings.simplefilter("error")      # no spurious log(0) warning for empty results
        y = getattr(tg, op)(x, axis=0)
    if op == "logsumexp":
        assert np.array_equal(y.data, [-np.inf, -np.inf])
    else:
        assert y.shape == (0, 2)
        y.sum().backward()
        assert x.grad.shape == (0, 2)


def test_setitem_value_with_extra_leading_unit_axes():
    """Fault: numpy's assignment accepts a value with extra leading size-1 axes
    (``c.copy_(x)`` with c of shape () and x of shape (1,); ``h[0:1] = v`` with v
    of shape (1, 1)), and the engine's unbroadcast raised IndexError summing the
    gradient back. Fix: unbroadcast restores leading size-1 axes."""
    x = leaf([2.0])
    c = Tensor(np.array(0.0))
    c.copy_(x)
    (c * 3).backward()
    assert np.array_equal(x.grad.data, [3.0])
    v = leaf([[5.0]])
    h = leaf([1.0, 2.0]) * 1
    h[0:1] = v
    (h * 2).sum().backward()
    assert v.grad.shape == (1, 1) and np.array_equal(v.grad.data, [[2.0]])
    w = leaf([[5.0]])
    h = leaf([1.0, 2.0]) * 1
    h[0:1] = w
    (g,) = tg.grad((h * h).sum(), w, create_graph=True)   # the same through Tensors
    assert g.shape == (1, 1) and np.array_equal(g.data, [[10.0]])


def test_plain_backward_after_a_create_graph_backward_on_a_0d_leaf():
    """Fault: after backward(create_graph=True) a 0-d leaf's .grad is a graph
    tensor; the next plain backward replaced it by ``.grad.data + g``, a numpy
    scalar for 0-d arrays, and the backward after that crashed adding into it
    (TypeError: return arrays must be of ArrayType). Fix: the sum is wrapped
    as an array; comparisons and isfinite/isnan/sign of 0-d tensors too, so a
    Tensor's .data is always an ndarray."""
    x = leaf(0.5)
    (x * x).backward(create_graph=True)
    for _ in range(2):
        (x * x).backward()
        assert type(x.grad.data) is np.ndarray
    assert np.array_equal(x.grad.data, 3.0)
    t = Tensor(1.0)
    for r in (t > 0, t == 1, np.isfinite(t), np.isnan(t), np.sign(t), np.greater(t, 0)):
        assert type(r.data) is np.ndarray


def test_create_graph_gradients_are_not_shared_between_leaves():
    """Fault: backward(create_graph=True) stored the same gradient Tensor in the
    .grad of both operands of ``x + y`` (or a read-only broadcast of it); a later
    plain backward added into it in place, changing y.grad too (silently) or
    crashing on read-only memory. Fix: a constant create_graph gradient is
    stored as the leaf's own array; plain accumulation never writes into a
    read-only .grad."""
    x, y = leaf([1.0, 2.0]), leaf([3.0, 4.0])
    (x + y).backward(Tensor([1.0, 1.0]), create_graph=True)
    assert x.grad is not y.grad
    (x * 1).sum().backward()
    assert np.array_equal(x.grad.data, [2.0, 2.0]) and np.array_equal(y.grad.data, [1.0, 1.0])
    s = leaf(0.5)
    (s.sum() * 2).backward(create_graph=True)     # sum's gradient is a read-only broadcast
    (s.sum() * 2).backward()
    assert np.array_equal(s.grad.data, 4.0)
    u = leaf([1.0, 2.0])
    u.grad = tg.broadcast_to(Tensor(1.0), (2,))   # a read-only .grad set by the user
    (u * 3).sum().backward()
    assert np.array_equal(u.grad.data, [4.0, 4.0])


def test_snapshot_of_a_value_written_untracked_after_its_op():
    """Fault (silent): ``h = x.exp(); with no_grad(): h += x; h += x`` gave
    d/dx = exp(x) + x + 1: the recorded write's snapshot held the value after
    the untracked write, and exp's backward (which reads its output) used it.
    Fix: the snapshot carries the buffer's last-write time, so exp's output
    check refuses (as PyTorch does); an op that does not read its output
    (mul) still back-propagates correctly."""
    x = leaf(0.3)
    h = x.exp()
    with tg.no_grad():
        h += x
    h += x
    with pytest.raises(RuntimeError, match="its output .* of 'exp'"):
        h.backward()
    x = leaf(0.3)
    h = x * 2
    with tg.no_grad():
        h += x
    h += x
    h.backward()
    assert np.array_equal(x.grad.data, 3.0)
