"""Chapter 3, exercise: an op written the engine's way (docs/engine/higher-derivatives.md)."""
from __future__ import annotations

import numpy as np

SLUG = "ch03_tanh_op"
ORDER = 103.1
TITLE = "A tanh op with record and a backward rule, first and second derivatives"
PAGE = "engine/higher-derivatives.md"
HINT = ("the slope from the output is 1 - out*out; write it with operators only, "
        "so that the rule also runs on Tensors under create_graph")

SKELETON = '''"""Chapter 3, exercise: an op written the engine's way (docs/engine/higher-derivatives.md).

Check: python -m tinygrad_edu.learn check ch03_tanh_op
"""
import numpy as np

import tinygrad_edu as tg
from tinygrad_edu.autograd import backward_rule, record


@backward_rule("my_tanh")
def _my_tanh_backward(g, out, inputs, saved, needs):
    # TODO: one gradient per input: g times tanh's slope, computed from the output
    # with numpy functions and operators only (so that it also runs on Tensors).
    raise NotImplementedError("_my_tanh_backward")


def my_tanh(x):
    """tanh of a Tensor, recorded with _my_tanh_backward."""
    # TODO: np.tanh of x's array, recorded with record(data, rule, inputs).
    raise NotImplementedError("my_tanh")
'''

SOLUTION = '''"""Chapter 3, exercise: an op written the engine's way (docs/engine/higher-derivatives.md).

Check: python -m tinygrad_edu.learn check ch03_tanh_op
"""
import numpy as np

import tinygrad_edu as tg
from tinygrad_edu.autograd import backward_rule, record


@backward_rule("my_tanh")
def _my_tanh_backward(g, out, inputs, saved, needs):
    return (g * (1 - out * out),)        # tanh' = 1 - tanh^2, from the output alone


def my_tanh(x):
    """tanh of a Tensor, recorded with _my_tanh_backward."""
    return record(np.tanh(x.data), _my_tanh_backward, (x,))
'''


def check(ns):
    import tinygrad_edu as tg

    x0 = np.random.default_rng(3).standard_normal(6)
    x = tg.Tensor(x0, requires_grad=True)
    y = ns.my_tanh(x)
    assert isinstance(y, tg.Tensor) and y.grad_fn is not None, (
        "my_tanh(x) should return a recorded Tensor: record(np.tanh(x.data), rule, (x,))")
    assert np.array_equal(y.data, np.tanh(x0)), "my_tanh's values should be np.tanh(x.data)"
    (dx,) = tg.grad(y.sum(), x, create_graph=True)
    t = np.tanh(x0)
    assert np.allclose(dx.data, 1 - t * t, rtol=1e-12, atol=1e-15), (
        f"the gradient should be 1 - tanh(x)**2 = {1 - t * t}, got {dx.data}")
    h = 1e-6
    numeric = (np.tanh(x0 + h) - np.tanh(x0 - h)) / (2 * h)
    assert np.allclose(dx.data, numeric, rtol=1e-7, atol=1e-9), "the gradient disagrees with finite differences"
    assert dx.grad_fn is not None, (
        "under create_graph=True the gradient should be recorded: write the rule with operators "
        "on g and out (not on .data), so that it runs on Tensors")
    (d2x,) = tg.grad(dx.sum(), x)
    assert np.allclose(d2x.data, -2 * t * (1 - t * t), rtol=1e-12, atol=1e-15), (
        "the second derivative should be -2 tanh (1 - tanh^2): compute the slope from `out`, "
        "the op's output, which the engine differentiates through")
