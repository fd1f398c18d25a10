"""Live updates of a fitted ranker: a shopper's new events change their own rows at once, nothing else.

    update_users(ranker, store, ["12347"])     # their events re-read from the store, their rows spliced in

A shopper's rows (baskets, times, quantities, decayed baskets, other interactions, returns, last basket, the
per-user statistics, their unit vector for user-kNN and their recent searches) are rebuilt from all their own
events by `features.user_state`, exactly as a full `History.build` computes them, and spliced into a copy of the
history's sparse arrays (one concatenation per array, no refit); the ranker then swaps the new History in by
reference, so a page being ranked keeps the history it started with. A shopper the history has never seen gets
new rows at the end. Not updated here, because they depend on every shopper: the item-item neighbourhoods, the
item statistics and daily sales (trends), the ALS item factors and the scorer; those are refitted in the
background by the engine when enough has changed. The shopper's ALS factors are folded in against the fixed item
factors (one least-squares solve), which a full refit would compute differently (it moves the item factors too).
"""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from genpage.rank.features import ALS_ALPHA, ALS_PARAMS, History, user_state

if TYPE_CHECKING:
    from genpage.rank.ranker import Ranker
    from genpage.store import Store

logger = logging.getLogger(__name__)

USER_MATRICES = ("baskets", "decay", "last_t", "first_t", "qty", "interact", "returned", "last_basket",
                 "user_vectors")  # fmt: skip
USER_ARRAYS = ("u_baskets", "u_last_t", "u_first_t", "u_repeat_share")
_EVENT_COLUMNS = "id, user_id, type, item_id, query, quantity, value, timestamp, rating, session_id"


def user_events(store: Store, user_ids: list[str]) -> pd.DataFrame:
    """The shoppers' events from the store, as `Store.events_frame` gives them (ordered by time, then id)."""
    frames = []
    for start in range(0, len(user_ids), 500):
        chunk = user_ids[start : start + 500]
        rows = store.query(f"SELECT {_EVENT_COLUMNS} FROM events WHERE user_id IN ({','.join('?' * len(chunk))}) "
                           "ORDER BY timestamp, id", chunk)  # fmt: skip
        frames.append(pd.DataFrame([tuple(r) for r in rows], columns=[c.strip() for c in _EVENT_COLUMNS.split(",")]))
    frame = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=_EVENT_COLUMNS.split(", "))
    frame = frame.sort_values(["timestamp", "id"], kind="stable", ignore_index=True)
    frame["user_id"] = frame["user_id"].astype(str)
    frame["timestamp"] = pd.to_datetime(frame["timestamp"])
    return frame


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


def with_users(history: History, events: pd.DataFrame, user_ids: list[str]) -> History:
    """A new History whose rows for `user_ids` are rebuilt from `events` (all of those shoppers' events); every
    other row and every item-level part is shared with `history`, which is left as it was (except the dense
    transposed user vectors, whose columns for known shoppers are overwritten in place)."""
    user_ids = list(dict.fromkeys(str(u) for u in user_ids))
    state = user_state(events, history.item_ids, user_ids)
    user_index = dict(history.user_index)
    for uid in user_ids:
        user_index.setdefault(uid, len(user_index))
    rows = np.array([user_index[u] for u in user_ids], dtype=np.int64)
    n_rows = len(user_index)
    changes: dict[str, Any] = {"user_index": user_index}
    for name in USER_MATRICES:
        changes[name] = splice_rows(getattr(history, name), rows, state[name], n_rows)
    for name in USER_ARRAYS:
        old = getattr(history, name)
        grown = np.concatenate([old, np.zeros(n_rows - len(old), dtype=old.dtype)])
        grown[rows] = state[name]
        changes[name] = grown
    if history.user_factors is not None and history.item_factors is not None:
        factors = history.user_factors
        grown = np.concatenate([factors, np.zeros((n_rows - len(factors), factors.shape[1]), factors.dtype)])
        grown[rows] = fold_in(history.item_factors, state["baskets"])
        changes["user_factors"] = grown
    queries = dict(history.queries)
    for uid in user_ids:
        queries.pop(uid, None)
    queries.update(state["queries"])
    changes["queries"] = queries
    if state["now"] is not None:
        changes["now"] = max(history.now, state["now"])
    dense_t = history.user_vectors_t
    if dense_t is not None:
        known = rows < dense_t.shape[1]
        dense_t[:, rows[known]] = state["user_vectors"][np.nonzero(known)[0]].toarray().T
    return replace(history, **changes)


def update_users(ranker: Ranker, store: Store, user_ids: list[str], store_version: int | None = None) -> History:
    """Re-read the shoppers' events from `store` and swap a history with their rows rebuilt into `ranker`."""
    history = ranker.history
    if history is None:
        raise RuntimeError("the ranker is not fitted")
    updated = with_users(history, user_events(store, list(user_ids)), list(user_ids))
    ranker.swap_history(updated, store_version)
    return updated
