"""Models at scale: fit on a stratified sample of documented size, score everyone in batches.

The SEEF models (k-means clusters in :mod:`ecrm_lib.seef.clusters`, the
look-alike model in :mod:`ecrm_lib.seef.expansion`) learn what they need from
a sample and then score every customer:

- :func:`stratified_sample` draws the rows a model is fitted on: every row
  when the table is no larger than the sample size (so small data give the
  same result as without sampling), else a seeded sample in which each
  stratum (e.g. RFM segment, target or not) keeps its share of the rows.
- :func:`batches` cuts the scoring of every customer into slices of bounded
  size, so the memory a prediction needs does not grow with the customers.
- :func:`model_threads` and :func:`thread_limit` set the native threads
  (OpenMP, BLAS) a fit may use: the cores of this machine shared by the
  notebooks that run at the same time, and one thread for small fits, where
  starting threads costs more than it saves (on a busy 2-core machine
  k-means' threads were about 20 times slower than one thread for 5 fits of
  400 rows: 3.3 s against 0.14 s).

Examples
--------
>>> strata = np.array(["a"] * 90 + ["b"] * 10)
>>> pos = stratified_sample(strata, 20, random_state=0)
>>> len(pos), int((strata[pos] == "b").sum())
(20, 2)
>>> [(s.start, s.stop) for s in batches(5, 2)]
[(0, 2), (2, 4), (4, 5)]
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

from ecrm_lib.core.config import EngineSettings
from ecrm_lib.data.engine import thread_count

__all__ = [
    "SCORE_BATCH_ROWS",
    "SMALL_FIT_ROWS",
    "batches",
    "model_threads",
    "stratified_sample",
    "stratified_sample_table",
    "thread_limit",
]

#: Rows scored at a time when a fitted model predicts every customer.
SCORE_BATCH_ROWS = 200_000

#: Fits on fewer rows run on one native thread (thread start-up outweighs the gain).
SMALL_FIT_ROWS = 20_000


def stratified_sample(strata, size: int, random_state: int = 0) -> np.ndarray:
    """Sorted positions of a stratified random sample of ``size`` rows.

    Every position when there are no more than ``size`` rows. Otherwise each
    stratum gets ``size`` times its share of the rows, rounded by the largest
    remainder, and at least one row (so a small stratum is never lost); its
    rows are drawn without replacement with a generator seeded by
    ``random_state``. Missing strata form a stratum of their own.

    Parameters
    ----------
    strata : array-like
        One stratum label per row (e.g. the RFM segment, or the target flag).
    size : int
        Rows in the sample (>= 1).
    random_state : int
        Seed.

    Returns
    -------
    ndarray of int
        Row positions, ascending.

    Examples
    --------
    >>> stratified_sample(["x", "y", "x"], 10).tolist()
    [0, 1, 2]
    """
    labels = pd.Series(np.asarray(strata, dtype=object)).astype("string").fillna("<missing>")
    n = len(labels)
    size = int(size)
    if size < 1:
        raise ValueError(f"the sample size must be at least 1 row, but {size} was passed.")
    if n <= size:
        return np.arange(n)
    codes, uniques = pd.factorize(labels, sort=True)
    take = _quotas(np.bincount(codes, minlength=len(uniques)), size)
    rng = np.random.default_rng(random_state)
    picked = [rng.choice(np.flatnonzero(codes == k), size=int(take[k]), replace=False) for k in range(len(uniques))]
    return np.sort(np.concatenate(picked))


def _quotas(counts: np.ndarray, size: int) -> np.ndarray:
    """Rows to draw from each stratum: ``size`` times its share, largest remainders first, at least one, at most all."""
    quota = counts / counts.sum() * size
    take = np.maximum(np.floor(quota).astype(int), 1)
    left = size - int(take.sum())
    if left > 0:  # largest remainders first (ties: the stratum first in sorted order)
        order = np.argsort(-(quota - np.floor(quota)), kind="stable")
        for k in order[:left]:
            take[k] += 1
    return np.minimum(take, counts)


def stratified_sample_table(table, strata: Sequence[str], size: int, key: str, random_state: int = 0):
    """A stratified random sample of an Ibis table's rows, drawn in the engine; ``(sample, rows)``.

    The engine counts the rows per stratum (the distinct values of the
    ``strata`` columns, a missing value a stratum of its own) and keeps, of
    each, the rows first in a seeded hash order of ``key``, as many as
    :func:`stratified_sample` gives the stratum (its share of ``size``,
    largest remainder, at least one). Only the sample leaves the engine when
    the caller collects it, so a campaign of ten million rows never comes
    into pandas whole. The rows are a different random draw from the one
    :func:`stratified_sample` makes with the same seed (a hash order in the
    engine, not numpy's generator); it is repeatable on the same engine.

    Parameters
    ----------
    table : ibis.Table
    strata : sequence of str
        Columns whose value combinations are the strata.
    size : int
        Rows in the sample (>= 1).
    key : str
        A column that tells the rows apart (e.g. ``account_id``); ties in the hash order go by it.
    random_state : int
        Seed of the hash order.

    Returns
    -------
    (ibis.Table, int)
        The sample (``table`` itself when it has no more than ``size`` rows; else the columns of
        ``table``, ordered by ``key``, so that what is fitted on it is repeatable) and the number
        of rows of ``table``.
    """
    import ibis

    size = int(size)
    if size < 1:
        raise ValueError(f"the sample size must be at least 1 row, but {size} was passed.")
    label = ibis.literal("/").join([table[c].cast("string").fill_null("<missing>") for c in strata])
    marked = table.mutate(_stratum=label)
    counts = marked.group_by("_stratum").aggregate(_n=marked.count()).order_by("_stratum").to_pandas()
    n = int(counts["_n"].sum())
    if n <= size:
        return table, n
    quota = ibis.memtable(pd.DataFrame({"_q_stratum": counts["_stratum"].astype(str),
                                        "_take": _quotas(counts["_n"].to_numpy(), size).astype("int64")}))
    order = (marked[key].cast("string") + ibis.literal(f"#{int(random_state)}")).hash()
    ranked = marked.mutate(_rank=ibis.row_number().over(group_by=marked._stratum, order_by=[order, marked[key]]))
    kept = ranked.join(quota, ranked._stratum == quota._q_stratum).filter(lambda r: r._rank < r._take)
    return kept.select(*table.columns).order_by(key), n


def batches(n: int, batch_size: int = SCORE_BATCH_ROWS) -> Iterator[slice]:
    """Consecutive slices covering ``range(n)``, each at most ``batch_size`` long."""
    step = max(1, int(batch_size))
    for start in range(0, int(n), step):
        yield slice(start, min(start + step, int(n)))


def model_threads(n_rows: int, n_threads: int | None = None) -> int:
    """Native threads for a fit on ``n_rows`` rows.

    One below :data:`SMALL_FIT_ROWS`; else ``n_threads`` when given, else the
    machine's cores divided by the notebooks running at the same time (the
    ``ECRM_PARALLEL_NOTEBOOKS`` environment variable that ``ecrm run --jobs``
    sets; 1 when run by hand; :func:`ecrm_lib.data.engine.thread_count`): OpenMP threads spin when they outnumber
    the free cores, where the engine's threads wait (it takes every core).

    Examples
    --------
    >>> model_threads(500), model_threads(10**6, n_threads=3)
    (1, 3)
    """
    if n_rows < SMALL_FIT_ROWS:
        return 1
    if n_threads is not None:
        return max(1, int(n_threads))
    parallel = int(os.environ.get("ECRM_PARALLEL_NOTEBOOKS", "1") or 1)
    return thread_count(EngineSettings(), parallel)


def thread_limit(n_rows: int, n_threads: int | None = None):
    """Context manager: native thread pools limited to :func:`model_threads` for a fit on ``n_rows`` rows.

    scikit-learn's estimators are imported by the modules that call it, so
    their native libraries are loaded and the limit reaches them.
    """
    return threadpool_limits(limits=model_threads(n_rows, n_threads))
