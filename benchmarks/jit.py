"""The "tinygrad_edu jit" contender: the eager step wrapped in ``tinygrad_edu.jit`` (issue 13).

Each workload's tinygrad_edu trainer takes ``jit=True`` to wrap its training
step; :func:`bench` then checks and times it next to the others, in the same
interleaved rounds, and adds what only the jit has:

- a check that the jitted trainer equals the eager one BIT FOR BIT (losses of
  every step and the final parameters) over enough steps to replay (calls 1
  and 2 record, the rest replay), on top of the usual check against the
  reference;
- a row "<W> jit/eager": median over rounds of jit / eager in the same round
  (target: at most 1.0, the jit never slower than eager);
- a row "<W> jit record": the time of calls 1 and 2 (which run eagerly while
  recording) of a fresh trainer, as a ratio to one eager step: the one-off
  cost a training loop pays per signature.

Without ``tinygrad_edu.jit`` (an older checkout) the contender is left out.
"""
from __future__ import annotations

import statistics

import numpy as np

from .harness import (Check, Row, compare, elapsed, paired_ratio, rows_from_times, run_checks,
                      spread, stamp, time_trainers)

JIT = "tinygrad_edu jit"
EAGER = "tinygrad_edu"
#: Largest acceptable ratio of the jitted step to the reference (issue 13); every
#: workload's "jit/eager" row has the target 1.0.
TARGETS = {"W1": 1.3, "W2": 1.1}
RECORD_SAMPLES = 3


def available() -> bool:
    import tinygrad_edu as tg

    return hasattr(tg, "jit")


def check_against_eager(workload, eager_factory, jit_factory, steps) -> Check:
    """The jitted trainer's losses and final parameters equal the eager one's, bit for bit."""
    steps = max(steps, 4)  # at least two replays after the two recording calls
    check = Check(workload, JIT, f"losses of {steps} steps and the parameters after them equal "
                                 "eager's bit for bit")
    try:
        got = _run(jit_factory(), steps)
        want = _run(eager_factory(), steps)
        check.problems = compare(got, want, exact=True)
    except Exception as err:  # a contender that crashes is reported, not fatal
        check.error = f"{type(err).__name__}: {err}"
    return check


def _run(trainer, steps):
    out = {f"loss {i}": np.array(trainer.step().data, copy=True) for i in range(steps)}
    out.update({k: np.array(v, copy=True) for k, v in trainer.state().items()})
    return out


def record_time(factory) -> float:
    """Median over fresh trainers of the time of calls 1 and 2 (recording)."""
    samples = []
    for _ in range(RECORD_SAMPLES):
        trainer = factory()
        t0 = stamp()
        trainer.step()
        trainer.step()
        samples.append(elapsed(t0))
    return statistics.median(samples)


def extra_rows(workload, times, record_s, target_jit_eager=1.0):
    """The "jit/eager" and "jit record" rows, from the same run's times."""
    t_jit, t_eager = times[JIT], times[EAGER]
    eager_step = statistics.median(t_eager)
    return [Row(f"{workload} jit/eager", JIT, statistics.median(t_jit), "s", spread(t_jit),
                paired_ratio(t_jit, t_eager), target_jit_eager, note="ratio to eager"),
            Row(f"{workload} jit record", JIT, record_s, "s", None, record_s / eager_step,
                note="calls 1+2, ratio to one eager step")]


def bench(workload, what, factories, reference, results, compare_to_reference, rounds, target_s,
          targets, *, timed=None, check_steps=4):
    """``harness.bench_training`` plus the jit's own check and rows; returns (rows, checks).

    ``factories`` must hold EAGER and JIT (and the reference); ``timed``
    optionally gives other factories of the same contenders to time (W6/W7
    check in float64 and time in float32).
    """
    checks = run_checks(workload, what, factories, reference, results, compare_to_reference)
    timed = timed or factories
    checks[JIT + " eager"] = check_against_eager(workload, timed[EAGER], timed[JIT], check_steps)
    valid = {n: f for n, f in timed.items()
             if checks[n].status == "ok" and (n != JIT or checks[JIT + " eager"].status == "ok")}
    times = time_trainers(valid, reference, rounds, target_s)
    shown = {n: c for n, c in checks.items() if n != JIT + " eager"}
    if checks[JIT].status == "ok":  # equal to the reference: flag a difference from eager
        shown[JIT] = checks[JIT + " eager"]
    rows = rows_from_times(workload, times, reference, shown, targets)
    if JIT in times and EAGER in times:
        rows += extra_rows(workload, times, record_time(timed[JIT]))
    return rows, list(checks.values())
