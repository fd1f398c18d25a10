"""Checks that section copy is safe to publish. Pure functions, no model.

One mechanism driven by data: the lexicon of the copy's locale (`prompts/lexicon/<locale>.yaml`) holds claim
classes (price, discount, superlative, quality, material, availability, occasion, audience, viewpoint ...) with
their terms and what licenses each (the section's own facts, its kind), and a small closed vocabulary of
house-style words; the grounding gate then asks that every other content word of a title or blurb come from the
section's facts (`SectionFacts`: products, anchor, categories, theme, campaign). Beside it sit a few rules of form
(length, markup, script, lists, repetition, the shop's banned words).

`check_copy` returns typed `Violation`s (copy with any is not published). The same lexicon and facts give the words
kept out while decoding (`words_to_avoid`: what the checks would reject, known before the copy is written), and a
violation's `span` (the words that broke it) drives the retry's banned words (`genpage.copy.generate`) and the
clause repair (`drop_clause`).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property, lru_cache
from pathlib import Path
from typing import Any

import yaml

from genpage.plan.themes import product_types
from genpage.resources import prompts_dir
from genpage.schemas import SectionCopy
from genpage.text import STOPWORDS, WORD, stem, stems, words


@dataclass(frozen=True)
class CopyLimits:
    title_words: int = 6
    title_chars: int = 50
    blurb_words: int = 25
    blurb_chars: int = 200


DEFAULT_LIMITS = CopyLimits()


@dataclass(frozen=True)
class SectionFacts:
    """What the copy may talk about: the section's own data, and words it must not borrow from elsewhere."""

    product_names: tuple[str, ...] = ()
    anchor: str = ""
    categories: tuple[str, ...] = ()
    campaign_text: str = ""  # the campaign's name and brief: may license "sale" or "Christmas"
    theme: tuple[str, ...] = ()  # a theme shelf's label and the words that are its evidence
    typical: tuple[str, ...] = ()  # segment level: the kinds of product the prompt named
    vocabulary: tuple[str, ...] = ()  # segment level: words the theme's categories use in the catalogue
    foreign_texts: tuple[str, ...] = ()  # in-context examples and other sections' products: likely leaks
    locale: str = "en-GB"
    banned_words: tuple[str, ...] = ()
    kind: str = ""  # the kind of section ("trending", "buy_again" ...); "" when unknown

    @property
    def own_text(self) -> str:
        """The section's own data, which licenses claims (not the catalogue vocabulary around its theme)."""
        return " ".join(
            (*self.product_names, self.anchor, *self.categories, *self.theme, self.campaign_text, *self.typical)
        )


@dataclass(frozen=True)
class Violation:
    """One broken rule: its name, the words of the copy that break it ("" when the rule is about the copy's form,
    as length, or its words must not be banned, as a "{" echoed back), and what is wrong, said for people and for
    the model's retry. `str()` is the "rule: message" form stored in `Section.copy_violations`."""

    rule: str
    span: str
    message: str

    def __str__(self) -> str:
        return f"{self.rule}: {self.message}"


def rule_of(violation: str) -> str:
    """The rule of a stored violation string ("length: ..." -> "length"; "retry length: ..." -> "length")."""
    return violation.removeprefix("retry ").split(":", 1)[0]


# ---------------------------------------------------------------- words and the lexicon

_CLITIC = re.compile(r"['’](?:s|ve|ll|re|d|m)?$|n['’]t$")


@lru_cache(maxsize=65536)
def root(word: str) -> str:
    """A word's root for matching: clitic, plural and one -ing/-ed/-ly ending off, and a final e ("Charging",
    "charged" and "charge" -> "charg"; "shopping" -> "shop"; "Kids'" -> "kid")."""
    w = stem(_CLITIC.sub("", word.lower()))
    for suffix in ("ing", "ed", "ly"):
        if w.endswith(suffix) and len(w) - len(suffix) >= 3:
            w = w[: -len(suffix)]
            if w.endswith("i"):
                w = w[:-1] + "y"
            elif len(w) > 3 and w[-1] == w[-2] and w[-1] in "bdgmnprt":
                w = w[:-1]
            break
    return w[:-1] if len(w) > 3 and w.endswith("e") else w


@dataclass(frozen=True)
class _Token:
    text: str
    root: str
    start: int
    end: int


@lru_cache(maxsize=65536)
def _tokens(text: str) -> tuple[_Token, ...]:
    """The words of a text, hyphenated ones in their parts ("hand-picked" -> "hand", "picked"), with positions."""
    found = []
    for match in WORD.finditer(text):
        for part in re.finditer(r"[^-]+", match.group(0)):
            start = match.start() + part.start()
            found.append(_Token(part.group(0), root(part.group(0)), start, start + len(part.group(0))))
    return tuple(found)


@dataclass(frozen=True)
class WordClass:
    """A claim class of the lexicon: its terms (as written, their roots, and the words or kinds that license
    them besides themselves) and patterns (with the kinds that license them)."""

    name: str
    message: str
    licensed_by: str  # "facts", "kind" or "never"
    repair: bool
    terms: tuple[tuple[str, tuple[str, ...], tuple[str, ...]], ...]
    patterns: tuple[tuple[re.Pattern[str], tuple[str, ...]], ...]


Term = tuple[WordClass, str, tuple[str, ...], tuple[str, ...]]  # the class, the term as written, roots, licences


@dataclass(frozen=True, eq=False)
class Lexicon:
    """A locale's words (`prompts/lexicon/<locale>.yaml`): house style, the words of each kind of section, the claim
    classes, and the spellings en-GB copy is respelt with."""

    locale: str
    house: frozenset[str]  # roots of the house-style words
    kind_words: dict[str, tuple[str, ...]]  # kind of section -> the words only it may use, as written
    classes: tuple[WordClass, ...]
    spellings: dict[str, str]

    @cached_property
    def kind_roots(self) -> dict[str, frozenset[str]]:
        """The roots each kind of section licenses; "" (unknown kind) licenses every kind's."""
        licensed = {kind: frozenset(t.root for w in ws for t in _tokens(w)) for kind, ws in self.kind_words.items()}
        return {**licensed, "": frozenset().union(*licensed.values())}

    @cached_property
    def terms(self) -> tuple[dict[str, list[Term]], list[Term]]:
        """The classes' terms, one-word ones by their root, and the longer ones."""
        single: dict[str, list[Term]] = {}
        multi: list[Term] = []
        for cls in self.classes:
            for term, roots, licences in cls.terms:
                (single.setdefault(roots[0], []) if len(roots) == 1 else multi).append((cls, term, roots, licences))
        return single, multi


def _as_mapping(entries: Any) -> dict[str, list[str]]:
    return {str(k): list(v or ()) for k, v in entries.items()} if isinstance(entries, dict) else dict.fromkeys(
        map(str, entries or ()), [])


def _word_class(name: str, spec: dict[str, Any]) -> WordClass:
    terms = tuple((t, tuple(x.root for x in _tokens(t)), tuple(v)) for t, v in _as_mapping(spec.get("terms")).items())
    patterns = tuple((re.compile(p, re.I), tuple(v)) for p, v in _as_mapping(spec.get("patterns")).items())
    return WordClass(name, spec["message"], spec.get("licensed_by", "facts"), spec.get("repair", True), terms,
                     patterns)  # fmt: skip


@lru_cache(maxsize=16)
def lexicon(locale: str = "en-GB", directory: str | None = None) -> Lexicon | None:
    """The lexicon of a locale: `prompts/lexicon/<locale>.yaml`, else a file of its language (en-US reads en-GB);
    None when there is none (then only the rules of form apply)."""
    files = sorted(Path(directory or prompts_dir() / "lexicon").glob("*.yaml"))
    language = locale.split("-")[0].lower()
    path = next((f for f in files if f.stem.lower() == locale.lower()), None) or next(
        (f for f in files if f.stem.split("-")[0].lower() == language), None)
    if path is None:
        return None
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    return Lexicon(
        locale=data["locale"],
        house=frozenset(token.root for token in _tokens(data["house_style"])),
        kind_words={kind: tuple(text.split()) for kind, text in data["kind_words"].items()},
        classes=tuple(_word_class(name, spec) for name, spec in data["classes"].items()),
        spellings=dict(data.get("spellings") or {}),
    )


@lru_cache(maxsize=1)
def _kind_heads() -> frozenset[str]:
    """The roots that name a kind of product: only the section's own data grounds them, never the catalogue
    vocabulary around its theme ("necklaces" on a shelf of bells, though the Gifts category sells necklaces)."""
    return frozenset(root(phrase[-1]) for phrase in product_types())


# ---------------------------------------------------------------- the grounding gate and the claim classes


@dataclass(frozen=True)
class _Grounds:
    """The roots of a text of facts, with every start and end of three letters or more of each (for compounds)."""

    text: str  # lower case
    roots: frozenset[str]
    affixes: frozenset[str]


@lru_cache(maxsize=4096)
def _grounds(text: str) -> _Grounds:
    roots = frozenset(token.root for token in _tokens(text))
    affixes = frozenset(a for r in roots for n in range(3, len(r) + 1) for a in (r[:n], r[-n:]))
    return _Grounds(text.lower(), roots, affixes)


def _among(word: str, grounds: _Grounds, part: int = 3) -> bool:
    """A root the facts hold, itself or in a compound: a fact word starts or ends with it ("tea" for "Teacup"), or
    it starts or ends with a fact word of four letters or more ("washbag" for "Bag")."""
    if word in grounds.roots or (len(word) >= part and word in grounds.affixes):
        return True
    return any(word[:n] in grounds.roots or word[-n:] in grounds.roots for n in range(4, len(word)))


@lru_cache(maxsize=65536)
def _class_matches(text: str, lex: Lexicon) -> tuple[tuple[WordClass, str, str, frozenset[int], tuple[str, ...]], ...]:
    """Every match of a claim class in a text, whatever the section: (class, the term, or for a pattern its first
    group's words or "", the words as written, the indexes of the tokens covered, the words or kinds that license
    it)."""
    tokens = _tokens(text)
    roots = tuple(token.root for token in tokens)
    single, multi = lex.terms
    found = [(n, 1, term) for n, r in enumerate(roots) for term in single.get(r, ())]
    found += [(n, len(term[2]), term) for term in (multi if len(roots) > 1 else ())
              for n in range(len(roots) - len(term[2]) + 1) if roots[n : n + len(term[2])] == term[2]]  # fmt: skip
    matches = [(cls, term, text[tokens[n].start : tokens[n + size - 1].end], frozenset(range(n, n + size)), licences)
               for n, size, (cls, term, _, licences) in found]  # fmt: skip
    for cls in lex.classes:
        for pattern, kinds in cls.patterns:
            for match in pattern.finditer(text):
                cover = frozenset(n for n, t in enumerate(tokens) if t.start < match.end() and t.end > match.start())
                claim = match.group(1).lower() if pattern.groups else ""  # a group: the words the data must hold
                matches.append((cls, claim, match.group(0).strip(), cover, kinds))
    return tuple(matches)


@dataclass(frozen=True, eq=False)
class _Judge:
    """What one section's copy is held against, made ready once: the lexicon, the section's own facts (which
    license claims and ground kinds of product), those with the catalogue words around its theme (which ground
    every other word), and the words its kind of section may use and those of other kinds."""

    lex: Lexicon
    kind: str
    own: _Grounds
    catalogue: _Grounds
    kind_roots: frozenset[str]
    others: frozenset[str]

    def licensed(self, cls: WordClass, term: str, span: str, licences: tuple[str, ...]) -> bool:
        """A class's match is licensed by the section's kind, or by its own facts holding the words matched (or,
        for a term, its root or one of the words that license it: "Christmas" licenses "festive")."""
        if cls.licensed_by != "facts":
            return cls.licensed_by == "kind" and (not self.kind or self.kind in licences)
        if re.search(r"(?<!\w)" + re.escape((term or span).lower()) + r"(?!\w)", self.own.text):
            return True  # whole words: "Asbestos" holds no "best", "Women's" no "men"
        return bool(term) and any(_among(root(w), self.own, part=4) for w in (term, *licences) if " " not in w)

    def content(self, token: _Token) -> bool:
        """A content word: three letters or more, neither a stopword nor a house-style word."""
        return len(token.text) >= 3 and token.text.lower() not in STOPWORDS and token.root not in self.lex.house

    def grounded(self, token: _Token) -> bool:
        """A content word the section's kind or facts hold (a kind of product: its own facts, not the catalogue's)."""
        facts = self.own if token.root in _kind_heads() else self.catalogue
        return token.root in self.kind_roots or _among(token.root, facts)

    def rejected(self, text: str) -> list[Violation]:
        """The one word check: the claim classes' matches the section does not license, then the grounding gate
        (every other content word from the facts, the house style or the kind; each once). It judges the copy
        (`check_words`) and the words to avoid (`words_to_avoid`), and its spans drive retries and repairs."""
        found: list[Violation] = []
        covered: set[int] = set()
        seen: set[str] = set()
        for cls, term, span, cover, licences in _class_matches(text, self.lex):
            covered.update(cover)
            if not self.licensed(cls, term, span, licences):
                found.append(Violation(cls.name, span if cls.repair else "", f"{span!r} {cls.message}"))
        for n, token in enumerate(_tokens(text)):
            if n not in covered and token.root not in seen and self.content(token) and not self.grounded(token):
                seen.add(token.root)
                why = f"is not true of a {self.kind} shelf" if token.root in self.others else "is not in the data"
                found.append(Violation("grounding", token.text, f"{token.text!r} {why}"))
        return found


@lru_cache(maxsize=4096)
def _judge(facts: SectionFacts) -> _Judge | None:
    lex = lexicon(facts.locale)
    if lex is None:
        return None
    kind_roots = lex.kind_roots.get(facts.kind, frozenset())
    catalogue = _grounds(f"{facts.own_text} {' '.join(facts.vocabulary)}")
    return _Judge(lex, facts.kind, _grounds(facts.own_text), catalogue, kind_roots, lex.kind_roots[""] - kind_roots)


def check_words(copy: SectionCopy, facts: SectionFacts) -> list[Violation]:
    """The claim classes and the grounding gate of the copy's locale (none without a lexicon)."""
    judge = _judge(facts)
    return judge.rejected(f"{copy.title}\n{copy.blurb}") if judge is not None else []


@lru_cache(maxsize=4096)
def words_to_avoid(facts: SectionFacts) -> tuple[str, ...]:
    """The words and phrases the checks would reject in this section's copy, known before it is written: the
    claim classes' terms its data does not license, and of the words a model is likely to reach for (other kinds
    of section's words, the kinds of product of `product_types()`, the examples' and other sections' words) those
    the grounding gate rejects. For constrained decoding; patterns ("you have ordered", "£5") are left to the
    checks, and so are the shop's banned words (cached copy is checked against them again)."""
    judge = _judge(facts)
    if judge is None:
        return ()
    likely = {*(term for cls in judge.lex.classes if cls.repair for term, _, _ in cls.terms),
              *(w for ws in judge.lex.kind_words.values() for w in ws), *(phrase[-1] for phrase in product_types()),
              *(w.lower() for text in facts.foreign_texts for w in words(text))}  # fmt: skip
    return tuple(sorted(w for w in likely if judge.rejected(w)))


def names_own(text: str, facts: SectionFacts) -> bool:
    """Whether a text names something of the section's own data (a content word its facts hold)."""
    judge = _judge(facts)
    return judge is not None and any(judge.content(t) and _among(t.root, judge.catalogue) for t in _tokens(text))


def distinctive_stems(text: str, locale: str = "en-GB") -> set[str]:
    """The stems of a text that would identify a product: not stopwords, not house-style words."""
    lex = lexicon(locale)
    house = lex.house if lex is not None else frozenset()
    return {s for s in stems(text) if len(s) > 2 and s not in STOPWORDS and root(s) not in house}


# ---------------------------------------------------------------- repairs


def sentences(text: str) -> list[str]:
    """The sentences of a text (split after . ! or ? followed by a space)."""
    return [part for part in re.split(r"(?<=[.!?])\s+(?=\S)", text.strip()) if part]


def localise_spelling(copy: SectionCopy, locale: str) -> SectionCopy:
    """The lexicon's spellings for its own locale (en-GB: "jewelry" -> "jewellery", "cozy" -> "cosy"), keeping the
    case: small models write American English whatever the prompt says. Other locales are returned unchanged."""
    lex = lexicon(locale)
    if lex is None or lex.locale.lower() != locale.lower() or not lex.spellings:
        return copy
    spelt = re.compile(r"\b(" + "|".join(sorted(map(re.escape, lex.spellings), key=len, reverse=True)) + r")\b", re.I)

    def swap(match: re.Match[str]) -> str:
        word = match.group(0)
        new = lex.spellings[word.lower()]
        return new.upper() if word.isupper() else new.capitalize() if word[0].isupper() else new

    return copy.model_copy(update={"title": spelt.sub(swap, copy.title), "blurb": spelt.sub(swap, copy.blurb)})


def fit_to_limits(copy: SectionCopy, limits: CopyLimits = DEFAULT_LIMITS) -> SectionCopy:
    """A repair, not a rule. A title over the limits made of parts ("Christmas at Home: Gifts for Everyone") keeps
    its last part that fits on its own (two words at least); a blurb of several sentences keeps its first sentence
    when that one fits (four words at least). Anything else is left for check_length to reject."""

    def title_fits(text: str) -> bool:
        return 2 <= len(text.split()) <= limits.title_words and len(text) <= limits.title_chars

    def blurb_fits(text: str) -> bool:
        return 4 <= len(text.split()) <= limits.blurb_words and len(text) <= limits.blurb_chars

    title, blurb = copy.title, copy.blurb
    if not title_fits(title) and len(title.split()) >= 2:
        for separator in (":", " — ", " – ", " - ", " | "):
            parts = [part.strip() for part in title.split(separator) if part.strip()]
            fitting = [part for part in parts if title_fits(part)] if len(parts) > 1 else []
            if fitting:
                title = fitting[-1]
                break
    parts = sentences(blurb)
    if len(parts) > 1 and blurb_fits(parts[0]):
        blurb = parts[0]
    if (title, blurb) == (copy.title, copy.blurb):
        return copy
    return copy.model_copy(update={"title": title, "blurb": blurb})


_CLAUSE_BREAK = re.compile(r"(,\s+|\s+[-–—]\s+)")


def drop_clause(copy: SectionCopy, violations: Sequence[Violation]) -> SectionCopy | None:
    """A repair, not a rule: the blurb without the clauses (parts between commas or dashes) that hold the spans of
    the violations ("Bags for every taste, from the simple to the sophisticated." -> "Bags for every taste.").
    None when a violation has no span (a rule of form), a span is in the title or spans clauses, or when what is
    left is not a blurb (under four words, or nothing dropped). The caller checks the result again."""
    quoted = [v.span.lower() for v in violations]
    if not quoted or not all(quoted) or any(q in copy.title.lower() for q in quoted):
        return None
    clauses = _CLAUSE_BREAK.split(copy.blurb.strip())[0::2]
    bad = {n for n, clause in enumerate(clauses) if any(q in clause.lower() for q in quoted)}
    if not bad or len(bad) == len(clauses) or not all(any(q in c.lower() for c in clauses) for q in quoted):
        return None
    text = ", ".join(clauses[n] for n in range(len(clauses)) if n not in bad).strip().rstrip(",;:-–— ").strip()
    if not text.endswith((".", "!")):
        text = text.rstrip(".!?") + "."
    text = text[0].upper() + text[1:]
    if len(text.split()) < 4:
        return None
    return copy.model_copy(update={"blurb": text})


# ---------------------------------------------------------------- rules of form


def check_length(copy: SectionCopy, limits: CopyLimits = DEFAULT_LIMITS) -> list[Violation]:
    found = []
    fields = (("title", copy.title, limits.title_words, limits.title_chars),
              ("blurb", copy.blurb, limits.blurb_words, limits.blurb_chars))  # fmt: skip
    for name, value, max_words, max_chars in fields:
        if len(value.split()) > max_words:
            found.append(Violation("length", "", f"{name} has {len(value.split())} words (max {max_words})"))
        if len(value) > max_chars:
            found.append(Violation("length", "", f"{name} has {len(value)} characters (max {max_chars})"))
    if len(copy.blurb.split()) < 4:
        found.append(Violation("length", "", f"blurb has only {len(copy.blurb.split())} words"))
    if (count := len(sentences(copy.blurb))) > 1:
        found.append(Violation("length", "", f"blurb has {count} sentences (max 1)"))
    return found


_FORM = {
    "markup": (re.compile(r"<[^>]+>|\*\*|__|`|\[[^\]]*\]\([^)]*\)|^\s*#|^\s*[-*]\s", re.M), "contains markup"),
    "url": (re.compile(r"https?://|www\.|\b[\w-]+\.(?:com|co\.uk|net|org|io|shop)\b", re.I), "contains a URL"),
    "email": (re.compile(r"[\w.+-]+@[\w-]+\.[\w.]+"), "contains an email address"),
}
_NON_LATIN = re.compile(r"[^\x00-\u024F\u2010-\u2027\u2030-\u205E\u00A0\u20AC]")
_CJK = re.compile(r"[\u3040-\u30FF\u3400-\u4DBF\u4E00-\u9FFF\uAC00-\uD7AF\uF900-\uFAFF\uFF00-\uFFEF]")


def check_form(copy: SectionCopy, facts: SectionFacts) -> list[Violation]:
    """Markup, URLs, email addresses, the shop's banned words (whole words, any case) and another script."""
    fields = (("title", copy.title), ("blurb", copy.blurb))
    found = [Violation(rule, "", f"{name} {what}") for name, value in fields
             for rule, (pattern, what) in _FORM.items() if pattern.search(value)]  # fmt: skip
    text = f"{copy.title} {copy.blurb}".lower()
    banned = [word.strip() for word in facts.banned_words if word.strip()]
    found += [Violation("banned", word, f"{word!r} is a word the shop bans") for word in banned
              if re.search(rf"(?<!\w){re.escape(word.lower())}(?!\w)", text)]  # fmt: skip
    language = facts.locale.split("-")[0].lower()
    script = None if language in ("zh", "ja", "ko") else _CJK if language != "en" else _NON_LATIN
    if script is not None and (match := script.search(f"{copy.title} {copy.blurb}")):
        found.append(Violation("language", "", f"{match.group(0)!r} is not written in {facts.locale}'s script"))
    return found


def check_list_pasting(copy: SectionCopy, facts: SectionFacts, max_names: int = 2) -> list[Violation]:
    """The blurb must not paste more than `max_names` product names nor run a list of four or more things
    ("Purses, tags, washbags, paisleys and handbags"); the title must not be a product name."""
    found, blurb = [], copy.blurb.lower()
    if blurb.count(",") >= 3:
        found.append(Violation("list", "", f"blurb runs a list ({blurb.count(',')} commas)"))
    pasted = [name for name in facts.product_names if len(name) > 3 and name.lower() in blurb]
    if len(pasted) > max_names:
        found.append(Violation("list", "", f"blurb pastes {len(pasted)} product names"))
    title = copy.title.strip().lower().rstrip("!.")
    if title and any(title == name.lower() for name in (*facts.product_names, facts.anchor) if name):
        found.append(Violation("list", "", "the title is just a product name"))
    return found


def check_repetition(copy: SectionCopy) -> list[Violation]:
    found = []
    for name, value in (("title", copy.title), ("blurb", copy.blurb)):
        tokens = [w.lower() for w in words(value)]
        if any(a == b for a, b in zip(tokens, tokens[1:], strict=False)):
            found.append(Violation("repetition", "", f"{name} repeats a word"))
    content = [stem(w) for w in words(copy.blurb) if w.lower() not in STOPWORDS]
    if content and max(content.count(w) for w in set(content)) >= 3:
        found.append(Violation("repetition", "", "blurb repeats a word three times"))
    return found


def check_copy(copy: SectionCopy, facts: SectionFacts, limits: CopyLimits = DEFAULT_LIMITS) -> list[Violation]:
    """Every rule's violations; empty means the copy may be published."""
    return [*check_length(copy, limits), *check_form(copy, facts), *check_list_pasting(copy, facts),
            *check_repetition(copy), *check_words(copy, facts)]  # fmt: skip


def copy_score(copy: SectionCopy, facts: SectionFacts) -> float:
    """How much a shop would like this copy, among candidates that pass every rule (higher is better; pure).

    For it: content words the section's data holds (up to two). Against it: content words it does not hold,
    reciting more than two of the kinds of product the prompt named (list-pasting), a title that only repeats the
    theme's category names, and words the title and blurb share."""
    judge = _judge(facts)
    tokens = [t for t in _tokens(f"{copy.title} {copy.blurb}") if judge is not None and judge.content(t)]
    content = {t.root for t in tokens}
    grounded = {t.root for t in tokens if judge is not None and _among(t.root, judge.catalogue)}
    blurb = copy.blurb.lower()
    recited = sum(1 for kind in facts.typical if kind and re.search(rf"\b{re.escape(kind.lower())}\b", blurb))
    title = stems(copy.title) - STOPWORDS
    lazy = bool(title) and title <= stems(" ".join(facts.categories))
    categories = stems(" ".join(facts.categories))
    echoed = len((distinctive_stems(copy.title) & distinctive_stems(copy.blurb)) - categories)
    return (0.5 * min(2, len(grounded)) - 0.5 * len(content - grounded) - 1.0 * max(0, recited - 2) - 1.5 * lazy
            - 0.25 * echoed)  # fmt: skip
