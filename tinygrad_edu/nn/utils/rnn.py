"""Packed sequences under PyTorch's path (``torch.nn.utils.rnn``); they live in ``nn/rnn_utils.py``."""
from ..rnn_utils import (PackedSequence, pack_padded_sequence, pack_sequence,  # noqa: F401
                         pad_packed_sequence, pad_sequence)

__all__ = ["PackedSequence", "pack_padded_sequence", "pad_packed_sequence", "pad_sequence",
           "pack_sequence"]
