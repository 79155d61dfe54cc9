"""Contractions: einsum, tensordot, outer, inner, N-D dot, vdot, kron, trace, diag(onal), bmm.

Every product here is one Einstein summation, so they share one backward
rule (``einsum``): the gradient of an operand is the einsum of the output
gradient with the other operands, written back to that operand's labels.
Two details make that exact for every subscript numpy accepts:

* a label the operand sums on its own (``'ij->i'``: ``j``) does not occur
  in the gradient's einsum, so the result is broadcast along it;
* a label repeated in one operand (``'ii->i'``, a trace ``'ii'``) reads a
  diagonal; its adjoint writes onto that diagonal of zeros
  (:func:`diagonal_embed`, a recorded op whose backward is the diagonal
  read again, so second derivatives work).

The forward values come from numpy's own function (``np.tensordot``,
``np.dot``, ``np.kron``, ...), so they equal numpy's bit for bit.

Reference for the adjoint of a contraction: Giles, "An extended collection
of matrix derivative results for forward and reverse mode algorithmic
differentiation" (2008), section 2.3 (products); the einsum form of the
same rule is what ``torch.einsum``'s autograd and JAX use.
"""
from __future__ import annotations

import string
from collections import Counter

import numpy as np
from numpy.lib.array_utils import normalize_axis_index
from .._jit.traced import as_strided

from ..autograd import backward_rule, record
from ..tensor import Tensor
from ._common import as_operand, describe, shape_of, val

__all__ = ["einsum", "tensordot", "outer", "inner", "vdot", "kron", "trace", "diag", "diagonal",
           "bmm"]
from ._common import asarray as _asarray


_LETTERS = string.ascii_letters


def _operand(op, x, operands):
    """A Tensor as is; a numeric array-like as an array (a constant of the op)."""
    if isinstance(x, Tensor):
        return x
    if isinstance(x, (list, tuple)) and any(isinstance(e, Tensor) for e in x):
        raise TypeError(f"{op}: got a {type(x).__name__} of Tensors as an operand; pass each "
                        "operand as its own argument (torch.einsum's list form "
                        "einsum('ij,jk', [a, b]) is einsum('ij,jk', a, b) here)")
    from .linalg import _constant

    return _constant(op, x, operands)


def _auto_optimize(n):
    """numpy's path optimiser pays off from three operands on (pairwise BLAS contractions)."""
    return "greedy" if n >= 3 else False


# ---- einsum ---------------------------------------------------------------------------
def einsum(*operands, out=None, optimize=None, dtype=None, order="K", casting="safe"):
    """Einstein summation, ``np.einsum``'s subscripts and results, differentiable.

    Accepts everything numpy does: ``einsum('ij,jk->ik', a, b)``, implicit
    output (``'ij,jk'``: labels seen once, sorted), ``...`` broadcasting,
    repeated labels in one operand (``'ii->i'`` diagonal, ``'ii'`` trace),
    any number of operands, and the sublist form
    ``einsum(a, [0, 1], b, [1, 2], [0, 2])``. Labels broadcast as in numpy
    (a size-1 axis stretches).

    ``optimize``: None (default) means False for one or two operands (numpy's
    default, identical values) and ``'greedy'`` for three or more (numpy's
    contraction-order optimiser: much faster, may round differently from
    ``optimize=False``); any value numpy takes is passed through.

    Gradient of operand k: ``einsum(out_labels, other labels -> k's labels)``
    of the output gradient and the other operands, broadcast over labels only
    k has and written onto the diagonals of k's repeated labels.

    Raises ValueError (numpy's message, naming einsum and the shapes) for
    subscripts that do not fit the operands; TypeError for ``out=``/
    ``dtype=`` and for non-numeric operands.
    """
    if out is not None or dtype is not None:
        raise TypeError("einsum: out= and dtype= are not supported on Tensors")
    if not operands:
        raise ValueError("einsum: no subscripts and operands given")
    if isinstance(operands[0], str):
        subscripts, ops = operands[0], list(operands[1:])
    else:
        subscripts, ops = _from_sublists(operands)
    ops = [_operand("einsum", x, ops) for x in ops]
    arrays = [val(x) for x in ops]
    opt = _auto_optimize(len(ops)) if optimize is None else optimize
    try:
        data = np.einsum(subscripts, *arrays, optimize=opt, order=order, casting=casting)
    except (ValueError, TypeError) as err:
        raise type(err)(f"einsum: subscripts {subscripts!r} do not fit operands of shapes "
                        f"{[a.shape for a in arrays]} ({err})") from None
    data = _own(data, arrays)
    ins, outl = _parse(subscripts, [a.shape for a in arrays])
    return _record_einsum(data, tuple(ops), arrays, ins, outl)


def _from_sublists(args):
    """``(op0, sub0, op1, sub1, ..., [out])`` as a subscript string and the operands."""
    def labels(sub):
        parts = []
        for s in sub:
            if s is Ellipsis:
                parts.append("...")
            elif isinstance(s, (int, np.integer)) and 0 <= s < 52:
                parts.append(_LETTERS[s + 26] if s < 26 else _LETTERS[s - 26])  # numpy: 0 -> 'A'
            else:
                raise ValueError(f"einsum: subscript {s!r} in the sublist form must be an int in "
                                 "[0, 52) or Ellipsis")
        return "".join(parts)

    ops, subs = list(args[0::2]), list(args[1::2])
    has_out = len(args) % 2 == 1
    if has_out:
        ops.pop()  # the trailing output sublist was read as an operand
    terms = ",".join(labels(s) for s in subs[:len(ops)])
    return (terms + "->" + labels(args[-1]) if has_out else terms), ops


def _parse(subscripts, shapes):
    """Explicit labels per operand and for the output, ``...`` replaced by letters.

    numpy already accepted the subscripts, so they are valid here. The
    broadcast axes get unused letters, right-aligned (an operand with fewer
    of them takes the last ones); implicit output is the broadcast axes then
    the labels that occur once, in character-code order, as numpy does.
    """
    s = subscripts.replace(" ", "")
    lhs, arrow, rhs = s.partition("->")
    terms = lhs.split(",")
    free = [c for c in _LETTERS if c not in s]
    counts = [len(shp) - (len(t) - 3) if "..." in t else 0 for t, shp in zip(terms, shapes)]
    n_ell = max(counts, default=0)
    ell = "".join(free[:n_ell])
    ins = [t.replace("...", ell[n_ell - k:]) for t, k in zip(terms, counts)]
    if arrow:
        outl = rhs.replace("...", ell)
    else:
        seen = Counter("".join(terms).replace(".", ""))
        outl = ell + "".join(sorted(c for c, k in seen.items() if k == 1))
    return ins, outl


def _sizes(ins, shapes):
    """The broadcast size of each label (a size-1 axis stretches, as numpy's einsum)."""
    sizes = {}
    for labels, shp in zip(ins, shapes):
        for c, n in zip(labels, shp):
            if sizes.get(c, 1) == 1:
                sizes[c] = n
    return sizes


def _own(data, arrays):
    """numpy's einsum returns a view of its input for a pure diagonal read: copy that."""
    data = _asarray(data)
    if any(np.may_share_memory(data, a) for a in arrays):
        data = data.copy()
    return data


def _record_einsum(data, ops, arrays, ins, outl):
    """Record ``data`` (computed by any numpy product) with the einsum backward rule."""
    saved = (tuple(ins), outl, _sizes(ins, [a.shape for a in arrays]))
    return record(data, _einsum_backward, ops, saved, arrays)


@backward_rule("einsum")
def _einsum_backward(g, out, inputs, saved, needs):
    ins, outl, sizes = saved
    return tuple(_operand_grad(g, inputs, k, ins, outl, sizes) if need else None
                 for k, need in enumerate(needs))


def _operand_grad(g, inputs, k, ins, outl, sizes):
    mine = ins[k]
    unique = "".join(dict.fromkeys(mine))
    others = [j for j in range(len(inputs)) if j != k]
    seen = set(outl).union(*(ins[j] for j in others))
    kept = "".join(c for c in unique if c in seen)
    sub = ",".join([outl] + [ins[j] for j in others]) + "->" + kept
    part = np.einsum(sub, g, *(inputs[j] for j in others), optimize=_auto_optimize(len(inputs)))
    full = tuple(sizes[c] for c in kept)
    if part.shape != full:  # a label whose only full-size axis was in operand k
        part = np.broadcast_to(part, full)
    if kept != unique:  # labels summed inside operand k alone: d/dx is 1 along them
        part = np.broadcast_to(part.reshape(tuple(sizes[c] if c in kept else 1 for c in unique)),
                               tuple(sizes[c] for c in unique))
    if unique != mine:
        part = diagonal_embed(part, unique, mine, tuple(sizes[c] for c in mine))
    return part


def diagonal_embed(x, src, dst, shape):
    """Zeros of ``shape`` (labels ``dst``) with ``x`` (labels ``src``) on the diagonals.

    ``src`` is ``dst`` with repeated labels once; element ``x[i, j]`` goes to
    every position of the result whose repeated labels all take the same
    value: for ``src='i'``, ``dst='ii'`` it is ``np.diag``. The adjoint of
    reading a diagonal with einsum; its backward is that read,
    ``einsum(dst + '->' + src, g)``, so create_graph works.
    """
    if isinstance(x, Tensor):
        return record(_embed(x.data, src, dst, shape), _diagonal_embed_backward, (x,), (src, dst))
    return _embed(x, src, dst, shape)


def _embed(x, src, dst, shape):
    z = np.zeros(shape, dtype=x.dtype)
    strides = tuple(sum(z.strides[i] for i, d in enumerate(dst) if d == c) for c in src)
    as_strided(z, shape=x.shape, strides=strides)[...] = x  # a view onto the diagonal of z
    return z


@backward_rule("diagonal_embed")
def _diagonal_embed_backward(g, out, inputs, saved, needs):
    src, dst = saved
    return (np.einsum(dst + "->" + src, g),)


# ---- products built on the same rule --------------------------------------------------
def _pair(op, a, b):
    a = _operand(op, a, (a, b))
    b = _operand(op, b, (a, b))
    return a, b, val(a), val(b)


def _shape_error(op, a, b, err):
    return ValueError(f"{op}: shapes {shape_of(a)} and {shape_of(b)} are not aligned ({err})")


def tensordot(a, b, axes=2, *, dims=None):
    """``np.tensordot``: sum products over ``axes`` of ``a`` and ``b``.

    ``axes`` an int n (the last n axes of ``a`` with the first n of ``b``) or
    a pair of sequences (or ints) of axes; PyTorch's ``dims=`` is accepted as
    an alias. Result: ``a``'s free axes then ``b``'s. Gradient: einsum rule.

    Raises ValueError naming both shapes when the summed axes differ in size.
    """
    if dims is not None:
        axes = dims
    a, b, av, bv = _pair("tensordot", a, b)
    try:
        data = np.tensordot(av, bv, axes)
        if isinstance(axes, (int, np.integer)):
            ax_a, ax_b = list(range(av.ndim - axes, av.ndim)), list(range(axes))
        else:
            ax_a, ax_b = ([x] if isinstance(x, (int, np.integer)) else list(x) for x in axes)
        ax_a = [normalize_axis_index(i, av.ndim) for i in ax_a]
        ax_b = [normalize_axis_index(i, bv.ndim) for i in ax_b]
    except (ValueError, TypeError, IndexError) as err:
        raise ValueError(f"tensordot: axes={axes!r} do not fit shapes {av.shape} and {bv.shape} "
                         f"({err})") from None
    la = _LETTERS[:av.ndim]
    lb = list(_LETTERS[av.ndim:av.ndim + bv.ndim])
    for i, j in zip(ax_a, ax_b):
        lb[j] = la[i]
    lb = "".join(lb)
    outl = "".join(c for i, c in enumerate(la) if i not in ax_a) + \
        "".join(c for j, c in enumerate(lb) if j not in ax_b)
    return _record_einsum(data, (a, b), (av, bv), (la, lb), outl)


def _flat(op, x):
    x = x if isinstance(x, Tensor) else as_operand(op, x)
    return x.reshape(-1) if x.ndim != 1 else x


def outer(a, b, out=None):
    """``np.outer``: ``a.ravel()[:, None] * b.ravel()[None, :]`` (inputs flattened).

    Shapes: (m,), (n,) -> (m, n); N-D inputs are flattened first (numpy),
    where ``torch.outer`` takes 1-D only. Gradient: einsum rule ``'i,j->ij'``.
    """
    if out is not None:
        raise TypeError("outer: out= is not supported on Tensors")
    a, b = _flat("outer", a), _flat("outer", b)
    return _record_einsum(np.outer(a.data, b.data), (a, b), (a.data, b.data), ("i", "j"), "ij")


def _scale(a, b):
    from .arith import mul

    return mul(a, b)


def inner(a, b):
    """``np.inner``: sum over the last axes; shape ``a.shape[:-1] + b.shape[:-1]``.

    A 0-d operand multiplies. Same as ``torch.inner``. Raises ValueError
    naming both shapes when the last axes differ.
    """
    a, b, av, bv = _pair("inner", a, b)
    if av.ndim == 0 or bv.ndim == 0:
        return _scale(a, b)
    try:
        data = np.inner(av, bv)
    except ValueError as err:
        raise _shape_error("inner", a, b, err) from None
    la = _LETTERS[:av.ndim - 1] + "Z"
    lb = _LETTERS[av.ndim - 1:av.ndim + bv.ndim - 2] + "Z"
    return _record_einsum(data, (a, b), (av, bv), (la, lb), la[:-1] + lb[:-1])


def dot_nd(a, b, av, bv):
    """``np.dot`` when an operand has more than 2 axes (called by ``linalg.dot``).

    ``dot(a, b)[i, j, k, m] = sum(a[i, j, :] * b[k, :, m])``: the last axis
    of ``a`` with the second-to-last of ``b`` (the last if ``b`` is 1-D).
    """
    try:
        data = np.dot(av, bv)
    except ValueError as err:
        raise _shape_error("dot", a, b, err) from None
    la = _LETTERS[:av.ndim - 1] + "Z"
    if bv.ndim == 1:
        lb = "Z"
    else:
        rest = _LETTERS[av.ndim - 1:av.ndim + bv.ndim - 2]
        lb = rest[:-1] + "Z" + rest[-1]
    outl = la[:-1] + lb.replace("Z", "")
    return _record_einsum(data, (a, b), (av, bv), (la, lb), outl)


def vdot(a, b):
    """``np.vdot``: the dot product of the flattened inputs (sizes must agree).

    Real dtypes only (numpy conjugates a complex first argument; there is
    no conjugation rule here, so complex input raises TypeError).
    """
    a, b = _flat("vdot", a), _flat("vdot", b)
    if a.dtype.kind == "c" or b.dtype.kind == "c":
        raise TypeError(f"vdot: complex operands are not supported ({describe(a)}, {describe(b)})")
    try:
        data = np.vdot(a.data, b.data)
    except ValueError as err:
        raise ValueError(f"vdot: the inputs have {a.size} and {b.size} elements; they must have "
                         f"the same number ({err})") from None
    return _record_einsum(data, (a, b), (a.data, b.data), ("i", "i"), "")


def kron(a, b):
    """``np.kron``: the Kronecker product (same as ``torch.kron``).

    The operand with fewer axes gets leading size-1 axes; the result has
    shape ``a.shape * b.shape`` elementwise, block ``(i, j)`` being
    ``a[i, j] * b``. Every element is a single product, computed by numpy.
    """
    a = a if isinstance(a, Tensor) else as_operand("kron", a)
    b = b if isinstance(b, Tensor) else as_operand("kron", b)
    nd = max(a.ndim, b.ndim)
    if a.ndim < nd:
        a = a.reshape((1,) * (nd - a.ndim) + a.shape)
    if b.ndim < nd:
        b = b.reshape((1,) * (nd - b.ndim) + b.shape)
    la, lb = _LETTERS[:nd], _LETTERS[nd:2 * nd]
    paired = tuple(n for pair in zip(a.shape, b.shape) for n in pair)
    data = np.kron(a.data, b.data).reshape(paired)
    prod = _record_einsum(data, (a, b), (a.data, b.data), (la, lb),
                          "".join(p + q for p, q in zip(la, lb)))
    return prod.reshape(tuple(p * q for p, q in zip(a.shape, b.shape)))


# ---- diagonals ------------------------------------------------------------------------
def _diag_axes(op, x, axis1, axis2):
    try:
        a1 = normalize_axis_index(axis1, x.ndim)
        a2 = normalize_axis_index(axis2, x.ndim)
    except (ValueError, TypeError) as err:
        raise ValueError(f"{op}: axis1={axis1}, axis2={axis2} do not fit a tensor of shape "
                         f"{x.shape}; it needs at least 2 dimensions ({err})") from None
    if a1 == a2:
        raise ValueError(f"{op}: axis1 and axis2 must differ, got {axis1} and {axis2} "
                         f"(tensor of shape {x.shape})")
    return a1, a2


def diagonal(a, offset=0, axis1=0, axis2=1, *, dim1=None, dim2=None):
    """``np.diagonal``: the ``offset`` diagonal of the ``(axis1, axis2)`` planes.

    The diagonal becomes the last axis, the other axes keep their order.
    ``torch.diagonal(input, offset, dim1, dim2)`` means the same (``dim1=``/
    ``dim2=`` accepted). Returns a new, read-only array: numpy returns a
    read-only view, PyTorch a writable view (``x.diagonal().zero_()`` zeroes
    ``x``'s diagonal), so a write into it raises instead of being lost silently.
    Gradient: the output gradient written onto that diagonal of zeros
    (:func:`diagonal_scatter`). Raises ValueError for bad axes.
    """
    return _diagonal("diagonal", a, offset, axis1 if dim1 is None else dim1,
                     axis2 if dim2 is None else dim2)


def _diagonal(op, a, offset, axis1, axis2, read_only=True):
    x = a if isinstance(a, Tensor) else as_operand(op, a)
    a1, a2 = _diag_axes(op, x, axis1, axis2)
    offset = int(offset)
    data = np.diagonal(x.data, offset, a1, a2).copy()
    data.flags.writeable = not read_only  # diagonal: a write would not reach x (see its docstring)
    return record(data, _diagonal_backward, (x,), (x.shape, offset, a1, a2))


@backward_rule("diagonal")
def _diagonal_backward(g, out, inputs, saved, needs):
    shape, offset, a1, a2 = saved
    return (diagonal_scatter(g, shape, offset, a1, a2),)


def diagonal_scatter(g, shape, offset, axis1, axis2):
    """Zeros of ``shape`` with ``g`` on the diagonal that ``diagonal`` reads.

    The adjoint of :func:`diagonal` (``g`` has the diagonal's shape); a
    recorded op on Tensors whose backward is ``diagonal`` again.
    """
    if isinstance(g, Tensor):
        return record(_scatter_diag(g.data, shape, offset, axis1, axis2), _diagonal_scatter_backward,
                      (g,), (offset, axis1, axis2))
    return _scatter_diag(g, shape, offset, axis1, axis2)


def _scatter_diag(g, shape, offset, a1, a2):
    z = np.zeros(shape, dtype=g.dtype)
    zm = np.moveaxis(z, (a1, a2), (-2, -1))  # a view: writes land in z
    n = g.shape[-1]
    rows = np.arange(n) + max(-offset, 0)
    zm[..., rows, rows + offset] = g
    return z


@backward_rule("diagonal_scatter")
def _diagonal_scatter_backward(g, out, inputs, saved, needs):
    offset, a1, a2 = saved
    return (diagonal(g, offset, a1, a2) if isinstance(g, Tensor)
            else np.diagonal(g, offset, a1, a2),)


def trace(a, offset=0, axis1=0, axis2=1, dtype=None, out=None):
    """``np.trace``: the sum of the ``offset`` diagonal of the ``(axis1, axis2)`` planes.

    For 2-D input the same as ``torch.trace`` (which takes no other
    arguments and only 2-D); for N-D numpy's batched result (shape without
    ``axis1``, ``axis2``). Same values as ``np.trace`` (the diagonal summed
    along its axis). Gradient: ``g`` on the diagonal, zeros elsewhere.
    """
    if dtype is not None or out is not None:
        raise TypeError("trace: dtype= and out= are not supported on Tensors")
    from .reduce import sum as _sum

    return _sum(_diagonal("trace", a, offset, axis1, axis2), axis=-1)


def diag(v, k=0):
    """``np.diag``: a 1-D ``v`` on the ``k``-th diagonal of a square matrix, or a 2-D ``v``'s diagonal.

    1-D (n,) -> 2-D (n+|k|, n+|k|); 2-D -> 1-D (``diagonal(v, k)``). Same as
    ``torch.diag(input, diagonal=k)``. Raises ValueError for other ranks.
    """
    x = v if isinstance(v, Tensor) else as_operand("diag", v)
    k = int(k)
    if x.ndim == 2:
        return _diagonal("diag", x, k, 0, 1, read_only=False)  # torch.diag copies: writable
    if x.ndim != 1:
        raise ValueError(f"diag: input must be 1-D or 2-D, got shape {x.shape}")
    n = x.shape[0] + abs(k)
    return diagonal_scatter(x, (n, n), k, 0, 1)


def bmm(input, mat2):
    """PyTorch's ``torch.bmm``: batched matrix product of two 3-D tensors.

    Shapes (b, n, m) @ (b, m, p) -> (b, n, p). No broadcasting (as
    PyTorch); use :func:`matmul` for that. Raises ValueError naming both
    shapes otherwise.
    """
    a = input if isinstance(input, Tensor) else as_operand("bmm", input)
    b = mat2 if isinstance(mat2, Tensor) else as_operand("bmm", mat2)
    if a.ndim != 3 or b.ndim != 3 or a.shape[0] != b.shape[0] or a.shape[2] != b.shape[1]:
        raise ValueError(f"bmm: expected 3-D tensors (b, n, m) and (b, m, p), got shapes {a.shape} "
                         f"and {b.shape} (bmm does not broadcast; use matmul for that)")
    from .linalg import matmul

    return matmul(a, b)


NUMPY_FUNCTIONS = {
    np.einsum: einsum,
    np.tensordot: tensordot,
    np.outer: outer,
    np.inner: inner,
    np.vdot: vdot,
    np.kron: kron,
    np.trace: trace,
    np.diag: diag,
    np.diagonal: diagonal,
}

TENSOR_METHODS = {
    "trace": trace,
    "diagonal": diagonal,
    "bmm": bmm,
}
