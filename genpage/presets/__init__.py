"""Presets: readers for known real-world exports that give products, users and events from one file.

A preset is a function `load(path) -> PresetRows`. It turns the export into plain field dictionaries (already
cleaned and filtered, with every dropped line counted by reason); `genpage.ingest` validates them with the
pydantic models and writes them in one transaction. Register a new preset by adding it to `PRESETS`.
"""

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


def _online_retail(path: Path) -> PresetRows:
    from genpage.presets.online_retail import load

    return load(path)


PRESETS: dict[str, Preset] = {
    "online-retail": _online_retail,
}


def get_preset(name: str) -> Preset:
    """The preset called `name`; the error lists the known ones."""
    from genpage.errors import IngestError

    try:
        return PRESETS[name]
    except KeyError:
        known = ", ".join(sorted(PRESETS))
        raise IngestError(f"unknown preset {name!r}; known presets: {known}") from None
