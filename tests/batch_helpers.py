"""What the batch tests that run `genpage batch` as a process share: its command line and its manifest's count."""

from __future__ import annotations

import sqlite3
import sys
from pathlib import Path

from genpage.batch import MANIFEST

REPO = Path(__file__).resolve().parents[1]
CHRISTMAS = REPO / "examples" / "campaigns" / "christmas.yaml"


def done_pages(out: Path) -> int:
    """Pages the run in `out` has marked done so far (0 while its manifest does not exist yet)."""
    try:
        conn = sqlite3.connect(f"file:{out / MANIFEST}?mode=ro", uri=True, timeout=1)
        try:
            return conn.execute("SELECT COUNT(*) FROM pages WHERE status = 'done'").fetchone()[0]
        finally:
            conn.close()
    except sqlite3.Error:
        return 0


def batch_command(db: Path, out: Path, home: Path, *extra: str) -> list[str]:
    """`genpage batch` of the Christmas campaign with the echo backend, one user per engine call."""
    return [sys.executable, "-m", "genpage.cli", "batch", str(CHRISTMAS), "--out", str(out), "--db", str(db),
            "--home", str(home), "--backend", "echo", "--batch-size", "1", "--quiet", *extra]
