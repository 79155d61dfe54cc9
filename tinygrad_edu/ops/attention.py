"""Attention: ``scaled_dot_product_attention`` (``torch.nn.functional``'s, same semantics).

A composition of differentiable ops (batched ``matmul``, ``where``,
``softmax``), so gradients and second derivatives come from their rules.
"""
from __future__ import annotations

import math

import numpy as np

from .._mode import guard
from .arith import add, mul
from .elementwise import where
from .linalg import matmul
from .reduce import softmax
from .shape import getitem, swapaxes
from ..tensor import Tensor
from ._common import as_operand

__all__: list = []  # nn.functional only, as in PyTorch
from ._common import asarray as _asarray


NN_FUNCTIONAL = ["scaled_dot_product_attention"]


def _dropout(x, p, rng):
    from ..nn.functional import dropout

    return dropout(x, p, True, rng)


def scaled_dot_product_attention(query, key, value, attn_mask=None, dropout_p=0.0, is_causal=False,
                                 scale=None, enable_gqa=False, *, rng=None):
    """Attention ``softmax(Q K^T * scale + mask) V`` (Vaswani et al. 2017, "Attention Is All
    You Need", eq. 1), as ``torch.nn.functional.scaled_dot_product_attention``.

    Shapes: query (..., L, E), key (..., S, E), value (..., S, Ev) -> (..., L, Ev);
    the leading (batch, head) axes broadcast. ``scale`` defaults to 1/sqrt(E).

    Masks (PyTorch's conventions):

    - ``attn_mask`` bool, broadcastable to (..., L, S): **True means the key takes
      part** (the opposite of ``key_padding_mask``'s True = ignore in
      ``MultiheadAttention``); False positions get weight 0.
    - ``attn_mask`` float: added to the scores (use ``-inf`` to exclude).
    - ``is_causal=True``: query i sees keys j <= i (``ones(L, S).tril()``,
      aligned at the top-left as PyTorch); not together with ``attn_mask``.

    A query whose keys are all excluded gets output 0 and gradient 0 (PyTorch
    2.13 does the same here; a plain softmax would give nan).

    ``dropout_p`` > 0 drops attention weights (inverted dropout) on *every*
    call, as PyTorch's function (it has no training flag: pass
    ``dropout_p=0.0`` in evaluation); ``rng`` (keyword, this package's
    addition) is None, a seed or a Generator. ``enable_gqa``: key/value may
    have fewer heads (axis -3) than query, a divisor of its count; each is
    shared by consecutive query heads, as PyTorch.

    Raises ValueError naming the shapes when E differs between query and key,
    key and value have different S, a mask does not broadcast to (..., L, S),
    or ``is_causal`` comes with a mask; TypeError for a non-bool, non-float mask.
    """
    op = "scaled_dot_product_attention"
    q, k, v = (as_operand(op, t) for t in (query, key, value))
    if min(q.ndim, k.ndim, v.ndim) < 2:
        raise ValueError(f"{op}: query, key and value need at least 2 dimensions (..., L, E); got "
                         f"query {q.shape}, key {k.shape}, value {v.shape}")
    if q.shape[-1] != k.shape[-1] or k.shape[-2] != v.shape[-2]:
        raise ValueError(f"{op}: expected query (..., L, E), key (..., S, E), value (..., S, Ev); got "
                         f"query {q.shape}, key {k.shape}, value {v.shape}")
    if enable_gqa:
        k, v = _share_heads(op, q, k, v)
    L, S, E = q.shape[-2], k.shape[-2], q.shape[-1]
    scale = (1 / math.sqrt(E) if E else 1.0) if scale is None else float(scale)
    # Scaling q (L x E) costs less than scaling the scores (L x S); a numpy scalar keeps q's dtype.
    scores = matmul(mul(q, q.dtype.type(scale)) if q.dtype.kind == "f" else mul(q, scale),
                    swapaxes(k, -1, -2))
    excluded = None  # bool array: True where a key is masked out
    if is_causal:
        if attn_mask is not None:
            raise ValueError(f"{op}: pass either attn_mask or is_causal=True, not both")
        excluded = ~np.tri(L, S, dtype=bool)
    elif attn_mask is not None:
        m = _asarray(attn_mask.data if isinstance(attn_mask, Tensor) else attn_mask)
        try:
            np.broadcast_shapes(m.shape, scores.shape)
        except ValueError:
            raise ValueError(f"{op}: attn_mask of shape {m.shape} does not broadcast to the scores' "
                             f"shape {scores.shape} (..., L, S)") from None
        if m.dtype == bool:
            excluded = ~m
        elif m.dtype.kind == "f":
            scores = add(scores, attn_mask)
        else:
            raise TypeError(f"{op}: attn_mask must be bool (True = take part) or float (added to the "
                            f"scores), got dtype {m.dtype}")
    weights = masked_softmax(scores, excluded)
    if dropout_p:
        weights = _dropout(weights, dropout_p, rng)
    return matmul(weights, v)


def masked_softmax(scores, excluded=None):
    """``softmax(scores, axis=-1)`` with ``excluded`` (bool, broadcastable; True = left out) keys
    given weight 0; a row with no key left (all excluded or -inf) is 0, not nan.

    Shared by :func:`scaled_dot_product_attention` and ``nn.MultiheadAttention``.
    """
    if excluded is not None:
        scores = where(excluded, -np.inf, scores)  # select: no gradient reaches excluded keys
    neginf = np.isneginf(scores.data)
    # A row with every key excluded: softmax of all -inf is nan; PyTorch's SDPA gives 0.
    dead = np.all(neginf, axis=-1, keepdims=True) if guard(neginf.any()) else None
    if dead is not None and guard(dead.any()):
        return where(dead, 0.0, softmax(where(dead, 0.0, scores), axis=-1))
    return softmax(scores, axis=-1)


def _share_heads(op, q, k, v):
    if min(q.ndim, k.ndim, v.ndim) < 3:
        raise ValueError(f"{op}: enable_gqa needs a head axis (..., heads, L, E); got query {q.shape}, "
                         f"key {k.shape}, value {v.shape}")
    hq, hk, hv = q.shape[-3], k.shape[-3], v.shape[-3]
    if hk != hv or hk == 0 or hq % hk:
        raise ValueError(f"{op}: with enable_gqa the query heads ({hq}) must be a multiple of the "
                         f"key/value heads ({hk}, {hv}); shapes query {q.shape}, key {k.shape}, value {v.shape}")
    if hk == hq:
        return k, v
    idx = np.arange(hq) // (hq // hk)
    pick = (Ellipsis, idx, slice(None), slice(None))
    return getitem(k, pick), getitem(v, pick)
