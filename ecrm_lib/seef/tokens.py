"""Feedback text, step 1: the script of each text and its tokens.

Korean texts are tokenised with kiwipiepy (noun, verb and adjective lemmas;
prefixes such as 불 in 불친절 "unkind" stay on their word), English texts with
a regex; :func:`detect_script` decides per text, so mixed corpora work.

Privacy: every text is passed through :func:`ecrm_lib.core.privacy.scrub_pii`
before it is tokenised, so e-mail addresses and phone numbers never become
topic words.

Examples
--------
>>> detect_script("배송이 빨라요"), detect_script("Fast delivery")
('ko', 'en')
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from functools import lru_cache

from ecrm_lib.core.privacy import scrub_pii
from ecrm_lib.seef.scale import model_threads

__all__ = ["LANGUAGE_NAMES", "detect_script", "tokenize"]

LANGUAGE_NAMES = {"ko": "Korean", "en": "English", "other": "no letters"}
"""Display names of the script codes of :func:`detect_script`."""

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
# Prefixes (XPN, e.g. 불 in 불친절 "unkind") are joined to the word they precede.
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


@lru_cache(maxsize=4)
def _kiwi(num_workers: int = 1):
    # kiwipiepy is an optional dependency (the text extra) that loads a model of about 145 MB: imported on the
    # first Korean text, so that the module imports without it
    from kiwipiepy import Kiwi

    return Kiwi(num_workers=max(1, int(num_workers)))  # batch input needs num_workers >= 1 (kiwipiepy 0.24)


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
        prefix = ""
        for t in toks:
            tag = t.tag.split("-")[0]
            if tag == "XPN":  # a prefix such as 불/비/무/미 stays on its word: 불친절 (unkind) is not 친절 (kind)
                prefix += t.form
                continue
            if tag in _KO_CONTENT:
                lemma = getattr(t, "lemma", None) or t.form
                if tag in ("VV", "VA") and not lemma.endswith("다"):
                    lemma = lemma + "다"
                words.append(prefix + (lemma.lower() if tag == "SL" else lemma))
                prefix = ""
                continue
            prefix = ""
            if keep_negation and (tag in _KO_NEGATION_TAGS and (getattr(t, "lemma", None) or t.form) in ("않다", "못하다")
                                  or (tag == "MAG" and t.form in _KO_NEGATION_ADVERBS)):
                words.append("않다")
        out.append(words)
    return out


def tokenize(texts: Iterable, keep_negation: bool = False, n_threads: int | None = None, names=None) -> list[list[str]]:
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
    n_threads : int, optional
        kiwipiepy workers for Korean texts (:func:`ecrm_lib.seef.scale.model_threads`;
        one for fewer than 20,000 texts).
    names : re.Pattern, optional
        Known names (:func:`ecrm_lib.core.privacy.name_pattern`), masked before the texts are
        cut into words, so that no name becomes a word.

    Returns
    -------
    list of list of str

    Examples
    --------
    >>> tokenize(["배송이 정말 빨라서 좋았어요", "Delivery was late!"])
    [['배송', '빠르다', '좋다'], ['delivery', 'late']]
    """
    texts = [scrub_pii(t, names=names) for t in texts]
    scripts = [detect_script(t) for t in texts]
    out: list[list[str]] = [[] for _ in texts]
    ko_idx = [i for i, s in enumerate(scripts) if s == "ko"]
    if ko_idx:
        toks = _kiwi(model_threads(len(ko_idx), n_threads)).tokenize([texts[i] for i in ko_idx])
        for i, words in zip(ko_idx, _korean_tokens(toks, keep_negation)):
            out[i] = words
    for i, s in enumerate(scripts):
        if s == "en":
            out[i] = _english_tokens(texts[i], keep_negation)
    return out
