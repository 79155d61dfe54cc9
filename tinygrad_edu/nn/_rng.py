"""Random generators: one rule for the ``rng=`` argument, and the global default generator.

Everything random (``tg.rand``/``tg.randn``, ``nn.init``, ``Linear``/``Embedding``
initialisation, ``Dropout``, ``DataLoader`` shuffling, the toy data sets) takes
``rng=``. When it is None, the draws come from ONE global default generator,
as PyTorch's ``torch.manual_seed`` / default CPU generator: so
``tg.manual_seed(0)`` before building and training a model makes its
initialisation, dropout masks and shuffling reproducible. Without a call to
:func:`manual_seed` the default generator is seeded from fresh OS entropy at
import (PyTorch uses a fixed seed instead; we keep numpy's habit of fresh runs).
"""
from __future__ import annotations

import secrets

import numpy as np

from .._mode import mode


class _DefaultGenerator(np.random.Generator):
    """The global default ``np.random.Generator`` (a PCG64, as ``np.random.default_rng``).

    Pickling or deep-copying it (e.g. with a ``Dropout`` layer that holds it)
    gives back the global generator itself, not a frozen copy, so a copied
    model keeps following :func:`manual_seed`, as in PyTorch.
    """

    def __reduce__(self):
        return (default_generator, ())


_initial_seed = secrets.randbits(63)
_DEFAULT = _DefaultGenerator(np.random.PCG64(_initial_seed))


def default_generator() -> np.random.Generator:
    """The global default generator used wherever ``rng`` is None."""
    return _DEFAULT


def manual_seed(seed) -> np.random.Generator:
    """Reseed the global default generator in place (``torch.manual_seed``); returns it.

    After ``manual_seed(s)`` the default generator draws exactly what
    ``np.random.default_rng(s)`` draws (a PCG64 seeded with ``s``). Objects
    already holding the default generator (a ``Dropout`` layer, a
    ``DataLoader``) follow the new seed, since it is reseeded, not replaced.
    Not comparable to PyTorch's random streams (a different algorithm).

    Raises TypeError for a seed that is not an int (bools and floats included),
    ValueError for a negative one.
    """
    global _initial_seed
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise TypeError(f"manual_seed: the seed must be an int, got {type(seed).__name__} {seed!r:.40}")
    if seed < 0:
        raise ValueError(f"manual_seed: the seed must be >= 0, got {seed}")
    _DEFAULT.bit_generator.state = np.random.PCG64(int(seed)).state
    _initial_seed = int(seed)
    return _DEFAULT


def initial_seed() -> int:
    """The seed the default generator was last seeded with (``torch.initial_seed``)."""
    return _initial_seed


def as_generator(rng):
    """A ``np.random.Generator`` from None, an int seed, or a Generator/RandomState.

    None gives the global default generator (see :func:`manual_seed`); a
    Generator is returned as is (shared, so successive draws differ); an int
    seed gives a new Generator, so the same seed always gives the same draws.

    Raises TypeError for anything else (a float, a string, ...).
    """
    if rng is None:
        return _DEFAULT
    if isinstance(rng, (int, np.integer)) and not isinstance(rng, bool):
        return np.random.default_rng(rng)
    if isinstance(rng, (np.random.Generator, np.random.RandomState)):
        return rng
    raise TypeError(f"rng must be None, an int seed or a np.random.Generator, got {type(rng).__name__}")


def _draw(rng, method, *args):
    return getattr(as_generator(rng), method)(*args)


def draw(rng, method, *args):
    """``as_generator(rng).<method>(*args)``: the one route of the library's random draws
    inside ops, so that a jitted step replays the draw (same generator, same method),
    advancing the generator exactly as the eager step does."""
    tracer = mode.tracing
    if tracer is not None:
        return tracer.draw(_draw, (rng, method) + args, {})
    return getattr(as_generator(rng), method)(*args)
