"""Plots of the Feedback report. Each function takes a tidy DataFrame from
:mod:`ecrm_lib.seef.uplift`, :mod:`ecrm_lib.seef.uplift_models`, :mod:`ecrm_lib.seef.satisfaction` or :mod:`ecrm_lib.seef.text`
and an optional ``ax``, labels its axes with units and returns the Axes.

Figures name topics ``topic 1``, ``topic 2``, ... (``주제 1`` on Korean pages);
:func:`plot_topic_words` draws each topic's top words (Korean words too: the
plotting base registers NanumGothic), beside the report's table of them.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import seaborn as sns

from ecrm_lib.report.plots.base import PALETTE, count_axis, date_axis, number_axis, points_axis, share_axis, term, zero_based
from ecrm_lib.report.plots.base import label as _t
from ecrm_lib.report.plots.base import get_ax as _ax
from ecrm_lib.report.plots.base import truncate_label as _truncate
from ecrm_lib.seef.tokens import LANGUAGE_NAMES
from ecrm_lib.seef.tone import TONES

__all__ = ["plot_uplift", "plot_segment_uplift", "plot_qini", "plot_nps_over_time", "plot_nps_change", "plot_nps_by_group",
           "plot_topics", "plot_topic_words"]


def _colors(n: int):
    return sns.color_palette(PALETTE, max(n, 1))


def plot_uplift(uplift: pd.DataFrame, ax=None):
    """Response-rate uplift of each treatment arm over control with its interval, in percentage points.

    Parameters
    ----------
    uplift : DataFrame
        Output of :func:`ecrm_lib.seef.uplift.campaign_uplift` (control rows are skipped).
    """
    d = uplift[~uplift["is_control"].astype(bool)].copy()
    ax = _ax(ax, (9, max(2.5, 0.6 * len(d) + 1.5)))
    if d.empty:
        ax.text(0.5, 0.5, _t("feedback.uplift_empty"), ha="center", va="center", transform=ax.transAxes)
        ax.set_axis_off()
        return ax
    labels = [_truncate(f"{c}: {a}", 50) if d["campaign_id"].nunique() > 1 else _truncate(a, 50)
              for c, a in zip(d["campaign_id"], d["arm"])]
    y = np.arange(len(d))
    pts = 100 * d["uplift"].to_numpy(float)
    err = np.vstack([pts - 100 * d["ci_low"].to_numpy(float), 100 * d["ci_high"].to_numpy(float) - pts])
    ax.errorbar(pts, y, xerr=err, fmt="o", color=_colors(1)[0], capsize=5, markersize=8)
    ax.axvline(0, color="0.3", lw=1, ls="--")
    ax.set_yticks(y, labels)
    ax.set_ylim(-0.7, len(d) - 0.3)
    ax.invert_yaxis()
    ax.set_xlabel(_t("common.uplift_x"))
    points_axis(ax.xaxis)
    ax.set_ylabel("")
    ax.set_title(_t("feedback.uplift_title"))
    return ax


def plot_segment_uplift(segments: pd.DataFrame, ax=None, segment_label: str | None = None):
    """Uplift per segment and arm with intervals (percentage points); suppressed cells are left out.

    Thick bars are each segment's own interval; thin whiskers, when the table has ``adj_ci_low`` /
    ``adj_ci_high``, the simultaneous intervals over all segments.

    Parameters
    ----------
    segments : DataFrame
        Output of :func:`ecrm_lib.seef.uplift.uplift_by_segment` (with several campaigns, one series per
        campaign and arm, labelled ``campaign · arm``).
    segment_label : str, optional
        Name of the segment attribute, for the axis (None: "segment" in the report language).
    """
    segment_label = term(segment_label if segment_label is not None else "segment")
    d = segments[~segments["suppressed"]].copy()
    if "campaign_id" in d and d["campaign_id"].nunique() > 1:  # one series per campaign and arm (arms share names)
        d["arm"] = d["campaign_id"].astype(str) + " · " + d["arm"].astype(str)
    arms = list(dict.fromkeys(d["arm"]))
    segs = list(dict.fromkeys(sorted(d["segment"].astype(str))))
    ax = _ax(ax, (9, max(3, 0.5 * len(segs) * max(1, len(arms)) * 0.6 + 1.5)))
    if d.empty:
        ax.text(0.5, 0.5, _t("feedback.segments_empty"), ha="center", va="center", transform=ax.transAxes)
        ax.set_axis_off()
        return ax
    width = 0.7 / max(1, len(arms))
    for i, (arm, c) in enumerate(zip(arms, _colors(len(arms)))):
        part = d[d["arm"] == arm].set_index("segment").reindex(segs)
        y = np.arange(len(segs)) + (i - (len(arms) - 1) / 2) * width
        pts = 100 * part["uplift"].to_numpy(float)
        err = np.vstack([pts - 100 * part["ci_low"].to_numpy(float), 100 * part["ci_high"].to_numpy(float) - pts])
        if "adj_ci_low" in part:  # the simultaneous interval over all segments, thin and wider
            adj = np.vstack([pts - 100 * part["adj_ci_low"].to_numpy(float), 100 * part["adj_ci_high"].to_numpy(float) - pts])
            ax.errorbar(pts, y, xerr=adj, fmt="none", ecolor=c, elinewidth=0.8, capsize=4, alpha=0.7)
        ax.errorbar(pts, y, xerr=err, fmt="o", color=c, elinewidth=2.5, capsize=0, label=_truncate(arm, 40))
    ax.axvline(0, color="0.3", lw=1, ls="--")
    ax.set_yticks(np.arange(len(segs)), [_truncate(s, 30) for s in segs])
    ax.invert_yaxis()
    ax.set_xlabel(_t("feedback.segments_x_adjusted") if "adj_ci_low" in d else _t("common.uplift_x"))
    points_axis(ax.xaxis)
    ax.set_ylabel(_truncate(segment_label, 30))
    ax.set_title(_t("feedback.segments_title", segment=_truncate(segment_label, 30)))
    if len(arms) > 1:
        ax.legend(title=_t("feedback.arm"), loc="best", frameon=True)
    return ax


def plot_qini(curves: pd.DataFrame, ax=None):
    """Qini curves (incremental responders against the share of accounts targeted) with the random line.

    Parameters
    ----------
    curves : DataFrame
        Rows of :func:`ecrm_lib.seef.uplift_models.qini_curve` with an added ``label`` column (one curve per label,
        e.g. per arm and model).
    """
    ax = _ax(ax)
    labels = list(dict.fromkeys(curves["label"]))
    for label, c in zip(labels, _colors(len(labels))):
        part = curves[curves["label"] == label]
        ax.plot(100 * part["share"], part["qini"], color=c, lw=2, label=_truncate(label, 40))
        ax.plot(100 * part["share"], part["random"], color=c, lw=1, ls="--")
    ax.plot([], [], color="0.4", ls="--", lw=1, label=_t("feedback.qini_random"))
    ax.axhline(0, color="0.6", lw=0.8)
    ax.set_xlabel(_t("feedback.qini_x"))
    ax.set_ylabel(_t("feedback.qini_y"))
    share_axis(ax.xaxis, scale=100)
    number_axis(ax.yaxis)
    ax.set_title(_t("feedback.qini_title"))
    ax.legend(loc="upper left", frameon=True)
    return ax


def plot_nps_over_time(monthly: pd.DataFrame, periods: dict | None = None, ax=None):
    """NPS per month with its interval band; suppressed months and rows without a date are left out.

    Parameters
    ----------
    monthly : DataFrame
        Output of :func:`ecrm_lib.seef.satisfaction.satisfaction_by` with ``by="month"``.
    periods : dict, optional
        :func:`ecrm_lib.seef.satisfaction.nps_period_comparison`: the NPS of its two windows is drawn
        as a level line over each window's months, with its interval as a hatched band.
    """
    ax = _ax(ax)
    d = monthly[(~monthly["suppressed"]) & (monthly["group"] != "no date")].copy()
    if d.empty:
        ax.text(0.5, 0.5, _t("feedback.nps_empty"), ha="center", va="center", transform=ax.transAxes)
        ax.set_axis_off()
        return ax
    x = pd.to_datetime(d["group"] + "-01")
    c, c2 = _colors(2)
    ax.fill_between(x, d["ci_low"], d["ci_high"], color=c, alpha=0.15, label=_t("feedback.monthly_interval"))
    ax.plot(x, d["nps"], marker="o", color=c, lw=1, ms=4, label=_t("feedback.nps_per_month"))
    if periods and not periods.get("reason"):
        for i, key in enumerate(("previous", "recent")):
            w = periods[key]
            xs = [pd.Timestamp(w["start"]).replace(day=1), pd.Timestamp(w["end"])]
            ax.fill_between(xs, [w["ci_low"]] * 2, [w["ci_high"]] * 2, facecolor="none", edgecolor=c2, hatch="//",
                            lw=0, label=_t("feedback.period_nps", months=periods["months"]) if i == 0 else None)
            ax.plot(xs, [w["nps"]] * 2, color=c2, lw=2.5)
    ax.axhline(0, color="0.4", lw=0.8, ls="--")
    ax.set_ylim(-100, 100)  # the NPS scale's whole range: a month's swing reads against it
    points_axis(ax.yaxis)
    date_axis(ax.xaxis, minticks=3, maxticks=8)
    ax.set_xlabel(_t("common.month"))
    ax.set_ylabel(_t("feedback.nps_x"))
    ax.set_title(_t("feedback.nps_title"))
    ax.legend(loc="lower left", frameon=True)
    return ax


def plot_nps_change(changes: pd.DataFrame, ci_level: float = 0.95, ax=None):
    """Changes of NPS as points with their interval bars, on an axis that holds every interval and zero.

    A small change with a wide interval is drawn as such: the axis always spans the intervals
    and 0 (with a margin), never just the change.

    Parameters
    ----------
    changes : DataFrame
        :func:`ecrm_lib.seef.satisfaction.nps_changes_table`: ``comparison``, ``change``, ``ci_low``,
        ``ci_high`` (points).
    ci_level : float
        Coverage of the intervals (share), for the axis label.
    """
    d = changes.dropna(subset=["change", "ci_low", "ci_high"])
    ax = _ax(ax, (9, max(2.2, 0.6 * len(d) + 1.4)))
    if d.empty:
        ax.text(0.5, 0.5, _t("feedback.change_empty"), ha="center", va="center", transform=ax.transAxes)
        ax.set_axis_off()
        return ax
    y = np.arange(len(d))
    pts = d["change"].to_numpy(float)
    err = np.vstack([pts - d["ci_low"].to_numpy(float), d["ci_high"].to_numpy(float) - pts])
    ax.errorbar(pts, y, xerr=err, fmt="o", color=_colors(1)[0], capsize=5, markersize=8)
    for yi, (v, lo, hi) in enumerate(zip(pts, d["ci_low"], d["ci_high"])):
        ax.annotate(_t("feedback.change_note", change=f"{v:+.1f}", low=f"{lo:+.1f}", high=f"{hi:+.1f}"), xy=(v, yi), xytext=(0, 9), textcoords="offset points",
                    ha="center", va="bottom", fontsize=9)
    ax.axvline(0, color="0.3", lw=1, ls="--")
    lo, hi = min(0.0, float(d["ci_low"].min())), max(0.0, float(d["ci_high"].max()))
    pad = max(1.0, 0.15 * (hi - lo))
    ax.set_xlim(lo - pad, hi + pad)
    points_axis(ax.xaxis)
    ax.set_yticks(y, [_truncate(str(c), 40) for c in d["comparison"]])
    ax.set_ylim(-0.7, len(d) - 0.3)
    ax.invert_yaxis()
    ax.set_xlabel(_t("feedback.change_x", level=ci_level))
    ax.set_ylabel("")
    ax.set_title(_t("feedback.change_title"))
    return ax


def plot_nps_by_group(groups: pd.DataFrame, ax=None, value: str = "nps", group_label: str | None = None):
    """NPS (or CSAT) per group as points with interval bars; suppressed groups left out.

    Parameters
    ----------
    groups : DataFrame
        Output of :func:`ecrm_lib.seef.satisfaction.satisfaction_by`.
    value : {"nps", "csat"}
    group_label : str, optional
        Name of the grouping, for the title (None: "channel" in the report language).
    """
    group_label = _t("common.channel") if group_label is None else term(group_label)
    d = groups[~groups["suppressed"]].copy()
    ax = _ax(ax, (9, max(2.5, 0.45 * len(d) + 1.5)))
    if d.empty:
        ax.text(0.5, 0.5, _t("feedback.groups_empty"), ha="center", va="center", transform=ax.transAxes)
        ax.set_axis_off()
        return ax
    scale = 1 if value == "nps" else 100
    y = np.arange(len(d))
    pts = scale * d[value].to_numpy(float)
    err = np.vstack([pts - scale * d["ci_low"].to_numpy(float), scale * d["ci_high"].to_numpy(float) - pts])
    ax.errorbar(pts, y, xerr=err, fmt="o", color=_colors(1)[0], capsize=4)
    ax.set_yticks(y, [_t("feedback.group_tick", group=_truncate(g, 25), n=n) for g, n in zip(d["group"], d["n"])])
    ax.invert_yaxis()
    if value == "nps":
        ax.axvline(0, color="0.4", lw=0.8, ls="--")
        points_axis(ax.xaxis)
        ax.set_xlabel(_t("feedback.nps_x"))
        ax.set_title(_t("feedback.nps_group_title", group=group_label))
    else:
        ax.set_xlabel(_t("feedback.csat_x"))
        share_axis(ax.xaxis, scale=100)
        ax.set_title(_t("feedback.csat_group_title", group=group_label))
    ax.set_ylabel("")
    return ax


def plot_topics(summary: pd.DataFrame, ax=None):
    """Texts per topic as bars split by tone (negative, neutral, positive), with each topic's language.

    Parameters
    ----------
    summary : DataFrame
        :attr:`ecrm_lib.seef.text.FeedbackText.by_topic`: ``topic`` (int), ``n`` (texts),
        ``negative_share``, ``neutral_share``, ``positive_share`` (0-1 of the texts with a tone,
        may be missing), optionally ``language`` (code).
    """
    d = summary.sort_values("topic")
    ax = _ax(ax, (9, max(2.5, 0.45 * len(d) + 1.5)))
    lang = d["language"] if "language" in d else pd.Series([None] * len(d), index=d.index)
    labels = [_t("feedback.topic_language", topic=int(t), language=term(LANGUAGE_NAMES.get(g, g))) if isinstance(g, str)
              else _t("feedback.topic", topic=int(t)) for t, g in zip(d["topic"], lang)]
    y = np.arange(len(d))
    n = d["n"].to_numpy(float)
    shares = d[[f"{t}_share" for t in TONES]].astype(float)
    colours = {"negative": _colors(4)[3], "neutral": "0.7", "positive": _colors(1)[0]}
    if shares.isna().all(axis=None):
        ax.barh(y, n, color="0.6", label=_t("feedback.no_tone"))
    else:
        left = np.zeros(len(d))
        for t in TONES:
            width = n * shares[f"{t}_share"].fillna(0).to_numpy()
            ax.barh(y, width, left=left, color=colours[t], label=term(t))
            left += width
    for i, (total, pos) in enumerate(zip(n, shares["positive_share"])):
        if pd.notna(pos):
            ax.text(total, i, "  " + _t("feedback.positive_note", share=pos), va="center", fontsize=9)
    ax.set_yticks(y, labels)
    ax.invert_yaxis()
    ax.set_xlim(0, n.max() * 1.3 if len(d) else 1)
    count_axis(ax.xaxis)
    ax.set_xlabel(_t("feedback.topics_x"))
    ax.set_ylabel("")
    ax.set_title(_t("feedback.topics_title"))
    ax.legend(loc="lower right", frameon=True)
    return ax


def plot_topic_words(words: pd.DataFrame, languages: dict | None = None, top: int = 8, ncols: int = 3, axes=None):
    """Horizontal bars per topic: its ``top`` words by their weight in the topic (small multiples).

    The words are data (Korean words draw through the NanumGothic fallback of
    the plotting base); the weights are the topic model's, comparable within a
    panel, not across panels.

    Parameters
    ----------
    words : DataFrame
        :attr:`ecrm_lib.seef.topics.TopicModel.words`: ``topic``, ``rank``, ``word``, ``weight``
        (already cleared of known names by :func:`ecrm_lib.seef.text.text_result`).
    languages : dict, optional
        :attr:`ecrm_lib.seef.topics.TopicModel.languages` (topic -> language code), named in each panel's title.
    top : int
        Words per topic, strongest first.
    ncols : int
        Panels per row.
    axes : array of matplotlib Axes, optional
        At least one per topic.

    Returns
    -------
    numpy.ndarray of matplotlib Axes
        One per topic (a single Axes saying so when there is no word).
    """
    import matplotlib.pyplot as plt

    topics = sorted(words["topic"].dropna().unique()) if len(words) else []
    if not topics:
        ax = _ax(axes.flat[0] if axes is not None else None, (6, 1.5))
        ax.text(0.5, 0.5, _t("feedback.words_empty"), ha="center", va="center", transform=ax.transAxes)
        ax.set_axis_off()
        return np.array([ax])
    languages = dict(languages or {})
    ncols = max(1, min(ncols, len(topics)))
    nrows = -(-len(topics) // ncols)
    if axes is None:
        fig, axes = plt.subplots(nrows, ncols, figsize=(3.4 * ncols, 0.28 * top * nrows + 1.2 * nrows + 0.4),
                                 squeeze=False, layout="constrained")
        fig.suptitle(_t("feedback.words_title"), fontweight="bold")
    flat = np.asarray(axes).ravel()
    colours = _colors(len(topics))
    for ax, topic, colour in zip(flat, topics, colours):
        d = words[words["topic"] == topic].sort_values("rank").head(top)
        y = np.arange(len(d))
        ax.barh(y, d["weight"].to_numpy(float), color=colour)
        ax.set_yticks(y, [_truncate(w, 18) for w in d["word"].astype(str)])
        ax.invert_yaxis()
        code = languages.get(topic, languages.get(int(topic)))
        ax.set_title(_t("feedback.topic_language", topic=int(topic), language=term(LANGUAGE_NAMES.get(code, code))) if code
                     else _t("feedback.topic", topic=int(topic)), fontsize=10)
        ax.set_xlabel(_t("feedback.words_x"), fontsize=8)
        number_axis(ax.xaxis)
        ax.set_xlim(left=0)
        ax.tick_params(axis="x", labelsize=7)
    for ax in flat[len(topics):]:
        ax.set_axis_off()
    return flat[: len(topics)]
