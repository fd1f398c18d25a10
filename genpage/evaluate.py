"""Offline evaluation on a chronological split: hold out each shopper's latest basket, rank the whole catalogue.

For every user with at least two baskets the last one is held out; methods fit on everything else and rank every
product the shop knows (no sampled negatives). Three slices: all held-out items; "explore" (held-out items the user
never bought before, ranked among items new to the user); "cold_items" (held-out items nobody bought in training,
ranked among such items). Metrics: Recall@k (hits / basket size), NDCG@k (binary relevance), HitRate@k, MRR
(first relevant item over the whole ranking), catalogue coverage and intra-list diversity of the top k.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from genpage.features import basket_keys, to_days

logger = logging.getLogger(__name__)

SLICES = ("all", "explore", "cold_items")


# ---------------------------------------------------------------------- the split
def split_last_basket(events: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(events before, held-out baskets): each user's latest purchase basket, for users with >= 2 baskets.

    The held-out frame has one row per user: user_id, day (float days, the basket's time), timestamp, items (list).
    Non-purchase events at or after the held-out basket's time are dropped from `before` too."""
    frame = events.copy()
    frame["user_id"] = frame["user_id"].astype(str)
    buys = frame[frame["type"] == "purchase"]
    key = basket_keys(buys)
    day = pd.Series(to_days(buys["timestamp"]), index=buys.index)
    baskets = pd.DataFrame({"user_id": buys["user_id"], "basket": key, "day": day})
    per_basket = baskets.groupby(["user_id", "basket"], sort=False)["day"].max().reset_index()
    per_basket = per_basket.sort_values(["user_id", "day", "basket"])
    counts = per_basket.groupby("user_id")["basket"].transform("size")
    last = per_basket[counts >= 2].groupby("user_id").tail(1)
    held_key = set(zip(last["user_id"], last["basket"], strict=False))
    is_held = pd.Series(
        [(u, b) in held_key for u, b in zip(buys["user_id"], key, strict=False)], index=buys.index, dtype=bool
    )
    held_lines = buys[is_held]
    cut = dict(zip(last["user_id"], last["day"], strict=False))
    all_days = pd.Series(to_days(frame["timestamp"]), index=frame.index)
    user_cut = frame["user_id"].map(cut).astype(float)
    after_cut = user_cut.notna() & (all_days >= user_cut) & (frame["type"] != "purchase")
    before = frame.drop(index=held_lines.index).loc[lambda f: ~after_cut.reindex(f.index, fill_value=False)]
    items = held_lines.groupby("user_id")["item_id"].agg(lambda s: sorted(set(map(str, s))))
    times = held_lines.groupby("user_id")["timestamp"].max()
    held = pd.DataFrame(
        {"user_id": items.index, "items": items.to_numpy(), "timestamp": times.reindex(items.index).to_numpy()}
    )
    held["day"] = held["user_id"].map(cut).astype(float)
    return before.reset_index(drop=True), held.reset_index(drop=True)


# ---------------------------------------------------------------------- metrics
def recall_at_k(ranked: Sequence[Any], relevant: set[Any], k: int = 10) -> float:
    if not relevant:
        return 0.0
    return len(set(list(ranked)[:k]) & relevant) / len(relevant)


def ndcg_at_k(ranked: Sequence[Any], relevant: set[Any], k: int = 10) -> float:
    if not relevant:
        return 0.0
    dcg = sum(1.0 / math.log2(pos + 2) for pos, item in enumerate(list(ranked)[:k]) if item in relevant)
    ideal = sum(1.0 / math.log2(pos + 2) for pos in range(min(len(relevant), k)))
    return dcg / ideal


def hit_rate_at_k(ranked: Sequence[Any], relevant: set[Any], k: int = 10) -> float:
    return 1.0 if set(list(ranked)[:k]) & relevant else 0.0


def reciprocal_rank(ranked: Sequence[Any], relevant: set[Any]) -> float:
    for pos, item in enumerate(ranked):
        if item in relevant:
            return 1.0 / (pos + 1)
    return 0.0


def coverage(top_lists: Sequence[Sequence[Any]], catalogue_size: int) -> float:
    """Share of the catalogue that appears in at least one top list."""
    seen = {item for top in top_lists for item in top}
    return len(seen) / catalogue_size if catalogue_size else 0.0


def intra_list_diversity(top: Sequence[int], vectors: np.ndarray) -> float:
    """Mean pairwise (1 - cosine) between the items of one list (unit vectors); 0 for fewer than two items."""
    idx = np.asarray(list(top), dtype=np.int64)
    if len(idx) < 2:
        return 0.0
    sims = vectors[idx] @ vectors[idx].T
    n = len(idx)
    return float((n * n - sims.sum()) / (n * (n - 1)))


# ---------------------------------------------------------------------- running methods
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
    def of(cls, events: pd.DataFrame, item_ids: list[str]) -> Split:
        train, held = split_last_basket(events)
        return cls(train=train, held=held, item_ids=list(item_ids))


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


def results_json(results: dict[str, dict[str, SliceResult]], extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """The benchmark's JSON shape: rows (all held-out items), explore and cold_items by method name."""
    rows = [{"name": name, **r["all"].metrics, "users": r["all"].users} for name, r in results.items()]
    doc: dict[str, Any] = {"rows": rows}
    for name in ("explore", "cold_items"):
        doc[name] = {method: {**r[name].metrics, "users": r[name].users} for method, r in results.items()}
    if extra:
        doc.update(extra)
    return doc


def format_table(results: dict[str, dict[str, SliceResult]], k: int = 10) -> str:
    """A plain-text table: one line per method, the three slices side by side."""
    head = (
        f"{'method':<28} {'R@k':>6} {'NDCG@k':>7} {'HR@k':>6} {'MRR':>6} {'cov':>6} {'ILD':>5} | "
        f"{'explore NDCG':>12} {'R@k':>6} | {'cold R@k':>8} {'NDCG':>6}"
    ).replace("@k", f"@{k}")
    lines = [head, "-" * len(head)]
    for name, r in results.items():
        a, e, c = r["all"].metrics, r["explore"].metrics, r["cold_items"].metrics
        lines.append(
            f"{name:<28} {a.get(f'recall@{k}', 0):6.4f} {a.get(f'ndcg@{k}', 0):7.4f} {a.get(f'hitrate@{k}', 0):6.4f} "
            f"{a.get('mrr', 0):6.4f} {a.get('coverage', 0):6.4f} {a.get('ild', 0):5.3f} | "
            f"{e.get(f'ndcg@{k}', 0):12.4f} {e.get(f'recall@{k}', 0):6.4f} | "
            f"{c.get(f'recall@{k}', 0):8.4f} {c.get(f'ndcg@{k}', 0):6.4f}"
        )
    return "\n".join(lines)


def genpage_method(
    split: Split,
    products: list[Any],
    encoder: Any,
    config: Any = None,
    *,
    item_vectors: np.ndarray | None = None,
    users: list[Any] | None = None,
    name: str = "genpage",
    k: int = 10,
) -> tuple[Method, Any]:
    """genpage's ranker fitted on the split's training events, as a Method (and the fitted Ranker)."""
    from genpage.rank import RankConfig, Ranker

    config = config or RankConfig()
    ranker = Ranker.fit_frame(split.train, products, encoder, config, users=users, item_vectors=item_vectors)

    cache: dict[str, Any] = {}

    def scores(user_ids: list[str], days: np.ndarray, explore: bool) -> np.ndarray:
        key = (tuple(user_ids), days.tobytes())
        if cache.get("key") != key:  # both heads from one feature pass; evaluate asks for "all", then "new"
            cache["key"], cache["value"] = key, ranker.score_matrices(user_ids, now=days, heads=("all", "new"))[0]
        return cache["value"]["new" if explore else "all"]

    def order(row: np.ndarray) -> np.ndarray:
        full = np.argsort(-row, kind="stable")
        finite = full[np.isfinite(row[full])]
        return ranker.page_order(row, page=k, order=finite)

    method = Method(name, scores, order if config.use_diversity else None, has_explore=True)
    method.fit_seconds = ranker.fit_seconds
    return method, ranker


# ---------------------------------------------------------------------- the whole run (CLI and bench)
def run_evaluation(
    events: pd.DataFrame,
    products: list[Any],
    *,
    users: list[Any] | None = None,
    encoder: str = "minilm",
    embed: Callable[[Any], np.ndarray] | None = None,
    finetune: bool = False,
    finetune_pairs: int = 4000,
    baselines: bool = True,
    tune_baselines: bool = True,
    ablations: bool = True,
    timing: bool = True,
    k: int = 10,
    home: Any = None,
) -> dict[str, Any]:
    """Split, fit every method, evaluate: the JSON document of bench/ranking.py plus a printable "table".

    `embed(encoder) -> (items, dim) vectors` lets the caller cache product embeddings (store or .npy)."""
    from genpage import baselines as base_methods
    from genpage.embed import embed_products, load_encoder
    from genpage.rank import RankConfig, ablated

    started = time.perf_counter()
    embed = embed or (lambda enc: embed_products(None, enc, products)[1])
    split = Split.of(events, [p.id for p in products])
    if split.held.empty:
        from genpage.errors import GenpageError

        raise GenpageError("no user has two baskets (sessions): nothing to hold out; ingest more history first")
    base_encoder = load_encoder(encoder, home=home)
    base_vectors = embed(base_encoder)
    methods, meta = [], {}
    if baselines:
        methods += [base_methods.popularity(split), base_methods.rebuy(split), base_methods.item_knn(split)]
        methods.append(base_methods.text_similarity(split, base_vectors))
        for kind in ("als", "bpr"):
            t0 = time.perf_counter()
            if tune_baselines:
                method, meta[kind] = base_methods.tuned_factor_model(split, base_vectors, kind, k=k)
            else:
                params = dict((base_methods.ALS_GRID if kind == "als" else base_methods.BPR_GRID)[0])
                method, meta[kind] = base_methods.factor_method(f"implicit-{kind}", kind, params, split), params
            meta[kind]["seconds"] = time.perf_counter() - t0
            methods.append(method)
    # genpage's own row uses the base encoder: the fine-tuned one did not help on this data (see the
    # "genpage +fine-tuning" row, added when finetune=True), so it is measured, not used by default.
    config = RankConfig()
    main, ranker = genpage_method(split, products, base_encoder, config, item_vectors=base_vectors, users=users, k=k)
    methods.append(main)
    if ablations:
        for label, switches in (
            ("semantic", {"use_semantic": False}),
            ("co-purchase", {"use_copurchase": False}),
            ("repurchase", {"use_repurchase": False}),
            ("diversity", {"use_diversity": False}),
        ):
            variant = ablated(config, **switches)
            method, _ = genpage_method(
                split,
                products,
                base_encoder,
                variant,
                item_vectors=base_vectors,
                users=users,
                name=f"genpage -{label}",
                k=k,
            )
            methods.append(method)
    finetuned_name = None
    if finetune:
        from genpage.finetune import ensure_finetuned

        tuned = ensure_finetuned(split.train, products, base=encoder, home=home, max_pairs=finetune_pairs)
        if tuned is not None:
            finetuned_name = tuned.name
            method, _ = genpage_method(
                split,
                products,
                tuned,
                config,
                item_vectors=embed(tuned),
                users=users,
                name="genpage +fine-tuning",
                k=k,
            )
            methods.append(method)
    results = evaluate_methods(split, methods, base_vectors, k=k)  # diversity always in the base encoder's space
    extra: dict[str, Any] = {
        "encoder": base_encoder.name,
        "finetuned_encoder": finetuned_name,
        "test_users": len(split.held),
        "baseline_params": meta,
    }
    others = {n: r for n, r in results.items() if not n.startswith("genpage")}
    if others:
        metric = f"ndcg@{k}"
        best = max(others, key=lambda n: others[n]["all"].metrics[metric])
        best_explore = max(others, key=lambda n: others[n]["explore"].metrics.get(metric, 0.0))
        extra["summary"] = {
            "best_baseline": best,
            "genpage_vs_best_baseline": results["genpage"]["all"].metrics[metric]
            / max(others[best]["all"].metrics[metric], 1e-12),
            "best_baseline_explore": best_explore,
            "genpage_vs_best_baseline_explore": results["genpage"]["explore"].metrics.get(metric, 0.0)
            / max(others[best_explore]["explore"].metrics.get(metric, 0.0), 1e-12),
        }
    if timing:
        extra["timings"] = rank_timings(ranker, list(split.held["user_id"]))
    extra["total_seconds"] = time.perf_counter() - started
    doc = results_json(results, extra)
    doc["table"] = format_table(results, k=k)
    return doc


def rank_timings(ranker: Any, users: list[str], batch_size: int = 1000) -> dict[str, float]:
    """Warm-ranker latency of Ranker.rank: one user (median of 50), and `batch_size` users in one call."""
    ranker.rank(users[:5], k=60)
    one = []
    for uid in users[:50]:
        t0 = time.perf_counter()
        ranker.rank([uid], k=60)
        one.append(time.perf_counter() - t0)
    batch = (users * (batch_size // max(len(users), 1) + 1))[:batch_size]
    t0 = time.perf_counter()
    ranker.rank(batch, k=60)
    return {"one_user_ms_median": 1000 * float(np.median(one)), f"batch_{batch_size}_users_s": time.perf_counter() - t0}


def evaluate(
    store: Any,
    *,
    encoder: str = "minilm",
    finetune: bool = False,
    baselines: bool = True,
    ablations: bool = False,
    k: int = 10,
) -> dict[str, Any]:
    """`genpage evaluate`: the chronological-split evaluation of the store's own data (embeddings cached in it)."""
    from genpage.embed import embed_products
    from genpage.schemas import User

    products = store.products()
    users = [User(id=r["id"], country=r["country"]) for r in store.query("SELECT id, country FROM users")]
    return run_evaluation(
        store.events_frame(),
        products,
        users=users,
        encoder=encoder,
        embed=lambda enc: embed_products(store, enc, products)[1],
        finetune=finetune,
        baselines=baselines,
        ablations=ablations,
        k=k,
    )
