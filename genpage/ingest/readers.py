"""Stage 1: load products, users and events into the store.

`ingest(store, source)` reads a CSV / TSV / JSONL / JSON / Parquet file (gzip allowed: `.csv.gz`, `.jsonl.gz`) or
a pandas DataFrame in chunks (`formats.CHUNK_ROWS` rows), renames columns with an optional mapping, validates each
chunk with the pydantic models in `genpage.schemas` (one list validator per chunk) and stages its valid rows in
TEMP tables (`genpage.ingest.staging`); only then does everything move into the store in ONE transaction: a bad row
refuses the whole ingest and leaves the store unchanged (or, with `skip_invalid=True`, the good rows load and the
report lists the bad ones). Memory holds one chunk, whatever the file's length.

Re-ingesting is a no-op: products and users are upserted by id, and each event is stored under a stable key,
the sha1 of its content plus an occurrence counter for identical rows within one source (two identical invoice
lines are two events; loading the file again adds none). Events may name users that have no user row (a minimal
user is created) and products that are not in the catalogue (kept, counted as a warning).

`preset="online-retail"` reads a known export with its own rules (see `genpage.ingest.presets`).
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field, TypeAdapter, ValidationError
from pydantic_core import ErrorDetails

from genpage.errors import IngestError
from genpage.ingest.formats import CHUNK_ROWS, InvalidRow, RawSource, read_source
from genpage.ingest.mapping import ColumnMapping
from genpage.ingest.presets import get_preset
from genpage.ingest.staging import Staging
from genpage.schemas import INGEST_CONTEXT, Event, Product, User
from genpage.store import Store, event_row, product_row, user_row

logger = logging.getLogger(__name__)

KINDS = ("products", "users", "events")
MODELS: dict[str, type[BaseModel]] = {"products": Product, "users": User, "events": Event}
REQUIRED = {"products": ("id", "title"), "users": ("id",), "events": ("user_id", "type", "timestamp")}
# The columns only a catalogue or only events have (users take any column as an attribute: they have none of their own)
_OWN_COLUMNS = {"products": set(Product.model_fields) - set(User.model_fields), "events": set(Event.model_fields)}


class IngestReport(BaseModel):
    """What one ingest read, loaded, skipped and refused. `summary()` is the text the CLI prints."""

    source: str
    kind: str  # products / users / events, or the preset name for a preset that fills all three
    preset: str | None = None
    rows_read: int = 0
    loaded: dict[str, int] = Field(default_factory=dict)  # rows accepted per table, events also per type
    new: dict[str, int] = Field(default_factory=dict)  # rows the store did not hold before
    skipped: dict[str, int] = Field(default_factory=dict)  # rows dropped on purpose, by reason
    invalid: list[InvalidRow] = Field(default_factory=list)  # rows refused (only kept with skip_invalid)
    warnings: list[str] = Field(default_factory=list)
    notes: list[str] = Field(default_factory=list)
    seconds: float = 0.0

    def summary(self) -> str:
        head = f"{self.source}" + (f" (preset {self.preset})" if self.preset else f" ({self.kind})")
        lines = [f"{head}: read {self.rows_read:,} rows in {self.seconds:.1f} s"]
        parts = [f"{self.loaded[t]:,} {t}" for t in KINDS if t in self.loaded]
        by_type = [f"{k.split('.', 1)[1]} {v:,}" for k, v in sorted(self.loaded.items()) if k.startswith("events.")]
        if by_type:
            parts[-1] += f" ({', '.join(by_type)})"
        if self.loaded.get("users_created"):
            parts.append(f"{self.loaded['users_created']:,} users created for events")
        lines.append("  loaded: " + (", ".join(parts) or "nothing"))
        if self.new:
            lines.append("  new in store: " + ", ".join(f"{v:,} {k}" for k, v in self.new.items()))
        if self.skipped:
            total = sum(self.skipped.values())
            detail = ", ".join(f"{k} {v:,}" for k, v in sorted(self.skipped.items(), key=lambda kv: -kv[1]))
            lines.append(f"  skipped {total:,} rows: {detail}")
        if self.invalid:
            lines.append(f"  invalid: {len(self.invalid):,} rows refused, first: {self.invalid[0]}")
        lines += [f"  note: {n}" for n in self.notes]
        lines += [f"  warning: {w}" for w in self.warnings]
        return "\n".join(lines)


# ------------------------------------------------------------------ mapping and validating rows


def _is_empty(value: Any, nan_is_missing: bool) -> bool:
    if value is None:
        return True
    if isinstance(value, str):
        return not value.strip()
    if isinstance(value, float):
        return nan_is_missing and math.isnan(value)
    return type(value).__name__ in ("NAType", "NaTType")


def _native(value: Any) -> Any:
    return value.tolist() if hasattr(value, "tolist") else value  # numpy scalars and arrays


def infer_kind(columns: Iterable[str], name: str = "") -> str:
    """products if there is a title, events if there are type + timestamp (or user_id + timestamp), else the kind the
    file is named after (products.csv ...), else users if there is an id and none of a catalogue's or events' own
    columns. A file with some of those but not their required columns is refused, naming what each kind it could be
    lacks: read as users, a catalogue without its title would load as shoppers with price attributes."""
    cols = list(dict.fromkeys(columns))
    if "title" in cols:
        return "products"
    if {"type", "timestamp"} <= set(cols) or {"user_id", "timestamp"} <= set(cols):
        return "events"
    stem = Path(name).name.split(".")[0].lower()
    if stem in KINDS:
        return stem
    could_be = [kind for kind, own in _OWN_COLUMNS.items()
                if own & set(cols) and not (kind == "events" and "id" in cols)]  # an event has no id
    if "id" in cols and not could_be:
        return "users"
    found = ", ".join(cols) or "none"
    if not could_be:
        raise IngestError(
            f"cannot tell whether {name or 'the source'} holds products, users or events from its columns "
            f"({found}); pass kind= (--kind) or map a column to id / title / timestamp",
            source=name,
        )
    options = [f"{kind} (missing {_quoted_columns([c for c in REQUIRED[kind] if c not in cols])})" for kind in could_be]
    attributes = [c for c in cols if c not in User.model_fields]
    if "id" in cols:
        options.append(f"users (with {_quoted_columns(attributes)} kept as attributes)")
    raise IngestError(
        f"cannot tell what {name or 'the source'} holds from its columns ({found}): it could be "
        f"{' or '.join(options)}; add the missing columns (or map them with a mapping, --mapping), or say which it "
        f"is with kind= (--kind)",
        source=name,
    )


def _quoted_columns(names: list[str]) -> str:
    return ("column " if len(names) == 1 else "columns ") + ", ".join(map(repr, names))


def _check_columns(raw: RawSource, kind: str, mapping: ColumnMapping) -> None:
    """Refuse a source that lacks a required column or has a column that maps to no field."""
    fields = set(MODELS[kind].model_fields)
    for column, target in mapping.columns.items():
        if target is not None and target not in fields and not (kind == "users" and target.startswith("attributes.")):
            raise IngestError(f"mapping: column {column!r} maps to {target!r}, which is not a {kind} field "
                              f"({', '.join(sorted(fields))})", source=raw.name, field=target)
    mapped = [mapping.columns.get(c, c) for c in raw.columns]
    present = {c for c in mapped if c is not None} | set(mapping.constants)
    missing = [f for f in REQUIRED[kind] if f not in present]
    if missing:
        raise IngestError(
            f"{raw.name}: missing required column {missing[0]!r} for {kind} (columns found: "
            f"{', '.join(raw.columns) or 'none'}); add it, or map a column to it with a mapping (--mapping)",
            source=raw.name, field=missing[0],
        )
    unknown = [c for c, m in zip(raw.columns, mapped, strict=True)
               if m is not None and m not in fields and kind != "users"]
    if unknown:
        raise IngestError(
            f"{raw.name}: column(s) {', '.join(map(repr, unknown))} are not {kind} fields "
            f"({', '.join(sorted(fields))}); map them to a field or drop them with a mapping, e.g. "
            f"{{{unknown[0]!r}: None}}",
            source=raw.name, field=unknown[0],
        )


def _to_fields(values: dict[str, Any], kind: str, mapping: ColumnMapping, nan_is_missing: bool) -> dict[str, Any]:
    out: dict[str, Any] = {}
    attributes: dict[str, Any] = {}
    user_fields = User.model_fields
    for column, value in values.items():
        target = mapping.columns.get(column, column)
        value = _native(value)
        if target is None or _is_empty(value, nan_is_missing):
            continue
        if kind == "users" and target.startswith("attributes."):
            attributes[target.split(".", 1)[1]] = value
        elif kind == "users" and target not in user_fields:
            attributes[target] = value
        else:
            out[target] = value
    for name, value in mapping.constants.items():
        out.setdefault(name, value)
    if kind == "users":
        given = out.get("attributes")
        if isinstance(given, str):
            try:
                given = json.loads(given)
            except json.JSONDecodeError:
                given = {"attributes": given}  # leave it to the model to refuse
        if attributes or given is not None:
            merged = dict(given) if isinstance(given, dict) else {}
            merged.update(attributes)
            out["attributes"] = {k: _attribute_text(v) for k, v in merged.items()}
    return out


def _attribute_text(value: Any) -> Any:
    """A user attribute as text; a non-finite number is left a number, for the model to refuse (not the text "inf")."""
    if isinstance(value, str) or (isinstance(value, float) and not math.isfinite(value)):
        return value
    return json.dumps(value) if isinstance(value, (list, dict)) else str(value)


def _invalid(errors: list[ErrorDetails], name: str, row: int | None, line: int | None, kind: str) -> InvalidRow:
    """One row's validation errors (their locations inside the row) as the InvalidRow that names its first."""
    first = errors[0]
    loc = [str(p) for p in first["loc"]]
    message = first["msg"]
    if not loc:  # a model-level check: name the field its message mentions
        loc = [f for f in MODELS[kind].model_fields if f in message][:1]
    extra = len(errors) - 1
    if extra:
        message += f" (and {extra} more problem{'s' if extra > 1 else ''} in this row)"
    return InvalidRow(source=name, row=row, line=line, field=".".join(loc) or None, message=message)


# One validator per kind over a whole chunk (a list of rows): the models' own checks, without a Python call per row
_CHUNK_ADAPTERS: dict[str, TypeAdapter[Any]] = {
    "products": TypeAdapter(list[Product]), "users": TypeAdapter(list[User]), "events": TypeAdapter(list[Event])}


def validate_rows(kind: str, rows: Sequence[tuple[int | None, int | None, dict[str, Any]]],
                  name: str) -> tuple[list[Any], list[InvalidRow]]:
    """Validate a chunk of (row, line, fields) with the pydantic model of `kind`: the valid models, in order, and
    an InvalidRow for each row that failed (naming file, row and field)."""
    adapter = _CHUNK_ADAPTERS[kind]
    values = [v for _, _, v in rows]
    try:
        return adapter.validate_python(values, context=INGEST_CONTEXT), []
    except ValidationError as exc:
        by_index: dict[int, list[ErrorDetails]] = {}
        for error in exc.errors():
            index, *inside = error["loc"]
            by_index.setdefault(int(index), []).append({**error, "loc": tuple(inside)})
    invalid = [_invalid(errors, name, rows[i][0], rows[i][1], kind) for i, errors in sorted(by_index.items())]
    good = [v for i, v in enumerate(values) if i not in by_index]
    return adapter.validate_python(good, context=INGEST_CONTEXT), invalid


def event_key(event: Event) -> str:
    """The sha1 of an event's content (the occurrence counter is appended by the caller)."""
    return _row_key(event_row("", event))


def _row_key(row: tuple[Any, ...]) -> str:
    """event_key of an event's store row (event_row): its timestamp already written out once, for the row too."""
    _, user_id, event_type, item_id, query, quantity, value, timestamp, rating, session_id = row
    parts = (user_id, event_type, item_id or "", query or "", str(quantity), repr(value), timestamp or "",
             repr(rating), session_id or "")
    return hashlib.sha1("\x1f".join(parts).encode("utf-8")).hexdigest()


def _keyed_event_row(event: Event) -> tuple[Any, ...]:
    row = event_row("", event)
    return (_row_key(row), *row[1:])


# ------------------------------------------------------------------ preparing and writing


@dataclass
class _Staged:
    """One source read, validated and staged (genpage.ingest.staging), not yet in the store."""

    report: IngestReport
    staging: Staging
    event_types: Counter[str] = field(default_factory=Counter)


_ROW_WRITERS: dict[str, Callable[[Any], tuple[Any, ...]]] = {
    "products": product_row, "users": user_row, "events": _keyed_event_row}


def _stage_chunk(batch: _Staged, kind: str, rows: Sequence[tuple[int | None, int | None, dict[str, Any]]],
                 name: str) -> list[InvalidRow]:
    """Validate one chunk and stage its valid rows; the invalid ones are returned."""
    valid, invalid = validate_rows(kind, rows, name)
    batch.staging.add(kind, [_ROW_WRITERS[kind](item) for item in valid])
    if kind == "events":
        batch.event_types.update(event.type for event in valid)
    return invalid


def _prepare_file(store: Store, source: Any, kind: str | None, fmt: str | None, mapping: ColumnMapping) -> _Staged:
    raw = read_source(source, fmt)
    renamed = [mapping.columns.get(c, c) for c in raw.columns]
    kind = kind or mapping.kind or infer_kind([c for c in renamed if c] + list(mapping.constants), raw.name)
    if kind not in KINDS:
        raise IngestError(f"unknown kind {kind!r}; use one of {', '.join(KINDS)}", source=raw.name)
    _check_columns(raw, kind, mapping)
    batch = _Staged(IngestReport(source=raw.name, kind=kind), Staging(store))
    try:
        for rows, malformed in raw.chunks:
            batch.report.rows_read += len(rows) + len(malformed)
            batch.report.invalid.extend(malformed)
            fields = [(r, ln, _to_fields(v, kind, mapping, raw.nan_is_missing)) for r, ln, v in rows]
            batch.report.invalid.extend(_stage_chunk(batch, kind, fields, raw.name))
    except BaseException:
        batch.staging.drop()
        raise
    batch.report.invalid.sort(key=lambda bad: bad.row or 0)
    return batch


def _prepare_preset(store: Store, source: Any, preset: str) -> _Staged:
    if not isinstance(source, (str, Path)):
        raise IngestError(f"preset {preset!r} reads a file: pass its path, not a {type(source).__name__}")
    path = Path(source)
    if not path.exists():
        raise IngestError(f"{path} does not exist", source=str(path))
    reader = get_preset(preset)(path)
    batch = _Staged(IngestReport(source=path.name, kind=preset, preset=preset), Staging(store))
    try:
        bad_events: list[InvalidRow] = []
        for event_rows, events in reader.event_chunks():
            rows = [(n, n + 1, values) for n, values in zip(event_rows, events, strict=True)]
            bad_events += _stage_chunk(batch, "events", rows, path.name)
        for kind, records in (("products", reader.products()), ("users", reader.users())):
            for start in range(0, len(records), CHUNK_ROWS):
                unplaced = [(None, None, values) for values in records[start : start + CHUNK_ROWS]]
                batch.report.invalid += _stage_chunk(batch, kind, unplaced, f"{path.name} [{kind}]")
        batch.report.invalid += bad_events
    except BaseException:
        batch.staging.drop()
        raise
    batch.report.rows_read = reader.rows_read
    batch.report.skipped = dict(reader.skipped)
    batch.report.notes = list(reader.notes)
    return batch


def _refuse_or_keep(batches: list[_Staged], skip_invalid: bool) -> None:
    bad = [row for b in batches for row in b.report.invalid]
    if bad and not skip_invalid:
        more = f" ({len(bad) - 1} more invalid rows)" if len(bad) > 1 else ""
        raise IngestError(
            f"{bad[0]}{more}; nothing was loaded: fix the file, or pass skip_invalid=True (--skip-invalid) to "
            f"load only the valid rows",
            source=bad[0].source, row=bad[0].row, field=bad[0].field,
        )
    for b in batches:
        if b.report.invalid:
            b.report.skipped["invalid"] = len(b.report.invalid)


def _table_counts(conn: Any) -> dict[str, int]:
    return {t: conn.execute(f"SELECT COUNT(*) FROM main.{t}").fetchone()[0] for t in KINDS}


def _write(store: Store, batches: list[_Staged]) -> None:
    """Move every staged batch into the store in ONE transaction (products, then users, then events of each)."""
    with store.transaction() as conn:
        for b in batches:
            before = _table_counts(conn)
            moved = b.staging.move(conn)
            report = b.report
            for kind in KINDS if report.preset else (report.kind,):
                if kind == "events":
                    report.loaded["events"] = sum(b.event_types.values())
                    report.loaded.update({f"events.{t}": n for t, n in sorted(b.event_types.items())})
                    continue
                report.loaded[kind] = moved.loaded.get(kind, 0)
                if moved.repeated.get(kind):
                    report.warnings.append(f"{moved.repeated[kind]} {kind} rows repeat an id; the last row wins")
            if moved.users_created:
                report.loaded["users_created"] = moved.users_created
            if moved.orphans:
                events, items, first = moved.orphans
                report.warnings.append(
                    f"{events:,} events name {items:,} item ids that are not in the catalogue (e.g. {first!r}); they "
                    f"are kept but those items cannot be shown"
                )
            after = _table_counts(conn)
            report.new = {t: after[t] - before[t] for t in KINDS if after[t] != before[t]}


def ingest(
    store: Store,
    source: str | Path | Any,
    *,
    kind: str | None = None,
    fmt: str | None = None,
    mapping: ColumnMapping | dict[str, Any] | str | Path | None = None,
    preset: str | None = None,
    skip_invalid: bool = False,
) -> IngestReport:
    """Validate `source` (a file path or a pandas DataFrame) and load it into `store` in one transaction.

    kind: products / users / events (inferred from the columns when None). fmt: csv / tsv / jsonl / json /
    parquet (from the extension when None). mapping: file column -> genpage field (or a mapping file). preset: a
    name in `genpage.ingest.presets.PRESETS`. Raises IngestError (store unchanged) on a malformed file or, unless
    skip_invalid, on any invalid row.
    """
    started = time.perf_counter()
    if preset is not None:
        if kind or fmt or mapping:
            raise IngestError(f"preset {preset!r} reads its own columns: drop kind/format/mapping (--kind, --format, "
                              f"--mapping) when using it")
        batch = _prepare_preset(store, source, preset)
    else:
        batch = _prepare_file(store, source, kind, fmt, ColumnMapping.parse(mapping))
    try:
        _refuse_or_keep([batch], skip_invalid)
        _write(store, [batch])
    finally:
        batch.staging.drop()
    batch.report.seconds = round(time.perf_counter() - started, 3)
    logger.info("ingested %s: %s", batch.report.source, batch.report.loaded)
    return batch.report


def shop_files(folder: str | Path) -> dict[str, Path]:
    """The products / users / events files of a shop folder (e.g. products.csv, events.jsonl)."""
    folder = Path(folder)
    if not folder.is_dir():
        raise IngestError(f"{folder} is not a folder", source=str(folder))
    found: dict[str, Path] = {}
    for path in sorted(folder.iterdir()):
        stem = path.name.split(".")[0].lower()
        if stem not in KINDS or not path.is_file():
            continue
        if stem in found:
            raise IngestError(f"{folder} has two {stem} files ({found[stem].name}, {path.name}); keep one",
                              source=str(folder))
        found[stem] = path
    if not found:
        raise IngestError(f"{folder} holds no products.*, users.* or events.* file (.csv, .jsonl, .parquet ...)",
                          source=str(folder))
    return {k: found[k] for k in KINDS if k in found}


@dataclass
class ShopReport:
    """The reports of a shop folder's files (iterate over it for each file's IngestReport)."""

    folder: str
    reports: list[IngestReport]
    seconds: float = 0.0

    def __iter__(self) -> Iterator[IngestReport]:
        return iter(self.reports)

    def __len__(self) -> int:
        return len(self.reports)

    def summary(self) -> str:
        head = f"{self.folder}: {len(self.reports)} files loaded in one transaction in {self.seconds:.1f} s"
        return "\n".join([head] + [r.summary() for r in self.reports])


def ingest_directory(store: Store, folder: str | Path, *, skip_invalid: bool = False) -> ShopReport:
    """Load a shop folder (products.*, users.*, events.*, each optional) in ONE transaction; one report per file."""
    started = time.perf_counter()
    batches: list[_Staged] = []
    try:
        for kind, path in shop_files(folder).items():
            file_started = time.perf_counter()
            batches.append(_prepare_file(store, path, kind, None, ColumnMapping()))
            batches[-1].report.seconds = round(time.perf_counter() - file_started, 3)  # reading and validating
        _refuse_or_keep(batches, skip_invalid)
        _write(store, batches)
    finally:
        for batch in batches:
            batch.staging.drop()
    return ShopReport(str(folder), [b.report for b in batches], round(time.perf_counter() - started, 3))
