"""Matrix functions and decompositions of ``np.linalg``, differentiable.

``np.linalg.det(t)`` etc. dispatch here through ``__array_function__``; the
same functions are public as ``tinygrad_edu.linalg.<name>``. Forward values
are numpy's (LAPACK), so they equal ``np.linalg``'s bit for bit. Inputs are
real (float or integer) stacks of matrices ``(..., m, n)``; complex input
raises TypeError (the rules here use transposes, not conjugate transposes).

Each backward rule is written with ops that are differentiable on Tensors
(``@``, ``np.linalg.solve``/``inv``/``eigh``/``svd`` dispatched back here,
``np.where``), so ``create_graph=True`` gives second derivatives. Where a
rule needs the decomposition itself (eigenvectors, singular vectors), the
plain backward uses the arrays saved by the forward and a recorded backward
recomputes the decomposition from the input Tensor (same LAPACK call, same
values), so its dependence on the input is recorded too.

Sources of the formulas (per function below): M. Giles, "An extended
collection of matrix derivative results for forward and reverse mode
algorithmic differentiation" (2008), section 2.2; I. Murray,
"Differentiation of the Cholesky decomposition" (2016); J. Townsend,
"Differentiating the singular value decomposition" (2016); J. Magnus &
H. Neudecker, "Matrix differential calculus" (3rd ed., ch. 8.9).

Symmetric inputs (``cholesky``, ``eigh``, ``eigvalsh``): numpy reads one
triangle only; the gradient returned is the symmetric one (as PyTorch's),
which is the derivative for perturbations that keep the matrix symmetric.
"""
from __future__ import annotations

import warnings
from collections import namedtuple

import numpy as np

from ..autograd import backward_rule, record
from ..tensor import Tensor
from ._common import as_operand
from ._norm import linalg_norm, matrix_norm, norm, vector_norm

__all__ = ["norm"]

SlogdetResult = namedtuple("SlogdetResult", ["sign", "logabsdet"])
EighResult = namedtuple("EighResult", ["eigenvalues", "eigenvectors"])
SVDResult = namedtuple("SVDResult", ["U", "S", "Vh"])

_LinAlgError = np.linalg.LinAlgError
from ._common import asarray as _asarray


def _matrix(op, a, square=True):
    """``a`` as a Tensor holding a real stack of (square) matrices, else a clear error."""
    x = a if isinstance(a, Tensor) else as_operand(op, a)
    if x.dtype.kind == "c":
        raise TypeError(f"{op}: complex input (dtype {x.dtype}) is not supported; real only")
    if x.ndim < 2:
        raise _LinAlgError(f"{op}: expected a matrix or a stack of matrices (..., m, n), got shape "
                           f"{x.shape}")
    if square and x.shape[-1] != x.shape[-2]:
        raise _LinAlgError(f"{op}: the last two dimensions must be square, got shape {x.shape}")
    return x


def _call(op, fn, shape, *args, **kwargs):
    """``fn(*args)`` with numpy's LinAlgError re-raised naming ``op`` and the input shape."""
    try:
        return fn(*args, **kwargs)
    except _LinAlgError as err:
        raise _LinAlgError(f"{op}: {err} (input of shape {shape})") from None
    except TypeError as err:  # e.g. float16, which LAPACK does not take
        dtypes = ", ".join(str(getattr(a, "dtype", type(a).__name__)) for a in args)
        raise TypeError(f"{op}: {err} (input of shape {shape}, dtype {dtypes})") from None


def _T(x):
    return np.swapaxes(x, -1, -2)


def _col(x):
    """(..., n) -> (..., n, 1); works on arrays and Tensors."""
    return x.reshape(tuple(x.shape) + (1,))


def _row(x):
    """(..., n) -> (..., 1, n)."""
    return x.reshape(tuple(x.shape[:-1]) + (1, x.shape[-1]))


def _recording(g):
    """Is this backward being recorded (create_graph), i.e. are the operands Tensors?"""
    return isinstance(g, Tensor)


def _inv_for(op, a):
    try:
        return np.linalg.inv(a)
    except _LinAlgError as err:
        raise _LinAlgError(f"{op} backward: the matrix is singular, the gradient needs its inverse "
                           f"({err})") from None


# ---- det, slogdet, inv, solve ---------------------------------------------------------
def det(a):
    """Determinant of each matrix in ``a`` (..., n, n) -> (...), as ``np.linalg.det``.

    Gradient (Giles 2008, 2.2.4): ``dA = g * det(A) * inv(A).T``. At a
    singular matrix the backward raises LinAlgError (the adjugate form is
    not implemented). Raises LinAlgError for non-square input.
    """
    x = _matrix("det", a)
    return record(_asarray(_call("det", np.linalg.det, x.shape, x.data)), _det_backward, (x,))


@backward_rule("det")
def _det_backward(g, out, inputs, saved, needs):
    return (_col(_col(g * out)) * _T(_inv_for("det", inputs[0])),)


def slogdet(a):
    """``(sign, logabsdet)`` of each matrix, as ``np.linalg.slogdet`` (a named tuple).

    ``sign`` has no gradient (piecewise constant). Gradient of
    ``logabsdet`` (Giles 2008, 2.2.4): ``dA = g * inv(A).T``; at a singular
    matrix (logabsdet = -inf) the backward raises LinAlgError.
    """
    x = _matrix("slogdet", a)
    sign, logabs = _call("slogdet", np.linalg.slogdet, x.shape, x.data)
    return SlogdetResult(Tensor._wrap(_asarray(sign)),
                         record(_asarray(logabs), _slogdet_backward, (x,)))


@backward_rule("slogdet")
def _slogdet_backward(g, out, inputs, saved, needs):
    return (_col(_col(g)) * _T(_inv_for("slogdet", inputs[0])),)


def inv(a):
    """Inverse of each matrix (..., n, n), as ``np.linalg.inv``.

    Gradient (Giles 2008, 2.2.3): ``dA = -inv(A).T @ g @ inv(A).T``.
    Raises LinAlgError (naming inv and the shape) for singular input.
    """
    x = _matrix("inv", a)
    return record(_call("inv", np.linalg.inv, x.shape, x.data), _inv_backward, (x,))


@backward_rule("inv")
def _inv_backward(g, out, inputs, saved, needs):
    t = _T(out)
    return (-(t @ g @ t),)


def solve(a, b):
    """``x`` with ``a @ x = b``, as ``np.linalg.solve`` (numpy 2 semantics).

    ``a`` (..., M, M); ``b`` is a vector only when 1-D, (M,) -> (..., M);
    otherwise a stack of matrices (..., M, K) -> (..., M, K), batch axes
    broadcasting. PyTorch reads a ``b`` with ``b.ndim == a.ndim - 1`` as a
    batch of vectors instead: where both readings are possible, this warns
    and gives numpy's; ``solve(a, b[..., None])[..., 0]`` is PyTorch's.

    Gradient (Giles 2008, 2.2.3): ``db = solve(a.T, g)``, ``da = -db @ x.T``.
    Raises LinAlgError for singular ``a``, ValueError for shapes that do not fit.
    """
    x = _matrix("solve", a)
    bt = b if isinstance(b, Tensor) else as_operand("solve", b)
    if bt.dtype.kind == "c":
        raise TypeError(f"solve: complex input (dtype {bt.dtype}) is not supported; real only")
    try:
        data = _call("solve", np.linalg.solve, x.shape, x.data, bt.data)
    except _LinAlgError:
        raise
    except ValueError as err:
        raise ValueError(f"solve: b of shape {bt.shape} does not fit a of shape {x.shape}: b must "
                         f"be (M,) or (..., M, K) ({err})") from None
    if bt.ndim >= 2 and bt.ndim == x.ndim - 1 and bt.shape[-1] == x.shape[-1]:
        warnings.warn(f"solve: b of shape {bt.shape} with a of shape {x.shape} is read as a stack "
                      "of matrices (numpy 2), not as a batch of vectors as torch.linalg.solve "
                      "reads it; for vectors use solve(a, b[..., None])[..., 0]", stacklevel=2)
    return record(data, _solve_backward, (x, bt), bt.ndim == 1)


@backward_rule("solve")
def _solve_backward(g, out, inputs, vector, needs):
    a = inputs[0]
    gc, xc = (_col(g), _col(out)) if vector else (g, out)
    gb = np.linalg.solve(_T(a), gc)
    ga = -(gb @ _T(xc)) if needs[0] else None
    if vector and needs[1]:
        gb = gb.reshape(tuple(gb.shape[:-1]))
    return (ga, gb if needs[1] else None)


# ---- cholesky ------------------------------------------------------------------------
def cholesky(a, upper=False):
    """Cholesky factor of each symmetric positive-definite matrix, as ``np.linalg.cholesky``.

    Lower ``L`` with ``a = L @ L.T`` (``upper=True``: ``L.T``). numpy reads
    the lower triangle only. Gradient (Murray 2016, eq. 10; the symmetric
    form PyTorch uses): ``P = Phi(L.T @ gL)`` (lower triangle, diagonal
    halved), ``dA = L^-T (P + P.T)/2 L^-1``. Raises LinAlgError naming
    cholesky when a matrix is not positive definite.
    """
    x = _matrix("cholesky", a)
    data = _call("cholesky", np.linalg.cholesky, x.shape, x.data, upper=upper)
    return record(data, _cholesky_backward, (x,), bool(upper))


@backward_rule("cholesky")
def _cholesky_backward(g, out, inputs, upper, needs):
    L, gL = (_T(out), _T(g)) if upper else (out, g)
    n = L.shape[-1]
    lower, diag = np.tri(n, k=-1, dtype=bool), np.eye(n, dtype=bool)
    X = _T(L) @ gL
    P = np.where(lower, X, 0) + np.where(diag, 0.5 * X, 0)
    S = 0.5 * (P + _T(P))
    Y = np.linalg.solve(_T(L), S)  # L^-T S
    return (_T(np.linalg.solve(_T(L), _T(Y))),)  # (L^-T (L^-T S).T).T = L^-T S L^-1


# ---- symmetric eigendecomposition --------------------------------------------------------
def eigh(a, UPLO="L"):
    """Eigenvalues (ascending) and eigenvectors of symmetric matrices, as ``np.linalg.eigh``.

    Returns ``(eigenvalues (..., n), eigenvectors (..., n, n))`` (columns),
    a named tuple. Gradients (Magnus & Neudecker, ch. 8.9; Giles 2008, 3.1):
    from the eigenvalues ``dA = V diag(gw) V.T``; from the eigenvectors
    ``dA = V (F * (V.T gV - gV.T V) / 2) V.T`` with
    ``F[i, j] = 1 / (w[j] - w[i])`` off the diagonal, 0 on it.

    Degenerate case: with repeated eigenvalues the eigenvectors are not
    unique and their gradient does not exist; it comes out inf or nan (as
    PyTorch's), with numpy's divide warning. The eigenvalue gradient stays
    finite. Eigenvector signs are LAPACK's: differentiate functions that do
    not depend on them (``V * V``, ``V @ diag @ V.T``).
    """
    x = _matrix("eigh", a)
    w, V = _call("eigh", np.linalg.eigh, x.shape, x.data, UPLO)
    # the rules keep private w, V: an in-place write into a returned factor
    # (not checked, as the rules never read `out`) must not change a gradient
    return EighResult(record(w.copy(), _eigh_values_backward, (x,), (V, UPLO)),
                      record(V.copy(), _eigh_vectors_backward, (x,), (w, V, UPLO)))


def eigvalsh(a, UPLO="L"):
    """Eigenvalues (ascending) of symmetric matrices, as ``np.linalg.eigvalsh``.

    Gradient ``dA = V diag(g) V.T`` (the eigenvectors are computed in the
    backward); finite also for repeated eigenvalues.
    """
    x = _matrix("eigvalsh", a)
    w = _call("eigvalsh", np.linalg.eigvalsh, x.shape, x.data, UPLO)
    return record(w, _eigh_values_backward, (x,), (None, UPLO))


@backward_rule("eigh_values")
def _eigh_values_backward(g, out, inputs, saved, needs):
    V, uplo = saved
    if _recording(g) or V is None:
        V = np.linalg.eigh(inputs[0], uplo)[1]
    return ((V * _row(g)) @ _T(V),)


@backward_rule("eigh_vectors")
def _eigh_vectors_backward(g, out, inputs, saved, needs):
    w, V, uplo = saved
    if _recording(g):
        w, V = np.linalg.eigh(inputs[0], uplo)
    F = _inverse_gaps(_row(w) - _col(w))
    VtgV = _T(V) @ g
    return (V @ (F * (0.5 * (VtgV - _T(VtgV)))) @ _T(V),)


def _inverse_gaps(E):
    """``1 / E`` off the diagonal and 0 on it (no division on the diagonal, so no inf there)."""
    off = ~np.eye(E.shape[-1], dtype=bool)
    return np.where(off, 1 / np.where(off, E, 1), 0)


# ---- singular value decomposition ---------------------------------------------------------
def svd(a, full_matrices=True, compute_uv=True, hermitian=False):
    """``U, S, Vh`` with ``a = U @ diag(S) @ Vh``, as ``np.linalg.svd`` (a named tuple).

    ``a`` (..., m, n), k = min(m, n): ``S`` (..., k) descending; ``U``
    (..., m, k) and ``Vh`` (..., k, n) with ``full_matrices=False`` (square
    (m, m), (n, n) with True, numpy's default). ``compute_uv=False`` returns
    ``S`` only.

    Gradients (Townsend 2016, eq. 30), with ``F[i, j] = 1 / (s[j]^2 - s[i]^2)``
    off the diagonal: from ``S``: ``U diag(gS) Vh``; from ``U``:
    ``U (F * (U.T gU - gU.T U)) S Vh + (I - U U.T) gU S^-1 Vh``; from
    ``Vh`` (V = Vh.T): ``U S (F * (V.T gV - gV.T V)) Vh + U S^-1 gV.T (I - V V.T)``.
    They need distinct singular values (and nonzero ones when m != n);
    otherwise they are inf or nan. The gradient of ``S`` always exists.
    ``full_matrices=True`` with m != n: the extra columns of U (rows of Vh)
    are not unique, so a gradient through ``U`` or ``Vh`` raises RuntimeError
    (use ``full_matrices=False``). Singular-vector signs are LAPACK's:
    differentiate functions that do not depend on them.
    """
    x = _matrix("svd", a, square=False)
    if not compute_uv:
        return _svdvals(x, hermitian)
    U, S, Vh = _call("svd", np.linalg.svd, x.shape, x.data, full_matrices, True, hermitian)
    m, n = x.shape[-2:]
    k = min(m, n)
    extra = full_matrices and m != n
    # the rules keep private factors: an in-place write into a returned one
    # (not checked, as the rules never read `out`) must not change a gradient
    return SVDResult(record(U.copy(), _svd_u_backward, (x,), (U, S, Vh, extra, hermitian)),
                     record(S.copy(), _svd_s_backward, (x,), (U[..., :k], Vh[..., :k, :], hermitian)),
                     record(Vh.copy(), _svd_vh_backward, (x,), (U, S, Vh, extra, hermitian)))


def svdvals(x):
    """Singular values (..., k), descending, as ``np.linalg.svdvals``; gradient ``U diag(g) Vh``."""
    return _svdvals(_matrix("svdvals", x, square=False), False)


def _svdvals(x, hermitian):
    S = _call("svdvals", np.linalg.svd, x.shape, x.data, compute_uv=False, hermitian=hermitian)
    return record(S, _svd_s_backward, (x,), (None, None, hermitian))


def _thin_svd(a, hermitian):
    return np.linalg.svd(a, full_matrices=False, hermitian=hermitian)


@backward_rule("svd_S")
def _svd_s_backward(g, out, inputs, saved, needs):
    U, Vh, herm = saved
    if _recording(g) or U is None:
        U, _, Vh = _thin_svd(inputs[0], herm)
    return ((U * _row(g)) @ Vh,)


def _svd_factors(g, inputs, saved, which):
    U, S, Vh, extra, herm = saved
    if extra:
        raise RuntimeError(f"svd: the gradient through {which} is not defined with "
                           "full_matrices=True for a non-square matrix (its extra singular "
                           "vectors are not unique); use full_matrices=False")
    if _recording(g):
        U, S, Vh = _thin_svd(inputs[0], herm)
    s2 = S * S
    return U, S, Vh, _inverse_gaps(_row(s2) - _col(s2))


@backward_rule("svd_U")
def _svd_u_backward(g, out, inputs, saved, needs):
    U, S, Vh, F = _svd_factors(g, inputs, saved, "U")
    UtgU = _T(U) @ g
    ga = (U @ (F * (UtgU - _T(UtgU))) * _row(S)) @ Vh
    if U.shape[-2] > U.shape[-1]:  # m > k: the part of gU outside span(U)
        ga = ga + ((g - U @ UtgU) / _row(S)) @ Vh
    return (ga,)


@backward_rule("svd_Vh")
def _svd_vh_backward(g, out, inputs, saved, needs):
    U, S, Vh, F = _svd_factors(g, inputs, saved, "Vh")
    gV = _T(g)
    VtgV = Vh @ gV
    ga = U @ ((F * (VtgV - _T(VtgV))) * _col(S)) @ Vh
    if Vh.shape[-1] > Vh.shape[-2]:  # n > k
        ga = ga + (U / _row(S)) @ (g - (g @ _T(Vh)) @ Vh)
    return (ga,)


NUMPY_FUNCTIONS = {
    np.linalg.norm: linalg_norm,
    np.linalg.vector_norm: vector_norm,
    np.linalg.matrix_norm: matrix_norm,
    np.linalg.det: det,
    np.linalg.slogdet: slogdet,
    np.linalg.inv: inv,
    np.linalg.solve: solve,
    np.linalg.cholesky: cholesky,
    np.linalg.eigh: eigh,
    np.linalg.eigvalsh: eigvalsh,
    np.linalg.svd: svd,
    np.linalg.svdvals: svdvals,
}

TENSOR_METHODS = {"norm": norm}
