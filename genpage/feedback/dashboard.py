"""The feedback dashboard (`/dashboard` on the preview server): what shoppers clicked, what the bandit learned, and
the last off-policy evaluations, as static inline SVG charts (genpage.feedback.charts) with the numbers as tables.

    html = render_dashboard(store, policy="thompson")        # the whole page (templates/dashboard.html.j2)
    view = dashboard_view(store, policy="thompson")          # what the template gets, as plain values

- **Click-through per shelf kind and per position over time**: from the impressions and clicks of the last
  `DASHBOARD_DAYS` days, by day (by hour when they span two days or less). A shelf shown counts once per page
  view and is clicked when any of its items was, as the bandit counts it.
- **The bandit's current shares**: for each segment the Thompson policy has counts for, the chance that each shelf
  kind it has shown there is put on top of a page (`ShelfPolicy.top_shares`), and its posterior mean
  attractiveness (click-through once the shelf is looked at, position bias taken out).
- **The last OPE table**: each policy's latest `genpage evaluate-policy` (genpage.feedback.ope.last_evaluations).

No script: the page keeps the preview server's content security policy. The bench (bench/feedback.py) draws the
same charts with `ctr_chart` and `shares_chart` and writes them as files.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta, timezone
from typing import Any

from genpage.feedback.bandit import ThompsonPolicy, arm_of
from genpage.feedback.charts import line_chart, share_bars
from genpage.feedback.ope import last_evaluations
from genpage.page import render_template
from genpage.store import Store, iso_time

logger = logging.getLogger(__name__)

DASHBOARD_DAYS = 30
MAX_POSITIONS = 6  # positions charted one by one; lower ones are summed as "position 7+"
MAX_SEGMENTS = 12
Series = dict[str, list[tuple[float, float]]]


# ---------------------------------------------------------------------- charts (the dashboard's and the bench's)
def ctr_chart(series: Mapping[str, Sequence[tuple[float, float]]], *, by: str, x_label: str = "day",
              x_format: Callable[[float], str] | None = None, what: str = "") -> str:
    """Click-through (clicked shelves / shelves shown) over time, one line per `by` (shelf kind, position ...)."""
    return line_chart(series, title=f"Click-through per {by}{what}", x_label=x_label, x_format=x_format,
                      y_label="clicked shelves / shown")  # fmt: skip


def shares_chart(shares: Mapping[str, Mapping[str, float]], *, what: str = "") -> str:
    """Per segment, the chance each shelf kind is put on top of the page by the bandit."""
    return share_bars(shares, title=f"Top shelf per segment{what}")


# ---------------------------------------------------------------------- data
def shelf_rows(store: Store, since: datetime) -> list[dict[str, Any]]:
    """Shelves shown since `since`, summed per (hour, arm, position): shown and clicked (any item of the shelf). The
    arm is `arm_of` the logged kind and theme, summed here rather than derived a second way in SQL."""
    rows = store.query(
        """SELECT substr(i.created_at, 1, 13) AS hour, i.shelf_kind AS kind, i.shelf_theme AS theme,
                  i.shelf_position AS position, COUNT(*) AS shown,
                  SUM(EXISTS (SELECT 1 FROM clicks c WHERE c.page_id = i.page_id
                                                      AND c.shelf_position = i.shelf_position)) AS clicked
           FROM impressions i WHERE i.item_position = 0 AND i.created_at >= ?
           GROUP BY hour, kind, theme, position ORDER BY hour""",
        (iso_time(since),),
    )
    summed: dict[tuple[str, str, int], dict[str, Any]] = {}
    for r in rows:
        key = (r["hour"], arm_of(r["kind"], r["theme"]), r["position"])
        row = summed.setdefault(key, {"hour": key[0], "arm": key[1], "position": key[2], "shown": 0, "clicked": 0})
        row["shown"] += r["shown"]
        row["clicked"] += r["clicked"]
    return list(summed.values())


def _buckets(rows: list[dict[str, Any]]) -> tuple[list[str], Callable[[dict[str, Any]], int], str]:
    """The time buckets of the rows (days, or hours over a short span), a row's bucket index, and the unit."""
    hours = sorted({r["hour"] for r in rows})
    days = sorted({h[:10] for h in hours})
    if len(days) <= 2:
        return [h[5:] + "h" for h in hours], lambda r: hours.index(r["hour"]), "hour"
    return [d[5:] for d in days], lambda r: days.index(r["hour"][:10]), "day"


def click_through(rows: list[dict[str, Any]], key: Callable[[dict[str, Any]], str]) -> dict[str, Any]:
    """Click-through over time per `key` of a row: the series (bucket index, CTR), the bucket labels, and a table
    (per key: shown, clicked, CTR over the whole span)."""
    labels, bucket_of, unit = _buckets(rows)
    cells: dict[str, dict[int, list[float]]] = {}
    for r in rows:
        cell = cells.setdefault(key(r), {}).setdefault(bucket_of(r), [0.0, 0.0])
        cell[0] += r["shown"]
        cell[1] += r["clicked"]
    names = sorted(cells, key=lambda n: (-sum(c[0] for c in cells[n].values()), n))
    series = {n: [(float(b), c[1] / c[0]) for b, c in sorted(cells[n].items()) if c[0]] for n in names}
    totals = []
    for n in names:
        shown, clicked = sum(c[0] for c in cells[n].values()), sum(c[1] for c in cells[n].values())
        totals.append({"name": n, "shown": int(shown), "clicked": int(clicked), "ctr": clicked / shown if shown else 0})
    by_bucket = [{"label": labels[b], "values": {n: cells[n].get(b) for n in names}} for b in range(len(labels))]
    return {"series": series, "labels": labels, "unit": unit, "totals": totals, "by_bucket": by_bucket}


def _label_of(labels: list[str]) -> Callable[[float], str]:
    def label(x: float) -> str:
        index = round(x)
        return labels[index] if abs(x - index) < 1e-9 and 0 <= index < len(labels) else ""

    return label


def bandit_state(store: Store) -> list[dict[str, Any]]:
    """Per segment the Thompson policy has counts for (most shown first): each arm's shown, clicks, posterior mean
    attractiveness and share of the top of the page."""
    policy = ThompsonPolicy(store)
    names = {r["id"]: r["name"] for r in store.query("SELECT id, name FROM segments ORDER BY created_at")}
    per_segment: dict[str, dict[str, list[float]]] = {}
    for (segment, arm, _), (shown, clicks) in policy.counts.items():
        cell = per_segment.setdefault(segment, {}).setdefault(arm, [0.0, 0.0])
        cell[0] += shown
        cell[1] += clicks
    out = []
    for segment, arms in sorted(per_segment.items(), key=lambda kv: -sum(c[0] for c in kv[1].values())):
        shares = policy.top_shares(segment, sorted(arms))
        rows = []
        for arm in sorted(arms, key=lambda a: -shares[a]):
            alpha, beta = policy.posterior(segment, arm)
            rows.append({"arm": arm, "shown": int(arms[arm][0]), "clicks": int(arms[arm][1]),
                         "attractiveness": alpha / (alpha + beta), "top_share": shares[arm]})  # fmt: skip
        label = names.get(segment, segment) if segment else "no segment"
        out.append({"segment": label, "arms": rows})
    return out[:MAX_SEGMENTS]


def dashboard_view(store: Store, policy: str = "fixed", *, now: datetime | None = None,
                   days: int = DASHBOARD_DAYS) -> dict[str, Any]:
    """Everything templates/dashboard.html.j2 needs, as plain values (SVG charts as strings)."""
    now = now or datetime.now(timezone.utc)
    rows = shelf_rows(store, now - timedelta(days=days))
    kinds = click_through(rows, lambda r: str(r["arm"]))
    positions = click_through(rows, lambda r: f"position {min(int(r['position']), MAX_POSITIONS) + 1}"
                              + ("+" if int(r["position"]) >= MAX_POSITIONS else ""))  # fmt: skip
    for table, by in ((kinds, "shelf kind"), (positions, "position")):
        table["chart"] = ctr_chart(table["series"], by=by, x_label=table["unit"],
                                   x_format=_label_of(table["labels"])) if rows else ""  # fmt: skip
    bandit = bandit_state(store)
    shares = {s["segment"]: {a["arm"]: a["top_share"] for a in s["arms"]} for s in bandit}
    shown = sum(r["shown"] for r in rows)
    clicked = sum(r["clicked"] for r in rows)
    return {
        "policy": policy, "days": days, "now": iso_time(now),
        "summary": {"shelves": shown, "clicked": clicked, "ctr": clicked / shown if shown else 0.0,
                    "pages": store.query("SELECT COUNT(DISTINCT page_id) FROM impressions WHERE created_at >= ?",
                                         (iso_time(now - timedelta(days=days)),))[0][0]},
        "kinds": kinds, "positions": positions,
        "bandit": bandit, "shares_chart": shares_chart(shares) if shares else "",
        "evaluations": last_evaluations(store),
    }  # fmt: skip


def render_dashboard(store: Store, policy: str = "fixed", *, now: datetime | None = None) -> str:
    """The dashboard page (HTML, no script)."""
    return render_template("dashboard.html.j2", **dashboard_view(store, policy, now=now))
