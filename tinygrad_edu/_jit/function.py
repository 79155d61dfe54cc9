"""``jit`` and ``JitFunction``: signatures, the cache, recording twice, replaying."""
from __future__ import annotations

import functools
import types
import weakref
from collections import OrderedDict, namedtuple
from operator import is_

from .._mode import mode
from ..autograd import Node
from ..tensor import Tensor
from .arguments import _count_arrays, _flatten, _Holder, _objects, _output, _rebuild
from .capture import (discover, fingerprint, group_values, groups_same, holds_tensors,
                      objects_key, read_scalars, scalar_sources, scope_arrays)
from .codegen import build
from .compare import first_difference
from .creators import _patch_creators
from .errors import TraceError
from .fastcheck import MISS, fast_call
from .recorder import Recorder
from .util import _GuardFailed, _guard_failed, unchanged

__all__ = ["jit", "JitFunction", "CacheInfo"]

CacheInfo = namedtuple("CacheInfo", ["hits", "records", "signatures", "max_cache"])

_new = Tensor.__new__


def _no_rule(*_):  # never called: a replayed tensor's node has no inputs
    raise AssertionError


_no_rule.op = "jit replay"
_no_rule.freed_message = (
    "backward on a tensor returned by a replayed jit step: a replay runs the recorded numpy "
    "calls and keeps no graph (its backward already ran inside the step). Do the backward "
    "inside the jitted function, or call the function unjitted (jit(fn).__wrapped__)")
_REPLAYED = Node(_no_rule, None, [], None)  # inputs None: backward raises "graph freed"


def _ret(arr, requires_grad, ctx):
    t = _new(Tensor)
    t.data = arr
    t._grad = None
    t._meta = None
    t.requires_grad = requires_grad
    t._ctx = _REPLAYED if ctx else None
    return t


def _w(arr):
    t = _new(Tensor)
    t.data = arr
    t._grad = None
    t._meta = None
    t.requires_grad = False
    t._ctx = None
    return t


_HELPERS = {"_w": _w, "_ret": _ret, "_guard_failed": _guard_failed}


class _Trace:
    """A finished recording: what codegen and the comparison need."""

    def __init__(self, rec, output, inputs, input_is_array, grad_pattern):
        self.ops = rec.ops
        self.reads = rec.reads
        self.output = output
        self.inputs = inputs
        self.input_is_array = input_is_array
        self.grad_pattern = grad_pattern
        self.fresh = rec.fresh
        self.values = rec.slots  # the recorded arrays (constant folding takes values from here)
        self.groups = group_values(rec.group_reads)


class _Entry:
    __slots__ = ("traces", "programs", "arrays", "groups")

    def __init__(self):
        self.arrays = None  # [(array in the function's scope, its value when recorded)]
        self.groups = None  # [(parameter group, key, value the function read)] (capture.py)
        self.traces = []
        self.programs = []  # (grad pattern or None, source, function)


class JitFunction:
    """A function that records its numpy calls on first calls and replays them after.

    See :func:`jit`. Attributes: ``program`` (source of the last signature's
    replayed program, or None before one exists), ``cache_info()``,
    ``clear()``, ``__wrapped__``.
    """

    def __init__(self, fn, max_cache=8):
        if not callable(fn):
            raise TypeError(f"jit: expected a callable, got {type(fn).__name__}")
        if not isinstance(max_cache, int) or isinstance(max_cache, bool) or max_cache < 1:
            raise ValueError(f"jit: max_cache must be an int >= 1, got {max_cache!r}")
        functools.update_wrapper(self, fn)
        self.__wrapped__ = fn
        self.max_cache = max_cache
        self._cache = OrderedDict()
        self._hits = 0
        self._records = 0
        self.program = None
        self._found = None  # the last discovery and its fingerprint
        self._fast = None  # fastcheck.fast_call's function for the last signature replayed
        self._bound = None  # instance -> JitFunction, for a jitted method

    def cache_info(self) -> CacheInfo:
        """``CacheInfo(hits, records, signatures, max_cache)``: replayed calls, recorded
        (eager) calls, signatures cached now, the bound."""
        return CacheInfo(self._hits, self._records, len(self._cache), self.max_cache)

    def clear(self):
        """Forget every recording and program (the next call records again)."""
        self._cache.clear()
        self._fast = None
        self.program = None

    def __get__(self, obj, objtype=None):
        """``@jit`` on a method: one JitFunction per instance, of the bound method (so the
        instance's modules and optimizers are found through ``self``)."""
        if obj is None:
            return self
        bound = self._bound.get(obj) if self._bound is not None else None
        if bound is None:
            bound = JitFunction(types.MethodType(self.__wrapped__, obj), self.max_cache)
            try:
                if self._bound is None:
                    self._bound = weakref.WeakKeyDictionary()
                self._bound[obj] = bound
            except TypeError:  # not weak-referenceable: a fresh one (records again) each time
                pass
        return bound

    def __call__(self, *args, **kwargs):
        fast = self._fast
        if fast is not None and not kwargs:
            # The last signature again? One generated function checks everything its
            # key covers and replays (see fastcheck.py); MISS sends the call down the
            # full path.
            out = fast(args)
            if out is not MISS:
                return out
        self._fast = None
        if mode.tracing is not None:
            raise TraceError("jit: a jitted function was called while another one records "
                             "(nested jit is not supported): call the inner function unjitted")
        found = self._found
        if found is None or not _same(fingerprint(found[3]), found[4]):
            found = discover(self.__wrapped__)
            # which tensors, modules and optimizers, and which parameters each optimizer
            # holds (zero_grad is recorded as the Python it is: it touches those)
            arrays = scope_arrays(found[3], found[0])
            fp = fingerprint(found[3])
            token = (tuple(map(id, found[2])), tuple(map(id, found[0])),
                     tuple((id(o), tuple(tuple(map(id, g["params"])) for g in o.param_groups))
                           for o in found[1]),
                     tuple(map(id, arrays)),  # a replaced array: its program held the old one
                     objects_key(fp))  # the functions and objects found
            found = self._found = found + (fp, token,
                                           scalar_sources(found[3], found[0]), arrays)
        modules, captured = found[0], found[2]
        leaves = []
        spec = (_flatten(args, leaves, None), _flatten(kwargs, leaves, None)) if kwargs else \
            _flatten(args, leaves, None)
        # found[5]: the captured tensors and optimizers by identity (a program's constants
        # keep them alive, so an id in a cached key is never reused)
        key = (spec, mode.grad_enabled, found[5], tuple([m.training for m in modules]),
               tuple(map(type, modules)),  # m.__class__ = ... swaps every method
               # an optimizer's class and its step (patched on the class, or the class
               # swapped): the program calls the step function it recorded
               tuple([(type(o), type(o).step) for o in found[1]]),
               tuple([(t.data.shape, t.data.dtype, t.requires_grad) for t in captured]),
               read_scalars(found[6]))
        entry = self._cache.get(key)
        if entry is not None:
            self._cache.move_to_end(key)
            if entry.programs and (entry.arrays and not unchanged(entry.arrays) or
                                   entry.groups and not groups_same(entry.groups)):
                # a scope array changed in place (its copies are stale), or a group's
                # hyperparameter the function read itself (a constant of the program)
                entry.programs.clear()
                entry.traces.clear()
            if entry.programs:
                pattern = tuple([t._grad is None for t in captured]) + tuple(
                    [t._grad is None for t in leaves if isinstance(t, Tensor)])
                for want, src, fn in entry.programs:
                    if all(w is None or w is g for w, g in zip(want, pattern)):
                        self._hits += 1
                        self.program = src
                        if not kwargs:
                            self._fast = fast_call(self, args, leaves, modules, captured, found,
                                                   want, entry, fn, src)
                        try:
                            return fn(leaves)
                        except _GuardFailed as failed:
                            return self._guard_fallback(failed, src, args, kwargs)
        else:
            entry = self._cache[key] = _Entry()
            while len(self._cache) > self.max_cache:
                self._cache.popitem(last=False)
        return self._record(entry, args, kwargs, leaves, captured, found[7])

    def _guard_fallback(self, failed, src, args, kwargs):
        """A value the recording branched on differs now (labels equal to ignore_index,
        out-of-range labels...): run this call eagerly, if the replay changed nothing yet."""
        self._hits -= 1
        if not failed.clean:
            line = next(ln for ln in src.splitlines() if f"_guard_failed({failed.line}, " in ln)
            raise TraceError(f"jit: a value the recorded program branched on changed after the "
                             f"program had already changed state ({line.strip()}): this call "
                             "cannot be replayed nor rerun eagerly. Call the function unjitted "
                             "for such inputs (jit(fn).__wrapped__)")
        return self.__wrapped__(*args, **kwargs)

    @staticmethod
    def _state(captured, leaves):
        seen = {id(t) for t in captured}
        return list(captured) + [t for t in leaves if isinstance(t, Tensor) and id(t) not in seen]

    def _record(self, entry, args, kwargs, leaves, captured, scope=()):
        objs = _objects((args, kwargs), [])
        if objs and holds_tensors(objs):
            # Only the scope's tensors and the Tensor/array arguments are traced: one
            # reached through another argument would be a constant of the program (a
            # later `p.data = ...` unseen, its .grad never set by a replay).
            raise TraceError(
                f"jit({getattr(self.__wrapped__, '__name__', 'fn')}): an argument that is not "
                "a Tensor or an array holds tensors (a Module, an optimizer, an object or "
                "function reaching them): the jit traces the tensors it finds in the "
                "function's enclosing scope and its Tensor/array arguments only. Keep the "
                "model and optimizer in the enclosing scope (closure, globals, self) and pass "
                "only the batch")
        state = self._state(captured, leaves)
        snap = [(a, a.copy()) for a in scope]  # their values as this recording saw them
        pattern = tuple([t._grad is None for t in captured]) + tuple(
            [t._grad is None for t in leaves if isinstance(t, Tensor)])
        tensor_inputs = [t for t in leaves if isinstance(t, Tensor)]
        rec = Recorder(state, [])
        arrays = []
        input_is_array = []
        for k, x in enumerate(leaves):
            input_is_array.append(not isinstance(x, Tensor))
            if isinstance(x, Tensor):
                if rec.by_plain.get(id(x.data)) is None:
                    rec.install(x, "data", ("input", k))
            else:
                holder = _Holder(x)
                rec.install(holder, "data", ("input", k))
                arrays.append(holder.data)
        self._records += 1
        prev = mode.tracing
        mode.tracing = rec
        # Buffers made by np.empty/zeros/ones/full while recording are traced slots, made
        # afresh by the replay: the engine writes into them with out= and slices.
        _patch_creators(True)
        try:
            rec.start()
            call_args = _rebuild(args, iter(arrays))
            call_kwargs = _rebuild(kwargs, iter(arrays[_count_arrays(args):]))
            out = self.__wrapped__(*call_args, **call_kwargs)
            rec.sync()
            output, result = _output(rec, out, state, set(map(id, tensor_inputs)))
        finally:
            _patch_creators(False)
            mode.tracing = prev
            rec.finish()
        trace = _Trace(rec, output, leaves, input_is_array, pattern)
        entry.traces.append(trace)
        if len(entry.traces) >= 2:
            b = entry.traces[-1]
            # against the last recording with the same .grad None-pattern: gradient
            # accumulation over calls alternates patterns (None after zero_grad, not after)
            a = next((t for t in reversed(entry.traces[:-1]) if t.grad_pattern == b.grad_pattern),
                     entry.traces[-2])
            diff = first_difference(a, b)
            if diff is None:
                src, fn = build(b, _HELPERS)
                # Where the two calls' None-patterns differ, the same program came out
                # both ways: those .grad do not matter; where they agree, they stay a guard
                # (a .grad None in both calls was never seen set: zero_grad's reset of it
                # is not in the program).
                want = tuple(None if u is not v else u
                             for u, v in zip(a.grad_pattern, b.grad_pattern))
                entry.programs.append((want, src, fn))
                entry.arrays = snap
                entry.groups = b.groups
                entry.traces.clear()
                self.program = src
            elif a.grad_pattern == b.grad_pattern or len(entry.traces) > 3:
                entry.traces.clear()
                raise TraceError(f"jit({getattr(self.__wrapped__, '__name__', 'fn')}): the two "
                                 f"recordings of this signature differ: {diff}. Something that "
                                 "is not an input changed between calls (a numpy random draw, "
                                 "a Python counter, a tensor the recorder did not find): pass it "
                                 "as an argument, or draw random numbers with tinygrad_edu's "
                                 "generator (rng=) functions")
        return result


def _same(a, b):
    return len(a) == len(b) and all(map(is_, a, b))


def jit(fn=None, *, max_cache=8):
    """Record a function's numpy calls on its first calls, replay them afterwards.

    Usable as ``@jit``, ``@jit(max_cache=4)`` or ``jit(fn)``. Returns a
    :class:`JitFunction`. Calls 1 and 2 of a signature run eagerly while
    recording; the two recordings must agree; call 3 on replays the program
    (see ``tinygrad_edu/_jit/__init__.py`` and the docs chapter).

    Raises:
        TraceError: at record time, for anything a replay could not reproduce
            exactly (value reads, data-dependent shapes, create_graph, hooks,
            recordings that differ).
        TypeError: ``fn`` not callable; an argument that is not a Tensor, an
            array or hashable.
        ValueError: ``max_cache`` not an int >= 1.
    """
    if fn is None:
        return lambda f: JitFunction(f, max_cache=max_cache)
    return JitFunction(fn, max_cache=max_cache)
