"""The SQLite store: migrations recorded and run on open, WAL, all-or-nothing transactions, idempotent upserts."""

from __future__ import annotations

from datetime import datetime

import numpy as np
import pytest

from genpage.schemas import Event, Product, User
from genpage.store import CHANGE_COLUMNS, EVENT_COLUMNS, MIGRATIONS, PRODUCT_COLUMNS, USER_COLUMNS, Store


def test_migrations_are_recorded_and_run_once(tmp_path):
    path = tmp_path / "s.sqlite"
    with Store(path) as store:
        assert store.migrations() == [name for name, _ in MIGRATIONS]
        assert store.query("PRAGMA journal_mode")[0][0] == "wal"
    with Store(path) as again:  # reopening applies nothing twice
        assert again.migrations() == [name for name, _ in MIGRATIONS]


def test_transaction_is_all_or_nothing(tmp_path):
    store = Store(tmp_path / "s.sqlite")
    store.upsert_products([Product(id="a", title="A")])
    with pytest.raises(RuntimeError), store.transaction():
        store.upsert_products([Product(id="b", title="B")])
        store.upsert_users([User(id="u1")])
        raise RuntimeError("boom")
    assert [p.id for p in store.products()] == ["a"]
    assert store.user_ids() == []


def test_upserts_are_idempotent_and_round_trip(tmp_path):
    store = Store(tmp_path / "s.sqlite")
    product = Product(id="a", title="Lamp", price=9.5, tags=["home", "light"], url="https://shop.example/a",
                      created_at=datetime(2026, 1, 2, 3, 4, 5))
    event = Event(user_id="u1", type="purchase", item_id="a", quantity=2, value=19.0,
                  timestamp=datetime(2026, 2, 1, 10, 0))
    for _ in range(2):
        store.upsert_products([product])
        store.upsert_users([User(id="u1", country="France")])
        store.upsert_events([("k1", event)])
    assert store.counts()["products"] == 1 and store.counts()["events"] == 1
    assert store.product("a") == product
    assert store.user("u1").country == "France"
    assert store.user_events("u1") == [event]
    frame = store.events_frame(types=["purchase"])
    assert list(frame["item_id"]) == ["a"] and frame["timestamp"].iloc[0] == datetime(2026, 2, 1, 10, 0)


def test_the_change_triggers_watch_every_column_of_the_data_tables(tmp_path):
    """Migration 009's triggers name every column the store writes: a column added to a data table without new
    triggers would change the data without changing Store.data_fingerprint."""
    written = {"events": EVENT_COLUMNS, "products": PRODUCT_COLUMNS, "users": USER_COLUMNS}
    with Store(tmp_path / "s.sqlite") as store:
        for table, columns in written.items():
            in_table = [row["name"] for row in store.query(f"PRAGMA table_info({table})")]
            assert sorted(in_table) == sorted(columns) == sorted(("id", *CHANGE_COLUMNS[table]))


def test_the_data_fingerprint_follows_every_change_of_the_data_and_only_that(tmp_path):
    """It changes with a new, changed or deleted row of events, products or users; not with an upsert of the same
    values (a file ingested again), nor with cached copy; and every process opening the store reads the same."""
    path = tmp_path / "s.sqlite"
    store = Store(path)
    event = Event(user_id="u1", type="purchase", item_id="a", timestamp=datetime(2026, 2, 1, 10, 0))
    store.upsert_products([Product(id="a", title="Lamp", price=9.5)])
    store.upsert_users([User(id="u1", country="France")])
    store.upsert_events([("k1", event)])
    seen = [store.data_fingerprint()]

    def changed() -> bool:
        now = store.data_fingerprint()
        new = now not in seen
        seen.append(now)
        return new

    store.upsert_products([Product(id="a", title="Lamp", price=9.5)])
    store.upsert_users([User(id="u1", country="France")])
    store.upsert_events([("k1", event)])
    store.put_copy("key", "m", {"title": "T", "blurb": "B"})
    assert not changed()  # the same values again, and a cache write
    with Store(path, create=False) as other:
        assert other.data_fingerprint() == seen[-1]
    store.upsert_events([("k1", event.model_copy(update={"quantity": 3}))])  # the same id, one value changed
    assert changed()
    store.upsert_products([Product(id="a", title="Lamp", price=8.5)])
    assert changed()
    store.upsert_users([User(id="u1", country="Spain")])
    assert changed()
    store.upsert_events([("k2", event)])  # a new row
    assert changed()
    with store.transaction() as conn:  # a delete, then a new row taking the freed rowid back
        conn.execute("DELETE FROM events WHERE id = 'k2'")
        conn.execute("INSERT INTO events (id, user_id, type, item_id, quantity, timestamp) "
                     "VALUES ('k3', 'u1', 'view', 'a', 1, '2026-02-02 10:00:00')")  # fmt: skip
    assert changed()


def test_embedding_and_copy_caches(tmp_path):
    store = Store(tmp_path / "s.sqlite")
    vec = np.arange(4, dtype=np.float32)
    store.put_embeddings("minilm", {"h1": vec})
    got = store.get_embeddings("minilm", ["h1", "h2"])
    assert list(got) == ["h1"] and np.array_equal(got["h1"], vec)
    assert store.get_embeddings("other-model", ["h1"]) == {}
    store.put_copy("key", "m", {"title": "T", "blurb": "B"})
    assert store.get_copy("key") == {"copy": {"title": "T", "blurb": "B"}, "model": "m"}
    assert store.get_copy("missing") is None


def test_version_counts_committed_writes(tmp_path):
    store = Store(tmp_path / "s.sqlite")
    before = store.version
    store.upsert_products([Product(id="a", title="A")])
    assert store.version == before + 1


def test_categories_are_counted_again_after_the_catalogue_changes(tmp_path):
    with Store(tmp_path / "s.sqlite") as store:
        store.upsert_products([Product(id=f"m{i}", title=f"mug {i}", category="Kitchen") for i in range(3)]
                              + [Product(id="c1", title="candle", category="Home")])  # fmt: skip
        assert store.categories() == [("Kitchen", 3), ("Home", 1)]
        store.categories().clear()  # a caller's copy: the cached list is not changed
        assert store.categories() == [("Kitchen", 3), ("Home", 1)]
        store.upsert_products([Product(id=f"c{i}", title=f"candle {i}", category="Home") for i in range(2, 6)])
        assert store.categories() == [("Home", 5), ("Kitchen", 3)]
