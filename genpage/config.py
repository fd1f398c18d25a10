"""One Config for genpage: defaults, then a genpage.toml, then GENPAGE_* environment variables, then arguments.

Also the one way genpage reads a YAML file it is handed (campaigns, column mappings): `load_yaml_document`.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from genpage.errors import ConfigError, GenpageError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib
from genpage.schemas import CopyLevel


def default_home() -> Path:
    """GENPAGE_HOME, else the user's cache dir (e.g. ~/.cache/genpage)."""
    env = os.environ.get("GENPAGE_HOME")
    if env:
        return Path(env).expanduser()
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("genpage", appauthor=False))


class Config(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    home: Path = Field(default_factory=default_home)
    db_path: Path | None = None  # default: <home>/genpage.sqlite
    encoder: str = "minilm"  # registry name, local path or hub id
    generator: str = "qwen2.5-1.5b-instruct"  # registry name, local path or hub id (chosen by copy quality)
    backend: str = "local"  # a name in genpage.backends' registry: local, llamacpp, openai, echo ...
    device: Literal["auto", "cpu", "cuda"] = "auto"
    precision: Literal["auto", "fp32", "bf16", "fp16", "int8"] = "auto"
    copy_level: CopyLevel = "segment"
    copy_candidates: int = Field(default=1, ge=1, le=8)  # answers weighed per section: greedy, then samples
    shop_name: str = "genpage shop"
    locale: str = "en-GB"
    sections: int = Field(default=5, ge=1, le=12)
    items_per_section: int = Field(default=6, ge=1, le=24)
    openai_base_url: str | None = None
    openai_api_key: str | None = None
    openai_model: str | None = None
    banned_words: list[str] = Field(default_factory=list)

    @property
    def database(self) -> Path:
        return self.db_path or self.home / "genpage.sqlite"

    @classmethod
    def load(cls, path: str | Path | None = None, **overrides: Any) -> Config:
        """Build the config from genpage.toml (the given path, or ./genpage.toml), GENPAGE_* env vars, overrides."""
        values: dict[str, Any] = {}
        toml_path = Path(path) if path else Path("genpage.toml")
        if path and not toml_path.exists():
            raise ConfigError(f"config file {toml_path} does not exist")
        if toml_path.exists():
            with toml_path.open("rb") as fh:
                try:
                    values.update(tomllib.load(fh).get("genpage", {}))
                except tomllib.TOMLDecodeError as exc:
                    raise ConfigError(f"{toml_path}: {exc}") from exc
        for name in cls.model_fields:
            env = os.environ.get(f"GENPAGE_{name.upper()}")
            if env is not None and name != "banned_words":
                values[name] = env
        if os.environ.get("OPENAI_API_KEY") and "openai_api_key" not in values:
            values["openai_api_key"] = os.environ["OPENAI_API_KEY"]
        values.update({k: v for k, v in overrides.items() if v is not None})
        try:
            return cls(**values)
        except ValidationError as exc:
            first = exc.errors()[0]
            field = ".".join(str(p) for p in first["loc"])
            hint = f"check genpage.toml or GENPAGE_{field.upper()}"
            raise ConfigError(f"setting {field!r}: {first['msg']} ({hint})") from exc


# ---------------------------------------------------------------------- YAML files
YAML_MAX_DEPTH = 32  # nested mappings and lists; genpage's own files need 4


class YamlRefusedError(GenpageError):
    """A YAML text genpage will not build: anchors and aliases (`&a`, `*a`: a few hundred bytes of nested aliases
    expand to billions of values) or nesting deeper than YAML_MAX_DEPTH. `line` and `column` are 1-based."""

    def __init__(self, problem: str, line: int, column: int):
        super().__init__(f"line {line}, column {column}: {problem}")
        self.problem, self.line, self.column = problem, line, column


@dataclass
class YamlDocument:
    """A YAML document's data and its node tree (for the line of a key, see `line_of`)."""

    data: Any
    root: Any = None  # the yaml.Node the data was built from; None for an empty document

    def line_of(self, path: Sequence[str]) -> int | None:
        """The 1-based line of the key (or list item) at `path`, e.g. ("audience", "users", "3"); None if absent.
        Walks down the path only, so it costs the length of the path, not the size of the document."""
        node, line = self.root, None
        for step in path:
            kind = getattr(node, "id", "")
            if kind == "mapping":
                found = next(((key, value) for key, value in node.value if str(key.value) == step), None)
                if found is None:
                    return None
                line, node = found[0].start_mark.line + 1, found[1]
            elif kind == "sequence" and step.isdigit() and int(step) < len(node.value):
                node = node.value[int(step)]
                line = node.start_mark.line + 1
            else:
                return None
        return line


def _refuse_unsafe_events(text: str, loader: Any) -> None:
    """One pass over the parser's events (no values built): refuse anchors, aliases and deep nesting."""
    import yaml

    depth = 0
    for event in yaml.parse(text, Loader=loader):
        mark = event.start_mark
        if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None) is not None:
            raise YamlRefusedError("anchors (&name) and aliases (*name) are not allowed: write the values out",
                                   mark.line + 1, mark.column + 1)
        if isinstance(event, yaml.CollectionStartEvent):
            depth += 1
            if depth > YAML_MAX_DEPTH:
                raise YamlRefusedError(f"lists and mappings nested deeper than {YAML_MAX_DEPTH} levels",
                                       mark.line + 1, mark.column + 1)
        elif isinstance(event, yaml.CollectionEndEvent):
            depth -= 1


def load_yaml_document(text: str) -> YamlDocument:
    """Parse one YAML document with the safe loader (libyaml's when installed). Anchors, aliases and deep nesting
    are refused before anything is built (YamlRefusedError); yaml.YAMLError for text that is not YAML."""
    import yaml

    loader_class = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    _refuse_unsafe_events(text, loader_class)
    loader = loader_class(text)
    try:
        root = loader.get_single_node()
        data = loader.construct_document(root) if root is not None else None
    finally:
        loader.dispose()
    return YamlDocument(data, root)


def load_yaml(text: str) -> Any:
    """The data of one YAML document, read as `load_yaml_document` reads it."""
    return load_yaml_document(text).data
