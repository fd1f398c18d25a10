"""plan_page is pure: ranked items in, sections with distinct intents and no repeated item out."""

from __future__ import annotations

from datetime import datetime

from genpage.plan import plan_page
from genpage.schemas import Campaign, Product, RankedItem, RankedList, Reason


def _products(n: int) -> dict[str, Product]:
    return {
        f"p{i}": Product(id=f"p{i}", title=f"Product {i}", category=["Lamps", "Bags", "Mugs"][i % 3], price=5.0 + i,
                         created_at=datetime(2026, 1, 1) if i % 10 else datetime(2026, 10, 25))
        for i in range(n)
    }


def _ranked(kinds: list[tuple[str, str | None]], user: str = "u1") -> RankedList:
    items = []
    for i, (kind, anchor) in enumerate(kinds):
        items.append(RankedItem(item_id=f"p{i}", score=1.0 - i / 100,
                                reason=Reason(kind=kind, anchor_id=anchor, anchor_label=anchor and anchor.title())))
    return RankedList(user_id=user, items=items, interests=["Lamps"])


def test_sections_have_distinct_intents_and_no_item_twice():
    kinds = [("because_bought", "lantern")] * 8 + [("for_you", None)] * 8 + [("trending", "Lamps")] * 8 \
        + [("new_arrival", None)] * 8 + [("buy_again", "x")] * 2
    plan = plan_page(_ranked(kinds), _products(40), sections=5, items_per_section=6)
    ids = [item.product.id for s in plan.sections for item in s.items]
    assert len(ids) == len(set(ids))
    assert [s.kind for s in plan.sections] == ["for_you", "because_bought", "trending", "new_arrivals"]
    assert all(3 <= len(s.items) <= 6 for s in plan.sections)
    bought = plan.sections[1]
    assert bought.anchor_label == "Lantern" and "Lantern" in bought.intent
    assert all(i.reason.kind == "because_bought" for i in bought.items)
    assert plan.sections[2].anchor_label == "Lamps"
    assert plan.interests == ["Lamps"]


def test_small_pools_are_dropped_and_the_catch_all_fills():
    kinds = [("buy_again", "x")] * 2 + [("for_you", None)] * 10
    plan = plan_page(_ranked(kinds), _products(12), sections=3, items_per_section=4)
    assert [s.kind for s in plan.sections] == ["for_you"]  # 2 buy-again items are too few for a section
    assert len(plan.sections[0].items) == 4


def test_campaign_goes_first_and_can_drop_sections():
    kinds = [("campaign", "Xmas")] * 6 + [("for_you", None)] * 6 + [("new_arrival", None)] * 6
    camp = Campaign(name="Xmas", drop_sections=["new_arrivals"])
    plan = plan_page(_ranked(kinds), _products(18), campaign=camp, sections=5, items_per_section=6)
    assert [s.kind for s in plan.sections] == ["campaign", "for_you"]
    assert plan.campaign == camp
    # without a campaign, campaign-tagged items never form a spotlight
    plain = plan_page(_ranked(kinds), _products(18), sections=5, items_per_section=6)
    assert "campaign" not in [s.kind for s in plain.sections]


def test_section_limit_keeps_a_for_you_slot():
    kinds = ([("because_bought", "a")] * 4 + [("because_bought", "b")] * 4 + [("trending", "Bags")] * 4
             + [("new_arrival", None)] * 4 + [("for_you", None)] * 6)
    plan = plan_page(_ranked(kinds), _products(22), sections=3, items_per_section=4)
    assert len(plan.sections) == 3
    assert "for_you" in [s.kind for s in plan.sections]


def test_badges_and_unknown_products():
    kinds = [("new_arrival", None)] * 4 + [("for_you", None)] * 12
    products = _products(16)
    del products["p5"]  # ranked but no longer in the catalogue: skipped
    plan = plan_page(_ranked(kinds), products, sections=2, items_per_section=8, now=datetime(2026, 11, 1))
    shown = [i.product.id for s in plan.sections for i in s.items]
    assert "p5" not in shown
    new_section = next(s for s in plan.sections if s.kind == "new_arrivals")
    assert all(i.badge == "New" for i in new_section.items)
    p10 = next(i for s in plan.sections for i in s.items if i.product.id == "p10")
    assert p10.badge == "New"  # created within 30 days of `now`


def test_empty_ranking_gives_an_empty_plan():
    plan = plan_page(RankedList(user_id="u", items=[], cold_start=True), {}, sections=5)
    assert plan.sections == [] and plan.cold_start


def test_small_trends_merge_into_one_trending_shelf():
    kinds = [("for_you", None)] * 6 + [("trending", "Bags")] * 2 + [("trending", "Lamps")] * 2 + [("trending", "Mugs")]
    plan = plan_page(_ranked(kinds), _products(11), sections=5, items_per_section=6)
    trending = next(s for s in plan.sections if s.kind == "trending")
    assert trending.anchor_label is None and trending.intent == "Products trending now"
    assert len(trending.items) == 5
