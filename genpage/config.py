"""One Config for genpage: defaults, then a genpage.toml, then GENPAGE_* environment variables, then arguments."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from genpage.errors import ConfigError

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
    backend: str = "auto"  # auto (llamacpp when installed, else local), local, llamacpp, openai, echo ...
    device: Literal["auto", "cpu", "cuda"] = "auto"
    precision: Literal["auto", "fp32", "bf16", "fp16", "int8"] = "auto"
    copy_level: CopyLevel = "segment"
    copy_candidates: int = Field(default=1, ge=1, le=8)  # answers weighed per section: greedy, then samples
    shop_name: str = "genpage shop"
    locale: str = "en-GB"
    sections: int = Field(default=5, ge=1, le=12)
    items_per_section: int = Field(default=6, ge=1, le=24)
    shelf_themes: Literal["kind", "category"] = "category"  # how strict a theme shelf is (genpage.plan.plan_page)
    openai_base_url: str | None = None
    openai_api_key: str | None = None
    openai_model: str | None = None
    banned_words: list[str] = Field(default_factory=list)
    publish: Literal["auto", "approved"] = "auto"  # "approved": only reviewed copy goes live (genpage.copy.review)
    events_retention_days: int | None = Field(default=None, ge=1)  # off by default; see docs/privacy.md
    policy: Literal["fixed", "thompson", "random"] = "fixed"  # shelf order (genpage.feedback.bandit)

    @property
    def database(self) -> Path:
        return self.db_path or self.home / "genpage.sqlite"

    @property
    def rankers_dir(self) -> Path:
        """Where fitted rankers are saved (each holds every shopper's history: genpage.privacy deletes them)."""
        return self.home / "rankers"

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
