"""LambdaLR, MultiplicativeLR, LinearLR, OneCycleLR, SequentialLR, ReduceLROnPlateau against PyTorch.

The reference learning rates (and momenta) were computed by PyTorch with the
same configurations (tests/reference/make_schedulers.py writes
tests/reference/schedulers.npz); here ours run the same steps.
"""
from __future__ import annotations

import pathlib

import numpy as np
import pytest

from tinygrad_edu import nn, optim
from tinygrad_edu.optim import lr_scheduler as S

REF = np.load(pathlib.Path(__file__).parent / "reference" / "schedulers.npz")
STEPS = 30
NAMES = sorted({k.split("/")[0] for k in REF.files if "/" in k})


def _build(name):
    m = nn.Linear(1, 1)
    adam = name == "onecycle_linear_adam"
    opt = optim.Adam(m.parameters(), lr=0.1) if adam else optim.SGD(m.parameters(), lr=0.1, momentum=0.9)
    if name == "lambda":
        s = S.LambdaLR(opt, lambda e: 0.9 ** e + 0.01 * e)
    elif name == "multiplicative":
        s = S.MultiplicativeLR(opt, lambda e: 0.95 if e % 2 else 0.9)
    elif name == "linear_default":
        s = S.LinearLR(opt)
    elif name == "linear_decay":
        s = S.LinearLR(opt, start_factor=1.0, end_factor=0.1, total_iters=10)
    elif name == "onecycle_cos_sgd":
        s = S.OneCycleLR(opt, max_lr=0.5, total_steps=STEPS)
    elif name == "onecycle_linear_adam":
        s = S.OneCycleLR(opt, max_lr=0.01, total_steps=STEPS, anneal_strategy="linear", pct_start=0.25)
    elif name == "onecycle_three_phase":
        s = S.OneCycleLR(opt, max_lr=1.0, epochs=3, steps_per_epoch=10, three_phase=True)
    elif name == "sequential":
        s = S.SequentialLR(opt, [S.LinearLR(opt, start_factor=0.1, total_iters=4),
                                 S.ExponentialLR(opt, gamma=0.8),
                                 S.StepLR(opt, step_size=3, gamma=0.5)], milestones=[5, 12])
    elif name == "plateau_min":
        s = S.ReduceLROnPlateau(opt, patience=2, factor=0.5, cooldown=1)
    elif name == "plateau_max_abs":
        s = S.ReduceLROnPlateau(opt, mode="max", threshold_mode="abs", threshold=0.1, patience=1,
                                min_lr=0.02)
    else:
        raise AssertionError(name)
    return opt, s


def _momentum(group):
    return group["momentum"] if "momentum" in group else group["betas"][0]


@pytest.mark.parametrize("name", NAMES)
def test_learning_rates_match_pytorch(name):
    opt, s = _build(name)
    g = opt.param_groups[0]
    lrs, moms = [g["lr"]], [_momentum(g)]
    steps = STEPS - 1 if name.startswith("onecycle") else STEPS
    for k in range(steps):
        if name.startswith("plateau"):
            s.step(float(REF["metric"][k]))
        else:
            s.step()
        lrs.append(g["lr"])
        moms.append(_momentum(g))
    np.testing.assert_allclose(lrs, REF[f"{name}/lr"], rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(moms, REF[f"{name}/momentum"], rtol=1e-12, atol=1e-15)
    assert s.get_last_lr()[0] == lrs[-1]


def test_onecycle_refuses_to_step_past_the_end_and_bad_arguments():
    opt, s = _build("onecycle_cos_sgd")
    for _ in range(STEPS):  # PyTorch allows the step to last_epoch == total_steps, not past it
        s.step()
    with pytest.raises(ValueError, match="total_steps is 30"):
        s.step()
    m = nn.Linear(1, 1)
    with pytest.raises(ValueError, match="total_steps, or both epochs"):
        S.OneCycleLR(optim.SGD(m.parameters(), lr=0.1), max_lr=1.0)
    class Plain(optim.Optimizer):  # no momentum, no betas
        def __init__(self, params):
            super().__init__(params, {"lr": 0.1})

    with pytest.raises(ValueError, match="momentum or betas"):
        S.OneCycleLR(Plain(m.parameters()), max_lr=1.0, total_steps=5)
    with pytest.raises(ValueError, match="anneal_strategy"):
        S.OneCycleLR(optim.SGD(m.parameters(), lr=0.1), max_lr=1.0, total_steps=5, anneal_strategy="exp")


def test_lambda_per_group_and_errors():
    a, b = nn.Linear(1, 1), nn.Linear(1, 1)
    opt = optim.SGD([{"params": a.parameters()}, {"params": b.parameters(), "lr": 1.0}], lr=0.1)
    s = S.LambdaLR(opt, [lambda e: 1.0 / (e + 1), lambda e: 2.0 ** -e])
    s.step()
    s.step()
    assert s.get_last_lr() == [0.1 / 3, 0.25]
    assert "lr_lambdas" not in s.state_dict()
    with pytest.raises(ValueError, match="expected 2 lr_lambda"):
        S.LambdaLR(opt, [lambda e: 1.0])
    with pytest.raises(TypeError, match="callable"):
        S.MultiplicativeLR(opt, 0.5)


def test_sequential_checks_milestones_and_optimizers():
    m = nn.Linear(1, 1)
    opt, other = optim.SGD(m.parameters(), lr=0.1), optim.SGD(m.parameters(), lr=0.1)
    a, b = S.LinearLR(opt), S.StepLR(other, 2)
    with pytest.raises(ValueError, match="drives another optimizer"):
        S.SequentialLR(opt, [a, b], milestones=[3])
    with pytest.raises(ValueError, match="need 1 milestones"):
        S.SequentialLR(opt, [a, S.StepLR(opt, 2)], milestones=[3, 4])


def test_plateau_state_dict_round_trips_and_reads_tensors():
    import tinygrad_edu as tg

    opt, s = _build("plateau_min")
    for v in [1.0, 1.0, 1.0, 1.0]:
        s.step(tg.Tensor(v))
    state = s.state_dict()
    assert "optimizer" not in state and s.get_last_lr() == [0.05]
    opt2, s2 = _build("plateau_min")
    s2.load_state_dict(state)
    assert s2.num_bad_epochs == s.num_bad_epochs and s2.best == s.best
    with pytest.raises(ValueError, match="factor must be < 1.0"):
        S.ReduceLROnPlateau(opt, factor=1.5)
