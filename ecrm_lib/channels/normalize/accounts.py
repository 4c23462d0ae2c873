"""Normalised identifying attributes of a whole accounts table, in pandas or on the engine.

- :func:`normalize_accounts`: a pandas DataFrame in, a DataFrame out (the
  reference: every value goes through the Arrow rules of
  :mod:`~ecrm_lib.channels.normalize.fields` and
  :mod:`~ecrm_lib.channels.normalize.names`, once per distinct value).
- :func:`normalize_account_table`: an Ibis table in, an Ibis expression out.
  E-mails, phones and postcodes made only of printable ASCII (nearly all) are
  normalised by the engine's SQL; every other distinct value (full-width
  digits, zero-width spaces, numbers the fast path cannot read) and every
  distinct name (NFKC, case folding and the Hangul rule need Python) is
  fetched in batches, normalised by the Arrow rules and joined back in the
  engine. Same values as :func:`normalize_accounts` (tested).
- :func:`normalization_report` (pandas) and :func:`normalization_counts`
  (engine): per field, values present, valid and rejected.
"""

from __future__ import annotations

import ibis
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ecrm_lib.channels.normalize.common import ENGINE_SAFE, is_present
from ecrm_lib.channels.normalize.fields import (
    email_expression,
    email_rule,
    normalize_email,
    normalize_phone,
    normalize_postcode,
    phone_fast_expression,
    phone_rule,
    postcode_expression,
    postcode_rule,
)
from ecrm_lib.channels.normalize.names import name_rule, name_script, normalize_name

__all__ = [
    "IDENTIFYING_FIELDS",
    "normalization_counts",
    "normalization_report",
    "normalize_account_table",
    "normalize_accounts",
]

#: The account attributes that are normalised (and reported on).
IDENTIFYING_FIELDS = ("email", "phone", "name", "postcode")

#: Distinct values fetched from the engine per batch for the Python rules.
BATCH_ROWS = 250_000


# ------------------------------------------------------------------ pandas
def normalize_accounts(
    accounts: pd.DataFrame,
    *,
    default_region: str = "KR",
    fold_gmail: bool = False,
    strict_phone: bool = False,
) -> pd.DataFrame:
    """Normalised identifying attributes of canonical ``accounts``.

    Parameters
    ----------
    accounts : DataFrame
        The canonical accounts table (account_id, channel, name, email, phone,
        postcode, created_at); missing optional columns are treated as empty.
    default_region : str, default "KR"
        Region of phone numbers written without a country code.
    fold_gmail : bool, default False
        See :func:`~ecrm_lib.channels.normalize.fields.normalize_email`.
    strict_phone : bool, default False
        See ``strict`` in :func:`~ecrm_lib.channels.normalize.fields.normalize_phone`.

    Returns
    -------
    DataFrame
        Same rows and order: account_id, channel, created_at, email, phone,
        name, name_script, postcode (normalised; personal data).
    """
    n = len(accounts)

    def col(c: str) -> pd.Series:
        if c in accounts:
            return accounts[c].astype("string").reset_index(drop=True)
        return pd.Series(pd.array([pd.NA] * n, dtype="string"))

    name = normalize_name(col("name"))
    created = accounts["created_at"].reset_index(drop=True) if "created_at" in accounts else pd.Series([pd.NaT] * n, dtype="datetime64[us, UTC]")
    return pd.DataFrame(
        {
            "account_id": col("account_id"),
            "channel": col("channel"),
            "created_at": created,
            "email": normalize_email(col("email"), fold_gmail=fold_gmail),
            "phone": normalize_phone(col("phone"), default_region=default_region, strict=strict_phone),
            "name": name,
            "name_script": name_script(name),
            "postcode": normalize_postcode(col("postcode")),
        }
    )


def normalization_report(accounts: pd.DataFrame, normalized: pd.DataFrame) -> pd.DataFrame:
    """Per field: raw values present, valid after normalisation, and rejected.

    Parameters
    ----------
    accounts : DataFrame
        Raw canonical accounts.
    normalized : DataFrame
        :func:`normalize_accounts` of the same rows.

    Returns
    -------
    DataFrame
        field, n_accounts, n_present (raw not blank), n_valid, n_invalid
        (present but rejected), n_missing (blank or absent).
    """
    rows = []
    n = len(accounts)
    for field in IDENTIFYING_FIELDS:
        raw = accounts[field].astype("string").reset_index(drop=True) if field in accounts else pd.Series(pd.array([pd.NA] * n, dtype="string"))
        present = raw.notna() & (raw.str.strip().str.len() > 0).fillna(False).astype(bool)
        valid = normalized[field].notna().reset_index(drop=True)
        rows.append(
            {
                "field": field,
                "n_accounts": n,
                "n_present": int(present.sum()),
                "n_valid": int(valid.sum()),
                "n_invalid": int((present & ~valid).sum()),
                "n_missing": int((~present).sum()),
            }
        )
    return pd.DataFrame(rows)


# ------------------------------------------------------------------ engine
def _distinct_values(t, rows: dict) -> dict[str, pa.Array]:
    """The distinct values of several columns, each on its own rows, in one query.

    ``rows`` maps a column name to a boolean expression (the rows whose value
    the Python rule must normalise).
    """
    parts = [t.filter(cond).select(field=ibis.literal(c), raw=t[c]) for c, cond in rows.items()]
    union = parts[0]
    for p in parts[1:]:
        union = union.union(p, distinct=False)
    # Fetched at once (Ibis 12's to_pyarrow_batches fails on DuckDB 2.0: no fetch_record_batch);
    # the Python rules then work through them a batch at a time.
    got = union.distinct().to_pyarrow()
    field = got.column("field")
    return {c: pc.filter(got.column("raw"), pc.equal(field, c)).combine_chunks() for c in rows}


def _through_rule(distinct: pa.Array, rule, batch_rows: int) -> pa.Table | None:
    """raw, value (the Arrow rule), present of distinct values, a batch at a time; None without values."""
    parts = []
    for start in range(0, len(distinct), batch_rows):
        raw = pc.cast(distinct.slice(start, batch_rows), pa.large_string())
        parts.append(pa.table({"raw": raw, "value": pc.cast(rule(raw), pa.large_string()), "present": is_present(raw)}))
    return pa.concat_tables(parts) if parts else None


def _join_mapping(t, col: str, mapping: pa.Table | None, tag: str):
    """Left-join a raw -> (value, present) mapping on ``t[col]``; returns (table, value, present) columns or Nones."""
    if mapping is None or mapping.num_rows == 0:
        return t, None, None
    m = ibis.memtable(mapping.rename_columns([f"_{tag}_raw", f"_{tag}_value", f"_{tag}_present"]))
    joined = t.left_join(m, t[col] == m[f"_{tag}_raw"]).drop(f"_{tag}_raw")
    return joined, joined[f"_{tag}_value"], joined[f"_{tag}_present"]


def normalize_account_table(
    accounts,
    *,
    default_region: str = "KR",
    fold_gmail: bool = False,
    strict_phone: bool = False,
    batch_rows: int = BATCH_ROWS,
    keep=None,
):
    """The accounts table with normalised identifying attributes, computed on the engine.

    Parameters
    ----------
    accounts : ibis.Table
        Accounts with string columns email, phone, name and postcode (missing
        ones are added empty); every other column passes through unchanged.
    default_region, fold_gmail, strict_phone
        As in :func:`normalize_accounts`.
    batch_rows : int
        Distinct values normalised per batch by the Python rules.
    keep : callable, optional
        Materialises an intermediate table (e.g. ``Workspace.keep``): the
        accounts with the SQL rules applied, read twice (to find the values
        the Python rules need, then to build the result). Without it the SQL
        rules are computed twice.

    Returns
    -------
    ibis.Table
        The same rows with email, phone, name and postcode normalised (the
        values of :func:`normalize_accounts`), plus name_script and
        email_present, phone_present, name_present, postcode_present (raw value
        not blank, for :func:`normalization_counts`). Lazy apart from the
        distinct values already fetched: cache it before using it twice.
    """
    t = accounts
    for c in IDENTIFYING_FIELDS:
        t = t.mutate(**{c: t[c].cast("string") if c in t.columns else ibis.null("string")})
    kr_fast = default_region.upper() == "KR"
    # The SQL rules, for values of printable ASCII (computed once: materialised by ``keep``).
    t = t.mutate(
        **{f"_safe_{c}": t[c].re_search(ENGINE_SAFE).fill_null(False) for c in ("email", "phone", "postcode")},
        _sql_email=email_expression(t.email, fold_gmail=fold_gmail),
        _sql_phone=phone_fast_expression(t.phone, strict=strict_phone) if kr_fast else ibis.null("string"),
        _sql_postcode=postcode_expression(t.postcode),
    )
    if keep is not None:
        t = keep(t)
    safe = {c: t[f"_safe_{c}"] for c in ("email", "phone", "postcode")}
    rules = {
        "email": lambda u: email_rule(u, fold_gmail=fold_gmail),
        "phone": lambda u: phone_rule(u, default_region=default_region, strict=strict_phone),
        "postcode": postcode_rule,
        "name": name_rule,
    }
    # Values the SQL cannot decide: not printable ASCII, or (phones) not a plain Korean number;
    # names always (NFKC, case folding and the Hangul rule).
    python_rows = {c: t[c].notnull() & ~safe[c] for c in ("email", "postcode")}
    python_rows["phone"] = t.phone.notnull() & ~(safe["phone"] & t._sql_phone.notnull())
    python_rows["name"] = t.name.notnull()
    distinct = _distinct_values(t, python_rows)
    mappings = {c: _through_rule(distinct[c], rules[c], batch_rows) for c in IDENTIFYING_FIELDS}
    # Name scripts of the distinct normalised names.
    scripts = None
    if mappings["name"] is not None:
        normal = pc.unique(pc.drop_null(mappings["name"].column("value")))
        scripts = pa.table(
            {
                "_script_name": pc.cast(normal, pa.large_string()),
                "_script": pa.array(name_script(pd.Series(pd.array(normal, dtype="string"))).to_numpy(), type=pa.large_string()),
            }
        )
    # One pass: join every mapping, build the columns.
    cols = {}
    for c in IDENTIFYING_FIELDS:
        t, mapped, present = _join_mapping(t, c, mappings[c], c)
        cols[c] = (mapped, present)
    out = {}
    for c in ("email", "phone", "postcode"):
        mapped, present = cols[c]
        s, sql_v = t[f"_safe_{c}"], t[f"_sql_{c}"]
        if c == "phone":
            value = sql_v if mapped is None else ibis.coalesce(ibis.ifelse(s, sql_v, ibis.null("string")), mapped)
        else:
            value = ibis.ifelse(s, sql_v, mapped if mapped is not None else ibis.null("string"))
        raw_present = t[c].re_search("[^ ]").fill_null(False)
        out[c] = value
        out[f"{c}_present"] = ibis.ifelse(s, raw_present, present.fill_null(False) if present is not None else False)
    mapped, present = cols["name"]
    out["name"] = mapped if mapped is not None else ibis.null("string")
    out["name_present"] = present.fill_null(False) if present is not None else ibis.literal(False)
    t = t.mutate(**out)
    if scripts is not None:
        sm = ibis.memtable(scripts)
        t = t.left_join(sm, t.name == sm._script_name).drop("_script_name")
        t = t.mutate(name_script=t._script.fill_null("missing")).drop("_script")
    else:
        t = t.mutate(name_script=ibis.literal("missing"))
    drop = [c for c in t.columns if c.startswith(("_safe_", "_sql_", "_email_", "_phone_", "_postcode_", "_name_"))]
    return t.drop(*drop)


def normalization_counts(normalized) -> pd.DataFrame:
    """:func:`normalization_report` of a table from :func:`normalize_account_table`, counted on the engine.

    Returns
    -------
    DataFrame
        field, n_accounts, n_present, n_valid, n_invalid, n_missing.
    """
    t = normalized
    aggs = {"n": t.count()}
    for c in IDENTIFYING_FIELDS:
        p = t[f"{c}_present"]
        aggs[f"{c}_present"] = p.cast("int64").sum()
        aggs[f"{c}_valid"] = t[c].notnull().cast("int64").sum()
        aggs[f"{c}_invalid"] = (p & t[c].isnull()).cast("int64").sum()
    r = t.aggregate(**aggs).to_pyarrow().to_pylist()[0]
    n = int(r["n"])
    rows = []
    for c in IDENTIFYING_FIELDS:
        present = int(r[f"{c}_present"] or 0)
        rows.append(
            {
                "field": c,
                "n_accounts": n,
                "n_present": present,
                "n_valid": int(r[f"{c}_valid"] or 0),
                "n_invalid": int(r[f"{c}_invalid"] or 0),
                "n_missing": n - present,
            }
        )
    return pd.DataFrame(rows)
