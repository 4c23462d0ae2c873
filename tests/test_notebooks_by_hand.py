"""Notebooks opened by hand: each runs in JupyterLab with ``run_dir=None``, in registry order, outside
``ecrm run``, and sees the products of the ones before it (the interactive run folder).

The kernels read ``$ECRM_CONFIG`` (a small generated data set) and ``$ECRM_INTERACTIVE_DIR`` (a
temporary folder), as a user's JupyterLab would read the default config and ``reports/_interactive``.
"""

from __future__ import annotations

import json
import os

import nbformat
import pytest
from nbclient import NotebookClient

from ecrm_lib.data.synth import generate
from ecrm_lib.run.context import RunContext
from ecrm_lib.run.registry import load_registry

pytestmark = pytest.mark.slow


def _with_parameters(nb, params: dict):
    """The notebook with its parameters cell's values replaced, as a user editing that cell would."""
    cell = next(c for c in nb.cells if "parameters" in c.metadata.get("tags", []))
    lines = [f"{k} = {v!r}" for k, v in params.items()]
    cell.source = cell.source + "\n# edited by hand\n" + "\n".join(lines)
    return nb


def test_notebooks_run_by_hand_in_order_and_see_their_upstream_products(tmp_path, monkeypatch):
    generate(tmp_path / "data", n_persons=300, seed=11)
    monkeypatch.setenv("ECRM_CONFIG", str(tmp_path / "data" / "config.yaml"))
    monkeypatch.setenv("ECRM_INTERACTIVE_DIR", str(tmp_path / "interactive"))
    monkeypatch.setenv("MPLBACKEND", "module://matplotlib_inline.backend_inline")
    registry = load_registry()
    for spec in registry:
        nb = _with_parameters(nbformat.read(spec.path, as_version=4), spec.test_parameters)
        NotebookClient(nb, kernel_name="python3", timeout=600, resources={"metadata": {"path": str(tmp_path)}}).execute()
        errors = [o for c in nb.cells for o in c.get("outputs", []) if o.get("output_type") == "error"]
        assert not errors, (spec.name, errors[:1])
    # one interactive folder, holding every notebook's products and metrics, as under `ecrm run`
    (folder,) = [p for p in (tmp_path / "interactive").glob("*/*") if p.is_dir()]
    ctx = RunContext(folder, "executive_summary")
    for spec in registry:
        assert ctx.metrics(spec.name), spec.name
        for product in spec.products:
            assert ctx.read_product(spec.name, product) is not None, (spec.name, product)
    info = json.loads((folder / "run.json").read_text(encoding="utf-8"))
    assert info["interactive_fingerprint"] and os.path.samefile(info["config"], tmp_path / "data" / "config.yaml")
