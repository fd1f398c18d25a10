"""Why an item is on a shopper's list: one machine-readable `Reason` per ranked item.

The reason is the strongest signal behind the item: bought before (buy_again), bought with or like something the
shopper bought or viewed (because_bought / because_viewed + that item), close to a search (because_searched + the
query), liked by similar shoppers, trending in its category, new, or featured by the campaign.
"""

from __future__ import annotations

import re
from collections import Counter
from typing import TYPE_CHECKING, Any

import numpy as np
import scipy.sparse as sp

from genpage.embed import clean_title
from genpage.rules import campaign_items
from genpage.schemas import Campaign, RankedItem, Reason, User

if TYPE_CHECKING:
    from genpage.features import History
    from genpage.rank import Ranker, _Batch

_STOP = {
    "of",
    "and",
    "the",
    "a",
    "in",
    "with",
    "for",
    "set",
    "to",
    "on",
    "s",
    "pack",
    "small",
    "large",
    "mini",
    "jumbo",
    "red",
    "pink",
    "blue",
    "green",
    "white",
    "black",
    "ivory",
    "cream",
    "design",
    "assorted",
    "colour",
    "box",
    "bag",
}
_WORD = re.compile(r"[a-z]{3,}")


def theme_words(titles: list[str], weights: np.ndarray, top: int = 3) -> list[str]:
    """The most telling words of a user's products (weighted), used as interests when there are no categories."""
    counts: Counter[str] = Counter()
    for title, weight in zip(titles, weights, strict=False):
        # each word once per title, in title order: ties go to the word seen first, whatever the hash seed
        for word in dict.fromkeys(_WORD.findall(title.lower())):
            if word not in _STOP:
                counts[word] += float(weight)
    return [w for w, _ in counts.most_common(top)]


def _anchors(
    ranker: Ranker, history: History, row: int, items: list[int], limit: int = 100
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
        link[:, unlinked] = ranker.item_vectors[own] @ ranker.item_vectors[cols[unlinked]].T
    best = own[np.argmax(link, axis=0)]
    return best, np.isin(best, _row(history.baskets, row))


def _row(matrix: sp.csr_matrix, row: int) -> np.ndarray:
    return matrix.indices[matrix.indptr[row] : matrix.indptr[row + 1]]


def explain(
    ranker: Ranker,
    history: History,
    batch: _Batch,
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
    campaign_set = set(campaign_items(ranker, campaign).tolist()) if campaign is not None else set()
    new_set = set(new_items.tolist())
    trend_cut = np.sort(trend)[-max(1, len(trend) // 20)] if len(trend) else 0.0
    queries = history.queries.get(user.id, []) if user is not None else []
    profile = batch.profiles[r]
    items = []
    anchors, anchor_bought = _anchors(ranker, history, row, picked.tolist()) if row >= 0 else (None, None)
    for pos, item in enumerate(picked.tolist()):
        label = None
        category = ranker.categories[item] or None
        if forced.get(item) == "new_arrival":
            reason = Reason.model_construct(kind="new_arrival", anchor_id=category, anchor_label=category)
        elif forced.get(item) == "trending":
            reason = Reason.model_construct(kind="trending", anchor_id=category, anchor_label=category)
        elif item in campaign_set:
            reason = Reason.model_construct(kind="campaign", anchor_id=campaign.name, anchor_label=campaign.name)  # type: ignore[union-attr]
        elif not cold and planes["ui_baskets"][r, item] > 0:
            reason = Reason.model_construct(
                kind="buy_again", anchor_id=ranker.item_ids[item], anchor_label=_title(ranker, item)
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
            sims = profile.queries @ ranker.item_vectors[item]
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
                    kind=kind, anchor_id=ranker.item_ids[anchor], anchor_label=_title(ranker, anchor)
                )
        items.append(
            RankedItem.model_construct(item_id=ranker.item_ids[item], score=float(scores[item]), reason=reason)
        )
    return items


def _cells(matrix: Any, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    if sp.issparse(matrix):
        return np.asarray(matrix[rows][:, cols].todense(), dtype=np.float64)
    return np.asarray(matrix[np.ix_(rows, cols)], dtype=np.float64)


def _title(ranker: Ranker, item: int) -> str:
    titles = ranker.__dict__.get("_clean_titles")
    if titles is None or len(titles) != len(ranker.products):
        titles = ranker.__dict__["_clean_titles"] = [clean_title(p.title) for p in ranker.products]
    return titles[item]
