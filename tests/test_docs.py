"""The docs site: it builds strictly, draws its figures, and every code block in it is run.

The code blocks themselves run as tests collected from README.md and
docs/*.md by the root conftest.py (Sybil); these tests check the machinery:
that no block escapes collection, that a wrong output really fails, and that
``mkdocs build --strict`` passes.
"""
from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
PAGES = sorted(DOCS.glob("*.md")) + [ROOT / "README.md"]
FIGURE_REF = re.compile(r"\]\((?:\.\./)?figures/([\w.-]+)\)")


def _sybil_document(path):
    pytest.importorskip("sybil", reason="the docs' code blocks need sybil (in the test extra)")
    from sybil import Document

    import conftest

    return Document.parse(str(path), conftest.MarkdownPython())


def _python_fences(text):
    return len(re.findall(r"^[ \t]*```python[ \t]*$", text, re.MULTILINE))


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_every_python_block_of_every_page_is_collected(page):
    document = _sybil_document(page)
    text = page.read_text(encoding="utf-8")
    starts = {ex.region.start for ex in document.examples()}
    fences = [m.start() for m in re.finditer(r"^[ \t]*```python[ \t]*$", text, re.MULTILINE)]
    # Each ```python fence starts a region (a doctest block starts at its first >>>, inside it).
    for pos in fences:
        line = text.count("\n", 0, pos) + 1
        end = text.index("```", text.index("\n", pos))
        assert any(pos <= s < end for s in starts), f"{page.name}:{line}: a python block is not run"


def test_a_wrong_output_or_an_unrun_python_fence_fails(tmp_path):
    from sybil.example import SybilFailure

    page = tmp_path / "page.md"
    page.write_text(
        "```python\nprint(6 * 7)\n```\n\n```text title=\"Output\"\n42\n```\n\n"
        "```python\nprint(6 * 7)\n```\n\n```text title=\"Output\"\n41\n```\n\n"
        "```py\nx = 1\n```\n\n"
        "```python\n>>> 1 + 1\n3\n\n```\n",
        encoding="utf-8",
    )
    results = []
    for example in _sybil_document(page).examples():
        try:
            example.evaluate()
            results.append("ok")
        except SybilFailure as failure:
            results.append(str(failure))
    assert results[0] == "ok"
    assert "printed output differs" in results[1] and "41" in results[1]
    assert "is not executed" in results[2]
    assert "Expected:" in results[3] and "Got:" in results[3]
    assert len(results) == 4


def test_pytorch_fence_is_not_run_and_other_brace_python_fences_fail(tmp_path):
    from sybil.example import SybilFailure

    page = tmp_path / "page.md"
    page.write_text("```{.python .pytorch}\nimport torch\nraise SystemExit\n```\n\n"
                    "```{.python}\nx = 1\n```\n\n```{ .python .other }\nx = 1\n```\n",
                    encoding="utf-8")
    results = []
    for example in _sybil_document(page).examples():
        with pytest.raises(SybilFailure, match="is not executed"):
            example.evaluate()
        results.append(example)
    assert len(results) == 2  # the PyTorch block is shown, not run


def test_the_graph_fallback_renders_without_graphviz(tmp_path):
    pytest.importorskip("matplotlib")
    import importlib.util

    spec = importlib.util.spec_from_file_location("docs_figures", DOCS / "figures.py")
    figures = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(figures)
    import tinygrad_edu as tg
    from tinygrad_edu import viz

    x = tg.Tensor(3.0, requires_grad=True)
    y = x * x + x
    path = tmp_path / "g.svg"
    figures._draw_dot_with_matplotlib(viz.to_dot(y, params={"x": x}), path)
    svg = path.read_text()
    assert svg.lstrip().startswith("<?xml") and "<svg" in svg
    nodes, edges = figures._parse_dot(viz.to_dot(y, params={"x": x}))
    assert sorted(kind for _, kind in nodes.values()) == ["op", "op", "param", "tensor", "tensor"]
    assert len(edges) == 6  # x->mul twice, mul->t, t->add, x->add, add->y


def test_strict_docs_build_draws_every_figure(tmp_path):
    pytest.importorskip("mkdocs", reason="the docs build needs mkdocs (in the test extra)")
    site = tmp_path / "site"
    env = dict(os.environ, NO_MKDOCS_2_WARNING="1")
    proc = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(site)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=600,
    )
    assert proc.returncode == 0, f"mkdocs build --strict failed:\n{proc.stdout}\n{proc.stderr}"
    referenced = {name for page in PAGES for name in FIGURE_REF.findall(page.read_text(encoding="utf-8"))}
    drawn = {p.name for p in (site / "figures").iterdir()}
    assert referenced == drawn, f"figures drawn but not shown: {sorted(drawn - referenced)}"
    for name in sorted(referenced):
        data = (site / "figures" / name).read_bytes()
        if name.endswith(".png"):
            assert data[:8] == b"\x89PNG\r\n\x1a\n", name
        else:
            assert b"<svg" in data, name
    # the API reference was generated from the docstrings
    assert "run_backward" in (site / "api" / "index.html").read_text(encoding="utf-8")
    # and nothing was written into the source tree
    assert not (DOCS / "figures").exists()
