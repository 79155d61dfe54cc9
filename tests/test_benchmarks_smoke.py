"""Smoke test of benchmarks/run.py: the quick mode runs, checks pass, the table is complete.

No timing is asserted (timings depend on the machine and its load); what
must hold is that every workload produces its rows and every contender
computes the reference's numbers. The second group of tests makes sure the
checks can fail: a contender that computes something else is flagged.
"""
import os
import re
import subprocess
import sys

import numpy as np
import pytest

from benchmarks import chain, harness, mlp, suite, xor

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RUN = os.path.join(ROOT, "benchmarks", "run.py")


@pytest.fixture(scope="module")
def quick_run():
    proc = subprocess.run([sys.executable, RUN, "--quick"], capture_output=True, text=True,
                          timeout=300, cwd=ROOT)
    return proc


def _table_rows(stdout):
    rows = {}
    for line in stdout.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if line.startswith("| W") and len(cells) == 7:
            rows[(cells[0], cells[1].split(" (")[0])] = cells
    return rows


def test_quick_mode_prints_every_workload_and_no_mismatch(quick_run):
    assert quick_run.returncode == 0, quick_run.stderr + quick_run.stdout
    out = quick_run.stdout
    assert "MISMATCH" not in out and "ERROR" not in out
    assert "All checks passed." in out
    rows = _table_rows(out)
    for key in ("W1", "W2", "W3", "W4 fwd", "W4 bwd", "W4 linear", "W5"):
        for contender in ("numpy", "tinygrad_edu"):
            cells = rows.get((key, contender))
            assert cells is not None, f"no row for {key} {contender}"
            assert re.match(r"[\d.]+ (ns|µs|ms|s|MiB)$", cells[2]), cells
            assert re.match(r"[\d.]+x$", cells[4]), cells
        assert rows[(key, "tinygrad_edu")][5].startswith("<= ")  # the target is shown
        assert rows[(key, "tinygrad_edu")][6] in ("yes", "**no**")


def test_quick_mode_reports_the_machine_and_the_blas_pin(quick_run):
    out = quick_run.stdout
    assert re.search(r"- machine: .*\d+ CPUs", out)
    assert f"numpy {np.__version__}" in out
    assert "1 thread(s)" in out or "NOTE: threadpoolctl is not installed" in out


def test_torch_column_appears_exactly_when_torch_is_importable(quick_run):
    try:
        import torch  # noqa: F401
    except ImportError:
        has_torch = False
    else:
        has_torch = True
    assert ("torch" in {c for _, c in _table_rows(quick_run.stdout)}) == has_torch


# ---- the checks can fail -------------------------------------------------------------
def _checks(factories, results, compare_to_reference):
    checks = harness.run_checks("W", "test", factories, "numpy", results, compare_to_reference)
    return {name: c.status for name, c in checks.items()}


def test_a_slightly_wrong_update_is_a_mismatch():
    problem = mlp.make_problem((8, 16, 4), batch=8)
    statuses = _checks({"numpy": lambda: mlp.numpy_by_hand(problem),
                        "tinygrad_edu": lambda: mlp.tinygrad_edu_mlp(problem),
                        "wrong": lambda: mlp.numpy_by_hand(problem, lr=mlp.LR * 1.01)},
                       mlp.results_of(problem, 2), mlp.compare_to_reference)
    assert statuses == {"numpy": "ok", "tinygrad_edu": "ok", "wrong": "MISMATCH"}


def test_w1_demands_bit_for_bit_equality_from_tinygrad_edu():
    # One ulp off in one weight: fine for torch's rtol, not for tinygrad_edu's exactness.
    want = xor.results(xor.numpy_blog())
    got = {k: v.copy() for k, v in want.items()}
    got["syn1"][0, 0] = np.nextafter(got["syn1"][0, 0], 2.0)
    assert xor.compare_to_reference("tinygrad_edu", got, want)
    assert not xor.compare_to_reference("torch", got, want)
    assert not xor.compare_to_reference("tinygrad_edu", want, want)


def test_a_crashing_contender_is_an_error_not_a_failure_of_the_run():
    def broken():
        raise ValueError("boom")

    statuses = _checks({"numpy": xor.numpy_blog, "broken": broken}, xor.results,
                       xor.compare_to_reference)
    assert statuses == {"numpy": "ok", "broken": "ERROR"}


def _tiny_config():
    return suite.Config(rounds=2, sample_s=0.001, w3_rounds=1, chain_ops=100, chain_rounds=2,
                        linear_lengths=(100, 200, 400), linear_reps=(1, 1, 1))


def test_a_chain_that_fails_at_a_long_length_is_flagged_and_the_run_goes_on(monkeypatch):
    real = chain.tinygrad_edu_chain

    def fails_when_long(n):
        if n > 200:
            raise RecursionError("maximum recursion depth exceeded")
        return real(n)

    monkeypatch.setattr(chain, "tinygrad_edu_chain", fails_when_long)
    rows, checks, per_op = suite.w4_linear(_tiny_config(), None)
    statuses = {r.contender: r.status for r in rows}
    assert statuses == {"numpy": "ok", "tinygrad_edu": "ERROR"}
    assert 400 not in per_op["tinygrad_edu"] and 400 in per_op["numpy"]
    assert any("RecursionError" in (c.error or "") for c in checks)


def test_a_chain_with_a_wrong_gradient_is_a_mismatch(monkeypatch):
    real = chain.tinygrad_edu_chain

    def off_by_a_little(n):
        r = real(n)
        return dict(r, grad=r["grad"] * (1 + 1e-9))

    monkeypatch.setattr(chain, "tinygrad_edu_chain", off_by_a_little)
    rows, checks, _ = suite.w4(_tiny_config(), None)
    assert {(r.workload, r.contender): r.status for r in rows} == {
        ("W4 fwd", "numpy"): "ok", ("W4 fwd", "tinygrad_edu"): "MISMATCH",
        ("W4 bwd", "numpy"): "ok", ("W4 bwd", "tinygrad_edu"): "MISMATCH"}


def test_layer_workloads_run_against_pytorch_or_say_why_not(quick_run):
    # W6-W9 (CNN, LSTM, transformer steps) are timed against PyTorch itself.
    out = quick_run.stdout
    rows = _table_rows(out)
    try:
        import torch  # noqa: F401
    except ImportError:
        for key in ("W6", "W7", "W8", "W9"):
            assert f"{key} skipped: its reference is PyTorch" in out
            assert (key, "tinygrad_edu") not in rows
    else:
        for key in ("W6", "W7", "W8", "W9"):
            assert rows[(key, "torch")][4] == "1.00x"
            assert rows[(key, "tinygrad_edu")][5].startswith("<= ")


# ---- the jit contender (issue 13) ----------------------------------------------------
def test_jit_rows_and_targets_appear_when_the_jit_exists(quick_run):
    import tinygrad_edu as tg

    rows = _table_rows(quick_run.stdout)
    if not hasattr(tg, "jit"):
        assert ("W1", "tinygrad_edu jit") not in rows
        return
    for key, target in (("W1", "<= 1.3x"), ("W2", "<= 1.1x"), ("W3", "")):
        cells = rows[(key, "tinygrad_edu jit")]
        assert re.match(r"[\d.]+x$", cells[4]) and cells[5] == target, cells
        assert rows[(f"{key} jit/eager", "tinygrad_edu jit")][5] == "<= 1x"
        assert re.match(r"[\d.]+x$", rows[(f"{key} jit record", "tinygrad_edu jit")][4])
    assert "W1 tinygrad_edu jit: losses of 100 steps and the parameters after them equal eager's bit for bit: ok" in quick_run.stdout


def test_a_jitted_trainer_one_ulp_off_eager_is_a_mismatch():
    from benchmarks import jit

    def off_by_one_ulp():
        trainer = xor.tinygrad_edu_net()
        state = trainer.state

        def nudged():
            s = {k: v.copy() for k, v in state().items()}
            s["syn1"][0, 0] = np.nextafter(s["syn1"][0, 0], 2.0)
            return s
        return harness.Trainer(trainer.step, nudged, trainer.reset)

    assert jit.check_against_eager("W1", xor.tinygrad_edu_net, xor.tinygrad_edu_net, 5).status == "ok"
    assert jit.check_against_eager("W1", xor.tinygrad_edu_net, off_by_one_ulp, 5).status == "MISMATCH"
