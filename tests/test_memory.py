"""Tests of ecrm_lib.run.memory: freed memory goes back to the system after each notebook cell."""

from __future__ import annotations

import os
import sys

import pyarrow as pa
import pyarrow.compute  # noqa: F401  (pa.compute)
import pytest

from ecrm_lib.run import memory


def _rss_mib() -> int:
    with open("/proc/self/status") as fh:
        return next(int(line.split()[1]) // 1024 for line in fh if line.startswith("VmRSS"))


@pytest.mark.skipif(memory._malloc_trim() is None or not sys.platform.startswith("linux") or "malloc" in os.environ.get("LD_PRELOAD", ""),
                    reason="glibc's allocator on Linux only (not with another malloc preloaded)")
def test_release_gives_freed_heap_memory_back_and_keeps_what_is_in_use():
    pool = pa.default_memory_pool()
    kept = pa.array(range(1_000_000), type=pa.int64())
    in_use = pool.bytes_allocated()
    chunks = [bytes(1000) + i.to_bytes(4, "little") for i in range(200_000)]  # about 200 MB of heap chunks
    last = chunks[-1]  # the heap's top stays in use: glibc cannot give back the freed chunks below it by itself
    del chunks
    held = _rss_mib()
    memory.release_unused_memory()
    assert held - _rss_mib() >= 100  # the freed pages went back to the system
    assert last.endswith((199_999).to_bytes(4, "little"))
    assert pool.bytes_allocated() == in_use and pa.compute.sum(kept).as_py() == 999_999 * 1_000_000 // 2


def test_each_cell_of_a_kernel_ends_with_a_release(monkeypatch):
    shell_mod = pytest.importorskip("IPython.core.interactiveshell")
    shell = shell_mod.InteractiveShell.instance()
    calls = []
    monkeypatch.setattr(memory, "release_unused_memory", lambda: calls.append(1))
    try:
        assert memory.release_after_each_cell() and memory.release_after_each_cell()  # registered once
        shell.run_cell("x = 1")
        shell.run_cell("y = 2")
        assert calls == [1, 1]
    finally:
        shell.events.unregister("post_run_cell", memory._after_cell)
        shell_mod.InteractiveShell.clear_instance()


def test_outside_ipython_nothing_is_registered(monkeypatch):
    IPython = pytest.importorskip("IPython")
    monkeypatch.setattr(IPython, "get_ipython", lambda: None)  # as in a plain Python process (a script, a test worker)
    assert memory.release_after_each_cell() is False
