"""Diversity on a page: no near-duplicates (colour and size variants of one product), and a spread over groups.

`product_families` gives each product a family id (same title once colours, sizes and pack words are removed, or
an embedding cosine above a threshold); `diversify` re-ranks a scored list greedily: a product whose family is
already on the page is pushed below the page, and each further product from an already-used group (category, or
interest cluster when the catalogue has no categories) pays a tunable penalty.
"""

from __future__ import annotations

import heapq
import logging

import numpy as np

from genpage.resources import map_threads
from genpage.text import letter_runs

logger = logging.getLogger(__name__)

_VARIANT_WORDS = {
    "red",
    "pink",
    "blue",
    "green",
    "white",
    "black",
    "ivory",
    "cream",
    "yellow",
    "orange",
    "purple",
    "gold",
    "silver",
    "grey",
    "gray",
    "brown",
    "turquoise",
    "lilac",
    "natural",
    "clear",
    "multicolour",
    "assorted",
    "colour",
    "colours",
    "small",
    "medium",
    "large",
    "mini",
    "jumbo",
    "big",
    "set",
    "of",
    "pack",
    "pc",
    "pcs",
    "s",
    "m",
    "l",
    "xl",
    "blossom",
    "polkadot",
    "spotty",
    "retrospot",
    "vintage",
    "design",
    "designs",
}


def variant_key(title: str) -> str:
    """A title with colours, sizes and pack words removed: colour variants of one item share it."""
    words = [w for w in letter_runs(title.lower()) if w not in _VARIANT_WORDS and len(w) > 1]
    return " ".join(sorted(words))


def product_families(titles: list[str], vectors: np.ndarray, threshold: float = 0.93, threads: int = 1) -> np.ndarray:
    """Family id per product: shared variant key, or (chained) embedding cosine >= threshold; the cosines are
    compared a block of products at a time on `threads` threads (the same families on any number)."""
    n = len(titles)
    parent = np.arange(n)

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    def union(a: int, b: int) -> None:
        ra, rb = find(a), find(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)

    first_with_key: dict[str, int] = {}
    for i, title in enumerate(titles):
        key = variant_key(title)
        if key:
            if key in first_with_key:
                union(i, first_with_key[key])
            else:
                first_with_key[key] = i

    def close_pairs(start: int) -> tuple[list[int], list[int]]:
        """The block's pairs with a later product: only the products from the block's first on are compared (half
        the cosines of all of them)."""
        rows, cols = np.nonzero(vectors[start : start + 1024] @ vectors[start:].T >= threshold)
        rows += start
        cols += start
        later = rows < cols
        return rows[later].tolist(), cols[later].tolist()

    for rows, cols in map_threads(close_pairs, range(0, n, 1024), threads):
        for a, b in zip(rows, cols, strict=True):
            union(a, b)
    return np.array([find(i) for i in range(n)], dtype=np.int64)


def interest_groups(vectors: np.ndarray, n_groups: int = 40, iterations: int = 8, seed: int = 0) -> np.ndarray:
    """Spherical k-means cluster id per product: the groups to spread a page over when there are no categories."""
    n = len(vectors)
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    k = min(n_groups, n)
    rng = np.random.default_rng(seed)
    centroids = vectors[rng.choice(n, size=k, replace=False)].copy()
    assign = np.zeros(n, dtype=np.int64)
    for _ in range(iterations):
        assign = np.argmax(vectors @ centroids.T, axis=1)
        for c in range(k):
            members = vectors[assign == c]
            if len(members):
                total = members.sum(axis=0)
                centroids[c] = total / max(float(np.linalg.norm(total)), 1e-9)
    return assign


WINDOW = 100  # `diversify` re-ranks this many of the best items; the rest keep their order


def top_order(scores: np.ndarray, n: int) -> np.ndarray:
    """The `n` best finite scores' indices in the order of `np.argsort(-scores, kind="stable")` (ties: lower index
    first), without sorting the whole row: what `diversify` and a page of `n` items need."""
    finite = np.flatnonzero(np.isfinite(scores))
    negated = -scores[finite]
    if len(finite) > n > 0:
        kth = np.partition(negated, n - 1)[n - 1]
        better = np.flatnonzero(negated < kth)
        tied = np.flatnonzero(negated == kth)[: n - len(better)]
        keep = np.sort(np.concatenate([better, tied]))  # in index order, so the stable sort keeps ties by index
        finite, negated = finite[keep], negated[keep]
    elif n <= 0:
        return finite[:0]
    return finite[np.argsort(negated, kind="stable")]


def diversify(
    order: np.ndarray,
    scores: np.ndarray,
    families: np.ndarray,
    groups: np.ndarray,
    *,
    page: int = 10,
    group_penalty: float = 0.1,
    window: int = WINDOW,
) -> np.ndarray:
    """Re-rank `order` (item indices, best first) so the first `page` slots hold no two items of one family and
    pay `group_penalty` x (score range of the window) per item already shown from the same group.

    Items after `window` keep their order; a pushed-down duplicate goes right after the page."""
    head, tail = order[:window], order[window:]
    if len(head) == 0:
        return order
    head_scores = scores[head].astype(np.float64)
    spread = float(head_scores.max() - head_scores.min()) or 1.0
    step = group_penalty * spread
    if np.isfinite(head_scores).all() and 0 <= step < np.inf and not (np.diff(head_scores) > 0).any():
        chosen = _greedy_sorted(head_scores.tolist(), families[head].tolist(), groups[head].tolist(), page, step)
    else:
        chosen = _greedy_arrays(head_scores, families[head], groups[head], page, step)
    picked = np.zeros(len(head), dtype=bool)
    picked[chosen] = True
    rest = head[~picked]  # pushed-down duplicates and the remainder, in their original order
    return np.concatenate([head[chosen], rest, tail]).astype(order.dtype, copy=False)


def _greedy_sorted(scores: list[float], families: list[int], groups: list[int], page: int, step: float
                   ) -> list[int]:  # fmt: skip
    """`_greedy_arrays`' picks, the same arithmetic, for finite scores best first and `step` >= 0, with a heap of
    each group's best available item instead of a scan of all. The best value of a group is its first available
    item's (a later one never beats it, and never ties it at an earlier place), so the pick is the heap's top:
    highest value, then first place. An entry is stale once its item left or its group was shown again; it is
    then replaced by the group's current best, never better, so the heap stays right."""
    places: dict[int, list[int]] = {}  # group -> places, in order
    for i, group in enumerate(groups):
        places.setdefault(group, []).append(i)
    members: dict[int, list[int]] = {}  # family -> places, for the families seen more than once (most have one item)
    if len(set(families)) < len(families):
        for i, family in enumerate(families):
            members.setdefault(family, []).append(i)
    available = [True] * len(scores)
    shown = dict.fromkeys(places, 0.0)
    first = dict.fromkeys(places, 0)  # group -> index into places[group] of its first available item
    heap = [(-(scores[p[0]] - step * 0.0), p[0], g, 0.0) for g, p in places.items()]
    heapq.heapify(heap)
    chosen: list[int] = []
    while len(chosen) < page and heap:
        _, place, group, at_shown = heapq.heappop(heap)
        if not available[place] or at_shown != shown[group]:
            _push_group(heap, scores, places[group], first, group, available, shown[group], step)
            continue
        chosen.append(place)
        for i in members.get(families[place], (place,)):  # its whole family leaves the page
            available[i] = False
        shown[group] += 1
        _push_group(heap, scores, places[group], first, group, available, shown[group], step)
    return chosen


def _push_group(heap: list[tuple[float, int, int, float]], scores: list[float], places: list[int],
                first: dict[int, int], group: int, available: list[bool], shown: float, step: float
                ) -> None:  # fmt: skip
    """Push `group`'s first available item (if any) with its value at `shown` items shown."""
    at = first[group]
    while at < len(places) and not available[places[at]]:
        at += 1
    first[group] = at
    if at < len(places):
        heapq.heappush(heap, (-(scores[places[at]] - step * shown), places[at], group, shown))


def _greedy_arrays(head_scores: np.ndarray, head_families: np.ndarray, head_groups: np.ndarray, page: int,
                   step: float) -> list[int]:  # fmt: skip
    """The greedy page: each pick is the best score less `step` per item already shown from its group."""
    _, group_codes = np.unique(head_groups, return_inverse=True)
    shown_per_group = np.zeros(group_codes.max() + 1)
    available = np.ones(len(head_scores), dtype=bool)
    chosen: list[int] = []
    while len(chosen) < page and available.any():
        value = head_scores - step * shown_per_group[group_codes]
        value[~available] = -np.inf
        best = int(np.argmax(value))
        chosen.append(best)
        available &= head_families != head_families[best]  # its whole family leaves the page
        shown_per_group[group_codes[best]] += 1
    return chosen
