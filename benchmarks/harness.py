"""Timing and checking: interleaved rounds, medians, and comparison with the reference.

Every workload has a *reference* contender (hand-written numpy) and others
that must compute the same numbers. Timing interleaves the contenders round
by round (A, B, C, A, B, C, ...), so slow drifts of the machine (frequency,
a neighbour's load) hit all of them alike; each round gives one sample per
contender and the reports use medians. A ratio to the reference is the
median over rounds of ``contender / reference`` *in the same round*.

Times are process CPU time by default (``use_clock("wall")`` for wall
time): on a small shared machine the scheduler hands the cores to other
processes now and then, which wall time would charge to whichever
contender was running. With BLAS and PyTorch pinned to one thread, a
process's CPU time is its work. The share of CPU the process got while
being timed (:func:`cpu_share`) tells how loaded the machine was.
"""
from __future__ import annotations

import statistics
import time
from collections import defaultdict
from dataclasses import dataclass, field

import numpy as np

# ---- clocks -----------------------------------------------------------------
CLOCKS = {"cpu": "process CPU time", "wall": "wall-clock time"}
_clock = "cpu"
_usage = {"wall": 0.0, "cpu": 0.0}  # totals over all timed intervals


def use_clock(name: str):
    """Time with ``"cpu"`` (process CPU time, the default) or ``"wall"`` (perf_counter)."""
    global _clock
    if name not in CLOCKS:
        raise ValueError(f"unknown clock {name!r}; choose from {sorted(CLOCKS)}")
    _clock = name


def clock_name() -> str:
    """The clock in use, in words."""
    return CLOCKS[_clock]


def stamp():
    """The start of a timed interval: (wall, cpu) now."""
    return time.perf_counter(), time.process_time()


def elapsed(start) -> float:
    """Seconds since ``start`` (a :func:`stamp`) on the clock in use; both clocks are tallied."""
    wall = time.perf_counter() - start[0]
    cpu = time.process_time() - start[1]
    _usage["wall"] += wall
    _usage["cpu"] += cpu
    return cpu if _clock == "cpu" else wall


def cpu_share() -> float | None:
    """CPU time / wall time over everything timed so far (1.0: the process never waited)."""
    return _usage["cpu"] / _usage["wall"] if _usage["wall"] else None


# ---- timing -----------------------------------------------------------------
def calibrate(step, target_s: float) -> int:
    """How many calls of ``step`` make about ``target_s`` seconds (at least 1).

    Calls ``step`` twice and sizes from the faster call.
    """
    best = float("inf")
    for _ in range(2):
        t0 = time.perf_counter()
        step()
        best = min(best, time.perf_counter() - t0)
    return max(1, round(target_s / max(best, 1e-9)))


def trainer_sampler(trainer, inner: int):
    """A sampler: reset ``trainer`` (untimed), then time ``inner`` steps.

    Returns ``{"step": seconds per step}``. Resetting makes every sample of
    every contender follow the same training trajectory from the same
    weights, so no contender is timed on weights that have trained further
    (where, say, underflowing exponentials could change the cost).
    """
    step = trainer.step

    def sample():
        trainer.reset()
        t0 = stamp()
        for _ in range(inner):
            step()
        return {"step": elapsed(t0) / inner}
    return sample


def interleave(samplers: dict, rounds: int) -> dict:
    """Run each sampler once per round, in order, for ``rounds`` rounds.

    ``samplers`` maps a contender's name to a function returning
    ``{metric: value}``. Returns ``{name: {metric: [value per round]}}``.
    """
    out = {name: defaultdict(list) for name in samplers}
    for _ in range(rounds):
        for name, sample in samplers.items():
            for metric, value in sample().items():
                out[name][metric].append(value)
    return out


def spread(values) -> float | None:
    """Interquartile range relative to the median (None with fewer than 4 samples)."""
    if len(values) < 4:
        return None
    q1, _, q3 = statistics.quantiles(values, n=4)
    return (q3 - q1) / statistics.median(values)


def paired_ratio(values, reference) -> float:
    """Median over rounds of ``values[i] / reference[i]`` (same-round ratios)."""
    return statistics.median(v / r for v, r in zip(values, reference))


# ---- results ----------------------------------------------------------------
@dataclass
class Row:
    """One line of the results table.

    ``value`` is a median in ``unit`` ("s" or "B"); ``status`` is "ok",
    "MISMATCH" (computes something else than the reference), "ERROR" (raised)
    or "skipped". ``target`` is the largest acceptable ratio, if any.
    """

    workload: str
    contender: str
    value: float | None = None
    unit: str = "s"
    spread: float | None = None
    ratio: float | None = None
    target: float | None = None
    status: str = "ok"
    note: str = ""

    @property
    def met(self) -> bool | None:
        """Whether the target is met (None when there is no target or no valid ratio)."""
        if self.target is None:
            return None
        if self.status != "ok" or self.ratio is None:
            return False
        return self.ratio <= self.target


@dataclass
class Check:
    """The outcome of comparing one contender's results with the reference's."""

    workload: str
    contender: str
    what: str
    problems: list = field(default_factory=list)
    error: str | None = None

    @property
    def status(self) -> str:
        if self.error is not None:
            return "ERROR"
        return "MISMATCH" if self.problems else "ok"


# ---- checking -----------------------------------------------------------------
def to_float(x) -> float:
    """A Python float from a numpy scalar/array, a tinygrad_edu Tensor or a torch tensor."""
    return float(x.item()) if hasattr(x, "item") else float(x)


def compare(got: dict, want: dict, *, exact=False, rtol=1e-5, atol_frac=1e-6) -> list:
    """Problems found comparing result arrays ``got`` with the reference ``want``.

    Keys must match. ``exact``: shapes, dtypes and every bit equal
    (``np.array_equal``). Otherwise ``allclose`` with ``rtol`` and an
    absolute tolerance of ``atol_frac`` times the largest reference
    magnitude of that key (so a near-zero element is judged on the scale of
    the whole array). Returns a list of strings, empty when all agree.
    """
    problems = []
    if set(got) != set(want):
        return [f"result keys {sorted(got)} differ from the reference's {sorted(want)}"]
    for key, w in want.items():
        g = np.asarray(got[key])
        w = np.asarray(w)
        if g.shape != w.shape:
            problems.append(f"{key}: shape {g.shape}, reference {w.shape}")
        elif exact:
            if g.dtype != w.dtype or not np.array_equal(g, w):
                diff = np.max(np.abs(g.astype(np.float64) - w)) if g.size else 0.0
                problems.append(f"{key}: not bit-for-bit equal (dtype {g.dtype} vs {w.dtype}, "
                                f"max |diff| {diff:.3g})")
        else:
            atol = atol_frac * (float(np.max(np.abs(w))) if w.size else 0.0)
            if not np.allclose(g, w, rtol=rtol, atol=atol):
                err = np.max(np.abs(g.astype(np.float64) - w))
                problems.append(f"{key}: max |diff| {err:.3g} exceeds rtol={rtol:g}, "
                                f"atol={atol:.3g}")
    return problems


# ---- training-step workloads (W1-W3) ----------------------------------------------
@dataclass
class Trainer:
    """A contender's model and optimizer, behind three functions.

    ``step()`` runs one training step (forward, backward, update) and
    returns the loss in the contender's own type; ``state()`` returns the
    parameters as numpy arrays in the reference's layout; ``reset()`` puts
    the initial parameters back (in place).
    """

    step: object
    state: object
    reset: object


def run_checks(workload, what, factories, reference, results, compare_to_reference):
    """Check every contender against the reference before anything is timed.

    ``factories`` maps names to zero-argument functions building a fresh
    :class:`Trainer`; ``results(trainer)`` trains it and returns the dict of
    arrays to compare; ``compare_to_reference(name, got, want)`` returns the
    list of problems; ``what`` says in words what is compared. Returns
    ``{name: Check}`` (the reference's own check is trivially ok).
    """
    checks = {}
    want = results(factories[reference]())
    for name, factory in factories.items():
        check = Check(workload, name, what)
        if name != reference:
            try:
                check.problems = compare_to_reference(name, results(factory()), want)
            except Exception as err:  # a contender that crashes is reported, not fatal
                check.error = f"{type(err).__name__}: {err}"
        checks[name] = check
    return checks


def time_trainers(factories, reference, rounds, target_s):
    """Interleaved step times of fresh trainers: ``{name: [seconds per step, per round]}``.

    Every contender takes the same number of steps per sample, sized so
    that the reference's sample lasts about ``target_s``.
    """
    trainers = {name: factory() for name, factory in factories.items()}
    for trainer in trainers.values():  # warm-up: first-call caches, lazy imports, and
        trainer.step()                 # a jitted step's two recording calls (the timed
        trainer.step()                 # steps are replays: recording has its own row)
        trainer.reset()
    inner = calibrate(trainers[reference].step, target_s)
    samplers = {name: trainer_sampler(t, inner) for name, t in trainers.items()}
    return {name: m["step"] for name, m in interleave(samplers, rounds).items()}


def rows_from_times(workload, times, reference, checks, targets):
    """Table rows (medians, spreads, same-round ratios) for timed contenders and failed checks.

    ``targets`` maps contender names to their largest acceptable ratio.
    """
    rows = []
    for name, check in checks.items():
        if check.status != "ok":
            rows.append(Row(workload, name, status=check.status, target=targets.get(name)))
            continue
        t = times[name]
        rows.append(Row(workload, name, statistics.median(t), "s", spread(t),
                        paired_ratio(t, times[reference]), targets.get(name)))
    return rows


def bench_training(workload, what, factories, reference, results, compare_to_reference,
                   rounds, target_s, targets):
    """Check, then time, the training step of every contender; returns (rows, checks).

    Contenders whose results differ from the reference are not timed: the
    table flags them instead of showing a time.
    """
    checks = run_checks(workload, what, factories, reference, results, compare_to_reference)
    valid = {n: f for n, f in factories.items() if checks[n].status == "ok"}
    times = time_trainers(valid, reference, rounds, target_s)
    return rows_from_times(workload, times, reference, checks, targets), list(checks.values())
