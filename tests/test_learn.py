"""The exercises (tinygrad_edu.learn): every solution passes, every skeleton fails, the CLI works.

For every exercise module discovered in tinygrad_edu/learn/exercises/:
SOLUTION passes its check, SKELETON runs but fails it, its docs page exists
and shows the command that checks it, and a worked solution shown on a page
in a ``??? tip "Solution"`` block is the module's SOLUTION itself (no copy
that can drift). Then the command line, end to end, in a temporary folder.
"""
from __future__ import annotations

import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tinygrad_edu import learn
from tinygrad_edu.learn.__main__ import main

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
EXERCISES = learn.all_exercises()
TIP = re.compile(r'^(?P<indent>[ \t]*)\?\?\?\+? tip "Solution[^"\n]*"[ \t]*\n', re.MULTILINE)


def _solution_blocks(text):
    """The code of each ```python block directly inside a ??? tip "Solution..." block."""
    blocks = []
    for m in TIP.finditer(text):
        rest = text[m.end():].lstrip("\n")
        fence = re.match(r"([ \t]+)```python[ \t]*\n", rest)
        if not fence:
            continue
        indent = fence.group(1)
        body = rest[fence.end():]
        end = body.index(f"{indent}```")
        blocks.append(textwrap.dedent(body[:end]))
    return blocks


def test_exercises_are_discovered_numbered_and_ordered():
    assert EXERCISES, "no exercise module found in tinygrad_edu/learn/exercises/"
    assert [ex.number for ex in EXERCISES] == list(range(1, len(EXERCISES) + 1))
    orders = [ex.order for ex in EXERCISES]
    assert orders == sorted(orders) and len(set(orders)) == len(orders)
    assert len({ex.slug for ex in EXERCISES}) == len(EXERCISES)
    for ex in EXERCISES:
        assert learn.find(ex.slug) is not None and learn.find(str(ex.number)).slug == ex.slug
        assert learn.find(ex.slug.replace("_", "-")).slug == ex.slug


@pytest.mark.parametrize("ex", EXERCISES, ids=lambda ex: ex.slug)
def test_the_solution_passes_and_the_skeleton_fails(ex):
    result = learn.run_check(ex, source=ex.solution)
    assert result.passed, result.text
    skeleton = learn.load_source(ex.skeleton)  # the skeleton itself runs...
    with pytest.raises((AssertionError, NotImplementedError)):  # ...and fails the check
        ex.check(skeleton)
    assert "TODO" in ex.skeleton
    assert not learn.run_check(ex, source=ex.skeleton).passed


@pytest.mark.parametrize("ex", EXERCISES, ids=lambda ex: ex.slug)
def test_the_page_shows_the_check_command_and_the_solution_itself(ex):
    page = DOCS / ex.page
    assert page.is_file(), f"{ex.slug}: PAGE {ex.page!r} is not a file under docs/"
    text = page.read_text(encoding="utf-8")
    assert f"python -m tinygrad_edu.learn check {ex.slug}" in text, (
        f"docs/{ex.page} must show the command that checks exercise {ex.slug}")
    same_page = {e.solution for e in EXERCISES if e.page == ex.page}
    shown = _solution_blocks(text)
    for code in shown:
        assert code in same_page, (
            f"docs/{ex.page}: a ??? tip \"Solution\" block differs from the SOLUTION of every "
            "exercise of this page (paste the module's SOLUTION, exactly)")
    if ex.order < 100:  # the build-your-own-engine path shows every worked solution
        assert ex.solution in shown, f"docs/{ex.page} must show {ex.slug}'s SOLUTION"


def test_a_malformed_exercise_module_is_named():
    import types

    bad = types.ModuleType("bad")
    bad.SLUG, bad.ORDER, bad.TITLE, bad.PAGE, bad.SKELETON = "other", 1, "t", "p.md", "s"
    with pytest.raises(TypeError, match=r"exercises/bad\.py: .*SOLUTION"):
        learn._validate(bad, "bad")
    bad.SOLUTION = "s"
    with pytest.raises(TypeError, match="SLUG is 'other'"):
        learn._validate(bad, "bad")


def _cli(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out + err


def test_the_cli_from_start_to_pass(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    ex = EXERCISES[0]
    code, out = _cli(capsys, "list")
    assert code == 0 and f"1. {ex.slug}" in out
    code, out = _cli(capsys, "start", "1")
    mine = tmp_path / "learn" / f"{ex.slug}.py"
    assert code == 0 and mine.read_text() == ex.skeleton and "check" in out
    mine.write_text("# my work\n")
    code, out = _cli(capsys, "start", ex.slug)  # never overwrites
    assert code == 2 and "not overwritten" in out and mine.read_text() == "# my work\n"
    mine.write_text(ex.skeleton)
    code, out = _cli(capsys, "check", ex.slug)
    assert code == 1 and out.startswith(f"FAIL 1. {ex.slug}") and "Hint:" in out
    assert f"solution {ex.slug}" in out
    code, out = _cli(capsys, "solution", "1")
    assert code == 0 and out == ex.solution
    mine.write_text(out)
    code, out = _cli(capsys, "check", "1")
    assert code == 0 and out.startswith(f"PASS 1. {ex.slug}")
    other = tmp_path / "elsewhere.py"
    other.write_text(ex.solution)
    assert _cli(capsys, "check", ex.slug, "--file", str(other))[0] == 0


def test_the_cli_errors(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    code, out = _cli(capsys, "check", "no_such_exercise")
    assert code == 2 and "unknown exercise 'no_such_exercise'" in out and " list" in out
    code, out = _cli(capsys, "start", str(len(EXERCISES) + 1))
    assert code == 2 and f"numbered 1 to {len(EXERCISES)}" in out
    code, out = _cli(capsys, "check", "1")  # no file yet
    assert code == 2 and "does not exist" in out and "start" in out
    code, out = _cli(capsys, "frobnicate")
    assert code == 2


def test_a_check_shows_the_learners_own_traceback(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    ex = EXERCISES[0]
    mine = tmp_path / "mine.py"
    broken = ex.solution + "\nValue.__init__ = lambda self, *a, **k: 1 / 0  # line of my own\n"
    mine.write_text(broken)
    code, out = _cli(capsys, "check", ex.slug, "--file", str(mine))
    assert code == 1 and "ZeroDivisionError" in out and "line of my own" in out
    assert "tinygrad_edu" not in out.split("Hint:")[0].replace("tinygrad_edu.learn", "")
    mine.write_text("def broken(:\n")
    code, out = _cli(capsys, "check", ex.slug, "--file", str(mine))
    assert code == 1 and "does not run" in out and "SyntaxError" in out


def test_python_dash_m_runs_the_cli(tmp_path):
    run = subprocess.run([sys.executable, "-m", "tinygrad_edu.learn", "check", "nope"],
                         cwd=tmp_path, capture_output=True, text=True,
                         env={"PYTHONPATH": str(ROOT), "PATH": ""})
    assert run.returncode == 2 and "unknown exercise" in run.stderr


def test_the_engine_path_index_is_true():
    """docs/learn/index.md: one linked page per exercise, and "about a hundred lines"."""
    path = [ex for ex in EXERCISES if ex.order < 100]
    text = (DOCS / "learn" / "index.md").read_text(encoding="utf-8")
    linked = re.findall(r"^\d+\. \[.*\]\(([\w.-]+\.md)\)$", text, re.MULTILINE)
    assert linked == [Path(ex.page).name for ex in path]
    assert "Nine short pages" in text and len(path) == 9
    final = [line for line in path[-1].solution.splitlines() if line.strip()]
    assert 90 <= len(final) <= 110, f"the finished engine has {len(final)} non-blank lines"
    assert "about a hundred lines" in text


def test_a_learners_file_may_import_its_neighbours(tmp_path, monkeypatch, capsys):
    ex = EXERCISES[0]
    (tmp_path / "my_engine.py").write_text(ex.solution)
    mine = tmp_path / "mine.py"
    mine.write_text("from my_engine import Value, as_value\n")
    monkeypatch.chdir(tmp_path.parent)
    code, out = _cli(capsys, "check", ex.slug, "--file", str(mine))
    assert code == 0, out
    assert str(tmp_path) not in sys.path


def test_accumulate_catches_adding_in_place_into_a_shared_gradient():
    # `+` hands one gradient array to both parents: `grads[p] += g` then writes
    # through to other values' gradients (found by a learner trying the path).
    from tinygrad_edu.learn import find, run_check

    ex = find("accumulate")
    line = "            grads[p] = grads[p] + g if p in grads else g"
    assert line in ex.solution
    aliased = ex.solution.replace(line, "            if p in grads:\n                grads[p] += g\n"
                                        "            else:\n                grads[p] = g")
    result = run_check(ex, source=aliased)
    assert not result.passed and "in place" in result.text
