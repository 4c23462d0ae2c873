"""The notebooks' Jupyter kernels: how one is started, and starting one early.

A notebook's kernel costs about 3 s before its first cell does any work on a quiet machine: the
process starts, then the notebook imports pandas, matplotlib, seaborn, scipy, Ibis and the library.
On the suite's critical path (loading, channel integration, customer value, churn, selection,
evaluation or expansion, summary) that is paid six times in a row. :class:`EarlyKernel` starts the
kernel of a notebook whose upstreams are still running, on a core that would otherwise wait, and
has it import the modules the notebook imports (:func:`notebook_modules`, by name only: nothing is
bound in the notebook's namespace, so a notebook that forgot an import still fails as it would by
hand); when the upstreams are done the notebook runs in that kernel.

The kernel imports them as it starts, before it answers (IPython's ``exec_lines`` calls
:func:`warm_imports` with the list in ``$ECRM_WARM_IMPORTS``); a module that fails to import is
left to the notebook, which then reports the error in its own cell.
"""

from __future__ import annotations

import ast
import json
import os
import threading
import uuid
from pathlib import Path
from typing import Any

__all__ = ["kernel_manager_class", "notebook_modules", "peak_memory_mb", "start_kernel", "stop_kernel", "warm_imports",
           "EarlyKernel", "WARM_ENV"]

#: Environment variable with the comma-separated modules a kernel imports as it starts.
WARM_ENV = "ECRM_WARM_IMPORTS"
#: The IPython line the kernel runs as it starts (an expression that returns None: it shows nothing and binds
#: nothing in the user's namespace).
_WARM_LINE = "__import__('ecrm_lib.run.kernels', fromlist=['warm_imports']).warm_imports()"


def warm_imports(modules: str | None = None) -> None:
    """Import ``modules`` (comma-separated; default ``$ECRM_WARM_IMPORTS``), each on its own; run inside a
    kernel as it starts. A module that fails to import is skipped: the notebook's own import reports it."""
    import importlib

    for name in (modules if modules is not None else os.environ.get(WARM_ENV, "")).split(","):
        if name.strip():
            try:
                importlib.import_module(name.strip())
            except Exception:  # noqa: BLE001 - the notebook's cell will raise it where the user sees it
                pass


def notebook_modules(path: Path) -> list[str]:
    """The modules a notebook's code cells import, by name, in order of first use.

    ``from a.b import c`` gives ``a.b`` and, when ``c`` is a sub-module, ``a.b.c`` (unknown until
    imported: both are listed, a name that is not a module is skipped by :func:`warm_imports`). Cells
    that do not parse (a magic) are skipped.

    >>> import json, tempfile
    >>> nb = {"cells": [{"cell_type": "code", "source": "import pandas as pd\\nfrom ecrm_lib.seef import rfm, loop\\nx = 1"},
    ...                 {"cell_type": "markdown", "source": "import nothing"}]}
    >>> p = Path(tempfile.mkdtemp()) / "n.ipynb"; _ = p.write_text(json.dumps(nb))
    >>> notebook_modules(p)
    ['pandas', 'ecrm_lib.seef', 'ecrm_lib.seef.rfm', 'ecrm_lib.seef.loop']
    """
    nb = json.loads(Path(path).read_text(encoding="utf-8"))
    out: dict[str, None] = {}
    for cell in nb.get("cells", []):
        if cell.get("cell_type") != "code":
            continue
        src = cell.get("source", "")
        try:
            tree = ast.parse(src if isinstance(src, str) else "".join(src))
        except SyntaxError:
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                out.update({a.name: None for a in node.names})
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                out[node.module] = None
                out.update({f"{node.module}.{a.name}": None for a in node.names if a.name != "*"})
    return list(out)


def kernel_manager_class(log_path: Path, env: dict[str, str] | None = None, fork_server=None):
    """The kernel manager class of one notebook's kernel.

    - On POSIX the kernel talks over Unix sockets (IPC) instead of TCP: notebook
      code and outputs (which may hold personal data) never cross a TCP port, even
      on localhost, and ipykernel 7 does not warn about plain-text TCP. The socket
      files live in Jupyter's runtime folder, one unique prefix per kernel.
    - The kernel process writes its own stdout and stderr (not the notebook's
      outputs, which reach the notebook) to ``log_path`` instead of the runner's
      terminal: a kernel interrupted at a cell timeout or shut down under load
      prints tracebacks ("Socket operation on non-socket", "KeyboardInterrupt
      caught in kernel") that are not the user's business; the runner reports
      each failure once.
    - ``env`` adds variables to this kernel's environment only (e.g. its progress
      file), whatever other notebooks start at the same time.
    - With ``fork_server`` (a :class:`~ecrm_lib.run.kernel_fork.ForkServer`) the
      kernel is forked from it, its modules already imported; where that fails it
      starts the usual way.
    """
    from jupyter_client.manager import AsyncKernelManager
    from jupyter_core.paths import jupyter_runtime_dir

    class EcrmKernelManager(AsyncKernelManager):
        def __init__(self, **kwargs):
            if os.name == "posix":
                runtime = Path(jupyter_runtime_dir())
                runtime.mkdir(parents=True, exist_ok=True)
                kwargs.setdefault("transport", "ipc")
                kwargs.setdefault("ip", str(runtime / f"ecrm-{uuid.uuid4().hex[:12]}"))
            super().__init__(**kwargs)
            self.ecrm_clients: list = []

        async def _async_pre_start_kernel(self, **kw):
            if fork_server is not None and self.provisioner is None:
                from ecrm_lib.run.kernel_fork import provisioner_class

                self.kernel_id = self.kernel_id or kw.pop("kernel_id", str(uuid.uuid4()))
                provisioner = provisioner_class()(kernel_id=self.kernel_id, kernel_spec=self.kernel_spec, parent=self)
                provisioner.fork_server, provisioner.log_path = fork_server, str(log_path)
                self.provisioner = provisioner
            return await super()._async_pre_start_kernel(**kw)

        def client(self, **kwargs):
            # papermill's client does not own a kernel handed to it (km=), so it never closes its channels:
            # stop_kernel closes them (their heartbeat thread would ping the dead kernel until the process ends)
            kc = super().client(**kwargs)
            self.ecrm_clients.append(kc)
            return kc

        async def start_kernel(self, **kw):
            log_path.parent.mkdir(parents=True, exist_ok=True)
            if env:
                kw["env"] = {**os.environ, **kw.get("env", {}), **env}
            with open(log_path, "ab") as log:  # the kernel keeps its own copy of the file handle
                kw.setdefault("stdout", log)
                kw.setdefault("stderr", log)
                return await super().start_kernel(**kw)

    return EcrmKernelManager


def start_kernel(notebook: Path, log_path: Path, cwd: Path, env: dict[str, str] | None = None, fork_server=None):
    """Start a kernel for ``notebook`` in ``cwd`` that imports the notebook's modules as it starts (forked from
    ``fork_server``, which has imported them, when given); returns its (started) kernel manager, to hand to
    papermill as ``km`` in the same thread (its event loop is this thread's). Stop it with :func:`stop_kernel`."""
    from jupyter_core.utils import run_sync

    manager = kernel_manager_class(log_path, {**(env or {}), WARM_ENV: ",".join(notebook_modules(notebook))},
                                   fork_server=fork_server)
    km = manager(kernel_name="python3")
    # no IPython history file (nbclient's own default): notebook code stays out of ~/.ipython and parallel
    # kernels do not contend for its lock
    args = [f"--IPKernelApp.exec_lines={_WARM_LINE}", "--HistoryManager.hist_file=:memory:"]
    try:
        run_sync(km.start_kernel)(cwd=str(cwd), extra_arguments=args)
    except BaseException:
        stop_kernel(km)
        raise
    return km


def peak_memory_mb(km: Any) -> float | None:
    """The largest resident memory of a started kernel's process so far, in MiB (Linux's ``VmHWM``), or None
    where it cannot be read (another system, a kernel already gone).

    It counts the pages the kernel shares with other processes too: a kernel forked from the run's fork server
    starts with its imported modules resident (about 300 MiB), and so does one started the usual way once it
    imported them. DuckDB's memory lives in the kernel and is counted; a Spark server's is not (its own process).
    """
    pid = getattr(getattr(km, "provisioner", None), "pid", None)
    if not pid:
        return None
    try:
        with open(f"/proc/{int(pid)}/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024.0
    except (OSError, ValueError):
        return None
    return None


def stop_kernel(km: Any) -> None:
    """Close its clients' channels and shut a started kernel down (asked to exit, so its exit handlers run: the
    engine's temporary folders go, a Spark Connect session is released; killed after jupyter_client's wait); that
    also removes its connection files. Never raises; a second call does nothing."""
    from jupyter_core.utils import run_sync

    for kc in getattr(km, "ecrm_clients", []):
        try:
            kc.stop_channels()
        except Exception:  # noqa: BLE001 - a client already closed; the kernel must still be shut down
            pass
    km.ecrm_clients = []
    try:
        if km.has_kernel:
            run_sync(km.shutdown_kernel)(now=False)
    except Exception:  # noqa: BLE001 - the kernel is gone or going; nothing to report
        pass


class EarlyKernel:
    """A notebook's kernel started before the notebook may run (its upstreams are still running).

    The scheduler creates it and hands :meth:`wait_then` to a worker thread, which starts the kernel
    and then waits; :meth:`release` lets the notebook run in that kernel, :meth:`cancel` shuts it down
    unused (an upstream failed, or the run stops). The kernel is started and used in the same thread.
    """

    def __init__(self, name: str):
        self.name = name
        self._go = threading.Event()
        self._cancelled = False

    def release(self) -> None:
        """The upstreams are done: run the notebook."""
        self._go.set()

    def cancel(self) -> None:
        """The notebook will not run (skipped, or the run stops): shut the kernel down."""
        self._cancelled = True
        self._go.set()

    def wait_then(self, start, run):
        """In a worker thread: ``km = start()`` (None if it failed: the notebook then starts its own), wait for
        :meth:`release` or :meth:`cancel`, then ``run(km)`` and return its result (None when cancelled). The
        kernel is stopped afterwards either way."""
        try:
            km = start()
        except Exception:  # noqa: BLE001 - an early start is an optimisation; the notebook starts its own kernel
            km = None
        try:
            self._go.wait()
            if self._cancelled:
                return None
            return run(km)
        finally:
            if km is not None:
                stop_kernel(km)
