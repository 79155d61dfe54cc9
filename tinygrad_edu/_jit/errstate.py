"""The engine's ``np.errstate`` around some calls (the sigmoid's ``over="ignore"``,
erf's), set again by a replay around the same calls, cheaply.

Error handling never changes a computed value, only which warnings or
exceptions a call gives, so the replay must set it as the eager step did:
a replayed sigmoid must not warn where the eager one is silent, and a user's
``np.errstate(divide="raise")`` must still raise around the user's own calls.
``with np.errstate(...)`` costs ~0.9 us, several numpy calls' worth on a
small model; the setting numpy keeps in a context variable can be switched
for ~0.2 us when the combined setting (the replay's surroundings with the
recorded changes) is computed once per surrounding setting.
"""
from __future__ import annotations

import numpy as np

try:  # numpy >= 2.0 keeps the setting in a context variable
    from numpy._core._ufunc_config import _extobj_contextvar as _SETTING
except ImportError:  # pragma: no cover - another numpy: the public context manager
    _SETTING = None

__all__ = ["ErrState", "prelude_lines", "enter_lines", "exit_line", "HELPERS"]

#: What a program's lines below use (codegen adds them to its namespace).
HELPERS = {} if _SETTING is None else {"_get_err": _SETTING.get, "_set_err": _SETTING.set,
                                       "_reset_err": _SETTING.reset}


def prelude_lines(names):
    """Lines at the start of a program using the changes ``names`` (ErrState constants):
    the setting the call runs in (``_o``: nothing in a replay changes it), and each
    change on top of it (``_i<name>``), from the change's cached pair when it was made
    for the same setting (read once: another thread may replace the pair)."""
    if _SETTING is None or not names:  # pragma: no cover
        return []
    lines = ["_o = _get_err()"]
    for name in names:
        lines += [f"_p = {name}.pair", f"_i{name} = _p[1] if _p[0] is _o else {name}.inner(_o)"]
    return lines


def enter_lines(name):
    """Lines setting the change ``name`` into ``_e`` (undone by :func:`exit_line`)."""
    if _SETTING is None:  # pragma: no cover
        return [f"_e = {name}.enter()"]
    return [f"_e = _set_err(_i{name})"]


def exit_line(name):
    """The line undoing ``enter_lines(name)`` (in a ``finally:``)."""
    return f"{name}.exit(_e)" if _SETTING is None else "_reset_err(_e)"


class ErrState:
    """One recorded change of the error handling (``Op.err``)."""

    __slots__ = ("diff", "pair")

    def __init__(self, diff):
        self.diff = dict(diff)
        self.pair = (None, None)  # (a surrounding setting, it with the change): one object,
        # replaced whole, so two threads never see one's surroundings with the other's result

    def inner(self, outer):
        """The change on top of ``outer``, the setting in force now."""
        with np.errstate(**self.diff):
            self.pair = (outer, _SETTING.get())
        return self.pair[1]

    def enter(self):  # pragma: no cover - without numpy's setting variable
        token = np.errstate(**self.diff)
        token.__enter__()
        return token

    def exit(self, token):  # pragma: no cover
        token.__exit__(None, None, None)

    def __repr__(self):
        return "np.errstate(" + ", ".join(f"{k}={v!r}" for k, v in self.diff.items()) + ")"
