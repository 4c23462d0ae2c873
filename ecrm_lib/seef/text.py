"""Feedback text: which texts are analysed, their topics and tone, and the report tables.

The text analysis of the ``feedback`` table runs in steps, one public function
each (the Feedback notebook runs them one cell at a time;
:func:`analyse_feedback_text` runs them all):

1. :func:`feedback_texts` - the rows with text, read from the engine: all of
   them up to ``sample_size`` texts (:data:`DEFAULT_TEXT_SAMPLE`, 50,000),
   else a seeded random sample of that size (tokenising Korean text takes
   about 1 ms a text, so every text of a large table would take minutes;
   the shares the report shows are then estimated on the sample, which it
   says);
2. :func:`text_tokens` - script and tokens of each text (:mod:`ecrm_lib.seef.tokens`);
3. :func:`tone_scores` - the three-class tone (:mod:`ecrm_lib.seef.tone`):
   held-out for texts with a score, the final model's for the others;
4. :func:`text_topics` - topics per language (:mod:`ecrm_lib.seef.topics`);
5. :func:`text_result` - excerpts and the per-topic tone shares.

The report tables (:func:`topic_table`, :func:`tone_by`,
:func:`language_sentence`), the ``feedback/feedback_scores`` product
(:func:`feedback_scores`) and the headline figures (:func:`text_metrics`)
work on the result.

Privacy: texts are scrubbed of e-mail addresses and phone numbers before
they are tokenised; excerpts are scrubbed (known names too) and cut short.
Reports must show them only through ``show_table``/``md``, which escape them.

Examples
--------
>>> fb = pd.DataFrame({"account_id": ["a", "b", "c"], "text": ["Fast delivery", " ", None], "channel": "web"})
>>> feedback_texts(fb)[["account_id", "text"]].to_numpy().tolist()
[['a', 'Fast delivery']]
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import ibis
import numpy as np
import pandas as pd

from ecrm_lib.channels.customers import attach_customer_id
from ecrm_lib.core.i18n import t, t_or
from ecrm_lib.core.privacy import count_text
from ecrm_lib.data.tables import is_ibis
from ecrm_lib.seef.tables import to_frame
from ecrm_lib.seef.tokens import LANGUAGE_NAMES, detect_script, tokenize
from ecrm_lib.seef.tone import TONES, ToneModel, majority_tone, score_scale, score_tone, tone_labels, train_tone
from ecrm_lib.seef.topics import TopicModel, fit_topics_by_language, topic_examples, without_name_words

__all__ = [
    "DEFAULT_TEXT_SAMPLE",
    "TEXT_COLUMNS",
    "FeedbackText",
    "TextTokens",
    "analyse_feedback_text",
    "feedback_scores",
    "feedback_texts",
    "language_sentence",
    "text_metrics",
    "text_result",
    "text_tokens",
    "text_topics",
    "tone_by",
    "tone_scores",
    "topic_table",
]

#: Texts analysed at most (a seeded random sample above it).
DEFAULT_TEXT_SAMPLE = 50_000

#: Columns of the feedback rows the text analysis reads.
TEXT_COLUMNS = ["account_id", "timestamp", "score", "score_max", "text", "channel"]


def feedback_texts(feedback, *, sample_size: int = DEFAULT_TEXT_SAMPLE, random_state: int = 42) -> pd.DataFrame:
    """The feedback rows that have text (not empty after trimming), every one or a sample of ``sample_size``.

    Parameters
    ----------
    feedback : ibis.Table or DataFrame
        The canonical ``feedback`` table. An Ibis table is filtered (and
        sampled) in the engine; only the rows analysed come into pandas.
    sample_size : int
        Texts analysed at most. With more texts, a random sample of this many
        (seeded by ``random_state``; the texts are numbered in the order of
        ``account_id``, ``timestamp`` and ``text``, so the sample does not
        depend on the order the engine reads them in).
    random_state : int

    Returns
    -------
    DataFrame
        The columns of :data:`TEXT_COLUMNS` present, in the table's order
        (a sample: in the order above), with a plain 0..n-1 index;
        ``attrs["n_texts"]`` holds the number of texts in the table and
        ``attrs["sampled"]`` whether these are a sample. When no scored row of the table has a
        ``score_max``, the column holds the scale read from every score of the table
        (:func:`ecrm_lib.seef.tone.score_scale`) and ``attrs["score_max_inferred"]`` says which (10, 5 or None).
    """
    if sample_size < 1:
        raise ValueError(f"sample_size must be at least 1 text, but {sample_size} was passed.")
    if is_ibis(feedback):
        t = feedback.select([c for c in TEXT_COLUMNS if c in feedback.columns])
        t = t.filter(t.text.notnull() & (t.text.strip() != ""))
        n = int(t.count().to_pyarrow().as_py())
        if n <= sample_size:
            out = to_frame(t)
        else:
            order = [c for c in ("account_id", "timestamp", "text", "channel", "score") if c in t.columns]
            numbered = t.mutate(_row=ibis.row_number().over(order_by=order))
            pick = np.sort(np.random.default_rng(random_state).choice(n, size=sample_size, replace=False))
            keep = ibis.memtable(pd.DataFrame({"_pick": pick.astype("int64")}))
            out = to_frame(numbered.semi_join(keep, numbered._row == keep._pick).order_by("_row").drop("_row"))
    else:
        has = feedback["text"].notna() & (feedback["text"].astype(str).str.strip() != "")
        t = feedback.loc[has, [c for c in TEXT_COLUMNS if c in feedback.columns]]
        n = len(t)
        if n > sample_size:
            t = t.iloc[np.sort(np.random.default_rng(random_state).choice(n, size=sample_size, replace=False))]
        out = t
    out = out.reset_index(drop=True)
    out.attrs["n_texts"] = n
    out.attrs["sampled"] = bool(n > sample_size)
    everyone = _scale_scores(feedback) if "score" in out else None
    if everyone is not None:  # no scale in the data: read from every score of the table, as the satisfaction figures read it
        out["score_max"], out.attrs["score_max_inferred"] = score_scale(
            out["score"], out["score_max"] if "score_max" in out else None, all_scores=everyone)
    return out


def _scale_scores(feedback) -> pd.Series | None:
    """The distinct scores of the whole feedback table when none of its scored rows has a ``score_max``, else None."""
    if is_ibis(feedback):
        t = feedback.filter(feedback.score.notnull())
        if "score_max" in feedback.columns and int(t.filter(t.score_max.notnull()).count().to_pyarrow().as_py()):
            return None
        return to_frame(t.select(score=t.score.cast("float64")).distinct())["score"]
    scored = feedback["score"].notna()
    if "score_max" in feedback and feedback.loc[scored, "score_max"].notna().any():
        return None
    return pd.Series(feedback.loc[scored, "score"].astype(float).unique())


@dataclass
class TextTokens:
    """What :func:`text_tokens` returns: per text (the rows of :func:`feedback_texts`, same order).

    Attributes
    ----------
    index : Index
        The rows of the texts table.
    texts : list of str
    languages : list of str
        :func:`ecrm_lib.seef.tokens.detect_script` codes.
    tokens_with_negation : list of list of str
        For the tone (negations kept).
    tokens : list of list of str
        For the topics (negations dropped).
    labels : Series
        The tone of each text's score (:func:`ecrm_lib.seef.tone.tone_labels`; missing without a score).
    """

    index: pd.Index
    texts: list
    languages: list
    tokens_with_negation: list
    tokens: list
    labels: pd.Series


def text_tokens(texts: pd.DataFrame, n_threads: int | None = None, names=None) -> TextTokens:
    """Step 2: the script, tokens and score tone of every text of :func:`feedback_texts`.

    ``names`` (a :func:`ecrm_lib.core.privacy.name_pattern`) are masked before tokenizing, so no
    known name becomes a word of a topic or of the tone model.
    """
    fb = texts
    values = fb["text"].astype(str).tolist()
    langs = [detect_script(t) for t in values]
    tok_neg = tokenize(values, keep_negation=True, n_threads=n_threads, names=names)
    tok = [[w for w in t if w not in ("not", "않다")] for t in tok_neg]
    if "score" in fb:  # without any score_max, the scale inferred from the scores (tone.score_scale)
        labels = tone_labels(fb["score"], score_scale(fb["score"], fb["score_max"] if "score_max" in fb else None)[0])
    else:
        labels = pd.Series(pd.NA, index=fb.index, dtype="string")
    return TextTokens(fb.index, values, langs, tok_neg, tok, labels)


def tone_scores(tt: TextTokens, random_state: int = 42) -> tuple[pd.DataFrame, ToneModel | None, list[str]]:
    """Step 3: the tone of every text.

    The tone model (:func:`ecrm_lib.seef.tone.train_tone`) learns the three
    tones from the texts that come with a score; each of those texts gets the
    tone its held-out model reads (so the figure is the words' tone, checked
    against the scores), and texts without a score get the final model's
    (:func:`ecrm_lib.seef.tone.score_tone`). When no model can be fitted, a
    text with a score gets its score's tone.

    Returns
    -------
    (DataFrame, ToneModel or None, list of str)
        Per text (index of the texts): ``sentiment`` (probability positive,
        0-1), ``tone``, ``tone_source`` ("held-out model", "model" or
        "score"), ``label`` (the score's tone), ``language``, ``topic``
        (missing until :func:`text_result`); the model; notes on what was skipped.
    """
    idx = tt.index
    scores = pd.DataFrame({"sentiment": pd.Series(np.nan, index=idx),
                           "tone": pd.Series(pd.NA, index=idx, dtype="string"),
                           "tone_source": pd.Series(pd.NA, index=idx, dtype="string"),
                           "label": pd.Series(pd.NA, index=idx, dtype="string"),
                           "language": pd.Series(pd.NA, index=idx, dtype="string"),
                           "topic": pd.Series(pd.NA, index=idx, dtype="Int64")})
    notes: list[str] = []
    if not len(idx):
        return scores, None, notes
    scores["language"] = tt.languages
    labels = tt.labels
    scores["label"] = labels.to_numpy()
    model = None
    try:
        model = train_tone(tt.tokens_with_negation, labels.to_numpy(), random_state=random_state)
        notes += model.notes
        held = model.held_out
        pos = held.index.to_numpy()
        scores.iloc[pos, scores.columns.get_loc("tone")] = held["predicted"].to_numpy()
        scores.iloc[pos, scores.columns.get_loc("sentiment")] = held["p_positive"].to_numpy()
        scores.iloc[pos, scores.columns.get_loc("tone_source")] = "held-out model"
        rest = np.setdiff1d(np.arange(len(idx)), pos)
        if len(rest):
            sc = score_tone(model, [tt.tokens_with_negation[i] for i in rest])
            has = sc["predicted"].notna().to_numpy()
            scores.iloc[rest[has], scores.columns.get_loc("tone")] = sc.loc[has, "predicted"].to_numpy()
            scores.iloc[rest[has], scores.columns.get_loc("sentiment")] = sc.loc[has, "p_positive"].to_numpy()
            scores.iloc[rest[has], scores.columns.get_loc("tone_source")] = "model"
    except ValueError as e:
        notes.append(f"tone model skipped: {e}")
        scores["tone"] = labels.to_numpy()
        scores.loc[labels.notna().to_numpy(), "tone_source"] = "score"
    return scores, model, notes


LANGUAGE_TABLE_COLUMNS = ["language", "name", "n_texts", "n_with_words", "topics", "grouping"]


def text_topics(tt: TextTokens, n_topics: int | None = None, max_topics: int = 8, min_language_texts: int = 100,
                random_state: int = 42) -> tuple[TopicModel | None, pd.DataFrame, list[str]]:
    """Step 4: topics per language (:func:`ecrm_lib.seef.topics.fit_topics_by_language`).

    Returns
    -------
    (TopicModel or None, DataFrame, list of str)
        The model (None when too few texts have words), one row per language
        (``language``, ``name``, ``n_texts``, ``n_with_words``, ``topics``,
        ``grouping``), and a note when the topics were skipped.
    """
    try:
        tm, languages = fit_topics_by_language(tt.tokens, tt.languages, n_topics=n_topics, max_topics=max_topics,
                                               min_language_texts=min_language_texts, random_state=random_state)
        return tm, languages, []
    except ValueError as e:
        return None, pd.DataFrame(columns=LANGUAGE_TABLE_COLUMNS), [f"topics skipped: {e}"]


@dataclass
class FeedbackText:
    """Everything the report shows about feedback text (:func:`analyse_feedback_text`).

    Attributes
    ----------
    scores : DataFrame
        Per feedback row with text (index of the input): ``sentiment`` (probability positive, 0-1),
        ``tone`` (negative / neutral / positive), ``tone_source`` ("held-out model" for texts
        with a score, "model" for the others, "score" when no model could be fitted), ``label``
        (the score's tone, missing without a score), ``language`` (:func:`ecrm_lib.seef.tokens.detect_script`),
        ``topic``.
    topics : TopicModel or None
        Topics per language (:func:`ecrm_lib.seef.topics.fit_topics_by_language`).
    examples : DataFrame
        Short scrubbed excerpts per topic (:func:`ecrm_lib.seef.topics.topic_examples`, with the word and tone rules).
    by_topic : DataFrame
        ``topic, language, label, n, negative_share, neutral_share, positive_share, tone,
        mean_sentiment`` (shares of the topic's texts with a tone; ``tone`` their majority).
    sentiment : ToneModel or None
    notes : list of str
        Why a part was skipped (too few texts or labels).
    languages : DataFrame
        Per language: ``language, name, n_texts, n_with_words, topics, grouping``.
    """

    scores: pd.DataFrame
    topics: TopicModel | None
    examples: pd.DataFrame
    by_topic: pd.DataFrame
    sentiment: ToneModel | None
    notes: list
    languages: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=LANGUAGE_TABLE_COLUMNS))


_BY_TOPIC_COLUMNS = ["topic", "language", "label", "n", "negative_share", "neutral_share", "positive_share", "tone",
                     "mean_sentiment"]


def _tone_shares(tones: pd.Series) -> dict:
    t = pd.Series(tones, dtype="string").dropna()
    shares = {f"{k}_share": (float((t == k).mean()) if len(t) else np.nan) for k in TONES}
    return dict(shares, tone=majority_tone(t))




def text_result(tt: TextTokens, scores: pd.DataFrame, model: ToneModel | None, topics: TopicModel | None,
                languages: pd.DataFrame, notes: Sequence[str] = (), *, names=None, excerpt_chars: int = 60) -> FeedbackText:
    """Step 5: the topic of each text, excerpts and the tone shares per topic.

    Excerpts hold their topic's top word and share its majority tone
    (:func:`ecrm_lib.seef.topics.topic_examples`); ``names`` (a
    :func:`ecrm_lib.core.privacy.name_pattern`) is masked in them, beside
    e-mails and phone numbers, and removed from the topics' words and labels
    (:func:`ecrm_lib.seef.topics.without_name_words`).

    Parameters
    ----------
    tt : TextTokens
    scores, model : from :func:`tone_scores`
    topics, languages : from :func:`text_topics`
    notes : sequence of str
        What the earlier steps skipped.
    """
    scores = scores.copy()
    topics = without_name_words(topics, names)  # no known name among the words a page shows (issue 13 item 12)
    if topics is not None:
        scores["topic"] = topics.doc_topic["topic"].to_numpy()
    examples = (topic_examples(tt.texts, topics, max_chars=excerpt_chars, names=names, tokens=tt.tokens,
                               tones=scores["tone"].tolist())
                if topics else pd.DataFrame(columns=["topic", "label", "excerpt"]))
    rows = []
    if topics:
        for t in sorted(topics.labels):
            part = scores[scores["topic"] == t]
            s = part["sentiment"].astype(float)
            rows.append(dict(topic=t, language=topics.languages.get(t), label=topics.labels[t], n=int(len(part)),
                             **_tone_shares(part["tone"]), mean_sentiment=float(s.mean()) if s.notna().any() else np.nan))
    by_topic = pd.DataFrame(rows, columns=_BY_TOPIC_COLUMNS)
    return FeedbackText(scores, topics, examples, by_topic, model, list(notes), languages)


def analyse_feedback_text(feedback, n_topics: int | None = None, max_topics: int = 8,
                          random_state: int = 42, excerpt_chars: int = 60, names=None,
                          min_language_texts: int = 100, sample_size: int = DEFAULT_TEXT_SAMPLE,
                          n_threads: int | None = None) -> FeedbackText:
    """Topics and tone for the feedback rows that have text: the steps of the module docstring in a row.

    Parameters
    ----------
    feedback : ibis.Table or DataFrame
        The canonical ``feedback`` table (:func:`feedback_texts` picks the rows with text; a
        DataFrame that holds only such rows keeps its index in ``scores``).
    n_topics, max_topics, min_language_texts
        See :func:`text_topics`.
    random_state : int
    excerpt_chars : int
        Longest excerpt (characters).
    names : compiled pattern, optional
        Known names: masked before tokenizing and in excerpts, and kept out of the topics' words.
    sample_size : int
        See :func:`feedback_texts`.
    n_threads : int, optional
        Tokeniser workers (:func:`ecrm_lib.seef.tokens.tokenize`).

    Returns
    -------
    FeedbackText
        Parts that cannot be fitted are skipped with a note instead of failing.
    """
    texts = feedback_texts(feedback, sample_size=sample_size, random_state=random_state)
    if isinstance(feedback, pd.DataFrame) and not texts.attrs["sampled"]:
        has = feedback["text"].notna() & (feedback["text"].astype(str).str.strip() != "")
        texts.index = feedback.index[has.to_numpy()]  # scores keep the rows of the table given
    tt = text_tokens(texts, n_threads=n_threads, names=names)
    scores, model, notes = tone_scores(tt, random_state=random_state)
    if texts.empty:
        return FeedbackText(scores, None, pd.DataFrame(columns=["topic", "label", "excerpt"]),
                            pd.DataFrame(columns=_BY_TOPIC_COLUMNS), None, ["no feedback text"])
    topics, languages, topic_notes = text_topics(tt, n_topics=n_topics, max_topics=max_topics,
                                                 min_language_texts=min_language_texts, random_state=random_state)
    return text_result(tt, scores, model, topics, languages, [*notes, *topic_notes], names=names,
                       excerpt_chars=excerpt_chars)


def language_sentence(result: FeedbackText, min_cell: int = 5) -> str:
    """Plain text: how many texts per language, and how each language was grouped into topics.

    Counts below ``min_cell`` read "fewer than 5" (:func:`ecrm_lib.core.privacy.count_text`).
    """
    langs = result.languages
    if langs is None or langs.empty:
        return ""
    parts = []
    for row in langs.itertuples(index=False):
        ids = list(row.topics)
        where = ((t("feedback.lang_topic", a=ids[0]) if len(ids) == 1 else t("feedback.lang_topics", a=ids[0], b=ids[-1]))
                 if ids else t("feedback.lang_no_topic"))
        how = {"topics": where, "one group": t("feedback.lang_one_group", where=where),
               "no topic": t("feedback.lang_no_words")}[row.grouping]
        parts.append(t("feedback.lang_part", n=count_text(row.n_texts, min_cell), lang=t_or(f"feedback.lang_name_{row.language}", row.name),
                       how=how))
    if len(parts) == 1:
        return t("feedback.lang_all", part=parts[0])
    return t("feedback.lang_many", parts=", ".join(parts[:-1]), last=parts[-1])


# ------------------------------------------------------------------ report tables, product and figures
def tone_by(feedback: pd.DataFrame, scores: pd.DataFrame, by: str = "channel") -> pd.DataFrame:
    """Texts with a tone and the share of each tone, per group (e.g. channel).

    Parameters
    ----------
    feedback : DataFrame
        The canonical ``feedback`` table (holds ``by``).
    scores : DataFrame
        :attr:`FeedbackText.scores` (index: rows of ``feedback``; ``tone``).
    by : str
        Column of ``feedback`` to group by; missing values form their own group.

    Returns
    -------
    DataFrame
        ``by``, ``n`` (texts with a tone), ``negative_share``, ``neutral_share``,
        ``positive_share`` (0-1), one row per group, in group order. Show it with
        ``show_table(..., count_columns="n")``.

    Examples
    --------
    >>> fb = pd.DataFrame({"channel": ["app", "app", "store"]})
    >>> tone_by(fb, pd.DataFrame({"tone": ["positive", "neutral", "negative"]}, index=fb.index))
      channel  n  negative_share  neutral_share  positive_share
    0     app  2             0.0            0.5             0.5
    1   store  1             1.0            0.0             0.0
    """
    if by not in feedback.columns:
        raise KeyError(f"column {by!r} not in the feedback table; columns are {list(map(str, feedback.columns))}")
    t = pd.Series(scores["tone"], dtype="string").dropna()
    d = pd.DataFrame({by: feedback.loc[t.index, by].to_numpy()})
    for k in TONES:
        d[f"{k}_share"] = (t == k).astype(float).to_numpy()
    g = d.groupby(by, dropna=False, sort=True)
    out = g.size().rename("n").to_frame().join(g[[f"{k}_share" for k in TONES]].mean()).reset_index()
    out["n"] = out["n"].astype(int)
    return out


def topic_table(result: FeedbackText) -> pd.DataFrame:
    """Topics with their language, top words, texts and tone shares, for display.

    Returns
    -------
    DataFrame
        ``topic``, ``language`` (name, in the report language), ``top words`` (comma-separated), ``n`` (texts),
        ``negative_share``, ``neutral_share``, ``positive_share`` (0-1) and ``tone`` (majority);
        empty when no topics were fitted.
    """
    cols = ["topic", "language", "top words", "n", "negative_share", "neutral_share", "positive_share", "tone"]
    if result.topics is None or result.by_topic.empty:
        return pd.DataFrame(columns=cols)
    words = result.topics.words.groupby("topic")["word"].apply(lambda w: ", ".join(map(str, w))).rename("top words").reset_index()
    out = result.by_topic.merge(words, on="topic", how="left")
    out["language"] = out["language"].map(lambda g: t_or(f"feedback.lang_name_{g}", LANGUAGE_NAMES.get(g, g)))  # report language
    return out.reindex(columns=cols)


def feedback_scores(feedback: pd.DataFrame | None, scores: pd.DataFrame | None, account_map=None) -> pd.DataFrame:
    """The ``feedback/feedback_scores`` product: one row per scored text, pseudonymous ids only.

    Parameters
    ----------
    feedback : DataFrame or None
        The canonical ``feedback`` table (``account_id``, ``channel``); None: an empty product.
    scores : DataFrame or None
        :attr:`FeedbackText.scores` (index: rows of ``feedback``; ``sentiment``, ``tone``, ``topic``).
    account_map : DataFrame or ibis.Table, optional
        ``account_id`` -> ``customer_id`` (the channel-integration product; as an Ibis table only the
        rows of the scored texts' accounts are read); None: every account is its own customer (see
        :func:`ecrm_lib.channels.customers.attach_customer_id`).

    Returns
    -------
    DataFrame
        ``account_id``, ``customer_id`` (string), ``channel`` (string), ``sentiment`` (probability
        positive, 0-1, float), ``tone`` (string: negative / neutral / positive), ``topic`` (Int64),
        with a plain 0..n-1 index; ``attrs["unmapped_accounts"]``: accounts missing from the map
        (kept as their own customer).

    Examples
    --------
    >>> fb = pd.DataFrame({"account_id": ["W1", "X9"], "channel": ["web", "app"], "text": ["ok", "bad"]})
    >>> sc = pd.DataFrame({"sentiment": [0.8, 0.1], "tone": ["positive", "negative"],
    ...                    "topic": pd.array([1, 2], dtype="Int64")}, index=fb.index)
    >>> out = feedback_scores(fb, sc, pd.DataFrame({"account_id": ["W1"], "customer_id": ["C1"]}))
    >>> out["customer_id"].tolist(), out["tone"].tolist(), out.attrs["unmapped_accounts"]
    (['C1', 'X9'], ['positive', 'negative'], 1)
    >>> list(feedback_scores(None, None).columns)
    ['account_id', 'customer_id', 'channel', 'sentiment', 'tone', 'topic']
    """
    cols = ["account_id", "customer_id", "channel", "sentiment", "tone", "topic"]
    if feedback is None or scores is None:
        out = pd.DataFrame({"account_id": pd.Series(dtype="string"), "customer_id": pd.Series(dtype="string"),
                            "channel": pd.Series(dtype="string"), "sentiment": pd.Series(dtype=float),
                            "tone": pd.Series(dtype="string"), "topic": pd.Series(dtype="Int64")})
        out.attrs["unmapped_accounts"] = 0
        return out
    sc = scores.reindex(columns=["sentiment", "tone", "topic"])
    scored = feedback.loc[scores.index, ["account_id", "channel"]].join(sc)
    scored = attach_customer_id(scored, account_map)
    unmapped = scored.attrs.get("unmapped_accounts", 0)
    out = scored[cols].reset_index(drop=True)
    out["account_id"] = out["account_id"].astype("string")
    out["channel"] = out["channel"].astype("string")
    out["sentiment"] = pd.to_numeric(out["sentiment"], errors="coerce").astype(float)
    out["tone"] = out["tone"].astype("string")
    out["topic"] = pd.to_numeric(out["topic"], errors="coerce").astype("Int64")
    out.attrs["unmapped_accounts"] = unmapped
    return out


def text_metrics(result: FeedbackText | None) -> dict:
    """The text headline figures for ``RunContext.record_metric``.

    Returns
    -------
    dict
        ``sentiment_auc`` (held-out ROC AUC of the tone model, positive against negative texts,
        0-1) and ``n_topics`` (topics over all languages, one-group languages included); None
        when the part was skipped or ``result`` is None (no feedback table).

    Examples
    --------
    >>> text_metrics(None)
    {'sentiment_auc': None, 'n_topics': None}
    """
    out = {"sentiment_auc": None, "n_topics": None}
    if result is None:
        return out
    if result.sentiment is not None and not pd.isna(result.sentiment.auc):
        out["sentiment_auc"] = float(result.sentiment.auc)
    if result.topics is not None:
        out["n_topics"] = int(result.topics.n_topics)
    return out
