"""Fused recurrent cell steps: ``lstm_cell`` and ``gru_cell``, each one graph node per time step.

A recurrent layer runs its cell once per time step, so the per-op cost of the
Python graph matters more than the arithmetic: an LSTM step written with
slices, sigmoids, tanhs and products is about fifteen nodes, these are one.
The gate pre-activations (the matrix products) stay outside, as ordinary
``linear``/``matmul`` nodes, so only elementwise work is fused here.

Backward rules are closed forms (the chain rule written out, Hochreiter &
Schmidhuber 1997 / Cho et al. 2014 with PyTorch's gate layout). On the fast
path they use the activations the forward saved; with ``create_graph=True``
the rule receives Tensors and recomputes the activations from the inputs
with dispatched numpy functions, so the backward is itself recorded and
second derivatives are exact.
"""
from __future__ import annotations

import numpy as np

from ..autograd import backward_rule, record
from ..tensor import Tensor
from ._common import as_operand

__all__: list = []  # used by nn.recurrent; not exported at the top level


@np.errstate(over="ignore")
def _sigmoid(z):
    # exp(-z) overflows to inf for very negative z, giving exactly 0: correct.
    return 1 / (1 + np.exp(-z))


def _check(op, names, arrays, shapes):
    for name, arr, shape in zip(names, arrays, shapes):
        if arr.shape != shape:
            given = ", ".join(f"{n} {a.shape}" for n, a in zip(names, arrays))
            raise ValueError(f"{op}: expected {name} of shape {shape}; got {given}")


def _lstm_activations(z, hidden):
    """The gate activations ``[i, f, g, o]`` as one (N, 4H) array/Tensor (PyTorch's order)."""
    h = hidden
    s = _sigmoid(z[..., 0:2 * h])
    return s[..., 0:h], s[..., h:2 * h], np.tanh(z[..., 2 * h:3 * h]), _sigmoid(z[..., 3 * h:4 * h])


def lstm_cell(gates, c):
    """One LSTM step from its gate pre-activations: returns ``stack([h', c'])``, shape (2, ..., H).

    ``gates`` (..., 4H) are ``x @ W_ih.T + b_ih + h @ W_hh.T + b_hh`` in PyTorch's
    gate order i, f, g, o; ``c`` (..., H) is the previous cell state. With
    ``i, f, o = sigmoid(.)``, ``g = tanh(.)``::

        c' = f * c + i * g
        h' = o * tanh(c')

    (``torch.nn.LSTMCell``'s formula.) Index the result: ``out[0]`` is h',
    ``out[1]`` is c'. Raises ValueError naming the shapes when the last axis of
    ``gates`` is not 4x that of ``c`` or the leading axes differ.
    """
    gates = as_operand("lstm_cell", gates)
    c = as_operand("lstm_cell", c)
    zv, cv = gates.data, c.data
    hidden = cv.shape[-1] if cv.ndim else 0
    _check("lstm_cell", ("gates", "c"), (zv, cv), (cv.shape[:-1] + (4 * hidden,), zv.shape[:-1] + (hidden,)))
    i, f, g, o = _lstm_activations(zv, hidden)
    c_new = f * cv + i * g
    tc = np.tanh(c_new)
    out = np.stack([o * tc, c_new])
    return record(out, _lstm_cell_backward, (gates, c), (i, f, g, o, tc), (zv, cv))


@backward_rule("lstm_cell")
def _lstm_cell_backward(gout, out, inputs, saved, needs):
    z, c = inputs
    if isinstance(gout, Tensor):  # create_graph: recompute differentiably from the inputs
        hidden = c.shape[-1]
        i, f, g, o = _lstm_activations(z, hidden)
        tc = np.tanh(f * c + i * g)
    else:
        i, f, g, o = saved[:4]
        tc = saved[4]
    gh, gc = gout[0], gout[1]
    dc = gc + gh * o * (1 - tc * tc)
    dz = dc_prev = None
    if needs[0]:
        dz = np.concatenate([dc * g * (i * (1 - i)), dc * c * (f * (1 - f)),
                             dc * i * (1 - g * g), gh * tc * (o * (1 - o))], axis=-1)
    if needs[1]:
        dc_prev = dc * f
    return (dz, dc_prev)


def gru_cell(xp, hp, h):
    """One GRU step from its two projections: returns h' (..., H).

    ``xp = x @ W_ih.T + b_ih`` and ``hp = h @ W_hh.T + b_hh`` (..., 3H), gates in
    PyTorch's order r, z, n; ``h`` (..., H) the previous state. PyTorch's
    formula (``torch.nn.GRUCell``; Cho et al. 2014 with the reset gate applied
    after the hidden projection)::

        r = sigmoid(xp_r + hp_r)
        z = sigmoid(xp_z + hp_z)
        n = tanh(xp_n + r * hp_n)
        h' = (1 - z) * n + z * h

    Raises ValueError naming the shapes when they do not fit together.
    """
    xp, hp, h = (as_operand("gru_cell", t) for t in (xp, hp, h))
    xv, hpv, hv = xp.data, hp.data, h.data
    hidden = hv.shape[-1] if hv.ndim else 0
    want = hv.shape[:-1] + (3 * hidden,)
    _check("gru_cell", ("xp", "hp", "h"), (xv, hpv, hv), (want, want, hv.shape))
    r, z, n = _gru_activations(xv, hpv, hidden)
    out = n + z * (hv - n)
    return record(out, _gru_cell_backward, (xp, hp, h), (r, z, n), (xv, hpv, hv))


def _gru_activations(xp, hp, hidden):
    k = hidden
    rz = _sigmoid(xp[..., 0:2 * k] + hp[..., 0:2 * k])
    r = rz[..., 0:k]
    return r, rz[..., k:2 * k], np.tanh(xp[..., 2 * k:3 * k] + r * hp[..., 2 * k:3 * k])


@backward_rule("gru_cell")
def _gru_cell_backward(g, out, inputs, saved, needs):
    xp, hp, h = inputs
    hidden = h.shape[-1]
    if isinstance(g, Tensor):
        r, z, n = _gru_activations(xp, hp, hidden)
    else:
        r, z, n = saved
    hn = hp[..., 2 * hidden:3 * hidden]
    dn = g * (1 - z) * (1 - n * n)
    dr = dn * hn * (r * (1 - r))
    dzp = g * (h - n) * (z * (1 - z))
    dxp = dhp = dh = None
    if needs[0]:
        dxp = np.concatenate([dr, dzp, dn], axis=-1)
    if needs[1]:
        dhp = np.concatenate([dr, dzp, dn * r], axis=-1)
    if needs[2]:
        dh = g * z
    return (dxp, dhp, dh)
