"""Running notebooks: one notebook (:func:`run_notebook`), or the selected ones with their
upstreams first and independent ones at the same time (:func:`run_notebooks`).

Each notebook runs in its own Jupyter kernel through papermill, with the
(staging) run folder as ``run_dir``. A notebook fails on any exception (cell
error, killed kernel, cell timeout) and when it does not record a declared
metric or write a declared product; its page is then a failure page. A
notebook whose required input table is absent is skipped with a page saying
why, and so is one whose upstream failed.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import dataclasses
import json
import logging
import os
import queue
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ecrm_lib.core import progress
from ecrm_lib.core.config import Config
from ecrm_lib.core.i18n import t, t_or
from ecrm_lib.core.language import get_language, using
from ecrm_lib.core.paths import PROJ_ROOT
from ecrm_lib.core.privacy import scrub_pii
from ecrm_lib.core.schema import TABLES
from ecrm_lib.report.display import escape
from ecrm_lib.report.render import render_failure_page, render_html, render_message_page
from ecrm_lib.run import kernel_fork, kernels
from ecrm_lib.run.context import RunLayout
from ecrm_lib.run.registry import RUN_DIR_PARAMETER, NotebookSpec

__all__ = ["NotebookResult", "run_notebook", "run_notebooks", "default_jobs", "expected_peaks", "default_memory_budget_mb",
           "notebook_title", "notebook_description", "for_each_language", "language_links"]


_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


_MAX_MESSAGE = 2000


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
    peak_memory_mb : float or None
        Largest resident memory of its kernel in MiB (:func:`ecrm_lib.run.kernels.peak_memory_mb`; None when
        skipped or where it cannot be read).
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
    peak_memory_mb: float | None = None
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


class _DropPapermillParamWarning(logging.Filter):
    # Parameters were checked against the parameters cell (parsed as Python) before the run;
    # papermill's line parser misses some lines and would warn wrongly.
    def filter(self, record: logging.LogRecord) -> bool:
        msg = str(record.getMessage())
        return not (msg.startswith("Passed unknown parameter") or msg.startswith("Unable to parse line"))


_PARAM_WARNING_FILTER = _DropPapermillParamWarning()


_ENV_LOCK = threading.Lock()
_ENV_DEPTH = [0]
_ENV_SAVED: dict[str, str | None] = {}
_QUIET_LOGGERS: list[tuple[logging.Logger, bool, list]] = []


@contextlib.contextmanager
def _kernel_env(extra: dict[str, str] | None = None):
    """Environment of the notebook kernels: this checkout's ecrm_lib first, inline figures, ``extra``.

    Re-entrant and safe across threads: the outermost use sets and restores the
    variables (the notebooks of one run share them).
    """
    with _ENV_LOCK:
        _ENV_DEPTH[0] += 1
        if _ENV_DEPTH[0] == 1:
            keys = ("PYTHONPATH", "MPLBACKEND", *(extra or {}))
            _ENV_SAVED.clear()
            _ENV_SAVED.update({k: os.environ.get(k) for k in keys})
            parts = [str(PROJ_ROOT)] + [p for p in (_ENV_SAVED["PYTHONPATH"] or "").split(os.pathsep) if p]
            os.environ["PYTHONPATH"] = os.pathsep.join(dict.fromkeys(parts))
            # ipykernel only shows figures inline when MPLBACKEND is unset or inline; CI sets Agg.
            os.environ["MPLBACKEND"] = "module://matplotlib_inline.backend_inline"
            os.environ.update(extra or {})
            for name in _PAPERMILL_LOGGERS:
                logging.getLogger(name).addFilter(_PARAM_WARNING_FILTER)
            _QUIET_LOGGERS.clear()
            for name in ("papermill", "nbclient", "traitlets"):
                log = logging.getLogger(name)
                _QUIET_LOGGERS.append((log, log.propagate, log.handlers[:]))
                log.propagate = False  # the runner reports each failure once; papermill's own lines add nothing
                log.handlers = [logging.NullHandler()]
    try:
        yield
    finally:
        with _ENV_LOCK:
            _ENV_DEPTH[0] -= 1
            if _ENV_DEPTH[0] == 0:
                for name in _PAPERMILL_LOGGERS:
                    logging.getLogger(name).removeFilter(_PARAM_WARNING_FILTER)
                for log, propagate, handlers in _QUIET_LOGGERS:
                    log.propagate, log.handlers = propagate, handlers
                for k, v in _ENV_SAVED.items():
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


def _execute(spec: NotebookSpec, layout: RunLayout, parameters: dict[str, Any], timeout: float | None,
             km: Any = None, memory: list | None = None) -> None:
    """Run the notebook with papermill in ``km`` (a kernel started for it by :func:`start_notebook_kernel`), or in
    a kernel started here; the kernel is stopped afterwards either way, its peak memory (MiB) appended to
    ``memory`` before (a failed notebook's too)."""
    import papermill

    out = layout.executed(spec.name)
    out.parent.mkdir(parents=True, exist_ok=True)
    with _kernel_env():
        if km is None:
            km = start_notebook_kernel(spec, layout)
        try:
            papermill.execute_notebook(
                str(spec.path),
                str(out),
                parameters={**parameters, RUN_DIR_PARAMETER: str(layout.root)},
                kernel_name="python3",
                execution_timeout=timeout,
                progress_bar=False,
                log_output=False,
                km=km,
            )
        finally:  # stopped before the downstream notebooks start, an early kernel too (its data freed)
            if memory is not None:
                memory.append(kernels.peak_memory_mb(km))
            kernels.stop_kernel(km)


def start_notebook_kernel(spec: NotebookSpec, layout: RunLayout, fork_server=None):
    """Start the kernel ``spec``'s notebook runs in: in the run folder (not papermill's ``cwd=``, which would
    ``os.chdir`` the whole process under notebooks running in parallel threads), with its own progress file,
    importing the notebook's modules as it starts, or forked from ``fork_server`` which has imported them
    (:mod:`ecrm_lib.run.kernels`, :mod:`ecrm_lib.run.kernel_fork`)."""
    return kernels.start_kernel(spec.path, layout.kernel_log(spec.name), layout.root,
                                {progress.ENV_VAR: str(layout.progress_file(spec.name))}, fork_server=fork_server)


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
        f"<code>{escape(tb)}</code>: {', '.join(escape(c) for c in TABLES[tb].required_columns())}" for tb in missing
    )
    tables = ", ".join(f"<code>{escape(tb)}</code>" for tb in missing)
    return [
        t("skip.missing_body", tables=tables, config=escape(config.name)),
        t("skip.missing_fix", table=escape(missing[0]), columns=cols),
    ]


def notebook_title(spec: NotebookSpec) -> str:
    """A notebook's title in the report language (the registry's for a notebook the catalogue does not know)."""
    return t_or(f"notebooks.{spec.name}.title", spec.title)


def notebook_description(spec: NotebookSpec) -> str:
    """A notebook's one-line description in the report language (else the registry's)."""
    return t_or(f"notebooks.{spec.name}.description", spec.description)


def for_each_language(languages: tuple[str, ...], write: Callable[[str], Any]) -> None:
    """Call ``write(folder)`` once per report language, in that language: the main language's pages go
    in the run folder itself (``folder=""``), each other language's in a subfolder named by its code."""
    for i, lang in enumerate(languages):
        with using(lang):
            write("" if i == 0 else lang)


def language_links(languages: tuple[str, ...], folder: str, page: str) -> list[tuple[str, str]]:
    """``(code, relative URL)`` of ``page`` in the other report languages, seen from ``folder``.

    >>> language_links(("ko", "en"), "", "churn.html"), language_links(("ko", "en"), "en", "churn.html")
    ([('en', 'en/churn.html')], [('ko', '../churn.html')])
    """
    up = "../" if folder else ""
    out = []
    for i, lang in enumerate(languages):
        target = "" if i == 0 else lang
        if target != folder:
            out.append((lang, f"{up}{target + '/' if target else ''}{page}"))
    return out


def default_jobs() -> int:
    """Notebooks run at the same time by default: the machine's cores."""
    return max(1, os.cpu_count() or 1)


#: Resident memory of a kernel that has imported the suite's modules and holds no data (MiB): the part of a
#: notebook's peak that does not grow with the input (measured 280-340 MiB on the default data).
KERNEL_BASE_MB = 300.0

#: Share of the memory available when the notebooks start that the notebooks running at the same time may
#: expect to use together (:func:`default_memory_budget_mb`); the rest is the runner's, the page cache's and the
#: estimates' margin.
MEMORY_BUDGET_SHARE = 0.8


def expected_peaks(previous: dict[str, Any] | None, input_rows: int | None,
                   notebooks: list[str] | None = None) -> dict[str, float]:
    """Each notebook's expected kernel peak (MiB) for ``input_rows``, from an earlier run's manifest.

    A notebook's peak above :data:`KERNEL_BASE_MB` is taken to grow in
    proportion to the input rows (the tables it holds are per customer,
    per account or per row); the base does not grow.

    Parameters
    ----------
    previous : dict or None
        An earlier run's ``manifest.json`` (its ``input_rows`` and each notebook's ``peak_memory_mb``).
    input_rows : int or None
        Rows kept in this run's canonical tables (all tables).
    notebooks : list of str, optional
        This run's notebooks: one the earlier run has no peak for is expected at the largest of the others.

    Returns
    -------
    dict
        Notebook -> MiB; empty when the earlier run recorded no peaks or no input rows.

    Examples
    --------
    >>> expected_peaks({"input_rows": 1000, "notebooks": {"churn": {"peak_memory_mb": 700.0}}}, 10_000)
    {'churn': 4300.0}
    """
    before = (previous or {}).get("input_rows")
    if not before or not input_rows:
        return {}
    scale = float(input_rows) / float(before)
    out = {}
    for name, rec in ((previous or {}).get("notebooks") or {}).items():
        peak = (rec or {}).get("peak_memory_mb")
        if peak:
            out[name] = KERNEL_BASE_MB + max(0.0, float(peak) - KERNEL_BASE_MB) * scale
    if out:
        out.update({n: max(out.values()) for n in (notebooks or []) if n not in out})
    return out


def default_memory_budget_mb(share: float = MEMORY_BUDGET_SHARE) -> float | None:
    """``share`` of the memory available now (Linux ``MemAvailable``, MiB); None where it cannot be read."""
    try:
        with open("/proc/meminfo", encoding="ascii") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return share * int(line.split()[1]) / 1024.0
    except OSError:
        return None
    return None


def _skip(spec: NotebookSpec, layout: RunLayout, config: Config, params: dict[str, Any],
          results: dict[str, NotebookResult], languages: tuple[str, ...] = ("en",)) -> NotebookResult | None:
    """The skipped result of a notebook whose inputs are absent or whose upstream did not succeed, else None."""
    res = NotebookResult(spec.name, spec.title, spec.description, "skipped", parameters=dict(params))
    res.html = layout.html(spec.name).name
    missing = [tb for tb in spec.required_inputs if tb not in set(config.tables())]
    bad_up = [u for u in spec.upstream if u in results and results[u].blocks_downstream]
    if missing:
        res.missing_inputs = list(missing)
        res.reason = f"needs {', '.join(missing)} (not in the config)"
        for_each_language(languages, lambda folder: render_message_page(
            layout.html(spec.name, folder), notebook_title(spec), t("skip.missing_heading"),
            _missing_inputs_paragraphs(spec, missing, config)))
        return res
    if bad_up:
        res.reason = f"upstream {', '.join(bad_up)} did not succeed"

        def write(folder: str) -> None:
            what = " ".join(t("skip.upstream_failed" if results[u].status == "failed" else "skip.upstream_skipped",
                              title=t_or(f"notebooks.{u}.title", results[u].title)) for u in bad_up)
            render_message_page(layout.html(spec.name, folder), notebook_title(spec), t("skip.upstream_heading"),
                                [t("skip.upstream_body", what=escape(what)), t("skip.upstream_fix")])

        for_each_language(languages, write)
        return res
    return None


def run_notebook(spec: NotebookSpec, layout: RunLayout, parameters: dict[str, Any],
                 timeout: float | None = None, languages: tuple[str, ...] = ("en",), km: Any = None,
                 on_executed: Callable[[NotebookResult], Any] | None = None) -> NotebookResult:
    """Execute one notebook on a prepared run folder and render its page.

    Parameters
    ----------
    spec : NotebookSpec
        Its registry entry.
    layout : RunLayout
        The (staging) run folder, prepared with :func:`ecrm_lib.run.context.prepare_run_folder`.
    parameters : dict
        Its parameters (without ``run_dir``).
    timeout : float, optional
        Per-cell time limit in seconds; the registry's ``timeout_s`` wins.
    languages : tuple of str
        Report languages; the page is rendered once per language (the main one
        beside the index, the others in a subfolder per language).
    km : jupyter_client kernel manager, optional
        A kernel already started for this notebook in this thread (:func:`start_notebook_kernel`); by
        default one is started here. Either way it is stopped once the notebook ran; a kernel handed in
        was started earlier, so its start is not in ``duration_s``.
    on_executed : callable, optional
        Called with the result once the notebook ran and its declared metrics and products were checked,
        before its pages are rendered (the scheduler starts its downstream notebooks then).

    Returns
    -------
    NotebookResult
        ``ok`` or ``failed`` (with the error's type and a scrubbed message);
        the executed notebook is in ``executed/``, its page beside the index.
    """
    res = NotebookResult(spec.name, spec.title, spec.description, "ok", parameters=dict(parameters))
    res.html = layout.html(spec.name).name
    timeout = spec.timeout_s or timeout
    t = time.monotonic()
    memory: list = []
    try:
        _execute(spec, layout, parameters, timeout, km, memory)
    except Exception as e:  # any failure of one notebook must not stop the run
        res.status = "failed"
        res.error_type, res.error_message = _describe_error(e, timeout)
    res.duration_s = time.monotonic() - t
    res.peak_memory_mb = memory[0] if memory else None
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
    if on_executed is not None:  # a copy: a page that then fails to render fails this notebook, not its downstream
        on_executed(dataclasses.replace(res))
    executed = layout.executed(spec.name)
    if res.status == "ok":
        try:
            for_each_language(languages, lambda folder: render_html(
                executed, layout.html(spec.name, folder), notebook_title(spec), lang=get_language(),
                languages=language_links(languages, folder, layout.html(spec.name).name)))
        except Exception as e:
            res.status = "failed"
            res.error_type = "ReportRenderError"
            res.error_message = _clean_message(f"the report page could not be rendered: {type(e).__name__}: {e}")
    if res.status == "failed":
        for_each_language(languages, lambda folder: render_failure_page(
            layout.html(spec.name, folder), notebook_title(spec), res.error_type or "Error", res.error_message or "",
            executed if executed.exists() else None))
    return res


class _ProgressWatcher(threading.Thread):
    """Prints the progress lines notebooks write while they run (:mod:`ecrm_lib.core.progress`)."""

    def __init__(self, layout: RunLayout, names: list[str], say: Callable[..., Any], every_s: float = 1.0):
        super().__init__(daemon=True)
        self.layout, self.names, self.say, self.every_s = layout, names, say, every_s
        self.offsets: dict[str, int] = {}
        self.stopped = threading.Event()
        self.lock = threading.Lock()

    def poll(self) -> None:
        with self.lock:
            self._poll()

    def _poll(self) -> None:
        for name in self.names:
            path = self.layout.progress_file(name)
            try:
                with open(path, "rb") as f:
                    f.seek(self.offsets.get(name, 0))
                    data = f.read()
            except OSError:
                continue
            complete = data[: data.rfind(b"\n") + 1]  # whole lines only
            self.offsets[name] = self.offsets.get(name, 0) + len(complete)
            for line in complete.decode("utf-8", "replace").splitlines():
                if line.strip():
                    self.say(f"    {name} {line}")

    def run(self) -> None:
        while not self.stopped.wait(self.every_s):
            self.poll()

    def stop(self) -> None:
        self.stopped.set()
        self.join(timeout=5)
        self.poll()


def _progress_line(i: int, n: int, res: NotebookResult) -> str:
    took = f"{res.duration_s:.1f} s" + ("" if res.peak_memory_mb is None else f", {res.peak_memory_mb:,.0f} MiB")
    if res.status == "ok":
        return f"[{i}/{n}] {res.name} ... ok ({took})"
    if res.status == "failed":
        return f"[{i}/{n}] {res.name} ... FAILED ({took}): {res.error_type}: {res.error_message}"
    return f"[{i}/{n}] {res.name} ... skipped ({res.reason})"


def run_notebooks(
    selected: list[NotebookSpec],
    params: dict[str, dict[str, Any]],
    config: Config,
    layout: RunLayout,
    cell_timeout: float | None = None,
    progress: Callable[..., Any] | None = None,
    jobs: int = 1,
    languages: tuple[str, ...] = ("en",),
    env: dict[str, str] | None = None,
    expected_mb: dict[str, float] | None = None,
    memory_budget: float | None = None,
) -> list[NotebookResult]:
    """Run the selected notebooks, each once its upstreams are done, up to ``jobs`` at the same time.

    With ``expected_mb`` and ``memory_budget``, a notebook starts beside
    others only while their expected peaks (a kernel started early counts
    :data:`KERNEL_BASE_MB`) and its own add up to at most the budget; one
    that does not fit waits (said once in the progress) and no notebook
    after it in registry order starts before it; a notebook always starts
    when nothing else runs.

    Parameters
    ----------
    selected : list of NotebookSpec
        In registry order (upstreams before the notebooks that read them).
    params : dict
        ``{notebook: parameters}``.
    config : Config
    layout : RunLayout
        The prepared (staging) run folder.
    cell_timeout : float, optional
        Per-cell limit in seconds for notebooks without ``timeout_s``.
    progress : callable, optional
        Called with one line per finished notebook (``[k/n] name ... status``).
    jobs : int
        Notebooks run at the same time (1: one after another, in registry order).
    languages : tuple of str
        Report languages (the first is the main one); the kernels get them as
        ``$ECRM_LANGUAGES`` and each page is rendered in each.
    env : dict, optional
        More environment variables for the kernels (the run's Spark Connect
        server: ``$ECRM_SPARK_REMOTE``, :data:`ecrm_lib.data.engine.REMOTE_ENV`).
    expected_mb : dict, optional
        Notebook -> expected kernel peak in MiB (:func:`expected_peaks`); a notebook without one counts as
        :data:`KERNEL_BASE_MB`.
    memory_budget : float, optional
        MiB that the notebooks running at the same time may expect to use together (:func:`default_memory_budget_mb`);
        None: no memory rule, only ``jobs``.

    Returns
    -------
    list of NotebookResult
        In registry order, whatever order they finished in.
    """
    say = progress or (lambda *a, **k: None)
    jobs = max(1, int(jobs))
    names = [s.name for s in selected]
    specs = dict(zip(names, selected))
    results: dict[str, NotebookResult] = {}
    lock = threading.Lock()
    done_count = [0]

    def finish(res: NotebookResult) -> None:
        watcher.poll()  # its last progress lines before its result
        with lock:
            results[res.name] = res
            done_count[0] += 1
            say(_progress_line(done_count[0], len(names), res))

    pending = list(names)
    running: set[str] = set()                      # notebooks executing (not those only rendering their pages)
    executed: dict[str, NotebookResult] = {}       # ran and checked (their pages may still be rendering)
    early: dict[str, kernels.EarlyKernel] = {}     # kernels started before their notebook may run
    events: queue.Queue = queue.Queue()            # ("executed" | "done", name, result, error) from the workers
    open_tasks: set[str] = set()                   # submitted and not done yet (early kernels included)

    def ready(name: str) -> bool:
        return all(u in executed or u not in specs for u in specs[name].upstream)

    expected = dict(expected_mb or {})
    told_to_wait: set[str] = set()

    def fits(name: str) -> bool:
        # nothing running: always (a notebook larger than the budget runs alone)
        if not running or memory_budget is None or not expected:
            return True
        beside = (sum(expected.get(r, KERNEL_BASE_MB) for r in running)
                  + KERNEL_BASE_MB * sum(1 for e in early if e not in running and e != name))
        need = expected.get(name, KERNEL_BASE_MB)
        if beside + need <= memory_budget:
            return True
        if name not in told_to_wait:
            told_to_wait.add(name)
            say(f"{name} waits for {', '.join(sorted(running))}: its expected peak of {need:,.0f} MiB beside "
                f"their {beside:,.0f} MiB would pass the run's memory budget of {memory_budget:,.0f} MiB (expected "
                "peaks: the previous run's, scaled by the input rows).")
        return False

    def task(name: str, gate: kernels.EarlyKernel | None = None) -> None:
        spec = specs[name]

        def run(km=None):
            if km is None and forks is not None:
                km = start_forked(spec)
            return run_notebook(spec, layout, params[name], cell_timeout, languages, km=km,
                                on_executed=lambda r: events.put(("executed", name, r, None)))

        try:
            res = gate.wait_then(lambda: start_notebook_kernel(spec, layout, forks), run) if gate else run()
            events.put(("done", name, res, None))
        except BaseException as e:  # noqa: BLE001 - raised again in the scheduler's thread
            events.put(("done", name, None, e))

    def worth_starting_early(name: str) -> bool:
        # every upstream not executed yet is running (so this one will be ready when they end), none failed
        ups = [u for u in specs[name].upstream if u in specs]
        return (name not in early and not ready(name) and all(u in running or u in executed for u in ups)
                and not any(executed[u].blocks_downstream for u in ups if u in executed))

    def start_forked(spec: NotebookSpec):
        try:
            return start_notebook_kernel(spec, layout, forks)
        except Exception:  # noqa: BLE001 - forking is an optimisation: run_notebook starts the kernel the usual way
            return None

    env_parallel = {"ECRM_PARALLEL_NOTEBOOKS": str(jobs), "ECRM_LANGUAGES": ",".join(languages), **(env or {})}
    watcher = _ProgressWatcher(layout, names, say)
    watcher.start()
    forks = None
    # ``jobs`` notebooks run at once; up to ``jobs`` more threads hold kernels started early (an idle core starts the
    # kernel of a notebook whose upstreams are running, so that it runs as soon as they end), and a notebook's pages
    # render while its downstream notebooks already run
    with _kernel_env(env_parallel), concurrent.futures.ThreadPoolExecutor(max_workers=3 * jobs) as pool:
        stopped = True  # until every notebook is done
        try:
            # the kernels are forked from one process that imports their modules once (and is kept for the next run)
            if names and kernel_fork.forking_enabled():
                try:  # the server of an earlier run in this process when it fits (kernel_fork.acquire)
                    forks = kernel_fork.acquire(list(dict.fromkeys(m for s in selected for m in kernels.notebook_modules(s.path))))
                except Exception:  # noqa: BLE001 - an optimisation: the kernels then start the usual way
                    forks = None
            while pending or open_tasks:
                for name in [n for n in pending if ready(n)]:
                    if len(running) >= jobs:
                        break
                    skipped = _skip(specs[name], layout, config, params[name], executed, languages)
                    if skipped is None and not fits(name):
                        break  # it starts when others end; none after it overtakes it (a large one would wait for ever)
                    pending.remove(name)
                    if skipped is not None:
                        if name in early:
                            early.pop(name).cancel()
                        executed[name] = skipped
                        finish(skipped)
                        continue
                    running.add(name)
                    if name in early:
                        early.pop(name).release()
                    else:
                        open_tasks.add(name)
                        pool.submit(task, name)
                if jobs > 1:
                    for name in [n for n in pending if worth_starting_early(n)]:
                        if len(running) + len(early) >= jobs:
                            break
                        early[name] = kernels.EarlyKernel(name)
                        open_tasks.add(name)
                        pool.submit(task, name, early[name])
                if not open_tasks:
                    continue  # skips made more notebooks ready
                kind, name, res, error = events.get()
                if error is not None:
                    raise error
                if kind == "executed":
                    running.discard(name)
                    if res.status == "ok":  # a failure's downstream is skipped once its own line is out ("done")
                        executed[name] = res
                else:
                    open_tasks.discard(name)
                    running.discard(name)
                    if res is not None:  # None: an early kernel that was not used (or a task that raised)
                        executed.setdefault(name, res)
                        finish(res)
            stopped = False
        finally:
            for gate in early.values():  # the run stops (an error, an interrupt): no kernel waits for ever
                gate.cancel()
            if forks is not None:  # kept for the next run; closed if the run stopped (and no other run uses it: a kernel
                # still running then goes with it)
                kernel_fork.release(forks, failed=stopped)
    watcher.stop()
    return [results[n] for n in names]
