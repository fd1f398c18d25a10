"""Packaged product pictures: the example shop's references, the drawing script's output, rendering them offline,
and refusing anything that is not one of genpage's own pictures."""

from __future__ import annotations

import csv
import importlib.util
import json
import os
import re
from html import unescape as html_unescape
from pathlib import Path
from urllib.parse import unquote

import pytest
from demo_shop import demo_products, page_from_products
from pydantic import ValidationError

from genpage.page import picture_uri, render_page
from genpage.resources import pictures_dir, resource_dir
from genpage.schemas import INGEST_CONTEXT, Product

REPO = Path(__file__).resolve().parents[1]
GOOD_SVG = ('<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 120 120"><style>.t{fill:#000}</style>'
            '<rect class="b" width="120" height="120"/><circle cx="60" cy="60" r="30" class="t"/></svg>\n')


def _draw_pictures():
    spec = importlib.util.spec_from_file_location("draw_pictures", REPO / "examples" / "draw_pictures.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _example_products() -> list[Product]:
    with (resource_dir("examples") / "shop" / "products.csv").open(encoding="utf-8", newline="") as fh:
        return [Product.model_validate(row, context=INGEST_CONTEXT) for row in csv.DictReader(fh)]


def _svg_of(uri: str) -> str:
    assert uri.startswith("data:image/svg+xml,")
    return unquote(uri.removeprefix("data:image/svg+xml,"))


def _with_image(image_url: str | None, n: int = 6) -> list[Product]:
    products = demo_products()[:n]
    return [p.model_copy(update={"image_url": image_url}) for p in products]


# ---------------------------------------------------------------------- the example shop and the script
def test_every_example_product_has_a_packaged_picture():
    products = _example_products()
    assert len(products) == 200
    for product in products:
        assert product.image_url and product.image_url.startswith("picture:"), product.title
        svg = _svg_of(picture_uri(product.image_url) or "")
        tint = product.image_url.rsplit("=", 1)[1]
        assert f".t{{fill:#{tint}}}" in svg, product.title


def test_shipped_pictures_are_the_drawing_scripts_output():
    drawn = _draw_pictures().pictures()
    shipped = {p.name: p.read_text(encoding="utf-8") for p in pictures_dir().glob("*.svg")}
    assert shipped.keys() == drawn.keys()
    assert all(shipped[name] == drawn[name] for name in drawn), [n for n in drawn if shipped[n] != drawn[n]]
    assert all(len(text.encode()) < 4096 for text in drawn.values())
    assert _draw_pictures().pictures() == drawn  # the same on every run


def test_titles_pick_kind_and_tint():
    draw = _draw_pictures()
    assert draw.picture_ref("Enamel Camping Mug, Forest Green", "Kitchen & Dining") == "picture:mug?tint=2f5d46"
    assert draw.kind_of("Heritage Vegetable Seed Tin") == "tin"  # "tag" is not found inside "heritage"
    assert draw.tint_of("Brass Coat Hooks, Set of 3", "Home Decor") == "#c09a46"  # a material when no colour
    assert draw.tint_of("Station Wall Clock", "Home Decor") in draw.CATEGORY_TINTS["Home Decor"]
    with pytest.raises(ValueError, match="no picture kind"):
        draw.picture_ref("Quantum Flux Capacitor", "Garden")


# ---------------------------------------------------------------------- rendering
def test_a_packaged_picture_renders_as_an_offline_img():
    products = _with_image("picture:mug?tint=2f5d46")
    html = render_page(page_from_products("U1", products))
    sources = re.findall(r'<img src="([^"]*)" alt="([^"]*)"', html)
    assert sources and all(src.startswith("data:image/svg+xml,") for src, _ in sources)
    assert {html_unescape(alt) for _, alt in sources} <= {p.title for p in products}
    svg = _svg_of(sources[0][0])
    assert ".t{fill:#2f5d46}" in svg and "<script" not in svg and "href" not in svg
    assert not re.search(r'src="(?!data:image/svg\+xml,)', html)  # nothing fetched from anywhere
    assert 'class="ph"' not in html[html.index("<main"):]
    data = json.loads(re.search(r'<script type="application/ld\+json">(.*?)</script>', html, re.S).group(1))
    assert not [e for lst in data["@graph"] for e in lst["itemListElement"] if "image" in e["item"]]


def test_a_picture_without_a_tint_uses_the_default():
    assert ".t{fill:#a88f72}" in _svg_of(picture_uri("picture:mug") or "")


def test_a_product_without_an_image_keeps_the_placeholder():
    html = render_page(page_from_products("U1", _with_image(None)))
    assert 'class="ph" style="--h: ' in html and "<img" not in html


def test_an_unknown_picture_name_falls_back_to_the_placeholder():
    assert Product(id="x", title="x", image_url="picture:no-such-kind").image_url == "picture:no-such-kind"
    assert picture_uri("picture:no-such-kind") is None
    html = render_page(page_from_products("U1", _with_image("picture:no-such-kind")))
    assert 'class="ph"' in html and "<img" not in html


# ---------------------------------------------------------------------- hostile references and files
@pytest.mark.parametrize("ref", [
    "picture:../templates/page.html.j2", "picture:../../etc/passwd", "picture:/etc/passwd", "picture:Mug",
    "picture:mug.svg", "picture:mug?tint=red", "picture:mug?tint=2f5d46&x=1", "picture:mug?tint=2F5D46",
    "picture:mug/../mug", "picture:%2e%2e/mug", "picture:", "file:///etc/passwd", "javascript:alert(1)",
    "data:image/svg+xml,<svg onload=alert(1)>", "mug.svg", "./pictures/mug.svg",
])
def test_hostile_image_references_are_refused(ref: str):
    if ref.lower().startswith("picture:"):
        with pytest.raises(ValidationError, match="packaged picture"):
            Product(id="x", title="x", image_url=ref)
    else:
        with pytest.raises(ValidationError):
            Product(id="x", title="x", image_url=ref)
    assert picture_uri(ref) is None
    bypassed = [p.model_copy(update={"image_url": ref}) for p in demo_products()[:6]]  # as if the schema were skipped
    html = render_page(page_from_products("U1", bypassed))
    assert "<img" not in html and 'class="ph"' in html


HOSTILE_SVGS = {
    "script": GOOD_SVG.replace("</svg>", "<script>alert(1)</script></svg>"),
    "handler": GOOD_SVG.replace('r="30"', 'r="30" onload="alert(1)"'),
    "href": GOOD_SVG.replace("<circle", '<a href="javascript:alert(1)"><circle').replace("</svg>", "</a></svg>"),
    "xlink": GOOD_SVG.replace('<svg ', '<svg xmlns:xlink="http://www.w3.org/1999/xlink" ').replace(
        "<circle", '<use xlink:href="#x"/><circle'),
    "image": GOOD_SVG.replace("</svg>", '<image width="1" height="1"/></svg>'),
    "foreign": GOOD_SVG.replace("</svg>", "<foreignObject><p>hi</p></foreignObject></svg>"),
    "style-attr": GOOD_SVG.replace('r="30"', 'r="30" style="fill:url(https://evil.example/x)"'),
    "entity": '<!DOCTYPE svg [<!ENTITY a "aaaa">]>' + GOOD_SVG,
    "no-style": GOOD_SVG.replace("<style>.t{fill:#000}</style>", ""),
    "not-svg": GOOD_SVG.replace("http://www.w3.org/2000/svg", "http://www.w3.org/1999/xhtml"),
    "huge": GOOD_SVG.replace("</svg>", '<rect width="1" height="1"/>' * 800 + "</svg>"),
    "broken": GOOD_SVG[:-10],
}


def test_only_a_plain_drawing_is_used_from_a_pictures_folder(tmp_path: Path):
    (tmp_path / "good.svg").write_text(GOOD_SVG, encoding="utf-8")
    for name, text in HOSTILE_SVGS.items():
        (tmp_path / f"{name}.svg").write_text(text, encoding="utf-8")
    outside = tmp_path.parent / f"{tmp_path.name}-outside.svg"
    outside.write_text(GOOD_SVG, encoding="utf-8")
    os.symlink(outside, tmp_path / "linked.svg")
    good = picture_uri("picture:good?tint=123456", folder=tmp_path)
    assert good and ".t{fill:#123456}" in _svg_of(good)
    for name in [*HOSTILE_SVGS, "linked"]:
        assert picture_uri(f"picture:{name}", folder=tmp_path) is None, name
