"""Event frames (columns user_id, type, item_id, timestamp; optional session_id, quantity ...): time as days and
purchases grouped into baskets. Shared by ranking, evaluation and encoder fine-tuning."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

DAY_SECONDS = 86400.0


def to_days(timestamps: pd.Series) -> np.ndarray:
    """Timestamps -> float days since the epoch (naive timestamps are taken as UTC)."""
    ts = pd.to_datetime(timestamps)
    if getattr(ts.dt, "tz", None) is not None:
        ts = ts.dt.tz_convert("UTC").dt.tz_localize(None)
    return ts.astype("datetime64[ns]").astype("int64").to_numpy() / 1e9 / DAY_SECONDS


def basket_keys(purchases: pd.DataFrame) -> pd.Series:
    """One key per basket: the session id where the data has one, else the purchase minute (written out only for
    the purchases without a session: on Online Retail, where every one has a session, that was 40 % of a split)."""

    def minutes(timestamps: pd.Series) -> pd.Series:
        return "t:" + pd.to_datetime(timestamps).dt.floor("min").astype(str)

    if "session_id" not in purchases.columns:
        return minutes(purchases["timestamp"])
    sid = purchases["session_id"].astype("string")
    has_session = sid.notna() & (sid != "")
    return sid.where(has_session, minutes(purchases["timestamp"][~has_session])).astype(str)


def lookup(values: pd.Series, mapping: Mapping[Any, Any], missing: Any) -> np.ndarray:
    """`values.map(mapping)` as an array, `missing` where a value (or a missing one) is not a key: one hash lookup a
    row, not a Python call (`Series.map` with a dict calls back into Python for every row of an Arrow string column).
    Arrow strings looked up by string keys stay in Arrow (pandas would make a Python string of every row first: on
    16 x Online Retail, 3 s of a fit)."""
    keys = list(mapping)
    at = _arrow_positions(values, keys)
    if at is None:
        at = pd.Index(keys).get_indexer(values)
    found = np.array(list(mapping.values()))
    return np.where(at >= 0, found[np.maximum(at, 0)] if len(found) else missing, missing)


def _arrow_positions(values: pd.Series, keys: list[Any]) -> np.ndarray | None:
    """Each value's position in `keys` (-1 for none, and for a missing value) by Arrow's hash lookup, or None where
    the values are not Arrow-backed strings or the keys not all strings."""
    if values.dtype == object or not pd.api.types.is_string_dtype(values.dtype):
        return None
    if not all(isinstance(key, str) for key in keys):
        return None
    try:
        array = pa.array(values)
    except (pa.ArrowException, TypeError, ValueError):
        return None
    if not (pa.types.is_string(array.type) or pa.types.is_large_string(array.type)):
        return None
    positions = pc.index_in(array, value_set=pa.array(keys, type=array.type))
    return np.asarray(pc.fill_null(positions, -1).to_numpy(zero_copy_only=False), dtype=np.int64)
