"""Pin BLAS (and PyTorch) to one thread, so that ratios are stable on small machines.

With two cores, a multi-threaded BLAS competes with the Python thread and
with whatever else runs, and large matrix products would be compared at
varying parallelism. threadpoolctl limits a BLAS that is already loaded;
without it the only lever is the environment variables that OpenBLAS, MKL
and OpenMP read when they load, so :func:`before_numpy` must run before
numpy is first imported. This module therefore imports no numpy at the top.
"""
from __future__ import annotations

import os

_ENV_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
             "BLIS_NUM_THREADS", "VECLIB_MAXIMUM_THREADS")

_limits = None  # keeps the threadpoolctl limiter alive for the whole run


def have_threadpoolctl() -> bool:
    """True when threadpoolctl can be imported."""
    try:
        import threadpoolctl  # noqa: F401
    except ImportError:
        return False
    return True


def before_numpy() -> str | None:
    """Call before importing numpy. Without threadpoolctl, set the thread env vars to 1.

    Returns a note to print when falling back to the environment variables
    (whose effect cannot be verified), else None.
    """
    if have_threadpoolctl():
        return None
    for name in _ENV_VARS:
        os.environ[name] = "1"
    return ("threadpoolctl is not installed: BLAS was pinned by setting "
            + "/".join(_ENV_VARS[:3]) + "=1 before importing numpy (unverified; "
            "`pip install threadpoolctl` to pin and report the BLAS for sure)")


def after_imports(torch=None) -> list[dict] | None:
    """Limit every loaded thread pool (BLAS, OpenMP) to one thread, and PyTorch's own.

    Call after numpy (and torch, if used) are imported: threadpoolctl only
    sees libraries that are loaded. Returns threadpoolctl's description of
    the pools after limiting, or None without threadpoolctl.
    """
    global _limits
    if torch is not None:
        torch.set_num_threads(1)
        try:
            torch.set_num_interop_threads(1)
        except RuntimeError:  # only allowed before torch's first parallel work
            pass
    if not have_threadpoolctl():
        return None
    from threadpoolctl import threadpool_info, threadpool_limits

    _limits = threadpool_limits(limits=1)
    return threadpool_info()
