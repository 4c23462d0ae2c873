"""SEEF 2, Evaluation: what the targets are worth.

Works on the per-customer table of :func:`ecrm_lib.seef.customers.customer_view`
(every customer of the Selection product with ``selected``, CLV and cost to
serve) and a target flag per row (:func:`ecrm_lib.seef.customers.target_flags`).
One function per step of the Evaluation notebook:

- value share: :func:`value_share` (targets, rest, all);
- concentration: :func:`concentration_curve`, :func:`target_concentration`
  (the Lorenz curve and Gini come from :mod:`ecrm_lib.value.concentration`);
- profitability: :func:`cost_window` (the weeks the cost to serve covers),
  :func:`cost_window_check`, :func:`profitability`, :func:`profitability_summary`;
- profile: :func:`profile_features`, :func:`compare_groups`, :func:`clear_differences_text`
  (measures named by :func:`feature_label`);
- changes since the previous run: :func:`previous_targets_today`, :func:`target_changes`.

Examples
--------
>>> c = pd.DataFrame({"customer_id": list("abcd"), "clv": [10.0, 5.0, 3.0, 2.0]})
>>> value_share(c, ["a"])[["group", "customers", "value_share"]].to_numpy().tolist()
[['targets', 1, 0.5], ['rest', 3, 0.5], ['all', 4, 1.0]]
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence

import numpy as np
import pandas as pd

from ecrm_lib.core.format import format_number
from ecrm_lib.core.i18n import has, t
from ecrm_lib.seef.customers import default_features, target_flags
from ecrm_lib.value.concentration import gini, lorenz_curve  # value concentration lives with customer value

__all__ = [
    "clear_differences_text",
    "compare_groups",
    "concentration_curve",
    "cost_window",
    "cost_window_check",
    "exact_money",
    "feature_label",
    "months_to_weeks",
    "previous_targets_today",
    "profile_features",
    "profitability",
    "profitability_summary",
    "target_changes",
    "target_concentration",
    "value_share",
]

def value_share(
    customers: pd.DataFrame,
    selected,
    *,
    id_col: str = "customer_id",
    value_col: str = "clv",
    low_col: str = "clv_low",
    high_col: str = "clv_high",
) -> pd.DataFrame:
    """Share of predicted future value held by the targets.

    Parameters
    ----------
    customers : DataFrame
        Per-customer table with ``value_col`` (currency).
    selected : bool array, collection of ids, or the DataFrame of :func:`select_targets`
        The targets.

    Returns
    -------
    DataFrame
        One row per group (``targets``, ``rest``, ``all``): ``customers``,
        ``customer_share``, ``value`` (sum, currency), ``value_share`` (0-1),
        ``value_per_customer``, and ``value_low`` / ``value_high`` (sums of the
        per-customer bounds, currency) when those columns exist.
    """
    flag = target_flags(customers, selected, id_col)
    v = customers[value_col].astype(float).fillna(0.0).to_numpy()
    total = v.sum()
    rows = []
    for name, m in (("targets", flag), ("rest", ~flag), ("all", np.ones(len(flag), bool))):
        row = {"group": name, "customers": int(m.sum()), "customer_share": m.mean() if len(m) else np.nan,
               "value": float(v[m].sum()), "value_share": float(v[m].sum() / total) if total > 0 else np.nan,
               "value_per_customer": float(v[m].mean()) if m.any() else np.nan}
        for key, col in (("value_low", low_col), ("value_high", high_col)):
            if col in customers:
                row[key] = float(customers.loc[m, col].astype(float).fillna(0.0).sum())
        rows.append(row)
    return pd.DataFrame(rows)


def profitability(
    customers: pd.DataFrame,
    *,
    horizon_weeks: float,
    cost_window_weeks: float,
    id_col: str = "customer_id",
    clv_col: str = "clv",
    cost_col: str = "cost_to_serve",
) -> pd.DataFrame:
    """CLV minus the expected cost to serve over the same horizon.

    The cost to serve observed over ``cost_window_weeks`` is assumed to go on
    at the same weekly rate: ``expected_cost = cost_to_serve * horizon_weeks /
    cost_window_weeks`` (a missing cost counts as 0 and is flagged). Without a
    ``cost_col`` column the expected cost is NaN and net value equals CLV.

    Two simplifications, both on the cautious side for short horizons: the
    cost is not discounted while CLV is (at 10 % a year over 52 weeks the cost
    is overstated by about 5 %), and a customer first seen part-way through the
    cost window is priced at the rate of the whole window (their cost is
    understated by the share of the window before they arrived).

    Parameters
    ----------
    horizon_weeks : float
        Horizon of the CLV (weeks).
    cost_window_weeks : float
        Period over which ``cost_to_serve`` was observed (weeks).

    Returns
    -------
    DataFrame
        ``customer_id``, ``clv``, ``expected_cost`` (currency), ``net_value``
        (currency), ``profitable`` (net value > 0), ``cost_known`` (bool).

    Examples
    --------
    >>> c = pd.DataFrame({"customer_id": ["a", "b"], "clv": [100.0, 50.0], "cost_to_serve": [20.0, 40.0]})
    >>> profitability(c, horizon_weeks=52, cost_window_weeks=26)[["expected_cost", "net_value"]].to_numpy().tolist()
    [[40.0, 60.0], [80.0, -30.0]]
    """
    if not (horizon_weeks > 0 and cost_window_weeks > 0):
        raise ValueError(f"horizon_weeks ({horizon_weeks}) and cost_window_weeks ({cost_window_weeks}) must be positive.")
    clv = customers[clv_col].astype(float).to_numpy()
    out = pd.DataFrame({"customer_id": customers[id_col].to_numpy(), "clv": clv})
    if cost_col in customers:
        cost = customers[cost_col].astype(float)
        out["cost_known"] = cost.notna().to_numpy()
        out["expected_cost"] = cost.fillna(0.0).to_numpy() * (horizon_weeks / cost_window_weeks)
        out["net_value"] = clv - out["expected_cost"].to_numpy()
    else:
        out["cost_known"] = False
        out["expected_cost"] = np.nan
        out["net_value"] = clv
    out["profitable"] = out["net_value"] > 0
    return out[["customer_id", "clv", "expected_cost", "net_value", "profitable", "cost_known"]]


def profitability_summary(profit: pd.DataFrame, selected, *, id_col: str = "customer_id") -> pd.DataFrame:
    """Targets vs the rest after cost to serve.

    Returns
    -------
    DataFrame
        Per group (``targets``, ``rest``, ``all``): ``customers``, ``clv``,
        ``expected_cost``, ``net_value`` (sums, currency) and
        ``share_unprofitable`` (0-1).
    """
    flag = target_flags(profit, selected, id_col)
    rows = []
    for name, m in (("targets", flag), ("rest", ~flag), ("all", np.ones(len(flag), bool))):
        p = profit.loc[m]
        rows.append({"group": name, "customers": int(m.sum()), "clv": float(p["clv"].sum()),
                     "expected_cost": float(p["expected_cost"].sum()), "net_value": float(p["net_value"].sum()),
                     "share_unprofitable": float((~p["profitable"]).mean()) if len(p) else np.nan})
    return pd.DataFrame(rows)


def compare_groups(
    customers: pd.DataFrame,
    selected,
    features: Sequence[str] | None = None,
    *,
    id_col: str = "customer_id",
) -> pd.DataFrame:
    """Profile of the targets against the rest.

    The standardised difference is ``(mean_targets - mean_rest) /
    sqrt((sd_targets^2 + sd_rest^2) / 2)`` (0 when both spreads are 0);
    |d| above about 0.5 is a clear difference.

    Returns
    -------
    DataFrame
        ``feature``, ``median_targets``, ``median_rest``, ``mean_targets``,
        ``mean_rest``, ``std_difference``, sorted by |std_difference|.
    """
    flag = target_flags(customers, selected, id_col)
    features = list(features) if features is not None else default_features(customers, id_col=id_col)
    rows = []
    for f in features:
        x = customers[f].astype(float)
        a, b = x[flag], x[~flag]
        pooled = math.sqrt((np.nanvar(a, ddof=1) if a.count() > 1 else 0.0) / 2 + (np.nanvar(b, ddof=1) if b.count() > 1 else 0.0) / 2)
        d = (a.mean() - b.mean()) / pooled if pooled > 0 else 0.0
        rows.append({"feature": f, "median_targets": a.median(), "median_rest": b.median(),
                     "mean_targets": a.mean(), "mean_rest": b.mean(), "std_difference": float(d)})
    out = pd.DataFrame(rows)
    if len(out):
        out = out.reindex(out["std_difference"].abs().sort_values(ascending=False, kind="stable").index).reset_index(drop=True)
    return out


_CHANNEL_SHARE = re.compile(r"share_(purchases|contacts)_(.+)")


def feature_label(name: object) -> str:
    """A profile measure's name as the page shows it, in the report language (``evaluation.feature.*``).

    Both pages word the suite's column names (no snake_case for a reader, issue 15); channel shares keep
    the channel's name (data). A measure the catalogue does not know (a user's own column) stays as it is.

    >>> from ecrm_lib.core.language import using
    >>> feature_label("f_score"), feature_label("share_contacts_web")
    ('F score (purchase frequency, 1-5)', 'share of contacts: web')
    >>> with using("ko"):
    ...     feature_label("f_score"), feature_label("share_contacts_web"), feature_label("my_column")
    ('F 점수(구매 빈도, 1-5)', 'web 채널 접촉 비중', 'my_column')
    """
    text = str(name)
    if has(f"evaluation.feature.{text}"):
        return t(f"evaluation.feature.{text}")
    m = _CHANNEL_SHARE.fullmatch(text)
    if m:
        return t(f"evaluation.feature.share_{m.group(1)}_channel", channel=m.group(2))
    return text


def clear_differences_text(profile: pd.DataFrame, threshold: float = 0.5, *, max_named: int | None = None) -> str:
    """The sentence naming the clear differences of a profile: every measure with |d| at least ``threshold``.

    Parameters
    ----------
    profile : DataFrame
        :func:`compare_groups` output (``feature``, ``std_difference``).
    threshold : float
        Smallest |standardised difference| that counts as clear (0.5 by convention).
    max_named : int, optional
        Name at most this many (the largest |d| first) and say how many meet
        the bar; None: name every one.

    Returns
    -------
    str
        Plain text (escape it for display, e.g. with :func:`ecrm_lib.report.display.md`).

    Examples
    --------
    >>> p = pd.DataFrame({"feature": ["f", "clv", "T"], "std_difference": [1.234, -0.61, 0.2]})
    >>> clear_differences_text(p)
    '2 measures differ clearly (|d| at least 0.5), largest first: f (d = +1.23), CLV (d = -0.61); d > 0: higher among the targets.'
    >>> clear_differences_text(p, max_named=1)
    '2 measures differ clearly (|d| at least 0.5); the largest: f (d = +1.23); d > 0: higher among the targets.'
    >>> clear_differences_text(p, threshold=2)
    'No measure differs clearly (|d| at least 2): the targets look much like everyone else.'
    """
    d = profile["std_difference"].astype(float)
    big = profile.assign(_a=d.abs()).loc[d.abs() >= threshold].sort_values("_a", ascending=False, kind="stable")
    k = len(big)
    if k == 0:
        return t("evaluation.lib.no_clear_difference", th=f"{threshold:g}")
    shown = big if max_named is None else big.head(int(max_named))
    names = ", ".join(f"{feature_label(f)} (d = {v:+.2f})" for f, v in zip(shown["feature"], shown["std_difference"]))
    head = t("evaluation.lib.clear_one") if k == 1 else t("evaluation.lib.clear_many", k=k)
    if len(shown) < k:
        key = "evaluation.lib.clear_largest_n" if len(shown) > 1 else "evaluation.lib.clear_largest_one"
        return t(key, head=head, th=f"{threshold:g}", shown=len(shown), names=names)
    key = "evaluation.lib.clear_all_sorted" if k > 1 else "evaluation.lib.clear_all"
    return t(key, head=head, th=f"{threshold:g}", names=names)


def target_changes(current, previous, *, id_col: str = "customer_id") -> tuple[pd.DataFrame, pd.DataFrame]:
    """Change since a previous target list: who entered, left, stayed.

    Parameters
    ----------
    current, previous : collection of ids, or DataFrame of :func:`select_targets`
        (its selected rows), or a DataFrame with an ``id_col`` column (all rows).

    Returns
    -------
    (DataFrame, DataFrame)
        Per customer: ``customer_id``, ``status`` (``entered``, ``left``,
        ``stayed``), sorted by status then id; and the counts: ``status``,
        ``customers``, in the order entered, left, stayed (zeros included).

    Examples
    --------
    >>> detail, counts = target_changes(["a", "b", "c"], ["b", "c", "d"])
    >>> counts.to_dict("records")
    [{'status': 'entered', 'customers': 1}, {'status': 'left', 'customers': 1}, {'status': 'stayed', 'customers': 2}]
    """
    def ids(x) -> set:
        if isinstance(x, pd.DataFrame):
            if "selected" in x:
                x = x.loc[x["selected"].astype(bool)]
            return set(x[id_col].dropna())
        return set(pd.Series(list(x)).dropna())

    cur, prev = ids(current), ids(previous)
    groups = {"entered": sorted(cur - prev, key=str), "left": sorted(prev - cur, key=str), "stayed": sorted(cur & prev, key=str)}
    detail = pd.DataFrame([(i, s) for s, lst in groups.items() for i in lst], columns=["customer_id", "status"])
    counts = pd.DataFrame({"status": list(groups), "customers": [len(v) for v in groups.values()]})
    return detail, counts




def concentration_curve(values, points: int = 201) -> pd.DataFrame:
    """Value concentration from the top: the share of total value held by the highest-value customers.

    The Lorenz curve read from the other end: ``value_share`` at
    ``customer_share`` x is ``1 - L(1 - x)``, the share held by the ``x``
    highest-value customers (missing values left out, negatives as 0).

    Returns
    -------
    DataFrame
        ``customer_share``, ``value_share`` (both 0-1).

    Examples
    --------
    >>> concentration_curve([1.0, 1.0, 2.0], points=4).round(3)["value_share"].tolist()
    [0.0, 0.5, 0.75, 1.0]
    """
    lor = lorenz_curve(values, points=points)
    x = lor["customer_share"].to_numpy()
    top = 1.0 - np.interp(1.0 - x, x, lor["value_share"].to_numpy())
    return pd.DataFrame({"customer_share": x, "value_share": np.clip(top, 0.0, 1.0)})


def target_concentration(customers: pd.DataFrame, selected, *, id_col: str = "customer_id", value_col: str = "clv") -> dict:
    """Where the targets sit on the value concentration curve.

    Returns
    -------
    dict
        ``targets`` (customers), ``customer_share`` and ``value_share`` of the
        targets (0-1), ``best_value_share`` (the share the same number of
        highest-value customers holds: the most any group of that size can
        hold), ``capture`` (value_share over best_value_share, 0-1) and
        ``gini`` of all customers' values.

    Examples
    --------
    >>> c = pd.DataFrame({"customer_id": list("abcd"), "clv": [10.0, 5.0, 3.0, 2.0]})
    >>> r = target_concentration(c, ["a", "c"])
    >>> round(r["value_share"], 2), round(r["best_value_share"], 2), round(r["capture"], 3)
    (0.65, 0.75, 0.867)
    """
    flag = target_flags(customers, selected, id_col)
    v = np.clip(customers[value_col].astype(float).fillna(0.0).to_numpy(), 0.0, None)
    total = v.sum()
    k = int(flag.sum())
    share = float(v[flag].sum() / total) if total > 0 else np.nan
    best = float(np.sort(v)[::-1][:k].sum() / total) if total > 0 else np.nan
    return {"targets": k, "customer_share": k / len(v) if len(v) else np.nan, "value_share": share,
            "best_value_share": best, "capture": share / best if best and best > 0 else np.nan,
            "gini": gini(customers[value_col].astype(float).to_numpy())}


def previous_targets_today(previous_targets, bridge: pd.DataFrame | None = None, *, id_col: str = "customer_id") -> pd.DataFrame:
    """The previous run's targets under today's customer ids.

    Customer ids hash a customer's set of accounts, so a customer who gained
    or lost an account since the previous run has another id today. The
    ``bridge`` (from :func:`ecrm_lib.seef.loop.bridge_customer_ids`: one row per
    earlier customer with ``earlier_customer_id`` and today's ``customer_id``)
    translates them; ids without a bridge row are kept as they are, and
    earlier customers whose accounts are all gone today (``customer_id`` NA)
    keep their earlier id (they count as having left).

    Parameters
    ----------
    previous_targets : collection of ids, or DataFrame with ``id_col``
        (only its ``selected`` rows when it has that column).
    bridge : DataFrame, optional
        ``earlier_customer_id``, ``customer_id``; None: ids compared as they are.

    Returns
    -------
    DataFrame
        ``earlier_customer_id``, ``customer_id`` (today's id), ``bridged``
        (True when the id changed through the bridge); one row per previous
        target, duplicates of today's id removed (two earlier customers
        merged into one count once).

    Examples
    --------
    >>> b = pd.DataFrame({"earlier_customer_id": ["x", "y"], "customer_id": ["x", "z"]})
    >>> previous_targets_today(["x", "y", "w"], b)["customer_id"].tolist()
    ['w', 'x', 'z']
    """
    if isinstance(previous_targets, pd.DataFrame):
        p = previous_targets
        if "selected" in p:
            p = p.loc[p["selected"].astype(bool)]
        ids = p[id_col]
    else:
        ids = pd.Series(list(previous_targets))
    earlier = pd.Series(ids.dropna().astype("string").unique(), dtype="string")
    today = earlier.copy()
    if bridge is not None and len(bridge):
        for col in ("earlier_customer_id", "customer_id"):
            if col not in bridge:
                raise ValueError(f"bridge lacks {col!r}; pass the result of ecrm_lib.seef.loop.bridge_customer_ids.")
        b = bridge.dropna(subset=["customer_id"]).astype({"earlier_customer_id": "string", "customer_id": "string"})
        m = dict(zip(b["earlier_customer_id"], b["customer_id"]))
        today = earlier.map(lambda i: m.get(i, i)).astype("string")
    out = pd.DataFrame({"earlier_customer_id": earlier, "customer_id": today})
    out["bridged"] = (out["earlier_customer_id"] != out["customer_id"]).astype(bool)
    return out.drop_duplicates("customer_id").sort_values("customer_id", kind="stable").reset_index(drop=True)


def profile_features(customers: pd.DataFrame, *, id_col: str = "customer_id", exclude: Sequence[str] = ()) -> list[str]:
    """Behaviour features for the targets-vs-rest profile: :func:`default_features` without labels.

    Leaves out the selection's own bookkeeping and codes that are labels, not
    quantities (``cluster``, ``risk_decile``, ``r_score``/``f_score``/``m_score``
    are kept: they are ordered scores), and the interval bounds of CLV
    (``clv_low``, ``clv_high``: the same information as ``clv``).
    """
    return default_features(customers, id_col=id_col, exclude=("cluster", "clv_low", "clv_high", "model", *exclude))




def months_to_weeks(months: float) -> float:
    """Calendar months in weeks (52 weeks a year): ``months * 52 / 12``.

    >>> months_to_weeks(12), months_to_weeks(6)
    (52.0, 26.0)
    """
    return float(months) * 52.0 / 12.0


def cost_window(override_weeks: float | None = None, channel_window_months: float | None = None) -> tuple[float, str]:
    """Weeks covered by the ``cost_to_serve`` of ``customer_channels``, and where that figure comes from.

    Parameters
    ----------
    override_weeks : float, optional
        The evaluation's ``cost_window_weeks`` parameter; wins when given.
    channel_window_months : float, optional
        The channel notebook's ``time_window_months`` in this run
        (``ctx.parameter("channel_integration", "time_window_months")``).

    Returns
    -------
    (weeks, source)
        Without either, an assumed 52 weeks, said so in ``source``.

    Examples
    --------
    >>> cost_window(26)
    (26.0, 'the cost_window_weeks parameter')
    >>> cost_window(None, 6)
    (26.0, 'the last 6 months of the channel report')
    >>> cost_window()
    (52.0, 'an assumed 52 weeks (the window of the channel report is unknown)')
    """
    if override_weeks is not None:
        if not override_weeks > 0:
            raise ValueError(f"cost_window_weeks must be a positive number of weeks, but {override_weeks!r} was passed.")
        return float(override_weeks), t("evaluation.lib.window_parameter")
    if channel_window_months is None:
        return 52.0, t("evaluation.lib.window_assumed")
    return months_to_weeks(channel_window_months), t("evaluation.lib.window_channel", months=f"{channel_window_months:g}")


def exact_money(amount: float, currency: str = "") -> str:
    """An amount to the unit with thousands separators, in the page's words for the currency.

    For a sentence that compares two amounts which can differ in their last digits (the rounded
    ``{x:money}`` of prose would show them equal).

    Examples
    --------
    >>> exact_money(1461420.0, "KRW"), exact_money(12.0, "EUR"), exact_money(7.0)
    ('1,461,420 KRW', '12 EUR', '7')
    >>> from ecrm_lib.core.language import using
    >>> with using("ko"):
    ...     exact_money(1461420.0, "KRW"), exact_money(12.0, "EUR")
    ('1,461,420원', '12 EUR')
    """
    x = format_number(float(amount))
    if not currency:
        return x
    if currency.upper() == "KRW":
        return t("evaluation.lib.amount_krw", x=x)
    return t("evaluation.lib.amount", x=x, currency=currency)


def cost_window_check(window_cost: float | None, report_total: float | None, currency: str = "") -> str:
    """A sentence comparing the evaluated customers' cost to serve in the cost window with the channel report's total for it.

    The channel report prices every contact of its window (its
    ``cost_to_serve_total``); the ``cost_to_serve`` of ``customer_channels``
    covers the same contacts per customer, so the customers evaluated (those
    with a purchase) account for at most that total. More than the total
    means the per-customer cost covers a longer period than the window it is
    scaled from: the sentence then warns that the expected cost is overstated.

    Parameters
    ----------
    window_cost : float or None
        Sum of ``cost_to_serve`` over the evaluated customers (currency).
    report_total : float or None
        The channel report's ``cost_to_serve_total`` (currency).

    Returns
    -------
    str
        Plain text with a leading space; empty when either figure is unknown.

    Examples
    --------
    >>> print(cost_window_check(17974570.0, 17994570.0, "KRW").strip())
    In that window their contacts cost 17,974,570 KRW, of the channel report's 17,994,570 KRW for every contact in the window (the rest: contacts of people without a purchase, who are not evaluated here).
    >>> print(cost_window_check(100.0, 100.0).strip())
    In that window their contacts cost 100, the channel report's total for every contact in the window.
    >>> cost_window_check(41443730.0, 17994570.0, "KRW")[:61]
    ' Warning: their cost to serve adds up to 41,443,730 KRW, more'

    On a Korean page an amount in KRW reads in 원:

    >>> from ecrm_lib.core.language import using
    >>> with using("ko"):
    ...     print(cost_window_check(1461420.0, 1461420.0, "KRW").strip())
    이 기간에 이 고객들과의 접촉 비용은 1,461,420원이며, 채널 보고서가 집계한 기간 내 전체 접촉 비용과 같습니다.
    """
    if window_cost is None or report_total is None or pd.isna(window_cost) or pd.isna(report_total):
        return ""
    w, r = float(window_cost), float(report_total)
    fw, fr = exact_money(w, currency), exact_money(r, currency)
    if w > r * (1 + 1e-9) + 0.5:
        return " " + t("evaluation.lib.check_over", fw=fw, fr=fr)
    if w >= r - 0.5:
        return " " + t("evaluation.lib.check_equal", fw=fw)
    return " " + t("evaluation.lib.check_part", fw=fw, fr=fr)


