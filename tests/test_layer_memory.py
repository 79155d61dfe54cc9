"""benchmarks/layer_memory.py: the W6-W9 memory measurement runs and its meter sees memory.

No size or timing is asserted about the contenders (figures depend on the
machine, glibc and the libraries' versions); what must hold is that each
contender's child process runs and reports a positive peak, and that the
meter itself sees an allocation made during the measured step.
"""
import importlib.util
import os

import numpy as np
import pytest

from benchmarks import layer_memory

linux = pytest.mark.skipif(not os.path.exists("/proc/self/status"), reason="needs Linux /proc")


@linux
def test_the_meter_sees_an_array_allocated_and_filled_during_the_step():
    size = 32 * 2**20

    def step():
        a = np.ones(size // 8)  # float64: written, so resident
        return a[-1]

    peak, _, loss = layer_memory.rss_step_peak(step)
    assert loss == 1.0
    assert peak >= 0.75 * size


@linux
def test_the_meter_does_not_count_memory_that_existed_before_the_step():
    kept = np.ones(32 * 2**20 // 8)
    peak, _, _ = layer_memory.rss_step_peak(lambda: kept[0])
    assert peak < 8 * 2**20


@linux
@pytest.mark.skipif(importlib.util.find_spec("torch") is None, reason="PyTorch is not installed")
def test_w6_quick_gives_both_contenders_a_positive_peak():
    rows, checks, _, raw = layer_memory.workloads(("W6",), quick=True)
    assert [c.status for c in checks] == ["ok"], [(c.problems, c.error) for c in checks]
    by_name = {r.contender: r for r in rows}
    assert set(by_name) == {"tinygrad_edu", "torch"}
    for row in by_name.values():
        assert row.status == "ok" and row.value > 0
    assert by_name["tinygrad_edu"].ratio > 0
    lines = layer_memory.table(rows, raw)
    assert any(line.startswith("| W6 mem | tinygrad_edu |") for line in lines)


def test_where_lists_the_allocation_sites_alive_at_the_peak():
    lines = layer_memory.where("W6", top=3)  # W6's tinygrad_edu side needs no PyTorch
    assert lines[0].startswith("W6 tinygrad_edu: step peak ")
    sites = lines[1:]
    assert sites and all(line.startswith("- ") and "tinygrad_edu/" in line for line in sites)
