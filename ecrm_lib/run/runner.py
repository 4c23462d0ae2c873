"""Run the notebook suite and publish its reports safely.

:func:`run_suite` is what ``ecrm run`` calls. One run:

1. reads the config and the registry, resolves every notebook's parameters and
   checks them (unknown notebook or parameter, wrong type) before anything runs;
2. computes a fingerprint of everything the reports depend on (config text,
   SHA-256 of each input file, as-of date, parameters, selected notebooks,
   library code, notebooks, registry, git commit). When ``<out>/latest`` is a
   successful run with the same fingerprint, nothing is loaded or run
   (status ``"unchanged"``) unless ``force``;
3. loads and validates the data once (:func:`ecrm_lib.data.load.load_sources`)
   into a staging folder ``<out>/.staging-<run id>/`` laid out as
   :class:`ecrm_lib.run.context.RunLayout` says; a data error stops the run
   before anything is written;
4. executes the selected notebooks in registry order with papermill, each
   with the staging folder as ``run_dir``; a notebook whose required input
   table is not in the config, or whose upstream failed (or was skipped
   because of a failure), is skipped with a page saying why; an upstream
   skipped only for its own missing inputs does not block: the downstream
   notebook runs and finds that upstream's products absent; any exception (cell error, killed kernel,
   cell timeout), a missing declared metric or a missing declared product
   marks it failed;
5. renders each notebook to code-free HTML (:mod:`ecrm_lib.report.render`), a
   readable failure page for a failed one, writes ``index.html`` and
   ``manifest.json``;
6. publishes: renames the staging folder to ``<out>/<run id>`` and, only when
   no notebook failed, atomically points the relative symlink ``<out>/latest``
   at it. A failed run is kept under its id for its failure pages, and
   ``latest`` (and every file under it) is left untouched.

If the runner itself dies mid-way the staging folder stays as ``.staging-*``
(never published); staging folders older than a day are removed by the next run.

Run ids look like ``20250630T060012Z-1a2b3c4d`` (UTC start time, first 8
characters of the fingerprint).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import logging
import os
import platform
import re
import shutil
import subprocess
import time
import warnings
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ecrm_lib import __version__
from ecrm_lib.core.config import Config, load_config
from ecrm_lib.core.dates import as_date
from ecrm_lib.run.context import RunLayout, prepare_run_folder, published_runs
from ecrm_lib.core.errors import ConfigError, RunFailedError
from ecrm_lib.core.paths import PROJ_ROOT, REPORTS_DIR
from ecrm_lib.run.registry import RUN_DIR_PARAMETER, NotebookSpec, Registry, load_registry
from ecrm_lib.report.render import PAGE_CSS, render_failure_page, render_html, render_message_page
from ecrm_lib.core.privacy import scrub_pii
from ecrm_lib.report.display import escape
from ecrm_lib.core.schema import TABLES

__all__ = [
    "NotebookResult",
    "RunOutcome",
    "run_suite",
    "run_fingerprint",
    "suite_fingerprint",
    "hash_file",
    "package_versions",
    "STALE_STAGING_S",
    "LATEST",
]

STALE_STAGING_S = 24 * 3600
"""Staging folders older than this (seconds) are removed at the start of a run."""

LATEST = "latest"
"""Name of the symlink in the output folder that points at the last good run."""

_PACKAGES = (
    "pandas", "numpy", "scipy", "scikit-learn", "lifetimes", "ibis-framework", "duckdb",
    "pandera", "papermill", "nbconvert", "matplotlib", "seaborn",
)
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
_MAX_MESSAGE = 2000
_LIB_DIR = Path(__file__).resolve().parents[1]  # the whole ecrm_lib package
_PAPERMILL_LOGGERS = ("papermill", "papermill.execute", "papermill.translators", "papermill.parameterize")


# ------------------------------------------------------------------ results
@dataclass
class NotebookResult:
    """What happened to one notebook in a run.

    Attributes
    ----------
    name, title, description : str
        From the registry.
    status : {"ok", "failed", "skipped"}
    duration_s : float
        Wall time of the execution in seconds (0 when skipped).
    parameters : dict
        Effective parameters (without ``run_dir``).
    error_type, error_message : str or None
        For a failed notebook: the exception's type and its message, PII-scrubbed.
    reason : str or None
        For a skipped notebook: why, in one line.
    html : str or None
        File name of its page in the run folder.
    products : list of str
        Product tables it wrote.
    metrics_keys : list of str
        Metric keys it recorded.
    """

    name: str
    title: str
    description: str
    status: str
    duration_s: float = 0.0
    parameters: dict[str, Any] = field(default_factory=dict)
    error_type: str | None = None
    error_message: str | None = None
    reason: str | None = None
    html: str | None = None
    products: list[str] = field(default_factory=list)
    metrics_keys: list[str] = field(default_factory=list)
    #: Skipped only because its own input tables are absent (not because of a failure).
    missing_inputs: list[str] = field(default_factory=list)

    @property
    def blocks_downstream(self) -> bool:
        """True when notebooks that build on this one must not run.

        A failed notebook blocks, and so does one skipped because something it
        builds on failed. One skipped only because its own inputs are absent
        does not: its downstream notebooks run and find its products absent.
        """
        return self.status == "failed" or (self.status == "skipped" and not self.missing_inputs)

    def status_text(self) -> str:
        """``ok``, ``failed: <error type>`` or ``skipped: <reason>``."""
        if self.status == "failed":
            return f"failed: {self.error_type}"
        if self.status == "skipped":
            return f"skipped: {self.reason}"
        return self.status


@dataclass
class RunOutcome:
    """Result of :func:`run_suite`.

    Attributes
    ----------
    status : {"ok", "failed", "unchanged"}
        ``unchanged``: the latest good run has the same fingerprint; nothing ran.
    run_id : str or None
        This run's id (for ``unchanged``, the id of the latest run).
    run_dir : Path or None
        The published run folder.
    results : list of NotebookResult
        Per notebook, in run order (empty when unchanged).
    skipped_unchanged : bool
        True when nothing ran because nothing changed.
    fingerprint : str
        SHA-256 of the run's inputs, parameters and code.
    out_dir : Path or None
        The output folder holding the runs and ``latest``.
    history : list of RunOutcome
        The earlier runs made first for the config's ``history_as_of``
        dates (empty when none was needed).
    """

    status: str
    run_id: str | None
    run_dir: Path | None
    results: list[NotebookResult] = field(default_factory=list)
    skipped_unchanged: bool = False
    fingerprint: str = ""
    out_dir: Path | None = None
    history: list["RunOutcome"] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True unless a notebook failed."""
        return self.status in ("ok", "unchanged")

    @property
    def index(self) -> Path | None:
        """This run's ``index.html``."""
        return RunLayout(self.run_dir).index if self.run_dir else None

    @property
    def latest_index(self) -> Path | None:
        """``<out>/latest/index.html`` (the last good run's index)."""
        return self.out_dir / LATEST / "index.html" if self.out_dir else None

    def failed(self) -> list[NotebookResult]:
        """Notebooks that failed."""
        return [r for r in self.results if r.status == "failed"]


# ------------------------------------------------------------------ hashing
def hash_file(path: str | os.PathLike, chunk: int = 1 << 20) -> str:
    """SHA-256 (hex) of a file, read in chunks of ``chunk`` bytes."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


def _input_hashes(config: Config) -> list[dict[str, Any]]:
    out = []
    for s in config.sources:
        p = Path(s.path)
        if p.is_file():
            out.append({"source": s.name, "table": s.table, "file": p.name, "bytes": p.stat().st_size, "sha256": hash_file(p)})
        else:
            out.append({"source": s.name, "table": s.table, "file": p.name, "bytes": None, "sha256": None})
    return out


def _git(*args: str) -> str | None:
    try:
        done = subprocess.run(
            ["git", "--no-optional-locks", "-C", str(PROJ_ROOT), *args],
            capture_output=True, text=True, timeout=20, check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip() if done.returncode == 0 else None


def _git_state() -> tuple[str | None, bool | None]:
    """(commit, dirty) of the checkout holding ecrm_lib, or (None, None) outside git."""
    top = _git("rev-parse", "--show-toplevel")
    if not top or Path(top).resolve() != PROJ_ROOT:
        return None, None
    commit = _git("rev-parse", "HEAD")
    if commit is None:
        return None, None
    status = _git("status", "--porcelain")
    return commit, (bool(status) if status is not None else None)


def _code_hash(registry: Registry, selected: Iterable[NotebookSpec]) -> str:
    h = hashlib.sha256()
    for p in sorted(_LIB_DIR.rglob("*.py")):
        h.update(p.relative_to(_LIB_DIR).as_posix().encode())
        h.update(b"\0")
        h.update(p.read_bytes())
        h.update(b"\0")
    h.update(registry.text.encode("utf-8"))
    for spec in selected:
        h.update(spec.name.encode())
        h.update(spec.path.read_bytes() if spec.path.exists() else b"<missing>")
    return h.hexdigest()


def run_fingerprint(
    config_text: str,
    input_hashes: list[Mapping[str, Any]],
    as_of: str | None,
    parameters: Mapping[str, Mapping[str, Any]],
    notebooks: list[str],
    code_sha256: str,
    git_commit: str | None,
) -> str:
    """SHA-256 (hex) over everything a run's reports depend on.

    Parameters
    ----------
    config_text : str
        The config file's text.
    input_hashes : list of mapping
        Per source: ``source``, ``table`` and ``sha256`` of its file.
    as_of : str or None
        The requested as-of date (YYYY-MM-DD) or None (config's / data's).
    parameters : mapping
        Effective parameters per notebook (without ``run_dir``).
    notebooks : list of str
        Selected notebooks in run order.
    code_sha256 : str
        Hash of the library, the notebooks and the registry.
    git_commit : str or None
        Commit of the checkout, when known.
    """
    payload = {
        "config": config_text,
        "inputs": [[h["source"], h["table"], h["sha256"]] for h in input_hashes],
        "as_of": as_of,
        "parameters": {k: dict(v) for k, v in parameters.items()},
        "notebooks": list(notebooks),
        "code": code_sha256,
        "git_commit": git_commit,
    }
    text = json.dumps(payload, sort_keys=True, default=repr, ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def package_versions() -> dict[str, str | None]:
    """Versions of Python, ecrm_lib and the libraries the reports depend on (None if absent)."""
    from importlib import metadata

    out: dict[str, str | None] = {"python": platform.python_version(), "ecrm_lib": __version__}
    for name in _PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = None
    return out


# ----------------------------------------------------------------- helpers
def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def _iso(t: dt.datetime) -> str:
    return t.isoformat(timespec="seconds").replace("+00:00", "Z")


def _read_manifest(run_dir: Path) -> dict | None:
    try:
        return json.loads(RunLayout(run_dir).manifest.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _remove_stale(out_dir: Path, progress: Callable[..., Any]) -> None:
    cutoff = time.time() - STALE_STAGING_S
    for p in out_dir.glob(".staging-*"):
        try:
            if p.is_dir() and not p.is_symlink() and p.stat().st_mtime < cutoff:
                shutil.rmtree(p)
                progress(f"Removed stale staging folder {p.name} (left by an interrupted run).")
        except OSError:
            pass
    for p in out_dir.glob(".latest-*"):
        with contextlib.suppress(OSError):
            if p.is_symlink() and p.lstat().st_mtime < cutoff:
                p.unlink()


@contextlib.contextmanager
def _lock(out_dir: Path):
    """One run at a time per output folder (advisory lock; no-op where fcntl is missing)."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows
        yield
        return
    path = out_dir / ".ecrm-run.lock"
    with open(path, "a+") as f:
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            raise RunFailedError(
                f"another `ecrm run` is writing to {out_dir} right now; wait for it to finish "
                "(or use another --out folder)."
            ) from None
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


class _DropPapermillParamWarning(logging.Filter):
    # Parameters were checked against the parameters cell (parsed as Python) before the run;
    # papermill's line parser misses some lines and would warn wrongly.
    def filter(self, record: logging.LogRecord) -> bool:
        msg = str(record.getMessage())
        return not (msg.startswith("Passed unknown parameter") or msg.startswith("Unable to parse line"))


@contextlib.contextmanager
def _kernel_env():
    """Environment of the notebook kernels: this checkout's ecrm_lib first, inline figures."""
    saved = {k: os.environ.get(k) for k in ("PYTHONPATH", "MPLBACKEND")}
    parts = [str(PROJ_ROOT)] + [p for p in (saved["PYTHONPATH"] or "").split(os.pathsep) if p]
    os.environ["PYTHONPATH"] = os.pathsep.join(dict.fromkeys(parts))
    # ipykernel only shows figures inline when MPLBACKEND is unset or inline; CI sets Agg.
    os.environ["MPLBACKEND"] = "module://matplotlib_inline.backend_inline"
    flt = _DropPapermillParamWarning()
    logs = [logging.getLogger(n) for n in _PAPERMILL_LOGGERS]
    for log in logs:
        log.addFilter(flt)
    try:
        yield
    finally:
        for log in logs:
            log.removeFilter(flt)
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def _clean_message(text: str) -> str:
    text = _ANSI.sub("", str(text)).strip()
    text = scrub_pii(text)
    if len(text) > _MAX_MESSAGE:
        text = text[:_MAX_MESSAGE] + " [...]"
    return text


def _describe_error(e: BaseException, timeout: float | None) -> tuple[str, str]:
    """(type, message) of a notebook failure, without traceback, PII-scrubbed."""
    name = type(e).__name__
    if name == "PapermillExecutionError":
        ename = getattr(e, "ename", name) or name
        evalue = getattr(e, "evalue", "") or ""
        count = getattr(e, "exec_count", None)
        where = f" (in cell [{count}])" if count is not None else ""
        return _clean_message(ename), _clean_message(f"{evalue}{where}")
    if name == "DeadKernelError":
        return name, _clean_message(
            "the notebook's kernel died while a cell was running (killed, out of memory or crashed). "
            f"Details: {e}"
        )
    if name == "CellTimeoutError" or isinstance(e, TimeoutError):
        limit = f"the {timeout:g} s per-cell limit" if timeout else "its time limit"
        # nbclient's message continues with a preview of the cell's code: keep the first line only.
        first = str(e).strip().splitlines()[0] if str(e).strip() else ""
        return name, _clean_message(
            f"a cell ran longer than {limit}; raise `timeout_s` in the registry entry or --cell-timeout, "
            f"or make the cell faster. Details: {first}"
        )
    return name, _clean_message(str(e))


def _ipc_kernel_manager():
    """A kernel manager whose kernels talk over Unix sockets (IPC) instead of TCP; None off POSIX.

    Notebook code and outputs (which may hold personal data) then never cross a TCP
    port, even on localhost, and ipykernel 7 does not warn about plain-text TCP. The
    socket files live in Jupyter's runtime folder, one unique prefix per kernel.
    """
    if os.name != "posix":
        return None
    import uuid

    from jupyter_client.manager import AsyncKernelManager
    from jupyter_core.paths import jupyter_runtime_dir

    class IPCKernelManager(AsyncKernelManager):
        def __init__(self, **kwargs):
            runtime = Path(jupyter_runtime_dir())
            runtime.mkdir(parents=True, exist_ok=True)
            kwargs.setdefault("transport", "ipc")
            kwargs.setdefault("ip", str(runtime / f"ecrm-{uuid.uuid4().hex[:12]}"))
            super().__init__(**kwargs)

    return IPCKernelManager


def _execute(spec: NotebookSpec, layout: RunLayout, parameters: dict[str, Any], timeout: float | None) -> None:
    import papermill

    out = layout.executed(spec.name)
    out.parent.mkdir(parents=True, exist_ok=True)
    manager = _ipc_kernel_manager()
    with _kernel_env():
        papermill.execute_notebook(
            str(spec.path),
            str(out),
            parameters={**parameters, RUN_DIR_PARAMETER: str(layout.root)},
            kernel_name="python3",
            cwd=str(layout.root),
            execution_timeout=timeout,
            progress_bar=False,
            log_output=False,
            **({"kernel_manager_class": manager} if manager is not None else {}),
        )


def _recorded_metrics(layout: RunLayout, name: str) -> list[str]:
    path = layout.metrics(name)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return list((data.get("metrics") or {}).keys())
    except (OSError, ValueError, AttributeError):
        return []


def _written_products(layout: RunLayout, name: str) -> list[str]:
    d = layout.products_dir(name)
    return sorted(p.name[: -len(".parquet")] for p in d.glob("*.parquet")) if d.is_dir() else []


def _missing_inputs_paragraphs(spec: NotebookSpec, missing: list[str], config: Config) -> list[str]:
    cols = "; ".join(
        f"<code>{escape(t)}</code>: {', '.join(escape(c) for c in TABLES[t].required_columns())}" for t in missing
    )
    tables = ", ".join(f"<code>{escape(t)}</code>" for t in missing)
    return [
        f"This report needs the table(s) {tables}, which the configuration "
        f"<strong>{escape(config.name)}</strong> does not supply, so it was not run. The rest of the run is not affected.",
        "To include it: add a source to the config with <code>table: " + escape(missing[0]) + "</code>, mapping at least the "
        f"required columns ({cols}); the format is described at the top of <code>ecrm_lib/core/config.py</code>. "
        "Check it with <code>ecrm validate --config FILE</code>, then run the suite again.",
    ]


# ------------------------------------------------------------------- pages
def _fmt_s(seconds: float) -> str:
    return f"{seconds:.1f}"


def _write_index(
    layout: RunLayout,
    config: Config,
    as_of: dt.date,
    run_id: str,
    status: str,
    results: list[NotebookResult],
    started: dt.datetime,
    duration_s: float,
    previous_id: str | None,
    first: Iterable[str] = (),
) -> None:
    # Reports named in `first` (registry key `show_first`) head the list; the rest keep the run order.
    first = set(first)
    rows = []
    for r in sorted(results, key=lambda r: r.name not in first):
        cls = {"ok": "ok", "failed": "failed", "skipped": "skipped"}[r.status]
        if r.status == "failed":
            detail = f"failed: {escape(r.error_type or 'error')}"
        elif r.status == "skipped":
            detail = f"skipped: {escape(r.reason or '')}"
        else:
            detail = "ok"
        link = f'<a href="{escape(r.html)}">{escape(r.title)}</a>' if r.html else escape(r.title)
        rows.append(
            f"<tr><td>{link}</td><td>{escape(r.description)}</td>"
            f'<td class="{cls}">{detail}</td><td class="num">{_fmt_s(r.duration_s)}</td></tr>'
        )
    n_failed = sum(r.status == "failed" for r in results)
    if status == "failed":
        prev = (
            f"<code>latest/</code> still shows the previous good run <code>{escape(previous_id)}</code>."
            if previous_id
            else "There is no earlier good run, so <code>latest/</code> does not exist yet."
        )
        banner = (
            f'<div class="banner" role="alert"><h2>This run failed: {n_failed} report(s) could not be produced</h2>'
            f"<p>Open the failed report(s) below for the error and what to do. {prev}</p></div>"
        )
    else:
        banner = ""
    title = f"eCRM reports: {config.name}, as of {as_of.isoformat()}"
    page = (
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\" />\n"
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1.0\">\n"
        f"<title>{escape(title)}</title>\n<style type=\"text/css\">{PAGE_CSS}</style>\n</head>\n<body>\n<main>\n"
        f"<h1>eCRM reports: {escape(config.name)}</h1>\n"
        f'<p class="sub">Data as of <strong>{escape(as_of.isoformat())}</strong> · run <code>{escape(run_id)}</code> '
        f"· started {escape(_iso(started))} · {escape(_fmt_s(duration_s))} s · status "
        f'<span class="{"ok" if status == "ok" else "failed"}">{escape(status)}</span></p>\n'
        + (f"<p>{escape(config.description)}</p>\n" if config.description else "")
        + banner
        + "<table>\n<thead><tr><th>Report</th><th>What it shows</th><th>Status</th><th>Time (s)</th></tr></thead>\n<tbody>\n"
        + "\n".join(rows)
        + "\n</tbody>\n</table>\n"
        "<p>Details of this run (parameters, input files with their SHA-256, package versions, timings): "
        '<a href="manifest.json">manifest.json</a>. Headline figures per report are in <code>metrics/</code>; '
        "the executed notebooks, with code, are in <code>executed/</code>; what was read and set aside is in <code>load/</code>.</p>\n"
        '<p class="note"><strong>Personal data:</strong> the <code>private/</code> folder of this run holds the '
        "validated input tables with names, e-mail addresses and phone numbers. Do not share it; share the pages "
        "and the other folders only.</p>\n"
        f"<footer>Generated by ecrm_lib {escape(__version__)}.</footer>\n"
        "</main>\n</body>\n</html>\n"
    )
    layout.index.write_text(page, encoding="utf-8")


def _files_records(files: Any) -> list[dict[str, Any]]:
    if files is None:
        return []
    records = files.to_dict(orient="records") if hasattr(files, "to_dict") else list(files)
    out = []
    for rec in records:
        rec = dict(rec)
        size = rec.get("bytes")
        out.append({
            "source": rec.get("source"),
            "table": rec.get("table"),
            "file": rec.get("file") or (Path(str(rec["path"])).name if rec.get("path") else None),
            "bytes": int(size) if size is not None and size == size else None,
            "sha256": rec.get("sha256"),
        })
    return out


def _write_manifest(layout: RunLayout, manifest: dict[str, Any]) -> None:
    layout.manifest.write_text(json.dumps(manifest, indent=2, ensure_ascii=False, default=str), encoding="utf-8")


def _publish(out_dir: Path, staging: Path, run_id: str, good: bool) -> Path:
    final = out_dir / run_id
    os.rename(staging, final)
    if good:
        tmp = out_dir / f".latest-{run_id}"
        if tmp.is_symlink() or tmp.exists():
            tmp.unlink()
        os.symlink(run_id, tmp)  # relative: the output folder can be moved or served as is
        os.replace(tmp, out_dir / LATEST)
    return final


def _new_run_id(out_dir: Path, started: dt.datetime, fingerprint: str) -> str:
    base = f"{started.strftime('%Y%m%dT%H%M%SZ')}-{fingerprint[:8]}"
    run_id, n = base, 1
    while (out_dir / run_id).exists() or (out_dir / f".staging-{run_id}").exists():
        n += 1
        run_id = f"{base}-{n}"
    return run_id


def _load(config: Config, as_of: dt.date | None, progress: Callable[..., Any]):
    from ecrm_lib.data.load import load_sources  # late import: the loader is heavier than the runner

    return load_sources(config, as_of=as_of, progress=progress)


# --------------------------------------------------------------------- run
@dataclass
class _Plan:
    config: Config
    registry: Registry
    selected: list[NotebookSpec]
    parameters: dict[str, dict[str, Any]]
    as_of: dt.date | None
    inputs: list[dict[str, Any]]
    code_sha256: str
    git_commit: str | None
    git_dirty: bool | None
    fingerprint: str


def _plan(config_path, as_of, notebooks, registry_path, parameters, test_params) -> _Plan:
    """Read and check everything a run needs, without writing anything; fingerprint it."""
    config = load_config(config_path)
    registry = load_registry(registry_path)
    selected = registry.select(notebooks)
    names = [s.name for s in selected]
    params = registry.resolve_parameters(names, parameters, test_params)
    with warnings.catch_warnings():  # papermill's own parser limits are not the operator's problem
        warnings.simplefilter("ignore", UserWarning)
        registry.check_against_notebooks(names)
    as_of_date = as_date(as_of, "as-of date", optional=True)
    inputs = _input_hashes(config)
    code = _code_hash(registry, selected)
    commit, dirty = _git_state()
    fp = run_fingerprint(
        config.raw_text, inputs, as_of_date.isoformat() if as_of_date else None, params, names, code, commit
    )
    return _Plan(config, registry, selected, params, as_of_date, inputs, code, commit, dirty, fp)


def suite_fingerprint(
    config_path: str | os.PathLike,
    *,
    as_of: str | dt.date | None = None,
    notebooks: Iterable[str] | None = None,
    registry_path: str | os.PathLike | None = None,
    parameters: Mapping[str, Mapping[str, Any]] | None = None,
    test_params: bool = False,
) -> str:
    """The fingerprint :func:`run_suite` would compute with these arguments (nothing is loaded or run).

    Compare it with ``manifest.json``'s ``fingerprint`` of ``<out>/latest`` to
    know whether a run would be skipped as unchanged.
    """
    return _plan(config_path, as_of, notebooks, registry_path, parameters, test_params).fingerprint


def run_suite(
    config_path: str | os.PathLike,
    *,
    as_of: str | dt.date | None = None,
    notebooks: Iterable[str] | None = None,
    out_dir: str | os.PathLike = REPORTS_DIR,
    force: bool = False,
    registry_path: str | os.PathLike | None = None,
    parameters: Mapping[str, Mapping[str, Any]] | None = None,
    test_params: bool = False,
    cell_timeout: float | None = None,
    progress: Callable[..., Any] | None = print,
    history: bool = False,
    publish_latest: bool = True,
) -> RunOutcome:
    """Run the notebook suite on one config and publish the reports.

    Parameters
    ----------
    config_path : path-like
        The YAML config (see :mod:`ecrm_lib.core.config`).
    as_of : str (YYYY-MM-DD) or date, optional
        Analysis date; default: the config's ``as_of``, else the last date in the data.
    notebooks : iterable of str, optional
        Registry names to run (their upstreams are added); default: all.
    out_dir : path-like
        Output folder holding one folder per run and the ``latest`` symlink.
    force : bool
        Run even when the latest good run has the same fingerprint.
    registry_path : path-like, optional
        Notebook registry; default ``notebooks/registry.yaml``.
    parameters : mapping, optional
        ``{notebook: {parameter: value}}`` overriding the registry defaults.
    test_params : bool
        Use the registry's small ``test_parameters`` (overrides still win).
    cell_timeout : float, optional
        Per-cell time limit in seconds for notebooks whose registry entry has
        no ``timeout_s``; default: no limit.
    progress : callable, optional
        Called with one line of text per step (default ``print``); None for silence.
    history : bool
        When True and ``as_of`` is not given, first publish a run at each of
        the config's ``history_as_of`` dates that has no good run in
        ``out_dir`` yet, so that the feedback loop and the trends have
        earlier runs to read (``ecrm run`` does this unless ``--no-history``).
    publish_latest : bool
        False: publish the run folder but leave ``latest`` where it is (the
        earlier runs of ``history_as_of`` are published so, and a failed main
        run then leaves ``latest`` on the last good main run).

    Returns
    -------
    RunOutcome
        ``status`` is ``"ok"``, ``"failed"`` (a notebook failed; the run is
        published under its id but ``latest`` did not move) or ``"unchanged"``.

    Raises
    ------
    ConfigError, NotebookParameterError
        Bad config, registry, as-of date or parameters (nothing ran).
    DataSourceError, DataValidationError
        The data could not be loaded (nothing was written).
    RunFailedError
        Another run holds the output folder, or ``latest`` is not a symlink.
    """
    say: Callable[..., Any] = progress or (lambda *a, **k: None)
    if cell_timeout is not None and cell_timeout <= 0:
        raise ConfigError(f"cell timeout must be a positive number of seconds, got {cell_timeout!r}.")
    plan = _plan(config_path, as_of, notebooks, registry_path, parameters, test_params)
    config, registry, selected, params, as_of_date = plan.config, plan.registry, plan.selected, plan.parameters, plan.as_of
    fp, code, commit, dirty = plan.fingerprint, plan.code_sha256, plan.git_commit, plan.git_dirty

    out = Path(out_dir).expanduser().resolve()
    out.mkdir(parents=True, exist_ok=True)
    earlier: list[RunOutcome] = []
    if history and as_of is None and config.history_as_of:
        have = set(published_runs(out, config_name=config.name)["as_of"])
        for h in config.history_as_of:
            if h in have:
                continue
            say(f"Earlier run first: as of {h.isoformat()} (history_as_of in the config), so that the feedback "
                "loop and the trends have a previous run to read.")
            done = run_suite(config_path, as_of=h, notebooks=notebooks, out_dir=out, force=force,
                             registry_path=registry_path, parameters=parameters, test_params=test_params,
                             cell_timeout=cell_timeout, progress=progress, history=False, publish_latest=False)
            earlier.append(done)
            if not done.ok:
                say(f"The earlier run as of {h.isoformat()} failed; the main run goes on without it.")
    started = _now()  # after the earlier runs: run ids sort in the order the runs were made
    t0 = time.monotonic()
    latest = out / LATEST
    if latest.exists() and not latest.is_symlink():
        raise RunFailedError(
            f"{latest} is a folder or file, not the symlink the runner maintains; move it away and run again."
        )

    with _lock(out):
        _remove_stale(out, say)
        previous_dir = latest.resolve() if latest.is_symlink() and latest.exists() else None
        previous = _read_manifest(previous_dir) if previous_dir else None
        if not force and previous and previous.get("status") == "ok" and previous.get("fingerprint") == fp:
            say(
                f"Nothing changed since run {previous.get('run_id')} (same config, input files, as-of date, "
                f"parameters, notebooks and code): {latest / 'index.html'} is up to date. Use --force to run again."
            )
            return RunOutcome("unchanged", previous.get("run_id"), previous_dir, [], True, fp, out, earlier)

        run_id = _new_run_id(out, started, fp)
        say(f"Run {run_id}: config {config.name}, {len(selected)} notebook(s); loading data ...")
        try:
            result = _load(config, as_of_date, say)
        except Exception:
            say(f"Loading failed; nothing was published and {latest} is unchanged.")
            raise
        staging = out / f".staging-{run_id}"
        layout = prepare_run_folder(staging, config, result, previous_run=previous_dir, runs_dir=out)
        run_as_of = as_date(result.as_of, "as-of date")

        results = _run_notebooks(selected, params, config, layout, cell_timeout, say)

        status = "failed" if any(r.status == "failed" for r in results) else "ok"
        finished = _now()
        duration = time.monotonic() - t0
        previous_id = previous.get("run_id") if previous else (previous_dir.name if previous_dir else None)
        _write_index(layout, config, run_as_of, run_id, status, results, started, duration, previous_id,
                     first=[s.name for s in selected if s.show_first])
        cfg_path = Path(config.path) if config.path else None
        manifest = {
            "run_id": run_id,
            "status": status,
            "fingerprint": fp,
            "started": _iso(started),
            "finished": _iso(finished),
            "duration_s": round(duration, 3),
            "config": {
                "path": str(cfg_path) if cfg_path else None,
                "name": config.name,
                "sha256": hash_file(cfg_path) if cfg_path and cfg_path.is_file() else hashlib.sha256(config.raw_text.encode()).hexdigest(),
                "text": config.raw_text,
            },
            "as_of": run_as_of.isoformat(),
            "as_of_requested": as_of_date.isoformat() if as_of_date else None,
            "registry": str(registry.path),
            "previous_run": previous_id,
            "notebooks": {
                r.name: {
                    "title": r.title,
                    "status": r.status,
                    "duration_s": round(r.duration_s, 3),
                    "parameters": r.parameters,
                    "error": {"type": r.error_type, "message": r.error_message} if r.status == "failed" else None,
                    "skipped_reason": r.reason,
                    "html": r.html,
                    "products": r.products,
                    "metrics_keys": r.metrics_keys,
                }
                for r in results
            },
            "input_files": _files_records(getattr(result, "files", None)),
            "packages": package_versions(),
            "git": {"commit": commit, "dirty": dirty} if commit else None,
            "code_sha256": code,
            "host": {"cpu_count": os.cpu_count()},
        }
        _write_manifest(layout, manifest)
        final = _publish(out, staging, run_id, good=(status == "ok" and publish_latest))

    if status == "ok" and not publish_latest:
        say(f"Published run {run_id} in {duration:.1f} s as {final}; {latest} was left where it was.")
    elif status == "ok":
        say(f"Published run {run_id} in {duration:.1f} s; {latest / 'index.html'} now shows it.")
    else:
        failed = ", ".join(r.name for r in results if r.status == "failed")
        keep = f"{latest} still points at {previous_id}" if previous_id else f"{latest} was not created"
        say(f"Run {run_id} FAILED ({failed}); its pages are in {final}; {keep}.")
    return RunOutcome(status, run_id, final, results, False, fp, out, earlier)


def _run_notebooks(
    selected: list[NotebookSpec],
    params: dict[str, dict[str, Any]],
    config: Config,
    layout: RunLayout,
    cell_timeout: float | None,
    say: Callable[..., Any],
) -> list[NotebookResult]:
    results: dict[str, NotebookResult] = {}
    present = set(config.tables())
    n = len(selected)
    for i, spec in enumerate(selected, start=1):
        res = NotebookResult(spec.name, spec.title, spec.description, "ok", parameters=dict(params[spec.name]))
        res.html = layout.html(spec.name).name
        missing = [t for t in spec.required_inputs if t not in present]
        bad_up = [u for u in spec.upstream if results[u].blocks_downstream]
        if missing:
            res.status = "skipped"
            res.missing_inputs = list(missing)
            res.reason = f"needs {', '.join(missing)} (not in the config)"
            render_message_page(
                layout.html(spec.name), spec.title, "This report was skipped: its input data is missing",
                _missing_inputs_paragraphs(spec, missing, config),
            )
        elif bad_up:
            res.status = "skipped"
            what = "; ".join(f"{results[u].title} {'failed' if results[u].status == 'failed' else 'was skipped'}" for u in bad_up)
            res.reason = f"upstream {', '.join(bad_up)} did not succeed"
            render_message_page(
                layout.html(spec.name), spec.title, "This report was skipped: a report it builds on did not succeed",
                [
                    f"It reads results of an earlier report in this run, and {escape(what)}, so it was not run.",
                    "Fix the earlier report (its page says what went wrong) and run the suite again.",
                ],
            )
        else:
            timeout = spec.timeout_s or cell_timeout
            t = time.monotonic()
            try:
                _execute(spec, layout, params[spec.name], timeout)
            except Exception as e:  # any failure of one notebook must not stop the run
                res.status = "failed"
                res.error_type, res.error_message = _describe_error(e, timeout)
            res.duration_s = time.monotonic() - t
            res.metrics_keys = _recorded_metrics(layout, spec.name)
            res.products = _written_products(layout, spec.name)
            if res.status == "ok":
                problems = []
                lacking = [k for k in spec.metrics if k not in res.metrics_keys]
                if lacking:
                    problems.append(
                        f"the notebook did not record metric(s) {lacking} that the registry declares; record them "
                        "with ctx.record_metric(...) or remove them from the registry entry"
                    )
                lacking = [p for p in spec.products if p not in res.products]
                if lacking:
                    problems.append(
                        f"the notebook did not write product(s) {lacking} that the registry declares; write them "
                        "with ctx.write_product(...) or remove them from the registry entry"
                    )
                if problems:
                    res.status = "failed"
                    res.error_type = "MissingOutputs"
                    res.error_message = _clean_message("; ".join(problems) + ".")
            executed = layout.executed(spec.name)
            if res.status == "ok":
                try:
                    render_html(executed, layout.html(spec.name), spec.title)
                except Exception as e:
                    res.status = "failed"
                    res.error_type = "ReportRenderError"
                    res.error_message = _clean_message(f"the report page could not be rendered: {type(e).__name__}: {e}")
            if res.status == "failed":
                render_failure_page(
                    layout.html(spec.name), spec.title, res.error_type or "Error", res.error_message or "",
                    executed if executed.exists() else None,
                )
        results[spec.name] = res
        line = f"[{i}/{n}] {spec.name} ... {res.status}"
        if res.status == "ok":
            line += f" ({res.duration_s:.1f} s)"
        elif res.status == "failed":
            line = f"[{i}/{n}] {spec.name} ... FAILED ({res.duration_s:.1f} s): {res.error_type}: {res.error_message}"
        else:
            line += f" ({res.reason})"
        say(line)
    return list(results.values())
