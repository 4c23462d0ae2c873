"""What the Spark tests need, in one place: pyspark (with its Connect client where asked) and Java 17.

Not a test file: the Spark test modules import it. Without these a test skips with the reason on a user's
clone and fails in CI (``CI`` set), where it must run.
"""

from __future__ import annotations

import os
import shutil

import pytest


def in_ci() -> bool:
    """True under CI (the ``CI`` variable set to anything but empty, 0, false or no)."""
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def need_spark(what: str, connect: bool = False) -> None:
    """Skip (locally) or fail (CI) the calling test, named ``what`` in the message, without pyspark (and its
    Connect client when ``connect``) or Java."""
    try:
        if connect:
            import grpc  # noqa: F401  (pyspark[connect])
        import pyspark  # noqa: F401
    except ImportError as exc:
        msg = f"pyspark{' with its Connect client' if connect else ''} is not importable ({exc}): install the spark extra (`.venv/bin/pip install -e '.[spark]'`)"
        _skip_or_fail(what, msg)
    if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
        _skip_or_fail(what, "Spark needs Java 17: no `java` on PATH and JAVA_HOME is not set")


def _skip_or_fail(what: str, msg: str) -> None:
    if in_ci():
        pytest.fail(f"{what} must run in CI, but {msg}", pytrace=False)
    pytest.skip(msg)
