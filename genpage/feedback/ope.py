"""Off-policy evaluation: the click-through a shelf-order policy would have had, estimated from logged page views.

    pages = store_logs(store)                 # or read_logs("logs.jsonl") / read_logs("logs.csv")
    result = evaluate_policy(pages, get_policy("thompson", store))
    print(result.table())                     # estimator, value, 95 % interval, effective sample size
    save_evaluation(store, result, "store")   # the dashboard shows the last of each policy (last_evaluations)

**What is estimated.** A logged page showed its shelves in an order (the action: the shelves' arms, top first,
`genpage.feedback.bandit.arm_of`) that the logging policy chose with a known probability (the propensity). The
reward of a shelf shown is 1 if it was clicked (any of its items), so a policy's value is its click-through per
shelf shown: the expected share of shown shelves that get a click.

**Estimators.** With w = pi(action | page) / propensity for each page (pi: the candidate policy), R the page's
reward summed over its observed positions and n their number:
- IPS: sum(w R) / sum(n): unbiased when the logging policy gives every order the candidate may choose a propensity
  above zero, but with the weights' variance;
- SNIPS (self-normalised): sum(w R) / sum(w n): a little bias, much less variance;
- DR (doubly robust): a reward model q(arm, position), the mean logged reward of that arm at that position, gives
  each page the value the model expects under the candidate, corrected by the weighted error of the model on what
  was logged: sum(E_pi[Q] + w (R - Q)) / sum(n).
Each comes with a 95 % interval from a bootstrap over pages and the effective sample size (sum w)^2 / sum w^2.

**Support.** The mean weight estimates how much of the candidate's probability falls on orders the logging policy
could have shown. When even its bootstrap upper bound is under `min_support` (the candidate chooses orders the
logs never show, e.g. any reordering judged from `fixed` logs), or the effective sample size is under `min_ess`
pages, the result says it cannot estimate, and why, instead of giving numbers.

**Log files** (JSONL or CSV), one row per shelf shown: `context` (the segment), `action` (the page's order of arms,
"|"-joined), `position` (0 = top), `reward`, `propensity` (of the whole order under the logging policy), optionally
`page_id` (rows of one page view; without it each row is a page of its own) and `shelves` (the planner's order of
the arms, "|"-joined: needed only to evaluate `fixed`).
"""

from __future__ import annotations

import csv
import json
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np

from genpage.errors import GenpageError
from genpage.feedback.bandit import ShelfPolicy, arm_of
from genpage.store import Store, iso_time

logger = logging.getLogger(__name__)

MIN_SUPPORT = 0.9
MIN_ESS = 10.0
LOG_FIELDS = ("context", "action", "position", "reward", "propensity")


class LogsError(GenpageError):
    """Logs that cannot be read: a missing column, a bad value (with the file's line)."""


@dataclass
class LoggedPage:
    """One logged page view: its context (segment), the order shown, the rewards seen per position, the logging
    policy's probability of that order, and the planner's order if known. `pinned`: a campaign fixed the order."""

    context: str
    action: tuple[str, ...]
    rewards: dict[int, float]
    propensity: float
    shelves: tuple[str, ...] | None = None
    pinned: bool = False


@dataclass
class Estimate:
    name: str
    value: float
    low: float
    high: float


@dataclass
class OPEResult:
    policy: str
    pages: int
    rows: int
    logged_value: float  # the logging policy's own click-through, as logged
    ess: float
    support: float  # mean weight: the candidate's probability on orders the logs could show
    support_high: float
    estimates: list[Estimate] = field(default_factory=list)
    message: str = ""  # why it cannot estimate; empty when it can

    @property
    def supported(self) -> bool:
        return not self.message

    def table(self) -> str:
        """The estimates as a text table (or the reason there are none), with the logs' size."""
        lines = [f"policy {self.policy}: {self.pages} logged page views, {self.rows} shelves shown, "
                 f"logged click-through {self.logged_value:.4f}"]  # fmt: skip
        if not self.supported:
            return "\n".join([*lines, f"cannot estimate: {self.message}"])
        lines.append(f"{'estimator':10} {'value':>8}  {'95% CI':>17}  {'ESS':>8}")
        for e in self.estimates:
            lines.append(f"{e.name:10} {e.value:8.4f}  [{e.low:7.4f}, {e.high:7.4f}]  {self.ess:8.1f}")
        return "\n".join(lines)

    def as_dict(self) -> dict[str, Any]:
        return {"policy": self.policy, "pages": self.pages, "rows": self.rows, "logged_value": self.logged_value,
                "ess": self.ess, "support": self.support, "message": self.message,
                "estimates": {e.name: {"value": e.value, "low": e.low, "high": e.high} for e in self.estimates}}


# ---------------------------------------------------------------------- reading logs
def _split(text: Any) -> tuple[str, ...]:
    return tuple(part for part in str(text).split("|") if part)


def pages_from_rows(rows: Iterable[dict[str, Any]], *, source: str = "logs") -> list[LoggedPage]:
    """Logged pages from rows with LOG_FIELDS (and optionally page_id, shelves); rows of one page_id are one page."""
    pages: dict[str, LoggedPage] = {}
    for line, row in enumerate(rows, start=1):
        missing = [f for f in LOG_FIELDS if row.get(f) in (None, "")]
        if missing:
            raise LogsError(f"{source} row {line}: missing {', '.join(missing)} (a row needs {', '.join(LOG_FIELDS)})")
        try:
            position, reward, propensity = int(row["position"]), float(row["reward"]), float(row["propensity"])
        except (TypeError, ValueError) as exc:
            raise LogsError(f"{source} row {line}: position, reward and propensity must be numbers ({exc})") from None
        action = _split(row["action"])
        if not 0.0 < propensity <= 1.0 or reward < 0 or not 0 <= position < len(action):
            raise LogsError(f"{source} row {line}: need 0 < propensity <= 1, reward >= 0 and a position within the "
                            f"action's {len(action)} shelves")  # fmt: skip
        shelves = _split(row["shelves"]) if row.get("shelves") else None
        key = str(row["page_id"]) if row.get("page_id") not in (None, "") else f"\0{line}"
        page = pages.setdefault(key, LoggedPage(str(row["context"]), action, {}, propensity, shelves))
        if page.action != action or page.context != str(row["context"]):
            raise LogsError(f"{source} row {line}: page {key!r} was logged with another context or action before")
        page.rewards[position] = page.rewards.get(position, 0.0) + reward
    return list(pages.values())


def read_logs(path: str | Path) -> list[LoggedPage]:
    """Logged pages from a JSONL or CSV file (see the module docstring)."""
    path = Path(path)
    if not path.is_file():
        raise LogsError(f"no log file at {path}")
    with path.open(encoding="utf-8", newline="") as fh:
        if path.suffix.lower() in (".jsonl", ".ndjson", ".json"):
            rows = []
            for number, text in enumerate(fh, start=1):
                if text.strip():
                    try:
                        rows.append(json.loads(text))
                    except json.JSONDecodeError as exc:
                        raise LogsError(f"{path} line {number}: not JSON ({exc.msg})") from None
        elif path.suffix.lower() in (".csv", ".tsv"):
            rows = list(csv.DictReader(fh, delimiter="\t" if path.suffix.lower() == ".tsv" else ","))
        else:
            raise LogsError(f"{path}: logs must be .jsonl or .csv")
    return pages_from_rows(rows, source=str(path))


def store_logs(store: Store, *, policy: str | None = None) -> list[LoggedPage]:
    """Logged pages from the store's impressions and clicks (one per page_id; a shelf counts as clicked when any of
    its items was), with the planner's order where it was logged (`planned`: what `fixed` needs). A campaign
    page's order was pinned. `policy`: only pages that policy logged."""
    sql = """SELECT i.page_id, MAX(i.segment) segment, MAX(i.campaign) campaign, i.shelf_position,
                    MAX(i.shelf_kind) kind, MAX(COALESCE(i.shelf_theme, '')) theme, MAX(i.propensity) propensity,
                    MAX(i.planned) planned, MAX(CASE WHEN c.page_id IS NULL THEN 0 ELSE 1 END) clicked
             FROM impressions i LEFT JOIN clicks c ON c.page_id = i.page_id AND c.shelf_position = i.shelf_position
             WHERE (? IS NULL OR i.policy = ?)
             GROUP BY i.page_id, i.shelf_position ORDER BY MIN(i.rowid), i.shelf_position"""
    pages: dict[str, tuple[dict[str, Any], list[str], dict[int, float]]] = {}
    for r in store.query(sql, (policy, policy)):
        head, arms, rewards = pages.setdefault(r["page_id"], (dict(r), [], {}))
        arms.append(arm_of(str(r["kind"]), r["theme"]))
        rewards[len(arms) - 1] = float(r["clicked"])
    return [LoggedPage(str(head["segment"] or ""), tuple(arms), rewards, float(head["propensity"]),
                       _split(head["planned"]) if head["planned"] else None, pinned=bool(head["campaign"]))
            for head, arms, rewards in pages.values()]  # fmt: skip


def save_evaluation(store: Store, result: OPEResult, source: str, now: datetime | None = None) -> None:
    """Keep an evaluation in the store (table policy_evaluations): `source` says which logs ("store" or a file)."""
    with store.transaction(data=False) as conn:
        conn.execute("INSERT INTO policy_evaluations (policy, source, created_at, result) VALUES (?,?,?,?)",
                     (result.policy, source, iso_time(now or datetime.now(timezone.utc)),
                      json.dumps(result.as_dict())))  # fmt: skip


def last_evaluations(store: Store) -> list[dict[str, Any]]:
    """The latest saved evaluation of each policy (OPEResult.as_dict() with `source` and `created_at`), by policy."""
    rows = store.query("SELECT policy, source, created_at, result FROM policy_evaluations WHERE id IN "
                       "(SELECT MAX(id) FROM policy_evaluations GROUP BY policy) ORDER BY policy")  # fmt: skip
    return [{**json.loads(r["result"]), "source": r["source"], "created_at": r["created_at"]} for r in rows]


# ---------------------------------------------------------------------- estimating
@dataclass
class _Arrays:
    """Per page: weight, reward sum, reward-model sum on what was logged, its expectation under the candidate, n."""

    weight: np.ndarray
    reward: np.ndarray
    model: np.ndarray
    model_target: np.ndarray
    count: np.ndarray

    def estimates(self, index: np.ndarray | slice = slice(None)) -> tuple[float, float, float]:
        w, r, q, qp, n = (a[index] for a in (self.weight, self.reward, self.model, self.model_target, self.count))
        rows = max(float(n.sum()), 1e-12)
        weighted_rows = float((w * n).sum())
        ips = float((w * r).sum()) / rows
        snips = float((w * r).sum()) / weighted_rows if weighted_rows > 0 else float("nan")
        dr = float((qp + w * (r - q)).sum()) / rows
        return ips, snips, dr


def reward_model(pages: Sequence[LoggedPage]) -> dict[tuple[str, int], float]:
    """The mean logged reward of each (arm, position)."""
    sums: dict[tuple[str, int], list[float]] = {}
    for page in pages:
        for position, reward in page.rewards.items():
            cell = sums.setdefault((page.action[position], position), [0.0, 0.0])
            cell[0] += reward
            cell[1] += 1
    return {key: total / count for key, (total, count) in sums.items()}


def _target(policy: ShelfPolicy, page: LoggedPage, cache: dict) -> dict[tuple[str, ...], float]:
    """The candidate's distribution over orders of this page's shelves."""
    if page.pinned:
        return {page.action: 1.0}
    if policy.name == "fixed" and page.shelves is None:
        raise LogsError("the logs do not record the planner's order of the shelves (`shelves`), which `fixed` "
                        "needs: evaluate fixed from logs that have it")
    arms = page.shelves if page.shelves is not None else tuple(sorted(page.action))
    key = (page.context, arms)
    if key not in cache:
        cache[key] = policy.distribution(page.context, arms)
    return cache[key]


def _arrays(pages: Sequence[LoggedPage], policy: ShelfPolicy) -> _Arrays:
    model = reward_model(pages)
    mean = float(np.mean([r for p in pages for r in p.rewards.values()]))
    cache: dict[tuple[str, tuple[str, ...]], dict[tuple[str, ...], float]] = {}
    expected: dict[tuple, float] = {}  # (target distribution, positions) -> E_target[model]
    out = np.zeros((5, len(pages)))
    for i, page in enumerate(pages):
        target = _target(policy, page, cache)
        positions = tuple(page.rewards)
        key = (tuple(sorted(target.items())), positions)  # by value: a pinned page's dict is new every time
        if key not in expected:
            expected[key] = sum(p * sum(model.get((order[k], k), mean) for k in positions)
                                for order, p in target.items())  # fmt: skip
        out[0, i] = target.get(page.action, 0.0) / page.propensity
        out[1, i] = sum(page.rewards.values())
        out[2, i] = sum(model.get((page.action[k], k), mean) for k in positions)
        out[3, i] = expected[key]
        out[4, i] = len(positions)
    return _Arrays(*out)


def evaluate_policy(pages: Sequence[LoggedPage], policy: ShelfPolicy, *, bootstrap: int = 500, seed: int = 0,
                    min_support: float = MIN_SUPPORT, min_ess: float = MIN_ESS) -> OPEResult:
    """IPS, SNIPS and DR estimates of `policy`'s click-through from logged pages (see the module docstring)."""
    if not pages:
        raise LogsError("no logged page views to evaluate from")
    arrays = _arrays(pages, policy)
    w = arrays.weight
    rng = np.random.default_rng(seed)
    boot = np.array([arrays.estimates(rng.integers(0, len(pages), len(pages))) for _ in range(bootstrap)])
    means = np.array([w[rng.integers(0, len(w), len(w))].mean() for _ in range(bootstrap)])
    ess = float(w.sum() ** 2 / (w**2).sum()) if (w**2).sum() > 0 else 0.0
    result = OPEResult(policy.name, len(pages), int(arrays.count.sum()),
                       float(arrays.reward.sum() / arrays.count.sum()), ess, float(w.mean()),
                       float(np.quantile(means, 0.975)))  # fmt: skip
    if result.support_high < min_support:
        result.message = (f"the policy {policy.name!r} puts about {1 - result.support:.0%} of its probability on "
                          "shelf orders these logs never show (or show too rarely): log pages with policy = "
                          "\"random\" (or thompson, whose epsilon keeps every order possible) first")  # fmt: skip
    elif ess < min_ess:
        result.message = (f"only {ess:.1f} page views' worth of the logs match what {policy.name!r} would show "
                          f"(effective sample size; at least {min_ess:.0f} needed): log more pages first")
    if result.supported:
        point = arrays.estimates()
        for column, name in enumerate(("IPS", "SNIPS", "DR")):
            low, high = np.nanquantile(boot[:, column], [0.025, 0.975])
            result.estimates.append(Estimate(name, point[column], float(low), float(high)))
    return result
