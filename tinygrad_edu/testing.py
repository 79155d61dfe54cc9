"""Hypothesis strategies and a gradient assertion for your own property tests.

Needs hypothesis (``pip install hypothesis``, or the ``testing`` extra), which
the core package never imports. Typical use::

    from hypothesis import given
    import tinygrad_edu as tg
    from tinygrad_edu.testing import tensors, assert_grad_close

    @given(tensors(shape=(3, 4), requires_grad=True))
    def test_my_op(x):
        assert_grad_close(my_op, x)

All strategies build on ``hypothesis.extra.numpy``
(https://hypothesis.readthedocs.io/en/latest/reference/strategies.html#numpy).
"""
from __future__ import annotations

import math

import numpy as np

try:
    from hypothesis import strategies as st
    from hypothesis.extra import numpy as hnp
except ImportError as err:  # pragma: no cover - exercised only without the extra
    raise ImportError(
        "tinygrad_edu.testing needs hypothesis: pip install hypothesis "
        '(or, from a checkout of tinygrad_edu, python3 -m pip install ".[testing]")'
    ) from err

from .gradcheck import GradcheckError, gradcheck, gradgradcheck
from .tensor import Tensor

__all__ = ["arrays", "tensors", "shapes", "broadcastable_shapes", "matmul_shapes",
           "index_expressions", "assert_grad_close"]


# ---- values ------------------------------------------------------------------------
def shapes(*, min_dims=0, max_dims=3, min_side=1, max_side=4):
    """Array shapes (tuples of ints); ``min_side=0`` allows size-0 dims.

    ``hypothesis.extra.numpy.array_shapes`` with defaults suited to gradient
    checks (small, so finite differences stay cheap).
    """
    return hnp.array_shapes(min_dims=min_dims, max_dims=max_dims, min_side=min_side,
                            max_side=max_side)


def _inward(value, dtype, up):
    """``value`` rounded into ``dtype``, moved inwards if rounding pushed it outwards."""
    v = dtype.type(value)
    if up and float(v) < value:
        v = np.nextafter(v, dtype.type(np.inf))
    if not up and float(v) > value:
        v = np.nextafter(v, dtype.type(-np.inf))
    return float(v)


def _floats(dtype, lo, hi):
    width = dtype.itemsize * 8
    return st.floats(_inward(lo, dtype, True), _inward(hi, dtype, False), width=width,
                     allow_nan=False, allow_infinity=False, allow_subnormal=False)


def _elements(dtype, min_value, max_value, min_magnitude):
    """Floats in [min_value, max_value] with |x| >= min_magnitude."""
    if min_magnitude <= 0:
        return _floats(dtype, min_value, max_value)
    parts = []
    if max_value >= min_magnitude:
        parts.append(_floats(dtype, max(min_magnitude, min_value), max_value))
    if min_value <= -min_magnitude:
        parts.append(_floats(dtype, min_value, min(-min_magnitude, max_value)))
    if not parts:
        raise ValueError(f"no value in [{min_value}, {max_value}] has magnitude >= {min_magnitude}")
    return st.one_of(parts)


def _gapped(shape, dtype, min_value, max_value, min_magnitude, min_gap):
    """Arrays whose values are multiples of ``min_gap``, pairwise distinct."""
    lo, hi = math.ceil(min_value / min_gap), math.floor(max_value / min_gap)
    k_min = math.ceil(min_magnitude / min_gap) if min_magnitude > 0 else None
    slots = hi - lo + 1
    if k_min is not None:
        slots -= _count_small(lo, hi, k_min)
    ints = st.integers(lo, hi)
    if k_min is not None:
        ints = ints.filter(lambda k: abs(k) >= k_min)

    def fits(s):
        return math.prod(s) <= slots

    if isinstance(shape, tuple):
        if not fits(shape):
            raise ValueError(
                f"arrays: {math.prod(shape)} distinct values {min_gap} apart do not fit in "
                f"[{min_value}, {max_value}]; widen the range or lower min_gap")
        shape_st = st.just(shape)
    else:
        shape_st = shape.filter(fits)
    return shape_st.flatmap(
        lambda s: hnp.arrays(np.int64, s, elements=ints, unique=True)
    ).map(lambda k: (k * min_gap).astype(dtype))


def _count_small(lo, hi, k_min):
    """How many integers k in [lo, hi] have |k| < k_min."""
    return max(0, min(hi, k_min - 1) - max(lo, -(k_min - 1)) + 1)


def arrays(shape=None, dtype=np.float64, elements=None, *, min_value=-10.0, max_value=10.0,
           min_magnitude=0.0, min_gap=None, unique=False, min_dims=0, max_dims=3, min_side=1,
           max_side=4):
    """numpy arrays for property tests (``hypothesis.extra.numpy.arrays`` with handy defaults).

    Args:
        shape: a tuple, or a strategy of tuples; None draws one from
            :func:`shapes` with ``min_dims``..``max_dims`` and
            ``min_side``..``max_side`` (``min_side=0`` gives size-0 dims).
        dtype: a float dtype (default float64, as gradient checks need).
        elements: a strategy for the values; overrides the options below.
        min_value, max_value: the range of the values (finite, no NaN).
        min_magnitude: keep ``|x| >= min_magnitude`` (away from a kink or pole
            at 0: abs, relu, division, log of |x|).
        min_gap: make all values multiples of ``min_gap`` and pairwise
            distinct, so any two differ by at least ``min_gap`` (up to
            rounding in ``dtype``): no ties for max/min, maximum, clip, sorting.
            Incompatible with ``elements``.
        unique: all values distinct (hypothesis's ``unique``; distinct may
            still mean very close, prefer ``min_gap`` for ties).

    Raises:
        ValueError: ``min_gap`` together with ``elements``, or a fixed shape
            with more elements than distinct values fit in the range.
    """
    dtype = np.dtype(dtype)
    shape_st = shapes(min_dims=min_dims, max_dims=max_dims, min_side=min_side,
                      max_side=max_side) if shape is None else shape
    if isinstance(shape_st, list):
        shape_st = tuple(shape_st)
    if min_gap is not None:
        if elements is not None:
            raise ValueError("arrays: pass either elements or min_gap, not both")
        return _gapped(shape_st, dtype, min_value, max_value, min_magnitude, min_gap)
    if elements is None:
        elements = _elements(dtype, min_value, max_value, min_magnitude)
    return hnp.arrays(dtype, shape_st, elements=elements, unique=unique)


def tensors(shape=None, dtype=np.float64, elements=None, *, requires_grad=False, **options):
    """Tensors whose data is drawn by :func:`arrays` (same arguments).

    ``requires_grad=True`` makes leaves ready for :func:`assert_grad_close`
    or :func:`tinygrad_edu.gradcheck`. Each example is a fresh Tensor.
    """
    return arrays(shape, dtype, elements, **options).map(
        lambda a: Tensor(a, requires_grad=requires_grad))


# ---- shapes ------------------------------------------------------------------------
def broadcastable_shapes(num_shapes=2, *, min_dims=0, max_dims=3, min_side=1, max_side=3,
                         base_shape=()):
    """Tuples of ``num_shapes`` shapes that broadcast together (numpy's rules).

    Drawn by ``hypothesis.extra.numpy.mutually_broadcastable_shapes``: shapes
    differ in length (leading axes missing) and have size-1 dims where others
    have larger ones. ``min_side=0`` includes size-0 dims; ``base_shape`` is a
    shape the result must broadcast with. ``np.broadcast_shapes(*shapes)``
    gives the result's shape.
    """
    return hnp.mutually_broadcastable_shapes(
        num_shapes=num_shapes, base_shape=base_shape, min_dims=min_dims, max_dims=max_dims,
        min_side=min_side, max_side=max_side).map(lambda b: tuple(b.input_shapes))


def matmul_shapes(*, max_batch_dims=2, min_side=1, max_side=4):
    """Pairs ``(shape_a, shape_b)`` valid for ``np.matmul`` (and ``@``).

    Uses matmul's gufunc signature ``(n?,k),(k,m?)->(n?,m?)``: either operand
    may be 1-D (a vector), and up to ``max_batch_dims`` leading batch axes
    broadcast against each other (size-1 batch dims included). ``min_side=0``
    includes empty matrices and ``k = 0`` (a product of zeros).
    """
    return hnp.mutually_broadcastable_shapes(
        signature=np.matmul.signature, max_dims=max_batch_dims, min_side=min_side,
        max_side=max_side).map(lambda b: tuple(b.input_shapes))


# ---- indices -----------------------------------------------------------------------
@st.composite
def _bool_mask(draw, shape, allow_ellipsis):
    """A boolean mask over the first k axes (k >= 1), optionally followed by ``...`` or slices."""
    k = draw(st.integers(min(1, len(shape)), len(shape)))
    mask = draw(hnp.arrays(np.bool_, shape[:k]))
    rest = len(shape) - k
    if rest and allow_ellipsis and draw(st.booleans()):
        return (mask, Ellipsis)
    tail = tuple(draw(st.slices(n)) for n in shape[k:k + draw(st.integers(0, rest))])
    return (mask,) + tail if tail else mask


@st.composite
def _mixed(draw, shape):
    """Ints, slices, integer arrays (sharing one shape), a 1-D mask, None and ``...`` together."""
    ndim = len(shape)
    front = draw(st.integers(0, ndim))
    back = draw(st.integers(0, ndim - front))
    use_ellipsis = draw(st.booleans())
    if not use_ellipsis:
        back = 0
    axes = list(range(front)) + list(range(ndim - back, ndim))
    arr_shape = draw(hnp.array_shapes(min_dims=0, max_dims=2, min_side=1, max_side=3))
    mask_used = False
    parts = []
    for ax in axes:
        n = shape[ax]
        kinds = ["slice", "mask"] if n == 0 else ["int", "slice", "array", "list", "mask"]
        kind = draw(st.sampled_from(kinds))
        if kind == "mask" and mask_used:
            kind = "slice"
        if kind in ("array", "list") and mask_used:
            kind = "int"
        if kind == "int":
            parts.append(draw(st.integers(-n, n - 1)))
        elif kind == "slice":
            parts.append(draw(st.slices(n)))
        elif kind == "array":
            parts.append(draw(hnp.arrays(np.intp, arr_shape, elements=st.integers(-n, n - 1))))
        elif kind == "list":
            parts.append(draw(st.lists(st.integers(-n, n - 1), min_size=arr_shape[-1] if arr_shape
                                       else 1, max_size=arr_shape[-1] if arr_shape else 1)))
        else:
            # A 1-D mask only broadcasts with other advanced indices when no
            # integer arrays are present, so it is the only one then.
            if any(isinstance(p, (np.ndarray, list)) for p in parts):
                parts.append(draw(st.slices(n)))
            else:
                mask_used = True
                parts.append(draw(hnp.arrays(np.bool_, (n,))))
    # A list index must broadcast with arrays of arr_shape: (len,) against arr_shape works
    # because its length is arr_shape's last dim.
    if use_ellipsis:
        parts.insert(front, Ellipsis)
    for _ in range(draw(st.integers(0, 2))):
        parts.insert(draw(st.integers(0, len(parts))), None)
    return tuple(parts)


def index_expressions(shape, *, allow_newaxis=True, allow_ellipsis=True, allow_advanced=True):
    """Indices ``idx`` valid for an array of ``shape`` (``np.empty(shape)[idx]`` works).

    Covers numpy's basic indexing (ints, negative ints, slices with any step
    including negative ones, ``None``, ``...``; from
    ``hypothesis.extra.numpy.basic_indices``) and, with ``allow_advanced``,
    boolean masks over leading axes, tuples of integer arrays with repeated
    and negative indices (``integer_array_indices``), Python lists of ints,
    and mixtures of all of these.
    """
    shape = tuple(shape)
    options = [hnp.basic_indices(shape, min_dims=0, allow_newaxis=allow_newaxis,
                                 allow_ellipsis=allow_ellipsis)]
    if allow_advanced:
        options.append(_bool_mask(shape, allow_ellipsis))
        if shape and all(n > 0 for n in shape):
            options.append(hnp.integer_array_indices(
                shape, result_shape=hnp.array_shapes(min_dims=0, max_dims=2, min_side=1, max_side=3)))
        if shape:
            # ``x in idx`` would compare arrays elementwise: test identity instead.
            options.append(_mixed(shape).filter(
                lambda i: allow_newaxis or not any(p is None for p in i)).filter(
                lambda i: allow_ellipsis or not any(p is Ellipsis for p in i)))
    return st.one_of(options)


# ---- assertions --------------------------------------------------------------------
def assert_grad_close(fn, inputs, *, eps=1e-6, atol=1e-5, rtol=1e-3, fast_mode=False,
                      check_gradgrad=False, seed=None):
    """Assert that ``fn``'s gradients match finite differences (for pytest).

    Runs :func:`tinygrad_edu.gradcheck` (and :func:`tinygrad_edu.gradgradcheck`
    with ``check_gradgrad=True``) with the same arguments; a mismatch raises
    AssertionError carrying the checker's report (which input and output,
    the worst element, analytical vs numerical).
    """
    __tracebackhide__ = True  # pytest: show the caller's line, not this one
    try:
        gradcheck(fn, inputs, eps=eps, atol=atol, rtol=rtol, fast_mode=fast_mode, seed=seed)
        if check_gradgrad:
            gradgradcheck(fn, inputs, eps=eps, atol=atol, rtol=rtol, fast_mode=fast_mode, seed=seed)
    except GradcheckError as err:
        raise AssertionError(str(err)) from None
