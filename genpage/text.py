"""The words of product text: the one leaf module every stage may use.

Tokenising, stemming, stopwords, the catch-all category names, title cleaning (for embedding and for display),
title case, and the commonest words of a set of titles. Pure functions over strings; no genpage imports.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from itertools import repeat

# A word as copy and titles write it: letters, with inner apostrophes and hyphens ("don't", "t-light").
WORD = re.compile(r"[A-Za-z][A-Za-z'’-]*")
# A run of letters only ("t-light" is "t" and "light"): the tokens of titles compared by their letters.
LETTERS = re.compile(r"[A-Za-z]+")
_SPACES = re.compile(r"\s+")

# Function words: never a theme, a product kind or a word borrowed from another section.
STOPWORDS = frozenset(
    "a an and the of for with in on at to by from your you our this that these those it its is are be or as all "
    "every each more most just so up out into over".split()
)
# Words of a product title that name no interest: a few function words and the words of size, colour, pack or
# design (the interests of a shopper in a catalogue without categories are the commonest other title words).
TITLE_STOPWORDS = frozenset(
    "of and the a in with for to on s set pack box bag small large mini jumbo red pink blue green white black "
    "ivory cream design assorted colour".split()
)
# Category names that hold everything and so name no theme.
CATCH_ALL_CATEGORIES = frozenset(
    ("", "other", "others", "misc", "miscellaneous", "general", "uncategorised", "uncategorized")
)
# Words that title case keeps in lower case after the first word.
SMALL_WORDS = frozenset("a an and as at but by for in of on or the to with".split())


def words(text: str) -> list[str]:
    """The words of a text (`WORD`), in order."""
    return WORD.findall(text)


def letter_runs(text: str) -> list[str]:
    """The runs of letters of a text, in order ("T-LIGHT holder" -> ["T", "LIGHT", "holder"])."""
    return LETTERS.findall(text)


def stem(word: str) -> str:
    """A light English stem: plural endings off ("boxes" -> "box", "berries" -> "berry", "vases" -> "vase")."""
    w = word.lower().strip("'’-")
    if w.endswith("ies") and len(w) > 4:
        return w[:-3] + "y"
    if w.endswith("es") and len(w) > 4 and w[-3] in "sxz" and not (w[-3] == "s" and w[-4] != "s"):
        return w[:-2]  # boxes, glasses; but cases, vases -> case, vase
    if w.endswith("s") and len(w) > 3 and not w.endswith("ss"):
        return w[:-1]
    return w


def stems(text: str) -> set[str]:
    """The stems of a text's words."""
    return {stem(w) for w in words(text)}


def is_catch_all(category: str) -> bool:
    """A category that names no theme ("", "Other", "Misc" ...)."""
    return category.strip().lower() in CATCH_ALL_CATEGORIES


def clean_title(title: str) -> str:
    """A title for embedding: whitespace collapsed, SHOUTED titles lower-cased (Online Retail is all upper case)."""
    text = _SPACES.sub(" ", title or "").strip()
    if text.isupper():
        text = text.lower()
    return text


def title_case(text: str) -> str:
    """Title Case with small words in lower case, hyphenated parts capitalised ("T-LIGHT" -> "T-Light")."""
    out = []
    for index, word in enumerate(text.split()):
        lower = word.lower()
        if index and lower in SMALL_WORDS:
            out.append(lower)
        else:
            out.append("-".join(part[:1].upper() + part[1:].lower() for part in word.split("-")))
    return " ".join(out)


def clean_name(title: str, max_words: int = 7) -> str:
    """A title as a shopper would read it: "SET/6 RED SPOTTY CUPS" -> "Set of 6 Red Spotty Cups"."""
    text = re.sub(r"\s+", " ", title).strip().strip(".,;:-*").strip()
    text = re.sub(r"\bSET\s*/\s*(\d+)\b", r"SET OF \1", text, flags=re.I)
    text = re.sub(r"\bS/(\d+)\b", r"SET OF \1", text, flags=re.I)
    text = re.sub(r"\s*/\s*", " / ", text) if "/" in text else text
    letters = [c for c in text if c.isalpha()]
    if letters and sum(c.isupper() for c in letters) / len(letters) > 0.7:
        text = title_case(text)
    return " ".join(text.split()[:max_words])


def commonest_words(
    tokens_per_title: Iterable[Iterable[str]], weights: Iterable[float] | None = None
) -> list[tuple[str, float]]:
    """Words counted over titles (each title's tokens, weighted by its weight, 1 by default), commonest first;
    ties keep the order in which the words were first seen."""
    counts: dict[str, float] = {}
    pairs = zip(tokens_per_title, repeat(1.0) if weights is None else weights, strict=False)
    for tokens, weight in pairs:
        for token in tokens:
            counts[token] = counts.get(token, 0.0) + float(weight)
    return sorted(counts.items(), key=lambda pair: -pair[1])  # stable: ties keep their first-seen order
