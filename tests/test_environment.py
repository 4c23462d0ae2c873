"""environment.yml, pyproject.toml and the Makefile describe the same install."""

from __future__ import annotations

import re
import sys
import tomllib

import yaml
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet

from ecrm_lib.core.paths import PROJ_ROOT


def _pyproject():
    return tomllib.loads((PROJ_ROOT / "pyproject.toml").read_text(encoding="utf-8"))


def _env():
    return yaml.safe_load((PROJ_ROOT / "environment.yml").read_text(encoding="utf-8"))


def _pip_section(env):
    for dep in env["dependencies"]:
        if isinstance(dep, dict) and "pip" in dep:
            return dep["pip"]
    raise AssertionError("environment.yml has no pip section")


def _extras_in(spec: str) -> set[str]:
    m = re.search(r"\.\[([^\]]+)\]", spec)
    assert m, f"expected an editable install of this package with extras, got {spec!r}"
    return {e.strip() for e in m.group(1).split(",")}


def test_environment_python_satisfies_requires_python():
    env = _env()
    pythons = [d for d in env["dependencies"] if isinstance(d, str) and d.startswith("python")]
    assert len(pythons) == 1, "environment.yml must pin exactly one python"
    version = pythons[0].split("=", 1)[1].lstrip("=")
    spec = SpecifierSet(_pyproject()["project"]["requires-python"])
    assert f"{version}.0" in spec or version in spec, f"python {version} does not satisfy requires-python {spec}"


def test_environment_installs_this_package_with_the_makefile_extras():
    pip = _pip_section(_env())
    assert len(pip) == 1, "every Python dependency comes from pyproject.toml: the pip section installs only this package"
    extras = _extras_in(pip[0])
    declared = set(_pyproject()["project"]["optional-dependencies"])
    assert extras <= declared, f"environment.yml names extras {extras - declared} that pyproject.toml does not declare"
    make = (PROJ_ROOT / "Makefile").read_text(encoding="utf-8")
    m = re.search(r"^EXTRAS\s*:=\s*(\S+)", make, flags=re.M)
    assert m and set(m.group(1).split(",")) == extras, "Makefile EXTRAS and environment.yml extras differ"


def test_environment_has_no_conda_only_dependency():
    names = [d for d in _env()["dependencies"] if isinstance(d, str)]
    assert sorted(n.split("=")[0] for n in names) == ["pip", "python"], (
        f"conda dependencies other than python and pip: {names}; declare them in pyproject.toml instead"
    )


def test_pyproject_dependencies_have_lower_bounds_and_are_installed():
    from importlib.metadata import PackageNotFoundError, version

    deps = _pyproject()["project"]["dependencies"]
    for text in deps:
        req = Requirement(text)
        assert any(s.operator in (">=", "==", "~=") for s in req.specifier), f"{text}: pin a tested lower bound"
        try:
            installed = version(req.name)
        except PackageNotFoundError:  # pragma: no cover - environment broken
            raise AssertionError(f"{req.name} is declared but not installed; run make setup")
        assert req.specifier.contains(installed, prereleases=True), f"{req.name} {installed} violates {req.specifier}"


def test_running_on_a_supported_python():
    spec = SpecifierSet(_pyproject()["project"]["requires-python"])
    assert spec.contains(".".join(map(str, sys.version_info[:3])))


def test_make_reports_installs_no_test_or_spark_package():
    make = (PROJ_ROOT / "Makefile").read_text(encoding="utf-8")
    reports = re.search(r"^reports:\s*(\S+)", make, flags=re.M).group(1)
    recipe = re.search(rf"^{re.escape(reports)}:.*\n((?:\t.*\n)+)", make, flags=re.M).group(1)
    assert 'install --quiet -e .\n' in recipe and "[" not in recipe, recipe
    core = _pyproject()["project"]["dependencies"]
    names = {Requirement(d).name.lower() for d in core}
    assert {"splink", "phonenumbers", "kiwipiepy", "babel", "koreanize-matplotlib"} <= names
    assert not names & {"pytest", "pyspark", "pytest-xdist"}, "test and Spark packages are extras, not core"


def test_ibis_creates_a_duckdb_table_from_a_dataframe():
    # guards the sqlglot cap in pyproject.toml (ibis-project/ibis#12124: sqlglot 30.18.0 breaks this)
    import ibis
    import pandas as pd

    con = ibis.duckdb.connect()
    assert con.create_table("t", pd.DataFrame({"a": [1, 2]})).count().execute() == 2
