"""Per-video extraction with MediaPipe: decode, find the face, derive the frame-table signals.

:func:`extract_video` returns the frame table (see :mod:`facemind.face.schema`) and a summary.
The detections of a whole video become the table at once, in
:func:`facemind.face.signals.frame_table`, which still-image analysis (:func:`analyze_image`)
shares.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from . import geometry as g
from .landmarker import DEFAULT_MIN_CONFIDENCE, Detection, Landmarker
from .schema import BLENDSHAPE_NAMES, N_MP_LANDMARKS
from .signals import frame_table
from .video import VideoInfo, iter_frames, open_video

CROP_SIZE = 112


@dataclass(frozen=True)
class ExtractSettings:
    """Settings that change extraction output (part of the resume key)."""

    min_confidence: float = DEFAULT_MIN_CONFIDENCE
    save_crops: int = 0
    crop_size: int = CROP_SIZE
    au_calibration: str = "video"

    def to_dict(self) -> dict[str, float | int | str]:
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


def _detections_table(
    frames: list[int],
    times: list[float],
    dets: list[Detection | None],
    width: int,
    height: int,
    au_calibration: str,
) -> pd.DataFrame:
    """The frame table of detections collected frame by frame (``None``: no face)."""
    found = [d for d in dets if d is not None]
    return frame_table(
        np.asarray(frames, dtype=np.int64), np.asarray(times, dtype=np.float64),
        np.array([d is not None for d in dets], dtype=bool),
        np.array([d.mesh for d in found]).reshape(len(found), N_MP_LANDMARKS, 3),
        np.array([d.blendshapes for d in found]).reshape(len(found), len(BLENDSHAPE_NAMES)),
        np.array([d.matrix for d in found]).reshape(len(found), 4, 4),
        width, height, au_calibration,
    )  # fmt: skip


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
    frames: list[int] = []
    times: list[float] = []
    dets: list[Detection | None] = []
    size = (0, 0)
    try:
        with container, landmarker_factory() as lm:
            for index, t, rgb in iter_frames(container):
                dets.append(lm.detect(rgb, t))
                frames.append(index)
                times.append(t)
                size = (rgb.shape[1], rgb.shape[0])
    except DecodeError as exc:
        return VideoResult(None, info, n_frames=len(frames), status="failed", error=str(exc))
    n = len(frames)
    if n == 0:
        return VideoResult(None, info, status="failed", error="no frames could be decoded")
    df = _detections_table(frames, times, dets, *size, settings.au_calibration)
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
    """Frame-table values for one still image (IMAGE-mode landmarker); ``None`` if no face.

    A still has no video to calibrate against, so its AUs are absolute (``"none"``).
    """
    if not isinstance(image, np.ndarray):
        from PIL import Image

        with Image.open(image) as im:
            image = np.asarray(im.convert("RGB"))
    det = landmarker.detect(np.ascontiguousarray(image))
    if det is None:
        return None
    table = _detections_table([0], [0.0], [det], image.shape[1], image.shape[0], "none")
    return table.drop(columns=["frame", "timestamp"]).iloc[0].to_dict()
