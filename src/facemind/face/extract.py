"""Per-video extraction with MediaPipe: decode, find the face, derive the frame-table signals.

:func:`extract_video` runs the landmarker over one video in a single decoding pass: its raw
outputs go into arrays grown in chunks (no per-frame Python objects), crops are cut from the
chosen face frames as they pass, and :func:`~facemind.face.signals.frame_table` turns the
arrays into the frame table (see :mod:`facemind.face.schema`) once per video.
:func:`analyze_image` does the same for one still image.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import ParameterError, check_choice
from . import geometry as g
from .aus import CALIBRATIONS
from .landmarker import DEFAULT_MAX_FACES, DEFAULT_MIN_CONFIDENCE, Detection, Landmarker
from .layout import CROP_SIZE
from .schema import (
    BLENDSHAPE_NAMES,
    N_MP_LANDMARKS,
)
from .signals import frame_table
from .video import VideoInfo, iter_frames, open_video


@dataclass(frozen=True)
class ExtractSettings:
    """Settings that change extraction output (part of the resume key).

    ``sample_fps``: process about that many frames per second of presentation time (``None``:
    every frame). ``au_calibration``: ``video`` measures each AU against the video's own
    neutral reference, ``none`` keeps absolute values. ``max_faces``: faces looked for in a
    frame, the participant's among them (see :mod:`facemind.face.landmarker`).
    """

    min_confidence: float = DEFAULT_MIN_CONFIDENCE
    save_crops: int = 0
    crop_size: int = CROP_SIZE
    sample_fps: float | None = None
    au_calibration: str = "video"
    max_faces: int = DEFAULT_MAX_FACES

    def __post_init__(self) -> None:
        if not 0.0 <= self.min_confidence <= 1.0:
            raise ParameterError(f"`min_confidence` must be in [0, 1], got {self.min_confidence}")
        if self.save_crops < 0:
            raise ParameterError(f"`save_crops` must be 0 or more, got {self.save_crops}")
        if self.sample_fps is not None and not self.sample_fps > 0:
            raise ParameterError(f"`sample_fps` must be positive, got {self.sample_fps}")
        check_choice("au_calibration", self.au_calibration, CALIBRATIONS)
        if self.max_faces < 1:
            raise ParameterError(f"`max_faces` must be 1 or more, got {self.max_faces}")

    def landmarker(self, model: str | os.PathLike[str] | bytes) -> Landmarker:
        """A fresh VIDEO-mode landmarker with these settings."""
        return Landmarker(model, min_confidence=self.min_confidence, max_faces=self.max_faces)

    def to_dict(self) -> dict[str, float | int | str | None]:
        return asdict(self)


@dataclass
class VideoResult:
    """Outcome of one video: the frame table (``None`` when decoding failed) and counts.

    ``n_frames`` counts the rows of the table (the frames used), ``decoded`` every frame
    decoded; ``duration`` is the decoded length in seconds. ``faces_max`` is the most faces
    seen in one frame, ``other_face_frames`` the frames showing a face other than the
    participant's (see :mod:`facemind.face.landmarker`).
    """

    frames: pd.DataFrame | None
    info: VideoInfo | None
    n_frames: int = 0
    face_frames: int = 0
    status: str = "ok"
    error: str | None = None
    crops: list[tuple[int, np.ndarray]] = field(default_factory=list)
    decoded: int = 0
    duration: float | None = None
    faces_max: int = 0
    other_face_frames: int = 0


def aligned_crop(
    rgb: np.ndarray, face: Detection | np.ndarray, size: int = CROP_SIZE
) -> np.ndarray:
    """A ``size`` x ``size`` RGB face crop, eyes level (similarity warp, bilinear).

    ``face`` is a detection or its normalised mesh (478, 3).
    """
    from PIL import Image

    mesh = face.mesh if isinstance(face, Detection) else np.asarray(face, dtype=np.float64)
    h, w = rgb.shape[:2]
    m = g.alignment_matrix(g.to_pixels(mesh, w, h), size)
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


#: Rows by which a video's output arrays grow (at least; they grow by half their size).
CHUNK = 256


class _Outputs:
    """The landmarker's raw outputs for one video, in arrays grown in chunks."""

    def __init__(self) -> None:
        self.n = 0
        self.n_face = 0
        self.frame = np.empty(CHUNK, np.int64)
        self.timestamp = np.empty(CHUNK, np.float64)
        self.face = np.empty(CHUNK, bool)
        self.faces = np.empty(CHUNK, np.int16)
        self.mesh = np.empty((CHUNK, N_MP_LANDMARKS, 3), np.float32)
        self.blendshapes = np.empty((CHUNK, len(BLENDSHAPE_NAMES)), np.float32)

    @staticmethod
    def _grown(a: np.ndarray, used: int) -> np.ndarray:
        bigger = np.empty((len(a) + max(CHUNK, len(a) // 2), *a.shape[1:]), a.dtype)
        bigger[:used] = a[:used]
        return bigger

    def face_slot(self) -> int:
        """The row the next face's outputs go to (room is made for it)."""
        if self.n_face == len(self.mesh):
            self.mesh = self._grown(self.mesh, self.n_face)
            self.blendshapes = self._grown(self.blendshapes, self.n_face)
        return self.n_face

    def add(self, index: int, t: float, found: bool, faces: int) -> None:
        """Record one processed frame (its face, if found, is in row :meth:`face_slot`) and
        the number of faces seen in it."""
        if self.n == len(self.frame):
            self.frame = self._grown(self.frame, self.n)
            self.timestamp = self._grown(self.timestamp, self.n)
            self.face = self._grown(self.face, self.n)
            self.faces = self._grown(self.faces, self.n)
        self.frame[self.n], self.timestamp[self.n], self.face[self.n] = index, t, found
        self.faces[self.n] = faces
        self.n += 1
        self.n_face += found

    def table(self, width: int, height: int, au_calibration: str) -> pd.DataFrame:
        n, f = self.n, self.n_face
        return frame_table(
            self.frame[:n],
            self.timestamp[:n],
            self.face[:n],
            self.mesh[:f],
            self.blendshapes[:f],
            width,
            height,
            au_calibration=au_calibration,
            faces=self.faces[:n],
        )


class _CropKeeper:
    """Keeps the crops that :func:`_crop_targets` will choose, in the same decoding pass.

    The number of face frames is known only at the end, so crops of every ``stride``-th face
    frame are kept (and the last face frame's image); when more than ``capacity`` are kept
    the stride doubles and every other crop goes. Memory is bounded; while a video has at
    most ``capacity`` face frames the chosen frames are exactly the evenly spaced ones, after
    that each is the nearest kept one (within ``stride / 2`` face frames).
    """

    def __init__(self, k: int, size: int, capacity: int = 128) -> None:
        self.k, self.size = k, size
        self.capacity = max(capacity, 4 * k)
        self.stride = 1
        self.kept: dict[int, tuple[int, np.ndarray]] = {}
        self.last: tuple[int, int, np.ndarray, np.ndarray] | None = None

    def offer(self, ordinal: int, index: int, rgb: np.ndarray, mesh: np.ndarray) -> None:
        """Face frame number ``ordinal`` (stream index ``index``) has passed."""
        self.last = (ordinal, index, rgb, mesh.copy())
        if ordinal % self.stride:
            return
        self.kept[ordinal] = (index, aligned_crop(rgb, mesh, self.size))
        if len(self.kept) > self.capacity:
            self.stride *= 2
            self.kept = {o: v for o, v in self.kept.items() if o % self.stride == 0}

    def crops(self, n_face: int) -> list[tuple[int, np.ndarray]]:
        """``(frame index, crop)`` of the chosen face frames, in frame order."""
        if self.last is not None and self.last[0] not in self.kept:
            o, index, rgb, mesh = self.last
            self.kept[o] = (index, aligned_crop(rgb, mesh, self.size))
        if not self.kept:
            return []
        have = np.array(sorted(self.kept))
        chosen = {int(have[np.argmin(np.abs(have - t))]) for t in _crop_targets(n_face, self.k)}
        return [self.kept[o] for o in sorted(chosen)]


def _short_of_declared(decoded: int, last_t: float, info: VideoInfo) -> str | None:
    """How far decoding fell short of the container's declared end, or ``None``.

    Time is compared when the container declares a duration (frame counts can include
    frames a decoder drops legitimately); a gap of over 2 frames and 2% counts.
    """
    step = 1.0 / info.fps if info.fps else 1.0 / 30.0
    declared = f"{decoded} of {info.declared_frames} frames" if info.declared_frames else ""
    if info.duration:
        decoded_s = last_t + step if decoded else 0.0
        if info.duration - decoded_s > max(2 * step, 0.02 * info.duration):
            extra = f" ({declared})" if declared else ""
            return f"decoded {decoded_s:.2f} s of the {info.duration:.2f} s the container declares{extra}"
        return None
    if info.declared_frames:
        if info.declared_frames - decoded > max(2, 0.02 * info.declared_frames):
            return f"decoded {declared} the container declares"
    return None


def extract_video(
    path: str | os.PathLike[str],
    landmarker_factory,
    settings: ExtractSettings = ExtractSettings(),
) -> VideoResult:
    """Run the landmarker over the frames of ``path`` (every frame, or ``settings.sample_fps``).

    ``landmarker_factory()`` returns a fresh VIDEO-mode :class:`Landmarker` (one per video, as
    MediaPipe's tracking state belongs to one stream). Decoding problems do not raise: a
    video that cannot be opened or gives no frame is ``failed``; one whose decoding stops
    before the container's declared end is ``partial``, with the frames decoded until then.
    """
    from .video import DecodeError

    try:
        container, info = open_video(path)
    except (DecodeError, OSError) as exc:
        return VideoResult(None, None, status="failed", error=str(exc))
    out = _Outputs()
    keeper = _CropKeeper(settings.save_crops, settings.crop_size) if settings.save_crops else None
    decoded, last_t, size = 0, 0.0, (info.width, info.height)
    stopped: str | None = None
    try:
        with container, landmarker_factory() as lm:
            for index, t, rgb in iter_frames(container, settings.sample_fps):
                decoded, last_t = index + 1, t
                if rgb is None:
                    continue
                size = (rgb.shape[1], rgb.shape[0])
                slot = out.face_slot()
                found = lm.detect_into(rgb, t, out.mesh[slot], out.blendshapes[slot])
                if found and keeper is not None:
                    keeper.offer(slot, index, rgb, out.mesh[slot])
                out.add(index, t, found, lm.faces)
    except DecodeError as exc:
        stopped = str(exc)
    if out.n == 0:
        error = stopped or "no frames could be decoded"
        return VideoResult(None, info, status="failed", error=error, decoded=decoded)
    df = out.table(size[0], size[1], settings.au_calibration)
    step = 1.0 / info.fps if info.fps else 0.0
    faces = out.faces[: out.n]
    result = VideoResult(
        df,
        info,
        n_frames=out.n,
        face_frames=out.n_face,
        decoded=decoded,
        duration=last_t + step,
        faces_max=int(faces.max()),
        other_face_frames=int(np.count_nonzero(faces > out.face[: out.n])),
    )
    short = _short_of_declared(decoded, last_t, info)
    if stopped is not None:
        detail = f"{short}; {stopped}" if short else stopped
        result.status, result.error = "partial", f"kept the frames before the break: {detail}"
    elif short is not None:
        result.status, result.error = "partial", f"{short}; the file ends early"
    if out.n_face == 0:
        note = f"no face found in {out.n} frames"
        result.status, result.error = "no_face", f"{note}; {result.error}" if result.error else note
    if keeper is not None and out.n_face:
        result.crops = keeper.crops(out.n_face)
    return result


def analyze_image(image: np.ndarray | str | Path, landmarker: Landmarker) -> dict | None:
    """Frame-table values for one still image (IMAGE-mode landmarker); ``None`` if no face.

    Still images keep absolute AU values (there is no video to calibrate against).
    """
    if not isinstance(image, np.ndarray):
        from PIL import Image

        with Image.open(image) as im:
            image = np.asarray(im.convert("RGB"))
    image = np.ascontiguousarray(image)
    mesh = np.empty((1, N_MP_LANDMARKS, 3), np.float32)
    blend = np.empty((1, len(BLENDSHAPE_NAMES)), np.float32)
    if not landmarker.detect_into(image, 0.0, mesh[0], blend[0]):
        return None
    table = frame_table(
        np.zeros(1, np.int64),
        np.zeros(1),
        np.ones(1, bool),
        mesh,
        blend,
        image.shape[1],
        image.shape[0],
        au_calibration="none",
    )
    row = table.iloc[0].to_dict()
    del row["frame"], row["timestamp"]
    return row
