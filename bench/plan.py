"""Benchmark the planner: are theme shelves coherent, and does the planned page keep the ranker's relevance?

    python bench/plan.py [--data ../shared/data/online-retail/online_retail.csv.gz] [--users 1500] [--json out.json]

Three data sets, each on the last-basket split (each shopper's latest basket held out, the ranker fitted on
everything else, each test shopper ranked as of their basket's day, a page planned from that ranking): UCI Online
Retail through genpage's own preset, the example shop (examples/shop) and a small electronics shop
(genpage.evaluation.shops). The metrics are `genpage.evaluation.pages.plan_metrics`'s: relevance kept (held-out
items on the planned page against the ranker's plain top-N, N = the page's items, same run), theme coherence (share
of items inside their shelf's theme; embedding similarity against random items of one category and against the
mixed shelf), distinct themes per page.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != HERE]  # bench/copy.py would shadow `copy`
sys.path.insert(0, str(HERE.parent))

from genpage.embed.encoder import load_encoder  # noqa: E402
from genpage.evaluation.pages import online_retail, plan_metrics, planned_pages, shop_folder  # noqa: E402
from genpage.evaluation.shops import write_electronics  # noqa: E402

DEFAULT_DATA = HERE.parents[1] / "shared" / "data" / "online-retail" / "online_retail.csv.gz"
SHOP = HERE.parent / "examples" / "shop"


def print_table(results: list[dict]) -> None:
    keys = [k for k in results[0] if k != "data"]
    print(f"{'':32}" + "".join(f"{r['data']:>16}" for r in results))
    for key in keys:
        cells = "".join(f"{r[key]:>16.3f}" if isinstance(r[key], float) else f"{r[key]:>16}" for r in results)
        print(f"{key:32}{cells}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="the Online Retail CSV (skipped if absent)")
    parser.add_argument("--users", type=int, default=1500, help="test shoppers sampled per data set")
    parser.add_argument("--sections", type=int, default=5)
    parser.add_argument("--items-per-section", type=int, default=6)
    parser.add_argument("--themes", choices=("kind", "category"), default="category")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args(argv)
    encoder = load_encoder("minilm")
    options = {"shoppers": args.users, "sections": args.sections, "items_per_section": args.items_per_section,
               "themes": args.themes}  # fmt: skip
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        data = {"example-shop": lambda: shop_folder(SHOP),
                "electronics": lambda: shop_folder(write_electronics(Path(tmp) / "electronics"))}  # fmt: skip
        if args.data.exists():
            data["online-retail"] = lambda: online_retail(args.data)
        else:
            print(f"{args.data} not found: Online Retail skipped", file=sys.stderr)
        for name, load in data.items():
            started = time.perf_counter()
            pages = planned_pages(name, load(), encoder, **options)
            results.append({**plan_metrics(pages), "seconds": time.perf_counter() - started})
    print_table(results)
    if args.json:
        args.json.write_text(json.dumps({"themes": args.themes, "results": results}, indent=2, default=float))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
