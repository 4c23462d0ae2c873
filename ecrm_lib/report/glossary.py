"""The glossary of the terms the reports use, as a page of its own that every page links to.

Each term is explained for a strategy reader in one or two sentences, with how
to read its values. :func:`render_glossary_page` writes ``glossary.html`` into
a run folder; :func:`ecrm_lib.report.render.nav_html` is the link bar at the
top of every page.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from ecrm_lib.report.display import escape
from ecrm_lib.report.render import GLOSSARY_PAGE, nav_html, simple_page, write_page

__all__ = ["GLOSSARY", "anchor", "render_glossary_page"]

GLOSSARY: tuple[tuple[str, str], ...] = (
    ("AUC (ROC-AUC)", "How well a score ranks the customers who did something (for example, left) above those who "
     "did not: 0.5 is no better than chance, 1.0 is a perfect ranking. Measured on customers the model never saw."),
    ("BG/NBD, Pareto/NBD, MBG/NBD", "\"Buy 'til you die\" purchase models: each customer buys at their own rate "
     "while active and may silently stop. They predict how often each customer will buy and how likely they are "
     "still active, from how often and how recently they bought."),
    ("Churn", "A customer who stops buying. Here: no purchase during the churn window after a cut-off date. The "
     "churn rate is the share of such customers; each page says whether it counts all customers or the held-out ones."),
    ("CLV (customer lifetime value)", "The margin a customer is expected to bring over the coming horizon (one year "
     "by default), discounted to today: expected purchases times expected spend per purchase times the margin."),
    ("Confidence interval", "The range that holds the true value with the stated probability (usually 95 %), given "
     "the data. A difference whose interval includes zero is not shown to be real."),
    ("Control group", "Customers left out of a campaign at random. Comparing them with those who got it measures "
     "what the campaign itself changed."),
    ("Cost to serve", "What the contacts with a customer cost over a period: the number of contacts through each "
     "channel times that channel's cost per contact."),
    ("Gini coefficient", "How unequally value is spread over customers: 0 when every customer is worth the same, "
     "1 when one customer holds everything."),
    ("Holdout period", "The most recent part of the data, kept away from a model while it is fitted and then used "
     "to check its predictions against what customers actually did."),
    ("Lift", "How much more often something happens in a selected group than on average: a lift of 2 in the riskiest "
     "tenth means twice the average churn rate there."),
    ("Look-alike", "A customer who is not a target but resembles the targets in their purchase and contact behaviour."),
    ("Lorenz curve", "The share of total value held by the most valuable part of the customers, for every size of "
     "that part; the further it bulges from the diagonal, the more concentrated value is."),
    ("NPS (Net Promoter Score)", "The share of promoters (9-10 on the 0-10 recommendation question) minus the share "
     "of detractors (0-6), in points from -100 to +100."),
    ("P(alive)", "The probability that a customer is still active, that is, has not silently stopped buying."),
    ("Percentage points", "The difference between two percentages: from 10 % to 12 % is +2 percentage points "
     "(and +20 % in relative terms)."),
    ("Qini curve and coefficient", "How much extra response an uplift model gains by contacting the customers it "
     "ranks first, against contacting customers at random; the coefficient is 0 for random order and 1 for the "
     "best possible order."),
    ("RFM", "Recency (time since the last purchase), frequency (number of purchases) and monetary value (spend "
     "per purchase): the three measures behind the customer segments."),
    ("Sample-ratio check", "Whether the numbers of customers in a campaign's arms match the planned split; a "
     "mismatch (a very small p-value) means the assignment may not have been random."),
    ("Uplift", "The extra response a campaign causes: the response rate of those who got it minus that of the "
     "control group, in percentage points."),
)
"""``(term, explanation)`` in alphabetical order."""


def anchor(term: str) -> str:
    """The page anchor of a term (``"P(alive)"`` -> ``"p-alive"``)."""
    return re.sub(r"[^a-z0-9]+", "-", term.lower()).strip("-")


def render_glossary_page(run_dir: str | os.PathLike, title: str = "Glossary") -> Path:
    """Write ``glossary.html`` into a run folder.

    Returns
    -------
    Path
        The page.
    """
    items = "".join(f'<dt id="{anchor(t)}"><strong>{escape(t)}</strong></dt><dd>{escape(d)}</dd>' for t, d in GLOSSARY)
    inner = (nav_html(glossary=False) + f"<h1>{escape(title)}</h1>"
             "<p>The terms the reports use, in plain words.</p>" f"<dl>{items}</dl>")
    return write_page(Path(run_dir) / GLOSSARY_PAGE, simple_page(title, inner))
