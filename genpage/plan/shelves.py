"""Plan a page: one shopper's ranked items into shelves, each a theme or an intent, no item twice.

Pure: no model, no store. Every shelf is one of two things, and the plan says which (`Section.shelf`):
- a theme shelf: every item shares a theme the data names (`themes.py`: a product kind from the titles, or a
  category), carried on the section with its evidence (`Section.theme`);
- an intent shelf: why the items are there (buy again, because you bought/viewed X, new arrivals, trending now,
  the campaign's picks, and "picked for you", the ranker's best items that no other shelf took); its items may be
  mixed, and its copy names the intent, never a theme.

Shelves are chosen greedily by the ranker's order: each candidate shelf is worth the discounted rank of the best
items it would show (1 / log2(rank + 2), as in DCG), the most valuable is taken, its items are used, and the
values are recomputed (an intent about the shopper counts 1.2 times). One slot is kept for "picked for you", so
the ranker's best items that belong to no shelf still reach the page.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Literal

from genpage.plan.themes import THEME_LEVELS, ThemeLevel, item_themes, theme_of
from genpage.schemas import (
    Campaign,
    PageItem,
    PagePlan,
    Product,
    RankedItem,
    RankedList,
    Section,
    SectionKind,
    ShelfTheme,
)

NEW_BADGE_DAYS = 30
ThemeStrictness = Literal["kind", "category"]

# Which reason kinds fill which intent shelf.
_INTENT_POOLS: dict[SectionKind, tuple[str, ...]] = {
    "campaign": ("campaign",),
    "because_bought": ("because_bought",),
    "because_viewed": ("because_viewed", "because_searched"),
    "buy_again": ("buy_again",),
    "trending": ("trending", "popular_in_country"),
    "new_arrivals": ("new_arrival",),
}
_ANCHORED = ("because_bought", "because_viewed")
_TRENDING_REASONS = frozenset(_INTENT_POOLS["trending"])
# An intent that says something about this shopper ("because you bought X", "buy again", "new") is worth a little
# more than a theme over the same items. 1.2: on Online Retail (bench/plan.py) it keeps the page's relevance at the
# ranker's (1.005x; 1.5 gave 0.92x) and puts a "because you bought" shelf on 70 % of pages (1.0: 20 %).
_INTENT_BONUS = {"because_bought": 1.2, "because_viewed": 1.2, "buy_again": 1.2, "new_arrivals": 1.2}


@dataclass
class _Shelf:
    """A candidate shelf: its pool holds (rank, item) in the ranker's order."""

    kind: SectionKind
    shelf: Literal["theme", "intent"]
    pool: list[tuple[int, RankedItem]] = field(default_factory=list)
    anchor_id: str | None = None
    anchor_label: str | None = None
    theme_key: str | None = None
    spellings: dict[str, str] = field(default_factory=dict)  # item id -> how its title or category says the theme

    @property
    def key(self) -> tuple[str, str | None]:
        return (self.theme_key or self.kind), self.anchor_id


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:40]


def _intent(kind: SectionKind, anchor: str | None, campaign: Campaign | None, theme: ShelfTheme | None) -> str:
    if theme is not None:
        where = f"{theme.label} ({'products that are ' if theme.level == 'kind' else 'from the category '}"
        where += f"{theme.label.lower() if theme.level == 'kind' else theme.label})"
        return f"Trending now: {where}" if kind == "trending" else f"Picked for this shopper: {where}"
    return {
        "campaign": f"Products featured in the campaign {campaign.name if campaign else ''}".strip(),
        "for_you": "The ranker's best picks for this shopper that no other shelf shows (a mix)",
        "because_bought": f"Products that go well with {anchor}",
        "because_viewed": f"Products related to {anchor}",
        "buy_again": "Products this shopper buys regularly, to buy again",
        "trending": "Products trending now",
        "new_arrivals": "New products just added to the shop",
    }[kind]


def _badge(product: Product, item: RankedItem, now: datetime | None) -> str | None:
    if item.reason.kind == "new_arrival":
        return "New"
    if now is not None and product.created_at is not None:
        created = product.created_at.replace(tzinfo=None)
        if now.replace(tzinfo=None) - created <= timedelta(days=NEW_BADGE_DAYS):
            return "New"
    if item.reason.kind == "buy_again":
        return "Buy again"
    return None


def _candidate_shelves(items: list[RankedItem], products: dict[str, Product],
                       levels: tuple[ThemeLevel, ...]) -> list[_Shelf]:  # fmt: skip
    """Every shelf the items could fill: intent shelves by reason (one per anchor), theme shelves by theme key."""
    intents: dict[tuple[str, str | None], _Shelf] = {}
    themes: dict[str, _Shelf] = {}
    for rank, item in enumerate(items):
        for kind, reasons in _INTENT_POOLS.items():
            if item.reason.kind in reasons:
                anchored = kind in _ANCHORED
                anchor = item.reason.anchor_id if anchored else None
                label = item.reason.anchor_label if anchored else None
                shelf = intents.setdefault((kind, anchor), _Shelf(kind, "intent", anchor_id=anchor,
                                                                  anchor_label=label))
                shelf.pool.append((rank, item))
        for key, spelling in item_themes(products[item.item_id], levels):
            shelf = themes.setdefault(key, _Shelf("for_you", "theme", theme_key=key))
            shelf.pool.append((rank, item))
            shelf.spellings[item.item_id] = spelling
    return [*intents.values(), *themes.values()]


def _weight(rank: int) -> float:
    return 1.0 / math.log2(rank + 2)


@dataclass
class _Planner:
    products: dict[str, Product]
    items_per_section: int
    min_items: int
    now: datetime | None
    campaign: Campaign | None
    used: set[str] = field(default_factory=set)
    chosen: list[tuple[_Shelf, list[tuple[int, RankedItem]]]] = field(default_factory=list)

    def fill(self, shelf: _Shelf) -> list[tuple[int, RankedItem]]:
        """The items the shelf would show now: its best unused ones, or none if too few."""
        picked: list[tuple[int, RankedItem]] = []
        for rank, item in shelf.pool:
            if item.item_id not in self.used:
                picked.append((rank, item))
                if len(picked) >= self.items_per_section:
                    break
        return picked if len(picked) >= self.min_items else []

    def allowed(self, shelf: _Shelf, dropped: set[str]) -> bool:
        if shelf.kind in dropped or (shelf.kind == "campaign" and self.campaign is None):
            return False
        taken = [s for s, _ in self.chosen]
        if any(s.key == shelf.key for s in taken):
            return False
        if shelf.shelf == "intent" and shelf.kind in _ANCHORED:
            return sum(s.kind == shelf.kind and s.shelf == "intent" for s in taken) < 2
        return shelf.shelf == "theme" or all(s.kind != shelf.kind or s.shelf == "theme" for s in taken)

    def take(self, shelf: _Shelf, picked: list[tuple[int, RankedItem]]) -> None:
        self.used.update(item.item_id for _, item in picked)
        self.chosen.append((shelf, picked))

    def best(self, shelves: Iterable[_Shelf], dropped: set[str]) -> tuple[_Shelf, list] | None:
        top: tuple[float, _Shelf, list] | None = None
        for shelf in shelves:
            if not self.allowed(shelf, dropped):
                continue
            picked = self.fill(shelf)
            value = sum(_weight(rank) for rank, _ in picked)
            if shelf.shelf == "intent":
                value *= _INTENT_BONUS.get(shelf.kind, 1.0)
            if picked and (top is None or value > top[0]):
                top = (value, shelf, picked)
        return (top[1], top[2]) if top else None

    def section(self, shelf: _Shelf, picked: list[tuple[int, RankedItem]]) -> Section:
        items = [PageItem(product=self.products[item.item_id], score=item.score, reason=item.reason,
                          badge=_badge(self.products[item.item_id], item, self.now)) for _, item in picked]  # fmt: skip
        kind = shelf.kind
        if shelf.shelf == "theme" and all(item.reason.kind in _TRENDING_REASONS for _, item in picked):
            kind = "trending"  # true of every item on the shelf: each was picked as trending
        anchor = shelf.anchor_label or shelf.anchor_id
        theme = None
        if shelf.theme_key is not None:  # named by how the shown items spell it
            theme = theme_of(shelf.theme_key, [shelf.spellings[item.item_id] for _, item in picked])
            section_id = _slug(f"{kind}-{shelf.theme_key}")
        else:
            section_id = _slug(f"{kind}-{shelf.anchor_id}") if shelf.anchor_id else kind
        return Section(id=section_id, kind=kind, intent=_intent(kind, anchor, self.campaign, theme),
                       anchor_label=anchor, items=items, shelf=shelf.shelf, theme=theme)  # fmt: skip


def plan_page(
    ranked: RankedList,
    products: dict[str, Product],
    *,
    campaign: Campaign | None = None,
    sections: int = 5,
    items_per_section: int = 6,
    min_items: int = 3,
    themes: ThemeStrictness = "category",
    now: datetime | None = None,
) -> PagePlan:
    """Plan at most `sections` shelves of `min_items` to `items_per_section` products, no product twice.

    `themes`: how strict a theme shelf must be: "kind" (every item the same kind of product) or "category"
    (also shelves of one category). A campaign puts its spotlight first and may drop shelf kinds
    (`drop_sections`); "because you bought/viewed X" may appear for two anchors, other intents once, a theme once.
    """
    levels = THEME_LEVELS if themes == "category" else ("kind",)
    items = [item for item in ranked.items if item.item_id in products]
    planner = _Planner(products, items_per_section, min_items, now, campaign)
    dropped = set(campaign.drop_sections) if campaign else set()
    shelves = _candidate_shelves(items, products, levels)
    spotlight = [s for s in shelves if s.kind == "campaign"]
    if spotlight and planner.allowed(spotlight[0], dropped) and (picked := planner.fill(spotlight[0])):
        planner.take(spotlight[0], picked)
    catch_all = _Shelf("for_you", "intent", pool=list(enumerate(items)))
    reserve = 0 if "for_you" in dropped else 1
    while len(planner.chosen) < sections - reserve and (found := planner.best(shelves, dropped)):
        planner.take(*found)
    if reserve and len(planner.chosen) < sections and (picked := planner.fill(catch_all)):
        planner.take(catch_all, picked)
    while len(planner.chosen) < sections and (found := planner.best(shelves, dropped)):
        planner.take(*found)  # the catch-all could not fill: its slot goes back to the other shelves
    order = {id(catch_all): -1, **{id(s): -2 for s in spotlight}}
    ranked_shelves = sorted(enumerate(planner.chosen), key=lambda pair: (order.get(id(pair[1][0]), 0), pair[0]))
    return PagePlan(
        user_id=ranked.user_id,
        sections=[planner.section(shelf, picked) for _, (shelf, picked) in ranked_shelves],
        interests=list(ranked.interests),
        cold_start=ranked.cold_start,
        campaign=campaign,
    )

