"""Turn two recordings (see ``_trace.py``) into ONNX nodes, one recorded op at a time.

:class:`Builder` owns the ONNX graph being written (nodes, initializers, fresh
names). :class:`OpView` is what an op's mapping function (``_map_*.py``) sees:
the op's recorded node in both traces, the ONNX names of its inputs, and
helpers that keep the batch axis symbolic.
"""
from __future__ import annotations

import numpy as np

from ..tensor import Tensor

INT64_MAX = np.iinfo(np.int64).max
INT64_MIN = np.iinfo(np.int64).min


class Builder:
    """The graph under construction. ``dtype``: the float dtype everything float is
    exported in; ``opset``: the default domain's opset version."""

    def __init__(self, onnx, dtype, opset):
        self.onnx, self.helper = onnx, onnx.helper
        self.dtype, self.opset = np.dtype(dtype), opset
        self.nodes, self.initializers = [], []
        self.used, self.counter = set(), 0
        self.batch_name = None  # the first input's name, for the batch size at run time
        self._batch = None

    def fresh(self, hint):
        self.counter += 1
        name = f"{hint}_{self.counter}"
        self.used.add(name)
        return name

    def node(self, op, inputs, outputs=1, **attrs):
        """Add one ONNX node; return its output name (a list when ``outputs > 1``).
        ``outputs`` may also be a list of names."""
        outs = [self.fresh(op) for _ in range(outputs)] if isinstance(outputs, int) else list(outputs)
        inputs = list(inputs)
        while inputs and inputs[-1] is None:  # absent trailing optional inputs are left out, not ""
            inputs.pop()
        self.nodes.append(self.helper.make_node(op, ["" if i is None else i for i in inputs], outs,
                                                name=self.fresh(f"n_{op}"), **attrs))
        return outs[0] if len(outs) == 1 else outs

    def value_dtype(self, arr):
        """The dtype an array is exported as: floats in the export dtype, ints as int64."""
        kind = np.asarray(arr).dtype.kind
        return self.dtype if kind == "f" else np.dtype(np.bool_) if kind == "b" else np.dtype(np.int64)

    def const(self, arr, hint="const", name=None, dtype=None):
        """An initializer holding ``arr`` (cast to ``dtype`` or :meth:`value_dtype`)."""
        arr = np.asarray(arr)
        arr = np.array(arr, dtype=dtype or self.value_dtype(arr), order="C")  # keeps 0-d arrays 0-d
        if name is None:
            name = self.fresh(hint)
        else:
            self.used.add(name)
        self.initializers.append(self.onnx.numpy_helper.from_array(arr, name))
        return name

    def ints(self, values):
        return self.const(np.asarray(values, np.int64).reshape(-1), "ints")

    def batch(self):
        """An int64 (1,) tensor: the batch size of the run (axis 0 of the first input)."""
        if self._batch is None:
            shape = self.node("Shape", [self.batch_name])
            self._batch = self.node("Slice", [shape, self.ints([0]), self.ints([1])])
        return self._batch

    def reduce(self, op, x, axes, keepdims=True):
        """``op`` (ReduceSum/Mean/Max/Min) over ``axes``: attribute or input as the opset wants."""
        axes = [int(a) for a in axes]
        if op == "ReduceSum" or self.opset >= 18:
            return self.node(op, [x, self.ints(axes)], keepdims=int(keepdims))
        return self.node(op, [x], axes=axes, keepdims=int(keepdims))


def _dyn_dims(sa, sb):
    return [i for i, (p, q) in enumerate(zip(sa, sb)) if p != q]


class OpView:
    """One recorded op as its mapping function sees it.

    ``node``/``nodeb``: the op's :class:`~tinygrad_edu.autograd.Node` in the two
    traces; ``out``/``outb``: its output Tensors; ``saved``/``savedb``;
    ``batches``: the two batch sizes. ``x(j)`` is the ONNX name of input ``j``.
    """

    def __init__(self, walker, out, outb, outc):
        self.w, self.b = walker, walker.builder
        self.out, self.outb = out, outb
        self.node, self.nodeb, self.nodec = out._ctx, outb._ctx, outc._ctx
        self.name = self.node.name
        self.saved, self.savedb, self.savedc = self.node.saved, self.nodeb.saved, self.nodec.saved
        self.batches = walker.batches

    @property
    def n_inputs(self):
        return len(self.node.inputs)

    def input(self, j):
        return self.node.inputs[j]

    def shape(self, j):
        x = self.node.inputs[j]
        return np.shape(x.data if isinstance(x, Tensor) else x)

    def shapeb(self, j):
        x = self.nodeb.inputs[j]
        return np.shape(x.data if isinstance(x, Tensor) else x)

    def x(self, j, like_output=False):
        """The ONNX name of input ``j``; constants become initializers (cast to the
        output's type with ``like_output``, as binary arithmetic needs)."""
        a, b, c = self.node.inputs[j], self.nodeb.inputs[j], self.nodec.inputs[j]
        if a is None:
            return None
        dtype = self.b.value_dtype(self.out.data) if like_output else None
        name = self.w.value((a, b, c), dtype, self)
        kind = np.asarray(a.data if isinstance(a, Tensor) else a).dtype.kind
        if like_output and kind != "f" and self.out.dtype.kind == "f" and not self.w.is_const(name):
            # an int input (numpy promotes it in float arithmetic; ONNX wants one type)
            name = self.b.node("Cast", [name], to=self.b.helper.np_dtype_to_tensor_dtype(dtype))
        return name

    def dyn(self, sa, sb):
        return _dyn_dims(sa, sb)

    def shape_value(self, sa, sb, allow_minus_one=True):
        """An int64 1-D tensor for target shape ``sa`` (``sb`` in the second trace): the
        batch-dependent sizes (``k * batch``) become ``-1`` (one of them, for Reshape)
        or are computed from the run's batch size."""
        dyn = _dyn_dims(sa, sb)
        if not dyn:
            return self.b.ints(sa)
        if allow_minus_one and len(dyn) == 1:
            return self.b.ints([-1 if i in dyn else n for i, n in enumerate(sa)])
        (ba, bb), pieces, lit = self.batches, [], []
        for i, (p, q) in enumerate(zip(sa, sb)):
            if i not in dyn:
                lit.append(p)
                continue
            if p % ba or q % bb or p // ba != q // bb:
                raise NotImplementedError(f"onnx.export: op '{self.name}' makes a shape {tuple(sa)} whose "
                                          f"axis {i} is not a multiple of the batch size")
            if lit:
                pieces.append(self.b.ints(lit))
                lit = []
            k = p // ba
            pieces.append(self.b.batch() if k == 1 else self.b.node("Mul", [self.b.batch(), self.b.ints([k])]))
        if lit:
            pieces.append(self.b.ints(lit))
        return pieces[0] if len(pieces) == 1 else self.b.node("Concat", pieces, axis=0)

    def reshape(self, x, sa, sb):
        """``x`` reshaped to ``sa`` (``sb`` in the second trace)."""
        return self.b.node("Reshape", [x, self.shape_value(sa, sb)])

    def reshape_to_out(self, x):
        return self.reshape(x, self.out.shape, self.outb.shape)

    def unsupported(self, why):
        """The NotImplementedError to raise for a case of this op the exporter cannot write."""
        return self.w.unsupported(self, why)


class Walker:
    """Maps the recorded ops of two traces to ONNX nodes, in creation order."""

    def __init__(self, builder, traces, params, buffers, input_names, mappings):
        self.builder, (self.ta, self.tb, self.tc) = builder, traces
        ta, tb, tc = traces
        self.params = params  # id(Parameter) -> state_dict key
        self.buffers = buffers  # [(key, array)]: to name the constants read from buffers
        self.mappings = mappings
        self.names = {}  # id(Tensor of trace a) -> ONNX value name
        self.consts = {}  # id(array or Tensor) -> initializer name
        self.int_inputs = {}  # id(int array input, in any trace) -> input name
        self.batches = (ta.inputs[0].shape[0], tb.inputs[0].shape[0])
        self.param_names = set()
        for name, *xs in zip(input_names, ta.inputs, tb.inputs, tc.inputs):
            if isinstance(xs[0], Tensor):
                self.names[id(xs[0])] = name
            else:
                self.int_inputs.update((id(x), name) for x in xs)

    def input_name_of(self, arr):
        """The graph input an int array is (by identity, or a view of it), else None."""
        name = self.int_inputs.get(id(arr))
        if name is None and isinstance(arr, np.ndarray):
            for x in self.ta.inputs + self.tb.inputs + self.tc.inputs:
                if not isinstance(x, Tensor) and arr.shape == x.shape and np.shares_memory(arr, x):
                    return self.int_inputs[id(x)]
        return name

    def is_const(self, name):
        return name in self.consts.values() or name in self.param_names

    def _buffer_name(self, arr):
        for key, buf in self.buffers:
            if np.shares_memory(arr, buf):
                return key if arr.shape == buf.shape else f"{key}.reshaped"
        return None

    def value(self, abc, dtype, view):
        """The ONNX name for one operand, given as it is in the three traces."""
        a, b, c = abc
        if isinstance(a, Tensor):
            name = self.names.get(id(a))
            if name is not None:
                return name
            if id(a) in self.params:
                key = self.params[id(a)]
                if key not in self.param_names:
                    self.builder.const(a.data, name=key)
                    self.param_names.add(key)
                return key
            a, b, c = a.data, b.data, c.data  # a leaf constant Tensor
        name = self.input_name_of(a)
        if name is not None:
            return name
        key = (id(a), dtype)
        if key in self.consts:
            return self.consts[key]
        arr_a, arr_b, arr_c = np.asarray(a), np.asarray(b), np.asarray(c)
        nan = arr_a.dtype.kind in "fc"
        if not np.array_equal(arr_b, arr_c, equal_nan=nan) or (
                arr_a.shape == arr_b.shape and not np.array_equal(arr_a, arr_b, equal_nan=nan)):
            raise NotImplementedError(
                f"onnx.export: op '{view.name}' uses a constant of shape {arr_a.shape} computed from the "
                "input's values outside the recorded graph (comparisons such as x > 0, numpy calls on .data, "
                "Python control flow on values are not recorded); it cannot be exported")
        if arr_a.shape == arr_b.shape:
            if self._buffer_name(arr_a) is None:
                name = self.builder.const(arr_a, "const", dtype=dtype)
            else:
                name = self._named_buffer_const(arr_a, dtype)
        else:  # a batch-sized constant (zero initial states): one value spread over the run's shape
            flat = arr_a.reshape(-1)
            if flat.size == 0 or not np.all(flat == flat[0]):
                raise NotImplementedError(f"onnx.export: op '{view.name}' uses a constant of shape {arr_a.shape} "
                                          "that depends on the batch size and is not constant-filled")
            fill = self.builder.const(flat[0], "fill", dtype=dtype)
            name = self.builder.node("Expand", [fill, view.shape_value(arr_a.shape, arr_b.shape, False)])
        self.consts[key] = name
        return name

    def _named_buffer_const(self, arr, dtype):
        base = self._buffer_name(arr)
        name = base if base not in self.builder.used else self.builder.fresh(base)
        return self.builder.const(arr, name=name, dtype=dtype)

    def unsupported(self, view, why=None):
        """The NotImplementedError for an op without a mapping (``why``: for a case of a mapped op)."""
        params = [self.params[id(x)] for x in view.node.inputs if isinstance(x, Tensor) and id(x) in self.params]
        shapes = ", ".join(str(view.shape(j)) for j in range(view.n_inputs))
        about = f"input shapes {shapes}" + (f"; parameters {', '.join(params)}" if params else "")
        if not params:
            near = self._upstream_parameter(view.out)
            about += f"; it follows the parameter {near}" if near else ""
        if why is None:
            return NotImplementedError(f"onnx.export: no ONNX mapping for the op '{view.name}' ({about}); "
                                       "tinygrad_edu.onnx.MAPPINGS lists the ops it can export")
        return NotImplementedError(f"onnx.export: the op '{view.name}' cannot be exported: {why} ({about})")

    def _upstream_parameter(self, out, limit=200):
        """The state_dict key of the nearest parameter feeding ``out`` (to say where an op is)."""
        queue, seen = [out], set()
        while queue and len(seen) < limit:
            t = queue.pop(0)
            for x in t._ctx.inputs:
                if isinstance(x, Tensor) and id(x) not in seen:
                    seen.add(id(x))
                    if id(x) in self.params:
                        return self.params[id(x)]
                    if x._ctx is not None:
                        queue.append(x)
        return None

    def run(self):
        for out, outb, outc in zip(self.ta.order, self.tb.order, self.tc.order):
            view = OpView(self, out, outb, outc)
            fn = self.mappings.get(view.name)
            if fn is None:
                raise self.unsupported(view)
            self.names[id(out)] = fn(view)
