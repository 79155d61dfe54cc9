"""Minimal examples of faults found by the graph fuzzer (tests/test_fuzz_graph.py)
and by the bad-input catalogue, kept so that they stay fixed.

Each test names the fault; the fix is described in its docstring.
"""
import pathlib
import warnings

import numpy as np
import pytest

import tinygrad_edu as tg
from tinygrad_edu import Tensor


def leaf(values):
    return Tensor(np.asarray(values, dtype=np.float64), requires_grad=True)


@pytest.mark.parametrize("op", ["softmax", "log_softmax", "logsumexp"])
def test_softmax_family_over_an_empty_axis(op):
    """Fault: numpy's raw "zero-size array to reduction operation maximum" from the
    max-shift. Fix: an empty slice shifts by 0; softmax of an empty axis is empty,
    logsumexp over it is -inf (PyTorch's results)."""
    x = leaf(np.zeros((0, 2)))
    with warnings.catch_warnings():
        warnings.simplefilter("error")      # no spurious log(0) warning for empty results
        y = getattr(tg, op)(x, axis=0)
    if op == "logsumexp":
        assert np.array_equal(y.data, [-np.inf, -np.inf])
    else:
        assert y.shape == (0, 2)
        y.sum().backward()
        assert x.grad.shape == (0, 2)


def test_setitem_value_with_extra_leading_unit_axes():
    """Fault: numpy's assignment accepts a value with extra leading size-1 axes
    (``c.copy_(x)`` with c of shape () and x of shape (1,); ``h[0:1] = v`` with v
    of shape (1, 1)), and the engine's unbroadcast raised IndexError summing the
    gradient back. Fix: unbroadcast restores leading size-1 axes."""
    x = leaf([2.0])
    c = Tensor(np.array(0.0))
    c.copy_(x)
    (c * 3).backward()
    assert np.array_equal(x.grad.data, [3.0])
    v = leaf([[5.0]])
    h = leaf([1.0, 2.0]) * 1
    h[0:1] = v
    (h * 2).sum().backward()
    assert v.grad.shape == (1, 1) and np.array_equal(v.grad.data, [[2.0]])
    w = leaf([[5.0]])
    h = leaf([1.0, 2.0]) * 1
    h[0:1] = w
    (g,) = tg.grad((h * h).sum(), w, create_graph=True)   # the same through Tensors
    assert g.shape == (1, 1) and np.array_equal(g.data, [[10.0]])


def test_plain_backward_after_a_create_graph_backward_on_a_0d_leaf():
    """Fault: after backward(create_graph=True) a 0-d leaf's .grad is a graph
    tensor; the next plain backward replaced it by ``.grad.data + g``, a numpy
    scalar for 0-d arrays, and the backward after that crashed adding into it
    (TypeError: return arrays must be of ArrayType). Fix: the sum is wrapped
    as an array; comparisons and isfinite/isnan/sign of 0-d tensors too, so a
    Tensor's .data is always an ndarray."""
    x = leaf(0.5)
    (x * x).backward(create_graph=True)
    for _ in range(2):
        (x * x).backward()
        assert type(x.grad.data) is np.ndarray
    assert np.array_equal(x.grad.data, 3.0)
    t = Tensor(1.0)
    for r in (t > 0, t == 1, np.isfinite(t), np.isnan(t), np.sign(t), np.greater(t, 0)):
        assert type(r.data) is np.ndarray


def test_create_graph_gradients_are_not_shared_between_leaves():
    """Fault: backward(create_graph=True) stored the same gradient Tensor in the
    .grad of both operands of ``x + y`` (or a read-only broadcast of it); a later
    plain backward added into it in place, changing y.grad too (silently) or
    crashing on read-only memory. Fix: a constant create_graph gradient is
    stored as the leaf's own array; plain accumulation never writes into a
    read-only .grad."""
    x, y = leaf([1.0, 2.0]), leaf([3.0, 4.0])
    (x + y).backward(Tensor([1.0, 1.0]), create_graph=True)
    assert x.grad is not y.grad
    (x * 1).sum().backward()
    assert np.array_equal(x.grad.data, [2.0, 2.0]) and np.array_equal(y.grad.data, [1.0, 1.0])
    s = leaf(0.5)
    (s.sum() * 2).backward(create_graph=True)     # sum's gradient is a read-only broadcast
    (s.sum() * 2).backward()
    assert np.array_equal(s.grad.data, 4.0)
    u = leaf([1.0, 2.0])
    u.grad = tg.broadcast_to(Tensor(1.0), (2,))   # a read-only .grad set by the user
    (u * 3).sum().backward()
    assert np.array_equal(u.grad.data, [4.0, 4.0])


def test_snapshot_of_a_value_written_untracked_after_its_op():
    """Fault (silent): ``h = x.exp(); with no_grad(): h += x; h += x`` gave
    d/dx = exp(x) + x + 1: the recorded write's snapshot held the value after
    the untracked write, and exp's backward (which reads its output) used it.
    Fix: the snapshot carries the buffer's last-write time, so exp's output
    check refuses (as PyTorch does); an op that does not read its output
    (mul) still back-propagates correctly."""
    x = leaf(0.3)
    h = x.exp()
    with tg.no_grad():
        h += x
    h += x
    with pytest.raises(RuntimeError, match="its output .* of 'exp'"):
        h.backward()
    x = leaf(0.3)
    h = x * 2
    with tg.no_grad():
        h += x
    h += x
    h.backward()
    assert np.array_equal(x.grad.data, 3.0)


# ---- no silent wrong answers at the edges ---------------------------------------------
_IMPLICIT = {
    "np.array(list)": lambda x, y, c: np.array([x, y]),
    "np.array": lambda x, y, c: np.array(x),
    "np.asarray": lambda x, y, c: np.asarray(x),
    "np.r_": lambda x, y, c: np.r_[x, c],
    "np.c_": lambda x, y, c: np.c_[x, c],
    "np.mean(list)": lambda x, y, c: np.mean([x, x + 2]),
    "np.max(np.array)": lambda x, y, c: np.max(np.array([x, x])),
    "ndarray setitem": lambda x, y, c: c.__setitem__(slice(None), y),
    "Tensor(list)": lambda x, y, c: Tensor([x, y]),
}


@pytest.mark.parametrize("route", sorted(_IMPLICIT))
def test_implicit_numpy_conversion_of_a_grad_tensor_raises(route):
    """Fault (silent): numpy converted a Tensor that requires grad to an array through
    ``__array__``, dropping the graph (np.array([x, y]), np.mean([x, x + 2]), np.r_...).
    Fix: as PyTorch, ``__array__`` refuses while grad mode is on, naming the fixes."""
    x, c = leaf([1.0, 2.0]), np.array([5.0, 6.0])
    with pytest.raises(RuntimeError, match=r"tinygrad_edu\.stack.*detach\(\)\.numpy\(\)"):
        _IMPLICIT[route](x, x * 2, c)


def test_explicit_exits_from_the_graph_still_work():
    """The explicit ways out stay: .numpy(), .data, .detach(), .tolist(), .item(), float(),
    no_grad, and tensors that need no gradient; np.stack keeps the graph."""
    x = leaf([1.0, 2.0])
    assert x.numpy() is x.data and np.asarray(x.detach()) is x.data
    assert x.tolist() == [1.0, 2.0] and x[0].item() == 1.0 and float(x[1]) == 2.0
    assert np.array_equal(np.array([Tensor([1.0]), Tensor([2.0])]), [[1.0], [2.0]])
    with tg.no_grad():
        assert np.array_equal(np.asarray(x), [1.0, 2.0])
    s = np.stack([x, x * 2])
    s.sum().backward()
    assert np.array_equal(x.grad.data, [3.0, 3.0])
    assert np.array_equal(tg.zeros_like(x).data, [0.0, 0.0])   # library code reads .data


@pytest.mark.parametrize("make", [
    lambda: Tensor([1j], requires_grad=True),
    lambda: Tensor(np.ones(2, np.complex64)).requires_grad_(),
    lambda: tg.nn.Parameter(np.ones(2, np.complex128)),
])
def test_complex_tensors_cannot_require_grad(make):
    """Fault: complex leaves could require grad, with no defined gradient convention
    (PyTorch's is conjugate Wirtinger; ours was undefined). Fix: refused."""
    with pytest.raises(TypeError, match="complex autograd is not supported"):
        make()


def test_complex_inputs_to_functional_and_function_raise():
    """The other routes to a complex graph: functional transforms of a complex input, and a
    custom Function returning a complex output of an input that requires grad."""
    with pytest.raises(TypeError, match="complex autograd is not supported"):
        tg.functional.jacobian(lambda x: x * 2, Tensor([1j]))

    class Rotate(tg.Function):
        @staticmethod
        def forward(ctx, x):
            return Tensor(x.data * 1j)

        @staticmethod
        def backward(ctx, g):
            return g

    with pytest.raises(TypeError, match="the result would be complex"):
        Rotate.apply(leaf([1.0]))


@pytest.mark.parametrize("op, fn", [
    ("mul", lambda x: x * 1j),
    ("astype", lambda x: x.astype(np.complex128)),
    ("add", lambda x: np.exp(x + 0j)),
])
def test_a_complex_result_of_a_grad_tensor_raises_naming_the_op(op, fn):
    """Fault: a real tensor that requires grad turned complex (x * 1j) recorded a graph whose
    gradients followed no convention. Fix: record() refuses a complex result that would get a
    node; complex computation without grad keeps working."""
    with pytest.raises(TypeError, match=rf"^{op}: the result would be complex"):
        fn(leaf([0.5, 2.0]))
    z = fn(Tensor([0.5, 2.0]))
    assert z.dtype.kind == "c" and not z.requires_grad
    assert np.allclose(np.exp(Tensor([1j * np.pi])).data, [-1.0])


_EDGES = np.load(pathlib.Path(__file__).parent / "reference" / "edges.npz")


@pytest.mark.parametrize("key", sorted({k.rsplit("/", 1)[0] for k in _EDGES.files}))
def test_degenerate_var_and_std_follow_pytorch(key):
    """Fault: var/std with n - ddof == 0 raised Python's ZeroDivisionError in backward
    (``2 / dof``), and std at zero spread had gradient nan (sqrt's inf slope times 0).
    Fix: 2 / 0 is inf (nan/inf gradients, as torch); std's backward selects 0 where std == 0,
    as torch's std_backward. Values and gradients from PyTorch (tests/reference/make_edges.py)."""
    op = key.split("/")[0]
    axis, ddof = (int(v) for v in _EDGES[key + "/args"])
    x = leaf(_EDGES[key + "/x"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)   # numpy's (and torch's) dof <= 0 warnings
        y = getattr(x, op)(axis=None if axis == -99 else axis, ddof=ddof)
        y.sum().backward()
    assert np.array_equal(y.data, _EDGES[key + "/y"], equal_nan=True)
    assert np.allclose(x.grad.data, _EDGES[key + "/gx"], rtol=1e-12, atol=0, equal_nan=True)
    assert np.array_equal(np.isinf(x.grad.data), np.isinf(_EDGES[key + "/gx"]))


def test_integer_indexing_is_a_view_that_writes_through():
    """Fault (silent): x[i] on 1-D (x[i, j] on 2-D) was numpy's scalar copy, so
    ``y = h[1]; y += b[0]`` never reached ``h`` (PyTorch writes through) and
    ``t = c[1]; c.zero_()`` left ``t`` stale. Fix: a 0-d view; an in-place op on a
    basic-index view writes into its base as a recorded setitem (PyTorch's CopySlices)."""
    c = Tensor([1.0, 2.0, 3.0])
    t, u = c[1], Tensor([[1.0, 2.0]])[0, 1]
    c.zero_()
    assert t.item() == 0.0 and u.data.base is not None
    a, b = leaf([1.0, 2.0, 3.0]), leaf([5.0])
    h = a * 1
    y = h[1]
    z = y * 3.0                          # recorded before the write: sees the old y
    y += b[0]
    assert np.array_equal(h.data, [1.0, 7.0, 3.0]) and y.item() == 7.0
    (h * h).sum().backward(retain_graph=True)   # d/da sum(h^2) = 2h; d/db = 2 h[1]
    assert np.array_equal(a.grad.data, [2.0, 14.0, 6.0]) and np.array_equal(b.grad.data, [14.0])
    a.grad = b.grad = None
    (z + h[1]).backward()                # z = 3 a[1] (old y); h[1] = a[1] + b
    assert np.array_equal(a.grad.data, [0.0, 4.0, 0.0]) and np.array_equal(b.grad.data, [1.0])
    h = a * 1
    h[0] += b[0]                         # Python: t = h[0]; t += b[0]; h[0] = t
    h.sum().backward()
    assert np.array_equal(h.data, [6.0, 2.0, 3.0]) and np.array_equal(b.grad.data, [2.0])
    with pytest.raises(RuntimeError, match="in-place ops on a view"):
        v = (a * 1).reshape(3, 1)[0]     # the base is itself a view: refused, not silent
        v += 1.0
    x = leaf([1.0, 2.0])
    with pytest.raises(RuntimeError, match="leaf tensor that requires grad"):
        x[0] += 1.0
    assert np.array_equal(x.data, [1.0, 2.0])
    h = leaf([1.0, 2.0, 3.0]) * 1
    h[1] = h[1] + b[0] * h[2]            # mul saved the view h[2], then h was written: as torch
    with pytest.raises(RuntimeError, match="modified by an in-place operation"):
        h.sum().backward()


def test_indexing_backward_ignores_a_later_write_into_its_input():
    """Fault: getitem's backward counted as reading x's values (it only needs x's shape), so
    ``v = y[1]; with no_grad(): y.mul_(1.5)`` made backward through v refuse, where PyTorch
    back-propagates. Fix: getitem saves x's shape; the gradient is PyTorch's."""
    a = leaf([1.0, 2.0, 3.0])
    y = a * a
    v = y[1]
    with tg.no_grad():
        y.mul_(1.5)
    (y + v * 2.0).sum().backward()
    # d/da sum(a*a + 2 a[1]^2) (v broadcasts over 3): 2a + [0, 12 a[1], 0], the graph's values
    assert np.array_equal(a.grad.data, [2.0, 28.0, 6.0])


def test_pow_second_derivative_in_the_exponent_at_zero_is_the_closed_form():
    # d/db of (d/da a**b + d/db a**b) at b = 0 is 1/a + log(a)**2 (PyTorch's pow backward
    # masks the first term at b == 0 and gives only log(a)**2: tools/difffuzz_known.txt).
    for a0 in (0.5, 1.5, 3.0):
        a, b = tg.Tensor(a0, requires_grad=True), tg.Tensor(0.0, requires_grad=True)
        ga, gb = tg.grad(a ** b, [a, b], create_graph=True)
        _, gbb = tg.grad(ga + gb, [a, b])
        assert abs(gbb.item() - (1 / a0 + np.log(a0) ** 2)) < 1e-12
