"""``tinygrad_edu.jit``: record a training step once, replay it as a flat program of numpy calls.

Design (as built; the docs chapter "Recording and replaying a step" teaches it):

* **What is recorded: numpy calls.** While a call records, the ``.data`` of
  every input tensor and of every tensor the function reaches from its scope
  (closure cells, globals it names, ``self``: modules' parameters and buffers,
  optimizers' parameters, plain tensors; ``capture.py``), and of their
  ``.grad``, is swapped for a ``_Traced`` view of the same memory
  (``traced.py``). numpy dispatches every ufunc and array function on such
  an array to the recorder, and the ndarray methods that do not dispatch are
  overridden; the recorder (``recorder.py``) runs each call on plain arrays,
  logs it (callable, arguments with traced arrays as slot references,
  constants by value) and wraps the results. So the forward ops, the
  backward rules run by ``backward()`` and anything else are recorded alike.
  Random draws of the library (Dropout, ``rand``/``randn``) go through
  ``nn._rng.draw``, logged as a call of the same generator method: the
  replay advances the generator exactly as eager does.
* **Optimizer steps are macros.** ``opt.step()`` is logged as one call: the
  replay first sets each ``.grad`` to the replayed gradient, then runs the
  real ``step()``, which reads ``lr``, ``weight_decay``... from
  ``param_groups`` at that moment (schedulers work) and keeps its state
  (Adam's step count) as eager does. Plain SGD is written out instead
  (``sgd_step.py``): the same ``np.subtract(p.data, lr * g, ...)`` per
  parameter with ``lr`` read from ``param_groups`` on each replay (``g``
  itself when ``lr`` is 1, as ``SGD.step``), behind a replay-time test that
  momentum and weight decay are still off (else the real step runs).
* **Buffers and views.** While recording, the engine's own ``np.empty``/
  ``zeros``/``ones``/``full`` calls (those made from ``tinygrad_edu`` code;
  ``creators.py``) return traced slots, made afresh by the replay with the same call; a plain
  array that a logged call writes into is adopted (the replay starts from a
  copy of its value before the write); a plain view of a recorded array
  (``np.asarray(traced)``, a reshape of an adopted buffer) is remade at replay
  at the same offset and strides (``recorder._view_at``). ``as_strided`` is
  logged through ``traced.as_strided``.
* **Engine decisions on values** (label range checks, the ``ignore_index``
  path, maximum's tie test, masked softmax) go through ``_mode.guard(x)``: recorded as a guard line that the
  replay rechecks; if it fails before the program changed any state, that call
  runs eagerly (exact); after, TraceError. Cross-entropy's two range guards on
  integer labels are replayed as one (``rewrites.merge_range_guards``), and its
  ignore_index guard, then implied, is dropped. Branches whose two sides give the
  same bits are taken branch-free while recording (max-pool's NaN-aware path,
  softmax's shift, ``clip_grad_norm_``'s multiply by 1).
* **Replay** (``codegen.py``): the log becomes the source of one Python
  function, one line per call (``JitFunction.program``), executed with the
  call's input tensors. Calls whose results are unused and that write nothing
  are dropped; calls that depend on no input or state are folded into
  constants (only when every later use is a plain ufunc input, so a shared
  constant is never written or seen). Exact rewrites (``rewrites.peephole``):
  a call numpy answered with its own argument (``astype(copy=False)``) is
  dropped; an equal fresh call with nothing written in between and no result
  escaping is merged with the earlier one (common subexpressions). Each
  replayed call is the very numpy call the eager step made on the same
  values, so parameters, ``.grad``, optimizer state and returned tensors are
  bit-identical to eager. Calls are spelled as cheaply as the same bits
  allow: Python numbers of ufunc calls as 0-d arrays converted once
  (``numbers.py``), scalar arithmetic by the scalars' operators and full
  reductions by position (``callforms.py``), small intermediate results
  written into buffers allocated once, one thread at a time
  (``buffers.py``). No Tensor or Node is
  created except the ``.grad`` tensors and the returned tensors (fresh each
  call, never aliasing a buffer the next call overwrites); ``backward()`` on a
  returned tensor raises (the replay keeps no graph).
* **Signatures** (``function.py``; arguments and results as templates in
  ``arguments.py``): key = argument structure (shapes, dtypes,
  requires_grad of tensor and array arguments; other arguments by value),
  grad mode, ``training`` of each module found, the identities, shapes,
  dtypes and requires_grad of the captured tensors, the modules and
  optimizers found and which parameters each optimizer holds, the Python
  values the function can see (numbers and tuples of them by type and bits;
  functions and other objects, a module's ``self.act`` too, by identity:
  ``capture.objects_key``). Discovery is redone only when an identity
  fingerprint of the containers it looked into (closure cells, named
  globals, modules' parameter/buffer/submodule dicts and their other
  attributes, optimizers' group lists, each group's ``params`` entry, an
  instance's ``step``/``zero_grad``) changes. Hyperparameters the function
  reads from a parameter group itself (``optim.ParamGroup`` tells the
  recording) are checked at replay; a change records again. Values a module the code names holds (``config.SCALE``) are keyed too;
  arguments that lead to tensors (a module, an object holding them) are
  refused. ``@jit`` on a method makes one
  JitFunction per instance (found through ``self``).
  A new key records again; at most ``max_cache`` keys are kept (least
  recently used evicted). Calls 1 and 2 of a key record; the recordings must
  be the same program with equal constants (``compare.py``) or TraceError
  names the first call that differs. If they differ only because some
  ``.grad`` was None at entry in one call and not the other (no
  ``zero_grad`` in the function: backward then accumulates), call 3 records
  again and the program is kept with that None-pattern as a guard. The
  None-pattern of the two agreeing recordings is a guard wherever they
  agree (a ``.grad`` None in both was never seen set).
  A call with the last replayed signature is checked and replayed by one
  generated function (``fastcheck.py``: the key's conditions, the other
  containers compared by identity, and one counter of module structure
  changes, ``nn.module.STRUCTURE``, for all the modules) instead of
  rebuilding the key. Python numbers in the key compare by type and bits.
* **Not supported** (TraceError, or documented): ops on plain copies of traced
  values made outside numpy's dispatch (caught when the two recordings differ,
  not before); Python state a step keeps on objects between calls (an RNN
  hidden state stored on a module: pass it as an argument); ``step(closure)``;
  nested jit; data-dependent shapes.
* **Hazards raise TraceError at record time**: value reads on traced arrays
  or tensors (``bool``, ``float``, ``int``, ``.item()``, ``.tolist()``,
  ``.numpy()``, ``np.asarray(t)``, printing), data-dependent shapes (boolean
  masks, ``nonzero``), ``create_graph=True``, hooks, ``retain_grad``,
  ``step(closure)``, nested jit, a plain view of a traced array reaching
  numpy, a value that differs between the two recordings.
"""
from __future__ import annotations

from .errors import TraceError

__all__ = ["jit", "JitFunction", "TraceError", "CacheInfo"]


def __getattr__(name):
    # Lazy: the engine imports ``_jit.traced`` while the package is still loading.
    if name in ("jit", "JitFunction", "CacheInfo"):
        from . import function

        return getattr(function, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
