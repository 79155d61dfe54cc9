"""Benchmark tinygrad_edu against hand-written numpy (and PyTorch CPU, if installed).

Usage::

    python benchmarks/run.py            # full run, a minute or two
    python benchmarks/run.py --quick    # a few seconds (the test suite's smoke test)
    python benchmarks/run.py --only W1,W4 --no-torch
    python benchmarks/run.py --memory   # also each layer's peak memory per step (W6-W9)

Prints a Markdown report: the machine, a table of medians and of ratios to
hand-written numpy measured in the same run, the issue's targets, and the
checks that every contender computed the reference's numbers. A contender
that computes something else is flagged MISMATCH instead of timed; the
exit status is 1 if any check failed. BLAS is pinned to one thread.
Benchmarks the tinygrad_edu of this checkout, not an installed one.
"""
from __future__ import annotations

import argparse
import gc
import os
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path[0] = ROOT  # this checkout's tinygrad_edu and benchmarks package (not benchmarks/ itself)

from benchmarks import threads  # noqa: E402  (before numpy: may set thread env vars)

THREAD_NOTE = threads.before_numpy()

import numpy as np  # noqa: E402

WORKLOADS = ("W1", "W2", "W3", "W4", "W5", "W6", "W7", "W8", "W9")
# W6-W9 (layers) are timed against PyTorch itself: without it they are skipped.
TORCH_REFERENCED = ("W6", "W7", "W8", "W9")


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true",
                   help="few repetitions and short chains: a smoke run of a few seconds")
    p.add_argument("--only", default=",".join(WORKLOADS),
                   help="comma-separated workloads to run (default: all)")
    p.add_argument("--no-torch", action="store_true", help="skip PyTorch even if installed")
    p.add_argument("--clock", choices=("cpu", "wall"), default="cpu",
                   help="time with process CPU time (default; robust to other processes "
                        "taking the cores) or wall-clock time")
    p.add_argument("--memory", action="store_true",
                   help="also measure the peak memory of one training step of W6-W9 against "
                        "PyTorch (benchmarks/layer_memory.py; needs PyTorch)")
    args = p.parse_args(argv)
    args.only = [w.strip().upper() for w in args.only.split(",") if w.strip()]
    unknown = sorted(set(args.only) - set(WORKLOADS))
    if unknown:
        p.error(f"unknown workload(s) {unknown}; choose from {', '.join(WORKLOADS)}")
    return args


def import_torch(disabled):
    """(torch or None, why it is skipped)."""
    if disabled:
        return None, "skipped (--no-torch)"
    try:
        import torch
    except ImportError:
        return None, "not installed, its column is skipped"
    return torch, None


def layer_memory_section(args, torch, no_torch_reason, checks):
    """The --memory section (W6-W9 among --only); appends its checks to ``checks``."""
    keys = [k for k in args.only if k in TORCH_REFERENCED]
    out = ["## Layer memory: peak per training step against PyTorch", ""]
    if torch is None:
        return out + [f"Skipped: the reference is PyTorch ({no_torch_reason}).", ""]
    if not keys:
        return out + ["Skipped: none of W6-W9 among --only.", ""]
    from benchmarks import layer_memory

    lines, mem_checks = layer_memory.section(keys, args.quick)
    checks += mem_checks
    return out + lines + [""]


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    torch, no_torch_reason = import_torch(args.no_torch)
    pools = threads.after_imports(torch)

    import tinygrad_edu as tg

    from benchmarks import chain, cnn, harness, jit, memory, mlp, report, seq, suite, xor

    harness.use_clock(args.clock)
    cfg = suite.Config.make(args.quick)
    lines = [f"# tinygrad_edu benchmarks{' (quick mode)' if args.quick else ''}", ""]
    lines += report.machine_lines(np, tg, torch, pools, THREAD_NOTE, no_torch_reason)
    lines += [f"- timing: {harness.clock_name()}; contenders interleaved round by round "
              "(A, B, C, A, B, C, ...); median per contender; ratio = median over rounds of (contender / reference in "
              "the same round); spread = interquartile range / median, as ±half",
              "- garbage collector on, with the objects alive before each workload frozen "
              "(gc.freeze), so it scans what the contenders create, not the harness or PyTorch",
              ""]
    report.write(lines)

    rows, checks, notes = [], [], []
    titles = {"W1": xor.NAME, "W2": mlp.W2["name"], "W3": mlp.W3["name"], "W4": chain.NAME,
              "W5": memory.NAME, "W6": cnn.W6["name"], "W7": cnn.W7["name"], "W8": seq.W8["name"],
              "W9": seq.W9["name"]}
    runners = {"W1": suite.w1, "W2": suite.w2, "W3": suite.w3, "W4": suite.w4,
               "W5": lambda cfg, torch: suite.w5(cfg, torch, os.path.abspath(__file__)),
               "W6": lambda cfg, torch: cnn.workload("W6", cnn.W6, torch, cfg.rounds, cfg.sample_s),
               "W7": lambda cfg, torch: cnn.workload("W7", cnn.W7, torch, cfg.rounds, cfg.sample_s),
               "W8": lambda cfg, torch: (*seq.run("W8", seq.W8, torch, cfg.rounds, cfg.sample_s), []),
               "W9": lambda cfg, torch: (*seq.run("W9", seq.W9, torch, cfg.rounds, cfg.sample_s), [])}
    linear = None
    took = {}
    for key in args.only:
        # Garbage of the previous workload is not this one's cost, and the
        # objects alive now (PyTorch's modules alone are ~10^5) would make
        # every full collection slow for all contenders: freeze them, so the
        # collector scans only what the contenders create.
        gc.collect()
        gc.freeze()
        t0 = time.perf_counter()
        if key in TORCH_REFERENCED and torch is None:
            took[key] = 0.0
            notes.append(f"{key} skipped: its reference is PyTorch ({no_torch_reason})")
            continue
        r, c, n = runners[key](cfg, torch)
        if key == "W4":
            r2, c2, linear = suite.w4_linear(cfg, torch)
            r, c = r + r2, c + c2
        took[key] = time.perf_counter() - t0
        rows += r
        checks += c
        notes += n
    for r in rows:
        if r.contender == suite.REFERENCE:
            r.note = "reference" + (f", {r.note}" if r.note else "")

    out = ["## Workloads", ""]
    out += [f"- {titles[k]} (measured in {took[k]:.1f} s)" for k in args.only]
    if "W4" in args.only:
        lengths = cfg.linear_lengths
        out.append(f"- W4 linear: the W4 chain at {', '.join(f'{n:,}' for n in lengths)} ops; "
                   "median = time of the longest chain (fwd+bwd); ratio = per-op time (fwd+bwd) "
                   f"at {lengths[-1]:,} ops / at {lengths[-2]:,} (1.00 when time is linear in "
                   f"length, {lengths[-1] / lengths[-2]:.3g} if it were quadratic)")
    out += [f"- {n}" for n in notes]
    out += ["- reference = hand-written numpy (W4: a plain numpy tape, one closure per op); "
            "W6-W9: PyTorch CPU on one thread (ratio = tinygrad_edu / PyTorch)",
            "- targets are for tinygrad_edu: " + ", ".join(
                f"{k} <= {v:g}x" for k, v in {**suite.TARGETS, **cnn.TARGETS, **seq.TARGETS}.items())
            + " (W4 linear: the issue asks for time linear in length; read here as that growth "
            "of the per-op time)",
            "- tinygrad_edu jit: the same step wrapped in tinygrad_edu.jit (calls 1 and 2 record, "
            "the timed calls replay), checked bit for bit against eager; targets (issue 13): "
            + ", ".join(f"{k} <= {v:g}x" for k, v in jit.TARGETS.items())
            + "; rows 'jit/eager': jit / eager in the same round, target <= 1x (never slower "
            "than eager); rows 'jit record': calls 1+2 of a fresh jitted step / one eager step"
            if jit.available() else "- tinygrad_edu jit: not in this checkout (no tinygrad_edu.jit)",
            ""]
    out += ["## Results", ""]
    if args.quick:
        out += ["Quick mode: few repetitions, so the timings are indicative only.", ""]
    out += report.results_table(rows) + [""]
    judged = [r.met for r in rows if r.met is not None]
    out += [f"Targets met: {sum(judged)} of {len(judged)}."]
    share = harness.cpu_share()
    if share is not None:
        out.append(f"While being timed this process got {100 * share:.0f}% of a CPU (CPU time / "
                   "wall time; well below 100% means other processes were using the machine).")
    out.append("")
    if linear is not None:
        out += ["## W4: time per op against chain length", ""]
        out += report.linear_table(cfg.linear_lengths, linear) + [""]
    if args.memory:
        out += layer_memory_section(args, torch, no_torch_reason, checks)
    out += ["## Checks against the reference (same run)", ""] + report.check_lines(checks)
    failed = [c for c in checks if c.status != "ok"]
    out += ["", f"{len(failed)} check(s) failed." if failed else "All checks passed."]
    report.write(out)
    return 1 if failed else 0


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--w5-child":
        threads.after_imports(None)
        from benchmarks import memory as _memory

        _memory.child_main(sys.argv[2])
    else:
        sys.exit(main())
