"""The serving path's fast helpers give what the plain code they replaced gave: each is checked against that plain
code (kept here as the reference) on random cases full of ties, so a ranking does not change with the speed-ups."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from genpage.rank.catalogue import CandidateBatch, Catalogue
from genpage.rank.diversity import diversify, top_order
from genpage.rank.lists import collector_paused, with_sections
from genpage.rank.profile import ITEMS_PER_INTEREST, MAX_INTERESTS, interest_vectors
from genpage.rank.reasons import TitleWords, theme_words
from genpage.rank.rules import user_rules


def _plain_diversify(order, scores, families, groups, page, group_penalty, window=100):
    """diversify as it was: a scan of every available item for each pick."""
    head, tail = order[:window], order[window:]
    head_scores = scores[head].astype(np.float64)
    spread = float(head_scores.max() - head_scores.min()) or 1.0
    _, codes = np.unique(groups[head], return_inverse=True)
    shown = np.zeros(codes.max() + 1)
    available = np.ones(len(head), dtype=bool)
    chosen: list[int] = []
    while len(chosen) < page and available.any():
        value = head_scores - group_penalty * spread * shown[codes]
        value[~available] = -np.inf
        best = int(np.argmax(value))
        chosen.append(best)
        available &= families[head] != families[head][best]
        shown[codes[best]] += 1
    picked = np.zeros(len(head), dtype=bool)
    picked[chosen] = True
    return np.concatenate([head[chosen], head[~picked], tail])


@pytest.mark.parametrize("seed", range(40))
def test_top_order_is_the_head_of_a_stable_sort(seed: int) -> None:
    rng = np.random.default_rng(seed)
    scores = rng.integers(0, 6, size=300).astype(np.float64) / 4  # many ties
    scores[rng.random(300) < 0.1] = -np.inf
    scores[rng.random(300) < 0.02] = np.nan
    full = np.argsort(-scores, kind="stable")
    full = full[np.isfinite(scores[full])]
    for n in (0, 1, 7, 60, 100, 299, 400):
        assert top_order(scores, n).tolist() == full[:n].tolist()


@pytest.mark.parametrize("seed", range(60))
def test_diversify_picks_as_the_plain_scan_did(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n_items = 400
    scores = np.round(rng.random(n_items), int(rng.integers(1, 4)))  # rounded: ties in scores and in values
    families = rng.integers(0, int(rng.integers(20, 400)), size=n_items)
    groups = rng.integers(0, int(rng.integers(1, 40)), size=n_items)
    order = top_order(scores, 150)
    for page, penalty in ((10, 0.1), (30, 0.05), (30, 0.0), (60, 1.0)):
        fast = diversify(order, scores, families, groups, page=page, group_penalty=penalty)
        assert fast.tolist() == _plain_diversify(order, scores, families, groups, page, penalty).tolist()
    shuffled = rng.permutation(order)  # not best first: the general path
    fast = diversify(shuffled, scores, families, groups, page=30, group_penalty=0.05)
    assert fast.tolist() == _plain_diversify(shuffled, scores, families, groups, 30, 0.05).tolist()


def test_title_words_count_as_theme_words_does() -> None:
    rng = np.random.default_rng(3)
    vocabulary = ["lantern", "heart", "t-light", "holder", "of", "jumbo", "bag", "red", "vintage", "cake", "tin", "owl"]
    titles = [" ".join(rng.choice(vocabulary, size=int(rng.integers(0, 6)))).upper() for _ in range(80)]
    words = TitleWords.build(titles)
    for _ in range(200):
        items = rng.choice(len(titles), size=int(rng.integers(1, 30)), replace=False)
        weights = (rng.integers(1, 4, size=len(items)) / 2).astype(np.float32)  # ties between words
        for top in (1, 3, 5):
            assert words.top(items, weights, top) == theme_words([titles[i] for i in items], weights, top)


def test_user_rules_for_a_batch_are_each_users_rules() -> None:
    rng = np.random.default_rng(5)
    n_users, n_items = 30, 50
    returned = sp.csr_matrix((rng.random((n_users, n_items)) < 0.05).astype(np.float64))
    since = np.where(rng.random((4, n_items)) < 0.3, rng.random((4, n_items)) * 3, np.nan).astype(np.float32)
    since[0, :3] = [-np.inf, np.inf, 0.0]
    rebuy = rng.random(n_items)

    class History:  # the two fields the rules read
        pass

    history = History()
    history.returned, history.i_rebuy_rate = returned, rebuy  # type: ignore[attr-defined]
    catalogue = Catalogue([str(i) for i in range(n_items)], {}, np.zeros((n_items, 2)), np.zeros(n_items),
                          np.ones(n_items, bool), np.full(n_items, "", object), np.zeros(n_items), [])  # fmt: skip
    rows = np.array([3, -1, 7, 3])
    batch = CandidateBatch(rows, np.zeros(4), [], {"ui_days_since": since}, np.zeros((4, n_items), bool))
    keep = user_rules(catalogue, history, batch, just_bought_days=1.0, repurchasable_rate=0.3)  # type: ignore[arg-type]
    for r, row in enumerate(rows):
        expected = np.ones(n_items, dtype=bool)
        if row >= 0:  # the per-user rule as it was
            expected[returned[row].indices] = False
            just = np.nan_to_num(since[r], nan=np.inf) < 1.0
            expected &= ~(just & (rebuy < 0.3))
        assert keep[r].tolist() == expected.tolist()


def test_sections_are_merged_where_their_scores_put_them() -> None:
    scores = np.array([0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2, 0.85, 0.1, 0.65, 0.05])
    fresh = np.ones(len(scores), dtype=bool)
    fresh[9] = False
    picked, forced = with_sections([0, 1, 2, 3, 4, 5], scores, 6, fresh,
                                   (("new_arrival", np.array([9, 10, 11])), ("trending", np.array([8, 10]))),
                                   np.array([], dtype=np.int64))  # fmt: skip
    assert forced == {10: "new_arrival", 11: "new_arrival", 8: "trending"}  # 9 is not new to the user
    assert picked.tolist() == [0, 8, 1, 2, 10, 11]  # three forced items take the last three places, by score


def test_the_collector_is_back_on_after_the_block() -> None:
    import gc

    with collector_paused():
        assert not gc.isenabled()
    assert gc.isenabled()
    gc.disable()
    try:
        with collector_paused():
            pass
        assert not gc.isenabled()  # left as the caller had it
    finally:
        gc.enable()


def test_the_collector_pause_holds_across_overlapping_threads() -> None:
    """A enters, B enters, A leaves (still paused: B is inside), B leaves: the collector is back as it was."""
    import gc
    import threading

    steps = {name: threading.Event() for name in ("a_in", "b_in", "a_out", "b_may_leave")}
    seen: dict[str, bool] = {}

    def a() -> None:
        with collector_paused():
            steps["a_in"].set()
            steps["b_in"].wait(5)
        seen["after_a"] = gc.isenabled()
        steps["a_out"].set()

    def b() -> None:
        steps["a_in"].wait(5)
        with collector_paused():
            steps["b_in"].set()
            steps["b_may_leave"].wait(5)

    assert gc.isenabled()
    threads = [threading.Thread(target=a), threading.Thread(target=b)]
    for t in threads:
        t.start()
    assert steps["a_out"].wait(5)
    seen["between"] = gc.isenabled()
    steps["b_may_leave"].set()
    for t in threads:
        t.join(5)
    assert seen == {"after_a": False, "between": False}  # B still inside: paused after A left
    assert gc.isenabled()  # the last to leave turned it back on


def _plain_interests(vectors, weights, iterations=4, merge="product"):
    """interest_vectors as it was: every iteration run, also after the assignment stopped changing. `merge`: each
    interest's weighted sum as interest_vectors makes it ("product": one matrix product for all) or as it was made
    before that (the interest's rows summed, one interest at a time)."""
    n = len(vectors)
    k = int(min(MAX_INTERESTS, max(1, n // ITEMS_PER_INTEREST)))
    seeds = [int(np.argmax(weights))]
    for _ in range(1, k):
        seeds.append(int(np.argmin((vectors @ vectors[seeds].T).max(axis=1))))
    centroids = vectors[seeds].copy()
    assign = np.zeros(n, dtype=np.int64)
    for _ in range(iterations):
        assign = np.argmax(vectors @ centroids.T, axis=1)
        if merge == "product":
            member = np.zeros((k, n), weights.dtype)
            member[assign, np.arange(n)] = weights
            merged = member @ vectors
            norms = np.sqrt(np.einsum("ij,ij->i", merged, merged))
            centroids[norms > 0] = merged[norms > 0] / norms[norms > 0, None]
            continue
        for c in range(k):
            members = assign == c
            if members.any():
                total = (vectors[members] * weights[members, None]).sum(axis=0)
                norm = float(np.linalg.norm(total))
                if norm > 0:
                    centroids[c] = total / norm
    shares = np.bincount(assign, weights=weights, minlength=k)
    return centroids.astype(np.float32), (shares / max(shares.sum(), 1e-9)).astype(np.float32)


def _random_profile(seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 40))
    vectors = rng.standard_normal((n, 16)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors, rng.random(n).astype(np.float32)


@pytest.mark.parametrize("seed", range(30))
def test_interest_vectors_stop_early_with_the_same_result(seed: int) -> None:
    vectors, weights = _random_profile(seed)
    for iterations in (1, 2, 4, 8):
        centroids, shares = interest_vectors(vectors, weights, iterations=iterations)
        plain_centroids, plain_shares = _plain_interests(vectors, weights, iterations)
        assert centroids.tobytes() == plain_centroids.tobytes() and shares.tobytes() == plain_shares.tobytes()


@pytest.mark.parametrize("seed", range(30))
def test_interest_vectors_in_one_product_match_the_sums_one_interest_at_a_time(seed: int) -> None:
    """The weighted sums from one matrix product differ from the row sums only in the last bits of float32."""
    vectors, weights = _random_profile(seed)
    centroids, shares = interest_vectors(vectors, weights)
    summed_centroids, summed_shares = _plain_interests(vectors, weights, merge="sums")
    np.testing.assert_allclose(centroids, summed_centroids, rtol=0, atol=1e-6)
    np.testing.assert_array_equal(shares, summed_shares)


@pytest.mark.parametrize("seed", range(6))
def test_cosine_neighbours_are_each_items_k_most_similar_others(seed: int) -> None:
    """Each item keeps its k largest cosines to other items (all of them where it has k or fewer), as float32 of
    the exact cosine; where items tie at the last place any of them may be kept, the same on 1 or 2 threads."""
    from genpage.rank import features

    matrix = sp.random(300, 120, density=0.05, random_state=seed, format="lil")
    matrix[:, 5] = 0  # an item nobody bought
    matrix[:, 7] = matrix[:, 8] = matrix[:, 9]  # the same shoppers: cosine 1, tied with the item itself
    matrix = matrix.tocsr()
    matrix.data[:] = 2.0  # counted as bought, whatever the count; binary: many equal cosines, so ties are frequent
    pattern = (matrix > 0).astype(np.float64).toarray()
    norms = np.sqrt(pattern.sum(axis=0))
    exact = pattern.T @ pattern / np.maximum(np.outer(norms, norms), 1e-300)
    np.fill_diagonal(exact, 0.0)
    for k in (3, 10, 200):
        found = features._cosine_topk(matrix, k, threads=1)
        assert found.dtype == np.float32 and found.shape == (120, 120)
        again = features._cosine_topk(matrix, k, threads=2)
        assert (found != again).nnz == 0
        for item in range(120):
            cols = found.indices[found.indptr[item] : found.indptr[item + 1]]
            values = found.data[found.indptr[item] : found.indptr[item + 1]]
            others = np.flatnonzero(exact[item] > 0)
            assert item not in cols and len(cols) == min(k, len(others)) and set(cols) <= set(others)
            np.testing.assert_array_equal(values, exact[item, cols].astype(np.float32))
            left = np.setdiff1d(others, cols)
            if len(left):  # nothing left out is more similar than what was kept
                assert exact[item, left].max() <= exact[item, cols].min() + 1e-12
    assert features._cosine_topk(matrix, 3)[5].nnz == 0


@pytest.mark.parametrize("seed", range(20))
def test_among_is_isin(seed: int) -> None:
    from genpage.rank.reasons import _among

    rng = np.random.default_rng(seed)
    values = rng.integers(0, 50, size=int(rng.integers(0, 80)))
    pool = rng.integers(0, 50, size=int(rng.integers(0, 30)))  # unsorted, with repeats, sometimes empty
    assert _among(values, pool).tolist() == np.isin(values, pool).tolist()


def test_native_threads_are_one_for_a_page_and_the_process_share_for_a_batch(monkeypatch) -> None:
    from genpage.resources import cpu_threads, native_threads

    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    assert native_threads(3, large=False) == 3 and native_threads(3, large=True) == 3  # set: always that
    assert native_threads(0, large=False) == 1
    assert native_threads(0, large=True) == cpu_threads()
    monkeypatch.setenv("OMP_NUM_THREADS", "1")  # a campaign worker's share
    assert native_threads(0, large=True) == 1
    monkeypatch.setenv("OMP_NUM_THREADS", "many")
    assert native_threads(0, large=True) == cpu_threads()


def test_a_batch_scored_on_several_threads_scores_as_on_one() -> None:
    pytest.importorskip("lightgbm")
    from genpage.rank.scorer import PARALLEL_ROWS, fit_scorer, predict

    rng = np.random.default_rng(0)
    x = rng.random((PARALLEL_ROWS + 5_000, 6)).astype(np.float32)
    x[rng.random(x.shape) < 0.1] = np.nan
    y = np.nan_to_num(x[:, 0]) + 0.3 * rng.random(len(x)) > 0.7
    users = np.repeat(np.arange(len(x) // 50 + 1), 50)[: len(x)]
    model = fit_scorer(x[:3_000], y[:3_000], users[:3_000], np.ones(3_000), seed=0)
    one = predict(model, x, threads=1)
    assert np.array_equal(predict(model, x, threads=2), one)
    assert np.array_equal(predict(model, x, threads=0), one)  # auto: this many rows take every core


def test_the_scorer_grows_the_same_trees_on_any_number_of_threads() -> None:
    pytest.importorskip("lightgbm")
    from genpage.rank.scorer import fit_scorer

    rng = np.random.default_rng(1)
    x = rng.random((20_000, 8)).astype(np.float32)
    x[rng.random(x.shape) < 0.1] = np.nan
    y = np.nan_to_num(x[:, 0]) + np.nan_to_num(x[:, 3]) + 0.5 * rng.random(len(x)) > 1.2
    users = np.repeat(np.arange(len(x) // 40), 40)

    def trees(threads: int) -> str:
        text = fit_scorer(x, y, users, np.ones(len(x)), seed=0, threads=threads).booster_.model_to_string()
        return text[: text.index("end of trees")]  # the parameters after it name the threads

    one = trees(1)
    assert one.count("Tree=") == 150 and trees(2) == one


def test_als_factors_are_the_same_on_any_number_of_threads() -> None:
    pytest.importorskip("implicit")
    from genpage.rank.features import _als_factors

    baskets = sp.random(600, 150, density=0.05, random_state=1, format="csr")
    baskets.data = np.ceil(baskets.data * 4)  # basket counts 1-4
    one, two = _als_factors(baskets, threads=1), _als_factors(baskets, threads=2)
    assert one[0] is not None and one[1] is not None
    assert np.array_equal(one[0], two[0]) and np.array_equal(one[1], two[1])


def test_product_families_do_not_depend_on_the_threads() -> None:
    """Families from cosines compared in blocks on two threads: those of one thread, chained across blocks."""
    from genpage.rank.diversity import product_families

    rng = np.random.default_rng(4)
    base = rng.normal(size=(1500, 16)).astype(np.float32)
    vectors = np.vstack([base, base[::7] + rng.normal(scale=0.05, size=base[::7].shape).astype(np.float32)])
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)  # near twins of every 7th product, in a later block
    titles = [f"product {i}" for i in range(len(vectors))]
    one, two = product_families(titles, vectors, 0.93), product_families(titles, vectors, 0.93, threads=2)
    assert one.tolist() == two.tolist()
    assert len(np.unique(one)) < len(vectors) - 100  # the twins joined their originals


def test_basket_keys_are_sessions_and_the_minutes_of_purchases_without_one() -> None:
    from genpage.events import basket_keys

    stamps = pd.to_datetime(["2024-03-01 10:15:42", "2024-03-01 10:15:59", "2024-03-02 08:00:00",
                             "2024-03-02 09:30:10"])
    purchases = pd.DataFrame({"timestamp": stamps, "session_id": ["s1", None, "", "s2"]}, index=[7, 3, 9, 4])
    keys = basket_keys(purchases)
    assert keys.index.tolist() == [7, 3, 9, 4]
    assert keys.tolist() == ["s1", "t:2024-03-01 10:15:00", "t:2024-03-02 08:00:00", "s2"]
    assert basket_keys(purchases.drop(columns="session_id")).tolist()[:2] == ["t:2024-03-01 10:15:00"] * 2


@pytest.mark.parametrize("dtype", ["str", "string[pyarrow]", object])
def test_lookup_of_arrow_strings_is_the_index_lookup(dtype) -> None:
    from genpage.events import lookup

    rng = np.random.default_rng(5)
    keys = [f"u{i}" for i in range(40)] + ["", "é", "a b"]
    values = pd.Series([*rng.choice([*keys, "other"], 300), None], dtype=dtype)
    for mapping, missing in (({k: i for i, k in enumerate(keys)}, -1), ({"u1": 2.5, "é": 1.0}, np.nan), ({}, -1)):
        at = pd.Index(list(mapping)).get_indexer(values.astype(object))
        found = np.array([mapping[k] for k in mapping])
        expected = np.where(at >= 0, found[np.maximum(at, 0)] if len(found) else missing, missing)
        assert np.array_equal(lookup(values, mapping, missing), expected, equal_nan=True)


@pytest.mark.parametrize("seed", range(4))
def test_sorted_union_is_union1d(seed: int) -> None:
    from genpage.rank.shoppers import _sorted_union

    rng = np.random.default_rng(seed)
    a, b = (rng.integers(0, 50, size=int(rng.integers(0, 40))) for _ in range(2))  # unsorted, repeats, maybe empty
    assert _sorted_union(a, b).tolist() == np.union1d(a, b).tolist()
    assert _sorted_union(np.unique(a), np.zeros(0, np.int64)).tolist() == np.unique(a).tolist()
