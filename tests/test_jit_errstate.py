"""A replay runs the engine's calls under the floating-point error handling the eager step
set around them (Op.err), and erf/GELU record without value-shaped indexing."""
import warnings

import numpy as np
import pytest

import tinygrad_edu as tg
from _jit_helpers import mse_step
from tinygrad_edu import nn, optim


def _gelu_trainer(dtype, approximate="none"):
    tg.manual_seed(0)
    net = nn.Sequential(nn.ReLU(), nn.Linear(4, 16, dtype=dtype), nn.GELU(approximate=approximate),
                        nn.Linear(16, 2, dtype=dtype))
    return net, mse_step(net, optim.Adam(net.parameters(), lr=1e-2))


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_gelu_jitted_equals_eager_without_warnings_even_when_numpy_raises(dtype):
    (net_j, step_j), (net_e, step_e) = _gelu_trainer(dtype), _gelu_trainer(dtype)
    jitted = tg.jit(step_j)
    rng = np.random.default_rng(0)
    with warnings.catch_warnings(), np.errstate(divide="raise", over="raise", invalid="raise"):
        warnings.simplefilter("error")
        for _ in range(6):
            xx = (rng.standard_normal((8, 4)) * 4).astype(dtype)
            xx[0] = 0.0  # zeros through relu and a bias-free product: erf(0), gelu'(0)
            xx[1, :2] = (40.0, -40.0)  # the large range, and erfc's underflow
            x, y = tg.Tensor(xx), tg.Tensor(rng.standard_normal((8, 2)).astype(dtype))
            a, b = jitted(x, y).data, step_e(x, y).data
            assert a.tobytes() == b.tobytes()
    assert jitted.cache_info().hits == 4
    for p, q in zip(net_j.parameters(), net_e.parameters()):
        assert p.data.tobytes() == q.data.tobytes()
    assert "np.errstate(" in jitted.program and "_set_err(" in jitted.program


def test_erf_erfc_recorded_on_every_range_equal_the_eager_values():
    x = np.array([0.0, -0.0, 0.3, -0.46875, 0.5, -2.0, 3.9, 4.0, 4.5, -7.0, 27.0, 40.0,
                  np.inf, -np.inf, np.nan, 1e-300, -5e-324])
    xt = tg.Tensor(x)

    @tg.jit
    def f(t):
        return tg.erf(t), tg.erfc(t)

    for _ in range(3):
        a, b = f(xt)
        assert a.data.tobytes() == tg.erf(xt).data.tobytes()
        assert b.data.tobytes() == tg.erfc(xt).data.tobytes()


def test_a_replay_sets_the_error_handling_only_around_the_engine_calls_that_set_it():
    """The user's own settings stay in force elsewhere: a division by zero of the user's
    raises in the replay as in the eager step."""
    w = tg.Tensor(np.ones(3), requires_grad=True)

    @tg.jit
    def f(x, d):
        return tg.erf(x * w), x / d

    x = tg.Tensor(np.array([0.0, 1.0, 50.0]))
    ok, zero = tg.Tensor(np.ones(3)), tg.Tensor(np.array([1.0, 0.0, 1.0]))
    for _ in range(3):
        f(x, ok)
    with np.errstate(divide="raise"), pytest.raises(FloatingPointError):
        f(x, zero)


def test_the_engine_setting_goes_on_top_of_the_users_setting_of_each_call():
    """The sigmoid ignores overflow only: under a user's under="raise", its 1 / huge
    underflows and raises, eagerly and in a replay, though the replay's combined setting
    was first made for numpy's default."""
    w = tg.Tensor(np.ones(2), requires_grad=True)

    def f(x):
        return (x * w).sigmoid()

    jitted = tg.jit(f)
    x = tg.Tensor(np.array([-709.0, 1.0]))  # exp(709) is finite, 1 / (1 + it) subnormal
    for _ in range(3):
        assert jitted(x).data.tobytes() == f(x).data.tobytes()
    for fn in (f, jitted):
        with np.errstate(under="raise"), pytest.raises(FloatingPointError):
            fn(x)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # exp(720) overflows: silent, as eager
        assert jitted(tg.Tensor(np.array([-720.0, 1.0]))).data[0] == 0.0
