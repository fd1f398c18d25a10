"""Ingest benchmark (issue 19, part 1): wall time and peak RSS of `ingest(..., preset="online-retail")` as the file
grows, for this checkout and, optionally, a baseline checkout, in the same run.

    python bench/ingest.py [--scales 1 4 16] [--baseline /tmp/ingest-base] [--json out.json] [--workdir DIR]

The Online Retail export (/work/shared/data, or --data) is replicated k times: copy i > 0 has its customer ids and
invoice numbers suffixed with -i, half of its product codes (those whose CRC32 is even) suffixed with -i, and its
dates shifted by i × 400 days; copy 0 is the file as it is. Each (checkout, scale) ingests the file into a fresh
store in its own Python process (so one's peak RSS is not another's), which reports its wall time and
ru_maxrss. The table prints seconds and peak GiB per scale, and the time exponent between successive scales
(log(t2 / t1) / log(s2 / s1)). Others may share the machine: compare the two checkouts' rows, not the absolute
numbers.
"""

from __future__ import annotations

import argparse
import gzip
import json
import math
import os
import subprocess
import sys
import tempfile
import zlib
from pathlib import Path

import pandas as pd

DATA = Path("/work/shared/data/online-retail/online_retail.csv.gz")
ROOT = Path(__file__).resolve().parents[1]

CHILD = """
import json, resource, sys, time
from pathlib import Path
import genpage
from genpage.ingest import ingest
from genpage.store import Store
path, db = sys.argv[1], sys.argv[2]
started = time.perf_counter()
with Store(db) as store:
    report = ingest(store, path, preset="online-retail")
    counts = {t: store.query(f"SELECT COUNT(*) FROM {t}")[0][0] for t in ("products", "users", "events")}
seconds = time.perf_counter() - started
peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"seconds": seconds, "peak_gb": peak_kb / 2**20, "counts": counts,
                  "module": str(Path(genpage.__file__).parent)}))
"""


def replicate(source: Path, scale: int, out: Path) -> Path:
    """Write the export replicated `scale` times to `out` (plain CSV), once; later calls reuse the file."""
    if out.exists():
        return out
    with gzip.open(source, "rt", encoding="utf-8", errors="replace") as fh:
        frame = pd.read_csv(fh, dtype=str, keep_default_na=False)
    dates = pd.to_datetime(frame["InvoiceDate"], format="mixed")
    codes = frame["StockCode"]
    renamed = codes.map(lambda c: zlib.crc32(c.encode()) % 2 == 0)
    part = out.with_suffix(".part")
    with part.open("w", encoding="utf-8", newline="") as fh:
        for copy in range(scale):
            block = frame.copy()
            if copy:
                suffix = f"-{copy}"
                block["CustomerID"] = block["CustomerID"].where(block["CustomerID"] == "", block["CustomerID"] + suffix)
                block["InvoiceNo"] = block["InvoiceNo"] + suffix
                block["StockCode"] = codes.where(~renamed, codes + suffix)
                block["InvoiceDate"] = (dates + pd.Timedelta(days=400 * copy)).dt.strftime("%Y-%m-%d %H:%M:%S")
            block.to_csv(fh, index=False, header=copy == 0)
    part.rename(out)
    return out


def measure(checkout: Path, path: Path, workdir: Path) -> dict[str, object]:
    db = Path(tempfile.mkdtemp(dir=workdir)) / "store.sqlite"
    env = dict(os.environ, PYTHONPATH=str(checkout))
    done = subprocess.run([sys.executable, "-c", CHILD, str(path), str(db)], env=env, cwd=checkout,
                          capture_output=True, text=True, check=False)  # cwd: `-c` puts it first on sys.path
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    db.parent.rmdir()
    if done.returncode:
        return {"error": done.stderr.strip().splitlines()[-1] if done.stderr.strip() else f"exit {done.returncode}"}
    result: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    if Path(str(result["module"])).resolve() != (checkout / "genpage").resolve():
        raise SystemExit(f"the child imported {result['module']}, not {checkout}/genpage")
    return result


def exponent(rows: list[dict[str, object]], i: int) -> str:
    if i == 0 or "seconds" not in rows[i] or "seconds" not in rows[i - 1]:
        return ""
    t1, t2 = float(rows[i - 1]["seconds"]), float(rows[i]["seconds"])  # type: ignore[arg-type]
    s1, s2 = int(rows[i - 1]["scale"]), int(rows[i]["scale"])  # type: ignore[call-overload]
    return f"{math.log(t2 / t1) / math.log(s2 / s1):.2f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scales", type=int, nargs="+", default=[1, 4])
    parser.add_argument("--baseline", type=Path, help="another checkout (e.g. a git worktree of the previous commit)")
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--workdir", type=Path, default=Path(tempfile.gettempdir()) / "genpage-bench-ingest")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    args.workdir.mkdir(parents=True, exist_ok=True)
    checkouts = {"this": ROOT} | ({"baseline": args.baseline.resolve()} if args.baseline else {})
    results: dict[str, list[dict[str, object]]] = {name: [] for name in checkouts}
    print(f"{'checkout':<10} {'scale':>5} {'events':>10} {'seconds':>9} {'peak GiB':>9} {'exponent':>9}")
    for scale in args.scales:
        path = replicate(args.data, scale, args.workdir / f"online_retail_x{scale}.csv")
        for name, checkout in checkouts.items():  # interleaved: both checkouts see the same machine load
            row = {"scale": scale, **measure(checkout, path, args.workdir)}
            results[name].append(row)
            rows = results[name]
            if "error" in row:
                print(f"{name:<10} {scale:>5} failed: {row['error']}", flush=True)
                continue
            events = row["counts"]["events"]  # type: ignore[index]
            print(f"{name:<10} {scale:>5} {events:>10,} {row['seconds']:>9.1f} {row['peak_gb']:>9.2f} "
                  f"{exponent(rows, len(rows) - 1):>9}", flush=True)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
