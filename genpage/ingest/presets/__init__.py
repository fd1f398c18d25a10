"""Presets: readers for known real-world exports that give products, users and events from one file.

A preset is a function `load(path) -> PresetRows`. It turns the export into plain field dictionaries (already
cleaned and filtered, with every dropped line counted by reason); `genpage.ingest.readers` validates them with the
pydantic models and writes them in one transaction. Register a new preset by adding it to `PRESETS`.
"""

from __future__ import annotations

from pathlib import Path

from genpage.errors import IngestError
from genpage.ingest.presets.base import Preset, PresetRows

__all__ = ["PRESETS", "Preset", "PresetRows", "get_preset"]




def _online_retail(path: Path) -> PresetRows:
    from genpage.ingest.presets.online_retail import load

    return load(path)


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
