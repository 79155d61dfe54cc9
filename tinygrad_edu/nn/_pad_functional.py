"""``torch.nn.functional.pad``: PyTorch's padding spec on top of numpy's ``np.pad``.

``tinygrad_edu.pad`` is numpy's ``np.pad(x, pad_width, mode)``; this one is
PyTorch's ``F.pad(input, pad, mode, value)``, exported from
``tinygrad_edu.nn.functional`` as ``pad``. The two name the widths in
opposite orders: PyTorch's ``pad`` tuple starts at the LAST axis,
``(left, right, top, bottom, ...)``.
"""
from __future__ import annotations

from ..ops._common import as_operand
from ..ops.arrange import pad as _np_pad
from ..ops.shape import getitem

__all__ = ["pad"]

# PyTorch's mode names and numpy's for the same padding.
_MODES = {"constant": "constant", "reflect": "reflect", "replicate": "edge", "circular": "wrap"}


def pad(input, pad, mode="constant", value=None):
    """Pad the last ``len(pad) // 2`` axes of ``input`` (``torch.nn.functional.pad``).

    ``pad`` is ``(before_last, after_last, before_second_last, after_second_last, ...)``.
    Modes: ``'constant'`` (``value``, default 0; negative widths crop, as in
    PyTorch), ``'reflect'`` (mirror without the edge; each width must be smaller
    than its axis), ``'replicate'`` (repeat the edge; numpy's ``'edge'``) and
    ``'circular'`` (periodic; each width at most its axis; numpy's ``'wrap'``).
    As in PyTorch, the non-constant modes pad ``k = len(pad) // 2`` axes of an
    input with ``k + 1`` or ``k + 2`` dimensions (batch and channel axes in front).

    Gradients: the padded copies send their gradient back to the element they
    copy (accumulated), see ``tinygrad_edu.pad``.

    Raises ValueError naming the shape and widths for an odd-length ``pad``,
    too many axes, widths that PyTorch rejects, or an unknown mode.
    """
    x = as_operand("pad", input)
    if mode not in _MODES:
        raise ValueError(f"pad: mode {mode!r} is not supported; use one of {tuple(_MODES)}")
    pad = tuple(int(p) for p in pad)
    k = len(pad) // 2
    if len(pad) % 2 or k > x.ndim:
        raise ValueError(f"pad: the padding {pad} must have an even length of at most "
                         f"2 * {x.ndim} entries (input of shape {x.shape})")
    if mode != "constant" and value not in (None, 0):
        raise ValueError(f"pad: value={value} only applies to mode 'constant', not {mode!r}")
    if mode != "constant" and x.ndim not in (k + 1, k + 2):
        raise ValueError(f"pad: mode {mode!r} with {len(pad)} padding entries needs an input of "
                         f"{k + 1} or {k + 2} dimensions, got shape {x.shape}")
    pairs = [(0, 0)] * x.ndim
    for i in range(k):
        pairs[x.ndim - 1 - i] = (pad[2 * i], pad[2 * i + 1])
    if mode == "constant":
        crop = []
        for ax, ((b, a), n) in enumerate(zip(pairs, x.shape)):
            if n + min(b, 0) + min(a, 0) < 0:
                raise ValueError(f"pad: the negative padding {pad} crops more than dim {ax} of size "
                                 f"{n} holds (input of shape {x.shape})")
            crop.append(slice(-min(b, 0), n + min(a, 0)))
        if any(b < 0 or a < 0 for b, a in pairs):
            x = getitem(x, tuple(crop))
        widths = [(max(b, 0), max(a, 0)) for b, a in pairs]
        return _np_pad(x, widths, "constant", constant_values=0 if value is None else value)
    for ax, ((b, a), n) in enumerate(zip(pairs, x.shape)):
        if b < 0 or a < 0:
            raise ValueError(f"pad: negative padding {pad} is only supported in mode 'constant'")
        if mode == "reflect" and (b >= n or a >= n) and (b or a):
            raise ValueError(f"pad: reflect padding ({b}, {a}) must be smaller than dim {ax} of "
                             f"size {n} (input of shape {x.shape})")
        if mode == "circular" and (b > n or a > n):
            raise ValueError(f"pad: circular padding ({b}, {a}) must be at most dim {ax} of size "
                             f"{n} (input of shape {x.shape})")
        if mode == "replicate" and n == 0 and (b or a):
            raise ValueError(f"pad: cannot replicate-pad the empty dim {ax} (input of shape {x.shape})")
    return _np_pad(x, pairs, _MODES[mode])
