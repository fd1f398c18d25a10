"""Diversity on a page: no near-duplicates (colour and size variants of one product), and a spread over groups.

`product_families` gives each product a family id (same title once colours, sizes and pack words are removed, or
an embedding cosine above a threshold); `diversify` re-ranks a scored list greedily: a product whose family is
already on the page is pushed below the page, and each further product from an already-used group (category, or
interest cluster when the catalogue has no categories) pays a tunable penalty.
"""

from __future__ import annotations

import logging

import numpy as np

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


def product_families(titles: list[str], vectors: np.ndarray, threshold: float = 0.93) -> np.ndarray:
    """Family id per product: shared variant key, or (chained) embedding cosine >= threshold."""
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
    for start in range(0, n, 1024):
        sims = vectors[start : start + 1024] @ vectors.T
        rows, cols = np.nonzero(sims >= threshold)
        for a, b in zip(rows + start, cols, strict=False):
            if a < b:
                union(int(a), int(b))
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


def diversify(
    order: np.ndarray,
    scores: np.ndarray,
    families: np.ndarray,
    groups: np.ndarray,
    *,
    page: int = 10,
    group_penalty: float = 0.1,
    window: int = 100,
) -> np.ndarray:
    """Re-rank `order` (item indices, best first) so the first `page` slots hold no two items of one family and
    pay `group_penalty` x (score range of the window) per item already shown from the same group.

    Items after `window` keep their order; a pushed-down duplicate goes right after the page."""
    head, tail = order[:window], order[window:]
    if len(head) == 0:
        return order
    head_scores = scores[head].astype(np.float64)
    spread = float(head_scores.max() - head_scores.min()) or 1.0
    head_families = families[head]
    head_groups = groups[head]
    _, group_codes = np.unique(head_groups, return_inverse=True)
    shown_per_group = np.zeros(group_codes.max() + 1)
    available = np.ones(len(head), dtype=bool)
    chosen: list[int] = []
    while len(chosen) < page and available.any():
        value = head_scores - group_penalty * spread * shown_per_group[group_codes]
        value[~available] = -np.inf
        best = int(np.argmax(value))
        chosen.append(best)
        available &= head_families != head_families[best]  # its whole family leaves the page
        shown_per_group[group_codes[best]] += 1
    picked = np.zeros(len(head), dtype=bool)
    picked[chosen] = True
    rest = head[~picked]  # pushed-down duplicates and the remainder, in their original order
    return np.concatenate([head[chosen], rest, tail]).astype(order.dtype, copy=False)
