"""Regenerate schedulers.npz: learning rates (and momenta) PyTorch's schedulers produce.

Needs PyTorch (``pip install torch==2.13.0``, CPU wheel); the tests only read the
.npz. Run from the repository root: ``python tests/reference/make_schedulers.py``.
Each entry is a sequence of per-step values for one configuration listed in
CONFIGS (tests/test_schedulers.py builds the same configuration with ours).
"""
from __future__ import annotations

import pathlib

import numpy as np
import torch

STEPS = 30
# name -> (optimizer, scheduler kwargs); the test file mirrors these by name.
CONFIGS = {
    "lambda": ("sgd", {}),
    "multiplicative": ("sgd", {}),
    "linear_default": ("sgd", {}),
    "linear_decay": ("sgd", dict(start_factor=1.0, end_factor=0.1, total_iters=10)),
    "onecycle_cos_sgd": ("sgd", dict(max_lr=0.5, total_steps=STEPS)),
    "onecycle_linear_adam": ("adam", dict(max_lr=0.01, total_steps=STEPS, anneal_strategy="linear",
                                          pct_start=0.25)),
    "onecycle_three_phase": ("sgd", dict(max_lr=1.0, epochs=3, steps_per_epoch=10, three_phase=True)),
    "sequential": ("sgd", {}),
    "plateau_min": ("sgd", dict(patience=2, factor=0.5, cooldown=1)),
    "plateau_max_abs": ("sgd", dict(mode="max", threshold_mode="abs", threshold=0.1, patience=1,
                                    min_lr=0.02)),
}
# The metric fed to ReduceLROnPlateau, step by step.
METRIC = np.concatenate([np.linspace(1.0, 0.5, 6), np.full(12, 0.5), np.linspace(0.5, 0.3, 12)])


def make(name):
    opt_kind, kw = CONFIGS[name]
    p = torch.nn.Parameter(torch.zeros(1))
    opt = (torch.optim.SGD([p], lr=0.1, momentum=0.9) if opt_kind == "sgd"
           else torch.optim.Adam([p], lr=0.1))
    S = torch.optim.lr_scheduler
    if name == "lambda":
        s = S.LambdaLR(opt, lambda e: 0.9 ** e + 0.01 * e)
    elif name == "multiplicative":
        s = S.MultiplicativeLR(opt, lambda e: 0.95 if e % 2 else 0.9)
    elif name.startswith("linear"):
        s = S.LinearLR(opt, **kw)
    elif name.startswith("onecycle"):
        s = S.OneCycleLR(opt, **kw)
    elif name == "sequential":
        s = S.SequentialLR(opt, [S.LinearLR(opt, start_factor=0.1, total_iters=4),
                                 S.ExponentialLR(opt, gamma=0.8),
                                 S.StepLR(opt, step_size=3, gamma=0.5)], milestones=[5, 12])
    else:
        s = S.ReduceLROnPlateau(opt, **kw)
    lrs, moms = [opt.param_groups[0]["lr"]], []
    g = opt.param_groups[0]
    moms.append(g["momentum"] if "momentum" in g else g["betas"][0])
    steps = STEPS - 1 if name.startswith("onecycle") else STEPS
    for k in range(steps):
        opt.step()
        if name.startswith("plateau"):
            s.step(float(METRIC[k]))
        else:
            s.step()
        lrs.append(g["lr"])
        moms.append(g["momentum"] if "momentum" in g else g["betas"][0])
    return np.array(lrs), np.array(moms)


if __name__ == "__main__":
    out = {}
    for name in CONFIGS:
        out[f"{name}/lr"], out[f"{name}/momentum"] = make(name)
    out["metric"] = METRIC
    path = pathlib.Path(__file__).with_name("schedulers.npz")
    np.savez_compressed(path, **out)
    print(f"wrote {path} ({len(out)} arrays)")
