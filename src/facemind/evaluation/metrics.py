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
#: Trailing columns: rows fitted after class balance, and rows the criterion removed from the
#: training and the test part of the fold.
EXTRA_COLUMNS: tuple[str, ...] = ("n_fit", "n_removed_train", "n_removed_test")


def metric_names(task: str) -> tuple[str, ...]:
    """Metric columns of ``task``."""
    return REGRESSION_METRICS if task == "regression" else CLASSIFICATION_METRICS


#: Classification only: the test fold's confusion matrix as JSON, rows true and columns
#: predicted, classes in ascending label order (what the report sums over folds).
CONFUSION_COLUMN = "confusion"


def result_columns(task: str) -> list[str]:
    """Columns of the per-fold results table for ``task``, in order."""
    tail = () if task == "regression" else (CONFUSION_COLUMN,)
    return [*KEY_COLUMNS, *metric_names(task), *EXTRA_COLUMNS, *tail]


def confusion_json(y_true: np.ndarray, y_pred: np.ndarray, labels: np.ndarray) -> str:
    """Confusion matrix (rows true, columns predicted) over ``labels``, as compact JSON."""
    from sklearn.metrics import confusion_matrix

    return json.dumps(
        confusion_matrix(y_true, y_pred, labels=labels).tolist(), separators=(",", ":")
    )


def classification_metrics(
    y_true: np.ndarray, y_pred: np.ndarray, scores: np.ndarray | None, classes: np.ndarray
) -> dict[str, float]:
    """F1, precision, recall (binary: of class 1; otherwise macro), accuracy, balanced accuracy
    and ROC AUC (binary; otherwise the macro mean of one-vs-rest AUCs). NaN where undefined."""
    from sklearn import metrics as skm

    y_true = np.asarray(y_true)
    binary = len(classes) <= 2 and set(np.unique(y_true)) <= {0, 1}
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
    return {k: float(v) for k, v in out.items()}


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


def scores_of(est: Any, X: pd.DataFrame) -> np.ndarray | None:
    """Class scores of a fitted estimator on ``X``: probabilities, else decision values."""
    if hasattr(est, "predict_proba"):
        return est.predict_proba(X)
    if hasattr(est, "decision_function"):
        return est.decision_function(X)
    return None
