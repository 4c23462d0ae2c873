"""Hillstrom e-mail test (issue 16): the profit policy chosen on training data against mailing everyone and
random picks, per 1,000 held-out customers, over random half splits.

Spend is the revenue, the margin 30 %, an e-mail costs 0.10 USD. The policy: the two-model uplift model
(:func:`ecrm_lib.seef.profit.fit_incremental_model`) predicts each customer's incremental profit; contact where
it is positive, but only when the training rows' out-of-fold estimate says targeting beats mailing everyone
(:func:`ecrm_lib.seef.profit_eval.split_evaluation`). Usage::

    python benchmarks/bench_profit_hillstrom.py [n_splits] [learner] [revenue_model]

Measured (2026-12-02, logistic, hurdle): women's e-mail over 20 splits: policy 34.3, targeted 43.6, everyone 28.9,
random 9.9 USD per 1,000; men's e-mail over 10 splits: everyone recommended in 9 of 10, policy 144.4, targeted
103.0, everyone 149.7, random 118.7.
"""

from __future__ import annotations

import sys
import time

import numpy as np
import pandas as pd

from ecrm_lib.core.paths import shared_data_root
from ecrm_lib.seef.profit_eval import split_evaluation

FILE = "hillstrom_email/Kevin_Hillstrom_MineThatData_E-MailAnalytics_DataMiningChallenge_2008.03.20.csv"


def main(n_splits: int = 10, learner: str = "logistic", revenue_model: str = "hurdle") -> None:
    raw = pd.read_csv(shared_data_root() / FILE)
    X = pd.get_dummies(raw[["recency", "history", "mens", "womens", "zip_code", "newbie", "channel"]], dtype=float)
    X["log_history"] = np.log1p(raw["history"])
    for arm in ("Womens E-Mail", "Mens E-Mail"):
        keep = raw["segment"].isin([arm, "No E-Mail"]).to_numpy()
        d = raw[keep]
        t0 = time.perf_counter()
        r = split_evaluation(X[keep].reset_index(drop=True), (d["segment"] == arm).astype(int), d["conversion"], d["spend"],
                             margin=0.3, contact_cost=0.10, n_splits=n_splits, learner=learner, revenue_model=revenue_model)
        m = r.mean(numeric_only=True)
        print(f"{arm}: {n_splits} splits in {time.perf_counter() - t0:.0f} s; recommendations "
              f"{r['recommendation'].value_counts().to_dict()}; USD per 1,000 held-out customers: policy "
              f"{m['policy_per_1000']:.1f}, targeted {m['targeted_per_1000']:.1f}, everyone {m['everyone_per_1000']:.1f}, "
              f"random {m['random_per_1000']:.1f}; targeted share {m['share']:.2f}")


if __name__ == "__main__":
    args = sys.argv[1:]
    main(int(args[0]) if args else 10, *(args[1:3]))
