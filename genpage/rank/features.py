"""What the ranker knows about users and items, computed once from an events frame, and the per-candidate features.

`History.build(events, item_ids)` turns events into sparse user x item matrices (how many baskets hold an item, when
it was last and first bought, a basket-recency-decayed vector in the spirit of TIFU-kNN, other interactions, returns),
per-user and per-item statistics (rhythm of visits, rebuy rates and gaps, daily sales for trends) and two item-item
neighbourhoods (shoppers who bought i also bought j; bought in the same basket) and implicit-ALS latent factors of the
basket counts (the "als" feature: it helps most on items new to the user). `feature_block` turns a batch of
users at their own "now" into dense (users x items) feature planes; nothing here calls a model.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from genpage.events import basket_keys, to_days

logger = logging.getLogger(__name__)

# How much an event of each type says about interest, relative to a purchase.
EVENT_WEIGHTS = {"purchase": 1.0, "add_to_cart": 0.5, "review": 0.6, "click": 0.3, "view": 0.2}
BASKET_DECAY = 0.9  # weight of a basket = BASKET_DECAY ** (baskets since it)
TREND_DAYS = 30
NEIGHBOURS_PER_ITEM = 200
NEIGHBOUR_USERS = 50
ALS_PARAMS = {"factors": 64, "regularization": 1.0, "iterations": 15}  # implicit ALS, the latent-factor feature
ALS_ALPHA = 2.0  # confidence = 1 + ALS_ALPHA * log1p(baskets)
DENSE_LIMIT = 60_000_000  # keep item-item and user matrices dense (fast batch products) below this many cells

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
}
FEATURES: list[str] = [name for names in FEATURE_GROUPS.values() for name in names]


def _cosine_topk(matrix: sp.csr_matrix, k: int) -> sp.csr_matrix:
    """Item-item cosine over the rows of `matrix` (rows = users or baskets, cols = items), top k per item."""
    binary = matrix.copy().tocsc().astype(np.float32)
    binary.data[:] = 1.0
    norms = np.sqrt(np.asarray(binary.sum(axis=0)).ravel())
    norms[norms == 0] = 1.0
    co = (binary.T @ binary).tocsr().astype(np.float32)
    co.setdiag(0.0)
    co.eliminate_zeros()
    co = sp.diags(1.0 / norms) @ co @ sp.diags(1.0 / norms)
    co = co.tocsr()
    rows, cols, vals = [], [], []
    for i in range(co.shape[0]):
        start, end = co.indptr[i], co.indptr[i + 1]
        if end == start:
            continue
        data, idx = co.data[start:end], co.indices[start:end]
        if end - start > k:
            keep = np.argpartition(-data, k)[:k]
            data, idx = data[keep], idx[keep]
        rows.append(np.full(len(idx), i))
        cols.append(idx)
        vals.append(data)
    if not rows:
        return sp.csr_matrix(co.shape, dtype=np.float32)
    return sp.csr_matrix(
        (np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=co.shape, dtype=np.float32
    )


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
    daily_cum: np.ndarray  # (items, days+1) cumulative purchases per day
    sim_user: sp.csr_matrix | np.ndarray  # bought by the same shoppers
    sim_basket: sp.csr_matrix | np.ndarray  # bought in the same basket
    user_vectors: sp.csr_matrix  # row-normalised decay (for user-kNN)
    user_factors: np.ndarray | None = None  # implicit ALS over basket counts (None: too little data or no implicit)
    item_factors: np.ndarray | None = None
    queries: dict[str, list[str]] = field(default_factory=dict)
    now: float = 0.0  # the latest event's day
    # user_vectors transposed and dense, when small enough (DENSE_LIMIT): a faster neighbour product
    user_vectors_t: np.ndarray | None = field(default=None, repr=False)

    @property
    def n_items(self) -> int:
        return len(self.item_ids)

    @classmethod
    def build(cls, events: pd.DataFrame, item_ids: list[str]) -> History:
        events = events[events["user_id"].notna()]
        user_ids = sorted(events["user_id"].astype(str).unique())
        user_index = {u: i for i, u in enumerate(user_ids)}
        shape = (len(user_ids), len(item_ids))
        days = to_days(events["timestamp"]) if len(events) else np.zeros(0)
        known, buys, per_basket = _event_tables(events, item_ids, user_index, days)
        ui = _user_item_table(buys)
        matrices = _user_item_matrices(known, buys, ui, shape)
        interactions = (matrices["baskets"] + matrices["interact"]).tocsr()
        user_vectors = _user_vectors(matrices)
        sim_user = _cosine_topk(interactions, NEIGHBOURS_PER_ITEM)
        sim_basket = _cosine_topk(_basket_items(buys, shape[1]), NEIGHBOURS_PER_ITEM)
        if shape[1] * shape[1] <= DENSE_LIMIT:
            sim_user, sim_basket = sim_user.toarray(), sim_basket.toarray()
        factors = _als_factors(matrices["baskets"])
        history = cls(
            user_index=user_index,
            item_ids=list(item_ids),
            **matrices,
            **_user_stats(per_basket, ui, shape[0]),
            **_item_stats(ui, shape[1]),
            **_daily_sales(buys, shape[1]),
            sim_user=sim_user,
            sim_basket=sim_basket,
            user_vectors=user_vectors,
            user_factors=factors[0],
            item_factors=factors[1],
            queries=_recent_queries(events),
            now=float(days.max()) if len(days) else 0.0,
        )
        if shape[0] * shape[1] <= DENSE_LIMIT:
            history.user_vectors_t = np.ascontiguousarray(user_vectors.T.toarray())
        return history

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
        end = np.clip(np.floor(days).astype(np.int64) - self.day0, 0, self.daily_cum.shape[1] - 1)
        start = np.clip(end - window, 0, None)
        return (self.daily_cum[:, end] - self.daily_cum[:, start]).T

    def neighbour_scores(self, rows: np.ndarray) -> np.ndarray:
        """User-kNN: similarity-weighted mean of the NEIGHBOUR_USERS nearest shoppers' decayed baskets."""
        out = np.zeros((len(rows), self.n_items), dtype=np.float32)
        known = rows >= 0
        if not known.any() or self.user_vectors.shape[0] < 2:
            return out
        vectors = self.user_vectors[rows[known]]
        dense_t = self.user_vectors_t
        if dense_t is None:
            sims = (vectors @ self.user_vectors.T).toarray()
        elif dense_t.shape[1] == self.user_vectors.shape[0]:
            sims = vectors @ dense_t
        else:  # shoppers added since the build (genpage.rank.live) have no dense column yet
            added = (vectors @ self.user_vectors[dense_t.shape[1] :].T).toarray()
            sims = np.hstack([vectors @ dense_t, added])
        sims[np.arange(len(sims)), rows[known]] = 0.0
        k = min(NEIGHBOUR_USERS, sims.shape[1] - 1)
        top = np.argpartition(-sims, k - 1, axis=1)[:, :k]
        weights = np.take_along_axis(sims, top, axis=1)
        dense = sp.csr_matrix((weights.ravel(), (np.repeat(np.arange(len(top)), k), top.ravel())), shape=sims.shape)
        total = np.asarray(dense.sum(axis=1)).ravel()
        total[total == 0] = 1.0
        out[known] = (sp.diags(1.0 / total) @ dense @ self.user_vectors).toarray()
        return out


def _als_factors(baskets: sp.csr_matrix) -> tuple[np.ndarray | None, np.ndarray | None]:
    """(user, item) factors of implicit's ALS on log-confidence basket counts, or (None, None)."""
    if baskets.nnz < 100 or min(baskets.shape) < 2:
        return None, None
    try:
        from implicit.cpu.als import AlternatingLeastSquares
        from threadpoolctl import threadpool_limits
    except ImportError:
        return None, None
    confidence = baskets.astype(np.float32).tocsr(copy=True)
    confidence.data = 1.0 + ALS_ALPHA * np.log1p(confidence.data)
    model = AlternatingLeastSquares(random_state=0, num_threads=1, **ALS_PARAMS)
    with threadpool_limits(1, "blas"):
        model.fit(confidence, show_progress=False)
    return np.ascontiguousarray(model.user_factors, np.float32), np.ascontiguousarray(model.item_factors, np.float32)


def _rows_of(matrix: sp.csr_matrix, safe: np.ndarray) -> sp.csr_matrix:
    """The users' rows of a (users, items) matrix; all empty when the history has no user (no events yet)."""
    return matrix[safe] if matrix.shape[0] else sp.csr_matrix((len(safe), matrix.shape[1]), dtype=matrix.dtype)


def _values_of(values: np.ndarray, safe: np.ndarray) -> np.ndarray:
    """The users' entries of a per-user array; zeros when the history has no user (they are masked as unknown)."""
    return values[safe] if len(values) else np.zeros(len(safe))


def _product(rows: sp.csr_matrix, matrix: sp.csr_matrix | np.ndarray) -> np.ndarray:
    result = rows.astype(np.float32) @ matrix
    return np.asarray(result.toarray() if sp.issparse(result) else result, dtype=np.float32)


def feature_block(
    history: History,
    rows: np.ndarray,
    days: np.ndarray,
    semantic: dict[str, np.ndarray],
    item_price: np.ndarray,
) -> dict[str, np.ndarray]:
    """Dense (batch, items) float32 planes, one per name in FEATURES, for users `rows` at their `days`."""
    n, m = len(rows), history.n_items
    safe = np.where(rows >= 0, rows, 0)
    known = (rows >= 0)[:, None]

    def dense(matrix: sp.csr_matrix) -> np.ndarray:
        return np.where(known, _rows_of(matrix, safe).toarray(), 0.0).astype(np.float32)

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
        overall = history.daily_cum[:, -1] / max(history.daily_cum.shape[1] - 1, 1) * TREND_DAYS
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
            "i_buyers": np.broadcast_to(np.log1p(history.i_buyers)[None, :], (n, m)),
            "i_trend": np.log1p(trend),
            "i_trend_ratio": (trend + 1.0) / (overall[None, :] + 1.0),
            "i_rebuy_rate": np.broadcast_to(history.i_rebuy_rate[None, :], (n, m)),
            "i_rebuy_gap": np.broadcast_to(history.i_rebuy_gap[None, :], (n, m)),
            "i_is_new": np.broadcast_to((history.i_buyers == 0)[None, :].astype(np.float32), (n, m)),
            "i_price": np.broadcast_to(np.log1p(item_price)[None, :], (n, m)),
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
    out = {}
    for name in FEATURES:
        plane = np.asarray(planes[name], dtype=np.float32)
        if not np.isfinite(plane).all():
            plane = np.where(np.isinf(plane), np.nan, plane)
        out[name] = plane
    return out


def user_state(events: pd.DataFrame, item_ids: list[str], user_ids: list[str]) -> dict[str, Any]:
    """What `History.build` computes for each of `user_ids` from their own events alone, their rows in that order:
    the user x item matrices, per-user statistics, normalised user vectors, recent queries and the latest day.
    A full build gives them the same rows (every one of these is computed per user); genpage.rank.live splices
    them into a fitted History when a shopper's events change."""
    user_index = {u: k for k, u in enumerate(user_ids)}
    events = events[events["user_id"].notna() & events["user_id"].astype(str).isin(user_index)]
    shape = (len(user_ids), len(item_ids))
    days = to_days(events["timestamp"]) if len(events) else np.zeros(0)
    known, buys, per_basket = _event_tables(events, item_ids, user_index, days)
    ui = _user_item_table(buys)
    matrices = _user_item_matrices(known, buys, ui, shape)
    return {**matrices, **_user_stats(per_basket, ui, shape[0]), "user_vectors": _user_vectors(matrices),
            "queries": _recent_queries(events), "now": float(days.max()) if len(days) else None}


# ---------------------------------------------------------------------- History.build's pieces
def _user_item_table(buys: pd.DataFrame) -> pd.DataFrame:
    """One row per (user, item) bought: baskets holding it, last and first day, total quantity."""
    return (
        buys.groupby(["u", "i"])
        .agg(baskets=("basket", "nunique"), last=("day", "max"), first=("day", "min"), qty=("qty", "sum"))
        .reset_index()
    )


def _user_vectors(matrices: dict[str, Any]) -> sp.csr_matrix:
    """Each user's decayed baskets plus half their other interactions, as a unit row (for user-kNN)."""
    weighted = (matrices["decay"] + 0.5 * matrices["interact"]).tocsr()
    norms = np.sqrt(np.asarray(weighted.multiply(weighted).sum(axis=1)).ravel())
    norms[norms == 0] = 1.0
    return (sp.diags(1.0 / norms) @ weighted).tocsr().astype(np.float32)


def _event_tables(
    events: pd.DataFrame, item_ids: list[str], user_index: dict[str, int], days: np.ndarray
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """(events on known items, purchases with their basket and its order from the latest, one row per basket)."""
    item_pos = {item: i for i, item in enumerate(item_ids)}
    frame = pd.DataFrame(
        {
            "u": events["user_id"].astype(str).map(user_index).to_numpy(),
            "i": events["item_id"].map(item_pos).to_numpy() if "item_id" in events else np.nan,
            "type": events["type"].to_numpy(),
            "day": days,
            "qty": events["quantity"].fillna(1).to_numpy() if "quantity" in events else 1,
        },
        index=events.index,
    )
    known = frame[frame["i"].notna()].astype({"u": "int64", "i": "int64"})  # typed even with no events
    buys = known[known["type"] == "purchase"].copy()
    buys["basket"] = basket_keys(events.loc[buys.index]).to_numpy()
    per_basket = buys.groupby(["u", "basket"], sort=False).agg(day=("day", "max")).reset_index()
    per_basket["order"] = per_basket.groupby("u")["day"].rank(method="first", ascending=False) - 1
    per_basket["n"] = per_basket.groupby("u")["day"].transform("size")
    buys = buys.merge(per_basket[["u", "basket", "order"]], on=["u", "basket"], how="left")
    return known, buys, per_basket


def _user_item_matrices(
    known: pd.DataFrame, buys: pd.DataFrame, ui: pd.DataFrame, shape: tuple[int, int]
) -> dict[str, Any]:
    """The (users, items) matrices: baskets, times, quantities, decayed baskets, other events, returns."""

    def mat(rows: np.ndarray, cols: np.ndarray, vals: np.ndarray) -> sp.csr_matrix:
        return sp.csr_matrix((vals.astype(np.float64), (rows, cols)), shape=shape).tocsr()

    dec = buys.drop_duplicates(["u", "basket", "i"]).assign(w=lambda f: BASKET_DECAY ** f["order"])
    dec = dec.groupby(["u", "i"])["w"].sum().reset_index()
    uu, ii = ui["u"].to_numpy(), ui["i"].to_numpy()
    lb = buys[buys["order"] == 0].drop_duplicates(["u", "i"])
    others = known[known["type"].isin([t for t in EVENT_WEIGHTS if t != "purchase"])]
    iw = others.assign(w=others["type"].map(EVENT_WEIGHTS)).groupby(["u", "i"])["w"].sum().reset_index()
    ret = known[known["type"] == "return"].drop_duplicates(["u", "i"])
    return {
        "baskets": mat(uu, ii, ui["baskets"].to_numpy()),
        "decay": mat(dec["u"].to_numpy(), dec["i"].to_numpy(), dec["w"].to_numpy()),
        "last_t": mat(uu, ii, ui["last"].to_numpy()),
        "first_t": mat(uu, ii, ui["first"].to_numpy()),
        "qty": mat(uu, ii, ui["qty"].to_numpy()),
        "interact": mat(iw["u"].to_numpy(), iw["i"].to_numpy(), iw["w"].to_numpy()),
        "returned": mat(ret["u"].to_numpy(), ret["i"].to_numpy(), np.ones(len(ret))),
        "last_basket": mat(lb["u"].to_numpy(), lb["i"].to_numpy(), np.ones(len(lb))),
    }


def _user_stats(per_basket: pd.DataFrame, ui: pd.DataFrame, n_users: int) -> dict[str, Any]:
    """Per user: baskets, first and last basket day, share of lines that repeat an earlier basket's item."""
    u_baskets = np.zeros(n_users)
    u_last = np.full(n_users, np.nan)
    u_first = np.full(n_users, np.nan)
    g = per_basket.groupby("u")["day"]
    idx = g.size().index.to_numpy()
    u_baskets[idx] = g.size().to_numpy()
    u_last[idx] = g.max().to_numpy()
    u_first[idx] = g.min().to_numpy()
    uu = ui["u"].to_numpy()
    lines = np.zeros(n_users)
    repeats = np.zeros(n_users)
    np.add.at(lines, uu, ui["baskets"].to_numpy())
    np.add.at(repeats, uu, ui["baskets"].to_numpy() - 1)
    u_repeat_share = np.divide(repeats, lines, out=np.zeros(n_users), where=lines > 0)
    return {"u_baskets": u_baskets, "u_last_t": u_last, "u_first_t": u_first, "u_repeat_share": u_repeat_share}


def _item_stats(ui: pd.DataFrame, n_items: int) -> dict[str, Any]:
    """Per item: buyers, the (smoothed) share who rebuy it and the mean days between their purchases."""
    ii = ui["i"].to_numpy()
    i_buyers = np.bincount(ii, minlength=n_items).astype(np.float64)
    rebuyers = np.bincount(ii[ui["baskets"].to_numpy() > 1], minlength=n_items).astype(np.float64)
    i_rebuy_rate = (rebuyers + 0.1) / (i_buyers + 1.0)
    rep = ui[ui["baskets"] > 1]
    gaps = (rep["last"] - rep["first"]) / (rep["baskets"] - 1)
    gap_sum = np.bincount(rep["i"].to_numpy(), weights=gaps.to_numpy(), minlength=n_items)
    i_rebuy_gap = np.divide(gap_sum, rebuyers, out=np.full(n_items, np.nan), where=rebuyers > 0)
    return {"i_buyers": i_buyers, "i_rebuy_rate": i_rebuy_rate, "i_rebuy_gap": i_rebuy_gap}


def _daily_sales(buys: pd.DataFrame, n_items: int) -> dict[str, Any]:
    """Cumulative purchases per item and day (column 0 is the day before the first sale)."""
    day_idx = np.floor(buys["day"].to_numpy()).astype(np.int64)
    day0 = int(day_idx.min()) if len(day_idx) else 0
    n_days = int(day_idx.max()) - day0 + 2 if len(day_idx) else 2
    daily = np.zeros((n_items, n_days), dtype=np.float32)
    np.add.at(daily, (buys["i"].to_numpy(), day_idx - day0 + 1), 1.0)
    return {"day0": day0, "daily_cum": np.cumsum(daily, axis=1)}


def _basket_items(buys: pd.DataFrame, n_items: int) -> sp.csr_matrix:
    """(baskets, items): which items each basket holds."""
    basket_codes = buys["u"].astype(str) + "|" + buys["basket"].astype(str)
    codes, uniq = pd.factorize(basket_codes)
    return sp.csr_matrix((np.ones(len(codes)), (codes, buys["i"].to_numpy())), shape=(len(uniq), n_items))


def _recent_queries(events: pd.DataFrame) -> dict[str, list[str]]:
    """Each user's last five search queries, oldest first."""
    queries: dict[str, list[str]] = {}
    if "query" in events.columns:
        searches = events[(events["type"] == "search") & events["query"].notna()]
        for uid, group in searches.groupby("user_id", sort=False):
            queries[str(uid)] = group.sort_values("timestamp")["query"].astype(str).tolist()[-5:]
    return queries
