"""Staging: validated rows wait in TEMP tables of the store's connection, chunk by chunk, and move into the store's
tables in ONE transaction at the end, so an ingest holds one chunk in memory whatever the file's length, and a
refused file leaves the store as it was.

The move is done in SQL: the last row of each product or user id wins; an event's key gets its occurrence counter
(`sha1:0`, `sha1:1` ... for identical rows, in file order) from a window over the staged rows, and the events go in
sorted by key, so the primary key's B-tree is appended to rather than written at random. When a load is larger than
the events the store already holds, the events table's other indexes are dropped before it and rebuilt after it,
inside the same transaction: one sort instead of a random B-tree insert per row, which grew faster than linear.
"""

from __future__ import annotations

import itertools
import logging
from dataclasses import dataclass, field
from typing import Any

from genpage.store import EVENT_COLUMNS, PRODUCT_COLUMNS, USER_COLUMNS, Store

logger = logging.getLogger(__name__)

_COLUMNS = {"products": PRODUCT_COLUMNS, "users": USER_COLUMNS, "events": EVENT_COLUMNS}
_UPDATE = {
    "products": ", ".join(f"{c}=excluded.{c}" for c in PRODUCT_COLUMNS[1:]),
    "users": "country=COALESCE(excluded.country, users.country), attributes=excluded.attributes",
    "events": ", ".join(f"{c}=excluded.{c}" for c in EVENT_COLUMNS[1:]),
}
_TAGS = itertools.count(1)


@dataclass
class Moved:
    """What moving one staging into the store did."""

    loaded: dict[str, int] = field(default_factory=dict)  # distinct products / users staged
    repeated: dict[str, int] = field(default_factory=dict)  # staged rows whose id a later row repeats
    users_created: int = 0
    orphans: tuple[int, int, str] | None = None  # events naming unknown items, how many items, the first


class Staging:
    """TEMP tables of one source's validated rows (products, users, events: created on first use)."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.tag = next(_TAGS)
        self.rows: dict[str, int] = {}

    def table(self, kind: str) -> str:
        return f"temp.genpage_stage_{kind}_{self.tag}"

    def add(self, kind: str, rows: list[tuple[Any, ...]]) -> None:
        """Append validated rows (events: with their key, the counter not yet appended)."""
        if not rows:
            return
        columns = _COLUMNS[kind]
        if kind not in self.rows:
            self.store.write_temp(f"CREATE TABLE {self.table(kind)} ({', '.join(columns)})")
            self.rows[kind] = 0
        marks = ",".join("?" * len(columns))
        self.store.write_temp(f"INSERT INTO {self.table(kind)} VALUES ({marks})", rows)
        self.rows[kind] += len(rows)

    def drop(self) -> None:
        for kind in list(self.rows):
            self.store.write_temp(f"DROP TABLE IF EXISTS {self.table(kind)}")
            del self.rows[kind]

    def move(self, conn: Any) -> Moved:
        """Write the staged rows into the store (call inside `store.transaction()`): products, users, events."""
        moved = Moved()
        for kind in ("products", "users"):
            if kind in self.rows:
                stage = self.table(kind)
                distinct = conn.execute(f"SELECT COUNT(DISTINCT id) FROM {stage}").fetchone()[0]
                moved.loaded[kind] = distinct
                moved.repeated[kind] = self.rows[kind] - distinct
                columns = ", ".join(_COLUMNS[kind])
                conn.execute(f"INSERT INTO main.{kind} ({columns}) SELECT {columns} FROM {stage} WHERE rowid IN "
                             f"(SELECT MAX(rowid) FROM {stage} GROUP BY id) ORDER BY id "
                             f"ON CONFLICT(id) DO UPDATE SET {_UPDATE[kind]}")
        if "events" in self.rows:
            self._move_events(conn, moved)
        return moved

    def _move_events(self, conn: Any, moved: Moved) -> None:
        stage = self.table("events")
        moved.users_created = conn.execute(
            f"INSERT INTO main.users (id, country, attributes) SELECT DISTINCT user_id, NULL, '{{}}' FROM {stage} "
            f"WHERE user_id NOT IN (SELECT id FROM main.users)").rowcount
        held = conn.execute("SELECT COUNT(*) FROM main.events").fetchone()[0]
        rebuild = self.rows["events"] > held  # a bulk load: rebuild the indexes once rather than row by row
        indexes = conn.execute("SELECT name, sql FROM main.sqlite_master WHERE type = 'index' AND tbl_name = 'events' "
                               "AND sql IS NOT NULL").fetchall() if rebuild else []
        for name, _ in indexes:
            conn.execute(f'DROP INDEX main."{name}"')
        columns = ", ".join(EVENT_COLUMNS[1:])
        conn.execute(
            f"INSERT INTO main.events ({', '.join(EVENT_COLUMNS)}) "
            f"SELECT id || ':' || (ROW_NUMBER() OVER (PARTITION BY id ORDER BY rowid) - 1), {columns} FROM {stage} "
            f"WHERE true ON CONFLICT(id) DO UPDATE SET {_UPDATE['events']}")
        for _, sql in indexes:
            conn.execute(sql)
        found = conn.execute(
            f"SELECT COUNT(*), COUNT(DISTINCT item_id), MIN(item_id) FROM {stage} WHERE item_id IS NOT NULL AND "
            f"item_id != '' AND item_id NOT IN (SELECT id FROM main.products)").fetchone()
        if found[0]:
            moved.orphans = (found[0], found[1], found[2])
        logger.info("moved %d staged events (indexes %s)", self.rows["events"], "rebuilt" if indexes else "kept")
