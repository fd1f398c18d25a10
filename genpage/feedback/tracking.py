"""What shoppers were shown and what they did: page ids, impression rows, signed click links, live events.

    page_id = new_page_id()
    rows = impression_rows(page, page_id=..., shopper=pseudonym, segment=..., shown=ShelfOrder(...))
    log_impressions(store, rows, policies)         # one executemany for a whole batch of pages, + shelf counts
    token = sign_click(secret, page_id, item_id, shelf_position, item_position)   # the /r/<token> link
    click = read_click(secret, token)              # None when forged or tampered with
    record_click(store, click, policies)           # the clicks row, + the shelf's click on its first one
    keyed = parse_events(payload, page_ids=pages)  # EventsInvalid(index, field, message) on a bad item
    write_events(store, keyed)                     # one transaction: all or nothing; a retried id adds nothing
    record_click_events(store, keyed, pages, home, policies)   # click events tied to the page view they came from

Impressions and clicks name the shopper by pseudonym (genpage.privacy); they are cache-like writes for the
ranker (`transaction(data=False)`): logging a page view never makes the engine refit. Live events are data: they
go to the `events` table under `live:id:<event id>` (or `live:<sha1 of the content>` without an id), so a retry of a
request is a no-op.

**The shelf policy learns from them** (genpage.feedback.bandit): logging a page view adds one showing of each shelf
(its arm at its position, in its segment) to the counts of the policy that ordered it, in the same transaction as
the impressions; the first click on a shelf of a page view adds its click in the same transaction as the click's
row. Each is counted once, when it is written: nothing is replayed after a restart, so nothing is counted twice.
The serving `policies` (in memory) are told after the commit. See docs/live.md.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from genpage.config import Config
from genpage.errors import GenpageError
from genpage.feedback.bandit import (
    ShelfPolicy,
    action_key,
    arm_of,
    get_policy,
    shelf_arm,
    shelf_theme,
    write_counts,
)
from genpage.ingest.readers import event_key
from genpage.privacy import install_secret, pseudonym
from genpage.schemas import INGEST_CONTEXT, Event, Page, PageItem, Section
from genpage.store import Store, iso_time

if TYPE_CHECKING:
    from genpage.page import LinkFor

logger = logging.getLogger(__name__)

FIXED_POLICY = "fixed"
MAX_EVENTS_PER_REQUEST = 1000
MAX_EVENT_ID_CHARS = 128
TOKEN_MAC_BYTES = 16  # 128-bit tag: forging one is out of reach
CLICK_EVENT_WINDOW = timedelta(minutes=30)  # a click event without a page_id: the shopper's page views this recent
CLOCK_SKEW = timedelta(minutes=5)  # a click event's time may be this much before its page view's (two clocks)
IMPRESSION_COLUMNS = ("page_id", "shopper", "campaign", "segment", "shelf_kind", "shelf_theme", "shelf_position",
                      "item_position", "item_id", "policy", "propensity", "action", "created_at", "planned")
Counts = dict[tuple[str, str, int], list[float]]  # (segment, arm, position) -> [shown, clicks]


# ---------------------------------------------------------------------- page views
def new_page_id() -> str:
    return uuid.uuid4().hex


@dataclass(frozen=True)
class ShelfOrder:
    """How a page's shelves came to be in their order: the policy's name, the probability it had of choosing
    this order (1.0 for a deterministic one), and the planner's own order of the shelves' arms ("|"-joined: the
    action the `fixed` policy would have taken, logged so that `fixed` can be judged from any policy's logs)."""

    policy: str = FIXED_POLICY
    propensity: float = 1.0
    planned: str = ""


def shelf_policy(config: Config, store: Store) -> ShelfPolicy | None:
    """The configured shelf-order policy (genpage.feedback.bandit.get_policy(config.policy, store)), or None for
    the planner's fixed order (policy "fixed")."""
    return None if config.policy == FIXED_POLICY else get_policy(config.policy, store)


def order_shelves(policy: ShelfPolicy | None, segment: str, sections: list[Section],
                  pinned: bool = False) -> tuple[list[Section], ShelfOrder]:
    """The page's shelves in the order `policy` (from `shelf_policy`; None: fixed) chooses, and how it chose.
    The engine's one call site for the shelf policy; a campaign's page is `pinned` to the planner's order."""
    planned = action_key([shelf_arm(section) for section in sections])
    if policy is None:
        return sections, ShelfOrder(FIXED_POLICY, 1.0, planned)
    order, probability = policy.choose(segment, sections, pinned=pinned)
    return [sections[i] for i in order], ShelfOrder(policy.name, float(probability), planned)


def impression_rows(page: Page, *, page_id: str, shopper: str, segment: str, campaign: str,
                    shown: ShelfOrder, created_at: datetime | None = None) -> list[tuple[Any, ...]]:
    """One row per shelf and item of the page, in IMPRESSION_COLUMNS' order (positions from 0)."""
    when = iso_time(created_at or datetime.now(timezone.utc))
    action = action_key([shelf_arm(section) for section in page.sections])
    rows = []
    for shelf_position, section in enumerate(page.sections):
        theme = shelf_theme(section)
        for item_position, item in enumerate(section.items):
            rows.append((page_id, shopper, campaign, segment, section.kind, theme, shelf_position, item_position,
                         item.product.id, shown.policy, shown.propensity, action, when, shown.planned or None))
    return rows


def shelf_views(rows: Iterable[Sequence[Any]]) -> dict[str, Counts]:
    """What impression rows add to the shelf policies' counts: per logging policy, one showing of each shelf (its
    first item's row) at its position, in its segment."""
    by_policy: dict[str, Counts] = {}
    for row in rows:
        values = dict(zip(IMPRESSION_COLUMNS, row, strict=False))
        if values["item_position"] != 0:
            continue
        arm = arm_of(str(values["shelf_kind"]), values["shelf_theme"])
        key = (str(values["segment"] or ""), arm, int(values["shelf_position"]))
        by_policy.setdefault(str(values["policy"]), {}).setdefault(key, [0.0, 0.0])[0] += 1.0
    return by_policy


def _tell(policies: Iterable[ShelfPolicy], added: Mapping[str, Counts]) -> None:
    for policy in policies:
        policy.remember(added.get(policy.name, {}))


def log_impressions(store: Store, rows: Sequence[tuple[Any, ...]], policies: Iterable[ShelfPolicy] = ()) -> int:
    """Write impression rows in one statement, and their shelves' showings to the bandit counts, in one transaction
    (not a data change: no ranker refit); then tell the serving `policies` (in memory) what was counted."""
    if not rows:
        return 0
    added = shelf_views(rows)
    with store.transaction(data=False) as conn:
        conn.executemany(f"INSERT INTO impressions ({', '.join(IMPRESSION_COLUMNS)}) "
                         f"VALUES ({','.join('?' * len(IMPRESSION_COLUMNS))})", rows)  # fmt: skip
        for policy, counts in added.items():
            write_counts(conn, policy, counts)
    _tell(policies, added)
    return len(rows)


def segments_of(store: Store, user_ids: Sequence[str]) -> dict[str, str]:
    """Each shopper's cached segment id (genpage.campaigns.segments), when one was assigned; else absent."""
    found: dict[str, str] = {}
    ids = list(dict.fromkeys(user_ids))
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        rows = store.query(f"SELECT user_id, segment_id FROM user_segments WHERE user_id IN "
                           f"({','.join('?' * len(chunk))})", chunk)  # fmt: skip
        found.update({r["user_id"]: r["segment_id"] for r in rows})
    return found


# ---------------------------------------------------------------------- signed click links
@dataclass(frozen=True)
class Click:
    page_id: str
    item_id: str
    shelf_position: int
    item_position: int


def click_links(home: Path, page_id: str) -> LinkFor:
    """Card hrefs through `/r/<token>` for the page view `page_id` (genpage.page.render_page's `link`): relative
    links, which work on a page served by `genpage serve` over the same store and home."""
    secret = click_secret(home)

    def link(shelf_position: int, item_position: int, item: PageItem) -> str | None:
        return "/r/" + sign_click(secret, page_id, item.product.id, shelf_position, item_position)

    return link


def click_secret(home: Path) -> bytes:
    """The key click links are signed with: derived from the install's secret (genpage.privacy), never stored."""
    return hmac.new(install_secret(home), b"genpage click token v1", hashlib.sha256).digest()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def sign_click(secret: bytes, page_id: str, item_id: str, shelf_position: int, item_position: int) -> str:
    """`<payload>.<tag>`, both base64url: the payload is the JSON [page id, item id, shelf, item position]."""
    payload = json.dumps([page_id, item_id, shelf_position, item_position], separators=(",", ":")).encode()
    tag = hmac.new(secret, payload, hashlib.sha256).digest()[:TOKEN_MAC_BYTES]
    return f"{_b64(payload)}.{_b64(tag)}"


def read_click(secret: bytes, token: str) -> Click | None:
    """The click a token stands for, or None when it was not signed with `secret` (forged, tampered, garbled)."""
    if len(token) > 2000 or token.count(".") != 1:
        return None
    body, tag = token.split(".")
    try:
        payload, given = _unb64(body), _unb64(tag)
    except (ValueError, UnicodeEncodeError):
        return None
    if _b64(payload) != body or _b64(given) != tag:  # one spelling per token: no other encoding of it passes
        return None
    expected = hmac.new(secret, payload, hashlib.sha256).digest()[:TOKEN_MAC_BYTES]
    if not hmac.compare_digest(given, expected):
        return None
    try:
        page_id, item_id, shelf, item = json.loads(payload)
        return Click(str(page_id), str(item_id), int(shelf), int(item))
    except (ValueError, TypeError):
        return None


def record_click(store: Store, click: Click, policies: Iterable[ShelfPolicy] = (), now: datetime | None = None, *,
                 once: bool = False) -> bool:
    """Add a click row for the impression the click came from, and, when it is the first click on that shelf of
    that page view, the shelf's click to the counts of the policy that ordered the page (one transaction; then the
    serving `policies` are told). False (nothing written) without that impression; with `once`, also when this
    item of this page view has a click already (a click event the /r/ link recorded, or a retry)."""
    counted: dict[str, Counts] = {}
    with store.transaction(data=False) as conn:
        found = conn.execute("SELECT shopper, segment, shelf_kind, shelf_theme, policy FROM impressions WHERE "
                             "page_id = ? AND shelf_position = ? AND item_position = ? AND item_id = ? LIMIT 1",
                             (click.page_id, click.shelf_position, click.item_position,
                              click.item_id)).fetchone()  # fmt: skip
        if found is None:
            return False
        shelf_clicks = conn.execute("SELECT item_position FROM clicks WHERE page_id = ? AND shelf_position = ?",
                                    (click.page_id, click.shelf_position)).fetchall()  # fmt: skip
        if once and any(r[0] == click.item_position for r in shelf_clicks):
            return False
        conn.execute("INSERT INTO clicks VALUES (?,?,?,?,?,?)",
                     (click.page_id, found["shopper"], click.item_id, click.shelf_position, click.item_position,
                      iso_time(now or datetime.now(timezone.utc))))  # fmt: skip
        if not shelf_clicks:  # a shelf is clicked or not (the bandit's model): its first click counts
            arm = arm_of(str(found["shelf_kind"]), found["shelf_theme"])
            counted = {str(found["policy"]): {(str(found["segment"] or ""), arm, click.shelf_position): [0.0, 1.0]}}
            write_counts(conn, str(found["policy"]), counted[str(found["policy"])])
    _tell(policies, counted)
    return True


def record_click_events(store: Store, keyed: Sequence[tuple[str, Event]], page_ids: Mapping[str, str], home: Path,
                        policies: Iterable[ShelfPolicy] = ()) -> int:
    """Tie posted click events to the page views they came from and record them as clicks (`record_click`, once
    per item of a page view): the page view `page_ids[key]` when the event named one, else the shopper's latest
    page view showing the item within CLICK_EVENT_WINDOW before the event. How many were recorded."""
    recorded = 0
    for key, event in keyed:
        if event.type != "click" or not event.item_id:
            continue
        shopper = pseudonym(event.user_id, home)
        if key in page_ids:
            found = store.query("SELECT page_id, shelf_position, item_position FROM impressions WHERE page_id = ? "
                                "AND shopper = ? AND item_id = ? ORDER BY shelf_position, item_position LIMIT 1",
                                (page_ids[key], shopper, event.item_id))  # fmt: skip
        else:
            when = event.timestamp if event.timestamp.tzinfo else event.timestamp.replace(tzinfo=timezone.utc)
            found = store.query("SELECT page_id, shelf_position, item_position FROM impressions WHERE shopper = ? "
                                "AND item_id = ? AND created_at BETWEEN ? AND ? ORDER BY created_at DESC, rowid DESC "
                                "LIMIT 1", (shopper, event.item_id, iso_time(when - CLICK_EVENT_WINDOW),
                                            iso_time(when + CLOCK_SKEW)))  # fmt: skip
        if found:
            row = found[0]
            click = Click(str(row["page_id"]), event.item_id, int(row["shelf_position"]), int(row["item_position"]))
            recorded += record_click(store, click, policies, event.timestamp, once=True)
    return recorded


# ---------------------------------------------------------------------- live events
class EventsInvalid(GenpageError):
    """A request's events were refused: `index` is the first bad one's place in the list, `field` its field."""

    def __init__(self, message: str, *, index: int | None = None, field: str | None = None):
        super().__init__(message)
        self.index, self.field = index, field


def parse_events(payload: Any, limit: int = MAX_EVENTS_PER_REQUEST, *,
                 page_ids: dict[str, str] | None = None) -> list[tuple[str, Event]]:
    """Validate a JSON list of events with the ingest's Event model; each gets its store key: `live:id:<id>` for an
    `id` (or `event_id`) the sender chose, else `live:<sha1 of the content>`. An event may name the page view it
    came from (`page_id`, from the page's JSON): it goes into `page_ids` under the event's key. Raises
    EventsInvalid on the first bad item (nothing of the request is kept)."""
    if isinstance(payload, dict) and isinstance(payload.get("events"), list):
        payload = payload["events"]
    if not isinstance(payload, list):
        raise EventsInvalid("the body must be a JSON list of events (or {\"events\": [...]})")
    if len(payload) > limit:
        raise EventsInvalid(f"at most {limit} events per request (this one: {len(payload)})")
    keyed: list[tuple[str, Event]] = []
    for index, item in enumerate(payload):
        if not isinstance(item, dict):
            raise EventsInvalid(f"event {index}: an event is a JSON object", index=index)
        values = dict(item)
        given = [values.pop(name) for name in ("id", "event_id") if name in values]
        event_id = next((v for v in given if v is not None), None)
        if event_id is not None and (isinstance(event_id, bool) or not isinstance(event_id, (str, int))
                                     or len(str(event_id)) > MAX_EVENT_ID_CHARS):
            raise EventsInvalid(f"event {index}: id must be a string of at most {MAX_EVENT_ID_CHARS} characters",
                                index=index, field="id")  # fmt: skip
        page_id = values.pop("page_id", None)
        if page_id is not None and (not isinstance(page_id, str) or not 0 < len(page_id) <= MAX_EVENT_ID_CHARS):
            raise EventsInvalid(f"event {index}: page_id must be the page's page_id (a string)", index=index,
                                field="page_id")  # fmt: skip
        try:
            event = Event.model_validate(values, context=INGEST_CONTEXT)
        except ValidationError as exc:
            first = exc.errors()[0]
            field = ".".join(str(p) for p in first["loc"]) or None
            if field is None:  # a check over the whole event: name the field its message mentions
                field = next((f for f in Event.model_fields if f in first["msg"]), None)
            raise EventsInvalid(f"event {index}: {field or 'event'}: {first['msg']}", index=index,
                                field=field) from None  # fmt: skip
        key = f"live:id:{event_id}" if event_id is not None else f"live:{event_key(event)}"
        keyed.append((key, event))
        if page_id is not None and page_ids is not None:
            page_ids[key] = page_id
    return keyed


def write_events(store: Store, keyed: Sequence[tuple[str, Event]]) -> int:
    """Write the events in one transaction (all or nothing), creating a minimal user row for a new shopper. An
    event whose key the store holds already is left as it is (a retry). How many events were new."""
    if not keyed:
        return 0
    rows = [(key, e.user_id, e.type, e.item_id, e.query, e.quantity, e.value, iso_time(e.timestamp), e.rating,
             e.session_id) for key, e in keyed]  # fmt: skip
    with store.transaction() as conn:
        conn.executemany("INSERT OR IGNORE INTO users (id) VALUES (?)", [(u,) for u in {e.user_id for _, e in keyed}])
        before = conn.total_changes
        conn.executemany("INSERT OR IGNORE INTO events (id, user_id, type, item_id, query, quantity, value, "
                         "timestamp, rating, session_id) VALUES (?,?,?,?,?,?,?,?,?,?)", rows)  # fmt: skip
        return conn.total_changes - before
