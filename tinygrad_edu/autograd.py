"""The reverse-mode engine: graph nodes, the backward pass and ``grad``.

How it works, in four steps (``docs/engine.md`` walks through them):

1. Recording. Every op computes its forward result with numpy, then calls
   :func:`record`. If grad mode is on and some input requires grad, the result
   gets a :class:`Node` holding the op's backward rule and its inputs.
2. Ordering. Every node has a creation number, and a node's inputs were
   created before it, so visiting tensors in decreasing creation number (a
   heap in :func:`run_backward`) visits each one after every op that used
   it. No recursion, so a chain of a million ops is fine.
3. The chain rule. Walking that order, each node's rule turns the gradient of
   its output into gradients of its inputs (a vector-Jacobian product). A
   tensor used twice receives two contributions, which are added.
4. Broadcasting. A rule may return a gradient shaped like the broadcast
   result; :func:`unbroadcast` sums it back to the input's shape, here and
   nowhere else.

Backward rules have the signature ``rule(g, out, inputs, saved, needs)``:
``g`` is the gradient of the op's output, ``out`` the output value, ``inputs``
the op's inputs, ``saved`` whatever extra the forward kept (axes, indices),
``needs`` one bool per input (False: return None and skip the work). They are
written with numpy functions and operators only, so the same rule runs on
plain arrays (the fast path) and, with ``create_graph=True``, on Tensors,
where numpy's dispatch protocol records the backward pass as a new graph.
"""
from __future__ import annotations

import heapq
import itertools
import traceback
from heapq import heappop, heappush

import numpy as np

from ._mode import mode

__all__ = ["Node", "record", "unbroadcast", "run_backward", "grad"]

_creation = itertools.count()  # next() is atomic under the GIL: threads get distinct numbers

_FREED = (
    "Trying to backward through the graph a second time (or to use values it "
    "saved after they were freed): the first backward released them. Pass "
    "retain_graph=True to the first backward if you need to call it again."
)


class Node:
    """One recorded operation: how to send gradients back to its inputs.

    Attributes: ``rule`` (the backward function), ``inputs`` (Tensors and
    constants as passed to the forward), ``needs`` (per input: does it want a
    gradient), ``saved`` (extra forward values), ``where`` (the user's stack
    frame, only recorded under ``detect_anomaly``). ``inputs`` becomes None
    once the node has been back-propagated without ``retain_graph``.
    """

    __slots__ = ("rule", "inputs", "vals", "needs", "saved", "where", "clock", "seq")

    def __init__(self, rule, inputs, needs, saved, vals=None):
        self.rule = rule
        self.inputs = inputs
        self.vals = vals  # the inputs' arrays, when the op passed them (saves work in backward)
        self.needs = needs
        self.saved = saved
        self.where = _user_frame() if mode.anomaly else None
        self.clock = _clock[0]  # in-place writes so far: see inplace.py
        self.seq = next(_creation)  # creation order: a valid topological order

    @property
    def name(self) -> str:
        """The op's name, e.g. ``"mul"`` (from the rule's ``op`` attribute)."""
        return getattr(self.rule, "op", self.rule.__name__)

    def __repr__(self):
        return f"<{self.name}>"


def _user_frame():
    """The innermost stack frame outside this package, as 'file:line in func'."""
    import os

    pkg = os.path.dirname(os.path.abspath(__file__))
    for frame in reversed(traceback.extract_stack()[:-2]):
        if not os.path.abspath(frame.filename).startswith(pkg):
            return f"{frame.filename}:{frame.lineno} in {frame.name}"
    return "<unknown>"


def backward_rule(op_name):
    """Decorator naming a backward rule's op (used in errors, repr and viz)."""

    def mark(rule):
        rule.op = op_name
        return rule

    return mark


def record(data, rule, inputs, saved=None, vals=None):
    """Wrap an op's forward result ``data`` in a Tensor, recording the op.

    ``inputs`` is the tuple of the op's operands (Tensors or constants);
    ``vals``, optionally, their numpy values, which the op already has. The
    result is a leaf that does not require grad when grad mode is off or no
    input requires grad; otherwise it gets a :class:`Node`. This is the hot
    path of every op, so it does as little as possible.

    Raises TypeError when a node would be recorded for a complex result:
    complex autograd is not supported.
    """
    if type(data) is not np.ndarray and not isinstance(data, np.ndarray):
        data = np.asarray(data)  # numpy returns scalars for 0-d results; .data is always an array
    out = _new(Tensor)
    out.data = data
    out._grad = None
    out._meta = None
    if mode.grad_enabled:
        needs = [x.requires_grad if isinstance(x, Tensor) else False for x in inputs]
        if True in needs:
            dt = data.dtype
            if dt is not _F64 and dt.kind == "c":  # float64, the usual case: one identity test
                raise TypeError(_complex_error(rule, inputs, data))
            out.requires_grad = True
            out._ctx = Node(rule, inputs, needs, saved, vals)
            return out
    out.requires_grad = False
    out._ctx = None
    return out


_F64 = np.dtype(np.float64)


def _complex_error(rule, inputs, data):
    name = getattr(rule, "op", getattr(rule, "__name__", "op"))
    dtypes = ", ".join(str(x.dtype) if isinstance(x, Tensor) else type(x).__name__ for x in inputs)
    return (f"{name}: the result would be complex ({data.dtype}, from inputs {dtypes}) while an "
            "input requires grad, but complex autograd is not supported (no complex gradient "
            "convention). Differentiate the real and imaginary parts as separate real tensors, "
            "or detach() the inputs for a plain complex computation.")


def unbroadcast(g, shape):
    """Sum gradient ``g`` down to ``shape``, undoing numpy broadcasting.

    Broadcasting prepends axes and stretches size-1 axes; the gradient of a
    broadcast copy is the sum over the copies. A ``shape`` with more axes
    than ``g`` (leading size-1 axes, which numpy's assignment drops) gets
    them back. Works for arrays and Tensors.
    """
    if g.shape == shape:
        return g
    lead = g.ndim - len(shape)
    if lead < 0:
        # numpy assignment (x[idx] = v) also drops leading size-1 axes of v:
        # give the gradient those axes back
        return unbroadcast(g.reshape((1,) * -lead + tuple(g.shape)), shape)
    stretched = tuple(i + lead for i, n in enumerate(shape) if n == 1 and g.shape[i + lead] != 1)
    if isinstance(g, Tensor):  # create_graph: recorded ops
        if stretched:
            g = g.sum(axis=stretched, keepdims=True)
        return g.sum(axis=tuple(range(lead))) if lead else g
    # arrays: ufunc reductions directly (no Python wrapper), giving a fresh array of `shape`
    if stretched:
        g = np.add.reduce(g, axis=stretched, keepdims=True)
    return np.add.reduce(g, axis=tuple(range(lead))) if lead else g


def _as_tensor(g):
    return g if isinstance(g, Tensor) else Tensor._wrap(g if isinstance(g, np.ndarray) else np.asarray(g))


def _trace_error(msg):
    from ._jit.errors import TraceError

    return TraceError(msg)


def _run_hooks(t, g, create_graph):
    """Apply ``t``'s hooks to gradient ``g``; a hook may return a replacement."""
    if mode.tracing is not None:
        raise _trace_error("a tensor hook (register_hook) ran inside a jitted function: hooks "
                           "are Python code on gradient values, which a replay cannot run")
    for hook in t._meta["hooks"]:
        gt = g if create_graph else Tensor._wrap(_read_only(g))
        new = hook(gt)
        if new is not None:
            if tuple(new.shape) != t.shape:
                raise RuntimeError(
                    f"hook {hook!r} returned a gradient of shape {tuple(new.shape)} "
                    f"for a tensor of shape {t.shape}"
                )
            g = _as_tensor(new) if create_graph else np.array(new.data if isinstance(new, Tensor) else new)
            if g.dtype != t.dtype:
                g = g.astype(t.dtype)  # a gradient always has its tensor's dtype
    return g


def _read_only(g):
    """A read-only view of gradient ``g``: hooks must not modify their argument,
    which may be the very array the engine hands to other tensors too."""
    v = np.asarray(g).view()
    v.flags.writeable = False
    return v


def _seed_gradients(roots, grad_outputs, create_graph):
    seeds = {}
    for i, (r, g) in enumerate(zip(roots, grad_outputs)):
        if not isinstance(r, Tensor):
            raise TypeError(f"backward: outputs must be Tensors, got {type(r).__name__}")
        if not r.requires_grad:
            raise RuntimeError(
                f"element {i} of tensors does not require grad and does not have a "
                "grad_fn: nothing to differentiate (did you forget requires_grad=True, "
                "or compute it under no_grad?)"
            )
        if g is None:
            if r.data.size != 1:
                raise RuntimeError(
                    f"grad can be implicitly created only for scalar outputs: the output "
                    f"has shape {r.shape}, so pass a gradient of that shape"
                )
            g = np.ones(r.shape, dtype=r.dtype)
        else:
            # (an ndarray as it is: np.asarray would make a plain view of a jit-traced one,
            # and the cast below a copy the recording cannot follow)
            garr = g.data if isinstance(g, Tensor) else g if isinstance(g, np.ndarray) else np.asarray(g)
            if garr.dtype.kind not in "biufc":
                raise TypeError(f"backward: the gradient must be a Tensor or a numeric array, got "
                                f"{type(g).__name__} (dtype {garr.dtype})")
            if garr.shape != r.shape:
                raise RuntimeError(
                    f"backward: gradient has shape {garr.shape} but the output has "
                    f"shape {r.shape}; they must match"
                )
            if create_graph and isinstance(g, Tensor):
                g = g if g.dtype == r.dtype else g.astype(r.dtype)
            else:
                g = garr.astype(r.dtype, copy=True)
        if create_graph:
            g = _as_tensor(g)
        seeds[r] = seeds[r] + g if r in seeds else g
    return seeds


def run_backward(roots, grad_outputs, retain_graph, create_graph, inputs=None):
    """Back-propagate from ``roots``; the shared engine of backward and grad.

    Order: a node's inputs were all created before it, so visiting tensors
    in decreasing node creation number (``Node.seq``) visits each one after
    every op that consumed it. A heap holds the tensors that have received
    a gradient and not yet passed it on; no recursion, no separate sorting
    pass, and each tensor is visited once.

    With ``inputs=None`` gradients accumulate into the ``.grad`` of leaves
    (and of non-leaves that called ``retain_grad``). Otherwise the gradients
    of ``inputs`` are returned as a list (None where unreached) and no
    ``.grad`` changes.
    """
    if mode.tracing is not None and create_graph:
        raise _trace_error("backward/grad with create_graph=True inside a jitted function: "
                           "higher-order graphs are not recorded")
    grads = _seed_gradients(roots, grad_outputs, create_graph)
    heap = [(-t._ctx.seq, t) for t in grads if t._ctx is not None]
    heapq.heapify(heap)
    capture = None if inputs is None else {t: None for t in inputs}
    handed = set()  # ids of arrays already stored in some .grad during this call
    prev_mode = mode.grad_enabled
    check_all = mode.anomaly  # backward run under detect_anomaly checks every node
    mode.grad_enabled = create_graph  # rules record only when building a graph of the backward
    try:
        push, get, is_tensor, clock = heappush, grads.get, isinstance, _clock  # locals: hot loop
        t = None  # the next tensor, when it is the only one pending (a chain): no heap needed
        while True:
            if t is None:
                if not heap:
                    break
                t = heappop(heap)[1]
            g = grads.pop(t)
            node = t._ctx
            operands = node.inputs
            if operands is None:  # a rule may explain why (a jit replay keeps no graph)
                raise RuntimeError(getattr(node.rule, "freed_message", _FREED))
            if node.clock != clock[0]:  # something was written in place since: check
                check_node(node, t)
                operands = node.inputs  # it may have swapped in snapshots of rewritten inputs
            if t._meta is not None or capture is not None:
                g = _visit_non_leaf(t, g, create_graph, handed, capture)
            if create_graph:
                in_grads = node.rule(g, t, operands, node.saved, node.needs)
            else:
                vals = node.vals
                if vals is None:
                    vals = [x.data if is_tensor(x, Tensor) else x for x in operands]
                in_grads = node.rule(g, t.data, vals, node.saved, node.needs)
            if node.where is not None or check_all:
                _check_finite(node, in_grads)
            nxt = None
            for x, gx in zip(operands, in_grads):
                if gx is None:
                    continue
                xd = x.data
                if gx.shape != xd.shape:
                    gx = unbroadcast(gx, xd.shape)
                if gx.dtype is not xd.dtype and gx.dtype != xd.dtype:
                    gx = gx.astype(xd.dtype)
                xc = x._ctx
                if xc is not None and xc.clock != node.clock:  # a write happened in between
                    check_edge(node, x)
                prev = get(x)
                if prev is None:
                    grads[x] = gx
                    if xc is not None:
                        if nxt is None and not heap:
                            nxt = x
                        else:
                            push(heap, (-xc.seq, x))
                else:
                    grads[x] = prev + gx
            if nxt is not None and heap:  # not alone after all: the heap orders them
                push(heap, (-nxt._ctx.seq, nxt))
                nxt = None
            t = nxt
            if not retain_graph:
                node.inputs = node.saved = node.vals = None  # free what the graph held
        # What is left in ``grads`` are leaves; writing them last means an
        # error above leaves every leaf's .grad as it was.
        for t, g in grads.items():
            if t._meta is not None and t._meta.get("hooks"):
                g = _run_hooks(t, g, create_graph)
            if capture is None:
                _accumulate_grad(t, g, create_graph, handed)
            elif t in capture:
                capture[t] = g
    finally:
        mode.grad_enabled = prev_mode
    if capture is not None:
        # One entry per input, in order: a tensor listed twice gets its gradient twice.
        return [None if capture[t] is None else _as_tensor(capture[t]) for t in inputs]
    return None


def _visit_non_leaf(t, g, create_graph, handed, capture):
    """Hooks, ``retain_grad`` and ``grad(inputs=...)`` capture at a non-leaf tensor."""
    meta = t._meta
    if mode.tracing is not None and meta is not None and meta.get("retains_grad"):
        raise _trace_error("retain_grad() inside a jitted function is not supported: return "
                           "what you need from the function instead")
    if meta is not None and meta.get("hooks"):
        g = _run_hooks(t, g, create_graph)
    if capture is None:
        if meta is not None and meta.get("retains_grad"):
            _accumulate_grad(t, g, create_graph, handed)
    elif t in capture:
        capture[t] = g
    return g


def _accumulate_grad(t, g, create_graph, handed):
    """Add gradient ``g`` into ``t.grad`` (PyTorch's AccumulateGrad).

    Rules may hand the same array to several inputs (``a + b`` gives both
    the incoming gradient) or return views, so a first write copies unless
    the array is fresh and not already stored in another ``.grad``; later
    writes add in place (into arrays a ``.grad`` owns: not into a graph's
    gradient or a read-only one, which are replaced by the sum instead).
    """
    if mode.tracing is not None:
        mode.tracing.note_grad(t)  # (refused for a tensor a replay would not set)
    if create_graph:
        g = _as_tensor(g)
        if not g.requires_grad:
            # A constant gradient may be the very Tensor handed to another leaf
            # too (a + b gives both the same g), or a read-only broadcast: give
            # this leaf its own array, which later plain backwards add into.
            g = Tensor._wrap(np.array(g.data))
        t._grad = g if t._grad is None else t._grad + g
        return
    if t.grad is None:
        if type(g) is not np.ndarray and not isinstance(g, np.ndarray):
            g = np.array(g)  # a numpy scalar from a 0-d op
        elif g.base is not None or id(g) in handed or not g.flags.writeable:
            g = g.copy()
        handed.add(id(g))
        t._grad = Tensor._wrap(g)
    elif t._grad.requires_grad or t._grad.shape != g.shape or not t._grad.data.flags.writeable:
        s = t._grad.data + g
        t._grad = Tensor._wrap(s if isinstance(s, np.ndarray) else np.asarray(s))  # 0-d + 0-d gives a numpy scalar
    else:
        np.add(t.grad.data, g, out=t.grad.data, casting="unsafe")
        _write(t.grad.data)  # a graph that read this .grad must not use the new value


def _check_finite(node, in_grads):
    for k, gx in enumerate(in_grads):
        if gx is None:
            continue
        arr = gx.data if isinstance(gx, Tensor) else gx
        if not np.all(np.isfinite(arr)):
            raise RuntimeError(
                f"detect_anomaly: the backward of '{node.name}' returned non-finite "
                f"values (nan or inf) in its gradient for input {k}. The forward op "
                + (f"was created at {node.where}" if node.where is not None else
                   "ran outside detect_anomaly, so where it was created is unknown: run the "
                   "forward inside detect_anomaly too")
            )


def grad(outputs, inputs, grad_outputs=None, retain_graph=None, create_graph=False,
         allow_unused=False):
    """Gradients of ``outputs`` with respect to ``inputs``, without touching ``.grad``.

    Args:
        outputs: a Tensor or sequence of Tensors to differentiate.
        inputs: a Tensor or sequence of Tensors (leaves or not).
        grad_outputs: the vector in the vector-Jacobian product, one per output
            (same shape as it); None means ones for scalar outputs.
        retain_graph: keep the graph for another backward; defaults to
            ``create_graph``.
        create_graph: record the backward pass so the result can be
            differentiated again (second derivatives).
        allow_unused: return None for an input the outputs do not depend on,
            instead of raising.

    Returns:
        A tuple with one Tensor per input, shaped and typed like that input.

    Raises:
        RuntimeError: an output needs no grad, a non-scalar output has no
            ``grad_outputs``, the graph was already freed, or (without
            ``allow_unused``) an input was not used to compute the outputs.
    """
    outs = (outputs,) if isinstance(outputs, Tensor) else tuple(outputs)
    ins = (inputs,) if isinstance(inputs, Tensor) else tuple(inputs)
    if grad_outputs is None:
        gouts = (None,) * len(outs)
    elif isinstance(grad_outputs, (Tensor, np.ndarray)):
        gouts = (grad_outputs,)
    else:
        gouts = tuple(grad_outputs)
    if len(gouts) != len(outs):
        raise ValueError(f"grad: {len(outs)} outputs but {len(gouts)} grad_outputs")
    for i, x in enumerate(ins):
        if not isinstance(x, Tensor):
            raise TypeError(f"grad: input {i} is a {type(x).__name__}, not a Tensor")
        if not x.requires_grad:
            raise RuntimeError(f"grad: input {i} does not require grad")
    if retain_graph is None:
        retain_graph = create_graph
    result = run_backward(outs, gouts, retain_graph, create_graph, inputs=ins)
    for i, g in enumerate(result):
        if g is None and not allow_unused:
            raise RuntimeError(
                f"grad: input {i} (shape {ins[i].shape}) was not used to compute the "
                "outputs; pass allow_unused=True to get None for it"
            )
    return tuple(result)


from .tensor import Tensor  # noqa: E402  (Tensor imports this module's record)

from .inplace import _clock, _write, check_edge, check_node  # noqa: E402

_new = Tensor.__new__
