"""tinygrad_edu.testing: the strategies generate what they claim; assert_grad_close reports."""
from __future__ import annotations

import math
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import find, given, settings, strategies as st
from hypothesis.errors import NoSuchExample

import tinygrad_edu as tg
from tinygrad_edu.testing import (arrays, assert_grad_close, broadcastable_shapes,
                                  index_expressions, matmul_shapes, shapes, tensors)

SEARCH = settings(max_examples=3000, database=None, deadline=None)


def can_generate(strategy, condition):
    """True if hypothesis finds an example satisfying ``condition`` (else find raises)."""
    find(strategy, condition, settings=SEARCH)
    return True


# ---- tensors / arrays ---------------------------------------------------------------
@settings(max_examples=50, deadline=None)
@given(st.data(), st.sampled_from([np.float32, np.float64]), st.booleans())
def test_tensors_respect_shape_dtype_range_and_requires_grad(data, dtype, rg):
    shape = data.draw(shapes(min_side=0))
    t = data.draw(tensors(shape, dtype, requires_grad=rg, min_value=-3.0, max_value=0.5))
    assert isinstance(t, tg.Tensor) and t.shape == shape and t.dtype == dtype
    assert t.requires_grad is rg and t.is_leaf
    assert np.all((t.data >= -3.0) & (t.data <= 0.5)) and np.all(np.isfinite(t.data))


@settings(max_examples=50, deadline=None)
@given(tensors(shape=shapes(min_dims=1, max_dims=2, min_side=2), min_magnitude=0.25))
def test_tensors_min_magnitude_and_shape_strategy(t):
    assert t.ndim in (1, 2) and min(t.shape) >= 2
    assert np.all(np.abs(t.data) >= 0.25)


@settings(max_examples=50, deadline=None)
@given(st.sampled_from([np.float32, np.float64]), st.data())
def test_min_gap_values_are_pairwise_apart(dtype, data):
    t = data.draw(tensors(dtype=dtype, min_gap=0.05, min_magnitude=0.1, min_side=0,
                          min_value=-2.0, max_value=2.0))
    flat = np.sort(t.data.ravel().astype(np.float64))
    assert np.all(np.abs(flat) >= 0.1 * (1 - 1e-6))
    if flat.size > 1:
        assert np.diff(flat).min() >= 0.05 * (1 - 1e-5)  # up to float32 rounding


def test_arrays_and_option_errors():
    a = find(arrays((2, 3), elements=st.just(1.5)), lambda a: True)
    assert isinstance(a, np.ndarray) and np.array_equal(a, np.full((2, 3), 1.5))
    assert can_generate(arrays((4,), unique=True), lambda a: len(set(a.tolist())) == 4)
    with pytest.raises(ValueError, match="either elements or min_gap"):
        arrays((2,), elements=st.just(1.0), min_gap=0.1)
    with pytest.raises(ValueError, match="100 distinct values 0.5 apart do not fit"):
        arrays((10, 10), min_gap=0.5, min_value=-1.0, max_value=1.0)


# ---- shapes --------------------------------------------------------------------------
@settings(max_examples=200, deadline=None)
@given(st.integers(1, 4).flatmap(lambda n: st.tuples(st.just(n), broadcastable_shapes(n, min_side=0))))
def test_broadcastable_shapes_broadcast(n_and_shapes):
    n, shapes_ = n_and_shapes
    assert len(shapes_) == n
    np.broadcast_shapes(*shapes_)  # raises if they do not broadcast
    arrays_ = [np.zeros(s) for s in shapes_]
    np.broadcast_arrays(*arrays_)


def test_broadcastable_shapes_include_the_interesting_cases():
    two = broadcastable_shapes(2, min_side=0)
    assert can_generate(two, lambda s: 0 in s[0] + s[1])  # size-0 dims when asked
    assert can_generate(broadcastable_shapes(2), lambda s: len(s[0]) != len(s[1]))
    # a size-1 dim stretched against a larger one
    assert can_generate(broadcastable_shapes(2), lambda s: any(
        x == 1 and y > 1 for x, y in zip(s[0][::-1], s[1][::-1])))
    # ... and no size-0 dims unless asked
    with pytest.raises(NoSuchExample):
        find(broadcastable_shapes(2), lambda s: 0 in s[0] + s[1],
             settings=settings(max_examples=300, database=None))


@settings(max_examples=200, deadline=None)
@given(matmul_shapes(min_side=0))
def test_matmul_shapes_are_valid_for_np_matmul(pair):
    a, b = pair
    out = np.matmul(np.zeros(a), np.zeros(b))
    assert out.shape == np.matmul(np.ones(a), np.ones(b)).shape


def test_matmul_shapes_include_vectors_and_broadcast_batches():
    ms = matmul_shapes()
    assert can_generate(ms, lambda p: len(p[0]) == 1 and len(p[1]) == 1)
    assert can_generate(ms, lambda p: len(p[0]) == 1 and len(p[1]) >= 3)
    assert can_generate(ms, lambda p: len(p[0]) >= 3 and len(p[1]) == 1)
    assert can_generate(ms, lambda p: len(p[0]) == 2 and len(p[1]) == 2)
    # batch dims that broadcast: different batch ranks, or a 1 against a larger size
    assert can_generate(ms, lambda p: len(p[0]) >= 3 and len(p[1]) >= 3 and len(p[0]) != len(p[1]))
    assert can_generate(ms, lambda p: len(p[0]) >= 3 and len(p[1]) >= 3 and any(
        x == 1 and y > 1 for x, y in zip(p[0][-3::-1], p[1][-3::-1])))
    assert can_generate(matmul_shapes(min_side=0), lambda p: p[0][-1] == 0)  # k = 0


# ---- indices -------------------------------------------------------------------------
@settings(max_examples=400, deadline=None)
@given(st.data())
def test_index_expressions_are_valid_for_their_shape(data):
    shape = data.draw(shapes(min_side=0, max_dims=4))
    idx = data.draw(index_expressions(shape))
    x = np.arange(math.prod(shape), dtype=float).reshape(shape)
    x[idx]  # raises IndexError if invalid
    t = tg.Tensor(x, requires_grad=True)
    assert np.array_equal(t[idx].data, x[idx])


def _parts(idx):
    return idx if isinstance(idx, tuple) else (idx,)


def test_index_expressions_cover_every_kind():
    ix = index_expressions((4, 3, 2))
    kinds = {
        "int": lambda i: any(isinstance(p, int) and not isinstance(p, bool) for p in _parts(i)),
        "negative int": lambda i: any(isinstance(p, int) and p < 0 for p in _parts(i)),
        "slice with step": lambda i: any(isinstance(p, slice) and p.step not in (None, 1)
                                         for p in _parts(i)),
        "negative step": lambda i: any(isinstance(p, slice) and (p.step or 1) < 0 for p in _parts(i)),
        "None": lambda i: any(p is None for p in _parts(i)),
        "Ellipsis": lambda i: any(p is Ellipsis for p in _parts(i)),
        "boolean mask": lambda i: any(isinstance(p, np.ndarray) and p.dtype == bool
                                      for p in _parts(i)),
        "2-D boolean mask": lambda i: any(isinstance(p, np.ndarray) and p.dtype == bool and p.ndim == 2
                                          for p in _parts(i)),
        "int array with repeats": lambda i: any(
            isinstance(p, np.ndarray) and p.dtype.kind == "i" and p.size > len(np.unique(p))
            for p in _parts(i)),
        "list": lambda i: any(isinstance(p, list) for p in _parts(i)),
        "array mixed with slice": lambda i: any(isinstance(p, np.ndarray) for p in _parts(i))
        and any(isinstance(p, slice) for p in _parts(i)),
    }
    for name, cond in kinds.items():
        assert can_generate(ix, cond), name
    # empty axes still get valid indices
    assert can_generate(index_expressions((0, 3)), lambda i: True)
    assert can_generate(index_expressions(()), lambda i: isinstance(i, np.ndarray)
                        and i.dtype == bool and i.ndim == 0)  # a 0-d mask


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_index_expressions_can_be_restricted(data):
    shape = data.draw(shapes(min_side=0, max_dims=3))
    idx = data.draw(index_expressions(shape, allow_newaxis=False, allow_ellipsis=False))
    assert not any(p is None or p is Ellipsis for p in _parts(idx)), idx
    np.empty(shape)[idx]
    basic = data.draw(index_expressions(shape, allow_advanced=False))
    assert not any(isinstance(p, (np.ndarray, list)) for p in _parts(basic)), basic


# ---- assert_grad_close ---------------------------------------------------------------
@settings(max_examples=10, deadline=None)
@given(tensors(shape=(2, 3), requires_grad=True))
def test_assert_grad_close_passes_on_correct_gradients(x):
    assert_grad_close(lambda a: (a.exp() * a).sum(axis=0), x, check_gradgrad=True)
    assert_grad_close(lambda a: a.softmax(), x, fast_mode=True)


def test_assert_grad_close_raises_assertion_error_with_the_report():
    from test_gradcheck import rng_tensor, square_flat_backward, square_off

    x = rng_tensor(2, 3, seed=4)
    with pytest.raises(AssertionError, match="(?s)gradcheck failed.*worst element.*analytical"):
        assert_grad_close(square_off, x, rtol=1e-5)
    assert_grad_close(square_flat_backward, x)
    with pytest.raises(AssertionError, match="gradgradcheck failed"):
        assert_grad_close(square_flat_backward, x, check_gradgrad=True)


def test_core_package_imports_without_hypothesis():
    code = (
        "import sys; sys.modules['hypothesis'] = None\n"
        "import tinygrad_edu as tg\n"
        "assert tg.gradcheck(lambda a: a * a, tg.Tensor([1.0, 2.0], requires_grad=True))\n"
        "try:\n"
        "    import tinygrad_edu.testing\n"
        "except ImportError as err:\n"
        "    assert 'pip install hypothesis' in str(err), err\n"
        "else:\n"
        "    raise SystemExit('testing imported without hypothesis')\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=str(__import__("pathlib").Path(
        __file__).resolve().parents[1]))
