"""W5: peak memory of one W3 training step, each contender in a fresh process.

Measured with ``tracemalloc``: numpy reports its array allocations to it,
so its peak is the most memory (arrays and Python objects) the step had
allocated at once, on top of what existed before the step (the model and
the data). A fresh process per contender keeps one contender's caches and
garbage out of another's figure. The step measured is the first step of a
freshly built model, after a throw-away model has taken one step, so that
lazy imports and first-call caches are not counted.

PyTorch allocates its tensors outside Python's allocator, where tracemalloc
cannot see them, so it has no W5 figure.
"""
from __future__ import annotations

import gc
import json
import subprocess
import sys
import tracemalloc

from . import mlp
from .harness import to_float

NAME = "W5 peak memory of one W3 training step (tracemalloc, fresh process each)"
CHILD_FLAG = "--w5-child"

_TRAINERS = {"numpy": mlp.numpy_by_hand, "tinygrad_edu": mlp.tinygrad_edu_mlp}
CONTENDERS = tuple(_TRAINERS)


def child_main(name):
    """In the child process: print ``{"peak": bytes, "loss": float}`` for one W3 step of ``name``."""
    problem = mlp.make_problem(mlp.W3["sizes"], mlp.W3["batch"])
    make = _TRAINERS[name]
    make(problem).step()  # warm-up on a throw-away model
    gc.collect()
    trainer = make(problem)
    gc.collect()
    tracemalloc.start()
    loss = trainer.step()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    print(json.dumps({"peak": peak, "loss": to_float(loss)}))


def measure(name, script):
    """Run ``script`` (run.py) as a child measuring contender ``name``; returns its JSON dict."""
    proc = subprocess.run([sys.executable, script, CHILD_FLAG, name], capture_output=True,
                          text=True, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"W5 child for {name} failed:\n{proc.stderr.strip()}")
    return json.loads(proc.stdout.strip().splitlines()[-1])
