"""The two networks of "A Neural Network in 11 lines of Python" (iamtrask, 2015),
by hand and with autograd, side by side.

:func:`by_hand_two_layer` and :func:`by_hand_three_layer` are the blog's code
(Python 3 spelling): backprop written out as
``l2_delta = l2_error * nonlin(l2, deriv=True)``. :func:`blog_network` builds
the same networks from ``nn.Linear(bias=False)`` and ``nn.Sigmoid()``, with the
blog's initial weights (:func:`initial_weights`), and
:func:`train_with_autograd` minimises ``0.5 * sum((y - out)**2)`` with
``loss.backward()`` and ``SGD(lr=1)``. The blog's update
``syn += l.T.dot(delta)`` is gradient descent on that loss, and the engine
computes the very same floating-point numbers: the final weights are equal
bit for bit (``np.array_equal``), which :func:`main` prints.

Run it: ``python -m tinygrad_edu`` or ``python examples/blog_backprop.py``.
"""
from __future__ import annotations

import numpy as np

from . import nn, optim

#: The blog's input table: 4 examples, 3 inputs each (the third is always 1).
X = np.array([[0, 0, 1], [0, 1, 1], [1, 0, 1], [1, 1, 1]])
#: Part 1's target: the first input column.
Y_PART1 = np.array([[0, 0, 1, 1]]).T
#: Part 2's target: XOR of the first two columns.
Y_PART2 = np.array([[0], [1], [1], [0]])


def nonlin(x, deriv=False):
    """The blog's sigmoid; with ``deriv=True``, its slope given the sigmoid's *output* x."""
    if deriv:
        return x * (1 - x)
    return 1 / (1 + np.exp(-x))


def initial_weights(*shapes, seed=1):
    """The blog's initial weights: ``np.random.seed(1)``, then ``2*np.random.random(shape) - 1`` per shape."""
    np.random.seed(seed)
    return [2 * np.random.random(shape) - 1 for shape in shapes]


def by_hand_two_layer(iterations=10000, callback=None):
    """Part 1, as the blog writes it. Returns ``(syn0, l1)``: final weights, last output.

    ``callback(it, updates)`` (optional) receives each iteration's weight
    updates, e.g. to compare them with autograd gradients.
    """
    (syn0,) = initial_weights((3, 1))
    for it in range(iterations):
        l0 = X
        l1 = nonlin(np.dot(l0, syn0))
        l1_error = Y_PART1 - l1
        l1_delta = l1_error * nonlin(l1, True)
        update = np.dot(l0.T, l1_delta)
        if callback:
            callback(it, [update])
        syn0 += update
    return syn0, l1


def by_hand_three_layer(iterations=60000, callback=None, log=None):
    """Part 2 (XOR), as the blog writes it. Returns ``(syn0, syn1, l2)``.

    ``log(j, error)`` is called every 10,000 iterations with the blog's
    ``np.mean(np.abs(l2_error))``.
    """
    syn0, syn1 = initial_weights((3, 4), (4, 1))
    for j in range(iterations):
        l0 = X
        l1 = nonlin(np.dot(l0, syn0))
        l2 = nonlin(np.dot(l1, syn1))
        l2_error = Y_PART2 - l2
        if log and j % 10000 == 0:
            log(j, np.mean(np.abs(l2_error)))
        l2_delta = l2_error * nonlin(l2, deriv=True)
        l1_error = l2_delta.dot(syn1.T)
        l1_delta = l1_error * nonlin(l1, deriv=True)
        updates = [l0.T.dot(l1_delta), l1.T.dot(l2_delta)]
        if callback:
            callback(j, updates)
        syn1 += updates[1]
        syn0 += updates[0]
    return syn0, syn1, l2


def blog_network(*sizes):
    """``Linear(bias=False)`` + ``Sigmoid`` per layer, starting from the blog's weights.

    ``blog_network(3, 1)`` is Part 1's network, ``blog_network(3, 4, 1)`` Part 2's.
    """
    layers = []
    for n_in, n_out in zip(sizes, sizes[1:]):
        layers += [nn.Linear(n_in, n_out, bias=False), nn.Sigmoid()]
    net = nn.Sequential(*layers)
    weights = initial_weights(*zip(sizes, sizes[1:]))
    for layer, w in zip(net[::2], weights):
        layer.weight.data[...] = w
    return net


def train_with_autograd(net, y, iterations, callback=None, log=None):
    """Train ``net`` on the blog's X with loss ``0.5 * sum((y - out)**2)`` and ``SGD(lr=1)``.

    ``callback(it, grads)`` receives each iteration's weight gradients (numpy
    arrays, first layer first); ``log(it, error)`` is called every 10,000
    iterations with ``mean(|y - out|)``. Returns the last output (a Tensor).
    """
    opt = optim.SGD(net.parameters(), lr=1.0)
    for it in range(iterations):
        out = net(X)
        error = y - out
        if log and it % 10000 == 0:
            log(it, np.mean(np.abs(error.data)))
        loss = 0.5 * (error ** 2).sum()
        opt.zero_grad()
        loss.backward()
        if callback:
            callback(it, [p.grad.data for p in net.parameters()])
        opt.step()
    return out


def main():
    """Train both blog networks with autograd, print what the blog prints, and compare."""
    print("Part 1: the 2-layer network, trained with tinygrad_edu autograd")
    net1 = blog_network(3, 1)
    out1 = train_with_autograd(net1, Y_PART1, 10000)
    print("Output After Training:")
    print(out1.data)
    syn0, _ = by_hand_two_layer(10000)
    same1 = np.array_equal(net1[0].weight.data, syn0)

    print("\nPart 2: the 3-layer network on XOR, trained with tinygrad_edu autograd")
    net2 = blog_network(3, 4, 1)
    train_with_autograd(net2, Y_PART2, 60000, log=lambda j, e: print("Error:" + str(e)))
    syn0, syn1, _ = by_hand_three_layer(60000)
    same2 = np.array_equal(net2[0].weight.data, syn0) and np.array_equal(net2[2].weight.data, syn1)

    print()
    for part, same in (("Part 1", same1), ("Part 2", same2)):
        verdict = "identical bit for bit" if same else "DIFFERENT"
        print(f"{part}: weights from autograd vs the blog's hand-written backprop: {verdict}")
    if not (same1 and same2):
        raise SystemExit(1)


if __name__ == "__main__":
    main()
