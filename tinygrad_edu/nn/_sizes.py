"""One rule for the size arguments of layers (``Linear(3, 4)``, ``Embedding(10, 8)``)."""
from __future__ import annotations

import numbers


def as_size(layer: str, name: str, value, minimum: int = 0) -> int:
    """``value`` as an int, if it is an integer (not a bool) and at least ``minimum``.

    Raises TypeError for a float or other non-integer (``int(5.5)`` would
    silently build a layer of size 5) and ValueError below ``minimum``.
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{layer}: {name} must be an integer, got {type(value).__name__} {value!r}")
    if value < minimum:
        bound = "positive" if minimum == 1 else f">= {minimum}"
        raise ValueError(f"{layer}: {name} must be {bound}, got {value}")
    return int(value)
