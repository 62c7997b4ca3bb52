"""A fitted model with its metadata: saved and loaded without pickle, and scored on tables.

:class:`TrainedModel` holds a fitted estimator and its metadata (input schema, instrument,
subscale, task, positive band, classes, versions, provenance); training and scoring videos live
in :mod:`facemind.predict`. :meth:`TrainedModel.save` / :meth:`TrainedModel.load` use
:mod:`facemind.models.persist` (JSON + safetensors, no pickle).

It scores a features table (:meth:`TrainedModel.predict_features`) or a deep model's loaded
inputs (:meth:`TrainedModel.predict_inputs`). Inputs whose schema does not match the model's (feature columns, frame-table
channels) are refused with a one-line error. Output, one row per video: ``participant_id``,
``video_id``, ``subscale``, ``target`` (what is predicted, in words), the prediction named after
it (``p_<subscale>_<class>``: ``p_depression_mild_or_above`` for a binary task, one per class
otherwise; ``score_<subscale>_<class>`` for a binary model without probabilities;
``score_<subscale>`` for regression), ``label`` (the class at the model's own decision rule)
and ``threshold`` (binary: the probability or score above which ``label`` is positive; a score
within :data:`UNCERTAIN_MARGIN` of it is labelled ``uncertain``), then ``status`` (``ok`` or
why there is no prediction).
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

#: A binary score this close to the threshold gets the label ``uncertain``: the model cannot
#: tell (a model that learned nothing predicts the threshold itself, give or take rounding).
UNCERTAIN_MARGIN = 1e-6


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
    def _class_name(self, c: Any) -> str:
        names = self.meta.get("class_names") or []
        i = int(round(float(c)))
        return str(names[i]) if 0 <= i < len(names) else str(c)

    def _has_proba(self) -> bool:
        return self.input_type != "features" or hasattr(self.estimator, "predict_proba")

    def _columns(self) -> tuple[list[str], str]:
        """The prediction columns of this model and the ``target`` sentence describing them."""
        sub, inst = self.meta["subscale"], self.meta["instrument"]
        if self.task == "regression":
            return [f"score_{sub}"], f"predicted {inst} {sub} score (scored total)"
        classes = [self._class_name(c) for c in self.meta["classes"]]
        if self.task == "binary":
            neg, pos = classes[0], classes[-1]
            band = f"{self.meta.get('positive_band')} or above"
            if self._has_proba():
                return [f"p_{sub}_{pos}"], (
                    f"probability that the {inst} {sub} band is {band}; "
                    f"label is {pos} above the threshold, else {neg}"
                )
            return [f"score_{sub}_{pos}"], (
                f"decision score for the {inst} {sub} band being {band}; "
                f"label is {pos} above the threshold, else {neg}"
            )
        if self._has_proba():
            return [f"p_{sub}_{c}" for c in classes], (
                f"probability of each {inst} {sub} class ({', '.join(classes)}); "
                "label is the most probable"
            )
        return [], f"{inst} {sub} class ({', '.join(classes)})"

    def _frame(
        self,
        ids: Sequence[str],
        proba: np.ndarray | None,
        pred: np.ndarray,
        participants: Sequence[str] | None = None,
    ) -> pd.DataFrame:
        cols, target = self._columns()
        out = pd.DataFrame(
            {
                "participant_id": list(ids if participants is None else participants),
                "video_id": list(ids),
                "subscale": self.meta["subscale"],
                "target": target,
            }
        )
        pred = np.asarray(pred)
        classes = list(self.meta["classes"])
        if self.task == "regression":
            out[cols[0]] = pred.astype(float)
        elif self.task == "binary" and proba is None:  # a decision score, positive above 0
            out[cols[0]] = pred.astype(float)
            out["label"] = [self._class_name(classes[-1 if s > 0 else 0]) for s in pred]
        else:
            if proba is not None:
                positive = classes.index(1) if 1 in classes else -1
                values = [proba[:, positive]] if self.task == "binary" else list(proba.T)
                for col, v in zip(cols, values, strict=True):
                    out[col] = v
            out["label"] = [self._class_name(c) for c in pred]
        if self.task == "binary":
            out["threshold"] = 0.5 if self._has_proba() else 0.0
            near = (out[cols[0]] - out["threshold"]).abs() <= UNCERTAIN_MARGIN
            out.loc[near, "label"] = "uncertain"
        out["status"] = "ok"
        return out

    def _empty_rows(self, left: list[tuple[str, str]]) -> pd.DataFrame:
        """Rows of videos without a prediction: every output column, the prediction missing."""
        ids = [v for v, _ in left]
        columns = ["participant_id", "video_id", "subscale", "target", *self._columns()[0]]
        columns += ["label"] if self.task != "regression" else []
        columns += ["threshold", "status"] if self.task == "binary" else ["status"]
        out = pd.DataFrame({"participant_id": ids, "video_id": ids}).reindex(columns=columns)
        out["subscale"], out["target"] = self.meta["subscale"], self._columns()[1]
        out["status"] = [r for _, r in left]
        return out

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
                file=source,
                column=missing[0],
            )
        for c in cols:
            if not pd.api.types.is_numeric_dtype(table[c].dtype) or pd.api.types.is_bool_dtype(
                table[c].dtype
            ):
                raise InputError(
                    f"feature schema mismatch: column is {table[c].dtype}, the model expects numbers",
                    file=source,
                    column=c,
                )
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
        people = table["participant_id"].astype(str).tolist() if "participant_id" in table else None
        return self._frame(ids, proba, pred, people)

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
