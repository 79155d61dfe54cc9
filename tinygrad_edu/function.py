"""User-defined differentiable ops: :class:`Function`, in PyTorch's form.

Subclass ``Function``, write a forward and a backward as static methods, and
call ``MyOp.apply(*args)``::

    class Cube(Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x * x * x

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return g * 3 * x * x

    y = Cube.apply(x)

How it plugs into the engine: ``apply`` runs ``forward`` under ``no_grad``
and hands the result to :func:`~tinygrad_edu.autograd.record` with a backward
rule (named after the subclass) that calls ``backward``. So a Function is an
op like the built-in ones: the engine sums broadcast gradients back to each
input's shape, accumulates multiple uses, skips recording under ``no_grad``,
checks for NaN under ``detect_anomaly``, and with ``create_graph=True`` runs
``backward`` with grad mode on, so a backward written with tensor ops is
itself recorded and can be differentiated again.

Multiple outputs. The engine's nodes have one output each. A forward that
returns a tuple of k tensors is recorded as one hidden node, named after the
subclass, whose "output" stands for all k outputs laid end to end (a
flattened vector of their total size; it takes no memory, being a broadcast
zero), and k small nodes ``Name[i]`` that each pick their piece. Each piece
node sends its gradient into its slice of the hidden node's gradient, the
engine adds the pieces up, and the hidden node's rule splits that vector
again and calls ``backward`` once with all k gradients, zeros for outputs
that received none (as PyTorch does). Outputs of integer or bool dtype are
not differentiable: they are returned as plain tensors, and ``backward``
receives zeros for them.
"""
from __future__ import annotations

import numpy as np

from ._mode import mode, no_grad
from .autograd import backward_rule, record
from .ops._common import asarray as _asarray  # np.asarray, but a jit-traced array stays traced
from .ops.shape import index_add
from .tensor import Tensor

__all__ = ["Function", "FunctionCtx"]


class FunctionCtx:
    """The ``ctx`` passed to a Function's ``forward`` and ``backward``.

    Attributes:
        needs_input_grad: a tuple of bools, one per positional argument of
            ``apply``: True when that argument is a Tensor that requires grad
            and grad mode is on. ``backward`` may skip work for the others: a
            gradient returned for a Tensor that needs none is ignored (for an
            argument that is not a Tensor it must be None).

    Any other attribute may be set freely in ``forward`` (shapes, axes,
    flags) and read in ``backward``.
    """

    def __init__(self, needs_input_grad):
        self.needs_input_grad = needs_input_grad
        self._to_save = ()
        self._saved = None       # list of (tensor, output index or None), set by apply
        self._graph_out = None   # during a create_graph backward: the recorded output
        self._outputs = None     # the tensors forward returned (data holders)
        self._layout = None      # multiple outputs: (offset, total) per output, None if not differentiable
        self._select_rules = None  # multiple outputs: output index -> its pick rule
        self._is_tensor = ()     # per argument: was it a Tensor

    def save_for_backward(self, *tensors):
        """Keep Tensors (or None) for ``backward``, to be read from ``saved_tensors``.

        Save inputs and outputs here rather than as attributes: then, in a
        ``create_graph`` backward, they are the recorded tensors of the graph,
        so second derivatives flow through them (an output saved this way
        is the op's result with its history, as in PyTorch).

        Raises TypeError for anything that is not a Tensor or None.
        """
        for i, t in enumerate(tensors):
            if t is not None and not isinstance(t, Tensor):
                raise TypeError(
                    f"save_for_backward: argument {i} is a {type(t).__name__}; only Tensors "
                    "(or None) can be saved: keep other values as attributes of ctx"
                )
        self._to_save = tensors

    @property
    def saved_tensors(self) -> tuple:
        """The tensors given to ``save_for_backward``, in order.

        In a ``create_graph`` backward, saved outputs come back as the
        recorded outputs (so they carry the graph).
        """
        if self._saved is None:
            return tuple(self._to_save)
        if self._graph_out is None:
            return tuple(t for t, _ in self._saved)
        return tuple(t if j is None else self._output_in_graph(j) for t, j in self._saved)

    def _saved_arrays(self):
        """The arrays ``saved_tensors`` gives backward (read by inplace.check_node)."""
        return [t.data for t, _ in (self._saved or ()) if t is not None]

    def _output_in_graph(self, j):
        out = self._graph_out
        if self._layout is None:
            return out  # single output: the rule's ``out`` is the recorded result itself
        piece = self._layout[j]
        if piece is None:
            return self._outputs[j]
        # Rebuild output j as a fresh pick from the hidden node (grad mode is on here).
        return record(self._outputs[j].data, self._select_rules[j], (out,), piece)


class Function:
    """Base class for differentiable operations written by the user.

    Subclasses define two static methods:

    ``forward(ctx, *args, **kwargs)``
        Runs under ``no_grad`` and receives the arguments as given (Tensors
        stay Tensors). Returns a Tensor (or numpy array), or a tuple of them.
    ``backward(ctx, *grads)``
        Receives one gradient Tensor per output of ``forward`` (zeros for an
        output that received no gradient) and returns one gradient per
        positional argument of ``forward``: a Tensor, an array, or None
        (no gradient; required for arguments that are not Tensors). A
        gradient may have the input's shape or any shape the input
        broadcasts to; it is then summed back, as for built-in ops.
        Runs under ``no_grad`` normally, and with grad mode on under
        ``backward(create_graph=True)``, so that a backward written with
        tensor ops is recorded (higher derivatives).

    Keyword arguments go to ``forward`` unchanged and get no gradient;
    Tensors inside lists or other containers are not tracked either.

    Raises (from ``apply`` or during backward, naming the subclass):
        TypeError: forward returns something other than Tensors/arrays, a
            keyword argument is a Tensor that requires grad, or a gradient
            is not numeric.
        RuntimeError: backward returns the wrong number of gradients, a
            gradient whose shape is neither the input's nor a shape the
            input broadcasts to, or a gradient for a non-Tensor argument.
    """

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        name = cls.__name__

        @backward_rule(name)
        def rule(g, out, inputs, ctx, needs):
            return _call_backward(cls, ctx, (g,), out, inputs, needs)

        @backward_rule(name)
        def rule_multi(g, out, inputs, ctx, needs):
            return _call_backward(cls, ctx, _split(ctx, g), out, inputs, needs)

        rule_multi.packs_outputs = True  # lets viz label the hidden node
        cls._rule, cls._rule_multi = rule, rule_multi
        cls._select_rules = {}

    @staticmethod
    def forward(ctx, *args, **kwargs):
        """Compute the op's result(s) from its arguments (override this)."""
        raise NotImplementedError("subclasses of Function must implement forward(ctx, *args)")

    @staticmethod
    def backward(ctx, *grads):
        """Return one gradient per forward argument (override this)."""
        raise NotImplementedError("subclasses of Function must implement backward(ctx, *grads)")

    @classmethod
    def apply(cls, *args, **kwargs):
        """Run ``forward`` on ``args`` and record the op for backward.

        Returns a Tensor, or a tuple of Tensors when ``forward`` returns a
        tuple. Nothing is recorded when grad mode is off or no Tensor
        argument requires grad.
        """
        if cls is Function:
            raise TypeError("Function.apply: call apply on a subclass that defines forward and backward")
        name = cls.__name__
        grad_on = mode.grad_enabled
        for key, v in kwargs.items():
            if grad_on and isinstance(v, Tensor) and v.requires_grad:
                raise TypeError(
                    f"{name}.apply: keyword argument {key!r} is a Tensor that requires grad, but "
                    "keyword arguments get no gradient; pass it positionally"
                )
        needs = tuple(grad_on and isinstance(a, Tensor) and a.requires_grad for a in args)
        ctx = FunctionCtx(needs)
        with no_grad():
            raw = cls.forward(ctx, *args, **kwargs)
        multi = isinstance(raw, tuple)
        outs = tuple(_as_output(name, i, o) for i, o in enumerate(raw if multi else (raw,)))
        if not outs:
            raise TypeError(f"{name}.forward returned an empty tuple; it must return at least one Tensor")
        if True not in needs:
            results = tuple(Tensor._wrap(o.data) for o in outs)
            return results if multi else results[0]
        ctx._saved = _resolve_saved(ctx._to_save, args, outs)
        # An output that is an argument's own array (forward returned its input)
        # becomes a view of it, so in-place ops on the output see the sharing.
        own = {id(a.data) for a in args if isinstance(a, Tensor)}
        outs = tuple(Tensor._wrap(o.data.view()) if id(o.data) in own else o for o in outs)
        ctx._outputs = outs
        ctx._to_save = ()
        ctx._is_tensor = tuple(isinstance(a, Tensor) for a in args)
        if not multi:
            o = outs[0]
            if not _differentiable(o.data):
                return Tensor._wrap(o.data)
            return record(o.data, cls._rule, args, ctx)
        return _record_multi(cls, ctx, args, outs)


def _as_output(name, i, o):
    if isinstance(o, Tensor):
        return o
    if isinstance(o, (np.ndarray, np.generic)):
        return Tensor._wrap(_asarray(o))
    raise TypeError(
        f"{name}.forward must return Tensors (or numpy arrays), but output {i} is a "
        f"{type(o).__name__}"
    )


def _differentiable(arr):
    # Complex outputs go on to record(), which refuses them (complex autograd is
    # not supported) rather than silently returning them without a graph.
    return arr.dtype.kind in "fc"


def _resolve_saved(to_save, args, outs):
    """Mark which saved tensors are outputs (by identity), so a create_graph
    backward can hand back the recorded output instead of the bare one.
    An argument returned unchanged counts as the argument."""
    saved = []
    for t in to_save:
        j = None
        if t is not None and not any(t is a for a in args):
            j = next((k for k, o in enumerate(outs) if t is o), None)
        saved.append((t, j))
    return saved


def _record_multi(cls, ctx, args, outs):
    diff = [o for o in outs if _differentiable(o.data)]
    if not diff:
        return tuple(Tensor._wrap(o.data) for o in outs)
    dtype = np.result_type(*(o.dtype for o in diff))
    layout, total = [], 0
    for o in outs:
        if _differentiable(o.data):
            layout.append((total, o.data.size))
            total += o.data.size
        else:
            layout.append(None)
    ctx._layout = [None if p is None else (p[0], total) for p in layout]
    ctx._select_rules = {j: _select_rule(cls, j) for j, p in enumerate(layout) if p is not None}
    # The hidden node's value is never read, only its shape and dtype: a
    # broadcast zero gives both without allocating.
    hidden = record(np.broadcast_to(np.zeros((), dtype), (total,)), cls._rule_multi, args, ctx)
    return tuple(
        Tensor._wrap(o.data) if p is None else record(o.data, ctx._select_rules[j], (hidden,), p)
        for j, (o, p) in enumerate(zip(outs, ctx._layout))
    )


def _select_rule(cls, j):
    rule = cls._select_rules.get(j)
    if rule is None:

        @backward_rule(f"{cls.__name__}[{j}]")
        def rule(g, out, inputs, saved, needs):
            off, total = saved
            # Place this output's gradient in its slice of the hidden gradient;
            # index_add records itself when g is a Tensor (create_graph).
            return (index_add(g.reshape(-1), slice(off, off + g.size), (total,)),)

        cls._select_rules[j] = rule
    return rule


def _split(ctx, g):
    """Cut the hidden node's flat gradient back into one gradient per output."""
    graph = isinstance(g, Tensor)
    grads = []
    for o, piece in zip(ctx._outputs, ctx._layout):
        if piece is None:
            z = np.zeros(o.shape, dtype=o.dtype)
            grads.append(Tensor._wrap(z) if graph else z)
            continue
        off = piece[0]
        gi = g[off:off + o.data.size].reshape(o.shape)
        if gi.dtype != o.dtype:
            gi = gi.astype(o.dtype)
        grads.append(gi)
    return grads


def _call_backward(cls, ctx, grads, out, inputs, needs):
    """The backward rule of every Function: call the user's backward and check its answer."""
    name = cls.__name__
    graph = mode.grad_enabled  # the engine turns grad mode on only for create_graph
    if graph:
        grads = tuple(g if isinstance(g, Tensor) else Tensor._wrap(_asarray(g)) for g in grads)
        ctx._graph_out = out
    else:
        grads = tuple(Tensor._wrap(g) for g in grads)
    try:
        res = cls.backward(ctx, *grads)
    finally:
        ctx._graph_out = None
    if not isinstance(res, (tuple, list)):
        res = (res,)
    n = len(inputs)
    if len(res) != n:
        raise RuntimeError(
            f"{name}.backward returned {len(res)} gradient{'s' if len(res) != 1 else ''}, but "
            f"forward took {n} argument{'s' if n != 1 else ''}: return one gradient (or None) "
            "per argument"
        )
    out_grads = []
    for i, (gi, need, is_t, x) in enumerate(zip(res, needs, ctx._is_tensor, inputs)):
        if gi is None:
            out_grads.append(None)
            continue
        if not is_t:
            raise RuntimeError(
                f"{name}.backward returned a gradient for argument {i}, which is a "
                f"{type(x).__name__}, not a Tensor: return None for it"
            )
        if not need:
            out_grads.append(None)
            continue
        if graph:
            gi = gi if isinstance(gi, Tensor) else Tensor._wrap(_asarray(gi))
            arr = gi.data
        else:
            gi = arr = gi.data if isinstance(gi, Tensor) else _asarray(gi)
        if arr.dtype.kind not in "fciub":
            raise TypeError(
                f"{name}.backward returned a gradient of dtype {arr.dtype} for input {i}; "
                "gradients must be numeric"
            )
        _check_shape(name, i, arr.shape, np.shape(x))
        out_grads.append(gi)
    return tuple(out_grads)


def _check_shape(name, i, gshape, xshape):
    if gshape == xshape:
        return
    try:
        ok = np.broadcast_shapes(xshape, gshape) == gshape
    except ValueError:
        ok = False
    if not ok:
        raise RuntimeError(
            f"{name}.backward returned a gradient of shape {gshape} for input {i} of shape "
            f"{xshape}: it must have the input's shape, or a shape the input broadcasts to "
            "(which is then summed back)"
        )
