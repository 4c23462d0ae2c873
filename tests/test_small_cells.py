"""Issue 13 item 13: no count of 1-4 people on a published page, checked on a three-customer data set.

The suite's generator (50 persons) is cut down to the three persons with the most purchases, every
table filtered to their accounts; the suite runs (the executive summary needs every report) and the pages
of the data overview, customer value, feedback and the executive summary are scanned for counts of 1-4
people in prose and table cells: responders per arm, arm sizes of the sample-ratio table, customers in
the analysis, answers. (The channel, churn, selection and expansion pages still show some; see issue 13.)
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
COUNT_HEADERS = re.compile(r"^(?:customers|responders|treated customers|control customers|answers|accounts|texts|earlier customers)$", re.I)


def small_counts(html: str) -> list[str]:
    """Counts of 1-4 people on a page: "3 customers" in prose, ``arm: 2`` in a cell, 1-4 in a count column."""
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(html, "html.parser")
    for s in soup(["script", "style"]):
        s.decompose()
    text = " ".join(soup.get_text(" ").split())
    hits = [text[max(0, m.start() - 50): m.end()] for m in
            re.finditer(r"(?<![\d.,%+-])\b[1-4]\s+(?:repeat\s+|treated\s+|control\s+)?" + PEOPLE + r"\b", text, flags=re.I)]
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
    return hits


def test_scanner_finds_what_it_should():
    page = ("<p>For 3 customers the channels disagree; 12 customers bought; 2.5 accounts each.</p><table>"
            "<tr><th>arm</th><th>customers</th><th>responders</th></tr><tr><td>t</td><td>26</td><td>4</td></tr>"
            "<tr><td>c</td><td>24</td><td>&lt;5</td></tr></table><table><tr><th>x</th><th>observed</th></tr>"
            "<tr><td>c1</td><td>control: 1, treatment: 30</td></tr></table>"
            "<table><tr><th>measure</th><th>value</th></tr><tr><td>customers</td><td>1</td></tr></table>")
    hits = small_counts(page)
    assert len(hits) == 4, hits


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
def test_no_count_of_1_to_4_people_on_the_value_feedback_overview_and_summary_pages(tmp_path):
    from ecrm_lib.run.runner import run_suite

    config = _three_customer_data(tmp_path)
    pages = ("data_overview", "customer_value", "feedback", "executive_summary")
    outcome = run_suite(config, as_of="2025-06-30", notebooks=list(pages), out_dir=tmp_path / "reports",
                        test_params=True, history=False, progress=None)
    assert outcome.status == "ok", [r.status_text() for r in outcome.results]
    found = {}
    for page in pages:
        html = (outcome.run_dir / f"{page}.html").read_text(encoding="utf-8")
        found[page] = small_counts(html)
    assert found == dict.fromkeys(pages, [])
