"""Functional transforms: vjp, jvp, jacobian, hessian, hvp, vhp.

These differentiate a Python function of Tensors rather than a recorded
graph, with the semantics and return structures of
``torch.autograd.functional``:

* ``inputs`` is a Tensor or a tuple of Tensors; results that mirror the
  inputs are a Tensor or a tuple accordingly (likewise for outputs).
* ``func`` is called on detached copies of the inputs that require grad, so
  the caller's tensors are never modified and graphs they belong to are not
  touched. With ``create_graph=True``, inputs that require grad are passed
  through an identity op instead, so the results stay differentiable with
  respect to the originals (higher-order derivatives).
* Results are detached unless ``create_graph=True``.
* An input that an output does not depend on gets zeros (the mathematically
  right value), or, with ``strict=True``, a RuntimeError.

For f: R^n -> R^m with Jacobian J (m x n), reverse mode gives the
vector-Jacobian product ``v^T J`` in one backward pass; the Jacobian-vector
product ``J u`` comes from the "double-vjp trick": ``g(w) = J^T w`` is linear
in ``w``, so differentiating ``<g(w), u>`` with respect to ``w`` gives
``J u`` (J. Townsend, "A new trick for calculating Jacobian vector products",
2017). References: A. Griewank and A. Walther, *Evaluating Derivatives*,
2nd ed., SIAM 2008; A. G. Baydin et al., "Automatic differentiation in
machine learning: a survey", JMLR 18 (2018); B. A. Pearlmutter, "Fast exact
multiplication by the Hessian", Neural Computation 6 (1994).

All functions run ``func`` with grad mode on, even when called under
``no_grad``.
"""
from __future__ import annotations

import numpy as np

from ._mode import enable_grad
from .autograd import grad as _grad
from .ops.shape import reshape, stack
from .tensor import Tensor

__all__ = ["vjp", "jvp", "jacobian", "hessian", "hvp", "vhp"]


# ---- helpers -----------------------------------------------------------------
def _as_tuple(x, what, fn):
    """(was it a tuple, the tuple of Tensors); TypeError naming the bad entry."""
    is_tuple = isinstance(x, tuple)
    items = x if is_tuple else (x,)
    for i, el in enumerate(items):
        if not isinstance(el, Tensor):
            where = f"entry {i} of the {what}" if is_tuple else f"the {what}"
            raise TypeError(
                f"{fn}: the {what} must be a Tensor or a tuple of Tensors, but {where} is a "
                f"{type(el).__name__}"
            )
    return is_tuple, items


def _prepare_inputs(inputs, create_graph, fn):
    """Fresh tensors for ``func`` that require grad (see the module docstring)."""
    res = []
    for i, x in enumerate(inputs):
        if x.dtype.kind != "f":  # complex: no complex autograd
            raise TypeError(
                f"{fn}: input {i} has dtype {x.dtype}; only real floating-point inputs can be "
                "differentiated (complex autograd is not supported; convert an integer input "
                "first, e.g. x.astype(np.float64))"
            )
        if create_graph and x.requires_grad:
            res.append(reshape(x, x.shape))  # a new, recorded identity: keeps the link to x
        else:
            res.append(x.detach().requires_grad_(True))
    return tuple(res)


def _prepare_v(v, refs, refs_tuple, what, fn, create_graph):
    """Check ``v`` against ``refs`` (the inputs or outputs it multiplies); detach it."""
    if isinstance(v, np.ndarray):
        v = Tensor(v)
    elif isinstance(v, tuple):
        v = tuple(Tensor(e) if isinstance(e, np.ndarray) else e for e in v)
    _, vs = _as_tuple(v, "v", fn)
    if len(vs) != len(refs):
        if refs_tuple:
            raise RuntimeError(f"{fn}: v has {len(vs)} entries but the {what} has {len(refs)}")
        raise RuntimeError(f"{fn}: v should be a single Tensor, like the {what}")
    for i, (e, r) in enumerate(zip(vs, refs)):
        if e.shape != r.shape:
            which = f"entry {i} of v" if refs_tuple else "v"
            raise RuntimeError(
                f"{fn}: {which} has shape {e.shape} but the {what} has shape {r.shape}; they "
                "must be equal"
            )
    # As torch: with create_graph, a v that requires grad keeps its graph.
    return tuple(e if create_graph and e.requires_grad else e.detach() for e in vs)


def _require_v(refs, what, fn):
    if len(refs) != 1 or refs[0].size != 1:
        raise RuntimeError(
            f"{fn}: v can be omitted only when the {what} is a single Tensor with a single "
            f"element; got shapes {[r.shape for r in refs]}"
        )


def _call(func, inputs, fn, strict):
    outputs = func(*inputs)
    is_tuple, outs = _as_tuple(outputs, "outputs of the user-provided function", fn)
    if strict:
        for i, o in enumerate(outs):
            if not o.requires_grad:
                raise RuntimeError(
                    f"{fn}: output {i} of the function does not require grad: it was not computed "
                    "from the inputs by differentiable ops (not allowed with strict=True)"
                )
    return is_tuple, outs


def _single_scalar(outs, is_tuple, fn):
    if is_tuple:
        raise RuntimeError(f"{fn}: the function should return a single Tensor, not a tuple")
    if outs[0].size != 1:
        raise RuntimeError(
            f"{fn}: the function should return a Tensor with a single element, got shape "
            f"{outs[0].shape}"
        )


def _vjp_raw(outputs, inputs, grad_outputs=None, create_graph=False, retain_graph=None):
    """``grad`` that skips outputs that do not require grad (they contribute zero)."""
    if grad_outputs is None:
        grad_outputs = (None,) * len(outputs)
    keep = [(o, g) for o, g in zip(outputs, grad_outputs) if o is not None and o.requires_grad]
    if not keep:
        return (None,) * len(inputs)
    outs, gouts = zip(*keep)
    return _grad(outs, inputs, gouts, retain_graph=retain_graph, create_graph=create_graph,
                 allow_unused=True)


def _fill_zeros(grads, refs, strict, create_graph, fn, independent_msg):
    res = []
    for i, (g, r) in enumerate(zip(grads, refs)):
        if g is None:
            if strict:
                raise RuntimeError(f"{fn}: {independent_msg.format(i=i)} (not allowed with strict=True)")
            g = Tensor._wrap(np.zeros(r.shape, dtype=r.dtype))
        elif strict and create_graph and not g.requires_grad:
            raise RuntimeError(
                f"{fn}: the result for entry {i} does not depend on the inputs, so it cannot be "
                "differentiated further (not allowed with strict=True and create_graph=True)"
            )
        res.append(g)
    return tuple(res)


def _post(ts, create_graph):
    return tuple(ts) if create_graph else tuple(t.detach() for t in ts)


def _unpack(res, is_tuple):
    return res if is_tuple else res[0]


# ---- public API -------------------------------------------------------------
def vjp(func, inputs, v=None, create_graph=False, strict=False):
    """Vector-Jacobian product ``v^T J`` of ``func`` at ``inputs``.

    For ``y = func(x)`` with Jacobian ``J = dy/dx``, returns
    ``(func(inputs), v^T J)``: for each input ``x_j``,
    ``sum_i sum_k v_i[k] * d y_i[k] / d x_j``, shaped like ``x_j``. One
    backward pass (reverse mode).

    Args:
        func: a function of Tensors returning a Tensor or a tuple of Tensors.
        inputs: a Tensor or a tuple of Tensors (floating point).
        v: like the output of ``func`` (same structure and shapes); may be
            omitted when the output is a single one-element Tensor (then 1).
        create_graph: keep the result differentiable (w.r.t. the inputs).
        strict: raise instead of returning zeros when an input does not
            influence the outputs, or an output does not require grad.

    Returns:
        ``(outputs, vjp)``: outputs with ``func``'s structure; vjp with the
        structure and shapes of ``inputs``.

    Raises:
        TypeError: inputs or outputs are not Tensors (or tuples of them),
            or an input is not floating point.
        RuntimeError: v is missing or does not match the outputs' shapes;
            a strict-mode violation.
    """
    with enable_grad():
        is_in_tuple, ins = _as_tuple(inputs, "inputs", "vjp")
        ins = _prepare_inputs(ins, create_graph, "vjp")
        is_out_tuple, outs = _call(func, ins, "vjp", strict)
        if v is not None:
            vs = _prepare_v(v, outs, is_out_tuple, "output of the function", "vjp", create_graph)
        else:
            _require_v(outs, "output of the function", "vjp")
            vs = None
        grads = _vjp_raw(outs, ins, vs, create_graph=create_graph)
        res = _fill_zeros(grads, ins, strict, create_graph, "vjp",
                          "the output of the function does not depend on input {i}")
    return _unpack(_post(outs, create_graph), is_out_tuple), _unpack(_post(res, create_graph), is_in_tuple)


def jvp(func, inputs, v=None, create_graph=False, strict=False):
    """Jacobian-vector product ``J v`` of ``func`` at ``inputs`` (forward-mode result).

    Computed with the double-vjp trick: with ``w`` a dummy cotangent
    (zeros that require grad), ``g(w) = J^T w`` is recorded with
    ``create_graph=True``; since g is linear in w, the vjp of g with ``v``
    is ``d<g(w), v>/dw = J v``. Two backward passes, and the function must
    be differentiable twice through our ops (all built-in ops are).

    Args:
        func: a function of Tensors returning a Tensor or a tuple of Tensors.
        inputs: a Tensor or a tuple of Tensors (floating point).
        v: like ``inputs`` (same structure and shapes); may be omitted when
            the input is a single one-element Tensor (then 1).
        create_graph: keep the result differentiable.
        strict: raise instead of returning zeros where the result would be
            independent of v.

    Returns:
        ``(outputs, jvp)``: both with the structure and shapes of ``func``'s output.

    Raises:
        TypeError, RuntimeError: as :func:`vjp`.
    """
    with enable_grad():
        is_in_tuple, ins = _as_tuple(inputs, "inputs", "jvp")
        ins = _prepare_inputs(ins, create_graph, "jvp")
        if v is not None:
            vs = _prepare_v(v, ins, is_in_tuple, "inputs", "jvp", create_graph)
        else:
            _require_v(ins, "input", "jvp")
            vs = None
        is_out_tuple, outs = _call(func, ins, "jvp", strict)
        # g is linear in w, so the value of w does not matter; zeros keep it finite.
        ws = tuple(Tensor._wrap(np.zeros(o.shape, dtype=o.dtype)).requires_grad_(True)
                   if o.dtype.kind == "f" else None for o in outs)
        keep = [(o, w) for o, w in zip(outs, ws) if w is not None]
        g = _vjp_raw(tuple(o for o, _ in keep), ins, tuple(w for _, w in keep), create_graph=True)
        if strict:
            for i, gi in enumerate(g):
                if gi is None or not gi.requires_grad:
                    raise RuntimeError(
                        f"jvp: the gradient with respect to input {i} does not depend on the "
                        "output cotangent, so the double-vjp trick cannot be used "
                        "(not allowed with strict=True)"
                    )
        pairs = [(gi, vi) for gi, vi in zip(g, vs or (None,) * len(g))
                 if gi is not None and gi.requires_grad]
        targets = [j for j, w in enumerate(ws) if w is not None]
        res = [None] * len(outs)
        if pairs and targets:
            got = _vjp_raw(tuple(p[0] for p in pairs), tuple(ws[j] for j in targets),
                           None if vs is None else tuple(p[1] for p in pairs),
                           create_graph=create_graph)
            for j, r in zip(targets, got):
                res[j] = r
        res = _fill_zeros(res, outs, strict, create_graph, "jvp",
                          "output {i} does not depend on the inputs along v")
    return _unpack(_post(outs, create_graph), is_out_tuple), _unpack(_post(res, create_graph), is_out_tuple)


def jacobian(func, inputs, create_graph=False, strict=False, vectorize=False):
    """The Jacobian of ``func`` at ``inputs``: ``J[i][j] = d out_i / d in_j``.

    Each block has shape ``out_i.shape + in_j.shape``, with
    ``J[i][j][k..., l...] = d out_i[k...] / d in_j[l...]``. Built row by row:
    one vector-Jacobian product per output element, with a one-hot vector.

    Args:
        func: a function of Tensors returning a Tensor or a tuple of Tensors.
        inputs: a Tensor or a tuple of Tensors (floating point).
        create_graph: keep the Jacobian differentiable (used by :func:`hessian`).
        strict: raise instead of returning zeros for an output that does not
            depend on an input.
        vectorize: accepted for compatibility with PyTorch, where it batches
            the rows with vmap; here rows are always computed one at a time,
            so the result is the same either way.

    Returns:
        A Tensor if inputs and output are single Tensors; a tuple over the
        inputs (single output) or over the outputs (single input); else a
        tuple (over outputs) of tuples (over inputs).

    Raises:
        TypeError: inputs or outputs are not Tensors, or an input is not
            floating point.
        RuntimeError: a strict-mode violation; ``strict`` with ``vectorize``
            (unsupported together, as in PyTorch).
    """
    if strict and vectorize:
        raise RuntimeError("jacobian: strict=True and vectorize=True are not supported together")
    with enable_grad():
        is_in_tuple, ins = _as_tuple(inputs, "inputs", "jacobian")
        ins = _prepare_inputs(ins, create_graph, "jacobian")
        is_out_tuple, outs = _call(func, ins, "jacobian", strict)
        blocks = []
        for i, out in enumerate(outs):
            rows = [[] for _ in ins]
            for k in range(out.size):
                onehot = np.zeros(out.size, dtype=out.dtype)
                onehot[k] = 1
                gs = _vjp_raw((out,), ins, (onehot.reshape(out.shape),), retain_graph=True,
                              create_graph=create_graph)
                for j, (g, x) in enumerate(zip(gs, ins)):
                    if g is None:
                        if strict:
                            raise RuntimeError(
                                f"jacobian: output {i} does not depend on input {j} "
                                "(not allowed with strict=True)"
                            )
                        g = Tensor._wrap(np.zeros(x.shape, dtype=x.dtype))
                    elif strict and create_graph and not g.requires_grad:
                        raise RuntimeError(
                            f"jacobian: the Jacobian of output {i} with respect to input {j} does "
                            "not depend on the inputs (not allowed with strict=True and "
                            "create_graph=True)"
                        )
                    rows[j].append(g)
            blocks.append(tuple(_assemble(r, out, x, create_graph) for r, x in zip(rows, ins)))
    res = tuple(_unpack(b, is_in_tuple) for b in blocks)
    return _unpack(res, is_out_tuple)


def _assemble(rows, out, x, create_graph):
    shape = out.shape + x.shape
    if not rows:
        return Tensor._wrap(np.zeros(shape, dtype=np.result_type(out.dtype, x.dtype)))
    if create_graph:
        return reshape(stack(rows), shape)
    return Tensor._wrap(np.stack([r.data for r in rows]).reshape(shape))


def hessian(func, inputs, create_graph=False, strict=False, vectorize=False):
    """The Hessian of a scalar function: ``H[i][j] = d^2 f / (d in_i d in_j)``.

    Computed as the Jacobian of the gradient (the gradient recorded with
    ``create_graph=True``). Each block has shape ``in_i.shape + in_j.shape``;
    for twice continuously differentiable f, ``H[i][j]`` is the transpose of
    ``H[j][i]`` (Schwarz's theorem).

    Args:
        func: a function of Tensors returning a Tensor with one element.
        inputs: a Tensor or a tuple of Tensors (floating point).
        create_graph: keep the Hessian differentiable.
        strict: raise when the gradient or Hessian is independent of an input
            (e.g. for a linear function).
        vectorize: as in :func:`jacobian` (no effect on the result).

    Returns:
        A Tensor for a single input; a tuple of tuples for a tuple of inputs.

    Raises:
        RuntimeError: func returns a tuple or more than one element; a
            strict-mode violation.
        TypeError: as :func:`jacobian`.
    """
    is_in_tuple, ins = _as_tuple(inputs, "inputs", "hessian")

    def scalar_func(*xs):
        out = func(*xs)
        is_tuple, outs = _as_tuple(out, "outputs of the user-provided function", "hessian")
        _single_scalar(outs, is_tuple, "hessian")
        if strict and not out.requires_grad:
            raise RuntimeError("hessian: the output of the function does not require grad "
                               "(not allowed with strict=True)")
        return reshape(out, ())

    def grad_func(*xs):
        g = jacobian(scalar_func, xs, create_graph=True, strict=strict)
        if strict:
            for i, gi in enumerate(g):
                if not gi.requires_grad:
                    raise RuntimeError(
                        f"hessian: the gradient with respect to input {i} does not depend on the "
                        "inputs (a linear function?), not allowed with strict=True"
                    )
        return g

    res = jacobian(grad_func, ins, create_graph=create_graph, strict=strict, vectorize=vectorize)
    if not is_in_tuple:
        res = res[0]
        return res if isinstance(res, Tensor) else res[0]
    return res


def vhp(func, inputs, v=None, create_graph=False, strict=False):
    """Vector-Hessian product ``v^T H`` of a scalar function at ``inputs``.

    The vjp of the gradient: ``d<grad f(x), v>/dx``, two backward passes.
    Equal to :func:`hvp` when f is twice continuously differentiable
    (H symmetric), and cheaper.

    Args:
        func: a function of Tensors returning a Tensor with one element.
        inputs: a Tensor or a tuple of Tensors (floating point).
        v: like ``inputs``; may be omitted for a single one-element input.
        create_graph, strict: as in :func:`vjp`.

    Returns:
        ``(output, vhp)``: the function's value, and a result with the
        structure and shapes of ``inputs``.

    Raises:
        RuntimeError: func does not return a single one-element Tensor; v
            is missing or mismatched; a strict-mode violation.
    """
    return _hessian_product(func, inputs, v, create_graph, strict, "vhp")


def hvp(func, inputs, v=None, create_graph=False, strict=False):
    """Hessian-vector product ``H v`` of a scalar function at ``inputs``.

    ``H v`` is computed as the double-vjp trick applied to the gradient:
    with ``w`` a dummy, ``u(w) = d<grad f(x), w>/dx = H^T w`` is linear in w,
    and its vjp with v is ``H v`` (Pearlmutter's R-operator, 1994, done in
    reverse mode). Three backward passes; prefer :func:`vhp` for functions
    with a symmetric Hessian, where the two agree.

    Args and Returns: as :func:`vhp`.
    """
    return _hessian_product(func, inputs, v, create_graph, strict, "hvp")


def _hessian_product(func, inputs, v, create_graph, strict, fn):
    with enable_grad():
        is_in_tuple, ins = _as_tuple(inputs, "inputs", fn)
        ins = _prepare_inputs(ins, create_graph, fn)
        if v is not None:
            vs = _prepare_v(v, ins, is_in_tuple, "inputs", fn, create_graph)
        else:
            _require_v(ins, "input", fn)
            vs = None
        is_out_tuple, outs = _call(func, ins, fn, strict)
        _single_scalar(outs, is_out_tuple, fn)
        jac = _vjp_raw(outs, ins, create_graph=True)
        if strict:
            for i, g in enumerate(jac):
                if g is None or not g.requires_grad:
                    raise RuntimeError(
                        f"{fn}: the gradient with respect to input {i} does not depend on the "
                        "inputs (not allowed with strict=True)"
                    )
        if fn == "vhp":
            res = _vjp_raw(jac, ins, vs, create_graph=create_graph)
            msg = "the gradient does not depend on input {i}"
        else:
            ws = tuple(Tensor._wrap(np.zeros(x.shape, dtype=x.dtype)).requires_grad_(True) for x in ins)
            back = _vjp_raw(jac, ins, ws, create_graph=True)
            # ``back`` holds H^T w; only entries recorded from w carry H.
            pairs = [(b, e) for b, e in zip(back, vs or (None,) * len(back))
                     if b is not None and b.requires_grad]
            if pairs:
                res = _vjp_raw(tuple(p[0] for p in pairs), ws,
                               None if vs is None else tuple(p[1] for p in pairs),
                               create_graph=create_graph)
            else:
                res = (None,) * len(ins)
            msg = "the Hessian does not connect input {i} to v"
        res = _fill_zeros(res, ins, strict, create_graph, fn, msg)
    return _unpack(_post(outs, create_graph), is_out_tuple), _unpack(_post(res, create_graph), is_in_tuple)
