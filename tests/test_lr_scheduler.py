"""Learning-rate schedulers: PyTorch's recursive step(), its closed forms, state round trips."""
import math

import numpy as np
import pytest

import tinygrad_edu as tg
from tinygrad_edu import nn, optim
from tinygrad_edu.optim.lr_scheduler import CosineAnnealingLR, ExponentialLR, LRScheduler, StepLR
from tinygrad_edu.tensor import Tensor


def _opt(lr=0.1, groups=None):
    if groups:
        return optim.SGD([{"params": [nn.Parameter(np.zeros(1))], "lr": g} for g in groups], lr=lr)
    return optim.SGD([nn.Parameter(np.zeros(1))], lr=lr)


def _lrs(sched, epochs):
    out = [sched.get_last_lr()]
    for _ in range(epochs):
        sched.step()
        out.append(sched.get_last_lr())
    return out


def test_steplr_sequence():
    sched = StepLR(_opt(0.1), step_size=3, gamma=0.5)
    got = [lrs[0] for lrs in _lrs(sched, 9)]
    want, lr = [], 0.1
    for epoch in range(10):  # multiply by gamma at epochs 3, 6, 9
        if epoch and epoch % 3 == 0:
            lr = lr * 0.5
        want.append(lr)
    assert got == want
    assert sched.last_epoch == 9


def test_steplr_closed_form_close_to_recursive():
    sched = StepLR(_opt(0.3), step_size=2, gamma=0.7)
    got = [lrs[0] for lrs in _lrs(sched, 20)]
    np.testing.assert_allclose(got, [0.3 * 0.7 ** (e // 2) for e in range(21)], rtol=1e-14)


def test_exponentiallr_sequence():
    sched = ExponentialLR(_opt(0.2), gamma=0.9)
    got = [lrs[0] for lrs in _lrs(sched, 6)]
    want = [0.2]
    for _ in range(6):
        want.append(want[-1] * 0.9)
    assert got == want
    np.testing.assert_allclose(got, 0.2 * 0.9 ** np.arange(7), rtol=1e-14)


@pytest.mark.parametrize("eta_min", [0.0, 0.01])
def test_cosine_annealing_follows_the_cosine_and_climbs_back(eta_min):
    T = 10
    sched = CosineAnnealingLR(_opt(0.1), T_max=T, eta_min=eta_min)
    got = np.array([lrs[0] for lrs in _lrs(sched, 3 * T)])
    want = eta_min + (0.1 - eta_min) * (1 + np.cos(np.pi * np.arange(3 * T + 1) / T)) / 2
    np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-15)
    assert got[0] == 0.1
    assert got[T] == pytest.approx(eta_min, abs=1e-15)
    assert got[2 * T] == pytest.approx(0.1, rel=1e-12)  # past T_max it rises again (period 2*T_max)


def test_step_with_epoch_uses_closed_form():
    sched = StepLR(_opt(0.1), step_size=3, gamma=0.5)
    sched.step(7)
    assert sched.last_epoch == 7 and sched.get_last_lr() == [0.1 * 0.5 ** 2]
    sched = CosineAnnealingLR(_opt(0.1), T_max=8)
    sched.step(2)
    assert sched.get_last_lr() == [0.1 * (1 + math.cos(math.pi * 2 / 8)) / 2]


def test_each_group_scheduled_from_its_own_lr():
    opt = _opt(groups=[0.1, 1.0])
    sched = ExponentialLR(opt, gamma=0.5)
    sched.step()
    sched.step()
    assert sched.get_last_lr() == [0.1 * 0.5 * 0.5, 1.0 * 0.5 * 0.5]
    assert [g["lr"] for g in opt.param_groups] == sched.get_last_lr()
    assert [g["initial_lr"] for g in opt.param_groups] == [0.1, 1.0]


def test_recursive_form_carries_manual_changes():
    opt = _opt(0.1)
    sched = ExponentialLR(opt, gamma=0.5)
    opt.param_groups[0]["lr"] = 1.0  # e.g. a warm restart done by hand
    sched.step()
    assert sched.get_last_lr() == [0.5]


def test_the_optimizer_uses_the_scheduled_lr():
    p = nn.Parameter(np.zeros(1))
    opt = optim.SGD([p], lr=1.0)
    sched = StepLR(opt, step_size=1, gamma=0.1)
    moves = []
    for _ in range(3):
        before = p.data.copy()
        p.grad = Tensor(np.ones(1))
        opt.step()
        moves.append(float(before[0] - p.data[0]))
        sched.step()
    np.testing.assert_allclose(moves, [1.0, 0.1, 0.01], rtol=1e-15)


@pytest.mark.parametrize("make", [
    lambda o: StepLR(o, step_size=3, gamma=0.5),
    lambda o: ExponentialLR(o, gamma=0.8),
    lambda o: CosineAnnealingLR(o, T_max=5, eta_min=0.001),
])
@pytest.mark.parametrize("through_file", [False, True])
def test_state_dict_round_trip_resumes_identically(make, through_file, tmp_path):
    opt = _opt(0.1)
    sched = make(opt)
    for _ in range(4):
        sched.step()
    osd, ssd = opt.state_dict(), sched.state_dict()
    if through_file:
        tg.save({"optimizer": osd, "scheduler": ssd}, tmp_path / "s.npz")
        loaded = tg.load(tmp_path / "s.npz")
        osd, ssd = loaded["optimizer"], loaded["scheduler"]
    opt2 = _opt(0.1)
    sched2 = make(opt2)
    opt2.load_state_dict(osd)
    sched2.load_state_dict(ssd)
    assert sched2.last_epoch == 4 and sched2.get_last_lr() == sched.get_last_lr()
    assert _lrs(sched, 8) == _lrs(sched2, 8)


def test_resume_needs_initial_lr():
    with pytest.raises(KeyError, match="initial_lr"):
        StepLR(_opt(), step_size=2, last_epoch=5)
    opt = _opt(0.1)
    StepLR(opt, step_size=2)  # sets initial_lr
    sched = StepLR(opt, step_size=2, last_epoch=5)
    assert sched.last_epoch == 6 and sched.base_lrs == [0.1]


def test_cosine_resumed_mid_schedule_uses_closed_form():
    opt = _opt(0.1)
    CosineAnnealingLR(opt, T_max=10)
    sched = CosineAnnealingLR(opt, T_max=10, last_epoch=2)
    assert sched.get_last_lr()[0] == pytest.approx(0.1 * (1 + math.cos(math.pi * 3 / 10)) / 2, rel=1e-15)


@pytest.mark.parametrize("make, match", [
    (lambda o: StepLR(o, step_size=0), "step_size"),
    (lambda o: StepLR(o, step_size=2.5), "step_size"),
    (lambda o: StepLR(o, step_size=2, gamma=-0.1), "gamma"),
    (lambda o: ExponentialLR(o, gamma=float("nan")), "gamma"),
    (lambda o: CosineAnnealingLR(o, T_max=0), "T_max"),
    (lambda o: CosineAnnealingLR(o, T_max=5, eta_min=-1.0), "eta_min"),
])
def test_bad_arguments_raise(make, match):
    opt = _opt(0.1)
    with pytest.raises(ValueError, match=match):
        make(opt)
    assert opt.param_groups[0]["lr"] == 0.1


def test_not_an_optimizer_raises():
    with pytest.raises(TypeError, match="not an Optimizer"):
        StepLR([nn.Parameter(np.zeros(1))], step_size=1)


def test_load_state_dict_rejects_foreign_state():
    sched = StepLR(_opt(0.1), step_size=2)
    with pytest.raises(ValueError, match="unexpected keys"):
        sched.load_state_dict({"T_max": 3})
    with pytest.raises(ValueError, match="base_lrs"):
        sched.load_state_dict({"base_lrs": [0.1, 0.2]})
    assert sched.base_lrs == [0.1]


def test_base_class_is_abstract():
    with pytest.raises(NotImplementedError):
        LRScheduler(_opt())
