"""Graph fuzzing: random programs over every op, checked against finite differences.

A hypothesis ``RuleBasedStateMachine`` grows a program step by step: leaves,
constants, unary/binary (broadcasting) ops, reductions with axes and
keepdims, shape ops, indexing, joins, matmul, the softmax family,
where/clip/maximum, user Functions (one and two outputs), in-place ops
(recorded, and untracked under ``no_grad``), ``detach``, ``no_grad`` regions,
``retain_grad``, and backward calls of every kind (``backward`` with or
without ``retain_graph``/``create_graph``, vector-Jacobian products,
``tinygrad_edu.grad`` with several outputs, Hessian-vector products, repeated
calls). Tensors are reused freely (fan-out).

Beside the live tensors the machine keeps a functional model of the program:
every value is a *version* (a leaf, a constant, an op of earlier versions).
An in-place op makes a new version of its tensor (``h op= v`` is
``h' = op(h, v)``; consumers recorded before keep the old one); a write the
graph does not track (under ``no_grad``) is modelled as adding a constant;
``detach()`` and ``no_grad`` results are constants. Replaying the model
with perturbed leaves gives central finite differences (float64) for any
loss built from the live tensors. Checks:

- the replay reproduces the live values (in-place semantics);
- gradients equal finite differences, ``.grad`` has its tensor's shape and
  dtype, and accumulates over repeated backward calls; ``grad`` leaves
  ``.grad`` alone; second derivatives match differences of first ones;
- errors are the documented ones: RuntimeError for a freed graph, a
  non-scalar output without gradient, a gradient of the wrong shape, a
  backward of a tensor that needs no grad, an in-place op on a leaf or view
  (and refusals of in-place conflicts, only where the program made one
  possible); ValueError for shapes that do not fit and bad axes; IndexError
  for bad indices. A failed call changes no value and no ``.grad``.

Kinks are avoided (|x| > 1e-3 from relu/abs/clip/max/min switch points, log
and sqrt away from 0), and values stay below 50 in magnitude.

Run a long campaign with, e.g.::

    TINYGRAD_EDU_FUZZ_EXAMPLES=20000 python3 -m pytest -q tests/test_fuzz_graph.py

(``TINYGRAD_EDU_FUZZ_STEPS`` sets the steps per program, default 30.)
"""
from __future__ import annotations

import os

import numpy as np
import pytest
from hypothesis import HealthCheck, event, note, settings, strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

import tinygrad_edu as tg
from tinygrad_edu import Function, Tensor
from tinygrad_edu.nn import functional as NF
from tinygrad_edu.ops.shape import setitem as setitem_op

EXAMPLES = int(os.environ.get("TINYGRAD_EDU_FUZZ_EXAMPLES", "100"))
STEPS = int(os.environ.get("TINYGRAD_EDU_FUZZ_STEPS", "30"))
MAX_ABS = 50.0
MARGIN = 1e-3
EPS = 1e-6
MAX_SLOTS = 40


from _functions import Cube  # noqa: E402  (shared with other test files)


class SinCos(Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x.sin(), x.cos()

    @staticmethod
    def backward(ctx, g1, g2):
        (x,) = ctx.saved_tensors
        return g1 * x.cos() - g2 * x.sin()


class Scale(Function):
    """Two arguments, one a plain number; the output's gradient broadcasts back."""

    @staticmethod
    def forward(ctx, x, k):
        ctx.k = k
        return x * k

    @staticmethod
    def backward(ctx, g):
        return g * ctx.k, None


class Slot:
    """A live tensor of the program and the version of the model it holds."""

    __slots__ = ("t", "vid", "usable", "retained", "funcsaved", "consumed")

    def __init__(self, t, vid):
        self.t, self.vid, self.usable, self.retained, self.funcsaved = t, vid, True, None, False
        self.consumed = 0   # ops that read it: in-place targets are drawn among these more often
        # funcsaved: a rule will read this value through something other than
        # the slot itself (a Function's saved tensor, a view made inside an op),
        # so a later in-place write may rightly make backward refuse


def _shapes():
    return st.lists(st.integers(1, 3), min_size=0, max_size=3).map(tuple)


def _bcast_partner(draw, shape, grow=True):
    """A shape that broadcasts with ``shape`` (to it exactly when ``grow`` is False)."""
    dims = [draw(st.sampled_from([n, 1])) for n in shape]
    drop = draw(st.integers(0, len(dims)))
    dims = dims[drop:]
    if grow and draw(st.booleans()) and len(shape) < 3:
        dims = [draw(st.integers(1, 2))] + ([1] * (len(shape) - len(dims))) + dims
    return tuple(dims)


def _far(a, points, margin=MARGIN):
    """True if every value of ``a`` is at least ``margin`` from every point."""
    a = np.asarray(a, dtype=np.float64)
    return all(np.all(np.abs(a - p) > margin) for p in np.atleast_1d(points))


def _no_ties(x, axis):
    """No reduced slice has its top two (or bottom two) values within MARGIN."""
    x = np.asarray(x, dtype=np.float64)
    if x.ndim == 0 or x.size == 0:  # nothing to tie (and a size-0 slab cannot be reshaped with -1)
        return True
    axes = tuple(range(x.ndim)) if axis is None else tuple(np.atleast_1d(axis) % x.ndim)
    rest = tuple(i for i in range(x.ndim) if i not in axes)
    flat = np.transpose(x, rest + axes).reshape(int(np.prod([x.shape[i] for i in rest])) if rest else 1, -1)
    if flat.shape[1] < 2:
        return True
    s = np.sort(flat, axis=1)
    return bool(np.all(s[:, -1] - s[:, -2] > MARGIN) and np.all(s[:, 1] - s[:, 0] > MARGIN))


UNARY = {
    "exp": (lambda a: a.exp(), lambda v: v.max(initial=-np.inf) < 3),
    "log": (lambda a: a.log(), lambda v: v.min(initial=np.inf) > 0.2),
    "log1p": (lambda a: a.log1p(), lambda v: v.min(initial=np.inf) > -0.8),
    "sqrt": (lambda a: a.sqrt(), lambda v: v.min(initial=np.inf) > 0.2),
    "sin": (lambda a: a.sin(), None),
    "cos": (lambda a: np.cos(a), None),             # numpy dispatch
    "tanh": (lambda a: a.tanh(), None),
    "sigmoid": (lambda a: a.sigmoid(), None),
    "abs": (lambda a: abs(a), lambda v: _far(v, 0)),
    "relu": (lambda a: a.relu(), lambda v: _far(v, 0)),
    "neg": (lambda a: -a, None),
    "square": (lambda a: a ** 2, None),
    "cube": (lambda a: np.power(a, 3), None),
    "pow_frac": (lambda a: a ** 1.5, lambda v: v.min(initial=np.inf) > 0.2),
    "rpow": (lambda a: 2.0 ** a, lambda v: v.max(initial=-np.inf) < 4),
    "rsub": (lambda a: 1.0 - a, None),
    "rdiv": (lambda a: 1.0 / a, lambda v: _far(v, 0, 0.2)),
    "scale": (lambda a: a * 1.7, None),
    "clone": (lambda a: a.clone(), None),
    "np_square": (lambda a: np.square(a), None),
    "np_reciprocal": (lambda a: np.reciprocal(a), lambda v: _far(v, 0, 0.2)),
}

BINARY = {
    "add": (lambda a, b: a + b, None),
    "sub": (lambda a, b: a - b, None),
    "mul": (lambda a, b: a * b, None),
    "div": (lambda a, b: a / b, lambda a, b: _far(b, 0, 0.2)),
    "maximum": (lambda a, b: tg.maximum(a, b), lambda a, b: np.all(np.abs(np.subtract(a, b)) > MARGIN)),
    "minimum": (lambda a, b: np.minimum(a, b), lambda a, b: np.all(np.abs(np.subtract(a, b)) > MARGIN)),
    "pow": (lambda a, b: a ** b, lambda a, b: np.min(a, initial=np.inf) > 0.2 and np.max(np.abs(b), initial=0) < 3),
    "np_add": (lambda a, b: np.add(a, b), None),
}


class GraphFuzz(RuleBasedStateMachine):
    def __init__(self):
        super().__init__()
        self.versions = []          # ("leaf", base) | ("const", arr) | ("op", fn, vids) | ("delta", vid, old, new)
        self.slots: list[Slot] = []
        self.leaves = []            # (slot index, version id)
        self.expected = {}          # leaf slot index -> expected .grad (array) or None
        self.may_refuse = False     # an in-place conflict the engine may (rightly) refuse
        self.graph_grads = False    # some .grad holds a graph (create_graph)

    # ---- the model ----------------------------------------------------------
    def _version(self, v):
        self.versions.append(v)
        return len(self.versions) - 1

    def _slot(self, t, vid):
        self.slots.append(Slot(t, vid))
        return len(self.slots) - 1

    def replay(self, perturb=None, grad=False, native=False):
        """Values of every version with ``perturb`` ({vid: array}) added.

        Leaves and constants are upcast to float64 (for finite differences),
        unless ``native``: then the replay runs the very ops of the program
        in its own dtypes.
        """
        perturb = perturb or {}
        vals = []
        with tg.set_grad_enabled(grad):
            for vid, v in enumerate(self.versions):
                kind = v[0]
                if kind == "leaf":
                    base = v[1] if native else v[1].astype(np.float64)
                    x = Tensor(base + perturb.get(vid, 0.0) if perturb else base, requires_grad=True)
                elif kind == "const":
                    # float64 like the leaves: a float32 constant would round the
                    # finite-difference step away where a value is written into it
                    x = Tensor(v[1].astype(np.float64) if v[1].dtype == np.float32 and not native else v[1])
                elif kind == "op":
                    x = v[1](*(vals[i] for i in v[2]))
                else:  # an untracked write: the old value plus a constant
                    x = vals[v[1]] - v[2] + v[3]
                if kind != "leaf" and vid in perturb:
                    x = x + perturb[vid]
                vals.append(x)
        return vals

    def usable(self, requires_grad=None, pred=None):
        out = []
        for i, s in enumerate(self.slots):
            if not s.usable:
                continue
            if requires_grad is not None and s.t.requires_grad != requires_grad:
                continue
            if pred is not None and not pred(s.t):
                continue
            out.append(i)
        return out

    def pick(self, data, prefer=None, **kw):
        """A usable slot: often one of the newest (deep graphs), or one ``prefer`` likes."""
        idx = self.usable(**kw)
        if not idx:
            return None
        how = data.draw(st.sampled_from(["any", "recent", "preferred"]), label="pick")
        if how == "recent":
            idx = idx[-3:]
        elif how == "preferred" and prefer is not None:
            idx = [i for i in idx if prefer(self.slots[i])] or idx
        return data.draw(st.sampled_from(idx), label="slot")

    def apply(self, fn, sids, label, grad=True):
        """Run ``fn`` on the live tensors of ``sids`` and record it in the model."""
        ins = [self.slots[s] for s in sids]
        with tg.set_grad_enabled(grad):
            out = fn(*(s.t for s in ins))
        for s in ins:
            s.consumed += 1
        if isinstance(fn, type(Cube.apply)) or label.startswith("Function"):
            for s in ins:
                s.funcsaved = True
        outs = out if isinstance(out, tuple) else (out,)
        if grad:
            vid = self._version(("op", fn, [s.vid for s in ins]))
            vids = [vid] if not isinstance(out, tuple) else [
                self._version(("op", (lambda k: lambda tup: tup[k])(k), [vid])) for k in range(len(outs))]
        else:
            vids = [self._version(("const", o.data.copy(order="K"))) for o in outs]
        event(f"op {label.split('(')[0].split(' ')[0]}{'' if grad else ' (no_grad)'}")
        note(f"{label}: slots {sids} -> {[len(self.slots) + k for k in range(len(outs))]} shapes "
             f"{[o.shape for o in outs]} grad={grad}")
        for o, vid in zip(outs, vids):
            assert isinstance(o, Tensor)
            if grad:
                assert o.requires_grad == any(s.t.requires_grad for s in ins)
            else:
                assert not o.requires_grad and o.is_leaf
            k = self._slot(o, vid)
            if not np.all(np.isfinite(o.data)) or np.max(np.abs(o.data), initial=0) > MAX_ABS:
                self.slots[k].usable = False
        return out

    # ---- growing the program -----------------------------------------------
    @initialize(data=st.data())
    def start(self, data):
        for _ in range(data.draw(st.integers(1, 2), label="leaves")):
            self.add_leaf(data)

    @precondition(lambda self: len(self.leaves) < 4)
    @rule(data=st.data())
    def add_leaf(self, data):
        shape = data.draw(_shapes(), label="leaf shape")
        dtype = data.draw(st.sampled_from([np.float64] * 5 + [np.float32]), label="dtype")
        vals = data.draw(st.lists(st.floats(-2, 2), min_size=int(np.prod(shape)),
                                  max_size=int(np.prod(shape))), label="values")
        base = np.array(vals, dtype=dtype).reshape(shape)
        t = Tensor(base, requires_grad=True)
        vid = self._version(("leaf", base.copy()))
        k = self._slot(t, vid)
        self.leaves.append((k, vid))
        self.expected[k] = None
        note(f"leaf slot {k}: shape {shape} {np.dtype(dtype).name}")

    @rule(data=st.data())
    def add_const(self, data):
        shape = data.draw(_shapes(), label="const shape")
        arr = np.asarray(data.draw(st.lists(st.floats(-2, 2), min_size=int(np.prod(shape)),
                                            max_size=int(np.prod(shape)))), dtype=np.float64).reshape(shape)
        self._slot(Tensor(arr), self._version(("const", arr.copy())))

    def _grad_mode(self, data):
        return data.draw(st.sampled_from([True] * 6 + [False]), label="grad mode")

    @precondition(lambda self: len(self.slots) < MAX_SLOTS)
    @rule(data=st.data())
    def unary(self, data):
        s = self.pick(data)
        if s is None:
            return
        name = data.draw(st.sampled_from(sorted(UNARY)), label="unary")
        fn, ok = UNARY[name]
        if ok is not None and not ok(self.slots[s].t.data):
            return
        self.apply(fn, [s], name, self._grad_mode(data))

    @precondition(lambda self: len(self.slots) < MAX_SLOTS)
    @rule(data=st.data())
    def binary(self, data):
        a = self.pick(data)
        if a is None:
            return
        name = data.draw(st.sampled_from(sorted(BINARY)), label="binary")
        fn, ok = BINARY[name]
        av = self.slots[a].t.data
        kind = data.draw(st.sampled_from(["slot", "slot", "array", "scalar", "rarray"]), label="other")
        if kind == "slot":
            cands = [b for b in self.usable() if _broadcasts(av.shape, self.slots[b].t.shape)]
            b = data.draw(st.sampled_from(cands), label="b")
            bv = self.slots[b].t.data
            if ok is not None and not ok(*np.broadcast_arrays(av, bv)):
                return
            self.apply(fn, [a, b], name, self._grad_mode(data))
            return
        if kind == "scalar":
            c = data.draw(st.sampled_from([0.5, -1.5, 2.0, 3]), label="scalar")
        else:
            shape = _bcast_partner(data.draw, av.shape)
            c = np.asarray(data.draw(st.lists(st.floats(0.3, 2), min_size=int(np.prod(shape)),
                                              max_size=int(np.prod(shape)))), dtype=np.float64).reshape(shape)
            c = c * data.draw(st.sampled_from([1, -1]))
        left = kind == "rarray"
        args = (c, av) if left else (av, c)
        if ok is not None and not ok(*np.broadcast_arrays(*args)):
            return
        f = (lambda x: fn(c, x)) if left else (lambda x: fn(x, c))
        self.apply(f, [a], f"{name} with {'left ' if left else ''}{kind}", self._grad_mode(data))

    @precondition(lambda self: len(self.slots) < MAX_SLOTS)
    @rule(data=st.data())
    def reduce(self, data):
        s = self.pick(data)
        if s is None:
            return
        t = self.slots[s].t
        name = data.draw(st.sampled_from(["sum", "mean", "max", "min", "var", "std", "logsumexp",
                                          "np_sum", "np_mean", "np_max"]), label="reduce")
        axis = data.draw(_axes(t.ndim), label="axis")
        keep = data.draw(st.booleans(), label="keepdims")
        if name in ("max", "min", "np_max") and _count(t.shape, axis) == 0:
            with pytest.raises(ValueError, match="max|min"):   # documented: no identity
                getattr(t, name[-3:])(axis=axis)
            return
        if name in ("max", "min", "np_max") and not _no_ties(t.data, axis):
            return
        if name in ("var", "std"):
            n = _count(t.shape, axis)
            ddof = data.draw(st.sampled_from([0, 1]), label="ddof")
            if n <= ddof or (name == "std" and np.min(np.var(t.data, axis=axis, ddof=ddof), initial=1) < 1e-2):
                return
            fn = (lambda x: getattr(x, name)(axis=axis, keepdims=keep, ddof=ddof))
        elif name.startswith("np_"):
            npf = getattr(np, name[3:])
            fn = (lambda x: npf(x, axis=axis, keepdims=keep))
        else:
            fn = (lambda x: getattr(x, name)(axis=axis, keepdims=keep))
        if name in ("mean", "np_mean") and _count(t.shape, axis) == 0:
            return
        self.apply(fn, [s], f"{name}(axis={axis}, keepdims={keep})", self._grad_mode(data))

    @precondition(lambda self: len(self.slots) < MAX_SLOTS)
    @rule(data=st.data())
    def normalize(self, data):
        s = self.pick(data, pred=lambda t: t.ndim > 0)
        if s is None:
            return
        t = self.slots[s].t
        name = data.draw(st.sampled_from(["softmax", "log_softmax"]), label="norm")
        axis = data.draw(st.integers(-t.ndim, t.ndim - 1), label="axis")
        self.apply(lambda x: getattr(x, name)(axis=axis), [s], f"{name}({axis})", self._grad_mode(data))

    @precondition(lambda self: len(self.slots) < MAX_SLOTS)
    @rule(data=st.data())
    def shape_op(self, data):
        s = self.pick(data)
        if s is None:
            return
        shape = self.slots[s].t.shape
        nd = len(shape)
        name = data.draw(st.sampled_from(["reshape", "np_reshape", "transpose", "T", "swapaxes",
                                          "squeeze", "expand_dims", "broadcast_to", "flatten"]), label="shape op")
        if name in ("reshape", "np_reshape"):
            new = data.draw(st.sampled_from(_reshapes(shape)), label="new shape")
            fn = (lambda x: x.reshape(new)) if name == "reshape" else (lambda x: np.reshape(x, new))
        elif name == "transpose":
            perm = tuple(data.draw(st.permutations(range(nd)), label="perm"))
            fn = lambda x: x.transpose(perm)  # noqa: E731
        elif name == "T":
            fn = lambda x: x.T  # noqa: E731
        elif name == "swapaxes":
            if nd == 0:
                return
            a1, a2 = data.draw(st.integers(-nd, nd - 1)), data.draw(st.integers(-nd, nd - 1))
            fn = lambda x: x.swapaxes(a1, a2)  # noqa: E731
        elif name == "squeeze":
            ones = [i for i, n in enumerate(shape) if n == 1]
            ax = data.draw(st.sampled_from([None] + ones), label="squeeze axis")
            fn = lambda x: x.squeeze(ax)  # noqa: E731
        elif name == "expand_dims":
            ax = data.draw(st.integers(-nd - 1, nd), label="axis")
            fn = lambda x: x.unsqueeze(ax)  # noqa: E731
        elif name == "broadcast_to":
            target = (2,) + tuple(data.draw(st.sampled_from([n, 2] if n == 1 else [n])) for n in shape)
            fn = lambda x: tg.broadcast_to(x, target)  # noqa: E731
        else:
            fn = lambda x: x.flatten()  # noqa: E731
        self.apply(fn, [s], name, self._grad_mode(data))

    @precondition(lambda self: len(self.slots) < MAX_SLOTS)
    @rule(data=st.data())
    def index(self, data):
        s = self.pick(data, pred=lambda t: t.ndim > 0 and t.size > 0)
        if s is None:
            return
        t = self.slots[s].t
        idx = data.draw(_index(t.shape), label="index")
        self.apply(lambda x: x[idx], [s], f"getitem {idx!r}", self._grad_mode(data))

    @precondition(lambda self: len(self.slots) < MAX_SLOTS)
    @rule(data=st.data())
    def join(self, data):
        a = self.pick(data, pred=lambda t: t.ndim > 0)
        if a is None:
            return
        shape = self.slots[a].t.shape
        same = [b for b in self.usable() if self.slots[b].t.shape == shape]
        others = data.draw(st.lists(st.sampled_from(same), min_size=1, max_size=2), label="others")
        sids = [a] + others
        if data.draw(st.booleans(), label="stack"):
            ax = data.draw(st.integers(-len(shape) - 1, len(shape)), label="axis")
            fn = lambda *xs: tg.stack(list(xs), axis=ax)  # noqa: E731
            self.apply(fn, sids, f"stack(axis={ax})", self._grad_mode(data))
        else:
            ax = data.draw(st.integers(-len(shape), len(shape) - 1), label="axis")
            fn = lambda *xs: np.concatenate(list(xs), axis=ax)  # noqa: E731  (numpy dispatch)
            self.apply(fn, sids, f"concatenate(axis={ax})", self._grad_mode(data))

    @precondition(lambda self: len(self.slots) < MAX_SLOTS)
    @rule(data=st.data())
    def matmul(self, data):
        a = self.pick(data, pred=lambda t: t.ndim > 0)
        if a is None:
            return
        t = self.slots[a].t
        k = t.shape[-1]
        how = data.draw(st.sampled_from(["gram", "const", "slot", "vec", "dot"]), label="matmul kind")
        if how == "gram":
            if t.ndim == 1:
                self.apply(lambda x: x @ x, [a], "x @ x", self._grad_mode(data))
            else:
                self.apply(lambda x: x @ x.swapaxes(-1, -2), [a], "x @ x^T", self._grad_mode(data))
                # matmul read a view of x: rewriting x in place makes it refuse (as PyTorch)
                self.slots[a].funcsaved = True
        elif how == "slot":
            cands = [b for b in self.usable() if self.slots[b].t.ndim >= 1 and
                     (self.slots[b].t.shape[0] if self.slots[b].t.ndim <= 2 else self.slots[b].t.shape[-2]) == k
                     and _matmul_ok(t.shape, self.slots[b].t.shape)]
            if not cands:
                return
            b = data.draw(st.sampled_from(cands), label="b")
            self.apply(lambda x, y: tg.matmul(x, y), [a, b], "matmul", self._grad_mode(data))
        elif how == "dot":
            if t.ndim > 2:
                return
            m = np.random.default_rng(k).standard_normal((k,) if data.draw(st.booleans()) else (k, 2))
            self.apply(lambda x: tg.dot(x, m), [a], f"dot with {m.shape}", self._grad_mode(data))
        else:
            shape = (k,) if how == "vec" else (k, data.draw(st.integers(1, 3)))
            m = np.random.default_rng(len(self.versions)).standard_normal(shape)
            left = how == "const" and data.draw(st.booleans()) and t.ndim >= 2
            if left:
                m2 = np.random.default_rng(1).standard_normal((2, t.shape[-2]))
                self.apply(lambda x: m2 @ x, [a], "const @ x", self._grad_mode(data))
            else:
                self.apply(lambda x: x @ m, [a], f"x @ const{shape}", self._grad_mode(data))

    @precondition(lambda self: len(self.slots) < MAX_SLOTS)
    @rule(data=st.data())
    def select(self, data):
        a = self.pick(data)
        if a is None:
            return
        t = self.slots[a].t
        how = data.draw(st.sampled_from(["where", "where_scalar", "clip", "clip_tensor", "max_const"]), label="select")
        rng = np.random.default_rng(len(self.versions))
        if how.startswith("where"):
            cond = rng.random(t.shape) > 0.5
            if how == "where":
                cands = [b for b in self.usable() if _broadcasts(t.shape, self.slots[b].t.shape)]
                b = data.draw(st.sampled_from(cands), label="b")
                self.apply(lambda x, y: tg.where(cond, x, y), [a, b], "where", self._grad_mode(data))
            else:
                self.apply(lambda x: np.where(cond, 0.5, x), [a], "where(cond, 0.5, x)", self._grad_mode(data))
        elif how == "clip":
            lo, hi = data.draw(st.sampled_from([(-0.5, 0.7), (None, 0.3), (-1.0, None), (0.1, 1.5)]), label="bounds")
            pts = [p for p in (lo, hi) if p is not None]
            if not _far(t.data, pts):
                return
            self.apply(lambda x: x.clip(lo, hi), [a], f"clip({lo}, {hi})", self._grad_mode(data))
        elif how == "clip_tensor":
            cands = [b for b in self.usable() if _broadcasts(t.shape, self.slots[b].t.shape)
                     and np.broadcast_shapes(t.shape, self.slots[b].t.shape) == t.shape]
            b = data.draw(st.sampled_from(cands), label="bound")
            if not np.all(np.abs(t.data - self.slots[b].t.data) > MARGIN):
                return
            if data.draw(st.booleans()):
                self.apply(lambda x, m: tg.clip(x, m, None), [a, b], "clip(x, tensor lo)", self._grad_mode(data))
            else:
                self.apply(lambda x, m: tg.clip(x, None, m), [a, b], "clip(x, None, tensor hi)", self._grad_mode(data))
        else:
            c = 0.25
            if not _far(t.data, c):
                return
            self.apply(lambda x: tg.maximum(c, x), [a], "maximum(0.25, x)", self._grad_mode(data))

    @precondition(lambda self: len(self.slots) < MAX_SLOTS)
    @rule(data=st.data())
    def function(self, data):
        a = self.pick(data)
        if a is None:
            return
        which = data.draw(st.sampled_from(["Cube", "SinCos", "Scale"]), label="Function")
        if which == "Cube":
            self.apply(lambda x: Cube.apply(x), [a], "Function Cube", self._grad_mode(data))
        elif which == "SinCos":
            self.apply(lambda x: SinCos.apply(x), [a], "Function SinCos", self._grad_mode(data))
        else:
            self.apply(lambda x: Scale.apply(x, 1.5), [a], "Function Scale", self._grad_mode(data))

    @precondition(lambda self: len(self.slots) < MAX_SLOTS)
    @rule(data=st.data())
    def nn_op(self, data):
        """Layers and losses of tinygrad_edu.nn.functional on the slots."""
        a = self.pick(data, pred=lambda t: t.ndim > 0 and t.size > 0)
        if a is None:
            return
        t = self.slots[a].t
        v = t.data
        rng = np.random.default_rng(len(self.versions))
        name = data.draw(st.sampled_from(["linear", "linear_slots", "leaky_relu", "batch_norm", "mse", "l1",
                                          "bce_logits", "bce", "cross_entropy", "nll", "embedding"]), label="nn op")
        red = data.draw(st.sampled_from(["mean", "sum", "none"]), label="reduction")
        target = rng.standard_normal(t.shape)
        if name == "linear":
            w = rng.standard_normal((t.shape[-1], 2))
            b = rng.standard_normal(2)
            self.apply(lambda x: NF.linear(x, w, b), [a], "F.linear", self._grad_mode(data))
        elif name == "linear_slots":
            ws = [k for k in self.usable() if self.slots[k].t.ndim == 2 and self.slots[k].t.shape[0] == t.shape[-1]]
            if not ws:
                return
            w = data.draw(st.sampled_from(ws), label="weight")
            bs = [k for k in self.usable() if self.slots[k].t.shape == (self.slots[w].t.shape[1],)]
            if bs:
                b = data.draw(st.sampled_from(bs), label="bias")
                self.apply(lambda x, W, B: NF.linear(x, W, B), [a, w, b], "F.linear(slots)", self._grad_mode(data))
            else:
                self.apply(lambda x, W: NF.linear(x, W), [a, w], "F.linear(x, W)", self._grad_mode(data))
        elif name == "leaky_relu":
            if not _far(v, 0):
                return
            self.apply(lambda x: NF.leaky_relu(x, 0.1), [a], "leaky_relu", self._grad_mode(data))
        elif name == "batch_norm":
            if t.ndim not in (2, 3) or t.shape[0] < 2 or np.min(np.var(v, axis=(0, 2) if t.ndim == 3 else 0), initial=1) < 1e-2:
                return
            gamma = rng.uniform(0.5, 1.5, t.shape[1])
            self.apply(lambda x: NF.batch_norm(x, None, None, gamma, None, training=True), [a], "batch_norm",
                       self._grad_mode(data))
        elif name == "mse":
            self.apply(lambda x: NF.mse_loss(x, target, reduction=red), [a], f"mse_loss({red})", self._grad_mode(data))
        elif name == "l1":
            if not np.all(np.abs(v - target) > MARGIN):
                return
            self.apply(lambda x: NF.l1_loss(x, target, reduction=red), [a], f"l1_loss({red})", self._grad_mode(data))
        elif name == "bce_logits":
            y = rng.random(t.shape)
            self.apply(lambda x: NF.binary_cross_entropy_with_logits(x, y, reduction=red), [a],
                       f"bce_with_logits({red})", self._grad_mode(data))
        elif name == "bce":
            if np.min(v, initial=1) < 0.05 or np.max(v, initial=0) > 0.95:
                return
            y = rng.random(t.shape)
            self.apply(lambda x: NF.binary_cross_entropy(x, y, reduction=red), [a], f"bce({red})", self._grad_mode(data))
        elif name in ("cross_entropy", "nll"):
            if t.ndim != 2:
                return
            classes = rng.integers(0, t.shape[1], t.shape[0])
            if name == "nll":
                self.apply(lambda x: NF.nll_loss(x.log_softmax(axis=1), classes, reduction=red), [a],
                           f"nll_loss({red})", self._grad_mode(data))
            else:
                smooth = data.draw(st.sampled_from([0.0, 0.1]), label="label_smoothing")
                self.apply(lambda x: NF.cross_entropy(x, classes, reduction=red, label_smoothing=smooth), [a],
                           f"cross_entropy({red}, {smooth})", self._grad_mode(data))
        else:  # embedding: the slot is the table
            if t.ndim != 2:
                return
            idx = rng.integers(0, t.shape[0], (3,))
            self.apply(lambda W: NF.embedding(idx, W), [a], f"embedding{idx.tolist()}", self._grad_mode(data))

    @precondition(lambda self: len(self.slots) < MAX_SLOTS)
    @rule(data=st.data())
    def detach(self, data):
        s = self.pick(data)
        if s is None:
            return
        d = self.slots[s].t.detach()
        assert d.is_leaf and not d.requires_grad and d.data is self.slots[s].t.data
        self._slot(d, self._version(("const", d.data.copy(order="K"))))
        note(f"detach slot {s} -> {len(self.slots) - 1}")

    @rule(data=st.data())
    def retain(self, data):
        s = self.pick(data, requires_grad=True, pred=lambda t: not t.is_leaf)
        if s is None or self.slots[s].retained is not None:
            return
        slot = self.slots[s]
        slot.t.retain_grad()
        slot.t.grad = None
        slot.retained = [slot.vid, None]   # the version it stands for, expected .grad
        note(f"retain_grad slot {s}")

    # ---- in-place ops ----------------------------------------------------------
    @rule(data=st.data())
    def inplace(self, data):
        if data.draw(st.integers(0, 4), label="target kind"):   # mostly: a consumed non-leaf
            s = self.pick(data, prefer=lambda sl: sl.consumed and not sl.t.is_leaf,
                          pred=lambda t: not t.is_leaf)
        else:
            s = self.pick(data)
        if s is None:
            return
        slot = self.slots[s]
        t = slot.t
        name = data.draw(st.sampled_from(["iadd", "isub", "imul", "idiv", "setitem", "setitem_rep",
                                          "setitem_mask", "copy_", "fill_"]), label="in-place")
        grad_on = self._grad_mode(data)
        # the other operand: a slot (reused: fan-out, or t itself) or a constant
        if name == "fill_":
            other_sid, other = None, 0.5
        else:
            cands = [b for b in self.usable() if _broadcasts(t.shape, self.slots[b].t.shape)]
            if name.startswith("setitem") and (t.ndim == 0 or t.shape[0] == 0):
                return
            grad_cands = [b for b in cands if self.slots[b].t.requires_grad]
            other_sid = data.draw(st.sampled_from(cands + [None]) if not grad_cands or data.draw(st.booleans())
                                  else st.sampled_from(grad_cands), label="operand")
            other = self.slots[other_sid].t if other_sid is not None else 0.75
        if name == "idiv" and not _far(other.data if isinstance(other, Tensor) else other, 0, 0.2):
            return
        if name.startswith("setitem"):
            idx = {"setitem": (slice(0, 1),), "setitem_rep": (np.array([0, -1, 0]),),
                   "setitem_mask": (np.arange(t.shape[0]) % 2 == 0,)}[name]
            # the value: a slice of the operand shaped for t[idx], or a number
            target = t.data[idx].shape
            if isinstance(other, Tensor):
                if other.ndim == 0 or other.shape[0] < 1:
                    return
                src = other[(np.arange(target[0]) % other.shape[0],)]
                if not _broadcasts_to(src.shape, target):
                    src = src.sum() if src.requires_grad or not grad_on else src.sum()
                value = src
            else:
                value = other
        recording = grad_on and (t.requires_grad or (isinstance(other, Tensor) and other.requires_grad))
        expect = None
        if grad_on and t.requires_grad and t.is_leaf:
            expect = (RuntimeError, "leaf")
        elif recording and t.data.base is not None and not _writes_through(t):
            expect = (RuntimeError, "view")
        elif recording and t.data.base is not None:
            # t = h[i] (basic index) of a base that may take a graph: the op writes through to
            # the base as a recorded setitem (PyTorch's CopySlices; tests/test_regressions.py).
            # The shape rule is numpy's and PyTorch's (h[i] += a (1, 1) operand raises for a
            # 0-d h[i]); the model here does not follow a write into another slot's memory.
            if name in ("iadd", "isub", "imul", "idiv") and isinstance(other, Tensor) and \
                    np.broadcast_shapes(t.shape, other.shape) != t.shape:
                expect = (ValueError, "shape")
            else:
                return
        elif not t.data.flags.writeable:
            expect = (ValueError, "read-only")
        elif name in ("iadd", "isub", "imul", "idiv") and isinstance(other, Tensor) and \
                np.broadcast_shapes(t.shape, other.shape) != t.shape:
            expect = (ValueError, "shape")
        elif name == "copy_" and isinstance(other, Tensor) and not _assignable(other.shape, t.shape):
            expect = (ValueError, "shape")
        before = t.data.copy()
        ctx_before = t.grad_fn

        def run(x):
            if name == "iadd":
                x += other
            elif name == "isub":
                x -= other
            elif name == "imul":
                x *= other
            elif name == "idiv":
                x /= other
            elif name == "copy_":
                x.copy_(other)
            elif name == "fill_":
                x.fill_(other)
            else:
                x[idx] = value
            return x

        if expect is not None:
            with tg.set_grad_enabled(grad_on), pytest.raises(expect[0], match=expect[1]):
                run(t)
            assert np.array_equal(t.data, before) and t.grad_fn is ctx_before
            return
        # aliases of t's memory see the new values without any graph: stop using them
        for k in self.usable():
            if k != s and np.may_share_memory(self.slots[k].t.data, t.data):
                self.slots[k].usable = False
                self.may_refuse = True
        if slot.funcsaved:
            self.may_refuse = True   # a Function saved t: its backward refuses the new value
        old_vid = slot.vid
        with tg.set_grad_enabled(grad_on):
            run(t)
        event(f"in-place {name} {'recorded' if recording else 'untracked'}")
        note(f"{name} on slot {s} with {'slot %s' % other_sid if other_sid is not None else other} "
             f"grad={grad_on} recorded={recording}")
        if recording:
            # the model: h' = op(h, v), the out-of-place op on the versions
            sids = [old_vid] + ([self.slots[other_sid].vid] if other_sid is not None else [])
            if name.startswith("setitem"):
                if isinstance(value, Tensor):
                    get = (lambda o: o[(np.arange(target[0]) % o.shape[0],)])
                    post = (lambda v: v.sum()) if value.ndim == 0 and self.slots[other_sid].t.ndim > 0 \
                        and not _broadcasts_to(get(self.slots[other_sid].t).shape, target) else (lambda v: v)
                    fn = (lambda h, o: setitem_op(h, idx, post(get(o))))
                else:
                    fn = (lambda h: setitem_op(h, idx, value))
            else:
                op = {"iadd": tg.add, "isub": tg.sub, "imul": tg.mul, "idiv": tg.div,
                      "copy_": lambda h, o: setitem_op(h, Ellipsis, o),
                      "fill_": lambda h, o: setitem_op(h, Ellipsis, o)}[name]
                # in place keeps h's dtype: h = (h op o) cast back to it
                fn = (lambda h, o: _as_dtype_of(op(h, o), h)) if other_sid is not None \
                    else (lambda h: _as_dtype_of(op(h, other), h))
            slot.vid = self._version(("op", fn, sids))
            assert t.requires_grad and not t.is_leaf
        else:
            self.may_refuse = True
            slot.vid = self._version(("delta", old_vid, before, t.data.copy()))
        if slot.retained is not None:
            slot.retained = None     # its .grad now belongs to the new version
        if not np.all(np.isfinite(t.data)) or np.max(np.abs(t.data), initial=0) > MAX_ABS:
            slot.usable = False

    @rule(data=st.data())
    def inplace_more(self, data):
        self.inplace(data)   # a second rule: in-place ops come up twice as often

    @rule(data=st.data())
    def optimizer_step(self, data):
        """An optimizer updates the leaves in place: an untracked write of each."""
        params = [self.slots[k].t for k, _ in self.leaves if self.slots[k].t.grad is not None
                  and self.slots[k].usable]
        if not params:
            return
        kind = data.draw(st.sampled_from(["SGD", "SGD momentum", "Adam", "RMSprop"]), label="optimizer")
        opt = {"SGD": lambda ps: tg.optim.SGD(ps, lr=0.01),
               "SGD momentum": lambda ps: tg.optim.SGD(ps, lr=0.01, momentum=0.9, nesterov=True),
               "Adam": lambda ps: tg.optim.Adam(ps, lr=0.01),
               "RMSprop": lambda ps: tg.optim.RMSprop(ps, lr=0.01)}[kind](params)
        before = {k: self.slots[k].t.data.copy() for k, _ in self.leaves}
        arrays = {k: self.slots[k].t.data for k, _ in self.leaves}
        grads = {k: None if self.slots[k].t.grad is None else self.slots[k].t.grad.data.copy() for k, _ in self.leaves}
        if any(sl.t.grad is not None and sl.t.grad.requires_grad for sl in self.slots):
            return  # a create_graph .grad: the update would be recorded into its graph
        opt.step()
        self.may_refuse = True   # a step counts as a write of every parameter with a grad (as PyTorch)
        event(f"optimizer step {kind}")
        note(f"{kind} step on {len(params)} leaves")
        for k, _ in self.leaves:
            sl = self.slots[k]
            assert sl.t.data is arrays[k]                       # in place, never reallocated
            g = sl.t.grad
            assert (g is None and grads[k] is None) or np.array_equal(g.data, grads[k])   # grads untouched
            if np.array_equal(sl.t.data, before[k]):
                continue
            for j in self.usable():                             # aliases see the new values
                if j != k and np.may_share_memory(self.slots[j].t.data, sl.t.data):
                    self.slots[j].usable = False
            self.may_refuse = True
            sl.vid = self._version(("delta", sl.vid, before[k], sl.t.data.copy()))
            if not np.all(np.isfinite(sl.t.data)):
                sl.usable = False

    # ---- documented errors -----------------------------------------------------
    @rule(data=st.data())
    def bad_call(self, data):
        s = self.pick(data)
        if s is None:
            return
        t = self.slots[s].t
        before = [(sl.t.data.copy(), sl.t.grad_fn) for sl in self.slots]
        grads = [None if sl.t.grad is None else sl.t.grad.data.copy() for sl in self.slots]
        kind = data.draw(st.sampled_from(["broadcast", "axis", "reshape", "index", "matmul", "concat",
                                          "no_grad_backward"]), label="bad call")
        if kind == "broadcast":
            bad = t.shape[:-1] + (t.shape[-1] + 1,) if t.ndim and t.shape[-1] > 1 else None
            if bad is None:
                return
            with pytest.raises(ValueError, match=r"add.*broadcast"):
                t + np.ones((2,) + bad if data.draw(st.booleans()) else bad)
        elif kind == "axis":
            with pytest.raises(ValueError, match="axis"):
                t.sum(axis=t.ndim)
        elif kind == "reshape":
            with pytest.raises(ValueError, match="reshape"):
                t.reshape(t.size + 1)
        elif kind == "index":
            if t.ndim == 0 or t.shape[0] == 0:
                return
            with pytest.raises(IndexError, match="getitem"):
                t[t.shape[0]]
        elif kind == "matmul":
            if t.ndim == 0:
                return
            with pytest.raises(ValueError, match="matmul"):
                t @ np.ones((t.shape[-1] + 1, 2))
        elif kind == "concat":
            if t.ndim == 0:
                return
            with pytest.raises(ValueError, match="concatenate"):
                tg.concatenate([t, np.ones(t.shape[:-1] + (1, 1))], axis=0)
        else:
            c = self.pick(data, requires_grad=False)
            if c is None:
                return
            with pytest.raises(RuntimeError, match="does not require grad"):
                self.slots[c].t.sum().backward()
        for sl, (d, fn), g in zip(self.slots, before, grads):
            assert np.array_equal(sl.t.data, d, equal_nan=True) and sl.t.grad_fn is fn
            assert (g is None and sl.t.grad is None) or np.array_equal(sl.t.grad.data, g)

    # ---- backward and its checks ------------------------------------------
    def _fd(self, roots, weights, wrt):
        """Central differences of sum(w * root) w.r.t. each version in ``wrt``."""
        out = []
        base = self.replay()
        for vid in wrt:
            shape = base[vid].shape
            g = np.zeros(shape)
            for j in np.ndindex(shape):
                e = np.zeros(shape)
                e[j] = EPS
                hi = self._loss_value(self.replay({vid: e}), roots, weights)
                lo = self._loss_value(self.replay({vid: -e}), roots, weights)
                g[j] = (hi - lo) / (2 * EPS)
            out.append(g)
        return out

    @staticmethod
    def _loss_value(vals, roots, weights):
        return float(sum(np.sum(w * vals[v].data.astype(np.float64)) for v, w in zip(roots, weights)))

    def _tolerance(self, fd, vals, roots, weights):
        scale = 1.0 + abs(self._loss_value(vals, roots, weights)) + max((np.max(np.abs(f), initial=0) for f in fd), default=0)
        low = any(self.slots[k].t.dtype != np.float64 for k, _ in self.leaves) or \
            any(sl.t.dtype != np.float64 for sl in self.slots)
        return (1e-2, 1e-2 * scale) if low else (1e-5, 1e-6 * scale)

    def _check_replay(self):
        """Replaying the model at the original point gives every live value (to the last bits)."""
        vals = self.replay(native=True)
        for k, sl in enumerate(self.slots):
            if sl.usable:
                want = vals[sl.vid].data
                got = sl.t.data
                # the same ops on the same values, in the same dtypes; only a constant
                # copied from a strided view (summed in another order) can move the
                # last bits (float32: a little more)
                tol = 1e-12 if got.dtype == np.float64 else 1e-5
                assert got.dtype == want.dtype, f"slot {k}: dtype {got.dtype}, the model gives {want.dtype}"
                assert np.allclose(got, want, rtol=tol, atol=tol, equal_nan=True), \
                    f"slot {k}: live value differs from the model"
        return vals

    @rule(data=st.data())
    def backward(self, data):
        roots_s = self.usable(requires_grad=True)
        if not roots_s:
            return
        chosen = data.draw(st.lists(st.sampled_from(roots_s), min_size=1, max_size=3, unique=True), label="roots")
        if roots_s[-1] not in chosen and data.draw(st.booleans(), label="with newest"):
            chosen.append(roots_s[-1])   # the newest value depends on the most
        vals = self._check_replay()
        roots = [self.slots[k].vid for k in chosen]
        rng = np.random.default_rng(len(self.versions))
        weights = [rng.standard_normal(self.slots[k].t.shape) for k in chosen]
        how = data.draw(st.sampled_from(["backward", "backward", "vjp", "grad", "grad_multi"]), label="how")
        retain = data.draw(st.booleans(), label="retain_graph")
        create = data.draw(st.sampled_from([False] * 4 + [True]), label="create_graph")
        leaf_ids = [k for k, _ in self.leaves]
        fd = self._fd(roots, weights, [v for _, v in self.leaves])
        retained = [(k, self.slots[k]) for k in range(len(self.slots))
                    if self.slots[k].retained is not None and self.slots[k].usable]
        fd_ret = self._fd(roots, weights, [sl.retained[0] for _, sl in retained]) if retained and how != "grad" and how != "grad_multi" else []
        rtol, atol = self._tolerance(fd, vals, roots, weights)
        grads_before = {k: (None if self.slots[k].t.grad is None else self.slots[k].t.grad.data.copy()) for k in leaf_ids}
        note(f"{how} from slots {chosen} retain={retain} create={create}")
        loss = None
        try:
            if how in ("backward", "vjp") and (how == "backward" or len(chosen) > 1):
                loss = sum(((Tensor(w.astype(self.slots[k].t.dtype)) * self.slots[k].t).sum()
                            for k, w in zip(chosen, weights)), Tensor(0.0))
                loss.backward(retain_graph=retain if not create else None, create_graph=create)
                result = None
            elif how == "vjp":
                root = self.slots[chosen[0]].t
                if root.size != 1:
                    with pytest.raises(RuntimeError, match="scalar"):
                        root.backward()
                with pytest.raises(RuntimeError, match="shape"):
                    root.backward(np.ones(root.shape + (2,)))
                loss = root
                root.backward(weights[0].astype(root.dtype), retain_graph=retain if not create else None,
                              create_graph=create)
                result = None
            else:
                wrt = [self.slots[k].t for k in leaf_ids]
                outs = [self.slots[k].t for k in chosen]
                gouts = [Tensor(w.astype(o.dtype)) for o, w in zip(outs, weights)]
                if how == "grad":
                    loss = sum(((g * o).sum() for g, o in zip(gouts, outs)), Tensor(0.0))
                    result = tg.grad(loss, wrt, retain_graph=retain if not create else None,
                                     create_graph=create, allow_unused=True)
                else:
                    loss = outs[0]
                    result = tg.grad(outs, wrt, grad_outputs=gouts, retain_graph=retain if not create else None,
                                     create_graph=create, allow_unused=True)
        except RuntimeError as err:
            if not (self.may_refuse and ("in-place" in str(err) or "rewrote" in str(err))):
                raise
            note(f"refused: {err}")
            event("backward refused (in-place conflict)")
            for k in leaf_ids:   # a refused backward changes no .grad
                g = self.slots[k].t.grad
                assert (g is None) == (grads_before[k] is None)
                assert g is None or np.array_equal(g.data, grads_before[k])
            self._after_free()
            return
        event(f"backward checked: {how}{' create_graph' if create else ''}")
        if create:
            self.graph_grads = True
        for (k, _), f in zip(self.leaves, fd):
            t = self.slots[k].t
            if result is not None:
                g = result[leaf_ids.index(k)]
                assert t.grad is None if grads_before[k] is None else np.array_equal(t.grad.data, grads_before[k])
                if g is None:
                    assert np.allclose(f, 0, atol=atol)
                    continue
                assert g.shape == t.shape and g.dtype == t.dtype
                assert np.allclose(g.data, f, rtol=rtol, atol=atol), (g.data, f)
                continue
            prev = grads_before[k]
            if t.grad is None:
                assert prev is None and np.allclose(f, 0, atol=atol), f
                continue
            assert t.grad.shape == t.shape and t.grad.dtype == t.dtype
            want = f if prev is None else prev + f
            assert np.allclose(t.grad.data, want, rtol=rtol, atol=atol), (t.grad.data, want)
        for (k, sl), f in zip(retained, fd_ret):
            if sl.t.grad is None:
                assert np.allclose(f, 0, atol=atol)
                continue
            prev = sl.retained[1]
            want = f if prev is None else prev + f
            assert sl.t.grad.shape == sl.t.shape
            assert np.allclose(sl.t.grad.data, want, rtol=rtol, atol=atol)
            sl.retained[1] = sl.t.grad.data.copy()
        frees = not retain and not create
        if frees:
            # the same call again must find the graph freed (if it had one)
            before = {k: (None if self.slots[k].t.grad is None else self.slots[k].t.grad.data.copy()) for k in leaf_ids}
            outs = [loss] if how != "grad_multi" else [self.slots[k].t for k in chosen]
            if any(o.grad_fn is not None for o in outs):
                with pytest.raises(RuntimeError, match="second time"):
                    if how in ("grad", "grad_multi"):
                        tg.grad(outs, [self.slots[k].t for k in leaf_ids], allow_unused=True,
                                grad_outputs=[Tensor(np.ones(o.shape, o.dtype)) for o in outs])
                    else:
                        loss.backward(None if loss.size == 1 else np.ones(loss.shape, loss.dtype))
            for k in leaf_ids:
                g = self.slots[k].t.grad
                assert (g is None) == (before[k] is None) and (g is None or np.array_equal(g.data, before[k]))
            self._after_free()

    def teardown(self):
        """Every program ends with a full check: backward from its newest values."""
        roots_s = self.usable(requires_grad=True)[-3:]
        if not roots_s:
            return
        vals = self._check_replay()
        roots = [self.slots[k].vid for k in roots_s]
        rng = np.random.default_rng(0)
        weights = [rng.standard_normal(self.slots[k].t.shape) for k in roots_s]
        fd = self._fd(roots, weights, [v for _, v in self.leaves])
        rtol, atol = self._tolerance(fd, vals, roots, weights)
        wrt = [self.slots[k].t for k, _ in self.leaves]
        loss = sum(((Tensor(w.astype(self.slots[k].t.dtype)) * self.slots[k].t).sum()
                    for k, w in zip(roots_s, weights)), Tensor(0.0))
        try:
            got = tg.grad(loss, wrt, allow_unused=True)
        except RuntimeError as err:
            if not (self.may_refuse and ("in-place" in str(err) or "rewrote" in str(err))):
                raise
            event("final check refused (in-place conflict)")
            return
        event("final check done")
        for g, f, t in zip(got, fd, wrt):
            if g is None:
                assert np.allclose(f, 0, atol=atol), f
            else:
                assert g.shape == t.shape and g.dtype == t.dtype
                assert np.allclose(g.data, f, rtol=rtol, atol=atol), (g.data, f)

    def _after_free(self):
        """Graphs may be freed now: keep using only leaves and constants."""
        for sl in self.slots:
            if sl.t.grad_fn is not None:
                sl.usable = False
        for sl in self.slots:
            sl.retained = None

    @rule(data=st.data())
    def hessian_vector(self, data):
        roots_s = self.usable(requires_grad=True)
        if not roots_s or len(self.versions) > 60:
            return
        k = data.draw(st.sampled_from(roots_s), label="root")
        lk, lvid = data.draw(st.sampled_from(self.leaves), label="leaf")
        leaf = self.slots[lk].t
        if leaf.dtype != np.float64 or leaf.size > 6:
            return
        self._check_replay()
        rng = np.random.default_rng(7)
        w = rng.standard_normal(self.slots[k].t.shape)
        v = rng.standard_normal(leaf.shape)
        root_vid = self.slots[k].vid
        note(f"hvp: root slot {k}, leaf slot {lk}")
        try:
            loss = (Tensor(w) * self.slots[k].t).sum()
            (g,) = tg.grad(loss, leaf, create_graph=True, allow_unused=True)
        except RuntimeError as err:
            if not (self.may_refuse and ("in-place" in str(err) or "rewrote" in str(err))):
                raise
            return

        def grad_at(perturb):
            vals = self.replay(perturb, grad=True)
            lossr = (Tensor(w) * vals[root_vid]).sum()
            if not lossr.requires_grad:
                return np.zeros(leaf.shape)
            (gr,) = tg.grad(lossr, vals[lvid], allow_unused=True)
            return np.zeros(leaf.shape) if gr is None else gr.data

        fd = np.zeros(leaf.shape)
        for j in np.ndindex(leaf.shape):
            e = np.zeros(leaf.shape)
            e[j] = EPS
            fd[j] = (np.sum(grad_at({lvid: e}) * v) - np.sum(grad_at({lvid: -e}) * v)) / (2 * EPS)
        scale = 1 + np.max(np.abs(fd), initial=0)
        if g is None or not g.requires_grad:
            assert np.allclose(fd, 0, atol=1e-4 * scale), fd
            return
        # retain_graph: g's graph contains the forward graph too, which this
        # call would otherwise free (as in PyTorch)
        (h,) = tg.grad((g * Tensor(v)).sum(), leaf, allow_unused=True, retain_graph=True)
        event("hvp checked")
        got = np.zeros(leaf.shape) if h is None else h.data
        assert np.allclose(got, fd, rtol=1e-4, atol=1e-5 * scale), (got, fd)

    @invariant()
    def grads_match_their_tensors(self):
        for sl in self.slots:
            assert type(sl.t.data) is np.ndarray
            g = sl.t.grad
            if g is not None:
                assert g.shape == sl.t.shape and g.dtype == sl.t.dtype
                assert type(g.data) is np.ndarray


def _as_dtype_of(r, h):
    return r if r.dtype == h.dtype else r.astype(h.dtype)


def _writes_through(t):
    """Whether an in-place op on the view ``t`` writes through to its base (inplace.py's
    rule): ``t`` was recorded as a basic index of a base that is not a leaf needing grad."""
    node = t._ctx
    if node is None or getattr(node.rule, "op", None) != "getitem" or not node.inputs:
        return False
    base = node.inputs[0]
    return isinstance(base, Tensor) and not (base.requires_grad and base.is_leaf) and \
        np.may_share_memory(base.data, t.data)


def _broadcasts(a, b):
    try:
        np.broadcast_shapes(a, b)
        return True
    except ValueError:
        return False


def _broadcasts_to(a, target):
    return _broadcasts(a, target) and np.broadcast_shapes(a, target) == tuple(target)


def _assignable(value, target):
    """numpy's assignment rule: ``np.empty(target)[...] = np.empty(value)`` works."""
    try:
        np.empty(target)[...] = np.zeros(value)
        return True
    except ValueError:
        return False


def _matmul_ok(a, b):
    try:
        np.matmul(np.zeros(a), np.zeros(b))
        return True
    except ValueError:
        return False


def _count(shape, axis):
    if axis is None:
        return int(np.prod(shape))
    axes = np.atleast_1d(axis) % max(len(shape), 1)
    return int(np.prod([shape[a] for a in axes]))


def _axes(nd):
    if nd == 0:
        return st.sampled_from([None, 0, -1, ()]) if False else st.just(None)
    single = st.integers(-nd, nd - 1)
    multi = st.lists(st.integers(0, nd - 1), min_size=1, max_size=nd, unique=True).map(tuple)
    return st.one_of(st.none(), single, multi)


def _reshapes(shape):
    n = int(np.prod(shape))
    opts = [(n,), (1, n), (n, 1), tuple(reversed(shape)), (-1,), shape + (1,)]
    if n % 2 == 0 and n > 2:
        opts.append((2, n // 2))
    if n == 1:
        opts.append(())
    return opts


@st.composite
def _index(draw, shape):
    n0 = shape[0]
    kind = draw(st.sampled_from(["int", "neg", "slice", "step", "none", "ellipsis", "array", "mask", "multi"]))
    if kind == "int":
        return draw(st.integers(0, n0 - 1))
    if kind == "neg":
        return -1
    if kind == "slice":
        a = draw(st.integers(0, n0 - 1))
        return slice(a, draw(st.integers(a + 1, n0)))
    if kind == "step":
        return slice(None, None, -1)
    if kind == "none":
        return (None, slice(None))
    if kind == "ellipsis":
        return (Ellipsis, 0) if len(shape) > 0 else Ellipsis
    if kind == "array":
        return np.array(draw(st.lists(st.integers(-n0, n0 - 1), min_size=1, max_size=4)))
    if kind == "mask":
        return np.array(draw(st.lists(st.booleans(), min_size=n0, max_size=n0)))
    if len(shape) >= 2:
        return (np.array([0, n0 - 1, 0]), slice(None, None, -1))
    return [0, 0]


GraphFuzz.TestCase.settings = settings(
    max_examples=EXAMPLES, stateful_step_count=STEPS, deadline=None, report_multiple_bugs=False,
    # the bounded run in the suite replays the same programs every time (CI stays reproducible);
    # a long campaign (TINYGRAD_EDU_FUZZ_EXAMPLES set) explores new ones
    derandomize="TINYGRAD_EDU_FUZZ_EXAMPLES" not in os.environ,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.data_too_large],
)
TestGraphFuzz = GraphFuzz.TestCase
