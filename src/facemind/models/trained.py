"""A fitted model with its metadata: saved and loaded without pickle, and scored on tables.

:class:`TrainedModel` holds the fitted estimator and its metadata (input schema, instrument,
subscale, task, positive band, classes, versions); :meth:`TrainedModel.save` /
:meth:`TrainedModel.load` use :mod:`facemind.models.persist` (JSON + safetensors). It scores a
features table (:meth:`TrainedModel.predict_features`) or a deep model's loaded inputs
(:meth:`TrainedModel.predict_inputs`). Inputs whose schema does not match the model's (feature
columns, frame-table channels) are refused with a one-line error. Output: ``video_id``,
``probability`` (binary; ``score`` for models without probabilities and for regression;
``probability_<class>`` and ``prediction`` for several classes), ``status`` (``ok`` or why there
is no prediction). Training and scoring videos live in :mod:`facemind.predict`.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..errors import FacemindError, InputError
from . import CLASSIFICATION
from .wrappers import Balanced, GroupedSearch


def unwrap(est: Any) -> Any:
    """The fitted model inside the class-balance and grid-search wrappers."""
    while True:
        if isinstance(est, Balanced):
            est = est.estimator_
        elif isinstance(est, GroupedSearch):
            est = est.best_estimator_
        else:
            return est


@dataclass
class TrainedModel:
    """A fitted estimator and its metadata (see the module docstring)."""

    estimator: Any
    meta: dict[str, Any]

    @property
    def input_type(self) -> str:
        return str(self.meta["input"]["type"])

    @property
    def task(self) -> str:
        return str(self.meta["task"])

    def save(self, path: str | os.PathLike[str]) -> Path:
        from .persist import save_model_dir

        return save_model_dir(path, self.estimator, self.meta)

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> TrainedModel:
        from .persist import load_model_dir

        est, meta = load_model_dir(path)
        meta["path"] = str(path)
        return cls(est, meta)

    # -- outputs ----------------------------------------------------------------------------
    def _frame(
        self, ids: Sequence[str], proba: np.ndarray | None, pred: np.ndarray
    ) -> pd.DataFrame:
        out = pd.DataFrame({"video_id": list(ids)})
        if self.task == "regression":
            out["score"] = np.asarray(pred, dtype=float)
        elif proba is None:
            out["score"] = np.asarray(pred, dtype=float)
        elif self.task == "binary":
            classes = list(self.meta["classes"])
            out["probability"] = proba[:, classes.index(1) if 1 in classes else -1]
        else:
            names = self.meta.get("class_names") or []
            if len(names) != proba.shape[1]:
                names = self.meta["classes"]
            for j, name in enumerate(names):
                out[f"probability_{name}"] = proba[:, j]
            out["prediction"] = pred
        out["status"] = "ok"
        return out

    def _empty_rows(self, left: list[tuple[str, str]]) -> pd.DataFrame:
        return pd.DataFrame({"video_id": [v for v, _ in left], "status": [r for _, r in left]})

    # -- feature models ---------------------------------------------------------------------
    def feature_matrix(self, table: pd.DataFrame, *, source: str = "features") -> pd.DataFrame:
        """The model's feature columns of ``table`` in training order; refuses a mismatch."""
        inp = self.meta["input"]
        if inp["type"] != "features":
            raise FacemindError(
                f"model {self.meta['model']!r} takes {inp['type']}, not a features table"
            )
        cols = list(inp["columns"])
        table = table.copy()
        if "coverage__videos" in cols and "coverage__videos" not in table.columns:
            table["coverage__videos"] = 1.0  # a participant-level model scoring single videos
        missing = [c for c in cols if c not in table.columns]
        if missing:
            raise InputError(
                f"feature schema mismatch: {len(missing)} of the model's {len(cols)} feature "
                f"columns are missing (trained on {self.meta.get('features_name', 'another table')})",
                file=source, column=missing[0],
            )  # fmt: skip
        for c in cols:
            if not pd.api.types.is_numeric_dtype(table[c].dtype) or pd.api.types.is_bool_dtype(
                table[c].dtype
            ):
                raise InputError(
                    f"feature schema mismatch: column is {table[c].dtype}, the model expects numbers",
                    file=source, column=c,
                )  # fmt: skip
        X = table[cols].astype(np.float64)
        X = X.where(np.isfinite(X), np.nan)
        X.index = pd.RangeIndex(len(X))
        return X

    def predict_features(self, table: pd.DataFrame, *, source: str = "features") -> pd.DataFrame:
        """Predictions for every row of a features table (``video_id`` kept)."""
        X = self.feature_matrix(table, source=source)
        ids = (
            table["video_id"].astype(str).tolist()
            if "video_id" in table
            else [str(i) for i in range(len(table))]
        )
        est = self.estimator
        pred = est.predict(X)
        proba = None
        if self.task in CLASSIFICATION:
            if hasattr(est, "predict_proba"):
                proba = est.predict_proba(X)
            elif self.task == "binary" and hasattr(est, "decision_function"):
                pred = est.decision_function(X)
        return self._frame(ids, proba, pred)

    # -- deep models ------------------------------------------------------------------------
    def predict_inputs(self, ids: Sequence[str], inputs: list[Any]) -> pd.DataFrame:
        """Predictions of a deep model for loaded inputs (frame tables or crop arrays)."""
        est = self.estimator
        groups = np.arange(len(inputs))
        if self.task in CLASSIFICATION:
            proba = est.predict_proba_inputs(inputs, groups)
            pred = est.classes_[proba.argmax(axis=1)]
            return self._frame(ids, proba, pred)
        return self._frame(ids, None, est.predict_inputs(inputs, groups))
