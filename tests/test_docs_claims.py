"""Claims the docs and docstrings make about the code, checked against the code."""
from __future__ import annotations

import importlib
import pkgutil
import re

import tinygrad_edu

_ROLE = re.compile(r":(?:func|class):`~?([\w.]+)`")


def _modules():
    for info in pkgutil.walk_packages(tinygrad_edu.__path__, "tinygrad_edu."):
        if info.name.split(".")[-1] in ("__main__",):
            continue
        yield importlib.import_module(info.name)


def _resolves(module, name):
    obj = module
    for part in name.split("."):
        if not hasattr(obj, part):
            break
        obj = getattr(obj, part)
    else:
        return True
    try:  # a dotted path from the package root
        importlib.import_module(name.rsplit(".", 1)[0])
        return True
    except ImportError:
        return False


def test_module_docstrings_name_only_existing_functions():
    missing = []
    for module in [tinygrad_edu, *_modules()]:
        for name in _ROLE.findall(module.__doc__ or ""):
            if not _resolves(module, name):
                missing.append(f"{module.__name__}: {name}")
    assert not missing, f"module docstrings name what does not exist: {missing}"


def test_blog_docstring_names_its_functions():
    from tinygrad_edu import blog

    named = set(_ROLE.findall(blog.__doc__))
    public = {n for n, f in vars(blog).items() if callable(f) and not n.startswith("_")
              and getattr(f, "__module__", None) == blog.__name__}
    assert public <= named | {"nonlin"}, public - named


def test_digits_example_default_run_reaches_about_98_percent(tmp_path):
    """docs/digits.md and the README: the default run of examples/digits.py gets about 98%."""
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parent.parent / "examples" / "digits.py"
    spec = importlib.util.spec_from_file_location("digits_example_default", path)
    digits = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(digits)
    args = digits.parse_args(["--out", str(tmp_path), "--no-progress"])
    result = digits.train(args, log=lambda line: None)
    assert 0.975 <= result["test_accuracy"] < 0.985, result["test_accuracy"]


def test_only_an_explicit_not_run_python_fence_is_skipped(tmp_path):
    import pytest

    pytest.importorskip("sybil", reason="the docs' code blocks need sybil (in the test extra)")
    from sybil import Document
    from sybil.example import SybilFailure

    import conftest

    page = tmp_path / "page.md"
    page.write_text("```{ .python .not-run }\nimport torch\n```\n\n```{ .python }\nx = 1\n```\n",
                    encoding="utf-8")
    results = []
    for example in Document.parse(str(page), conftest.MarkdownPython()).examples():
        try:
            example.evaluate()
            results.append("ok")
        except SybilFailure as failure:
            results.append(str(failure))
    assert len(results) == 1 and "not executed" in results[0] and ".not-run" in results[0]


def test_every_chapter_exercise_shows_its_worked_solution_on_its_page():
    """The tutorial chapters' exercises (ORDER >= 100) show the module's SOLUTION, folded."""
    import textwrap
    from pathlib import Path

    from tinygrad_edu import learn

    docs = Path(__file__).resolve().parent.parent / "docs"
    chapters = [ex for ex in learn.all_exercises() if ex.order >= 100]
    assert chapters
    for ex in chapters:
        text = (docs / ex.page).read_text(encoding="utf-8")
        shown = '??? tip "Solution"\n\n    ```python\n' + textwrap.indent(
            ex.solution, "    ", lambda line: line.strip() != "") + "    ```\n"
        assert shown in text, f"docs/{ex.page} does not show {ex.slug}'s SOLUTION in a ??? tip block"
