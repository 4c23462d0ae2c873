"""Give memory a notebook has let go back to the operating system after each cell.

A notebook at ten million customers builds and drops frames of several GB. Freed memory does not
leave the process by itself: glibc's allocator keeps freed chunks of its heaps for later allocations,
and pyarrow's allocator (mimalloc) keeps freed pages in its pool. Measured on the selection notebook at
one million customers (``benchmarks/memcells.py``, the kernel's ``VmRSS`` after each cell): 1,714 MiB held
at the end without a release, 1,392 MiB with one after each cell; one release there took 12 ms and gave
back 290 MiB.

DuckDB's own allocator (jemalloc) returns its pages by itself: :func:`ecrm_lib.data.engine.connect` starts its
background threads. :func:`release_unused_memory` returns the other two (glibc's ``malloc_trim(0)``, Arrow's ``release_unused``);
:func:`release_after_each_cell` has IPython call it after every cell of a kernel. The runner's
:class:`~ecrm_lib.run.context.RunContext` registers it when a notebook opens its run. Lowering
glibc's trim threshold instead (``MALLOC_TRIM_THRESHOLD_``, as Dask does for its workers) returned
as much but made the selection's profit step, which allocates many small arrays, twice as slow (26 -> 50 s
at one million customers).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools

__all__ = ["release_after_each_cell", "release_unused_memory"]


@functools.cache
def _malloc_trim():
    """glibc's ``malloc_trim``, or None where the C library has none (musl, macOS, Windows)."""
    name = ctypes.util.find_library("c")
    try:
        return ctypes.CDLL(name).malloc_trim if name else None
    except (OSError, AttributeError):
        return None


def release_unused_memory() -> None:
    """Return freed memory of glibc's heaps and of pyarrow's default pool to the operating system.

    Nothing that is still in use is touched; where the C library has no ``malloc_trim`` only Arrow's
    pool is released.
    """
    trim = _malloc_trim()
    if trim is not None:
        trim(0)
    try:
        import pyarrow as pa
    except ImportError:  # pragma: no cover - pyarrow is a core dependency
        return
    pa.default_memory_pool().release_unused()


def _after_cell(result=None) -> None:
    release_unused_memory()


def release_after_each_cell() -> bool:
    """Have the running IPython kernel call :func:`release_unused_memory` after every cell.

    Registered once per kernel; does nothing outside IPython.

    Returns
    -------
    bool
        True when the call is registered (now or before).
    """
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - ipykernel brings IPython
        return False
    shell = get_ipython()
    if shell is None:
        return False
    callbacks = shell.events.callbacks.get("post_run_cell", [])
    if _after_cell not in callbacks:
        shell.events.register("post_run_cell", _after_cell)
    return True
