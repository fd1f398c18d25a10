"""Ranking contract tests on a small real store: the real encoder, the real SQLite store, the real ranker."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from genpage.embed.encoder import content_hash, embed_products, load_encoder, product_text
from genpage.rank.fitdata import FIT_COLUMNS, fit_events
from genpage.rank.neighbours import UserNeighbours, build_neighbours, neighbour_mix, with_shoppers
from genpage.rank.ranker import RankConfig, Ranker
from genpage.schemas import Campaign, Event, Product, User
from genpage.store import Store

START = datetime(2024, 1, 1)
THEMES = {
    "lighting": ["metal lantern", "candle holder", "fairy lights", "table lamp", "star light", "glass lantern"],
    "kitchen": ["tea cup", "cake tin", "wooden spoon", "coffee mug", "egg cup", "tea towel"],
    "garden": ["garden gnome", "plant pot", "watering can", "bird feeder", "seed tray", "garden kneeler"],
    "paper": ["wrapping paper", "birthday card", "paper napkins", "gift bag", "notebook", "sticker sheet"],
}
COLOURS = ["white", "red", "blue"]


def _catalogue() -> list[Product]:
    products = []
    for category, names in THEMES.items():
        for n, name in enumerate(names):
            for c, colour in enumerate(COLOURS[:2] if n < 2 else COLOURS[:1]):
                products.append(
                    Product(
                        id=f"{category[:3]}-{n}-{c}",
                        title=f"{colour} {name}".upper(),
                        category=category,
                        price=float(2 + n + c),
                        in_stock=not (category == "kitchen" and n == 5),
                    )
                )
    products.append(Product(id="new-lantern", title="HANGING BRASS LANTERN", category="lighting", price=5.0))
    return products


def _events(products: list[Product]) -> list[tuple[str, Event]]:
    rng = np.random.default_rng(0)
    by_category: dict[str, list[str]] = {}
    for p in products:
        if p.id != "new-lantern" and p.in_stock:
            by_category.setdefault(p.category, []).append(p.id)
    events = []
    categories = list(THEMES)
    for u in range(40):
        favourites = [categories[u % 4], categories[(u // 4) % 4]]
        for b in range(4):
            day = START + timedelta(days=7 * b + u % 5, hours=u % 7)
            for i in rng.choice(by_category[favourites[b % 2]], 3, replace=False):
                events.append(
                    (
                        f"u{u}-b{b}-{i}",
                        Event(
                            user_id=f"u{u}",
                            type="purchase",
                            item_id=str(i),
                            timestamp=day,
                            session_id=f"inv-{u}-{b}",
                        ),
                    )
                )
    events.append(
        ("u1-search", Event(user_id="u1", type="search", query="lantern", timestamp=START + timedelta(days=30)))
    )
    events.append(
        ("u1-view", Event(user_id="u1", type="view", item_id="gar-0-0", timestamp=START + timedelta(days=30)))
    )
    return events


@pytest.fixture(scope="module")
def encoder():
    return load_encoder("minilm")


def _fill(store: Store) -> Store:
    products = _catalogue()
    store.upsert_products(products)
    store.upsert_users([User(id=f"u{u}", country=["United Kingdom", "France"][u % 2]) for u in range(40)])
    store.upsert_events(_events(products))
    # u2 returned an item it bought
    bought = store.user_events("u2")[0].item_id
    store.upsert_events(
        [("u2-return", Event(user_id="u2", type="return", item_id=bought, timestamp=START + timedelta(days=40)))]
    )
    return store


@pytest.fixture()
def store(tmp_path: Path):
    store = _fill(Store(tmp_path / "shop.sqlite"))
    yield store
    store.close()


@pytest.fixture()
def ranker(store: Store, encoder) -> Ranker:
    return Ranker.fit(store, encoder)


def test_embeddings_are_cached_in_the_store(store: Store, encoder) -> None:
    products = store.products()
    ids, vectors = embed_products(store, encoder, products)
    assert ids == [p.id for p in products]
    assert vectors.shape == (len(products), encoder.dim) and vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-4)
    cached = store.get_embeddings(encoder.name, [content_hash(product_text(products[0]))])
    assert np.allclose(next(iter(cached.values())), vectors[0])
    assert product_text(products[0]).startswith(products[0].title.lower())


def test_ranked_lists_are_unique_sorted_and_explained(ranker: Ranker, store: Store) -> None:
    known = set(store_ids(store))
    for ranked in ranker.rank([f"u{u}" for u in range(10)], k=20):
        ids = [item.item_id for item in ranked.items]
        assert len(ids) == len(set(ids)), "no item twice on one list"
        assert set(ids) <= known
        scores = [item.score for item in ranked.items]
        assert scores == sorted(scores, reverse=True)
        assert not ranked.cold_start and ranked.interests
        bought = {e.item_id for e in store.user_events(ranked.user_id) if e.type == "purchase"}
        for item in ranked.items:
            reason = item.reason
            assert reason.text
            if reason.kind == "buy_again":
                assert item.item_id in bought
            if reason.kind == "because_bought":
                assert reason.anchor_id in bought and reason.anchor_label


def test_business_rules_and_filters(ranker: Ranker, store: Store) -> None:
    out_of_stock = {p.id for p in store.products() if not p.in_stock}
    returned = "u2"
    returned_item = next(e.item_id for e in store.user_events(returned) if e.type == "return")
    everything = len(store.products())
    for ranked in ranker.rank(["u1", returned, "nobody"], k=everything):
        assert not out_of_stock & {i.item_id for i in ranked.items}
    lists = {r.user_id: r for r in ranker.rank([returned], k=everything)}
    assert returned_item not in {i.item_id for i in lists[returned].items}

    prices = {p.id: p.price for p in store.products()}
    cats = {p.id: p.category for p in store.products()}
    filtered = ranker.rank(["u1", "nobody"], k=10, filters={"price_min": 3, "price_max": 5, "categories": ["garden"]})
    for ranked in filtered:
        assert ranked.items
        assert all(3 <= prices[i.item_id] <= 5 and cats[i.item_id] == "garden" for i in ranked.items)
    excluded = ranker.rank(["u1"], k=everything, filters={"exclude_items": ["lig-0-0"]})[0]
    assert "lig-0-0" not in {i.item_id for i in excluded.items}


def test_cold_user_gets_trending_and_campaign(ranker: Ranker) -> None:
    campaign = Campaign(name="Winter lights", featured_products=["lig-2-0", "lig-4-0"])
    ranked = ranker.rank(["somebody-new"], k=12, campaign=campaign)[0]
    assert ranked.cold_start and ranked.items
    kinds = {i.reason.kind for i in ranked.items}
    assert kinds <= {"trending", "popular_in_country", "new_arrival", "campaign"}
    featured = {i.item_id for i in ranked.items if i.reason.kind == "campaign"}
    assert featured == {"lig-2-0", "lig-4-0"}
    assert all(i.reason.anchor_label == "Winter lights" for i in ranked.items if i.reason.kind == "campaign")


def test_cold_item_reachable_through_its_text(ranker: Ranker) -> None:
    lighting_fan = "u0"  # u0's favourite categories are lighting only
    ranked = ranker.rank([lighting_fan], k=len(ranker.item_ids))[0]
    ids = [i.item_id for i in ranked.items]
    assert "new-lantern" in ids
    unrelated = [i for i in ids if i.startswith("pap-")]
    assert ids.index("new-lantern") < ids.index(unrelated[0]) if unrelated else True
    reason = ranked.items[ids.index("new-lantern")].reason
    assert reason.kind in {"new_arrival", "for_you", "because_bought", "because_searched", "similar_shoppers"}


def test_batch_equals_one_by_one(ranker: Ranker) -> None:
    users = ["u3", "u7", "nobody", "u11", "u1"]
    batch = ranker.rank(users, k=15)
    for user, ranked in zip(users, batch, strict=False):
        single = ranker.rank([user], k=15)[0]
        assert [i.item_id for i in single.items] == [i.item_id for i in ranked.items]
        assert np.allclose([i.score for i in single.items], [i.score for i in ranked.items], atol=1e-5)
        assert [i.reason for i in single.items] == [i.reason for i in ranked.items]


def test_smaller_feature_batches_fit_and_score_the_same(store: Store, encoder, monkeypatch) -> None:
    """A large catalogue makes its feature planes for fewer shoppers at a time (users_per_batch): the same rows here
    (on a large catalogue, up to the last bits of the BLAS sums: see users_per_batch)."""
    import genpage.rank.features as features_module

    users = [f"u{u}" for u in range(40)] + ["nobody"]
    whole = Ranker.fit(store, encoder)
    assert whole.models  # a learned scorer: its training rows were made in batches too
    assert features_module.users_per_batch(len(whole.item_ids)) == 256
    monkeypatch.setattr(features_module, "BATCH_CELLS", 1)  # 8 shoppers a batch, the floor
    assert features_module.users_per_batch(len(whole.item_ids)) == 8
    split = Ranker.fit(store, encoder)
    assert np.array_equal(whole.score_matrix(users)[0], split.score_matrix(users)[0])
    assert [[i.item_id for i in r.items] for r in whole.rank(users)] == [
        [i.item_id for i in r.items] for r in split.rank(users)
    ]


def test_a_large_call_scores_one_batch_at_a_time_and_ranks_as_one_by_one(ranker: Ranker, monkeypatch) -> None:
    """Ranker.rank scores and lists one batch of shoppers (users_per_batch) before it scores the next: a call for
    many shoppers never holds every batch's feature planes at once; the lists are those of one shopper a call."""
    import genpage.rank.features as features_module
    import genpage.rank.ranker as ranker_module

    monkeypatch.setattr(features_module, "BATCH_CELLS", 1)  # 8 shoppers a batch: six batches for 41 shoppers
    monkeypatch.setattr(ranker_module, "users_per_batch", features_module.users_per_batch)
    users = [f"u{u}" for u in range(40)] + ["nobody"]
    alone = [ranker.rank([u], k=20)[0] for u in users]
    scoring, scored = ranker.score_matrix, []

    def recorded(ids: list[str], **kwargs):
        scored.append(list(ids))
        return scoring(ids, **kwargs)

    monkeypatch.setattr(ranker, "score_matrix", recorded)
    together = ranker.rank(users, k=20)
    assert [len(ids) for ids in scored] == [8, 8, 8, 8, 8, 1] and sum(scored, []) == users
    assert [r.user_id for r in together] == users
    for one, many in zip(alone, together, strict=True):  # scores up to the last bits of BLAS sums (users_per_batch)
        assert [(i.item_id, i.reason) for i in one.items] == [(i.item_id, i.reason) for i in many.items]
        assert np.allclose([i.score for i in one.items], [i.score for i in many.items], atol=1e-5)
        assert (one.cold_start, one.interests) == (many.cold_start, many.interests)


def test_the_fit_reads_the_store_as_events_frame_does(store: Store) -> None:
    """genpage.rank.fitdata reads a store file through Arrow's SQLite driver in rowid chunks and an in-memory store
    through its own connection, and puts the rows in order: the same rows, order (time, then id: every basket here
    has several lines at one time), values and dtypes as Store.events_frame, whatever the chunk. With 7 rows a
    chunk, most chunks have no search: the driver types their query column int64, and the read makes it text."""
    expected = store.events_frame()[list(FIT_COLUMNS)]

    def values(frame: pd.DataFrame, name: str) -> list[object]:
        return [None if pd.isna(v) else v for v in frame[name].tolist()]

    memory = _fill(Store(":memory:"))
    for got in [fit_events(store, chunk_rows=7), fit_events(store, chunk_rows=100_000), fit_events(memory)]:
        assert list(got.columns) == list(FIT_COLUMNS) and len(got) == len(expected) > 400
        assert got["quantity"].dtype == np.float64 and got["timestamp"].dtype == expected["timestamp"].dtype
        for name in FIT_COLUMNS:
            assert values(got, name) == values(expected, name), name
    memory.close()


def test_the_fit_reads_one_snapshot_of_the_events(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    """The chunks of a file store are read in one read transaction: an event written between two chunks (here by
    the store's own connection, right after the first chunk) is not in this read, and is in the next one."""
    from genpage.rank import fitdata

    read = fitdata._file_chunks

    def write_after_first(path: Path, chunk_rows: int):
        for number, chunk in enumerate(read(path, chunk_rows)):
            if number == 0:
                store.upsert_events([("u1-late", Event(user_id="u1", type="view", item_id="gar-0-0",
                                                       timestamp=START + timedelta(days=90)))])  # fmt: skip
            yield chunk

    before = len(store.events_frame())
    monkeypatch.setattr(fitdata, "_file_chunks", write_after_first)
    assert len(fit_events(store, chunk_rows=50)) == before
    monkeypatch.undo()
    assert len(fit_events(store, chunk_rows=50)) == before + 1 == len(store.events_frame())


def test_the_fit_reads_a_file_store_beside_the_stores_own_connection(store: Store, tmp_path: Path) -> None:
    """Arrow's SQLite driver reads in a child process: its own copy of SQLite in this process truncated the WAL index
    the store's connection had mapped (a bus error in the test suite when a fit read while the store was queried).
    Here the store reads and writes while fits read, ten in a row; a store file it cannot read is an error that
    says so."""
    import threading

    from genpage.rank import fitdata

    expected = len(store.events_frame())
    got: list[int] = []
    reader = threading.Thread(target=lambda: got.extend(len(fit_events(store, chunk_rows=50)) for _ in range(10)))
    reader.start()
    writes = 0
    while reader.is_alive():
        assert len(store.products()) > 0
        store.upsert_events([(f"late-{writes}", Event(user_id="u1", type="view", item_id="gar-0-0",
                                                       timestamp=START + timedelta(days=90)))])  # fmt: skip
        writes += 1
    reader.join()
    assert expected <= min(got) <= max(got) <= expected + writes and writes > 0 and got == sorted(got)
    assert len(fit_events(store)) == expected + writes
    broken = tmp_path / "broken.sqlite"
    broken.write_bytes(b"not a database" * 100)
    with pytest.raises(RuntimeError, match="reading the events of .*broken.sqlite failed"):
        list(fitdata._file_chunks(broken, 10))


def test_a_saved_ranker_keeps_aggregates_not_events(ranker: Ranker, store: Store, encoder, tmp_path: Path) -> None:
    """The raw events are not kept after the fit, so they are not in the saved file (a session id is only in the
    events); the loaded ranker ranks as the fitted one and still follows new events in the store."""
    path = tmp_path / "ranker.pkl"
    ranker.save(path)
    assert b"inv-3-2" not in path.read_bytes() and b"u3" in path.read_bytes()
    loaded = Ranker.load(path, store, encoder)
    assert not [name for name, value in vars(loaded).items() if isinstance(value, pd.DataFrame)]
    users = ["u1", "u7", "nobody"]
    assert [[i.item_id for i in r.items] for r in loaded.rank(users)] == [
        [i.item_id for i in r.items] for r in ranker.rank(users)
    ]
    store.upsert_events([("u7-late", Event(user_id="u7", type="purchase", item_id="new-lantern",
                                           timestamp=START + timedelta(days=60), session_id="late"))])  # fmt: skip
    assert loaded.rank(["u7"])[0].items and loaded.history is not None
    assert loaded.history.baskets[loaded.history.user_index["u7"], loaded.item_index["new-lantern"]] == 1


def _same(a: object, b: object) -> bool:
    """Equal arrays (dtype too), sparse matrices (data, indices, indptr) or values, field by field."""
    if sp.issparse(a):
        return sp.issparse(b) and a.shape == b.shape and a.dtype == b.dtype and all(  # type: ignore[union-attr]
            np.array_equal(getattr(a, k), getattr(b, k)) for k in ("data", "indices", "indptr"))  # fmt: skip
    if isinstance(a, np.ndarray):
        return isinstance(b, np.ndarray) and a.dtype == b.dtype and np.array_equal(a, b, equal_nan=True)
    if hasattr(a, "__dict__"):
        return all(_same(value, vars(b)[name]) for name, value in vars(a).items())
    return a == b


def test_a_saved_history_is_the_fitted_one_and_keeps_shared_index_arrays_once(ranker: Ranker, tmp_path: Path) -> None:
    """The History saves its daily sales sparse and its shopper x item matrices with one index array: loaded, every
    field is the fitted one's, and the matrices of every bought pair still share their index arrays."""
    history = ranker.history
    assert history is not None
    path = tmp_path / "ranker.pkl"
    ranker.save(path)
    loaded = Ranker.load(path, None, None).history
    assert loaded is not None
    assert [name for name, value in vars(history).items() if not _same(value, vars(loaded)[name])] == []
    for h in (history, loaded):
        assert all(m.indices is h.baskets.indices and m.indptr is h.baskets.indptr
                   for m in (h.decay, h.last_t, h.first_t, h.qty))  # fmt: skip
        assert h.user_vectors.nnz > h.baskets.nnz  # u1's view: not the bought pairs' pattern, so not shared
    assert loaded.daily_cum.flags.c_contiguous and loaded.daily_cum[-1].sum() == history.baskets.sum()


def test_the_training_history_of_a_row_mask_is_that_of_the_split_copy(store: Store) -> None:
    """A fit builds its training history from the split's row mask, not from a copy of the events: the same
    History as the copy gives."""
    from genpage.rank.features import History
    from genpage.rank.split import last_basket_rows, split_last_basket

    events = fit_events(store)
    items = [p.id for p in store.products()]
    before, held = split_last_basket(events)
    keep, held_too = last_basket_rows(events)
    pd.testing.assert_frame_equal(held, held_too)
    assert 0 < len(before) == keep.sum() < len(events) and len(held) == 40
    who = list(held["user_id"])[:10]
    copied = History.build(before, items, neighbours_for=who)
    masked = History.build(events, items, neighbours_for=who, keep=keep)
    assert [name for name, value in vars(copied).items() if not _same(value, vars(masked)[name])] == []
    # u1's search and view came after its held-out basket: left out of the training history, not of the full one
    assert masked.queries == {} and masked.interact.nnz == 0
    assert History.build(events, items).queries == {"u1": ["lantern"]}


def test_the_full_history_fits_its_als_on_from_the_training_history(store: Store) -> None:
    """The full history's ALS starts from the training history's factors (everything but the held-out baskets) and
    runs ALS_WARM_ITERATIONS: it ends where a fit from random factors ends, up to the small differences of where
    ALS stops (the scores it gives every pair agree), and a shopper the start lacks starts as implicit starts one."""
    from genpage.rank import features
    from genpage.rank.split import last_basket_rows

    events = fit_events(store)
    items = [p.id for p in store.products()]
    keep, _ = last_basket_rows(events)
    start = features.History.build(events, items, keep=keep).als_start()
    assert start is not None and features.ALS_WARM_ITERATIONS < features.ALS_PARAMS["iterations"]
    warm, cold = features.History.build(events, items, start=start), features.History.build(events, items)
    assert not np.allclose(warm.user_factors, start.users)  # fitted on, to the new baskets
    warm_scores, cold_scores = (h.user_factors @ h.item_factors.T for h in (warm, cold))
    assert np.corrcoef(warm_scores.ravel(), cold_scores.ravel())[0, 1] > 0.95
    users, item_factors = start.factors(["u3", "nobody", "u0"])
    assert np.array_equal(users[[0, 2]], start.users[[start.user_index["u3"], start.user_index["u0"]]])
    assert item_factors is start.items and ((users[1] >= 0) & (users[1] < 0.01)).all()


def test_a_fit_starts_the_full_historys_als_where_training_left_it_and_reads_events_when_asked(
    store: Store, encoder, monkeypatch: pytest.MonkeyPatch
) -> None:
    from genpage.rank import features

    starts = []
    als = features._als_factors
    monkeypatch.setattr(features, "_als_factors", lambda m, t, s=None: starts.append(s) or als(m, t, s))
    products, events = store.products(), fit_events(store)
    framed = Ranker.fit_frame(events, products, encoder)
    assert starts[0] is None and starts[1] is not None and len(starts) == 2  # the training history's, the full one's
    read: list[int] = []
    called = Ranker.fit_frame(lambda: read.append(1) or events, products, encoder)  # as Ranker.fit passes its read
    users = [f"u{u}" for u in range(40)]
    assert read == [1] and np.array_equal(framed.score_matrix(users)[0], called.score_matrix(users)[0])


def test_new_events_change_the_ranking_at_once(ranker: Ranker, store: Store) -> None:
    before = ranker.rank(["u5"], k=60)[0]
    fresh = "gar-3-0"
    assert fresh not in {i.item_id for i in before.items if i.reason.kind == "buy_again"}
    for b in range(3):
        store.upsert_events(
            [
                (
                    f"u5-new-{b}",
                    Event(
                        user_id="u5",
                        type="purchase",
                        item_id=fresh,
                        timestamp=START + timedelta(days=50 + 7 * b),
                        session_id=f"n{b}",
                    ),
                )
            ]
        )
    after = ranker.rank(["u5"], k=60)[0]
    assert fresh in {i.item_id for i in after.items if i.reason.kind == "buy_again"}


def test_searches_and_views_shape_the_profile(ranker: Ranker) -> None:
    """u1 bought lighting and kitchen things, searched "lantern" and viewed a garden gnome (gar-0-0)."""
    assert ranker.history is not None
    row = int(ranker.history.rows(["u1"])[0])
    items, weights = ranker.history.user_item_weights(row)
    viewed = ranker.item_index["gar-0-0"]
    assert ranker.store is not None
    bought = {e.item_id for e in ranker.store.user_events("u1") if e.type == "purchase"}
    assert "gar-0-0" not in bought and viewed in items.tolist()  # the view alone put the gnome in the profile
    assert 0 < weights[items.tolist().index(viewed)] < weights.max()  # ... weighted below a purchase

    _, batches = ranker.score_matrix(["u1", "u3"])
    profiles, planes = batches[0].profiles, batches[0].planes
    assert profiles[0].queries.shape[0] == 1 and profiles[1].queries.shape[0] == 0  # only u1 searched
    best_for_query = ranker.products[int(np.argmax(planes["sem_query"][0]))]
    assert "LANTERN" in best_for_query.title
    assert not planes["sem_query"][1].any()  # no search, no query signal


def test_hand_set_blend_without_enough_data(store: Store, encoder) -> None:
    ranker = Ranker.fit(store, encoder, RankConfig(min_train_users=10_000))
    assert ranker.models == {}
    ranked = ranker.rank(["u1", "nobody"], k=10)
    assert all(len(r.items) == 10 for r in ranked)


def test_planner_sections_get_enough_candidates(ranker: Ranker) -> None:
    ranked = ranker.rank(["u4"], k=60)[0]
    kinds = [i.reason.kind for i in ranked.items]
    assert kinds.count("trending") + kinds.count("new_arrival") >= 8


def store_ids(store: Store) -> list[str]:
    return [p.id for p in store.products()]


def _unit_rows(rng: np.random.Generator, n: int, items: int) -> sp.csr_matrix:
    dense = np.where(rng.random((n, items)) < 0.25, rng.random((n, items)), 0.0)
    norms = np.linalg.norm(dense, axis=1, keepdims=True)
    return sp.csr_matrix((dense / np.where(norms > 0, norms, 1.0)).astype(np.float32))


def _lists(index: UserNeighbours) -> list[dict[int, float]]:
    return [{int(r): float(s) for r, s in zip(rows, sims, strict=True) if r >= 0}
            for rows, sims in zip(index.rows, index.sims, strict=True)]  # fmt: skip


def test_neighbour_index_is_the_product_against_everyone() -> None:
    vectors = _unit_rows(np.random.default_rng(1), 40, 12)
    index = build_neighbours(vectors, k=5)
    sims = (vectors @ vectors.T).toarray()
    np.fill_diagonal(sims, 0.0)
    for row, found in enumerate(_lists(index)):
        best = np.argsort(-sims[row])[:5]
        assert set(found) == {int(b) for b in best if sims[row, b] > 0}
        assert np.allclose([found[int(b)] for b in best if sims[row, b] > 0], sims[row, best][sims[row, best] > 0])
    rows = np.array([3, -1, 7])
    mixed = neighbour_mix(index, vectors, rows)
    for out, row in zip(mixed, rows, strict=True):
        if row < 0:
            assert not out.any()
            continue
        found = _lists(index)[row]
        expected = sum(w * vectors[r].toarray()[0] for r, w in found.items()) / sum(found.values())
        assert np.allclose(out, expected, atol=1e-6)


def test_neighbour_lists_of_some_shoppers_are_theirs_in_the_full_index() -> None:
    """A fit's training history builds the lists of the shoppers it learns from only: the same lists."""
    vectors = _unit_rows(np.random.default_rng(2), 600, 30)  # more shoppers than one search chunk
    full = build_neighbours(vectors, k=5)
    some = np.array([599, 3, 3, 300, 0, 257])
    part = build_neighbours(vectors, k=5, only=some)
    assert np.array_equal(part.rows[some], full.rows[some]) and np.array_equal(part.sims[some], full.sims[some])
    others = np.setdiff1d(np.arange(600), some)
    assert (part.rows[others] == -1).all() and not part.sims[others].any()


@pytest.mark.parametrize("block", [32, 3, 1000])
def test_neighbour_lists_are_the_most_similar_ties_to_the_lower_row(block: int, monkeypatch) -> None:
    """Each list is what sorting the row by (similarity descending, row) puts first, searched a block at a time."""
    from genpage.rank import neighbours

    monkeypatch.setattr(neighbours, "_BLOCK", block)
    rng = np.random.default_rng(block)
    for _ in range(10):
        n, m = int(rng.integers(1, 30)), int(rng.integers(2, 2000))
        sims = np.round(rng.random((n, m)), int(rng.integers(1, 3))).astype(np.float32)  # many ties
        sims[rng.random((n, m)) < rng.random()] = 0.0
        own, k = rng.integers(0, m, size=n), int(rng.integers(1, 60))
        rows, best = neighbours._top(sims.copy(), own, k)
        for r in range(n):
            row = sims[r].copy()
            row[own[r]] = 0.0
            expected = [c for c in np.lexsort((np.arange(m), -row))[: min(k, m - 1)] if row[c] > 0]
            assert rows[r].tolist() == expected + [-1] * (k - len(expected))
            assert best[r].tolist() == row[expected].tolist() + [0.0] * (k - len(expected))


@pytest.mark.parametrize("kept", [6, 64])
def test_many_lists_from_the_top_n_product_hold_every_tie(kept: int, monkeypatch) -> None:
    """Many shoppers' lists come from the similarities sparse_dot_topn keeps per row (`kept`); a row whose kept ones
    may cut a tie at its list's last place is searched again as a whole row. Shoppers of a few items, so many share
    a similarity: the lists are still what sorting each whole row by (similarity descending, row) puts first."""
    from genpage.rank import neighbours

    monkeypatch.setattr(neighbours, "_KEPT", kept)
    monkeypatch.setattr(neighbours, "_MANY", 70)  # several products
    whole_rows = []
    top = neighbours._top
    monkeypatch.setattr(neighbours, "_top", lambda sims, own, k: whole_rows.append(len(own)) or top(sims, own, k))
    dense = (np.random.default_rng(4).random((300, 8)) < 0.3).astype(np.float32)
    dense[::50] = 0.0  # shoppers with no item: empty lists
    norms = np.linalg.norm(dense, axis=1, keepdims=True)
    vectors = sp.csr_matrix(dense / np.where(norms > 0, norms, 1.0))
    index = build_neighbours(vectors, k=5)
    sims = (vectors @ vectors.T).toarray()
    np.fill_diagonal(sims, 0.0)
    for row in range(300):
        expected = [c for c in np.lexsort((np.arange(300), -sims[row]))[:5] if sims[row, c] > 0]
        assert index.rows[row].tolist() == expected + [-1] * (5 - len(expected)), row
        assert index.sims[row].tolist() == sims[row, expected].tolist() + [0.0] * (5 - len(expected)), row
    assert (sum(whole_rows) > 0) == (kept == 6)  # with 64 kept, no list here ends in a tie with the smallest kept


def test_neighbour_lists_do_not_depend_on_the_search_threads() -> None:
    vectors = _unit_rows(np.random.default_rng(3), 700, 30)  # several search chunks for each thread
    one, two = build_neighbours(vectors, k=5), build_neighbours(vectors, k=5, threads=2)
    assert np.array_equal(one.rows, two.rows) and np.array_equal(one.sims, two.sims)


def test_a_live_change_updates_the_neighbour_index_as_a_new_build_would() -> None:
    """Full lists (k=5 of 60 shoppers): changed shoppers enter, move in and leave the others' lists, and a list
    a changed shopper left is searched again; new shoppers get rows at the end."""
    rng = np.random.default_rng(2)
    vectors = _unit_rows(rng, 60, 15)
    index = build_neighbours(vectors, k=5)
    changed = np.array([4, 17, 60, 61])
    grown = sp.vstack([vectors, _unit_rows(rng, 2, 15)]).tolil()
    for row, new in zip(changed[:2], _unit_rows(rng, 2, 15), strict=True):
        grown[row] = new
    grown = grown.tocsr().astype(np.float32)
    rows_before, sims_before = index.rows.copy(), index.sims.copy()
    updated = with_shoppers(index, grown, changed)
    assert np.array_equal(index.rows, rows_before) and np.array_equal(index.sims, sims_before)  # left as it was
    rebuilt = build_neighbours(grown, k=5)
    assert len(updated) == 62
    for row, (mine, theirs) in enumerate(zip(_lists(updated), _lists(rebuilt), strict=True)):
        assert mine.keys() == theirs.keys(), row
        assert np.allclose(list(mine.values()), [theirs[r] for r in mine], atol=1e-6), row
    before, after = _lists(index), _lists(rebuilt)
    others = [row for row in range(60) if row not in changed]
    assert [row for row in others if len(before[row]) == 5 and {4, 17} & set(before[row]) - set(after[row])]
    assert [row for row in others if {4, 17, 60, 61} & set(after[row]) - set(before[row])]


def test_a_swapped_out_history_is_not_kept_alive_by_the_ranker(ranker: Ranker) -> None:
    """The day's new-arrivals cache holds its history weakly: after swap_history the old one can be freed."""
    import copy
    import gc
    import weakref

    before = ranker.rank(["u1", "nobody"], k=10)
    old = ranker.history
    gone = weakref.ref(old)
    ranker.swap_history(copy.copy(old))
    del old
    gc.collect()
    assert gone() is None
    assert ranker.rank(["u1", "nobody"], k=10) == before  # the same state: the cache made again gives the same
