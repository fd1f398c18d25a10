"""Presets: readers for known real-world exports that give products, users and events from one file.

A preset is a function `(path) -> PresetReader`: the reader turns the export, a chunk at a time, into plain field
dictionaries (already cleaned and filtered, with every dropped line counted by reason); `genpage.ingest.readers`
validates them with the pydantic models, stages them and writes them in one transaction. Register a new preset by
adding it to `PRESETS`.
"""

from __future__ import annotations

from pathlib import Path

from genpage.errors import IngestError
from genpage.ingest.presets.base import Preset, PresetReader, PresetRows, collect

__all__ = ["PRESETS", "Preset", "PresetReader", "PresetRows", "collect", "get_preset"]


def _online_retail(path: Path) -> PresetReader:
    from genpage.ingest.presets.online_retail import OnlineRetailReader

    return OnlineRetailReader(path)


PRESETS: dict[str, Preset] = {
    "online-retail": _online_retail,
}


def get_preset(name: str) -> Preset:
    """The preset called `name`; the error lists the known ones."""
    try:
        return PRESETS[name]
    except KeyError:
        known = ", ".join(sorted(PRESETS))
        raise IngestError(f"unknown preset {name!r}; known presets: {known}") from None
