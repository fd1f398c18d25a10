"""Benchmark the feedback loop: does learning the shelf order from clicks pay, and can it be judged from logs?

    python bench/feedback.py [--data ../shared/data/online-retail/online_retail.csv.gz] [--shoppers 2000]
                             [--views 20000] [--json out.json] [--charts out/feedback-charts] [--part bandit|events]

Part `bandit` (the simulator). UCI Online Retail on the last-basket split (`genpage.evaluation.pages`: the ranker
fitted without each shopper's latest basket, a page planned for each sampled test shopper as of that basket's day).
Each page is planned once; a page view is a visit of a shopper drawn at random, whose shelves the policy orders.
The three policies (`fixed`, `thompson`, `random`) see the same sequence of visits, each in its own store, and
learn from their own clicks in batches of `--update-every` views.

Click model (position-based; a shelf counts as clicked when any of its items is):

    P(click item j of the shelf at position k) = SHELF_EXAM(k) * ITEM_EXAM(j) * attractiveness(item)
    SHELF_EXAM(k) = 1 / (k + 1)              (k = 0 at the top)
    ITEM_EXAM(j)  = 0.9 ** j                 (j = 0 the first card of the row)
    attractiveness = 0.5 if the item is in the shopper's real next basket, else 0.01

Segments are the shopper's history: the number of earlier baskets (1, 2-4, 5+). Click-through is clicked shelves /
shelves shown. Reported: click-through over time (windows of `--views / 10`) and over the last half, for the three
policies; then the off-policy estimates (SNIPS, DR: `genpage.feedback.ope`) of the final Thompson policy (its
state read back from its store and frozen) computed from the `random` run's logs, against that policy's on-policy
value (its expected click-through over a fresh `--views` visits, orders drawn from it, no learning).

Bounds (from the simulator's truth, printed beside the ratio; no policy uses them): the expected click-through,
over the same fresh visits, of ordering every page by its arms' true mean attractiveness in its segment (the best any
policy that orders arms per segment can reach, so the most Thompson sampling over (segment, arm) can learn) and of
ordering every page by its own shelves' true attractiveness (knowing the shopper's next basket), each x `fixed`.

Charts (`--charts DIR`, the dashboard's own chart functions, genpage.feedback.dashboard): ctr-over-time.svg (the
three policies), ctr-per-shelf-kind.svg and ctr-per-position.svg (the thompson run, per window of views) and
bandit-shares.svg (the final Thompson state: per segment, the chance each shelf kind is put on top).

Part `events` (bench/events.py's functions, which it still runs alone): POST /events from `--clients` clients for
`--events-seconds` with a kill -9 of the server halfway (events_per_s, events_lost, errors), and the per-shopper
live update on the Online Retail store (update_p50_ms). `--part all` (the default) runs both, so one
`python bench/feedback.py --json FILE` writes every key the issue names.
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

from collections.abc import Callable  # noqa: E402
from dataclasses import dataclass  # noqa: E402  (imports `copy`: after the path is fixed)
from typing import Any  # noqa: E402

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from genpage.feedback.bandit import ShelfFeedback, ShelfPolicy, get_policy, shelf_arm  # noqa: E402
from genpage.feedback.charts import line_chart  # noqa: E402
from genpage.feedback.dashboard import bandit_state, ctr_chart, shares_chart  # noqa: E402
from genpage.feedback.ope import LoggedPage, evaluate_policy  # noqa: E402
from genpage.schemas import Section  # noqa: E402
from genpage.store import Store  # noqa: E402

DEFAULT_DATA = HERE.parents[1] / "shared" / "data" / "online-retail" / "online_retail.csv.gz"
ITEM_DECAY = 0.9
HIT, MISS = 0.5, 0.01
POLICY_NAMES = ("fixed", "thompson", "random")


def shelf_exam(k: int) -> float:
    return 1.0 / (k + 1)


@dataclass
class SimPage:
    """One test shopper's planned page: its segment, shelves (planner order) and, per shelf, its items' click
    probabilities once the shelf is examined (ITEM_EXAM(j) * attractiveness)."""

    segment: str
    sections: list[Section]
    arms: list[str]
    item_probs: list[np.ndarray]  # per shelf: ITEM_EXAM(j) * attractiveness of its items

    def shelf_click_probs(self, order: list[int]) -> np.ndarray:
        """P(the shelf shown at each position is clicked) for the shelves in `order`."""
        return np.array([1.0 - np.prod(1.0 - shelf_exam(k) * self.item_probs[i]) for k, i in enumerate(order)])


def segment_of(baskets: int) -> str:
    return "one basket" if baskets <= 1 else "2-4 baskets" if baskets <= 4 else "5+ baskets"


def simulated_pages(data_path: Path, shoppers: int, seed: int) -> list[SimPage]:
    """Planned pages of `shoppers` test shoppers of Online Retail, with their click probabilities."""
    from genpage.embed.encoder import load_encoder
    from genpage.evaluation.pages import online_retail, planned_pages

    data = online_retail(data_path)
    pages = planned_pages("online-retail", data, load_encoder("minilm"), shoppers=shoppers, seed=seed)
    events = data[1]
    held_at = dict(zip(pages.held["user_id"].astype(str), pd.to_datetime(pages.held["timestamp"]), strict=True))
    before = events[events["user_id"].astype(str).map(held_at) > pd.to_datetime(events["timestamp"])]
    baskets = before.groupby(before["user_id"].astype(str))["session_id"].nunique().to_dict()
    basket = dict(zip(pages.held["user_id"].astype(str), pages.held["items"], strict=True))
    out = []
    for plan in pages.plans:
        wanted = set(basket[plan.user_id])
        probs = [np.array([ITEM_DECAY**j * (HIT if item.product.id in wanted else MISS)
                           for j, item in enumerate(s.items)]) for s in plan.sections]  # fmt: skip
        out.append(SimPage(segment_of(int(baskets.get(plan.user_id, 0))), plan.sections,
                           [shelf_arm(s) for s in plan.sections], probs))  # fmt: skip
    return out


@dataclass
class Run:
    """One policy's simulated views: per view, clicked shelves and shelves shown; its logged pages."""

    clicked: np.ndarray
    shown: np.ndarray
    logs: list[LoggedPage]


def run_policy(policy: ShelfPolicy, pages: list[SimPage], visits: np.ndarray, *, seed: int, update_every: int,
               learn: bool = True) -> Run:
    """Show each visit's page ordered by the policy, draw the clicks, and feed them back every `update_every`."""
    rng = np.random.default_rng(seed)
    clicked, shown = np.zeros(len(visits)), np.zeros(len(visits))
    logs: list[LoggedPage] = []
    pending: dict[str, list[ShelfFeedback]] = {}
    for view, index in enumerate(visits):
        page = pages[index]
        order, probability = policy.choose(page.segment, page.sections, rng=rng)
        clicks = rng.random(len(order)) < page.shelf_click_probs(order)
        clicked[view], shown[view] = clicks.sum(), len(order)
        action = tuple(page.arms[i] for i in order)
        logs.append(LoggedPage(page.segment, action, {k: float(c) for k, c in enumerate(clicks)}, probability,
                               tuple(page.arms)))  # fmt: skip
        pending.setdefault(page.segment, []).extend(
            ShelfFeedback(arm, k, 1.0, float(c)) for k, (arm, c) in enumerate(zip(action, clicks, strict=True)))
        if learn and ((view + 1) % update_every == 0 or view + 1 == len(visits)):
            for segment, rows in pending.items():
                policy.update(segment, rows)
            pending = {}
    return Run(clicked, shown, logs)


def on_policy_value(policy: ShelfPolicy, pages: list[SimPage], visits: np.ndarray, seed: int) -> float:
    """The policy's expected click-through (no learning): orders drawn from it, clicks taken in expectation."""
    rng = np.random.default_rng(seed)
    clicked = shown = 0.0
    for index in visits:
        page = pages[index]
        order, _ = policy.choose(page.segment, page.sections, rng=rng)
        clicked += float(page.shelf_click_probs(order).sum())
        shown += len(order)
    return clicked / shown


def shelf_attractiveness(page: SimPage, shelf: int) -> float:
    """The simulator's own P(the shelf is clicked | shown at the top): what no policy sees."""
    return float(1.0 - np.prod(1.0 - page.item_probs[shelf]))


def ceilings(pages: list[SimPage], visits: np.ndarray) -> dict[str, float]:
    """Reference orders from the simulator's truth, not policies (expected click-through over `visits`):
    `segment_order` sorts every page's shelves by their arm's true mean attractiveness in the page's segment (what
    a policy that orders arms per segment, as the bandit does, aims at; ties keep the planner's order); a heuristic,
    not a proven optimum (the mean is over pages, not visits, and a shelf's click chance is not linear in its
    attractiveness); `page_order` sorts each page's shelves by their own true attractiveness (what knowing each
    shopper's next basket gives)."""
    cells: dict[tuple[str, str], list[float]] = {}
    for page in pages:
        for shelf, arm in enumerate(page.arms):
            cells.setdefault((page.segment, arm), []).append(shelf_attractiveness(page, shelf))
    mean = {key: float(np.mean(values)) for key, values in cells.items()}
    orders: dict[str, Callable[[SimPage], list[int]]] = {
        "fixed": lambda page: list(range(len(page.arms))),
        "segment_order": lambda page: sorted(range(len(page.arms)), key=lambda i: -mean[(page.segment, page.arms[i])]),
        "page_order": lambda page: sorted(range(len(page.arms)), key=lambda i: -shelf_attractiveness(page, i)),
    }
    out = {}
    for name, order_of in orders.items():
        clicked = sum(float(pages[i].shelf_click_probs(order_of(pages[i])).sum()) for i in visits)
        out[name] = clicked / sum(len(pages[i].arms) for i in visits)
    return out


def ctr_windows(run: Run, windows: int) -> list[tuple[float, float]]:
    """(page views so far, click-through within the window) for `windows` equal windows."""
    edges = np.linspace(0, len(run.clicked), windows + 1).astype(int)
    return [(float(hi), float(run.clicked[lo:hi].sum() / max(run.shown[lo:hi].sum(), 1)))
            for lo, hi in zip(edges[:-1], edges[1:], strict=True)]  # fmt: skip


def ctr_windows_by(run: Run, windows: int, key: Callable[[str, int], str]) -> dict[str, list[tuple[float, float]]]:
    """Click-through per `key(arm, position)` of the shelves shown, within `windows` equal windows of views."""
    edges = np.linspace(0, len(run.logs), windows + 1).astype(int)
    series: dict[str, list[tuple[float, float]]] = {}
    for lo, hi in zip(edges[:-1], edges[1:], strict=True):
        cells: dict[str, list[float]] = {}
        for page in run.logs[lo:hi]:
            for position, reward in page.rewards.items():
                cell = cells.setdefault(key(page.action[position], position), [0.0, 0.0])
                cell[0] += 1
                cell[1] += reward
        for name, (shown, clicked) in cells.items():
            series.setdefault(name, []).append((float(hi), clicked / shown))
    return dict(sorted(series.items()))


def write_charts(folder: Path, over_time: dict[str, list[tuple[float, float]]], thompson: Run,
                 shares: dict[str, dict[str, float]]) -> list[Path]:
    """The dashboard's charts, drawn from the simulated runs, as SVG files in `folder`."""
    folder.mkdir(parents=True, exist_ok=True)
    charts = {
        "ctr-over-time.svg": line_chart(over_time, title="Click-through over time (simulated, Online Retail)",
                                        x_label="page views", y_label="clicked shelves / shelves shown"),
        "ctr-per-shelf-kind.svg": ctr_chart(ctr_windows_by(thompson, 10, lambda arm, _: arm), by="shelf kind",
                                            x_label="page views", what=" (thompson, simulated)"),
        "ctr-per-position.svg": ctr_chart(ctr_windows_by(thompson, 10, lambda _, k: f"position {k + 1}"),
                                          by="position", x_label="page views", what=" (thompson, simulated)"),
        "bandit-shares.svg": shares_chart(shares, what=" (thompson, end of the run)"),
    }  # fmt: skip
    for name, svg in charts.items():
        (folder / name).write_text(svg, encoding="utf-8")
    return [folder / name for name in charts]


def bandit_part(args: argparse.Namespace) -> dict[str, Any]:
    """The simulator: click-through of the three policies over time, and OPE of Thompson from random logs."""
    started = time.perf_counter()
    pages = simulated_pages(args.data, args.shoppers, args.seed)
    print(f"planned {len(pages)} pages in {time.perf_counter() - started:.0f} s", file=sys.stderr)
    visits = np.random.default_rng(args.seed).integers(0, len(pages), args.views)
    runs: dict[str, Run] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for number, name in enumerate(POLICY_NAMES):
            with Store(Path(tmp) / f"{name}.sqlite") as store:
                t0 = time.perf_counter()
                runs[name] = run_policy(get_policy(name, store), pages, visits, seed=args.seed + 1 + number,
                                        update_every=args.update_every)  # fmt: skip
                print(f"{name}: {args.views} views in {time.perf_counter() - t0:.0f} s", file=sys.stderr)
        with Store(Path(tmp) / "thompson.sqlite") as store:  # the learned state, read back as a restart would
            final = get_policy("thompson", store)
            shares = {s["segment"]: {a["arm"]: a["top_share"] for a in s["arms"]} for s in bandit_state(store)}
        fresh = np.random.default_rng(args.seed + 10).integers(0, len(pages), args.views)
        t0 = time.perf_counter()
        truth = on_policy_value(final, pages, fresh, args.seed + 11)
        fixed_truth = on_policy_value(get_policy("fixed"), pages, fresh, args.seed + 11)
        ope = evaluate_policy(runs["random"].logs, final, bootstrap=args.bootstrap, seed=args.seed)
        ope_fixed = evaluate_policy(runs["random"].logs, get_policy("fixed"), bootstrap=args.bootstrap, seed=args.seed)
        print(f"on-policy values and OPE in {time.perf_counter() - t0:.0f} s", file=sys.stderr)
    bounds = ceilings(pages, fresh)
    half = args.views // 2
    last_half = {name: float(r.clicked[half:].sum() / r.shown[half:].sum()) for name, r in runs.items()}
    estimates = {e.name: e.value for e in ope.estimates}
    over_time = {name: ctr_windows(r, 10) for name, r in runs.items()}
    charts = write_charts(Path(args.charts), over_time, runs["thompson"], shares) if args.charts else []
    rel = {name: abs(estimates[name] - truth) / truth if name in estimates else float("nan")
           for name in ("SNIPS", "DR")}  # fmt: skip
    return {
        "ctr_ratio_thompson_vs_fixed": last_half["thompson"] / last_half["fixed"],
        "ctr_ratio_thompson_vs_random": last_half["thompson"] / last_half["random"],
        "ope_rel_error_snips": rel["SNIPS"],
        "ope_rel_error_dr": rel["DR"],
        "ctr_last_half": last_half,
        "thompson_on_policy_value": truth,
        "ope_thompson_from_random": ope.as_dict(),
        "fixed_on_policy_value": fixed_truth,
        "ceiling_segment_order_vs_fixed": bounds["segment_order"] / bounds["fixed"],
        "ceiling_page_order_vs_fixed": bounds["page_order"] / bounds["fixed"],
        "thompson_on_policy_vs_fixed": truth / fixed_truth,
        "ope_fixed_from_random": ope_fixed.as_dict(),
        "ctr_over_time": over_time,
        "bandit_top_shares": shares,
        "charts": [str(path) for path in charts],
        "pages": len(pages),
        "views_per_policy": args.views,
        "segments": {s: sum(p.segment == s for p in pages) for s in sorted({p.segment for p in pages})},
        "click_model": {"shelf_exam": "1/(k+1)", "item_exam": f"{ITEM_DECAY}**j", "hit": HIT, "miss": MISS},
        "seconds": time.perf_counter() - started,
    }


def events_part(args: argparse.Namespace) -> dict[str, Any]:
    """bench/events.py's two measures: POST /events throughput with a kill -9 halfway, and the live update."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("bench_events", HERE / "events.py")
    events = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    spec.loader.exec_module(events)  # type: ignore[union-attr]
    result: dict[str, Any] = dict(events.run_throughput(args.events_seconds, args.clients, args.batch))
    result["events_seconds"] = result.pop("seconds")  # the bandit part's "seconds" is its own run time
    result.update(events.run_update(args.data, args.updates))
    return result


PARTS: dict[str, Callable[[argparse.Namespace], dict[str, Any]]] = {"bandit": bandit_part, "events": events_part}
GOALS = {"ctr_ratio_thompson_vs_fixed": ">= 1.2", "ope_rel_error_snips": "<= 0.10", "ope_rel_error_dr": "<= 0.10",
         "events_per_s": ">= 2000", "events_lost": "0", "errors": "0", "update_p50_ms": "<= 50"}


def print_goals(results: dict[str, Any]) -> None:
    print(f"\n{'metric':32} {'value':>12}  goal")
    for key, goal in GOALS.items():
        if key in results:
            value = results[key]
            print(f"{key:32} {value:>12.4g}  {goal}" if isinstance(value, float) else f"{key:32} {value:>12}  {goal}")


def print_bandit(result: dict[str, Any]) -> None:
    print(f"{'click-through':24}" + "".join(f"{name:>10}" for name in POLICY_NAMES))
    for i, (views, _) in enumerate(result["ctr_over_time"]["fixed"]):
        row = "".join(f"{result['ctr_over_time'][n][i][1]:>10.4f}" for n in POLICY_NAMES)
        print(f"{'  up to ' + str(int(views)) + ' views':24}{row}")
    print(f"{'  last half':24}" + "".join(f"{result['ctr_last_half'][n]:>10.4f}" for n in POLICY_NAMES))
    print(f"thompson / fixed over the last half: {result['ctr_ratio_thompson_vs_fixed']:.3f} (goal >= 1.2)")
    print(f"  reference orders (the simulator's truth, over fresh visits), x fixed: arms by true mean per segment "
          f"{result['ceiling_segment_order_vs_fixed']:.3f}, best order per page "
          f"{result['ceiling_page_order_vs_fixed']:.3f}; final thompson frozen "
          f"{result['thompson_on_policy_vs_fixed']:.3f}")
    print(f"\nthompson (final state, frozen): on-policy value {result['thompson_on_policy_value']:.4f}")
    ope = result["ope_thompson_from_random"]
    print(f"OPE from the random run's logs (ESS {ope['ess']:.0f} of {ope['pages']} views) {ope['message']}")
    for name, e in ope["estimates"].items():
        error = abs(e["value"] - result["thompson_on_policy_value"]) / result["thompson_on_policy_value"]
        print(f"  {name:6} {e['value']:.4f}  [{e['low']:.4f}, {e['high']:.4f}]  error {error:6.1%}")
    fixed = result["ope_fixed_from_random"]
    print(f"fixed: on-policy {result['fixed_on_policy_value']:.4f}, from random logs: "
          + ", ".join(f"{n} {e['value']:.4f}" for n, e in fixed["estimates"].items()))  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--part", choices=[*PARTS, "all"], default="all")
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="the Online Retail CSV")
    parser.add_argument("--shoppers", type=int, default=2000, help="test shoppers whose pages are planned")
    parser.add_argument("--views", type=int, default=20000, help="page views per policy")
    parser.add_argument("--update-every", type=int, default=250, help="page views between the policies' updates")
    parser.add_argument("--bootstrap", type=int, default=500)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--charts", default="out/feedback-charts",
                        help="folder for the SVG charts (the dashboard's); '' for none")
    parser.add_argument("--events-seconds", type=float, default=30.0, help="POST /events load, with a kill -9 halfway")
    parser.add_argument("--clients", type=int, default=20, help="concurrent /events clients")
    parser.add_argument("--batch", type=int, default=20, help="events per POST")
    parser.add_argument("--updates", type=int, default=200, help="live updates timed on Online Retail")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args(argv)
    if not args.data.exists():
        print(f"{args.data} not found", file=sys.stderr)
        return 2
    results: dict[str, Any] = {}
    for name, part in PARTS.items():
        if args.part in (name, "all"):
            results.update(part(args))
    if "ctr_over_time" in results:
        print_bandit(results)
    print_goals(results)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2, default=float))
    return 0


if __name__ == "__main__":
    sys.exit(main())
