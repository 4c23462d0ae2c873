"""The canonical data model: every source file is mapped onto these tables.

Each table is a :class:`TableSpec` of :class:`ColumnSpec`; :func:`pandera_schema`
turns a spec into the pandera schema the loader validates against. Types after
loading:

- ``string``: pandas ``string`` dtype (missing is ``<NA>``);
- ``datetime``: ``datetime64[us, UTC]`` (timestamps are converted to UTC on
  loading; naive ones are read in the source's time zone);
- ``float``: ``float64``; money is in the currency named by the config;
- ``int``: nullable ``Int64``;
- ``bool``: ``boolean``.

Columns flagged ``pii`` hold personal data; they never appear in a rendered
report (see :mod:`ecrm_lib.report.display`).

Examples
--------
>>> from ecrm_lib.core.schema import TABLES
>>> TABLES["transactions"].required_columns()
['account_id', 'timestamp', 'amount']
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

__all__ = [
    "ColumnSpec",
    "TableSpec",
    "TABLES",
    "TABLE_ORDER",
    "PANDAS_DTYPES",
    "pandera_schema",
    "empty_table",
    "describe_tables",
]

PANDAS_DTYPES = {
    "string": "string",
    "datetime": "datetime64[us, UTC]",
    "float": "float64",
    "int": "Int64",
    "bool": "boolean",
}


@dataclass(frozen=True)
class ColumnSpec:
    """One canonical column.

    Parameters
    ----------
    name : str
        Canonical column name.
    kind : {"string", "datetime", "float", "int", "bool"}
        Logical type (see the module docstring for the pandas dtype).
    description : str
        What the column holds, with its unit.
    required : bool
        The source must map this column (else it is filled with missing values).
    nullable : bool
        Missing values are allowed after loading.
    pii : bool
        Personal data: never shown in a report.
    allowed : tuple of str, optional
        The only values allowed (after lower-casing), if restricted.
    min_value, max_value : float, optional
        Inclusive bounds for numeric columns.
    """

    name: str
    kind: str
    description: str
    required: bool = False
    nullable: bool = True
    pii: bool = False
    allowed: tuple[str, ...] | None = None
    min_value: float | None = None
    max_value: float | None = None

    @property
    def dtype(self) -> str:
        return PANDAS_DTYPES[self.kind]


@dataclass(frozen=True)
class TableSpec:
    """One canonical table.

    Parameters
    ----------
    name : str
        Table name, also the key in the config's ``sources``.
    description : str
        One line on what a row is.
    columns : tuple of ColumnSpec
        The canonical columns, in order.
    key : tuple of str
        Columns that identify a customer account (rows missing them fall under
        the ``missing_keys`` policy).
    time_column : str, optional
        The column the ``after_as_of`` policy looks at.
    keep_extra : bool
        Unmapped source columns are kept (only for ``customers``).
    """

    name: str
    description: str
    columns: tuple[ColumnSpec, ...]
    key: tuple[str, ...] = ("account_id",)
    time_column: str | None = None
    keep_extra: bool = False
    duplicate_subset: tuple[str, ...] | None = None
    notes: str = ""

    def column(self, name: str) -> ColumnSpec:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(f"table {self.name!r} has no column {name!r}; columns: {self.column_names()}")

    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]

    def required_columns(self) -> list[str]:
        return [c.name for c in self.columns if c.required]

    def pii_columns(self) -> list[str]:
        return [c.name for c in self.columns if c.pii]


def _c(*args, **kwargs) -> ColumnSpec:
    return ColumnSpec(*args, **kwargs)


ACCOUNT_ID = _c("account_id", "string", "Identifier of the account in its channel system.", required=True, nullable=False)

TABLES: dict[str, TableSpec] = {
    "accounts": TableSpec(
        "accounts",
        "One row per account that a person holds in one channel, with the identifying attributes that channel captured.",
        (
            ACCOUNT_ID,
            _c("channel", "string", "Channel that owns the account (store, phone, mail, email, web, app, ...).", required=True, nullable=False),
            _c("name", "string", "Name as the channel wrote it (any script; not normalised).", pii=True),
            _c("email", "string", "E-mail as the channel wrote it (not normalised).", pii=True),
            _c("phone", "string", "Phone number as the channel wrote it (not normalised).", pii=True),
            _c("postcode", "string", "Postcode as the channel wrote it."),
            _c("created_at", "datetime", "When the account was opened (UTC); accounts opened after the as-of date are set aside, so that a run as of an earlier date sees the accounts of that date."),
        ),
        time_column="created_at",
        duplicate_subset=("account_id",),
        notes="account_id must be unique across the table; prefix it with the channel when channel systems reuse ids.",
    ),
    "transactions": TableSpec(
        "transactions",
        "One row per purchase (or refund) line.",
        (
            ACCOUNT_ID,
            _c("timestamp", "datetime", "Time of the purchase (UTC).", required=True, nullable=False),
            _c("amount", "float", "Value of the purchase in the config's currency; negative for refunds.", required=True, nullable=False),
            _c("channel", "string", "Channel of the purchase."),
            _c("transaction_id", "string", "Order or invoice identifier, if the source has one."),
            _c("quantity", "float", "Units bought, if known."),
        ),
        time_column="timestamp",
    ),
    "contacts": TableSpec(
        "contacts",
        "One row per contact between the company and a customer (call, mail, e-mail, chat, visit, ...).",
        (
            ACCOUNT_ID,
            _c("timestamp", "datetime", "Time of the contact (UTC).", required=True, nullable=False),
            _c("channel", "string", "Channel of the contact.", required=True, nullable=False),
            _c("direction", "string", "inbound (customer to company) or outbound.", allowed=("inbound", "outbound")),
            _c("purpose", "string", "Why the contact happened (order_status, complaint, ...)."),
            _c("duration_min", "float", "Length of the contact in minutes, if known.", min_value=0),
        ),
        time_column="timestamp",
    ),
    "feedback": TableSpec(
        "feedback",
        "One row per survey answer or written feedback.",
        (
            ACCOUNT_ID,
            _c("timestamp", "datetime", "When the feedback was given (UTC); may be missing."),
            _c("score", "float", "Score on the scale 0..score_max (NPS: 0-10).", min_value=0),
            _c("score_max", "float", "Top of the score scale (10 for NPS, 5 for star ratings).", min_value=1),
            _c("text", "string", "Free text as the customer wrote it (may contain personal data)."),
            _c("channel", "string", "Channel the feedback came through."),
        ),
        time_column="timestamp",
    ),
    "campaigns": TableSpec(
        "campaigns",
        "One row per account assigned to a campaign arm, with its response.",
        (
            ACCOUNT_ID,
            _c("campaign_id", "string", "Campaign identifier.", required=True, nullable=False),
            _c("arm", "string", "Arm the account was assigned to (e.g. treatment, control).", required=True, nullable=False),
            _c("is_control", "bool", "True for the control (hold-out) arm.", nullable=False),
            _c("response", "int", "1 if the account responded (bought, converted), else 0.", required=True, nullable=False, min_value=0, max_value=1),
            _c("revenue", "float", "Revenue attributed to the response, in the config's currency."),
            _c("assigned_at", "datetime", "When the account was assigned (UTC)."),
        ),
        time_column="assigned_at",
        duplicate_subset=("account_id", "campaign_id"),
    ),
    "channel_costs": TableSpec(
        "channel_costs",
        "Cost of one contact per channel, optionally per contact purpose.",
        (
            _c("channel", "string", "Channel name as used in contacts.", required=True, nullable=False),
            _c("purpose", "string", "Contact purpose this cost applies to; missing means every purpose."),
            _c("cost_per_contact", "float", "Cost of one contact in the config's currency.", required=True, nullable=False, min_value=0),
        ),
        key=("channel",),
        duplicate_subset=("channel", "purpose"),
    ),
    "customers": TableSpec(
        "customers",
        "One row per account with descriptive attributes (demographics, contract, per-channel counts); unmapped columns are kept.",
        (ACCOUNT_ID,),
        keep_extra=True,
        duplicate_subset=("account_id",),
    ),
}

TABLE_ORDER = list(TABLES)


def empty_table(table: str) -> pd.DataFrame:
    """An empty DataFrame with the canonical columns and dtypes of ``table``."""
    spec = TABLES[table]
    return pd.DataFrame({c.name: pd.Series([], dtype=c.dtype) for c in spec.columns})


def pandera_schema(table: str):
    """The pandera ``DataFrameSchema`` for a canonical table.

    Parameters
    ----------
    table : str
        A key of :data:`TABLES`.

    Returns
    -------
    pandera.pandas.DataFrameSchema
        Types are coerced; ``strict`` is off for tables that keep extra columns.
    """
    import pandera.pandas as pa

    spec = TABLES[table]
    cols = {}
    for c in spec.columns:
        checks = []
        if c.allowed is not None:
            checks.append(pa.Check.isin(list(c.allowed), error=f"must be one of {list(c.allowed)}"))
        if c.min_value is not None:
            checks.append(pa.Check.ge(c.min_value))
        if c.max_value is not None:
            checks.append(pa.Check.le(c.max_value))
        if c.kind == "float":
            checks.append(pa.Check(lambda s: ~s.isin([float("inf"), float("-inf")]), element_wise=False, error="must be finite"))
        cols[c.name] = pa.Column(c.dtype, checks=checks, nullable=c.nullable, coerce=True)
    unique = list(spec.duplicate_subset) if spec.duplicate_subset else None
    return pa.DataFrameSchema(cols, strict=False, unique=unique, name=table)


def describe_tables() -> pd.DataFrame:
    """The data model as a tidy table (table, column, type, required, pii, description)."""
    rows = []
    for spec in TABLES.values():
        for c in spec.columns:
            rows.append(
                {
                    "table": spec.name,
                    "column": c.name,
                    "type": c.kind,
                    "required": c.required,
                    "nullable": c.nullable,
                    "personal_data": c.pii,
                    "description": c.description,
                }
            )
    return pd.DataFrame(rows)
