"""Per-video extraction with MediaPipe: decode, find the face, derive the frame-table signals.

:func:`extract_video` returns the frame table (see :mod:`facemind.face.schema`) and a summary;
:func:`frame_row` turns one detection into the table's columns and is shared with still-image
analysis (:func:`analyze_image`).
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from . import geometry as g
from .aus import estimate_aus, geometry_features
from .landmarker import DEFAULT_MIN_CONFIDENCE, Detection, Landmarker
from .schema import (
    AU_NAMES,
    BLENDSHAPE_COLUMNS,
    MP_LANDMARKS_COLUMN,
    N_LANDMARKS,
)
from .video import VideoInfo, iter_frames, open_video

CROP_SIZE = 112


@dataclass(frozen=True)
class ExtractSettings:
    """Settings that change extraction output (part of the resume key)."""

    min_confidence: float = DEFAULT_MIN_CONFIDENCE
    save_crops: int = 0
    crop_size: int = CROP_SIZE

    def to_dict(self) -> dict[str, float | int]:
        return asdict(self)


@dataclass
class VideoResult:
    """Outcome of one video: the frame table (``None`` when decoding failed) and counts."""

    frames: pd.DataFrame | None
    info: VideoInfo | None
    n_frames: int = 0
    face_frames: int = 0
    status: str = "ok"
    error: str | None = None
    crops: list[tuple[int, np.ndarray]] = field(default_factory=list)


def frame_row(det: Detection, width: int, height: int) -> dict[str, object]:
    """Frame-table values (everything but frame/timestamp) for one detected face."""
    mesh_px = g.to_pixels(det.mesh, width, height)
    rotation = g.head_rotation(det.matrix)
    pitch, yaw, roll, tx, ty, tz = g.head_pose(det.matrix)
    left, right, ax, ay = g.gaze(mesh_px, rotation)
    aus = estimate_aus(det.blendshapes, geometry_features(mesh_px, rotation))
    pts = g.landmarks68(mesh_px)
    row: dict[str, object] = {
        "face_detected": True,
        # MediaPipe reports no per-face score; a face passing min_confidence counts as 1.
        "confidence": 1.0,
        "pose_pitch": pitch, "pose_yaw": yaw, "pose_roll": roll,
        "pose_tx": tx, "pose_ty": ty, "pose_tz": tz,
        "gaze_angle_x": ax, "gaze_angle_y": ay,
        "gaze_0_x": left[0], "gaze_0_y": left[1], "gaze_0_z": left[2],
        "gaze_1_x": right[0], "gaze_1_y": right[1], "gaze_1_z": right[2],
    }  # fmt: skip
    row.update(zip(AU_NAMES, aus.tolist(), strict=True))
    row.update({f"x_{i}": float(pts[i, 0]) for i in range(N_LANDMARKS)})
    row.update({f"y_{i}": float(pts[i, 1]) for i in range(N_LANDMARKS)})
    row.update(zip(BLENDSHAPE_COLUMNS, det.blendshapes.tolist(), strict=True))
    row[MP_LANDMARKS_COLUMN] = det.mesh.astype(np.float32).ravel()
    return row


def _frames_frame(rows: list[dict[str, object]]) -> pd.DataFrame:
    df = pd.DataFrame.from_records(rows)
    if MP_LANDMARKS_COLUMN not in df.columns:
        df[MP_LANDMARKS_COLUMN] = None
    return df


def aligned_crop(rgb: np.ndarray, det: Detection, size: int = CROP_SIZE) -> np.ndarray:
    """A ``size`` x ``size`` RGB face crop, eyes level (similarity warp, bilinear)."""
    from PIL import Image

    h, w = rgb.shape[:2]
    m = g.alignment_matrix(g.to_pixels(det.mesh, w, h), size)
    inv = np.linalg.inv(np.vstack([m, [0.0, 0.0, 1.0]]))[:2]  # crop -> image, as PIL wants
    img = Image.fromarray(rgb).transform(
        (size, size), Image.Transform.AFFINE, inv.ravel().tolist(), Image.Resampling.BILINEAR
    )
    return np.asarray(img)


def _crop_targets(n_face: int, k: int) -> list[int]:
    """Indices (into the face frames) of ``k`` evenly spaced crops."""
    if k <= 0 or n_face == 0:
        return []
    k = min(k, n_face)
    return sorted({int(round(x)) for x in np.linspace(0, n_face - 1, k)})


def extract_video(
    path: str | os.PathLike[str],
    landmarker_factory,
    settings: ExtractSettings = ExtractSettings(),
) -> VideoResult:
    """Run the landmarker over every frame of ``path``.

    ``landmarker_factory()`` returns a fresh VIDEO-mode :class:`Landmarker` (one per video, as
    MediaPipe's tracking state belongs to one stream). Decoding problems do not raise: they
    give ``status="failed"`` with the reason. Crops need the frames themselves, so when
    ``settings.save_crops`` is set a second decoding pass picks the chosen face frames.
    """
    from .video import DecodeError

    try:
        container, info = open_video(path)
    except (DecodeError, OSError) as exc:
        return VideoResult(None, None, status="failed", error=str(exc))
    rows: list[dict[str, object]] = []
    try:
        with container, landmarker_factory() as lm:
            for index, t, rgb in iter_frames(container):
                det = lm.detect(rgb, t)
                if det is None:
                    rows.append({"frame": index, "timestamp": t, "face_detected": False})
                    continue
                row = frame_row(det, rgb.shape[1], rgb.shape[0])
                row["frame"], row["timestamp"] = index, t
                rows.append(row)
    except DecodeError as exc:
        return VideoResult(None, info, n_frames=len(rows), status="failed", error=str(exc))
    n = len(rows)
    if n == 0:
        return VideoResult(None, info, status="failed", error="no frames could be decoded")
    df = _frames_frame(rows)
    face_frames = int(df["face_detected"].sum())
    result = VideoResult(df, info, n_frames=n, face_frames=face_frames)
    if face_frames == 0:
        result.status, result.error = "no_face", f"no face found in {n} frames"
    elif info.declared_frames and n < 0.9 * info.declared_frames:
        result.error = f"decoded {n} of {info.declared_frames} frames the container declares"
    if settings.save_crops and face_frames:
        result.crops = _collect_crops(path, df, landmarker_factory, settings)
    return result


def _collect_crops(path, df: pd.DataFrame, landmarker_factory, settings: ExtractSettings):
    face_idx = df.index[df["face_detected"]].to_numpy()
    wanted = {int(face_idx[i]) for i in _crop_targets(len(face_idx), settings.save_crops)}
    crops: list[tuple[int, np.ndarray]] = []
    container, _ = open_video(path)
    with container, landmarker_factory() as lm:
        for index, t, rgb in iter_frames(container):
            det = lm.detect(rgb, t)  # tracking must see every frame to reproduce the pass
            if index in wanted and det is not None:
                crops.append((index, aligned_crop(rgb, det, settings.crop_size)))
            if index >= max(wanted):
                break
    return crops


def analyze_image(image: np.ndarray | str | Path, landmarker: Landmarker) -> dict | None:
    """Frame-table values for one still image (IMAGE-mode landmarker); ``None`` if no face."""
    if not isinstance(image, np.ndarray):
        from PIL import Image

        with Image.open(image) as im:
            image = np.asarray(im.convert("RGB"))
    det = landmarker.detect(np.ascontiguousarray(image))
    if det is None:
        return None
    return frame_row(det, image.shape[1], image.shape[0])
