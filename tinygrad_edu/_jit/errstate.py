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

__all__ = ["ErrState", "enter_lines", "exit_line", "HELPERS"]

#: What a program's lines below use (codegen adds them to its namespace).
HELPERS = {} if _SETTING is None else {"_get_err": _SETTING.get, "_set_err": _SETTING.set,
                                       "_reset_err": _SETTING.reset}


def enter_lines(name):
    """Lines setting the change ``name`` (an ErrState constant) into ``_e``: its cached
    pair read once (another thread may replace it), the common case inline."""
    if _SETTING is None:  # pragma: no cover
        return [f"_e = {name}.enter()"]
    return [f"_p = {name}.pair", f"_e = _set_err(_p[1]) if _p[0] is _get_err() else {name}.enter()"]


def exit_line(name):
    """The line undoing ``enter_lines(name)`` (in a ``finally:``)."""
    return f"{name}.exit(_e)" if _SETTING is None else "_reset_err(_e)"


class ErrState:
    """One recorded change of the error handling (``Op.err``): ``enter()`` sets it on top
    of the current setting and returns a token for ``exit(token)``."""

    __slots__ = ("diff", "pair")

    def __init__(self, diff):
        self.diff = dict(diff)
        self.pair = (None, None)  # (a surrounding setting, it with the change): one object,
        # replaced whole, so two threads never see one's surroundings with the other's result

    def enter(self):
        if _SETTING is None:  # pragma: no cover - the public way
            token = np.errstate(**self.diff)
            token.__enter__()
            return token
        outer = _SETTING.get()
        pair = self.pair
        if pair[0] is not outer:
            with np.errstate(**self.diff):
                pair = self.pair = (outer, _SETTING.get())
        return _SETTING.set(pair[1])

    def exit(self, token):
        if _SETTING is None:  # pragma: no cover
            token.__exit__(None, None, None)
        else:
            _SETTING.reset(token)

    def __repr__(self):
        return "np.errstate(" + ", ".join(f"{k}={v!r}" for k, v in self.diff.items()) + ")"
