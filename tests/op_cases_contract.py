"""Harness cases for the contract family (einsum & co.) and the decomp family (np.linalg)."""
from __future__ import annotations

import numpy as np
from hypothesis import strategies as st

import tinygrad_edu as tg
from tinygrad_edu.ops.contract import diagonal_embed, diagonal_scatter

from op_cases import case, leaf

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
