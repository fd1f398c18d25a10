"""Business rules, filters and cold start: what may be shown to whom, and what a shopper without history sees.

Rules always apply: in stock, not returned by the shopper, not just bought unless shoppers rebuy it. Filters are
optional (price band, categories, excluded items). Cold start: trending items, plus what the shopper's country buys.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from genpage.rank.catalogue import CandidateBatch, Catalogue
from genpage.rank.features import History
from genpage.schemas import Campaign


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


def allowed(catalogue: Catalogue, rules: RankFilters) -> np.ndarray:
    keep = np.ones(len(catalogue), dtype=bool)
    if rules.in_stock_only:
        keep &= catalogue.in_stock
    if rules.price_min is not None:
        keep &= catalogue.price >= rules.price_min
    if rules.price_max is not None:
        keep &= catalogue.price <= rules.price_max
    if rules.categories:
        keep &= np.isin(catalogue.categories, rules.categories)
    for item in rules.exclude_items:
        if item in catalogue.item_index:
            keep[catalogue.item_index[item]] = False
    return keep


def user_rules(catalogue: Catalogue, history: History, batch: CandidateBatch, *, just_bought_days: float,
               repurchasable_rate: float) -> np.ndarray:  # fmt: skip
    """(batch, items): not returned; not bought in the last `just_bought_days` unless shoppers rebuy the item
    (all items for users the history has never seen)."""
    rows = np.asarray(batch.rows)
    keep = np.ones((len(rows), len(catalogue)), dtype=bool)
    known = np.flatnonzero(rows >= 0)
    if not len(known):
        return keep
    returned = history.returned[rows[known]]
    keep[np.repeat(known, np.diff(returned.indptr)), returned.indices] = False
    just = batch.planes["ui_days_since"][known] < just_bought_days  # NaN (never bought) is not recent
    keep[known] &= ~(just & (history.i_rebuy_rate < repurchasable_rate))
    return keep


def campaign_items(catalogue: Catalogue, campaign: Campaign | None) -> np.ndarray:
    if campaign is None:
        return np.zeros(0, dtype=np.int64)
    idx = [catalogue.item_index[i] for i in campaign.featured_products if i in catalogue.item_index]
    if campaign.featured_categories:
        idx += list(np.nonzero(np.isin(catalogue.categories, campaign.featured_categories))[0])
    return np.array(sorted(set(idx)), dtype=np.int64)


def new_arrivals(catalogue: Catalogue, history: History, day: float, new_arrival_days: float) -> np.ndarray:
    """Products created (or first sold) within `new_arrival_days`, or never sold: newest first."""
    sold = history.daily_cum > 0
    first_sold = np.where(sold.any(axis=0), sold.argmax(axis=0) + history.day0 - 1, np.nan)
    arrival = np.where(np.isnan(catalogue.created_day), first_sold, catalogue.created_day)
    recent = (day - arrival <= new_arrival_days) | (history.i_buyers == 0)
    idx = np.nonzero(recent)[0]
    return idx[np.argsort(-np.nan_to_num(arrival[idx], nan=day), kind="stable")]


def cold_scores(history: History, trend: np.ndarray, in_country: np.ndarray | None) -> np.ndarray:
    """Trending, plus what shoppers of the same country buy (`country_popularity`) when the user's country is
    known."""
    score = np.log1p(trend) + 0.1 * np.log1p(history.i_buyers)
    if in_country is not None:
        score = score + in_country
    return score / max(float(score.max()), 1e-9)


def country_popularity(history: History, same_country: list[str], n_items: int) -> np.ndarray:
    """log(1 + baskets holding each item) over the shoppers of one country."""
    rows = history.rows(same_country)
    rows = rows[rows >= 0]
    counts = np.asarray((history.baskets[rows] > 0).sum(axis=0)).ravel() if len(rows) else np.zeros(n_items)
    return np.log1p(counts)
