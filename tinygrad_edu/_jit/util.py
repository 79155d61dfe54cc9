"""Small helpers of the recorder: remaking views, naming calls and where they were made."""
from __future__ import annotations

import os
import sys

from numpy.lib.stride_tricks import as_strided

__all__ = ["_view_at", "_caller", "_fn_name"]


def _view_at(x, offset, shape, strides):
    """The view of ``x``'s memory at element ``offset`` with ``shape``/``strides``: how the
    replay remakes a view the eager code took without numpy telling the recorder."""
    if offset > 0:
        x = as_strided(x, (offset + 1,), (x.itemsize,))[offset:]
    elif offset < 0:
        x = as_strided(x, (1 - offset,), (-x.itemsize,))[-offset:]
    return as_strided(x, shape, strides)


_HERE = os.path.dirname(os.path.abspath(__file__))  # the jit package


def _caller():
    """'file:line' of the innermost frame outside the jit package (error messages)."""
    f = sys._getframe(2)
    while f is not None and f.f_code.co_filename.startswith(_HERE):
        f = f.f_back
    if f is None:
        return "?"
    return f"{os.path.relpath(f.f_code.co_filename)}:{f.f_lineno}"


def _fn_name(fn):
    return getattr(fn, "__qualname__", None) or getattr(fn, "__name__", None) or repr(fn)
