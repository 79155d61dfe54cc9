"""Optimizers against the update rules of their papers / PyTorch's docs, written out here in numpy.

Each reference below is transcribed from PyTorch's documented algorithm (the
paper's form where it differs only by rearrangement), independently of the
implementation's arrangement, so comparisons use a tight ``allclose`` in
float64; exact (``array_equal``) claims are only made where two code paths
must compute the very same numbers.
"""
import copy
import math

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st
from hypothesis.extra import numpy as hnp

import tinygrad_edu as tg
from tinygrad_edu import nn, optim
from tinygrad_edu.tensor import Tensor

RTOL = 1e-12

shapes = hnp.array_shapes(min_dims=1, max_dims=2, min_side=1, max_side=4)


def _grads(shape, n, seed):
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(shape) * 3 for _ in range(n)]


def _run(make_opt, p0, grads):
    """Apply the optimizer to one parameter with the given gradient sequence; return the trajectory."""
    p = nn.Parameter(p0.copy())
    opt = make_opt([p])
    traj = []
    for g in grads:
        p.grad = Tensor(g)
        opt.step()
        traj.append(p.data.copy())
    return traj, opt, p


# ---- references (from the algorithm boxes in PyTorch's docs) ----------------
def ref_sgd(p, grads, lr, momentum=0.0, dampening=0.0, weight_decay=0.0, nesterov=False):
    p, b, out = p.copy(), None, []
    for t, g in enumerate(grads, 1):
        if weight_decay:
            g = g + weight_decay * p
        if momentum:
            b = g.copy() if t == 1 else momentum * b + (1 - dampening) * g
            g = g + momentum * b if nesterov else b
        p = p - lr * g
        out.append(p)
    return out


def ref_adam(p, grads, lr, b1, b2, eps, weight_decay=0.0, amsgrad=False, decoupled=False):
    p = p.copy()
    m, v, vmax, out = np.zeros_like(p), np.zeros_like(p), np.zeros_like(p), []
    for t, g in enumerate(grads, 1):
        if decoupled:
            p = p - lr * weight_decay * p
        elif weight_decay:
            g = g + weight_decay * p
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g ** 2
        m_hat = m / (1 - b1 ** t)
        if amsgrad:  # PyTorch keeps the max of the raw second moment, then corrects it
            vmax = np.maximum(vmax, v)
            v_hat = vmax / (1 - b2 ** t)
        else:
            v_hat = v / (1 - b2 ** t)
        p = p - lr * m_hat / (np.sqrt(v_hat) + eps)
        out.append(p)
    return out


def ref_rmsprop(p, grads, lr, alpha, eps, weight_decay=0.0, momentum=0.0, centered=False):
    p = p.copy()
    v, a, b, out = np.zeros_like(p), np.zeros_like(p), np.zeros_like(p), []
    for g in grads:
        if weight_decay:
            g = g + weight_decay * p
        v = alpha * v + (1 - alpha) * g ** 2
        vt = v
        if centered:
            a = alpha * a + (1 - alpha) * g
            vt = v - a ** 2
        if momentum > 0:
            b = momentum * b + g / (np.sqrt(vt) + eps)
            p = p - lr * b
        else:
            p = p - lr * g / (np.sqrt(vt) + eps)
        out.append(p)
    return out


def assert_traj_close(got, want):
    assert len(got) == len(want)
    for t, (a, b) in enumerate(zip(got, want), 1):
        np.testing.assert_allclose(a, b, rtol=RTOL, atol=1e-14, err_msg=f"step {t}")


# ---- hand-computed single steps ---------------------------------------------
def test_adam_first_steps_by_hand():
    # p=1, g=2, lr=0.1: m=0.2, v=0.004, m_hat=2, v_hat=4 -> p = 1 - 0.1*2/(2+1e-8)
    traj, _, _ = _run(lambda ps: optim.Adam(ps, lr=0.1), np.array([1.0]), [np.array([2.0])])
    assert traj[0][0] == pytest.approx(1 - 0.1 * 2 / (2 + 1e-8), rel=1e-15)
    # Second step with g=0: m=0.18, v=0.003996, m_hat=0.18/0.19, v_hat=0.003996/0.001999
    traj, _, _ = _run(lambda ps: optim.Adam(ps, lr=0.1), np.array([1.0]), [np.array([2.0]), np.array([0.0])])
    m_hat, v_hat = 0.18 / (1 - 0.81), 0.003996 / (1 - 0.999 ** 2)
    assert traj[1][0] == pytest.approx(traj[0][0] - 0.1 * m_hat / (math.sqrt(v_hat) + 1e-8), rel=1e-13)


def test_adam_bias_correction_makes_early_steps_lr_sized():
    # Without bias correction the first step would be lr*(1-b1)/sqrt(1-b2) ~ 3.16*lr; with it, ~lr.
    grads = [np.array([0.5, -3.0, 1e-3])] * 5
    traj, _, _ = _run(lambda ps: optim.Adam(ps, lr=0.01, eps=0.0), np.zeros(3), grads)
    steps = np.diff(np.stack([np.zeros(3)] + traj), axis=0)
    np.testing.assert_allclose(steps, -0.01 * np.sign(grads[0]) * np.ones((5, 3)), rtol=1e-12)


def test_sgd_plain_step_by_hand():
    traj, _, _ = _run(lambda ps: optim.SGD(ps, lr=0.5), np.array([1.0, -2.0]), [np.array([4.0, 1.0])])
    assert np.array_equal(traj[0], np.array([1.0 - 2.0, -2.0 - 0.5]))


def test_adamw_decay_is_decoupled_by_hand():
    # A zero gradient: Adam's moments stay 0 (update 0/(0+eps)=0), so only the decay acts.
    traj, _, _ = _run(lambda ps: optim.AdamW(ps, lr=0.1, weight_decay=0.5), np.array([2.0]),
                      [np.zeros(1)] * 3)
    np.testing.assert_allclose(np.concatenate(traj), 2.0 * 0.95 ** np.arange(1, 4), rtol=1e-15)
    # Coupled L2 in Adam with a zero gradient instead normalises wd*p: a step of ~lr, not lr*wd*p.
    traj, _, _ = _run(lambda ps: optim.Adam(ps, lr=0.1, weight_decay=0.5), np.array([2.0]), [np.zeros(1)])
    assert traj[0][0] == pytest.approx(1.9, rel=1e-6)


# ---- multi-step trajectories against the references ---------------------------
@settings(max_examples=25, deadline=None)
@given(shape=shapes, seed=st.integers(0, 2**31), lr=st.sampled_from([1e-3, 0.05, 0.3]),
       b1=st.sampled_from([0.0, 0.5, 0.9]), b2=st.sampled_from([0.9, 0.999]),
       wd=st.sampled_from([0.0, 0.1]), amsgrad=st.booleans())
def test_adam_matches_reference(shape, seed, lr, b1, b2, wd, amsgrad):
    p0 = np.random.default_rng(seed + 1).standard_normal(shape)
    grads = _grads(shape, 6, seed)
    traj, _, _ = _run(lambda ps: optim.Adam(ps, lr=lr, betas=(b1, b2), weight_decay=wd, amsgrad=amsgrad),
                      p0, grads)
    assert_traj_close(traj, ref_adam(p0, grads, lr, b1, b2, 1e-8, wd, amsgrad))


@settings(max_examples=25, deadline=None)
@given(shape=shapes, seed=st.integers(0, 2**31), lr=st.sampled_from([1e-3, 0.05, 0.3]),
       wd=st.sampled_from([0.0, 0.01, 0.5]), amsgrad=st.booleans())
def test_adamw_matches_reference(shape, seed, lr, wd, amsgrad):
    p0 = np.random.default_rng(seed + 1).standard_normal(shape)
    grads = _grads(shape, 6, seed)
    traj, _, _ = _run(lambda ps: optim.AdamW(ps, lr=lr, weight_decay=wd, amsgrad=amsgrad), p0, grads)
    assert_traj_close(traj, ref_adam(p0, grads, lr, 0.9, 0.999, 1e-8, wd, amsgrad, decoupled=True))


def test_adamw_without_decay_is_adam_exactly():
    p0, grads = np.linspace(-1, 1, 5), _grads(5, 8, 3)
    a, _, _ = _run(lambda ps: optim.Adam(ps, lr=0.01), p0, grads)
    b, _, _ = _run(lambda ps: optim.AdamW(ps, lr=0.01, weight_decay=0.0), p0, grads)
    assert all(np.array_equal(x, y) for x, y in zip(a, b))


def test_adamw_and_adam_decay_differ():
    p0, grads = np.linspace(-1, 1, 5), _grads(5, 4, 4)
    a, _, _ = _run(lambda ps: optim.Adam(ps, lr=0.01, weight_decay=0.1), p0, grads)
    b, _, _ = _run(lambda ps: optim.AdamW(ps, lr=0.01, weight_decay=0.1), p0, grads)
    assert not np.allclose(a[-1], b[-1])


@settings(max_examples=25, deadline=None)
@given(shape=shapes, seed=st.integers(0, 2**31), lr=st.sampled_from([1e-3, 0.01, 0.1]),
       alpha=st.sampled_from([0.0, 0.9, 0.99]), wd=st.sampled_from([0.0, 0.1]),
       momentum=st.sampled_from([0.0, 0.9]), centered=st.booleans())
def test_rmsprop_matches_reference(shape, seed, lr, alpha, wd, momentum, centered):
    if centered and alpha == 0.0:
        alpha = 0.5  # alpha=0 centered gives v - a^2 = 0: sqrt(0)+eps, a legitimate but huge step
    p0 = np.random.default_rng(seed + 1).standard_normal(shape)
    grads = _grads(shape, 6, seed)
    traj, _, _ = _run(lambda ps: optim.RMSprop(ps, lr=lr, alpha=alpha, weight_decay=wd, momentum=momentum,
                                               centered=centered), p0, grads)
    assert_traj_close(traj, ref_rmsprop(p0, grads, lr, alpha, 1e-8, wd, momentum, centered))


@settings(max_examples=25, deadline=None)
@given(shape=shapes, seed=st.integers(0, 2**31), lr=st.sampled_from([1e-3, 0.1, 1.0]),
       momentum=st.sampled_from([0.0, 0.5, 0.9]), dampening=st.sampled_from([0.0, 0.3]),
       wd=st.sampled_from([0.0, 0.1]), nesterov=st.booleans())
def test_sgd_matches_reference(shape, seed, lr, momentum, dampening, wd, nesterov):
    if nesterov and (momentum == 0 or dampening != 0):
        nesterov = False
    p0 = np.random.default_rng(seed + 1).standard_normal(shape)
    grads = _grads(shape, 6, seed)
    traj, _, _ = _run(lambda ps: optim.SGD(ps, lr=lr, momentum=momentum, dampening=dampening,
                                           weight_decay=wd, nesterov=nesterov), p0, grads)
    assert_traj_close(traj, ref_sgd(p0, grads, lr, momentum, dampening, wd, nesterov))


def test_sgd_nesterov_differs_from_plain_momentum():
    p0, grads = np.zeros(3), _grads(3, 4, 0)
    a, _, _ = _run(lambda ps: optim.SGD(ps, lr=0.1, momentum=0.9), p0, grads)
    b, _, _ = _run(lambda ps: optim.SGD(ps, lr=0.1, momentum=0.9, nesterov=True), p0, grads)
    assert not np.allclose(a[-1], b[-1])


# ---- behaviour shared by all optimizers ------------------------------------------
ALL = {
    "sgd": lambda ps: optim.SGD(ps, lr=0.1, momentum=0.9, weight_decay=0.01),
    "adam": lambda ps: optim.Adam(ps, lr=0.01, amsgrad=True, weight_decay=0.01),
    "adamw": lambda ps: optim.AdamW(ps, lr=0.01),
    "rmsprop": lambda ps: optim.RMSprop(ps, lr=0.01, momentum=0.5, centered=True, weight_decay=0.01),
}


@pytest.mark.parametrize("name", ALL)
def test_params_without_grad_are_skipped(name):
    a, b = nn.Parameter(np.ones(3)), nn.Parameter(np.full((2, 2), 2.0))
    before = b.data.copy()
    opt = ALL[name]([a, b])
    for _ in range(3):
        a.grad = Tensor(np.array([1.0, -1.0, 0.5]))
        b.grad = None
        opt.step()
    assert np.array_equal(b.data, before)  # not even decayed
    assert id(b) not in opt.state
    assert not np.array_equal(a.data, np.ones(3))


@pytest.mark.parametrize("name", ALL)
def test_update_is_in_place_and_keeps_dtype(name):
    p = nn.Parameter(np.ones(4, dtype=np.float32))
    arr = p.data
    opt = ALL[name]([p])
    p.grad = Tensor(np.arange(4, dtype=np.float32))
    opt.step()
    assert p.data is arr and p.data.dtype == np.float32
    assert all(v.dtype == np.float32 for v in opt.state[p].values() if isinstance(v, np.ndarray))


@pytest.mark.parametrize("name", ALL)
def test_step_with_closure_returns_loss(name):
    p = nn.Parameter(np.array([3.0]))
    opt = ALL[name]([p])

    def closure():
        opt.zero_grad()
        loss = (p * p).sum()
        loss.backward()
        return loss

    loss = opt.step(closure)
    assert loss.item() == 9.0 and p.data[0] < 3.0


def _mlp():
    return nn.Sequential(nn.Linear(3, 5, rng=0), nn.Sigmoid(), nn.Linear(5, 2, rng=1))


def _train(net, opt, steps, seed):
    rng = np.random.default_rng(seed)
    for _ in range(steps):
        X, y = rng.standard_normal((8, 3)), rng.standard_normal((8, 2))
        opt.zero_grad()
        ((net(X) - y) ** 2).mean().backward()
        opt.step()


@pytest.mark.parametrize("name", ALL)
@pytest.mark.parametrize("through_file", [False, True])
def test_state_dict_round_trip_continues_identically(name, through_file, tmp_path):
    net = _mlp()
    opt = ALL[name](net.parameters())
    _train(net, opt, 3, seed=0)
    model_sd, opt_sd = net.state_dict(), opt.state_dict()
    if through_file:
        tg.save({"model": model_sd, "optim": opt_sd}, tmp_path / "ck.npz")
        loaded = tg.load(tmp_path / "ck.npz")
        model_sd, opt_sd = loaded["model"], loaded["optim"]
    net2 = _mlp()
    net2.load_state_dict(model_sd)
    opt2 = ALL[name](net2.parameters())
    opt2.load_state_dict(opt_sd)
    _train(net, opt, 4, seed=1)
    _train(net2, opt2, 4, seed=1)
    for (k, a), b in zip(net.state_dict().items(), net2.state_dict().values()):
        assert np.array_equal(a, b), k


def test_state_dict_is_a_snapshot_and_holds_step_counters():
    net = _mlp()
    opt = optim.Adam(net.parameters(), lr=0.01)
    _train(net, opt, 2, seed=0)
    sd = opt.state_dict()
    saved = copy.deepcopy(sd)
    _train(net, opt, 1, seed=1)
    assert [s["step"] for s in sd["state"].values()] == [2, 2, 2, 2]
    for i, s in sd["state"].items():
        assert np.array_equal(s["exp_avg"], saved["state"][i]["exp_avg"])


@pytest.mark.parametrize("make, match", [
    (lambda ps: optim.Adam(ps, lr=-1), "learning rate"),
    (lambda ps: optim.Adam(ps, lr=float("nan")), "learning rate"),
    (lambda ps: optim.Adam(ps, betas=(1.0, 0.9)), "beta parameter at index 0"),
    (lambda ps: optim.Adam(ps, betas=(0.9, -0.1)), "beta parameter at index 1"),
    (lambda ps: optim.Adam(ps, betas=(0.9,)), "pair"),
    (lambda ps: optim.Adam(ps, eps=-1e-8), "eps"),
    (lambda ps: optim.Adam(ps, weight_decay=-1), "weight_decay"),
    (lambda ps: optim.AdamW(ps, weight_decay=-0.1), "weight_decay"),
    (lambda ps: optim.AdamW(ps, betas=(0.9, 1.5)), "beta"),
    (lambda ps: optim.RMSprop(ps, alpha=-0.5), "alpha"),
    (lambda ps: optim.RMSprop(ps, momentum=-1), "momentum"),
    (lambda ps: optim.RMSprop(ps, eps=-1), "eps"),
    (lambda ps: optim.RMSprop(ps, lr=-0.1), "learning rate"),
    (lambda ps: optim.SGD(ps, momentum=-0.1), "momentum"),
    (lambda ps: optim.SGD(ps, nesterov=True), "nesterov"),
])
def test_bad_hyperparameters_raise(make, match):
    with pytest.raises(ValueError, match=match):
        make([nn.Parameter(np.ones(2))])


def test_load_state_dict_with_bad_hyperparameter_changes_nothing():
    net = _mlp()
    opt = optim.Adam(net.parameters(), lr=0.01)
    _train(net, opt, 2, seed=0)
    sd = opt.state_dict()
    before = copy.deepcopy(opt.state_dict())
    sd["param_groups"][0]["betas"] = (0.9, 1.0)
    with pytest.raises(ValueError, match="beta"):
        opt.load_state_dict(sd)
    after = opt.state_dict()
    assert after["param_groups"] == before["param_groups"]
    assert all(np.array_equal(after["state"][i]["exp_avg"], before["state"][i]["exp_avg"]) for i in after["state"])


def test_load_state_dict_shape_mismatch_raises():
    opt = optim.Adam([nn.Parameter(np.ones(3))])
    other = optim.Adam([nn.Parameter(np.ones(4))])
    p = other.param_groups[0]["params"][0]
    p.grad = Tensor(np.ones(4))
    other.step()
    with pytest.raises(ValueError, match="shape"):
        opt.load_state_dict(other.state_dict())


def test_param_groups_have_their_own_hyperparameters():
    a, b = nn.Parameter(np.zeros(2)), nn.Parameter(np.zeros(2))
    opt = optim.Adam([{"params": [a]}, {"params": [b], "lr": 0.5}], lr=0.1)
    a.grad, b.grad = Tensor(np.ones(2)), Tensor(np.ones(2))
    opt.step()
    np.testing.assert_allclose(a.data, -0.1, rtol=1e-7)
    np.testing.assert_allclose(b.data, -0.5, rtol=1e-7)
