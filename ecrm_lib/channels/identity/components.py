"""Connected components of the identity graph, the component-size guard and the link rules.

The graph's nodes are accounts and identifiers; its edges are the accounts'
usable identifiers (not stopped by a guard, held by two accounts or more).
The edge list comes from the engine as integer codes and
``scipy.sparse.csgraph.connected_components`` labels it (about a second for
ten million edges). The component-size guard works on the over-size
components only: it drops their weakest identifier (phones before e-mails,
the most shared first, then the highest id) round after round until every
part fits; parts still too large after :data:`MAX_SPLIT_ROUNDS` rounds are left
unmerged (each account its own customer).

:func:`attach_singletons` adds the probabilistic links: each account the
deterministic pass left single joins its single best match.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

__all__ = [
    "LINK_RULES",
    "MAX_SPLIT_ROUNDS",
    "RULE_CODE",
    "DeterministicGraph",
    "Edges",
    "attach_singletons",
    "component_labels",
    "deterministic_components",
    "relabel",
]

LINK_RULES = ("email", "phone", "probabilistic", "singleton")
RULE_CODE = {r: i for i, r in enumerate(LINK_RULES)}
MAX_SPLIT_ROUNDS = 200


@dataclass
class Edges:
    """Account-identifier edges as integer arrays (one entry per edge).

    Attributes
    ----------
    row : ndarray of int64
        Account row number.
    id : ndarray of int64
        Identifier id.
    is_phone : ndarray of bool
        The identifier is a phone (weaker than an e-mail).
    n_accounts : ndarray of int64
        Accounts holding the identifier.
    origin : ndarray of int64, optional
        The identifier in the ``ids`` table an edge stands for, where ``id`` is a
        name group's own id (an e-mail shared by two people links each person's
        accounts under a separate id); None: ``id`` itself.
    """

    row: np.ndarray
    id: np.ndarray
    is_phone: np.ndarray
    n_accounts: np.ndarray
    origin: np.ndarray | None = None

    def origin_ids(self) -> np.ndarray:
        """The identifier each edge stands for (an e-mail's name group links under its own id)."""
        return self.id if self.origin is None else self.origin


@dataclass
class DeterministicGraph:
    """Result of :func:`deterministic_components`.

    Attributes
    ----------
    labels : ndarray of int64
        Component per account, numbered 0..k-1 in order of first appearance.
    active : ndarray of bool
        Per edge: it links (not dropped by the size guard, not in a component left unmerged).
    dropped_ids : ndarray of int64
        Identifiers the size guard dropped.
    rule : ndarray of int8
        Link rule code per account (:data:`LINK_RULES`).
    info : dict
        split_components, split_rounds, unmerged_components, unmerged_accounts.
    """

    labels: np.ndarray
    active: np.ndarray
    dropped_ids: np.ndarray
    rule: np.ndarray
    info: dict = field(default_factory=dict)


def component_labels(n_nodes: int, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Connected-component label of each node of an undirected graph given by edges a-b."""
    if n_nodes == 0:
        return np.zeros(0, dtype=np.int64)
    g = coo_matrix((np.ones(len(a), dtype=np.int8), (a, b)), shape=(n_nodes, n_nodes))
    _, labels = connected_components(g, directed=False)
    return labels.astype(np.int64)


def relabel(labels: np.ndarray) -> np.ndarray:
    """Labels renumbered 0..k-1 in order of first appearance."""
    _, first, inv = np.unique(labels, return_index=True, return_inverse=True)
    order = np.argsort(np.argsort(first, kind="stable"), kind="stable")
    return order[inv].astype(np.int64)


def deterministic_components(n: int, edges: Edges, *, max_component_size: int | None) -> DeterministicGraph:
    """Connected components of the accounts over their usable identifiers, with the size guard.

    Parameters
    ----------
    n : int
        Number of accounts (rows 0..n-1).
    edges : Edges
        Usable identifiers (held by two accounts or more, no guard reason).
    max_component_size : int or None
        Largest component allowed, in accounts; None: no limit.

    Returns
    -------
    DeterministicGraph
    """
    uid, local = np.unique(edges.id, return_inverse=True)
    k = len(uid)
    is_phone = np.zeros(k, dtype=bool)
    is_phone[local] = edges.is_phone
    n_acc = np.zeros(k, dtype=np.int64)
    n_acc[local] = edges.n_accounts
    m_acc = edges.row.astype(np.int64)
    active = np.ones(len(m_acc), dtype=bool)
    labels = component_labels(n + k, m_acc, n + local)[:n]
    info = {"split_components": 0, "split_rounds": 0, "unmerged_components": 0, "unmerged_accounts": 0}
    dropped = np.zeros(k, dtype=bool)
    if max_component_size is not None and n:
        sizes = np.bincount(labels)
        big = sizes[labels] > max_component_size
        if big.any():
            info["split_components"] = int(np.unique(labels[big]).size)
            sub = active & big[m_acc]
            for rnd in range(MAX_SPLIT_ROUNDS):
                sub_acc, sub_id = m_acc[sub], local[sub]
                if len(sub_acc) == 0:
                    break
                acc_nodes, acc_local = np.unique(sub_acc, return_inverse=True)
                id_nodes, id_local = np.unique(sub_id, return_inverse=True)
                lab = component_labels(len(acc_nodes) + len(id_nodes), acc_local, len(acc_nodes) + id_local)
                size = np.bincount(lab[: len(acc_nodes)], minlength=lab.max() + 1)
                comp_of_id = lab[len(acc_nodes):]
                over = size[comp_of_id] > max_component_size
                if not over.any():
                    break
                info["split_rounds"] = rnd + 1
                # In every over-size component drop its weakest identifier: phone before
                # e-mail, then the most shared, then the highest id (deterministic).
                cand = pd.DataFrame({"comp": comp_of_id[over], "id": id_nodes[over]})
                cand["rank"] = is_phone[cand["id"]].astype(np.int64)
                cand["n"] = n_acc[cand["id"]]
                worst = cand.sort_values(["comp", "rank", "n", "id"], ascending=[True, False, False, False]).drop_duplicates("comp")["id"].to_numpy()
                dropped[worst] = True
                sub = sub & ~dropped[local]
            active = active & ~dropped[local]
            labels = component_labels(n + k, m_acc[active], n + local[active])[:n]
            sizes = np.bincount(labels)
            still = sizes[labels] > max_component_size
            if still.any():
                # Left unmerged: every account of such a component becomes its own customer.
                info["unmerged_components"] = int(np.unique(labels[still]).size)
                info["unmerged_accounts"] = int(still.sum())
                active = active & ~still[m_acc]
                labels = component_labels(n + k, m_acc[active], n + local[active])[:n]
    labels = relabel(labels) if n else labels
    return DeterministicGraph(labels=labels, active=active, dropped_ids=uid[dropped], rule=_link_rules(n, labels, edges, active), info=info)


def _link_rules(n: int, labels: np.ndarray, edges: Edges, active: np.ndarray) -> np.ndarray:
    """Link rule code per account: email if it links by an e-mail, else phone, else singleton."""
    rule = np.full(n, RULE_CODE["singleton"], dtype=np.int8)
    if not n:
        return rule
    linked = np.bincount(labels)[labels] >= 2
    email = np.zeros(n, dtype=bool)
    phone = np.zeros(n, dtype=bool)
    email[edges.row[active & ~edges.is_phone]] = True
    phone[edges.row[active & edges.is_phone]] = True
    rule[linked & phone] = RULE_CODE["phone"]
    rule[linked & email] = RULE_CODE["email"]
    return rule


def attach_singletons(
    pairs: pd.DataFrame, labels: np.ndarray, single: np.ndarray, max_component_size: int | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray, dict]:
    """Each singleton joins its single best match.

    Parameters
    ----------
    pairs : DataFrame
        l, r (account rows), match_probability, match_weight: scored pairs at
        or above the threshold.
    labels : ndarray of int64
        Deterministic component per account.
    single : ndarray of bool
        The account is alone in its deterministic component.
    max_component_size : int or None
        A link that would make a customer larger than this is rejected.

    Returns
    -------
    (labels, probability, weight, info)
        New labels (0..k-1 in order of first appearance), per account the
        probability and weight of its link (NaN where none), and
        singletons_attached, links_rejected_size.
    """
    n = len(labels)
    prob = np.full(n, np.nan)
    weight = np.full(n, np.nan)
    info = {"singletons_attached": 0, "links_rejected_size": 0}
    if pairs.empty:
        return labels, prob, weight, info
    l, r = pairs["l"].to_numpy(np.int64), pairs["r"].to_numpy(np.int64)
    p, w = pairs["match_probability"].to_numpy(), pairs["match_weight"].to_numpy()
    src = np.concatenate([l[single[l]], r[single[r]]])
    dst = np.concatenate([r[single[l]], l[single[r]]])
    pp = np.concatenate([p[single[l]], p[single[r]]])
    ww = np.concatenate([w[single[l]], w[single[r]]])
    e = pd.DataFrame({"src": src, "dst": dst, "p": pp, "w": ww}).sort_values(["src", "p", "dst"], ascending=[True, False, True])
    best = e.drop_duplicates("src")
    bs, bd = best["src"].to_numpy(), best["dst"].to_numpy()
    # Accounts joined to their deterministic component node, plus the best links.
    k = labels.max() + 1 if n else 0
    merged = component_labels(n + k, np.concatenate([np.arange(n), bs]), np.concatenate([n + labels, bd]))[:n]
    if max_component_size is not None:
        size = np.bincount(merged)
        too_big = size[merged] > max_component_size
        if too_big.any():
            # Reject the best links of singletons in over-size components.
            reject = too_big[bs]
            info["links_rejected_size"] = int(reject.sum())
            bs, bd, best = bs[~reject], bd[~reject], best[~reject]
            merged = component_labels(n + k, np.concatenate([np.arange(n), bs]), np.concatenate([n + labels, bd]))[:n]
    size = np.bincount(merged)
    attached = single & (size[merged] >= 2)
    # Each attached singleton carries the probability of its own best link, or
    # (when only others point at it) of the best link pointing at it.
    kept = pd.DataFrame(
        {
            "a": np.concatenate([bs, bd]),
            "p": np.tile(best["p"].to_numpy(), 2),
            "w": np.tile(best["w"].to_numpy(), 2),
            "own": np.r_[np.ones(len(bs)), np.zeros(len(bd))],
        }
    )
    kept = kept.sort_values(["a", "own", "p"], ascending=[True, False, False]).drop_duplicates("a").set_index("a")
    idx = np.flatnonzero(attached)
    prob[idx] = kept["p"].reindex(idx).to_numpy()
    weight[idx] = kept["w"].reindex(idx).to_numpy()
    info["singletons_attached"] = int(attached.sum())
    return relabel(merged), prob, weight, info
