"""The chronological split the scorer learns from and the evaluation measures on: each shopper's latest basket
held out, everything before it kept."""

from __future__ import annotations

import numpy as np
import pandas as pd

from genpage.events import basket_keys, to_days


def split_last_basket(events: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(events before, held-out baskets): each user's latest purchase basket, for users with >= 2 baskets.

    The held-out frame has one row per user: user_id, day (float days, the basket's time), timestamp, items (list).
    Non-purchase events at or after the held-out basket's time are dropped from `before` too. `before` is the one
    copy of the events made here; `last_basket_rows` gives which rows it keeps instead of the copy."""
    keep, held = last_basket_rows(events)
    before = events[keep].copy(deep=False)
    before["user_id"] = before["user_id"].astype(str)
    before.index = pd.RangeIndex(len(before))
    return before, held


def last_basket_rows(events: pd.DataFrame) -> tuple[np.ndarray, pd.DataFrame]:
    """(which rows of `events` come before, held-out baskets) of `split_last_basket`, without copying the events:
    a fit builds its training history from the rows it keeps (History.build's `keep`).

    Shoppers and baskets are integer codes in the order of their names, and the baskets found by sorting the lines
    (pandas' group-bys on the text columns took 7 s of 6.5 M events)."""
    frame = events.copy(deep=False)
    frame["user_id"] = frame["user_id"].astype(str)
    user_code, user_names = pd.factorize(frame["user_id"], sort=True)
    is_purchase = (frame["type"] == "purchase").to_numpy(bool)
    line_columns = [c for c in ("user_id", "item_id", "timestamp", "session_id") if c in frame.columns]
    buys = frame.loc[is_purchase, line_columns]  # only what the baskets need: no copy of the other columns
    days = to_days(frame["timestamp"])
    buyer, day = user_code[is_purchase], days[is_purchase]
    key, _ = pd.factorize(basket_keys(buys), sort=True)
    # a basket's day is its latest line's: the last of its run when lines are sorted by shopper, basket and day
    lines = np.lexsort((day, key, buyer))
    by_buyer, by_key = buyer[lines], key[lines]
    ends = lines[np.r_[(by_buyer[1:] != by_buyer[:-1]) | (by_key[1:] != by_key[:-1]), True]] if len(lines) else lines
    # each shopper's baskets by day, then basket name: the last is held out where there are two or more
    ends = ends[np.lexsort((key[ends], day[ends], buyer[ends]))]
    last = ends[np.r_[buyer[ends][1:] != buyer[ends][:-1], True]] if len(ends) else ends
    last = last[np.bincount(buyer[ends], minlength=len(user_names))[buyer[last]] >= 2]
    held_key = np.full(len(user_names), -1, dtype=np.int64)
    held_key[buyer[last]] = key[last]
    is_held = held_key[buyer] == key  # one lookup a line: each shopper has one last basket
    cut_day = np.full(len(user_names), np.nan)
    cut_day[buyer[last]] = day[last]
    user_cut = cut_day[user_code]
    drop = ~np.isnan(user_cut) & (days >= user_cut) & ~is_purchase
    drop[np.nonzero(is_purchase)[0][is_held]] = True  # the held-out lines themselves
    return ~drop, held_baskets(buys[is_held], dict(zip(user_names[buyer[last]], day[last], strict=True)))


def held_baskets(lines: pd.DataFrame, day_of: dict[str, float]) -> pd.DataFrame:
    """One row per shopper from the purchase lines of their held-out basket: user_id, items (sorted, distinct),
    timestamp (the latest line's) and day (`day_of[user_id]`, the basket's day)."""
    pairs = pd.DataFrame({"user_id": lines["user_id"], "item_id": lines["item_id"].astype(str)}).drop_duplicates()
    pairs = pairs.sort_values(["user_id", "item_id"])
    # each shopper's run of the sorted pairs as a list (a groupby's agg(list) took 11 s on 16 x Online Retail)
    users, item_ids = pairs["user_id"].to_numpy(), pairs["item_id"].to_numpy()
    starts = np.flatnonzero(np.r_[True, users[1:] != users[:-1]]) if len(users) else np.zeros(0, np.int64)
    items = pd.Series([list(run) for run in np.split(item_ids, starts[1:])] if len(users) else [], dtype=object,
                      index=pd.Index(users[starts], name="user_id"))  # fmt: skip
    times = lines.groupby("user_id")["timestamp"].max()
    held = pd.DataFrame(
        {"user_id": items.index, "items": items.to_numpy(), "timestamp": times.reindex(items.index).to_numpy()}
    )
    held["day"] = held["user_id"].map(day_of).astype(float)
    return held.reset_index(drop=True)
