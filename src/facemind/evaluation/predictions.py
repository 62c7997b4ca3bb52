"""Out-of-fold predictions of a sweep (``save_predictions``): one row per held-out feature row
(a participant, or one of their videos) and fit.

Columns (:func:`prediction_columns`): the id column, ``subscale, task, model, protocol,
criterion, fraction, repeat, fold, train_size``, then ``y_true``, ``y_pred``, ``y_score``
(binary: the positive class's probability, or the decision value of a model without
probabilities; other classification tasks: the predicted class's probability; regression:
the predicted score), and the participant's ``discrepancy`` (normalized, 0-1, on the whole
cohort, grouped by raw total) and ``score_group`` (the raw total). Like the per-fold table,
the fits at fraction 0 are listed under every protocol and criterion, so the two join on
their keys; every per-fold metric can be recomputed from its rows.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .units import Predicted, UnitKey

KEYS: tuple[str, ...] = (
    "subscale", "task", "model", "protocol", "criterion", "fraction", "repeat", "fold",
    "train_size",
)  # fmt: skip
VALUES: tuple[str, ...] = ("y_true", "y_pred", "y_score", "discrepancy", "score_group")


def prediction_columns(id_column: str = "participant_id") -> list[str]:
    """Columns of the predictions table, in order."""
    return [id_column, *KEYS, *VALUES]


def unit_predictions(
    key: UnitKey,
    task: str,
    predicted: list[Predicted],
    *,
    person_ids: np.ndarray,
    row_person: np.ndarray,
    y_rows: np.ndarray,
    discrepancy: np.ndarray,
    score_group: np.ndarray,
    id_column: str = "participant_id",
) -> pd.DataFrame:
    """The predictions of one unit's fits as a table (participants resolved from codes)."""
    parts = []
    for p in predicted:
        people = row_person[p.rows]
        s = p.setting
        parts.append(
            pd.DataFrame(
                {
                    id_column: person_ids[people],
                    "subscale": key.subscale,
                    "task": task,
                    "model": s.model,
                    "protocol": s.protocol,
                    "criterion": s.criterion,
                    "fraction": s.fraction,
                    "repeat": s.repeat,
                    "fold": s.fold,
                    "train_size": p.train_size,
                    "y_true": y_rows[p.rows],
                    "y_pred": p.y_pred,
                    "y_score": np.asarray(p.y_score, dtype=float),
                    "discrepancy": discrepancy[people],
                    "score_group": score_group[people],
                }
            )
        )
    if not parts:
        return pd.DataFrame(columns=prediction_columns(id_column))
    return pd.concat(parts, ignore_index=True)
