"""The feedback notebook's words on a Korean page (issue 12): the cells that compute a table or a sentence once must
word it again in each report language. Each test runs one cell of notebooks/40_feedback.ipynb on small data with
the real library, the page functions (``say``, ``show``, ``figure``) replaced by recorders, and then renders what the
cell handed them in Korean, as the page does for its Korean copy."""

from __future__ import annotations

import json
import types

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from korean_text import HANGUL  # noqa: E402

from ecrm_lib.channels.common import channel_activity, group_name, ungrouped_note  # noqa: E402
from ecrm_lib.core import privacy  # noqa: E402
from ecrm_lib.core.i18n import t  # noqa: E402
from ecrm_lib.core.language import using  # noqa: E402
from ecrm_lib.core.paths import NOTEBOOKS_DIR  # noqa: E402
from ecrm_lib.report.plots import feedback as fplots  # noqa: E402
from ecrm_lib.report.plots.base import set_theme  # noqa: E402
from ecrm_lib.seef import satisfaction, uplift_models  # noqa: E402


def _cell(marker: str) -> str:
    """The source of the one code cell of the feedback notebook that contains ``marker``."""
    cells = [''.join(c["source"]) for c in json.loads((NOTEBOOKS_DIR / "40_feedback.ipynb").read_text(encoding="utf-8"))["cells"]
             if c["cell_type"] == "code" and marker in ''.join(c["source"])]
    assert len(cells) == 1, f"{len(cells)} cells contain {marker!r}"
    return cells[0]


class Page:
    """Records what a cell says, shows and draws (the callables as given, rendered later in one language)."""

    def __init__(self):
        self.said, self.shown, self.drawn = [], [], []

    def names(self) -> dict:
        return dict(say=lambda key, **values: self.said.append((key, values)),
                    show=lambda table, caption=None, columns=None, **kw: self.shown.append(table),
                    figure=lambda draw: self.drawn.append(draw), t=t, pd=pd, privacy=privacy)


def _in_language(value):
    return value() if callable(value) else value


def _feedback(with_scale: bool = True) -> pd.DataFrame:
    """Two years of NPS answers on one channel, a few a day (the scale column only when ``with_scale``)."""
    rng = np.random.default_rng(1)
    days = pd.date_range("2023-07-01", "2025-06-29", freq="D", tz="UTC")
    ts = np.repeat(days, 3) + pd.Timedelta(hours=3)
    out = pd.DataFrame({"channel": "web", "timestamp": ts, "score": rng.integers(0, 11, len(ts)).astype(float)})
    return out.assign(score_max=10.0) if with_scale else out


def test_nps_change_figure_words_its_comparisons_in_korean():
    """The figure of NPS changes labels its comparisons in the page's language (it drew the English labels on the
    Korean page when the table was built once, outside the drawing)."""
    set_theme()
    answers = satisfaction.score_counts(_feedback(), by=["channel"], timezone="Asia/Seoul")
    nps_rows = answers[satisfaction.nps_scale_rows(answers)]
    ctx = types.SimpleNamespace(as_of=pd.Timestamp("2025-06-30").date(),
                                earlier_runs=lambda: pd.DataFrame({"as_of": [pd.Timestamp("2024-12-31").date()]}))
    changes = []

    def plot_nps_change(table, **kw):  # the real figure, with the table it was given kept
        changes.append(table)
        return fplots.plot_nps_change(table, **kw)

    page = Page()
    ns = dict(page.names(), satisfaction=satisfaction, ctx=ctx, ci_level=0.95, min_cell=5, tz="Asia/Seoul", has_feedback=True,
              answers=answers, nps_rows=nps_rows, overall=satisfaction.nps(nps_rows["score"], weights=nps_rows["answers"]),
              fplots=types.SimpleNamespace(plot_nps_over_time=lambda *a, **k: None, plot_nps_change=plot_nps_change))
    exec(_cell("nps_changes_table"), ns)
    with using("ko"):
        axes = [a for a in (draw() for draw in page.drawn) if a is not None]
    assert len(axes) == 1 and len(changes) == 1
    ticks = [tick.get_text() for tick in axes[0].get_yticklabels() if tick.get_text()]
    assert len(ticks) == 2 and all(HANGUL.search(s) for s in ticks), ticks
    assert not any("months" in s or "NPS now" in s for s in ticks), ticks
    assert HANGUL.search(axes[0].get_title()) and HANGUL.search(axes[0].get_xlabel())
    # and the English page keeps its English labels
    english = [a for a in (draw() for draw in page.drawn) if a is not None][0]
    assert [tick.get_text() for tick in english.get_yticklabels()][0].startswith("last 12 months")


def test_inferred_score_scale_note_is_korean():
    """Feedback without a score scale: the note on how the scale was read is said in the page's language."""
    page = Page()
    ns = dict(page.names(), satisfaction=satisfaction, has_feedback=True, tables={"feedback": _feedback(with_scale=False)},
              ctx=types.SimpleNamespace(has=lambda name: False), tz="Asia/Seoul", ci_level=0.95, min_cell=5)
    exec(_cell("score_max_note"), ns)
    notes = [values["s"] for key, values in page.said if key == "common.text"]
    assert len(notes) == 1
    with using("ko"):
        ko = _in_language(notes[0])
    assert HANGUL.search(ko) and "scale" not in ko, ko
    assert "10" in _in_language(notes[0])


def _campaign(arms: dict[str, tuple[int, int]], seed: int = 3) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A campaign with arms ``{arm: (accounts, responders)}`` (``control`` is the control group) and two features."""
    rng = np.random.default_rng(seed)
    parts = []
    for arm, (n, r) in arms.items():
        parts.append(pd.DataFrame({"campaign_id": "c1", "arm": arm, "is_control": arm == "control",
                                   "response": rng.permutation(np.r_[np.ones(r, int), np.zeros(n - r, int)])}))
    camp = pd.concat(parts, ignore_index=True)
    camp["account_id"] = [f"a{i}" for i in range(len(camp))]
    return camp, pd.DataFrame(rng.normal(size=(len(camp), 2)), columns=["x1", "x2"], index=camp.index)


def _run_qini_cell(camp, features, max_rows=None) -> Page:
    page = Page()
    models = types.SimpleNamespace(campaign_features=lambda c, **kw: features.loc[c.index], uplift_models_by_arm=uplift_models.uplift_models_by_arm,
                                   notes_in_language=uplift_models.notes_in_language, headline_qini=uplift_models.headline_qini,
                                   model_rows=uplift_models.model_rows)
    ns = dict(page.names(), uplift_models=models, has_campaigns=True, camp=camp, uplift_model="two_model", random_state=42,
              uplift_max_rows=max_rows,
              headline_cid=None, best=None,
              min_cell=5, tables={"customers": None, "transactions": None},
              fplots=types.SimpleNamespace(plot_qini=lambda *a, **k: None))
    exec(_cell("uplift_models_by_arm"), ns)
    return page


def test_models_on_a_sample_of_a_large_campaign_say_so():
    """Above uplift_max_rows the models learn from a stratified sample, and the page says of how many rows."""
    camp, features = _campaign({"A": (300, 60), "control": (300, 30)})
    page = _run_qini_cell(camp, features, max_rows=200)
    said = [values for key, values in page.said if key == "feedback.model_sample"]
    assert said == [{"n": 600, "k": 200}]
    assert not [key for key, _ in _run_qini_cell(camp, features).said if key == "feedback.model_sample"]  # every row: nothing to say
    part = uplift_models.model_rows(camp, 200)
    assert part.groupby("arm")["response"].agg(["size", "sum"]).to_dict() == {"size": {"A": 100, "control": 100},
                                                                             "sum": {"A": 20, "control": 10}}
    with pytest.raises(ValueError, match="uplift_max_rows"):
        uplift_models.model_rows(camp, 50)


def test_no_uplift_model_reason_is_korean():
    """No arm with enough responders: the reason is said in the page's language."""
    camp, features = _campaign({"A": (40, 2), "control": (40, 3)})
    page = _run_qini_cell(camp, features)
    why = [values["why"] for key, values in page.said if key == "feedback.no_model"]
    assert len(why) == 1
    with using("ko"):
        ko = _in_language(why[0])
    assert ko == "실험군이나 대조군의 반응 고객이 10명 미만입니다", ko
    assert "fewer than 10 responders" in _in_language(why[0])


def test_qini_table_notes_are_korean():
    """The Qini table's note of an arm without a model is in the page's language."""
    camp, features = _campaign({"A": (300, 60), "B": (60, 3), "control": (300, 30)})
    page = _run_qini_cell(camp, features)
    assert len(page.shown) == 1
    with using("ko"):
        table = _in_language(page.shown[0])
    notes = dict(zip(table["arm"], table["note"]))
    assert notes["B"] == "실험군이나 대조군의 반응 고객이 10명 미만입니다" and notes["A"] == "", notes
    assert dict(zip(*(lambda d: (d["arm"], d["note"]))(_in_language(page.shown[0]))))["B"].startswith("fewer than")


@pytest.mark.parametrize("groups, ko_words, kept", [
    (None, ["인터넷", "전통 채널"], []),
    ({"internet": ["web"], "my shops": ["store"]}, ["인터넷"], ["my shops"]),
])
def test_channel_group_sentence_words_the_suite_groups_in_korean(groups, ko_words, kept):
    """The sentence that lists the channel groups words the suite's groups (인터넷, 전통 채널) on a Korean page and
    keeps a user's own group names as written."""
    tx = pd.DataFrame({"account_id": ["A1", "A2"], "channel": ["web", "store"]})
    with using("ko"):
        note = ungrouped_note(channel_activity(transactions=tx, channel_group=groups))
    assert all(w in note for w in ko_words) and all(k in note for k in kept), note
    assert "internet" not in note and "traditional" not in note, note
    assert "internet" in ungrouped_note(channel_activity(transactions=tx, channel_group=groups))
    with using("ko"):
        assert group_name("other") == "기타" and group_name("Internet") == "Internet"
