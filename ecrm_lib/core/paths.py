"""Project paths, anchored on the package so that a notebook resolves them the
same way from JupyterLab, papermill or a test.

The shared real datasets live outside the repository; their folder is found,
in this order, from the ``ECRM_DATA_ROOT`` environment variable or from
``../shared/data`` beside the checkout.
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = [
    "PROJ_ROOT",
    "DATA_DIR",
    "DEFAULT_DATA_DIR",
    "CONFIG_DIR",
    "NOTEBOOKS_DIR",
    "REPORTS_DIR",
    "DEFAULT_CONFIG",
    "shared_data_root",
    "lifetimes_datasets_dir",
]

PROJ_ROOT = Path(__file__).resolve().parents[2]
DATA_DIR = PROJ_ROOT / "data"
DEFAULT_DATA_DIR = DATA_DIR / "default"
CONFIG_DIR = DATA_DIR / "configs"
NOTEBOOKS_DIR = PROJ_ROOT / "notebooks"
REPORTS_DIR = PROJ_ROOT / "reports"
DEFAULT_CONFIG = DEFAULT_DATA_DIR / "config.yaml"


def shared_data_root() -> Path:
    """Folder of the shared real datasets (may not exist on a fresh clone).

    Returns
    -------
    pathlib.Path
        ``$ECRM_DATA_ROOT`` when set, else ``<checkout>/../shared/data``.
    """
    env = os.environ.get("ECRM_DATA_ROOT")
    if env:
        return Path(env).expanduser().resolve()
    return (PROJ_ROOT.parent / "shared" / "data").resolve()


def lifetimes_datasets_dir() -> Path:
    """Folder of the CDNOW files that ship inside the ``lifetimes`` package."""
    import lifetimes.datasets

    return Path(lifetimes.datasets.__file__).resolve().parent
