"""Trends of the headline figures across the runs of one config, comparing like with like.

Some figures depend on a method the run chose: customer value on the purchase
model with the lowest holdout error (customer_value ``best_model``: BG/NBD,
Pareto/NBD or MBG/NBD), churn model quality on the chosen churn model (churn
``best_model``), and the evaluation and expansion values on those.
:data:`METHOD_DEPENDENT` lists them with the metric(s) that record the method.
:func:`collect_trends` reads the method of each run, and a change between two
runs whose method differs (or was not recorded) is **not computed**: the row
says "method changed (MBG/NBD -> Pareto/NBD)". Where both runs also recorded
the figure under one and the same model (customer_value
``total_clv_<model>``, ``top20_value_share_<model>``, ``mean_p_alive_<model>``,
:func:`figures_by_model`; churn ``auc_<model>``), :func:`trend_table` adds the
like-for-like row: both runs by the latest run's model (refitted on each run's
data), with its change. Changes are computed on the unrounded values and then
rounded for display, at the precision of the values (:func:`format_change`),
so a change can differ by one in its last digit from the difference of the
two rounded values shown (:data:`ROUNDING_NOTE`).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ecrm_lib.core.dates import as_date
from ecrm_lib.core.format import as_number, format_change, format_date, format_value
from ecrm_lib.core.i18n import has, t

__all__ = ["CLV_MODELS", "CHURN_MODELS", "METHOD_LABELS", "METHOD_KINDS", "MethodDependence", "METHOD_DEPENDENT",
           "BY_MODEL_FIGURES", "BY_MODEL_METRICS", "method_label", "figures_by_model", "collect_trends",
           "TREND_COLUMNS", "trend_table", "trend_notes", "DEFAULT_TREND_METRICS", "INTERVALS"]


DEFAULT_TREND_METRICS = (
    "customer_value.total_clv",
    "customer_value.top20_value_share",
    "churn.churn_rate_validation",
    "channel_integration.cost_to_serve_total",
    "selection.n_targets",
    "feedback.nps",
)
"""``notebook.key`` of the metrics drawn as trends by default."""

INTERVALS = {
    "feedback.nps": ("nps_ci_low", "nps_ci_high"),
    "customer_value.total_clv": ("total_clv_low", "total_clv_high"),
    "feedback.response_uplift": ("response_uplift_ci_low", "response_uplift_ci_high"),
}
"""Trend metrics recorded with an interval: ``{metric: (low key, high key)}`` of the same notebook."""



# ------------------------------------------------------- methods behind figures
CLV_MODELS: tuple[str, ...] = ("bgnbd", "pareto", "mbgnbd")
"""Purchase models of the customer-value report (:data:`ecrm_lib.value.clv.MODELS`)."""


CHURN_MODELS: tuple[str, ...] = ("logistic", "gradient_boosting", "p_alive", "bgnbd_window")
"""Churn models whose held-out ROC-AUC the churn report records as ``auc_<model>``."""


METHOD_LABELS: dict[str, str] = {
    "bgnbd": "BG/NBD", "pareto": "Pareto/NBD", "mbgnbd": "MBG/NBD",
    "logistic": "logistic regression", "gradient_boosting": "gradient boosting",
    "p_alive": "BG/NBD 1 - P(alive)", "bgnbd_window": "BG/NBD P(no purchase in window)",
}
"""Display names of the methods a run can choose in English (codes not listed are shown as they are);
:func:`method_label` words them in the report language (``trends.method.<code>`` where the catalogue has one)."""


METHOD_KINDS: dict[str, str] = {"customer_value.best_model": "CLV model", "churn.best_model": "churn model"}
"""What each method-recording metric chooses, for figures that depend on more than one method (English;
``trends.kind.<notebook>`` in the report language)."""


def _kind(name: str) -> str:
    nb = name.split(".")[0]
    return t(f"trends.kind.{nb}") if has(f"trends.kind.{nb}") else METHOD_KINDS.get(name, name)


@dataclass(frozen=True)
class MethodDependence:
    """How a figure depends on a method the run chose.

    Attributes
    ----------
    methods : tuple of str
        ``notebook.key`` of the metric(s) recording the chosen method(s).
    per_method : mapping
        ``{method: "notebook.key"}`` of the same figure computed with each method
        of ``methods[0]`` whichever was chosen (empty when not recorded): what a
        like-for-like trend compares.
    """

    methods: tuple[str, ...]
    per_method: Mapping[str, str] = field(default_factory=dict)


def _per_method(template: str, codes: Iterable[str]) -> dict[str, str]:
    return {c: template.format(method=c) for c in codes}


_CLV = ("customer_value.best_model",)


_CLV_CHURN = ("customer_value.best_model", "churn.best_model")


METHOD_DEPENDENT: dict[str, MethodDependence] = {
    "customer_value.total_clv": MethodDependence(_CLV, _per_method("customer_value.total_clv_{method}", CLV_MODELS)),
    "customer_value.top20_value_share": MethodDependence(
        _CLV, _per_method("customer_value.top20_value_share_{method}", CLV_MODELS)),
    "customer_value.mean_p_alive": MethodDependence(_CLV, _per_method("customer_value.mean_p_alive_{method}", CLV_MODELS)),
    "customer_value.total_clv_low": MethodDependence(_CLV),
    "customer_value.total_clv_high": MethodDependence(_CLV),
    "customer_value.holdout_error_total_pct": MethodDependence(_CLV),
    "customer_value.holdout_mae": MethodDependence(_CLV),
    "churn.best_auc": MethodDependence(("churn.best_model",), _per_method("churn.auc_{method}", CHURN_MODELS)),
    "churn.pr_auc_best": MethodDependence(("churn.best_model",)),
    "churn.top_decile_lift": MethodDependence(("churn.best_model",)),
    "evaluation.gini_clv": MethodDependence(_CLV),
    # the targets are chosen by a rule over CLV tier and churn risk: their value depends on both models
    "evaluation.target_value_share": MethodDependence(_CLV_CHURN),
    "evaluation.target_net_value": MethodDependence(_CLV_CHURN),
    "evaluation.share_unprofitable_targets": MethodDependence(_CLV_CHURN),
    "expansion.expansion_value": MethodDependence(_CLV_CHURN),
    "expansion.expansion_value_low": MethodDependence(_CLV_CHURN),
    "expansion.expansion_value_high": MethodDependence(_CLV_CHURN),
}
"""Figures whose value depends on a method the run chose (``notebook.key`` -> how).

Counts, rates measured on the data (e.g. the churn rate in the held-out
window), costs and survey scores do not depend on a chosen model and are not
listed."""


BY_MODEL_FIGURES: dict[str, tuple[str, str]] = {
    "total_clv": ("predicted discounted margin of all customers over the horizon", "config currency"),
    "top20_value_share": ("share of total predicted value held by the top 20 % of customers", "share 0-1"),
    "mean_p_alive": ("mean probability that a customer is still active", "share 0-1"),
}
"""Customer-value figures recorded once per purchase model (``<key>_<model>``), for like-for-like trends."""


BY_MODEL_METRICS: dict[str, str] = {
    f"{key}_{model}": (f"{key} with {METHOD_LABELS[model]} refitted on all data whichever model was chosen, so that "
                       f"trends compare like with like; null when {METHOD_LABELS[model]} is not among the models or "
                       f"its fit fails ({unit})")
    for key, (desc, unit) in BY_MODEL_FIGURES.items() for model in CLV_MODELS
}
"""The registry meanings of the per-model customer-value metrics (``key -> meaning (unit)``)."""


def method_label(code: Any) -> str:
    """The display name of a method code in the report language: ``"pareto"`` -> ``"Pareto/NBD"``; None -> "not recorded".

    >>> from ecrm_lib.core.language import using
    >>> method_label("logistic"), method_label(None)
    ('logistic regression', 'not recorded')
    >>> with using("ko"):
    ...     method_label("logistic"), method_label(None), method_label("pareto")
    ('로지스틱 회귀', '기록 없음', 'Pareto/NBD')
    """
    if code is None or (isinstance(code, float) and math.isnan(code)) or code in ("", "?"):
        return t("trends.not_recorded")
    key = f"trends.method.{code}"
    return t(key) if has(key) else METHOD_LABELS.get(str(code), str(code))


def figures_by_model(
    analysis: Any,
    models: Iterable[str],
    *,
    margin: float,
    annual_discount_rate: float,
    penalizer_coef: float = 0.0,
    currency: str = "",
) -> list[tuple[str, Any, str, str]]:
    """The customer-value figures under every purchase model, for like-for-like trends.

    The chosen model's figures are those of the analysis; each other model in
    ``models`` is refitted on all data (:func:`ecrm_lib.value.clv.fit_btyd`, BG/NBD
    reused when the analysis fitted it) and valued with the analysis's
    Gamma-Gamma spend model, horizon, ``margin`` and discount rate, exactly as
    the chosen model is.

    Parameters
    ----------
    analysis : ecrm_lib.value.clv.CustomerValueAnalysis
        The customer-value report's analysis.
    models : iterable of str
        Models of the report (its ``models`` parameter); others are recorded as None.
    margin : float
        Share of spend kept as profit (0-1], as passed to the analysis.
    annual_discount_rate : float
        Share per year, as passed to the analysis.
    penalizer_coef : float
        L2 penalty of the refits, as passed to the analysis.
    currency : str
        Config currency (the unit of the CLV records).

    Returns
    -------
    list of (key, value, description, unit)
        One record per key of :data:`BY_MODEL_METRICS`, for
        :meth:`ecrm_lib.run.context.RunContext.record_metric`; values are None for
        a model not in ``models``, whose fit fails, or without a spend model.
    """
    from ecrm_lib.value import clv

    models = [m for m in dict.fromkeys(models) if m in CLV_MODELS]
    values: dict[str, dict[str, float | None]] = {m: {} for m in CLV_MODELS}
    summ = analysis.summary
    for m in models:
        if m == analysis.best_model:
            fit = analysis.final_fit
        elif m == "bgnbd" and analysis.bgnbd_fit is not None:
            fit = analysis.bgnbd_fit
        else:
            try:
                fit = clv.fit_btyd(summ, m, penalizer_coef=penalizer_coef, time_unit=analysis.time_unit)
            except clv.ModelFitError:
                continue
        p_alive = clv.probability_alive(fit, summ)
        values[m]["mean_p_alive"] = float(p_alive.mean())
        if analysis.gg is None:
            continue
        v = clv.customer_value(summ, fit, analysis.gg, horizon=analysis.horizon, margin=margin,
                               annual_discount_rate=annual_discount_rate)["clv"]
        conc = clv.value_concentration(v)
        top20 = conc.loc[np.isclose(conc["top_share"], 0.2), "value_share"]
        values[m]["total_clv"] = float(v.sum())
        values[m]["top20_value_share"] = float(top20.iloc[0]) if len(top20) else None
    out = []
    for key, (desc, unit) in BY_MODEL_FIGURES.items():
        for m in CLV_MODELS:
            u = currency if "currency" in unit else "share"
            out.append((f"{key}_{m}", values[m].get(key), f"{desc}, {METHOD_LABELS[m]} (like-for-like trends)", u))
    return out


def _methods_of(metrics: Mapping[str, Mapping[str, Any]], dep: MethodDependence | None) -> tuple[str | None, ...] | None:
    """The codes of the methods behind a figure in one run (None per method not recorded); None when method-free."""
    if dep is None:
        return None
    out = []
    for name in dep.methods:
        nb, key = name.split(".")
        v = (metrics.get(nb) or {}).get(key)
        out.append(None if v is None or v == "" or (isinstance(v, float) and math.isnan(v)) else str(v))
    return tuple(out)


def _describe_methods(codes: tuple[str | None, ...] | None, dep: MethodDependence | None) -> str:
    """``"Pareto/NBD"``; with several methods ``"CLV model Pareto/NBD, churn model logistic regression"``."""
    if codes is None or dep is None:
        return ""
    if len(codes) == 1:
        return method_label(codes[0])
    return ", ".join(t("trends.kind_method", kind=_kind(n), method=method_label(c)) for n, c in zip(dep.methods, codes))


def _describe_change(before: tuple[str | None, ...], after: tuple[str | None, ...], dep: MethodDependence) -> str:
    """``"MBG/NBD -> Pareto/NBD"`` (only the methods that differ; a kind prefix with several)."""
    parts = []
    for n, b, a in zip(dep.methods, before, after):
        if b is None or a is None or b != a:
            text = f"{method_label(b)} -> {method_label(a)}"
            parts.append(text if len(dep.methods) == 1 else t("trends.kind_method", kind=_kind(n), method=text))
    return "; ".join(parts)


# ------------------------------------------------------------------ trends
def collect_trends(
    runs: Sequence[tuple[Any, Mapping[str, Mapping[str, Any]]]],
    wanted: Iterable[str] = DEFAULT_TREND_METRICS,
    method_dependent: Mapping[str, MethodDependence] | None = None,
) -> pd.DataFrame:
    """The chosen metrics across runs: one row per as-of date and metric, with the method behind each.

    Parameters
    ----------
    runs : sequence of (as_of, metrics)
        Earlier runs and this one, each with ``{notebook: {key: value}}``; any order.
    wanted : iterable of str
        ``"notebook.key"`` names.
    method_dependent : mapping, optional
        Figures that depend on a chosen method (default :data:`METHOD_DEPENDENT`).

    Returns
    -------
    DataFrame
        ``as_of`` (date), ``metric`` (``notebook.key``), ``notebook``, ``key``,
        ``value`` (float), ``low`` and ``high`` (its interval where the run
        recorded one, :data:`INTERVALS`; NaN otherwise), ``method`` (the codes of the method(s) behind the
        value joined by ``" + "``, ``"?"`` for one not recorded; None for a
        figure that depends on no chosen method), ``method_label`` (display
        name; "" when method-free), ``by_method`` (``{method: value}`` of the
        same figure under each method the run recorded it for; empty when not
        recorded), ``change`` (vs the previous as-of date that has the metric;
        NaN for the first, and NaN when the two runs' methods differ or one
        was not recorded), ``change_pct`` (100 * change / |previous|, NaN when
        the previous value is 0) and ``method_change`` (e.g. ``"MBG/NBD ->
        Pareto/NBD"`` when the method differs from the previous run's; "" when
        it does not). Runs without a value are left out.

    Examples
    --------
    >>> t = collect_trends([("2025-06-30", {"feedback": {"nps": 12}}), ("2024-12-30", {"feedback": {"nps": 8}})], ["feedback.nps"])
    >>> [(str(d), v, c) for d, v, c in zip(t["as_of"], t["value"], t["change"])]
    [('2024-12-30', 8.0, nan), ('2025-06-30', 12.0, 4.0)]
    >>> t = collect_trends([("2024-12-30", {"customer_value": {"total_clv": 42.7, "best_model": "mbgnbd"}}),
    ...                     ("2025-06-30", {"customer_value": {"total_clv": 38.2, "best_model": "pareto"}})],
    ...                    ["customer_value.total_clv"])
    >>> t[["method", "change", "method_change"]].values.tolist()
    [['mbgnbd', nan, ''], ['pareto', nan, 'MBG/NBD -> Pareto/NBD']]
    """
    wanted = list(wanted)
    deps = METHOD_DEPENDENT if method_dependent is None else method_dependent
    bad = [w for w in wanted if w.count(".") != 1]
    if bad:
        raise ValueError(f"trend metrics must be written notebook.key (e.g. 'churn.best_auc'), but {bad} was passed.")
    rows = []
    for as_of, metrics in runs:
        day = as_date(as_of, "as_of")
        for w in wanted:
            nb, key = w.split(".")
            x = as_number((metrics.get(nb) or {}).get(key))
            if x is None:
                continue
            dep = deps.get(w)
            codes = _methods_of(metrics, dep)
            by = {}
            if dep is not None:
                for code, name in dep.per_method.items():
                    pnb, pkey = name.split(".")
                    y = as_number((metrics.get(pnb) or {}).get(pkey))
                    if y is not None:
                        by[code] = y
            lo_key, hi_key = INTERVALS.get(w, (None, None))
            low = as_number((metrics.get(nb) or {}).get(lo_key)) if lo_key else None
            high = as_number((metrics.get(nb) or {}).get(hi_key)) if hi_key else None
            rows.append({"as_of": day, "metric": w, "notebook": nb, "key": key, "value": x,
                         "low": math.nan if low is None else low, "high": math.nan if high is None else high,
                         "method": None if codes is None else " + ".join(c or "?" for c in codes),
                         "method_label": _describe_methods(codes, dep), "by_method": by, "_codes": codes})
    cols = ["as_of", "metric", "notebook", "key", "value", "low", "high", "method", "method_label", "by_method", "_codes"]
    out = pd.DataFrame(rows, columns=cols)
    out = out.sort_values(["metric", "as_of"], kind="stable").drop_duplicates(["metric", "as_of"], keep="last")
    out = out.reset_index(drop=True)
    prev = out.groupby("metric")["value"].shift(1)
    prev_codes = out.groupby("metric")["_codes"].shift(1)
    first = out.groupby("metric").cumcount() == 0
    change, method_change = [], []
    for i, row in out.iterrows():
        dep = deps.get(row["metric"])
        if first.iloc[i]:
            change.append(math.nan), method_change.append("")
            continue
        before, after = prev_codes.iloc[i], row["_codes"]
        same = dep is None or (None not in before and None not in after and before == after)
        change.append(row["value"] - prev.iloc[i] if same else math.nan)
        method_change.append("" if same else _describe_change(before, after, dep))
    out["change"] = pd.Series(change, index=out.index, dtype=float)
    out["change_pct"] = (100 * out["change"] / prev.abs().where(prev != 0)).astype(float)
    out["method_change"] = pd.Series(method_change, index=out.index, dtype=object)
    order = {w: i for i, w in enumerate(wanted)}
    out = out.assign(_o=out["metric"].map(order)).sort_values(["as_of", "_o"], kind="stable").drop(columns=["_o", "_codes"])
    return out.reset_index(drop=True)


TREND_COLUMNS = ["figure", "method", "earlier as of", "earlier", "latest as of", "latest", "change"]
"""The columns of :func:`trend_table` shown on the page (the others are for prose)."""


def trend_table(trends: pd.DataFrame, table: pd.DataFrame, currency: str = "") -> pd.DataFrame:
    """Each trend metric's value in the previous run that has it and in the latest, with the change.

    A change is computed only between runs whose figure comes from the same
    method (:func:`collect_trends`); otherwise the row reads "method changed
    (MBG/NBD -> Pareto/NBD)", the values name their method and the change is
    "not computed". When both runs recorded the figure under one and the same
    model, a like-for-like row follows: both runs by the latest run's model (or
    else by the earlier run's), with its change.

    Parameters
    ----------
    trends : DataFrame
        From :func:`collect_trends`.
    table : DataFrame
        From :func:`headline_table` (for labels and units); metrics not in it
        are labelled ``notebook.key`` without a unit.
    currency : str
        Config currency.

    Returns
    -------
    DataFrame
        :data:`TREND_COLUMNS` (``figure``, ``method`` (the method behind the
        figure, "" when it depends on none), ``earlier as of``, ``earlier``,
        ``latest as of``, ``latest``, ``change``; all text, formatted by unit,
        the change by :func:`format_change` from the unrounded values), then
        ``metric``, ``basis`` ("chosen": each run's own figure; "same model":
        the like-for-like row), ``method_change`` (e.g. "MBG/NBD -> Pareto/NBD",
        "" when unchanged) and ``change_value`` (float, NaN when not
        computed). One row per metric with at least two runs, plus its
        like-for-like row.

    Examples
    --------
    >>> trends = collect_trends(
    ...     [("2024-12-30", {"customer_value": {"top20_value_share": 0.648, "best_model": "mbgnbd",
    ...                                         "top20_value_share_pareto": 0.699}}),
    ...      ("2025-06-30", {"customer_value": {"top20_value_share": 0.775, "best_model": "pareto",
    ...                                         "top20_value_share_pareto": 0.775}})],
    ...     ["customer_value.top20_value_share"])
    >>> labels = pd.DataFrame({"notebook": ["customer_value"], "key": ["top20_value_share"], "figure": ["Top 20 %"],
    ...                        "unit": ["share 0-1"]})
    >>> t = trend_table(trends, labels)
    >>> t[["figure", "earlier", "latest", "change"]].values.tolist()
    [['Top 20 %', '64.8% (MBG/NBD)', '77.5% (Pareto/NBD)', 'not computed: the method changed'], ['Top 20 %, Pareto/NBD in both runs', '69.9%', '77.5%', '+7.6 points']]
    >>> t["method"].tolist()[0]
    'method changed (MBG/NBD -> Pareto/NBD)'
    """
    info = {f"{n}.{k}": (f, u) for n, k, f, u in zip(table["notebook"], table["key"], table["figure"], table["unit"])}

    def codes(row) -> tuple[str | None, ...] | None:
        m = row.get("method")
        if m is None or (isinstance(m, float) and math.isnan(m)):
            return None
        return tuple(None if c == "?" else c for c in str(m).split(" + "))

    def label(row) -> str:  # the method behind a value, in the report language (collect_trends's is the kernel's)
        dep = METHOD_DEPENDENT.get(row["metric"])
        c = codes(row)
        if c is None:
            return ""
        if dep is None or len(dep.methods) != len(c):
            return " + ".join(method_label(x) for x in c)
        return _describe_methods(c, dep)

    def change_words(prev, last, fallback: str) -> str:
        dep, before, after = METHOD_DEPENDENT.get(last["metric"]), codes(prev), codes(last)
        if dep is None or before is None or after is None or len(before) != len(dep.methods) or len(after) != len(dep.methods):
            return fallback
        return _describe_change(before, after, dep)

    rows = []
    for metric, d in trends.groupby("metric", sort=False):
        if len(d) < 2:
            continue
        d = d.sort_values("as_of")
        name, unit = info.get(metric, (metric, ""))
        prev, last = d.iloc[-2], d.iloc[-1]
        mchange = str(last.get("method_change", "") or "")
        base = {"figure": name, "earlier as of": format_date(prev["as_of"]), "latest as of": format_date(last["as_of"]),
                "metric": metric}
        if not mchange:
            change = float(last["value"] - prev["value"])
            rows.append({**base, "method": label(last),
                         "earlier": format_value(prev["value"], unit, currency),
                         "latest": format_value(last["value"], unit, currency),
                         "change": format_change(change, unit, currency), "basis": "chosen", "method_change": "",
                         "change_value": change, "method_unknown": False})
            continue
        unknown = "?" in str(prev.get("method")) or "?" in str(last.get("method"))
        mchange = change_words(prev, last, mchange)
        rows.append({**base, "method": t("trends.method_not_recorded" if unknown else "trends.method_changed", change=mchange),
                     "earlier": t("trends.value_method", value=format_value(prev["value"], unit, currency), method=label(prev)),
                     "latest": t("trends.value_method", value=format_value(last["value"], unit, currency), method=label(last)),
                     "change": t("trends.not_computed_unrecorded" if unknown else "trends.not_computed_changed"),
                     "basis": "chosen", "method_change": mchange, "change_value": math.nan, "method_unknown": unknown})
        bp, bl = dict(prev.get("by_method") or {}), dict(last.get("by_method") or {})
        candidates = [str(x).split(" + ")[0] for x in (last.get("method"), prev.get("method")) if x]
        code = next((c for c in candidates if c in bp and c in bl), None)
        if code is not None:
            change = float(bl[code] - bp[code])
            rows.append({**base, "figure": t("trends.same_model_figure", figure=name, method=method_label(code)),
                         "method": t("trends.same_model_method", method=method_label(code)),
                         "earlier": format_value(bp[code], unit, currency), "latest": format_value(bl[code], unit, currency),
                         "change": format_change(change, unit, currency), "basis": "same model",
                         "method_change": mchange, "change_value": change, "method_unknown": unknown})
    cols = TREND_COLUMNS + ["metric", "basis", "method_change", "change_value", "method_unknown"]
    out = pd.DataFrame(rows, columns=cols)
    out["change_value"] = out["change_value"].astype(float)
    out["method_unknown"] = out["method_unknown"].fillna(False).astype(bool)
    return out


def trend_notes(changes: pd.DataFrame) -> list[str]:
    """Plain sentences on the trends whose method changed, for the page (empty when none did).

    Parameters
    ----------
    changes : DataFrame
        From :func:`trend_table`.

    Returns
    -------
    list of str
        Plain text (no markup): which figures' changes are not computed and
        why, then their like-for-like changes where recorded.

    Examples
    --------
    >>> t = pd.DataFrame({"figure": ["CLV", "CLV, Pareto/NBD in both runs"], "metric": ["customer_value.total_clv"] * 2,
    ...                   "earlier as of": ["2024-12-30"] * 2,
    ...                   "latest as of": ["2025-06-30"] * 2, "earlier": ["42.7 million KRW (MBG/NBD)", "45.0 million KRW"],
    ...                   "latest": ["38.2 million KRW (Pareto/NBD)", "38.2 million KRW"],
    ...                   "change": ["not computed: the method changed", "-6.8 million KRW"],
    ...                   "basis": ["chosen", "same model"], "method_change": ["MBG/NBD -> Pareto/NBD"] * 2,
    ...                   "method": ["method changed (MBG/NBD -> Pareto/NBD)", "Pareto/NBD in both runs (refitted on each run's data)"]})
    >>> for line in trend_notes(t):
    ...     print(line)
    \u201cCLV\u201d: method changed (MBG/NBD -> Pareto/NBD) between the runs of 2024-12-30 and 2025-06-30, so the change is not computed (it would mix a change among the customers with the change of method).
    Compared like with like, Pareto/NBD in both runs (refitted on each run's data): \u201cCLV\u201d moved from 45.0 million KRW to 38.2 million KRW (-6.8 million KRW).
    """
    if changes is None or changes.empty:
        return []
    out = []
    changed = changes.loc[(changes["basis"] == "chosen") & (changes["method_change"] != "")]
    for (before, after, mc), part in changed.groupby(["earlier as of", "latest as of", "method_change"], sort=False):
        unknown = (part["method_unknown"].astype(bool).any() if "method_unknown" in part
                   else part["method"].str.startswith("method not recorded").any())
        names = [t("trends.quoted", name=f) for f in part["figure"]]
        names = names[0] if len(names) == 1 else t("trends.and", first=", ".join(names[:-1]), last=names[-1])
        what = t("trends.method_not_recorded" if unknown else "trends.method_changed", change=mc)
        out.append(t("trends.note_changed", names=names, what=what, before=before, after=after))
        same = changes.loc[(changes["basis"] == "same model") & changes["metric"].isin(part["metric"])
                           & (changes["earlier as of"] == before) & (changes["latest as of"] == after)]
        label = dict(zip(part["metric"], part["figure"]))
        if len(same):
            how = same["method"].iloc[0]
            out.append(t("trends.note_same", how=how, moves="; ".join(
                t("trends.note_move", name=t("trends.quoted", name=label[r["metric"]]), earlier=r["earlier"],
                  latest=r["latest"], change=r["change"]) for _, r in same.iterrows())))
        else:
            out.append(t("trends.note_no_same"))
    return out
