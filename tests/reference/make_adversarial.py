"""Regenerate adversarial.npz: PyTorch's values for the cases of tests/test_adversarial_layers.py.

Needs PyTorch (2.13); the tests only read the .npz. Run from the repository root:
``python tests/reference/make_adversarial.py``.

interpolate with a scale factor whose rounded output size equals the input size
(or, 2-D nearest, twice it): PyTorch's CPU kernels do not resample such an axis by
1/scale_factor. Outputs and input gradients (float64); for 1-D and 3-D 'nearest'
PyTorch's forward resamples but its backward copies (its gradient is not the adjoint
of its forward), so only the forward is stored there.
"""
from __future__ import annotations

import json
import pathlib

import numpy as np
import torch
import torch.nn.functional as F

# name -> (input shape, kwargs, store the gradient)
INTERPOLATE = {
    "linear_same_size": ((1, 2, 3), dict(scale_factor=1.3, mode="linear"), True),
    "bilinear_same_size": ((1, 2, 2, 3), dict(scale_factor=1.3, mode="bilinear"), True),
    "bilinear_one_axis": ((1, 1, 3, 5), dict(scale_factor=1.3, mode="bilinear"), True),
    "trilinear_same_size": ((1, 1, 2, 3, 2), dict(scale_factor=1.3, mode="trilinear"), True),
    "nearest_2d_same_size": ((1, 2, 3, 4), dict(scale_factor=1.3, mode="nearest"), True),
    "nearest_2d_double": ((1, 1, 2, 3), dict(scale_factor=2.3, mode="nearest"), True),
    "nearest_1d_same_size": ((1, 1, 3), dict(scale_factor=1.3, mode="nearest"), False),
    "nearest_3d_same_size": ((1, 1, 2, 3, 2), dict(scale_factor=1.3, mode="nearest"), False),
    "nearest_exact_same_size": ((1, 1, 3, 3), dict(scale_factor=1.3, mode="nearest-exact"), True),
}

if __name__ == "__main__":
    rng = np.random.default_rng(0)
    data = {}
    for name, (shape, kw, grad) in INTERPOLATE.items():
        x = rng.uniform(-1, 1, shape)
        t = torch.tensor(x, requires_grad=True)
        out = F.interpolate(t, **kw)
        w = rng.uniform(0.5, 1.5, tuple(out.shape))
        (out * torch.tensor(w)).sum().backward()
        data[f"{name}/x"], data[f"{name}/w"] = x, w
        data[f"{name}/out"] = out.detach().numpy()
        if grad:
            data[f"{name}/grad"] = t.grad.numpy()
        data[f"{name}/kwargs"] = np.array(json.dumps(kw))
    np.savez(pathlib.Path(__file__).with_name("adversarial.npz"), **data)
