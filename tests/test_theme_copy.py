"""Segment-level copy: prompts from a section's theme (kind + categories + the kinds of product it mostly shows),
so shoppers shown different products of the same theme share one copy; user level keeps the exact products."""

from __future__ import annotations

import csv
from datetime import datetime, timezone
from pathlib import Path

import pytest
from copy_helpers import BAGS, LANTERNS, TEA, page, section

from genpage.backends import get_backend
from genpage.config import Config
from genpage.copy.generate import copy_key, generate_copy, section_jobs, theme_vocabulary
from genpage.copy.guardrails import CopyLimits, SectionFacts, check_copy, words_to_avoid
from genpage.copy.prompts import (
    build_prompt,
    load_theme_examples,
    section_kinds,
    section_theme,
    select_examples,
)
from genpage.page import render_page
from genpage.plan.themes import plural, product_kind
from genpage.schemas import Campaign, Page, SectionCopy
from genpage.store import Store
from genpage.text import stem

MORE_LANTERNS = [
    ("STAR T-LIGHT HOLDER", "Lighting"),
    ("ZINC HEART TEA LIGHT HOLDER", "Lighting"),
    ("MOROCCAN TEA GLASS LANTERN", "Lighting"),
]


def test_a_theme_shelf_names_its_theme_and_an_intent_shelf_none():
    assert section_theme(section("a", "for_you", LANTERNS)) == ["Lighting"]  # a theme shelf: its own label
    mixed = section("b", "for_you", LANTERNS[:2] + BAGS[:2])  # no shared theme: an intent shelf
    assert mixed.shelf == "intent" and section_theme(mixed) == []
    prompt = build_prompt(mixed, interests=[], campaign=None, locale="en-GB", copy_level="segment")
    assert "Theme: none (a mix of products)" in prompt[-1].content
    assert "Section: picked for you" in prompt[-1].content  # the intent, not a theme
    anchored = section("c", "because_bought", BAGS, anchor="JUMBO BAG PINK POLKADOT")
    last = build_prompt(anchored, interests=[], campaign=None, locale="en-GB", copy_level="segment")[-1].content
    assert "Anchor: Jumbo Bag Pink Polkadot" in last and "Theme: none" in last


def test_a_catch_all_category_is_never_a_theme():
    only_other = section("p", "for_you", [("RUBBER DUCK", "Other"), ("HELICOPTER KIT", "Other")])
    assert only_other.shelf == "intent" and section_theme(only_other) == []


def test_segment_prompt_carries_the_theme_not_the_products():
    messages = build_prompt(section("s", "for_you", LANTERNS), interests=["Kitchen"], campaign=None,
                            locale="en-GB", copy_level="segment", theme_products=["lanterns", "holders"])  # fmt: skip
    last = messages[-1].content
    assert "Theme: Lighting" in last and "Products such as: lanterns, holders" in last
    assert "Lantern" not in last.replace("lanterns", "") and "Shopper likes" not in last
    assert "Products:" not in last  # no product list at all
    examples = len(load_theme_examples())
    assert [m.role for m in messages] == ["system", *["user", "assistant"] * examples, "user"]
    # without theme_products, the section's own kinds
    own = build_prompt(section("s", "for_you", LANTERNS), interests=[], campaign=None, locale="en-GB",
                       copy_level="segment")  # fmt: skip
    assert "Products such as: holders" in own[-1].content


def test_every_segment_prompt_starts_the_same_with_examples_of_every_kind_of_section():
    """One shared start: a backend with a prefix cache computes the system message and examples once."""
    tea = build_prompt(section("s", "for_you", TEA), interests=[], campaign=None, locale="en-GB", copy_level="segment")
    bags = build_prompt(section("t", "trending", BAGS), interests=[], campaign=Campaign(name="Sale"),
                        locale="en-GB", copy_level="segment")  # fmt: skip
    assert tea[:-1] == bags[:-1] and tea[-1] != bags[-1]
    examples = select_examples(section("s", "for_you", TEA), copy_level="segment")
    kinds = {"for_you", "because_bought", "because_viewed", "buy_again", "trending", "new_arrivals", "campaign"}
    assert {e.kind for e in examples} == kinds
    assert any(e.category for e in examples) and any(not e.category for e in examples)  # theme and intent shelves
    with open(Path(__file__).parents[1] / "examples" / "shop" / "products.csv", encoding="utf-8") as file:
        shop = {row["category"] for row in csv.DictReader(file)}
    assert not {e.category for e in examples} & shop  # about things the example shop does not sell


def test_a_product_is_the_kind_its_title_ends_in():
    assert product_kind("Set of 4 Jam Jar Magnets") == "magnets"
    assert product_kind("HOT WATER BOTTLE KEEP CALM") == "hot water bottles"
    assert product_kind("PACK OF 60 SPACEBOY CAKE CASES") == "cake cases"
    assert product_kind("Birch Plant Labels, Pack of 50") == "labels"
    assert product_kind("RED WOOLLY HOTTIE WHITE HEART") == ""
    assert stem("cases") == "case" and stem("glasses") == "glass" and stem("boxes") == "box"


def test_a_sections_kinds_are_those_most_of_its_products_are():
    bottles = [("HOT WATER BOTTLE KEEP CALM", "Home"), ("SCOTTIE DOG HOT WATER BOTTLE", "Home"),
               ("CHOCOLATE HOT WATER BOTTLE", "Home"), ("HAND WARMER OWL DESIGN", "Home"),
               ("HAND WARMER RED RETROSPOT", "Home"), ("DOORSTOP RETROSPOT HEART", "Home")]  # fmt: skip
    assert section_kinds(section("b", "for_you", bottles)) == ("hand warmers", "hot water bottles")
    cards = [("SPACEBOY BIRTHDAY CARD", "Cards"), ("ROBOT BIRTHDAY CARD", "Cards"), ("CARD DOLLY GIRL", "Cards")]
    assert section_kinds(section("c", "for_you", cards)) == ("cards",)  # two forms of one kind: its last word
    mixed = section("m", "for_you", [*LANTERNS[:1], *BAGS[:1], *TEA[:1]])  # one of each: the first two it has
    assert section_kinds(mixed) == ("bags", "lanterns")


def test_shoppers_shown_different_products_of_one_theme_share_copy():
    config = Config(backend="echo", copy_level="segment")
    echo = get_backend(config)
    first = page(user_id="a")
    second = page(user_id="b")
    second.sections[0] = section("lights", "for_you", MORE_LANTERNS)  # other lighting products, mostly holders too
    jobs_a = section_jobs([first], echo, config, CopyLimits())
    jobs_b = section_jobs([second], echo, config, CopyLimits())
    assert jobs_a[0].key == jobs_b[0].key
    user = Config(backend="echo", copy_level="user")
    user_a = section_jobs([first], echo, user, CopyLimits())[0].key
    assert user_a != section_jobs([second], echo, user, CopyLimits())[0].key
    generate_copy([first, second], backend=echo, store=None, config=config)
    assert echo.requests_seen == 3  # two pages of three sections, one copy per theme


def test_a_campaign_sets_the_copy_level_and_none_defers_to_the_config():
    config = Config(backend="echo", copy_level="segment")
    echo = get_backend(config)
    per_user = page(user_id="a", campaign=Campaign(name="Sale", copy_level="user"))
    assert "Products:" in section_jobs([per_user], echo, config, CopyLimits())[0].request.messages[-2].content or \
        "Products:" in section_jobs([per_user], echo, config, CopyLimits())[0].request.messages[-1].content
    deferred = page(user_id="a", campaign=Campaign(name="Sale"))
    user_config = Config(backend="echo", copy_level="user")
    text = " ".join(m.content for m in section_jobs([deferred], echo, user_config, CopyLimits())[0].request.messages)
    assert "Products:" in text
    text = " ".join(m.content for m in section_jobs([deferred], echo, config, CopyLimits())[0].request.messages)
    assert "Theme: Lighting" in text


def test_theme_vocabulary_reads_the_catalogue(tmp_path):
    from genpage.schemas import Product

    titles = ["WHITE METAL LANTERN", "MOROCCAN GLASS LANTERN", "ZINC LANTERN", "STAR T-LIGHT HOLDER",
              "HEART T-LIGHT HOLDER", "CHRISTMAS LANTERN", "RED MUG", "BLUE MUG"]  # fmt: skip
    with Store(tmp_path / "s.sqlite") as store:
        store.upsert_products(Product(id=str(n), title=t, category="Kitchen" if "MUG" in t else "Lighting")
                              for n, t in enumerate(titles))  # fmt: skip
        vocabulary = theme_vocabulary(store, ["Lighting"], section("s", "for_you", LANTERNS))
        assert "lantern" in vocabulary and "mug" not in vocabulary
        # a copy about mugs under a lighting theme, with a mug in the examples shown, is caught
        facts = SectionFacts(categories=("Lighting",), vocabulary=vocabulary, foreign_texts=("Enamel Mug",))
        mugs = SectionCopy(title="Mugs", blurb="Mugs for every morning brew.")
        assert {v.span for v in check_copy(mugs, facts) if v.rule == "grounding"} == {"Mugs", "brew"}
        assert not check_copy(SectionCopy(title="Evening Light", blurb="Lights for every evening."), facts)


def test_plural():
    assert [plural(w) for w in ("lantern", "box", "story", "day", "glasses")] == [
        "lanterns", "boxes", "stories", "days", "glasses"]  # fmt: skip
    assert plural("bunting") == "bunting" and plural("art") == "art"


def test_copy_key_changes_with_precision():
    config = Config(backend="echo")
    request = section_jobs([page()], get_backend(config), config, CopyLimits())[0].request
    assert copy_key(request, "m", "fp32") != copy_key(request, "m", "int8") != copy_key(request, "m")


def test_anchored_sections_say_what_they_follow_from():
    plan = page()
    sections = plan.sections
    for s in sections:
        s.copy_ = SectionCopy(title="A Title", blurb="A blurb that is long enough.")
        s.copy_source = "echo"
    html = render_page(Page(user_id="u", shop_name="Shop", sections=sections, generated_at=datetime.now(timezone.utc)))
    assert "Because you bought Jumbo Bag Pink Polkadot" in html
    assert html.count('class="eyebrow"') == 1  # the trending section's anchor is a category: no eyebrow


def test_the_best_passing_candidate_wins_and_greedy_breaks_ties(store_path=None):
    from genpage.backends import backend_class
    from genpage.copy.generate import CopyStats

    canned_cls = backend_class("canned")

    class SampledCanned(canned_cls):  # a canned model that claims to sample: three answers per section
        supports_sampling = True

    answers = [
        '{"title": "Bags Are In", "blurb": "Purses, tags, washbags, paisleys and handbags for you."}',  # greedy: list
        '{"title": "Carry It Well", "blurb": "Roomy bags for getaways, gyms and weekend furniture runs."}',  # invented
        '{"title": "Carry It Well", "blurb": "Jumbo bags and lunch bags for busy days."}',  # grounded
    ]
    model = SampledCanned(answers)
    config = Config(backend="canned", copy_level="segment", copy_candidates=3)
    plan = page()
    plan.sections = [plan.sections[1]]  # the bags section
    stats = CopyStats()
    [done] = generate_copy([plan], backend=model, store=None, config=config, stats=stats)
    assert done.sections[0].copy_.blurb == "Jumbo bags and lunch bags for busy days."
    assert {v.rule for v in stats.violations} == {"list", "grounding"}  # a list; getaways, gyms, furniture


def test_sampled_candidates_avoid_the_same_words_as_the_greedy_one():
    from genpage.backends import backend_class

    class SampledCanned(backend_class("canned")):  # records what it is asked
        supports_sampling = True
        seen: list = []

        def generate_batch(self, requests):
            self.seen.extend(requests)
            return super().generate_batch(requests)

    answer = '{"title": "Carry It Well", "blurb": "Jumbo bags and lunch bags for busy days."}'
    model = SampledCanned([answer] * 3)
    plan = page()
    plan.sections = [plan.sections[1]]
    generate_copy([plan], backend=model, store=None, config=Config(backend="canned", copy_candidates=3))
    greedy, *samples = model.seen
    assert greedy.options.avoid and len(samples) == 2
    assert all(s.options.avoid == greedy.options.avoid and s.options.temperature > 0 for s in samples)


def test_segment_copy_borrowing_an_examples_theme_is_caught():
    """Seen on the example shop's Christmas campaign: 'The Perfect Gift for Mum', from the Mother's Day example."""
    from genpage.copy.generate import _theme_facts
    from genpage.copy.prompts import Example

    mothers_day = Example(kind="campaign", products=("Floral Teacup", "Keepsake Box"), category="Gifts",
                          title="Gifts to Say Thank You, Mum", blurb="Pretty gifts for the one who does it all.",
                          campaign="Mother's Day gifts: thoughtful, personal")  # fmt: skip
    campaign = Campaign(name="Christmas at Home", brief="decorations and gifts")
    plan = page(campaign=campaign)
    sec = section("c", "campaign", LANTERNS)
    facts = _theme_facts(sec, plan, [mothers_day], Config(backend="echo"), "en-GB", ("lantern", "holder"),
                         typical=("lanterns", "holders"), theme=["Lighting"])  # fmt: skip
    leaked = SectionCopy(title="The Perfect Gift for Mum", blurb="Thoughtful lanterns to show your mum you care.")
    assert {(v.rule, v.span) for v in check_copy(leaked, facts)} == {("audience", "Mum"), ("audience", "mum")}
    assert "mum" in words_to_avoid(facts)
    fine = SectionCopy(title="Lights for Christmas", blurb="Lanterns and holders for festive evenings at home.")
    assert not check_copy(fine, facts)


def test_an_examples_title_words_are_foreign_only_on_a_campaign_shelf():
    from genpage.copy.generate import _theme_facts
    from genpage.copy.prompts import Example

    playtime = Example(kind="for_you", products=("Stacking Rings",), category="Toys", title="Playtime Favourites",
                       blurb="Colourful toys for little hands.")  # fmt: skip
    toys = section("t", "for_you", [("FELTCRAFT DOLL", "Kids"), ("SPACEBOY SLATE", "Kids"), ("TOY KIT", "Kids")])
    facts = _theme_facts(toys, page(), [playtime], Config(backend="echo"), "en-GB", ("doll", "toy"),
                         typical=("dolls", "toys"), theme=["Kids"])  # fmt: skip
    assert "playtime" not in words_to_avoid(facts)
    copy = SectionCopy(title="Toys for Kids", blurb="Fun toys and dolls for children to enjoy.")
    assert not check_copy(copy, facts)


def test_a_kind_theme_reads_its_kind_across_the_catalogue(tmp_path):
    """A kind theme ("Mugs") is planned from titles, not categories: its words come from every mug in the shop, so
    one cached copy is judged the same for every shopper, not against one shelf's own mugs."""
    from genpage.schemas import Product

    titles = {"ENAMEL MUG": "Kitchen", "STRIPED MUG": "Gifts", "FOLK ART MUG": "Gifts", "RED TEAPOT": "Kitchen"}
    shelf = section("s", "for_you", [("Enamel Mug", "Kitchen"), ("Striped Mug", "Gifts")])
    assert shelf.theme is not None and shelf.theme.level == "kind"
    with Store(tmp_path / "s.sqlite") as store:
        store.upsert_products(Product(id=str(n), title=t, category=c) for n, (t, c) in enumerate(titles.items()))
        vocabulary = theme_vocabulary(store, [shelf.theme.label], shelf)
    assert {"mug", "enamel", "striped", "folk"} <= set(vocabulary) and "teapot" not in vocabulary


def test_theme_words_are_read_once_per_catalogue_not_per_event(tmp_path):
    """A live shop's events change the data's fingerprint all day; the catalogue's words stay what they were."""
    from datetime import datetime

    from genpage.copy import generate
    from genpage.schemas import Event, Product

    shelf = section("s", "for_you", LANTERNS)
    with Store(tmp_path / "s.sqlite") as store:
        store.upsert_products(Product(id=str(n), title=t, category=c) for n, (t, c) in enumerate(LANTERNS))
        theme_vocabulary(store, ["Lighting"], shelf)
        cached = len(generate._THEME_TITLES)
        for n in range(3):
            store.upsert_events([(f"e{n}", Event(user_id="u1", type="view", item_id="0",
                                                 timestamp=datetime(2026, 11, 1, 9, n)))])  # fmt: skip
            theme_vocabulary(store, ["Lighting"], shelf)
        assert len(generate._THEME_TITLES) == cached
        store.upsert_products([Product(id="new", title="Paper Lantern", category="Lighting")])
        assert "paper" in theme_vocabulary(store, ["Lighting"], shelf)


def test_theme_vocabulary_is_the_same_whatever_the_hash_seed():
    import os
    import subprocess
    import sys

    code = ("from genpage.copy.generate import _vocabulary_of; "
            "titles = ['RED WOOLLY HOTTIE', 'BLUE WOOLLY HOTTIE', 'ZINC LANTERN HEART', 'ZINC LANTERN STAR'] * 3; "
            "print(_vocabulary_of(titles, 3))")  # fmt: skip
    outputs = {subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                              env={**os.environ, "PYTHONHASHSEED": seed}).stdout
               for seed in ("1", "2", "3", "4")}  # fmt: skip
    assert len(outputs) == 1, outputs


def test_theme_level_shares_one_prompt_per_theme_with_the_catalogues_kinds(tmp_path):
    from genpage.copy.generate import theme_kinds
    from genpage.schemas import Product

    titles = ["WHITE METAL LANTERN", "ZINC LANTERN", "MOROCCAN LANTERN", "STAR T-LIGHT HOLDER", "HEART T-LIGHT HOLDER",
              "RED CANDLE"]  # fmt: skip
    with Store(tmp_path / "s.sqlite") as store:
        store.upsert_products(Product(id=str(n), title=t, category="Lighting") for n, t in enumerate(titles))
        assert theme_kinds(store, ["Lighting"], section("s", "for_you", LANTERNS)) == ("lanterns", "t-light holders")
        config = Config(backend="echo", copy_level="theme")
        echo = get_backend(config)
        first, second = page(user_id="a"), page(user_id="b")
        second.sections[0] = section("lights", "for_you", [("RED CANDLE", "Lighting"), ("BLUE CANDLE", "Lighting")])
        jobs = [section_jobs([p], echo, config, CopyLimits(), store)[0] for p in (first, second)]
        assert jobs[0].key == jobs[1].key  # shelves of other kinds, one theme: one prompt
        last_user = [m.content for m in jobs[0].request.messages if m.role == "user"][-1]
        assert "Products such as: lanterns, t-light holders" in last_user
        segment = Config(backend="echo", copy_level="segment")
        keys = {section_jobs([p], echo, segment, CopyLimits(), store)[0].key for p in (first, second)}
        assert len(keys) == 2  # segment level names each shelf's own kinds


@pytest.mark.parametrize("level", ["user", "segment"])
def test_only_the_campaign_shelf_may_speak_of_the_campaign(level):
    """Other shelves of a campaign page are not told of it (their prompt, and so their cached copy, is the one
    they have outside the campaign), so "Christmas" on a shelf of bags is invented there."""
    from genpage.backends import backend_class
    from genpage.copy.guardrails import DEFAULT_LIMITS

    plan = page(campaign=Campaign(name="Christmas at Home", brief="festive decorations"))
    plan.sections.append(section("xmas", "campaign", [("PAPER CHAIN KIT", "Decorations"),
                                                      ("STAR GARLAND", "Decorations"), ("FELT BAUBLE", "Decorations")]))
    config = Config(backend="echo", copy_level=level)
    jobs = {job.section_index: job for job in section_jobs([plan], backend_class("echo")(), config, DEFAULT_LIMITS)}
    assert [jobs[n].facts.campaign_text for n in range(3)] == ["", "", ""]
    assert jobs[3].facts.campaign_text == "Christmas at Home festive decorations"
    christmas = SectionCopy(title="Christmas at Home", blurb="Decorations for the festive season.")
    assert not check_copy(christmas, jobs[3].facts)
    assert check_copy(christmas.model_copy(update={"blurb": "Bags for the festive season."}), jobs[1].facts)

