"""Business rules, filters and cold start: what may be shown to whom, and what a shopper without history sees.

Rules always apply: in stock, not returned by the shopper, not just bought unless shoppers rebuy it. Filters are
optional (price band, categories, excluded items). Cold start: trending items, plus what the shopper's country buys.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from genpage.schemas import Campaign

if TYPE_CHECKING:
    from genpage.features import History
    from genpage.rank import Ranker, _Batch


@dataclass
class RankFilters:
    """Optional filters on top of the business rules (in stock, not returned, not just bought)."""

    price_min: float | None = None
    price_max: float | None = None
    categories: list[str] = field(default_factory=list)
    exclude_items: list[str] = field(default_factory=list)
    in_stock_only: bool = True

    @classmethod
    def coerce(cls, value: RankFilters | dict[str, Any] | None) -> RankFilters:
        if value is None:
            return cls()
        return value if isinstance(value, RankFilters) else cls(**value)


def allowed(ranker: Ranker, rules: RankFilters) -> np.ndarray:
    keep = np.ones(len(ranker.item_ids), dtype=bool)
    if rules.in_stock_only:
        keep &= ranker.in_stock
    if rules.price_min is not None:
        keep &= ranker.price >= rules.price_min
    if rules.price_max is not None:
        keep &= ranker.price <= rules.price_max
    if rules.categories:
        keep &= np.isin(ranker.categories, rules.categories)
    for item in rules.exclude_items:
        if item in ranker.item_index:
            keep[ranker.item_index[item]] = False
    return keep


def user_rules(ranker: Ranker, history: History, batch: _Batch, r: int, day: float) -> np.ndarray:
    """Not returned; not bought in the last `just_bought_days` unless shoppers rebuy the item."""
    keep = np.ones(len(ranker.item_ids), dtype=bool)
    row = int(batch.rows[r])
    if row < 0:
        return keep
    keep[history.returned[row].indices] = False
    since = batch.planes["ui_days_since"][r]
    just = np.nan_to_num(since, nan=np.inf) < ranker.config.just_bought_days
    keep &= ~(just & (history.i_rebuy_rate < ranker.config.repurchasable_rate))
    return keep


def campaign_items(ranker: Ranker, campaign: Campaign | None) -> np.ndarray:
    if campaign is None:
        return np.zeros(0, dtype=np.int64)
    idx = [ranker.item_index[i] for i in campaign.featured_products if i in ranker.item_index]
    if campaign.featured_categories:
        idx += list(np.nonzero(np.isin(ranker.categories, campaign.featured_categories))[0])
    return np.array(sorted(set(idx)), dtype=np.int64)


def new_arrivals(ranker: Ranker, history: History, day: float) -> np.ndarray:
    """Products created (or first sold) within `new_arrival_days`, or never sold: newest first."""
    sold = history.daily_cum > 0
    first_sold = np.where(sold.any(axis=1), sold.argmax(axis=1) + history.day0 - 1, np.nan)
    arrival = np.where(np.isnan(ranker.created_day), first_sold, ranker.created_day)
    recent = (day - arrival <= ranker.config.new_arrival_days) | (history.i_buyers == 0)
    idx = np.nonzero(recent)[0]
    return idx[np.argsort(-np.nan_to_num(arrival[idx], nan=day), kind="stable")]


def cold_scores(ranker: Ranker, user_id: str, trend: np.ndarray) -> np.ndarray:
    """Trending, plus what shoppers of the same country buy when the user's country is known."""
    score = np.log1p(trend) + 0.1 * np.log1p(ranker._history().i_buyers)
    country = ranker.users.get(user_id).country if user_id in ranker.users else None
    if country:
        score = score + country_popularity(ranker, country)
    return score / max(float(score.max()), 1e-9)


def country_popularity(ranker: Ranker, country: str) -> np.ndarray:
    cache = ranker.__dict__.setdefault("_country_cache", {})
    if country not in cache:
        same = [u.id for u in ranker.users.values() if u.country == country]
        history = ranker._history()
        rows = history.rows(same)
        rows = rows[rows >= 0]
        counts = (
            np.asarray((history.baskets[rows] > 0).sum(axis=0)).ravel() if len(rows) else np.zeros(len(ranker.item_ids))
        )
        cache[country] = np.log1p(counts)
    return cache[country]
