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
- :func:`compare_policies`: a set of selections side by side (the profit
  model's, the rule's, everyone, random picks of the same size);
- :func:`split_evaluation`: the whole procedure repeated over random
  train/test splits of one campaign (the validation on Hillstrom and on
  generated data).

Estimator. With treatment share ``e`` among the held-out rows, row ``i``
contributes ``t_i / e * (margin * revenue_i - cost_i - offer_i * response_i)
- (1 - t_i) / (1 - e) * margin * revenue_i``; the mean of these over the rows a
policy contacts, divided by all rows, is the policy's incremental profit per
customer (unbiased under randomisation). Money is in the campaign's currency.

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
    "compare_policies",
    "money_uplift_curve",
    "policy_gain",
    "profit_contributions",
    "split_evaluation",
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
    t = np.asarray(treatment, float)
    rev = np.nan_to_num(np.asarray(revenue, float))
    e = t.mean()
    if not 0 < e < 1:
        raise EcrmError("the held-out rows need both treated and control customers to measure incremental profit.")
    gain_t = margin * rev - np.asarray(contact_cost, float)
    if offer_cost_per_response:
        if response is None:
            raise ValueError("offer_cost_per_response needs the response column.")
        gain_t = gain_t - offer_cost_per_response * np.asarray(response, float)
    return t / e * gain_t - (1 - t) / (1 - e) * margin * rev


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


def compare_policies(selections: Mapping[str, np.ndarray], contributions, *, n_random: int = 50,
                     random_state: int = 0, ci_level: float = 0.95) -> pd.DataFrame:
    """Incremental profit of several selections on the same held-out rows, with everyone and random picks.

    Parameters
    ----------
    selections : mapping
        Name -> boolean array (rows contacted), e.g. ``{"by incremental profit": ..., "rule": ...}``.
    contributions : array
        :func:`profit_contributions` of the rows.
    n_random : int
        Random picks of the size of the first selection; their mean gain is reported (and the 2.5 and 97.5
        percentiles over the picks as the interval).

    Returns
    -------
    DataFrame
        ``policy, share, per_1000, ci_low, ci_high`` (currency per 1,000 customers).
    """
    z = np.asarray(contributions, float)
    rows = []
    for name, sel in selections.items():
        g = policy_gain(sel, z, ci_level)
        rows.append(dict(policy=name, share=g["share"], per_1000=g["per_1000"], ci_low=1000 * g["ci_low"],
                         ci_high=1000 * g["ci_high"]))
    g = policy_gain(np.ones(len(z), bool), z, ci_level)
    rows.append(dict(policy="everyone", share=1.0, per_1000=g["per_1000"], ci_low=1000 * g["ci_low"], ci_high=1000 * g["ci_high"]))
    if selections and n_random > 0:
        first = np.asarray(next(iter(selections.values())), bool)
        rng = np.random.default_rng(random_state)
        draws = np.array([1000 * z[rng.permutation(len(z))[: first.sum()]].sum() / len(z) for _ in range(n_random)])
        a = (1 - ci_level) / 2
        rows.append(dict(policy="random, same size", share=float(first.mean()), per_1000=float(draws.mean()),
                         ci_low=float(np.quantile(draws, a)), ci_high=float(np.quantile(draws, 1 - a))))
    return pd.DataFrame(rows, columns=["policy", "share", "per_1000", "ci_low", "ci_high"])


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
