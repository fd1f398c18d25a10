"""Review before copy goes live: review states, the publish setting, `genpage copy`, the preview server's /review."""

from __future__ import annotations

import os
import re
from datetime import datetime
from pathlib import Path

import pytest
from copy_helpers import page
from demo_shop import fill_demo_store, page_engine
from fastapi.testclient import TestClient

from genpage.backends import get_backend
from genpage.cli import main
from genpage.config import Config
from genpage.copy import review as reviews
from genpage.copy.generate import fallback_copy, generate_copy
from genpage.schemas import SectionCopy
from genpage.server import create_app, serve_in_thread
from genpage.store import Store

GOOD_EDIT = ("Tea Light Holders", "White holders for tea lights, chosen to go together.")  # true of the lights shelf
BAD_EDIT = ("The Best Lanterns", "The best lanterns in Britain, half price today!")


def _generate(store: Store, config: Config, **update):
    [plan] = generate_copy([page()], backend=get_backend(config), store=store, config=config.model_copy(update=update))
    return {section.id: section for section in plan.sections}


def _key_of(store: Store, label: str) -> str:
    [entry] = [e for e in reviews.list_reviews(store) if e.sample.get("label") == label]
    return entry.key


# ---------------------------------------------------------------------- states


def test_new_copy_is_a_draft_kept_with_a_sample_of_its_shelf_and_its_facts(store, config):
    _generate(store, config)
    entries = reviews.list_reviews(store)
    assert len(entries) == 3 and {e.status for e in entries} == {"draft"}
    lights = next(e for e in entries if e.sample["label"] == "Lighting")
    assert lights.sample["kind"] == "for_you"
    assert lights.sample["products"] == ["WHITE METAL LANTERN", "REGENCY TEA LIGHT HOLDER",
                                         "WHITE HANGING HEART T-LIGHT HOLDER"]
    assert lights.facts is not None and lights.facts.categories == ("Lighting",)
    assert lights.copy is not None and lights.live == lights.copy and lights.reviewed_by is None
    assert reviews.count_reviews(store) == {"draft": 3, "approved": 0, "edited": 0, "rejected": 0}


def test_approve_edit_reject_record_who_and_when(store, config):
    _generate(store, config)
    key = _key_of(store, "Lighting")
    approved = reviews.review(store, key[:8], "approve", by="Ana")
    assert (approved.status, approved.reviewed_by) == ("approved", "Ana")
    assert datetime.fromisoformat(approved.reviewed_at or "").tzinfo is not None  # UTC ISO time
    edited = reviews.review(store, key, "edit", title=GOOD_EDIT[0], blurb=f"  {GOOD_EDIT[1]} ", by="Ben")
    assert edited.status == "edited" and edited.live == SectionCopy(title=GOOD_EDIT[0], blurb=GOOD_EDIT[1])
    assert edited.copy is not None and edited.copy.title != GOOD_EDIT[0]  # the model's words are kept beside it
    rejected = reviews.review(store, key, "reject")
    assert rejected.status == "rejected" and rejected.edit is None and rejected.reviewed_by == reviews.reviewer()
    again = reviews.review(store, key, "approve")
    assert again.status == "approved" and again.live == again.copy
    assert [e.key for e in reviews.list_reviews(store, "approved")] == [key]


def test_an_edit_that_fails_the_guardrails_is_refused_and_says_why(store, config):
    _generate(store, config)
    key = _key_of(store, "Lighting")
    with pytest.raises(reviews.EditRejectedError) as info:
        reviews.review(store, key, "edit", title=BAD_EDIT[0], blurb=BAD_EDIT[1])
    message = str(info.value)
    assert message.startswith(f"the edited copy of {key[:12]} does not pass the guardrails, so it was not saved: ")
    assert "superlative: 'Best' is a superlative no data backs" in message
    assert "discount: 'half price'" in message
    assert reviews.get_review(store, key).status == "draft"  # nothing saved
    with pytest.raises(reviews.ReviewError, match="the edited title cannot be used"):
        reviews.review(store, key, "edit", title="", blurb=GOOD_EDIT[1])


def test_keys_and_actions_are_checked(store, config):
    _generate(store, config)
    with pytest.raises(reviews.ReviewError, match="is not a copy key"):
        reviews.review(store, "ab", "approve")
    with pytest.raises(reviews.ReviewError, match="no cached copy has the key"):
        reviews.review(store, "0" * 64, "approve")
    with pytest.raises(reviews.ReviewError, match="no review action 'publish'"):
        reviews.review(store, _key_of(store, "Lighting"), "publish")
    with pytest.raises(reviews.ReviewError, match="no review status"):
        reviews.list_reviews(store, "pending")


# ---------------------------------------------------------------------- the publish setting


def test_under_publish_approved_only_approved_or_edited_copy_reaches_the_page(store, config):
    fresh = _generate(store, config, publish="approved")  # new copy is a draft: not live
    assert all(s.copy_source == "fallback" for s in fresh.values())
    assert fresh["lights"].copy_ == fallback_copy(page().sections[0])
    assert fresh["lights"].copy_violations == ['review: not approved (draft; publish = "approved")']
    model = _generate(store, config)  # publish = "auto": the drafts go live
    assert {s.copy_source for s in model.values()} == {"cache:echo"}

    keys = {e.sample["kind"]: e.key for e in reviews.list_reviews(store)}
    reviews.review(store, keys["for_you"], "edit", title=GOOD_EDIT[0], blurb=GOOD_EDIT[1])
    reviews.review(store, keys["because_bought"], "approve")
    reviews.review(store, keys["trending"], "reject")
    for publish in ("approved", "auto"):
        shown = _generate(store, config, publish=publish)
        assert shown["lights"].copy_source == reviews.EDITED_SOURCE
        assert shown["lights"].copy_ == SectionCopy(title=GOOD_EDIT[0], blurb=GOOD_EDIT[1])
        assert shown["bags"].copy_source == "cache:echo" and shown["bags"].copy_ == model["bags"].copy_
        assert shown["tea"].copy_source == "fallback" and shown["tea"].copy_violations == ["review: rejected"]


def test_an_edit_that_breaks_a_rule_on_a_later_page_falls_back(store, config):
    _generate(store, config)
    reviews.review(store, _key_of(store, "Lighting"), "edit", title=GOOD_EDIT[0], blurb=GOOD_EDIT[1])
    shown = _generate(store, config, banned_words=["holders"])
    assert shown["lights"].copy_source == "fallback"
    assert shown["lights"].copy_violations[0].startswith("review: the edited copy breaks a rule on this shelf (banned")


def test_a_page_under_publish_approved_records_why_its_shelves_fall_back(tmp_path):
    with Store(tmp_path / "shop.sqlite") as store:
        fill_demo_store(store)
        engine = page_engine(store)
        engine.config = engine.config.model_copy(update={"publish": "approved"})
        before = engine.build_page("U1")
        assert before.fallback_sections == [s.id for s in before.sections]
        assert all(v.startswith("review: not approved") for s in before.sections for v in s.copy_violations)
        for entry in reviews.list_reviews(store):
            if entry.copy is not None:
                reviews.review(store, entry.key, "approve", by="test")
        after = engine.build_page("U1")
        approved_copy = {s.id for s in after.sections if s.copy_source.startswith("cache:")}
        assert approved_copy and approved_copy == {s.id for s in after.sections if not s.copy_violations}


# ---------------------------------------------------------------------- the command line


def test_copy_commands(store, config, capsys):
    _generate(store, config)
    db = ["--db", str(store.path), "--home", str(config.home)]
    key = _key_of(store, "Lighting")
    assert main(["copy", "list", *db]) == 0
    listed = capsys.readouterr().out.splitlines()
    assert len(listed) == 3 and any(line.startswith(f"{key[:12]}  draft     ") for line in listed)
    assert any(line.endswith("[Lighting]") for line in listed)

    assert main(["copy", "approve", key[:6], "--by", "Ana", *db]) == 0
    assert capsys.readouterr().out == f"{key[:12]}  approved by Ana\n"
    assert main(["copy", "edit", key[:6], "--title", BAD_EDIT[0], "--blurb", BAD_EDIT[1], *db]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"genpage: error: the edited copy of {key[:12]} does not pass the guardrails")
    assert main(["copy", "edit", key[:6], "--title", GOOD_EDIT[0], "--blurb", GOOD_EDIT[1], "--by", "Ben", *db]) == 0
    assert capsys.readouterr().out == f"{key[:12]}  edited by Ben\n"
    assert main(["copy", "list", "--status", "edited", *db]) == 0
    [line] = capsys.readouterr().out.splitlines()
    assert line.startswith(f"{key[:12]}  edited    {GOOD_EDIT[0]} | {GOOD_EDIT[1]}  [Lighting]  (Ben, ")
    assert main(["copy", "reject", key, *db]) == 0
    assert reviews.get_review(store, key).status == "rejected"
    assert main(["copy", "approve", *db]) == 2
    assert "approve needs the copy's KEY" in capsys.readouterr().err
    assert main(["copy", "approve", "ffff0000", *db]) == 1
    assert "no cached copy has the key 'ffff0000'" in capsys.readouterr().err


# ---------------------------------------------------------------------- the review page


@pytest.fixture(scope="module")
def reviewed_shop(tmp_path_factory: pytest.TempPathFactory):
    with Store(tmp_path_factory.mktemp("review") / "shop.sqlite") as store:
        fill_demo_store(store)
        engine = page_engine(store)
        engine.build_page("U1")  # its shelves' copy is cached as drafts
        yield engine


@pytest.fixture
def client(reviewed_shop) -> TestClient:
    return TestClient(create_app(reviewed_shop), base_url="http://127.0.0.1:8000", follow_redirects=False)


ORIGIN = {"Origin": "http://127.0.0.1:8000"}


def _token(html: str) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', html).group(1)  # type: ignore[union-attr]


def test_review_page_lists_every_copy_with_its_shelf_and_a_form(client, reviewed_shop):
    response = client.get("/review")
    assert response.status_code == 200
    assert response.headers["referrer-policy"] == "same-origin"  # so a browser's POST carries its Origin
    assert "form-action 'self'" in response.headers["content-security-policy"]
    html = response.text
    entries = reviews.list_reviews(reviewed_shop.store)
    assert entries and html.count('<form method="post" action="/review/') == len(entries)
    for entry in entries:
        assert f'id="r-{entry.short_key}"' in html and f'<label for="title-{entry.short_key}">Title' in html
    assert "Shows: " in html and 'value="approve"' in html and 'value="reject"' in html
    assert client.get("/review?status=approved").status_code == 200
    assert client.get("/review?status=nonsense").status_code == 404


def test_review_post_needs_the_token_and_the_same_origin(client, reviewed_shop):
    key = reviews.list_reviews(reviewed_shop.store, "draft")[0].key
    token = _token(client.get("/review").text)
    form = {"action": "reject", "by": "Ana"}
    assert client.post(f"/review/{key}", data=form, headers=ORIGIN).status_code == 403  # no token
    assert client.post(f"/review/{key}", data={**form, "csrf": "x" * 43}, headers=ORIGIN).status_code == 403
    evil = {"Origin": "http://evil.example"}
    assert client.post(f"/review/{key}", data={**form, "csrf": token}, headers=evil).status_code == 403
    assert client.post(f"/review/{key}", data={**form, "csrf": token}).status_code == 403  # no Origin, no Referer
    rebound = TestClient(client.app, base_url="http://evil.example:8000")  # DNS rebinding: a domain name as Host
    assert rebound.get("/review").status_code == 403
    assert client.get(f"/review/{key}").status_code == 405  # POST only
    assert reviews.get_review(reviewed_shop.store, key).status == "draft"

    done = client.post(f"/review/{key}", data={**form, "csrf": token}, headers=ORIGIN)
    assert done.status_code == 303 and done.headers["location"] == f"/review?saved={key[:12]}#r-{key[:12]}"
    assert (reviews.get_review(reviewed_shop.store, key).status, reviews.get_review(reviewed_shop.store, key)
            .reviewed_by) == ("rejected", "Ana")  # fmt: skip
    referer = {"Referer": "http://127.0.0.1:8000/review"}
    again = client.post(f"/review/{key}", data={"action": "approve", "csrf": token}, headers=referer)
    assert again.status_code == 303 and reviews.get_review(reviewed_shop.store, key).status == "approved"


def test_a_failing_edit_is_shown_back_with_what_it_broke(client, reviewed_shop):
    key = reviews.list_reviews(reviewed_shop.store)[0].key
    token = _token(client.get("/review").text)
    form = {"action": "edit", "title": BAD_EDIT[0], "blurb": BAD_EDIT[1], "csrf": token}
    response = client.post(f"/review/{key}", data=form, headers=ORIGIN)
    assert response.status_code == 422
    assert 'role="alert"' in response.text and "does not pass the guardrails" in response.text
    assert f'value="{BAD_EDIT[0]}"' in response.text  # the reviewer's words are kept to correct
    unknown = client.post("/review/ffff0000", data={"action": "approve", "csrf": token}, headers=ORIGIN)
    assert unknown.status_code == 400 and "no cached copy" in unknown.json()["detail"]


CHROMIUM = Path(os.environ.get("GENPAGE_CHROMIUM", "/usr/bin/chromium"))
AXE = Path(__file__).resolve().parent / "js" / "node_modules" / "axe-core" / "axe.min.js"


@pytest.mark.browser
def test_review_in_a_browser_is_accessible_and_its_form_posts(reviewed_shop):
    if not CHROMIUM.exists() or not AXE.is_file():
        pytest.skip("needs Chromium and axe-core (npm ci --prefix tests/js)")
    from playwright.sync_api import sync_playwright

    key = reviews.list_reviews(reviewed_shop.store, "draft")[0].key
    with serve_in_thread(create_app(reviewed_shop)) as url, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"], headless=True)
        tab = browser.new_context(bypass_csp=True).new_page()
        tab.goto(f"{url}/review")
        tab.add_script_tag(path=str(AXE))
        found = tab.evaluate("async () => (await axe.run(document)).violations"
                             ".filter(v => ['serious', 'critical'].includes(v.impact)).map(v => v.id)")
        assert found == []
        tab.locator(f"#r-{key[:12]} button[value=reject]").click()  # a real browser's POST: its Origin, the token
        tab.wait_for_url(f"**/review?saved={key[:12]}*")
        browser.close()
    assert reviews.get_review(reviewed_shop.store, key).status == "rejected"
