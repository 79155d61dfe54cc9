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
from ._common import as_operand, ascontiguousarray

__all__: list = []  # used by nn.recurrent; not exported at the top level


# exp(-z) overflows to inf for very negative z, giving exactly 0: correct. The
# callers silence the warning once (a context per sigmoid call costs more than it).
_quiet = np.errstate(over="ignore")
from ._common import asarray as _asarray


def _sigmoid(z):
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


@_quiet
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
@_quiet
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


@_quiet
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
@_quiet
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


# ---- a whole LSTM sequence as one node ------------------------------------------
def lstm_sequence(xp, w_hh, h0, c0, reverse=False, last=None):
    """One LSTM layer direction over a whole sequence, as one graph node.

    ``xp`` (L, N, 4H) holds the input projections of every step,
    ``x_t @ W_ih.T + b_ih + b_hh`` (gate order i, f, g, o); ``w_hh`` (4H, H) is
    PyTorch's ``weight_hh``; ``h0``, ``c0`` (N, H) the initial states. Each step
    is :func:`lstm_cell` of ``xp[t] + h @ w_hh.T``; ``reverse`` runs from the
    last step to the first (the backward direction of a bidirectional layer).

    Returns an (L + 1, N, H) tensor: rows ``0..L-1`` are h at every step in
    time order (the layer's output), row ``L`` is the final cell state c_n
    (h_n is row L-1, or row 0 when ``reverse``).

    ``last`` (optional, ints of shape (N,)): row L holds instead the cell state
    of sequence b after processing step ``last[b]`` (for sequences of
    different lengths, see ``nn.recurrent``'s packed sequences).

    Why one node: a step-per-node graph slices ``xp[t]`` L times, and each
    slice's gradient is an (L, N, 4H) array, so the backward moves O(L**2)
    memory. Here the backward is back-propagation through time written out
    (Werbos 1990) with the recurrent weight's gradient as one matrix product
    over all steps, as PyTorch's kernel does. With ``create_graph=True`` the
    rule recomputes the forward from its Tensor inputs and runs the same
    code on Tensors, so second derivatives are exact.

    Raises ValueError naming the shapes when they do not fit together.
    """
    xp, w_hh, h0, c0 = (as_operand("lstm_sequence", t) for t in (xp, w_hh, h0, c0))
    xv, wv, hv, cv = xp.data, w_hh.data, h0.data, c0.data
    if xv.ndim != 3 or hv.ndim != 2:
        raise ValueError(f"lstm_sequence: expected xp (L, N, 4H) and h0, c0 (N, H); got xp {xv.shape}, "
                         f"w_hh {wv.shape}, h0 {hv.shape}, c0 {cv.shape}")
    n, hidden = hv.shape
    _check("lstm_sequence", ("xp", "w_hh", "h0", "c0"), (xv, wv, hv, cv),
           ((xv.shape[0], n, 4 * hidden), (4 * hidden, hidden), (n, hidden), (n, hidden)))
    if xv.shape[0] == 0:
        raise ValueError(f"lstm_sequence: the sequence is empty (xp of shape {xv.shape})")
    if last is not None:
        last = _asarray(last)
        if last.shape != (n,) or last.dtype.kind not in "iu" or ((last < 0) | (last >= xv.shape[0])).any():
            raise ValueError(f"lstm_sequence: last must be {n} step indices in [0, {xv.shape[0]}), got {last!r}")
    out, saved = _lstm_sequence_forward_arrays(xv, wv, hv, cv, reverse, last)
    return record(out, _lstm_sequence_backward, (xp, w_hh, h0, c0), (reverse, last) + saved,
                  (xv, wv, hv, cv))


@_quiet
def _lstm_sequence_forward_arrays(xp, w, h, c, reverse, last):
    """The fast path of :func:`_lstm_sequence_forward`: preallocated buffers, in-place ufuncs.

    Returns the (L + 1, N, H) output and what the backward needs, stacked per
    processing step k: activations (L, N, 4H) as [i|f|g|o], c (L, N, H), tanh(c).
    """
    dtype = np.result_type(xp, w, h, c)
    steps, n, hidden = xp.shape[0], h.shape[0], h.shape[1]
    w_t = ascontiguousarray(w.T, dtype=dtype)
    acts = np.empty((steps, n, 4 * hidden), dtype)
    cs = np.empty((steps, n, hidden), dtype)
    tcs = np.empty((steps, n, hidden), dtype)
    out = np.empty((steps + 1, n, hidden), dtype)
    g_slice = slice(2 * hidden, 3 * hidden)
    for k in range(steps):
        t = steps - 1 - k if reverse else k
        z = acts[k]
        np.matmul(h, w_t, out=z)
        z += xp[t]
        g = np.tanh(z[:, g_slice])
        np.negative(z, out=z)  # sigmoid of all four, in place; g is put back after
        np.exp(z, out=z)
        z += 1
        np.reciprocal(z, out=z)
        z[:, g_slice] = g
        i, f, o = z[:, :hidden], z[:, hidden:2 * hidden], z[:, 3 * hidden:]
        c_new = cs[k]
        np.multiply(f, c, out=c_new)
        g *= i
        c_new += g
        np.tanh(c_new, out=tcs[k])
        h = out[t]
        np.multiply(o, tcs[k], out=h)
        c = c_new
    out[steps] = c if last is None else cs[last, np.arange(n)]
    # The backward reads h at every step from its own copy: the output may be written in place.
    return out, (out[:steps].copy(), cs, acts, tcs)


def _lstm_sequence_backward_arrays(gout, xp, w, h0, c0, reverse, last, hs, cs, acts, tcs, needs):
    """The fast path of the backward: the generic formulas, with every factor that does not
    depend on the incoming gradient computed for all steps at once (a few large ufunc
    calls instead of many small ones), leaving six small ones and a product per step."""
    steps, n, hidden = cs.shape
    dtype = acts.dtype
    a4 = acts.reshape(steps, n, 4, hidden)
    i, f, g, o = a4[:, :, 0], a4[:, :, 1], a4[:, :, 2], a4[:, :, 3]
    c_prev = np.empty_like(cs)
    c_prev[0] = c0
    c_prev[1:] = cs[:-1]
    # dz = [dc * g*i*(1-i), dc * c_prev*f*(1-f), dc * i*(1-g*g), gh * tc*o*(1-o)]:
    # a*(1-a) for all four gates in two contiguous calls, then the gate-specific factors.
    fac = np.subtract(1, acts)
    fac *= acts
    fac = fac.reshape(steps, n, 4, hidden)
    fac[:, :, 0] *= g
    fac[:, :, 1] *= c_prev
    np.multiply(g, g, out=fac[:, :, 2])
    np.subtract(1, fac[:, :, 2], out=fac[:, :, 2])
    fac[:, :, 2] *= i
    fac[:, :, 3] *= tcs
    to_c = np.multiply(tcs, tcs)  # dc += gh * o * (1 - tanh(c)**2)
    np.subtract(1, to_c, out=to_c)
    to_c *= o
    dz = np.empty((steps, n, 4, hidden), dtype)  # processing order
    w = w.astype(dtype, copy=False)
    # (astype, not np.array: a jit recording logs the copy of a traced gradient)
    dc = gout[steps].astype(dtype) if last is None else np.zeros((n, hidden), dtype)
    dh = None
    tmp = np.empty((n, hidden), dtype)
    for k in range(steps - 1, -1, -1):
        t = steps - 1 - k if reverse else k
        if last is not None:  # the sequences whose final cell state is this step's
            ends = last == k
            if ends.any():
                dc[ends] += gout[steps][ends]
        gh = gout[t] if dh is None else gout[t] + dh
        d = dz[k]
        np.multiply(gh, fac[k, :, 3], out=d[:, 3])
        np.multiply(gh, to_c[k], out=tmp)
        dc += tmp
        np.multiply(dc[:, None, :], fac[k, :, :3], out=d[:, :3])
        dc *= f[k]
        if k or needs[2]:
            dh = d.reshape(n, 4 * hidden) @ w
    dz = dz.reshape(steps, n, 4 * hidden)
    dxp = dw = None
    if needs[0]:
        dxp = dz[::-1] if reverse else dz
    if needs[1]:
        h_prev = np.empty((steps, n, hidden), dtype)  # h before each processing step
        h_prev[0] = h0
        order = hs[::-1] if reverse else hs
        h_prev[1:] = order[:-1]
        dw = dz.reshape(-1, 4 * hidden).T @ h_prev.reshape(-1, hidden)
    return (dxp, dw, dh if needs[2] else None, dc if needs[3] else None)


@_quiet
def _lstm_sequence_forward(xp, w_t, h, c, reverse):
    """The steps in processing order: lists of h, c, activations [i|f|g|o] and tanh(c).

    Runs on arrays (``w_t`` contiguous, for the fast path) and on Tensors
    (create_graph: every line dispatches to a recorded op).
    """
    steps = xp.shape[0]
    hidden = h.shape[-1]
    hs, cs, acts, tcs = [], [], [], []
    for k in range(steps):
        z = xp[steps - 1 - k if reverse else k] + h @ w_t
        i, f, g, o = _lstm_activations(z, hidden)
        c = f * c + i * g
        tc = np.tanh(c)
        h = o * tc
        hs.append(h)
        cs.append(c)
        acts.append((i, f, g, o))
        tcs.append(tc)
    return hs, cs, acts, tcs


@backward_rule("lstm_sequence")
def _lstm_sequence_backward(gout, out, inputs, saved, needs):
    xp, w, h0, c0 = inputs
    reverse, last = saved[0], saved[1]
    if not isinstance(gout, Tensor):
        return _lstm_sequence_backward_arrays(gout, xp, w, h0, c0, reverse, *saved[1:], needs)
    # create_graph: recompute the forward from the Tensor inputs, then the same formulas as Tensors.
    hs, cs, acts, tcs = _lstm_sequence_forward(xp, np.transpose(w), h0, c0, reverse)
    steps = len(hs)
    dh, dc = None, gout[steps] if last is None else None
    dzs = []  # in reverse processing order
    for k in range(steps - 1, -1, -1):
        if last is not None:
            ends = np.where((last == k)[:, None], gout[steps], 0)
            dc = ends if dc is None else dc + ends
        gh = gout[steps - 1 - k if reverse else k]
        if dh is not None:
            gh = gh + dh
        i, f, g, o = acts[k]
        tc = tcs[k]
        dc = dc + gh * o * (1 - tc * tc)
        c_prev = cs[k - 1] if k else c0
        dz = np.concatenate([dc * g * (i * (1 - i)), dc * c_prev * (f * (1 - f)),
                             dc * i * (1 - g * g), gh * tc * (o * (1 - o))], axis=-1)
        dzs.append(dz)
        dc = dc * f
        dh = dz @ w
    dz = np.stack(dzs[::-1])  # processing order
    dxp = dw = None
    if needs[0]:
        dxp = dz[::-1] if reverse else dz  # time order
    if needs[1]:
        h_prev = np.stack([h0] + hs[:-1])
        four_h, hidden = w.shape
        dw = np.transpose(dz.reshape((-1, four_h))) @ h_prev.reshape((-1, hidden))
    return (dxp, dw, dh if needs[2] else None, dc if needs[3] else None)
