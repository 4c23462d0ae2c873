"""The suite runner: fingerprint and skip, parameters, failures, pages, publishing.

Runs the tiny fixture notebooks of ``tests/fixtures/notebooks`` (each well under
a second once its kernel is up). Most tests load data through a stand-in for
``load_sources`` (``FakeLoad``) so that they test the runner's mechanics alone;
``test_end_to_end_with_real_loader`` and the ``validate`` tests use the real loader.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import time
from html.parser import HTMLParser
from pathlib import Path

import pandas as pd
import pytest
import yaml

from ecrm_lib.run import cli
from ecrm_lib.run import runner
from ecrm_lib.run import execute as execute_mod

RUN_SUITE = runner.run_suite
from ecrm_lib.core.paths import PROJ_ROOT
from ecrm_lib.run.context import RunLayout
from ecrm_lib.core.errors import ConfigError, DataValidationError, NotebookParameterError, RunFailedError
from ecrm_lib.report.render import external_resources, render_html

pytestmark = pytest.mark.slow

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "notebooks"
REGISTRY = FIXTURES / "registry.yaml"
HOSTILE = "<script>alert(1)</script>"

CONFIG_TEXT = f"""\
name: "fixture {HOSTILE}"
currency: KRW
timezone: UTC
sources:
  - name: pos
    table: transactions
    path: tx.csv
    columns: {{account_id: cust, timestamp: ts, amount: amt, channel: ch, transaction_id: tid, quantity: qty}}
"""
TX_CSV = "cust,ts,amt,ch,tid,qty\na1,2025-01-01 10:00:00,100,store,t1,1\na2,2025-02-01 11:00:00,250,web,t2,2\na1,2025-03-05 09:30:00,80,store,t3,1\n"


# ----------------------------------------------------------------- helpers
class FakeLoad:
    """Stand-in for ``ecrm_lib.data.load.LoadResult`` built from the fixture CSV."""

    def __init__(self, config, as_of=None):
        self.tables, rows, files = {}, [], []
        for s in config.sources:
            raw = pd.read_csv(s.path, dtype=str)
            df = pd.DataFrame({
                "account_id": raw["cust"].astype("string"),
                "timestamp": pd.to_datetime(raw["ts"], utc=True).astype("datetime64[us, UTC]"),
                "amount": raw["amt"].astype(float),
            })
            self.tables[s.table] = df
            rows.append({"source": s.name, "table": s.table, "file": s.path.name,
                         "rows_read": len(raw), "rows_set_aside": 0, "rows_kept": len(df)})
            files.append({"source": s.name, "table": s.table, "file": s.path.name, "path": str(s.path),
                          "bytes": s.path.stat().st_size, "sha256": hashlib.sha256(s.path.read_bytes()).hexdigest()})
        self.summary = pd.DataFrame(rows)
        self.set_aside = pd.DataFrame({"source": ["pos"], "table": ["transactions"], "file": ["tx.csv"],
                                       "line": ["9"], "reason": ["refund"]})
        self.adjustments = pd.DataFrame(columns=["source", "table", "file", "adjustment", "rows"])
        self.files = pd.DataFrame(files)
        self.as_of = dt.date.fromisoformat(str(as_of)) if as_of else dt.date(2025, 6, 30)

    def save(self, layout):
        layout.canonical_dir.mkdir(parents=True, exist_ok=True)
        layout.load_dir.mkdir(parents=True, exist_ok=True)
        for t, df in self.tables.items():
            df.to_parquet(layout.canonical(t), index=False)
        self.summary.to_csv(layout.load_dir / "load_report.csv", index=False)
        self.set_aside.to_csv(layout.load_dir / "set_aside.csv", index=False)
        self.adjustments.to_csv(layout.load_dir / "adjustments.csv", index=False)
        self.files.to_csv(layout.load_dir / "files.csv", index=False)


class LoadSpy:
    """A ``loader`` for ``run_suite``: counts calls and can raise instead of loading."""

    def __init__(self, error: Exception | None = None):
        self.calls = 0
        self.error = error

    def __call__(self, config, as_of, progress):
        self.calls += 1
        if self.error is not None:
            raise self.error
        return FakeLoad(config, as_of)


def write_config(folder: Path, text: str = CONFIG_TEXT, csv: str = TX_CSV) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "tx.csv").write_text(csv, encoding="utf-8")
    cfg = folder / "config.yaml"
    cfg.write_text(text, encoding="utf-8")
    return cfg


def tree_digest(root: Path) -> dict[str, str]:
    """SHA-256 of every file reachable under ``root`` (following the ``latest`` link)."""
    root = root.resolve()
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def run(cfg: Path, out: Path, **kw) -> runner.RunOutcome:
    lines: list[str] = []
    kw.setdefault("registry_path", REGISTRY)
    outcome = runner.run_suite(cfg, out_dir=out, progress=lines.append, **kw)
    outcome.lines = lines  # type: ignore[attr-defined]
    return outcome


class _Tags(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags: list[tuple[str, dict]] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))


def network_tags(html: str) -> list[tuple[str, dict]]:
    """<script src> / <link href> (and img/iframe) tags that point at http(s) or //."""
    parser = _Tags()
    parser.feed(html)
    bad = []
    for tag, attrs in parser.tags:
        for key in ("src", "href"):
            url = (attrs.get(key) or "").strip().lower()
            if tag in ("script", "link", "img", "iframe") and (url.startswith(("http:", "https:", "//"))):
                bad.append((tag, attrs))
    return bad


def visible_text(html: str) -> str:
    """Page text without <style> blocks (the lab CSS is long and irrelevant)."""
    return re.sub(r"<style[^>]*>.*?</style>", "", html, flags=re.S)


# ---------------------------------------------------------------- fixtures
REAL_CODE_HASH = runner.code_hash
REAL_GIT_STATE = runner.git_state


@pytest.fixture(scope="module", autouse=True)
def frozen_code_state():
    """Freeze the code part of the fingerprint for this module.

    The fingerprint hashes every ``ecrm_lib/*.py`` and the git commit, which
    change whenever anyone edits or commits while these tests run; each is
    computed for real once, then reused. ``test_code_hash_covers_library_and_notebooks``
    tests the real function.
    """
    cache: dict = {}
    git = REAL_GIT_STATE()
    head = subprocess.run(["git", "-C", str(PROJ_ROOT), "rev-parse", "HEAD"], capture_output=True, text=True)

    def code_hash(registry, selected):
        key = (registry.path, tuple(s.name for s in selected))
        if key not in cache:
            cache[key] = REAL_CODE_HASH(registry, selected)
        return cache[key]

    mp = pytest.MonkeyPatch()
    mp.setattr(runner, "code_hash", code_hash)
    mp.setattr(runner, "git_state", lambda: git)
    yield {"head": head.stdout.strip() if head.returncode == 0 else None}
    mp.undo()


@pytest.fixture(scope="module")
def base(tmp_path_factory, frozen_code_state):
    """One successful run of the whole fixture registry; tests copy its output folder."""
    root = tmp_path_factory.mktemp("base")
    cfg = write_config(root / "cfg")
    out = root / "out"
    t = time.monotonic()
    outcome = run(cfg, out, loader=LoadSpy())
    outcome.seconds = time.monotonic() - t  # type: ignore[attr-defined]
    assert outcome.status == "ok", outcome.lines
    return {"cfg": cfg, "out": out, "outcome": outcome, "root": root}


@pytest.fixture
def copy_of_base(base, tmp_path):
    """A private copy of the base output folder (latest link kept) and of its config folder."""
    out = tmp_path / "out"
    shutil.copytree(base["out"], out, symlinks=True)
    return {"cfg": base["cfg"], "out": out, "run_id": base["outcome"].run_id}


def use_loader(monkeypatch, loader: LoadSpy) -> LoadSpy:
    """Every ``runner.run_suite`` call of the test (the CLI's too) loads through ``loader``."""
    monkeypatch.setattr(runner, "run_suite", functools.partial(RUN_SUITE, loader=loader))
    return loader


@pytest.fixture
def spy(monkeypatch):
    return use_loader(monkeypatch, LoadSpy())


# ----------------------------------------------------- a successful run
def test_successful_run_publishes_and_latest_points_at_it(base):
    out, outcome = base["out"], base["outcome"]
    latest = out / "latest"
    assert latest.is_symlink() and os.readlink(latest) == outcome.run_id  # relative link
    assert latest.resolve() == (out / outcome.run_id).resolve() == outcome.run_dir
    assert not list(out.glob(".staging-*")) and not list(out.glob(".latest-*"))
    by = {r.name: r for r in outcome.results}
    assert [r.name for r in outcome.results] == ["basic", "control", "downstream", "needs_contacts"]
    assert [by[n].status for n in ("basic", "control", "downstream")] == ["ok"] * 3
    assert any(re.fullmatch(r"\[\d/4\] basic \.\.\. ok \(\d+\.\d s(?:, [\d,]+ MiB)?\)", line) for line in outcome.lines)
    assert re.fullmatch(r"\d{8}T\d{6}Z-[0-9a-f]{8}", outcome.run_id)
    assert outcome.run_id.endswith(outcome.fingerprint[:8])


def test_manifest_records_the_run(base, frozen_code_state):
    out, outcome = base["out"], base["outcome"]
    m = json.loads((out / "latest" / "manifest.json").read_text(encoding="utf-8"))
    assert m["run_id"] == outcome.run_id and m["status"] == "ok" and m["fingerprint"] == outcome.fingerprint
    started = dt.datetime.fromisoformat(m["started"].replace("Z", "+00:00"))
    finished = dt.datetime.fromisoformat(m["finished"].replace("Z", "+00:00"))
    assert started.tzinfo is not None and finished >= started and m["duration_s"] > 0
    cfg = base["cfg"]
    assert m["config"]["path"] == str(cfg.resolve())
    assert m["config"]["sha256"] == hashlib.sha256(cfg.read_bytes()).hexdigest()
    assert m["config"]["text"] == cfg.read_text(encoding="utf-8") and m["config"]["name"] == f"fixture {HOSTILE}"
    assert m["as_of"] == "2025-06-30"
    tx = cfg.parent / "tx.csv"
    assert m["input_files"] == [{"source": "pos", "table": "transactions", "file": "tx.csv",
                                 "bytes": tx.stat().st_size, "sha256": hashlib.sha256(tx.read_bytes()).hexdigest()}]
    nbs = m["notebooks"]
    assert nbs["basic"]["status"] == "ok" and nbs["basic"]["parameters"] == {"n": 3, "label": "hello", "ratio": 0.5}
    assert nbs["basic"]["products"] == ["sample"] and sorted(nbs["basic"]["metrics_keys"]) == ["label", "n_rows"]
    assert nbs["needs_contacts"]["status"] == "skipped" and "contacts" in nbs["needs_contacts"]["skipped_reason"]
    assert nbs["control"]["error"] is None
    for pkg in ("python", "ecrm_lib", "pandas", "numpy", "scipy", "scikit-learn", "lifetimes", "ibis-framework",
                "duckdb", "pandera", "papermill", "nbconvert", "matplotlib", "seaborn"):
        assert pkg in m["packages"]
    assert m["packages"]["pandas"] == pd.__version__
    assert m["host"]["cpu_count"] == os.cpu_count()
    head = frozen_code_state["head"]
    if head:
        assert m["git"]["commit"] == head and isinstance(m["git"]["dirty"], bool)
    else:
        assert m["git"] is None


def test_outputs_of_the_notebooks_are_in_the_run_folder(base):
    layout = RunLayout(base["out"] / "latest")
    metrics = json.loads(layout.metrics("basic").read_text(encoding="utf-8"))["metrics"]
    assert metrics["n_rows"]["value"] == 3 and metrics["label"]["value"] == "hello"
    assert len(pd.read_parquet(layout.product("basic", "sample"))) == 3  # n = 3
    assert json.loads(layout.metrics("downstream").read_text(encoding="utf-8"))["metrics"]["seen"]["value"] == 1
    assert layout.executed("basic").exists() and layout.canonical("transactions").exists()
    info = json.loads(layout.run_info.read_text(encoding="utf-8"))
    assert info["previous_run"] is None


def test_report_pages_have_no_code_prompts_stderr_or_network(base):
    root = base["out"] / "latest"
    html = (root / "basic.html").read_text(encoding="utf-8")
    text = visible_text(html)
    assert "PROSE_MARKER" in text and "OUTPUT_MARKER rows=3 n=3 ratio=0.5 label=hello" in text
    assert "KEPT_OUTPUT_MARKER" in text
    for absent in ("CODE_MARKER_7F3A", "RunContext", "REMOVED_CELL_MARKER", "REMOVED_INPUT_MARKER",
                   "REMOVED_OUTPUT_MARKER", "STDERR_MARKER", "In&nbsp;[", "Out["):
        assert absent not in text, absent
    assert "jp-InputArea-editor" not in visible_text(html)  # no code input area
    assert re.search(r'<img[^>]+src="data:image/png;base64,', html), "the figure is missing (inline backend?)"
    for page in sorted(root.glob("*.html")):
        page_html = page.read_text(encoding="utf-8")
        assert network_tags(page_html) == [], page.name
        assert external_resources(page_html) == [], page.name
        assert "<script" not in page_html.lower(), page.name


def test_index_lists_every_notebook_and_escapes_config_name(base):
    root = base["out"] / "latest"
    html = (root / "index.html").read_text(encoding="utf-8")
    assert HOSTILE not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "2025-06-30" in html and 'href="manifest.json"' in html and "private/" in html
    for name, title in [("basic", "Basic fixture"), ("control", "Control fixture"),
                        ("downstream", "Downstream fixture"), ("needs_contacts", "Needs contacts")]:
        assert f'<a href="{name}.html">{title}</a>' in html
        assert (root / f"{name}.html").exists()
    assert "skipped: needs contacts" in html
    assert network_tags(html) == [] and "<script" not in html.lower()


def test_missing_required_input_is_skipped_with_a_page(base):
    html = (base["out"] / "latest" / "needs_contacts.html").read_text(encoding="utf-8")
    assert "skipped" in html and "<code>contacts</code>" in html and "table: contacts" in html
    assert HOSTILE not in html  # the config name is shown escaped
    assert not (base["out"] / "latest" / "executed" / "needs_contacts.ipynb").exists()


# ------------------------------------------------------ skip and force
def test_identical_rerun_is_skipped_without_loading(copy_of_base, spy):
    out = copy_of_base["out"]
    before = sorted(p.name for p in out.iterdir())
    outcome = run(copy_of_base["cfg"], out)
    assert outcome.status == "unchanged" and outcome.skipped_unchanged and outcome.ok
    assert outcome.run_id == copy_of_base["run_id"] and spy.calls == 0
    assert sorted(p.name for p in out.iterdir()) == before
    assert any("Nothing changed" in line for line in outcome.lines)


def test_force_reruns_and_moves_latest(tmp_path, base, spy):
    out = tmp_path / "out"
    first = run(base["cfg"], out, notebooks=["control"])
    assert first.status == "ok" and run(base["cfg"], out, notebooks=["control"]).status == "unchanged"
    outcome = run(base["cfg"], out, notebooks=["control"], force=True)
    assert outcome.status == "ok" and spy.calls == 2
    assert outcome.run_id != first.run_id and outcome.fingerprint == first.fingerprint
    assert os.readlink(out / "latest") == outcome.run_id
    assert (out / first.run_id / "index.html").exists()  # the older run is kept
    info = json.loads(RunLayout(out / "latest").run_info.read_text())
    assert Path(info["previous_run"]).name == first.run_id


def test_fingerprint_follows_parameters_inputs_as_of_and_selection(base, tmp_path):
    cfg = base["cfg"]
    fp = runner.suite_fingerprint(cfg, registry_path=REGISTRY)
    assert fp == base["outcome"].fingerprint  # the same computation the run used
    same_copy = write_config(tmp_path / "same")  # same text and bytes, other folder
    assert runner.suite_fingerprint(same_copy, registry_path=REGISTRY) == fp
    changed = {
        "parameter": runner.suite_fingerprint(cfg, registry_path=REGISTRY, parameters={"basic": {"n": 4}}),
        "test params": runner.suite_fingerprint(cfg, registry_path=REGISTRY, test_params=True),
        "as_of": runner.suite_fingerprint(cfg, registry_path=REGISTRY, as_of="2025-05-31"),
        "selection": runner.suite_fingerprint(cfg, registry_path=REGISTRY, notebooks=["basic"]),
        "input file": runner.suite_fingerprint(
            write_config(tmp_path / "other", csv=TX_CSV.replace("250", "251")), registry_path=REGISTRY),
        "config text": runner.suite_fingerprint(
            write_config(tmp_path / "text", text=CONFIG_TEXT + "description: x\n"), registry_path=REGISTRY),
    }
    assert fp not in changed.values()
    assert len(set(changed.values())) == len(changed)


def test_code_hash_covers_library_and_notebooks(tmp_path):
    reg = runner.load_registry(REGISTRY)
    lib = tmp_path / "lib"
    lib.mkdir()
    (lib / "a.py").write_text("x = 1\n")
    h1 = REAL_CODE_HASH(reg, reg.select(["basic"]), lib)
    (lib / "a.py").write_text("x = 2\n")
    h2 = REAL_CODE_HASH(reg, reg.select(["basic"]), lib)
    h3 = REAL_CODE_HASH(reg, reg.select(["control"]), lib)
    assert len({h1, h2, h3}) == 3


def test_changed_input_file_runs_again(copy_of_base, spy, tmp_path):
    out = copy_of_base["out"]
    cfg = write_config(tmp_path / "cfg2")
    first = run(cfg, out, notebooks=["control"])
    assert first.status == "ok" and run(cfg, out, notebooks=["control"]).status == "unchanged"
    (cfg.parent / "tx.csv").write_text(TX_CSV.replace("250", "260"), encoding="utf-8")
    again = run(cfg, out, notebooks=["control"])
    assert again.status == "ok" and again.fingerprint != first.fingerprint and spy.calls == 2
    assert os.readlink(out / "latest") == again.run_id


# -------------------------------------------------- parameter validation
@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"notebooks": ["nope"]}, "unknown notebook 'nope'"),
        ({"parameters": {"nope": {"x": 1}}}, "unknown notebook 'nope'"),
        ({"parameters": {"control": {"mod": "raise"}}}, "unknown parameter 'mod'"),
        ({"parameters": {"control": {"sleep_s": "fast"}}}, r"control\.sleep_s: got 'fast' \(str\), expected float"),
        ({"parameters": {"basic": {"n": 2.5}}}, r"basic\.n: got 2\.5 \(float\), expected int"),
        ({"parameters": {"basic": {"n": True}}}, r"basic\.n: got True \(bool\)"),
        ({"parameters": {"basic": {"label": 7}}}, r"basic\.label: got 7 \(int\), expected str"),
        ({"parameters": {"basic": {"run_dir": "/tmp"}}}, "set by the runner"),
    ],
)
def test_bad_notebook_or_parameter_fails_before_anything_runs(kwargs, match, base, tmp_path, spy):
    out = tmp_path / "out"  # nothing loaded (spy) and no folder written: no notebook can have run
    with pytest.raises(NotebookParameterError, match=match):
        run(base["cfg"], out, **kwargs)
    assert spy.calls == 0 and not out.exists()


def test_int_is_accepted_for_a_float_parameter(base):
    reg = runner.load_registry(REGISTRY)
    params = reg.resolve_parameters(["control"], {"control": {"sleep_s": 2}})
    assert params["control"]["sleep_s"] == 2.0 and isinstance(params["control"]["sleep_s"], float)


def test_bad_as_of_and_timeout_are_config_errors(base, tmp_path, spy):
    with pytest.raises(ConfigError, match="YYYY-MM-DD"):
        run(base["cfg"], tmp_path / "o", as_of="30/06/2025")
    with pytest.raises(ConfigError, match="positive"):
        run(base["cfg"], tmp_path / "o", cell_timeout=0)
    assert spy.calls == 0


# ------------------------------------------------------------- failures
FAILURES = {
    # mode -> (extra run_suite arguments, error type shown on the page)
    "raise": ({}, "ValueError"),
    "kill": ({}, "DeadKernelError"),
    # 5 s: the cells before the sleep only import os and time (the kernel is forked, its modules imported), far
    # below the 60 s sleep.
    "timeout": ({"cell_timeout": 5}, "CellTimeoutError"),
}


@pytest.mark.parametrize("mode", sorted(FAILURES))
def test_failing_notebook_keeps_latest_byte_identical(mode, copy_of_base, spy):
    out = copy_of_base["out"]
    before = tree_digest(out / "latest")
    extra, error_type = FAILURES[mode]
    message = f"bad value {HOSTILE} for kim.minjun@example.com"
    params = {"control": {"mode": "sleep" if mode == "timeout" else mode, "message": message, "sleep_s": 60.0}}
    t = time.monotonic()
    outcome = run(copy_of_base["cfg"], out, notebooks=["downstream"], parameters=params, **extra)
    assert time.monotonic() - t < 45  # the timeout really cut the 60 s sleep
    assert outcome.status == "failed" and not outcome.ok
    by = {r.name: r for r in outcome.results}
    assert list(by) == ["control", "downstream"]  # the upstream was added and ran first
    assert by["control"].status == "failed" and by["control"].error_type == error_type
    assert by["downstream"].status == "skipped" and "control" in by["downstream"].reason

    # latest did not move and nothing under it changed
    assert os.readlink(out / "latest") == copy_of_base["run_id"]
    assert tree_digest(out / "latest") == before
    # the failed run is published under its id, with its failure page
    run_dir = out / outcome.run_id
    assert outcome.run_dir == run_dir and run_dir.is_dir() and not list(out.glob(".staging-*"))
    m = json.loads((run_dir / "manifest.json").read_text(encoding="utf-8"))
    assert m["status"] == "failed" and m["notebooks"]["control"]["error"]["type"] == error_type
    assert m["previous_run"] == copy_of_base["run_id"]
    page = (run_dir / "control.html").read_text(encoding="utf-8")
    assert "This step failed" in page and error_type in page and "executed/control.ipynb" in page
    assert "BEFORE_FAILURE_MARKER" in visible_text(page)  # partial output follows the banner
    assert "Traceback" not in page and "papermill-error" not in page
    assert network_tags(page) == [] and "<script" not in page.lower()
    if mode == "raise":
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page and "[email]" in page
        assert "kim.minjun@example.com" not in page and "AFTER_MARKER" not in visible_text(page)
        assert "kim.minjun" not in m["notebooks"]["control"]["error"]["message"]
    assert (run_dir / "executed" / "control.ipynb").exists()
    skipped = (run_dir / "downstream.html").read_text(encoding="utf-8")
    assert "skipped" in skipped and "Control fixture failed" in skipped
    index = (run_dir / "index.html").read_text(encoding="utf-8")
    assert "This run failed" in index and f"failed: {error_type}" in index and HOSTILE not in index
    assert any(line.startswith("[1/2] control ... FAILED") for line in outcome.lines)


def test_missing_declared_metric_fails_the_notebook(copy_of_base, spy):
    out = copy_of_base["out"]
    outcome = run(copy_of_base["cfg"], out, notebooks=["control"], parameters={"control": {"mode": "nometric"}})
    assert outcome.status == "failed"
    res = outcome.results[0]
    assert res.status == "failed" and res.error_type == "MissingOutputs" and "['done']" in res.error_message
    page = (out / outcome.run_id / "control.html").read_text(encoding="utf-8")
    assert "did not record metric(s)" in page and "AFTER_MARKER" in visible_text(page)
    assert os.readlink(out / "latest") == copy_of_base["run_id"]


def test_first_run_failing_creates_no_latest(base, tmp_path, spy):
    out = tmp_path / "out"
    outcome = run(base["cfg"], out, notebooks=["control"], parameters={"control": {"mode": "raise"}})
    assert outcome.status == "failed" and not (out / "latest").exists() and (out / outcome.run_id).is_dir()
    assert "no earlier good run" in (out / outcome.run_id / "index.html").read_text(encoding="utf-8")


def test_data_error_publishes_nothing(copy_of_base, monkeypatch):
    failures = pd.DataFrame([{"file": "tx.csv", "line": 3, "column": "amount", "value": "x", "problem": "not a number", "fix": "fix it"}])
    use_loader(monkeypatch, LoadSpy(DataValidationError("1 problem(s) found in the input data", failures)))
    out = copy_of_base["out"]
    before_names = sorted(p.name for p in out.iterdir())
    before = tree_digest(out / "latest")
    with pytest.raises(DataValidationError):
        run(copy_of_base["cfg"], out, force=True)
    assert sorted(p.name for p in out.iterdir()) == before_names and tree_digest(out / "latest") == before


def test_runner_crash_leaves_staging_and_next_run_cleans_old_staging(copy_of_base, monkeypatch, spy):
    out = copy_of_base["out"]

    def crash(*a, **k):
        raise RuntimeError("runner bug")

    monkeypatch.setattr(runner, "run_notebooks", crash)
    with pytest.raises(RuntimeError, match="runner bug"):
        run(copy_of_base["cfg"], out, force=True)
    staging = list(out.glob(".staging-*"))
    assert len(staging) == 1 and (staging[0] / "run.json").exists()
    assert os.readlink(out / "latest") == copy_of_base["run_id"]
    assert sorted(p.name for p in out.iterdir() if not p.name.startswith(".")) == [copy_of_base["run_id"], "latest"]

    fresh = out / ".staging-fresh"
    fresh.mkdir()
    old = time.time() - runner.STALE_STAGING_S - 60
    os.utime(staging[0], (old, old))
    outcome = run(copy_of_base["cfg"], out)  # unchanged, but it still cleans up
    assert outcome.status == "unchanged"
    assert not staging[0].exists() and fresh.exists()


def test_latest_that_is_a_folder_is_refused(base, tmp_path, spy):
    out = tmp_path / "out"
    (out / "latest").mkdir(parents=True)
    with pytest.raises(RunFailedError, match="not the symlink"):
        run(base["cfg"], out)
    assert spy.calls == 0


def test_concurrent_run_is_refused(base, tmp_path, spy):
    import fcntl

    out = tmp_path / "out"
    out.mkdir()
    with open(out / ".ecrm-run.lock", "a+") as f:
        fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        with pytest.raises(RunFailedError, match="another `ecrm run`"):
            run(base["cfg"], out)
    assert spy.calls == 0


# ----------------------------------------------------------------- render
def test_render_refuses_pages_that_load_from_the_network(tmp_path):
    import nbformat
    from nbformat.v4 import new_code_cell, new_notebook, new_output

    nb = new_notebook(cells=[
        new_code_cell("x", outputs=[new_output("display_data", data={"application/javascript": "fetch('https://x')"})]),
        new_code_cell("y", outputs=[new_output("display_data", data={"text/plain": "PLAIN_OK"})]),
    ])
    nbformat.write(nb, tmp_path / "ok.ipynb")
    html = render_html(tmp_path / "ok.ipynb", tmp_path / "ok.html", "t").read_text()
    assert "PLAIN_OK" in html and "fetch(" not in html and "<script" not in html.lower()

    nb.cells.append(new_code_cell("z", outputs=[new_output(
        "display_data", data={"text/html": '<script src="https://cdn.example.com/x.js"></script>'})]))
    nbformat.write(nb, tmp_path / "bad.ipynb")
    with pytest.raises(RuntimeError, match="network"):
        render_html(tmp_path / "bad.ipynb", tmp_path / "bad.html", "t")
    assert not (tmp_path / "bad.html").exists()


def test_external_resources_detects_cdn_tags():
    html = ('<script src="https://cdn.x/require.js"></script><link rel="stylesheet" href="//fonts.x/css">'
            '<script src="local.js"></script><a href="https://example.com">ok</a>')
    assert len(external_resources(html)) == 2


# -------------------------------------------------------------------- CLI
def test_cli_run_prints_the_index_path(copy_of_base, spy, capsys):
    out = copy_of_base["out"]
    rc = cli.main(["run", "--config", str(copy_of_base["cfg"]), "--out", str(out), "--registry", str(REGISTRY)])
    printed = capsys.readouterr().out.strip().splitlines()
    assert rc == 0 and printed[-1] == str(out.resolve() / "latest" / "index.html")


def test_cli_run_with_params_file_fails_with_exit_1(copy_of_base, spy, tmp_path, capsys):
    params = tmp_path / "params.yaml"
    params.write_text(yaml.safe_dump({"control": {"mode": "raise", "message": "boom"}}))
    out = copy_of_base["out"]
    rc = cli.main(["run", "--config", str(copy_of_base["cfg"]), "--out", str(out), "--registry", str(REGISTRY),
                   "--notebook", "control", "--params", str(params)])
    err = capsys.readouterr().err
    assert rc == 1 and "failed: control (ValueError)" in err and "Traceback" not in err
    assert os.readlink(out / "latest") == copy_of_base["run_id"]


def test_cli_parameter_errors_exit_2(base, tmp_path, spy, capsys):
    params = tmp_path / "params.yaml"
    params.write_text("control:\n  mode: 3\n")
    rc = cli.main(["run", "--config", str(base["cfg"]), "--out", str(tmp_path / "o"), "--registry", str(REGISTRY),
                   "--params", str(params)])
    assert rc == 2 and "control.mode" in capsys.readouterr().err
    params.write_text("- just a list\n")
    assert cli.main(["run", "--config", str(base["cfg"]), "--registry", str(REGISTRY), "--params", str(params)]) == 2
    assert cli.main(["run", "--config", str(tmp_path / "missing.yaml")]) == 2
    assert spy.calls == 0


def test_cli_run_data_error_exits_1(copy_of_base, monkeypatch, capsys):
    failures = pd.DataFrame([{"file": "tx.csv", "line": 3, "column": "amount", "value": "x",
                              "problem": "not a number", "fix": "write a number"}])
    use_loader(monkeypatch, LoadSpy(DataValidationError("1 problem(s) found", failures)))
    rc = cli.main(["run", "--config", str(copy_of_base["cfg"]), "--out", str(copy_of_base["out"]),
                   "--registry", str(REGISTRY), "--force"])
    captured = capsys.readouterr()
    assert rc == 1 and "1 problem(s) found" in captured.err and "not a number" in captured.err
    assert "Traceback" not in captured.err


def test_cli_list(capsys):
    assert cli.main(["list", "--registry", str(REGISTRY)]) == 0
    out = capsys.readouterr().out
    assert "basic" in out and "n = 3  (test: 2)" in out and "upstream: control" in out


def test_cli_data_root_sets_environment(monkeypatch, tmp_path, spy):
    monkeypatch.setenv("ECRM_DATA_ROOT", str(tmp_path / "elsewhere"))
    cfg = write_config(tmp_path / "c", text=CONFIG_TEXT.replace("path: tx.csv", "path: ${DATA_ROOT}/tx.csv"))
    rc = cli.main(["run", "--config", str(cfg), "--out", str(tmp_path / "o"), "--registry", str(REGISTRY),
                   "--notebook", "control", "--data-root", str(cfg.parent)])
    assert rc == 0 and os.environ["ECRM_DATA_ROOT"] == str(cfg.parent.resolve())


# ------------------------------------------------------ with the real loader
REFUND = "a3,2025-04-01 10:00:00,-5,store,t4,1\n"
BAD_CSV = "cust,ts,amt,ch,tid,qty\na1,2025-01-01 10:00:00,abc,store,t1,1\na2,2025-02-01 11:00:00,250,web,t2,2\n"


def test_end_to_end_with_real_loader(tmp_path):
    cfg = write_config(tmp_path / "cfg", csv=TX_CSV + REFUND)
    out = tmp_path / "out"
    outcome = run(cfg, out, notebooks=["basic"], as_of="2025-06-30")
    assert outcome.status == "ok", outcome.lines
    latest = RunLayout(out / "latest")
    m = json.loads(latest.manifest.read_text(encoding="utf-8"))
    tx = cfg.parent / "tx.csv"
    assert m["as_of"] == "2025-06-30" and m["as_of_requested"] == "2025-06-30"
    assert [(f["file"], f["sha256"]) for f in m["input_files"]] == [("tx.csv", hashlib.sha256(tx.read_bytes()).hexdigest())]
    assert len(pd.read_csv(latest.load_dir / "set_aside.csv")) == 1  # the refund
    metrics = json.loads(latest.metrics("basic").read_text(encoding="utf-8"))["metrics"]
    assert metrics["n_rows"]["value"] == 3  # 4 rows read, the refund set aside
    assert "OUTPUT_MARKER rows=3" in visible_text((out / "latest" / "basic.html").read_text(encoding="utf-8"))


def test_cli_validate_exit_codes(tmp_path, capsys):
    good = write_config(tmp_path / "good", csv=TX_CSV + REFUND)
    assert cli.main(["validate", "--config", str(good)]) == 0
    printed = capsys.readouterr().out
    assert "data valid" in printed and re.search(r"pos\s+transactions\s+tx\.csv\s+4\s+1\s+3", printed)
    assert "Set aside by reason" in printed

    bad = write_config(tmp_path / "bad", csv=BAD_CSV)
    assert cli.main(["validate", "--config", str(bad)]) == 1
    err = capsys.readouterr().err
    assert "1 problem(s)" in err and "line 2" in err and "'abc'" in err and "Traceback" not in err

    wrong = write_config(tmp_path / "wrong", text=CONFIG_TEXT.replace("table: transactions", "table: orders"))
    assert cli.main(["validate", "--config", str(wrong)]) == 2
    assert "unknown table 'orders'" in capsys.readouterr().err


def test_cli_run_with_bad_data_publishes_nothing(tmp_path, capsys):
    bad = write_config(tmp_path / "bad", csv=BAD_CSV)
    out = tmp_path / "out"
    rc = cli.main(["run", "--config", str(bad), "--out", str(out), "--registry", str(REGISTRY), "--notebook", "basic"])
    captured = capsys.readouterr()
    assert rc == 1 and "not a number" in captured.err and "nothing was published" in captured.out
    assert [p.name for p in out.iterdir()] == [".ecrm-run.lock"]


def test_upstream_skipped_for_missing_inputs_does_not_block(tmp_path):
    """A notebook whose upstream lacks its own inputs still runs (it finds no products);
    one whose upstream failed does not."""
    import shutil

    folder = tmp_path / "nbs"
    shutil.copytree(FIXTURES, folder)
    reg = folder / "registry.yaml"
    reg.write_text(
        reg.read_text(encoding="utf-8")
        + "  - name: after_contacts\n    file: downstream.ipynb\n    title: After contacts\n"
        "    description: Builds on needs_contacts and control.\n    upstream: [control, needs_contacts]\n"
        # the reused notebook records its metric under its own name, so declare none here
        "    parameters: {}\n    metrics: {}\n",
        encoding="utf-8",
    )
    cfg = write_config(tmp_path / "data")
    ok = run(cfg, tmp_path / "out", registry_path=reg, notebooks=["after_contacts"])
    by = {r.name: r for r in ok.results}
    assert by["needs_contacts"].status == "skipped" and by["needs_contacts"].missing_inputs == ["contacts"]
    assert by["after_contacts"].status == "ok" and ok.status == "ok"
    failed = run(cfg, tmp_path / "out2", registry_path=reg, notebooks=["after_contacts"],
                 parameters={"control": {"mode": "raise"}})
    by = {r.name: r for r in failed.results}
    assert by["control"].status == "failed" and by["after_contacts"].status == "skipped"
    assert "control" in by["after_contacts"].reason and "needs_contacts" not in by["after_contacts"].reason


# ----------------------------------------------------- history: earlier runs first
def test_history_as_of_publishes_the_earlier_run_first_once(tmp_path, spy):
    text = CONFIG_TEXT.replace("timezone: UTC\n", "timezone: UTC\nas_of: 2025-06-30\nhistory_as_of: [2024-12-30]\n")
    cfg = write_config(tmp_path / "cfg", text=text)
    out = tmp_path / "out"
    first = run(cfg, out, notebooks=["control"], history=True)
    assert first.status == "ok" and len(first.history) == 1 and first.history[0].status == "ok"
    earlier = RunLayout(first.history[0].run_dir)
    assert json.loads(earlier.manifest.read_text())["as_of"] == "2024-12-30"
    assert os.readlink(out / "latest") == first.run_id  # the main run is the latest
    assert first.history[0].run_id < first.run_id  # run ids sort in the order the runs were made
    # the main run's notebooks see the earlier run as their history
    from ecrm_lib.run.context import RunContext
    ctx = RunContext(first.run_dir, notebook="control")
    runs = ctx.earlier_runs()
    assert runs["run_id"].tolist() == [first.history[0].run_id] and ctx.earlier_run() == first.history[0].run_dir
    assert RunContext(first.history[0].run_dir, notebook="control").earlier_runs().empty
    # again: the earlier run exists and the main run is unchanged; nothing is loaded
    calls = spy.calls
    again = run(cfg, out, notebooks=["control"], history=True)
    assert again.status == "unchanged" and again.history == [] and spy.calls == calls
    # an earlier run never moves `latest` (a failing main run must leave it on the last good main run)
    extra = run(cfg, out, notebooks=["control"], as_of="2024-06-30", publish_latest=False)
    assert extra.status == "ok" and os.readlink(out / "latest") == first.run_id
    # without history (the library default), no earlier run is made
    out2 = tmp_path / "out2"
    plain = run(cfg, out2, notebooks=["control"])
    assert plain.history == [] and len([p for p in out2.iterdir() if not p.name.startswith((".", "latest"))]) == 1


def test_history_as_of_must_precede_as_of(tmp_path):
    text = CONFIG_TEXT.replace("timezone: UTC\n", "timezone: UTC\nas_of: 2025-06-30\nhistory_as_of: [2025-06-30]\n")
    with pytest.raises(ConfigError, match="must be before"):
        runner.run_suite(write_config(tmp_path / "cfg", text=text), out_dir=tmp_path / "out", registry_path=REGISTRY,
                         progress=None)


def test_show_first_entry_heads_the_index_but_runs_in_order(tmp_path, spy):
    folder = tmp_path / "nbs"
    shutil.copytree(FIXTURES, folder)
    reg = folder / "registry.yaml"
    data = yaml.safe_load(reg.read_text(encoding="utf-8"))
    for entry in data["notebooks"]:
        if entry["name"] == "downstream":
            entry["show_first"] = True
    reg.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    outcome = run(write_config(tmp_path / "data"), tmp_path / "out", registry_path=reg, notebooks=["downstream", "basic"])
    assert outcome.status == "ok", outcome.lines
    assert [r.name for r in outcome.results] == ["basic", "control", "downstream"]  # run order unchanged
    html = (tmp_path / "out" / "latest" / "index.html").read_text(encoding="utf-8")
    order = [html.index(f'<a href="{n}.html">') for n in ("downstream", "basic", "control")]
    assert order == sorted(order)
    manifest = json.loads((tmp_path / "out" / "latest" / "manifest.json").read_text(encoding="utf-8"))
    assert list(manifest["notebooks"]) == ["basic", "control", "downstream"]


def test_kernels_talk_over_unix_sockets_not_tcp(tmp_path, spy, capfd):
    # notebook code and outputs (personal data) never cross a TCP port; ipykernel's plain-TCP warning is gone
    from ecrm_lib.run import kernels

    manager = kernels.kernel_manager_class(tmp_path / "kernel.log")
    if os.name == "posix":
        assert manager().transport == "ipc"
    outcome = run(write_config(tmp_path / "cfg"), tmp_path / "out", notebooks=["control"])
    assert outcome.status == "ok"
    assert "without encryption" not in capfd.readouterr().err
    # the kernel's clients were closed with it: no heartbeat thread pings a dead kernel after the run
    import threading

    time.sleep(1.5)
    assert not [t for t in threading.enumerate() if type(t).__name__ == "HBChannel" and t.is_alive()]


def test_manifest_and_progress_give_each_kernel_s_peak_memory_and_the_next_run_keeps_to_a_memory_budget(tmp_path, spy):
    # control writes 1,000 MiB and frees them; basic allocates nothing: the peak (Linux VmHWM) keeps control's. A
    # kernel's own part is 200-300 MiB, basic's a little more than control's (it reads data).
    if not Path("/proc/self/status").exists():
        pytest.skip("kernel peak memory is read from /proc (Linux)")
    cfg, out = write_config(tmp_path / "cfg"), tmp_path / "out"
    outcome = run(cfg, out, jobs=2, notebooks=["basic", "control"],
                  parameters={"control": {"mode": "allocate", "allocate_mib": 1000}})
    assert outcome.status == "ok", outcome.lines
    recorded = json.loads((outcome.run_dir / "manifest.json").read_text(encoding="utf-8"))
    manifest = recorded["notebooks"]
    basic, control = manifest["basic"]["peak_memory_mb"], manifest["control"]["peak_memory_mb"]
    assert 20 < basic < 900 and control >= 1000 and control > basic + 500, (basic, control)
    assert any(re.search(r"control \.\.\. ok \([\d.]+ s, [\d,]+ MiB\)", line) for line in outcome.lines), outcome.lines
    assert recorded["input_rows"] > 0
    # the next run on the same rows: control's and basic's peaks together would pass a budget of 1,100 MiB, so with
    # jobs=2 control waits for basic (control now sleeps 3 s: the spans show whether they overlapped)
    second = run(cfg, out, jobs=2, notebooks=["basic", "control"], force=True, memory_budget_mb=1100,
                 parameters={"control": {"mode": "sleep", "sleep_s": 3.0}})
    assert second.status == "ok", second.lines
    assert any(re.search(r"control waits for basic: its expected peak of [\d,]+ MiB beside their [\d,]+ MiB would pass "
                         r"the run's memory budget of 1,100 MiB", line) for line in second.lines), second.lines

    def span(name):
        meta = json.loads(RunLayout(second.run_dir).executed(name).read_text(encoding="utf-8"))["metadata"]["papermill"]
        return dt.datetime.fromisoformat(meta["start_time"]), dt.datetime.fromisoformat(meta["end_time"])

    (_, b1), (c0, _) = span("basic"), span("control")
    assert c0 >= b1, "control ran beside basic although both would not fit in the budget"
    # the estimate: a peak's part above a kernel's base grows with the input rows; no rows recorded, no estimate
    peaks = execute_mod.expected_peaks(recorded, 2 * recorded["input_rows"])
    assert peaks["control"] == pytest.approx(2 * control - execute_mod.KERNEL_BASE_MB)
    assert execute_mod.expected_peaks({"notebooks": manifest}, 10) == {}


def test_independent_notebooks_run_at_the_same_time_and_upstreams_first(tmp_path, spy):
    # control sleeps 4 s; basic does not depend on it and runs meanwhile; downstream waits for control
    outcome = run(write_config(tmp_path / "cfg"), tmp_path / "out", jobs=2,
                  parameters={"control": {"mode": "sleep", "sleep_s": 4.0}})
    assert outcome.status == "ok", outcome.lines
    assert [r.name for r in outcome.results] == ["basic", "control", "downstream", "needs_contacts"]  # registry order

    def span(name):
        meta = json.loads(RunLayout(outcome.run_dir).executed(name).read_text(encoding="utf-8"))["metadata"]["papermill"]
        return dt.datetime.fromisoformat(meta["start_time"]), dt.datetime.fromisoformat(meta["end_time"])

    (b0, b1), (c0, c1), (d0, _) = span("basic"), span("control"), span("downstream")
    assert b0 < c1 and c0 < b1, "basic and control did not overlap"
    assert d0 >= c1, "downstream started before its upstream control ended"
    # once basic was done a core was idle: downstream's kernel started (and imported its modules) while control ran
    started = json.loads(RunLayout(outcome.run_dir).metrics("downstream").read_text(encoding="utf-8"))
    assert dt.datetime.fromtimestamp(started["metrics"]["kernel_started"]["value"], dt.timezone.utc) < c1
    # forked from the run's fork server, which had imported the notebooks' modules (ecrm_lib.run.kernel_fork)
    assert started["metrics"]["kernel_forked"]["value"] == 1
    # the effective parameters of every notebook reach the others through the run folder
    from ecrm_lib.run.context import RunContext

    ctx = RunContext(outcome.run_dir, "downstream")
    assert ctx.parameter("control", "sleep_s") == 4.0 and ctx.parameter("basic", "n") == 3


def test_a_second_run_in_the_process_forks_from_the_first_run_s_server_unless_the_library_changed(tmp_path, spy):
    import psutil

    def parent(outcome):
        metrics = json.loads(RunLayout(outcome.run_dir).metrics("downstream").read_text(encoding="utf-8"))["metrics"]
        assert outcome.status == "ok" and metrics["kernel_forked"]["value"] == 1, outcome.lines
        return metrics["kernel_parent"]["value"]

    cfg = write_config(tmp_path / "cfg")
    first = parent(run(cfg, tmp_path / "out1", jobs=2, notebooks=["downstream"]))
    assert psutil.Process(first).is_running()  # kept between runs, idle
    assert parent(run(cfg, tmp_path / "out2", jobs=2, notebooks=["downstream"])) == first
    # a library file changed since the server imported it (here only its modification time): a new server
    from ecrm_lib.run import kernel_fork

    source = Path(kernel_fork.__file__)
    stat = source.stat()
    os.utime(source, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))
    try:
        third = parent(run(cfg, tmp_path / "out3", jobs=2, notebooks=["downstream"]))
    finally:
        os.utime(source, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert third != first
    try:  # the replaced server is closed (and reaped already, or soon)
        psutil.Process(first).wait(timeout=15)
    except psutil.NoSuchProcess:
        pass


def test_kernels_start_the_usual_way_when_forking_is_off(tmp_path, spy, monkeypatch):
    monkeypatch.setenv("ECRM_FORK_KERNELS", "0")
    outcome = run(write_config(tmp_path / "cfg"), tmp_path / "out", jobs=2, notebooks=["downstream"])
    assert outcome.status == "ok", outcome.lines
    metrics = json.loads(RunLayout(outcome.run_dir).metrics("downstream").read_text(encoding="utf-8"))["metrics"]
    assert metrics["kernel_forked"]["value"] == 0 and metrics["seen"]["value"] == 1


def test_no_kernel_outlives_a_killed_runner(tmp_path):
    """The runner killed (SIGKILL, no clean-up) while a forked kernel runs a cell: the fork server and every kernel
    go too (the server by its parent-death signal, the kernels by ipykernel's parent poller)."""
    import signal

    import psutil

    cfg = write_config(tmp_path / "cfg")
    code = ("import sys; from pathlib import Path; from ecrm_lib.run.runner import run_suite; "
            "run_suite(Path(sys.argv[1]), out_dir=Path(sys.argv[2]), registry_path=Path(sys.argv[3]), jobs=2, "
            "progress=None, parameters={'control': {'mode': 'sleep', 'sleep_s': 120.0}})")
    proc = subprocess.Popen([sys.executable, "-c", code, str(cfg), str(tmp_path / "out"), str(REGISTRY)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        runner_proc, deadline, forked = psutil.Process(proc.pid), time.monotonic() + 90, []
        while time.monotonic() < deadline and not forked:  # the control notebook's kernel, forked by the server
            time.sleep(0.5)
            family = runner_proc.children(recursive=True)

            def parent(p):  # None for a process that ended meanwhile (basic's kernel ends while this polls)
                try:
                    return p.ppid(), " ".join(p.cmdline())
                except psutil.Error:
                    return None, ""

            info = {p.pid: parent(p) for p in family}
            servers = [p for p in family if "ecrm_lib.run.kernel_fork" in info[p.pid][1] and info[p.pid][0] == proc.pid]
            forked = [p for p in family if servers and info[p.pid][0] == servers[0].pid]
        assert forked, "no kernel was forked"
        family = runner_proc.children(recursive=True)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        gone, alive = psutil.wait_procs(family, timeout=30)
        assert alive == [], [" ".join(p.cmdline())[:120] for p in alive]
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_one_job_runs_in_registry_order(tmp_path, spy):
    outcome = run(write_config(tmp_path / "cfg"), tmp_path / "out", jobs=1, notebooks=["basic", "control"])
    starts = [json.loads(RunLayout(outcome.run_dir).executed(n).read_text(encoding="utf-8"))["metadata"]["papermill"]["start_time"]
              for n in ("basic", "control")]
    assert starts == sorted(starts)


def test_parallel_notebooks_leave_the_working_directory_alone(tmp_path, spy):
    before = os.getcwd()
    outcome = run(write_config(tmp_path / "cfg"), tmp_path / "out", jobs=3)
    assert outcome.status == "ok" and os.getcwd() == before


def test_every_page_links_the_index_and_the_glossary(base):
    from ecrm_lib.report.glossary import anchor, glossary_terms

    run_dir = base["out"] / "latest"
    pages = sorted(run_dir.glob("*.html"))
    assert {p.name for p in pages} >= {"index.html", "glossary.html", "basic.html", "needs_contacts.html"}
    for page in pages:
        html = page.read_text(encoding="utf-8")
        if page.name != "glossary.html":
            assert 'href="glossary.html"' in html, page.name
        if page.name not in ("index.html",):
            assert 'href="index.html"' in html, page.name
    glossary = (run_dir / "glossary.html").read_text(encoding="utf-8")
    for term in ("CLV", "P(alive)", "AUC", "Lift", "Qini", "Gini", "NPS", "Uplift", "Percentage points"):
        hit = [k for k, name, _ in glossary_terms("en") if term.lower() in name.lower()]
        assert hit and f'id="{anchor(hit[0])}"' in glossary, term


def test_a_cell_timeout_prints_one_clear_message_and_no_kernel_noise(tmp_path, capfd):
    params = tmp_path / "p.yaml"
    params.write_text("control:\n  mode: sleep\n  sleep_s: 60.0\n", encoding="utf-8")
    code = cli.main(["run", "--config", str(write_config(tmp_path / "cfg")), "--out", str(tmp_path / "out"),
                     "--registry", str(REGISTRY), "--notebook", "control", "--params", str(params), "--cell-timeout", "2"])
    out, err = capfd.readouterr()
    assert code == 1
    assert [line for line in err.splitlines() if line.strip()] == [next(line for line in err.splitlines() if line.startswith("error: run"))]
    for noise in ("Traceback", "ZMQError", "Socket operation", "KeyboardInterrupt", "Timeout waiting"):
        assert noise not in out + err, noise
    assert "CellTimeoutError" in out and "raise `timeout_s`" in out
    (run_dir,) = [p for p in (tmp_path / "out").iterdir() if p.is_dir() and not p.name.startswith(".")]
    assert (run_dir / "private" / "logs" / "control.kernel.log").exists()  # the kernel's own output is kept, privately


def test_a_successful_run_prints_no_kernel_noise(tmp_path, capfd):
    code = cli.main(["run", "--config", str(write_config(tmp_path / "cfg")), "--out", str(tmp_path / "out"),
                     "--registry", str(REGISTRY), "--notebook", "basic", "control"])
    out, err = capfd.readouterr()
    assert code == 0 and err.strip() == "", err
    assert "KeyboardInterrupt" not in out and "Traceback" not in out


def test_progress_of_long_steps_reaches_the_runner_output(base):
    lines = base["outcome"].lines
    step = next(i for i, line in enumerate(lines) if re.fullmatch(r"    basic \d\d:\d\d:\d\d  counting 3 transactions", line))
    done = next(i for i, line in enumerate(lines) if re.match(r"\[\d/4\] basic \.\.\. ok", line))
    assert step < done  # a notebook's progress comes before its result line


def test_two_report_languages_publish_linked_pages(tmp_path, spy):
    outcome = run(write_config(tmp_path / "cfg"), tmp_path / "out", languages="ko,en", notebooks=["basic", "needs_contacts"])
    assert outcome.status == "ok", outcome.lines
    root = outcome.run_dir
    index_ko, index_en = (root / "index.html").read_text(encoding="utf-8"), (root / "en" / "index.html").read_text(encoding="utf-8")
    assert '<html lang="ko">' in index_ko and "eCRM 보고서" in index_ko and 'href="en/index.html"' in index_ko
    assert '<html lang="en">' in index_en and "eCRM reports" in index_en and 'href="../index.html"' in index_en
    for folder in (root, root / "en"):
        assert (folder / "glossary.html").exists() and (folder / "basic.html").exists() and (folder / "needs_contacts.html").exists()
    assert "용어 설명" in (root / "glossary.html").read_text(encoding="utf-8")
    assert 'href="en/basic.html"' in (root / "basic.html").read_text(encoding="utf-8")
    assert "입력 자료가 없어" in (root / "needs_contacts.html").read_text(encoding="utf-8")
    assert "its input data is missing" in (root / "en" / "needs_contacts.html").read_text(encoding="utf-8")
    # the language is part of what a run depends on
    assert runner.suite_fingerprint(write_config(tmp_path / "cfg"), registry_path=REGISTRY) != outcome.fingerprint


def test_forked_kernels_draw_their_own_random_state_and_run_their_exit_handlers(tmp_path):
    """Two kernels forked from one server: numpy's global random state is each kernel's own (not a copy of the
    server's), and a kernel asked to exit runs the exit handlers its code registered (the engine's temporary folders,
    a Spark Connect session's release), as a kernel started the usual way does."""
    from jupyter_core.utils import run_sync

    from ecrm_lib.run import kernel_fork, kernels

    notebook = FIXTURES / "basic.ipynb"
    with kernel_fork.ForkServer(["numpy", "numpy.random"]) as server:
        drawn = []
        for i in range(2):
            km = kernels.start_kernel(notebook, tmp_path / f"k{i}.log", tmp_path, fork_server=server)
            try:
                assert isinstance(km.provisioner.process, kernel_fork._Forked)  # forked, not started the usual way
                kc = km.client()
                kc.start_channels()
                kc.wait_for_ready(timeout=60)
                mark = tmp_path / f"exited-{i}"
                code = ("import atexit, pathlib, numpy as np\n"
                        f"atexit.register(pathlib.Path({str(mark)!r}).write_text, 'ran')\n"
                        "print(repr(np.random.random()))")
                out = []
                run_sync(kc.execute_interactive)(code, timeout=60,
                                                 output_hook=lambda m: out.append(m["content"].get("text", "")))
                drawn.append("".join(out).strip())
            finally:
                kernels.stop_kernel(km)
            assert mark.read_text() == "ran"
    assert drawn[0] and drawn[0] != drawn[1]
