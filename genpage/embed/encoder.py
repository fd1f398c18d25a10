"""Text embeddings for products and queries, cached in the store by (encoder name, content hash).

`load_encoder("minilm")` gives an `Encoder` with the query/document asymmetry of sentence-transformers:
products are documents, search queries are queries. Vectors are L2-normalised float32, so a dot product is a cosine.
A fine-tuned encoder saved under `<GENPAGE_HOME>/models/<name>` (see `genpage.embed.finetune.train_encoder`) loads by
its name exactly like a registry model.
"""

from __future__ import annotations

import hashlib
import logging
import re
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from genpage.embed.weights import pick_device, resolve
from genpage.errors import ModelNotAvailableError
from genpage.schemas import Product
from genpage.text import clean_title

if TYPE_CHECKING:
    from genpage.store import Store

logger = logging.getLogger(__name__)

_SPACES = re.compile(r"\s+")
_LOADED: dict[tuple[str, str], Encoder] = {}
_LOAD_LOCK = threading.Lock()


class Encoder:
    """A sentence-transformer with a stable `name` (the cache key of its embeddings)."""

    def __init__(self, name: str, model: Any, *, batch_size: int = 128):
        self.name = name
        self.model = model
        self.batch_size = batch_size

    @property
    def dim(self) -> int:
        getter = getattr(self.model, "get_embedding_dimension", None) or self.model.get_sentence_embedding_dimension
        return int(getter())

    def _encode(self, texts: Sequence[str], method: str) -> np.ndarray:
        if len(texts) == 0:
            return np.zeros((0, self.dim), dtype=np.float32)
        encode = getattr(self.model, method, None) or self.model.encode
        vectors = encode(
            list(texts),
            batch_size=self.batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return np.ascontiguousarray(vectors, dtype=np.float32)

    def encode_documents(self, texts: Sequence[str]) -> np.ndarray:
        """Product texts -> (n, dim) L2-normalised float32."""
        return self._encode(texts, "encode_document")

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        """Search queries -> (n, dim) L2-normalised float32."""
        return self._encode(texts, "encode_query")


class DeferredEncoder(Encoder):
    """An encoder known by its name, loaded (by `load`) when it first encodes or is asked its dimension: a fit whose
    product embeddings are all in the store's cache, on a shop whose held-out shoppers never searched, leaves the
    model unloaded (at 16 x Online Retail that is 12 s of a first page)."""

    def __init__(self, name: str, load: Callable[[], Encoder]):
        super().__init__(name, None)
        self._load = load

    def _model(self) -> None:
        if self.model is None:
            loaded = self._load()
            self.batch_size, self.model = loaded.batch_size, loaded.model

    @property
    def dim(self) -> int:
        self._model()
        return super().dim

    def _encode(self, texts: Sequence[str], method: str) -> np.ndarray:
        self._model()
        return super()._encode(texts, method)


def _encoder_folder(name: str, home: Path | None) -> str:
    """A fine-tuned model saved under <home>/models/<name> wins; else the registry, a local path or a hub id."""
    from genpage.config import default_home

    local = Path(home or default_home()) / "models" / name
    if (local / "modules.json").is_file() or (local / "config.json").is_file():
        return str(local)
    return resolve(name, kind="encoder", home=home)


def load_encoder(name: str = "minilm", *, device: str = "auto", home: Path | None = None) -> Encoder:
    """Load (once per process) the sentence-transformer called `name`: a registry name, a fine-tuned model's name
    under <GENPAGE_HOME>/models, a local folder or a hub id."""
    chosen = pick_device(device)
    key = (name, chosen)
    with _LOAD_LOCK:
        if key in _LOADED:
            return _LOADED[key]
        folder = _encoder_folder(name, home)
        from sentence_transformers import SentenceTransformer

        try:
            model = SentenceTransformer(folder, device=chosen, local_files_only=True)
        except OSError as exc:
            raise ModelNotAvailableError(
                f"encoder {name!r} could not be loaded from {folder}: {exc}; install it (`pip install "
                "genpage[models]`) or pass a local sentence-transformers folder"
            ) from exc
        encoder = Encoder(name, model)
        _LOADED[key] = encoder
        logger.info("loaded encoder %s from %s on %s", name, folder, chosen)
        return encoder


def product_text(product: Product) -> str:
    """The text a product is embedded from: cleaned title, then category and description when present."""
    parts = [clean_title(product.title)]
    if product.category:
        parts.append(product.category)
    if product.description:
        parts.append(_SPACES.sub(" ", product.description).strip()[:500])
    return ". ".join(p for p in parts if p)


def content_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def embed_texts_cached(store: Store | None, encoder: Encoder, texts: list[str]) -> np.ndarray:
    """Document embeddings of `texts`, read from and written to the store's cache when a store is given."""
    hashes = [content_hash(t) for t in texts]
    cached = store.get_embeddings(encoder.name, sorted(set(hashes))) if store is not None else {}
    missing = sorted({h: t for h, t in zip(hashes, texts, strict=False) if h not in cached}.items())
    if missing:
        logger.info("embedding %d texts with %s", len(missing), encoder.name)
        fresh = encoder.encode_documents([t for _, t in missing])
        new = {h: v for (h, _), v in zip(missing, fresh, strict=False)}
        if store is not None:
            store.put_embeddings(encoder.name, new)
        cached = {**cached, **new}
    if not texts:
        return np.zeros((0, encoder.dim), dtype=np.float32)
    return np.vstack([cached[h] for h in hashes]).astype(np.float32, copy=False)


def embed_products(
    store: Store | None, encoder: Encoder, products: list[Product] | None = None
) -> tuple[list[str], np.ndarray]:
    """(product ids, (n, dim) matrix) for `products` (default: the store's whole catalogue), cached in the store."""
    if products is None:
        if store is None:
            raise ValueError("embed_products needs a store or a list of products")
        products = store.products()
    ids = [p.id for p in products]
    return ids, embed_texts_cached(store, encoder, [product_text(p) for p in products])
