"""nn.utils.clip_grad_norm_ / clip_grad_value_ (the blog's "delta trimming")."""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st
from hypothesis.extra import numpy as hnp

from tinygrad_edu import nn
from tinygrad_edu.nn.utils import clip_grad_norm_, clip_grad_value_
from tinygrad_edu.tensor import Tensor


def _params(*grads, dtype=np.float64):
    ps = []
    for g in grads:
        g = None if g is None else np.asarray(g, dtype=dtype)
        p = nn.Parameter(np.zeros(np.shape(g) if g is not None else (2,), dtype=dtype))
        p.grad = None if g is None else Tensor(g)
        ps.append(p)
    return ps


def test_exposed_as_nn_utils():
    assert nn.utils.clip_grad_norm_ is clip_grad_norm_


def test_norm_clipping_by_hand():
    a, b = _params([3.0, 4.0], [[12.0]])
    total = clip_grad_norm_([a, b], max_norm=6.5)
    assert total == 13.0
    coef = 6.5 / (13.0 + 1e-6)
    assert np.array_equal(a.grad.data, np.array([3.0, 4.0]) * coef)
    assert np.array_equal(b.grad.data, np.array([[12.0]]) * coef)


def test_below_max_norm_is_untouched():
    a, b = _params([3.0, 4.0], [12.0])
    ga, gb = a.grad.data, b.grad.data.copy()
    assert clip_grad_norm_([a, b], max_norm=13.1) == 13.0
    assert a.grad.data is ga and np.array_equal(b.grad.data, gb)


def test_inf_and_one_norms():
    a, b = _params([3.0, -7.0], [5.0])
    assert clip_grad_norm_([a, b], max_norm=100, norm_type=float("inf")) == 7.0
    assert clip_grad_norm_([a, b], max_norm=100, norm_type=1) == 15.0
    clip_grad_norm_([a, b], max_norm=3.5, norm_type="inf")
    np.testing.assert_allclose(np.abs(a.grad.data).max(), 3.5, rtol=1e-6)


@settings(max_examples=40, deadline=None)
@given(grads=st.lists(hnp.arrays(np.float64, hnp.array_shapes(max_dims=2, max_side=4),
                                 elements=st.floats(-1e3, 1e3)), min_size=1, max_size=4),
       max_norm=st.floats(0.01, 100), p=st.sampled_from([1.0, 2.0, 3.0, float("inf")]))
def test_total_norm_and_bound(grads, max_norm, p):
    ps = _params(*grads)
    flat = np.concatenate([g.ravel() for g in grads])
    total = clip_grad_norm_(ps, max_norm, norm_type=p)
    np.testing.assert_allclose(total, np.linalg.norm(flat, p) if flat.size else 0.0, rtol=1e-12)
    after = np.concatenate([q.grad.data.ravel() for q in ps])
    assert np.linalg.norm(after, p) <= max_norm * (1 + 1e-9)
    coef = max_norm / (total + 1e-6)  # PyTorch's rule: scale whenever this is below 1
    if coef < 1:  # direction kept
        np.testing.assert_allclose(after, flat * coef, rtol=1e-12)
    else:
        assert np.array_equal(after, flat)


def test_params_without_grad_are_skipped():
    a, b = _params([6.0, 8.0], None)
    assert clip_grad_norm_([a, b], 1.0) == 10.0
    assert b.grad is None
    assert clip_grad_norm_(_params(None, None), 1.0) == 0.0
    clip_grad_value_([a, b], 0.1)
    assert b.grad is None


def test_single_tensor_and_float32():
    (a,) = _params([30.0, 40.0], dtype=np.float32)
    total = clip_grad_norm_(a, 5.0)
    assert total == 50.0 and a.grad.dtype == np.float32
    np.testing.assert_allclose(a.grad.data, [3.0, 4.0], rtol=1e-6)


def test_nonfinite_norm():
    a, b = _params([np.inf, 1.0], [2.0])
    with pytest.raises(RuntimeError, match="inf"):
        clip_grad_norm_([a, b], 1.0, error_if_nonfinite=True)
    assert np.array_equal(a.grad.data, [np.inf, 1.0]) and np.array_equal(b.grad.data, [2.0])
    a, b = _params([np.nan, 1.0], [2.0])
    total = clip_grad_norm_([a, b], 1.0)  # as PyTorch: a nan norm makes every gradient nan
    assert np.isnan(total) and np.isnan(b.grad.data).all()


@pytest.mark.parametrize("kwargs, match", [
    ({"max_norm": -1.0}, "max_norm"),
    ({"max_norm": float("nan")}, "max_norm"),
    ({"max_norm": 1.0, "norm_type": 0}, "norm_type"),
    ({"max_norm": 1.0, "norm_type": -2}, "norm_type"),
])
def test_bad_arguments(kwargs, match):
    (a,) = _params([3.0, 4.0])
    with pytest.raises(ValueError, match=match):
        clip_grad_norm_([a], **kwargs)
    assert np.array_equal(a.grad.data, [3.0, 4.0])


def test_not_a_tensor():
    with pytest.raises(TypeError, match="parameter 0"):
        clip_grad_norm_([np.ones(2)], 1.0)


def test_clip_value():
    a, b = _params([-3.0, 0.5, 2.0], [[0.1, -0.2]])
    clip_grad_value_([a, b], 1.0)
    assert np.array_equal(a.grad.data, [-1.0, 0.5, 1.0])
    assert np.array_equal(b.grad.data, [[0.1, -0.2]])
    with pytest.raises(ValueError, match="clip_value"):
        clip_grad_value_([a], -1)


def test_on_real_gradients_of_a_model():
    net = nn.Sequential(nn.Linear(4, 3, rng=0), nn.Sigmoid(), nn.Linear(3, 1, rng=1))
    X = np.random.default_rng(0).standard_normal((16, 4)) * 50
    (net(X) ** 2).sum().backward()
    before = np.sqrt(sum((p.grad.data ** 2).sum() for p in net.parameters()))
    total = clip_grad_norm_(net.parameters(), 0.5)
    after = np.sqrt(sum((p.grad.data ** 2).sum() for p in net.parameters()))
    assert total == pytest.approx(before, rel=1e-12) and before > 0.5
    assert after == pytest.approx(0.5, rel=1e-5)
