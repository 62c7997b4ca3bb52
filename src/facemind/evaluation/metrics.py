"""Per-fold metrics of the sweep and the columns of its results table."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pandas as pd

CLASSIFICATION_METRICS: tuple[str, ...] = (
    "f1",
    "precision",
    "recall",
    "accuracy",
    "balanced_accuracy",
    "roc_auc",
    "brier",
    "ece",
)
REGRESSION_METRICS: tuple[str, ...] = ("mae", "rmse", "pearson_r")
KEY_COLUMNS: tuple[str, ...] = (
    "subscale",
    "task",
    "model",
    "protocol",
    "criterion",
    "fraction",
    "repeat",
    "fold",
    "n_train",
    "n_test",
)
#: Trailing columns: rows fitted after class balance, rows the criterion removed from the
#: training and the test part of the fold, and the share of the training fold the model was
#: fitted on (1 but on learning curves).
EXTRA_COLUMNS: tuple[str, ...] = ("n_fit", "n_removed_train", "n_removed_test", "train_size")


def metric_names(task: str) -> tuple[str, ...]:
    """Metric columns of ``task``."""
    return REGRESSION_METRICS if task == "regression" else CLASSIFICATION_METRICS


#: Classification only: the test fold's confusion matrix as JSON, rows true and columns
#: predicted, classes in ascending label order (what the report sums over folds).
CONFUSION_COLUMN = "confusion"
#: Classification only: the test fold's reliability counts as JSON (see :func:`calibration_bins`),
#: so that reliability diagrams can pool test folds.
CALIBRATION_COLUMN = "calibration"
#: Equal-width bins on [0, 1] of the expected calibration error and the reliability counts.
CALIBRATION_BINS = 10


def result_columns(task: str) -> list[str]:
    """Columns of the per-fold results table for ``task``, in order."""
    tail = () if task == "regression" else (CONFUSION_COLUMN, CALIBRATION_COLUMN)
    return [*KEY_COLUMNS, *metric_names(task), *EXTRA_COLUMNS, *tail]


def confusion_json(y_true: np.ndarray, y_pred: np.ndarray, labels: np.ndarray) -> str:
    """Confusion matrix (rows true, columns predicted) over ``labels``, as compact JSON."""
    from sklearn.metrics import confusion_matrix

    return json.dumps(
        confusion_matrix(y_true, y_pred, labels=labels).tolist(), separators=(",", ":")
    )


def classification_metrics(
    y_true: np.ndarray,
    y_pred: np.ndarray,
    scores: np.ndarray | None,
    classes: np.ndarray,
    *,
    probabilities: np.ndarray | None = None,
) -> dict[str, float]:
    """F1, precision, recall (binary: of class 1; otherwise macro), accuracy, balanced accuracy,
    ROC AUC (binary; otherwise the macro mean of one-vs-rest AUCs), and the Brier score and
    expected calibration error of ``probabilities`` (see :func:`calibration_metrics`; NaN
    without them, e.g. for a model that gives decision values only). NaN where undefined."""
    from sklearn import metrics as skm

    y_true = np.asarray(y_true)
    binary = len(classes) <= 2 and set(np.unique(y_true)) <= {0, 1}
    if binary and set(np.unique(y_pred)) <= {0, 1}:
        out = _binary_metrics(y_true, np.asarray(y_pred), scores, classes)
        out.update(calibration_metrics(y_true, probabilities, classes))
        return out
    avg = "binary" if binary else "macro"
    out = {
        "f1": skm.f1_score(y_true, y_pred, average=avg, zero_division=0),
        "precision": skm.precision_score(y_true, y_pred, average=avg, zero_division=0),
        "recall": skm.recall_score(y_true, y_pred, average=avg, zero_division=0),
        "accuracy": skm.accuracy_score(y_true, y_pred),
        "balanced_accuracy": np.nan,
        "roc_auc": np.nan,
    }
    if len(np.unique(y_true)) > 1:
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            out["balanced_accuracy"] = skm.balanced_accuracy_score(y_true, y_pred)
    if scores is not None and len(np.unique(y_true)) > 1:
        s = np.asarray(scores, dtype=float)
        if binary:
            if s.ndim == 2:
                s = s[:, list(classes).index(1)] if 1 in classes else s[:, -1]
            out["roc_auc"] = skm.roc_auc_score(y_true, s)
        elif s.ndim == 2:
            aucs = []
            for j, c in enumerate(classes):
                pos = y_true == c
                if 0 < pos.sum() < len(pos):
                    aucs.append(skm.roc_auc_score(pos, s[:, j]))
            out["roc_auc"] = float(np.mean(aucs)) if aucs else np.nan
    out.update(calibration_metrics(y_true, probabilities, classes))
    return {k: float(v) for k, v in out.items()}


def _binary_metrics(
    y_true: np.ndarray, y_pred: np.ndarray, scores: np.ndarray | None, classes: np.ndarray
) -> dict[str, float]:
    """The metrics of :func:`classification_metrics` for 0/1 labels, from the confusion counts
    and the rank-sum form of the AUC (the same values as scikit-learn's, at a fraction of the
    cost: subgroup metrics call this for every level of every fit)."""
    from scipy.stats import rankdata

    t, p = y_true == 1, y_pred == 1
    tp, fp, fn = float(np.sum(t & p)), float(np.sum(~t & p)), float(np.sum(t & ~p))
    n_pos, n = float(t.sum()), len(t)
    out = {
        "f1": 2 * tp / (2 * tp + fp + fn) if tp + fp + fn else 0.0,
        "precision": tp / (tp + fp) if tp + fp else 0.0,
        "recall": tp / n_pos if n_pos else 0.0,
        "accuracy": float(np.mean(t == p)) if n else np.nan,
        "balanced_accuracy": np.nan,
        "roc_auc": np.nan,
    }
    if 0 < n_pos < n:
        tn = float(np.sum(~t & ~p))
        out["balanced_accuracy"] = (tp / n_pos + tn / (n - n_pos)) / 2
        if scores is not None:
            s = np.asarray(scores, dtype=float)
            if s.ndim == 2:
                s = s[:, list(classes).index(1)] if 1 in classes else s[:, -1]
            ranks = rankdata(s)
            n_neg = n - n_pos
            out["roc_auc"] = (ranks[t].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg)
    return {k: float(v) for k, v in out.items()}


def _confidence(
    y_true: np.ndarray, probabilities: np.ndarray, classes: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """What calibration is judged on: binary, the probability of the positive class (the
    larger label) and whether the case is positive; otherwise the top-label probability and
    whether the top label is right."""
    p = np.asarray(probabilities, dtype=float)
    y = np.asarray(y_true)
    classes = np.asarray(classes)
    if p.ndim == 1:
        p = np.column_stack([1.0 - p, p])
    if len(classes) == 2:
        return p[:, 1], (y == classes[1]).astype(float)
    top = p.argmax(axis=1)
    return p[np.arange(len(p)), top], (classes[top] == y).astype(float)


def calibration_bins(
    y_true: np.ndarray, probabilities: np.ndarray, classes: np.ndarray
) -> np.ndarray:
    """Reliability counts over :data:`CALIBRATION_BINS` equal-width bins of [0, 1] (the last
    bin closed): per bin, the number of cases, the sum of their predicted probabilities and
    the number of events (shape ``(bins, 3)``). Sums over folds pool them exactly."""
    conf, hit = _confidence(y_true, probabilities, classes)
    idx = np.clip((conf * CALIBRATION_BINS).astype(int), 0, CALIBRATION_BINS - 1)
    out = np.zeros((CALIBRATION_BINS, 3))
    np.add.at(out[:, 0], idx, 1.0)
    np.add.at(out[:, 1], idx, conf)
    np.add.at(out[:, 2], idx, hit)
    return out


def ece_from_bins(bins: np.ndarray) -> float:
    """Expected calibration error of reliability counts: sum over bins of
    ``n_b / N * |mean probability_b - event rate_b|``."""
    b = np.asarray(bins, dtype=float)
    total = b[:, 0].sum()
    if total == 0:
        return float("nan")
    return float(np.abs(b[:, 1] - b[:, 2]).sum() / total)


def calibration_metrics(
    y_true: np.ndarray, probabilities: np.ndarray | None, classes: np.ndarray
) -> dict[str, float]:
    """Brier score (binary: mean squared error of the positive-class probability; otherwise
    the multi-class Brier score, the sum over classes averaged over cases) and expected
    calibration error (:func:`ece_from_bins` of :func:`calibration_bins`: binary on the
    positive-class probability, otherwise on the top-label probability)."""
    if probabilities is None or len(np.asarray(y_true)) == 0:
        return {"brier": float("nan"), "ece": float("nan")}
    p = np.asarray(probabilities, dtype=float)
    y = np.asarray(y_true)
    classes = np.asarray(classes)
    if len(classes) == 2 or p.ndim == 1:
        conf, hit = _confidence(y, p, classes)
        brier = float(np.mean((conf - hit) ** 2))
    else:
        onehot = (y[:, None] == classes[None, :]).astype(float)
        brier = float(np.mean(((p - onehot) ** 2).sum(axis=1)))
    return {"brier": brier, "ece": ece_from_bins(calibration_bins(y, p, classes))}


def calibration_json(
    y_true: np.ndarray, probabilities: np.ndarray | None, classes: np.ndarray
) -> str | None:
    """:func:`calibration_bins` as compact JSON (None without probabilities)."""
    if probabilities is None:
        return None
    bins = calibration_bins(y_true, probabilities, classes)
    rows = [[int(n), round(float(s), 6), int(e)] for n, s, e in bins]
    return json.dumps(rows, separators=(",", ":"))


def regression_metrics(y_true: np.ndarray, y_pred: np.ndarray) -> dict[str, float]:
    """MAE, RMSE and Pearson r (NaN when either side is constant)."""
    y_true = np.asarray(y_true, dtype=float)
    y_pred = np.asarray(y_pred, dtype=float)
    err = y_pred - y_true
    r = np.nan
    if len(y_true) > 1 and np.std(y_true) > 0 and np.std(y_pred) > 0:
        r = float(np.corrcoef(y_true, y_pred)[0, 1])
    return {
        "mae": float(np.mean(np.abs(err))),
        "rmse": float(np.sqrt(np.mean(err**2))),
        "pearson_r": r,
    }


def score_column(
    scores: np.ndarray | None, pred: np.ndarray, classes: np.ndarray, probabilities: bool
) -> np.ndarray:
    """One score per case: binary, the positive class's probability (or decision value);
    otherwise the predicted class's probability (or largest decision value); NaN without."""
    if scores is None:
        return np.full(len(pred), np.nan)
    s = np.asarray(scores, dtype=float)
    if s.ndim == 1:
        return s
    if len(classes) == 2:
        return s[:, list(classes).index(1)] if 1 in classes else s[:, -1]
    if probabilities:
        return s[np.arange(len(pred)), np.searchsorted(classes, pred)]
    return s.max(axis=1)


def scores_of(est: Any, X: pd.DataFrame) -> np.ndarray | None:
    """Class scores of a fitted estimator on ``X``: probabilities, else decision values."""
    if hasattr(est, "predict_proba"):
        return est.predict_proba(X)
    if hasattr(est, "decision_function"):
        return est.decision_function(X)
    return None
