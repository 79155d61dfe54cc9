"""Packed sequences, as ``torch.nn.utils.rnn``: ``PackedSequence``, ``pack_padded_sequence``,
``pad_packed_sequence``, ``pad_sequence``, ``pack_sequence``.

A batch of sequences of different lengths packed time step by time step:
``data`` holds, for t = 0, 1, ..., the step-t elements of every sequence
longer than t (longest first), so its first axis has ``sum(lengths)`` rows;
``batch_sizes[t]`` counts them. The recurrent layers accept a
``PackedSequence`` and then treat each sequence as if it ran alone (states
stop at each sequence's end; the reverse direction starts at it).

All functions are differentiable in ``data`` (one gather or scatter op).
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ..ops.elementwise import where
from ..ops.shape import concatenate, getitem, index_add, swapaxes
from ..tensor import Tensor
from .functional import as_tensor

__all__ = ["PackedSequence", "pack_padded_sequence", "pad_packed_sequence", "pad_sequence",
           "pack_sequence"]
from ..ops._common import asarray as _asarray


class PackedSequence(NamedTuple):
    """``data`` (sum(lengths), *) Tensor; ``batch_sizes`` (max length,) int64; ``sorted_indices``
    (the batch order in ``data``, longest first) and ``unsorted_indices`` (its inverse), or None
    when the batch was already sorted (``enforce_sorted=True``), as PyTorch."""

    data: Tensor
    batch_sizes: np.ndarray
    sorted_indices: np.ndarray | None = None
    unsorted_indices: np.ndarray | None = None


def _lengths(op, lengths, batch):
    arr = _asarray(lengths.data if isinstance(lengths, Tensor) else lengths)
    if arr.ndim != 1 or arr.dtype.kind not in "iu" or arr.shape[0] != batch:
        raise ValueError(f"{op}: lengths must be {batch} integers (one per sequence of the batch), "
                         f"got {arr.dtype} array of shape {arr.shape}")
    if (arr <= 0).any():
        raise ValueError(f"{op}: every length must be greater than 0, got {arr.tolist()}")
    return arr.astype(np.int64)


def packed_index(batch_sizes, sorted_indices):
    """``(t, b)`` index arrays of the rows of a packed ``data``, in its order (b: original batch)."""
    batch_sizes = _asarray(batch_sizes)
    n = int(batch_sizes[0]) if batch_sizes.size else 0
    t_idx, j_idx = np.nonzero(np.arange(n)[None, :] < batch_sizes[:, None])
    return t_idx, (j_idx if sorted_indices is None else _asarray(sorted_indices)[j_idx])


def pack_padded_sequence(input, lengths, batch_first=False, enforce_sorted=True):
    """Pack a padded batch (``torch.nn.utils.rnn.pack_padded_sequence``).

    ``input`` (T, B, *) or (B, T, *) with ``batch_first``; ``lengths`` B ints in
    [1, T]. With ``enforce_sorted=True`` they must be non-increasing; else the
    batch is sorted by decreasing length (ties keep their order) and
    ``sorted_indices``/``unsorted_indices`` record the permutation.

    Raises ValueError for lengths that are not positive, exceed T, do not
    match the batch, or are unsorted with ``enforce_sorted=True``.
    """
    op = "pack_padded_sequence"
    x = as_tensor(input)
    if x.ndim < 2:
        raise ValueError(f"{op}: expected input of shape (T, B, *) or (B, T, *), got {x.shape}")
    steps, batch = (x.shape[1], x.shape[0]) if batch_first else (x.shape[0], x.shape[1])
    lens = _lengths(op, lengths, batch)
    if lens.max() > steps:
        raise ValueError(f"{op}: a length ({lens.max()}) exceeds the padded length {steps} of input {x.shape}")
    if enforce_sorted:
        if (np.diff(lens) > 0).any():
            raise ValueError(f"{op}: lengths {lens.tolist()} must be sorted in decreasing order when "
                             "enforce_sorted=True; pass enforce_sorted=False to sort them here")
        order, sorted_indices, unsorted_indices = np.arange(batch), None, None
    else:
        order = np.argsort(-lens, kind="stable")
        sorted_indices, unsorted_indices = order, np.argsort(order)
    batch_sizes = (lens[order][None, :] > np.arange(lens.max())[:, None]).sum(axis=1).astype(np.int64)
    t_idx, b_idx = packed_index(batch_sizes, sorted_indices)
    data = getitem(x, (b_idx, t_idx) if batch_first else (t_idx, b_idx))
    return PackedSequence(data, batch_sizes, sorted_indices, unsorted_indices)


def pad_packed_sequence(sequence, batch_first=False, padding_value=0.0, total_length=None):
    """Undo :func:`pack_padded_sequence`: returns ``(padded, lengths)``
    (``torch.nn.utils.rnn.pad_packed_sequence``).

    padded (T, B, *) (or (B, T, *)) in the original batch order, T = the
    longest length or ``total_length``; ``lengths`` an int64 array (B,).
    Raises ValueError if ``total_length`` is shorter than the longest sequence.
    """
    if not isinstance(sequence, PackedSequence):
        raise TypeError(f"pad_packed_sequence: expected a PackedSequence, got {type(sequence).__name__}")
    data, bs = as_tensor(sequence.data), _asarray(sequence.batch_sizes)
    steps, batch = len(bs), int(bs[0])
    if total_length is not None:
        if total_length < steps:
            raise ValueError(f"pad_packed_sequence: total_length {total_length} is less than the longest "
                             f"sequence length {steps}")
        steps = total_length
    t_idx, b_idx = packed_index(bs, sequence.sorted_indices)
    shape = (steps, batch) + data.shape[1:]
    out = index_add(data, (t_idx, b_idx), shape)
    if padding_value != 0:
        valid = np.zeros((steps, batch) + (1,) * (data.ndim - 1), dtype=bool)
        valid[t_idx, b_idx] = True
        out = where(valid, out, padding_value)
    lengths = np.bincount(b_idx, minlength=batch).astype(np.int64)
    return (swapaxes(out, 0, 1) if batch_first else out), lengths


def pad_sequence(sequences, batch_first=False, padding_value=0.0, padding_side="right"):
    """Stack sequences of shapes (L_i, *) into (max L, B, *) (or (B, max L, *)), padding
    with ``padding_value`` (``torch.nn.utils.rnn.pad_sequence``; ``padding_side`` 'right' or 'left').

    Raises ValueError for an empty list, trailing shapes that differ or a bad padding_side.
    """
    seqs = [as_tensor(s) for s in sequences]
    if not seqs:
        raise ValueError("pad_sequence: need at least one sequence")
    if padding_side not in ("right", "left"):
        raise ValueError(f"pad_sequence: padding_side must be 'right' or 'left', got {padding_side!r}")
    trail = {s.shape[1:] for s in seqs}
    if len(trail) > 1 or any(s.ndim == 0 for s in seqs):
        raise ValueError(f"pad_sequence: sequences must be (L_i, *) with equal trailing shapes, got "
                         f"{[s.shape for s in seqs]}")
    lens = np.array([s.shape[0] for s in seqs])
    steps = int(lens.max())
    b_idx = np.repeat(np.arange(len(seqs)), lens)
    t_idx = np.concatenate([np.arange(n) + (steps - n if padding_side == "left" else 0) for n in lens])
    out = index_add(concatenate(seqs, axis=0), (t_idx, b_idx), (steps, len(seqs)) + seqs[0].shape[1:])
    if padding_value != 0:
        valid = np.zeros((steps, len(seqs)) + (1,) * (seqs[0].ndim - 1), dtype=bool)
        valid[t_idx, b_idx] = True
        out = where(valid, out, padding_value)
    return swapaxes(out, 0, 1) if batch_first else out


def pack_sequence(sequences, enforce_sorted=True):
    """Pack a list of (L_i, *) sequences (``torch.nn.utils.rnn.pack_sequence``)."""
    lengths = [np.shape(s.data if isinstance(s, Tensor) else s)[0] for s in sequences]
    return pack_padded_sequence(pad_sequence(sequences), lengths, enforce_sorted=enforce_sorted)
