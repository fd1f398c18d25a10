"""The events a ranker fit reads, straight from the store: only the columns it uses, without a full-table fetch.

    events = fit_events(store)   # user_id, type, item_id, query, quantity, timestamp, session_id

The frame is the one `Store.events_frame` returns less the columns the fit never reads (id, value, rating), in the
same order (time, then id) and with the timestamps parsed as it parses them, so a fit on it is the same fit.
A store in a file is read through Arrow's SQLite driver (ADBC), in a child process (genpage/rank/eventreader.py:
the driver's own copy of SQLite must not share a process with Python's): SQLite's rows go into Arrow columns in C,
in rowid chunks of CHUNK_ROWS, all in one read transaction, so rows written while it reads are left out, and come
back as an Arrow file mapped into this process. Python's `sqlite3` makes a Python object of every cell first. On
16 x Online Retail (6.5 M events; one machine, three runs) its read took 75-113 s; the driver's in this process
16.5-24 s, with the same frame, and 1.8 GB at its peak where the old one took 1.7 GB.
The chunks are ordered in the frame (`_frame`); the memory Arrow's allocator kept for them is given back at the end.
An in-memory store (`Store(":memory:")`) has no file for a second connection: it is read through its own
connection, in one query.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from genpage.rank import eventreader
from genpage.rank.eventreader import FIT_COLUMNS, SCHEMA, SELECT
from genpage.resources import map_threads

if TYPE_CHECKING:
    from genpage.store import Store

CHUNK_ROWS = 500_000


def fit_events(store: Store, chunk_rows: int = CHUNK_ROWS) -> pd.DataFrame:
    """The store's events (FIT_COLUMNS), ordered by time, then id; rows written while it reads are left out."""
    if str(store.path) == ":memory:":
        rows = store.query(SELECT)
        columns = list(zip(*rows, strict=True)) or [()] * len(SCHEMA)
        del rows
        chunks = [pa.table([pa.array(values, type=field.type) for values, field in zip(columns, SCHEMA, strict=True)],
                           schema=SCHEMA)]  # fmt: skip
        del columns
    else:
        chunks = list(_file_chunks(store.path, chunk_rows))
    table = pa.concat_tables(chunks) if chunks else SCHEMA.empty_table()
    chunks.clear()
    frame = _frame(table.drop_columns(["rowid"]))
    del table
    # Arrow's allocator keeps the pages the chunks and the unordered table were in, and the fit's numpy arrays come
    # on top of them: give them back (on 4 x Online Retail the process falls from 0.62 to 0.34 GB after the read).
    give_back_memory()
    return frame


def _file_chunks(path: Path, chunk_rows: int) -> Iterator[pa.Table]:
    """The events of the store file at `path`, chunk_rows at a time in rowid order, as tables of SCHEMA, read in one
    read transaction by genpage/rank/eventreader.py in a child process (why a child: its docstring). The child writes
    an Arrow file, mapped here once it is done (no copy; streaming it through a pipe made the read of 16 x Online
    Retail some 6 s slower beside a fit's other threads); the file is removed at once, its pages freed with the last
    chunk."""
    with tempfile.TemporaryDirectory(prefix="genpage-events-") as folder:
        out = Path(folder) / "events.arrow"
        command = [sys.executable, eventreader.__file__, str(path), str(chunk_rows), str(out)]
        done = subprocess.run(command, capture_output=True, check=False)  # noqa: S603 - our own script, no shell
        if done.returncode != 0:
            raise RuntimeError(f"reading the events of {path} failed: "
                               f"{done.stderr.decode(errors='replace').strip()[-2000:]}")  # fmt: skip
        mapped = pa.ipc.open_file(pa.memory_map(str(out)))
    for number in range(mapped.num_record_batches):
        yield pa.Table.from_batches([mapped.get_batch(number)])


def give_back_memory() -> None:
    """Hand the memory that the allocators keep after large frees back to the system: Arrow's pool, and the C heap
    (glibc's malloc_trim; nothing elsewhere). A fit calls it after the read and after training: on 4 x Online
    Retail the trim after training takes the process from 0.81 to 0.46 GB, so the full history is built on a
    lower base instead of next to free but held pages."""
    pa.default_memory_pool().release_unused()
    trim = _malloc_trim()
    if trim is not None:
        trim(0)


@functools.cache
def _malloc_trim() -> Any:
    try:
        return ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").malloc_trim
    except (OSError, AttributeError):  # not glibc
        return None


def _frame(table: pa.Table) -> pd.DataFrame:
    """The table's FIT_COLUMNS as one frame, its rows ordered by time, then id. The timestamps are parsed first and
    ordered as numbers, the ids by their ranks (Arrow sorting the timestamps as text took 11 s of 6.5 M; ranking the
    ids 1.7 s): for the timestamps the store writes (`iso_time`: one format, no zone) that is SQLite's `ORDER BY
    timestamp, id`. The parse and the ranks, then the columns' reorderings, run on two threads (Arrow's and numpy's
    work releases the GIL); each Arrow column is let go once it is in the frame, so the events are never held
    twice."""
    columns = {name: table.column(name) for name in table.column_names}
    del table

    def parsed(name: str) -> np.ndarray:
        column = columns.pop(name)
        if name == "id":
            return pc.rank(column, sort_keys="ascending", tiebreaker="first").to_numpy()
        return pd.to_datetime(column.to_pandas()).to_numpy()

    times, ids = map_threads(parsed, ["timestamp", "id"], 2)
    order = np.lexsort((ids, times.view(np.int64)))
    del ids
    take = pa.array(order)

    def ordered(name: str) -> pd.Series:
        if name == "timestamp":
            return pd.Series(times[order], name="timestamp")
        column = columns.pop(name)
        return column.take(take).to_pandas()

    series = dict(zip(FIT_COLUMNS, map_threads(ordered, FIT_COLUMNS, 2), strict=True))
    return pd.DataFrame({name: series[name] for name in FIT_COLUMNS}, copy=False)


def normalise_events(events: pd.DataFrame) -> pd.DataFrame:
    """`events` (a fit's frame, or one a caller made) with text ids and parsed timestamps: a new frame whose columns
    share the caller's data where they are already so (no copy of the whole frame)."""
    frame = events.copy(deep=False)
    frame["user_id"] = frame["user_id"].astype(str)
    if "item_id" in frame:
        frame["item_id"] = frame["item_id"].where(frame["item_id"].isna(), frame["item_id"].astype(str))
    frame["timestamp"] = pd.to_datetime(frame["timestamp"])
    return frame
