"""Exercise 9 of the build-your-own-engine path: The blog's network on your engine, bit for bit (docs/learn/blog-network.md)."""
from __future__ import annotations

import numpy as np

from tinygrad_edu import blog

from . import _parts as P

SLUG = "blog_network"
ORDER = 9
TITLE = "The blog's network on your engine, bit for bit"
PAGE = "learn/blog-network.md"
HINT = ("forward: Value(X).dot(W0).sigmoid().dot(W1).sigmoid(); loss 0.5 * ((y - l2) ** 2).sum(); "
        "backward(loss); then W.data -= W.grad")

TRAIN_HEAD = '''def train(X, y, syn0, syn1, iterations):
    """The blog's loop on this engine: returns the final (syn0, syn1) as arrays."""
'''

# step 8's whole engine (written once, in _parts.py) plus this step's train
SKELETON = P.engine_file(P.header(ORDER, TITLE, PAGE, SLUG), P.IMPORTS_COUNTER, P.BLOG_VALUE,
                         *P.BLOG_ENGINE_TAIL, TRAIN_HEAD + '''    # TODO: W0, W1 = Value(syn0), Value(syn1); then each iteration: the forward pass
    # (dot, sigmoid, dot, sigmoid), the loss 0.5 * ((y - l2) ** 2).sum(), backward,
    # and the step W.data -= W.grad for both weights.
    raise NotImplementedError("train")
''')

SOLUTION = P.engine_file(P.header(ORDER, TITLE, PAGE, SLUG), P.IMPORTS_COUNTER, P.BLOG_VALUE,
                         *P.BLOG_ENGINE_TAIL, TRAIN_HEAD + '''    W0, W1 = Value(syn0), Value(syn1)
    for _ in range(iterations):
        l1 = Value(X).dot(W0).sigmoid()
        l2 = l1.dot(W1).sigmoid()
        loss = 0.5 * ((y - l2) ** 2).sum()
        backward(loss)
        W1.data -= W1.grad  # the blog's syn1 += l1.T.dot(l2_delta)
        W0.data -= W0.grad
    return W0.data, W1.data
''')


def check(ns):
    for iterations in (1, 300):
        syn0, syn1 = blog.initial_weights((3, 4), (4, 1))
        got = ns.train(blog.X, blog.Y_PART2, syn0.copy(), syn1.copy(), iterations)
        assert len(got) == 2, "train returns (syn0, syn1)"
        w0, w1 = (np.asarray(getattr(w, "data", w)) for w in got)
        want0, want1, _ = blog.by_hand_three_layer(iterations)
        assert w0.shape == (3, 4) and w1.shape == (4, 1), (
            f"train returns syn0 (3, 4) and syn1 (4, 1), got {w0.shape} and {w1.shape}")
        if np.array_equal(w0, want0) and np.array_equal(w1, want1):
            continue
        gap = max(np.max(np.abs(w0 - want0)), np.max(np.abs(w1 - want1)))
        if gap < 1e-9:
            raise AssertionError(
                f"after {iterations} iteration(s) your weights are within {gap:.1e} of the "
                "blog's but not equal bit for bit: some backward rule groups its products "
                "differently from the blog (sigmoid: g * (s * (1 - s)); dot: g.dot(b.T) and "
                "a.T.dot(g)), or the step is not W.data -= W.grad")
        raise AssertionError(
            f"after {iterations} iteration(s) your weights are {gap:.2g} away from the blog's: "
            "check the forward pass, the loss 0.5 * ((y - l2) ** 2).sum(), and the step "
            "W.data -= W.grad (learning rate 1)")
