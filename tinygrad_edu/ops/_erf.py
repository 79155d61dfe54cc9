"""The error function on numpy arrays (numpy has none, and scipy is not a dependency).

W. J. Cody, "Rational Chebyshev approximations for the error function",
Math. Comp. 23 (1969), 631-637, in the form of his later SPECFUN routine
CALERF (W. J. Cody, "Algorithm 715", ACM TOMS 19 (1993)):

- ``|x| <= 0.46875``: ``erf(x) = x * P(x^2) / Q(x^2)``;
- ``0.46875 < |x| <= 4``: ``erfc(|x|) = exp(-x^2) * P(|x|) / Q(|x|)``;
- ``|x| > 4``: ``erfc(|x|) = exp(-x^2) / |x| * (1/sqrt(pi) + R(1/x^2))``;

with ``exp(-x^2)`` evaluated as ``exp(-t^2) * exp(-(|x| - t)(|x| + t))``,
``t = |x|`` truncated to a multiple of 1/16, so that the rounding of
``x^2`` does not cost relative accuracy in ``erfc`` of large arguments.
Relative error is a few units in the last place of float64 (checked against
``math.erf``/``math.erfc`` in tests/test_activation_norm.py). Each range is
evaluated only on its own elements (boolean masks), so there are no Python
loops over elements; while a jit recording runs, on every element with the
ranges chosen by ``np.where`` (the same bits, see ``_selected``).
"""
from __future__ import annotations

import numpy as np
from .._mode import mode
from ._common import asarray as _asarray


_A = (3.16112374387056560e00, 1.13864154151050156e02, 3.77485237685302021e02,
      3.20937758913846947e03, 1.85777706184603153e-1)
_B = (2.36012909523441209e01, 2.44024637934444173e02, 1.28261652607737228e03,
      2.84423683343917062e03)
_C = (5.64188496988670089e-1, 8.88314979438837594e00, 6.61191906371416295e01,
      2.98635138197400131e02, 8.81952221241769090e02, 1.71204761263407058e03,
      2.05107837782607147e03, 1.23033935479799725e03, 2.15311535474403846e-8)
_D = (1.57449261107098347e01, 1.17693950891312499e02, 5.37181101862009858e02,
      1.62138957456669019e03, 3.29079923573345963e03, 4.36261909014324716e03,
      3.43936767414372164e03, 1.23033935480374942e03)
_P = (3.05326634961232344e-1, 3.60344899949804439e-1, 1.25781726111229246e-1,
      1.60837851487422766e-2, 6.58749161529837803e-4, 1.63153871373020978e-2)
_Q = (2.56852019228982242e00, 1.87295284992346725e00, 5.27905102951428412e-1,
      6.05183413124413191e-2, 2.33520497626869185e-3)
_SQRPI = 5.6418958354775628695e-1  # 1 / sqrt(pi)
_THRESH = 0.46875


def _as_float(x):
    x = _asarray(x)
    if x.dtype.kind in "fc":
        if x.dtype.kind == "c":
            raise TypeError(f"erf: complex input is not supported (dtype {x.dtype})")
        return x
    return x.astype(np.float64)


def _gauss_tail(y, r):
    """``r * exp(-y^2)`` with Cody's split of ``y^2`` (y >= 0); may overwrite ``r``."""
    y = np.minimum(y, 30.0)  # erfc underflows to 0 long before; avoids inf - inf for y = inf
    t = np.trunc(y * 16)
    t /= 16
    r *= np.exp(-t * t)
    r *= np.exp(-(y - t) * (y + t))
    return r


def _ratio(z, num_coefs, den_coefs, lead, n):
    """Cody's Horner form: ``(((lead z + p0) z + p1) z ...)`` over ``((z + q0) z + q1) ...``,
    n steps, in place on two work arrays."""
    num = lead * z
    den = z.copy()
    for i in range(n):
        num += num_coefs[i]
        num *= z
        den += den_coefs[i]
        den *= z
    num += num_coefs[n]
    den += den_coefs[n]
    num /= den
    return num


def _small(x):
    """erf(x) for |x| <= 0.46875."""
    r = _ratio(x * x, _A, _B, _A[4], 3)
    r *= x
    return r


def _mid(y):
    """erfc(y) for 0.46875 < y <= 4."""
    return _gauss_tail(y, _ratio(y, _C, _D, _C[8], 7))


def _large(y):
    """erfc(y) for y > 4 (and nan)."""
    z = 1 / (y * y)
    r = _ratio(z, _P, _Q, _P[5], 4)
    r *= z
    np.subtract(_SQRPI, r, out=r)
    r /= y
    return _gauss_tail(y, r)


@np.errstate(over="ignore", under="ignore", invalid="ignore", divide="ignore")  # (see _selected)
def erf_erfc(x, want=(True, True)):
    """``(erf(x), erfc(x))`` elementwise, as arrays of x's float dtype (float64 for ints).

    ``want`` says which of the two to compute (the other is None).
    """
    x = _as_float(x)
    y = np.abs(x)
    small = y <= _THRESH
    mid = (y > _THRESH) & (y <= 4.0)
    if mode.tracing is not None:
        return _selected(x, y, small, mid, want)
    large = ~(small | mid)  # includes inf and nan
    rest = ~small
    tail = np.empty_like(x)  # erfc(|x|) outside the small range
    tail[mid] = _mid(y[mid])
    tail[large] = _large(y[large])
    e = _small(x[small])
    r, neg = tail[rest], x[rest] < 0
    erf = erfc = None
    if want[0]:
        erf = np.empty_like(x)
        erf[small] = e
        one_minus = (0.5 - r) + 0.5
        erf[rest] = np.where(neg, -one_minus, one_minus)
    if want[1]:
        erfc = np.empty_like(x)
        erfc[small] = (0.5 - e) + 0.5
        erfc[rest] = np.where(neg, 2 - r, r)
    return erf, erfc


def _selected(x, y, small, mid, want):
    """``erf_erfc`` without boolean indexing, for a jit recording (an indexed array's
    shape depends on the values, which a replay cannot follow): each range's formula
    on every element, the element's own range chosen with ``np.where``. The same
    operations on each element as the masked evaluation, so the same bits; the other
    ranges' values (inf or nan where a formula does not apply) are discarded."""
    tail = np.where(mid, _mid(y), _large(y))  # erfc(|x|) outside the small range
    e = _small(x)
    neg = x < 0
    erf = erfc = None
    if want[0]:
        one_minus = (0.5 - tail) + 0.5
        erf = np.where(small, e, np.where(neg, -one_minus, one_minus))
    if want[1]:
        erfc = np.where(small, (0.5 - e) + 0.5, np.where(neg, 2 - tail, tail))
    return erf, erfc
