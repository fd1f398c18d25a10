"""What a product is, and the themes a shelf can share: its product kind, or its category.

A theme is named from the data and carries its evidence: a kind theme ("Mugs") is the words its products' titles
share (the kinds of product listed in `prompts/product_types.txt`, found in titles, shops add their own), a
category theme ("Kitchen & Dining") the category field. Kinds are stricter than categories: "Mugs" is true of
every mug, while a category may span cushions and clocks, and catch-all categories ("Other") name no theme.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path
from typing import Literal

from genpage.resources import prompts_dir
from genpage.schemas import Product, ShelfTheme
from genpage.text import clean_name, is_catch_all, stem, words

ThemeLevel = Literal["kind", "category"]
THEME_LEVELS: tuple[ThemeLevel, ...] = ("kind", "category")

_UNCOUNTABLE = frozenset("art bunting jewellery jewelry furniture stationery storage tableware glassware".split())


@lru_cache(maxsize=4)
def product_types(path: str | None = None) -> tuple[tuple[str, ...], ...]:
    """The kinds of product of `prompts/product_types.txt` ("hot water bottle", "jar"), as stemmed phrases."""
    text = Path(path or prompts_dir() / "product_types.txt").read_text(encoding="utf-8")
    lines = (line.split("#", 1)[0].strip().lower() for line in text.splitlines())
    return tuple(sorted({tuple(stem(w) for w in words(line)) for line in lines if line}))


def plural(word: str) -> str:
    if word.endswith("s") or word.lower() in _UNCOUNTABLE:
        return word
    if word.endswith("y") and len(word) > 2 and word[-2] not in "aeiou":
        return word[:-1] + "ies"
    return word + ("es" if word.endswith(("x", "ch", "sh")) else "s")


@lru_cache(maxsize=1)
def _phrase_lookup() -> tuple[frozenset[tuple[str, ...]], tuple[int, ...]]:
    """`product_types()` as a set, and the phrase lengths in it: a title's phrases are looked up, not compared."""
    phrases = product_types()
    return frozenset(phrases), tuple(sorted({len(p) for p in phrases}))


@lru_cache(maxsize=65536)
def product_kind(title: str) -> str:
    """What a product is, by `product_types()`: the listed phrase that ends latest in its title, the longest on a
    tie, in the title's words and plural ("Set of 4 Jam Jar Magnets" -> "magnets", "Hot Water Bottle Keep Calm"
    -> "hot water bottles"); "" when none is listed."""
    tokens = [w.lower() for w in words(clean_name(title, max_words=12))]
    stemmed = [stem(w) for w in tokens]
    listed, lengths = _phrase_lookup()
    best: tuple[int, int] = (-1, 0)  # (end, length)
    for n in lengths:
        for start in range(len(stemmed) - n + 1):
            if tuple(stemmed[start : start + n]) in listed:
                best = max(best, (start + n, n))
    end, length = best
    if end < 0:
        return ""
    return " ".join([*tokens[end - length : end - 1], plural(tokens[end - 1])])


def kind_key(kind: str) -> str:
    """Kinds that share their last word are one theme ("birthday cards" and "cards")."""
    return "kind:" + stem(kind.split()[-1]) if kind else ""


def item_themes(product: Product, levels: Iterable[ThemeLevel] = THEME_LEVELS) -> tuple[tuple[str, str], ...]:
    """The (key, spelling) of each theme the product belongs to, strictest first: its kind (from its title), its
    category (unless a catch-all)."""
    return _themes(product.title, product.category, tuple(levels))


@lru_cache(maxsize=65536)
def _themes(title: str, category: str, levels: tuple[ThemeLevel, ...]) -> tuple[tuple[str, str], ...]:
    found: list[tuple[str, str]] = []
    for level in levels:
        if level == "kind" and (kind := product_kind(title)):
            found.append((kind_key(kind), kind))
        elif level == "category" and not is_catch_all(category):
            found.append(("category:" + category.strip().lower(), category.strip()))
    return tuple(found)


def theme_of(key: str, spellings: Iterable[str]) -> ShelfTheme:
    """A shelf's theme from its key and how its products spell it: the commonest spelling names a kind theme when
    the products agree, else their shared last word ("cards" for "birthday cards" and "christmas cards")."""
    counts = Counter(spellings)
    level, _, value = key.partition(":")
    if level == "category":
        label = counts.most_common(1)[0][0]
        return ShelfTheme(key=key, label=clean_name(label, max_words=4), level="category", words=words(label),
                          source="category")
    forms = sorted(counts, key=lambda form: (-counts[form], form))
    name = forms[0] if len(forms) == 1 else forms[0].split()[-1]
    return ShelfTheme(key=key, label=name.title(), level="kind", words=words(name), source="title")


def in_theme(product: Product, theme: ShelfTheme) -> bool:
    """Whether a product belongs to a theme (the coherence test of a theme shelf)."""
    return any(key == theme.key for key, _ in item_themes(product, (theme.level,)))
