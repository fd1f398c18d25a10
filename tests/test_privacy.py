"""A shopper's data under their control: forget, export, retention, pseudonyms (docs/privacy.md).

The main test puts one shopper everywhere genpage writes (ingest, a preview file, a campaign run, the server, the
segment cache, a saved ranker), forgets them through the command line, and then reads every byte of every file under
the genpage home and the output folders, the SQLite files included, for their id and their pseudonym.
"""

from __future__ import annotations

import json
import logging
import os
import sqlite3
from datetime import datetime, timezone
from pathlib import Path

import pytest
from copy_helpers import BAGS, LANTERNS, TEA, section
from fastapi.testclient import TestClient

from genpage.backends.echo import EchoModel
from genpage.batch import MANIFEST, PAGES, SUMMARY, BatchError, run_batch
from genpage.campaigns.segments import segment_users
from genpage.cli import main
from genpage.config import Config
from genpage.copy.generate import section_jobs
from genpage.copy.guardrails import CopyLimits
from genpage.engine import Engine
from genpage.errors import UnknownUserError
from genpage.ingest import ingest, ingest_directory
from genpage.privacy import KEY_FILE, Shopper, holders, pseudonym, purge_expired
from genpage.resources import resource_dir
from genpage.schemas import Audience, Campaign, PagePlan
from genpage.server import access_logger, create_app, logged_path
from genpage.store import Store

SHOPPER = "shopper-zq81x"  # a string no other byte of the store, the models or the pages can hold by chance
OTHERS = ["u001", "u002", "u003"]
COPY_LEVELS = ("theme", "segment", "user")
SECTION_KINDS = ("for_you", "because_bought", "because_viewed", "buy_again", "trending", "new_arrivals", "campaign")


def _write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def _shopper_files(folder: Path) -> tuple[Path, Path]:
    """The shop's own export of our shopper: a user row and a few events (outside the scanned folders)."""
    users = _write_jsonl(folder / "new-users.jsonl", [{"id": SHOPPER, "country": "Iceland", "segment": "loyal"}])
    events = _write_jsonl(folder / "new-events.jsonl", [
        {"user_id": SHOPPER, "type": "view", "item_id": "XMS-002", "timestamp": "2026-10-30T10:00:00",
         "session_id": f"{SHOPPER}-s1"},
        {"user_id": SHOPPER, "type": "purchase", "item_id": "XMS-002", "timestamp": "2026-10-30T10:05:00",
         "quantity": 2, "value": 19.5, "session_id": f"{SHOPPER}-s1"},
        {"user_id": SHOPPER, "type": "search", "query": "candles", "timestamp": "2026-10-31T09:00:00"},
    ])
    return users, events


def _fingerprints(text: str) -> list[bytes]:
    return [text.encode(encoding) for encoding in ("utf-8", "utf-16-le", "utf-32-le")]


def _files_holding(folders: list[Path], needles: list[str]) -> list[str]:
    """Every file under `folders` whose bytes hold any needle (utf-8, utf-16 or utf-32), with what it holds."""
    patterns = [(needle, pattern) for needle in needles for pattern in _fingerprints(needle)]
    found = []
    for folder in folders:
        for path in sorted(p for p in folder.rglob("*") if p.is_file()):
            data = path.read_bytes()
            found += [f"{path}: {needle}" for needle, pattern in patterns if pattern in data]
    return sorted(set(found))


def _other_rows(db: Path) -> dict[str, list[tuple]]:
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        return {
            "events": conn.execute("SELECT * FROM events WHERE user_id != ? ORDER BY id", (SHOPPER,)).fetchall(),
            "users": conn.execute("SELECT * FROM users WHERE id != ? ORDER BY id", (SHOPPER,)).fetchall(),
        }
    finally:
        conn.close()


def _other_pages(out: Path, names: list[str]) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for name in names for p in sorted((out / PAGES).glob(f"{name}.*"))}


def _cli(home: Path, db: Path, *args: str) -> list[str]:
    return [*args, "--home", str(home), "--db", str(db), "--backend", "echo", "--quiet"]


@pytest.fixture()
def shop(tmp_path: Path) -> tuple[Path, Path, Config]:
    """The example shop plus our shopper, ingested into the store at <home>/genpage.sqlite."""
    home = tmp_path / "home"
    config = Config(home=home, backend="echo", shop_name="Hearth & Home")
    users, events = _shopper_files(tmp_path)
    with Store(config.database) as store:
        ingest_directory(store, resource_dir("examples") / "shop")
        ingest(store, users, kind="users")
        ingest(store, events, kind="events")
    return home, config.database, config


def test_forget_leaves_no_byte_of_the_shopper_anywhere(shop, tmp_path, capsys):
    home, db, config = shop
    outputs = tmp_path / "outputs"
    preview_file, campaign_out, server_log = outputs / "preview.json", outputs / "campaign", tmp_path / "server.log"
    outputs.mkdir()

    # a preview written to a file (as JSON, which names the shopper), through the command line
    assert main(_cli(home, db, "preview", SHOPPER, "--json", "--out", str(preview_file))) == 0
    # a campaign run, segments, a saved ranker, and the server (its access log outside the scanned folders)
    engine = Engine(config)
    campaign = Campaign(name="Privacy check", audience=Audience(users=[SHOPPER, *OTHERS]))
    summary = run_batch(engine, campaign, campaign_out, progress=False)
    assert summary.pages == 4 and summary.failures == 0
    segment_users(engine.store, engine.encoder)
    handler = logging.FileHandler(server_log)
    level = access_logger.level
    access_logger.addHandler(handler)
    access_logger.setLevel(logging.INFO)
    try:
        client = TestClient(create_app(engine))
        assert client.get(f"/u/{SHOPPER}").status_code == 200
        assert client.get(f"/u/{SHOPPER}.json").status_code == 200
        assert client.get("/", params={"q": SHOPPER}).status_code == 200
    finally:
        access_logger.removeHandler(handler)
        access_logger.setLevel(level)
        handler.close()
    assert list(config.rankers_dir.glob("*.pkl"))
    alias = engine.shopper(SHOPPER).pseudonym
    engine.close()

    log = server_log.read_text()
    assert f'"GET /u/{alias}" 200' in log and f'"GET /u/{alias}.json" 200' in log and '"GET /?q=…" 200' in log
    assert SHOPPER not in log
    held = _files_holding([home, outputs], [SHOPPER, alias])
    assert any("genpage.sqlite" in f for f in held) and any(f"{alias}.json: {alias}" in f for f in held)
    assert any(f"{MANIFEST}: {alias}" in f for f in held) and any(f"preview.json: {SHOPPER}" in f for f in held)

    others_before = _other_rows(db)
    other_names = [Shopper.of(u, home).pseudonym for u in OTHERS]
    pages_before = _other_pages(campaign_out, other_names)
    assert len(pages_before) == 2 * len(OTHERS)
    capsys.readouterr()

    assert main(_cli(home, db, "forget", SHOPPER, "--yes")) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"forgot {SHOPPER!r}: removed campaign pages 1, page files 1, ranker fits 1, "
                          "segment assignments 1, events 3, user 1")

    assert _files_holding([home, outputs], [SHOPPER, alias]) == []
    assert not preview_file.exists() and not list(config.rankers_dir.glob("*.pkl"))
    assert _other_rows(db) == others_before
    assert _other_pages(campaign_out, other_names) == pages_before
    conn = sqlite3.connect(campaign_out / MANIFEST)
    assert sorted(r[0] for r in conn.execute("SELECT user_id FROM pages")) == sorted(other_names)
    conn.close()

    # forgetting again is harmless: it says there is nothing, exit 1; genpage still makes pages (the ranker refits)
    assert main(_cli(home, db, "forget", SHOPPER, "--yes")) == 1
    assert f"genpage holds nothing about {SHOPPER!r}" in capsys.readouterr().err
    assert main(_cli(home, db, "preview", "u001", "--out", str(tmp_path / "again.html"))) == 0
    assert list(config.rankers_dir.glob("*.pkl"))


def test_export_user_is_what_the_store_holds(shop, tmp_path, capsys):
    home, db, config = shop
    preview_file = tmp_path / "preview.json"
    assert main(_cli(home, db, "preview", SHOPPER, "--json", "--out", str(preview_file))) == 0
    capsys.readouterr()
    assert main(_cli(home, db, "export-user", SHOPPER)) == 0
    document = json.loads(capsys.readouterr().out)

    conn = sqlite3.connect(db)
    conn.row_factory = sqlite3.Row
    events = [dict(r) for r in conn.execute("SELECT * FROM events WHERE user_id = ? ORDER BY rowid", (SHOPPER,))]
    user = dict(conn.execute("SELECT * FROM users WHERE id = ?", (SHOPPER,)).fetchone())
    conn.close()
    user["attributes"] = json.loads(user["attributes"])
    assert document["user_id"] == SHOPPER and document["pseudonym"] == pseudonym(SHOPPER, home)
    assert document["held"]["events"] == events and len(events) == 3
    assert document["held"]["user"] == [user] and user["attributes"] == {"segment": "loyal"}
    assert [(p["path"], p["kind"], p["exists"]) for p in document["held"]["page files"]] == [
        (str(preview_file.resolve()), "preview", True)]
    assert document["held"]["campaign pages"] == [] and document["held"]["segment assignments"] == []

    assert main(_cli(home, db, "export-user", "nobody-zq81x")) == 1
    assert capsys.readouterr().err == "genpage: error: genpage holds nothing about 'nobody-zq81x'\n"


def test_engine_forget_twice_and_unknown(shop):
    _, _, config = shop
    engine = Engine(config)
    removed = engine.forget(SHOPPER)
    assert removed["events"] == 3 and removed["user"] == 1
    with pytest.raises(UnknownUserError, match="forgotten already"):
        engine.forget(SHOPPER)
    assert engine.store.user(SHOPPER) is None and engine.store.user("u001") is not None
    engine.close()


def test_campaign_pages_are_named_by_pseudonym_unless_raw(shop, tmp_path):
    home, _, config = shop
    engine = Engine(config)
    campaign = Campaign(name="Names", audience=Audience(users=["u001", "u002"]))
    named = run_batch(engine, campaign, tmp_path / "named", progress=False)
    raw = run_batch(engine, campaign, tmp_path / "raw", progress=False, name_pages="raw")
    assert named.pages == raw.pages == 2
    aliases = sorted(pseudonym(u, home) for u in ("u001", "u002"))
    assert sorted(p.stem for p in (tmp_path / "named" / PAGES).glob("*.json")) == aliases
    assert sorted(p.stem for p in (tmp_path / "raw" / PAGES).glob("*.json")) == ["u001", "u002"]
    page = json.loads((tmp_path / "named" / PAGES / f"{aliases[0]}.json").read_text())
    assert page["user_id"] == aliases[0]
    assert not any("u001" in p.read_text() for p in (tmp_path / "named").rglob("*.json"))
    assert json.loads((tmp_path / "named" / SUMMARY).read_text())["failed"] == {}
    with pytest.raises(BatchError, match="names its pages by raw: pass --name-pages raw"):
        run_batch(engine, campaign, tmp_path / "raw", progress=False, resume=True)
    assert run_batch(engine, campaign, tmp_path / "raw", progress=False, resume=True, name_pages="raw").skipped == 2
    engine.close()


def test_pseudonyms_are_keyed_per_install(tmp_path):
    first, second = tmp_path / "a", tmp_path / "b"
    alias = pseudonym(SHOPPER, first)
    assert alias == pseudonym(SHOPPER, first) and alias.startswith("p-") and len(alias) == 22
    assert alias != pseudonym(SHOPPER, second) and alias != pseudonym("shopper-zq81y", first)
    assert os.stat(first / KEY_FILE).st_mode & 0o777 == 0o600


def test_the_access_log_names_no_shopper():
    alias = "p-0123"
    assert logged_path("/u/a%2Fb.json", "campaign=Winter", lambda u: alias if u == "a/b" else "?") == \
        f"/u/{alias}.json?campaign=…"
    assert logged_path("/u/17850", "", None) == "/u/…"
    assert logged_path("/", "q=17850&campaign=x", None) == "/?campaign=…&q=…"
    assert logged_path("/healthz", "", None) == "/healthz"


def test_retention_purges_old_events_at_ingest(tmp_path, capsys, monkeypatch):
    home = tmp_path / "home"
    db = home / "genpage.sqlite"
    old = _write_jsonl(tmp_path / "events.jsonl", [
        {"user_id": SHOPPER, "type": "view", "item_id": "XMS-002", "timestamp": "2001-01-01T10:00:00"},
        {"user_id": "u001", "type": "view", "item_id": "XMS-002", "timestamp": "2001-02-01T10:00:00"},
    ])
    with Store(db) as store:
        ingest_directory(store, resource_dir("examples") / "shop")
        kept = store.counts()["events"]
    (home / "rankers").mkdir()
    (home / "rankers" / "fit.pkl").write_bytes(b"a fit holding every shopper")
    monkeypatch.setenv("GENPAGE_EVENTS_RETENTION_DAYS", "3650")
    assert main(["ingest", str(old), "--kind", "events", "--home", str(home), "--db", str(db)]) == 0
    assert "retention (3650 days): purged events 2, ranker fits 1\n" in capsys.readouterr().err
    with Store(db) as store:
        assert store.counts()["events"] == kept and not store.user_events(SHOPPER)
    assert not (home / "rankers" / "fit.pkl").exists()


def test_retention_is_off_by_default_and_purges_by_age(tmp_path):
    with Store(tmp_path / "s.sqlite") as store:
        ingest_directory(store, resource_dir("examples") / "shop")
        config = Config(home=tmp_path / "home")
        assert config.events_retention_days is None
        assert purge_expired(store, holders(store, config), config.events_retention_days) == {}
        total = store.counts()["events"]
        newer = store.query("SELECT COUNT(*) FROM events WHERE timestamp >= '2026-10-01'")[0][0]
        purged = purge_expired(store, holders(store, config), 30, now=datetime(2026, 10, 31, tzinfo=timezone.utc))
        assert purged == {"events": total - newer} and store.counts()["events"] == newer


@pytest.mark.parametrize("level", COPY_LEVELS)
def test_prompts_carry_no_personal_data_for_any_section_kind(level):
    """Every kind of section, at every copy level: the prompt (and so the copy cache key) never holds who the
    shopper is: not the plan's user id, nor an email, a customer number or a profile URL slipped into the
    interests (which the ranker makes from catalogue categories; `safe_interests` drops what looks personal)."""
    personal = ["jane.doe@example.com", "Jane Doe 17850", "https://shop.example/u/shopper-zq81x", "customer 4411"]
    sections = [section(kind, kind, [LANTERNS, BAGS, TEA][n % 3], anchor="Jumbo Bag Pink Polkadot")
                for n, kind in enumerate(SECTION_KINDS)]
    assert sorted({s.kind for s in sections}) == sorted(SECTION_KINDS)
    campaign = Campaign(name="Winter", brief="Warm things for cold days.", copy_level=level)
    plan = PagePlan(user_id=SHOPPER, interests=[*personal, "Kitchen"], sections=sections, campaign=campaign)
    jobs = section_jobs([plan], backend=EchoModel(), config=Config(backend="echo"), limits=CopyLimits())
    assert len(jobs) == len(SECTION_KINDS)
    for job in jobs:
        text = " ".join(m.content for m in job.request.messages).lower()
        for secret in ("zq81x", "17850", "4411", "jane", "@", "shop.example"):
            assert secret not in text, (level, job.section_index, secret)
