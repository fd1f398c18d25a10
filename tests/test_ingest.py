"""Ingest: every format, column mappings, idempotence, each kind of bad input (store left unchanged),
skip_invalid, the example shop, and the online-retail preset on a small file and on the real export."""

from __future__ import annotations

import csv
import gzip
import hashlib
import importlib.util
import json
from datetime import datetime
from pathlib import Path

import pandas as pd
import pytest
import yaml

from genpage.errors import IngestError
from genpage.ingest import ColumnMapping, ingest, ingest_directory, load_mapping
from genpage.ingest.presets import PRESETS
from genpage.ingest.presets.online_retail import category_for, display_title
from genpage.schemas import EVENT_TYPES, Campaign
from genpage.store import Store

REPO = Path(__file__).resolve().parents[1]
EXAMPLES = REPO / "examples"

PRODUCTS = [
    {"id": "p1", "title": "Zinc Watering Can", "category": "Garden", "price": 24.5, "tags": "garden;zinc",
     "created_at": "2026-01-02T10:00:00", "in_stock": "true"},
    {"id": "p2", "title": "Linen Napkins, Set of 4", "category": "Kitchen", "price": 16.0, "in_stock": "false"},
    {"id": "p3", "title": "Soy Candle", "category": "Candles", "price": 14.0, "brand": "Lumen House"},
]
EVENTS = [
    {"user_id": "u1", "type": "view", "item_id": "p1", "timestamp": "2026-10-01T10:00:00"},
    {"user_id": "u1", "type": "purchase", "item_id": "p1", "quantity": 2, "value": 49.0,
     "timestamp": "2026-10-01T10:05:00", "session_id": "s1"},
    {"user_id": "u1", "type": "purchase", "item_id": "p1", "quantity": 2, "value": 49.0,
     "timestamp": "2026-10-01T10:05:00", "session_id": "s1"},  # an identical line: a second event
    {"user_id": "u2", "type": "search", "query": "candle", "timestamp": "2026-10-02T09:00:00"},
    {"user_id": "u2", "type": "review", "item_id": "p3", "rating": 4, "timestamp": "2026-10-03T09:00:00"},
]


# ------------------------------------------------------------------ helpers


def write_csv(path: Path, rows: list[dict], fields: list[str] | None = None) -> Path:
    fields = fields or list(dict.fromkeys(k for r in rows for k in r))
    opener = gzip.open if path.name.endswith(".gz") else open
    with opener(path, "wt", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=fields)
        writer.writeheader()
        writer.writerows(rows)
    return path


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    opener = gzip.open if path.name.endswith(".gz") else open
    with opener(path, "wt", encoding="utf-8") as fh:
        fh.writelines(json.dumps(r) + "\n" for r in rows)
    return path


def write_source(tmp_path: Path, name: str, fmt: str, rows: list[dict]) -> Path | pd.DataFrame:
    if fmt == "dataframe":
        return pd.DataFrame(rows)
    path = tmp_path / f"{name}.{fmt}"
    if fmt.startswith("csv"):
        return write_csv(path, rows)
    if fmt.startswith("jsonl"):
        return write_jsonl(path, rows)
    pd.DataFrame(rows).to_parquet(path)
    return path


def snapshot(store: Store) -> tuple[dict[str, int], str]:
    """Row counts and a checksum of every row of products, users and events."""
    digest = hashlib.sha1()
    for table in ("products", "users", "events"):
        for row in store.query(f"SELECT * FROM {table} ORDER BY 1"):
            digest.update(repr(tuple(row)).encode())
    return store.counts(), digest.hexdigest()


@pytest.fixture
def store(tmp_path: Path) -> Store:
    with Store(tmp_path / "store.sqlite") as s:
        yield s


@pytest.fixture
def loaded(store: Store, tmp_path: Path) -> Store:
    """A store that already holds the small catalogue and events (to prove a refused ingest changes nothing)."""
    ingest(store, write_csv(tmp_path / "seed_products.csv", PRODUCTS))
    ingest(store, write_jsonl(tmp_path / "seed_events.jsonl", EVENTS))
    return store


# ------------------------------------------------------------------ formats


@pytest.mark.parametrize("fmt", ["csv", "csv.gz", "jsonl", "jsonl.gz", "parquet", "dataframe"])
def test_products_load_from_every_format(store: Store, tmp_path: Path, fmt: str) -> None:
    report = ingest(store, write_source(tmp_path, "products", fmt, PRODUCTS))
    assert report.kind == "products"
    assert report.rows_read == 3 and report.loaded == {"products": 3} and report.new == {"products": 3}
    p1, p2, p3 = store.products(["p1", "p2", "p3"])
    assert (p1.title, p1.price, p1.tags, p1.created_at) == ("Zinc Watering Can", 24.5, ["garden", "zinc"],
                                                             datetime(2026, 1, 2, 10, 0))
    assert p2.in_stock is False and p1.in_stock is True
    assert p3.brand == "Lumen House" and p3.currency == "GBP"


@pytest.mark.parametrize("fmt", ["csv", "csv.gz", "jsonl", "jsonl.gz", "parquet", "dataframe"])
def test_events_load_from_every_format(store: Store, tmp_path: Path, fmt: str) -> None:
    report = ingest(store, write_source(tmp_path, "events", fmt, EVENTS))
    assert report.kind == "events"
    assert report.loaded["events"] == 5
    assert report.loaded["events.purchase"] == 2  # identical lines are two events
    assert report.loaded["users_created"] == 2  # users without a user row get a minimal one
    assert store.user_ids() == ["u1", "u2"]
    events = store.user_events("u1")
    assert [e.type for e in events] == ["view", "purchase", "purchase"]
    assert events[1].session_id == "s1" and events[1].quantity == 2 and events[1].value == 49.0
    assert store.user_events("u2")[0].query == "candle"
    assert report.warnings and "not in the catalogue" in report.warnings[0]  # no products loaded yet


def test_same_events_from_another_format_add_nothing(store: Store, tmp_path: Path) -> None:
    ingest(store, write_jsonl(tmp_path / "events.jsonl", EVENTS))
    before = snapshot(store)
    report = ingest(store, write_csv(tmp_path / "events.csv", EVENTS))
    assert report.loaded["events"] == 5 and report.new == {}
    assert snapshot(store) == before


def test_users_extra_columns_become_attributes(store: Store, tmp_path: Path) -> None:
    rows = [{"id": "u1", "country": "France", "segment": "loyal"}, {"id": "u2", "segment": "new"}]
    report = ingest(store, write_csv(tmp_path / "users.csv", rows))
    assert report.kind == "users" and report.loaded == {"users": 2}
    assert store.user("u1").attributes == {"segment": "loyal"} and store.user("u1").country == "France"
    # events for u1 afterwards do not wipe its row
    ingest(store, write_jsonl(tmp_path / "events.jsonl", EVENTS[:1]))
    assert store.user("u1").country == "France" and store.user("u1").attributes == {"segment": "loyal"}


def test_format_override_and_kind_override(store: Store, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "catalogue.txt", PRODUCTS)
    with pytest.raises(IngestError, match="cannot tell the format of catalogue.txt"):
        ingest(store, path)
    assert ingest(store, path, fmt="csv", kind="products").loaded == {"products": 3}


def test_kind_cannot_be_inferred(store: Store, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "things.csv", [{"sku": "a", "name": "b"}])
    with pytest.raises(IngestError, match=r"cannot tell whether things.csv holds products, users or events"):
        ingest(store, path)


# ------------------------------------------------------------------ mappings


EXPORT = [
    {"sku": "A-1", "name": "Oak Board", "cost": "22.00", "dept": "Kitchen", "note": "internal"},
    {"sku": "A-2", "name": "Brass Hook", "cost": "6.50", "dept": "Home", "note": ""},
]
EXPORT_MAPPING = {
    "columns": {"sku": "id", "name": "title", "cost": "price", "dept": "category", "note": None},
    "constants": {"currency": "EUR"},
}


def test_column_mapping_loads_a_real_export(store: Store, tmp_path: Path) -> None:
    report = ingest(store, write_csv(tmp_path / "export.csv", EXPORT), mapping=EXPORT_MAPPING)
    assert report.kind == "products" and report.loaded == {"products": 2}
    board = store.product("A-1")
    assert (board.title, board.price, board.category, board.currency) == ("Oak Board", 22.0, "Kitchen", "EUR")


def test_flat_mapping_and_unmapped_column_is_refused(store: Store, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "export.csv", EXPORT)
    flat = {"sku": "id", "name": "title", "cost": "price", "dept": "category"}
    with pytest.raises(IngestError, match=r"column\(s\) 'note' are not products fields"):
        ingest(store, path, mapping=flat)
    with pytest.raises(IngestError, match="'colour', which is not a products field"):
        ingest(store, path, mapping={**flat, "note": "colour"})
    assert store.counts()["products"] == 0
    assert ingest(store, path, mapping={**flat, "note": None}).loaded == {"products": 2}


@pytest.mark.parametrize("suffix", ["json", "yaml", "toml"])
def test_mapping_files(store: Store, tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"mapping.{suffix}"
    if suffix == "json":
        path.write_text(json.dumps(EXPORT_MAPPING))
    elif suffix == "yaml":
        path.write_text(yaml.safe_dump(EXPORT_MAPPING))
    else:  # TOML has no null: an empty string drops the column
        path.write_text('[columns]\nsku = "id"\nname = "title"\ncost = "price"\ndept = "category"\nnote = ""\n'
                        '[constants]\ncurrency = "EUR"\n')
    mapping = load_mapping(path)
    assert isinstance(mapping, ColumnMapping) and mapping.constants == {"currency": "EUR"}
    assert mapping.columns["note"] is None
    report = ingest(store, write_csv(tmp_path / "export.csv", EXPORT), mapping=path)
    assert report.loaded == {"products": 2} and store.product("A-2").currency == "EUR"


def test_bad_mapping_file(tmp_path: Path) -> None:
    path = tmp_path / "mapping.yaml"
    path.write_text("columns: [unclosed")
    with pytest.raises(IngestError, match="mapping file .*mapping.yaml is not valid yaml"):
        load_mapping(path)


# ------------------------------------------------------------------ idempotence


def test_reingest_changes_nothing(store: Store, tmp_path: Path) -> None:
    products = write_csv(tmp_path / "products.csv", PRODUCTS)
    events = write_jsonl(tmp_path / "events.jsonl", EVENTS)
    ingest(store, products)
    ingest(store, events)
    before = snapshot(store)
    assert before[0]["events"] == 5
    again = [ingest(store, products), ingest(store, events)]
    assert [r.new for r in again] == [{}, {}]
    assert snapshot(store) == before


# ------------------------------------------------------------------ chunks: the same store, whatever the chunk size


def _temp_tables(store: Store) -> list[str]:
    return [r[0] for r in store.query("SELECT name FROM sqlite_temp_master WHERE type = 'table'")]


@pytest.mark.parametrize("fmt", ["csv", "jsonl", "parquet", "dataframe"])
def test_chunk_size_changes_nothing(tmp_path: Path, fmt: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Rows read two at a time load the same rows under the same keys as rows read at once: identical events in
    different chunks are still numbered in file order, a repeated product id still keeps its last row."""
    from genpage.ingest import formats

    products = [*PRODUCTS, PRODUCTS[0] | {"title": "Zinc Watering Can, Large"}]
    events = [*EVENTS, EVENTS[1], *EVENTS]  # one purchase five times, at rows 2, 3, 6, 8, 9 (chunks 1 to 5)
    snapshots = []
    for chunk_rows in (10_000, 2):
        monkeypatch.setattr(formats, "CHUNK_ROWS", chunk_rows)
        with Store(tmp_path / f"chunks-{chunk_rows}.sqlite") as store:
            reports = [ingest(store, write_source(tmp_path, "products", fmt, products), kind="products"),
                       ingest(store, write_source(tmp_path, "events", fmt, events), kind="events")]
            assert [r.rows_read for r in reports] == [4, 11]
            assert reports[0].loaded == {"products": 3} and reports[1].loaded["events.purchase"] == 5
            assert reports[0].warnings == ["1 products rows repeat an id; the last row wins"]
            assert store.product("p1").title == "Zinc Watering Can, Large"
            keys = sorted(r[0] for r in store.query("SELECT id FROM events WHERE type = 'purchase'"))
            assert [k.split(":")[1] for k in keys] == ["0", "1", "2", "3", "4"]
            assert _temp_tables(store) == []
            snapshots.append(snapshot(store))
    assert snapshots[0] == snapshots[1]


def test_bad_row_in_a_later_chunk_is_named_and_loads_nothing(loaded: Store, tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    from genpage.ingest import formats

    monkeypatch.setattr(formats, "CHUNK_ROWS", 2)
    rows = [*EVENTS, EVENTS[0] | {"type": "wishlist"}, *EVENTS]
    path = write_csv(tmp_path / "events.csv", rows)
    err = _refused(loaded, path, "events.csv row 6 \\(line 7\\), field 'type'")
    assert "(1 more invalid rows)" not in str(err) and _temp_tables(loaded) == []
    report = ingest(loaded, path, skip_invalid=True)
    assert [(bad.row, bad.field) for bad in report.invalid] == [(6, "type")] and report.skipped == {"invalid": 1}


def test_a_bulk_load_keeps_the_events_indexes(store: Store, tmp_path: Path) -> None:
    """A load larger than the events held drops the events table's indexes and builds them again in the same
    transaction: they are there afterwards, as they were, and queries use them."""
    indexes = "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'events' AND sql IS NOT NULL"
    before = sorted(tuple(r) for r in store.query(indexes))
    assert {name for name, _ in before} >= {"events_user", "events_item"}
    ingest(store, write_jsonl(tmp_path / "events.jsonl", EVENTS))
    with pytest.raises(IngestError, match="nothing was loaded"):
        ingest(store, write_jsonl(tmp_path / "more.jsonl", [*EVENTS, *EVENTS, EVENTS[0] | {"type": "x"}]))
    assert sorted(tuple(r) for r in store.query(indexes)) == before
    plan = " ".join(r[3] for r in store.query("EXPLAIN QUERY PLAN SELECT * FROM events WHERE user_id = 'u1'"))
    assert "events_user" in plan


def test_preset_read_in_chunks_loads_the_same(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from genpage.ingest.presets import online_retail

    path = tmp_path / "retail.csv"
    with path.open("w", newline="") as fh:
        csv.writer(fh).writerows([RETAIL_HEADER, *RETAIL_LINES, *RETAIL_LINES])
    results = []
    for lines in (100_000, 5):
        monkeypatch.setattr(online_retail, "CHUNK_LINES", lines)
        with Store(tmp_path / f"retail-{lines}.sqlite") as store:
            report = ingest(store, path, preset="online-retail")
            results.append((snapshot(store), report.loaded, report.skipped, report.rows_read, report.notes))
    assert results[0] == results[1]
    assert results[0][1]["events.purchase"] == 10 and results[0][3] == 24


# ------------------------------------------------------------------ bad input leaves the store unchanged


def _refused(store: Store, source: object, match: str, **kwargs: object) -> IngestError:
    before = snapshot(store)
    with pytest.raises(IngestError, match=match) as info:
        ingest(store, source, **kwargs)
    assert snapshot(store) == before, "a refused ingest must leave the store unchanged"
    return info.value


def test_missing_required_column(loaded: Store, tmp_path: Path) -> None:
    rows = [{k: v for k, v in p.items() if k != "title"} | {"name": "x"} for p in PRODUCTS]
    err = _refused(loaded, write_csv(tmp_path / "products.csv", rows), "products.csv", kind="products")
    assert "missing required column 'title'" in str(err) and err.field == "title"


def test_bad_value_names_file_row_line_and_field(loaded: Store, tmp_path: Path) -> None:
    rows = [*PRODUCTS, {"id": "p9", "title": "Broken", "price": -1}, {"id": "p10", "title": "Fine", "price": 2}]
    rows = [r | {"id": f"new-{r['id']}"} for r in rows]
    err = _refused(loaded, write_csv(tmp_path / "products.csv", rows), "products.csv")
    assert str(err).startswith(
        "products.csv row 4 (line 5), field 'price': Input should be greater than or equal to 0"
    )
    assert (err.row, err.field) == (4, "price")
    assert "skip_invalid" in str(err)
    assert loaded.product("new-p1") is None  # the good rows were not written either


def test_bad_json_line(loaded: Store, tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    lines = [json.dumps(EVENTS[0]), "", json.dumps(EVENTS[3]), '{"user_id": "u3", "type": "view",']
    path.write_text("\n".join(lines) + "\n")
    err = _refused(loaded, path, r"events.jsonl row 3 \(line 4\): bad JSON")
    assert err.row == 3


def test_event_without_item(loaded: Store, tmp_path: Path) -> None:
    rows = [EVENTS[0] | {"user_id": "u7"}, {"user_id": "u7", "type": "purchase", "timestamp": "2026-10-05T10:00:00"}]
    err = _refused(loaded, write_csv(tmp_path / "events.csv", rows), "needs an item_id")
    assert str(err).startswith("events.csv row 2 (line 3), field 'item_id': Value error, a purchase event needs")
    assert loaded.user("u7") is None  # no minimal user was created either


def test_bad_event_type_and_timestamp(loaded: Store, tmp_path: Path) -> None:
    rows = [EVENTS[0] | {"type": "wishlist"}]
    _refused(loaded, write_jsonl(tmp_path / "events.jsonl", rows), r"row 1 \(line 1\), field 'type'")
    rows = [EVENTS[0] | {"timestamp": "yesterday"}]
    _refused(loaded, write_csv(tmp_path / "events.csv", rows), r"row 1 \(line 2\), field 'timestamp'")


@pytest.mark.parametrize("case", ["missing", "unknown_extension", "garbage_parquet", "not_utf8", "empty", "folder",
                                  "ragged_csv", "bad_gzip"])
def test_unreadable_sources(loaded: Store, tmp_path: Path, case: str) -> None:
    path = {
        "missing": tmp_path / "nope.csv",
        "unknown_extension": tmp_path / "products.xlsx",
        "garbage_parquet": tmp_path / "products.parquet",
        "not_utf8": tmp_path / "products.csv",
        "empty": tmp_path / "products.csv",
        "folder": tmp_path / "shop",
        "ragged_csv": tmp_path / "products.csv",
        "bad_gzip": tmp_path / "products.csv.gz",
    }[case]
    content = {
        "unknown_extension": b"PK\x03\x04",
        "garbage_parquet": b"this is not parquet",
        "not_utf8": "id,title\np1,Caf\u00e9 Bowl\n".encode("latin-1"),
        "empty": b"",
        "ragged_csv": b"id,title\np1,Bowl,extra,values\n",
        "bad_gzip": b"not gzip at all",
    }.get(case)
    if content is not None:
        path.write_bytes(content)
    if case == "folder":
        path.mkdir()
    match = {
        "missing": "does not exist",
        "unknown_extension": "cannot tell the format of products.xlsx",
        "garbage_parquet": "cannot read products.parquet as parquet",
        "not_utf8": "is not UTF-8 text",
        "empty": "products.csv is empty",
        "folder": "is a folder",
        "ragged_csv": r"products.csv row 1 \(line 2\): has 4 values but the header has 2",
        "bad_gzip": "cannot read products.csv.gz as csv",
    }[case]
    _refused(loaded, path, match)


def test_directory_with_a_bad_file_loads_nothing(store: Store, tmp_path: Path) -> None:
    shop = tmp_path / "shop"
    shop.mkdir()
    write_csv(shop / "products.csv", PRODUCTS)
    write_jsonl(shop / "events.jsonl", [*EVENTS, {"user_id": "u1", "type": "view", "timestamp": "2026-10-09"}])
    with pytest.raises(IngestError, match=r"events.jsonl row 6 \(line 6\), field 'item_id'"):
        ingest_directory(store, shop)
    assert snapshot(store)[0] == {"products": 0, "users": 0, "events": 0}


def test_unknown_product_is_kept_with_a_warning(loaded: Store, tmp_path: Path) -> None:
    rows = [{"user_id": "u1", "type": "view", "item_id": "ghost", "timestamp": "2026-10-09T12:00:00"}]
    report = ingest(loaded, write_jsonl(tmp_path / "more.jsonl", rows))
    assert report.new == {"events": 1}
    assert report.warnings == ["1 events name 1 item ids that are not in the catalogue (e.g. 'ghost'); "
                               "they are kept but those items cannot be shown"]


# ------------------------------------------------------------------ skip_invalid


def test_skip_invalid_loads_good_rows_and_lists_bad_ones(store: Store, tmp_path: Path) -> None:
    rows = [*PRODUCTS, {"id": "p4", "title": "", "price": 3}, {"id": "p5", "title": "Mug", "price": "cheap"}]
    report = ingest(store, write_csv(tmp_path / "products.csv", rows), skip_invalid=True)
    assert report.loaded == {"products": 3} and store.counts()["products"] == 3
    assert [(bad.row, bad.line, bad.field) for bad in report.invalid] == [(4, 5, "title"), (5, 6, "price")]
    assert report.skipped == {"invalid": 2}
    assert str(report.invalid[1]).startswith("products.csv row 5 (line 6), field 'price': Input should be a valid")
    assert "invalid: 2 rows refused, first: products.csv row 4 (line 5), field 'title'" in report.summary()


def test_skip_invalid_with_bad_json_line(store: Store, tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    path.write_text(json.dumps(EVENTS[0]) + "\nnot json\n" + json.dumps(EVENTS[3]) + "\n")
    report = ingest(store, path, skip_invalid=True)
    assert report.loaded["events"] == 2 and report.invalid[0].row == 2 and report.rows_read == 3


# ------------------------------------------------------------------ the example shop


def test_example_shop_loads(store: Store) -> None:
    report = ingest_directory(store, EXAMPLES / "shop")
    assert [r.kind for r in report] == ["products", "users", "events"]
    counts = store.counts()
    assert counts["products"] == 200 and counts["users"] == 60
    assert all(counts.get(f"events.{t}", 0) > 0 for t in EVENT_TYPES), counts
    categories = dict(store.categories())
    assert len(categories) == 10 and min(categories.values()) >= 15
    products = store.products()
    assert sum(not p.in_stock for p in products) >= 5
    assert all(p.price and p.currency == "GBP" and p.description and p.brand for p in products)
    newest = sorted(p.created_at for p in products)[-20:]
    assert min(newest) >= datetime(2026, 10, 1)
    assert store.user("u001").attributes["segment"]
    searches = store.events_frame(["search"])
    assert searches["query"].notna().all()
    assert store.events_frame(["review"])["rating"].between(1, 5).all()
    personas = json.loads((EXAMPLES / "shop" / "personas.json").read_text())
    cold = [u for u, interests in personas.items() if not interests and not store.user_events(u)]
    assert cold, "a few shoppers have no history at all"
    assert sum(len(v) == 2 for v in personas.values()) >= 5
    assert "loaded in one transaction" in report.summary()
    before = snapshot(store)
    assert [r.new for r in ingest_directory(store, EXAMPLES / "shop")] == [{}, {}, {}]
    assert snapshot(store) == before


def test_example_shop_interests_show_in_events(store: Store) -> None:
    ingest_directory(store, EXAMPLES / "shop")
    personas = json.loads((EXAMPLES / "shop" / "personas.json").read_text())
    categories = {p.id: p.category for p in store.products()}
    for user, interests in personas.items():
        if len(interests) != 1:
            continue
        viewed = [categories[e.item_id] for e in store.user_events(user) if e.type == "view"]
        share = viewed.count(interests[0]) / len(viewed)
        assert share > 0.5, (user, interests, share)


def test_example_files_match_their_generator(tmp_path: Path) -> None:
    spec = importlib.util.spec_from_file_location("make_shop", EXAMPLES / "make_shop.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.OUT = tmp_path
    module.main()
    for name in ("products.csv", "users.csv", "events.jsonl", "personas.json"):
        assert (tmp_path / name).read_bytes() == (EXAMPLES / "shop" / name).read_bytes(), name


def test_example_campaign_is_valid(store: Store) -> None:
    campaign = Campaign.model_validate(yaml.safe_load((EXAMPLES / "campaigns" / "christmas.yaml").read_text()))
    assert campaign.featured_categories == ["Christmas", "Candles & Lights"]
    ingest_directory(store, EXAMPLES / "shop")
    featured = store.products(campaign.featured_products)
    assert len(featured) == len(campaign.featured_products) and all(p.in_stock for p in featured)


# ------------------------------------------------------------------ the online-retail preset

RETAIL_HEADER = ["InvoiceNo", "StockCode", "Description", "Quantity", "InvoiceDate", "UnitPrice", "CustomerID",
                 "Country"]
RETAIL_LINES = [
    ["536365", "85123A", "WHITE HANGING HEART T-LIGHT HOLDER", "6", "2010-12-01 08:26:00", "2.55", "17850",
     "United Kingdom"],
    ["536365", "85123A", "WHITE HANGING HEART T-LIGHT HOLDER", "6", "2010-12-01 08:26:00", "2.55", "17850",
     "United Kingdom"],  # the same line twice: two events
    ["536366", "22633", "SET/6 RED SPOTTY PAPER CUPS", "12", "2010-12-01 08:28:00", "0.65", "17850",
     "United Kingdom"],
    ["536367", "22633", "set/6 red spotty paper cups", "6", "2010-12-02 10:00:00", "0.85", "13047", "France"],
    ["536367", "22633", "SET/6 RED SPOTTY PAPER CUPS", "6", "2010-12-02 10:00:00", "0.65", "13047", "France"],
    ["536368", "POST", "POSTAGE", "1", "2010-12-02 10:01:00", "18.00", "13047", "France"],
    ["536369", "DCGSSGIRL", "GIRLS PARTY BAG", "1", "2010-12-02 10:02:00", "3.29", "13047", "France"],
    ["536370", "22633", "SET/6 RED SPOTTY PAPER CUPS", "6", "2010-12-02 11:00:00", "0.65", "", "United Kingdom"],
    ["536371", "22633", "?", "-10", "2010-12-03 09:00:00", "0", "", "United Kingdom"],
    ["536372", "22139", "RETROSPOT TEA SET CERAMIC 11 PC", "-3", "2010-12-03 09:30:00", "4.95", "12583", "France"],
    ["536373", "22139", "RETROSPOT TEA SET CERAMIC 11 PC", "2", "2010-12-03 09:31:00", "0.00", "12583", "France"],
    ["C536374", "85123A", "WHITE HANGING HEART T-LIGHT HOLDER", "-2", "2010-12-04 12:00:00", "2.55", "17850",
     "United Kingdom"],
]


def test_preset_on_a_small_file(store: Store, tmp_path: Path) -> None:
    path = tmp_path / "retail.csv"
    with path.open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(RETAIL_HEADER)
        writer.writerows(RETAIL_LINES)
    report = ingest(store, path, preset="online-retail")
    assert report.kind == "online-retail" and report.rows_read == 12
    assert report.skipped == {"no_customer": 2, "fee_code": 2, "non_positive_quantity": 1, "bad_price": 1}
    assert report.loaded["events.purchase"] == 5 and report.loaded["events.return"] == 1
    heart, cups = store.products(["85123A", "22633"])
    assert (heart.title, heart.category, heart.price, heart.currency) == (
        "White Hanging Heart T-Light Holder", "Candles & Lights", 2.55, "GBP")
    assert (cups.title, cups.category, cups.price) == ("Set of 6 Red Spotty Paper Cups", "Party", 0.65)
    assert cups.created_at == datetime(2010, 12, 1, 8, 28)
    assert store.user("13047").country == "France" and store.user_ids() == ["13047", "17850"]
    events = store.user_events("17850")
    assert [(e.type, e.quantity, e.value, e.session_id) for e in events] == [
        ("purchase", 6, 15.3, "536365"), ("purchase", 6, 15.3, "536365"), ("purchase", 12, 7.8, "536366"),
        ("return", 2, 5.1, "C536374")]
    for line in ("skipped 6 rows: ", "no_customer 2", "fee_code 2", "bad_price 1"):
        assert line in report.summary()
    before = snapshot(store)
    assert ingest(store, path, preset="online-retail").new == {}
    assert snapshot(store) == before


def test_preset_errors(store: Store, tmp_path: Path) -> None:
    wrong = write_csv(tmp_path / "products.csv", PRODUCTS)
    with pytest.raises(IngestError, match="missing column.*'InvoiceNo'.*preset 'online-retail'"):
        ingest(store, wrong, preset="online-retail")
    with pytest.raises(IngestError, match="unknown preset 'shopify'; known presets: online-retail"):
        ingest(store, wrong, preset="shopify")
    with pytest.raises(IngestError, match="drop kind/format/mapping"):
        ingest(store, wrong, preset="online-retail", kind="events")
    assert "online-retail" in PRESETS and store.counts()["products"] == 0


@pytest.mark.parametrize(("raw", "title"), [
    ("SET/6 RED SPOTTY PAPER CUPS", "Set of 6 Red Spotty Paper Cups"),
    ("WHITE HANGING HEART T-LIGHT HOLDER", "White Hanging Heart T-Light Holder"),
    ("PINK/WHITE CHRISTMAS TREE 60CM", "Pink/White Christmas Tree 60cm"),
    ("CHILDRENS CUTLERY POLKADOT PINK", "Children's Cutlery Polkadot Pink"),
    ("S/3 POT POURI CUSHIONS BLUE COLOURS", "Set of 3 Pot Pouri Cushions Blue Colours"),
    ("LED TEA LIGHTS", "LED Tea Lights"),
    ("PACK OF 72 RETROSPOT CAKE CASES", "Pack of 72 Retrospot Cake Cases"),
    ("  JUMBO BAG  RED RETROSPOT ", "Jumbo Bag Red Retrospot"),
])
def test_display_title(raw: str, title: str) -> None:
    assert display_title(raw) == title


@pytest.mark.parametrize(("title", "category"), [
    ("PAPER CHAIN KIT 50'S CHRISTMAS", "Christmas"),
    ("JUMBO BAG RED RETROSPOT", "Bags"),
    ("PACK OF 72 RETROSPOT CAKE CASES", "Kitchen & Dining"),
    ("ASSORTED COLOUR BIRD ORNAMENT", "Home Decor"),
    ("PARTY BUNTING", "Party"),
    ("SPACEBOY LUNCH BOX", "Kitchen & Dining"),
    ("SPACEBOY BABY GIFT SET", "Toys & Kids"),
    ("GARDENERS KNEELING PAD KEEP CALM", "Garden"),
    ("DOGGY RUBBER", "Other"),
    ("GARDEN METAL SIGN", "Garden"),
    ("DIAMANTE NECKLACE", "Jewellery & Accessories"),
])
def test_category_for(title: str, category: str) -> None:
    assert category_for(title) == category


@pytest.mark.slow
def test_preset_on_the_real_online_retail_file(store: Store, online_retail_csv: Path) -> None:
    report = ingest(store, online_retail_csv, preset="online-retail")
    counts = store.counts()
    # the README: ~396k kept lines, 4.3k users, 3.7k items, 18.5k invoices
    assert 3_500 <= counts["products"] <= 3_800
    assert 4_300 <= counts["users"] <= 4_400
    assert 390_000 <= counts["events.purchase"] <= 400_000
    assert counts["events.return"] > 5_000
    invoices = store.query("SELECT COUNT(DISTINCT session_id) FROM events WHERE type = 'purchase'")[0][0]
    assert 18_000 <= invoices <= 18_600
    assert report.rows_read == 541_909
    assert report.skipped["no_customer"] == 135_080  # the README's count of lines without a CustomerID
    assert report.skipped["fee_code"] > 1_000 and report.skipped["bad_price"] > 0
    assert sum(report.skipped.values()) + counts["events"] == report.rows_read
    orphans = store.query("SELECT COUNT(*) FROM events e LEFT JOIN users u ON u.id = e.user_id WHERE u.id IS NULL")
    assert orphans[0][0] == 0
    heart = store.product("85123A")
    assert heart.title == "White Hanging Heart T-Light Holder" and heart.category == "Candles & Lights"
    categories = dict(store.categories())
    assert categories.get("Other", 0) < 0.1 * counts["products"] and len(categories) == 11
    assert report.seconds < 120
