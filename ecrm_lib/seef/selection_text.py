"""The Selection page's words built from the library's results, in the current report language.

Each function returns text or a table worded through the message catalogue (``selection.*``), so that
a report calls it once per report language (``say(..., x=lambda: rule_words(rule))`` or
``show(lambda: ...)``): nothing here is English built once and shown on a Korean page.

Examples
--------
>>> rule_words({"clv_tier_min": "top10", "churn_decile_max": 2, "combine": "any", "max_targets": 600})
'CLV in the top 10% or churn risk decile at most 2 (1 = riskiest); at most 600 targets'
>>> from ecrm_lib.core.language import using
>>> with using("ko"):
...     rule_words({"clv_tier_min": "top10", "churn_decile_max": 2, "combine": "any", "max_targets": 600})
'CLV 상위 10% 또는 이탈 위험 10분위 2 이하(1 = 가장 위험); 대상 고객 최대 600명'
"""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

from ecrm_lib.core import i18n
from ecrm_lib.seef.contact import VALUE_BAR_KEY, value_bar, value_bar_text
from ecrm_lib.seef.rfm import segment_label, segment_labels

__all__ = ["changed_segments", "choice_method", "feedback_table", "policy_name", "rule_words", "segment_names", "weight_action"]


def _tier_words(value) -> str:
    if isinstance(value, str):
        return value.lower().replace("top", "").strip().rstrip("%")
    return f"{float(value) * 100:g}"


def rule_words(rule: Mapping) -> str:
    """The rule as one phrase in the current report language: its criteria joined by "and"/"or", then its options.

    Keys the phrase does not word (none today) are left out; :func:`ecrm_lib.seef.rule.describe_rule`
    lists every key.
    """
    t = i18n.t
    crit = []
    if "clv_tier_min" in rule:
        crit.append(t("selection.rule_words.clv_tier_min", pct=_tier_words(rule["clv_tier_min"])))
    if "clv_min" in rule:
        crit.append(t("selection.rule_words.clv_min", v=f"{float(rule['clv_min']):,.0f}"))
    if "churn_probability_min" in rule:
        crit.append(t("selection.rule_words.churn_probability_min", p=f"{float(rule['churn_probability_min']):.2f}"))
    if "churn_decile_max" in rule:
        crit.append(t("selection.rule_words.churn_decile_max", d=int(rule["churn_decile_max"])))
    if rule.get("segments"):
        crit.append(t("selection.rule_words.segments", names=segment_names(rule["segments"])))
    if rule.get("clusters"):
        crit.append(t("selection.rule_words.clusters", names=", ".join(map(str, rule["clusters"]))))
    joiner = t("selection.rule_words.or" if rule.get("combine", "all") == "any" else "selection.rule_words.and")
    text = joiner.join(crit)
    opts = []
    if rule.get("max_targets") is not None:
        opts.append(t("selection.rule_words.max_targets", n=int(rule["max_targets"])))
    if VALUE_BAR_KEY in rule:
        bar = value_bar(rule)
        opts.append(t("selection.rule_words.bar_off") if bar is None else t("selection.rule_words.bar", bar=value_bar_text(bar)))
    if rule.get("segment_weights"):
        opts.append(t("selection.rule_words.weights", n=len(rule["segment_weights"])))
    return "; ".join([text, *opts]) if opts else text


def weight_action(action: str) -> str:
    """A feedback action (``keep``, ``down-weight``, ``remove``, ``unchanged``) in the current report language.

    >>> weight_action("down-weight"), weight_action("something else")
    ('down-weighted', 'something else')
    """
    key = f"selection.feedback_action.{str(action).replace('-', '_')}"
    return i18n.t(key) if i18n.has(key) else str(action)


def feedback_table(changes: pd.DataFrame, weights: pd.DataFrame | None = None) -> pd.DataFrame:
    """What the previous run's feedback changed, per segment, for display: ``segment``, ``uplift``, ``ci_low``,
    ``ci_high`` (from ``weights``, shares; missing for segments without feedback), ``weight``, ``action`` (worded),
    ``targets_without``, ``targets_with``, ``moved_in``, ``moved_out``; a shipped segment's name in the current report
    language (:func:`ecrm_lib.seef.rfm.segment_label`), a name of the user's own segment table as written.

    Parameters
    ----------
    changes : DataFrame
        :func:`ecrm_lib.seef.rule.feedback_changes` per segment.
    weights : DataFrame, optional
        :func:`ecrm_lib.seef.weights.feedback_weights` (``segment``, ``uplift``, ``ci_low``, ``ci_high``).
    """
    out = changes.copy()
    if weights is not None and {"uplift", "ci_low", "ci_high"} <= set(weights.columns):
        w = weights.assign(segment=weights["segment"].astype(str)).drop_duplicates("segment").set_index("segment")
        for c in ("uplift", "ci_low", "ci_high"):
            out[c] = out["segment"].astype(str).map(w[c]).astype(float)
    else:
        for c in ("uplift", "ci_low", "ci_high"):
            out[c] = float("nan")
    out["action"] = out["action"].map(weight_action)
    out = segment_labels(out)  # shipped segment names in the report language (the weights matched on the names as assigned)
    return out[["segment", "uplift", "ci_low", "ci_high", "weight", "action", "targets_without", "targets_with",
                "moved_in", "moved_out"]]


def segment_names(names) -> str:
    """Segment names joined by commas, each as a page shows it (:func:`ecrm_lib.seef.rfm.segment_label`: a shipped
    segment's name in the current report language, the user's own as written).

    >>> from ecrm_lib.core.language import using
    >>> with using("ko"):
    ...     segment_names(["Hibernating", "VIP Seoul"])
    '휴면 고객, VIP Seoul'
    """
    return ", ".join(segment_label(n) for n in names)


def changed_segments(changes: pd.DataFrame) -> str:
    """The segments the feedback down-weighted or removed (``weight`` below 1), each with its action, in the current
    report language, e.g. ``"Hibernating (removed), Lost (down-weighted)"``; ``"-"`` when none.

    Parameters
    ----------
    changes : DataFrame
        :func:`ecrm_lib.seef.rule.feedback_changes` (``segment``, ``weight``, ``action``).

    >>> from ecrm_lib.core.language import using
    >>> ch = pd.DataFrame({"segment": ["Lost", "Gold", "Loyal"], "weight": [0.0, 0.5, 1.0],
    ...                    "action": ["remove", "down-weight", "keep"]})
    >>> changed_segments(ch)
    'Lost (removed), Gold (down-weighted)'
    >>> with using("ko"):
    ...     changed_segments(ch).startswith("이탈 고객 (")
    True
    """
    down = changes[changes["weight"].astype(float) < 1]
    return ", ".join(f"{segment_label(s)} ({weight_action(a)})" for s, a in zip(down["segment"], down["action"])) or "-"


_POLICIES = {"by incremental profit": "by_incremental_profit", "rule": "rule", "everyone": "everyone",
             "random, same size": "random_same_size"}
_METHODS = {"best channel per customer": "best_channel", "none positive": "none_positive",
            "no channel with contacts": "no_channel"}


def policy_name(policy: str) -> str:
    """A way of choosing (the ``policy`` column of :func:`ecrm_lib.seef.profit_eval.bootstrap_policies`) in the current
    report language; a name the suite does not know is shown as written.

    >>> policy_name("random, same size"), policy_name("my own list")
    ('random picks, same size', 'my own list')
    """
    key = _POLICIES.get(str(policy))
    return i18n.t(f"selection.policy.{key}") if key else str(policy)


def choice_method(method: str) -> str:
    """How :func:`ecrm_lib.seef.profit.choose_targets` chose (its summary's ``method``) in the current report language."""
    m = str(method)
    key = _METHODS.get(m) or ("greedy" if m.startswith("greedy") else "capacities" if m.startswith("assignment") else None)
    return i18n.t(f"selection.method.{key}") if key else m
