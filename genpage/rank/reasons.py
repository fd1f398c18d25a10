"""Why an item is on a shopper's list: one machine-readable `Reason` per ranked item.

The reason is the strongest signal behind the item: bought before (buy_again), bought with or like something the
shopper bought or viewed (because_bought / because_viewed + that item), close to a search (because_searched + the
query), liked by similar shoppers, trending in its category, new, or featured by the campaign.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse as sp

from genpage.rank.catalogue import CandidateBatch, Catalogue
from genpage.rank.features import History
from genpage.rank.rules import campaign_items
from genpage.schemas import Campaign, RankedItem, Reason, User
from genpage.text import TITLE_STOPWORDS, commonest_words, letter_runs


def theme_words(titles: list[str], weights: np.ndarray, top: int = 3) -> list[str]:
    """The most telling words of a user's products (weighted), used as interests when there are no categories."""
    # each word once per title, in title order: ties go to the word seen first, whatever the hash seed
    tokens = (dict.fromkeys(w for w in letter_runs(title.lower()) if len(w) > 2 and w not in TITLE_STOPWORDS)
              for title in titles)  # fmt: skip
    return [w for w, _ in commonest_words(tokens, weights)[:top]]


def _anchors(
    catalogue: Catalogue, history: History, row: int, items: list[int], limit: int = 100
) -> tuple[np.ndarray, np.ndarray]:
    """For each item: the user's own item that best explains it (co-bought, else most similar text; -1 if the user
    has none) and whether that anchor was bought (else viewed). Looks at the user's `limit` strongest items."""
    own, weights = history.user_item_weights(row)
    if len(own) == 0 or not items:
        return np.full(len(items), -1), np.zeros(len(items), bool)
    if len(own) > limit:
        own = own[np.argsort(-weights, kind="stable")[:limit]]
    cols = np.asarray(items)
    link = _cells(history.sim_basket, own, cols) + _cells(history.sim_user, own, cols)  # (own, items)
    unlinked = link.max(axis=0) <= 0
    if unlinked.any():
        link[:, unlinked] = catalogue.item_vectors[own] @ catalogue.item_vectors[cols[unlinked]].T
    best = own[np.argmax(link, axis=0)]
    return best, np.isin(best, _row(history.baskets, row))


def _row(matrix: sp.csr_matrix, row: int) -> np.ndarray:
    return matrix.indices[matrix.indptr[row] : matrix.indptr[row + 1]]


def explain(
    catalogue: Catalogue,
    history: History,
    batch: CandidateBatch,
    r: int,
    picked: np.ndarray,
    scores: np.ndarray,
    forced: dict[int, str],
    *,
    cold: bool,
    campaign: Campaign | None,
    new_items: np.ndarray,
    trend: np.ndarray,
    user: User | None,
) -> list[RankedItem]:
    planes = batch.planes
    row = int(batch.rows[r])
    campaign_set = set(campaign_items(catalogue, campaign).tolist()) if campaign is not None else set()
    new_set = set(new_items.tolist())
    trend_cut = np.sort(trend)[-max(1, len(trend) // 20)] if len(trend) else 0.0
    queries = history.queries.get(user.id, []) if user is not None else []
    profile = batch.profiles[r]
    items = []
    anchors, anchor_bought = _anchors(catalogue, history, row, picked.tolist()) if row >= 0 else (None, None)
    for pos, item in enumerate(picked.tolist()):
        label = None
        category = catalogue.categories[item] or None
        if forced.get(item) == "new_arrival":
            reason = Reason.model_construct(kind="new_arrival", anchor_id=category, anchor_label=category)
        elif forced.get(item) == "trending":
            reason = Reason.model_construct(kind="trending", anchor_id=category, anchor_label=category)
        elif item in campaign_set:
            reason = Reason.model_construct(kind="campaign", anchor_id=campaign.name, anchor_label=campaign.name)  # type: ignore[union-attr]
        elif not cold and planes["ui_baskets"][r, item] > 0:
            reason = Reason.model_construct(
                kind="buy_again", anchor_id=catalogue.item_ids[item], anchor_label=catalogue.titles[item]
            )
        elif item in new_set and (cold or scores[item] < np.inf):
            reason = Reason.model_construct(kind="new_arrival", anchor_id=category, anchor_label=category)
        elif cold:
            country = user.country if user is not None else None
            if country and trend[item] < trend_cut:
                reason = Reason.model_construct(kind="popular_in_country", anchor_id=country, anchor_label=country)
            else:
                reason = Reason.model_construct(kind="trending", anchor_id=category, anchor_label=category)
        elif (
            queries
            and len(profile.queries)
            and planes["sem_query"][r, item] >= max(0.5, planes["sem_interest"][r, item])
        ):
            sims = profile.queries @ catalogue.item_vectors[item]
            label = queries[-len(profile.queries) :][int(np.argmax(sims))]
            reason = Reason.model_construct(kind="because_searched", anchor_id=label, anchor_label=label)
        elif planes["uknn"][r, item] > 2 * max(planes["knn_basket"][r, item], 1e-6) and row >= 0:
            reason = Reason.model_construct(kind="similar_shoppers", anchor_id=None, anchor_label=None)
        elif trend[item] >= trend_cut and planes["knn_basket"][r, item] <= 0 and planes["sem_interest"][r, item] < 0.5:
            reason = Reason.model_construct(kind="trending", anchor_id=category, anchor_label=category)
        else:
            anchor = int(anchors[pos]) if anchors is not None else -1
            if anchor < 0:
                reason = Reason.model_construct(kind="for_you", anchor_id=None, anchor_label=None)
            else:
                kind = "because_bought" if anchor_bought[pos] else "because_viewed"  # type: ignore[index]
                reason = Reason.model_construct(
                    kind=kind, anchor_id=catalogue.item_ids[anchor], anchor_label=catalogue.titles[anchor]
                )
        items.append(
            RankedItem.model_construct(item_id=catalogue.item_ids[item], score=float(scores[item]), reason=reason)
        )
    return items


def _cells(matrix: Any, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    if sp.issparse(matrix):
        return np.asarray(matrix[rows][:, cols].todense(), dtype=np.float64)
    return np.asarray(matrix[np.ix_(rows, cols)], dtype=np.float64)
