"""The engine: one object that holds the store and the loaded models and runs the stages for a page.

    ranked = ranker.rank(user_ids)          # rank/ranker.py
    plans  = [plan_page(r, ...) ...]        # plan/ (pure)
    plans  = generate_copy(plans, ...)      # copy/generate.py (one batched model call, cached copy)
    html   = render_page(page)              # page.py

Models load lazily, once, on first use; the engine is safe to call from several threads (loading is guarded,
model calls are serialised, the store has its own lock).
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Mapping, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from genpage.campaigns.files import as_campaign
from genpage.config import Config
from genpage.errors import EmptyStoreError, UnknownUserError
from genpage.feedback.bandit import ShelfPolicy
from genpage.feedback.tracking import (
    Click,
    ShelfOrder,
    impression_rows,
    log_impressions,
    new_page_id,
    order_shelves,
    record_click,
    record_click_events,
    segments_of,
    shelf_policy,
    write_events,
)
from genpage.plan import plan_page
from genpage.schemas import Campaign, Event, Page
from genpage.store import Store

if TYPE_CHECKING:
    from genpage.backends.base import TextModel
    from genpage.embed.encoder import Encoder
    from genpage.privacy import Holder, Shopper
    from genpage.rank.ranker import Ranker

logger = logging.getLogger(__name__)

CampaignLike = Campaign | str | Path | None
REFIT_AFTER_EVENTS = 5000  # live events after which the global parts (neighbours, trends, scorer) are refitted


class Engine:
    """Runs genpage's stages for one or many users. Build one per process and reuse it."""

    def __init__(self, config: Config | None = None, *, store: Store | None = None,
                 backend: TextModel | None = None, encoder: Encoder | None = None):
        self.config = config or Config.load()
        self._store = store
        self._backend = backend
        self._encoder = encoder
        self._ranker: Ranker | None = None
        self._ranker_version = -1
        self._data_time_cache: tuple[int, datetime | None] = (-1, None)
        self._load_lock = threading.RLock()
        self._generate_lock = threading.Lock()
        # live events (record_events): shoppers whose rows the ranker has not caught up with, and the refit
        self._live_lock = threading.RLock()
        self._pending_users: set[str] = set()
        self._events_since_fit = 0
        self._written_during_refit: set[str] | None = None
        self._refit_thread: threading.Thread | None = None
        self.refit_after_events = REFIT_AFTER_EVENTS
        self._policy: ShelfPolicy | None = None  # the shelf-order policy, made once per policy name and store
        self._policy_key: tuple[str, int] | None = None

    # ------------------------------------------------------------------ lazy parts
    @property
    def store(self) -> Store:
        """The store at `config.database`, opened on first use. It must exist: the engine only reads data, so a
        mistyped path is a StoreNotFoundError naming it, never a new empty store."""
        with self._load_lock:
            if self._store is None:
                self._store = Store(self.config.database, create=False)
            return self._store

    def check_ready(self) -> None:
        """Open the store and make sure it can give pages (it has products), before any model loads: raises
        StoreNotFoundError, StoreError or EmptyStoreError with the fix in the message. A store without events is
        ready: every shopper gets the cold-start page."""
        store = self.store
        if not store.query("SELECT 1 FROM products LIMIT 1"):
            raise EmptyStoreError(f"the store {store.path} holds no products: load a catalogue with `genpage ingest "
                                  f"<products file or shop folder> --db {store.path}`")

    @property
    def encoder(self) -> Encoder:
        with self._load_lock:
            if self._encoder is None:
                from genpage.embed.encoder import load_encoder

                self._encoder = load_encoder(self.config.encoder, device=self.config.device, home=self.config.home)
            return self._encoder

    def _fit_encoder(self) -> Encoder:
        """The encoder for a fit: the loaded one, or one loaded only if the fit has text to embed (the catalogue's
        embeddings are cached in the store; a held-out shopper's searches are not)."""
        from genpage.embed.encoder import DeferredEncoder

        return self._encoder or DeferredEncoder(self.config.encoder, lambda: self.encoder)

    @property
    def encoder_name(self) -> str:
        """The encoder's name without loading it (what the saved ranker and the page record): a page served from a
        saved ranker needs the model only to embed a search query it has not seen."""
        return self._encoder.name if self._encoder is not None else self.config.encoder

    @property
    def backend(self) -> TextModel:
        with self._load_lock:
            if self._backend is None:
                from genpage.backends import get_backend

                self._backend = get_backend(self.config)
            return self._backend

    @property
    def ranker(self) -> Ranker:
        """The ranker fitted on the store's data; refitted when the data has changed since.

        A fitted ranker is saved under `<home>/rankers/`, keyed by the data's fingerprint, the encoder and the
        ranker's settings, so the next process on the same data (a preview, the server, each batch worker) loads
        it in about a second instead of fitting again."""
        with self._load_lock:
            if self._ranker is None or self._ranker_version != self.store.version:
                from genpage.rank.ranker import Ranker

                self.check_ready()
                started = time.perf_counter()
                version = self.store.version
                path = self._ranker_path()
                ranker = None
                if path.is_file():
                    try:
                        ranker = Ranker.load(path, self.store, lambda: self.encoder)  # loaded if a query needs it
                        logger.info("loaded the fitted ranker %s in %.1f s", path.name, time.perf_counter() - started)
                    except Exception as exc:  # noqa: BLE001 - a stale or broken cache file: fit again
                        logger.warning("could not load %s (%s); fitting the ranker again", path, exc)
                if ranker is None:
                    ranker = Ranker.fit(self.store, self._fit_encoder())
                    logger.info("fitted the ranker in %.1f s", time.perf_counter() - started)
                    try:
                        ranker.save(path)
                    except OSError as exc:
                        logger.warning("could not save the fitted ranker to %s: %s", path, exc)
                self._ranker = ranker
                self._ranker_version = version
                with self._live_lock:
                    self._pending_users.clear()  # fitted on the store as it is: every shopper is current
                    self._events_since_fit = 0
            return self._ranker

    def _ranker_path(self) -> Path:
        import hashlib

        from genpage.rank.ranker import SAVE_FORMAT, RankConfig
        from genpage.version import __version__

        key = json.dumps([__version__, SAVE_FORMAT, str(self.store.path.resolve()), self.store.data_fingerprint(),
                          self.encoder_name, repr(RankConfig())])  # fmt: skip
        return self.config.rankers_dir / f"{hashlib.sha256(key.encode()).hexdigest()[:32]}.pkl"

    def close(self) -> None:
        if self._store is not None:
            self._store.close()

    # ------------------------------------------------------------------ the shopper's data (docs/privacy.md)
    def personal_data(self) -> list[Holder]:
        """Every place genpage keeps shopper data for this store: campaign output folders, page files, ranker
        fits, segments, then the store's shopper rows (genpage.privacy.holders)."""
        from genpage.campaigns.output import CampaignOutputs
        from genpage.privacy import holders

        return [CampaignOutputs(self.store, self.config.home), *holders(self.store, self.config)]

    def shopper(self, user_id: str) -> Shopper:
        from genpage.privacy import Shopper

        return Shopper.of(user_id, self.config.home)

    def forget(self, user_id: str) -> dict[str, int]:
        """Erase the shopper from every holder (the store file scrubbed, saved ranker fits deleted: the next page
        fits again); what was removed, by kind. UnknownUserError when genpage holds nothing about them."""
        from genpage.privacy import forget

        with self._load_lock:
            removed = forget(self.store, self.personal_data(), self.shopper(user_id))
            self._ranker = None  # the fit in memory holds them too
        return removed

    def export_user(self, user_id: str) -> dict[str, Any]:
        """Everything genpage holds about the shopper, as one JSON-able document (UnknownUserError if nothing)."""
        from genpage.privacy import export

        return export(self.personal_data(), self.shopper(user_id))

    def purge_expired(self) -> dict[str, int]:
        """Delete what is older than `events_retention_days` (off: nothing); what was purged, by kind."""
        from genpage.privacy import purge_expired

        if not self.config.events_retention_days:
            return {}
        with self._load_lock:
            purged = purge_expired(self.store, self.personal_data(), self.config.events_retention_days)
            if purged:
                self._ranker = None
        return purged

    # ------------------------------------------------------------------ the stages
    def _data_time(self) -> datetime | None:
        """The newest event's time: "new" means new relative to the data, so old exports still plan sensibly."""
        version, value = self._data_time_cache
        if version != self.store.version:
            row = self.store.query("SELECT MAX(timestamp) FROM events")
            value = datetime.fromisoformat(row[0][0]) if row and row[0][0] else None
            self._data_time_cache = (self.store.version, value)
        return value

    def _check_users(self, user_ids: Sequence[str]) -> None:
        missing = [u for u in user_ids if self.store.user(u) is None]
        if missing:
            shown = ", ".join(repr(u) for u in missing[:5])
            raise UnknownUserError(f"unknown user {shown}: ingest their events first, or drop strict=True "
                                   "to get the cold-start page")

    def build_pages(self, user_ids: Sequence[str], *, campaign: CampaignLike = None,
                    strict: bool = False, track: bool = False) -> list[Page]:
        """Rank, plan, write copy for and assemble the pages of many users (copy in one batched call). Each page
        gets a page-view id; `track=True` logs its impressions (one row per shelf and item, one write for all)."""
        camp = as_campaign(campaign)
        user_ids = [str(u) for u in user_ids]
        if strict:
            self._check_users(user_ids)
        t0 = time.perf_counter()
        ranker = self.ranker
        self._catch_up(user_ids)
        ranked = ranker.rank(user_ids, k=max(60, self.config.sections * self.config.items_per_section * 3),
                             campaign=camp)
        t1 = time.perf_counter()
        wanted = {item.item_id for r in ranked for item in r.items}
        products = {p.id: p for p in self.store.products(sorted(wanted))}
        now = datetime.now(timezone.utc)
        data_now = self._data_time() or now
        plans = [
            plan_page(r, products, campaign=camp, sections=self.config.sections,
                      items_per_section=self.config.items_per_section, themes=self.config.shelf_themes,
                      now=data_now)
            for r in ranked
        ]
        segments = segments_of(self.store, user_ids)
        orders: list[ShelfOrder] = []
        policy = self._shelf_policy()
        for plan in plans:  # the shelf policy's one call site (genpage.feedback.tracking.order_shelves)
            plan.sections, order = order_shelves(policy, segments.get(plan.user_id, ""), plan.sections,
                                                 pinned=camp is not None)  # fmt: skip
            orders.append(order)
        t2 = time.perf_counter()
        from genpage.copy.generate import generate_copy

        with self._generate_lock:
            plans = generate_copy(plans, backend=self.backend, store=self.store, config=self.config)
        t3 = time.perf_counter()
        timings = {"rank_ms": (t1 - t0) * 1000, "plan_ms": (t2 - t1) * 1000, "copy_ms": (t3 - t2) * 1000}
        categories = [c for c, _ in self.store.categories()[:8]]
        shown = camp.view() if camp is not None else None  # what the page shows of the campaign: no audience
        pages = [
            Page(
                user_id=plan.user_id,
                shop_name=self.config.shop_name,
                sections=plan.sections,
                categories=categories,
                campaign=shown,
                cold_start=plan.cold_start,
                generator=getattr(self.backend, "model_name", self.config.generator),
                encoder=self.encoder_name,
                generated_at=now,
                timings_ms=dict(timings),
                page_id=new_page_id(),
            )
            for plan in plans
        ]
        if track:
            self._log_views(pages, orders, segments, camp.name if camp is not None else "", now)
        return pages

    def build_page(self, user_id: str, *, campaign: CampaignLike = None, strict: bool = False,
                   track: bool = False) -> Page:
        return self.build_pages([user_id], campaign=campaign, strict=strict, track=track)[0]

    # ------------------------------------------------------------------ the feedback loop (docs/live.md)
    def _shelf_policy(self) -> ShelfPolicy | None:
        """The shelf-order policy (genpage.feedback.bandit), made once per engine and store."""
        with self._load_lock:
            key = (self.config.policy, id(self.store))
            if self._policy_key != key:
                self._policy, self._policy_key = shelf_policy(self.config, self.store), key
            return self._policy

    def _log_views(self, pages: list[Page], orders: list[ShelfOrder], segments: dict[str, str], campaign: str,
                   now: datetime) -> None:
        from genpage.privacy import pseudonym

        rows = []
        for page, shown in zip(pages, orders, strict=True):
            rows += impression_rows(page, page_id=page.page_id or "", shopper=pseudonym(page.user_id, self.config.home),
                                    segment=segments.get(page.user_id, ""), campaign=campaign, shown=shown,
                                    created_at=now)  # fmt: skip
        log_impressions(self.store, rows, self._serving_policies())  # + each shelf's showing in the bandit counts

    def _serving_policies(self) -> list[ShelfPolicy]:
        """The shelf policy whose counts in memory must follow what is logged (none for `fixed`)."""
        policy = self._shelf_policy()
        return [policy] if policy is not None else []

    def record_click(self, click: Click) -> bool:
        """Record a click on a logged page view (a /r/ link): its row, and the shelf's click in the shelf policy's
        counts on the first click on that shelf (the next page's order uses it). False without that page view."""
        return record_click(self.store, click, self._serving_policies())

    def record_events(self, keyed: Sequence[tuple[str, Event]], page_ids: Mapping[str, str] | None = None) -> int:
        """Write live events (validated, keyed: genpage.feedback.tracking.parse_events) in one transaction; each
        shopper's next page reflects them (their ranker rows are rebuilt when it is built), and the global parts
        are refitted in the background after `refit_after_events`. Click events are then tied to the page views
        they came from (`page_ids`: by event key) and count as clicks on them. How many events were new."""
        with self._load_lock, self._live_lock:  # always this order (the ranker property takes them so too)
            before = self.store.version
            new = write_events(self.store, keyed)
            users = {e.user_id for _, e in keyed}
            ranker = self._ranker
            if ranker is not None and self._ranker_version == before and self.store.version == before + 1:
                self._ranker_version = self.store.version  # only these shoppers changed: no refit
                ranker.mark_current(self.store.version)
            self._pending_users |= users
            if self._written_during_refit is not None:
                self._written_during_refit |= users
            self._events_since_fit += new
            if self._events_since_fit >= self.refit_after_events and self._ranker is not None and (
                    self._refit_thread is None or not self._refit_thread.is_alive()):
                self._refit_thread = threading.Thread(target=self._refit, name="genpage-refit", daemon=True)
                self._refit_thread.start()
        if any(event.type == "click" for _, event in keyed):
            record_click_events(self.store, keyed, page_ids or {}, self.config.home, self._serving_policies())
        return new

    def _catch_up(self, user_ids: Sequence[str]) -> None:
        """Rebuild the ranker rows of those shoppers with live events it has not seen (genpage.rank.live)."""
        with self._live_lock:
            due = sorted(self._pending_users.intersection(user_ids))
            if not due or self._ranker is None:
                return
            from genpage.rank.live import update_users

            update_users(self._ranker, self.store, due)
            self._pending_users.difference_update(due)

    def _refit(self) -> None:
        """Fit the whole ranker again on the store (in a background thread) and swap it in for the next page;
        shoppers whose events came in meanwhile are caught up on it as usual."""
        from genpage.rank.ranker import Ranker

        with self._live_lock:
            previous, path = self._ranker, self._ranker_path()
            self._written_during_refit, self._events_since_fit = set(), 0
        try:
            started = time.perf_counter()
            ranker = Ranker.fit(self.store, self._fit_encoder())
            logger.info("refitted the ranker in the background in %.1f s", time.perf_counter() - started)
        except Exception:  # noqa: BLE001 - the current ranker keeps serving
            logger.exception("the background refit failed; the current ranker keeps serving")
            with self._live_lock:
                self._written_during_refit = None
            return
        with self._load_lock, self._live_lock:
            if self._ranker is previous:  # nobody reset it meanwhile (a forget, a purge)
                self._pending_users = set(self._written_during_refit or ())
                ranker.mark_current(self.store.version)
                self._ranker, self._ranker_version = ranker, self.store.version
                # saved only while the data is what it was fitted on: after a forget in another process (or any
                # change) the file would hold an erased shopper under a name nothing loads or deletes again
                if self._ranker_path() == path:
                    try:
                        ranker.save(path)
                    except OSError as exc:
                        logger.warning("could not save the refitted ranker to %s: %s", path, exc)
            self._written_during_refit = None

    def render(self, user_id: str, *, campaign: CampaignLike = None, strict: bool = False) -> str:
        from genpage.page import render_page

        return render_page(self.build_page(user_id, campaign=campaign, strict=strict))


# ---------------------------------------------------------------------- the process-wide engine
_default: Engine | None = None
_default_lock = threading.Lock()


def get_engine() -> Engine:
    """The process-wide engine, created from Config.load() on first use."""
    global _default
    with _default_lock:
        if _default is None:
            _default = Engine()
        return _default


def configure(config: Config | None = None, **settings: Any) -> Engine:
    """Replace the process-wide engine with one built from `config` (or Config.load(**settings))."""
    global _default
    with _default_lock:
        if _default is not None:
            _default.close()
        _default = Engine(config or Config.load(**settings))
        return _default
