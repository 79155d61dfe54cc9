"""Regenerate losses.npz: values and gradients of PyTorch's losses (float64).

Needs PyTorch (``pip install torch==2.13.0``); the tests only read the .npz.
Run from the repository root: ``python tests/reference/make_losses.py``.
CASES names each configuration; tests/test_losses_extra.py calls our function
with the same arguments (``kwargs`` are stored as the case's repr) and compares
the value and the gradient of every input that requires grad.
"""
from __future__ import annotations

import json
import pathlib

import numpy as np
import torch
import torch.nn.functional as F

rng = np.random.default_rng(0)


def r(*shape, lo=-2.0, hi=2.0):
    return rng.uniform(lo, hi, shape)


def probs(*shape, axis=1):
    e = np.exp(r(*shape))
    return e / e.sum(axis=axis, keepdims=True)


def sign(*shape):
    return rng.choice([-1.0, 1.0], shape)


# name -> (function name, positional arrays, which of them require grad, kwargs)
CASES = {
    "ce_probs": ("cross_entropy", [r(4, 3), probs(4, 3)], [0, 1], {}),
    "ce_probs_nd_smooth": ("cross_entropy", [r(2, 3, 2, 2), probs(2, 3, 2, 2)], [0],
                           dict(label_smoothing=0.2, reduction="sum")),
    "ce_probs_weight_none": ("cross_entropy", [r(3, 4), probs(3, 4)], [0],
                             dict(weight=np.array([0.5, 1.0, 2.0, 1.5]), reduction="none")),
    "ce_indices_nd": ("cross_entropy", [r(2, 3, 4), rng.integers(0, 3, (2, 4))], [0], {}),
    "nll_nd_weight": ("nll_loss", [r(2, 4, 3), rng.integers(0, 4, (2, 3))], [0],
                      dict(weight=np.array([1.0, 2.0, 0.5, 1.0]))),
    "kl_mean": ("kl_div", [np.log(probs(3, 4)), probs(3, 4)], [0, 1], {}),
    "kl_batchmean_zero": ("kl_div", [np.log(probs(3, 4)), np.where(r(3, 4) > 1, 0.0, probs(3, 4))], [0],
                          dict(reduction="batchmean")),
    "kl_log_target": ("kl_div", [np.log(probs(2, 5)), np.log(probs(2, 5))], [0, 1],
                      dict(log_target=True, reduction="sum")),
    "huber": ("huber_loss", [r(3, 4, lo=-3, hi=3), r(3, 4)], [0, 1], dict(delta=0.7)),
    "huber_none": ("huber_loss", [r(5), r(5)], [0], dict(reduction="none")),
    "smooth_l1": ("smooth_l1_loss", [r(3, 4, lo=-3, hi=3), r(3, 4)], [0, 1], dict(beta=0.5)),
    "smooth_l1_beta0": ("smooth_l1_loss", [r(6), r(6)], [0], dict(beta=0.0, reduction="sum")),
    "soft_margin": ("soft_margin_loss", [r(4, 3, lo=-30, hi=30), sign(4, 3)], [0], {}),
    "margin_ranking": ("margin_ranking_loss", [r(6), r(6), sign(6)], [0, 1], dict(margin=0.3)),
    "cosine_embedding": ("cosine_embedding_loss", [r(5, 3), r(5, 3), sign(5)], [0, 1], dict(margin=0.2)),
    "cosine_embedding_1d": ("cosine_embedding_loss", [r(4), r(4), np.array(1.0)], [0, 1], {}),
    "triplet": ("triplet_margin_loss", [r(4, 3), r(4, 3), r(4, 3)], [0, 1, 2], {}),
    "triplet_p1_swap": ("triplet_margin_loss", [r(4, 3), r(4, 3), r(4, 3)], [0, 1, 2],
                        dict(p=1.0, swap=True, margin=2.0)),
    "pairwise_p3": ("pairwise_distance", [r(4, 3), r(4, 3)], [0, 1], dict(p=3.0, keepdim=True)),
    "pairwise_broadcast": ("pairwise_distance", [r(4, 3), r(3)], [0, 1], {}),
    "normalize": ("normalize", [r(2, 3, 2)], [0], {}),
    "normalize_p3_dim0": ("normalize", [r(3, 4)], [0], dict(p=3.0, dim=0)),
    "cosine_similarity": ("cosine_similarity", [r(4, 3), r(4, 3)], [0, 1], {}),
    "cosine_similarity_broadcast": ("cosine_similarity", [r(3, 4), r(3, 1)], [0, 1], dict(dim=0)),
    "poisson_log": ("poisson_nll_loss", [r(3, 4), rng.integers(0, 5, (3, 4)).astype(float)], [0], {}),
    "poisson_full": ("poisson_nll_loss", [r(3, 4, lo=0.1, hi=3), rng.integers(0, 5, (3, 4)).astype(float)],
                     [0], dict(log_input=False, full=True)),
    "gaussian": ("gaussian_nll_loss", [r(4, 3), r(4, 3), r(4, 3, lo=0.1, hi=2)], [0, 1, 2], {}),
    "gaussian_homo_full": ("gaussian_nll_loss", [r(4, 3), r(4, 3), r(4, 1, lo=0.1, hi=2)], [0, 2],
                           dict(full=True, reduction="sum")),
    "gaussian_clamped": ("gaussian_nll_loss", [r(4, 2), r(4, 2), np.array([1e-8, 0.5, 1e-9, 2.0])],
                         [0, 2], dict(eps=1e-3)),
}


def run(fn, arrays, grads, kwargs):
    ts = []
    for i, a in enumerate(arrays):
        integer = np.asarray(a).dtype.kind in "iu"
        t = torch.tensor(a, dtype=torch.long if integer else torch.float64)
        ts.append(t.requires_grad_() if i in grads else t)
    kw = {k: (torch.tensor(v) if isinstance(v, np.ndarray) else v) for k, v in kwargs.items()}
    out = getattr(F, fn)(*ts, **kw)
    w = torch.tensor(rng.uniform(0.5, 1.5, tuple(out.shape)))
    gs = torch.autograd.grad(out, [ts[i] for i in grads], w)
    return out.detach().numpy(), w.numpy(), [g.numpy() for g in gs]


if __name__ == "__main__":
    data = {}
    for name, (fn, arrays, grads, kwargs) in CASES.items():
        out, w, gs = run(fn, arrays, grads, kwargs)
        data[f"{name}/out"], data[f"{name}/w"] = out, w
        for i, a in enumerate(arrays):
            data[f"{name}/in{i}"] = np.asarray(a)
        for i, g in zip(grads, gs):
            data[f"{name}/grad{i}"] = g
        for k, v in kwargs.items():
            if isinstance(v, np.ndarray):
                data[f"{name}/kw_{k}"] = v
        plain = {k: v for k, v in kwargs.items() if not isinstance(v, np.ndarray)}
        data[f"{name}/meta"] = np.array(json.dumps({"fn": fn, "n": len(arrays), "grads": grads,
                                                    "kwargs": plain}))
    path = pathlib.Path(__file__).with_name("losses.npz")
    np.savez_compressed(path, **data)
    print(f"wrote {path} ({len(data)} arrays, {path.stat().st_size} bytes)")
