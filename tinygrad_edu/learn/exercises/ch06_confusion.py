"""Chapter 6, exercise 2: which digits are confused with which (docs/digits.md)."""
from __future__ import annotations

import numpy as np

SLUG = "ch06_confusion"
ORDER = 106.2
TITLE = "A confusion matrix in one numpy call"
PAGE = "digits.md"
HINT = "np.add.at(counts, (y_true, y_pred), 1) adds 1 at every (true, predicted) pair, repeats included"

SKELETON = '''"""Chapter 6, exercise 2: which digits are confused with which (docs/digits.md).

Check: python -m tinygrad_edu.learn check ch06_confusion
"""
import numpy as np


def confusion_matrix(y_true, y_pred, n_classes):
    """counts[i, j] = how many examples of class i were predicted as class j.

    y_true, y_pred: (n,) integer arrays of classes in 0..n_classes-1.
    Returns an (n_classes, n_classes) int64 array; its diagonal holds the
    correct predictions. No Python loop over the examples.
    """
    # TODO: count every (true, predicted) pair.
    raise NotImplementedError("confusion_matrix")
'''

SOLUTION = '''"""Chapter 6, exercise 2: which digits are confused with which (docs/digits.md).

Check: python -m tinygrad_edu.learn check ch06_confusion
"""
import numpy as np


def confusion_matrix(y_true, y_pred, n_classes):
    """counts[i, j] = how many examples of class i were predicted as class j."""
    counts = np.zeros((n_classes, n_classes), dtype=np.int64)
    np.add.at(counts, (y_true, y_pred), 1)     # unbuffered: repeated pairs all count
    return counts
'''


def check(ns):
    rng = np.random.default_rng(7)
    y_true = rng.integers(0, 10, 500)
    y_pred = np.where(rng.random(500) < 0.8, y_true, rng.integers(0, 10, 500))
    want = np.zeros((10, 10), dtype=np.int64)
    for t, p in zip(y_true, y_pred):
        want[t, p] += 1
    got = ns.confusion_matrix(y_true, y_pred, 10)
    got = np.asarray(got)
    assert got.shape == (10, 10), f"the matrix should be (10, 10) for 10 classes, got {got.shape}"
    assert got.dtype.kind in "iu", f"counts are integers, got dtype {got.dtype}"
    if got.sum() < len(y_true):
        raise AssertionError(
            f"the counts add up to {got.sum()}, not {len(y_true)} (one per example): repeated "
            "(true, predicted) pairs must all count; fancy-index assignment counts each once, "
            "np.add.at counts them all")
    assert np.array_equal(got, want), (
        "counts[i, j] should count the examples of class i predicted as j (rows: true class); "
        f"the diagonal should be {np.diag(want)}, got {np.diag(got)}")
    assert np.array_equal(np.asarray(ns.confusion_matrix(np.array([2]), np.array([0]), 3)),
                          [[0, 0, 0], [0, 0, 0], [1, 0, 0]]), (
        "one example of class 2 predicted as 0 should give a 1 at row 2, column 0")
