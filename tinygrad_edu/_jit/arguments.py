"""A jitted call's arguments and result as templates: the leaves (Tensors, arrays) a
replay binds, the structure around them, and the returned value's template."""
from __future__ import annotations

import numpy as np

from ..tensor import Tensor
from .errors import TraceError
from .recorder import Slot
from .traced import _Traced
from .util import number_key

__all__ = ["_flatten", "_objects", "_rebuild", "_Holder", "_count_arrays", "_output"]


def _flatten(x, leaves, spec_out):
    """The call's arguments as a hashable spec; Tensors and arrays go to ``leaves``."""
    if isinstance(x, Tensor):
        for k, y in enumerate(leaves):
            if y is x:
                return ("same", k)
        leaves.append(x)
        return ("T", x.data.shape, x.data.dtype.str, x.requires_grad)
    if isinstance(x, np.ndarray):
        leaves.append(x)
        return ("A", x.shape, x.dtype.str)
    t = type(x)
    if t in (tuple, list):
        return (t.__name__,) + tuple(_flatten(v, leaves, spec_out) for v in x)
    if t is dict:
        return ("dict",) + tuple((k, _flatten(v, leaves, spec_out)) for k, v in x.items())
    try:
        hash(x)
    except TypeError:
        raise TypeError(f"jit: argument of type {t.__name__} is neither a Tensor, an array nor "
                        "hashable: pass it through the enclosing scope instead") from None
    key = number_key(x)  # (0.0 == -0.0 and hash alike: a number by its bits)
    return ("V", t, x) if key is None else ("N",) + key


def _objects(x, acc):
    """The arguments that are neither Tensors, arrays, numbers nor strings (nested in
    tuples, lists and dicts)."""
    t = type(x)
    if t in (tuple, list):
        for v in x:
            _objects(v, acc)
    elif t is dict:
        for v in x.values():
            _objects(v, acc)
    elif not (isinstance(x, (Tensor, np.ndarray, np.generic, int, float, complex, str, bytes))
              or x is None):
        acc.append(x)
    return acc


def _rebuild(x, it):
    """The arguments with array leaves replaced by the traced views (in order)."""
    if isinstance(x, Tensor):
        return x
    if isinstance(x, np.ndarray):
        return next(it)
    t = type(x)
    if t in (tuple, list):
        return t(_rebuild(v, it) for v in x)
    if t is dict:
        return {k: _rebuild(v, it) for k, v in x.items()}
    return x


class _Holder:
    """Holds an ndarray argument so the recorder can swap it like a tensor's data."""

    __slots__ = ("data", "_grad")

    def __init__(self, data):
        self.data = data
        self._grad = None


def _count_arrays(x):
    if isinstance(x, np.ndarray) and not isinstance(x, Tensor):
        return 1
    if type(x) in (tuple, list):
        return sum(_count_arrays(v) for v in x)
    if type(x) is dict:
        return sum(_count_arrays(v) for v in x.values())
    return 0


def _output(rec, out, state, input_ids):
    """The output template, and the eager return value with plain arrays."""
    if isinstance(out, Tensor):
        if any(out is t for t in state):
            return ("state", out), out
        d = out.data
        if isinstance(d, _Traced):
            i = rec.slot_of(d, "the returned tensor")
            out.data = d._p
            return ("tensor", Slot(i), out.requires_grad, out._ctx is not None), out
        i = rec.by_plain.get(id(d))
        if i is not None:
            return ("tensor", Slot(i), out.requires_grad, out._ctx is not None), out
        i = rec.slot_of(d, "the returned tensor")
        if i is not None:  # a plain view of a recorded array: the replay makes the same view
            return ("tensor", Slot(i), out.requires_grad, out._ctx is not None), out
        return ("const_tensor", d.copy(), out.requires_grad), out
    if isinstance(out, np.ndarray):
        if isinstance(out, _Traced):
            return ("array", Slot(rec.slot_of(out, "the returned array"))), out._p
        i = rec.by_plain.get(id(out))
        if i is not None:
            return ("array", Slot(i)), out
        raise TraceError("jit: the function returned a numpy array not computed from traced values")
    t = type(out)
    if t in (tuple, list):
        pairs = [_output(rec, v, state, input_ids) for v in out]
        return ("seq", t, tuple(p[0] for p in pairs)), t(p[1] for p in pairs)
    if t is dict:
        pairs = {k: _output(rec, v, state, input_ids) for k, v in out.items()}
        return ("dict", tuple((k, p[0]) for k, p in pairs.items())), {k: p[1] for k, p in pairs.items()}
    if out is None or t in (bool, int, float, str):
        return ("value", out), out
    raise TraceError(f"jit: the function returned a {t.__name__}; return Tensors, arrays, "
                     "numbers or tuples/lists/dicts of them")
