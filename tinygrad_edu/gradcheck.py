"""Gradient checking: compare the Jacobians autograd computes with finite differences.

For a function ``f: R^N -> R^M`` the Jacobian ``J`` is the ``M x N`` matrix
with ``J[i, j] = d y_i / d x_j`` (output element i, input element j, both
flattened in C order). It is computed in two independent ways and compared:

* analytically, row by row: reverse mode computes the vector-Jacobian product
  ``v^T J``; with ``v`` the one-hot vector of output element ``i`` it is row
  ``i`` of ``J`` (one :func:`tinygrad_edu.grad` call per output element);
* numerically, column by column, with central differences in float64::

      J[:, j] ~= (f(x + eps e_j) - f(x - eps e_j)) / (2 eps)

  whose error is ``O(eps^2)`` (truncation) plus ``O(ulp(f) / eps)`` (rounding).

The two agree when ``|analytical - numerical| <= atol + rtol * |numerical|``
elementwise (``np.allclose``'s rule, with the numerical value as reference).

This follows PyTorch's ``torch.autograd.gradcheck`` / ``gradgradcheck``
(https://pytorch.org/docs/stable/generated/torch.autograd.gradcheck.gradcheck.html)
and its note "Gradcheck mechanics" (https://pytorch.org/docs/stable/notes/gradcheck.html),
including the "Fast backward mode gradcheck" described there.

Two small departures, both making the check more accurate: the numerical
Jacobian divides by the step actually taken, ``x+ - x-`` as stored in the
input's dtype, rather than by ``2 eps``; and the user's tensors are never
perturbed in place: the finite differences run on private copies.
"""
from __future__ import annotations

import math
import warnings
from numbers import Real

import numpy as np

from ._mode import enable_grad
from .autograd import grad as _grad
from .tensor import Tensor

__all__ = ["GradcheckError", "numerical_jacobian", "gradcheck", "gradgradcheck"]

# Above this many entries a Jacobian is too big to print whole in a report.
_PRINT_LIMIT = 36
# The seed used when ``seed=None``: fast mode and gradgradcheck's random
# vectors are reproducible by default, as PyTorch's (drawn from a fresh
# generator with its fixed default seed).
_DEFAULT_SEED = 0


class GradcheckError(RuntimeError):
    """Raised by :func:`gradcheck` and :func:`gradgradcheck` when gradients disagree.

    The message names the input and output, the worst element (as indices
    into both), the analytical and numerical values and the largest error.
    ``mismatches`` holds one :class:`Mismatch` per failing (input, output)
    pair, for programs that want the numbers rather than the text.
    """

    def __init__(self, message, mismatches=()):
        super().__init__(message)
        self.mismatches = tuple(mismatches)


class Mismatch:
    """One failing (input, output) pair of a gradient check (see :class:`GradcheckError`).

    Attributes: ``input`` and ``output`` (positions in the inputs and in
    fn's outputs), ``input_name``, ``output_name``, ``output_index`` and
    ``input_index`` (the worst element, as tuples indexing the output and
    the input), ``analytical`` and ``numerical`` (the two values there),
    ``max_error`` (the largest ``|analytical - numerical|`` over this
    Jacobian) and ``n_bad`` / ``n_total`` (entries outside the tolerance).
    """

    __slots__ = ("input", "output", "input_name", "output_name", "output_index", "input_index",
                 "analytical", "numerical", "max_error", "n_bad", "n_total", "detail")

    def __init__(self, **fields):
        for name in self.__slots__:
            setattr(self, name, fields.get(name))

    def __repr__(self):
        return (f"Mismatch(input={self.input}, output={self.output}, output_index={self.output_index}, "
                f"input_index={self.input_index}, analytical={self.analytical!r}, "
                f"numerical={self.numerical!r}, max_error={self.max_error!r})")


# ---- helpers -----------------------------------------------------------------
def _check_args(what, fn, eps, atol=0.0, rtol=0.0):
    """TypeError/ValueError naming ``what`` for a bad fn, eps, atol or rtol (before any call)."""
    if not callable(fn):
        raise TypeError(f"{what}: fn must be callable, got {type(fn).__name__}")
    for name, v in (("eps", eps), ("atol", atol), ("rtol", rtol)):
        if isinstance(v, bool) or not isinstance(v, Real):
            raise TypeError(f"{what}: {name} must be a real number, got {type(v).__name__} {v!r}")
    if not (eps > 0 and math.isfinite(eps)):
        raise ValueError(f"{what}: eps must be a positive finite step, got {eps}")
    for name, v in (("atol", atol), ("rtol", rtol)):
        if not v >= 0:
            raise ValueError(f"{what}: {name} must be >= 0, got {v}")


def _as_tuple(x):
    if isinstance(x, tuple):
        return x
    if isinstance(x, list):
        return tuple(x)
    return (x,)


def _fn_name(fn):
    owner = getattr(fn, "__self__", None)
    if isinstance(owner, type):  # MyOp.apply: a classmethod's qualname names Function, not MyOp
        return f"{owner.__qualname__}.{fn.__name__}"
    return getattr(fn, "__qualname__", None) or getattr(fn, "__name__", None) or repr(fn)


def _differentiable(x):
    return isinstance(x, Tensor) and x.requires_grad


def _checked_indices(inputs):
    return [k for k, x in enumerate(inputs) if _differentiable(x)]


def _call(fn, args, what):
    """fn(*args) as a tuple of Tensors, with grad mode on (gradgradcheck's fn needs a graph)."""
    with enable_grad():
        out = fn(*args)
    outs = _as_tuple(out)
    for k, o in enumerate(outs):
        if not isinstance(o, Tensor):
            raise TypeError(f"{what}: {_fn_name(fn)} must return a Tensor or a tuple of Tensors, "
                            f"but output {k} is {type(o).__name__}")
    return outs


def _is_diff_output(o):
    return o.requires_grad and o.dtype.kind == "f"  # complex cannot require grad


def _working_copies(inputs):
    """Private, writable, C-contiguous copies of the input Tensors (perturbed in place).

    They do not require grad, so evaluating fn on them records no graph
    (gradgradcheck's inner function turns requires_grad back on itself). A
    Tensor passed twice gets one copy, so perturbing it moves both uses, as
    autograd's gradient for it sums over both.
    """
    copies = {}
    for x in inputs:
        if isinstance(x, Tensor) and id(x) not in copies:
            copies[id(x)] = Tensor._wrap(np.array(x.data, copy=True, order="C"))
    return [copies[id(x)] if isinstance(x, Tensor) else x for x in inputs]


def _flat64(outs):
    # A copy: an output may be a view of the input we are about to perturb again.
    return [np.array(o.data, dtype=np.float64).reshape(-1) for o in outs]


def _warn_precision(inputs, names, what):
    for k, x in enumerate(inputs):
        if _differentiable(x) and x.dtype != np.float64:
            warnings.warn(
                f"{what}: {names[k]} has dtype {x.dtype}, but finite differences need float64 to "
                f"be accurate (with eps=1e-6, rounding in {x.dtype} swamps the difference), so this "
                "check will likely fail or be meaningless; convert the inputs to np.float64 first",
                UserWarning, stacklevel=4)


def _step_error(what, name, j, value, eps, dtype):
    return ValueError(
        f"{what}: eps={eps} does not change element {j} of {name} (value {value}) in {dtype}: "
        "the step is below the dtype's resolution there; use a larger eps or float64 inputs")


# ---- numerical Jacobian --------------------------------------------------------
def _numerical(fn, inputs, eps, what, names, base_shapes):
    """Central-difference Jacobians for every input that requires grad.

    Returns {input position: [J per output (M_o x N_k float64 array)]}.
    """
    args = _working_copies(inputs)
    result = {}
    for k in _checked_indices(inputs):
        w = args[k].data.reshape(-1)  # a view: writing w perturbs args[k]
        cols = [np.empty((int(np.prod(s)), w.size)) for s in base_shapes]
        for j in range(w.size):
            orig = w[j]
            w[j] = orig + eps
            hi = w[j]
            plus = _flat64(_checked_call(fn, args, base_shapes, what, f"element {j} of {names[k]}"))
            w[j] = orig - eps
            lo = w[j]
            minus = _flat64(_checked_call(fn, args, base_shapes, what, f"element {j} of {names[k]}"))
            w[j] = orig
            step = float(hi) - float(lo)
            if step == 0:
                raise _step_error(what, names[k], j, orig, eps, w.dtype)
            for col, p, m in zip(cols, plus, minus):
                col[:, j] = (p - m) / step
        result[k] = cols
    return result


def _checked_call(fn, args, base_shapes, what, perturbed):
    outs = _call(fn, args, what)
    shapes = [o.shape for o in outs]
    if shapes != list(base_shapes):
        raise GradcheckError(
            f"{what}: perturbing {perturbed} changed the shapes of {_fn_name(fn)}'s "
            f"outputs from {list(base_shapes)} to {shapes}: the function is not differentiable "
            "there (e.g. a boolean mask computed from the input flipped)")
    return outs


def numerical_jacobian(fn, inputs, eps=1e-6):
    """The Jacobians of ``fn`` at ``inputs`` by central finite differences, in float64.

    Args:
        fn: a function of the inputs returning a Tensor or a tuple of Tensors.
        inputs: a Tensor or a tuple of arguments; the Tensors with
            ``requires_grad=True`` are differentiated, the rest held fixed.
        eps: the perturbation added to and subtracted from each element.

    Returns:
        A tuple with one entry per input: None for an input that does not
        require grad, else a tuple with one float64 array per output, of shape
        ``(output.size, input.size)``, where entry ``[i, j]`` approximates
        ``d output_flat[i] / d input_flat[j]`` (C order)::

            J[:, j] = (f(x + eps e_j) - f(x - eps e_j)) / (x_j+ - x_j-)

        with ``x_j+ - x_j-`` the step as actually stored in the input's dtype
        (``2 eps`` up to rounding). The error is ``O(eps^2 f''')`` plus
        ``O(ulp(f) / eps)``, so use float64 inputs.

    The input Tensors are not modified: the differences are taken on copies.

    Raises:
        TypeError: fn returns something other than Tensors.
        ValueError: eps is too small to change some element in its dtype.
        GradcheckError: a perturbation changed the shape of an output.

    Reference: PyTorch's "Gradcheck mechanics" note, "Slow real input
    numerical evaluation" (https://pytorch.org/docs/stable/notes/gradcheck.html).
    """
    _check_args("numerical_jacobian", fn, eps)
    inputs = _as_tuple(inputs)
    names = [f"input {k}" for k in range(len(inputs))]
    base = _call(fn, _working_copies(inputs), "numerical_jacobian")
    num = _numerical(fn, inputs, eps, "numerical_jacobian", names, [o.shape for o in base])
    return tuple(tuple(num[k]) if k in num else None for k in range(len(inputs)))


# ---- analytical Jacobian -------------------------------------------------------
def _vjp(out, diff_inputs, v, what, names, checked, out_name):
    """v^T J for one output, as one array per checked input (zeros where unused)."""
    gs = _grad(out, diff_inputs, v, retain_graph=True, allow_unused=True)
    result = []
    for k, x, g in zip(checked, diff_inputs, gs):
        if g is None:
            result.append(np.zeros(x.size))
            continue
        if g.shape != x.shape:
            raise GradcheckError(f"{what}: the gradient of {out_name} with respect to {names[k]} has "
                                 f"shape {g.shape}, but {names[k]} has shape {x.shape}")
        result.append(np.asarray(g.data, dtype=np.float64).reshape(-1))
    return result


def _analytical(outs, inputs, checked, what, names, out_names):
    """Row-by-row Jacobians from one-hot vector-Jacobian products.

    Returns {input position: {output position: M_o x N_k float64 array}}
    for the differentiable outputs.
    """
    diff_inputs = [inputs[k] for k in checked]
    jac = {k: {} for k in checked}
    for o, out in enumerate(outs):
        if not _is_diff_output(out):
            continue
        for k in checked:
            jac[k][o] = np.zeros((out.size, inputs[k].size))
        onehot = np.zeros(out.size, dtype=out.dtype)
        for i in range(out.size):
            onehot[i] = 1
            rows = _vjp(out, diff_inputs, onehot.reshape(out.shape), what, names, checked, out_names[o])
            onehot[i] = 0
            for k, row in zip(checked, rows):
                jac[k][o][i] = row
    return jac


# ---- comparison and reports ------------------------------------------------------
def _fmt_index(flat, shape):
    if len(shape) == 0:
        return ""
    return "[" + ", ".join(str(int(i)) for i in np.unravel_index(flat, shape)) + "]"


def _compare(a, n, k, o, in_shape, out_shape, names, out_names, atol, rtol):
    """None if the Jacobians agree, else a Mismatch describing the worst entry."""
    err = np.abs(a - n)
    tol = atol + rtol * np.abs(n)
    bad = ~(err <= tol)  # also catches nan
    if not bad.any():
        return None
    excess = np.where(np.isnan(err), np.inf, err - tol)
    i, j = np.unravel_index(int(np.argmax(excess)), a.shape)
    finite = err[np.isfinite(err)]
    max_error = float(np.nan if np.isnan(err).any() else (finite.max() if finite.size else np.inf))
    mm = Mismatch(input=k, output=o, input_name=names[k], output_name=out_names[o],
                  output_index=tuple(int(t) for t in np.unravel_index(i, out_shape)),
                  input_index=tuple(int(t) for t in np.unravel_index(j, in_shape)),
                  analytical=float(a[i, j]), numerical=float(n[i, j]), max_error=max_error,
                  n_bad=int(bad.sum()), n_total=int(bad.size))
    lines = [
        f"Jacobian mismatch for {out_names[o]} (shape {out_shape}) with respect to {names[k]} "
        f"(shape {in_shape}):",
        f"  worst element: d({out_names[o]}){_fmt_index(i, out_shape)} / "
        f"d({names[k]}){_fmt_index(j, in_shape)}",
        f"    analytical: {float(a[i, j])!r}",
        f"    numerical:  {float(n[i, j])!r}",
        f"    |difference| = {err[i, j]:.3g} > atol + rtol * |numerical| = {tol[i, j]:.3g}",
        f"  max |analytical - numerical| over this Jacobian: {max_error:.3g} "
        f"({mm.n_bad} of {mm.n_total} entries outside tolerance)",
    ]
    if a.size <= _PRINT_LIMIT:
        with np.printoptions(precision=6, suppress=False, linewidth=100):
            lines += ["  analytical Jacobian (rows: output elements, columns: input elements):",
                      _indent(np.array2string(a)),
                      "  numerical Jacobian:", _indent(np.array2string(n))]
    mm.detail = "\n".join(lines)
    return mm


def _indent(text):
    return "\n".join("    " + line for line in text.splitlines())


def _fail(what, fn, mismatches, atol, rtol, eps, extra=""):
    head = (f"{what} failed for {_fn_name(fn)}: the analytical gradient (from backward) does not "
            f"match central finite differences (eps={eps}, atol={atol}, rtol={rtol}).")
    body = "\n".join(m.detail for m in mismatches)
    tail = ("\n(Jacobian entry [i, j] is d output_flat[i] / d input_flat[j], elements in C order; "
            "indices above are into the unflattened tensors.)")
    return GradcheckError(head + ("\n" + extra if extra else "") + "\n" + body + tail, mismatches)


# ---- the checks ------------------------------------------------------------------
def _slow_check(fn, inputs, outs, checked, eps, atol, rtol, what, names, out_names):
    shapes = [o.shape for o in outs]
    num = _numerical(fn, inputs, eps, what, names, shapes)
    diff_outs = [o for o, out in enumerate(outs) if _is_diff_output(out)]
    mismatches = []
    if not diff_outs:
        # Nothing requires grad downstream (detached, or computed under
        # no_grad): autograd says the Jacobian is zero, so it must be.
        for k in checked:
            for o, out in enumerate(outs):
                if out.dtype.kind not in "fc":  # a detached complex output is checked too
                    continue
                mm = _compare(np.zeros_like(num[k][o]), num[k][o], k, o, inputs[k].shape, out.shape,
                              names, out_names, atol, rtol)
                if mm is not None:
                    mm.detail = (f"  {out_names[o]} does not require grad (no graph was recorded: "
                                 "detached, or computed under no_grad), so its analytical gradient "
                                 "is zero, but the numerical one is not:\n" + mm.detail)
                    mismatches.append(mm)
        return mismatches
    ana = _analytical(outs, inputs, checked, what, names, out_names)
    for k in checked:
        for o in diff_outs:
            mm = _compare(ana[k][o], num[k][o], k, o, inputs[k].shape, outs[o].shape,
                          names, out_names, atol, rtol)
            if mm is not None:
                mismatches.append(mm)
    return mismatches


def _unit_vector(rng, n):
    # Nonnegative and of unit norm, as PyTorch's fast gradcheck draws u and v.
    v = rng.random(n)
    return v / np.linalg.norm(v)


def _fast_check(fn, inputs, outs, checked, eps, atol, rtol, what, names, out_names, rng):
    """Compare one scalar per (input, output) pair: v^T J u, with random unit vectors.

    Numerically, ``J u ~= (f(x + eps u) - f(x - eps u)) / (2 eps)`` (two calls
    of fn per input); analytically, ``(v^T J) . u`` (one backward per output).
    As in PyTorch, atol is scaled by ``sum(u) * sum(v)``: the bound the
    elementwise tolerance gives for ``v^T (A - N) u``.
    """
    diff_outs = [o for o, out in enumerate(outs) if _is_diff_output(out) and out.size > 0]
    checked = [k for k in checked if inputs[k].size > 0]
    if not diff_outs or not checked:
        return "", _slow_check(fn, inputs, outs, checked, eps, atol, rtol, what, names, out_names)
    vs = {o: _unit_vector(rng, outs[o].size).astype(outs[o].dtype) for o in diff_outs}
    args = _working_copies(inputs)
    shapes = [o.shape for o in outs]
    numerical, u_eff = {}, {}
    for k in checked:
        w = args[k].data.reshape(-1)
        orig = w.copy()
        u = _unit_vector(rng, w.size)
        w[...] = orig + eps * u
        hi = w.astype(np.float64)
        plus = _flat64(_checked_call(fn, args, shapes, what, names[k]))
        w[...] = orig - eps * u
        lo = w.astype(np.float64)
        minus = _flat64(_checked_call(fn, args, shapes, what, names[k]))
        w[...] = orig
        # The direction actually taken, after rounding to the input's dtype.
        u_eff[k] = (hi - lo) / (2 * eps)
        for o in diff_outs:
            numerical[k, o] = float(np.dot(vs[o].astype(np.float64), (plus[o] - minus[o]) / (2 * eps)))
    diff_inputs = [inputs[k] for k in checked]
    bad = []
    for o in diff_outs:
        rows = _vjp(outs[o], diff_inputs, vs[o].reshape(outs[o].shape), what, names, checked,
                    out_names[o])
        for k, row in zip(checked, rows):
            a, n = float(np.dot(row, u_eff[k])), numerical[k, o]
            adj_atol = atol * float(u_eff[k].sum()) * float(vs[o].astype(np.float64).sum())
            if not abs(a - n) <= adj_atol + rtol * abs(n):
                bad.append((k, o, a, n, adj_atol))
    if not bad:
        return "", []
    # As PyTorch does, rerun the full check to say which element is wrong.
    mismatches = _slow_check(fn, inputs, outs, _checked_indices(inputs), eps, atol, rtol, what,
                             names, out_names)
    summary = "fast mode: the random projection v^T J u disagrees:\n" + "\n".join(
        f"  {out_names[o]} w.r.t. {names[k]}: analytical {a!r}, numerical {n!r}, "
        f"|difference| {abs(a - n):.3g} > {adj + rtol * abs(n):.3g}" for k, o, a, n, adj in bad)
    if not mismatches:
        summary += ("\nbut the full (slow) check finds every element within tolerance: the "
                    "projection amplified small differences; rerun with fast_mode=False or "
                    "looser tolerances.")
        first = bad[0]
        mismatches = [Mismatch(input=first[0], output=first[1], input_name=names[first[0]],
                               output_name=out_names[first[1]], analytical=first[2],
                               numerical=first[3], max_error=abs(first[2] - first[3]),
                               detail="")]
    return summary, mismatches


def _check(fn, inputs, eps, atol, rtol, raise_exception, fast_mode, seed, what, names, out_names_of):
    checked = _checked_indices(inputs)
    if not checked:
        raise ValueError(f"{what}: no input requires grad, so there is nothing to check; create "
                         "the inputs with requires_grad=True")
    _warn_precision(inputs, names, what)
    outs = _call(fn, inputs, what)
    out_names = out_names_of(len(outs))
    if fast_mode:
        rng = np.random.default_rng(_DEFAULT_SEED if seed is None else seed)
        extra, mismatches = _fast_check(fn, inputs, outs, checked, eps, atol, rtol, what, names,
                                        out_names, rng)
    else:
        extra = ""
        mismatches = _slow_check(fn, inputs, outs, checked, eps, atol, rtol, what, names, out_names)
    if not mismatches:
        return True
    if raise_exception:
        raise _fail(what, fn, mismatches, atol, rtol, eps, extra)
    return False


def gradcheck(fn, inputs, *, eps=1e-6, atol=1e-5, rtol=1e-3, raise_exception=True,
              fast_mode=False, seed=None):
    """Check ``fn``'s gradients against central finite differences (PyTorch's gradcheck).

    For every input Tensor with ``requires_grad=True`` and every output that
    requires grad, the analytical Jacobian (rows ``e_i^T J`` from
    :func:`tinygrad_edu.grad` with a one-hot ``grad_outputs``) is compared
    elementwise with the numerical one (:func:`numerical_jacobian`)::

        |J_analytical - J_numerical| <= atol + rtol * |J_numerical|

    If no output requires grad, the numerical Jacobian must be zero.

    Args:
        fn: function of the inputs returning a Tensor or a tuple of Tensors.
        inputs: a Tensor or a tuple of arguments (Tensors that require grad
            are checked; other arguments are passed through unchanged).
            Use float64: a float32 input gives a warning, since finite
            differences with ``eps=1e-6`` are meaningless in float32.
        eps: finite-difference step.
        atol, rtol: tolerances (defaults are PyTorch's, designed for float64).
        raise_exception: raise :class:`GradcheckError` on a mismatch (True)
            or return False.
        fast_mode: compare only the scalar ``v^T J u`` per (input, output)
            pair for random unit vectors ``u``, ``v`` (PyTorch's "Fast
            backward mode gradcheck"): two calls of fn per input and one
            backward per output instead of one per element. atol is scaled
            by ``sum(u) * sum(v)``. On a mismatch the full check is rerun to
            name the worst element.
        seed: seed for fast mode's random vectors (None: a fixed default, so
            results are reproducible).

    Returns:
        True if the gradients match; False on a mismatch with
        ``raise_exception=False``.

    Raises:
        GradcheckError (a RuntimeError): on a mismatch; the message names
            the input, the output, the worst element (indices into both),
            the analytical and numerical values there and the largest error.
        ValueError: no input requires grad, eps is not positive or too small
            to change an input element, atol or rtol is negative.
        TypeError: fn is not callable or returns something other than
            Tensors; eps, atol or rtol is not a number.

    The inputs are never modified. fn is called ``2 N + 1`` times (N input
    elements) and backward once per output element, so keep tensors small.

    Reference: ``torch.autograd.gradcheck``
    (https://pytorch.org/docs/stable/generated/torch.autograd.gradcheck.gradcheck.html);
    "Gradcheck mechanics" (https://pytorch.org/docs/stable/notes/gradcheck.html).
    """
    _check_args("gradcheck", fn, eps, atol, rtol)
    inputs = _as_tuple(inputs)
    names = [f"input {k}" for k in range(len(inputs))]
    return _check(fn, inputs, eps, atol, rtol, raise_exception, fast_mode, seed, "gradcheck",
                  names, lambda m: [f"output {o}" for o in range(m)])


def gradgradcheck(fn, inputs, grad_outputs=None, *, eps=1e-6, atol=1e-5, rtol=1e-3,
                  raise_exception=True, fast_mode=False, seed=None):
    """Check second derivatives: gradcheck of the vector-Jacobian product of ``fn``.

    The function checked is ``F(x, v) = v^T J_f(x)``, computed by
    ``tinygrad_edu.grad(fn(x), x, v, create_graph=True)``; its Jacobian with
    respect to ``x`` holds the second derivatives ``sum_i v_i d^2 y_i / dx dx``
    and with respect to ``v`` the first ones, so this checks that every
    backward rule is itself correctly differentiable (``create_graph=True``).

    Args:
        fn, inputs: as for :func:`gradcheck`.
        grad_outputs: the vectors ``v``, one per output of fn that requires
            grad (Tensors shaped like those outputs). None: random values in
            [-1, 1) with ``requires_grad=True``, drawn with ``seed``. Those
            given with ``requires_grad=True`` are checked too.
        eps, atol, rtol, raise_exception, fast_mode, seed: as for
            :func:`gradcheck` (seed also draws the default ``grad_outputs``).

    Returns / Raises: as :func:`gradcheck`; in reports, "gradient of input k"
    is an output of ``F`` and "grad_outputs[m]" an input of ``F``. Also
    ValueError when the number of grad_outputs does not match fn's outputs.

    Reference: ``torch.autograd.gradgradcheck``
    (https://pytorch.org/docs/stable/generated/torch.autograd.gradcheck.gradgradcheck.html);
    "Gradgrad check implementation" in "Gradcheck mechanics".
    """
    _check_args("gradgradcheck", fn, eps, atol, rtol)
    inputs = _as_tuple(inputs)
    checked = _checked_indices(inputs)
    if not checked:
        raise ValueError("gradgradcheck: no input requires grad, so there is nothing to check; "
                         "create the inputs with requires_grad=True")
    if grad_outputs is None:
        outs = [o for o in _call(fn, inputs, "gradgradcheck") if _is_diff_output(o)]
        rng = np.random.default_rng(_DEFAULT_SEED if seed is None else seed)
        grad_outputs = tuple(Tensor(rng.uniform(-1, 1, o.shape).astype(o.dtype), requires_grad=True)
                             for o in outs)
    else:
        grad_outputs = tuple(g if isinstance(g, Tensor) else Tensor(g) for g in _as_tuple(grad_outputs))
    n_in, n_go = len(inputs), len(grad_outputs)
    go_checked = {m for m, g in enumerate(grad_outputs) if g.requires_grad}

    def vjp(*args):
        xs, gs = args[:n_in], args[n_in:]
        # The numerical pass hands us copies that do not require grad.
        for k in checked:
            if not xs[k].requires_grad:
                xs[k].requires_grad_(True)
        for m in go_checked:
            if not gs[m].requires_grad:
                gs[m].requires_grad_(True)
        outs = [o for o in _call(fn, xs, "gradgradcheck") if _is_diff_output(o)]
        if len(outs) != n_go:
            raise ValueError(f"gradgradcheck: {_fn_name(fn)} has {len(outs)} outputs that require "
                             f"grad but {n_go} grad_outputs were given")
        for m, (o, g) in enumerate(zip(outs, gs)):
            if o.shape != g.shape:
                raise ValueError(f"gradgradcheck: grad_outputs[{m}] has shape {g.shape} but "
                                 f"output {m} has shape {o.shape}")
        grads = _grad(outs, [xs[k] for k in checked], list(gs), create_graph=True,
                      allow_unused=True)
        # An unused input has zero gradient; a constant keeps output positions stable.
        return tuple(Tensor._wrap(np.zeros(xs[k].shape, dtype=xs[k].dtype)) if g is None else g
                     for k, g in zip(checked, grads))

    vjp.__qualname__ = f"vector-Jacobian product of {_fn_name(fn)}"
    names = [f"input {k}" for k in range(n_in)] + [f"grad_outputs[{m}]" for m in range(n_go)]
    return _check(vjp, inputs + grad_outputs, eps, atol, rtol, raise_exception, fast_mode, seed,
                  "gradgradcheck", names, lambda m: [f"gradient of input {k}" for k in checked])
