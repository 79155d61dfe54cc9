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
from ..tensor import Tensor
from .capture import _MISSING

__all__ = ["fast_check"]

MAX_ARGS = 8


def fast_check(args, leaves, modules, captured, found, want):
    """``check(args)``: returns ``args`` (the call's leaves) when a call with these
    positional arguments has the key of this call, else None. None if no such
    check can be written (keywords, other argument kinds, many arguments).

    ``found``: the discovery (function.py), ``want``: the ``.grad`` None-pattern
    the program needs (None where either is fine). The check compares:

    * each argument: a Tensor or an ndarray (distinct objects) with the same
      shape, dtype (``.str``) and ``requires_grad``; grad mode; each module's
      ``training``; each captured tensor's shape, dtype and ``requires_grad``;
      the None-pattern of ``.grad``;
    * the containers the discovery looked into (closure cells, globals,
      modules' parameter/buffer/submodule dicts, plain objects' attributes,
      optimizers' lists) hold the very objects they held, under the same keys
      in the same order: identity is stricter than the key's comparisons, and
      a stored object cannot die (the discovery keeps it), so its id is never
      reused;
    * the Python numbers in modules' attributes the step can see: the same
      objects (equal numbers that are other objects take the full path, which
      compares them by type and value).
    """
    if len(args) != len(leaves) or len(args) > MAX_ARGS \
            or any(a is not b for a, b in zip(args, leaves)):
        return None
    ns = {"Tensor": Tensor, "ndarray": np.ndarray, "mode": mode, "_MISSING": _MISSING,
          "_tuple": tuple}
    lines = [f"if len(args) != {len(args)}: return None"]
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
    conds.append(f"mode.grad_enabled is {bool(mode.grad_enabled)}")
    for k, m in enumerate(modules):
        ns[f"m{k}"] = m
        conds.append(f"m{k}.training is {bool(m.training)}")
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
    conds += _containers(ns, found[3])
    conds += _module_numbers(ns, found[3], found[6])
    lines.append("if " + " and ".join(f"({c})" for c in conds) + ": return args")
    lines.append("return None")
    src = ("def check(args):\n    try:\n" + "".join(f"        {ln}\n" for ln in lines)
           # an emptied cell, a missing key or index: no fast path (the full one decides)
           + "    except (ValueError, KeyError, IndexError):\n        return None\n")
    ns["_source"] = src
    exec(compile(src, "<jit guard>", "exec"), ns)
    return ns["check"]


def _const(ns, prefix, obj):
    name = f"{prefix}{sum(1 for k in ns if k.startswith(prefix) and k[len(prefix):].isdigit())}"
    ns[name] = obj
    return name


def _containers(ns, watch):
    """Conditions: every watched container holds the objects it holds now (by identity),
    dicts under the same keys in the same order, lists at the same places."""
    conds = []
    for kind, obj, key in watch:
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
