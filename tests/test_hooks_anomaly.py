"""Tensor hooks, retain_grad and detect_anomaly, as documented."""
import re
import threading

import numpy as np
import pytest

import tinygrad_edu as tg
from tinygrad_edu import Tensor


def line_of(marker):
    """The line number in this file of the line containing ``marker`` (and not this call)."""
    with open(__file__) as f:
        for i, text in enumerate(f, 1):
            if marker in text and "line_of(" not in text:
                return i
    raise AssertionError(marker)


# ---- hooks --------------------------------------------------------------------------------
def test_hook_sees_the_gradient_of_leaf_and_non_leaf():
    x = Tensor([1.0, 2.0, 3.0], requires_grad=True)
    y = x * x
    seen = {}
    x.register_hook(lambda g: seen.setdefault("x", g.data.copy()))
    y.register_hook(lambda g: seen.setdefault("y", g.data.copy()))
    (y * Tensor([1.0, 10.0, 100.0])).sum().backward()
    np.testing.assert_array_equal(seen["y"], [1.0, 10.0, 100.0])
    np.testing.assert_array_equal(seen["x"], [2.0, 40.0, 600.0])
    np.testing.assert_array_equal(x.grad.data, seen["x"])


def test_hook_sees_the_total_gradient_once_for_a_tensor_used_twice():
    x = Tensor([1.0, 2.0], requires_grad=True)
    y = x * 3
    calls = []
    y.register_hook(lambda g: calls.append(g.data.copy()))
    (y + y * 2).sum().backward()
    assert len(calls) == 1
    np.testing.assert_array_equal(calls[0], [3.0, 3.0])


def test_hook_replacing_the_gradient_of_a_non_leaf_changes_everything_below():
    x = Tensor([1.0, 2.0], requires_grad=True)
    y = x * 2
    z = y * y
    y.register_hook(lambda g: g * 10)
    z.sum().backward()
    # dz/dy = 2y, times 10 by the hook, then dy/dx = 2
    np.testing.assert_array_equal(x.grad.data, 10 * 2 * (2 * x.data) * 2)


def test_hook_replacing_the_gradient_of_a_leaf_changes_its_grad():
    x = Tensor([1.0, 2.0], requires_grad=True)
    x.register_hook(lambda g: np.array([7.0, -7.0]))  # an array is accepted as replacement
    (x * 3).sum().backward()
    np.testing.assert_array_equal(x.grad.data, [7.0, -7.0])


def test_hook_replacement_is_cast_to_the_tensor_dtype():
    # regression: an int (or float64) replacement used to leak its dtype into .grad
    x = Tensor([1.0, 2.0], requires_grad=True)
    x.register_hook(lambda g: np.array([7, 7]))
    (x * 3).sum().backward()
    assert x.grad.dtype == np.float64
    np.testing.assert_array_equal(x.grad.data, [7.0, 7.0])
    w = Tensor([1.0, 2.0], requires_grad=True, dtype=np.float32)
    y = w * 2
    y.register_hook(lambda g: g.data.astype(np.float64))
    (y * y).sum().backward()
    assert w.grad.dtype == np.float32


def test_hooks_chain_in_registration_order():
    x = Tensor([1.0], requires_grad=True)
    x.register_hook(lambda g: g + 1)
    x.register_hook(lambda g: g * 10)
    (x * 2).sum().backward()
    np.testing.assert_array_equal(x.grad.data, [30.0])


def test_hook_on_root_scales_everything():
    x = Tensor([1.0, 2.0], requires_grad=True)
    loss = (x * x).sum()
    loss.register_hook(lambda g: g * 0.5)
    loss.backward()
    np.testing.assert_array_equal(x.grad.data, x.data)


def test_handle_remove_unregisters_and_is_idempotent():
    x = Tensor([1.0], requires_grad=True)
    calls = []
    handle = x.register_hook(lambda g: calls.append(1) or g * 100)
    (x * 2).sum().backward()
    np.testing.assert_array_equal(x.grad.data, [200.0])
    handle.remove()
    handle.remove()
    x.grad = None
    (x * 2).sum().backward()
    np.testing.assert_array_equal(x.grad.data, [2.0])
    assert calls == [1]


def test_hook_in_grad_and_create_graph():
    x = Tensor([1.0, 2.0], requires_grad=True)
    y = x ** 3
    y.register_hook(lambda g: g * 2)
    (g,) = tg.grad(y.sum(), x, create_graph=True)
    np.testing.assert_array_equal(g.data, 2 * 3 * x.data ** 2)
    (h,) = tg.grad(g.sum(), x)  # the hook's factor 2 was recorded too
    np.testing.assert_array_equal(h.data, 2 * 6 * x.data)
    assert x.grad is None


def test_hook_returning_wrong_shape_is_an_error():
    x = Tensor([1.0, 2.0], requires_grad=True)
    x.register_hook(lambda g: np.ones(3))
    with pytest.raises(RuntimeError, match=re.escape("shape (3,) for a tensor of shape (2,)")):
        (x * 2).sum().backward()
    assert x.grad is None


def test_register_hook_needs_requires_grad():
    with pytest.raises(RuntimeError, match="does not require grad"):
        Tensor([1.0]).register_hook(lambda g: g)


# ---- retain_grad --------------------------------------------------------------------------
def test_retain_grad_fills_non_leaf_grad_and_accumulates():
    x = Tensor([1.0, 2.0], requires_grad=True)
    y = x * 2
    assert not y.retains_grad
    y.retain_grad()
    assert y.retains_grad
    z = (y * y).sum()
    z.backward(retain_graph=True)
    np.testing.assert_array_equal(y.grad.data, 2 * y.data)
    z.backward()
    np.testing.assert_array_equal(y.grad.data, 4 * y.data)
    np.testing.assert_array_equal(x.grad.data, 2 * 4 * y.data)


def test_without_retain_grad_non_leaf_grad_stays_none():
    x = Tensor([1.0, 2.0], requires_grad=True)
    y = x * 2
    (y * y).sum().backward()
    assert y.grad is None and x.grad is not None


def test_retain_grad_sees_hook_replacement_and_is_not_filled_by_grad():
    x = Tensor([1.0, 2.0], requires_grad=True)
    y = x * 2
    y.retain_grad()
    y.register_hook(lambda g: g * 3)
    y.sum().backward(retain_graph=True)
    np.testing.assert_array_equal(y.grad.data, [3.0, 3.0])
    tg.grad(y.sum(), x)  # grad() leaves every .grad alone
    np.testing.assert_array_equal(y.grad.data, [3.0, 3.0])


def test_retain_grad_on_leaf_is_a_no_op_and_needs_requires_grad():
    x = Tensor([1.0], requires_grad=True)
    x.retain_grad()
    (x * 2).sum().backward()
    np.testing.assert_array_equal(x.grad.data, [2.0])
    with pytest.raises(RuntimeError, match="does not require grad"):
        Tensor([1.0]).retain_grad()


# ---- detect_anomaly -----------------------------------------------------------------------
def _nan_graph():
    x = Tensor([0.0, 1.0], requires_grad=True)
    y = x.sqrt()  # ANOMALY-SQRT  (its backward divides by 2*sqrt(0) = 0)
    return x, (y * 0 + 1).sum()


def test_anomaly_mode_names_op_and_user_line():
    with tg.detect_anomaly():
        assert tg.is_anomaly_enabled()
        x, loss = _nan_graph()
        with pytest.raises(RuntimeError) as info, np.errstate(divide="ignore", invalid="ignore"):
            loss.backward()
    assert not tg.is_anomaly_enabled()
    msg = str(info.value)
    assert "'sqrt'" in msg and "non-finite" in msg
    assert f"test_hooks_anomaly.py:{line_of('ANOMALY-SQRT')} in _nan_graph" in msg
    assert x.grad is None  # leaves are written last: nothing was accumulated


def test_anomaly_raises_at_the_first_bad_rule_not_later_ones():
    with tg.detect_anomaly():
        x = Tensor([2.0], requires_grad=True)
        y = x.log()      # fine itself, but receives inf from below
        z = (y - y).sqrt()  # ANOMALY-FIRST sqrt(0): backward gives inf
        with pytest.raises(RuntimeError) as info, np.errstate(divide="ignore", invalid="ignore"):
            z.sum().backward()
    assert "'sqrt'" in str(info.value)
    assert f":{line_of('ANOMALY-FIRST')} " in str(info.value)


def test_no_error_outside_anomaly_mode():
    x, loss = _nan_graph()
    with np.errstate(divide="ignore", invalid="ignore"):
        loss.backward()
    assert np.isnan(x.grad.data[0]) and x.grad.data[1] == 0.0


def test_finite_gradients_pass_in_anomaly_mode():
    with tg.detect_anomaly():
        x = Tensor([1.0, 4.0], requires_grad=True)
        x.sqrt().sum().backward()
    np.testing.assert_allclose(x.grad.data, [0.5, 0.25])


def test_backward_inside_anomaly_mode_checks_ops_created_outside():
    x, loss = _nan_graph()
    with tg.detect_anomaly():
        with pytest.raises(RuntimeError, match="'sqrt'.*ran outside detect_anomaly"), \
                np.errstate(divide="ignore", invalid="ignore"):
            loss.backward()


def test_anomaly_mode_as_decorator_and_thread_local():
    @tg.detect_anomaly()
    def inside():
        return tg.is_anomaly_enabled()

    assert inside() and not tg.is_anomaly_enabled()
    seen = []
    with tg.detect_anomaly():
        t = threading.Thread(target=lambda: seen.append(tg.is_anomaly_enabled()))
        t.start()
        t.join()
    assert seen == [False]


def test_anomaly_check_in_create_graph_backward():
    with tg.detect_anomaly():
        x = Tensor([0.0], requires_grad=True)
        y = x.sqrt()  # ANOMALY-CG
        with pytest.raises(RuntimeError, match=f":{line_of('ANOMALY-CG')} "), \
                np.errstate(divide="ignore", invalid="ignore"):
            tg.grad(y.sum(), x, create_graph=True)
