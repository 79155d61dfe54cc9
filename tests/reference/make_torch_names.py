"""Regenerate tests/reference/torch_names.npz: what PyTorch computes for the PyTorch names and forms
that tinygrad_edu implements (permute, view, expand, unflatten, t, transpose(a, b) as a swap, .mT,
max/min(dim=) values and indices, amax ties, var/std unbiased=, linspace/logspace, full_like).

    python tests/reference/make_torch_names.py     (needs torch; the tests only load the .npz)

manual_seed is not compared: PyTorch's random streams are a different algorithm.
"""
from pathlib import Path

import numpy as np
import torch

torch.set_default_dtype(torch.float64)
rng = np.random.default_rng(20261203)
ref = {}


def put(name, t):
    ref[name] = t.detach().numpy() if isinstance(t, torch.Tensor) else np.asarray(t)


x = rng.standard_normal((2, 3, 4))
m = rng.standard_normal((3, 4))
c = rng.standard_normal((3, 1))
# ties: row 0 has its maximum twice (index 1 and 3), row 1 its minimum twice
ties = np.array([[1.0, 5.0, -2.0, 5.0], [0.5, -1.0, 2.0, -1.0]])
put("x", x), put("m", m), put("c", c), put("ties", ties)

tx, tm, tc = torch.tensor(x), torch.tensor(m), torch.tensor(c)
put("permute_2_0_1", tx.permute(2, 0, 1))
put("view_6_4", tx.view(6, 4))
put("view_m1", tx.view(-1))
put("expand_2_m1_4", tc.expand(2, -1, 4))
put("unflatten_2_2_m1", tx.unflatten(2, (2, -1)))
put("t_m", tm.t())
put("transpose_m2_m1", tx.transpose(-2, -1))
put("transpose_0_1_2d", tm.transpose(0, 1))
put("mT", tx.mT)

for op in ("max", "min"):
    for d in (1, -1):
        r = getattr(tx, op)(dim=d)
        put(f"{op}_dim{d}_values", r.values), put(f"{op}_dim{d}_indices", r.indices)
    r = getattr(tx, op)(dim=0, keepdim=True)
    put(f"{op}_dim0_keep_values", r.values), put(f"{op}_dim0_keep_indices", r.indices)

tt = torch.tensor(ties, requires_grad=True)
r = tt.max(dim=1)
put("ties_max_values", r.values), put("ties_max_indices", r.indices)
r.values.sum().backward()
put("ties_max_grad", tt.grad)
tt = torch.tensor(ties, requires_grad=True)
r = tt.min(dim=1)
put("ties_min_indices", r.indices)
r.values.sum().backward()
put("ties_min_grad", tt.grad)
tt = torch.tensor(ties, requires_grad=True)
torch.amax(tt, dim=1).sum().backward()
put("ties_amax_grad", tt.grad)
tt = torch.tensor(ties, requires_grad=True)
torch.amax(tt).backward()
put("ties_amax_all_grad", tt.grad)

tx_g = torch.tensor(x, requires_grad=True)
put("var_unbiased_dim1", tx.var(dim=1, unbiased=True))
put("std_biased_dim1", tx.std(dim=1, unbiased=False))
tc_g = torch.tensor(c, requires_grad=True)
w = torch.tensor(rng.standard_normal((2, 3, 4)))
put("expand_w", w)
(tc_g.expand(2, 3, 4) * w).sum().backward()
put("expand_grad", tc_g.grad)

put("linspace_0_1_5", torch.linspace(0, 1, 5))
put("logspace_0_2_3", torch.logspace(0, 2, 3))
put("logspace_base2", torch.logspace(0, 3, 4, base=2))
put("full_like_m_2p5", torch.full_like(tm, 2.5))

out = Path(__file__).with_name("torch_names.npz")
np.savez_compressed(out, **ref)
print(f"wrote {out} ({out.stat().st_size} bytes, {len(ref)} arrays)")
