"""Recurrent, attention and transformer layers: against PyTorch's numbers (tests/reference/seq.npz,
made by make_seq.py), shapes, states, dropout, masks and errors."""
from __future__ import annotations

import json
import pathlib

import numpy as np
import pytest

import tinygrad_edu as tg
from tinygrad_edu import nn
from tinygrad_edu.nn import functional as F

REF = np.load(pathlib.Path(__file__).parent / "reference" / "seq.npz")
CASES = sorted({k.split("/")[0] for k in REF.files})


def _group(case, part):
    """``{rest of key: array}`` for keys ``case/part/...``, in stored order."""
    pre = f"{case}/{part}/"
    return {k[len(pre):]: REF[k] for k in REF.files if k.startswith(pre)}


def _flatten(out):
    if isinstance(out, (tuple, list)):
        return [y for x in out for y in _flatten(x)]
    return [] if out is None else [out]


def _close(got, want, what):
    assert got.shape == want.shape, f"{what}: shape {got.shape}, PyTorch {want.shape}"
    np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12 * max(1.0, np.abs(want).max(initial=0)),
                               err_msg=what)


@pytest.mark.parametrize("case", CASES)
def test_matches_pytorch(case):
    config = json.loads(str(REF[f"{case}/config"]))
    cls = config["cls"]
    ins = [tg.Tensor(a, requires_grad=True) for _, a in sorted(_group(case, "in").items())]
    kw = {}
    for key, a in _group(case, "kw").items():
        name, j = key.split("/")
        kw.setdefault(name, []).append(tg.Tensor(a) if a.dtype.kind == "f" else a)
    kw = {k: (tuple(v) if k in config["tuples"] else v[0]) for k, v in kw.items()}
    if cls == "sdpa":
        model = None
        out = F.scaled_dot_product_attention(*ins, **kw, **config["kwargs"])
    else:
        model = getattr(nn, cls)(**config["ctor"]).eval()
        sd = _group(case, "sd")
        assert list(model.state_dict()) == list(sd), "state_dict keys differ from PyTorch's (names or order)"
        model.load_state_dict(sd)
        if "lengths" in config:  # a packed batch: compare the packed output's data
            packed = nn.pack_padded_sequence(ins[0], config["lengths"], enforce_sorted=False)
            out, states = model(packed, **kw)
            out = (out.data, states)
        else:
            out = model(*ins, **kw, **config["kwargs"])
    outs = _flatten(out)
    want = _group(case, "out")
    assert len(outs) == len(want)
    for i, o in enumerate(outs):
        _close(o.data, want[str(i)], f"{case} output {i}")
    gout = _group(case, "gout")
    loss = sum((o * gout[str(i)]).sum() for i, o in enumerate(outs))
    loss.backward()
    for i, t in enumerate(ins):
        _close(t.grad.data, REF[f"{case}/gin/{i}"], f"{case} gradient of input {i}")
    if model is not None:
        grads = _group(case, "gp")
        for name, p in model.named_parameters():
            _close(p.grad.data, grads[name], f"{case} gradient of {name}")


# ---- shapes and states --------------------------------------------------------------
@pytest.mark.parametrize("cls", ["RNN", "LSTM", "GRU"])
@pytest.mark.parametrize("layers,bi,bf", [(1, False, False), (2, True, False), (3, False, True), (2, True, True)])
def test_sequence_shapes(cls, layers, bi, bf):
    m = getattr(nn, cls)(3, 4, num_layers=layers, bidirectional=bi, batch_first=bf, rng=0)
    d = 2 if bi else 1
    x = np.random.default_rng(0).standard_normal((2, 5, 3) if bf else (5, 2, 3))
    out, hn = m(x)
    hs = hn if cls != "LSTM" else hn[0]
    assert out.shape == ((2, 5, d * 4) if bf else (5, 2, d * 4))
    assert hs.shape == (layers * d, 2, 4)
    if cls == "LSTM":
        assert hn[1].shape == (layers * d, 2, 4)
    # unbatched: the same numbers as a batch of one
    x1 = x[0] if bf else x[:, 0]
    out1, hn1 = m(x1)
    assert out1.shape == (5, d * 4)
    np.testing.assert_allclose(out1.data, out.data[0] if bf else out.data[:, 0], rtol=1e-12)
    # the last step of the forward direction is h_n of the last layer
    last = out.data[:, -1] if bf else out.data[-1]
    np.testing.assert_allclose(last[:, :4], hs.data[(layers - 1) * d], rtol=1e-12)
    if bi:  # the reverse direction ends at time 0
        first = out.data[:, 0] if bf else out.data[0]
        np.testing.assert_allclose(first[:, 4:], hs.data[layers * d - 1], rtol=1e-12)


@pytest.mark.parametrize("cls", ["RNN", "LSTM", "GRU"])
def test_zero_initial_state_is_the_default(cls):
    m = getattr(nn, cls)(3, 4, num_layers=2, rng=1)
    x = np.random.default_rng(1).standard_normal((4, 2, 3))
    z = np.zeros((2, 2, 4))
    a = m(x)[0]
    b = m(x, (z, z) if cls == "LSTM" else z)[0]
    np.testing.assert_allclose(a.data, b.data, rtol=1e-14, atol=1e-15)


def test_lstm_initial_state_changes_the_output_and_gets_gradients():
    m = nn.LSTM(3, 4, rng=2)
    x = np.random.default_rng(2).standard_normal((4, 2, 3))
    h0 = tg.Tensor(np.full((1, 2, 4), 0.5), requires_grad=True)
    c0 = tg.Tensor(np.full((1, 2, 4), -0.5), requires_grad=True)
    out, (hn, cn) = m(x, (h0, c0))
    assert not np.allclose(out.data, m(x)[0].data)
    (out.sum() + cn.sum()).backward()
    assert h0.grad.shape == (1, 2, 4) and np.abs(h0.grad.data).sum() > 0
    assert c0.grad.shape == (1, 2, 4) and np.abs(c0.grad.data).sum() > 0


def test_float32_stays_float32():
    m = nn.LSTM(3, 4, dtype=np.float32, rng=0)
    out, (h, c) = m(np.ones((2, 1, 3), np.float32))
    assert out.dtype == h.dtype == c.dtype == np.float32
    g = nn.GRU(3, 4, dtype=np.float32, rng=0)
    assert g(np.ones((2, 1, 3), np.float32))[0].dtype == np.float32


def test_init_is_uniform_in_one_over_sqrt_hidden():
    m = nn.LSTM(5, 16, num_layers=2, bidirectional=True, rng=0)
    for name, p in m.named_parameters():
        assert np.abs(p.data).max() <= 0.25 and np.abs(p.data).max() > 0.2, name
    assert m.weight_ih_l1.shape == (64, 32) and m.weight_hh_l0_reverse.shape == (64, 16)


def test_padded_batch_read_at_each_length_equals_running_alone():
    """The recipe in nn/recurrent.py's docstring for padded batches."""
    m = nn.LSTM(3, 4, rng=3)
    r = np.random.default_rng(3)
    seqs = [r.standard_normal((n, 3)) for n in (5, 2, 4)]
    lengths = np.array([len(s) for s in seqs])
    padded = np.zeros((5, 3, 3))
    for j, s in enumerate(seqs):
        padded[:len(s), j] = s
    out, _ = m(padded)
    last = out.data[lengths - 1, np.arange(3)]
    for j, s in enumerate(seqs):
        alone, (h, _) = m(s)
        np.testing.assert_allclose(last[j], h.data[0], rtol=1e-12)


# ---- dropout between layers --------------------------------------------------------
def test_dropout_only_between_layers_and_only_in_training():
    x = np.random.default_rng(4).standard_normal((6, 3, 3))
    m = nn.LSTM(3, 4, num_layers=2, dropout=0.5, rng=4)
    ref = nn.LSTM(3, 4, num_layers=2, dropout=0.0, rng=0)
    ref.load_state_dict(m.state_dict())
    m.eval()
    np.testing.assert_array_equal(m(x)[0].data, ref(x)[0].data)  # eval: no dropout
    m.train()
    a, b = m(x)[0].data, m(x)[0].data
    assert not np.allclose(a, ref(x)[0].data) and not np.allclose(a, b)  # fresh masks each call
    with pytest.warns(UserWarning, match="num_layers=1 does nothing"):
        one = nn.GRU(3, 4, num_layers=1, dropout=0.9, rng=5)  # after the last layer: never
    np.testing.assert_array_equal(one(x)[0].data, one.eval()(x)[0].data)


# ---- errors ------------------------------------------------------------------------------
def test_errors_name_the_shapes():
    m = nn.LSTM(3, 4, num_layers=2)
    with pytest.raises(ValueError, match=r"input_size 3.*\(5, 2, 7\)"):
        m(np.zeros((5, 2, 7)))
    with pytest.raises(ValueError, match=r"h_0 of shape \(2, 2, 4\).*\(1, 2, 4\)"):
        m(np.zeros((5, 2, 3)), (np.zeros((1, 2, 4)), np.zeros((2, 2, 4))))
    with pytest.raises(ValueError, match="tuple"):
        m(np.zeros((5, 2, 3)), np.zeros((2, 2, 4)))
    with pytest.raises(ValueError, match=r"3-D.*2-D|2-D.*3-D"):
        m(np.zeros((5, 2, 2, 3)))
    with pytest.raises(ValueError, match="larger than 0"):
        m(np.zeros((0, 2, 3)))
    with pytest.raises(ValueError, match="nonlinearity"):
        nn.RNN(3, 4, nonlinearity="sigmoid")
    with pytest.raises(NotImplementedError, match="proj_size"):
        nn.LSTM(3, 4, proj_size=2)
    with pytest.raises(ValueError, match=r"\(2, 4\).*\(3, 4\)"):
        nn.GRUCell(3, 4)(np.zeros((2, 3)), np.zeros((3, 4)))
    with pytest.raises(TypeError, match="floating-point"):
        nn.GRU(3, 4)(np.zeros((2, 1, 3), dtype=np.int64))


def test_attention_errors():
    with pytest.raises(ValueError, match="divisible"):
        nn.MultiheadAttention(6, 4)
    mha = nn.MultiheadAttention(6, 2)
    q = np.zeros((4, 2, 6))
    with pytest.raises(ValueError, match=r"attn_mask of shape \(4, 4\) or \(4, 4, 4\).*\(3, 4\)"):
        mha(q, q, q, attn_mask=np.zeros((3, 4), bool))
    with pytest.raises(ValueError, match=r"key_padding_mask of shape \(2, 4\)"):
        mha(q, q, q, key_padding_mask=np.zeros((4, 2), bool))
    with pytest.raises(ValueError, match="hint"):
        mha(q, q, q, is_causal=True)
    with pytest.raises(ValueError, match=r"query \(4, 2, 6\), key \(4, 2, 5\)"):
        mha(q, np.zeros((4, 2, 5)), q)
    with pytest.raises(TypeError, match="bool"):
        mha(q, q, q, attn_mask=np.zeros((4, 4), np.int64))
    sdpa = F.scaled_dot_product_attention
    with pytest.raises(ValueError, match=r"query \(2, 3\), key \(4, 5\)"):
        sdpa(np.zeros((2, 3)), np.zeros((4, 5)), np.zeros((4, 5)))
    with pytest.raises(ValueError, match="not both"):
        sdpa(np.zeros((2, 3)), np.zeros((4, 3)), np.zeros((4, 3)), attn_mask=np.ones((2, 4), bool),
             is_causal=True)
    with pytest.raises(ValueError, match=r"\(3, 3\).*\(2, 4\)"):
        sdpa(np.zeros((2, 3)), np.zeros((4, 3)), np.zeros((4, 3)), attn_mask=np.ones((3, 3), bool))


# ---- masks ----------------------------------------------------------------------------------
def test_sdpa_fully_masked_row_is_zero_with_zero_gradient():
    r = np.random.default_rng(6)
    q = tg.Tensor(r.standard_normal((3, 4)), requires_grad=True)
    k = tg.Tensor(r.standard_normal((5, 4)), requires_grad=True)
    v = tg.Tensor(r.standard_normal((5, 2)), requires_grad=True)
    mask = np.ones((3, 5), bool)
    mask[1] = False
    out = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
    assert np.array_equal(out.data[1], np.zeros(2)) and np.isfinite(out.data).all()
    out.sum().backward()
    assert np.array_equal(q.grad.data[1], np.zeros(4)) and np.isfinite(k.grad.data).all()


def test_sdpa_bool_and_float_masks_agree():
    r = np.random.default_rng(7)
    q, k, v = r.standard_normal((2, 3, 4)), r.standard_normal((2, 5, 4)), r.standard_normal((2, 5, 3))
    keep = r.random((3, 5)) > 0.3
    keep[:, 0] = True
    a = F.scaled_dot_product_attention(q, k, v, attn_mask=keep)
    b = F.scaled_dot_product_attention(q, k, v, attn_mask=np.where(keep, 0.0, -np.inf))
    np.testing.assert_allclose(a.data, b.data, rtol=1e-13)


def test_transformer_encoder_clones_layers():
    layer = nn.TransformerEncoderLayer(8, 2, dim_feedforward=16, rng=0)
    enc = nn.TransformerEncoder(layer, 3)
    keys = list(enc.state_dict())
    assert keys[0] == "layers.0.self_attn.in_proj_weight" and "layers.2.norm2.bias" in keys
    assert enc.layers[0] is not enc.layers[1]
    assert enc.layers[0].linear1.weight.shape == (16, 8)  # PyTorch's (out, in)
    np.testing.assert_array_equal(enc.layers[0].linear1.weight.data, enc.layers[2].linear1.weight.data)
    enc.layers[0].linear1.weight.data[...] = 0
    assert np.abs(enc.layers[1].linear1.weight.data).sum() > 0


# ---- second derivatives through whole layers ---------------------------------------------
@pytest.mark.parametrize("cls", ["RNN", "LSTM", "GRU"])
def test_layers_have_second_derivatives(cls):
    m = getattr(nn, cls)(2, 2, num_layers=2, bidirectional=True, rng=8)
    r = np.random.default_rng(8)
    x = tg.Tensor(r.standard_normal((2, 1, 2)), requires_grad=True)
    h0 = tg.Tensor(r.standard_normal((4, 1, 2)) * 0.5, requires_grad=True)

    def f(x, h0):
        return m(x, (h0, h0 * 0.5) if cls == "LSTM" else h0)[0]
    assert tg.gradcheck(f, (x, h0))
    assert tg.gradgradcheck(f, (x, h0))


def test_multihead_attention_has_second_derivatives():
    mha = nn.MultiheadAttention(4, 2, rng=9)
    r = np.random.default_rng(9)
    q = tg.Tensor(r.standard_normal((3, 1, 4)), requires_grad=True)
    kv = tg.Tensor(r.standard_normal((2, 1, 4)), requires_grad=True)
    mask = np.array([[False, True], [False, False], [True, False]])

    def f(q, kv):
        out, w = mha(q, kv, kv, attn_mask=mask)
        return out.sum() + (w * w).sum()
    assert tg.gradgradcheck(f, (q, kv))


def test_multihead_attention_init_is_pytorchs():
    e = 64
    m = nn.MultiheadAttention(e, 4, rng=10)
    bound = np.sqrt(6 / (4 * e))  # xavier_uniform_ on (3E, E)
    assert 0.9 * bound < np.abs(m.in_proj_weight.data).max() <= bound
    assert 0.9 / np.sqrt(e) < np.abs(m.out_proj.weight.data).max() <= 1 / np.sqrt(e)
    assert not m.in_proj_bias.data.any() and not m.out_proj.bias.data.any()
    assert m.out_proj.weight.shape == (e, e) and m.in_proj_weight.shape == (3 * e, e)
    kv = nn.MultiheadAttention(e, 4, kdim=3, vdim=5, add_bias_kv=True, rng=10)
    assert kv.in_proj_weight is None and kv.k_proj_weight.shape == (e, 3)
    assert abs(kv.bias_k.data.std() - 1 / np.sqrt(e)) < 0.5 / np.sqrt(e)


# ---- packed sequences --------------------------------------------------------------------------
def test_packed_layer_runs_each_sequence_alone():
    m = nn.GRU(3, 4, bidirectional=True, rng=11)
    r = np.random.default_rng(11)
    seqs = [r.standard_normal((n, 3)) for n in (2, 5, 3)]
    out, h_n = m(nn.pack_sequence(seqs, enforce_sorted=False))
    padded, lengths = nn.pad_packed_sequence(out)
    assert lengths.tolist() == [2, 5, 3] and padded.shape == (5, 3, 8)
    for j, s in enumerate(seqs):
        alone, h_alone = m(s)
        np.testing.assert_allclose(padded.data[:len(s), j], alone.data, rtol=1e-12)
        assert not padded.data[len(s):, j].any()  # padding is zeros
        np.testing.assert_allclose(h_n.data[:, j], h_alone.data, rtol=1e-12)


def test_packing_errors_and_round_trip():
    x = np.arange(24.0).reshape(4, 3, 2)
    with pytest.raises(ValueError, match=r"sorted in decreasing order.*enforce_sorted=False"):
        nn.pack_padded_sequence(x, [2, 4, 1])
    with pytest.raises(ValueError, match="greater than 0"):
        nn.pack_padded_sequence(x, [4, 0, 1])
    with pytest.raises(ValueError, match="exceeds"):
        nn.pack_padded_sequence(x, [5, 2, 1])
    with pytest.raises(ValueError, match="3 integers"):
        nn.pack_padded_sequence(x, [4, 2])
    p = nn.pack_padded_sequence(x, [2, 4, 1], enforce_sorted=False)
    assert p.batch_sizes.tolist() == [3, 2, 1, 1] and p.sorted_indices.tolist() == [1, 0, 2]
    back, lengths = nn.pad_packed_sequence(p, padding_value=-1.0)
    assert lengths.tolist() == [2, 4, 1]
    want = np.where((np.arange(4)[:, None] < lengths)[..., None], x, -1.0)
    assert np.array_equal(back.data, want)
    with pytest.raises(ValueError, match="total_length 3"):
        nn.pad_packed_sequence(p, total_length=3)
