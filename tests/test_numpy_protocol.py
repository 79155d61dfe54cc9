"""numpy functions and operators with a Tensor operand record the graph."""
import numpy as np
import pytest

import tinygrad_edu as tg
from tinygrad_edu import Tensor


def leaf(values):
    return Tensor(np.asarray(values, dtype=np.float64), requires_grad=True)


def test_array_or_number_on_the_left_gives_a_tensor_not_an_object_array():
    x = leaf([1.0, 2.0])
    arr = np.array([3.0, 4.0])
    for res in (arr + x, arr - x, arr * x, arr / x, arr ** x, 2.0 + x, 2 - x, 3 * x, 1 / x,
                2.0 ** x, np.float64(2.0) * x, arr @ x):
        assert isinstance(res, Tensor), type(res)
        assert res.dtype != object and res.requires_grad


def test_reflected_ops_have_the_right_gradients():
    x = leaf([1.0, 2.0])
    arr = np.array([3.0, 4.0])
    (arr - x).sum().backward()
    assert np.array_equal(x.grad.data, [-1.0, -1.0])
    x.grad = None
    (arr / x).sum().backward()
    assert np.array_equal(x.grad.data, -arr / x.data ** 2)
    x.grad = None
    (2.0 ** x).sum().backward()
    assert np.allclose(x.grad.data, 2.0 ** x.data * np.log(2.0))


def test_numpy_functions_dispatch_to_tensor_ops():
    x = leaf([[1.0, 2.0], [3.0, 4.0]])
    cases = {
        "exp": np.exp(x), "log": np.log(x), "sqrt": np.sqrt(x), "tanh": np.tanh(x),
        "abs": np.abs(x), "maximum": np.maximum(x, 2.5), "minimum": np.minimum(x, 2.5),
        "sum": np.sum(x, axis=0), "mean": np.mean(x), "max": np.max(x, axis=1),
        "dot": np.dot(np.ones((3, 2)), x), "matmul": np.matmul(x, x),
        "transpose": np.transpose(x), "reshape": np.reshape(x, (4,)),
        "concatenate": np.concatenate([x, x]), "stack": np.stack([x, x], axis=1),
        "where": np.where(x.data > 2, x, 0.0), "clip": np.clip(x, 1.5, 3.5),
        "var": np.var(x, axis=0), "square": np.square(x), "negative": np.negative(x),
        "expand_dims": np.expand_dims(x, 0), "squeeze": np.squeeze(np.expand_dims(x, 0)),
    }
    for name, res in cases.items():
        assert isinstance(res, Tensor) and res.requires_grad, name
    assert np.array_equal(cases["sum"].data, [4.0, 6.0])
    assert np.array_equal(cases["dot"].data, np.dot(np.ones((3, 2)), x.data))


def test_the_blogs_nonlin_and_dot_work_on_tensors():
    X = np.array([[0, 0, 1], [0, 1, 1], [1, 0, 1], [1, 1, 1]])
    w = leaf(np.full((3, 1), 0.5))
    out = 1 / (1 + np.exp(-np.dot(X, w)))
    out.sum().backward()
    s = 1 / (1 + np.exp(-X @ w.data))
    np.testing.assert_allclose(w.grad.data, X.T @ (s * (1 - s)), rtol=1e-14)


def test_numpy_keyword_arguments_out_are_refused():
    x = leaf([1.0])
    with pytest.raises(TypeError, match="keyword"):
        np.exp(x, out=np.empty(1))
    with pytest.raises(TypeError, match="np.where with one argument"):
        np.where(x)


def test_numpy_keywords_without_a_meaning_here_raise_instead_of_being_dropped():
    # np.sum(t, initial=...), np.std(t, mean=...), np.clip(t, out=/where=), np.reshape(order='F')
    # used to return a result that silently ignored the keyword (found by the integration probe).
    a = np.arange(12.0).reshape(3, 4)
    x = tg.Tensor(a, requires_grad=True)
    for call, name in ((lambda: np.sum(x, initial=100.0), "initial"),
                       (lambda: np.max(x, axis=0, initial=100.0), "initial"),
                       (lambda: np.std(x, axis=1, mean=np.zeros((3, 1))), "mean"),
                       (lambda: np.clip(x, 2, 5, out=np.zeros((3, 4))), "out"),
                       (lambda: np.clip(x, 2, 5, where=a > 6), "where"),
                       (lambda: np.reshape(x, (4, 3), order="F"), "order")):
        with pytest.raises(TypeError, match=name):
            call()
    # the keywords that mean something are honoured
    assert np.array_equal(np.var(x, correction=1).data, np.var(a, ddof=1))
    assert np.array_equal(np.concatenate([x, x], axis=None).data, np.concatenate([a, a], axis=None))
    assert np.array_equal(np.linalg.matmul(x, x.T).data, a @ a.T)
