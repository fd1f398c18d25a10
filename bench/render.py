"""Benchmark: render latency of a warm engine, and the preview server under concurrent load.

    python bench/render.py                      # 1,000 Online Retail users, 50 clients for 60 s
    python bench/render.py --duration 10 --json out/render.json

1. Ingests the Online Retail data into a bench store (once; reused on later runs), warms the engine (ranker fitted,
   copy generated and cached for every bench user), then times `genpage.render(user_id)` for each user.
   Baseline in the same run: `render_page(page)` alone on the pages already built (the template's share).
2. Serves the preview app on 127.0.0.1 (uvicorn in a thread of this process, engine warm) and runs a load
   generator in a separate process: N httpx async clients fetching user pages for --duration seconds.
   Baseline in the same run: the same clients on /healthz (the server's own overhead).

Targets (issue 5): render p50 <= 50 ms, p99 <= 150 ms; the server holds 50 clients for 60 s with 0 errors.
"""

from __future__ import annotations

import os
import sys

# `python bench/render.py` puts bench/ first on sys.path, where bench/copy.py would shadow the standard library's
# `copy` module: drop this folder from the path before anything imports it.
sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != os.path.dirname(os.path.abspath(__file__))]

import argparse  # noqa: E402
import asyncio  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "data" / "online-retail" / "online_retail.csv.gz"
TARGETS = {"render_p50_ms": 50.0, "render_p99_ms": 150.0, "serve_errors": 0}


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


# ---------------------------------------------------------------------- the load generator (child process)
async def _load(base: str, paths: list[str], clients: int, duration: float, timeout: float) -> dict:
    import httpx

    latencies: list[float] = []
    errors: list[str] = []
    stop_at = time.perf_counter() + duration
    counter = 0

    async def client_loop(client: httpx.AsyncClient) -> None:
        nonlocal counter
        while time.perf_counter() < stop_at:
            path = paths[counter % len(paths)]
            counter += 1
            started = time.perf_counter()
            try:
                response = await client.get(path)
                if response.status_code != 200:
                    errors.append(f"{path}: HTTP {response.status_code}")
            except httpx.HTTPError as exc:
                errors.append(f"{path}: {type(exc).__name__}: {exc}")
            latencies.append((time.perf_counter() - started) * 1000)

    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    started = time.perf_counter()
    async with httpx.AsyncClient(base_url=base, timeout=timeout, limits=limits) as client:
        await asyncio.gather(*(client_loop(client) for _ in range(clients)))
    elapsed = time.perf_counter() - started
    return {"requests": len(latencies), "seconds": elapsed, "rps": len(latencies) / elapsed,
            "p50_ms": percentile(latencies, 50), "p99_ms": percentile(latencies, 99),
            "errors": len(errors), "error_examples": errors[:5]}


def run_load(base: str, paths: list[str], clients: int, duration: float) -> dict:
    """Run the load generator in its own process (so it does not share this process's GIL with the server)."""
    spec = json.dumps({"base": base, "paths": paths, "clients": clients, "duration": duration})
    proc = subprocess.run([sys.executable, __file__, "--load-client"], input=spec, capture_output=True, text=True,
                          timeout=duration + 120, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"load generator failed: {proc.stderr[-2000:]}")
    return json.loads(proc.stdout)


# ---------------------------------------------------------------------- the bench
def _store_and_users(args: argparse.Namespace):
    from genpage.ingest import ingest
    from genpage.store import Store

    store = Store(args.db)
    if store.counts()["events"] == 0:
        if not args.data.is_file():
            sys.exit(f"bench/render.py: the Online Retail data is not at {args.data} (pass --data)")
        started = time.perf_counter()
        report = ingest(store, args.data, preset="online-retail")
        print(f"ingested in {time.perf_counter() - started:.0f} s: {report.summary()}", file=sys.stderr)
    rows = store.query("SELECT user_id, COUNT(*) n FROM events GROUP BY user_id ORDER BY n DESC, user_id")
    store.close()
    everyone = [r["user_id"] for r in rows]
    step = max(1, len(everyone) // args.users)  # spread over heavy and light users alike
    return everyone[::step][: args.users]


def bench(args: argparse.Namespace) -> dict:
    import genpage

    render_user = genpage.render
    from genpage.config import Config
    from genpage.page import render_page
    from genpage.server import create_app, serve_in_thread

    users = _store_and_users(args)
    engine = genpage.configure(Config.load(db_path=args.db, backend=args.backend, home=args.home))

    started = time.perf_counter()
    pages = []
    for start in range(0, len(users), 100):  # warm: ranker fitted, copy generated and cached for every user
        pages.extend(engine.build_pages(users[start : start + 100]))
    warm_s = time.perf_counter() - started
    print(f"warm-up: {len(users)} users in {warm_s:.1f} s", file=sys.stderr)

    render_ms = []
    for user_id in users:
        t0 = time.perf_counter()
        html = render_user(user_id)
        render_ms.append((time.perf_counter() - t0) * 1000)
        assert html.startswith("<!doctype html>")
    template_ms = []
    for page in pages:
        t0 = time.perf_counter()
        render_page(page)
        template_ms.append((time.perf_counter() - t0) * 1000)
    sources = sorted({s.copy_source for p in pages for s in p.sections})

    app = create_app(engine)
    with serve_in_thread(app) as base:
        paths = [f"/u/{u}" for u in users]
        health = run_load(base, ["/healthz"], args.clients, min(args.duration, 10.0))
        served = run_load(base, paths, args.clients, args.duration)

    return {
        "render_p50_ms": round(statistics.median(render_ms), 2),
        "render_p99_ms": round(percentile(render_ms, 99), 2),
        "serve_rps": round(served["rps"], 1),
        "serve_p99_ms": round(served["p99_ms"], 1),
        "serve_errors": served["errors"],
        "serve_p50_ms": round(served["p50_ms"], 1),
        "serve_requests": served["requests"],
        "serve_error_examples": served["error_examples"],
        "baseline_template_p50_ms": round(statistics.median(template_ms), 3),
        "baseline_template_p99_ms": round(percentile(template_ms, 99), 3),
        "baseline_healthz_rps": round(health["rps"], 1),
        "baseline_healthz_p99_ms": round(health["p99_ms"], 1),
        "users": len(users),
        "clients": args.clients,
        "duration_s": args.duration,
        "warmup_s": round(warm_s, 1),
        "backend": args.backend,
        "copy_sources": sources,
        "cpu": platform.processor() or platform.machine(),
        "cpus": os.cpu_count(),
    }


def print_table(result: dict) -> None:
    rows = [
        ("genpage.render(user) p50", f"{result['render_p50_ms']:.1f} ms", "<= 50 ms"),
        ("genpage.render(user) p99", f"{result['render_p99_ms']:.1f} ms", "<= 150 ms"),
        ("  baseline: render_page(page) p50", f"{result['baseline_template_p50_ms']:.2f} ms", ""),
        ("  baseline: render_page(page) p99", f"{result['baseline_template_p99_ms']:.2f} ms", ""),
        (f"server, {result['clients']} clients, {result['duration_s']:.0f} s: req/s", f"{result['serve_rps']:.1f}", ""),
        ("  p50 / p99", f"{result['serve_p50_ms']:.0f} / {result['serve_p99_ms']:.0f} ms", ""),
        ("  errors", str(result["serve_errors"]), "0"),
        ("  baseline: /healthz req/s", f"{result['baseline_healthz_rps']:.1f}", ""),
    ]
    width = max(len(r[0]) for r in rows)
    print(f"{'measure'.ljust(width)}  {'value':>14}  target")
    for name, value, target in rows:
        print(f"{name.ljust(width)}  {value:>14}  {target}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=DATA, help="the Online Retail CSV (default: ../shared/data)")
    parser.add_argument("--home", type=Path, default=None, help="GENPAGE_HOME for models (default: env / cache)")
    parser.add_argument("--db", type=Path, default=None,
                        help="bench store (default: <home>/bench/online-retail.sqlite, ingested once)")
    parser.add_argument("--users", type=int, default=1000, help="users to render (default 1000)")
    parser.add_argument("--backend", default="echo",
                        help="text backend that fills the copy cache during warm-up (default echo; 'local' runs "
                             "the real generator first, slowly)")
    parser.add_argument("--clients", type=int, default=50, help="concurrent HTTP clients (default 50)")
    parser.add_argument("--duration", type=float, default=60.0, help="seconds of server load (default 60)")
    parser.add_argument("--json", type=Path, default=None, help="write the results as JSON to this file")
    parser.add_argument("--load-client", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.load_client:
        spec = json.loads(sys.stdin.read())
        print(json.dumps(asyncio.run(_load(spec["base"], spec["paths"], spec["clients"], spec["duration"],
                                           timeout=30.0))))
        return 0
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from genpage.config import default_home

    home = args.home or default_home()
    args.home = home
    args.db = args.db or home / "bench" / "online-retail.sqlite"
    result = bench(args)
    print_table(result)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result, indent=2) + "\n")
    ok = (result["render_p50_ms"] <= TARGETS["render_p50_ms"] and result["render_p99_ms"] <= TARGETS["render_p99_ms"]
          and result["serve_errors"] == 0)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
