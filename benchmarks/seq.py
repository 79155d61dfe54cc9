"""W8 and W9: training steps of sequence models against PyTorch (float32, one thread).

W8: ``nn.LSTM(64, 128)`` on a (32, 32, 64) sequence (time-major), loss
``mean((output - target)**2)``, SGD. Target: at most 1.0x PyTorch.
W9: ``nn.TransformerEncoderLayer(128, 4, dim_feedforward=512, dropout=0,
batch_first=True)`` on (16, 64, 128), the same loss and update. Target: at
most 1.2x PyTorch.

The reference contender here is PyTorch (there is no hand-written numpy
one); both start from the same weights (PyTorch's init, seeded, loaded into
ours as a state_dict: same names and layouts) and are checked to compute the
same first loss and parameter updates before anything is timed.

Usage::

    python benchmarks/seq.py            # both, about a minute
    python benchmarks/seq.py --quick    # a few seconds
    python benchmarks/seq.py --only W8
"""
from __future__ import annotations

import argparse
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if __name__ == "__main__":
    sys.path[0] = ROOT  # this checkout's tinygrad_edu and benchmarks package
    from benchmarks import threads

    THREAD_NOTE = threads.before_numpy()

import numpy as np  # noqa: E402

from benchmarks import jit  # noqa: E402
from benchmarks.harness import Trainer, bench_training, compare, to_float  # noqa: E402

LR = 0.05
REFERENCE = "torch"
TARGETS = {"W8": 1.0, "W9": 1.2}
W8 = dict(name="W8 LSTM 64->128, seq 32, batch 32, MSE, SGD (float32): one training step",
          cls="LSTM", ctor=dict(input_size=64, hidden_size=128), shape=(32, 32, 64), out=(32, 32, 128))
W9 = dict(name=("W9 TransformerEncoderLayer d_model 128, 4 heads, ff 512, batch 16, seq 64, MSE, SGD "
                "(float32): one training step"),
          cls="TransformerEncoderLayer",
          ctor=dict(d_model=128, nhead=4, dim_feedforward=512, dropout=0.0, batch_first=True),
          shape=(16, 64, 128), out=(16, 64, 128))


def make_problem(torch, spec, seed=0):
    """Input, target and PyTorch's initial state_dict (float32 arrays, PyTorch's names)."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(spec["shape"], dtype=np.float32)
    target = rng.standard_normal(spec["out"], dtype=np.float32)
    torch.manual_seed(seed)
    module = getattr(torch.nn, spec["cls"])(**spec["ctor"])
    state = {k: v.detach().numpy().copy() for k, v in module.state_dict().items()}
    return x, target, state


def _first(out):
    return out[0] if isinstance(out, tuple) else out


def torch_trainer(torch, spec, problem) -> Trainer:
    x, target, state = problem
    module = getattr(torch.nn, spec["cls"])(**spec["ctor"])
    module.train()
    opt = torch.optim.SGD(module.parameters(), lr=LR)
    xt, yt = torch.from_numpy(x), torch.from_numpy(target)

    def reset():
        module.load_state_dict({k: torch.from_numpy(v) for k, v in state.items()})

    def step():
        opt.zero_grad()
        loss = ((_first(module(xt)) - yt) ** 2).mean()
        loss.backward()
        opt.step()
        return loss

    reset()
    return Trainer(step, lambda: {k: v.detach().numpy() for k, v in module.state_dict().items()}, reset)


def tinygrad_edu_trainer(spec, problem, jit=False) -> Trainer:
    """``jit``: the step ``train_step(x, target)`` wrapped in ``tinygrad_edu.jit``."""
    import tinygrad_edu as tg
    from tinygrad_edu import nn, optim

    x, target, state = problem
    module = getattr(nn, spec["cls"])(**spec["ctor"], dtype=np.float32, rng=0)
    module.train()
    opt = optim.SGD(module.parameters(), lr=LR)
    xt, yt = tg.Tensor(x), tg.Tensor(target)

    def reset():
        module.load_state_dict(state)

    def train_step(x, y):
        opt.zero_grad()
        d = _first(module(x)) - y
        loss = (d * d).mean()
        loss.backward()
        opt.step()
        return loss

    if jit:
        train_step = tg.jit(train_step)

    reset()
    return Trainer(lambda: train_step(xt, yt), lambda: {k: v for k, v in module.state_dict().items()}, reset)


def results_of(problem, steps=2):
    """First loss and the parameter updates after ``steps`` steps (see benchmarks/mlp.py)."""
    init = problem[2]

    def results(trainer):
        out = {"loss": to_float(trainer.step())}
        for _ in range(steps - 1):
            trainer.step()
        for k, v in trainer.state().items():
            out["update " + k] = np.asarray(v, dtype=np.float64) - init[k]
        return out

    return results


def compare_to_reference(name, got, want):
    # float32 with different summation orders: ~1e-6 relative on the loss; an
    # update near zero is judged on its array's scale.
    loss = compare({"loss": got["loss"]}, {"loss": want["loss"]}, rtol=1e-5, atol_frac=0)
    rest = compare({k: v for k, v in got.items() if k != "loss"},
                   {k: v for k, v in want.items() if k != "loss"}, rtol=1e-3, atol_frac=1e-3)
    return loss + rest


def run(key, spec, torch, rounds, sample_s):
    problem = make_problem(torch, spec)
    factories = {REFERENCE: lambda: torch_trainer(torch, spec, problem),
                 "tinygrad_edu": lambda: tinygrad_edu_trainer(spec, problem)}
    what = "first loss (rtol 1e-5) and parameter updates after 2 steps (rtol 1e-3, atol 1e-3 x max)"
    if jit.available():
        factories[jit.JIT] = lambda: tinygrad_edu_trainer(spec, problem, jit=True)
        return jit.bench(key, what, factories, REFERENCE, results_of(problem), compare_to_reference,
                         rounds, sample_s, {"tinygrad_edu": TARGETS[key]})
    return bench_training(key, what, factories, REFERENCE, results_of(problem), compare_to_reference,
                          rounds, sample_s, {"tinygrad_edu": TARGETS[key]})


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="a few rounds only")
    p.add_argument("--only", default="W8,W9")
    p.add_argument("--profile", action="store_true", help="cProfile a few tinygrad_edu steps")
    args = p.parse_args(argv)
    import torch

    from benchmarks import threads
    threads.after_imports(torch)
    rounds, sample_s = (3, 0.05) if args.quick else (11, 0.3)
    failed = False
    for key, spec in (("W8", W8), ("W9", W9)):
        if key not in args.only.split(","):
            continue
        rows, checks = run(key, spec, torch, rounds, sample_s)
        print(f"## {spec['name']}")
        for check in checks:
            print(f"- check {check.contender}: {check.status} {'; '.join(check.problems)} "
                  f"{check.error or ''}")
            failed |= check.status != "ok"
        for row in rows:
            ratio = "" if row.ratio is None else f" ratio {row.ratio:.2f} (target <= {row.target})"
            value = "" if row.value is None else f"{row.value * 1e3:.2f} ms"
            print(f"- {row.contender}: {value}{ratio} {row.status}")
        if args.profile:
            import cProfile
            import pstats

            trainer = tinygrad_edu_trainer(spec, make_problem(torch, spec))
            prof = cProfile.Profile()
            prof.runcall(lambda: [trainer.step() for _ in range(5)])
            pstats.Stats(prof).sort_stats("tottime").print_stats(12)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
