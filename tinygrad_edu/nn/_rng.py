"""Random generators for layers and initialisers: one rule for the ``rng=`` argument."""
from __future__ import annotations

import numpy as np


def as_generator(rng):
    """A ``np.random.Generator`` from None (fresh entropy), an int seed, or a Generator/RandomState.

    A Generator is returned as is (shared, so successive draws differ); an int
    seed gives a new Generator, so the same seed always gives the same draws.

    Raises TypeError for anything else (a float, a string, ...).
    """
    if rng is None or (isinstance(rng, (int, np.integer)) and not isinstance(rng, bool)):
        return np.random.default_rng(rng)
    if isinstance(rng, (np.random.Generator, np.random.RandomState)):
        return rng
    raise TypeError(f"rng must be None, an int seed or a np.random.Generator, got {type(rng).__name__}")
