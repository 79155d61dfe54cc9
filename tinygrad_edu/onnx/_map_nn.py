"""ONNX mappings of the layer ops: convolution, pooling, normalisation, recurrences.

The recurrent layers (one ``lstm_sequence``/``gru_sequence``/``rnn_sequence``
node per layer direction here) are written out step by step with the very
operations of their forward (``ops/rnn_cell.py``, ``ops/rnn_sequence.py``), in
PyTorch's gate order, rather than as ONNX's LSTM/GRU operators: those take the
raw input and their own gate order (i, o, f, c and z, r, h), while the recorded
node receives the input projection already computed by the preceding ``linear``.
The sequence length is therefore fixed at export; the batch axis stays dynamic.
"""
from __future__ import annotations

import numpy as np


def _conv2d(v):
    g, groups = v.saved[0], v.saved[1]
    return v.b.node("Conv", [v.x(0), v.x(1), v.x(2)], kernel_shape=[g.kh, g.kw], strides=[g.sh, g.sw],
                    dilations=[g.dh, g.dw], pads=[g.pt, g.pl, g.pb, g.pr], group=int(groups))


def _max_pool(v):
    g = v.saved[1]
    return v.b.node("MaxPool", [v.x(0)], kernel_shape=[g.kh, g.kw], strides=[g.sh, g.sw],
                    dilations=[g.dh, g.dw], pads=[g.pt, g.pl, g.pb, g.pr])


def _im2col(v):
    """Columns ``(G, N, oh, ow, kh, kw, C/G)`` (average pooling, ``unfold``): a grouped ``Conv``
    whose kernels are one-hot, one output channel per (channel, kernel offset), then a
    reshape and transpose into the columns' layout. Exact: each output is 1 * x plus zeros."""
    from ..ops._im2col import _im2col_array

    g, x = v.saved, v.input(0).data
    groups, n, c = v.out.shape[0], x.shape[0], x.shape[1]
    if not np.array_equal(_im2col_array(x, g, groups, 0), v.out.data):  # padding other than 0 is not saved
        raise v.unsupported("im2col with a padding value other than 0")
    k = g.kh * g.kw
    w = np.zeros((c * k, 1, g.kh, g.kw))
    w[np.arange(c * k), 0, np.tile(np.arange(k) // g.kw, c), np.tile(np.arange(k) % g.kw, c)] = 1
    b = v.b
    y = b.node("Conv", [v.x(0), b.const(w, "one_hot")], kernel_shape=[g.kh, g.kw], strides=[g.sh, g.sw],
               dilations=[g.dh, g.dw], pads=[g.pt, g.pl, g.pb, g.pr], group=c)
    nb = v.shapeb(0)[0]
    rest = (groups, c // groups)
    y = v.reshape(y, (n,) + rest + (g.kh, g.kw, g.oh, g.ow), (nb,) + rest + (g.kh, g.kw, g.oh, g.ow))
    return b.node("Transpose", [y], perm=[1, 0, 5, 6, 3, 4, 2])


def _normalize(v):
    """Layer norm as ``LayerNormalization``; the others (group, instance, RMS norm) as
    the forward's formula ``(x - mean) / sqrt(mean((x - mean)^2) + eps) * w + b``."""
    plan, planb = v.saved[0], v.savedb[0]
    b, shape = v.b, v.shape(0)
    k = plan.axes[0] if plan.axes else 0
    trailing = plan.axes == tuple(range(k, len(shape)))
    if plan.center and plan.vshape == shape and trailing and tuple(plan.pshape) == tuple(shape[k:]):
        scale = v.x(1) if v.input(1) is not None else b.const(np.ones(shape[k:]), "ones")
        return b.node("LayerNormalization", [v.x(0), scale, v.x(2)], axis=k, epsilon=plan.eps)
    x = v.reshape(v.x(0), plan.vshape, planb.vshape) if plan.vshape != shape else v.x(0)
    if plan.center:
        x = b.node("Sub", [x, b.reduce("ReduceMean", x, plan.axes)])
    var = b.reduce("ReduceMean", b.node("Mul", [x, x]), plan.axes)
    eps = b.const(np.asarray(plan.eps), "eps", dtype=b.dtype)
    y = b.node("Mul", [x, b.node("Reciprocal", [b.node("Sqrt", [b.node("Add", [var, eps])])])])
    for j, op in ((1, "Mul"), (2, "Add")):
        if v.input(j) is not None:
            y = b.node(op, [y, b.node("Reshape", [v.x(j), b.ints(plan.pshape)])])
    return v.reshape_to_out(y) if plan.vshape != shape else y


class _Steps:
    """Shared pieces of an unrolled recurrence: the input projection at step t, h @ W_hh^T."""

    def __init__(self, v, reverse):
        self.v, self.b = v, v.b
        self.steps = v.shape(0)[0]
        self.hidden = v.shape(2)[1]
        self.w_t = self.b.node("Transpose", [v.x(1)], perm=[1, 0])
        self.reverse = bool(reverse)

    def times(self):
        """Processing order of the time steps."""
        return range(self.steps - 1, -1, -1) if self.reverse else range(self.steps)

    def xp(self, t):
        return self.b.node("Gather", [self.v.x(0), self.b.const(np.int64(t), "t")], axis=0)

    def hw(self, h):
        return self.b.node("MatMul", [h, self.w_t])

    def split(self, x, sizes):
        return self.b.node("Split", [x, self.b.ints(sizes)], outputs=len(sizes), axis=1)

    def stack(self, hs):
        zero = self.b.ints([0])
        return self.b.node("Concat", [self.b.node("Unsqueeze", [h, zero]) for h in hs], axis=0)


def _lstm_sequence(v):
    """Per step (gates i, f, g, o): ``z = h W^T + xp[t]``, ``c = f c + i g``, ``h = o tanh(c)``;
    the output stacks h at every step (time order) and the final c."""
    reverse, last = v.saved[0], v.saved[1]
    if last is not None:
        raise v.unsupported("packed sequences (lengths per sequence)")
    s, b = _Steps(v, reverse), v.b
    hd = s.hidden
    h, c, out = v.x(2), v.x(3), {}
    for t in s.times():
        z = b.node("Add", [s.hw(h), s.xp(t)])
        i, f, g, o = s.split(z, [hd] * 4)
        i, f, o = (b.node("Sigmoid", [q]) for q in (i, f, o))
        c = b.node("Add", [b.node("Mul", [f, c]), b.node("Mul", [b.node("Tanh", [g]), i])])
        h = out[t] = b.node("Mul", [o, b.node("Tanh", [c])])
    return s.stack([out[t] for t in range(s.steps)] + [c])


def _gru_sequence(v):
    """Per step (gates r, z, n): ``hp = h W^T + b_hh``, ``r, z = sigmoid(xp + hp)`` on
    the first 2H columns, ``n = tanh(xp_n + r hp_n)``, ``h = n + z (h - n)``."""
    s, b = _Steps(v, v.saved[0]), v.b
    hd = s.hidden
    h, out = v.x(2), {}
    for t in s.times():
        hp = s.hw(h)
        if v.n_inputs > 3:
            hp = b.node("Add", [hp, v.x(3)])
        x_rz, x_n = s.split(s.xp(t), [2 * hd, hd])
        hp_rz, hp_n = s.split(hp, [2 * hd, hd])
        r, z = s.split(b.node("Sigmoid", [b.node("Add", [x_rz, hp_rz])]), [hd, hd])
        n = b.node("Tanh", [b.node("Add", [x_n, b.node("Mul", [r, hp_n])])])
        h = out[t] = b.node("Add", [n, b.node("Mul", [z, b.node("Sub", [h, n])])])
    return s.stack([out[t] for t in range(s.steps)])


def _rnn_sequence(v):
    """Per step: ``h = act(xp[t] + h W^T)``, act tanh or relu."""
    nonlinearity, reverse = v.saved[0], v.saved[1]
    s, b = _Steps(v, reverse), v.b
    act = {"tanh": "Tanh", "relu": "Relu"}[nonlinearity]
    h, out = v.x(2), {}
    for t in s.times():
        h = out[t] = b.node(act, [b.node("Add", [s.xp(t), s.hw(h)])])
    return s.stack([out[t] for t in range(s.steps)])


MAPPINGS = {
    "conv2d": _conv2d, "max_pool": _max_pool, "im2col": _im2col, "normalize": _normalize,
    "lstm_sequence": _lstm_sequence, "gru_sequence": _gru_sequence, "rnn_sequence": _rnn_sequence,
}
