"""Benchmark: per-customer RFM summary and calibration/holdout split.

Compares, on the same generated transactions (numpy, seeded):

- ``ours``: ``ecrm_lib.value.features.rfm_summary`` / ``calibration_holdout`` (Ibis on DuckDB);
- ``lifetimes``: ``lifetimes.utils.summary_data_from_transaction_data`` /
  ``calibration_and_holdout_data`` (with ``monetary_value_col``: without it the
  latter fails on pandas 3);
- ``pandas``: a plain pandas groupby;
- ``sql``: hand-written DuckDB SQL on the same pandas DataFrame.

Every method runs in its own subprocess, so that its peak memory is its own,
in rounds over all methods (best of ``--repeat`` rounds), so that a burst of
load on the machine slows every method rather than one:
the process's peak resident set is reset after the data is generated
(``/proc/self/clear_refs``) and read back after the method (``VmHWM``). Each
method's values are checked against ours (counts, recency and T exactly, spend
to 1e-9 relative). Then BG/NBD (``lifetimes.BetaGeoFitter``) is fitted on the
per-customer summary of the largest size with and without weight compression
(``compress_histories``).

Run from the repository root::

    .venv/bin/python benchmarks/bench_rfm.py                 # 1M and 10M transactions
    .venv/bin/python benchmarks/bench_rfm.py --sizes 1e6
    .venv/bin/python benchmarks/bench_rfm.py --quick         # 100k transactions, a smoke run

Targets (printed, never asserted): ours >= 10x faster than lifetimes, within
1.3x of hand-written DuckDB SQL; BG/NBD with compression under 10 s on 1M
customers, same parameters to 1e-6 relative.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
from _memory import reset_peak, rss_mib  # benchmarks/_memory.py (the script folder is on sys.path)

AS_OF = "2024-12-31"
CAL_END = "2024-06-30"
OBS_END = "2024-12-31"
UNIT_DAYS = 7.0
METHODS = ("ours", "lifetimes", "pandas", "sql")
TASKS = ("rfm", "cal")
RFM_COLS = ["frequency", "recency", "T", "monetary_value"]
CAL_COLS = [
    "frequency_cal",
    "recency_cal",
    "T_cal",
    "monetary_value_cal",
    "frequency_holdout",
    "monetary_value_holdout",
    "duration_holdout",
]


# --------------------------------------------------------------------------- data


def _bgnbd_customers(rng, m: int, horizon: float = 731.0, birth_span: float = 540.0):
    """Purchase times (days) of ``m`` customers who behave as BG/NBD assumes.

    Each customer makes a first purchase on a day uniform over the first
    ``birth_span`` days, then buys at rate lambda ~ Gamma(r, alpha) per day while
    alive and drops out after each repeat purchase with probability
    p ~ Beta(a, b) (r=0.3, alpha=4 days, a=0.8, b=3: about a quarter of the
    customers never buy again, a few buy very often).
    """
    lam = rng.gamma(0.3, 1.0 / 4.0, m)
    p = rng.beta(0.8, 3.0, m)
    birth = rng.uniform(0.0, birth_span, m)
    cust, days = [np.arange(m)], [birth]
    idx, t = np.arange(m), np.zeros(m)
    while idx.size:
        t = t + rng.exponential(1.0, idx.size) / lam[idx]
        ok = t <= horizon - birth[idx]
        idx, t = idx[ok], t[ok]
        cust.append(idx)
        days.append(birth[idx] + t)
        stay = rng.random(idx.size) >= p[idx]
        idx, t = idx[stay], t[stay]
    return np.concatenate(cust), np.concatenate(days)


def make_transactions(n: int, seed: int = 0) -> pd.DataFrame:
    """Exactly ``n`` transaction rows over 2023-2024, in time order (UTC timestamps, amounts in cents).

    Purchases come from :func:`_bgnbd_customers` (about 9 rows per customer, so
    about ``n / 9`` customers); a purchase has 1 + Poisson(0.25) rows within
    minutes of each other (same-day rows to merge, a few across midnight).
    """
    rng = np.random.default_rng(seed)
    custs, days, total, next_id = [], [], 0, 0
    while total < n:
        m = max(int((n - total) / 8.0), 1000)
        c, d = _bgnbd_customers(rng, m)
        lines = 1 + rng.poisson(0.25, c.size)
        c, d = np.repeat(c + next_id, lines), np.repeat(d, lines)
        custs.append(c)
        days.append(d)
        total += c.size
        next_id += m
    customer = np.concatenate(custs)[:n]
    day = np.concatenate(days)[:n]
    day = np.minimum(day + rng.uniform(0.0, 0.03, n), 730.99999)  # lines of one purchase: within 45 minutes
    order = np.argsort(day, kind="stable")
    start = np.datetime64("2023-01-01T00:00:00", "us")
    ts = start + (day[order] * 86400e6).astype("int64").astype("timedelta64[us]")
    return pd.DataFrame(
        {
            "customer_id": customer[order].astype("int64"),
            "timestamp": pd.DatetimeIndex(ts).tz_localize("UTC"),
            "amount": np.round(rng.gamma(2.0, 25.0, n), 2),
        }
    )


# --------------------------------------------------------------------------- methods


def ours_rfm(df):
    from ecrm_lib.value.features import rfm_summary

    return rfm_summary(df, as_of=AS_OF, time_unit="W")


def ours_cal(df):
    from ecrm_lib.value.features import calibration_holdout

    return calibration_holdout(df, calibration_end=CAL_END, observation_end=OBS_END, time_unit="W")


def _naive(df):
    # lifetimes compares raw timestamps with calibration_period_end (midnight), so a purchase at
    # 10:00 on the last calibration day would fall in the holdout: hand it UTC dates instead
    ts = df["timestamp"].dt.tz_localize(None).dt.normalize()
    return pd.DataFrame({"customer_id": df["customer_id"], "ts": ts, "amount": df["amount"]})


def lifetimes_rfm(df):
    from lifetimes.utils import summary_data_from_transaction_data

    return summary_data_from_transaction_data(
        _naive(df), "customer_id", "ts", monetary_value_col="amount", observation_period_end=AS_OF, freq="D", freq_multiplier=7
    )


def lifetimes_cal(df):
    from lifetimes.utils import calibration_and_holdout_data

    return calibration_and_holdout_data(
        _naive(df), "customer_id", "ts", calibration_period_end=CAL_END, observation_period_end=OBS_END,
        freq="D", freq_multiplier=7, monetary_value_col="amount",
    )


def _pandas_days(df, end):
    day = df["timestamp"].dt.tz_convert("UTC").dt.tz_localize(None).dt.normalize()
    keep = day <= pd.Timestamp(end)
    d = pd.DataFrame({"customer_id": df["customer_id"][keep], "day": day[keep], "amount": df["amount"][keep]})
    return d.groupby(["customer_id", "day"], sort=True)["amount"].sum().reset_index()


def _pandas_summary(daily, end):
    g = daily.groupby("customer_id", sort=True)
    first, last, n = g["day"].min(), g["day"].max(), g.size()
    total, first_amount = g["amount"].sum(), g["amount"].first()  # days are sorted within a customer
    freq = n - 1
    out = pd.DataFrame(
        {
            "frequency": freq,
            "recency": (last - first).dt.days / UNIT_DAYS,
            "T": (pd.Timestamp(end) - first).dt.days / UNIT_DAYS,
            "monetary_value": ((total - first_amount) / freq.where(freq > 0)).fillna(0.0),
        }
    )
    return out


def pandas_rfm(df):
    return _pandas_summary(_pandas_days(df, AS_OF), AS_OF)


def pandas_cal(df):
    daily = _pandas_days(df, OBS_END)
    in_cal = daily["day"] <= pd.Timestamp(CAL_END)
    cal = _pandas_summary(daily[in_cal], CAL_END).add_suffix("_cal")
    hold = daily[~in_cal].groupby("customer_id")["amount"].agg(["size", "mean"])
    hold = hold.reindex(cal.index, fill_value=0)
    cal["frequency_holdout"] = hold["size"].astype("int64")
    cal["monetary_value_holdout"] = hold["mean"].astype("float64")
    cal["duration_holdout"] = (pd.Timestamp(OBS_END) - pd.Timestamp(CAL_END)).days / UNIT_DAYS
    return cal


def _duckdb(df):
    import duckdb

    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    con.register("tx", df)
    return con


def sql_rfm(df):
    con = _duckdb(df)
    return con.execute(
        f"""
        WITH days AS (
            SELECT customer_id, CAST(timestamp AS DATE) AS day, SUM(amount) AS amount
            FROM tx WHERE CAST(timestamp AS DATE) <= DATE '{AS_OF}'
            GROUP BY ALL
        )
        SELECT customer_id,
               COUNT(*) - 1 AS frequency,
               date_diff('day', MIN(day), MAX(day)) / 7.0 AS recency,
               date_diff('day', MIN(day), DATE '{AS_OF}') / 7.0 AS T,
               CASE WHEN COUNT(*) > 1 THEN (SUM(amount) - arg_min(amount, day)) / (COUNT(*) - 1) ELSE 0 END AS monetary_value
        FROM days GROUP BY customer_id ORDER BY customer_id
        """
    ).df().set_index("customer_id")


def sql_cal(df):
    con = _duckdb(df)
    return con.execute(
        f"""
        WITH days AS (
            SELECT customer_id, CAST(timestamp AS DATE) AS day, SUM(amount) AS amount
            FROM tx WHERE CAST(timestamp AS DATE) <= DATE '{OBS_END}'
            GROUP BY ALL
        ), c AS (
            SELECT customer_id, MIN(day) AS first_day,
                   COUNT(*) FILTER (WHERE day <= DATE '{CAL_END}') AS n_cal,
                   MAX(day) FILTER (WHERE day <= DATE '{CAL_END}') AS last_cal,
                   SUM(amount) FILTER (WHERE day <= DATE '{CAL_END}') AS spend_cal,
                   arg_min(amount, day) AS first_amount,
                   COUNT(*) FILTER (WHERE day > DATE '{CAL_END}') AS n_hold,
                   SUM(amount) FILTER (WHERE day > DATE '{CAL_END}') AS spend_hold
            FROM days GROUP BY customer_id
        )
        SELECT customer_id,
               n_cal - 1 AS frequency_cal,
               date_diff('day', first_day, last_cal) / 7.0 AS recency_cal,
               date_diff('day', first_day, DATE '{CAL_END}') / 7.0 AS T_cal,
               CASE WHEN n_cal > 1 THEN (spend_cal - first_amount) / (n_cal - 1) ELSE 0 END AS monetary_value_cal,
               n_hold AS frequency_holdout,
               CASE WHEN n_hold > 0 THEN spend_hold / n_hold ELSE 0 END AS monetary_value_holdout,
               date_diff('day', DATE '{CAL_END}', DATE '{OBS_END}') / 7.0 AS duration_holdout
        FROM c WHERE first_day <= DATE '{CAL_END}' ORDER BY customer_id
        """
    ).df().set_index("customer_id")


RUNNERS = {f"{m}_{t}": globals()[f"{m}_{t}"] for m in METHODS for t in TASKS}


# --------------------------------------------------------------------------- worker (one subprocess per method)


def worker(spec: dict) -> dict:
    # import every library before timing: import time is not what is compared
    import duckdb  # noqa: F401
    import ibis  # noqa: F401
    import lifetimes.utils  # noqa: F401

    import ecrm_lib.value.features  # noqa: F401

    df = make_transactions(int(spec["n"]), seed=spec["seed"])
    gc.collect()
    input_mib = rss_mib("VmRSS")
    fn = RUNNERS[f"{spec['method']}_{spec['task']}"]
    # warm-up on a small slice: first-call costs (Ibis compiler caches, DuckDB start-up) are paid
    # once per session, not per data size
    fn(df.iloc[:: max(len(df) // 2000, 1)])
    gc.collect()
    times = []
    peak_reset = reset_peak()
    for _ in range(spec["repeat"]):
        t0 = time.perf_counter()
        result = fn(df)
        times.append(time.perf_counter() - t0)
        if _ in range(spec["repeat"] - 1):
            del result
            gc.collect()
    peak = rss_mib("VmHWM") if peak_reset else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    cols = RFM_COLS if spec["task"] == "rfm" else CAL_COLS
    out = result[cols].copy()
    out.index = out.index.astype("int64")
    out.index.name = "customer_id"
    out.to_parquet(spec["out"])
    return {
        "seconds": min(times),
        "all_seconds": times,
        "peak_mib": peak,
        "input_mib": input_mib,
        "peak_reset": peak_reset,
        "rows_out": len(out),
        "excluded_new": result.attrs.get("excluded_new_customers"),
    }


def run_worker(spec: dict) -> dict:
    proc = subprocess.run(
        [sys.executable, __file__, "--worker", json.dumps(spec)],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONWARNINGS": "ignore"},
    )
    if proc.returncode != 0:
        raise RuntimeError(f"{spec['method']}/{spec['task']} at n={spec['n']} failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


# --------------------------------------------------------------------------- checks


def compare(ours: pd.DataFrame, other: pd.DataFrame, method: str) -> str:
    """'identical' or a short description of what differs."""
    notes = []
    if not ours.index.equals(other.index.sort_values()):
        missing, extra = ours.index.difference(other.index), other.index.difference(ours.index)
        return f"customers differ ({len(missing)} missing, {len(extra)} extra)"
    other = other.loc[ours.index]
    for col in ours.columns:
        a, b = ours[col].to_numpy(dtype="float64"), other[col].to_numpy(dtype="float64")
        if col.startswith("monetary"):
            bad = ~np.isclose(a, b, rtol=1e-9, atol=1e-9)
        else:
            bad = a != b
        if bad.any():
            if method == "lifetimes" and col == "monetary_value_holdout":
                notes.append(f"{col}: {bad.sum()} differ (lifetimes averages rows, not days)")
            else:
                notes.append(f"{col}: {bad.sum()} differ")
    return "; ".join(notes) if notes else "identical"


# --------------------------------------------------------------------------- BG/NBD


def bgnbd(summary_path: str) -> dict:
    from lifetimes import BetaGeoFitter

    from ecrm_lib.value.features import compress_histories

    s = pd.read_parquet(summary_path)
    t0 = time.perf_counter()
    unique, _inverse = compress_histories(s)
    t_compress = time.perf_counter() - t0
    t0 = time.perf_counter()
    comp = BetaGeoFitter().fit(unique["frequency"], unique["recency"], unique["T"], weights=unique["weight"])
    t_comp = time.perf_counter() - t0
    t0 = time.perf_counter()
    full = BetaGeoFitter().fit(s["frequency"], s["recency"], s["T"])
    t_full = time.perf_counter() - t0
    rel = np.abs(comp.params_.to_numpy() / full.params_.to_numpy() - 1).max()
    return {
        "customers": len(s),
        "unique_rows": len(unique),
        "compress_seconds": t_compress,
        "fit_compressed_seconds": t_comp,
        "fit_full_seconds": t_full,
        "params_full": full.params_.round(6).to_dict(),
        "params_compressed": comp.params_.round(6).to_dict(),
        "max_rel_diff": float(rel),
    }


# --------------------------------------------------------------------------- main


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", nargs="+", type=float, default=[1e6, 1e7], help="numbers of transactions (default 1e6 1e7)")
    ap.add_argument("--quick", action="store_true", help="one small size (1e5), one repeat: a smoke run")
    ap.add_argument("--repeat", type=int, default=3, help="rounds over all methods; the best time is reported (default 3)")
    ap.add_argument("--methods", nargs="+", choices=METHODS, default=list(METHODS))
    ap.add_argument("--no-bgnbd", action="store_true", help="skip the BG/NBD fits")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json", type=Path, help="also write all results to this JSON file")
    ap.add_argument("--worker", help=argparse.SUPPRESS)
    ap.add_argument("--bgnbd-worker", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)

    if args.worker:
        print(json.dumps(worker(json.loads(args.worker))))
        return 0
    if args.bgnbd_worker:
        print(json.dumps(bgnbd(args.bgnbd_worker)))
        return 0

    sizes = [1e5] if args.quick else args.sizes
    repeat = 1 if args.quick else args.repeat
    methods = ["ours"] + [m for m in args.methods if m != "ours"]
    import duckdb
    import ibis
    import lifetimes

    print(
        f"# bench_rfm: {os.cpu_count()} cores, python {sys.version.split()[0]}, pandas {pd.__version__}, "
        f"duckdb {duckdb.__version__}, ibis {ibis.__version__}, lifetimes {lifetimes.__version__}; "
        f"load average at start {os.getloadavg()[0]:.1f}; best of {repeat} rounds",
        flush=True,
    )
    rows = []
    bg = None
    with tempfile.TemporaryDirectory(prefix="bench_rfm_") as tmp:
        for n in sizes:
            n = int(n)
            for task in TASKS:
                # rounds over all methods, so that a burst of load on the machine hits every method
                # rather than one; the best time of the rounds is reported
                runs: dict[str, list[dict]] = {m: [] for m in methods}
                for rnd in range(repeat):
                    for method in methods:
                        out = str(Path(tmp) / f"{method}_{task}_{n}.parquet")
                        spec = {"n": n, "seed": args.seed, "method": method, "task": task, "repeat": 1, "out": out}
                        runs[method].append(run_worker(spec))
                        print(f"  n={n:,} {task} {method} round {rnd + 1}: {runs[method][-1]['seconds']:.2f} s", flush=True)
                ref = pd.read_parquet(Path(tmp) / f"ours_{task}_{n}.parquet")
                for method in methods:
                    result = pd.read_parquet(Path(tmp) / f"{method}_{task}_{n}.parquet")
                    check = "reference" if method == "ours" else compare(ref, result, method)
                    r = dict(runs[method][0])
                    r.update(
                        seconds=min(x["seconds"] for x in runs[method]),
                        all_seconds=[x["seconds"] for x in runs[method]],
                        peak_mib=max(x["peak_mib"] for x in runs[method]),
                        input_mib=min(x["input_mib"] for x in runs[method]),
                        n=n,
                        method=method,
                        task=task,
                        check=check,
                    )
                    rows.append(r)
                    print(
                        f"n={n:>10,} {task:<4} {method:<10} {r['seconds']:8.2f} s  peak {r['peak_mib']:7.0f} MiB  {check}",
                        flush=True,
                    )
        if not args.no_bgnbd:
            largest = int(max(sizes))
            path = str(Path(tmp) / f"ours_rfm_{largest}.parquet")
            proc = subprocess.run(
                [sys.executable, __file__, "--bgnbd-worker", path],
                capture_output=True,
                text=True,
                env={**os.environ, "PYTHONWARNINGS": "ignore"},
            )
            if proc.returncode != 0:
                print(f"BG/NBD failed:\n{proc.stderr[-3000:]}")
            else:
                bg = json.loads(proc.stdout.strip().splitlines()[-1])

    table = pd.DataFrame(rows)
    ours_s = table[table["method"] == "ours"].set_index(["n", "task"])["seconds"]
    table["x_ours"] = [s / ours_s[(n, t)] for s, n, t in zip(table["seconds"], table["n"], table["task"])]
    table["extra_mib"] = table["peak_mib"] - table["input_mib"]
    print("\n| transactions | task | method | seconds | time / ours | peak MiB | peak above input MiB | values vs ours |")
    print("|---:|---|---|---:|---:|---:|---:|---|")
    for r in table.itertuples():
        print(
            f"| {r.n:,} | {r.task} | {r.method} | {r.seconds:.2f} | {r.x_ours:.2f} | {r.peak_mib:.0f} | "
            f"{r.extra_mib:.0f} | {r.check} |"
        )
    print("\nTargets:")
    for n in sorted(table["n"].unique()):
        for task in TASKS:
            sub = table[(table["n"] == n) & (table["task"] == task)].set_index("method")["seconds"]
            line = f"  n={n:,} {task}:"
            if "lifetimes" in sub:
                sp = sub["lifetimes"] / sub["ours"]
                line += f" {sp:.1f}x faster than lifetimes ({'met' if sp >= 10 else 'NOT met'}, target >= 10x);"
            if "sql" in sub:
                sl = sub["ours"] / sub["sql"]
                line += f" {sl:.2f}x the time of hand-written SQL ({'met' if sl <= 1.3 else 'NOT met'}, target <= 1.3x)"
            print(line)
    if bg:
        ratio = bg["customers"] / bg["unique_rows"]
        print(
            f"\nBG/NBD on {bg['customers']:,} customers: {bg['unique_rows']:,} unique (frequency, recency, T) rows "
            f"(compression {ratio:.1f}x, {bg['compress_seconds']:.2f} s to compress)\n"
            f"  fit on all customers: {bg['fit_full_seconds']:.1f} s; fit on compressed rows: {bg['fit_compressed_seconds']:.1f} s "
            f"({'met' if bg['fit_compressed_seconds'] < 10 else 'NOT met'}, target < 10 s)\n"
            f"  parameters {bg['params_full']} vs {bg['params_compressed']}: max relative difference {bg['max_rel_diff']:.1e} "
            f"({'met' if bg['max_rel_diff'] <= 1e-6 else 'NOT met'}, target <= 1e-6)"
        )
    print(f"\nload average at end {os.getloadavg()[0]:.1f}")
    if args.json:
        args.json.write_text(json.dumps({"rows": rows, "bgnbd": bg}, indent=2, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
