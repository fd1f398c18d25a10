"""Segments (K-means over profile vectors, named from top categories) and campaign audiences, on the example shop.

The expected audiences are computed here straight from the shop's files (users.csv, events.jsonl, products.csv),
not from the store, so a wrong SQL filter cannot agree with itself.
"""

from __future__ import annotations

import csv
import json
from collections import defaultdict
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from genpage.campaigns.audience import select_audience
from genpage.campaigns.segments import NEW_SEGMENT, SegmentError, segment_name, segment_users
from genpage.errors import CampaignError
from genpage.ingest import ingest_directory
from genpage.schemas import Audience, Product
from genpage.store import Store

SHOP = Path(__file__).resolve().parents[1] / "examples" / "shop"


@pytest.fixture(scope="module")
def shop_store(tmp_path_factory: pytest.TempPathFactory) -> Store:
    store = Store(tmp_path_factory.mktemp("segments") / "shop.sqlite")
    ingest_directory(store, SHOP)
    return store


@pytest.fixture(scope="module")
def encoder(genpage_home: Path):
    from genpage.embed.encoder import load_encoder

    return load_encoder("minilm", home=genpage_home)


@pytest.fixture(scope="module")
def shop_files() -> dict[str, list[dict]]:
    with (SHOP / "users.csv").open() as fh:
        users = list(csv.DictReader(fh))
    with (SHOP / "products.csv").open() as fh:
        products = list(csv.DictReader(fh))
    events = [json.loads(line) for line in (SHOP / "events.jsonl").read_text().splitlines() if line.strip()]
    return {"users": users, "products": products, "events": events}


@pytest.fixture(scope="module")
def segmentation(shop_store: Store, encoder):
    return segment_users(shop_store, encoder)


# ---------------------------------------------------------------------- segments
def test_every_user_is_in_exactly_one_segment(segmentation, shop_files):
    user_ids = {u["id"] for u in shop_files["users"]}
    assert set(segmentation.assignment) == user_ids
    assert sum(s.size for s in segmentation.segments) == len(user_ids)
    for segment in segmentation.segments:
        assert len(segmentation.members(segment.id)) == segment.size
        assert set(segment.example_users) <= set(segmentation.members(segment.id))
    assert segmentation.assign(["u001", "someone-new"])["someone-new"] == NEW_SEGMENT


def test_segment_names_come_from_their_top_categories(segmentation, shop_files):
    categories = {p["category"] for p in shop_files["products"]}
    clustered = [s for s in segmentation.segments if s.id != NEW_SEGMENT]
    assert len(clustered) >= 4
    for segment in clustered:
        assert segment.name.endswith(" lovers")
        named = segment.name.removesuffix(" lovers").split(" + ")
        assert len(named) == 2 and set(named) <= set(segment.top_categories) <= categories
    assert len({s.name for s in segmentation.segments}) == len(segmentation.segments)  # names tell them apart


def test_segments_group_shoppers_by_their_real_interests(segmentation):
    """personas.json holds each generated shopper's hidden interests: a segment's name should name them."""
    personas = json.loads((SHOP / "personas.json").read_text())
    with_interests = [u for u, interests in personas.items() if interests]
    named_right = 0
    for user in with_interests:
        segment = segmentation.find(segmentation.assignment[user])
        named_right += bool(set(personas[user]) & set(segment.top_categories[:2]))
    assert named_right / len(with_interests) >= 0.8, (named_right, len(with_interests))


def test_users_without_product_events_are_the_new_segment(segmentation, shop_files):
    with_items = {e["user_id"] for e in shop_files["events"] if e.get("item_id") and e["type"] != "return"}
    newcomers = {u["id"] for u in shop_files["users"]} - with_items
    assert newcomers  # the example shop has a few shoppers who only searched, or did nothing
    assert set(segmentation.members(NEW_SEGMENT)) == newcomers


def test_segments_are_cached_and_deterministic(shop_store, encoder, segmentation):
    rows = shop_store.query("SELECT COUNT(*) FROM user_segments WHERE fingerprint = ?", (segmentation.fingerprint,))
    assert rows[0][0] == len(segmentation.assignment)
    again = segment_users(shop_store, encoder)
    assert again.fingerprint == segmentation.fingerprint
    assert again.assignment == segmentation.assignment
    rebuilt = segment_users(shop_store, encoder, refresh=True)
    assert [s.model_dump() for s in rebuilt.segments] == [s.model_dump() for s in segmentation.segments]
    assert rebuilt.assignment == segmentation.assignment


def test_find_by_name_or_id_and_a_clear_error(segmentation):
    first = segmentation.segments[0]
    assert segmentation.find(first.name.upper()) == first
    assert segmentation.find(first.id) == first
    with pytest.raises(SegmentError, match="genpage segments"):
        segmentation.find("Martians")


def test_explicit_k(shop_store, encoder):
    three = segment_users(shop_store, encoder, k=3)
    assert len([s for s in three.segments if s.id != NEW_SEGMENT]) == 3


def test_names_fall_back_to_title_words_without_categories(tmp_path, encoder):
    store = Store(tmp_path / "plain.sqlite")
    titles = ["Red wool scarf", "Blue wool scarf", "Wool mittens", "Garden trowel", "Garden gloves", "Garden kneeler"]
    store.upsert_products([Product(id=f"p{i}", title=t) for i, t in enumerate(titles)])
    from genpage.schemas import Event

    events = []
    for u in range(6):
        items = [0, 1, 2] if u < 3 else [3, 4, 5]
        events += [(f"e{u}-{i}", Event(user_id=f"u{u}", type="purchase", item_id=f"p{i}",
                                        timestamp=datetime(2024, 1, 1) + timedelta(days=i))) for i in items]
    store.upsert_events(events)
    seg = segment_users(store, encoder, k=2)
    names = sorted(s.name for s in seg.segments)
    assert any("Garden" in n for n in names) and any("Wool" in n or "Scarf" in n for n in names), names
    assert seg.assignment["u0"] == seg.assignment["u1"] != seg.assignment["u4"]


def test_segment_name_format():
    assert segment_name(["Candles & Lights", "Home Decor", "Garden"]) == "Candles & Lights + Home Decor lovers"
    assert segment_name([]) == "Shoppers"


# ---------------------------------------------------------------------- audiences
def test_no_filter_is_everyone_sorted(shop_store, shop_files):
    everyone = sorted(u["id"] for u in shop_files["users"])
    assert select_audience(shop_store, Audience()) == everyone
    assert select_audience(shop_store, Audience(all=True)) == everyone
    assert select_audience(shop_store, None) == everyone


def test_country_filter(shop_store, shop_files):
    want = sorted(u["id"] for u in shop_files["users"] if u["country"] in ("Norway", "France"))
    assert want
    assert select_audience(shop_store, Audience(countries=["norway", "France"])) == want


def test_recency_is_relative_to_the_newest_event(shop_store, shop_files):
    stamps = defaultdict(list)
    for e in shop_files["events"]:
        stamps[e["user_id"]].append(datetime.fromisoformat(e["timestamp"]))
    newest = max(max(v) for v in stamps.values())
    want = sorted(u for u, v in stamps.items() if max(v) >= newest - timedelta(days=30))
    assert 0 < len(want) < len(stamps)
    assert select_audience(shop_store, Audience(active_within_days=30)) == want


def test_min_spend_sums_purchase_values(shop_store, shop_files):
    spend = defaultdict(float)
    for e in shop_files["events"]:
        if e["type"] == "purchase":
            spend[e["user_id"]] += e.get("value") or 0.0
    threshold = float(np.median(list(spend.values())))
    want = sorted(u for u, total in spend.items() if total >= threshold)
    assert 0 < len(want) < len(shop_files["users"])
    assert select_audience(shop_store, Audience(min_spend=threshold)) == want


def test_bought_category_filter(shop_store, shop_files):
    category = {p["id"]: p["category"] for p in shop_files["products"]}
    want = sorted({e["user_id"] for e in shop_files["events"]
                   if e["type"] == "purchase" and category.get(e["item_id"]) == "Garden"})
    assert want
    assert select_audience(shop_store, Audience(bought_categories=["garden"])) == want
    with pytest.raises(CampaignError, match="no category 'spaceships'.*Garden"):
        select_audience(shop_store, Audience(bought_categories=["Spaceships"]))


def test_explicit_users_keep_unknown_ids_for_a_cold_start_page(shop_store):
    assert select_audience(shop_store, Audience(users=["u003", "u001", "walk-in"])) == ["u001", "u003", "walk-in"]


def test_segment_filter(shop_store, segmentation):
    first, second = segmentation.segments[0], segmentation.segments[1]
    chosen = select_audience(shop_store, Audience(segments=[first.name, second.id]), segments=segmentation)
    assert chosen == sorted(segmentation.members(first.id) + segmentation.members(second.id))
    with pytest.raises(CampaignError, match="segment_users"):
        select_audience(shop_store, Audience(segments=[first.id]))
    with pytest.raises(SegmentError):
        select_audience(shop_store, Audience(segments=["nobody's segment"]), segments=segmentation)


def test_filters_combine_with_and(shop_store, shop_files, segmentation):
    by_country = set(select_audience(shop_store, Audience(countries=["United Kingdom"])))
    recent = set(select_audience(shop_store, Audience(active_within_days=60)))
    first = segmentation.segments[0]
    in_segment = set(segmentation.members(first.id))
    both = select_audience(shop_store, Audience(countries=["United Kingdom"], active_within_days=60))
    assert both == sorted(by_country & recent)
    three = select_audience(shop_store, Audience(countries=["United Kingdom"], active_within_days=60,
                                                 segments=[first.id]), segments=segmentation)
    assert three == sorted(by_country & recent & in_segment)
    listed = select_audience(shop_store, Audience(users=["u001", "u002", "u003"], countries=["United Kingdom"]))
    assert listed == sorted({"u001", "u002", "u003"} & by_country)


def test_theme_words_do_not_depend_on_the_hash_seed():
    import os
    import subprocess
    import sys

    code = ("import numpy as np; from genpage.rank.reasons import theme_words; "
            "print([theme_words([t], np.ones(1), 1) for t in ['Garden trowel', 'Garden kneeler', 'Wool mittens']])")
    outputs = {
        subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                       env={**os.environ, "PYTHONHASHSEED": str(seed)}).stdout
        for seed in range(6)
    }
    assert outputs == {"[['garden'], ['garden'], ['wool']]\n"}
