"""Exercises with checked solutions: the registry behind ``python -m tinygrad_edu.learn``.

Every module ``tinygrad_edu/learn/exercises/<slug>.py`` (names starting with
``_`` excepted) is one exercise, discovered automatically. It defines:

* ``SLUG`` (str): the file's stem, e.g. ``"value"``;
* ``ORDER`` (float): its place in the list. The build-your-own-engine path
  (``docs/learn/``) uses 1..99; the tutorial's chapters use 100 + chapter,
  e.g. 104.1 for chapter 4's first exercise;
* ``TITLE`` (str): one line;
* ``PAGE`` (str): the docs page that teaches it, relative to ``docs/``,
  e.g. ``"learn/value.md"``;
* ``SKELETON`` (str): the Python file the learner starts from, with ``TODO``
  comments and ``raise NotImplementedError``;
* ``SOLUTION`` (str): a complete worked solution file;
* ``check(ns)``: ``ns`` is the learner's module; raises ``AssertionError``
  with a message naming what is wrong (and how to fix it) on failure,
  returns None on success;
* optionally ``HINT`` (str): printed under a failure (default: read the page).

An exercise is named on the command line by its slug or by its number, its
1-based position in ORDER (``list`` shows both; ``-`` and ``_`` are alike in
slugs). The CLI is in :mod:`tinygrad_edu.learn.__main__`.

``tests/test_learn.py`` checks, for every discovered exercise: SOLUTION
passes ``check``; SKELETON runs, contains ``TODO`` and fails ``check`` (with
AssertionError or NotImplementedError); ``docs/<PAGE>`` exists and shows the
command ``python -m tinygrad_edu.learn check <slug>``; and a worked solution
shown on that page is the module's SOLUTION itself, not a copy that can
drift: every ``??? tip "Solution"`` block of a page (its title may go on,
``"Solution: ..."``) holds one ``python`` block whose text, dedented, equals
the SOLUTION of one of the page's exercises. Sybil runs that block with the
page's other blocks, in the page's namespace, so put it where redefining
its names does no harm (e.g. after the page's own code). The engine path
(ORDER < 100) must show every solution that way.

Python API: :func:`all_exercises` (all, in order), :func:`find` (by slug or
number), :func:`load_file` / :func:`load_source` (a learner's module),
:func:`run_check` (a :class:`Result`: passed, message, text to print).
"""
from __future__ import annotations

import importlib
import itertools
import sys
import traceback
import types
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Exercise", "Result", "all_exercises", "find", "load_file", "load_source", "run_check",
           "ExerciseNotFound"]

_EXERCISES_DIR = Path(__file__).parent / "exercises"
_REQUIRED = {"SLUG": str, "ORDER": (int, float), "TITLE": str, "PAGE": str, "SKELETON": str,
             "SOLUTION": str}
_counter = itertools.count()


class ExerciseNotFound(LookupError):
    """No exercise has this slug or number (the message says how to list them)."""


@dataclass(frozen=True)
class Exercise:
    """One discovered exercise module; ``number`` is its 1-based position in ORDER."""

    number: int
    slug: str
    order: float
    title: str
    page: str
    skeleton: str
    solution: str
    check: object
    hint: str
    module: types.ModuleType


@dataclass(frozen=True)
class Result:
    """What :func:`run_check` found: ``passed``, and the ``text`` to show the learner."""

    passed: bool
    text: str


def _validate(module, stem):
    """Raise TypeError naming the file and the attribute when an exercise module is malformed."""
    where = f"tinygrad_edu/learn/exercises/{stem}.py"
    for name, kind in _REQUIRED.items():
        if not isinstance(getattr(module, name, None), kind):
            raise TypeError(f"{where}: an exercise module must define {name} "
                            f"({kind.__name__ if isinstance(kind, type) else 'a number'})")
    if module.SLUG != stem:
        raise TypeError(f"{where}: SLUG is {module.SLUG!r}, it must be the file's stem {stem!r}")
    if not callable(getattr(module, "check", None)):
        raise TypeError(f"{where}: an exercise module must define check(ns)")


def all_exercises():
    """Every exercise in ``tinygrad_edu/learn/exercises/``, sorted by ORDER (a list of Exercise).

    Raises TypeError naming the file when a module lacks an attribute, and
    ValueError when two exercises share an ORDER.
    """
    modules = []
    for path in sorted(_EXERCISES_DIR.glob("*.py")):
        if path.stem.startswith("_"):
            continue
        module = importlib.import_module(f"{__name__}.exercises.{path.stem}")
        _validate(module, path.stem)
        modules.append(module)
    modules.sort(key=lambda m: m.ORDER)
    for a, b in zip(modules, modules[1:]):
        if a.ORDER == b.ORDER:
            raise ValueError(f"exercises {a.SLUG!r} and {b.SLUG!r} have the same ORDER {a.ORDER}")
    return [Exercise(k + 1, m.SLUG, float(m.ORDER), m.TITLE, m.PAGE, m.SKELETON, m.SOLUTION,
                     m.check, getattr(m, "HINT", ""), m)
            for k, m in enumerate(modules)]


def find(key):
    """The exercise named ``key``: its slug (``-`` and ``_`` alike) or its number (str or int).

    Raises ExerciseNotFound with a message that says how to list them.
    """
    found = all_exercises()
    text = str(key).strip()
    if text.isdigit():
        n = int(text)
        if 1 <= n <= len(found):
            return found[n - 1]
        raise ExerciseNotFound(f"there is no exercise number {n}: they are numbered 1 to "
                               f"{len(found)} (python -m tinygrad_edu.learn list)")
    slug = text.replace("-", "_")
    for ex in found:
        if ex.slug == slug:
            return ex
    raise ExerciseNotFound(f"unknown exercise {text!r}: python -m tinygrad_edu.learn list "
                           "shows their numbers and names")


def _new_module(filename):
    name = f"_tinygrad_edu_learner_{next(_counter)}"
    module = types.ModuleType(name)
    module.__file__ = str(filename)
    return module


def load_source(source, filename="<solution>"):
    """Execute ``source`` as a fresh module (registered in sys.modules under a private name).

    Exceptions from the code propagate unchanged.
    """
    module = _new_module(filename)
    sys.modules[module.__name__] = module  # dataclasses and pickling look modules up there
    try:
        exec(compile(source, str(filename), "exec"), module.__dict__)
    except BaseException:
        sys.modules.pop(module.__name__, None)
        raise
    return module


def load_file(path):
    """Execute the learner's file ``path`` as a fresh module; FileNotFoundError if absent.

    While it runs, its folder is first on ``sys.path`` (as for ``python path``), so
    it can import the learner's other files.
    """
    path = Path(path).resolve()
    source = path.read_text(encoding="utf-8")
    folder = str(path.parent)
    sys.path.insert(0, folder)
    try:
        return load_source(source, str(path))
    finally:
        sys.path.remove(folder)


def _learner_frames(tb, filename):
    return [f for f in traceback.extract_tb(tb) if f.filename == filename]


def _trimmed(err, filename):
    """The traceback of ``err`` cut down to the frames in the learner's own file."""
    frames = _learner_frames(err.__traceback__, filename)
    if not frames:  # raised outside their file (numpy, the check): show where it surfaced
        frames = traceback.extract_tb(err.__traceback__)[-1:]
    lines = ["Traceback (your code):\n"] + traceback.format_list(frames)
    lines += traceback.format_exception_only(type(err), err)
    return "".join(lines).rstrip()


def _footer(ex):
    hint = ex.hint or f"read docs/{ex.page} again"
    return (f"Hint: {hint}\n"
            f"Stuck? The worked solution: python -m tinygrad_edu.learn solution {ex.slug}")


def run_check(ex, path=None, *, source=None):
    """Run exercise ``ex``'s check on the learner's file ``path`` (or on ``source`` text).

    Returns a Result. ``passed`` is False when the file fails to import, when
    ``check`` raises AssertionError (its message is shown), or when the
    learner's code raises (the traceback is shown, trimmed to their file; a
    NotImplementedError is reported as a TODO not done yet). Raises
    FileNotFoundError when ``path`` does not exist.
    """
    filename = "<source>" if source is not None else str(Path(path).resolve())
    head = f"{ex.number}. {ex.slug}: {ex.title}"
    try:
        module = load_source(source, filename) if source is not None else load_file(path)
    except FileNotFoundError:
        raise
    except BaseException as err:  # noqa: BLE001 - anything their file raises is their failure
        if isinstance(err, KeyboardInterrupt):
            raise
        return Result(False, f"FAIL {head}\nYour file does not run:\n"
                             f"{_trimmed(err, filename)}\n{_footer(ex)}")
    try:
        try:
            ex.check(module)
        finally:
            sys.modules.pop(module.__name__, None)
    except NotImplementedError as err:
        frames = _learner_frames(err.__traceback__, filename)
        where = f" ({Path(frames[-1].filename).name}, line {frames[-1].lineno}, in " \
                f"{frames[-1].name})" if frames else ""
        return Result(False, f"FAIL {head}\nNot written yet: a TODO still raises "
                             f"NotImplementedError{where}.\n{_footer(ex)}")
    except AssertionError as err:
        frames = traceback.extract_tb(err.__traceback__)
        if frames and frames[-1].filename == filename:  # an assert of their own failed
            return Result(False, f"FAIL {head}\nYour code raised:\n"
                                 f"{_trimmed(err, filename)}\n{_footer(ex)}")
        message = str(err) or "the check failed (no message)"
        return Result(False, f"FAIL {head}\n{message}\n{_footer(ex)}")
    except Exception as err:  # noqa: BLE001 - an error in their code, shown to them
        return Result(False, f"FAIL {head}\nYour code raised:\n{_trimmed(err, filename)}\n"
                             f"{_footer(ex)}")
    return Result(True, f"PASS {head}")
