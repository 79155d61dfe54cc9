"""Differential fuzzer: random programs run side by side in tinygrad_edu and PyTorch.

A developer tool, not part of CI (it needs PyTorch: ``pip install torch==2.13.0``;
without it the script says so and exits 0). Run from the repository root::

    python tools/difffuzz.py --programs 20000 --seed 0          # a campaign
    python tools/difffuzz.py --programs 200 --show              # print each mismatch in full

Two kinds of program are drawn:

* **straight-line programs**: one to three leaves (float64 or float32, shapes
  with size-0, size-1 and 0-d dims, broadcastable), then 1-8 ops drawn from
  every op both libraries have (``OPS`` below: elementwise, reductions with
  ties, matmul, shape ops, indexing incl. advanced and boolean, the softmax
  family, losses, and the newer ops when this checkout has them). Values,
  first derivatives (a random vector-Jacobian product) and second
  derivatives (the gradient of ``sum(grad * w)``, through ``create_graph``)
  are compared. Values are kept away from poles, kinks and ties where an op
  has one (an op is drawn only for inputs in its domain).
* **autograd-state programs**: sequences of backward / retain_graph /
  accumulation / detach / no_grad / in-place calls; after each call the
  ``.grad`` of every leaf and whether the call raised must agree. They include
  integer indexing (a view in both libraries) followed by a write into the base,
  and an in-place op on such a view (written through to the base in both).

var/std are also drawn at their edges (a size-1 axis with ddof=1, an empty
axis, zero spread), where values and gradients are nan, inf or 0 as PyTorch's.

Differences that follow our documented numpy semantics are listed in
``tools/difffuzz_known.txt`` (one ``op: reason`` per line); a mismatch in a
listed op is counted as known, not as a failure. Exit status 1 if any
unknown mismatch was found.
"""
from __future__ import annotations

import argparse
import math
import pathlib
import sys
import traceback
import warnings

import numpy as np

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))

import tinygrad_edu as tg  # noqa: E402

try:
    import torch
except ImportError:  # pragma: no cover - the tool is optional
    torch = None

KNOWN_FILE = pathlib.Path(__file__).with_name("difffuzz_known.txt")
TOL = {np.float64: dict(rtol=1e-9, atol=1e-11), np.float32: dict(rtol=2e-4, atol=2e-5)}


def known_differences():
    """``{op: [(what, reason), ...]}`` from difffuzz_known.txt.

    A line is ``op: reason`` (any mismatch in a program that used ``op``),
    ``op / what: reason`` (only mismatches whose kind starts with ``what``,
    e.g. ``second derivative``), or ``op / what ~ regex: reason`` (and whose
    detail matches ``regex``); ``#`` starts a comment.
    """
    out = {}
    if KNOWN_FILE.exists():
        for line in KNOWN_FILE.read_text().splitlines():
            line = line.split("#", 1)[0].strip()
            if line:
                head, _, reason = line.partition(": ")
                head, _, detail = head.partition("~")
                op, _, what = head.partition("/")
                out.setdefault(op.strip(), []).append((what.strip(), detail.strip(), reason.strip()))
    return out


def is_known(used, mismatch, known):
    """Whether a mismatch is listed: some op of the program, with a matching kind of mismatch
    (and, where the line gives ``~ pattern``, a detail matching that regular expression)."""
    import re

    return any(mismatch.what.startswith(what) and (not detail or re.search(detail, mismatch.detail))
               for u in used for what, detail, _ in known.get(u, ()))


class Pair:
    """One value of the program in both libraries."""

    __slots__ = ("ours", "theirs")

    def __init__(self, ours, theirs):
        self.ours, self.theirs = ours, theirs

    @property
    def shape(self):
        return tuple(self.ours.shape)

    @property
    def data(self):
        return np.asarray(self.ours.data)


def _t(a, requires_grad=False):
    return torch.tensor(np.asarray(a), requires_grad=requires_grad)


# ---- drawing shapes and values ------------------------------------------------------------
def draw_shape(rng, max_dims=3):
    nd = int(rng.integers(0, max_dims + 1))
    sides = [0, 1, 1, 2, 3, 3, 4]
    return tuple(int(rng.choice(sides)) if rng.random() < 0.15 else int(rng.integers(1, 5))
                 for _ in range(nd))


def broadcast_partner(rng, shape):
    """A shape that broadcasts with ``shape`` (dropped leading dims, some dims set to 1)."""
    drop = int(rng.integers(0, len(shape) + 1))
    return tuple(1 if rng.random() < 0.3 else n for n in shape[drop:])


def draw_values(rng, shape, dtype, gapped=False):
    n = math.prod(shape)
    if gapped:  # distinct values at least 0.05 apart: no ties for max/sort
        grid = np.arange(-60, 61) * 0.05
        vals = rng.permutation(grid)[:n] if n <= grid.size else rng.uniform(-3, 3, n)
    else:
        vals = rng.uniform(-2, 2, n)
        if rng.random() < 0.2:  # some exact ties and zeros
            vals[rng.random(n) < 0.3] = 0.0
            if n > 1:
                vals[rng.random(n) < 0.2] = vals[0]
    return vals.reshape(shape).astype(dtype)


# ---- the op table ---------------------------------------------------------------------------
OPS = []


def op(name, arity=1, weight=1.0):
    def register(fn):
        OPS.append((name, arity, weight, fn))
        return fn
    return register


def _unary(name, ours, theirs, domain=None, weight=1.0):
    @op(name, 1, weight)
    def build(rng, x):
        if domain is not None and x.data.size and not domain(x.data):
            return None
        return ours(x.ours), theirs(x.theirs)


_unary("neg", lambda a: -a, lambda a: -a)
_unary("exp", tg.exp, torch.exp if torch else None)
_unary("log", tg.log, torch.log if torch else None, domain=lambda d: d.min() > 0.1)
_unary("log1p", tg.log1p, torch.log1p if torch else None, domain=lambda d: d.min() > -0.9)
_unary("sqrt", tg.sqrt, torch.sqrt if torch else None, domain=lambda d: d.min() > 0.05)
_unary("sin", tg.sin, torch.sin if torch else None)
_unary("cos", tg.cos, torch.cos if torch else None)
_unary("tanh", tg.tanh, torch.tanh if torch else None)
_unary("sigmoid", tg.sigmoid, torch.sigmoid if torch else None)
def _not_rounding_near_kink(d):
    """No value within rounding of 0 (|d| < 1e-9 but not 0): the two libraries' last-bit
    differences (another summation order in matmul) would decide which side of the kink it is."""
    return not np.any((d != 0) & (np.abs(d) < 1e-9))


_unary("relu", tg.relu, torch.relu if torch else None, domain=_not_rounding_near_kink)
_unary("abs", tg.abs, torch.abs if torch else None, domain=_not_rounding_near_kink)
_unary("square", lambda a: a * a, lambda a: a * a)
_unary("reciprocal", lambda a: 1.0 / a, lambda a: 1.0 / a, domain=lambda d: np.abs(d).min() > 0.2)
_unary("pow2.5", lambda a: a ** 2.5, lambda a: a ** 2.5, domain=lambda d: d.min() > 0.05)
_unary("pow3", lambda a: a ** 3, lambda a: a ** 3)
_unary("pow_half_relu", lambda a: tg.relu(a) ** 0.5, lambda a: torch.relu(a) ** 0.5)
_unary("sqrt_relu", lambda a: tg.sqrt(tg.relu(a)), lambda a: torch.sqrt(torch.relu(a)))
_unary("sqrt_clip", lambda a: tg.sqrt(tg.clip(a, 0, None)), lambda a: torch.sqrt(torch.clamp(a, min=0)))
_unary("clip", lambda a: tg.clip(a, -0.5, 0.7), lambda a: torch.clamp(a, -0.5, 0.7))
_unary("scale_shift", lambda a: a * 1.5 - 0.25, lambda a: a * 1.5 - 0.25)


def _axis(rng, ndim):
    if ndim == 0 or rng.random() < 0.3:
        return None
    if rng.random() < 0.7:
        return int(rng.integers(-ndim, ndim))
    k = int(rng.integers(1, ndim + 1))
    return tuple(sorted(int(a) for a in rng.choice(ndim, size=k, replace=False)))


def _torch_dims(axis, ndim):
    return tuple(range(ndim)) if axis is None else axis


def _count(shape, axis):
    if axis is None:
        return math.prod(shape)
    axes = axis if isinstance(axis, tuple) else (axis,)
    return math.prod(shape[a] for a in axes)


@op("sum", 1, 2.0)
def _sum(rng, x):
    axis, keep = _axis(rng, len(x.shape)), bool(rng.random() < 0.5)
    return x.ours.sum(axis=axis, keepdims=keep), x.theirs.sum(dim=_torch_dims(axis, len(x.shape)), keepdim=keep)


@op("mean", 1)
def _mean(rng, x):
    axis, keep = _axis(rng, len(x.shape)), bool(rng.random() < 0.5)
    if _count(x.shape, axis) == 0:
        return None
    return x.ours.mean(axis=axis, keepdims=keep), x.theirs.mean(dim=_torch_dims(axis, len(x.shape)), keepdim=keep)


@op("amax/amin", 1)
def _extreme(rng, x):
    axis, keep = _axis(rng, len(x.shape)), bool(rng.random() < 0.5)
    if _count(x.shape, axis) == 0 or x.data.size == 0:
        return None
    dims = _torch_dims(axis, len(x.shape))
    if rng.random() < 0.5:
        return x.ours.max(axis=axis, keepdims=keep), torch.amax(x.theirs, dim=dims, keepdim=keep)
    return x.ours.min(axis=axis, keepdims=keep), torch.amin(x.theirs, dim=dims, keepdim=keep)


@op("var/std", 1)
def _var(rng, x):
    axis, keep = _axis(rng, len(x.shape)), bool(rng.random() < 0.5)
    # Degenerate cases are drawn too: n - ddof <= 0 (a size-1 axis with ddof=1, an empty
    # axis: nan/inf values and gradients). std at zero spread is "std_zero_spread" below.
    ddof = int(rng.integers(0, 2))
    if not x.shape and ddof:
        # 0-d with ddof=1: torch's 0-d backward is grad * where(x == mean, nan, inf), whose
        # derivative is 0; its dim= path (ours) 2 / 0 * (x - mean) gives nan. First derivatives
        # agree (nan): only second derivatives of a nan gradient would differ.
        return None
    dims = _torch_dims(axis, len(x.shape))
    if rng.random() < 0.5:
        return x.ours.var(axis=axis, keepdims=keep, ddof=ddof), torch.var(x.theirs, dim=dims, keepdim=keep, correction=ddof)
    d = x.data.reshape(x.shape)
    with np.errstate(all="ignore"):
        spread = np.var(d, axis=axis, keepdims=True)
    if np.any(spread < 1e-3):  # zero spread: std_zero_spread; near it: ill-conditioned
        return None
    return x.ours.std(axis=axis, keepdims=keep, ddof=ddof), torch.std(x.theirs, dim=dims, keepdim=keep, correction=ddof)


@op("std_zero_spread", 1, 0.5)
def _std_zero(rng, x):
    """std where some reduced slice has all values equal (incl. one value): gradient 0 (torch's)."""
    axis, keep = _axis(rng, len(x.shape)), bool(rng.random() < 0.5)
    ddof = int(rng.integers(0, 2))
    with np.errstate(all="ignore"):
        spread = np.var(x.data.reshape(x.shape), axis=axis, keepdims=True)
    if not np.any(spread == 0) or np.any((spread > 0) & (spread < 1e-3)):
        return None
    dims = _torch_dims(axis, len(x.shape))
    return x.ours.std(axis=axis, keepdims=keep, ddof=ddof), torch.std(x.theirs, dim=dims, keepdim=keep, correction=ddof)


@op("logsumexp", 1)
def _lse(rng, x):
    if not x.shape or x.data.size == 0:
        return None
    axis = int(rng.integers(-len(x.shape), len(x.shape)))
    keep = bool(rng.random() < 0.5)
    return x.ours.logsumexp(axis=axis, keepdims=keep), torch.logsumexp(x.theirs, dim=axis, keepdim=keep)


@op("softmax", 1)
def _softmax(rng, x):
    if not x.shape:
        return None
    axis = int(rng.integers(-len(x.shape), len(x.shape)))
    if rng.random() < 0.5:
        return tg.softmax(x.ours, axis=axis), torch.softmax(x.theirs, dim=axis)
    return tg.log_softmax(x.ours, axis=axis), torch.log_softmax(x.theirs, dim=axis)


def _binary(name, ours, theirs, domain_b=None, domain_a=None, weight=1.0):
    @op(name, 2, weight)
    def build(rng, a, b):
        try:
            np.broadcast_shapes(a.shape, b.shape)
        except ValueError:
            return None
        if domain_a is not None and a.data.size and not domain_a(a.data):
            return None
        if domain_b is not None and b.data.size and not domain_b(b.data):
            return None
        return ours(a.ours, b.ours), theirs(a.theirs, b.theirs)


_binary("add", lambda a, b: a + b, lambda a, b: a + b, weight=2.0)
_binary("sub", lambda a, b: a - b, lambda a, b: a - b)
_binary("mul", lambda a, b: a * b, lambda a, b: a * b, weight=2.0)
_binary("div", lambda a, b: a / b, lambda a, b: a / b, domain_b=lambda d: np.abs(d).min() > 0.2)
_binary("pow_tt", lambda a, b: a ** b, lambda a, b: a ** b, domain_a=lambda d: d.min() > 0.1)
_binary("maximum", tg.maximum, torch.maximum if torch else None)
_binary("minimum", tg.minimum, torch.minimum if torch else None)
_binary("where", lambda a, b: tg.where(a > 0, a, b), lambda a, b: torch.where(a > 0, a, b))


@op("matmul", 2, 1.5)
def _matmul(rng, a, b):
    sa, sb = a.shape, b.shape
    if not sa or not sb:
        return None
    k_a = sa[-1]
    k_b = sb[0] if len(sb) == 1 else sb[-2]
    if k_a != k_b:
        return None
    try:
        np.matmul(np.empty(sa), np.empty(sb))
    except ValueError:
        return None
    return a.ours @ b.ours, a.theirs @ b.theirs


@op("reshape", 1)
def _reshape(rng, x):
    n = math.prod(x.shape)
    options = [(-1,), (n, 1), (1, n)] + ([tuple(reversed(x.shape))] if x.shape else [])
    target = options[int(rng.integers(len(options)))]
    return x.ours.reshape(target), x.theirs.reshape(target)


@op("transpose", 1)
def _transpose(rng, x):
    perm = tuple(int(p) for p in rng.permutation(len(x.shape)))
    return tg.transpose(x.ours, perm), x.theirs.permute(perm)


@op("swapaxes", 1)
def _swapaxes(rng, x):
    if len(x.shape) < 2:
        return None
    a, b = (int(v) for v in rng.choice(len(x.shape), 2, replace=False))
    return tg.swapaxes(x.ours, a, b), torch.transpose(x.theirs, a, b)


@op("unsqueeze/squeeze", 1)
def _squeeze(rng, x):
    if rng.random() < 0.5:
        ax = int(rng.integers(-len(x.shape) - 1, len(x.shape) + 1))
        return tg.expand_dims(x.ours, ax), x.theirs.unsqueeze(ax)
    ones = [i for i, n in enumerate(x.shape) if n == 1]
    if not ones:
        return None
    ax = ones[int(rng.integers(len(ones)))]
    return tg.squeeze(x.ours, ax), x.theirs.squeeze(ax)


@op("broadcast_to", 1)
def _broadcast(rng, x):
    target = tuple(int(rng.integers(1, 4)) if n == 1 else n for n in x.shape)
    if rng.random() < 0.5:
        target = (2,) + target
    return tg.broadcast_to(x.ours, target), x.theirs.expand(target)


@op("getitem", 1, 2.0)
def _getitem(rng, x):
    if not x.shape:
        return None
    kind = rng.choice(["int", "slice", "array", "mask"])
    n = x.shape[0]
    if kind == "int":
        if n == 0:
            return None
        i = int(rng.integers(-n, n))
        return x.ours[i], x.theirs[i]
    if kind == "slice":
        start, stop = sorted(int(v) for v in rng.integers(-n - 1, n + 2, 2))
        step = int(rng.choice([1, 1, 2, 3]))
        s = slice(start, stop, step)
        return x.ours[s], x.theirs[s]
    if kind == "array":
        if n == 0:
            return None
        idx = rng.integers(-n, n, int(rng.integers(0, 5)))
        return x.ours[idx], x.theirs[torch.tensor(idx, dtype=torch.long)]
    mask = rng.random(x.shape) < 0.5
    return x.ours[mask], x.theirs[torch.tensor(mask)]


@op("concatenate/stack", 2)
def _join(rng, a, b):
    if a.shape != b.shape:
        return None
    if rng.random() < 0.5:
        ax = int(rng.integers(-len(a.shape) - 1, len(a.shape) + 1))
        return tg.stack([a.ours, b.ours], axis=ax), torch.stack([a.theirs, b.theirs], dim=ax)
    if not a.shape:
        return None
    ax = int(rng.integers(-len(a.shape), len(a.shape)))
    return tg.concatenate([a.ours, b.ours], axis=ax), torch.cat([a.theirs, b.theirs], dim=ax)


@op("mse_loss", 2)
def _mse(rng, a, b):
    if a.shape != b.shape:
        return None
    return tg.nn.functional.mse_loss(a.ours, b.ours), torch.nn.functional.mse_loss(a.theirs, b.theirs)


@op("bce_with_logits", 2)
def _bce(rng, a, b):
    if a.shape != b.shape or not a.shape or b.data.size == 0:
        return None
    y = b.ours.sigmoid(), torch.sigmoid(b.theirs)  # targets in (0, 1), differentiable too
    return (tg.nn.functional.binary_cross_entropy_with_logits(a.ours, y[0]),
            torch.nn.functional.binary_cross_entropy_with_logits(a.theirs, y[1]))


@op("cross_entropy", 1)
def _ce(rng, x):
    if len(x.shape) != 2 or 0 in x.shape:
        return None
    n, c = x.shape
    target = rng.integers(0, c, n)
    red = str(rng.choice(["mean", "sum", "none"]))
    return (tg.nn.functional.cross_entropy(x.ours, target, reduction=red),
            torch.nn.functional.cross_entropy(x.theirs, torch.tensor(target), reduction=red))


def _optional_ops():
    """Ops this checkout may have (added by later work): registered only when present."""
    def has(*names):
        return all(hasattr(tg, n) for n in names)

    if has("cumsum"):
        @op("cumsum", 1)
        def _cumsum(rng, x):
            if not x.shape:
                return None
            ax = int(rng.integers(-len(x.shape), len(x.shape)))
            return tg.cumsum(x.ours, axis=ax), torch.cumsum(x.theirs, dim=ax)
    if has("prod"):
        @op("prod", 1)
        def _prod(rng, x):
            if not x.shape:
                return x.ours.prod() if hasattr(x.ours, "prod") else tg.prod(x.ours), torch.prod(x.theirs)
            ax = int(rng.integers(-len(x.shape), len(x.shape)))
            return tg.prod(x.ours, axis=ax), torch.prod(x.theirs, dim=ax)
    if has("einsum"):
        @op("einsum", 2)
        def _einsum(rng, a, b):
            if len(a.shape) != 2 or len(b.shape) != 2 or a.shape[1] != b.shape[0]:
                return None
            return tg.einsum("ij,jk->ik", a.ours, b.ours), torch.einsum("ij,jk->ik", a.theirs, b.theirs)
    if has("flip"):
        @op("flip", 1)
        def _flip(rng, x):
            if not x.shape:
                return None
            ax = int(rng.integers(-len(x.shape), len(x.shape)))
            return tg.flip(x.ours, ax), torch.flip(x.theirs, (ax,))
    if has("tril"):
        @op("tril", 1)
        def _tril(rng, x):
            if len(x.shape) < 2:
                return None
            k = int(rng.integers(-1, 2))
            return tg.tril(x.ours, k), torch.tril(x.theirs, k)
    if has("expm1", "arctan2", "hypot"):
        _unary("expm1", tg.expm1, torch.expm1)
        _unary("sinh", tg.sinh, torch.sinh)
        _unary("arctan", tg.arctan, torch.atan)
        _binary("arctan2", tg.arctan2, torch.atan2, domain_b=lambda d: np.abs(d).min() > 0.2)
        _binary("hypot", tg.hypot, torch.hypot, domain_a=lambda d: np.abs(d).min() > 0.1)
    F = tg.nn.functional
    if hasattr(F, "gelu"):
        _unary("gelu", F.gelu, torch.nn.functional.gelu)
        _unary("silu", F.silu, torch.nn.functional.silu)
        _unary("softplus", F.softplus, torch.nn.functional.softplus)
    if hasattr(F, "layer_norm"):
        @op("layer_norm", 1)
        def _ln(rng, x):
            if not x.shape or x.shape[-1] < 2 or x.data.size == 0:
                return None
            if np.any(np.var(x.data, axis=-1) < 1e-3):
                return None
            return F.layer_norm(x.ours, x.shape[-1:]), torch.nn.functional.layer_norm(x.theirs, x.shape[-1:])


# ---- running and comparing ------------------------------------------------------------
class Mismatch(Exception):
    def __init__(self, op, what, detail):
        super().__init__(f"{op}: {what}: {detail}")
        self.op, self.what, self.detail = op, what, detail


def _compare(op, what, ours, theirs, dtype):
    a = np.asarray(ours.data if isinstance(ours, tg.Tensor) else ours)
    if torch.is_tensor(theirs) and theirs._is_zerotensor():
        theirs = torch.zeros(theirs.shape, dtype=theirs.dtype)
    b = theirs.detach().numpy(force=True) if torch.is_tensor(theirs) else np.asarray(theirs)
    if a.shape != b.shape:
        raise Mismatch(op, what, f"shape {a.shape} vs PyTorch {b.shape}")
    if a.dtype != b.dtype:
        raise Mismatch(op, what, f"dtype {a.dtype} vs PyTorch {b.dtype}")
    if not np.allclose(a, b, equal_nan=True, **TOL[dtype]):
        bad = ~np.isclose(a, b, equal_nan=True, **TOL[dtype])
        raise Mismatch(op, what, f"{np.dtype(dtype).name}: values differ at {np.argwhere(bad)[:3].tolist()}: "
                                 f"ours {a[bad][:3]} vs PyTorch {b[bad][:3]}")


def run_program(rng, known, show=False):
    """One straight-line program; returns (ops used, mismatch or None, was it known)."""
    dtype = np.float64 if rng.random() < 0.75 else np.float32
    shape = draw_shape(rng)
    leaves = []
    for i in range(int(rng.integers(1, 4))):
        s = shape if i == 0 else (shape if rng.random() < 0.5 else broadcast_partner(rng, shape))
        vals = draw_values(rng, s, dtype, gapped=rng.random() < 0.5)
        leaves.append(Pair(tg.Tensor(vals, requires_grad=True), _t(vals, requires_grad=True)))
    values = list(leaves)
    used = []
    for _ in range(int(rng.integers(1, 9))):
        for _attempt in range(10):
            name, arity, _, build = OPS[int(rng.choice(len(OPS), p=_WEIGHTS))]
            args = [values[int(rng.integers(len(values)))] for _ in range(arity)]
            try:
                res = build(rng, *args)
            except Exception as err:  # an op raising where PyTorch did not: a finding
                m = Mismatch(name, "forward raised", repr(err))
                return used + [name], m, is_known([name], m, known)
            if res is None:
                continue
            ours, theirs = res
            used.append(name)
            try:
                _compare(name, "value", ours, theirs, dtype)
            except Mismatch as m:
                return used, m, is_known([name], m, known)
            values.append(Pair(ours, theirs))
            break
    out = values[-1]
    if not out.ours.requires_grad:
        return used, None, False
    w = draw_values(rng, out.shape, dtype)
    try:
        g_ours = tg.grad([out.ours], [l.ours for l in leaves], [w], create_graph=True, allow_unused=True)
    except Exception as err:
        return used, Mismatch(used[-1] if used else "?", "backward raised", repr(err)), False
    g_theirs = torch.autograd.grad([out.theirs], [l.theirs for l in leaves], [_t(w)], create_graph=True,
                                   allow_unused=True)
    culprit = ",".join(used)
    for k, (go, gt) in enumerate(zip(g_ours, g_theirs)):
        if go is None and gt is None:
            continue
        go_arr = np.zeros(leaves[k].shape, dtype) if go is None else go
        gt_arr = torch.zeros(leaves[k].shape, dtype=gt.dtype if gt is not None else None) if gt is None else gt
        try:
            _compare(culprit, f"grad of leaf {k}", go_arr, gt_arr, dtype)
        except Mismatch as m:
            return used, m, is_known(used, m, known)
    # second order: d/dleaves of sum(grad * v)
    pairs = [(go, gt, leaves[k]) for k, (go, gt) in enumerate(zip(g_ours, g_theirs))
             if go is not None and gt is not None and go.requires_grad and gt.requires_grad]
    if pairs:
        total_o = total_t = 0
        for go, gt, leaf in pairs:
            v = draw_values(rng, leaf.shape, dtype)
            total_o = total_o + (go * v).sum()
            total_t = total_t + (gt * _t(v)).sum()
        try:
            gg_o = tg.grad([total_o], [l.ours for l in leaves], allow_unused=True)
        except Exception as err:
            return used, Mismatch(culprit, "second backward raised", repr(err)), False
        gg_t = torch.autograd.grad([total_t], [l.theirs for l in leaves], allow_unused=True)
        for k, (go, gt) in enumerate(zip(gg_o, gg_t)):
            if go is None or gt is None:
                if (go is None) != (gt is None):  # one side unused: compare with zeros
                    other = go if go is not None else gt
                    if torch.is_tensor(other) and other._is_zerotensor():
                        continue  # PyTorch's symbolic zeros (and numpy(force=True) of one crashes)
                    arr = np.asarray(other.data if isinstance(other, tg.Tensor) else other.detach().numpy(force=True))
                    if np.any(arr != 0):
                        return used, Mismatch(culprit, f"second derivative of leaf {k}",
                                              "unused on one side, nonzero on the other"), False
                continue
            try:
                _compare(culprit, f"second derivative of leaf {k}", go, gt, dtype)
            except Mismatch as m:
                return used, m, is_known(used, m, known)
    return used, None, False


_STATE_ACTIONS = ["backward", "backward_retain", "detach_mix", "no_grad_mix", "inplace",
                  "zero_grad", "new_graph", "index_then_write", "view_inplace"]
_STATE_P = np.full(len(_STATE_ACTIONS), 1 / len(_STATE_ACTIONS))


def run_state_program(rng):
    """backward / retain_graph / accumulation / detach / no_grad / in-place sequences."""
    vals = draw_values(rng, (3,), np.float64, gapped=True)
    a_o, a_t = tg.Tensor(vals, requires_grad=True), _t(vals, requires_grad=True)
    log = []
    y_o, y_t = a_o * a_o, a_t * a_t
    for _ in range(int(rng.integers(2, 8))):
        action = str(rng.choice(_STATE_ACTIONS, p=_STATE_P))
        log.append(action)
        outcome = []
        for lib, y, a in (("ours", y_o, a_o), ("theirs", y_t, a_t)):
            try:
                if action == "backward":
                    y.sum().backward()
                elif action == "backward_retain":
                    y.sum().backward(retain_graph=True)
                elif action == "detach_mix":
                    y = y * y.detach()
                elif action == "no_grad_mix":
                    ctx = tg.no_grad() if lib == "ours" else torch.no_grad()
                    with ctx:
                        c = a * 2
                    y = y + c
                elif action == "inplace":
                    y = y * 1.0
                    y.mul_(1.5) if lib == "theirs" else y.mul_(1.5)
                elif action == "zero_grad":
                    a.grad = None
                elif action == "index_then_write":
                    # x[i] is a view in both: it sees the base's later (untracked) write
                    v = y[1]
                    ctx = tg.no_grad() if lib == "ours" else torch.no_grad()
                    with ctx:
                        y.mul_(1.5)
                    y = y + v * 2.0
                elif action == "view_inplace":
                    # both write through the view into y (a recorded setitem / CopySlices)
                    y = y * 1.0
                    v = y[1]
                    v += a[0]
                elif action == "new_graph":
                    y = (a.sin() if lib == "theirs" else tg.sin(a)) * a
                outcome.append(None)
            except RuntimeError as err:
                outcome.append(type(err).__name__)
            if lib == "ours":
                y_o = y
            else:
                y_t = y
        if (outcome[0] is None) != (outcome[1] is None):
            return log, Mismatch(action, "error parity", f"ours {outcome[0]}, PyTorch {outcome[1]}")
        go, gt = a_o.grad, a_t.grad
        if (go is None) != (gt is None):
            return log, Mismatch(action, ".grad presence", f"ours {go}, PyTorch {gt}")
        if go is not None:
            try:
                _compare(action, ".grad", go, gt, np.float64)
            except Mismatch as m:
                return log, m
        if outcome[0] is not None:
            break
    return log, None


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--programs", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--show", action="store_true", help="print every mismatch in full")
    args = parser.parse_args(argv)
    if torch is None:
        print("difffuzz: PyTorch is not installed (pip install torch==2.13.0); nothing to do")
        return 0
    torch.set_num_threads(1)
    np.seterr(all="ignore")  # nan/inf are compared, not warned about
    warnings.filterwarnings("ignore", "(?i).*degrees of freedom")  # degenerate var/std, both sides
    _optional_ops()
    global _WEIGHTS
    _WEIGHTS = np.array([w for _, _, w, _ in OPS]) / sum(w for _, _, w, _ in OPS)
    known = known_differences()
    rng = np.random.default_rng(args.seed)
    counts = {"programs": 0, "mismatches": 0, "known": 0, "state programs": 0}
    families, failures = {}, []
    for i in range(args.programs):
        stateful = rng.random() < 0.1
        try:
            if stateful:
                used, mismatch = run_state_program(rng)
                known_one = mismatch is not None and is_known([mismatch.op], mismatch, known)
                counts["state programs"] += 1
            else:
                used, mismatch, known_one = run_program(rng, known)
        except Exception:  # the harness itself broke: report, keep going
            mismatch, known_one, used = Mismatch("harness", "crash", traceback.format_exc(limit=3)), False, []
        counts["programs"] += 1
        for u in used:
            families[u] = families.get(u, 0) + 1
        if mismatch is not None:
            if known_one:
                counts["known"] += 1
            else:
                counts["mismatches"] += 1
                failures.append((i, used, mismatch))
                if args.show:
                    print(f"program {i} ({' -> '.join(used)}): {mismatch}")
    print(f"difffuzz: {counts['programs']} programs ({counts['state programs']} autograd-state), "
          f"{len(families)} ops drawn, {counts['mismatches']} unknown mismatches, "
          f"{counts['known']} known differences")
    print("ops drawn: " + ", ".join(f"{k} {v}" for k, v in sorted(families.items())))
    by_op = {}
    for _, _, m in failures:
        by_op.setdefault(f"{m.op} / {m.what}", []).append(m.detail)
    for key, details in sorted(by_op.items()):
        print(f"  {len(details):5d}x {key}: {details[0][:200]}")
    return 1 if failures else 0


_WEIGHTS = None

if __name__ == "__main__":
    sys.exit(main())
