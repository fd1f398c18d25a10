"""Offline evaluation on a chronological split (`protocol.Split.of`), ranking the whole catalogue.

"last-basket": for every user with at least two baskets the last one is held out and methods fit on everything
else; "global": everything before a cut day trains and each user's first basket after it is held out. Methods rank
every product the shop knows (no sampled negatives). Three slices: all held-out items; "explore" (held-out items
the user never bought before, ranked among items new to the user); "cold_items" (held-out items nobody bought in
training, ranked among such items). Metrics: Recall@k (hits / basket size), NDCG@k (binary relevance), HitRate@k,
MRR (first relevant item over the whole ranking), catalogue coverage and intra-list diversity of the top k.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from genpage.errors import ConfigError
from genpage.evaluation.protocol import Method, SliceResult, Split, evaluate_methods

logger = logging.getLogger(__name__)

# The "genpage LABEL" rows: the default RankConfig with these switches changed, one feature group or step each
# ("-x": a part genpage uses, switched off; "+x": one it leaves off by default, switched on).
ABLATIONS: dict[str, dict[str, Any]] = {
    "-semantic": {"use_semantic": False},
    "-co-purchase": {"use_copurchase": False},
    "-repurchase": {"use_repurchase": False},
    "-diversity": {"use_diversity": False},
    "+recency": {"use_recency": True},  # the TIFU-style decayed-frequency shares and the week's trend
}


def ablation_names(ablations: bool | str | Sequence[str]) -> list[str]:
    """The ablation rows to run: True every one, False none; else names (a list, or one comma-separated string)
    stripped of spaces, empty ones dropped, each once in the order given."""
    if isinstance(ablations, bool):
        return list(ABLATIONS) if ablations else []
    names = ablations.split(",") if isinstance(ablations, str) else ablations
    chosen = list(dict.fromkeys(n.strip() for n in names if n.strip()))
    unknown = [n for n in chosen if n not in ABLATIONS]
    if unknown:
        raise ConfigError(f"unknown ablations {unknown}; choose from {', '.join(ABLATIONS)}")
    return chosen


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
    from genpage.rank.ranker import RankConfig, Ranker

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
    ablations: bool | str | Sequence[str] = True,
    timing: bool = True,
    k: int = 10,
    home: Any = None,
    split_kind: str = "last-basket",
) -> dict[str, Any]:
    """Split (`split_kind`: "last-basket" or "global", see `Split.of`), fit every method, evaluate: the JSON
    document of bench/ranking.py plus a printable "table".

    `embed(encoder) -> (items, dim) vectors` lets the caller cache product embeddings (store or .npy)."""
    from genpage.embed.encoder import embed_products, load_encoder
    from genpage.rank.ranker import RankConfig, ablated

    chosen = ablation_names(ablations)

    started = time.perf_counter()
    embed = embed or (lambda enc: embed_products(None, enc, products)[1])
    split = Split.of(events, [p.id for p in products], kind=split_kind)
    if split.held.empty:
        from genpage.errors import GenpageError

        raise GenpageError("no user has two baskets (sessions): nothing to hold out; ingest more history first")
    base_encoder = load_encoder(encoder, home=home)
    base_vectors = embed(base_encoder)
    methods, meta = baseline_methods(split, base_vectors, tune=tune_baselines, k=k) if baselines else ([], {})
    # genpage's own row uses the base encoder: the fine-tuned one did not help on this data (see the
    # "genpage +fine-tuning" row, added when finetune=True), so it is measured, not used by default.
    config = RankConfig()
    main, ranker = genpage_method(split, products, base_encoder, config, item_vectors=base_vectors, users=users, k=k)
    methods.append(main)
    for label in chosen:
        method, _ = genpage_method(split, products, base_encoder, ablated(config, **ABLATIONS[label]),
                                   item_vectors=base_vectors, users=users, name=f"genpage {label}", k=k)
        methods.append(method)
    finetuned_name = None
    if finetune:
        from genpage.embed.finetune import ensure_finetuned

        tuned = ensure_finetuned(split.train, products, base=encoder, home=home, max_pairs=finetune_pairs)
        if tuned is not None:
            finetuned_name = tuned.name
            method, _ = genpage_method(split, products, tuned, config, item_vectors=embed(tuned), users=users,
                                       name="genpage +fine-tuning", k=k)
            methods.append(method)
    results = evaluate_methods(split, methods, base_vectors, k=k)  # diversity always in the base encoder's space
    extra: dict[str, Any] = {
        "encoder": base_encoder.name,
        "finetuned_encoder": finetuned_name,
        "test_users": len(split.held),
        "split": split_kind,
        "baseline_params": meta,
    }
    summary = versus_best_baseline(results, k)
    if summary:
        extra["summary"] = summary
    if timing:
        extra["timings"] = rank_timings(ranker, list(split.held["user_id"]))
    extra["total_seconds"] = time.perf_counter() - started
    doc = results_json(results, extra)
    doc["table"] = format_table(results, k=k)
    return doc


def baseline_methods(split: Split, base_vectors: np.ndarray, *, tune: bool, k: int) -> tuple[list[Method], dict]:
    """The baselines of `genpage.evaluation.baselines` and `nbr_baselines`; ALS, BPR, recent popularity, TIFU-KNN
    and UP-CF@r tuned on a validation split (or at their first grid point), with the chosen parameters and fit
    seconds."""
    from genpage.evaluation import baselines as base_methods
    from genpage.evaluation import nbr_baselines as nbr

    methods = [base_methods.popularity(split), base_methods.rebuy(split), base_methods.item_knn(split),
               base_methods.text_similarity(split, base_vectors)]  # fmt: skip
    meta: dict[str, Any] = {}
    baskets = nbr.Baskets.of(split.train, split.item_ids)  # built once for the next-basket baselines
    validation = nbr.Validation.of(split) if tune else None
    methods.append(nbr.top_freq(baskets))
    for name in ("recent-popularity", "tifu-knn", "up-cf@r"):  # the next-basket reality check's baselines
        t0 = time.perf_counter()
        if validation is not None:
            method, meta[name] = nbr.tuned(name, baskets, validation, base_vectors, k=k)
        else:
            meta[name] = dict(nbr.GRIDS[name][0])
            method = nbr.BUILDERS[name](baskets, meta[name])
        meta[name]["seconds"] = time.perf_counter() - t0
        methods.append(method)
    for kind in ("als", "bpr"):
        t0 = time.perf_counter()
        if tune:
            method, meta[kind] = base_methods.tuned_factor_model(split, base_vectors, kind, k=k)
        else:
            params = dict((base_methods.ALS_GRID if kind == "als" else base_methods.BPR_GRID)[0])
            method, meta[kind] = base_methods.factor_method(f"implicit-{kind}", kind, params, split), params
        meta[kind]["seconds"] = time.perf_counter() - t0
        methods.append(method)
    return methods, meta


def versus_best_baseline(results: dict[str, dict[str, SliceResult]], k: int) -> dict[str, Any]:
    """genpage's NDCG@k over the best baseline's, on all held-out items and on the explore slice ({} without
    baselines)."""
    others = {n: r for n, r in results.items() if not n.startswith("genpage")}
    if not others:
        return {}
    metric = f"ndcg@{k}"
    best = max(others, key=lambda n: others[n]["all"].metrics[metric])
    best_explore = max(others, key=lambda n: others[n]["explore"].metrics.get(metric, 0.0))
    return {
        "best_baseline": best,
        "genpage_vs_best_baseline": results["genpage"]["all"].metrics[metric]
        / max(others[best]["all"].metrics[metric], 1e-12),
        "best_baseline_explore": best_explore,
        "genpage_vs_best_baseline_explore": results["genpage"]["explore"].metrics.get(metric, 0.0)
        / max(others[best_explore]["explore"].metrics.get(metric, 0.0), 1e-12),
    }


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
    from genpage.embed.encoder import embed_products
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
