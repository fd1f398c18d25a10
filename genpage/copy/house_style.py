"""The house-style corpus: pairs of (a shelf, as a segment-level prompt sees it) -> (the copy a shop would publish).

`prompts/house_style/<shop>.jsonl` holds one pair a line, hand-written for many kinds of shop, none about a theme
the copy benchmark scores (`bench/copy.py`), so a writer tuned on them is measured on shelves it has not seen:

    {"kind": "for_you", "shelf": "theme", "theme": "Trail Running Shoes", "kinds": ["trail shoes", "running socks"],
     "anchor": null, "campaign": null, "tone": null, "locale": "en-GB", "shop": "sport",
     "title": "Trail Shoes for Rougher Ground", "blurb": "..."}

The fields are what a segment-level prompt carries (`genpage.copy.prompts.theme_view`): the section's kind; its
shelf type (a theme shelf, for_you or trending, names its `theme`; an intent shelf has none and its copy names
why the products are shown); at most a few kinds of product; the anchor of a "because you bought/viewed" shelf;
the campaign line (`"Name: brief"`) and tone of a campaign shelf. A shop's own copy, in a file of the same schema,
loads the same way (`load_house_style("my_copy.jsonl")`), with one error naming the file, line and field of every
bad row. `pair_facts` gives the facts a pair's copy is judged against, as `genpage.copy.generate` judges
segment-level copy, so `check_pair` says whether the guardrails would publish it.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Sequence
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from genpage.copy.guardrails import DEFAULT_LIMITS, CopyLimits, SectionFacts, Violation, check_copy
from genpage.errors import GenpageError
from genpage.resources import prompts_dir
from genpage.schemas import SectionCopy, SectionKind, ShelfType
from genpage.text import clean_name, words

logger = logging.getLogger(__name__)

THEME_KINDS = ("for_you", "trending")  # the kinds of section the planner makes theme shelves of
ANCHORED_KINDS = ("because_bought", "because_viewed")
MAX_PROBLEMS_SHOWN = 10


class HouseStyleError(GenpageError):
    """A house-style file cannot be used: it is missing, or rows are not valid JSON or not valid pairs. Names the
    file, the line (1-based) and the field of each bad row (`problems`)."""

    def __init__(self, message: str, *, problems: Sequence[str] = ()):
        super().__init__(message)
        self.problems = list(problems)


class HouseStylePair(BaseModel):
    """One pair of the corpus: the shelf, as the prompt shows it, and its title and blurb."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    kind: SectionKind
    shelf: ShelfType
    theme: str | None = None
    kinds: list[str] = Field(default_factory=list, max_length=6)
    anchor: str | None = None
    campaign: str | None = None
    tone: str | None = None
    locale: str = Field(default="en-GB", min_length=2)
    shop: str | None = None
    title: str = Field(min_length=1, max_length=80)
    blurb: str = Field(min_length=1, max_length=240)

    @field_validator("kinds")
    @classmethod
    def _kinds_named(cls, kinds: list[str]) -> list[str]:
        cleaned = [" ".join(kind.split()) for kind in kinds]
        if any(not kind for kind in cleaned):
            raise ValueError("a kind of product is empty")
        return cleaned

    @field_validator("theme", "anchor", "campaign", "tone", "shop")
    @classmethod
    def _empty_is_none(cls, value: str | None) -> str | None:
        return value or None

    @model_validator(mode="after")
    def _fits_its_shelf(self) -> HouseStylePair:
        if self.shelf == "theme":
            if not self.theme:
                raise ValueError("a theme shelf needs a theme label (set theme, or make shelf 'intent')")
            if self.kind not in THEME_KINDS:
                raise ValueError(f"a theme shelf is for_you or trending, not {self.kind}")
        elif self.theme:
            raise ValueError("an intent shelf has no theme (its products are a mix): set theme to null")
        if self.kind in ANCHORED_KINDS and self.shelf == "intent" and not self.anchor:
            raise ValueError(f"a {self.kind} shelf needs its anchor, the product bought or viewed")
        if self.anchor and self.kind not in ANCHORED_KINDS:
            raise ValueError(f"only because_bought and because_viewed shelves have an anchor, not {self.kind}")
        if (self.kind == "campaign") != bool(self.campaign):
            raise ValueError("a campaign shelf needs its campaign line, and only a campaign shelf has one")
        if self.tone and self.kind != "campaign":
            raise ValueError("only a campaign shelf has a tone")
        return self

    @property
    def section_copy(self) -> SectionCopy:
        return SectionCopy(title=self.title, blurb=self.blurb)


def house_style_dir() -> Path:
    """The corpus shipped with genpage: `prompts/house_style/`."""
    return prompts_dir() / "house_style"


def _files(paths: str | Path | Iterable[str | Path] | None) -> list[Path]:
    if paths is None:
        paths = [house_style_dir()]
    elif isinstance(paths, (str, Path)):
        paths = [paths]
    found: list[Path] = []
    for path in map(Path, paths):
        if path.is_dir():
            found += sorted(path.glob("*.jsonl"))
        elif path.is_file():
            found.append(path)
        else:
            raise HouseStyleError(f"{path}: no such file or folder of house-style pairs (JSONL, one pair a line)")
    if not found:
        raise HouseStyleError(f"no house-style pairs (*.jsonl) in {', '.join(map(str, paths))}")
    return found


def _row_problems(source: Path, number: int, line: str) -> tuple[HouseStylePair | None, list[str]]:
    where = f"{source}, line {number}"
    try:
        data = json.loads(line)
    except json.JSONDecodeError as error:
        return None, [f"{where}: not valid JSON ({error.msg} at column {error.colno})"]
    if not isinstance(data, dict):
        return None, [f"{where}: a pair is a JSON object, not {type(data).__name__}"]
    try:
        return HouseStylePair.model_validate(data), []
    except ValidationError as error:
        problems = []
        for item in error.errors():
            field = ".".join(str(part) for part in item["loc"])
            problems.append(f"{where}, field {field!r}: {item['msg']}" if field else f"{where}: {item['msg']}")
        return None, problems


def load_house_style(paths: str | Path | Iterable[str | Path] | None = None) -> list[HouseStylePair]:
    """Every pair of the JSONL files at `paths` (files, or folders of `*.jsonl`), in file and line order; by default
    the corpus shipped with genpage. Blank lines are skipped. Raises `HouseStyleError` naming the file, line and
    field of every bad row (the first few in its message, all in `problems`)."""
    pairs: list[HouseStylePair] = []
    problems: list[str] = []
    for source in _files(paths):
        try:
            lines = source.read_text(encoding="utf-8").splitlines()
        except (OSError, UnicodeDecodeError) as error:
            raise HouseStyleError(f"{source}: cannot be read as UTF-8 text ({error})") from error
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            pair, found = _row_problems(source, number, line)
            problems += found
            if pair is not None:
                pairs.append(pair)
    if problems:
        shown = "\n".join(problems[:MAX_PROBLEMS_SHOWN])
        more = f"\n... and {len(problems) - MAX_PROBLEMS_SHOWN} more" if len(problems) > MAX_PROBLEMS_SHOWN else ""
        raise HouseStyleError(f"{len(problems)} problem(s) in house-style pairs:\n{shown}{more}", problems=problems)
    logger.debug("loaded %d house-style pairs", len(pairs))
    return pairs


def pair_facts(pair: HouseStylePair, banned_words: Sequence[str] = ()) -> SectionFacts:
    """The facts a pair's copy is judged against, as segment-level copy is (`genpage.copy.generate`): the theme
    label (as the shelf's theme and category, with its words as the evidence), the kinds of product the prompt
    names, the anchor of a because-you-bought/viewed shelf, the campaign line of a campaign shelf, and the kind.
    No catalogue vocabulary: a pair must stand on what its own prompt says."""
    theme = (pair.theme, *words(pair.theme)) if pair.theme else ()
    anchored = pair.kind in ANCHORED_KINDS and pair.anchor
    return SectionFacts(
        anchor=clean_name(pair.anchor) if anchored and pair.anchor else "",
        categories=(pair.theme,) if pair.theme else (),
        campaign_text=pair.campaign or "" if pair.kind == "campaign" else "",
        theme=theme,
        typical=tuple(pair.kinds),
        locale=pair.locale,
        banned_words=tuple(banned_words),
        kind=pair.kind,
    )


def check_pair(pair: HouseStylePair, limits: CopyLimits = DEFAULT_LIMITS) -> list[Violation]:
    """The guardrails' violations of a pair's copy against its own facts; empty means a shop could publish it."""
    return check_copy(pair.section_copy, pair_facts(pair), limits)
