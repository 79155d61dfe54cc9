"""Regenerate interpolate.npz: PyTorch's interpolate outputs and input gradients (float64).

Needs PyTorch (``pip install torch==2.13.0``); the tests only read the .npz.
Run from the repository root: ``python tests/reference/make_interpolate.py``.
"""
from __future__ import annotations

import json
import pathlib

import numpy as np
import torch
import torch.nn.functional as F

rng = np.random.default_rng(0)
# name -> (input shape, kwargs)
CASES = {
    "nearest_1d_size": ((2, 3, 5), dict(size=8)),
    "nearest_1d_down": ((1, 2, 7), dict(size=3)),
    "nearest_2d_scale": ((2, 2, 3, 4), dict(scale_factor=2.0)),
    "nearest_2d_frac": ((1, 2, 5, 3), dict(scale_factor=(1.7, 2.5))),
    "nearest_exact_2d": ((1, 2, 5, 4), dict(size=(7, 3), mode="nearest-exact")),
    "linear_up": ((2, 3, 4), dict(size=9, mode="linear")),
    "linear_down_ac": ((1, 2, 9), dict(size=4, mode="linear", align_corners=True)),
    "linear_scale": ((1, 1, 5), dict(scale_factor=1.5, mode="linear")),
    "bilinear_up": ((2, 2, 3, 4), dict(size=(5, 7), mode="bilinear")),
    "bilinear_ac": ((1, 3, 4, 4), dict(size=(7, 2), mode="bilinear", align_corners=True)),
    "bilinear_scale_recompute": ((1, 2, 5, 6), dict(scale_factor=1.3, mode="bilinear",
                                                    recompute_scale_factor=True)),
    "bilinear_one_pixel_out_ac": ((1, 1, 3, 3), dict(size=(1, 2), mode="bilinear", align_corners=True)),
    "trilinear": ((1, 1, 2, 3, 2), dict(size=(3, 4, 3), mode="trilinear")),
}

if __name__ == "__main__":
    data = {}
    for name, (shape, kw) in CASES.items():
        x = rng.uniform(-1, 1, shape)
        t = torch.tensor(x, requires_grad=True)
        out = F.interpolate(t, **kw)
        w = rng.uniform(0.5, 1.5, tuple(out.shape))
        (g,) = torch.autograd.grad(out, t, torch.tensor(w))
        data.update({f"{name}/x": x, f"{name}/out": out.detach().numpy(), f"{name}/w": w,
                     f"{name}/grad": g.numpy(), f"{name}/kwargs": np.array(json.dumps(kw))})
    path = pathlib.Path(__file__).with_name("interpolate.npz")
    np.savez_compressed(path, **data)
    print(f"wrote {path} ({path.stat().st_size} bytes)")
