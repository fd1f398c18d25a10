"""What a preset returns: plain field dictionaries for each table, and what it dropped."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass
class PresetRows:
    """What a preset read from its file: rows for each table, and what it dropped (reason -> number of lines)."""

    products: list[dict[str, Any]]
    users: list[dict[str, Any]]
    events: list[dict[str, Any]]
    event_rows: list[int]  # the 1-based data row of the source line each event came from
    rows_read: int
    skipped: dict[str, int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


Preset = Callable[[Path], PresetRows]
