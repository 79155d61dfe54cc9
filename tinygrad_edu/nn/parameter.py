"""``Parameter``: a Tensor that a Module registers as learnable."""
from __future__ import annotations

from ..tensor import Tensor


class Parameter(Tensor):
    """A Tensor that requires grad and is registered when assigned to a Module attribute.

    Args:
        data: array-like, copied (as ``Tensor``). Must be floating point.
        requires_grad: default True; a frozen parameter stays registered
            (and in ``state_dict``) but gets no gradient.

    Raises TypeError for integer, bool or complex data (parameters need real gradients).
    """

    __slots__ = ()

    def __init__(self, data, requires_grad=True, dtype=None):
        super().__init__(data, requires_grad=requires_grad, dtype=dtype)
        if self.data.dtype.kind != "f":  # complex: Tensor raised already (no complex autograd)
            raise TypeError(f"Parameter: data must be floating point, got dtype {self.data.dtype}")

    def __repr__(self):
        return "Parameter containing:\n" + Tensor.__repr__(self).replace(", requires_grad=True", "")


class OutInParameter(Parameter):
    """A 2-D weight kept in PyTorch's ``(out_features, in_features)`` layout.

    The layers ported from PyTorch with their own layouts (``RNN``/``LSTM``/``GRU``
    weights, ``MultiheadAttention``'s projections, the transformer's linear
    maps) hold their matrices this way so PyTorch state dicts load as they
    are; ``nn.init`` reads the fans of these as PyTorch does
    (``fan_in = shape[1]``), while a plain 2-D Parameter is read in
    ``Linear``'s ``(in, out)`` layout. Otherwise a Parameter in every way.
    """

    __slots__ = ()
