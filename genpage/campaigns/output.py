"""A campaign run's output folder: its layout, its manifest, how its pages are named, and erasing a shopper from it.

    out/pages/<name>.html   the rendered page     <name>: the shopper's pseudonym (default), or with
    out/pages/<name>.json   the Page as JSON      name_pages="raw" their id (ids that are not safe file names: u-<hash>)
    out/manifest.sqlite     one row per shopper: done / failed (+ error), and the run's identity (campaign, settings,
                            how pages are named)
    out/summary.json        the last run's BatchSummary
    out/run.lock            locked (fcntl.flock) by the run in progress

genpage.batch writes these; `CampaignOutputs` is the genpage.privacy holder that exports and forgets a shopper's
rows and pages in every output folder the store recorded (`Store.record_output_folder`).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Literal

from genpage.errors import ConfigError, GenpageError
from genpage.privacy import Shopper, key_fingerprint, pseudonym
from genpage.store import Store

logger = logging.getLogger(__name__)

MANIFEST = "manifest.sqlite"
PAGES = "pages"
SUMMARY = "summary.json"
LOCK = "run.lock"  # held (fcntl.flock) by the live run of the folder
NamePages = Literal["pseudonym", "raw"]
_SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@+-]{0,99}$")


class BatchError(GenpageError):
    """A batch cannot start or go on (an output folder from another campaign, an empty audience ...)."""


# ---------------------------------------------------------------------- names
def page_stem(user_id: str) -> str:
    """The file name (without extension) of a user's page by raw id: the id itself when it is a safe name."""
    if _SAFE_NAME.match(user_id) and not user_id.lower().endswith(".tmp"):
        return user_id
    return "u-" + hashlib.sha256(user_id.encode("utf-8")).hexdigest()[:24]


@dataclass(frozen=True)
class PageNames:
    """How an output folder names its shoppers (manifest rows, page files, page metadata, the summary): by their
    pseudonym (the default), or, `raw`, by their id."""

    mode: NamePages
    home: Path

    def __post_init__(self) -> None:
        if self.mode not in ("pseudonym", "raw"):
            raise ConfigError(f"name_pages must be 'pseudonym' or 'raw', not {self.mode!r}")

    def key(self, user_id: str) -> str:
        """The shopper as the folder names them."""
        return pseudonym(user_id, self.home) if self.mode == "pseudonym" else user_id

    def stem(self, user_id: str) -> str:
        return self.key(user_id) if self.mode == "pseudonym" else page_stem(user_id)

    def identity(self) -> dict[str, str]:
        """What the manifest records of the naming, so a resume names pages the same way."""
        if self.mode == "raw":
            return {"name_pages": "raw"}
        return {"name_pages": "pseudonym", "pseudonym_key": key_fingerprint(self.home)}

    def check(self, out: Path, identity: dict[str, str]) -> None:
        """Refuse to go on with a folder whose pages are named another way (or under another install's key)."""
        recorded = {"name_pages": identity.get("name_pages", "raw"), "pseudonym_key": identity.get("pseudonym_key")}
        wanted = self.identity()
        if recorded["name_pages"] != wanted["name_pages"]:
            raise BatchError(f"{out} names its pages by {recorded['name_pages']}: pass --name-pages "
                             f"{recorded['name_pages']} (name_pages={recorded['name_pages']!r}) to go on with it")
        if self.mode == "pseudonym" and recorded["pseudonym_key"] != wanted["pseudonym_key"]:
            raise BatchError(f"{out} names its pages by pseudonyms of another genpage home's key: run it with that "
                             "--home, or choose another --out folder")


# ---------------------------------------------------------------------- files
def atomic_write(path: Path, text: str) -> None:
    """Write via a hidden temp file in the same folder: fsync, then rename over `path`."""
    temp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(temp, "w", encoding="utf-8") as fh:
        fh.write(text)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(temp, path)


def fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def remove_temp_files(pages_dir: Path) -> int:
    stray = list(pages_dir.glob(".*.tmp"))
    for path in stray:
        path.unlink(missing_ok=True)
    return len(stray)


# ---------------------------------------------------------------------- the manifest
ManifestRow = tuple[str, str, str | None, str | None, str]  # (shopper, status, file, error, copy sources as JSON)


class Manifest:
    """SQLite record of a run: which shoppers are done or failed, and which campaign and settings it is for."""

    def __init__(self, path: Path):
        self.path = path
        self._conn = sqlite3.connect(str(path), isolation_level=None)
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA synchronous=FULL")
        self._conn.execute("PRAGMA secure_delete=ON")
        self._conn.execute("CREATE TABLE IF NOT EXISTS run (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
        self._conn.execute(
            "CREATE TABLE IF NOT EXISTS pages (user_id TEXT PRIMARY KEY, status TEXT NOT NULL, file TEXT, "
            "error TEXT, copy_sources TEXT, attempts INTEGER NOT NULL DEFAULT 1, updated_at TEXT NOT NULL)"
        )

    def close(self) -> None:
        self._conn.close()

    def identity(self) -> dict[str, str]:
        return {r[0]: r[1] for r in self._conn.execute("SELECT key, value FROM run")}

    def set_identity(self, values: dict[str, str]) -> None:
        self._conn.execute("BEGIN IMMEDIATE")
        self._conn.executemany("INSERT OR REPLACE INTO run VALUES (?, ?)", list(values.items()))
        self._conn.execute("COMMIT")

    def statuses(self) -> dict[str, str]:
        return {r[0]: r[1] for r in self._conn.execute("SELECT user_id, status FROM pages")}

    def counts(self) -> dict[str, int]:
        return {r[0]: r[1] for r in self._conn.execute("SELECT status, COUNT(*) FROM pages GROUP BY status")}

    def record(self, rows: Sequence[ManifestRow]) -> None:
        """Mark a chunk's shoppers done or failed in one durable transaction (after their files are in place)."""
        now = datetime.now(timezone.utc).isoformat()
        self._conn.execute("BEGIN IMMEDIATE")
        self._conn.executemany(
            "INSERT INTO pages (user_id, status, file, error, copy_sources, updated_at) VALUES (?,?,?,?,?,?) "
            "ON CONFLICT(user_id) DO UPDATE SET status=excluded.status, file=excluded.file, error=excluded.error, "
            "copy_sources=excluded.copy_sources, attempts=pages.attempts+1, updated_at=excluded.updated_at",
            [(*row, now) for row in rows],
        )
        self._conn.execute("COMMIT")

    def row(self, key: str) -> dict[str, Any] | None:
        self._conn.row_factory = sqlite3.Row
        try:
            found = self._conn.execute("SELECT * FROM pages WHERE user_id = ?", (key,)).fetchone()
        finally:
            self._conn.row_factory = None
        return dict(found) if found is not None else None

    def forget(self, key: str) -> int:
        """Delete the shopper's row, then rewrite the file and empty its WAL so no byte of it is left."""
        removed = self._conn.execute("DELETE FROM pages WHERE user_id = ?", (key,)).rowcount
        if removed:
            self._conn.execute("VACUUM")
            self._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        return int(removed)


@contextmanager
def run_lock(out: Path) -> Iterator[None]:
    """Hold `out`/run.lock (an exclusive fcntl.flock) for the whole run: a second run on the same folder refuses
    with the first one's pid instead of writing pages and manifest beside it. The kernel drops the lock when the
    holding process ends, SIGKILL included, so a killed run never blocks its --resume; its workers die with it
    (die_with_parent), and they never write in `out` anyway (the run's own process writes pages and manifest)."""
    try:
        import fcntl
    except ImportError:  # not POSIX: runs on one folder are not guarded
        yield
        return
    fd = os.open(out / LOCK, os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0), 0o644)  # never a planted link
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "unknown"
            raise BatchError(f"{out} is in use by another batch run (pid {holder}): wait for it to end or stop it, "
                             "then run again (--resume finishes its pages)") from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        yield
    finally:
        os.close(fd)  # and with it the lock


# ---------------------------------------------------------------------- the privacy holder
class CampaignOutputs:
    """A genpage.privacy holder: the shopper's manifest row and page files in every campaign output folder the
    store recorded. Forgetting takes each folder's run lock (a run in progress makes it fail: forget again when the
    run has ended), deletes the page files, the row (the manifest is rewritten without it) and the shopper's entry
    in summary.json."""

    kind = "campaign pages"
    derived = False

    def __init__(self, store: Store, home: Path):
        self.store, self.home = store, home

    def _folders(self, shopper: Shopper) -> Iterator[tuple[Path, Manifest, str]]:
        """(folder, its open manifest, the shopper's name there) for each recorded folder that still has a run."""
        for out in self.store.output_folders("campaign"):
            if not (out / MANIFEST).is_file():
                continue
            manifest = Manifest(out / MANIFEST)
            try:
                identity = manifest.identity()
                names = PageNames(identity.get("name_pages", "raw"), self.home)  # type: ignore[arg-type]
                if names.mode == "pseudonym" and identity.get("pseudonym_key") != key_fingerprint(self.home):
                    logger.warning("%s names its pages under another genpage home's key: not searched", out)
                    continue
                yield out, manifest, shopper.pseudonym if names.mode == "pseudonym" else shopper.id
            finally:
                manifest.close()

    def export(self, shopper: Shopper) -> list[dict[str, Any]]:
        found = []
        for out, manifest, key in self._folders(shopper):
            row = manifest.row(key)
            if row is None:
                continue
            files = [str(p) for p in _page_files(out, row)]
            found.append({"folder": str(out), "campaign": manifest.identity().get("campaign"), "files": files,
                          **{k: row[k] for k in ("status", "error", "updated_at")}})  # fmt: skip
        return found

    def forget(self, shopper: Shopper) -> int:
        removed = 0
        for out, manifest, key in self._folders(shopper):
            row = manifest.row(key)
            if row is None:
                continue
            with run_lock(out):
                for path in _page_files(out, row):
                    path.unlink(missing_ok=True)
                removed += manifest.forget(key)
                _forget_in_summary(out / SUMMARY, key)
        return removed

    def purge_before(self, cutoff: datetime) -> int:
        return 0


def _page_files(out: Path, row: dict[str, Any]) -> list[Path]:
    if not row.get("file"):
        return []
    folder = (out / PAGES).resolve()  # a name from the manifest: never a path outside the pages folder
    paths = [(out / PAGES / f"{row['file']}{suffix}") for suffix in (".html", ".json")]
    return [p for p in paths if p.resolve().parent == folder and p.is_file()]


def _forget_in_summary(path: Path, key: str) -> None:
    try:
        summary = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return
    if isinstance(summary, dict) and key in summary.get("failed", {}):
        del summary["failed"][key]
        atomic_write(path, json.dumps(summary, indent=2))
