"""What a notebook sees of a run: its validated input tables, its parameters'
context (config, as-of date, currency), and where to record metrics and write
products.

A run folder has this layout (``RunLayout`` names every path)::

    index.html, manifest.json, <notebook>.html      the shareable report
    executed/<notebook>.ipynb                       executed notebooks (with outputs)
    metrics/<notebook>.json                         headline figures, documented keys
    products/<notebook>/<name>.parquet              pseudonymous tables for later notebooks and runs
    load/load_report.csv, load/set_aside.csv        what was read and what was set aside, and why
    load/adjustments.csv                            counted changes to kept rows (time zones, encodings)
    load/files.csv                                  every input file with its SHA-256
    private/canonical/<table>.parquet               validated input tables (personal data: do not share)
    private/products/<notebook>/<name>.parquet      products with personal data (e.g. golden records)
    private/logs/<notebook>.kernel.log              what a notebook's kernel process printed (not its outputs)

Notebooks open their context with :meth:`RunContext.open`. Under the runner
the ``run_dir`` parameter points at the staging folder, where the runner has
already loaded and validated the data once; opened by hand in JupyterLab
(``run_dir=None``) the context loads the config into a scratch folder
``reports/_interactive/<config name>/`` so that the same notebook works there.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import os
import re
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from ecrm_lib.core.config import Config, load_config
from ecrm_lib.core.dates import as_date
from ecrm_lib.core.errors import EcrmError
from ecrm_lib.core.i18n import set_currency
from ecrm_lib.core.language import set_language
from ecrm_lib.core.paths import DEFAULT_CONFIG, REPORTS_DIR
from ecrm_lib.core.privacy import personal_columns
from ecrm_lib.data.tables import is_ibis, write_parquet
from ecrm_lib.run.registry import Registry, load_registry
from ecrm_lib.run.memory import release_after_each_cell

__all__ = ["RunLayout", "RunContext", "published_runs"]


@dataclass(frozen=True)
class RunLayout:
    """Paths inside one run folder."""

    root: Path

    @property
    def index(self) -> Path:
        return self.root / "index.html"

    @property
    def manifest(self) -> Path:
        return self.root / "manifest.json"

    def html(self, notebook: str, folder: str = "") -> Path:
        """A notebook's page: beside the index for the main language, in ``<folder>/`` for another."""
        return (self.root / folder if folder else self.root) / f"{notebook}.html"

    def executed(self, notebook: str) -> Path:
        return self.root / "executed" / f"{notebook}.ipynb"

    def metrics(self, notebook: str) -> Path:
        return self.root / "metrics" / f"{notebook}.json"

    def products_dir(self, notebook: str) -> Path:
        return self.root / "products" / notebook

    def product(self, notebook: str, name: str) -> Path:
        return self.products_dir(notebook) / f"{name}.parquet"

    def private_product(self, notebook: str, name: str) -> Path:
        return self.root / "private" / "products" / notebook / f"{name}.parquet"

    @property
    def load_dir(self) -> Path:
        return self.root / "load"

    @property
    def canonical_dir(self) -> Path:
        return self.root / "private" / "canonical"

    def canonical(self, table: str) -> Path:
        return self.canonical_dir / f"{table}.parquet"

    def kernel_log(self, notebook: str) -> Path:
        """The stdout/stderr of a notebook's kernel process (not its outputs, which are in the notebook)."""
        return self.root / "private" / "logs" / f"{notebook}.kernel.log"

    def progress_file(self, notebook: str) -> Path:
        """Progress lines of a notebook's long steps (:mod:`ecrm_lib.core.progress`), printed by the runner."""
        return self.root / "private" / "logs" / f"{notebook}.progress"

    def spill_dir(self, notebook: str) -> Path:
        """Where a notebook's engine writes what does not fit in memory (removed after the run)."""
        return self.root / "private" / "spill" / notebook

    @property
    def run_info(self) -> Path:
        """Small JSON the runner writes first: config path, as-of date, previous run."""
        return self.root / "run.json"


def _write_table(df, path: Path) -> Path:
    """A DataFrame (written by pandas) or an Ibis table (written by the engine) to the Parquet file ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if is_ibis(df):
        write_parquet(df, path)
    else:
        df.to_parquet(path, index=False)
    return path


def _jsonable(value: Any) -> Any:
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, (dt.date, dt.datetime, pd.Timestamp)):
        return value.isoformat()
    return value


class RunContext:
    """A notebook's view of one run folder.

    Parameters
    ----------
    run_dir : path-like
        The run (or staging) folder, laid out as :class:`RunLayout` says.
    notebook : str
        Registry name of the notebook using the context.

    Notes
    -----
    Input tables live in the engine (:mod:`ecrm_lib.data.engine`):
    :meth:`table` gives an Ibis table, and only per-customer or aggregated
    results come into pandas. :meth:`frame` reads a small table (channel
    costs, a campaign list) into pandas.
    """

    def __init__(self, run_dir: str | os.PathLike, notebook: str, language: str | None = None):
        self.layout = RunLayout(Path(run_dir))
        self.notebook = notebook
        info_path = self.layout.run_info
        if not info_path.exists():
            raise EcrmError(
                f"{run_dir} is not a prepared run folder (no run.json). "
                "Run the notebook through `ecrm run`, or pass run_dir=None to load the config interactively."
            )
        self.info = json.loads(info_path.read_text(encoding="utf-8"))
        self.config: Config = load_config(self.info["config"])
        self.as_of = as_date(self.info["as_of"], "as_of")
        self.currency = self.config.currency
        prev = self.info.get("previous_run")
        self.previous_run_dir: Path | None = Path(prev) if prev else None
        runs = self.info.get("runs_dir")
        self.runs_dir: Path | None = Path(runs) if runs else None
        self.registry: Registry = load_registry(self.info.get("registry") or None)
        # report language: the run's main one (the runner sets $ECRM_LANGUAGES), else the one asked for, else the config's
        run_langs = [x for x in os.environ.get("ECRM_LANGUAGES", "").split(",") if x.strip()]
        self.language = set_language(run_langs[0] if run_langs else (language or self.config.language))
        set_currency(self.currency)
        self._frames: dict[str, pd.DataFrame] = {}
        self._engine = None
        release_after_each_cell()  # freed memory goes back to the system after each cell (ecrm_lib.run.memory)

    # ----------------------------------------------------------------- opening
    @classmethod
    def open(
        cls,
        run_dir: str | os.PathLike | None = None,
        notebook: str = "interactive",
        config: str | os.PathLike | None = None,
        as_of: str | dt.date | None = None,
        reload: bool = False,
        language: str | None = None,
    ) -> "RunContext":
        """Open a run folder, or an interactive one when ``run_dir`` is None.

        Parameters
        ----------
        run_dir : path-like, optional
            Folder prepared by the runner. None: the interactive run folder of
            ``config`` and ``as_of`` (:func:`interactive_run`): loaded and
            validated on first use, then kept, so that notebooks run by hand
            one after another see each other's products.
        notebook : str
            Registry name of the calling notebook.
        config : path-like, optional
            Config for the interactive case; default: ``$ECRM_CONFIG`` when set, else the embedded default data.
        as_of : str or date, optional
            As-of date for the interactive case (YYYY-MM-DD); default: the
            config's, else the last date in the data.
        reload : bool
            Interactive case: load the data again even when the folder is up to date.
        language : str, optional
            Report language when opened by hand (``"en"`` or ``"ko"``); default:
            the config's. Under ``ecrm run`` the run's languages apply.
        """
        if run_dir:
            return cls(run_dir, notebook, language)
        return cls(interactive_run(config, as_of, reload=reload), notebook, language)

    # ------------------------------------------------------------------ engine
    @property
    def engine(self):
        """This notebook's Ibis connection (:func:`ecrm_lib.data.engine.connect`), opened on first use."""
        if self._engine is None:
            from ecrm_lib.data.engine import connect

            parallel = int(os.environ.get("ECRM_PARALLEL_NOTEBOOKS", "1") or 1)
            self._engine = connect(self.config.engine, spill_dir=self.layout.spill_dir(self.notebook), parallel=parallel)
        return self._engine

    # ------------------------------------------------------------------ inputs
    def has(self, table: str) -> bool:
        """True when the config feeds ``table`` and it was loaded."""
        return self.layout.canonical(table).exists()

    def _canonical_path(self, table: str) -> Path:
        path = self.layout.canonical(table)
        if not path.exists():
            raise EcrmError(
                f"table {table!r} is not among this run's inputs (config {self.config.path}). "
                f"Add a source with `table: {table}` to the config, or check ctx.has({table!r}) first."
            )
        return path

    def table(self, table: str):
        """A validated canonical table as an Ibis table on this run's engine.

        See :mod:`ecrm_lib.core.schema` for its columns. Aggregate it in the
        engine; bring only per-customer or aggregated results into pandas.
        """
        from ecrm_lib.data.engine import read_parquet

        return read_parquet(self.engine, self._canonical_path(table), name=table)

    def frame(self, table: str) -> pd.DataFrame:
        """A validated canonical table read into pandas (a copy), for small tables such as ``channel_costs``."""
        if table not in self._frames:
            self._frames[table] = pd.read_parquet(self._canonical_path(table))
        return self._frames[table].copy()

    def load_report(self) -> pd.DataFrame:
        """Per source: rows read, set aside and kept (``LoadResult.summary``); reasons are in :meth:`set_aside_rows`."""
        return pd.read_csv(self.layout.load_dir / "load_report.csv")

    def set_aside_rows(self) -> pd.DataFrame:
        """Every set-aside row: source, file name, line and reason (no raw values)."""
        return pd.read_csv(self.layout.load_dir / "set_aside.csv")

    def adjustments(self) -> pd.DataFrame:
        """Counted changes that kept rows (e.g. naive timestamps read in the source time zone)."""
        return pd.read_csv(self.layout.load_dir / "adjustments.csv")

    def input_files(self) -> pd.DataFrame:
        """Every input file: source, table, file name, bytes and SHA-256."""
        return pd.read_csv(self.layout.load_dir / "files.csv")

    def truth(self, name: str, **read_csv: Any) -> pd.DataFrame | dict | None:
        """A file of the known truth beside the config (``truth/<name>``), or None when there is none.

        Generated data (:func:`ecrm_lib.data.synth.generate`) has one; a
        company's own data has none, and the reports then say so.

        Parameters
        ----------
        name : str
            File name, e.g. ``"persons.csv"`` (read with :func:`pandas.read_csv`
            and ``read_csv``'s keyword arguments) or ``"truth.json"`` (a dict).
        """
        if self.config.path is None:
            return None
        path = Path(self.config.path).parent / "truth" / name
        if not path.is_file():
            return None
        if path.suffix == ".json":
            return json.loads(path.read_text(encoding="utf-8"))
        return pd.read_csv(path, **read_csv)

    def truth_table(self, name: str):
        """A CSV file of the known truth (``truth/<name>``) as a table in the run's engine, every column text; None
        when there is none (a company's own data).

        For the per-account truth of a large generated dataset (``persons.csv``), which would not fit in pandas
        next to a notebook's own tables: join and count it in the engine, bring the per-customer result out.
        """
        if self.config.path is None:
            return None
        path = Path(self.config.path).parent / "truth" / name
        if not path.is_file():
            return None
        con = self.engine
        if con.name == "pyspark":
            return con.read_csv(str(path), inferSchema=False)
        return con.read_csv(str(path), all_varchar=True)

    # ------------------------------------------------------ other notebooks, other runs
    def parameters(self, notebook: str | None = None) -> dict[str, Any]:
        """Effective parameters of a notebook of this run (default: this one).

        Those the runner gave it; in an interactive run folder, the registry's
        defaults. Empty for a notebook the registry does not know.
        """
        name = notebook or self.notebook
        given = (self.info.get("parameters") or {}).get(name)
        if given is not None:
            return dict(given)
        return dict(self.registry.get(name).parameters) if name in self.registry else {}

    def parameter(self, notebook: str, key: str, default: Any = None) -> Any:
        """One parameter of a notebook of this run (:meth:`parameters`), or ``default``."""
        return self.parameters(notebook).get(key, default)

    # ----------------------------------------------------------------- outputs
    def record_metric(self, key: str, value: Any, *, reason: str | None = None) -> None:
        """Record a headline figure in ``metrics/<notebook>.json``.

        Its meaning and unit come from the notebook's entry in the registry
        (``notebooks/registry.yaml``), the one catalogue of metrics.

        Parameters
        ----------
        key : str
            A metric key of this notebook's registry entry.
        value : number, str, date or None
            The figure (NaN and infinity are stored as null).
        reason : str, optional
            Why the figure is not available (with ``value`` None), e.g.
            "the data has no contacts".

        Raises
        ------
        EcrmError
            ``key`` is not in the notebook's registry entry.
        """
        spec = self.registry.get(self.notebook) if self.notebook in self.registry else None
        if spec is None or key not in spec.metrics:
            known = sorted(spec.metrics) if spec is not None else []
            raise EcrmError(
                f"metric {key!r} is not in the registry entry of notebook {self.notebook!r} ({self.registry.path}); "
                f"add it there under `metrics:` with its meaning and unit in brackets. Its keys: {known}."
            )
        description, unit = spec.metric(key)
        path = self.layout.metrics(self.notebook)
        path.parent.mkdir(parents=True, exist_ok=True)
        data = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {"notebook": self.notebook, "metrics": {}}
        entry = {"value": _jsonable(value), "unit": unit, "description": description}
        if reason:
            entry["reason"] = str(reason)
        data["metrics"][key] = entry
        path.write_text(json.dumps(data, indent=2, ensure_ascii=False), encoding="utf-8")

    def metrics(self, notebook: str | None = None, run_dir: Path | None = None) -> dict[str, Any]:
        """Recorded metric values of a notebook (this run by default) as ``{key: value}``."""
        layout = RunLayout(Path(run_dir)) if run_dir else self.layout
        path = layout.metrics(notebook or self.notebook)
        if not path.exists():
            return {}
        return {k: v["value"] for k, v in json.loads(path.read_text(encoding="utf-8"))["metrics"].items()}

    def write_product(self, name: str, df) -> Path:
        """Write a pseudonymous product table for later notebooks and runs.

        Parameters
        ----------
        name : str
        df : DataFrame or ibis.Table
            An Ibis table is written by the engine (:func:`ecrm_lib.data.tables.write_parquet`), without
            coming into pandas: a per-customer product of ten million rows.

        Raises
        ------
        EcrmError
            If ``df`` has a personal-data column (name, email, phone).
        """
        leaked = personal_columns(df.columns)
        if leaked:
            raise EcrmError(f"product {name!r} has personal-data column(s) {leaked}; products are shared, drop them first.")
        return _write_table(df, self.layout.product(self.notebook, name))

    def write_private(self, name: str, df) -> Path:
        """Write a table that holds personal data (e.g. golden records) under ``private/products/``.

        The private folder is never rendered into a report and is not to be shared. ``df`` is a DataFrame or an
        Ibis table (written by the engine, as in :meth:`write_product`).
        """
        return _write_table(df, self.layout.private_product(self.notebook, name))

    def product_table(self, notebook: str, name: str, previous: bool = False):
        """A product of an upstream notebook as an Ibis table on this run's engine, or None.

        Like :meth:`read_product`, without bringing the table into pandas
        (e.g. the ``account_map`` to join with the transactions in the engine).
        """
        from ecrm_lib.data.engine import read_parquet

        root = self.earlier_run() if previous else self.layout.root
        if root is None:
            return None
        path = RunLayout(root).product(notebook, name)
        return read_parquet(self.engine, path) if path.exists() else None

    def read_private(self, notebook: str, name: str) -> pd.DataFrame | None:
        """A private table of an upstream notebook of this run, or None."""
        path = self.layout.private_product(notebook, name)
        return pd.read_parquet(path) if path.exists() else None

    def earlier_runs(self) -> pd.DataFrame:
        """Good published runs of the same config with an earlier as-of date, oldest first.

        One run per as-of date (the one finished last). These are the history
        that the feedback loop and the trends read: the scheduled runs before
        this one.

        Returns
        -------
        DataFrame
            ``run_id``, ``path``, ``as_of`` (date), ``finished`` (ISO time);
            empty when the output folder has none (or is unknown).
        """
        runs = published_runs(self.runs_dir, config_name=self.config.name) if self.runs_dir else published_runs(None)
        runs = runs.loc[runs["as_of"] < self.as_of] if len(runs) else runs
        runs = runs.loc[runs["path"].map(lambda p: Path(p).resolve() != self.layout.root.resolve())] if len(runs) else runs
        if len(runs):
            runs = runs.sort_values(["as_of", "finished"]).drop_duplicates("as_of", keep="last")
        return runs.reset_index(drop=True)

    def earlier_run(self) -> Path | None:
        """The most recent good run of the same config with an earlier as-of date, or None."""
        runs = self.earlier_runs()
        return Path(runs["path"].iloc[-1]) if len(runs) else None

    def read_product(self, notebook: str, name: str, previous: bool = False) -> pd.DataFrame | None:
        """A product of an upstream notebook, of this run or of the previous run.

        ``previous=True`` reads it from :meth:`earlier_run`: the most recent good
        run of the same config with an earlier as-of date (the previous
        scheduled run). Returns None when it does not exist (e.g. there is no
        previous run).
        """
        root = self.earlier_run() if previous else self.layout.root
        if root is None:
            return None
        path = RunLayout(root).product(notebook, name)
        return pd.read_parquet(path) if path.exists() else None


def published_runs(runs_dir: str | os.PathLike | None, config_name: str | None = None) -> pd.DataFrame:
    """Good runs published in an output folder, from their manifests.

    Parameters
    ----------
    runs_dir : path-like or None
        The runner's output folder (``reports/`` by default).
    config_name : str, optional
        Keep the runs of this config only.

    Returns
    -------
    DataFrame
        ``run_id``, ``path``, ``as_of`` (date), ``finished`` (ISO time),
        ``config_name``; sorted by as-of date then finish time. Staging
        folders, failed runs and the ``latest`` link are left out.
    """
    cols = ["run_id", "path", "as_of", "finished", "config_name"]
    rows = []
    root = Path(runs_dir) if runs_dir else None
    if root is not None and root.is_dir():
        for d in root.iterdir():
            if d.name.startswith((".", "_")) or d.is_symlink() or not d.is_dir():
                continue
            try:
                m = json.loads((d / "manifest.json").read_text(encoding="utf-8"))
            except (OSError, ValueError):
                continue
            if m.get("status") != "ok" or not m.get("as_of"):
                continue
            name = (m.get("config") or {}).get("name")
            if config_name is not None and name != config_name:
                continue
            rows.append({"run_id": m.get("run_id", d.name), "path": str(d), "as_of": as_date(m["as_of"], "as_of"),
                         "finished": str(m.get("finished") or ""), "config_name": name})
    out = pd.DataFrame(rows, columns=cols)
    return out.sort_values(["as_of", "finished"], kind="stable").reset_index(drop=True) if len(out) else out


def prepare_run_folder(root: Path, config: Config, result, previous_run: Path | None,
                       runs_dir: Path | None = None, *, parameters: dict[str, dict[str, Any]] | None = None,
                       registry: Path | None = None, extra: dict[str, Any] | None = None) -> RunLayout:
    """Write the loaded inputs and ``run.json`` into a (staging) run folder.

    Parameters
    ----------
    root : Path
        The folder (created if needed).
    config : Config
        The config the data was loaded with.
    result : ecrm_lib.data.load.LoadResult
        Output of :func:`ecrm_lib.data.load.load_sources`.
    previous_run : Path, optional
        The last published good run (``latest``).
    runs_dir : Path, optional
        The output folder holding the published runs; notebooks find the
        earlier runs of the same config there (:meth:`RunContext.earlier_runs`).
    parameters : dict, optional
        Effective parameters of every notebook of the run (``{notebook: {name: value}}``);
        :meth:`RunContext.parameters` reads them.
    registry : Path, optional
        The notebook registry of the run (default: ``notebooks/registry.yaml``).
    extra : dict, optional
        More keys for ``run.json``.
    """
    layout = RunLayout(Path(root))
    layout.root.mkdir(parents=True, exist_ok=True)
    result.save(layout)
    info = {
        "config": str(config.path),
        "config_name": config.name,
        "as_of": result.as_of.isoformat(),
        "previous_run": str(previous_run) if previous_run else None,
        "runs_dir": str(Path(runs_dir).resolve()) if runs_dir else None,
        "registry": str(Path(registry).resolve()) if registry else None,
        "parameters": {k: dict(v) for k, v in (parameters or {}).items()},
        **(extra or {}),
    }
    layout.run_info.write_text(json.dumps(info, indent=2, default=str), encoding="utf-8")
    return layout


def _interactive_fingerprint(config: Config, as_of: dt.date | None) -> str:
    import hashlib

    h = hashlib.sha256(config.raw_text.encode("utf-8"))
    h.update(str(as_of).encode())
    for src in config.sources:
        p = Path(src.path)
        st = p.stat() if p.is_file() else None
        h.update(f"{p}|{st.st_size if st else None}|{st.st_mtime_ns if st else None}".encode())
    return h.hexdigest()


def interactive_run(config: str | os.PathLike | None = None, as_of: str | dt.date | None = None,
                    reload: bool = False) -> Path:
    """The interactive run folder of a config and as-of date, loaded on first use and then kept.

    ``reports/_interactive/<config name>/<as-of date>/`` (``data-end`` when the
    as-of date comes from the data; ``$ECRM_INTERACTIVE_DIR`` replaces
    ``reports/_interactive``). Without ``config``, ``$ECRM_CONFIG`` when set, else
    the embedded default data. Notebooks opened by hand in JupyterLab
    with ``run_dir=None`` share it: each sees the products of those run before
    it, as under ``ecrm run``. It is loaded again when the config, its input
    files (size or modification time) or the as-of date change, or with
    ``reload=True``; delete the folder to start afresh.

    Returns
    -------
    Path
        The folder (a prepared run folder).
    """
    from ecrm_lib.data.load import load_sources  # the loader is heavier than a notebook's context

    cfg = load_config(config or os.environ.get("ECRM_CONFIG") or DEFAULT_CONFIG)
    day = as_date(as_of, "as_of", optional=True) or cfg.as_of
    root = Path(os.environ["ECRM_INTERACTIVE_DIR"]) if os.environ.get("ECRM_INTERACTIVE_DIR") else REPORTS_DIR / "_interactive"
    folder = root / re.sub(r"[^\w.-]+", "_", cfg.name) / (day.isoformat() if day else "data-end")
    fp = _interactive_fingerprint(cfg, day)
    info_path = RunLayout(folder).run_info
    if not reload and info_path.exists():
        try:
            if json.loads(info_path.read_text(encoding="utf-8")).get("interactive_fingerprint") == fp:
                return folder
        except (OSError, ValueError):
            pass
    result = load_sources(cfg, as_of=day)
    shutil.rmtree(folder, ignore_errors=True)  # stale tables and products of other data must not survive
    prepare_run_folder(folder, cfg, result, previous_run=None, runs_dir=REPORTS_DIR,
                       extra={"interactive_fingerprint": fp})
    return folder
