"""`genpage.batch.run_batch` on the example shop with the echo backend: every page once, the manifest, the
summary numbers, copy written once per distinct section, refusals, a failing user, resume after a real SIGKILL,
worker processes and Ray giving the same pages as one process."""

from __future__ import annotations

import json
import os
import shutil
import signal
import sqlite3
import subprocess
import time
from pathlib import Path

import pytest
from batch_helpers import CHRISTMAS, batch_command, done_pages

from genpage.backends import GenerationRequest, GenerationResult, register_backend
from genpage.backends.echo import EchoModel
from genpage.batch import MANIFEST, PAGES, BatchError, atomic_write, page_stem, run_batch
from genpage.config import Config
from genpage.engine import Engine
from genpage.errors import BackendError
from genpage.ingest import ingest_directory
from genpage.privacy import pseudonym
from genpage.schemas import Campaign, Event, Page, Product
from genpage.store import Store

REPO = Path(__file__).resolve().parents[1]
SHOP = REPO / "examples" / "shop"
SHOP_USERS = 60
MARKER = "MARK-001"


# ---------------------------------------------------------------------- a backend that fails for one product
@register_backend("failing-echo")
class FailingEcho(EchoModel):
    """The echo model, except that it refuses any section showing the marker product (a test-only backend,
    registered through the real registry)."""

    name = "failing-echo"

    def generate_batch(self, requests: list[GenerationRequest]) -> list[GenerationResult]:
        if any("Zebra Marker Lamp" in m.content for r in requests for m in r.messages):
            raise BackendError("the model server refused a section with the Zebra Marker Lamp")
        return super().generate_batch(requests)


# ---------------------------------------------------------------------- fixtures
@pytest.fixture(scope="module")
def shop_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("batch-shop") / "shop.sqlite"
    with Store(path) as store:
        ingest_directory(store, SHOP)
    return path


def _engine(db: Path, home: Path, backend: str = "echo") -> Engine:
    return Engine(Config(home=home, db_path=db, backend=backend, shop_name="Hearth & Home"))


@pytest.fixture(scope="module")
def engine(shop_db: Path, genpage_home: Path):
    engine = _engine(shop_db, genpage_home)
    yield engine
    engine.close()


def _clear_copy_cache(store: Store) -> None:
    with store.transaction(data=False) as conn:
        conn.execute("DELETE FROM copy_cache")


def _manifest_rows(out: Path) -> list[sqlite3.Row]:
    conn = sqlite3.connect(out / MANIFEST)
    conn.row_factory = sqlite3.Row
    try:
        return conn.execute("SELECT * FROM pages ORDER BY user_id").fetchall()
    finally:
        conn.close()


def _comparable(text: str) -> dict:
    """A page's JSON without what legitimately differs between runs: the time, the page id, the cache/model label."""
    data = json.loads(text)
    data.pop("generated_at")
    data.pop("timings_ms")
    data.pop("page_id", None)  # each page view's own id
    for section in data["sections"]:
        section["copy_source"] = section["copy_source"].removeprefix("cache:")
    return data


def _pages(out: Path) -> dict[str, dict]:
    return {p.stem: _comparable(p.read_text()) for p in sorted((out / PAGES).glob("*.json"))}


# ---------------------------------------------------------------------- the run
def test_every_page_once_with_manifest_and_honest_numbers(engine, tmp_path):
    _clear_copy_cache(engine.store)
    backend = engine.backend
    assert isinstance(backend, EchoModel)
    requests_before = backend.requests_seen
    out = tmp_path / "christmas"
    summary = run_batch(engine, CHRISTMAS, out, progress=False, batch_size=16)

    assert (summary.audience, summary.pages, summary.failures, summary.skipped) == (SHOP_USERS, SHOP_USERS, 0, 0)
    users = sorted(f"u{i:03d}" for i in range(1, SHOP_USERS + 1))
    names = {u: pseudonym(u, engine.config.home) for u in users}  # pages are named by pseudonym by default
    assert sorted(p.stem for p in (out / PAGES).glob("*.html")) == sorted(names.values())
    assert sorted(p.stem for p in (out / PAGES).glob("*.json")) == sorted(names.values())
    assert not [p for p in (out / PAGES).iterdir() if p.name.startswith(".")]
    rows = _manifest_rows(out)
    assert [(r["user_id"], r["status"], r["file"], r["attempts"]) for r in rows] == [
        (n, "done", n, 1) for n in sorted(names.values())]

    pages = [Page.model_validate_json((out / PAGES / f"{names[u]}.json").read_text()) for u in users]
    assert [p.user_id for p in pages] == [names[u] for u in users]
    assert all(p.campaign is not None and p.campaign.name == "Christmas at Home" for p in pages)
    html = (out / PAGES / f"{names['u001']}.html").read_text()
    assert html.startswith("<!DOCTYPE html>") or html.lower().startswith("<!doctype html>")
    sections = [s for p in pages for s in p.sections]
    assert summary.sections == len(sections)
    assert summary.copy_model + summary.copy_cache + summary.copy_fallback == len(sections)
    assert summary.copy_model == sum(not s.copy_source.startswith("cache:") and s.copy_source != "fallback"
                                     for s in sections)
    assert summary.distinct_copy == len({f"{s.copy_.title}\n{s.copy_.blurb}" for s in sections if s.copy_})
    # Copy is written once per distinct section: every request the model saw became one new cache entry, and
    # sections shared between shoppers (trending, new arrivals, the campaign) were not sent again.
    sent = backend.requests_seen - requests_before
    cached_now = engine.store.query("SELECT COUNT(*) FROM copy_cache")[0][0]
    assert sent == summary.copy_generated == cached_now
    assert summary.copy_generated < len(sections)
    assert summary.copy_cache > 0

    saved = json.loads((out / "summary.json").read_text())
    assert saved["pages"] == SHOP_USERS and saved["pages_per_min"] > 0
    assert f"pages: {SHOP_USERS} written" in summary.text()

    # A second run of the same campaign into a new folder: every section's copy comes from the cache.
    again = run_batch(engine, CHRISTMAS, tmp_path / "again", progress=False, batch_size=16)
    assert backend.requests_seen - requests_before == sent
    assert (again.copy_generated, again.copy_model, again.copy_cache) == (0, 0, again.sections - again.copy_fallback)
    assert _pages(tmp_path / "again") == _pages(out)


def test_refuses_a_rerun_without_resume_and_another_campaigns_folder(engine, tmp_path):
    out = tmp_path / "run"
    first = run_batch(engine, CHRISTMAS, out, limit=3, progress=False)
    assert first.pages == 3
    with pytest.raises(BatchError, match="--resume"):
        run_batch(engine, CHRISTMAS, out, limit=3, progress=False)
    with pytest.raises(BatchError, match="'Christmas at Home'"):
        run_batch(engine, Campaign(name="Spring Garden"), out, resume=True, progress=False)
    resumed = run_batch(engine, CHRISTMAS, out, limit=5, resume=True, progress=False)
    assert (resumed.pages, resumed.skipped, resumed.audience) == (2, 3, 5)
    assert sorted(p.stem for p in (out / PAGES).glob("*.html")) == sorted(
        pseudonym(f"u00{i}", engine.config.home) for i in range(1, 6))

    stray = tmp_path / "not-a-run"
    (stray / PAGES).mkdir(parents=True)
    (stray / PAGES / "someone.html").write_text("<p>hand made</p>")
    with pytest.raises(BatchError, match="no manifest.sqlite"):
        run_batch(engine, CHRISTMAS, stray, progress=False)


def test_an_empty_audience_is_a_clear_error(engine, tmp_path):
    from genpage.errors import CampaignError

    nobody = Campaign(name="Nobody", audience={"countries": ["Atlantis"]})
    with pytest.raises(CampaignError, match="selects no user"):
        run_batch(engine, nobody, tmp_path / "nobody", progress=False)


def test_a_failing_user_is_recorded_and_the_run_goes_on(shop_db, genpage_home, tmp_path):
    """One shopper bought the marker product; the failing-echo backend refuses every section that shows it."""
    db = tmp_path / "marked.sqlite"
    shutil.copy(shop_db, db)
    with Store(db) as store:
        store.upsert_products([Product(id=MARKER, title="Zebra Marker Lamp", category="Marker Things", price=99.0,
                                       created_at="2024-01-01T00:00:00")])  # old, bought long ago: never trending
        store.upsert_events([(f"mark-{i}", Event(user_id="zz-marked", type="purchase", item_id=MARKER,
                                                 timestamp=f"2025-0{i + 1}-01T10:00:00")) for i in range(3)])
    failing = _engine(db, genpage_home, backend="failing-echo")
    out = tmp_path / "failing"
    audience = [f"u{i:03d}" for i in range(1, 16)] + ["zz-marked"]
    # user-level copy: the prompts list the products, so the marker product reaches the (failing) model
    marked = Campaign(name="Marked", copy_level="user", audience={"users": audience})
    summary = run_batch(failing, marked, out, progress=False, batch_size=8, name_pages="raw")
    try:
        showing = set(summary.failed)
        assert "zz-marked" in showing and len(showing) < len(audience) / 2
        for user in sorted(showing)[:3]:  # each failed user fails again on its own: it is their page, not luck
            with pytest.raises(BackendError, match="Zebra Marker Lamp"):
                failing.build_page(user, campaign=marked)
    finally:
        failing.close()
    assert summary.failures == len(showing)
    assert summary.pages == len(audience) - len(showing)
    assert all(error.startswith("BackendError") and "Zebra Marker Lamp" in error for error in summary.failed.values())
    rows = {r["user_id"]: r for r in _manifest_rows(out)}
    assert sorted(rows) == sorted(audience)
    assert {u for u, r in rows.items() if r["status"] == "failed"} == showing
    assert all(rows[u]["error"].startswith("BackendError") and rows[u]["file"] is None for u in showing)
    written = {p.stem for p in (out / PAGES).glob("*.json")}
    assert written == {u for u, r in rows.items() if r["status"] == "done"} and not written & showing
    assert not any(MARKER in (out / PAGES / f"{u}.json").read_text() for u in written)


# ---------------------------------------------------------------------- crash safety with a real SIGKILL
def _done_users(out: Path) -> set[str]:
    conn = sqlite3.connect(f"file:{out / MANIFEST}?mode=ro", uri=True, timeout=5)
    try:
        return {r[0] for r in conn.execute("SELECT user_id FROM pages WHERE status = 'done'")}
    finally:
        conn.close()


def _start_and_kill(command: list[str], out: Path, env: dict[str, str], more_than: int) -> int:
    """Run the batch, SIGKILL it once more than `more_than` pages are done; the number done at the kill."""
    proc = subprocess.Popen(command, env=env, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 240
    while done_pages(out) < more_than + 5 and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    assert proc.poll() is None, f"the batch ended before it could be killed: {proc.communicate()[1].decode()[-800:]}"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL
    done = _done_users(out)
    for user in done:  # a page is marked done only after both of its files are in place
        assert (out / PAGES / f"{user}.html").is_file() and (out / PAGES / f"{user}.json").is_file()
    return len(done)


@pytest.mark.slow
def test_resume_after_sigkill_finishes_with_every_page_exactly_once(shop_db, genpage_home, tmp_path):
    db = tmp_path / "shop.sqlite"
    shutil.copy(shop_db, db)
    out = tmp_path / "killed"
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}
    first_kill = _start_and_kill(batch_command(db, out, genpage_home), out, env, 0)
    assert 5 <= first_kill < SHOP_USERS
    # Killed again while resuming: a resumed run is as crash-safe as a first one.
    second_kill = _start_and_kill(batch_command(db, out, genpage_home, "--resume"), out, env, first_kill)
    assert first_kill + 5 <= second_kill < SHOP_USERS

    # Only pages marked done may be relied on; whatever else is in pages/ gets rewritten by the resume.
    resumed = subprocess.run(batch_command(db, out, genpage_home, "--resume"), env=env, cwd=REPO,
                             capture_output=True, text=True, timeout=300)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert f"pages: {SHOP_USERS - second_kill} written, {second_kill} already done, 0 failed" in resumed.stdout

    users = sorted(pseudonym(f"u{i:03d}", genpage_home) for i in range(1, SHOP_USERS + 1))  # pages' names
    files = sorted(p.name for p in (out / PAGES).iterdir())
    assert files == sorted([f"{u}.html" for u in users] + [f"{u}.json" for u in users])  # exactly once, no temp
    rows = _manifest_rows(out)
    assert [(r["user_id"], r["status"], r["attempts"]) for r in rows] == [(u, "done", 1) for u in users]
    for user in users:
        page = Page.model_validate_json((out / PAGES / f"{user}.json").read_text())
        assert page.user_id == user and page.sections
        assert (out / PAGES / f"{user}.html").read_text().rstrip().endswith("</html>")


# ---------------------------------------------------------------------- processes and Ray
@pytest.mark.slow
def test_worker_processes_write_the_same_pages(engine, tmp_path):
    one = run_batch(engine, CHRISTMAS, tmp_path / "one", limit=24, batch_size=4, progress=False)
    two = run_batch(engine, CHRISTMAS, tmp_path / "two", limit=24, batch_size=4, workers=2, progress=False)
    assert one.pages == two.pages == 24 and two.failures == 0
    assert _pages(tmp_path / "two") == _pages(tmp_path / "one")


@pytest.mark.slow
def test_the_ray_engine_writes_the_same_pages_as_the_local_one(engine, tmp_path):
    ray = pytest.importorskip("ray")
    local = run_batch(engine, CHRISTMAS, tmp_path / "local", limit=16, batch_size=4, progress=False)
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        on_ray = run_batch(engine, CHRISTMAS, tmp_path / "ray", limit=16, batch_size=4, workers=2,
                           engine_kind="ray", progress=False)
    finally:
        ray.shutdown()
    assert on_ray.engine == "ray" and on_ray.pages == local.pages == 16 and on_ray.failures == 0
    assert _pages(tmp_path / "ray") == _pages(tmp_path / "local")
    assert len(_manifest_rows(tmp_path / "ray")) == 16


# ---------------------------------------------------------------------- small parts
def test_page_file_names_are_safe():
    assert page_stem("12347") == "12347"
    assert page_stem("u-001.b") == "u-001.b"
    for hostile in ("../etc/passwd", ".hidden", "a/b", "x.tmp", "ümlaut", ""):
        stem = page_stem(hostile)
        assert stem.startswith("u-") and "/" not in stem and not stem.startswith(".")
    assert page_stem("a/b") != page_stem("a\\b")


def test_atomic_write_leaves_no_temp_file(tmp_path):
    target = tmp_path / "page.html"
    atomic_write(target, "one")
    atomic_write(target, "two")
    assert target.read_text() == "two" and [p.name for p in tmp_path.iterdir()] == ["page.html"]


def test_cache_writes_leave_the_data_version(tmp_path):
    """Caching copy must not make the ranker look stale: otherwise every batch chunk would refit it."""
    import numpy as np

    store = Store(tmp_path / "s.sqlite")
    store.upsert_products([Product(id="a", title="A")])
    before = store.version
    store.put_copy("key", "m", {"title": "T", "blurb": "B"})
    store.put_embeddings("m", {"h": np.ones(3, dtype=np.float32)})
    assert store.version == before
    assert store.get_copy("key") is not None and set(store.get_embeddings("m", ["h"])) == {"h"}
