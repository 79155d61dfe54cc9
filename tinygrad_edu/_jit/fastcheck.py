"""The per-call check of the fast path: one generated function per replayed signature.

A replay costs a few microseconds on a small model, so the test "is this call
the signature the program was recorded for?" must cost well under one. The
full path (function.py) builds a hashable key; this module writes that
test out as straight-line Python for the last signature replayed, with the
objects compared by identity, and is used only when it can say everything
the key says (else there is no fast path and every call takes the full one).
"""
from __future__ import annotations

import numpy as np

from .._mode import mode
from ..nn.module import STRUCTURE, Module, _Members
from ..tensor import Tensor
from .capture import _MISSING, groups_same
from .util import _GuardFailed, unchanged

__all__ = ["fast_call", "MISS"]

MAX_ARGS = 8


MISS = object()  # what the fast call returns when the call is not its signature


def fast_call(jf, args, leaves, modules, captured, found, want, entry, program, src):
    """``fast(args)``: the replay of ``program`` (source ``src``, of cache ``entry``) for
    a call with these positional arguments if it has the key of this call, else
    :data:`MISS`; None if no such check can be written (keywords, other argument
    kinds, many arguments). ``jf``: the JitFunction (its hit count, its fallback
    when a guard fails).

    ``found``: the discovery (function.py), ``want``: the ``.grad`` None-pattern
    the program needs (None where either is fine). The check compares:

    * each argument: a Tensor or an ndarray (distinct objects) with the same
      shape, dtype (``.str``) and ``requires_grad``; grad mode; each module's
      ``training``; each captured tensor's shape, dtype and ``requires_grad``;
      the None-pattern of ``.grad``;
    * no module's structure changed: one number, ``nn.module.STRUCTURE``, counts
      every attribute write, registration, ``train``/``eval`` and write into a
      module's parameter, buffer and submodule dicts, so it stands for each
      module's ``training``, those dicts' contents and the numbers in its
      attributes (a module whose class replaces ``__setattr__``/``__delattr__``
      gets those compared one by one, as below);
    * the other containers the discovery looked into (closure cells, globals,
      plain objects' attributes, optimizers' lists) hold the very objects they
      held, under the same keys in the same order: identity is stricter than
      the key's comparisons, and a stored object cannot die (the discovery
      keeps it), so its id is never reused.
    """
    if len(args) != len(leaves) or len(args) > MAX_ARGS \
            or any(a is not b for a, b in zip(args, leaves)):
        return None
    ns = {"Tensor": Tensor, "ndarray": np.ndarray, "mode": mode, "_MISSING": _MISSING,
          "_tuple": tuple, "_MISS": MISS, "_jf": jf, "_entry": entry, "_program": program,
          "_src": src, "_GuardFailed": _GuardFailed, "_unchanged": unchanged,
          "_groups_same": groups_same}
    lines = [f"if len(args) != {len(args)}: return _MISS"]
    if args:
        names = [f"a{k}" for k in range(len(args))]
        lines.append(f"{', '.join(names)}{',' if len(args) == 1 else ''} = args")
    conds = []
    for k, a in enumerate(args):
        if isinstance(a, Tensor):
            conds.append(f"isinstance(a{k}, Tensor) and a{k}.data.shape == {a.data.shape!r} "
                         f"and {_dtype_is(ns, f'a{k}.data.dtype', a.data.dtype)} "
                         f"and a{k}.requires_grad is {bool(a.requires_grad)}")
        elif isinstance(a, np.ndarray):
            conds.append(f"isinstance(a{k}, ndarray) and not isinstance(a{k}, Tensor) "
                         f"and a{k}.shape == {a.shape!r} and {_dtype_is(ns, f'a{k}.dtype', a.dtype)}")
        else:
            return None
        conds += [f"a{j} is not a{k}" for j in range(k)]  # the full key tells repeats apart
    conds.append(f"mode.grad_enabled is {bool(mode.grad_enabled)} and mode.tracing is None")
    counted = [m for m in modules if _counted(m)]
    if counted:
        ns["_STRUCTURE"] = STRUCTURE
        conds.append(f"_STRUCTURE[0] == {STRUCTURE[0]}")
    skip = {id(d) for m in counted for d in (m._parameters, m._buffers, m._modules, vars(m))}
    for k, m in enumerate(modules):
        if not _counted(m):
            ns[f"m{k}"] = m
            conds.append(f"m{k}.training is {bool(m.training)}")
            conds.append(f"type(m{k}) is {_const(ns, 'c', type(m))}")
    for o in found[1]:  # (the key's optimizer classes and steps, see function.py)
        c = _const(ns, "c", type(o))
        conds.append(f"type({_const(ns, 'w', o)}) is {c} and {c}.step is {_const(ns, 'o', type(o).step)}")
    for k, t in enumerate(captured):
        ns[f"t{k}"] = t
        conds.append(f"t{k}.data.shape == {t.data.shape!r} and "
                     f"{_dtype_is(ns, f't{k}.data.dtype', t.data.dtype)} "
                     f"and t{k}.requires_grad is {bool(t.requires_grad)}")
    every = list(captured) + [a for a in args if isinstance(a, Tensor)]
    for k, (t, w) in enumerate(zip(every, want)):
        if w is not None:
            ns[f"g{k}"] = t
            conds.append(f"(g{k}._grad is None) is {w}")
    watch = [w for w in found[3] if id(w[1]) not in skip]
    conds += _containers(ns, watch)
    conds += _module_numbers(ns, watch, [s for s in found[6] if id(s[1]) not in skip])
    lines.append("if not (" + " and ".join(f"({c})" for c in conds) + "): return _MISS")
    code = ("def fast(args):\n    try:\n" + "".join(f"        {ln}\n" for ln in lines)
            # an emptied cell, a missing key or index: not this signature (the full path decides)
            + "    except (ValueError, KeyError, IndexError):\n        return _MISS\n"
            # the part of the key that is not identity: the scope's arrays the step copied
            + "    if _entry.arrays and not _unchanged(_entry.arrays): return _MISS\n"
            # ...and the hyperparameters the function read from parameter groups itself
            + "    if _entry.groups and not _groups_same(_entry.groups): return _MISS\n"
            + "    _jf._hits += 1\n"
            + "    try:\n        return _program(args)\n"
            + "    except _GuardFailed as failed:\n"
            + "        return _jf._guard_fallback(failed, _src, args, {})\n")
    ns["_source"] = code
    exec(compile(code, "<jit guard>", "exec"), ns)
    return ns["fast"]


def _counted(m):
    """Do all changes to module ``m`` count in ``STRUCTURE`` (nn/module.py)? Its class
    keeps Module's attribute routes and its dicts are the counting kind."""
    t = type(m)
    return (t.__setattr__ is Module.__setattr__ and t.__delattr__ is Module.__delattr__
            and type(m._parameters) is _Members and type(m._buffers) is _Members
            and type(m._modules) is _Members)


def _const(ns, prefix, obj):
    # numbered per prefix, counted in ns itself (counting the names each time was
    # quadratic: a watched list of 10000 items took a minute to check)
    counts = ns.setdefault("_counts", {})
    n = counts[prefix] = counts.get(prefix, -1) + 1
    name = f"{prefix}{n}"
    ns[name] = obj
    return name


def _containers(ns, watch):
    """Conditions: every watched container holds the objects it holds now (by identity),
    dicts under the same keys in the same order, lists at the same places."""
    conds = []
    for kind, obj, key in watch:
        if type(obj) is tuple:
            continue  # (it holds the same objects forever: its holder is watched)
        w = _const(ns, "w", obj)
        if kind == 0:
            conds.append(f"{w}.cell_contents is {_const(ns, 'o', obj.cell_contents)}")
        elif kind == 1:
            item = _const(ns, "o", obj.get(key, _MISSING))
            conds.append(f"{w}.get({_const(ns, 'n', key)}, _MISSING) is {item}")
        elif kind == 2:
            if not obj:
                conds.append(f"not {w}")
                continue
            conds.append(f"len({w}) == {len(obj)}")
            if len(obj) > 1:  # the order too (a Sequential runs its modules in it)
                conds.append(f"_tuple({w}) == {_const(ns, 'n', tuple(obj))}")
            conds += [f"{w}[{_const(ns, 'n', k)}] is {_const(ns, 'o', v)}" for k, v in obj.items()]
        else:
            if not obj:
                conds.append(f"not {w}")
                continue
            conds.append(f"len({w}) == {len(obj)}")
            conds += [f"{w}[{i}] is {_const(ns, 'o', v)}" for i, v in enumerate(obj)]
    return conds


def _module_numbers(ns, watch, sources):
    """Conditions for the scalar sources the container conditions do not cover already
    (the modules' own attributes, such as ``in_features`` or a dropout's ``p``)."""
    covered = {id(obj) for kind, obj, _ in watch if kind in (2, 3)}
    covered_keys = {(id(obj), key) for kind, obj, key in watch if kind == 1}
    cells = {id(obj) for kind, obj, _ in watch if kind == 0}
    conds = []
    for kind, obj, key in sources:
        if id(obj) in covered or (id(obj), key) in covered_keys or id(obj) in cells:
            continue
        # (kind 1: a dict entry; the only kind left once the watched containers are out)
        value = obj.get(key, _MISSING)
        conds.append(f"{_const(ns, 'w', obj)}.get({_const(ns, 'n', key)}, _MISSING) "
                     f"is {_const(ns, 'o', value)}")
    return conds


def _dtype_is(ns, expr, dtype):
    """Source testing that ``expr`` (a dtype) has ``dtype.str`` (the key's test), the
    common case first: the same dtype object."""
    return f"({expr} is {_const(ns, 'D', dtype)} or {expr}.str == {dtype.str!r})"
