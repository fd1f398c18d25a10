"""Shopper segments: K-means over user profile vectors, named after what each segment buys.

    seg = segment_users(store, encoder)          # cached in the store until the data changes
    seg.segments                                 # [Segment(id="s0", name="Candles & Lights + Home Decor lovers", ...)]
    seg.assign(["12347", "12348"])               # {"12347": "s3", "12348": "s0"}

A user's profile vector is the mean of the embeddings of the products they interacted with, weighted by event
type (a purchase counts more than a view), L2-normalised. Users without any product event form the `new` segment
(they are not clustered). K-means runs with a fixed random_state, so the same data gives the same segments.
Each segment is named after its top categories: the categories with the largest share of the segment's weight,
tempered by how much more the segment buys them than everyone does ("lift"), so names tell segments apart.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import TYPE_CHECKING

import numpy as np
from pydantic import BaseModel, Field

from genpage.errors import GenpageError
from genpage.store import Store
from genpage.text import is_catch_all

if TYPE_CHECKING:
    from genpage.embed.encoder import Encoder

logger = logging.getLogger(__name__)

ALGORITHM = "kmeans-v1"  # part of the cache fingerprint: bump when the method changes
EVENT_WEIGHTS = {"purchase": 3.0, "add_to_cart": 2.0, "review": 2.0, "click": 1.0, "view": 1.0}
NEW_SEGMENT = "new"
NEW_SEGMENT_NAME = "New shoppers"
MAX_AUTO_K = 10
MINIBATCH_ABOVE = 20_000  # users; above this MiniBatchKMeans replaces KMeans


class SegmentError(GenpageError):
    """A segment was asked for that does not exist, or segments cannot be built from the store."""


class Segment(BaseModel):
    id: str
    name: str
    size: int
    top_categories: list[str] = Field(default_factory=list)
    example_users: list[str] = Field(default_factory=list)


@dataclass
class Segmentation:
    """Segments and every known user's segment id."""

    segments: list[Segment]
    assignment: dict[str, str]
    fingerprint: str = ""
    _by_key: dict[str, Segment] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        for segment in self.segments:
            self._by_key[segment.id.lower()] = segment
            self._by_key.setdefault(segment.name.lower(), segment)

    def assign(self, user_ids: Iterable[str]) -> dict[str, str]:
        """Segment id of each user; users the store has no product events for are in the `new` segment."""
        return {str(u): self.assignment.get(str(u), NEW_SEGMENT) for u in user_ids}

    def find(self, key: str) -> Segment:
        """A segment by id (`s3`) or name (case-insensitive); the error lists the segments there are."""
        found = self._by_key.get(key.strip().lower())
        if found is None:
            known = "; ".join(f"{s.id} = {s.name}" for s in self.segments)
            raise SegmentError(f"no segment {key!r}: use a segment id or name from `genpage segments` ({known})")
        return found

    def members(self, key: str) -> list[str]:
        """The users of a segment (by id or name), sorted."""
        segment_id = self.find(key).id
        return sorted(u for u, s in self.assignment.items() if s == segment_id)


# ---------------------------------------------------------------------- profile vectors
def all_user_ids(store: Store) -> list[str]:
    """Every user the store knows: the users table and anyone with events, sorted."""
    rows = store.query("SELECT id FROM users UNION SELECT DISTINCT user_id FROM events ORDER BY 1")
    return [r[0] for r in rows]


def interaction_matrix(store: Store, user_ids: Sequence[str], item_ids: Sequence[str]) -> object:
    """(users, items) scipy CSR of event-type weights summed over each user's events with known products."""
    import scipy.sparse as sp

    user_index = {u: i for i, u in enumerate(user_ids)}
    item_index = {p: i for i, p in enumerate(item_ids)}
    rows, cols, vals = [], [], []
    for r in store.query("SELECT user_id, item_id, type, COUNT(*) n FROM events WHERE item_id IS NOT NULL "
                         "GROUP BY user_id, item_id, type"):
        weight = EVENT_WEIGHTS.get(r["type"], 0.0)
        u, p = user_index.get(r["user_id"]), item_index.get(r["item_id"])
        if weight and u is not None and p is not None:
            rows.append(u)
            cols.append(p)
            vals.append(weight * r["n"])
    matrix = sp.csr_matrix((np.asarray(vals, np.float32), (rows, cols)), shape=(len(user_ids), len(item_ids)))
    matrix.sum_duplicates()
    return matrix


def user_profile_vectors(store: Store, encoder: Encoder) -> tuple[list[str], np.ndarray, object, list[str]]:
    """(user ids, (users, dim) unit profile vectors (zero rows: no product events), interaction matrix, categories
    of the matrix's item columns)."""
    from genpage.embed.encoder import embed_products

    products = store.products()
    item_ids, item_vectors = embed_products(store, encoder, products)
    user_ids = all_user_ids(store)
    weights = interaction_matrix(store, user_ids, item_ids)
    profiles = np.asarray(weights @ item_vectors, dtype=np.float32)
    norms = np.linalg.norm(profiles, axis=1, keepdims=True)
    profiles = np.divide(profiles, norms, out=np.zeros_like(profiles), where=norms > 0)
    return user_ids, profiles, weights, [p.category for p in products]


# ---------------------------------------------------------------------- clustering and naming
def auto_k(n_users: int) -> int:
    """About sqrt(n) segments, between 2 and MAX_AUTO_K (a marketer can read ten segments, not fifty)."""
    return max(1, min(n_users, max(2, min(MAX_AUTO_K, round(math.sqrt(n_users))))))


def cluster(vectors: np.ndarray, k: int, *, random_state: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(labels, centroids) of K-means on unit vectors (KMeans, or MiniBatchKMeans for many users)."""
    from sklearn.cluster import KMeans, MiniBatchKMeans

    if k <= 1 or len(vectors) <= 1:
        return np.zeros(len(vectors), dtype=np.int64), vectors.mean(axis=0, keepdims=True)
    if len(vectors) > MINIBATCH_ABOVE:
        model = MiniBatchKMeans(n_clusters=k, random_state=random_state, n_init=3, batch_size=4096)
    else:
        model = KMeans(n_clusters=k, random_state=random_state, n_init=4)
    labels = model.fit_predict(vectors.astype(np.float64))
    return labels.astype(np.int64), model.cluster_centers_.astype(np.float32)


def category_scores(segment_weights: np.ndarray, overall_weights: np.ndarray) -> np.ndarray:
    """share x lift: big in the segment, and bigger than in the whole shop (lift alone favours tiny niches)."""
    share = segment_weights / max(float(segment_weights.sum()), 1e-9)
    overall = overall_weights / max(float(overall_weights.sum()), 1e-9)
    lift = np.divide(share, overall, out=np.zeros_like(share), where=overall > 0)
    return share * lift


def segment_name(top_categories: Sequence[str]) -> str:
    """"A + B lovers" from the first two top categories."""
    if not top_categories:
        return "Shoppers"
    return " + ".join(top_categories[:2]) + " lovers"


def _top_categories(scores: np.ndarray, labels: Sequence[str], limit: int = 4) -> list[str]:
    order = np.argsort(-scores, kind="stable")
    descriptive = [labels[i] for i in order if scores[i] > 0 and not is_catch_all(labels[i])]
    return descriptive[:limit]


def _unique_names(tops: list[list[str]]) -> list[str]:
    """One name per segment (bigger segments choose first): the first pair of its top categories that no earlier
    segment uses in either order, else the first pair with a number."""
    names: list[str] = []
    used: set[frozenset[str]] = set()
    for top in tops:
        pairs = [[top[a], top[b]] for b in range(1, len(top)) for a in range(b)] or [top]
        fresh = next((pair for pair in pairs if frozenset(pair) not in used), None)
        if fresh is not None:
            used.add(frozenset(fresh))
            names.append(segment_name(fresh))
            continue
        base, n = segment_name(top), 2
        while f"{base} ({n})" in names:
            n += 1
        names.append(f"{base} ({n})")
    return names


def _category_columns(weights: object, categories: Sequence[str], titles: Sequence[str]) -> tuple[object, list[str]]:
    """(users, labels) weight matrix over category labels; theme words of titles when the catalogue has none."""
    import scipy.sparse as sp

    labels = list(categories)
    if all(is_catch_all(c) for c in labels):
        from genpage.rank.reasons import theme_words

        labels = [(theme_words([t], np.ones(1), 1) or [""])[0].title() for t in titles]
    names = sorted(set(labels))
    index = {c: i for i, c in enumerate(names)}
    onehot = sp.csr_matrix(
        (np.ones(len(labels), np.float32), (np.arange(len(labels)), [index[c] for c in labels])),
        shape=(len(labels), len(names)),
    )
    return weights @ onehot, names


def build_segmentation(store: Store, encoder: Encoder, k: int | None = None, *, random_state: int = 0) -> Segmentation:
    """Cluster every user with product events into k segments (auto when None); no cache."""
    user_ids, profiles, weights, categories = user_profile_vectors(store, encoder)
    active = np.nonzero(np.linalg.norm(profiles, axis=1) > 0)[0]
    if len(user_ids) == 0:
        raise SegmentError("the store has no users: ingest events first (`genpage ingest ...`)")
    n_clusters = min(k or auto_k(len(active)), max(len(active), 1))
    labels, centroids = cluster(profiles[active], n_clusters, random_state=random_state) if len(active) else (
        np.zeros(0, np.int64), np.zeros((0, profiles.shape[1]), np.float32))
    titles = [p.title for p in store.products()]
    by_label, label_names = _category_columns(weights, categories, titles)
    by_label = by_label.tocsr()  # type: ignore[attr-defined]
    overall = np.asarray(by_label[active].sum(axis=0)).ravel()
    clusters = []
    for c in range(len(centroids)):
        members = active[labels == c]
        if not len(members):
            continue
        scores = category_scores(np.asarray(by_label[members].sum(axis=0)).ravel(), overall)
        closeness = profiles[members] @ centroids[c]
        order = sorted(range(len(members)), key=lambda i: (-round(float(closeness[i]), 6), user_ids[members[i]]))
        clusters.append((members, _top_categories(scores, label_names), [user_ids[members[i]] for i in order[:3]]))
    clusters.sort(key=lambda m: (-len(m[0]), m[2][0]))
    names = _unique_names([top for _, top, _ in clusters])
    segments, assignment = [], {}
    for index, ((members, top, examples), name) in enumerate(zip(clusters, names, strict=True)):
        segment_id = f"s{index}"
        segments.append(Segment(id=segment_id, name=name, size=len(members), top_categories=top,
                                example_users=examples))
        assignment.update({user_ids[m]: segment_id for m in members})
    clustered = set(active.tolist())
    newcomers = [u for i, u in enumerate(user_ids) if i not in clustered]
    if newcomers:
        segments.append(Segment(id=NEW_SEGMENT, name=NEW_SEGMENT_NAME, size=len(newcomers),
                                example_users=newcomers[:3]))
        assignment.update({u: NEW_SEGMENT for u in newcomers})
    return Segmentation(segments, assignment)


# ---------------------------------------------------------------------- the cache
def data_fingerprint(store: Store, encoder_name: str, k: int | None, random_state: int = 0) -> str:
    """A hash of what the segments depend on: the store's data (`Store.data_fingerprint`), the encoder and k."""
    payload = [ALGORITHM, encoder_name, k or "auto", random_state, store.data_fingerprint()]
    return hashlib.sha256(json.dumps(payload).encode()).hexdigest()[:32]


def load_cached(store: Store, fingerprint: str) -> Segmentation | None:
    rows = store.query("SELECT * FROM segments WHERE fingerprint = ? ORDER BY rowid", (fingerprint,))
    if not rows:
        return None
    segments = [
        Segment(id=r["id"], name=r["name"], size=r["size"], top_categories=json.loads(r["top_categories"]),
                example_users=json.loads(r["example_users"]))
        for r in rows
    ]
    assignment = {r[0]: r[1] for r in store.query(
        "SELECT user_id, segment_id FROM user_segments WHERE fingerprint = ?", (fingerprint,))}
    return Segmentation(segments, assignment, fingerprint)


def save(store: Store, segmentation: Segmentation, fingerprint: str) -> None:
    """Replace the cached segments (older fingerprints are dropped) in one transaction."""
    now = datetime.now(timezone.utc).isoformat()
    with store.transaction(data=False) as conn:
        conn.execute("DELETE FROM segments")
        conn.execute("DELETE FROM user_segments")
        conn.executemany(
            "INSERT INTO segments VALUES (?,?,?,?,?,?,?)",
            [(fingerprint, s.id, s.name, s.size, json.dumps(s.top_categories), json.dumps(s.example_users), now)
             for s in segmentation.segments],
        )
        conn.executemany("INSERT INTO user_segments VALUES (?,?,?)",
                         [(fingerprint, u, s) for u, s in segmentation.assignment.items()])
    segmentation.fingerprint = fingerprint


def segment_users(store: Store, encoder: Encoder, k: int | None = None, *, refresh: bool = False) -> Segmentation:
    """The store's segments: read from the cache when the data has not changed since, else built and cached."""
    fingerprint = data_fingerprint(store, encoder.name, k)
    if not refresh:
        cached = load_cached(store, fingerprint)
        if cached is not None:
            return cached
    segmentation = build_segmentation(store, encoder, k)
    save(store, segmentation, fingerprint)
    logger.info("built %d segments over %d users", len(segmentation.segments), len(segmentation.assignment))
    return segmentation


def segments(store: Store, encoder: Encoder, k: int | None = None) -> list[Segment]:
    """The store's segments, largest first (the `new` segment, if any, last)."""
    return segment_users(store, encoder, k).segments


def assign(store: Store, encoder: Encoder, user_ids: Iterable[str], k: int | None = None) -> dict[str, str]:
    """Each user's segment id."""
    return segment_users(store, encoder, k).assign(user_ids)
