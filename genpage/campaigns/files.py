"""Campaign files (YAML or TOML) read into the Campaign model, with errors that name the line and the field."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from genpage.errors import CampaignError
from genpage.schemas import Campaign
from genpage.yamlsafe import YamlRefusedError, load_yaml_document

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

MAX_PROBLEMS = 10  # validation problems listed in one error (an audience of 200,000 bad ids would list them all)
LineOf = Callable[[tuple[str, ...]], "int | None"]  # the 1-based line of a key path, if known


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


def _read(text: str, source: str, fmt: str) -> tuple[Any, LineOf]:
    """(data, the line of a key path) of campaign text; CampaignError for text that is not YAML/TOML or that
    the YAML reader refuses (anchors, aliases, deep nesting)."""
    import yaml

    try:
        if fmt == "toml":
            lines = _toml_lines(text)
            return tomllib.loads(text), lines.get
        document = load_yaml_document(text)
        return document.data, document.line_of
    except YamlRefusedError as exc:
        raise CampaignError(f"{source}: {exc}") from exc
    except RecursionError as exc:  # tomllib has no depth limit: [[[[...]]]] thousands deep
        raise CampaignError(f"{source}: not valid {fmt.upper()}: nested too deeply") from exc
    except (yaml.YAMLError, ValueError) as exc:  # TOMLDecodeError is a ValueError; YAML errors carry a mark
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc) or type(exc).__name__
        raise CampaignError(f"{source}: {where}not valid {fmt.upper()}: {problem}") from exc


def parse_campaign(text: str, *, source: str = "<campaign>", fmt: str = "yaml") -> Campaign:
    """Parse campaign text; CampaignError names `source`, the line and the field on any problem."""
    data, line_of = _read(text, source, fmt)
    if not isinstance(data, dict):
        raise CampaignError(f"{source}: a campaign file must hold a mapping of fields (name, brief, audience ...)")
    prefix: tuple[str, ...] = ()
    if isinstance(data.get("campaign"), dict) and len(data) == 1:
        data, prefix = data["campaign"], ("campaign",)
    try:
        return Campaign.model_validate(data)
    except ValidationError as exc:
        errors = exc.errors()
        problems = []
        for err in errors[:MAX_PROBLEMS]:
            path = tuple(str(p) for p in err["loc"])
            line = next((n for n in (line_of(prefix + path[:k]) for k in range(len(path), 0, -1)) if n), None)
            where = f"line {line}, " if line else ""
            problems.append(f"{source}: {where}field '{'.'.join(path) or '(top)'}': {err['msg']}")
        if len(errors) > MAX_PROBLEMS:
            problems.append(f"{source}: ... and {len(errors) - MAX_PROBLEMS} more")
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
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise CampaignError(f"{path}: not UTF-8 text (byte {exc.start}): save the file as UTF-8") from exc
    except OSError as exc:
        raise CampaignError(f"cannot read campaign file {path}: {exc.strerror or exc}") from exc
    return parse_campaign(text, source=str(path), fmt=fmt)
