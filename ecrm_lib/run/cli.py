"""The ``ecrm`` command.

::

    ecrm [--version] [-v | -q] COMMAND ...
    ecrm run      [--config FILE] [--as-of DATE] [--notebook NAME ...] [--out DIR] [--force] [--no-history]
                  [--params FILE.yaml] [--test-params] [--data-root DIR] [--cell-timeout S] [--jobs N]
                  [--language LANG] [--json]
    ecrm validate --config FILE [--as-of DATE] [--data-root DIR]
    ecrm init     --from FILE [FILE ...] [--out config.yaml] [--force]
    ecrm generate --out DIR [--persons N] [--seed S] [--format csv|parquet] [--chunk-persons N]
    ecrm list
    ecrm lab      [--dir DIR] [--no-launch] [JUPYTER ARGS ...]

Exit codes: 0 success (or nothing changed), 1 data error or failed run,
2 configuration or parameter error (and command-line usage errors). Errors the
suite raises on purpose print as one message without a traceback.

Output: results on standard output; progress through the standard ``logging``
module (logger ``ecrm``, lines as they come) on standard output, or on standard
error with ``--json``, where standard output holds only one JSON object (run id,
status, paths). ``-v`` adds debug lines, ``-q`` keeps only warnings (``-qq``
only errors); error messages always go to standard error.

``--params FILE.yaml`` holds ``{notebook: {parameter: value}}``, e.g.::

    data_overview:
      months_shown: 24
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from pathlib import Path
from typing import Any


from ecrm_lib.core.errors import ConfigError, EcrmError, NotebookParameterError, RunFailedError
from ecrm_lib.core.paths import DEFAULT_CONFIG, NOTEBOOKS_DIR, REPORTS_DIR
from ecrm_lib.core.yamlio import read_yaml

__all__ = ["main", "build_parser", "configure_logging", "copy_notebooks", "read_params_file", "version"]

_MAX_PROBLEMS = 20

log = logging.getLogger("ecrm.cli")


def version() -> str:
    """The installed version of the suite (``ecrm_lib.__version__``, the one source the package metadata reads too)."""
    from ecrm_lib import __version__

    return __version__


def configure_logging(verbose: int = 0, quiet: int = 0, stream=None) -> logging.Logger:
    """Send the ``ecrm`` loggers to ``stream`` (default standard output) at the level -v / -q ask for.

    INFO by default (progress lines), DEBUG with ``verbose``, WARNING with one ``quiet``,
    ERROR with two or more. Replaces the handler an earlier call installed.
    """
    level = logging.DEBUG if verbose > 0 else {0: logging.INFO, 1: logging.WARNING}.get(quiet, logging.ERROR)
    root = logging.getLogger("ecrm")
    for h in [h for h in root.handlers if getattr(h, "_ecrm_cli", False)]:
        root.removeHandler(h)
    handler = logging.StreamHandler(stream if stream is not None else sys.stdout)
    handler.setFormatter(logging.Formatter("%(message)s" if level > logging.DEBUG else "%(levelname)s %(name)s: %(message)s"))
    handler._ecrm_cli = True
    root.addHandler(handler)
    root.setLevel(level)
    root.propagate = False
    return root


def read_params_file(path: str | os.PathLike) -> dict[str, dict[str, Any]]:
    """Read ``{notebook: {parameter: value}}`` from a YAML file.

    Raises
    ------
    NotebookParameterError
        The file is missing, not YAML, or not a mapping of mappings.
    """
    raw, _ = read_yaml(path, "parameters file", NotebookParameterError)
    if raw is None:
        return {}
    if not isinstance(raw, dict) or not all(isinstance(v, dict) for v in raw.values()):
        raise NotebookParameterError(
            f"{path}: expected a mapping of notebook name to a mapping of parameter: value, e.g.\n"
            "data_overview:\n  months_shown: 24"
        )
    return {str(k): dict(v) for k, v in raw.items()}


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``ecrm`` (sub-commands run, validate, generate, list)."""
    p = argparse.ArgumentParser(
        prog="ecrm",
        description="Run the eCRM notebook suite and publish its HTML reports.",
        epilog="Exit codes: 0 success or nothing changed, 1 data error or failed run, 2 configuration, parameter or usage error.",
    )
    p.add_argument("--version", action="version", version=f"%(prog)s {version()}")
    _add_verbosity(p, 0)
    common = argparse.ArgumentParser(add_help=False)  # -v / -q also after the command (default: the main parser's)
    _add_verbosity(common, argparse.SUPPRESS)
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def data_root(sp):
        sp.add_argument("--data-root", metavar="DIR", help="folder of the shared datasets (sets ECRM_DATA_ROOT for ${DATA_ROOT} in configs)")

    r = sub.add_parser("run", parents=[common], help="run the notebooks and publish the reports", description="Load the data once, run the notebooks with papermill, render HTML and publish <out>/<run id>; <out>/latest moves only when every notebook succeeded.")
    r.add_argument("--config", default=str(DEFAULT_CONFIG), metavar="FILE", help=f"YAML config (default: {DEFAULT_CONFIG})")
    r.add_argument("--as-of", metavar="DATE", help="analysis date YYYY-MM-DD (default: the config's, else the last date in the data)")
    r.add_argument("--notebook", action="extend", nargs="+", metavar="NAME", help="run only these notebooks (and their upstreams)")
    r.add_argument("--out", default=str(REPORTS_DIR), metavar="DIR", help=f"output folder (default: {REPORTS_DIR})")
    r.add_argument("--force", action="store_true", help="run even if nothing changed since the latest good run")
    r.add_argument("--no-history", action="store_true", help="do not first publish runs at the config's history_as_of dates")
    r.add_argument("--params", metavar="FILE.yaml", help="YAML file of {notebook: {parameter: value}} overrides")
    r.add_argument("--test-params", action="store_true", help="use the registry's small test parameters")
    r.add_argument("--cell-timeout", type=float, metavar="S", help="per-cell time limit in seconds for notebooks without timeout_s in the registry")
    r.add_argument("--language", metavar="LANG", help="report language(s): en, ko, or ko,en (the first is the main one); default: the config's language")
    r.add_argument("--jobs", type=int, metavar="N", help="notebooks run at the same time once their upstreams are done (default: the number of cores; 1: one after another)")
    r.add_argument("--json", action="store_true", help="print one JSON object (run id, status, paths) on standard output; progress goes to standard error")
    r.add_argument("--registry", metavar="FILE", help=argparse.SUPPRESS)
    data_root(r)

    v = sub.add_parser("validate", parents=[common], help="load and validate the data without running notebooks")
    v.add_argument("--config", required=True, metavar="FILE", help="YAML config")
    v.add_argument("--as-of", metavar="DATE", help="analysis date YYYY-MM-DD")
    data_root(v)

    i = sub.add_parser("init", parents=[common], help="draft a config from your data files (then: ecrm validate)",
                       description="Read the header and a sample of each file (encoding, CP949 included, and delimiter "
                                   "sniffed), guess its canonical table and column mapping, and write a commented config "
                                   "saying what was guessed, how sure, and what is left to fill in.")
    i.add_argument("--from", dest="files", required=True, nargs="+", metavar="FILE", help="CSV / text (optionally .gz) or Parquet files")
    i.add_argument("--out", default="config.yaml", metavar="FILE", help="config to write (default: ./config.yaml); paths in it are relative to its folder")
    i.add_argument("--force", action="store_true", help="overwrite --out if it exists")

    g = sub.add_parser("generate", parents=[common], help="write a synthetic dataset with its config.yaml")
    g.add_argument("--out", required=True, metavar="DIR", help="folder to write into")
    g.add_argument("--persons", type=int, metavar="N", help="number of synthetic persons")
    g.add_argument("--seed", type=int, metavar="S", help="random seed")
    g.add_argument("--format", choices=("csv", "parquet"), default="csv", help="format of the data files (default: csv; the config points at them)")
    g.add_argument("--chunk-persons", type=int, metavar="N", help="most persons drawn and written at once (default: 250000; bounds memory)")
    g.add_argument("--language", metavar="LANG", help="report language(s) the config names: en, ko, or ko,en (default: none, English reports)")

    li = sub.add_parser("list", parents=[common], help="list the registered notebooks and their parameters")
    li.add_argument("--registry", metavar="FILE", help=argparse.SUPPRESS)

    lb = sub.add_parser("lab", parents=[common], help="copy the notebooks to a writable folder and open JupyterLab there",
                        description="Copy the packaged notebooks and their registry into DIR (files already there are kept, "
                                    "so your edits survive), then start JupyterLab on DIR. Every notebook runs by itself on "
                                    "the default data (or the config in $ECRM_CONFIG).")
    lb.add_argument("--dir", default="ecrm-notebooks", metavar="DIR", help="folder of the writable copy (default: ./ecrm-notebooks)")
    lb.add_argument("--no-launch", action="store_true", help="only copy the notebooks; do not start JupyterLab")
    lb.add_argument("jupyter_args", nargs=argparse.REMAINDER, metavar="JUPYTER ARGS", help="passed on to jupyter lab (e.g. --no-browser --port 8890)")
    return p


def _add_verbosity(parser: argparse.ArgumentParser, default) -> None:
    parser.add_argument("-v", "--verbose", action="count", default=default, help="more detail (debug lines)")
    parser.add_argument("-q", "--quiet", action="count", default=default, help="only warnings (-qq: only errors)")


def _print_problems(e: EcrmError) -> None:
    """Print the error; add the first problems and their count when the message lacks them."""
    message = str(e)
    print(f"error: {message}", file=sys.stderr)
    failures = getattr(e, "failures", None)
    if failures is None or not hasattr(failures, "head") or not len(failures):
        return
    first = str(failures.iloc[0].get("problem", "")) if "problem" in failures.columns else ""
    if first and first in message:
        return  # the loader's message already lists the first problems and the total
    shown = failures.head(_MAX_PROBLEMS)
    _with_pd_opts(lambda: print(shown.to_string(index=False), file=sys.stderr))
    n = len(failures)
    more = f" (first {_MAX_PROBLEMS} shown)" if n > _MAX_PROBLEMS else ""
    print(f"{n} problem(s) in total{more}.", file=sys.stderr)


def _with_pd_opts(fn):
    import pandas as pd

    with pd.option_context("display.max_colwidth", 80, "display.width", 200):
        return fn()


def _cmd_run(args) -> int:
    from ecrm_lib.run.runner import run_suite

    params = read_params_file(args.params) if args.params else None
    outcome = run_suite(
        args.config,
        as_of=args.as_of,
        notebooks=args.notebook,
        out_dir=args.out,
        force=args.force,
        registry_path=args.registry,
        parameters=params,
        test_params=args.test_params,
        cell_timeout=args.cell_timeout,
        progress=log.info,
        history=not args.no_history,
        jobs=args.jobs,
        languages=args.language,
    )
    if args.json:
        print(json.dumps(_outcome_json(outcome), indent=2))
    if outcome.status == "failed":
        failed = ", ".join(f"{r.name} ({r.error_type})" for r in outcome.failed())
        raise RunFailedError(
            f"run {outcome.run_id} failed: {failed}. Failure pages: {outcome.index}. "
            f"The previous good report is unchanged."
        )
    if not args.json:
        print(outcome.latest_index)
    return 0


def _outcome_json(outcome) -> dict[str, Any]:
    """What a scheduler needs of a run: id, status, folders, pages and the notebooks' statuses."""
    def path(p):
        return str(p) if p is not None else None

    return {
        "run_id": outcome.run_id,
        "status": outcome.status,
        "ok": outcome.ok,
        "out_dir": path(outcome.out_dir),
        "run_dir": path(outcome.run_dir),
        "index": path(outcome.index),
        "latest_index": path(outcome.latest_index),
        "notebooks": [{"name": r.name, "status": r.status,
                       "page": path(outcome.run_dir / r.html) if outcome.run_dir and r.html else None}
                      for r in outcome.results],
        "history": [{"run_id": h.run_id, "status": h.status, "run_dir": path(h.run_dir)} for h in outcome.history],
    }


def _cmd_validate(args) -> int:
    """Load and validate every source (in the engine, as ``ecrm run`` does) and print what was read and set aside."""
    from ecrm_lib.core.config import load_config
    from ecrm_lib.core.dates import as_date
    from ecrm_lib.data.load import load_on_config_engine

    config = load_config(args.config)
    result = load_on_config_engine(config, as_date(args.as_of, "as-of date", optional=True), progress=log.info)
    print(f"Config {config.name}: data valid, as of {result.as_of}.")
    if len(result.summary):
        print(_with_pd_opts(lambda: result.summary.to_string(index=False)))
    counts = result.set_aside_counts()
    if len(counts):
        print("\nSet aside by reason:")
        print(_with_pd_opts(lambda: counts[["source", "reason", "rows"]].to_string(index=False)))
    else:
        print("\nNo rows were set aside.")
    if len(result.adjustments):
        print("\nCounted changes to kept rows:")
        print(_with_pd_opts(lambda: result.adjustments[["source", "adjustment", "rows"]].to_string(index=False)))
    _print_channels(config, result)
    return 0


def _print_channels(config, result) -> None:
    """Every channel in the data with its group; a warning naming the channels no group lists and their share of the rows."""
    import ibis

    from ecrm_lib.channels.common import channel_activity, ungrouped_activity
    from ecrm_lib.core.format import format_number

    con = ibis.duckdb.connect()
    tabs = {t: con.read_parquet(str(result.paths[t])) for t in ("accounts", "transactions", "contacts") if t in result.paths}
    tabs = {t: v for t, v in tabs.items() if "channel" in v.columns or (t != "accounts" and "accounts" in tabs)}
    if not tabs:
        print("\nNo table with channels (accounts, transactions, contacts) was loaded.")
        return
    activity = channel_activity(**tabs, channel_group=config.channel_groups)
    print("\nChannels in the data and their group (config channel_groups; rows per table):")
    print(_with_pd_opts(lambda: activity[["channel", "group", *tabs]].to_string(index=False)))
    un = ungrouped_activity(activity)
    if un["channels"]:
        shares = ", ".join(f"{format_number(un[f'{t}_share'], '%', 1)} of the {t}" for t in tabs if un[f"{t}_share"] is not None)
        print(f"\nWarning: no channel group lists {', '.join(map(repr, un['channels']))}; the reports count "
              f"{'it' if len(un['channels']) == 1 else 'them'} as 'other' ({shares}). Add "
              f"{'it' if len(un['channels']) == 1 else 'them'} to a group under channel_groups in the config "
              f"(groups: {', '.join(config.channel_groups)}).")
    con.disconnect()


def _cmd_generate(args) -> int:
    from ecrm_lib.core.config import parse_languages
    from ecrm_lib.data import synth

    kwargs = {"format": args.format, "progress": log.info}
    if args.persons is not None:
        kwargs["n_persons"] = args.persons
    if args.seed is not None:
        kwargs["seed"] = args.seed
    if args.chunk_persons is not None:
        kwargs["chunk_persons"] = args.chunk_persons
    if args.language:
        kwargs["languages"] = parse_languages(args.language, "ecrm generate --language")
    out = Path(args.out)
    try:
        synth.generate(out, **kwargs)
    except ValueError as e:
        raise ConfigError(f"ecrm generate: {e}") from e
    print(f"Wrote a synthetic dataset to {out}; run it with: ecrm run --config {out / 'config.yaml'}")
    return 0


def _cmd_init(args) -> int:
    from ecrm_lib.run.init_config import confidence_word, write_config

    out, plans = write_config(args.files, args.out, force=args.force)
    for p in plans:
        log.info(f"{p.sniffed.path.name}: {p.table} ({confidence_word(p.table_score)} confidence), "
                 f"{len(p.columns)} column(s) mapped" + (f", to fill in: {', '.join(p.missing)}" if p.missing else ""))
    print(out)
    log.info(f"Check every guess in {out}, then run: ecrm validate --config {out}")
    return 0


def _cmd_list(args) -> int:
    from ecrm_lib.run.registry import load_registry

    reg = load_registry(args.registry)
    for spec in reg:
        print(f"{spec.name}  ({spec.file})  {spec.title}")
        if spec.description:
            print(f"    {spec.description}")
        need = ", ".join(spec.required_inputs) or "-"
        print(f"    needs: {need}   upstream: {', '.join(spec.upstream) or '-'}")
        for k, v in spec.parameters.items():
            test = f"  (test: {spec.test_parameters[k]!r})" if k in spec.test_parameters else ""
            print(f"    {k} = {v!r}{test}")
    return 0


def copy_notebooks(target: str | os.PathLike) -> tuple[list[str], list[str]]:
    """Copy the packaged notebooks and ``registry.yaml`` into ``target``; return (copied, kept) file names.

    A file already in ``target`` is kept as it is (it may hold the user's edits).
    """
    import shutil

    folder = Path(target).expanduser()
    folder.mkdir(parents=True, exist_ok=True)
    copied, kept = [], []
    for src in sorted([*NOTEBOOKS_DIR.glob("*.ipynb"), NOTEBOOKS_DIR / "registry.yaml"]):
        dest = folder / src.name
        if dest.exists():
            kept.append(src.name)
            continue
        shutil.copyfile(src, dest)
        dest.chmod(0o644)
        copied.append(src.name)
    return copied, kept


def _cmd_lab(args) -> int:
    import subprocess

    folder = Path(args.dir).expanduser().resolve()
    copied, kept = copy_notebooks(folder)
    log.info(f"Notebooks in {folder}: {len(copied)} copied" + (f", {len(kept)} kept as they were" if kept else "") + ".")
    if args.no_launch:
        print(folder)
        return 0
    extra = [a for a in args.jupyter_args if a != "--"]
    return subprocess.call([sys.executable, "-m", "jupyter", "lab", f"--notebook-dir={folder}", *extra])


_COMMANDS = {"run": _cmd_run, "validate": _cmd_validate, "generate": _cmd_generate, "list": _cmd_list, "lab": _cmd_lab, "init": _cmd_init}


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``ecrm``; returns the exit code."""
    args = build_parser().parse_args(argv)
    json_out = bool(getattr(args, "json", False))
    configure_logging(args.verbose, args.quiet, sys.stderr if json_out else sys.stdout)
    if getattr(args, "data_root", None):
        os.environ["ECRM_DATA_ROOT"] = str(Path(args.data_root).expanduser().resolve())
    try:
        return _COMMANDS[args.command](args)
    except BrokenPipeError:  # the reader stopped early (``ecrm list | head``): not an error
        sys.stdout = open(os.devnull, "w")  # noqa: SIM115 (Python flushes it at exit)
        return 0
    except EcrmError as e:
        _print_problems(e)
        code = 2 if isinstance(e, (ConfigError, NotebookParameterError)) else 1
        if json_out and not isinstance(e, RunFailedError):  # a failed run has printed its outcome already
            print(json.dumps({"run_id": None, "status": "error", "ok": False, "exit_code": code, "error": str(e)}, indent=2))
        return code


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
