"""Differentiable operations, each forward next to its backward rule.

- ``arith``: ``+ - * / **`` and negation
- ``elementwise``: exp, log, sqrt, abs, tanh, sigmoid, relu, maximum, minimum, clip, where
- ``reduce``: sum, mean, max, min, var, logsumexp, softmax, log_softmax
- ``shape``: reshape, transpose, squeeze, expand_dims, broadcast_to, indexing, concatenate, stack, astype
- ``linalg``: matmul (``np.matmul`` rules) and dot
- ``loss``: the elementwise binary cross-entropies (stable, with closed-form backward rules)

The families listed in :data:`FAMILIES` plug themselves in: each may define

- ``__all__``: the functions exported as ``tinygrad_edu.<name>``;
- ``NUMPY_UFUNCS`` / ``NUMPY_FUNCTIONS``: ``{numpy callable: our op}``, merged
  into the dispatch tables of ``_protocol.py`` (``np.cumsum(t)`` records);
- ``TENSOR_METHODS``: ``{name: function}``, bound as ``Tensor`` methods
  (dunder names included, e.g. ``__mod__``).

So a new family is one new file here and one name in ``FAMILIES``.
"""

# Order matters only where two families bind the same name: the later wins.
FAMILIES = (
    "mathfn",    # elementwise math: expm1, arctan2, hypot, sinc, fmax, ... (numpy's ufuncs)
    "rounding",  # sign, floor, round, floor_divide, mod, fmod, clamp (piecewise constant)
    "contract",  # einsum, tensordot, outer, inner, N-D dot, kron, trace, diagonal
    "decomp",    # np.linalg: norm, det, slogdet, inv, solve, cholesky, eigh, svd
    "scan",      # prod, cumsum, cumprod, diff, cummax, cummin
    "stats",     # nansum, nanmean, average, ptp, median, quantile
    "sorting",   # sort, argsort, topk
    "query",     # non-differentiable queries: argmax, nonzero, unique, isclose, ...
    "arrange",   # ravel, moveaxis, flip, roll, tile, repeat, pad, tril, triu
    "join",      # vstack, hstack, split, array_split, chunk, atleast_nd
    "gather",    # take, take_along_axis, put_along_axis, gather, scatter, index_select
    "torch_names",  # PyTorch's names for the same ops: permute, view, expand, t(), numel, ...
    "activation",   # gelu, silu, softplus, elu, ... (nn.functional's activations)
    "normalization",  # layer_norm, group_norm, rms_norm, batch_norm, instance_norm
    "conv",      # conv1d/2d, conv_transpose1d/2d, unfold/fold (im2col)
    "pool",      # max/avg/adaptive pooling
    "attention",  # scaled_dot_product_attention
)


def families():
    """The family modules that exist, imported, in ``FAMILIES`` order."""
    import importlib

    mods = []
    for name in FAMILIES:
        try:
            mods.append(importlib.import_module(f"{__name__}.{name}"))
        except ModuleNotFoundError as err:
            if err.name != f"{__name__}.{name}":
                raise  # a real import error inside the family: do not hide it
    return mods
