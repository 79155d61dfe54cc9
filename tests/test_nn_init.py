"""nn.init: statistics of the random initialisers, fans in this package's
(in, out) layout, reproducibility from seeds, in-place behaviour, errors."""
import math

import numpy as np
import pytest

from tinygrad_edu import Tensor, nn
from tinygrad_edu.nn import init

# 250_000 samples: the sample std is within ~0.3% of the true one (4 standard errors).
BIG = (1000, 250)


def test_fans_follow_in_out_layout():
    assert init._calculate_fan_in_and_fan_out(np.zeros((3, 5))) == (3, 5)
    # 3-D and more: a conv weight in PyTorch's (out, in, kh, kw) layout, PyTorch's fans
    assert init._calculate_fan_in_and_fan_out(Tensor(np.zeros((2, 3, 4, 5)))) == (60, 40)
    layer = nn.Linear(300, 100)
    assert layer.weight.shape == (300, 100)
    assert init._calculate_fan_in_and_fan_out(layer.weight) == (300, 100)
    with pytest.raises(ValueError, match=r"fewer than 2 dimensions.*\(7,\)"):
        init._calculate_fan_in_and_fan_out(np.zeros(7))


def test_calculate_gain():
    assert init.calculate_gain("linear") == 1 and init.calculate_gain("sigmoid") == 1
    assert init.calculate_gain("tanh") == 5 / 3
    assert init.calculate_gain("relu") == math.sqrt(2)
    assert init.calculate_gain("leaky_relu") == math.sqrt(2 / (1 + 0.01 ** 2))
    assert init.calculate_gain("leaky_relu", 0.2) == math.sqrt(2 / 1.04)
    assert init.calculate_gain("leaky_relu", 0) == math.sqrt(2)
    assert init.calculate_gain("selu") == 0.75
    with pytest.raises(ValueError, match="unsupported nonlinearity 'swish'"):
        init.calculate_gain("swish")
    with pytest.raises(ValueError, match="negative_slope"):
        init.calculate_gain("leaky_relu", "0.1")


def test_uniform_bounds_in_place_and_reproducible():
    p = nn.Parameter(np.zeros(BIG))
    arr = p.data
    assert init.uniform_(p, -2.0, 3.0, rng=0) is p
    assert p.data is arr  # in place: optimizers keep the same array
    assert p.data.min() >= -2.0 and p.data.max() < 3.0
    assert abs(p.data.mean() - 0.5) < 0.02 and abs(p.data.std() - 5 / math.sqrt(12)) < 0.01
    assert p.grad_fn is None and p.requires_grad and p.grad is None
    q = init.uniform_(np.empty(BIG), -2.0, 3.0, rng=0)
    assert np.array_equal(q, p.data)
    assert np.array_equal(q, np.random.default_rng(0).uniform(-2.0, 3.0, BIG))
    gen = np.random.default_rng(1)
    a, b = init.uniform_(np.empty(5), rng=gen).copy(), init.uniform_(np.empty(5), rng=gen)
    assert not np.array_equal(a, b)  # a shared Generator moves on


def test_normal_statistics():
    t = init.normal_(Tensor(np.zeros(BIG)), mean=1.5, std=0.2, rng=3)
    assert abs(t.data.mean() - 1.5) < 0.002 and abs(t.data.std() / 0.2 - 1) < 0.01
    assert np.array_equal(t.data, init.normal_(np.zeros(BIG), 1.5, 0.2, rng=3))


def test_constants():
    t = Tensor(np.random.default_rng(0).standard_normal((3, 4)))
    assert np.array_equal(init.zeros_(t).data, np.zeros((3, 4)))
    assert np.array_equal(init.ones_(t).data, np.ones((3, 4)))
    assert np.array_equal(init.constant_(t, 0.25).data, np.full((3, 4), 0.25))
    ints = np.zeros(3, dtype=np.int64)
    assert np.array_equal(init.constant_(ints, 7), [7, 7, 7])


@pytest.mark.parametrize("gain", [1.0, init.calculate_gain("tanh")])
def test_xavier(gain):
    fan_in, fan_out = BIG
    bound = gain * math.sqrt(6 / (fan_in + fan_out))
    u = init.xavier_uniform_(np.zeros(BIG), gain=gain, rng=0)
    assert np.abs(u).max() <= bound and np.abs(u).max() > 0.999 * bound
    assert abs(u.std() / (bound / math.sqrt(3)) - 1) < 0.01
    n = init.xavier_normal_(np.zeros(BIG), gain=gain, rng=0)
    assert abs(n.std() / (gain * math.sqrt(2 / (fan_in + fan_out))) - 1) < 0.01
    assert np.array_equal(u, init.xavier_uniform_(np.zeros(BIG), gain=gain, rng=0))


@pytest.mark.parametrize("mode,fan", [("fan_in", BIG[0]), ("fan_out", BIG[1])])
@pytest.mark.parametrize("nonlinearity,a", [("relu", 0), ("leaky_relu", 0.2), ("tanh", 0)])
def test_kaiming(mode, fan, nonlinearity, a):
    std = init.calculate_gain(nonlinearity, a) / math.sqrt(fan)
    u = init.kaiming_uniform_(np.zeros(BIG), a=a, mode=mode, nonlinearity=nonlinearity, rng=1)
    bound = math.sqrt(3) * std
    assert np.abs(u).max() <= bound and np.abs(u).max() > 0.999 * bound
    n = init.kaiming_normal_(np.zeros(BIG), a=a, mode=mode, nonlinearity=nonlinearity, rng=1)
    assert abs(n.std() / std - 1) < 0.01 and abs(n.mean()) < 0.01 * std * 4


def test_kaiming_default_is_he_relu_on_fan_in():
    u = init.kaiming_uniform_(np.zeros(BIG), rng=2)
    assert np.abs(u).max() <= math.sqrt(6 / BIG[0]) and np.abs(u).max() > 0.999 * math.sqrt(6 / BIG[0])


def test_float32_kept_and_zero_size_ok():
    t = nn.Parameter(np.zeros((50, 20), dtype=np.float32))
    init.kaiming_normal_(t, rng=0)
    assert t.dtype == np.float32 and t.data.std() > 0
    empty = np.zeros((0, 5))
    assert init.xavier_uniform_(empty, rng=0) is empty


def test_init_errors_leave_tensor_untouched():
    t = np.ones((4, 3))
    with pytest.raises(ValueError, match="std must be >= 0"):
        init.normal_(t, std=-1)
    with pytest.raises(ValueError, match="greater than upper bound"):
        init.uniform_(t, 2, 1)
    with pytest.raises(ValueError, match="mode must be 'fan_in' or 'fan_out'"):
        init.kaiming_uniform_(t, mode="fan_avg")
    with pytest.raises(TypeError, match="floating-point tensor, got dtype int64"):
        init.normal_(np.zeros(3, dtype=np.int64))
    with pytest.raises(TypeError, match="rng must be None, an int seed"):
        init.uniform_(t, rng=0.5)
    with pytest.raises(TypeError, match="Tensor or numpy array"):
        init.ones_([1.0, 2.0])
    assert np.array_equal(t, np.ones((4, 3)))


def test_init_after_forward_makes_old_graph_refuse_backward():
    layer = nn.Linear(3, 2, rng=0)
    out = layer(np.ones((1, 3))).sum()
    init.xavier_uniform_(layer.weight, rng=1)
    with pytest.raises(RuntimeError):
        out.backward()


def test_kaiming_on_a_conv_weight_uses_pytorchs_fan_in():
    # Conv2d(3, 8, 3): weight (8, 3, 3, 3), fan_in = 3 * 9 = 27 as in torch.nn.init
    conv = nn.Conv2d(3, 8, 3)
    init.kaiming_uniform_(conv.weight, nonlinearity="relu", rng=0)
    bound = math.sqrt(2.0) * math.sqrt(3.0 / 27)
    w = conv.weight.data
    assert np.abs(w).max() <= bound and np.abs(w).max() > 0.9 * bound


def test_weights_in_pytorchs_out_in_layout_get_pytorchs_fans():
    # the recurrent/attention/transformer layers keep PyTorch's (out, in) matrices
    layer = nn.TransformerEncoderLayer(16, 2, 256)
    assert isinstance(layer.linear1.weight, nn.parameter.OutInParameter)
    assert init._calculate_fan_in_and_fan_out(layer.linear1.weight) == (16, 256)
    init.kaiming_uniform_(layer.linear1.weight, nonlinearity="relu", rng=0)
    bound = math.sqrt(2.0) * math.sqrt(3.0 / 16)
    assert bound * 0.9 < np.abs(layer.linear1.weight.data).max() <= bound
    lstm = nn.LSTM(8, 64)
    assert init._calculate_fan_in_and_fan_out(lstm.weight_ih_l0) == (8, 256)
    import copy
    assert isinstance(copy.deepcopy(lstm).weight_hh_l0, nn.parameter.OutInParameter)
