"""Stage 2, embed: the sentence-transformers encoder (`encoder.py`), the registry of packaged model weights shared
with the text backends (`weights.py`), and encoder fine-tuning on co-purchase pairs (`finetune.py`)."""

from __future__ import annotations

from genpage.embed.encoder import Encoder, embed_products, load_encoder, product_text
from genpage.embed.weights import ModelSpec, lookup, pick_device, resolve

__all__ = ["Encoder", "ModelSpec", "embed_products", "load_encoder", "lookup", "pick_device", "product_text", "resolve"]
