"""The shelf-order policies (genpage.feedback.bandit): probabilities, Thompson state, pinning, persistence."""

from __future__ import annotations

import math
from collections import Counter

import numpy as np
import pytest

from genpage.config import Config
from genpage.feedback.bandit import (
    DEFAULT_EXAMINATION,
    PolicyError,
    ShelfFeedback,
    ThompsonPolicy,
    action_key,
    arm_of,
    bin_masses,
    chain_probability,
    distinct_orders,
    fit_examination,
    get_policy,
    order_for,
    shelf_arm,
    shelf_theme,
)
from genpage.feedback.ope import store_logs
from genpage.feedback.tracking import IMPRESSION_COLUMNS, ShelfOrder, impression_rows, shelf_views
from genpage.schemas import Page, PageItem, Product, Reason, Section, ShelfTheme
from genpage.store import Store

RATES = {"buy_again": 0.30, "because_bought": 0.20, "for_you": 0.12, "theme": 0.08, "trending": 0.04}
EXAM = (1.0, 0.6, 0.4, 0.3, 0.2)


def section(arm: str, index: int = 0) -> Section:
    if arm == "theme":
        theme = ShelfTheme(key=f"category:c{index}", label=f"C{index}", level="category")
        return Section(id=f"theme-{index}", kind="for_you", intent="x", items=[], shelf="theme", theme=theme)
    return Section(id=f"{arm}-{index}", kind=arm, intent="x", items=[])  # type: ignore[arg-type]


def page(*arms: str) -> list[Section]:
    return [section(arm, i) for i, arm in enumerate(arms)]


def feedback(views: int, seed: int = 0) -> list[ShelfFeedback]:
    """Page views with random orders, clicked by the position-based model (EXAM x RATES)."""
    rng = np.random.default_rng(seed)
    rows = []
    for _ in range(views):
        arms = list(RATES)
        rng.shuffle(arms)
        rows += [ShelfFeedback(arm, k, 1.0, float(rng.random() < EXAM[k] * RATES[arm])) for k, arm in enumerate(arms)]
    return rows


def test_arms_and_orders():
    shelves = page("for_you", "theme", "buy_again", "theme")
    assert [shelf_arm(s) for s in shelves] == ["for_you", "theme", "buy_again", "theme"]
    assert distinct_orders(["for_you", "theme", "buy_again", "theme"]) == 12
    assert order_for(["for_you", "theme", "buy_again", "theme"], ["theme", "theme", "buy_again", "for_you"]) == \
        [1, 3, 2, 0]
    assert action_key(["theme", "for_you"]) == "theme|for_you"
    with pytest.raises(PolicyError, match="does not show"):
        order_for(["for_you"], ["theme"])
    with pytest.raises(PolicyError, match="unknown policy 'greedy'"):
        get_policy("greedy")


def test_one_function_derives_a_shelfs_arm_for_live_pages_logs_and_counts(tmp_path):
    assert arm_of("for_you", "category:candles") == "theme"
    assert arm_of("buy_again", None) == arm_of("buy_again", "") == "buy_again"
    stray = ShelfTheme(key="kind:mug", label="Mugs", level="kind")  # an intent shelf that carries a theme anyway
    odd = Section(id="odd", kind="because_bought", intent="x", items=[], shelf="intent", theme=stray)
    assert (shelf_theme(odd), shelf_arm(odd)) == (None, "because_bought")
    item = PageItem(product=Product(id="p1", title="Mug"), score=1.0, reason=Reason(kind="trending"))
    shelves = [s.model_copy(update={"items": [item]}) for s in [*page("for_you", "theme", "buy_again"), odd]]
    shown = Page(user_id="u", shop_name="s", sections=shelves, generated_at="2026-01-01T00:00:00Z")
    rows = impression_rows(shown, page_id="pv1", shopper="h", segment="seg", campaign="", shown=ShelfOrder("random",
                           1 / 24, "x"))  # fmt: skip
    live = [shelf_arm(s) for s in shelves]
    assert live == ["for_you", "theme", "buy_again", "because_bought"]
    assert {row[-3] for row in rows} == {action_key(live)}  # the logged action
    assert sorted(key[1] for key in shelf_views(rows)["random"]) == sorted(live)  # what the counts learn from
    with Store(tmp_path / "s.sqlite") as store:
        with store.transaction(data=False) as conn:
            conn.executemany(f"INSERT INTO impressions ({', '.join(IMPRESSION_COLUMNS)}) VALUES "
                             f"({', '.join('?' * len(IMPRESSION_COLUMNS))})", rows)  # fmt: skip
        assert [p.action for p in store_logs(store)] == [tuple(live)]  # what off-policy evaluation reads back


def test_config_has_the_policy_setting():
    assert Config().policy == "fixed"
    assert Config(policy="thompson").policy == "thompson"


def test_fixed_keeps_the_planners_order():
    policy = get_policy("fixed")
    order, probability = policy.choose("s", page("for_you", "buy_again", "theme"))
    assert (order, probability) == ([0, 1, 2], 1.0)
    assert policy.probability("s", ["for_you", "buy_again"], ["buy_again", "for_you"]) == 0.0


def test_random_is_uniform_over_distinct_orders_and_keeps_shared_arms_in_order():
    policy = get_policy("random")
    shelves = page("theme", "for_you", "theme", "buy_again")
    rng = np.random.default_rng(1)
    seen = Counter()
    for _ in range(3000):
        order, probability = policy.choose("s", shelves, rng=rng)
        assert probability == pytest.approx(1 / 12)
        themes = [i for i in order if shelves[i].shelf == "theme"]
        assert themes == [0, 2]  # two theme shelves stay in the planner's order among themselves
        seen[tuple(order)] += 1
    assert len(seen) == 12 and min(seen.values()) > 150


@pytest.mark.parametrize("epsilon", [0.0, 0.1])
def test_thompson_probabilities_are_exact_and_sum_to_one(epsilon):
    policy = ThompsonPolicy(epsilon=epsilon)
    policy.update("s", feedback(400))
    arms = ["for_you", "theme", "buy_again", "trending", "theme"]
    dist = policy.distribution("s", arms)
    assert sum(dist.values()) == pytest.approx(1.0, abs=1e-6)
    if epsilon:
        assert min(dist.values()) >= epsilon / distinct_orders(arms) - 1e-12  # exploration's floor
    rng = np.random.default_rng(2)
    drawn = Counter()
    n = 6000
    for _ in range(n):
        order, probability = policy.choose("s", page(*arms), rng=rng)
        action = tuple(arms[i] for i in order)
        assert probability == pytest.approx(dist[action])
        drawn[action] += 1
    for action, p in dist.items():  # the logged probability is what the policy does
        assert drawn[action] / n == pytest.approx(p, abs=4 * math.sqrt(p * (1 - p) / n) + 1e-3)


def test_chain_probability_matches_known_cases():
    masses = bin_masses({"a": (1.0, 1.0), "b": (1.0, 1.0), "c": (1.0, 1.0)})
    assert chain_probability([masses["a"], masses["b"], masses["c"]]) == pytest.approx(1 / 6, abs=1e-4)
    masses = bin_masses({"a": (2.0, 1.0), "b": (1.0, 1.0)})  # P(X > Y) for X ~ Beta(2,1), Y ~ U(0,1) = 2/3
    assert chain_probability([masses["a"], masses["b"]]) == pytest.approx(2 / 3, abs=1e-4)


def test_thompson_learns_the_order_with_position_bias():
    policy = ThompsonPolicy(epsilon=0.0)
    policy.update("s", feedback(4000))
    means = {arm: (lambda ab: ab[0] / (ab[0] + ab[1]))(policy.posterior("s", arm)) for arm in RATES}
    for arm, rate in RATES.items():  # attractiveness recovered, not the position-mixed click rate
        assert means[arm] == pytest.approx(rate, abs=0.015)
    assert policy.examination[:5] == pytest.approx(EXAM, abs=0.08)
    arms = ["trending", "theme", "for_you", "because_bought", "buy_again"]
    order, probability = policy.choose("s", page(*arms), rng=np.random.default_rng(0))
    assert [arms[i] for i in order] == sorted(RATES, key=RATES.get, reverse=True)
    assert probability > 0.5


def test_a_click_low_on_the_page_counts_for_more():
    policy = ThompsonPolicy(epsilon=0.0)
    policy.update("s", [ShelfFeedback("for_you", 0, 10, 1), ShelfFeedback("theme", 4, 10, 1)])
    top, low = policy.posterior("s", "for_you"), policy.posterior("s", "theme")
    assert low[0] / sum(low) > top[0] / sum(top)
    assert fit_examination({}) == DEFAULT_EXAMINATION  # too few clicks: the default curve


def test_segments_learn_apart_and_borrow_from_the_shop():
    policy = ThompsonPolicy(epsilon=0.0)
    policy.update("loyal", [ShelfFeedback("buy_again", 1, 200, 80), ShelfFeedback("trending", 0, 200, 10)])
    policy.update("new", [ShelfFeedback("buy_again", 1, 200, 2), ShelfFeedback("trending", 0, 200, 60)])
    rng = np.random.default_rng(0)
    shelves = page("trending", "buy_again")
    assert policy.choose("loyal", shelves, rng=rng)[0] == [1, 0]
    assert policy.choose("new", shelves, rng=rng)[0] == [0, 1]
    unseen = policy.posterior("someone-else", "buy_again")  # a new segment starts from the shop's rate
    assert unseen[0] + unseen[1] == pytest.approx(20.0)


def test_pinned_pages_keep_the_planners_order():
    policy = ThompsonPolicy()
    policy.update("s", feedback(300))
    assert policy.choose("s", page("trending", "buy_again", "theme"), pinned=True) == ([0, 1, 2], 1.0)
    assert get_policy("random").choose("s", page("trending", "buy_again"), pinned=True) == ([0, 1], 1.0)


def test_state_survives_a_restart(tmp_path):
    path = tmp_path / "s.sqlite"
    with Store(path) as store:
        assert "007_bandit" in store.migrations()
        policy = get_policy("thompson", store)
        policy.update("s", feedback(300))
        policy.update("s", [{"shelf_kind": "for_you", "shelf_theme": "Candles", "shelf_position": 2, "clicked": 1}])
        before = [value for arm in RATES for value in policy.posterior("s", arm)]  # type: ignore[attr-defined]
        arms = ["trending", "theme", "buy_again"]
        p_before = policy.probability("s", arms, ["buy_again", "theme", "trending"])
        get_policy("random", store).update("s", feedback(10))  # another policy's counts are its own
    with Store(path) as store:
        again = get_policy("thompson", store)
        after = [value for arm in RATES for value in again.posterior("s", arm)]  # type: ignore[attr-defined]
        assert after == pytest.approx(before)
        assert again.probability("s", arms, ["buy_again", "theme", "trending"]) == pytest.approx(p_before)
        shown = store.query("SELECT SUM(shown) FROM bandit_counts WHERE policy = 'thompson'")[0][0]
        assert shown == 300 * 5 + 1


def test_live_counts_are_learned_from_in_batches(monkeypatch):
    from genpage.feedback import bandit

    monkeypatch.setattr(bandit, "REFRESH_SECONDS", 1e9)
    policy = ThompsonPolicy(epsilon=0.0)
    policy.update("s", feedback(50))
    before = policy.posterior("s", "trending")
    policy.remember({("s", "trending", 0): [10.0, 10.0]})
    assert policy.counts[("s", "trending", 0)][1] >= 10  # counted at once ...
    policy.choose("s", page("trending", "buy_again"))
    assert policy.posterior("s", "trending") == before  # ... learned from in a batch: not yet
    policy.remember({("s", "trending", 1): [bandit.REFRESH_COUNTS, 0.0]})  # enough counts: recomputed
    assert policy.posterior("s", "trending") != before
    moved = policy.posterior("s", "trending")
    policy.remember({("s", "trending", 0): [1.0, 1.0]})
    monkeypatch.setattr(bandit, "REFRESH_SECONDS", 0.0)  # or enough time: the next page recomputes
    policy.choose("s", page("trending", "buy_again"))
    assert policy.posterior("s", "trending")[0] == pytest.approx(moved[0] + 1.0, abs=0.5)
