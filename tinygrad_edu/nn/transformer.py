"""Transformer layers with PyTorch's names, signatures and ``state_dict`` keys.

``TransformerEncoderLayer``, ``TransformerEncoder``, ``TransformerDecoderLayer``,
``TransformerDecoder`` (Vaswani et al. 2017, "Attention Is All You Need"),
with ``norm_first`` for the pre-norm variant (Xiong et al. 2020).

Layouts: layers ported from PyTorch keep PyTorch's layout, so ``linear1.weight``
is ``(dim_feedforward, d_model)`` and ``linear2.weight`` ``(d_model,
dim_feedforward)`` (:class:`~tinygrad_edu.nn.attention.TorchLinear`), not the
``(in, out)`` of this package's ``nn.Linear``; a PyTorch ``state_dict`` loads
as is.
"""
from __future__ import annotations

import copy

import numpy as np

from ..ops.activation import gelu
from . import functional as F
from ._rng import as_generator
from .attention import MultiheadAttention, TorchLinear
from .containers import ModuleList
from .dropout import Dropout
from .module import Module, structure_changed
from .normalization import LayerNorm

__all__ = ["TransformerEncoderLayer", "TransformerEncoder", "TransformerDecoderLayer",
           "TransformerDecoder", "generate_square_subsequent_mask"]


def _activation(layer, activation):
    if callable(activation):
        return activation
    if activation == "relu":
        return F.relu
    if activation == "gelu":
        return gelu  # exact (erf) GELU, PyTorch's default
    raise ValueError(f"{layer}: activation should be 'relu', 'gelu' or a callable, got {activation!r}")


def generate_square_subsequent_mask(sz, dtype=np.float64):
    """The causal mask of ``torch.nn.Transformer.generate_square_subsequent_mask``: (sz, sz),
    0 on and below the diagonal and ``-inf`` above (float, added to the attention scores)."""
    return np.triu(np.full((sz, sz), -np.inf, dtype=dtype), 1)


def _causal_mask(op, is_causal, mask, length):
    """PyTorch's ``is_causal`` is a hint that needs the mask; given no mask, build the causal one."""
    if is_causal and mask is None:
        return np.triu(np.ones((length, length), dtype=bool), 1)  # True = not allowed
    return mask


class TransformerEncoderLayer(Module):
    """Self-attention then a feed-forward network, each with a residual and LayerNorm,
    as ``torch.nn.TransformerEncoderLayer``.

    ``norm_first=False`` (post-norm, the paper)::

        x = norm1(x + dropout1(self_attn(x, x, x)))
        x = norm2(x + dropout2(linear2(dropout(activation(linear1(x))))))

    ``norm_first=True`` (pre-norm): ``x = x + dropout1(self_attn(norm1(x)))``,
    ``x = x + dropout2(ff(norm2(x)))``.

    Args (PyTorch's): d_model, nhead, dim_feedforward=2048, dropout=0.1,
    activation 'relu' | 'gelu' | a callable, layer_norm_eps=1e-5,
    batch_first=False, norm_first=False, bias=True; keyword ``rng`` (init and
    dropout: None, seed or Generator) and ``dtype`` (float64).

    Submodules and ``state_dict`` keys as PyTorch: ``self_attn.*``
    (:class:`MultiheadAttention`), ``linear1`` (dim_feedforward, d_model) and
    ``linear2`` (d_model, dim_feedforward) in PyTorch's (out, in) layout,
    ``norm1``, ``norm2``, ``dropout``, ``dropout1``, ``dropout2``.

    ``forward(src, src_mask=None, src_key_padding_mask=None, is_causal=False)``:
    src (S, N, E) ((N, S, E) with batch_first, or unbatched (S, E)) -> same
    shape. Masks as :class:`MultiheadAttention` (True = masked out, or float
    added). ``is_causal=True`` without ``src_mask`` builds the causal mask
    (PyTorch would raise); with a mask, the mask is used.
    """

    def __init__(self, d_model, nhead, dim_feedforward=2048, dropout=0.1, activation="relu",
                 layer_norm_eps=1e-5, batch_first=False, norm_first=False, bias=True, *, rng=None,
                 dtype=np.float64):
        super().__init__()
        gen = as_generator(rng)
        self.self_attn = MultiheadAttention(d_model, nhead, dropout=dropout, bias=bias,
                                            batch_first=batch_first, rng=gen, dtype=dtype)
        self.linear1 = TorchLinear(d_model, dim_feedforward, bias=bias, rng=gen, dtype=dtype)
        self.dropout = Dropout(dropout, rng=gen)
        self.linear2 = TorchLinear(dim_feedforward, d_model, bias=bias, rng=gen, dtype=dtype)
        self.norm_first = bool(norm_first)
        self.norm1 = LayerNorm(d_model, eps=layer_norm_eps, bias=bias, dtype=dtype)
        self.norm2 = LayerNorm(d_model, eps=layer_norm_eps, bias=bias, dtype=dtype)
        self.dropout1 = Dropout(dropout, rng=gen)
        self.dropout2 = Dropout(dropout, rng=gen)
        self.batch_first = bool(batch_first)
        self.activation = _activation("TransformerEncoderLayer", activation)

    def _sa_block(self, x, attn_mask, key_padding_mask, is_causal):
        x = self.self_attn(x, x, x, attn_mask=attn_mask, key_padding_mask=key_padding_mask,
                           need_weights=False, is_causal=is_causal)[0]
        return self.dropout1(x)

    def _ff_block(self, x):
        return self.dropout2(self.linear2(self.dropout(self.activation(self.linear1(x)))))

    def forward(self, src, src_mask=None, src_key_padding_mask=None, is_causal=False):
        x = F.as_tensor(src)
        seq_axis = 1 if (self.batch_first and x.ndim == 3) else 0
        src_mask = _causal_mask("TransformerEncoderLayer", is_causal, src_mask,
                                x.shape[seq_axis] if x.ndim else 0)
        if self.norm_first:
            x = x + self._sa_block(self.norm1(x), src_mask, src_key_padding_mask, is_causal)
            return x + self._ff_block(self.norm2(x))
        x = self.norm1(x + self._sa_block(x, src_mask, src_key_padding_mask, is_causal))
        return self.norm2(x + self._ff_block(x))


class TransformerDecoderLayer(Module):
    """Self-attention, cross-attention to ``memory``, then a feed-forward network, each with a
    residual and LayerNorm, as ``torch.nn.TransformerDecoderLayer``.

    Post-norm (default)::

        x = norm1(x + dropout1(self_attn(x, x, x)))
        x = norm2(x + dropout2(multihead_attn(x, memory, memory)))
        x = norm3(x + dropout3(linear2(dropout(activation(linear1(x))))))

    ``norm_first=True``: ``x = x + block(norm_k(x))`` for each block.

    Args as :class:`TransformerEncoderLayer`. Submodules/keys: ``self_attn``,
    ``multihead_attn``, ``linear1``, ``linear2`` (PyTorch's (out, in) layout),
    ``norm1``..``norm3``, ``dropout``, ``dropout1``..``dropout3``.

    ``forward(tgt, memory, tgt_mask=None, memory_mask=None,
    tgt_key_padding_mask=None, memory_key_padding_mask=None,
    tgt_is_causal=False, memory_is_causal=False)``: tgt (T, N, E), memory
    (S, N, E) (batch_first: batch first; unbatched: no N) -> tgt's shape.
    """

    def __init__(self, d_model, nhead, dim_feedforward=2048, dropout=0.1, activation="relu",
                 layer_norm_eps=1e-5, batch_first=False, norm_first=False, bias=True, *, rng=None,
                 dtype=np.float64):
        super().__init__()
        gen = as_generator(rng)
        self.self_attn = MultiheadAttention(d_model, nhead, dropout=dropout, bias=bias,
                                            batch_first=batch_first, rng=gen, dtype=dtype)
        self.multihead_attn = MultiheadAttention(d_model, nhead, dropout=dropout, bias=bias,
                                                 batch_first=batch_first, rng=gen, dtype=dtype)
        self.linear1 = TorchLinear(d_model, dim_feedforward, bias=bias, rng=gen, dtype=dtype)
        self.dropout = Dropout(dropout, rng=gen)
        self.linear2 = TorchLinear(dim_feedforward, d_model, bias=bias, rng=gen, dtype=dtype)
        self.norm_first = bool(norm_first)
        self.norm1 = LayerNorm(d_model, eps=layer_norm_eps, bias=bias, dtype=dtype)
        self.norm2 = LayerNorm(d_model, eps=layer_norm_eps, bias=bias, dtype=dtype)
        self.norm3 = LayerNorm(d_model, eps=layer_norm_eps, bias=bias, dtype=dtype)
        self.dropout1 = Dropout(dropout, rng=gen)
        self.dropout2 = Dropout(dropout, rng=gen)
        self.dropout3 = Dropout(dropout, rng=gen)
        self.batch_first = bool(batch_first)
        self.activation = _activation("TransformerDecoderLayer", activation)

    def _sa_block(self, x, attn_mask, key_padding_mask, is_causal):
        x = self.self_attn(x, x, x, attn_mask=attn_mask, key_padding_mask=key_padding_mask,
                           need_weights=False, is_causal=is_causal)[0]
        return self.dropout1(x)

    def _mha_block(self, x, mem, attn_mask, key_padding_mask, is_causal):
        x = self.multihead_attn(x, mem, mem, attn_mask=attn_mask, key_padding_mask=key_padding_mask,
                                need_weights=False, is_causal=is_causal)[0]
        return self.dropout2(x)

    def _ff_block(self, x):
        return self.dropout3(self.linear2(self.dropout(self.activation(self.linear1(x)))))

    def forward(self, tgt, memory, tgt_mask=None, memory_mask=None, tgt_key_padding_mask=None,
                memory_key_padding_mask=None, tgt_is_causal=False, memory_is_causal=False):
        x, mem = F.as_tensor(tgt), F.as_tensor(memory)
        seq_axis = 1 if (self.batch_first and x.ndim == 3) else 0
        tgt_mask = _causal_mask("TransformerDecoderLayer", tgt_is_causal, tgt_mask,
                                x.shape[seq_axis] if x.ndim else 0)
        if memory_is_causal and memory_mask is None:
            raise ValueError("TransformerDecoderLayer: memory_is_causal is a hint; pass memory_mask too")
        if self.norm_first:
            x = x + self._sa_block(self.norm1(x), tgt_mask, tgt_key_padding_mask, tgt_is_causal)
            x = x + self._mha_block(self.norm2(x), mem, memory_mask, memory_key_padding_mask,
                                    memory_is_causal)
            return x + self._ff_block(self.norm3(x))
        x = self.norm1(x + self._sa_block(x, tgt_mask, tgt_key_padding_mask, tgt_is_causal))
        x = self.norm2(x + self._mha_block(x, mem, memory_mask, memory_key_padding_mask,
                                           memory_is_causal))
        return self.norm3(x + self._ff_block(x))


def _get_clones(module, n):
    """``n`` deep copies (PyTorch's ``_get_clones``); each copy's random generators are fresh
    children of the original's, so the layers' dropout masks differ (as PyTorch's global RNG)."""
    clones = []
    for _ in range(n):
        c = copy.deepcopy(module)
        for src, dst in zip(module.modules(), c.modules()):
            for attr in ("rng", "_rng"):
                g = src.__dict__.get(attr)
                if isinstance(g, np.random.Generator):
                    object.__setattr__(dst, attr, g.spawn(1)[0])
                    structure_changed()
        clones.append(c)
    return ModuleList(clones)


class TransformerEncoder(Module):
    """A stack of ``num_layers`` copies of ``encoder_layer``, as ``torch.nn.TransformerEncoder``.

    The layer is deep-copied ``num_layers`` times (all copies start with the
    same weights, as PyTorch) into ``layers`` (keys ``layers.0.*``, ...);
    ``norm`` (e.g. a LayerNorm), if given, is applied to the output.

    ``forward(src, mask=None, src_key_padding_mask=None, is_causal=None)``
    passes the masks to every layer; shapes as the layer's.
    """

    def __init__(self, encoder_layer, num_layers, norm=None, enable_nested_tensor=True,
                 mask_check=True):
        super().__init__()
        if not isinstance(encoder_layer, Module):
            raise TypeError(f"TransformerEncoder: encoder_layer must be a Module, got "
                            f"{type(encoder_layer).__name__}")
        self.layers = _get_clones(encoder_layer, num_layers)
        self.num_layers = num_layers
        self.norm = norm

    def forward(self, src, mask=None, src_key_padding_mask=None, is_causal=None):
        x = src
        for layer in self.layers:
            x = layer(x, src_mask=mask, src_key_padding_mask=src_key_padding_mask,
                      is_causal=bool(is_causal))
        return x if self.norm is None else self.norm(x)


class TransformerDecoder(Module):
    """A stack of ``num_layers`` copies of ``decoder_layer``, as ``torch.nn.TransformerDecoder``
    (copies as :class:`TransformerEncoder`; ``norm`` applied to the output if given).

    ``forward(tgt, memory, tgt_mask=None, memory_mask=None, tgt_key_padding_mask=None,
    memory_key_padding_mask=None, tgt_is_causal=None, memory_is_causal=False)``.
    """

    def __init__(self, decoder_layer, num_layers, norm=None):
        super().__init__()
        if not isinstance(decoder_layer, Module):
            raise TypeError(f"TransformerDecoder: decoder_layer must be a Module, got "
                            f"{type(decoder_layer).__name__}")
        self.layers = _get_clones(decoder_layer, num_layers)
        self.num_layers = num_layers
        self.norm = norm

    def forward(self, tgt, memory, tgt_mask=None, memory_mask=None, tgt_key_padding_mask=None,
                memory_key_padding_mask=None, tgt_is_causal=None, memory_is_causal=False):
        x = tgt
        for layer in self.layers:
            x = layer(x, memory, tgt_mask=tgt_mask, memory_mask=memory_mask,
                      tgt_key_padding_mask=tgt_key_padding_mask,
                      memory_key_padding_mask=memory_key_padding_mask,
                      tgt_is_causal=bool(tgt_is_causal), memory_is_causal=memory_is_causal)
        return x if self.norm is None else self.norm(x)
