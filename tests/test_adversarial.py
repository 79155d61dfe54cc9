"""Regression tests for faults found by trying to break the library as a demanding user would.

Each test names the fault it guards against: a silently wrong value,
gradient, dtype or state, or an unclear crash. Expected values come from
independent numpy formulas (PyTorch's documented definitions), never from
the code under test.
"""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import tinygrad_edu as tg
from tinygrad_edu import Function, Tensor

from op_cases import CASES


# ---- an op's result never is its input's own array ----------------------------
@pytest.mark.parametrize("name", sorted(CASES))
@settings(max_examples=10, deadline=None)
@given(data=st.data())
def test_op_result_is_not_an_input_array(name, data):
    # In-place ops detect "a view of another tensor" by ``data.base``; a
    # result that *is* the input's array (squeeze with nothing to squeeze
    # did this) let ``y += 1`` silently overwrite a leaf that requires grad.
    fn, inputs = data.draw(CASES[name].strategy(np.float64))
    outs = fn(*inputs)
    for o in outs if isinstance(outs, tuple) else (outs,):
        for x in inputs:
            assert o is x or o.data is not x.data, f"{name}: the result's array is an input's array"


def test_inplace_on_squeeze_of_leaf_raises_and_leaves_it():
    x = Tensor([1.0, 2.0], requires_grad=True)
    y = x.squeeze()  # no size-1 axis: nothing to squeeze
    with pytest.raises(RuntimeError, match="view"):
        y += 1
    assert np.array_equal(x.data, [1.0, 2.0])


def test_inplace_on_function_output_that_is_its_input():
    class Ident(Function):
        @staticmethod
        def forward(ctx, x):
            return x

        @staticmethod
        def backward(ctx, g):
            return g

    x = Tensor([1.0, 2.0], requires_grad=True)
    y = Ident.apply(x)
    with pytest.raises(RuntimeError, match="view"):
        y += 1
    assert np.array_equal(x.data, [1.0, 2.0])
    (Ident.apply(x) * 3).sum().backward()
    assert np.array_equal(x.grad.data, [3.0, 3.0])
