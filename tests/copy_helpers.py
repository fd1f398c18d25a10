"""Small builders for section-copy tests: products, sections and page plans without a store."""

from __future__ import annotations

from genpage.plan.themes import item_themes, theme_of
from genpage.schemas import Campaign, PageItem, PagePlan, Product, Reason, Section


def product(pid: str, title: str, category: str = "", price: float | None = 2.5) -> Product:
    return Product(id=pid, title=title, category=category, price=price)


def section(
    sid: str,
    kind: str,
    titles: list[tuple[str, str]],
    anchor: str | None = None,
) -> Section:
    """A shelf as the planner would make it: a "for you" or trending shelf whose products all share a category (or
    else a kind) is a theme shelf of it; any other shelf is an intent shelf."""
    reason_kind = {"new_arrivals": "new_arrival"}.get(kind, kind)
    items = [
        PageItem(product=product(f"{sid}-{n}", title, category), score=1.0 - n / 10, reason=Reason(kind=reason_kind))
        for n, (title, category) in enumerate(titles)
    ]
    theme = None
    if kind in ("for_you", "trending") and items:
        for level in ("category", "kind"):
            shared = set.intersection(*({k for k, _ in item_themes(i.product, (level,))} for i in items))  # type: ignore[arg-type]
            if shared:
                key = shared.pop()
                theme = theme_of(key, [s for i in items for k, s in item_themes(i.product, (level,)) if k == key])  # type: ignore[arg-type]
                break
    return Section(id=sid, kind=kind, intent=f"{kind} section", anchor_label=anchor, items=items,
                   shelf="theme" if theme else "intent", theme=theme)  # fmt: skip


LANTERNS = [
    ("WHITE METAL LANTERN", "Lighting"),
    ("REGENCY TEA LIGHT HOLDER", "Lighting"),
    ("WHITE HANGING HEART T-LIGHT HOLDER", "Lighting"),
]
BAGS = [
    ("JUMBO BAG RED RETROSPOT", "Bags"),
    ("LUNCH BAG BLACK SKULL.", "Bags"),
    ("JUMBO STORAGE BAG SUKI", "Bags"),
]
TEA = [
    ("ROSES REGENCY TEACUP AND SAUCER", "Kitchen"),
    ("GREEN REGENCY TEACUP AND SAUCER", "Kitchen"),
    ("REGENCY CAKESTAND 3 TIER", "Kitchen"),
]


def page(user_id: str = "u1", interests: list[str] | None = None, campaign: Campaign | None = None) -> PagePlan:
    return PagePlan(
        user_id=user_id,
        interests=interests or [],
        campaign=campaign,
        sections=[
            section("lights", "for_you", LANTERNS),
            section("bags", "because_bought", BAGS, anchor="JUMBO BAG PINK POLKADOT"),
            section("tea", "trending", TEA, anchor="Kitchen"),
        ],
    )
