"""ONNX mappings of the elementwise, matrix, reduction and shape ops.

Each mapping takes an :class:`~tinygrad_edu.onnx._graph.OpView` and returns the
ONNX name of the op's output. What each op keeps in ``saved`` is documented
next to its forward in ``tinygrad_edu/ops/``.
"""
from __future__ import annotations

import math

import numpy as np

from ._graph import INT64_MAX, INT64_MIN


def _binary(onnx_op):
    def emit(v):
        return v.b.node(onnx_op, [v.x(0, True), v.x(1, True)])
    return emit


def _unary(onnx_op, **attrs):
    def emit(v):
        return v.b.node(onnx_op, [v.x(0)], **attrs)
    return emit


def _scalar(v, value):
    return v.b.const(np.asarray(value), "scalar", dtype=v.b.dtype)


def _neg_of(onnx_op):  # logsigmoid(x) = -softplus(-x)
    def emit(v):
        return v.b.node("Neg", [v.b.node(onnx_op, [v.b.node("Neg", [v.x(0)])])])
    return emit


def _gelu(v):  # x * Phi(x), Phi(x) = (1 + erf(x / sqrt 2)) / 2 (Hendrycks & Gimpel 2016)
    x, b = v.x(0), v.b
    erf = b.node("Erf", [b.node("Mul", [x, _scalar(v, 1 / math.sqrt(2))])])
    cdf = b.node("Mul", [b.node("Add", [erf, _scalar(v, 1.0)]), _scalar(v, 0.5)])
    return b.node("Mul", [x, cdf])


def _gelu_tanh(v):  # 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))
    x, b = v.x(0), v.b
    cube = b.node("Mul", [b.node("Mul", [x, x]), x])
    inner = b.node("Mul", [b.node("Add", [x, b.node("Mul", [cube, _scalar(v, 0.044715)])]),
                           _scalar(v, math.sqrt(2 / math.pi))])
    half = b.node("Mul", [x, _scalar(v, 0.5)])
    return b.node("Mul", [half, b.node("Add", [b.node("Tanh", [inner]), _scalar(v, 1.0)])])


def _silu(v):
    x = v.x(0)
    return v.b.node("Mul", [x, v.b.node("Sigmoid", [x])])


def _elu(v):
    alpha, scale, input_scale = v.saved
    if scale != 1 or input_scale != 1:
        raise v.unsupported("ELU with scale or input_scale other than 1 (SELU/CELU)")
    return v.b.node("Elu", [v.x(0)], alpha=float(alpha))


def _hardtanh(v):
    lo, hi = v.saved
    return v.b.node("Clip", [v.x(0), _scalar(v, lo), _scalar(v, hi)])


def _clip(v):
    lo = None if v.input(1) is None else v.x(1, True)
    hi = None if v.input(2) is None else v.x(2, True)
    return v.b.node("Clip", [v.x(0), lo, hi])


def _where(v):
    cond = v.x(0)
    if np.asarray(v.input(0).data if hasattr(v.input(0), "data") else v.input(0)).dtype.kind != "b":
        cond = v.b.node("Cast", [cond], to=v.b.onnx.TensorProto.BOOL)
    return v.b.node("Where", [cond, v.x(1, True), v.x(2, True)])


def _astype(v):
    dtype = v.b.value_dtype(v.out.data)
    return v.b.node("Cast", [v.x(0)], to=v.b.helper.np_dtype_to_tensor_dtype(dtype))


def _linear(v):
    y = v.b.node("MatMul", [v.x(0, True), v.x(1, True)])
    return y if v.input(2) is None else v.b.node("Add", [y, v.x(2, True)])


# ---- reductions ---------------------------------------------------------------------
def _reduce_axes(v, kshape):
    """Reduced axes: size 1 in ``kshape`` and not size 1 in the input of both traces
    (reducing a size-1 axis changes nothing, so it is left out)."""
    sa, sb = v.shape(0), v.shapeb(0)
    return [i for i, k in enumerate(kshape) if k == 1 and (sa[i] != 1 or sb[i] != 1)]


def _reduced(v, onnx_op, axes):
    x = v.x(0)
    y = v.b.reduce(onnx_op, x, axes) if axes else x
    if v.out.ndim == len(v.shape(0)):
        return y if axes else v.b.node("Identity", [y])
    return v.reshape_to_out(y)


def _sum(v):
    return _reduced(v, "ReduceSum", _reduce_axes(v, v.saved))


def _mean(v):
    return _reduced(v, "ReduceMean", _reduce_axes(v, v.saved[0]))


def _logsumexp(v):
    return _reduced(v, "ReduceLogSumExp", _reduce_axes(v, v.saved))


def _max_min(v):
    axes, kshape = v.saved
    x = v.input(0).data
    is_max = np.array_equal(np.max(x, axis=axes, keepdims=True).reshape(v.out.shape), v.out.data,
                            equal_nan=True)
    return _reduced(v, "ReduceMax" if is_max else "ReduceMin", _reduce_axes(v, kshape))


def _softmax(onnx_op):
    def emit(v):
        axes = v.saved
        if len(axes) != 1:
            raise v.unsupported(f"softmax over several axes {axes}")
        return v.b.node(onnx_op, [v.x(0)], axis=int(axes[0]))
    return emit


# ---- shapes -----------------------------------------------------------------------
def _reshape(v):
    return v.reshape_to_out(v.x(0))


def _transpose(v):
    return v.b.node("Transpose", [v.x(0)], perm=[int(a) for a in v.saved])


def _broadcast_to(v):
    return v.b.node("Expand", [v.x(0), v.shape_value(v.out.shape, v.outb.shape, allow_minus_one=False)])


def _concatenate(v):
    return v.b.node("Concat", [v.x(j) for j in range(v.n_inputs)], axis=int(v.saved[0]))


def _stack(v):
    ax = v.b.ints([int(v.saved)])
    return v.b.node("Concat", [v.b.node("Unsqueeze", [v.x(j), ax]) for j in range(v.n_inputs)],
                    axis=int(v.saved))


def _getitem(v):
    idx, shape = v.saved
    parts = idx if isinstance(idx, tuple) else (idx,)
    arrays = [p for p in parts if isinstance(p, np.ndarray)]
    if arrays:
        if len(parts) != 1 or parts[0].dtype.kind not in "iu":
            raise v.unsupported(f"advanced indexing other than one integer array on axis 0 ({idx!r:.80})")
        others = [i[0] if isinstance(i, tuple) else i for i in (v.savedb[0], v.savedc[0])]
        name = v.w.value((parts[0], *others), np.dtype(np.int64), v)
        return v.b.node("Gather", [v.x(0), name], axis=0)  # an embedding lookup
    return _basic_index(v, parts, len(shape))


def _basic_index(v, parts, ndim):
    """Ints, slices, None and ``...``: one Slice over the sliced axes, then a Reshape
    for the axes that ints drop and None adds."""
    if any(p is Ellipsis for p in parts):
        k = parts.index(Ellipsis)
        fill = ndim - sum(1 for p in parts if p is not None and p is not Ellipsis)
        parts = parts[:k] + (slice(None),) * fill + parts[k + 1:]
    starts, ends, axes, steps, axis, reshape = [], [], [], [], 0, False
    for p in parts:
        if p is None:
            reshape = True
            continue
        if isinstance(p, slice):
            step = 1 if p.step is None else int(p.step)
            if p != slice(None) and (p.start, p.stop, step) != (None, None, 1):
                lo = p.start if p.start is not None else (0 if step > 0 else INT64_MAX)
                hi = p.stop if p.stop is not None else (INT64_MAX if step > 0 else INT64_MIN)
                starts.append(int(lo)), ends.append(int(hi)), axes.append(axis), steps.append(step)
        else:  # an int: a slice of one, dropped by the reshape
            i = int(p)
            starts.append(i), ends.append(i + 1 if i != -1 else INT64_MAX), axes.append(axis), steps.append(1)
            reshape = True
        axis += 1
    y = v.x(0)
    if axes:
        b = v.b
        y = b.node("Slice", [y, b.ints(starts), b.ints(ends), b.ints(axes), b.ints(steps)])
    if reshape:
        return v.reshape_to_out(y)
    return y if axes else v.b.node("Identity", [y])


MAPPINGS = {
    "add": _binary("Add"), "sub": _binary("Sub"), "mul": _binary("Mul"), "div": _binary("Div"),
    "pow": _binary("Pow"), "maximum": _binary("Max"), "minimum": _binary("Min"),
    "neg": _unary("Neg"), "exp": _unary("Exp"), "log": _unary("Log"), "sqrt": _unary("Sqrt"),
    "sin": _unary("Sin"), "cos": _unary("Cos"), "abs": _unary("Abs"), "tanh": _unary("Tanh"),
    "sigmoid": _unary("Sigmoid"), "relu": _unary("Relu"), "erf": _unary("Erf"),
    "reciprocal": _unary("Reciprocal"), "softsign": _unary("Softsign"),
    "hardsigmoid": _unary("HardSigmoid", alpha=1 / 6, beta=0.5), "hardswish": _unary("HardSwish"),
    "logsigmoid": _neg_of("Softplus"), "gelu": _gelu, "gelu_tanh": _gelu_tanh, "silu": _silu,
    "elu": _elu, "hardtanh": _hardtanh, "clip": _clip, "where": _where,
    "astype": _astype, "clone": _unary("Identity"),
    "matmul": _binary("MatMul"), "linear": _linear,
    "sum": _sum, "mean": _mean, "logsumexp": _logsumexp, "max/min": _max_min,
    "softmax": _softmax("Softmax"), "log_softmax": _softmax("LogSoftmax"),
    "reshape": _reshape, "transpose": _transpose, "broadcast_to": _broadcast_to,
    "concatenate": _concatenate, "stack": _stack, "getitem": _getitem,
}
