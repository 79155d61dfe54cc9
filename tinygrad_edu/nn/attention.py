"""``MultiheadAttention`` with PyTorch's names, signature and parameter layout; ``TorchLinear``.

Layers ported from PyTorch keep PyTorch's layout, so a PyTorch ``state_dict``
loads as is. That includes their linear maps: ``out_proj.weight`` here (and
``linear1.weight`` in the transformer layers) is ``(out_features, in_features)``
as in PyTorch, held by :class:`TorchLinear`, while this package's own
``nn.Linear`` keeps the blog's ``(in, out)``.
"""
from __future__ import annotations

import math

import numpy as np

from ..ops.arith import add
from ..ops.attention import masked_softmax
from ..ops.linalg import linear, matmul
from ..ops.reduce import mean
from ..ops.shape import concatenate, expand_dims, getitem, reshape, squeeze, swapaxes, transpose
from ..tensor import Tensor
from . import functional as F
from ._rng import as_generator
from ._sizes import as_size
from .module import Module
from .parameter import OutInParameter, Parameter

__all__ = ["MultiheadAttention", "TorchLinear"]
from ..ops._common import asarray as _asarray


def torch_linear(x, weight, bias=None):
    """``x @ weight.T + bias`` with PyTorch's ``(out, in)`` weight (``torch.nn.functional.linear``).

    Any leading axes; the product runs on a 2-D view (BLAS's fastest path, and
    the weight gradient is one product instead of a batch of them summed).
    """
    shape = x.shape
    w_t = transpose(weight)
    if x.ndim != 2:
        x = reshape(x, (-1, shape[-1]) if shape[-1] else (int(np.prod(shape[:-1])), 0))
    y = matmul(x, w_t) if bias is None else linear(x, w_t, bias)
    return y if len(shape) == 2 else reshape(y, shape[:-1] + (weight.shape[0],))


class TorchLinear(Module):
    """An affine layer in **PyTorch's layout**: ``y = x @ weight.T + bias``, weight ``(out, in)``.

    For layers ported from PyTorch (``MultiheadAttention.out_proj``, the
    transformer layers' ``linear1``/``linear2``), so their ``state_dict``
    keys and shapes are PyTorch's. Init as ``torch.nn.Linear``: weight and
    bias U(-1/sqrt(in), 1/sqrt(in)). ``rng``/``dtype`` as :class:`nn.Linear`.

    Shapes: (..., in_features) -> (..., out_features); ValueError naming the
    shapes when the last axis is not in_features.
    """

    def __init__(self, in_features, out_features, bias=True, *, rng=None, dtype=np.float64):
        super().__init__()
        self.in_features = as_size("TorchLinear", "in_features", in_features)
        self.out_features = as_size("TorchLinear", "out_features", out_features)
        gen = as_generator(rng)
        k = 1 / math.sqrt(self.in_features) if self.in_features else 0.0
        self.weight = OutInParameter(gen.uniform(-k, k, (self.out_features, self.in_features)).astype(dtype))
        if bias:
            self.bias = Parameter(gen.uniform(-k, k, (self.out_features,)).astype(dtype))
        else:
            self.register_parameter("bias", None)

    def forward(self, x):
        x = F.as_tensor(x)
        if x.ndim == 0 or x.shape[-1] != self.in_features:
            raise ValueError(f"{type(self).__name__}: expected input (..., {self.in_features}), got {x.shape}")
        return torch_linear(x, self._parameters["weight"], self._parameters["bias"])

    def extra_repr(self):
        return (f"in_features={self.in_features}, out_features={self.out_features}, "
                f"bias={self.bias is not None}")


class NonDynamicallyQuantizableLinear(TorchLinear):
    """PyTorch's class name for ``MultiheadAttention.out_proj`` (same as :class:`TorchLinear`)."""


def _xavier_uniform(gen, shape, dtype):
    fan_out, fan_in = shape[0], shape[1]  # PyTorch layout (out, in)
    a = math.sqrt(6.0 / (fan_in + fan_out)) if fan_in + fan_out else 0.0
    return gen.uniform(-a, a, shape).astype(dtype)


def _mask_array(op, name, m):
    arr = _asarray(m.data if isinstance(m, Tensor) else m)
    if arr.dtype != bool and arr.dtype.kind != "f":
        raise TypeError(f"{op}: {name} must be bool (True = masked out) or float (added to the "
                        f"scores), got dtype {arr.dtype}")
    return arr


class MultiheadAttention(Module):
    """Multi-head attention (Vaswani et al. 2017, section 3.2.2), as ``torch.nn.MultiheadAttention``.

    ``MultiHead(Q, K, V) = Concat(head_1..head_h) W_O^T + b_O`` with
    ``head_i = softmax(Q_i K_i^T / sqrt(d) + mask) V_i``, ``Q = query W_Q^T + b_Q``
    etc., d = embed_dim / num_heads.

    Args (PyTorch's): embed_dim, num_heads, dropout=0.0 (on the attention
    weights, in training), bias=True, add_bias_kv=False (learned ``bias_k``,
    ``bias_v`` appended to the keys/values), add_zero_attn=False (a zero
    key/value appended), kdim=None, vdim=None (key/value feature sizes,
    default embed_dim), batch_first=False; keyword-only ``rng`` (init and
    dropout) and ``dtype`` (float64).

    Parameters (PyTorch's names, layouts and init): ``in_proj_weight`` (3E, E)
    (rows: query, key, value; xavier-uniform) and ``in_proj_bias`` (3E,)
    (zeros), or, when kdim/vdim differ from E, ``q_proj_weight`` (E, E),
    ``k_proj_weight`` (E, kdim), ``v_proj_weight`` (E, vdim); ``out_proj``, a
    :class:`TorchLinear` whose ``weight`` is (E, E) in PyTorch's (out, in)
    layout and whose bias starts at 0; ``bias_k``, ``bias_v`` (1, 1, E).

    Masks (PyTorch's MultiheadAttention conventions, **True = masked out**,
    the opposite of ``scaled_dot_product_attention``'s bool ``attn_mask``):
    ``key_padding_mask`` (N, S) (unbatched (S,)) bool, True = ignore this key,
    or float, added; ``attn_mask`` (L, S) or (N * num_heads, L, S), bool True =
    not allowed, or float, added. ``is_causal`` is only a hint, as in PyTorch:
    ``attn_mask`` must still be given and is what is used.

    A query with every key masked gets attention weights 0 and output
    ``out_proj.bias`` (PyTorch's ``need_weights=False`` path; its
    ``need_weights=True`` path gives nan there).
    """

    def __init__(self, embed_dim, num_heads, dropout=0.0, bias=True, add_bias_kv=False,
                 add_zero_attn=False, kdim=None, vdim=None, batch_first=False, *, rng=None,
                 dtype=np.float64):
        super().__init__()
        op = "MultiheadAttention"
        self.embed_dim = e = as_size(op, "embed_dim", embed_dim, minimum=1)
        self.num_heads = as_size(op, "num_heads", num_heads, minimum=1)
        if e % self.num_heads:
            raise ValueError(f"{op}: embed_dim ({e}) must be divisible by num_heads ({self.num_heads})")
        self.head_dim = e // self.num_heads
        self.kdim = e if kdim is None else as_size(op, "kdim", kdim, minimum=1)
        self.vdim = e if vdim is None else as_size(op, "vdim", vdim, minimum=1)
        self._qkv_same_embed_dim = self.kdim == e and self.vdim == e
        self.dropout = F._check_p(op, dropout)
        self.batch_first = bool(batch_first)
        self.add_zero_attn = bool(add_zero_attn)
        self._rng = gen = as_generator(rng)
        # Registration order = PyTorch's state_dict order.
        if self._qkv_same_embed_dim:
            self.in_proj_weight = OutInParameter(_xavier_uniform(gen, (3 * e, e), dtype))
            for name in ("q_proj_weight", "k_proj_weight", "v_proj_weight"):
                self.register_parameter(name, None)
        else:
            self.register_parameter("in_proj_weight", None)
            self.q_proj_weight = OutInParameter(_xavier_uniform(gen, (e, e), dtype))
            self.k_proj_weight = OutInParameter(_xavier_uniform(gen, (e, self.kdim), dtype))
            self.v_proj_weight = OutInParameter(_xavier_uniform(gen, (e, self.vdim), dtype))
        if bias:
            self.in_proj_bias = Parameter(np.zeros(3 * e, dtype))
        else:
            self.register_parameter("in_proj_bias", None)
        self.out_proj = NonDynamicallyQuantizableLinear(e, e, bias=bias, rng=gen, dtype=dtype)
        if bias:
            self.out_proj.bias.data[...] = 0
        if add_bias_kv:
            # PyTorch's xavier_normal_ on (1, 1, E): E is a receptive field, fan_in = fan_out = E
            std = math.sqrt(1.0 / e)
            self.bias_k = Parameter(gen.normal(0, std, (1, 1, e)).astype(dtype))
            self.bias_v = Parameter(gen.normal(0, std, (1, 1, e)).astype(dtype))
        else:
            self.bias_k = self.bias_v = None

    def extra_repr(self):
        return f"embed_dim={self.embed_dim}, num_heads={self.num_heads}"

    # ---- forward ---------------------------------------------------------------------
    def _projections(self, query, key, value):
        """q, k, v in (N, L|S, E), from batch-major inputs."""
        p = self._parameters
        e = self.embed_dim
        b = p["in_proj_bias"]
        bq, bk, bv = (None,) * 3 if b is None else (getitem(b, slice(i * e, (i + 1) * e)) for i in range(3))
        if self._qkv_same_embed_dim:
            w = p["in_proj_weight"]
            if query is key and key is value:  # self-attention: one product for all three
                qkv = torch_linear(query, w, b)
                return tuple(getitem(qkv, (Ellipsis, slice(i * e, (i + 1) * e))) for i in range(3))
            wq, wk, wv = (getitem(w, slice(i * e, (i + 1) * e)) for i in range(3))
        else:
            wq, wk, wv = p["q_proj_weight"], p["k_proj_weight"], p["v_proj_weight"]
        return torch_linear(query, wq, bq), torch_linear(key, wk, bk), torch_linear(value, wv, bv)

    def forward(self, query, key, value, key_padding_mask=None, need_weights=True, attn_mask=None,
                average_attn_weights=True, is_causal=False):
        """Attend from ``query`` to ``key``/``value``.

        Shapes (L target length, S source length, N batch, E embed_dim):
        query (L, N, E), key (S, N, kdim), value (S, N, vdim); (N, L, E) etc.
        with ``batch_first``; unbatched (L, E), (S, kdim), (S, vdim).

        Returns ``(attn_output, attn_weights)``: attn_output (L, N, E)
        (batch_first (N, L, E), unbatched (L, E)); attn_weights (N, L, S)
        averaged over heads, or (N, num_heads, L, S) with
        ``average_attn_weights=False`` (unbatched without N), after dropout as
        PyTorch returns them; None when ``need_weights=False``.

        Raises ValueError naming the shapes for inputs of the wrong rank or
        size, masks of the wrong shape, or ``is_causal`` without ``attn_mask``;
        TypeError for masks that are neither bool nor float.
        """
        op = "MultiheadAttention"
        q_in, k_in, v_in = (F.as_tensor(t) for t in (query, key, value))
        if query is key and key is value:
            k_in = v_in = q_in
        batched = q_in.ndim == 3
        want = 3 if batched else 2
        e = self.embed_dim
        if q_in.ndim not in (2, 3) or k_in.ndim != want or v_in.ndim != want:
            raise ValueError(f"{op}: expected query, key, value all 3-D (batched) or all 2-D "
                             f"(unbatched); got query {q_in.shape}, key {k_in.shape}, value {v_in.shape}")
        if q_in.shape[-1] != e or k_in.shape[-1] != self.kdim or v_in.shape[-1] != self.vdim:
            raise ValueError(f"{op}: expected feature sizes query {e}, key {self.kdim}, value "
                             f"{self.vdim}; got query {q_in.shape}, key {k_in.shape}, value {v_in.shape}")
        if k_in.shape[:-1] != v_in.shape[:-1]:
            raise ValueError(f"{op}: key and value must have the same leading shape, got key "
                             f"{k_in.shape} and value {v_in.shape}")
        if is_causal and attn_mask is None:
            raise ValueError(f"{op}: is_causal is only a hint; pass the causal attn_mask as well "
                             "(as PyTorch requires)")
        same = k_in is q_in and v_in is q_in

        def batch_major(t):
            if not batched:
                return expand_dims(t, 0)
            return t if self.batch_first else swapaxes(t, 0, 1)

        qb = batch_major(q_in)
        kb, vb = (qb, qb) if same else (batch_major(k_in), batch_major(v_in))
        n, tgt = qb.shape[0], qb.shape[1]
        if kb.shape[0] != n or qb.shape[0] != n:
            raise ValueError(f"{op}: query, key and value must have the same batch size; got "
                             f"query {q_in.shape}, key {k_in.shape}, value {v_in.shape}")
        q, k, v = self._projections(qb, kb, vb)
        excluded, additive = self._masks(key_padding_mask, attn_mask, n, tgt, kb.shape[1], batched)
        h, d = self.num_heads, self.head_dim
        if self.bias_k is not None:
            k = concatenate([k, _tile_batch(self.bias_k, n)], axis=1)
            v = concatenate([v, _tile_batch(self.bias_v, n)], axis=1)
            excluded, additive = _pad_masks(excluded, additive)
        if self.add_zero_attn:
            k = concatenate([k, np.zeros((n, 1, e), k.dtype)], axis=1)
            v = concatenate([v, np.zeros((n, 1, e), v.dtype)], axis=1)
            excluded, additive = _pad_masks(excluded, additive)
        src = k.shape[1]
        q = swapaxes(reshape(q, (n, tgt, h, d)), 1, 2)  # (N, h, L, d)
        k = swapaxes(reshape(k, (n, src, h, d)), 1, 2)
        v = swapaxes(reshape(v, (n, src, h, d)), 1, 2)
        scale = q.dtype.type(1 / math.sqrt(d))
        scores = matmul(q * scale, swapaxes(k, -1, -2))  # (N, h, L, S)
        if additive is not None:
            scores = add(scores, additive)
        weights = masked_softmax(scores, excluded)
        if self.dropout and self.training:
            weights = F.dropout(weights, self.dropout, True, self._rng)
        out = matmul(weights, v)  # (N, h, L, d)
        out = self.out_proj(reshape(swapaxes(out, 1, 2), (n, tgt, e)))
        if not batched:
            out = squeeze(out, 0)
        elif not self.batch_first:
            out = swapaxes(out, 0, 1)
        if not need_weights:
            return out, None
        if average_attn_weights:
            weights = mean(weights, axis=1)
        return out, (squeeze(weights, 0) if not batched else weights)

    def _masks(self, key_padding_mask, attn_mask, n, tgt, src, batched):
        """The masks as ``(excluded bool, additive float)``, each (N, h | 1, L | 1, S) or None."""
        op = "MultiheadAttention"
        excluded = additive = None
        h = self.num_heads
        if key_padding_mask is not None:
            m = _mask_array(op, "key_padding_mask", key_padding_mask)
            want = (n, src) if batched else (src,)
            if m.shape != want:
                raise ValueError(f"{op}: expected key_padding_mask of shape {want} (batch, source "
                                 f"length), got {m.shape}")
            m4 = m.reshape(n, 1, 1, src)
            if m.dtype == bool:
                excluded = m4
            else:
                additive = reshape(F.as_tensor(key_padding_mask), (n, 1, 1, src))
        if attn_mask is not None:
            m = _mask_array(op, "attn_mask", attn_mask)
            if m.shape == (tgt, src):
                shape4 = (1, 1, tgt, src)
            elif m.shape == (n * h, tgt, src):
                shape4 = (n, h, tgt, src)
            else:
                raise ValueError(f"{op}: expected attn_mask of shape {(tgt, src)} or "
                                 f"{(n * h, tgt, src)} (batch * num_heads, target, source), got {m.shape}")
            if m.dtype == bool:
                m4 = m.reshape(shape4)
                excluded = m4 if excluded is None else (excluded | m4)
            else:
                t = reshape(F.as_tensor(attn_mask), shape4)
                additive = t if additive is None else add(additive, t)
        return excluded, additive


def _tile_batch(b, n):
    """``bias_k`` (1, 1, E) repeated for a batch: (N, 1, E) (gradients sum over the batch)."""
    from ..ops.shape import broadcast_to

    return broadcast_to(b, (n, 1, b.shape[-1]))


def _pad_masks(excluded, additive):
    """One more key (bias_k or the zero key) that every query may attend to."""
    if excluded is not None:
        excluded = np.concatenate([excluded, np.zeros(excluded.shape[:-1] + (1,), bool)], axis=-1)
    if additive is not None:
        additive = concatenate([additive, np.zeros(additive.shape[:-1] + (1,), additive.dtype)], axis=-1)
    return excluded, additive
