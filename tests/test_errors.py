"""Bad input gets a clear error naming the op and the shapes, and changes nothing."""
import numpy as np
import pytest

import tinygrad_edu as tg
from tinygrad_edu import Tensor


def leaf(shape, seed=0):
    return Tensor(np.random.default_rng(seed).normal(size=shape), requires_grad=True)


@pytest.mark.parametrize("op,name", [
    (lambda a, b: a + b, "add"), (lambda a, b: a - b, "sub"), (lambda a, b: a * b, "mul"),
    (lambda a, b: a / b, "div"), (lambda a, b: a ** b, "pow"),
    (tg.maximum, "maximum"), (tg.minimum, "minimum"),
])
def test_broadcast_mismatch_names_op_and_both_shapes(op, name):
    a, b = leaf((2, 3)), leaf((4,))
    with pytest.raises(ValueError, match=rf"{name}.*\(2, 3\).*\(4,\)"):
        op(a, b)


def test_matmul_mismatch_names_both_shapes():
    with pytest.raises(ValueError, match=r"matmul.*\(2, 3\).*\(4, 5\)"):
        leaf((2, 3)) @ leaf((4, 5))
    with pytest.raises(ValueError, match=r"matmul"):
        leaf((3,)) @ leaf((4,))


@pytest.mark.parametrize("fn,name", [
    (lambda t: t.sum(axis=2), "sum"), (lambda t: t.mean(axis=-3), "mean"),
    (lambda t: t.max(axis=5), "max"), (lambda t: t.min(axis=(0, 2)), "min"),
    (lambda t: t.var(axis=2), "var"), (lambda t: t.softmax(axis=2), "softmax"),
    (lambda t: t.log_softmax(axis=-3), "log_softmax"), (lambda t: t.logsumexp(axis=9), "logsumexp"),
    (lambda t: t.transpose(0, 3), "transpose"), (lambda t: t.swapaxes(0, 4), "swapaxes"),
    (lambda t: t.expand_dims(5), "expand_dims"), (lambda t: t.flatten(0, 7), "flatten"),
])
def test_axis_out_of_range_names_axis_and_shape(fn, name):
    with pytest.raises(ValueError, match=rf"{name}.*\(2, 3\)"):
        fn(leaf((2, 3)))


def test_shape_errors_name_shapes():
    t = leaf((2, 3))
    with pytest.raises(ValueError, match=r"reshape.*\(2, 3\).*\(4, 2\)"):
        t.reshape(4, 2)
    with pytest.raises(ValueError, match=r"broadcast_to.*\(2, 3\).*\(3, 3\)"):
        t.broadcast_to((3, 3))
    with pytest.raises(ValueError, match=r"squeeze.*\(2, 3\)"):
        t.squeeze(0)
    with pytest.raises(ValueError, match=r"concatenate.*\(2, 3\).*\(2, 4\)"):
        tg.concatenate([t, leaf((2, 4))], axis=0)
    with pytest.raises(ValueError, match=r"stack.*\(2, 3\).*\(3, 2\)"):
        tg.stack([t, leaf((3, 2))])
    with pytest.raises(IndexError, match=r"getitem.*\(2, 3\)"):
        t[5]
    with pytest.raises(ValueError, match=r"max.*\(0,\)"):
        leaf((0,)).max()


def test_failed_op_leaves_inputs_and_grads_untouched():
    a, b = leaf((2, 3)), leaf((4,))
    (a * 2).sum().backward()
    before = (a.data.copy(), a.grad.data.copy(), b.data.copy())
    for bad in (lambda: a + b, lambda: a @ b, lambda: a.sum(axis=3), lambda: a.reshape(7)):
        with pytest.raises(ValueError):
            bad()
    assert np.array_equal(a.data, before[0]) and np.array_equal(a.grad.data, before[1])
    assert np.array_equal(b.data, before[2]) and b.grad is None


def test_failed_backward_leaves_every_grad_untouched():
    x = leaf((3,))
    (x * 2).sum().backward()
    before = x.grad.data.copy()
    y = (x * 3).sum()
    y.backward()
    with pytest.raises(RuntimeError, match="retain_graph"):
        y.backward()
    assert np.array_equal(x.grad.data, before + 3)


def test_unsupported_numpy_functions_raise_type_error_naming_them():
    t = leaf((3,))
    with pytest.raises(TypeError, match="np.histogram"):
        np.histogram(t)
    with pytest.raises(TypeError, match="np.nextafter"):
        np.nextafter(t, t)
    with pytest.raises(TypeError, match="np.add.reduce"):
        np.add.reduce(t)
