"""Chapter 7, exercise: a 1-D convolution as one matrix product (docs/convolution.md)."""
from __future__ import annotations

import numpy as np

SLUG = "ch07_conv1d"
ORDER = 107.1
TITLE = "conv1d as im2col plus one matrix product"
PAGE = "convolution.md"
HINT = ("np.lib.stride_tricks.sliding_window_view(x, k, axis=2) gives the windows, shape "
        "(N, C, L-K+1, K); contract C and K against the kernel with np.einsum or a reshape and @")

SKELETON = '''"""Chapter 7, exercise: a 1-D convolution as one matrix product (docs/convolution.md).

Check: python -m tinygrad_edu.learn check ch07_conv1d
"""
import numpy as np


def conv1d(x, w, b):
    """PyTorch's conv1d (a cross-correlation), stride 1, no padding, with numpy.

    x: (N, C, L); w: (O, C, K); b: (O,). Returns (N, O, L - K + 1):
    out[n, o, t] = b[o] + sum over c, k of x[n, c, t + k] * w[o, c, k].
    No Python loop over positions: gather the windows, then one product.
    """
    # TODO: the windows (im2col), then one product with the kernel.
    raise NotImplementedError("conv1d")
'''

SOLUTION = '''"""Chapter 7, exercise: a 1-D convolution as one matrix product (docs/convolution.md).

Check: python -m tinygrad_edu.learn check ch07_conv1d
"""
import numpy as np


def conv1d(x, w, b):
    """PyTorch's conv1d (a cross-correlation), stride 1, no padding, with numpy."""
    K = w.shape[2]
    cols = np.lib.stride_tricks.sliding_window_view(x, K, axis=2)   # (N, C, L-K+1, K), a view
    return np.einsum("nctk,ock->not", cols, w) + b[:, None]
'''


def check(ns):
    import tinygrad_edu as tg
    from tinygrad_edu.nn import functional as F

    rng = np.random.default_rng(7)
    for (N, C, L), (O, K) in (((2, 3, 10), (4, 3)), ((1, 1, 5), (2, 5)), ((3, 2, 7), (1, 1))):
        x = rng.standard_normal((N, C, L))
        w = rng.standard_normal((O, C, K))
        b = rng.standard_normal(O)
        want = F.conv1d(tg.Tensor(x), tg.Tensor(w), tg.Tensor(b)).data
        got = np.asarray(ns.conv1d(x, w, b))
        assert got.shape == want.shape, (
            f"x {x.shape}, w {w.shape}: the output should have shape {want.shape} "
            f"(N, O, L - K + 1), got {got.shape}")
        if not np.allclose(got, want, rtol=1e-12, atol=1e-12):
            flipped = F.conv1d(tg.Tensor(x), tg.Tensor(w[:, :, ::-1].copy()), tg.Tensor(b)).data
            if K > 1 and np.allclose(got, flipped, rtol=1e-12, atol=1e-12):
                raise AssertionError("your kernel is flipped: PyTorch's convolution is a "
                                     "cross-correlation, x[t + k] * w[k], not x[t - k]")
            raise AssertionError(f"x {x.shape}, w {w.shape}: the values differ from F.conv1d's")
