"""einsum & co. and np.linalg on Tensors: numpy's exact values, PyTorch's reference values and
gradients (tests/reference/contract.npz), clear errors, and the documented degenerate cases.

The gradients themselves (first and second order, float32) are checked against finite
differences by the shared harness (tests/op_cases_contract.py).
"""
from __future__ import annotations

import json
import pathlib
import warnings

import numpy as np
import pytest

import tinygrad_edu as tg
import tinygrad_edu.linalg as tla

rng = np.random.default_rng(1)


def T(x, grad=False):
    return tg.Tensor(np.asarray(x, dtype=np.float64), requires_grad=grad)


# ---- forward values are numpy's, bit for bit ------------------------------------------------
def _same(ours, theirs):
    assert isinstance(ours, tg.Tensor)
    assert ours.shape == np.shape(theirs) and np.array_equal(ours.data, theirs), (ours, theirs)


EINSUM_FORMS = [
    ("ij,jk->ik", [(2, 3), (3, 4)]), ("ij,jk", [(2, 3), (3, 4)]), ("Ba", [(2, 3)]),
    ("aB", [(2, 3)]), ("ba", [(2, 3)]), ("ii", [(3, 3)]), ("ii->i", [(3, 3)]),
    ("i...", [(2, 3, 4)]), ("...,...", [(2, 1), (3,)]), ("ij...,jk", [(2, 3, 5), (3, 4)]),
    ("...ii->...i", [(2, 3, 3)]), ("i,i", [(1,), (3,)]), ("iij->j", [(2, 2, 3)]),
    (" i j -> j", [(2, 3)]), ("ij,jk,kl->il", [(2, 3), (3, 4), (4, 5)]), ("i,j", [(0,), (2,)]),
    ("bij,bjk->bik", [(2, 3, 4), (2, 4, 5)]), ("Ab,bA", [(2, 3), (3, 2)]),
]


@pytest.mark.parametrize("sub,shapes", EINSUM_FORMS)
def test_einsum_values_and_shapes_are_numpys(sub, shapes):
    arrays = [rng.standard_normal(s) for s in shapes]
    for optimize in (False, "greedy"):
        _same(np.einsum(sub, *map(T, arrays), optimize=optimize),
              np.einsum(sub, *arrays, optimize=optimize))
    # the default: numpy's (optimize=False) up to two operands, 'greedy' from three
    default = np.einsum(sub, *arrays, optimize="greedy" if len(arrays) >= 3 else False)
    _same(tg.einsum(sub, *map(T, arrays)), default)


def test_einsum_sublist_form_and_constant_operands():
    a, b = rng.standard_normal((2, 3)), rng.standard_normal((3, 4))
    _same(np.einsum(T(a), [0, 1], b, [1, 2], [2, 0]), np.einsum(a, [0, 1], b, [1, 2], [2, 0]))
    _same(tg.einsum(a, [Ellipsis, 1], T(b), [1, 30]), np.einsum(a, [Ellipsis, 1], b, [1, 30]))
    x = T(a, grad=True)
    tg.einsum("ij,jk->", x, b).backward()
    assert np.allclose(x.grad.data, np.broadcast_to(b.sum(1), (2, 3)))


def test_einsum_diagonal_result_is_not_a_view_of_the_input():
    x = T(rng.standard_normal((3, 3)))
    d = tg.einsum("ii->i", x)
    assert not np.shares_memory(d.data, x.data)


def test_products_and_diagonals_equal_numpy():
    a3, b3 = rng.standard_normal((2, 3, 4)), rng.standard_normal((5, 4, 2))
    m, v = rng.standard_normal((3, 4)), rng.standard_normal(4)
    calls = [
        (np.tensordot, (a3, b3), dict(axes=([2], [1]))), (np.tensordot, (m, m), {}),
        (np.tensordot, (a3, a3), dict(axes=([0, 1], [0, 1]))), (np.tensordot, (v, m), dict(axes=0)),
        (np.outer, (a3, v), {}), (np.inner, (a3, m), {}), (np.inner, (v, 2.5), {}),
        (np.dot, (a3, b3), {}), (np.dot, (a3, v), {}), (np.dot, (m, v), {}), (np.dot, (m, m.T), {}),
        (np.dot, (v, b3), {}), (np.vdot, (m, m), {}), (np.kron, (m, a3), {}), (np.kron, (v, 2.0), {}),
        (np.trace, (a3,), {}), (np.trace, (a3,), dict(offset=1, axis1=2, axis2=0)),
        (np.trace, (m,), dict(offset=-1)), (np.diag, (v,), dict(k=-2)), (np.diag, (m,), dict(k=1)),
        (np.diagonal, (a3,), dict(offset=-1, axis1=2, axis2=1)),
    ]
    for fn, args, kw in calls:
        ours = fn(*(T(x) if isinstance(x, np.ndarray) else x for x in args), **kw)
        _same(ours, fn(*args, **kw))


def test_dot_keeps_the_2d_fast_path_and_nd_uses_the_einsum_rule():
    a, b = T(rng.standard_normal((2, 3)), True), T(rng.standard_normal((3, 4)), True)
    assert tg.dot(a, b).grad_fn.name == "matmul"
    assert tg.dot(T(np.ones((2, 2, 3)), True), b).grad_fn.name == "einsum"


def _spd(n, batch=()):
    x = rng.standard_normal(batch + (n, n))
    return x @ np.swapaxes(x, -1, -2) + n * np.eye(n)


def test_linalg_values_equal_numpy():
    A, S = rng.standard_normal((2, 3, 3)), _spd(3, (2,))
    R, b, B = rng.standard_normal((2, 4, 3)), rng.standard_normal(3), rng.standard_normal((2, 3, 2))
    calls = [(np.linalg.det, (A,), {}), (np.linalg.inv, (A,), {}), (np.linalg.solve, (A, b), {}),
             (np.linalg.solve, (A, B), {}), (np.linalg.cholesky, (S,), {}),
             (np.linalg.cholesky, (S,), dict(upper=True)), (np.linalg.eigvalsh, (S,), dict(UPLO="U")),
             (np.linalg.svdvals, (R,), {}), (np.linalg.svd, (R,), dict(compute_uv=False))]
    for fn, args, kw in calls:
        _same(fn(*map(T, args), **kw), fn(*args, **kw))
    for ours, theirs in [(np.linalg.slogdet(T(A)), np.linalg.slogdet(A)),
                         (np.linalg.eigh(T(S)), np.linalg.eigh(S)),
                         (np.linalg.svd(T(R)), np.linalg.svd(R)),
                         (tla.svd(T(R), full_matrices=False), np.linalg.svd(R, full_matrices=False))]:
        assert len(ours) == len(theirs)
        for o, t in zip(ours, theirs):
            _same(o, t)
    assert tla.eigh(T(S)).eigenvectors.shape == (2, 3, 3)
    assert np.array_equal(tla.slogdet(T(A)).sign.data, np.linalg.slogdet(A).sign)


NORMS = [(None, None), (None, 1), (2, -1), (1, 0), (np.inf, 1), (-np.inf, -1), (0, 1), (3, 1),
         (0.5, -1), (-1.5, 0), ("fro", (1, 2)), ("nuc", (1, 2)), (2, (2, 1)), (-2, (1, 2)),
         (1, (1, 2)), (-1, (2, 1)), (np.inf, (1, 2)), (-np.inf, (1, 2))]


@pytest.mark.parametrize("ord_,axis", NORMS)
def test_linalg_norm_equals_numpy(ord_, axis):
    x = rng.standard_normal((2, 3, 4))
    for keep in (False, True):
        _same(np.linalg.norm(T(x), ord_, axis, keep), np.linalg.norm(x, ord_, axis, keep))
    m = x[0]
    if axis is None or isinstance(axis, tuple):
        _same(tla.norm(T(m), ord_), np.linalg.norm(m, ord_))
    else:
        _same(tla.norm(T(m[0]), ord_), np.linalg.norm(m[0], ord_))


@pytest.mark.parametrize("ord_,axis", [(2, None), (1, (0, 2)), (np.inf, 1), (0.5, (2, 0)), (3, -1),
                                       (-np.inf, (0, 1, 2))])
def test_vector_norm_equals_numpy(ord_, axis):
    x = rng.standard_normal((2, 3, 4))
    for keep in (False, True):
        _same(np.linalg.vector_norm(T(x), axis=axis, keepdims=keep, ord=ord_),
              np.linalg.vector_norm(x, axis=axis, keepdims=keep, ord=ord_))


@pytest.mark.parametrize("ord_", ["fro", "nuc", 1, -1, 2, -2, np.inf, -np.inf])
def test_matrix_norm_equals_numpy(ord_):
    x = rng.standard_normal((2, 3, 4))
    _same(tla.matrix_norm(T(x), ord=ord_), np.linalg.matrix_norm(x, ord=ord_))
    _same(np.linalg.matrix_norm(T(x), keepdims=True, ord=ord_),
          np.linalg.matrix_norm(x, keepdims=True, ord=ord_))


def test_torch_norm_and_numpy_norm_agree_on_the_default_and_differ_for_p2_on_matrices():
    m = rng.standard_normal((3, 4))
    assert np.isclose(tg.norm(T(m)).item(), np.linalg.norm(m))
    assert np.isclose(T(m).norm().item(), np.linalg.norm(m))
    # torch.norm(m, 2) is the 2-norm of all elements; np.linalg.norm(m, 2) the spectral norm
    assert np.isclose(tg.norm(T(m), 2).item(), np.linalg.norm(m))
    assert np.isclose(np.linalg.norm(T(m), 2).item(), np.linalg.svd(m, compute_uv=False)[0])
    assert not np.isclose(tg.norm(T(m), 2).item(), np.linalg.norm(m, 2))


# ---- PyTorch's values and gradients ---------------------------------------------------------
REF = np.load(pathlib.Path(__file__).parent / "reference" / "contract.npz")
REF_NAMES = sorted({k.split(":")[0] for k in REF.files})


def _ours(op, ts, kw):
    kw = {k: tuple(v) if isinstance(v, list) and k != "dims" else v for k, v in kw.items()}
    if op == "einsum":
        return tg.einsum(kw["equation"], *ts)
    if op == "slogdet":
        sign, logabs = tla.slogdet(ts[0])
        return sign * logabs
    if op == "eigh":
        w, V = tla.eigh(ts[0])
        return w, V * V
    if op == "svd":
        U, S, Vh = tla.svd(ts[0], full_matrices=False)
        return U * U, S, Vh * Vh
    fns = {"bmm": tg.bmm, "norm": tg.norm, "diagonal": tg.diagonal, "trace": tg.trace,
           "tensordot": tg.tensordot, "kron": tg.kron, "inner": tg.inner, "outer": tg.outer,
           "dot": tg.dot, "det": tla.det, "inv": tla.inv, "cholesky": tla.cholesky,
           "solve": tla.solve, "eigvalsh": tla.eigvalsh, "svdvals": tla.svdvals}
    return fns[op](*ts, **kw)


@pytest.mark.parametrize("name", REF_NAMES)
def test_matches_pytorch(name):
    op, kw = str(REF[f"{name}:op"]), json.loads(str(REF[f"{name}:kwargs"]))
    n_in = sum(1 for k in REF.files if k.startswith(f"{name}:in"))
    ts = [T(REF[f"{name}:in{i}"], True) for i in range(n_in)]
    outs = _ours(op, ts, kw)
    outs = outs if isinstance(outs, tuple) else (outs,)
    total = None
    for j, o in enumerate(outs):
        np.testing.assert_allclose(o.data, REF[f"{name}:out{j}"], rtol=1e-10, atol=1e-12)
        term = (o * REF[f"{name}:cot{j}"]).sum()
        total = term if total is None else total + term
    for i, g in enumerate(tg.grad(total, ts)):
        np.testing.assert_allclose(g.data, REF[f"{name}:grad{i}"], rtol=1e-10, atol=1e-12,
                                   err_msg=f"{name}: gradient of input {i}")


# ---- errors name the op and the shapes -------------------------------------------------------
@pytest.mark.parametrize("call,error,words", [
    (lambda: tg.einsum("ij,jk", T(np.ones((2, 3))), T(np.ones((4, 5)))), ValueError,
     ["einsum", "(2, 3)", "(4, 5)"]),
    (lambda: tg.einsum("ij,jk", [T(np.ones((2, 3))), T(np.ones((3, 2)))]), TypeError,
     ["einsum", "own argument"]),
    (lambda: tg.tensordot(T(np.ones((2, 3))), T(np.ones((2, 3))), 1), ValueError,
     ["tensordot", "(2, 3)"]),
    (lambda: tg.dot(T(np.ones((2, 2, 3))), T(np.ones((2, 2)))), ValueError, ["dot", "(2, 2, 3)"]),
    (lambda: tg.inner(T(np.ones(3)), T(np.ones(2))), ValueError, ["inner", "(3,)", "(2,)"]),
    (lambda: tg.vdot(T(np.ones(3)), T(np.ones(2))), ValueError, ["vdot", "3", "2"]),
    (lambda: tg.bmm(T(np.ones((2, 3))), T(np.ones((3, 2)))), ValueError, ["bmm", "(2, 3)", "matmul"]),
    (lambda: tg.bmm(T(np.ones((2, 2, 3))), T(np.ones((1, 3, 2)))), ValueError, ["bmm", "(1, 3, 2)"]),
    (lambda: tg.diag(T(np.ones((2, 2, 2)))), ValueError, ["diag", "(2, 2, 2)"]),
    (lambda: tg.trace(T(np.ones(3))), ValueError, ["trace", "(3,)"]),
    (lambda: tg.diagonal(T(np.ones((2, 2))), 0, 1, -1), ValueError, ["diagonal", "differ"]),
    (lambda: tla.det(T(np.ones((2, 3)))), np.linalg.LinAlgError, ["det", "square", "(2, 3)"]),
    (lambda: tla.inv(T(np.ones((2, 2)))), np.linalg.LinAlgError, ["inv", "(2, 2)", "ingular"]),
    (lambda: tla.cholesky(T(-np.eye(2))), np.linalg.LinAlgError, ["cholesky", "(2, 2)"]),
    (lambda: tla.solve(T(np.eye(3)), T(np.ones(2))), ValueError, ["solve", "(2,)", "(3, 3)"]),
    (lambda: tla.norm(T(np.ones(3)), "fro"), ValueError, ["norm", "fro", "(3,)"]),
    (lambda: tg.norm(T(np.ones((2, 2, 2))), "nuc"), ValueError, ["norm", "nuc", "(2, 2, 2)"]),
    (lambda: tla.svd(T(np.ones(3))), np.linalg.LinAlgError, ["svd", "(3,)"]),
    (lambda: tla.det(tg.Tensor(np.eye(2) * 1j)), TypeError, ["det", "complex"]),
    (lambda: tla.inv(tg.Tensor(np.eye(2), dtype=np.float16)), TypeError, ["inv", "float16"]),
])
def test_errors_name_the_op_and_shapes(call, error, words):
    with pytest.raises(error) as info:
        call()
    for w in words:
        assert w in str(info.value), (w, str(info.value))


def test_solve_warns_where_torch_would_read_a_batch_of_vectors():
    a, b = T(np.eye(3) + np.zeros((3, 3, 3))), T(np.ones((3, 3)))
    with pytest.warns(UserWarning, match=r"b\[\.\.\., None\]"):
        x = tla.solve(a, b)
    assert x.shape == (3, 3, 3)  # numpy 2: a stack of matrices
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert tla.solve(a, T(np.ones(3))).shape == (3, 3)  # 1-D b: a vector, no warning


# ---- documented degenerate cases ----------------------------------------------------------------
def test_norm_gradient_at_zero_is_zero_not_nan():
    for fn in [lambda x: np.linalg.norm(x), lambda x: np.linalg.norm(x, 3), lambda x: tg.norm(x, 0.5),
               lambda x: np.linalg.norm(x, np.inf), lambda x: np.linalg.norm(x, 1),
               lambda x: tg.norm(x.reshape(2, 2), "fro"), lambda x: np.linalg.norm(x.reshape(2, 2), 2),
               lambda x: np.linalg.norm(x.reshape(2, 2), "nuc")]:
        x = T(np.zeros(4), True)
        fn(x).backward()
        assert np.all(np.isfinite(x.grad.data)) and np.all(np.abs(x.grad.data) <= 1)
        y = T(np.zeros(4), True)
        (g,) = tg.grad(fn(y), y, create_graph=True)  # the recorded backward agrees
        assert np.array_equal(g.data, x.grad.data)
    # the smooth norms give exactly 0 there (PyTorch's subgradient)
    for fn in [np.linalg.norm, lambda x: tg.norm(x, 3), lambda x: tg.norm(x, 0.5)]:
        x = T(np.zeros(4), True)
        fn(x).backward()
        assert np.array_equal(x.grad.data, np.zeros(4))


def test_norm_ord_0_counts_without_a_graph():
    x = T([0.0, 2.0, -1.0], True)
    n = np.linalg.norm(x, 0)
    assert n.item() == 2.0 and not n.requires_grad


def test_eigh_repeated_eigenvalues():
    a = T(np.diag([2.0, 2.0, 5.0]), True)
    w, V = tla.eigh(a)
    w.sum().backward()  # eigenvalue gradients exist
    assert np.all(np.isfinite(a.grad.data))
    a.grad = None
    with np.errstate(divide="ignore", invalid="ignore"):
        (g,) = tg.grad((V * V * T(rng.standard_normal((3, 3)))).sum(), a)
    assert not np.all(np.isfinite(g.data))  # eigenvectors: no derivative, inf/nan as documented


def test_svd_repeated_singular_values_and_full_matrices():
    a = T(np.diag([3.0, 3.0]), True)
    U, S, Vh = tla.svd(a)
    (gs,) = tg.grad(S.sum(), a, retain_graph=True)
    assert np.allclose(gs.data, np.eye(2))
    with np.errstate(divide="ignore", invalid="ignore"):
        (gu,) = tg.grad((U * T(rng.standard_normal((2, 2)))).sum(), a)
    assert not np.all(np.isfinite(gu.data))
    r = T(rng.standard_normal((3, 2)), True)
    U, S, Vh = tla.svd(r)  # full_matrices=True, numpy's default: U is (3, 3)
    assert U.shape == (3, 3)
    tg.grad(S.sum(), r, retain_graph=True)  # fine
    with pytest.raises(RuntimeError, match="full_matrices=False"):
        tg.grad((U * U).sum(), r)


def test_det_and_slogdet_gradient_at_a_singular_matrix_raise():
    a = T([[1.0, 2.0], [2.0, 4.0]], True)
    assert tla.det(a).item() == 0.0
    with pytest.raises(np.linalg.LinAlgError, match="det backward"):
        tla.det(a).backward()
    with pytest.raises(np.linalg.LinAlgError, match="slogdet backward"):
        tla.slogdet(a).logabsdet.backward()


def test_tensor_methods():
    x = T(rng.standard_normal((2, 3, 3)), True)
    assert np.array_equal(x.trace().data, np.trace(x.data))
    assert np.array_equal(x.diagonal(1, 1, 2).data, x.data.diagonal(1, 1, 2))
    assert np.array_equal(x.bmm(x).data, x.data @ x.data)
    assert np.array_equal(x.dot(x[0, 0]).data, x.data.dot(x.data[0, 0]))
    assert np.isclose(x.norm(p=1, dim=(1, 2)).data, np.abs(x.data).sum((1, 2))).all()
