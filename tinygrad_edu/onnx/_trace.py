"""Record a model's forward pass for export: the same graph ``backward`` walks.

The export runs the forward three times: on the example inputs (batch ``B``),
on them with their first row appended (batch ``B + 1``), and on those with other
values. All recordings hold the same ops in the same order. An axis whose size
differs between the first two is batch-dependent, which is how the exporter
knows which sizes it must not bake into the ONNX graph (a ``Reshape`` to
``(B * L, d)`` becomes ``(-1, d)``); a constant whose values differ between the
last two was computed from the input's values outside the graph (a comparison
``x > 0`` feeding ``where``: comparisons are not recorded), and is refused
rather than baked in.
"""
from __future__ import annotations

import warnings
from typing import NamedTuple

import numpy as np

from .._mode import enable_grad
from ..nn.module import structure_changed
from ..tensor import Tensor


class Trace(NamedTuple):
    """One recording: ``outputs`` (flat list of Tensors), ``order`` (output Tensors of
    the recorded ops in creation order), ``inputs`` (what each example input became:
    a Tensor that requires grad for float inputs, the array itself for integer ones)."""

    outputs: list
    order: list
    inputs: list


def flatten_outputs(out):
    """The Tensors of a model's output: a Tensor, or (nested) tuples/lists of them."""
    flat, stack = [], [out]
    while stack:
        o = stack.pop()
        if isinstance(o, Tensor):
            flat.append(o)
        elif isinstance(o, (tuple, list)):
            stack.extend(reversed(o))
        else:
            raise TypeError(f"onnx.export: the model returned a {type(o).__name__}; only Tensors and "
                            "(nested) tuples or lists of Tensors can be exported")
    return flat


def _as_example(op, x):
    arr = x.data if isinstance(x, Tensor) else np.asarray(x)
    if arr.ndim == 0 or arr.dtype.kind not in "biuf":
        raise TypeError(f"{op}: example inputs must be int, bool or float arrays with a batch axis, "
                        f"got {arr.dtype} of shape {arr.shape}")
    return arr.astype(np.int64) if arr.dtype.kind in "iu" else arr  # ONNX's index type


def grow_batch(arrays):
    """The example inputs with their first row appended along axis 0 (batch ``B + 1``)."""
    return [np.concatenate([a, a[:1]], axis=0) for a in arrays]


def record_forward(model, arrays):
    """Run ``model(*inputs)`` under grad mode with every parameter requiring grad.

    Float inputs become Tensors that require grad (so every op touching them is
    recorded); int/bool inputs are passed as the arrays themselves, recognised
    later by identity where an op keeps them (an embedding's index).
    """
    inputs = [Tensor(a, requires_grad=True) if a.dtype.kind == "f" else a for a in arrays]
    with enable_grad():
        out = model(*inputs)
    outputs = flatten_outputs(out)
    seen, order, stack = set(), [], list(outputs)
    while stack:  # iterative: a long chain (an unrolled sequence) must not hit the recursion limit
        t = stack.pop()
        if id(t) in seen or t._ctx is None:
            continue
        seen.add(id(t))
        order.append(t)
        if t._ctx.inputs is None:
            raise RuntimeError("onnx.export: the recorded graph was already freed by a backward pass")
        stack.extend(x for x in t._ctx.inputs if isinstance(x, Tensor))
    order.sort(key=lambda t: t._ctx.seq)  # creation order is a topological order
    return Trace(outputs, order, inputs)


class eval_params:
    """Context: the model in eval mode, every parameter requiring grad; restored on exit.

    Warns when the model was in training mode: ONNX gets the eval semantics
    (Dropout off, BatchNorm with its running statistics), as inference needs.
    """

    def __init__(self, model):
        self.model = model

    def __enter__(self):
        mods = list(self.model.modules())
        self.training = [(m, m.training) for m in mods]
        if any(t for _, t in self.training):
            warnings.warn("onnx.export: the model is in training mode; it is exported in eval mode "
                          "(Dropout off, BatchNorm with its running statistics). Call model.eval() "
                          "first to silence this warning.", UserWarning, stacklevel=3)
        self.model.eval()
        self.flags = [(p, p.requires_grad) for p in self.model.parameters()]
        for p, _ in self.flags:
            p.requires_grad = True
        return self

    def __exit__(self, *exc):
        for p, flag in self.flags:
            p.requires_grad = flag
        for m, flag in self.training:
            object.__setattr__(m, "training", flag)
        structure_changed()
        return False


def trace(model, example_inputs, dynamic_batch):
    """``(a, b, c, arrays)``: three recordings and the example arrays. ``a`` runs the
    example inputs, ``b`` them with one more row (or rolled rows without ``dynamic_batch``),
    ``c`` the inputs of ``b`` with other values (see :func:`perturb`).

    Raises ValueError when the two recordings differ in their ops (the graph's
    structure depends on the batch size) and TypeError for unusable inputs.
    """
    if isinstance(example_inputs, (Tensor, np.ndarray)):
        example_inputs = (example_inputs,)
    arrays = [_as_example("onnx.export", x) for x in example_inputs]
    if not arrays:
        raise ValueError("onnx.export: give at least one example input")
    if dynamic_batch and len({a.shape[0] for a in arrays}) != 1:
        raise ValueError("onnx.export: with dynamic_batch=True every input's axis 0 is the batch; got "
                         f"shapes {[a.shape for a in arrays]}")
    with eval_params(model):
        a = record_forward(model, arrays)
        grown = grow_batch(arrays) if dynamic_batch else [np.roll(x, 1, axis=0) for x in arrays]
        b = record_forward(model, grown)
        c = record_forward(model, perturb(grown))
    names = [t._ctx.name for t in a.order]
    for other in (b, c):
        if names != [t._ctx.name for t in other.order] or len(a.outputs) != len(other.outputs):
            raise ValueError("onnx.export: the model records different ops for other inputs (batch sizes "
                             f"{arrays[0].shape[0]} and {grown[0].shape[0]}, or other values); export it with "
                             "dynamic_batch=False, or make its control flow independent of the input")
    return a, b, c, arrays


def perturb(arrays):
    """Other values of the same shapes (float inputs scaled and shifted, rows rolled), for
    the third trace: a constant that changes with them was computed from the input's values."""
    out = []
    for x in arrays:
        y = np.roll(x, 1, axis=0)
        if x.ndim > 1:
            y = np.roll(y, 1, axis=-1)
        out.append(y * 1.25 + 0.5 if x.dtype.kind == "f" else y)
    return out
