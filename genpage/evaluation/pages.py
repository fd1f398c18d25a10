"""Planned pages on a held-out split, and what they are worth: are theme shelves coherent, does the page keep the
ranker's relevance? Used by bench/plan.py and bench/copy.py (which draws its sections from these pages).

`planned_pages` fits the ranker on the last-basket split (`Split`: each shopper's latest basket held out), ranks a
sample of test shoppers as of their basket's day (k = 3 x the page's items, as the engine asks) and plans a page
for each. `plan_metrics` measures them:
- relevance: the share of the held-out basket's items shown anywhere on the page, against the ranker's plain
  top-N with N = the page's own number of items (the baseline); `relevance_kept` is their ratio;
- coherence: on theme shelves, the share of items inside the shelf's theme (`genpage.plan.in_theme`), and the
  mean pairwise cosine of the shelf's item embeddings against random items of one category and against the
  page's mixed "picked for you" shelf;
- themes: distinct themes per page, shelves per page and the share that are theme shelves.
"""

from __future__ import annotations

import random
import tempfile
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from genpage.embed.encoder import Encoder, product_text
from genpage.evaluation.protocol import Split
from genpage.plan import ThemeStrictness, in_theme, plan_page
from genpage.rank.ranker import Ranker
from genpage.schemas import Campaign, PagePlan, Product, RankedList, User


@dataclass
class PlannedPages:
    name: str
    products: list[Product]
    vectors: np.ndarray  # unit rows, in `products` order
    held: pd.DataFrame  # one row per planned shopper, in `plans` order: user_id, items, timestamp
    ranked: list[RankedList]
    plans: list[PagePlan]
    items_per_section: int
    ranker: Ranker


def shop_folder(folder: Path) -> tuple[list[Product], pd.DataFrame, list[User]]:
    """A shop folder (products.*, users.*, events.*) through a real store, as `genpage demo` loads one."""
    from genpage.ingest import ingest_directory
    from genpage.store import Store

    with tempfile.TemporaryDirectory() as tmp, Store(Path(tmp) / "shop.db") as store:
        ingest_directory(store, folder)
        products = store.products()
        events = store.events_frame()
        users = [u for uid in store.user_ids() if (u := store.user(uid)) is not None]
    return products, events, users


def online_retail(path: Path) -> tuple[list[Product], pd.DataFrame, list[User]]:
    """UCI Online Retail through genpage's preset (its titles and keyword categories), purchases only."""
    from genpage.ingest.presets.online_retail import load

    rows = load(path)
    events = pd.DataFrame(rows.events)
    return ([Product(**row) for row in rows.products], events[events["type"] == "purchase"].reset_index(drop=True),
            [User(**row) for row in rows.users])  # fmt: skip


def unit_vectors(encoder: Encoder, products: list[Product]) -> np.ndarray:
    vectors = encoder.encode_documents([product_text(p) for p in products])
    return vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-9)


def rank_held(ranker: Ranker, held: pd.DataFrame, k: int, campaign: Campaign | None = None) -> list[RankedList]:
    """Each test shopper ranked as of their held-out basket's day (the shoppers of one day in one call)."""
    out: list[RankedList] = []
    frame = held.assign(when=pd.to_datetime(held["timestamp"]).dt.normalize())
    for when, group in frame.groupby("when", sort=True):
        out.extend(ranker.rank(group["user_id"].tolist(), k=k, campaign=campaign, now=when.to_pydatetime()))
    return out


def planned_pages(
    name: str,
    data: tuple[list[Product], pd.DataFrame, list[User]],
    encoder: Encoder,
    *,
    shoppers: int = 1500,
    sections: int = 5,
    items_per_section: int = 6,
    themes: ThemeStrictness = "category",
    campaign: Campaign | None = None,
    seed: int = 0,
) -> PlannedPages:
    """Pages for a sample of `shoppers` test shoppers of the last-basket split (see the module docstring)."""
    products, events, users = data
    split = Split.of(events, [p.id for p in products], kind="last-basket")
    vectors = unit_vectors(encoder, products)
    ranker = Ranker.fit_frame(split.train, products, encoder, users=users, item_vectors=vectors)
    held = split.held
    if len(held) > shoppers:
        held = held.sample(n=shoppers, random_state=seed).reset_index(drop=True)
    ranked = rank_held(ranker, held, k=max(60, sections * items_per_section * 3), campaign=campaign)
    held = held.set_index("user_id").loc[[r.user_id for r in ranked]].reset_index()
    by_id = {p.id: p for p in products}
    plans = [plan_page(r, by_id, campaign=campaign, sections=sections, items_per_section=items_per_section,
                       themes=themes) for r in ranked]  # fmt: skip
    return PlannedPages(name, products, vectors, held, ranked, plans, items_per_section, ranker)


def mean_pairwise(vectors: np.ndarray) -> float:
    n = len(vectors)
    if n < 2:
        return float("nan")
    sims = vectors @ vectors.T
    return float((sims.sum() - np.trace(sims)) / (n * (n - 1)))


def category_similarity(products: list[Product], vectors: np.ndarray, size: int, seed: int = 0) -> float:
    """Mean pairwise similarity of `size` random items of one category (among categories of >= size items)."""
    rng = random.Random(seed)
    by_category: dict[str, list[int]] = defaultdict(list)
    for i, product in enumerate(products):
        by_category[product.category].append(i)
    pools = [ids for ids in by_category.values() if len(ids) >= size]
    values = [mean_pairwise(vectors[rng.sample(rng.choice(pools), size)]) for _ in range(500)] if pools else []
    return float(np.mean(values)) if values else float("nan")


def plan_metrics(pages: PlannedPages) -> dict[str, Any]:
    """Relevance kept, theme coherence and themes per page (see the module docstring)."""
    index = {p.id: i for i, p in enumerate(pages.products)}
    basket = dict(zip(pages.held["user_id"].astype(str), pages.held["items"], strict=True))
    hits_page = hits_top = wanted = inside = theme_items = shelves = theme_shelves = 0
    theme_sims: list[float] = []
    mixed_sims: list[float] = []
    themes_per_page: list[int] = []
    for plan, ranked in zip(pages.plans, pages.ranked, strict=True):
        target = set(basket[plan.user_id])
        shown = [item.product.id for section in plan.sections for item in section.items]
        hits_page += len(target & set(shown))
        hits_top += len(target & {item.item_id for item in ranked.items[: len(shown)]})
        wanted += len(target)
        themes = set()
        for section in plan.sections:
            shelves += 1
            rows = pages.vectors[[index[item.product.id] for item in section.items]]
            if section.shelf == "theme" and section.theme is not None:
                theme_shelves += 1
                themes.add(section.theme.key)
                inside += sum(in_theme(item.product, section.theme) for item in section.items)
                theme_items += len(section.items)
                theme_sims.append(mean_pairwise(rows))
            elif section.kind == "for_you":
                mixed_sims.append(mean_pairwise(rows))
        themes_per_page.append(len(themes))
    page_recall, top_recall = hits_page / max(wanted, 1), hits_top / max(wanted, 1)
    return {
        "data": pages.name,
        "pages": len(pages.plans),
        "shelves_per_page": shelves / max(len(pages.plans), 1),
        "theme_shelf_share": theme_shelves / max(shelves, 1),
        "distinct_themes_per_page": float(np.mean(themes_per_page)) if themes_per_page else 0.0,
        "theme_coherence": inside / theme_items if theme_items else float("nan"),
        "theme_similarity": float(np.nanmean(theme_sims)) if theme_sims else float("nan"),
        "category_baseline_similarity": category_similarity(pages.products, pages.vectors, pages.items_per_section),
        "mixed_shelf_similarity": float(np.nanmean(mixed_sims)) if mixed_sims else float("nan"),
        "page_recall": page_recall,
        "ranker_top_n_recall": top_recall,
        "relevance_kept": page_recall / top_recall if top_recall else float("nan"),
    }
