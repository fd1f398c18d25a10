"""Off-policy evaluation (genpage.feedback.ope) on synthetic logs whose true values are known."""

from __future__ import annotations

import csv
import json
from datetime import datetime, timezone

import numpy as np
import pytest

from genpage.cli import main
from genpage.feedback.bandit import ShelfFeedback, ThompsonPolicy, canonical_order, get_policy
from genpage.feedback.ope import LoggedPage, LogsError, evaluate_policy, read_logs, store_logs
from genpage.feedback.tracking import IMPRESSION_COLUMNS
from genpage.store import Store

RATES = {"buy_again": 0.30, "because_bought": 0.20, "for_you": 0.12, "theme": 0.08}
EXAM = (1.0, 0.6, 0.4, 0.3)
SHELVES = ("for_you", "theme", "buy_again", "because_bought")  # the planner's order


def true_value(policy, context: str = "s") -> float:
    """The policy's expected click-through per shelf shown, under the position-based model (EXAM x RATES)."""
    dist = policy.distribution(context, SHELVES)
    return sum(p * np.mean([EXAM[k] * RATES[arm] for k, arm in enumerate(order)]) for order, p in dist.items())


def simulate(policy, views: int, seed: int = 0) -> list[LoggedPage]:
    """Page views ordered and logged by `policy`, clicked by the position-based model."""
    rng = np.random.default_rng(seed)
    pages = []
    for _ in range(views):
        order = canonical_order(SHELVES, policy._draw("s", list(SHELVES), rng))  # noqa: SLF001
        action = tuple(SHELVES[i] for i in order)
        rewards = {k: float(rng.random() < EXAM[k] * RATES[arm]) for k, arm in enumerate(action)}
        pages.append(LoggedPage("s", action, rewards, policy.probability("s", SHELVES, action), SHELVES))
    return pages


@pytest.fixture(scope="module")
def random_logs() -> list[LoggedPage]:
    return simulate(get_policy("random"), 40000, seed=1)


@pytest.fixture(scope="module")
def learned() -> ThompsonPolicy:
    policy = ThompsonPolicy(epsilon=0.1)
    rng = np.random.default_rng(5)
    rows = []
    for _ in range(150):
        for k, arm in enumerate(rng.permutation(SHELVES)):
            rows.append(ShelfFeedback(str(arm), k, 1.0, float(rng.random() < EXAM[k] * RATES[str(arm)])))
    policy.update("s", rows)
    return policy


def test_estimators_by_hand():
    pages = [LoggedPage("s", ("a", "b"), {0: 1.0, 1: 0.0}, 0.5, ("a", "b")),
             LoggedPage("s", ("b", "a"), {0: 1.0, 1: 1.0}, 0.5, ("a", "b")),
             LoggedPage("s", ("a", "b"), {0: 0.0, 1: 1.0}, 0.25, ("a", "b"))]  # fmt: skip
    result = evaluate_policy(pages, get_policy("fixed"), bootstrap=50, min_support=0.0, min_ess=0.0)
    weights = np.array([2.0, 0.0, 4.0])  # fixed shows a|b with probability 1
    ips, snips = (2 * 1 + 4 * 1) / 6, (2 * 1 + 4 * 1) / (2 * 2 + 4 * 2)
    values = {e.name: e.value for e in result.estimates}
    assert values["IPS"] == pytest.approx(ips)
    assert values["SNIPS"] == pytest.approx(snips)
    # DR: reward model (a,0)=1/2, (b,1)=1/2, (b,0)=1, (a,1)=1; fixed's expectation of the model is 1/2 + 1/2 = 1
    assert values["DR"] == pytest.approx((1 + 2 * (1 - 1) + 1 + 0 + 1 + 4 * (1 - 1)) / 6)
    assert result.ess == pytest.approx(weights.sum() ** 2 / (weights**2).sum())
    assert result.logged_value == pytest.approx(4 / 6)


@pytest.mark.parametrize("name", ["fixed", "thompson"])
def test_estimates_from_random_logs_hit_the_true_value(random_logs, learned, name):
    target = learned if name == "thompson" else get_policy("fixed")
    truth = true_value(target)
    result = evaluate_policy(random_logs, target, bootstrap=200)
    assert result.supported
    assert result.ess < len(random_logs)
    for estimate in result.estimates:
        # within three bootstrap standard errors ((high - low) / 3.92 each) of the truth, and within 10 %
        assert abs(estimate.value - truth) <= 3 * (estimate.high - estimate.low) / 3.92, estimate.name
        assert estimate.value == pytest.approx(truth, rel=0.1), estimate.name


def test_thompson_logs_evaluate_random_through_the_exploration_floor(learned):
    logs = simulate(learned, 20000, seed=3)
    result = evaluate_policy(logs, get_policy("random"), bootstrap=200)
    truth = true_value(get_policy("random"))
    assert result.supported
    values = {e.name: e.value for e in result.estimates}
    assert values["SNIPS"] == pytest.approx(truth, rel=0.1)
    assert values["DR"] == pytest.approx(truth, rel=0.1)


def test_a_policy_the_logs_never_show_cannot_be_estimated():
    logs = simulate(get_policy("fixed"), 2000)
    result = evaluate_policy(logs, get_policy("random"), bootstrap=100)
    assert not result.supported and not result.estimates
    assert result.support == pytest.approx(1 / 24)
    assert "cannot estimate: the policy 'random' puts about 96% of its probability on shelf orders these logs " \
        "never show" in result.table()
    same = evaluate_policy(logs, get_policy("fixed"), bootstrap=100)  # the logging policy itself is supported
    assert same.supported and same.ess == pytest.approx(2000)


def write_rows(pages: list[LoggedPage]) -> list[dict]:
    return [{"page_id": i, "context": p.context, "action": "|".join(p.action), "position": k, "reward": r,
             "propensity": p.propensity, "shelves": "|".join(p.shelves or ())}
            for i, p in enumerate(pages) for k, r in p.rewards.items()]  # fmt: skip


def test_file_logs_give_the_same_estimates(tmp_path, random_logs, learned):
    pages = random_logs[:3000]
    rows = write_rows(pages)
    jsonl = tmp_path / "logs.jsonl"
    jsonl.write_text("".join(json.dumps(row) + "\n" for row in rows))
    with (tmp_path / "logs.csv").open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    def numbers(result) -> list[float]:
        return [result.ess, result.support, *(v for e in result.estimates for v in (e.value, e.low, e.high))]

    direct = numbers(evaluate_policy(pages, learned, bootstrap=50))
    for path in (jsonl, tmp_path / "logs.csv"):
        assert numbers(evaluate_policy(read_logs(path), learned, bootstrap=50)) == pytest.approx(direct)


def test_bad_log_rows_are_named(tmp_path):
    path = tmp_path / "bad.jsonl"
    path.write_text(json.dumps({"context": "s", "action": "a|b", "position": 0, "reward": 1}) + "\n")
    with pytest.raises(LogsError, match="row 1: missing propensity"):
        read_logs(path)
    path.write_text(json.dumps({"context": "s", "action": "a|b", "position": 5, "reward": 1, "propensity": 0.5}))
    with pytest.raises(LogsError, match="row 1: need 0 < propensity <= 1"):
        read_logs(path)
    without_order = read_logs(path.with_suffix(".csv")) if False else [LoggedPage("s", ("a", "b"), {0: 1.0}, 0.5)]
    with pytest.raises(LogsError, match="planner's order"):
        evaluate_policy(without_order, get_policy("fixed"))


def test_store_logs_read_impressions_and_clicks(tmp_path):
    with Store(tmp_path / "s.sqlite") as store:
        if "006_tracking" not in store.migrations():
            pytest.skip("the impressions table (migration 006_tracking) is not in this tree")
        now = datetime.now(timezone.utc).isoformat()
        shelves = [("trending", None), ("for_you", "Candles"), ("buy_again", None)]
        planned = ["buy_again|theme|trending", None]  # the second page was logged before `planned` was
        rows = [(f"p{page}", "u1", None, "s", kind, theme, k, j, f"i{k}{j}", "random", 1 / 6,
                 "trending|theme|buy_again", now, planned[page]) for page in range(2)
                for k, (kind, theme) in enumerate(shelves) for j in range(2)]  # fmt: skip
        with store.transaction() as conn:
            conn.executemany(f"INSERT INTO impressions ({', '.join(IMPRESSION_COLUMNS)}) VALUES "
                             f"({','.join('?' * len(IMPRESSION_COLUMNS))})", rows)  # fmt: skip
            conn.executemany("INSERT INTO clicks VALUES (?,?,?,?,?,?)",
                             [("p0", "u1", "i10", 1, 0, now), ("p0", "u1", "i11", 1, 1, now)])
        pages = store_logs(store)
    assert [p.action for p in pages] == [("trending", "theme", "buy_again")] * 2
    assert [p.rewards for p in pages] == [{0: 0.0, 1: 1.0, 2: 0.0}, {0: 0.0, 1: 0.0, 2: 0.0}]
    assert pages[0].propensity == pytest.approx(1 / 6) and pages[0].context == "s"
    assert [p.shelves for p in pages] == [("buy_again", "theme", "trending"), None]


def test_cli_evaluate_policy(tmp_path, capsys, random_logs):
    path = tmp_path / "logs.jsonl"
    path.write_text("".join(json.dumps(row) + "\n" for row in write_rows(random_logs[:4000])))
    db = tmp_path / "none.sqlite"
    assert main(["evaluate-policy", "--policy", "fixed", "--logs", str(path), "--db", str(db),
                 "--bootstrap", "50"]) == 0  # fmt: skip
    printed = capsys.readouterr().out
    assert printed.splitlines()[1].split() == ["estimator", "value", "95%", "CI", "ESS"]
    assert [line.split()[0] for line in printed.splitlines()[2:]] == ["IPS", "SNIPS", "DR"]
    fixed_logs = tmp_path / "fixed.jsonl"
    fixed_logs.write_text("".join(json.dumps(row) + "\n" for row in write_rows(simulate(get_policy("fixed"), 500))))
    assert main(["evaluate-policy", "--policy", "random", "--logs", str(fixed_logs), "--db", str(db)]) == 1
    assert "cannot estimate: the policy 'random'" in capsys.readouterr().out
    assert not db.exists()


def test_the_chart_is_a_static_escaped_svg():
    from xml.etree import ElementTree

    from genpage.feedback.charts import line_chart

    svg = line_chart({"thompson": [(1000, 0.12), (2000, 0.15)], "<b>fixed</b>": [(1000, 0.1), (2000, 0.1)]},
                     title="CTR & time", x_label="page views", y_label="CTR")  # fmt: skip
    root = ElementTree.fromstring(svg)  # well-formed XML
    assert root.tag.endswith("svg") and root.get("role") == "img"
    assert "<script" not in svg and "<b>" not in svg and "&lt;b&gt;fixed" in svg and "CTR &amp; time" in svg
    assert len([e for e in root.iter() if e.tag.endswith("polyline")]) == 2
