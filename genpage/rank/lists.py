"""From a shopper's row of scores to their ranked list: the sections every list carries, the interests, and the
batch of lists built without the garbage collector walking them.

`Ranker.rank` scores a batch of shoppers as a (users, items) block; these helpers then work on one row each, on
arrays and Python lists (a page of 60 items out of thousands: nothing here sorts or scans a whole catalogue
per shopper that it need not).
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np

from genpage.rank.reasons import TitleWords

SECTION_MIN = 8  # at least this many trending / new-arrival items per list, for the planner


def with_sections(top: list[int], scores: np.ndarray, k: int, fresh_to_user: np.ndarray,
                  pools: tuple[tuple[str, np.ndarray], ...], campaign_items: np.ndarray
                  ) -> tuple[np.ndarray, dict[int, str]]:  # fmt: skip
    """`top` (the best items, diversified, best first) with the allowed `campaign_items` and SECTION_MIN items of
    each (kind, pool) of `pools` that are new to the user and not already forced (they take the places of the
    lowest); each forced item goes where its score puts it, and comes with the kind of section it is for."""
    forced: dict[int, str] = dict.fromkeys(campaign_items.tolist(), "campaign")
    for kind, pool in pools:
        head = pool[: 20 * SECTION_MIN]
        fresh = [i for i in head[fresh_to_user[head]].tolist() if i not in forced]
        for i in fresh[:SECTION_MIN]:
            forced[i] = kind
    top = [i for i in top if i not in forced][: max(0, k - len(forced))]
    value = dict(zip(top, scores[top].tolist(), strict=True))
    value.update(zip(forced, scores[list(forced)].tolist(), strict=True))
    waiting = sorted(forced, key=lambda i: -value[i])
    merged: list[int] = []
    at = 0
    for item in top:  # the diversified order stays
        while at < len(waiting) and value[waiting[at]] > value[item]:
            merged.append(waiting[at])
            at += 1
        merged.append(item)
    return np.array(merged + waiting[at:], dtype=np.int64), forced


def interests(categories: np.ndarray, words: TitleWords, own: tuple[np.ndarray, np.ndarray] | None,
              top: int = 3) -> list[str]:  # fmt: skip
    """The user's top categories, or (without categories) the most telling words of their products (`words`, the
    catalogue's title words); `own`: the user's `History.user_item_weights` (None: a user without history)."""
    if own is None or not len(own[0]):
        return []
    items, weights = own
    if any(categories[items]):
        totals: dict[str, float] = {}
        for category, weight in zip(categories[items].tolist(), weights.tolist(), strict=True):
            if category:
                totals[category] = totals.get(category, 0.0) + weight
        return sorted(totals, key=lambda c: (-totals[c], c))[:top]
    return words.top(items, weights, top)


@contextmanager
def collector_paused() -> Iterator[None]:
    """Python's cyclic garbage collector off while a block runs (then on again, if it was on). The lists of 1,000
    shoppers are some 400,000 new objects that all live on: each collection their allocations trigger would walk
    them, and a full one the whole heap (about a second of the 1,000 users' time, more in a bigger process).

    Safe across threads (the server ranks from a thread pool): the first block to enter records whether the
    collector was on and turns it off, the last to leave puts it back as recorded, whatever order they leave in."""
    with _PAUSE_LOCK:
        if _PAUSE["depth"] == 0:
            _PAUSE["was_enabled"] = gc.isenabled()
            gc.disable()
        _PAUSE["depth"] += 1
    try:
        yield
    finally:
        with _PAUSE_LOCK:
            _PAUSE["depth"] -= 1
            if _PAUSE["depth"] == 0 and _PAUSE["was_enabled"]:
                gc.enable()


_PAUSE_LOCK = threading.Lock()
_PAUSE = {"depth": 0, "was_enabled": False}  # `collector_paused`: blocks inside, and the collector's state before
