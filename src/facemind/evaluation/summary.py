"""Summary of the per-fold results: means and corrected resampled t-intervals."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .metrics import metric_names


def summary_path(results: str | Path) -> Path:
    """Where the summary of ``results`` goes: ``<stem>_summary<suffix>`` beside it."""
    p = Path(results)
    return p.with_name(f"{p.stem}_summary{p.suffix}")


GROUP_COLUMNS: tuple[str, ...] = ("subscale", "task", "model", "protocol", "criterion", "fraction")
CONFIDENCE = 0.95


def corrected_t_interval(
    values: np.ndarray, test_train_ratio: float, confidence: float = CONFIDENCE
) -> tuple[float, float, float]:
    """Mean and corrected resampled t-interval over cross-validation folds.

    Fold scores share training data, so the plain t-interval is too narrow; the Nadeau-Bengio
    correction (Bouckaert & Frank 2004 for repeated k-fold) inflates the variance of the mean
    to ``(1/J + n_test/n_train) s^2`` with J - 1 degrees of freedom. NaN scores are skipped.
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
    return mean, mean - half, mean + half


def summarize(folds: pd.DataFrame, confidence: float = CONFIDENCE) -> pd.DataFrame:
    """Per subscale x task x model x protocol x criterion x fraction: fold count, mean
    ``n_train``/``n_test``, and for each metric ``<m>_mean``, ``<m>_ci_low``, ``<m>_ci_high``
    (95% corrected resampled t-interval over the folds of all repeats, see
    :func:`corrected_t_interval`), plus the paired change of the first metric (F1, or MAE for
    regression) from fraction 0 on the same folds, ``<m>_gain_*``."""
    if folds.empty:
        return pd.DataFrame()
    task = str(folds["task"].iloc[0])
    metrics = metric_names(task)
    primary = metrics[0]
    keys = list(GROUP_COLUMNS)
    base = folds[folds["fraction"] == 0.0].set_index(
        ["subscale", "task", "model", "protocol", "criterion", "repeat", "fold"]
    )[primary]
    out = []
    for key, g in folds.groupby(keys, sort=False):
        ratio = float((g["n_test"] / g["n_train"].clip(lower=1)).mean())
        row: dict[str, Any] = dict(zip(keys, key, strict=True))
        row["n_folds"] = len(g)
        row["n_train"] = float(g["n_train"].mean())
        row["n_test"] = float(g["n_test"].mean())
        for m in metrics:
            mean, lo, hi = corrected_t_interval(g[m].to_numpy(), ratio, confidence)
            row[f"{m}_mean"], row[f"{m}_ci_low"], row[f"{m}_ci_high"] = mean, lo, hi
        idx = pd.MultiIndex.from_frame(
            g[["subscale", "task", "model", "protocol", "criterion", "repeat", "fold"]]
        )
        ref = base.reindex(idx).to_numpy()
        mean, lo, hi = corrected_t_interval(g[primary].to_numpy() - ref, ratio, confidence)
        row[f"{primary}_gain_mean"], row[f"{primary}_gain_ci_low"], row[f"{primary}_gain_ci_high"] = (
            mean, lo, hi,
        )  # fmt: skip
        out.append(row)
    return pd.DataFrame(out)
