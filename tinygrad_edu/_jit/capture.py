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
import types

import numpy as np

from ..nn.module import Module, _Members
from ..optim.optimizer import Optimizer
from ..tensor import Tensor
from .util import number_key

__all__ = ["discover", "scalar_sources", "read_scalars", "scope_arrays", "holds_tensors"]


def _code_names(code, acc):
    acc.update(code.co_names)
    for c in code.co_consts:
        if isinstance(c, types.CodeType):
            _code_names(c, acc)
    return acc


_MISSING = object()


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

# Keyed elsewhere: tensors, modules and optimizers by identity in the discovery's token
# (and tensors' shapes, dtypes, requires_grad), plain arrays by identity and value
# (scope_arrays).
_KEYED_ELSEWHERE = (Tensor, Module, Optimizer, np.ndarray)


def scalar_sources(watch, modules):
    """Where the other values the function can see live: closure cells, named globals,
    dict entries (plain objects' attributes too), list items, modules' attributes.

    A recording freezes such a value into the program: a number (``x * self.scale``
    logs it), a tuple (a shape given to ``reshape``), a function or any object the
    step calls (``self.act = F.relu``, a global ``ACT``) whose calls are logged, not
    the object. So their current values are part of the cache key (numbers by type
    and bits, tuples item by item, anything else by identity): a change records
    again instead of replaying a stale program.
    """
    out = []
    for kind, obj, key in watch:
        if kind == 0:
            try:
                if not isinstance(obj.cell_contents, _KEYED_ELSEWHERE):
                    out.append((0, obj, None))
            except ValueError:
                pass
        elif kind == 1:
            if not isinstance(obj.get(key), _KEYED_ELSEWHERE):
                out.append((1, obj, key))
        elif kind == 2:
            out += [(1, obj, k) for k, v in obj.items() if not isinstance(v, _KEYED_ELSEWHERE)]
        else:
            out += [(3, obj, i) for i, v in enumerate(obj) if not isinstance(v, _KEYED_ELSEWHERE)]
    return out  # (modules' attributes: their vars() are watched dicts, see discover)


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
    array times ``1.0`` is float), ``0.0`` and ``-0.0`` different signs, ``nan``
    is unequal to itself (a recording with a NaN constant would never match).
    Tuples item by item; objects that are not numbers or strings (functions,
    lists, plain objects) by identity: the recording logged what it called or
    read in them, not the object."""
    key = number_key(v)
    if key is not None:
        return key
    t = type(v)
    if t is str or t is bytes or v is None:
        return v
    if t is tuple:
        return (tuple, tuple([_strict(x) for x in v]))
    return _Same(v)


class _Same:
    """A key item equal only to one holding the very same object (which it keeps
    alive, so its id is not reused)."""

    __slots__ = ("obj",)

    def __init__(self, obj):
        self.obj = obj

    def __eq__(self, other):
        return type(other) is _Same and other.obj is self.obj

    def __hash__(self):
        return id(self.obj)


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
                              # its attributes: one added later (m.forward = ..., m.act = ...)
                              # is found again, not missed by a stale list of sources
                              (2, vars(m), None)]
                    # plain Tensor or array attributes (not registered buffers: a mask set
                    # as self.mask = ...): traced like buffers, replacing one rediscovers
                    attrs = vars(m)
                    for k, v in attrs.items():
                        if isinstance(v, Tensor) or type(v) is np.ndarray:
                            watch.append((1, attrs, k))
                            if isinstance(v, Tensor):
                                tensors.setdefault(id(v), v)
                        elif type(v) is not _Members and (isinstance(v, (list, tuple, dict)) or (
                                hasattr(v, "__dict__") and not callable(v)
                                and not isinstance(v, (Module, Optimizer, types.ModuleType)))):
                            # a container or plain object it holds (self.consts = (arr,),
                            # self.cfg = {...}): its arrays and numbers are the step's too
                            stack.append((v, depth + 1))
            for t in x.parameters():
                tensors.setdefault(id(t), t)
            for t in x.buffers():
                if isinstance(t, Tensor):
                    tensors.setdefault(id(t), t)
        elif isinstance(x, Optimizer):
            opts.setdefault(id(x), x)
            watch.append((3, x.param_groups, None))
            # a group's list of parameters replaced (group["params"] = [...]) as well as edited
            watch += [(1, group, "params") for group in x.param_groups]
            watch += [(3, group["params"], None) for group in x.param_groups]
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
