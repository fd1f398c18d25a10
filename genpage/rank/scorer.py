"""The learned scorer: gradient-boosted trees over candidate features (LambdaMART with LightGBM when installed)."""

from __future__ import annotations

from typing import Any

import numpy as np

from genpage.resources import native_threads

PARALLEL_ROWS = 20_000  # candidate rows from which a prediction uses more than one thread (a page has a few hundred)


def fit_scorer(x: np.ndarray, y: np.ndarray, users: np.ndarray, weight: np.ndarray, *, seed: int = 0,
               threads: int = 1) -> Any:  # fmt: skip
    """LambdaMART (LightGBM lambdarank, one query per user) when lightgbm is installed, else sklearn's
    gradient-boosted trees as a pointwise classifier. Rows must be grouped by user. LightGBM grows its trees on
    `threads` threads, column-wise: each feature's histogram is summed by one thread over every row in order, so the
    trees are the same on any number of threads (its row-wise mode merges per-thread partial sums)."""
    empty = np.isnan(x).all(axis=0)
    if empty.any():  # a column with no values at all (e.g. rebuy gaps among new items) cannot be binned
        x = x.copy()
        x[:, empty] = 0.0
    try:
        import lightgbm
    except ImportError:
        lightgbm = None  # type: ignore[assignment]
    if lightgbm is not None:
        has_positive = np.isin(users, np.unique(users[y]))
        x, y, users = x[has_positive], y[has_positive], users[has_positive]
        _, sizes = np.unique(users, return_counts=True)
        model = lightgbm.LGBMRanker(
            objective="lambdarank",
            n_estimators=150,
            learning_rate=0.05,
            num_leaves=15,  # small trees: tuned on the validation split (each user's second-to-last basket)
            min_child_samples=100,
            subsample=0.8,
            subsample_freq=1,
            colsample_bytree=0.8,
            reg_lambda=1.0,
            lambdarank_truncation_level=20,
            n_jobs=threads,
            force_col_wise=True,
            deterministic=True,
            random_state=seed,
            verbose=-1,
        )
        model.fit(x, y.astype(np.int32), group=sizes)
        return model
    from sklearn.ensemble import HistGradientBoostingClassifier

    model = HistGradientBoostingClassifier(
        max_iter=150,
        learning_rate=0.1,
        max_leaf_nodes=31,
        min_samples_leaf=40,
        l2_regularization=1.0,
        early_stopping=False,
        random_state=seed,
    )
    model.fit(x, y, sample_weight=weight)
    return model


def predict(model: Any, x: np.ndarray, threads: int = 1) -> np.ndarray:
    """Scores in (0, 1), above every non-candidate's, on `threads` native threads (0: `native_threads`' choice)."""
    if hasattr(model, "predict_proba"):
        return model.predict_proba(x)[:, 1].astype(np.float32)
    raw = _raw_scores(model, x, native_threads(threads, large=len(x) >= PARALLEL_ROWS))
    return (1.0 / (1.0 + np.exp(-raw))).astype(np.float32)


def _raw_scores(model: Any, x: np.ndarray, threads: int) -> np.ndarray:
    """`model.predict(x)`; for a fitted LightGBM model, its booster's own predict on `threads` threads: the same call
    the wrapper makes, without its checks of `x` and copies of every parameter (2 ms a call on the benchmark: a tenth
    of a one-user page)."""
    booster = getattr(model, "booster_", None)
    plain = isinstance(x, np.ndarray) and x.ndim == 2 and x.shape[1] == getattr(model, "n_features_in_", -1)
    if booster is None or not plain:
        return model.predict(x)
    return booster.predict(x, num_threads=threads)
