"""Where tinygrad_edu's time goes in a workload: cProfile of its contender, top functions.

Usage::

    python benchmarks/hotspots.py W1            # or W2, W3, W4
    python benchmarks/hotspots.py W4 --top 30 --sort cumulative

cProfile adds a roughly constant cost per Python call, so it exaggerates
small functions; use it to find which functions to look at, and the
benchmark (run.py) to judge a change. numpy's ufuncs called through
operators do not appear separately: their time is in the calling line.
For a sampling profile without that distortion, run ``py-spy record`` on
the same command.
"""
from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path[0] = ROOT

from benchmarks import threads  # noqa: E402

threads.before_numpy()


def workload(key):
    """A function running tinygrad_edu's contender of ``key`` for about a second."""
    from benchmarks import chain, mlp, xor

    if key == "W1":
        trainer = xor.tinygrad_edu_net()
        return lambda: [trainer.step() for _ in range(5000)]
    if key in ("W2", "W3"):
        spec = mlp.W2 if key == "W2" else mlp.W3
        trainer = mlp.tinygrad_edu_mlp(mlp.make_problem(spec["sizes"], spec["batch"]))
        return lambda: [trainer.step() for _ in range(2000 if key == "W2" else 10)]
    if key == "W4":
        return lambda: [chain.tinygrad_edu_chain(10_000) for _ in range(10)]
    raise SystemExit(f"unknown workload {key!r}: choose W1, W2, W3 or W4")


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("workload", help="W1, W2, W3 or W4")
    p.add_argument("--top", type=int, default=25, help="how many functions to list")
    p.add_argument("--sort", default="tottime", help="pstats sort key (tottime, cumulative)")
    args = p.parse_args(argv)
    threads.after_imports(None)
    run = workload(args.workload.upper())
    run()  # warm-up, not profiled
    prof = cProfile.Profile()
    prof.enable()
    run()
    prof.disable()
    out = io.StringIO()
    pstats.Stats(prof, stream=out).strip_dirs().sort_stats(args.sort).print_stats(args.top)
    print(out.getvalue())


if __name__ == "__main__":
    main()
