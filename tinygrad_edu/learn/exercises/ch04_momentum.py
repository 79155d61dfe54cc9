"""Chapter 4, exercise 2: momentum by hand (docs/future-work.md)."""
from __future__ import annotations

import numpy as np

SLUG = "ch04_momentum"
ORDER = 104.2
TITLE = "Momentum: one SGD step with a velocity, as optim.SGD takes it"
PAGE = "future-work.md"
HINT = "PyTorch's rule: velocity = momentum * velocity + grad (just grad on the first step); w - lr * velocity"

SKELETON = '''"""Chapter 4, exercise 2: momentum by hand (docs/future-work.md).

Check: python -m tinygrad_edu.learn check ch04_momentum
"""
import numpy as np


def momentum_step(w, grad, velocity, lr, momentum):
    """One step of SGD with momentum, PyTorch's rule. Returns (new w, new velocity).

    velocity is None before the first step. Then the velocity is the gradient
    itself; afterwards it is momentum * velocity + grad. The step is
    w - lr * velocity. Return new arrays; do not modify w, grad or velocity.
    """
    # TODO: the new velocity, then the new weights.
    raise NotImplementedError("momentum_step")
'''

SOLUTION = '''"""Chapter 4, exercise 2: momentum by hand (docs/future-work.md).

Check: python -m tinygrad_edu.learn check ch04_momentum
"""
import numpy as np


def momentum_step(w, grad, velocity, lr, momentum):
    """One step of SGD with momentum, PyTorch's rule. Returns (new w, new velocity)."""
    if velocity is None:
        velocity = grad.copy()                    # the first step is plain SGD
    else:
        velocity = momentum * velocity + grad     # an average of past gradients, decaying
    return w - lr * velocity, velocity
'''


def check(ns):
    import tinygrad_edu as tg
    from tinygrad_edu import optim

    rng = np.random.default_rng(5)
    A = rng.standard_normal((6, 3))
    b = rng.standard_normal(6)
    w0 = rng.standard_normal(3)
    lr, momentum = 0.05, 0.9
    w_t = tg.Tensor(w0.copy(), requires_grad=True)
    opt = optim.SGD([w_t], lr=lr, momentum=momentum)
    w, velocity = w0.copy(), None
    for step in range(6):
        loss = 0.5 * ((A @ w_t - b) ** 2).sum()
        opt.zero_grad()
        loss.backward()
        grad = w_t.grad.data.copy()
        np.testing.assert_allclose(grad, A.T @ (A @ w - b), rtol=1e-10, atol=1e-12)
        opt.step()
        before = (w.copy(), grad.copy(), None if velocity is None else velocity.copy())
        result = ns.momentum_step(w, grad, velocity, lr, momentum)
        assert isinstance(result, tuple) and len(result) == 2, (
            "momentum_step should return a tuple (new w, new velocity)")
        new_w, new_velocity = result
        assert np.array_equal(w, before[0]) and np.array_equal(grad, before[1]) and (
            velocity is None or np.array_equal(velocity, before[2])), (
            "momentum_step modified its arguments: compute new arrays instead")
        assert np.allclose(new_w, w_t.data, rtol=1e-12, atol=1e-14), (
            f"step {step}: the weights differ from optim.SGD(momentum={momentum})'s "
            + ("(the first step uses the gradient itself as the velocity)" if step == 0 else
               "(velocity = momentum * velocity + grad, then w - lr * velocity)"))
        w, velocity = new_w, new_velocity
