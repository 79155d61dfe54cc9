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


# ---- Module attribute registration ------------------------------------------------
def test_assigning_a_plain_tensor_to_a_parameter_name_raises():
    # It used to turn the parameter into a plain attribute: gone from
    # parameters() (so never trained) and from state_dict, silently.
    lin = tg.nn.Linear(2, 3, rng=0)
    w = lin.weight
    with pytest.raises(TypeError, match="parameter 'weight'"):
        lin.weight = Tensor(np.ones((2, 3)))
    assert lin.weight is w and [n for n, _ in lin.named_parameters()] == ["weight", "bias"]


def test_assigning_a_non_tensor_to_a_buffer_or_submodule_name_raises():
    bn = tg.nn.BatchNorm1d(2)
    with pytest.raises(TypeError, match="buffer 'num_batches_tracked'"):
        bn.num_batches_tracked = 0
    assert "num_batches_tracked" in bn.state_dict()
    seq = tg.nn.Sequential(tg.nn.ReLU())
    with pytest.raises(TypeError, match="submodule '0'"):
        setattr(seq, "0", lambda x: x)
    assert len(seq) == 1


def test_none_keeps_a_name_registered_and_reassignment_keeps_its_place():
    lin = tg.nn.Linear(2, 3, rng=0)
    lin.weight = None
    assert lin.weight is None and list(lin.state_dict()) == ["bias"]
    lin.weight = tg.nn.Parameter(np.zeros((2, 3)))
    # PyTorch's order: a re-assigned parameter stays where it was registered,
    # so state_dict and optimizer order do not depend on assignment history.
    assert list(lin.state_dict()) == ["weight", "bias"]
    bn = tg.nn.BatchNorm1d(2)
    bn.running_mean = np.full(2, 3.0)  # an array is accepted for a buffer and copied
    assert list(bn.state_dict())[2] == "running_mean"
    assert np.array_equal(bn.state_dict()["running_mean"], [3.0, 3.0])
