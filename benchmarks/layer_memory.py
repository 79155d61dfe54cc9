"""Peak memory of one training step of the layer workloads W6-W9: tinygrad_edu against PyTorch.

The issue asks that each layer's peak memory per training step be at most
PyTorch's + 25% (ratio <= 1.25). tracemalloc cannot see PyTorch's tensors
(they are allocated outside Python's allocator), so the measure that sees
both alike is the process's resident set: the step's figure is the peak
resident set during the step minus the resident set just before it. The
peak is read from ``VmHWM`` in ``/proc/self/status`` after resetting that
high-water mark to the current resident set (writing ``5`` to
``/proc/self/clear_refs``; where that is refused, the figure is an upper
bound: the high-water mark since the process started, minus the baseline).

What is measured, for each workload and contender, in a FRESH child
process (so no other contender's caches or freed-but-kept memory count):
the problem is built, a throw-away model takes one step (lazy imports,
first-call caches), a fresh model is built, garbage is collected and free
heap memory given back to the system (``malloc_trim``), then one step
(zero_grad, forward, loss, backward, SGD update) is measured. The new
gradients are part of the figure, for both. tinygrad_edu keeps scratch
buffers of its convolutions and poolings from one step to the next, where
PyTorch allocates its temporaries within the step: they are emptied before
the measured step (:func:`clear_caches`), so that both figures count the
temporaries; the figure on top of the warm caches is reported beside it.

So that the resident set follows the arrays, the children run with glibc's
mmap threshold fixed at 64 KiB (every array of 64 KiB or more is its own
mapping, returned to the system when freed, instead of heap memory that a
later array could reuse unseen) and with numpy's transparent huge pages off
(which would round numpy's large arrays, not PyTorch's, up to 2 MiB). The
full mode repeats the measurement on fresh models and reports the median,
and cross-checks tinygrad_edu's figure with tracemalloc (which sees numpy's
arrays and Python's objects, not the interpreter's or libraries' own
buffers) and PyTorch's with its profiler's allocation events, when it
records them.

Usage from the repository root::

    python benchmarks/layer_memory.py            # W6-W9, about a minute
    python benchmarks/layer_memory.py --quick    # one measurement each, no cross-checks
    python benchmarks/layer_memory.py --only W6
    python benchmarks/layer_memory.py --where W7   # what tinygrad_edu holds at its peak
"""
from __future__ import annotations

import argparse
import gc
import json
import os
import statistics
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if __name__ == "__main__":
    sys.path[0] = ROOT  # this checkout's tinygrad_edu and benchmarks package
    from benchmarks import threads

    threads.before_numpy()

import numpy as np  # noqa: E402

from benchmarks.harness import Check, Row, compare, to_float  # noqa: E402

KEYS = ("W6", "W7", "W8", "W9")
CONTENDERS = ("tinygrad_edu", "torch")
REFERENCE = "torch"
TARGET = 1.25
NAME = ("W6-W9 peak memory of one training step (peak resident set during the step minus "
        "the resident set before it; fresh process per contender and workload)")
CHILD_FLAG = "--child"
SCRIPT = os.path.abspath(__file__)
CHILD_ENV = {"NUMPY_MADVISE_HUGEPAGE": "0", "MALLOC_MMAP_THRESHOLD_": str(64 * 1024),
             "MALLOC_TRIM_THRESHOLD_": str(128 * 1024), "MALLOC_TOP_PAD_": "0",
             "MALLOC_ARENA_MAX": "1"}


# ---- in the child ------------------------------------------------------------
def _status_kib(field):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise RuntimeError(f"/proc/self/status has no {field}")


def _reset_high_water_mark() -> bool:
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
    except OSError:
        return False
    return True


def _release_free_memory():
    gc.collect()
    try:
        import ctypes

        ctypes.CDLL(None).malloc_trim(0)
    except (OSError, AttributeError):  # not glibc: nothing to trim with
        pass


def rss_step_peak(step):
    """(bytes, exact): peak resident set during ``step()`` above the resident set before it.

    ``exact`` is False when the high-water mark could not be reset (then the
    figure is the process's lifetime peak minus the baseline: an upper bound).
    """
    _release_free_memory()
    exact = _reset_high_water_mark()
    before = _status_kib("VmRSS")
    loss = step()
    peak = _status_kib("VmHWM")
    return max(peak - before, 0) * 1024, exact, to_float(loss)


def _tracemalloc_peak(step):
    import tracemalloc

    _release_free_memory()
    tracemalloc.start()
    try:
        step()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def _torch_profiler_peak(torch, step):
    """Peak of the running sum of PyTorch's CPU allocation events during ``step``, or None."""
    try:
        from torch.profiler import ProfilerActivity, profile

        with profile(activities=[ProfilerActivity.CPU], profile_memory=True) as prof:
            step()
        events = sorted((e for e in prof.profiler.kineto_results.events()
                         if e.name() == "[memory]"), key=lambda e: e.start_ns())
        if not events:
            return None
        level = peak = 0
        for e in events:
            level += e.nbytes()
            peak = max(peak, level)
        return peak
    except Exception:  # private API: a cross-check only, never fatal
        return None


def _factory(key, contender):
    """(torch or None, zero-argument function building a fresh Trainer)."""
    from benchmarks import cnn, seq

    if key in ("W6", "W7"):
        spec = cnn.W6 if key == "W6" else cnn.W7
        problem = cnn.make_problem(spec)
        if contender == "torch":
            import torch

            return torch, lambda: cnn.torch_cnn(torch, problem)
        return None, lambda: cnn.tinygrad_edu_cnn(problem)
    import torch  # W8/W9 start from PyTorch's seeded init, in both contenders

    spec = seq.W8 if key == "W8" else seq.W9
    problem = seq.make_problem(torch, spec)
    if contender == "torch":
        return torch, lambda: seq.torch_trainer(torch, spec, problem)
    return torch, lambda: seq.tinygrad_edu_trainer(spec, problem)


def clear_caches():
    """Empty tinygrad_edu's caches of temporaries kept between calls; returns their names.

    The convolution and pooling ops keep scratch buffers (im2col columns,
    padded images, products) and pooling index tables from one call to the
    next, keyed by shape: after the warm-up they already exist, so a step
    measured on top of them does not count memory that the step uses and
    PyTorch allocates (and counts) within its step. Private names, looked up
    defensively: what was not found is not named.
    """
    cleared = []
    try:
        from tinygrad_edu.ops import _im2col

        cache = getattr(getattr(_im2col, "_scratch", None), "cache", None)
        if isinstance(cache, dict):
            cache.clear()
            cleared.append("ops._im2col scratch buffers")
    except ImportError:
        pass
    try:
        from tinygrad_edu.ops import pool

        if hasattr(getattr(pool, "_window_starts", None), "cache_clear"):
            pool._window_starts.cache_clear()
            cleared.append("ops.pool window-start tables")
    except ImportError:
        pass
    return cleared


def child_main(key, contender, repeats=1, cross_check=False):
    """Measure ``contender`` on workload ``key``; returns a dict.

    ``{"peak": median bytes with caches emptied first, "peaks": per fresh
    model, "warm": median bytes on top of the caches the warm-up left,
    "cleared": names of the caches emptied, "exact": bool, "loss": first
    loss, "tracemalloc": bytes or None, "profiler": bytes or None}``. For
    PyTorch, which keeps no such caches, "peak" and "warm" are the same runs.
    """
    from benchmarks import threads

    torch, make = _factory(key, contender)
    threads.after_imports(torch)
    make().step()  # warm-up on a throw-away model: lazy imports, first-call caches
    peaks, warms, exact, loss, cleared = [], [], True, None, []
    for _ in range(repeats):
        if contender != "torch":
            trainer = make()
            warm, ok, _ = rss_step_peak(trainer.step)
            warms.append(warm)
            exact &= ok
            del trainer
            cleared = clear_caches()
        trainer = make()
        peak, ok, first = rss_step_peak(trainer.step)
        peaks.append(peak)
        exact &= ok
        loss = first if loss is None else loss
        del trainer
    out = {"peak": statistics.median(peaks), "peaks": peaks,
           "warm": statistics.median(warms or peaks), "cleared": cleared, "exact": exact,
           "loss": loss, "tracemalloc": None, "profiler": None}
    if cross_check:
        trainer = make()
        if contender == "torch":
            out["profiler"] = _torch_profiler_peak(torch, trainer.step)
        else:
            clear_caches()
            out["tracemalloc"] = _tracemalloc_peak(trainer.step)
    return out


def where(key, top=12, min_bytes=64 * 1024):
    """Lines: the allocation sites of tinygrad_edu's arrays alive at the step's peak on ``key``.

    tracemalloc snapshots (8 frames deep) taken whenever the traced memory
    grew by 32 KiB since the last one, from a profile hook: the last is the
    peak, to within 32 KiB. Slow; for finding what to slim, not for figures.
    """
    import tracemalloc

    from benchmarks import threads

    torch, make = _factory(key, "tinygrad_edu")
    threads.after_imports(torch)
    make().step()
    trainer = make()
    _release_free_memory()
    best = [0, None]

    def hook(frame, event, arg):
        now = tracemalloc.get_traced_memory()[0]
        if now > best[0] + 32 * 1024:
            best[0], best[1] = now, tracemalloc.take_snapshot()

    tracemalloc.start(8)
    base = tracemalloc.get_traced_memory()[0]
    sys.setprofile(hook)
    try:
        trainer.step()
    finally:
        sys.setprofile(None)
    peak = tracemalloc.get_traced_memory()[1] - base
    tracemalloc.stop()
    lines = [f"{key} tinygrad_edu: step peak {peak / 2**20:.2f} MiB (tracemalloc); alive at the "
             f"last snapshot ({(best[0] - base) / 2**20:.2f} MiB), by allocation site:"]
    if best[1] is None:
        return lines
    for stat in best[1].statistics("traceback")[:top]:
        if stat.size < min_bytes:
            break
        frames = [f"{os.path.relpath(f.filename, ROOT)}:{f.lineno}" for f in stat.traceback
                  if os.path.abspath(f.filename).startswith(ROOT)]
        lines.append(f"- {stat.size / 2**20:.3f} MiB in {stat.count} block(s): "
                     + " <- ".join(reversed(frames[-4:])))
    return lines


# ---- in the parent -----------------------------------------------------------
def _start(key, contender, quick):
    cmd = [sys.executable, SCRIPT, CHILD_FLAG, key, contender] + (["--quick"] if quick else [])
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, **CHILD_ENV}, cwd=ROOT)


def _result(proc, key, contender):
    stdout, stderr = proc.communicate()
    if proc.returncode != 0:
        raise RuntimeError(f"{key} memory child for {contender} failed:\n{stderr.strip()}")
    return json.loads(stdout.strip().splitlines()[-1])


def measure(key, contender, quick=False):
    """Run a fresh child measuring ``contender`` on ``key``; returns its dict (see child_main)."""
    return _result(_start(key, contender, quick), key, contender)


def measure_pair(key, quick=False):
    """Both contenders on ``key``, their children running at once (a resident set is
    per process, so they do not disturb each other's figure): ``{contender: dict or
    the exception raised}``."""
    procs = {c: _start(key, c, quick) for c in CONTENDERS}
    out = {}
    for contender, proc in procs.items():
        try:
            out[contender] = _result(proc, key, contender)
        except Exception as err:  # reported by the caller, not fatal
            out[contender] = err
    return out


def workloads(keys=KEYS, quick=False):
    """Measure every contender on ``keys``; returns (rows, checks, notes, raw).

    ``rows`` are harness Rows (workload ``"W6 mem"`` etc., unit bytes, ratio
    to PyTorch, target 1.25); ``checks`` compare the measured step's loss with
    PyTorch's (rtol 1e-4: float32, other summation orders); ``raw`` maps
    ``(key, contender)`` to the child's dict.
    """
    rows, checks, notes, raw = [], [], [], {}
    for key in keys:
        pair = measure_pair(key, quick)
        ref, got = pair[REFERENCE], pair["tinygrad_edu"]
        if isinstance(ref, Exception):
            check = Check(f"{key} mem", REFERENCE, "the measurement ran")
            check.error = f"{type(ref).__name__}: {ref}"
            checks.append(check)
            rows.append(Row(f"{key} mem", REFERENCE, unit="B", status="ERROR"))
            continue
        raw[(key, REFERENCE)] = ref
        rows.append(Row(f"{key} mem", REFERENCE, ref["peak"], "B", None, 1.0, note="reference"))
        check = Check(f"{key} mem", "tinygrad_edu", "loss of the measured step (rtol 1e-4)")
        if isinstance(got, Exception):
            check.error = f"{type(got).__name__}: {got}"
            got = None
        else:
            raw[(key, "tinygrad_edu")] = got
            check.problems = compare({"loss": got["loss"]}, {"loss": ref["loss"]}, rtol=1e-4,
                                     atol_frac=0)
        checks.append(check)
        ok = check.status == "ok" and ref["peak"] > 0
        rows.append(Row(f"{key} mem", "tinygrad_edu", got["peak"] if got else None, "B", None,
                        got["peak"] / ref["peak"] if ok else None, TARGET, check.status))
        if not (ref["exact"] and (got is None or got["exact"])):
            notes.append(f"{key} mem: the high-water mark could not be reset; figures are upper "
                         "bounds (lifetime peak minus the baseline)")
    return rows, checks, notes, raw


def table(rows, raw=None):
    """Markdown: workload, contender, peak MiB, ratio to PyTorch, target, met (and cross-checks)."""
    out = ["| workload | contender | peak MiB | ratio to PyTorch | target | met "
           "| warm caches: peak MiB, ratio | cross-check |",
           "|---|---|---:|---:|---|---|---|---|"]
    for r in rows:
        key = r.workload.split()[0]
        peak = f"{r.value / 2**20:.2f}" if r.status == "ok" and r.value is not None else r.status
        ratio = f"{r.ratio:.2f}x" if r.ratio is not None else "—"
        target = f"<= {r.target:g}x" if r.target is not None else ""
        met = {True: "yes", False: "**no**", None: ""}[r.met]
        extra = warm = ""
        d = (raw or {}).get((key, r.contender))
        ref = (raw or {}).get((key, REFERENCE))
        if d and ref and d.get("warm") is not None and r.contender != REFERENCE:
            warm = f"{d['warm'] / 2**20:.2f}, {d['warm'] / ref['peak']:.2f}x"
        if d and d.get("tracemalloc") is not None:
            extra = f"tracemalloc {d['tracemalloc'] / 2**20:.2f} MiB"
        elif d and d.get("profiler") is not None:
            extra = f"profiler {d['profiler'] / 2**20:.2f} MiB"
        out.append(f"| {r.workload} | {r.contender} | {peak} | {ratio} | {target} | {met} "
                   f"| {warm} | {extra} |")
    return out


def section(keys=KEYS, quick=False):
    """Markdown lines of the memory section for run.py, and the checks (for its verdict)."""
    rows, checks, notes, raw = workloads(keys, quick)
    lines = [f"- {NAME}; glibc mmap threshold 64 KiB and numpy huge pages off in the children; "
             + ("one measurement each (quick)" if quick else "median of 3 fresh models; "
                "cross-check: tracemalloc (ours) / profiler allocation events (PyTorch)")]
    cleared = sorted({c for d in raw.values() for c in d.get("cleared", [])})
    if cleared:
        lines.append("- tinygrad_edu's caches of temporaries kept between steps ("
                     + ", ".join(cleared) + ") are emptied before its measured step, so the "
                     "peak counts them as PyTorch's peak counts its temporaries; the 'warm "
                     "caches' column is the step on top of the caches the warm-up left")
    lines += [f"- {n}" for n in notes] + [""] + table(rows, raw)
    judged = [r.met for r in rows if r.met is not None]
    lines += ["", f"Memory targets met: {sum(judged)} of {len(judged)}."]
    return lines, checks


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="one measurement each, no cross-checks")
    p.add_argument("--only", default=",".join(KEYS))
    p.add_argument("--where", metavar="KEY",
                   help="instead: list what tinygrad_edu holds at its peak on workload KEY")
    p.add_argument(CHILD_FLAG, nargs=2, metavar=("KEY", "CONTENDER"), help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.child:
        key, contender = args.child
        print(json.dumps(child_main(key, contender, 1 if args.quick else 3, not args.quick)))
        return 0
    if args.where:
        print("\n".join(where(args.where.strip().upper())))
        return 0
    keys = [k.strip().upper() for k in args.only.split(",") if k.strip()]
    unknown = sorted(set(keys) - set(KEYS))
    if unknown:
        p.error(f"unknown workload(s) {unknown}; choose from {', '.join(KEYS)}")
    lines, checks = section(keys, args.quick)
    print(f"# Layer memory (W6-W9){' (quick mode)' if args.quick else ''}\n")
    print("\n".join(lines))
    from benchmarks import report

    print()
    print("\n".join(report.check_lines(checks)))
    return 1 if any(c.status != "ok" for c in checks) else 0


if __name__ == "__main__":
    sys.exit(main())
