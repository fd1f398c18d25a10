"""Plan a page (pure: no model, no store): a shopper's ranked items into theme and intent shelves, no item twice.

- themes.py: what a product is (its kind, from its title) and the themes a shelf can share (kind, category)
- shelves.py: `plan_page`, the greedy choice of shelves by the ranker's order
"""

from genpage.plan.shelves import NEW_BADGE_DAYS, ThemeStrictness, plan_page
from genpage.plan.themes import in_theme, product_kind

__all__ = ["NEW_BADGE_DAYS", "ThemeStrictness", "in_theme", "plan_page", "product_kind"]
