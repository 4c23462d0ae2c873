"""Tests of ecrm_lib.run.memory: freed memory goes back to the system after each notebook cell."""

from __future__ import annotations

import pyarrow as pa
import pytest

from ecrm_lib.run import memory


def test_release_returns_arrows_pool_to_the_system():
    pool = pa.default_memory_pool()
    big = pa.array(range(2_000_000), type=pa.int64())  # 16 MB from Arrow's pool
    assert pool.bytes_allocated() >= 16_000_000
    del big
    memory.release_unused_memory()  # runs glibc's malloc_trim and the pool's release without error
    assert pool.bytes_allocated() < 16_000_000


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
