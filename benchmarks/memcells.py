"""Seconds and resident memory of each cell of one notebook, run in a fresh kernel on a finished run folder.

Run from the repository root, after a run (``ecrm run`` or ``bench_suite.py --out DIR``) whose products the
notebook reads::

    .venv/bin/python benchmarks/memcells.py notebooks/50_selection.ipynb /tmp/b1/20261204T221631Z-19b4c35c

What it does: starts a Jupyter kernel (``python3``), runs the notebook's first code cell (its parameters), sets
``run_dir`` to the folder given, then runs the other code cells one by one. Before each cell it resets the
kernel's peak resident set (Linux ``/proc/<pid>/clear_refs``); after it, it prints the cell's seconds, the
kernel's resident memory (``VmRSS``) and its peak during the cell (``VmHWM``), in MiB, and the cell's first line.
It stops at the first cell that fails and prints the error. The notebook writes its products into the run folder
as ``ecrm run`` would (the same products, unless the code changed). Where ``/proc`` has no ``clear_refs`` the
peak is the kernel's since it started.

``bench_suite.py`` gives each notebook's peak; this says which cell makes it, and how much each cell leaves held.
Nothing here is asserted.
"""

from __future__ import annotations

import argparse
import re
import time
from pathlib import Path

import nbformat
from jupyter_client.manager import start_new_kernel


def _run(kc, code: str, timeout: float) -> tuple[str, str | None]:
    msg_id = kc.execute(code)
    out, err = [], None
    while True:
        m = kc.get_iopub_msg(timeout=timeout)
        if m["parent_header"].get("msg_id") != msg_id:
            continue
        kind = m["msg_type"]
        if kind == "stream":
            out.append(m["content"]["text"])
        elif kind == "error":
            err = "\n".join(m["content"]["traceback"])
        elif kind == "status" and m["content"]["execution_state"] == "idle":
            return "".join(out), err


def _memory(pid: int) -> dict[str, int]:
    fields = {}
    with open(f"/proc/{pid}/status") as fh:
        for line in fh:
            if line.startswith(("VmRSS", "VmHWM")):
                key, value = line.split(":")
                fields[key] = int(value.split()[0]) // 1024
    return fields


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("notebook", type=Path)
    ap.add_argument("run_dir", type=Path, help="a finished run folder (with run.json and the upstream products)")
    ap.add_argument("--timeout", type=float, default=7200, help="seconds a cell may take (default 7200)")
    args = ap.parse_args()
    nb = nbformat.read(args.notebook, as_version=4)
    km, kc = start_new_kernel(kernel_name="python3")
    try:
        pid = int(_run(kc, "import os; print(os.getpid())", 60)[0])
        code = [c for c in nb.cells if c.cell_type == "code"]
        _run(kc, code[0].source, args.timeout)
        _run(kc, f"run_dir = {str(args.run_dir)!r}", 60)
        print(f"{'cell':>4} {'seconds':>8} {'RSS MiB':>8} {'peak MiB':>9}  first line")
        for i, cell in enumerate(nb.cells):
            if cell.cell_type != "code" or cell is code[0]:
                continue
            try:
                with open(f"/proc/{pid}/clear_refs", "w") as fh:
                    fh.write("5")
            except OSError:
                pass
            t0 = time.perf_counter()
            _, err = _run(kc, cell.source, args.timeout)
            m = _memory(pid)
            head = (cell.source.strip().splitlines() or [""])[0][:70]
            print(f"{i:4d} {time.perf_counter() - t0:8.1f} {m['VmRSS']:8,d} {m['VmHWM']:9,d}  {head}", flush=True)
            if err:
                print(re.sub(r"\x1b\[[0-9;]*m", "", err)[-3000:])
                break
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)


if __name__ == "__main__":
    main()
