"""Chapter 4, exercise 1: delta trimming by hand (docs/future-work.md)."""
from __future__ import annotations

import numpy as np

SLUG = "ch04_clip_grad_norm"
ORDER = 104.1
TITLE = "Delta trimming: clip gradients by their joint norm"
PAGE = "future-work.md"
HINT = ("the norm of all gradients together is sqrt(sum of every squared element); "
        "scale by min(1, max_norm / (norm + 1e-6))")

SKELETON = '''"""Chapter 4, exercise 1: delta trimming by hand (docs/future-work.md).

Check: python -m tinygrad_edu.learn check ch04_clip_grad_norm
"""
import numpy as np


def clip_by_joint_norm(grads, max_norm):
    """Rescale a list of gradient arrays so that their joint 2-norm is at most max_norm.

    Returns (the clipped arrays as a new list, the joint norm before clipping).
    The joint norm treats all arrays as one long vector. Like
    nn.utils.clip_grad_norm_, multiply every array by min(1, max_norm / (norm + 1e-6)),
    which keeps their direction. Do not modify the arrays you are given.
    """
    # TODO: the joint norm, the scale factor, and the scaled copies.
    raise NotImplementedError("clip_by_joint_norm")
'''

SOLUTION = '''"""Chapter 4, exercise 1: delta trimming by hand (docs/future-work.md).

Check: python -m tinygrad_edu.learn check ch04_clip_grad_norm
"""
import numpy as np


def clip_by_joint_norm(grads, max_norm):
    """Rescale a list of gradient arrays so that their joint 2-norm is at most max_norm.

    Returns (the clipped arrays as a new list, the joint norm before clipping).
    """
    norm = np.sqrt(sum(np.sum(g * g) for g in grads))  # all arrays as one long vector
    scale = min(1.0, max_norm / (norm + 1e-6))           # never scale up: short steps stay
    return [g * scale for g in grads], norm
'''


def check(ns):
    import tinygrad_edu as tg
    from tinygrad_edu import nn

    rng = np.random.default_rng(4)
    for max_norm, size in ((1.0, 3.0), (0.5, 0.01), (10.0, 100.0)):
        arrays = [size * rng.standard_normal(s) for s in ((3, 4), (4,), (4, 1))]
        originals = [a.copy() for a in arrays]
        result = ns.clip_by_joint_norm(arrays, max_norm)
        assert isinstance(result, tuple) and len(result) == 2, (
            "clip_by_joint_norm should return a tuple (clipped list, norm before clipping)")
        clipped, norm = result
        assert all(np.array_equal(a, o) for a, o in zip(arrays, originals)), (
            "clip_by_joint_norm modified the arrays it was given: return scaled copies")
        params = [tg.Tensor(o.copy(), requires_grad=True) for o in originals]
        for p, o in zip(params, originals):
            p.grad = tg.Tensor(o.copy())
        want_norm = nn.utils.clip_grad_norm_(params, max_norm)
        assert np.isclose(norm, want_norm, rtol=1e-12, atol=0), (
            f"the joint norm should be {float(want_norm):.6g} (all arrays as one vector), got {norm!r}")
        assert len(clipped) == len(arrays), "return one clipped array per gradient"
        for k, (c, p) in enumerate(zip(clipped, params)):
            assert np.allclose(c, p.grad.data, rtol=1e-12, atol=1e-15), (
                f"array {k}, max_norm={max_norm}, joint norm {float(want_norm):.3g}: "
                "scaled wrongly; the factor is min(1, max_norm / (norm + 1e-6)), the same for all")
