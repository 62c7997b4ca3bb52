"""Training one model on a whole cohort, and scoring new videos with it.

:func:`train_model` fits a registered model (classical on a features table, ``sequence`` /
``frames-cnn`` on an extraction directory) on every participant with complete answers, with
the class balance of the sweep, and returns a :class:`Predictor`: the fitted estimator and its
metadata (:class:`~facemind.models.trained.TrainedModel`), which also scores videos.

Scoring videos (:meth:`Predictor.predict_videos`) runs face extraction in memory (nothing is
written to disk: no frame tables, no crops), then features or the deep model's inputs, then
the model; one row per video, in the order given, with a ``status`` saying why a video has no
prediction.
"""

from __future__ import annotations

import datetime as _dt
import os
import platform
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from . import labels
from .errors import FacemindError, InputError
from .face import schema
from .instruments import load_instrument
from .io import TABLE_SUFFIXES, read_table
from .models import get_model, make_estimator
from .models.trained import TrainedModel, unwrap
from .models.wrappers import Balanced
from .provenance import make_record
from .study import fit_data_problem, prepare_study

#: Dynamic feature heads and the channel group whose frames they are computed from.
DYNAMIC_GROUPS = {
    "head_rotation_speed": "pose",
    "head_translation_speed": "pose",
    "gaze_speed": "gaze",
    "landmark_speed": "landmarks",
    "blink": "aus",
}


def versions() -> dict[str, str]:
    """Versions of the packages a saved model depends on."""
    import sklearn

    from . import __version__

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


class Predictor(TrainedModel):
    """A trained model that scores features tables, frame tables or videos.

    Built by :func:`train_model` or loaded with :meth:`Predictor.load`; :meth:`predict` takes a
    features table or videos, :meth:`save` writes the model directory.
    """

    def predict(
        self,
        data: pd.DataFrame | str | os.PathLike[str] | Sequence[str | os.PathLike[str]],
        *,
        face_model: str | os.PathLike[str] | None = None,
        jobs: int = 1,
    ) -> pd.DataFrame:
        """Predictions for a features table (a DataFrame or a table file) or for videos.

        Parameters
        ----------
        data
            A features table, the path of one (``.csv``/``.parquet``), or video files,
            folders or CSV lists of videos.
        face_model
            The face model file used to extract the videos (default: the cached one).
        jobs
            Local worker processes extracting the videos (``-1``: one per core).

        Returns
        -------
        pandas.DataFrame
            One row per video: ``video_id``, the prediction columns and ``status``
            (see :meth:`predict_videos`).
        """
        if isinstance(data, pd.DataFrame):
            return self.predict_features(data)
        if isinstance(data, str | os.PathLike):
            if Path(data).suffix.lower() in TABLE_SUFFIXES:
                return self.predict_features(read_table(data), source=str(data))
            data = [data]
        return self.predict_videos(list(data), face_model=face_model, jobs=jobs)

    def predict_features(self, table: pd.DataFrame, *, source: str = "features") -> pd.DataFrame:
        """Predictions for every row of a features table; refuses (one line) a table whose
        provenance says it was made with other settings than the model's training table."""
        from .provenance import read_features_record

        record = read_features_record(table, source) or {}
        differ = _differences(record.get("extraction"), self.meta["input"].get("extraction"))
        differ += _differences(
            record.get("settings"), self.meta["input"].get("features"), keys=FEATURE_KEYS
        )
        if differ:
            raise InputError(
                f"features made with other settings than the model's ({'; '.join(differ)}); "
                "extract and compute them as for the training table",
                file=source,
            )
        return super().predict_features(table, source=source)

    def extract_settings(self) -> Any:
        """The :class:`~facemind.face.extract.ExtractSettings` of the model's training videos
        (the defaults when the model does not record them, as after imported frames)."""
        from .face.extract import ExtractSettings

        made = self.meta["input"].get("extraction") or {}
        if "mixed" in made:
            raise FacemindError(
                f"model {self.meta.get('path', self.meta['model'])!r} was trained on videos "
                f"extracted with {made['mixed']} different settings; extract new videos as one "
                "of them were and predict their features table"
            )
        k = int(self.meta["input"].get("k", 0)) if self.input_type == "crops" else 0
        return ExtractSettings(
            save_crops=k, **{key: made[key] for key in EXTRACT_KEYS if key in made}
        )

    def check_face_model(self, sha256: str, path: str | os.PathLike[str]) -> None:
        """Refuse a face model (or MediaPipe version) other than the training videos' one."""
        from .face.landmarker import backend_version

        made = self.meta["input"].get("extraction") or {}
        want = made.get("model_sha256")
        if want and want != sha256:
            raise FacemindError(
                f"face model {path}: sha256 {sha256[:12]}..., but the model's training videos "
                f"were extracted with {want[:12]}...; pass that face model (`face_model`)"
            )
        if made.get("backend") and made["backend"] != backend_version():
            raise FacemindError(
                f"the model's training videos were extracted with {made['backend']}, this is "
                f"{backend_version()}; install that version or train the model again"
            )

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

    def predict_frame_tables(
        self, items: Sequence[tuple[str, pd.DataFrame]], crops: dict[str, np.ndarray] | None = None
    ) -> pd.DataFrame:
        """Predictions for in-memory frame tables ``(video_id, frames)`` (and crops by id)."""
        min_face = int(self.meta["input"].get("min_face_frames", 10))
        made = self.meta["input"].get("features") or {}
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
                from .functionals import compute_features

                res = compute_features(
                    [(v, v, f) for v, f in usable],
                    groups=self.feature_groups(),
                    min_face_frames=min_face,
                    activation_threshold=made.get("activation_threshold", 1.0),
                    blink_threshold=made.get("blink_threshold", 1.0),
                )
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
        jobs: int = 1,
        executor: Any = None,
        on_video: Callable[[str, str], None] | None = None,
    ) -> pd.DataFrame:
        """Extract (in memory) and score every video; one row per video, in input order.

        Videos are extracted in ``jobs`` local processes (or on ``executor``, as
        :func:`facemind.api.extract`); ``on_video(video_id, status)`` is called as each is
        done. ``status`` is ``ok``, ``partial`` (decoding stopped early: the frames decoded
        until then are scored, ``attrs["partial"]`` says where) or why there is no prediction
        (``extraction_failed: ...`` for a video that could not be read).
        """
        from .face.batch import collect_inputs, no_videos_message
        from .face.model import resolve_model, verify_model
        from .parallel import map_unordered, open_executor, resolve_jobs

        tasks = collect_inputs([str(v) for v in videos])
        if not tasks:
            raise FacemindError(no_videos_message(videos))
        settings = self.extract_settings()  # as the training videos were extracted
        model_path = str(resolve_model(face_model))
        self.check_face_model(verify_model(model_path), model_path)
        items: list[tuple[str, pd.DataFrame]] = []
        crops: dict[str, np.ndarray] = {}
        failed: list[tuple[str, str]] = []
        partial: dict[str, str] = {}
        calls = [(t, model_path, settings) for t in tasks]
        jobs = min(resolve_jobs(jobs), len(tasks))
        with open_executor(executor, jobs=jobs, n_tasks=len(tasks)) as pool:
            for _, (vid, status, error, frames, video_crops) in map_unordered(
                pool, _extract_in_memory, calls
            ):
                if frames is None:
                    failed.append((vid, f"extraction_failed: {error}"))
                else:
                    items.append((vid, frames))
                    if status == "partial":
                        partial[vid] = str(error)
                    if video_crops is not None:
                        crops[vid] = video_crops
                if on_video is not None:
                    on_video(vid, "failed" if frames is None else status)
        order = {t.video_id: i for i, t in enumerate(tasks)}
        items.sort(key=lambda item: order[item[0]])
        out = self.predict_frame_tables(items, crops)
        out.loc[out["video_id"].isin(partial) & (out["status"] == "ok"), "status"] = "partial"
        if failed:
            out = pd.concat([out, self._empty_rows(failed)], ignore_index=True)
        out["participant_id"] = out["video_id"].map({t.video_id: t.participant_id for t in tasks})
        out = _in_order(out, [t.video_id for t in tasks])
        out.attrs["partial"] = partial
        return out


def _extract_in_memory(task: Any, model_path: str, settings: Any) -> tuple:
    """One video's ``(video_id, status, error, frame table or None, crops or None)``,
    extracted in memory (a worker's task: nothing is written)."""
    from .face.batch import model_bytes
    from .face.extract import extract_video

    model = model_bytes(model_path)
    try:
        res = extract_video(task.path, lambda: settings.landmarker(model), settings)
    except Exception as exc:  # noqa: BLE001 - one bad video must never stop the others
        return task.video_id, "failed", f"{type(exc).__name__}: {exc}", None, None
    frames = None if res.frames is None else schema.conform(res.frames, source=task.path)
    crops = np.stack([a for _, a in res.crops]) if res.crops else None
    return task.video_id, res.status, res.error, frames, crops


#: Extraction settings that change the frames, as recorded in the manifest.
EXTRACT_KEYS = ("min_confidence", "crop_size", "sample_fps", "au_calibration", "max_faces")
#: Feature settings that change a feature's values.
FEATURE_KEYS = ("activation_threshold", "blink_threshold")


def _differences(
    got: dict | None,
    want: dict | None,
    keys: Sequence[str] = (*EXTRACT_KEYS, "model_sha256", "backend", "schema_version"),
) -> list[str]:
    """``key=got (model: want)`` for each setting that both records hold and that differs."""
    if not got or not want:
        return []
    return [
        f"{k}={got[k]!r} (model: {want[k]!r})"
        for k in keys
        if k in got and k in want and got[k] != want[k]
    ]


def _in_order(out: pd.DataFrame, video_ids: Sequence[str]) -> pd.DataFrame:
    """``out``'s rows in the order of ``video_ids`` (the order the videos were given)."""
    order = {v: i for i, v in enumerate(video_ids)}
    return out.sort_values("video_id", key=lambda s: s.map(order), kind="stable").reset_index(
        drop=True
    )


def _made_with(
    kind: str, table: pd.DataFrame, name: str, frames: str | os.PathLike[str] | None
) -> dict[str, Any]:
    """How the training inputs were made, for new videos to be made alike: ``extraction`` (the
    extraction settings with the face model's sha256; ``None`` when unknown, as for imported
    frames) and, for a features table, ``features`` (its settings; ``None`` when unknown)."""
    if kind != "features":
        from .face.layout import ExtractionDir
        from .functionals import extraction_settings

        manifest = ExtractionDir.locate(frames).read_manifest()
        return {"extraction": extraction_settings(manifest, manifest["video_id"].astype(str))}
    from .provenance import read_features_record

    record = read_features_record(table, name) or {}
    return {"extraction": record.get("extraction"), "features": record.get("settings")}


#: In-sample predictions that vary less than this are taken as constant.
CONSTANT_SPREAD = 1e-9


def _learned_nothing(est: Any, X: pd.DataFrame, model: str) -> list[str]:
    """Warn (:class:`~facemind.errors.ModelWarning`) when ``est``'s predictions for its own
    training rows do not vary: it learned nothing from the inputs. Returns the warnings."""
    import warnings

    from .errors import ModelWarning

    if hasattr(est, "predict_proba"):
        values = np.asarray(est.predict_proba(X), dtype=float)
    elif hasattr(est, "decision_function"):
        values = np.asarray(est.decision_function(X), dtype=float)
    else:
        values = np.asarray(est.predict(X), dtype=float)
    spread = float(np.nanmax(np.ptp(values.reshape(len(X), -1), axis=0))) if len(X) else 0.0
    if spread >= CONSTANT_SPREAD:
        return []
    text = (
        f"model {model!r} predicts the same for all {len(X)} training rows (spread "
        f"{spread:.1g}): it learned nothing from these inputs and its predictions say nothing"
    )
    warnings.warn(text, ModelWarning, stacklevel=3)
    return [text]


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
) -> tuple[Predictor, list[str]]:
    """Fit ``model`` on the whole cohort; return the trained model and notes on left-out data.

    ``features`` for the classical models, ``frames`` (an extraction directory) for the deep
    ones. ``params`` override the deep model's settings (e.g. ``{"epochs": 20}``).
    """
    spec = get_model(model)
    model = spec.name  # the registered name, whatever case or alias was given
    inst = load_instrument(instrument)
    subscale = inst.subscale_name(subscale)
    if subscale not in inst.subscales:
        raise FacemindError(
            f"unknown subscale {subscale!r} for {inst.id}; choose from {', '.join(inst.subscales)}"
        )
    notes: list[str] = []
    if spec.input == "features":
        if features is None:
            raise FacemindError(f"model {model!r} is trained on a features table: pass `features`")
        table = features
    else:
        if frames is None:
            raise FacemindError(
                f"model {model!r} is trained on an extraction directory: pass `frames`"
            )
        from .models.deep import input_table

        inputs = input_table(frames, crops=spec.input == "crops", min_face_frames=min_face_frames)
        notes.append(inputs.summary())
        table = inputs.table
        features_name = str(frames)
    made = _made_with(spec.input, table, features_name, frames)
    study = prepare_study(
        table,
        responses,
        inst,
        subscales=[subscale],
        id_column=id_column,
        features_name=features_name,
        responses_name=responses_name,
    )
    notes.extend(study.notes)
    sub = inst.subscales[subscale]
    y_people = labels.make_target(study.scored[subscale], sub, task, positive_band=positive_band)
    y = y_people[study.row_person]
    problem = fit_data_problem(y, study.row_person, task=task, grid_search=grid_search)
    if problem is not None:
        change = {"inner": "leave out `grid_search`", "constant": "use more participants"}
        raise FacemindError(
            f"subscale {subscale!r}: the cohort has {problem[0]}; "
            f"{change.get(problem[1], 'use another `positive_band` or more participants')}"
        )
    X = pd.DataFrame(study.X, columns=study.feature_names, index=study.row_person)
    est = make_estimator(
        model,
        task,
        random_state=seed,
        balance=balance,
        grid_search=grid_search,
        inputs={"frames": str(frames)} if frames is not None else None,
    )
    if params:
        inner = est.estimator if isinstance(est, Balanced) else est
        try:
            inner.set_params(**params)
        except ValueError as exc:  # scikit-learn's message names the valid parameters
            raise FacemindError(f"params of model {model!r}: {exc}") from None
    est.fit(X, y)
    fitted = unwrap(est)
    warned = _learned_nothing(est, X, model)
    if spec.input == "features":
        dtypes = {c: str(table[c].dtype) for c in study.feature_names}
        input_meta: dict[str, Any] = {
            "type": "features",
            "columns": list(study.feature_names),
            "dtypes": [dtypes[c] for c in study.feature_names],
            "min_face_frames": min_face_frames,
            **made,
        }
    elif spec.input == "frames":
        input_meta = {
            "type": "frames",
            "channels": list(fitted.channels_),
            "fps": fitted.fps,
            "window": fitted.window,
            "min_face_frames": min_face_frames,
            **made,
        }
    else:
        input_meta = {
            "type": "crops",
            "k": fitted.k,
            "size": fitted.size,
            "min_face_frames": min_face_frames,
            **made,
        }
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
            "warnings": warned,
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
    return Predictor(fitted, meta), notes
