"""Campaign files (YAML or TOML) read into the Campaign model, with errors that name the line and the field."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from genpage.errors import CampaignError
from genpage.schemas import Campaign

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib


def _yaml_lines(text: str) -> dict[tuple[str, ...], int]:
    """Map each key path in a YAML document to its 1-based line, for error messages."""
    import yaml

    lines: dict[tuple[str, ...], int] = {}

    def walk(node: Any, path: tuple[str, ...]) -> None:
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                sub = (*path, str(key.value))
                lines[sub] = key.start_mark.line + 1
                walk(value, sub)
        elif isinstance(node, yaml.SequenceNode):
            for index, value in enumerate(node.value):
                sub = (*path, str(index))
                lines[sub] = value.start_mark.line + 1
                walk(value, sub)

    walk(yaml.compose(text), ())
    return lines


def _toml_lines(text: str) -> dict[tuple[str, ...], int]:
    """Best effort for TOML: the line of each `key =` and `[table]` (tomllib keeps no positions)."""
    lines: dict[tuple[str, ...], int] = {}
    table: tuple[str, ...] = ()
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if line.startswith("[") and line.endswith("]"):
            table = tuple(part.strip() for part in line.strip("[]").split("."))
            lines[table] = number
        elif "=" in line and not line.startswith("#"):
            lines[(*table, line.split("=", 1)[0].strip())] = number
    return lines


def parse_campaign(text: str, *, source: str = "<campaign>", fmt: str = "yaml") -> Campaign:
    """Parse campaign text; CampaignError names `source`, the line and the field on any problem."""
    try:
        if fmt == "toml":
            data = tomllib.loads(text)
            lines = _toml_lines(text)
        else:
            import yaml

            data = yaml.safe_load(text)
            lines = _yaml_lines(text) if data else {}
    except Exception as exc:  # yaml.YAMLError / TOMLDecodeError carry their own position
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise CampaignError(f"{source}: {where}not valid {fmt.upper()}: {problem}") from exc
    if not isinstance(data, dict):
        raise CampaignError(f"{source}: a campaign file must hold a mapping of fields (name, brief, audience ...)")
    if isinstance(data.get("campaign"), dict) and len(data) == 1:
        data = data["campaign"]
        lines = {path[1:]: n for path, n in lines.items() if path[:1] == ("campaign",)}
    try:
        return Campaign.model_validate(data)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            path = tuple(str(p) for p in err["loc"])
            line = next((lines[path[:n]] for n in range(len(path), 0, -1) if path[:n] in lines), None)
            where = f"line {line}, " if line else ""
            problems.append(f"{source}: {where}field '{'.'.join(path) or '(top)'}': {err['msg']}")
        raise CampaignError("\n".join(problems)) from exc


def as_campaign(campaign: Campaign | str | Path | None) -> Campaign | None:
    """A Campaign as it is, or read from its file; None stays None."""
    if campaign is None or isinstance(campaign, Campaign):
        return campaign
    return load_campaign(campaign)


def load_campaign(path: str | Path) -> Campaign:
    """Read a campaign from a .yaml/.yml/.toml file."""
    path = Path(path)
    if not path.is_file():
        raise CampaignError(f"campaign file {path} does not exist")
    fmt = "toml" if path.suffix.lower() == ".toml" else "yaml"
    return parse_campaign(path.read_text(encoding="utf-8"), source=str(path), fmt=fmt)
