"""W6 and W7: one training step of a small CNN, float32, against PyTorch CPU (1 thread).

W6: 1x8x8 inputs, batch 64: conv3x3(16), ReLU, conv3x3(32), ReLU, maxpool 2,
linear 10. W7: 3x32x32 inputs, batch 32: two blocks conv3x3 - batch norm -
ReLU - maxpool 2 with 32 and 64 channels, then linear 10. Convolutions use
padding 1; in W7 they have no bias (the batch norm would cancel it, and its
gradient would be rounding noise). Loss: mean cross-entropy; update: plain SGD.

The reference contender here is PyTorch (there is no hand-written numpy CNN):
ratios are tinygrad_edu / PyTorch in the same round. The batch norm is
``BatchNorm2d(affine=False, track_running_stats=False)`` (batch statistics,
biased variance, eps 1e-5) in PyTorch; in tinygrad_edu the same layer when
``nn.BatchNorm2d`` exists, else the same formula written with ``mean``/``var``.

Run alone from the repository root: ``python -m benchmarks.cnn [--quick]`` (prints a Markdown table).
"""
from __future__ import annotations

import sys
from dataclasses import dataclass

import numpy as np

from . import jit
from .harness import Trainer, compare, rows_from_times, run_checks, time_trainers, to_float

LR = 0.05
EPS = 1e-5
REFERENCE = "torch"
TARGETS = {"W6": 1.0, "W7": 2.0}

W6 = dict(name="W6 CNN 1x8x8: conv3x3 16, ReLU, conv3x3 32, ReLU, maxpool 2, linear 10; batch 64, "
               "SGD (float32): one training step",
          input=(1, 8, 8), channels=(16, 32), norm=False, pool_every=False, batch=64, check_steps=3)
W7 = dict(name="W7 CNN 3x32x32: 2 x (conv3x3-BN-ReLU-maxpool 2) with 32, 64 channels, linear 10; "
               "batch 32, SGD (float32): one training step",
          input=(3, 32, 32), channels=(32, 64), norm=True, pool_every=True, batch=32, check_steps=2)


@dataclass(frozen=True)
class Problem:
    """Inputs ``x`` (batch, C, H, W) float32, int64 ``labels``, and initial ``params``
    in PyTorch's layouts: conv weights (out, in, 3, 3) and biases, linear (10, features)."""

    spec: dict
    x: np.ndarray
    labels: np.ndarray
    params: dict


def make_problem(spec, seed=0) -> Problem:
    rng = np.random.default_rng(seed)
    c, h, w = spec["input"]
    x = rng.standard_normal((spec["batch"], c, h, w), dtype=np.float32)
    labels = rng.integers(0, 10, spec["batch"])
    params = {}
    for i, out in enumerate(spec["channels"]):
        k = 1 / np.sqrt(c * 9)
        params[f"conv{i}.weight"] = rng.uniform(-k, k, (out, c, 3, 3)).astype(np.float32)
        if not spec["norm"]:  # a bias before batch norm is cancelled by it: none (as usual)
            params[f"conv{i}.bias"] = rng.uniform(-k, k, out).astype(np.float32)
        c = out
        if spec["pool_every"]:
            h, w = h // 2, w // 2
    if not spec["pool_every"]:
        h, w = h // 2, w // 2
    n = c * h * w
    params["fc.weight"] = rng.uniform(-1 / np.sqrt(n), 1 / np.sqrt(n), (10, n)).astype(np.float32)
    params["fc.bias"] = rng.uniform(-1 / np.sqrt(n), 1 / np.sqrt(n), 10).astype(np.float32)
    return Problem(spec, x, labels, params)


def norm_variant() -> str:
    from tinygrad_edu import nn

    return "nn.BatchNorm2d" if hasattr(nn, "BatchNorm2d") else "mean/var formula (no BatchNorm2d yet)"


def _tg_norm(c):
    from tinygrad_edu import nn

    if hasattr(nn, "BatchNorm2d"):
        return nn.BatchNorm2d(c, eps=EPS, affine=False, track_running_stats=False)

    class Norm(nn.Module):
        def forward(self, x):
            mean = x.mean(axis=(0, 2, 3), keepdims=True)
            return (x - mean) / (x.var(axis=(0, 2, 3), keepdims=True) + EPS) ** 0.5
    return Norm()


def tinygrad_edu_cnn(problem: Problem, dtype=np.float32, jit=False) -> Trainer:
    """nn.Conv2d / nn.ReLU / nn.MaxPool2d / nn.Linear in nn.Sequential, CrossEntropyLoss, SGD.

    ``jit``: the step ``train_step(x, labels)`` wrapped in ``tinygrad_edu.jit``.
    """
    import tinygrad_edu as tg
    from tinygrad_edu import nn, optim

    spec = problem.spec
    layers, convs, c = [], [], spec["input"][0]
    for out in spec["channels"]:
        conv = nn.Conv2d(c, out, 3, padding=1, bias=not spec["norm"], rng=0, dtype=dtype)
        convs.append(conv)
        layers += [conv] + ([_tg_norm(out)] if spec["norm"] else []) + [nn.ReLU()]
        if spec["pool_every"]:
            layers.append(nn.MaxPool2d(2))
        c = out
    if not spec["pool_every"]:
        layers.append(nn.MaxPool2d(2))
    fc = nn.Linear(*problem.params["fc.weight"].shape[::-1], rng=0, dtype=dtype)
    model = nn.Sequential(*layers, nn.Flatten(), fc)

    def reset():
        for i, conv in enumerate(convs):
            conv.weight.data[...] = problem.params[f"conv{i}.weight"]
            if conv.bias is not None:
                conv.bias.data[...] = problem.params[f"conv{i}.bias"]
        fc.weight.data[...] = problem.params["fc.weight"].T  # Linear here is (in, out)
        fc.bias.data[...] = problem.params["fc.bias"]

    reset()
    opt = optim.SGD(model.parameters(), lr=LR)
    x, labels = tg.Tensor(problem.x.astype(dtype)), problem.labels
    loss_fn = nn.CrossEntropyLoss()

    def train_step(x, labels):
        opt.zero_grad()
        loss = loss_fn(model(x), labels)
        loss.backward()
        opt.step()
        return loss

    if jit:
        train_step, labels = tg.jit(train_step), tg.Tensor(labels)

    def step():
        return train_step(x, labels)

    def state():
        out = {}
        for i, conv in enumerate(convs):
            out[f"conv{i}.weight"] = conv.weight.data
            if conv.bias is not None:
                out[f"conv{i}.bias"] = conv.bias.data
        out["fc.weight"], out["fc.bias"] = fc.weight.data.T, fc.bias.data
        return out

    return Trainer(step, state, reset)


def torch_cnn(torch, problem: Problem, dtype=np.float32) -> Trainer:
    """The same CNN in PyTorch (nn.Sequential), F.cross_entropy, SGD."""
    nn = torch.nn
    spec = problem.spec
    layers, convs, c = [], [], spec["input"][0]
    for out in spec["channels"]:
        conv = nn.Conv2d(c, out, 3, padding=1, bias=not spec["norm"])
        convs.append(conv)
        norm = [nn.BatchNorm2d(out, eps=EPS, affine=False, track_running_stats=False)]
        layers += [conv] + (norm if spec["norm"] else []) + [nn.ReLU()]
        if spec["pool_every"]:
            layers.append(nn.MaxPool2d(2))
        c = out
    if not spec["pool_every"]:
        layers.append(nn.MaxPool2d(2))
    fc = nn.Linear(*problem.params["fc.weight"].shape[::-1])
    tdtype = torch.float64 if dtype == np.float64 else torch.float32
    model = nn.Sequential(*layers, nn.Flatten(), fc).to(tdtype)
    named = {f"conv{i}.{p}": getattr(conv, p) for i, conv in enumerate(convs) for p in ("weight", "bias")
             if getattr(conv, p) is not None}
    named.update({"fc.weight": fc.weight, "fc.bias": fc.bias})

    def reset():
        with torch.no_grad():
            for k, p in named.items():
                p.copy_(torch.from_numpy(problem.params[k].astype(dtype)))

    reset()
    opt = torch.optim.SGD(model.parameters(), lr=LR)
    x, labels = torch.from_numpy(problem.x.astype(dtype)), torch.from_numpy(problem.labels)
    cross_entropy = torch.nn.functional.cross_entropy

    def step():
        opt.zero_grad()
        loss = cross_entropy(model(x), labels)
        loss.backward()
        opt.step()
        return loss

    return Trainer(step, lambda: {k: p.detach().numpy() for k, p in named.items()}, reset)


def results_of(problem, steps):
    """First loss and the parameter updates after ``steps`` steps (see ``mlp.results_of``)."""
    def results(trainer):
        out = {"loss": to_float(trainer.step())}
        for _ in range(steps - 1):
            trainer.step()
        for k, v in trainer.state().items():
            out["update " + k] = np.asarray(v, dtype=np.float64) - problem.params[k]
        return out
    return results


def compare_to_reference(name, got, want):
    # In float64 both compute the same numbers up to summation order (~1e-14 relative);
    # updates are judged on the scale of their array.
    loss = compare({"loss": got["loss"]}, {"loss": want["loss"]}, rtol=1e-9, atol_frac=0)
    rest = {k: v for k, v in got.items() if k != "loss"}
    return loss + compare(rest, {k: v for k, v in want.items() if k != "loss"},
                          rtol=1e-7, atol_frac=1e-9)


def workload(key, spec, torch, rounds, sample_s):
    """Check and time one workload; returns (rows, checks, notes). Needs PyTorch."""
    problem = make_problem(spec)
    # Checked in float64, timed in float32: a float32 check can fail for no fault of either
    # contender when a value lies within rounding of a ReLU kink next to a max-pool window's
    # runner-up (W7 has one: the winner, and so the gradient path, flips).
    checked = {REFERENCE: lambda: torch_cnn(torch, problem, np.float64),
               "tinygrad_edu": lambda: tinygrad_edu_cnn(problem, np.float64)}
    timed = {REFERENCE: lambda: torch_cnn(torch, problem),
             "tinygrad_edu": lambda: tinygrad_edu_cnn(problem)}
    steps = spec["check_steps"]
    what = (f"in float64: first loss (rtol 1e-9) and parameter updates after {steps} step(s) "
            "(rtol 1e-7, atol 1e-9 x max)")
    if jit.available():
        checked[jit.JIT] = lambda: tinygrad_edu_cnn(problem, np.float64, jit=True)
        timed[jit.JIT] = lambda: tinygrad_edu_cnn(problem, jit=True)
        rows, checks = jit.bench(key, what, checked, REFERENCE, results_of(problem, steps),
                                 compare_to_reference, rounds, sample_s,
                                 {"tinygrad_edu": TARGETS[key]}, timed=timed, check_steps=steps)
    else:
        checks = run_checks(key, what, checked, REFERENCE, results_of(problem, steps),
                            compare_to_reference)
        valid = {n: f for n, f in timed.items() if checks[n].status == "ok"}
        times = time_trainers(valid, REFERENCE, rounds, sample_s)
        rows = rows_from_times(key, times, REFERENCE, checks, {"tinygrad_edu": TARGETS[key]})
        checks = list(checks.values())
    notes = [f"{key} normalisation in tinygrad_edu: {norm_variant()}"] if spec["norm"] else []
    return rows, checks, notes


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    quick = "--quick" in argv
    from . import report, threads

    import torch

    pools = threads.after_imports(torch)
    import tinygrad_edu as tg

    lines = [f"# CNN benchmarks (W6, W7){' (quick mode)' if quick else ''}", ""]
    lines += report.machine_lines(np, tg, torch, pools, None)
    rows, checks, notes = [], [], []
    for key, spec in (("W6", W6), ("W7", W7)):
        r, c, n = workload(key, spec, torch, 5 if quick else 21, 0.01 if quick else 0.1)
        rows, checks, notes = rows + r, checks + c, notes + n
    lines += ["", f"- {W6['name']}", f"- {W7['name']}"] + [f"- {n}" for n in notes]
    lines += ["- reference = PyTorch CPU, 1 thread; ratio = tinygrad_edu / PyTorch", ""]
    lines += report.results_table(rows) + [""] + report.check_lines(checks)
    report.write(lines)
    return 1 if any(c.status != "ok" for c in checks) else 0


if __name__ == "__main__":
    sys.exit(main())
