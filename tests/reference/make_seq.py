"""Regenerate seq.npz: what PyTorch's recurrent, attention and transformer layers compute.

Needs PyTorch (``pip install torch==2.13.0``, CPU wheel); the tests only read the
.npz. Run from the repository root: ``python tests/reference/make_seq.py``.

For every case in CASES a PyTorch module (float64, seeded weights perturbed so
that zero-initialised biases are not zero, evaluation mode: no dropout) is run
on seeded inputs. Stored under ``<case>/``: ``config`` (JSON: class, constructor
and non-array forward arguments), ``sd/<key>`` (the state_dict), ``in/<i>``
(positional inputs), ``kw/<name>`` (array keyword arguments: masks, initial
states), ``out/<i>`` (the outputs, flattened: ``(out, (h, c))`` -> out, h, c),
``gout/<i>`` (random output gradients), ``gin/<i>`` and ``gp/<key>`` (the
gradients of ``sum(out_i * gout_i)`` with respect to the inputs and parameters).
tests/test_recurrent_attention.py rebuilds each module with ours, loads the
state_dict as is and compares to 1e-10 relative.
"""
from __future__ import annotations

import json
import pathlib

import numpy as np
import torch
import torch.nn.functional as F

nn = torch.nn
R = np.random.default_rng(1234)


def tri(n, m):
    return np.triu(np.ones((n, m), bool), 1)  # MultiheadAttention: True = not allowed


def kpm(n, s):
    m = np.zeros((n, s), bool)
    m[0, -1] = True
    return m


def neg_inf_row(shape):
    m = R.standard_normal(shape)
    m[..., 1, :] = -np.inf  # one query sees nothing
    m[..., 0, 2] = -np.inf
    return m


# name -> (class, constructor kwargs, input shapes, array kwargs {name: array}, other forward kwargs)
CASES = {
    "rnn_tanh_2l_bi": ("RNN", dict(input_size=3, hidden_size=4, num_layers=2, bidirectional=True),
                       [(5, 2, 3)], {"hx": R.standard_normal((4, 2, 4))}, {}),
    "rnn_relu_bf": ("RNN", dict(input_size=3, hidden_size=4, nonlinearity="relu", batch_first=True),
                    [(2, 5, 3)], {}, {}),
    "rnn_unbatched": ("RNN", dict(input_size=3, hidden_size=4, bias=False), [(5, 3)], {}, {}),
    "lstm_2l_bi_h0": ("LSTM", dict(input_size=3, hidden_size=4, num_layers=2, bidirectional=True),
                      [(5, 2, 3)], {"hx": (R.standard_normal((4, 2, 4)), R.standard_normal((4, 2, 4)))},
                      {}),
    "lstm_bf_nobias": ("LSTM", dict(input_size=3, hidden_size=4, batch_first=True, bias=False),
                       [(2, 6, 3)], {}, {}),
    "lstm_3l_bf": ("LSTM", dict(input_size=3, hidden_size=2, num_layers=3, batch_first=True),
                   [(3, 4, 3)], {}, {}),
    "lstm_unbatched_bi": ("LSTM", dict(input_size=3, hidden_size=4, bidirectional=True), [(5, 3)],
                          {"hx": (R.standard_normal((2, 4)), R.standard_normal((2, 4)))}, {}),
    "gru_2l_bi_bf": ("GRU", dict(input_size=3, hidden_size=4, num_layers=2, bidirectional=True,
                                 batch_first=True), [(2, 5, 3)], {"hx": R.standard_normal((4, 2, 4))}, {}),
    "gru": ("GRU", dict(input_size=3, hidden_size=4), [(5, 2, 3)], {}, {}),
    "rnncell": ("RNNCell", dict(input_size=3, hidden_size=4), [(2, 3)], {"hx": R.standard_normal((2, 4))}, {}),
    "rnncell_relu": ("RNNCell", dict(input_size=3, hidden_size=4, nonlinearity="relu"), [(2, 3)], {}, {}),
    "lstmcell": ("LSTMCell", dict(input_size=3, hidden_size=4), [(2, 3)],
                 {"hx": (R.standard_normal((2, 4)), R.standard_normal((2, 4)))}, {}),
    "lstmcell_unbatched": ("LSTMCell", dict(input_size=3, hidden_size=4), [(3,)], {}, {}),
    "grucell": ("GRUCell", dict(input_size=3, hidden_size=4), [(2, 3)], {"hx": R.standard_normal((2, 4))}, {}),
    "mha_cross_masks": ("MultiheadAttention", dict(embed_dim=6, num_heads=2), [(4, 2, 6), (5, 2, 6), (5, 2, 6)],
                        {"key_padding_mask": kpm(2, 5), "attn_mask": R.standard_normal((4, 5))}, {}),
    "mha_kdim_vdim_bf_heads": ("MultiheadAttention", dict(embed_dim=6, num_heads=3, kdim=3, vdim=5,
                                                          batch_first=True),
                               [(2, 4, 6), (2, 5, 3), (2, 5, 5)], {"attn_mask": tri(4, 5)},
                               {"average_attn_weights": False}),
    "mha_bias_kv_zero_attn": ("MultiheadAttention", dict(embed_dim=6, num_heads=2, add_bias_kv=True,
                                                         add_zero_attn=True),
                              [(4, 2, 6), (5, 2, 6), (5, 2, 6)], {"key_padding_mask": kpm(2, 5)}, {}),
    "mha_no_weights_nobias": ("MultiheadAttention", dict(embed_dim=6, num_heads=2, bias=False),
                              [(4, 2, 6), (5, 2, 6), (5, 2, 6)], {"attn_mask": R.standard_normal((4, 4, 5))},
                              {"need_weights": False}),
    "enc_post_relu": ("TransformerEncoderLayer", dict(d_model=8, nhead=2, dim_feedforward=16),
                      [(5, 2, 8)], {}, {}),
    "enc_pre_gelu_bf_masks": ("TransformerEncoderLayer", dict(d_model=8, nhead=2, dim_feedforward=16,
                                                               activation="gelu", norm_first=True,
                                                               batch_first=True),
                              [(2, 5, 8)], {"src_mask": tri(5, 5), "src_key_padding_mask": kpm(2, 5)}, {}),
    "enc_post_gelu": ("TransformerEncoderLayer", dict(d_model=8, nhead=4, dim_feedforward=12,
                                                      activation="gelu"), [(5, 2, 8)], {}, {}),
    "enc_pre_relu": ("TransformerEncoderLayer", dict(d_model=8, nhead=2, dim_feedforward=16, norm_first=True),
                     [(5, 2, 8)], {}, {}),
    "dec_post_relu_masks": ("TransformerDecoderLayer", dict(d_model=8, nhead=2, dim_feedforward=16),
                            [(5, 2, 8), (4, 2, 8)],
                            {"tgt_mask": tri(5, 5), "memory_key_padding_mask": kpm(2, 4)}, {}),
    "dec_pre_gelu_bf": ("TransformerDecoderLayer", dict(d_model=8, nhead=2, dim_feedforward=16,
                                                        activation="gelu", norm_first=True, batch_first=True),
                        [(2, 5, 8), (2, 4, 8)], {}, {}),
}

# Packed sequences (pack_padded_sequence with enforce_sorted=False, then the layer):
# name -> (class, constructor kwargs, padded input shape (T, B, in), lengths, array kwargs).
PACKED = {
    "packed_lstm_2l_bi_h0": ("LSTM", dict(input_size=3, hidden_size=4, num_layers=2, bidirectional=True),
                             (5, 4, 3), [3, 5, 1, 5],
                             {"hx": (R.standard_normal((4, 4, 4)), R.standard_normal((4, 4, 4)))}),
    "packed_gru_bi": ("GRU", dict(input_size=3, hidden_size=4, bidirectional=True), (4, 3, 3), [2, 4, 3], {}),
    "packed_rnn_2l": ("RNN", dict(input_size=3, hidden_size=4, num_layers=2), (4, 3, 3), [4, 1, 2],
                      {"hx": R.standard_normal((2, 3, 4))}),
}

# scaled_dot_product_attention: input shapes, array kwargs, other kwargs.
SDPA = {
    "sdpa_plain": ([(2, 3, 4, 5), (2, 3, 6, 5), (2, 3, 6, 7)], {}, {}),
    "sdpa_bool_mask": ([(2, 3, 4, 5), (2, 3, 6, 5), (2, 3, 6, 7)],
                       {"attn_mask": np.arange(24).reshape(4, 6) % 3 != 1}, {}),
    "sdpa_float_mask_dead_row": ([(2, 4, 5), (2, 6, 5), (2, 6, 3)], {"attn_mask": neg_inf_row((2, 4, 6))}, {}),
    "sdpa_causal_long_keys": ([(3, 4, 5), (3, 6, 5), (3, 6, 5)], {}, {"is_causal": True}),
    "sdpa_causal_short_keys_scale": ([(6, 5), (4, 5), (4, 2)], {}, {"is_causal": True, "scale": 0.3}),
}


def perturbed(module):
    with torch.no_grad():
        for p in module.parameters():
            p.add_(torch.randn_like(p) * 0.1)  # make zero-initialised biases non-zero
    return module


def flatten(out):
    if isinstance(out, (tuple, list)):
        return [y for x in out for y in flatten(x)]
    return [] if out is None else [out]


def tensors(x, grad):
    if isinstance(x, tuple):
        return tuple(tensors(a, grad) for a in x)
    t = torch.tensor(x)
    return t.requires_grad_(True) if grad and t.dtype == torch.float64 else t


def record(store, name, config, inputs, kwargs, call, params):
    store[f"{name}/config"] = np.array(json.dumps(config))
    ins = [tensors(R.standard_normal(s), True) for s in inputs]
    for i, t in enumerate(ins):
        store[f"{name}/in/{i}"] = t.detach().numpy().copy()
    kw = {}
    for k, v in kwargs.items():
        for j, a in enumerate(v if isinstance(v, tuple) else (v,)):
            store[f"{name}/kw/{k}/{j}"] = a
        kw[k] = tensors(v, False)
    outs = flatten(call(ins, kw))
    loss = 0
    for i, o in enumerate(outs):
        g = R.standard_normal(tuple(o.shape))
        store[f"{name}/out/{i}"] = o.detach().numpy().copy()
        store[f"{name}/gout/{i}"] = g
        loss = loss + (o * torch.tensor(g)).sum()
    loss.backward()
    for i, t in enumerate(ins):
        store[f"{name}/gin/{i}"] = t.grad.numpy().copy()
    for k, p in params:
        store[f"{name}/gp/{k}"] = p.grad.numpy().copy()


def main():
    torch.manual_seed(0)
    store = {}
    for name, (cls, ctor, inputs, arrays, other) in CASES.items():
        m = perturbed(getattr(nn, cls)(**ctor).double()).eval()
        for k, v in m.state_dict().items():
            store[f"{name}/sd/{k}"] = v.numpy().copy()
        config = dict(cls=cls, ctor=ctor, kwargs=other, tuples=[k for k, v in arrays.items()
                                                                  if isinstance(v, tuple)])

        def call(ins, kw, m=m, other=other):
            return m(*ins, **kw, **other)
        record(store, name, config, inputs, arrays, call, list(m.named_parameters()))
    for name, (cls, ctor, shape, lengths, arrays) in PACKED.items():
        m = perturbed(getattr(nn, cls)(**ctor).double()).eval()
        for k, v in m.state_dict().items():
            store[f"{name}/sd/{k}"] = v.numpy().copy()
        config = dict(cls=cls, ctor=ctor, kwargs={}, lengths=lengths,
                      tuples=[k for k, v in arrays.items() if isinstance(v, tuple)])

        def call(ins, kw, m=m, lengths=lengths):
            packed = nn.utils.rnn.pack_padded_sequence(ins[0], lengths, enforce_sorted=False)
            out, h = m(packed, **kw)
            return out.data, h
        record(store, name, config, [shape], arrays, call, list(m.named_parameters()))
    for name, (inputs, arrays, other) in SDPA.items():
        def call(ins, kw, other=other):
            return F.scaled_dot_product_attention(*ins, **kw, **other)
        record(store, name, dict(cls="sdpa", ctor={}, kwargs=other, tuples=[]), inputs, arrays, call, [])
    path = pathlib.Path(__file__).with_name("seq.npz")
    np.savez_compressed(path, **store)
    print(f"wrote {path} ({path.stat().st_size} bytes, {len(store)} arrays)")


if __name__ == "__main__":
    main()
