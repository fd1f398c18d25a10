"""The guardrails, rule by rule: copy that passes and copy that fails, on three kinds of shop (a gift shop, and an
electronics and a fashion shop whose catalogues the tests write), with the lexicon of prompts/lexicon/."""

from __future__ import annotations

import json

import pytest
from copy_helpers import section

from genpage.backends import backend_class
from genpage.config import Config
from genpage.copy.generate import CopyStats, generate_copy, section_jobs
from genpage.copy.guardrails import (
    DEFAULT_LIMITS,
    CopyLimits,
    SectionFacts,
    Violation,
    check_copy,
    check_length,
    copy_score,
    drop_clause,
    fit_to_limits,
    lexicon,
    localise_spelling,
    rule_of,
    words_to_avoid,
)
from genpage.schemas import PagePlan, Product, SectionCopy
from genpage.store import Store

FACTS = SectionFacts(
    product_names=("White Metal Lantern", "Regency Tea Light Holder", "Hanging Heart T-Light Holder"),
    categories=("Lighting",),
    foreign_texts=("Knitted Bobble Hat Wool Mittens Check Scarf Wrap Up Warm",),
)
GOOD = SectionCopy(title="Soft Light for Cosy Evenings",
                   blurb="Lanterns and holders that fill your rooms with warm light.")  # fmt: skip


def copy(blurb: str, title: str = "Lanterns") -> SectionCopy:
    return SectionCopy(title=title, blurb=blurb)


def rules(text: SectionCopy, facts: SectionFacts = FACTS) -> set[str]:
    return {v.rule for v in check_copy(text, facts)}


def spans(text: SectionCopy, facts: SectionFacts, rule: str) -> list[str]:
    return [v.span for v in check_copy(text, facts) if v.rule == rule]


def test_good_copy_passes_every_rule():
    assert check_copy(GOOD, FACTS) == []


def test_a_violation_is_typed_and_stored_as_rule_and_message():
    [violation] = check_copy(copy("The best lanterns to light your evenings."), FACTS)
    assert violation == Violation("superlative", "best", "'best' is a superlative no data backs")
    assert str(violation) == "superlative: 'best' is a superlative no data backs"
    assert rule_of(str(violation)) == rule_of(f"retry {violation}") == "superlative"


# ---------------------------------------------------------------- length


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
    assert expected in [str(v) for v in check_length(SectionCopy(title=title, blurb=blurb), CopyLimits())]


def test_length_passes_at_the_limits():
    assert check_length(SectionCopy(title="One Two Three Four Five Six", blurb=" ".join(["word"] * 24) + " end.")) == []


# ---------------------------------------------------------------- form: markup, URLs, echo, script, banned words


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
    assert rule in rules(SectionCopy(title=title, blurb=blurb))


@pytest.mark.parametrize(
    ("title", "blurb"),
    [
        ("Title: Lanterns", GOOD.blurb),
        ("Lanterns", "Blurb: lanterns that light your evenings."),
        ("Lanterns", "This section shows lanterns for your evenings."),
        ("Lanterns", "I'm sorry, but I don't have information about these."),
        ("Lanterns", "As an AI, I think these lanterns are nice."),
        ("Lanterns", 'Here is the copy: {"title": "Lanterns"}'),
    ],
)
def test_prompt_echo_and_refusals(title, blurb):
    found = [v for v in check_copy(SectionCopy(title=title, blurb=blurb), FACTS) if v.rule == "echo"]
    assert found and all(v.span == "" for v in found)  # never banned while decoding: "{" would break the JSON


def test_banned_words_are_whole_words_case_insensitive():
    cosy = SectionCopy(title="Cosy Lanterns", blurb="Lanterns to light a cosy evening in.")
    facts = SectionFacts(product_names=FACTS.product_names, banned_words=("COSY",))
    assert [str(v) for v in check_copy(cosy, facts)] == ["banned: 'COSY' is a word the shop bans"]
    assert check_copy(cosy, SectionFacts(product_names=FACTS.product_names, banned_words=("cos", " "))) == []


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
    assert ("language" in rules(copy(text), SectionFacts(locale=locale))) is bad


def test_a_locale_without_a_lexicon_gets_the_rules_of_form_only():
    assert lexicon("de-DE") is None and lexicon("en-US") is not None
    assert check_copy(copy("Laternen, die den ganzen Abend über leuchten."), SectionFacts(locale="de-DE")) == []


# ---------------------------------------------------------------- claim classes


@pytest.mark.parametrize(
    ("blurb", "rule"),
    [
        ("Lanterns from £2.95 to light your evenings.", "price"),
        ("Lanterns for 3 pounds to light your evenings.", "price"),
        ("Lanterns at a lovely price for your evenings.", "price"),
        ("Lanterns at 20% less to light your evenings.", "percentage"),
        ("Lanterns at 50% off to light your evenings.", "discount"),
        ("Lanterns in our sale to light your evenings.", "discount"),
        ("Lanterns with free shipping to light your evenings.", "discount"),
        ("The cheapest lanterns to light your evenings.", "discount"),
        ("Affordable lanterns to light your evenings.", "discount"),
        ("Lanterns that light up without spending too much money.", "discount"),
        ("Lanterns on offer to light your evenings.", "discount"),
        ("The best lanterns to light your evenings.", "superlative"),
        ("Our #1 lanterns to light your evenings.", "superlative"),
        ("Guaranteed to light your evenings, these lanterns.", "superlative"),
        ("High-quality lanterns to light your evenings.", "quality"),
        ("Durable, handmade lanterns for your evenings.", "quality"),
        ("Glass lanterns to light your evenings.", "material"),
        ("Lanterns to light your evenings, already in stock.", "availability"),
        ("Lanterns that make a difference to your evenings.", "claim"),
        ("Your home a hub of lanterns and holders.", "claim"),
    ],
)
def test_claims_fail(blurb, rule):
    assert rule in rules(copy(blurb))


def test_claims_allowed_when_the_data_holds_them():
    sale = SectionFacts(product_names=("Lantern",), campaign_text="Summer Sale: everything for the garden")
    assert check_copy(SectionCopy(title="Summer Sale Lanterns", blurb="Lanterns for the garden this summer."),
                      sale) == []  # fmt: skip
    handmade = SectionFacts(product_names=("Handmade Wooden Lantern",))
    assert check_copy(copy("Handmade wooden lanterns for your evenings."), handmade) == []
    metal = SectionFacts(product_names=("Zinc Heart Lantern",))  # "metal" licensed by the zinc the data names
    assert check_copy(copy("Metal lanterns for your evenings."), metal) == []


def test_stock_claims_no_catalogue_makes_are_caught():
    facts = SectionFacts(categories=("Kitchen",), typical=("tea towels",), kind="for_you")
    cause = SectionCopy(title="Tea Towels for a Good Cause", blurb="Tea towels that make a difference.")
    assert spans(cause, facts, "claim") == ["Good Cause", "make a difference"]
    decor = SectionFacts(categories=("Home Decor",), typical=("signs",), kind="trending")
    hub = SectionCopy(title="Home Decor Wonders", blurb="Signs to make your home a hub of decor.")
    assert spans(hub, decor, "claim") == ["Wonders", "hub"]
    assert check_copy(SectionCopy(title="Home Decor", blurb="Signs for the walls of your home."), decor) == []
    stock = SectionCopy(title="Signs for the Home", blurb="Signs for the home, already in stock.")
    assert spans(stock, decor, "availability") == ["in stock"]


# ---------------------------------------------------------------- occasion

GIFTS = SectionFacts(categories=("Gifts",), typical=("bells", "sewing kits"), kind="trending",
                     vocabulary=("christmas", "birthday"))  # fmt: skip


def test_occasions_and_seasons_need_the_sections_own_data():
    invented = SectionCopy(title="Gifts for All", blurb="Bells for Christmas, gifts for birthdays, and more!")
    assert spans(invented, GIFTS, "occasion") == ["Christmas", "birthdays"]  # the catalogue's words are not enough
    seasons = SectionCopy(title="Gifts for Every Season", blurb="Bells and sewing kits for all seasons.")
    assert spans(seasons, GIFTS, "occasion") == ["Season", "seasons"]
    assert spans(SectionCopy(title="Gifts for a New Year", blurb="Bells and sewing kits to give."), GIFTS,
                 "occasion") == ["New Year"]  # fmt: skip
    holidays = SectionCopy(title="Gifts for the Holidays", blurb="Bells for Valentine's and Xmas.")
    assert spans(holidays, GIFTS, "occasion") == ["Holidays", "Valentine's", "Xmas"]
    assert check_copy(SectionCopy(title="Gift Ideas", blurb="Bells and sewing kits to give."), GIFTS) == []
    christmas = SectionFacts(categories=("Christmas",), campaign_text="Christmas at Home festive decorations",
                             kind="campaign")  # fmt: skip
    for blurb in ("Decorations for the festive season.", "Decorations for the holidays."):
        assert check_copy(SectionCopy(title="Christmas at Home", blurb=blurb), christmas) == []


# ---------------------------------------------------------------- audience


def test_shopper_groups_the_data_does_not_name_are_caught():
    baking = SectionFacts(categories=("Baking",), typical=("cake cases",))
    assert spans(copy("Cake cases for the little ones.", "Bake Day"), baking, "audience") == ["little ones"]
    assert spans(copy("Cake cases for kids and mums.", "Bake Day"), baking, "audience") == ["kids", "mums"]
    assert check_copy(copy("Cake cases for every bake.", "Bake Day"), baking) == []
    kids = SectionFacts(categories=("Kids",), product_names=("Feltcraft Doll",))
    assert check_copy(copy("Dolls for children to enjoy.", "Dolls for Children"), kids) == []


# ---------------------------------------------------------------- viewpoint


def test_only_a_shelf_of_their_own_orders_says_the_shopper_chose_them():
    chosen = SectionCopy(title="Bags", blurb="The bags you have chosen so far, for every day.")
    ordered = SectionCopy(title="Bags", blurb="The bags you have ordered before.")
    picked = SectionCopy(title="Bags for You", blurb="Bags picked for you from our range.")

    def bags(kind: str) -> SectionFacts:
        return SectionFacts(categories=("Bags",), kind=kind)

    assert spans(chosen, bags("trending"), "viewpoint") == ["you have chosen"]
    assert rules(ordered, bags("trending")) == {"viewpoint"} and check_copy(picked, bags("trending")) == []
    assert check_copy(ordered, bags("buy_again")) == []
    assert "viewpoint" in rules(chosen, bags("because_bought"))
    seen = SectionCopy(title="Signs", blurb="Signs you've already seen, ready for a fresh look.")
    assert "viewpoint" in rules(seen, SectionFacts(categories=("Signs",), kind="buy_again"))
    assert check_copy(seen, SectionFacts(categories=("Signs",), kind="because_viewed")) == []
    forward = SectionCopy(title="Signs", blurb="The signs you have been looking forward to.")
    assert spans(forward, SectionFacts(categories=("Signs",), kind="trending"), "viewpoint") == [
        "you have been looking forward to"]  # fmt: skip


def test_only_new_arrivals_are_just_added():
    added = SectionCopy(title="Bags", blurb="Bags for every day, just added to the shop.")
    assert spans(added, SectionFacts(categories=("Bags",), kind="buy_again"), "recency") == ["just added"]
    assert spans(added, SectionFacts(categories=("Bags",), kind="trending"), "recency") == ["just added"]
    assert check_copy(added, SectionFacts(categories=("Bags",), kind="new_arrivals")) == []
    in_time = SectionCopy(title="Bags", blurb="Bags for every day, just in time for the weekend.")
    assert spans(in_time, SectionFacts(categories=("Bags",), kind="trending"), "recency") == []


def test_only_a_trending_shelf_is_what_shoppers_are_choosing():
    """Read blind in bench/copy.py's sections: the tuned writer put the trending shelves' words on new arrivals."""
    choosing = SectionCopy(title="New In", blurb="Bags and cushion covers that shoppers are choosing this week.")
    facts = {"product_names": ("Cotton Drawstring Gym Bag", "Velvet Cushion Cover")}
    assert spans(choosing, SectionFacts(**facts, kind="new_arrivals"), "popularity") == ["shoppers are choosing"]
    assert spans(choosing, SectionFacts(**facts, kind="trending"), "popularity") == []
    fixed = drop_clause(choosing, check_copy(choosing, SectionFacts(**facts, kind="new_arrivals")))
    assert fixed is None or "choosing" not in fixed.blurb


def test_a_range_of_sizes_is_said_only_where_the_data_shows_one():
    sizes = SectionCopy(title="Hot Water Bottles", blurb="Hot water bottles in a range of sizes, picked for you.")
    bottles = SectionFacts(product_names=("Love Hot Water Bottle", "Scottie Dog Hot Water Bottle"), kind="for_you")
    assert spans(sizes, bottles, "variety") == ["in a range of sizes"]
    styles = SectionCopy(title="Home Decor", blurb="Baskets and doormats in a range of home decor styles.")
    assert spans(styles, SectionFacts(product_names=("Seagrass Basket", "Jute Doormat"), kind="for_you"),
                 "variety") == ["in a range of home decor styles"]  # fmt: skip
    shown = SectionFacts(product_names=("Hot Water Bottle, 3 Sizes", "Scottie Dog Hot Water Bottle"), kind="for_you")
    assert spans(sizes, shown, "variety") == []


def test_a_use_is_said_only_where_the_data_says_it():
    cosy = SectionCopy(title="Candles", blurb="Candles and glass lanterns, perfect for cosy nights.")
    candles = SectionFacts(product_names=("Candle", "Glass Lantern"), kind="trending")
    assert spans(cosy, candles, "use") == ["perfect for cosy"]
    fixed = drop_clause(cosy, check_copy(cosy, candles))
    assert fixed is not None and fixed.blurb == "Candles and glass lanterns." and check_copy(fixed, candles) == []
    said = SectionFacts(product_names=("Candle, perfect for cosy nights", "Glass Lantern"), kind="trending")
    assert check_copy(cosy, said) == []
    # the use is what the data must name, not the words around it
    table = SectionFacts(product_names=("Kitchen Table Candle", "Glass Lantern"), kind="trending")
    assert check_copy(SectionCopy(title="Candles", blurb="Candles and glass lanterns, ideal for your kitchen table."),
                      table) == []  # fmt: skip
    assert spans(SectionCopy(title="Candles", blurb="Candles and lanterns, perfect for all your shopping needs."),
                 table, "use") == ["perfect for all your shopping"]  # fmt: skip


def test_titles_in_words_no_shop_uses_are_refused():
    assert spans(SectionCopy(title="Party Picking", blurb="Bunting and cups for your table."),
                 SectionFacts(categories=("Party",), product_names=("Bunting", "Paper Cups")), "idiom") == ["Picking"]


def test_words_of_one_kind_of_section_are_false_on_another():
    again = SectionCopy(title="Holders Again", blurb="Lanterns and holders for your evenings.")
    assert [str(v) for v in check_copy(again, SectionFacts(product_names=FACTS.product_names, kind="trending"))] == [
        "grounding: 'Again' is not true of a trending shelf"]  # fmt: skip
    assert check_copy(again, SectionFacts(product_names=FACTS.product_names, kind="buy_again")) == []


# ---------------------------------------------------------------- grounding


def test_a_kind_of_product_the_section_does_not_show_is_caught():
    gifts = SectionFacts(categories=("Gifts",), typical=("bells",), vocabulary=("necklace", "bell"))
    jewels = SectionCopy(title="Gifts That Last", blurb="The necklaces, rings and bracelets shoppers buy as gifts.")
    assert spans(jewels, gifts, "grounding") == ["Last", "necklaces", "rings", "bracelets"]
    assert check_copy(SectionCopy(title="Gift Ideas", blurb="Bells and other gifts to give."), gifts) == []
    labels = SectionFacts(product_names=("Birch Plant Labels", "Enamel Compost Caddy"), categories=("Garden",))
    assert spans(copy("Plants and seeds for your garden.", "Garden Labels"), labels, "grounding") == ["seeds"]
    assert check_copy(copy("Plant labels and a compost caddy for your garden.", "Garden Labels"), labels) == []


def test_words_from_the_examples_or_other_sections_are_caught():
    leaked = SectionCopy(title="Lanterns and Mittens", blurb="Warm light and wool mittens for cold evenings.")
    assert spans(leaked, FACTS, "grounding") == ["Mittens", "cold"] and spans(leaked, FACTS, "material") == ["wool"]
    mittens = SectionFacts(product_names=("Wool Mittens",), foreign_texts=("Wool Mittens Check Scarf",))
    assert check_copy(SectionCopy(title="Mittens", blurb="Wool mittens for your days out."), mittens) == []


def test_a_from_to_span_needs_both_ends_in_the_data():
    cards = SectionFacts(categories=("Stationery",), typical=("birthday cards",), kind="because_viewed")
    span = SectionCopy(title="Cards", blurb="Cards for all occasions, from birthdays to anniversaries.")
    assert {v.span for v in check_copy(span, cards)} == {"occasions", "anniversaries"}
    dash = SectionCopy(title="Cards", blurb="Everything from small tote cards to large cards - picked for you.")
    assert spans(dash, cards, "grounding") == ["tote"]
    fine = SectionCopy(title="Cards", blurb="Hand-picked from our Stationery range to match what you like.")
    assert check_copy(fine, cards) == []  # "from ... to match": not a span


def test_plurals_inflections_and_compounds_of_the_facts_pass():
    facts = SectionFacts(product_names=("USB-C Charging Cable 2m", "Regency Teacup and Saucer", "Washbag"))
    text = SectionCopy(title="Charge Up", blurb="Cables that charge, chargers, tea for two and a bag.")
    assert check_copy(text, facts) == []
    assert spans(copy("Cables and adapters for charging.", "Charge Up"), facts, "grounding") == ["adapters"]
    assert check_copy(copy("USB-C cables for charging, teacups and washbags.", "Cables and Tea"), facts) == []


def test_a_theme_shelf_s_label_and_evidence_license_its_words():
    mugs = SectionFacts(theme=("Mugs", "mug", "enamel", "stoneware"), typical=("mugs",), kind="for_you")
    assert check_copy(SectionCopy(title="Mugs for You", blurb="Enamel and stoneware mugs, picked for you."), mugs) == []
    assert spans(SectionCopy(title="Mugs for You", blurb="Mugs and teapots for your table."), mugs,
                 "grounding") == ["teapots"]  # fmt: skip


# ---------------------------------------------------------------- list, repetition


def test_list_pasting():
    pasted = copy("White Metal Lantern, Regency Tea Light Holder and Hanging Heart T-Light Holder for you.", "Lighting")
    assert [str(v) for v in check_copy(pasted, FACTS)] == ["list: blurb pastes 3 product names"]
    two = copy("The White Metal Lantern and Regency Tea Light Holder for your evenings.", "Lighting")
    assert check_copy(two, FACTS) == []
    assert "list: the title is just a product name" in map(str, check_copy(copy(GOOD.blurb, "White Metal Lantern"),
                                                                                FACTS))  # fmt: skip
    bags = SectionFacts(categories=("Bags",), product_names=("Purse", "Tag", "Washbag", "Paisley Handbag"))
    listed = SectionCopy(title="Bags Are In", blurb="Purses, tags, washbags, paisleys and handbags for you.")
    assert [str(v) for v in check_copy(listed, bags)] == ["list: blurb runs a list (3 commas)"]


def test_repetition():
    looping = SectionCopy(title="Spaceboy Spaceboy Design", blurb="Spaceboy gifts for a spaceboy fan, spaceboy mad.")
    found = [str(v) for v in check_copy(looping, SectionFacts(product_names=("Spaceboy Gift Fan",)))]
    assert "repetition: title repeats a word" in found and "repetition: blurb repeats a word three times" in found


def test_check_copy_reports_every_rule_that_fails():
    bad = SectionCopy(title="Title: Best Mittens Ever Ever", blurb="Only £5 at www.x.com, the cheapest 温暖.")
    assert {"echo", "superlative", "price", "url", "discount", "language", "grounding", "repetition"} <= rules(bad)


# ---------------------------------------------------------------- what drives decoding, retries and repairs


def test_the_words_to_avoid_are_what_the_checks_would_reject():
    facts = SectionFacts(categories=("Gifts",), typical=("bells",), foreign_texts=("Ukuleles Songbooks Music",),
                         kind="for_you")  # fmt: skip
    avoid = set(words_to_avoid(facts))
    assert {"necklace", "plant", "ukuleles", "music", "kid", "ordered", "again", "best", "sale"} <= avoid
    assert not {"bell", "gift", "chosen", "picked"} & avoid
    for word in ("necklaces", "plants", "ukuleles", "music", "kids"):  # each one alone is rejected
        assert check_copy(SectionCopy(title="Gift Ideas", blurb=f"Bells and {word} to give this year."), facts), word
    assert check_copy(SectionCopy(title="Gift Ideas", blurb="Bells to give this year."), facts) == []
    claims = {term for cls in lexicon("en-GB").classes if cls.name == "claim" for term, _, _ in cls.terms}
    assert claims <= avoid
    assert "ordered" not in words_to_avoid(SectionFacts(categories=("Kitchen",), kind="buy_again"))
    sale = SectionFacts(categories=("Home",), campaign_text="Winter Sale: warm things", kind="campaign")
    assert "sale" not in words_to_avoid(sale)
    assert {"christmas", "xmas", "birthday", "holiday", "season", "new year"} <= set(words_to_avoid(GIFTS))
    christmas = SectionFacts(categories=("Christmas",), campaign_text="Christmas at Home", kind="campaign")
    assert not {"christmas", "xmas", "holiday", "season", "festive"} & set(words_to_avoid(christmas))


def test_drop_clause_cuts_the_clause_that_holds_a_violation():
    bags = SectionFacts(product_names=("Jumbo Bag Red Retrospot", "Lunch Bag Black Skull"), categories=("Bags",))

    def mend(blurb: str, title: str = "Bags for You") -> str | None:
        text = SectionCopy(title=title, blurb=blurb)
        mended = drop_clause(text, check_copy(text, bags))
        return mended.blurb if mended is not None else None

    assert mend("Bags for every taste, from the simple to the sophisticated.") == "Bags for every taste."
    assert mend("From everyday essentials to special occasions, we've got bags for every need.") == \
        "We've got bags for every need."  # fmt: skip
    assert mend("Bags that make a difference.") is None  # nothing left
    assert mend("Bags for the home, gifts to make a difference.", title="Make a Difference") is None  # the title
    assert mend("Bags, for the home, and more, to carry your things every day for years.") is None  # a list: no span
    assert drop_clause(GOOD, [Violation("length", "", "blurb has 30 words (max 25)")]) is None


def test_a_title_made_of_parts_keeps_the_last_part_that_fits():
    def title(text: str) -> str:
        return fit_to_limits(SectionCopy(title=text, blurb="A blurb that is long enough.")).title

    assert title("Christmas at Home: Gifts for Everyone You Love") == "Gifts for Everyone You Love"
    assert title("Christmas at Home: Gifts for Everyone You Love So Dearly") == "Christmas at Home"  # that one fits
    long = "Festive Lights and Candles for Long Winter Nights"
    assert title(long) == long  # no parts: left for check_length to reject
    assert title("Glowing Evenings") == "Glowing Evenings"  # fits: unchanged


def test_a_blurb_of_several_sentences_keeps_the_first_when_it_fits():
    two = SectionCopy(title="Christmas at Home", blurb="Decorations and candles for cosy evenings. Order by the 18th "
                      "for delivery in time, and find a gift for someone else too.")  # fmt: skip
    fixed = fit_to_limits(two)
    assert fixed.blurb == "Decorations and candles for cosy evenings."
    assert check_copy(fixed, SectionFacts(categories=("Christmas decorations candles",))) == []
    short_first = SectionCopy(title="Christmas at Home", blurb="Cosy. Decorations and candles for evenings.")
    assert fit_to_limits(short_first) == short_first  # a first sentence under four words is not a blurb


def test_british_spelling_in_en_gb_copy_only():
    us = SectionCopy(title="Jewelry You'll Love", blurb="Colorful jewelry to organize your cozy favorites.")
    gb = localise_spelling(us, "en-GB")
    assert gb.title == "Jewellery You'll Love"
    assert gb.blurb == "Colourful jewellery to organise your cosy favourites."
    assert localise_spelling(us, "en-US") == us


def test_copy_score_prefers_grounded_specific_copy():
    facts = SectionFacts(categories=("Candles & Lights",), vocabulary=("lantern", "holder", "candle", "light"),
                         typical=("lanterns", "holders", "candles"))  # fmt: skip
    grounded = SectionCopy(title="Glow at Home", blurb="Lanterns and candle holders for your home.")
    invented = SectionCopy(title="Glow at Home", blurb="Lanterns and furniture for summer getaways.")
    recited = SectionCopy(title="Glow at Home", blurb="Lanterns, holders and candles for your home.")
    lazy = SectionCopy(title="Candles & Lights", blurb="Lanterns and candle holders for your home.")
    assert copy_score(grounded, facts) > max(copy_score(c, facts) for c in (invented, recited, lazy))


# ---------------------------------------------------------------- three kinds of shop, no code change

ELECTRONICS = {
    "audio": ("for_you", [("Wireless Earbuds with Case", "Audio"), ("Bluetooth Speaker, Waterproof", "Audio"),
                          ("Over-Ear Headphones, Noise Cancelling", "Audio")]),
    "power": ("trending", [("USB-C Charging Cable 2m", "Cables & Chargers"), ("Fast Wall Charger 20W",
               "Cables & Chargers"), ("Power Bank 10000mAh", "Cables & Chargers")]),
}  # fmt: skip
FASHION = {
    "dresses": ("new_arrivals", [("Linen Midi Dress, Sage", "Dresses"), ("Floral Wrap Dress", "Dresses"),
                                 ("Cotton Shirt Dress, Navy", "Dresses")]),
    "boots": ("because_viewed", [("Suede Ankle Boots", "Footwear"), ("White Canvas Trainers", "Footwear"),
                                 ("Leather Chelsea Boots, Tan", "Footwear")]),
}  # fmt: skip
GOOD_COPY = {
    "audio": ("Earbuds and Speakers for You", "Wireless earbuds, headphones and a waterproof speaker, picked for you."),
    "power": ("Stay Charged All Day", "Charging cables, wall chargers and power banks shoppers are choosing now."),
    "dresses": ("New In: Linen and Cotton", "Midi, wrap and shirt dresses in linen and cotton, just added."),
    "boots": ("More Boots Like These", "Suede ankle boots and canvas trainers, like the Chelsea boots you viewed."),
}
BAD_COPY = [  # (section, blurb, the rule it breaks)
    ("audio", "Wireless earbuds and headphones from £19.99, picked for you.", "price"),
    ("audio", "Wireless earbuds and headphones at 50% off this week.", "discount"),
    ("audio", "The best wireless earbuds and headphones, picked for you.", "superlative"),
    ("audio", "Wireless earbuds and headphones to give for Christmas.", "occasion"),
    ("audio", "Wireless earbuds, headphones and smartwatches, picked for you.", "grounding"),
    ("audio", "Wireless earbuds and headphones for teens.", "audience"),
    ("power", "Charging cables and power banks for your laptop.", "grounding"),
    ("power", "Charging cables and power banks you have bought before.", "viewpoint"),
    ("dresses", "Silk midi dresses, just added.", "material"),
    ("dresses", "Linen dresses for women, just added.", "audience"),
    ("dresses", "Linen dresses for weddings and summer parties.", "occasion"),
    ("dresses", "Linen dresses and handbags, just added.", "grounding"),
    ("boots", "Chelsea boots and trainers, back in stock.", "availability"),
    ("boots", "Handmade leather boots like the ones you viewed.", "quality"),
]


def shop_plan(tmp_path, shelves: dict) -> tuple[Store, PagePlan]:
    """A catalogue the test writes into a store, and a page of its shelves."""
    store = Store(tmp_path / "shop.sqlite")
    sections = [section(sid, kind, titles, anchor=titles[-1][0] if kind == "because_viewed" else None)
                for sid, (kind, titles) in shelves.items()]  # fmt: skip
    store.upsert_products(Product(id=item.product.id, title=item.product.title, category=item.product.category)
                          for s in sections for item in s.items)  # fmt: skip
    return store, PagePlan(user_id="u1", sections=sections)


@pytest.mark.parametrize("shelves", [ELECTRONICS, FASHION], ids=["electronics", "fashion"])
def test_an_electronics_and_a_fashion_shop_get_their_copy(tmp_path, shelves):
    store, plan = shop_plan(tmp_path, shelves)
    answers = [json.dumps({"title": GOOD_COPY[s.id][0], "blurb": GOOD_COPY[s.id][1]}) for s in plan.sections]
    config = Config(backend="canned", copy_level="user")
    stats = CopyStats()
    with store:
        [done] = generate_copy([plan], backend=backend_class("canned")(answers), store=store, config=config,
                               stats=stats)  # fmt: skip
    assert [s.copy_source for s in done.sections] == ["canned"] * len(shelves), stats.violations
    assert [s.copy_.title for s in done.sections] == [GOOD_COPY[s.id][0] for s in done.sections]


@pytest.mark.parametrize(("sid", "blurb", "rule"), BAD_COPY)
def test_bad_copy_on_those_shops_breaks_the_right_rule(tmp_path, sid, blurb, rule):
    shelves = ELECTRONICS if sid in ELECTRONICS else FASHION
    store, plan = shop_plan(tmp_path, shelves)
    config = Config(backend="canned", copy_level="user")
    with store:
        jobs = section_jobs([plan], backend_class("canned")([]), config, DEFAULT_LIMITS, store)
    [job] = [j for j in jobs if plan.sections[j.section_index].id == sid]
    assert rule in {v.rule for v in check_copy(SectionCopy(title=GOOD_COPY[sid][0], blurb=blurb), job.facts)}
    assert check_copy(SectionCopy(title=GOOD_COPY[sid][0], blurb=GOOD_COPY[sid][1]), job.facts) == []
