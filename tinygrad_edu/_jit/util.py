"""Small helpers of the recorder and the replay: remaking views, naming calls and where
they were made, a failed guard, scope arrays compared with their recorded values."""
from __future__ import annotations

import os
import sys

import numpy as np
from numpy.lib.stride_tricks import as_strided

__all__ = ["_view_at", "_caller", "_fn_name", "_GuardFailed", "_guard_failed", "unchanged"]


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


class _GuardFailed(Exception):
    """A replayed guard saw another value than the recording (``line`` of the program;
    ``clean``: nothing was written yet, so the call may rerun eagerly)."""

    def __init__(self, line, clean):
        super().__init__(line, clean)
        self.line, self.clean = line, clean


def _guard_failed(line, clean):
    raise _GuardFailed(line, clean)


def unchanged(arrays):
    """Does every ``(array, value when recorded)`` pair still hold that value?"""
    for a, v in arrays:
        if a.shape != v.shape or a.dtype != v.dtype or not np.array_equal(
                a, v, equal_nan=a.dtype.kind in "fc"):
            return False
    return True
