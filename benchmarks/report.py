"""The printed report: machine description, the results table, checks and notes (Markdown)."""
from __future__ import annotations

import os
import platform
import subprocess
import sys


def fmt_value(value, unit):
    """``1.23e-5, "s"`` -> ``"12.3 µs"``; ``3e6, "B"`` -> ``"2.86 MiB"``."""
    if unit == "B":
        return f"{value / 2**20:.2f} MiB"
    for scale, name in ((1, "s"), (1e-3, "ms"), (1e-6, "µs"), (1e-9, "ns")):
        if value >= scale:
            return f"{value / scale:.3g} {name}"
    return f"{value / 1e-9:.3g} ns"


def _cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _git_revision(path):
    try:
        rev = subprocess.run(["git", "-C", path, "describe", "--always", "--dirty"],
                             capture_output=True, text=True, timeout=5)
    except (OSError, subprocess.SubprocessError):
        return None
    return rev.stdout.strip() or None


def machine_lines(np, tg, torch, pools, thread_note, no_torch_reason=None):
    """Bullet lines describing the machine, the libraries and how BLAS was pinned."""
    cpus = os.cpu_count()
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else cpus
    lines = [f"- machine: {_cpu_model()}, {cpus} CPUs ({usable} usable), "
             f"{platform.system()} {platform.machine()}",
             f"- Python {platform.python_version()}, numpy {np.__version__}"]
    root = os.path.dirname(os.path.dirname(os.path.abspath(tg.__file__)))
    rev = _git_revision(root)
    lines.append(f"- tinygrad_edu {tg.__version__} from {root}" + (f" (git {rev})" if rev else ""))
    if pools is None:
        blas = np.__config__.CONFIG.get("Build Dependencies", {}).get("blas", {})
        lines.append(f"- BLAS: {blas.get('name', '?')} {blas.get('version', '')} (from numpy's "
                     "build config)")
    else:
        for p in pools:
            lib = os.path.basename(p.get("filepath", ""))
            extra = f", {p['architecture']}" if p.get("architecture") else ""
            version = f" {p['version']}" if p.get("version") else ""
            lines.append(f"- {p['user_api']} pool: {p['internal_api']}{version}{extra}, "
                         f"{p['num_threads']} thread(s) ({lib})")
    if thread_note:
        lines.append(f"- NOTE: {thread_note}")
    else:
        lines.append("- BLAS/OpenMP pinned to 1 thread with threadpoolctl")
    if torch is None:
        lines.append(f"- PyTorch: {no_torch_reason or 'not installed'}")
    else:
        lines.append(f"- PyTorch {torch.__version__}, torch.get_num_threads() = "
                     f"{torch.get_num_threads()}")
    return lines


def results_table(rows):
    """The Markdown table: one line per (workload, contender)."""
    out = ["| workload | contender | median | spread (IQR) | ratio to reference | target | met |",
           "|---|---|---:|---:|---:|---|---|"]
    for r in rows:
        if r.status == "ok":
            median = fmt_value(r.value, r.unit) if r.value is not None else "—"
            spread = f"±{100 * r.spread / 2:.1f}%" if r.spread is not None else ""
            ratio = f"{r.ratio:.2f}x" if r.ratio is not None else "—"
        else:
            median, spread, ratio = r.status, "", "—"
        target = f"<= {r.target:g}x" if r.target is not None else ""
        met = {True: "yes", False: "**no**", None: ""}[r.met]
        contender = r.contender + (f" ({r.note})" if r.note else "")
        out.append(f"| {r.workload} | {contender} | {median} | {spread} | {ratio} | {target} "
                   f"| {met} |")
    return out


def linear_table(lengths, per_op):
    """Per-op times of the chain at each length: ``per_op[name][n] = (fwd, bwd)`` seconds."""
    names = list(per_op)
    head = "| ops | " + " | ".join(f"{n} fwd/op | {n} bwd/op" for n in names) + " |"
    out = [head, "|---:|" + "---:|---:|" * len(names)]
    for n in lengths:
        cells = []
        for name in names:
            if n in per_op[name]:
                f, b = per_op[name][n]
                cells += [fmt_value(f, "s"), fmt_value(b, "s")]
            else:  # the contender failed at a shorter length
                cells += ["—", "—"]
        out.append(f"| {n:,} | " + " | ".join(cells) + " |")
    return out


def check_lines(checks):
    """One line per check: what was compared and the verdict (with the problems, if any)."""
    out = []
    for c in checks:
        verdict = {"ok": "ok", "MISMATCH": "MISMATCH", "ERROR": "ERROR"}[c.status]
        line = f"- {c.workload} {c.contender}: {c.what}: {verdict}"
        if c.error:
            line += f" ({c.error})"
        out.append(line)
        out += [f"    - {p}" for p in c.problems]
    return out


def write(lines, stream=None):
    (stream or sys.stdout).write("\n".join(lines) + "\n")
