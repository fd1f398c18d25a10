"""Benchmark the copy stage: quality (validity, guardrails, relevance, variety) and speed, on planned pages.

Sections come from real plans (`genpage.evaluation.pages`): the ranker fitted on each data set's last-basket split,
test shoppers' pages planned into theme and intent shelves, a seeded sample of those pages: UCI Online Retail
(../shared/data, through genpage's preset; plus pages with a Christmas campaign), the example shop in examples/shop,
and a small electronics shop (genpage.evaluation.shops). Each data set has its own catalogue in its own
store. The planner's metrics over all planned pages come first (`theme_coherence`, the lowest of the data sets';
`relevance_kept`, the lower of Online Retail's and the example shop's). Three passes per data set: every section in
one batched call (throughput, as a campaign run sends them); pages one at a time into an empty cache (seconds per
fresh page); the same pages again from the cache. With llama-cpp-python installed, the first `--llamacpp` distinct
prompts are also timed through llama.cpp at batch 1 on the same GGUF file.

    python bench/copy.py                                   # the default model: 4 + 1 + 2 + 1 pages, ~40 sections
    python bench/copy.py --json out.json --blind blind.md  # and a blind comparison with --blind-model
    python bench/copy.py --precision fp32                  # compare a precision
    python bench/copy.py --copy-level user                 # prompts with the exact products
    python bench/copy.py --backend llamacpp --llamacpp 28   # the GGUF run batched by llama.cpp, vs its batch-1
    python bench/copy.py --backend echo                    # the pipeline without a model
"""

from __future__ import annotations

import os
import sys

# This file is named like the standard library's `copy` module: take its folder off the import path first.
_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:] = [p for p in sys.path if os.path.abspath(p or os.curdir) != _HERE]

import argparse  # noqa: E402
import importlib.util  # noqa: E402
import json  # noqa: E402
import logging  # noqa: E402
import random  # noqa: E402
import resource  # noqa: E402
import statistics  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from collections import Counter  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from genpage.backends import TextModel, get_backend  # noqa: E402
from genpage.config import Config  # noqa: E402
from genpage.copy.generate import CopyStats, _campaign_text, generate_copy, section_jobs  # noqa: E402
from genpage.copy.guardrails import DEFAULT_LIMITS, SectionFacts, check_copy, rule_of  # noqa: E402
from genpage.evaluation.pages import (  # noqa: E402
    PlannedPages,
    online_retail,
    plan_metrics,
    planned_pages,
    rank_held,
    shop_folder,
)
from genpage.evaluation.shops import write_electronics  # noqa: E402
from genpage.plan import plan_page  # noqa: E402
from genpage.schemas import Campaign, PagePlan, Product, Section  # noqa: E402
from genpage.store import Store  # noqa: E402
from genpage.text import clean_name, words  # noqa: E402

RETAIL = REPO.parent / "shared" / "data" / "online-retail" / "online_retail.csv.gz"
SHOP = REPO / "examples" / "shop"
PEAK_FLOPS = 157e9  # fp32 peak of 2 AVX2 cores (2 FMA x 8 lanes x 2 flops x ~2.45 GHz x 2 cores)
CATALOGUES: dict[str, dict[str, Product]] = {}  # each data set's products, for its store
CHRISTMAS = Campaign(name="Christmas at Home", brief="festive decorations and gifts for the home", tone="warm, festive")

# ---------------------------------------------------------------- sections, from planned pages


def pick_pages(pages: PlannedPages, count: int, seed: int) -> list[PagePlan]:
    """`count` pages of at least four shelves, drawn at random (seeded) from the planned pages."""
    full = [plan for plan in pages.plans if len(plan.sections) >= 4]
    return random.Random(seed).sample(full, min(count, len(full)))


def campaign_pages(pages: PlannedPages, campaign: Campaign, count: int, seed: int) -> list[PagePlan]:
    """`count` test shoppers' pages with the campaign on: its spotlight first."""
    held = pages.held.sample(n=min(count * 3, len(pages.held)), random_state=seed)
    by_id = {p.id: p for p in pages.products}
    plans = [plan_page(r, by_id, campaign=campaign, items_per_section=pages.items_per_section)
             for r in rank_held(pages.ranker, held, k=90, campaign=campaign)]  # fmt: skip
    return [plan for plan in plans if plan.sections and plan.sections[0].kind == "campaign"][:count]


def bench_pages(args: argparse.Namespace, tmp: Path) -> tuple[dict[str, list[PagePlan]], dict[str, object]]:
    """Each data set's pages (Online Retail, the example shop, the electronics shop), and the planner's metrics
    (theme coherence, relevance kept) over all of each data set's planned pages."""
    from genpage.embed.encoder import load_encoder

    encoder = load_encoder("minilm", device="cpu")
    sources = {"shop": (lambda: shop_folder(SHOP), args.shop_pages),
               "electronics": (lambda: shop_folder(write_electronics(tmp / "electronics")),
                               args.electronics_pages)}
    if RETAIL.is_file():
        sources["retail"] = (lambda: online_retail(RETAIL), args.pages)
    out: dict[str, list[PagePlan]] = {}
    metrics: dict[str, object] = {}
    for name, (load, count) in sources.items():
        if count <= 0:
            continue
        planned = planned_pages(name, load(), encoder, shoppers=args.plan_shoppers, seed=args.seed)
        CATALOGUES[name] = {p.id: p for p in planned.products}
        out[name] = pick_pages(planned, count, args.seed)
        if name == "retail" and args.campaign_pages:
            out[name] += campaign_pages(planned, CHRISTMAS, args.campaign_pages, args.seed)
        metrics[name] = plan_metrics(planned)
    return out, metrics


# ---------------------------------------------------------------- metrics


def distinct_2(texts: list[str]) -> float:
    tokenized = [words(text.lower()) for text in texts]
    bigrams = [pair for tokens in tokenized for pair in zip(tokens, tokens[1:], strict=False)]
    return len(set(bigrams)) / len(bigrams) if bigrams else 0.0


def relevance(sections: list[Section], home: Path) -> dict[str, float] | None:
    """Cosine of each copy's embedding to its own products' centroid, and to the next section's (a control)."""
    try:
        from genpage.embed.encoder import load_encoder

        encoder = load_encoder("minilm", device="cpu", home=home)
    except Exception as exc:  # the encoder is optional for this benchmark
        logging.warning("relevance skipped: %s", exc)
        return None
    copies = encoder.encode_documents([f"{s.copy_.title}. {s.copy_.blurb}" for s in sections])  # type: ignore[union-attr]
    centroids = []
    for section in sections:
        vectors = encoder.encode_documents([clean_name(i.product.title) for i in section.items])
        centroid = vectors.mean(axis=0)
        centroids.append(centroid / np.linalg.norm(centroid))
    matrix = np.stack(centroids)
    own = np.sum(copies * matrix, axis=1)
    control = np.sum(copies * np.roll(matrix, 1, axis=0), axis=1)
    return {"own": float(own.mean()), "shuffled": float(control.mean()), "wins": float((own > control).mean())}


def model_parameters(backend: TextModel) -> int | None:
    if hasattr(backend, "parameters"):  # llamacpp: the GGUF file's own count
        return int(backend.parameters)
    model = getattr(backend, "model", None)
    if model is None:
        return None
    return sum(p.numel() for p in model.parameters()) + sum(
        m.weight().numel() for m in model.modules() if hasattr(m, "weight") and callable(m.weight)
    )


def llamacpp_available() -> bool:
    return importlib.util.find_spec("llama_cpp") is not None


def llamacpp_tokens_per_s(backend: TextModel, jobs: list, args: argparse.Namespace, home: Path) -> float | None:
    """The same prompts (first `--llamacpp` distinct ones) through llama.cpp at batch 1, greedy, on the GGUF file
    the packaged model came from: completion tokens over wall time, prompt evaluation included, as for ours."""
    from genpage.embed.weights import lookup, resolve_gguf

    spec = lookup(args.model)
    if not llamacpp_available() or spec is None or not spec.gguf_pieces or not hasattr(backend, "render_prompt"):
        return None
    from llama_cpp import Llama  # type: ignore[import-not-found]

    joined, _ = resolve_gguf(args.model, home=home)  # joined and checked once, as the llamacpp backend reads it
    llm = Llama(model_path=str(joined), n_ctx=2048, n_threads=_threads() or 2, n_batch=512, verbose=False)
    requests = list({job.key: job.request for job in jobs}.values())[: args.llamacpp]
    tokens, seconds = 0, 0.0
    for request in requests:
        prompt = backend.render_prompt(request)  # type: ignore[attr-defined]
        start = time.perf_counter()
        out = llm(prompt, max_tokens=request.options.max_new_tokens, temperature=0.0,
                  repeat_penalty=request.options.repetition_penalty, stop=request.options.stop or None)  # fmt: skip
        seconds += time.perf_counter() - start
        tokens += int(out["usage"]["completion_tokens"])
    llm.close()
    return tokens / seconds if seconds else None


def own_facts(section: Section, plan: PagePlan) -> SectionFacts:
    """What the section itself shows: its products, anchor and categories (and the campaign on its own shelf)."""
    return SectionFacts(product_names=tuple(clean_name(i.product.title) for i in section.items),
                        anchor=clean_name(section.anchor_label) if section.anchor_label else "",
                        categories=tuple(i.product.category for i in section.items if i.product.category),
                        campaign_text=_campaign_text(section, plan), kind=section.kind)  # fmt: skip


# ---------------------------------------------------------------- the run


def run(args: argparse.Namespace, tmp: Path) -> dict[str, object]:
    """The report of `--model`; with `--blind`, `--blind-model` measured the same way on the same pages (its report
    under "compared") and the blind file written from both."""
    home = Path(os.environ.get("GENPAGE_HOME", Path.home() / ".cache" / "genpage"))
    by_source, planning = bench_pages(args, tmp)  # each data set's pages use its own catalogue
    if not any(by_source.values()):
        raise SystemExit("no pages planned")
    report, done = measure(args, args.model, by_source, planning, home, tmp / "first")
    if args.blind:
        report["compared"], second = measure(args, args.blind_model, by_source, planning, home, tmp / "second")
        write_blind(args, done, second)
    return report


def measure(args: argparse.Namespace, model: str, by_source: dict[str, list[PagePlan]],
            planning: dict[str, dict[str, float]], home: Path, tmp: Path
            ) -> tuple[dict[str, object], list[PagePlan]]:  # fmt: skip
    """One generator's pass over every page (batched, then fresh one at a time, then cached): its report and the
    pages with their copy. The backend is closed before it returns; the peak RSS counts from the pass's start."""
    tmp.mkdir(parents=True, exist_ok=True)
    reset_peak_rss()
    pages = [page for source in by_source.values() for page in source]
    config = Config(home=home, backend=args.backend, generator=model, precision=args.precision, device="cpu",
                    copy_level=args.copy_level, copy_candidates=args.candidates)  # fmt: skip
    start = time.perf_counter()
    backend = get_backend(config)
    if args.batch_size and hasattr(backend, "batch_size"):
        backend.batch_size = args.batch_size
    if args.no_prefix_cache and hasattr(backend, "prefix_cache_size"):
        backend.prefix_cache_size = 0
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    load_s = time.perf_counter() - start
    load_rss_gb = peak_rss_gb()  # the generator loaded (peak since this pass began)
    stats = CopyStats()
    page_seconds: list[float] = []
    cached_ms: list[float] = []
    done: list[PagePlan] = []
    jobs = []
    for source, source_pages in by_source.items():
        if not source_pages:
            continue
        with Store(Path(tmp) / f"{source}-batch.sqlite") as batch_store, \
                Store(Path(tmp) / f"{source}-pages.sqlite") as store:  # fmt: skip
            for each in (batch_store, store):
                each.upsert_products(CATALOGUES[source].values())
            # 1. throughput: every section of the data set in one batched call, as a campaign run sends them
            written = generate_copy(source_pages, backend=backend, store=batch_store, config=config, stats=stats)
            done += written
            jobs += section_jobs(written, backend, config, DEFAULT_LIMITS, batch_store)
            # 2. latency: the same pages one at a time into another empty cache, as a shopper's first visit
            for plan in source_pages[: args.latency_pages]:
                start = time.perf_counter()
                generate_copy([plan], backend=backend, store=store, config=config)
                page_seconds.append(time.perf_counter() - start)
                logging.warning("page %d/%d: %.1fs", len(page_seconds), len(pages), page_seconds[-1])
            # 3. the same pages again, from the cache
            for plan in source_pages[: args.latency_pages]:
                start = time.perf_counter()
                generate_copy([plan], backend=backend, store=store, config=config)
                cached_ms.append((time.perf_counter() - start) * 1000)
    final = [s for plan in done for s in plan.sections]
    source_of = [name for name, source_pages in by_source.items() for plan in source_pages for _ in plan.sections]
    # model copy is judged by the facts it was written from (a theme's, at segment level); fallback copy is built
    # from the section's own anchor and category, so by the section's own facts (as in test_generate)
    plan_of = [plan for plan in done for _ in plan.sections]
    shipped = [v for job, s, plan in zip(jobs, final, plan_of, strict=True)
               for v in check_copy(s.copy_, own_facts(s, plan) if s.copy_source == "fallback" else job.facts)]  # type: ignore[arg-type]  # fmt: skip
    caught = Counter(v.rule for v in stats.violations)
    caught_final = Counter(rule_of(v) for s in final for v in s.copy_violations)
    model_sections = [s for s in final if s.copy_source != "fallback"]
    params = model_parameters(backend)
    tokens_per_s = stats.tokens / stats.model_seconds if stats.model_seconds else 0.0
    retail_and_shop = [m for name, m in planning.items() if name in ("retail", "shop")]
    report: dict[str, object] = {
        "theme_coherence": min(m["theme_coherence"] for m in planning.values()),  # type: ignore[index]
        "relevance_kept": min(m["relevance_kept"] for m in retail_and_shop) if retail_and_shop else None,  # type: ignore[index]
        "planning": planning,
        "model": backend.name,
        "precision": backend.precision,
        "backend": backend.backend_name,
        "sections": len(final),
        "pages": len(pages),
        "valid_rate": len(model_sections) / len(final),
        "first_pass_valid_rate": 1 - stats.retried / max(1, stats.generated),
        "repaired": stats.repaired,
        "fallback_rate": stats.fallback / len(final),
        "violations_shipped": len(shipped),
        "violations_caught_by_rule": dict(caught),
        "violations_unfixed_by_rule": dict(caught_final),
        "relevance": relevance(final, home) if not args.no_relevance else None,
        "distinct_2": distinct_2([f"{s.copy_.title} {s.copy_.blurb}" for s in model_sections]),  # type: ignore[union-attr]
        "title_words": _spread([len(s.copy_.title.split()) for s in model_sections]),  # type: ignore[union-attr]
        "blurb_words": _spread([len(s.copy_.blurb.split()) for s in model_sections]),  # type: ignore[union-attr]
        "tokens_generated": stats.tokens,
        "tokens_per_s": tokens_per_s,
        "compute_limit_tokens_per_s": PEAK_FLOPS / (2 * params) if params else None,
        "parameters": params,
        "seconds_per_page": statistics.median(page_seconds) if page_seconds else None,
        "seconds_per_page_max": max(page_seconds, default=None),
        "seconds_per_page_first": page_seconds[0] if page_seconds else None,
        "page_seconds": page_seconds,
        "prefix_cache": getattr(backend, "prefix_cache_size", None),
        "cached_page_ms": statistics.median(cached_ms) if cached_ms else None,
        "load_s": load_s,
        "load_rss_gb": load_rss_gb,
        "peak_rss_gb": peak_rss_gb(),
        "batch_size": getattr(backend, "batch_size", None),
        "threads": _threads(),
        "llamacpp_tokens_per_s": llamacpp_tokens_per_s(backend, jobs, args, home) if args.llamacpp else None,
        "llamacpp_installed": llamacpp_available(),
        "copy_level": args.copy_level,
        "copy_candidates": args.candidates,
        "distinct_prompts": len({job.key for job in jobs}),
        "samples": [
            {
                "id": s.id,
                "data": source,
                "kind": s.kind,
                "shelf": s.shelf,
                "theme": s.theme.label if s.theme else None,
                "anchor": s.anchor_label,
                "products": [clean_name(i.product.title) for i in s.items],
                "title": s.copy_.title,
                "blurb": s.copy_.blurb,  # type: ignore[union-attr]
                "source": s.copy_source,
                "violations": s.copy_violations,
            }  # fmt: skip
            for s, source in zip(final, source_of, strict=True)
        ],
    }
    backend.close()
    return report, done


def reset_peak_rss() -> None:
    """Start the peak-RSS count afresh (Linux: /proc/self/clear_refs), so a second pass reports its own peak."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        logging.warning("cannot reset the peak RSS: a second pass's peak includes the first's")


def peak_rss_gb() -> float:
    """The process's peak RSS since the last reset (VmHWM), else since it started (ru_maxrss), in GB."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024 / 1e9
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 / 1e9  # Linux: KiB


def write_blind(args: argparse.Namespace, done: list[PagePlan], second: list[PagePlan]) -> None:
    """The same sections with copy from both configurations (`--model`, `--blind-model`), the two copies in a
    shuffled order per section and the sections shuffled, to `args.blind`; which copy is which goes to
    `<blind>.key.json`."""
    rng = random.Random(args.seed)
    pairs = [(a, b) for plan_a, plan_b in zip(done, second, strict=True)
             for a, b in zip(plan_a.sections, plan_b.sections, strict=True)]  # fmt: skip
    rng.shuffle(pairs)
    lines = ["# Blind comparison: for each section, which copy is better? (key in the .key.json file)", ""]
    key = []
    for n, (a, b) in enumerate(pairs, 1):
        flip = rng.random() < 0.5
        first, second_ = (b, a) if flip else (a, b)
        anchor = f" ({a.anchor_label})" if a.anchor_label else ""
        theme = f"theme: {a.theme.label}" if a.theme else f"intent: {a.kind}{anchor}"
        products = "; ".join(clean_name(i.product.title) for i in a.items)
        lines += [f"## {n}. {a.shelf} shelf ({a.kind}), {theme}", f"Products: {products}", ""]
        for label, section in (("X", first), ("Y", second_)):
            lines.append(f"- {label}: **{section.copy_.title}**: {section.copy_.blurb}")  # type: ignore[union-attr]
        lines.append("")
        models = (args.blind_model, args.model) if flip else (args.model, args.blind_model)
        key.append({"n": n, "X": models[0], "Y": models[1], "X_source": first.copy_source,
                    "Y_source": second_.copy_source})  # fmt: skip
    args.blind.write_text("\n".join(lines), encoding="utf-8")
    args.blind.with_suffix(".key.json").write_text(json.dumps(key, indent=1), encoding="utf-8")


def _threads() -> int | None:
    try:
        import torch

        return int(torch.get_num_threads())
    except ImportError:
        return None


def _spread(values: list[int]) -> dict[str, float]:
    if not values:
        return {}
    return {"mean": statistics.mean(values), "max": max(values), "min": min(values)}


def print_report(report: dict[str, object], show: int) -> None:
    rows = [
        ("theme coherence / relevance kept", f"{report['theme_coherence']:.3f} / {report['relevance_kept'] or 0:.3f}"),
        ("model", f"{report['model']} ({report['precision']}, batch {report['batch_size']}, "
                  f"{report['threads']} threads, prefix cache {report['prefix_cache']})"),
        ("sections / pages", f"{report['sections']} / {report['pages']}"),
        ("valid model copy (no fallback)",
         f"{report['valid_rate']:.0%}  (first pass {report['first_pass_valid_rate']:.0%}, "
         f"{report['repaired']} answers mended by dropping a clause)"),
        ("fallback rate", f"{report['fallback_rate']:.0%}"),
        ("violations shipped", str(report["violations_shipped"])),
        ("violations caught (by rule)", json.dumps(report["violations_caught_by_rule"])),
        ("unfixed, went to fallback", json.dumps(report["violations_unfixed_by_rule"])),
        ("relevance own vs shuffled", json.dumps(report["relevance"])),
        ("distinct-2", f"{report['distinct_2']:.2f}"),
        ("title words / blurb words", f"{report['title_words']} / {report['blurb_words']}"),
        ("tokens/s (all sections, one batched call)", f"{report['tokens_per_s']:.1f}"),
        ("compute limit tokens/s", f"{report['compute_limit_tokens_per_s'] or 0:.0f}"),
        ("seconds per page (5 fresh)", f"{report['seconds_per_page']:.2f} (max {report['seconds_per_page_max']:.2f})"
         if report["seconds_per_page"] is not None else "not measured"),
        ("cached page ms", f"{report['cached_page_ms']:.1f}" if report["cached_page_ms"] is not None
         else "not measured"),
        ("model load s", f"{report['load_s']:.1f}"),
        ("peak memory GB: model loaded / whole run", f"{report['load_rss_gb']:.1f} / {report['peak_rss_gb']:.1f}"),
        ("llama.cpp batch-1 tokens/s", f"{report['llamacpp_tokens_per_s']:.1f}" if report["llamacpp_tokens_per_s"]
         else ("not installed" if not report["llamacpp_installed"] else "not measured")),
        ("copy level / distinct prompts", f"{report['copy_level']} / {report['distinct_prompts']}"),
        ("candidates per section", str(report["copy_candidates"])),
    ]  # fmt: skip
    width = max(len(k) for k, _ in rows)
    for key, value in rows:
        print(f"{key:<{width}}  {value}")
    samples = report["samples"]
    assert isinstance(samples, list)
    print()
    for sample in samples[:show]:
        anchor = f" [anchor: {sample['anchor']}]" if sample["anchor"] else ""
        what = f"theme {sample['theme']}" if sample["theme"] else "intent"
        print(f"--- {sample['data']}/{sample['id']} ({sample['kind']}, {what}){anchor} -> {sample['source']}")
        print(f"    products: {'; '.join(sample['products'])}")
        print(f"    title:    {sample['title']}")
        print(f"    blurb:    {sample['blurb']}")
        if sample["violations"]:
            print(f"    why:      {sample['violations']}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--backend", default="local", help="backend name (local, llamacpp, openai, echo)")
    parser.add_argument("--model", default=Config.model_fields["generator"].default,
                        help="generator registry name or folder (default: the configured default)")
    parser.add_argument("--precision", default="auto", choices=["auto", "fp32", "bf16", "fp16", "int8"])
    parser.add_argument("--pages", type=int, default=4, help="Online Retail pages (default 4, 5 shelves each)")
    parser.add_argument("--campaign-pages", type=int, default=1, help="Online Retail pages with a Christmas campaign")
    parser.add_argument("--shop-pages", type=int, default=2, help="example-shop pages (default 2)")
    parser.add_argument("--electronics-pages", type=int, default=1, help="electronics-shop pages (default 1)")
    parser.add_argument("--plan-shoppers", type=int, default=600,
                        help="test shoppers planned per data set for the planning metrics (default 600)")
    parser.add_argument("--latency-pages", type=int, default=99,
                        help="pages per data set timed one at a time, fresh and cached (0: quality only)")
    parser.add_argument("--blind", type=Path, help="write a blind comparison with --blind-model here")
    parser.add_argument("--blind-model", default="qwen2.5-0.5b-instruct", help="the second configuration's model")
    parser.add_argument("--batch-size", type=int, default=0, help="local backend batch size (default: its own)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=0, help="torch threads (default: the cores available)")
    parser.add_argument("--no-prefix-cache", action="store_true", help="recompute shared prompt prefixes")
    parser.add_argument("--show", type=int, default=10, help="sample sections printed in full")
    parser.add_argument("--no-relevance", action="store_true", help="skip the embedding relevance check")
    parser.add_argument("--copy-level", default="segment", choices=["theme", "segment", "user"])
    parser.add_argument("--candidates", type=int, default=Config.model_fields["copy_candidates"].default,
                        help="answers weighed per section (the greedy one, then samples)")
    parser.add_argument("--llamacpp", type=int, default=8,
                        help="time this many prompts through llama.cpp at batch 1 when installed (0: skip)")
    parser.add_argument("--json", type=Path, help="write the report here")
    args = parser.parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    logging.basicConfig(level=logging.WARNING)
    with tempfile.TemporaryDirectory() as tmp:
        report = run(args, Path(tmp))
    print_report(report, args.show)
    if "compared" in report:
        print(f"\n=== the same pages, same run: {args.blind_model}")
        print_report(report["compared"], args.show)  # type: ignore[arg-type]
    if args.json:
        args.json.write_text(json.dumps(report, indent=2, default=str))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
