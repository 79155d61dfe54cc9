"""Export a model to ONNX: ``tinygrad_edu.onnx.export(model, example_inputs, "model.onnx")``.

The exporter runs the model's forward once more under grad mode and reads the
graph the engine records for ``backward`` (``autograd.Node``: the op's name,
its inputs, what it saved), walking it from the outputs back to the inputs and
parameters and writing one or a few ONNX operators per recorded op. Needs the
``onnx`` extra (``pip install "tinygrad_edu[onnx]"``: the ``onnx`` package to
write and check the file, ``onnxruntime`` to run it).
"""
from __future__ import annotations

import os
import tempfile

import numpy as np

from ._graph import Builder, Walker
from ._map_basic import MAPPINGS as _BASIC
from ._map_nn import MAPPINGS as _NN
from ._trace import trace

__all__ = ["export", "MAPPINGS"]

#: recorded op name -> mapping function (see ``_map_basic.py``, ``_map_nn.py``).
MAPPINGS = {**_BASIC, **_NN}

_FLOATS = (np.float32, np.float64)


def _require_onnx():
    try:
        import onnx
    except ImportError:
        raise ImportError('tinygrad_edu.onnx.export needs the onnx package: pip install "tinygrad_edu[onnx]"') \
            from None
    return onnx


def _names(given, n, default, what):
    if given is None:
        return [default] if n == 1 else [f"{default}_{i}" for i in range(n)]
    given = [given] if isinstance(given, str) else list(given)
    if len(given) != n or len(set(given)) != n or not all(isinstance(s, str) and s for s in given):
        raise ValueError(f"onnx.export: {what} must be {n} distinct non-empty strings, got {given!r}")
    return given


def _value_info(onnx, name, dtype, sa, sb, batches):
    dims = [n if p == n else ("batch" if (p, n) == batches else f"{name}_dim{i}")
            for i, (p, n) in enumerate(zip(sa, sb))]
    return onnx.helper.make_tensor_value_info(name, onnx.helper.np_dtype_to_tensor_dtype(dtype), dims)


def export(model, example_inputs, path, *, opset=17, input_names=None, output_names=None,
           dynamic_batch=True, dtype=np.float32):
    """Write ``model`` as an ONNX file at ``path``; return the ``onnx.ModelProto``.

    Args:
        model: an ``nn.Module``, called as ``model(*example_inputs)``.
        example_inputs: an array/Tensor or a tuple of them, axis 0 the batch. Float
            inputs become graph inputs of type ``dtype``; int inputs (token ids) int64.
        path: the file to write (atomically: a temporary file renamed over it).
        opset: the ONNX opset version (17 or later; 17 is the first with
            LayerNormalization).
        input_names, output_names: graph input/output names (default ``input``,
            ``output``, numbered ``_0, _1, ...`` when there are several). The model's
            outputs are its Tensors in order, nested tuples flattened.
        dynamic_batch: axis 0 of inputs and outputs is the symbolic ``"batch"``;
            batch-dependent sizes inside the graph (a Reshape to ``(N * L, d)``) are
            computed at run time. The forward is traced at batch ``B`` and ``B + 1``
            to find them (see ``_trace.py``). False bakes every size.
        dtype: the float type of the graph (parameters, constants, float inputs);
            float64 parameters are cast on export.

    The model is exported in eval semantics (Dropout off, BatchNorm with its
    running statistics): a model in training mode is switched to eval for the
    trace, with a ``UserWarning``, and restored after. Parameters are
    initializers named by their ``state_dict`` keys, in this package's layouts
    (a ``Linear`` weight is ``(in, out)``, as ONNX's ``MatMul`` takes it; PyTorch's
    exporter writes ``(out, in)`` for ``Gemm``): to carry weights to PyTorch use
    ``tinygrad_edu.interop``, not the ONNX initializers.

    Raises NotImplementedError naming the op (and its parameters) for a recorded
    op without an ONNX mapping (``MAPPINGS`` lists those with one), ValueError
    for bad names/opset/inputs or a graph whose ops change with the batch size,
    ImportError without the ``onnx`` package. Nothing is written on failure.
    """
    onnx = _require_onnx()
    latest = onnx.defs.onnx_opset_version()
    if not isinstance(opset, int) or not 17 <= opset <= latest:
        raise ValueError(f"onnx.export: opset must be an int from 17 to {latest}, got {opset!r}")
    if np.dtype(dtype) not in [np.dtype(f) for f in _FLOATS]:
        raise ValueError(f"onnx.export: dtype must be float32 or float64, got {dtype!r}")
    ta, tb, tc, arrays = trace(model, example_inputs, dynamic_batch)
    in_names = _names(input_names, len(arrays), "input", "input_names")
    out_names = _names(output_names, len(ta.outputs), "output", "output_names")
    builder = Builder(onnx, dtype, opset)
    builder.batch_name = in_names[0]
    builder.used.update(in_names + out_names)
    params = {id(p): key for key, p in model.named_parameters()}
    buffers = [(key, buf.data) for key, buf in model.named_buffers()] if hasattr(model, "named_buffers") else []
    walker = Walker(builder, (ta, tb, tc), params, buffers, in_names, MAPPINGS)
    walker.run()

    batches = walker.batches
    for name, *outs in zip(out_names, ta.outputs, tb.outputs, tc.outputs):
        builder.node("Identity", [walker.value(outs, None, _OutputView(name))], outputs=[name])
    inputs = [_value_info(onnx, n, builder.value_dtype(a), a.shape, b.shape if isinstance(b, np.ndarray)
                          else b.data.shape, batches)
              for n, a, b in zip(in_names, arrays, tb.inputs)]
    outputs = [_value_info(onnx, n, builder.value_dtype(oa.data), oa.shape, ob.shape, batches)
               for n, oa, ob in zip(out_names, ta.outputs, tb.outputs)]
    graph = onnx.helper.make_graph(builder.nodes, type(model).__name__, inputs, outputs, builder.initializers)
    proto = onnx.helper.make_model(graph, opset_imports=[onnx.helper.make_opsetid("", opset)],
                                   producer_name="tinygrad_edu")
    onnx.checker.check_model(proto)
    _write_atomic(proto.SerializeToString(), os.fspath(path))
    return proto


class _OutputView:
    """Stands in for an op view when an output is a parameter or constant itself."""

    def __init__(self, name):
        self.name = f"output {name}"

    def shape_value(self, *args, **kwargs):
        raise NotImplementedError(f"onnx.export: {self.name} is a constant whose shape depends on the batch "
                                  "size (no recorded op computes it); export with dynamic_batch=False")


def _write_atomic(data, path):
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=".onnx", dir=folder)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise
