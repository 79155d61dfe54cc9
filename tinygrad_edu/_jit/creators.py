"""numpy's array creators, swapped while a call records: the engine's buffers become slots
the replay makes afresh with the same call."""
from __future__ import annotations

import sys
import threading

import numpy as np

from .._mode import mode

__all__ = ["_patch_creators"]


_ORIGINAL = {name: getattr(np, name) for name in ("empty", "zeros", "ones", "full")}


def _creator(orig):
    def create(*args, **kwargs):
        rec = mode.tracing
        # Only the engine's own calls: compiled code (numpy's random generators) calls
        # np.empty too and fills the buffer where no recording sees it.
        if rec is None or rec.inside or kwargs.get("like") is not None or not \
                sys._getframe(1).f_globals.get("__name__", "").startswith("tinygrad_edu."):
            return orig(*args, **kwargs)
        return rec.create(orig, args, kwargs)

    create.__name__ = orig.__name__
    return create


_CREATORS = {name: _creator(orig) for name, orig in _ORIGINAL.items()}
_PATCH_LOCK = threading.Lock()
_patched = [0]  # recordings in progress, all threads


def _patch_creators(on):
    """numpy's creators are swapped while any thread records (``_creator`` leaves other
    threads' calls plain): counted, so one thread's recording ending does not unpatch them
    under another's (its engine buffers would then be plain, and its recordings differ)."""
    with _PATCH_LOCK:
        _patched[0] += 1 if on else -1
        if _patched[0] == (1 if on else 0):
            for name, fn in (_CREATORS if on else _ORIGINAL).items():
                setattr(np, name, fn)
