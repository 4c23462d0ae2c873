"""Kernels forked from a process that has already imported the notebooks' modules.

Every notebook runs in a fresh Jupyter kernel, and a fresh kernel spends about
3 s of CPU importing pandas, matplotlib, seaborn, SciPy, scikit-learn, Ibis and
the library before its first cell does any work: 27 s of CPU for a run of nine
notebooks, whatever the data's size. :class:`ForkServer` is started once per
run, or kept from an earlier run (``python -m ecrm_lib.run.kernel_fork``); it
imports the modules the run's notebooks import
(:func:`ecrm_lib.run.kernels.notebook_modules`) and then
forks one child per kernel on request. The child is an ordinary ipykernel
process (its own session, process group and environment, the notebook's
working folder, stdout and stderr in the kernel's log) that starts with those
modules already in memory, shared copy-on-write with the server.

The server forks from a single thread and never runs any of the imported code
beyond importing it (the thread pools of OpenBLAS and Arrow's allocator are
made fork-safe by their libraries; nothing of OpenMP, DuckDB or Spark has run).
A child's modules were imported with the server's environment, which is the
run's kernel environment; each child then gets its own (its progress file).

jupyter_client starts kernels through a provisioner: :class:`ForkProvisioner`
is its local provisioner with the launch replaced (the kernel manager of
:func:`ecrm_lib.run.kernels.kernel_manager_class` uses it when given a server).
It signals the kernel's process group as jupyter_client does (the child leads
its own), and polls it through a Linux pidfd where there is one, so that a
reused process id is never mistaken for the kernel.

A forked kernel lives as long as the server: it exits when the server goes
(ipykernel's parent poller, and the parent-death signal), and the server exits
with the thread that started it (the runner's main thread; Linux's parent-death
signal follows the thread). So :meth:`ForkServer.close` ends any kernel still
running. When the server cannot start or answer, kernels start the usual way;
setting ``ECRM_FORK_KERNELS=0`` turns forking off.

A process that runs the suite several times (a test session, a parameter sweep
from a notebook) keeps its server between runs: :func:`acquire` hands a run the
server of the run before when that one has imported every module the run needs
with the same working folder, environment and library source (the files of
``ecrm_lib``, by size and modification time: a run after an edit gets a new
server), else a new one (kept only when the main thread started it);
:func:`release` gives it back, and closes it when the run failed (a kernel
still running goes with it) or when a newer server replaced it. The kept
server is closed when the process exits.

The forked kernels of a run share one seed of Python's string hashing (a
separately started kernel draws its own), so the order of a set of strings is
the same in each; numpy's global random state is not shared: each child draws
a new one from the operating system, as a new process would.
"""

from __future__ import annotations

import atexit
import hashlib
import json
import os
import select
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

__all__ = ["ENV_SWITCH", "PRCTL", "ForkServer", "ForkProvisioner", "acquire", "forking_enabled", "release"]

#: Environment variable that turns forked kernels off when set to 0 (or "false", "no", "off").
ENV_SWITCH = "ECRM_FORK_KERNELS"
#: Seconds the server may take to import the modules before kernels start the usual way.
START_TIMEOUT_S = 120.0


def forking_enabled() -> bool:
    """True where kernels may be forked: Linux, and ``$ECRM_FORK_KERNELS`` not 0, false, no or off.

    >>> import os; os.environ[ENV_SWITCH] = "0"; forking_enabled()
    False
    >>> del os.environ[ENV_SWITCH]
    """
    if os.environ.get(ENV_SWITCH, "").strip().lower() in ("0", "false", "no", "off"):
        return False
    return os.name == "posix" and hasattr(os, "fork") and sys.platform.startswith("linux")


class ForkServer:
    """A process that has imported ``modules`` and forks kernels on request; :meth:`close` stops it.

    Parameters
    ----------
    modules : list of str
        Modules to import before serving (a module that fails to import is left out; the notebook's own
        import reports it).
    env : dict, optional
        The server's environment (default: this process's), which its children's imports see.
    """

    def __init__(self, modules: list[str], env: dict[str, str] | None = None):
        self._dir = tempfile.mkdtemp(prefix="ecrm-fork-")
        self.address = str(Path(self._dir) / "server.sock")
        try:
            # its own session: a Ctrl-C at the terminal reaches the runner, which stops the run, not the server
            self.process = subprocess.Popen(
                [sys.executable, "-m", __name__, self.address, ",".join(modules), str(os.getpid())],
                env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                start_new_session=True,
            )
        except BaseException:
            os.rmdir(self._dir)
            raise
        self._ready: bool | None = None
        self._lock = threading.Lock()

    def ready(self, timeout: float = START_TIMEOUT_S) -> bool:
        """True once the server has imported its modules and listens (the first call waits up to ``timeout`` s;
        the threads that start kernels meanwhile wait with it)."""
        with self._lock:
            if self._ready is None:  # lines a module prints as it is imported come first: read up to the marker
                out, deadline, ok = self.process.stdout, time.monotonic() + timeout, False
                while not ok and select.select([out], [], [], max(0.0, deadline - time.monotonic()))[0]:
                    line = out.readline()
                    if not line:
                        break
                    ok = line.strip() == _READY
                self._ready = ok and self.process.poll() is None
        return bool(self._ready) and self.process.poll() is None

    def fork(self, argv: list[str], env: dict[str, str], cwd: str, log_path: str | None) -> int:
        """Fork a kernel: ``argv`` are ipykernel's arguments (``-f CONNECTION_FILE ...``); returns its process id.

        Raises OSError (or ValueError) when the server does not answer; the caller then starts the kernel the usual way.
        """
        request = {"argv": argv, "env": env, "cwd": cwd, "log": log_path}
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
                s.settimeout(30)
                s.connect(self.address)
                s.sendall(json.dumps(request).encode() + b"\n")
                answer = s.makefile("rb").readline()
            return int(json.loads(answer)["pid"])
        except (OSError, ValueError, KeyError):
            self._ready = False  # not handed out again (acquire, release): later kernels start the usual way at once
            raise

    def usable(self) -> bool:
        """False once the server has exited, did not start in time or failed to fork (it is then not reused)."""
        return self._ready is not False and self.process.poll() is None

    def close(self) -> None:
        """Stop the server; a kernel forked from it that still runs exits within about a second (see the module's
        description). A second call does nothing."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self.process.stdout:
            self.process.stdout.close()
        for p in (Path(self.address), Path(self._dir)):
            try:
                p.unlink() if p.is_file() or p.is_socket() else p.rmdir()
            except OSError:
                pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


# ----------------------------------------------------------------------------------------- the kept server
_KEPT_LOCK = threading.Lock()
_kept: dict[str, Any] = {"server": None, "key": None, "modules": frozenset()}
_users: dict[ForkServer, int] = {}


def _library_stamp() -> tuple:
    """Size and modification time of every source file of ``ecrm_lib``: a server that imported older code is not
    reused (about 150 ``stat`` calls)."""
    root = Path(__file__).resolve().parents[1]
    return tuple(sorted((str(f.relative_to(root)), st.st_size, st.st_mtime_ns) for f in root.rglob("*.py")
                        for st in [f.stat()]))


def _key(env: dict[str, str]) -> str:
    """What a server's imports depend on: the interpreter, the working folder, the environment (without the suite's
    own ``ECRM_`` variables, which its modules read only when a kernel runs, and pytest's name of the current test),
    the library."""
    key = (sys.executable, os.getcwd(), sorted((k, v) for k, v in env.items() if not k.startswith(("ECRM_", "PYTEST_"))),
           _library_stamp())
    return hashlib.sha256(repr(key).encode("utf-8")).hexdigest()


def acquire(modules: list[str]) -> ForkServer:
    """A fork server that has imported ``modules`` in this process's environment: the one kept from an earlier run
    when it has them (and the working folder, environment and library source are the same), else a new one (with
    the kept one's modules too, when only modules were missing); hand it back with :func:`release`. Only a server
    started from the main thread is kept. Raises what :class:`ForkServer` raises.

    A kernel forked from a kept server starts with every module the process's earlier runs needed already imported
    (not bound in its namespace: a notebook that forgot an import still fails); ``ECRM_FORK_KERNELS=0`` gives each
    kernel a fresh start."""
    if threading.current_thread() is not threading.main_thread():
        # the server's parent-death signal follows the thread that starts it: one started by a thread that ends
        # before the process does would die with it, so it serves this run only (closed by release)
        server = ForkServer(modules)
        with _KEPT_LOCK:
            _users[server] = 1
        return server
    key = _key(dict(os.environ))
    with _KEPT_LOCK:
        server = _kept["server"]
        if not (server is not None and _kept["key"] == key and set(modules) <= _kept["modules"] and server.usable()):
            wanted = list(dict.fromkeys([*modules, *(_kept["modules"] if _kept["key"] == key else ())]))
            server = ForkServer(wanted)
            _retire(_kept["server"])
            _kept.update(server=server, key=key, modules=frozenset(wanted))
            _users[server] = 0
        _users[server] += 1
        return server


def release(server: ForkServer, failed: bool = False) -> None:
    """Give back a server from :func:`acquire`. ``failed``: the run stopped early, so the server is not kept (it is
    closed once no other run uses it, and a kernel still running goes with it)."""
    with _KEPT_LOCK:
        _users[server] = _users.get(server, 1) - 1
        if failed or not server.usable():  # stopped early, or the server is gone or broken: not handed out again
            _retire(server)
        elif _users[server] <= 0 and server is not _kept["server"]:  # a newer server replaced it while this run used it
            _users.pop(server, None)
            server.close()


def _retire(server: ForkServer | None) -> None:
    """No longer handed out; closed now when no run uses it, else by the last :func:`release`. Call under the lock."""
    if server is None:
        return
    if server is _kept["server"]:
        _kept.update(server=None, key=None, modules=frozenset())
    if _users.get(server, 0) <= 0:
        _users.pop(server, None)
        server.close()


@atexit.register
def _close_kept() -> None:
    with _KEPT_LOCK:
        for server in list(_users):
            server.close()
        _users.clear()
        _kept.update(server=None, key=None, modules=frozenset())


#: What the server prints once it listens.
_READY = b"ecrm-fork-server-ready"


def _prctl():
    if not sys.platform.startswith("linux"):
        return None
    try:
        import ctypes

        return ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):  # pragma: no cover - unusual libc
        return None


#: libc's ``prctl`` on Linux (None elsewhere), looked up once: ``PRCTL(1, signal.SIGTERM)`` (PR_SET_PDEATHSIG) has
#: the calling process signalled when its parent dies (the fork server, its kernels, the run's Spark server).
PRCTL = _prctl()


def _die_with_parent(parent: int) -> None:  # pragma: no cover - runs in the server and in its children
    """Linux: this process gets SIGTERM when its parent dies (as the run's Spark server does); it exits now if
    ``parent`` is gone already."""
    if PRCTL is not None:
        PRCTL(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    if os.getppid() != parent:
        os._exit(1)


class _Forked:
    """The part of ``subprocess.Popen`` jupyter_client's local provisioner uses, for a kernel that is not our child."""

    stdin = stdout = stderr = None

    def __init__(self, pid: int):
        self.pid = pid
        self.returncode: int | None = None
        try:
            self._fd: int | None = os.pidfd_open(pid)
        except (AttributeError, OSError):
            self._fd = None

    def poll(self) -> int | None:
        if self.returncode is None:
            if self._fd is not None:
                gone = bool(select.select([self._fd], [], [], 0)[0])
            else:
                try:
                    os.kill(self.pid, 0)
                    gone = False
                except ProcessLookupError:
                    gone = True
                except PermissionError:
                    gone = False
            if gone:
                self.returncode = 0  # the server reaps it: its exit status is not known here
                self._close()
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        deadline = None if timeout is None else time.monotonic() + timeout
        while self.poll() is None:
            if deadline is not None and time.monotonic() > deadline:
                raise subprocess.TimeoutExpired(str(self.pid), timeout)
            time.sleep(0.05)
        return self.returncode  # type: ignore[return-value]

    def send_signal(self, sig: int) -> None:
        if self.poll() is None:
            if self._fd is not None and hasattr(signal, "pidfd_send_signal"):
                signal.pidfd_send_signal(self._fd, sig)
            else:
                os.kill(self.pid, sig)

    def terminate(self) -> None:
        self.send_signal(signal.SIGTERM)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)

    def _close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


def provisioner_class():
    """:class:`ForkProvisioner`, defined on first use (jupyter_client is imported only where kernels start)."""
    global ForkProvisioner
    if ForkProvisioner is None:
        from jupyter_client.provisioning import LocalProvisioner

        class _ForkProvisioner(LocalProvisioner):
            """jupyter_client's local provisioner, launching the kernel by forking it from ``self.fork_server``."""

            fork_server: ForkServer | None = None
            log_path: str | None = None

            async def launch_kernel(self, cmd: list[str], **kwargs: Any):
                server = self.fork_server
                argv = _kernel_argv(cmd)
                if server is None or argv is None or not _same_python(cmd[0]) or not server.ready():
                    return await super().launch_kernel(cmd, **kwargs)
                try:
                    pid = server.fork(argv, dict(kwargs.get("env") or os.environ), str(kwargs.get("cwd") or os.getcwd()),
                                      self.log_path)
                except (OSError, ValueError, KeyError):
                    return await super().launch_kernel(cmd, **kwargs)
                self.process = _Forked(pid)
                self.pid = self.pgid = pid  # the child leads its own session and process group
                self.cwd = kwargs.get("cwd") or os.getcwd()
                return self.connection_info

        ForkProvisioner = _ForkProvisioner
    return ForkProvisioner


ForkProvisioner = None  # the class, once provisioner_class() has defined it


def _same_python(executable: str) -> bool:
    """True when a kernel command's interpreter is the one the server runs (a kernelspec may name another)."""
    try:
        return os.path.samefile(executable, sys.executable)
    except OSError:
        return False


def _kernel_argv(cmd: list[str]) -> list[str] | None:
    """ipykernel's own arguments from a kernel command ``[python, -m, ipykernel_launcher, ...]``, else None.

    >>> _kernel_argv(["/usr/bin/python3", "-m", "ipykernel_launcher", "-f", "k.json"])
    ['-f', 'k.json']
    >>> _kernel_argv(["julia", "kernel.jl"]) is None
    True
    """
    if len(cmd) >= 3 and cmd[1] == "-m" and cmd[2] in ("ipykernel_launcher", "ipykernel"):
        return list(cmd[3:])
    return None


# ----------------------------------------------------------------------------------------------- the server
def _serve(address: str, modules: str, runner: int) -> None:  # pragma: no cover - runs in the server process
    _die_with_parent(runner)  # here rather than in a preexec_fn: the runner has threads

    # as ipykernel_launcher does: the server's working folder is not on the path (a kernel adds its own)
    if sys.path and (sys.path[0] == "" or Path(sys.path[0]) == Path.cwd()):
        del sys.path[0]
    from ecrm_lib.run.kernels import warm_imports

    warm_imports(modules)  # each on its own; one that fails is left to the notebook's own import
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # children are reaped by the system: no zombies
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(address)
    listener.listen(16)
    sys.stdout.buffer.write(_READY + b"\n")
    sys.stdout.flush()
    server = os.getpid()
    while True:
        conn, _ = listener.accept()
        try:
            conn.settimeout(10)  # a client that connects and says nothing does not hold up the others
            request = json.loads(conn.makefile("rb").readline())
            pid = os.fork()
            if pid == 0:
                listener.close()
                conn.close()
                _become_kernel(request, server)  # never returns
            conn.sendall(json.dumps({"pid": pid}).encode() + b"\n")
        except Exception:  # noqa: BLE001 - a bad request: the client falls back to a usual start
            pass
        finally:
            conn.close()


def _become_kernel(request: dict, server: int) -> None:  # pragma: no cover - runs in a forked child
    code = 1
    try:
        _die_with_parent(server)
        os.setsid()
        for sig in (signal.SIGCHLD, signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, signal.SIG_DFL if sig != signal.SIGINT else signal.default_int_handler)
        null = os.open(os.devnull, os.O_RDONLY)
        os.dup2(null, 0)
        # the kernel's own output goes to its log (never to the server's pipe, which nobody reads)
        out = os.open(request.get("log") or os.devnull, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        os.dup2(out, 1)
        os.dup2(out, 2)
        os.close(null)
        os.close(out)
        os.chdir(request["cwd"])
        os.environ.clear()
        os.environ.update(request["env"])
        # ipykernel's parent poller: the kernel exits when the server goes (the server goes with the runner), as
        # a kernel jupyter_client starts exits with the process that started it
        os.environ["JPY_PARENT_PID"] = str(server)
        if "numpy.random" in sys.modules:  # its global state was copied from the server: draw a new one
            sys.modules["numpy.random"].seed()
        sys.argv = ["ipykernel_launcher", *request["argv"]]
        from ipykernel import kernelapp

        kernelapp.launch_new_instance()
        code = 0
        # as the interpreter does when a process ends (os._exit below would skip it): the exit handlers the
        # notebook registered run (the engine's temporary folders, a Spark Connect session's release)
        import atexit

        atexit._run_exitfuncs()
    except SystemExit as e:
        code = e.code if isinstance(e.code, int) else 0
    except BaseException:  # noqa: BLE001
        import traceback

        traceback.print_exc()
    finally:
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        finally:
            os._exit(code)


if __name__ == "__main__":  # pragma: no cover
    _serve(sys.argv[1], sys.argv[2], int(sys.argv[3]))
