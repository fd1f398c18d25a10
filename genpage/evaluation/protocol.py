"""The evaluation protocol: a `Split` of events against a catalogue, a `Method` that scores it, and
`evaluate_methods`, which measures methods on a split by slice."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from genpage.evaluation.metrics import (
    coverage,
    hit_rate_at_k,
    intra_list_diversity,
    ndcg_at_k,
    recall_at_k,
)
from genpage.events import basket_keys, to_days
from genpage.rank.split import held_baskets, split_last_basket

logger = logging.getLogger(__name__)

SLICES = ("all", "explore", "cold_items")
ScoreFn = Callable[[list[str], np.ndarray, bool], np.ndarray]  # (users, days, explore) -> (users, items)
OrderFn = Callable[[np.ndarray], np.ndarray]  # a score row -> item order, best first


@dataclass
class Method:
    name: str
    scores: ScoreFn
    order: OrderFn | None = None  # default: by score
    has_explore: bool = False  # scores(..., explore=True) differs from the default scores
    fit_seconds: float = 0.0


@dataclass
class SliceResult:
    metrics: dict[str, float] = field(default_factory=dict)
    users: int = 0


@dataclass
class Split:
    """A chronological split of an events frame against a catalogue (item ids in ranking order)."""

    train: pd.DataFrame
    held: pd.DataFrame
    item_ids: list[str]

    @classmethod
    def of(cls, events: pd.DataFrame, item_ids: list[str], kind: str = "last-basket") -> Split:
        """`kind` "last-basket": each shopper's latest basket held out, everything else trains (other shoppers'
        later events included); "global": everything before a cut time trains (`split_global`)."""
        if kind not in SPLITS:
            raise ValueError(f"unknown split {kind!r}; choose one of {', '.join(SPLITS)}")
        train, held = split_last_basket(events) if kind == "last-basket" else split_global(events)
        return cls(train=train, held=held, item_ids=list(item_ids))


SPLITS = ("last-basket", "global")
GLOBAL_TEST_SHARE = 0.1  # the last tenth of the purchase lines, by time, is after the cut


def split_global(events: pd.DataFrame, test_share: float = GLOBAL_TEST_SHARE) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(events strictly before the cut day, held-out baskets): the cut is the first day after the day by which
    1 - `test_share` of the purchase lines happened; every shopper with a basket before the cut and one after it
    is tested on their first basket after it. Nothing after the cut trains, so no shopper's future (nor the
    catalogue's) is seen. The held-out frame has the shape of `split_last_basket`'s."""
    frame = events.copy()
    frame["user_id"] = frame["user_id"].astype(str)
    days = pd.Series(to_days(frame["timestamp"]), index=frame.index)
    buys = frame[frame["type"] == "purchase"]
    cut = float(np.floor(np.quantile(days[buys.index], 1.0 - test_share))) + 1.0  # a day boundary
    before = frame[days < cut]
    after = buys[days[buys.index] >= cut].copy()
    after["basket"] = basket_keys(after).to_numpy()
    after["day"] = days[after.index]
    trained = set(before.loc[before["type"] == "purchase", "user_id"])
    after = after[after["user_id"].isin(trained)]
    per_basket = after.groupby(["user_id", "basket"])["day"].max().reset_index()
    first = per_basket.sort_values(["user_id", "day", "basket"]).groupby("user_id").head(1)
    keys = set(zip(first["user_id"], first["basket"], strict=False))
    lines = after[[key in keys for key in zip(after["user_id"], after["basket"], strict=False)]]
    return before.reset_index(drop=True), held_baskets(lines, dict(zip(first["user_id"], first["day"], strict=False)))


def _rank_of(scores: np.ndarray, order_head: np.ndarray, targets: np.ndarray) -> float:
    """1-based rank of the best target: its position in the (possibly re-ranked) head, else counted by score."""
    head_pos = {int(item): pos for pos, item in enumerate(order_head)}
    in_head = [head_pos[int(t)] for t in targets if int(t) in head_pos]
    if in_head:
        return float(min(in_head) + 1)
    best = float(scores[targets].max())
    return float(np.sum(scores > best) + 1)


def evaluate_methods(
    split: Split,
    methods: list[Method],
    item_vectors: np.ndarray,
    *,
    k: int = 10,
    chunk: int = 512,
    slices: Sequence[str] = SLICES,
) -> dict[str, dict[str, SliceResult]]:
    """Run every method on every slice; returns {method name: {slice: SliceResult}}."""
    index = {item: i for i, item in enumerate(split.item_ids)}
    n_items = len(split.item_ids)
    train_buys = split.train[split.train["type"] == "purchase"]
    bought_by = train_buys.groupby("user_id")["item_id"].agg(lambda s: {index[i] for i in s if i in index})
    ever = np.zeros(n_items, dtype=bool)
    ever[[index[i] for i in train_buys["item_id"].unique() if i in index]] = True
    users = list(split.held["user_id"])
    days = split.held["day"].to_numpy()
    truth = [{index[i] for i in items if i in index} for items in split.held["items"]]
    owned = [bought_by.get(u, set()) for u in users]
    out: dict[str, dict[str, SliceResult]] = {}
    for method in methods:
        sums: dict[str, dict[str, float]] = {s: {} for s in SLICES}
        counts = dict.fromkeys(SLICES, 0)
        tops: list[np.ndarray] = []
        started = time.perf_counter()
        for start in range(0, len(users), chunk):
            part = slice(start, start + chunk)
            base = method.scores(users[part], days[part], False)
            explore = method.scores(users[part], days[part], True) if method.has_explore else base
            for r in range(len(base)):
                u = start + r
                relevant = {
                    "all": truth[u],
                    "explore": truth[u] - owned[u],
                    "cold_items": {i for i in truth[u] if not ever[i]},
                }
                for name in slices:
                    rel = relevant[name]
                    if not rel:
                        continue
                    row = (explore if name == "explore" else base)[r].astype(np.float64).copy()
                    if name == "explore" and owned[u]:
                        row[list(owned[u])] = -np.inf
                    if name == "cold_items":
                        row[ever] = -np.inf
                    order = method.order(row) if method.order else np.argsort(-row, kind="stable")[: 10 * k]
                    head = order[: 10 * k]
                    top = [int(i) for i in head[:k] if np.isfinite(row[i])]
                    metrics = {
                        f"recall@{k}": recall_at_k(top, rel, k),
                        f"ndcg@{k}": ndcg_at_k(top, rel, k),
                        f"hitrate@{k}": hit_rate_at_k(top, rel, k),
                        "mrr": 1.0 / _rank_of(row, head, np.array(sorted(rel))),
                        "ild": intra_list_diversity(top, item_vectors),
                    }
                    for key, value in metrics.items():
                        sums[name][key] = sums[name].get(key, 0.0) + value
                    counts[name] += 1
                    if name == "all":
                        tops.append(np.array(top))
        elapsed = time.perf_counter() - started
        results = {}
        for name in SLICES:
            n = max(counts[name], 1)
            metrics = {key: value / n for key, value in sums[name].items()}
            if name == "all":
                metrics["coverage"] = coverage([t.tolist() for t in tops], n_items)
                metrics["score_seconds"] = elapsed
                metrics["fit_seconds"] = method.fit_seconds
            results[name] = SliceResult(metrics=metrics, users=counts[name])
        out[method.name] = results
        logger.info("%s: ndcg@%d %.4f (%.1fs)", method.name, k, results["all"].metrics.get(f"ndcg@{k}", 0), elapsed)
    return out
