"""The recorder: runs a function eagerly while logging every numpy call on traced arrays.

A recording is a list of ``Op`` (a numpy callable, its arguments with traced
arrays replaced by ``Slot`` references, the slots of its results) plus
reads (the state arrays the program takes at entry: inputs, parameters,
gradients), syncs (what ``.data``/``.grad`` bindings the program must set
before an optimizer step and at the end) and the template of the returned
value. ``codegen.py`` turns it into Python source.
"""
from __future__ import annotations

import numpy as np

from .._mode import mode
from .errors import TraceError
from .traced import _Traced
from .util import _caller, _fn_name, _view_at

__all__ = ["Slot", "Op", "Recorder"]


_NO_KEY = object()  # a group key read that was missing (KeyError, or .get's default)

class Slot:
    """A reference to the value of slot ``i`` in a recording (a template placeholder)."""

    __slots__ = ("i",)

    def __init__(self, i):
        self.i = i

    def __eq__(self, other):
        return type(other) is Slot and other.i == self.i

    def __hash__(self):
        return hash(("slot", self.i))

    def __repr__(self):
        return f"s{self.i}"


class Op:
    """One logged call. ``outs``: None, a slot number, or a tuple of slot numbers
    (a tuple/list result); ``scalar``: the outputs numpy returned as numpy scalars
    (made 0-d arrays, in the recording and in the replay); ``effect``: must run even
    if no result is used (writes, random draws, optimizer steps); ``err``: the
    floating-point error handling the engine set around the call (``np.errstate``
    items that differ from those at the start of the recording), for the replay to
    set too."""

    __slots__ = ("kind", "fn", "args", "kwargs", "outs", "scalar", "effect", "writes", "where",
                 "err")

    def __init__(self, kind, fn, args=(), kwargs=None, outs=None, scalar=(), effect=False, writes=()):
        self.kind, self.fn, self.args, self.kwargs = kind, fn, args, kwargs or {}
        self.outs, self.scalar, self.effect, self.writes = outs, scalar, effect, writes
        self.where = _caller()
        self.err = ()

    def derive(self, fn=None, args=None, kwargs=None, outs=None):
        """This call with another callable, arguments or results (a rewrite of it): the
        same place in the source and the same error handling."""
        new = Op(self.kind, self.fn if fn is None else fn, self.args if args is None else args,
                 self.kwargs if kwargs is None else kwargs, self.outs if outs is None else outs,
                 self.scalar, self.effect, self.writes)
        new.where, new.err = self.where, self.err
        return new

    def name(self):
        fn = self.fn
        if self.kind == "macro":
            return f"{type(fn).__name__}.step"
        return getattr(fn, "__qualname__", None) or getattr(fn, "__name__", None) or repr(fn)


# Functions that write into their first argument.
_MUTATE_FIRST = {np.copyto, np.put, np.place, np.putmask, np.fill_diagonal, np.put_along_axis}
_MUTATING_METHODS = {np.ndarray.__setitem__, np.ndarray.fill, np.ndarray.put, np.ndarray.sort,
                     np.ndarray.partition, np.ndarray.resize, np.ndarray.setfield, np.ndarray.byteswap}
# Functions whose result is metadata (shapes, dtypes): not logged, not a value read.
_STATIC = {np.shape, np.ndim, np.size, np.result_type, np.iscomplexobj, np.isrealobj,
           np.may_share_memory, np.shares_memory, np.min_scalar_type, np.can_cast}
# Functions whose result's shape depends on the values.
_DATA_SHAPED = {np.nonzero, np.flatnonzero, np.argwhere, np.unique, np.extract, np.compress,
                np.trim_zeros, np.setdiff1d, np.intersect1d, np.union1d, np.setxor1d}


class Recorder:
    """Logs one call of a jitted function. ``state``: the Tensors whose ``.data``
    and ``.grad`` the program reads and may rebind (inputs, parameters, buffers)."""

    def __init__(self, state, inputs):
        self.slots = []          # slot -> the traced array (kept alive: ids stay unique)
        self.by_plain = {}       # id(plain array behind a slot) -> slot
        self.ops = []
        self.reads = {}          # slot -> ("input", k) | ("data", tensor) | ("grad", tensor)
        self.group_reads = {}    # (id(group), key) -> (group, key, value at the first read)
        self.state = list(state)
        self.inputs = inputs
        self.restore = []        # (object, attribute, value) to put back at the end
        self.last_grad = {}
        self.closed = False
        self.graded = []         # tensors whose .grad backward set while recording (see finish)
        self.state_ids = {id(t) for t in self.state}
        self.born = set()        # ids of the Tensors made while recording (Tensor.__init__)
        self.fresh = set()       # slots holding arrays the program allocates (not views)
        self.inside = False      # running a logged call (numpy's own code): creation is plain

    # ---- slots ----------------------------------------------------------
    def _register(self, plain, pbase=None):
        t = plain.view(_Traced)
        t._tr = len(self.slots)
        t._pbase = pbase
        t._p = plain
        self.slots.append(t)
        self.by_plain[id(plain)] = t._tr
        return t

    def install(self, owner, attr, read):
        """Swap ``owner.attr`` (an ndarray) for a traced view, read by the program as ``read``."""
        plain = getattr(owner, attr)
        if isinstance(plain, _Traced):
            if plain._tr is not None and plain._tr < len(self.slots) and self.slots[plain._tr] is plain:
                return  # already installed (an input that is also captured)
            raise TraceError("a jitted function was called while another one is recording "
                             "(nested jit calls are not supported)")
        if not isinstance(plain, np.ndarray):
            return
        if id(plain) in self.by_plain:  # the same array held by two tensors: one slot
            t = self.slots[self.by_plain[id(plain)]]
        else:
            t = self._register(plain, plain.base)
            self.reads[t._tr] = read
        self.restore.append((owner, attr, plain))
        setattr(owner, attr, t)

    def start(self):
        for k, x in enumerate(self.inputs):
            self.install(x, "data", ("input", k))
        for t in self.state:
            self.install(t, "data", ("data", t))
            g = t._grad
            if g is not None:
                self.install(g, "data", ("grad", t))
            self.last_grad[t] = g
        self.entry_data = {t: t.data for t in self.state}
        self.base_err = np.geterr()

    def finish(self):
        """Give every object touched back plain arrays (also after an error)."""
        self.closed = True
        for t in self.state:
            d = t.data
            if isinstance(d, _Traced) and hasattr(d, "_p"):
                t.data = d._p
            g = t._grad
            if g is not None and isinstance(g.data, _Traced) and hasattr(g.data, "_p"):
                g.data = g.data._p
        # (note_grad refuses a tensor outside the captured state; kept for safety: a
        # traced .grad left on a tensor gets a plain array back)
        for t in self.graded:
            g = t._grad
            if g is not None and isinstance(g.data, _Traced):
                g.data = g.data._p if hasattr(g.data, "_p") else g.data.view(np.ndarray)
        for owner, attr, plain in reversed(self.restore):
            cur = getattr(owner, attr)
            if isinstance(cur, _Traced) and cur._p is plain:
                setattr(owner, attr, plain)

    def note_grad(self, t):
        """``backward`` is about to add into ``t.grad`` (autograd._accumulate_grad).

        Only the state's ``.grad`` (inputs, the tensors found in the scope) are set by a
        replay: a gradient reaching any other tensor would be given by the eager calls
        and silently not by the replays, so it is refused here, before it is set."""
        d = t.data
        if id(t) not in self.state_ids and id(t) not in self.born and not isinstance(d, _Traced) \
                and id(d) not in self.by_plain:
            # (a leaf made inside the call, a layer built in the step, is remade by each call
            # and its .grad seen by no one: the eager calls and the replays agree)
            raise TraceError(
                f"backward() inside a jitted function reached a tensor {tuple(t.shape)} that "
                "existed before the call but is neither an input nor found in the function's "
                "scope: a replay could not give it its gradient. Typical causes: a model "
                "passed as an argument (keep the model and optimizer in the enclosing scope, "
                "pass only the batch), an input computed from tensors that require grad "
                "outside the function (pass x.detach(), or compute x inside)")
        self.graded.append(t)

    # ---- templates --------------------------------------------------------
    def slot_of(self, x, where):
        if isinstance(x, _Traced):
            if x._tr is None or getattr(x, "_p", None) is None or x._tr >= len(self.slots) \
                    or self.slots[x._tr] is not x:
                raise TraceError(f"{where} (at {_caller()}): an array derived from a traced value by a route the "
                                 "recorder does not log (as_strided, .flat, a view numpy made "
                                 "internally, or an array from another recording)")
            return x._tr
        i = self.by_plain.get(id(x))
        if i is not None:
            return i
        b = x.base
        while b is not None:
            if isinstance(b, _Traced) or id(b) in self.by_plain:
                # A plain view of a recorded array (np.asarray of a traced array, a
                # reshape of a buffer the program writes): the replay makes the same view.
                return self._alias(x, b, where)
            b = getattr(b, "base", None)
        return None

    def _alias(self, x, owner, where):
        j = self.slot_of(owner, where)
        if x.dtype != owner.dtype:
            raise TraceError(f"{where}: a view with another dtype ({x.dtype}) of a traced "
                             f"{owner.dtype} array is not supported inside a jitted function")
        off = x.ctypes.data - owner.ctypes.data
        i = len(self.slots)
        self.slots.append(x)
        self.by_plain[id(x)] = i
        self.ops.append(Op("call", _view_at, (Slot(j), off // x.itemsize, x.shape, x.strides),
                           {}, outs=i))
        return i

    def template(self, x, where):
        if isinstance(x, np.ndarray):
            i = self.slot_of(x, where)
            return Slot(i) if i is not None else x
        t = type(x)
        if t is tuple or t is list:
            return t(self.template(v, where) for v in x)
        if t is dict:
            return {k: self.template(v, where) for k, v in x.items()}
        return x

    def adopt(self, plain, where):
        """A plain array that a logged call writes into: from now on it is a slot,
        made at replay as a fresh copy of its value before the write."""
        if isinstance(plain, _Traced) or id(plain) in self.by_plain:
            return
        if self.slot_of(plain, where) is not None:  # a view of a recorded array
            return
        owner = plain
        while isinstance(owner.base, np.ndarray):
            owner = owner.base
        if owner is not plain:  # write through a view of a plain buffer: the buffer is the slot
            self.adopt(owner, where)
            self._alias(plain, owner, where)
            return
        snap = plain.copy(order="K")  # the same layout: BLAS may sum in another order otherwise
        i = len(self.slots)
        self.slots.append(plain)
        self.by_plain[id(plain)] = i
        self.fresh.add(i)
        with np.errstate(all="ignore"):
            nonzero = snap.any()
        if nonzero:
            self.ops.append(Op("call", np.ndarray.copy, (snap, "K"), {}, outs=i))
        else:
            self.ops.append(Op("call", np.zeros_like, (snap,), {}, outs=i))

    # ---- logging ------------------------------------------------------------
    def call(self, fn, args, kwargs, ufunc_method=None):
        where = _fn_name(fn)
        if fn in _STATIC:
            return fn(*self.plain(args), **self.plain(kwargs))
        if fn in _DATA_SHAPED:
            raise TraceError(f"{where} inside a jitted function: its result's shape depends on "
                             "the values, which a recorded program cannot follow")
        if fn is np.ndarray.__getitem__:
            self._check_index(args[1], where)
        targets = []
        if ufunc_method == "at" or fn in _MUTATE_FIRST or fn in _MUTATING_METHODS:
            targets.append(args[0])
        out = kwargs.get("out")
        if out is not None:
            targets += list(out) if type(out) is tuple else [out]
        for t in targets:
            if isinstance(t, np.ndarray):
                self.adopt(t, where)
        targs = self.template(args, where)
        tkw = self.template(kwargs, where)
        self.inside = True
        try:
            result = fn(*self.plain(args), **self.plain(kwargs))
        finally:
            self.inside = False
        writes = tuple(self.slot_of(t, where) for t in targets if isinstance(t, np.ndarray))
        wrapped, outs, scalar = self._wrap(result, where)
        op = Op("call", fn, targs, tkw, outs, scalar, effect=bool(writes), writes=writes)
        err = np.geterr()
        if err != self.base_err:  # inside the engine's np.errstate (erf's, a loss's log(0)...)
            op.err = tuple(sorted((k, v) for k, v in err.items() if self.base_err[k] != v))
        self.ops.append(op)
        return wrapped

    def create(self, fn, args, kwargs):
        """``np.empty``/``zeros``/``ones``/``full`` while recording: a slot the replay makes
        afresh with the same call."""
        result = fn(*args, **kwargs)
        if not isinstance(result, np.ndarray):
            return result
        wrapped, outs, scalar = self._wrap(result, fn.__name__)
        self.ops.append(Op("call", fn, self.template(args, fn.__name__),
                           self.template(kwargs, fn.__name__), outs, scalar))
        return wrapped

    def draw(self, method, args, kwargs):
        """A random draw: the replay calls the same generator method again."""
        self.inside = True
        try:
            result = method(*args, **kwargs)
        finally:
            self.inside = False
        wrapped, outs, scalar = self._wrap(result, _fn_name(method))
        self.ops.append(Op("draw", method, self.template(args, "draw"),
                           self.template(kwargs, "draw"), outs, scalar, effect=True))
        return wrapped

    def _check_index(self, idx, where):
        for k in (idx if type(idx) is tuple else (idx,)):
            if isinstance(k, _Traced) and k.dtype == np.bool_:
                raise TraceError(f"{where}: indexing with a traced boolean mask inside a jitted "
                                 "function: the result's shape depends on the values. Use "
                                 "where() or multiply by the mask instead")

    def plain(self, x):
        if isinstance(x, _Traced):
            p = getattr(x, "_p", None)
            return p if p is not None else np.ndarray.view(x, np.ndarray)
        t = type(x)
        if t is tuple or t is list:
            return t(self.plain(v) for v in x)
        if t is dict:
            return {k: self.plain(v) for k, v in x.items()}
        return x

    def _wrap_one(self, r, where):
        if isinstance(r, np.ndarray):
            i = self.by_plain.get(id(r))
            if i is not None:  # numpy gave back an array it was given (out=, copy=False)
                s = self.slots[i]
                return (s if isinstance(s, _Traced) else r), i, False
            t = self._register(r, r.base)
            if r.base is None:
                self.fresh.add(t._tr)
            return t, t._tr, False
        if isinstance(r, np.generic):
            t = self._register(np.asarray(r))
            return t, t._tr, True
        if r is None:
            return None, None, False
        raise TraceError(f"{where} returned a Python {type(r).__name__} computed from traced "
                         "values inside a jitted function: its value cannot be recorded. Keep it "
                         "as an array (a tensor op) or compute it outside")

    def _wrap(self, result, where):
        if type(result) in (tuple, list) or (isinstance(result, tuple) and hasattr(result, "_fields")):
            items = [self._wrap_one(r, where) for r in result]
            wrapped = [w for w, _, _ in items]
            outs = tuple(i for _, i, _ in items)
            scalar = tuple(k for k, (_, _, s) in enumerate(items) if s)
            if type(result) is list:
                return wrapped, outs, scalar
            if type(result) is tuple:
                return tuple(wrapped), outs, scalar
            return type(result)(*wrapped), outs, scalar
        w, i, s = self._wrap_one(result, where)
        return w, i, ((0,) if s else ())

    def guard(self, x):
        """An engine decision on a traced value: logged with the value it had."""
        if not isinstance(x, np.ndarray):
            return bool(x)
        i = self.slot_of(x, "a guarded decision")
        if i is None:
            return bool(x)
        value = bool(self.plain(x))
        self.ops.append(Op("guard", None, (Slot(i),), {"expected": value}, effect=True))
        return value

    # ---- macros and syncs ---------------------------------------------------
    def sync(self):
        """Log the ``.data``/``.grad`` bindings that changed since the last sync."""
        for t in self.state:
            d = t.data
            if d is not self.entry_data[t]:
                i = self.slot_of(d, "rebinding .data")
                if i is None:
                    raise TraceError("a tensor's .data was set to an array not computed from "
                                     "traced values inside a jitted function")
                self.ops.append(Op("setdata", t, (Slot(i),), effect=True))
                self.entry_data[t] = d
            g = t._grad
            if g is not self.last_grad[t]:
                if g is None:
                    self.ops.append(Op("setgrad", t, (None,), effect=True))
                else:
                    i = self.slot_of(g.data, "setting .grad")
                    if i is None:
                        raise TraceError("a .grad was set to an array not computed from traced "
                                         "values inside a jitted function")
                    self.ops.append(Op("setgrad", t, (Slot(i),), effect=True))
                self.last_grad[t] = g

    def read_group(self, group, key):
        """``group[key]`` read by the traced function (optim.ParamGroup): the program may
        hold the value as a constant, so it is part of what a replay checks."""
        if (id(group), key) not in self.group_reads:
            self.group_reads[(id(group), key)] = (group, key, dict.get(group, key, _NO_KEY))

    def optimizer_step(self, opt, body, args, kwargs, step=None):
        """``opt.step()`` while recording: logged as one macro call (the replay
        runs the real step, reading hyperparameters then), run here on plain arrays."""
        if args or kwargs:
            raise TraceError(f"{type(opt).__name__}.step(closure) inside a jitted function is "
                             "not supported: call the closure's body in the function instead")
        known = {id(t) for t in self.state}
        for group in opt.param_groups:
            for p in group["params"]:
                if id(p) not in known:
                    raise TraceError(
                        f"{type(opt).__name__}.step inside a jitted function: the optimizer's "
                        "parameters were not found among the captured objects. The jit finds the "
                        "model and optimizer in the step's enclosing scope (closure, globals, self), "
                        "not in its arguments: define train_step(x, y) using them from outside, "
                        "and pass only the batch")
        self.sync()
        # (with the step function intercepted here: the replay calls it, not opt.step, which
        # may be a wrapper set on the instance whose own work the recording logged)
        self.ops.append(Op("macro", opt, (step,) if step is not None else (), effect=True))
        swapped = []
        for t in self.state:
            for owner in (t, t._grad):
                if owner is not None and isinstance(owner.data, _Traced):
                    cur = owner.data
                    swapped.append((owner, cur, cur._p))
                    owner.data = cur._p
        mode.tracing = None
        try:
            result = body()
        finally:
            mode.tracing = self
            for owner, cur, plain in swapped:
                if owner.data is not plain:
                    raise TraceError(f"{type(opt).__name__}.step replaced a tensor's .data "
                                     "instead of updating it in place: it cannot be recorded")
                owner.data = cur
        return result
