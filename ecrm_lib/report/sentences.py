"""Sentences built from figures, safe on edge values (0, 1, None, ties), in the report language.

Each function takes the figures a notebook already has and returns one plain sentence (show it
through ``md("{s}", s=...)``); counts of people go through :func:`ecrm_lib.core.privacy.count_text`
(1-4 read "fewer than 5", 0 is said in words, never "For none customers").
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from ecrm_lib.core.format import as_number, format_number
from ecrm_lib.core.i18n import t
from ecrm_lib.core.privacy import count_text

__all__ = ["channel_conflict_sentence", "identifier_gap_sentence"]


def identifier_gap_sentence(ids: pd.DataFrame, min_cell: int = 5) -> str:
    """Which channel has the largest share of accounts without an e-mail or a phone number.

    Parameters
    ----------
    ids : DataFrame
        :func:`ecrm_lib.data.overview.identifier_completeness` (``channel``, ``accounts``,
        ``no_identifier`` as a share 0-1).
    min_cell : int
        Channels with fewer accounts are not named (their share describes fewer than ``min_cell``).

    Returns
    -------
    str
        No "highest of any channel" when every share is 0, when only one channel is shown, or for a
        tie (the tied channels are named together).

    Examples
    --------
    >>> ids = pd.DataFrame({"channel": ["web", "store"], "accounts": [100, 50], "no_identifier": [0.0, 0.0]})
    >>> identifier_gap_sentence(ids)
    'Every account has an e-mail address or a phone number, in every channel.'
    >>> identifier_gap_sentence(ids.assign(no_identifier=[0.1, 0.1]))
    '10.0% of the accounts in channels web and store have neither an e-mail nor a phone number, the highest share (a tie).'
    >>> identifier_gap_sentence(ids.assign(no_identifier=[0.2, 0.1]))
    '20.0% of the accounts in channel web have neither an e-mail nor a phone number, the highest of any channel.'
    """
    d = ids.dropna(subset=["no_identifier"])
    if "accounts" in d:
        d = d[d["accounts"].astype(float) >= min_cell]
    if d.empty:
        return t("sentences.identifier_none_shown", n=min_cell)
    top = float(d["no_identifier"].max())
    if top <= 0:
        return t("sentences.identifier_all_have")
    share = format_number(top, "%", 1)
    worst = d.loc[d["no_identifier"] == top, "channel"].astype(str).tolist()
    if len(d) == 1:
        return t("sentences.identifier_one_channel", share=share, channel=worst[0])
    if len(worst) > 1:
        return t("sentences.identifier_tie", share=share, channels=" and ".join([", ".join(worst[:-1]), worst[-1]]))
    return t("sentences.identifier_highest", share=share, channel=worst[0])


def channel_conflict_sentence(n: Any, min_cell: int = 5) -> str:
    """How many customers' channels disagree on their e-mail address or phone number.

    Examples
    --------
    >>> channel_conflict_sentence(0)
    "No customer's channels disagree on the e-mail address or phone number."
    >>> channel_conflict_sentence(3)[:40]
    'For fewer than 5 customers the channels '
    >>> channel_conflict_sentence(None)
    'Whether the channels disagree on e-mail addresses or phone numbers is not available because no customer has accounts in two channels with these details.'
    """
    x = as_number(n)
    if x is None:
        return t("sentences.conflict_not_available")
    if x == 0:
        return t("sentences.conflict_none")
    return t("sentences.conflict_some", n=count_text(x, min_cell))
