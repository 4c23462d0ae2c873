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
import os
import shutil
import time
import warnings
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ecrm_lib.core.config import Config, load_config, parse_languages
from ecrm_lib.core.dates import as_date, iso_time
from ecrm_lib.core.errors import ConfigError, RunFailedError
from ecrm_lib.core.paths import REPORTS_DIR
from ecrm_lib.data.engine import REMOTE_ENV
from ecrm_lib.report.glossary import render_glossary_page
from ecrm_lib.run.context import RunLayout, prepare_run_folder, published_runs
from ecrm_lib.run.execute import (NotebookResult, default_jobs, default_memory_budget_mb, expected_peaks,
                                  for_each_language, language_links, run_notebooks)
from ecrm_lib.run.fingerprint import code_hash, git_state, hash_file, input_hashes, package_versions, run_fingerprint
from ecrm_lib.run.index_page import write_index
from ecrm_lib.run.registry import NotebookSpec, Registry, load_registry
from ecrm_lib.run.spark_server import run_server

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


# ----------------------------------------------------------------- helpers
def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


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
            # a database source: the server (secret masked), its row count and how the fingerprint was made
            **{k: _plain(rec[k]) for k in ("connection", "rows", "fingerprint") if _plain(rec.get(k)) is not None},
        })
    return out


def _plain(value: Any) -> Any:
    """A record's value as JSON takes it (None for a missing one)."""
    if value is None or value != value:
        return None
    return value.item() if hasattr(value, "item") else value


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
    """``<UTC start, to the second>-<fingerprint>``. Run ids sort in the order the runs were made: a run that starts
    in the same second as a run already in ``out_dir`` (an earlier as-of date of ``history_as_of`` and the main run,
    on a fast machine) takes the next second, as its fingerprint could otherwise sort before the other's."""
    stamp = started.replace(microsecond=0)
    taken = [p.name.removeprefix(".staging-")[:16] for p in out_dir.iterdir()] if out_dir.is_dir() else []
    latest = max((x for x in taken if len(x) == 16 and x[8] == "T" and x[15] == "Z" and x[:8].isdigit()), default="")
    while stamp.strftime("%Y%m%dT%H%M%SZ") <= latest:
        stamp += dt.timedelta(seconds=1)
    base = f"{stamp.strftime('%Y%m%dT%H%M%SZ')}-{fingerprint[:8]}"
    run_id, n = base, 1
    while (out_dir / run_id).exists() or (out_dir / f".staging-{run_id}").exists():
        n += 1
        run_id = f"{base}-{n}"
    return run_id


def _input_rows(result: Any) -> int | None:
    """Rows kept in the run's canonical tables (all sources), from the load's summary; None when it has none."""
    summary = getattr(result, "summary", None)
    if summary is None or "rows_kept" not in getattr(summary, "columns", ()):
        return None
    return int(summary["rows_kept"].fillna(0).sum())


def load_inputs(config: Config, as_of: dt.date | None, progress: Callable[..., Any], remote: str | None = None):
    """The loading step of a run: every source of ``config`` into canonical tables as of ``as_of``.

    The default ``loader`` of :func:`run_suite`; another loader (a test's, or a
    front end's with its own staging) takes the same three arguments and
    returns the same kind of result (:class:`ecrm_lib.data.load.LoadResult`).
    On Spark with Parquet sources the data load on the Spark Connect server at
    ``remote`` (the run's), else on embedded DuckDB
    (:func:`ecrm_lib.data.load.load_on_config_engine`).
    """
    from ecrm_lib.data.load import load_on_config_engine  # late import: the loader is heavier than the runner

    return load_on_config_engine(config, as_of, progress, remote=remote)


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


def _plan(config_path, as_of, notebooks, registry_path, parameters, test_params, languages=None) -> _Plan:
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
    inputs = input_hashes(config)
    code = code_hash(registry, selected)
    commit, dirty = git_state()
    langs = parse_languages(languages, "--language") if languages else config.languages
    fp = run_fingerprint(
        config.raw_text, inputs, as_of_date.isoformat() if as_of_date else None, params, names, code, commit, langs
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
    jobs: int | None = None,
    languages: Iterable[str] | str | None = None,
    loader: Callable[[Config, dt.date | None, Callable[..., Any]], Any] | None = None,
    memory_budget_mb: float | None = None,
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
    languages : str or iterable of str, optional
        Report languages, the first the main one (``"ko"``, ``"ko,en"``);
        default: the config's ``language``. The main language's pages are in the
        run folder, each other language's in a subfolder named by its code, and
        every page links its versions in the other languages.
    jobs : int, optional
        Notebooks run at the same time once their upstreams are done; default:
        the machine's cores (:func:`ecrm_lib.run.execute.default_jobs`). 1 runs
        them one after another in registry order.
    loader : callable, optional
        ``loader(config, as_of, progress)`` loads the sources into the run's
        canonical tables; default :func:`load_inputs`. It is called only after
        the config, registry and parameters have been checked.
    memory_budget_mb : float, optional
        MiB that notebooks running at the same time may expect to use together; default:
        :data:`~ecrm_lib.run.execute.MEMORY_BUDGET_SHARE` of the memory available when the notebooks start.
        A notebook's expected peak is its peak in the previous published run, scaled by the input rows
        (:func:`~ecrm_lib.run.execute.expected_peaks`); without a previous run only ``jobs`` applies.

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
    plan = _plan(config_path, as_of, notebooks, registry_path, parameters, test_params, languages)
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
                             cell_timeout=cell_timeout, progress=progress, history=False, publish_latest=False,
                             jobs=jobs, languages=languages, loader=loader, memory_budget_mb=memory_budget_mb)
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
        staging = out / f".staging-{run_id}"
        loaded = False
        try:
            # Spark without `remote:`: one Spark Connect server for the whole run, started while the data loads
            # and stopped when the notebooks are done (also on a failure or Ctrl-C)
            with run_server(config.engine, staging, name=f"ecrm-{run_id}") as server:
                if loader is not None:
                    result = loader(config, as_of_date, say)
                else:  # Parquet sources on Spark load on the run's server, once it is up (about 20 s)
                    from ecrm_lib.data.load import loads_on_spark

                    remote = server.wait_ready() if server is not None and loads_on_spark(config) else None
                    result = load_inputs(config, as_of_date, say, remote=remote)
                loaded = True
                every = registry.resolve_parameters(None, parameters, test_params)
                layout = prepare_run_folder(staging, config, result, previous_run=previous_dir, runs_dir=out,
                                            parameters={**every, **params}, registry=registry.path)
                run_as_of = as_date(result.as_of, "as-of date")
                kernel_env = {}
                if server is not None:
                    kernel_env[REMOTE_ENV] = server.wait_ready()
                    say(f"Spark Connect server of the run ready at {server.url} "
                        f"({time.monotonic() - (server.started_s or t0):.0f} s after its start).")
                langs = parse_languages(languages, "--language") if languages else config.languages
                input_rows = _input_rows(result)
                # the peaks of the latest good run of the same config (another config's data says nothing)
                same = previous is not None and (previous.get("config") or {}).get("name") == config.name
                expected = expected_peaks(previous if same else None, input_rows, [s.name for s in selected])
                budget = None
                if expected:  # peaks of an earlier run to go by
                    budget = memory_budget_mb if memory_budget_mb is not None else default_memory_budget_mb()
                results = run_notebooks(selected, params, config, layout, cell_timeout, say,
                                        jobs=jobs or default_jobs(), languages=langs, env=kernel_env,
                                        expected_mb=expected, memory_budget=budget)
        except Exception:
            if not loaded:
                shutil.rmtree(staging, ignore_errors=True)  # only the Spark server's scratch and log were there
                say(f"Loading failed; nothing was published and {latest} is unchanged.")
            raise
        shutil.rmtree(layout.root / "private" / "spill", ignore_errors=True)  # engines' overflow, not a result

        status = "failed" if any(r.status == "failed" for r in results) else "ok"
        finished = _now()
        duration = time.monotonic() - t0
        previous_id = previous.get("run_id") if previous else (previous_dir.name if previous_dir else None)
        first = [s.name for s in selected if s.show_first]

        def pages(folder: str) -> None:
            write_index(layout, config, run_as_of, run_id, status, results, started, duration, previous_id,
                        first=first, folder=folder, languages=language_links(langs, folder, "index.html"))
            render_glossary_page(layout.root / folder)

        for_each_language(langs, pages)
        cfg_path = Path(config.path) if config.path else None
        manifest = {
            "run_id": run_id,
            "status": status,
            "fingerprint": fp,
            "started": iso_time(started),
            "finished": iso_time(finished),
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
            # rows kept in the canonical tables: the next run scales this run's kernel peaks by its own
            "input_rows": input_rows,
            "notebooks": {
                r.name: {
                    "title": r.title,
                    "status": r.status,
                    "duration_s": round(r.duration_s, 3),
                    "peak_memory_mb": None if r.peak_memory_mb is None else round(r.peak_memory_mb, 1),
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


