"""Layers of tinygrad_edu.nn: values against numpy references of PyTorch's formulas,
gradients against finite differences, train/eval behaviour, buffers and errors."""
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
finite = st.floats(-4, 4, allow_nan=False, width=64)


def small(min_dims=1, max_dims=3, max_side=4):
    return arrays(np.float64, array_shapes(min_dims=min_dims, max_dims=max_dims, max_side=max_side),
                  elements=finite)


def away_from_zero(x, gap=1e-3):
    """Move values off the kink at 0 (finite differences are meaningless there)."""
    return np.where(np.abs(x) < gap, 0.5, x)


# ---- activations -------------------------------------------------------------
@FAST
@given(small())
def test_relu_values_and_gradient(x):
    x = away_from_zero(x)
    assert np.array_equal(nn.ReLU()(x).data, np.maximum(x, 0))
    check_grads(F.relu, x)


@FAST
@given(small(), st.floats(0.0, 0.5))
def test_leaky_relu_values_and_gradient(x, slope):
    x = away_from_zero(x)
    assert np.array_equal(nn.LeakyReLU(slope)(x).data, np.where(x > 0, x, x * slope))
    check_grads(lambda t: F.leaky_relu(t, slope), x)


def test_kinks_follow_pytorch():
    x = Tensor([0.0, 0.0], requires_grad=True)
    F.relu(x).sum().backward()
    assert np.array_equal(x.grad.data, [0.0, 0.0])
    x.grad = None
    F.leaky_relu(x, 0.2).sum().backward()
    assert np.array_equal(x.grad.data, [0.2, 0.2])


@FAST
@given(small())
def test_tanh_and_sigmoid(x):
    assert np.allclose(nn.Tanh()(x).data, np.tanh(x))
    assert np.allclose(nn.Sigmoid()(x).data, 1 / (1 + np.exp(-x)))
    check_grads(F.tanh, x)
    check_grads(F.sigmoid, x)


def _np_softmax(x, axis):
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


@FAST
@given(small(min_dims=1, max_dims=3), st.data())
def test_softmax_and_log_softmax(x, data):
    axis = data.draw(st.integers(-x.ndim, x.ndim - 1))
    ref = _np_softmax(x, axis)
    assert np.allclose(nn.Softmax(axis)(x).data, ref, rtol=1e-12, atol=0)
    assert np.allclose(nn.LogSoftmax(dim=axis)(x).data, np.log(ref), rtol=1e-12, atol=1e-14)
    check_grads(lambda t: F.softmax(t, axis), x)
    check_grads(lambda t: F.log_softmax(t, dim=axis), x)


def test_softmax_defaults_to_last_axis_and_accepts_dim():
    x = np.random.default_rng(0).standard_normal((3, 4))
    assert np.array_equal(nn.Softmax()(x).data, nn.Softmax(-1)(x).data)
    assert np.array_equal(nn.Softmax(dim=0)(x).data, F.softmax(x, axis=0).data)
    assert np.array_equal(tg.softmax(Tensor(x), dim=0).data, F.softmax(x, 0).data)
    assert np.array_equal(Tensor(x).log_softmax(dim=0).data, F.log_softmax(x, 0).data)
    with pytest.raises(TypeError, match="either axis= or dim="):
        nn.Softmax(0, dim=1)
    assert repr(nn.LogSoftmax(dim=1)) == "LogSoftmax(dim=1)"


def test_softmax_extreme_logits_are_finite():
    x = np.array([[1e4, -1e4, 0.0]])
    assert np.array_equal(F.softmax(x).data, [[1.0, 0.0, 0.0]])
    assert np.array_equal(F.log_softmax(x).data, [[0.0, -2e4, -1e4]])


def test_activation_second_order():
    x = np.array([[0.3, -1.2, 2.0], [0.7, 0.1, -0.4]])
    check_second_order(lambda t: F.tanh(t) * F.sigmoid(t), x)
    check_second_order(lambda t: F.log_softmax(t * t, 1), x)


def test_identity_and_repr():
    t = Tensor([1.0, 2.0], requires_grad=True)
    assert nn.Identity(3, foo=1)(t) is t
    assert np.array_equal(nn.Identity()(np.ones(2)).data, np.ones(2))
    assert repr(nn.ReLU()) == "ReLU()"
    assert repr(nn.LeakyReLU(0.2)) == "LeakyReLU(negative_slope=0.2)"
    assert repr(nn.Flatten()) == "Flatten(start_dim=1, end_dim=-1)"
    assert repr(nn.Dropout(0.25)) == "Dropout(p=0.25)"
    assert repr(nn.Embedding(10, 3)) == "Embedding(10, 3)"
    assert repr(nn.BatchNorm1d(4)) == (
        "BatchNorm1d(4, eps=1e-05, momentum=0.1, affine=True, track_running_stats=True)")


# ---- Flatten --------------------------------------------------------------------
@FAST
@given(small(min_dims=2, max_dims=4))
def test_flatten(x):
    out = nn.Flatten()(x)
    assert out.shape == (x.shape[0], int(np.prod(x.shape[1:])))
    assert np.array_equal(out.data, x.reshape(x.shape[0], -1))
    assert F.flatten(x).shape == (x.size,)
    check_grads(lambda t: nn.Flatten(0, -2)(t), x)


def test_flatten_bad_axis():
    with pytest.raises(ValueError, match=r"flatten.*\(2, 3\)"):
        nn.Flatten(start_dim=3)(np.zeros((2, 3)))


# ---- Dropout --------------------------------------------------------------------
@pytest.mark.parametrize("p", [-0.1, 1.5, float("nan"), "0.5", True])
def test_dropout_rejects_bad_p(p):
    with pytest.raises(ValueError, match="p must be a number in"):
        nn.Dropout(p)
    with pytest.raises(ValueError, match="p must be a number in"):
        F.dropout(np.ones(3), p)


def test_dropout_mask_reproducible_from_seed():
    x = np.ones((50, 40))
    a, b = nn.Dropout(0.5, rng=7), nn.Dropout(0.5, rng=7)
    first, second = a(x).data, a(x).data
    assert np.array_equal(first, b(x).data) and np.array_equal(second, b(x).data)
    assert not np.array_equal(first, second)  # a layer draws a new mask every call
    gen1, gen2 = np.random.default_rng(3), np.random.default_rng(3)
    assert np.array_equal(F.dropout(x, 0.3, rng=gen1).data, F.dropout(x, 0.3, rng=gen2).data)
    assert np.array_equal(F.dropout(x, 0.3, rng=5).data, F.dropout(x, 0.3, rng=5).data)
    # the mask is the one numpy's Generator gives: keep where uniform >= p
    keep = np.random.default_rng(5).random(x.shape) >= 0.3
    assert np.array_equal(F.dropout(x, 0.3, rng=5).data != 0, keep)


@pytest.mark.parametrize("p", [0.1, 0.5, 0.8])
def test_dropout_scales_kept_units_and_preserves_expectation(p):
    x = np.random.default_rng(1).uniform(0.5, 2.0, (400, 500))
    out = F.dropout(x, p, training=True, rng=11).data
    kept = out != 0
    assert np.array_equal(out[kept], x[kept] * (1.0 / (1.0 - p)))
    assert abs(1 - kept.mean() - p) < 0.005
    ones = F.dropout(np.ones((1000, 1000)), p, rng=2).data
    assert abs(ones.mean() - 1.0) < 0.01  # E[out] = x; std of this mean is <= 0.002


def test_dropout_gradient_is_the_mask():
    x = np.random.default_rng(0).standard_normal((6, 7))
    t = Tensor(x, requires_grad=True)
    out = F.dropout(t, 0.4, rng=3)
    out.sum().backward()
    assert np.array_equal(t.grad.data, (out.data != 0) * (1 / 0.6))
    check_grads(lambda u: F.dropout(u, 0.4, rng=3), x)


def test_dropout_eval_is_identity_and_edge_probabilities():
    x = Tensor(np.random.default_rng(0).standard_normal((5, 5)), requires_grad=True)
    layer = nn.Dropout(0.9, rng=0).eval()
    assert layer(x) is x
    assert F.dropout(x, 0.0, rng=0) is x
    zero = F.dropout(x, 1.0, rng=0)
    assert np.array_equal(zero.data, np.zeros((5, 5)))
    zero.sum().backward()
    assert np.array_equal(x.grad.data, np.zeros((5, 5)))
    assert layer.train()(x) is not x


def test_dropout_keeps_float32():
    x = np.ones((4, 4), dtype=np.float32)
    assert F.dropout(x, 0.5, rng=0).dtype == np.float32


# ---- BatchNorm1d -------------------------------------------------------------------
def _np_bn_train(x, w, b, eps):
    axes = (0,) if x.ndim == 2 else (0, 2)
    shape = (1, -1) if x.ndim == 2 else (1, -1, 1)
    mean = x.mean(axis=axes)
    var = x.var(axis=axes)
    y = (x - mean.reshape(shape)) / np.sqrt(var.reshape(shape) + eps) * w.reshape(shape) + b.reshape(shape)
    return y, mean, x.var(axis=axes, ddof=1)


def _np_bn_eval(x, rm, rv, w, b, eps):
    shape = (1, -1) if x.ndim == 2 else (1, -1, 1)
    return (x - rm.reshape(shape)) / np.sqrt(rv.reshape(shape) + eps) * w.reshape(shape) + b.reshape(shape)


bn_inputs = st.tuples(st.integers(2, 5), st.integers(1, 3), st.sampled_from([None, 1, 3])).flatmap(
    lambda s: arrays(np.float64, (s[0], s[1]) if s[2] is None else (s[0], s[1], s[2]), elements=finite))


@FAST
@given(bn_inputs, st.sampled_from([0.1, 0.5, None]))
def test_batchnorm_matches_pytorch_formulas(x, momentum):
    x = x + np.arange(x.size).reshape(x.shape) * 1e-3  # no constant channel (var 0 is legal, but dull)
    c = x.shape[1]
    rng = np.random.default_rng(0)
    bn = nn.BatchNorm1d(c, eps=1e-3, momentum=momentum)
    bn.weight.data[...] = rng.uniform(0.5, 2, c)
    bn.bias.data[...] = rng.standard_normal(c)
    rm, rv = np.zeros(c), np.ones(c)
    for k, batch in enumerate([x, 2 * x + 1, x[::-1] ** 2], start=1):
        y = bn(batch)
        ref, mean, unbiased = _np_bn_train(batch, bn.weight.data, bn.bias.data, 1e-3)
        np.testing.assert_allclose(y.data, ref, rtol=1e-10, atol=1e-10)
        f = 1 / k if momentum is None else momentum
        rm, rv = (1 - f) * rm + f * mean, (1 - f) * rv + f * unbiased
        np.testing.assert_allclose(bn.running_mean.data, rm, rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(bn.running_var.data, rv, rtol=1e-12, atol=1e-12)
        assert int(bn.num_batches_tracked.data) == k
    bn.eval()
    y = bn(x)
    np.testing.assert_allclose(y.data, _np_bn_eval(x, rm, rv, bn.weight.data, bn.bias.data, 1e-3),
                               rtol=1e-10, atol=1e-10)
    assert int(bn.num_batches_tracked.data) == 3  # eval does not count or update
    np.testing.assert_allclose(bn.running_mean.data, rm, rtol=1e-12, atol=1e-12)


def test_batchnorm_cumulative_average_is_mean_of_batch_statistics():
    rng = np.random.default_rng(4)
    batches = [rng.standard_normal((8, 3)) * (i + 1) + i for i in range(4)]
    bn = nn.BatchNorm1d(3, momentum=None)
    for b in batches:
        bn(b)
    np.testing.assert_allclose(bn.running_mean.data, np.mean([b.mean(0) for b in batches], 0), rtol=1e-12)
    np.testing.assert_allclose(bn.running_var.data, np.mean([b.var(0, ddof=1) for b in batches], 0),
                               rtol=1e-12)


def test_batchnorm_eval_is_per_sample():
    rng = np.random.default_rng(0)
    bn = nn.BatchNorm1d(4)
    for _ in range(3):
        bn(rng.standard_normal((16, 4)) * 3 + 1)
    bn.eval()
    x = rng.standard_normal((5, 4))
    whole = bn(x).data
    for i in range(5):
        assert np.array_equal(bn(x[i:i + 1]).data, whole[i:i + 1])


@FAST
@given(bn_inputs)
def test_batchnorm_gradients_training_and_eval(x):
    x = x + np.arange(x.size).reshape(x.shape) * 1e-2
    c = x.shape[1]
    rng = np.random.default_rng(1)
    w, b = rng.uniform(0.5, 2, c), rng.standard_normal(c)
    check_grads(lambda t, wt, bt: F.batch_norm(t, None, None, wt, bt, training=True, eps=1e-3),
                x, w, b, atol=1e-5, rtol=1e-4)
    rm, rv = rng.standard_normal(c), rng.uniform(0.5, 2, c)
    check_grads(lambda t, wt, bt: F.batch_norm(t, rm, rv, wt, bt, training=False), x, w, b)


def test_batchnorm_second_order():
    x = np.random.default_rng(2).standard_normal((4, 3))
    check_second_order(lambda t: F.batch_norm(t, None, None, training=True) ** 3, x)


def test_batchnorm_training_module_gradient_reaches_parameters():
    rng = np.random.default_rng(3)
    bn = nn.BatchNorm1d(3)
    x = Tensor(rng.standard_normal((6, 3, 2)), requires_grad=True)
    (bn(x) * rng.standard_normal((6, 3, 2))).sum().backward()
    assert bn.weight.grad.shape == (3,) and bn.bias.grad.shape == (3,) and x.grad.shape == (6, 3, 2)
    assert bn.running_mean.grad is None and not bn.running_mean.requires_grad


def test_batchnorm_state_dict_round_trip():
    rng = np.random.default_rng(5)
    bn = nn.BatchNorm1d(3)
    for _ in range(2):
        bn(rng.standard_normal((10, 3)) + 2)
    state = bn.state_dict()
    assert list(state) == ["weight", "bias", "running_mean", "running_var", "num_batches_tracked"]
    assert state["num_batches_tracked"].dtype == np.int64 and int(state["num_batches_tracked"]) == 2
    fresh = nn.BatchNorm1d(3)
    fresh.load_state_dict(state)
    x = rng.standard_normal((4, 3))
    assert np.array_equal(fresh.eval()(x).data, bn.eval()(x).data)
    assert int(fresh.num_batches_tracked.data) == 2
    state["running_mean"][...] = 99  # a state_dict is a copy
    assert not np.any(bn.running_mean.data == 99)


def test_batchnorm_without_affine_or_running_stats():
    x = np.random.default_rng(6).standard_normal((5, 2))
    bn = nn.BatchNorm1d(2, affine=False, track_running_stats=False)
    assert list(bn.parameters()) == [] and list(bn.state_dict()) == []
    ref = (x - x.mean(0)) / np.sqrt(x.var(0) + 1e-5)
    np.testing.assert_allclose(bn(x).data, ref, rtol=1e-12)
    np.testing.assert_allclose(bn.eval()(x).data, ref, rtol=1e-12)  # batch stats in eval too


def test_batchnorm_errors_leave_state_untouched():
    bn = nn.BatchNorm1d(3)
    bn(np.random.default_rng(0).standard_normal((4, 3)))
    before = bn.state_dict()
    with pytest.raises(ValueError, match=r"more than 1 value per channel.*\(1, 3\)"):
        bn(np.ones((1, 3)))
    with pytest.raises(ValueError, match=r"BatchNorm1d\(3\).*\(4, 2\)"):
        bn(np.ones((4, 2)))
    with pytest.raises(ValueError, match=r"\(N, 3\).*\(4,\)"):
        bn(np.ones(4))
    for k, v in bn.state_dict().items():
        assert np.array_equal(v, before[k]), k
    with pytest.raises(ValueError, match="running_mean and running_var are required"):
        F.batch_norm(np.ones((2, 3)), None, None, training=False)
    with pytest.raises(ValueError, match=r"running_mean must be .* shape \(3,\)"):
        F.batch_norm(np.ones((2, 3)), np.zeros(2), np.ones(3), training=True)
    with pytest.raises(ValueError, match="num_features must be positive"):
        nn.BatchNorm1d(0)


def test_buffer_assignment_keeps_it_a_buffer():
    bn = nn.BatchNorm1d(2)
    bn.running_mean = Tensor([1.0, 2.0])
    assert "running_mean" in bn.state_dict()
    assert np.array_equal(bn.state_dict()["running_mean"], [1.0, 2.0])
    bn.running_var = np.array([3.0, 4.0])
    assert isinstance(bn.running_var, Tensor) and np.array_equal(bn.state_dict()["running_var"], [3.0, 4.0])


def test_batchnorm_reset():
    bn = nn.BatchNorm1d(2)
    bn(np.random.default_rng(0).standard_normal((5, 2)))
    bn.weight.data[...] = 3
    bn.reset_parameters()
    assert np.array_equal(bn.running_mean.data, [0, 0]) and np.array_equal(bn.running_var.data, [1, 1])
    assert int(bn.num_batches_tracked.data) == 0 and np.array_equal(bn.weight.data, [1, 1])


# ---- Embedding ------------------------------------------------------------------
@FAST
@given(arrays(np.int64, array_shapes(min_dims=0, max_dims=3, max_side=4), elements=st.integers(0, 5)))
def test_embedding_lookup_and_gradient(idx):
    emb = nn.Embedding(6, 3, rng=0)
    out = emb(idx)
    assert out.shape == idx.shape + (3,)
    assert np.array_equal(out.data, emb.weight.data[idx])
    out.sum().backward()
    counts = np.bincount(idx.ravel(), minlength=6).astype(np.float64)
    assert np.array_equal(emb.weight.grad.data, np.repeat(counts[:, None], 3, axis=1))
    check_grads(lambda w: F.embedding(Tensor(idx), w), emb.weight.data)


def test_embedding_repeated_indices_accumulate():
    emb = nn.Embedding(4, 2, rng=1)
    g = np.array([[1.0, 2.0], [10.0, 20.0], [100.0, 200.0]])
    (emb(np.array([2, 0, 2])) * g).sum().backward()
    assert np.array_equal(emb.weight.grad.data, [[10, 20], [0, 0], [101, 202], [0, 0]])


def test_embedding_init_and_errors():
    a, b = nn.Embedding(300, 200, rng=3), nn.Embedding(300, 200, rng=3)
    assert np.array_equal(a.weight.data, b.weight.data)
    assert abs(a.weight.data.mean()) < 0.01 and abs(a.weight.data.std() - 1) < 0.01
    with pytest.raises(ValueError, match=r"indices \[-1, 300, 301\] are out of range for 300"):
        a(np.array([[0, 300], [-1, 301]]))
    with pytest.raises(ValueError, match="must be integers, got dtype float64"):
        a(np.array([1.0, 2.0]))
    with pytest.raises(ValueError, match="must be integers, got dtype bool"):
        a(np.array([True]))
    assert a.weight.grad is None


def test_layers_accept_arrays_and_tensors():
    x = np.random.default_rng(0).standard_normal((3, 4))
    makers = [nn.ReLU, nn.LeakyReLU, nn.Tanh, nn.Sigmoid, nn.Softmax, nn.LogSoftmax, nn.Identity,
              nn.Flatten, lambda: nn.Dropout(0.5, rng=0), lambda: nn.BatchNorm1d(4)]
    for make in makers:
        from_array, from_tensor = make()(x), make()(Tensor(x))
        assert isinstance(from_array, Tensor)
        assert np.array_equal(from_array.data, from_tensor.data), make


def test_small_model_trains_with_new_layers():
    """ReLU + BatchNorm + Dropout + CrossEntropy learn a separable 3-class problem."""
    from tinygrad_edu import optim

    rng = np.random.default_rng(0)
    centers = np.array([[2.0, 0.0], [-2.0, 1.0], [0.0, -2.5]])
    y = rng.integers(0, 3, 300)
    x = centers[y] + 0.5 * rng.standard_normal((300, 2))
    model = nn.Sequential(nn.Linear(2, 16, rng=1), nn.BatchNorm1d(16), nn.ReLU(),
                          nn.Dropout(0.1, rng=2), nn.Linear(16, 3, rng=3))
    opt = optim.SGD(model.parameters(), lr=0.1)
    loss_fn = nn.CrossEntropyLoss()
    for _ in range(60):
        loss = loss_fn(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
    model.eval()
    acc = (model(x).data.argmax(1) == y).mean()
    assert acc > 0.95
