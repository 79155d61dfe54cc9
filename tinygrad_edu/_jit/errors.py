"""``TraceError``: what the recorder raises when a step cannot be replayed exactly."""
from __future__ import annotations

__all__ = ["TraceError"]


class TraceError(RuntimeError):
    """A jitted function did something a recorded program could not reproduce exactly.

    Raised at record time (calls 1 and 2 of a signature), before any replay,
    for: reading a traced value (``.item()``, ``bool``, ``float``, ``int``,
    ``.numpy()``, ``.tolist()``, ``np.asarray(t)``, printing a tensor),
    data-dependent shapes (boolean masks, ``nonzero``), ``create_graph=True``,
    tensor hooks, ``retain_grad``, a value that changes between calls without
    being an input (a numpy random draw inside the function), and any array
    reaching numpy by a route the recorder does not see.
    """
