"""One Spark Connect server per run: the run's only Spark driver, shared by every notebook.

With ``engine: {kind: spark}`` and no ``spark: remote:`` in the config,
:func:`ecrm_lib.run.runner.run_suite` starts a :class:`SparkConnectServer`
before the notebooks run and stops it when the run ends (also when a notebook
fails, on an exception or on Ctrl-C). Each notebook's kernel is then a thin
Spark Connect client (:func:`ecrm_lib.data.engine.connect` reads the server's
URL from ``$ECRM_SPARK_REMOTE``): it opens its session in about a second
instead of starting a JVM of its own, and the JVM's start-up and warm-up are
paid once per run. Each client has its own Spark session on the server, so
temporary views and settings of notebooks running at the same time stay apart.

The server is ``spark-submit --class org.apache.spark.sql.connect.service.SparkConnectServer``
from the installed PySpark (or ``$SPARK_HOME``) with:

- the config's ``master`` (default ``local[*]``) and ``conf``;
- a free port on 127.0.0.1 only (Spark Connect has no authentication: no
  other machine may reach it); with a local master the driver's other ports
  are on 127.0.0.1 too;
- Spark's local scratch and warehouse folders in the run's spill folder
  (``private/spill/spark``, removed after the run);
- its log (level WARN unless the config's ``spark.log.level`` says otherwise)
  in ``private/logs/spark-connect.log``;
- on Linux, the kernel's parent-death signal: if the runner process dies
  without stopping it (killed), the JVM gets SIGTERM and goes too.

Examples
--------
>>> from ecrm_lib.core.config import EngineSettings
>>> needs_server(EngineSettings(kind="spark", spark={"master": "local[2]"}))
True
>>> needs_server(EngineSettings(kind="spark", spark={"remote": "sc://cluster:15002"}))
False
>>> needs_server(EngineSettings())
False
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

from ecrm_lib.core.config import EngineSettings
from ecrm_lib.core.errors import EcrmError
from ecrm_lib.data.engine import SESSION_SETTINGS
from ecrm_lib.run.kernel_fork import PRCTL

__all__ = [
    "SERVER_CLASS",
    "START_TIMEOUT_S",
    "SparkServerError",
    "SparkConnectServer",
    "needs_server",
    "spark_home",
    "running_servers",
    "run_server",
]

#: The Spark Connect server's main class (in ``jars/spark-connect_*.jar`` of Spark 4).
SERVER_CLASS = "org.apache.spark.sql.connect.service.SparkConnectServer"

#: Seconds the server may take to listen (about 20 s on 2 busy cores).
START_TIMEOUT_S = 180.0

#: Settings of the server that the config's ``conf`` may override.
SERVER_DEFAULTS = {
    "spark.ui.enabled": "false",
    "spark.ui.showConsoleProgress": "false",
    "spark.log.level": "WARN",
}

_LIVE: dict[int, "SparkConnectServer"] = {}
_LIVE_LOCK = threading.Lock()


class SparkServerError(EcrmError):
    """The run's Spark Connect server could not be started."""


def needs_server(settings: EngineSettings) -> bool:
    """True when a run on ``settings`` starts its own Spark Connect server (Spark, no ``remote``)."""
    return settings.kind == "spark" and not settings.spark.get("remote")


def spark_home() -> Path:
    """The Spark installation whose ``bin/spark-submit`` starts the server: ``$SPARK_HOME``, else PySpark's own.

    Raises
    ------
    SparkServerError
        Neither has ``bin/spark-submit`` and the Spark Connect jar.
    """
    if os.environ.get("SPARK_HOME"):
        home = Path(os.environ["SPARK_HOME"])
    else:
        try:
            import pyspark
        except ImportError:
            raise SparkServerError(
                "engine kind 'spark' needs pyspark: install the spark extra (pip install 'ecrm-lib[spark]')."
            ) from None
        home = Path(pyspark.__file__).parent
    if not (home / "bin" / "spark-submit").is_file():
        raise SparkServerError(f"no bin/spark-submit in the Spark installation {home} (SPARK_HOME or pyspark).")
    if not list((home / "jars").glob("spark-connect_*.jar")):
        raise SparkServerError(
            f"the Spark installation {home} has no Spark Connect jar (jars/spark-connect_*.jar, part of Spark 4): "
            "use pyspark 4 or a Spark 4 distribution, or name a running server with `engine: spark: remote:`."
        )
    return home


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _listening(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", port)) == 0


def _die_with_parent() -> None:  # pragma: no cover - runs in the child between fork and exec
    """Linux: SIGTERM to this process when its parent dies (kept across exec, so the JVM has it)."""
    PRCTL(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


class SparkConnectServer:
    """A local Spark Connect server process for one run.

    Parameters
    ----------
    settings : EngineSettings
        ``kind: spark``; its ``spark.master`` and ``spark.conf`` configure the server.
    work_dir : path-like
        Spark's local scratch and warehouse folders go here (created).
    log_path : path-like
        The server's stdout and stderr (created; appended to).
    name : str
        Application name shown by the cluster manager.

    Use :meth:`start` and :meth:`stop`, or ``with`` (which does both).
    """

    def __init__(self, settings: EngineSettings, *, work_dir: str | os.PathLike, log_path: str | os.PathLike,
                 name: str = "ecrm"):
        self.settings = settings
        self.work_dir = Path(work_dir).resolve()
        self.log_path = Path(log_path).resolve()
        self.name = name
        self.port: int | None = None
        self.process: subprocess.Popen | None = None
        self.started_s: float | None = None

    # ------------------------------------------------------------ lifecycle
    @property
    def url(self) -> str:
        """``sc://127.0.0.1:<port>`` (after :meth:`launch`)."""
        if self.port is None:
            raise SparkServerError("the Spark Connect server has not been started.")
        return f"sc://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int | None:
        """Process id of the server (the JVM; also its process group), None before :meth:`launch`."""
        return self.process.pid if self.process else None

    def command(self) -> list[str]:
        """The ``spark-submit`` line that starts the server (with :attr:`port` set)."""
        spark = self.settings.spark
        conf = {
            **SERVER_DEFAULTS,
            "spark.local.dir": str(self.work_dir / "local"),
            "spark.sql.warehouse.dir": str(self.work_dir / "warehouse"),
            **{str(k): str(v) for k, v in (spark.get("conf") or {}).items()},
            **SESSION_SETTINGS,
            "spark.connect.grpc.binding.address": "127.0.0.1",
            "spark.connect.grpc.binding.port": str(self.port),
        }
        if str(spark.get("master") or "local[*]").startswith("local"):
            # local mode: the driver's own ports on the loopback interface too (the config may say otherwise)
            conf = {"spark.driver.bindAddress": "127.0.0.1", "spark.driver.host": "127.0.0.1", **conf}
        cmd = [str(spark_home() / "bin" / "spark-submit"), "--class", SERVER_CLASS, "--name", self.name,
               "--master", str(spark.get("master") or "local[*]")]
        for k, v in conf.items():
            cmd += ["--conf", f"{k}={v}"]
        return [*cmd, "spark-internal"]

    def launch(self) -> "SparkConnectServer":
        """Start the server process and return at once (:meth:`wait_ready` waits for it to listen)."""
        if self.process is not None:
            return self
        self.port = _free_port()
        cmd = self.command()
        (self.work_dir / "local").mkdir(parents=True, exist_ok=True)
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        env = {**os.environ, "SPARK_HOME": str(spark_home())}
        env.pop("ECRM_SPARK_REMOTE", None)
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                cmd, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=str(self.work_dir),
                start_new_session=True,  # its own process group: stop() ends the JVM and any helper it started
                preexec_fn=_die_with_parent if PRCTL is not None else None,
            )
        self.started_s = time.monotonic()
        with _LIVE_LOCK:
            _LIVE[self.process.pid] = self
        return self

    def wait_ready(self, timeout: float = START_TIMEOUT_S) -> str:
        """Wait until the server listens; returns its URL.

        Raises
        ------
        SparkServerError
            The process ended or did not listen within ``timeout`` seconds
            (it is stopped; the message quotes the end of its log).
        """
        if self.process is None:
            self.launch()
        assert self.process is not None and self.port is not None
        deadline = (self.started_s or time.monotonic()) + timeout
        while True:
            if self.process.poll() is not None:
                self._forget()
                raise SparkServerError(f"the Spark Connect server ended at start-up (exit code {self.process.returncode}). "
                                       f"{self._log_tail()}")
            if _listening(self.port):
                return self.url
            if time.monotonic() > deadline:
                self.stop()
                raise SparkServerError(f"the Spark Connect server did not listen within {timeout:g} s. {self._log_tail()}")
            time.sleep(0.25)

    def start(self, timeout: float = START_TIMEOUT_S) -> str:
        """:meth:`launch` and :meth:`wait_ready`; returns the URL."""
        self.launch()
        return self.wait_ready(timeout)

    def stop(self, grace_s: float = 20.0) -> None:
        """Stop the server: SIGTERM to its process group, SIGKILL after ``grace_s`` seconds. Idempotent."""
        proc = self.process
        if proc is None:
            return
        if proc.poll() is None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(grace_s)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(10)
        # a helper left in its process group (none is expected) goes too
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)
        self._forget()

    def _forget(self) -> None:
        with _LIVE_LOCK:
            if self.process is not None:
                _LIVE.pop(self.process.pid, None)

    def _log_tail(self, lines: int = 15) -> str:
        try:
            text = self.log_path.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:]
        except OSError:
            return f"(no log at {self.log_path})"
        return f"Its log ({self.log_path}) ends with:\n" + "\n".join(text)

    def __enter__(self) -> "SparkConnectServer":
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


def running_servers() -> list[SparkConnectServer]:
    """Servers this process started and has not stopped yet."""
    with _LIVE_LOCK:
        return list(_LIVE.values())


@contextlib.contextmanager
def run_server(settings: EngineSettings, run_root: str | os.PathLike, name: str = "ecrm") -> Iterator[SparkConnectServer | None]:
    """The run's server (launched, not yet waited for) while the block runs, stopped after it; None when not needed.

    Parameters
    ----------
    settings : EngineSettings
        The config's engine; a server starts only when :func:`needs_server`.
    run_root : path-like
        The (staging) run folder: the server's scratch goes in
        ``private/spill/spark``, its log in ``private/logs/spark-connect.log``.
    name : str
        Application name (the run id).
    """
    if not needs_server(settings):
        yield None
        return
    root = Path(run_root)
    server = SparkConnectServer(settings, work_dir=root / "private" / "spill" / "spark",
                                log_path=root / "private" / "logs" / "spark-connect.log", name=name)
    try:
        server.launch()
        yield server
    finally:
        server.stop()
