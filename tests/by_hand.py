"""Run the notebooks of a folder by hand, in registry order, as a user stepping through them in JupyterLab.

Used by ``tests/test_wheel.py`` with the python of an environment where only the built wheel provides
``ecrm_lib``: ``python tests/by_hand.py NOTEBOOK_FOLDER``. Each notebook is read from the folder (the copies
``ecrm lab`` makes), its parameters cell gets the registry's test parameters appended (as a user editing that
cell would) and it runs in a fresh kernel of this python (jupyter_client's native ``python3`` kernel is the
running interpreter), with ``run_dir`` left at None: the kernels read ``$ECRM_CONFIG`` and
``$ECRM_INTERACTIVE_DIR``. Prints one JSON line per notebook (name, seconds, errors) and exits 1 on the first
notebook with an error output.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

from ecrm_lib.run.registry import load_registry


def with_parameters(nb, params: dict):
    """The notebook with its parameters cell's values replaced, as a user editing that cell would."""
    cell = next(c for c in nb.cells if "parameters" in c.metadata.get("tags", []))
    cell.source = cell.source + "\n# edited by hand\n" + "\n".join(f"{k} = {v!r}" for k, v in params.items())
    return nb


def main(folder: Path) -> int:
    for spec in load_registry():
        t0 = time.perf_counter()
        nb = with_parameters(nbformat.read(folder / Path(spec.path).name, as_version=4), spec.test_parameters)
        NotebookClient(nb, kernel_name="python3", timeout=600, resources={"metadata": {"path": str(folder)}}).execute()
        errors = [o for c in nb.cells for o in c.get("outputs", []) if o.get("output_type") == "error"]
        print(json.dumps({"notebook": spec.name, "seconds": round(time.perf_counter() - t0, 1),
                          "errors": [f"{e.get('ename')}: {e.get('evalue')}" for e in errors[:1]]}), flush=True)
        if errors:
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1])))
