"""Repeat buyers are one quantity (issue 15, consistent across pages): a purchase is a buying unit's purchase
day, a repeat buyer bought on two or more days up to the as-of date, repeat purchases are the purchase days
after the first (``ecrm_lib.data.overview.REPEAT_BUYER_DEFINITION``).

Small generated data checks the definition itself (the engine's count equals the purchase models'
``frequency``, and differs from counting transactions); the session's shared suite run
(``suite_runs`` in conftest) checks that every page showing the share of repeat buyers or the mean
repeat purchases shows the same figure.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
from bs4 import BeautifulSoup

from ecrm_lib.data.overview import repeat_buyers, repeat_figures
from ecrm_lib.value import clv
from ecrm_lib.value.features import rfm_summary


def _transactions(seed: int = 3, n: int = 400) -> pd.DataFrame:
    """Purchases of 60 customers, many of them several on one day, some near midnight (Seoul is UTC+9), some
    after the as-of date."""
    rng = np.random.default_rng(seed)
    cust = rng.integers(0, 60, n)
    day = pd.Timestamp("2024-01-01", tz="UTC") + pd.to_timedelta(rng.integers(0, 400, n), unit="D")
    hour = rng.choice([1, 10, 14, 15, 23], n)  # 15:00 UTC and later is the next day in Seoul
    ts = day + pd.to_timedelta(hour, unit="h")
    tx = pd.DataFrame({"customer_id": [f"c{c:02d}" for c in cust], "timestamp": ts, "amount": rng.uniform(5, 50, n)})
    # a second transaction on the same day (a same-day basket split) for a third of the rows
    dup = tx.sample(frac=0.33, random_state=seed).assign(timestamp=lambda d: d["timestamp"] + pd.Timedelta(minutes=20))
    return pd.concat([tx, dup], ignore_index=True)


@pytest.mark.parametrize("timezone", ["UTC", "Asia/Seoul"])
def test_repeat_buyers_are_the_purchase_models_repeat_days(timezone):
    tx = _transactions()
    as_of = "2024-12-01"
    engine = repeat_buyers(tx, "customer_id", as_of=as_of, timezone=timezone)
    summary = rfm_summary(tx, as_of=as_of, timezone=timezone)
    assert engine == pytest.approx(repeat_figures(summary["frequency"]))
    # independently, in pandas: distinct local days per customer up to the as-of date
    local = tx.assign(day=tx["timestamp"].dt.tz_convert(timezone).dt.date)
    local = local[local["day"] <= pd.Timestamp(as_of).date()]
    days = local.groupby("customer_id")["day"].nunique()
    assert engine["buyers"] == len(days) and engine["repeat_buyers"] == int((days > 1).sum())
    assert engine["mean_repeat_purchases"] == pytest.approx((days - 1).mean())
    # counting transactions instead (the other definition the pages used) gives a different, larger figure
    rows = local.groupby("customer_id").size()
    assert (rows - 1).mean() > engine["mean_repeat_purchases"]


def test_customer_value_base_table_shows_the_shared_figures():
    tx = _transactions(seed=5)
    summary = rfm_summary(tx, as_of="2024-12-01", timezone="Asia/Seoul")
    fig = repeat_buyers(tx, as_of="2024-12-01", timezone="Asia/Seoul")
    table = clv.base_table(summary, time_unit="W", calibration_end=None, n_excluded_new=None).set_index("measure")["value"]
    shown = dict(_repeat_rows(table.items()))
    assert shown == {"share": round(100 * fig["repeat_share"], 1), "mean": round(fig["mean_repeat_purchases"], 2),
                     "n": fig["repeat_buyers"]}


# ------------------------------------------------------------------------------------------ the pages
def _number(text: str) -> float:
    return float(text.replace(",", "").replace("%", "").strip())


def _repeat_rows(rows):
    """(what, value) from a page's (label, value) rows: the repeat buyers' count and share, the mean repeat purchases."""
    for label, value in rows:
        label = str(label).strip().lower()
        if label.startswith("repeat buyers"):
            m = re.fullmatch(r"([\d,]+) \(([\d.]+)%\)", str(value).strip())
            assert m, value
            yield "n", int(m.group(1).replace(",", ""))
            yield "share", float(m.group(2))
        elif label.startswith("mean repeat purchases"):
            yield "mean", _number(str(value))


def _table_rows(soup, first_header: str):
    """Rows (cells as text) of the page's tables whose first header cell is ``first_header``."""
    for table in soup.find_all("table"):
        head = [th.get_text(" ", strip=True) for th in table.find_all("th")]
        if head and head[0].lower() == first_header.lower():
            for tr in table.find_all("tr"):
                cells = [td.get_text(" ", strip=True) for td in tr.find_all("td")]
                if cells:
                    yield head, cells


@pytest.fixture(scope="module")
def pages(suite_runs):
    from ecrm_lib.run.context import RunLayout

    layout = RunLayout(suite_runs.latest.run_dir)

    def page(nb):
        html = layout.html(nb).read_text(encoding="utf-8")
        return BeautifulSoup(re.sub(r"<style[^>]*>.*?</style>", "", html, flags=re.S), "html.parser")

    view = suite_runs.view()
    return {"page": page, "view": view}


@pytest.fixture(scope="module")
def shared_figures(pages):
    """The figures by the shared definition, from the customer-value product (one row per resolved customer)."""
    values = pages["view"]["product"]("customer_value", "customer_value")
    return repeat_figures(values["frequency"])


@pytest.mark.slow
def test_customer_value_page_and_metrics_show_the_shared_figures(pages, shared_figures):
    f = shared_figures
    m = pages["view"]["metrics"]("customer_value")
    assert m["n_customers"] == f["buyers"] and m["n_repeat_customers"] == f["repeat_buyers"]
    rows = [(c[0], c[1]) for _, c in _table_rows(pages["page"]("customer_value"), "measure") if len(c) == 2]
    shown = dict(_repeat_rows(rows))
    assert shown == {"n": f["repeat_buyers"], "share": round(100 * f["repeat_share"], 1),
                     "mean": round(f["mean_repeat_purchases"], 2)}


@pytest.mark.slow
def test_shared_definition_on_the_run_s_transactions_is_the_customer_value_page_s(pages, shared_figures, suite_runs):
    """What the channel-integration page must show per customer: the engine's count on the run's kept
    transactions, re-keyed to customers, equals the customer-value figures."""
    from ecrm_lib.channels.customers import attach_customer_id
    from ecrm_lib.run.context import RunContext

    ctx = RunContext.open(suite_runs.latest.run_dir, notebook="customer_value")
    tx = attach_customer_id(ctx.table("transactions"), ctx.product_table("channel_integration", "account_map"))
    f = repeat_buyers(tx, "customer_id", as_of=ctx.as_of, timezone=ctx.config.timezone)
    assert f == pytest.approx(shared_figures)


@pytest.mark.slow
def test_channel_integration_page_shows_the_shared_figures(pages, shared_figures):
    """The channel-integration comparison's per-customer repeat figures (it counted transactions before: 70.7 % and
    2.59 against 70.5 % and 2.56 on the default data)."""
    f = shared_figures
    shown = {}
    for head, cells in _table_rows(pages["page"]("channel_integration"), "measure"):
        if "Per customer" not in head:
            continue
        col = head.index("Per customer")
        if cells[0] == "share with a repeat purchase":
            shown["share"] = _number(cells[col])
        elif cells[0] == "mean repeat purchases":
            shown["mean"] = _number(cells[col])
    assert set(shown) == {"share", "mean"}, "the comparison table was not found on the channel-integration page"
    assert shown == {"share": round(100 * f["repeat_share"], 1), "mean": round(f["mean_repeat_purchases"], 2)}
