"""Pillar 2, customer value: per-customer summaries, purchase and spend models, CLV, churn.

Modules, in the order a report uses them:

- ``features``: per-customer RFM summaries and the calibration/holdout split, as
  Ibis expressions on the engine (DuckDB or Spark); ``headline``: revenue and
  its drivers over the last 12 months.
- ``fitting``: maximum-likelihood fits with recorded attempts and fallbacks;
  ``likelihoods``: the models' own log-likelihoods (scipy, exact gradients) and
  optimizer (no ``lifetimes`` internals: a change there cannot move a fit).
- ``btyd``: the purchase models (BG/NBD, Pareto/NBD, MBG/NBD) and their
  per-customer predictions; ``predict``: the predictions' stable (log-space)
  formulas, discounting and fallbacks.
- ``spend``: the Gamma-Gamma spend model.
- ``holdout``: models judged on a held-out period, the choice, the tracking chart.
- ``clv``: value per customer, its interval (delta method), the report's
  products, tables and headline figures.
- ``concentration``: top shares, Lorenz curve, Gini.
- ``published``: the CDNOW reproduction and the recovery of generated parameters.
- ``churn_data``: the churn timeline, labels and features (engine);
  ``churn``: training on a stratified sample, validation, batched scoring;
  ``churn_measures``: ROC/PR-AUC, lift, calibration, drivers, the truth check;
  ``contract_churn``: contractual (Telco-style) churn.
"""
