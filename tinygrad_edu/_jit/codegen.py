"""Turn a recording into a flat Python function of numpy calls (also the printable ``.program``).

One line per logged call, locals ``s<n>`` for slots, every non-literal
constant (numpy callables, arrays, tensors, optimizers) a global ``k<n>`` of
the function's namespace, ``b<n>`` the buffer slot ``n`` is written into.
Before rendering, the recording goes through exact rewrites (rewrites.py:
dead code, constants, merged calls and guards) and cheaper spellings of the
same calls (numbers.py, callforms.py, buffers.py); each replayed call still
computes what the eager step's call computed, on the same values: the
replay is exact by construction.
"""
from __future__ import annotations

import math
import re
import threading

import numpy as np

from .buffers import buffer_plan
from .callforms import cast_first, full_reductions, scalar_operators
from .errstate import HELPERS as ERR_HELPERS
from .errstate import ErrState, enter_lines, exit_line, prelude_lines
from .numbers import typed_numbers
from .recorder import Slot
from .rewrites import (_outs, _slots_in, escaping, fold_constants, live_ops,
                       merge_range_guards, peephole)
from .sgd_step import sgd_lines

__all__ = ["build"]

_LITERAL = (bool, int, str, type(None))


class _Names:
    def __init__(self):
        self.ns = {"_a": np.asarray}
        self.ids = {}
        self.notes = {}
        self.hints = {}  # id -> how the header describes it, where _describe would not say

    def const(self, obj, hint=None):
        key = id(obj)
        name = self.ids.get(key)
        if name is None:
            name = self.ids[key] = f"k{len(self.ids)}"
            self.ns[name] = obj
            self.notes[name] = hint or self.hints.get(key) or _describe(obj)
        return name


def _describe(obj):
    if isinstance(obj, np.ndarray):
        return f"array {obj.shape} {obj.dtype}"
    if isinstance(obj, ErrState):
        return repr(obj)
    if getattr(obj, "__module__", None) == "_operator":  # scalar arithmetic (callforms.py)
        return f"operator.{obj.__name__}"
    if isinstance(obj, np.ufunc):
        return f"np.{obj.__name__}"
    if isinstance(getattr(obj, "__self__", None), np.ufunc):  # np.add.reduce
        return f"np.{obj.__self__.__name__}.{obj.__name__}"
    if isinstance(obj, np.dtype):
        return f"np.dtype({str(obj)!r})"
    if isinstance(obj, type) and issubclass(obj, np.dtype):
        return f"np.dtype({str(obj.type.__name__)!r})"
    return getattr(obj, "__qualname__", None) or getattr(obj, "__name__", None) or type(obj).__name__


def _render(x, names, refs):
    if type(x) is Slot:
        return f"s{x.i}"
    if x is Ellipsis:
        return "..."
    t = type(x)
    if t in _LITERAL:
        return repr(x)
    if t is float and math.isfinite(x):
        return repr(x)
    if t is tuple:
        inner = ", ".join(_render(v, names, refs) for v in x)
        return f"({inner},)" if len(x) == 1 else f"({inner})"
    if t is list:
        return "[" + ", ".join(_render(v, names, refs) for v in x) + "]"
    if t is dict:
        return "{" + ", ".join(f"{k!r}: {_render(v, names, refs)}" for k, v in x.items()) + "}"
    if t is slice:
        return f"slice({_render(x.start, names, refs)}, {_render(x.stop, names, refs)}, {_render(x.step, names, refs)})"
    r = refs.get(id(x))
    if r is not None:
        return r
    return names.const(x)


def _call_src(op, names, refs, out=None):
    if op.fn is np.ndarray.transpose and len(op.args) == 1 and not op.kwargs:
        return f"{_render(op.args[0], names, refs)}.T"  # the same view, an attribute read
    fn = names.const(op.fn)
    parts = [_render(a, names, refs) for a in op.args]
    if out is not None:  # by position, the cheaper call (numpy 2.4 deprecates it for max/min)
        parts.append(f"out={out}" if op.fn in (np.maximum, np.minimum) else out)
    parts += [f"{k}={_render(v, names, refs)}" for k, v in op.kwargs.items()]
    return f"{fn}({', '.join(parts)})"


def _scalar_ok(ops, output):
    """Slots numpy gave as a scalar that may stay one (no ``np.asarray`` at replay): those
    used only as positional inputs of ufunc calls and by guards. A ufunc computes
    the same bits from a numpy scalar as from the 0-d array of it (the same dtype;
    its result for 0-d inputs is a scalar either way), and ``bool`` agrees."""
    used_else = _slots_in(output, set())
    for op in ops:
        if op.kind == "guard":
            continue
        if op.kind == "call" and isinstance(op.fn, np.ufunc):
            _slots_in(op.kwargs, used_else)
            used_else.update(w for w in op.writes if w is not None)
        else:
            _slots_in(op.args, used_else)
            _slots_in(op.kwargs, used_else)
    return {op.outs for op in ops if op.kind == "call" and op.scalar and type(op.outs) is int
            and op.outs not in used_else}


_RELEASE_BYTES = 1 << 14


def _release_points(ops, trace):
    """``{op index: slots}``: arrays of at least 16 KiB the program drops after their
    last use, as the eager step frees a graph's buffers while backward runs (memory
    the next allocations reuse, still in cache). Never a returned slot nor one bound
    to a ``.data``/``.grad`` (the tensors hold those; the written-out SGD step reads
    them)."""
    last, keep = {}, _slots_in(trace.output, set())
    for k, op in enumerate(ops):
        if op.kind in ("setdata", "setgrad", "macro"):
            _slots_in(op.args, keep)
            continue
        for i in _slots_in(op.args, set()) | _slots_in(op.kwargs, set()) | set(_outs(op)):
            if i is not None:
                last[i] = k
    out = {}
    for i, k in last.items():
        v = trace.values[i] if i < len(trace.values) else None
        if i not in keep and i not in trace.reads and getattr(v, "nbytes", 0) >= _RELEASE_BYTES:
            out.setdefault(k, []).append(i)
    return {k: sorted(v) for k, v in out.items()}


def build(trace, helpers):
    """Python source and function for ``trace`` (a frozen recording).

    ``helpers``: names the program uses (``_w`` wraps a gradient array as a
    Tensor, ``_ret`` makes a returned Tensor). The function takes ``_in``,
    the call's leaf inputs (Tensors or arrays), and returns the output.
    """
    names = _Names()
    names.ns.update(helpers)
    refs = {id(t): f"_in[{k}]" for k, t in enumerate(trace.inputs)}
    ops = merge_range_guards(peephole(fold_constants(trace), trace.output), trace.values)
    ops, live = live_ops(ops, trace.output)
    ops = cast_first(full_reductions(ops, trace.values), trace.values)
    as_scalar = _scalar_ok(ops, trace.output)
    ops = typed_numbers(scalar_operators(ops, as_scalar, trace.values), trace.values, names.hints)
    plan = buffer_plan(ops, escaping(ops, trace.output), trace.values)
    body = _body(trace, ops, live, as_scalar, names, refs, plan)
    if plan:  # one thread at a time uses the buffers; another runs the plain program
        plain = _body(trace, ops, live, as_scalar, names, refs, {})
        src_plain = "def plain(_in):\n" + "".join(f"    {line}\n" for line in plain)
        exec(compile(src_plain, "<jit program>", "exec"), names.ns)
        lock = threading.Lock()
        names.ns.update(_acquire=lock.acquire, _release=lock.release)
        body = (["if not _acquire(False):", "    return plain(_in)", "try:"]
                + [f"    {line}" for line in body] + ["finally:", "    _release()"])
    src = "def program(_in):\n" + "".join(f"    {line}\n" for line in body)
    notes = "".join(f"# {n} = {d}\n" for n, d in names.notes.items()
                    if re.search(rf"\b{n}\b", src))
    if plan:
        notes += (f"# b<n> = the buffer s<n> is written into, allocated once "
                  f"({len(plan)} buffers, {sum(b.nbytes for b in plan.values())} bytes)\n")
    exec(compile(src, "<jit program>", "exec"), names.ns)
    return notes + src, names.ns["program"]


def _body(trace, ops, live, as_scalar, names, refs, plan):
    """The program's lines; ``plan``: the buffers results are written into (buffers.py)."""
    body = []
    for i, read in sorted(trace.reads.items()):
        if i not in live:
            continue
        kind, who = read
        if kind == "input":
            src = f"_in[{who}]" if trace.input_is_array[who] else f"_in[{who}].data"
        else:
            obj = refs.get(id(who)) or names.const(who, "tensor " + str(tuple(who.shape)))
            src = f"{obj}.data" if kind == "data" else f"{obj}._grad.data"
        body.append(f"s{i} = {src}")
    state = {"dirty": False, "guards": 0}  # dirty: has the program changed state yet? (a
    # failed guard then cannot fall back)
    grads = {}  # id(tensor) -> the Slot (or None) the program set its .grad to last
    release = _release_points(ops, trace)
    err, setting = (), None  # the np.errstate the lines now written run in (Op.err)
    settings = {}
    for e in dict.fromkeys(op.err for op in ops if op.kind == "call" and op.err):
        settings[e] = names.const(ErrState(e))
    if settings:
        names.ns.update(ERR_HELPERS)
        body += prelude_lines(list(settings.values()))
    for k, op in enumerate(ops):
        want = op.err if op.kind == "call" else ()
        if want != err:  # the engine's np.errstate around these calls, as in the eager step
            if err:
                body += ["finally:", f"    {exit_line(setting)}"]
            err = want
            if err:
                setting = settings[err]
                body += enter_lines(setting) + ["try:"]
        lines = ["del " + ", ".join(f"s{i}" for i in release[k - 1])] if k - 1 in release else []
        lines += _op_lines(op, trace, as_scalar, names, refs, plan, grads, state)
        body += [f"    {line}" for line in lines] if err else lines
    if err:
        body += ["finally:", f"    {exit_line(setting)}"]
    body.append(f"return {_render_output(trace.output, names, refs)}")
    return body


def _op_lines(op, trace, as_scalar, names, refs, plan, grads, state):
    """The lines of one op."""
    if op.kind == "guard":
        state["guards"] += 1
        return [f"if bool(s{op.args[0].i}) is not {op.kwargs['expected']}: "
                f"_guard_failed({state['guards'] - 1}, {not state['dirty']})"]
    if op.kind in ("macro", "setdata", "setgrad", "draw") or any(
            w not in trace.fresh for w in op.writes):
        state["dirty"] = True
    if op.kind == "macro":
        return sgd_lines(op.fn, grads, names, refs, trace.values, *op.args)
    if op.kind in ("setdata", "setgrad"):
        who = refs.get(id(op.fn)) or names.const(op.fn, "tensor " + str(tuple(op.fn.shape)))
        val = op.args[0]
        if op.kind == "setdata":
            return [f"{who}.data = s{val.i}"]
        grads[id(op.fn)] = val
        return [f"{who}._grad = " + ("None" if val is None else f"_w(s{val.i})")]
    outs = _outs(op)
    buf = plan.get(op.outs) if type(op.outs) is int else None
    if buf is not None:
        names.ns[f"b{op.outs}"] = buf
    call = _call_src(op, names, refs, None if buf is None else f"b{op.outs}")
    if not outs:
        return [call]
    if type(op.outs) is not tuple:
        return [f"s{outs[0]} = _a({call})" if op.scalar and outs[0] not in as_scalar
                else f"s{outs[0]} = {call}"]
    lines = [f"_r = {call}"]
    for k, i in enumerate(outs):
        if i is not None:
            lines.append(f"s{i} = _a(_r[{k}])" if k in op.scalar else f"s{i} = _r[{k}]")
    return lines


def _render_output(out, names, refs):
    kind = out[0]
    if kind == "tensor":
        _, slot, rg, ctx = out
        return f"_ret(s{slot.i}, {rg}, {ctx})"
    if kind == "const_tensor":
        _, arr, rg = out
        return f"_ret({names.const(arr)}.copy(), {rg}, False)"
    if kind == "state":
        return refs.get(id(out[1])) or names.const(out[1])
    if kind == "array":
        return f"s{out[1].i}"
    if kind == "value":
        return _render(out[1], names, refs)
    if kind == "seq":
        items = [_render_output(o, names, refs) for o in out[2]]
        inner = ", ".join(items)
        if out[1] is list:
            return f"[{inner}]"
        return f"({inner},)" if len(items) == 1 else f"({inner})"
    if kind == "dict":
        return "{" + ", ".join(f"{k!r}: {_render_output(v, names, refs)}" for k, v in out[1]) + "}"
    raise AssertionError(kind)
