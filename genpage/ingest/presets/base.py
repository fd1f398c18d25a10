"""What a preset gives: a reader that streams an export's events in chunks, then its products and users, and what
it dropped."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

EventChunk = tuple[list[int], list[dict[str, Any]]]  # the 1-based data rows of the source lines, their event fields


class PresetReader:
    """One export read as a stream. Iterate `event_chunks()` once, first: it reads the file a chunk at a time,
    keeping only the per-product and per-customer tallies it needs; then `products()` and `users()` give those
    tables' rows, and `rows_read`, `skipped` (reason -> lines) and `notes` say what was read and dropped."""

    def __init__(self) -> None:
        self.rows_read = 0
        self.skipped: dict[str, int] = {}
        self.notes: list[str] = []

    def event_chunks(self) -> Iterator[EventChunk]:
        raise NotImplementedError

    def products(self) -> list[dict[str, Any]]:
        raise NotImplementedError

    def users(self) -> list[dict[str, Any]]:
        raise NotImplementedError


@dataclass
class PresetRows:
    """A whole export in memory (`collect`): rows for each table, and what it dropped (reason -> number of lines)."""

    products: list[dict[str, Any]]
    users: list[dict[str, Any]]
    events: list[dict[str, Any]]
    event_rows: list[int]  # the 1-based data row of the source line each event came from
    rows_read: int
    skipped: dict[str, int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def collect(reader: PresetReader) -> PresetRows:
    """Read a preset's whole stream into lists (for a small file, or code that wants every row at once)."""
    events: list[dict[str, Any]] = []
    event_rows: list[int] = []
    for rows, chunk in reader.event_chunks():
        event_rows += rows
        events += chunk
    return PresetRows(reader.products(), reader.users(), events, event_rows, reader.rows_read, dict(reader.skipped),
                      list(reader.notes))


Preset = Callable[[Path], PresetReader]
