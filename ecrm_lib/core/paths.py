"""Where the suite's files are: the one module that knows.

Everything a run needs ships inside the package and is found through
``importlib.resources``: the notebooks and their registry
(``ecrm_lib/bundled/notebooks``), the default data with its truth, the RFM
segment table and the configs of the public datasets
(``ecrm_lib/bundled/data``); the message catalogues sit in ``ecrm_lib/messages``.
In a checkout, ``ecrm_lib/bundled/notebooks`` and ``ecrm_lib/bundled/data`` are
links to the checkout's ``notebooks/`` and ``data/`` (edit them there), and the
paths below resolve to those folders; in an installed wheel they are the
package's own files, so ``ecrm run`` works from any folder.

The shared real datasets live outside the package; their folder is found,
in this order, from the ``ECRM_DATA_ROOT`` environment variable, from
``../shared/data`` beside a checkout, or (installed outside a checkout) from the
current folder.

Examples
--------
>>> (NOTEBOOKS_DIR / "registry.yaml").is_file(), DEFAULT_CONFIG.is_file()
(True, True)
>>> (DATA_DIR / "segments" / "rfm_segments.csv").is_file()
True
"""

from __future__ import annotations

import os
from importlib import resources
from pathlib import Path

__all__ = [
    "PROJ_ROOT",
    "IN_CHECKOUT",
    "BUNDLE_DIR",
    "DATA_DIR",
    "DEFAULT_DATA_DIR",
    "CONFIG_DIR",
    "NOTEBOOKS_DIR",
    "REPORTS_DIR",
    "DEFAULT_CONFIG",
    "SEGMENTS_DIR",
    "shared_data_root",
    "lifetimes_datasets_dir",
]


def _package_dir(*parts: str) -> Path:
    """A folder inside the installed package, as a real path (the package is installed unzipped)."""
    found = resources.files("ecrm_lib").joinpath(*parts)
    path = Path(str(found))
    if not path.is_dir():
        raise FileNotFoundError(
            f"the package folder {'/'.join(parts)} is missing ({path}); reinstall ecrm-lib "
            "(pip install --force-reinstall), or in a checkout restore the links in ecrm_lib/bundled."
        )
    return path.resolve()


#: The folder holding the ``ecrm_lib`` package: the checkout's root when working from a
#: checkout (``pip install -e .``), site-packages when installed from a wheel.
PROJ_ROOT = Path(__file__).resolve().parents[2]

#: True when running from a checkout (``pyproject.toml`` and ``notebooks/`` beside the package).
IN_CHECKOUT = (PROJ_ROOT / "pyproject.toml").is_file() and (PROJ_ROOT / "notebooks").is_dir()

#: ``ecrm_lib/bundled``: the notebooks and the data that ship with the package.
BUNDLE_DIR = Path(str(resources.files("ecrm_lib").joinpath("bundled")))

DATA_DIR = _package_dir("bundled", "data")
DEFAULT_DATA_DIR = DATA_DIR / "default"
CONFIG_DIR = DATA_DIR / "configs"
SEGMENTS_DIR = DATA_DIR / "segments"
NOTEBOOKS_DIR = _package_dir("bundled", "notebooks")
DEFAULT_CONFIG = DEFAULT_DATA_DIR / "config.yaml"

#: Default output folder of ``ecrm run``: ``reports/`` of the checkout, else ``reports/`` in the
#: current folder (at import).
REPORTS_DIR = PROJ_ROOT / "reports" if IN_CHECKOUT else Path.cwd().resolve() / "reports"


def shared_data_root() -> Path:
    """Folder of the shared real datasets (may not exist on a fresh clone).

    Returns
    -------
    pathlib.Path
        ``$ECRM_DATA_ROOT`` when set, else ``<checkout>/../shared/data`` in a
        checkout, else the current folder.
    """
    env = os.environ.get("ECRM_DATA_ROOT")
    if env:
        return Path(env).expanduser().resolve()
    if IN_CHECKOUT:
        return (PROJ_ROOT.parent / "shared" / "data").resolve()
    return Path.cwd().resolve()


def lifetimes_datasets_dir() -> Path:
    """Folder of the CDNOW files that ship inside the ``lifetimes`` package."""
    import lifetimes.datasets

    return Path(lifetimes.datasets.__file__).resolve().parent
