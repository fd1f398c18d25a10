"""Batch benchmark: a campaign over Online Retail customers, end to end, cold and warm copy cache, local and Ray.

    python bench/batch.py [--users 1000] [--workers 2] [--backend local|echo] [--json out.json]

Ingests ../shared/data/online-retail/online_retail.csv.gz with the `online-retail` preset into a store under
<GENPAGE_HOME>/bench-batch (reused when present), then runs `genpage.batch.run_batch` for the first `--users`
customers of a segment-level Christmas campaign. The ranker is fitted once first (or loaded: a fitted ranker is saved
under <home>/rankers per data version) and that time is reported on its own line; then each run is timed end to
end with a fresh Engine (encoder load, ranker load, generator load, every page ranked, planned, written, rendered):

1. cold: the copy cache emptied first, so every distinct section is written by the model;
2. warm: the same run into a new folder, every section's copy from the cache;
3. ray:  the warm run again on the Ray engine in local mode (`ray.init(num_cpus=cores)`), compared with (2).

The headline is the configured generator (`--backend local`, the default model). `--backend echo` measures the
pipeline without a model; its numbers are labelled as such and are not the headline. Prints a table and writes
`pages`, `pages_per_min_cold`, `pages_per_min_warm`, `peak_rss_mb`, `ray_pages_per_min` (and more) as JSON.
"""

from __future__ import annotations

import sys

if sys.path and sys.path[0].rstrip("/").endswith("bench"):
    sys.path.pop(0)  # bench/copy.py would shadow the standard library's `copy` module

import argparse  # noqa: E402
import json  # noqa: E402
import logging  # noqa: E402
import os  # noqa: E402
import resource  # noqa: E402
import shutil  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from genpage.batch import BatchSummary, run_batch  # noqa: E402
from genpage.config import Config, default_home  # noqa: E402
from genpage.engine import Engine  # noqa: E402
from genpage.schemas import Audience, Campaign  # noqa: E402
from genpage.store import Store  # noqa: E402

DEFAULT_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "online-retail" / "online_retail.csv.gz"
GOAL_PAGES_PER_MIN = 600

CAMPAIGN = Campaign(
    name="Bench Christmas",
    brief="Christmas decorations, candles and lights, and gifts that arrive in time.",
    tone="warm, festive",
    featured_categories=["Christmas", "Candles & Lights"],
    add_sections=["campaign"],
    copy_level="theme",  # one copy per kind of section and theme: what a campaign of thousands of pages wants
    audience=Audience(all=True),
)


def prepare_store(home: Path, data: Path) -> Path:
    """The benchmark store, ingested once and reused."""
    db = home / "bench-batch" / "retail.sqlite"
    if db.exists():
        with Store(db) as store:
            if store.counts()["events"] > 0:
                return db
    if not data.is_file():
        sys.exit(f"the Online Retail data is not at {data}: pass --data")
    from genpage.ingest import ingest

    started = time.perf_counter()
    with Store(db) as store:
        report = ingest(store, data, preset="online-retail")
    logging.getLogger("bench").warning("ingested %s in %.0f s", report.source, time.perf_counter() - started)
    return db


def peak_rss_mb() -> dict[str, float]:
    """Max RSS of this process and of its largest finished child (Linux reports KiB)."""
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return {"self": round(own, 1), "largest_child": round(children, 1)}


def timed_run(config: Config, out: Path, *, users: int, workers: int, batch_size: int, engine_kind: str = "local",
              progress: bool = True, copy_level: str = "theme") -> BatchSummary:
    shutil.rmtree(out, ignore_errors=True)
    engine = Engine(config)
    campaign = CAMPAIGN.model_copy(update={"copy_level": copy_level})
    try:
        return run_batch(engine, campaign, out, limit=users, workers=workers, batch_size=batch_size,
                         engine_kind=engine_kind, progress=progress)
    finally:
        engine.close()


def clear_copy_cache(db: Path) -> int:
    with Store(db) as store:
        removed = store.query("SELECT COUNT(*) FROM copy_cache")[0][0]
        with store.transaction(data=False) as conn:
            conn.execute("DELETE FROM copy_cache")
    return int(removed)


def row(label: str, s: BatchSummary) -> str:
    return (f"{label:<28}{s.pages:>6}{s.failures:>5}{s.wall_seconds:>9.1f}{s.pages_per_min:>10.0f}"
            f"{s.sections:>9}{s.copy_generated:>9}{s.copy_cache:>9}{s.copy_fallback:>9}{s.distinct_copy:>9}")


def run(args: argparse.Namespace) -> dict[str, Any]:
    home = Path(args.home or default_home())
    db = prepare_store(home, args.data)
    config = Config(home=home, db_path=db, backend=args.backend, shop_name="Online Retail",
                    **({"generator": args.generator} if args.generator else {}))
    model = "echo (no model: pipeline only)" if args.backend == "echo" else f"{config.backend}:{config.generator}"
    work = home / "bench-batch" / "runs"
    # The ranker is fitted once per data version and saved under <home>/rankers (as any genpage process does); the
    # runs below load it. Timed here on its own so the runs' figures are read with it in mind.
    started = time.perf_counter()
    fitter = Engine(config)
    fitter.ranker  # noqa: B018 - fit (or load) and save
    fitter.close()
    ranker_s = time.perf_counter() - started
    cleared = clear_copy_cache(db)
    cold = timed_run(config, work / "cold", users=args.users, workers=args.workers, batch_size=args.batch_size,
                     copy_level=args.copy_level,
                     progress=not args.quiet)
    warm = timed_run(config, work / "warm", users=args.users, workers=args.workers, batch_size=args.batch_size,
                     copy_level=args.copy_level,
                     progress=not args.quiet)
    on_ray = None
    if not args.no_ray:
        import ray

        ray.init(num_cpus=args.cores, include_dashboard=False, log_to_driver=False)
        try:
            on_ray = timed_run(config, work / "ray", users=args.users, workers=args.workers,
                               batch_size=args.batch_size, engine_kind="ray", progress=not args.quiet,
                               copy_level=args.copy_level)
        finally:
            ray.shutdown()
    rss = peak_rss_mb()
    header = (f"{'run':<28}{'pages':>6}{'fail':>5}{'wall s':>9}{'pages/min':>10}{'sections':>9}{'new copy':>9}"
              f"{'cached':>9}{'fallback':>9}{'distinct':>9}")
    lines = [f"batch bench: {args.users} Online Retail customers, copy model {model}, {args.workers} workers, "
             f"batch size {args.batch_size}, copy level {args.copy_level}, {os.cpu_count()} CPUs visible", header,
             row("local, cold copy cache", cold), row("local, warm copy cache", warm)]
    if on_ray is not None:
        lines.append(row("ray local mode, warm cache", on_ray))
    goal = "met" if cold.pages_per_min >= GOAL_PAGES_PER_MIN else "NOT met"
    lines.append(f"goal >= {GOAL_PAGES_PER_MIN} pages/min with a cold cache: {goal} ({cold.pages_per_min:.0f})")
    if on_ray is not None and warm.pages_per_min:
        lines.append(f"ray / local (warm): {on_ray.pages_per_min / warm.pages_per_min:.2f}x")
    lines.append(f"distinct sections written by the model (cold): {cold.copy_generated} of {cold.sections} sections "
                 f"({cold.copy_generated / max(cold.pages, 1):.2f} per page)")
    lines.append(f"peak RSS: this process {rss['self']:.0f} MB, largest child process {rss['largest_child']:.0f} MB")
    lines.append(f"ranker fitted (or loaded) once before the runs, which load it from <home>/rankers: {ranker_s:.1f} s")
    print("\n".join(lines))
    return {
        "pages": cold.pages,
        "users": args.users,
        "copy_model": model,
        "headline": args.backend != "echo",
        "workers": args.workers,
        "batch_size": args.batch_size,
        "copy_level": args.copy_level,
        "pages_per_min_cold": round(cold.pages_per_min, 1),
        "pages_per_min_warm": round(warm.pages_per_min, 1),
        "ray_pages_per_min": round(on_ray.pages_per_min, 1) if on_ray is not None else None,
        "ray_vs_local_warm": round(on_ray.pages_per_min / warm.pages_per_min, 3) if on_ray and warm.pages_per_min
        else None,
        "peak_rss_mb": round(rss["self"] + rss["largest_child"], 1),
        "ranker_fit_or_load_s": round(ranker_s, 1),
        "peak_rss_detail_mb": rss,
        "distinct_sections_cold": cold.copy_generated,
        "sections": cold.sections,
        "copy_cache_entries_cleared": cleared,
        "goal_pages_per_min": GOAL_PAGES_PER_MIN,
        "cold": cold.to_dict() | {"failed": dict(list(cold.failed.items())[:5])},
        "warm": warm.to_dict() | {"failed": dict(list(warm.failed.items())[:5])},
        "ray": (on_ray.to_dict() | {"failed": dict(list(on_ray.failed.items())[:5])}) if on_ray else None,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--users", type=int, default=1000, help="customers in the campaign (default 1000)")
    parser.add_argument("--workers", type=int, default=1,
                        help="worker processes / Ray actors (default 1: on 2 cores one process with 2 threads is "
                             "fastest; each worker loads its own models)")
    parser.add_argument("--cores", type=int, default=2, help="CPUs given to Ray in local mode (default 2)")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--copy-level", choices=["theme", "segment", "user"], default="theme",
                        help="the campaign's copy_level (default theme; segment: prompts name each shelf's kinds)")
    parser.add_argument("--backend", default="local", help="copy backend: local (the headline), echo, openai")
    parser.add_argument("--generator", help="generator registry name (default: the configured one)")
    parser.add_argument("--home", type=Path, help="genpage home (default $GENPAGE_HOME)")
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--no-ray", action="store_true", help="skip the Ray comparison")
    parser.add_argument("--quiet", action="store_true", help="no progress bars")
    parser.add_argument("--json", type=Path, help="write the results here")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    result = run(args)
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
