"""Regenerate tests/reference/blog_torch.npz: the blog's XOR network (Part 2) trained by PyTorch.

    python tests/reference/make_blog_torch.py     (needs torch; the docs and tests only load the .npz)

The same loop as the blog and as ``tinygrad_edu.blog.train_with_autograd``: the blog's seed-1
initial weights, ``0.5 * sum((y - out)**2)``, ``loss.backward()``, ``SGD(lr=1)``, 60,000 steps,
all in float64 on one thread. docs/backprop.md compares the weights it ends with against the
blog's (PyTorch's kernels group and sum in their own orders, so they are not bit for bit equal).

Layout: ``syn0`` (3, 4), ``syn1`` (4, 1): the final weights in the blog's layout (in, out);
``steps``: the number of steps; ``torch_version``: the version that computed them (a string).
"""
from pathlib import Path

import numpy as np
import torch

torch.set_num_threads(1)
STEPS = 60000

# The blog's data and initial weights (as tinygrad_edu.blog writes them, without importing it).
X = np.array([[0, 0, 1], [0, 1, 1], [1, 0, 1], [1, 1, 1]])
Y = np.array([[0], [1], [1], [0]])
np.random.seed(1)
syn0 = 2 * np.random.random((3, 4)) - 1
syn1 = 2 * np.random.random((4, 1)) - 1

x = torch.tensor(X, dtype=torch.float64)          # the blog's int X, cast as the forward casts it
y = torch.tensor(Y, dtype=torch.float64)
w0 = torch.tensor(syn0, requires_grad=True)
w1 = torch.tensor(syn1, requires_grad=True)
opt = torch.optim.SGD([w0, w1], lr=1.0)
for _ in range(STEPS):
    out = torch.sigmoid(torch.sigmoid(x @ w0) @ w1)
    loss = 0.5 * ((y - out) ** 2).sum()
    opt.zero_grad()
    loss.backward()
    opt.step()

path = Path(__file__).with_name("blog_torch.npz")
np.savez(path, syn0=w0.detach().numpy(), syn1=w1.detach().numpy(), steps=STEPS,
         torch_version=torch.__version__)
print(f"wrote {path}")
