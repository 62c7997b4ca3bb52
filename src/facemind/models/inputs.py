"""The deep models' inputs: an extraction directory, its row keys, frame tables and face crops.

A deep model's ``X`` is a one-column table of row keys (``input_row``, see
:func:`input_table`) into an extraction directory (``manifest.parquet``, ``frames/``,
``crops/``); the estimator loads each video's frame table or face crops from there. Loaded
inputs are cached while their files are unchanged, so the folds of a sweep read each file once.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ..errors import InputError
from ..face.layout import CROP_SIZE, ExtractionDir, left_out_summary

INPUT_COLUMN = "input_row"
SEQUENCE_GROUPS: tuple[str, ...] = ("aus", "pose", "gaze", "blendshapes")
MIN_FACE_FRAMES = 10


def extraction_dir(frames_dir: str | os.PathLike[str]) -> ExtractionDir:
    """The extraction folder holding ``frames_dir`` (the folder itself or its ``frames/``)."""
    return ExtractionDir.locate(frames_dir)


@dataclass
class InputTable:
    """Row keys of the usable videos (``video_id, participant_id, input_row``) and the videos
    left out (``video_id, participant_id, reason``)."""

    table: pd.DataFrame
    excluded: pd.DataFrame

    def summary(self) -> str:
        text = f"{len(self.table)} video rows"
        if len(self.excluded):
            text += "; left out " + left_out_summary(self.excluded["reason"])
        return text


def input_table(
    frames_dir: str | os.PathLike[str],
    *,
    crops: bool = False,
    min_face_frames: int = MIN_FACE_FRAMES,
) -> InputTable:
    """Row keys for the deep models: one row per usable video of an extraction directory.

    ``input_row`` is the video's position in ``manifest.parquet``. Left out (and listed):
    failed extractions, missing frame tables, fewer than ``min_face_frames`` face frames and,
    with ``crops``, videos without face crops.
    """
    folder = extraction_dir(frames_dir)
    manifest = folder.read_manifest()
    rows, excluded = [], []
    for i, vid, pid, st in folder.videos(manifest):
        reason = folder.exclusion(vid, st)
        if reason is None:
            if folder.face_frames(vid) < min_face_frames:
                reason = "too_few_face_frames"
            elif crops and not folder.crop_files(vid):
                reason = "no_crops"
        if reason is None:
            rows.append((vid, pid, i))
        else:
            excluded.append((vid, pid, reason))
    table = pd.DataFrame(rows, columns=["video_id", "participant_id", INPUT_COLUMN])
    table[INPUT_COLUMN] = table[INPUT_COLUMN].astype("int64")
    return InputTable(
        table, pd.DataFrame(excluded, columns=["video_id", "participant_id", "reason"])
    )


def key_columns(X: Any) -> Any:
    """``X`` reduced to its ``input_row`` column when it is a table holding more columns."""
    if isinstance(X, pd.DataFrame) and INPUT_COLUMN in X.columns and X.shape[1] > 1:
        return X[[INPUT_COLUMN]]
    return X


def row_keys(values: np.ndarray) -> np.ndarray:
    """Row numbers from a validated 2-D array of one column (ValueError otherwise)."""
    if np.any(values < 0):
        raise ValueError(
            f"Negative values in data passed to a deep model: {INPUT_COLUMN} holds row numbers"
        )
    if values.ndim != 2 or values.shape[1] != 1:
        raise ValueError(
            f"deep models take one column of row keys ({INPUT_COLUMN!r}), got "
            f"{values.shape[1] if values.ndim == 2 else values.ndim} columns; build it with "
            "facemind.models.deep.input_table"
        )
    col = values[:, 0]
    if np.any(col != np.round(col)):
        raise ValueError(f"deep models: {INPUT_COLUMN} must hold whole row numbers")
    return col.astype(np.int64)


def groups_of(X: Any) -> np.ndarray:
    if isinstance(X, pd.DataFrame):
        return X.index.to_numpy()
    return np.arange(len(X))


def resample(
    timestamp: np.ndarray, face: np.ndarray, values: np.ndarray, fps: float
) -> tuple[np.ndarray, np.ndarray]:
    """Values and face mask on a regular grid of ``fps`` steps from the first timestamp.

    Each step takes the last frame at or before it, so the grid does not depend on the
    video's own frame rate.
    """
    if len(timestamp) == 0:
        return np.zeros((0, values.shape[1]), np.float32), np.zeros(0, bool)
    t0 = float(timestamp[0])
    n = int(np.floor((float(timestamp[-1]) - t0) * fps + 1e-6)) + 1
    grid = t0 + np.arange(n) / fps
    j = np.searchsorted(timestamp, grid + 1e-6, side="right") - 1
    return values[j].astype(np.float32), face[j].astype(bool)


def sequence_arrays(
    frames: pd.DataFrame, channels: Sequence[str], fps: float, *, source: str = "frame table"
) -> tuple[np.ndarray, np.ndarray]:
    """(values (steps, channels) with NaN where missing, face mask (steps,)) of a frame table."""
    missing = [c for c in ("timestamp", "face_detected", *channels) if c not in frames.columns]
    if missing:
        raise InputError(
            f"frame table lacks {len(missing)} channel(s) the model needs (schema mismatch)",
            file=source,
            column=missing[0],
        )
    ts = frames["timestamp"].to_numpy(dtype=float)
    face = frames["face_detected"].to_numpy(dtype=bool)
    values = frames[list(channels)].to_numpy(dtype=np.float32, na_value=np.nan)
    return resample(ts, face, values, fps)


def select_crops(paths: Sequence[Any], k: int) -> list[Any]:
    """``k`` evenly spaced items of ``paths`` (all of them when there are at most ``k``)."""
    if len(paths) <= k:
        return list(paths)
    idx = np.unique(np.round(np.linspace(0, len(paths) - 1, k)).astype(int))
    return [paths[i] for i in idx]


def load_crop(path: str | os.PathLike[str], size: int = CROP_SIZE) -> np.ndarray:
    """One RGB crop as uint8 (size, size, 3), resized when it has another size."""
    from PIL import Image

    try:
        with Image.open(path) as im:
            im = im.convert("RGB")
            if im.size != (size, size):
                im = im.resize((size, size), Image.Resampling.BILINEAR)
            return np.asarray(im, dtype=np.uint8).copy()
    except OSError as exc:
        raise InputError(f"cannot read face crop: {exc}", file=str(path)) from None


_CACHE: dict[tuple, Any] = {}
_CACHE_LIMIT = 50_000


def cached(key: tuple, load: Any) -> Any:
    if key not in _CACHE:
        if len(_CACHE) >= _CACHE_LIMIT:
            _CACHE.clear()
        _CACHE[key] = load()
    return _CACHE[key]


def resize_crops(crops: np.ndarray, size: int) -> np.ndarray:
    """uint8 crops (n, h, w, 3) resized to (n, size, size, 3), bilinear as :func:`load_crop`."""
    from PIL import Image

    return np.stack(
        [
            np.asarray(
                Image.fromarray(np.ascontiguousarray(c)).resize(
                    (size, size), Image.Resampling.BILINEAR
                ),
                dtype=np.uint8,
            )
            for c in crops
        ]
    )
