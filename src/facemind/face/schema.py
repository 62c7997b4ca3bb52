"""The frame table: one Parquet file per video, the same schema from every backend.

This module is the single place where the per-frame columns are written down. Every backend
(MediaPipe extraction, OpenFace import, the synthetic generator) produces a table that
:func:`conform` accepts; every consumer (features, sequence models) reads these names.

Conventions
- ``frame`` (int64, 0-based index in the decoded stream), ``timestamp`` (seconds, float64,
  from the stream, so variable frame rate is safe), ``face_detected`` (bool).
- Rows with no face keep ``frame`` and ``timestamp``; every other column is null there.
- Head pose in degrees with OpenFace 2's sign conventions (``pose_Rx/Ry/Rz`` -> pitch, yaw,
  roll), translation ``pose_tx/ty/tz`` in millimetres (camera frame, as OpenFace).
- Gaze: ``gaze_angle_x`` / ``gaze_angle_y`` in radians as OpenFace (both eyes), plus unit gaze
  vectors ``gaze_0_*`` and ``gaze_1_*``; as in OpenFace, eye 0 is the leftmost eye in the
  image (the person's right eye).
- Action units ``AUxx`` are intensity estimates on OpenFace's 0-5 scale; from video they are
  relative to the face's own neutral level (as OpenFace's dynamic models), unless extracted
  with AU calibration ``none``.
- 68 landmarks ``x_0..x_67``, ``y_0..y_67`` in pixels, iBUG / OpenFace numbering.
- Backend extras: ``confidence``; MediaPipe blendshapes ``bs_<name>``; ``mp_landmarks`` (the
  478 MediaPipe landmarks, normalized, x, y, z interleaved, list of 1434 float32); ``faces``
  (int16, the faces in view in that frame, the participant's included; set in rows without
  the participant's face too, where another face can be in view).
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from ..errors import InputError
from ..io import atomic_path

# 2: eye 0 is the leftmost eye in the image; head pose from the rigid face; calibrated AUs.
# 3: head rotation (and gaze) in camera axes, as OpenFace's, not relative to the line of sight.
# 4: column ``faces`` (faces in view); the participant's face tracked among up to three.
SCHEMA_VERSION = 4

AU_NAMES: tuple[str, ...] = (
    "AU01", "AU02", "AU04", "AU05", "AU06", "AU07", "AU09", "AU10", "AU12",
    "AU14", "AU15", "AU17", "AU20", "AU23", "AU25", "AU26", "AU45",
)  # fmt: skip
POSE_COLUMNS: tuple[str, ...] = (
    "pose_pitch", "pose_yaw", "pose_roll", "pose_tx", "pose_ty", "pose_tz",
)  # fmt: skip
GAZE_COLUMNS: tuple[str, ...] = (
    "gaze_angle_x", "gaze_angle_y",
    "gaze_0_x", "gaze_0_y", "gaze_0_z", "gaze_1_x", "gaze_1_y", "gaze_1_z",
)  # fmt: skip
N_LANDMARKS = 68
LANDMARK_COLUMNS: tuple[str, ...] = tuple(
    [f"x_{i}" for i in range(N_LANDMARKS)] + [f"y_{i}" for i in range(N_LANDMARKS)]
)

# MediaPipe FaceLandmarker's 52 blendshape categories, in the model's output order.
BLENDSHAPE_NAMES: tuple[str, ...] = (
    "_neutral", "browDownLeft", "browDownRight", "browInnerUp", "browOuterUpLeft",
    "browOuterUpRight", "cheekPuff", "cheekSquintLeft", "cheekSquintRight", "eyeBlinkLeft",
    "eyeBlinkRight", "eyeLookDownLeft", "eyeLookDownRight", "eyeLookInLeft", "eyeLookInRight",
    "eyeLookOutLeft", "eyeLookOutRight", "eyeLookUpLeft", "eyeLookUpRight", "eyeSquintLeft",
    "eyeSquintRight", "eyeWideLeft", "eyeWideRight", "jawForward", "jawLeft", "jawOpen",
    "jawRight", "mouthClose", "mouthDimpleLeft", "mouthDimpleRight", "mouthFrownLeft",
    "mouthFrownRight", "mouthFunnel", "mouthLeft", "mouthLowerDownLeft", "mouthLowerDownRight",
    "mouthPressLeft", "mouthPressRight", "mouthPucker", "mouthRight", "mouthRollLower",
    "mouthRollUpper", "mouthShrugLower", "mouthShrugUpper", "mouthSmileLeft", "mouthSmileRight",
    "mouthStretchLeft", "mouthStretchRight", "mouthUpperUpLeft", "mouthUpperUpRight",
    "noseSneerLeft", "noseSneerRight",
)  # fmt: skip


def blendshape_column(name: str) -> str:
    """Column name of a MediaPipe blendshape (``_neutral`` -> ``bs_neutral``)."""
    return "bs_" + name.lstrip("_")


BLENDSHAPE_COLUMNS: tuple[str, ...] = tuple(blendshape_column(n) for n in BLENDSHAPE_NAMES)
MP_LANDMARKS_COLUMN = "mp_landmarks"
FACES_COLUMN = "faces"
N_MP_LANDMARKS = 478

ID_COLUMNS: tuple[str, ...] = ("frame", "timestamp", "face_detected")
# Columns every backend writes (null where it has no estimate).
CORE_COLUMNS: tuple[str, ...] = (
    ID_COLUMNS + ("confidence",) + POSE_COLUMNS + GAZE_COLUMNS + AU_NAMES + LANDMARK_COLUMNS
)
# Channel groups, as in the paper's feature-subset comparison (features --groups).
CHANNEL_GROUPS: dict[str, tuple[str, ...]] = {
    "aus": AU_NAMES,
    "pose": POSE_COLUMNS,
    "gaze": GAZE_COLUMNS,
    "landmarks": LANDMARK_COLUMNS,
    "blendshapes": BLENDSHAPE_COLUMNS,
}

# Columns of manifest.parquet, written by extract, import-openface and synth.
MANIFEST_COLUMNS: tuple[str, ...] = (
    "video_id", "participant_id", "path", "size", "status", "error", "frames", "face_frames",
    "fps", "duration", "backend", "backend_version", "model", "model_sha256", "settings",
    "synthetic", "faces_max", "other_face_frames",
)  # fmt: skip


def _arrow_type(column: str) -> pa.DataType:
    if column == "frame":
        return pa.int64()
    if column == "timestamp":
        return pa.float64()
    if column == "face_detected":
        return pa.bool_()
    if column == MP_LANDMARKS_COLUMN:
        return pa.list_(pa.float32(), N_MP_LANDMARKS * 3)
    if column == FACES_COLUMN:
        return pa.int16()
    return pa.float32()


def _float32(column: pd.Series) -> np.ndarray:
    """A fresh float32 copy of a column; non-numeric values become NaN."""
    if pd.api.types.is_numeric_dtype(column.dtype) and not pd.api.types.is_extension_array_dtype(
        column.dtype
    ):
        return column.to_numpy(dtype="float32", copy=True)
    return pd.to_numeric(column, errors="coerce").astype("float32").to_numpy().copy()


def conform(df: pd.DataFrame, *, source: str = "frame table") -> pd.DataFrame:
    """Check a frame table and return it with canonical column order and dtypes.

    Core columns absent from ``df`` are added as nulls; extra columns must be blendshapes or
    ``mp_landmarks``. Raises :class:`InputError` naming the column at fault.
    """
    for col in ID_COLUMNS:
        if col not in df.columns:
            raise InputError("frame table lacks a required column", file=source, column=col)
    allowed_extra = set(BLENDSHAPE_COLUMNS) | {MP_LANDMARKS_COLUMN, FACES_COLUMN}
    for col in df.columns:
        if col not in CORE_COLUMNS and col not in allowed_extra:
            raise InputError("unknown frame-table column", file=source, column=col)
    # Columns are collected first and assembled once (inserting ~200 columns one by one into
    # a DataFrame is slow and fragments it).
    out: dict[str, object] = {}
    out["frame"] = pd.to_numeric(df["frame"]).astype("int64").to_numpy()
    out["timestamp"] = pd.to_numeric(df["timestamp"]).astype("float64").to_numpy()
    out["face_detected"] = df["face_detected"].astype(bool).to_numpy()
    ts = out["timestamp"]
    if len(df) > 1 and not np.all(np.diff(ts) >= 0):
        bad = int(np.argmax(np.diff(ts) < 0)) + 1
        raise InputError(
            "timestamps must not decrease",
            file=source,
            row=bad + 1,
            column="timestamp",
            value=float(ts[bad]),
        )
    no_face = ~out["face_detected"]
    for col in CORE_COLUMNS[3:]:
        values = (
            _float32(df[col]) if col in df.columns else np.full(len(df), np.nan, dtype="float32")
        )
        values[no_face] = np.nan
        out[col] = values
    for col in BLENDSHAPE_COLUMNS:
        if col in df.columns:
            values = _float32(df[col])
            values[no_face] = np.nan
            out[col] = values
    if FACES_COLUMN in df.columns:
        faces = pd.to_numeric(df[FACES_COLUMN], errors="coerce")
        if faces.isna().any() or (faces < 0).any():
            bad = int(np.flatnonzero(faces.isna().to_numpy() | (faces < 0).to_numpy())[0])
            raise InputError(
                "face counts must be whole numbers of 0 or more",
                file=source,
                row=bad + 1,
                column=FACES_COLUMN,
                value=df[FACES_COLUMN].iloc[bad],
            )
        out[FACES_COLUMN] = faces.astype("int16").to_numpy()
    if MP_LANDMARKS_COLUMN in df.columns:
        out[MP_LANDMARKS_COLUMN] = [
            None if (nf or v is None) else np.asarray(v, dtype="float32")
            for v, nf in zip(df[MP_LANDMARKS_COLUMN].tolist(), no_face, strict=True)
        ]
    return pd.DataFrame(out, index=pd.RangeIndex(len(df)))


def to_arrow(df: pd.DataFrame, *, metadata: dict[str, str] | None = None) -> pa.Table:
    """Convert a conformed frame table to Arrow with the canonical types and schema metadata."""
    fields = [pa.field(c, _arrow_type(c)) for c in df.columns]
    meta = {"facemind.schema_version": str(SCHEMA_VERSION)}
    meta.update(metadata or {})
    schema = pa.schema(fields, metadata={k: str(v) for k, v in meta.items()})
    arrays = []
    for field in fields:
        col = df[field.name]
        if field.name == MP_LANDMARKS_COLUMN:
            arrays.append(pa.array(col.tolist(), type=field.type))
        else:
            arrays.append(pa.array(col.to_numpy(), type=field.type, from_pandas=True))
    return pa.Table.from_arrays(arrays, schema=schema)


def write_frame_table(
    df: pd.DataFrame, path: str | Path, *, metadata: dict[str, str] | None = None
) -> Path:
    """Conform ``df`` and write it atomically as Parquet (zstd)."""
    table = to_arrow(conform(df, source=str(path)), metadata=metadata)
    p = Path(path)
    with atomic_path(p) as tmp:
        # Dictionary encoding does not pay off for continuous per-frame signals: without it
        # writes and reads are ~30% faster and files ~20% smaller.
        pq.write_table(table, tmp, compression="zstd", use_dictionary=False)
    return p


def read_frame_table(path: str | Path, columns: Iterable[str] | None = None) -> pd.DataFrame:
    """Read one frame table (optionally only some columns)."""
    p = Path(path)
    if not p.exists():
        raise InputError("frame table not found", file=str(p))
    try:
        table = pq.read_table(p, columns=list(columns) if columns is not None else None)
    except (pa.ArrowInvalid, OSError) as exc:
        raise InputError(f"cannot read frame table: {exc}", file=str(p)) from None
    return table.to_pandas()


def frame_table_metadata(path: str | Path) -> dict[str, str]:
    """Key-value metadata stored in a frame table's Parquet schema."""
    meta = pq.read_schema(path).metadata or {}
    return {k.decode(): v.decode() for k, v in meta.items()}
