"""Ranking benchmark on UCI Online Retail: genpage against standard recommenders, one chronological split.

    python bench/ranking.py --data ../shared/data/online-retail/online_retail.csv.gz [--json out.json]

Holds out every customer's last invoice (customers with >= 2 invoices), fits on everything before, ranks the whole
catalogue. Prints one table (all held-out items | explore slice | cold-item slice) and writes the JSON.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
# bench/ holds other scripts (copy.py ...) that must not shadow the standard library: import from the repo root.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from genpage import baselines  # noqa: E402
from genpage.embed import load_encoder, product_text  # noqa: E402
from genpage.evaluate import Split, evaluate_methods, format_table, genpage_method, results_json  # noqa: E402
from genpage.rank import RankConfig, Ranker, ablated  # noqa: E402
from genpage.schemas import Product, User  # noqa: E402

DEFAULT_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "online-retail" / "online_retail.csv.gz"


def load_online_retail(path: Path) -> tuple[list[Product], pd.DataFrame, list[User]]:
    """README cleaning: a customer, quantity > 0, not cancelled, stock code starting with a digit; basket = invoice."""
    raw = pd.read_csv(path, dtype={"InvoiceNo": str, "StockCode": str, "CustomerID": str, "Description": str})
    keep = (
        raw["CustomerID"].notna()
        & (raw["Quantity"] > 0)
        & ~raw["InvoiceNo"].str.startswith("C")
        & raw["StockCode"].str[0].str.isdigit()
    )
    lines = raw[keep].copy()
    lines["CustomerID"] = lines["CustomerID"].str.replace(r"\.0$", "", regex=True)
    titles = (
        lines.dropna(subset=["Description"])
        .groupby("StockCode")["Description"]
        .agg(lambda s: s.str.strip().value_counts().index[0])
    )
    prices = lines.groupby("StockCode")["UnitPrice"].median()
    products = [
        Product(id=code, title=str(titles.get(code, code)) or code, price=float(max(prices[code], 0.0)))
        for code in sorted(lines["StockCode"].unique())
    ]
    events = pd.DataFrame(
        {
            "user_id": lines["CustomerID"].to_numpy(),
            "type": "purchase",
            "item_id": lines["StockCode"].to_numpy(),
            "quantity": lines["Quantity"].to_numpy(),
            "value": (lines["Quantity"] * lines["UnitPrice"]).to_numpy(),
            "timestamp": pd.to_datetime(lines["InvoiceDate"]).to_numpy(),
            "session_id": lines["InvoiceNo"].to_numpy(),
        }
    )
    countries = lines.groupby("CustomerID")["Country"].agg(lambda s: s.value_counts().index[0])
    users = [User(id=u, country=c) for u, c in countries.items()]
    return products, events, users


def cached_vectors(encoder, products: list[Product], home: Path) -> np.ndarray:
    """Product embeddings, cached as .npy under $GENPAGE_HOME keyed by the encoder and the texts."""
    import hashlib

    texts = [product_text(p) for p in products]
    key = hashlib.sha256(("\n".join(texts) + encoder.name).encode()).hexdigest()[:16]
    path = home / "bench-cache" / f"vectors-{encoder.name.replace('/', '_')}-{key}.npy"
    if path.exists():
        return np.load(path)
    vectors = encoder.encode_documents(texts)
    path.parent.mkdir(parents=True, exist_ok=True)
    np.save(path, vectors)
    return vectors


def timings(ranker: Ranker, users: list[str]) -> dict[str, float]:
    """Warm-ranker latency: one user's whole-catalogue ranking, and 1,000 users in one batch call."""
    ranker.rank(users[:5], k=60)  # warm caches
    one = []
    for uid in users[:50]:
        started = time.perf_counter()
        ranker.rank([uid], k=60)
        one.append(time.perf_counter() - started)
    batch = (users * 2)[:1000]
    started = time.perf_counter()
    ranker.rank(batch, k=60)
    return {"one_user_ms_median": 1000 * float(np.median(one)), "batch_1000_users_s": time.perf_counter() - started}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--json", type=Path, default=None, help="write the results here")
    parser.add_argument("--encoder", default="minilm")
    parser.add_argument(
        "--finetuned",
        default="minilm-finetuned",
        help="fine-tuned encoder name under $GENPAGE_HOME/models (trained by the bench if missing)",
    )
    parser.add_argument("--no-finetune", action="store_true", help="skip the fine-tuned encoder")
    parser.add_argument("--no-ablations", action="store_true")
    parser.add_argument("--quick", action="store_true", help="skip the ALS/BPR grid search (default parameters)")
    parser.add_argument("-v", "--verbose", action="store_true")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, format="%(asctime)s %(message)s")
    if not args.data.exists():
        print(f"data file {args.data} not found", file=sys.stderr)
        return 1
    from genpage.config import default_home

    home = default_home()
    t0 = time.perf_counter()
    products, events, users = load_online_retail(args.data)
    item_ids = [p.id for p in products]
    split = Split.of(events, item_ids)
    print(
        f"{len(events)} lines, {len(users)} users, {len(products)} items; {len(split.held)} test users "
        f"(loaded in {time.perf_counter() - t0:.1f}s)",
        file=sys.stderr,
    )
    encoder = load_encoder(args.encoder)
    base_vectors = cached_vectors(encoder, products, home)

    methods, meta = [], {}
    for build in (baselines.popularity, baselines.rebuy, baselines.item_knn):
        methods.append(build(split))
    methods.append(baselines.text_similarity(split, base_vectors))
    for kind in ("als", "bpr"):
        started = time.perf_counter()
        if args.quick:
            grid = baselines.ALS_GRID if kind == "als" else baselines.BPR_GRID
            method = baselines._factor_method(f"implicit-{kind}", kind, dict(grid[0]), split.train, item_ids)
            meta[kind] = grid[0]
        else:
            method, meta[kind] = baselines.tuned_factor_model(split, base_vectors, kind)
        meta[kind]["tuning_seconds"] = time.perf_counter() - started
        methods.append(method)

    vectors, encoder_used = base_vectors, encoder
    if not args.no_finetune:
        from genpage.finetune import ensure_finetuned

        tuned = ensure_finetuned(split.train, products, base=args.encoder, name=args.finetuned, home=home)
        if tuned is not None:
            encoder_used = tuned
            vectors = cached_vectors(tuned, products, home)
    config = RankConfig()
    gp, ranker = genpage_method(split, products, encoder_used, config, item_vectors=vectors, users=users)
    methods.append(gp)
    if not args.no_ablations:
        for label, switches in (
            ("semantic", {"use_semantic": False}),
            ("co-purchase", {"use_copurchase": False}),
            ("repurchase", {"use_repurchase": False}),
            ("diversity", {"use_diversity": False}),
        ):
            m, _ = genpage_method(
                split,
                products,
                encoder_used,
                ablated(config, **switches),
                item_vectors=vectors,
                users=users,
                name=f"genpage -{label}",
            )
            methods.append(m)
        if encoder_used is not encoder:
            m, _ = genpage_method(
                split, products, encoder, config, item_vectors=base_vectors, users=users, name="genpage -fine-tuning"
            )
            methods.append(m)
    results = evaluate_methods(split, methods, vectors)
    print(format_table(results))
    speed = timings(ranker, list(split.held["user_id"]))
    best = max((r["all"].metrics["ndcg@10"], n) for n, r in results.items() if not n.startswith("genpage"))
    best_explore = max((r["explore"].metrics["ndcg@10"], n) for n, r in results.items() if not n.startswith("genpage"))
    summary = {
        "genpage_vs_best_baseline": results["genpage"]["all"].metrics["ndcg@10"] / best[0],
        "best_baseline": best[1],
        "genpage_vs_best_baseline_explore": results["genpage"]["explore"].metrics["ndcg@10"]
        / max(best_explore[0], 1e-9),
        "best_baseline_explore": best_explore[1],
    }
    print(
        f"\ngenpage NDCG@10 / best baseline ({best[1]}): {summary['genpage_vs_best_baseline']:.3f}x; "
        f"explore / best ({best_explore[1]}): {summary['genpage_vs_best_baseline_explore']:.3f}x"
    )
    print(
        f"timings (2 shared cores, noisy): one user {speed['one_user_ms_median']:.1f} ms, "
        f"1,000 users {speed['batch_1000_users_s']:.2f} s; total {time.perf_counter() - t0:.0f} s"
    )
    doc = results_json(
        results,
        {
            "summary": summary,
            "timings": speed,
            "baseline_params": meta,
            "encoder": encoder_used.name,
            "test_users": len(split.held),
        },
    )
    text = json.dumps(doc, indent=2, default=float)
    if args.json:
        args.json.write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
