"""Why an item is on a shopper's list: one machine-readable `Reason` per ranked item.

The reason is the strongest signal behind the item: bought before (buy_again), bought with or like something the
shopper bought or viewed (because_bought / because_viewed + that item), close to a search (because_searched + the
query), liked by similar shoppers, trending in its category, new, or featured by the campaign.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp

from genpage.rank.catalogue import CandidateBatch, Catalogue
from genpage.rank.features import History
from genpage.rank.rules import campaign_items
from genpage.schemas import Campaign, User
from genpage.text import TITLE_STOPWORDS, commonest_words, letter_runs


def theme_words(titles: list[str], weights: np.ndarray, top: int = 3) -> list[str]:
    """The most telling words of a user's products (weighted), used as interests when there are no categories."""
    # each word once per title, in title order: ties go to the word seen first, whatever the hash seed
    return [w for w, _ in commonest_words(map(_title_words, titles), weights)[:top]]


def _title_words(title: str) -> dict[str, None]:
    return dict.fromkeys(w for w in letter_runs(title.lower()) if len(w) > 2 and w not in TITLE_STOPWORDS)


@dataclass
class TitleWords:
    """The words `theme_words` counts, for a whole catalogue at once (tokenised once per fit, not once per page):
    `top(items, weights)` is `theme_words([titles[i] for i in items], weights)`, ties and sums included."""

    indptr: np.ndarray  # words of title i: words[indptr[i]:indptr[i + 1]], in title order
    words: np.ndarray  # int64 ids into vocabulary
    vocabulary: list[str]

    @classmethod
    def build(cls, titles: list[str]) -> TitleWords:
        ids: dict[str, int] = {}
        per_title = [[ids.setdefault(w, len(ids)) for w in _title_words(title)] for title in titles]
        indptr = np.zeros(len(titles) + 1, dtype=np.int64)
        np.cumsum([len(w) for w in per_title], out=indptr[1:])
        words = np.fromiter((w for title in per_title for w in title), dtype=np.int64, count=int(indptr[-1]))
        return cls(indptr, words, list(ids))

    def top(self, items: np.ndarray, weights: np.ndarray, top: int = 3) -> list[str]:
        starts = self.indptr[items]
        sizes = self.indptr[np.asarray(items) + 1] - starts
        total = int(sizes.sum())
        if total == 0:
            return []
        at = np.repeat(starts - np.cumsum(sizes) + sizes, sizes) + np.arange(total)
        distinct, first, code = np.unique(self.words[at], return_index=True, return_inverse=True)
        # bincount adds each word's weights in sequence, as commonest_words does
        sums = np.bincount(code, weights=np.repeat(np.asarray(weights, dtype=np.float64), sizes))
        seen = np.argsort(first, kind="stable")
        best = seen[np.argsort(-sums[seen], kind="stable")[:top]]
        return [self.vocabulary[w] for w in distinct[best].tolist()]


def _anchors(
    catalogue: Catalogue, own: np.ndarray, weights: np.ndarray, bought: np.ndarray, items: list[int],
    sims: tuple[Any, Any], limit: int = 100,
) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
    """For each item: the user's own item (`own`, with their profile `weights`) that best explains it (co-bought
    by the `sims` item-item matrices, else most similar text; -1 if the user has none) and whether that anchor was
    bought (in `bought`, else viewed). Looks at the user's `limit` strongest items."""
    if len(own) == 0 or not items:
        return np.full(len(items), -1), np.zeros(len(items), bool)
    if len(own) > limit:
        own = own[np.argsort(-weights, kind="stable")[:limit]]
    cols = np.asarray(items)
    link = _cells(sims[0], own, cols) + _cells(sims[1], own, cols)  # (own, items)
    unlinked = link.max(axis=0) <= 0
    if unlinked.any():
        link[:, unlinked] = catalogue.item_vectors[own] @ catalogue.item_vectors[cols[unlinked]].T
    best = own[np.argmax(link, axis=0)]
    return best, _among(best, bought)


def _among(values: np.ndarray, pool: np.ndarray) -> np.ndarray:
    """`np.isin(values, pool)` by a search in the sorted pool: at a page's sizes np.isin takes ~70 us a call."""
    if len(pool) == 0:
        return np.zeros(len(values), dtype=bool)
    ordered = np.sort(pool)
    return ordered[np.minimum(np.searchsorted(ordered, values), len(ordered) - 1)] == values


def _row(matrix: sp.csr_matrix, row: int) -> np.ndarray:
    return matrix.indices[matrix.indptr[row] : matrix.indptr[row + 1]]


@dataclass
class PageContext:
    """What every list of one `Ranker.rank` call shares: the campaign, new arrivals, trend and its top 5 % cut."""

    campaign: Campaign | None
    in_campaign: np.ndarray  # bool per item
    new_items: np.ndarray  # `rules.new_arrivals`: newest first
    is_new: np.ndarray  # bool per item
    trend: np.ndarray
    trend_cut: float

    @classmethod
    def build(cls, catalogue: Catalogue, campaign: Campaign | None, new_items: np.ndarray, trend: np.ndarray
              ) -> PageContext:  # fmt: skip
        in_campaign = np.zeros(len(catalogue), dtype=bool)
        if campaign is not None:
            in_campaign[campaign_items(catalogue, campaign)] = True
        is_new = np.zeros(len(catalogue), dtype=bool)
        is_new[new_items] = True
        at = len(trend) - max(1, len(trend) // 20)  # the value np.sort(trend)[-max(1, n // 20)], without a sort
        cut = float(np.partition(trend, at)[at]) if len(trend) else 0.0
        return cls(campaign, in_campaign, new_items, is_new, trend, cut)


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
    context: PageContext,
    user: User | None,
    own: tuple[np.ndarray, np.ndarray] | None = None,
) -> list[dict[str, Any]]:
    """The reason of each picked item, as `Reason` fields (a dict each); `own`: the user's
    `History.user_item_weights` when the caller has them."""
    planes = batch.planes
    row = int(batch.rows[r])
    items = np.asarray(picked, dtype=np.int64)
    queries = history.queries.get(user.id, []) if user is not None else []
    profile = batch.profiles[r]
    trend = context.trend[items]
    uknn, knn_basket = planes["uknn"][r, items], planes["knn_basket"][r, items]
    sem_interest, sem_query = planes["sem_interest"][r, items], planes["sem_query"][r, items]
    country = user.country if user is not None else None
    branches = [
        [forced.get(i) for i in items.tolist()],
        context.in_campaign[items].tolist(),
        ((planes["ui_baskets"][r, items] > 0) & (not cold)).tolist(),
        (context.is_new[items] & (cold or (scores[items] < np.inf))).tolist(),
        (trend < context.trend_cut).tolist(),
        (sem_query >= np.fmax(0.5, sem_interest)).tolist() if queries and len(profile.queries) else None,
        ((uknn > 2 * np.maximum(knn_basket, 1e-6)) & (row >= 0)).tolist(),
        ((trend >= context.trend_cut) & (knn_basket <= 0) & (sem_interest < 0.5)).tolist(),
    ]
    reasons: list[dict[str, Any] | None] = []
    for pos, item in enumerate(items.tolist()):
        reasons.append(_reason(catalogue, item, pos, branches, cold, context.campaign, country))
    fall = [pos for pos, reason in enumerate(reasons) if reason is None]
    searched = [pos for pos, reason in enumerate(reasons) if reason is _SEARCHED]
    for pos in searched:
        sims = profile.queries @ catalogue.item_vectors[items[pos]]
        label = queries[-len(profile.queries) :][int(np.argmax(sims))]
        reasons[pos] = {"kind": "because_searched", "anchor_id": label, "anchor_label": label}
    if fall:
        anchors, anchor_bought = np.full(len(items), -1), np.zeros(len(items), bool)
        if row >= 0:  # over all the picked items, as the text similarities must be summed (BLAS) in one product
            mine, weights = own if own is not None else history.user_item_weights(row)
            anchors, anchor_bought = _anchors(catalogue, mine, weights, _row(history.baskets, row), items.tolist(),
                                              (history.sim_basket, history.sim_user))  # fmt: skip
        for pos in fall:
            anchor, bought = int(anchors[pos]), bool(anchor_bought[pos])
            if anchor < 0:
                reasons[pos] = {"kind": "for_you", "anchor_id": None, "anchor_label": None}
            else:
                kind = "because_bought" if bought else "because_viewed"
                reasons[pos] = {"kind": kind, "anchor_id": catalogue.item_ids[anchor],
                                "anchor_label": catalogue.titles[anchor]}  # fmt: skip
    return reasons  # type: ignore[return-value]


_SEARCHED: dict[str, Any] = {"kind": "because_searched"}  # a marker: the query is found after the first pass


def _reason(catalogue: Catalogue, item: int, pos: int, branches: list[Any], cold: bool, campaign: Campaign | None,
            country: str | None) -> dict[str, Any] | None:  # fmt: skip
    """One item's reason from the precomputed `branches` of `explain` (in order of precedence); None: explained
    by one of the user's own items (found afterwards, for these items only)."""
    forced, in_campaign, buy_again, is_new, below_cut, searched, similar, trending = branches
    category = catalogue.categories[item] or None
    if forced[pos] in ("new_arrival", "trending"):
        return {"kind": forced[pos], "anchor_id": category, "anchor_label": category}
    if in_campaign[pos]:
        return {"kind": "campaign", "anchor_id": campaign.name, "anchor_label": campaign.name}  # type: ignore[union-attr]
    if buy_again[pos]:
        return {"kind": "buy_again", "anchor_id": catalogue.item_ids[item], "anchor_label": catalogue.titles[item]}
    if is_new[pos]:
        return {"kind": "new_arrival", "anchor_id": category, "anchor_label": category}
    if cold:
        if country and below_cut[pos]:
            return {"kind": "popular_in_country", "anchor_id": country, "anchor_label": country}
        return {"kind": "trending", "anchor_id": category, "anchor_label": category}
    if searched is not None and searched[pos]:
        return _SEARCHED
    if similar[pos]:
        return {"kind": "similar_shoppers", "anchor_id": None, "anchor_label": None}
    if trending[pos]:
        return {"kind": "trending", "anchor_id": category, "anchor_label": category}
    return None


def _cells(matrix: Any, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """matrix[rows][:, cols] as float64."""
    if sp.issparse(matrix):
        return np.asarray(matrix[rows][:, cols].todense(), dtype=np.float64)
    if matrix.flags.c_contiguous:  # one flat gather: a fraction of np.ix_'s time
        return matrix.reshape(-1).take(rows[:, None] * matrix.shape[1] + cols[None, :]).astype(np.float64)
    return np.asarray(matrix[np.ix_(rows, cols)], dtype=np.float64)
