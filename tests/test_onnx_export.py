"""ONNX export (tinygrad_edu.onnx): ONNX Runtime runs the exported file and gets our outputs.

Every model is exported on one batch and checked on held-out inputs with other
values and another batch size, so a size baked into the graph fails here.
Needs the ``onnx`` extra (onnx, onnxruntime); skipped without it.
"""
import importlib.util
import pathlib
import sys
import warnings

import numpy as np
import pytest

import tinygrad_edu as tg
from tinygrad_edu import nn

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

EXAMPLES = pathlib.Path(__file__).resolve().parent.parent / "examples"


def _example(name):
    spec = importlib.util.spec_from_file_location(f"{name}_onnx_example", EXAMPLES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _ours(model, x):
    model.eval()
    with tg.no_grad():
        out = model(x)
    return [t.data for t in tg.onnx._trace.flatten_outputs(out)]


def _run(path, x):
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    feed = {sess.get_inputs()[0].name: x.astype(np.float32) if x.dtype.kind == "f" else x.astype(np.int64)}
    return sess.run(None, feed)


def check_round_trip(model, example, held_out, path, **kwargs):
    """Export on ``example``; ONNX Runtime's outputs on ``held_out`` equal ours to 1e-6 of their scale."""
    assert held_out.shape[0] != example.shape[0]
    tg.onnx.export(model, example, path, **kwargs)
    proto = onnx.load(str(path))
    onnx.checker.check_model(proto, full_check=True)
    theirs, ours = _run(path, held_out), _ours(model, held_out)
    assert len(theirs) == len(ours)
    for a, b in zip(theirs, ours):
        assert a.shape == b.shape
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-6 * max(1.0, np.abs(b).max()))
    return proto, theirs, ours


def _batch_dims(proto):
    return [v.type.tensor_type.shape.dim[0].dim_param for v in list(proto.graph.input) + list(proto.graph.output)]


@pytest.mark.parametrize("sizes", [(3, 1), (3, 4, 1)], ids=["two_layer", "three_layer"])
def test_blog_networks(tmp_path, sizes):
    net = tg.blog.blog_network(*sizes).eval()
    rng = np.random.default_rng(0)
    proto, _, _ = check_round_trip(net, tg.blog.X.astype(np.float64), rng.random((7, 3)), tmp_path / "blog.onnx")
    assert _batch_dims(proto) == ["batch", "batch"]
    # parameters are initializers named by their state_dict keys, cast to float32
    inits = {i.name: i for i in proto.graph.initializer}
    assert set(net.state_dict()) <= set(inits)
    assert all(inits[k].data_type == onnx.TensorProto.FLOAT for k in net.state_dict())


def test_blog_network_float64_export(tmp_path):
    net = tg.blog.blog_network(3, 4, 1)
    x = np.random.default_rng(1).random((5, 3))
    tg.onnx.export(net.eval(), tg.blog.X.astype(np.float64), tmp_path / "b64.onnx", dtype=np.float64)
    sess = ort.InferenceSession(str(tmp_path / "b64.onnx"), providers=["CPUExecutionProvider"])
    (theirs,) = sess.run(None, {"input": x})
    assert theirs.dtype == np.float64
    np.testing.assert_allclose(theirs, _ours(net, x)[0], rtol=1e-13, atol=1e-15)


def test_digits_mlp(tmp_path):
    digits = _example("digits")
    model = digits.build_model([64, 32, 16, 10], seed=0).eval()
    rng = np.random.default_rng(2)
    check_round_trip(model, rng.normal(size=(4, 64)), rng.normal(size=(9, 64)), tmp_path / "mlp.onnx",
                     input_names=["pixels"], output_names=["logits"])
    sess = ort.InferenceSession(str(tmp_path / "mlp.onnx"), providers=["CPUExecutionProvider"])
    assert [i.name for i in sess.get_inputs()] == ["pixels"] and [o.name for o in sess.get_outputs()] == ["logits"]


def _cnn(seed=0):
    cnn = _example("digits_cnn").build_model([4, 8], dropout=0.3, seed=seed)
    rng = np.random.default_rng(seed)
    for name, buf in cnn.named_buffers():  # BatchNorm statistics away from their 0/1 defaults
        if name.endswith("running_mean"):
            buf.data[...] = rng.normal(size=buf.shape)
        elif name.endswith("running_var"):
            buf.data[...] = rng.uniform(0.5, 2, size=buf.shape)
    return cnn


def test_digits_cnn(tmp_path):
    cnn = _cnn()
    rng = np.random.default_rng(3)
    images = rng.random((5, 1, 8, 8)).astype(np.float32)
    proto, _, _ = check_round_trip(cnn.eval(), images, rng.random((3, 1, 8, 8)).astype(np.float32),
                                   tmp_path / "cnn.onnx")
    ops = {n.op_type for n in proto.graph.node}
    assert {"Conv", "MaxPool", "Relu", "MatMul"} <= ops and "Dropout" not in ops
    inits = {i.name for i in proto.graph.initializer}
    assert {k for k, _ in cnn.named_parameters()} <= inits  # eval BatchNorm's statistics: constants


def test_train_mode_exports_eval_semantics_with_a_warning(tmp_path):
    cnn = _cnn(seed=1).train()
    frozen = cnn[0].weight
    frozen.requires_grad = False
    images = np.random.default_rng(4).random((4, 1, 8, 8)).astype(np.float32)
    with pytest.warns(UserWarning, match="training mode"):
        tg.onnx.export(cnn, images, tmp_path / "train.onnx")
    assert all(m.training for m in cnn.modules()) and frozen.requires_grad is False  # restored
    held_out = np.random.default_rng(5).random((6, 1, 8, 8)).astype(np.float32)
    (theirs,) = _run(tmp_path / "train.onnx", held_out)
    np.testing.assert_allclose(theirs, _ours(cnn, held_out)[0], rtol=1e-6, atol=1e-6)  # _ours: eval mode


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_char_rnn(tmp_path, cell):
    model = _example("char_rnn").CharModel(vocab_size=13, embed=6, hidden=8, layers=2, cell=cell, seed=0).eval()
    rng = np.random.default_rng(6)
    proto, theirs, _ = check_round_trip(model, rng.integers(0, 13, (3, 5)), rng.integers(0, 13, (4, 5)),
                                        tmp_path / f"{cell}.onnx")
    assert theirs[0].shape == (4, 5, 13)  # logits, then the final state(s)
    assert len(theirs) == (3 if cell == "lstm" else 2)
    assert proto.graph.input[0].type.tensor_type.elem_type == onnx.TensorProto.INT64


def test_transformer(tmp_path):
    model = _example("transformer").DigitTransformer(length=6, d_model=16, heads=4, layers=2, ff=32,
                                                     dropout=0.1, seed=0).eval()
    rng = np.random.default_rng(7)
    proto, _, _ = check_round_trip(model, rng.integers(0, 10, (2, 6)), rng.integers(0, 10, (5, 6)),
                                   tmp_path / "tr.onnx")
    assert {"Softmax", "LayerNormalization", "Gather"} <= {n.op_type for n in proto.graph.node}


class Zoo(nn.Module):
    """Many ops on one path: reductions, shape ops, indexing, activations, joins, norms."""

    def __init__(self):
        super().__init__()
        gen = np.random.default_rng(8)
        self.lin = nn.Linear(6, 8, rng=gen)
        self.conv = nn.Conv1d(2, 3, 3, padding=1, rng=gen)
        self.gn = nn.GroupNorm(3, 6)
        self.ln = nn.LayerNorm(8, elementwise_affine=False)
        self.mask = np.arange(18) % 3 == 0  # a constant mask, as a causal mask is

    def forward(self, x):
        h = self.ln(self.lin(x))  # (N, 8)
        a = tg.concatenate([tg.sigmoid(h[:, :4]), tg.tanh(h[:, 4:])], axis=1)
        b = tg.stack([nn.functional.gelu(a), nn.functional.silu(a)], axis=1)  # (N, 2, 8)
        c = self.conv(b)[:, ::-1, 1:-1]  # (N, 3, 6)
        d = tg.softmax(c, axis=-1) + tg.log_softmax(c, axis=1) * 0.5
        e = self.gn(d.reshape(-1, 6, 3, 1).transpose(0, 1, 3, 2)).reshape(x.shape[0], -1)  # (N, 18)
        f = tg.maximum(e, 0.1) / (1 + tg.exp(-e)) ** 2 - tg.sqrt(tg.abs(e) + 1)
        g = tg.where(self.mask, f, tg.log(tg.abs(f) + 2))
        s = g.sum(axis=1, keepdims=True) + g.mean(axis=1, keepdims=True) - g.max(axis=1, keepdims=True)
        return g[:, None, 2:9:3] * s[:, :, None] + tg.broadcast_to(self.lin.bias[:3], (x.shape[0], 1, 3))


@pytest.mark.parametrize("opset", [17, 18])
def test_op_zoo(tmp_path, opset):
    rng = np.random.default_rng(9)
    check_round_trip(Zoo().eval(), rng.normal(size=(3, 6)), rng.normal(size=(5, 6)), tmp_path / "zoo.onnx", opset=opset)


class Activations(nn.Module):
    """The remaining elementwise mappings, and an Elman RNN (tanh and relu)."""

    def __init__(self):
        super().__init__()
        gen = np.random.default_rng(15)
        self.lin = nn.Linear(4, 6, rng=gen)
        self.rnn = nn.RNN(6, 5, num_layers=2, nonlinearity="relu", batch_first=True, rng=gen)
        self.rnn_tanh = nn.RNN(5, 3, bidirectional=True, rng=gen)

    def forward(self, x):  # x (N, 4)
        F = nn.functional
        h = self.lin(x) * 3
        acts = [F.elu(h, 0.7), F.hardsigmoid(h), F.hardswish(h), F.hardtanh(h, -0.5, 2.0), F.logsigmoid(h),
                F.softsign(h), F.gelu(h, approximate="tanh"), tg.clip(h, -1.0, 1.5), tg.sin(h), tg.cos(h),
                tg.reciprocal(h * h + 1), tg.minimum(h, 0.2), tg.erf(h), h.astype(np.float64).clone()]
        seq = tg.stack(acts, axis=1)  # (N, 14, 6)
        out, _ = self.rnn(seq)  # (N, 14, 5)
        y, _ = self.rnn_tanh(out.transpose(1, 0, 2))  # (14, N, 6), time first
        return tg.logsumexp(y, axis=0) + y.sum(axis=0)


def test_activations_and_elman_rnn(tmp_path):
    rng = np.random.default_rng(16)
    check_round_trip(Activations().eval(), rng.normal(size=(2, 4)), rng.normal(size=(5, 4)), tmp_path / "act.onnx")


class Pools(nn.Module):
    """Convolutions (groups, stride, dilation, 1-D) and every pooling layer."""

    def __init__(self):
        super().__init__()
        gen = np.random.default_rng(10)
        self.conv = nn.Conv2d(2, 4, 3, stride=1, padding=2, dilation=2, groups=2, rng=gen)
        self.conv1d = nn.Conv1d(4, 3, 2, stride=2, rng=gen)
        self.avg = nn.AvgPool2d(3, stride=2, padding=1, ceil_mode=True, count_include_pad=False)
        self.max = nn.MaxPool2d(2, stride=1, padding=1, dilation=2)
        self.adaptive = nn.AdaptiveAvgPool2d(1)
        self.max1d = nn.MaxPool1d(2)

    def forward(self, x):
        y = tg.relu(self.conv(x))  # (N, 4, 7, 6)
        a = self.avg(y) + self.max(y)[:, :, :4, :4]  # (N, 4, 4, 4)
        seq = self.max1d(self.conv1d(a.reshape(x.shape[0], 4, 16)))  # (N, 3, 4)
        return tg.concatenate([self.adaptive(a).reshape(-1, 4), seq.reshape(-1, 12)], axis=1)


def test_convolutions_and_pooling(tmp_path):
    rng = np.random.default_rng(11)
    proto, _, _ = check_round_trip(Pools().eval(), rng.normal(size=(2, 2, 7, 6)), rng.normal(size=(3, 2, 7, 6)),
                                   tmp_path / "pools.onnx")
    assert {"Conv", "MaxPool"} <= {n.op_type for n in proto.graph.node}


class TwoInputs(nn.Module):
    def __init__(self):
        super().__init__()
        self.emb = nn.Embedding(5, 4, rng=np.random.default_rng(12))
        self.lin = nn.Linear(4, 4, rng=np.random.default_rng(13))

    def forward(self, tokens, weights):  # tokens int (N, L), weights float (N, L)
        pooled = (self.emb(tokens) * weights[:, :, None]).sum(axis=1)
        return self.lin(pooled), pooled.max(axis=-1)


def test_several_inputs_and_outputs(tmp_path):
    rng = np.random.default_rng(14)
    model = TwoInputs().eval()
    example = (rng.integers(0, 5, (2, 3)), rng.random((2, 3)))
    tg.onnx.export(model, example, tmp_path / "two.onnx", input_names=["tokens", "weights"],
                   output_names=["out", "peak"])
    sess = ort.InferenceSession(str(tmp_path / "two.onnx"), providers=["CPUExecutionProvider"])
    tokens, weights = rng.integers(0, 5, (6, 3)), rng.random((6, 3))
    theirs = sess.run(["out", "peak"], {"tokens": tokens, "weights": weights.astype(np.float32)})
    with tg.no_grad():
        ours = model(tokens, weights)
    for a, b in zip(theirs, ours):
        np.testing.assert_allclose(a, b.data, rtol=1e-6, atol=1e-6)


class Cumulative(nn.Module):
    def __init__(self):
        super().__init__()
        self.lin = nn.Linear(3, 3)

    def forward(self, x):
        return tg.cumsum(tg.tanh(self.lin(x)), axis=1)


def test_unsupported_op_raises_naming_it_and_writes_nothing(tmp_path):
    path = tmp_path / "model.onnx"
    path.write_bytes(b"previous file")
    with pytest.raises(NotImplementedError, match=r"no ONNX mapping for the op 'cumsum' \(input shapes \(2, 3\); "
                       "it follows the parameter lin.(weight|bias)"):
        tg.onnx.export(Cumulative().eval(), np.ones((2, 3)), path)
    assert path.read_bytes() == b"previous file"
    assert [p.name for p in tmp_path.iterdir()] == ["model.onnx"]  # no temporary file left


class JointSoftmax(nn.Module):
    def __init__(self):
        super().__init__()
        self.lin = nn.Linear(3, 3)

    def forward(self, x):
        return tg.softmax(self.lin(x), axis=(0, 1))  # over the batch too: no ONNX Softmax does that


def test_an_unsupported_case_of_a_mapped_op_raises_naming_it(tmp_path):
    with pytest.raises(NotImplementedError, match="'softmax' cannot be exported: softmax over several axes"):
        tg.onnx.export(JointSoftmax().eval(), np.ones((2, 3)), tmp_path / "m.onnx")


class ValueMask(nn.Module):
    def __init__(self):
        super().__init__()
        self.lin = nn.Linear(3, 3)

    def forward(self, x):
        h = self.lin(x)
        return tg.where(h.data > 0, h, 0.0)  # the mask is computed outside the graph


@pytest.mark.parametrize("dynamic_batch", [True, False])
def test_a_mask_computed_from_the_input_is_refused(tmp_path, dynamic_batch):
    with pytest.raises(NotImplementedError, match="computed from the input's values"):
        tg.onnx.export(ValueMask().eval(), np.random.default_rng(0).normal(size=(4, 3)), tmp_path / "m.onnx",
                       dynamic_batch=dynamic_batch)


def test_fixed_batch_and_bad_arguments(tmp_path):
    net = tg.blog.blog_network(3, 4, 1)
    net.eval()
    proto = tg.onnx.export(net, tg.blog.X, tmp_path / "fixed.onnx", dynamic_batch=False)  # int inputs
    assert proto.graph.input[0].type.tensor_type.shape.dim[0].dim_value == 4
    (theirs,) = _run(tmp_path / "fixed.onnx", tg.blog.X[::-1])
    np.testing.assert_allclose(theirs, _ours(net, tg.blog.X[::-1])[0], rtol=1e-6, atol=1e-6)
    with pytest.raises(ValueError, match="opset"):
        tg.onnx.export(net, tg.blog.X, tmp_path / "x.onnx", opset=12)
    with pytest.raises(ValueError, match="output_names"):
        tg.onnx.export(net, tg.blog.X, tmp_path / "x.onnx", output_names=["a", "b"])
    with pytest.raises(ValueError, match="dtype"):
        tg.onnx.export(net, tg.blog.X, tmp_path / "x.onnx", dtype=np.int32)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # an eval-mode model exports without warnings
        tg.onnx.export(net.eval(), tg.blog.X, tmp_path / "ok.onnx")


def test_without_the_onnx_package_the_error_names_the_extra(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "onnx", None)  # as if it were not installed
    with pytest.raises(ImportError, match=r'pip install "tinygrad_edu\[onnx\]"'):
        tg.onnx.export(tg.blog.blog_network(3, 1).eval(), tg.blog.X, tmp_path / "m.onnx")
    assert not (tmp_path / "m.onnx").exists()
