"""The embedded SQLite store: catalogue, users, events, cached embeddings and cached copy.

One file, WAL mode, named migrations recorded in `_migrations` and run on open. Writes happen inside
`store.transaction()`, so an ingest is all or nothing. The connection is shared between threads behind a lock.
Deleted rows are overwritten (`secure_delete`), and `scrub()` rewrites the file and empties the WAL, so an erased
shopper's bytes do not survive in free pages (see genpage.privacy).
"""

from __future__ import annotations

import hashlib
import json
import logging
import sqlite3
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np

from genpage.errors import StoreError, StoreNotFoundError
from genpage.schemas import Event, Product, User

logger = logging.getLogger(__name__)


def _run_script(conn: sqlite3.Connection, script: str) -> None:
    """Run `;`-separated DDL inside the open transaction (executescript would COMMIT it first)."""
    for statement in script.split(";"):
        if statement.strip():
            conn.execute(statement)


def _m001_core(conn: sqlite3.Connection) -> None:
    _run_script(
        conn,
        """
        CREATE TABLE products (
            id TEXT PRIMARY KEY, title TEXT NOT NULL, description TEXT NOT NULL DEFAULT '',
            category TEXT NOT NULL DEFAULT '', brand TEXT, price REAL, currency TEXT NOT NULL DEFAULT 'GBP',
            in_stock INTEGER NOT NULL DEFAULT 1, url TEXT, image_url TEXT, created_at TEXT,
            tags TEXT NOT NULL DEFAULT '[]'
        );
        CREATE TABLE users (id TEXT PRIMARY KEY, country TEXT, attributes TEXT NOT NULL DEFAULT '{}');
        CREATE TABLE events (
            id TEXT PRIMARY KEY, user_id TEXT NOT NULL, type TEXT NOT NULL, item_id TEXT, query TEXT,
            quantity INTEGER NOT NULL DEFAULT 1, value REAL, timestamp TEXT NOT NULL, rating REAL
        );
        CREATE INDEX events_user ON events(user_id, timestamp);
        CREATE INDEX events_item ON events(item_id);
        CREATE TABLE embeddings (
            model TEXT NOT NULL, content_hash TEXT NOT NULL, dim INTEGER NOT NULL, vector BLOB NOT NULL,
            PRIMARY KEY (model, content_hash)
        );
        CREATE TABLE copy_cache (
            key TEXT PRIMARY KEY, model TEXT NOT NULL, copy TEXT NOT NULL, created_at TEXT NOT NULL
        );
        """
    )


def _m002_event_session(conn: sqlite3.Connection) -> None:
    """Events carry the visit or invoice they belong to (Event.session_id)."""
    conn.execute("ALTER TABLE events ADD COLUMN session_id TEXT")


def _m003_segments(conn: sqlite3.Connection) -> None:
    """Cached shopper segments (genpage.campaigns.segments), keyed by a fingerprint of the data and the settings."""
    _run_script(
        conn,
        """
        CREATE TABLE segments (
            fingerprint TEXT NOT NULL, id TEXT NOT NULL, name TEXT NOT NULL, size INTEGER NOT NULL,
            top_categories TEXT NOT NULL DEFAULT '[]', example_users TEXT NOT NULL DEFAULT '[]',
            created_at TEXT NOT NULL, PRIMARY KEY (fingerprint, id)
        );
        CREATE TABLE user_segments (
            fingerprint TEXT NOT NULL, user_id TEXT NOT NULL, segment_id TEXT NOT NULL,
            PRIMARY KEY (fingerprint, user_id)
        );
        """
    )


def _m004_written_outputs(conn: sqlite3.Connection) -> None:
    """Where genpage wrote shoppers' pages (a preview's file, a campaign's output folder), so that erasing a
    shopper (genpage.privacy) finds them."""
    _run_script(
        conn,
        """
        CREATE TABLE written_pages (
            user_id TEXT NOT NULL, path TEXT NOT NULL, kind TEXT NOT NULL, sha256 TEXT NOT NULL,
            written_at TEXT NOT NULL, PRIMARY KEY (user_id, path)
        );
        CREATE TABLE output_folders (path TEXT PRIMARY KEY, kind TEXT NOT NULL, written_at TEXT NOT NULL);
        """
    )


def _m005_copy_review(conn: sqlite3.Connection) -> None:
    """Each cached copy's review (genpage.copy.review): its status and who set it when, a person's edit, a sample
    of a shelf it was written for and the facts its guardrails are checked against (JSON)."""
    conn.execute(
        "CREATE TABLE copy_review (key TEXT PRIMARY KEY, status TEXT NOT NULL DEFAULT 'draft', title TEXT, "
        "blurb TEXT, reviewed_by TEXT, reviewed_at TEXT, sample TEXT NOT NULL DEFAULT '{}', "
        "facts TEXT NOT NULL DEFAULT '{}')"
    )


def _m006_tracking(conn: sqlite3.Connection) -> None:
    """What shoppers were shown and what they clicked (genpage.feedback.tracking): one impression row per shelf and
    item of a page view, with the shelf-order policy and the probability it chose that order with, and clicks on
    the signed /r/ links. Shoppers are named by pseudonym (genpage.privacy). Live events keep their own ids in
    events.id (a retry with the same id adds nothing)."""
    _run_script(
        conn,
        """
        CREATE TABLE impressions (
            page_id TEXT NOT NULL, shopper TEXT NOT NULL, campaign TEXT, segment TEXT, shelf_kind TEXT NOT NULL,
            shelf_theme TEXT, shelf_position INTEGER NOT NULL, item_position INTEGER NOT NULL, item_id TEXT NOT NULL,
            policy TEXT NOT NULL, propensity REAL NOT NULL, action TEXT NOT NULL, created_at TEXT NOT NULL
        );
        CREATE INDEX impressions_page ON impressions(page_id, shelf_position, item_position);
        CREATE INDEX impressions_shopper ON impressions(shopper);
        CREATE INDEX impressions_time ON impressions(created_at);
        CREATE TABLE clicks (
            page_id TEXT NOT NULL, shopper TEXT NOT NULL, item_id TEXT NOT NULL, shelf_position INTEGER NOT NULL,
            item_position INTEGER NOT NULL, created_at TEXT NOT NULL
        );
        CREATE INDEX clicks_page ON clicks(page_id);
        CREATE INDEX clicks_shopper ON clicks(shopper);
        CREATE INDEX clicks_time ON clicks(created_at);
        """
    )


def _m007_bandit(conn: sqlite3.Connection) -> None:
    """The shelf-order policies' counts (genpage.feedback.bandit): per policy, segment, shelf arm and position, how
    often a shelf was shown and clicked. Segment aggregates, no shopper's data."""
    conn.execute(
        "CREATE TABLE bandit_counts (policy TEXT NOT NULL, segment TEXT NOT NULL, arm TEXT NOT NULL, "
        "position INTEGER NOT NULL, shown REAL NOT NULL DEFAULT 0, clicks REAL NOT NULL DEFAULT 0, "
        "updated_at TEXT NOT NULL, PRIMARY KEY (policy, segment, arm, position))"
    )


def _m008_planned_order(conn: sqlite3.Connection) -> None:
    """Each impression's `planned` order (the page's shelf arms in the planner's order, "|"-joined: what the `fixed`
    policy would have shown, so it can be judged from the logs; NULL on rows logged before), and the off-policy
    evaluations `genpage evaluate-policy` made (the dashboard shows the last): aggregates, no shopper's data."""
    _run_script(
        conn,
        """
        ALTER TABLE impressions ADD COLUMN planned TEXT;
        CREATE TABLE policy_evaluations (
            id INTEGER PRIMARY KEY, policy TEXT NOT NULL, source TEXT NOT NULL, created_at TEXT NOT NULL,
            result TEXT NOT NULL
        );
        """,
    )


# The columns whose change is a change of the data (`Store.data_fingerprint`), besides each table's id: migration
# 009's own copy, not EVENT_COLUMNS and the others below, since a migration must make the triggers of the tables as
# they are when it runs (a column added later needs a migration that makes them again; a test checks the two agree).
CHANGE_COLUMNS = {
    "events": ("user_id", "type", "item_id", "query", "quantity", "value", "timestamp", "rating", "session_id"),
    "products": ("title", "description", "category", "brand", "price", "currency", "in_stock", "url", "image_url",
                 "created_at", "tags"),
    "users": ("country", "attributes"),
}


def _m009_change_counter(conn: sqlite3.Connection) -> None:
    """A count of the updates and deletes of the data tables' rows, kept by triggers: with each table's largest
    rowid (a new row always raises it, unless a delete made room, which the count saw) it tells
    `Store.data_fingerprint` whether the data changed without reading every row. An upsert that changes nothing
    (the same file ingested again) is not counted, so what was fitted on the data stays current."""
    conn.execute("CREATE TABLE data_changes (id INTEGER PRIMARY KEY CHECK (id = 1), n INTEGER NOT NULL)")
    conn.execute("INSERT INTO data_changes VALUES (1, 0)")
    bump = "BEGIN UPDATE data_changes SET n = n + 1 WHERE id = 1; END"
    for table, columns in CHANGE_COLUMNS.items():
        changed = " OR ".join(f"OLD.{c} IS NOT NEW.{c}" for c in ("id", *columns))
        conn.execute(f"CREATE TRIGGER {table}_changed AFTER UPDATE ON {table} WHEN {changed} {bump}")
        conn.execute(f"CREATE TRIGGER {table}_deleted AFTER DELETE ON {table} {bump}")


MIGRATIONS: list[tuple[str, Callable[[sqlite3.Connection], None]]] = [
    ("001_core", _m001_core),
    ("002_event_session", _m002_event_session),
    ("003_segments", _m003_segments),
    ("004_written_outputs", _m004_written_outputs),
    ("005_copy_review", _m005_copy_review),
    ("006_tracking", _m006_tracking),
    ("007_bandit", _m007_bandit),
    ("008_planned_order", _m008_planned_order),
    ("009_change_counter", _m009_change_counter),
]


def iso_time(ts: datetime | None) -> str | None:
    if ts is None:
        return None
    if ts.tzinfo is not None:
        ts = ts.astimezone(timezone.utc).replace(tzinfo=None)
    return ts.isoformat(sep=" ")


# How a row of each input table is written (the column order of the tables, as `upsert_*` and genpage.ingest's
# staging write them)
PRODUCT_COLUMNS = ("id", "title", "description", "category", "brand", "price", "currency", "in_stock", "url",
                   "image_url", "created_at", "tags")
USER_COLUMNS = ("id", "country", "attributes")
EVENT_COLUMNS = ("id", "user_id", "type", "item_id", "query", "quantity", "value", "timestamp", "rating", "session_id")


def product_row(p: Product) -> tuple[Any, ...]:
    return (p.id, p.title, p.description, p.category, p.brand, p.price, p.currency, int(p.in_stock), p.url,
            p.image_url, iso_time(p.created_at), json.dumps(p.tags))


def user_row(u: User) -> tuple[Any, ...]:
    return (u.id, u.country, json.dumps(u.attributes, sort_keys=True))


def event_row(key: str, e: Event) -> tuple[Any, ...]:
    return (key, e.user_id, e.type, e.item_id, e.query, e.quantity, e.value, iso_time(e.timestamp), e.rating,
            e.session_id)


class Store:
    """The SQLite store. `Store(path)` opens (creating and migrating) the database file; `Store(path, create=False)`
    opens an existing store only (what every reader does): a missing file raises StoreNotFoundError (no file is
    created) and a file that is not a genpage store StoreError (left as it is). An existing store is opened as
    usual: in WAL mode (its -wal and -shm files) and migrated to the current schema."""

    def __init__(self, path: str | Path, *, create: bool = True):
        self.path = Path(path)
        in_memory = str(path) == ":memory:"
        if not in_memory and not create and not self.path.is_file():
            raise StoreNotFoundError(f"no store at {path}: create it with `genpage ingest <data file or shop folder> "
                                     f"--db {path}`, or check the path")
        if not in_memory and create:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.RLock()
        reader = not create and not in_memory  # mode=rw: SQLite itself never creates the file
        target = f"{self.path.resolve().as_uri()}?mode=rw" if reader else str(path)
        try:
            self._conn = sqlite3.connect(target, uri=reader, check_same_thread=False, isolation_level=None)
        except sqlite3.OperationalError as exc:  # e.g. the file went away after the check above
            raise StoreError(f"cannot open the store {path} (SQLite: {exc})") from None
        self._conn.row_factory = sqlite3.Row
        try:
            if reader:
                self._check_is_store()
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute("PRAGMA synchronous=NORMAL")
            self._conn.execute("PRAGMA foreign_keys=ON")
            self._conn.execute("PRAGMA secure_delete=ON")  # a deleted row's bytes are overwritten, not left free
        except sqlite3.OperationalError as exc:  # unreadable, locked ...
            self._conn.close()
            raise StoreError(f"cannot open the store {path} (SQLite: {exc})") from None
        except sqlite3.DatabaseError as exc:  # not an SQLite file at all
            self._conn.close()
            raise StoreError(f"{path} is not a genpage store (SQLite: {exc}): point --db at a store that "
                             "`genpage ingest` made") from None
        except StoreError:
            self._conn.close()
            raise
        self._in_tx = False
        self.version = 0  # bumped on every committed write of data (not of caches); derived state keys on it
        self._migrate()

    def _check_is_store(self) -> None:
        """Refuse an existing file that is not a genpage store (a CSV, an empty file, another app's database)."""
        found = self._conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = '_migrations'")
        if found.fetchone() is None:
            raise StoreError(f"{self.path} is not a genpage store (it has no genpage tables): point --db at a "
                             "store that `genpage ingest` made")

    # ------------------------------------------------------------------ plumbing
    def close(self) -> None:
        with self._lock:
            self._conn.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _migrate(self) -> None:
        with self._lock:
            self._conn.execute(
                "CREATE TABLE IF NOT EXISTS _migrations (name TEXT PRIMARY KEY, applied_at TEXT NOT NULL)"
            )
            done = {r[0] for r in self._conn.execute("SELECT name FROM _migrations")}
            for name, fn in MIGRATIONS:
                if name in done:
                    continue
                with self.transaction():
                    fn(self._conn)
                    self._conn.execute(
                        "INSERT INTO _migrations VALUES (?, ?)", (name, datetime.now(timezone.utc).isoformat())
                    )
                logger.info("applied migration %s to %s", name, self.path)

    def migrations(self) -> list[str]:
        return [r[0] for r in self.query("SELECT name FROM _migrations ORDER BY name")]

    @contextmanager
    def transaction(self, *, data: bool = True) -> Iterator[sqlite3.Connection]:
        """All writes inside commit together or not at all. Nested calls join the outer transaction.

        data=False: the writes only fill caches (embeddings, copy, segments), so `version` stays: a ranker fitted
        on the data is still current after a page's copy is cached."""
        with self._lock:
            if self._in_tx:
                yield self._conn
                return
            self._conn.execute("BEGIN IMMEDIATE")
            self._in_tx = True
            try:
                yield self._conn
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            else:
                self._conn.execute("COMMIT")
                if data:
                    self.version += 1
            finally:
                self._in_tx = False

    def data_fingerprint(self) -> str:
        """A hash of the data (events, catalogue, users), the same in every process that opens this store: what
        derived state saved between runs (segments, a fitted ranker) is keyed by. It changes with every new,
        changed or deleted row, and not with an upsert that changes nothing. Cached per `version`."""
        cached = getattr(self, "_fingerprint", None)
        if cached is not None and cached[0] == self.version:
            return str(cached[1])
        # each table's largest rowid and the triggers' count of updates and deletes (migration 009): no row is read
        state = self.query("SELECT (SELECT MAX(rowid) FROM events), (SELECT MAX(rowid) FROM products), "
                           "(SELECT MAX(rowid) FROM users), (SELECT n FROM data_changes)")[0]  # fmt: skip
        payload = json.dumps(list(state))
        value = hashlib.sha256(payload.encode()).hexdigest()[:32]
        self._fingerprint = (self.version, value)
        return value

    def catalogue_fingerprint(self) -> str:
        """A hash of the catalogue alone (products), for what is derived from it only: unlike `data_fingerprint`
        it stays the same while events come in. Cached per `version`."""
        cached = getattr(self, "_catalogue_fingerprint", None)
        if cached is not None and cached[0] == self.version:
            return str(cached[1])
        products = self.query("SELECT COUNT(*), MAX(rowid), TOTAL(length(category)), TOTAL(length(title)), "
                              "TOTAL(price), TOTAL(in_stock), MAX(created_at) FROM products")[0]  # fmt: skip
        value = hashlib.sha256(json.dumps(list(products), default=str).encode()).hexdigest()[:32]
        self._catalogue_fingerprint = (self.version, value)
        return value

    def query(self, sql: str, params: Iterable[Any] = ()) -> list[sqlite3.Row]:
        with self._lock:
            return self._conn.execute(sql, tuple(params)).fetchall()

    def write_temp(self, sql: str, rows: Iterable[tuple[Any, ...]] | None = None) -> None:
        """Run `sql` (DDL, or with `rows` an insert for each row) on this connection's TEMP tables, genpage.ingest's
        staging, outside any store transaction: a TEMP table is private to the connection, so the store's write
        lock is not taken while a large file is read into it."""
        with self._lock:
            began = not self._in_tx
            if began:
                self._conn.execute("BEGIN")  # one journal commit per batch, not per row
            try:
                if rows is None:
                    self._conn.execute(sql)
                else:
                    self._conn.executemany(sql, rows)
            except BaseException:
                if began:
                    self._conn.execute("ROLLBACK")
                raise
            if began:
                self._conn.execute("COMMIT")

    def _write_many(self, sql: str, rows: Iterable[tuple[Any, ...]]) -> int:
        with self.transaction() as conn:
            cur = conn.executemany(sql, rows)
            return cur.rowcount

    # ------------------------------------------------------------------ catalogue
    def upsert_products(self, products: Iterable[Product]) -> int:
        rows = [product_row(p) for p in products]
        return self._write_many(
            """INSERT INTO products VALUES (?,?,?,?,?,?,?,?,?,?,?,?)
               ON CONFLICT(id) DO UPDATE SET title=excluded.title, description=excluded.description,
               category=excluded.category, brand=excluded.brand, price=excluded.price, currency=excluded.currency,
               in_stock=excluded.in_stock, url=excluded.url, image_url=excluded.image_url,
               created_at=excluded.created_at, tags=excluded.tags""",
            rows,
        )

    @staticmethod
    def _product(row: sqlite3.Row) -> Product:
        data = dict(row)
        data["tags"] = json.loads(data["tags"])
        data["in_stock"] = bool(data["in_stock"])
        return Product.model_validate(data)

    def products(self, ids: Iterable[str] | None = None) -> list[Product]:
        """All products (ordered by id), or the given ids in the given order (unknown ids are left out)."""
        if ids is None:
            return [self._product(r) for r in self.query("SELECT * FROM products ORDER BY id")]
        wanted = list(ids)
        found: dict[str, Product] = {}
        for start in range(0, len(wanted), 500):
            chunk = wanted[start : start + 500]
            marks = ",".join("?" * len(chunk))
            for r in self.query(f"SELECT * FROM products WHERE id IN ({marks})", chunk):
                found[r["id"]] = self._product(r)
        return [found[i] for i in wanted if i in found]

    def product(self, product_id: str) -> Product | None:
        rows = self.products([product_id])
        return rows[0] if rows else None

    def categories(self) -> list[tuple[str, int]]:
        """Categories with product counts, largest first. Cached per `version`: every page shows them, and counting
        them scans the catalogue (15 ms a page at 31 k products)."""
        cached = getattr(self, "_categories", None)
        if cached is None or cached[0] != self.version:
            rows = self.query("SELECT category, COUNT(*) n FROM products WHERE category != '' "
                              "GROUP BY category ORDER BY n DESC, category")  # fmt: skip
            cached = self._categories = (self.version, [(r["category"], r["n"]) for r in rows])
        return list(cached[1])

    # ------------------------------------------------------------------ users and events
    def upsert_users(self, users: Iterable[User]) -> int:
        rows = [user_row(u) for u in users]
        return self._write_many(
            """INSERT INTO users VALUES (?,?,?) ON CONFLICT(id) DO UPDATE SET
               country=COALESCE(excluded.country, users.country), attributes=excluded.attributes""",
            rows,
        )

    def user(self, user_id: str) -> User | None:
        rows = self.query("SELECT * FROM users WHERE id = ?", (user_id,))
        if not rows:
            return None
        r = rows[0]
        return User(id=r["id"], country=r["country"], attributes=json.loads(r["attributes"]))

    def user_ids(self) -> list[str]:
        return [r[0] for r in self.query("SELECT id FROM users ORDER BY id")]

    def upsert_events(self, keyed_events: Iterable[tuple[str, Event]]) -> int:
        """Insert events under stable keys (the ingest derives them from the row), so re-ingesting is a no-op."""
        rows = [event_row(key, e) for key, e in keyed_events]
        return self._write_many(
            """INSERT INTO events (id, user_id, type, item_id, query, quantity, value, timestamp, rating, session_id)
               VALUES (?,?,?,?,?,?,?,?,?,?) ON CONFLICT(id) DO UPDATE SET
               user_id=excluded.user_id, type=excluded.type, item_id=excluded.item_id, query=excluded.query,
               quantity=excluded.quantity, value=excluded.value, timestamp=excluded.timestamp,
               rating=excluded.rating, session_id=excluded.session_id""",
            rows,
        )

    def user_events(self, user_id: str) -> list[Event]:
        rows = self.query(
            "SELECT user_id, type, item_id, query, quantity, value, timestamp, rating, session_id FROM events "
            "WHERE user_id = ? ORDER BY timestamp, id",
            (user_id,),
        )
        return [Event.model_validate({k: r[k] for k in r.keys() if r[k] is not None}) for r in rows]

    def events_frame(self, types: Iterable[str] | None = None) -> Any:
        """All events as a pandas DataFrame (timestamp parsed), optionally only some types."""
        import pandas as pd

        sql = "SELECT id, user_id, type, item_id, query, quantity, value, timestamp, rating, session_id FROM events"
        params: list[str] = []
        if types is not None:
            params = list(types)
            sql += f" WHERE type IN ({','.join('?' * len(params))})"
        with self._lock:
            frame = pd.read_sql_query(sql + " ORDER BY timestamp, id", self._conn, params=params)
        frame["timestamp"] = pd.to_datetime(frame["timestamp"])
        return frame

    def counts(self) -> dict[str, int]:
        out = {t: self.query(f"SELECT COUNT(*) FROM {t}")[0][0] for t in ("products", "users", "events")}
        for r in self.query("SELECT type, COUNT(*) n FROM events GROUP BY type"):
            out[f"events.{r['type']}"] = r["n"]
        return out

    # ------------------------------------------------------------------ caches
    def get_embeddings(self, model: str, hashes: list[str]) -> dict[str, np.ndarray]:
        found: dict[str, np.ndarray] = {}
        for start in range(0, len(hashes), 500):
            chunk = hashes[start : start + 500]
            marks = ",".join("?" * len(chunk))
            for r in self.query(
                f"SELECT content_hash, vector FROM embeddings WHERE model = ? AND content_hash IN ({marks})",
                [model, *chunk],
            ):
                found[r["content_hash"]] = np.frombuffer(r["vector"], dtype=np.float32)
        return found

    def put_embeddings(self, model: str, vectors: dict[str, np.ndarray]) -> None:
        rows = [
            (model, h, int(v.shape[0]), np.ascontiguousarray(v, dtype=np.float32).tobytes())
            for h, v in vectors.items()
        ]
        with self.transaction(data=False) as conn:
            conn.executemany("INSERT OR REPLACE INTO embeddings VALUES (?,?,?,?)", rows)

    def get_copy(self, key: str) -> dict[str, Any] | None:
        rows = self.query("SELECT copy, model FROM copy_cache WHERE key = ?", (key,))
        if not rows:
            return None
        return {"copy": json.loads(rows[0]["copy"]), "model": rows[0]["model"]}

    def put_copy(self, key: str, model: str, copy: dict[str, Any]) -> None:
        with self.transaction(data=False) as conn:
            conn.execute(
                "INSERT OR REPLACE INTO copy_cache VALUES (?,?,?,?)",
                (key, model, json.dumps(copy, sort_keys=True), datetime.now(timezone.utc).isoformat()),
            )

    # ------------------------------------------------------------------ what genpage wrote outside the store
    def record_page(self, user_id: str, path: str | Path, kind: str, text: str) -> None:
        """Remember that a page of `user_id` was written to `path` (with its content's hash), for erasure."""
        digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
        with self.transaction(data=False) as conn:
            conn.execute("INSERT OR REPLACE INTO written_pages VALUES (?,?,?,?,?)",
                         (user_id, str(Path(path).resolve()), kind, digest, datetime.now(timezone.utc).isoformat()))

    def record_output_folder(self, path: str | Path, kind: str = "campaign") -> None:
        """Remember an output folder genpage writes shoppers' pages into (a campaign run's --out)."""
        with self.transaction(data=False) as conn:
            conn.execute("INSERT OR IGNORE INTO output_folders VALUES (?,?,?)",
                         (str(Path(path).resolve()), kind, datetime.now(timezone.utc).isoformat()))

    def output_folders(self, kind: str = "campaign") -> list[Path]:
        return [Path(r[0]) for r in self.query("SELECT path FROM output_folders WHERE kind = ? ORDER BY path", (kind,))]

    def scrub(self) -> bool:
        """Rewrite the file without its free pages (VACUUM) and empty the WAL into it (checkpoint, truncate), so
        deleted rows leave no bytes behind. False when another connection kept the WAL from being emptied (its
        bytes go when that connection closes)."""
        with self._lock:
            self._conn.execute("VACUUM")
            busy, _, _ = self._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
        if busy:
            logger.warning("another connection holds %s open: its WAL is emptied when that closes", self.path)
        return not busy
