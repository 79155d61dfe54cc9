"""Chapter 2, exercise: the blog's backward pass, bit for bit (docs/backprop.md)."""
from __future__ import annotations

import numpy as np

SLUG = "ch02_blog_deltas"
ORDER = 102.1
TITLE = "The blog's deltas from memory, equal to the engine's gradients bit for bit"
PAGE = "backprop.md"
HINT = ("l2_delta = (y - l2) * (l2 * (1 - l2)); l1_delta = l2_delta.dot(syn1.T) * (l1 * (1 - l1)); "
        "the updates are l1.T.dot(l2_delta) and X.T.dot(l1_delta)")

SKELETON = '''"""Chapter 2, exercise: the blog's backward pass, bit for bit (docs/backprop.md).

Check: python -m tinygrad_edu.learn check ch02_blog_deltas
"""
import numpy as np


def sigmoid(x):
    return 1 / (1 + np.exp(-x))


def blog_step(X, y, syn0, syn1):
    """One forward and backward pass of the blog's 3-layer network, by hand.

    Returns (l2_delta, l1_delta, syn0_update, syn1_update) as the blog
    computes them. Group every product as the blog does, so that they equal
    minus the engine's gradients bit for bit.
    """
    l1 = sigmoid(np.dot(X, syn0))
    l2 = sigmoid(np.dot(l1, syn1))
    # TODO: l2_error, l2_delta, l1_error, l1_delta, and the two updates.
    raise NotImplementedError("blog_step")
'''

SOLUTION = '''"""Chapter 2, exercise: the blog's backward pass, bit for bit (docs/backprop.md).

Check: python -m tinygrad_edu.learn check ch02_blog_deltas
"""
import numpy as np


def sigmoid(x):
    return 1 / (1 + np.exp(-x))


def blog_step(X, y, syn0, syn1):
    """One forward and backward pass of the blog's 3-layer network, by hand.

    Returns (l2_delta, l1_delta, syn0_update, syn1_update) as the blog computes them.
    """
    l1 = sigmoid(np.dot(X, syn0))
    l2 = sigmoid(np.dot(l1, syn1))
    l2_error = y - l2
    l2_delta = l2_error * (l2 * (1 - l2))      # the slope grouped as the blog's nonlin
    l1_error = l2_delta.dot(syn1.T)            # the same product as the engine's matmul rule
    l1_delta = l1_error * (l1 * (1 - l1))
    return l2_delta, l1_delta, X.T.dot(l1_delta), l1.T.dot(l2_delta)
'''


def check(ns):
    import tinygrad_edu as tg
    from tinygrad_edu import blog

    X, y = blog.X, blog.Y_PART2
    rng = np.random.default_rng(2)
    weights = [blog.initial_weights((3, 4), (4, 1)),
               [rng.uniform(-3, 3, (3, 4)), rng.uniform(-3, 3, (4, 1))]]
    for k, (syn0, syn1) in enumerate(weights):
        inputs = (syn0.copy(), syn1.copy())
        result = ns.blog_step(X, y, syn0, syn1)
        assert isinstance(result, tuple) and len(result) == 4, (
            "blog_step should return (l2_delta, l1_delta, syn0_update, syn1_update)")
        assert np.array_equal(syn0, inputs[0]) and np.array_equal(syn1, inputs[1]), (
            "blog_step changed the weights it was given: return the updates, do not apply them")
        W0 = tg.Tensor(syn0.copy(), requires_grad=True)
        W1 = tg.Tensor(syn1.copy(), requires_grad=True)
        z1 = X @ W0
        z2 = z1.sigmoid() @ W1
        for t in (z1, z2):
            t.retain_grad()
        (0.5 * ((y - z2.sigmoid()) ** 2).sum()).backward()
        which = "the blog's initial weights" if k == 0 else "random weights"
        names = ("l2_delta", "l1_delta", "syn0_update", "syn1_update")
        wants = (-z2.grad.data, -z1.grad.data, -W0.grad.data, -W1.grad.data)
        for name, got, want in zip(names, result, wants):
            got = np.asarray(got)
            assert got.shape == want.shape, f"{name} should have shape {want.shape}, got {got.shape}"
            if not np.allclose(got, want, rtol=1e-10, atol=1e-14):
                raise AssertionError(f"{name} is wrong ({which}): it should be minus the engine's "
                                     "gradient at that point; see the table on the page")
            assert np.array_equal(got, want), (
                f"{name} has the right value but not the same bits as the engine ({which}): "
                "group the products as the blog does, error * (out * (1 - out)), "
                "and use the product delta.dot(syn1.T) (see the op-ordering contract on the page)")
