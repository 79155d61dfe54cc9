"""Regenerate tests/reference/stats.npz: what PyTorch computes for the torch-named ops of the
scan, stats, sorting and query families (ties, zeros and NaN included).

    python tests/reference/make_stats.py     (needs torch; the tests only load the .npz)

Layout (float64; ``g`` is an upstream gradient, ``v`` the vector of a second derivative
d/dx sum(gx * v)):

* ``cum/<op>/<dim>/{values,indices,gx}`` for cummax/cummin of ``cum_x`` (ties and a NaN row).
* ``topk/ties/<largest>/{values,indices}`` for ``topk_ties`` (k=3; PyTorch's choice among
  tied elements is an implementation detail: the test only checks the values and that the
  indices pick them); ``topk/gapped/<largest>/{values,indices,gx}`` for ``topk_gapped``.
* ``sort/<descending>/{values,indices}`` of ``sort_ties`` with stable=True.
* ``prod/{x,g,v,gx,ggx}`` for prod(dim=1) of rows with zero, one and two zeros, and
  ``cumprod/...`` the same for cumprod(dim=1).
* ``argmax/<dim>``, ``argmin/<dim>`` of ``arg_x`` (ties, NaN); dim ``none`` flattens.
* ``median/{x,torch}``: torch.median of an even-sized row (the LOWER middle: PyTorch's
  meaning, which numpy's median does not share) and ``median/dim/{values,indices}``.
* ``quantile/<method>/{values,gx}`` for torch.quantile(``quantile_x``, ``quantile_q``, dim=1).
* ``nan/{x,g,sum_gx,mean,mean_gx}`` for nansum / nanmean(dim=1) with NaN entries.
* ``diff/{x,p,g,values,gx,gp}`` for torch.diff(x, n=2, dim=1, prepend=p).
"""
from pathlib import Path

import numpy as np
import torch

torch.set_default_dtype(torch.float64)
rng = np.random.default_rng(20261203)
ref = {}


def put(name, t):
    ref[name] = t.detach().numpy().copy() if isinstance(t, torch.Tensor) else np.asarray(t)


def leaf(a):
    return torch.tensor(a, requires_grad=True)


# ---- cummax / cummin: ties take the last index, NaN takes over ----------------------------
cum_x = np.array([[1.0, 3.0, 3.0, 2.0, 3.0, 5.0, 5.0],
                  [4.0, 1.0, 1.0, 4.0, 0.5, 0.5, 6.0],
                  [1.0, np.nan, 2.0, np.nan, 4.0, 0.0, -1.0]])
put("cum_x", cum_x)
for op in ("cummax", "cummin"):
    for dim in (0, 1):
        x = leaf(cum_x)
        values, indices = getattr(torch, op)(x, dim)
        g = rng.uniform(-1, 1, cum_x.shape)
        (gx,) = torch.autograd.grad(values, x, torch.tensor(g))
        put(f"cum/{op}/{dim}/g", g)
        put(f"cum/{op}/{dim}/values", values), put(f"cum/{op}/{dim}/indices", indices)
        put(f"cum/{op}/{dim}/gx", gx)

# ---- topk and sort ----------------------------------------------------------------------
topk_ties = np.array([[1.0, 3.0, 3.0, 2.0, 3.0, 0.0], [5.0, 5.0, 1.0, 1.0, 1.0, 2.0]])
topk_gapped = rng.permutation(12).reshape(2, 6) * 0.25 - 1.0
put("topk_ties", topk_ties), put("topk_gapped", topk_gapped)
for largest in (True, False):
    v, i = torch.topk(torch.tensor(topk_ties), 3, dim=1, largest=largest)
    put(f"topk/ties/{largest}/values", v), put(f"topk/ties/{largest}/indices", i)
    x = leaf(topk_gapped)
    v, i = torch.topk(x, 4, dim=1, largest=largest)
    g = rng.uniform(-1, 1, v.shape)
    (gx,) = torch.autograd.grad(v, x, torch.tensor(g))
    put(f"topk/gapped/{largest}/g", g)
    put(f"topk/gapped/{largest}/values", v), put(f"topk/gapped/{largest}/indices", i)
    put(f"topk/gapped/{largest}/gx", gx)

sort_ties = np.array([[2.0, 1.0, 2.0, np.nan, 1.0, 3.0], [0.0, 0.0, -1.0, 0.0, 5.0, -1.0]])
put("sort_ties", sort_ties)
for descending in (False, True):
    v, i = torch.sort(torch.tensor(sort_ties), dim=1, descending=descending, stable=True)
    put(f"sort/{descending}/values", v), put(f"sort/{descending}/indices", i)

# ---- prod and cumprod with zeros: first and second derivatives --------------------------------
prod_x = np.array([[2.0, -3.0, 0.5, 1.5], [2.0, 0.0, 3.0, -4.0], [0.0, 2.0, 0.0, 3.0],
                   [0.0, 0.0, 0.0, 7.0]])
put("prod/x", prod_x)
for op in ("prod", "cumprod"):
    x = leaf(prod_x)
    y = getattr(torch, op)(x, 1)
    g = rng.uniform(-1, 1, y.shape)
    v = rng.uniform(-1, 1, prod_x.shape)
    (gx,) = torch.autograd.grad(y, x, torch.tensor(g), create_graph=True)
    (ggx,) = torch.autograd.grad((gx * torch.tensor(v)).sum(), x)
    put(f"{op}/g", g), put(f"{op}/v", v), put(f"{op}/gx", gx), put(f"{op}/ggx", ggx)

# ---- argmax / argmin: ties pick the first, NaN counts as the extreme ---------------------------
arg_x = np.array([[1.0, 3.0, 3.0, 0.0], [3.0, 0.0, 0.0, 3.0], [2.0, np.nan, 5.0, np.nan]])
put("arg_x", arg_x)
for dim in (None, 0, 1):
    key = "none" if dim is None else dim
    put(f"argmax/{key}", torch.argmax(torch.tensor(arg_x), dim=dim))
    put(f"argmin/{key}", torch.argmin(torch.tensor(arg_x[:2]), dim=dim))

# ---- median: PyTorch's is the lower middle value ----------------------------------------------
median_x = np.array([[4.0, 1.0, 3.0, 2.0], [1.0, 1.0, 0.0, 9.0]])
put("median/x", median_x)
put("median/torch", torch.median(torch.tensor(median_x)))
v, i = torch.median(torch.tensor(median_x), dim=1)
put("median/dim/values", v), put("median/dim/indices", i)

# ---- quantile (gapped values), every interpolation PyTorch has --------------------------------
quantile_x = rng.permutation(10).reshape(2, 5) * 0.5 - 2.0
quantile_q = np.array([0.0, 0.1, 0.25, 0.5, 0.6, 0.875, 1.0])
put("quantile_x", quantile_x), put("quantile_q", quantile_q)
for method in ("linear", "lower", "higher", "nearest", "midpoint"):
    x = leaf(quantile_x)
    y = torch.quantile(x, torch.tensor(quantile_q), dim=1, interpolation=method)
    g = rng.uniform(-1, 1, y.shape)
    (gx,) = torch.autograd.grad(y, x, torch.tensor(g))
    put(f"quantile/{method}/g", g), put(f"quantile/{method}/values", y), put(f"quantile/{method}/gx", gx)

# ---- nansum / nanmean: the gradient at NaN is 0 --------------------------------------------------
nan_x = np.array([[1.0, np.nan, 2.5, -1.0], [np.nan, np.nan, 3.0, 0.5]])
put("nan/x", nan_x)
g = rng.uniform(-1, 1, (2,))
put("nan/g", g)
x = leaf(nan_x)
(gx,) = torch.autograd.grad(torch.nansum(x, dim=1), x, torch.tensor(g))
put("nan/sum_gx", gx)
x = leaf(nan_x)
y = torch.nanmean(x, dim=1)
(gx,) = torch.autograd.grad(y, x, torch.tensor(g))
put("nan/mean", y), put("nan/mean_gx", gx)

# ---- diff with prepend ------------------------------------------------------------------------
diff_x = rng.uniform(-2, 2, (2, 5))
diff_p = rng.uniform(-2, 2, (2, 2))
x, p = leaf(diff_x), leaf(diff_p)
y = torch.diff(x, n=2, dim=1, prepend=p)
g = rng.uniform(-1, 1, y.shape)
gx, gp = torch.autograd.grad(y, (x, p), torch.tensor(g))
for k, val in dict(x=diff_x, p=diff_p, g=g, values=y, gx=gx, gp=gp).items():
    put(f"diff/{k}", val)

out = Path(__file__).with_name("stats.npz")
np.savez_compressed(out, **ref)
print(f"wrote {out} ({out.stat().st_size} bytes, {len(ref)} arrays)")
