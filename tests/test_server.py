"""The preview server over a real store (HTTP through Starlette's TestClient; the browser tests use uvicorn)."""

from __future__ import annotations

import httpx
import pytest
from demo_shop import fill_demo_store, page_engine
from fastapi.testclient import TestClient

from genpage.server import create_app, serve_in_thread
from genpage.store import Store

WINTER = """\
name: Winter sale
brief: Warm things for cold days.
theme:
  primary_color: "#0b3d91"
  hero_title: "Winter sale: up to 40% off"
  mode: dark
"""


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("server")
    store = Store(root / "shop.sqlite")
    fill_demo_store(store)
    campaigns = root / "campaigns"
    campaigns.mkdir()
    (campaigns / "winter.yaml").write_text(WINTER)
    (campaigns / "broken.yaml").write_text("name: Broken\nboost: lots\n")
    engine = page_engine(store)
    yield engine, campaigns
    store.close()


@pytest.fixture(scope="module")
def client(shop) -> TestClient:
    engine, campaigns = shop
    return TestClient(create_app(engine, campaigns_dir=campaigns))


def test_healthz(client: TestClient):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "products": 36, "users": 6, "campaigns": 1}


def test_index_lists_sample_users_per_segment_and_campaigns(client: TestClient):
    response = client.get("/")
    assert response.status_code == 200
    html = response.text
    for country in ("United Kingdom", "France", "Germany"):
        assert f">{country}</h2>" in html
    assert '<a href="/u/U1">U1</a> <span>6 events</span>' in html
    assert '<a href="/review">review page</a>' in html and '<a href="/dashboard">dashboard</a>' in html
    assert '<option value="Winter sale">Winter sale</option>' in html
    assert 'role="search"' in html and 'name="q"' in html
    assert "<strong>broken.yaml</strong>: " in html and "field &#39;boost&#39;" in html  # bad file shown, not fatal


def test_index_search_and_campaign_carry_through(client: TestClient):
    html = client.get("/", params={"q": "U2", "campaign": "Winter sale"}).text
    assert "Shoppers matching “U2”" in html
    assert '<a href="/u/U2?campaign=Winter+sale">U2</a>' in html and "/u/U1?" not in html
    assert client.get("/", params={"q": "nobody"}).text.count("No shopper found.") == 1


def test_user_page_with_toolbar_and_without(client: TestClient, shop):
    sections = len(shop[0].build_page("U1").sections)
    assert sections >= 2
    html = client.get("/u/U1").text
    assert html.startswith("<!doctype html>")
    assert 'aria-label="Preview controls"' in html and '<a href="/u/U1.json">Page as JSON</a>' in html
    assert html.count("<section class=\"shelf") == sections and 'data-copy-source="cache:echo"' in html
    bare = client.get("/u/U1", params={"toolbar": 0}).text
    assert "Preview controls" not in bare and bare.count("<section class=\"shelf") == sections


def test_campaign_switch(client: TestClient):
    html = client.get("/u/U1", params={"campaign": "Winter sale"}).text
    assert "<h1>Winter sale: up to 40% off</h1>" in html and 'data-theme="dark"' in html
    assert '<option value="Winter sale" selected>Winter sale</option>' in html
    by_stem = client.get("/u/U1", params={"campaign": "winter"})  # the file's stem works too
    assert '<option value="Winter sale" selected>Winter sale</option>' in by_stem.text
    missing = client.get("/u/U1", params={"campaign": "Summer"})
    assert missing.status_code == 404 and "no campaign called 'Summer'" in missing.json()["detail"]


def test_page_as_json(client: TestClient):
    response = client.get("/u/U1.json", params={"campaign": "Winter sale"})
    assert response.status_code == 200
    data = response.json()
    assert data["user_id"] == "U1" and data["campaign"]["name"] == "Winter sale"
    assert len(data["sections"]) >= 2 and data["sections"][0]["copy"]["title"]
    assert data["generator"] == "echo" and data["encoder"] == "minilm"
    assert {"product", "score", "reason", "badge"} <= set(data["sections"][0]["items"][0])


def test_unknown_user_gets_a_page(client: TestClient):
    response = client.get("/u/new-visitor")
    assert response.status_code == 200 and "<h1>" in response.text


def test_user_ids_with_odd_characters_are_escaped(client: TestClient):
    html = client.get("/u/%3Cscript%3Ex").text
    assert "<script>x" not in html and "&lt;script&gt;x" in html


def test_serve_in_thread_answers_on_localhost(shop):
    engine, campaigns = shop
    with serve_in_thread(create_app(engine, campaigns_dir=campaigns)) as base:
        assert base.startswith("http://127.0.0.1:")
        assert httpx.get(f"{base}/healthz", timeout=10).json()["status"] == "ok"
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{base}/healthz", timeout=2)
