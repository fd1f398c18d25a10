"""Next-basket baselines from the literature's reality check, each an evaluation `Method` over the whole catalogue.

Li, Jullien, Ariannezhad, de Rijke, "A Next Basket Recommendation Reality Check", ACM TOIS 41(4), 2023, found that
simple time-aware neighbourhood methods match or beat most deep next-basket models. These are those methods:

- `top_freq`: P-TopFreq + G-TopFreq. A shopper's own items by how many of their baskets hold them (ties by global
  popularity), then every other item by global popularity (baskets holding it).
- `recent_popularity`: the items in the most baskets in the `window` days strictly before the day of the basket
  to predict (the time-aware peer of genpage's trend feature).
- `tifu_knn`: TIFU-KNN (Hu, He, Gao, Zhang, SIGIR 2020), as the authors' code computes it: a shopper's n baskets
  (binary item vectors b_1..b_n, oldest first) are decayed by position, r_b^(n-i) b_i, and cut into `n_groups`
  consecutive blocks of equal size (the last blocks one longer; one block per basket when n < n_groups); a
  block's vector is the mean of its decayed baskets, and the shopper's vector is
  u = (1/G') sum_j r_g^(n_groups-j) g_j (j = 1..G' blocks, oldest first); the prediction is
  alpha * u + (1 - alpha) * the mean vector of the `k` nearest shoppers (Euclidean; the shopper is among them).
- `up_cf`: UP-CF@r (Faggioli, Polato, Aiolli, UMAP 2020). Recency-aware user-wise popularity
  p_r(v, i) = (share of v's last r baskets that hold i), spread by user-based CF:
  score(u, i) = sum_v w(u, v)^q p_r(v, i), with the asymmetric cosine w(u, v) = |I_u & I_v| / (|I_u|^a |I_v|^(1-a))
  over the sets of items bought (w(u, u) = 1, so the shopper's own recent items count most).

Each takes the training set's `Baskets`. The tuned ones are scored on a `Validation` (every training shopper's
latest basket held out) over a small grid, the same budget as ALS and BPR (`baselines.tuned_factor_model`), then
refitted on the whole training set.
A score below 1e-6 of an item's popularity is added everywhere as a tie-break (global popularity fills a list).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from genpage.evaluation.protocol import Method, Split, evaluate_methods
from genpage.events import basket_keys, to_days
from genpage.rank.split import split_last_basket

logger = logging.getLogger(__name__)


@dataclass
class Baskets:
    """Training purchases as baskets: one binary row per basket, its shopper and day, oldest basket first."""

    items: sp.csr_matrix  # (baskets, items) 1 where the basket holds the item
    user: np.ndarray  # (baskets,) shopper row
    day: np.ndarray  # (baskets,) the basket's day (float days since the epoch)
    user_index: dict[str, int]

    @classmethod
    def of(cls, train: pd.DataFrame, item_ids: list[str]) -> Baskets:
        index = {item: i for i, item in enumerate(item_ids)}
        buys = train[(train["type"] == "purchase") & train["item_id"].isin(index)].copy()
        buys["user_id"] = buys["user_id"].astype(str)
        buys["basket"] = buys["user_id"] + "|" + basket_keys(buys).to_numpy()
        buys["day"] = to_days(buys["timestamp"])
        day = buys.groupby("basket", sort=False)["day"].max()
        buys["basket_day"] = buys["basket"].map(day)
        buys = buys.sort_values(["basket_day", "basket"], kind="stable")
        codes, uniques = pd.factorize(buys["basket"], sort=False)
        users = sorted(buys["user_id"].unique())
        user_index = {u: i for i, u in enumerate(users)}
        first = pd.Series(range(len(codes))).groupby(codes).first().to_numpy()
        owner = buys["user_id"].to_numpy()[first]
        items = sp.csr_matrix((np.ones(len(codes)), (codes, buys["item_id"].map(index).to_numpy())),
                              shape=(len(uniques), len(item_ids)))  # fmt: skip
        items.data[:] = 1.0  # an item twice in a basket counts once
        return cls(items=items, user=np.array([user_index[u] for u in owner], dtype=np.int64),
                   day=buys["basket_day"].to_numpy()[first], user_index=user_index)  # fmt: skip

    @property
    def n_users(self) -> int:
        return len(self.user_index)

    def user_items(self) -> sp.csr_matrix:
        """(shoppers, items): how many of each shopper's baskets hold each item."""
        owner = sp.csr_matrix((np.ones(len(self.user)), (self.user, np.arange(len(self.user)))),
                              shape=(self.n_users, len(self.user)))  # fmt: skip
        return (owner @ self.items).tocsr()

    def popularity(self) -> np.ndarray:
        """Baskets holding each item."""
        return np.asarray(self.items.sum(axis=0)).ravel()

    def per_user(self) -> list[np.ndarray]:
        """Each shopper's basket rows, oldest first."""
        order = np.argsort(self.user, kind="stable")  # baskets are oldest first, so each group stays in order
        bounds = np.searchsorted(self.user[order], np.arange(self.n_users + 1))
        return [order[bounds[u] : bounds[u + 1]] for u in range(self.n_users)]


def _rows(matrix: np.ndarray | sp.csr_matrix, user_index: dict[str, int], users: list[str]) -> np.ndarray:
    """Dense rows of a (shoppers, items) matrix for `users`; zeros for shoppers not in training."""
    rows = np.array([user_index.get(u, -1) for u in users])
    out = np.zeros((len(users), matrix.shape[1]), dtype=np.float64)
    known = rows >= 0
    if known.any():
        picked = matrix[rows[known]]
        out[known] = picked.toarray() if sp.issparse(picked) else picked
    return out


def _tie_break(popularity: np.ndarray) -> np.ndarray:
    return 1e-6 * popularity / max(float(popularity.max()), 1.0)


def top_freq(baskets: Baskets) -> Method:
    """P-TopFreq + G-TopFreq (no hyper-parameters)."""
    own = baskets.user_items()
    popularity = baskets.popularity()
    fill = popularity / (popularity.max() + 1.0)  # < 1: below any own item

    def scores(users: list[str], days: np.ndarray, explore: bool) -> np.ndarray:
        return _rows(own, baskets.user_index, users) + fill

    return Method("p-topfreq+g-topfreq", scores)


def recent_popularity(baskets: Baskets, params: dict[str, Any]) -> Method:
    """Baskets holding each item in the `window` days strictly before the day to predict."""
    window = float(params["window"])
    day0 = int(np.floor(baskets.day.min())) if len(baskets.day) else 0
    n_days = int(np.floor(baskets.day.max())) - day0 + 2 if len(baskets.day) else 2
    per_day = sp.csr_matrix((np.ones(len(baskets.day)), (np.floor(baskets.day).astype(np.int64) - day0 + 1,
                                                          np.arange(len(baskets.day)))),
                            shape=(n_days, len(baskets.day))) @ baskets.items  # fmt: skip
    cumulative = np.cumsum(per_day.toarray(), axis=0)  # row d: baskets up to and including day0 + d - 1
    tie = _tie_break(baskets.popularity())

    def at(day: float) -> np.ndarray:
        return cumulative[int(np.clip(np.floor(day) - day0, 0, n_days - 1))]  # through the day before `day`

    def scores(users: list[str], days: np.ndarray, explore: bool) -> np.ndarray:
        return np.vstack([at(d) - at(d - window) for d in days]) + tie

    return Method("recent-popularity", scores)


def _tifu_groups(n_baskets: int, n_groups: int) -> list[range]:
    """The authors' partition of a history of `n_baskets` (oldest first) into `n_groups` consecutive blocks of
    equal size, the last blocks one basket longer when it does not divide; one block per basket when there are
    fewer baskets than groups."""
    if n_baskets < n_groups:
        return [range(i, i + 1) for i in range(n_baskets)]
    base, extra = divmod(n_baskets, n_groups)
    sizes = [base] * (n_groups - extra) + [base + 1] * extra
    starts = np.cumsum([0, *sizes])
    return [range(int(starts[i]), int(starts[i + 1])) for i in range(n_groups)]


def _tifu_vectors(baskets: Baskets, n_groups: int, r_b: float, r_g: float) -> np.ndarray:
    """Each shopper's TIFU vector (see the module docstring)."""
    items = baskets.items.tocsr()
    vectors = np.zeros((baskets.n_users, items.shape[1]))
    for user, rows in enumerate(baskets.per_user()):
        if not len(rows):
            continue
        decayed = items[rows].multiply(r_b ** np.arange(len(rows) - 1, -1, -1)[:, None]).tocsr()
        groups = _tifu_groups(len(rows), n_groups)
        for index, group in enumerate(groups):
            mean = np.asarray(decayed[group.start : group.stop].mean(axis=0)).ravel()
            vectors[user] += r_g ** (n_groups - index - 1) * mean
        vectors[user] /= len(groups)
    return vectors


def tifu_knn(baskets: Baskets, params: dict[str, Any]) -> Method:
    """TIFU-KNN with `n_groups`, `r_b`, `r_g`, `k` neighbours (the shopper among them) and `alpha`."""
    from sklearn.neighbors import NearestNeighbors

    vectors = _tifu_vectors(baskets, int(params["n_groups"]), float(params["r_b"]), float(params["r_g"]))
    k = min(int(params["k"]), baskets.n_users)
    _, neighbours = NearestNeighbors(n_neighbors=k, algorithm="brute").fit(vectors).kneighbors(vectors)
    rows = np.repeat(np.arange(len(neighbours)), neighbours.shape[1])
    averaging = sp.csr_matrix((np.full(neighbours.size, 1.0 / k), (rows, neighbours.ravel())),
                              shape=(len(vectors), len(vectors)))  # fmt: skip
    neighbour_mean = averaging @ vectors  # each shopper's k nearest, averaged
    alpha = float(params["alpha"])
    predicted = alpha * vectors + (1.0 - alpha) * neighbour_mean
    tie = _tie_break(baskets.popularity())

    def scores(users: list[str], days: np.ndarray, explore: bool) -> np.ndarray:
        return _rows(predicted, baskets.user_index, users) + tie

    return Method("tifu-knn", scores)


def up_cf(baskets: Baskets, params: dict[str, Any]) -> Method:
    """UP-CF@r with recency window `r` baskets (0: all), asymmetric-cosine `a` and locality `q`."""
    recent, n_items = int(params["r"]), baskets.items.shape[1]
    items = baskets.items.tocsr()
    popularity_rows, cols, values = [], [], []
    for user, rows in enumerate(baskets.per_user()):
        last = rows[-recent:] if recent else rows
        counts = np.asarray(items[last].sum(axis=0)).ravel()
        hit = np.nonzero(counts)[0]
        popularity_rows += [user] * len(hit)
        cols += hit.tolist()
        values += (counts[hit] / len(last)).tolist()
    user_pop = sp.csr_matrix((values, (popularity_rows, cols)), shape=(baskets.n_users, n_items))
    bought = baskets.user_items().astype(bool).astype(np.float64)
    overlap = (bought @ bought.T).tocoo()  # |I_u & I_v|
    size = np.asarray(bought.sum(axis=1)).ravel()
    a, q = float(params["a"]), float(params["q"])
    weight = (overlap.data / (size[overlap.row] ** a * size[overlap.col] ** (1.0 - a))) ** q
    similarity = sp.csr_matrix((weight, (overlap.row, overlap.col)), shape=overlap.shape)  # w(u, u) = 1
    predicted = (similarity @ user_pop).tocsr()
    tie = _tie_break(baskets.popularity())

    def scores(users: list[str], days: np.ndarray, explore: bool) -> np.ndarray:
        return _rows(predicted, baskets.user_index, users) + tie

    return Method("up-cf@r", scores)


Builder = Callable[..., Method]
GRIDS: dict[str, list[dict[str, Any]]] = {
    "recent-popularity": [{"window": w} for w in (7, 14, 30, 60, 120)],
    # 8 points each, the budget of ALS's grid; ranges around the authors' reported best settings
    "tifu-knn": [{"n_groups": m, "r_b": 0.9, "r_g": rg, "k": 300, "alpha": al}
                 for m in (3, 7) for rg in (0.6, 0.9) for al in (0.7, 0.9)],  # fmt: skip
    "up-cf@r": [{"r": r, "a": a, "q": q} for r in (1, 5) for a in (0.25, 0.75) for q in (1, 5)],
}
BUILDERS: dict[str, Builder] = {"recent-popularity": recent_popularity, "tifu-knn": tifu_knn, "up-cf@r": up_cf}


@dataclass
class Validation:
    """What every tuned baseline is scored on, built once: the training set with each training shopper's latest
    basket held out, and the baskets of what is left."""

    split: Split
    baskets: Baskets

    @classmethod
    def of(cls, split: Split) -> Validation:
        before, held = split_last_basket(split.train)
        return cls(Split(train=before, held=held, item_ids=split.item_ids), Baskets.of(before, split.item_ids))


def tuned(name: str, baskets: Baskets, validation: Validation, item_vectors: np.ndarray,
          k: int = 10) -> tuple[Method, dict[str, Any]]:  # fmt: skip
    """Pick `name`'s parameters from `GRIDS` on `validation`, then fit on `baskets` (all of the training set)."""
    build, grid = BUILDERS[name], GRIDS[name]
    best, best_ndcg = grid[0], -1.0
    for params in grid:
        method = build(validation.baskets, params)
        scored = evaluate_methods(validation.split, [method], item_vectors, k=k, slices=("all",))
        ndcg = scored[method.name]["all"].metrics[f"ndcg@{k}"]
        logger.info("%s %s: validation ndcg@%d %.4f", name, params, k, ndcg)
        if ndcg > best_ndcg:
            best, best_ndcg = params, ndcg
    started = time.perf_counter()
    method = build(baskets, best)
    method.fit_seconds = time.perf_counter() - started
    return method, {**best, "validation_ndcg": best_ndcg}
