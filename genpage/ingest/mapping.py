"""Column mappings: how a file's columns become genpage fields (a dict, or a .json / .yaml / .toml file)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from genpage.errors import IngestError


@dataclass
class ColumnMapping:
    """How a file's columns become genpage fields.

    `columns`: file column -> genpage field (None or "" drops the column; for users, "attributes.NAME" files it under
    User.attributes). `constants`: field -> value for fields the file lacks (e.g. {"currency": "EUR"}).
    `kind`: products / users / events, when the columns do not make it obvious.
    """

    columns: dict[str, str | None] = field(default_factory=dict)
    constants: dict[str, Any] = field(default_factory=dict)
    kind: str | None = None

    def __post_init__(self) -> None:
        self.columns = {column: target or None for column, target in self.columns.items()}  # TOML has no null

    @classmethod
    def parse(cls, mapping: ColumnMapping | dict[str, Any] | str | Path | None) -> ColumnMapping:
        """Accept a ColumnMapping, a flat {column: field} dict, a {columns, constants, kind} dict or a file path."""
        if mapping is None:
            return cls()
        if isinstance(mapping, ColumnMapping):
            return mapping
        if isinstance(mapping, (str, Path)):
            return load_mapping(mapping)
        structured = {"columns", "constants", "kind"}
        if set(mapping) <= structured and any(isinstance(mapping.get(k), dict) for k in ("columns", "constants")):
            return cls(dict(mapping.get("columns") or {}), dict(mapping.get("constants") or {}), mapping.get("kind"))
        return cls(columns=dict(mapping))


def load_mapping(path: str | Path) -> ColumnMapping:
    """Read a mapping file (.json, .yaml/.yml or .toml): {columns: {...}, constants: {...}, kind: ...} or flat."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
        suffix = path.suffix.lower()
        if suffix == ".json":
            data = json.loads(text)
        elif suffix in (".yaml", ".yml"):
            from genpage.yamlsafe import load_yaml

            data = load_yaml(text)
        elif suffix == ".toml":
            from genpage.config import tomllib

            data = tomllib.loads(text)
        else:
            raise IngestError(f"mapping file {path}: use a .json, .yaml or .toml file", source=str(path))
    except IngestError:
        raise
    except OSError as exc:
        raise IngestError(f"cannot read mapping file {path}: {exc.strerror or exc}", source=str(path)) from exc
    except Exception as exc:  # the three parsers raise different error types
        raise IngestError(f"mapping file {path} is not valid {path.suffix[1:]}: {exc}", source=str(path)) from exc
    if not isinstance(data, dict):
        raise IngestError(f"mapping file {path} must hold a table of column -> field", source=str(path))
    return ColumnMapping.parse(data)
