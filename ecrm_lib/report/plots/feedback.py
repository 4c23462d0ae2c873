"""Plots of the Feedback report. Each function takes a tidy DataFrame from
:mod:`ecrm_lib.seef.uplift`, :mod:`ecrm_lib.seef.uplift_models`, :mod:`ecrm_lib.seef.satisfaction` or :mod:`ecrm_lib.seef.text`
and an optional ``ax``, labels its axes with units and returns the Axes.

Topic words are not drawn into figures (the plotting fonts may lack Hangul);
figures name topics ``topic 1``, ``topic 2``, ... and the report's tables give
their words.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import seaborn as sns

from ecrm_lib.report.plots.base import PALETTE
from ecrm_lib.report.plots.base import get_ax as _ax
from ecrm_lib.report.plots.base import truncate_label as _truncate
from ecrm_lib.seef.tokens import LANGUAGE_NAMES
from ecrm_lib.seef.tone import TONES

__all__ = ["plot_uplift", "plot_segment_uplift", "plot_qini", "plot_nps_over_time", "plot_nps_change", "plot_nps_by_group",
           "plot_topics"]


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
        ax.text(0.5, 0.5, "No treatment arm with a control group", ha="center", va="center", transform=ax.transAxes)
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
    ax.set_xlabel("response-rate uplift over control (percentage points)")
    ax.set_ylabel("")
    ax.set_title("Campaign uplift with its confidence interval")
    return ax


def plot_segment_uplift(segments: pd.DataFrame, ax=None, segment_label: str = "segment"):
    """Uplift per segment and arm with intervals (percentage points); suppressed cells are left out.

    Thick bars are each segment's own interval; thin whiskers, when the table has ``adj_ci_low`` /
    ``adj_ci_high``, the simultaneous intervals over all segments.

    Parameters
    ----------
    segments : DataFrame
        Output of :func:`ecrm_lib.seef.uplift.uplift_by_segment`.
    segment_label : str
        Name of the segment attribute, for the axis.
    """
    d = segments[~segments["suppressed"]].copy()
    arms = list(dict.fromkeys(d["arm"]))
    segs = list(dict.fromkeys(sorted(d["segment"].astype(str))))
    ax = _ax(ax, (9, max(3, 0.5 * len(segs) * max(1, len(arms)) * 0.6 + 1.5)))
    if d.empty:
        ax.text(0.5, 0.5, "Every segment is too small to show", ha="center", va="center", transform=ax.transAxes)
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
        ax.errorbar(pts, y, xerr=err, fmt="o", color=c, elinewidth=2.5, capsize=0, label=_truncate(arm, 30))
    ax.axvline(0, color="0.3", lw=1, ls="--")
    ax.set_yticks(np.arange(len(segs)), [_truncate(s, 30) for s in segs])
    ax.invert_yaxis()
    ax.set_xlabel("response-rate uplift over control (percentage points)"
                  + ("\n(thick: each group's interval; thin: adjusted for all groups)" if "adj_ci_low" in d else ""))
    ax.set_ylabel(_truncate(segment_label, 30))
    ax.set_title(f"Uplift by {_truncate(segment_label, 30)}")
    if len(arms) > 1:
        ax.legend(title="arm", loc="best", frameon=True)
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
    ax.plot([], [], color="0.4", ls="--", lw=1, label="random targeting")
    ax.axhline(0, color="0.6", lw=0.8)
    ax.set_xlabel("accounts targeted, highest predicted uplift first (% of accounts)")
    ax.set_ylabel("incremental responders (accounts)")
    ax.set_title("Qini curve on held-out predictions")
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
        ax.text(0.5, 0.5, "Too few dated answers per month", ha="center", va="center", transform=ax.transAxes)
        ax.set_axis_off()
        return ax
    x = pd.to_datetime(d["group"] + "-01")
    c, c2 = _colors(2)
    ax.fill_between(x, d["ci_low"], d["ci_high"], color=c, alpha=0.15, label="monthly interval")
    ax.plot(x, d["nps"], marker="o", color=c, lw=1, ms=4, label="NPS per month")
    if periods and not periods.get("reason"):
        for i, key in enumerate(("previous", "recent")):
            w = periods[key]
            xs = [pd.Timestamp(w["start"]).replace(day=1), pd.Timestamp(w["end"])]
            ax.fill_between(xs, [w["ci_low"]] * 2, [w["ci_high"]] * 2, facecolor="none", edgecolor=c2, hatch="//",
                            lw=0, label=f"{periods['months']}-month NPS and its interval" if i == 0 else None)
            ax.plot(xs, [w["nps"]] * 2, color=c2, lw=2.5)
    ax.axhline(0, color="0.4", lw=0.8, ls="--")
    ax.set_ylim(-100, 100)
    import matplotlib.dates as mdates

    loc = mdates.AutoDateLocator(minticks=3, maxticks=8)
    ax.xaxis.set_major_locator(loc)
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(loc))
    ax.set_xlabel("month")
    ax.set_ylabel("NPS (points, -100 to +100)")
    ax.set_title("Net Promoter Score by month")
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
        ax.text(0.5, 0.5, "No change of NPS can be measured", ha="center", va="center", transform=ax.transAxes)
        ax.set_axis_off()
        return ax
    y = np.arange(len(d))
    pts = d["change"].to_numpy(float)
    err = np.vstack([pts - d["ci_low"].to_numpy(float), d["ci_high"].to_numpy(float) - pts])
    ax.errorbar(pts, y, xerr=err, fmt="o", color=_colors(1)[0], capsize=5, markersize=8)
    for yi, (v, lo, hi) in enumerate(zip(pts, d["ci_low"], d["ci_high"])):
        ax.annotate(f"{v:+.1f} ({lo:+.1f} to {hi:+.1f})", xy=(v, yi), xytext=(0, 9), textcoords="offset points",
                    ha="center", va="bottom", fontsize=9)
    ax.axvline(0, color="0.3", lw=1, ls="--")
    lo, hi = min(0.0, float(d["ci_low"].min())), max(0.0, float(d["ci_high"].max()))
    pad = max(1.0, 0.15 * (hi - lo))
    ax.set_xlim(lo - pad, hi + pad)
    ax.set_yticks(y, [_truncate(str(c), 40) for c in d["comparison"]])
    ax.set_ylim(-0.7, len(d) - 0.3)
    ax.invert_yaxis()
    ax.set_xlabel(f"change in NPS (points) with its {ci_level:.0%} interval; 0 = no change")
    ax.set_ylabel("")
    ax.set_title("Has NPS changed?")
    return ax


def plot_nps_by_group(groups: pd.DataFrame, ax=None, value: str = "nps", group_label: str = "channel"):
    """NPS (or CSAT) per group as points with interval bars; suppressed groups left out.

    Parameters
    ----------
    groups : DataFrame
        Output of :func:`ecrm_lib.seef.satisfaction.satisfaction_by`.
    value : {"nps", "csat"}
    group_label : str
    """
    d = groups[~groups["suppressed"]].copy()
    ax = _ax(ax, (9, max(2.5, 0.45 * len(d) + 1.5)))
    if d.empty:
        ax.text(0.5, 0.5, "Every group is too small to show", ha="center", va="center", transform=ax.transAxes)
        ax.set_axis_off()
        return ax
    scale = 1 if value == "nps" else 100
    y = np.arange(len(d))
    pts = scale * d[value].to_numpy(float)
    err = np.vstack([pts - scale * d["ci_low"].to_numpy(float), scale * d["ci_high"].to_numpy(float) - pts])
    ax.errorbar(pts, y, xerr=err, fmt="o", color=_colors(1)[0], capsize=4)
    ax.set_yticks(y, [f"{_truncate(g, 25)} (n={int(n):,})" for g, n in zip(d["group"], d["n"])])
    ax.invert_yaxis()
    if value == "nps":
        ax.axvline(0, color="0.4", lw=0.8, ls="--")
        ax.set_xlabel("NPS (points, -100 to +100)")
        ax.set_title(f"Net Promoter Score by {group_label}")
    else:
        ax.set_xlabel("CSAT: answers in the top two boxes (% of answers)")
        ax.set_title(f"Customer satisfaction (CSAT) by {group_label}")
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
    labels = [f"topic {int(t)}" + (f" ({LANGUAGE_NAMES.get(g, g)})" if isinstance(g, str) else "")
              for t, g in zip(d["topic"], lang)]
    y = np.arange(len(d))
    n = d["n"].to_numpy(float)
    shares = d[[f"{t}_share" for t in TONES]].astype(float)
    colours = {"negative": _colors(4)[3], "neutral": "0.7", "positive": _colors(1)[0]}
    if shares.isna().all(axis=None):
        ax.barh(y, n, color="0.6", label="texts (no tone measured)")
    else:
        left = np.zeros(len(d))
        for t in TONES:
            width = n * shares[f"{t}_share"].fillna(0).to_numpy()
            ax.barh(y, width, left=left, color=colours[t], label=t)
            left += width
    for i, (total, pos) in enumerate(zip(n, shares["positive_share"])):
        if pd.notna(pos):
            ax.text(total, i, f"  {100 * pos:.0f}% positive", va="center", fontsize=9)
    ax.set_yticks(y, labels)
    ax.invert_yaxis()
    ax.set_xlim(0, n.max() * 1.3 if len(d) else 1)
    ax.set_xlabel("texts (count), split by tone")
    ax.set_ylabel("")
    ax.set_title("Feedback texts per topic and their tone")
    ax.legend(loc="lower right", frameon=True)
    return ax
