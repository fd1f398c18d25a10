"""Each guardrail rule: copy that passes and copy that fails."""

from __future__ import annotations

import pytest

from genpage.copy.guardrails import (
    CopyLimits,
    SectionFacts,
    check_banned,
    check_claims,
    check_copy,
    check_foreign,
    check_language,
    check_length,
    check_list_pasting,
    check_markup,
    check_prompt_echo,
    check_repetition,
    rule_of,
)
from genpage.schemas import SectionCopy

FACTS = SectionFacts(
    product_names=("White Metal Lantern", "Regency Tea Light Holder", "Hanging Heart T-Light Holder"),
    categories=("Lighting",),
    foreign_texts=("Knitted Bobble Hat Wool Mittens Check Scarf Wrap Up Warm",),
)
GOOD = SectionCopy(
    title="Soft Light for Cosy Evenings", blurb="Lanterns and holders that fill your rooms with a warm glow."
)


def test_good_copy_passes_every_rule():
    assert check_copy(GOOD, FACTS) == []


@pytest.mark.parametrize(
    ("title", "blurb", "expected"),
    [
        ("One Two Three Four Five Six Seven", GOOD.blurb, "length: title has 7 words (max 6)"),
        ("Lanterns", " ".join(["word"] * 26) + ".", "length: blurb has 26 words (max 25)"),
        ("Lanterns", "A warm glow for you. Another sentence here too.", "length: blurb has 2 sentences (max 1)"),
        ("Lanterns", "Warm glow.", "length: blurb has only 2 words"),
        ("A" * 51, GOOD.blurb, "length: title has 51 characters (max 50)"),
    ],
)
def test_length(title, blurb, expected):
    assert expected in check_length(SectionCopy(title=title, blurb=blurb), CopyLimits())


def test_length_passes_at_the_limits():
    copy = SectionCopy(title="One Two Three Four Five Six", blurb=" ".join(["word"] * 24) + " end.")
    assert check_length(copy) == []


@pytest.mark.parametrize(
    ("blurb", "rule"),
    [
        ("Lanterns from £2.95 that glow all evening long.", "price"),
        ("Lanterns for 3 pounds that glow all evening long.", "price"),
        ("Lanterns at 20% less that glow all evening long.", "percentage"),
        ("Lanterns in our sale that glow all evening long.", "discount"),
        ("Lanterns with free shipping that glow all evening.", "discount"),
        ("The cheapest lanterns to glow all evening long.", "discount"),
        ("Affordable lanterns that glow all evening long.", "discount"),
        ("Lanterns that glow without spending too much money.", "discount"),
        ("Lanterns on offer that glow all evening long.", "discount"),
        ("The best lanterns to glow all evening long.", "superlative"),
        ("Our #1 lanterns to glow all evening long.", "superlative"),
        ("Guaranteed to glow all evening long, these lanterns.", "superlative"),
        ("High-quality lanterns that glow all evening long.", "quality"),
        ("Durable, handmade lanterns that glow all evening.", "quality"),
    ],
)
def test_claims_fail(blurb, rule):
    found = check_claims(SectionCopy(title="Lanterns", blurb=blurb), FACTS)
    assert found and rule_of(found[0]) == rule


def test_claims_allowed_when_the_data_holds_them():
    facts = SectionFacts(product_names=("Lantern",), campaign_text="Summer Sale: everything for the garden")
    assert check_claims(SectionCopy(title="Summer Sale Lanterns", blurb="Lanterns to light the garden."), facts) == []
    assert check_claims(GOOD, FACTS) == []
    handmade = SectionFacts(product_names=("Handmade Wooden Lantern",))
    assert check_claims(SectionCopy(title="Lanterns", blurb="Handmade lanterns for the garden."), handmade) == []


@pytest.mark.parametrize(
    ("title", "blurb", "rule"),
    [
        ("<b>Lanterns</b>", GOOD.blurb, "markup"),
        ("**Lanterns**", GOOD.blurb, "markup"),
        ("Lanterns", "See https://shop.example for lanterns that glow.", "url"),
        ("Lanterns", "Visit www.lanterns-shop.com for warm glowing light.", "url"),
        ("Lanterns", "Write to sales@example.org about warm glowing light.", "email"),
    ],
)
def test_markup_urls_emails(title, blurb, rule):
    assert rule in {rule_of(v) for v in check_markup(SectionCopy(title=title, blurb=blurb))}
    assert check_markup(GOOD) == []


@pytest.mark.parametrize(
    ("title", "blurb"),
    [
        ("Title: Lanterns", GOOD.blurb),
        ("Lanterns", "Blurb: lanterns that glow all evening long."),
        ("Lanterns", "This section shows lanterns that glow all evening."),
        ("Lanterns", "I'm sorry, but I don't have information about these."),
        ("Lanterns", "As an AI, I think these lanterns glow nicely."),
        ("Lanterns", 'Here is the copy: {"title": "Lanterns"}'),
    ],
)
def test_prompt_echo_and_refusals(title, blurb):
    assert check_prompt_echo(SectionCopy(title=title, blurb=blurb))
    assert check_prompt_echo(GOOD) == []


def test_banned_words_are_whole_words_case_insensitive():
    copy = SectionCopy(title="Cosy Lanterns", blurb="Lanterns that glow, for a cosy evening in.")
    assert check_banned(copy, ["COSY"]) == ["banned: 'COSY'"]
    assert check_banned(copy, ["cos", " "]) == []


@pytest.mark.parametrize(
    ("text", "locale", "bad"),
    [
        ("Lanterns that glow 温暖 all evening long.", "en-GB", True),
        ("Lanterns that glow всегда all evening long.", "en-GB", True),
        ("Lanterns that glow — softly — all evening, café style.", "en-GB", False),
        ("Laternen, die den ganzen Abend über leuchten.", "de-DE", False),
        ("Laternen, die 温暖 den ganzen Abend leuchten.", "de-DE", True),
        ("温暖的灯笼，整晚发光。", "zh-CN", False),
    ],
)
def test_language(text, locale, bad):
    assert bool(check_language(SectionCopy(title="Lanterns", blurb=text), locale)) is bad


def test_list_pasting():
    pasted = SectionCopy(
        title="Lighting",
        blurb="White Metal Lantern, Regency Tea Light Holder and Hanging Heart T-Light Holder for you.",
    )
    assert check_list_pasting(pasted, FACTS) == ["list: blurb pastes 3 product names"]
    two = SectionCopy(title="Lighting", blurb="The White Metal Lantern and Regency Tea Light Holder glow softly.")
    assert check_list_pasting(two, FACTS) == []
    as_title = SectionCopy(title="White Metal Lantern", blurb=GOOD.blurb)
    assert check_list_pasting(as_title, FACTS) == ["list: the title is just a product name"]


def test_foreign_words_from_examples_are_caught():
    leaked = SectionCopy(title="Lanterns and Mittens", blurb="Warm light and wool mittens for cold evenings.")
    found = check_foreign(leaked, FACTS)
    assert "foreign: mentions 'mitten', which is not in this section" in found
    assert check_foreign(GOOD, FACTS) == []


def test_foreign_word_allowed_when_the_section_has_it():
    facts = SectionFacts(product_names=("Wool Mittens",), foreign_texts=("Wool Mittens Check Scarf",))
    assert check_foreign(SectionCopy(title="Mittens", blurb="Wool mittens for cold days out."), facts) == []


def test_repetition():
    looping = SectionCopy(title="Spaceboy Spaceboy Design", blurb="Spaceboy gifts for a spaceboy fan, spaceboy mad.")
    found = check_repetition(looping)
    assert "repetition: title repeats a word" in found
    assert "repetition: blurb repeats a word three times" in found
    assert check_repetition(GOOD) == []


def test_check_copy_reports_every_rule_that_fails():
    bad = SectionCopy(title="Title: Best Mittens Ever Ever", blurb="Only £5 at www.x.com, the cheapest 温暖.")
    rules = {rule_of(v) for v in check_copy(bad, FACTS)}
    assert {"echo", "superlative", "price", "url", "discount", "language", "foreign", "repetition"} <= rules


def test_drop_clause_mends_a_blurb_whose_broken_rule_sits_in_one_clause():
    from genpage.copy.guardrails import drop_clause

    def mend(blurb: str, violations: list[str], title: str = "Bags for You") -> str | None:
        mended = drop_clause(SectionCopy(title=title, blurb=blurb), violations)
        return mended.blurb if mended is not None else None

    span = ["range: 'from the simple to the sophisticated' spans more than the data shows"]
    assert mend("Bags for every taste, from the simple to the sophisticated.", span) == "Bags for every taste."
    leading = ["range: 'From everyday essentials to special occasions' spans more than the data shows"]
    assert mend("From everyday essentials to special occasions, we've got bags for every need.", leading) == \
        "We've got bags for every need."  # fmt: skip
    cause = ["claim: 'make a difference' is not in the data"]
    assert mend("Bells that make a difference.", cause) is None  # nothing left
    assert mend("Bells for the home, gifts to make a difference.", cause, title="Make a Difference") is None
    assert mend("Bags, for the home, and more.", ["length: blurb has 30 words (max 25)"]) is None  # not a clause
    assert mend("Bags for every taste, from simple to smart.", ["list: blurb runs a list (3 commas)"]) is None
