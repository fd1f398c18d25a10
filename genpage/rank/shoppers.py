"""Shoppers' own rows of the History, from their events as arrays: one numpy path for a full build and a live update.

    rows = shopper_rows(events, n_users, n_items)      # events: EventArrays, in the store's order (time, then id)

Every user x item matrix (baskets holding an item, last and first day, quantity, basket-recency-decayed baskets,
weighted other interactions, returns, the latest basket) and every per-user statistic is computed from each
shopper's own events alone, so `History.build` (everyone, from a frame) and genpage.rank.live (the few shoppers whose
events just came in, from the store's rows, without pandas) call this same function and get the same rows. Sums
run in event order (`np.bincount`), so a shopper's row does not depend on who else is in the arrays.

A basket is a purchase's session id where it has one, else the minute of the purchase (`genpage.events.basket_keys`
keys them as strings; here a session and a minute are told apart by kind, not by a "t:" prefix).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp

# How much an event of each type says about interest, relative to a purchase.
EVENT_WEIGHTS = {"purchase": 1.0, "add_to_cart": 0.5, "review": 0.6, "click": 0.3, "view": 0.2}
BASKET_DECAY = 0.9  # weight of a basket = BASKET_DECAY ** (baskets since it)
PURCHASE, RETURN = 0, 1
TYPE_CODES = {"purchase": PURCHASE, "return": RETURN, **{t: 2 + n for n, t in enumerate(EVENT_WEIGHTS) if n}}
_KIND_WEIGHTS = np.zeros(2 + len(EVENT_WEIGHTS), dtype=np.float64)
for _name, _code in TYPE_CODES.items():
    if _code > RETURN:
        _KIND_WEIGHTS[_code] = EVENT_WEIGHTS[_name]


@dataclass
class EventArrays:
    """Events as arrays, one entry per event, in the store's order (time, then id)."""

    user: np.ndarray  # int64: the shopper's row, 0 .. n_users - 1
    item: np.ndarray  # int64: the item's column, -1 for no item or one the catalogue does not hold
    kind: np.ndarray  # int64: TYPE_CODES, -1 for other types (search ...)
    day: np.ndarray  # float64: days since the epoch (genpage.events.to_days)
    qty: np.ndarray  # float64: quantity (1 where missing)
    basket: np.ndarray  # int64: equal for purchases in one basket of one shopper, any label; unused elsewhere


@dataclass
class ShopperRows:
    """The (n_users, n_items) matrices and per-user arrays of `History`, and the tables the build's item-level
    parts use: one entry per (shopper, item) bought (`pair_*`, sorted by shopper then item) and per purchase."""

    matrices: dict[str, Any]  # name -> sp.csr_matrix
    stats: dict[str, Any]  # name -> np.ndarray
    pair_item: np.ndarray
    pair_baskets: np.ndarray
    pair_last: np.ndarray
    pair_first: np.ndarray
    buy_item: np.ndarray
    buy_day: np.ndarray
    buy_basket: np.ndarray  # 0 .. baskets - 1


def _pattern(pairs: np.ndarray, n_users: int, n_items: int) -> tuple[np.ndarray, np.ndarray, tuple[int, int]]:
    """(indices, indptr, shape) of a CSR matrix from sorted distinct keys user * n_items + item."""
    indptr = np.zeros(n_users + 1, dtype=np.int64)
    np.cumsum(np.bincount(pairs // n_items, minlength=n_users), out=indptr[1:])
    return (pairs % n_items).astype(np.int32), indptr, (n_users, n_items)


def _csr(pattern: tuple[np.ndarray, np.ndarray, tuple[int, int]], values: np.ndarray) -> sp.csr_matrix:
    """A float64 CSR matrix of `values` at `_pattern`'s places (its index arrays shared, not copied)."""
    indices, indptr, shape = pattern
    return sp.csr_matrix((values.astype(np.float64), indices, indptr), shape=shape, copy=False)


def _weighted_pairs(keys: np.ndarray, weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Distinct keys (sorted) and the sum of their weights, added in the arrays' order."""
    distinct, code = np.unique(keys, return_inverse=True)
    return distinct, np.bincount(code, weights=weights, minlength=len(distinct))


def _basket_order(user: np.ndarray, basket: np.ndarray, day: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per purchase: its basket (0 .. baskets - 1, numbered as first seen) and that basket's place from the
    shopper's latest (0 = the latest; a tie in time goes to the basket seen first). Per basket: its shopper and its
    day (its latest line)."""
    labels, first, code = np.unique(basket, return_index=True, return_inverse=True)
    seen = np.argsort(first, kind="stable")
    labels, first = labels[seen], first[seen]
    renumber = np.empty(len(seen), dtype=np.int64)
    renumber[seen] = np.arange(len(seen))
    code = renumber[code]
    basket_day = np.full(len(labels), -np.inf)
    np.maximum.at(basket_day, code, day)
    basket_user = user[first]
    by = np.lexsort((first, -basket_day, basket_user))
    grouped = basket_user[by]
    order = np.empty(len(labels), dtype=np.int64)
    order[by] = np.arange(len(by)) - np.searchsorted(grouped, grouped, side="left")
    return code, order, np.stack([basket_user.astype(np.float64), basket_day])


def shopper_rows(events: EventArrays, n_users: int, n_items: int) -> ShopperRows:
    """What `History` holds per shopper, from their events (see the module's docstring)."""
    known = events.item >= 0
    buy = known & (events.kind == PURCHASE)
    user, item, day = events.user[buy], events.item[buy], events.day[buy]
    code, basket_order, (basket_user, basket_day) = _basket_order(user, events.basket[buy], day)
    n_baskets = len(basket_order)
    order = basket_order[code]
    pair_keys, pair = np.unique(user * n_items + item, return_inverse=True)
    del user, basket_order  # each array is dropped once used: the fit's peak is made in here (16 x: +1 GB)
    n_pairs = len(pair_keys)
    distinct, first_line = np.unique(pair * max(n_baskets, 1) + code, return_index=True)
    pair_baskets = np.bincount(distinct // max(n_baskets, 1), minlength=n_pairs)
    del distinct
    pair_last = np.full(n_pairs, -np.inf)
    pair_first = np.full(n_pairs, np.inf)
    np.maximum.at(pair_last, pair, day)
    np.minimum.at(pair_first, pair, day)
    once = np.sort(first_line)  # each (item, basket) once, in event order
    del first_line
    decay = np.bincount(pair[once], weights=BASKET_DECAY ** order[once].astype(np.float64), minlength=n_pairs)
    del once
    in_last = np.bincount(pair[order == 0], minlength=n_pairs) > 0
    del order
    qty = np.bincount(pair, weights=events.qty[buy], minlength=n_pairs)
    del pair
    other = known & (events.kind > RETURN)
    other_keys, other_weights = _weighted_pairs(events.user[other] * n_items + events.item[other],
                                                _KIND_WEIGHTS[events.kind[other]])  # fmt: skip
    back = known & (events.kind == RETURN)
    returned = np.unique(events.user[back] * n_items + events.item[back])
    bought = _pattern(pair_keys, n_users, n_items)  # one pair of index arrays for the five matrices of every pair
    matrices = {
        "baskets": _csr(bought, pair_baskets),
        "decay": _csr(bought, decay),
        "last_t": _csr(bought, pair_last),
        "first_t": _csr(bought, pair_first),
        "qty": _csr(bought, qty),
        "interact": _csr(_pattern(other_keys, n_users, n_items), other_weights),
        "returned": _csr(_pattern(returned, n_users, n_items), np.ones(len(returned))),
        "last_basket": _csr(_pattern(pair_keys[in_last], n_users, n_items), np.ones(int(in_last.sum()))),
    }
    pair_user = pair_keys // n_items
    stats = _user_stats(basket_user.astype(np.int64), basket_day, pair_user, pair_baskets, n_users)
    return ShopperRows(matrices, stats, pair_keys % n_items, pair_baskets, pair_last, pair_first, item, day, code)


def _user_stats(basket_user: np.ndarray, basket_day: np.ndarray, pair_user: np.ndarray, pair_baskets: np.ndarray,
                n_users: int) -> dict[str, np.ndarray]:  # fmt: skip
    """Per user: baskets, first and last basket day, share of lines that repeat an earlier basket's item."""
    u_baskets = np.bincount(basket_user, minlength=n_users).astype(np.float64)
    u_last = np.full(n_users, -np.inf)
    u_first = np.full(n_users, np.inf)
    np.maximum.at(u_last, basket_user, basket_day)
    np.minimum.at(u_first, basket_user, basket_day)
    none = u_baskets == 0
    u_last[none], u_first[none] = np.nan, np.nan
    lines = np.bincount(pair_user, weights=pair_baskets, minlength=n_users)
    repeats = np.bincount(pair_user, weights=pair_baskets - 1, minlength=n_users)
    u_repeat_share = np.divide(repeats, lines, out=np.zeros(n_users), where=lines > 0)
    return {"u_baskets": u_baskets, "u_last_t": u_last, "u_first_t": u_first, "u_repeat_share": u_repeat_share}


def _row_keys(matrix: sp.csr_matrix) -> np.ndarray:
    """row * columns + column of each stored entry (sorted, for a canonical CSR matrix)."""
    rows = np.repeat(np.arange(matrix.shape[0], dtype=np.int64), np.diff(matrix.indptr))
    return rows * matrix.shape[1] + matrix.indices


def _sorted_union(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """`np.union1d(a, b)`, the sorted distinct values, by one sort: numpy 2.4.6's union1d took 6.9 s on the 4.3 M
    keys of 16 x Online Retail, this 0.1 s."""
    keys = np.concatenate([a, b])
    keys.sort()
    return keys[np.concatenate(([True], keys[1:] != keys[:-1]))] if len(keys) else keys


def user_vectors(matrices: dict[str, sp.csr_matrix]) -> sp.csr_matrix:
    """Each user's decayed baskets plus half their other interactions, as a unit row (for user-kNN); the same
    numbers for one user as for all (what scipy's sum, sum of squares and row scaling would give, without its
    per-call overhead on the live path)."""
    decay, interact = matrices["decay"], matrices["interact"]
    n_users, n_items = decay.shape
    decay_keys, interact_keys = _row_keys(decay), _row_keys(interact)
    keys = _sorted_union(decay_keys, interact_keys)
    weighted = np.zeros(len(keys), dtype=np.float64)
    weighted[np.searchsorted(keys, decay_keys)] = decay.data
    at = np.searchsorted(keys, interact_keys)
    weighted[at] = weighted[at] + 0.5 * interact.data
    indptr = np.zeros(n_users + 1, dtype=np.int64)
    np.cumsum(np.bincount(keys // n_items, minlength=n_users), out=indptr[1:])
    filled = np.flatnonzero(np.diff(indptr))
    norms = np.zeros(n_users, dtype=np.float64)
    if len(filled):
        norms[filled] = np.sqrt(np.add.reduceat(weighted * weighted, indptr[filled]))
    norms[norms == 0] = 1.0
    scaled = (weighted * (1.0 / norms)[keys // n_items]).astype(np.float32)
    return sp.csr_matrix((scaled, (keys % n_items).astype(np.int32), indptr), shape=(n_users, n_items))
