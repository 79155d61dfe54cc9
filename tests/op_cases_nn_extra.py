"""Harness cases for the losses of nn/_loss_extra.py and for interpolate (compositions of ops)."""
from __future__ import annotations

import numpy as np
from hypothesis import strategies as st

from op_cases import case, const, gapped_leaves, leaf
from tinygrad_edu.nn import functional as F


def _rows(draw):
    return draw(st.integers(1, 3)), draw(st.integers(1, 4))


@case("huber_loss / smooth_l1_loss")
def _huber(draw, dtype):
    n, d = _rows(draw)
    # |x - y| stays GAP away from the branch point (delta = beta = 0.5 here)
    diff = draw(st.lists(st.sampled_from([-1.5, -0.9, -0.3, 0.1, 0.35, 0.8, 1.2]), min_size=n * d,
                         max_size=n * d))
    y = const(draw, (n, d), dtype)
    x = leaf(draw, (n, d), dtype)
    x.data[...] = (y + np.array(diff).reshape(n, d)).astype(dtype)
    red = draw(st.sampled_from(["mean", "sum", "none"]))
    if draw(st.booleans()):
        return (lambda a: F.huber_loss(a, y, red, delta=0.5)), (x,)
    return (lambda a: F.smooth_l1_loss(a, y, red, beta=0.5)), (x,)


@case("kl_div")
def _kl(draw, dtype):
    n, c = _rows(draw)
    x = leaf(draw, (n, c), dtype)
    t = leaf(draw, (n, c), dtype, min_value=0.1, max_value=1.0)
    log_target = draw(st.booleans())
    red = draw(st.sampled_from(["batchmean", "sum", "mean"]))
    return (lambda a, b: F.kl_div(a.log_softmax(axis=1), b, red, log_target)), (x, t)


@case("cross_entropy (class probabilities)")
def _ce_probs(draw, dtype):
    n, c = _rows(draw)
    x, t = leaf(draw, (n, c), dtype), leaf(draw, (n, c), dtype, min_value=0.0, max_value=1.0)
    smooth = draw(st.sampled_from([0.0, 0.1]))
    return (lambda a, b: F.cross_entropy(a, b, label_smoothing=smooth)), (x, t)


@case("gaussian_nll_loss / poisson_nll_loss")
def _nll(draw, dtype):
    n, d = _rows(draw)
    x, y = leaf(draw, (n, d), dtype), leaf(draw, (n, d), dtype)
    if draw(st.booleans()):
        v = leaf(draw, (n, d), dtype, min_value=0.2, max_value=2.0)
        return (lambda a, b, c: F.gaussian_nll_loss(a, b, c, full=True)), (x, y, v)
    counts = const(draw, (n, d), dtype, min_value=0.0, max_value=4.0)
    return (lambda a: F.poisson_nll_loss(a, counts)), (x,)


@case("triplet / cosine_embedding / margin_ranking / soft_margin")
def _margins(draw, dtype):
    n, d = _rows(draw)
    # pairwise distinct values: distances stay away from 0, where a norm has no derivative;
    # and no element near 0, so no vector is near the zero vector (cosine's norms)
    _, (a, p, q) = gapped_leaves(draw, [(n, d)] * 3, dtype, min_magnitude=0.2)
    y = np.where(np.arange(n) % 2 == 0, 1.0, -1.0).astype(dtype)
    which = draw(st.sampled_from(["triplet", "cosine", "soft"]))
    if which == "triplet":
        return (lambda u, v, w: F.triplet_margin_loss(u, v, w, margin=10.0)), (a, p, q)
    if which == "cosine":
        return (lambda u, v: F.cosine_embedding_loss(u, v, y, margin=-2.0)), (a, p)
    return (lambda u: F.soft_margin_loss(u, np.broadcast_to(y[:, None], (n, d)))), (a,)


@case("interpolate")
def _interpolate(draw, dtype):
    spatial = tuple(draw(st.integers(1, 4)) for _ in range(draw(st.integers(1, 2))))
    x = leaf(draw, (1, draw(st.integers(1, 2))) + spatial, dtype)
    size = tuple(draw(st.integers(1, 5)) for _ in spatial)
    mode = draw(st.sampled_from(["nearest", "nearest-exact", "linear"]))
    if mode == "linear":
        mode = "linear" if len(spatial) == 1 else "bilinear"
        ac = draw(st.booleans())
        return (lambda a: F.interpolate(a, size=size, mode=mode, align_corners=ac)), (x,)
    return (lambda a: F.interpolate(a, size=size, mode=mode)), (x,)


@case("normalize / cosine_similarity")
def _cosine(draw, dtype):
    n, d = _rows(draw)
    # no element near 0: the norms (|x| for p = 1) have no derivative there
    a = leaf(draw, (n, d), dtype, min_magnitude=0.2)
    b = leaf(draw, (n, d), dtype, min_magnitude=0.2)
    if draw(st.booleans()):
        p = draw(st.sampled_from([1.0, 2.0, 3.0]))
        return (lambda u: F.normalize(u, p=p, dim=1)), (a,)
    return (lambda u, v: F.cosine_similarity(u, v, dim=1)), (a, b)
