"""The notebook registry: which notebooks the suite runs, in which order, what
each needs and what it makes (``notebooks/registry.yaml``).

:func:`load_registry` reads and checks the YAML into :class:`NotebookSpec`
entries; :meth:`Registry.select` picks notebooks with their upstreams;
:meth:`Registry.resolve_parameters` turns registry defaults, test values and
user overrides into the parameters each notebook runs with, refusing unknown
names and wrong types before anything runs; :meth:`Registry.check_against_notebooks`
keeps the registry in step with the notebooks' ``parameters`` cells.

Examples
--------
>>> from ecrm_lib.run.registry import load_registry
>>> reg = load_registry()
>>> reg.names()[0]
'data_overview'
>>> reg.resolve_parameters(["data_overview"], test_params=True)["data_overview"]["months_shown"]
12
"""

from __future__ import annotations

import ast
import os
import re
import warnings
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


from ecrm_lib.core.errors import ConfigError, NotebookParameterError
from ecrm_lib.core.yamlio import read_yaml
from ecrm_lib.core.paths import NOTEBOOKS_DIR
from ecrm_lib.core.schema import TABLES

__all__ = [
    "DEFAULT_REGISTRY",
    "RUN_DIR_PARAMETER",
    "NotebookSpec",
    "Registry",
    "load_registry",
    "notebook_parameters",
]

DEFAULT_REGISTRY = NOTEBOOKS_DIR / "registry.yaml"
RUN_DIR_PARAMETER = "run_dir"

_ENTRY_KEYS = {
    "name", "file", "title", "description", "inputs", "upstream", "parameters",
    "test_parameters", "products", "metrics", "timeout_s", "show_first",
}
_REQUIRED_KEYS = ("name", "file", "title")
_NAME = re.compile(r"^[a-z][a-z0-9_]*$")


@dataclass(frozen=True)
class NotebookSpec:
    """One registry entry (see the header of ``notebooks/registry.yaml``).

    Attributes
    ----------
    name : str
        Registry name; also the base name of the report page, metrics file and products folder.
    path : Path
        The notebook file (absolute).
    title, description : str
        Shown in the report index.
    required_inputs, optional_inputs : tuple of str
        Canonical tables; a missing required table skips the notebook.
    upstream : tuple of str
        Notebooks that must run (successfully) first.
    parameters : dict
        Parameter defaults (``run_dir`` excluded; the runner always sets it).
    test_parameters : dict
        Small values used with ``ecrm run --test-params``.
    products : tuple of str
        Product tables the notebook must write (``products/<name>/<product>.parquet``).
    metrics : dict
        Metric key -> meaning (unit); each key must be recorded in ``metrics/<name>.json``.
    timeout_s : float or None
        Per-cell execution timeout in seconds for this notebook (None: the runner's default).
    show_first : bool
        List this report first in the run's index page, whatever its place in the
        run order (e.g. the executive summary, which runs last); at most one entry.
    """

    name: str
    path: Path
    title: str
    description: str = ""
    required_inputs: tuple[str, ...] = ()
    optional_inputs: tuple[str, ...] = ()
    upstream: tuple[str, ...] = ()
    parameters: dict[str, Any] = field(default_factory=dict)
    test_parameters: dict[str, Any] = field(default_factory=dict)
    products: tuple[str, ...] = ()
    metrics: dict[str, str] = field(default_factory=dict)
    timeout_s: float | None = None
    show_first: bool = False

    @property
    def file(self) -> str:
        """The notebook's file name."""
        return self.path.name

    def metric(self, key: str) -> tuple[str, str]:
        """``(meaning, unit)`` of a declared metric: its registry text split at the last brackets.

        Examples
        --------
        >>> NotebookSpec("nb", Path("nb.ipynb"), "t", "d", metrics={"n": "customers scored (customers)"}).metric("n")
        ('customers scored', 'customers')
        """
        text = self.metrics[key]
        m = re.search(r"\s*\(([^()]*)\)\s*$", text)
        return (text[: m.start()].strip(), m.group(1).strip()) if m else (text.strip(), "")


def _type_ok(value: Any, default: Any) -> bool:
    """True when ``value`` may replace ``default`` (same type; an int may replace a float)."""
    if default is None:
        return True
    if isinstance(default, bool) or isinstance(value, bool):
        return isinstance(value, bool) and isinstance(default, bool)
    if isinstance(default, float):
        return isinstance(value, (int, float))
    return type(value) is type(default)


def _type_name(value: Any) -> str:
    return type(value).__name__


@dataclass(frozen=True)
class Registry:
    """The checked registry: notebooks in run order.

    Build it with :func:`load_registry`.
    """

    path: Path
    notebooks: tuple[NotebookSpec, ...]
    text: str = ""

    # ---------------------------------------------------------------- access
    def names(self) -> list[str]:
        """Registry names in run order."""
        return [nb.name for nb in self.notebooks]

    def __iter__(self):
        return iter(self.notebooks)

    def __len__(self) -> int:
        return len(self.notebooks)

    def __contains__(self, name: object) -> bool:
        return name in self.names()

    def metric_catalogue(self) -> dict[str, dict[str, tuple[str, str]]]:
        """Every declared metric: ``{notebook: {key: (meaning, unit)}}``."""
        return {nb.name: {k: nb.metric(k) for k in nb.metrics} for nb in self.notebooks}

    def get(self, name: str) -> NotebookSpec:
        """The entry called ``name``.

        Raises
        ------
        NotebookParameterError
            If there is no such entry (the message lists the known names).
        """
        for nb in self.notebooks:
            if nb.name == name:
                return nb
        raise NotebookParameterError(
            f"unknown notebook {name!r} (registry {self.path}). Known notebooks: {self.names()}. "
            "See `ecrm list`."
        )

    def select(self, names: Iterable[str] | None = None) -> list[NotebookSpec]:
        """The named notebooks plus everything they need upstream, in run order.

        Parameters
        ----------
        names : iterable of str, optional
            Registry names; None or empty selects every notebook.

        Raises
        ------
        NotebookParameterError
            If a name is not in the registry.
        """
        if not names:
            return list(self.notebooks)
        wanted: set[str] = set()
        stack = [self.get(n).name for n in names]
        while stack:
            name = stack.pop()
            if name in wanted:
                continue
            wanted.add(name)
            stack.extend(self.get(name).upstream)
        return [nb for nb in self.notebooks if nb.name in wanted]

    # ------------------------------------------------------------ parameters
    def resolve_parameters(
        self,
        names: Iterable[str] | None = None,
        overrides: Mapping[str, Mapping[str, Any]] | None = None,
        test_params: bool = False,
    ) -> dict[str, dict[str, Any]]:
        """Effective parameters per selected notebook (without ``run_dir``).

        Registry defaults, then the registry's ``test_parameters`` when
        ``test_params``, then ``overrides``.

        Parameters
        ----------
        names : iterable of str, optional
            Notebooks to run (their upstreams are added); None: all.
        overrides : mapping, optional
            ``{notebook: {parameter: value}}`` given by the user. Overrides for a
            registered notebook that is not selected are checked but unused.
        test_params : bool
            Use the registry's small test values.

        Returns
        -------
        dict
            ``{notebook: {parameter: value}}`` for the selected notebooks, in run order.

        Raises
        ------
        NotebookParameterError
            Unknown notebook or parameter, ``run_dir`` given, or a value whose
            type differs from the default's (an int is accepted for a float and
            converted).
        """
        selected = self.select(names)
        overrides = overrides or {}
        if not isinstance(overrides, Mapping):
            raise NotebookParameterError(
                f"parameters must be a mapping of notebook name to {{parameter: value}}; got {_type_name(overrides)}."
            )
        problems: list[str] = []
        checked: dict[str, dict[str, Any]] = {}
        for nb_name, values in overrides.items():
            if nb_name not in self:
                problems.append(f"unknown notebook {nb_name!r}; known notebooks: {self.names()}")
                continue
            if not isinstance(values, Mapping):
                problems.append(f"{nb_name}: expected a mapping of parameter to value, got {values!r}")
                continue
            spec = self.get(nb_name)
            good: dict[str, Any] = {}
            for key, value in values.items():
                if key == RUN_DIR_PARAMETER:
                    problems.append(f"{nb_name}: `run_dir` is set by the runner and cannot be given")
                elif key not in spec.parameters:
                    problems.append(
                        f"{nb_name}: unknown parameter {key!r}; its parameters are {sorted(spec.parameters)}"
                    )
                elif not _type_ok(value, spec.parameters[key]):
                    default = spec.parameters[key]
                    problems.append(
                        f"{nb_name}.{key}: got {value!r} ({_type_name(value)}), expected {_type_name(default)} "
                        f"like the default {default!r}" + (" (quote dates and codes in YAML)" if isinstance(default, str) else "")
                    )
                else:
                    good[key] = float(value) if isinstance(spec.parameters[key], float) else value
            checked[nb_name] = good
        if problems:
            raise NotebookParameterError("invalid notebook parameters:\n  - " + "\n  - ".join(problems))
        out: dict[str, dict[str, Any]] = {}
        for spec in selected:
            params = dict(spec.parameters)
            if test_params:
                params.update(spec.test_parameters)
            params.update(checked.get(spec.name, {}))
            out[spec.name] = params
        return out

    # ----------------------------------------------------- notebook agreement
    def check_against_notebooks(self, names: Iterable[str] | None = None) -> None:
        """Check each notebook's ``parameters`` cell against its registry entry.

        The notebook must exist, have exactly one cell tagged ``parameters``,
        and assign there ``run_dir`` (to None, so that the notebook also runs
        by hand in JupyterLab) and every registry parameter, with the same
        default value and type; the cell must not assign parameters that the
        registry does not declare (the runner would refuse to set them).

        Parameters
        ----------
        names : iterable of str, optional
            Notebooks to check (with their upstreams); None: all.

        Raises
        ------
        NotebookParameterError
            Listing every disagreement found, one per line.
        """
        problems: list[str] = []
        for spec in self.select(names):
            problems.extend(_notebook_problems(spec))
        if problems:
            raise NotebookParameterError(
                f"notebooks disagree with the registry {self.path}:\n  - " + "\n  - ".join(problems)
                + "\nEdit the notebook's parameters cell or the registry entry so that they match."
            )


# ------------------------------------------------------------------ parsing
def _literal(node: ast.AST) -> Any:
    return ast.literal_eval(node)


def notebook_parameters(path: str | os.PathLike) -> dict[str, Any]:
    """Parameters assigned in a notebook's cell tagged ``parameters``.

    The cell is parsed as Python (``name = literal`` or ``name: type = literal``),
    which is exact where papermill's line-based parser is not (it skips a
    line whose comment holds an ``=``).

    Parameters
    ----------
    path : path-like
        The notebook.

    Returns
    -------
    dict
        ``{name: default value}``; a default that is not a literal is returned
        as its source text wrapped in :class:`_NotLiteral`.

    Raises
    ------
    NotebookParameterError
        If the notebook is missing, has no cell tagged ``parameters`` or more
        than one, or the cell is not valid Python.
    """
    import nbformat

    path = Path(path)
    if not path.exists():
        raise NotebookParameterError(f"notebook {path} does not exist.")
    nb = nbformat.read(path, as_version=4)
    cells = [c for c in nb.cells if "parameters" in (c.get("metadata", {}).get("tags") or [])]
    if not cells:
        raise NotebookParameterError(
            f"{path.name}: no cell is tagged `parameters`; papermill would not know where to inject the "
            "run's parameters. Tag the first code cell (the one assigning run_dir and the defaults) `parameters`."
        )
    if len(cells) > 1:
        raise NotebookParameterError(f"{path.name}: {len(cells)} cells are tagged `parameters`; keep exactly one.")
    source = cells[0].source
    try:
        tree = ast.parse(source)
    except SyntaxError as e:
        raise NotebookParameterError(f"{path.name}: the parameters cell is not valid Python ({e.msg}, line {e.lineno}).") from None
    params: dict[str, Any] = {}
    for stmt in tree.body:
        if isinstance(stmt, ast.Assign):
            targets, value = stmt.targets, stmt.value
        elif isinstance(stmt, ast.AnnAssign) and stmt.value is not None:
            targets, value = [stmt.target], stmt.value
        else:
            continue
        for target in targets:
            if isinstance(target, ast.Name):
                try:
                    params[target.id] = _literal(value)
                except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
                    params[target.id] = _NotLiteral(ast.get_source_segment(source, value) or "?")
    return params


@dataclass(frozen=True)
class _NotLiteral:
    source: str

    def __repr__(self) -> str:
        return f"<expression {self.source}>"


def _papermill_view(path: Path) -> set[str] | None:
    try:
        import logging

        import papermill

        log = logging.getLogger("papermill.translators")
        level = log.level
        log.setLevel(logging.ERROR)
        try:
            return set(papermill.inspect_notebook(str(path)))
        finally:
            log.setLevel(level)
    except Exception as e:  # papermill's own parser failed; our parser's check above still ran
        warnings.warn(f"{path.name}: papermill could not read the parameters cell ({e!r}); "
                      "`papermill --help-notebook` will not list its parameters.", stacklevel=2)
        return None


def _notebook_problems(spec: NotebookSpec) -> list[str]:
    try:
        cell = notebook_parameters(spec.path)
    except NotebookParameterError as e:
        return [f"{spec.name}: {e}"]
    problems = []
    if RUN_DIR_PARAMETER not in cell:
        problems.append(f"{spec.name} ({spec.file}): the parameters cell does not assign `run_dir` (add `run_dir = None`)")
    elif cell[RUN_DIR_PARAMETER] is not None:
        problems.append(
            f"{spec.name} ({spec.file}): `run_dir` defaults to {cell[RUN_DIR_PARAMETER]!r}; make it None so the "
            "notebook loads the default config when run by hand"
        )
    for key, default in spec.parameters.items():
        if key not in cell:
            problems.append(f"{spec.name} ({spec.file}): parameter {key!r} (registry default {default!r}) is not in the parameters cell")
        elif isinstance(cell[key], _NotLiteral):
            problems.append(f"{spec.name} ({spec.file}): parameter {key!r} is set to an expression {cell[key].source!r}; use a literal")
        elif cell[key] != default or type(cell[key]) is not type(default):
            problems.append(
                f"{spec.name} ({spec.file}): parameter {key!r} defaults to {cell[key]!r} in the notebook "
                f"but {default!r} in the registry"
            )
    extra = sorted(set(cell) - set(spec.parameters) - {RUN_DIR_PARAMETER})
    if extra:
        problems.append(
            f"{spec.name} ({spec.file}): the parameters cell assigns {extra}, which the registry does not declare; "
            "declare them under `parameters:` or move them out of the parameters cell"
        )
    seen = _papermill_view(spec.path)
    if seen is not None:
        hidden = sorted((set(cell) & (set(spec.parameters) | {RUN_DIR_PARAMETER})) - seen)
        if hidden:
            warnings.warn(
                f"{spec.name} ({spec.file}): papermill's parser cannot read parameter(s) {hidden} "
                "(usually an `=` inside the line's comment); they are still injected, but "
                "`papermill --help-notebook` will not list them.",
                UserWarning,
                stacklevel=3,
            )
    return problems


# ------------------------------------------------------------------ loading
def _as_str_list(value: Any, where: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"{where}: expected a list of names, got {value!r}.")
    return tuple(value)


def _parse_entry(raw: Any, i: int, base: Path, seen: list[str]) -> NotebookSpec:
    where = f"notebooks[{i}]"
    if not isinstance(raw, dict):
        raise ConfigError(f"{where}: expected a mapping with name, file and title; got {raw!r}.")
    if "name" in raw:
        where = f"notebook {raw['name']!r}"
    unknown = sorted(set(raw) - _ENTRY_KEYS)
    if unknown:
        raise ConfigError(f"{where}: unknown key(s) {unknown}. Allowed keys: {sorted(_ENTRY_KEYS)}.")
    for key in _REQUIRED_KEYS:
        if not raw.get(key):
            raise ConfigError(f"{where}: missing key {key!r}.")
    name = raw["name"]
    if not isinstance(name, str) or not _NAME.match(name):
        raise ConfigError(
            f"{where}: key 'name' must be lower-case letters, digits and underscores starting with a letter "
            "(it names files of the report)."
        )
    if name in seen:
        raise ConfigError(f"{where}: key 'name' repeats an earlier entry; names must be unique.")
    inputs = raw.get("inputs") or {}
    if not isinstance(inputs, dict) or set(inputs) - {"required", "optional"}:
        raise ConfigError(f"{where}: key 'inputs' must be a mapping with `required` and/or `optional` lists of tables.")
    required = _as_str_list(inputs.get("required"), f"{where}: key 'inputs.required'")
    optional = _as_str_list(inputs.get("optional"), f"{where}: key 'inputs.optional'")
    for t in required + optional:
        if t not in TABLES:
            raise ConfigError(f"{where}: key 'inputs' names unknown table {t!r}; tables are {list(TABLES)}.")
    upstream = _as_str_list(raw.get("upstream"), f"{where}: key 'upstream'")
    for up in upstream:
        if up not in seen:
            raise ConfigError(
                f"{where}: key 'upstream' names {up!r}, which is not an earlier entry; "
                "list upstream notebooks before the notebooks that read their products."
            )
    params = raw.get("parameters") or {}
    if not isinstance(params, dict):
        raise ConfigError(f"{where}: key 'parameters' must be a mapping of parameter to default value.")
    if RUN_DIR_PARAMETER in params:
        raise ConfigError(f"{where}: key 'parameters' must not declare `run_dir` (every notebook takes it; the runner sets it).")
    test_params = raw.get("test_parameters") or {}
    if not isinstance(test_params, dict):
        raise ConfigError(f"{where}: key 'test_parameters' must be a mapping of parameter to value.")
    for key, value in test_params.items():
        if key not in params:
            raise ConfigError(f"{where}: key 'test_parameters' sets {key!r}, which is not under `parameters`.")
        if not _type_ok(value, params[key]):
            raise ConfigError(
                f"{where}: key 'test_parameters' gives {key}={value!r} ({_type_name(value)}) but the default "
                f"{params[key]!r} is a {_type_name(params[key])}."
            )
    products = _as_str_list(raw.get("products"), f"{where}: key 'products'")
    metrics = raw.get("metrics") or {}
    if not isinstance(metrics, dict):
        raise ConfigError(f"{where}: key 'metrics' must be a mapping of metric key to meaning (unit).")
    timeout = raw.get("timeout_s")
    if timeout is not None and (isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or timeout <= 0):
        raise ConfigError(f"{where}: key 'timeout_s' must be a positive number of seconds, got {timeout!r}.")
    show_first = raw.get("show_first", False)
    if not isinstance(show_first, bool):
        raise ConfigError(f"{where}: key 'show_first' must be true or false, got {show_first!r}.")
    file = raw["file"]
    if not isinstance(file, str):
        raise ConfigError(f"{where}: key 'file' must be a file name, got {file!r}.")
    return NotebookSpec(
        name=name,
        path=(base / file).resolve(),
        title=str(raw["title"]),
        description=str(raw.get("description") or ""),
        required_inputs=required,
        optional_inputs=optional,
        upstream=upstream,
        parameters=dict(params),
        test_parameters=dict(test_params),
        products=products,
        metrics={str(k): str(v) for k, v in metrics.items()},
        timeout_s=float(timeout) if timeout is not None else None,
        show_first=show_first,
    )


def load_registry(path: str | os.PathLike | None = None) -> Registry:
    """Read and check a notebook registry.

    Parameters
    ----------
    path : path-like, optional
        The YAML file; default ``notebooks/registry.yaml``. Notebook files are
        resolved against its folder.

    Returns
    -------
    Registry

    Raises
    ------
    ConfigError
        The file is missing or malformed; the message names the entry and key.
    """
    path = Path(path) if path is not None else DEFAULT_REGISTRY
    raw, text = read_yaml(path, "notebook registry", ConfigError)
    if not isinstance(raw, dict) or not isinstance(raw.get("notebooks"), list) or not raw["notebooks"]:
        raise ConfigError(f"{path}: expected a top-level `notebooks:` list with one entry per notebook.")
    unknown = sorted(set(raw) - {"notebooks"})
    if unknown:
        raise ConfigError(f"{path}: unknown top-level key(s) {unknown}; only `notebooks` is allowed.")
    seen: list[str] = []
    specs = []
    for i, entry in enumerate(raw["notebooks"]):
        try:
            spec = _parse_entry(entry, i, path.parent, seen)
        except ConfigError as e:
            raise ConfigError(f"{path}: {e}") from None
        seen.append(spec.name)
        specs.append(spec)
    first = [s.name for s in specs if s.show_first]
    if len(first) > 1:
        raise ConfigError(f"{path}: key 'show_first' is true for {first}; at most one notebook can be listed first.")
    return Registry(path=path.resolve(), notebooks=tuple(specs), text=text)
