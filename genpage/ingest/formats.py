"""Reading a source into rows: CSV / TSV / JSONL / JSON / Parquet files (gzip allowed) and pandas DataFrames.

Every row keeps where it came from (its 1-based data row and, in text formats, its line), so a bad row is named by
file, row and field. A row that cannot be read (a ragged CSV line, a bad JSON line, bytes that are not UTF-8) is an
`InvalidRow`, refused or skipped like a row that fails validation.
"""

from __future__ import annotations

import csv
import gzip
import itertools
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from genpage.errors import IngestError

FORMATS = ("csv", "tsv", "jsonl", "json", "parquet")
_SUFFIXES = {".csv": "csv", ".tsv": "tsv", ".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "json",
             ".parquet": "parquet", ".pq": "parquet"}


class InvalidRow(BaseModel):
    """One row that failed validation: where it is and what is wrong with it."""

    source: str
    row: int | None = None  # 1-based data row (the header is not a row)
    line: int | None = None  # 1-based line of the file where the row starts (text formats)
    field: str | None = None
    message: str

    @property
    def where(self) -> str:
        text = self.source
        if self.row is not None:
            text += f" row {self.row}"
            if self.line is not None:
                text += f" (line {self.line})"
        if self.field:
            text += f", field {self.field!r}"
        return text

    def __str__(self) -> str:
        return f"{self.where}: {self.message}"


Row = tuple[int, "int | None", dict[str, Any]]  # (1-based data row, line or None, values)
Chunk = tuple[list[Row], list[InvalidRow]]  # rows read, rows that could not be read
CHUNK_ROWS = 20_000  # rows per chunk: what an ingest holds in memory at once, whatever the file's length


@dataclass
class RawSource:
    """What a reader got from a source: its columns and its rows, in chunks (each: the rows it read and the rows it
    could not). `chunks` is read once; `columns` are the header's (CSV, Parquet, a frame) or, for JSONL, the keys of
    the rows up to the first chunk that had a readable row."""

    name: str
    columns: list[str]
    chunks: Iterator[Chunk]
    nan_is_missing: bool = False  # pandas marks a missing value NaN; in a text file NaN is a value (and refused)


def detect_format(path: Path) -> str:
    """The format of a file from its extension (a trailing .gz is looked through)."""
    suffixes = [s.lower() for s in path.suffixes]
    if suffixes and suffixes[-1] == ".gz":
        suffixes = suffixes[:-1]
    fmt = _SUFFIXES.get(suffixes[-1]) if suffixes else None
    if fmt is None:
        raise IngestError(
            f"cannot tell the format of {path.name} from its extension; name it .csv, .tsv, .jsonl, .json or "
            f".parquet (optionally .gz), or pass fmt= (--format) one of {', '.join(FORMATS)}",
            source=str(path),
        )
    return fmt


def _open_text(path: Path) -> Any:
    # surrogateescape: a byte that is not UTF-8 is kept (as U+DC80..U+DCFF) and reported with its row and field,
    # rather than a decoder error at a byte offset into whichever chunk it was reading
    if path.name.lower().endswith(".gz"):
        return gzip.open(path, "rt", encoding="utf-8-sig", errors="surrogateescape", newline="")
    return path.open("r", encoding="utf-8-sig", errors="surrogateescape", newline="")


_UNDECODED = re.compile("[\udc80-\udcff]")


def _undecoded_byte(value: Any) -> int | None:
    """The first byte of a value that was not UTF-8 (kept by surrogateescape), else None."""
    if isinstance(value, str):
        found = _UNDECODED.search(value)
        return ord(found.group()) - 0xDC00 if found else None
    if isinstance(value, dict):
        value = [*value.keys(), *value.values()]
    if isinstance(value, list):
        return next((byte for v in value if (byte := _undecoded_byte(v)) is not None), None)
    return None


def _not_utf8(values: dict[str, Any], name: str, row: int, line: int | None) -> InvalidRow | None:
    """An invalid row naming the first field with a byte that is not UTF-8, or None when the row is clean."""
    for column, value in values.items():
        byte = _undecoded_byte(column)
        byte = _undecoded_byte(value) if byte is None else byte
        if byte is not None:
            readable = column.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
            return InvalidRow(source=name, row=row, line=line, field=readable,
                              message=f"the value is not UTF-8 text (byte 0x{byte:02x}); re-save the file as UTF-8")
    return None


# The csv module's own limit (131,072 characters) stops the whole file at a long field; past this one the schema's
# text limits (genpage.schemas.MAX_*_CHARS) refuse just the row.
CSV_FIELD_LIMIT = 2**31 - 1


def _read_csv(path: Path, delimiter: str) -> tuple[list[str], Iterator[Chunk]]:
    fh = _open_text(path)
    try:
        reader = csv.reader(fh, delimiter=delimiter)
        previous = csv.field_size_limit(CSV_FIELD_LIMIT)
        try:
            header = [h.strip() for h in next(reader, [])]
        finally:
            csv.field_size_limit(previous)
    except BaseException:
        fh.close()
        raise
    if not any(header):
        fh.close()
        raise IngestError(f"{path.name} is empty: the first line must name the columns", source=path.name)
    byte = _undecoded_byte(header)
    if byte is not None:
        fh.close()
        raise IngestError(f"{path.name} line 1 (the header) is not UTF-8 text (byte 0x{byte:02x}); re-save the file "
                          f"as UTF-8", source=path.name)
    return header, _chunked(_csv_rows(fh, reader, header, path.name))


def _chunked(outcomes: Iterator[Row | InvalidRow]) -> Iterator[Chunk]:
    """Rows read and rows refused, `CHUNK_ROWS` of them a chunk (the last one may be empty)."""
    rows: list[Row] = []
    malformed: list[InvalidRow] = []
    for outcome in outcomes:
        if isinstance(outcome, InvalidRow):
            malformed.append(outcome)
        else:
            rows.append(outcome)
        if len(rows) + len(malformed) >= CHUNK_ROWS:
            yield rows, malformed
            rows, malformed = [], []
    yield rows, malformed


def _csv_rows(fh: Any, reader: Any, header: list[str], name: str) -> Iterator[Row | InvalidRow]:
    last_line, row = reader.line_num, 0
    with fh:
        while True:
            previous = csv.field_size_limit(CSV_FIELD_LIMIT)
            try:
                record = next(reader, None)
            except csv.Error as exc:
                raise IngestError(f"{name} row {row + 1} (line {last_line + 1}): cannot read it as CSV: {exc}",
                                  source=name, row=row + 1) from exc
            finally:
                csv.field_size_limit(previous)
            if record is None:
                return
            start, last_line = last_line + 1, reader.line_num
            if not any(cell.strip() for cell in record):
                continue
            row += 1
            if len(record) != len(header):
                yield InvalidRow(source=name, row=row, line=start,
                                 message=f"has {len(record)} values but the header has {len(header)}")
            else:
                values = dict(zip(header, record, strict=True))
                yield _not_utf8(values, name, row, start) or (row, start, values)


_JSON_TYPES = {list: "an array", str: "a string", int: "a number", float: "a number", bool: "true or false",
               type(None): "null"}  # fmt: skip


def _jsonl_rows(path: Path) -> Iterator[Row | InvalidRow]:
    with _open_text(path) as fh:
        row = 0
        for line_no, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            row += 1
            try:
                value = json.loads(line)
            except json.JSONDecodeError as exc:
                yield InvalidRow(source=path.name, row=row, line=line_no,
                                 message=f"bad JSON: {exc.msg} at column {exc.colno}")
                continue
            if not isinstance(value, dict):
                yield InvalidRow(source=path.name, row=row, line=line_no,
                                 message=f"expected a JSON object, got {_JSON_TYPES.get(type(value), 'a value')}")
            else:
                yield _not_utf8(value, path.name, row, line_no) or (row, line_no, value)


def _read_json(path: Path) -> tuple[list[str], Iterator[Chunk]]:
    """A JSON array is parsed whole (it cannot be read in pieces); its rows are still validated in chunks."""
    with _open_text(path) as fh:
        data = json.load(fh)
    if not isinstance(data, list) or not all(isinstance(v, dict) for v in data):
        raise IngestError(f"{path.name} must hold a JSON array of objects (or use .jsonl)", source=str(path))
    rows: list[Row] = []
    malformed: list[InvalidRow] = []
    for row, values in enumerate(data, start=1):
        bad = _not_utf8(values, path.name, row, None)
        if bad:
            malformed.append(bad)
        else:
            rows.append((row, None, values))
    columns = list(dict.fromkeys(k for _, _, v in rows for k in v))
    return columns, iter([(rows, malformed)])


def _frame_rows(frame: Any, first_row: int) -> list[Row]:
    records = frame.to_dict("records")
    return [(i, None, {str(k): v for k, v in r.items()}) for i, r in enumerate(records, start=first_row)]


def _frame_chunks(frame: Any) -> Iterator[Chunk]:
    for start in range(0, len(frame), CHUNK_ROWS):
        yield _frame_rows(frame.iloc[start : start + CHUNK_ROWS], start + 1), []


def _parquet_chunks(parquet: Any) -> Iterator[Chunk]:
    import pyarrow as pa

    row = 1
    for batch in parquet.iter_batches(batch_size=CHUNK_ROWS):
        # through a Table, so pandas' metadata applies as pd.read_parquet applies it (a saved index is not a column)
        yield _frame_rows(pa.Table.from_batches([batch], parquet.schema_arrow).to_pandas(), row), []
        row += batch.num_rows


def read_source(source: Any, fmt: str | None) -> RawSource:
    if not isinstance(source, (str, Path)):
        if hasattr(source, "to_dict") and hasattr(source, "columns"):
            return RawSource("DataFrame", [str(c) for c in source.columns], _frame_chunks(source), nan_is_missing=True)
        raise IngestError(f"cannot ingest a {type(source).__name__}: pass a file path or a pandas DataFrame")
    path = Path(source)
    if path.is_dir():
        raise IngestError(f"{path} is a folder: load a shop folder (products.*, users.*, events.*) with "
                          f"ingest_directory()", source=str(path))
    if not path.exists():
        raise IngestError(f"{path} does not exist", source=str(path))
    fmt_from = "fmt= (--format) asked for" if fmt else "its extension names"
    fmt = (fmt or detect_format(path)).lower()
    if fmt not in FORMATS:
        raise IngestError(f"unknown format {fmt!r}; use one of {', '.join(FORMATS)}", source=str(path))
    raw = _read_path(path, fmt)
    # read up to the first chunk with a readable row: not one (e.g. --format jsonl on a CSV file) leaves no columns
    # to go by, and JSONL names its columns in its rows
    primed: list[Chunk] = []
    for chunk in raw.chunks:
        primed.append(chunk)
        if chunk[0]:
            break
    malformed = [bad for _, bad_rows in primed for bad in bad_rows]
    if malformed and not any(rows for rows, _ in primed):
        first = malformed[0]
        hint = "" if first.field else f", the format {fmt_from}; is it really {fmt}?"  # unparsed, not bad text
        raise IngestError(f"{first}; not one row of {path.name} could be read as {fmt}{hint}",
                          source=first.source, row=first.row, field=first.field)
    if fmt == "jsonl":
        raw.columns = list(dict.fromkeys(k for rows, _ in primed for _, _, values in rows for k in values))
    raw.chunks = _guarded(itertools.chain(primed, raw.chunks), path, fmt)
    return raw


def _guarded(chunks: Iterator[Chunk], path: Path, fmt: str) -> Iterator[Chunk]:
    try:
        yield from chunks
    except IngestError:
        raise
    except Exception as exc:  # JSON, pyarrow, gzip and OS errors: the file is not what its name says
        raise IngestError(f"cannot read {path.name} as {fmt}: {exc}", source=str(path)) from exc


def _read_path(path: Path, fmt: str) -> RawSource:
    try:
        if fmt in ("csv", "tsv"):
            columns, chunks = _read_csv(path, "\t" if fmt == "tsv" else ",")
            return RawSource(path.name, columns, _guarded(chunks, path, fmt))
        if fmt == "jsonl":
            return RawSource(path.name, [], _guarded(_chunked(_jsonl_rows(path)), path, fmt))
        if fmt == "json":
            columns, chunks = _read_json(path)
            return RawSource(path.name, columns, chunks)
        import pyarrow.parquet as pq

        parquet = pq.ParquetFile(path)
        columns = [str(c) for c in parquet.schema_arrow.empty_table().to_pandas().columns]
        return RawSource(path.name, columns, _guarded(_parquet_chunks(parquet), path, fmt), nan_is_missing=True)
    except IngestError:
        raise
    except Exception as exc:  # JSON, pyarrow, gzip and OS errors: the file is not what its name says
        raise IngestError(f"cannot read {path.name} as {fmt}: {exc}", source=str(path)) from exc
