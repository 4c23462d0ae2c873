"""The built wheel runs anywhere (issue 14 item 1), and its notebooks run by hand in order (issue 9 item 4).

Builds the wheel from the checkout (``pip wheel --no-deps``), installs it into a fresh virtual
environment in a temporary folder outside the checkout, and from a third folder runs ``ecrm generate``
(150 persons, Korean and English reports) and ``ecrm run --config ... --out DIR --test-params --no-history
--json`` on it; the default data that ships inside the package is checked file by file. Then ``ecrm lab
--no-launch`` copies the notebooks to a writable folder and every notebook runs there by hand, in registry
order, outside ``ecrm run`` (``tests/by_hand.py``, with ``run_dir=None``, as in JupyterLab): each sees the
products of the ones before it in the interactive run folder (``$ECRM_CONFIG``, ``$ECRM_INTERACTIVE_DIR``).

To stay fast the new environment reuses the dependencies already installed in the test's own
environment instead of downloading 1.2 GB again: a ``.pth`` line appends that site-packages folder
to ``sys.path`` (its own ``.pth`` files, among them the editable install of the checkout, are not
processed, so ``ecrm_lib`` can only come from the wheel; the test checks it), and
``JUPYTER_PATH`` points at its ``share/jupyter`` (nbconvert's templates, which a full install
puts under the new environment's prefix). The venv is made by this interpreter (the same base
Python: soupsieve's selectors fail on a different 3.11 patch release). ``ecrm run`` from the wheel runs
one notebook (the data overview, in both languages, published with its index), since every notebook runs
from the wheel by hand anyway.
"""

from __future__ import annotations

import json
import os
import site
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted(p.name for p in (REPO / "notebooks").glob("*.ipynb"))

pytestmark = pytest.mark.slow


def _run(cmd, **kwargs):
    done = subprocess.run(cmd, capture_output=True, text=True, **kwargs)
    assert done.returncode == 0, f"{cmd} exited {done.returncode}\n{done.stdout[-3000:]}\n{done.stderr[-5000:]}"
    return done


@pytest.fixture(scope="module")
def wheel(tmp_path_factory):
    out = tmp_path_factory.mktemp("wheel")
    t0 = time.perf_counter()
    _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(out), str(REPO)])
    (path,) = out.glob("ecrm_lib-*.whl")
    print(f"wheel built in {time.perf_counter() - t0:.1f} s")
    return path


def test_wheel_holds_everything_a_run_needs(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    expected = [f"ecrm_lib/bundled/notebooks/{n}" for n in NOTEBOOKS] + [
        "ecrm_lib/bundled/notebooks/registry.yaml",
        "ecrm_lib/bundled/data/default/config.yaml",
        "ecrm_lib/bundled/data/default/transactions.csv",
        "ecrm_lib/bundled/data/default/truth/truth.json",
        "ecrm_lib/bundled/data/segments/rfm_segments.csv",
        "ecrm_lib/messages/en.yaml",
        "ecrm_lib/messages/ko.yaml",
    ]
    assert len(NOTEBOOKS) >= 9
    # every message catalogue file: the main ones, each area's and the notebooks' cell translations
    expected += [p.relative_to(REPO).as_posix() for p in (REPO / "ecrm_lib" / "messages").rglob("*.yaml")]
    missing = [n for n in expected if n not in names]
    assert not missing, missing
    for p in (REPO / "data" / "default").rglob("*"):
        if p.is_file():
            assert f"ecrm_lib/bundled/data/default/{p.relative_to(REPO / 'data' / 'default').as_posix()}" in names, p


@pytest.fixture(scope="module")
def installed(wheel, tmp_path_factory):
    """The wheel installed in a fresh environment: (python, ecrm command, work folder outside the checkout, env)."""
    tmp = tmp_path_factory.mktemp("installed")
    assert REPO not in tmp.parents
    venv, work = tmp / "venv", tmp / "elsewhere"
    work.mkdir()
    t0 = time.perf_counter()
    _run([sys.executable, "-m", "venv", "--without-pip", str(venv)])
    py = venv / "bin" / "python"
    purelib = _run([str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"]).stdout.strip()
    (Path(purelib) / "ecrm-test-deps.pth").write_text(site.getsitepackages()[0] + "\n", encoding="utf-8")
    _run([sys.executable, "-m", "pip", "--python", str(py), "install", "-q", "--no-deps", str(wheel)])
    print(f"environment and install in {time.perf_counter() - t0:.1f} s")

    env = {k: v for k, v in os.environ.items() if not k.startswith("ECRM_") and k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env["JUPYTER_PATH"] = str(Path(sys.prefix) / "share" / "jupyter")
    where = _run([str(py), "-c", "import ecrm_lib, ecrm_lib.core.paths as p; print(ecrm_lib.__file__); print(p.IN_CHECKOUT); "
                  "print(p.DEFAULT_CONFIG)"], cwd=work, env=env).stdout.split()
    assert Path(where[0]).is_relative_to(venv) and where[1] == "False" and Path(where[2]).is_relative_to(venv)
    ecrm = str(venv / "bin" / "ecrm")
    assert _run([ecrm, "--version"], cwd=work, env=env).stdout.strip().startswith("ecrm ")
    # a small generated data set in both report languages (the bundled default data's 3,000 persons would take
    # two minutes; `make reports` runs them)
    _run([ecrm, "generate", "--out", "data", "--persons", "150", "--language", "ko,en"], cwd=work, env=env)
    return py, ecrm, work, env


def test_installed_wheel_runs_from_any_folder(installed):
    py, ecrm, work, env = installed
    t0 = time.perf_counter()
    done = subprocess.run([ecrm, "run", "--config", "data/config.yaml", "--out", "out", "--test-params", "--no-history",
                           "--notebook", "data_overview", "--json"], cwd=work, env=env, capture_output=True, text=True)
    print(f"ecrm run from the wheel in {time.perf_counter() - t0:.1f} s")
    assert done.returncode == 0, done.stderr[-5000:]
    doc = json.loads(done.stdout)
    assert doc["status"] == "ok" and doc["ok"] is True
    assert Path(doc["run_dir"]).parent == work / "out" and (work / "out" / "latest" / "index.html").is_file()
    assert [(n["name"], n["status"]) for n in doc["notebooks"]] == [("data_overview", "ok")]
    assert all(Path(n["page"]).is_file() for n in doc["notebooks"])
    # both report languages from the wheel's catalogues: the Korean page beside the index, the English one in en/
    page = Path(doc["notebooks"][0]["page"])
    assert "고객" in page.read_text(encoding="utf-8")
    assert (page.parent / "en" / page.name).is_file()
    manifest = json.loads((Path(doc["run_dir"]) / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["status"] == "ok"


def test_installed_wheel_notebooks_run_by_hand_in_order_and_see_their_upstream_products(installed):
    """``ecrm lab`` copies the notebooks; each runs by hand in registry order from the copies, outside ``ecrm run``,
    in kernels of the wheel's environment, and sees the products of the ones before it (the interactive folder)."""
    from ecrm_lib.run.context import RunContext
    from ecrm_lib.run.registry import load_registry

    py, ecrm, work, env = installed
    lab = _run([ecrm, "lab", "--dir", "nbs", "--no-launch"], cwd=work, env=env)
    copied = sorted(p.name for p in (work / "nbs").iterdir())
    assert copied == sorted([*NOTEBOOKS, "registry.yaml"]) and lab.stdout.strip().splitlines()[-1] == str(work / "nbs")
    assert all(os.access(work / "nbs" / n, os.W_OK) for n in copied)

    hand_env = {**env, "ECRM_CONFIG": str(work / "data" / "config.yaml"), "ECRM_INTERACTIVE_DIR": str(work / "interactive"),
                "MPLBACKEND": "module://matplotlib_inline.backend_inline"}
    done = subprocess.run([str(py), str(REPO / "tests" / "by_hand.py"), str(work / "nbs")], cwd=work, env=hand_env,
                          capture_output=True, text=True)
    print(done.stdout)
    assert done.returncode == 0, f"{done.stdout[-3000:]}\n{done.stderr[-5000:]}"
    ran = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    registry = load_registry()
    assert [r["notebook"] for r in ran] == [spec.name for spec in registry] and not any(r["errors"] for r in ran)
    # one interactive folder, holding every notebook's products and metrics, as under `ecrm run`
    (folder,) = [p for p in (work / "interactive").glob("*/*") if p.is_dir()]
    ctx = RunContext(folder, "executive_summary")
    for spec in registry:
        assert ctx.metrics(spec.name), spec.name
        for product in spec.products:
            assert ctx.read_product(spec.name, product) is not None, (spec.name, product)
    info = json.loads((folder / "run.json").read_text(encoding="utf-8"))
    assert info["interactive_fingerprint"] and os.path.samefile(info["config"], work / "data" / "config.yaml")
