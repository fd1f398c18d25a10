"""User-kNN from an index: each shopper's nearest shoppers, found once when the History is built.

    index = build_neighbours(user_vectors)           # (users, NEIGHBOUR_USERS) rows and cosine similarities
    scores = neighbour_mix(index, user_vectors, rows)   # a page: its shoppers' neighbours' vectors, weighted

A page then costs a few rows of `user_vectors`, not a product against every shopper. The lists are what a product
against every shopper picks (the NEIGHBOUR_USERS most similar, self excluded, ties to the lower row; those with
similarity 0 are left out, as they weigh nothing). `with_shoppers` updates the index after some shoppers' vectors
changed (genpage.rank.live): their own lists are found again, and every other list gains, moves or drops them as a
new build would, up to ties at the last place; a list is searched again only where a changed shopper fell out of it
while it was full.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

NEIGHBOUR_USERS = 50
_MANY = 4096  # shoppers per top-n product when many lists are searched (_search_many)
_KEPT = 64  # similarities kept per shopper by that product: a list's NEIGHBOUR_USERS and room for ties at its end
_BLOCK = 32  # columns whose maximum is compared first when a row's best columns are searched (_top_columns)
Lists = tuple[np.ndarray, np.ndarray]  # (rows, sims) of some shoppers' lists


@dataclass(frozen=True)
class UserNeighbours:
    """Per shopper (a row of the History): the rows of their nearest shoppers, best first, -1 past the last, and
    their cosine similarities (float32, 0 past the last)."""

    rows: np.ndarray
    sims: np.ndarray

    def __len__(self) -> int:
        return len(self.rows)


def _largest(values: np.ndarray, take: int, labels: np.ndarray) -> np.ndarray:
    """Positions (n, take) of the `take` largest values of each row, ties to the smaller label (labels distinct in
    a row), in no particular order: the take-th largest value found by a partition, then every value above it and
    the tied ones with the smallest labels."""
    kth = np.partition(values, values.shape[1] - take, axis=1)[:, values.shape[1] - take, None]
    key = np.where(values > kth, -1, np.where(values == kth, labels, np.iinfo(np.int64).max))
    return np.argpartition(key, take - 1, axis=1)[:, :take]


def _top_columns(sims: np.ndarray, take: int) -> np.ndarray:
    """The columns (n, take) of each row's `take` largest values, best first, ties to the smaller column: what a
    sort of every row by (value descending, column) would put first. Each row's take largest values lie in the take
    blocks of _BLOCK columns with the largest maxima (ties to the earlier block), so only those blocks are searched:
    a partition of every row (70 k shoppers at 16 x) was about 40 % of a fit's user-kNN search when every list
    was picked from whole rows."""
    n, m = sims.shape
    blocks = -(-m // _BLOCK)
    if blocks > 4 * take:
        full = m // _BLOCK
        maxima = np.swapaxes(sims[:, : full * _BLOCK].reshape(n, full, _BLOCK), 1, 2).max(axis=1)  # the fast axis
        if full < blocks:
            maxima = np.hstack([maxima, sims[:, full * _BLOCK :].max(axis=1, keepdims=True)])
        chosen = _largest(maxima, take, np.broadcast_to(np.arange(blocks, dtype=np.int64), (n, blocks)))
        columns = (chosen[:, :, None] * _BLOCK + np.arange(_BLOCK)).reshape(n, -1)
        outside = columns >= m  # the last block's columns past the end
        columns = np.where(outside, m - 1, columns)
        values = np.where(outside, np.float32(-np.inf), np.take_along_axis(sims, columns, axis=1))
        columns = np.where(outside, m, columns)  # after every real column, so never before one in a tie
    else:
        columns, values = np.broadcast_to(np.arange(m, dtype=np.int64), (n, m)), sims
    pick = _largest(values, take, columns)
    found, found_values = np.take_along_axis(columns, pick, axis=1), np.take_along_axis(values, pick, axis=1)
    order = np.lexsort((found, -found_values), axis=1)
    return np.take_along_axis(found, order, axis=1)


def _top(sims: np.ndarray, own: np.ndarray, k: int) -> Lists:
    """The k most similar columns of each row of `sims` (each row's own column excluded), best first, ties to the
    smaller column."""
    n = len(sims)
    rows, best = np.full((n, k), -1, dtype=np.int32), np.zeros((n, k), dtype=np.float32)
    take = min(k, sims.shape[1] - 1)
    if take <= 0 or n == 0:
        return rows, best
    sims[np.arange(n), own] = 0.0
    top = _top_columns(sims, take)
    values = np.take_along_axis(sims, top, axis=1)
    positive = values > 0
    rows[:, :take] = np.where(positive, top, -1)
    best[:, :take] = np.where(positive, values, 0.0)
    return rows, best


def _search(vectors: sp.csr_matrix, own: np.ndarray, k: int, by_item: sp.csr_matrix | None = None, threads: int = 1
            ) -> Lists:  # fmt: skip
    """Lists of the shoppers `own`, from a product of their vectors against everyone's. `by_item`: all the vectors
    transposed (items x users, CSR), for many shoppers (`_search_many`); without it only the columns of their own
    items are transposed, which sums every similarity in the same order (the same float32 numbers)."""
    if not len(own):
        return np.zeros((0, k), np.int32), np.zeros((0, k), np.float32)
    if by_item is not None:
        return _search_many(vectors, own, k, by_item, threads)
    items = np.unique(vectors[own].indices)
    mine, by_item = vectors[own][:, items], vectors[:, items].T.tocsr()
    return _top((mine @ by_item).toarray(), own, k)


def _search_many(vectors: sp.csr_matrix, own: np.ndarray, k: int, by_item: sp.csr_matrix, threads: int) -> Lists:
    """The lists of many shoppers, _MANY at a time: sparse_dot_topn's product keeps each row's _KEPT largest
    similarities (above 0, on `threads` threads), the same float32 sums as scipy's product; each list is then picked
    from them as `_top` picks it. Where the kept ones may not hold every tie at a list's last place (the row's
    smallest kept value is the last place's), that shopper's list is searched again as a whole row: exact either
    way. The dense rows and the sparse product of every pair were about 2 x the time."""
    from sparse_dot_topn import sp_matmul_topn

    rows, sims = np.full((len(own), k), -1, dtype=np.int32), np.zeros((len(own), k), dtype=np.float32)
    kept = max(_KEPT, k + 1)
    for start in range(0, len(own), _MANY):
        some = own[start : start + _MANY]
        found = sp_matmul_topn(vectors[some], by_item, top_n=kept, threshold=0.0, n_threads=threads or None)
        counts = np.diff(found.indptr)
        width = max(int(counts.max()), 1) if len(counts) else 1
        place = np.arange(found.nnz) - np.repeat(found.indptr[:-1], counts)
        values = np.full((len(some), width), -np.inf, dtype=np.float32)
        columns = np.full((len(some), width), np.iinfo(np.int32).max, dtype=np.int64)
        line = np.repeat(np.arange(len(some)), counts)
        values[line, place], columns[line, place] = found.data, found.indices
        smallest = np.where(counts > 0, values.min(axis=1, initial=np.inf, where=np.isfinite(values)), np.inf)
        values[columns == some[:, None]] = -np.inf  # a shopper is not their own neighbour
        order = np.lexsort((columns, -values), axis=1)[:, :k]
        best, best_columns = np.take_along_axis(values, order, axis=1), np.take_along_axis(columns, order, axis=1)
        if best.shape[1] < k:
            best = np.hstack([best, np.full((len(some), k - best.shape[1]), -np.inf, np.float32)])
            best_columns = np.hstack([best_columns, np.zeros((len(some), k - best_columns.shape[1]), np.int64)])
        listed = np.isfinite(best)
        rows[start : start + len(some)] = np.where(listed, best_columns, -1)
        sims[start : start + len(some)] = np.where(listed, best, 0.0)
        again = np.nonzero((counts == kept) & (best[:, -1] <= smallest))[0]
        if len(again):
            rows[start + again], sims[start + again] = _top((vectors[some[again]] @ by_item).toarray(), some[again], k)
    return rows, sims


def build_neighbours(user_vectors: sp.csr_matrix, k: int = NEIGHBOUR_USERS, only: np.ndarray | None = None,
                     threads: int = 1) -> UserNeighbours:  # fmt: skip
    """Every shopper's k nearest shoppers by the cosine of their unit vectors; with `only` (rows), just those
    shoppers' lists (each the list a full build gives it), the others left empty: a ranker fit's training history
    needs the lists of the shoppers it learns from, a few thousand, not of every shopper. The search runs on
    `threads` threads; the lists do not depend on how many."""
    vectors = as_float32(user_vectors)
    own = np.arange(vectors.shape[0]) if only is None else np.unique(np.asarray(only, dtype=np.int64))
    found, sims = _search(vectors, own, k, vectors.T.tocsr(), threads)
    if only is None:
        return UserNeighbours(found, sims)
    rows = np.full((vectors.shape[0], k), -1, dtype=np.int32)
    best = np.zeros((vectors.shape[0], k), dtype=np.float32)
    rows[own], best[own] = found, sims
    return UserNeighbours(rows, best)


def as_float32(matrix: sp.csr_matrix) -> sp.csr_matrix:
    """`matrix` as CSR with float32 values; a canonical CSR matrix keeps its index arrays (scipy's astype copies
    them: a History's float32 matrices would not share theirs)."""
    if not sp.isspmatrix_csr(matrix) or not matrix.has_canonical_format:
        return matrix.astype(np.float32).tocsr()
    if matrix.dtype == np.float32:
        return matrix
    return sp.csr_matrix((matrix.data.astype(np.float32), matrix.indices, matrix.indptr), shape=matrix.shape,
                         copy=False)  # fmt: skip


def neighbour_mix(index: UserNeighbours, user_vectors: sp.csr_matrix, rows: np.ndarray) -> np.ndarray:
    """(batch, items) user-kNN scores: the similarity-weighted mean of each shopper's neighbours' vectors (zeros for
    rows < 0, shoppers the History has never seen)."""
    out = np.zeros((len(rows), user_vectors.shape[1]), dtype=np.float32)
    known = np.nonzero(rows >= 0)[0]
    if not len(known):
        return out
    listed, weights = index.rows[rows[known]], index.sims[rows[known]]
    held = listed >= 0
    batch = np.repeat(np.arange(len(known)), held.sum(axis=1))
    mix = sp.csr_matrix((weights[held], (batch, listed[held])), shape=(len(known), user_vectors.shape[0]))
    total = np.asarray(mix.sum(axis=1)).ravel()
    total[total == 0] = 1.0
    out[known] = (sp.diags(1.0 / total) @ mix @ user_vectors).toarray()
    return out


def with_shoppers(index: UserNeighbours, user_vectors: sp.csr_matrix, changed: np.ndarray) -> UserNeighbours:
    """A new index for `user_vectors` (the old one's, with the rows `changed` replaced and maybe new rows at the
    end); `index` is left as it is (a page being ranked may hold it)."""
    n, k = user_vectors.shape[0], index.rows.shape[1]
    rows = np.full((n, k), -1, dtype=np.int32)
    sims = np.zeros((n, k), dtype=np.float32)
    rows[: len(index)], sims[: len(index)] = index.rows, index.sims
    changed = np.unique(np.asarray(changed, dtype=np.int64))
    if n < 2 or not len(changed):
        return UserNeighbours(rows, sims)
    vectors = as_float32(user_vectors)
    # every shopper's similarity to each changed one, summed from their own side as a build sums it
    towards = (vectors @ vectors[changed].T.tocsr()).toarray()
    towards[changed, np.arange(len(changed))] = 0.0
    held = np.isin(rows, changed)
    floor = sims[:, -1].copy()  # nobody outside a full list is more similar than its last; 0 where not full
    touched = held.any(axis=1) | (towards > floor[:, None]).any(axis=1)
    touched[changed] = False
    t = np.nonzero(touched)[0]
    if len(t):
        full = rows[t, -1] >= 0
        cand_rows = np.hstack([np.where(held[t], -1, rows[t]), np.broadcast_to(changed, (len(t), len(changed)))])
        cand_sims = np.hstack([np.where(held[t], 0.0, sims[t]), towards[t]]).astype(np.float32)
        order = np.argsort(-cand_sims, axis=1, kind="stable")[:, :k]
        new_sims = np.take_along_axis(cand_sims, order, axis=1)
        new_rows = np.where(new_sims > 0, np.take_along_axis(cand_rows, order, axis=1), -1)
        rows[t], sims[t] = new_rows, np.where(new_sims > 0, new_sims, 0.0)
        again = t[full & (new_sims[:, -1] < floor[t])]  # a changed shopper left a full list: who is next?
        changed = np.concatenate([changed, again])
    rows[changed], sims[changed] = _search(vectors, changed, k)
    return UserNeighbours(rows, sims)
