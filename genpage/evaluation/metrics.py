"""Ranking metrics over one ranked list (Recall@k, NDCG@k, HitRate@k, MRR) and over many (coverage, intra-list
diversity)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np


def recall_at_k(ranked: Sequence[Any], relevant: set[Any], k: int = 10) -> float:
    if not relevant:
        return 0.0
    return len(set(list(ranked)[:k]) & relevant) / len(relevant)


def ndcg_at_k(ranked: Sequence[Any], relevant: set[Any], k: int = 10) -> float:
    if not relevant:
        return 0.0
    dcg = sum(1.0 / math.log2(pos + 2) for pos, item in enumerate(list(ranked)[:k]) if item in relevant)
    ideal = sum(1.0 / math.log2(pos + 2) for pos in range(min(len(relevant), k)))
    return dcg / ideal


def hit_rate_at_k(ranked: Sequence[Any], relevant: set[Any], k: int = 10) -> float:
    return 1.0 if set(list(ranked)[:k]) & relevant else 0.0


def reciprocal_rank(ranked: Sequence[Any], relevant: set[Any]) -> float:
    for pos, item in enumerate(ranked):
        if item in relevant:
            return 1.0 / (pos + 1)
    return 0.0


def coverage(top_lists: Sequence[Sequence[Any]], catalogue_size: int) -> float:
    """Share of the catalogue that appears in at least one top list."""
    seen = {item for top in top_lists for item in top}
    return len(seen) / catalogue_size if catalogue_size else 0.0


def intra_list_diversity(top: Sequence[int], vectors: np.ndarray) -> float:
    """Mean pairwise (1 - cosine) between the items of one list (unit vectors); 0 for fewer than two items."""
    idx = np.asarray(list(top), dtype=np.int64)
    if len(idx) < 2:
        return 0.0
    sims = vectors[idx] @ vectors[idx].T
    n = len(idx)
    return float((n * n - sims.sum()) / (n * (n - 1)))
