"""The next-basket baselines (genpage.evaluation.nbr_baselines) against cases computed by hand.

Two shoppers, four items, one basket per day:
    A: day 1 {x, y}, day 3 {x}, day 5 {z}
    B: day 2 {y},    day 4 {y, w}
Baskets holding each item: x 2, y 3, z 1, w 1.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np
import pandas as pd
import pytest

from genpage.evaluation.nbr_baselines import Baskets, recent_popularity, tifu_knn, top_freq, up_cf
from genpage.evaluation.protocol import Split
from genpage.events import to_days

ITEMS = ["x", "y", "z", "w"]
START = datetime(2024, 1, 1, 12)
BASKETS = [("A", 1, "xy"), ("B", 2, "y"), ("A", 3, "x"), ("B", 4, "yw"), ("A", 5, "z")]


def baskets() -> Baskets:
    return Baskets.of(split().train, ITEMS)


def split() -> Split:
    rows = [{"user_id": user, "type": "purchase", "item_id": item, "timestamp": START + timedelta(days=day),
             "session_id": f"{user}{day}"} for user, day, items in BASKETS for item in items]  # fmt: skip
    events = pd.DataFrame(rows)
    return Split(train=events, held=pd.DataFrame(columns=["user_id", "items", "day"]), item_ids=ITEMS)


def scores_of(method, users: list[str], day: float = 0.0) -> np.ndarray:
    return method.scores(users, np.full(len(users), day), False)


def test_top_freq_ranks_own_items_by_frequency_then_popularity():
    scores = scores_of(top_freq(baskets()), ["A", "C"])
    fill = np.array([2, 3, 1, 1]) / 4  # popularity / (max + 1)
    assert scores[0] == pytest.approx(np.array([2, 1, 1, 0]) + fill)  # A: x twice, y once, z once
    assert scores[1] == pytest.approx(fill)  # an unknown shopper: popularity alone
    assert [ITEMS[i] for i in np.argsort(-scores[0], kind="stable")] == ["x", "y", "z", "w"]


def test_recent_popularity_counts_baskets_strictly_before_the_day():
    day5 = to_days(pd.Series([START + timedelta(days=5)]))[0]
    two_days = scores_of(recent_popularity(baskets(), {"window": 2}), ["A"], day5)[0]
    assert two_days == pytest.approx([1, 1, 0, 1], abs=1e-5)  # days 3 and 4; day 5's own basket is not seen
    one_day = scores_of(recent_popularity(baskets(), {"window": 1}), ["A"], day5)[0]
    assert one_day == pytest.approx([0, 1, 0, 1], abs=1e-5)


def test_tifu_knn_matches_the_formula():
    params = {"n_groups": 2, "r_b": 0.5, "r_g": 0.5, "k": 2, "alpha": 0.5}
    scores = scores_of(tifu_knn(baskets(), params), ["A", "B"])
    # A's baskets decayed by position: 0.25 {x,y}, 0.5 {x}, 1 {z}; blocks [b1] and [b2, b3]:
    #   g1 = {x: .25, y: .25}, g2 = {x: .25, z: .5}; u_A = (0.5 g1 + g2) / 2
    u_a = np.array([0.1875, 0.0625, 0.25, 0.0])
    # B: 0.5 {y}, 1 {y, w}; blocks [b1], [b2]: u_B = (0.5 {y: .5} + {y: 1, w: 1}) / 2
    u_b = np.array([0.0, 0.625, 0.0, 0.5])
    # k = 2 nearest: the shopper and the other one
    assert scores[0] == pytest.approx(0.5 * u_a + 0.5 * (u_a + u_b) / 2, abs=1e-5)
    assert scores[1] == pytest.approx(0.5 * u_b + 0.5 * (u_a + u_b) / 2, abs=1e-5)


def test_tifu_blocks_are_the_authors_partition():
    from genpage.evaluation.nbr_baselines import _tifu_groups

    assert [len(g) for g in _tifu_groups(10, 3)] == [3, 3, 4]  # the last block takes the remainder
    assert [len(g) for g in _tifu_groups(2, 7)] == [1, 1]  # fewer baskets than blocks: one each
    assert [(g.start, g.stop) for g in _tifu_groups(7, 7)] == [(i, i + 1) for i in range(7)]


def test_up_cf_matches_the_formula():
    scores = scores_of(up_cf(baskets(), {"r": 1, "a": 0.5, "q": 1}), ["A"])[0]
    w_ab = 1 / (3**0.5 * 2**0.5)  # |{y}| / (|I_A|^0.5 |I_B|^0.5)
    # A's last basket {z} with weight w(A, A) = 1, B's last basket {y, w} with w(A, B)
    assert scores == pytest.approx([0.0, w_ab, 1.0, w_ab], abs=1e-5)


def test_global_split_trains_on_nothing_after_the_cut():
    from genpage.evaluation.protocol import Split, split_global

    events = split().train
    train, held = split_global(events, test_share=0.45)  # 7 lines: the cut falls after day 3's basket
    cut = to_days(pd.Series([START + timedelta(days=4)]))[0] - 0.5  # noon timestamps: the cut is day 4's midnight
    assert (to_days(train["timestamp"]) < cut).all() and len(train) == 4  # days 1, 2, 3
    # A and B both bought before the cut; each is tested on their first basket after it
    assert dict(zip(held["user_id"], held["items"], strict=True)) == {"A": ["z"], "B": ["w", "y"]}
    assert Split.of(events, ITEMS, kind="global").held["user_id"].tolist() == ["A"]  # default cut: 10 % after


def test_trend_counts_only_days_before_the_basket():
    from genpage.rank.features import History

    history = History.build(split().train, ITEMS)
    day4 = to_days(pd.Series([START + timedelta(days=4)]))[0]
    trend = history.trend_counts(np.array([day4]), window=2)[0]
    assert trend.tolist() == [1, 1, 0, 0]  # day 2 {y} and day 3 {x}; day 4's own basket {y, w} is not counted


def test_rebuy_breaks_ties_by_popularity_not_recency():
    from genpage.evaluation.baselines import rebuy

    scores = scores_of(rebuy(split()), ["A"])[0]
    # A bought x twice, y and z once each; y has two buyers, z one (z is A's latest item: recency would put it first)
    assert [ITEMS[i] for i in np.argsort(-scores, kind="stable")] == ["x", "y", "z", "w"]


def test_recency_features_by_hand():
    """genpage's TIFU-style features: A's decayed baskets (0.9 ** baskets since) over what all of A's baskets sum to,
    and over A's largest; the week's trend counts the 7 days strictly before the day."""
    from genpage.rank.features import History, feature_block

    history = History.build(split().train, ITEMS)
    semantic = {n: np.zeros((1, len(ITEMS)), np.float32) for n in ("sem_interest", "sem_mean", "sem_last_basket",
                                                                     "sem_query")}  # fmt: skip
    day6 = to_days(pd.Series([START + timedelta(days=6)]))[0]
    planes = feature_block(history, history.rows(["A"]), np.array([day6]), semantic, np.ones(len(ITEMS)))
    decay = {"x": 0.9 + 0.81, "y": 0.81, "z": 1.0, "w": 0.0}  # A: day 1 {x, y}, day 3 {x}, day 5 {z}
    total = 1.0 + 0.9 + 0.81
    np.testing.assert_allclose(planes["ui_decay_share"][0], [decay[i] / total for i in ITEMS], rtol=1e-6)
    np.testing.assert_allclose(planes["ui_decay_rel"][0], [decay[i] / 1.71 for i in ITEMS], rtol=1e-6)
    np.testing.assert_allclose(planes["i_trend_week"][0], np.log1p([2, 3, 1, 1]), rtol=1e-6)  # days 1..5
    assert all(planes[n].dtype == np.float32 for n in ("ui_decay_share", "ui_decay_rel", "i_trend_week"))
    without = feature_block(history, history.rows(["A"]), np.array([day6]), semantic, np.ones(len(ITEMS)),
                            recency=False)  # fmt: skip
    assert set(planes) - set(without) == {"ui_decay_share", "ui_decay_rel", "i_trend_week"}
    for name, plane in without.items():  # the other planes as before
        np.testing.assert_array_equal(plane, planes[name])


def test_each_training_basket_is_predicted_from_what_came_before_it(monkeypatch):
    """With train_baskets=2 the scorer learns from each shopper's latest basket and the one before it, each from a
    history that ends before that basket's day (leak-free), as distinct queries."""
    from genpage.rank.ranker import RankConfig, Ranker
    from genpage.schemas import Product

    seen: list[tuple[float, list[float], int]] = []
    original = Ranker._training_rows

    def spy(self, history, held_out, offset):
        seen.append((history.now, held_out["day"].tolist(), offset))
        return original(self, history, held_out, offset)

    monkeypatch.setattr(Ranker, "_training_rows", spy)
    rows = [{"user_id": f"U{u}", "type": "purchase", "item_id": ITEMS[(u + d) % 4], "timestamp":
             START + timedelta(days=d, hours=u), "session_id": f"U{u}-{d}"} for u in range(6) for d in range(4)]
    products = [Product(id=i, title=f"item {i}", price=1.0) for i in ITEMS]
    Ranker.fit_frame(pd.DataFrame(rows), products, None, RankConfig(train_baskets=2, min_train_users=2),
                     item_vectors=np.eye(len(ITEMS), dtype=np.float32))  # fmt: skip
    assert len(seen) == 2 and seen[0][2] == 0 and seen[1][2] == 6  # 6 shoppers per step, numbered apart
    for now, days, _ in seen:
        assert now < min(days)
    assert max(seen[1][1]) < min(seen[0][1])  # the second step holds out the baskets before the first step's
