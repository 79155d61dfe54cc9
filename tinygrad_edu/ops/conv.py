"""Convolutions with PyTorch's names and NCHW layouts: ``conv1d``, ``conv2d``,
``conv_transpose1d``, ``conv_transpose2d``, and im2col as ``unfold``/``fold``.

How they are computed (Chellapilla et al. 2006, "High Performance
Convolutional Neural Networks for Document Processing"; the lowering of
PyTorch's CPU ``slow_conv2d``, channels-last): im2col (``ops/_im2col.py``)
copies every kernel window of the (padded) input out of a strided view into
a matrix of shape ``(N*oh*ow, kh*kw*C)``, and the convolution is then ONE
matrix product with the weight viewed as ``(kh*kw*C, out)`` (a batch of
``groups`` products). The input gradient is a product per kernel offset
followed by col2im, the adjoint, which adds the columns back into the
image (one strided block-add per kernel offset); the weight gradient is one
product of the output gradient with the forward's columns.

Differentiability: im2col and col2im are recorded ops, each the other's
backward (the pattern of ``ops/shape.py``'s getitem/index_add). The rules of
``conv2d`` and ``conv_transpose2d`` are written with them, reshapes and
``@`` only, so the same rule runs on arrays (one matmul and one col2im per
gradient) and, with ``create_graph=True``, on Tensors, where it records a
graph that can be differentiated again.

1-D ops and unbatched inputs are the 2-D op on a height-1 / batch-1 view.
"""
from __future__ import annotations

import numpy as np

from ..autograd import backward_rule, record
from ..tensor import Tensor
from ._common import as_operand, describe
from .shape import astype
from ._im2col import Geom, _im2col_array, col2im, im2col, out_size, scratch, tuple_arg

# unfold/fold only in nn.functional, where PyTorch has them: ``torch.unfold``/``Tensor.unfold``
# is another op (sliding windows along one axis), so a top-level ``tg.unfold`` would mislead.
__all__ = ["conv1d", "conv2d", "conv_transpose1d", "conv_transpose2d"]
NN_FUNCTIONAL = __all__ + ["unfold", "fold"]


# ---- layouts: the reshapes around the matrix products (arrays or Tensors) --------
def _rows(x, groups):
    """NCHW ``(N, G*c, h, w)`` -> rows ``(G, N*h*w, c)`` (one copy; a scratch array
    for an array ``x``)."""
    n, c, h, w = x.shape
    if isinstance(x, np.ndarray):
        rows = scratch("rows", (groups, n, h, w, c // groups), x.dtype)
        np.copyto(rows, x.reshape(n, groups, c // groups, h, w).transpose(1, 0, 3, 4, 2))
        return rows.reshape(groups, n * h * w, c // groups)
    return x.reshape(n, groups, c // groups, h, w).transpose(1, 0, 3, 4, 2).reshape(
        groups, n * h * w, c // groups)


def _unrows(y, n, h, w):
    """Rows ``(G, N*h*w, c)`` -> NCHW ``(N, G*c, h, w)``."""
    groups, _, c = y.shape
    return y.reshape(groups, n, h, w, c).transpose(1, 0, 4, 2, 3).reshape(n, groups * c, h, w)


def _w_k_a(w, groups):
    """A weight ``(G*a, b, kh, kw)`` as ``(G, kh*kw*b, a)``: the columns' (i, j, c) order."""
    a, b, kh, kw = w.shape
    return w.reshape(groups, a // groups, b, kh, kw).transpose(0, 3, 4, 2, 1).reshape(
        groups, kh * kw * b, a // groups)


def _w_kk_a_b(w, groups):
    """A weight ``(G*a, b, kh, kw)`` as ``(G, kh*kw, a, b)``: one ``a x b`` matrix per offset."""
    a, b, kh, kw = w.shape
    return w.reshape(groups, a // groups, b, kh, kw).transpose(0, 3, 4, 1, 2).reshape(
        groups, kh * kw, a // groups, b)


def _w_from_a_k(m, shape):
    """``(G, a, kh*kw*b)`` (a weight gradient) -> the weight's ``(G*a, b, kh, kw)``."""
    groups, a = m.shape[:2]
    _, b, kh, kw = shape
    return m.reshape(groups, a, kh, kw, b).transpose(0, 1, 4, 2, 3).reshape(shape)


def _spread(rows, w, g, n):
    """col2im of ``rows (G, N*oh*ow, a) @ w[offset] (a, b)``: columns in offset-major
    order, so that col2im adds contiguous blocks."""
    groups = rows.shape[0]
    wk = _w_kk_a_b(w, groups)
    if isinstance(rows, np.ndarray) and isinstance(wk, np.ndarray):
        cols = np.matmul(np.expand_dims(rows, 1), wk,
                         out=scratch("spread", (groups, g.kh * g.kw, rows.shape[1], wk.shape[-1]),
                                     np.result_type(rows, wk)))
    else:
        cols = np.expand_dims(rows, 1) @ wk  # (G, kh*kw, L, b)
    cols = cols.reshape(groups, g.kh, g.kw, n, g.oh, g.ow, cols.shape[-1])
    return col2im(cols.transpose(0, 3, 4, 5, 1, 2, 6), g)


# ---- argument checks shared by the convolutions ---------------------------------
def _float_operands(op, x, weight, bias):
    x = as_operand(op, x)
    weight = as_operand(op, weight)
    bias = None if bias is None else as_operand(op, bias)
    for t in (x, weight) + (() if bias is None else (bias,)):
        if t.dtype.kind != "f":
            raise TypeError(f"{op}: expects floating-point tensors, got {describe(t)}")
    dts = {t.dtype for t in (x, weight, bias) if t is not None}
    if len(dts) > 1:  # numpy's promotion, as every other op here (float32 data, float64 model)
        dt = np.result_type(*dts)
        x, weight = (t if t.dtype == dt else astype(t, dt) for t in (x, weight))
        if bias is not None and bias.dtype != dt:
            bias = astype(bias, dt)
    return x, weight, bias


def _check_ranks(op, x, weight, nd):
    if x.ndim not in (nd + 1, nd + 2):
        raise ValueError(f"{op}: expected a {nd + 1}-D (unbatched) or {nd + 2}-D (batched) input, "
                         f"got shape {x.shape}")
    if weight.ndim != nd + 2:
        raise ValueError(f"{op}: expected a {nd + 2}-D weight, got shape {weight.shape}")


def _check_bias(op, bias, n):
    if bias is not None and bias.shape != (n,):
        raise ValueError(f"{op}: bias must have shape ({n},), got {bias.shape}")


def _as4d(x, nd):
    """``x`` as (N, C, H, W) (a recorded reshape) and a function giving results their rank back."""
    shape = x.shape
    lead = (1,) if x.ndim == nd + 1 else shape[:1]
    c, spatial = shape[-nd - 1], shape[-nd:]
    x4 = x if x.ndim == 4 else x.reshape(lead + (c,) + (1,) * (2 - nd) + spatial)

    def back(y):
        if y.ndim == x.ndim + 2 - nd and x.ndim == 4:
            return y
        keep = y.shape[:1] if x.ndim == nd + 2 else ()
        return y.reshape(keep + y.shape[1:2] + y.shape[4 - nd:])
    return x4, back


# ---- conv2d ----------------------------------------------------------------------
def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """2-D cross-correlation, as ``torch.nn.functional.conv2d``.

    ``out[n, o, y, x] = bias[o] + sum_{c, i, j} weight[o, c, i, j] *
    xpad[n, g*C/groups + c, y*sh + i*dh, x*sw + j*dw]`` where ``g`` is the
    group of output channel ``o``.

    Shapes: input ``(N, C, H, W)`` or unbatched ``(C, H, W)``; weight
    ``(O, C/groups, kh, kw)``; bias ``(O,)`` -> ``(N, O, oh, ow)`` with
    ``oh = floor((H + 2*ph - dh*(kh-1) - 1)/sh) + 1``. ``stride``, ``padding``,
    ``dilation``: an int or a pair; ``padding`` may also be ``'valid'`` (0) or
    ``'same'`` (stride 1 only; an odd total padding puts the extra row/column
    at the bottom/right, as PyTorch). Zero padding. Floating dtypes only,
    operands of different float dtypes promoted as numpy does (the gradients
    are cast back to each operand's dtype).

    Gradients: input - a transposed convolution (``W^T @ g`` then col2im);
    weight - ``g @ cols^T``; bias - ``g`` summed over N, oh, ow. All
    twice differentiable.

    Raises TypeError for non-float dtypes and malformed arguments;
    ValueError (naming the shapes) for wrong ranks, channels that do not
    match ``weight.shape[1] * groups``, out channels not divisible by
    ``groups``, a kernel larger than the padded input, a bad bias shape, an
    unknown padding string or ``'same'`` with a stride > 1.
    """
    return _conv("conv2d", input, weight, bias, stride, padding, dilation, groups, 2)


def conv1d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """1-D cross-correlation, as ``torch.nn.functional.conv1d``.

    Shapes: input ``(N, C, L)`` or ``(C, L)``; weight ``(O, C/groups, k)``;
    bias ``(O,)`` -> ``(N, O, Lout)``. Arguments, gradients and errors as
    :func:`conv2d` (ints or 1-tuples; padding also ``'same'``/``'valid'``).
    """
    return _conv("conv1d", input, weight, bias, stride, padding, dilation, groups, 1)


def _conv(op, x, weight, bias, stride, padding, dilation, groups, nd):
    x, weight, bias = _float_operands(op, x, weight, bias)
    _check_ranks(op, x, weight, nd)
    groups = tuple_arg(op, "groups", groups, 1, 1)[0]
    stride = tuple_arg(op, "stride", stride, nd, 1)
    dilation = tuple_arg(op, "dilation", dilation, nd, 1)
    o, cg = weight.shape[:2]
    c = x.shape[-nd - 1]
    if o % groups:
        raise ValueError(f"{op}: out channels {o} (weight of shape {weight.shape}) are not "
                         f"divisible by groups={groups}")
    if c != cg * groups:
        raise ValueError(f"{op}: weight of shape {weight.shape} with groups={groups} expects an input "
                         f"with {cg * groups} channels, got input of shape {x.shape}")
    _check_bias(op, bias, o)
    ks = weight.shape[2:]
    if isinstance(padding, str):
        if padding == "valid":
            pads = ((0, 0),) * nd
        elif padding == "same":
            if any(s != 1 for s in stride):
                raise ValueError(f"{op}: padding='same' is not supported for strided convolutions "
                                 f"(stride={stride}), as in PyTorch")
            tot = [d * (k - 1) for d, k in zip(dilation, ks)]
            pads = tuple((t // 2, t - t // 2) for t in tot)
        else:
            raise ValueError(f"{op}: padding must be an int, a tuple, 'same' or 'valid', got {padding!r}")
    else:
        pads = tuple((p, p) for p in tuple_arg(op, "padding", padding, nd, 0))
    if nd == 1:
        stride, dilation, pads, ks = (1,) + stride, (1,) + dilation, ((0, 0),) + pads, (1,) + ks
    x4, back = _as4d(x, nd)
    w4 = weight if nd == 2 else weight.reshape((o, cg) + ks)
    h, w = x4.shape[2:]
    oh = out_size(h, ks[0], stride[0], dilation[0], *pads[0])
    ow = out_size(w, ks[1], stride[1], dilation[1], *pads[1])
    if oh < 1 or ow < 1:
        ext = tuple(d * (k - 1) + 1 for d, k in zip(dilation, ks))[2 - nd:]
        raise ValueError(f"{op}: the (dilated) kernel of size {ext} is larger than the padded input "
                         f"of size {tuple(s + a + b for s, (a, b) in zip((h, w), pads))[2 - nd:]} "
                         f"(input {x.shape}, weight {weight.shape})")
    g = Geom(c, h, w, ks[0], ks[1], stride[0], stride[1], dilation[0], dilation[1],
             pads[0][0], pads[0][1], pads[1][0], pads[1][1], oh, ow)
    return back(_conv2d_op(x4, w4, bias, g, groups))


def _conv2d_op(x, w, b, g, groups):
    xv, wv = x.data, w.data
    n, o = xv.shape[0], wv.shape[0]
    k = g.C // groups * g.kh * g.kw
    cols = _im2col_array(xv, g, groups)
    wk = _w_k_a(wv, groups)
    y = np.matmul(cols.reshape(groups, n * g.oh * g.ow, k), wk,  # THE product
                  out=scratch("product", (groups, n * g.oh * g.ow, o // groups), wk.dtype))
    y = y.reshape(groups, n, g.oh, g.ow, o // groups).transpose(1, 0, 4, 2, 3)
    out = np.empty((n, groups, o // groups, g.oh, g.ow), dtype=y.dtype)
    if b is None:
        np.copyto(out, y)
    else:  # the bias is added while the result is copied into NCHW order
        np.add(y, b.data.reshape(groups, o // groups, 1, 1), out=out)
    keep = cols if w.requires_grad else None  # the weight gradient reuses the forward's columns
    return record(out.reshape(n, o, g.oh, g.ow), _conv2d_backward, (x, w, b), (g, groups, keep),
                  (xv, wv, None if b is None else b.data))


@backward_rule("conv2d")
def _conv2d_backward(grad, out, inputs, saved, needs):
    x, w, b = inputs
    g, groups, cols = saved
    n = grad.shape[0]
    g2 = _rows(grad, groups)  # (G, N*oh*ow, O/G)
    gx = gw = gb = None
    if needs[0]:
        gx = _spread(g2, w, g, n)
    if needs[1]:
        if cols is None or isinstance(x, Tensor):  # create_graph: columns that depend on x
            cols = im2col(x, g, groups)
        k = g.C // groups * g.kh * g.kw
        gw = _w_from_a_k(np.swapaxes(g2, -1, -2) @ cols.reshape(groups, g2.shape[1], k), w.shape)
    if needs[2]:
        gb = grad.sum(axis=(0, 2, 3))
    return gx, gw, gb


# ---- transposed convolution ------------------------------------------------------
def conv_transpose2d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1,
                     dilation=1):
    """2-D transposed convolution, as ``torch.nn.functional.conv_transpose2d``: the
    gradient of :func:`conv2d` with respect to its input (Dumoulin & Visin 2016,
    "A guide to convolution arithmetic for deep learning").

    Each input pixel adds ``weight[c]`` times its value into a ``kh x kw``
    (dilated) patch of the output, patches ``stride`` apart; then ``padding``
    rows/columns are cut from each border. ``output_padding`` adds rows/columns
    at the bottom/right (they get only the bias).

    Shapes: input ``(N, C, H, W)`` or ``(C, H, W)``; weight
    ``(C, O/groups, kh, kw)``; bias ``(O,)`` -> ``(N, O, Hout, Wout)`` with
    ``Hout = (H-1)*sh - 2*ph + dh*(kh-1) + oph + 1``. Note the argument order
    ``(..., output_padding, groups, dilation)``, PyTorch's.

    Gradients: input - a convolution (im2col of ``g``, then ``W @ cols``);
    weight - ``x @ cols^T``; bias - summed ``g``. All twice differentiable.

    Raises TypeError for non-float dtypes; ValueError (naming the
    shapes) for wrong ranks, input channels other than ``weight.shape[0]``
    or not divisible by ``groups``, ``output_padding`` not smaller than
    stride or dilation (PyTorch's rule), a non-positive output size, a bad
    bias shape.
    """
    return _conv_t("conv_transpose2d", input, weight, bias, stride, padding, output_padding,
                   groups, dilation, 2)


def conv_transpose1d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1,
                     dilation=1):
    """1-D transposed convolution, as ``torch.nn.functional.conv_transpose1d``.

    Shapes: input ``(N, C, L)`` or ``(C, L)``; weight ``(C, O/groups, k)`` ->
    ``(N, O, (L-1)*s - 2*p + d*(k-1) + output_padding + 1)``. Arguments,
    gradients and errors as :func:`conv_transpose2d`.
    """
    return _conv_t("conv_transpose1d", input, weight, bias, stride, padding, output_padding,
                   groups, dilation, 1)


def _conv_t(op, x, weight, bias, stride, padding, output_padding, groups, dilation, nd):
    x, weight, bias = _float_operands(op, x, weight, bias)
    _check_ranks(op, x, weight, nd)
    groups = tuple_arg(op, "groups", groups, 1, 1)[0]
    stride = tuple_arg(op, "stride", stride, nd, 1)
    dilation = tuple_arg(op, "dilation", dilation, nd, 1)
    if isinstance(padding, str):
        raise ValueError(f"{op}: padding must be an int or a tuple of ints, got {padding!r}")
    padding = tuple_arg(op, "padding", padding, nd, 0)
    opad = tuple_arg(op, "output_padding", output_padding, nd, 0)
    c, og = weight.shape[:2]
    if c % groups:
        raise ValueError(f"{op}: in channels {c} (weight of shape {weight.shape}) are not "
                         f"divisible by groups={groups}")
    if x.shape[-nd - 1] != c:
        raise ValueError(f"{op}: weight of shape {weight.shape} expects an input with {c} channels, "
                         f"got input of shape {x.shape}")
    for p, s, d in zip(opad, stride, dilation):
        if p >= s and p >= d:
            raise ValueError(f"{op}: output_padding {opad} must be smaller than either stride "
                             f"{stride} or dilation {dilation}")
    o = og * groups
    _check_bias(op, bias, o)
    ks = weight.shape[2:]
    if nd == 1:
        stride, dilation, padding, opad, ks = ((1,) + stride, (1,) + dilation, (0,) + padding,
                                               (0,) + opad, (1,) + ks)
    x4, back = _as4d(x, nd)
    w4 = weight if nd == 2 else weight.reshape((c, og) + ks)
    hin, win = x4.shape[2:]
    size = [(i - 1) * s - 2 * p + d * (k - 1) + q + 1
            for i, s, p, d, k, q in zip((hin, win), stride, padding, dilation, ks, opad)]
    if size[0] < 1 or size[1] < 1:
        raise ValueError(f"{op}: the output size {tuple(size)[2 - nd:]} is not positive (input "
                         f"{x.shape}, weight {weight.shape}, padding {padding[2 - nd:]})")
    # The geometry of the convolution whose input gradient this op is: its image is our output.
    g = Geom(o, size[0], size[1], ks[0], ks[1], stride[0], stride[1], dilation[0], dilation[1],
             padding[0], padding[0] + opad[0], padding[1], padding[1] + opad[1], hin, win)
    return back(_conv_t2d_op(x4, w4, bias, g, groups))


def _conv_t2d_op(x, w, b, g, groups):
    xv, wv = x.data, w.data
    out = _spread(_rows(xv, groups), wv, g, xv.shape[0])
    if b is not None:
        out += b.data.reshape(-1, 1, 1)  # out is a fresh array
    return record(out, _conv_t2d_backward, (x, w, b), (g, groups),
                  (xv, wv, None if b is None else b.data))


@backward_rule("conv_transpose2d")
def _conv_t2d_backward(grad, out, inputs, saved, needs):
    x, w, b = inputs
    g, groups = saved
    n = x.shape[0]
    l, k = n * g.oh * g.ow, g.C // groups * g.kh * g.kw
    cols = im2col(grad, g, groups).reshape(groups, l, k)
    gx = gw = gb = None
    if needs[0]:
        gx = _unrows(cols @ _w_k_a(w, groups), n, g.oh, g.ow)
    if needs[1]:
        gw = _w_from_a_k(np.swapaxes(_rows(x, groups), -1, -2) @ cols, w.shape)
    if needs[2]:
        gb = grad.sum(axis=(0, 2, 3))
    return gx, gw, gb


# ---- unfold / fold -----------------------------------------------------------------
def _window_geom(op, c, h, w, kernel_size, dilation, padding, stride):
    kh, kw = tuple_arg(op, "kernel_size", kernel_size, 2, 1)
    dh, dw = tuple_arg(op, "dilation", dilation, 2, 1)
    ph, pw = tuple_arg(op, "padding", padding, 2, 0)
    sh, sw = tuple_arg(op, "stride", stride, 2, 1)
    oh, ow = out_size(h, kh, sh, dh, ph, ph), out_size(w, kw, sw, dw, pw, pw)
    return Geom(c, h, w, kh, kw, sh, sw, dh, dw, ph, ph, pw, pw, oh, ow)


def unfold(input, kernel_size, dilation=1, padding=0, stride=1):
    """im2col, as ``torch.nn.functional.unfold``: every (dilated, zero-padded)
    ``kh x kw`` window of the input as a column.

    Shapes: ``(N, C, H, W)`` -> ``(N, C*kh*kw, L)`` (or unbatched ``(C, H, W)``
    -> ``(C*kh*kw, L)``) with ``L = oh*ow`` windows in row-major order and the
    rows ordered ``(c, i, j)``. Differentiable (backward: :func:`fold`).

    Raises ValueError for another rank or when no window fits.
    """
    x = as_operand("unfold", input)
    if x.ndim not in (3, 4):
        raise ValueError(f"unfold: expected a 3-D or 4-D input, got shape {x.shape}")
    x4 = x if x.ndim == 4 else x.reshape((1,) + x.shape)
    n, c, h, w = x4.shape
    g = _window_geom("unfold", c, h, w, kernel_size, dilation, padding, stride)
    if g.oh < 1 or g.ow < 1:
        raise ValueError(f"unfold: no {g.kh}x{g.kw} window (dilation {(g.dh, g.dw)}) fits the "
                         f"input of shape {x.shape} padded by {(g.pt, g.pl)}")
    cols = im2col(x4, g).reshape(n, g.oh * g.ow, g.kh, g.kw, c)
    cols = cols.transpose(0, 4, 2, 3, 1).reshape(n, c * g.kh * g.kw, g.oh * g.ow)
    return cols if x.ndim == 4 else cols.reshape(cols.shape[1:])


def fold(input, output_size, kernel_size, dilation=1, padding=0, stride=1):
    """col2im, as ``torch.nn.functional.fold``: the adjoint of :func:`unfold`;
    values of overlapping windows are added.

    Shapes: ``(N, C*kh*kw, L)`` (or ``(C*kh*kw, L)``) -> ``(N, C, H, W)`` with
    ``(H, W) = output_size``; ``L`` must equal the number of windows of
    ``unfold`` on that size. Differentiable (backward: :func:`unfold`).

    Raises ValueError when axis 1 is not divisible by ``kh*kw`` or ``L``
    does not match, naming the shapes.
    """
    x = as_operand("fold", input)
    if x.ndim not in (2, 3):
        raise ValueError(f"fold: expected a 2-D or 3-D input, got shape {x.shape}")
    x3 = x if x.ndim == 3 else x.reshape((1,) + x.shape)
    n, ckk, length = x3.shape
    h, w = tuple_arg("fold", "output_size", output_size, 2, 1)
    kh, kw = tuple_arg("fold", "kernel_size", kernel_size, 2, 1)
    if ckk % (kh * kw):
        raise ValueError(f"fold: axis 1 of the input (shape {x.shape}) must be divisible by "
                         f"kh*kw = {kh * kw}")
    g = _window_geom("fold", ckk // (kh * kw), h, w, kernel_size, dilation, padding, stride)
    if g.oh < 1 or g.ow < 1 or g.oh * g.ow != length:
        raise ValueError(f"fold: an input of shape {x.shape} has {length} columns, but "
                         f"output_size {(h, w)} gives {max(g.oh, 0) * max(g.ow, 0)} windows")
    cols = x3.reshape(1, n, g.C, kh, kw, g.oh, g.ow).transpose(0, 1, 5, 6, 3, 4, 2)
    out = col2im(cols, g)
    return out if x.ndim == 3 else out.reshape(out.shape[1:])
