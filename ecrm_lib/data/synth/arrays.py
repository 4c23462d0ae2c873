"""Small vectorised helpers of the generator: categorical draws per row, local times of day, text of
numbers, ids, ranks inside groups, and the observation :class:`Window`."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ecrm_lib.data.synth.reference import HOUR_PROFILES, PROFILE_NAMES

__all__ = [
    "Window", "probs", "choice_rows", "seconds_of_day", "zfill", "cat", "by_case", "ids", "per_group_rank",
    "pick_distinct_persons", "weekdays_only", "round_to",
]


def probs(x) -> np.ndarray:
    """Weights scaled to sum to 1."""
    x = np.asarray(x, dtype=float)
    return x / x.sum()


def choice_rows(rng: np.random.Generator, weights: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """One categorical draw per element of ``rows`` from ``weights[rows]`` (rows of a small matrix)."""
    cum = np.cumsum(weights, axis=1)
    cum = cum / cum[:, -1:]
    u = rng.random(len(rows))
    out = np.empty(len(rows), dtype=np.int64)
    for r in np.unique(rows):
        m = rows == r
        out[m] = np.minimum(np.searchsorted(cum[r], u[m], side="right"), weights.shape[1] - 1)
    return out


def seconds_of_day(rng: np.random.Generator, profile: np.ndarray) -> np.ndarray:
    """A local time of day (seconds after midnight) per element, from the hour profile index given."""
    weights = np.array([HOUR_PROFILES[k] for k in PROFILE_NAMES], dtype=float)
    hour = choice_rows(rng, weights, np.asarray(profile, dtype=np.int64))
    return hour * 3600 + rng.integers(0, 3600, size=len(hour))


def zfill(values: np.ndarray, width: int) -> np.ndarray:
    """Integers as zero-padded text (object array); an empty input gives an empty array.

    ``np.strings.zfill`` takes the maximum of its widths, which fails on an empty array
    (a chunk of a small data set can have no account of a kind).

    >>> zfill(np.array([7, 1234]), 3).tolist(), zfill(np.array([], dtype=np.int64), 3).tolist()
    (['007', '1234'], [])
    """
    text = np.asarray(values, dtype=np.int64).astype(str)
    if text.size == 0:
        return np.empty(text.shape, dtype=object)
    return np.strings.zfill(text, width).astype(object)


def cat(*parts) -> np.ndarray:
    """Element-wise concatenation of text arrays and constants (object array)."""
    out = parts[0]
    for p in parts[1:]:
        out = np.strings.add(out, p)
    return np.asarray(out).astype(object)


def by_case(case: np.ndarray, builders: list[Callable[[np.ndarray], np.ndarray]]) -> np.ndarray:
    """``out[i] = builders[case[i]](rows)[...]``: each builder is called only on the rows of its case."""
    out = np.empty(case.size, dtype=object)
    for k, build in enumerate(builders):
        rows = np.flatnonzero(case == k)
        if rows.size:
            out[rows] = build(rows)
    return out


def ids(prefix: str | np.ndarray, numbers: np.ndarray, width: int) -> np.ndarray:
    """``PREFIX-000123`` ids (object array): the numbers zero-padded to at least ``width`` digits."""
    digits = zfill(numbers, width)
    if digits.size == 0:
        return digits
    return np.strings.add(np.strings.add(np.asarray(prefix, dtype=str), "-"), digits.astype(str)).astype(object)


def per_group_rank(groups: np.ndarray, order_key: np.ndarray) -> np.ndarray:
    """0-based rank of each element inside its group, by ``order_key`` (ties by position)."""
    order = np.lexsort((np.arange(len(groups)), order_key, groups))
    g = groups[order]
    start = np.r_[0, np.flatnonzero(g[1:] != g[:-1]) + 1]
    counts = np.diff(np.r_[start, len(g)])
    rank_sorted = np.arange(len(g)) - np.repeat(start, counts)
    rank = np.empty(len(g), dtype=np.int64)
    rank[order] = rank_sorted
    return rank


def pick_distinct_persons(rng: np.random.Generator, rows: np.ndarray, person: np.ndarray, k: int) -> np.ndarray:
    """Up to ``k`` rows of ``rows``, at most one per person, chosen at random."""
    if len(rows) == 0 or k <= 0:
        return rows[:0]
    shuffled = rows[rng.permutation(len(rows))]
    _, first = np.unique(person[shuffled], return_index=True)
    keep = shuffled[np.sort(first)]
    return keep[:k]


def weekdays_only(rng: np.random.Generator, day: np.ndarray, start_weekday: int, last_day: int) -> np.ndarray:
    """Move days that fall on a Saturday or Sunday to a random weekday of the same week (Monday-Friday).

    Near the ends of the window the next or the previous week is used, so every day stays in 0..last_day.
    """
    wd = (start_weekday + day) % 7  # Monday = 0
    weekend = wd >= 5
    out = day - wd + rng.integers(0, 5, size=day.size)
    out = np.where(out < 0, out + 7, out)
    out = np.where(out > last_day, out - 7, out)
    return np.where(weekend, out, day)


def round_to(x: np.ndarray, step: int) -> np.ndarray:
    """Round to a multiple of ``step`` (int64)."""
    return (np.round(np.asarray(x) / step) * step).astype(np.int64)


@dataclass(frozen=True)
class Window:
    """The observation window: first and last local day, both included."""

    start: dt.date
    end: dt.date

    @property
    def days(self) -> int:
        """Number of days in the window (both ends included)."""
        return (self.end - self.start).days + 1
