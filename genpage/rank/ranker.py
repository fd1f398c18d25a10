"""The ranker: who should see which product, and why.

    events -> History (features.py) -> candidates (own items, co-purchase and neighbour, semantic, trending)
           -> features -> a learned scorer (gradient-boosted trees trained on each user's latest basket held out)
           -> business rules -> diversity (diversity.py) -> RankedList with a Reason per item

`Ranker.fit(store, encoder)` reads the store (only the columns the fit uses: genpage.rank.fitdata);
`Ranker.fit_frame(events, products, encoder)` is the same thing from an events DataFrame (the benchmark uses it).
`ranker.rank(user_ids)` is batch first. New events reach the ranking at once: `rank` refreshes the user state from
the store when the store has changed (product vectors are never recomputed); genpage.rank.live rebuilds only the
rows of the shoppers who changed. A fitted ranker keeps the aggregates it ranks from (History), never the raw
events: they are read again from the store when needed, so a saved ranker does not grow with the event log.
"""

from __future__ import annotations

import logging
import os
import pickle
import time
import weakref
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from pydantic import TypeAdapter

from genpage.embed.encoder import Encoder, embed_products
from genpage.events import to_days
from genpage.rank import rules as policy
from genpage.rank.catalogue import CandidateBatch, Catalogue
from genpage.rank.diversity import WINDOW, diversify, interest_groups, product_families, top_order
from genpage.rank.features import FEATURE_GROUPS, FEATURES, AlsStart, History, feature_block, users_per_batch
from genpage.rank.fitdata import fit_events, give_back_memory, normalise_events
from genpage.rank.lists import collector_paused, interests, with_sections
from genpage.rank.profile import build_profile, semantic_planes
from genpage.rank.reasons import PageContext, TitleWords, explain
from genpage.rank.rules import RankFilters
from genpage.rank.scorer import fit_scorer, predict
from genpage.rank.split import last_basket_rows
from genpage.resources import map_threads, native_threads, thread_limit
from genpage.schemas import Campaign, Product, RankedItem, RankedList, User

if TYPE_CHECKING:
    from genpage.store import Store

logger = logging.getLogger(__name__)

# Part of the key of a saved ranker (`Engine`): bump when what a pickled Ranker holds changes, so files written by
# an older layout are fitted again instead of loaded (2: the genpage.rank package, `Catalogue`; 3: the History's
# user-neighbour index instead of its dense transposed user vectors; 4: no raw events frame; 5: the History's daily
# sales saved sparse, read back only by its __setstate__; 6: and day-major).
SAVE_FORMAT = 6
NON_CANDIDATE = -1.0  # scores of items outside the candidate set sit below every candidate (model scores are >= 0)
_ITEMS = TypeAdapter(list[RankedItem])  # a list's items from dicts: checked, and faster than model_construct


@dataclass
class RankConfig:
    """How the ranker is built. The `use_*` switches exist for ablations; keep them on in production."""

    use_semantic: bool = True
    use_copurchase: bool = True
    use_repurchase: bool = True
    use_diversity: bool = True
    # The TIFU-style decayed-frequency shares and the week's trend (FEATURE_GROUPS["recency"]): off, as measured on
    # Online Retail (bench/ranking.py --quick) they help the last-basket split (NDCG@10 +1.2 %) and hurt the global one
    # (-1.8 %).
    use_recency: bool = False
    candidates_per_source: int = 50
    max_train_users: int = 3000
    negative_share: float = 0.5  # share of new-to-user negative candidates kept to train the scorer
    # Baskets per shopper the scorer learns from: the latest, then the one before it ... (2 did not help on the
    # validation split of Online Retail and doubles the fit)
    train_baskets: int = 1
    learned: bool = True  # False: a hand-set blend (also used when there is too little data to learn)
    min_train_users: int = 30
    group_penalty: float = 0.05
    dedup_threshold: float = 0.93
    just_bought_days: float = 1.0  # items bought this recently are hidden unless shoppers rebuy them
    repurchasable_rate: float = 0.1  # share of buyers who rebuy an item, above which it counts as repurchasable
    new_arrival_days: float = 30.0
    threads: int = 0  # native threads for BLAS, trees and a fit; 0 = auto: BLAS on one, the rest native_threads
    seed: int = 0

    @property
    def features(self) -> list[str]:
        off = set()
        if not self.use_semantic:
            off |= set(FEATURE_GROUPS["semantic"])
        if not self.use_copurchase:
            off |= set(FEATURE_GROUPS["copurchase"])
        if not self.use_repurchase:
            off |= set(FEATURE_GROUPS["repurchase"])
        if not self.use_recency:
            off |= set(FEATURE_GROUPS["recency"])
        return [f for f in FEATURES if f not in off]


class Ranker:
    def __init__(self, config: RankConfig | None = None):
        self.config = config or RankConfig()
        self.encoder_name = ""
        self.products: list[Product] = []
        self.item_ids: list[str] = []
        self.item_index: dict[str, int] = {}
        self.item_vectors = np.zeros((0, 0), np.float32)
        self._items_t: np.ndarray | None = None  # item_vectors transposed, contiguous: made once at fit or load
        self.history: History | None = None
        self.models: dict[str, Any] = {}
        self.users: dict[str, User] = {}
        self.store: Store | None = None
        self._store_version = -1
        self._encoder: Encoder | Callable[[], Encoder] | None = None  # a loader until `encoder` first needs it
        self._query_cache: dict[str, np.ndarray] = {}
        self.catalogue: Catalogue | None = None
        self._country_cache: dict[str, np.ndarray] = {}  # country -> `rules.country_popularity`
        self._cold_cache: tuple[History, tuple[np.ndarray, np.ndarray, np.ndarray]] | None = None
        self._trend_cache: dict[bytes, np.ndarray] = {}
        self._arrivals_cache: tuple[weakref.ref[History], tuple[float, float], np.ndarray] | None = None  # arrivals
        self._title_words: TitleWords | None = None  # `_words`: made on first use, not saved
        self.fit_seconds = 0.0

    # ------------------------------------------------------------------ fitting
    @classmethod
    def fit(cls, store: Store, encoder: Encoder, config: RankConfig | None = None) -> Ranker:
        """Fit on everything in the store; embeddings come from (and go to) the store's cache. The events are read
        on a thread of their own (mostly one core's work) while the catalogue's part of the fit runs."""
        with ThreadPoolExecutor(1, thread_name_prefix="genpage-fit-read") as pool:
            events = pool.submit(fit_events, store)
            products = store.products()
            users = [User(id=r["id"], country=r["country"]) for r in store.query("SELECT id, country FROM users")]
            _, vectors = embed_products(store, encoder, products)
            ranker = cls.fit_frame(events.result, products, encoder, config, users=users, item_vectors=vectors)
        ranker.store = store
        ranker._store_version = store.version
        return ranker

    @classmethod
    def fit_frame(
        cls,
        events: pd.DataFrame | Callable[[], pd.DataFrame],
        products: list[Product],
        encoder: Encoder | None,
        config: RankConfig | None = None,
        *,
        users: list[User] | None = None,
        item_vectors: np.ndarray | None = None,
    ) -> Ranker:
        """Fit from an events frame (columns user_id, type, item_id, timestamp; optional query, quantity,
        session_id), or a function that returns it (called once the catalogue is prepared). The scorer is trained
        on each user's latest basket, predicted from everything before it."""
        started = time.perf_counter()
        ranker = cls(config)
        ranker._encoder = encoder
        ranker.encoder_name = encoder.name if encoder is not None else ""
        ranker.products = list(products)
        ranker.item_ids = [p.id for p in products]
        ranker.item_index = {item: i for i, item in enumerate(ranker.item_ids)}
        if item_vectors is None:
            if encoder is None:
                raise ValueError("fit_frame needs an encoder or precomputed item_vectors")
            item_vectors = embed_products(None, encoder, ranker.products)[1]
        ranker.item_vectors = np.ascontiguousarray(item_vectors, dtype=np.float32)
        ranker._items_t = np.ascontiguousarray(ranker.item_vectors.T)
        ranker.users = {u.id: u for u in users or []}
        with thread_limit(ranker.config.threads or 1):
            ranker._prepare_catalogue()
            events = normalise_events(events() if callable(events) else events)
            trained = ranker._train(events)
            give_back_memory()  # the training's freed arrays: the full history is built on that base
            ranker.history = History.build(events, ranker.item_ids, threads=ranker._fit_threads(), start=trained)
        ranker.fit_seconds = time.perf_counter() - started
        logger.info("ranker fitted in %.1fs (%s)", ranker.fit_seconds, ", ".join(ranker.models) or "hand-set blend")
        return ranker

    def _prepare_catalogue(self) -> None:
        cfg = self.config
        titles = [p.title for p in self.products]
        self.families = product_families(titles, self.item_vectors, cfg.dedup_threshold, self._fit_threads())
        categories = [p.category for p in self.products]
        if any(categories):
            codes, _ = pd.factorize(pd.Series(categories))
            self.groups = np.asarray(codes, dtype=np.int64)
        else:
            self.groups = interest_groups(self.item_vectors, seed=cfg.seed)
        self.catalogue = Catalogue.build(self.products, self.item_vectors)

    def _train(self, events: pd.DataFrame) -> AlsStart | None:
        """Hold out each user's latest basket, build features from the rest, learn to find the held-out items; with
        `train_baskets` > 1 the basket before it too (predicted from everything before that one), and so on. Returns
        the ALS factors of all but the latest baskets (the full history's ALS starts there), or None."""
        cfg = self.config
        self.models = {}
        if not cfg.learned:
            return None
        rng = np.random.default_rng(cfg.seed)
        parts: list[tuple[np.ndarray, ...]] = []
        latest: AlsStart | None = None  # the first step's factors
        rest: pd.DataFrame | None = events
        users_seen, started = 0, time.perf_counter()
        for step in range(max(cfg.train_baskets, 1)):
            if rest is None:
                break
            keep, held_out = last_basket_rows(rest)
            if step == 0 and len(held_out) < cfg.min_train_users:
                logger.info("only %d users with two baskets: using the hand-set blend", len(held_out))
                return None
            if len(held_out) < cfg.min_train_users:
                break
            if len(held_out) > cfg.max_train_users:
                held_out = held_out.iloc[np.sort(rng.choice(len(held_out), cfg.max_train_users, replace=False))]
            history = History.build(rest, self.item_ids, neighbours_for=list(held_out["user_id"]), keep=keep,
                                    threads=self._fit_threads())
            # the events before this step's baskets: copied only for a next step
            rest = rest[keep].reset_index(drop=True) if step + 1 < cfg.train_baskets else None
            parts.append(self._training_rows(history, held_out, users_seen))
            latest = history.als_start() if step == 0 else latest
            del history
            users_seen += len(held_out)
        rest = None
        x, y, own, users = (np.concatenate(column) for column in zip(*parts, strict=True))
        logger.info("training features in %.1fs", time.perf_counter() - started)
        # Keep every positive and a uniform share of the negatives, re-weighted so the odds stay true.
        sample = y | (rng.random(len(y)) < cfg.negative_share)
        weight = np.where(y, 1.0, 1.0 / cfg.negative_share)[sample]
        x, y, own, users = x[sample], y[sample], own[sample], users[sample]
        for head, mask in (("all", np.ones(len(y), bool)), ("new", ~own)):
            if y[mask].sum() < 5:
                continue
            self.models[head] = fit_scorer(x[mask], y[mask], users[mask], weight[mask], seed=cfg.seed,
                                           threads=self._fit_threads())
        logger.info("trained on %d candidate rows of %d baskets (%.1f%% positive)", len(y), users_seen, 100 * y.mean())
        return latest

    def _training_rows(self, history: History, held_out: pd.DataFrame, offset: int) -> tuple[np.ndarray, ...]:
        """(features, labels, owned, query ids from `offset`) of every candidate of the held-out baskets' shoppers,
        each at their basket's day, from `history` (what came before)."""
        names = self.config.features
        step = users_per_batch(len(self.item_ids))

        def rows_of(start: int) -> tuple[np.ndarray, ...]:
            chunk = held_out.iloc[start : start + step]
            batch = self._batch(history, list(chunk["user_id"]), chunk["day"].to_numpy())
            truth = np.zeros_like(batch.candidates)
            for r, items in enumerate(chunk["items"]):
                idx = [self.item_index[i] for i in items if i in self.item_index]
                truth[r, idx] = True
            rr, cc = np.nonzero(batch.candidates)
            return (np.column_stack([batch.planes[n][rr, cc] for n in names]), truth[rr, cc],
                    batch.planes["ui_baskets"][rr, cc] > 0, rr + start + offset)  # fmt: skip

        # Batches on the fit's threads (numpy releases the GIL in most of a batch): the same rows, in order. Their
        # shoppers' searches are encoded first, in one call, so no two batches encode (or cache) at once.
        self._query_vectors(list(dict.fromkeys(q for u in held_out["user_id"] for q in history.queries.get(u, []))))
        feats, labels, owned, groups = zip(*map_threads(rows_of, range(0, len(held_out), step), self._fit_threads()),
                                           strict=True)  # fmt: skip
        return np.vstack(feats), np.concatenate(labels), np.concatenate(owned), np.concatenate(groups)

    # ------------------------------------------------------------------ saving a fitted ranker
    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state.update(store=None, _encoder=None, _query_cache={}, _store_version=-1, _items_t=None,  # made by load()
                     _arrivals_cache=None, _title_words=None)  # fmt: skip
        return state

    def save(self, path: Path) -> None:
        """Write the fitted ranker (without its store and encoder) to `path`, atomically."""
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        with tmp.open("wb") as fh:
            pickle.dump(self, fh, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(tmp, path)

    @classmethod
    def load(cls, path: Path, store: Store | None, encoder: Encoder | Callable[[], Encoder] | None) -> Ranker:
        """A ranker saved by `save`, attached to `store` and `encoder` (or a function that loads it, called when a
        search query first needs embedding). Only load files genpage wrote: pickle."""
        with path.open("rb") as fh:
            ranker = pickle.load(fh)  # noqa: S301 - our own cache file under GENPAGE_HOME
        if not isinstance(ranker, cls):
            raise TypeError(f"{path} does not hold a Ranker")
        ranker.store, ranker._encoder = store, encoder
        ranker._store_version = store.version if store is not None else -1
        ranker._items_t = np.ascontiguousarray(ranker.item_vectors.T)
        return ranker

    # ------------------------------------------------------------------ state updates
    def swap_history(self, history: History, store_version: int | None = None, users: list[User] | None = None
                     ) -> None:  # fmt: skip
        """Replace the user state with `history`, a per-user update of the current one (genpage.rank.live: same
        items and item statistics), in one reference swap; `store_version`: the store data it reflects; `users`:
        shopper records to add or replace (a new dict is swapped in: a page being ranked may be reading the old)."""
        cached = self._cold_cache
        if cached is not None and cached[0] is self.history:  # cold items depend on item statistics only
            self._cold_cache = (history, cached[1])
        if users:
            self.users = {**self.users, **{u.id: u for u in users}}
        self.history = history
        if store_version is not None:
            self._store_version = store_version

    def _fit_threads(self) -> int:
        """A fit's threads (ALS, trees, neighbour searches, training batches): every core the process may use on
        auto (a live refresh keeps to one)."""
        return native_threads(self.config.threads, large=True)

    def mark_current(self, store_version: int) -> None:
        """The store's data at `store_version` is reflected (the caller rebuilt the changed shoppers' rows)."""
        self._store_version = store_version

    def _refresh_from_store(self) -> None:
        if self.store is None or self.store.version == self._store_version:
            return
        self.history = History.build(normalise_events(fit_events(self.store)), self.item_ids)
        for r in self.store.query("SELECT id, country FROM users"):
            self.users[r["id"]] = User(id=r["id"], country=r["country"])
        self._store_version = self.store.version
        logger.info("user state refreshed from the store")

    # ------------------------------------------------------------------ scoring
    @property
    def encoder(self) -> Encoder | None:
        """The encoder search queries are embedded with (loaded now if `load` was given a loader)."""
        if callable(self._encoder):
            self._encoder = self._encoder()
        return self._encoder

    def _query_vectors(self, queries: list[str]) -> np.ndarray:
        missing = [q for q in queries if q not in self._query_cache]
        if missing and (encoder := self.encoder) is not None:
            for q, v in zip(missing, encoder.encode_queries(missing), strict=False):
                self._query_cache[q] = v
        found = [self._query_cache[q] for q in queries if q in self._query_cache]
        return np.vstack(found) if found else np.zeros((0, self.item_vectors.shape[1]), np.float32)

    def _batch(self, history: History, user_ids: list[str], days: np.ndarray) -> CandidateBatch:
        rows = history.rows(user_ids)
        profiles = []
        for uid, row in zip(user_ids, rows, strict=False):
            profile = build_profile(history, int(row), self.item_vectors)
            profile.queries = self._query_vectors(history.queries.get(uid, []))
            profiles.append(profile)
        planes = feature_block(history, rows, days, semantic_planes(profiles, self._items_transposed()),
                               self._catalogue().price, recency=self.config.use_recency)  # fmt: skip
        return CandidateBatch(rows, days, profiles, planes, self._candidates(planes))

    def _items_transposed(self) -> np.ndarray:
        """(dim, items) item vectors, contiguous: one copy per fit or load, not one per page."""
        items_t = self._items_t
        if items_t is None or items_t.shape[1] != len(self.item_vectors):
            items_t = self._items_t = np.ascontiguousarray(self.item_vectors.T)
        return items_t

    def _candidates(self, planes: dict[str, np.ndarray]) -> np.ndarray:
        cfg = self.config
        n = cfg.candidates_per_source
        mask = (planes["ui_baskets"] > 0) | (planes["ui_interact"] > 0)
        sources = ["i_trend", "i_is_new"]
        if cfg.use_copurchase:
            sources += ["knn_user", "knn_basket", "knn_last_basket", "uknn", "als"]
        if cfg.use_semantic:
            sources += ["sem_interest", "sem_query", "sem_last_basket"]
        for name in sources:
            plane = planes[name]
            if n < plane.shape[1]:
                top = np.argpartition(-plane, n - 1, axis=1)[:, :n]
                np.put_along_axis(mask, top, np.take_along_axis(plane, top, axis=1) > 0, axis=1)
            else:
                mask |= plane > 0
        return mask

    def _blend(self, planes: dict[str, np.ndarray], candidates: np.ndarray, head: str) -> np.ndarray:
        """Candidate scores (others get 0): the learned scorer when there is one, else a hand-set blend."""
        out = np.zeros(candidates.shape, dtype=np.float32)
        rr, cc = np.nonzero(candidates)
        model = self.models.get(head) or self.models.get("all")
        if model is not None:
            if len(rr):
                at = rr * candidates.shape[1] + cc  # one flat index for every plane, not a 2-D one per plane
                x = np.column_stack([planes[n].reshape(-1).take(at) for n in self.config.features])
                out.reshape(-1)[at] = predict(model, x, self.config.threads)
            return out
        cfg = self.config

        def row_max(plane: np.ndarray, floor: float) -> np.ndarray:
            return np.maximum(plane.max(axis=1, keepdims=True), floor)

        score = 0.3 * planes["i_trend"] / row_max(planes["i_trend"], 1.0)
        if cfg.use_repurchase:
            score = score + planes["ui_share"] + 0.5 * planes["ui_decay"]
        if cfg.use_copurchase:
            score = score + 0.5 * planes["knn_basket"] + 0.3 * planes["uknn"] / row_max(planes["uknn"], 1e-9)
        if cfg.use_semantic:
            score = score + 0.3 * np.maximum(planes["sem_interest"], planes["sem_query"])
        score = score / row_max(score, 1e-9)
        out[rr, cc] = score[rr, cc]
        return out

    def _now_days(self, history: History, n: int, now: datetime | float | np.ndarray | None) -> np.ndarray:
        if now is None:
            return np.full(n, history.now)
        if isinstance(now, datetime):
            return np.full(n, to_days(pd.Series([now]))[0])
        return np.broadcast_to(np.asarray(now, dtype=np.float64), (n,)).copy()

    def score_matrix(
        self, user_ids: list[str], *, now: Any = None, explore: bool = False, chunk: int = 256
    ) -> tuple[np.ndarray, list[CandidateBatch]]:
        """(users, items) scores over the whole catalogue (no rules, no diversity): the evaluation's view.

        `explore=True` scores with the head trained on items new to the user."""
        head = "new" if explore else "all"
        matrices, batches = self.score_matrices(user_ids, now=now, heads=(head,), chunk=chunk)
        return matrices[head], batches

    def score_matrices(
        self, user_ids: list[str], *, now: Any = None, heads: tuple[str, ...] = ("all",), chunk: int = 256
    ) -> tuple[dict[str, np.ndarray], list[CandidateBatch]]:
        """Whole-catalogue scores of several heads ("all", "new") from one feature pass."""
        with thread_limit(self.config.threads or 1):
            return self._score_matrices(user_ids, now, heads, chunk)

    def _score_matrices(
        self, user_ids: list[str], now: Any, heads: tuple[str, ...], chunk: int
    ) -> tuple[dict[str, np.ndarray], list[CandidateBatch]]:
        history = self._history()
        days = self._now_days(history, len(user_ids), now)
        chunk = users_per_batch(len(self.item_ids), chunk)
        out = {h: np.empty((len(user_ids), len(self.item_ids)), dtype=np.float32) for h in heads}
        batches = []
        for start in range(0, len(user_ids), chunk):
            batch = self._batch(history, user_ids[start : start + chunk], days[start : start + chunk])
            fallback = NON_CANDIDATE + (batch.planes["i_trend"] / 100.0 + batch.planes["sem_interest"] / 1000.0) / 10.0
            cold, neighbours, weights = self._cold_neighbours(history)
            for head in heads:
                blended = np.where(batch.candidates, self._blend(batch.planes, batch.candidates, head), fallback)
                if len(cold):  # a product nobody bought borrows (discounted) the score of its nearest warm products
                    borrowed = (np.maximum(blended[:, neighbours], 0.0) * weights).max(axis=2)
                    blended[:, cold] = np.maximum(blended[:, cold], borrowed)
                out[head][start : start + chunk] = blended
            batches.append(batch)
        return out, batches

    def _cold_neighbours(self, history: History, top: int = 3) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Products nobody bought, their `top` most similar bought products and the discount (0.9 x cosine)."""
        cached = self._cold_cache
        if cached is not None and cached[0] is history:
            return cached[1]
        cold = np.nonzero(history.i_buyers == 0)[0]
        warm = np.nonzero(history.i_buyers > 0)[0]
        if len(cold) == 0 or len(warm) == 0:
            result = (np.zeros(0, np.int64), np.zeros((0, top), np.int64), np.zeros((0, top), np.float32))
        else:
            sims = self.item_vectors[cold] @ self.item_vectors[warm].T
            k = min(top, len(warm))
            best = np.argsort(-sims, axis=1)[:, :k]
            weight = 0.9 * np.clip(np.take_along_axis(sims, best, axis=1), 0.0, 1.0)
            result = (cold, warm[best], weight.astype(np.float32))
        self._cold_cache = (history, result)
        return result

    def _history(self) -> History:
        self._refresh_from_store()
        if self.history is None:
            raise RuntimeError("the ranker is not fitted: call Ranker.fit(store, encoder) first")
        return self.history

    def _catalogue(self) -> Catalogue:
        if self.catalogue is None:
            raise RuntimeError("the ranker is not fitted: call Ranker.fit(store, encoder) first")
        return self.catalogue

    def _country_popularity(self, user_id: str, history: History) -> np.ndarray | None:
        """What shoppers of the user's country buy (cached per country), or None when the country is unknown."""
        user = self.users.get(user_id)
        country = user.country if user is not None else None
        if not country:
            return None
        if country not in self._country_cache:
            same = [u.id for u in self.users.values() if u.country == country]
            self._country_cache[country] = policy.country_popularity(history, same, len(self.item_ids))
        return self._country_cache[country]

    def page_order(self, scores: np.ndarray, page: int = 10, order: np.ndarray | None = None) -> np.ndarray:
        """Item indices of one score row, best first, with the diversity re-ranking when it is on."""
        if order is None:
            order = np.argsort(-scores, kind="stable")
        if not self.config.use_diversity:
            return order
        return diversify(order, scores, self.families, self.groups, page=page, group_penalty=self.config.group_penalty)

    # ------------------------------------------------------------------ the public ranking
    def rank(
        self,
        user_ids: list[str],
        *,
        k: int = 60,
        campaign: Campaign | None = None,
        filters: RankFilters | dict[str, Any] | None = None,
        now: datetime | None = None,
    ) -> list[RankedList]:
        """Ranked products with a reason each, for many users in one call (unknown users get a cold-start list)."""
        rules = RankFilters.coerce(filters)
        history = self._history()
        days = self._now_days(history, len(user_ids), now)
        catalogue = self._catalogue()
        day = days[0] if len(days) else history.now
        trend_all = history.trend_counts(days[:1] if len(days) else np.array([history.now]))[0]
        context = PageContext.build(catalogue, campaign, self._new_arrivals(history, day), trend_all)
        boost = np.zeros(len(self.item_ids))
        if campaign is not None and context.in_campaign.any():
            boost[context.in_campaign] = campaign.boost + 1.0
        allowed = policy.allowed(catalogue, rules)
        step = users_per_batch(len(self.item_ids))
        results: list[RankedList] = []
        with collector_paused():  # the lists are some 100 objects a shopper, all kept: nothing to collect
            for start in range(0, len(user_ids), step):  # one batch's planes at a time, not every batch's at once
                part = slice(start, start + step)
                scores, (batch,) = self.score_matrix(user_ids[part], now=days[part])
                results += self._rank_batch(history, batch, user_ids[part], scores, allowed, boost, context, k)
        return results

    def _rank_batch(self, history: History, batch: CandidateBatch, user_ids: list[str], scores: np.ndarray,
                    allowed: np.ndarray, boost: np.ndarray, context: PageContext, k: int
                    ) -> list[RankedList]:  # fmt: skip
        """The lists of one batch: rules and boosts on the whole (users, items) block, then each user's picks."""
        planes, catalogue = batch.planes, self._catalogue()
        cold = (batch.rows < 0) | ~(planes["ui_baskets"].any(axis=1) | planes["ui_interact"].any(axis=1))
        user_scores = scores.astype(np.float64)
        for r in np.flatnonzero(cold).tolist():
            user_scores[r] = policy.cold_scores(history, context.trend, self._country_popularity(user_ids[r], history))
        keep = allowed & policy.user_rules(catalogue, history, batch, just_bought_days=self.config.just_bought_days,
                                           repurchasable_rate=self.config.repurchasable_rate)  # fmt: skip
        user_scores = np.where(keep, user_scores + boost, -np.inf)
        fresh_to_user = keep & (planes["ui_baskets"] == 0)
        campaign_items = np.flatnonzero(context.in_campaign)
        out = []
        for r, uid in enumerate(user_ids):
            row_scores = user_scores[r]
            picked, forced = self._pick(row_scores, k, keep[r], fresh_to_user[r], context.new_items, context.trend,
                                        campaign_items)  # fmt: skip
            own = batch.profiles[r].own
            reasons = explain(catalogue, history, batch, r, picked, row_scores, forced, cold=bool(cold[r]),
                              context=context, user=self.users.get(uid), own=own)  # fmt: skip
            # diversity may lift an item: scores stay sorted
            sorted_scores = np.minimum.accumulate(row_scores[picked]).tolist() if len(picked) else []
            items = [{"item_id": self.item_ids[i], "score": s, "reason": reason}
                     for i, s, reason in zip(picked.tolist(), sorted_scores, reasons, strict=True)]  # fmt: skip
            out.append(RankedList(user_id=uid, items=_ITEMS.validate_python(items), cold_start=bool(cold[r]),
                                  interests=interests(catalogue.categories, self._words(), own)))  # fmt: skip
        return out

    def _new_arrivals(self, history: History, day: float) -> np.ndarray:
        """`rules.new_arrivals` of the catalogue on `day` (cached for the history and day: pages of one day share
        it; the cache holds the history by a weak reference, so a swapped-out one is not kept alive by it)."""
        key = (float(day), self.config.new_arrival_days)
        cached = getattr(self, "_arrivals_cache", None)
        if cached is None or cached[0]() is not history or cached[1] != key:
            arrivals = policy.new_arrivals(self._catalogue(), history, day, self.config.new_arrival_days)
            cached = self._arrivals_cache = (weakref.ref(history), key, arrivals)
        return cached[2]

    def _words(self) -> TitleWords:
        """The catalogue's title words (`genpage.rank.lists.interests`), tokenised on first use after a fit or load."""
        words = getattr(self, "_title_words", None)  # a ranker saved before it had one
        if words is None or len(words.indptr) != len(self.products) + 1:
            words = self._title_words = TitleWords.build([p.title for p in self.products])
        return words

    def _pick(self, scores: np.ndarray, k: int, keep: np.ndarray, fresh_to_user: np.ndarray, new_items: np.ndarray,
              trend: np.ndarray, campaign_items: np.ndarray) -> tuple[np.ndarray, dict[int, str]]:  # fmt: skip
        """The top k (diversified), plus campaign items and SECTION_MIN new arrivals and trending items that are
        not already on the list (genpage.rank.lists.with_sections), each with the kind of section it is for."""
        order = self.page_order(scores, page=min(k, 30), order=top_order(scores, max(k, WINDOW)))
        pools = (("new_arrival", new_items), ("trending", self._trend_order(trend)))
        return with_sections(order[:k].tolist(), scores, k, fresh_to_user, pools, campaign_items[keep[campaign_items]])

    def _trend_order(self, trend: np.ndarray) -> np.ndarray:
        cache = self._trend_cache
        key = trend.tobytes()
        if key not in cache:
            cache.clear()
            cache[key] = np.argsort(-trend, kind="stable")
        return cache[key]


def ablated(config: RankConfig, **switches: bool) -> RankConfig:
    """A copy of `config` with some `use_*` switches flipped (for ablation rows)."""
    return replace(config, **switches)
