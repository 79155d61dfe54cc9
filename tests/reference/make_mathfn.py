"""Regenerate tests/reference/mathfn.npz: PyTorch's values and gradients for the mathfn/rounding ops.

Run from the repository root with torch installed (it is never imported by
the library or the tests, which only load the .npz):

    python tests/reference/make_mathfn.py

Each case stores, under ``<case>/``, the inputs (``in0``, ``in1``, ...), the
upstream gradient ``g``, torch's output ``out`` and the gradients ``grad0``,
``grad1``, ... of the inputs that require grad (float64 throughout; integer
cases store values only). ``<case>/hess0`` holds a second derivative where
one is recorded: the gradient of ``sum(grad0)`` with respect to input 0.
"""
from __future__ import annotations

import pathlib

import numpy as np
import torch

torch.set_default_dtype(torch.float64)
OUT = pathlib.Path(__file__).with_name("mathfn.npz")
rng = np.random.default_rng(20261203)
store = {}


def run(name, fn, *inputs, grad=True, hess=False):
    """Evaluate ``fn`` in torch on float64 copies of ``inputs``; store values and gradients."""
    ts = [torch.tensor(np.asarray(x), requires_grad=grad and np.asarray(x).dtype.kind == "f")
          for x in inputs]
    out = fn(*ts)
    for i, x in enumerate(inputs):
        store[f"{name}/in{i}"] = np.asarray(x)
    store[f"{name}/out"] = out.detach().numpy()
    if not grad:
        return
    g = rng.uniform(0.5, 1.5, out.shape)
    store[f"{name}/g"] = g
    grads = torch.autograd.grad(out, ts, torch.tensor(g), create_graph=hess)
    for i, gi in enumerate(grads):
        store[f"{name}/grad{i}"] = gi.detach().numpy()
    if hess:
        (h,) = torch.autograd.grad(grads[0].sum(), ts[0])
        store[f"{name}/hess0"] = h.numpy()


# mod / fmod / rounded division with every sign combination, exact multiples included
xs = np.array([-7.5, -6.0, -2.5, -0.75, 0.0, 0.75, 2.5, 6.0, 7.5])
ys = np.array([-2.0, -0.5, 0.5, 2.0, 3.0])
X, Y = (a.ravel() for a in np.meshgrid(xs, ys))
run("remainder", torch.remainder, X, Y)
run("fmod", torch.fmod, X, Y)
run("div_trunc", lambda a, b: torch.div(a, b, rounding_mode="trunc"), X, Y)
run("div_floor", lambda a, b: torch.div(a, b, rounding_mode="floor"), X, Y)
run("floor_divide", torch.floor_divide, X, Y, grad=False)  # torch: floor_divide has no derivative
Xi, Yi = (a.ravel() for a in np.meshgrid(np.array([-7, -6, -1, 0, 1, 6, 7]), np.array([-3, -2, 2, 3])))
run("int_remainder", torch.remainder, Xi, Yi, grad=False)
run("int_fmod", torch.fmod, Xi, Yi, grad=False)
run("int_div_trunc", lambda a, b: torch.div(a, b, rounding_mode="trunc"), Xi, Yi, grad=False)
run("int_div_floor", lambda a, b: torch.div(a, b, rounding_mode="floor"), Xi, Yi, grad=False)

# clamp: at and between the bounds, scalar and tensor bounds, crossed bounds
xc = np.array([-1.0, 0.0, 0.25, 1.0, 2.0])
run("clamp", lambda a: torch.clamp(a, 0.0, 1.0), xc)
run("clamp_min", lambda a: torch.clamp_min(a, 0.0), xc)
run("clamp_max", lambda a: torch.clamp_max(a, 1.0), xc)
run("clamp_tensor", lambda a, lo, hi: torch.clamp(a, lo, hi), xc, np.array([0.0, 0.5, 0.0, 0.5, 0.0]),
    np.array([1.0, 1.0, 0.2, 1.0, 3.0]))
run("clamp_crossed", lambda a, lo, hi: torch.clamp(a, lo, hi), xc, np.full(5, 0.6), np.full(5, 0.3))

# rounding at .5 and at 0
xr = np.array([-2.5, -1.5, -0.5, -0.0, 0.0, 0.5, 1.5, 2.5, 0.49, -3.7])
run("sign", torch.sign, xr)
run("round", torch.round, xr)
run("round_decimals", lambda a: torch.round(a, decimals=1), np.array([0.25, 0.35, -0.45, 1.05, 2.675, -12.34]))
run("round_decimals_negative", lambda a: torch.round(a, decimals=-1), np.array([15.0, 25.0, -35.0, 1234.5]))
run("floor", torch.floor, xr)
run("ceil", torch.ceil, xr)
run("trunc", torch.trunc, xr)
run("frac", torch.frac, xr)

# smooth ops at their special points
run("sinc", torch.sinc, np.array([1e-3, 0.01, 0.3, -0.7, 1.0, 2.5]), hess=True)
run("sinc_at_0", torch.sinc, np.array([0.0, 0.5]))  # second derivative at 0: torch nan, ours -pi**2/3
big = np.array([-1000.0, -1.0, 0.0, 2.0, 1000.0, -np.inf])
A, B = (a.ravel() for a in np.meshgrid(big[:-1], big))
run("logaddexp", torch.logaddexp, A, B)
run("logaddexp2", torch.logaddexp2, A, B)
run("logaddexp_hess", torch.logaddexp, np.array([-1.0, 0.5, 2.0]), np.array([0.5, 0.5, -3.0]), hess=True)
pts = np.array([-2.0, -0.5, 0.0, 0.5, 3.0])
P, Q = (a.ravel() for a in np.meshgrid(pts, pts))
run("hypot", torch.hypot, P, Q)  # (0, 0): nan gradient in torch
run("atan2", torch.atan2, P, Q)  # (0, 0): 0 gradient in torch
off = (P != 0) | (Q != 0)  # the second derivative at the origin: torch nan, ours 0 (its convention's)
run("atan2_hess", torch.atan2, P[off], Q[off], hess=True)
run("xlogy", torch.xlogy, np.array([0.0, 0.0, 0.0, 1.5, -2.0, 3.0, 0.0]),
    np.array([0.0, 2.0, -1.0, 0.5, 3.0, 1.0, np.nan]))
run("nan_to_num", torch.nan_to_num, np.array([np.nan, np.inf, -np.inf, 1.5, -0.0]))
run("nan_to_num_values", lambda a: torch.nan_to_num(a, nan=2.0, posinf=9.0, neginf=-9.0),
    np.array([np.nan, np.inf, -np.inf, 1.5]))
run("fmax", torch.fmax, np.array([1.0, np.nan, 3.0, np.nan, -1.0]), np.array([2.0, 1.0, np.nan, np.nan, -2.0]))
run("fmin", torch.fmin, np.array([1.0, np.nan, 3.0, np.nan, -1.0]), np.array([2.0, 1.0, np.nan, np.nan, -2.0]))
run("maximum_tie", torch.maximum, np.array([1.0, 2.0, 3.0]), np.array([1.0, 5.0, 0.0]))
run("asin", torch.asin, np.array([-0.9, 0.0, 0.5]), hess=True)
run("acosh", torch.acosh, np.array([1.2, 2.0, 5.0]), hess=True)
run("atanh", torch.atanh, np.array([-0.5, 0.0, 0.9]), hess=True)
run("exp2", torch.exp2, np.array([-1.5, 0.0, 3.0]), hess=True)
run("log2", torch.log2, np.array([0.3, 1.0, 8.0]), hess=True)
run("rsqrt", torch.rsqrt, np.array([0.25, 1.0, 3.0]), hess=True)
run("square", torch.square, np.array([-1.5, 0.0, 3.0]), hess=True)

# masked gradients: 0 (never nan) where x < 0; pow at 0
xm = np.array([-1.0, -0.5, 0.0, 2.0])
run("sqrt_relu", lambda a: torch.sqrt(torch.relu(a)), xm)
run("relu_pow_half", lambda a: torch.relu(a) ** 0.5, xm)
run("sqrt_clamp", lambda a: torch.sqrt(torch.clamp(a, 0.0, None)), xm)
run("sqrt_maximum", lambda a: torch.sqrt(torch.maximum(a, torch.zeros(4))), xm)
run("pow_tensor_exponent", lambda a, b: a ** b, np.array([0.0, 0.0, 0.0, 2.0, 0.0]),
    np.array([0.0, 1.0, 2.0, 0.0, 0.5]))
run("pow_scalar_zero", lambda a: a ** 0, np.array([0.0, 2.0]))

np.savez_compressed(OUT, **store)
print(f"wrote {OUT} ({OUT.stat().st_size} bytes, {len(store)} arrays)")
