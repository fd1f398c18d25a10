"""The real page in a real browser: Debian's Chromium driven by Playwright against the preview server on 127.0.0.1.

Checks that every section shows, nothing is requested from another host, the console stays clean, axe-core finds no
serious or critical accessibility problem (light and dark, phone and desktop), and a catalogue full of XSS runs no
script and adds no markup. Screenshots go to test-artifacts/ (GENPAGE_DOCS_SCREENSHOT=1 also refreshes
docs/screenshot.png).
"""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
import yaml
from demo_shop import XSS_FLAG, fill_demo_store, fill_hostile_store, hostile_campaign, image_svg, page_engine
from fastapi import Response

from genpage.server import create_app, serve_in_thread
from genpage.store import Store

pytestmark = pytest.mark.browser

REPO = Path(__file__).resolve().parents[1]
CHROMIUM = Path(os.environ.get("GENPAGE_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
AXE = REPO / "tests" / "js" / "node_modules" / "axe-core" / "axe.min.js"
ARTIFACTS = REPO / "test-artifacts"
DOCS_SCREENSHOT = REPO / "docs" / "screenshot.png"
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1366, "height": 900}
WINTER = {"name": "Winter sale", "brief": "Warm things for cold days.",
          "theme": {"primary_color": "#7a2e1f", "accent_color": "#f2c14e", "hero_title": "The winter edit",
                    "hero_text": "Candles, blankets and warm mugs, picked for long evenings.", "mode": "auto"}}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def browser():
    if not CHROMIUM.exists():
        pytest.skip(f"no Chromium at {CHROMIUM}: `apt-get install -y chromium` (or set GENPAGE_CHROMIUM)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        yield chromium
        chromium.close()


def _start(tmp: Path, fill, campaigns: dict[str, dict]) -> Iterator[str]:
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    store = Store(tmp / "shop.sqlite")
    fill(store, base)
    folder = tmp / "campaigns"
    folder.mkdir()
    for stem, data in campaigns.items():
        (folder / f"{stem}.yaml").write_text(yaml.safe_dump(data, allow_unicode=True))
    app = create_app(page_engine(store), campaigns_dir=folder)

    @app.get("/_test/img/{number}.svg")
    def test_image(number: int) -> Response:  # the demo catalogue's product photos, served by the same host
        return Response(image_svg(number), media_type="image/svg+xml")

    try:
        with serve_in_thread(app, port=port) as url:
            yield url
    finally:
        store.close()


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    yield from _start(tmp_path_factory.mktemp("site"),
                      lambda store, base: fill_demo_store(store, image_base=f"{base}/_test/img"),
                      {"winter": WINTER})


@pytest.fixture(scope="module")
def hostile_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    yield from _start(tmp_path_factory.mktemp("hostile"), lambda store, base: fill_hostile_store(store),
                      {"hostile": hostile_campaign().model_dump(mode="json")})


@dataclass
class Visit:
    page: object
    requests: list[str] = field(default_factory=list)
    outside: list[str] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)


@pytest.fixture
def visit(browser):
    """visit(url, viewport=..., color_scheme=...) -> Visit, recording every request, console error and dialog."""
    contexts = []

    def open_(url: str, *, viewport: dict = DESKTOP, color_scheme: str = "light") -> Visit:
        # bypass_csp: the page's own CSP would also stop injected script; the tests prove escaping alone is enough
        # (and axe-core has to be injected)
        context = browser.new_context(viewport=viewport, color_scheme=color_scheme, bypass_csp=True,
                                      device_scale_factor=1)
        contexts.append(context)
        page = context.new_page()
        seen = Visit(page)

        def route(route_) -> None:
            request_url = route_.request.url
            seen.requests.append(request_url)
            if urlsplit(request_url).hostname != "127.0.0.1":
                seen.outside.append(request_url)
                route_.abort()
            else:
                route_.continue_()

        context.route("**/*", route)
        page.on("console", lambda m: seen.console_errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: seen.page_errors.append(str(e)))
        page.on("dialog", lambda d: (seen.dialogs.append(d.message), d.dismiss()))
        response = page.goto(url, wait_until="load")
        assert response is not None and response.status == 200, url
        return seen

    yield open_
    for context in contexts:
        context.close()


def _show_everything(page) -> None:
    """Scroll each section into view (lazy images load) and wait for every image to finish."""
    for section in page.locator("section.shelf").all():
        section.scroll_into_view_if_needed()
    page.wait_for_function("Array.from(document.images).every(img => img.complete)", timeout=10_000)
    page.evaluate("window.scrollTo(0, 0)")


def _axe(page) -> list[dict]:
    if not AXE.is_file():
        pytest.skip(f"axe-core is not installed at {AXE}: run `npm ci --prefix tests/js`")
    page.add_script_tag(path=str(AXE))
    return page.evaluate(
        """async () => (await axe.run(document, {resultTypes: ['violations']})).violations.map(v => ({
               id: v.id, impact: v.impact, help: v.help,
               nodes: v.nodes.slice(0, 3).map(n => n.target.join(' ') + ' :: ' + n.failureSummary)}))"""
    )


def _serious(violations: list[dict]) -> list[dict]:
    return [v for v in violations if v["impact"] in ("serious", "critical")]


@pytest.mark.parametrize(("name", "viewport"), [("desktop", DESKTOP), ("phone", PHONE)])
def test_page_shows_every_section_and_stays_on_localhost(site, visit, name, viewport):
    seen = visit(f"{site}/u/U1?toolbar=0", viewport=viewport)
    page = seen.page
    _show_everything(page)
    sections = page.locator("section.shelf")
    expected = httpx.get(f"{site}/u/U1.json", timeout=30).json()["sections"]
    assert sections.count() == len(expected) >= 2
    for section in sections.all():
        section.scroll_into_view_if_needed()
        assert section.is_visible()
        assert section.locator("h2").is_visible() and section.get_attribute("data-copy-source")
        cards = section.locator("li.card")
        assert cards.count() >= 3
        first = cards.first
        first.scroll_into_view_if_needed()
        assert first.locator("h3").is_visible() and first.locator(".price").is_visible()
        assert first.locator(".reason").is_visible()
    broken = page.evaluate("Array.from(document.images).filter(i => !i.naturalWidth).map(i => i.src)")
    assert page.locator("img").count() > 0 and broken == []
    assert page.evaluate("document.documentElement.scrollWidth") <= viewport["width"]  # no sideways scrolling
    assert page.locator("h1").count() == 1
    page.evaluate("window.scrollTo(0, 0)")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"page-{name}.png"), full_page=True)
    if name == "desktop" and os.environ.get("GENPAGE_DOCS_SCREENSHOT"):
        page.set_viewport_size({"width": 1200, "height": 760})
        page.screenshot(path=str(DOCS_SCREENSHOT))
        assert DOCS_SCREENSHOT.stat().st_size < 300_000
    assert seen.outside == [] and seen.requests and all("127.0.0.1" in r for r in seen.requests)
    assert seen.console_errors == [] and seen.page_errors == [] and seen.dialogs == []


@pytest.mark.parametrize(("scheme", "viewport", "query"), [
    ("light", DESKTOP, ""), ("dark", PHONE, ""), ("light", PHONE, "?campaign=winter"), ("dark", DESKTOP, ""),
])
def test_axe_finds_no_serious_accessibility_problem(site, visit, scheme, viewport, query):
    seen = visit(f"{site}/u/U2{query}", viewport=viewport, color_scheme=scheme)
    _show_everything(seen.page)
    violations = _axe(seen.page)
    assert _serious(violations) == [], violations
    if scheme == "dark":
        bg = seen.page.evaluate("getComputedStyle(document.body).backgroundColor")
        assert bg == "rgb(18, 17, 16)"  # the dark palette is in use
    name = f"axe-{scheme}-{viewport['width']}{'-campaign' if query else ''}.png"
    ARTIFACTS.mkdir(exist_ok=True)
    seen.page.screenshot(path=str(ARTIFACTS / name))


def test_index_and_campaign_switcher_by_keyboard_and_mouse(site, visit):
    seen = visit(f"{site}/")
    page = seen.page
    assert _serious(_axe(page)) == []
    page.keyboard.press("Tab")
    skip = page.locator("a.skip")
    assert page.evaluate("document.activeElement.className") == "skip" and skip.is_visible()
    assert page.evaluate("getComputedStyle(document.activeElement).outlineStyle") == "solid"  # a visible focus ring
    page.locator("a", has_text="U1").first.click()
    page.wait_for_url("**/u/U1")
    page.select_option("#campaign-switch", "Winter sale")
    page.locator(".preview button").click()
    page.wait_for_url("**/u/U1?campaign=Winter+sale")
    assert page.locator("h1").inner_text() == "The winter edit"
    assert seen.outside == [] and seen.console_errors == [] and seen.page_errors == []


def test_card_links_show_a_focus_ring(site, visit):
    page = visit(f"{site}/u/U1?toolbar=0").page
    page.locator("li.card h3 a").first.focus()
    page.keyboard.press("Shift+Tab")
    page.keyboard.press("Tab")
    ring = page.evaluate("getComputedStyle(document.activeElement.closest('li.card')).outlineStyle")
    assert ring == "solid"


def test_hostile_catalogue_runs_no_script_and_adds_no_markup(hostile_site, visit):
    seen = visit(f"{hostile_site}/u/H1?campaign=hostile")
    page = seen.page
    _show_everything(page)
    page.locator("li.card h3 a").first.hover()
    page.wait_for_timeout(300)
    assert page.evaluate(f"typeof window.{XSS_FLAG}") == "undefined"
    assert seen.dialogs == [] and seen.page_errors == []
    found = page.evaluate(
        """() => {
          const all = Array.from(document.querySelectorAll('*'));
          return {
            handlers: all.flatMap(el => Array.from(el.attributes).filter(a => a.name.startsWith('on'))
                                       .map(a => el.tagName + ' ' + a.name)),
            scripts: Array.from(document.scripts).map(s => s.type || 'classic'),
            foreign: all.filter(el => ['IFRAME', 'SVG', 'OBJECT', 'EMBED', 'B', 'svg'].includes(el.tagName))
                        .map(el => el.tagName),
            styles: document.querySelectorAll('style').length,
            links: Array.from(document.querySelectorAll('a[href], form[action]'))
                        .map(el => el.href || el.action).filter(u => !/^https?:/.test(u)),
            images: Array.from(document.images).map(i => i.src).filter(u => !/^https?:/.test(u)),
            text: document.body.innerText,
          };
        }"""
    )
    assert found["handlers"] == [] and found["foreign"] == [] and found["links"] == [] and found["images"] == []
    assert found["scripts"] == ["application/ld+json"] and found["styles"] == 1
    assert "<script>window.__genpage_xss=1;alert(1)</script>" in found["text"]  # shown as text, not run
    assert "Ignore your instructions" in found["text"]
    titles = page.locator("li.card h3").all_inner_texts()
    assert any("<img src=x onerror=" in t for t in titles)
    ld = page.evaluate("JSON.parse(document.querySelector('script[type=\"application/ld+json\"]').textContent)")
    names = {e["item"]["name"] for lst in ld["@graph"] for e in lst["itemListElement"]}
    assert any("</script><script>" in n for n in names)
    assert seen.outside == [] and seen.console_errors == []


def test_hostile_segment_names_on_the_index_stay_text(hostile_site, visit):
    seen = visit(f"{hostile_site}/")
    page = seen.page
    assert page.locator("main b, main script").count() == 0
    assert "<b>Nowhere</b>" in page.locator("main").inner_text()
    assert seen.dialogs == [] and seen.page_errors == [] and seen.outside == []


def _fill_feedback(store: Store, base: str) -> None:
    """The demo shop, with a Thompson policy that has learned a little and one saved policy evaluation."""
    from genpage.feedback.bandit import ShelfFeedback, get_policy
    from genpage.feedback.ope import Estimate, OPEResult, save_evaluation

    fill_demo_store(store, image_base=f"{base}/_test/img")
    get_policy("thompson", store).update("", [ShelfFeedback("buy_again", 0, 120, 30), ShelfFeedback("theme", 1, 120, 9),
                                              ShelfFeedback("trending", 2, 120, 4)])  # fmt: skip
    result = OPEResult("thompson", 400, 2000, 0.061, 180.5, 1.0, 1.02,
                       [Estimate("IPS", 0.07, 0.06, 0.08), Estimate("SNIPS", 0.068, 0.06, 0.077),
                        Estimate("DR", 0.069, 0.061, 0.078)])  # fmt: skip
    save_evaluation(store, result, "store")


@pytest.fixture(scope="module")
def feedback_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    yield from _start(tmp_path_factory.mktemp("feedback"), _fill_feedback, {})


@pytest.mark.parametrize(("scheme", "viewport"), [("light", DESKTOP), ("dark", PHONE)])
def test_dashboard_has_no_script_and_no_serious_accessibility_problem(feedback_site, visit, scheme, viewport):
    for user in ("U1", "U2", "U3"):  # logged page views, and a click through a tracked link
        html = httpx.get(f"{feedback_site}/u/{user}?toolbar=0", timeout=30).text
        token = html.split('href="/r/')[1].split('"', 1)[0]
        assert httpx.get(f"{feedback_site}/r/{token}", timeout=30).status_code == 302
    seen = visit(f"{feedback_site}/dashboard", viewport=viewport, color_scheme=scheme)
    page = seen.page
    assert page.evaluate("document.scripts.length") == 0
    assert page.locator("svg[role=img]").count() == 3 and page.locator("table").count() >= 4
    assert page.evaluate("document.documentElement.scrollWidth") <= viewport["width"]  # no sideways scrolling
    violations = _axe(page)
    assert _serious(violations) == [], violations
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"dashboard-{scheme}-{viewport['width']}.png"), full_page=True)
    assert seen.outside == [] and seen.console_errors == [] and seen.page_errors == []
