"""generate_copy: parsing and repair, the copy cache, one batched call, retries and the fallback path."""

from __future__ import annotations

import json

import pytest
from copy_helpers import page

from genpage.backends import backend_class, get_backend
from genpage.config import Config
from genpage.copy.generate import PREFILL, CopyStats, fallback_copy, generate_copy, parse_copy
from genpage.copy.guardrails import DEFAULT_LIMITS, SectionFacts, Violation, check_copy
from genpage.schemas import SectionCopy
from genpage.store import Store

GOOD = {"title": "Soft Light for Evenings", "blurb": "Lanterns and holders that fill a room with a warm glow."}


@pytest.mark.parametrize(
    "text",
    [
        json.dumps(GOOD),
        json.dumps(GOOD, separators=(",", ":")) + "<|im_end|>",
        '{"title": "Soft Light for Evenings", "blurb": "Lanterns and holders that fill a room with a warm glow.',
        '{"title": "  Soft Light for Evenings. ", "blurb": "Lanterns and holders that fill a room with a warm glow."',
    ],
)
def test_parse_and_repair(text):
    assert parse_copy(text) == SectionCopy(**GOOD)


@pytest.mark.parametrize("text", ["", "I'm sorry, I can't help with that.", '{"title": "Only a title"}', "{]",
                                  "Title: Soft Light\nBlurb: Lanterns and holders.",  # free text: no repair now
                                  "{'title': 'Soft Light for Evenings', 'blurb': 'Lanterns and holders.'}"])
def test_parse_gives_up_on_hopeless_text(text):
    assert parse_copy(text) is None


def test_echo_copy_fills_every_section(store, config):
    echo = get_backend(config)
    [plan] = generate_copy([page()], backend=echo, store=store, config=config)
    for section in plan.sections:
        assert section.copy_source == "echo", section.copy_violations
        assert section.copy_ is not None and section.copy_violations == []
    assert echo.calls == 1 and echo.requests_seen == 3


def test_second_call_is_served_from_the_cache_with_no_backend_call(store, config):
    echo = get_backend(config)
    first = generate_copy([page()], backend=echo, store=store, config=config)
    calls = echo.calls
    again = generate_copy([page(user_id="someone-else")], backend=echo, store=store, config=config)
    assert echo.calls == calls
    assert [s.copy_source for s in again[0].sections] == ["cache:echo"] * 3
    assert [s.copy_ for s in again[0].sections] == [s.copy_ for s in first[0].sections]


def test_all_plans_go_to_the_backend_in_one_call_without_duplicates(config):
    echo = get_backend(config)
    plans = [page(user_id=f"user-{n}") for n in range(4)]
    stats = CopyStats()
    result = generate_copy(plans, backend=echo, store=None, config=config, stats=stats)
    assert echo.calls == 1
    assert echo.requests_seen == 3  # four shoppers, the same three sections
    assert stats.sections == 12 and stats.generated == 3
    assert len(result) == 4 and result[3].user_id == "user-3"
    assert plans[0].sections[0].copy_ is None  # the input plans are not modified


def test_user_level_copy_depends_on_the_shoppers_interests(config):
    echo = get_backend(config)
    user_config = config.model_copy(update={"copy_level": "user"})
    generate_copy([page("a", ["Garden"]), page("b", ["Toys"])], backend=echo, store=None, config=user_config)
    assert echo.requests_seen == 6


def test_bad_copy_is_retried_once_then_falls_back(store, config):
    canned = backend_class("canned")(
        [
            "I'm sorry, but I don't have any specific information.",  # section 1: refusal
            json.dumps({"title": "Bags", "blurb": "The best bags, only £5 in our sale."}),  # section 2: claims
            json.dumps({"title": "Tea Time in Style", "blurb": "Saucers and more for an elegant afternoon tea."}),
            json.dumps({"title": "Holders at Home", "blurb": "Holders for your evenings at home."}),  # retry 1: fixed
            "not json at all",  # retry 2: still broken
        ]
    )
    stats = CopyStats()
    [plan] = generate_copy([page()], backend=canned, store=store, config=config, stats=stats)
    lights, bags, tea = plan.sections
    assert canned.calls == 2 and canned.requests_seen == 5
    assert lights.copy_source == "canned" and lights.copy_.title == "Holders at Home"
    assert bags.copy_source == "fallback"
    assert bags.copy_ == fallback_copy(page().sections[1])
    assert any(v.startswith("superlative") for v in bags.copy_violations)
    assert any(v.startswith("retry parse") for v in bags.copy_violations)
    assert tea.copy_source == "canned" and tea.copy_violations == []
    assert stats.fallback == 1 and stats.retried == 2
    # the outcome is cached, fallback included: a second page view reaches no model
    [again] = generate_copy([page()], backend=canned, store=store, config=config)
    assert canned.calls == 2
    assert [s.copy_source for s in again.sections] == ["cache:canned", "fallback", "cache:canned"]


def test_prefill_is_sent_to_backends_without_json_schema(config):
    canned = backend_class("canned")(['Picked for You", "blurb": "Ideas for your evenings at home."}'] * 6)
    [plan] = generate_copy([page()], backend=canned, store=None, config=config)
    assert plan.sections[0].copy_ == SectionCopy(title="Picked for You", blurb="Ideas for your evenings at home.")
    assert PREFILL.startswith("{")


def test_cached_copy_is_checked_again_against_new_banned_words(store, config):
    echo = get_backend(config)
    generate_copy([page()], backend=echo, store=store, config=config)
    strict = config.model_copy(update={"banned_words": ["discover"]})
    [plan] = generate_copy([page()], backend=echo, store=store, config=strict)
    assert all(s.copy_source == "fallback" for s in plan.sections)
    assert plan.sections[0].copy_violations == ["banned: 'discover' is a word the shop bans"]


@pytest.mark.parametrize("kind", ["for_you", "because_bought", "because_viewed", "buy_again", "trending",
                                  "new_arrivals", "campaign"])  # fmt: skip
def test_fallback_copy_passes_the_guardrails(kind):
    section = page().sections[1].model_copy(update={"kind": kind})
    copy = fallback_copy(section, campaign_name="Christmas at Home")
    facts = SectionFacts(product_names=tuple(i.product.title for i in section.items), kind=kind,
                         anchor="Jumbo Bag Pink Polkadot", categories=("Bags",),
                         campaign_text="Christmas at Home" if kind == "campaign" else "")  # as generate's facts
    assert check_copy(copy, facts) == []
    long_anchor = section.model_copy(update={"anchor_label": "A VERY LONG ANCHOR PRODUCT NAME INDEED HERE"})
    assert check_copy(fallback_copy(long_anchor), facts) == []


@pytest.mark.slow
def test_real_small_generator_end_to_end(genpage_home, tmp_path):
    """smollm2-135m writes poor copy: what matters is that every section gets checked copy, model or fallback."""
    config = Config(home=genpage_home, db_path=tmp_path / "g.sqlite", backend="local",
                    generator="smollm2-135m-instruct", device="cpu")  # fmt: skip
    backend = get_backend(config)
    with Store(config.database) as opened:
        stats = CopyStats()
        [plan] = generate_copy([page()], backend=backend, store=opened, config=config, stats=stats)
        assert stats.tokens > 0 and stats.backend_calls >= 1
        for section in plan.sections:
            assert section.copy_ is not None
            assert section.copy_source in ("smollm2-135m-instruct", "fallback")
            if section.copy_source == "fallback":
                assert section.copy_violations
            else:
                assert section.copy_violations == []
        [again] = generate_copy([page()], backend=backend, store=opened, config=config)
        assert [s.copy_ for s in again.sections] == [s.copy_ for s in plan.sections]
        assert all(s.copy_source in ("cache:smollm2-135m-instruct", "fallback") for s in again.sections)


def test_a_retry_shows_the_model_its_answer_and_the_rules_it_broke(config):
    from genpage.copy.generate import retry_request, section_jobs

    canned = backend_class("canned")([])  # continues a prefill, as the local backend: the request ends in one
    request = section_jobs([page()], canned, config, DEFAULT_LIMITS)[0].request
    answer = '{"title": "Glow", "blurb": "Necklaces for evenings."}'
    again = retry_request(request, answer, [Violation("grounding", "Necklaces", "'Necklaces' is not in the data")])
    assert again.messages[: len(request.messages) - 1] == request.messages[:-1]  # the same start: prefix cache
    assistant, feedback, prefill = again.messages[-3:]
    assert assistant.role == "assistant" and assistant.content == answer
    assert feedback.role == "user" and "- grounding: 'Necklaces' is not in the data" in feedback.content
    assert prefill.role == "assistant" and prefill.content == PREFILL
    assert again.options.temperature == 0.0  # greedy: the correction, not another roll of the dice


def test_a_retry_keeps_the_words_its_violations_quote_out(config):
    from genpage.copy.generate import retry_request, section_jobs

    request = section_jobs([page()], backend_class("canned")([]), config, DEFAULT_LIMITS)[0].request
    broken = [Violation("grounding", "getaways", "'getaways' is not in the data"),
              Violation("list", "", "blurb runs a list (3 commas)"), Violation("echo", "", "'{' is the prompt echoed")]
    again = retry_request(request, '{"title": "x", "blurb": "y"}', broken)
    assert set(request.options.avoid) <= set(again.options.avoid)
    assert set(again.options.avoid) - set(request.options.avoid) == {"getaways"}  # nothing from a rule of form


def test_an_answer_broken_in_one_clause_is_mended_without_asking_again(config):
    canned = backend_class("canned")([
        json.dumps({"title": "Evenings at Home", "blurb": "Holders for your evenings, from dusk to dawn."}),
        json.dumps({"title": "Bags to Carry", "blurb": "Jumbo bags and lunch bags for every day."}),
        json.dumps({"title": "Tea Time", "blurb": "Teacups and saucers for the table."}),
    ])  # fmt: skip
    stats = CopyStats()
    [plan] = generate_copy([page()], backend=canned, store=None, config=config, stats=stats)
    assert canned.calls == 1 and stats.retried == 0 and stats.repaired == 1
    assert plan.sections[0].copy_.blurb == "Holders for your evenings."
    assert plan.sections[0].copy_source == "canned"
    assert {(v.rule, v.span) for v in stats.violations} == {("grounding", "dusk"), ("grounding", "dawn")}


def test_a_mended_blurb_must_still_name_something_of_the_section(config):
    canned = backend_class("canned")([
        json.dumps({"title": "Evenings at Home", "blurb": "From dusk to dawn, we've got everything for you."}),
        json.dumps({"title": "Bags to Carry", "blurb": "Jumbo bags and lunch bags for every day."}),
        json.dumps({"title": "Tea Time", "blurb": "Teacups and saucers for the table."}),
        json.dumps({"title": "Evenings at Home", "blurb": "Holders for quiet evenings at home."}),  # the retry
    ])  # fmt: skip
    stats = CopyStats()
    [plan] = generate_copy([page()], backend=canned, store=None, config=config, stats=stats)
    assert stats.repaired == 0 and stats.retried == 1  # "We've got everything for you." names nothing: asked again
    assert plan.sections[0].copy_.blurb == "Holders for quiet evenings at home."
