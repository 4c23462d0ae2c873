"""The expansion page's figures (issue 15: amounts drawn from zero; issue 12: worded through plots.expansion.*)."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402

from ecrm_lib.core.language import using  # noqa: E402
from ecrm_lib.report.plots import seef as S  # noqa: E402


def _value_table(lo: float) -> pd.DataFrame:
    return pd.DataFrame({"added": [20, 47], "value": [420_000.0, 716_000.0], "value_low": [lo, 652_000.0],
                         "value_high": [460_000.0, 787_000.0], "value_random": [305_000.0, 716_000.0]})


def test_expansion_value_axis_starts_at_zero_for_amounts_that_cannot_be_negative():
    ax = S.plot_expansion_value(_value_table(380_000.0), currency="KRW")
    assert ax.get_ylim()[0] == 0 and ax.get_xlim()[0] == 0
    plt.close(ax.figure)
    ax = S.plot_expansion_value(_value_table(-50_000.0), currency="KRW")  # a lower bound below zero is drawn as it is
    assert ax.get_ylim()[0] < -50_000
    plt.close(ax.figure)


def test_expansion_figures_read_their_own_area_keys():
    with using("ko"):
        ax = S.plot_expansion_value(_value_table(380_000.0), currency="KRW")
        assert ax.get_title() == "유사 고객을 추가하면 얻는 가치"
        plt.close(ax.figure)
        mix = pd.DataFrame({"channel": ["app", "web"], "customers": [30, 17], "cost_per_contact": [50.0, 100.0], "suppressed": [False, False]})
        ax = S.plot_contact_plan_mix(mix, currency="KRW")
        assert ax.get_title() == "확장 고객의 가장 저렴한 채널" and ax.get_ylabel() == "채널"
        plt.close(ax.figure)
