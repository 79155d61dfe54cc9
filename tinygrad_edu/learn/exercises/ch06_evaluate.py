"""Chapter 6, exercise 1: evaluating a model properly (docs/digits.md)."""
from __future__ import annotations

import numpy as np

SLUG = "ch06_evaluate"
ORDER = 106.1
TITLE = "Evaluate a classifier: eval mode, no graph, and back to the mode it was in"
PAGE = "digits.md"
HINT = ("remember model.training, call model.eval(), compute under tg.no_grad(), "
        "then model.train(was_training)")

SKELETON = '''"""Chapter 6, exercise 1: evaluating a model properly (docs/digits.md).

Check: python -m tinygrad_edu.learn check ch06_evaluate
"""
import numpy as np

import tinygrad_edu as tg
from tinygrad_edu import nn


def evaluate(model, X, y):
    """The mean cross-entropy and the accuracy of model on (X, y), as two Python floats.

    X: (n, features) array; y: (n,) class indices. Evaluate in eval mode (no
    dropout, batch norm's running statistics) and without recording a graph,
    and leave the model in the mode it was in (training or not).
    """
    # TODO: remember the mode, switch to eval, compute without a graph, restore the mode.
    raise NotImplementedError("evaluate")
'''

SOLUTION = '''"""Chapter 6, exercise 1: evaluating a model properly (docs/digits.md).

Check: python -m tinygrad_edu.learn check ch06_evaluate
"""
import numpy as np

import tinygrad_edu as tg
from tinygrad_edu import nn


def evaluate(model, X, y):
    """The mean cross-entropy and the accuracy of model on (X, y), as two Python floats."""
    was_training = model.training
    model.eval()                          # dropout off, batch norm's running statistics
    try:
        with tg.no_grad():                # nothing to differentiate: record no graph
            logits = model(X)
            loss = nn.CrossEntropyLoss()(logits, y).item()
            accuracy = float(np.mean(logits.data.argmax(axis=1) == y))
    finally:
        model.train(was_training)         # as it was, even if something raised
    return loss, accuracy
'''


def check(ns):
    import tinygrad_edu as tg
    from tinygrad_edu import data, nn

    class GradModeProbe(nn.Module):
        """Records whether grad mode was on when the model ran."""

        def __init__(self):
            super().__init__()
            self.seen = []

        def forward(self, x):
            self.seen.append(tg.is_grad_enabled())
            return x

    X, y = data.moons(60, noise=0.2, rng=3)
    g = np.random.default_rng(6)
    probe = GradModeProbe()
    model = nn.Sequential(nn.Linear(2, 16, rng=g), nn.ReLU(), nn.Dropout(0.5, rng=0),
                          nn.Linear(16, 2, rng=g), probe)
    model.eval()
    with tg.no_grad():
        logits = model(X).data
    want_loss = nn.CrossEntropyLoss()(tg.Tensor(logits), y).item()
    want_acc = float(np.mean(logits.argmax(axis=1) == y))
    probe.seen.clear()

    for mode in (True, False):
        model.train(mode)
        result = ns.evaluate(model, X, y)
        assert isinstance(result, tuple) and len(result) == 2, "evaluate should return (loss, accuracy)"
        loss, acc = result
        assert type(loss) is float and type(acc) is float, (
            f"return two Python floats (loss.item(), float(...)), got {type(loss).__name__} and "
            f"{type(acc).__name__}")
        assert probe.seen and not any(probe.seen), (
            "the model ran with grad mode on: evaluate under `with tg.no_grad():`")
        probe.seen.clear()
        assert np.isclose(loss, want_loss, rtol=1e-12) and acc == want_acc, (
            f"got loss {loss:.6g}, accuracy {acc:.4g}; in eval mode they are {want_loss:.6g} and "
            f"{want_acc:.4g}: call model.eval() first (dropout must be off)")
        assert model.training is mode and all(m.training is mode for m in model.modules()), (
            f"the model was in {'training' if mode else 'eval'} mode before evaluate and is not "
            "after it: remember model.training and restore it with model.train(was_training)")
