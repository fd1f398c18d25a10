"""Prompt building for section copy: a pure function of what a section shows.

`build_prompt(section, interests=..., campaign=..., locale=..., limits=..., copy_level=...)` renders
`prompts/section_copy.j2` (Jinja, StrictUndefined) into chat messages: a system message with the rules,
examples as user/assistant pairs, then the section.

- copy_level "segment" (the default): the section's *theme*: its kind, the categories its products come from
  (`section_theme`), the kinds of product it mostly shows (`section_kinds`: "hot water bottles", "hand warmers",
  from `prompts/product_types.txt`), and the campaign's brief and tone on a campaign section. Every shopper whose
  section has the same theme gets the same prompt, so one copy serves them all. The examples are the same seven
  in every segment prompt (`prompts/theme_examples.yaml`), so all segment prompts share their start.
- copy_level "theme": as segment, but the kinds of product are the theme's commonest in the whole catalogue
  (`genpage.copy.generate.theme_kinds`), so every shelf of one kind and theme shares one copy: the fewest model calls,
  for campaigns of thousands of pages; the copy is true of the category, not always of the shelf.
- copy_level "user": the section's exact products (cleaned names and categories), its anchor, and the shopper's
  interests as categories, with two examples retrieved from `prompts/examples/<kind>.yaml`.

A tuned writer (a generator with a LoRA adapter, `"qwen2.5-1.5b-instruct+house-style"`, trained by
`genpage.copy.train`) gets its own short prompt instead (`writer_messages`, `prompts/writer.j2`): the shelf in a few
dozen tokens (`WriterShelf`: kind, shelf type, theme, kinds of product, anchor, campaign, tone, locale), no rules
and no examples; the same function builds it for training and for generation.

It never sees who the shopper is: no user id, name or email reaches it, and interests that look like personal
data are dropped. Two shoppers shown the same section get the same prompt, so they share cached copy.
"""

from __future__ import annotations

import json
import logging
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import jinja2
import yaml

from genpage.backends.base import Message
from genpage.copy.guardrails import DEFAULT_LIMITS, CopyLimits, distinctive_stems
from genpage.plan.themes import product_kind
from genpage.resources import prompts_dir
from genpage.schemas import Campaign, Section
from genpage.text import clean_name, stem

logger = logging.getLogger(__name__)

KIND_PURPOSE = {
    "for_you": "picked for you: a mix of the shopper's best matches",
    "because_bought": "because you bought the anchor product; these go well with it",
    "because_viewed": "because you viewed the anchor product; these are similar alternatives",
    "buy_again": "buy again: products the shopper ordered before",
    "trending": "trending: what many shoppers are choosing now",
    "new_arrivals": "new arrivals: products just added to the shop",
    "campaign": "campaign: products featured by the current campaign",
}
# What a section is for, said of its theme (segment level: the prompt names no product and no anchor).
THEME_PURPOSE = {
    "for_you": "picked for the shopper from this theme",
    "because_bought": "more from this theme, to go with something the shopper bought",
    "because_viewed": "more from this theme, like something the shopper looked at",
    "buy_again": "things from this theme the shopper has ordered before",
    "trending": "what many shoppers are choosing now in this theme",
    "new_arrivals": "new in the shop in this theme",
    "campaign": "the campaign's picks in this theme",
}
MAX_PRODUCTS = 6
_PERSONAL = re.compile(r"@|\d{3,}|https?://|\buser\b|\bcustomer\b", re.I)
_LANGUAGES = {
    "en-gb": "British English", "en-us": "American English", "en": "English", "de": "German", "fr": "French",
    "es": "Spanish", "it": "Italian", "nl": "Dutch", "pt": "Portuguese", "sv": "Swedish", "da": "Danish",
}  # fmt: skip


@dataclass(frozen=True)
class Example:
    """One good title/blurb pair from the bank, with the section it was written for."""

    kind: str
    products: tuple[str, ...]
    title: str
    blurb: str
    category: str = ""
    anchor: str = ""
    interests: tuple[str, ...] = ()
    campaign: str = ""
    tone: str = ""

    @property
    def product_text(self) -> str:
        """The example's product words: what leaks when a model copies from the example."""
        return " ".join((*self.products, self.anchor))


# ---------------------------------------------------------------- cleaning


def language_of(locale: str) -> str:
    lowered = locale.lower()
    return _LANGUAGES.get(lowered) or _LANGUAGES.get(lowered.split("-")[0]) or locale


def safe_interests(interests: Iterable[str], limit: int = 4) -> list[str]:
    """Interests as short category/theme labels; anything that looks like personal data is dropped."""
    kept: list[str] = []
    for interest in interests:
        label = " ".join(str(interest).split())
        if not label or len(label) > 40 or _PERSONAL.search(label):
            continue
        label = clean_name(label, max_words=4)
        if label.lower() not in {k.lower() for k in kept}:
            kept.append(label)
    return kept[:limit]


def section_theme(section: Section) -> list[str]:
    """What a prompt may call the section's theme: a theme shelf's label (`Section.theme`, planned from the data);
    nothing for an intent shelf, whose products may be mixed: its copy names the intent, never a theme."""
    return [section.theme.label] if section.shelf == "theme" and section.theme is not None else []


def section_kinds(section: Section, limit: int = 2) -> tuple[str, ...]:
    """The kinds of product a section mostly shows (`product_kind`): those of at least two of its products and a
    quarter of them, the commonest `limit`, alphabetical (so that shelves of the same kinds share one prompt); on a
    mixed shelf where no kind is that common, its first `limit` kinds in alphabetical order (the model invented
    "Curtises" and "Plated and silverware" when it had none).
    Kinds with the same last word count as one, named by that word when their forms differ ("birthday cards" and
    "cards" are "cards"), so that more shelves share a prompt."""
    forms: dict[str, Counter[str]] = {}
    for item in section.items:
        if kind := product_kind(item.product.title):
            forms.setdefault(stem(kind.split()[-1]), Counter())[kind] += 1
    need = max(2, -(-len(section.items) // 4))
    ranked = sorted(forms.values(), key=lambda counts: (-counts.total(), min(counts)))
    if ranked and ranked[0].total() < need:  # a mixed shelf: the first kinds it has, rather than none to go on
        need = 1
    return tuple(sorted(next(iter(counts)) if len(counts) == 1 else min(counts).split()[-1]
                        for counts in ranked[:limit] if counts.total() >= need))  # fmt: skip


# ---------------------------------------------------------------- examples


def _example(entry: dict[str, Any], kind: str) -> Example:
    return Example(
        kind=entry.get("kind", kind),
        products=tuple(entry["products"]),
        title=entry["title"],
        blurb=entry["blurb"],
        category=entry.get("category", ""),
        anchor=entry.get("anchor", ""),
        interests=tuple(entry.get("interests", ())),
        campaign=entry.get("campaign", ""),
        tone=entry.get("tone", ""),
    )


@lru_cache(maxsize=4)
def load_examples(directory: str | None = None) -> tuple[Example, ...]:
    """The example bank for user-level prompts: every `<kind>.yaml` under prompts/examples."""
    folder = Path(directory) if directory else prompts_dir() / "examples"
    return tuple(
        _example(entry, path.stem)
        for path in sorted(folder.glob("*.yaml"))
        for entry in yaml.safe_load(path.read_text(encoding="utf-8")) or []
    )


@lru_cache(maxsize=4)
def load_theme_examples(path: str | None = None) -> tuple[Example, ...]:
    """The examples of every segment-level prompt (`prompts/theme_examples.yaml`), in file order."""
    file = Path(path) if path else prompts_dir() / "theme_examples.yaml"
    return tuple(_example(entry, "") for entry in yaml.safe_load(file.read_text(encoding="utf-8")) or [])


def select_examples(section: Section, k: int = 2, bank: Sequence[Example] | None = None,
                    copy_level: str = "user") -> list[Example]:  # fmt: skip
    """The examples for a section (pure).

    Segment level: the theme examples, all of them and always the same (one per kind of section, about
    categories the shop is unlikely to sell), so every segment prompt shares its start and a backend with a
    prefix cache computes it once. User level: the k examples of the section's kind whose products share the most
    words with the section's."""
    if copy_level in ("segment", "theme"):
        return list(load_theme_examples() if bank is None else bank)
    bank = load_examples() if bank is None else bank
    same_kind = [e for e in bank if e.kind == section.kind] or list(bank)
    section_words = distinctive_stems(
        " ".join([*(item.product.title for item in section.items), *(item.product.category for item in section.items)])
    )

    def overlap(example: Example) -> float:
        example_words = distinctive_stems(" ".join((*example.products, example.category)))
        union = section_words | example_words
        return len(section_words & example_words) / len(union) if union else 0.0

    ranked = sorted(enumerate(same_kind), key=lambda pair: (-overlap(pair[1]), pair[0]))
    return [example for _, example in ranked[:k]]


# ---------------------------------------------------------------- rendering


@lru_cache(maxsize=4)
def _environment(directory: str) -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(directory),
        undefined=jinja2.StrictUndefined,
        autoescape=False,  # plain text for a model, never HTML
        keep_trailing_newline=False,
        trim_blocks=False,
    )


def template_module(name: str, directory: Path | None = None) -> Any:
    """The macros of a prompt template (`system`, `user` ...), rendered with StrictUndefined."""
    return _environment(str(directory or prompts_dir())).get_template(name).module


def _campaign_line(campaign: Campaign | None) -> str:
    if campaign is None:
        return ""
    return f"{campaign.name}: {campaign.brief}".strip().rstrip(":") if campaign.brief else campaign.name


def example_view(example: Example) -> dict[str, Any]:
    return {
        "purpose": KIND_PURPOSE.get(example.kind, example.kind),
        "anchor": example.anchor,
        "interests": [],  # examples teach the shape; a shopper line would only lengthen every prompt
        "campaign": example.campaign,
        "tone": example.tone,
        "products": [{"name": name, "category": example.category} for name in example.products],
    }


def section_view(section: Section, *, interests: Sequence[str], campaign: Campaign | None) -> dict[str, Any]:
    """The facts about a section that go into the prompt: what it shows, never who sees it."""
    in_campaign = section.kind == "campaign"
    return {
        "purpose": KIND_PURPOSE[section.kind],
        "anchor": clean_name(section.anchor_label) if section.anchor_label else "",
        "interests": safe_interests(interests),
        "campaign": _campaign_line(campaign) if in_campaign else "",
        "tone": campaign.tone if campaign is not None and in_campaign else "",
        "products": [
            {"name": clean_name(item.product.title), "category": clean_name(item.product.category, max_words=4)}
            for item in section.items[:MAX_PRODUCTS]
        ],
    }


def theme_example_view(example: Example) -> dict[str, Any]:
    themed = bool(example.category)
    return {
        "purpose": (THEME_PURPOSE if themed else KIND_PURPOSE).get(example.kind, example.kind),
        "anchor": example.anchor,
        "theme": [example.category] if themed else [],
        "typical": [name.lower() for name in example.products],
        "campaign": example.campaign,
        "tone": example.tone,
    }


def theme_view(
    section: Section, *, campaign: Campaign | None, typical: Sequence[str] = (), theme: Sequence[str] | None = None
) -> dict[str, Any]:
    """What a segment-level prompt says about a section. A theme shelf: its theme and the kinds of product it
    holds (`typical`). An intent shelf: its intent, its anchor ("because you bought X"), at most two of the
    commonest kinds, and that it has no theme. The campaign on a campaign shelf."""
    in_campaign = section.kind == "campaign"
    themes = list(section_theme(section) if theme is None else theme)
    anchored = not themes and section.kind in ("because_bought", "because_viewed") and section.anchor_label
    return {
        "purpose": (THEME_PURPOSE if themes else KIND_PURPOSE)[section.kind],
        "anchor": clean_name(section.anchor_label, max_words=5) if anchored and section.anchor_label else "",
        "theme": themes,
        "typical": list(typical)[:2],
        "campaign": _campaign_line(campaign) if in_campaign else "",
        "tone": campaign.tone if campaign is not None and in_campaign else "",
    }


def build_prompt(
    section: Section,
    *,
    interests: Sequence[str],
    campaign: Campaign | None,
    locale: str,
    limits: CopyLimits = DEFAULT_LIMITS,
    shop: str = "the shop",
    examples: Sequence[Example] | None = None,
    directory: Path | None = None,
    copy_level: str = "user",
    theme_products: Sequence[str] | None = None,
    theme: Sequence[str] | None = None,
) -> list[Message]:
    """Chat messages asking for one section's copy as JSON (pure: same input, same messages). `theme` and
    `theme_products`: the section's (`section_theme`, `section_kinds`), when the caller has computed them already."""
    module = template_module("section_copy.j2", directory)
    chosen = select_examples(section, copy_level=copy_level) if examples is None else examples
    if copy_level in ("segment", "theme"):  # the section's theme, not its products (see the module docstring)
        system, user, view_of_example = module.theme_system, module.theme_user, theme_example_view
        typical = section_kinds(section) if theme_products is None else theme_products
        view = theme_view(section, campaign=campaign, typical=typical, theme=theme)
    else:
        system, user, view_of_example = module.system, module.user, example_view
        view = section_view(section, interests=interests, campaign=campaign)
    messages = [Message(role="system", content=str(system(shop, language_of(locale), limits)).strip())]
    for example in chosen:
        messages.append(Message(role="user", content=str(user(view_of_example(example))).strip()))
        answer = json.dumps({"title": example.title, "blurb": example.blurb}, ensure_ascii=False)
        messages.append(Message(role="assistant", content=answer))
    messages.append(Message(role="user", content=str(user(view)).strip()))
    return messages


# ---------------------------------------------------------------- the tuned writer's short prompt


@dataclass(frozen=True)
class WriterShelf:
    """What a tuned writer is told about a shelf: the fields of a house-style pair (`genpage.copy.house_style`)."""

    kind: str
    shelf: str
    theme: str | None = None
    kinds: tuple[str, ...] = ()
    anchor: str | None = None
    campaign: str | None = None
    tone: str | None = None
    locale: str = "en-GB"


def writer_shelf(
    section: Section, *, campaign: Campaign | None, locale: str, kinds: Sequence[str] = (),
    theme: Sequence[str] | None = None,
) -> WriterShelf:  # fmt: skip
    """A section as a tuned writer sees it, with the facts a segment-level prompt has (`theme_view`): its theme
    (a theme shelf's label), at most two kinds of product, the anchor of an intent shelf, the campaign and tone."""
    view = theme_view(section, campaign=campaign, typical=kinds, theme=theme)
    return WriterShelf(
        kind=section.kind,
        shelf="theme" if view["theme"] else "intent",
        theme=" and ".join(view["theme"]) or None,
        kinds=tuple(view["typical"]),
        anchor=view["anchor"] or None,
        campaign=view["campaign"] or None,
        tone=view["tone"] or None,
        locale=locale,
    )


def writer_messages(shelf: WriterShelf, directory: Path | None = None) -> list[Message]:
    """The tuned writer's prompt for a shelf (pure): a one-line system message and the shelf, a few dozen tokens."""
    module = template_module("writer.j2", directory)
    return [
        Message(role="system", content=str(module.system()).strip()),
        Message(role="user", content=str(module.user(shelf)).strip()),
    ]


def writer_answer(title: str, blurb: str) -> str:
    """A writer's answer as the JSON schema's grammar writes it (`genpage.backends.grammar.JSON_STYLE`)."""
    return json.dumps({"title": title, "blurb": blurb}, ensure_ascii=False)
