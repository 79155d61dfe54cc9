"""Jupyter notebooks made from the docs pages themselves: one source, no second copy.

A page's ```python blocks are one program, run in order (the test suite runs
them so, see conftest.py); its notebook has the same blocks as code cells in
the same order and the prose between them as markdown cells. The docs build
writes the notebooks (docs/hooks.py) and serves them under ``notebooks/``;
tests/test_notebooks.py executes them. By hand:

    python docs/notebooks.py OUTDIR [PAGE.md ...]     (default: every page with code)

How a page becomes cells:

* a ```python block: a code cell; a doctest block (``>>>``) becomes the code
  of its examples, cut into one cell per result it shows, so the notebook
  displays each result where the page shows it;
* a ```text title="Output" block right after a code block: dropped, as
  running the cell prints it;
* prose, including other fences (bash, text): markdown cells. Admonitions
  (``!!! note "Title"``, ``??? success "Solution"``) become a bold title over
  their dedented body, since Jupyter's markdown has no admonitions, and
  would show their indented body as code.

The first cell seeds numpy's legacy global generator as the docs' test
runner does before every page, so a notebook computes what its page shows.
"""
from __future__ import annotations

import doctest
import hashlib
import json
import re
import sys
from pathlib import Path

DOCS = Path(__file__).resolve().parent
#: pages with code that are no tutorial: their blocks illustrate the conventions.
NOT_NOTEBOOKS = {"contributing.md"}
KERNEL = {"name": "python3", "display_name": "Python 3", "language": "python"}

_FENCE = re.compile(r"^(?P<indent>[ \t]*)(?P<ticks>`{3,})(?P<info>[^\n`]*)\n(?P<body>.*?)^(?P=indent)(?P=ticks)[ \t]*$\n?",
                    re.MULTILINE | re.DOTALL)
_ADMONITION = re.compile(r'^(?P<indent>[ \t]*)(?:!!!|\?\?\?\+?)[ \t]+(?P<kind>[\w-]+)(?:[^"\n]*"(?P<title>[^"]*)")?[ \t]*$')
_OUTPUT_INFO = 'text title="Output"'


def notebook_pages(docs_dir=DOCS):
    """The pages (paths relative to ``docs_dir``, posix) that get a notebook: every page with a
    ```python block, except :data:`NOT_NOTEBOOKS`."""
    docs_dir = Path(docs_dir)
    pages = []
    for path in sorted(docs_dir.rglob("*.md")):
        rel = path.relative_to(docs_dir).as_posix()
        if rel in NOT_NOTEBOOKS:
            continue
        if any(m["info"].strip() == "python" for m in _FENCE.finditer(_flatten(path.read_text(encoding="utf-8")))):
            pages.append(rel)
    return pages


def notebook_path(page):
    """Where the notebook of ``page`` is served, relative to the site root: notebooks/<page>.ipynb."""
    return "notebooks/" + page[:-3] + ".ipynb"


def _flatten(text):
    """Admonitions to a bold title over their body dedented to the admonition's own level."""
    lines = text.splitlines(keepends=True)
    out = []
    i = 0
    while i < len(lines):
        m = _ADMONITION.match(lines[i].rstrip("\n"))
        if not m:
            out.append(lines[i])
            i += 1
            continue
        indent, body_indent = m["indent"], m["indent"] + "    "
        title = m["title"] if m["title"] is not None else m["kind"].capitalize()
        out.append(f"{indent}**{title}**\n" if title else "\n")
        j = i + 1
        while j < len(lines) and (not lines[j].strip() or lines[j].startswith(body_indent)):
            j += 1
        while j > i + 1 and not lines[j - 1].strip():  # blank lines after the body stay outside
            j -= 1
        # dedent the body in place and go on scanning it (it may hold admonitions too)
        lines[i + 1:j] = [indent + ln[len(body_indent):] if ln.strip() else ln for ln in lines[i + 1:j]]
        i += 1
    return "".join(out)


def _doctest_cells(body):
    """A doctest block's code, cut after each example that shows a result, so that the
    notebook displays that result (Jupyter shows a cell's last expression only). An
    example that shows an exception is a cell of its own, tagged ``raises-exception``
    (the tag Jupyter and nbclient know), so running the notebook goes on after it."""
    cells, current = [], ""
    for ex in doctest.DocTestParser().get_examples(body):
        if ex.exc_msg is not None:
            if current.strip():
                cells.append(("code", current.rstrip("\n"), ()))
            cells.append(("code", ex.source.rstrip("\n"), ("raises-exception",)))
            current = ""
            continue
        current += ex.source
        if ex.want.strip():
            cells.append(("code", current.rstrip("\n"), ()))
            current = ""
    if current.strip():
        cells.append(("code", current.rstrip("\n"), ()))
    return cells


def cells_of(text):
    """The cells of a page's Markdown ``text``: a list of ("code" | "markdown", source, tags)."""
    text = _flatten(text)
    cells = []
    pos = 0
    after_code = False
    for m in _FENCE.finditer(text):
        prose = text[pos:m.start()]
        info = m["info"].strip()
        if info == _OUTPUT_INFO and after_code and not prose.strip():
            pos = m.end()  # the output the code cell prints when run
            after_code = False
            continue
        if info != "python":
            after_code = False
            continue  # other fences stay in the prose
        if prose.strip():
            cells.append(("markdown", prose.strip("\n"), ()))
        indent = m["indent"]
        body = "".join(line[len(indent):] if line.startswith(indent) else line
                       for line in m["body"].splitlines(keepends=True))
        if body.lstrip().startswith(">>>"):
            cells += _doctest_cells(body)
        else:
            cells.append(("code", body.rstrip("\n"), ()))
        pos = m.end()
        after_code = True
    if text[pos:].strip():
        cells.append(("markdown", text[pos:].strip("\n"), ()))
    return cells


def _cell(kind, source, tags, key):
    cell = {"cell_type": kind, "id": hashlib.sha1(key.encode()).hexdigest()[:12],
            "metadata": {"tags": list(tags)} if tags else {}, "source": source.splitlines(keepends=True)}
    if kind == "code":
        cell.update(execution_count=None, outputs=[])
    return cell


def notebook(text, page):
    """The notebook (an nbformat 4.5 dict) of the page ``page`` whose Markdown is ``text``."""
    seed = ("# As the docs' test runner does before every page (conftest.py): the page's\n"
            "# random numbers start from numpy's legacy global seed 0.\n"
            "import numpy as np\n\nnp.random.seed(0)")
    intro = (f"*Made from the docs page `{page}`: its code blocks are one program, run in order, "
             "top to bottom; each code cell below is one of them. Run it from a checkout's root "
             "or with `tinygrad_edu` installed.*")
    cells = [("markdown", intro, ()), ("code", seed, ()), *cells_of(text)]
    return {
        "cells": [_cell(kind, src, tags, f"{page}:{k}") for k, (kind, src, tags) in enumerate(cells)],
        "metadata": {"kernelspec": KERNEL,
                     "language_info": {"name": "python", "pygments_lexer": "ipython3"}},
        "nbformat": 4,
        "nbformat_minor": 5,
    }


def write_notebooks(outdir, pages=None, docs_dir=DOCS):
    """Write the notebook of each page (default: :func:`notebook_pages`) to
    ``outdir/notebooks/<page>.ipynb``; returns {page: path}."""
    docs_dir, outdir = Path(docs_dir), Path(outdir)
    written = {}
    for page in pages if pages is not None else notebook_pages(docs_dir):
        path = outdir / notebook_path(page)
        path.parent.mkdir(parents=True, exist_ok=True)
        nb = notebook((docs_dir / page).read_text(encoding="utf-8"), page)
        path.write_text(json.dumps(nb, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
        written[page] = path
    return written


if __name__ == "__main__":
    args = sys.argv[1:]
    for p in write_notebooks(args[0] if args else "build", args[1:] or None).values():
        print(p)
