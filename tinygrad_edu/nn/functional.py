"""Functional forms of the ``nn`` layers and losses (stateless; parameters are arguments).

Names and signatures follow ``torch.nn.functional``. Every function is built
from the differentiable ops in ``tinygrad_edu.ops``, so gradients (and
``create_graph=True`` second derivatives) come from those ops' rules; the
binary cross-entropies use the dedicated stable ops of ``ops/loss.py``.
Inputs may be Tensors or array-likes (wrapped without copying).
"""
from __future__ import annotations

import numpy as np

from .._mode import guard
from ..ops._common import asarray as _asarray
from ..ops.arith import mul
from ..ops.elementwise import relu as _relu
from ..ops.elementwise import sigmoid as _sigmoid
from ..ops.elementwise import tanh as _tanh
from ..ops.elementwise import where
from ..ops.linalg import linear as _linear
from ..ops.linalg import matmul
from ..ops.reduce import log_softmax as _log_softmax
from ..ops.reduce import softmax as _softmax
from ..ops.shape import flatten as _flatten
from ..ops.shape import getitem
from ..tensor import Tensor
from ._rng import draw as _rng_draw

__all__ = [
    "as_tensor", "relu", "leaky_relu", "tanh", "sigmoid", "softmax", "log_softmax", "linear",
    "flatten", "dropout", "dropout1d", "dropout2d", "batch_norm", "embedding", "one_hot",
    "mse_loss", "l1_loss", "binary_cross_entropy", "binary_cross_entropy_with_logits",
    "cross_entropy", "nll_loss",
]


def as_tensor(x):
    """``x`` as a Tensor (arrays and numbers are wrapped without copying)."""
    return x if isinstance(x, Tensor) else Tensor._wrap(_asarray(x))


# ---- activations ----------------------------------------------------------
def relu(x):
    """``max(x, 0)`` elementwise; the derivative at 0 is 0 (PyTorch's choice)."""
    return _relu(as_tensor(x))


def leaky_relu(x, negative_slope: float = 0.01):
    """``x if x > 0 else negative_slope * x`` elementwise (Maas et al. 2013).

    The derivative is 1 for x > 0 and ``negative_slope`` for x <= 0 (at 0 as
    PyTorch). Same shape and dtype as ``x``.
    """
    x = as_tensor(x)
    return where(x.data > 0, x, x * negative_slope)


def tanh(x):
    """Hyperbolic tangent elementwise; d/dx = 1 - tanh(x)**2."""
    return _tanh(as_tensor(x))


def sigmoid(x):
    """``1 / (1 + exp(-x))`` elementwise; see :func:`tinygrad_edu.sigmoid`."""
    return _sigmoid(as_tensor(x))


def _warn_implicit_dim(op, x, axis, dim):
    """PyTorch's implicit softmax dim is 0 for 3-D and 1 for 4-D+ input; ours is the last axis."""
    if axis is None and dim is None and x.ndim >= 3:
        import warnings

        warnings.warn(f"{op}: no dim given for a {x.ndim}-D input: the last axis is used here, "
                      f"where PyTorch's implicit choice would be dim={0 if x.ndim == 3 else 1}; "
                      "pass dim= to say which", UserWarning, stacklevel=3)


def softmax(x, axis=None, *, dim=None):
    """``exp(x) / sum(exp(x))`` along ``axis`` (or PyTorch's ``dim``; default the last axis).

    Shifted by the maximum, so stable for logits of any size. Without an axis
    on 3-D or larger input it warns (PyTorch's implicit choice differs).
    """
    x = as_tensor(x)
    _warn_implicit_dim("softmax", x, axis, dim)
    return _softmax(x, axis, dim=dim)


def log_softmax(x, axis=None, *, dim=None):
    """``x - logsumexp(x)`` along ``axis`` (or ``dim``; default the last), stable for any size.

    Warns without an axis on 3-D or larger input, as :func:`softmax`.
    """
    x = as_tensor(x)
    _warn_implicit_dim("log_softmax", x, axis, dim)
    return _log_softmax(x, axis, dim=dim)


# ---- shape and affine -----------------------------------------------------
def linear(x, weight, bias=None):
    """``x @ weight + bias`` with weight of shape ``(in_features, out_features)``.

    Shapes: x ``(..., in)``, weight ``(in, out)``, bias ``(out,)`` -> ``(..., out)``.
    Note the layout: PyTorch's ``F.linear`` takes the transpose ``(out, in)``.
    """
    return matmul(x, weight) if bias is None else _linear(x, weight, bias)


def flatten(x, start_dim: int = 0, end_dim: int = -1):
    """Merge axes ``start_dim..end_dim`` into one (``torch.flatten``; all axes by default).

    Raises ValueError naming the shape for an axis out of range.
    """
    return _flatten(as_tensor(x), start_dim, end_dim)


# ---- dropout ----------------------------------------------------------------
def _check_p(op, p):
    if isinstance(p, bool) or not isinstance(p, (int, float, np.floating, np.integer)) or not 0 <= p <= 1:
        raise ValueError(f"{op}: probability p must be a number in [0, 1], got {p!r}")
    return float(p)


def dropout(x, p: float = 0.5, training: bool = True, rng=None):
    """Inverted dropout (Srivastava et al. 2014, "Dropout: A Simple Way to Prevent
    Neural Networks from Overfitting"), as ``torch.nn.functional.dropout``.

    In training each element is zeroed with probability ``p`` and the kept
    ones are scaled by ``1 / (1 - p)``, so the expected value of every
    element is unchanged and no rescaling is needed at test time. With
    ``training=False`` (or ``p = 0``) it is the identity; ``p = 1`` gives zeros.
    The gradient is the same mask times the incoming gradient.

    Args:
        x: Tensor or array, any shape; float dtypes keep their dtype.
        p: drop probability in [0, 1].
        training: apply dropout (True) or return ``x`` unchanged.
        rng: None (fresh entropy), an int seed (the same mask every call) or a
            ``np.random.Generator`` (successive calls draw new masks).

    Raises ValueError when p is outside [0, 1].
    """
    p = _check_p("dropout", p)
    x = as_tensor(x)
    if not training or p == 0.0:
        return x
    dtype = x.dtype if x.dtype.kind == "f" else np.dtype(np.float64)
    keep = _rng_draw(rng, "random", x.shape) >= p  # P(keep) = 1 - p
    scale = 0.0 if p == 1.0 else 1.0 / (1.0 - p)
    return mul(x, keep.astype(dtype) * dtype.type(scale))


def _channel_dropout(op, x, p, training, rng, batched_ndim, unbatched_ndim):
    """Zero whole channels (axis 1 of a batch, axis 0 unbatched), scaling the rest by 1 / (1 - p)."""
    p = _check_p(op, p)
    x = as_tensor(x)
    if x.ndim not in (batched_ndim, unbatched_ndim):
        what = (f"a {batched_ndim}-D (N, C, ...)" if batched_ndim == unbatched_ndim else
                f"a {unbatched_ndim}-D (C, ...) or {batched_ndim}-D (N, C, ...)")
        raise ValueError(f"{op}: expected {what} input, got shape {x.shape}")
    if not training or p == 0.0:
        return x
    dtype = x.dtype if x.dtype.kind == "f" else np.dtype(np.float64)
    lead = 2 if x.ndim == batched_ndim else 1
    mask_shape = x.shape[:lead] + (1,) * (x.ndim - lead)
    keep = _rng_draw(rng, "random", mask_shape) >= p
    scale = 0.0 if p == 1.0 else 1.0 / (1.0 - p)
    return mul(x, keep.astype(dtype) * dtype.type(scale))


def dropout1d(x, p: float = 0.5, training: bool = True, rng=None):
    """Channel dropout for ``(N, C, L)`` or unbatched ``(C, L)`` inputs, as
    ``torch.nn.functional.dropout1d`` (Tompson et al. 2015, "Efficient Object
    Localization Using Convolutional Networks"): each channel is zeroed as a
    whole with probability ``p`` and the kept ones are scaled by ``1 / (1 - p)``.

    ``rng`` as :func:`dropout`. Raises ValueError for p outside [0, 1] or
    another rank.
    """
    return _channel_dropout("dropout1d", x, p, training, rng, 3, 2)


def dropout2d(x, p: float = 0.5, training: bool = True, rng=None):
    """Channel dropout for ``(N, C, H, W)`` inputs, as ``torch.nn.functional.dropout2d``: whole
    ``H x W`` feature maps are zeroed with probability ``p``, the kept ones scaled by
    ``1 / (1 - p)``.

    A 3-D input raises: PyTorch treats it as ``(N, C, L)`` (with a warning,
    for historical reasons), while its documentation calls it an unbatched
    ``(C, H, W)`` image; use :func:`dropout1d` for ``(N, C, L)`` or pass
    ``x[None]`` for one image. Raises ValueError for p outside [0, 1] or
    another rank.
    """
    if np.ndim(x.data if isinstance(x, Tensor) else x) == 3:
        raise ValueError(f"dropout2d: a 3-D input (shape {np.shape(x.data if isinstance(x, Tensor) else x)}) is "
                         "ambiguous (PyTorch drops channels of (N, C, L) here): use dropout1d for "
                         "(N, C, L), or x[None] for one (C, H, W) image")
    return _channel_dropout("dropout2d", x, p, training, rng, 4, 4)


# ---- batch normalisation ---------------------------------------------------
# batch_norm (any rank), layer_norm, group_norm, ... live in ops/normalization.py (NN_FUNCTIONAL).
from ..ops.normalization import batch_norm  # noqa: E402


# ---- embedding --------------------------------------------------------------
def embedding(idx, weight, padding_idx=None, max_norm=None):
    """Rows of ``weight`` picked by integer indices: ``weight[idx]`` (``torch.nn.functional.embedding``).

    Shapes: idx any shape of ints, weight ``(num_embeddings, embedding_dim)``
    -> ``idx.shape + (embedding_dim,)``. The gradient of a row is the sum over
    every position that picked it (repeated indices accumulate), except the
    row ``padding_idx`` (negative counts from the end), whose gradient is 0.

    Raises ValueError for non-integer indices, for indices outside
    ``[0, num_embeddings)`` (the offending values are listed), or for
    ``padding_idx`` out of range; ``max_norm`` (renormalising rows in place)
    is not supported and raises.
    """
    weight = as_tensor(weight)
    # asarray: a jit-traced index array stays traced (np.asarray: a view no recording follows)
    iv = _asarray(idx.data if isinstance(idx, Tensor) else idx)
    if max_norm is not None:
        raise ValueError("embedding: max_norm is not supported (it rewrites weight rows in place); "
                         "clip the rows explicitly instead")
    if weight.ndim != 2:
        raise ValueError(f"embedding: weight must be 2-D (num_embeddings, embedding_dim), got {weight.shape}")
    if iv.dtype.kind not in "iu":
        raise ValueError(f"embedding: indices must be integers, got dtype {iv.dtype} with shape {iv.shape}")
    n = weight.shape[0]
    # guard(): a jit recording logs the range test, which each replay rechecks (a negative
    # index would otherwise pick a row from the end on replay instead of raising)
    if iv.size and not (guard(np.minimum.reduce(iv, axis=None) >= 0)
                        and guard(np.maximum.reduce(iv, axis=None) < n)):
        iv = np.ndarray.view(iv, np.ndarray)  # about to raise: plain values for the message
        values = np.unique(iv[(iv < 0) | (iv >= n)])
        raise ValueError(f"embedding: indices {values[:10].tolist()}{' ...' if values.size > 10 else ''} "
                         f"are out of range for {n} embeddings (valid 0..{n - 1}); index shape {iv.shape}")
    out = getitem(weight, iv)
    if padding_idx is None:
        return out
    pad = _padding_idx("embedding", padding_idx, n)
    # select, not multiply: the padding row's positions take a constant copy (no gradient)
    return where((iv == pad)[..., None], weight.data[pad], out)


def _padding_idx(op, padding_idx, n):
    if isinstance(padding_idx, bool) or not isinstance(padding_idx, (int, np.integer)) \
            or not -n <= padding_idx < n:
        raise ValueError(f"{op}: padding_idx must be an int within num_embeddings ({n}), got {padding_idx!r}")
    return int(padding_idx) % n


def one_hot(tensor, num_classes: int = -1):
    """One-hot encoding of integer class indices, as ``torch.nn.functional.one_hot``.

    Shape ``idx.shape + (num_classes,)``, dtype int64, no gradient.
    ``num_classes=-1`` uses ``max(idx) + 1``.

    Raises ValueError for non-integer, negative or too large indices (naming them).
    """
    iv = _asarray(tensor.data if isinstance(tensor, Tensor) else tensor)
    if iv.dtype.kind not in "iu":
        raise ValueError(f"one_hot: indices must be integers, got dtype {iv.dtype} with shape {iv.shape}")
    if iv.size and guard(iv.min() < 0):  # guard(): rechecked by each jit replay
        iv = np.ndarray.view(iv, np.ndarray)
        raise ValueError(f"one_hot: class values must be non-negative, got {np.unique(iv[iv < 0])[:10].tolist()}")
    if num_classes == -1:
        if not iv.size:
            raise ValueError("one_hot: cannot infer num_classes from an empty tensor; pass num_classes")
        num_classes = int(iv.max()) + 1
    if isinstance(num_classes, bool) or not isinstance(num_classes, (int, np.integer)) or num_classes < 0:
        raise ValueError(f"one_hot: num_classes must be -1 or a non-negative int, got {num_classes!r}")
    if iv.size and guard(iv.max() >= num_classes):
        iv = np.ndarray.view(iv, np.ndarray)
        raise ValueError(f"one_hot: class values must be smaller than num_classes={num_classes}, got "
                         f"{np.unique(iv[iv >= num_classes])[:10].tolist()}")
    out = np.zeros(iv.shape + (int(num_classes),), dtype=np.int64)
    np.put_along_axis(out, iv[..., None].astype(np.intp), 1, axis=-1)
    return Tensor._wrap(out)


# The losses live in their own modules; they are part of this namespace as in PyTorch.
from ._loss_functional import (binary_cross_entropy, binary_cross_entropy_with_logits,  # noqa: E402
                               cross_entropy, l1_loss, mse_loss, nll_loss)
from ._loss_extra import (cosine_embedding_loss, gaussian_nll_loss, huber_loss,  # noqa: E402
                          kl_div, margin_ranking_loss, normalize, cosine_similarity,
                          pairwise_distance, poisson_nll_loss,
                          smooth_l1_loss, soft_margin_loss, triplet_margin_loss)

from ._interpolate import interpolate  # noqa: E402
from ._pad_functional import pad  # noqa: E402

__all__ += ["interpolate", "pad", "kl_div", "huber_loss", "smooth_l1_loss", "soft_margin_loss", "margin_ranking_loss",
            "cosine_embedding_loss", "triplet_margin_loss", "pairwise_distance", "normalize",
            "cosine_similarity",
            "poisson_nll_loss", "gaussian_nll_loss"]


def _export_op_families():
    """The ``NN_FUNCTIONAL`` names of each op family (``ops/__init__.py``) belong here too."""
    from ..ops import families

    for mod in families():
        for name in getattr(mod, "NN_FUNCTIONAL", ()):
            globals()[name] = getattr(mod, name)
            if name not in __all__:
                __all__.append(name)


_export_op_families()
