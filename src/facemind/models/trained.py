"""Train one model on a whole cohort, save it, and score new videos with it.

:func:`train_model` fits a registered model (classical on a features table, ``sequence``,
``frames-cnn`` or ``clip-cnn`` on an extraction directory) on every participant with complete
answers, with the class balance of the sweep, and returns a :class:`TrainedModel` holding the
fitted estimator and its metadata (input schema, instrument, subscale, task, positive band,
classes, versions). :meth:`TrainedModel.save` / :meth:`TrainedModel.load` use
:mod:`facemind.models.persist` (JSON + safetensors, no pickle).

Scoring: :meth:`TrainedModel.predict_videos` runs face extraction in memory (nothing is
written to disk: no frame tables, no crops), then features or the deep model's inputs, then
the model. Inputs whose schema does not match the model's (feature columns, frame-table
channels) are refused with a one-line error. Output, one row per video: ``participant_id``,
``video_id``, ``subscale``, ``target`` (what is predicted, in words), the prediction named after
it (``p_<subscale>_<class>``: ``p_depression_mild_or_above`` for a binary task, one per class
otherwise; ``score_<subscale>_<class>`` for a binary model without probabilities;
``score_<subscale>`` for regression), ``label`` (the class at the model's own decision rule)
and ``threshold`` (binary: the probability or score above which ``label`` is positive), then
``status`` (``ok`` or why there is no prediction).
"""

from __future__ import annotations

import datetime as _dt
import os
import platform
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..errors import FacemindError, InputError
from ..face import schema
from . import CLASSIFICATION, get_model, make_estimator
from .wrappers import Balanced, GroupedSearch

DYNAMIC_GROUPS = {
    "head_rotation_speed": "pose",
    "head_translation_speed": "pose",
    "gaze_speed": "gaze",
    "landmark_speed": "landmarks",
    "blink": "aus",
}


def unwrap(est: Any) -> Any:
    """The fitted model inside the class-balance and grid-search wrappers."""
    while True:
        if isinstance(est, Balanced):
            est = est.estimator_
        elif isinstance(est, GroupedSearch):
            est = est.best_estimator_
        else:
            return est


def versions() -> dict[str, str]:
    """Versions of the packages a saved model depends on."""
    import sklearn

    from .. import __version__

    out = {
        "facemind": __version__,
        "python": platform.python_version(),
        "numpy": np.__version__,
        "pandas": pd.__version__,
        "scikit-learn": sklearn.__version__,
        "frame_schema": str(schema.SCHEMA_VERSION),
    }
    for name in ("torch", "xgboost", "safetensors"):
        try:
            module = __import__(name)
            out[name] = str(module.__version__)
        except ImportError:
            pass
    return out


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
            {"participant_id": list(ids if participants is None else participants),
             "video_id": list(ids), "subscale": self.meta["subscale"], "target": target}
        )  # fmt: skip
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
        people = table["participant_id"].astype(str).tolist() if "participant_id" in table else None
        return self._frame(ids, proba, pred, people)

    def feature_groups(self) -> list[str]:
        """Channel groups the model's features come from (to compute them for new videos)."""
        groups = set()
        for col in self.meta["input"]["columns"]:
            head = col.split("__")[0]
            if head in DYNAMIC_GROUPS:
                groups.add(DYNAMIC_GROUPS[head])
            for g, chans in schema.CHANNEL_GROUPS.items():
                if head in chans:
                    groups.add(g)
        return [g for g in schema.CHANNEL_GROUPS if g in groups]

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

    # -- videos -----------------------------------------------------------------------------
    def predict_frame_tables(
        self, items: Sequence[tuple[str, pd.DataFrame]], crops: dict[str, np.ndarray] | None = None
    ) -> pd.DataFrame:
        """Predictions for in-memory frame tables ``(video_id, frames)`` (and crops by id)."""
        min_face = int(self.meta["input"].get("min_face_frames", 10))
        usable, left = [], []
        for vid, frames in items:
            n_face = int(frames["face_detected"].sum()) if len(frames) else 0
            if n_face < min_face:
                left.append((vid, f"too_few_face_frames ({n_face} < {min_face})"))
            elif self.input_type == "crops" and (
                crops is None or vid not in crops or not len(crops[vid])
            ):
                left.append((vid, "no_crops"))
            else:
                usable.append((vid, frames))
        parts = []
        if usable:
            ids = [v for v, _ in usable]
            if self.input_type == "features":
                from ..features import compute_features

                res = compute_features(
                    [(v, v, f) for v, f in usable], groups=self.feature_groups(),
                    min_face_frames=min_face,
                )  # fmt: skip
                parts.append(self.predict_features(res.table, source="features of the videos"))
            elif self.input_type == "frames":
                parts.append(self.predict_inputs(ids, [f for _, f in usable]))
            else:
                parts.append(self.predict_inputs(ids, [crops[v] for v in ids]))
        if left:
            parts.append(self._empty_rows(left))
        out = pd.concat(parts, ignore_index=True) if parts else self._empty_rows([])
        return _in_order(out, [v for v, _ in items])

    def predict_videos(
        self,
        videos: Sequence[str | os.PathLike[str]],
        *,
        face_model: str | os.PathLike[str] | None = None,
        on_video: Callable[[str], None] | None = None,
    ) -> pd.DataFrame:
        """Extract (in memory) and score every video; one row per video, in input order."""
        from ..face.batch import collect_inputs
        from ..face.extract import ExtractSettings, extract_video
        from ..face.landmarker import Landmarker
        from ..face.model import resolve_model, verify_model

        tasks = collect_inputs([str(v) for v in videos])
        if not tasks:
            raise FacemindError("no videos found in the inputs")
        model_path = resolve_model(face_model)
        verify_model(model_path)
        model_bytes = Path(model_path).read_bytes()  # read once, not once per video
        k = int(self.meta["input"].get("k", 0)) if self.input_type == "crops" else 0
        settings = ExtractSettings(save_crops=k)
        items: list[tuple[str, pd.DataFrame]] = []
        crops: dict[str, np.ndarray] = {}
        failed: list[tuple[str, str]] = []
        for t in tasks:
            if on_video is not None:
                on_video(t.video_id)
            res = extract_video(
                t.path,
                lambda: Landmarker(model_bytes, min_confidence=settings.min_confidence),
                settings,
            )
            if res.frames is None:
                failed.append((t.video_id, f"extraction_failed: {res.error}"))
                continue
            items.append((t.video_id, schema.conform(res.frames, source=t.path)))
            if res.crops:
                crops[t.video_id] = np.stack([a for _, a in res.crops])
        out = self.predict_frame_tables(items, crops)
        if failed:
            out = pd.concat([out, self._empty_rows(failed)], ignore_index=True)
        out["participant_id"] = out["video_id"].map({t.video_id: t.participant_id for t in tasks})
        return _in_order(out, [t.video_id for t in tasks])


def _in_order(out: pd.DataFrame, video_ids: Sequence[str]) -> pd.DataFrame:
    """``out``'s rows in the order of ``video_ids`` (the order the videos were given)."""
    order = {v: i for i, v in enumerate(video_ids)}
    return out.sort_values("video_id", key=lambda s: s.map(order), kind="stable").reset_index(
        drop=True
    )


def train_model(
    responses: pd.DataFrame,
    instrument: str | Any,
    subscale: str,
    model: str,
    *,
    features: pd.DataFrame | None = None,
    frames: str | os.PathLike[str] | None = None,
    task: str = "binary",
    positive_band: str = "mild",
    balance: str = "downsample",
    grid_search: bool = False,
    seed: int = 0,
    id_column: str = "participant_id",
    min_face_frames: int = 10,
    params: dict[str, Any] | None = None,
    features_name: str = "features",
    responses_name: str = "responses",
) -> tuple[TrainedModel, list[str]]:
    """Fit ``model`` on the whole cohort; return the trained model and notes on left-out data.

    ``features`` for the classical models, ``frames`` (an extraction directory) for the deep
    ones. ``params`` override the deep model's settings (e.g. ``{"epochs": 20}``).
    """
    from .. import labels
    from ..instruments import load_instrument
    from ..provenance import make_record
    from ..study import fit_data_problem, prepare_study

    spec = get_model(model)
    inst = load_instrument(instrument)
    if subscale not in inst.subscales:
        raise FacemindError(
            f"unknown subscale {subscale!r} for {inst.id}; choose from {', '.join(inst.subscales)}"
        )
    notes: list[str] = []
    if spec.input == "features":
        if features is None:
            raise FacemindError(
                f"model {model!r} is trained on a features table: pass --features F"
            )
        table = features
    else:
        if frames is None:
            raise FacemindError(
                f"model {model!r} is trained on an extraction directory: pass --frames DIR"
            )
        from .deep import input_table

        inputs = input_table(frames, crops=spec.input == "crops", min_face_frames=min_face_frames)
        notes.append(inputs.summary())
        table = inputs.table
        features_name = str(frames)
    study = prepare_study(
        table, responses, inst, subscales=[subscale], id_column=id_column,
        features_name=features_name, responses_name=responses_name,
    )  # fmt: skip
    notes.extend(study.notes)
    sub = inst.subscales[subscale]
    y_people = labels.make_target(study.scored[subscale], sub, task, positive_band=positive_band)
    y = y_people[study.row_person]
    problem = fit_data_problem(y, study.row_person, task=task, grid_search=grid_search)
    if problem is not None:
        change = {"inner": "leave out --grid-search", "constant": "use more participants"}
        raise FacemindError(
            f"subscale {subscale!r}: the cohort has {problem[0]}; "
            f"{change.get(problem[1], 'use another --positive-band or more participants')}"
        )
    X = pd.DataFrame(study.X, columns=study.feature_names, index=study.row_person)
    est = make_estimator(
        model, task, random_state=seed, balance=balance, grid_search=grid_search,
        inputs={"frames": str(frames)} if frames is not None else None,
    )  # fmt: skip
    if params:
        inner = est.estimator if isinstance(est, Balanced) else est
        try:
            inner.set_params(**params)
        except ValueError as exc:  # scikit-learn's message names the valid parameters
            raise FacemindError(f"params of model {model!r}: {exc}") from None
    est.fit(X, y)
    fitted = unwrap(est)
    if spec.input == "features":
        dtypes = {c: str(table[c].dtype) for c in study.feature_names}
        input_meta: dict[str, Any] = {
            "type": "features",
            "columns": list(study.feature_names),
            "dtypes": [dtypes[c] for c in study.feature_names],
            "min_face_frames": min_face_frames,
        }
    elif spec.input == "frames":
        input_meta = {
            "type": "frames",
            "channels": list(fitted.channels_),
            "fps": fitted.fps,
            "window": fitted.window,
            "min_face_frames": min_face_frames,
        }
    else:
        input_meta = {"type": "crops", "k": fitted.k, "size": fitted.size,
                      "min_face_frames": min_face_frames}  # fmt: skip
    classes: list[Any] = []
    class_names: list[str] = []
    if task != "regression":
        classes = [int(c) for c in np.unique(y)]
        class_names = labels.class_names(sub, task, positive_band=positive_band)
    counts = (
        {str(c): int(n) for c, n in zip(*np.unique(y, return_counts=True), strict=True)}
        if task != "regression"
        else {}
    )
    meta = {
        "model": model,
        "task": task,
        "instrument": inst.id,
        "subscale": subscale,
        "positive_band": positive_band if task == "binary" else None,
        "classes": classes,
        "class_names": class_names,
        "input": input_meta,
        "features_name": Path(features_name).name,
        "training": {
            "participants": int(study.n_people),
            "rows": int(len(y)),
            "rows_fitted": int(getattr(est, "n_fit_", len(y))),
            "class_counts": counts,
            "balance": balance if task != "regression" else None,
            "grid_search": grid_search,
            "seed": seed,
            "notes": notes,
        },
        "versions": versions(),
        "created": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
        "provenance": make_record(
            "train",
            instrument=inst,
            subscales=[subscale],
            task=task,
            positive_band=positive_band,
            models=[model],
            seed=seed,
            settings={
                "balance": balance,
                "grid_search": grid_search,
                "params": params or {},
                "id_column": id_column,
                "min_face_frames": min_face_frames,
            },
            tables={"responses": (responses, responses_name), "features": (table, features_name)},
        ),
    }
    return TrainedModel(fitted, meta), notes
