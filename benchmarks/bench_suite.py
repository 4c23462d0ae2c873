"""Benchmark of the whole suite: one ``ecrm run`` on generated data against the engine's floor.

Run from the repository root::

    .venv/bin/python benchmarks/bench_suite.py --persons 3000              # the default size
    .venv/bin/python benchmarks/bench_suite.py --persons 200000 --format parquet --jobs 2
    .venv/bin/python benchmarks/bench_suite.py --data /tmp/gen/p1m-parquet  # a dataset generated elsewhere
    .venv/bin/python benchmarks/bench_suite.py --data /tmp/gen/p10m-parquet --out /tmp/b10  # after a 1M run into /tmp/b10

What it does
------------
1. Generates ``--persons`` persons once (``ecrm generate``, default seed) into
   ``<cache>/p<N>-<format>`` (``--cache``, default ``~/.cache/ecrm-bench``, outside the
   repository) and reuses that folder while its ``truth/truth.json`` says the same
   persons, seed and format (``--regenerate`` forces a new generation). ``--data DIR``
   uses a generated folder as it is.
2. Runs ``ecrm run --config <data>/config.yaml --no-history --force --out <tmp>``
   (``--jobs J`` is passed on) as a child process and samples, every 0.5 s, the resident
   memory of the runner and of every process below it (papermill kernels, DuckDB threads
   live inside them), with psutil when it is installed, else from /proc.
   With ``--out DIR`` the run goes into ``DIR`` and stays there; a good run of the same
   config already in ``DIR`` (a smaller size of the same generator) gives the runner the
   kernels' peaks it scales by the input rows, so that notebooks that would not fit in
   memory together do not run at the same time (the README's memory rule). In a new
   temporary folder there is no earlier run, and only ``--jobs`` applies.
3. Reads the run's ``manifest.json``: status, seconds and kernel peak memory of each notebook.
4. Measures the floor in a fresh process: DuckDB alone (``ibis.duckdb``) reads the same
   transaction file and computes the per-customer summary
   (``ecrm_lib.value.features.rfm_summary``, customer = account, as of the config's date
   in its time zone), best of two.

How to read the output
----------------------
- ``kernel peak MiB`` per notebook is the manifest's ``peak_memory_mb``: the largest resident memory of its
  kernel (Linux ``VmHWM``), about 300 MiB of shared imported modules included.
- ``seconds`` per notebook are the manifest's: the notebook's own wall time, kernel start
  included. With ``--jobs`` above 1 notebooks overlap, so they add up to more than the run.
- ``before the first notebook`` is the loading of the sources into the run's canonical
  tables and the preparation of the run folder: from the runner's "loading data" line to
  the start of the first notebook (the first one to finish started first: its end minus
  its duration). ``after the last notebook`` is the index, glossary and publishing.
- ``whole run`` is the wall time of the ``ecrm run`` process (Python start included);
  the manifest's ``duration_s`` is the runner's own measure, after its imports.
- ``peak RSS of the process tree`` is the largest sum of resident memory over the
  runner and all its descendants seen in one sample. Pages shared between processes
  (libraries every kernel loads) count once per process, so the sum overstates real use
  by up to about 100 MB per kernel; ``largest process`` is the biggest single one.
  Samples every 0.5 s can miss a shorter peak.
- ``floor`` is what this machine needs at the least to read the transactions and
  aggregate them per customer; ``run / floor`` says how many times that the whole suite
  takes. It is not a target to reach (the suite also resolves identities, fits models,
  draws figures and renders HTML) but a yardstick that moves with the machine: compare
  ratios across commits and sizes rather than seconds across machines.
- The load average at start and end tells whether other work shared the machine.

Nothing here is asserted; ``--json FILE`` also writes every figure as JSON.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from _memory import rss_mib  # benchmarks/_memory.py (the script folder is on sys.path)

REPO = Path(__file__).resolve().parents[1]
DEFAULT_CACHE = Path("~/.cache/ecrm-bench").expanduser()
SAMPLE_S = 0.5
_GIB = 1024**3


# --------------------------------------------------------------------------- memory of a process tree


def _tree_rss_psutil(pid: int) -> tuple[int, int, int]:
    import psutil

    try:
        root = psutil.Process(pid)
        procs = [root, *root.children(recursive=True)]
    except psutil.Error:
        return 0, 0, 0
    sizes = []
    for p in procs:
        try:
            sizes.append(p.memory_info().rss)
        except psutil.Error:
            pass
    return sum(sizes), max(sizes, default=0), len(sizes)


def _tree_rss_proc(pid: int) -> tuple[int, int, int]:
    children: dict[int, list[int]] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat") as fh:
                stat = fh.read()
        except OSError:
            continue
        ppid = int(stat[stat.rindex(")") + 2:].split()[1])
        children.setdefault(ppid, []).append(int(entry.name))
    page = os.sysconf("SC_PAGE_SIZE")
    sizes, todo = [], [pid]
    while todo:
        p = todo.pop()
        todo.extend(children.get(p, []))
        try:
            with open(f"/proc/{p}/statm") as fh:
                sizes.append(int(fh.read().split()[1]) * page)
        except OSError:
            pass
    return sum(sizes), max(sizes, default=0), len(sizes)


try:
    import psutil  # noqa: F401

    tree_rss = _tree_rss_psutil
    SAMPLER = "psutil"
except ImportError:  # pragma: no cover - psutil is in the project's environment today
    tree_rss = _tree_rss_proc
    SAMPLER = "/proc"


class TreeSampler(threading.Thread):
    """Samples the resident memory of a process and its descendants every ``SAMPLE_S`` seconds."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid = pid
        self.peak_total = self.peak_single = self.processes_at_peak = 0
        self._stop_event = threading.Event()

    def run(self) -> None:
        while not self._stop_event.is_set():
            total, single, count = tree_rss(self.pid)
            if total > self.peak_total:
                self.peak_total, self.processes_at_peak = total, count
            self.peak_single = max(self.peak_single, single)
            self._stop_event.wait(SAMPLE_S)

    def stop(self) -> None:
        self._stop_event.set()
        self.join()


def run_sampled(cmd: list[str], log: Path | None = None, echo: bool = True) -> dict[str, Any]:
    """Run ``cmd``, stream its output (each line with the seconds since start), sample its process tree."""
    t0 = time.monotonic()
    proc = subprocess.Popen(cmd, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1)
    sampler = TreeSampler(proc.pid)
    sampler.start()
    lines: list[tuple[float, str]] = []
    fh = open(log, "w", encoding="utf-8") if log else None
    try:
        for line in proc.stdout:
            t = time.monotonic() - t0
            lines.append((t, line.rstrip("\n")))
            if fh:
                fh.write(f"{t:9.1f}  {line}")
            if echo:
                print(f"  {t:7.1f} s | {line.rstrip()}", flush=True)
        code = proc.wait()
    finally:
        sampler.stop()
        if fh:
            fh.close()
    return {"exit_code": code, "wall_s": time.monotonic() - t0, "lines": lines, "peak_tree_bytes": sampler.peak_total,
            "peak_process_bytes": sampler.peak_single, "processes_at_peak": sampler.processes_at_peak}


# --------------------------------------------------------------------------- data


def _truth(folder: Path) -> dict[str, Any] | None:
    path = folder / "truth" / "truth.json"  # written last by the generator: present means complete
    if not (folder / "config.yaml").exists() or not path.exists():
        return None
    return json.loads(path.read_text(encoding="utf-8"))


def ensure_data(args) -> tuple[Path, dict[str, Any], dict[str, Any] | None]:
    """The dataset folder, its truth, and the generation's figures (None when reused)."""
    if args.data:
        folder = Path(args.data).expanduser().resolve()
        truth = _truth(folder)
        if truth is None:
            sys.exit(f"{folder} holds no generated dataset (config.yaml and truth/truth.json).")
        return folder, truth, None
    folder = Path(args.cache).expanduser() / f"p{args.persons}-{args.format}"
    truth = _truth(folder)
    wanted = {"n_persons": args.persons, "format": args.format, "seed": args.seed}
    if truth is not None and not args.regenerate and all(truth.get(k) == v for k, v in wanted.items()):
        return folder, truth, None
    if folder.exists():
        shutil.rmtree(folder)
    folder.parent.mkdir(parents=True, exist_ok=True)
    print(f"Generating {args.persons:,} persons ({args.format}) into {folder} ...", flush=True)
    gen = run_sampled([sys.executable, "-m", "ecrm_lib.run.cli", "generate", "--out", str(folder), "--persons",
                       str(args.persons), "--format", args.format, "--seed", str(args.seed)], echo=args.verbose)
    if gen["exit_code"] != 0:
        sys.exit("generation failed:\n" + "\n".join(line for _, line in gen["lines"][-20:]))
    gen.pop("lines")
    return folder, _truth(folder), gen


# --------------------------------------------------------------------------- the floor


def floor_once(data: str) -> dict[str, Any]:
    """Read the transactions with DuckDB and compute the per-account RFM summary; seconds and peak memory."""
    import ibis

    from ecrm_lib.core.config import load_config
    from ecrm_lib.value.features import rfm_summary

    config = load_config(Path(data) / "config.yaml")
    source = config.sources_for("transactions")[0]
    con = ibis.duckdb.connect()
    t0 = time.perf_counter()
    if source.format == "parquet":
        table = con.read_parquet(source.path)
    else:
        table = con.read_csv(source.path)
    summary = rfm_summary(table, as_of=config.as_of, customer_col="account_id", timezone=config.timezone)
    seconds = time.perf_counter() - t0
    return {"seconds": seconds, "customers": len(summary), "file": str(source.path), "format": source.format,
            "peak_mib": rss_mib("VmHWM")}


def measure_floor(data: Path, repeat: int = 2) -> dict[str, Any]:
    """:func:`floor_once` in fresh processes, best of ``repeat``."""
    best = None
    for _ in range(repeat):
        out = subprocess.run([sys.executable, __file__, "--floor-only", str(data)], cwd=REPO, capture_output=True,
                             text=True, check=True)
        res = json.loads(out.stdout.strip().splitlines()[-1])
        if best is None or res["seconds"] < best["seconds"]:
            best = res
    return best


# --------------------------------------------------------------------------- the run


def _git() -> str:
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True,
                              check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=REPO, capture_output=True,
                               text=True, check=True).stdout.splitlines()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return head + (f" (+{len(dirty)} uncommitted files in the tree)" if dirty else " (clean)")


def _manifest(out: Path) -> dict[str, Any] | None:
    found = [p for p in out.glob("*/manifest.json") if not p.parent.is_symlink() and not p.parent.name.startswith(".")]
    if not found:
        return None
    return json.loads(max(found, key=lambda p: p.stat().st_mtime).read_text(encoding="utf-8"))


def _phases(lines: list[tuple[float, str]], manifest: dict[str, Any] | None, wall: float) -> dict[str, float | None]:
    """Seconds before the first notebook started and after the last one finished, from the runner's lines."""
    loading = next((t for t, line in lines if "loading data" in line), None)
    done = [(t, m.group(1)) for t, line in lines if (m := re.match(r"\[\d+/\d+\] (\S+) \.\.\.", line))]
    if loading is None or not done or not manifest:
        return {"before_first_notebook_s": None, "after_last_notebook_s": None}
    t_first, name = done[0]
    duration = (manifest.get("notebooks", {}).get(name) or {}).get("duration_s")
    before = t_first - duration - loading if duration is not None else None
    return {"before_first_notebook_s": before, "after_last_notebook_s": wall - done[-1][0]}


def run_suite(data: Path, jobs: int | None, keep: bool, verbose: bool, out: Path | None = None) -> dict[str, Any]:
    if out is not None:  # the user's folder: kept, and an earlier good run of the same config there sets the memory rule
        out.mkdir(parents=True, exist_ok=True)
        keep = True
    else:
        out = Path(tempfile.mkdtemp(prefix="ecrm-bench-"))
    cmd = [sys.executable, "-m", "ecrm_lib.run.cli", "run", "--config", str(data / "config.yaml"), "--no-history",
           "--force", "--out", str(out)]
    if jobs:
        cmd += ["--jobs", str(jobs)]
    print("Running: ecrm " + " ".join(cmd[3:]), flush=True)
    res = run_sampled(cmd, log=out / "bench-run.log", echo=verbose)
    manifest = _manifest(out)
    res.update(_phases(res["lines"], manifest, res["wall_s"]))
    res["tail"] = [line for _, line in res.pop("lines")[-5:]]
    res["manifest_duration_s"] = manifest.get("duration_s") if manifest else None
    res["status"] = manifest.get("status") if manifest else "no manifest"
    res["notebooks"] = {name: {"status": nb.get("status"), "seconds": nb.get("duration_s"),
                               "peak_mib": nb.get("peak_memory_mb"), "error": (nb.get("error") or {}).get("type")}
                        for name, nb in (manifest or {}).get("notebooks", {}).items()}
    res["out"] = str(out)
    if not keep:
        shutil.rmtree(out, ignore_errors=True)
        res["out"] += " (removed)"
    return res


# --------------------------------------------------------------------------- report


def _gib(b: float) -> str:
    return f"{b / _GIB:.2f} GiB"


def _s(x: float | None) -> str:
    return "n/a" if x is None else f"{x:,.1f} s"


def report(args, data: Path, truth: dict[str, Any], gen: dict | None, run: dict, floor: dict, load: tuple) -> None:
    c = truth["counts"]
    print()
    print(f"Suite benchmark, {dt.datetime.now().isoformat(timespec='seconds')}, commit {_git()}")
    print(f"data: {data} ({truth['format']}): {c['persons']:,} persons, {c['accounts']:,} accounts, "
          f"{c['transactions_rows']:,} transaction rows, {c['contacts_rows']:,} contacts, {c['feedback_rows']:,} answers")
    print(f"machine: {os.cpu_count()} cores; load average {load[0]:.2f} at start, {load[1]:.2f} at end; "
          f"--jobs {args.jobs or 'default'}; memory sampled with {SAMPLER} every {SAMPLE_S} s")
    if gen:
        print(f"generation: {gen['wall_s']:,.1f} s, peak RSS {_gib(gen['peak_tree_bytes'])}")
    print()
    width = max([len(n) for n in run["notebooks"]] + [8])
    status = {name: nb["status"] + (f" ({nb['error']})" if nb.get("error") else "") for name, nb in run["notebooks"].items()}
    sw = max([len(v) for v in status.values()] + [6])
    print(f"{'notebook':<{width}}  {'status':<{sw}} {'seconds':>9} {'kernel peak MiB':>16}")
    for name, nb in run["notebooks"].items():
        seconds = nb["seconds"] if nb["seconds"] is not None else float("nan")
        peak = f"{nb['peak_mib']:,.0f}" if nb.get("peak_mib") is not None else "-"
        print(f"{name:<{width}}  {status[name]:<{sw}} {seconds:>9.1f} {peak:>16}")
    print()
    rows = [
        ("run status", f"{run['status']} (exit code {run['exit_code']})"),
        ("before the first notebook (load, prepare)", _s(run["before_first_notebook_s"])),
        ("after the last notebook (index, publish)", _s(run["after_last_notebook_s"])),
        ("whole run, wall time of `ecrm run`", _s(run["wall_s"])),
        ("whole run, manifest duration_s", _s(run["manifest_duration_s"])),
        ("peak RSS of the process tree", f"{_gib(run['peak_tree_bytes'])} ({run['processes_at_peak']} processes; "
                                         f"largest process {_gib(run['peak_process_bytes'])})"),
        (f"floor: DuckDB reads {Path(floor['file']).name} + per-customer RFM",
         f"{floor['seconds']:.2f} s ({floor['customers']:,} customers, peak {floor['peak_mib']:,.0f} MiB)"),
        ("run / floor", f"{run['wall_s'] / floor['seconds']:,.0f}x"),
    ]
    for label, value in rows:
        print(f"{label:<52} {value}")
    if run["status"] != "ok":
        print("last lines of the run:\n  " + "\n  ".join(run["tail"]))
    print(f"run folder: {run['out']}")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--persons", type=int, default=3000, help="persons to generate (default 3000, the default data's size)")
    p.add_argument("--format", choices=("csv", "parquet"), default="csv", help="format of the generated files (default csv)")
    p.add_argument("--seed", type=int, default=20261128, help="generator seed (default: the default data's)")
    p.add_argument("--jobs", type=int, help="passed to ecrm run --jobs (default: the runner's, the number of cores)")
    p.add_argument("--cache", default=str(DEFAULT_CACHE), help=f"folder of generated datasets (default {DEFAULT_CACHE})")
    p.add_argument("--data", help="use this generated folder instead of generating (its config.yaml and truth/)")
    p.add_argument("--regenerate", action="store_true", help="generate again even if the cache holds the dataset")
    p.add_argument("--keep", action="store_true", help="keep the run's output folder")
    p.add_argument("--out", help="output folder of the run (kept; default: a new temporary folder). A good run of the "
                                 "same config already there gives the runner its kernels' peaks, scaled by the input "
                                 "rows, for the memory rule: run a smaller size into it first")
    p.add_argument("--verbose", action="store_true", help="echo the runner's output lines as they come")
    p.add_argument("--json", help="also write every figure to this JSON file")
    p.add_argument("--floor-only", metavar="DATA", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.floor_only:
        print(json.dumps(floor_once(args.floor_only)))
        return 0
    data, truth, gen = ensure_data(args)
    load_start = os.getloadavg()[0]
    run = run_suite(data, args.jobs, args.keep, args.verbose, Path(args.out).expanduser() if args.out else None)
    floor = measure_floor(data)
    load = (load_start, os.getloadavg()[0])
    report(args, data, truth, gen, run, floor, load)
    if args.json:
        Path(args.json).write_text(json.dumps({"data": str(data), "counts": truth["counts"], "generation": gen,
                                               "run": run, "floor": floor, "load_average": load, "commit": _git()},
                                              indent=2, default=str), encoding="utf-8")
    return 0 if run["status"] == "ok" else 1


if __name__ == "__main__":
    sys.exit(main())
