"""The events a fit reads, copied out of a store file by a process of their own (genpage.rank.fitdata starts it).

    python genpage/rank/eventreader.py STORE_FILE CHUNK_ROWS OUT   # writes an Arrow IPC file of SCHEMA to OUT

Arrow's SQLite driver (ADBC) puts SQLite's rows into Arrow columns in C, CHUNK_ROWS rows at a time in rowid order,
all in one read transaction. It carries its own copy of SQLite, and two copies of SQLite in one process break each
other's POSIX locks on a file: the one that opens a WAL database second truncates the WAL index the other has mapped
(a bus error when both read at once; https://www.sqlite.org/howtocorrupt.html, 2.2.1). In a process of its own the
driver is one more reader, as any other process is. This file imports nothing from genpage, so it starts quickly.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa

FIT_COLUMNS = ("user_id", "type", "item_id", "query", "quantity", "timestamp", "session_id")
# What a chunk's columns become whatever SQLite's values were (its driver types a column by the values it sees: a
# column of NULLs only comes as int64; a quantity as int64 or, with one REAL among them, float64).
SCHEMA = pa.schema([("rowid", pa.int64()), ("id", pa.string())]
                   + [(name, pa.float64() if name == "quantity" else pa.string()) for name in FIT_COLUMNS])
SELECT = f"SELECT rowid, id, {', '.join(FIT_COLUMNS)} FROM events"


def chunks(path: Path, chunk_rows: int) -> Iterator[pa.Table]:
    """The events of the store file at `path`, chunk_rows at a time in rowid order, as tables of SCHEMA: one
    read-only connection of Arrow's SQLite driver, one read transaction (the driver's autocommit is off)."""
    import adbc_driver_sqlite
    import adbc_driver_sqlite.dbapi

    with adbc_driver_sqlite.dbapi.connect(f"{path.resolve().as_uri()}?mode=ro") as connection:
        with connection.cursor() as cursor:
            # a chunk is one batch, so the driver types each column from all of the chunk's values
            cursor.adbc_statement.set_options(**{adbc_driver_sqlite.StatementOptions.BATCH_ROWS.value:
                                                 str(chunk_rows)})  # fmt: skip
            last = 0
            while True:
                cursor.execute(f"{SELECT} WHERE rowid > ? ORDER BY rowid LIMIT ?", (last, chunk_rows))
                chunk = cursor.fetch_arrow_table()
                if not chunk.num_rows:
                    return
                last = chunk.column("rowid")[-1].as_py()
                yield chunk.cast(SCHEMA)


def main(argv: list[str]) -> int:
    path, chunk_rows, out = Path(argv[1]), int(argv[2]), Path(argv[3])
    with pa.OSFile(str(out), "wb") as sink, pa.ipc.new_file(sink, SCHEMA) as file:
        for chunk in chunks(path, chunk_rows):
            file.write_table(chunk)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
