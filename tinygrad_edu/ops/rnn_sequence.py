"""Whole-sequence GRU and Elman-RNN directions as one graph node each (see ``lstm_sequence``
in rnn_cell.py for the LSTM and for why: a node per step would slice the input projection
once per step, and each slice's gradient is the size of the whole sequence).

The backward is back-propagation through time written out (Werbos 1990), with
the recurrent weight's gradient as one matrix product over all steps. The
same code runs on arrays (the fast path, with the activations the forward
saved) and, under ``create_graph=True``, on Tensors after recomputing the
forward from the Tensor inputs, so second derivatives are exact.
"""
from __future__ import annotations

import numpy as np

from ..autograd import backward_rule, record
from ..tensor import Tensor
from ._common import as_operand
from .elementwise import relu
from .rnn_cell import _check, _quiet, _sigmoid

__all__: list = []  # used by nn.recurrent


def _operands(op, xp, w_hh, h0, gates):
    xp, w_hh, h0 = (as_operand(op, t) for t in (xp, w_hh, h0))
    xv, wv, hv = xp.data, w_hh.data, h0.data
    if xv.ndim != 3 or hv.ndim != 2 or xv.shape[0] == 0:
        raise ValueError(f"{op}: expected a non-empty xp (L, N, {gates}H) and h0 (N, H); got xp {xv.shape}, "
                         f"w_hh {wv.shape}, h0 {hv.shape}")
    n, hidden = hv.shape
    _check(op, ("xp", "w_hh", "h0"), (xv, wv, hv),
           ((xv.shape[0], n, gates * hidden), (gates * hidden, hidden), (n, hidden)))
    return xp, w_hh, h0


def _time(k, steps, reverse):
    return steps - 1 - k if reverse else k


# ---- GRU ---------------------------------------------------------------------------------
def gru_sequence(xp, w_hh, b_hh, h0, reverse=False):
    """One GRU layer direction over a whole sequence: h at every step, (L, N, H) in time order.

    ``xp`` (L, N, 3H) = ``x_t @ W_ih.T + b_ih`` (gates r, z, n), ``w_hh`` (3H, H)
    PyTorch's ``weight_hh``, ``b_hh`` (3H,) or None, ``h0`` (N, H). Each step is
    :func:`~tinygrad_edu.ops.rnn_cell.gru_cell` of ``xp[t]`` and
    ``h @ w_hh.T + b_hh``; ``reverse`` runs from the last step to the first.
    h_n is row L-1 of the result (row 0 when ``reverse``).

    Raises ValueError naming the shapes when they do not fit together.
    """
    xp, w_hh, h0 = _operands("gru_sequence", xp, w_hh, h0, 3)
    inputs, vals = (xp, w_hh, h0), (xp.data, w_hh.data, h0.data)
    if b_hh is not None:
        b_hh = as_operand("gru_sequence", b_hh)
        if b_hh.shape != (w_hh.shape[0],):
            raise ValueError(f"gru_sequence: expected b_hh of shape ({w_hh.shape[0]},), got {b_hh.shape}")
        inputs, vals = inputs + (b_hh,), vals + (b_hh.data,)
    hs, saved = _gru_forward(*vals[:3], vals[3] if b_hh is not None else None, reverse)
    steps = len(hs)
    out = np.stack([hs[_time(k, steps, reverse)] for k in range(steps)])
    return record(out, _gru_sequence_backward, inputs, (reverse, hs, saved), vals)


@_quiet
def _gru_forward(xp, w, h, b, reverse):
    """Per processing step: h, and (r, z, n, hp_n) for the backward. Arrays or Tensors."""
    steps, hidden = xp.shape[0], h.shape[-1]
    w_t = np.transpose(w)
    hs, saved = [], []
    for k in range(steps):
        x = xp[_time(k, steps, reverse)]
        hp = h @ w_t
        if b is not None:
            hp = hp + b
        rz = _sigmoid(x[:, :2 * hidden] + hp[:, :2 * hidden])
        r, z = rz[:, :hidden], rz[:, hidden:]
        hp_n = hp[:, 2 * hidden:]
        n = np.tanh(x[:, 2 * hidden:] + r * hp_n)
        h = n + z * (h - n)
        hs.append(h)
        saved.append((r, z, n, hp_n))
    return hs, saved


@backward_rule("gru_sequence")
def _gru_sequence_backward(gout, out, inputs, saved, needs):
    xp, w, h0 = inputs[:3]
    b = inputs[3] if len(inputs) > 3 else None
    reverse = saved[0]
    if isinstance(gout, Tensor):
        hs, acts = _gru_forward(xp, w, h0, b, reverse)
    else:
        hs, acts = saved[1], saved[2]
    steps = len(hs)
    dh = None
    dxs, dhps = [], []  # reverse processing order
    for k in range(steps - 1, -1, -1):
        gh = gout[_time(k, steps, reverse)]
        if dh is not None:
            gh = gh + dh
        r, z, n, hp_n = acts[k]
        h_prev = hs[k - 1] if k else h0
        dn = gh * (1 - z) * (1 - n * n)
        dr = dn * hp_n * (r * (1 - r))
        dz = gh * (h_prev - n) * (z * (1 - z))
        dxs.append(np.concatenate([dr, dz, dn], axis=-1))
        dhp = np.concatenate([dr, dz, dn * r], axis=-1)
        dhps.append(dhp)
        dh = gh * z + dhp @ w
    dhp_all = np.stack(dhps[::-1])  # processing order
    grads = [None] * len(inputs)
    if needs[0]:
        grads[0] = np.stack(dxs if reverse else dxs[::-1])  # time order
    if needs[1]:
        h_prev = np.stack([h0] + hs[:-1])
        grads[1] = _weight_grad(dhp_all, h_prev)
    if needs[2]:
        grads[2] = dh
    if b is not None and needs[3]:
        grads[3] = dhp_all.sum(axis=(0, 1))
    return tuple(grads)


def _weight_grad(dpre, h_prev):
    """``sum_t dpre_t^T @ h_prev_t`` as one product: (G, L*N) @ (L*N, H)."""
    g, hidden = dpre.shape[-1], h_prev.shape[-1]
    return np.transpose(dpre.reshape((-1, g))) @ h_prev.reshape((-1, hidden))


# ---- Elman RNN -------------------------------------------------------------------------------
def rnn_sequence(xp, w_hh, h0, nonlinearity="tanh", reverse=False):
    """One Elman-RNN layer direction: ``h_t = act(xp[t] + h_{t-1} @ w_hh.T)`` at every step, (L, N, H).

    ``xp`` (L, N, H) = ``x_t @ W_ih.T + b_ih + b_hh``, ``w_hh`` (H, H), ``h0``
    (N, H); ``nonlinearity`` ``'tanh'`` or ``'relu'`` (derivative 0 at 0, as
    PyTorch). h_n is row L-1 of the result (row 0 when ``reverse``).

    Raises ValueError naming the shapes when they do not fit together, or for
    another nonlinearity.
    """
    if nonlinearity not in ("tanh", "relu"):
        raise ValueError(f"rnn_sequence: nonlinearity must be 'tanh' or 'relu', got {nonlinearity!r}")
    xp, w_hh, h0 = _operands("rnn_sequence", xp, w_hh, h0, 1)
    hs = _rnn_forward(xp.data, w_hh.data, h0.data, nonlinearity, reverse)
    steps = len(hs)
    out = np.stack([hs[_time(k, steps, reverse)] for k in range(steps)])
    return record(out, _rnn_sequence_backward, (xp, w_hh, h0), (nonlinearity, reverse, hs),
                  (xp.data, w_hh.data, h0.data))


def _rnn_forward(xp, w, h, nonlinearity, reverse):
    steps = xp.shape[0]
    w_t = np.transpose(w)
    hs = []
    for k in range(steps):
        a = xp[_time(k, steps, reverse)] + h @ w_t
        if nonlinearity == "tanh":
            h = np.tanh(a)
        else:
            h = relu(a) if isinstance(a, Tensor) else np.maximum(a, 0)
        hs.append(h)
    return hs


@backward_rule("rnn_sequence")
def _rnn_sequence_backward(gout, out, inputs, saved, needs):
    xp, w, h0 = inputs
    nonlinearity, reverse = saved[0], saved[1]
    if isinstance(gout, Tensor):
        hs = _rnn_forward(xp, w, h0, nonlinearity, reverse)
    else:
        hs = saved[2]
    steps = len(hs)
    dh = None
    das = []  # reverse processing order
    for k in range(steps - 1, -1, -1):
        gh = gout[_time(k, steps, reverse)]
        if dh is not None:
            gh = gh + dh
        h = hs[k]
        # relu: select, never multiply by a 0/1 mask (an inf gradient must not become nan)
        da = gh * (1 - h * h) if nonlinearity == "tanh" else np.where(_val(h) > 0, gh, 0)
        das.append(da)
        dh = da @ w
    da_all = np.stack(das[::-1])
    dxp = dw = None
    if needs[0]:
        dxp = np.stack(das) if reverse else da_all
    if needs[1]:
        dw = _weight_grad(da_all, np.stack([h0] + hs[:-1]))
    return (dxp, dw, dh if needs[2] else None)


def _val(x):
    return x.data if isinstance(x, Tensor) else x
