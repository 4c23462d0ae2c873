"""Issue 13 item 13: no count of 1-4 people on a published page, checked on a three-customer data set.

The suite's generator (50 persons) is cut down to the three persons with the most purchases, every
table filtered to their accounts; the whole suite runs and every page of the run (each report, the index
and the glossary) is scanned for counts of 1-4 people in prose and table cells: responders per arm, arm
sizes of the sample-ratio table, customers in the analysis, answers, "customers (1)", "customers who
contacted us: 2", the buying units of the channel page, customers found per upstream report.
The source-file table of the data overview (rows read per file) is not read as a count of people.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pandas as pd
import pytest

#: Words that follow a count of people.
PEOPLE = r"(?:customers?|accounts?|persons?|people|responders?|targets?|answers?|buyers?|look-?alikes?)"
#: Table headers of columns that count people.
COUNT_HEADERS = re.compile(r"^(?:customers|responders|treated customers|control customers|answers|accounts|texts|earlier customers"
                           r"|customers found|customers missing|targets|customers added|look-?alikes)$", re.I)
#: Measures (first cell of a row) that count people, e.g. "buying units" (accounts / customers) of the channel page.
COUNT_ROWS = re.compile(r"^(?:buying units|customers|buyers|targets|customers with a purchase|repeat buyers.*)$", re.I)


def small_counts(html: str) -> list[str]:
    """Counts of 1-4 people on a page: "3 customers" in prose, ``arm: 2`` in a cell, 1-4 in a count column."""
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(html, "html.parser")
    for s in soup(["script", "style"]):
        s.decompose()
    text = " ".join(soup.get_text(" ").split())
    hits = [text[max(0, m.start() - 50): m.end()] for m in
            re.finditer(r"(?<![\d.,%+-])\b[1-4]\s+(?:repeat\s+|treated\s+|control\s+|other\s+)?" + PEOPLE + r"\b", text, flags=re.I)]
    # "customers (3)", "customers who contacted us: 2", "3 of 3 customers" (the first count)
    hits += [text[max(0, m.start() - 50): m.end()] for m in
             re.finditer(r"\b" + PEOPLE + r"\s*\(\s*[1-4]\s*\)", text, flags=re.I)]
    hits += [text[max(0, m.start() - 50): m.end()] for m in
             re.finditer(r"\b" + PEOPLE + r"(?:\s+\w+){0,4}\s*:\s*[1-4](?![\d.,%])", text, flags=re.I)]
    hits += [text[max(0, m.start() - 50): m.end()] for m in
             re.finditer(r"(?<![\d.,%+-])\b[1-4]\s+of\s+(?:the\s+)?[\d,]+\s+" + PEOPLE, text, flags=re.I)]
    for table in soup.find_all("table"):
        rows = table.find_all("tr")
        heads = [th.get_text(" ", strip=True) for th in rows[0].find_all(["th", "td"])] if rows else []
        for tr in rows[1:]:
            cells = [c.get_text(" ", strip=True) for c in tr.find_all(["td", "th"])]
            for h, c in zip(heads[-len(cells):] if len(heads) >= len(cells) else heads, cells):
                if COUNT_HEADERS.match(h) and re.fullmatch(r"[1-4]", c):
                    hits.append(f"{h} = {c} in row {' | '.join(cells)[:120]}")
            for c in cells:
                if re.search(r"(?:^|, )[^,:]+: [1-4](?:,|$)", c):
                    hits.append(f"cell {c[:120]}")
            if len(cells) == 2 and re.search(PEOPLE, cells[0], flags=re.I) and re.fullmatch(r"[1-4]", cells[1]):
                hits.append(f"{cells[0]} = {cells[1]}")
            if len(cells) > 2 and COUNT_ROWS.match(cells[0]) and any(re.fullmatch(r"[1-4]", c) for c in cells[1:]):
                hits.append(f"row {' | '.join(cells)[:120]}")
    return hits


def test_scanner_finds_what_it_should():
    page = ("<p>For 3 customers the channels disagree; 12 customers bought; 2.5 accounts each.</p><table>"
            "<tr><th>arm</th><th>customers</th><th>responders</th></tr><tr><td>t</td><td>26</td><td>4</td></tr>"
            "<tr><td>c</td><td>24</td><td>&lt;5</td></tr></table><table><tr><th>x</th><th>observed</th></tr>"
            "<tr><td>c1</td><td>control: 1, treatment: 30</td></tr></table>"
            "<table><tr><th>measure</th><th>value</th></tr><tr><td>customers</td><td>1</td></tr></table>")
    hits = small_counts(page)
    assert len(hits) == 4, hits
    more = ("<p>33.3% of the customers (1) are known in two channels. Customers who contacted us: 2; the other 3 customers; "
            "2 of 40 customers. Customers who contacted us: fewer than 5; 12 customers (41); 2.5 of 3.5; 1 = the riskiest.</p>"
            "<table><tr><th>Measure</th><th>Unit</th><th>Per account</th><th>Per customer</th></tr>"
            "<tr><td>buying units</td><td>accounts / customers</td><td>3</td><td>3</td></tr></table>"
            "<table><tr><th>Product</th><th>Customers found</th></tr><tr><td>churn_risk</td><td>2</td></tr>"
            "<tr><td>customer_value</td><td>&lt;5</td></tr></table>")
    hits = small_counts(more)
    assert len(hits) == 6, hits
    clean = ("<p>Fewer than 5 customers bought; 1,204 customers; 12 accounts; 0 targets; 3.5 accounts per customer; "
             "9 customers (12.5%); 1 = the riskiest tenth.</p>")
    assert small_counts(clean) == []


def test_figure_labels_and_library_sentences_mask_1_to_4_people():
    """Figure labels and sentences the library builds (errors shown as a page's reason) read <5 / fewer than 5."""
    import matplotlib

    matplotlib.use("Agg")
    import numpy as np

    from ecrm_lib.core.privacy import count_label, mask_count_text, mask_small_counts
    from ecrm_lib.report.plots.channels import plot_component_sizes
    from ecrm_lib.seef.expansion import lookalike_model
    from ecrm_lib.value.churn import split_customers

    ax = plot_component_sizes(pd.DataFrame({"stage": "final", "size": [1, 2, 3], "n_customers": [40, 3, 0], "n_accounts": [40, 6, 0]}))
    assert [t.get_text() for t in ax.texts] == ["40", "<5", "0"]
    assert mask_small_counts(pd.DataFrame({"n": [2, 7]}), "n")["n"].tolist() == ["<5", "7"] and count_label(4.0) == "<5"
    assert mask_count_text([("a", 0), ("b", 4)]) == "a: 0, b: <5"
    X = pd.DataFrame({"x": [1.0, 2.0, 3.0]}, index=["c1", "c2", "c3"])
    with pytest.raises(Exception) as err:
        split_customers(X, pd.DataFrame({"churned": [1, 0, 0]}, index=X.index))
    assert "fewer than 5 customers: fewer than 5 churned and fewer than 5 bought again" in str(err.value)
    customers = pd.DataFrame({"customer_id": ["c1", "c2", "c3"], "x": [1.0, 2.0, 3.0]})
    with pytest.raises(ValueError) as err:
        lookalike_model(customers, np.array([False, False, True]), features=["x"])
    assert small_counts(f"<p>{err.value}</p>") == [] and "fewer than 5" in str(err.value)


def _three_customer_data(tmp: Path) -> Path:
    from ecrm_lib.data.synth import generate

    generate(tmp / "g", n_persons=50, seed=1)
    persons = pd.read_csv(tmp / "g" / "truth" / "persons.csv")
    tx = pd.read_csv(tmp / "g" / "transactions.csv").merge(persons[["account_id", "person_id"]], on="account_id")
    keep = set(persons.loc[persons["person_id"].isin(tx["person_id"].value_counts().index[:3]), "account_id"])
    out = tmp / "three"
    out.mkdir()
    for f in (tmp / "g").glob("*.csv"):
        d = pd.read_csv(f, dtype=str, keep_default_na=False)
        d = d[d["account_id"].isin(keep)] if "account_id" in d else d
        d.to_csv(out / f.name, index=False)
    shutil.copy(tmp / "g" / "config.yaml", out / "config.yaml")
    assert pd.read_csv(out / "campaigns.csv")["account_id"].nunique() <= 4
    return out / "config.yaml"


@pytest.mark.slow
def test_no_count_of_1_to_4_people_on_any_page(tmp_path):
    from ecrm_lib.run.registry import load_registry
    from ecrm_lib.run.runner import run_suite

    config = _three_customer_data(tmp_path)
    outcome = run_suite(config, as_of="2025-06-30", out_dir=tmp_path / "reports", test_params=True, history=False, progress=None)
    assert outcome.status == "ok", [r.status_text() for r in outcome.results]
    pages = sorted(p.stem for p in outcome.run_dir.glob("*.html"))
    expected = set(load_registry().names()) | {"index", "glossary"}
    assert expected <= set(pages), sorted(expected - set(pages))
    found = {page: small_counts((outcome.run_dir / f"{page}.html").read_text(encoding="utf-8")) for page in pages}
    assert found == dict.fromkeys(pages, [])
