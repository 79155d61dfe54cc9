"""The ``Tensor``: a numpy array that remembers how it was computed.

The class holds data and autograd bookkeeping; each op and its backward rule
live together in ``tinygrad_edu/ops/``, and the methods and operators here are
bound to those functions at the bottom of this file.
"""
from __future__ import annotations

import numpy as np

from ._mode import mode as _mode
from ._mode import read_error as _read_error

__all__ = ["Tensor", "from_numpy", "zeros", "ones", "zeros_like", "ones_like", "full",
           "arange", "eye", "rand", "randn"]


class Tensor:
    """An n-dimensional array with reverse-mode automatic differentiation.

    Args:
        data: array-like (numpy array, nested lists, Python number, Tensor).
            It is copied, as ``torch.tensor`` copies; use :func:`from_numpy`
            to share memory with an existing array instead.
        requires_grad: record operations on this tensor so that ``backward``
            can compute ``.grad``. Only floating-point dtypes can require
            grad (complex autograd is not supported).
        dtype: numpy dtype to convert to; by default numpy's choice is kept
            (Python floats become float64, ints int64).

    Dtypes follow numpy, including NEP 50 promotion: ``float32 * 2.0`` stays
    float32, ``float32 * float64`` array gives float64. Gradients always have
    the dtype and shape of their tensor.

    Raises:
        TypeError: ``requires_grad=True`` with an integer, bool or complex
            dtype, a dtype numpy does not understand, or data numpy turns into a
            non-numeric array (strings, None, dicts, objects).
        ValueError: ragged nested sequences.
    """

    __slots__ = ("data", "_grad", "requires_grad", "_ctx", "_meta", "__weakref__")
    __hash__ = object.__hash__  # __eq__ is elementwise, identity is the key for graphs

    def __init__(self, data, requires_grad=False, dtype=None):
        if isinstance(data, Tensor):
            data = data.data
        try:
            if _mode.tracing is not None and isinstance(data, np.ndarray) and type(data) is not np.ndarray:
                # a jit-traced array (an input, a parameter): np.array copies it where no
                # recording sees, and the program would keep this call's value as a constant
                arr = data.astype(np.result_type(data) if dtype is None else dtype, copy=True)
            else:
                arr = np.array(data, dtype=dtype, copy=True)
        except TypeError as err:  # dtype not understood, or data numpy cannot convert to it
            raise TypeError(f"Tensor: {err} (data: {type(data).__name__}, dtype={dtype!r})") from None
        except ValueError as err:  # ragged nested lists, a string for a float dtype
            raise ValueError(f"Tensor: cannot make an array of {type(data).__name__} "
                             f"{data!r:.60} ({err})") from None
        if arr.dtype.kind not in _NUMERIC:
            raise TypeError(
                f"Tensor: cannot make a numeric array from {type(data).__name__} "
                f"{data!r:.60}: numpy gave dtype {arr.dtype}"
            )
        self.data = arr
        self._grad = None
        self._ctx = None
        self._meta = None
        self.requires_grad = False
        if requires_grad:
            self.requires_grad_(True)
        if _mode.tracing is not None:  # made inside a jitted function (see Recorder.note_grad)
            _mode.tracing.born.add(id(self))

    @classmethod
    def _wrap(cls, arr):
        """A leaf around ``arr`` without copying or checks (internal fast path)."""
        t = _new(cls)
        t.data = arr
        t._grad = None
        t.requires_grad = False
        t._ctx = None
        t._meta = None
        return t

    # ---- autograd state -------------------------------------------------
    def requires_grad_(self, requires_grad=True):
        """Set ``requires_grad`` in place on a leaf; returns self.

        Raises TypeError for integer/bool dtypes (they have no gradient) and
        complex dtypes (complex autograd is not supported), RuntimeError on a
        non-leaf (its flag comes from its inputs).
        """
        if requires_grad and self.data.dtype.kind != "f":
            if self.data.dtype.kind == "c":
                raise TypeError(
                    f"requires_grad: complex autograd is not supported (dtype {self.data.dtype}); "
                    "use separate real tensors for the real and imaginary parts"
                )
            raise TypeError(
                f"only floating-point tensors can require gradients, got dtype "
                f"{self.data.dtype}; convert first, e.g. Tensor(x, dtype=np.float64)"
            )
        if self._ctx is not None and not requires_grad:
            raise RuntimeError("requires_grad_: cannot turn off requires_grad on a non-leaf; use detach()")
        self.requires_grad = bool(requires_grad)
        return self

    @property
    def grad(self):
        """The gradient accumulated by ``backward`` (a Tensor shaped like this one), or None."""
        return self._grad

    @grad.setter
    def grad(self, value):
        # Checked here, as PyTorch does: a wrong .grad would only fail later, far from the cause.
        if value is not None:
            if not isinstance(value, Tensor):
                raise TypeError(f"assigned grad must be a Tensor or None, got {type(value).__name__}; "
                                "wrap an array as Tensor(arr)")
            if value.shape != self.data.shape:
                raise ValueError(f"assigned grad has shape {value.shape} but the tensor has shape "
                                 f"{self.data.shape}")
        self._grad = value

    @property
    def is_leaf(self) -> bool:
        """True for tensors not produced by a recorded op (created by the user, or under no_grad)."""
        return self._ctx is None

    @property
    def grad_fn(self):
        """The :class:`~tinygrad_edu.autograd.Node` that produced this tensor, or None for a leaf."""
        return self._ctx

    def backward(self, gradient=None, retain_graph=None, create_graph=False):
        """Accumulate d(self)/d(leaf) into the ``.grad`` of every leaf that requires grad.

        Args:
            gradient: d(loss)/d(self), shaped like self; may be omitted only
                when self has exactly one element (it is then 1).
            retain_graph: keep the graph's saved values for another backward;
                defaults to ``create_graph``.
            create_graph: record the backward pass itself, so ``.grad`` can be
                differentiated again (higher-order derivatives).

        Raises:
            RuntimeError: self does not require grad; self is not a scalar and
                no gradient is given; the graph was freed by an earlier backward.
        """
        from .autograd import run_backward

        if retain_graph is None:
            retain_graph = create_graph
        run_backward((self,), (gradient,), retain_graph, create_graph)

    def detach(self) -> "Tensor":
        """A new leaf sharing this tensor's data, cut from the graph."""
        return Tensor._wrap(self.data)

    def retain_grad(self):
        """Make backward fill ``.grad`` of this non-leaf tensor too (no-op on leaves)."""
        if not self.requires_grad:
            raise RuntimeError("retain_grad: the tensor does not require grad")
        if self._ctx is not None:
            self._meta_dict()["retains_grad"] = True

    @property
    def retains_grad(self) -> bool:
        """True if ``retain_grad()`` was called on this non-leaf."""
        return bool(self._meta and self._meta.get("retains_grad"))

    def register_hook(self, hook):
        """Call ``hook(grad)`` when this tensor's gradient is computed.

        The hook receives the gradient as a Tensor; if it returns a Tensor (or
        array) of the same shape, that replaces the gradient for the rest of
        the backward pass. Returns a handle with ``remove()``.
        """
        if not self.requires_grad:
            raise RuntimeError("register_hook: cannot register a hook on a tensor that does not require grad")
        if not callable(hook):
            raise TypeError(f"register_hook: the hook must be callable, got {type(hook).__name__}")
        hooks = self._meta_dict().setdefault("hooks", [])
        hooks.append(hook)
        return _HookHandle(hooks, hook)

    def _meta_dict(self):
        if self._meta is None:
            self._meta = {}
        return self._meta

    # ---- numpy-like attributes ---------------------------------------------
    @property
    def shape(self) -> tuple:
        """The shape, a tuple of ints (as ``ndarray.shape``)."""
        return self.data.shape

    @property
    def ndim(self) -> int:
        """Number of dimensions."""
        return self.data.ndim

    @property
    def dtype(self) -> np.dtype:
        """The numpy dtype of the data."""
        return self.data.dtype

    @property
    def size(self) -> int:
        """Number of elements (numpy's ``size``), an int that can also be called as PyTorch's ``size()``.

        ``t.size`` is an ``int`` (``==``, ``hash``, arithmetic, indexing,
        ``format``, JSON and pickling as the plain int); calling it gives
        PyTorch's meaning: ``t.size()`` is the shape tuple and ``t.size(d)``
        is ``t.shape[d]``. So both habits work and neither is ambiguous.
        """
        return _Size(self.data.size, self.data.shape)

    def numpy(self) -> np.ndarray:
        """The underlying numpy array (shared, not copied)."""
        if _mode.tracing is not None:
            raise _read_error("Tensor.numpy()")
        return self.data

    def item(self):
        """The value of a one-element tensor as a Python number.

        Raises ValueError if the tensor has more than one element.
        """
        if _mode.tracing is not None:
            raise _read_error("Tensor.item()")
        if self.data.size != 1:
            raise ValueError(f"item: only one-element tensors can be converted to a Python scalar, got shape {self.shape}")
        return self.data.item()

    def tolist(self):
        """The data as (nested) Python lists."""
        if _mode.tracing is not None:
            raise _read_error("Tensor.tolist()")
        return self.data.tolist()

    def __array__(self, dtype=None, copy=None):
        """Implicit conversion to an ndarray (``np.asarray(t)``, ``np.array([t, u])``, matplotlib).

        Gives the data without graph for a tensor that needs no gradient.

        Raises:
            RuntimeError: the tensor requires grad and grad mode is on (as
                PyTorch): the conversion would silently drop the graph.
                Use ``tinygrad_edu.stack``/``concatenate`` to combine tensors,
                ``t.detach().numpy()``, ``t.numpy()`` or ``t.data`` for the values.
        """
        if _mode.tracing is not None:
            raise _read_error("np.asarray(tensor) (Tensor.__array__)")
        if self.requires_grad and _mode.grad_enabled:
            raise RuntimeError(_IMPLICIT_NUMPY.format(shape=self.data.shape))
        if dtype is not None and dtype != self.data.dtype:
            return self.data.astype(dtype)
        return self.data.copy() if copy else self.data

    def __len__(self):
        if self.data.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return len(self.data)

    def __iter__(self):
        if self.data.ndim == 0:
            raise TypeError("iteration over a 0-d tensor")
        if self._meta is not None and "values_only" in self._meta:
            _warn_values_only(self, "iterating over (unpacking)")
            # once is enough: numpy ints as indices skip getitem's check for x.max(1)[0]
            return (self[np.intp(i)] for i in range(len(self.data)))
        return (self[i] for i in range(len(self.data)))

    def __bool__(self):
        if _mode.tracing is not None:
            raise _read_error("bool(tensor) (an if/while on a tensor)")
        return bool(self.data)

    def __float__(self):
        if _mode.tracing is not None:
            raise _read_error("float(tensor)")
        return float(self.item())

    def __int__(self):
        if _mode.tracing is not None:
            raise _read_error("int(tensor)")
        return int(self.item())

    def __repr__(self):
        if _mode.tracing is not None:
            raise _read_error("repr/str/print of a tensor")
        body = np.array2string(self.data, separator=", ", prefix="Tensor(")
        extra = ""
        if self.data.dtype not in (np.float64, np.int64, np.bool_):
            extra += f", dtype={self.data.dtype}"
        if self._ctx is not None:
            extra += f", grad_fn=<{self._ctx.name}>"
        elif self.requires_grad:
            extra += ", requires_grad=True"
        return f"Tensor({body}{extra})"

    # numpy's dispatch protocols: np.exp(t), np.dot(X, t), np.sum(t, axis=0)...
    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        return _protocol.array_ufunc(ufunc, method, inputs, kwargs)

    def __array_function__(self, func, types, args, kwargs):
        return _protocol.array_function(func, args, kwargs)

    def __getstate__(self):
        return {"data": self.data, "requires_grad": self.requires_grad, "grad": self.grad}

    def __setstate__(self, state):
        # A pickled or deep-copied tensor is a leaf: graphs are not serialised.
        self.data = state["data"]
        self.requires_grad = state["requires_grad"]
        self._grad = state["grad"]
        self._ctx = None
        self._meta = None


def _warn_values_only(t, how):
    """Warn that ``t``, numpy's values-only ``x.max(axis)``, is being used as PyTorch's (values, indices).

    ``v, i = x.max(1)`` (iteration) and ``x.max(1)[0]`` (an index 0, 1, -1 or -2)
    are PyTorch idioms that would silently read rows of the values instead.
    """
    import warnings

    call = t._meta["values_only"]  # e.g. "max(1)"
    op, axis = call[:3], call[4:-1]
    warnings.warn(
        f"{how} x.{call}, numpy's values-only reduction (a Tensor of shape {t.shape}), reads its rows. "
        f"For PyTorch's (values, indices) from x.{call} write x.{op}(dim={axis}); "
        f"arg{op} gives the indices alone.", UserWarning, stacklevel=3)


class _HookHandle:
    __slots__ = ("_hooks", "_hook")

    def __init__(self, hooks, hook):
        self._hooks, self._hook = hooks, hook

    def remove(self):
        """Unregister the hook (idempotent)."""
        if self._hook in self._hooks:
            self._hooks.remove(self._hook)


_new = object.__new__

_IMPLICIT_NUMPY = (
    "Can't convert a Tensor that requires grad (shape {shape}) to a numpy array implicitly "
    "(np.array, np.asarray, a list of Tensors given to a numpy function, np.r_, matplotlib): "
    "the graph would be silently dropped. To keep the graph, combine Tensors with "
    "tinygrad_edu.stack / tinygrad_edu.concatenate (or np.stack / np.concatenate, which "
    "record); for the values without gradient, use t.detach().numpy(), t.numpy() or t.data."
)


# ---- factories (PyTorch names, numpy dtype rules) ------------------------
def from_numpy(arr: np.ndarray, requires_grad=False) -> Tensor:
    """A Tensor that shares memory with ``arr`` (no copy), as ``torch.from_numpy``."""
    if not isinstance(arr, np.ndarray):
        raise TypeError(f"from_numpy: expected np.ndarray, got {type(arr).__name__}")
    if arr.dtype.kind not in _NUMERIC:
        raise TypeError(f"from_numpy: the array must be numeric, got dtype {arr.dtype}")
    t = Tensor._wrap(arr)
    return t.requires_grad_(True) if requires_grad else t


_NUMERIC = "biufc"  # bool, int, uint, float, complex


def _factory(name, make, args, requires_grad):
    """Run numpy's constructor ``make()``; its errors are re-raised naming ``name`` and ``args``."""
    try:
        arr = make()
    except (ValueError, TypeError) as err:
        raise type(err)(f"{name}{args!r}: {err}") from None
    if arr.dtype.kind not in _NUMERIC:
        raise TypeError(f"{name}{args!r}: the dtype must be numeric, got {arr.dtype}")
    t = Tensor._wrap(arr)
    return t.requires_grad_(True) if requires_grad else t


def zeros(*shape, dtype=np.float64, requires_grad=False) -> Tensor:
    """A tensor of zeros; ``shape`` as ints or one tuple (default dtype float64)."""
    return _factory("zeros", lambda: np.zeros(_shape(shape), dtype=dtype), shape, requires_grad)


def ones(*shape, dtype=np.float64, requires_grad=False) -> Tensor:
    """A tensor of ones; ``shape`` as ints or one tuple (default dtype float64)."""
    return _factory("ones", lambda: np.ones(_shape(shape), dtype=dtype), shape, requires_grad)


def full(shape, fill_value, dtype=None, requires_grad=False) -> Tensor:
    """A tensor of ``shape`` filled with ``fill_value`` (numpy's ``np.full``)."""
    return _factory("full", lambda: np.full(shape, fill_value, dtype=dtype), (shape, fill_value),
                    requires_grad)


def zeros_like(t, dtype=None, requires_grad=False) -> Tensor:
    """Zeros with the shape (and dtype unless given) of ``t``."""
    return _factory("zeros_like", lambda: np.zeros_like(_values(t), dtype=dtype), (type(t).__name__,),
                    requires_grad)


def ones_like(t, dtype=None, requires_grad=False) -> Tensor:
    """Ones with the shape (and dtype unless given) of ``t``."""
    return _factory("ones_like", lambda: np.ones_like(_values(t), dtype=dtype), (type(t).__name__,),
                    requires_grad)


def arange(*args, dtype=None, requires_grad=False) -> Tensor:
    """Evenly spaced values, as ``np.arange(start, stop, step)``."""
    return _factory("arange", lambda: np.arange(*args, dtype=dtype), args, requires_grad)


def eye(n, m=None, dtype=np.float64, requires_grad=False) -> Tensor:
    """The identity matrix of shape (n, m or n)."""
    return _factory("eye", lambda: np.eye(n, m, dtype=dtype), (n, m), requires_grad)


def rand(*shape, rng=None, dtype=np.float64, requires_grad=False) -> Tensor:
    """Uniform samples in [0, 1) from ``rng``: a ``np.random.Generator``, an int seed, or None for
    the global default generator (seeded by ``tinygrad_edu.manual_seed``)."""
    return _factory("rand", lambda: _draw(rng, "random", _shape(shape)).astype(dtype, copy=False), shape,
                    requires_grad)


def randn(*shape, rng=None, dtype=np.float64, requires_grad=False) -> Tensor:
    """Standard normal samples from ``rng``: a ``np.random.Generator``, an int seed, or None for
    the global default generator (seeded by ``tinygrad_edu.manual_seed``)."""
    return _factory("randn", lambda: _draw(rng, "standard_normal", _shape(shape)).astype(dtype, copy=False), shape,
                    requires_grad)


def _draw(rng, method, shape):
    from .nn._rng import draw  # here: nn imports this module

    return draw(rng, method, shape)


def _values(t):
    return t.data if isinstance(t, Tensor) else np.asarray(t)


def _shape(shape):
    return tuple(shape[0]) if len(shape) == 1 and isinstance(shape[0], (tuple, list)) else shape


# ---- bind ops as methods and operators -----------------------------------
from . import _protocol  # noqa: E402
from .ops import arith, elementwise, linalg, reduce, shape  # noqa: E402
from .ops._common import asarray as _asarray  # noqa: E402


def _reflect(fn):
    def reflected(self, other):
        return fn(other, self)

    reflected.__name__ = f"r{fn.__name__}"
    return reflected


def _compare(ufunc):
    def compare(self, other):
        # Comparisons give a plain bool Tensor: it has no gradient. ``_asarray``, not
        # np.asarray: inside a jit recording the result stays traced (a plain view of it
        # would be a constant to the recording, replayed stale).
        return Tensor._wrap(_asarray(ufunc(self.data, other.data if isinstance(other, Tensor) else other)))

    return compare


Tensor.__add__ = arith.add
Tensor.__radd__ = _reflect(arith.add)
Tensor.__sub__ = arith.sub
Tensor.__rsub__ = _reflect(arith.sub)
Tensor.__mul__ = arith.mul
Tensor.__rmul__ = _reflect(arith.mul)
Tensor.__truediv__ = arith.div
Tensor.__rtruediv__ = _reflect(arith.div)
Tensor.__pow__ = arith.pow
Tensor.__rpow__ = _reflect(arith.pow)
Tensor.__neg__ = arith.neg
Tensor.__pos__ = lambda self: self
Tensor.__matmul__ = linalg.matmul
Tensor.__rmatmul__ = _reflect(linalg.matmul)
Tensor.__abs__ = elementwise.abs
Tensor.__getitem__ = shape.getitem
Tensor.__lt__ = _compare(np.less)
Tensor.__le__ = _compare(np.less_equal)
Tensor.__gt__ = _compare(np.greater)
Tensor.__ge__ = _compare(np.greater_equal)
Tensor.__eq__ = _compare(np.equal)
Tensor.__ne__ = _compare(np.not_equal)

for _name in ("exp", "log", "log1p", "sqrt", "abs", "tanh", "sigmoid", "relu", "sin", "cos",
              "clip", "maximum", "minimum"):
    setattr(Tensor, _name, getattr(elementwise, _name))
for _name in ("sum", "mean", "max", "min", "var", "std", "logsumexp", "softmax", "log_softmax"):
    setattr(Tensor, _name, getattr(reduce, _name))
for _name in ("reshape", "transpose", "squeeze", "expand_dims", "unsqueeze", "broadcast_to",
              "flatten", "swapaxes", "astype"):
    setattr(Tensor, _name, getattr(shape, _name))
from . import inplace as _inplace  # noqa: E402


def _inplace_method(op, name):
    def method(self, other):
        return _inplace.inplace(self, op, name, other)

    method.__name__ = name
    method.__doc__ = (f"In place ``{name}``: overwrite this tensor with the result, keeping it in the "
                      "graph (see tinygrad_edu/inplace.py for the rules and version checks).")
    return method


def _setitem(self, idx, value):
    _inplace.inplace(self, shape.setitem, "setitem", idx, value)


Tensor.__iadd__ = Tensor.add_ = _inplace_method(arith.add, "add_")
Tensor.__isub__ = Tensor.sub_ = _inplace_method(arith.sub, "sub_")
Tensor.__imul__ = Tensor.mul_ = _inplace_method(arith.mul, "mul_")
Tensor.__itruediv__ = Tensor.div_ = _inplace_method(arith.div, "div_")
Tensor.copy_ = _inplace_method(lambda t, src: shape.setitem(t, Ellipsis, src), "copy_")
Tensor.fill_ = _inplace_method(lambda t, v: shape.setitem(t, Ellipsis, v), "fill_")
Tensor.zero_ = lambda self: Tensor.fill_(self, 0)
Tensor.__setitem__ = _setitem
Tensor.clone = shape.clone
Tensor.matmul = linalg.matmul
Tensor.dot = linalg.dot
Tensor.T = property(shape.transpose, doc="The tensor with its axes reversed (as ``ndarray.T``).")
Tensor.float = lambda self: shape.astype(self, np.float32)
Tensor.double = lambda self: shape.astype(self, np.float64)
Tensor.mT = property(lambda self: shape.swapaxes(self, -2, -1) if self.ndim >= 2 else _mT_error(self),
                     doc="The last two axes swapped (``ndarray.mT``, ``torch.Tensor.mT``); needs >= 2 dims.")
Tensor.amax = reduce.amax
Tensor.amin = reduce.amin


def _mT_error(t):
    raise ValueError(f"mT: needs a tensor of at least 2 dimensions, got shape {t.shape}")


# PyTorch-style constructors on the class: Tensor.zeros(2, 3) is tinygrad_edu.zeros(2, 3).
for _fn in (zeros, ones, full, arange, eye, rand, randn):
    setattr(Tensor, _fn.__name__, staticmethod(_fn))


def _bind_families():
    """Bind each op family's ``TENSOR_METHODS`` and numpy tables (see ``ops/__init__.py``)."""
    from .ops import families

    for mod in families():
        for name, fn in getattr(mod, "TENSOR_METHODS", {}).items():
            setattr(Tensor, name, fn)
    _protocol._install_families()


_bind_families()
from .ops.torch_names import _Size  # noqa: E402  (Tensor.size's type)


class _CallableModule(type(_protocol)):
    """This module's type: ``tinygrad_edu.tensor(data)`` is :func:`tensor`, as ``torch.tensor``.

    The package's ``tensor`` attribute is this submodule (Python binds it on
    import), so making the module callable gives ``torch.tensor``'s spelling
    while ``import tinygrad_edu.tensor`` and ``from tinygrad_edu.tensor import
    Tensor`` keep working.
    """

    def __call__(self, data, dtype=None, device=None, requires_grad=False):
        from .ops.torch_names import tensor

        return tensor(data, dtype=dtype, device=device, requires_grad=requires_grad)


import sys as _sys  # noqa: E402

_sys.modules[__name__].__class__ = _CallableModule
