"""Prompt building is a pure function of what a section shows; it never sees who the shopper is."""

from __future__ import annotations

import jinja2
import pytest
from copy_helpers import BAGS, LANTERNS, TEA, page, section

from genpage.backends.echo import prompt_products
from genpage.config import Config
from genpage.copy.generate import section_jobs
from genpage.copy.guardrails import CopyLimits
from genpage.copy.prompts import (
    build_prompt,
    clean_name,
    load_examples,
    safe_interests,
    select_examples,
    template_module,
)
from genpage.schemas import Campaign

KINDS = ("for_you", "because_bought", "because_viewed", "buy_again", "trending", "new_arrivals", "campaign")


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("SET/6 RED SPOTTY PAPER CUPS", "Set of 6 Red Spotty Paper Cups"),
        ("WHITE HANGING HEART T-LIGHT HOLDER", "White Hanging Heart T-Light Holder"),
        ("LUNCH BAG  BLACK SKULL.", "Lunch Bag Black Skull"),
        ("PAPER CHAIN KIT 50'S CHRISTMAS ", "Paper Chain Kit 50's Christmas"),
        ("Linen Tea Towel", "Linen Tea Towel"),
        ("A VERY LONG NAME WITH FAR TOO MANY WORDS IN IT", "A Very Long Name with Far Too"),
    ],
)
def test_clean_name(raw, clean):
    assert clean_name(raw) == clean


def test_prompt_lists_cleaned_products_and_no_prices():
    messages = build_prompt(section("s", "for_you", TEA), interests=["Kitchen"], campaign=None, locale="en-GB")
    assert [m.role for m in messages] == ["system", "user", "assistant", "user", "assistant", "user"]
    last = messages[-1].content
    assert prompt_products(last) == [
        "Roses Regency Teacup and Saucer",
        "Green Regency Teacup and Saucer",
        "Regency Cakestand 3 Tier",
    ]
    assert "2.5" not in last and "£" not in last
    assert "Shopper likes: Kitchen" in last
    assert "British English" in messages[0].content


def test_prompt_carries_limits_locale_campaign_and_anchor():
    campaign = Campaign(name="Christmas at Home", brief="festive decorations", tone="warm, festive", locale="en-US")
    sec = section("s", "campaign", LANTERNS)
    messages = build_prompt(
        sec, interests=[], campaign=campaign, locale="en-US", limits=CopyLimits(title_words=5, blurb_words=20)
    )
    assert "at most 5 words" in messages[0].content and "at most 20 words" in messages[0].content
    assert "American English" in messages[0].content
    assert "Campaign: Christmas at Home: festive decorations" in messages[-1].content
    assert "Tone: warm, festive" in messages[-1].content
    bought = build_prompt(section("b", "because_bought", BAGS, anchor="JUMBO BAG PINK POLKADOT"),
                          interests=[], campaign=None, locale="en-GB")  # fmt: skip
    assert "Anchor: Jumbo Bag Pink Polkadot" in bought[-1].content


def test_prompt_is_pure():
    sec = section("s", "trending", TEA, anchor="Kitchen")
    first = build_prompt(sec, interests=["Kitchen"], campaign=None, locale="en-GB")
    assert build_prompt(sec, interests=["Kitchen"], campaign=None, locale="en-GB") == first


def test_personal_data_never_reaches_the_prompt():
    personal = ["jane.doe@example.com", "customer 17850", "17850", "https://example.com/u/17850", "Kitchen"]
    assert safe_interests(personal) == ["Kitchen"]
    plan = page(user_id="17850", interests=personal)
    for level in ("segment", "user"):
        jobs = section_jobs(
            [plan], backend=_echo(), config=Config(backend="echo", copy_level=level), limits=CopyLimits()
        )
        text = " ".join(m.content for job in jobs for m in job.request.messages)
        for secret in ("17850", "jane", "@", "example.com"):
            assert secret not in text.lower(), (level, secret)


def test_same_section_same_prompt_for_different_shoppers_at_segment_level():
    config = Config(backend="echo", copy_level="segment")
    a = section_jobs([page(user_id="a", interests=["Bags"])], backend=_echo(), config=config, limits=CopyLimits())
    b = section_jobs([page(user_id="b", interests=["Toys"])], backend=_echo(), config=config, limits=CopyLimits())
    assert [j.key for j in a] == [j.key for j in b]
    user_level = Config(backend="echo", copy_level="user")
    c = section_jobs([page(user_id="a", interests=["Bags"])], backend=_echo(), config=user_level, limits=CopyLimits())
    d = section_jobs([page(user_id="b", interests=["Toys"])], backend=_echo(), config=user_level, limits=CopyLimits())
    assert [j.key for j in c] != [j.key for j in d]
    assert "Shopper likes: Toys" in [m for m in d[0].request.messages if m.role == "user"][-1].content


def test_strict_undefined_fails_on_a_missing_variable():
    module = template_module("section_copy.j2")
    with pytest.raises(jinja2.UndefinedError):
        module.user({"purpose": "picked for you", "products": []})


def test_example_bank_covers_every_kind():
    bank = load_examples()
    for kind in KINDS:
        assert sum(e.kind == kind for e in bank) >= 6, kind


def test_examples_are_retrieved_by_kind_and_similarity():
    tea = section("s", "for_you", [("ENAMEL KITCHEN COFFEE POT", "Kitchen"), ("WOODEN SPOON", "Kitchen")])
    chosen = select_examples(tea, k=3)
    assert len(chosen) == 3 and all(e.kind == "for_you" for e in chosen)
    assert chosen[0].title == "Everyday Kitchen Essentials"
    assert select_examples(tea, k=3) == chosen


def _echo():
    from genpage.backends import backend_class

    return backend_class("echo")()
