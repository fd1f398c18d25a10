"""The feedback dashboard (`/dashboard`, genpage.feedback.dashboard): static SVG charts and tables from logged page
views, clicks, the bandit's counts and the last policy evaluations; no script. A real store, the real engine (echo)."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from xml.etree import ElementTree

import pytest
from demo_shop import fill_demo_store, page_engine
from fastapi.testclient import TestClient

from genpage.feedback.bandit import ShelfFeedback, get_policy
from genpage.feedback.dashboard import click_through, dashboard_view, shelf_rows
from genpage.feedback.ope import evaluate_policy, last_evaluations, save_evaluation, store_logs
from genpage.server import SECURITY_HEADERS, create_app
from genpage.store import Store


@pytest.fixture()
def engine(tmp_path):
    store = Store(tmp_path / "shop.sqlite")
    fill_demo_store(store)
    engine = page_engine(store)
    engine.config.policy = "thompson"
    yield engine
    store.close()


def _svgs(html: str) -> list[ElementTree.Element]:
    return [ElementTree.fromstring(svg) for svg in re.findall(r"<svg .*?</svg>", html, flags=re.S)]


def test_an_empty_dashboard_says_what_to_do(engine):
    client = TestClient(create_app(engine))
    answer = client.get("/dashboard")
    assert answer.status_code == 200
    assert answer.headers["content-security-policy"] == SECURITY_HEADERS["Content-Security-Policy"]
    assert "<script" not in answer.text and "No page views logged yet" in answer.text
    assert "No evaluation yet" in answer.text and _svgs(answer.text) == []


def test_the_dashboard_draws_click_through_the_bandit_and_the_last_evaluation(engine):
    client = TestClient(create_app(engine), follow_redirects=False)
    for view in range(12):
        html = client.get(f"/u/U{view % 6 + 1}", params={"toolbar": 0}).text
        if view % 3 == 0:
            token = html.split('href="/r/')[1].split('"', 1)[0]
            assert client.get(f"/r/{token}").status_code == 302
    result = evaluate_policy(store_logs(engine.store), get_policy("random"), bootstrap=20, min_ess=1.0)
    save_evaluation(engine.store, result, "store")
    answer = client.get("/dashboard")
    html = answer.text
    assert answer.status_code == 200 and "<script" not in html and not re.search(r"<[^>]*\son[a-z]+=", html)
    svgs = _svgs(html)
    assert len(svgs) == 3  # per shelf kind, per position, the bandit's shares
    for svg in svgs:
        assert svg.get("role") == "img"
        title = next(e for e in svg if e.tag.endswith("title"))
        desc = next(e for e in svg if e.tag.endswith("desc"))
        assert svg.get("aria-labelledby") == title.get("id") and svg.get("aria-describedby") == desc.get("id")
        assert not [e for e in svg.iter() if e.tag.endswith(("script", "foreignObject"))]
    assert "Click-through per shelf kind" in html and "Click-through per position" in html
    assert "Top shelf per segment" in html and "<caption>random: 12 page views from store" in html
    view = dashboard_view(engine.store, "thompson")
    assert view["summary"]["pages"] == 12 and view["summary"]["clicked"] == 4
    assert sum(row["clicked"] for row in view["kinds"]["totals"]) == 4
    bandit = view["bandit"][0]
    assert sum(a["top_share"] for a in bandit["arms"]) == pytest.approx(1.0)
    assert sum(a["clicks"] for a in bandit["arms"]) == 4 and sum(a["shown"] for a in bandit["arms"]) == \
        view["summary"]["shelves"]  # fmt: skip
    assert last_evaluations(engine.store)[0]["policy"] == "random"


def test_click_through_is_per_day_over_longer_spans(tmp_path):
    with Store(tmp_path / "s.sqlite") as store:
        now = datetime(2026, 3, 10, 12, tzinfo=timezone.utc)
        rows = []
        for day in range(5):
            when = (now - timedelta(days=day)).replace(tzinfo=None).isoformat(sep=" ")
            for page in range(4):
                for k, kind in enumerate(("buy_again", "trending")):
                    rows.append((f"p{day}-{page}", "x", None, "", kind, None, k, 0, "i", "fixed", 1.0,
                                 "buy_again|trending", when, "buy_again|trending"))  # fmt: skip
        with store.transaction() as conn:
            conn.executemany("INSERT INTO impressions VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)", rows)
            conn.executemany("INSERT INTO clicks VALUES (?,?,?,?,?,?)",
                             [(f"p{day}-0", "x", "i", 0, 0, "2026-03-10") for day in range(5)]
                             + [("p0-1", "x", "i", 0, 0, "2026-03-10")])  # fmt: skip
        table = click_through(shelf_rows(store, now - timedelta(days=30)), lambda r: r["arm"])
    assert table["unit"] == "day" and table["labels"] == ["03-06", "03-07", "03-08", "03-09", "03-10"]
    assert table["series"]["buy_again"] == [(0.0, 0.25), (1.0, 0.25), (2.0, 0.25), (3.0, 0.25), (4.0, 0.5)]
    assert table["series"]["trending"] == [(float(d), 0.0) for d in range(5)]
    assert table["totals"][0] == {"name": "buy_again", "shown": 20, "clicked": 6, "ctr": 0.3}


def test_theme_shelves_of_any_theme_are_one_arm(tmp_path):
    """shelf_rows sums the logged (kind, theme) pairs into arms as the policies do (bandit.arm_of)."""
    with Store(tmp_path / "s.sqlite") as store:
        when = "2026-03-10 12:00:00"
        shelves = [("for_you", "mugs"), ("for_you", "candles"), ("trending", "mugs"), ("for_you", ""),
                   ("for_you", None)]
        rows = [(f"p{n}", "x", None, "", kind, theme, 0, 0, "i", "fixed", 1.0, "a", when, "a")
                for n, (kind, theme) in enumerate(shelves)]  # fmt: skip
        with store.transaction() as conn:
            conn.executemany("INSERT INTO impressions VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)", rows)
            conn.execute("INSERT INTO clicks VALUES (?,?,?,?,?,?)", ("p1", "x", "i", 0, 0, when))
        summed = shelf_rows(store, datetime(2026, 3, 1))
    by_arm = {r["arm"]: (r["shown"], r["clicked"]) for r in summed}
    assert by_arm == {"theme": (3, 1), "for_you": (2, 0)}


def test_the_bandit_shares_follow_its_counts(tmp_path):
    with Store(tmp_path / "s.sqlite") as store:
        policy = get_policy("thompson", store)
        policy.update("s", [ShelfFeedback("buy_again", 0, 200, 80), ShelfFeedback("trending", 0, 200, 10)])
        view = dashboard_view(store, "thompson")
    arms = {a["arm"]: a for a in view["bandit"][0]["arms"]}
    assert arms["buy_again"]["top_share"] > 0.9 > 0.05 > arms["trending"]["top_share"]
    assert arms["buy_again"]["attractiveness"] == pytest.approx(0.4, abs=0.03)


def test_reloads_within_seconds_are_served_the_drawn_dashboard(engine, monkeypatch):
    from genpage.feedback import dashboard, routes

    drawings = []
    real = dashboard.render_dashboard
    monkeypatch.setattr(dashboard, "render_dashboard", lambda *a, **k: drawings.append(1) or real(*a, **k))
    client = TestClient(create_app(engine))
    assert client.get("/dashboard").text == client.get("/dashboard").text and len(drawings) == 1
    monkeypatch.setattr(routes, "DASHBOARD_SECONDS", 0.0)
    client.get("/dashboard")
    assert len(drawings) == 2
