"""The chronological split the scorer learns from and the evaluation measures on: each shopper's latest basket
held out, everything before it kept."""

from __future__ import annotations

import pandas as pd

from genpage.events import basket_keys, to_days


def split_last_basket(events: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(events before, held-out baskets): each user's latest purchase basket, for users with >= 2 baskets.

    The held-out frame has one row per user: user_id, day (float days, the basket's time), timestamp, items (list).
    Non-purchase events at or after the held-out basket's time are dropped from `before` too."""
    frame = events.copy()
    frame["user_id"] = frame["user_id"].astype(str)
    buys = frame[frame["type"] == "purchase"]
    key = basket_keys(buys)
    day = pd.Series(to_days(buys["timestamp"]), index=buys.index)
    baskets = pd.DataFrame({"user_id": buys["user_id"], "basket": key, "day": day})
    per_basket = baskets.groupby(["user_id", "basket"], sort=False)["day"].max().reset_index()
    per_basket = per_basket.sort_values(["user_id", "day", "basket"])
    counts = per_basket.groupby("user_id")["basket"].transform("size")
    last = per_basket[counts >= 2].groupby("user_id").tail(1)
    held_key = set(zip(last["user_id"], last["basket"], strict=False))
    is_held = pd.Series(
        [(u, b) in held_key for u, b in zip(buys["user_id"], key, strict=False)], index=buys.index, dtype=bool
    )
    held_lines = buys[is_held]
    cut = dict(zip(last["user_id"], last["day"], strict=False))
    all_days = pd.Series(to_days(frame["timestamp"]), index=frame.index)
    user_cut = frame["user_id"].map(cut).astype(float)
    after_cut = user_cut.notna() & (all_days >= user_cut) & (frame["type"] != "purchase")
    before = frame.drop(index=held_lines.index).loc[lambda f: ~after_cut.reindex(f.index, fill_value=False)]
    return before.reset_index(drop=True), held_baskets(held_lines, cut)


def held_baskets(lines: pd.DataFrame, day_of: dict[str, float]) -> pd.DataFrame:
    """One row per shopper from the purchase lines of their held-out basket: user_id, items (sorted, distinct),
    timestamp (the latest line's) and day (`day_of[user_id]`, the basket's day)."""
    items = lines.groupby("user_id")["item_id"].agg(lambda s: sorted(set(map(str, s))))
    times = lines.groupby("user_id")["timestamp"].max()
    held = pd.DataFrame(
        {"user_id": items.index, "items": items.to_numpy(), "timestamp": times.reindex(items.index).to_numpy()}
    )
    held["day"] = held["user_id"].map(day_of).astype(float)
    return held.reset_index(drop=True)
