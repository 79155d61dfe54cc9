"""The losses of nn/_loss_extra.py and cross-entropy's extra forms, against PyTorch.

Values and gradients (of a random weighting of the output) were computed by
PyTorch in float64 (tests/reference/make_losses.py writes
tests/reference/losses.npz); ours must agree to 1e-10 relative.
"""
from __future__ import annotations

import json
import pathlib

import numpy as np
import pytest

import tinygrad_edu as tg
from tinygrad_edu import nn
from tinygrad_edu.nn import functional as F

REF = np.load(pathlib.Path(__file__).parent / "reference" / "losses.npz")
NAMES = sorted({k.split("/")[0] for k in REF.files})


@pytest.mark.parametrize("name", NAMES)
def test_value_and_gradients_match_pytorch(name):
    meta = json.loads(str(REF[f"{name}/meta"]))
    grads = meta["grads"]
    args = []
    for i in range(meta["n"]):
        a = REF[f"{name}/in{i}"]
        args.append(tg.Tensor(a, requires_grad=True) if i in grads else a)
    kwargs = dict(meta["kwargs"])
    for key in REF.files:
        if key.startswith(f"{name}/kw_"):
            kwargs[key.split("/kw_")[1]] = REF[key]
    out = getattr(F, meta["fn"])(*args, **kwargs)
    np.testing.assert_allclose(out.data, REF[f"{name}/out"], rtol=1e-10, atol=1e-12)
    gs = tg.grad(out, [args[i] for i in grads], REF[f"{name}/w"])
    for i, g in zip(grads, gs):
        np.testing.assert_allclose(g.data, REF[f"{name}/grad{i}"], rtol=1e-10, atol=1e-12,
                                   err_msg=f"{name}: gradient of input {i}")


@pytest.mark.parametrize("name", ["huber", "smooth_l1", "kl_mean", "gaussian", "triplet",
                                  "cosine_embedding", "ce_probs", "soft_margin"])
def test_second_derivatives(name):
    meta = json.loads(str(REF[f"{name}/meta"]))
    grads = meta["grads"]
    arrays = [REF[f"{name}/in{i}"] for i in range(meta["n"])]

    def fn(*ts):
        full = list(arrays)
        for i, t in zip(grads, ts):
            full[i] = t
        return getattr(F, meta["fn"])(*full, **meta["kwargs"])

    inputs = tuple(tg.Tensor(arrays[i], requires_grad=True) for i in grads)
    assert tg.gradgradcheck(fn, inputs, atol=1e-6, rtol=1e-5)


def test_masked_branches_give_finite_gradients():
    # kl_div's y log y at y == 0, huber's and poisson's branches: no nan anywhere
    y = tg.Tensor([0.0, 0.5, 0.5], requires_grad=True)
    x = tg.Tensor(np.log([0.2, 0.3, 0.5]), requires_grad=True)
    F.kl_div(x, y, reduction="sum").backward()
    assert np.all(np.isfinite(y.grad.data)) and np.all(np.isfinite(x.grad.data))
    t = tg.Tensor([1e6, -1e6, 0.0], requires_grad=True)
    F.huber_loss(t, np.zeros(3)).backward()
    assert np.all(np.isfinite(t.grad.data))
    p = tg.Tensor([0.5, 1.0], requires_grad=True)
    F.poisson_nll_loss(p, np.array([0.0, 1.0]), log_input=False, full=True).backward()
    assert np.all(np.isfinite(p.grad.data))


def test_modules_wrap_the_functions():
    rng = np.random.default_rng(1)
    a, b = rng.normal(size=(4, 3)), rng.normal(size=(4, 3))
    y = np.array([1.0, -1.0, 1.0, -1.0])
    assert np.array_equal(nn.HuberLoss(delta=0.5)(a, b).data, F.huber_loss(a, b, delta=0.5).data)
    assert np.array_equal(nn.SmoothL1Loss(beta=0.3)(a, b).data, F.smooth_l1_loss(a, b, beta=0.3).data)
    assert np.array_equal(nn.CosineEmbeddingLoss(0.1)(a, b, y).data,
                          F.cosine_embedding_loss(a, b, y, 0.1).data)
    assert np.array_equal(nn.TripletMarginLoss(swap=True)(a, b, -a).data,
                          F.triplet_margin_loss(a, b, -a, swap=True).data)
    assert np.array_equal(nn.KLDivLoss("batchmean")(np.log(np.full((2, 2), 0.5)), np.full((2, 2), 0.5)).data, 0.0)
    assert nn.PairwiseDistance()(a, b).shape == (4,)
    assert nn.GaussianNLLLoss()(a, b, np.ones((4, 3))).shape == ()
    with pytest.raises(ValueError, match="reduction"):
        nn.KLDivLoss("average")


def test_errors_name_the_loss_and_shapes():
    with pytest.raises(ValueError, match="huber_loss: delta must be positive"):
        F.huber_loss(np.ones(2), np.ones(2), delta=0)
    with pytest.raises(ValueError, match="smooth_l1_loss: target shape"):
        F.smooth_l1_loss(np.ones(2), np.ones(3))
    with pytest.raises(ValueError, match="cosine_embedding_loss: target values must be 1 or -1"):
        F.cosine_embedding_loss(np.ones((2, 3)), np.ones((2, 3)), np.array([1, 0]))
    with pytest.raises(ValueError, match="triplet_margin_loss: anchor, positive and negative"):
        F.triplet_margin_loss(np.ones((2, 3)), np.ones((2, 3)), np.ones((3, 3)))
    with pytest.raises(ValueError, match="gaussian_nll_loss: var of shape"):
        F.gaussian_nll_loss(np.ones((2, 3)), np.ones((2, 3)), np.ones((3, 3)))
    with pytest.raises(ValueError, match="gaussian_nll_loss: var has negative"):
        F.gaussian_nll_loss(np.ones(2), np.ones(2), np.array([-1.0, 1.0]))
    with pytest.raises(ValueError, match="margin_ranking_loss: shapes"):
        F.margin_ranking_loss(np.ones(2), np.ones(3), np.ones(2))
