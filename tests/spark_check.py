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


#: JVM options for the tests' Spark drivers: the client compiler only (C1) and the serial collector. A test's JVM
#: lives a few minutes on small data, where C2's optimising compiles cost CPU they never pay back: on 150 generated
#: persons (data overview and channel integration on local[2], 2026-12-03) the run's CPU went from 197 to 150 s,
#: its wall time unchanged.
TEST_JVM_OPTIONS = "-XX:TieredStopAtLevel=1 -XX:+UseSerialGC"

#: Spark settings for the tests' small data (hundreds of rows), on top of four shuffle partitions and no UI:
#: :data:`TEST_JVM_OPTIONS`, and expressions interpreted instead of compiled to Java (whole-stage code generation
#: off; ``spark.sql.codegen.factoryMode`` is Spark's own switch for its test suites). Every query of a run compiles
#: new generated code, which on tables of a few hundred rows costs more than it saves: on the same 150 persons the
#: run took 92 s and 113 s of CPU instead of 119 s and 150 s. Results are the same (Spark's own tests run both
#: ways); the classic session of ``test_features_spark`` keeps code generation on, so that path is tested too.
SMALL_DATA_CONF = {
    "spark.sql.shuffle.partitions": "4",
    "spark.ui.enabled": "false",
    "spark.driver.extraJavaOptions": TEST_JVM_OPTIONS,
    "spark.sql.codegen.wholeStage": "false",
    "spark.sql.codegen.factoryMode": "NO_CODEGEN",
}


def spark_engine_yaml(master: str = "local[2]", conf: dict[str, str] | None = None) -> str:
    """The ``engine:`` section of a test config: local Spark on ``master`` with ``conf`` (default :data:`SMALL_DATA_CONF`).

    >>> print(spark_engine_yaml("local[1]", {"spark.ui.enabled": "false"}), end="")
    engine:
      kind: spark
      spark:
        master: local[1]
        conf:
          spark.ui.enabled: 'false'
    """
    conf = SMALL_DATA_CONF if conf is None else conf
    lines = ["engine:", "  kind: spark", "  spark:", f"    master: {master}", "    conf:"]
    lines += [f"      {k}: '{v}'" for k, v in conf.items()]
    return "\n".join(lines) + "\n"
