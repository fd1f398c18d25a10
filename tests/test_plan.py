"""plan_page is pure: ranked items in, theme and intent shelves out, no product twice, the ranker's best kept."""

from __future__ import annotations

from datetime import datetime

import pytest

from genpage.plan import in_theme, plan_page, product_kind
from genpage.schemas import Campaign, Product, RankedItem, RankedList, Reason

# (title, category): three kinds of product in two categories, and products of no listed kind
CATALOGUE = [
    ("Stoneware Mug, Oat", "Kitchen"), ("Enamel Mug, Green", "Kitchen"), ("Tall Latte Mug", "Kitchen"),
    ("Breakfast Mug, Blue", "Kitchen"), ("Camping Mug", "Kitchen"), ("Espresso Mug Pair", "Kitchen"),
    ("Glass Teapot", "Kitchen"), ("Cake Stand", "Kitchen"), ("Oak Chopping Board", "Kitchen"),
    ("Soy Candle, Fig", "Lights"), ("Beeswax Candle", "Lights"), ("Pillar Candle Trio", "Lights"),
    ("Dinner Candle Set", "Lights"), ("Paper Lantern", "Lights"), ("Desk Lamp", "Lights"),
    ("Salt Lamp", "Lights"), ("Wooden Train Set", "Other"), ("Gift Voucher", "Other"),
    *[(f"Zorbly No. {n}", "Other") for n in range(11)],  # p18 ..: of no kind, in a catch-all category: no theme
]  # fmt: skip


def _products() -> dict[str, Product]:
    return {
        f"p{i}": Product(id=f"p{i}", title=title, category=category, price=5.0 + i,
                         created_at=datetime(2026, 1, 1) if i % 10 else datetime(2026, 10, 25))
        for i, (title, category) in enumerate(CATALOGUE)
    }  # fmt: skip


def _ranked(kinds: list[tuple[str, str | None]], order: list[int] | None = None, user: str = "u1") -> RankedList:
    """Products p0.. (or in `order`) ranked in that order, each with the reason given."""
    ids = order or list(range(len(kinds)))
    items = [
        RankedItem(item_id=f"p{i}", score=1.0 - rank / 100,
                   reason=Reason(kind=kind, anchor_id=anchor, anchor_label=anchor and anchor.title()))
        for rank, (i, (kind, anchor)) in enumerate(zip(ids, kinds, strict=True))
    ]  # fmt: skip
    return RankedList(user_id=user, items=items, interests=["Kitchen"])


def _ids(plan) -> list[str]:
    return [item.product.id for section in plan.sections for item in section.items]


def test_product_kind_and_theme_membership():
    products = _products()
    assert product_kind("Stoneware Mug, Oat") == "mugs" and product_kind("Gift Voucher") == ""
    plan = plan_page(_ranked([("for_you", None)] * 18), products, sections=4, items_per_section=6, min_items=3)
    assert len(_ids(plan)) == len(set(_ids(plan))), "no product twice"
    themed = [s for s in plan.sections if s.shelf == "theme"]
    assert themed, "a shelf of mugs and a shelf of candles are there to be made"
    for section in themed:
        assert section.theme is not None and all(in_theme(i.product, section.theme) for i in section.items)
        assert section.theme.words and section.theme.source in ("title", "category")
    mugs = next(s for s in themed if s.theme and s.theme.key == "kind:mug")
    assert mugs.theme is not None and mugs.theme.label == "Mugs" and mugs.theme.level == "kind"
    assert len({s.theme.key for s in themed if s.theme}) == len(themed), "one shelf per theme"


def test_theme_strictness_kind_allows_no_category_shelves():
    products = _products()
    ranked = _ranked([("for_you", None)] * 18)
    strict = plan_page(ranked, products, sections=5, items_per_section=6, themes="kind")
    assert all(s.theme.level == "kind" for s in strict.sections if s.theme)
    loose = plan_page(ranked, products, sections=5, items_per_section=6, themes="category")
    assert any(s.theme and s.theme.level == "category" for s in loose.sections)


def test_the_rankers_best_items_stay_on_the_page():
    # the top of the ranking is a mix of one-offs: the "picked for you" shelf keeps them
    order = [16, 17, 6, 7, 8, 0, 9, 1, 10, 2, 11, 3, 12, 4, 5, 13, 14, 15]
    plan = plan_page(_ranked([("for_you", None)] * 18, order), _products(), sections=3, items_per_section=4)
    shown = set(_ids(plan))
    assert {"p16", "p17", "p6", "p7"} <= shown
    picked = next(s for s in plan.sections if s.shelf == "intent" and s.kind == "for_you")
    assert picked.theme is None and plan.sections[0] is picked, "the mixed best picks lead the page"


def test_intent_shelves_are_labelled_and_anchored():
    kinds = [("because_bought", "lantern")] * 4 + [("buy_again", None)] * 3 + [("new_arrival", None)] * 4 \
        + [("for_you", None)] * 7
    order = [*range(18, 29), 0, 9, 1, 10, 2, 11, 3]  # the intent shelves' items share no theme
    plan = plan_page(_ranked(kinds, order), _products(), sections=5, items_per_section=6, now=datetime(2026, 11, 1))
    by_kind = {s.kind: s for s in plan.sections if s.shelf == "intent"}
    assert {"because_bought", "buy_again", "new_arrivals"} <= set(by_kind)
    bought = by_kind["because_bought"]
    assert bought.anchor_label == "Lantern" and "Lantern" in bought.intent and bought.theme is None
    assert all(i.reason.kind == "because_bought" for i in bought.items)
    assert by_kind["new_arrivals"].anchor_label is None
    assert all(i.badge == "New" for i in by_kind["new_arrivals"].items)
    assert all(i.badge in ("Buy again", "New") for i in by_kind["buy_again"].items)


def test_a_theme_shelf_of_trending_items_is_a_trending_shelf():
    kinds = [("trending", "Lights")] * 7 + [("for_you", None)] * 11
    order = [9, 10, 11, 12, 13, 14, 15, 0, 1, 2, 3, 4, 5, 6, 7, 8, 16, 17]
    plan = plan_page(_ranked(kinds, order), _products(), sections=4, items_per_section=4)
    trending = [s for s in plan.sections if s.kind == "trending"]
    assert trending and all(i.reason.kind == "trending" for s in trending for i in s.items)
    themed = [s for s in trending if s.shelf == "theme"]
    assert themed and themed[0].intent.startswith("Trending now")


def test_campaign_goes_first_and_can_drop_sections():
    kinds = [("campaign", "Xmas")] * 6 + [("for_you", None)] * 6 + [("new_arrival", None)] * 6
    camp = Campaign(name="Xmas", drop_sections=["new_arrivals"])
    plan = plan_page(_ranked(kinds), _products(), campaign=camp, sections=5, items_per_section=6)
    assert plan.sections[0].kind == "campaign" and plan.sections[0].shelf == "intent"
    assert "new_arrivals" not in [s.kind for s in plan.sections]
    assert plan.campaign == camp
    plain = plan_page(_ranked(kinds), _products(), sections=5, items_per_section=6)
    assert "campaign" not in [s.kind for s in plain.sections], "no campaign, no spotlight"


@pytest.mark.parametrize("sections", [1, 2, 3, 5])
def test_limits_hold(sections):
    kinds = [("for_you", None)] * 18
    plan = plan_page(_ranked(kinds), _products(), sections=sections, items_per_section=4, min_items=3)
    assert 1 <= len(plan.sections) <= sections
    assert all(3 <= len(s.items) <= 4 for s in plan.sections)


def test_unknown_products_are_skipped_and_an_empty_ranking_plans_nothing():
    products = _products()
    del products["p0"]
    plan = plan_page(_ranked([("for_you", None)] * 18), products, sections=3)  # p0 .. p17
    assert "p0" not in _ids(plan)
    empty = plan_page(RankedList(user_id="u", items=[], cold_start=True), {}, sections=5)
    assert empty.sections == [] and empty.cold_start
