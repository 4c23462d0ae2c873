"""Contractual churn (telecom, subscriptions: the customer ends a contract), e.g. IBM's Telco data.

A customers table with a churn column (``Churn`` Yes/No): a stratified
train/test split of the customers, the same two calibrated models and measures
as the non-contractual analysis (:mod:`ecrm_lib.value.churn`), the drivers per
column of the table, and churn rates by tenure band and contract type. The
table is one row per customer and is modelled in pandas.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ecrm_lib.core.privacy import count_text
from ecrm_lib.value.churn import check_models, make_model, native_threads
from ecrm_lib.value.churn_data import ChurnDataError
from ecrm_lib.value.churn_measures import (
    MODEL_LABELS,
    SUPERVISED_MODELS,
    calibration_table,
    choose_model,
    evaluate_scores,
    lift_by_decile,
    permutation_drivers,
    roc_curve_table,
)

__all__ = ["ContractResult", "churn_by_tenure", "prepare_contract_table", "run_contractual"]


def _find_column(df: pd.DataFrame, name: str) -> str | None:
    for c in df.columns:
        if str(c).lower() == name.lower():
            return c
    return None


def prepare_contract_table(
    customers: pd.DataFrame,
    *,
    churn_column: str = "Churn",
    positive: str = "Yes",
    id_column: str = "account_id",
    max_levels: int = 50,
) -> tuple[pd.DataFrame, pd.Series, list[str], list[str]]:
    """Features and label from a customers table whose columns are text.

    A column becomes numeric when at least 95 % of its non-blank values parse
    as numbers (blank strings are missing); other columns with at most
    ``max_levels`` distinct values are categorical; the id, the label and
    columns with more levels (free text, other ids) are dropped.

    Parameters
    ----------
    customers : pandas.DataFrame
        One row per customer.
    churn_column : str
        The label column (matched without regard to case).
    positive : str
        The value meaning "churned" (compared stripped and without regard to case).
    id_column : str
        Identifier column, left out of the features.
    max_levels : int
        Most distinct values a categorical column may have.

    Returns
    -------
    X : pandas.DataFrame
        Numeric columns as float, categorical ones as str (missing as "missing").
    y : pandas.Series
        1 = churned.
    numeric, categorical : list of str

    Raises
    ------
    ChurnDataError
        The churn column is missing, or no row has the positive value.
    """
    col = _find_column(customers, churn_column)
    if col is None:
        raise ChurnDataError(key="churn.error.no_churn_column",
                             values={"column": churn_column, "columns": ", ".join(map(str, customers.columns))})
    label = customers[col].astype("string").str.strip().str.lower()
    y = (label == str(positive).strip().lower()).fillna(False).astype(int)
    if y.sum() == 0:
        seen = sorted(map(str, label.dropna().unique()))[:10]
        raise ChurnDataError(key="churn.error.no_positive",
                             values={"column": churn_column, "positive": str(positive), "seen": ", ".join(seen)})
    X = pd.DataFrame(index=customers.index)
    numeric, categorical = [], []
    for c in customers.columns:
        if c in (col, id_column):
            continue
        s = customers[c]
        if pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_bool_dtype(s):
            X[c] = s.astype(float)
            numeric.append(c)
            continue
        text = s.astype("string").str.strip()
        text = text.mask(text == "")
        parsed = pd.to_numeric(text, errors="coerce")
        present = int(text.notna().sum())
        if present and parsed.notna().sum() >= 0.95 * present:
            X[c] = parsed.astype(float)
            numeric.append(c)
        elif text.nunique(dropna=True) <= max_levels:
            X[c] = text.fillna("missing").astype(str)
            categorical.append(c)
    return X, y.rename("churned"), numeric, categorical


def _contract_preprocessor(numeric: list[str], categorical: list[str]):
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.preprocessing import OneHotEncoder

    parts = []
    if numeric:
        parts.append(("num", SimpleImputer(strategy="median", keep_empty_features=True), numeric))
    if categorical:
        parts.append(("cat", OneHotEncoder(handle_unknown="ignore", sparse_output=False), categorical))
    return ColumnTransformer(parts)


def churn_by_tenure(
    customers: pd.DataFrame,
    *,
    churn_column: str = "Churn",
    positive: str = "Yes",
    tenure_column: str = "tenure",
    contract_column: str = "Contract",
    bands: Sequence[int] = (0, 6, 12, 24, 48, 72),
) -> pd.DataFrame:
    """Churn rate by tenure band and contract type (the retention view of a contract book).

    Parameters
    ----------
    customers : pandas.DataFrame
        Customers with the churn, tenure (months) and contract columns (names
        matched without regard to case; the contract column is optional).
    bands : sequence of int
        Band edges in months; the last band is open-ended ("72+" style when
        tenures exceed the last edge). A band (a, b] holds tenures above a up
        to b; the first band also holds tenure a.

    Returns
    -------
    pandas.DataFrame
        ``tenure_band`` (ordered categorical, e.g. "0-6"), ``contract`` ("all"
        when there is no contract column), ``n``, ``churned``, ``churn_rate``
        (0-1). Empty when there is no tenure column.

    Examples
    --------
    >>> c = pd.DataFrame({"tenure": ["1", "3", "30", "40"], "Contract": ["M", "M", "Y", "Y"],
    ...                   "Churn": ["Yes", "No", "No", "No"]})
    >>> churn_by_tenure(c, bands=(0, 12, 48))[["tenure_band", "contract", "n", "churn_rate"]]
      tenure_band contract  n  churn_rate
    0        0-12        M  2         0.5
    1       13-48        Y  2         0.0
    """
    cols = ["tenure_band", "contract", "n", "churned", "churn_rate"]
    tcol = _find_column(customers, tenure_column)
    ccol = _find_column(customers, churn_column)
    if tcol is None or ccol is None:
        return pd.DataFrame(columns=cols)
    kcol = _find_column(customers, contract_column)
    tenure = pd.to_numeric(customers[tcol].astype("string").str.strip(), errors="coerce")
    y = (customers[ccol].astype("string").str.strip().str.lower() == str(positive).strip().lower()).fillna(False).astype(int)
    edges = [float(b) for b in bands]
    labels = [f"{int(edges[0])}-{int(edges[1])}"] + [f"{int(a) + 1}-{int(b)}" for a, b in zip(edges[1:-1], edges[2:])]
    top = float(tenure.max()) if tenure.notna().any() else edges[-1]
    if top > edges[-1]:
        edges.append(np.inf)
        labels.append(f"{int(bands[-1]) + 1}+")
    band = pd.cut(tenure, bins=edges, labels=labels, include_lowest=True)
    contract = customers[kcol].astype("string").str.strip().fillna("missing") if kcol else pd.Series("all", index=customers.index)
    df = pd.DataFrame({"tenure_band": band, "contract": contract.astype(str), "y": y}).dropna(subset=["tenure_band"])
    g = df.groupby(["tenure_band", "contract"], observed=True)["y"].agg(n="size", churned="sum").reset_index()
    g["churn_rate"] = g["churned"] / g["n"]
    return g[cols].astype({"n": "int64", "churned": "int64"})


@dataclass
class ContractResult:
    """The contractual (Telco-style) analysis.

    Attributes
    ----------
    n_customers, n_train, n_test : int
    churn_rate : float
        Share of churned customers in the whole table (0-1).
    metrics, roc, lift, calibration, importance : DataFrame
        As in :class:`ecrm_lib.value.churn.ChurnEvaluation`, measured on the stratified test part.
    best_model : str
        Highest test ROC-AUC (ties to logistic regression).
    by_tenure : DataFrame
        :func:`churn_by_tenure`.
    numeric, categorical : list of str
        Feature columns used.
    """

    n_customers: int
    n_train: int
    n_test: int
    churn_rate: float
    metrics: pd.DataFrame
    roc: pd.DataFrame
    lift: pd.DataFrame
    calibration: pd.DataFrame
    importance: pd.DataFrame
    best_model: str
    by_tenure: pd.DataFrame
    numeric: list[str]
    categorical: list[str]

    def metric(self, model: str, column: str = "roc_auc") -> float | None:
        """One test figure of one model, None when the model was not evaluated."""
        row = self.metrics.loc[self.metrics["model"] == model, column]
        return None if row.empty or pd.isna(row.iloc[0]) else float(row.iloc[0])

    def top_decile(self, model: str | None = None) -> dict:
        """Decile 1 of ``model`` (default: the chosen one): ``share_of_churners`` (0-1) and ``lift``."""
        d = self.lift[(self.lift["model"] == (model or self.best_model)) & (self.lift["decile"] == 1)]
        if d.empty:
            return {"share_of_churners": None, "lift": None}
        return {"share_of_churners": float(d["share_of_churners"].iloc[0]), "lift": float(d["lift"].iloc[0])}


def run_contractual(
    customers: pd.DataFrame,
    *,
    churn_column: str = "Churn",
    positive: str = "Yes",
    models: Sequence[str] = SUPERVISED_MODELS,
    test_size: float = 0.3,
    random_state: int = 42,
    permutation_repeats: int = 10,
    id_column: str = "account_id",
    n_threads: int | None = None,
) -> ContractResult:
    """Contractual churn: stratified split, calibrated models, measures and drivers.

    Parameters
    ----------
    customers : pandas.DataFrame
        One row per customer with a churn column (see :func:`prepare_contract_table`).
    churn_column, positive : str
        The label column and the value meaning "churned".
    models : sequence of str
        Supervised models to fit (BG/NBD names are ignored: there are no purchase histories).
    test_size : float
        Share of customers held out (stratified by the label).
    random_state : int
        Seed.
    permutation_repeats : int
        Shuffles per column for the drivers (columns of the table, not one-hot levels).
    id_column : str
        Identifier column, left out.
    n_threads : int, optional
        See :func:`ecrm_lib.value.churn.native_threads`.

    Returns
    -------
    ContractResult
    """
    from sklearn.model_selection import train_test_split

    sup = [m for m in check_models(models) if m in SUPERVISED_MODELS] or list(SUPERVISED_MODELS)
    X, y, numeric, categorical = prepare_contract_table(customers, churn_column=churn_column, positive=positive, id_column=id_column)
    if min(int(y.sum()), int((1 - y).sum())) < 10:
        n1, n0 = int(y.sum()), int((1 - y).sum())
        raise ChurnDataError(key="churn.error.contract_too_few",
                             values={"churned": lambda: count_text(n1), "stayed": lambda: count_text(n0), "m": 10})
    X_tr, X_te, y_tr, y_te = train_test_split(X, y, test_size=test_size, random_state=random_state, stratify=y)
    fitted, scores = {}, {}
    with native_threads(len(X_tr), n_threads):
        for m in sup:
            est = make_model(m, y_tr, random_state=random_state, preprocessor=_contract_preprocessor(numeric, categorical))
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", category=UserWarning)
                est.fit(X_tr, y_tr)
            fitted[m], scores[m] = est, est.predict_proba(X_te)[:, 1]
    metrics = evaluate_scores(y_te, scores)
    labels = {c: c for c in X.columns}
    with native_threads(len(X_te), n_threads):
        drivers = permutation_drivers(fitted, X_te, y_te, n_repeats=permutation_repeats, random_state=random_state, labels=labels)
    return ContractResult(
        n_customers=len(X),
        n_train=len(X_tr),
        n_test=len(X_te),
        churn_rate=float(y.mean()),
        metrics=metrics,
        roc=roc_curve_table(y_te, scores),
        lift=pd.concat(
            [lift_by_decile(y_te, s, random_state=random_state).assign(model=m, label=MODEL_LABELS[m]) for m, s in scores.items()],
            ignore_index=True,
        ),
        calibration=pd.concat(
            [calibration_table(y_te, s).assign(model=m, label=MODEL_LABELS[m]) for m, s in scores.items()], ignore_index=True
        ),
        importance=drivers,
        best_model=choose_model(metrics),
        by_tenure=churn_by_tenure(customers, churn_column=churn_column, positive=positive),
        numeric=numeric,
        categorical=categorical,
    )
