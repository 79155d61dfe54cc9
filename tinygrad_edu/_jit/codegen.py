"""Turn a recording into a flat Python function of numpy calls (also the printable ``.program``).

One line per logged call, locals ``s<n>`` for slots, every non-literal
constant (numpy callables, arrays, tensors, optimizers) a global ``k<n>`` of
the function's namespace. Calls whose results are never used and that write
nothing are dropped (dead code); nothing else is changed, so each replayed
call is the very call the eager step made, on the same values: the replay is
exact by construction.
"""
from __future__ import annotations

import math
import re
import threading

import numpy as np

from .buffers import buffer_plan
from .callforms import full_reductions, scalar_operators
from .numbers import typed_numbers
from .recorder import Op, Slot
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


def _slots_in(x, acc):
    if type(x) is Slot:
        acc.add(x.i)
    elif type(x) in (tuple, list):
        for v in x:
            _slots_in(v, acc)
    elif type(x) is dict:
        for v in x.values():
            _slots_in(v, acc)
    return acc


def _outs(op):
    if op.outs is None:
        return ()
    return op.outs if type(op.outs) is tuple else (op.outs,)


def live_ops(ops, output):
    """Dead-code elimination: the ops whose results reach the output or a write."""
    live = _slots_in(output, set())
    kept = []
    for op in reversed(ops):
        outs = _outs(op)
        if op.effect or any(i in live for i in outs if i is not None):
            kept.append(op)
            _slots_in(op.args, live)
            _slots_in(op.kwargs, live)
            live.update(w for w in op.writes if w is not None)
    kept.reverse()
    return kept, live


def _replace(x, consts):
    if type(x) is Slot:
        return consts.get(x.i, x)
    if type(x) in (tuple, list):
        return type(x)(_replace(v, consts) for v in x)
    if type(x) is dict:
        return {k: _replace(v, consts) for k, v in x.items()}
    return x


def fold_constants(trace):
    """Calls that depend on no input or state (the seed gradient of ``backward``, a
    broadcast of 0.5...) run once: their recorded results become constants.

    Exact because the recording computed them with the same calls on the same
    constants. Only done when every later use of a folded array is a plain input
    of a ufunc call (a fresh result): a shared constant is then never written, nor
    seen by the user. Otherwise nothing is folded.
    """
    folded = set()
    group = []
    for op in trace.ops:
        if op.kind != "call":
            continue
        used = _slots_in(op.args, set()) | _slots_in(op.kwargs, set())
        if used <= folded and set(op.writes) <= (folded | set(_outs(op)) | used):
            if all(w in folded for w in op.writes):
                group.append(op)
                folded.update(i for i in _outs(op) if i is not None)
    if not group:
        return trace.ops
    in_group = set(map(id, group))
    needed = set()
    for op in trace.ops:
        if id(op) in in_group:
            continue
        used = (_slots_in(op.args, set()) | _slots_in(op.kwargs, set())) & folded
        if not used:
            continue
        # out= is fine when the constant is only read: a ufunc writes its out= alone
        if (op.kind != "call" or not isinstance(op.fn, np.ufunc) or used & set(op.writes)
                or used & _slots_in(op.kwargs.get("out"), set())):
            return trace.ops
        needed |= used
    if _slots_in(trace.output, set()) & folded:
        return trace.ops
    values = trace.values
    consts = {}
    for i in needed:
        v = values[i]
        consts[i] = np.ndarray.view(v, np.ndarray) if isinstance(v, np.ndarray) else v
    out = []
    for op in trace.ops:
        if id(op) in in_group:
            continue
        if consts and op.kind == "call":
            new = Op(op.kind, op.fn, _replace(op.args, consts), _replace(op.kwargs, consts),
                     op.outs, op.scalar, op.effect, op.writes)
            new.where = op.where
            op = new
        out.append(op)
    return out


# Calls that return their first argument itself when numpy recorded so (the
# recording saw the result is the argument): a no-op at replay too, because
# the dtypes that decide it are fixed by the signature.
_IDENTITY_WHEN_SAME = {np.ndarray.astype, np.asarray, np.asanyarray}


def _fresh_result(op):
    """Does ``op`` return a new array sharing no memory with its arguments?"""
    if op.kind != "call" or op.writes or "out" in op.kwargs:
        return False
    fn = op.fn
    if isinstance(fn, np.ufunc):
        return True
    owner = getattr(fn, "__self__", None)
    if isinstance(owner, np.ufunc) and fn.__name__ in ("reduce", "accumulate"):
        return True
    if fn is np.ndarray.dot:  # without out= (its third argument): a new product
        return len(op.args) == 2
    if fn is np.ndarray.astype:  # copy=True (the default) always copies
        copy = op.kwargs.get("copy", op.args[4] if len(op.args) > 4 else True)
        return copy is True
    return False


def _same_const(a, b):
    """Equal as call arguments: slots by number, literals by type and repr (``0.0`` is
    not ``-0.0``, ``1`` is not ``1.0`` nor ``True``; NaN never matches), containers
    item by item, anything else (arrays, dtypes, callables) only if the same object."""
    if type(a) is not type(b):
        return False
    if type(a) is Slot:
        return a.i == b.i
    if type(a) in (tuple, list):
        return len(a) == len(b) and all(map(_same_const, a, b))
    if type(a) is dict:
        return a.keys() == b.keys() and all(_same_const(a[k], b[k]) for k in a)
    if type(a) in (int, float, bool, str, type(None)):
        return a == b and repr(a) == repr(b)
    return a is b


def _escaping(ops, output):
    """Slots whose memory is written, becomes ``.data``/``.grad``, or is returned, and
    every slot that result may be a view of (propagated back through calls that are
    not known to make fresh arrays)."""
    bad = _slots_in(output, set())
    for op in ops:
        bad.update(w for w in op.writes if w is not None)
        if op.kind in ("setdata", "setgrad", "macro", "draw"):
            _slots_in(op.args, bad)
    for op in reversed(ops):
        if not _fresh_result(op) and any(i in bad for i in _outs(op) if i is not None):
            _slots_in(op.args, bad)
            _slots_in(op.kwargs, bad)
    return bad


def peephole(ops, output):
    """Exact rewrites of the call list.

    * A call numpy answered with its own first argument (``astype(copy=False)``
      to the dtype it has, ``np.asarray`` of an array) is dropped: the slot
      already holds that object.
    * Common subexpressions: a call equal to an earlier one (same callable, the
      same slots and constants, see :func:`_same_const`) that makes a fresh array
      (ufuncs without ``out=``, their reductions, ``astype`` copies) is replaced
      by the earlier result, if nothing is written, rebound or drawn between the
      two calls (so the arguments hold the same values, and the same callable on
      the same values gives the same bits) and neither result is written,
      returned or becomes a ``.data``/``.grad`` (or a view of one of those): no
      one can tell the two arrays were one.
    Anything else is kept as recorded.
    """
    bad = _escaping(ops, output)
    rename = {}
    seen = []  # candidate earlier calls since the last write
    out = []
    for op in ops:
        if rename and op.kind != "macro":
            new = Op(op.kind, op.fn, _replace(op.args, rename), _replace(op.kwargs, rename),
                     op.outs, op.scalar, op.effect, op.writes)
            new.where = op.where
            op = new
        if (op.kind == "call" and op.fn in _IDENTITY_WHEN_SAME and not op.writes
                and type(op.outs) is int and op.args and type(op.args[0]) is Slot
                and op.args[0].i == op.outs):
            continue
        if op.kind != "call" or op.writes or op.kind == "draw":
            if op.kind != "guard":
                seen = []
            out.append(op)
            continue
        # (where=: the result's unselected elements are whatever the memory held)
        if _fresh_result(op) and type(op.outs) is int and op.outs not in bad \
                and "where" not in op.kwargs:
            twin = next((q for q in seen if q.fn is op.fn and q.scalar == op.scalar
                         and _same_const(q.args, op.args) and _same_const(q.kwargs, op.kwargs)),
                        None)
            if twin is not None:
                rename[op.outs] = Slot(twin.outs)
                continue
            seen.append(op)
        out.append(op)
    return out


def _in_range(x, stop):
    """``0 <= x < stop`` for every element of the signed-integer array ``x`` (non-empty),
    with one reduction: a negative value viewed as unsigned is at least 2**(bits-1)."""
    return bool(np.maximum.reduce(x.view(x.dtype.str.replace("i", "u")), axis=None) < stop)


def _producer(ops, k, slot):
    for j in range(k - 1, -1, -1):
        if _outs(ops[j]) and slot in _outs(ops[j]):
            return j
    return None


def _match(op, fn, nargs):
    return op.kind == "call" and op.fn is fn and len(op.args) == nargs and not op.writes


def merge_range_guards(ops, values):
    """Exact rewrite of the label checks the engine guards (cross-entropy, nll):

    * ``min(x) >= 0`` and ``max(x) < c`` on a signed-integer ``x`` (two reductions,
      two comparisons, two guards) become one guard ``_in_range(x, c)`` (one
      reduction of ``x`` viewed unsigned): the same condition, failing at the
      place of the first one, with the program in the same state;
    * a later guard ``any(x == k)`` expected False, for an int ``k < 0``, is then
      implied (every element is >= 0) and dropped.
    Only when nothing but pure calls and guards lies between them (so ``x`` holds
    the same values) and the intermediate results are used by nothing else.
    """
    used = {}
    for op in ops:
        for i in _slots_in(op.args, set()) | _slots_in(op.kwargs, set()):
            used[i] = used.get(i, 0) + 1
    out = list(ops)
    drop = set()
    for k, op in enumerate(out):
        if op.kind != "guard" or op.kwargs["expected"] is not True:
            continue
        b = _producer(out, k, op.args[0].i)
        if b is None or not _match(out[b], np.greater_equal, 2) or out[b].args[1] != 0 \
                or type(out[b].args[1]) is not int or type(out[b].args[0]) is not Slot:
            continue
        a = _producer(out, b, out[b].args[0].i)
        if a is None or out[a].fn != np.minimum.reduce or out[a].kwargs != {"axis": None} \
                or len(out[a].args) != 1 or type(out[a].args[0]) is not Slot or out[a].writes:
            continue
        x = out[a].args[0].i
        if not (isinstance(values[x], np.ndarray) and values[x].dtype.kind == "i"
                and values[x].size):
            continue
        # the max guard: the next guard after k, with only pure calls in between
        m = next((j for j in range(k + 1, len(out)) if out[j].kind != "call" or out[j].writes),
                 None)
        if m is None or out[m].kind != "guard" or out[m].kwargs["expected"] is not True:
            continue
        d = _producer(out, m, out[m].args[0].i)
        if d is None or d < k or not _match(out[d], np.less, 2) or type(out[d].args[1]) is not int \
                or not 0 <= out[d].args[1] < 2 ** 31 or type(out[d].args[0]) is not Slot:
            continue
        c = _producer(out, d, out[d].args[0].i)
        if c is None or c < k or out[c].fn != np.maximum.reduce or out[c].kwargs != {"axis": None} \
                or out[c].args != (Slot(x),):
            continue
        if any(used.get(i, 0) != 1 for i in (out[a].outs, out[b].outs, out[c].outs, out[d].outs)):
            continue
        new = Op("call", _in_range, (Slot(x), out[d].args[1]), outs=out[b].outs)
        new.where = out[b].where
        out[b] = new
        drop.update((a, c, d, m))
        # an implied ignore_index test: any(x == k) with k < 0, expected False
        for j in range(m + 1, len(out)):
            g = out[j]
            if g.kind != "guard":
                if g.kind != "call" or g.writes:
                    break
                continue
            if g.kwargs["expected"] is not False:
                continue
            f = _producer(out, j, g.args[0].i)
            if f is None or not _match(out[f], np.ndarray.any, 1) or type(out[f].args[0]) is not Slot \
                    or out[f].kwargs:
                continue
            e = _producer(out, f, out[f].args[0].i)
            if e is not None and _match(out[e], np.equal, 2) and out[e].args[0] == Slot(x) \
                    and type(out[e].args[1]) is int and out[e].args[1] < 0 and not out[e].kwargs:
                drop.add(j)
        break
    return [op for k, op in enumerate(out) if k not in drop]


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
    ops = full_reductions(ops, trace.values)
    as_scalar = _scalar_ok(ops, trace.output)
    ops = typed_numbers(scalar_operators(ops, as_scalar, trace.values), trace.values, names.hints)
    plan = buffer_plan(ops, _escaping(ops, trace.output), trace.values)
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
    dirty = False  # has the program changed state yet? (a failed guard then cannot fall back)
    grads = {}  # id(tensor) -> the Slot (or None) the program set its .grad to last
    release = _release_points(ops, trace)
    guards = 0
    for k, op in enumerate(ops):
        if k - 1 in release:
            body.append("del " + ", ".join(f"s{i}" for i in release[k - 1]))
        if op.kind == "guard":
            body.append(f"if bool(s{op.args[0].i}) is not {op.kwargs['expected']}: "
                        f"_guard_failed({guards}, {not dirty})")
            guards += 1
            continue
        if op.kind in ("macro", "setdata", "setgrad", "draw") or any(
                w not in trace.fresh for w in op.writes):
            dirty = True
        if op.kind == "macro":
            body += sgd_lines(op.fn, grads, names, refs, trace.values)
            continue
        if op.kind in ("setdata", "setgrad"):  # noqa: SIM102
            who = refs.get(id(op.fn)) or names.const(op.fn, "tensor " + str(tuple(op.fn.shape)))
            val = op.args[0]
            if op.kind == "setgrad":
                grads[id(op.fn)] = val
            if op.kind == "setdata":
                body.append(f"{who}.data = s{val.i}")
            else:
                body.append(f"{who}._grad = " + ("None" if val is None else f"_w(s{val.i})"))
            continue
        outs = _outs(op)
        buf = plan.get(op.outs) if type(op.outs) is int else None
        if buf is not None:
            names.ns[f"b{op.outs}"] = buf
        call = _call_src(op, names, refs, None if buf is None else f"b{op.outs}")
        if not outs:
            body.append(call)
        elif type(op.outs) is not tuple:
            body.append(f"s{outs[0]} = _a({call})" if op.scalar and outs[0] not in as_scalar
                        else f"s{outs[0]} = {call}")
        else:
            targets = [f"s{i}" if i is not None else "_" for i in outs]
            body.append(f"_r = {call}")
            for k, tname in enumerate(targets):
                if tname != "_":
                    body.append(f"{tname} = _a(_r[{k}])" if k in op.scalar else f"{tname} = _r[{k}]")
    body.append(f"return {_render_output(trace.output, names, refs)}")
    return body


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
