"""The frame table of one video from MediaPipe's per-frame outputs, all frames at once.

Extraction collects each face frame's mesh, blendshapes and matrix; :func:`frame_table` turns
them into the columns of :mod:`facemind.face.schema` with array operations over frames: rigid
head pose (:mod:`facemind.face.pose`), gaze, AU intensities (calibrated on the video's own
face frames, :mod:`facemind.face.aus`), the 68 iBUG landmarks and the raw MediaPipe outputs.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa

from . import geometry as g
from .aus import CALIBRATIONS, estimate_aus, geometry_features
from .pose import fit_head, head_pose
from .schema import (
    AU_NAMES,
    BLENDSHAPE_COLUMNS,
    FACES_COLUMN,
    GAZE_COLUMNS,
    MP_LANDMARKS_COLUMN,
    N_LANDMARKS,
    N_MP_LANDMARKS,
    POSE_COLUMNS,
)

# Frames per block of the geometric work: bounds the temporary arrays (about 12 kB per frame
# each) for long videos while keeping every operation vectorised.
CHUNK = 2048


def _geometry(mesh: np.ndarray, width: int, height: int) -> tuple[np.ndarray, dict]:
    """Pose, gaze and 68 landmarks (columns of an (n, k) array) and the AU landmark measures."""
    mesh_px = np.asarray(mesh, dtype=np.float64) * np.array([width, height, width], dtype=float)
    fit = fit_head(mesh_px, width, height)
    # The iris offset is measured in the head's axes from apparent mesh points (apparent
    # rotation); OpenFace's gaze vectors are in camera axes (camera-axes rotation).
    eye0, eye1, ax, ay = g.gaze(mesh_px, fit.rotation, fit.camera)
    pts = g.landmarks68(mesh_px)
    values = np.column_stack(
        [head_pose(fit, width, height), ax, ay, eye0, eye1, pts[:, :, 0], pts[:, :, 1]]
    )
    # AU landmark measures de-rotate apparent points: the apparent rotation (fit.rotation).
    return values, geometry_features(fit.head_points(mesh_px))


def face_signals(
    mesh: np.ndarray, blendshapes: np.ndarray, width: int, height: int, au_calibration: str
) -> dict[str, np.ndarray]:
    """Signal columns (each (n,)) of ``n`` face frames: pose, gaze, AUs, 68 landmarks."""
    names = [*POSE_COLUMNS, *GAZE_COLUMNS]
    names += [f"x_{i}" for i in range(N_LANDMARKS)] + [f"y_{i}" for i in range(N_LANDMARKS)]
    parts = [_geometry(mesh[i : i + CHUNK], width, height) for i in range(0, len(mesh), CHUNK)]
    if not parts:
        parts = [_geometry(np.zeros((0, N_MP_LANDMARKS, 3)), width, height)]
    values = np.concatenate([v for v, _ in parts])
    features = {k: np.concatenate([f[k] for _, f in parts]) for k in parts[0][1]}
    cols = dict(zip(names, values.T, strict=True))
    aus = estimate_aus(blendshapes, features, au_calibration)
    cols.update(zip(AU_NAMES, aus.T, strict=True))
    return cols


def frame_table(
    frame: np.ndarray,
    timestamp: np.ndarray,
    face: np.ndarray,
    mesh: np.ndarray,
    blendshapes: np.ndarray,
    width: int,
    height: int,
    au_calibration: str = "video",
    faces: np.ndarray | None = None,
) -> pd.DataFrame:
    """The whole frame table of one video (schema of :mod:`facemind.face.schema`).

    ``frame`` (N,) int, ``timestamp`` (N,) seconds, ``face`` (N,) bool; ``mesh``
    (n_face, 478, 3) MediaPipe normalised landmarks and ``blendshapes`` (n_face, 52), one row
    per face frame in order. The head pose comes from the rigid fit, not from MediaPipe's
    transformation matrix (fitted to lips and jaw too). Rows without a face keep ``frame`` and
    ``timestamp`` and hold nulls elsewhere. ``au_calibration``: ``"video"`` (AUs relative to
    this video's neutral level) or ``"none"`` (absolute). ``faces`` (N,): the faces seen in
    each frame, the participant's included (column ``faces``, kept in rows without the
    participant's face; left out when not given).
    """
    if au_calibration not in CALIBRATIONS:
        raise ValueError(f"au_calibration must be one of {CALIBRATIONS}, not {au_calibration!r}")
    face = np.asarray(face, dtype=bool)
    n, n_face = len(face), int(face.sum())
    for name, rows in (("mesh", mesh), ("blendshapes", blendshapes)):
        if len(rows) != n_face:
            raise ValueError(f"{name} has {len(rows)} rows for {n_face} face frames")
    mesh = np.asarray(mesh, dtype=np.float64).reshape(n_face, N_MP_LANDMARKS, 3)
    blendshapes = np.asarray(blendshapes, dtype=np.float64).reshape(n_face, len(BLENDSHAPE_COLUMNS))
    signals = face_signals(mesh, blendshapes, width, height, au_calibration)
    signals["confidence"] = np.ones(n_face)  # MediaPipe gives no per-face score
    signals.update(zip(BLENDSHAPE_COLUMNS, blendshapes.T, strict=True))
    cols: dict[str, object] = {
        "frame": np.asarray(frame, dtype=np.int64),
        "timestamp": np.asarray(timestamp, dtype=np.float64),
        "face_detected": face,
    }
    if faces is not None:
        cols[FACES_COLUMN] = np.asarray(faces, dtype=np.int16)
    order = ["confidence", *POSE_COLUMNS, *GAZE_COLUMNS, *AU_NAMES]
    order += [f"x_{i}" for i in range(N_LANDMARKS)] + [f"y_{i}" for i in range(N_LANDMARKS)]
    for name in [*order, *BLENDSHAPE_COLUMNS]:
        full = np.full(n, np.nan)
        full[face] = signals[name]
        cols[name] = full
    flat = np.zeros((n, N_MP_LANDMARKS * 3), dtype=np.float32)
    flat[face] = mesh.reshape(n_face, N_MP_LANDMARKS * 3)
    # One float32 array per face row, None elsewhere, without a Python loop over frames.
    lists = pa.FixedSizeListArray.from_arrays(
        pa.array(flat.ravel()), N_MP_LANDMARKS * 3, mask=pa.array(~face)
    )
    cols[MP_LANDMARKS_COLUMN] = lists.to_pandas().to_numpy()
    return pd.DataFrame(cols, index=pd.RangeIndex(n))
