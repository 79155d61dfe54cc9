"""Thread-local switches: grad mode (``no_grad``) and anomaly detection.

Each thread has its own copy, as in PyTorch, so one thread running inference
under ``no_grad`` never turns off recording in a thread that is training.
"""
from __future__ import annotations

import functools
import inspect
import threading

__all__ = ["no_grad", "enable_grad", "set_grad_enabled", "is_grad_enabled"]


class _Mode(threading.local):
    # Class attributes are the per-thread defaults: a new thread starts with
    # recording on and anomaly detection off.
    grad_enabled = True
    anomaly = False
    tracing = None  # the jit recorder while a jitted function records on this thread

    def __init__(self):
        # Values to restore on leaving a context, per thread and per context
        # manager instance (a stack: it may be entered twice). An instance may
        # be shared by threads (a module-level ``NO_GRAD = no_grad()``), so it
        # keeps no state itself; per instance, so contexts left out of order
        # (a generator suspended inside one) restore their own value.
        self.saved = {}

    def push(self, ctx, value):
        self.saved.setdefault(id(ctx), []).append(value)

    def pop(self, ctx):
        stack = self.saved[id(ctx)]
        value = stack.pop()
        if not stack:
            del self.saved[id(ctx)]
        return value


mode = _Mode()


def guard(x) -> bool:
    """``bool(x)`` for an engine decision on values (validation, a fast path).

    While a jitted function records, the value is logged as a guard: the replay
    recomputes it and, if it differs, runs that call eagerly instead (or raises
    TraceError if the call already changed state). Eager cost: one call.
    """
    tracer = mode.tracing
    if tracer is not None:
        return tracer.guard(x)
    return bool(x)


def read_error(what):
    """The TraceError for reading a tensor's value while a jitted function records."""
    from ._jit.errors import TraceError

    return TraceError(
        f"{what} inside a jitted function: reading a tensor's value is not recorded, and "
        "a replay could not follow a Python decision or number made from it. Return the "
        "tensor from the function and read it outside (e.g. loss = step(x, y); "
        "print(loss.item())), or keep the computation in tensor ops (where() instead of if)."
    )


def is_grad_enabled() -> bool:
    """Return True when operations on this thread record a graph."""
    return mode.grad_enabled


class _GradModeContext:
    """Base for context managers that also work as decorators (of functions and
    of generator functions, whose every step then runs in the mode)."""

    _target: bool

    def __enter__(self):
        mode.push(self, mode.grad_enabled)
        mode.grad_enabled = self._target
        return self

    def __exit__(self, *exc):
        mode.grad_enabled = mode.pop(self)
        return False

    def __call__(self, func):
        def fresh():
            return self.__class__() if type(self) is not set_grad_enabled else set_grad_enabled(self._target)

        if inspect.isgeneratorfunction(func):
            return _wrap_generator(fresh, func)

        @functools.wraps(func)
        def wrapper(*args, **kwargs):
            with fresh():
                return func(*args, **kwargs)

        return wrapper


def _wrap_generator(fresh, func):
    """A decorated generator runs each of its steps in the mode, as PyTorch's decorators.

    Wrapping only the call would apply the mode while the generator object
    is created, and run its body (at each ``next``) in the caller's mode.
    """
    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        gen = func(*args, **kwargs)
        try:
            with fresh():
                value = next(gen)
            while True:
                try:
                    sent = yield value
                except GeneratorExit:
                    with fresh():
                        gen.close()
                    raise
                except BaseException as exc:  # thrown in by the caller: pass it on
                    with fresh():
                        value = gen.throw(exc)
                else:
                    with fresh():
                        value = gen.send(sent)
        except StopIteration as stop:
            return stop.value

    return wrapper


class no_grad(_GradModeContext):
    """Disable graph recording in this thread (context manager or decorator).

    Results of operations inside are leaves with ``requires_grad=False``, as in
    ``torch.no_grad``::

        with no_grad():
            y = w * 2          # y.requires_grad is False

        @no_grad()
        def evaluate(model, x): ...
    """

    _target = False


class enable_grad(_GradModeContext):
    """Re-enable graph recording inside a ``no_grad`` region (thread-local)."""

    _target = True


class set_grad_enabled(_GradModeContext):
    """Set grad mode to ``mode`` (bool), as ``torch.set_grad_enabled``.

    As a plain call, ``set_grad_enabled(False)`` switches recording off in
    this thread until switched back; as a ``with`` block or a decorator it
    applies inside only and restores the previous mode after.
    """

    def __init__(self, mode_: bool):
        self._target = bool(mode_)
        self._prev = mode.grad_enabled
        mode.grad_enabled = self._target  # now: a plain call must take effect

    def __enter__(self):
        mode.grad_enabled = self._target  # _prev is the mode before __init__, as PyTorch
        return self

    def __exit__(self, *exc):
        mode.grad_enabled = self._prev
        return False

    def __call__(self, func):
        mode.grad_enabled = self._prev  # a decorator: undo __init__'s switch, apply per call
        return super().__call__(func)
