"""Chapter 1, exercise: the blog's Part 1 from memory, with autograd (docs/two-layer.md)."""
from __future__ import annotations

import numpy as np

SLUG = "ch01_from_memory"
ORDER = 101.1
TITLE = "Part 1 from memory with tinygrad_edu, bit for bit equal to the blog"
PAGE = "two-layer.md"
HINT = ("nn.Linear(3, 1, bias=False) and nn.Sigmoid(); np.random.seed(1), then "
        "2 * np.random.random((3, 1)) - 1 into the weight; loss 0.5 * sum((y - out)**2); SGD(lr=1)")

SKELETON = '''"""Chapter 1, exercise: the blog's Part 1 from memory, with autograd (docs/two-layer.md).

Check: python -m tinygrad_edu.learn check ch01_from_memory
"""
import numpy as np

import tinygrad_edu as tg
from tinygrad_edu import blog, nn, optim


def part1_with_autograd(iterations=10000):
    """Train the blog's 2-layer network on (blog.X, blog.Y_PART1); return the final weights.

    The weights as a (3, 1) numpy array. Start from the blog's seed-1 weights
    and take the blog's steps: at the end they must equal
    blog.by_hand_two_layer(iterations)'s bit for bit.
    """
    # TODO: the network, its initial weights, the optimizer and the loop.
    raise NotImplementedError("part1_with_autograd")
'''

SOLUTION = '''"""Chapter 1, exercise: the blog's Part 1 from memory, with autograd (docs/two-layer.md).

Check: python -m tinygrad_edu.learn check ch01_from_memory
"""
import numpy as np

import tinygrad_edu as tg
from tinygrad_edu import blog, nn, optim


def part1_with_autograd(iterations=10000):
    """Train the blog's 2-layer network on (blog.X, blog.Y_PART1); return the final weights."""
    net = nn.Sequential(nn.Linear(3, 1, bias=False), nn.Sigmoid())
    np.random.seed(1)                                  # the blog's initial weights
    net[0].weight.data[...] = 2 * np.random.random((3, 1)) - 1
    opt = optim.SGD(net.parameters(), lr=1.0)
    for _ in range(iterations):
        loss = 0.5 * ((blog.Y_PART1 - net(blog.X)) ** 2).sum()
        opt.zero_grad()
        loss.backward()
        opt.step()
    return net[0].weight.data
'''


def check(ns):
    from tinygrad_edu import blog

    for iterations in (1, 500):
        got = np.asarray(ns.part1_with_autograd(iterations))
        want, _ = blog.by_hand_two_layer(iterations)
        assert got.shape == (3, 1), f"return the (3, 1) weights, got shape {got.shape}"
        if not np.allclose(got, want, rtol=1e-6, atol=1e-9):
            start, _ = blog.by_hand_two_layer(0)
            first = "the first step" if iterations == 1 else f"{iterations} steps"
            raise AssertionError(
                f"after {first} the weights are {got.ravel()}, the blog's {want.ravel()}. "
                + ("Start from the blog's weights (np.random.seed(1), then "
                   "2 * np.random.random((3, 1)) - 1, which are " + str(start.ravel()) + "); "
                   if iterations == 1 else "")
                + "the loss is 0.5 * sum((y - out)**2) and the optimizer SGD(lr=1)")
        assert np.array_equal(got, want), (
            f"after {iterations} steps the weights are close to the blog's but not equal bit for "
            "bit: a mean instead of a sum, or a learning rate other than 1, rounds differently")
