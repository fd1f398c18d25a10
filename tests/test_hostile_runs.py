"""Runs that go wrong on purpose (issue 18): a batch whose parent is killed with SIGKILL must take its worker
processes with it, and a second run must not write into a folder a live run holds; a mistyped or empty store is
one clear line on stderr (exit 1) or the cold-start page, never a new empty store and a traceback."""

from __future__ import annotations

import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from genpage.batch import MANIFEST
from genpage.ingest import ingest_directory
from genpage.store import Store

REPO = Path(__file__).resolve().parents[1]
SHOP = REPO / "examples" / "shop"
CHRISTMAS = REPO / "examples" / "campaigns" / "christmas.yaml"
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


def _done(out: Path) -> int:
    try:
        conn = sqlite3.connect(f"file:{out / MANIFEST}?mode=ro", uri=True, timeout=1)
        try:
            return conn.execute("SELECT COUNT(*) FROM pages WHERE status = 'done'").fetchone()[0]
        finally:
            conn.close()
    except sqlite3.Error:
        return 0


def _batch_command(db: Path, out: Path, home: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "genpage.cli", "batch", str(CHRISTMAS), "--out", str(out), "--db", str(db),
            "--home", str(home), "--backend", "echo", "--batch-size", "1", "--quiet", *extra]


# ---------------------------------------------------------------------- 1. kill -9 of a batch with workers
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_sigkill_of_the_batch_parent_takes_its_workers_and_the_resource_tracker(shop_db, genpage_home, tmp_path):
    db = tmp_path / "shop.sqlite"
    shutil.copy(shop_db, db)
    out = tmp_path / "killed"
    proc = subprocess.Popen(_batch_command(db, out, genpage_home, "--workers", "2"), env=ENV, cwd=REPO,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    children: set[int] = set()
    try:
        deadline = time.monotonic() + 120
        # Both workers are building pages once more than the first chunk (which runs alone) is done.
        while _done(out) < 4 and proc.poll() is None and time.monotonic() < deadline:
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
    resumed = subprocess.run(_batch_command(db, out, genpage_home, "--resume"), env=ENV, cwd=REPO,
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
