"""What the ranker knows about users and items, computed once from an events frame, and the per-candidate features.

`History.build(events, item_ids)` turns events into sparse user x item matrices (how many baskets hold an item, when
it was last and first bought, a basket-recency-decayed vector in the spirit of TIFU-kNN, other interactions, returns),
per-user and per-item statistics (rhythm of visits, rebuy rates and gaps, daily sales for trends) and two item-item
neighbourhoods (shoppers who bought i also bought j; bought in the same basket) and implicit-ALS latent factors of the
basket counts (the "als" feature: it helps most on items new to the user). `feature_block` turns a batch of
users at their own "now" into dense (users x items) feature planes; nothing here calls a model. Besides the raw
signals: TIFU-kNN's normalised decayed frequency (the "recency" group: decayed baskets over what all the shopper's
baskets sum to, and over their largest item's) and the week's trend.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from genpage.events import lookup, to_days
from genpage.rank.neighbours import UserNeighbours, as_float32, build_neighbours, neighbour_mix
from genpage.rank.shoppers import BASKET_DECAY, TYPE_CODES, EventArrays, ShopperRows, shopper_rows
from genpage.rank.shoppers import user_vectors as unit_user_vectors

logger = logging.getLogger(__name__)

TREND_DAYS = 30
WEEK_DAYS = 7  # the short trend window (recent popularity, the "i_trend_week" feature)
NEIGHBOURS_PER_ITEM = 200
ALS_PARAMS = {"factors": 64, "regularization": 1.0, "iterations": 15}  # implicit ALS, the latent-factor feature
ALS_ALPHA = 2.0  # confidence = 1 + ALS_ALPHA * log1p(baskets)
# ALS iterations of a fit's full history, started from its training history's factors (the same shoppers and items,
# less each trained shopper's latest basket) instead of random ones: see Ranker.fit_frame and bench/ranking.py.
ALS_WARM_ITERATIONS = 5
# Shopper x item matrices kept in float32 (half a saved ranker's largest part): counts and days, whose every use casts
# them to float32 first (feature_block's planes, _product) or reads only their pattern, so no feature changes. The
# decayed and interaction weights stay float64: a profile sums them in float64 (History.user_item_weights).
STORED_FLOAT32 = ("baskets", "last_t", "first_t", "qty", "last_basket", "returned")
BATCH_CELLS = 256 * 4096  # shopper x item cells of one batch's feature planes (users_per_batch)
DENSE_LIMIT = 60_000_000  # keep the item-item matrices dense (fast batch products) below this many cells

FEATURE_GROUPS: dict[str, list[str]] = {
    "repurchase": [
        "ui_baskets",
        "ui_share",
        "ui_decay",
        "ui_days_since",
        "ui_gap",
        "ui_rhythm",
        "ui_rhythm_user",
        "ui_in_last_basket",
        "ui_qty",
    ],
    "user": ["u_baskets", "u_days_since", "u_gap", "u_rhythm", "u_items", "u_repeat_share"],
    "item": ["i_buyers", "i_trend", "i_trend_ratio", "i_rebuy_rate", "i_rebuy_gap", "i_is_new", "i_price"],
    "copurchase": ["knn_user", "knn_basket", "knn_last_basket", "uknn", "ui_interact", "als"],
    "semantic": ["sem_interest", "sem_mean", "sem_last_basket", "sem_query"],
    "recency": ["ui_decay_share", "ui_decay_rel", "i_trend_week"],
}
FEATURES: list[str] = [name for names in FEATURE_GROUPS.values() for name in names]


def _cosine_topk(matrix: sp.csr_matrix, k: int, threads: int = 1) -> sp.csr_matrix:
    """Item-item cosine over the rows of `matrix` (rows = users or baskets, cols = items, its pattern counted), each
    item's k most similar other items.

    sparse_dot_topn's top-n product of the items' unit vectors (float64 sums, on `threads` threads of its own: it
    holds the GIL) keeps each item's k + 1 largest cosines, the item's own among them, which is then dropped; the
    values are the float64 cosines rounded to float32. Where items tie at the last place, the product's choice is
    kept (the same on any number of threads). On 16 x Online Retail 9.4 -> 8.0 s and 7.1 -> 6.3 s (the users' and
    the baskets', before the shuffle below) against scipy's product in blocks with each block's top k picked in
    numpy."""
    from sparse_dot_topn import sp_matmul_topn

    n = matrix.shape[1]
    pattern = sp.csr_matrix((np.ones(matrix.nnz), matrix.indices, matrix.indptr), shape=matrix.shape)
    pattern.sum_duplicates()
    counts = np.bincount(pattern.indices, minlength=n).astype(np.float64)
    scale = 1.0 / np.sqrt(np.maximum(counts, 1.0))
    unit = sp.csr_matrix((scale[pattern.indices], pattern.indices, pattern.indptr), shape=matrix.shape)
    del pattern
    # the items in a seeded shuffle: the product gives each thread a run of rows, and popular items (the costly
    # rows) sit together in a catalogue; each row's result is its own, so the same matrix (16 x: 0.5 s of 5.8)
    mixed = np.random.default_rng(0).permutation(n)
    top = sp_matmul_topn(unit.T.tocsr()[mixed], unit, top_n=k + 1, sort=True, n_threads=threads or None)
    top = top[np.argsort(mixed)]
    row = np.repeat(np.arange(n), np.diff(top.indptr))
    other = top.indices != row  # not the item itself
    row, col, value = row[other], top.indices[other], top.data[other]
    first = np.searchsorted(row, np.arange(n))  # each item's first kept entry, then the rest in descending order
    kept = np.arange(len(row)) - first[row] < k  # an item not among its own k + 1 (k others tie at 1) keeps k
    return sp.csr_matrix((value[kept].astype(np.float32), (row[kept], col[kept])), shape=(n, n), dtype=np.float32)


@dataclass
class History:
    """Sparse user x item state and item statistics derived from events; rebuilt cheaply, never re-embeds."""

    user_index: dict[str, int]
    item_ids: list[str]
    baskets: sp.csr_matrix  # baskets holding the item
    decay: sp.csr_matrix  # sum of BASKET_DECAY ** (baskets since)
    last_t: sp.csr_matrix  # day of the last purchase
    first_t: sp.csr_matrix
    qty: sp.csr_matrix
    interact: sp.csr_matrix  # weighted non-purchase interactions
    returned: sp.csr_matrix
    last_basket: sp.csr_matrix
    u_baskets: np.ndarray
    u_last_t: np.ndarray
    u_first_t: np.ndarray
    u_repeat_share: np.ndarray
    i_buyers: np.ndarray
    i_rebuy_rate: np.ndarray
    i_rebuy_gap: np.ndarray
    day0: int
    daily_cum: np.ndarray  # (days+1, items) cumulative purchases per day: a day's row is contiguous
    sim_user: sp.csr_matrix | np.ndarray  # bought by the same shoppers
    sim_basket: sp.csr_matrix | np.ndarray  # bought in the same basket
    user_vectors: sp.csr_matrix  # row-normalised decay (for user-kNN)
    neighbours: UserNeighbours  # each user's nearest users by user_vectors (genpage.rank.neighbours)
    user_factors: np.ndarray | None = None  # implicit ALS over basket counts (None: too little data or no implicit)
    item_factors: np.ndarray | None = None
    queries: dict[str, list[str]] = field(default_factory=dict)
    now: float = 0.0  # the latest event's day

    @property
    def n_items(self) -> int:
        return len(self.item_ids)

    @classmethod
    def build(cls, events: pd.DataFrame, item_ids: list[str], neighbours_for: list[str] | None = None,
              keep: np.ndarray | None = None, threads: int = 1, start: AlsStart | None = None) -> History:  # fmt: skip
        """From an events frame, or only its events where `keep` is true (a boolean mask: a split's training part,
        with no copy of the frame; see genpage.rank.split.last_basket_rows); `neighbours_for`: the only shoppers
        whose user-kNN lists are wanted (a fit's training history; see build_neighbours), None for all; `threads`:
        ALS's (the same factors on any number: each shopper's and item's solve is its own); `start`: the ALS factors
        of a history of most of these events (`als_start`), which this one's ALS starts from."""
        use = events["user_id"].notna().to_numpy(bool)  # events without a shopper are left out
        if keep is not None:
            use = use & keep
        at = None if use.all() else np.flatnonzero(use)
        users = events["user_id"] if at is None else events["user_id"].take(at)
        user_ids = sorted(users.astype(str).unique())
        del users
        user_index = {u: i for i, u in enumerate(user_ids)}
        shape = (len(user_ids), len(item_ids))
        days = to_days(events["timestamp"]) if len(events) else np.zeros(0)
        days = days if at is None else days[at]
        rows = shopper_rows(event_arrays(events, item_ids, user_index, days, at), *shape)
        now = float(days.max()) if len(days) else 0.0
        del days
        # The per-line arrays go once their statistics and the basket x item matrix are made (on 16 x Online Retail
        # some 0.3 GB that the item neighbourhoods, ALS and user neighbours below would otherwise be built next to).
        stats = {**rows.stats, **_item_stats(rows, shape[1]), **_daily_sales(rows, shape[1])}
        basket_items, matrices = _basket_items(rows, shape[1]), rows.matrices
        del rows
        baskets = matrices["baskets"]  # the float64 counts, for the co-occurrences and ALS
        stored = {name: as_float32(m) if name in STORED_FLOAT32 else m for name, m in matrices.items()}
        del matrices
        interactions = (baskets + stored["interact"]).tocsr()
        user_vectors = unit_user_vectors(stored)
        sim_user = _cosine_topk(interactions, NEIGHBOURS_PER_ITEM, threads)
        del interactions
        sim_basket = _cosine_topk(basket_items, NEIGHBOURS_PER_ITEM, threads)
        del basket_items
        if shape[1] * shape[1] <= DENSE_LIMIT:
            sim_user, sim_basket = sim_user.toarray(), sim_basket.toarray()
        begin = start.factors(user_ids) if start is not None and start.items.shape[0] == shape[1] else None
        factors = _als_factors(baskets, threads, begin)
        del baskets
        listed = None  # the shoppers whose neighbour lists are built: all
        if neighbours_for is not None:
            listed = np.array([user_index[u] for u in neighbours_for if u in user_index], dtype=np.int64)
        _share_pattern([*stored.values(), user_vectors])
        return cls(
            user_index=user_index,
            item_ids=list(item_ids),
            **stored,
            **stats,
            sim_user=sim_user,
            sim_basket=sim_basket,
            user_vectors=user_vectors,
            neighbours=build_neighbours(user_vectors, only=listed, threads=threads),
            user_factors=factors[0],
            item_factors=factors[1],
            queries=_recent_queries(events, use),
            now=now,
        )

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        # Each day's sales instead of their running total: mostly zeros, so a third of the size in a saved ranker.
        state["daily_sales"] = sp.csr_matrix(np.diff(state.pop("daily_cum"), axis=0, prepend=np.float32(0)))
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        if "daily_sales" in state:  # the same float32 sums as _daily_sales made: whole numbers, exact
            state["daily_cum"] = np.cumsum(state.pop("daily_sales").toarray(), axis=0)
        else:  # a ranker saved before (Ranker.load of a file, not Engine's, which fits again): item-major totals
            old = state["daily_cum"]
            old = np.cumsum(old.toarray(), axis=1) if sp.issparse(old) else old
            state["daily_cum"] = np.ascontiguousarray(old.T)
        self.__dict__.update(state)

    def als_start(self) -> AlsStart | None:
        """This history's ALS factors by shopper, to start a fit on more events from (None: it has none)."""
        if self.user_factors is None or self.item_factors is None:
            return None
        return AlsStart(self.user_index, self.user_factors, self.item_factors)

    # ------------------------------------------------------------------ per-batch pieces
    def user_item_weights(self, row: int) -> tuple[np.ndarray, np.ndarray]:
        """(item indices, weights) of one user's profile: recency-decayed purchases + weighted other events."""
        weights: dict[int, float] = {}
        for matrix, scale in ((self.decay, 1.0), (self.interact, 0.5)):
            start, end = matrix.indptr[row], matrix.indptr[row + 1]
            for item, value in zip(matrix.indices[start:end].tolist(), matrix.data[start:end].tolist(), strict=False):
                weights[item] = weights.get(item, 0.0) + scale * value
        items = np.fromiter(weights.keys(), dtype=np.int64, count=len(weights))
        return items, np.fromiter(weights.values(), dtype=np.float32, count=len(weights))

    def rows(self, user_ids: list[str]) -> np.ndarray:
        """Row of each user in the matrices, -1 for users the history has never seen."""
        return np.array([self.user_index.get(u, -1) for u in user_ids], dtype=np.int64)

    def trend_counts(self, days: np.ndarray, window: int = TREND_DAYS) -> np.ndarray:
        """(batch, items) purchases in the `window` days strictly before each day (not on it: a basket on day d
        must not see purchases of its own day, some of which came after it)."""
        end = np.clip(np.floor(days).astype(np.int64) - self.day0, 0, self.daily_cum.shape[0] - 1)
        start = np.clip(end - window, 0, None)
        return self.daily_cum[end] - self.daily_cum[start]  # whole rows: no gather across the items

    def neighbour_scores(self, rows: np.ndarray) -> np.ndarray:
        """User-kNN: similarity-weighted mean of the NEIGHBOUR_USERS nearest shoppers' decayed baskets (from the
        neighbour index, genpage.rank.neighbours)."""
        return neighbour_mix(self.neighbours, self.user_vectors, rows)


def _als_factors(baskets: sp.csr_matrix, threads: int = 1, start: tuple[np.ndarray, np.ndarray] | None = None
                 ) -> tuple[np.ndarray | None, np.ndarray | None]:  # fmt: skip
    """(user, item) factors of implicit's ALS on log-confidence basket counts, or (None, None); its solves on
    `threads` threads, BLAS on one (as implicit asks). `start`: (user, item) factors to start from instead of
    random ones (ALS_WARM_ITERATIONS iterations then, not ALS_PARAMS')."""
    if baskets.nnz < 100 or min(baskets.shape) < 2:
        return None, None
    try:
        from implicit.cpu.als import AlternatingLeastSquares
        from threadpoolctl import threadpool_limits
    except ImportError:
        return None, None
    confidence = baskets.astype(np.float32).tocsr(copy=True)
    confidence.data = 1.0 + ALS_ALPHA * np.log1p(confidence.data)
    params = ALS_PARAMS if start is None else {**ALS_PARAMS, "iterations": ALS_WARM_ITERATIONS}
    with threadpool_limits(1, "blas"):  # before the model is made: it checks BLAS's threads then
        model = AlternatingLeastSquares(random_state=0, num_threads=threads, **params)
        if start is not None:  # implicit fits on from factors it is given
            model.user_factors, model.item_factors = (np.array(f, dtype=np.float32) for f in start)
        model.fit(confidence, show_progress=False)
    return np.ascontiguousarray(model.user_factors, np.float32), np.ascontiguousarray(model.item_factors, np.float32)


@dataclass(frozen=True)
class AlsStart:
    """A history's ALS factors by shopper id: where a fit of the same items on more events starts."""

    user_index: dict[str, int]
    users: np.ndarray
    items: np.ndarray

    def factors(self, user_ids: list[str]) -> tuple[np.ndarray, np.ndarray]:
        """(user, item) start factors for `user_ids`; a shopper not in `user_index` starts as implicit starts
        everyone, at small random values."""
        rows = np.array([self.user_index.get(u, -1) for u in user_ids], dtype=np.int64)
        users = np.random.default_rng(0).random((len(user_ids), self.users.shape[1]), dtype=np.float32) * 0.01
        users[rows >= 0] = self.users[rows[rows >= 0]]
        return users, self.items


def _rows_of(matrix: sp.csr_matrix, safe: np.ndarray) -> sp.csr_matrix:
    """The users' rows of a (users, items) matrix; all empty when the history has no user (no events yet)."""
    return matrix[safe] if matrix.shape[0] else sp.csr_matrix((len(safe), matrix.shape[1]), dtype=matrix.dtype)


def _values_of(values: np.ndarray, safe: np.ndarray) -> np.ndarray:
    """The users' entries of a per-user array; zeros when the history has no user (they are masked as unknown)."""
    return values[safe] if len(values) else np.zeros(len(safe))


def _product(rows: sp.csr_matrix, matrix: sp.csr_matrix | np.ndarray) -> np.ndarray:
    result = rows.astype(np.float32) @ matrix
    return np.asarray(result.toarray() if sp.issparse(result) else result, dtype=np.float32)


def _recency_planes(history: History, days: np.ndarray, decay: np.ndarray, u_baskets: np.ndarray
                    ) -> dict[str, np.ndarray]:  # fmt: skip
    """The "recency" group, float32: TIFU-style time-decayed frequency (`decay`, the users' decayed baskets, over
    what every one of their `u_baskets` baskets holding the item would sum to, and over their largest) and the
    week's trend."""
    decay_total = ((1.0 - BASKET_DECAY ** u_baskets) / (1.0 - BASKET_DECAY)).astype(np.float32)
    return {
        "ui_decay_share": decay / np.maximum(decay_total, np.float32(1e-9))[:, None],
        "ui_decay_rel": decay / np.maximum(decay.max(axis=1, keepdims=True), np.float32(1e-9)),
        "i_trend_week": np.log1p(history.trend_counts(days, WEEK_DAYS)).astype(np.float32),
    }


_ITEM_PLANES: list[tuple[np.ndarray, np.ndarray, dict[str, np.ndarray]]] = []  # (i_buyers, price, their rows)


def _item_planes(history: History, item_price: np.ndarray) -> dict[str, np.ndarray]:
    """The item features that are the same for every shopper, made once per history and catalogue instead of on
    every page (their logarithms were a tenth of a one-shopper feature_block on 16 x Online Retail)."""
    if not _ITEM_PLANES or _ITEM_PLANES[0][0] is not history.i_buyers or _ITEM_PLANES[0][1] is not item_price:
        rows = {"i_buyers": np.log1p(history.i_buyers), "i_is_new": (history.i_buyers == 0).astype(np.float32),
                "i_price": np.log1p(item_price)}  # fmt: skip
        _ITEM_PLANES[:] = [(history.i_buyers, item_price, rows)]
    return _ITEM_PLANES[0][2]


def _dense_rows(matrix: sp.csr_matrix, rows: np.ndarray, known: np.ndarray) -> np.ndarray:
    """Rows `rows` of `matrix` as dense float32, zeros where not `known` (shoppers the history has never seen)."""
    block = _rows_of(matrix, rows).toarray()
    if known.all():  # the same float32 numbers as the masked path's float64 round trip
        return block.astype(np.float32, copy=False)
    return np.where(known, block, 0.0).astype(np.float32)


def users_per_batch(n_items: int, users: int = 256) -> int:
    """Shoppers whose dense (shoppers, items) feature planes are made at once: `users`, fewer for a large catalogue, so
    a batch's planes stay near BATCH_CELLS cells each (about 30 planes of float32 and their temporaries: ~0.3 GB).
    A shopper's features do not depend on the batch, up to the last bits of the dense products (BLAS sums in another
    order for another batch size): on 4 x Online Retail 5 of 2.8 M candidate cells changed, no top 10."""
    return max(8, min(users, BATCH_CELLS // max(n_items, 1)))


def feature_block(
    history: History,
    rows: np.ndarray,
    days: np.ndarray,
    semantic: dict[str, np.ndarray],
    item_price: np.ndarray,
    recency: bool = True,
) -> dict[str, np.ndarray]:
    """Dense (batch, items) float32 planes, one per name in FEATURES, for users `rows` at their `days`; without
    `recency`, the "recency" group's planes are not made (a ranker that does not use them saves their time)."""
    n, m = len(rows), history.n_items
    safe = np.where(rows >= 0, rows, 0)
    known = (rows >= 0)[:, None]

    def dense(matrix: sp.csr_matrix) -> np.ndarray:
        return _dense_rows(matrix, safe, known)

    item_planes = _item_planes(history, item_price)
    baskets, last_t, first_t = dense(history.baskets), dense(history.last_t), dense(history.first_t)
    bought = baskets > 0
    now = days[:, None].astype(np.float32)
    with np.errstate(divide="ignore", invalid="ignore"):
        u_baskets = np.where(rows >= 0, _values_of(history.u_baskets, safe), 0.0)
        u_last = np.where(rows >= 0, _values_of(history.u_last_t, safe), np.nan)
        u_first = np.where(rows >= 0, _values_of(history.u_first_t, safe), np.nan)
        u_gap = (u_last - u_first) / np.maximum(u_baskets - 1, 1)
        u_gap = np.where(u_baskets > 1, u_gap, np.nan)
        u_repeat = np.where(rows >= 0, _values_of(history.u_repeat_share, safe), 0.0)
        ui_days = np.where(bought, now - last_t, np.nan)
        ui_gap = np.where(baskets > 1, (last_t - first_t) / np.maximum(baskets - 1, 1), np.nan)
        trend = history.trend_counts(days)
        overall = history.daily_cum[-1] / max(history.daily_cum.shape[0] - 1, 1) * TREND_DAYS
        decay = dense(history.decay)
        knn_user = _product(_rows_of(history.decay, safe), history.sim_user)
        knn_basket = _product(_rows_of(history.decay, safe), history.sim_basket)
        knn_last = _product(_rows_of(history.last_basket, safe), history.sim_basket)
        planes: dict[str, np.ndarray] = {
            "ui_baskets": baskets,
            "ui_share": baskets / np.maximum(u_baskets, 1)[:, None],
            "ui_decay": decay,
            "ui_days_since": ui_days,
            "ui_gap": ui_gap,
            "ui_rhythm": ui_days / ui_gap,
            "ui_rhythm_user": ui_days / u_gap[:, None],
            "ui_in_last_basket": dense(history.last_basket),
            "ui_qty": np.log1p(dense(history.qty)),
            "u_baskets": np.broadcast_to(u_baskets[:, None], (n, m)),
            "u_days_since": np.broadcast_to((days - u_last)[:, None], (n, m)),
            "u_gap": np.broadcast_to(u_gap[:, None], (n, m)),
            "u_rhythm": np.broadcast_to(((days - u_last) / u_gap)[:, None], (n, m)),
            "u_items": np.broadcast_to(bought.sum(axis=1, keepdims=True), (n, m)),
            "u_repeat_share": np.broadcast_to(u_repeat[:, None], (n, m)),
            "i_buyers": np.broadcast_to(item_planes["i_buyers"][None, :], (n, m)),
            "i_trend": np.log1p(trend),
            "i_trend_ratio": (trend + 1.0) / (overall[None, :] + 1.0),
            "i_rebuy_rate": np.broadcast_to(history.i_rebuy_rate[None, :], (n, m)),
            "i_rebuy_gap": np.broadcast_to(history.i_rebuy_gap[None, :], (n, m)),
            "i_is_new": np.broadcast_to(item_planes["i_is_new"][None, :], (n, m)),
            "i_price": np.broadcast_to(item_planes["i_price"][None, :], (n, m)),
            "knn_user": np.where(known, knn_user, 0.0),
            "knn_basket": np.where(known, knn_basket, 0.0),
            "knn_last_basket": np.where(known, knn_last, 0.0),
            "uknn": history.neighbour_scores(rows),
            "ui_interact": dense(history.interact),
            "als": (
                np.where(known, history.user_factors[safe] @ history.item_factors.T, 0.0)
                if history.user_factors is not None and history.item_factors is not None
                else np.zeros((n, m), np.float32)
            ),
        }
    planes.update(semantic)
    if recency:
        planes.update(_recency_planes(history, days, decay, u_baskets))
    out = {}
    for name in FEATURES if recency else [f for f in FEATURES if f not in FEATURE_GROUPS["recency"]]:
        plane = np.asarray(planes[name], dtype=np.float32)
        if np.isinf(plane).any():  # NaN (no value) is common and stays; infinities become NaN
            plane = np.where(np.isinf(plane), np.nan, plane)
        out[name] = plane
    return out


# ---------------------------------------------------------------------- History.build's pieces
def event_arrays(events: pd.DataFrame, item_ids: list[str], user_index: dict[str, int],
                 days: np.ndarray, at: np.ndarray | None = None) -> EventArrays:  # fmt: skip
    """An events frame, or its rows at positions `at` (their shoppers all in `user_index`, `days` their
    timestamps), as genpage.rank.shoppers takes it: a basket is a purchase's session id, else its minute. One
    column's rows are copied at a time, never the frame's."""

    def column(name: str) -> pd.Series:
        return events[name] if at is None else events[name].take(at)

    n = len(events) if at is None else len(at)
    item = np.full(n, -1, dtype=np.int64)
    if "item_id" in events:
        item = lookup(column("item_id"), {item_id: i for i, item_id in enumerate(item_ids)}, -1).astype(np.int64)
    kind = lookup(column("type"), TYPE_CODES, -1).astype(np.int64)
    qty = column("quantity").fillna(1).to_numpy(np.float64) if "quantity" in events else np.ones(n)
    user = lookup(column("user_id").astype(str), user_index, -1).astype(np.int64)
    buy = (item >= 0) & (kind == TYPE_CODES["purchase"])
    basket = np.full(n, -1, dtype=np.int64)
    if buy.any():
        bought = np.flatnonzero(buy) if at is None else at[buy]  # positions in `events`
        no_session = pd.Series(pd.NA, index=range(len(bought)), dtype="string")
        session = events["session_id"].take(bought).astype("string") if "session_id" in events else no_session
        has_session = (session.notna() & (session != "")).to_numpy(bool)
        minute = epoch_ns(events["timestamp"].take(bought)) // 60_000_000_000
        sessions, _ = pd.factorize(session[has_session])
        minutes, _ = pd.factorize(minute[~has_session])
        label = np.empty(len(bought), dtype=np.int64)
        label[has_session] = sessions
        label[~has_session] = (sessions.max() + 1 if len(sessions) else 0) + minutes
        basket[buy] = user[buy] * (int(label.max()) + 1) + label
    return EventArrays(user=user, item=item, kind=kind, day=np.asarray(days, np.float64), qty=qty, basket=basket)


def epoch_ns(timestamps: pd.Series) -> np.ndarray:
    """Nanoseconds since the epoch, as genpage.events.to_days reads timestamps (naive ones are UTC)."""
    ts = pd.to_datetime(timestamps)
    if getattr(ts.dt, "tz", None) is not None:
        ts = ts.dt.tz_convert("UTC").dt.tz_localize(None)
    return ts.astype("datetime64[ns]").astype("int64").to_numpy()


def _item_stats(rows: ShopperRows, n_items: int) -> dict[str, Any]:
    """Per item: buyers, the (smoothed) share who rebuy it and the mean days between their purchases."""
    ii, baskets = rows.pair_item, rows.pair_baskets
    i_buyers = np.bincount(ii, minlength=n_items).astype(np.float64)
    rebuyers = np.bincount(ii[baskets > 1], minlength=n_items).astype(np.float64)
    i_rebuy_rate = (rebuyers + 0.1) / (i_buyers + 1.0)
    rep = baskets > 1
    gaps = (rows.pair_last[rep] - rows.pair_first[rep]) / (baskets[rep] - 1)
    gap_sum = np.bincount(ii[rep], weights=gaps, minlength=n_items)
    i_rebuy_gap = np.divide(gap_sum, rebuyers, out=np.full(n_items, np.nan), where=rebuyers > 0)
    return {"i_buyers": i_buyers, "i_rebuy_rate": i_rebuy_rate, "i_rebuy_gap": i_rebuy_gap}


def _daily_sales(rows: ShopperRows, n_items: int) -> dict[str, Any]:
    """Cumulative purchases per day and item (row 0 is the day before the first sale)."""
    day_idx = np.floor(rows.buy_day).astype(np.int64)
    day0 = int(day_idx.min()) if len(day_idx) else 0
    n_days = int(day_idx.max()) - day0 + 2 if len(day_idx) else 2
    daily = np.zeros((n_days, n_items), dtype=np.float32)
    np.add.at(daily, (day_idx - day0 + 1, rows.buy_item), 1.0)
    return {"day0": day0, "daily_cum": np.cumsum(daily, axis=0)}


def _share_pattern(matrices: list[sp.csr_matrix]) -> None:
    """Make the matrices that store exactly the first one's (user, item) pairs (counts, days, quantities, decayed
    baskets, user vectors: every pair a shopper bought) use its index arrays, so memory and a saved ranker (pickle
    keeps shared objects once) hold them once. shopper_rows already builds the pair matrices on one index array;
    this catches the user vectors, made on their own. Safe because nothing changes a History's index arrays in
    place: live updates (genpage.rank.live.splice_rows) build new matrices."""
    first = matrices[0]
    for matrix in matrices[1:]:
        same = (matrix.shape == first.shape and matrix.indptr.dtype == first.indptr.dtype
                and matrix.indices.dtype == first.indices.dtype and np.array_equal(matrix.indptr, first.indptr)
                and np.array_equal(matrix.indices, first.indices))  # fmt: skip
        if same:
            matrix.indptr, matrix.indices = first.indptr, first.indices


def _basket_items(rows: ShopperRows, n_items: int) -> sp.csr_matrix:
    """(baskets, items): which items each basket holds."""
    n_baskets = int(rows.buy_basket.max()) + 1 if len(rows.buy_basket) else 0
    return sp.csr_matrix((np.ones(len(rows.buy_basket)), (rows.buy_basket, rows.buy_item)), shape=(n_baskets, n_items))


def _recent_queries(events: pd.DataFrame, use: np.ndarray) -> dict[str, list[str]]:
    """Each user's last five search queries, oldest first, from the events where `use` is true."""
    queries: dict[str, list[str]] = {}
    if "query" in events.columns:
        searches = events[(events["type"] == "search").to_numpy(bool) & events["query"].notna().to_numpy(bool) & use]
        for uid, group in searches.groupby("user_id", sort=False):
            queries[str(uid)] = group.sort_values("timestamp", kind="stable")["query"].astype(str).tolist()[-5:]
    return queries
