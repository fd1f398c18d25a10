"""Benchmark the copy stage: quality (validity, guardrails, relevance, variety) and speed, on real sections.

Sections come from the UCI Online Retail data (../shared/data, built straight from the CSV: co-purchased groups,
trending and new items by keyword category, a shopper's repeat buys, a Christmas campaign) and from the example
shop in examples/shop when present, each data set with its own catalogue in its own store (segment-level prompts
describe a theme with what its categories hold in the catalogue). Three passes per data set: every section in one
batched call (throughput, as a campaign run sends them); pages of 5 sections one at a time into an empty cache
(seconds per fresh page); the same pages again from the cache. With llama-cpp-python installed, the first
`--llamacpp` distinct prompts are also timed through llama.cpp at batch 1 on the same GGUF file.

    python bench/copy.py                                   # the default model and precision, 24 + 6 sections
    python bench/copy.py --precision fp32 --json out.json  # compare a precision
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
import re  # noqa: E402
import resource  # noqa: E402
import statistics  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from collections import Counter  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from genpage.backends import TextModel, get_backend  # noqa: E402
from genpage.config import Config  # noqa: E402
from genpage.copy.generate import CopyStats, _campaign_text, generate_copy, section_jobs  # noqa: E402
from genpage.copy.guardrails import DEFAULT_LIMITS, SectionFacts, check_copy, rule_of  # noqa: E402
from genpage.schemas import Campaign, PageItem, PagePlan, Product, Reason, Section  # noqa: E402
from genpage.store import Store  # noqa: E402
from genpage.text import clean_name, words  # noqa: E402

RETAIL = REPO.parent / "shared" / "data" / "online-retail" / "online_retail.csv.gz"
SHOP = REPO / "examples" / "shop" / "products.csv"
PEAK_FLOPS = 157e9  # fp32 peak of 2 AVX2 cores (2 FMA x 8 lanes x 2 flops x ~2.45 GHz x 2 cores)
CHRISTMAS = Campaign(name="Christmas at Home", brief="festive decorations and gifts for the home", tone="warm, festive")

CATEGORY_WORDS: list[tuple[str, set[str]]] = [  # first match wins: the most specific kinds of product first
    (
        "Stationery",
        {
            "CARD",
            "CARDS",
            "NOTEBOOK",
            "PEN",
            "PENCIL",
            "PENCILS",
            "WRAP",
            "STICKER",
            "STICKERS",
            "TAPE",
            "CALENDAR",
            "ERASER",
            "STAMP",
        },
    ),  # fmt: skip
    ("Home Comforts", {"HOT", "WARMER", "CUSHION", "THROW", "BLANKET", "DOORSTOP", "SLIPPERS"}),
    ("Christmas", {"CHRISTMAS", "XMAS", "ADVENT", "SANTA", "REINDEER", "SNOWFLAKE", "BAUBLE", "NATIVITY"}),
    ("Lighting", {"LANTERN", "T-LIGHT", "TLIGHT", "CANDLE", "CANDLES", "LIGHT", "LIGHTS", "LAMP"}),
    ("Bags", {"BAG", "BAGS", "TOTE", "SHOPPER", "PURSE"}),
    (
        "Kids",
        {
            "CHILDREN",
            "CHILDS",
            "KIDS",
            "TOY",
            "TOYS",
            "DOLLY",
            "SPACEBOY",
            "DINOSAUR",
            "CIRCUS",
            "PLAYHOUSE",
            "JIGSAW",
            "CRAYONS",
            "DOLL",
            "GAME",
        },
    ),  # fmt: skip
    ("Party", {"PARTY", "BUNTING", "BALLOON", "BALLOONS", "NAPKINS"}),
    ("Baking", {"CAKE", "CAKESTAND", "BAKING", "SCONE", "CASES"}),
    ("Tableware", {"TEA", "TEACUP", "TEAPOT", "MUG", "CUP", "CUPS", "SAUCER", "PLATE", "PLATES", "BOWL", "JUG"}),
    ("Kitchen Storage", {"TIN", "TINS", "JAR", "JARS", "STORAGE", "TRAY", "LUNCH", "BOX", "BOXES", "BOTTLE"}),
    ("Garden", {"GARDEN", "PLANT", "BIRD", "WATERING", "HERB", "PLANTER", "GARDENERS"}),
    (
        "Home Decor",
        {
            "HEART",
            "FRAME",
            "CLOCK",
            "SIGN",
            "HOOK",
            "HANGER",
            "MIRROR",
            "WREATH",
            "VASE",
            "HOLDER",
            "DECORATION",
            "DRAWER",
            "CABINET",
            "KNOB",
            "DOORMAT",
            "ART",
        },
    ),  # fmt: skip
]


def category_of(title: str) -> str:
    tokens = set(re.findall(r"[A-Z][A-Z-]*", title.upper()))
    for category, keys in CATEGORY_WORDS:
        if tokens & keys:
            return category
    return "Gifts"


# ---------------------------------------------------------------- sections from Online Retail


def _item(product: Product, kind: str, rank: int) -> PageItem:
    return PageItem(product=product, score=1.0 - rank / 10, reason=Reason(kind=kind))  # type: ignore[arg-type]


def _section(sid: str, kind: str, products: list[Product], anchor: str | None = None) -> Section:
    reason = {"new_arrivals": "new_arrival"}.get(kind, kind)
    return Section(id=sid, kind=kind, intent=kind, anchor_label=anchor,  # type: ignore[arg-type]
                   items=[_item(p, reason, n) for n, p in enumerate(products)])  # fmt: skip


def _distinct(codes: list[str], products: dict[str, Product], exclude: set[str], n: int = 6) -> list[Product]:
    """The first n products with distinct cleaned titles (the data spells one product several ways)."""
    seen = {clean_name(products[c].title).lower() for c in exclude if c in products}
    out = []
    for code in codes:
        name = clean_name(products[code].title).lower()
        if code in exclude or name in seen:
            continue
        seen.add(name)
        out.append(products[code])
        if len(out) == n:
            break
    return out


CATALOGUES: dict[str, dict[str, Product]] = {"retail": {}, "shop": {}}  # each data set's products, for its store


def retail_sections(path: Path, count: int, seed: int = 0) -> list[tuple[Section, list[str], Campaign | None]]:
    """`count` sections of mixed kinds built from real baskets: (section, plan interests, campaign)."""
    df = pd.read_csv(path, dtype={"InvoiceNo": str, "StockCode": str}, parse_dates=["InvoiceDate"])
    df = df[df.CustomerID.notna() & (df.Quantity > 0) & ~df.InvoiceNo.str.startswith("C")]
    df = df[df.StockCode.str.match(r"^\d") & df.Description.notna()]
    titles = df.groupby("StockCode").Description.agg(lambda s: s.value_counts().index[0])
    prices = df.groupby("StockCode").UnitPrice.median()
    products = {
        code: Product(
            id=code, title=str(titles[code]), category=category_of(str(titles[code])), price=float(prices[code])
        )  # fmt: skip
        for code in titles.index
    }
    CATALOGUES["retail"].update(products)
    popularity = df.groupby("StockCode").InvoiceNo.nunique().sort_values(ascending=False)
    by_popularity = list(popularity.index)
    end = df.InvoiceDate.max()
    recent = df[df.InvoiceDate > end - pd.Timedelta(days=30)].groupby("StockCode").InvoiceNo.nunique()
    first_seen = df.groupby("StockCode").InvoiceDate.min()
    new_codes = [c for c in by_popularity if first_seen[c] > end - pd.Timedelta(days=90)]
    rng = random.Random(seed)
    anchors = rng.sample(by_popularity[:400], count)
    customers = df.groupby("CustomerID").InvoiceNo.nunique()
    loyal = sorted(customers[customers >= 10].index)
    kinds = ["because_bought", "trending", "for_you", "because_viewed", "new_arrivals", "buy_again", "campaign"]
    sections: list[tuple[Section, list[str], Campaign | None]] = []
    for n in range(count):
        kind = kinds[n % len(kinds)]
        sid = f"retail-{n:02d}-{kind}"
        anchor = anchors[n]
        interests: list[str] = []
        campaign = None
        if kind in ("because_bought", "because_viewed"):
            invoices = df.loc[df.StockCode == anchor, "InvoiceNo"].unique()
            together = df[df.InvoiceNo.isin(invoices)].StockCode.value_counts()
            if kind == "because_viewed":  # alternatives: co-bought items sharing a word with the anchor
                anchor_words = set(clean_name(products[anchor].title).lower().split()) - {"of", "set", "the", "and"}
                together = together[[bool(anchor_words & set(clean_name(products[c].title).lower().split()))
                                     for c in together.index]]  # fmt: skip
            score = together / np.sqrt(popularity[together.index])
            chosen = _distinct(list(score.sort_values(ascending=False).index), products, {anchor})
            section = _section(sid, kind, chosen, anchor=clean_name(products[anchor].title))
        elif kind == "trending":
            category = products[anchor].category
            codes = [c for c in recent.sort_values(ascending=False).index if products[c].category == category]
            section = _section(sid, kind, _distinct(codes, products, set()), anchor=category)
        elif kind == "new_arrivals":
            offset = rng.randrange(0, max(1, len(new_codes) - 6))
            section = _section(sid, kind, _distinct(new_codes[offset:], products, set()))
        elif kind in ("buy_again", "for_you"):
            customer = rng.choice(loyal)
            mine = df[df.CustomerID == customer].groupby("StockCode").InvoiceNo.nunique().sort_values(ascending=False)
            interests = [c for c, _ in Counter(products[c].category for c in mine.index[:30]).most_common(3)]
            if kind == "buy_again":
                section = _section(sid, kind, _distinct(list(mine[mine >= 2].index), products, set()))
            else:
                codes = [c for c in by_popularity[:600] if products[c].category == interests[0]]
                rng.shuffle(codes)
                section = _section(sid, kind, _distinct(codes, products, set(mine.index)))
        else:
            codes = [c for c in by_popularity[:300] if products[c].category == "Christmas"]
            rng.shuffle(codes)
            section, campaign = _section(sid, kind, _distinct(codes, products, set())), CHRISTMAS
        if len(section.items) >= 3:
            sections.append((section, interests, campaign))
    return sections


def shop_sections(path: Path, count: int) -> list[tuple[Section, list[str], Campaign | None]]:
    """Sections from the example shop: each category's newest, and mixed pairs of categories."""
    frame = pd.read_csv(path)
    CATALOGUES["shop"].update({str(r.id): Product(id=str(r.id), title=str(r.title), category=str(r.category),
                                         price=float(r.price)) for r in frame.itertuples()})  # fmt: skip
    out: list[tuple[Section, list[str], Campaign | None]] = []
    groups = list(frame.groupby("category", sort=True))
    kinds = ["trending", "new_arrivals", "for_you"]
    for n, (category, group) in enumerate(groups[:count]):
        rows = group.sort_values("created_at", ascending=False).head(6)
        products = [Product(id=str(r.id), title=str(r.title), category=str(r.category), price=float(r.price))
                    for r in rows.itertuples()]  # fmt: skip
        kind = kinds[n % len(kinds)]
        out.append((_section(f"shop-{n:02d}-{kind}", kind, products, anchor=str(category) if kind == "trending"
                             else None), [str(category)], None))  # fmt: skip
    return out


def pages_of(sections: list[tuple[Section, list[str], Campaign | None]], size: int = 5) -> list[PagePlan]:
    pages = []
    for start in range(0, len(sections), size):
        chunk = sections[start : start + size]
        campaign = next((c for _, _, c in chunk if c is not None), None)
        interests = [i for _, ints, _ in chunk for i in ints][:3]
        pages.append(PagePlan(user_id=f"bench-{start // size}", sections=[s for s, _, _ in chunk],
                              interests=interests, campaign=campaign))  # fmt: skip
    return pages


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


def run(args: argparse.Namespace) -> dict[str, object]:
    home = Path(os.environ.get("GENPAGE_HOME", Path.home() / ".cache" / "genpage"))
    retail = retail_sections(RETAIL, args.sections, seed=args.seed) if RETAIL.is_file() else []
    shop = shop_sections(SHOP, args.shop_sections) if SHOP.is_file() and args.shop_sections else []
    if not retail and not shop:
        raise SystemExit(f"no sections: neither {RETAIL} nor {SHOP} is present")
    by_source = {"retail": pages_of(retail), "shop": pages_of(shop)}  # each data set's pages use its own catalogue
    pages = [page for source in by_source.values() for page in source]
    config = Config(home=home, backend=args.backend, generator=args.model, precision=args.precision, device="cpu",
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
    load_rss_gb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6  # the generator loaded (peak so far)
    stats = CopyStats()
    page_seconds: list[float] = []
    cached_ms: list[float] = []
    done: list[PagePlan] = []
    jobs = []
    with tempfile.TemporaryDirectory() as tmp:
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
                for plan in source_pages:
                    start = time.perf_counter()
                    generate_copy([plan], backend=backend, store=store, config=config)
                    page_seconds.append(time.perf_counter() - start)
                    logging.warning("page %d/%d: %.1fs", len(page_seconds), len(pages), page_seconds[-1])
                # 3. the same pages again, from the cache
                for plan in source_pages:
                    start = time.perf_counter()
                    generate_copy([plan], backend=backend, store=store, config=config)
                    cached_ms.append((time.perf_counter() - start) * 1000)
    final = [s for plan in done for s in plan.sections]
    # model copy is judged by the facts it was written from (a theme's, at segment level); fallback copy is built
    # from the section's own anchor and category, so by the section's own facts (as in test_generate)
    plan_of = [plan for plan in done for _ in plan.sections]
    shipped = [v for job, s, plan in zip(jobs, final, plan_of, strict=True)
               for v in check_copy(s.copy_, own_facts(s, plan) if s.copy_source == "fallback" else job.facts)]  # type: ignore[arg-type]  # fmt: skip
    caught = Counter(rule_of(v.removeprefix("retry ")) for v in stats.violations)
    caught_final = Counter(rule_of(v.removeprefix("retry ")) for s in final for v in s.copy_violations)
    model_sections = [s for s in final if s.copy_source != "fallback"]
    params = model_parameters(backend)
    tokens_per_s = stats.tokens / stats.model_seconds if stats.model_seconds else 0.0
    report: dict[str, object] = {
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
        "seconds_per_page": statistics.median(page_seconds),
        "seconds_per_page_max": max(page_seconds),
        "seconds_per_page_first": page_seconds[0],
        "page_seconds": page_seconds,
        "prefix_cache": getattr(backend, "prefix_cache_size", None),
        "cached_page_ms": statistics.median(cached_ms),
        "load_s": load_s,
        "load_rss_gb": load_rss_gb,
        "peak_rss_gb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6,  # Linux: KiB
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
                "kind": s.kind,
                "anchor": s.anchor_label,
                "products": [clean_name(i.product.title) for i in s.items],
                "title": s.copy_.title,
                "blurb": s.copy_.blurb,  # type: ignore[union-attr]
                "source": s.copy_source,
                "violations": s.copy_violations,
            }  # fmt: skip
            for s in final
        ],
    }
    return report


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
        ("seconds per page (5 fresh)", f"{report['seconds_per_page']:.2f} (max {report['seconds_per_page_max']:.2f})"),
        ("cached page ms", f"{report['cached_page_ms']:.1f}"),
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
        print(f"--- {sample['id']}{anchor} -> {sample['source']}")
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
    parser.add_argument("--sections", type=int, default=24, help="Online Retail sections (default 24)")
    parser.add_argument("--shop-sections", type=int, default=6, help="example-shop sections (default 6)")
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
    report = run(args)
    print_report(report, args.show)
    if args.json:
        args.json.write_text(json.dumps(report, indent=2, default=str))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
