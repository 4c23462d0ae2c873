"""SEEF by incremental profit: whom to contact, through which channel, to earn more than the contact costs.

Three steps, one function each:

1. :func:`fit_incremental_model` - from a randomised campaign (treatment and
   control rows with pre-assignment features), a **two-model (T-learner)**
   uplift model with K-fold **cross-fitting** for the response and for the
   revenue; :meth:`IncrementalModel.predict` scores any customer with the same
   features, with a percentile interval from bootstrap refits.
2. :func:`profit_options` - the expected incremental profit of contacting each
   customer through each channel that reaches them: incremental value
   (:func:`incremental_value`) minus the cost of the contact in that channel
   and the offer's cost.
3. :func:`choose_targets` - customers and one channel each under a budget
   (money, or contacts per channel), maximising the expected incremental profit.

How well a choice does on held-out campaign data (money uplift curves, the
policy's realised gain, the comparison with the rule, everyone and random
picks) is in :mod:`ecrm_lib.seef.profit_eval`.

Why the T-learner
-----------------
One model per arm (treated, control), each fitted only on its own rows, and
the uplift as the difference of their predictions. With a 50/50 randomised
split, each arm has as many rows as the other, which is where the T-learner is
at its best (the X-learner's advantage is for unequal arms; Kunzel et al.
2019); it needs no propensity model (the assignment is randomised) and no
outcome transformation, so the revenue model is the same construction as the
response model. Cross-fitting (every campaign row scored by the models of the
folds that did not see it) makes the scores of the campaign rows honest for
choosing cut-offs and for the Qini curves; a customer outside the campaign is
scored by the mean of the K fold models.

Revenue: ``revenue_model="hurdle"`` (default) writes expected revenue per arm
as ``P(response | x, arm) * mean revenue of a responder of that arm``: the
response model carries the heterogeneity, the revenue per responder is taken
per arm (campaign revenue is mostly zero - Hillstrom converts 0.6-1.3 % - and
a regression on a few hundred responders adds more noise than signal).
``"direct"`` fits a ridge regression of revenue on the features per arm.

Persistence assumption
----------------------
The campaign measures incremental revenue in its response window. By default
(``persistence=0``) that is all the value counted: ``value = margin * revenue
uplift``, the conservative reading. With ``persistence > 0`` an incremental
responder also brings that share of their expected future margin over the
horizon the caller computed it for (``future_value``, e.g. the CLV product at a
``horizon`` parameter): ``value = margin * revenue uplift + persistence *
response uplift * future_value``. Nothing in a single campaign measures that
share; it is an assumption for the reader to set, and the closed loop (a kept-out
holdout measured in the next run) is what checks it.

Channels: a campaign is run through one channel; the uplift it measured is
applied to every channel unless ``channel_effect`` gives a ratio per channel
(e.g. from campaigns run through several channels).

Money is in the config's currency; margins and probabilities are shares (0-1).

Examples
--------
>>> rng = np.random.default_rng(0)
>>> X = pd.DataFrame({"x": rng.random(4000)})
>>> t = rng.integers(0, 2, 4000)
>>> y = (rng.random(4000) < 0.05 + 0.1 * t * X["x"]).astype(int)
>>> m = fit_incremental_model(X, t, y, y * 100.0, n_folds=3)
>>> bool(np.corrcoef(m.oof["response_uplift"], X["x"])[0, 1] > 0.9)
True
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import sparse
from scipy.optimize import linprog
from sklearn.base import clone
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.model_selection import StratifiedKFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from ecrm_lib.core.errors import EcrmError
from ecrm_lib.seef.contact import channel_cost_table

__all__ = [
    "ECONOMICS_DEFAULTS",
    "IncrementalModel",
    "choose_targets",
    "economics_parameters",
    "fit_incremental_model",
    "incremental_value",
    "profit_options",
]

#: What :func:`economics_parameters` returns when the config has no ``economics:`` section.
ECONOMICS_DEFAULTS = {"offer_cost_per_contact": 0.0, "offer_cost_per_response": 0.0}

PREDICTION_COLUMNS = ["p_treated", "p_control", "response_uplift", "revenue_uplift"]
#: Customers :meth:`IncrementalModel.predict` scores at a time: the bootstrap refits' predictions of one batch are in
#: memory at once (30 refits x 100,000 customers x 2 columns: 48 MB), not those of every customer (2.3 GB at 1.2
#: million customers, the selection notebook's peak at one million persons).
PREDICT_BATCH_ROWS = 100_000


def economics_parameters(economics: Mapping | object | None) -> dict[str, float]:
    """Offer costs from the config's ``economics:`` section (a mapping or an object with attributes).

    Parameters
    ----------
    economics : mapping, object or None
        ``offer_cost_per_contact`` (currency, paid for every contact; ``offer_cost`` in the
        config file, :class:`ecrm_lib.core.config.Economics`) and
        ``offer_cost_per_response`` (currency, paid for every responder among
        the contacted, e.g. a redeemed coupon). Missing keys, or no section,
        take :data:`ECONOMICS_DEFAULTS` (0).

    Examples
    --------
    >>> economics_parameters({"offer_cost_per_response": 3000})
    {'offer_cost_per_contact': 0.0, 'offer_cost_per_response': 3000.0}
    >>> economics_parameters({"offer_cost": 300})["offer_cost_per_contact"]
    300.0
    """
    out = dict(ECONOMICS_DEFAULTS)
    for key in out:
        if isinstance(economics, Mapping):  # the config file's own name of the cost per contact is offer_cost
            v = economics.get(key, economics.get("offer_cost") if key == "offer_cost_per_contact" else None)
        else:
            v = getattr(economics, key, None)
        if v is not None:
            v = float(v)
            if not v >= 0:
                raise ValueError(f"economics: {key} must be a cost >= 0 (currency), but {v!r} was given.")
            out[key] = v
    return out


def _classifier(kind: str, random_state: int):
    if kind == "logistic":
        return make_pipeline(StandardScaler(), LogisticRegression(C=1.0, max_iter=1000))
    if kind == "gbm":
        return HistGradientBoostingClassifier(max_iter=100, learning_rate=0.05, max_leaf_nodes=15, min_samples_leaf=50,
                                              l2_regularization=1.0, random_state=random_state)
    raise ValueError(f"learner must be 'logistic' or 'gbm', got {kind!r}")


@dataclass
class _ArmModels:
    """The fitted models of one fold (or one bootstrap refit): response and revenue per arm."""

    response: tuple  # (treated, control) classifiers
    revenue: tuple  # (treated, control): ridge models ("direct") or mean revenue per responder ("hurdle")

    def predict(self, X: np.ndarray) -> np.ndarray:
        p1 = self.response[0].predict_proba(X)[:, 1]
        p0 = self.response[1].predict_proba(X)[:, 1]
        if isinstance(self.revenue[0], float):
            r1, r0 = p1 * self.revenue[0], p0 * self.revenue[1]
        else:
            r1, r0 = self.revenue[0].predict(X), self.revenue[1].predict(X)
        return np.column_stack([p1, p0, p1 - p0, r1 - r0])


def _fit_arms(X, t, y, rev, learner, revenue_model, random_state) -> _ArmModels:
    resp, revs = [], []
    for arm in (1, 0):
        m = t == arm
        if np.unique(y[m]).size < 2:
            raise EcrmError("an arm of the campaign has no responders (or only responders) in a fold: too few "
                            "responders to fit an uplift model; use fewer folds or a larger campaign.")
        resp.append(_classifier(learner, random_state).fit(X[m], y[m]))
        if revenue_model == "hurdle":
            revs.append(float(rev[m & (y == 1)].mean()))
        else:
            revs.append(make_pipeline(StandardScaler(), Ridge(alpha=10.0)).fit(X[m], rev[m]))
    return _ArmModels(tuple(resp), tuple(revs))


@dataclass
class IncrementalModel:
    """A cross-fitted two-model uplift model of response and revenue (:func:`fit_incremental_model`).

    Attributes
    ----------
    features : list of str
        Feature columns, in the order the models expect.
    oof : DataFrame
        The campaign rows' out-of-fold predictions (each row scored by the
        models of the folds that did not see it): ``p_treated, p_control``
        (response probabilities, shares), ``response_uplift`` (share),
        ``revenue_uplift`` (currency per contacted customer); same index as the
        ``X`` the model was fitted on.
    learner, revenue_model : str
    fold_models, boot_models : list
        Fitted per fold (cross-fitting) and per bootstrap refit (intervals).
    """

    features: list[str]
    oof: pd.DataFrame
    learner: str
    revenue_model: str
    fold_models: list = field(default_factory=list, repr=False)
    boot_models: list = field(default_factory=list, repr=False)

    def predict(self, X: pd.DataFrame, ci_level: float = 0.95, batch_rows: int = PREDICT_BATCH_ROWS) -> pd.DataFrame:
        """Predicted response and revenue uplift of any customers with the model's features.

        The mean of the fold models; with bootstrap refits (``n_boot`` > 0 at
        fitting), ``revenue_uplift_low/high`` and ``response_uplift_low/high``
        are percentile intervals over the refits (model uncertainty at the
        ``ci_level``). Customers are scored ``batch_rows`` at a time (each
        row's figures do not depend on the others').

        Raises
        ------
        EcrmError
            A feature column of the model is missing from ``X``.
        """
        missing = [c for c in self.features if c not in X.columns]
        if missing:
            raise EcrmError(f"the customers to score lack the model's feature column(s) {missing[:10]}; "
                            "build them with the same feature function as the campaign rows.")
        if int(batch_rows) < 1:
            raise ValueError(f"batch_rows must be at least 1 customer, got {batch_rows!r}.")
        Xv = np.asarray(X[self.features], float)
        n, a = len(Xv), (1 - ci_level) / 2
        pred = np.empty((n, len(PREDICTION_COLUMNS)))
        bounds = np.empty((n, 4)) if self.boot_models else None  # response low, high; revenue low, high
        for i in range(0, n, int(batch_rows)):
            xb = Xv[i:i + int(batch_rows)]
            pred[i:i + len(xb)] = np.mean([m.predict(xb) for m in self.fold_models], axis=0)
            if bounds is not None:
                boots = np.stack([m.predict(xb)[:, 2:4] for m in self.boot_models])  # refits x rows x (response, revenue)
                q = np.quantile(boots, [a, 1 - a], axis=0)  # (low, high) x rows x (response, revenue)
                bounds[i:i + len(xb)] = np.column_stack([q[0, :, 0], q[1, :, 0], q[0, :, 1], q[1, :, 1]])
        out = pd.DataFrame(pred, columns=PREDICTION_COLUMNS, index=X.index)
        if bounds is not None:
            out["response_uplift_low"], out["response_uplift_high"] = bounds[:, 0], bounds[:, 1]
            out["revenue_uplift_low"], out["revenue_uplift_high"] = bounds[:, 2], bounds[:, 3]
        return out

    def total_value_interval(self, X: pd.DataFrame, margin, ci_level: float = 0.95) -> tuple[float, float, float]:
        """Expected incremental revenue margin of contacting all rows of ``X`` (currency): the fold models'
        total ``margin * revenue uplift``, and its percentile interval over the bootstrap refits
        (NaN bounds without refits). The value is before contact and offer costs, which are known
        amounts: subtract them from all three figures.
        """
        Xv = np.asarray(X[self.features], float)
        m = np.asarray(margin, float)
        total = float(np.sum(m * np.mean([f.predict(Xv)[:, 3] for f in self.fold_models], axis=0)))
        if not self.boot_models:
            return total, math.nan, math.nan
        draws = np.array([np.sum(m * b.predict(Xv)[:, 3]) for b in self.boot_models])
        a = (1 - ci_level) / 2
        return total, float(np.quantile(draws, a)), float(np.quantile(draws, 1 - a))


def fit_incremental_model(X: pd.DataFrame, treatment, response, revenue, *, learner: str = "logistic",
                          revenue_model: str = "hurdle", n_folds: int = 5, n_boot: int = 0,
                          random_state: int = 42) -> IncrementalModel:
    """Fit the cross-fitted two-model uplift model of response and revenue on a randomised campaign.

    Parameters
    ----------
    X : DataFrame
        Numeric pre-assignment features per campaign row (e.g.
        :func:`ecrm_lib.seef.uplift_models.campaign_features`), no missing values.
    treatment : array of 0/1
        1 = contacted (treatment arm), 0 = control.
    response : array of 0/1
    revenue : array of float
        Revenue per row in the response window (currency; 0 without response).
    learner : {"logistic", "gbm"}
        Response classifier per arm (standardised logistic regression, or
        histogram gradient boosting).
    revenue_model : {"hurdle", "direct"}
        See the module docstring.
    n_folds : int
        Cross-fitting folds (stratified on treatment x response).
    n_boot : int
        Bootstrap refits on the whole campaign (rows resampled within each arm) for the
        intervals of :meth:`IncrementalModel.predict` (0: none).
    random_state : int

    Returns
    -------
    IncrementalModel
    """
    if revenue_model not in ("hurdle", "direct"):
        raise ValueError(f"revenue_model must be 'hurdle' or 'direct', got {revenue_model!r}")
    _classifier(learner, random_state)  # checks the name
    Xv = np.asarray(X, float)
    t = np.asarray(treatment, int)
    y = np.asarray(response, int)
    rev = np.nan_to_num(np.asarray(revenue, float))
    if Xv.shape[1] == 0:
        raise EcrmError("no features for the uplift model: give customer attributes or the purchase history.")
    if np.isnan(Xv).any():
        raise EcrmError("the features have missing values; fill them first (campaign_features does).")
    strata = 2 * t + y
    counts = np.bincount(strata, minlength=4)
    if counts.min() < 2:
        raise EcrmError("too few responders in the treatment or control group to fit an uplift model (need at least 2 of each).")
    n_folds = int(min(n_folds, counts.min()))
    oof = np.full((len(y), 4), np.nan)
    folds = []
    for train, test in StratifiedKFold(max(n_folds, 2), shuffle=True, random_state=random_state).split(Xv, strata):
        m = _fit_arms(Xv[train], t[train], y[train], rev[train], learner, revenue_model, random_state)
        oof[test] = m.predict(Xv[test])
        folds.append(m)
    boots = []
    rng = np.random.default_rng(random_state)
    for _ in range(int(n_boot)):
        idx = np.concatenate([rng.choice(np.flatnonzero(t == a), int((t == a).sum())) for a in (0, 1)])  # within each arm
        boots.append(_fit_arms(Xv[idx], t[idx], y[idx], rev[idx], learner, revenue_model, random_state))
    index = X.index if isinstance(X, pd.DataFrame) else pd.RangeIndex(len(y))
    return IncrementalModel(features=[str(c) for c in X.columns] if isinstance(X, pd.DataFrame) else [],
                            oof=pd.DataFrame(oof, columns=PREDICTION_COLUMNS, index=index), learner=learner,
                            revenue_model=revenue_model, fold_models=folds, boot_models=boots)


def incremental_value(revenue_uplift, margin, *, response_uplift=None, future_value=None,
                      persistence: float = 0.0) -> np.ndarray:
    """Expected incremental value of one contact (currency): ``margin * revenue uplift``, plus
    ``persistence * response uplift * future_value`` when the effect is assumed to persist.

    Parameters
    ----------
    revenue_uplift : array-like
        Predicted incremental revenue per contacted customer in the response window (currency).
    margin : float or array-like
        Margin as a share of revenue (0-1], the CLV model's margin.
    response_uplift : array-like, optional
        Predicted incremental response probability (needed when ``persistence > 0``).
    future_value : array-like, optional
        Expected future margin of the customer over the chosen horizon (currency; e.g. the CLV
        product computed at that horizon). Needed when ``persistence > 0``.
    persistence : float
        Share (0-1) of an incremental responder's future value that the campaign is assumed to
        add (0: the effect ends with the response window; see the module docstring).

    Examples
    --------
    >>> incremental_value([10.0, -2.0], 0.3).tolist()
    [3.0, -0.6]
    >>> incremental_value([10.0], 0.3, response_uplift=[0.1], future_value=[200.0], persistence=0.5).tolist()
    [13.0]
    """
    m = np.asarray(margin, float)
    if np.any(~(m > 0)) or np.any(m > 1):
        raise ValueError(f"margin must be a share in (0, 1] of revenue, but {margin!r} was passed.")
    if not 0 <= persistence <= 1:
        raise ValueError(f"persistence must be a share in [0, 1], but {persistence!r} was passed.")
    value = m * np.asarray(revenue_uplift, float)
    if persistence > 0:
        if response_uplift is None or future_value is None:
            raise ValueError("persistence > 0 needs response_uplift and future_value (the CLV over the horizon).")
        value = value + persistence * np.asarray(response_uplift, float) * np.nan_to_num(np.asarray(future_value, float))
    return value


def profit_options(customers: pd.DataFrame, channel_costs: pd.DataFrame, *, id_col: str = "customer_id",
                   value_col: str = "incremental_value", p_treated_col: str | None = "p_treated",
                   reach_col: str = "reachable_channels", channels=None, purpose: str | None = None,
                   offer_cost_per_contact: float = 0.0, offer_cost_per_response: float = 0.0,
                   channel_effect: Mapping[str, float] | None = None) -> pd.DataFrame:
    """Expected incremental profit of contacting each customer through each priced channel that reaches them.

    ``profit = value * channel_effect[channel] - cost_per_contact[channel] - offer_cost_per_contact
    - offer_cost_per_response * p_treated`` (a responder among the contacted redeems the offer,
    whether or not the contact caused the response).

    Parameters
    ----------
    customers : DataFrame
        ``id_col``, ``value_col`` (:func:`incremental_value`, currency), optionally ``p_treated_col``
        (response probability when contacted), and ``reach_col`` (comma-separated channels that
        reach the customer, e.g. :func:`ecrm_lib.seef.contact.contact_plan`'s ``reachable_channels``).
    channel_costs : DataFrame
        ``channel``, ``purpose``, ``cost_per_contact`` (currency).
    channels : sequence of str, optional
        Every customer is reachable through these channels (instead of ``reach_col``).
    purpose : str, optional
        The cost row for this purpose when there is one.
    offer_cost_per_contact, offer_cost_per_response : float
        Currency (:func:`economics_parameters`).
    channel_effect : mapping, optional
        Ratio of the measured effect per channel (default 1 for every channel).

    Returns
    -------
    DataFrame
        One row per customer and reachable priced channel: ``id_col``, ``channel``,
        ``cost`` (contact plus offer, currency), ``value`` (currency), ``profit`` (currency).
        Channels without a price are left out (never priced at zero).
    """
    cost = channel_cost_table(channel_costs, purpose)
    n = len(customers)
    if channels is not None:
        codes, lists = np.zeros(n, dtype=np.int64), [[str(c).lower() for c in channels]]
    elif reach_col in customers:
        # the few distinct channel lists are split once; each customer's row is repeated per channel with numpy
        # (no Python list or string per customer: ten million customers would hold gigabytes of them)
        codes, uniques = pd.factorize(customers[reach_col].astype("string").fillna(""))
        lists = [[c.strip().lower() for c in str(u).split(",") if c.strip()] for u in uniques]
    else:
        raise EcrmError(f"profit_options needs the channels that reach each customer: a {reach_col!r} column or channels=.")
    width = max((len(x) for x in lists), default=0)
    names = np.array([x + [""] * (width - len(x)) for x in lists], dtype=object).reshape(len(lists), width)
    lens = np.array([len(x) for x in lists], dtype=np.int64)[codes] if n else np.zeros(0, dtype=np.int64)
    rows = np.repeat(np.arange(n), lens)  # each customer's channels in the order listed (as explode gives them)
    slot = np.arange(len(rows)) - np.repeat(np.cumsum(lens) - lens, lens)
    chan = pd.array(names[codes[rows], slot] if len(rows) else np.array([], dtype=object), dtype="string")
    p1 = customers[p_treated_col].astype(float).to_numpy() if p_treated_col and p_treated_col in customers else np.zeros(n)
    long = pd.DataFrame({id_col: customers[id_col].array.take(rows), "channel": chan,
                         "value": customers[value_col].astype(float).to_numpy()[rows], "_p1": p1[rows]})
    long = long[long["channel"].isin(list(cost.index))].reset_index(drop=True)
    effect = long["channel"].map(dict(channel_effect or {})).astype(float).fillna(1.0)  # a channel not listed: 1
    long["value"] = long["value"] * effect
    if offer_cost_per_response > 0 and not (p_treated_col and p_treated_col in customers):
        raise EcrmError(f"an offer cost per response needs the response probability when contacted ({p_treated_col!r}).")
    long["cost"] = long["channel"].map(cost).astype(float) + offer_cost_per_contact + offer_cost_per_response * long["_p1"]
    long["profit"] = long["value"] - long["cost"]
    return long[[id_col, "channel", "cost", "value", "profit"]]


def _hull_increments(opts: pd.DataFrame, id_col: str) -> pd.DataFrame:
    """Per customer, the LP-undominated options as increments (cost, profit, ratio) over the previous one."""
    rows = []
    for cid, g in opts.groupby(id_col, sort=False):
        g = g.sort_values(["cost", "profit"], ascending=[True, False])
        hull = [(0.0, 0.0, None)]
        for c, p, ch in zip(g["cost"], g["profit"], g["channel"]):
            if p <= hull[-1][1]:
                continue  # dominated: costs more, earns no more
            while len(hull) >= 2:
                (c1, p1, _), (c2, p2, _) = hull[-2], hull[-1]
                if (p2 - p1) * (c - c1) <= (p - p1) * (c2 - c1):  # the middle point lies under the chord
                    hull.pop()
                else:
                    break
            hull.append((c, p, ch))
        for level, ((c0, p0, _), (c1, p1, ch)) in enumerate(zip(hull[:-1], hull[1:]), start=1):
            dc, dp = c1 - c0, p1 - p0
            rows.append((cid, ch, level, dc, dp, dp / dc if dc > 0 else math.inf, p1))
    return pd.DataFrame(rows, columns=[id_col, "channel", "level", "d_cost", "d_profit", "ratio", "profit"])


def choose_targets(options: pd.DataFrame, *, budget: float | None = None,
                   contacts_per_channel: Mapping[str, int] | None = None,
                   id_col: str = "customer_id") -> tuple[pd.DataFrame, dict]:
    """Customers and one channel each, maximising expected incremental profit under a budget.

    Only options with a positive expected profit are ever chosen.

    - No budget: each customer's most profitable channel, where its profit is positive.
    - ``budget`` (money, currency; contact and offer costs): a multiple-choice knapsack, solved by
      the greedy on the LP-undominated options (Sinha & Zoltners 1979): increments sorted by profit
      per cost, taken in that order when they fit; a later increment of the same customer upgrades
      its channel; one that does not fit is skipped with that customer's later upgrades, and smaller
      ones after it may still fit. Up to the first increment that does not fit this is the LP
      relaxation's optimum, so the gap to the best integer choice is at most that increment's
      profit (measured against brute force in the tests); ``bound`` in the returned
      summary is the LP optimum (an upper bound on any choice), so ``bound - expected_profit`` is
      the gap measured, not assumed.
    - ``contacts_per_channel`` (contacts, per channel): a bipartite assignment with channel
      capacities, solved exactly as a linear programme (its constraint matrix is totally
      unimodular, so the LP optimum is integral) by HiGHS.

    Parameters
    ----------
    options : DataFrame
        :func:`profit_options` (``id_col``, ``channel``, ``cost``, ``profit``).
    budget : float, optional
    contacts_per_channel : mapping, optional
        Maximum contacts per channel (channels not named: none).

    Returns
    -------
    (chosen, summary)
        ``chosen``: the rows of ``options`` chosen (one per customer), sorted by profit;
        ``summary``: ``customers, cost, expected_profit, bound`` (LP upper bound; equal to the
        expected profit when no budget binds) and ``method``.

    Examples
    --------
    >>> o = pd.DataFrame({"customer_id": ["a", "a", "b", "c"], "channel": ["email", "phone", "email", "email"],
    ...                   "cost": [1.0, 5.0, 1.0, 1.0], "value": [4.0, 12.0, 3.0, 0.5], "profit": [3.0, 7.0, 2.0, -0.5]})
    >>> chosen, s = choose_targets(o, budget=6.0)
    >>> chosen[["customer_id", "channel"]].to_numpy().tolist(), s["expected_profit"]
    ([['a', 'phone'], ['b', 'email']], 9.0)
    """
    if budget is not None and contacts_per_channel is not None:
        raise ValueError("give either budget (money) or contacts_per_channel, not both.")
    pos = options[options["profit"] > 0]
    if pos.empty:
        return options.iloc[:0].copy(), dict(customers=0, cost=0.0, expected_profit=0.0, bound=0.0, method="none positive")
    if budget is None and contacts_per_channel is None:
        chosen = pos.sort_values("profit", ascending=False, kind="stable").drop_duplicates(id_col)
        method, bound = "best channel per customer", float(chosen["profit"].sum())
    elif budget is not None:
        if not budget >= 0:
            raise ValueError(f"budget must be an amount >= 0 (currency), but {budget!r} was passed.")
        inc = _hull_increments(pos, id_col).sort_values(["ratio", "level"], ascending=[False, True], kind="stable")
        spent, gained, pick, level, blocked, bound = 0.0, 0.0, {}, {}, set(), None
        for cid, ch, lv, dc, dp in zip(inc[id_col], inc["channel"], inc["level"], inc["d_cost"], inc["d_profit"]):
            if cid in blocked or level.get(cid, 0) != lv - 1:
                continue
            if spent + dc <= budget + 1e-9:
                spent, gained = spent + dc, gained + dp
                pick[cid], level[cid] = ch, lv
            else:
                blocked.add(cid)  # its later upgrades would build on an increment not taken
                if bound is None:  # the LP optimum: every increment before this one, and this one in part
                    bound = gained + (budget - spent) / dc * dp
        pairs = set(pick.items())
        chosen = pos[np.array([(c, ch) in pairs for c, ch in zip(pos[id_col], pos["channel"])], bool)]
        chosen = chosen.drop_duplicates([id_col, "channel"])
        bound = float(chosen["profit"].sum() if bound is None else bound)
        method = "greedy on profit per cost (multiple-choice knapsack)"
    else:
        caps = {str(k).lower(): int(v) for k, v in contacts_per_channel.items()}
        pos = pos[pos["channel"].isin(list(caps))].reset_index(drop=True)
        if pos.empty:
            return pos, dict(customers=0, cost=0.0, expected_profit=0.0, bound=0.0, method="no channel with contacts")
        cust = pd.factorize(pos[id_col])[0]
        chan, chan_names = pd.factorize(pos["channel"])
        n = len(pos)
        A = sparse.vstack([sparse.csr_matrix((np.ones(n), (cust, np.arange(n)))),
                           sparse.csr_matrix((np.ones(n), (chan, np.arange(n))))])
        b = np.r_[np.ones(cust.max() + 1), [caps[c] for c in chan_names]]
        res = linprog(-pos["profit"].to_numpy(float), A_ub=A, b_ub=b, bounds=(0, 1), method="highs")
        if res.status != 0:
            raise EcrmError(f"the contacts-per-channel assignment did not solve: {res.message}")
        chosen = pos[res.x > 0.5]
        bound, method = float(-res.fun), "assignment with channel capacities (linear programme, integral)"
    chosen = chosen.sort_values("profit", ascending=False, kind="stable").reset_index(drop=True)
    return chosen, dict(customers=int(len(chosen)), cost=float(chosen["cost"].sum()),
                        expected_profit=float(chosen["profit"].sum()), bound=float(bound), method=method)
