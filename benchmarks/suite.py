"""The workloads W1-W5, each checked, then timed or measured.

Each ``w*`` function returns ``(rows, checks, notes)``: table rows, the
checks against the reference, and lines for the report (``w4_linear``
returns the per-op times of its table instead of notes).

Contender names: "numpy" (the hand-written reference), "tinygrad_edu",
"torch" (only when PyTorch is importable). Targets (issue 7) apply to
tinygrad_edu, as ratios to the reference measured in the same run.
"""
from __future__ import annotations

import statistics
from dataclasses import dataclass

import numpy as np

from . import chain, jit, memory, mlp, xor
from .harness import (Check, Row, bench_training, compare, interleave, paired_ratio,
                      spread)

#: Largest acceptable ratio of tinygrad_edu to the reference, per table key (issue 7).
TARGETS = {"W1": 2.5, "W2": 1.6, "W3": 1.05, "W4 fwd": 2.5, "W4 bwd": 2.5, "W4 linear": 1.5,
           "W5": 1.2}
REFERENCE = "numpy"


@dataclass(frozen=True)
class Config:
    """How much to measure. ``quick`` is the smoke-test size (a few seconds)."""

    rounds: int            # interleaved rounds for W1, W2
    sample_s: float        # aim for samples of about this many seconds (W1, W2, W3)
    w3_rounds: int
    chain_ops: int         # W4 per-op chain length
    chain_rounds: int
    linear_lengths: tuple  # W4 linearity: chain lengths ...
    linear_reps: tuple     # ... and repetitions at each

    @staticmethod
    def make(quick: bool) -> "Config":
        if quick:
            return Config(rounds=5, sample_s=0.002, w3_rounds=2, chain_ops=1_000,
                          chain_rounds=5, linear_lengths=(10**3, 3 * 10**3, 10**4),
                          linear_reps=(2, 1, 1))
        return Config(rounds=31, sample_s=0.02, w3_rounds=15, chain_ops=10_000,
                      chain_rounds=21, linear_lengths=(10**4, 10**5, 10**6),
                      linear_reps=(5, 3, 1))


def _targets(key):
    out = {"tinygrad_edu": TARGETS[key]}
    if key in jit.TARGETS:
        out[jit.JIT] = jit.TARGETS[key]
    return out


def _bench(key, what, factories, results, compare_to_reference, rounds, cfg, check_steps):
    """bench_training, or with the jit contender (when ``factories`` has it) jit.bench."""
    if jit.JIT in factories:
        return jit.bench(key, what, factories, REFERENCE, results, compare_to_reference, rounds,
                         cfg.sample_s, _targets(key), check_steps=check_steps)
    return bench_training(key, what, factories, REFERENCE, results, compare_to_reference,
                          rounds, cfg.sample_s, _targets(key))


def w1(cfg, torch):
    factories = {REFERENCE: xor.numpy_blog, "tinygrad_edu": xor.tinygrad_edu_net}
    if jit.available():
        factories[jit.JIT] = lambda: xor.tinygrad_edu_net(jit=True)
    if torch is not None:
        factories["torch"] = lambda: xor.torch_net(torch)
    what = (f"weights after {xor.CHECK_ITERATIONS} iterations (tinygrad_edu, eager and jit: bit "
            "for bit; torch: rtol 1e-9)")
    rows, checks = _bench("W1", what, factories, xor.results, xor.compare_to_reference,
                          cfg.rounds, cfg, xor.CHECK_ITERATIONS)
    return rows, checks, []


def _mlp(key, spec, rounds, cfg, torch):
    problem = mlp.make_problem(spec["sizes"], spec["batch"])
    factories = {REFERENCE: lambda: mlp.numpy_by_hand(problem),
                 "tinygrad_edu": lambda: mlp.tinygrad_edu_mlp(problem)}
    if jit.available():
        factories[jit.JIT] = lambda: mlp.tinygrad_edu_mlp(problem, jit=True)
    if torch is not None:
        factories["torch"] = lambda: mlp.torch_mlp(torch, problem)
    steps = spec["check_steps"]
    what = (f"first loss (rtol 1e-5) and parameter updates after {steps} step(s) "
            "(rtol 1e-3, atol 1e-4 x max)")
    return _bench(key, what, factories, mlp.results_of(problem, steps), mlp.compare_to_reference,
                  rounds, cfg, steps)


def w2(cfg, torch):
    rows, checks = _mlp("W2", mlp.W2, cfg.rounds, cfg, torch)
    return rows, checks, [f"tinygrad_edu cross-entropy: {mlp.cross_entropy_variant()}"]


def w3(cfg, torch):
    rows, checks = _mlp("W3", mlp.W3, cfg.w3_rounds, cfg, torch)
    return rows, checks, []


def _chain_contenders(torch):
    contenders = {REFERENCE: chain.numpy_tape, "tinygrad_edu": chain.tinygrad_edu_chain}
    if torch is not None:
        contenders["torch"] = lambda n: chain.torch_chain(torch, n)
    return contenders


def _check_chain(key, name, result, want, what):
    check = Check(key, name, what)
    check.problems = compare({k: result[k] for k in ("value", "grad")}, want,
                             rtol=1e-12, atol_frac=0)
    return check


def _reference_chain(n):
    """The tape's result, itself checked against the closed-form gradient."""
    ref = chain.numpy_tape(n)
    exact = chain.exact_gradient(n)
    if not np.allclose(ref["grad"], exact, rtol=1e-9, atol=0):
        raise AssertionError(f"the numpy tape's gradient {ref['grad']} is not {exact}: "
                             "the benchmark's reference is broken")
    return {"value": ref["value"], "grad": ref["grad"]}


def w4(cfg, torch):
    n = cfg.chain_ops
    contenders = _chain_contenders(torch)
    want = _reference_chain(n)
    what = f"value and gradient of the {n:,}-op chain (rtol 1e-12)"
    checks = {}
    for name, run in contenders.items():
        try:
            checks[name] = _check_chain("W4", name, run(n), want, what)
        except Exception as err:
            checks[name] = Check("W4", name, what, error=f"{type(err).__name__}: {err}")
    valid = {name: chain.per_op_sampler(run, n) for name, run in contenders.items()
             if checks[name].status == "ok"}
    times = interleave(valid, cfg.chain_rounds)
    rows = []
    for phase in ("fwd", "bwd"):
        key = f"W4 {phase}"
        for name in contenders:
            if checks[name].status != "ok":
                rows.append(Row(key, name, status=checks[name].status,
                                target=_targets(key).get(name)))
                continue
            t = times[name][phase]
            rows.append(Row(key, name, statistics.median(t), "s", spread(t),
                            paired_ratio(t, times[REFERENCE][phase]), _targets(key).get(name)))
    return rows, list(checks.values()), []


def w4_linear(cfg, torch):
    """The chain at growing lengths: per-op times, and the growth of the per-op time.

    A contender that raises (say, a recursion limit at 10^6 ops) or computes
    a wrong gradient is flagged, and not run at the longer lengths.
    """
    contenders = {REFERENCE: chain.numpy_tape, "tinygrad_edu": chain.tinygrad_edu_chain}
    per_op = {name: {} for name in contenders}
    failed = {}  # name -> Check that failed
    checks = []
    for n, reps in zip(cfg.linear_lengths, cfg.linear_reps):
        want = _reference_chain(n)
        what = f"value and gradient of the {n:,}-op chain (rtol 1e-12)"
        runs = {name: [] for name in contenders if name not in failed}
        for _ in range(reps):
            for name in list(runs):
                try:
                    runs[name].append(contenders[name](n))
                except Exception as err:
                    failed[name] = Check("W4 linear", name, what,
                                         error=f"{type(err).__name__}: {err}")
                    checks.append(failed[name])
                    del runs[name]
        for name, rs in runs.items():
            if name != REFERENCE:
                check = _check_chain("W4 linear", name, rs[-1], want, what)
                checks.append(check)
                if check.status != "ok":
                    failed[name] = check
            per_op[name][n] = (statistics.median(r["fwd"] for r in rs) / n,
                               statistics.median(r["bwd"] for r in rs) / n)
    # Growth of the per-op time between the two longest chains: 1.0 when the
    # time is linear, 10x (for 10x the length) if it were quadratic. The
    # shortest chain is only in the table: below ~10^5 ops Python's full
    # garbage collections, which are amortised over the length, barely run.
    short, long = cfg.linear_lengths[-2], cfg.linear_lengths[-1]
    target = _targets("W4 linear")
    rows = []
    for name in contenders:
        if name in failed:
            rows.append(Row("W4 linear", name, target=target.get(name),
                            status=failed[name].status))
            continue
        rows.append(Row("W4 linear", name, sum(per_op[name][long]) * long, "s", None,
                        sum(per_op[name][long]) / sum(per_op[name][short]), target.get(name),
                        note=f"{long:,} ops fwd+bwd"))
    return rows, checks, per_op


def w5(cfg, torch, script):
    ref = memory.measure(REFERENCE, script)
    what = "loss of the measured step (rtol 1e-5)"
    rows = [Row("W5", REFERENCE, ref["peak"], "B", None, 1.0)]
    checks = []
    for name in memory.CONTENDERS:
        if name == REFERENCE:
            continue
        check = Check("W5", name, what)
        try:
            r = memory.measure(name, script)
        except Exception as err:  # a contender that crashes is reported, not fatal
            check.error = f"{type(err).__name__}: {err}"
        else:
            check.problems = compare({"loss": r["loss"]}, {"loss": ref["loss"]}, rtol=1e-5,
                                     atol_frac=0)
        checks.append(check)
        ok = check.status == "ok"
        rows.append(Row("W5", name, r["peak"] if ok else None, "B", None,
                        r["peak"] / ref["peak"] if ok else None, _targets("W5").get(name),
                        check.status))
    if torch is not None:
        rows.append(Row("W5", "torch", status="skipped",
                        note="allocates outside Python's allocator, invisible to tracemalloc"))
    return rows, checks, []
