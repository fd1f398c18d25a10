"""The house-style corpus (prompts/house_style/): it loads, covers many kinds of shop and every kind of shelf, every
pair passes the guardrails as segment-level copy is judged, and none is about a theme the copy benchmark scores
(bench/copy.py: Online Retail, the example shop and the electronics shop of genpage/evaluation/shops.py)."""

from __future__ import annotations

import csv
import json
from collections import Counter
from pathlib import Path
from typing import get_args

import pytest

from genpage.copy.house_style import HouseStyleError, HouseStylePair, check_pair, load_house_style, pair_facts
from genpage.evaluation.shops import CATALOGUE
from genpage.plan.themes import kind_key, product_kind
from genpage.schemas import SectionKind
from genpage.text import stem, words

REPO = Path(__file__).resolve().parents[1]

# The themes bench/copy.py scores: the Online Retail categories (genpage/ingest/presets/online_retail.py), which the
# example shop shares, and the electronics shop's (genpage/evaluation/shops.py CATALOGUE), read below.
ONLINE_RETAIL_CATEGORIES = (
    "Christmas", "Party", "Candles & Lights", "Jewellery & Accessories", "Bags", "Kitchen & Dining", "Toys & Kids",
    "Stationery & Gifts", "Garden", "Home Decor",
)  # fmt: skip
# The kinds of product (`product_kind`) of ten or more Online Retail products (counted once over its 3,894 stock
# codes; the data is not in the repository): the kind themes its planned pages show.
ONLINE_RETAIL_KINDS = (
    "boxes bags candles necklaces decorations flowers cards bracelets earrings t-light-holders mugs tins signs wraps "
    "bowls cushion-covers charms holders hooks glass clocks trays mirrors notebooks stickers drawers wall-art plates "
    "pencils garlands jars doormats lights hot-water-bottles magnets key-rings bells kits purses photo-frames baskets "
    "pens bunting lanterns parasols cabinets tissues rings hangers tapes frames toys cake-cases cake-stands dishes "
    "books coasters umbrellas cups birthday-cards aprons greeting-cards bottles jigsaws pans lunch-bags pots doorstops "
    "wreaths cases egg-cups wallets napkins cushions gloves handbags curtains dolls saucers lamps lampshades"
).replace("-", " ").split(" ")
# What the electronics shop sells, by the words its titles name it with (product_types.txt knows none of them).
ELECTRONICS_WORDS = (
    "earbud headphone speaker soundbar subwoofer microphone cable charger mouse keyboard webcam dock bank battery "
    "batteries plug bulb doorbell camera thermostat tripod microsd"
).split()


@pytest.fixture(scope="module")
def pairs() -> list[HouseStylePair]:
    return load_house_style()


@pytest.fixture(scope="module")
def excluded() -> tuple[set[str], set[str]]:
    """The theme labels (lower case) and the kind keys ("kind:mug") of what the copy benchmark scores."""
    with open(REPO / "examples" / "shop" / "products.csv", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    catalogue = CATALOGUE
    labels = {c.lower() for c in (*ONLINE_RETAIL_CATEGORIES, *(row["category"] for row in rows), *catalogue)}
    shop_kinds = Counter(kind for row in rows if (kind := product_kind(row["title"])))
    kinds = {k for k in ONLINE_RETAIL_KINDS if k} | {k for k, n in shop_kinds.items() if n >= 2}
    titles = [title for items in catalogue.values() for title, _ in items]
    electronics_kinds = Counter(kind for title in titles if (kind := product_kind(title)))
    kinds |= {k for k, n in electronics_kinds.items() if n >= 2}  # a kind theme shelf needs two products
    return labels | kinds, {kind_key(kind) for kind in kinds}


def test_the_corpus_is_large_and_covers_shops_kinds_and_shelves(pairs):
    assert len(pairs) >= 600
    assert len({pair.shop for pair in pairs}) >= 30
    kinds = Counter(pair.kind for pair in pairs)
    assert set(kinds) == set(get_args(SectionKind)), kinds
    shelves = Counter((pair.kind, pair.shelf) for pair in pairs)
    assert shelves["for_you", "theme"] and shelves["trending", "theme"] and shelves["for_you", "intent"]
    assert all(pair.locale == "en-GB" for pair in pairs)


def test_every_pair_passes_the_guardrails(pairs):
    failing = {f"{p.shop}: {p.title} | {p.blurb}": [str(v) for v in check_pair(p)] for p in pairs if check_pair(p)}
    assert failing == {}


def test_titles_are_title_case_and_pairs_are_distinct(pairs):
    small = {"a", "an", "and", "as", "at", "but", "by", "for", "in", "of", "on", "or", "the", "to", "with", "de"}
    lower = [p.title for p in pairs if any(w[0].islower() and w.lower() not in small for w in p.title.split()[1:])]
    assert lower == []
    assert len({(p.title, p.blurb) for p in pairs}) == len(pairs)
    assert len({p.blurb for p in pairs}) == len(pairs)
    assert Counter(p.title for p in pairs).most_common(1)[0][1] <= len(pairs) // 12  # titles vary


def test_intent_shelves_name_no_theme_and_anchors_belong_to_their_kinds(pairs):
    for pair in pairs:
        facts = pair_facts(pair)
        if pair.shelf == "intent":
            assert pair.theme is None and not facts.categories
        assert bool(facts.anchor) == (pair.kind in ("because_bought", "because_viewed"))
        assert bool(facts.campaign_text) == (pair.kind == "campaign")


def test_no_pair_is_about_a_theme_the_benchmark_scores(pairs, excluded):
    labels, keys = excluded
    banned_stems = {stem(w) for w in ELECTRONICS_WORDS}
    found = []
    for pair in pairs:
        named = [pair.theme or "", *pair.kinds]
        if (pair.theme or "").lower() in labels:
            found.append((pair.title, pair.theme))
        found += [(pair.title, name) for name in named if name and kind_key(product_kind(name)) in keys]
        found += [(pair.title, name) for name in named if {stem(w.lower()) for w in words(name)} & banned_stems]
        if pair.campaign and any(w in pair.campaign.lower() for w in ("christmas", "xmas", "party")):
            found.append((pair.title, pair.campaign))
    assert found == []


def _write(tmp_path: Path, rows: list[str]) -> Path:
    path = tmp_path / "my_copy.jsonl"
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path


GOOD_ROW = {"kind": "new_arrivals", "shelf": "intent", "theme": None, "kinds": ["kites"], "anchor": None,
            "campaign": None, "tone": None, "locale": "en-GB", "title": "New In",
            "blurb": "Kites, just added to the shop."}  # fmt: skip


def test_a_shops_own_file_loads_with_the_same_schema(tmp_path):
    [pair] = load_house_style(_write(tmp_path, [json.dumps(GOOD_ROW), ""]))
    assert pair.shop is None and pair.kinds == ["kites"] and check_pair(pair) == []


@pytest.mark.parametrize(
    ("row", "expected"),
    [
        ({**GOOD_ROW, "title": None}, "line 2, field 'title'"),
        ({**GOOD_ROW, "kind": "bestsellers"}, "line 2, field 'kind'"),
        ({**GOOD_ROW, "colour": "red"}, "line 2, field 'colour'"),
        ({**GOOD_ROW, "theme": "Kites"}, "line 2: Value error, an intent shelf has no theme"),
        ({**GOOD_ROW, "kind": "because_bought"}, "line 2: Value error, a because_bought shelf needs its anchor"),
    ],
)
def test_a_bad_row_names_its_file_line_and_field(tmp_path, row, expected):
    path = _write(tmp_path, [json.dumps(GOOD_ROW), json.dumps(row)])
    with pytest.raises(HouseStyleError) as raised:
        load_house_style(path)
    assert f"{path}, {expected}" in str(raised.value)
    assert len(raised.value.problems) == 1


def test_bad_json_and_a_missing_file_are_clear(tmp_path):
    path = _write(tmp_path, [json.dumps(GOOD_ROW), '{"kind": "new_arrivals",'])
    with pytest.raises(HouseStyleError, match=r"my_copy\.jsonl, line 2: not valid JSON"):
        load_house_style(path)
    with pytest.raises(HouseStyleError, match="no such file"):
        load_house_style(tmp_path / "missing.jsonl")
