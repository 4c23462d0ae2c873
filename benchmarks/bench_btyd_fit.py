"""Benchmark: purchase-model fit on 1M generated customers, with and without weight compression; predictions and the CLV interval.

Customers are drawn from BG/NBD (r=0.5, alpha=8 weeks, a=0.8, b=2.5) and
Gamma-Gamma spend (p=6, q=4, gamma=30,000), with first purchases on whole days
over two years and purchase days rounded to whole days, as real summaries are
(``recency`` and ``T`` in weeks = days / 7). Then, each in its own subprocess
so that its peak memory is its own:

- ``compressed``: :func:`ecrm_lib.value.btyd.fit_btyd` with ``compress=True`` (distinct
  (frequency, recency, T) rows with weights; the compression time is included);
- ``full``: the same with ``compress=False`` (one row per customer);
- ``predict`` (``--predict``): P(alive), expected purchases over 52 weeks and
  CLV for every customer (:func:`ecrm_lib.value.clv.customer_value`, weekly
  discounting, log-space formulas) with the compressed fit and a Gamma-Gamma fit;
- ``interval`` (``--interval``): the CLV interval of every customer and of the
  total by the delta method (:func:`ecrm_lib.value.clv.clv_interval`).

``--model pareto`` (or ``mbgnbd``) fits that model instead of BG/NBD (the
data are still drawn from BG/NBD).

Printed: seconds, peak resident memory of the process during the step (MiB,
``VmHWM`` after resetting it once the data are in memory), the compression
ratio, the parameters and their largest relative difference. Targets (printed,
never asserted): compressed fit under 10 s on 1M customers, same parameters to
1e-6 relative.

Run from the repository root::

    .venv/bin/python benchmarks/bench_btyd_fit.py                    # 1M customers
    .venv/bin/python benchmarks/bench_btyd_fit.py --customers 1e5 --predict --interval --model pareto
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time

import numpy as np
import pandas as pd
from _memory import reset_peak, rss_mib  # benchmarks/_memory.py (the script folder is on sys.path)

TRUE = {"r": 0.5, "alpha": 8.0, "a": 0.8, "b": 2.5}
TRUE_GG = {"p": 6.0, "q": 4.0, "gamma": 30_000.0}


def make_summary(n: int, seed: int = 0, span_days: int = 730) -> pd.DataFrame:
    """Per-customer (frequency, recency, T, monetary_value) drawn from BG/NBD and Gamma-Gamma.

    A customer's repeat purchases follow a Poisson process of rate lambda ~ Gamma(r, alpha)
    per week; after each repeat purchase they drop out with probability p ~ Beta(a, b).
    Given n purchases in (0, T], the x-th falls at T times a Beta(x, n - x + 1) draw.
    """
    rng = np.random.default_rng(seed)
    T_days = rng.integers(1, span_days + 1, n)
    T = T_days / 7.0
    lam = rng.gamma(TRUE["r"], 1.0 / TRUE["alpha"], n)
    p = rng.beta(TRUE["a"], TRUE["b"], n)
    n_poisson = rng.poisson(lam * T)
    allowed = rng.geometric(p)  # repeat purchases before dropping out (at least 1)
    x = np.minimum(n_poisson, allowed)
    pos = x > 0
    frac = np.zeros(n)
    frac[pos] = rng.beta(x[pos], n_poisson[pos] - x[pos] + 1)
    rec_days = np.floor(frac * T_days)  # the last purchase day
    # same-day purchases merge: keep it simple, a day with a repeat purchase is at least day 1
    rec_days = np.where(pos, np.maximum(rec_days, 1), 0)
    nu = rng.gamma(TRUE_GG["q"], 1.0 / TRUE_GG["gamma"], n)
    mean_spend = np.where(pos, rng.gamma(TRUE_GG["p"] * np.maximum(x, 1), 1.0 / (nu * np.maximum(x, 1))), 0.0)
    return pd.DataFrame({"frequency": x.astype(np.int64), "recency": rec_days / 7.0, "T": T,
                         "monetary_value": np.round(mean_spend, 0)})


def worker(spec: dict) -> dict:
    import lifetimes  # noqa: F401  (import time is not what is measured)

    from ecrm_lib.value import btyd, clv, spend
    from ecrm_lib.value.features import compress_histories

    s = make_summary(int(spec["n"]), spec["seed"])
    base = rss_mib("VmRSS")
    reset = reset_peak()
    out: dict = {"mode": spec["mode"], "customers": len(s), "input_mib": base}
    t0 = time.perf_counter()
    if spec["mode"] in ("compressed", "full"):
        fit = btyd.fit_btyd(s, spec["model"], compress=spec["mode"] == "compressed")
        out["seconds"] = time.perf_counter() - t0
        out["rows_fitted"] = fit.n_unique_rows
        out["params"] = {k: float(v) for k, v in fit.params.items()}
        out["attempts"] = int(len(fit.attempts))
        if spec["mode"] == "compressed":
            t1 = time.perf_counter()
            compress_histories(s)
            out["compress_seconds"] = time.perf_counter() - t1
    else:
        fit = btyd.fit_btyd(s, spec["model"])
        gg = spend.fit_gamma_gamma(s)
        out["fit_seconds"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        if spec["mode"] == "predict":
            cv = clv.customer_value(s, fit, gg, horizon=52, margin=0.3, annual_discount_rate=0.1)
            out["total_clv"] = float(cv["clv"].sum())
            out["fallbacks"] = int((cv["fallback"] != "").sum())
        else:
            iv = clv.clv_interval(s, fit, gg, horizon=52, margin=0.3, annual_discount_rate=0.1)
            out["total"] = {k: float(v) for k, v in iv.total.items()}
        out["seconds"] = time.perf_counter() - t0
        out["gg_params"] = {k: float(v) for k, v in gg.params.items()}
    out["peak_mib"] = rss_mib("VmHWM") if reset else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return out


def run_worker(spec: dict) -> dict:
    proc = subprocess.run([sys.executable, __file__, "--worker", json.dumps(spec)], capture_output=True, text=True,
                          env={**os.environ, "PYTHONWARNINGS": "ignore"})
    if proc.returncode != 0:
        raise RuntimeError(f"{spec['mode']} failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--customers", type=float, default=1e6, help="number of customers (default 1e6)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--no-full", action="store_true", help="skip the uncompressed fit")
    ap.add_argument("--predict", action="store_true", help="also time P(alive), expected purchases and CLV for everyone")
    ap.add_argument("--interval", action="store_true", help="also time the CLV interval (delta method) for everyone")
    ap.add_argument("--model", default="bgnbd", choices=["bgnbd", "pareto", "mbgnbd"], help="purchase model to fit")
    ap.add_argument("--json", help="also write the results to this JSON file")
    ap.add_argument("--worker", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.worker:
        print(json.dumps(worker(json.loads(args.worker))))
        return 0

    n = int(args.customers)
    print(f"{args.model} fit on {n:,} generated customers (drawn from BG/NBD r=0.5, alpha=8, a=0.8, b=2.5); "
          f"load average {os.getloadavg()[0]:.2f}, {os.cpu_count()} CPUs")
    results = {}
    modes = ["compressed"] + ([] if args.no_full else ["full"]) + (["predict"] if args.predict else []) + (
        ["interval"] if args.interval else [])
    for mode in modes:
        res = run_worker({"mode": mode, "n": n, "seed": args.seed, "model": args.model})
        results[mode] = res
        extra = ""
        if "rows_fitted" in res:
            extra = f", {res['rows_fitted']:,} rows fitted, params " + ", ".join(f"{k}={v:.6f}" for k, v in res["params"].items())
        if mode == "interval":
            extra = f", total CLV {res['total']['point']:,.0f} ({res['total']['low']:,.0f} to {res['total']['high']:,.0f})"
        if mode == "predict":
            extra = f", total CLV {res['total_clv']:,.0f}, {res['fallbacks']} by fallback (fits took {res['fit_seconds']:.2f} s)"
        print(f"  {mode:<11} {res['seconds']:8.2f} s   peak {res['peak_mib']:8.0f} MiB (data {res['input_mib']:.0f} MiB){extra}")
    comp = results["compressed"]
    ratio = n / comp["rows_fitted"]
    print(f"compression: {n:,} customers -> {comp['rows_fitted']:,} distinct histories (ratio {ratio:.1f}x; "
          f"compressing took {comp['compress_seconds']:.2f} s)")
    target = "met" if comp["seconds"] < 10 else "NOT met"
    print(f"target compressed fit under 10 s: {target} ({comp['seconds']:.2f} s)")
    if "full" in results:
        a, b = pd.Series(comp["params"]), pd.Series(results["full"]["params"])
        rel = float((a / b - 1).abs().max())
        print(f"full fit {results['full']['seconds']:.2f} s: speed-up {results['full']['seconds'] / comp['seconds']:.1f}x; "
              f"largest relative parameter difference {rel:.2e} (target 1e-6: {'met' if rel <= 1e-6 else 'NOT met'})")
    print(f"load average at the end {os.getloadavg()[0]:.2f}")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as fh:
            json.dump(results, fh, indent=2)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
