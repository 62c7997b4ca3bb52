"""Summary of the per-fold results: means and corrected resampled t-intervals."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from .metrics import metric_names

GROUP_COLUMNS: tuple[str, ...] = ("subscale", "task", "model", "protocol", "criterion", "fraction")
FOLD_COLUMNS: tuple[str, ...] = (
    "subscale",
    "task",
    "model",
    "protocol",
    "criterion",
    "repeat",
    "fold",
)
CONFIDENCE = 0.95
#: Range of every bounded metric; interval ends outside it are truncated to it.
METRIC_BOUNDS: dict[str, tuple[float, float]] = {
    "f1": (0.0, 1.0),
    "precision": (0.0, 1.0),
    "recall": (0.0, 1.0),
    "accuracy": (0.0, 1.0),
    "balanced_accuracy": (0.0, 1.0),
    "roc_auc": (0.0, 1.0),
    "brier": (0.0, 1.0),
    "ece": (0.0, 1.0),
    "mae": (0.0, np.inf),
    "rmse": (0.0, np.inf),
    "pearson_r": (-1.0, 1.0),
}
#: Below this many test cases per fold a fold's metric takes only a few values and the
#: intervals are not informative (the report says so).
MIN_INFORMATIVE_TEST = 10


def difference_bounds(metric: str) -> tuple[float, float]:
    """Range of the difference of two values of ``metric`` (e.g. [-1, 1] for F1)."""
    lo, hi = METRIC_BOUNDS.get(metric, (-np.inf, np.inf))
    return lo - hi, hi - lo


def corrected_t_interval(
    values: np.ndarray,
    test_train_ratio: float,
    confidence: float = CONFIDENCE,
    bounds: tuple[float, float] | None = None,
) -> tuple[float, float, float]:
    """Mean and corrected resampled t-interval over cross-validation folds.

    Fold scores share training data, so the plain t-interval is too narrow; the Nadeau-Bengio
    correction (Bouckaert & Frank 2004 for repeated k-fold) inflates the variance of the mean
    to ``(1/J + n_test/n_train) s^2`` with J - 1 degrees of freedom. NaN scores are skipped.
    ``bounds`` truncates the interval to the metric's range (an F1 interval never leaves
    [0, 1]).
    """
    from scipy import stats

    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    if v.size == 0:
        return np.nan, np.nan, np.nan
    mean = float(v.mean())
    if v.size < 2:
        return mean, np.nan, np.nan
    var = (1.0 / v.size + test_train_ratio) * v.var(ddof=1)
    half = float(stats.t.ppf(0.5 + confidence / 2, v.size - 1) * np.sqrt(var))
    lo, hi = mean - half, mean + half
    if bounds is not None:
        lo, hi = float(np.clip(lo, *bounds)), float(np.clip(hi, *bounds))
    return mean, lo, hi


def summarize(folds: pd.DataFrame, confidence: float = CONFIDENCE) -> pd.DataFrame:
    """Per subscale x task x model x protocol x criterion x fraction: fold count, mean
    ``n_train``/``n_test``, and for each metric ``<m>_mean``, ``<m>_ci_low``, ``<m>_ci_high``
    (95% corrected resampled t-interval over the folds of all repeats, see
    :func:`corrected_t_interval`, truncated to the metric's range, :data:`METRIC_BOUNDS`),
    plus the paired change of the first metric (F1, or MAE for regression) from fraction 0 on
    the same folds, ``<m>_gain_*``. With learning curves the rows are also per
    ``train_size``."""
    if folds.empty:
        return pd.DataFrame()
    task = str(folds["task"].iloc[0])
    metrics = [m for m in metric_names(task) if m in folds.columns]  # older results lack some
    primary = metrics[0]
    sized = ["train_size"] if "train_size" in folds.columns else []
    keys = [*GROUP_COLUMNS, *sized]
    fold_keys = [*FOLD_COLUMNS, *sized]
    base = folds[folds["fraction"] == 0.0].set_index(fold_keys)[primary]
    out = []
    for key, g in folds.groupby(keys, sort=False):
        ratio = float((g["n_test"] / g["n_train"].clip(lower=1)).mean())
        row: dict[str, Any] = dict(zip(keys, key, strict=True))
        row["n_folds"] = len(g)
        row["n_train"] = float(g["n_train"].mean())
        row["n_test"] = float(g["n_test"].mean())
        for m in metrics:
            mean, lo, hi = corrected_t_interval(
                g[m].to_numpy(), ratio, confidence, METRIC_BOUNDS.get(m)
            )
            row[f"{m}_mean"], row[f"{m}_ci_low"], row[f"{m}_ci_high"] = mean, lo, hi
        idx = pd.MultiIndex.from_frame(g[fold_keys])
        ref = base.reindex(idx).to_numpy()
        mean, lo, hi = corrected_t_interval(
            g[primary].to_numpy() - ref, ratio, confidence, difference_bounds(primary)
        )
        (
            row[f"{primary}_gain_mean"],
            row[f"{primary}_gain_ci_low"],
            row[f"{primary}_gain_ci_high"],
        ) = (
            mean,
            lo,
            hi,
        )
        out.append(row)
    return pd.DataFrame(out)


def criterion_contrast(
    folds: pd.DataFrame, reference: str = "random", confidence: float = CONFIDENCE
) -> pd.DataFrame:
    """Paired difference of the first metric between every other criterion and ``reference``
    (e.g. SDI removal minus random removal of the same size), fold by fold.

    One row per subscale x task x model x protocol x criterion x fraction with
    ``<m>_vs_<reference>_mean``, ``_ci_low``, ``_ci_high`` (corrected resampled t-interval,
    truncated to the difference's range); empty when ``reference`` was not swept.
    """
    if folds.empty or reference not in set(folds["criterion"]):
        return pd.DataFrame()
    primary = metric_names(str(folds["task"].iloc[0]))[0]
    on = [c for c in FOLD_COLUMNS if c != "criterion"] + ["fraction"]
    on += ["train_size"] if "train_size" in folds.columns else []
    ref = folds[folds["criterion"] == reference][[*on, primary]]
    other = folds[folds["criterion"] != reference]
    paired = other.merge(ref, on=on, suffixes=("", "_ref"))
    name = f"{primary}_vs_{reference}"
    out = []
    if "train_size" in paired.columns:
        paired = paired[paired["train_size"] == 1.0]
    for key, g in paired.groupby(list(GROUP_COLUMNS), sort=False):
        ratio = float((g["n_test"] / g["n_train"].clip(lower=1)).mean())
        mean, lo, hi = corrected_t_interval(
            (g[primary] - g[f"{primary}_ref"]).to_numpy(),
            ratio,
            confidence,
            difference_bounds(primary),
        )
        row: dict[str, Any] = dict(zip(GROUP_COLUMNS, key, strict=True))
        row[f"{name}_mean"], row[f"{name}_ci_low"], row[f"{name}_ci_high"] = mean, lo, hi
        out.append(row)
    return pd.DataFrame(out)
