"""numpy's dispatch protocols: ``np.exp(t)``, ``np.dot(X, t)``, ``arr * t`` record the graph.

numpy calls ``Tensor.__array_ufunc__`` for ufuncs (``np.exp``, ``np.add``,
the operators of an ndarray whose other operand is a Tensor) and
``Tensor.__array_function__`` for other functions (``np.sum``, ``np.dot``).
Both look the function up in a table of our ops; anything not in a table
raises TypeError naming it, rather than silently dropping the graph.
"""
from __future__ import annotations

import numpy as np

from .ops import arith, elementwise, linalg, reduce, shape
from .ops._common import asarray
from .tensor import Tensor


def _compare(ufunc):
    def compare(a, b):
        # asarray keeps a jit recording's traced result traced (see tensor._compare)
        return Tensor._wrap(asarray(ufunc(a.data if isinstance(a, Tensor) else a,
                                             b.data if isinstance(b, Tensor) else b)))
    return compare


UFUNCS = {
    np.add: arith.add,
    np.subtract: arith.sub,
    np.multiply: arith.mul,
    np.true_divide: arith.div,
    np.power: arith.pow,
    np.negative: arith.neg,
    np.positive: lambda x: x,
    np.matmul: linalg.matmul,
    np.exp: elementwise.exp,
    np.log: elementwise.log,
    np.log1p: elementwise.log1p,
    np.sqrt: elementwise.sqrt,
    np.sin: elementwise.sin,
    np.cos: elementwise.cos,
    np.abs: elementwise.abs,
    np.tanh: elementwise.tanh,
    np.maximum: elementwise.maximum,
    np.minimum: elementwise.minimum,
    np.less: _compare(np.less),
    np.less_equal: _compare(np.less_equal),
    np.greater: _compare(np.greater),
    np.greater_equal: _compare(np.greater_equal),
    np.equal: _compare(np.equal),
    np.not_equal: _compare(np.not_equal),
}


def _first_tensor(args):
    for a in args:
        if isinstance(a, Tensor):
            return a
    return None


def array_ufunc(ufunc, method, inputs, kwargs):
    fn = UFUNCS.get(ufunc)
    if fn is None or method != "__call__":
        what = f"np.{ufunc.__name__}" + ("" if method == "__call__" else f".{method}")
        raise TypeError(f"{what} is not supported on tinygrad_edu Tensors (no gradient rule); "
                        "use t.detach().numpy() (or t.data) for a plain array without gradient")
    if kwargs:
        raise TypeError(f"np.{ufunc.__name__}: keyword arguments {sorted(kwargs)} are not "
                        "supported on Tensors")
    # Binary ops accept a constant on either side, so ``ndarray * Tensor`` works.
    return fn(*inputs)


def _concat(arrays, axis=0, out=None, dtype=None, casting=None):
    if out is not None or dtype is not None:
        raise TypeError("np.concatenate: out= and dtype= are not supported on Tensors")
    if axis is None:  # numpy flattens every array first
        arrays = [shape.reshape(_tensor_arg(a), (-1,)) for a in arrays]
        axis = 0
    return shape.concatenate(arrays, axis)


def _stack(arrays, axis=0, out=None, dtype=None, casting=None):
    if out is not None or dtype is not None:
        raise TypeError("np.stack: out= and dtype= are not supported on Tensors")
    return shape.stack(arrays, axis)


def _tensor_arg(x):
    return x if isinstance(x, Tensor) else Tensor._wrap(asarray(x))


def _plain(x):
    """The values of ``x`` (comparisons give no gradient, so no graph is lost)."""
    return x.data if isinstance(x, Tensor) else x


_WITH_DDOF = ("var", "std")


def _reducer(fn):
    """``np.sum(t, ...)`` and friends: numpy's keywords that have a meaning here are passed on;
    any other (``initial=``, ``mean=``, a ``where=`` mask, ``out=``, ``dtype=``) raises, naming
    it, rather than being dropped (the result would silently differ from numpy's)."""
    def call(a, axis=None, dtype=None, out=None, keepdims=False, **kw):
        kw = {k: v for k, v in kw.items() if not (k == "where" and v is True)}
        extra = {}
        if fn.__name__ in _WITH_DDOF:
            for k in ("ddof", "correction"):
                if k in kw:
                    extra[k] = kw.pop(k)
        bad = sorted(kw) + [k for k, v in (("dtype", dtype), ("out", out)) if v is not None]
        if bad:
            raise TypeError(f"np.{fn.__name__}: keyword arguments {bad} are not supported on Tensors")
        return fn(_tensor_arg(a), axis=axis, keepdims=keepdims, **extra)
    return call


def _reshape(a, shape_=None, order="C", **kw):
    if order != "C":
        raise TypeError(f"np.reshape: order={order!r} is not supported on Tensors (C order only)")
    return shape.reshape(_tensor_arg(a), kw.pop("shape", kw.pop("newshape", shape_)))


def _clip(a, a_min=None, a_max=None, out=None, **kw):
    lo, hi = kw.pop("min", a_min), kw.pop("max", a_max)
    bad = sorted(k for k, v in kw.items() if not (k == "where" and v is True))
    if out is not None:
        bad.append("out")
    if bad:
        raise TypeError(f"np.clip: keyword arguments {bad} are not supported on Tensors")
    return elementwise.clip(_tensor_arg(a), lo, hi)


FUNCTIONS = {
    np.sum: _reducer(reduce.sum),
    np.mean: _reducer(reduce.mean),
    np.max: _reducer(reduce.max),
    np.amax: _reducer(reduce.max),
    np.min: _reducer(reduce.min),
    np.amin: _reducer(reduce.min),
    np.var: _reducer(reduce.var),
    np.std: _reducer(reduce.std),
    np.dot: linalg.dot,
    np.matmul: linalg.matmul,
    np.linalg.matmul: linalg.matmul,
    np.reshape: _reshape,
    np.transpose: lambda a, axes=None: shape.transpose(_tensor_arg(a), *(() if axes is None else (axes,))),
    np.swapaxes: lambda a, axis1, axis2: shape.swapaxes(_tensor_arg(a), axis1, axis2),
    np.squeeze: lambda a, axis=None: shape.squeeze(_tensor_arg(a), axis),
    np.expand_dims: lambda a, axis: shape.expand_dims(_tensor_arg(a), axis),
    np.broadcast_to: lambda array, shape_=None, subok=False, **kw: shape.broadcast_to(_tensor_arg(array), kw.get("shape", shape_)),
    np.concatenate: _concat,
    np.stack: _stack,
    np.where: lambda condition, x=None, y=None: _where(condition, x, y),
    np.clip: _clip,
    np.shape: lambda a: np.shape(a.data if isinstance(a, Tensor) else a),
    np.ndim: lambda a: np.ndim(a.data if isinstance(a, Tensor) else a),
    np.size: lambda a, axis=None: np.size(a.data if isinstance(a, Tensor) else a, axis),
    np.result_type: lambda *args: np.result_type(*(a.data if isinstance(a, Tensor) else a for a in args)),
    np.array_equal: lambda a1, a2, equal_nan=False: np.array_equal(_plain(a1), _plain(a2), equal_nan),
    np.allclose: lambda a, b, rtol=1e-05, atol=1e-08, equal_nan=False: np.allclose(
        _plain(a), _plain(b), rtol, atol, equal_nan),
}


def _install_families():
    """Merge the numpy tables of the op families (see ``ops/__init__.py``)."""
    from .ops import families

    for mod in families():
        UFUNCS.update(getattr(mod, "NUMPY_UFUNCS", {}))
        FUNCTIONS.update(getattr(mod, "NUMPY_FUNCTIONS", {}))


def _where(condition, x, y):
    if x is None or y is None:
        raise TypeError("np.where with one argument (indices) is not supported on Tensors; "
                        "use np.nonzero(t.data)")
    return elementwise.where(condition, x, y)


def array_function(func, args, kwargs):
    fn = FUNCTIONS.get(func)
    if fn is None:
        raise TypeError(f"np.{func.__name__} is not supported on tinygrad_edu Tensors (no gradient "
                        "rule); use t.detach().numpy() (or t.data) for a plain array without gradient")
    return fn(*args, **kwargs)
