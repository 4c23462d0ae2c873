"""Korean particles after a formatted placeholder (issue 12): a particle must suit how the value ends on a Korean page.

The formats end in a known sound: money in KRW in "원" (a final consonant: 원이/원은/원을/원과/원으로), shares and
points in "%" / "%p" (read 퍼센트, 퍼센트포인트: a vowel, so 가/는/를/와/로), dates in "일" (ㄹ: 일이/일은/일을/일과/일로).
A bare number or count ends in any digit, whose reading decides the particle (0.743 -> 으로, 0.749 -> 로): no case particle
may follow it directly (write "(AUC 0.74)" or "...은 0.74입니다"; the copula 입니다/이며/이고 suits every ending).
"""

from __future__ import annotations

import pytest

import re

from ecrm_lib.core.i18n import catalogue

#: particles and copulas after a placeholder, longest first (a copula "이며" is not the particle "이"), ending the word or
#: followed by one more particle (으로는, 와도); "가지", "이상" are words, not particles
_AFTER = re.compile(r"\{(\w+):(\w+)\}(?:\*\*)?(이었|이며|이고|입니다|이므로|이지만|이라|이면|이나|으로|로|을|를|이|가|은|는|와|과|였)"
                    r"(?=$|[^\uac00-\ud7a3]|[는도만의서])")
#: which particle does not suit a placeholder type's ending
WRONG = {
    "money": {"가", "는", "를", "와", "로", "였"},                     # ... 원
    "share": {"이", "은", "을", "과", "으로", "이었"},                 # ... %
    "share0": {"이", "은", "을", "과", "으로", "이었"},
    "points": {"이", "은", "을", "과", "으로", "이었"},                # ... %p
    "date": {"가", "는", "를", "와", "으로"},                           # ... 일
    **{kind: {"이", "가", "은", "는", "을", "를", "와", "과", "로", "으로"} for kind in ("count", "num0", "num1", "num2", "num3")},
}
#: messages that still break the rule, each reported to its owner (remove a key once it is fixed; empty: none known)
KNOWN: set[str] = set()


def wrong_particles(messages: dict[str, str]) -> list[tuple[str, str]]:
    """``(key, placeholder + particle)`` of every typed placeholder followed by a particle that does not suit it."""
    out = []
    for key, text in messages.items():
        for m in _AFTER.finditer(text):
            name, kind, particle = m.groups()
            if particle in WRONG.get(kind, ()):
                out.append((key, f"{{{name}:{kind}}}{particle}"))
    return out


def test_the_check_catches_a_wrong_particle_and_passes_a_right_one():
    bad = {"a": "비용은 {x:money}로 줄었습니다", "b": "비율은 {s:share}을 넘습니다", "c": "AUC {auc:num3}로 구분합니다",
           "d": "{d:date}으로 옮깁니다", "e": "**{x:money}**가 듭니다",
           "f": "{x:money}로는 부족합니다"}
    good = {"a": "비용은 {x:money}으로 줄었습니다", "b": "비율은 {s:share}를 넘습니다", "c": "구분하는 정도는 AUC {auc:num3}입니다",
            "d": "{d:date}로 옮깁니다", "e": "**{x:money}**이 듭니다", "f": "{n:count}이며", "g": "{x:money}입니다",
            "h": "어조 {k:count}가지", "i": "{n:count}이상"}
    assert [k for k, _ in wrong_particles(bad)] == ["a", "b", "c", "d", "e", "f"]
    assert wrong_particles(good) == []


def test_korean_particles_suit_the_formatted_value_before_them():
    wrong = [(k, w) for k, w in wrong_particles(catalogue("ko")) if k not in KNOWN]
    assert not wrong, wrong


def test_the_known_exceptions_are_still_exceptions():
    """A known exception that was fixed leaves the list (so that it cannot break again unnoticed)."""
    if not KNOWN:
        pytest.skip("no known exceptions: every ko message is checked by the test above")
    still = {k for k, _ in wrong_particles(catalogue("ko"))}
    assert KNOWN <= still, sorted(KNOWN - still)
