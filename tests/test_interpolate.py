"""interpolate and Upsample against PyTorch (tests/reference/interpolate.npz), plus errors."""
from __future__ import annotations

import json
import pathlib

import numpy as np
import pytest

import tinygrad_edu as tg
from tinygrad_edu import nn
from tinygrad_edu.nn import functional as F

REF = np.load(pathlib.Path(__file__).parent / "reference" / "interpolate.npz")
NAMES = sorted({k.split("/")[0] for k in REF.files})


@pytest.mark.parametrize("name", NAMES)
def test_output_and_gradient_match_pytorch(name):
    kw = json.loads(str(REF[f"{name}/kwargs"]))
    x = tg.Tensor(REF[f"{name}/x"], requires_grad=True)
    out = F.interpolate(x, **kw)
    np.testing.assert_allclose(out.data, REF[f"{name}/out"], rtol=1e-10, atol=1e-12)
    out.backward(REF[f"{name}/w"])
    np.testing.assert_allclose(x.grad.data, REF[f"{name}/grad"], rtol=1e-10, atol=1e-12)


def test_second_derivative_and_float32():
    x = tg.Tensor(np.random.default_rng(0).uniform(-1, 1, (1, 2, 3, 3)), requires_grad=True)
    assert tg.gradgradcheck(lambda a: F.interpolate(a, size=(4, 5), mode="bilinear") ** 2, (x,))
    y = F.interpolate(x.float(), scale_factor=2, mode="bilinear")
    assert y.dtype == np.float32 and y.shape == (1, 2, 6, 6)


def test_upsample_modules():
    x = np.arange(8.0).reshape(1, 2, 2, 2)
    up = nn.Upsample(scale_factor=2)
    assert np.array_equal(up(x).data, np.repeat(np.repeat(x, 2, axis=2), 2, axis=3))
    assert "scale_factor=2" in repr(up)
    assert np.array_equal(nn.UpsamplingBilinear2d(size=3)(x).data,
                          F.interpolate(x, size=3, mode="bilinear", align_corners=True).data)


def test_errors():
    x = np.zeros((1, 1, 4, 4))
    with pytest.raises(ValueError, match="exactly one of size and scale_factor"):
        F.interpolate(x)
    with pytest.raises(ValueError, match="'linear' needs a 3-D input"):
        F.interpolate(x, size=3, mode="linear")
    with pytest.raises(ValueError, match="align_corners applies to the linear modes"):
        F.interpolate(x, size=3, align_corners=True)
    with pytest.raises(ValueError, match="unknown mode"):
        F.interpolate(x, size=3, mode="cubic")
    with pytest.raises(NotImplementedError, match="bicubic"):
        F.interpolate(x, size=3, mode="bicubic")
    with pytest.raises(ValueError, match="must have 2 entries"):
        F.interpolate(x, size=(2, 3, 4))
    with pytest.raises(ValueError, match="must be positive"):
        F.interpolate(x, scale_factor=0.1)
