"""User profiles in embedding space: a few interest vectors per shopper, never one blurred average.

A profile is built from the user's current history row (purchases weighted by basket recency, other interactions by
type) and their recent search queries, so a new event changes it at once; product vectors are never recomputed.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from genpage.rank.features import History

logger = logging.getLogger(__name__)

MAX_INTERESTS = 3
ITEMS_PER_INTEREST = 4  # a user needs this many distinct items per extra interest


@dataclass
class Profile:
    interests: np.ndarray  # (k, dim) unit vectors
    weights: np.ndarray  # (k,) share of the user's weight in each interest
    mean: np.ndarray | None  # (dim,) unit vector of the whole history
    last_basket: np.ndarray | None  # (dim,) unit vector of the latest basket
    queries: np.ndarray  # (q, dim) recent search queries, embedded as queries
    own: tuple[np.ndarray, np.ndarray] | None = None  # History.user_item_weights of a known user (None: unknown)


def _unit(vector: np.ndarray) -> np.ndarray | None:
    norm = float(np.linalg.norm(vector))
    return vector / norm if norm > 0 else None


def interest_vectors(
    vectors: np.ndarray, weights: np.ndarray, max_interests: int = MAX_INTERESTS, iterations: int = 4
) -> tuple[np.ndarray, np.ndarray]:
    """Weighted spherical k-means over item vectors: (k, dim) unit centroids and their weight shares.

    k grows with the number of distinct items (one interest per ITEMS_PER_INTEREST), seeded farthest-first from the
    heaviest item so that two separate tastes become two interests.
    """
    n = len(vectors)
    if n == 0:
        return np.zeros((0, vectors.shape[1] if vectors.ndim == 2 else 0), np.float32), np.zeros(0, np.float32)
    k = int(min(max_interests, max(1, n // ITEMS_PER_INTEREST)))
    seeds = [int(np.argmax(weights))]
    for _ in range(1, k):
        closest = (vectors @ vectors[seeds].T).max(axis=1)
        seeds.append(int(np.argmin(closest)))
    centroids = vectors[seeds].copy()
    assign = np.zeros(n, dtype=np.int64)
    for step in range(iterations):
        new = np.argmax(vectors @ centroids.T, axis=1) if k > 1 else assign  # one interest: every item in it
        if step and np.array_equal(new, assign):
            break  # the same assignment gives the same centroids again, to the last iteration
        assign = new
        member = np.zeros((k, n), weights.dtype)  # each item's weight in its interest's row
        member[assign, np.arange(n)] = weights
        merged = member @ vectors  # every interest's weighted sum in one product
        norms = np.sqrt(np.einsum("ij,ij->i", merged, merged))
        kept = norms > 0  # an interest left with no weight keeps its centroid
        centroids[kept] = merged[kept] / norms[kept, None]
    shares = np.bincount(assign, weights=weights, minlength=k)
    shares = shares / max(shares.sum(), 1e-9)
    return centroids.astype(np.float32), shares.astype(np.float32)


def _row_indices(matrix: sp.csr_matrix, row: int) -> np.ndarray:
    return matrix.indices[matrix.indptr[row] : matrix.indptr[row + 1]]


def build_profile(
    history: History, row: int, item_vectors: np.ndarray, query_vectors: np.ndarray | None = None
) -> Profile:
    dim = item_vectors.shape[1]
    empty = Profile(
        np.zeros((0, dim), np.float32),
        np.zeros(0, np.float32),
        None,
        None,
        query_vectors if query_vectors is not None else np.zeros((0, dim), np.float32),
    )
    if row < 0:
        return empty
    items, item_weights = history.user_item_weights(row)
    if len(items) == 0:
        empty.own = (items, item_weights)  # a known shopper with nothing weighed yet
        return empty
    vectors = item_vectors[items]
    interests, shares = interest_vectors(vectors, item_weights)
    last = _row_indices(history.last_basket, row)
    return Profile(
        interests=interests,
        weights=shares,
        mean=_unit((vectors * item_weights[:, None]).sum(axis=0)),
        last_basket=_unit(item_vectors[last].sum(axis=0)) if len(last) else None,
        queries=empty.queries,
        own=(items, item_weights),
    )


def semantic_planes(profiles: list[Profile], items_t: np.ndarray) -> dict[str, np.ndarray]:
    """(batch, items) similarity planes: best interest (share-weighted), mean, latest basket, best query.
    `items_t`: the (dim, items) item vectors, transposed and contiguous once by the caller (not per call). Every
    profile vector meets the item vectors in one product: for a page's few shoppers it is bound by reading the item
    vectors (47 MB on 16 x Online Retail), which happens once, not once per kind of vector."""
    dim, n_items = items_t.shape
    n = len(profiles)
    k = MAX_INTERESTS
    n_queries = [len(profile.queries) for profile in profiles]
    vectors = np.zeros((n * (k + 2) + sum(n_queries), dim), np.float32)  # interests, mean and basket, then queries
    interests = vectors[: n * k].reshape(n, k, dim)
    singles = vectors[n * k : n * (k + 2)].reshape(n, 2, dim)
    scale = np.zeros((n, k, 1), np.float32)
    for r, profile in enumerate(profiles):
        got = len(profile.interests)
        interests[r, :got] = profile.interests
        scale[r, :got, 0] = 0.5 + 0.5 * profile.weights
        for c, vector in enumerate((profile.mean, profile.last_basket)):
            if vector is not None:
                singles[r, c] = vector
    if sum(n_queries):
        vectors[n * (k + 2) :] = np.vstack([profile.queries for profile in profiles if len(profile.queries)])
    sims = vectors @ items_t
    planes = {
        "sem_interest": (sims[: n * k].reshape(n, k, n_items) * scale).max(axis=1),
        "sem_mean": sims[n * k : n * (k + 2) : 2],
        "sem_last_basket": sims[n * k + 1 : n * (k + 2) : 2],
        "sem_query": np.zeros((n, n_items), np.float32),
    }
    at = n * (k + 2)
    for r, count in enumerate(n_queries):
        if count:
            planes["sem_query"][r] = sims[at : at + count].max(axis=0)
            at += count
    return planes
