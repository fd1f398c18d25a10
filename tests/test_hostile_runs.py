"""Runs that go wrong on purpose (issue 18): a batch whose parent is killed with SIGKILL must take its worker
processes with it, and a second run must not write into a folder a live run holds; a mistyped or empty store is
one clear line on stderr (exit 1) or the cold-start page, never a new empty store and a traceback."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from batch_helpers import CHRISTMAS, batch_command, done_pages

from genpage.batch import MANIFEST
from genpage.ingest import ingest_directory
from genpage.store import Store

REPO = Path(__file__).resolve().parents[1]
SHOP = REPO / "examples" / "shop"
ENV = {**os.environ, "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}


@pytest.fixture(scope="module")
def shop_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("hostile-shop") / "shop.sqlite"
    with Store(path) as store:
        ingest_directory(store, SHOP)
    return path


# ---------------------------------------------------------------------- processes, read from /proc
def _stat(pid: int) -> tuple[str, int] | None:
    """(state, parent pid) of a process, or None when it is gone."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return None
    fields = text[text.rindex(")") + 2 :].split()
    return fields[0], int(fields[1])


def _alive(pid: int) -> bool:
    stat = _stat(pid)
    return stat is not None and stat[0] not in ("Z", "X")  # a zombie has freed its memory: it is dead


def _descendants(root: int) -> set[int]:
    """Every live process below `root` (children, their children ...)."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and (stat := _stat(int(entry.name))) is not None and stat[0] not in ("Z", "X"):
            parents[int(entry.name)] = stat[1]
    found: set[int] = set()
    frontier = {root}
    while frontier:
        frontier = {pid for pid, parent in parents.items() if parent in frontier} - found
        found |= frontier
    return found


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


# ---------------------------------------------------------------------- 1. kill -9 of a batch with workers
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_sigkill_of_the_batch_parent_takes_its_workers_and_the_resource_tracker(shop_db, genpage_home, tmp_path):
    db = tmp_path / "shop.sqlite"
    shutil.copy(shop_db, db)
    out = tmp_path / "killed"
    proc = subprocess.Popen(batch_command(db, out, genpage_home, "--workers", "2"), env=ENV, cwd=REPO,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    children: set[int] = set()
    try:
        deadline = time.monotonic() + 120
        # Both workers are building pages once more than the first chunk (which runs alone) is done.
        while done_pages(out) < 4 and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert proc.poll() is None, f"the batch ended before the kill: {proc.communicate()[1].decode()[-800:]}"
        children = _descendants(proc.pid)
        workers = {pid for pid in children if "multiprocessing" in _cmdline(pid)}
        assert len(workers) >= 3, {pid: _cmdline(pid) for pid in children}  # 2 workers + the resource tracker
        assert any("resource_tracker" in _cmdline(pid) for pid in children)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        deadline = time.monotonic() + 10
        while any(_alive(pid) for pid in children) and time.monotonic() < deadline:
            time.sleep(0.1)
        left = {pid: _cmdline(pid) for pid in children if _alive(pid)}
        assert not left, f"processes of the killed run still running: {left}"
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        for pid in children:  # clean up after a failure: only the processes this test started
            if _alive(pid):
                os.kill(pid, signal.SIGKILL)

    # The resumed run finishes the campaign (no leftover of the killed run is there to race with it).
    resumed = subprocess.run(batch_command(db, out, genpage_home, "--resume"), env=ENV, cwd=REPO,
                             capture_output=True, text=True, timeout=180)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert "0 failed (audience 60)" in resumed.stdout


def test_a_worker_whose_parent_is_already_gone_exits_at_once():
    """The parent can die while a spawned worker is still importing, before the parent-death signal is armed."""
    code = "from genpage.batch import die_with_parent; die_with_parent(1); print('still running')"
    result = subprocess.run([sys.executable, "-c", code], env=ENV, capture_output=True, text=True, timeout=60)
    assert result.returncode == 1 and "still running" not in result.stdout


def test_a_second_run_on_a_folder_a_live_run_holds_refuses_with_a_clear_message(shop_db, genpage_home, tmp_path):
    import fcntl

    from genpage.batch import LOCK, BatchError, run_batch, run_lock
    from genpage.config import Config
    from genpage.engine import Engine

    out = tmp_path / "busy"
    out.mkdir()
    with open(out / LOCK, "a+") as held:  # what a live run (or anything it left running) holds
        fcntl.flock(held, fcntl.LOCK_EX | fcntl.LOCK_NB)
        held.write("4242\n")
        held.flush()
        engine = Engine(Config(home=genpage_home, db_path=shop_db, backend="echo"))
        with pytest.raises(BatchError, match=r"busy is in use by another batch run \(pid 4242\)"):
            run_batch(engine, CHRISTMAS, out, limit=2, progress=False, resume=True)
        assert not (out / MANIFEST).exists()  # refused before it touched anything
    engine.close()
    with run_lock(out):  # free again once its holder let go; the new holder's pid is what a refusal names
        assert (out / LOCK).read_text() == f"{os.getpid()}\n"


# ---------------------------------------------------------------------- 2. a mistyped, empty or events-less store
def _genpage(*args: str | Path, timeout: float = 240) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "genpage.cli", *map(str, args)], env=ENV, cwd=REPO,
                          capture_output=True, text=True, timeout=timeout)


def _one_error_line(result: subprocess.CompletedProcess[str], *expected: str) -> str:
    """Exit 1, nothing on stdout, one line on stderr (no traceback) that says each of `expected`."""
    assert "Traceback" not in result.stderr, result.stderr[-3000:]
    lines = [line for line in result.stderr.splitlines() if line.strip() and not line.startswith("Loading weights")]
    assert (result.returncode, result.stdout, len(lines)) == (1, "", 1), result.stderr[-3000:]
    assert lines[0].startswith("genpage: error: ")
    for text in expected:
        assert text in lines[0]
    return lines[0]


READ_COMMANDS = {
    "preview": ["preview", "u001"],
    "serve": ["serve", "--port", "0"],
    "batch": ["batch", CHRISTMAS, "--limit", "3"],  # --out is added per test
    "segments": ["segments"],
    "evaluate": ["evaluate", "--no-baselines"],
    "train-encoder": ["train-encoder", "--name", "never-written"],
}


def _command(name: str, db: Path, home: Path, out: Path) -> list[str | Path]:
    extra: list[str | Path] = ["--out", out] if name == "batch" else []
    return [*READ_COMMANDS[name], *extra, "--db", db, "--home", home, "--backend", "echo", "--quiet"]


@pytest.mark.parametrize("command", sorted(READ_COMMANDS))
def test_a_missing_store_is_one_clear_line_and_is_never_created(command, genpage_home, tmp_path):
    db = tmp_path / "typo" / "nonexist.sqlite"
    result = _genpage(*_command(command, db, genpage_home, tmp_path / "out"), timeout=120)
    _one_error_line(result, f"no store at {db}", f"genpage ingest <data file or shop folder> --db {db}")
    assert not db.parent.exists()  # no empty store, not even its folder
    assert not (tmp_path / "out").exists()  # and a batch touched no output folder


def test_the_default_store_missing_is_named_too(tmp_path):
    result = _genpage("preview", "u001", "--home", tmp_path / "home", "--backend", "echo")
    _one_error_line(result, f"no store at {tmp_path / 'home' / 'genpage.sqlite'}")
    assert not (tmp_path / "home" / "genpage.sqlite").exists()


def test_a_file_that_is_not_a_store_is_one_clear_line(genpage_home, tmp_path):
    for name, content in (("events.csv", b"user_id,type\nu1,view\n"), ("blank.sqlite", b"")):
        path = tmp_path / name
        path.write_bytes(content)
        result = _genpage("preview", "u001", "--db", path, "--home", genpage_home, "--backend", "echo")
        _one_error_line(result, f"{path} is not a genpage store")
        assert path.read_bytes() == content  # left as it was


def test_ingest_still_creates_the_store(tmp_path):
    db = tmp_path / "new" / "shop.sqlite"
    result = _genpage("ingest", SHOP / "products.csv", "--db", db, "--quiet")
    assert result.returncode == 0, result.stderr[-2000:]
    with Store(db, create=False) as store:
        assert store.counts()["products"] == 200


@pytest.fixture(scope="module")
def empty_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A store with nothing in it (as `Store(path)` or an ingest that loaded nothing leaves it)."""
    path = tmp_path_factory.mktemp("empty-store") / "empty.sqlite"
    Store(path).close()
    return path


@pytest.fixture(scope="module")
def catalogue_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Products and users, no events: a shop that has just loaded its catalogue."""
    from genpage.ingest import ingest

    path = tmp_path_factory.mktemp("catalogue-store") / "catalogue.sqlite"
    with Store(path) as store:
        ingest(store, SHOP / "products.csv", kind="products")
        ingest(store, SHOP / "users.csv", kind="users")
    return path


EMPTY_STORE_ERRORS = {
    "preview": "holds no products",
    "serve": "holds no products",
    "batch": "holds no products",
    "segments": "holds no products",
    "evaluate": "no user has two baskets",
    "train-encoder": "no basket with two or more products",
}


@pytest.mark.parametrize("command", sorted(READ_COMMANDS))
def test_an_empty_store_is_one_clear_line(command, empty_db, genpage_home, tmp_path):
    result = _genpage(*_command(command, empty_db, genpage_home, tmp_path / "out"))
    _one_error_line(result, EMPTY_STORE_ERRORS[command])


def test_a_store_without_events_gives_cold_start_pages(catalogue_db, genpage_home, tmp_path):
    import json

    preview = _genpage(*_command("preview", catalogue_db, genpage_home, tmp_path), "--json")
    assert preview.returncode == 0, preview.stderr[-3000:]
    page = json.loads(preview.stdout)
    assert page["user_id"] == "u001" and page["cold_start"] and page["sections"]
    assert all(section["items"] for section in page["sections"])

    batch = _genpage(*_command("batch", catalogue_db, genpage_home, tmp_path / "out"))
    assert batch.returncode == 0, batch.stderr[-3000:]
    assert "pages: 3 written, 0 already done, 0 failed" in batch.stdout

    for command, error in (("evaluate", "no user has two baskets"),
                           ("train-encoder", "no basket with two or more products")):
        _one_error_line(_genpage(*_command(command, catalogue_db, genpage_home, tmp_path)), error)


def test_the_server_over_an_empty_store_answers_with_the_message(empty_db, genpage_home):
    from fastapi.testclient import TestClient

    from genpage.config import Config
    from genpage.engine import Engine
    from genpage.server import create_app

    engine = Engine(Config(home=genpage_home, db_path=empty_db, backend="echo"))
    try:
        client = TestClient(create_app(engine))
        for url in ("/healthz", "/", "/u/u001", "/u/u001.json"):  # a store that cannot give pages is not healthy
            response = client.get(url)
            assert response.status_code == 503 and "holds no products" in response.json()["detail"]
    finally:
        engine.close()


def test_the_ranker_fits_on_no_events_and_ranks_everyone_cold():
    """The root of the empty-store traceback: History.build and the feature planes with zero events."""
    import numpy as np
    import pandas as pd

    from genpage.rank.features import History
    from genpage.rank.ranker import Ranker
    from genpage.schemas import Product

    products = [Product(id=f"p{i}", title=f"Thing {i}", category="Things" if i % 2 else "Stuff") for i in range(12)]
    vectors = np.random.default_rng(0).normal(size=(12, 8)).astype(np.float32)
    events = pd.DataFrame({"user_id": pd.Series([], dtype=object), "type": pd.Series([], dtype=object),
                           "item_id": pd.Series([], dtype=object), "timestamp": pd.Series([], dtype="datetime64[ns]")})
    history = History.build(events, [p.id for p in products])
    assert history.baskets.shape == (0, 12) and not history.user_index
    ranker = Ranker.fit_frame(events, products, None, item_vectors=vectors)
    ranked = ranker.rank(["someone", "anyone"], k=60)
    assert [r.cold_start for r in ranked] == [True, True]
    for r in ranked:  # the whole catalogue, each product once
        assert sorted(item.item_id for item in r.items) == sorted(p.id for p in products)


def test_demo_never_replaces_a_store_it_did_not_make(tmp_path):
    """`genpage demo --db PATH` used to delete PATH (and its -wal/-shm files) before writing the demo store."""
    precious = tmp_path / "shop.sqlite"
    precious.write_bytes(b"a real shop's store")
    result = subprocess.run([sys.executable, "-m", "genpage.cli", "demo", "--db", str(precious), "--home",
                             str(tmp_path / "home"), "--backend", "echo", "--out", str(tmp_path / "pages")],
                            capture_output=True, text=True, timeout=120)  # fmt: skip
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert f"would replace {precious}" in result.stderr
    assert precious.read_bytes() == b"a real shop's store"


def test_an_empty_audience_error_names_the_filters_not_every_id(shop_db, genpage_home, tmp_path):
    """A 200,000-id audience that selects nobody used to put every id into the one-line error."""
    from genpage.batch import run_batch
    from genpage.errors import CampaignError
    from genpage.schemas import Campaign

    ids = [f"nobody-{n}@example.com" for n in range(5_000)]
    campaign = Campaign(name="Ghosts", audience={"users": ids, "countries": ["Atlantis"]})
    from genpage.config import Config
    from genpage.engine import Engine

    engine = Engine(Config(home=genpage_home, db_path=shop_db, backend="echo"))
    try:
        with pytest.raises(CampaignError, match=r"'users': '5,000 ids'") as caught:
            run_batch(engine, campaign, tmp_path / "out", progress=False)
    finally:
        engine.close()
    assert "nobody-1@example.com" not in str(caught.value) and len(str(caught.value)) < 300
