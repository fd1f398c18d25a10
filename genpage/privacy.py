"""What genpage holds about a shopper, and how to export it, erase it and age it out (docs/privacy.md).

Personal data lives in *holders*. Each says how to export one shopper's records, forget them and purge records
older than a cutoff (the `Holder` protocol). `holders(store, config)` lists the foundation's: the store's tables of
shopper data (PERSONAL_TABLES), the cached shopper segments, the page files genpage recorded writing, and the saved
ranker fits; the engine adds the campaign output folders (genpage.campaigns.output). A new table of shopper data
(impressions, clicks, a bandit's per-user state) is one more `PersonalTable` in PERSONAL_TABLES.

    removed = forget(store, holders(store, config), shopper)       # {kind: count}; UnknownUserError if none held
    document = export(holders(store, config), shopper)            # one JSON-able dict
    purged = purge_expired(store, holders(store, config), days=90)

Pseudonyms: `pseudonym(user_id, home)` is HMAC-SHA256 of the id under a per-install secret kept in
`<home>/pseudonym.key`, truncated to 80 bits. Logs, campaign page metadata and campaign page file names carry it
instead of the raw id; it is stable for an install, and means nothing without the secret.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import os
import secrets
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Protocol

from genpage.config import Config
from genpage.errors import ConfigError, UnknownUserError
from genpage.store import Store, iso_time

logger = logging.getLogger(__name__)

KEY_FILE = "pseudonym.key"
PSEUDONYM_HEX_CHARS = 20  # 80 bits: no collision in any shop's lifetime of ids
PSEUDONYM_PREFIX = "p-"

# ---------------------------------------------------------------------- pseudonyms
_SECRETS: dict[str, bytes] = {}
_SECRETS_LOCK = threading.Lock()


def install_secret(home: Path) -> bytes:
    """The install's pseudonym secret, read from `<home>/pseudonym.key` (created once, mode 0600, by whichever
    process gets there first: the file is linked into place whole, never seen half written)."""
    path = Path(home) / KEY_FILE
    cache_key = str(path.absolute())
    with _SECRETS_LOCK:
        if cache_key in _SECRETS:
            return _SECRETS[cache_key]
        if not path.is_file():
            path.parent.mkdir(parents=True, exist_ok=True)
            temp = path.with_name(f".{KEY_FILE}.{os.getpid()}.{threading.get_ident()}.tmp")
            fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            try:
                os.write(fd, secrets.token_hex(32).encode() + b"\n")
                os.fsync(fd)
            finally:
                os.close(fd)
            try:
                os.link(temp, path)
            except FileExistsError:
                pass  # another process made it first: use theirs
            finally:
                temp.unlink(missing_ok=True)
        try:
            secret = bytes.fromhex(path.read_text(encoding="ascii").strip())
        except (ValueError, UnicodeDecodeError):
            secret = b""
        if len(secret) < 16:
            raise ConfigError(f"{path} is not a genpage pseudonym key (64 hex digits): restore it from a backup, or "
                              "delete it to start new pseudonyms (pages already named by pseudonym keep the old ones)")
        _SECRETS[cache_key] = secret
        return secret


def pseudonym(user_id: str, home: Path) -> str:
    """The shopper's pseudonym under this install's secret: `p-` and 20 hex digits."""
    digest = hmac.new(install_secret(home), str(user_id).encode("utf-8"), hashlib.sha256).hexdigest()
    return PSEUDONYM_PREFIX + digest[:PSEUDONYM_HEX_CHARS]


def key_fingerprint(home: Path) -> str:
    """Names the install's secret without revealing it (an output folder records which secret named its pages)."""
    return hashlib.sha256(b"genpage-pseudonym-key:" + install_secret(home)).hexdigest()[:12]


@dataclass(frozen=True)
class Shopper:
    """A shopper as the holders look them up: the raw id, and the pseudonym outputs carry."""

    id: str
    pseudonym: str

    @classmethod
    def of(cls, user_id: str, home: Path) -> Shopper:
        return cls(str(user_id), pseudonym(str(user_id), home))


# ---------------------------------------------------------------------- holders
class Holder(Protocol):
    """A place genpage keeps shopper data. `kind` names it in reports and exports; a `derived` holder is built from
    the others (a cache), so it is cleared whenever they lose data, and never makes a shopper "known"."""

    kind: str
    derived: bool

    def export(self, shopper: Shopper) -> list[dict[str, Any]]: ...

    def forget(self, shopper: Shopper) -> int: ...

    def purge_before(self, cutoff: datetime) -> int: ...


@dataclass(frozen=True)
class PersonalTable:
    """A store table with one shopper per row: `column` holds their id (or their pseudonym, `by_pseudonym`), and
    `time_column`, if any, when the row happened (what retention ages out)."""

    kind: str
    table: str
    column: str
    time_column: str | None = None
    by_pseudonym: bool = False
    json_columns: tuple[str, ...] = ()


PERSONAL_TABLES: tuple[PersonalTable, ...] = (
    PersonalTable("events", "events", "user_id", time_column="timestamp"),
    PersonalTable("user", "users", "id", json_columns=("attributes",)),
    # what a shopper was shown and clicked (genpage.feedback.tracking), named by pseudonym
    PersonalTable("impressions", "impressions", "shopper", time_column="created_at", by_pseudonym=True),
    PersonalTable("clicks", "clicks", "shopper", time_column="created_at", by_pseudonym=True),
    # issue 14 adds the bandit's per-user state here, if it keeps any
)


class TableHolder:
    """A PersonalTable of a store."""

    derived = False

    def __init__(self, store: Store, table: PersonalTable):
        self.store, self.table = store, table
        self.kind = table.kind

    def _key(self, shopper: Shopper) -> str:
        return shopper.pseudonym if self.table.by_pseudonym else shopper.id

    def export(self, shopper: Shopper) -> list[dict[str, Any]]:
        t = self.table
        rows = [dict(r) for r in self.store.query(f"SELECT * FROM {t.table} WHERE {t.column} = ? ORDER BY rowid",
                                                  (self._key(shopper),))]  # fmt: skip
        for row in rows:
            for name in t.json_columns:
                row[name] = json.loads(row[name]) if row[name] is not None else None
        return rows

    def forget(self, shopper: Shopper) -> int:
        with self.store.transaction() as conn:
            return conn.execute(f"DELETE FROM {self.table.table} WHERE {self.table.column} = ?",
                                (self._key(shopper),)).rowcount  # fmt: skip

    def purge_before(self, cutoff: datetime) -> int:
        if self.table.time_column is None:
            return 0
        with self.store.transaction() as conn:
            return conn.execute(f"DELETE FROM {self.table.table} WHERE {self.table.time_column} < ?",
                                (iso_time(cutoff),)).rowcount  # fmt: skip


class SegmentCache:
    """Cached shopper segments (genpage.campaigns.segments): each shopper's segment, and a few example shoppers per
    segment. Derived from the events: cleared whole when a shopper is forgotten or events are purged (the data's
    fingerprint changes then anyway, so the next use rebuilds them)."""

    kind = "segment assignments"
    derived = True

    def __init__(self, store: Store):
        self.store = store

    def export(self, shopper: Shopper) -> list[dict[str, Any]]:
        rows = self.store.query("SELECT u.segment_id, s.name, u.fingerprint FROM user_segments u LEFT JOIN segments s "
                                "ON s.fingerprint = u.fingerprint AND s.id = u.segment_id WHERE u.user_id = ?",
                                (shopper.id,))  # fmt: skip
        return [{"segment_id": r[0], "segment": r[1], "fingerprint": r[2]} for r in rows]

    def forget(self, shopper: Shopper) -> int:
        return self._clear(shopper.id)

    def purge_before(self, cutoff: datetime) -> int:
        return self._clear(None)

    def _clear(self, user_id: str | None) -> int:
        with self.store.transaction(data=False) as conn:
            if user_id is None:
                count = conn.execute("SELECT COUNT(*) FROM user_segments").fetchone()[0]
            else:
                count = conn.execute("SELECT COUNT(*) FROM user_segments WHERE user_id = ?", (user_id,)).fetchone()[0]
            conn.execute("DELETE FROM user_segments")
            conn.execute("DELETE FROM segments")
        return int(count)


class WrittenPages:
    """Page files genpage wrote for one shopper (`genpage preview --out`, the demo), as `Store.record_page` noted
    them. Forgetting deletes each file that still holds what genpage wrote (a file changed since is left, and
    logged), and the record."""

    kind = "page files"
    derived = False

    def __init__(self, store: Store):
        self.store = store

    def export(self, shopper: Shopper) -> list[dict[str, Any]]:
        rows = self.store.query("SELECT path, kind, written_at FROM written_pages WHERE user_id = ? ORDER BY path",
                                (shopper.id,))  # fmt: skip
        return [{"path": r["path"], "kind": r["kind"], "written_at": r["written_at"],
                 "exists": Path(r["path"]).is_file()} for r in rows]  # fmt: skip

    def forget(self, shopper: Shopper) -> int:
        removed = 0
        for row in self.store.query("SELECT path, sha256 FROM written_pages WHERE user_id = ?", (shopper.id,)):
            path = Path(row["path"])
            try:
                same = hashlib.sha256(path.read_bytes()).hexdigest() == row["sha256"]
            except OSError:
                continue  # gone already
            if same:
                path.unlink()
                removed += 1
            else:
                logger.warning("left %s in place: it changed since genpage wrote a page there", path)
        with self.store.transaction(data=False) as conn:
            conn.execute("DELETE FROM written_pages WHERE user_id = ?", (shopper.id,))
        return removed

    def purge_before(self, cutoff: datetime) -> int:
        return 0


class RankerFits:
    """Saved ranker fits under `<home>/rankers`: each holds every shopper's history as it was fitted. Which fit
    holds whom is not known without unpickling it, so forgetting anyone (or purging events) deletes them all; the
    next page fits the ranker again on what the store holds then."""

    kind = "ranker fits"
    derived = True

    def __init__(self, folder: Path):
        self.folder = folder

    def _files(self) -> list[Path]:
        return sorted(p for p in self.folder.iterdir() if p.is_file()) if self.folder.is_dir() else []

    def export(self, shopper: Shopper) -> list[dict[str, Any]]:
        return [{"path": str(p), "holds": "every shopper's events as they were when it was fitted"}
                for p in self._files() if p.suffix == ".pkl"]  # fmt: skip

    def forget(self, shopper: Shopper) -> int:
        return self._delete_all()

    def purge_before(self, cutoff: datetime) -> int:
        return self._delete_all()

    def _delete_all(self) -> int:
        removed = 0
        for path in self._files():
            path.unlink(missing_ok=True)
            removed += path.suffix == ".pkl"
        return removed


def holders(store: Store, config: Config) -> list[Holder]:
    """The foundation's holders, files and caches first and the store's shopper rows last: a forget that stops
    half way leaves the shopper known, so running it again finishes it."""
    return [WrittenPages(store), RankerFits(config.rankers_dir), SegmentCache(store),
            *(TableHolder(store, table) for table in PERSONAL_TABLES)]


# ---------------------------------------------------------------------- erase, export, age out
def is_known(found: list[Holder], shopper: Shopper) -> bool:
    return any(h.export(shopper) for h in found if not h.derived)


def forget(store: Store, found: list[Holder], shopper: Shopper) -> dict[str, int]:
    """Remove the shopper from every holder and scrub the store file; what was removed, by kind. UnknownUserError
    when no holder has anything of theirs (never known, or forgotten already)."""
    if not is_known(found, shopper):
        raise UnknownUserError(f"genpage holds nothing about {shopper.id!r} (never ingested, or forgotten already)")
    removed = {h.kind: h.forget(shopper) for h in found}
    store.scrub()
    logger.info("forgot shopper %s: %s", shopper.pseudonym, removed)
    return removed


def export(found: list[Holder], shopper: Shopper) -> dict[str, Any]:
    """Everything the holders keep about the shopper, as one JSON-able document (an access request's answer)."""
    if not is_known(found, shopper):
        raise UnknownUserError(f"genpage holds nothing about {shopper.id!r}")
    return {"user_id": shopper.id, "pseudonym": shopper.pseudonym,
            "exported_at": datetime.now(timezone.utc).isoformat(),
            "held": {h.kind: h.export(shopper) for h in found}}  # fmt: skip


def purge_expired(store: Store, found: list[Holder], days: int | None,
                  now: datetime | None = None) -> dict[str, int]:
    """Delete rows older than `days` (events, and any holder with a time), then the caches built from them, then
    scrub the store; what was purged, by kind (empty when retention is off or nothing was old enough)."""
    if not days:
        return {}
    cutoff = (now or datetime.now(timezone.utc)) - timedelta(days=days)
    purged = {h.kind: h.purge_before(cutoff) for h in found if not h.derived}
    if not any(purged.values()):
        return {}
    purged.update({h.kind: h.purge_before(cutoff) for h in found if h.derived})
    store.scrub()
    logger.info("purged what was older than %d days: %s", days, purged)
    return {kind: n for kind, n in purged.items() if n}


def counts_text(counts: dict[str, int]) -> str:
    """`events 12, user 1, ranker fits 2` (kinds with nothing removed say 0)."""
    return ", ".join(f"{kind} {n}" for kind, n in counts.items()) or "nothing"
