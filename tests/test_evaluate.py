"""The evaluation: metrics checked against hand-computed values, the chronological split, the slices."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from genpage.errors import ConfigError
from genpage.evaluation.metrics import (
    coverage,
    hit_rate_at_k,
    intra_list_diversity,
    ndcg_at_k,
    recall_at_k,
    reciprocal_rank,
)
from genpage.evaluation.protocol import Method, Split, evaluate_methods
from genpage.evaluation.run import ABLATIONS, ablation_names, format_table, results_json
from genpage.rank.split import split_last_basket


def test_recall_is_hits_over_basket_size() -> None:
    assert recall_at_k(["a", "b", "c"], {"a", "c", "z", "y"}, k=3) == pytest.approx(2 / 4)
    assert recall_at_k(["a", "b", "c"], {"c"}, k=2) == 0.0
    assert recall_at_k(["a"], set(), k=10) == 0.0


def test_ndcg_binary_relevance_by_hand() -> None:
    # hits at positions 1 and 3 of 3 relevant items: DCG = 1 + 1/log2(4) = 1.5; IDCG = 1 + 1/log2(3) + 1/2
    expected = 1.5 / (1 + 1 / math.log2(3) + 0.5)
    assert ndcg_at_k(["a", "x", "b", "y"], {"a", "b", "c"}, k=10) == pytest.approx(expected)
    # the ideal list is capped at k: 5 relevant items, k = 2, both slots hit -> 1.0
    assert ndcg_at_k(["a", "b"], {"a", "b", "c", "d", "e"}, k=2) == pytest.approx(1.0)
    # one hit at position 2 of a single relevant item: 1/log2(3)
    assert ndcg_at_k(["x", "a"], {"a"}, k=10) == pytest.approx(1 / math.log2(3))
    assert ndcg_at_k(["x", "y"], {"a"}, k=10) == 0.0


def test_hit_rate_and_reciprocal_rank() -> None:
    assert hit_rate_at_k(["x", "y", "a"], {"a"}, k=3) == 1.0
    assert hit_rate_at_k(["x", "y", "a"], {"a"}, k=2) == 0.0
    assert reciprocal_rank(["x", "y", "a", "b"], {"b", "a"}) == pytest.approx(1 / 3)
    assert reciprocal_rank(["x"], {"a"}) == 0.0


def test_coverage_and_intra_list_diversity() -> None:
    assert coverage([[0, 1], [1, 2]], 10) == pytest.approx(0.3)
    vectors = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 0.0]], dtype=np.float32)
    # pairs: (0,1) cos 0 -> 1; (0,2) cos 1 -> 0; (1,2) cos 0 -> 1: mean 2/3
    assert intra_list_diversity([0, 1, 2], vectors) == pytest.approx(2 / 3)
    assert intra_list_diversity([0], vectors) == 0.0


def _events() -> pd.DataFrame:
    rows = [
        # user a: three invoices; the last one (i3) is held out
        ("a", "p1", "2024-01-01 10:00", "i1"),
        ("a", "p2", "2024-01-01 10:00", "i1"),
        ("a", "p1", "2024-01-05 10:00", "i2"),
        ("a", "p1", "2024-01-09 10:00", "i3"),
        ("a", "p3", "2024-01-09 10:00", "i3"),
        ("a", "p9", "2024-01-09 10:00", "i3"),
        # user b: one invoice only -> stays in training, not a test user
        ("b", "p3", "2024-01-02 10:00", "i4"),
        # user c: two invoices; i6 held out
        ("c", "p2", "2024-01-03 10:00", "i5"),
        ("c", "p4", "2024-01-07 10:00", "i6"),
    ]
    frame = pd.DataFrame(rows, columns=["user_id", "item_id", "timestamp", "session_id"])
    frame["type"] = "purchase"
    frame["timestamp"] = pd.to_datetime(frame["timestamp"])
    view = pd.DataFrame(
        [{"user_id": "a", "item_id": "p4", "timestamp": pd.Timestamp("2024-01-10"), "session_id": None, "type": "view"}]
    )
    return pd.concat([frame, view], ignore_index=True)


def test_split_holds_out_each_users_last_basket() -> None:
    before, held = split_last_basket(_events())
    assert sorted(held["user_id"]) == ["a", "c"]
    items = dict(zip(held["user_id"], held["items"], strict=False))
    assert items == {"a": ["p1", "p3", "p9"], "c": ["p4"]}
    assert set(before["session_id"].dropna()) == {"i1", "i2", "i4", "i5"}
    assert not ((before["user_id"] == "a") & (before["type"] == "view")).any(), "events after the cut are dropped"


def test_evaluate_methods_slices_by_hand() -> None:
    items = ["p1", "p2", "p3", "p4", "p9"]
    split = Split.of(_events(), items)
    # training purchases: a bought p1, p2; b p3; c p2. Nobody bought p4 or p9 -> cold items.
    fixed = np.array([5.0, 4.0, 3.0, 2.0, 1.0])  # ranks p1 > p2 > p3 > p4 > p9 for everyone
    method = Method("fixed", lambda users, days, explore: np.tile(fixed, (len(users), 1)))
    results = evaluate_methods(split, [method], np.eye(5, dtype=np.float32), k=2)["fixed"]
    # all: a holds {p1,p3,p9}, top2 = [p1,p2] -> recall 1/3; c holds {p4}, top2 [p1,p2] -> 0
    assert results["all"].users == 2
    assert results["all"].metrics["recall@2"] == pytest.approx((1 / 3 + 0) / 2)
    assert results["all"].metrics["hitrate@2"] == pytest.approx(0.5)
    # mrr: a's first hit at 1 -> 1; c's p4 is 4th -> 1/4
    assert results["all"].metrics["mrr"] == pytest.approx((1 + 0.25) / 2)
    # explore: a's new items {p3, p9}, ranked among items a never bought: [p3, p4, p9] -> top2 [p3, p4]: recall 1/2
    # c's new items {p4}, ranked among [p1, p3, p4, p9] -> top2 [p1, p3]: 0
    assert results["explore"].users == 2
    assert results["explore"].metrics["recall@2"] == pytest.approx((0.5 + 0) / 2)
    # cold: held-out items nobody bought in training: a {p9}, c {p4}; ranked among [p4, p9] -> top2 holds both
    assert results["cold_items"].users == 2
    assert results["cold_items"].metrics["recall@2"] == pytest.approx(1.0)
    assert results["all"].metrics["coverage"] == pytest.approx(2 / 5)
    doc = results_json({"fixed": results})
    assert doc["rows"][0]["name"] == "fixed" and "fixed" in doc["explore"] and "fixed" in doc["cold_items"]
    assert "fixed" in format_table({"fixed": results}, k=2)


def test_evaluate_a_store_end_to_end(tmp_path) -> None:
    """`genpage evaluate`'s library function on a small real store: every baseline and genpage get a row."""
    from genpage.evaluation.run import evaluate
    from genpage.store import Store
    from tests.test_rank import _catalogue, _events

    store = Store(tmp_path / "shop.sqlite")
    products = _catalogue()
    store.upsert_products(products)
    store.upsert_events(_events(products))
    doc = evaluate(store, ablations=False)
    names = [row["name"] for row in doc["rows"]]
    assert names == [
        "popularity",
        "rebuy-own-items",
        "item-knn",
        "minilm-text",
        "p-topfreq+g-topfreq",
        "recent-popularity",
        "tifu-knn",
        "up-cf@r",
        "implicit-als",
        "implicit-bpr",
        "genpage",
    ]
    assert doc["test_users"] == 40
    genpage = doc["rows"][-1]
    assert 0.0 <= genpage["ndcg@10"] <= 1.0 and 0.0 <= genpage["recall@10"] <= 1.0
    assert set(doc["explore"]) == set(names) and set(doc["cold_items"]) == set(names)
    assert "genpage" in doc["table"] and doc["timings"]["one_user_ms_median"] > 0


def test_ablation_names_are_stripped_deduplicated_and_checked() -> None:
    assert ablation_names(True) == list(ABLATIONS)
    assert ablation_names(False) == []
    assert ablation_names("") == []  # bench/ranking.py --ablations= : none, not all
    assert ablation_names(" +recency, -diversity,+recency,") == ["+recency", "-diversity"]
    assert ablation_names(["-semantic", " -semantic "]) == ["-semantic"]
    with pytest.raises(ConfigError, match=r"'\+recenc'.*-semantic.*\+recency"):
        ablation_names("+recenc")
