"""Who a campaign is for: `select_audience(store, campaign.audience)` -> sorted user ids.

Filters combine with AND; an audience with no filter (or `all: true` alone) is every user the store knows.
    segments            in any of these segments (id like `s3` or name, see `genpage segments`)
    countries           the user's country is one of these (case-insensitive)
    active_within_days  an event within N days of the newest event in the store (old exports still work)
    min_spend           total purchase value >= this
    bought_categories   bought at least one product of any of these categories (case-insensitive)
    users               only these user ids (ids the store does not know get the cold-start page)
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime, timedelta

from genpage.campaigns.segments import Segmentation, all_user_ids
from genpage.errors import CampaignError
from genpage.schemas import Audience
from genpage.store import Store

logger = logging.getLogger(__name__)


def _marks(values: list[str]) -> str:
    return ",".join("?" * len(values))


def _lowered(values: Iterable[str]) -> list[str]:
    return sorted({v.strip().lower() for v in values if v.strip()})


def users_in_countries(store: Store, countries: Iterable[str]) -> set[str]:
    wanted = _lowered(countries)
    rows = store.query(f"SELECT id FROM users WHERE lower(country) IN ({_marks(wanted)})", wanted)
    if not rows:
        known = ", ".join(r[0] for r in store.query("SELECT DISTINCT country FROM users WHERE country IS NOT NULL "
                                                    "ORDER BY 1 LIMIT 12"))
        logger.warning("audience: no user lives in %s (countries in the store: %s)", ", ".join(wanted), known)
    return {r[0] for r in rows}


def users_active_within(store: Store, days: int) -> set[str]:
    """Users with an event no more than `days` before the newest event in the store."""
    newest = store.query("SELECT MAX(timestamp) FROM events")[0][0]
    if newest is None:
        return set()
    cutoff = datetime.fromisoformat(newest) - timedelta(days=days)
    rows = store.query("SELECT user_id, MAX(timestamp) FROM events GROUP BY user_id")
    return {r[0] for r in rows if datetime.fromisoformat(r[1]) >= cutoff}


def users_spending_at_least(store: Store, amount: float) -> set[str]:
    rows = store.query("SELECT user_id FROM events WHERE type = 'purchase' GROUP BY user_id HAVING TOTAL(value) >= ?",
                       (amount,))
    return {r[0] for r in rows}


def users_who_bought(store: Store, categories: Iterable[str]) -> set[str]:
    wanted = _lowered(categories)
    known = {r[0].lower(): r[0] for r in store.query("SELECT DISTINCT category FROM products WHERE category != ''")}
    unknown = [c for c in wanted if c not in known]
    if unknown:
        raise CampaignError(f"audience.bought_categories: no category {', '.join(map(repr, unknown))} in the "
                            f"catalogue; categories are: {', '.join(sorted(known.values()))}")
    rows = store.query(
        "SELECT DISTINCT e.user_id FROM events e JOIN products p ON p.id = e.item_id "
        f"WHERE e.type = 'purchase' AND lower(p.category) IN ({_marks(wanted)})",
        wanted,
    )
    return {r[0] for r in rows}


def users_in_segments(segmentation: Segmentation, keys: Iterable[str]) -> set[str]:
    members: set[str] = set()
    for key in keys:
        members.update(segmentation.members(key))
    return members


def select_audience(store: Store, audience: Audience | None, *, segments: Segmentation | None = None) -> list[str]:
    """The user ids an audience selects, sorted. `segments` (from `genpage.campaigns.segments.segment_users`) is needed
    when the audience names segments."""
    audience = audience or Audience()
    if audience.users:
        chosen = {str(u) for u in audience.users}
        known = set(all_user_ids(store))
        unknown = chosen - known
        if unknown:
            logger.warning("audience: %d of the listed users are not in the store (e.g. %r): they get the "
                           "cold-start page", len(unknown), sorted(unknown)[0])
    else:
        chosen = set(all_user_ids(store))
    if audience.segments:
        if segments is None:
            raise CampaignError("the audience names segments: pass segments=segment_users(store, encoder) "
                                "(genpage.campaigns.segments)")
        chosen &= users_in_segments(segments, audience.segments)
    if audience.countries:
        chosen &= users_in_countries(store, audience.countries)
    if audience.active_within_days is not None:
        chosen &= users_active_within(store, audience.active_within_days)
    if audience.min_spend is not None:
        chosen &= users_spending_at_least(store, audience.min_spend)
    if audience.bought_categories:
        chosen &= users_who_bought(store, audience.bought_categories)
    return sorted(chosen)


def needs_segments(audience: Audience | None) -> bool:
    return bool(audience is not None and audience.segments)
