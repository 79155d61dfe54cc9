"""Differentiable operations, each forward next to its backward rule.

- ``arith``: ``+ - * / **`` and negation
- ``elementwise``: exp, log, sqrt, abs, tanh, sigmoid, relu, maximum, minimum, clip, where
- ``reduce``: sum, mean, max, min, var, logsumexp, softmax, log_softmax
- ``shape``: reshape, transpose, squeeze, expand_dims, broadcast_to, indexing, concatenate, stack, astype
- ``linalg``: matmul (``np.matmul`` rules) and dot
- ``loss``: the elementwise binary cross-entropies (stable, with closed-form backward rules)
"""
