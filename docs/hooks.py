"""MkDocs hook: draw the figures with docs/figures.py at every build and serve them.

The files are written to a temporary folder outside ``docs/`` and added to
the site as generated files, so nothing is committed or left in the source
tree, a fresh clone builds, and ``mkdocs serve`` does not see its own output
as a change (which would rebuild forever). Within one ``mkdocs serve``
process the figures are redrawn only when a Python file they come from
(the library, the examples, docs/figures.py) has changed.
"""
from __future__ import annotations

import importlib.util
import tempfile
from pathlib import Path

from mkdocs.structure.files import File

ROOT = Path(__file__).resolve().parent.parent
_cache = {"key": None, "paths": None, "dir": None}


def _fingerprint():
    files = sorted([*ROOT.glob("tinygrad_edu/**/*.py"), *ROOT.glob("examples/*.py"),
                    ROOT / "docs" / "figures.py"])
    return tuple((str(p), p.stat().st_mtime_ns) for p in files if p.is_file())


def _load_figures():
    spec = importlib.util.spec_from_file_location("docs_figures", ROOT / "docs" / "figures.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def on_files(files, config):
    key = _fingerprint()
    if _cache["key"] != key:
        if _cache["dir"] is None:
            _cache["dir"] = tempfile.TemporaryDirectory(prefix="tinygrad_edu_figures_")
        _cache["paths"] = _load_figures().generate(Path(_cache["dir"].name) / "figures")
        _cache["key"] = key
    for path in _cache["paths"]:
        files.append(File.generated(config, f"figures/{path.name}", abs_src_path=str(path)))
    return files
