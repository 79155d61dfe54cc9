"""Losses: values against numpy references of PyTorch's formulas (extreme logits,
probabilities of exactly 0 and 1, label smoothing, weights, ignore_index),
gradients against finite differences, and errors for bad targets."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import array_shapes, arrays

import tinygrad_edu as tg
from tinygrad_edu import Tensor, nn
from tinygrad_edu.nn import functional as F

from _numgrad import check_grads, check_second_order

FAST = settings(max_examples=15, deadline=None)
REDUCTIONS = ["mean", "sum", "none"]


def _reduce(loss, reduction):
    return {"mean": np.mean, "sum": np.sum, "none": lambda a: a}[reduction](loss)


def pair(lo=-3.0, hi=3.0, max_dims=3):
    """Two float64 arrays of the same (hypothesis) shape."""
    return array_shapes(min_dims=0, max_dims=max_dims, max_side=4).flatmap(
        lambda s: st.tuples(*(arrays(np.float64, s, elements=st.floats(lo, hi)) for _ in range(2))))


# ---- MSE / L1 ---------------------------------------------------------------------
@FAST
@given(pair(), st.sampled_from(REDUCTIONS))
def test_mse(xy, reduction):
    x, y = xy
    got = nn.MSELoss(reduction=reduction)(x, y)
    np.testing.assert_allclose(got.data, _reduce((x - y) ** 2, reduction), rtol=1e-13, atol=1e-13)
    check_grads(lambda a, b: F.mse_loss(a, b, reduction), x, y)


@FAST
@given(pair(), st.sampled_from(REDUCTIONS))
def test_l1(xy, reduction):
    x, y = xy
    y = np.where(np.abs(x - y) < 1e-3, x + 0.5, y)  # finite differences need distance from the kink
    got = nn.L1Loss(reduction)(x, y)
    np.testing.assert_allclose(got.data, _reduce(np.abs(x - y), reduction), rtol=1e-13, atol=1e-13)
    check_grads(lambda a, b: F.l1_loss(a, b, reduction), x, y)


def test_regression_losses_keep_float32_and_accept_int_targets():
    x = Tensor(np.array([[0.5, 1.5]], dtype=np.float32), requires_grad=True)
    loss = F.mse_loss(x, np.array([[0, 2]]))
    assert loss.dtype == np.float32 and np.array_equal(loss.data, np.float32(0.25))
    loss.backward()
    assert x.grad.dtype == np.float32


# ---- BCE --------------------------------------------------------------------------
def _np_bce(p, y, w=1.0):
    with np.errstate(divide="ignore"):
        return -w * (y * np.maximum(np.log(p), -100) + (1 - y) * np.maximum(np.log1p(-p), -100))


@FAST
@given(pair(0.02, 0.98), st.sampled_from(REDUCTIONS))
def test_bce_values_and_gradients(py, reduction):
    p, y = py
    np.testing.assert_allclose(nn.BCELoss(reduction=reduction)(p, y).data, _reduce(_np_bce(p, y), reduction),
                               rtol=1e-13, atol=1e-13)
    check_grads(lambda a, b: F.binary_cross_entropy(a, b, reduction=reduction), p, y, rtol=1e-4)


def test_bce_exact_zero_and_one_probabilities_are_finite():
    p = Tensor([0.0, 1.0, 0.0, 1.0, 0.5], requires_grad=True)
    y = np.array([1.0, 0.0, 0.0, 1.0, 1.0])
    loss = F.binary_cross_entropy(p, y, reduction="none")
    np.testing.assert_array_equal(loss.data, [100.0, 100.0, 0.0, 0.0, np.log(2)])
    loss.sum().backward()
    # PyTorch's backward: (p - y) / max(p (1 - p), 1e-12)
    np.testing.assert_allclose(p.grad.data, [-1e12, 1e12, 0.0, 0.0, -2.0], rtol=1e-15)
    assert np.all(np.isfinite(p.grad.data))
    t = Tensor(y, requires_grad=True)
    F.binary_cross_entropy(np.array([0.0, 1.0, 0.0, 1.0, 0.5]), t).backward()
    assert np.all(np.isfinite(t.grad.data))
    # d/dy = max(log(1 - p), -100) - max(log p, -100)
    np.testing.assert_allclose(t.grad.data * 5, [100, -100, 100, -100, 0], atol=1e-12)


def test_bce_weight_and_second_order():
    p = np.array([[0.2, 0.7, 0.9], [0.4, 0.5, 0.1]])
    y = np.array([[0.0, 1.0, 1.0], [1.0, 0.3, 0.0]])
    w = np.array([1.0, 2.0, 0.5])
    np.testing.assert_allclose(nn.BCELoss(weight=w, reduction="sum")(p, y).data, _np_bce(p, y, w).sum(),
                               rtol=1e-13)
    check_grads(lambda a: F.binary_cross_entropy(a, y, weight=w), p, rtol=1e-4)
    check_second_order(lambda a: F.binary_cross_entropy(a, y, reduction="none"), p)
    y_inner = np.array([[0.1, 0.9, 0.6], [0.5, 0.3, 0.2]])
    check_second_order(lambda b: F.binary_cross_entropy(p, b, reduction="none") * b, y_inner)


def _np_bce_logits(x, y, pos_weight=None):
    sp_neg = np.logaddexp(0, -x)  # -log sigmoid(x), stable
    lw = 1 if pos_weight is None else 1 + (pos_weight - 1) * y
    return (1 - y) * x + lw * sp_neg


@FAST
@given(pair(-6, 6), st.sampled_from(REDUCTIONS), st.booleans())
def test_bce_with_logits(xy, reduction, weighted):
    x, y = xy
    y = (y + 6) / 12  # targets in [0, 1]
    pw = np.full(x.shape[-1:] if x.ndim else (), 2.5) if weighted else None
    got = nn.BCEWithLogitsLoss(reduction=reduction, pos_weight=pw)(x, y)
    np.testing.assert_allclose(got.data, _reduce(_np_bce_logits(x, y, pw), reduction), rtol=1e-12, atol=1e-13)
    check_grads(lambda a, b: F.binary_cross_entropy_with_logits(a, b, reduction=reduction, pos_weight=pw),
                x, y)
    if weighted:
        check_grads(lambda w: F.binary_cross_entropy_with_logits(x, y, pos_weight=w), pw)


def test_bce_with_logits_extreme_logits():
    x = Tensor([1e4, -1e4, 1e4, -1e4, 0.0, 1e300], requires_grad=True)
    y = np.array([0.0, 1.0, 1.0, 0.0, 1.0, 1.0])
    loss = F.binary_cross_entropy_with_logits(x, y, reduction="none")
    np.testing.assert_array_equal(loss.data, [1e4, 1e4, 0.0, 0.0, np.log(2), 0.0])
    loss.sum().backward()
    np.testing.assert_array_equal(x.grad.data, [1.0, -1.0, 0.0, 0.0, -0.5, 0.0])  # sigmoid(x) - y


def test_bce_with_logits_second_order_at_extreme_logits():
    x = Tensor([1e4, -1e4, 1e300], requires_grad=True)
    loss = F.binary_cross_entropy_with_logits(x, np.array([1.0, 0.0, 0.0]), reduction="sum")
    (g,) = tg.grad(loss, x, create_graph=True)
    np.testing.assert_array_equal(g.data, [0.0, 0.0, 1.0])
    (h,) = tg.grad(g.sum(), x)
    np.testing.assert_array_equal(h.data, [0.0, 0.0, 0.0])  # sigmoid'(x), finite


def test_bce_with_logits_gradient_exact_at_zero_and_second_order():
    x = Tensor([0.0, 0.0], requires_grad=True)
    F.binary_cross_entropy_with_logits(x, np.array([0.0, 1.0]), reduction="sum").backward()
    np.testing.assert_array_equal(x.grad.data, [0.5, -0.5])
    xs = np.array([[0.0, 1.5, -2.0], [40.0, -40.0, 0.3]])
    ys = np.array([[1.0, 0.0, 0.2], [1.0, 0.0, 0.5]])
    pw = np.array([2.0, 0.5, 1.5])
    check_second_order(lambda a: F.binary_cross_entropy_with_logits(a, ys, reduction="none", pos_weight=pw), xs)
    check_second_order(lambda b: F.binary_cross_entropy_with_logits(xs, b, reduction="none", pos_weight=pw) * b,
                       ys)


# ---- CrossEntropy / NLL ------------------------------------------------------------
def _np_log_softmax(x, axis=1):
    m = x.max(axis=axis, keepdims=True)
    return x - m - np.log(np.exp(x - m).sum(axis=axis, keepdims=True))


def _np_nll(logp, t, weight=None, ignore_index=-100, reduction="mean", eps=0.0):
    """PyTorch's formulas, written directly (classes on axis 1, or 0 when 1-D)."""
    cax = 1 if logp.ndim >= 2 else 0
    c = logp.shape[cax]
    lp = np.moveaxis(logp, cax, -1)
    w = np.ones(c) if weight is None else weight
    valid = t != ignore_index
    safe = np.where(valid, t, 0)
    picked = np.take_along_axis(lp, safe[..., None], axis=-1)[..., 0]
    wt = w[safe] * valid
    nll = -picked * wt
    smooth = np.where(valid, -(lp * w).sum(-1), 0.0)
    if reduction == "none":
        return (1 - eps) * nll + eps / c * smooth
    if reduction == "sum":
        return (1 - eps) * nll.sum() + eps / c * smooth.sum()
    return ((1 - eps) * nll.sum() + eps / c * smooth.sum()) / wt.sum()


ce_cases = st.tuples(st.integers(1, 4), st.integers(2, 5), st.sampled_from([(), (2,), (1, 3)])).flatmap(
    lambda s: st.tuples(
        arrays(np.float64, (s[0], s[1]) + s[2], elements=st.floats(-5, 5)),
        arrays(np.int64, (s[0],) + s[2], elements=st.integers(0, s[1] - 1))))


@FAST
@given(ce_cases, st.sampled_from(REDUCTIONS), st.sampled_from([0.0, 0.1, 1.0]), st.booleans(), st.booleans())
def test_cross_entropy_against_reference(case, reduction, eps, weighted, ignore):
    x, t = case
    c = x.shape[1]
    w = np.linspace(0.5, 2.0, c) if weighted else None
    if ignore:
        t = t.copy()
        t.flat[0] = -100
        if reduction == "mean" and (t == -100).all():
            t.flat[0] = 0
    loss_fn = nn.CrossEntropyLoss(weight=w, reduction=reduction, label_smoothing=eps)
    got = loss_fn(x, Tensor(t))
    ref = _np_nll(_np_log_softmax(x), t, w, -100, reduction, eps)
    np.testing.assert_allclose(got.data, ref, rtol=1e-12, atol=1e-12)
    assert got.shape == np.shape(ref)
    check_grads(lambda a: F.cross_entropy(a, t, w, reduction=reduction, label_smoothing=eps), x)


@FAST
@given(ce_cases, st.sampled_from(REDUCTIONS), st.booleans())
def test_nll_against_reference(case, reduction, weighted):
    x, t = case
    logp = _np_log_softmax(x)
    w = np.linspace(2.0, 0.5, x.shape[1]) if weighted else None
    got = nn.NLLLoss(weight=w, reduction=reduction)(logp, t)
    np.testing.assert_allclose(got.data, _np_nll(logp, t, w, reduction=reduction), rtol=1e-12, atol=1e-12)
    check_grads(lambda a: F.nll_loss(a, t, w, reduction=reduction), logp)


def test_cross_entropy_is_nll_of_log_softmax_exactly():
    x = np.random.default_rng(0).standard_normal((6, 4))
    t = np.array([0, 3, 1, 1, 2, 0])
    assert np.array_equal(F.cross_entropy(x, t).data, F.nll_loss(F.log_softmax(x, 1), t).data)
    assert np.array_equal(nn.CrossEntropyLoss()(x, t).data, nn.NLLLoss()(nn.LogSoftmax(1)(x), t).data)


def test_cross_entropy_extreme_logits():
    x = Tensor([[1e4, -1e4, 0.0], [-1e4, 1e4, 1e4]], requires_grad=True)
    t = np.array([1, 2])
    loss = F.cross_entropy(x, t, reduction="none")
    np.testing.assert_array_equal(loss.data, [2e4, np.log(2)])
    loss.sum().backward()
    # softmax - one_hot
    np.testing.assert_array_equal(x.grad.data, [[1.0, -1.0, 0.0], [0.0, 0.5, -0.5]])
    smooth = F.cross_entropy(x.data, t, label_smoothing=0.3, reduction="none")
    ref = _np_nll(_np_log_softmax(x.data), t, reduction="none", eps=0.3)
    np.testing.assert_allclose(smooth.data, ref, rtol=1e-15)
    assert np.all(np.isfinite(smooth.data))


def test_label_smoothing_formula_by_hand():
    # C = 2, logits equal: log-probs log(1/2); nll = log 2, smooth = 2 log 2
    loss = F.cross_entropy(np.zeros((1, 2)), [0], label_smoothing=0.2)
    np.testing.assert_allclose(loss.data, 0.8 * np.log(2) + 0.2 / 2 * 2 * np.log(2), rtol=1e-15)


def test_cross_entropy_ignore_index_and_unbatched():
    x = np.random.default_rng(1).standard_normal((4, 3))
    t = np.array([2, -100, 0, -100])
    full = F.cross_entropy(x[[0, 2]], t[[0, 2]])
    np.testing.assert_allclose(F.cross_entropy(x, t).data, full.data, rtol=1e-15)
    xt = Tensor(x, requires_grad=True)
    F.cross_entropy(xt, t).backward()
    assert np.array_equal(xt.grad.data[[1, 3]], np.zeros((2, 3)))
    assert np.array_equal(F.cross_entropy(x, np.array([5, 1, 1, 2]), ignore_index=5, reduction="none").data[0], 0.0)
    one = F.cross_entropy(x[0], np.array(2))
    assert one.shape == () and np.allclose(one.data, -_np_log_softmax(x[:1])[0, 2])
    check_grads(lambda a: F.cross_entropy(a, np.array(2), label_smoothing=0.1), x[0])


def test_cross_entropy_second_order_and_float32():
    x = np.random.default_rng(2).standard_normal((3, 4))
    t = np.array([1, 0, 3])
    check_second_order(lambda a: F.cross_entropy(a, t, label_smoothing=0.2), x)
    x32 = Tensor(x.astype(np.float32), requires_grad=True)
    loss = F.cross_entropy(x32, t, weight=np.array([1.0, 2.0, 1.0, 1.0]))
    assert loss.dtype == np.float32
    loss.backward()
    assert x32.grad.dtype == np.float32


# ---- errors -----------------------------------------------------------------------
@pytest.mark.parametrize("cls", [nn.MSELoss, nn.L1Loss, nn.BCELoss, nn.BCEWithLogitsLoss,
                                 nn.CrossEntropyLoss, nn.NLLLoss])
def test_invalid_reduction(cls):
    with pytest.raises(ValueError, match=r"reduction must be one of .*'avg'"):
        cls(reduction="avg")


@pytest.mark.parametrize("fn", [F.mse_loss, F.l1_loss, F.binary_cross_entropy,
                                F.binary_cross_entropy_with_logits, F.cross_entropy, F.nll_loss])
def test_invalid_reduction_functional(fn):
    with pytest.raises(ValueError, match="reduction must be one of"):
        fn(np.full((2, 2), 0.5), np.zeros(2, dtype=int), reduction="elementwise_mean")


def test_cross_entropy_target_errors():
    x = Tensor(np.zeros((4, 3)), requires_grad=True)
    with pytest.raises(ValueError, match=r"integer class indices, got dtype float64 with shape \(4,\)"):
        F.cross_entropy(x, np.array([0.0, 1.0, 2.0, 1.0]))
    onehot = np.eye(3, dtype=np.int64)[[0, 1, 2, 1]]
    with pytest.raises(ValueError, match=r"must have shape \(4,\).*got \(4, 3\).*one-hot.*argmax"):
        nn.CrossEntropyLoss()(x, onehot)
    # a float target of the input's shape is PyTorch's class-probability form (one-hot included)
    assert np.array_equal(F.cross_entropy(x, onehot.astype(np.float64)).data,
                          F.cross_entropy(x, np.array([0, 1, 2, 1])).data)
    with pytest.raises(ValueError, match="one-hot"):
        F.nll_loss(x, onehot.astype(np.float64))
    with pytest.raises(ValueError, match=r"class indices \[-1, 3\] are out of range for 3 classes"):
        F.cross_entropy(x, Tensor(np.array([0, 3, -1, 3])))
    with pytest.raises(ValueError, match=r"must have shape \(4,\).*got \(5,\)"):
        F.cross_entropy(x, np.zeros(5, dtype=int))
    with pytest.raises(ValueError, match="dtype bool"):
        F.nll_loss(x, np.array([True, False, True, False]))
    with pytest.raises(ValueError, match=r"weight must be .* shape \(3,\).*\(2,\)"):
        F.cross_entropy(x, np.zeros(4, dtype=int), weight=np.ones(2))
    with pytest.raises(ValueError, match="input must be floating point"):
        F.cross_entropy(np.zeros((4, 3), dtype=int), np.zeros(4, dtype=int))
    with pytest.raises(ValueError, match="label_smoothing must be in"):
        nn.CrossEntropyLoss(label_smoothing=1.5)
    assert x.grad is None


def test_elementwise_loss_errors():
    with pytest.raises(ValueError, match=r"mse_loss: target shape \(3, 1\) must equal input shape \(3,\)"):
        F.mse_loss(np.zeros(3), np.zeros((3, 1)))
    with pytest.raises(ValueError, match=r"binary_cross_entropy: all elements of input must be in \[0, 1\]"):
        nn.BCELoss()(np.array([0.5, 1.2]), np.array([0.0, 1.0]))
    with pytest.raises(ValueError, match="all elements of target"):
        F.binary_cross_entropy(np.array([0.5, 0.2]), np.array([0.0, 2.0]))
    with pytest.raises(ValueError, match=r"pos_weight of shape \(3,\) does not broadcast to the input shape \(2, 2\)"):
        F.binary_cross_entropy_with_logits(np.zeros((2, 2)), np.zeros((2, 2)), pos_weight=np.ones(3))
    with pytest.raises(ValueError, match=r"weight of shape \(4,\) does not broadcast"):
        F.binary_cross_entropy(np.full((2, 2), 0.5), np.zeros((2, 2)), weight=np.ones(4))


def test_loss_weights_are_buffers():
    loss = nn.CrossEntropyLoss(weight=[1.0, 2.0])
    assert np.array_equal(loss.state_dict()["weight"], [1.0, 2.0])
    assert list(nn.MSELoss().state_dict()) == []
    assert list(nn.BCEWithLogitsLoss(pos_weight=[3.0]).state_dict()) == ["pos_weight"]
    assert repr(nn.CrossEntropyLoss()) == "CrossEntropyLoss()"
