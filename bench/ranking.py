"""Ranking benchmark on UCI Online Retail: genpage against standard and next-basket baselines, two splits.

    python bench/ranking.py --data ../shared/data/online-retail/online_retail.csv.gz [--split both] [--json out.json]

Data: the lines with a CustomerID, Quantity > 0, an InvoiceNo not starting with "C" (cancellations) and a
StockCode starting with a digit (drops POST, DOT, M, BANK CHARGES and other fee codes); a basket is an invoice.

Splits (`genpage.evaluation.protocol.Split.of`):
- last-basket: every customer with >= 2 invoices has their latest invoice held out; everything else trains,
  including other customers' later events (a leak of the catalogue's future, kept for comparison with earlier runs).
- global: everything before a cut day (the day after 90 % of the purchase lines) trains; every customer with an
  invoice before the cut is tested on their first invoice after it. Nothing from after the cut is seen.
Every time-aware feature and baseline counts only days strictly before the held-out basket's day.

Methods rank the whole catalogue; baselines with hyper-parameters are tuned on a validation split of the training
data (each training customer's latest invoice). Prints one table per split (all held-out items | explore slice |
cold-item slice) and writes {"splits": {"last-basket": {...}, "global": {...}}}. The "genpage -x" rows are genpage
with one feature group or step switched off, "genpage +x" with one it leaves off switched on
(`genpage.evaluation.run.ABLATIONS`; `--ablations=-diversity,+recency` runs some of them, `--no-ablations` none).
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

from genpage.embed.encoder import product_text  # noqa: E402
from genpage.evaluation.run import run_evaluation  # noqa: E402
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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--json", type=Path, default=None, help="write the results here")
    parser.add_argument("--encoder", default="minilm")
    parser.add_argument(
        "--finetune",
        choices=("auto", "yes", "no"),
        default="auto",
        help="fine-tuned encoder: auto = use it when one was trained for this split (see --finetune yes), "
        "yes = train it when missing (minutes on 2 cores), no = base encoder only",
    )
    parser.add_argument("--finetune-pairs", type=int, default=4000)
    parser.add_argument("--no-ablations", action="store_true")
    parser.add_argument("--ablations", default=None,
                        help="comma-separated ablation rows to run, e.g. --ablations=-diversity,+recency "
                        "(default: all of genpage.evaluation.run.ABLATIONS; --ablations= runs none)")
    parser.add_argument("--quick", action="store_true", help="skip the ALS/BPR grid search (first grid point)")
    parser.add_argument("--split", choices=("both", "last-basket", "global"), default="both",
                        help="last-basket: each shopper's latest basket held out; global: everything before a cut "
                        "day trains, each shopper's first basket after it is the test (default: both)")
    parser.add_argument("-v", "--verbose", action="store_true")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, format="%(asctime)s %(message)s")
    if not args.data.exists():
        print(f"data file {args.data} not found", file=sys.stderr)
        return 1
    from genpage.config import default_home

    home = default_home()
    started = time.perf_counter()
    products, events, users = load_online_retail(args.data)
    print(f"{len(events)} lines, {len(users)} users, {len(products)} items", file=sys.stderr)
    splits = ["last-basket", "global"] if args.split == "both" else [args.split]
    docs = {}
    for kind in splits:
        docs[kind] = run_split(kind, args, products, events, users, home)
    doc = {"splits": docs, "total_seconds": time.perf_counter() - started}
    text = json.dumps(doc, indent=2, default=float)
    if args.json:
        args.json.write_text(text)
    print(text)
    return 0


def run_split(kind: str, args: argparse.Namespace, products: list[Product], events: pd.DataFrame,
              users: list[User], home: Path) -> dict:
    """One split's evaluation: prints its table and summary, returns its JSON document."""
    finetune = args.finetune == "yes"
    if args.finetune == "auto":
        from genpage.embed.finetune import finetuned_path
        from genpage.evaluation import Split

        split = Split.of(events, [p.id for p in products], kind=kind)
        finetune = finetuned_path(
            split.train, products, base=args.encoder, home=home, max_pairs=args.finetune_pairs
        ).is_dir()
        if not finetune:
            print(f"{kind}: no fine-tuned encoder for this split yet: run with --finetune yes to train one",
                  file=sys.stderr)
    started = time.perf_counter()
    doc = run_evaluation(
        events,
        products,
        users=users,
        encoder=args.encoder,
        embed=lambda enc: cached_vectors(enc, products, home),
        finetune=finetune,
        finetune_pairs=args.finetune_pairs,
        tune_baselines=not args.quick,
        ablations=False if args.no_ablations else (True if args.ablations is None else args.ablations),
        home=home,
        split_kind=kind,
    )
    table = doc.pop("table")
    print(f"\n== split: {kind} ({doc['test_users']} test shoppers)\n{table}")
    summary, speed = doc.get("summary", {}), doc.get("timings", {})
    print(
        f"\ngenpage NDCG@10 / best baseline ({summary.get('best_baseline')}): "
        f"{summary.get('genpage_vs_best_baseline', 0):.3f}x; explore / best ({summary.get('best_baseline_explore')}): "
        f"{summary.get('genpage_vs_best_baseline_explore', 0):.3f}x"
    )
    print(
        f"Ranker.rank timings (2 shared cores, noisy): one user {speed.get('one_user_ms_median', 0):.1f} ms, "
        f"1,000 users in one call {speed.get('batch_1000_users_s', 0):.2f} s; split total "
        f"{time.perf_counter() - started:.0f} s"
    )
    return doc


if __name__ == "__main__":
    raise SystemExit(main())
