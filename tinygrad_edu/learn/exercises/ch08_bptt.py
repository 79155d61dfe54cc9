"""Chapter 8, exercise: backpropagation through time from memory (docs/recurrent.md)."""
from __future__ import annotations

import numpy as np

SLUG = "ch08_bptt"
ORDER = 108.1
TITLE = "BPTT from memory: a tanh RNN's weight gradients"
PAGE = "recurrent.md"
HINT = ("backwards in time: dh = G[t] + dh_next; da = dh * (1 - h_t**2); dW_ih += da.T @ x_t; "
        "dW_hh += da.T @ h_{t-1}; dh_next = da @ W_hh")

# skeleton and solution share the header and the forward pass; only bptt's body differs
PRELUDE = '''"""Chapter 8, exercise: backpropagation through time from memory (docs/recurrent.md).

Check: python -m tinygrad_edu.learn check ch08_bptt
"""
import numpy as np


def rnn_forward(x, W_ih, W_hh):
    """h_t = tanh(x_t @ W_ih.T + h_{t-1} @ W_hh.T), h_0 = 0; x: (T, N, D). Returns [h_0, ..., h_T]."""
    hs = [np.zeros((x.shape[1], W_hh.shape[0]))]
    for t in range(x.shape[0]):
        hs.append(np.tanh(x[t] @ W_ih.T + hs[-1] @ W_hh.T))
    return hs


def bptt(x, W_ih, W_hh, G):
'''

SKELETON = PRELUDE + '''    """The gradients (dW_ih, dW_hh) of sum over t of sum(h_t * G[t]).

    G: (T, N, H), the upstream gradient of every output h_1 ... h_T.
    """
    hs = rnn_forward(x, W_ih, W_hh)
    # TODO: go backwards in time, carrying the gradient that flows into h_{t-1}.
    raise NotImplementedError("bptt")
'''

SOLUTION = PRELUDE + '''    """The gradients (dW_ih, dW_hh) of sum over t of sum(h_t * G[t])."""
    hs = rnn_forward(x, W_ih, W_hh)
    dW_ih, dW_hh = np.zeros_like(W_ih), np.zeros_like(W_hh)
    dh_next = np.zeros_like(hs[0])                 # nothing flows into the last step from later
    for t in reversed(range(x.shape[0])):
        dh = G[t] + dh_next                        # its own output's gradient, plus the future's
        da = dh * (1 - hs[t + 1] ** 2)             # back through the tanh
        dW_ih += da.T @ x[t]                       # every step uses the same weights: sum
        dW_hh += da.T @ hs[t]
        dh_next = da @ W_hh                        # on to h_{t-1}
    return dW_ih, dW_hh
'''


def check(ns):
    import tinygrad_edu as tg
    from tinygrad_edu import nn

    rng = np.random.default_rng(8)
    for T, N, D, H in ((1, 2, 3, 4), (7, 3, 4, 5)):
        rnn = nn.RNN(D, H, bias=False, rng=1)
        x = rng.standard_normal((T, N, D))
        G = rng.standard_normal((T, N, H))
        out, _ = rnn(tg.Tensor(x))
        (out * G).sum().backward()
        W_ih, W_hh = rnn.weight_ih_l0.data.copy(), rnn.weight_hh_l0.data.copy()
        result = ns.bptt(x, W_ih, W_hh, G)
        assert isinstance(result, tuple) and len(result) == 2, "bptt should return (dW_ih, dW_hh)"
        dW_ih, dW_hh = (np.asarray(a) for a in result)
        assert dW_ih.shape == W_ih.shape and dW_hh.shape == W_hh.shape, (
            f"the gradients have the weights' shapes {W_ih.shape} and {W_hh.shape}, got "
            f"{dW_ih.shape} and {dW_hh.shape}")
        steps = f"{T} step" + ("s" if T > 1 else "")
        assert np.allclose(dW_ih, rnn.weight_ih_l0.grad.data, rtol=1e-10, atol=1e-12), (
            f"dW_ih is wrong for {steps}: sum da_t.T @ x_t over the steps, with "
            "da_t = (G[t] + what flows back from step t+1) * (1 - h_t**2)")
        assert np.allclose(dW_hh, rnn.weight_hh_l0.grad.data, rtol=1e-10, atol=1e-12), (
            f"dW_hh is wrong for {steps}: sum da_t.T @ h_(t-1) over the steps (the state before "
            "the step, not after)")
