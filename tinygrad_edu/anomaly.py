"""Anomaly detection: find the op whose backward produced NaN or inf."""
from __future__ import annotations

import functools
import inspect

from ._mode import _wrap_generator, mode

__all__ = ["detect_anomaly", "is_anomaly_enabled"]


def is_anomaly_enabled() -> bool:
    """True inside ``detect_anomaly`` on this thread."""
    return mode.anomaly


class detect_anomaly:
    """Context manager (and decorator) that checks every backward rule's output.

    Ops created inside remember where in your code they were created; during
    backward, the first rule that returns a NaN or inf gradient raises
    RuntimeError naming the op and that place. The check runs for every op
    created inside, and for every op when the backward itself runs inside
    (as in PyTorch; the place is then known only for ops created inside). Costs a stack walk per op, so
    use it for debugging only. Thread-local, as grad mode.
    """

    def __init__(self, check_nan: bool = True):
        self.check_nan = check_nan

    def __enter__(self):
        mode.push(self, mode.anomaly)  # per thread: an instance may be shared
        mode.anomaly = self.check_nan
        return self

    def __exit__(self, *exc):
        mode.anomaly = mode.pop(self)
        return False

    def __call__(self, func):
        if inspect.isgeneratorfunction(func):
            return _wrap_generator(lambda: detect_anomaly(self.check_nan), func)

        @functools.wraps(func)
        def wrapper(*args, **kwargs):
            with self:
                return func(*args, **kwargs)

        return wrapper
