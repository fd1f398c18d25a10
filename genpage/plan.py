"""Plan a page: turn one user's ranked items into sections with distinct intents, no item twice.

Pure: no model, no store. The ranker tags every item with a Reason; the planner groups items by reason into
sections (campaign spotlight, for you, because you bought X, buy again, trending, new arrivals ...), fills them in
score order without repeating an item, and drops a section that cannot show enough items.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from genpage.schemas import Campaign, PageItem, PagePlan, Product, RankedItem, RankedList, Section, SectionKind

NEW_BADGE_DAYS = 30

# Which reason kinds may fill which section, in order of preference.
_POOLS: dict[SectionKind, tuple[str, ...]] = {
    "campaign": ("campaign",),
    "for_you": ("for_you", "similar_shoppers", "because_bought", "because_viewed", "because_searched"),
    "because_bought": ("because_bought",),
    "because_viewed": ("because_viewed", "because_searched"),
    "buy_again": ("buy_again",),
    "trending": ("trending", "popular_in_country"),
    "new_arrivals": ("new_arrival",),
}
# The order sections appear in on the page; "for_you" is the catch-all and is planned after the anchored ones.
_PAGE_ORDER: tuple[SectionKind, ...] = (
    "campaign", "for_you", "because_bought", "because_viewed", "buy_again", "trending", "new_arrivals",
)
_FILL_ORDER: tuple[SectionKind, ...] = (
    "campaign", "because_bought", "because_viewed", "buy_again", "trending", "new_arrivals", "for_you",
)


@dataclass(frozen=True)
class _Candidate:
    kind: SectionKind
    anchor_id: str | None
    anchor_label: str | None
    pool: tuple[RankedItem, ...]


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:40]


def _intent(kind: SectionKind, anchor: str | None, campaign: Campaign | None) -> str:
    return {
        "campaign": f"Products featured in the campaign {campaign.name if campaign else ''}".strip(),
        "for_you": "Products picked for this shopper's interests",
        "because_bought": f"Products that go well with {anchor}",
        "because_viewed": f"Products related to {anchor}",
        "buy_again": "Products this shopper buys regularly, to buy again",
        "trending": f"Products trending now in {anchor}" if anchor else "Products trending now",
        "new_arrivals": "New products just added to the shop",
    }[kind]


def _anchored_groups(items: Iterable[RankedItem], kinds: tuple[str, ...]) -> list[tuple[str | None, str | None, list]]:
    """Items of the given kinds grouped by anchor, strongest group first (by summed score)."""
    groups: dict[str | None, list[RankedItem]] = defaultdict(list)
    labels: dict[str | None, str | None] = {}
    for item in items:
        if item.reason.kind in kinds:
            groups[item.reason.anchor_id].append(item)
            labels.setdefault(item.reason.anchor_id, item.reason.anchor_label)
    ordered = sorted(groups.items(), key=lambda kv: -sum(i.score for i in kv[1][:6]))
    return [(anchor, labels[anchor], group) for anchor, group in ordered]


def _candidates(ranked: RankedList) -> list[_Candidate]:
    out: list[_Candidate] = []
    for kind in _FILL_ORDER:
        kinds = _POOLS[kind]
        if kind in ("because_bought", "because_viewed", "trending"):
            for anchor, label, group in _anchored_groups(ranked.items, kinds):
                out.append(_Candidate(kind, anchor, label, tuple(group)))
            if kind == "trending":  # no category trends strongly enough alone: one "trending now" shelf
                trending = sorted((i for i in ranked.items if i.reason.kind in kinds), key=lambda i: -i.score)
                out.append(_Candidate(kind, None, None, tuple(trending)))
        else:
            pool = tuple(i for i in ranked.items if i.reason.kind in kinds)
            if kind == "for_you":  # the catch-all takes every ranked item, best first
                pool = tuple(sorted(ranked.items, key=lambda i: -i.score))
            out.append(_Candidate(kind, None, None, pool))
    return out


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


def plan_page(
    ranked: RankedList,
    products: dict[str, Product],
    *,
    campaign: Campaign | None = None,
    sections: int = 5,
    items_per_section: int = 6,
    min_items: int = 3,
    now: datetime | None = None,
) -> PagePlan:
    """Group a user's ranked items into at most `sections` sections with distinct intents and no repeated item.

    A kind of section appears at most once, except "because you bought/viewed X" which may appear for two
    anchors. Sections with fewer than `min_items` products are dropped. A campaign puts its spotlight first and
    may drop section kinds (`drop_sections`).
    """
    dropped = set(campaign.drop_sections) if campaign else set()
    used: set[str] = set()
    chosen: list[Section] = []
    per_kind: dict[str, int] = defaultdict(int)

    def try_add(cand: _Candidate) -> None:
        if cand.kind in dropped or (cand.kind == "campaign" and campaign is None):
            return
        if per_kind[cand.kind] >= (2 if cand.kind in ("because_bought", "because_viewed") else 1):
            return
        picked: list[PageItem] = []
        for item in cand.pool:
            if item.item_id in used or item.item_id not in products:
                continue
            product = products[item.item_id]
            picked.append(PageItem(product=product, score=item.score, reason=item.reason,
                                   badge=_badge(product, item, now)))
            if len(picked) >= items_per_section:
                break
        if len(picked) < min_items:
            return
        used.update(p.product.id for p in picked)
        per_kind[cand.kind] += 1
        anchor_label = cand.anchor_label or cand.anchor_id
        chosen.append(
            Section(
                id=_slug(f"{cand.kind}-{cand.anchor_id}") if cand.anchor_id else cand.kind,
                kind=cand.kind,
                intent=_intent(cand.kind, anchor_label, campaign),
                anchor_label=anchor_label,
                items=picked,
            )
        )

    candidates = _candidates(ranked)
    catch_all = [c for c in candidates if c.kind == "for_you"]
    anchored = [c for c in candidates if c.kind != "for_you"]
    # Keep one slot for the "for you" catch-all; give it back to the anchored sections if it cannot be filled.
    for cand in anchored:
        if len(chosen) < sections - 1:
            try_add(cand)
    for cand in catch_all:
        if len(chosen) < sections:
            try_add(cand)
    for cand in anchored:
        if len(chosen) < sections:
            try_add(cand)
    chosen.sort(key=lambda s: _PAGE_ORDER.index(s.kind))
    return PagePlan(
        user_id=ranked.user_id,
        sections=chosen,
        interests=list(ranked.interests),
        cold_start=ranked.cold_start,
        campaign=campaign,
    )
