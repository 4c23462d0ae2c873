"""The ``ecrm`` command as a tool (issue 14 item 3): one version source, logging with -v / -q,
``ecrm run --json`` for schedulers, exit codes as documented."""

from __future__ import annotations

import json
import logging
import re
import tomllib
from importlib.metadata import version as installed_version
from pathlib import Path

import pytest

import ecrm_lib
from ecrm_lib.core.errors import ConfigError
from ecrm_lib.run import cli, runner
from ecrm_lib.run.execute import NotebookResult
from ecrm_lib.run.runner import RunOutcome

REPO = Path(__file__).resolve().parents[1]


def test_version_has_one_source(capsys):
    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    assert "version" not in pyproject["project"] and "version" in pyproject["project"]["dynamic"]
    assert pyproject["tool"]["setuptools"]["dynamic"]["version"] == {"attr": "ecrm_lib.__version__"}
    with pytest.raises(SystemExit) as info:
        cli.main(["--version"])
    assert info.value.code == 0
    assert capsys.readouterr().out.strip() == f"ecrm {ecrm_lib.__version__}"
    assert installed_version("ecrm-lib") == ecrm_lib.__version__
    assert re.fullmatch(r"\d+\.\d+\.\d+", ecrm_lib.__version__)


def _fake_run(status="ok", tmp_path=None, lines=("Loading 3 sources", "Running data_overview")):
    def run_suite(config, **kwargs):
        for line in lines:
            kwargs["progress"](line)
        logging.getLogger("ecrm.cli").debug("a debug line")
        run_dir = tmp_path / "20250630-abc"
        results = [NotebookResult("data_overview", "Data overview", "", "ok", html="data_overview.html"),
                   NotebookResult("churn", "Churn", "", status, error_type="ValueError" if status == "failed" else None)]
        return RunOutcome(status=status, run_id=run_dir.name, run_dir=run_dir, results=results, out_dir=tmp_path)

    return run_suite


def test_progress_goes_through_logging_and_obeys_v_and_q(monkeypatch, tmp_path, capsys):
    monkeypatch.setattr(runner, "run_suite", _fake_run(tmp_path=tmp_path))
    assert cli.main(["run", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out == ["Loading 3 sources", "Running data_overview", str(tmp_path / "latest" / "index.html")]
    assert cli.main(["-q", "run", "--out", str(tmp_path)]) == 0
    assert capsys.readouterr().out.splitlines() == [str(tmp_path / "latest" / "index.html")]
    assert cli.main(["run", "-v", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "INFO ecrm.cli: Loading 3 sources" in out and "DEBUG ecrm.cli: a debug line" in out
    # the library's progress logger is under the same handler
    cli.configure_logging(quiet=0)
    logging.getLogger("ecrm.progress").info("fitting BG/NBD")
    assert capsys.readouterr().out == "fitting BG/NBD\n"
    cli.configure_logging(quiet=2)
    logging.getLogger("ecrm.progress").warning("a warning")
    assert capsys.readouterr().out == ""


def test_run_json_prints_only_json_on_stdout(monkeypatch, tmp_path, capsys):
    monkeypatch.setattr(runner, "run_suite", _fake_run(tmp_path=tmp_path))
    assert cli.main(["run", "--json", "--out", str(tmp_path)]) == 0
    captured = capsys.readouterr()
    doc = json.loads(captured.out)
    assert doc["run_id"] == "20250630-abc" and doc["status"] == "ok" and doc["ok"] is True
    assert doc["run_dir"] == str(tmp_path / "20250630-abc")
    assert doc["index"] == str(tmp_path / "20250630-abc" / "index.html")
    assert doc["latest_index"] == str(tmp_path / "latest" / "index.html")
    assert doc["notebooks"][0] == {"name": "data_overview", "status": "ok",
                                   "page": str(tmp_path / "20250630-abc" / "data_overview.html")}
    assert "Loading 3 sources" in captured.err  # progress moved to standard error


def test_run_json_on_failure_keeps_the_exit_codes(monkeypatch, tmp_path, capsys):
    monkeypatch.setattr(runner, "run_suite", _fake_run("failed", tmp_path=tmp_path))
    assert cli.main(["run", "--json", "--out", str(tmp_path)]) == 1
    captured = capsys.readouterr()
    doc = json.loads(captured.out)
    assert doc["status"] == "failed" and doc["ok"] is False and doc["notebooks"][1]["status"] == "failed"
    assert "failed: churn (ValueError)" in captured.err

    def bad_config(config, **kwargs):
        raise ConfigError("config.yaml: unknown table 'orders'")

    monkeypatch.setattr(runner, "run_suite", bad_config)
    assert cli.main(["run", "--json"]) == 2
    captured = capsys.readouterr()
    assert json.loads(captured.out) == {"run_id": None, "status": "error", "ok": False, "exit_code": 2,
                                        "error": "config.yaml: unknown table 'orders'"}
    assert "unknown table 'orders'" in captured.err


def test_usage_errors_exit_2(capsys):
    with pytest.raises(SystemExit) as info:
        cli.main(["run", "--no-such-option"])
    assert info.value.code == 2


def test_readme_documents_the_cli():
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    for needle in ("ecrm --version", "-v", "-q", "--json", "Exit codes", "ecrm init"):
        assert needle in readme, needle


def test_generate_writes_the_report_languages_it_is_given(tmp_path):
    from ecrm_lib.core.config import load_config

    assert cli.main(["generate", "--out", str(tmp_path / "ko"), "--persons", "100", "--language", "ko,en"]) == 0
    assert cli.main(["generate", "--out", str(tmp_path / "plain"), "--persons", "100"]) == 0
    assert load_config(tmp_path / "ko" / "config.yaml").languages == ("ko", "en")
    assert load_config(tmp_path / "plain" / "config.yaml").languages == ("en",)  # no language: English reports
    assert cli.main(["generate", "--out", str(tmp_path / "bad"), "--persons", "100", "--language", "xx"]) != 0
    assert not (tmp_path / "bad" / "config.yaml").exists()  # refused before anything is written
