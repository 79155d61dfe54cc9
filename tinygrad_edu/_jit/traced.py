"""``_Traced``: the ndarray subclass that logs every numpy call made on it while recording.

While a jitted function records, the ``.data`` of its inputs and of every
captured tensor (parameters, buffers, gradients) is a ``_Traced`` view of the
same memory. numpy hands each operation on such an array to
``__array_ufunc__`` (operators, ufuncs, their ``reduce``/``accumulate``/``at``)
or ``__array_function__`` (``np.dot``, ``np.concatenate``...); the methods
that do not dispatch (``reshape``, ``__getitem__``, ``astype``...) are
overridden here. Each one is passed to the active recorder, which runs it on
plain arrays, logs it, and wraps the results as new ``_Traced`` arrays.

Safety net: an instance made by a path that was not logged (``as_strided``,
``.flat``...) has no slot; the recorder refuses to use it. A value read
(``bool``, ``float``, ``.item()``) raises TraceError: replay could not
follow a Python branch on it.
"""
from __future__ import annotations

import numpy as np

from .._mode import mode
from .errors import TraceError

__all__ = ["_Traced"]


def _read_error(what):
    return TraceError(
        f"{what} of a traced array inside a jitted function: the value is not known when the "
        "step is replayed, so a Python branch or number computed from it cannot be recorded. "
        "Return the tensor from the function and read it outside, or keep the computation in "
        "tensor ops (e.g. where() instead of if)."
    )


class _Traced(np.ndarray):
    """A view of an array in a recording; ``_tr`` is its slot number (None: not logged)."""

    _tr = None
    _pbase = None

    def __array_finalize__(self, obj):
        self._tr = None  # made by numpy itself: unknown to the recorder until it registers it

    # Engine code asks ``g.base is not None`` to know if an array is a fresh
    # result: answer as for the plain array this one stands for.
    @property
    def base(self):
        return self._pbase

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        fn = ufunc if method == "__call__" else getattr(ufunc, method)
        return _call(fn, inputs, kwargs, ufunc_method=method)

    def __array_function__(self, func, types, args, kwargs):
        return _call(func, args, kwargs)

    # ---- data-dependent reads: not replayable ------------------------------
    def __bool__(self):
        raise _read_error("bool()")

    def __float__(self):
        raise _read_error("float()")

    def __int__(self):
        raise _read_error("int()")

    def __index__(self):
        raise _read_error("use as an index (operator.index)")

    def __complex__(self):
        raise _read_error("complex()")

    def item(self, *args):
        raise _read_error(".item()")

    def tolist(self):
        raise _read_error(".tolist()")

    def tobytes(self, *a, **k):
        raise _read_error(".tobytes()")

    def __repr__(self):
        raise _read_error("repr()/print")

    __str__ = __repr__

    def __format__(self, spec):
        raise _read_error("format()/print")

    def __reduce__(self):
        raise _read_error("pickling/deepcopy")

    def __reduce_ex__(self, protocol):
        raise _read_error("pickling/deepcopy")

    def nonzero(self):
        raise TraceError("nonzero() inside a jitted function: its result's shape depends on the "
                         "values, which a recorded program cannot follow")

    @property
    def flat(self):
        raise TraceError(".flat inside a jitted function is not supported: use reshape(-1)")

    @property
    def T(self):
        return _call(np.ndarray.transpose, (self,), {})

    @property
    def mT(self):
        return _call(np.matrix_transpose, (self,), {})

    @property
    def real(self):
        return _call(np.real, (self,), {})

    @property
    def imag(self):
        return _call(np.imag, (self,), {})

    def __iter__(self):
        if self.ndim == 0:
            raise TypeError("iteration over a 0-d array")
        for i in range(self.shape[0]):
            yield self[i]

    def __copy__(self):
        return _call(np.ndarray.copy, (self,), {})

    def __deepcopy__(self, memo):
        return _call(np.ndarray.copy, (self,), {})


def _logged(name):
    meth = getattr(np.ndarray, name)

    def method(self, *args, **kwargs):
        return _call(meth, (self,) + args, kwargs)

    method.__name__ = name
    return method


# Methods numpy runs in C without dispatching (and a few that dispatch
# internally, logged as one call: fewer, larger calls in the replay).
_METHODS = ("__getitem__", "__setitem__", "reshape", "transpose", "swapaxes", "ravel", "flatten",
            "squeeze", "view", "astype", "copy", "fill", "dot", "argmax", "argmin", "take", "put",
            "repeat", "sort", "argsort", "searchsorted", "diagonal", "trace", "conj", "conjugate",
            "round", "cumsum", "cumprod", "sum", "mean", "max", "min", "prod", "any", "all", "std",
            "var", "clip", "choose", "compress", "partition", "argpartition", "byteswap", "resize",
            "setfield", "getfield", "itemset", "__array__", "__contains__")
for _name in _METHODS:
    if hasattr(np.ndarray, _name):
        setattr(_Traced, _name, _logged(_name))


def _call(fn, args, kwargs, ufunc_method=None):
    rec = mode.tracing
    if rec is None:  # a traced array outlived its recording: behave as a plain array
        return fn(*_plain(args), **_plain(kwargs))
    return rec.call(fn, args, kwargs, ufunc_method)


def _plain(x):
    if isinstance(x, _Traced):
        return np.ndarray.view(x, np.ndarray)
    if type(x) is tuple or type(x) is list:
        return type(x)(_plain(v) for v in x)
    if type(x) is dict:
        return {k: _plain(v) for k, v in x.items()}
    return x


def as_strided(x, shape=None, strides=None, subok=False, writeable=True):
    """``numpy.lib.stride_tricks.as_strided``, logged when ``x`` is traced (numpy's own
    builds the view through ``__array_interface__``, a route no recording sees)."""
    if type(x) is _Traced:
        return _call(_np_as_strided, (x,), {"shape": shape, "strides": strides,
                                             "writeable": writeable})
    return _np_as_strided(x, shape, strides, subok, writeable)


from numpy.lib.stride_tricks import as_strided as _np_as_strided  # noqa: E402
