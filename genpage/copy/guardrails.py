"""Checks that section copy is safe to publish. Pure functions, no model.

Each rule takes the copy (and what it needs to know about the section) and returns a list of violations, as
strings "<rule>: <detail>". `check_copy` runs every rule; copy with any violation is not published (the caller
swaps in fallback copy and records the violations).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from genpage.resources import prompts_dir
from genpage.schemas import SectionCopy
from genpage.text import STOPWORDS, stem, stems, words


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
    campaign_text: str = ""  # the campaign's name and brief: may allow "sale" or "gift" claims
    foreign_texts: tuple[str, ...] = ()  # in-context examples and other sections' products
    locale: str = "en-GB"
    banned_words: tuple[str, ...] = ()
    vocabulary: tuple[str, ...] = ()  # segment level: words the theme's categories use in the catalogue
    typical: tuple[str, ...] = ()  # segment level: the kinds of product the prompt named
    kind: str = ""  # the kind of section ("trending", "buy_again" ...): whose choice the products are

    @property
    def own_text(self) -> str:
        return " ".join(
            (*self.product_names, self.anchor, *self.categories, self.campaign_text, *self.vocabulary, *self.typical)
        )

    @property
    def kinds_text(self) -> str:
        """What says which kinds of product the section shows (not the catalogue vocabulary around it)."""
        return " ".join((*self.product_names, self.anchor, *self.categories, self.campaign_text, *self.typical))


# Words too common in shop copy to count as borrowed from another section or an example.
_GENERIC = frozenset(
    """set pack box kit piece pieces item items gift gifts home house room day days time way ways idea ideas
    new fresh little big small large mini jumbo style styles colour colours color design designs pretty lovely
    perfect favourite favourites essential essentials everyday classic simple easy ready made make makes keep
    keeps bring brings add adds look looks feel feels love loved touch treat treats choice pick picks picked
    shop shopper shoppers shopping season festive cosy cozy bright warm soft fun playful practical charming
    handy useful beautiful stylish selection collection range things everything something anyone everyone
    red blue green pink white black yellow orange purple gold silver cream grey gray brown natural vintage retro
    spot spotty polka dots stripe striped floral heart hearts star stars paper wooden wood glass metal""".split()
)

_CURRENCY = re.compile(r"[£$€¥]\s?\d|\d\s?(?:£|€|p\b|pence|pounds?|dollars?|euros?|usd|gbp|eur)\b", re.I)
_PERCENT = re.compile(r"\d\s?%|\bper\s?cent\b|\bpercent\b", re.I)
_DISCOUNT = re.compile(
    r"\b(?:sale|on sale|discount\w*|% off|half price|free (?:shipping|delivery|postage)|cheap\w*|bargains?|"
    r"deals?|clearance|lowest price|savings|coupons?|vouchers?|special offers?|on offer|affordabl[ey]|inexpensive|"
    r"budget|value for money|low[- ]cost|(?:save|saving|spend|spending) (?:\w+ ){0,2}money|breaking the bank|"
    r"pocket[- ]friendly)\b",
    re.I,
)
_SUPERLATIVE = re.compile(
    r"(?:#\s?1\b|\bnumber one\b|\bbest\b|\bguarantee[ds]?\b|\bunbeatable\b|\bworld'?s\b|\bultimate\b|"
    r"\bfinest\b|\bmost popular\b|\btop[- ]rated\b)",
    re.I,
)
# Claims about quality, materials or origin that only the catalogue can make ("durable", "handmade", "premium").
_QUALITY = re.compile(
    r"\b(?:high[- ]quality|top[- ]quality|premium|luxur(?:y|ious)|durable|long[- ]lasting|hand[- ]?made|"
    r"hand[- ]?crafted|authentic|genuine|organic|eco[- ]friendly|sustainabl[ey]|award[- ]winning)\b",
    re.I,
)
_MARKUP = re.compile(r"<[^>]+>|\*\*|__|`|\[[^\]]*\]\([^)]*\)|^\s*#|^\s*[-*]\s", re.M)
_URL = re.compile(r"https?://|www\.|\b[\w-]+\.(?:com|co\.uk|net|org|io|shop)\b", re.I)
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+\.[\w.]+")
_ECHO = re.compile(
    r"\b(?:title|blurb|anchor|products?|interests|campaign|tone|section)\s*:|\bsection\b|\bjson\b|[{}]|"
    r"\bas an ai\b|\blanguage model\b|\bI(?:'m| am) sorry\b|\bI (?:cannot|can't|can not)\b|\bhere is\b|\bhere's\b|"
    r"\bI don't have\b",
    re.I,
)
_NON_LATIN = re.compile(r"[^\x00-\u024F\u2010-\u2027\u2030-\u205E\u00A0\u20AC]")
_CJK = re.compile(r"[\u3040-\u30FF\u3400-\u4DBF\u4E00-\u9FFF\uAC00-\uD7AF\uF900-\uFAFF\uFF00-\uFFEF]")


def sentences(text: str) -> list[str]:
    """The sentences of a text (split after . ! or ? followed by a space)."""
    return [part for part in re.split(r"(?<=[.!?])\s+(?=\S)", text.strip()) if part]


def is_own(word: str, own: set[str]) -> bool:
    """A stem the section's own words hold, compounds included: "tea" is its own where it sells "teacups"."""
    return any(word in o or (len(o) > 3 and o in word) for o in own)


def distinctive_stems(text: str) -> set[str]:
    """The stems of a text that would identify a product: not stopwords, not generic shop vocabulary."""
    return {s for s in stems(text) if len(s) > 2 and s not in STOPWORDS and s not in _GENERIC}


def names_own(text: str, facts: SectionFacts) -> bool:
    """Whether a text names something of the section's own data (a distinctive word of its products, theme,
    kinds or campaign)."""
    own = distinctive_stems(facts.own_text)
    return any(is_own(w, own) for w in distinctive_stems(text))


# ---------------------------------------------------------------- the rules


_US_TO_GB = {
    "jewelry": "jewellery", "color": "colour", "colors": "colours", "colorful": "colourful", "favorite": "favourite",
    "favorites": "favourites", "cozy": "cosy", "cozier": "cosier", "organize": "organise", "organized": "organised",
    "organizing": "organising", "organizer": "organiser", "organizers": "organisers", "center": "centre",
    "centerpiece": "centrepiece", "gray": "grey", "personalized": "personalised", "personalize": "personalise",
    "theater": "theatre", "stationary": "stationery", "mom": "mum", "moms": "mums",
}  # fmt: skip
_US_WORD = re.compile(r"\b(" + "|".join(sorted(_US_TO_GB, key=len, reverse=True)) + r")\b", re.I)


def localise_spelling(copy: SectionCopy, locale: str) -> SectionCopy:
    """British spellings in en-GB copy ("jewelry" -> "jewellery", "cozy" -> "cosy"), keeping the case; small models
    write American English whatever the prompt says. Also one misspelling they make in shop copy, "stationary" for
    "stationery" (a shop homepage hardly means "not moving"). Other locales are returned unchanged."""
    if not locale.lower().startswith("en-gb"):
        return copy

    def swap(match: re.Match[str]) -> str:
        word = match.group(0)
        gb = _US_TO_GB[word.lower()]
        return gb.upper() if word.isupper() else gb.capitalize() if word[0].isupper() else gb

    return copy.model_copy(update={"title": _US_WORD.sub(swap, copy.title), "blurb": _US_WORD.sub(swap, copy.blurb)})


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


# Rules whose violation quotes the words that broke it, so that the clause holding them can be dropped.
_CLAUSE_RULES = frozenset("range claim occasion discount superlative quality viewpoint audience".split())
_CLAUSE_BREAK = re.compile(r"(,\s+|\s+[-–—]\s+)")


def drop_clause(copy: SectionCopy, violations: list[str]) -> SectionCopy | None:
    """A repair, not a rule: the blurb without the clauses (parts between commas or dashes) that hold the words
    the violations quote ("Bags for every taste, from the simple to the sophisticated." -> "Bags for every
    taste."). None when a violation is of another rule, quotes nothing, is in the title or spans clauses, or when
    what is left is not a blurb (under four words, or nothing dropped). The caller checks the result again."""
    quoted = []
    for violation in violations:
        found = re.findall(r"'([^']+)'", violation)
        if violation.split(":", 1)[0] not in _CLAUSE_RULES or not found:
            return None
        quoted += [q.lower() for q in found]
    if any(q in copy.title.lower() for q in quoted):
        return None
    parts = _CLAUSE_BREAK.split(copy.blurb.strip())
    clauses = parts[0::2]
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


def check_length(copy: SectionCopy, limits: CopyLimits = DEFAULT_LIMITS) -> list[str]:
    found = []
    title_words, blurb_words = len(copy.title.split()), len(copy.blurb.split())
    if title_words > limits.title_words:
        found.append(f"length: title has {title_words} words (max {limits.title_words})")
    if len(copy.title) > limits.title_chars:
        found.append(f"length: title has {len(copy.title)} characters (max {limits.title_chars})")
    if blurb_words > limits.blurb_words:
        found.append(f"length: blurb has {blurb_words} words (max {limits.blurb_words})")
    if len(copy.blurb) > limits.blurb_chars:
        found.append(f"length: blurb has {len(copy.blurb)} characters (max {limits.blurb_chars})")
    if blurb_words < 4:
        found.append(f"length: blurb has only {blurb_words} words")
    count = len(sentences(copy.blurb))
    if count > 1:
        found.append(f"length: blurb has {count} sentences (max 1)")
    return found


def check_claims(copy: SectionCopy, facts: SectionFacts) -> list[str]:
    """No prices, percentages, discounts, superlatives or quality claims, unless the section's own data says so."""
    text, own = f"{copy.title} {copy.blurb}", facts.own_text.lower()
    found = []
    for rule, pattern in (("price", _CURRENCY), ("percentage", _PERCENT), ("discount", _DISCOUNT),
                          ("superlative", _SUPERLATIVE), ("quality", _QUALITY)):  # fmt: skip
        for match in pattern.finditer(text):
            phrase = match.group(0).strip()
            if phrase.lower() not in own:
                found.append(f"{rule}: {phrase!r}")
    return found


def check_markup(copy: SectionCopy) -> list[str]:
    found = []
    for field_name, value in (("title", copy.title), ("blurb", copy.blurb)):
        if _MARKUP.search(value):
            found.append(f"markup: {field_name} contains markup")
        if _URL.search(value):
            found.append(f"url: {field_name} contains a URL")
        if _EMAIL.search(value):
            found.append(f"email: {field_name} contains an email address")
    return found


def check_prompt_echo(copy: SectionCopy) -> list[str]:
    """Refusals, commentary, and pieces of the prompt repeated back."""
    found = []
    for field_name, value in (("title", copy.title), ("blurb", copy.blurb)):
        match = _ECHO.search(value)
        if match:
            found.append(f"echo: {field_name} contains {match.group(0)!r}")
    return found


def check_banned(copy: SectionCopy, banned_words: Iterable[str]) -> list[str]:
    text = f"{copy.title} {copy.blurb}".lower()
    return [
        f"banned: {word!r}"
        for word in banned_words
        if word.strip() and re.search(rf"(?<!\w){re.escape(word.strip().lower())}(?!\w)", text)
    ]


def check_language(copy: SectionCopy, locale: str = "en-GB") -> list[str]:
    text = f"{copy.title} {copy.blurb}"
    language = locale.split("-")[0].lower()
    if language in ("zh", "ja", "ko"):
        return []
    if _CJK.search(text):
        return [f"language: CJK characters in {locale} copy"]
    if language == "en" and _NON_LATIN.search(text):
        return [f"language: non-Latin characters in {locale} copy: {_NON_LATIN.search(text).group(0)!r}"]  # type: ignore[union-attr]
    return []


def check_list_pasting(copy: SectionCopy, facts: SectionFacts, max_names: int = 2) -> list[str]:
    """The blurb must not paste more than `max_names` product names nor run a list of four or more things
    ("Purses, tags, washbags, paisleys and handbags"); the title must not be a product name."""
    found = []
    blurb = copy.blurb.lower()
    if blurb.count(",") >= 3:
        found.append(f"list: blurb runs a list ({blurb.count(',')} commas)")
    pasted = [name for name in facts.product_names if len(name) > 3 and name.lower() in blurb]
    if len(pasted) > max_names:
        found.append(f"list: blurb pastes {len(pasted)} product names")
    title = copy.title.strip().lower().rstrip("!.")
    if title and any(title == name.lower() for name in (*facts.product_names, facts.anchor) if name):
        found.append("list: the title is just a product name")
    return found


@lru_cache(maxsize=4)
def product_types(path: str | None = None) -> tuple[tuple[str, ...], ...]:
    """The kinds of product of `prompts/product_types.txt` ("hot water bottle", "jar"), as stemmed phrases."""
    text = Path(path or prompts_dir() / "product_types.txt").read_text(encoding="utf-8")
    lines = (line.split("#", 1)[0].strip().lower() for line in text.splitlines())
    return tuple(sorted({tuple(stem(w) for w in words(line)) for line in lines if line}))


# Kinds of product whose word is also a material, a verb or shop talk ("glass", "sign", "light up", "storage"):
# naming them is not naming a product the section lacks.
_LOOSE_KINDS = frozenset("decoration storage kit holder case light glass tin sign wrap ornament set".split())


def check_kinds(copy: SectionCopy, facts: SectionFacts) -> list[str]:
    """No kind of product (from `product_types()`) that the section does not show: "necklaces" on a shelf of
    sewing kits, "plants" on one of plant labels. A kind is the section's when its products, anchor, categories,
    campaign or (segment level) the kinds its prompt named hold the word."""
    allowed = stems(facts.kinds_text)
    named = sorted({stem(w) for w in words(f"{copy.title} {copy.blurb}")} & _kind_heads())
    return [f"kind: names {w!r}, which this section does not show" for w in named if not is_own(w, allowed)]


# Who the products are for is a fact only the data can give ("for the little ones" on a shelf of cake cases).
_AUDIENCE = frozenset("kid child children toddler baby teen teenager mum dad grandparent men women girl boy".split())
_AUDIENCE_OK = frozenset("kid child children baby toddler toy girl boy".split())  # the data's words for them (stems)


def check_audience(copy: SectionCopy, facts: SectionFacts) -> list[str]:
    """No shopper group (kids, babies, mums ...) the section's data does not name: "little ones" counts too."""
    text = f"{copy.title} {copy.blurb}"
    named = {stem(w) for w in words(text)} & _AUDIENCE
    if re.search(r"\blittle ones?\b", text, re.I):
        named.add("little ones")
    if not named or stems(facts.own_text) & _AUDIENCE_OK:
        return []
    return [f"audience: names {w!r}, which the section's data does not" for w in sorted(named)]


# What the shopper did with the products, by kind of section: only a buy-again shelf holds what they ordered.
# (Only these words are kept out while decoding: "picked for you" and "selected" are fine on any shelf.)
_DONE = {"bought": "bought ordered purchased", "chosen": "chosen"}
_DONE_OK = {"buy_again": {"bought", "chosen"}, "because_bought": {"bought"}, "because_viewed": {"looked"}}
_VIEWPOINT = re.compile(
    r"\byou(?:'ve| have)? (?:already )?(bought|ordered|purchased|chosen|picked|selected)\b|"
    r"\byou(?:'ve| have)? been (looking) (?:for|forward to)\b|"
    r"\byou(?:'ve| have)? (?:already )?(seen|viewed|looked at)\b",
    re.I,
)


def check_viewpoint(copy: SectionCopy, facts: SectionFacts) -> list[str]:
    """Copy must not say the shopper bought or chose what a shelf shows unless the shelf is made of that: "the
    bags you have chosen" on a trending shelf is false (buy-again and because-you-bought shelves may say it)."""
    if not facts.kind:  # unknown: nothing to hold the copy against
        return []
    allowed = _DONE_OK.get(facts.kind, set())
    found = []
    for match in _VIEWPOINT.finditer(f"{copy.title} {copy.blurb}"):
        verb = next(g for g in match.groups() if g).lower()
        seen = verb in ("looking", "seen", "viewed", "looked at")
        group = "bought" if verb in _DONE["bought"].split() else "looked" if seen else "chosen"
        if group not in allowed:
            found.append(f"viewpoint: {match.group(0)!r} is not true of a {facts.kind} shelf")
    return found


@lru_cache(maxsize=4)
def unbacked_claims(path: str | None = None) -> tuple[str, ...]:
    """Stock phrases that claim what no catalogue says (`prompts/unbacked_claims.txt`, lower case)."""
    text = Path(path or prompts_dir() / "unbacked_claims.txt").read_text(encoding="utf-8")
    return tuple(line.split("#", 1)[0].strip().lower() for line in text.splitlines() if line.split("#", 1)[0].strip())


_RANGE = re.compile(r"\bfrom ([\w'-]+(?: [\w'-]+){0,3}) to ([\w'-]+(?: [\w'-]+){0,2})(?=[,.;!]|$| and\b| [-–—])",
                    re.I)


def check_range(copy: SectionCopy, facts: SectionFacts) -> list[str]:
    """No "from birthdays to anniversaries" span unless the data holds both ends: it claims a variety (occasions,
    times, people) the section may not have."""
    own = distinctive_stems(facts.own_text)
    found = []
    for match in _RANGE.finditer(copy.blurb):
        ends = distinctive_stems(f"{match.group(1)} {match.group(2)}")
        if not all(is_own(w, own) for w in ends):
            found.append(f"range: {match.group(0)!r} spans more than the data shows")
    return found


def check_unbacked(copy: SectionCopy, facts: SectionFacts) -> list[str]:
    """No stock claim of `unbacked_claims()` ("a good cause", "we have it all") unless the data says it."""
    text, own = f"{copy.title} {copy.blurb}".lower(), facts.own_text.lower()
    return [f"claim: {phrase!r} is not in the data" for phrase in unbacked_claims()
            if re.search(rf"(?<!\w){re.escape(phrase)}(?!\w)", text) and phrase not in own]  # fmt: skip


# Occasions and seasons are facts about products ("Bells for Christmas" on a shelf of sewing kits and bells is
# invented): named only where the section's own data names them (stems; "xmas" counts as "christmas").
_OCCASIONS = frozenset(
    """christmas xmas birthday holiday wedding anniversary easter valentine halloween thanksgiving graduation
    summer winter autumn""".split()
)
_SEASON = re.compile(r"\bseasons?\b|\bseasonal\b", re.I)


def _occasions_in(text: str) -> set[str]:
    """The occasions and seasons a text names, as in `_OCCASIONS` ("Christmas", "birthdays", "Valentine's"), and
    "new year"."""
    found = {"new year"} if re.search(r"\bnew year", text, re.I) else set()
    for word in words(text):
        word = re.sub(r"['’]s$", "", word.lower())
        for form in (word, stem(word)):
            if form in _OCCASIONS:
                found.add("christmas" if form == "xmas" else form)
    return found


def _occasions_allowed(facts: SectionFacts) -> set[str]:
    """The occasions copy may name: those the section's own data names; Christmas brings "the holidays"."""
    named = _occasions_in(facts.kinds_text)
    return named | {"holiday"} if "christmas" in named else named


def check_occasion(copy: SectionCopy, facts: SectionFacts) -> list[str]:
    """No occasion or season (Christmas, birthdays, the holidays, summer) that the section's own data does not name,
    and "season" only where it names one ("the festive season" on a Christmas shelf, not "for every season" on a
    shelf of plant labels). The data is the products, anchor, categories, campaign and the kinds the prompt named,
    not the catalogue vocabulary around a theme."""
    text = f"{copy.title} {copy.blurb}"
    allowed = _occasions_allowed(facts)
    found = [f"occasion: names {w!r}, which the section's data does not" for w in sorted(_occasions_in(text) - allowed)]
    if not allowed and (match := _SEASON.search(text)):
        found.append(f"occasion: names {match.group(0)!r}, but the section's data names no occasion or season")
    return found


@lru_cache(maxsize=1)
def _kind_heads() -> frozenset[str]:
    return frozenset(phrase[-1] for phrase in product_types()) - _LOOSE_KINDS


# The sales and superlative words of the claim rules that a model reaches for ("Home Comforts on Sale"):
# kept out while decoding unless the section's data (a campaign brief) says them.
_SALES_WORDS = ("sale", "on offer", "discount", "discounted", "bargain", "cheap", "deal", "best", "ultimate")


@lru_cache(maxsize=4096)
def words_to_avoid(facts: SectionFacts) -> tuple[str, ...]:
    """The words and phrases the checks would reject in this section's copy, known before it is written: kinds of
    product the section does not show, the examples' words, shopper groups the data does not name, what the
    shopper did on a shelf that is not made of it ("ordered" on a trending shelf), unbacked stock claims, sales
    words, and occasions and seasons the data does not name. For constrained decoding; "little ones" and "you have
    chosen" are left to the checks."""
    allowed, own = stems(facts.kinds_text), distinctive_stems(facts.own_text)
    kinds = {w for w in _kind_heads() if not is_own(w, allowed)}
    foreign = {w for text in facts.foreign_texts for w in distinctive_stems(text) if not is_own(w, own)}
    audience = set() if stems(facts.own_text) & _AUDIENCE_OK else _AUDIENCE
    done = {v for g, verbs in _DONE.items() if facts.kind and g not in _DONE_OK.get(facts.kind, set())
            for v in verbs.split()}  # fmt: skip
    own_text = facts.own_text.lower()
    claims = {phrase for phrase in (*unbacked_claims(), *_SALES_WORDS) if phrase not in own_text}
    named = _occasions_allowed(facts)
    occasions = {w for w in (*_OCCASIONS, "new year") if ("christmas" if w == "xmas" else w) not in named}
    seasons = set() if named else {"season", "seasonal"}
    return tuple(sorted(kinds | foreign | audience | done | claims | occasions | seasons))


def check_foreign(copy: SectionCopy, facts: SectionFacts) -> list[str]:
    """Words that identify other products (from the examples shown or other sections) but not this section's."""
    own = distinctive_stems(facts.own_text)
    foreign: set[str] = set()
    for text in facts.foreign_texts:
        foreign |= distinctive_stems(text)
    leaked = sorted((distinctive_stems(f"{copy.title} {copy.blurb}") & foreign) - own)
    leaked = [w for w in leaked if not is_own(w, own)]
    return [f"foreign: mentions {w!r}, which is not in this section" for w in leaked]


def check_repetition(copy: SectionCopy) -> list[str]:
    found = []
    for field_name, value in (("title", copy.title), ("blurb", copy.blurb)):
        tokens = [w.lower() for w in words(value)]
        if any(a == b for a, b in zip(tokens, tokens[1:], strict=False)):
            found.append(f"repetition: {field_name} repeats a word")
    content = [stem(w) for w in words(copy.blurb) if w.lower() not in STOPWORDS]
    if content and max(content.count(w) for w in set(content)) >= 3:
        found.append("repetition: blurb repeats a word three times")
    return found


def copy_score(copy: SectionCopy, facts: SectionFacts) -> float:
    """How much a shop would like this copy, among candidates that pass every rule (higher is better; pure).

    For it: words the section's data holds (up to two). Against it: words the data does not hold (invented
    detail: "furniture", "getaways"), reciting more than two of the kinds of product the prompt named
    (list-pasting), a title that only repeats the theme's category names, and words the title and blurb share."""
    own = distinctive_stems(facts.own_text)
    copy_stems = distinctive_stems(f"{copy.title} {copy.blurb}")
    grounded = [w for w in copy_stems if is_own(w, own)]
    invented = [w for w in copy_stems if w not in grounded]
    blurb = copy.blurb.lower()
    recited = sum(1 for kind in facts.typical if kind and re.search(rf"\b{re.escape(kind.lower())}\b", blurb))
    title = stems(copy.title) - STOPWORDS
    lazy = bool(title) and title <= stems(" ".join(facts.categories))
    echoed = len((distinctive_stems(copy.title) & distinctive_stems(copy.blurb)) - stems(" ".join(facts.categories)))
    return 0.5 * min(2, len(grounded)) - 0.5 * len(invented) - 1.0 * max(0, recited - 2) - 1.5 * lazy - 0.25 * echoed


def check_copy(copy: SectionCopy, facts: SectionFacts, limits: CopyLimits = DEFAULT_LIMITS) -> list[str]:
    """Every rule's violations; empty means the copy may be published."""
    return [
        *check_length(copy, limits),
        *check_claims(copy, facts),
        *check_markup(copy),
        *check_prompt_echo(copy),
        *check_banned(copy, facts.banned_words),
        *check_language(copy, facts.locale),
        *check_list_pasting(copy, facts),
        *check_foreign(copy, facts),
        *check_kinds(copy, facts),
        *check_audience(copy, facts),
        *check_viewpoint(copy, facts),
        *check_occasion(copy, facts),
        *check_unbacked(copy, facts),
        *check_range(copy, facts),
        *check_repetition(copy),
    ]


def rule_of(violation: str) -> str:
    """The rule name of a violation string ("length: ..." -> "length")."""
    return violation.split(":", 1)[0]
