"""Harness cases for the contract family (einsum & co.) and the decomp family (np.linalg)."""
from __future__ import annotations

import numpy as np
from hypothesis import strategies as st

import tinygrad_edu as tg
from tinygrad_edu.ops.contract import diagonal_embed, diagonal_scatter

from op_cases import case, gapped_leaves, leaf

# subscripts, and the operand shapes as functions of the label sizes
_EINSUM_FORMS = [
    ("ij,jk->ik", lambda s: [(s["i"], s["j"]), (s["j"], s["k"])]),
    ("ij,jk", lambda s: [(s["i"], s["j"]), (s["j"], s["k"])]),  # implicit output
    ("ji", lambda s: [(s["j"], s["i"])]),  # implicit: a transpose
    ("ii->i", lambda s: [(s["i"], s["i"])]),
    ("ii", lambda s: [(s["i"], s["i"])]),  # trace
    ("iij->j", lambda s: [(s["i"], s["i"], s["j"])]),
    ("iji->ij", lambda s: [(s["i"], s["j"], s["i"])]),
    ("ij->", lambda s: [(s["i"], s["j"])]),
    ("ij->i", lambda s: [(s["i"], s["j"])]),
    ("i,j->ij", lambda s: [(s["i"],), (s["j"],)]),
    ("i,i", lambda s: [(s["i"],), (1,)]),  # a size-1 label broadcasts
    ("ij,ij->i", lambda s: [(s["i"], s["j"]), (1, s["j"])]),
    ("...ij,...jk->...ik", lambda s: [(s["k"], s["i"], s["j"]), (s["j"], s["k"])]),
    ("i...,i...->...", lambda s: [(s["i"], s["j"], 2), (s["i"], 1, 2)]),
    ("...", lambda s: [(s["i"], s["j"])]),
    ("bij,bjk->bik", lambda s: [(2, s["i"], s["j"]), (2, s["j"], s["k"])]),
    ("ij,jk,kl->il", lambda s: [(s["i"], s["j"]), (s["j"], s["k"]), (s["k"], 2)]),
    ("ii,ij,j->", lambda s: [(s["i"], s["i"]), (s["i"], s["j"]), (s["j"],)]),
    ("ij,ki,ii->jk", lambda s: [(s["i"], s["j"]), (s["k"], s["i"]), (s["i"], s["i"])]),
]


def _sizes(draw):
    return {c: draw(st.integers(0, 3)) for c in "ijk"}


@case("einsum")
def _einsum(draw, dtype):
    sub, shapes = draw(st.sampled_from(_EINSUM_FORMS))
    xs = tuple(leaf(draw, s, dtype) for s in shapes(_sizes(draw)))
    how = draw(st.sampled_from(["tg", "np", "np optimize", "tg no optimize"]))
    fns = {"tg": lambda *t: tg.einsum(sub, *t), "np": lambda *t: np.einsum(sub, *t),
           "np optimize": lambda *t: np.einsum(sub, *t, optimize=True),
           "tg no optimize": lambda *t: tg.einsum(sub, *t, optimize=False)}
    return fns[how], xs


@case("einsum sublist form")
def _einsum_sublist(draw, dtype):
    s = _sizes(draw)
    a, b = leaf(draw, (s["i"], s["j"]), dtype), leaf(draw, (s["j"], s["k"]), dtype)
    if draw(st.booleans()):
        return (lambda x, y: np.einsum(x, [0, 1], y, [1, 2], [2, 0])), (a, b)
    return (lambda x, y: tg.einsum(x, [Ellipsis, 1], y, [1, 30])), (a, b)


@case("diagonal_embed")
def _diagonal_embed(draw, dtype):
    i, j = draw(st.integers(0, 3)), draw(st.integers(0, 3))
    x = leaf(draw, (i, j), dtype)
    return (lambda t: diagonal_embed(t, "ij", "iji", (i, j, i))), (x,)


@case("tensordot")
def _tensordot(draw, dtype):
    n, m, k = (draw(st.integers(0, 3)) for _ in range(3))
    form = draw(st.sampled_from(["int2", "int1", "int0", "pairs", "ints", "dims"]))
    if form == "int2":
        sa, sb, fn = (n, m, k), (m, k, 2), lambda a, b: np.tensordot(a, b)
    elif form == "int1":
        sa, sb, fn = (n, m), (m, k), lambda a, b: tg.tensordot(a, b, 1)
    elif form == "int0":
        sa, sb, fn = (n,), (m, k), lambda a, b: np.tensordot(a, b, 0)
    elif form == "pairs":
        sa, sb, fn = (n, m, k), (k, 2, n), lambda a, b: np.tensordot(a, b, ([0, 2], [2, -3]))
    elif form == "ints":
        sa, sb, fn = (n, m), (k, m), lambda a, b: tg.tensordot(a, b, (1, 1))
    else:
        sa, sb, fn = (n, m), (m, k), lambda a, b: tg.tensordot(a, b, dims=([1], [0]))
    return fn, (leaf(draw, sa, dtype), leaf(draw, sb, dtype))


@case("outer")
def _outer(draw, dtype):
    sa = draw(st.sampled_from([(0,), (1,), (3,), (2, 2), ()]))
    sb = draw(st.sampled_from([(2,), (1,), (0,), (1, 3)]))
    fn = np.outer if draw(st.booleans()) else tg.outer
    return fn, (leaf(draw, sa, dtype), leaf(draw, sb, dtype))


@case("inner")
def _inner(draw, dtype):
    k = draw(st.integers(0, 3))
    sa = draw(st.sampled_from([(k,), (2, k), (1, 2, k), ()]))
    sb = draw(st.sampled_from([(k,), (3, k), (1, k)]))
    fn = np.inner if draw(st.booleans()) else tg.inner
    return fn, (leaf(draw, sa, dtype), leaf(draw, sb, dtype))


@case("dot N-D")
def _dot_nd(draw, dtype):
    k = draw(st.integers(0, 3))
    sa, sb = draw(st.sampled_from([((2, 1, k), (k,)), ((2, 3, k), (2, k, 2)), ((3, k), (1, k, 2)),
                                   ((k,), (2, k, 3)), ((1, 2, k), (k, 0)), ((2, 2, k), ())]))
    how = draw(st.sampled_from(["np", "tg", "method"]))
    fns = {"np": np.dot, "tg": tg.dot, "method": lambda a, b: a.dot(b)}
    return fns[how], (leaf(draw, sa, dtype), leaf(draw, sb, dtype))


@case("vdot")
def _vdot(draw, dtype):
    sa, sb = draw(st.sampled_from([((3,), (3,)), ((2, 3), (6,)), ((0,), (0, 2)), ((1,), (1, 1))]))
    fn = np.vdot if draw(st.booleans()) else tg.vdot
    return fn, (leaf(draw, sa, dtype), leaf(draw, sb, dtype))


@case("kron")
def _kron(draw, dtype):
    sa = draw(st.sampled_from([(2,), (2, 1), (1, 2, 2), (), (0, 2)]))
    sb = draw(st.sampled_from([(3,), (2, 2), (1,), ()]))
    fn = np.kron if draw(st.booleans()) else tg.kron
    return fn, (leaf(draw, sa, dtype), leaf(draw, sb, dtype))


@st.composite
def _diag_args(draw, min_dims=2):
    nd = draw(st.integers(min_dims, 3))
    shape = tuple(draw(st.integers(0, 3)) for _ in range(nd))
    a1 = draw(st.integers(-nd, nd - 1))
    a2 = draw(st.integers(-nd, nd - 1).filter(lambda a: (a - a1) % nd != 0))
    offset = draw(st.integers(-3, 3))
    return shape, offset, a1, a2


@case("trace")
def _trace(draw, dtype):
    shape, offset, a1, a2 = draw(_diag_args())
    how = draw(st.sampled_from(["np", "tg", "method", "2-D default"]))
    if how == "2-D default":
        shape = shape[:2]
        return (lambda a: a.trace()), (leaf(draw, shape, dtype),)
    fns = {"np": lambda a: np.trace(a, offset, a1, a2), "tg": lambda a: tg.trace(a, offset, a1, a2),
           "method": lambda a: a.trace(offset=offset, axis1=a1, axis2=a2)}
    return fns[how], (leaf(draw, shape, dtype),)


@case("diagonal")
def _diagonal(draw, dtype):
    shape, offset, a1, a2 = draw(_diag_args())
    how = draw(st.sampled_from(["np", "tg", "method", "torch dims"]))
    fns = {"np": lambda a: np.diagonal(a, offset, a1, a2),
           "tg": lambda a: tg.diagonal(a, offset, axis1=a1, axis2=a2),
           "method": lambda a: a.diagonal(offset, a1, a2),
           "torch dims": lambda a: a.diagonal(offset, dim1=a1, dim2=a2)}
    return fns[how], (leaf(draw, shape, dtype),)


@case("diagonal_scatter")
def _diagonal_scatter(draw, dtype):
    shape, offset, a1, a2 = draw(_diag_args())
    gshape = np.diagonal(np.empty(shape), offset, a1, a2).shape
    return (lambda g: diagonal_scatter(g, shape, offset, a1, a2)), (leaf(draw, gshape, dtype),)


@case("diag")
def _diag(draw, dtype):
    k = draw(st.integers(-2, 2))
    shape = draw(st.sampled_from([(0,), (1,), (3,), (2, 3), (3, 3), (0, 2)]))
    fn = (lambda a: np.diag(a, k)) if draw(st.booleans()) else (lambda a: tg.diag(a, k=k))
    return fn, (leaf(draw, shape, dtype),)


@case("bmm")
def _bmm(draw, dtype):
    b, n, m, p = (draw(st.integers(0, 3)) for _ in range(4))
    fn = tg.bmm if draw(st.booleans()) else (lambda a, c: a.bmm(c))
    return fn, (leaf(draw, (b, n, m), dtype), leaf(draw, (b, m, p), dtype))


# ---- np.linalg (decomp family): well-conditioned inputs built inside fn --------------------
import tinygrad_edu.linalg as tla  # noqa: E402

SMALL = dict(min_value=-0.5, max_value=0.5)


def _square_stack(draw, min_n=0):
    batch = draw(st.sampled_from([(), (1,), (2,)]))
    n = draw(st.integers(min_n, 3))
    return batch, n


def _spd(x):
    """x @ x.T + n I: symmetric positive definite, eigenvalues >= n."""
    n = x.shape[-1]
    return x @ np.swapaxes(x, -1, -2) + n * np.eye(n, dtype=x.dtype)


def _well_conditioned(x):
    """x + diag(2, -2, 2, ...): |x| <= 0.5 keeps it far from singular; either sign of det."""
    n = x.shape[-1]
    return x + np.diag(2.0 * (-1.0) ** np.arange(n)).astype(x.dtype)


def _separated(x, scale=0.2):
    """A small perturbation of diag(1, 4, 7, ...) (rectangular allowed): distinct, nonzero
    singular values (and eigenvalues when square and symmetrised)."""
    m, n = x.shape[-2:]
    d = np.zeros((m, n), dtype=x.dtype)
    k = min(m, n)
    d[np.arange(k), np.arange(k)] = 1.0 + 3.0 * np.arange(k)
    return scale * x + d


@case("np.linalg.det")
def _det(draw, dtype):
    batch, n = _square_stack(draw)
    fn = draw(st.sampled_from([np.linalg.det, tla.det]))
    return (lambda x: fn(_well_conditioned(x))), (leaf(draw, batch + (n, n), dtype, **SMALL),)


@case("np.linalg.slogdet")
def _slogdet(draw, dtype):
    batch, n = _square_stack(draw)

    def fn(x):
        sign, logabs = np.linalg.slogdet(_well_conditioned(x))
        assert not sign.requires_grad
        return logabs * sign  # sign is a constant factor
    return fn, (leaf(draw, batch + (n, n), dtype, **SMALL),)


@case("np.linalg.inv")
def _inv(draw, dtype):
    batch, n = _square_stack(draw)
    fn = draw(st.sampled_from([np.linalg.inv, tla.inv]))
    return (lambda x: fn(_well_conditioned(x))), (leaf(draw, batch + (n, n), dtype, **SMALL),)


@case("np.linalg.solve")
def _solve(draw, dtype):
    batch, n = _square_stack(draw)
    # (n, 1) with a batch of one would be a batch of vectors to torch: solve warns; not here
    bshape = draw(st.sampled_from([(n,), batch + (n, 2), (n, 1) if not batch else (2, n, 1),
                                   (2,) + batch + (n, 0)]))
    fn = draw(st.sampled_from([np.linalg.solve, tla.solve]))
    return ((lambda x, b: fn(_well_conditioned(x), b)),
            (leaf(draw, batch + (n, n), dtype, **SMALL), leaf(draw, bshape, dtype)))


@case("np.linalg.cholesky")
def _cholesky(draw, dtype):
    batch, n = _square_stack(draw)
    upper = draw(st.booleans())
    return (lambda x: np.linalg.cholesky(_spd(x), upper=upper)), (leaf(draw, batch + (n, n), dtype),)


def _sym_separated(x):
    return _separated(0.5 * (x + np.swapaxes(x, -1, -2)), scale=0.3)


@case("np.linalg.eigh")
def _eigh(draw, dtype):
    batch, n = _square_stack(draw)
    uplo = draw(st.sampled_from(["L", "U"]))
    which = draw(st.sampled_from(["both", "reconstruction"]))

    def fn(x):
        w, V = np.linalg.eigh(_sym_separated(x), uplo)
        if which == "both":
            return w, V * V  # V * V: independent of LAPACK's signs
        return (V * np.expand_dims(w, -2)) @ np.swapaxes(V, -1, -2)
    return fn, (leaf(draw, batch + (n, n), dtype, **SMALL),)


@case("np.linalg.eigh one output")
def _eigh_one(draw, dtype):
    batch, n = _square_stack(draw)
    which = draw(st.integers(0, 1))
    fn = draw(st.sampled_from([np.linalg.eigh, tla.eigh]))

    def f(x):
        out = fn(_sym_separated(x))[which]
        return out * out if which else out
    return f, (leaf(draw, batch + (n, n), dtype, **SMALL),)


@case("np.linalg.eigvalsh")
def _eigvalsh(draw, dtype):
    batch, n = _square_stack(draw)
    fn = draw(st.sampled_from([np.linalg.eigvalsh, tla.eigvalsh]))
    return (lambda x: fn(_sym_separated(x))), (leaf(draw, batch + (n, n), dtype, **SMALL),)


@case("np.linalg.svd")
def _svd(draw, dtype):
    batch = draw(st.sampled_from([(), (2,)]))
    m, n = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    full = draw(st.booleans()) if m == n else False
    which = draw(st.sampled_from(["all", "reconstruction"]))

    def fn(x):
        U, S, Vh = np.linalg.svd(_separated(x), full_matrices=full)
        return {"S": S, "U squared": U * U, "Vh squared": Vh * Vh, "all": (U * U, S, Vh * Vh),
                "reconstruction": (U * np.expand_dims(S, -2)) @ Vh}[which]
    return fn, (leaf(draw, batch + (m, n), dtype, **SMALL),)


@case("np.linalg.svd one output")
def _svd_one(draw, dtype):
    shape = draw(st.sampled_from([(2, 2), (1, 3), (3, 2), (2, 2, 3)]))
    which = draw(st.integers(0, 2))
    fn = draw(st.sampled_from([np.linalg.svd, tla.svd]))

    def f(x):
        out = fn(_separated(x), full_matrices=False)[which]
        return out if which == 1 else out * out
    return f, (leaf(draw, shape, dtype, **SMALL),)


@case("np.linalg.svdvals")
def _svdvals(draw, dtype):
    shape = draw(st.sampled_from([(0, 2), (1, 3), (3, 2), (2, 2, 3)]))
    how = draw(st.sampled_from(["svdvals", "svd compute_uv=False", "tla"]))
    fns = {"svdvals": np.linalg.svdvals, "tla": tla.svdvals,
           "svd compute_uv=False": lambda a: np.linalg.svd(a, compute_uv=False)}
    return (lambda x: fns[how](_separated(x))), (leaf(draw, shape, dtype, **SMALL),)


# Norms: magnitudes >= 0.2 (no kink of |x|), pairwise distinct magnitudes where a max/min
# picks one element, and offsets that separate the row and column sums of matrix norms.
_NORM_CONFIGS = [
    # (ord, axis, shape, input kind)
    (None, None, (2, 3), "mag"), (None, None, (0, 2), "mag"), (None, None, (3,), "mag"),
    (2, None, (3,), "mag"), (2, -1, (2, 3), "mag"), (1, 0, (3, 2), "mag"), (3, 1, (2, 3), "mag"),
    (0.5, -1, (2, 3), "mag"), (-1.5, 0, (3,), "mag"), (np.inf, -1, (2, 3), "distinct"),
    (-np.inf, 0, (3, 2), "distinct"), (np.inf, None, (4,), "distinct"),
    ("fro", None, (2, 3), "mag"), ("fro", (0, 2), (2, 1, 3), "mag"),
    ("nuc", None, (3, 2), "spectrum"), ("nuc", (1, 2), (2, 2, 3), "spectrum"),
    (2, None, (2, 3), "spectrum"), (-2, (2, 1), (2, 3, 2), "spectrum"),
    (1, None, (3, 2), "sums"), (-1, (0, 1), (2, 3), "sums"), (np.inf, (1, 0), (3, 3), "sums"),
    (-np.inf, None, (2, 3), "sums"),
]


def _norm_input(draw, shape, kind, dtype):
    """(leaf, how to make the norm's argument from it)."""
    signs = np.where(draw(st.lists(st.booleans(), min_size=int(np.prod(shape)),
                                   max_size=int(np.prod(shape)))), 1.0, -1.0).reshape(shape).astype(dtype)
    if kind == "distinct":
        _, (x,) = gapped_leaves(draw, [shape], dtype, min_value=0.2, max_value=3.0)
        return x, lambda t: t * signs
    if kind == "spectrum":
        return leaf(draw, shape, dtype, **SMALL), _separated
    x = leaf(draw, shape, dtype, min_value=0.2, max_value=1.0)
    if kind == "mag":
        return x, lambda t: t * signs
    i, j = np.indices(shape[-2:])
    offsets = (4.0 * i + 16.0 * j).astype(dtype)  # row sums differ by >= 4, column sums by >= 16
    return x, lambda t: (t + offsets) * signs


@case("np.linalg.norm")
def _linalg_norm(draw, dtype):
    ord_, axis, shape, kind = draw(st.sampled_from(_NORM_CONFIGS))
    if ord_ is None and axis is None and kind == "mag" and shape == (2, 3):
        axis = draw(st.sampled_from([None, 1]))
    keep = draw(st.booleans())
    x, make = _norm_input(draw, shape, kind, dtype)
    how = draw(st.sampled_from(["np", "tla", "vector_norm", "matrix_norm"]))
    if how == "vector_norm" and (axis is None or isinstance(axis, int)) and not isinstance(ord_, str):
        return (lambda t: np.linalg.vector_norm(make(t), axis=axis, keepdims=keep,
                                                ord=2 if ord_ is None else ord_)), (x,)
    if how == "matrix_norm" and len(shape) == 2 and axis is None:
        return (lambda t: tla.matrix_norm(make(t), keepdims=keep,
                                          ord="fro" if ord_ is None else ord_)), (x,)
    fn = np.linalg.norm if how == "np" else tla.norm
    return (lambda t: fn(make(t), ord_, axis, keepdims=keep)), (x,)


_TORCH_NORMS = [
    ("fro", None, (2, 3), "mag"), ("fro", 1, (2, 3), "mag"), ("fro", (0, 1), (2, 3, 2), "mag"),
    (2, None, (2, 3), "mag"), (1, (0, 2), (2, 1, 3), "mag"), (3, -1, (2, 3), "mag"),
    (0.5, None, (3,), "mag"), (None, 0, (0, 2), "mag"), (np.inf, None, (2, 3), "distinct"),
    (-np.inf, (0, 1), (2, 2, 1), "distinct"), ("nuc", None, (3, 2), "spectrum"),
    ("nuc", (2, 1), (2, 2, 3), "spectrum"), (2, None, (), "mag"),
]


@case("tg.norm (torch.norm)")
def _torch_norm(draw, dtype):
    p, dim, shape, kind = draw(st.sampled_from(_TORCH_NORMS))
    keep = draw(st.booleans())
    x, make = _norm_input(draw, shape, kind, dtype)
    if draw(st.booleans()):
        return (lambda t: tg.norm(make(t), p, dim, keep)), (x,)
    return (lambda t: make(t).norm(p=p, dim=dim, keepdim=keep)), (x,)
