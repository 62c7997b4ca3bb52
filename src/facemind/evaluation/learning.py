"""Learning curves and the capacity ladder: is accuracy limited by data, or by the model?

:func:`nested_subsamples` draws the training shares of ``train_sizes`` from one training fold
(stratified, seeded, each smaller sample inside the larger); the sweep fits every model on
each and tests it on the whole test fold. :func:`learning_curve` summarizes the metric per
training size and model; :func:`data_gain` is the paired change from the next smaller size to
the largest, per doubling of the data; :func:`capacity_gain` compares each model with the
smallest model of :data:`CAPACITY_ORDER` on the same folds.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from .metrics import metric_names
from .summary import CONFIDENCE, METRIC_BOUNDS, corrected_t_interval, difference_bounds

#: Models from least to most capacity (the deep models last).
CAPACITY_ORDER: tuple[str, ...] = (
    "logreg", "ridge", "svm", "rf", "gbt", "sequence", "frames-cnn", "clip-cnn",
)  # fmt: skip


def nested_subsamples(
    people: np.ndarray, strata: np.ndarray, sizes: Sequence[float], seed: int
) -> dict[float, np.ndarray]:
    """Per share of ``sizes``, the ``people`` (sorted) of a stratified random subsample:
    ``round(share x n)`` of every stratum (at least one), the first ones of one seeded
    permutation of it, so that every smaller sample lies inside every larger one."""
    rng = np.random.default_rng(seed)
    people, strata = np.asarray(people), np.asarray(strata)
    orders = [rng.permutation(people[strata == c]) for c in np.unique(strata)]
    return {
        float(s): np.sort(np.concatenate([o[: max(1, round(s * len(o)))] for o in orders]))
        for s in sizes
    }


def regression_strata(y: np.ndarray) -> np.ndarray:
    """Quintile bins of a continuous target (the strata of a regression fold)."""
    edges = np.unique(np.quantile(y, [0.2, 0.4, 0.6, 0.8])) if len(y) else np.array([])
    return np.searchsorted(edges, y, side="right")


def _curve_rows(folds: pd.DataFrame) -> pd.DataFrame:
    """Fraction-0 rows of one protocol and criterion (they repeat the same fits)."""
    zero = folds[folds["fraction"] == 0.0]
    if zero.empty:
        return zero
    first = zero.iloc[0]
    return zero[(zero["protocol"] == first["protocol"]) & (zero["criterion"] == first["criterion"])]


def learning_curve(folds: pd.DataFrame, confidence: float = CONFIDENCE) -> pd.DataFrame:
    """Per subscale x model x training size (no removal): mean ``n_train`` and each metric's
    mean with its 95% corrected resampled t-interval over folds."""
    rows = _curve_rows(folds)
    if rows.empty or "train_size" not in rows.columns:
        return pd.DataFrame()
    metrics = metric_names(str(rows["task"].iloc[0]))
    out = []
    for (sub, model, size), g in rows.groupby(["subscale", "model", "train_size"], sort=False):
        ratio = float((g["n_test"] / g["n_train"].clip(lower=1)).mean())
        row: dict[str, Any] = {
            "subscale": sub,
            "model": model,
            "train_size": float(size),
            "n_folds": len(g),
            "n_train": float(g["n_train"].mean()),
        }
        for m in metrics:
            mean, lo, hi = corrected_t_interval(
                g[m].to_numpy(dtype=float), ratio, confidence, METRIC_BOUNDS.get(m)
            )
            row[f"{m}_mean"], row[f"{m}_ci_low"], row[f"{m}_ci_high"] = mean, lo, hi
        out.append(row)
    return pd.DataFrame(out)  # in the sweep's order: subscale, model, ascending size


def _paired(
    g: pd.DataFrame, a: pd.Series, b: pd.Series, metric: str, scale: float, confidence: float
) -> tuple[float, float, float]:
    ratio = float((g["n_test"] / g["n_train"].clip(lower=1)).mean())
    diff = (a - b).dropna().to_numpy(dtype=float) / scale
    lo, hi = difference_bounds(metric)
    return corrected_t_interval(diff, ratio, confidence, (lo / scale, hi / scale))


def data_gain(
    folds: pd.DataFrame, metric: str | None = None, confidence: float = CONFIDENCE
) -> pd.DataFrame:
    """Per subscale x model: the change of ``metric`` (default the task's first) from the
    next smaller training size to the full one, per doubling of the training data
    (``diff / log2(1 / next)``), paired fold by fold, with its 95% interval: the learning
    curve's slope at its end, what more data would still add. Empty without two sizes."""
    rows = _curve_rows(folds)
    if rows.empty or "train_size" not in rows.columns or rows["train_size"].nunique() < 2:
        return pd.DataFrame()
    metric = metric or metric_names(str(rows["task"].iloc[0]))[0]
    sizes = sorted(rows["train_size"].unique())
    top, below = sizes[-1], sizes[-2]
    out = []
    for (sub, model), g in rows.groupby(["subscale", "model"], sort=False):
        wide = g.pivot_table(index=["repeat", "fold"], columns="train_size", values=metric)
        mean, lo, hi = _paired(
            g[g["train_size"] == top],
            wide[top],
            wide[below],
            metric,
            float(np.log2(top / below)),
            confidence,
        )
        out.append(
            {
                "subscale": sub,
                "model": model,
                "metric": metric,
                "from_size": below,
                "to_size": top,
                "per_doubling_mean": mean,
                "per_doubling_ci_low": lo,
                "per_doubling_ci_high": hi,
            }
        )
    return pd.DataFrame(out)


def capacity_gain(
    folds: pd.DataFrame, metric: str | None = None, confidence: float = CONFIDENCE
) -> pd.DataFrame:
    """Per subscale and model above the smallest swept model of :data:`CAPACITY_ORDER`: the
    paired change of ``metric`` over that smallest model on the same folds (full training
    folds, no removal), with its 95% interval. Models outside the ladder are left out."""
    rows = _curve_rows(folds)
    if "train_size" in rows.columns:
        rows = rows[rows["train_size"] == 1.0]
    ladder = [m for m in CAPACITY_ORDER if m in set(rows["model"])] if len(rows) else []
    if len(ladder) < 2:
        return pd.DataFrame()
    metric = metric or metric_names(str(rows["task"].iloc[0]))[0]
    base = ladder[0]
    out = []
    for sub, g in rows.groupby("subscale", sort=False):
        wide = g.pivot_table(index=["repeat", "fold"], columns="model", values=metric)
        for model in ladder[1:]:
            if model not in wide.columns or base not in wide.columns:
                continue
            mean, lo, hi = _paired(
                g[g["model"] == model], wide[model], wide[base], metric, 1.0, confidence
            )
            out.append(
                {
                    "subscale": sub,
                    "model": model,
                    "baseline": base,
                    "metric": metric,
                    "gain_mean": mean,
                    "gain_ci_low": lo,
                    "gain_ci_high": hi,
                }
            )
    return pd.DataFrame(out)
