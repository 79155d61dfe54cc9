"""MkDocs hook: the figures (docs/figures.py) and the notebooks (docs/notebooks.py).

Both are written to a temporary folder outside ``docs/`` and added to the
site as generated files, so nothing is committed or left in the source tree,
a fresh clone builds, and ``mkdocs serve`` does not see its own output as a
change (which would rebuild forever). Within one ``mkdocs serve`` process the
figures are redrawn only when a Python file they come from (the library, the
examples, docs/figures.py) has changed; the notebooks, cheap to make, are
remade from the pages at every build.

Each page that has a notebook gets, under its title, a link to it and a note
that its code blocks form one program (inserted here, not in the page's
source, so the notebook and the page cannot drift apart).
"""
from __future__ import annotations

import importlib.util
import posixpath
import re
import tempfile
from pathlib import Path

from mkdocs.structure.files import File

ROOT = Path(__file__).resolve().parent.parent
_cache = {"key": None, "paths": None, "dir": None, "notebooks": {}}
_H1 = re.compile(r"^# .*$", re.MULTILINE)


def _fingerprint():
    files = sorted([*ROOT.glob("tinygrad_edu/**/*.py"), *ROOT.glob("examples/*.py"),
                    ROOT / "docs" / "figures.py"])
    return tuple((str(p), p.stat().st_mtime_ns) for p in files if p.is_file())


def _load(name):
    spec = importlib.util.spec_from_file_location(f"docs_{name}", ROOT / "docs" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _tmp():
    if _cache["dir"] is None:
        _cache["dir"] = tempfile.TemporaryDirectory(prefix="tinygrad_edu_site_")
    return Path(_cache["dir"].name)


def on_files(files, config):
    key = _fingerprint()
    if _cache["key"] != key:
        _cache["paths"] = _load("figures").generate(_tmp() / "figures")
        _cache["key"] = key
    for path in _cache["paths"]:
        files.append(File.generated(config, f"figures/{path.name}", abs_src_path=str(path)))
    notebooks = _load("notebooks")
    _cache["notebooks"] = {}
    for page, path in notebooks.write_notebooks(_tmp(), docs_dir=config["docs_dir"]).items():
        dest = notebooks.notebook_path(page)
        files.append(File.generated(config, dest, abs_src_path=str(path)))
        _cache["notebooks"][page] = dest
    return files


def on_page_markdown(markdown, page, config, files):
    dest = _cache["notebooks"].get(page.file.src_uri)
    if dest is None:
        return markdown
    link = posixpath.relpath(dest, posixpath.dirname(page.file.src_uri) or ".")
    note = (f"[Download this page as a Jupyter notebook]({link}){{: download=\"{posixpath.basename(dest)}\" }}. "
            "The code blocks of this page form one program: run them in order, top to bottom "
            "(each one uses what the blocks before it defined); the notebook's cells are the same "
            "blocks, in the same order.\n{: .notebook-note }\n")
    m = _H1.search(markdown)
    at = m.end() + 1 if m else 0
    return markdown[:at] + "\n" + note + "\n" + markdown[at:]
