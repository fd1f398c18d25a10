"""The public Python API: genpage.render / build_page / render_many on a process-wide engine, thread-safe."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

import genpage
from genpage import Config
from genpage.ingest import ingest_directory
from genpage.resources import resource_dir
from genpage.store import Store


@pytest.fixture(scope="module")
def api_engine(tmp_path_factory, genpage_home):
    db = tmp_path_factory.mktemp("api") / "shop.sqlite"
    with Store(db) as store:
        ingest_directory(store, resource_dir("examples") / "shop")
    engine = genpage.configure(Config(home=genpage_home, db_path=db, backend="echo", shop_name="Hearth & Home"))
    yield engine
    engine.close()


def test_public_surface_is_small():
    assert {"render", "build_page", "render_many", "configure", "Config", "Page", "GenpageError",
            "UnknownUserError"} <= set(genpage.__all__)
    assert callable(genpage.render)


def test_render_and_build_page_agree(api_engine):
    page = genpage.build_page("u001")
    html = genpage.render("u001")
    assert page.user_id == "u001" and page.shop_name == "Hearth & Home"
    for section in page.sections:
        assert section.copy_ is not None and section.copy_source in ("echo", "cache:echo", "fallback")
        for item in section.items:
            assert item.reason.text  # every item says why it is there
    titles = [s.copy_.title for s in page.sections]
    assert all(t.replace("&", "&amp;").replace("'", "&#39;") in html for t in titles)
    assert set(page.timings_ms) >= {"rank_ms", "plan_ms", "copy_ms"}


def test_threads_get_the_same_pages(api_engine):
    users = ["u001", "u002", "u003", "u004"] * 3
    with ThreadPoolExecutor(max_workers=4) as pool:
        pages = list(pool.map(genpage.build_page, users))
    def content(p):  # noqa: E306
        return [(s.kind, [i.product.id for i in s.items], s.copy_.title) for s in p.sections]
    for user, page in zip(users, pages, strict=True):
        assert content(page) == content(pages[users.index(user)])


def test_render_many_and_the_cold_start_page(api_engine):
    html_pages = genpage.render_many(["u001", "someone-new"])
    assert len(html_pages) == 2 and all("</html>" in h for h in html_pages)
    cold = genpage.build_page("someone-new")
    assert cold.cold_start and cold.sections
    with pytest.raises(genpage.UnknownUserError):
        genpage.build_page("someone-new", strict=True)
