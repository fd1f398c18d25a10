"""Live events benchmark (issue 14): POST /events throughput with a kill -9 midway, and the per-shopper update.

    python bench/events.py [--seconds 30] [--clients 20] [--batch 20] [--json out.json]

1. Throughput: a genpage server (the real app over a real store, echo text backend) in its own process on
   127.0.0.1; `--clients` threads each POST batches of `--batch` events with their own event ids, for `--seconds`.
   Halfway the server is killed with SIGKILL and started again; a client whose request failed (connection refused
   or reset) sends the same batch again, so an event is "acknowledged" only when a 200 came back. Afterwards every
   acknowledged id must be in the store (`events_lost` counts those that are not), and any answer other than 200
   or a connection failure during the outage counts as an error.
2. update_p50_ms: on the Online Retail store (the README cleaning, as bench/ranking.py loads it), a ranker is
   fitted (hand-set blend: the update touches the History only, not the scorer), then for `--updates` random
   shoppers one purchase is written and `genpage.rank.live.update_users` rebuilds their rows; the median time.

JSON keys: events_per_s, events_lost, errors, acknowledged, retries, outage_s, update_p50_ms, update_p90_ms,
update_p95_ms. `--part update` measures the per-shopper update alone (no server, no 30 s load).
(bench/feedback.py, the simulator, can call `run_throughput` and `run_update` and merge their keys.)
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from datetime import datetime, timedelta
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402

from genpage.schemas import Event, Product, User  # noqa: E402
from genpage.store import Store  # noqa: E402

DEFAULT_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "online-retail" / "online_retail.csv.gz"


# ---------------------------------------------------------------------- the server process
def small_store(path: Path, products: int = 200, users: int = 100) -> None:
    store = Store(path)
    now = datetime(2011, 12, 9)
    store.upsert_products([Product(id=f"P{n:04d}", title=f"Product {n}", category=f"C{n % 10}", price=1.0 + n,
                                   url=f"https://shop.example/p/{n}") for n in range(products)])  # fmt: skip
    store.upsert_users([User(id=f"U{u:04d}") for u in range(users)])
    history = [(f"e{u}-{k}", Event(user_id=f"U{u:04d}", type="purchase", item_id=f"P{(u * 7 + k) % products:04d}",
                                    timestamp=now - timedelta(days=k))) for u in range(users) for k in range(5)]
    store.upsert_events(history)
    store.close()


def serve(db: Path, port: int) -> None:
    """The child process: the preview server's app over `db` (echo backend), on 127.0.0.1:port."""
    import uvicorn

    from genpage.config import Config
    from genpage.engine import Engine
    from genpage.server import create_app

    engine = Engine(Config(db_path=db, backend="echo", device="cpu"))
    uvicorn.run(create_app(engine), host="127.0.0.1", port=port, log_level="warning", access_log=False)


def start_server(db: Path, port: int) -> subprocess.Popen[bytes]:
    process = subprocess.Popen([sys.executable, __file__, "--serve", str(db), "--port", str(port)])
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return process
        except OSError:
            time.sleep(0.05)
    process.kill()
    raise RuntimeError("the server did not start")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# ---------------------------------------------------------------------- 1. throughput with a kill -9
class Tally:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.acked: list[str] = []
        self.errors = 0
        self.retries = 0
        self.error_samples: list[str] = []


def client_loop(k: int, url: str, batch: int, stop: threading.Event, tally: Tally) -> None:
    import httpx

    seq = 0
    with httpx.Client(timeout=10.0) as http:
        while not stop.is_set():
            ids = [f"c{k}-{seq + j}" for j in range(batch)]
            body = [{"id": i, "user_id": f"U{(k * 13 + n) % 100:04d}", "type": "view" if n % 3 else "purchase",
                     "item_id": f"P{(k * 31 + seq + n) % 200:04d}", "timestamp": "2011-12-09T12:00:00"}
                    for n, i in enumerate(ids)]  # fmt: skip
            while not stop.is_set():
                try:
                    answer = http.post(url, json=body)
                except httpx.TransportError:  # the server is down (killed): send the same batch again
                    with tally.lock:
                        tally.retries += 1
                    time.sleep(0.05)
                    continue
                with tally.lock:
                    if answer.status_code == 200:
                        tally.acked.extend(ids)
                    else:
                        tally.errors += 1
                        tally.error_samples.append(f"{answer.status_code} {answer.text[:200]}")
                break
            seq += batch


def run_throughput(seconds: float = 30.0, clients: int = 20, batch: int = 20) -> dict[str, float]:
    folder = Path(tempfile.mkdtemp(prefix="genpage-events-"))
    os.environ["GENPAGE_HOME"] = str(folder / "home")
    db = folder / "shop.sqlite"
    small_store(db)
    port = free_port()
    server = start_server(db, port)
    tally, stop = Tally(), threading.Event()
    threads = [threading.Thread(target=client_loop, args=(k, f"http://127.0.0.1:{port}/events", batch, stop, tally))
               for k in range(clients)]  # fmt: skip
    started = time.perf_counter()
    for t in threads:
        t.start()
    time.sleep(seconds / 2)
    with tally.lock:
        acked_before_kill = list(tally.acked)
    server.send_signal(signal.SIGKILL)
    server.wait()
    killed = time.perf_counter()
    server = start_server(db, port)
    outage = time.perf_counter() - killed
    time.sleep(max(0.0, seconds - (time.perf_counter() - started)))
    stop.set()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - started
    server.send_signal(signal.SIGTERM)
    server.wait(timeout=30)
    store = Store(db, create=False)
    held = {r[0] for r in store.query("SELECT id FROM events WHERE id LIKE 'live:id:%'")}
    store.close()
    lost = [i for i in tally.acked if f"live:id:{i}" not in held]
    lost_before_kill = [i for i in acked_before_kill if f"live:id:{i}" not in held]
    if tally.error_samples:
        print("errors, e.g.:", tally.error_samples[:3], file=sys.stderr)
    return {"events_per_s": round(len(set(tally.acked)) / elapsed, 1), "events_lost": len(lost),
            "events_lost_acked_before_kill": len(lost_before_kill), "acknowledged": len(set(tally.acked)),
            "acknowledged_before_kill": len(acked_before_kill), "errors": tally.errors, "retries": tally.retries,
            "outage_s": round(outage, 2), "seconds": round(elapsed, 1), "clients": clients, "batch": batch}  # fmt: skip


# ---------------------------------------------------------------------- 2. the per-shopper update
def run_update(data: Path, updates: int = 200, seed: int = 0) -> dict[str, float]:
    import importlib.util

    from genpage.config import default_home
    from genpage.embed.encoder import load_encoder
    from genpage.feedback.tracking import parse_events, write_events
    from genpage.rank.live import update_users
    from genpage.rank.ranker import RankConfig, Ranker

    spec = importlib.util.spec_from_file_location("bench_ranking", Path(__file__).with_name("ranking.py"))
    ranking = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    spec.loader.exec_module(ranking)  # type: ignore[union-attr]  # bench/ranking.py: the loader and vector cache
    products, events, users = ranking.load_online_retail(data)
    folder = Path(tempfile.mkdtemp(prefix="genpage-update-"))
    store = Store(folder / "online-retail.sqlite")
    store.upsert_products(products)
    store.upsert_users(users)
    rows = [(f"or{n}", str(r.user_id), "purchase", str(r.item_id), int(r.quantity), float(r.value),
             str(r.timestamp), str(r.session_id)) for n, r in enumerate(events.itertuples(index=False))]  # fmt: skip
    with store.transaction() as conn:  # written as ingest would, without validating 400k rows again
        conn.executemany("INSERT INTO events (id, user_id, type, item_id, quantity, value, timestamp, session_id) "
                         "VALUES (?,?,?,?,?,?,?,?)", rows)  # fmt: skip
    vectors = ranking.cached_vectors(load_encoder("minilm", device="cpu"), products, default_home())
    started = time.perf_counter()
    ranker = Ranker.fit_frame(store.events_frame(), products, None, RankConfig(learned=False), users=users,
                              item_vectors=vectors)  # fmt: skip
    ranker.store = store
    fit_s = time.perf_counter() - started
    rng = np.random.default_rng(seed)
    shoppers = rng.choice(sorted(ranker.history.user_index), size=updates, replace=False)  # type: ignore[union-attr]
    items = rng.choice([p.id for p in products], size=updates)
    times = []
    for n, (uid, item) in enumerate(zip(shoppers, items, strict=True)):
        write_events(store, parse_events([{"id": f"u{n}", "user_id": str(uid), "type": "purchase", "item_id": str(item),
                                           "timestamp": "2011-12-10T12:00:00"}]))  # fmt: skip
        t0 = time.perf_counter()
        update_users(ranker, store, [str(uid)])
        times.append((time.perf_counter() - t0) * 1000)
    store.close()
    return {"update_p50_ms": round(float(np.median(times)), 2),
            "update_p90_ms": round(float(np.percentile(times, 90)), 2),
            "update_p95_ms": round(float(np.percentile(times, 95)), 2), "updates": updates,
            "fit_s": round(fit_s, 1), "events_in_store": len(rows)}  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--batch", type=int, default=20)
    parser.add_argument("--updates", type=int, default=200)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--part", choices=["all", "throughput", "update"], default="all")
    parser.add_argument("--json", type=Path)
    parser.add_argument("--serve", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve:
        serve(args.serve, args.port)
        return 0
    result: dict[str, float] = {}
    if args.part in ("all", "throughput"):
        result.update(run_throughput(args.seconds, args.clients, args.batch))
    if args.part in ("all", "update"):
        result.update(run_update(args.data, args.updates))
    goals = {"events_per_s": ">= 2000", "events_lost": "0", "errors": "0", "update_p50_ms": "<= 50"}
    print(f"{'metric':32} {'value':>12}  goal")
    for key, value in result.items():
        print(f"{key:32} {value:>12}  {goals.get(key, '')}")
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
