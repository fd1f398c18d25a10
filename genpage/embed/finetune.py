"""Fine-tune the sentence-transformer on the store's own co-interactions (MultipleNegativesRankingLoss).

Pairs are products bought in the same basket (or by the same shopper in consecutive baskets); the other pairs of a
batch are the negatives. The model is saved under <GENPAGE_HOME>/models/<name> and then loads by that name with
`genpage.embed.encoder.load_encoder(name)`. Whether it helps is measured, not assumed: see bench/ranking.py.
"""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from genpage.embed.encoder import Encoder, load_encoder, product_text
from genpage.errors import EmptyStoreError
from genpage.events import basket_keys
from genpage.schemas import Product

if TYPE_CHECKING:
    from genpage.store import Store

logger = logging.getLogger(__name__)


def co_interaction_pairs(
    events: pd.DataFrame, products: list[Product], *, max_pairs: int = 4000, seed: int = 0
) -> list[tuple[str, str]]:
    """(anchor text, positive text) pairs of distinct products bought in one basket, most frequent pairs first
    capped per product so that best-sellers do not fill the set."""
    texts = {p.id: product_text(p) for p in products}
    buys = events[(events["type"] == "purchase") & events["item_id"].isin(texts)].copy()
    if buys.empty:
        return []
    buys["basket"] = buys["user_id"].astype(str) + "|" + basket_keys(buys).to_numpy()
    baskets = buys.groupby("basket")["item_id"].agg(lambda s: sorted(set(s)))
    rng = np.random.default_rng(seed)
    counts: dict[tuple[str, str], int] = {}
    for items in baskets:
        if len(items) < 2:
            continue
        chosen = items if len(items) <= 30 else list(rng.choice(items, 30, replace=False))
        for i in range(len(chosen)):
            j = int(rng.integers(0, len(chosen) - 1))
            j = j + 1 if j >= i else j
            key = (chosen[i], chosen[j]) if chosen[i] < chosen[j] else (chosen[j], chosen[i])
            counts[key] = counts.get(key, 0) + 1
    per_item: dict[str, int] = {}
    pairs = []
    for (a, b), _ in sorted(counts.items(), key=lambda kv: -kv[1]):
        if per_item.get(a, 0) >= 20 or per_item.get(b, 0) >= 20 or texts[a] == texts[b]:
            continue
        per_item[a] = per_item.get(a, 0) + 1
        per_item[b] = per_item.get(b, 0) + 1
        pairs.append((texts[a], texts[b]))
        if len(pairs) >= max_pairs:
            break
    return pairs


def train_encoder_on_pairs(
    pairs: list[tuple[str, str]],
    *,
    base: str = "minilm",
    name: str = "minilm-finetuned",
    home: Path | None = None,
    epochs: int = 1,
    batch_size: int = 64,
    learning_rate: float = 2e-5,
) -> Path:
    """Fine-tune `base` on (anchor, positive) pairs with in-batch negatives; save to <home>/models/<name>."""
    import copy

    import torch

    from genpage.config import default_home

    if not pairs:
        raise ValueError("no co-interaction pairs to train on: the store needs baskets with two or more products")
    tuned = copy.deepcopy(load_encoder(base, home=home).model)
    device = next(tuned.parameters()).device
    torch.manual_seed(0)
    order = np.random.default_rng(0)
    optimizer = torch.optim.AdamW(tuned.parameters(), lr=learning_rate)
    steps = epochs * ((len(pairs) + batch_size - 1) // batch_size)
    warmup = max(1, steps // 10)
    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda s: min(1.0, (s + 1) / warmup))
    logger.info("fine-tuning %s on %d pairs, %d steps (MultipleNegativesRankingLoss)", base, len(pairs), steps)
    tuned.train()
    for _ in range(epochs):
        perm = order.permutation(len(pairs))
        for start in range(0, len(pairs), batch_size):
            batch = [pairs[i] for i in perm[start : start + batch_size]]
            if len(batch) < 2:
                continue
            embedded = []
            for side in (0, 1):
                features = tuned.tokenize([pair[side] for pair in batch])
                features = {key: value.to(device) if hasattr(value, "to") else value for key, value in features.items()}
                vectors = tuned(features)["sentence_embedding"]
                embedded.append(torch.nn.functional.normalize(vectors, dim=-1))
            scores = embedded[0] @ embedded[1].T * 20.0  # in-batch negatives, scale 20 as in sentence-transformers
            labels = torch.arange(len(batch), device=device)
            loss = (
                torch.nn.functional.cross_entropy(scores, labels) + torch.nn.functional.cross_entropy(scores.T, labels)
            ) / 2
            loss.backward()
            optimizer.step()
            schedule.step()
            optimizer.zero_grad()
    tuned.eval()
    target = Path(home or default_home()) / "models" / name
    tmp = target.with_name(f".{name}.tmp")
    if tmp.exists():
        shutil.rmtree(tmp)
    tuned.save(str(tmp))
    if target.exists():
        shutil.rmtree(target)
    tmp.rename(target)
    return target


def train_encoder(
    store: Store,
    *,
    base: str = "minilm",
    name: str = "minilm-finetuned",
    home: Path | None = None,
    epochs: int = 1,
    max_pairs: int = 20000,
) -> Path:
    """Fine-tune the encoder on the store's co-purchase pairs; returns the saved folder (load it by `name`).
    EmptyStoreError, before any model loads, when the store has no basket of two or more products."""
    pairs = co_interaction_pairs(store.events_frame(types=["purchase"]), store.products(), max_pairs=max_pairs)
    if not pairs:
        raise EmptyStoreError(f"the store {store.path} has no basket with two or more products to learn from: "
                              f"ingest purchase events first (`genpage ingest <events file> --db {store.path}`)")
    logger.info("fine-tuning %s on %d co-purchase pairs of the store", base, len(pairs))
    return train_encoder_on_pairs(pairs, base=base, name=name, home=home, epochs=epochs)


def _path_for_pairs(pairs: list[tuple[str, str]], *, base: str, name: str, home: Path | None) -> Path:
    from genpage.config import default_home

    digest = hashlib.sha256(json.dumps([base, pairs]).encode()).hexdigest()[:16]
    return Path(home or default_home()) / "models" / f"{name}-{digest}"


def finetuned_path(
    events: pd.DataFrame,
    products: list[Product],
    *,
    base: str = "minilm",
    name: str = "minilm-finetuned",
    home: Path | None = None,
    max_pairs: int = 4000,
) -> Path:
    """Where the fine-tuned encoder for exactly these events lives: <home>/models/<name>-<hash of its pairs>."""
    pairs = co_interaction_pairs(events, products, max_pairs=max_pairs)
    return _path_for_pairs(pairs, base=base, name=name, home=home)


def ensure_finetuned(
    events: pd.DataFrame,
    products: list[Product],
    *,
    base: str = "minilm",
    name: str = "minilm-finetuned",
    home: Path | None = None,
    max_pairs: int = 4000,
) -> Encoder | None:
    """The fine-tuned encoder for exactly these training events (trained once, reused while the data is the same)."""
    pairs = co_interaction_pairs(events, products, max_pairs=max_pairs)
    if not pairs:
        return None
    target = _path_for_pairs(pairs, base=base, name=name, home=home)
    if not (target / "modules.json").is_file():
        train_encoder_on_pairs(pairs, base=base, name=target.name, home=home)
    return load_encoder(target.name, home=home)
