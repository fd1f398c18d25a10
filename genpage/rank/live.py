"""Live updates of a fitted ranker: a shopper's new events change their own rows at once, nothing else.

    update_users(ranker, store, ["12347"])     # their events re-read from the store, their rows spliced in

A shopper's rows (baskets, times, quantities, decayed baskets, other interactions, returns, last basket, the
per-user statistics, their unit vector for user-kNN and their recent searches) are rebuilt from all their own
events by `genpage.rank.shoppers.shopper_rows`, the function a full `History.build` runs for everyone, here on
the store's rows as numpy arrays (no pandas: a few milliseconds a shopper). They are spliced into copies of the
history's arrays, and the neighbour index is updated (their own lists found again; theirs added to, moved in or
dropped from the others' as a new build would: genpage.rank.neighbours). The ranker then swaps the new History in
by reference, and its shopper records (country) by a new dict: nothing a page being ranked holds is written to,
so it keeps the history it started with. A shopper the history has never seen gets new rows at the end. Not
updated here, because they depend on every shopper: the item-item neighbourhoods, the item statistics and daily
sales (trends), the ALS item factors and the scorer; those are refitted in the background by the engine when
enough has changed. The shopper's ALS factors are folded in against the fixed item factors (one least-squares
solve), which a full refit would compute differently (it moves the item factors too).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from genpage.events import DAY_SECONDS
from genpage.rank.features import ALS_ALPHA, ALS_PARAMS, History, epoch_ns
from genpage.rank.neighbours import with_shoppers
from genpage.rank.shoppers import PURCHASE, TYPE_CODES, EventArrays, shopper_rows, user_vectors
from genpage.schemas import User

if TYPE_CHECKING:
    from genpage.rank.ranker import Ranker
    from genpage.store import Store

logger = logging.getLogger(__name__)

USER_MATRICES = ("baskets", "decay", "last_t", "first_t", "qty", "interact", "returned", "last_basket",
                 "user_vectors")  # fmt: skip
USER_ARRAYS = ("u_baskets", "u_last_t", "u_first_t", "u_repeat_share")
_EVENT_COLUMNS = "user_id, type, item_id, query, quantity, timestamp, session_id"
_MINUTE_NS = 60_000_000_000


def shopper_events(store: Store, user_ids: Sequence[str]) -> list[tuple[Any, ...]]:
    """The shoppers' events from the store (columns _EVENT_COLUMNS), each shopper's in the store's order (time,
    then id), as `Store.events_frame` and so a full build reads them."""
    rows: list[tuple[Any, ...]] = []
    for start in range(0, len(user_ids), 500):
        chunk = list(user_ids[start : start + 500])
        marks = ",".join("?" * len(chunk))
        sql = f"SELECT {_EVENT_COLUMNS} FROM events WHERE user_id IN ({marks}) ORDER BY timestamp, id"
        rows += map(tuple, store.query(sql, chunk))
    return rows


def _epoch_ns(timestamps: Sequence[str]) -> np.ndarray:
    """The store's timestamps (ISO text, naive UTC) as nanoseconds since the epoch, as pandas reads them."""
    try:
        return np.array(timestamps, dtype="datetime64[ns]").astype(np.int64)
    except ValueError:  # not plain ISO text: read as the full build reads it
        return epoch_ns(pd.Series(timestamps))


def shopper_arrays(rows: Sequence[tuple[Any, ...]], user_index: dict[str, int], item_index: dict[str, int]
                   ) -> tuple[EventArrays, dict[str, list[str]], float | None]:  # fmt: skip
    """`shopper_events` rows as EventArrays (shoppers numbered by `user_index`), with each shopper's last five
    searches and the latest event's day (None without events)."""
    n = len(rows)
    users, types, items, queries, quantities, times, sessions = zip(*rows, strict=True) if n else ((),) * 7
    user = np.fromiter((user_index[str(u)] for u in users), dtype=np.int64, count=n)
    item = np.fromiter((item_index.get(i, -1) for i in items), dtype=np.int64, count=n)
    kind = np.fromiter((TYPE_CODES.get(t, -1) for t in types), dtype=np.int64, count=n)
    qty = np.fromiter((1.0 if q is None else q for q in quantities), dtype=np.float64, count=n)
    ns = _epoch_ns(list(times)) if n else np.zeros(0, np.int64)
    day = ns / 1e9 / DAY_SECONDS  # genpage.events.to_days
    basket = np.full(n, -1, dtype=np.int64)
    buy = np.nonzero((item >= 0) & (kind == PURCHASE))[0]
    if len(buy):  # a basket: the session id where there is one, else the minute (as History.build keys them)
        session = np.array(["" if sessions[k] is None else str(sessions[k]) for k in buy], dtype=object)
        by_session = session != ""
        label = np.empty(len(buy), dtype=np.int64)
        named = np.unique(session[by_session], return_inverse=True)[1]
        label[by_session] = named
        label[~by_session] = (named.max() + 1 if len(named) else 0) + np.unique(ns[buy][~by_session] // _MINUTE_NS,
                                                                               return_inverse=True)[1]  # fmt: skip
        basket[buy] = user[buy] * (int(label.max()) + 1) + label
    searches: dict[str, list[str]] = {}
    for u, t, q in zip(users, types, queries, strict=True):
        if t == "search" and q is not None:
            searches.setdefault(str(u), []).append(str(q))
    recent = {u: found[-5:] for u, found in searches.items()}
    return EventArrays(user, item, kind, day, qty, basket), recent, float(day.max()) if n else None


def splice_rows(matrix: sp.csr_matrix, rows: np.ndarray, block: sp.csr_matrix, n_rows: int) -> sp.csr_matrix:
    """A copy of `matrix` (grown to `n_rows` rows) whose row `rows[k]` is `block`'s row k. New rows (past the old
    end) must be the next ones in order, which is how `with_users` numbers them."""
    old_rows = matrix.shape[0]
    lengths = np.zeros(n_rows, dtype=np.int64)
    lengths[:old_rows] = np.diff(matrix.indptr)
    lengths[rows] = np.diff(block.indptr)
    data_parts, index_parts, previous = [], [], 0
    for k in np.argsort(rows, kind="stable"):
        row = int(rows[k])
        start, end = (matrix.indptr[row], matrix.indptr[row + 1]) if row < old_rows else (matrix.nnz, matrix.nnz)
        lo, hi = block.indptr[k], block.indptr[k + 1]
        data_parts += [matrix.data[previous:start], block.data[lo:hi].astype(matrix.dtype)]
        index_parts += [matrix.indices[previous:start], block.indices[lo:hi].astype(matrix.indices.dtype)]
        previous = end
    data_parts.append(matrix.data[previous:])
    index_parts.append(matrix.indices[previous:])
    indptr = np.concatenate([[0], np.cumsum(lengths)])
    return sp.csr_matrix((np.concatenate(data_parts), np.concatenate(index_parts), indptr),
                         shape=(n_rows, matrix.shape[1]))  # fmt: skip


_GRAM: list[tuple[np.ndarray, np.ndarray]] = []  # (item factors, their Gram matrix): computed once per fit


def _gram(item_factors: np.ndarray) -> np.ndarray:
    if not _GRAM or _GRAM[0][0] is not item_factors:
        factors = item_factors.astype(np.float64)
        _GRAM[:] = [(item_factors, factors.T @ factors)]
    return _GRAM[0][1]


def fold_in(item_factors: np.ndarray, baskets: sp.csr_matrix) -> np.ndarray:
    """ALS user factors for these rows of basket counts with the item factors held fixed (the user half-step of
    implicit ALS: confidence 1 + ALS_ALPHA * log1p(baskets), regularisation ALS_PARAMS)."""
    gram = _gram(item_factors)
    reg = float(ALS_PARAMS["regularization"]) * np.eye(item_factors.shape[1], dtype=np.float64)
    out = np.zeros((baskets.shape[0], item_factors.shape[1]), dtype=np.float32)
    for r in range(baskets.shape[0]):
        items = baskets.indices[baskets.indptr[r] : baskets.indptr[r + 1]]
        if not len(items):
            continue
        confidence = 1.0 + ALS_ALPHA * np.log1p(baskets.data[baskets.indptr[r] : baskets.indptr[r + 1]])
        y = item_factors[items].astype(np.float64)
        a = gram + reg + (y.T * (confidence - 1.0)) @ y
        out[r] = np.linalg.solve(a, y.T @ confidence)
    return out


def with_users(history: History, rows: Sequence[tuple[Any, ...]], user_ids: Sequence[str],
               item_index: dict[str, int] | None = None) -> History:  # fmt: skip
    """A new History whose rows for `user_ids` are rebuilt from `rows` (`shopper_events`: all of those shoppers'
    events); every other row and every item-level part is shared with `history`, which is left as it was."""
    user_ids = list(dict.fromkeys(str(u) for u in user_ids))
    if item_index is None:
        item_index = {item: i for i, item in enumerate(history.item_ids)}
    events, queries, latest = shopper_arrays(rows, {u: k for k, u in enumerate(user_ids)}, item_index)
    state = shopper_rows(events, len(user_ids), history.n_items)
    blocks = {**state.matrices, "user_vectors": user_vectors(state.matrices)}
    user_index = dict(history.user_index)
    for uid in user_ids:
        user_index.setdefault(uid, len(user_index))
    at = np.array([user_index[u] for u in user_ids], dtype=np.int64)
    n_rows = len(user_index)
    changes: dict[str, Any] = {"user_index": user_index}
    for name in USER_MATRICES:
        changes[name] = splice_rows(getattr(history, name), at, blocks[name], n_rows)
    for name in USER_ARRAYS:
        old = getattr(history, name)
        grown = np.concatenate([old, np.zeros(n_rows - len(old), dtype=old.dtype)])
        grown[at] = state.stats[name]
        changes[name] = grown
    if history.user_factors is not None and history.item_factors is not None:
        factors = history.user_factors
        grown = np.concatenate([factors, np.zeros((n_rows - len(factors), factors.shape[1]), factors.dtype)])
        grown[at] = fold_in(history.item_factors, state.matrices["baskets"])
        changes["user_factors"] = grown
    rebuilt = set(user_ids)
    changes["queries"] = {u: q for u, q in history.queries.items() if u not in rebuilt} | queries
    if latest is not None:
        changes["now"] = max(history.now, latest)
    changes["neighbours"] = with_shoppers(history.neighbours, changes["user_vectors"], at)
    return replace(history, **changes)


def update_users(ranker: Ranker, store: Store, user_ids: Sequence[str], store_version: int | None = None) -> History:
    """Re-read the shoppers' events and records from `store` and swap into `ranker` a history with their rows
    rebuilt and their records (country) added or replaced."""
    history = ranker.history
    if history is None:
        raise RuntimeError("the ranker is not fitted")
    user_ids = list(dict.fromkeys(str(u) for u in user_ids))
    updated = with_users(history, shopper_events(store, user_ids), user_ids, ranker.item_index)
    records = []
    for start in range(0, len(user_ids), 500):
        chunk = user_ids[start : start + 500]
        records += [User(id=r["id"], country=r["country"]) for r in
                    store.query(f"SELECT id, country FROM users WHERE id IN ({','.join('?' * len(chunk))})", chunk)]
    ranker.swap_history(updated, store_version, users=records)
    return updated
