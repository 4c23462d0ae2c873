"""Feedback text, topics: TF-IDF + NMF per language, with an automatic number of topics.

Languages
---------
Texts in different scripts share no words, so one topic model over all of
them mixes them (the default data's English texts sat in a Korean topic).
:func:`fit_topics_by_language` fits the main language's topics, gives another
language with enough texts its own topics, and keeps a smaller one as one
group.

Excerpts
--------
:func:`topic_examples` shows texts that hold the topic's top word and share
the topic's majority tone, so an excerpt never contradicts its topic;
excerpts are scrubbed of personal data and cut short. Reports must still
show them only through ``show_table``/``md``, which escape them.

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

At scale :func:`fit_topics` fits the vocabulary, ``k`` and NMF on a random
sample of ``sample_size`` texts (5,000 by default) and assigns every text with
the fitted model.

Examples
--------
>>> tm = fit_topics([["price", "high"], ["price", "cheap"], ["delivery", "fast"], ["delivery", "slow"]] * 3, n_topics=2)
>>> sorted(sorted(label.split(" / ")) for label in tm.labels.values())  # tied words may come in either order
[['cheap', 'high', 'price'], ['delivery', 'fast', 'slow']]
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd
from sklearn.decomposition import NMF
from sklearn.feature_extraction.text import TfidfVectorizer

from ecrm_lib.core.privacy import name_words, scrub_pii
from ecrm_lib.seef.tokens import LANGUAGE_NAMES
from ecrm_lib.seef.tone import majority_tone

__all__ = [
    "TopicModel",
    "choose_n_topics",
    "fit_topics",
    "fit_topics_by_language",
    "topic_examples",
    "without_name_words",
]


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
    languages : dict
        Topic number -> language code of its texts (``"ko"``, ``"en"``; see :func:`fit_topics_by_language`);
        empty for a model fitted on one undeclared language.
    """

    n_topics: int
    words: pd.DataFrame
    labels: dict
    doc_topic: pd.DataFrame
    selection: pd.DataFrame
    languages: dict = field(default_factory=dict)


def _fit_nmf(X, k: int, random_state: int):
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


def fit_topics_by_language(tokens: Sequence[Sequence[str]], languages: Sequence[str], n_topics: int | None = None,
                           max_topics: int = 8, min_language_texts: int = 100, random_state: int = 42,
                           **kwargs) -> tuple[TopicModel, pd.DataFrame]:
    """Topics fitted separately per language, so that texts in one language never sit in another's topic.

    Texts in different scripts share no words, so one model over all of them mixes them: on the
    default data the English texts ended up in a Korean topic. Here the main language (the one with
    the most texts with words) gets ``n_topics`` (or an automatic number up to ``max_topics``);
    every other language with at least ``min_language_texts`` texts gets its own automatic topics,
    and a smaller one forms **one group** of its own (a one-topic model, which still names its most
    typical words). Topics are numbered across languages, main language first.

    Parameters
    ----------
    tokens : list of token lists
        From :func:`tokenize` (without negation).
    languages : sequence of str
        Language (script) code per text, from :func:`detect_script`; ``"other"`` texts (no
        letters) get no topic.
    n_topics, max_topics : int
        For the main language (see :func:`fit_topics`).
    min_language_texts : int
        Texts with words a further language needs for topics of its own (else one group).
    random_state : int
    **kwargs
        Passed to :func:`fit_topics`.

    Returns
    -------
    (TopicModel, DataFrame)
        The combined model (``languages`` maps each topic to its language; ``selection`` is the
        main language's) and one row per language: ``language``, ``name``, ``n_texts``,
        ``n_with_words``, ``topics`` (list of topic numbers), ``grouping`` ("topics", "one group"
        or "no topic").

    Raises
    ------
    ValueError
        When no language has 2 texts with words.
    """
    tokens = [list(t) for t in tokens]
    languages = [str(x) for x in languages]
    if len(tokens) != len(languages):
        raise ValueError(f"tokens ({len(tokens)}) and languages ({len(languages)}) must have one entry per text.")
    with_words: dict[str, list[int]] = {}
    for i, (t, lang) in enumerate(zip(tokens, languages)):
        if t and lang != "other":
            with_words.setdefault(lang, []).append(i)
    counts = pd.Series(languages).value_counts()
    order = sorted(with_words, key=lambda g: (-len(with_words[g]), g))
    if not order or len(with_words[order[0]]) < 2:
        raise ValueError("topics need at least 2 texts with words in one language. Skip the topic section for this data.")
    topic_col = pd.array([pd.NA] * len(tokens), dtype="Int64")
    weight_col = np.full(len(tokens), np.nan)
    words, labels, langs, rows, selection, offset = [], {}, {}, [], None, 0
    for j, lang in enumerate(order):
        idx = with_words[lang]
        grouping = "topics"
        if j == 0:
            tm = fit_topics([tokens[i] for i in idx], n_topics=n_topics, max_topics=max_topics, random_state=random_state,
                            **kwargs)
            selection = tm.selection
        elif len(idx) >= min_language_texts:
            tm = fit_topics([tokens[i] for i in idx], n_topics=None, max_topics=max_topics, random_state=random_state,
                            **kwargs)
        elif len(idx) >= 2:
            tm = fit_topics([tokens[i] for i in idx], n_topics=1, random_state=random_state, **kwargs)
            grouping = "one group"
        else:
            tm, grouping = None, "no topic"
        ids = []
        if tm is not None:
            dt = tm.doc_topic
            for pos, (t, w) in zip(idx, zip(dt["topic"], dt["topic_weight"])):
                if pd.notna(t):
                    topic_col[pos] = int(t) + offset
                    weight_col[pos] = w
            words.append(tm.words.assign(topic=tm.words["topic"] + offset))
            for t, lab in tm.labels.items():
                labels[t + offset] = lab
                langs[t + offset] = lang
                ids.append(t + offset)
            offset += tm.n_topics
        rows.append(dict(language=lang, name=LANGUAGE_NAMES.get(lang, lang), n_texts=int(counts.get(lang, 0)),
                         n_with_words=len(idx), topics=ids, grouping=grouping))
    if "other" in counts.index:
        rows.append(dict(language="other", name=LANGUAGE_NAMES["other"], n_texts=int(counts["other"]), n_with_words=0,
                         topics=[], grouping="no topic"))
    doc_topic = pd.DataFrame({"topic": topic_col, "topic_weight": weight_col, "language": languages})
    model = TopicModel(offset, pd.concat(words, ignore_index=True), labels, doc_topic, selection, langs)
    return model, pd.DataFrame(rows, columns=["language", "name", "n_texts", "n_with_words", "topics", "grouping"])



def without_name_words(model: TopicModel, names) -> TopicModel:
    """The model with every top word that is a known name, or part of one, removed (issue 13 item 12).

    A name that customers write into their feedback becomes a token like any other word and
    can rank among a topic's top words; a word list on a shareable page must not show it.
    Words are compared with :func:`ecrm_lib.core.privacy.name_words` (the names, their parts
    and Hangul given names) and searched with the pattern itself; the remaining words keep
    their order (ranks renumbered) and the labels are rebuilt from them. Texts keep their topics.

    Parameters
    ----------
    model : TopicModel
    names : re.Pattern or None
        From :func:`ecrm_lib.core.privacy.name_pattern`; None returns the model unchanged.
    """
    if names is None or model is None or model.words.empty:
        return model
    known = name_words(names)
    w = model.words["word"].astype(str)
    bad = w.str.lower().isin(known) | w.map(lambda x: bool(names.search(x)))
    if not bad.any():
        return model
    words = model.words[~bad.to_numpy()].copy()
    words["rank"] = words.groupby("topic").cumcount() + 1
    labels = {t: " / ".join(words.loc[words["topic"] == t, "word"].head(3)) for t in model.labels}
    return replace(model, words=words.reset_index(drop=True), labels=labels)


def topic_examples(texts: Sequence, model: TopicModel, per_topic: int = 2, max_chars: int = 60,
                   names=None, tokens: Sequence[Sequence[str]] | None = None, tones: Sequence | None = None) -> pd.DataFrame:
    """Short, scrubbed excerpts of texts typical of each topic, coherent with its words and tone.

    Candidates are a topic's texts in order of topic weight. With ``tokens``, an excerpt must
    contain the topic's top word (rank 1), preferably with a second of its three label words, or
    failing enough such texts one of the label words; with ``tones``, it must have the topic's majority tone (:func:`majority_tone`; no tone
    rule for a "mixed" topic). A topic without a text that passes gets no excerpt rather than a
    misleading one.

    Returns
    -------
    DataFrame
        ``topic, label, excerpt``: up to ``per_topic`` texts per topic, personal data masked
        (:func:`~ecrm_lib.core.privacy.scrub_pii`) and cut at ``max_chars`` characters with an ellipsis.
        Display it with ``show_table`` (which escapes it).
    """
    dt = model.doc_topic[["topic", "topic_weight"]].assign(text=list(texts), pos=np.arange(len(model.doc_topic)))
    dt = dt.dropna(subset=["topic"])
    tone_s = pd.Series(list(tones), dtype="string") if tones is not None else None
    top = model.words.sort_values(["topic", "rank"]).groupby("topic")["word"].apply(list)
    rows = []
    for t in sorted(model.labels):
        part = dt[dt["topic"] == t].sort_values("topic_weight", ascending=False, kind="mergesort")
        majority = majority_tone(tone_s.iloc[part["pos"]]) if tone_s is not None else None
        words = top.get(t, [])
        # (words the text must hold, how many of them): the top word with another label word, the top
        # word, any label word; without tokens no word rule
        passes = [(words[:1], 1, 2), (words[:1], 1, 1), (words[:3], 1, 1)] if tokens is not None else [None]
        seen: list[str] = []
        for rule in passes:
            for pos, text in zip(part["pos"], part["text"]):
                if len(seen) >= per_topic:
                    break
                if rule is not None:
                    have = set(tokens[pos])
                    required, n_required, n_label = rule
                    if len(set(required) & have) < n_required or len(set(words[:3]) & have) < n_label:
                        continue
                if majority not in (None, "mixed") and tone_s.iloc[pos] != majority:
                    continue
                s = scrub_pii(text, names=names).strip()
                s = s if len(s) <= max_chars else s[: max_chars - 1].rstrip() + "…"
                if s and s not in seen:
                    seen.append(s)
                    rows.append(dict(topic=t, label=model.labels[t], excerpt=s))
    return pd.DataFrame(rows, columns=["topic", "label", "excerpt"])
