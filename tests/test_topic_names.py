"""Names in topic words (issue 13 item 12): a known customer name written into feedback texts never
reaches a topic's words, labels, per-topic table or excerpts; nor do e-mails and phone numbers."""

from __future__ import annotations

import pandas as pd
import pytest

from ecrm_lib.core.paths import DEFAULT_DATA_DIR
from ecrm_lib.core.privacy import name_pattern, name_words
from ecrm_lib.seef import text

NAME, ROMAN, EMAIL, PHONE = "김민준", "Kim Minjun", "minjun.kim@naver.com", "010-2345-6789"


@pytest.fixture(scope="module")
def feedback():
    path = DEFAULT_DATA_DIR / "feedback.csv"
    if not path.exists():
        pytest.skip(f"default data not found at {DEFAULT_DATA_DIR}")
    fb = pd.read_csv(path, dtype={"text": "string"})
    fb = fb[fb["text"].notna()].reset_index(drop=True)
    # every third text thanks a named member of staff who is also a known customer, with contact details
    inject = fb.index % 3 == 0
    fb.loc[inject, "text"] = fb.loc[inject, "text"] + f" {NAME}님 감사합니다 {EMAIL} {PHONE}"
    fb.loc[fb.index % 7 == 0, "text"] = "Thanks to " + ROMAN + " for the help, delivery was quick"
    return fb


def _outputs(fbt) -> list[str]:
    """Every string a page shows of the topics: words, labels, the per-topic table and the excerpts."""
    parts = [*fbt.topics.words["word"].astype(str), *map(str, fbt.topics.labels.values()), *fbt.by_topic["label"].astype(str),
             *fbt.examples.astype(str).to_numpy().ravel()]
    parts += [str(v) for v in text.topic_table(fbt).to_numpy().ravel()]
    return parts


def _leaks(parts: list[str]) -> set[str]:
    bad = name_words(name_pattern([NAME, ROMAN])) | {EMAIL, PHONE.replace("-", ""), "minjun.kim"}
    return {b for b in bad for p in parts if b in p.lower().replace("-", "")}


def _run(feedback, names, names_at_tokens):
    # the feedback notebook's steps: texts, tokens, tone, topics, result (names known at tokens or only at the result)
    texts = text.feedback_texts(feedback)
    tt = text.text_tokens(texts, names=names if names_at_tokens else None)
    scores, model, notes = text.tone_scores(tt)
    topics, languages, tnotes = text.text_topics(tt, n_topics=6)
    return text.text_result(tt, scores, model, topics, languages, [*notes, *tnotes], names=names)


def test_injected_name_reaches_topic_words_without_the_guard(feedback):
    fbt = _run(feedback, None, False)
    words = [*fbt.topics.words["word"].astype(str), *map(str, fbt.topics.labels.values())]
    assert _leaks(words)  # the injection works: without the names, the topic words themselves show them


@pytest.mark.parametrize("names_at_tokens", [False, True], ids=["names at the result (notebook)", "names at tokens"])
def test_known_names_emails_phones_never_reach_topic_outputs(feedback, names_at_tokens):
    names = name_pattern([NAME, ROMAN, "이서연"])
    fbt = _run(feedback, names, names_at_tokens)
    assert fbt.topics is not None and len(fbt.topics.words)
    assert _leaks(_outputs(fbt)) == set()
    assert all(len(lab.split(" / ")) >= 1 and lab for lab in fbt.topics.labels.values())


def test_name_words_parts():
    assert name_words(None) == frozenset()
    assert {"민준", "김민준", "kim", "minjun"} <= name_words(name_pattern(["김 민준", "Kim Minjun"]))
    assert "김" not in name_words(name_pattern(["김민준"]))  # one syllable: too short to be a word of its own
