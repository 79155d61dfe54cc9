"""The optimizers' hyperparameters a step reads itself, found while it records.

``opt.step()`` reads ``lr``, ``momentum``... from ``param_groups`` at replay
(a macro, or SGD written out reading them live), so they are not part of a
program's key: a scheduler changes ``lr`` without a new recording. A step
that reads one itself (``loss + group["lr"] * penalty``, ``return loss,
opt.param_groups[0]["lr"]``) freezes the value it read into the program, as
any Python number it uses. While a call records, each group dict is swapped
for a :class:`_Logged` copy that notes the values read by the step (not by
``opt.step()``, which runs with recording off); those entries are then keyed
like the other numbers the step can see (capture.scalar_sources), so another
value records again.
"""
from __future__ import annotations

from .._mode import mode

__all__ = ["log_group_reads"]


class _Logged(dict):
    """A param group while a call records: notes the keys whose values the step read."""

    __slots__ = ("reads",)

    def _note(self, key, value):
        # (the parameter list is keyed by identity elsewhere)
        if mode.tracing is not None and key != "params":
            self.reads.add(key)
        return value

    def __getitem__(self, key):
        return self._note(key, dict.__getitem__(self, key))

    def get(self, key, default=None):
        return self._note(key, dict.get(self, key, default))

    def setdefault(self, key, default=None):
        return self._note(key, dict.setdefault(self, key, default))

    def pop(self, key, *default):
        return self._note(key, dict.pop(self, key, *default))

    def items(self):
        for key in self:
            self._note(key, None)
        return dict.items(self)

    def values(self):
        return [value for _, value in self.items()]

    def copy(self):
        return dict(self.items())

    def __iter__(self):
        # (defined here, so that dict(group) and {**group} read through __getitem__ too
        # instead of copying the entries in C)
        return dict.__iter__(self)


class log_group_reads:
    """``with log_group_reads(optimizers) as reads:`` the param groups of ``optimizers``
    are :class:`_Logged` copies; on exit the originals get any writes back and return,
    and ``reads`` holds ``(group, key)`` for each value the step read."""

    def __init__(self, optimizers):
        self.optimizers = optimizers
        self.swapped = []
        self.reads = []

    def __enter__(self):
        for opt in self.optimizers:
            groups = opt.param_groups
            for k, group in enumerate(groups):
                if type(group) is dict:
                    logged = _Logged(group)
                    logged.reads = set()
                    groups[k] = logged
                    self.swapped.append((groups, k, group, logged))
        return self.reads

    def __exit__(self, *exc):
        for groups, k, group, logged in self.swapped:
            if dict.keys(group) != dict.keys(logged) or any(
                    dict.__getitem__(group, key) is not dict.__getitem__(logged, key)
                    for key in dict.keys(logged)):
                group.clear()
                group.update(dict.items(logged))
            if k < len(groups) and groups[k] is logged:
                groups[k] = group
            self.reads += [(group, key) for key in logged.reads]
        return False
