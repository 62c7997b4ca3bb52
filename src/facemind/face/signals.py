"""The frame table of one video from the landmarker's raw outputs, built column-wise."""

from __future__ import annotations

import numpy as np
import pandas as pd

from .schema import MP_LANDMARKS_COLUMN


def frame_table(
    frame: np.ndarray,
    timestamp: np.ndarray,
    face: np.ndarray,
    mesh: np.ndarray,
    blendshapes: np.ndarray,
    matrices: np.ndarray,
    width: int,
    height: int,
    au_calibration: str = "video",
) -> pd.DataFrame:
    """The whole frame table of one video (see :mod:`facemind.face.schema`).

    ``frame`` (N,) int, ``timestamp`` (N,) seconds, ``face`` (N,) bool; ``mesh``
    (n_face, 478, 3) MediaPipe normalised image coordinates, ``blendshapes`` (n_face, 52)
    and ``matrices`` (n_face, 4, 4) of the face frames in order. Signals are derived one
    face frame at a time with absolute AU values (``au_calibration`` is accepted, unused).
    """
    from .extract import frame_row
    from .landmarker import Detection

    face = np.asarray(face, dtype=bool)
    rows = [
        frame_row(
            Detection(
                np.asarray(mesh[i], dtype=np.float64),
                np.asarray(blendshapes[i], dtype=np.float64),
                np.asarray(matrices[i], dtype=np.float64),
            ),
            width,
            height,
        )
        for i in range(int(face.sum()))
    ]
    columns = {
        "frame": np.asarray(frame, dtype=np.int64),
        "timestamp": np.asarray(timestamp, dtype=np.float64),
        "face_detected": face,
    }
    where = np.flatnonzero(face)
    for key in rows[0] if rows else ():
        if key == "face_detected":
            continue
        values = [r[key] for r in rows]
        if key == MP_LANDMARKS_COLUMN:
            col = np.full(len(face), None, dtype=object)
            for i, v in zip(where, values, strict=True):
                col[i] = v
        else:
            col = np.full(len(face), np.nan)
            col[where] = values
        columns[key] = col
    if not rows:
        columns[MP_LANDMARKS_COLUMN] = np.full(len(face), None, dtype=object)
    return pd.DataFrame(columns)
