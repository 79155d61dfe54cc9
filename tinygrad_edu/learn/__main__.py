"""The exercises' command line: ``python -m tinygrad_edu.learn <command>``.

Commands (an exercise is named by its slug or its number, as ``list`` shows)::

    list                          the exercises, in order, with their numbers and pages
    start EX [--dir D]            write EX's skeleton to D/<slug>.py (D defaults to ./learn);
                                  an existing file is never overwritten
    check EX [--file F]           run EX's check on your file (default ./learn/<slug>.py)
    solution EX                   print EX's worked solution

``check`` prints ``PASS <n>. <slug>: <title>``, or ``FAIL ...`` followed by
what is wrong: the check's message, or the error your code raised with its
traceback trimmed to your own file (a ``TODO`` that still raises
NotImplementedError is reported as not written yet), then a hint and the
command that shows the solution.

Exit status:

* 0: done (``check``: the exercise passes; ``start``: the file was written);
* 1: ``check`` ran and the exercise fails (a check, an error in your code, or
  a file that does not run);
* 2: nothing was done: an unknown exercise, a missing file for ``check``,
  ``start`` refusing to overwrite an existing file, or bad arguments.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from . import ExerciseNotFound, all_exercises, find, run_check

PROG = "python -m tinygrad_edu.learn"


def _list(args):
    found = all_exercises()
    width = max((len(ex.slug) for ex in found), default=4)
    for ex in found:
        started = " (started)" if (Path(args.dir) / f"{ex.slug}.py").exists() else ""
        print(f"{ex.number:3}. {ex.slug:{width}}  {ex.title}  [docs/{ex.page}]{started}")
    print(f"\nStart one: {PROG} start <number or name>")
    return 0


def _start(args):
    ex = find(args.exercise)
    path = Path(args.dir) / f"{ex.slug}.py"
    if path.exists():
        print(f"{path} already exists: not overwritten. Check it with "
              f"`{PROG} check {ex.slug}`, or delete it to start again.", file=sys.stderr)
        return 2
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(ex.skeleton, encoding="utf-8")
    check = f"{PROG} check {ex.slug}" + (f" --file {path}" if args.dir != "learn" else "")
    print(f"Wrote {path} ({ex.number}. {ex.title}; the page: docs/{ex.page}).\n"
          f"Fill in its TODOs, then run: {check}")
    return 0


def _check(args):
    ex = find(args.exercise)
    path = Path(args.file) if args.file else Path("learn") / f"{ex.slug}.py"
    if not path.exists():
        print(f"{path} does not exist: write it with `{PROG} start {ex.slug}` "
              "(or name your file with --file)", file=sys.stderr)
        return 2
    result = run_check(ex, path)
    print(result.text)
    if result.passed:
        later = [e for e in all_exercises() if e.order > ex.order]
        if later:
            print(f"Next: {PROG} start {later[0].slug}   ({later[0].title})")
    return 0 if result.passed else 1


def _solution(args):
    print(find(args.exercise).solution, end="")
    return 0


def main(argv=None):
    """Run the command line; returns the exit status (see the module docstring)."""
    parser = argparse.ArgumentParser(prog=PROG, description="Exercises with checked solutions.")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("list", help="the exercises, in order")
    p.add_argument("--dir", default="learn", help="where `start` writes files (default: learn)")
    p.set_defaults(run=_list)
    p = sub.add_parser("start", help="write an exercise's skeleton to DIR/<slug>.py")
    p.add_argument("exercise", help="its number or name")
    p.add_argument("--dir", default="learn", help="the folder (default: learn)")
    p.set_defaults(run=_start)
    p = sub.add_parser("check", help="check your solution")
    p.add_argument("exercise", help="its number or name")
    p.add_argument("--file", help="your file (default: learn/<slug>.py)")
    p.set_defaults(run=_check)
    p = sub.add_parser("solution", help="print the worked solution")
    p.add_argument("exercise", help="its number or name")
    p.set_defaults(run=_solution)
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_:  # argparse exits 2 on bad arguments, 0 on --help
        return int(exit_.code or 0)
    try:
        return args.run(args)
    except ExerciseNotFound as err:
        print(f"error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
