"""The loop's comparison figure on a Korean page (issues 12 and 15): each panel's difference in its own unit (points,
purchases, money in 원) and each panel's axis label clear of the panel to its left."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import pandas as pd  # noqa: E402

from ecrm_lib.core.language import using  # noqa: E402
from ecrm_lib.report.plots import loop as lplots  # noqa: E402
from ecrm_lib.report.plots.base import set_theme  # noqa: E402

COMPARISON = pd.DataFrame({"outcome": ["purchased", "purchases", "revenue"], "targets": [0.07, 0.1, 3_700.0],
                           "matched_non_targets": [0.17, 0.22, 11_600.0], "difference": [-0.098, -0.12, -7_878.0],
                           "ci_low": [-0.2, -0.3, -20_000.0], "ci_high": [0.09, 0.07, 1_000.0]})


def test_each_panel_states_its_difference_in_its_unit():
    set_theme()
    with using("ko"):
        axes = lplots.plot_loop_comparison(COMPARISON, currency="KRW")
        titles = [ax.get_title() for ax in axes]
    assert titles[0].endswith("차이 -9.8%p") and titles[1].endswith("차이 -0.12") and titles[2].endswith("차이 -7,878원"), titles
    axes = lplots.plot_loop_comparison(COMPARISON, currency="KRW")
    assert [ax.get_title().split(": ", 1)[1] for ax in axes] == ["difference -9.8 points", "difference -0.12",
                                                                   "difference -7,878 KRW"]


def test_each_axis_label_is_clear_of_the_panel_to_its_left():
    set_theme()
    with using("ko"):
        axes = lplots.plot_loop_comparison(COMPARISON, currency="KRW")
    fig = axes[0].figure
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    for left, right in zip(axes[:-1], axes[1:]):
        label = right.yaxis.label.get_window_extent(renderer)
        ticks = [t.get_window_extent(renderer) for t in right.get_yticklabels() if t.get_text()]
        assert label.x0 >= left.get_window_extent(renderer).x1, (right.get_ylabel(), label.x0, left.get_window_extent(renderer).x1)
        assert all(t.x0 >= left.get_window_extent(renderer).x1 for t in ticks)
