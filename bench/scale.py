"""Scale benchmark: ingest, first page (the ranker fit) and warm pages on Online Retail replicated 1, 4, 16 times.

    python bench/scale.py                              # scales 1, 4, 16 at HEAD
    python bench/scale.py --scales 1,4 --json out/scale.json
    python bench/scale.py --scales 16 --merge out/scale.json --json out/scale.json   # add a scale to a run

Data: the UCI Online Retail CSV (../shared/data/online-retail/online_retail.csv.gz, read through genpage's
`online-retail` preset, as `genpage ingest --preset online-retail` reads it). Scale k is the file followed by k - 1
replicas; replica r (seeded by --seed and r) has new customers (CustomerID + r * 100,000), new invoice numbers
(InvoiceNo-r, a cancellation keeps its leading C), half the stock codes renamed (a seeded half, CODE -> CODERr; the
titles stay, so a renamed code is a new product with an old title) and every date shifted by one seeded whole
number of days in [-60, 60] (never 0). 16 x is 8.7 M lines, about 31 k products, 70 k customers and 6.5 M events
(issue 19's count).
The files are written once under --workdir (default <genpage home>/bench/scale), never into the repository.

Each stage runs in a fresh Python process, so its peak RSS (os.wait4's ru_maxrss of that child) is its own:
1. ingest: `genpage.ingest.ingest(store, file, preset="online-retail")` into a fresh SQLite store.
2. fit: a fresh engine with the `echo` copy backend builds its first page: the ranker is fitted (`Engine.ranker`)
   and saved under the home's rankers/, then one page is built; fit_s is both. The encoder loads only if something
   needs it (a product not yet embedded, a search to embed): `encoder_loaded` says whether it did. The shopper is
   chosen before the clock starts (the bench's own query).
3. page: a fresh engine loads the saved ranker, builds the pages of 200 shoppers (spread from the heaviest to the
   lightest) once to warm the copy cache, then times `genpage.render(user)` for each: p50 / p99.
4. preview: `genpage preview USER --out FILE` in a fresh process (warm store, saved ranker, copy cached): wall time.

By default the stages run on a clean export of HEAD (`git archive`), not on the shared working tree, so the numbers
belong to the commit recorded with each row (`--at worktree` runs the working tree as it is, uncommitted edits and
all). Growth exponents between consecutive scales are log(v2 / v1) / log(s2 / s1): 1.0 is linear in the data.

Timings on a shared machine are noisy: compare rows of the same run (the 1 x row is the baseline of the others).
"""

from __future__ import annotations

import argparse
import gc
import json
import math
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "data" / "online-retail" / "online_retail.csv.gz"
# bench/ holds other scripts (copy.py ...) that must not shadow the standard library; the stages import genpage from
# the tree the parent chose (GENPAGE_SCALE_TREE: a clean export of a commit), else from this checkout.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
sys.path.insert(0, os.environ.get("GENPAGE_SCALE_TREE") or str(REPO))

MAX_SHIFT_DAYS = 60
CUSTOMER_STRIDE = 100_000  # Online Retail's CustomerIDs are 12346..18287
GOALS = {"ingest_peak_gb": "<= 2 at every scale", "fit_s": "<= 180 at 16 x", "fit_peak_gb": "<= 3 at 16 x",
         "ranker_mb": "<= 400 at 16 x", "page_p50_ms": "<= 50 at 1 x; at 16 x <= 1.5 x the 1 x p50"}
EXPONENT_KEYS = ("lines", "events", "ingest_s", "ingest_cpu_s", "ingest_peak_gb", "store_mb", "fit_s", "fit_cpu_s",
                 "fit_peak_gb", "ranker_fit_s", "ranker_mb", "ranker_load_s", "page_p50_ms", "page_p99_ms",
                 "page_cpu_p50_ms", "page_peak_gb", "preview_s")


# ---------------------------------------------------------------------- the replicated files
def replicate(source: Path, target: Path, scale: int, seed: int) -> dict:
    """Write `source` followed by scale - 1 seeded replicas to `target` (plain CSV); skipped when already written."""
    import numpy as np
    import pandas as pd

    meta_path = target.with_suffix(".json")
    meta = {"source": str(source), "source_bytes": source.stat().st_size, "scale": scale, "seed": seed,
            "max_shift_days": MAX_SHIFT_DAYS, "customer_stride": CUSTOMER_STRIDE}
    if target.is_file() and meta_path.is_file():
        done = json.loads(meta_path.read_text())
        if {k: done.get(k) for k in meta} == meta:
            return done
    started = time.perf_counter()
    raw = pd.read_csv(source, dtype=str, keep_default_na=False)
    stamps = pd.to_datetime(raw["InvoiceDate"], format="%Y-%m-%d %H:%M:%S")
    codes = np.array(sorted(raw["StockCode"].unique()))
    customers = sorted(c for c in raw["CustomerID"].unique() if c)
    tmp = target.with_name(f".{target.name}.tmp")
    raw.to_csv(tmp, index=False)
    shifts = []
    for r in range(1, scale):
        rng = np.random.default_rng([seed, r])
        renamed = codes[rng.permutation(len(codes))[: len(codes) // 2]]
        shift = int(rng.choice([d for d in range(-MAX_SHIFT_DAYS, MAX_SHIFT_DAYS + 1) if d]))
        shifts.append(shift)
        code_map = {c: f"{c}R{r}" for c in renamed}
        customer_map = {c: str(int(float(c)) + r * CUSTOMER_STRIDE) for c in customers} | {"": ""}
        copy = raw.copy()
        copy["StockCode"] = raw["StockCode"].map(lambda c, m=code_map: m.get(c, c))
        copy["CustomerID"] = raw["CustomerID"].map(customer_map)
        copy["InvoiceNo"] = raw["InvoiceNo"] + f"-{r}"
        copy["InvoiceDate"] = (stamps + pd.Timedelta(days=shift)).dt.strftime("%Y-%m-%d %H:%M:%S")
        copy.to_csv(tmp, index=False, header=False, mode="a")
        del copy
    os.replace(tmp, target)
    done = {**meta, "lines": len(raw) * scale, "shift_days": shifts, "bytes": target.stat().st_size,
            "build_s": round(time.perf_counter() - started, 1)}
    meta_path.write_text(json.dumps(done, indent=2) + "\n")
    del raw, stamps
    gc.collect()
    return done


# ---------------------------------------------------------------------- the stages (each in its own process)
def _engine(db: Path, home: Path):
    from genpage.config import Config
    from genpage.engine import Engine

    return Engine(Config.load(home=home, db_path=db, backend="echo"))


def stage_ingest(args: argparse.Namespace) -> dict:
    from genpage.ingest import ingest
    from genpage.store import Store

    started = time.perf_counter()
    store = Store(args.db)
    report = ingest(store, args.data, preset="online-retail")
    seconds = time.perf_counter() - started
    counts = store.counts()
    store.close()
    return {"ingest_s": seconds, "counts": counts, "summary": report.summary()}


def stage_fit(args: argparse.Namespace) -> dict:
    engine = _engine(args.db, args.home)
    user = bench_users(engine.store, 1)[0]
    t0 = time.perf_counter()
    engine.ranker  # noqa: B018 - fits, then saves under <home>/rankers/
    t1 = time.perf_counter()
    page = engine.build_page(user)
    t2 = time.perf_counter()
    return {"fit_s": t2 - t0, "ranker_fit_s": t1 - t0, "first_page_build_s": t2 - t1,
            "encoder_loaded": engine._encoder is not None, "first_page_sections": len(page.sections)}


def bench_users(store, count: int) -> list[str]:  # noqa: ANN001 - genpage.store.Store, imported lazily
    """`count` shoppers with events, evenly spread from the heaviest to the lightest (as bench/render.py)."""
    rows = store.query("SELECT user_id, COUNT(*) n FROM events GROUP BY user_id ORDER BY n DESC, user_id")
    everyone = [r["user_id"] for r in rows]
    step = max(1, len(everyone) // count)
    return everyone[::step][:count]


def stage_page(args: argparse.Namespace) -> dict:
    import genpage

    engine = genpage.configure(_engine(args.db, args.home).config)
    t0 = time.perf_counter()
    engine.ranker  # noqa: B018 - loads the ranker the fit stage saved
    ranker_load_s = time.perf_counter() - t0
    users = bench_users(engine.store, args.users)
    t1 = time.perf_counter()
    for start in range(0, len(users), 100):  # warm: copy written and cached for every bench shopper
        engine.build_pages(users[start : start + 100])
    warm_s = time.perf_counter() - t1
    page_ms, cpu_ms = [], []
    for user in users:
        t, c = time.perf_counter(), time.process_time()
        html = genpage.render(user)
        page_ms.append((time.perf_counter() - t) * 1000)
        cpu_ms.append((time.process_time() - c) * 1000)
        if not html.startswith("<!doctype html>"):
            raise RuntimeError(f"render({user!r}) did not return an HTML document")
    rank_ms = [engine.build_page(u).timings_ms["rank_ms"] for u in users]
    return {"ranker_load_s": ranker_load_s, "warmup_s": warm_s, "users": len(users),
            "page_p50_ms": statistics.median(page_ms), "page_p99_ms": percentile(page_ms, 99),
            "page_mean_ms": statistics.fmean(page_ms), "page_cpu_p50_ms": statistics.median(cpu_ms),
            "rank_p50_ms": statistics.median(rank_ms),
            "preview_user": users[len(users) // 2]}


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))]


STAGES = {"ingest": stage_ingest, "fit": stage_fit, "page": stage_page}


def run_child(argv: list[str], env: dict[str, str], cwd: Path, timeout: float) -> tuple[int, dict, str]:
    """Run a process; (exit code, {wall s, CPU s, peak RSS GB (os.wait4's ru_maxrss: its own), load}, stderr tail).

    CPU seconds (user + system, all its threads) say what the stage cost when other jobs share the cores; load is
    the 1-minute load average at its start and end, to judge how shared they were."""
    with tempfile.TemporaryFile() as err:
        load_start = os.getloadavg()[0]
        started = time.perf_counter()
        proc = subprocess.Popen(argv, env=env, cwd=cwd, stdout=subprocess.DEVNULL, stderr=err)
        deadline = started + timeout
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if time.perf_counter() > deadline:
                proc.kill()
                pid, status, usage = os.wait4(proc.pid, 0)
                break
            time.sleep(0.05)
        wall = time.perf_counter() - started
        load = (load_start + os.getloadavg()[0]) / 2
        proc.returncode = os.waitstatus_to_exitcode(status)  # so Popen does not wait for it again
        err.seek(0)
        tail = err.read().decode("utf-8", "replace")[-3000:]
    cost = {"wall_s": wall, "cpu_s": usage.ru_utime + usage.ru_stime, "peak_gb": usage.ru_maxrss / 1024**2,
            "load": load}
    return proc.returncode, cost, tail


def run_stage(stage: str, scale_dir: Path, data: Path, env: dict[str, str], args: argparse.Namespace) -> dict:
    result_file = scale_dir / f"{stage}.json"
    result_file.unlink(missing_ok=True)
    argv = [sys.executable, str(Path(__file__).resolve()), "--stage", stage, "--db", str(scale_dir / "store.sqlite"),
            "--home", str(scale_dir / "home"), "--data", str(data), "--users", str(args.users),
            "--result", str(result_file)]  # fmt: skip
    code, cost, tail = run_child(argv, env, scale_dir, args.timeout)
    if code != 0 or not result_file.is_file():
        raise RuntimeError(f"stage {stage} at {scale_dir.name} failed (exit {code}):\n{tail}")
    out = json.loads(result_file.read_text())
    return out | {f"{stage}_{k}": v for k, v in cost.items()}


def preview(scale_dir: Path, user: str, env: dict[str, str], args: argparse.Namespace) -> dict:
    code = "import sys; from genpage.cli import main; sys.exit(main(sys.argv[1:]))"
    argv = [sys.executable, "-c", code, "preview", user, "--db", str(scale_dir / "store.sqlite"),
            "--home", str(scale_dir / "home"), "--backend", "echo", "--out", str(scale_dir / "preview.html"), "-q"]
    status, cost, tail = run_child(argv, env, scale_dir, args.timeout)
    if status != 0:
        raise RuntimeError(f"genpage preview at {scale_dir.name} failed (exit {status}):\n{tail}")
    return {"preview_s": cost["wall_s"], "preview_cpu_s": cost["cpu_s"], "preview_peak_gb": cost["peak_gb"],
            "preview_load": cost["load"]}


def _size_mb(paths: list[Path]) -> float:
    return sum(p.stat().st_size for p in paths if p.is_file()) / 1e6


def run_scale(scale: int, args: argparse.Namespace, env: dict[str, str], commit: str) -> dict:
    data = args.workdir / "data" / f"online-retail-x{scale}-seed{args.seed}.csv"
    data.parent.mkdir(parents=True, exist_ok=True)
    meta = replicate(args.data, data, scale, args.seed)
    scale_dir = args.workdir / f"x{scale}"
    shutil.rmtree(scale_dir, ignore_errors=True)
    scale_dir.mkdir(parents=True)
    store_files = [scale_dir / f"store.sqlite{s}" for s in ("", "-wal", "-shm")]
    row: dict = {"scale": scale, "commit": commit, "lines": meta["lines"], "csv_mb": meta["bytes"] / 1e6}
    log(f"x{scale}: ingest ({meta['lines']:,} lines)")
    ingest = run_stage("ingest", scale_dir, data, env, args)
    row.update({k: ingest[k] for k in ("ingest_s", "ingest_wall_s", "ingest_cpu_s", "ingest_peak_gb", "ingest_load")})
    row.update(store_mb_after_ingest=_size_mb(store_files),
               events=ingest["counts"]["events"], users=ingest["counts"]["users"],
               products=ingest["counts"]["products"])  # fmt: skip
    log(f"x{scale}: ingest {row['ingest_s']:.1f} s, peak {row['ingest_peak_gb']:.2f} GB; fit (first page)")
    fit = run_stage("fit", scale_dir, data, env, args)
    row.update({k: fit[k] for k in ("fit_s", "encoder_loaded", "ranker_fit_s", "first_page_build_s", "fit_cpu_s",
                                    "fit_peak_gb", "fit_load")})
    row["ranker_mb"] = _size_mb(sorted((scale_dir / "home" / "rankers").glob("*.pkl")))
    log(f"x{scale}: fit {row['fit_s']:.1f} s, peak {row['fit_peak_gb']:.2f} GB, ranker {row['ranker_mb']:.0f} MB; "
        f"pages")
    page = run_stage("page", scale_dir, data, env, args)
    row.update({k: page[k] for k in ("ranker_load_s", "page_p50_ms", "page_p99_ms", "page_mean_ms", "rank_p50_ms",
                                     "page_cpu_p50_ms", "users", "page_peak_gb", "page_load", "warmup_s")})
    row["page_users"] = row.pop("users")
    row["users"] = ingest["counts"]["users"]
    if args.preview:
        row.update(preview(scale_dir, page["preview_user"], env, args))
    row["store_mb"] = _size_mb(store_files)
    if not args.keep_stores:
        for path in [*store_files, scale_dir / "home"]:
            shutil.rmtree(path, ignore_errors=True) if path.is_dir() else path.unlink(missing_ok=True)
    return {k: (round(v, 3) if isinstance(v, float) else v) for k, v in row.items()}


# ---------------------------------------------------------------------- results
def exponents(rows: list[dict]) -> dict[str, dict[str, float]]:
    """log(v2 / v1) / log(s2 / s1) for each measure between consecutive scales."""
    out: dict[str, dict[str, float]] = {}
    ordered = sorted(rows, key=lambda r: r["scale"])
    for low, high in zip(ordered, ordered[1:], strict=False):
        pair = {}
        for key in EXPONENT_KEYS:
            v1, v2 = low.get(key), high.get(key)
            if v1 and v2 and v1 > 0 and v2 > 0:
                pair[key] = round(math.log(v2 / v1) / math.log(high["scale"] / low["scale"]), 3)
        out[f"{low['scale']}-{high['scale']}"] = pair
    return out


TABLE = [  # (heading, key, format)
    ("scale", "scale", "{} x"), ("events M", "events", "{:.2f}"), ("ingest s", "ingest_s", "{:.1f}"),
    ("ingest cpu", "ingest_cpu_s", "{:.1f}"), ("ingest GB", "ingest_peak_gb", "{:.2f}"),
    ("store MB", "store_mb", "{:.0f}"),
    ("fit s", "fit_s", "{:.1f}"), ("ranker s", "ranker_fit_s", "{:.1f}"), ("fit cpu", "fit_cpu_s", "{:.1f}"),
    ("fit GB", "fit_peak_gb", "{:.2f}"), ("ranker MB", "ranker_mb", "{:.0f}"), ("load s", "ranker_load_s", "{:.1f}"),
    ("p50 ms", "page_p50_ms", "{:.1f}"), ("p99 ms", "page_p99_ms", "{:.1f}"), ("cpu p50", "page_cpu_p50_ms", "{:.1f}"),
    ("page GB", "page_peak_gb", "{:.2f}"), ("preview s", "preview_s", "{:.1f}"), ("loadavg", "fit_load", "{:.1f}"),
    ("commit", "commit", "{:.9}"),
]


def print_table(result: dict) -> None:
    """One row per scale (events in millions, loadavg: the machine's 1-minute load during the fit), then exponents."""
    print("  ".join(f"{heading:>10}" for heading, _, _ in TABLE))
    for row in sorted(result["scales"], key=lambda r: r["scale"]):
        values = {**row, "events": row["events"] / 1e6}
        print("  ".join(f"{fmt.format(values[key]) if key in values else '-':>10}" for _, key, fmt in TABLE))
    for pair, values in result["exponents"].items():
        shown = ", ".join(f"{k} {v:.2f}" for k, v in values.items())
        print(f"exponents {pair}: {shown}")


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def source_tree(at: str, workdir: Path) -> tuple[Path | None, str]:
    """(the tree the stages import genpage from, the commit it is). `worktree`: this checkout as it is (None)."""
    head = subprocess.run(["git", "-C", str(REPO), "rev-parse", "HEAD"], capture_output=True, text=True,
                          check=True).stdout.strip()  # fmt: skip
    if at == "worktree":
        dirty = subprocess.run(["git", "-C", str(REPO), "status", "--porcelain", "--", "genpage", "prompts",
                                "templates"], capture_output=True, text=True, check=True).stdout.strip()  # fmt: skip
        return None, head + ("+dirty" if dirty else "")
    commit = subprocess.run(["git", "-C", str(REPO), "rev-parse", at], capture_output=True, text=True,
                            check=True).stdout.strip()  # fmt: skip
    tree = workdir / "trees" / commit
    if not (tree / "genpage" / "__init__.py").is_file():
        tree.mkdir(parents=True, exist_ok=True)
        archive = subprocess.run(["git", "-C", str(REPO), "archive", commit, "genpage", "prompts", "templates",
                                  "pictures", "examples"], capture_output=True, check=True).stdout  # fmt: skip
        subprocess.run(["tar", "-x", "-C", str(tree)], input=archive, check=True)
    return tree, commit


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--scales", default="1,4,16", help="comma-separated replication factors (default 1,4,16)")
    parser.add_argument("--data", type=Path, default=DATA, help="the Online Retail CSV (default: ../shared/data)")
    parser.add_argument("--workdir", type=Path, default=None,
                        help="replicated files, stores and homes (default <genpage home>/bench/scale)")
    parser.add_argument("--seed", type=int, default=0, help="replication seed (default 0)")
    parser.add_argument("--users", type=int, default=200, help="shoppers whose warm page is timed (default 200)")
    parser.add_argument("--at", default="HEAD", help="commit to measure (exported clean), or 'worktree'")
    parser.add_argument("--no-preview", dest="preview", action="store_false", help="skip the CLI preview timing")
    parser.add_argument("--keep-stores", action="store_true", help="keep each scale's store and ranker")
    parser.add_argument("--timeout", type=float, default=3600.0, help="seconds per stage before it is killed")
    parser.add_argument("--merge", type=Path, help="a JSON from an earlier run: its other scales join this table")
    parser.add_argument("--json", type=Path, help="write the results here")
    parser.add_argument("--stage", choices=sorted(STAGES), help=argparse.SUPPRESS)
    parser.add_argument("--db", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--home", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--result", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.stage:
        out = STAGES[args.stage](args)
        import genpage

        out["genpage_file"] = genpage.__file__
        args.result.write_text(json.dumps(out))
        return 0
    if not args.data.is_file():
        sys.exit(f"bench/scale.py: the Online Retail data is not at {args.data} (pass --data)")
    if args.workdir is None:
        from genpage.config import default_home

        args.workdir = default_home() / "bench" / "scale"
    args.workdir = args.workdir.resolve()
    tree, commit = source_tree(args.at, args.workdir)
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    if tree is not None:
        env["GENPAGE_SCALE_TREE"] = str(tree)
        env["PYTHONPATH"] = str(tree)
    rows = []
    for scale in [int(s) for s in args.scales.split(",") if s.strip()]:
        rows.append(run_scale(scale, args, env, commit))
    if args.merge and args.merge.is_file():
        earlier = json.loads(args.merge.read_text())["scales"]
        rows += [r for r in earlier if r["scale"] not in {row["scale"] for row in rows}]
    result = {"scales": sorted(rows, key=lambda r: r["scale"]), "exponents": exponents(rows), "goals": GOALS,
              "machine": {"cpu": platform.processor() or platform.machine(), "cpus": os.cpu_count(),
                          "python": platform.python_version()}}  # fmt: skip
    print_table(result)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
