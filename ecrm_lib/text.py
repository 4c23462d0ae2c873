"""Feedback text: tokenisation (Korean with kiwipiepy, English with a regex),
TF-IDF + NMF topics with an automatic number of topics, and a sentiment
classifier trained on texts that come with a score.

Privacy: every text is passed through :func:`ecrm_lib.report.scrub_pii` before
it is tokenised, so e-mail addresses and phone numbers never become topic
words; excerpts for reports are scrubbed and cut short
(:func:`topic_examples`). Reports must still show them only through
``show_table``/``md``, which escape them.

Choosing the number of topics
-----------------------------
:func:`choose_n_topics` fits NMF for every ``k`` in ``min_topics..max_topics``
and scores each fit by the mean **UMass coherence** of its topics' top words
(Mimno et al. 2011): for the top words ``w_1..w_m`` of a topic, the mean over
pairs ``i > j`` of ``log((D(w_i, w_j) + 1) / D(w_j))``, with ``D`` the number of
documents holding the word(s). The chosen ``k`` is the **smallest** ``k`` whose
coherence is within ``tolerance`` (default 0.15, in coherence units) of the best
one: fewer topics when more do not make the topics clearly more coherent.
UMass coherence tends to creep up with ``k`` on short template-like texts, so
without the tolerance the rule runs to ``max_topics``; 0.15 was set so that
the embedded synthetic data (six planted topics) gives six, and it gives two
on the women's clothing reviews. The reconstruction error is reported
alongside for reference (it falls steadily with ``k`` and shows no elbow on
either corpus, which is why it is not the rule).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Iterable, Sequence

import numpy as np
import pandas as pd

from .report import scrub_pii

__all__ = [
    "detect_script",
    "tokenize",
    "sentiment_labels",
    "TopicModel",
    "fit_topics",
    "choose_n_topics",
    "topic_examples",
    "SentimentModel",
    "train_sentiment",
    "score_sentiment",
    "FeedbackText",
    "analyse_feedback_text",
    "tone_by",
    "topic_table",
    "feedback_scores",
    "text_metrics",
]

_HANGUL = re.compile(r"[\uac00-\ud7a3\u1100-\u11ff\u3130-\u318f]")
_LATIN = re.compile(r"[A-Za-z]")
_EN_TOKEN = re.compile(r"[a-z]+(?:'[a-z]+)?")
# Small English stop list; negations (no, not, never, ...) are kept on purpose: they carry sentiment.
_EN_STOP = frozenset(
    """a an the and or but if then so of to in on at by for with from as is are was were be been being am it its
    this that these those i me my we our you your he she her his they them their there here what which who whom
    do does did have has had will would can could should just than too very also really i'm it's im ive i've
    about into over up down out more most some such only own same other all any each few both s t""".split()
)
# Kiwi part-of-speech tags kept: common and proper nouns, verbs and adjectives (as lemmas), roots,
# foreign words; auxiliaries (VX, e.g. 않다) and the negating adverbs 안/못 only for sentiment.
_KO_CONTENT = frozenset({"NNG", "NNP", "VV", "VA", "XR", "SL"})
_KO_NEGATION_TAGS = frozenset({"VX"})
_KO_NEGATION_ADVERBS = frozenset({"안", "못"})


def detect_script(text: str) -> str:
    """``"ko"`` when at least 30 % of the letters are Hangul, ``"en"`` when there are Latin letters, else ``"other"``.

    Examples
    --------
    >>> detect_script("배송이 빨라요"), detect_script("Fast delivery"), detect_script("12345")
    ('ko', 'en', 'other')
    """
    text = "" if text is None or (isinstance(text, float) and math.isnan(text)) else str(text)
    ko, la = len(_HANGUL.findall(text)), len(_LATIN.findall(text))
    if ko and ko >= 0.3 * (ko + la):
        return "ko"
    return "en" if la else "other"


@lru_cache(maxsize=1)
def _kiwi():
    from kiwipiepy import Kiwi

    return Kiwi(num_workers=1)  # batch input needs num_workers >= 1 (kiwipiepy 0.24)


def _english_tokens(text: str, keep_negation: bool) -> list[str]:
    words = _EN_TOKEN.findall(text.lower())
    out = []
    for w in words:
        w = w.replace("'", "")
        if w in ("not", "no", "never", "dont", "didnt", "doesnt", "isnt", "wasnt", "wont", "cant", "couldnt", "nor"):
            if keep_negation:
                out.append("not")
            continue
        if len(w) >= 2 and w not in _EN_STOP:
            out.append(w)
    return out


def _korean_tokens(token_lists, keep_negation: bool) -> list[list[str]]:
    out = []
    for toks in token_lists:
        words = []
        for t in toks:
            tag = t.tag.split("-")[0]
            if tag in _KO_CONTENT:
                lemma = getattr(t, "lemma", None) or t.form
                if tag in ("VV", "VA") and not lemma.endswith("다"):
                    lemma = lemma + "다"
                words.append(lemma.lower() if tag == "SL" else lemma)
            elif keep_negation and (tag in _KO_NEGATION_TAGS and (getattr(t, "lemma", None) or t.form) in ("않다", "못하다")
                                    or (tag == "MAG" and t.form in _KO_NEGATION_ADVERBS)):
                words.append("않다")
        out.append(words)
    return out


def tokenize(texts: Iterable, keep_negation: bool = False) -> list[list[str]]:
    """Tokens per text: Korean noun/verb/adjective lemmas (kiwipiepy), English words (regex).

    The script is detected per text (:func:`detect_script`), so mixed corpora work. Texts are
    scrubbed of e-mail addresses and phone numbers first.

    Parameters
    ----------
    texts : iterable of str
        Missing values give an empty list.
    keep_negation : bool
        Keep negation as a token (``not`` in English, ``않다`` for Korean 않다/못하다/안/못): useful for
        sentiment, noise for topics.

    Returns
    -------
    list of list of str

    Examples
    --------
    >>> tokenize(["배송이 정말 빨라서 좋았어요", "Delivery was late!"])
    [['배송', '빠르다', '좋다'], ['delivery', 'late']]
    """
    texts = [scrub_pii(t) for t in texts]
    scripts = [detect_script(t) for t in texts]
    out: list[list[str]] = [[] for _ in texts]
    ko_idx = [i for i, s in enumerate(scripts) if s == "ko"]
    if ko_idx:
        toks = _kiwi().tokenize([texts[i] for i in ko_idx])
        for i, words in zip(ko_idx, _korean_tokens(toks, keep_negation)):
            out[i] = words
    for i, s in enumerate(scripts):
        if s == "en":
            out[i] = _english_tokens(texts[i], keep_negation)
    return out


def sentiment_labels(scores: pd.Series, score_max: pd.Series) -> pd.Series:
    """Sentiment label from a score: 1 positive, 0 negative, missing for the middle or no score.

    0-10 scales (NPS): promoters 9-10 positive, detractors 0-6 negative, passives 7-8 missing.
    1-5 scales: 4-5 positive, 1-2 negative, 3 missing. Other scales: top fifth positive, bottom
    two fifths negative (``score / score_max`` >= 0.8 or <= 0.4).
    """
    s = pd.Series(scores, dtype=float)
    if np.isscalar(score_max):
        m = pd.Series(float(score_max), index=s.index)
    else:
        m = pd.Series(np.asarray(score_max, dtype=float), index=s.index)
    out = pd.Series(np.nan, index=s.index)
    ten, five = m == 10, m == 5
    other = ~(ten | five)
    out[ten & (s >= 9)] = 1
    out[ten & (s <= 6)] = 0
    out[five & (s >= 4)] = 1
    out[five & (s <= 2)] = 0
    out[other & (s / m >= 0.8)] = 1
    out[other & (s / m <= 0.4)] = 0
    out[s.isna()] = np.nan
    return out


# ------------------------------------------------------------------ topics
def _analyzer(tokens):
    return tokens


def _umass(binary_docs, top_idx: Sequence[int]) -> float:
    """Mean UMass coherence of one topic's top words (binary doc-term matrix, CSC)."""
    d = np.asarray(binary_docs[:, top_idx].sum(axis=0)).ravel()
    co = (binary_docs[:, top_idx].T @ binary_docs[:, top_idx]).toarray()
    vals = [math.log((co[i, j] + 1) / d[j]) for i in range(1, len(top_idx)) for j in range(i) if d[j] > 0]
    return float(np.mean(vals)) if vals else math.nan


@dataclass
class TopicModel:
    """A fitted topic model.

    Attributes
    ----------
    n_topics : int
    words : DataFrame
        ``topic, rank, word, weight`` (top words per topic, rank 1 = strongest).
    labels : dict
        Topic number -> short label (its three top words).
    doc_topic : DataFrame
        Per input text (same order): ``topic`` (dominant topic; missing for texts without known
        words) and ``topic_weight`` (share of the text's NMF weight on it).
    selection : DataFrame
        ``k, coherence, reconstruction_error, chosen`` for every ``k`` tried (one row when ``k`` was given).
    """

    n_topics: int
    words: pd.DataFrame
    labels: dict
    doc_topic: pd.DataFrame
    selection: pd.DataFrame


def _fit_nmf(X, k: int, random_state: int):
    from sklearn.decomposition import NMF

    nmf = NMF(n_components=k, init="nndsvda", random_state=random_state, max_iter=400)
    W = nmf.fit_transform(X)
    return nmf, W


def choose_n_topics(X, vocab: np.ndarray, min_topics: int = 2, max_topics: int = 8, n_top_words: int = 8,
                    tolerance: float = 0.15, random_state: int = 42) -> pd.DataFrame:
    """Coherence of NMF fits for each ``k`` and the chosen one (see the module docstring for the rule).

    Returns
    -------
    DataFrame
        ``k, coherence, reconstruction_error, chosen``.
    """
    binary = (X > 0).astype(float).tocsc()
    max_topics = max(min_topics, min(max_topics, X.shape[0] - 1, X.shape[1] - 1))
    rows = []
    for k in range(min_topics, max_topics + 1):
        nmf, _ = _fit_nmf(X, k, random_state)
        coh = [_umass(binary, np.argsort(-comp)[:n_top_words]) for comp in nmf.components_]
        rows.append(dict(k=k, coherence=float(np.nanmean(coh)), reconstruction_error=float(nmf.reconstruction_err_)))
    sel = pd.DataFrame(rows)
    best = sel["coherence"].max()
    chosen = int(sel.loc[sel["coherence"] >= best - tolerance, "k"].min())
    sel["chosen"] = sel["k"] == chosen
    return sel


def fit_topics(tokens: Sequence[Sequence[str]], n_topics: int | None = None, max_topics: int = 8, min_topics: int = 2,
               n_top_words: int = 8, min_df: int = 3, sample_size: int = 5000, random_state: int = 42) -> TopicModel:
    """TF-IDF + NMF topics of tokenised texts.

    Parameters
    ----------
    tokens : list of token lists
        From :func:`tokenize` (without negation).
    n_topics : int, optional
        Number of topics; None chooses it with :func:`choose_n_topics` within ``min_topics..max_topics``.
    max_topics, min_topics : int
    n_top_words : int
        Top words kept per topic.
    min_df : int
        Words in fewer texts are dropped (lowered automatically for very small corpora).
    sample_size : int
        Larger corpora are fitted on a random sample of this many texts (vocabulary, k choice and
        NMF); every text is then assigned with the fitted model.
    random_state : int

    Raises
    ------
    ValueError
        When fewer than 2 texts have words.
    """
    from sklearn.feature_extraction.text import TfidfVectorizer

    tokens = [list(t) for t in tokens]
    n_docs = sum(1 for t in tokens if t)
    if n_docs < 2:
        raise ValueError(f"topics need at least 2 texts with words; got {n_docs}. Skip the topic section for this data.")
    fit_idx = np.arange(len(tokens))
    if len(tokens) > sample_size:
        fit_idx = np.sort(np.random.default_rng(random_state).choice(len(tokens), sample_size, replace=False))
    n_fit = sum(1 for i in fit_idx if tokens[i])
    vec = TfidfVectorizer(analyzer=_analyzer, min_df=min(min_df, max(1, n_fit // 20)), sublinear_tf=True)
    X = vec.fit_transform([tokens[i] for i in fit_idx])
    vocab = vec.get_feature_names_out()
    if n_topics is None:
        selection = choose_n_topics(X, vocab, min_topics, max_topics, n_top_words, random_state=random_state)
        k = int(selection.loc[selection["chosen"], "k"].iloc[0])
    else:
        k = int(n_topics)
        selection = pd.DataFrame({"k": [k], "coherence": [math.nan], "reconstruction_error": [math.nan], "chosen": [True]})
    nmf, _ = _fit_nmf(X, k, random_state)
    W = nmf.transform(vec.transform(tokens))
    if n_topics is not None:
        binary = (X > 0).astype(float).tocsc()
        selection.loc[0, "coherence"] = float(np.nanmean([_umass(binary, np.argsort(-c)[:n_top_words]) for c in nmf.components_]))
        selection.loc[0, "reconstruction_error"] = float(nmf.reconstruction_err_)
    rows = []
    for t, comp in enumerate(nmf.components_):
        for r, j in enumerate(np.argsort(-comp)[:n_top_words]):
            rows.append(dict(topic=t + 1, rank=r + 1, word=str(vocab[j]), weight=float(comp[j])))
    words = pd.DataFrame(rows)
    labels = {t: " / ".join(words.loc[words["topic"] == t, "word"].head(3)) for t in range(1, k + 1)}
    total = W.sum(axis=1)
    dom = np.where(total > 0, W.argmax(axis=1) + 1, 0)
    doc_topic = pd.DataFrame({"topic": pd.array(np.where(dom > 0, dom, pd.NA), dtype="Int64"),
                              "topic_weight": np.where(total > 0, W.max(axis=1) / np.where(total > 0, total, 1), np.nan)})
    return TopicModel(k, words, labels, doc_topic, selection)


def topic_examples(texts: Sequence, model: TopicModel, per_topic: int = 2, max_chars: int = 60,
                   names=None) -> pd.DataFrame:
    """Short, scrubbed excerpts of the texts most typical of each topic.

    Returns
    -------
    DataFrame
        ``topic, label, excerpt``: the ``per_topic`` texts with the highest topic weight, personal data
        masked (:func:`~ecrm_lib.report.scrub_pii`) and cut at ``max_chars`` characters with an ellipsis.
        Display it with ``show_table`` (which escapes it).
    """
    dt = model.doc_topic.assign(text=list(texts)).dropna(subset=["topic"])
    rows = []
    for t in range(1, model.n_topics + 1):
        part = dt[dt["topic"] == t].sort_values("topic_weight", ascending=False, kind="mergesort")
        seen = set()
        for text in part["text"]:
            s = scrub_pii(text, names=names).strip()
            s = s if len(s) <= max_chars else s[: max_chars - 1].rstrip() + "…"
            if s and s not in seen:
                seen.add(s)
                rows.append(dict(topic=t, label=model.labels[t], excerpt=s))
            if len(seen) >= per_topic:
                break
    return pd.DataFrame(rows, columns=["topic", "label", "excerpt"])


# ------------------------------------------------------------------ sentiment
def _ngrams(tokens):
    return list(tokens) + [f"{a} {b}" for a, b in zip(tokens[:-1], tokens[1:])]


@dataclass
class SentimentModel:
    """A TF-IDF (unigrams + bigrams of tokens) + logistic-regression sentiment classifier.

    Attributes
    ----------
    pipeline : sklearn Pipeline
        Refitted on all labelled texts after evaluation (unless ``refit=False``).
    auc : float
        ROC AUC on the held-out texts (NaN when too few labels of a class).
    n_train, n_test : int
        Labelled texts used to fit and to evaluate.
    test_index : ndarray
        Positions (in the labelled input) of the held-out texts.
    """

    pipeline: object
    auc: float
    n_train: int
    n_test: int
    test_index: np.ndarray


def _pipeline(C: float, min_df: int):
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    return make_pipeline(TfidfVectorizer(analyzer=_ngrams, min_df=min_df, sublinear_tf=True),
                         LogisticRegression(C=C, max_iter=2000, class_weight="balanced"))


def train_sentiment(tokens: Sequence[Sequence[str]], labels: Sequence, test_size: float = 0.25, C: float = 4.0,
                    min_df: int = 2, random_state: int = 42, refit: bool = True) -> SentimentModel:
    """Fit and evaluate a sentiment classifier on texts with a label (1 positive, 0 negative).

    Rows with a missing label or no tokens are ignored. A stratified ``test_size`` share is held
    out; the AUC is measured there, then (``refit=True``) the model is refitted on all labelled
    texts for scoring; with ``refit=False`` the pipeline is the one fitted on the training part.

    Raises
    ------
    ValueError
        With fewer than 10 labelled texts or fewer than 4 of either class.
    """
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import train_test_split

    lab = pd.Series(list(labels), dtype=float)
    keep = np.flatnonzero(lab.notna().to_numpy() & np.array([len(t) > 0 for t in tokens]))
    y = lab.to_numpy()[keep].astype(int)
    docs = [list(tokens[i]) for i in keep]
    counts = np.bincount(y, minlength=2) if len(y) else np.zeros(2, int)
    if len(y) < 10 or counts.min() < 4:
        raise ValueError(f"too few labelled texts for a sentiment model: {counts[1]} positive and {counts[0]} negative "
                         "(need at least 4 of each and 10 in all).")
    tr, te = train_test_split(np.arange(len(y)), test_size=test_size, stratify=y, random_state=random_state)
    pipe = _pipeline(C, min_df).fit([docs[i] for i in tr], y[tr])
    prob = pipe.predict_proba([docs[i] for i in te])[:, 1]
    auc = float(roc_auc_score(y[te], prob)) if len(set(y[te])) == 2 else math.nan
    final = _pipeline(C, min_df).fit(docs, y) if refit else pipe
    return SentimentModel(final, auc, len(tr), len(te), keep[te])


def score_sentiment(model: SentimentModel, tokens: Sequence[Sequence[str]]) -> np.ndarray:
    """Probability that each text is positive (0-1); NaN for texts without tokens."""
    tokens = [list(t) for t in tokens]
    out = np.full(len(tokens), np.nan)
    idx = [i for i, t in enumerate(tokens) if t]
    if idx:
        out[idx] = model.pipeline.predict_proba([tokens[i] for i in idx])[:, 1]
    return out


# ------------------------------------------------------------------ report helper
@dataclass
class FeedbackText:
    """Everything the report shows about feedback text (:func:`analyse_feedback_text`).

    Attributes
    ----------
    scores : DataFrame
        Per feedback row with text (index of the input): ``sentiment`` (probability positive, 0-1),
        ``sentiment_source`` (``model``), ``label`` (1/0 from the score, missing without), ``topic``.
    topics : TopicModel or None
    examples : DataFrame
        Short scrubbed excerpts per topic.
    by_topic : DataFrame
        ``topic, label, n, positive_share, mean_sentiment`` (positive = probability >= 0.5).
    sentiment : SentimentModel or None
    notes : list of str
        Why a part was skipped (too few texts or labels).
    """

    scores: pd.DataFrame
    topics: TopicModel | None
    examples: pd.DataFrame
    by_topic: pd.DataFrame
    sentiment: SentimentModel | None
    notes: list


def analyse_feedback_text(feedback: pd.DataFrame, n_topics: int | None = None, max_topics: int = 8,
                          random_state: int = 42, excerpt_chars: int = 60, names=None) -> FeedbackText:
    """Topics and sentiment for the feedback rows that have text.

    ``names`` (a :func:`ecrm_lib.report.name_pattern`, e.g. of the accounts'
    names) is masked in the excerpts, beside e-mails and phone numbers.

    The sentiment model is trained on texts whose score gives a label (:func:`sentiment_labels`)
    and scores every text; topics come from :func:`fit_topics`. Parts that cannot be fitted are
    skipped with a note instead of failing.
    """
    fb = feedback[feedback["text"].notna() & (feedback["text"].astype(str).str.strip() != "")]
    notes: list[str] = []
    scores = pd.DataFrame(index=fb.index, columns=["sentiment", "label", "topic"], dtype=float)
    if fb.empty:
        return FeedbackText(scores, None, pd.DataFrame(columns=["topic", "label", "excerpt"]),
                            pd.DataFrame(columns=["topic", "label", "n", "positive_share", "mean_sentiment"]), None,
                            ["no feedback text"])
    texts = fb["text"].astype(str).tolist()
    tok_neg = tokenize(texts, keep_negation=True)
    tok = [[w for w in t if w not in ("not", "않다")] for t in tok_neg]
    labels = sentiment_labels(fb["score"], fb["score_max"]) if "score" in fb else pd.Series(np.nan, index=fb.index)
    scores["label"] = labels.to_numpy()
    model = None
    try:
        model = train_sentiment(tok_neg, labels.to_numpy(), random_state=random_state)
        scores["sentiment"] = score_sentiment(model, tok_neg)
    except ValueError as e:
        notes.append(f"sentiment model skipped: {e}")
    tm = None
    try:
        tm = fit_topics(tok, n_topics=n_topics, max_topics=max_topics, random_state=random_state)
        scores["topic"] = tm.doc_topic["topic"].astype(float).to_numpy()
    except ValueError as e:
        notes.append(f"topics skipped: {e}")
    examples = topic_examples(texts, tm, max_chars=excerpt_chars, names=names) if tm else pd.DataFrame(columns=["topic", "label", "excerpt"])
    rows = []
    if tm:
        for t in range(1, tm.n_topics + 1):
            s = scores.loc[scores["topic"] == t, "sentiment"].astype(float)
            rows.append(dict(topic=t, label=tm.labels[t], n=int((scores["topic"] == t).sum()),
                             positive_share=float((s.dropna() >= 0.5).mean()) if s.notna().any() else np.nan,
                             mean_sentiment=float(s.mean()) if s.notna().any() else np.nan))
    by_topic = pd.DataFrame(rows, columns=["topic", "label", "n", "positive_share", "mean_sentiment"])
    scores["topic"] = scores["topic"].astype("Int64")
    return FeedbackText(scores, tm, examples, by_topic, model, notes)



# ------------------------------------------------------------------ report tables, product and figures
def tone_by(feedback: pd.DataFrame, scores: pd.DataFrame, by: str = "channel", threshold: float = 0.5) -> pd.DataFrame:
    """Scored texts and the share that reads positive, per group (e.g. channel).

    Parameters
    ----------
    feedback : DataFrame
        The canonical ``feedback`` table (holds ``by``).
    scores : DataFrame
        :attr:`FeedbackText.scores` (index: rows of ``feedback``; ``sentiment`` = probability positive).
    by : str
        Column of ``feedback`` to group by; missing values form their own group.
    threshold : float
        A text reads positive when its sentiment is at least this (0-1).

    Returns
    -------
    DataFrame
        ``by``, ``n`` (texts with a sentiment), ``positive_share`` (0-1), one row per group, in
        group order. Show it with ``show_table(..., count_columns="n")``: ``n`` is the count of
        texts, so of customers at most, a group describes.

    Examples
    --------
    >>> fb = pd.DataFrame({"channel": ["app", "app", "store"]})
    >>> tone_by(fb, pd.DataFrame({"sentiment": [0.9, 0.2, 0.7]}, index=fb.index))
      channel  n  positive_share
    0     app  2             0.5
    1   store  1             1.0
    """
    if by not in feedback.columns:
        raise KeyError(f"column {by!r} not in the feedback table; columns are {list(map(str, feedback.columns))}")
    s = pd.to_numeric(scores["sentiment"], errors="coerce").astype(float).dropna()
    g = feedback.loc[s.index, by]
    out = (pd.DataFrame({by: g.to_numpy(), "positive": (s >= threshold).astype(float).to_numpy()})
           .groupby(by, dropna=False, sort=True)["positive"].agg(n="size", positive_share="mean").reset_index())
    out["n"] = out["n"].astype(int)
    return out


def topic_table(result: FeedbackText) -> pd.DataFrame:
    """Topics with their top words, texts and share positive, for display.

    Parameters
    ----------
    result : FeedbackText

    Returns
    -------
    DataFrame
        ``topic``, ``top words`` (comma-separated), ``n`` (texts), ``positive_share`` (0-1);
        empty when no topics were fitted.
    """
    cols = ["topic", "top words", "n", "positive_share"]
    if result.topics is None or result.by_topic.empty:
        return pd.DataFrame(columns=cols)
    words = result.topics.words.groupby("topic")["word"].apply(lambda w: ", ".join(map(str, w))).rename("top words").reset_index()
    return result.by_topic.merge(words, on="topic", how="left")[cols]


def feedback_scores(feedback: pd.DataFrame | None, scores: pd.DataFrame | None,
                    account_map: pd.DataFrame | None = None) -> pd.DataFrame:
    """The ``feedback/feedback_scores`` product: one row per scored text, pseudonymous ids only.

    Parameters
    ----------
    feedback : DataFrame or None
        The canonical ``feedback`` table (``account_id``, ``channel``); None: an empty product.
    scores : DataFrame or None
        :attr:`FeedbackText.scores` (index: rows of ``feedback``; ``sentiment``, ``topic``).
    account_map : DataFrame, optional
        ``account_id`` -> ``customer_id`` (the channel-integration product); None: every account is
        its own customer (see :func:`ecrm_lib.customers.attach_customer_id`).

    Returns
    -------
    DataFrame
        ``account_id``, ``customer_id`` (string), ``channel`` (string), ``sentiment`` (probability
        positive, 0-1, float), ``topic`` (Int64), with a plain 0..n-1 index;
        ``attrs["unmapped_accounts"]``: accounts missing from the map (kept as their own customer).

    Examples
    --------
    >>> fb = pd.DataFrame({"account_id": ["W1", "X9"], "channel": ["web", "app"], "text": ["ok", "bad"]})
    >>> sc = pd.DataFrame({"sentiment": [0.8, 0.1], "topic": pd.array([1, 2], dtype="Int64")}, index=fb.index)
    >>> out = feedback_scores(fb, sc, pd.DataFrame({"account_id": ["W1"], "customer_id": ["C1"]}))
    >>> out["customer_id"].tolist(), out.attrs["unmapped_accounts"]
    (['C1', 'X9'], 1)
    >>> list(feedback_scores(None, None).columns)
    ['account_id', 'customer_id', 'channel', 'sentiment', 'topic']
    """
    from .customers import attach_customer_id

    cols = ["account_id", "customer_id", "channel", "sentiment", "topic"]
    if feedback is None or scores is None:
        out = pd.DataFrame({"account_id": pd.Series(dtype="string"), "customer_id": pd.Series(dtype="string"),
                            "channel": pd.Series(dtype="string"), "sentiment": pd.Series(dtype=float),
                            "topic": pd.Series(dtype="Int64")})
        out.attrs["unmapped_accounts"] = 0
        return out
    scored = feedback.loc[scores.index, ["account_id", "channel"]].join(scores[["sentiment", "topic"]])
    scored = attach_customer_id(scored, account_map)
    unmapped = scored.attrs.get("unmapped_accounts", 0)
    out = scored[cols].reset_index(drop=True)
    out["channel"] = out["channel"].astype("string")
    out["sentiment"] = pd.to_numeric(out["sentiment"], errors="coerce").astype(float)
    out["topic"] = pd.to_numeric(out["topic"], errors="coerce").astype("Int64")
    out.attrs["unmapped_accounts"] = unmapped
    return out


def text_metrics(result: FeedbackText | None) -> dict:
    """The text headline figures for ``RunContext.record_metric``.

    Returns
    -------
    dict
        ``sentiment_auc`` (held-out ROC AUC, 0-1) and ``n_topics`` (topics); None when the part was
        skipped or ``result`` is None (no feedback table).

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
