"""Hostile input at ingest (issue 18): non-finite and out-of-range numbers, files that look like the wrong kind,
errors that must name the file, row and field, control and bidi characters, over-long text."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from demo_shop import page_from_products
from pydantic import ValidationError

from genpage import schemas
from genpage.errors import IngestError
from genpage.ingest import ingest
from genpage.page import render_page
from genpage.schemas import Audience, Campaign, Product
from genpage.store import Store

GOOD = {"id": "p1", "title": "Zinc Watering Can", "price": 24.5}
EVENT = {"user_id": "u1", "type": "purchase", "item_id": "p1", "quantity": 1, "value": 9.5,
         "timestamp": "2026-10-01T10:00:00"}


@pytest.fixture
def store(tmp_path: Path) -> Store:
    with Store(tmp_path / "store.sqlite") as s:
        yield s


def write_csv(path: Path, rows: list[dict]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(dict.fromkeys(k for r in rows for k in r)))
        writer.writeheader()
        writer.writerows(rows)
    return path


def cli(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "genpage.cli", "ingest", *args, "--db", str(tmp_path / "cli.sqlite")],
                          capture_output=True, text=True, timeout=120)


def refused(store: Store, source: object, **kwargs: object) -> IngestError:
    before = store.counts()
    with pytest.raises(IngestError) as info:
        ingest(store, source, **kwargs)
    assert store.counts() == before, "a refused ingest must leave the store unchanged"
    return info.value


# ------------------------------------------------------------------ 1. non-finite numbers


def _write_price(tmp_path: Path, fmt: str, price: object) -> object:
    """A two-row products source whose second row has `price` (written in the format's own spelling)."""
    if fmt == "csv":
        path = tmp_path / "products.csv"
        path.write_text(f"id,title,price\np1,Bowl,2.5\np2,Cup,{price}\n", encoding="utf-8")
        return path
    if fmt == "jsonl":
        path = tmp_path / "products.jsonl"
        path.write_text('{"id": "p1", "title": "Bowl", "price": 2.5}\n'
                        f'{{"id": "p2", "title": "Cup", "price": {price}}}\n', encoding="utf-8")
        return path
    if fmt == "json":
        path = tmp_path / "products.json"
        path.write_text('[{"id": "p1", "title": "Bowl", "price": 2.5}, '
                        f'{{"id": "p2", "title": "Cup", "price": {price}}}]', encoding="utf-8")
        return path
    frame = pd.DataFrame([{"id": "p1", "title": "Bowl", "price": 2.5}, {"id": "p2", "title": "Cup", "price": price}])
    if fmt == "dataframe":
        return frame
    path = tmp_path / "products.parquet"
    frame.to_parquet(path)
    return path


@pytest.mark.parametrize(("fmt", "price"), [
    ("csv", "inf"), ("csv", "Infinity"), ("csv", "nan"), ("csv", "-inf"),
    ("jsonl", "Infinity"), ("jsonl", "NaN"), ("json", "Infinity"), ("json", "NaN"),
    ("parquet", float("inf")), ("dataframe", float("inf")), ("dataframe", float("-inf")),
])
def test_non_finite_price_is_refused_in_every_format(store: Store, tmp_path: Path, fmt: str, price: object) -> None:
    source = _write_price(tmp_path, fmt, price)
    err = refused(store, source)
    assert (err.row, err.field) == (2, "price")
    assert "field 'price': Input should be a finite number" in str(err)
    name = "DataFrame" if fmt == "dataframe" else Path(str(source)).name
    assert str(err).startswith(f"{name} row 2")
    report = ingest(store, source, skip_invalid=True)  # the row is skippable like any invalid row
    assert report.loaded == {"products": 1} and store.product("p2") is None


@pytest.mark.parametrize(("field", "value"), [("value", "inf"), ("value", "nan"), ("value", "-inf"),
                                              ("rating", "inf"), ("quantity", "inf")])
def test_non_finite_event_numbers_are_refused(store: Store, tmp_path: Path, field: str, value: str) -> None:
    row = {k: v for k, v in EVENT.items() if k != field} | {field: value}
    if field == "rating":
        row["type"] = "review"
    path = tmp_path / "events.jsonl"
    text = json.dumps(row).replace(f'"{value}"', {"inf": "Infinity", "-inf": "-Infinity", "nan": "NaN"}[value])
    path.write_text(text + "\n", encoding="utf-8")
    err = refused(store, path)
    assert (err.row, err.field) == (1, field), str(err)
    write_csv(tmp_path / "events.csv", [row])
    err = refused(store, tmp_path / "events.csv")
    assert (err.row, err.field) == (1, field), str(err)


def test_absurd_amounts_are_refused(store: Store, tmp_path: Path) -> None:
    path = tmp_path / "products.csv"
    path.write_text("id,title,price\np1,Bowl,2.5\np2,Cup,1e308\n", encoding="utf-8")
    err = refused(store, path)  # finite, but a page printed it as a 309-digit price
    assert (err.row, err.field) == (2, "price")
    row = EVENT | {"value": -1e300}
    err = refused(store, write_jsonl(tmp_path / "events.jsonl", [EVENT, row]))
    assert (err.row, err.field) == (2, "value")


def test_non_finite_user_attribute_is_refused(store: Store, tmp_path: Path) -> None:
    path = tmp_path / "users.jsonl"
    path.write_text('{"id": "u1", "segment": "loyal"}\n{"id": "u2", "lifetime_value": Infinity}\n', encoding="utf-8")
    err = refused(store, path)  # was stored as the attribute text "inf"
    assert (err.row, err.field) == (2, "attributes.lifetime_value"), str(err)
    frame = pd.DataFrame([{"id": "u1", "score": 1.5}, {"id": "u2", "score": float("-inf")}, {"id": "u3"}])
    err = refused(store, frame)
    assert (err.row, err.field) == (2, "attributes.score"), str(err)


def test_campaign_numbers_must_be_finite() -> None:
    for bad in ("inf", float("inf"), float("nan")):
        with pytest.raises(ValidationError, match="finite number"):
            Audience(min_spend=bad)
        with pytest.raises(ValidationError, match="boost"):
            Campaign(name="x", boost=bad)
    assert Audience(min_spend="12.5").min_spend == 12.5


def test_quantity_too_large_for_the_store_is_an_invalid_row(store: Store, tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    path.write_text(json.dumps(EVENT) + "\n" + json.dumps(EVENT | {"quantity": 10**20}) + "\n", encoding="utf-8")
    err = refused(store, path)  # was an OverflowError from SQLite, after validation
    assert (err.row, err.field) == (2, "quantity")
    assert ingest(store, path, skip_invalid=True).loaded["events"] == 1


def test_preset_refuses_non_finite_quantity_and_price(store: Store, tmp_path: Path) -> None:
    header = "InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country\n"
    good = "536365,85123A,WHITE HANGING HEART,6,12/1/2010 8:26,2.55,17850,United Kingdom\n"
    for line, column in [("536366,85123B,RED HEART,inf,12/1/2010 8:26,2.55,17850,United Kingdom\n", "Quantity"),
                         ("536366,85123B,RED HEART,2,12/1/2010 8:26,inf,17850,United Kingdom\n", "UnitPrice")]:
        path = tmp_path / "retail.csv"
        path.write_text(header + good + line, encoding="utf-8")
        err = refused(store, path, preset="online-retail")
        assert (err.row, err.field) == (2, column), str(err)
        assert f"retail.csv row 2 (line 3), field {column!r}" in str(err)


# ------------------------------------------------------------------ 2. the wrong kind


def test_broken_catalogue_is_not_loaded_as_users(tmp_path: Path) -> None:
    path = tmp_path / "missing_col.csv"
    path.write_text("id,description,price\np1,A fine bowl,3.5\n", encoding="utf-8")
    result = cli(tmp_path, str(path))
    assert result.returncode == 1, result.stdout
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("genpage: error: ")
    assert "products (missing column 'title')" in result.stderr
    assert "users" in result.stderr and "--kind" in result.stderr
    with Store(tmp_path / "cli.sqlite") as s:
        assert s.counts() == {"products": 0, "users": 0, "events": 0}
    # the user can still say what it is
    assert cli(tmp_path, str(path), "--kind", "users").returncode == 0


def test_broken_events_name_what_they_miss(store: Store, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "clicks.csv", [{"user_id": "u1", "type": "view", "item_id": "p1"}])
    err = refused(store, path)
    assert "events (missing column 'timestamp')" in str(err) and "kind=" in str(err)
    path = write_csv(tmp_path / "stuff.csv", [{"sku": "a", "price": "2"}])
    err = refused(store, path)
    assert "products (missing columns 'id', 'title')" in str(err)


def test_plain_users_file_is_still_inferred(store: Store, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "customers.csv", [{"id": "u1", "country": "France", "segment": "loyal"}])
    assert ingest(store, path).kind == "users"


# ------------------------------------------------------------------ 3. errors that name the row and field


def test_oversized_csv_field_is_an_invalid_row(store: Store, tmp_path: Path) -> None:
    rows = [{"id": "p1", "title": "Bowl", "description": "x" * 1_000_000},
            {"id": "p2", "title": "Cup", "description": "ok"}]
    path = write_csv(tmp_path / "products.csv", rows)
    err = refused(store, path)
    assert str(err).startswith("products.csv row 1 (line 2), field 'description': ")
    assert "1,000,000 characters" in str(err)
    report = ingest(store, path, skip_invalid=True)
    assert report.loaded == {"products": 1} and [bad.row for bad in report.invalid] == [1]


def test_non_utf8_names_the_row_and_field(store: Store, tmp_path: Path) -> None:
    lines = [f"p{n},Bowl {n}" for n in range(1, 3001)]
    lines[1999] = "p2000,Caf\u00e9 Bowl"  # far past the first chunk the decoder reads
    path = tmp_path / "products.csv"
    path.write_bytes(("id,title\n" + "\n".join(lines) + "\n").encode("latin-1"))
    err = refused(store, path)
    assert str(err).startswith("products.csv row 2000 (line 2001), field 'title': "
                               "the value is not UTF-8 text (byte 0xe9")
    report = ingest(store, path, skip_invalid=True)
    assert report.loaded == {"products": 2999} and store.product("p2000") is None


def test_non_utf8_header_names_the_line(store: Store, tmp_path: Path) -> None:
    path = tmp_path / "products.csv"
    path.write_bytes("id,titl\u00e9\np1,Bowl\n".encode("latin-1"))
    err = refused(store, path)
    assert str(err).startswith("products.csv line 1 (the header) is not UTF-8 text (byte 0xe9")


def test_wrong_format_names_the_first_row(tmp_path: Path) -> None:
    for name in ("products.csv", "things.csv"):
        path = tmp_path / name
        path.write_text("id,title,price\np1,Bowl,3\n", encoding="utf-8")
        result = cli(tmp_path, str(path), "--format", "jsonl")
        assert result.returncode == 1
        assert result.stderr.startswith(f"genpage: error: {name} row 1 (line 1): bad JSON"), result.stderr
        assert "could be read as jsonl" in result.stderr


# ------------------------------------------------------------------ 4. control characters, bidi, length


def test_control_and_bidi_characters_are_stripped(store: Store, tmp_path: Path) -> None:
    rows = [{"id": "p1", "title": "Zinc\x00 Can\u202e\x07", "description": "Line one\r\nLine\x1b two\u2066",
             "category": "Gar\x00den", "brand": "\u202dAcme", "tags": "a\x00;b\u2067"}]
    ingest(store, write_jsonl(tmp_path / "products.jsonl", rows))
    product = store.product("p1")
    assert (product.title, product.category, product.brand, product.tags) == ("Zinc Can", "Garden", "Acme", ["a", "b"])
    assert product.description == "Line one\nLine two"
    users = write_csv(tmp_path / "users.csv", [{"id": "u1", "country": "Fr\u202eance", "seg\x00ment": "lo\x00yal"}])
    ingest(store, users)
    assert store.user("u1").country == "France" and store.user("u1").attributes == {"segment": "loyal"}
    html = render_page(page_from_products("u1", store.products()))
    assert "Zinc Can" in html
    assert not [c for c in html if c in "\x00\x07\x1b\u202d\u202e\u2066\u2067"]


def test_ids_with_control_characters_are_refused(store: Store, tmp_path: Path) -> None:
    err = refused(store, write_jsonl(tmp_path / "products.jsonl", [GOOD, GOOD | {"id": "p\x002"}]))
    assert (err.row, err.field) == (2, "id")
    err = refused(store, write_jsonl(tmp_path / "events.jsonl", [EVENT | {"item_id": "p1\u202e"}]))
    assert (err.row, err.field) == (1, "item_id")


def test_over_long_title_is_refused_and_the_limit_is_configurable(store: Store, tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    path = write_csv(tmp_path / "products.csv", [GOOD, GOOD | {"id": "p2", "title": "A" * 20_000}])
    err = refused(store, path)
    assert str(err).startswith("products.csv row 2 (line 3), field 'title': ")
    assert "20,000 characters" in str(err) and f"{schemas.MAX_TITLE_CHARS:,}" in str(err)
    monkeypatch.setattr(schemas, "MAX_TITLE_CHARS", 20_000)
    assert ingest(store, path).loaded == {"products": 2}
    monkeypatch.undo()  # a store filled under a raised limit still reads under the default one
    assert len(store.product("p2").title) == 20_000


def test_limits_hold_for_every_text_field(store: Store, tmp_path: Path) -> None:
    long = "x" * (schemas.MAX_TEXT_CHARS + 1)
    for field in ("category", "brand", "id", "tags"):
        err = refused(store, write_jsonl(tmp_path / "products.jsonl", [GOOD | {field: long}]))
        assert (err.row, err.field) == (1, field), str(err)
    for row in [{"id": "u1", long: "x"}, {"id": "u1", "segment": long}, {"id": "u1", "country": long}]:
        err = refused(store, write_jsonl(tmp_path / "users.jsonl", [row]))
        assert err.row == 1 and err.field and err.field.startswith(("attributes", "country")), str(err)
    search = {"user_id": "u1", "type": "search", "query": long, "timestamp": "2026-10-01T10:00:00"}
    err = refused(store, write_jsonl(tmp_path / "events.jsonl", [search]))
    assert (err.row, err.field) == (1, "query")
    within = GOOD | {"description": "d" * schemas.MAX_DESCRIPTION_CHARS}
    assert ingest(store, write_jsonl(tmp_path / "products.jsonl", [within])).loaded == {"products": 1}
    assert Product(**(GOOD | {"title": long})).title == long  # built in code (or read from the store): not limited


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def test_csv_error_names_the_row_and_line(store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from genpage.ingest import formats

    monkeypatch.setattr(formats, "CSV_FIELD_LIMIT", 10)  # the csv module's own error, raised part way through a file
    path = write_csv(tmp_path / "products.csv", [GOOD | {"title": "Bowl"}, GOOD | {"id": "p2", "title": "x" * 20}])
    err = refused(store, path)
    assert str(err).startswith("products.csv row 2 (line 3): cannot read it as CSV: field larger than field limit")
    assert err.row == 2


def test_ids_with_separator_controls_or_over_the_url_limit_are_refused():
    """U+001C..U+001F survived the id check (str.strip removed them before the check, the schema keeps them), and
    ids up to 2,000 characters loaded though the preview server answers 414 past 256."""
    from pydantic import ValidationError

    from genpage.schemas import INGEST_CONTEXT, MAX_ID_CHARS, Product, User
    from genpage.server import MAX_USER_ID_LENGTH

    for bad in ("abc\x1f", "\x1cabc", "a" * (MAX_ID_CHARS + 1)):
        with pytest.raises(ValidationError):
            User.model_validate({"id": bad}, context=INGEST_CONTEXT)
    assert User.model_validate({"id": " abc \n"}, context=INGEST_CONTEXT).id == "abc"  # plain whitespace: stripped
    assert Product.model_validate({"id": "p" * MAX_ID_CHARS, "title": "t"}, context=INGEST_CONTEXT)
    assert MAX_USER_ID_LENGTH == MAX_ID_CHARS


def test_a_jsonl_line_that_is_not_an_object_is_refused_by_its_json_type(store: Store, tmp_path: Path) -> None:
    """A `null` line was once dropped without a word; every line that is not an object is now refused by name."""
    lines = {"null": "got null", "[1, 2]": "got an array", '"p1"': "got a string", "7": "got a number"}
    for line, said in lines.items():
        path = tmp_path / "events.jsonl"
        path.write_text(json.dumps(EVENT) + "\n" + line + "\n", encoding="utf-8")
        err = refused(store, path)
        assert err.row == 2 and f"expected a JSON object, {said}" in str(err), str(err)
