"""How a targeting choice does on held-out randomised campaign data, in money.

- :func:`profit_contributions`: each held-out row's contribution to the
  incremental profit of contacting it (inverse-probability weighted, so that
  the mean over any set of rows chosen *without looking at the arm* estimates
  the incremental profit of contacting that set, against contacting nobody);
- :func:`policy_gain`: the incremental profit of contacting a chosen set, per
  customer, with a normal interval;
- :func:`money_uplift_curve`: incremental profit as more customers are
  contacted in the order of a score (a Qini curve in money);
- :func:`choose_cutoff`: the cut-off on a score chosen on training data (its
  out-of-fold scores), and whether targeting beats contacting everyone there;
- :func:`bootstrap_policies`: a set of selections side by side (the profit
  model's, the rule's, everyone, random picks of the same size), with bootstrap
  intervals over the campaign's customers, and the interval of what the first
  selection earns more than each alternative (paired: the same resampled
  customers);
- :func:`comparison_figures` and :func:`targeting_verdict`: the comparison's
  headline figures, and what they support (target, contact everyone, contact
  nobody, or test first), the bar the executive summary's plan uses too;
- :func:`split_evaluation`: the whole procedure repeated over random
  train/test splits of one campaign (the validation on Hillstrom and on
  generated data).

Estimator. With treatment share ``e`` among the held-out rows, row ``i``
contributes ``t_i / e * (margin * revenue_i - cost_i - offer_i * response_i)
- (1 - t_i) / (1 - e) * margin * revenue_i``; the mean of these over the rows a
policy contacts, divided by all rows, is the policy's incremental profit per
customer (unbiased under randomisation). Money is in the campaign's currency.

Intervals of the comparison (:func:`bootstrap_policies`). The selections are
fixed (out-of-fold scores), and the campaign's *customers* are resampled with
replacement, within their arm (a customer whose accounts sit in both arms is
resampled in a stratum of their own), the treatment share and every
contribution recomputed in each resample. A customer, not a campaign row, is
the unit, because a customer's accounts are not independent rows. This measures
how much the comparison could differ on another campaign of the same customers
by chance, which with a few per cent of responders is the larger part of the
uncertainty; it leaves out the model's own refitting noise (a bootstrap with a
cross-fitted refit per resample costs folds x resamples fits). Repeating the
cross-fitting with other splits would measure only that smaller part: the
scores move, the outcomes do not. Percentile intervals, because revenue is
skewed (a few large orders). The differences (first selection minus each other
way) come from the same resamples, so their interval is narrower than the two
intervals side by side suggest: both ways are measured on the same customers.

Examples
--------
>>> t = np.array([1, 1, 0, 0]); rev = np.array([10.0, 0.0, 4.0, 0.0])
>>> profit_contributions(t, rev, margin=0.5, contact_cost=1.0).tolist()
[8.0, -2.0, -4.0, -0.0]
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np
import pandas as pd

from ecrm_lib.core.errors import EcrmError
from ecrm_lib.core.intervals import z_value
from ecrm_lib.seef.profit import fit_incremental_model, incremental_value

__all__ = [
    "choose_cutoff",
    "reachable_random_line",
    "BOOTSTRAP_COLUMNS",
    "VERDICTS",
    "bootstrap_policies",
    "comparison_figures",
    "money_uplift_curve",
    "policy_gain",
    "profit_contributions",
    "split_evaluation",
    "targeting_verdict",
]


def profit_contributions(treatment, revenue, *, margin: float, contact_cost=0.0, response=None,
                         offer_cost_per_response: float = 0.0) -> np.ndarray:
    """Each row's inverse-probability-weighted contribution to the incremental profit of contacting it (currency).

    Parameters
    ----------
    treatment : array of 0/1
    revenue : array of float
        Revenue in the response window (currency).
    margin : float
        Share of revenue kept (0-1].
    contact_cost : float or array
        Cost of the contact plus the offer's cost per contact (currency).
    response : array of 0/1, optional
        Needed with ``offer_cost_per_response`` (paid by treated responders).
    offer_cost_per_response : float
    """
    t, gain_t, gain_c = _gains(treatment, revenue, margin=margin, contact_cost=contact_cost, response=response,
                               offer_cost_per_response=offer_cost_per_response)
    e = t.mean()
    if not 0 < e < 1:
        raise EcrmError("the held-out rows need both treated and control customers to measure incremental profit.")
    return t / e * gain_t - (1 - t) / (1 - e) * gain_c


def _gains(treatment, revenue, *, margin, contact_cost=0.0, response=None, offer_cost_per_response=0.0):
    """``(t, gain if treated, margin on revenue)`` per row: the parts of :func:`profit_contributions` before the
    weighting by the treatment share (currency)."""
    t = np.asarray(treatment, float)
    rev = np.nan_to_num(np.asarray(revenue, float))
    gain_t = margin * rev - np.asarray(contact_cost, float)
    if offer_cost_per_response:
        if response is None:
            raise ValueError("offer_cost_per_response needs the response column.")
        gain_t = gain_t - offer_cost_per_response * np.asarray(response, float)
    return t, gain_t * np.ones_like(t), margin * rev


def policy_gain(selected, contributions, ci_level: float = 0.95) -> dict[str, float]:
    """Incremental profit per customer (currency) of contacting the ``selected`` rows, with a normal interval.

    Parameters
    ----------
    selected : array of bool
        The rows the policy contacts (chosen without looking at the arm).
    contributions : array
        :func:`profit_contributions` of the same rows.

    Returns
    -------
    dict
        ``share`` (of rows contacted), ``per_customer``, ``ci_low``, ``ci_high`` (currency per
        customer of the population, contacted or not), ``per_1000`` (per 1,000 customers).
    """
    s = np.asarray(selected, bool)
    z = np.where(s, np.asarray(contributions, float), 0.0)
    n = len(z)
    mean = float(z.mean())
    se = float(z.std(ddof=1) / math.sqrt(n)) if n > 1 else math.nan
    h = z_value(ci_level) * se
    return dict(share=float(s.mean()), per_customer=mean, ci_low=mean - h, ci_high=mean + h, per_1000=1000 * mean)


def reachable_random_line(curve: pd.DataFrame, reachable_share: float) -> pd.Series:
    """The money uplift curve's ``random`` line when only ``reachable_share`` (0-1) of the customers can be contacted.

    Random picks are drawn among the reachable (as the comparison's "random, same size" is), so the line rises to
    the profit of contacting everyone reachable by the share ``reachable_share`` and stays there (currency per
    1,000 customers, as ``per_1000``); the unreachable sit at the curve's end with no contribution.

    >>> c = pd.DataFrame({"share": [0.0, 0.25, 0.5, 1.0], "per_1000": [0.0, 60.0, 80.0, 80.0]})
    >>> reachable_random_line(c, 0.5).tolist()
    [0.0, 40.0, 80.0, 80.0]
    """
    reach = float(reachable_share)
    end = float(curve["per_1000"].iloc[-1])
    if not 0.0 < reach <= 1.0:
        return curve["share"] * end
    return np.minimum(curve["share"] / reach, 1.0) * end


def money_uplift_curve(score, contributions, max_points: int = 400) -> pd.DataFrame:
    """Incremental profit (currency per 1,000 customers of the population) when the top share by ``score`` is contacted.

    Ties of the score are taken together. The ``random`` column is the straight line to the
    profit of contacting everyone (random picks of each size, in expectation).

    Returns
    -------
    DataFrame
        ``share`` (0-1), ``k`` (customers contacted), ``per_1000`` (incremental profit per 1,000
        customers), ``random`` (the same for random picks).
    """
    s = np.asarray(score, float)
    z = np.asarray(contributions, float)
    order = np.argsort(-s, kind="mergesort")
    cum = np.cumsum(z[order])
    ends = np.flatnonzero(np.r_[s[order][1:] != s[order][:-1], True])
    n = len(z)
    k = np.r_[0, ends + 1]
    per = 1000 * np.r_[0.0, cum[ends]] / n
    out = pd.DataFrame({"share": k / n, "k": k, "per_1000": per})
    out["random"] = out["share"] * per[-1]
    if len(out) > max_points:
        out = out.iloc[np.unique(np.r_[np.linspace(0, len(out) - 1, max_points).astype(int), len(out) - 1])]
    return out.reset_index(drop=True)


def choose_cutoff(score, contributions, *, threshold: float | None = None, require_sd: float = 0.0,
                  ci_level: float = 0.95) -> dict:
    """A cut-off on a score of training rows, what it earns there, and whether targeting beats contacting everyone.

    Use out-of-fold scores of the training rows (:attr:`ecrm_lib.seef.profit.IncrementalModel.oof`)
    so that the comparison is not the models' own fit.

    Parameters
    ----------
    score : array
        E.g. the predicted incremental profit per customer (currency).
    contributions : array
        :func:`profit_contributions` of the same rows.
    threshold : float, optional
        Contact when ``score >= threshold``: 0 for a predicted profit (contact where the
        model expects a gain), or None to take the cut-off that maximises the training curve
        (optimistic: the maximum of a noisy curve).
    require_sd : float
        The recommendation is ``"target"`` when the advantage of targeting over contacting
        everyone exceeds ``require_sd`` standard errors (0: any positive advantage); else
        ``"everyone"`` when contacting everyone has a positive estimated profit, else ``"nobody"``.
    ci_level : float
        Level of the advantage's normal interval.

    Returns
    -------
    dict
        ``threshold`` (contact when score >= threshold), ``share``, ``per_1000`` (at the cut-off),
        ``everyone_per_1000``, ``advantage_per_1000`` with ``advantage_low`` / ``advantage_high``
        (per 1,000), ``recommendation``.
    """
    s = np.asarray(score, float)
    z = np.asarray(contributions, float)
    if threshold is None:
        curve = money_uplift_curve(s, z, max_points=len(s) + 1)
        k = int(curve["k"].iloc[int(np.argmax(curve["per_1000"].to_numpy()))])
        threshold = float(np.sort(s)[::-1][k - 1]) if k > 0 else math.inf
    share = float((s >= threshold).mean())
    left_out = np.where(s >= threshold, 0.0, z)  # advantage over everyone = minus what the left-out rows earn
    n = len(z)
    adv = -float(left_out.mean())
    h = z_value(ci_level) * float(left_out.std(ddof=1) / math.sqrt(n))
    everyone = float(z.mean())
    if adv - require_sd * h / z_value(ci_level) > 0:
        rec = "target"
    else:
        rec = "everyone" if everyone > 0 else "nobody"
    return dict(threshold=float(threshold), share=share, per_1000=1000 * float(np.where(s >= threshold, z, 0.0).mean()),
                everyone_per_1000=1000 * everyone, advantage_per_1000=1000 * adv,
                advantage_low=1000 * (adv - h), advantage_high=1000 * (adv + h), recommendation=rec)


def bootstrap_policies(selections: Mapping[str, np.ndarray], treatment, revenue, *, margin: float, contact_cost=0.0,
                       response=None, offer_cost_per_response: float = 0.0, eligible=None, groups=None,
                       n_boot: int = 1000, ci_level: float = 0.95, random_state: int = 0) -> pd.DataFrame:
    """Incremental profit of several selections, contacting everyone and random picks, with bootstrap intervals.

    The selections are fixed (e.g. chosen by out-of-fold scores); the customers are resampled (module
    docstring: within their arm, a customer's rows together). In each resample the treatment share and
    the contributions (:func:`profit_contributions`) are recomputed, every way of choosing is valued on the
    same resampled customers, and random picks of the first selection's size are drawn afresh among the
    eligible rows.

    Parameters
    ----------
    selections : mapping
        Name -> boolean array (rows contacted), the first one being the way the others are compared with
        (e.g. ``{"by incremental profit": ..., "rule": ...}``).
    treatment, revenue, margin, contact_cost, response, offer_cost_per_response
        As for :func:`profit_contributions` (currency).
    eligible : array of bool, optional
        Rows that can be contacted (e.g. a priced channel reaches them): "everyone" contacts these, random
        picks are drawn among them. Default: every row.
    groups : array, optional
        The customer of each row (rows of one customer are resampled together). Default: each row its own.
    n_boot : int
        Resamples (1,000 by default: percentile bounds at 95 % rest on 25 resamples each side).
    ci_level : float
        Level of the percentile intervals.
    random_state : int
        Seed of the resampling and of the random picks.

    Returns
    -------
    DataFrame
        One row per selection, then ``everyone`` and ``random, same size``: ``policy``, ``share`` (of the
        rows contacted), ``per_1000`` (incremental profit per 1,000 rows of the campaign, currency; for
        random picks their expected value, the share contacted times everyone's profit over the eligible),
        ``ci_low``, ``ci_high`` (percentile interval), ``advantage_per_1000`` (the first selection's
        ``per_1000`` minus this row's, currency per 1,000; NaN on the first row) with ``advantage_low`` and
        ``advantage_high`` (its paired percentile interval).

    Raises
    ------
    EcrmError
        No treated or no control rows.
    ValueError
        A selection or ``eligible`` does not have one value per row, or ``n_boot`` < 1.

    Examples
    --------
    >>> rng = np.random.default_rng(0); n = 4000
    >>> t = rng.integers(0, 2, n); x = rng.random(n)
    >>> rev = np.where(rng.random(n) < 0.02 + 0.1 * t * (x > 0.5), 100.0, 0.0)
    >>> r = bootstrap_policies({"top half": x > 0.5}, t, rev, margin=0.5, contact_cost=1.0, n_boot=200)
    >>> r["policy"].tolist()
    ['top half', 'everyone', 'random, same size']
    >>> top, everyone = r.iloc[0], r.iloc[1]
    >>> bool(top["ci_low"] < top["per_1000"] < top["ci_high"]), bool(everyone["advantage_low"] > 0)
    (True, True)
    """
    if int(n_boot) < 1:
        raise ValueError(f"n_boot must be at least 1 resample, but {n_boot!r} was passed.")
    if not selections:
        raise ValueError("bootstrap_policies needs at least one selection to compare (name -> rows contacted).")
    t, gain_t, gain_c = _gains(treatment, revenue, margin=margin, contact_cost=contact_cost, response=response,
                               offer_cost_per_response=offer_cost_per_response)
    n = len(t)
    if not 0 < t.mean() < 1:
        raise EcrmError("the campaign rows need both treated and control customers to measure incremental profit.")
    elig = np.ones(n, bool) if eligible is None else np.asarray(eligible, bool)
    names = list(selections)
    S = [np.asarray(selections[k], bool) for k in names]
    for name, sel in zip(names + ["eligible"], S + [elig]):
        if sel.shape != (n,):
            raise ValueError(f"{name!r} has {sel.shape[0] if sel.ndim else 1} values, but the campaign has {n} rows.")
    S = np.column_stack(S + [elig]).astype(float)
    k = int(S[:, 0].sum())
    n_elig = int(elig.sum())
    pick_share = k / n_elig if n_elig else 0.0

    def values(w, z):
        W = w.sum()
        v = (w * z) @ S / W
        return 1000 * v

    z0 = _weighted(t, gain_t, gain_c, np.ones(n))
    point = values(np.ones(n), z0)
    random_point = 1000 * pick_share * float(np.sum(np.where(elig, z0, 0.0))) / n

    codes, strata = _strata(t, groups)
    rng = np.random.default_rng(random_state)
    draws = np.empty((int(n_boot), S.shape[1] + 1))
    members = [np.flatnonzero(strata == s) for s in np.unique(strata)]
    for b in range(int(n_boot)):
        counts = np.zeros(len(strata))
        for m in members:
            counts += np.bincount(m[rng.integers(0, len(m), len(m))], minlength=len(strata))
        w = counts[codes]
        z = _weighted(t, gain_t, gain_c, w)
        draws[b, :-1] = values(w, z)
        pool = np.repeat(np.flatnonzero(elig), w[elig].astype(int))  # the eligible rows of the resample, repeated
        take = int(round(pick_share * len(pool)))
        draws[b, -1] = 1000 * z[pool[rng.choice(len(pool), take, replace=False)]].sum() / w.sum() if take else 0.0
    a = (1 - ci_level) / 2
    lo, hi = np.quantile(draws, [a, 1 - a], axis=0)
    est = np.r_[point, random_point]
    adv_lo, adv_hi = np.quantile(draws[:, 0:1] - draws, [a, 1 - a], axis=0)  # paired: the same resamples
    shares = np.r_[S.mean(axis=0), k / n]
    rows = []
    for j, name in enumerate(names + ["everyone", "random, same size"]):
        first = j == 0
        rows.append(dict(policy=name, share=float(shares[j]), per_1000=float(est[j]), ci_low=float(lo[j]), ci_high=float(hi[j]),
                         advantage_per_1000=math.nan if first else float(est[0] - est[j]),
                         advantage_low=math.nan if first else float(adv_lo[j]),
                         advantage_high=math.nan if first else float(adv_hi[j])))
    return pd.DataFrame(rows, columns=BOOTSTRAP_COLUMNS)


#: Columns of :func:`bootstrap_policies` (money in currency per 1,000 campaign rows, shares 0-1).
BOOTSTRAP_COLUMNS = ["policy", "share", "per_1000", "ci_low", "ci_high", "advantage_per_1000", "advantage_low",
                     "advantage_high"]


#: What :func:`targeting_verdict` can return.
VERDICTS = ("target", "everyone", "nobody", "test")


def comparison_figures(comparison: pd.DataFrame, first: str = "by incremental profit") -> dict[str, float]:
    """The headline figures of a :func:`bootstrap_policies` comparison (currency per 1,000 campaign customers).

    Returns
    -------
    dict
        ``profit``, ``profit_low``, ``profit_high`` (the ``first`` selection), ``everyone``, ``rule``,
        ``random`` with their ``_low``/``_high``, and ``over_everyone``, ``over_rule``, ``over_random``
        (what ``first`` earns more) with their ``_low``/``_high``; NaN for a way not in the comparison.

    Examples
    --------
    >>> c = pd.DataFrame({"policy": ["by incremental profit", "everyone"], "share": [0.4, 1.0], "per_1000": [50.0, 20.0],
    ...                   "ci_low": [10.0, -5.0], "ci_high": [90.0, 45.0], "advantage_per_1000": [np.nan, 30.0],
    ...                   "advantage_low": [np.nan, 4.0], "advantage_high": [np.nan, 56.0]})
    >>> f = comparison_figures(c)
    >>> f["profit_low"], f["over_everyone_low"], math.isnan(f["rule"])
    (10.0, 4.0, True)
    """
    rows = comparison.set_index("policy")
    out: dict[str, float] = {}
    for name, key in ((first, "profit"), ("everyone", "everyone"), ("rule", "rule"), ("random, same size", "random")):
        r = rows.loc[name] if name in rows.index else None
        for suffix, col in (("", "per_1000"), ("_low", "ci_low"), ("_high", "ci_high")):
            out[key + suffix] = float(r[col]) if r is not None else math.nan
        if key != "profit":
            for suffix, col in (("", "advantage_per_1000"), ("_low", "advantage_low"), ("_high", "advantage_high")):
                out[f"over_{key}{suffix}"] = float(r[col]) if r is not None and col in rows.columns else math.nan
    return out


def targeting_verdict(figures: Mapping[str, float]) -> str:
    """What the comparison supports, from :func:`comparison_figures` (or the same keys from a run's metrics).

    - ``"target"`` (the bar): the targeted choice's interval lies wholly above 0, and so does the
      paired interval of what it earns more than contacting everyone and, when measured, than the rule's
      targets;
    - ``"everyone"``: contacting everyone earned at least as much as targeting, and its own interval lies
      above 0: contact everyone rather than pretend to target (Hillstrom's men's e-mail);
    - ``"nobody"``: both targeting and contacting everyone lose money (intervals wholly below 0);
    - ``"test"``: anything else, or a figure is missing: the gain could be chance; test before acting.

    Examples
    --------
    >>> targeting_verdict({"profit": 50.0, "profit_low": 10.0, "everyone": 20.0, "everyone_low": -5.0,
    ...                    "over_everyone_low": 4.0})
    'target'
    >>> targeting_verdict({"profit": 30.0, "profit_low": 5.0, "everyone": 40.0, "everyone_low": 12.0,
    ...                    "over_everyone_low": -30.0})
    'everyone'
    >>> targeting_verdict({"profit": 50.0, "profit_low": -10.0, "everyone": -900.0, "everyone_low": -1200.0,
    ...                    "over_everyone_low": 700.0})
    'test'
    """
    f = {k: (float(v) if v is not None else math.nan) for k, v in dict(figures).items()}
    get = lambda k: f.get(k, math.nan)  # noqa: E731
    rule_ok = math.isnan(get("rule")) or get("over_rule_low") > 0
    if get("profit_low") > 0 and get("over_everyone_low") > 0 and rule_ok:
        return "target"
    if get("everyone") >= get("profit") and get("everyone_low") > 0:
        return "everyone"
    if get("profit_high") < 0 and get("everyone_high") < 0:
        return "nobody"
    return "test"


def _weighted(t, gain_t, gain_c, w) -> np.ndarray:
    """Each row's contribution with the treatment share of the rows weighted by ``w`` (a resample's counts)."""
    e = float(np.sum(w * t) / np.sum(w))
    if not 0 < e < 1:
        raise EcrmError("a resample of the campaign has no treated or no control customers: the campaign is too small "
                        "for a bootstrap interval.")
    return t / e * gain_t - (1 - t) / (1 - e) * gain_c


def _strata(t: np.ndarray, groups) -> tuple[np.ndarray, np.ndarray]:
    """Each row's customer number, and each customer's stratum: their arm (0, 1), or 2 when their rows are in both."""
    if groups is None:
        return np.arange(len(t)), t.astype(int)
    codes, _ = pd.factorize(pd.Series(np.asarray(groups)).astype("string").fillna("<missing>"), sort=False)
    k = codes.max() + 1 if len(codes) else 0
    treated = np.bincount(codes, weights=t, minlength=k)
    rows = np.bincount(codes, minlength=k)
    strata = np.where(treated == 0, 0, np.where(treated == rows, 1, 2))
    return codes, strata


def split_evaluation(X: pd.DataFrame, treatment, response, revenue, *, margin: float, contact_cost: float,
                     offer_cost_per_response: float = 0.0, n_splits: int = 5, test_share: float = 0.5,
                     n_random: int = 20, random_state: int = 0, threshold: float | None = 0.0,
                     require_sd: float = 0.0, **fit_kw) -> pd.DataFrame:
    """The profit policy chosen on training data, measured on held-out data, over random splits.

    Per split: :func:`ecrm_lib.seef.profit.fit_incremental_model` on the training rows, the
    cut-off on the predicted incremental profit chosen on their out-of-fold scores
    (:func:`choose_cutoff`), and, on the test rows, the incremental profit of the policy (contact
    the rows above the cut-off, or everyone / nobody when that is the recommendation), of the
    targeted selection itself, of contacting everyone, and of random picks of the targeted size.

    Parameters
    ----------
    X, treatment, response, revenue
        The campaign rows (see :func:`ecrm_lib.seef.profit.fit_incremental_model`).
    margin : float
        Share of revenue kept (0-1].
    contact_cost : float
        Cost of one contact including the offer's cost per contact (currency).
    offer_cost_per_response : float
    n_splits : int
    test_share : float
        Share of the rows held out per split (stratified on arm).
    n_random : int
        Random picks per split.
    fit_kw
        Passed on to ``fit_incremental_model`` (learner, revenue_model, n_folds).

    Returns
    -------
    DataFrame
        One row per split: ``split, recommendation, share`` (targeted share of the test rows),
        ``policy_per_1000`` (what the recommendation earns), ``targeted_per_1000`` (the targeted
        selection, whatever the recommendation), ``everyone_per_1000``, ``random_per_1000``,
        ``train_advantage_per_1000`` (currency per 1,000 test customers).
    """
    t = np.asarray(treatment, int)
    y = np.asarray(response, int)
    rev = np.nan_to_num(np.asarray(revenue, float))
    rows = []
    for k in range(n_splits):
        rng = np.random.default_rng(random_state + k)
        test = np.zeros(len(t), bool)
        for arm in (0, 1):
            idx = np.flatnonzero(t == arm)
            test[rng.choice(idx, int(round(test_share * len(idx))), replace=False)] = True
        tr = ~test
        model = fit_incremental_model(X[tr], t[tr], y[tr], rev[tr], random_state=random_state + k, **fit_kw)

        def profit(pred):
            value = incremental_value(pred["revenue_uplift"], margin)
            return value - contact_cost - offer_cost_per_response * pred["p_treated"].to_numpy()

        z_tr = profit_contributions(t[tr], rev[tr], margin=margin, contact_cost=contact_cost, response=y[tr],
                                    offer_cost_per_response=offer_cost_per_response)
        cut = choose_cutoff(profit(model.oof), z_tr, threshold=threshold, require_sd=require_sd)
        z_te = profit_contributions(t[test], rev[test], margin=margin, contact_cost=contact_cost, response=y[test],
                                    offer_cost_per_response=offer_cost_per_response)
        targeted = profit(model.predict(X[test])) >= cut["threshold"]
        policy = {"target": targeted, "everyone": np.ones(test.sum(), bool), "nobody": np.zeros(test.sum(), bool)}[cut["recommendation"]]
        draws = [z_te[rng.permutation(len(z_te))[: targeted.sum()]].sum() / len(z_te) for _ in range(n_random)]
        rows.append(dict(split=k, recommendation=cut["recommendation"], share=float(targeted.mean()),
                         policy_per_1000=policy_gain(policy, z_te)["per_1000"],
                         targeted_per_1000=policy_gain(targeted, z_te)["per_1000"],
                         everyone_per_1000=1000 * float(z_te.mean()), random_per_1000=1000 * float(np.mean(draws)),
                         train_advantage_per_1000=cut["advantage_per_1000"]))
    return pd.DataFrame(rows)
