"""Run the code in the docs: every ```python block in README.md and docs/ (one folder deep) is a test.

We use Sybil (not pytest-markdown-docs) because a tutorial page is one
program told in pieces: Sybil runs a page's blocks in order in one shared
namespace, so chapter 2 can use the network chapter 2 built three blocks
earlier, and it lets us check what the docs *show*, not only that the code
runs. Three kinds of block are understood (see docs/contributing.md):

* a ```python block: executed;
* a ```python block whose first line starts with ``>>>``: a doctest, so each
  shown result is compared with the real one;
* a ```python block followed directly by a ```text title="Output" block: the
  block is executed with stdout captured, and what it printed must equal the
  Output block (doctest's ``...`` ellipsis allowed, trailing spaces ignored).

Any other fence that looks like Python (```py, ```pycon, ```python title=...)
fails, so no Python block in the docs can silently go unexecuted; an Output
block that follows no Python block fails too. The one exception is explicit:
```{ .python .not-run } is highlighted as Python and not run (code for another
library, such as PyTorch's side of a comparison); a brace fence with .python
and without .not-run fails.
"""
from __future__ import annotations

import contextlib
import doctest
import io
import re
from pathlib import Path

import numpy as np

try:
    from sybil import Region, Sybil
    from sybil.evaluators.doctest import DocTestEvaluator
    from sybil.evaluators.python import PythonEvaluator
    from sybil.parsers.abstract.doctest import DocTestStringParser
    from sybil.parsers.markdown.lexers import RawFencedCodeBlockLexer
except ImportError:  # the docs tooling is in the test extra; tests/test_docs.py reports its absence
    Sybil = None

OUTPUT_INFO = 'text title="Output"'
_PYTHONISH = re.compile(r"^(py|python|python3|pycon)\b|^\{.*\.(py|python|python3|pycon)\b")
_OPTIONS = doctest.ELLIPSIS


def _blocks(document):
    """All fenced code blocks of a Markdown document: (region, info string, source lexeme)."""
    lexer = RawFencedCodeBlockLexer(
        info_pattern=re.compile(r"(?P<info>[^\n]*)$\n", re.MULTILINE),
    )
    for region in lexer(document):
        yield region, region.lexemes["info"].strip(), region.lexemes["source"]


def _fail(message):
    def evaluate(example):
        return message

    return evaluate


def _run_and_compare(python):
    def evaluate(example):
        source, expected = example.parsed
        buf = io.StringIO()
        with contextlib.redirect_stdout(buf):
            result = python(_Shim(example, source))
        if result:
            return result
        got = "\n".join(line.rstrip() for line in buf.getvalue().splitlines()) + "\n"
        want = "\n".join(line.rstrip() for line in expected.splitlines()) + "\n"
        if doctest.OutputChecker().check_output(want, got, _OPTIONS):
            return None
        return f"printed output differs from the Output block.\nExpected:\n{want}Got:\n{got}"

    return evaluate


class _Shim:
    """The attributes PythonEvaluator reads, with ``parsed`` swapped for the code alone."""

    def __init__(self, example, source):
        self.parsed = source
        self.line = example.line
        self.path = example.path
        self.namespace = example.namespace


class MarkdownPython:
    """The Sybil parser for our docs (the three kinds of block in the module docstring)."""

    def __init__(self):
        self.python = PythonEvaluator()
        self.doctests = DocTestStringParser(DocTestEvaluator(_OPTIONS))

    def __call__(self, document):
        blocks = list(_blocks(document))
        used_as_output = set()
        for k, (region, info, source) in enumerate(blocks):
            if k in used_as_output:
                continue
            if info == OUTPUT_INFO:
                yield Region(region.start, region.end, None,
                             _fail("an Output block must directly follow a ```python block"))
                continue
            if info != "python":
                if info.startswith("{") and ".python" in info.split():
                    if ".not-run" not in info.split():
                        yield Region(region.start, region.end, None, _fail(
                            f"code fence {info!r} is not executed: mark a Python block that must not "
                            "run (PyTorch's side of a comparison) ```{ .python .not-run }"))
                    continue  # shown, explicitly not run
                if _PYTHONISH.match(info):
                    yield Region(region.start, region.end, None, _fail(
                        f"code fence {info!r} is not executed: write ```python (a doctest may "
                        "start with >>>), and show output in a following "
                        f"```{OUTPUT_INFO} block"))
                continue
            if source.startswith(">>>"):
                for doctest_region in self.doctests(source, document.path):
                    doctest_region.adjust(region, source)
                    yield doctest_region
                continue
            nxt = blocks[k + 1] if k + 1 < len(blocks) else None
            between = document.text[region.end:nxt[0].start] if nxt else ""
            if nxt and nxt[1] == OUTPUT_INFO and not between.strip():
                used_as_output.add(k + 1)
                yield Region(region.start, nxt[0].end, (source, str(nxt[2])),
                             _run_and_compare(self.python))
            else:
                yield Region(region.start, region.end, source, self.python)


def _setup(namespace):
    # Each page starts from the same state: numpy's legacy global seed (the
    # blog seeds it itself, but a page must not depend on the page before).
    np.random.seed(0)


if Sybil is not None:
    pytest_collect_file = Sybil(
        parsers=[MarkdownPython()],
        patterns=["docs/*.md", "docs/*/*.md"],
        filenames=["README.md"],
        setup=_setup,
    ).pytest()

DOCS_SYBIL = Sybil is not None
ROOT = Path(__file__).parent
