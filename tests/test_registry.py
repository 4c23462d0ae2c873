"""The notebook registry: loading and checking, selection, parameters, and its
agreement with the notebooks' parameters cells."""

from __future__ import annotations

import shutil
import warnings
from pathlib import Path

import nbformat
import papermill
import pytest
import yaml
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from ecrm_lib.core.errors import ConfigError, NotebookParameterError
from ecrm_lib.run.registry import DEFAULT_REGISTRY, load_registry, notebook_parameters

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "notebooks"
REGISTRY = FIXTURES / "registry.yaml"


def _entry(**kw):
    e = {"name": "a", "file": "a.ipynb", "title": "A", "parameters": {"n": 3}}
    e.update(kw)
    return e


def _write_registry(folder: Path, entries) -> Path:
    path = folder / "registry.yaml"
    path.write_text(yaml.safe_dump({"notebooks": entries}, sort_keys=False), encoding="utf-8")
    return path


def _write_notebook(path: Path, params_src: str | None, tag: bool = True) -> Path:
    cells = [new_markdown_cell("# t")]
    if params_src is not None:
        cells.append(new_code_cell(params_src, metadata={"tags": ["parameters"]} if tag else {}))
    cells.append(new_code_cell("print(1)"))
    nb = new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, path)
    return path


# ------------------------------------------------------------------ loading
def test_real_registry_agrees_with_its_notebooks():
    reg = load_registry()
    assert reg.path == DEFAULT_REGISTRY.resolve() and reg.names()[0] == "data_overview"
    for spec in reg:
        assert spec.path.exists(), f"{spec.name}: {spec.path} is missing"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # papermill's parser limits, see the test below
        reg.check_against_notebooks()
    tp = reg.resolve_parameters(test_params=True)
    for spec in reg:
        assert set(tp[spec.name]) == set(spec.parameters)


def test_fixture_registry_loads_in_file_order():
    reg = load_registry(REGISTRY)
    assert reg.names() == ["basic", "control", "downstream", "needs_contacts"]
    basic = reg.get("basic")
    assert basic.required_inputs == ("transactions",) and basic.products == ("sample",)
    assert basic.parameters == {"n": 3, "label": "hello", "ratio": 0.5} and basic.test_parameters == {"n": 2}
    assert basic.path == (FIXTURES / "basic.ipynb").resolve() and basic.file == "basic.ipynb"
    assert set(basic.metrics) == {"n_rows", "label"} and basic.timeout_s is None
    assert reg.get("downstream").upstream == ("control",)
    with pytest.warns(UserWarning, match=r"basic \(basic\.ipynb\): papermill's parser"):  # the `=` in its comment
        reg.check_against_notebooks()


def test_select_adds_upstreams_in_registry_order():
    reg = load_registry(REGISTRY)
    assert [s.name for s in reg.select(["downstream"])] == ["control", "downstream"]
    assert [s.name for s in reg.select(["downstream", "basic"])] == ["basic", "control", "downstream"]
    assert [s.name for s in reg.select(None)] == reg.names()
    with pytest.raises(NotebookParameterError, match="unknown notebook 'nope'.*basic"):
        reg.select(["nope"])


@pytest.mark.parametrize(
    "entries, match",
    [
        ([_entry(colour="red")], r"notebook 'a': unknown key\(s\) \['colour'\]"),
        ([{"name": "a", "title": "A"}], r"notebook 'a': missing key 'file'"),
        ([_entry(), _entry()], r"notebook 'a': key 'name' repeats"),
        ([_entry(name="Bad-Name")], r"notebook 'Bad-Name': key 'name' must be lower-case"),
        ([_entry(upstream=["b"]), _entry(name="b")], r"notebook 'a': key 'upstream' names 'b', which is not an earlier entry"),
        ([_entry(inputs={"required": ["orders"]})], r"notebook 'a': key 'inputs' names unknown table 'orders'"),
        ([_entry(inputs={"needed": ["accounts"]})], r"notebook 'a': key 'inputs' must be a mapping"),
        ([_entry(test_parameters={"m": 1})], r"notebook 'a': key 'test_parameters' sets 'm'"),
        ([_entry(test_parameters={"n": "x"})], r"notebook 'a': key 'test_parameters' gives n='x'"),
        ([_entry(parameters={"run_dir": None})], r"notebook 'a': key 'parameters' must not declare `run_dir`"),
        ([_entry(timeout_s=-5)], r"notebook 'a': key 'timeout_s' must be a positive number"),
        ([_entry(metrics=["x"])], r"notebook 'a': key 'metrics' must be a mapping"),
        ([], r"top-level `notebooks:` list"),
    ],
)
def test_malformed_registry_names_entry_and_key(tmp_path, entries, match):
    with pytest.raises(ConfigError, match=match):
        load_registry(_write_registry(tmp_path, entries))


def test_missing_registry_file(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        load_registry(tmp_path / "nope.yaml")


def test_timeout_is_read(tmp_path):
    reg = load_registry(_write_registry(tmp_path, [_entry(timeout_s=90)]))
    assert reg.get("a").timeout_s == 90.0


# --------------------------------------------------------------- parameters
def test_parameters_defaults_then_test_values_then_overrides():
    reg = load_registry(REGISTRY)
    assert reg.resolve_parameters(["basic"])["basic"] == {"n": 3, "label": "hello", "ratio": 0.5}
    assert reg.resolve_parameters(["basic"], test_params=True)["basic"]["n"] == 2
    got = reg.resolve_parameters(["basic"], {"basic": {"n": 5, "ratio": 1}}, test_params=True)["basic"]
    assert got == {"n": 5, "label": "hello", "ratio": 1.0} and isinstance(got["ratio"], float)
    # overrides of a registered notebook that is not selected are checked, not added
    assert list(reg.resolve_parameters(["basic"], {"control": {"mode": "raise"}})) == ["basic"]


def test_parameter_errors_are_all_listed():
    reg = load_registry(REGISTRY)
    with pytest.raises(NotebookParameterError) as e:
        reg.resolve_parameters(None, {"basic": {"n": "3", "nn": 1, "ratio": False}, "ghost": {}})
    msg = str(e.value)
    for part in ("basic.n: got '3' (str), expected int", "unknown parameter 'nn'",
                 "basic.ratio: got False (bool), expected float", "unknown notebook 'ghost'"):
        assert part in msg
    with pytest.raises(NotebookParameterError, match="must be a mapping"):
        reg.resolve_parameters(None, ["basic"])


# --------------------------------------------- agreement with the notebooks
def _check_one(tmp_path, params_src, parameters=None, tag=True):
    _write_notebook(tmp_path / "a.ipynb", params_src, tag=tag)
    reg = load_registry(_write_registry(tmp_path, [_entry(parameters=parameters if parameters is not None else {"n": 3})]))
    reg.check_against_notebooks()


@pytest.mark.parametrize(
    "params_src, match",
    [
        ("run_dir = None", r"parameter 'n' \(registry default 3\) is not in the parameters cell"),
        ("run_dir = None\nn = 4", r"parameter 'n' defaults to 4 in the notebook but 3 in the registry"),
        ("run_dir = None\nn = 3.0", r"parameter 'n' defaults to 3\.0 in the notebook but 3 in the registry"),
        ("n = 3", r"does not assign `run_dir`"),
        ("run_dir = '/tmp/x'\nn = 3", r"`run_dir` defaults to '/tmp/x'"),
        ("run_dir = None\nn = 3\nextra = 1", r"assigns \['extra'\], which the registry does not declare"),
        ("run_dir = None\nn = len('abc')", r"set to an expression"),
        ("run_dir = None\nn = (", r"not valid Python"),
        (None, r"no cell is tagged `parameters`"),
    ],
)
def test_check_catches_disagreements(tmp_path, params_src, match):
    with pytest.raises(NotebookParameterError, match=match):
        _check_one(tmp_path, params_src)


def test_check_needs_the_parameters_tag(tmp_path):
    with pytest.raises(NotebookParameterError, match="no cell is tagged `parameters`"):
        _check_one(tmp_path, "run_dir = None\nn = 3", tag=False)


def test_check_accepts_annotations_and_comments(tmp_path):
    _check_one(tmp_path, "# parameters\nrun_dir: str | None = None  # set by the runner\nn: int = 3  # count")


def test_check_reports_a_missing_notebook(tmp_path):
    reg = load_registry(_write_registry(tmp_path, [_entry()]))
    with pytest.raises(NotebookParameterError, match="does not exist"):
        reg.check_against_notebooks()


def test_parameters_cell_is_parsed_as_python_where_papermill_skips_a_line(tmp_path):
    # papermill's line parser gives up on a line whose comment holds "=" and warns;
    # the parameter is still injected, so the registry check must still see it.
    nb = _write_notebook(tmp_path / "a.ipynb", "run_dir = None  # None = load the default config\nn = 3")
    assert "run_dir" not in papermill.inspect_notebook(str(nb))
    assert notebook_parameters(nb) == {"run_dir": None, "n": 3}
    reg = load_registry(_write_registry(tmp_path, [_entry()]))
    with pytest.warns(UserWarning, match=r"papermill's parser cannot read parameter\(s\) \['run_dir'\]"):
        reg.check_against_notebooks()


def test_fixture_copy_with_changed_default_fails(tmp_path):
    shutil.copytree(FIXTURES, tmp_path / "fx")
    text = (tmp_path / "fx" / "registry.yaml").read_text().replace("label: hello", "label: bye")
    (tmp_path / "fx" / "registry.yaml").write_text(text)
    with pytest.raises(NotebookParameterError, match=r"'label' defaults to 'hello' in the notebook but 'bye'"), \
            warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        load_registry(tmp_path / "fx" / "registry.yaml").check_against_notebooks(["basic"])


def test_show_first_is_read_and_at_most_one(tmp_path):
    reg = load_registry(_write_registry(tmp_path, [_entry(), _entry(name="b", show_first=True)]))
    assert [s.show_first for s in reg] == [False, True]
    with pytest.raises(ConfigError, match=r"key 'show_first' is true for \['a', 'b'\]; at most one"):
        load_registry(_write_registry(tmp_path, [_entry(show_first=True), _entry(name="b", show_first=True)]))
    with pytest.raises(ConfigError, match=r"notebook 'a': key 'show_first' must be true or false"):
        load_registry(_write_registry(tmp_path, [_entry(show_first="yes")]))


def test_the_executive_summary_is_listed_first():
    reg = load_registry(DEFAULT_REGISTRY)
    assert [s.name for s in reg if s.show_first] == ["executive_summary"]
    assert reg.names()[-1] == "executive_summary"  # it runs last: it reads every other report


def test_committed_notebooks_carry_no_outputs():
    """Notebooks are committed without outputs or execution counts (outputs could hold personal data)."""
    paths = sorted(DEFAULT_REGISTRY.parent.glob("*.ipynb"))
    assert len(paths) >= 9
    for path in paths:
        nb = nbformat.read(path, as_version=4)
        dirty = [c.get("id") for c in nb.cells if c.cell_type == "code" and (c.get("outputs") or c.get("execution_count"))]
        assert not dirty, f"{path.name}: cells {dirty} carry outputs; clear them (jupyter nbconvert --clear-output --inplace)"
