"""The notebooks made from the docs pages (docs/notebooks.py): how a page becomes cells, and
that every notebook runs top to bottom in a Jupyter kernel.

The kernel is the current interpreter's (ipykernel's "python3"), started in
the repository's root so that ``import tinygrad_edu`` finds this checkout, as
the docs' own test runner does. All chapters run here: each takes one to
three seconds, most of it the kernel's start (about 17 s for the set on one
core).
"""
from __future__ import annotations

import importlib.util
import json
import re
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
CELL_TIMEOUT = 300  # seconds; the slowest cell (digits' training) takes about one


def _load():
    spec = importlib.util.spec_from_file_location("docs_notebooks", DOCS / "notebooks.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


nbs = _load()
PAGES = nbs.notebook_pages()

PAGE = '''# A title

Some prose with `code`.

```python
x = 6 * 7
print(x)
```

```text title="Output"
42
```

```bash
echo not python
```

```python
>>> y = x + 1
>>> y
43
>>> int("no")
Traceback (most recent call last):
ValueError: invalid literal for int() with base 10: 'no'
>>> z = y * 2

```

??? success "Solution"

    The answer:

    ```python
    assert z == 86
    ```

!!! note
    Closing words.
'''


def test_a_page_becomes_cells_in_order():
    cells = nbs.cells_of(PAGE)
    kinds = [(k, t) for k, _, t in cells]
    assert kinds == [("markdown", ()), ("code", ()), ("markdown", ()), ("code", ()),
                     ("code", ("raises-exception",)), ("code", ()), ("markdown", ()), ("code", ()),
                     ("markdown", ())]
    src = [s for _, s, _ in cells]
    assert src[0] == "# A title\n\nSome prose with `code`."
    assert src[1] == "x = 6 * 7\nprint(x)"          # its Output block is dropped
    assert "```bash\necho not python\n```" in src[2] and "42" not in src[2]
    assert src[3] == "y = x + 1\ny"                  # cut after a shown result
    assert src[4] == 'int("no")'                     # the exception, alone and tagged
    assert src[5] == "z = y * 2"
    assert src[6] == "**Solution**\n\nThe answer:"   # admonition: bold title, body dedented
    assert src[7] == "assert z == 86"
    assert src[8] == "**Note**\nClosing words."


def test_the_notebook_is_valid_nbformat_with_the_page_seed_first():
    nbformat = pytest.importorskip("nbformat")
    nb = nbs.notebook(PAGE, "page.md")
    nbformat.validate(nbformat.reads(json.dumps(nb), as_version=4))
    assert "".join(nb["cells"][1]["source"]).endswith("np.random.seed(0)")
    assert nb["cells"][6]["metadata"] == {"tags": ["raises-exception"]}
    ids = [c["id"] for c in nb["cells"]]
    assert len(set(ids)) == len(ids)


def _nav_pages(items, under=()):
    for item in items:
        if isinstance(item, str):
            yield under, item
            continue
        for title, value in item.items():
            if isinstance(value, list):
                yield from _nav_pages(value, (*under, title))
            else:
                yield (*under, title), value


def test_every_tutorial_chapter_has_a_notebook_and_every_python_block_is_a_cell():
    yaml = pytest.importorskip("yaml")

    class Loader(yaml.SafeLoader):
        pass

    Loader.add_multi_constructor("", lambda loader, tag, node: None)  # mkdocs' !ENV and friends
    nav = yaml.load((ROOT / "mkdocs.yml").read_text(encoding="utf-8"), Loader=Loader)["nav"]
    tutorial = [page for where, page in _nav_pages(nav)
                if any(re.search(r"tutorial|learn", w, re.I) for w in where)]
    assert tutorial, "no Tutorial section in mkdocs.yml's nav"
    with_code = [page for page in tutorial
                 if re.search(r"^[ \t]*```python[ \t]*$", (DOCS / page).read_text(encoding="utf-8"),
                              re.MULTILINE)]
    assert len(with_code) >= len(tutorial) - 2, "most tutorial pages have code"
    assert set(with_code) <= set(PAGES), sorted(set(with_code) - set(PAGES))
    for page in PAGES:
        text = (DOCS / page).read_text(encoding="utf-8")
        code = "\n".join(s for kind, s, _ in nbs.cells_of(text) if kind == "code")
        n = len(re.findall(r"^[ \t]*```python[ \t]*$", text, re.MULTILINE))
        assert n > 0, page
        for m in re.finditer(r"^([ \t]*)```python[ \t]*\n(.*?)^\1```", text, re.MULTILINE | re.DOTALL):
            first = m[2].strip().splitlines()[0].strip().removeprefix(">>> ")
            assert first in code, f"{page}: a python block is missing from the notebook: {first!r}"


@pytest.mark.parametrize("page", PAGES)
def test_the_notebook_runs_top_to_bottom(page, tmp_path):
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    pytest.importorskip("ipykernel")
    path = nbs.write_notebooks(tmp_path, [page])[page]
    nb = nbformat.read(path, as_version=4)
    # the kernel must be this interpreter (this venv), not another python3 on the machine
    nb.cells.append(nbformat.v4.new_code_cell("import sys; print(sys.prefix)"))
    client = nbclient.NotebookClient(nb, timeout=CELL_TIMEOUT, kernel_name="python3",
                                     resources={"metadata": {"path": str(ROOT)}})
    client.execute()
    assert nb.cells[-1].outputs[0]["text"].strip() == sys.prefix
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        errors = [o for o in cell.outputs if o["output_type"] == "error"]
        if "raises-exception" in cell.metadata.get("tags", []):
            assert errors, f"{page}: this cell shows an exception on the page, but ran without one:\n{cell.source}"
        else:
            assert not errors, cell.source
