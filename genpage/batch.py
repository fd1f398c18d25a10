"""Campaign runs: every audience member's page, with progress, crash-safe resume, processes or Ray.

    summary = run_batch(engine, "campaigns/christmas.yaml", "out/christmas", workers=2)

Output, in `out_dir` (laid out by genpage.campaigns.output, which also erases a shopper from it):
    pages/<name>.html      the rendered page          (<name>: the shopper's pseudonym, or with name_pages="raw"
    pages/<name>.json      the Page as JSON            their id; ids that are not safe file names become u-<hash>)
    manifest.sqlite        one row per shopper: done / failed (+ error), and the run's campaign and settings hashes
    summary.json           the BatchSummary of the last run
    run.lock               locked (fcntl.flock) by the run in progress: a second run on the folder refuses

Shoppers are named in the folder (files, manifest, the page JSON's user_id, the summary) and in the logs by their
pseudonym (genpage.privacy), unless name_pages="raw"; the store records the folder, so `genpage forget` finds it.

Crash safety: a page is written to a hidden temp file in pages/, fsynced and renamed into place, and only then
marked done in the manifest (SQLite, synchronous=FULL). After a crash at any moment, `resume=True` skips the users
marked done, deletes stray temp files and renders the rest again; a page file whose user is not marked done is
simply overwritten (rendering is deterministic). So every page ends up present exactly once and no done page is
generated twice. A user whose page fails is recorded as failed with the error, and the run goes on.

Engines: "local" runs the stages in this process (workers=1) or in `workers` spawned processes, each with its own
Engine built from the same Config (they share the SQLite store, and with it the copy cache; they die with the
process that started them, SIGKILL included); "ray" runs them on Ray Data: `map_batches` with an actor that holds
one Engine (encoder and generator loaded once per actor), the driver writing pages and manifest. Copy is batched
per chunk of `batch_size` users and cached by section content, so a section shown to many shoppers is written
once per run.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import os
import signal
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from genpage.campaigns.audience import needs_segments, select_audience
from genpage.campaigns.files import as_campaign
from genpage.campaigns.output import (
    LOCK,
    MANIFEST,
    PAGES,
    SUMMARY,
    BatchError,
    Manifest,
    ManifestRow,
    NamePages,
    PageNames,
    atomic_write,
    fsync_dir,
    page_stem,
    remove_temp_files,
    run_lock,
)
from genpage.config import Config
from genpage.errors import CampaignError, ChecksumError, ConfigError, ModelNotAvailableError
from genpage.privacy import pseudonym
from genpage.schemas import Campaign, Page

if TYPE_CHECKING:
    from genpage.engine import Engine

logger = logging.getLogger(__name__)

__all__ = ["LOCK", "MANIFEST", "PAGES", "SUMMARY", "BatchError", "BatchSummary", "PageResult", "atomic_write",
           "build_results", "page_stem", "run_batch", "run_lock"]
FATAL = (ConfigError, ModelNotAvailableError, ChecksumError)  # not one user's problem: stop the run
SETTINGS_THAT_SHAPE_PAGES = ("encoder", "generator", "backend", "copy_level", "shop_name", "locale", "sections",
                             "items_per_section", "openai_model", "banned_words")
SYSTEMATIC_AFTER = 8  # the first this many pages all failing the same way stops the run


# ---------------------------------------------------------------------- results and summary
@dataclass
class PageResult:
    """One user's outcome, as plain data (crosses process and Ray boundaries). `name`: the shopper as the output
    folder names them (their pseudonym, or their id); the page JSON carries it as its user_id."""

    user_id: str
    name: str = ""
    html: str = ""
    page_json: str = ""
    error: str = ""
    sources: list[str] = field(default_factory=list)  # each section's copy_source
    copy_texts: list[str] = field(default_factory=list)  # each section's title + blurb

    @property
    def ok(self) -> bool:
        return not self.error

    @classmethod
    def from_page(cls, page: Page, name: str) -> PageResult:
        from genpage.page import render_page

        return cls(
            user_id=page.user_id,
            name=name,
            html=render_page(page),
            page_json=page.model_copy(update={"user_id": name}).model_dump_json(by_alias=True, indent=1),
            sources=[s.copy_source for s in page.sections],
            copy_texts=[f"{s.copy_.title}\n{s.copy_.blurb}" if s.copy_ else "" for s in page.sections],
        )

    @classmethod
    def failed(cls, user_id: str, name: str, exc: BaseException) -> PageResult:
        return cls(user_id=user_id, name=name, error=f"{type(exc).__name__}: {exc}"[:2000])


@dataclass
class BatchSummary:
    campaign: str
    out_dir: str
    engine: str
    workers: int
    audience: int = 0  # users selected (after `limit`)
    pages: int = 0  # pages written by this run
    skipped: int = 0  # already done by an earlier run (resume)
    failures: int = 0
    failed: dict[str, str] = field(default_factory=dict)  # shopper (as the folder names them) -> error, this run
    sections: int = 0
    copy_model: int = 0  # sections whose copy the model wrote in this run
    copy_cache: int = 0  # sections whose copy came from the copy cache
    copy_fallback: int = 0  # sections with the safe fallback copy
    distinct_copy: int = 0  # distinct title + blurb texts on the pages of this run
    copy_generated: int = 0  # new entries in the copy cache: distinct sections sent to the model
    wall_seconds: float = 0.0

    @property
    def pages_per_min(self) -> float:
        return self.pages / self.wall_seconds * 60 if self.wall_seconds > 0 else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {**dataclasses.asdict(self), "pages_per_min": round(self.pages_per_min, 1)}

    def text(self) -> str:
        """The summary as the CLI prints it."""
        lines = [
            f"campaign {self.campaign!r} -> {self.out_dir} ({self.engine} engine, {self.workers} worker"
            f"{'s' if self.workers != 1 else ''})",
            f"pages: {self.pages} written, {self.skipped} already done, {self.failures} failed "
            f"(audience {self.audience})",
            f"copy: {self.sections} sections: {self.copy_model} from the model, {self.copy_cache} from the cache, "
            f"{self.copy_fallback} fallback; {self.distinct_copy} distinct texts, {self.copy_generated} new in the "
            "copy cache",
            f"time: {self.wall_seconds:.1f} s, {self.pages_per_min:.0f} pages/min",
        ]
        for user, error in list(self.failed.items())[:5]:
            lines.append(f"failed: {user}: {error.splitlines()[0][:160]}")
        if self.failures > 5:
            lines.append(f"... {self.failures - 5} more failures in {Path(self.out_dir) / MANIFEST}")
        return "\n".join(lines)


# ---------------------------------------------------------------------- files
def _write_results(pages_dir: Path, manifest: Manifest, results: Sequence[PageResult], names: PageNames) -> None:
    rows: list[ManifestRow] = []
    for result in results:
        stem = names.stem(result.user_id)
        if result.ok:
            atomic_write(pages_dir / f"{stem}.json", result.page_json)
            atomic_write(pages_dir / f"{stem}.html", result.html)
        else:
            for suffix in (".json", ".html"):  # a file exists only for a done page
                (pages_dir / f"{stem}{suffix}").unlink(missing_ok=True)
        rows.append((result.name, "done" if result.ok else "failed", stem if result.ok else None,
                     result.error or None, json.dumps(result.sources)))  # fmt: skip
    fsync_dir(pages_dir)
    manifest.record(rows)


# ---------------------------------------------------------------------- building pages
def build_results(engine: Engine, user_ids: Sequence[str], campaign: Campaign | None,
                  name_pages: NamePages = "pseudonym") -> list[PageResult]:
    """Pages of `user_ids` in one batched engine call; on a failure the chunk is split in halves until the
    failing users are found (each recorded with its error), so one bad user costs a few extra calls. Logs name
    shoppers by pseudonym; `name_pages` says how the results name them."""
    names = PageNames(name_pages, engine.config.home)
    try:
        pages = engine.build_pages(list(user_ids), campaign=campaign)
    except FATAL:
        raise
    except Exception as exc:  # noqa: BLE001 - one user's failure must not end the run
        if len(user_ids) == 1:
            logger.warning("page for %s failed: %s", pseudonym(user_ids[0], engine.config.home), exc)
            return [PageResult.failed(user_ids[0], names.key(user_ids[0]), exc)]
        half = len(user_ids) // 2
        return (build_results(engine, user_ids[:half], campaign, name_pages)
                + build_results(engine, user_ids[half:], campaign, name_pages))  # fmt: skip
    results = []
    for user_id, page in zip(user_ids, pages, strict=True):
        try:
            results.append(PageResult.from_page(page, names.key(user_id)))
        except Exception as exc:  # noqa: BLE001 - a render failure is this user's failure
            logger.warning("rendering the page for %s failed: %s", pseudonym(user_id, engine.config.home), exc)
            results.append(PageResult.failed(user_id, names.key(user_id), exc))
    return results


def _chunks(items: Sequence[str], size: int) -> list[list[str]]:
    return [list(items[i : i + size]) for i in range(0, len(items), size)]


def _local_results(engine: Engine, todo: list[str], campaign: Campaign | None, batch_size: int,
                   name_pages: NamePages) -> Iterator[list[PageResult]]:
    for chunk in _chunks(todo, batch_size):
        yield build_results(engine, chunk, campaign, name_pages)


_WORKER: dict[str, Any] = {}


PR_SET_PDEATHSIG = 1  # prctl(2) option: the signal a process gets when its parent dies


def die_with_parent(parent_pid: int, poll_seconds: float = 1.0) -> None:
    """End this process (SIGKILL) as soon as `parent_pid`, the process that started it, ends, however it ends.

    A worker holds a whole Engine (gigabytes with a real model); a batch killed with SIGKILL must not leave it
    running, reparented to PID 1. On Linux the kernel sends the parent-death signal (prctl PR_SET_PDEATHSIG). It
    fires when the *thread* that started this process exits: run_batch starts the workers from the thread that
    runs it and shuts the pool down before it returns, so that thread outlives them. Elsewhere a daemon thread
    polls the parent pid. Either way, a parent that died before this call (while the worker was importing) is
    caught by the pid check below."""
    armed = False
    if sys.platform.startswith("linux"):
        try:
            import ctypes

            libc = ctypes.CDLL(None, use_errno=True)
            armed = libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) == 0
        except (OSError, AttributeError):
            armed = False
    if os.getppid() != parent_pid:
        os._exit(1)
    if not armed:
        def watch() -> None:
            while os.getppid() == parent_pid:
                time.sleep(poll_seconds)
            os._exit(1)

        threading.Thread(target=watch, name="genpage-parent-watch", daemon=True).start()


def _init_worker(config_data: dict[str, Any], campaign_data: dict[str, Any] | None, threads: int,
                 parent_pid: int, name_pages: NamePages) -> None:
    die_with_parent(parent_pid)
    os.environ["OMP_NUM_THREADS"] = str(threads)
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    import torch

    torch.set_num_threads(threads)
    from genpage.engine import Engine

    _WORKER["engine"] = Engine(Config.model_validate(config_data))
    _WORKER["campaign"] = Campaign.model_validate(campaign_data) if campaign_data is not None else None
    _WORKER["name_pages"] = name_pages


def _worker_chunk(user_ids: list[str]) -> list[PageResult]:
    return build_results(_WORKER["engine"], user_ids, _WORKER["campaign"], _WORKER["name_pages"])


def _process_results(config: Config, todo: list[str], campaign: Campaign | None, batch_size: int,
                     workers: int, name_pages: NamePages) -> Iterator[list[PageResult]]:
    """Chunks on `workers` spawned processes. The first chunk runs alone, so the copy every page shares (trending,
    new arrivals, the campaign's section) is in the cache before the others start."""
    import multiprocessing
    from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait

    threads = max(1, (os.cpu_count() or 1) // workers)
    campaign_data = campaign.model_dump(mode="json") if campaign is not None else None
    pool = ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"), initializer=_init_worker,
                               initargs=(config.model_dump(mode="json"), campaign_data, threads, os.getpid(),
                                         name_pages))
    try:
        chunks = iter(_chunks(todo, batch_size))
        first = next(chunks, None)
        if first is not None:
            yield pool.submit(_worker_chunk, first).result()
        pending: set[Future[list[PageResult]]] = set()
        for chunk in chunks:
            pending.add(pool.submit(_worker_chunk, chunk))
            if len(pending) >= 2 * workers:
                done, pending = wait(pending, return_when=FIRST_COMPLETED)
                for future in done:
                    yield future.result()
        while pending:
            done, pending = wait(pending, return_when=FIRST_COMPLETED)
            for future in done:
                yield future.result()
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


class RayPageBuilder:
    """A Ray Data actor: one Engine (encoder, ranker, generator loaded once), a batch of user ids in, pages out."""

    def __init__(self, config_data: dict[str, Any], campaign_data: dict[str, Any] | None, name_pages: NamePages):
        from genpage.engine import Engine

        self.engine = Engine(Config.model_validate(config_data))
        self.campaign = Campaign.model_validate(campaign_data) if campaign_data is not None else None
        self.name_pages = name_pages

    def __call__(self, batch: dict[str, Any]) -> dict[str, Any]:
        import numpy as np

        users = [str(u) for u in batch["user_id"]]
        results = build_results(self.engine, users, self.campaign, self.name_pages)
        return {"result": np.array([json.dumps(dataclasses.asdict(r)) for r in results], dtype=object)}


def _ray_results(config: Config, todo: list[str], campaign: Campaign | None, batch_size: int, workers: int,
                 address: str | None, gpus_per_worker: float, name_pages: NamePages) -> Iterator[list[PageResult]]:
    try:
        import ray
    except ImportError as exc:
        raise ConfigError("the ray engine needs Ray: `pip install genpage[ray]`") from exc
    started_here = not ray.is_initialized()
    if started_here:
        num_cpus = None if address else max(workers, os.cpu_count() or 1)  # a cluster says what it has
        ray.init(address=address, num_cpus=num_cpus, include_dashboard=False, log_to_driver=False,
                 ignore_reinit_error=True)
    campaign_data = campaign.model_dump(mode="json") if campaign is not None else None

    def pages(users: list[str], concurrency: int) -> Iterator[list[PageResult]]:
        dataset = ray.data.from_items([{"user_id": u} for u in users]).map_batches(
            RayPageBuilder,
            fn_constructor_kwargs={"config_data": config.model_dump(mode="json"), "campaign_data": campaign_data,
                                   "name_pages": name_pages},
            batch_size=batch_size,
            concurrency=concurrency,
            num_gpus=gpus_per_worker,
            batch_format="numpy",
        )
        for batch in dataset.iter_batches(batch_size=None, batch_format="numpy"):
            yield [PageResult(**json.loads(text)) for text in batch["result"]]

    try:
        # the first chunk on one actor, as the process pool does: it fits and saves the ranker and caches the copy
        # every page shares, so the other actors load them instead of each fitting its own at once
        yield from pages(todo[:batch_size], 1)
        if len(todo) > batch_size:
            yield from pages(todo[batch_size:], workers)
    finally:
        if started_here:
            ray.shutdown()


# ---------------------------------------------------------------------- the run
def campaign_hash(campaign: Campaign) -> str:
    return hashlib.sha256(campaign.model_dump_json().encode("utf-8")).hexdigest()[:32]


def settings_fingerprint(config: Config) -> str:
    values = {name: getattr(config, name) for name in SETTINGS_THAT_SHAPE_PAGES}
    return hashlib.sha256(json.dumps(values, sort_keys=True, default=str).encode()).hexdigest()[:32]


def _open_manifest(out: Path, campaign: Campaign, config: Config, resume: bool, names: PageNames) -> Manifest:
    """The run's manifest; refuses an output folder that holds another campaign's (or another setup's) run."""
    pages_dir = out / PAGES
    existing = (out / MANIFEST).exists()
    if not existing and pages_dir.is_dir() and any(p for p in pages_dir.iterdir() if not p.name.startswith(".")):
        raise BatchError(f"{out} holds pages but no {MANIFEST}: choose an empty --out folder")
    manifest = Manifest(out / MANIFEST)
    identity = manifest.identity()
    wanted = {"campaign": campaign.name, "campaign_hash": campaign_hash(campaign),
              "settings_hash": settings_fingerprint(config)}
    if identity:
        if identity.get("campaign_hash") != wanted["campaign_hash"]:
            manifest.close()
            what = "another version of campaign" if identity.get("campaign") == campaign.name else "campaign"
            raise BatchError(f"{out} holds a run of {what} {identity.get('campaign')!r} (hash "
                             f"{identity.get('campaign_hash')}), not this one ({wanted['campaign_hash']}): choose "
                             f"another --out folder, or delete {out} to start over")
        if identity.get("settings_hash") != wanted["settings_hash"]:
            manifest.close()
            raise BatchError(f"{out} holds a run of this campaign made with other settings (encoder, generator, "
                             f"backend, sections ...): use the same settings, or another --out folder")
        try:
            names.check(out, identity)
        except BatchError:
            manifest.close()
            raise
        recorded = sum(manifest.counts().values())
        if recorded and not resume:
            done = manifest.counts().get("done", 0)
            manifest.close()
            raise BatchError(f"{out} already holds this campaign's run ({done} pages done): add --resume "
                             f"(resume=True) to finish it, or choose an empty --out folder")
    else:
        manifest.set_identity({**wanted, **names.identity(), "created_at": datetime.now(timezone.utc).isoformat()})
    return manifest


def _audience(engine: Engine, campaign: Campaign, limit: int | None) -> list[str]:
    segmentation = None
    if needs_segments(campaign.audience):
        from genpage.campaigns.segments import segment_users

        segmentation = segment_users(engine.store, engine.encoder)
    users = select_audience(engine.store, campaign.audience, segments=segmentation)
    if not users:
        shown = {k: (f"{len(v):,} ids" if k == "users" else v)  # the filters, never the list of ids
                 for k, v in campaign.audience.model_dump(exclude_defaults=True).items()}
        raise CampaignError(f"campaign {campaign.name!r}: the audience selects no user; loosen its filters ({shown})")
    return users[:limit] if limit is not None else users


def _copy_cache_size(engine: Engine) -> int:
    return int(engine.store.query("SELECT COUNT(*) FROM copy_cache")[0][0])


def _tally(summary: BatchSummary, results: Sequence[PageResult], texts: set[str]) -> None:
    for r in results:
        if not r.ok:
            summary.failures += 1
            summary.failed[r.name] = r.error
            continue
        summary.pages += 1
        summary.sections += len(r.sources)
        summary.copy_fallback += sum(s == "fallback" for s in r.sources)
        summary.copy_cache += sum(s.startswith("cache:") for s in r.sources)
        summary.copy_model += sum(s != "fallback" and not s.startswith("cache:") for s in r.sources)
        texts.update(t for t in r.copy_texts if t)


def run_batch(
    engine: Engine,
    campaign: Campaign | str | Path,
    out_dir: str | Path,
    *,
    limit: int | None = None,
    workers: int = 1,
    resume: bool = False,
    engine_kind: str = "local",
    ray_address: str | None = None,
    progress: bool = True,
    batch_size: int = 32,
    gpus_per_worker: float = 0.0,
    name_pages: NamePages = "pseudonym",
) -> BatchSummary:
    """Write the page of every audience member of `campaign` into `out_dir` (see the module docstring).

    workers: processes (local) or Ray actors (ray). resume: finish an interrupted run in `out_dir`.
    engine_kind: "local" or "ray"; ray_address: a Ray cluster ("auto", "ray://host:10001"; default: start Ray
    locally). gpus_per_worker: GPUs each Ray actor asks for (a GPU node runs the generator on CUDA).
    name_pages: "pseudonym" (default) or "raw": how the folder and the logs name shoppers.
    """
    started = time.perf_counter()
    if engine_kind not in ("local", "ray"):
        raise ConfigError(f"engine_kind must be 'local' or 'ray', not {engine_kind!r}")
    if workers < 1 or batch_size < 1:
        raise ConfigError("workers and batch_size must be at least 1")
    camp = as_campaign(campaign)
    if camp is None:
        raise ConfigError("run_batch needs a campaign: a Campaign or the path of a campaign file")
    engine.check_ready()  # a missing or empty store fails here, before the output folder is touched
    names = PageNames(name_pages, engine.config.home)
    out = Path(out_dir)
    pages_dir = out / PAGES
    out.mkdir(parents=True, exist_ok=True)
    with run_lock(out):
        manifest = _open_manifest(out, camp, engine.config, resume, names)
        engine.store.record_output_folder(out)  # before any page: `genpage forget` finds the folder
        try:
            pages_dir.mkdir(exist_ok=True)
            if removed := remove_temp_files(pages_dir):
                logger.info("removed %d temp files left by an interrupted run", removed)
            audience = _audience(engine, camp, limit)
            done = {u for u, status in manifest.statuses().items() if status == "done"}
            todo = [u for u in audience if names.key(u) not in done]
            summary = BatchSummary(campaign=camp.name, out_dir=str(out), engine=engine_kind, workers=workers,
                                   audience=len(audience), skipped=len(audience) - len(todo))
            cache_before = _copy_cache_size(engine)
            if engine_kind == "ray":
                chunks = _ray_results(engine.config, todo, camp, batch_size, workers, ray_address, gpus_per_worker,
                                      name_pages)
            elif workers > 1 and len(todo) > batch_size:
                chunks = _process_results(engine.config, todo, camp, batch_size, workers, name_pages)
            else:
                chunks = _local_results(engine, todo, camp, batch_size, name_pages)
            _consume(chunks, summary, pages_dir, manifest, names, progress)
            summary.copy_generated = _copy_cache_size(engine) - cache_before
            summary.wall_seconds = round(time.perf_counter() - started, 3)
            atomic_write(out / SUMMARY, json.dumps(summary.to_dict(), indent=2))
            logger.info("batch %s: %d pages, %d failed, %.1f s", camp.name, summary.pages, summary.failures,
                        summary.wall_seconds)
            return summary
        finally:
            manifest.close()


def _stop_if_systematic(summary: BatchSummary, first: int = SYSTEMATIC_AFTER) -> None:
    """Stop when the first pages all fail with the same kind of error: that is a setup problem, not a user's."""
    if summary.pages or summary.failures < first:
        return
    kinds = {error.split(":", 1)[0] for error in summary.failed.values()}
    if len(kinds) == 1:
        example = next(iter(summary.failed.values()))
        raise BatchError(f"the first {summary.failures} pages all failed ({example.splitlines()[0][:200]}): this is "
                         "not one shopper's problem; fix it and run again with --resume (resume=True)")


def _consume(chunks: Iterator[list[PageResult]], summary: BatchSummary, pages_dir: Path, manifest: Manifest,
             names: PageNames, progress: bool) -> None:
    from tqdm import tqdm

    texts: set[str] = set()
    bar = tqdm(total=summary.audience, initial=summary.skipped, unit="page", desc=summary.campaign[:30],
               file=sys.stderr, disable=not progress, dynamic_ncols=True, smoothing=0.1)
    try:
        for results in chunks:
            _write_results(pages_dir, manifest, results, names)
            _tally(summary, results, texts)
            bar.update(len(results))
            if summary.failures:
                bar.set_postfix(failed=summary.failures, refresh=False)
                _stop_if_systematic(summary)
    finally:
        bar.close()
        if hasattr(chunks, "close"):
            chunks.close()
    summary.distinct_copy = len(texts)
