"""Harness cases for attention and the recurrent cell ops (ops/attention.py, ops/rnn_cell.py).

scaled_dot_product_attention with every kind of mask, and one step of each
recurrent cell as a function of its input, states and weights, plus a whole
LSTM direction (``lstm_sequence``, both directions).
"""
from __future__ import annotations

import numpy as np
from hypothesis import strategies as st

import tinygrad_edu as tg
from op_cases import case
from tinygrad_edu.ops.attention import scaled_dot_product_attention as sdpa
from tinygrad_edu.ops.rnn_cell import gru_cell, lstm_cell, lstm_sequence
from tinygrad_edu.ops.rnn_sequence import gru_sequence, rnn_sequence


def _generator(draw):
    return np.random.default_rng(draw(st.integers(0, 2**32 - 1)))


def _leaf(draw, shape, dtype, min_value=-2.0, max_value=2.0, min_magnitude=0.0):
    """A leaf whose values come from a numpy generator seeded by one drawn integer.

    Why not ``op_cases.leaf``: the rule-coverage test draws every case of every
    family within one hypothesis example, whose entropy is bounded; a seed costs
    a few bytes, an array of drawn floats several per element, and these cases
    have many inputs (weights).
    """
    rng = _generator(draw)
    if min_magnitude:
        v = rng.uniform(min_magnitude, max(abs(min_value), abs(max_value)), shape)
        v *= rng.choice([-1.0, 1.0], shape)
        v = np.clip(v, min_value, max_value)
    else:
        v = rng.uniform(min_value, max_value, shape)
    return tg.Tensor(v.astype(dtype), requires_grad=True)


def _bools(draw, rows, cols):
    return _generator(draw).random((rows, cols)) < 0.6


def _qkv(draw, dtype, min_seq=1):
    batch = draw(st.sampled_from([(), (1,), (2,), (2, 1)]))
    L, S = draw(st.integers(min_seq, 3)), draw(st.integers(min_seq, 3))
    E, Ev = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    q = _leaf(draw, batch + (L, E), dtype)
    k = _leaf(draw, batch + (S, E), dtype)
    v = _leaf(draw, batch + (S, Ev), dtype)
    return q, k, v, L, S


@case("scaled_dot_product_attention")
def _sdpa(draw, dtype):
    q, k, v, _, _ = _qkv(draw, dtype)
    scale = draw(st.sampled_from([None, 0.5, 2.0]))
    return (lambda a, b, c: sdpa(a, b, c, scale=scale)), (q, k, v)


@case("scaled_dot_product_attention bool mask (rows may be fully masked)")
def _sdpa_bool(draw, dtype):
    q, k, v, L, S = _qkv(draw, dtype)
    mask = _bools(draw, L, S)
    return (lambda a, b, c: sdpa(a, b, c, attn_mask=mask)), (q, k, v)


@case("scaled_dot_product_attention float mask (a leaf, with -inf)")
def _sdpa_float(draw, dtype):
    q, k, v, L, S = _qkv(draw, dtype)
    m = _leaf(draw, (L, S), dtype)
    excluded = _bools(draw, L, S)

    def fn(a, b, c, mask):
        return sdpa(a, b, c, attn_mask=np.where(excluded, -np.inf, mask))
    return fn, (q, k, v, m)


@case("scaled_dot_product_attention causal")
def _sdpa_causal(draw, dtype):
    q, k, v, _, _ = _qkv(draw, dtype)
    return (lambda a, b, c: sdpa(a, b, c, is_causal=True)), (q, k, v)


def _step_leaves(draw, dtype, gates):
    n, inp, hid = draw(st.integers(1, 2)), draw(st.integers(1, 2)), draw(st.integers(1, 2))
    x = _leaf(draw, (n, inp), dtype)
    h = _leaf(draw, (n, hid), dtype)
    w_ih = _leaf(draw, (gates * hid, inp), dtype)
    w_hh = _leaf(draw, (gates * hid, hid), dtype)
    b = _leaf(draw, (gates * hid,), dtype)
    return n, hid, x, h, w_ih, w_hh, b


@case("rnn cell step: tanh(x W_ih^T + h W_hh^T + b)")
def _rnn_step(draw, dtype):
    _, _, x, h, w_ih, w_hh, b = _step_leaves(draw, dtype, 1)
    return (lambda x, h, wi, wh, b: np.tanh(x @ wi.T + h @ wh.T + b)), (x, h, w_ih, w_hh, b)


@case("lstm_cell (step as a function of x, h, c and the weights)")
def _lstm_step(draw, dtype):
    n, hid, x, h, w_ih, w_hh, b = _step_leaves(draw, dtype, 4)
    c = _leaf(draw, (n, hid), dtype)
    return (lambda x, h, c, wi, wh, b: lstm_cell(x @ wi.T + h @ wh.T + b, c)), (x, h, c, w_ih, w_hh, b)


@case("gru_cell (step as a function of x, h and the weights)")
def _gru_step(draw, dtype):
    _, hid, x, h, w_ih, w_hh, b = _step_leaves(draw, dtype, 3)
    b_hh = _leaf(draw, (3 * hid,), dtype)
    return (lambda x, h, wi, wh, bi, bh: gru_cell(x @ wi.T + bi, h @ wh.T + bh, h)), \
        (x, h, w_ih, w_hh, b, b_hh)


@case("lstm_sequence (a whole LSTM direction)")
def _lstm_seq(draw, dtype):
    steps, n, hid = draw(st.integers(1, 3)), draw(st.integers(1, 2)), draw(st.integers(1, 2))
    xp = _leaf(draw, (steps, n, 4 * hid), dtype)
    w_hh = _leaf(draw, (4 * hid, hid), dtype)
    h0, c0 = _leaf(draw, (n, hid), dtype), _leaf(draw, (n, hid), dtype)
    reverse = draw(st.booleans())
    return (lambda *a: lstm_sequence(*a, reverse=reverse)), (xp, w_hh, h0, c0)


@case("gru_sequence (a whole GRU direction)")
def _gru_seq(draw, dtype):
    steps, n, hid = draw(st.integers(1, 3)), draw(st.integers(1, 2)), draw(st.integers(1, 2))
    xp = _leaf(draw, (steps, n, 3 * hid), dtype)
    w_hh, b_hh = _leaf(draw, (3 * hid, hid), dtype), _leaf(draw, (3 * hid,), dtype)
    h0 = _leaf(draw, (n, hid), dtype)
    reverse = draw(st.booleans())
    if draw(st.booleans()):
        return (lambda x, w, h: gru_sequence(x, w, None, h, reverse=reverse)), (xp, w_hh, h0)
    return (lambda x, w, b, h: gru_sequence(x, w, b, h, reverse=reverse)), (xp, w_hh, b_hh, h0)


@case("rnn_sequence (a whole Elman-RNN direction, tanh or relu)")
def _rnn_seq(draw, dtype):
    steps, n, hid = draw(st.integers(1, 3)), draw(st.integers(1, 2)), draw(st.integers(1, 2))
    nonlinearity = draw(st.sampled_from(["tanh", "relu"]))
    # relu: pre-activations away from its kink at 0 (a small recurrent weight keeps them there)
    xp = _leaf(draw, (steps, n, hid), dtype, min_magnitude=0.5) if nonlinearity == "relu" \
        else _leaf(draw, (steps, n, hid), dtype)
    scale = 0.05 if nonlinearity == "relu" else 1.0
    w_hh = _leaf(draw, (hid, hid), dtype, min_value=-scale, max_value=scale)
    h0 = _leaf(draw, (n, hid), dtype, min_value=-scale, max_value=scale)
    reverse = draw(st.booleans())
    return (lambda *a: rnn_sequence(*a, nonlinearity=nonlinearity, reverse=reverse)), (xp, w_hh, h0)
