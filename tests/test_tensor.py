"""Tensor construction, attributes, dtype rules (NEP 50) and repr."""
import copy
import pickle

import numpy as np
import pytest

import tinygrad_edu as tg
from tinygrad_edu import Tensor


def test_construction_copies_and_keeps_numpy_dtypes():
    arr = np.array([1.0, 2.0])
    t = Tensor(arr)
    arr[0] = 99.0
    assert t.data[0] == 1.0  # copied, as torch.tensor
    assert Tensor([1, 2]).dtype == np.int64
    assert Tensor([1.0, 2.0]).dtype == np.float64
    assert Tensor(3.0).shape == ()
    assert Tensor([True]).dtype == np.bool_
    assert Tensor([1, 2], dtype=np.float32).dtype == np.float32


def test_from_numpy_shares_memory():
    arr = np.zeros(3)
    t = tg.from_numpy(arr)
    arr[1] = 5.0
    assert t.data[1] == 5.0


@pytest.mark.parametrize("data", [[1, 2], [True, False], np.arange(3, dtype=np.int32)])
def test_requires_grad_on_integer_or_bool_raises_type_error(data):
    with pytest.raises(TypeError, match="floating-point"):
        Tensor(data, requires_grad=True)


def test_object_data_is_refused():
    with pytest.raises(TypeError, match="object"):
        Tensor([1, "a", None])


def test_attributes():
    t = Tensor(np.arange(6.0).reshape(2, 3), requires_grad=True)
    assert t.shape == (2, 3) and t.ndim == 2 and t.size == 6 and t.dtype == np.float64
    assert t.is_leaf and t.grad is None and t.requires_grad
    assert np.array_equal(t.T.data, t.data.T)
    assert t.numpy() is t.data
    assert Tensor([[4.5]]).item() == 4.5
    with pytest.raises(ValueError, match="one-element"):
        t.item()
    y = t * 2
    assert not y.is_leaf and y.grad_fn.name == "mul"
    d = y.detach()
    assert d.is_leaf and not d.requires_grad and np.shares_memory(d.data, y.data)


def test_nep50_promotion():
    f32 = Tensor(np.ones(3, dtype=np.float32), requires_grad=True)
    assert (f32 * 2.0).dtype == np.float32          # Python float is weak
    assert (f32 + 1).dtype == np.float32
    assert (f32 * np.ones(3)).dtype == np.float64    # float64 array is not
    assert (Tensor([1, 2]) * 2).dtype == np.int64    # integers stay integers
    assert (Tensor([1, 2]) / 2).dtype == np.float64  # until an op promotes them
    assert (2.0 - f32).dtype == np.float32


def test_gradient_has_the_dtype_of_its_tensor():
    w = Tensor(np.ones(3, dtype=np.float32), requires_grad=True)
    x = np.arange(3.0)  # float64
    out = (w * x).sum()
    assert out.dtype == np.float64
    out.backward()
    assert w.grad.dtype == np.float32
    assert np.array_equal(w.grad.data, x.astype(np.float32))


def test_repr_is_readable():
    assert repr(Tensor([1.0, 2.0])) == "Tensor([1., 2.])"
    assert repr(Tensor([1.0], requires_grad=True)) == "Tensor([1.], requires_grad=True)"
    assert "grad_fn=<mul>" in repr(Tensor([1.0], requires_grad=True) * 2)
    assert "dtype=float32" in repr(Tensor([1.0], dtype=np.float32))


def test_factories():
    assert tg.zeros(2, 3).shape == (2, 3) and tg.ones((2,)).data.sum() == 2
    assert tg.zeros(2, requires_grad=True).requires_grad
    a = tg.randn(3, rng=np.random.default_rng(0))
    b = tg.randn(3, rng=np.random.default_rng(0))
    assert np.array_equal(a.data, b.data)
    assert tg.arange(4).dtype == np.int64
    assert np.array_equal(tg.eye(2).data, np.eye(2))


def test_python_protocols():
    t = Tensor([[1.0, 2.0], [3.0, 4.0]])
    assert len(t) == 2
    rows = list(t)
    assert all(isinstance(r, Tensor) for r in rows) and np.array_equal(rows[1].data, [3.0, 4.0])
    assert float(Tensor([2.5])) == 2.5 and int(Tensor(3)) == 3
    assert bool(Tensor(1.0)) and not bool(Tensor(0.0))
    assert np.array_equal(np.asarray(t), t.data)


def test_comparisons_return_bool_tensors_without_grad():
    x = Tensor([1.0, 2.0, 3.0], requires_grad=True)
    for res in (x > 2, x >= 2, x < 2, x <= 2, x == 2, x != 2, np.greater(x, 1.5)):
        assert isinstance(res, Tensor) and res.dtype == np.bool_ and not res.requires_grad
    assert np.array_equal((x > 1.5).data, [False, True, True])
    # a Tensor is hashable by identity even though == is elementwise
    assert len({x, x}) == 1


def test_deepcopy_and_pickle_give_independent_leaves():
    x = Tensor([1.0, 2.0], requires_grad=True)
    (x * x).sum().backward()
    for clone in (copy.deepcopy(x), pickle.loads(pickle.dumps(x))):
        assert clone is not x and np.array_equal(clone.data, x.data)
        assert clone.requires_grad and np.array_equal(clone.grad.data, x.grad.data)
        clone.data[0] = -1
        assert x.data[0] == 1.0
    y = x * 3
    y2 = copy.deepcopy(y)
    assert y2.is_leaf and np.array_equal(y2.data, y.data)
