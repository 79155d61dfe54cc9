"""Recurrent layers with PyTorch's names, signatures and parameter layout.

``RNNCell``, ``LSTMCell``, ``GRUCell`` (one time step) and ``RNN``, ``LSTM``,
``GRU`` (whole sequences, several layers, both directions). Parameters are
named and shaped as PyTorch's (``weight_ih_l0`` of shape ``(4*hidden, input)``
for an LSTM, gate order i, f, g, o; GRU r, z, n; ``_reverse`` for the second
direction), so a PyTorch ``state_dict`` loads as is: **these layers keep
PyTorch's ``(out, in)`` weight layout**, unlike this package's ``Linear``.

How a sequence is computed (fast in Python): for each layer and direction the
input projection of *all* time steps is one matrix product,
``xp = x @ W_ih.T + b`` of shape (L, N, G*H); then the recurrence over the
steps (one product ``h @ W_hh.T`` for all gates per step, then the gates
as slices) runs inside one graph node per direction,
:func:`~tinygrad_edu.ops.rnn_cell.lstm_sequence`,
:func:`~tinygrad_edu.ops.rnn_sequence.gru_sequence`,
:func:`~tinygrad_edu.ops.rnn_sequence.rnn_sequence`, whose backward is
back-propagation through time in closed form (the recurrent weight's
gradient as one product over all steps). Their backward rules are
differentiable again, so ``create_graph=True`` second derivatives work. The
cells (one step) are built from ``linear`` and the fused cell ops
:func:`~tinygrad_edu.ops.rnn_cell.lstm_cell`, ``gru_cell`` (``tanh``/``relu``
for the plain RNN cell).

**Sequences of different lengths.** Pack them (``pack_padded_sequence``,
``pack_sequence``, as ``torch.nn.utils.rnn``; here in ``nn``) and pass the
``PackedSequence``: each sequence then runs as if alone, as in PyTorch
(its states stop at its end, the reverse direction starts there, ``h_n`` is
each sequence's own last state) and the output is a ``PackedSequence``
(``pad_packed_sequence`` pads it again). Without packing, a padded batch
gives the right output for the forward direction at each sequence's own
last step, ``out[lengths - 1, np.arange(N)]``, but not ``h_n`` nor the
reverse direction.
"""
from __future__ import annotations

import math
import warnings

import numpy as np

from ..ops.arith import add
from ..ops.elementwise import relu, tanh
from ..ops.linalg import linear, matmul
from ..ops.rnn_cell import gru_cell, lstm_cell, lstm_sequence
from ..ops.rnn_sequence import gru_sequence, rnn_sequence
from ..ops.shape import (concatenate, expand_dims, getitem, reshape, squeeze, stack, swapaxes,
                         transpose)
from ..tensor import Tensor
from . import functional as F
from ._rng import as_generator
from ._sizes import as_size
from .module import Module
from .parameter import OutInParameter, Parameter
from .rnn_utils import (PackedSequence, pack_padded_sequence, pack_sequence, packed_index,
                        pad_packed_sequence, pad_sequence)

__all__ = ["RNNCell", "LSTMCell", "GRUCell", "RNN", "LSTM", "GRU", "PackedSequence",
           "pack_padded_sequence", "pad_packed_sequence", "pad_sequence", "pack_sequence"]

_GATES = {"RNN_TANH": 1, "RNN_RELU": 1, "LSTM": 4, "GRU": 3}


def _nonlinearity_mode(layer, nonlinearity):
    if nonlinearity == "tanh":
        return "RNN_TANH"
    if nonlinearity == "relu":
        return "RNN_RELU"
    raise ValueError(f"{layer}: unknown nonlinearity {nonlinearity!r}; choose 'tanh' or 'relu'")


def _uniform_params(module, gen, hidden, dtype):
    """PyTorch's init for every recurrent weight and bias: U(-1/sqrt(H), 1/sqrt(H)), in order."""
    k = 1 / math.sqrt(hidden) if hidden else 0.0
    for p in module.parameters():
        p.data[...] = gen.uniform(-k, k, p.shape).astype(dtype)


def _as_input(layer, x):
    x = x if isinstance(x, Tensor) else F.as_tensor(x)
    if x.dtype.kind not in "fc":
        raise TypeError(f"{layer}: expected a floating-point input, got dtype {x.dtype} "
                        f"of shape {x.shape}")
    return x


# ---- one step ----------------------------------------------------------------
def _step(mode, xp, h, c, w_hh_t, b_hh):
    """One cell step given the input projection ``xp`` (N, G*H); returns ``(h', c')``."""
    if mode == "GRU":  # b_hn stays inside r * (W_hn h + b_hn)
        hp = matmul(h, w_hh_t) if b_hh is None else linear(h, w_hh_t, b_hh)
        return gru_cell(xp, hp, h), None
    pre = linear(h, w_hh_t, xp)
    if mode == "LSTM":
        hc = lstm_cell(pre, c)
        return getitem(hc, 0), getitem(hc, 1)
    return (tanh(pre) if mode == "RNN_TANH" else relu(pre)), None


class _CellBase(Module):
    def __init__(self, mode, input_size, hidden_size, bias, rng, dtype):
        super().__init__()
        name = type(self).__name__
        self.input_size = as_size(name, "input_size", input_size)
        self.hidden_size = as_size(name, "hidden_size", hidden_size)
        self.bias = bool(bias)
        self._mode = mode
        g = _GATES[mode] * self.hidden_size
        self.weight_ih = OutInParameter(np.zeros((g, self.input_size), dtype))
        self.weight_hh = OutInParameter(np.zeros((g, self.hidden_size), dtype))
        if bias:
            self.bias_ih = Parameter(np.zeros(g, dtype))
            self.bias_hh = Parameter(np.zeros(g, dtype))
        else:
            self.register_parameter("bias_ih", None)
            self.register_parameter("bias_hh", None)
        _uniform_params(self, as_generator(rng), self.hidden_size, dtype)

    def _run(self, x, hx):
        name = type(self).__name__
        x = _as_input(name, x)
        if x.ndim not in (1, 2) or x.shape[-1] != self.input_size:
            raise ValueError(f"{name}: expected input of shape (batch, {self.input_size}) or "
                             f"({self.input_size},), got {x.shape}")
        batched = x.ndim == 2
        if not batched:
            x = expand_dims(x, 0)
        n = x.shape[0]
        states = [] if hx is None else (list(hx) if self._mode == "LSTM" else [hx])
        if self._mode == "LSTM" and hx is not None and len(states) != 2:
            raise ValueError(f"{name}: hx must be a tuple (h, c), got {len(states)} tensors")
        want = (n, self.hidden_size) if batched else (self.hidden_size,)
        fixed = []
        for label, s in zip(("h", "c"), states):
            s = _as_input(name, s)
            if s.shape != want:
                raise ValueError(f"{name}: expected {label} of shape {want} for input {tuple(x.shape if batched else x.shape[1:])}, "
                                 f"got {s.shape}")
            fixed.append(s if batched else expand_dims(s, 0))
        p = self._parameters
        b_ih, b_hh = p["bias_ih"], p["bias_hh"]
        if self.bias and self._mode != "GRU":
            b_ih, b_hh = add(b_ih, b_hh), None
        w_ih_t = transpose(p["weight_ih"])
        xp = matmul(x, w_ih_t) if b_ih is None else linear(x, w_ih_t, b_ih)
        zeros = np.zeros((n, self.hidden_size), xp.dtype)
        h = fixed[0] if fixed else F.as_tensor(zeros)
        c = fixed[1] if len(fixed) > 1 else F.as_tensor(zeros)
        h, c = _step(self._mode, xp, h, c, transpose(p["weight_hh"]), b_hh)
        if not batched:
            h = squeeze(h, 0)
            c = None if c is None else squeeze(c, 0)
        return h, c

    def extra_repr(self):
        s = f"{self.input_size}, {self.hidden_size}"
        if not self.bias:
            s += ", bias=False"
        if self._mode == "RNN_RELU":
            s += ", nonlinearity='relu'"
        return s


class RNNCell(_CellBase):
    """One step of an Elman RNN, as ``torch.nn.RNNCell``: ``h' = act(x W_ih^T + b_ih + h W_hh^T + b_hh)``.

    Args:
        input_size, hidden_size: feature sizes of x and h.
        bias: learn ``bias_ih`` and ``bias_hh``.
        nonlinearity: ``'tanh'`` (default) or ``'relu'``.
        rng, dtype: init generator (None, seed or Generator) and parameter dtype (float64).

    Parameters (PyTorch layout): ``weight_ih`` (H, input_size), ``weight_hh`` (H, H),
    ``bias_ih``, ``bias_hh`` (H,), all U(-1/sqrt(H), 1/sqrt(H)).

    Shapes: input (N, input_size) or unbatched (input_size,); hx (N, H) / (H,) or
    None (zeros) -> h' of hx's shape. Raises ValueError naming the shapes.
    """

    def __init__(self, input_size, hidden_size, bias=True, nonlinearity="tanh", *, rng=None,
                 dtype=np.float64):
        super().__init__(_nonlinearity_mode("RNNCell", nonlinearity), input_size, hidden_size,
                         bias, rng, dtype)
        self.nonlinearity = nonlinearity

    def forward(self, input, hx=None):
        return self._run(input, hx)[0]


class LSTMCell(_CellBase):
    """One LSTM step, as ``torch.nn.LSTMCell`` (Hochreiter & Schmidhuber 1997, with forget gate).

    With gates ``x W_ih^T + b_ih + h W_hh^T + b_hh`` split as i, f, g, o::

        i, f, o = sigmoid(.), g = tanh(.)
        c' = f * c + i * g,   h' = o * tanh(c')

    Parameters: ``weight_ih`` (4H, input_size), ``weight_hh`` (4H, H), ``bias_ih``,
    ``bias_hh`` (4H,), PyTorch's layout and init.

    Shapes: input (N, input_size) or (input_size,); hx a tuple (h, c) of (N, H)
    / (H,) or None (zeros) -> ``(h', c')``. Raises ValueError naming the shapes.
    """

    def __init__(self, input_size, hidden_size, bias=True, *, rng=None, dtype=np.float64):
        super().__init__("LSTM", input_size, hidden_size, bias, rng, dtype)

    def forward(self, input, hx=None):
        return self._run(input, hx)


class GRUCell(_CellBase):
    """One GRU step, as ``torch.nn.GRUCell`` (Cho et al. 2014; PyTorch's variant)::

        r = sigmoid(W_ir x + b_ir + W_hr h + b_hr)
        z = sigmoid(W_iz x + b_iz + W_hz h + b_hz)
        n = tanh(W_in x + b_in + r * (W_hn h + b_hn))
        h' = (1 - z) * n + z * h

    Parameters: ``weight_ih`` (3H, input_size), ``weight_hh`` (3H, H), biases (3H,),
    gate order r, z, n. Shapes as :class:`RNNCell`.
    """

    def __init__(self, input_size, hidden_size, bias=True, *, rng=None, dtype=np.float64):
        super().__init__("GRU", input_size, hidden_size, bias, rng, dtype)

    def forward(self, input, hx=None):
        return self._run(input, hx)[0]


# ---- whole sequences -----------------------------------------------------------
class _RNNBase(Module):
    def __init__(self, mode, input_size, hidden_size, num_layers, bias, batch_first, dropout,
                 bidirectional, proj_size, rng, dtype):
        super().__init__()
        name = type(self).__name__
        self.input_size = as_size(name, "input_size", input_size)
        self.hidden_size = as_size(name, "hidden_size", hidden_size, minimum=1)
        self.num_layers = as_size(name, "num_layers", num_layers, minimum=1)
        if proj_size:
            raise NotImplementedError(f"{name}: proj_size (LSTM with projections) is not implemented")
        if isinstance(dropout, bool) or not isinstance(dropout, (int, float)) or not 0 <= dropout <= 1:
            raise ValueError(f"{name}: dropout should be a number in range [0, 1] representing the "
                             f"probability of an element being zeroed, got {dropout!r}")
        if dropout and self.num_layers == 1:  # as PyTorch: it would have no effect
            warnings.warn(f"{name}: dropout acts between recurrent layers (not after the last), so "
                          f"dropout={dropout} with num_layers=1 does nothing", UserWarning, stacklevel=3)
        self.mode = mode
        self.bias = bool(bias)
        self.batch_first = bool(batch_first)
        self.dropout = float(dropout)
        self.bidirectional = bool(bidirectional)
        self.proj_size = 0
        self._rng = gen = as_generator(rng)
        g = _GATES[mode] * self.hidden_size
        dirs = 2 if bidirectional else 1
        self._names = []
        for layer in range(self.num_layers):
            n_in = self.input_size if layer == 0 else self.hidden_size * dirs
            for d in range(dirs):
                sfx = f"_l{layer}" + ("_reverse" if d else "")
                names = [f"weight_ih{sfx}", f"weight_hh{sfx}"]
                setattr(self, names[0], OutInParameter(np.zeros((g, n_in), dtype)))
                setattr(self, names[1], OutInParameter(np.zeros((g, self.hidden_size), dtype)))
                if bias:
                    names += [f"bias_ih{sfx}", f"bias_hh{sfx}"]
                    setattr(self, names[2], Parameter(np.zeros(g, dtype)))
                    setattr(self, names[3], Parameter(np.zeros(g, dtype)))
                self._names.append(names)
        _uniform_params(self, gen, self.hidden_size, dtype)

    @property
    def _flat_weights_names(self):
        return [n for names in self._names for n in names]

    @property
    def all_weights(self):
        """The parameters per layer and direction: ``[[w_ih, w_hh, b_ih, b_hh], ...]`` (as PyTorch)."""
        return [[self._parameters[n] for n in names] for names in self._names]

    def flatten_parameters(self):
        """No-op, for code written for PyTorch (cuDNN's weight packing does not apply here)."""

    def _check_states(self, states, n, batched):
        name = type(self).__name__
        dirs = 2 if self.bidirectional else 1
        want = (self.num_layers * dirs, n, self.hidden_size) if batched else \
            (self.num_layers * dirs, self.hidden_size)
        labels = ("h_0", "c_0") if self.mode == "LSTM" else ("h_0",)
        out = []
        for label, s in zip(labels, states):
            s = _as_input(name, s)
            if s.ndim != len(want):
                raise ValueError(f"{name}: for {'batched 3-D' if batched else 'unbatched 2-D'} input, "
                                 f"{label} should be {len(want)}-D of shape {want}, got {s.shape}")
            if s.shape != want:
                raise ValueError(f"{name}: expected {label} of shape {want} (num_layers * "
                                 f"num_directions, {'batch, ' if batched else ''}hidden_size), got {s.shape}")
            out.append(s if batched else expand_dims(s, 1))
        return out

    def forward(self, input, hx=None):
        """Run the layer over a sequence.

        ``input`` may also be a :class:`PackedSequence` (``batch_first`` does not
        apply to it); then ``output`` is one too, and ``hx``/``h_n`` are in the
        original batch order, as PyTorch.

        Shapes (L sequence length, N batch, D = 2 if bidirectional else 1, H hidden_size):
        input (L, N, input_size), or (N, L, input_size) with ``batch_first``, or
        unbatched (L, input_size); ``hx``: h_0 (or for LSTM a tuple (h_0, c_0)) of
        shape (D * num_layers, N, H), unbatched (D * num_layers, H); None gives zeros.

        Returns ``(output, h_n)`` (LSTM: ``(output, (h_n, c_n))``): output (L, N, D*H)
        (batch_first: (N, L, D*H); unbatched: (L, D*H)) holds the last layer's h at
        every step, both directions concatenated on the last axis; h_n/c_n are the
        final states of every layer and direction, ordered ``layer * D + direction``.

        Raises ValueError naming the shapes for an input whose last axis is not
        input_size, an empty sequence, or initial states of the wrong shape;
        TypeError for an integer input.
        """
        name = type(self).__name__
        packed = input if isinstance(input, PackedSequence) else None
        lengths = None
        if packed is not None:  # run on the padded batch; each sequence stops at its own length
            input, lengths = pad_packed_sequence(packed)
        x = _as_input(name, input)
        if x.ndim not in (2, 3):
            raise ValueError(f"{name}: expected a 3-D (batched) or 2-D (unbatched) input, got shape {x.shape}")
        if x.shape[-1] != self.input_size:
            raise ValueError(f"{name}: input.size(-1) must be equal to input_size {self.input_size}, "
                             f"got input of shape {x.shape}")
        batched = x.ndim == 3
        if not batched:
            x = expand_dims(x, 1)
        elif self.batch_first and packed is None:
            x = swapaxes(x, 0, 1)
        steps, n = x.shape[0], x.shape[1]
        if steps == 0:
            raise ValueError(f"{name}: expected a sequence length larger than 0, got input of shape {input.shape}")
        lstm = self.mode == "LSTM"
        if hx is None:
            states = None
        else:
            given = hx if lstm else (hx,)
            if lstm and (not isinstance(hx, (tuple, list)) or len(hx) != 2):
                raise ValueError(f"{name}: hx must be a tuple (h_0, c_0), got {type(hx).__name__}")
            states = self._check_states(given, n, batched)
        dirs = 2 if self.bidirectional else 1
        p = self._parameters
        h_n, c_n = [], []
        for layer in range(self.num_layers):
            if layer and self.dropout and self.training:
                x = F.dropout(x, self.dropout, True, self._rng)
            outs = []
            for d in range(dirs):
                names = self._names[layer * dirs + d]
                w_ih_t = transpose(p[names[0]])
                b_ih = b_hh = None
                if self.bias:
                    b_ih, b_hh = p[names[2]], p[names[3]]
                    if self.mode != "GRU":  # GRU keeps b_hh inside r * (W_hn h + b_hn)
                        b_ih, b_hh = add(b_ih, b_hh), None
                # One 2-D product for all steps: BLAS's fastest path, also for the weight gradient.
                x2 = reshape(x, (steps * n, x.shape[-1]))
                xp = matmul(x2, w_ih_t) if b_ih is None else linear(x2, w_ih_t, b_ih)
                xp = reshape(xp, (steps, n, xp.shape[-1]))
                k = layer * dirs + d
                if states is None:
                    zeros = F.as_tensor(np.zeros((n, self.hidden_size), xp.dtype))
                    h = c = zeros
                else:
                    h = getitem(states[0], k)
                    c = getitem(states[1], k) if lstm else None
                y, h_last, c_last = self._direction(xp, names, h, c, b_hh, bool(d), lengths)
                outs.append(y)
                h_n.append(h_last)
                c_n.append(c_last)
            x = outs[0] if dirs == 1 else concatenate(outs, axis=-1)
        out, h_n = x, stack(h_n)
        c_n = stack(c_n) if lstm else None
        if packed is not None:
            data = getitem(out, packed_index(packed.batch_sizes, packed.sorted_indices))
            out = PackedSequence(data, packed.batch_sizes, packed.sorted_indices, packed.unsorted_indices)
        elif not batched:
            out, h_n = squeeze(out, 1), squeeze(h_n, 1)
            c_n = squeeze(c_n, 1) if lstm else None
        elif self.batch_first:
            out = swapaxes(out, 0, 1)
        return (out, (h_n, c_n)) if lstm else (out, h_n)

    def _direction(self, xp, names, h, c, b_hh, reverse, lengths):
        """One layer direction: ``(output (L, N, H), h_n, c_n or None)``.

        With ``lengths`` (packed input), the reverse direction runs forwards over
        each sequence reversed within its own length, and the final states are
        read at each sequence's last step.
        """
        steps, n = xp.shape[0], xp.shape[1]
        w_hh = self._parameters[names[1]]
        flip = last = None
        if lengths is not None:
            t = np.arange(steps)[:, None]
            cols = np.arange(n)[None, :]
            if reverse:  # position t <-> length-1-t inside each sequence (an involution)
                flip = (np.where(t < lengths, lengths - 1 - t, t), cols)
                xp, reverse = getitem(xp, flip), False
            last = lengths - 1
        if self.mode == "LSTM":  # the whole direction as one node (see ops.rnn_cell.lstm_sequence)
            y = lstm_sequence(xp, w_hh, h, c, reverse=reverse, last=last)
            c_last = getitem(y, steps)
            y = getitem(y, slice(0, steps))
        else:
            c_last = None
            if self.mode == "GRU":
                y = gru_sequence(xp, w_hh, b_hh, h, reverse=reverse)
            else:
                y = rnn_sequence(xp, w_hh, h, "tanh" if self.mode == "RNN_TANH" else "relu",
                                 reverse=reverse)
        if last is None:
            return y, getitem(y, 0 if reverse else steps - 1), c_last
        h_last = getitem(y, (last, np.arange(n)))
        return (y if flip is None else getitem(y, flip)), h_last, c_last

    def extra_repr(self):
        s = f"{self.input_size}, {self.hidden_size}"
        if self.num_layers != 1:
            s += f", num_layers={self.num_layers}"
        if self.mode == "RNN_RELU":
            s += ", nonlinearity='relu'"
        for attr, default in (("bias", True), ("batch_first", False), ("dropout", 0.0),
                              ("bidirectional", False)):
            if getattr(self, attr) != default:
                s += f", {attr}={getattr(self, attr)}"
        return s


class RNN(_RNNBase):
    """Multi-layer Elman RNN, as ``torch.nn.RNN``: ``h_t = act(x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh)``.

    Args (PyTorch's order): input_size, hidden_size, num_layers=1,
    nonlinearity='tanh' ('relu'), bias=True, batch_first=False, dropout=0.0
    (on the outputs of every layer but the last, in training only),
    bidirectional=False; keyword-only ``rng`` (init and dropout generator:
    None, a seed or a Generator) and ``dtype`` (float64 default).

    Parameters ``weight_ih_l{k}[_reverse]`` (H, in), ``weight_hh_l{k}[_reverse]``
    (H, H), ``bias_ih_l{k}``, ``bias_hh_l{k}`` (H,): PyTorch's names, layout and
    init U(-1/sqrt(H), 1/sqrt(H)). Shapes and errors: see :meth:`forward`.
    See the module docstring for padded batches.
    """

    def __init__(self, input_size, hidden_size, num_layers=1, nonlinearity="tanh", bias=True,
                 batch_first=False, dropout=0.0, bidirectional=False, *, rng=None, dtype=np.float64):
        super().__init__(_nonlinearity_mode("RNN", nonlinearity), input_size, hidden_size,
                         num_layers, bias, batch_first, dropout, bidirectional, 0, rng, dtype)
        self.nonlinearity = nonlinearity


class LSTM(_RNNBase):
    """Multi-layer LSTM, as ``torch.nn.LSTM`` (cell formula: :class:`LSTMCell`).

    Args as :class:`RNN` without ``nonlinearity``; ``proj_size`` must be 0
    (projections are not implemented: NotImplementedError). Parameters
    ``weight_ih_l{k}[_reverse]`` (4H, in), ``weight_hh_l{k}`` (4H, H), biases (4H,),
    gate order i, f, g, o. ``forward(input, (h_0, c_0))`` returns
    ``(output, (h_n, c_n))``; see :meth:`_RNNBase.forward`.
    """

    def __init__(self, input_size, hidden_size, num_layers=1, bias=True, batch_first=False,
                 dropout=0.0, bidirectional=False, proj_size=0, *, rng=None, dtype=np.float64):
        super().__init__("LSTM", input_size, hidden_size, num_layers, bias, batch_first, dropout,
                         bidirectional, proj_size, rng, dtype)


class GRU(_RNNBase):
    """Multi-layer GRU, as ``torch.nn.GRU`` (cell formula: :class:`GRUCell`).

    Args as :class:`RNN` without ``nonlinearity``. Parameters
    ``weight_ih_l{k}[_reverse]`` (3H, in), ``weight_hh_l{k}`` (3H, H), biases (3H,),
    gate order r, z, n. Returns ``(output, h_n)``; see :meth:`_RNNBase.forward`.
    """

    def __init__(self, input_size, hidden_size, num_layers=1, bias=True, batch_first=False,
                 dropout=0.0, bidirectional=False, *, rng=None, dtype=np.float64):
        super().__init__("GRU", input_size, hidden_size, num_layers, bias, batch_first, dropout,
                         bidirectional, 0, rng, dtype)
