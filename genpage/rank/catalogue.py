"""What the ranking stages share: the catalogue as arrays, and one batch of users' candidates and features.

`Catalogue` is built once per fit from the products and their vectors; the business rules (`rules.py`) and the
reasons (`reasons.py`) take it, the `History` and a `CandidateBatch`, never the `Ranker` itself.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from genpage.events import DAY_SECONDS
from genpage.rank.profile import Profile
from genpage.schemas import Product
from genpage.text import clean_title


@dataclass
class Catalogue:
    """Products as arrays aligned with `item_ids` (index i is product i)."""

    item_ids: list[str]
    item_index: dict[str, int]
    item_vectors: np.ndarray  # (items, dim), L2-normalised
    price: np.ndarray  # float32, 0 where unknown
    in_stock: np.ndarray  # bool
    categories: np.ndarray  # object: the category, "" where none
    created_day: np.ndarray  # float64 days since the epoch, NaN where unknown
    titles: list[str]  # cleaned titles (`genpage.text.clean_title`), as reasons quote them

    @classmethod
    def build(cls, products: list[Product], item_vectors: np.ndarray) -> Catalogue:
        item_ids = [p.id for p in products]
        created = [p.created_at for p in products]
        return cls(
            item_ids=item_ids,
            item_index={item: i for i, item in enumerate(item_ids)},
            item_vectors=item_vectors,
            price=np.array([p.price or 0.0 for p in products], dtype=np.float32),
            in_stock=np.array([p.in_stock for p in products], dtype=bool),
            categories=np.array([p.category for p in products], dtype=object),
            created_day=np.array([c.timestamp() / DAY_SECONDS if c is not None else np.nan for c in created],
                                 dtype=np.float64),  # fmt: skip
            titles=[clean_title(p.title) for p in products],
        )

    def __len__(self) -> int:
        return len(self.item_ids)


@dataclass
class CandidateBatch:
    """One batch of users: their history rows (-1: unknown), days, profiles, feature planes (batch, items) and
    the candidate mask (batch, items)."""

    rows: np.ndarray
    days: np.ndarray
    profiles: list[Profile]
    planes: dict[str, np.ndarray]
    candidates: np.ndarray
