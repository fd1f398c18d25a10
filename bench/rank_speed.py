"""Serving speed of `Ranker.rank` on UCI Online Retail (issue 16's goal: one user <= 20 ms, 1,000 users in one
call <= 5 s from a warm ranker), with a profile of where the time goes and a check that rankings did not change.

    python bench/rank_speed.py [--data ../shared/data/online-retail/online_retail.csv.gz] [--profile]
        [--write-reference ref.npz | --check-reference ref.npz] [--threads 0,1] [--json out.json]

The ranker is fitted once on the last-basket split's training events (as bench/ranking.py fits it) and pickled
under $GENPAGE_HOME/bench-cache, so later runs (and other code versions) rank with the very same fitted ranker.
Timings are taken as `genpage.evaluation.run.rank_timings` takes them (the numbers bench/ranking.py prints): a
warm-up call, then one user per call (median of 50 held-out shoppers) and 1,000 held-out shoppers in one call,
all with k=60 and the ranker's own "now". `--profile` adds cProfile's top functions of a second 1,000-user call.
Each round times every `--threads` setting of `RankConfig.threads` in turn (default "0,1": auto, today's default,
against one thread everywhere, the default before it), so the two are compared under the same load.

`--write-reference` saves, for a fixed set of shoppers (200 held-out shoppers, plus unknown ones), their ranked
lists (item ids, scores, reasons, interests; also with a campaign and a filter) and their whole-catalogue score
rows; `--check-reference` compares against such a file: ids, reasons and interests exactly, scores to 1e-6. Exit
status 1 when they differ.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
# bench/ holds other scripts (copy.py ...) that must not shadow the standard library: import from the repo root.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import argparse  # noqa: E402
import cProfile  # noqa: E402
import dataclasses  # noqa: E402
import hashlib  # noqa: E402
import importlib.util  # noqa: E402
import io  # noqa: E402
import json  # noqa: E402
import pstats  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402

from genpage.rank.ranker import Ranker  # noqa: E402

HERE = Path(__file__).resolve().parent
REFERENCE_USERS = 200


def _bench_ranking():  # bench/ranking.py's loader and embedding cache (a script, not a package)
    spec = importlib.util.spec_from_file_location("bench_ranking", HERE / "ranking.py")
    module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module


def fitted_ranker(data: Path, home: Path, refit: bool) -> tuple[Ranker, list[str]]:
    """The ranker fitted on the last-basket split of `data` (pickled once, loaded after) and the held-out shoppers."""
    from genpage.embed.encoder import load_encoder
    from genpage.evaluation import Split

    bench = _bench_ranking()
    products, events, users = bench.load_online_retail(data)
    split = Split.of(events, [p.id for p in products], kind="last-basket")
    held = sorted(split.held["user_id"].astype(str).unique())
    key = hashlib.sha256(f"{data.resolve()}:{data.stat().st_size}:{len(events)}".encode()).hexdigest()[:12]
    path = home / "bench-cache" / f"rank-speed-ranker-{key}.pkl"
    if path.exists() and not refit:
        ranker = Ranker.load(path, None, None)
        print(f"loaded the fitted ranker {path}", file=sys.stderr)
        return ranker, held
    encoder = load_encoder("minilm", home=home)
    vectors = bench.cached_vectors(encoder, products, home)
    started = time.perf_counter()
    ranker = Ranker.fit_frame(split.train, products, encoder, users=users, item_vectors=vectors)
    print(f"fitted in {time.perf_counter() - started:.0f} s, saved to {path}", file=sys.stderr)
    ranker.save(path)
    return Ranker.load(path, None, None), held


def reference(ranker: Ranker, users: list[str]) -> dict[str, np.ndarray]:
    """The ranked lists and whole-catalogue score rows of `users`, as flat arrays (an .npz file): their lists of 60,
    then the first 40's lists of 30 with a campaign (three products boosted) and a price filter. A shopper the
    history does not know but the shop does (country France) stands for cold start."""
    from genpage.schemas import Campaign, User

    ranker.users = {**ranker.users, "no-such-shopper-1": User(id="no-such-shopper-1", country="France")}
    campaign = Campaign(name="Spring", featured_products=ranker.item_ids[100:103], boost=0.5)
    lists = ranker.rank(users, k=60)
    lists += ranker.rank(users[:40] + users[-2:], k=30, campaign=campaign, filters={"price_max": 5.0})
    rows, ids, scores, kinds, anchors = [], [], [], [], []
    for r, ranked in enumerate(lists):
        for item in ranked.items:
            rows.append(r)
            ids.append(item.item_id)
            scores.append(item.score)
            kinds.append(item.reason.kind)
            anchors.append(str(item.reason.anchor_id))
    known = [u for u in users if u in ranker.history.user_index][:REFERENCE_USERS]  # type: ignore[union-attr]
    matrix, _ = ranker.score_matrix(known)
    explore, _ = ranker.score_matrix(known, explore=True)
    return {
        "users": np.array(users),
        "row": np.array(rows),
        "item_id": np.array(ids),
        "score": np.array(scores),
        "kind": np.array(kinds),
        "anchor": np.array(anchors),
        "cold": np.array([r.cold_start for r in lists]),
        "interests": np.array(["|".join(r.interests) for r in lists]),
        "matrix": matrix,
        "explore": explore,
    }


def compare(saved: dict[str, np.ndarray], now: dict[str, np.ndarray]) -> list[str]:
    """What differs between two `reference` results (empty: the same rankings)."""
    problems = []
    for name in ("users", "row", "item_id", "kind", "anchor", "cold", "interests"):
        if saved[name].shape != now[name].shape or not np.array_equal(saved[name], now[name]):
            problems.append(f"{name} differs")
    for name in ("score", "matrix", "explore"):
        if saved[name].shape != now[name].shape:
            problems.append(f"{name}: shape {saved[name].shape} != {now[name].shape}")
        elif not np.allclose(saved[name], now[name], rtol=0.0, atol=1e-6):
            worst = float(np.nanmax(np.abs(saved[name] - now[name])))
            problems.append(f"{name}: max difference {worst:.3g}")
    return problems


def timings(ranker: Ranker, users: list[str], batch_size: int = 1000) -> dict[str, float]:
    """`rank_timings`' protocol (warm-up, one user per call: median of 50, `batch_size` users in one call), in
    wall-clock and in this process's CPU seconds (less sensitive to the other processes on a shared machine)."""
    ranker.rank(users[:5], k=60)
    wall, cpu = [], []
    for uid in users[:50]:
        w, c = time.perf_counter(), time.process_time()
        ranker.rank([uid], k=60)
        wall.append(time.perf_counter() - w)
        cpu.append(time.process_time() - c)
    batch = (users * (batch_size // max(len(users), 1) + 1))[:batch_size]
    w, c = time.perf_counter(), time.process_time()
    ranker.rank(batch, k=60)
    return {
        "one_user_ms_median": 1000 * float(np.median(wall)),
        f"batch_{batch_size}_users_s": time.perf_counter() - w,
        "one_user_cpu_ms_median": 1000 * float(np.median(cpu)),
        f"batch_{batch_size}_users_cpu_s": time.process_time() - c,
    }


def profile_calls(ranker: Ranker, calls: list[list[str]], top: int) -> str:
    """cProfile's top functions (by own time) over `calls` to Ranker.rank."""
    profiler = cProfile.Profile()
    profiler.enable()
    for users in calls:
        ranker.rank(users, k=60)
    profiler.disable()
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(top)
    return out.getvalue()


def main(argv: list[str] | None = None) -> int:
    bench = _bench_ranking()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=bench.DEFAULT_DATA)
    parser.add_argument("--refit", action="store_true", help="fit again instead of loading the pickled ranker")
    parser.add_argument("--profile", action="store_true", help="cProfile a 1,000-user call (top functions)")
    parser.add_argument("--top", type=int, default=30)
    parser.add_argument("--repeat", type=int, default=1, help="timing rounds (each: 50 single users + 1,000)")
    parser.add_argument("--write-reference", type=Path, default=None)
    parser.add_argument("--check-reference", type=Path, default=None)
    parser.add_argument("--threads", default="0,1", help="RankConfig.threads settings timed in each round")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args(argv)
    from genpage.config import default_home

    ranker, held = fitted_ranker(args.data, default_home(), args.refit)
    settings = [int(t) for t in args.threads.split(",")]
    ranker.config = dataclasses.replace(ranker.config, threads=settings[0])  # the reference is checked with it
    doc: dict = {"load_before": os.getloadavg()}
    users = held[:: max(1, len(held) // REFERENCE_USERS)][:REFERENCE_USERS] + ["no-such-shopper-1", "no-such-2"]
    if args.write_reference or args.check_reference:
        now = reference(ranker, users)
        if args.write_reference:
            np.savez_compressed(args.write_reference, **now)
            print(f"reference of {len(users)} shoppers written to {args.write_reference}", file=sys.stderr)
        if args.check_reference:
            with np.load(args.check_reference) as saved:
                problems = compare(dict(saved), now)
            doc["reference"] = problems or "identical"
            print(f"reference check: {problems or 'identical (ids, reasons exact; scores to 1e-6)'}")
            if problems:
                return 1
    rounds = []
    for i in range(args.repeat):
        for threads in settings:
            ranker.config = dataclasses.replace(ranker.config, threads=threads)
            rounds.append({"round": i, "threads": threads, **timings(ranker, held)})
    ranker.config = dataclasses.replace(ranker.config, threads=settings[0])
    doc["timings"] = rounds
    doc["load_after"] = os.getloadavg()
    print(f"{'round':>5} {'threads':>7} {'one user ms':>12} {'(cpu ms)':>9} {'1,000 users s':>14} {'(cpu s)':>8}")
    for t in rounds:
        print(
            f"{t['round']:>5} {t['threads']:>7} {t['one_user_ms_median']:>12.1f} {t['one_user_cpu_ms_median']:>9.1f} "
            f"{t['batch_1000_users_s']:>14.2f} {t['batch_1000_users_cpu_s']:>8.2f}"
        )
    print(f"load average before {doc['load_before'][0]:.2f}, after {doc['load_after'][0]:.2f} ({os.cpu_count()} cores)")
    if args.profile:
        print("profile: 50 calls of one user")
        print(profile_calls(ranker, [[u] for u in held[:50]], args.top))
        print("profile: one call of 1,000 users")
        print(profile_calls(ranker, [(held * (1000 // len(held) + 1))[:1000]], args.top))
    text = json.dumps(doc, indent=2, default=float)
    if args.json:
        args.json.write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
