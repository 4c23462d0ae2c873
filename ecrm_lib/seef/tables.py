"""Engine plumbing of the SEEF pillar: input tables as Ibis expressions, results into pandas.

The SEEF functions that read transaction-, contact-, campaign- or
feedback-level tables take an Ibis table (``ctx.table(...)`` in a notebook)
and, for tests and small data, a pandas DataFrame, which
:func:`ecrm_lib.data.tables.as_table` hands to the engine as an
``ibis.memtable`` (:func:`engine_table` keeps only the columns needed). They
aggregate in the engine and bring only per-customer or aggregated results
into pandas (:func:`to_frame`), as :mod:`ecrm_lib.value.features` does.

Examples
--------
>>> t = engine_table(pd.DataFrame({"account_id": ["a", "a", "b"], "amount": [1.0, 2.0, 5.0], "x": 0}), ["account_id", "amount"])
>>> to_frame(t.group_by("account_id").aggregate(spend=t.amount.sum()).order_by("account_id")).to_dict("list")
{'account_id': ['a', 'b'], 'spend': [3.0, 5.0]}
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from ecrm_lib.data.tables import as_table, is_ibis

__all__ = ["columns_of", "engine_table", "to_frame"]


def engine_table(obj, columns: Sequence[str] | None = None, name: str = "table"):
    """An Ibis table for an Ibis table (returned as it is) or a DataFrame (only ``columns`` it has go to the engine).

    Raises
    ------
    TypeError
        For anything else (the message names ``name``).
    """
    if isinstance(obj, pd.DataFrame) and columns is not None:
        obj = obj[[c for c in dict.fromkeys(columns) if c in obj.columns]]
    return as_table(obj, name)


def columns_of(obj) -> list[str]:
    """Column names of an Ibis table or a DataFrame."""
    return list(obj.columns) if is_ibis(obj) else [str(c) for c in obj.columns]


def to_frame(expr) -> pd.DataFrame:
    """Run an Ibis expression and return its result as a pandas DataFrame (Arrow types kept: dates as datetimes)."""
    return expr.to_pyarrow().to_pandas(date_as_object=False)
