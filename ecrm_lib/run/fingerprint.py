"""What a run's reports depend on, as one SHA-256: config text, input files, as-of date,
parameters, selected notebooks, library code and git commit (:func:`run_fingerprint`).
A run whose fingerprint equals the latest good run's is skipped as unchanged.

A database source (:mod:`ecrm_lib.data.dbsource`) counts as an input through its
row count and a hash aggregate computed by the server (about 1 s per million
PostgreSQL rows, nothing transferred), so an unchanged database skips the run
and any changed, added or removed row runs it again.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import subprocess
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from ecrm_lib import __version__
from ecrm_lib.core.config import Config
from ecrm_lib.core.paths import PROJ_ROOT
from ecrm_lib.run.registry import NotebookSpec, Registry

__all__ = ["hash_file", "input_hashes", "git_state", "code_hash", "run_fingerprint", "package_versions"]


_PACKAGES = (
    "pandas", "numpy", "scipy", "scikit-learn", "lifetimes", "ibis-framework", "duckdb",
    "pandera", "papermill", "nbconvert", "matplotlib", "seaborn",
)


#: The whole ecrm_lib package, whose code every report depends on.
LIB_DIR = Path(__file__).resolve().parents[1]


# ------------------------------------------------------------------ hashing
def hash_file(path: str | os.PathLike, chunk: int = 1 << 20) -> str:
    """SHA-256 (hex) of a file, read in chunks of ``chunk`` bytes."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


def input_hashes(config: Config) -> list[dict[str, Any]]:
    """Per source: ``source``, ``table``, ``file``, ``bytes`` and ``sha256`` of its file.

    A database source has ``file`` ``table s.t`` (or ``query of <source>``), ``bytes``
    None, ``sha256`` its fingerprint, plus ``rows``, ``fingerprint`` (the method) and
    ``connection`` (secret masked); a server that cannot be reached raises
    :class:`~ecrm_lib.core.errors.DataSourceError`.
    """
    out = []
    for s in config.sources:
        if s.database is not None:
            from ecrm_lib.data.dbsource import source_fingerprint

            fp = source_fingerprint(s)
            out.append({"source": s.name, "table": s.table, "file": s.file, "bytes": None, "sha256": fp["sha256"],
                        "rows": fp["rows"], "fingerprint": fp["method"], "connection": fp["connection"]})
            continue
        p = Path(s.path)
        if p.is_file():
            out.append({"source": s.name, "table": s.table, "file": p.name, "bytes": p.stat().st_size, "sha256": hash_file(p)})
        else:
            out.append({"source": s.name, "table": s.table, "file": p.name, "bytes": None, "sha256": None})
    return out


def _git(*args: str) -> str | None:
    try:
        done = subprocess.run(
            ["git", "--no-optional-locks", "-C", str(PROJ_ROOT), *args],
            capture_output=True, text=True, timeout=20, check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip() if done.returncode == 0 else None


def git_state() -> tuple[str | None, bool | None]:
    """(commit, dirty) of the checkout holding ecrm_lib, or (None, None) outside git."""
    top = _git("rev-parse", "--show-toplevel")
    if not top or Path(top).resolve() != PROJ_ROOT:
        return None, None
    commit = _git("rev-parse", "HEAD")
    if commit is None:
        return None, None
    status = _git("status", "--porcelain")
    return commit, (bool(status) if status is not None else None)


def code_hash(registry: Registry, selected: Iterable[NotebookSpec], lib_dir: Path = LIB_DIR) -> str:
    """SHA-256 (hex) of the library's code (every ``*.py`` under ``lib_dir``), the registry and the selected notebooks."""
    h = hashlib.sha256()
    for p in sorted(lib_dir.rglob("*.py")):
        h.update(p.relative_to(lib_dir).as_posix().encode())
        h.update(b"\0")
        h.update(p.read_bytes())
        h.update(b"\0")
    h.update(registry.text.encode("utf-8"))
    for spec in selected:
        h.update(spec.name.encode())
        h.update(spec.path.read_bytes() if spec.path.exists() else b"<missing>")
    return h.hexdigest()


def run_fingerprint(
    config_text: str,
    input_hashes: list[Mapping[str, Any]],
    as_of: str | None,
    parameters: Mapping[str, Mapping[str, Any]],
    notebooks: list[str],
    code_sha256: str,
    git_commit: str | None,
    languages: Iterable[str] = ("en",),
) -> str:
    """SHA-256 (hex) over everything a run's reports depend on.

    Parameters
    ----------
    config_text : str
        The config file's text.
    input_hashes : list of mapping
        Per source: ``source``, ``table`` and ``sha256`` of its file.
    as_of : str or None
        The requested as-of date (YYYY-MM-DD) or None (config's / data's).
    parameters : mapping
        Effective parameters per notebook (without ``run_dir``).
    notebooks : list of str
        Selected notebooks in run order.
    code_sha256 : str
        Hash of the library, the notebooks and the registry.
    git_commit : str or None
        Commit of the checkout, when known.
    languages : iterable of str
        Report languages of the run.
    """
    payload = {
        "config": config_text,
        "inputs": [[h["source"], h["table"], h["sha256"]] for h in input_hashes],
        "as_of": as_of,
        "parameters": {k: dict(v) for k, v in parameters.items()},
        "notebooks": list(notebooks),
        "code": code_sha256,
        "git_commit": git_commit,
        "languages": list(languages),
    }
    text = json.dumps(payload, sort_keys=True, default=repr, ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def package_versions() -> dict[str, str | None]:
    """Versions of Python, ecrm_lib and the libraries the reports depend on (None if absent)."""
    from importlib import metadata

    out: dict[str, str | None] = {"python": platform.python_version(), "ecrm_lib": __version__}
    for name in _PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = None
    return out
