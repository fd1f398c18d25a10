"""Shelf-order policies: which order a page's shelves are shown in, per shopper segment, learned from clicks.

    policy = get_policy("thompson", store)                    # fixed | thompson | random
    order, probability = policy.choose(segment, plan.sections)
    policy.update(segment, [ShelfFeedback("buy_again", position=0, shown=1, clicks=1), ...])

**Learning live.** Under `genpage serve` a page view adds one showing per shelf to its policy's counts in the same
transaction as its impressions, and the first click on a shelf (an `/r/` link, or a click event tied to the page
view) adds its click in the same transaction as its `clicks` row (genpage.feedback.tracking): each view and click is
counted exactly once, so a restart reads the counts as they were and nothing is replayed. The serving policy
`remember`s the same counts in memory after the commit. What Thompson sampling derives from the counts (the
posteriors, and the grids its probabilities are computed on: tens of milliseconds) is recomputed in batches: once
`REFRESH_COUNTS` showings and clicks have come in, or on the first page `REFRESH_SECONDS` after the last
recomputation; `update` and `reload` recompute at once.

**Arms.** A shelf's arm is its kind ("buy_again", "because_bought", "for_you" ...), or "theme" for a theme shelf
(`arm_of`, the one place it is derived; `shelf_arm` for a Section). Shelves that share an arm are interchangeable
for learning and evaluation, and every policy keeps them in the planner's order among themselves, so an order of
shelves and its sequence of arms (`action_key`: the arms joined by "|") determine each other, and `choose`'s
probability is the probability of that sequence. The planner still decides which shelves (and so which optional
kinds) appear; a policy only orders them.

**Click model (position-based).** A page shows shelf s at position k (0 = top). The shopper examines position k with
probability e(k) and, having looked, clicks the shelf (any of its items) with probability a(arm, segment):

    P(click | arm, k) = e(k) * a(arm, segment)

Each (segment, arm, position) keeps its shown and clicked counts (table `bandit_counts`, migration 007_bandit in
genpage.store). e(k) is estimated from all the counts (alternating ratio estimates of the two factors, e(0) = 1),
starting from `DEFAULT_EXAMINATION`, used as it is until the counts hold `MIN_CLICKS_TO_FIT` clicks. A shelf shown
at k counts as e(k) examinations, so a click at a low position (small e) weighs more than one at the top: the
posterior is

    a(arm, segment) ~ Beta(m * p + clicks, m * (1 - p) + max(sum over its showings of e(k) - clicks, 0))

where p is the arm's pooled rate over all segments (itself Beta(1, 1) updated the same way) and m = `PRIOR_WEIGHT`
examinations: a small segment borrows from the whole shop until its own clicks speak.

**Thompson sampling with bounded exploration.** With probability 1 - epsilon each shelf draws an attractiveness from
its arm's posterior (independent draws) and shelves are sorted by it; with probability epsilon the arms are put in
a uniformly random order. Exploration is bounded on both sides: every order keeps at least epsilon / (number of
distinct orders) probability (so logs can support evaluating other policies), and beyond that the policy explores
only as much as its posterior is still uncertain.

**Probabilities are exact, not sampled.** The chance that independent draws come out in a given order,
P(X1 > X2 > ... > Xn), is computed by a quadrature over a grid of `GRID` bins (`chain_probability`), times the
orderings of shelves that share an arm. Off-policy evaluation divides by these numbers, and a Monte Carlo estimate of
a small probability (1/120 for five shelves) would be off by tens of percent at any affordable number of draws.
"""

from __future__ import annotations

import itertools
import logging
import math
import sqlite3
import threading
import time
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Literal

import numpy as np

from genpage.errors import GenpageError
from genpage.schemas import Section
from genpage.store import Store

logger = logging.getLogger(__name__)

PolicyName = Literal["fixed", "thompson", "random"]
POLICIES: tuple[str, ...] = ("fixed", "thompson", "random")
DEFAULT_EXAMINATION = (1.0, 0.7, 0.5, 0.38, 0.3, 0.25, 0.21, 0.18, 0.16, 0.14, 0.13, 0.12)
MIN_CLICKS_TO_FIT = 200  # clicks in the counts before e(k) is estimated instead of taken from the default
PRIOR_WEIGHT = 20.0  # examinations a segment's prior is worth (borrowed from the arm's rate over all segments)
EPSILON = 0.05
GRID = 4096
MAX_ENUMERATED = 720  # distinct orders enumerated exactly by `distribution`; more are sampled
REFRESH_COUNTS = 1000.0  # remembered showings + clicks after which the derived state is recomputed
REFRESH_SECONDS = 2.0  # ... or the first page this long after the last recomputation


class PolicyError(GenpageError):
    """An unknown policy name, or a policy asked for something it cannot give."""


def arm_of(kind: str, theme: object = None) -> str:
    """What a shelf is to the policies, from its kind and theme as they are logged (the impressions' shelf_kind and
    shelf_theme): "theme" for a theme shelf (any theme key), else its kind. The only place an arm is derived."""
    return "theme" if theme else str(kind)


def shelf_theme(section: Section) -> str | None:
    """The theme key a shelf is logged with: its theme's key for a theme shelf, None for an intent shelf."""
    return section.theme.key if section.shelf == "theme" and section.theme is not None else None


def shelf_arm(section: Section) -> str:
    """What a shelf is to the policies (`arm_of` its kind and logged theme)."""
    return arm_of(section.kind, shelf_theme(section))


def action_key(arms: Sequence[str]) -> str:
    """An order of arms as one string (the impressions' `action`): the arms joined by "|"."""
    return "|".join(arms)


def canonical_order(arms: Sequence[str], chosen: Sequence[int]) -> list[int]:
    """The order `chosen` with shelves that share an arm put back in the planner's order among themselves."""
    queues: dict[str, list[int]] = {}
    for index, arm in enumerate(arms):
        queues.setdefault(arm, []).append(index)
    return [queues[arms[i]].pop(0) for i in chosen]


def order_for(arms: Sequence[str], action: Sequence[str]) -> list[int]:
    """The shelf indices (planner order) that show the arms in the order `action` (same multiset of arms)."""
    if sorted(arms) != sorted(action):
        raise PolicyError(f"the order {action_key(action)!r} does not show the shelves {action_key(arms)!r}")
    queues: dict[str, list[int]] = {}
    for index, arm in enumerate(arms):
        queues.setdefault(arm, []).append(index)
    return [queues[arm].pop(0) for arm in action]


def distinct_orders(arms: Sequence[str]) -> int:
    """How many distinct arm sequences the shelves can be shown in: n! / (product of each arm's count!)."""
    counts = Counter(arms).values()
    return math.factorial(len(arms)) // math.prod(math.factorial(c) for c in counts)


@dataclass(frozen=True)
class ShelfFeedback:
    """What one page view says about one shelf: shown at `position` (`shown` times), clicked `clicks` times. A
    real-time click alone is ShelfFeedback(arm, position, shown=0, clicks=1) after its impression was counted."""

    arm: str
    position: int
    shown: float = 1.0
    clicks: float = 0.0

    @classmethod
    def of(cls, row: ShelfFeedback | Mapping[str, Any]) -> ShelfFeedback:
        """From a ShelfFeedback or a row with arm (or shelf_kind and shelf_theme), position (or shelf_position),
        shown (default 1) and clicks (or clicked)."""
        if isinstance(row, ShelfFeedback):
            return row
        arm = row.get("arm") or arm_of(row["shelf_kind"], row.get("shelf_theme"))
        position = row["position"] if "position" in row else row["shelf_position"]
        clicks = row["clicks"] if "clicks" in row else row.get("clicked", 0)
        return cls(str(arm), int(position), float(row.get("shown", 1)), float(clicks or 0))


def tally(segment: str, rows: Iterable[ShelfFeedback | Mapping[str, Any]]) -> dict[tuple[str, str, int], list[float]]:
    """Feedback rows of one segment summed per (segment, arm, position) -> [shown, clicks]."""
    added: dict[tuple[str, str, int], list[float]] = {}
    for row in rows:
        fb = ShelfFeedback.of(row)
        cell = added.setdefault((segment, fb.arm, fb.position), [0.0, 0.0])
        cell[0] += fb.shown
        cell[1] += fb.clicks
    return added


def write_counts(conn: sqlite3.Connection, policy: str, added: Mapping[tuple[str, str, int], Sequence[float]]) -> None:
    """Add (segment, arm, position) -> (shown, clicks) to `policy`'s rows of bandit_counts, inside the caller's
    transaction (the store's `transaction(data=False)`)."""
    now = datetime.now(timezone.utc).isoformat()
    conn.executemany(
        """INSERT INTO bandit_counts VALUES (?,?,?,?,?,?,?) ON CONFLICT(policy, segment, arm, position)
           DO UPDATE SET shown = shown + excluded.shown, clicks = clicks + excluded.clicks,
           updated_at = excluded.updated_at""",
        [(policy, seg, arm, pos, shown, clicks, now) for (seg, arm, pos), (shown, clicks) in added.items()],
    )


# ---------------------------------------------------------------------- the policies
class ShelfPolicy:
    """Orders a page's shelves. Subclasses give `_probabilities` and `_draw`; counts are kept for every policy
    (a dashboard shows them), and learned from only by Thompson sampling."""

    name: str = ""

    def __init__(self, store: Store | None = None):
        self.store = store
        self.counts: dict[tuple[str, str, int], list[float]] = {}  # (segment, arm, position) -> [shown, clicks]
        self.lock = threading.RLock()  # the counts change under a live server while other threads choose orders
        self._pending, self._refreshed = 0.0, time.monotonic()  # remembered since the derived state was computed
        if store is not None:
            self.reload()

    # -------------------------------------------------------------- state
    def reload(self) -> None:
        """Read the counts from the store (another process may have written them)."""
        if self.store is None:
            return
        rows = self.store.query("SELECT segment, arm, position, shown, clicks FROM bandit_counts WHERE policy = ?",
                                (self.name,))  # fmt: skip
        with self.lock:
            self.counts = {(r["segment"], r["arm"], int(r["position"])): [float(r["shown"]), float(r["clicks"])]
                           for r in rows}  # fmt: skip
            self._changed()

    def update(self, segment: str, rows: Iterable[ShelfFeedback | Mapping[str, Any]]) -> None:
        """Add page views' feedback for `segment` to the counts, in the store (one transaction) and in memory."""
        added = tally(segment, rows)
        if not added:
            return
        if self.store is not None:
            with self.store.transaction(data=False) as conn:
                write_counts(conn, self.name, added)
        with self.lock:
            self.remember(added)
            self._changed()  # an explicit update is learned from at once

    def remember(self, added: Mapping[tuple[str, str, int], Sequence[float]]) -> None:
        """Add counts (segment, arm, position) -> (shown, clicks) in memory only: their store rows were written by
        whoever logged them (`write_counts`, in the transaction of the impressions or the click)."""
        if not added:
            return
        with self.lock:
            for key, (shown, clicks) in added.items():
                cell = self.counts.setdefault(key, [0.0, 0.0])
                cell[0] += shown
                cell[1] += clicks
                self._pending += shown + clicks
            self._refresh_if_due()

    def _refresh_if_due(self) -> None:
        """Recompute what is derived from the counts once REFRESH_COUNTS came in or REFRESH_SECONDS went by."""
        if self._pending and (self._pending >= REFRESH_COUNTS
                              or time.monotonic() - self._refreshed >= REFRESH_SECONDS):  # fmt: skip
            self._changed()

    def _changed(self) -> None:
        """The counts changed: drop what was derived from them."""
        self._pending, self._refreshed = 0.0, time.monotonic()

    # -------------------------------------------------------------- choosing
    def choose(self, segment: str, shelves: Sequence[Section], *, pinned: bool = False,
               rng: np.random.Generator | None = None) -> tuple[list[int], float]:
        """The order to show `shelves` in (a permutation of their indices) and its probability under this policy.
        `pinned` (a campaign's page): the planner's order, probability 1."""
        arms = [shelf_arm(s) for s in shelves]
        if pinned or len(arms) < 2:
            return list(range(len(arms))), 1.0
        with self.lock:
            self._refresh_if_due()
            order = canonical_order(arms, self._draw(segment, arms, rng or np.random.default_rng()))
            return order, self.probability(segment, arms, [arms[i] for i in order])

    def probability(self, segment: str, arms: Sequence[str], action: Sequence[str]) -> float:
        """The probability that the policy shows shelves with these arms (planner order) in the order `action`."""
        if len(arms) < 2:
            return 1.0 if list(arms) == list(action) else 0.0
        if sorted(arms) != sorted(action):
            return 0.0
        with self.lock:
            return self._probability(segment, list(arms), list(action))

    def distribution(self, segment: str, arms: Sequence[str], *, rng: np.random.Generator | None = None,
                     samples: int = 4000) -> dict[tuple[str, ...], float]:
        """Every order of the arms the policy may choose, with its probability: exact by enumeration up to
        MAX_ENUMERATED distinct orders, else the frequencies of `samples` draws."""
        arms = list(arms)
        if len(arms) < 2:
            return {tuple(arms): 1.0}
        with self.lock:
            return self._distribution(segment, arms, rng, samples)

    def _distribution(self, segment: str, arms: list[str], rng: np.random.Generator | None,
                      samples: int) -> dict[tuple[str, ...], float]:
        if distinct_orders(arms) <= MAX_ENUMERATED:
            orders = set(itertools.permutations(arms))
            return {order: p for order in orders if (p := self._probability(segment, arms, list(order))) > 0}
        rng = rng or np.random.default_rng(0)
        drawn = Counter(tuple(arms[i] for i in canonical_order(arms, self._draw(segment, arms, rng)))
                        for _ in range(samples))  # fmt: skip
        return {order: n / samples for order, n in drawn.items()}

    def top_shares(self, segment: str, arms: Sequence[str]) -> dict[str, float]:
        """For distinct `arms` (planner order): the probability that each is put first, i.e. the share of such page
        views whose top shelf it would be (what the dashboard shows of a policy's state)."""
        arms = list(dict.fromkeys(arms))
        shares = dict.fromkeys(arms, 0.0)
        for order, p in self.distribution(segment, arms).items():
            shares[order[0]] += p
        return shares

    def _draw(self, segment: str, arms: list[str], rng: np.random.Generator) -> list[int]:
        raise NotImplementedError

    def _probability(self, segment: str, arms: list[str], action: list[str]) -> float:
        raise NotImplementedError


class FixedPolicy(ShelfPolicy):
    """Today's order: the planner's."""

    name = "fixed"

    def _draw(self, segment: str, arms: list[str], rng: np.random.Generator) -> list[int]:
        return list(range(len(arms)))

    def _probability(self, segment: str, arms: list[str], action: list[str]) -> float:
        return 1.0 if arms == action else 0.0


class RandomPolicy(ShelfPolicy):
    """Every distinct order of the arms equally likely: clean logs for off-policy evaluation."""

    name = "random"

    def _draw(self, segment: str, arms: list[str], rng: np.random.Generator) -> list[int]:
        return [int(i) for i in rng.permutation(len(arms))]

    def _probability(self, segment: str, arms: list[str], action: list[str]) -> float:
        return 1.0 / distinct_orders(arms)


class ThompsonPolicy(ShelfPolicy):
    """Thompson sampling over shelf click-through per segment, position-based (see the module docstring)."""

    name = "thompson"

    def __init__(self, store: Store | None = None, *, epsilon: float = EPSILON,
                 examination: Sequence[float] | None = None):
        if not 0.0 <= epsilon <= 1.0:
            raise PolicyError(f"epsilon must be within 0 and 1, not {epsilon}")
        self.epsilon = epsilon
        self.fixed_examination = tuple(examination) if examination is not None else None
        self._posteriors: dict[str | None, dict[str, tuple[float, float]]] = {}
        self._masses: dict[tuple[str, frozenset[str]], dict[str, np.ndarray]] = {}
        self._examination: tuple[float, ...] | None = None
        super().__init__(store)

    def _changed(self) -> None:
        super()._changed()
        self._posteriors = {}
        self._masses = {}
        self._examination = None

    # -------------------------------------------------------------- the model
    @property
    def examination(self) -> tuple[float, ...]:
        """e(k) for each position: given, the default, or estimated from the counts (e(0) = 1)."""
        if self._examination is None:
            self._examination = self.fixed_examination or fit_examination(self.counts)
        return self._examination

    def _exam(self, position: int) -> float:
        curve = self.examination
        return curve[position] if position < len(curve) else curve[-1]

    def posterior(self, segment: str, arm: str) -> tuple[float, float]:
        """Beta(alpha, beta) of the arm's attractiveness in the segment."""
        with self.lock:
            for key in (segment, None):
                if key not in self._posteriors:
                    self._posteriors[key] = self._segment_posteriors(key)
            if arm in self._posteriors[segment]:
                return self._posteriors[segment][arm]
            pooled = self._posteriors[None].get(arm, (1.0, 1.0))
        rate = pooled[0] / (pooled[0] + pooled[1])
        return PRIOR_WEIGHT * rate, PRIOR_WEIGHT * (1.0 - rate)

    def top_shares(self, segment: str, arms: Sequence[str]) -> dict[str, float]:
        """Exactly, on the grid: P(arm first) = (1 - epsilon) P(its draw is the highest) + epsilon / n."""
        arms = list(dict.fromkeys(arms))
        if len(arms) < 2:
            return dict.fromkeys(arms, 1.0)
        with self.lock:
            masses = bin_masses({arm: self.posterior(segment, arm) for arm in arms})
        below = {arm: np.cumsum(m) - 0.5 * m for arm, m in masses.items()}
        top = {arm: float(np.sum(masses[arm] * np.prod([below[o] for o in arms if o != arm], axis=0)))
               for arm in arms}  # fmt: skip
        total = sum(top.values()) or 1.0
        return {arm: (1.0 - self.epsilon) * top[arm] / total + self.epsilon / len(arms) for arm in arms}

    def _segment_posteriors(self, segment: str | None) -> dict[str, tuple[float, float]]:
        """Beta parameters per arm for one segment (None: all segments pooled, from Beta(1, 1))."""
        exams: dict[str, list[float]] = {}
        pooled: dict[str, list[float]] = {}
        for (seg, arm, position), (shown, clicks) in self.counts.items():
            examined = shown * self._exam(position)
            cell = pooled.setdefault(arm, [0.0, 0.0])
            cell[0] += examined
            cell[1] += clicks
            if segment is not None and seg == segment:
                mine = exams.setdefault(arm, [0.0, 0.0])
                mine[0] += examined
                mine[1] += clicks
        if segment is None:
            return {arm: (1.0 + c, 1.0 + max(e - c, 0.0)) for arm, (e, c) in pooled.items()}
        out = {}
        for arm, (examined, clicks) in exams.items():
            everyone = pooled[arm]
            rate = (1.0 + everyone[1]) / (2.0 + max(everyone[0], everyone[1]))
            out[arm] = (PRIOR_WEIGHT * rate + clicks, PRIOR_WEIGHT * (1.0 - rate) + max(examined - clicks, 0.0))
        return out

    # -------------------------------------------------------------- choosing
    def _draw(self, segment: str, arms: list[str], rng: np.random.Generator) -> list[int]:
        if rng.random() < self.epsilon:
            return [int(i) for i in rng.permutation(len(arms))]
        params = np.array([self.posterior(segment, arm) for arm in arms])
        draws = rng.beta(params[:, 0], params[:, 1])
        return [int(i) for i in np.argsort(-draws, kind="stable")]

    def _probability(self, segment: str, arms: list[str], action: list[str]) -> float:
        ties = math.prod(math.factorial(c) for c in Counter(arms).values())
        uniform = ties / math.factorial(len(arms))
        if self.epsilon >= 1.0:
            return uniform
        key = (segment, frozenset(arms))
        if key not in self._masses:  # the arms' posteriors as masses on one grid, kept until the counts change
            self._masses[key] = bin_masses({arm: self.posterior(segment, arm) for arm in key[1]})
        sampled = ties * chain_probability([self._masses[key][arm] for arm in action])
        return (1.0 - self.epsilon) * sampled + self.epsilon * uniform


def bin_masses(betas: Mapping[str, tuple[float, float]]) -> dict[str, np.ndarray]:
    """Each Beta's mass in GRID equal bins over the range where all of them live (tails in the end bins)."""
    from scipy.special import betainc, betaincinv  # the Beta CDF and its inverse (scipy.stats is slow to import)

    names = list(betas)
    a = np.array([betas[n][0] for n in names])
    b = np.array([betas[n][1] for n in names])
    edges = np.linspace(float(np.min(betaincinv(a, b, 1e-9))), float(np.max(betaincinv(a, b, 1 - 1e-9))), GRID + 1)
    cdf = betainc(a[:, None], b[:, None], edges[None, :])
    cdf[:, 0], cdf[:, -1] = 0.0, 1.0
    return dict(zip(names, np.diff(cdf, axis=1), strict=True))


def chain_probability(masses: Sequence[np.ndarray]) -> float:
    """P(X1 > X2 > ... > Xn) for independent variables given as masses on one grid of bins: summed from the last
    variable up; two variables in one bin count as ordered either way with probability 1/2."""
    chain = masses[-1]
    for mass in reversed(masses[:-1]):
        chain = mass * (np.cumsum(chain) - 0.5 * chain)
    return float(min(max(chain.sum(), 0.0), 1.0))


def fit_examination(counts: Mapping[tuple[str, str, int], Sequence[float]], *, iterations: int = 20,
                    default: Sequence[float] = DEFAULT_EXAMINATION) -> tuple[float, ...]:
    """e(k) of the position-based model from (segment, arm, position) -> (shown, clicks) counts: alternating ratio
    estimates a(arm) = clicks / sum(shown * e(k)) and e(k) = clicks / sum(shown * a(arm)), scaled so e(0) = 1.
    The default curve until the counts hold MIN_CLICKS_TO_FIT clicks; positions never shown keep the default."""
    cells: dict[tuple[str, int], list[float]] = {}
    for (_, arm, position), (shown, clicks) in counts.items():
        cell = cells.setdefault((arm, position), [0.0, 0.0])
        cell[0] += shown
        cell[1] += clicks
    curve = list(default)
    if sum(c for _, c in cells.values()) < MIN_CLICKS_TO_FIT:
        return tuple(curve)
    positions = sorted({p for _, p in cells})
    curve += [curve[-1]] * (max(positions) + 1 - len(curve))
    exam = {p: curve[p] for p in positions}
    attract: dict[str, float] = {}
    for _ in range(iterations):
        for arm in {a for a, _ in cells}:
            seen = sum(n * exam[p] for (a, p), (n, _) in cells.items() if a == arm)
            attract[arm] = sum(c for (a, _), (_, c) in cells.items() if a == arm) / max(seen, 1e-9)
        for p in positions:
            seen = sum(n * attract[a] for (a, q), (n, _) in cells.items() if q == p)
            exam[p] = sum(c for (_, q), (_, c) in cells.items() if q == p) / max(seen, 1e-9)
        top = exam.get(0) or 1.0
        exam = {p: min(max(v / top, 1e-3), 1.0) for p, v in exam.items()}
    for p, value in exam.items():
        curve[p] = value
    return tuple(curve)


def get_policy(name: str, store: Store | None = None, **options: Any) -> ShelfPolicy:
    """The policy called `name` (fixed, thompson, random), its counts read from `store`'s bandit_counts."""
    classes: dict[str, type[ShelfPolicy]] = {"fixed": FixedPolicy, "thompson": ThompsonPolicy, "random": RandomPolicy}
    if name not in classes:
        raise PolicyError(f"unknown policy {name!r}: choose one of {', '.join(POLICIES)}")
    return classes[name](store, **options)
