"""A fitted ranker is saved under <home>/rankers keyed by the data, and the next process loads it instead of
fitting again; changed data means a new fit."""

from __future__ import annotations

from datetime import datetime, timezone

import numpy as np
import pytest

from genpage.config import Config
from genpage.engine import Engine
from genpage.ingest import ingest_directory
from genpage.rank.ranker import Ranker
from genpage.resources import resource_dir
from genpage.schemas import Event
from genpage.store import Store


@pytest.fixture()
def shop_db(tmp_path):
    db = tmp_path / "shop.sqlite"
    with Store(db) as store:
        ingest_directory(store, resource_dir("examples") / "shop")
    return db


def _ranked(engine: Engine, users: list[str]) -> list[list[tuple[str, str]]]:
    return [[(i.item_id, i.reason.kind) for i in r.items] for r in engine.ranker.rank(users, k=20)]


def test_a_second_engine_loads_the_fitted_ranker(shop_db, tmp_path, genpage_home, monkeypatch):
    config = Config(home=tmp_path / "home", db_path=shop_db, backend="echo")
    first = Engine(config)
    users = first.store.user_ids()[:5]
    expected = _ranked(first, users)
    saved = list((tmp_path / "home" / "rankers").glob("*.pkl"))
    assert len(saved) == 1
    first.close()

    def no_fit(*args, **kwargs):
        raise AssertionError("the ranker was fitted again although a fitted one was saved for this data")

    monkeypatch.setattr(Ranker, "fit", classmethod(no_fit))
    second = Engine(config)
    assert second.ranker.store is second.store
    assert second._encoder is None  # a saved ranker is loaded without the encoder ...
    assert _ranked(second, users) == expected
    second.ranker._query_vectors(["a query no shopper searched"])
    assert second._encoder is not None and second.ranker.encoder is second.encoder  # ... until a query needs it
    second.close()


def test_changed_data_is_fitted_again(shop_db, tmp_path):
    config = Config(home=tmp_path / "home", db_path=shop_db, backend="echo")
    engine = Engine(config)
    engine.ranker  # noqa: B018 - fit and save
    before = engine.store.data_fingerprint()
    user = engine.store.user_ids()[0]
    product = engine.store.products()[0].id
    event = Event(user_id=user, type="purchase", item_id=product, timestamp=datetime(2026, 1, 1, tzinfo=timezone.utc))
    engine.store.upsert_events([("new-purchase", event)])
    assert engine.store.data_fingerprint() != before
    engine.ranker  # noqa: B018 - the store changed: fitted again and saved under a new key
    assert len(list((tmp_path / "home" / "rankers").glob("*.pkl"))) == 2
    engine.close()


def test_a_fit_on_cached_embeddings_loads_no_encoder_until_a_search_needs_it(shop_db, tmp_path):
    with Store(shop_db) as store, store.transaction() as conn:
        conn.execute("DELETE FROM events WHERE type = 'search'")  # no held-out shopper's search to embed
    config = Config(home=tmp_path / "home", db_path=shop_db, backend="echo")
    first = Engine(config)
    users = first.store.user_ids()[:5]
    first.ranker  # noqa: B018 - embeds the catalogue into the store's cache: the encoder is loaded
    assert first._encoder is not None
    first.close()

    second = Engine(config)
    event = Event(user_id=users[0], type="purchase", item_id=second.store.products()[0].id,
                  timestamp=datetime(2026, 1, 1, tzinfo=timezone.utc))  # fmt: skip
    second.store.upsert_events([("new-purchase", event)])  # new data: the next page fits again
    ranked = _ranked(second, users)
    assert second._encoder is None  # every product's embedding was in the cache
    assert second.ranker.encoder_name == config.encoder and all(ranked)
    vector = second.ranker._query_vectors(["a query no shopper searched"])
    assert second._encoder is not None and vector.shape == (1, second.encoder.dim)  # loaded for the search
    assert not np.allclose(vector, 0)
    second.close()
