"""Find the modules, optimizers and tensors a function uses from its enclosing scope.

Roots: the function's closure cells, the globals its code names (nested
functions' too), ``self`` of a bound method, ``functools.partial``
arguments; from them, modules (their parameters, buffers and submodules),
optimizers (their parameters), tensors, and containers and plain objects
holding those, a few levels deep; functions named there are searched too.
What is found is traced while recording and part of the cache key. A tensor
the search misses is caught by comparing the two recordings (its value
changes between calls) and raises TraceError.
"""
from __future__ import annotations

import functools
import operator
import struct
import types

import numpy as np

from ..nn.module import Module
from ..optim.optimizer import Optimizer
from ..tensor import Tensor
from .recorder import _NO_KEY

__all__ = ["discover", "scalar_sources", "read_scalars", "scope_arrays", "objects_key",
           "holds_tensors"]


def _code_names(code, acc):
    acc.update(code.co_names)
    for c in code.co_consts:
        if isinstance(c, types.CodeType):
            _code_names(c, acc)
    return acc


_MISSING = object()
_MODULE_DICTS = ("_parameters", "_buffers", "_modules")  # watched as containers
_MAX_ITEMS = 64  # a module attribute's list or dict searched item by item up to this size


def fingerprint(watch):
    """The objects the containers in ``watch`` hold now: equal (by identity) to the
    fingerprint taken at discovery means the discovery still holds."""
    out = []
    add, extend = out.append, out.extend
    for kind, obj, key in watch:
        if kind == 0:
            try:
                add(obj.cell_contents)
            except ValueError:
                add(_MISSING)
        elif kind == 1:
            add(obj.get(key, _MISSING))
        elif kind == 2:
            add(len(obj))
            extend(obj.values())
        else:
            add(len(obj))
            extend(obj)
    return out


_SCALARS = (int, float, complex, bool, str, bytes, type(None), np.generic)


def _is_value(v):
    """A Python scalar, or a tuple of them (a conv's ``padding``, a shape): what a
    recording freezes by value, so keyed by value (:func:`_strict`)."""
    return isinstance(v, _SCALARS) or (type(v) is tuple and all(_is_value(x) for x in v))


class _Objects:
    """Objects in a cache key, equal only to the same objects in the same order; held, so
    their ids are never reused; the hash computed once (a key is hashed on every call that
    misses the fast path)."""

    __slots__ = ("objs", "hash")

    def __init__(self, objs):
        self.objs = objs
        self.hash = hash(tuple(map(id, objs)))

    def __eq__(self, other):
        return type(other) is _Objects and len(other.objs) == len(self.objs) and all(
            map(operator.is_, other.objs, self.objs))

    def __hash__(self):
        return self.hash


def objects_key(fp):
    """The objects of a fingerprint (:func:`fingerprint`) that are neither values, tensors,
    arrays nor containers searched item by item (which are keyed elsewhere): functions,
    generators, plain objects, big lists and dicts. A recording runs the very function it found (``self.act = relu``), so
    another one is another program, even where the tensors and numbers are the same."""
    return _Objects(tuple([v for v in fp if not (v is _MISSING or _is_value(v) or isinstance(
        v, (Tensor, np.ndarray, Module, Optimizer)) or (
            # a list or dict is keyed by what it holds, unless too big to be searched
            isinstance(v, (list, dict)) and len(v) <= _MAX_ITEMS))]))


def scalar_sources(watch, modules):
    """Where the Python scalars the function can see live: closure cells, named globals,
    dict entries (plain objects' attributes too), list items, modules' attributes.

    A recording freezes such a value into the program (``x * self.scale`` logs
    the number), so their current values are part of the cache key: a change
    records again instead of replaying a stale constant.
    """
    out = []
    for kind, obj, key in watch:
        if kind == 0:
            try:
                if _is_value(obj.cell_contents):
                    out.append((0, obj, None))
            except ValueError:
                pass
        elif kind == 1:
            if _is_value(obj.get(key)):
                out.append((1, obj, key))
        elif kind == 2:
            out += [(1, obj, k) for k, v in obj.items() if _is_value(v)]
        else:
            out += [(3, obj, i) for i, v in enumerate(obj) if _is_value(v)]
    for m in modules:  # ``training`` is keyed on its own
        d = vars(m)
        out += [(1, d, k) for k, v in d.items() if k != "training" and _is_value(v)]
    return out


def scope_arrays(watch, modules):
    """The plain numpy arrays the function can see (same places as :func:`scalar_sources`).

    A copy made of one inside the step (``Tensor(arr)``, ``arr.copy()``) is
    made outside numpy's dispatch, so the recording holds its value as a
    constant: the replay checks these arrays against their values at
    recording time (function.py) and records again when one changed in place.
    """
    out, seen = [], set()

    def add(v):
        if type(v) is np.ndarray and id(v) not in seen:
            seen.add(id(v))
            out.append(v)

    for kind, obj, key in watch:
        if kind == 0:
            try:
                add(obj.cell_contents)
            except ValueError:
                pass
        elif kind == 1:
            add(obj.get(key))
        elif kind == 2:
            for v in obj.values():
                add(v)
        else:
            for v in obj:
                add(v)
    for m in modules:
        for v in vars(m).values():
            add(v)
    return out


def read_scalars(sources):
    """The current values at ``sources`` (see :func:`scalar_sources`), as a tuple of
    keys that are equal only for numbers a recording cannot tell apart (see
    :func:`_strict`)."""
    out = []
    add = out.append
    for kind, obj, key in sources:
        if kind == 0:
            try:
                v = obj.cell_contents
            except ValueError:
                v = _MISSING
        elif kind == 1:
            v = obj.get(key, _MISSING)
        else:
            v = obj[key] if key < len(obj) else _MISSING
        add(_strict(v))
    return tuple(out)


def _strict(v):
    """``v`` as a key equal to another only for the same type and bits: ``1``, ``1.0``
    and ``True`` are equal in Python but make different dtypes in numpy (an int
    array times ``1.0`` is float), ``0.0`` and ``-0.0`` different signs, NaNs of
    another sign or payload propagate it (``repr`` says ``nan`` for all of them),
    and ``nan`` is unequal to itself (a recording with a NaN constant would never
    match): floats are compared by their bytes."""
    t = type(v)
    if t is float:
        return (t, _pack_d(v))
    if t is complex:
        return (t, _pack_dd(v.real, v.imag))
    if isinstance(v, np.generic):
        return (t, v.tobytes())
    if t is int or t is bool:
        return (t, v)
    if t is tuple:
        return (t, tuple([_strict(x) for x in v]))
    return v


_pack_d = struct.Struct("<d").pack
_pack_dd = struct.Struct("<dd").pack


def group_values(reads):
    """``[(group, key, strict value)]`` of a recording's parameter-group reads
    (``Recorder.group_reads``): what :func:`groups_same` compares at replay."""
    return [(g, k, _strict(v)) for g, k, v in reads.values()]


def groups_same(values):
    """Do the parameter groups still hold the values the recording read?"""
    for g, k, v in values:
        if _strict(dict.get(g, k, _NO_KEY)) != v:
            return False
    return True


def _roots(fn, depth, seen_fns, out, watch):
    while isinstance(fn, functools.partial):
        out.extend(fn.args)
        out.extend(fn.keywords.values())
        fn = fn.func
    if isinstance(fn, types.MethodType):
        out.append(fn.__self__)
        fn = fn.__func__
    fn = getattr(fn, "__wrapped__", fn)  # a jitted or functools.wraps'd function: its body
    if not isinstance(fn, types.FunctionType):
        if hasattr(fn, "__call__") and not isinstance(fn, type):
            out.append(fn)  # a callable object: search its attributes
        return
    if id(fn) in seen_fns or depth > 3:
        return
    seen_fns.add(id(fn))
    for cell in fn.__closure__ or ():
        watch.append((0, cell, None))
        try:
            out.append(cell.cell_contents)
        except ValueError:  # an empty cell
            pass
    g = fn.__globals__
    names = _code_names(fn.__code__, set())  # (global names and attribute names alike)
    for name in names:
        if name in g:
            watch.append((1, g, name))
            out.append(g[name])
            if isinstance(g[name], types.ModuleType):
                # ``config.SCALE``, ``config.act``: the attributes the code may read from
                # a module it names (its tensors, modules and optimizers found too)
                d = vars(g[name])
                for attr in names:
                    if attr in d:
                        watch.append((1, d, attr))
                        if isinstance(d[attr], (Tensor, Module, Optimizer)):
                            out.append(d[attr])
    return


def discover(fn):
    """``(modules, optimizers, tensors, watch)`` reachable from ``fn``, each in a stable
    order; ``watch``: the containers whose contents decide it (see :func:`fingerprint`)."""
    modules, opts, tensors = {}, {}, {}
    seen, seen_fns = set(), set()
    stack, watch = [], []
    _roots(fn, 0, seen_fns, stack, watch)
    stack = [(x, 0) for x in stack]
    while stack:
        x, depth = stack.pop(0)
        if id(x) in seen or x is None or isinstance(x, (int, float, str, bytes, bool, type,
                                                         types.ModuleType)):
            continue
        seen.add(id(x))
        if isinstance(x, Tensor):
            tensors.setdefault(id(x), x)
        elif isinstance(x, Module):
            for m in x.modules():
                if id(m) not in modules:
                    modules[id(m)] = m
                    watch += [(2, m._parameters, None), (2, m._buffers, None), (2, m._modules, None),
                              # its attributes as a whole: one added later (m.forward = ...)
                              # is found, not missed by the per-attribute watches below
                              (2, vars(m), None)]
                    # plain Tensor or array attributes (not registered buffers: a mask set
                    # as self.mask = ...): traced like buffers, replacing one rediscovers
                    attrs = vars(m)
                    for k, v in attrs.items():
                        if isinstance(v, Tensor) or type(v) is np.ndarray:
                            watch.append((1, attrs, k))
                            if isinstance(v, Tensor):
                                tensors.setdefault(id(v), v)
                        elif k not in _MODULE_DICTS and not _is_value(v) \
                                and not isinstance(v, Module):
                            # any other object forward may read (a function, a list of
                            # sizes, a config object): rebinding it rediscovers (and is
                            # keyed, objects_key); what it holds is searched like the
                            # scope, unless it is a big container (a vocabulary: each
                            # item would be a condition of every call's check)
                            watch.append((1, attrs, k))
                            if not (isinstance(v, (list, dict, tuple)) and len(v) > _MAX_ITEMS):
                                stack.append((v, min(depth + 1, 2)))
            for t in x.parameters():
                tensors.setdefault(id(t), t)
            for t in x.buffers():
                if isinstance(t, Tensor):
                    tensors.setdefault(id(t), t)
        elif isinstance(x, Optimizer):
            opts.setdefault(id(x), x)
            watch.append((3, x.param_groups, None))
            # a group's list rebound (group["params"] = [...]) and a step or zero_grad
            # set on the instance are other programs, as much as a list changed in place
            watch += [(1, group, "params") for group in x.param_groups]
            watch += [(3, group["params"], None) for group in x.param_groups]
            attrs = vars(x)
            watch += [(1, attrs, "step"), (1, attrs, "zero_grad")]
            for group in x.param_groups:
                for t in group["params"]:
                    tensors.setdefault(id(t), t)
        elif isinstance(x, (types.FunctionType, types.MethodType, functools.partial)) or \
                type(x).__name__ == "JitFunction":
            more = []
            _roots(x, depth + 1, seen_fns, more, watch)
            stack.extend((m, depth + 1) for m in more)
        elif depth < 3:
            if isinstance(x, (list, tuple)):
                # (a tuple cannot change, but the arrays it holds can: scope_arrays)
                watch.append((3, x, None))
                stack.extend((v, depth + 1) for v in x)
            elif isinstance(x, dict):
                watch.append((2, x, None))
                stack.extend((v, depth + 1) for v in x.values())
            elif hasattr(x, "__dict__") and not callable(getattr(x, "__array__", None)):
                watch.append((2, vars(x), None))
                stack.extend((v, depth + 1) for v in vars(x).values())
    return list(modules.values()), list(opts.values()), list(tensors.values()), watch


def _nothing():
    pass


def holds_tensors(objs):
    """Do ``objs`` (arguments that are not tensors, arrays or numbers: a module, a plain
    object, a function) lead to tensors, modules or optimizers, as the scope would?"""
    modules, opts, tensors, _ = discover(functools.partial(_nothing, *objs))
    return bool(modules or opts or tensors)
