"""The MediaPipe FaceLandmarker backend: one face, 478 landmarks, blendshapes, head matrix.

One :class:`Landmarker` serves one video (VIDEO mode keeps tracking state and needs strictly
increasing millisecond timestamps) or any number of still images (IMAGE mode). It runs on
the CPU and never uses the network (the model is a local file).
"""

from __future__ import annotations

import os
import re
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .schema import BLENDSHAPE_NAMES, N_MP_LANDMARKS

DEFAULT_MIN_CONFIDENCE = 0.7


@dataclass(frozen=True)
class Detection:
    """One face found in one frame."""

    mesh: np.ndarray  # (478, 3) normalized x, y (0-1 of width/height), z (scaled like x)
    blendshapes: np.ndarray  # (52,) scores 0-1 in BLENDSHAPE_NAMES order
    matrix: np.ndarray  # (4, 4) canonical face model -> camera, OpenGL axes, cm


def backend_version() -> str:
    """``mediapipe <version>``."""
    import mediapipe

    return f"mediapipe {mediapipe.__version__}"


#: What MediaPipe's C++ side prints each time a landmarker starts (absl INFO/WARNING lines,
#: TensorFlow Lite's delegate notice): three or four lines per video, noise in a batch log.
_STARTUP_NOISE = re.compile(
    rb"^([IW]\d{4} \d\d:\d\d:|INFO: Created TensorFlow Lite|"
    rb"WARNING: All log messages before absl::InitializeLog)"
)


@contextmanager
def startup_messages_dropped() -> Iterator[None]:
    """Drop MediaPipe's start-up notices from file descriptor 2; pass everything else on.

    The C++ code writes to the descriptor directly, so it is pointed at a temporary file for
    the duration and the file's lines, less the notices, are written back afterwards (errors
    and anything other threads wrote meanwhile come out, a few milliseconds late).
    """
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with tempfile.TemporaryFile() as tmp:
            os.dup2(tmp.fileno(), 2)
            try:
                yield
            finally:
                sys.stderr.flush()
                os.dup2(saved, 2)
                tmp.seek(0)
                kept = [ln for ln in tmp.read().splitlines(keepends=True)
                        if not _STARTUP_NOISE.match(ln)]  # fmt: skip
                if kept:
                    os.write(2, b"".join(kept))
    finally:
        os.close(saved)


class Landmarker:
    """A configured MediaPipe FaceLandmarker; use as a context manager."""

    def __init__(
        self,
        model: str | os.PathLike[str] | bytes,
        *,
        video: bool = True,
        min_confidence: float = DEFAULT_MIN_CONFIDENCE,
    ) -> None:
        """``model`` is the ``.task`` file's path, or its bytes (no file read per video)."""
        from mediapipe.tasks.python import BaseOptions, vision

        self.video = video
        base = (
            BaseOptions(model_asset_buffer=model)
            if isinstance(model, bytes)
            else BaseOptions(model_asset_path=str(Path(model)))
        )
        options = vision.FaceLandmarkerOptions(
            base_options=base,
            running_mode=vision.RunningMode.VIDEO if video else vision.RunningMode.IMAGE,
            num_faces=1,
            min_face_detection_confidence=min_confidence,
            min_face_presence_confidence=min_confidence,
            min_tracking_confidence=min_confidence,
            output_face_blendshapes=True,
            output_facial_transformation_matrixes=True,
        )
        with startup_messages_dropped():
            self._impl: Any = vision.FaceLandmarker.create_from_options(options)
        self._last_ms = -1
        self._blend_order: bool | None = None  # whether scores come in BLENDSHAPE_NAMES order

    def __enter__(self) -> Landmarker:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Release the graph (idempotent)."""
        if self._impl is not None:
            self._impl.close()
            self._impl = None

    def detect(self, rgb: np.ndarray, timestamp_s: float = 0.0) -> Detection | None:
        """Find the face in one RGB (or grey) uint8 frame; ``None`` when there is none."""
        mesh = np.empty((N_MP_LANDMARKS, 3), np.float32)
        blend = np.empty(len(BLENDSHAPE_NAMES), np.float32)
        matrix = np.empty((4, 4), np.float32)
        if not self.detect_into(rgb, timestamp_s, mesh, blend, matrix):
            return None
        return Detection(
            mesh=mesh.astype(np.float64),
            blendshapes=blend.astype(np.float64),
            matrix=matrix.astype(np.float64),
        )

    def detect_into(
        self,
        rgb: np.ndarray,
        timestamp_s: float,
        mesh: np.ndarray,
        blendshapes: np.ndarray,
        matrix: np.ndarray | None = None,
    ) -> bool:
        """Like :meth:`detect`, writing the face into the given arrays; ``False``: no face.

        ``mesh`` (478, 3), ``blendshapes`` (52,) and ``matrix`` (4, 4; MediaPipe's own head
        transformation, written only when given) are float32 views, for instance rows of a
        video's preallocated outputs; MediaPipe's values are float32, so
        nothing is lost. In VIDEO mode the millisecond timestamp is made strictly increasing.
        """
        import mediapipe as mp

        if rgb.ndim == 2:
            rgb = np.repeat(rgb[:, :, None], 3, axis=2)
        elif rgb.shape[2] == 4:
            rgb = rgb[:, :, :3]
        image = mp.Image(image_format=mp.ImageFormat.SRGB, data=np.ascontiguousarray(rgb))
        if self.video:
            ms = max(int(round(timestamp_s * 1000.0)), self._last_ms + 1)
            self._last_ms = ms
            result = self._impl.detect_for_video(image, ms)
        else:
            result = self._impl.detect(image)
        if not result.face_landmarks:
            return False
        mesh[...] = [(p.x, p.y, p.z) for p in result.face_landmarks[0]]
        categories = result.face_blendshapes[0]
        if self._blend_order is None:
            self._blend_order = tuple(c.category_name for c in categories) == BLENDSHAPE_NAMES
        if self._blend_order:
            blendshapes[...] = [c.score for c in categories]
        else:
            scores = {c.category_name: c.score for c in categories}
            blendshapes[...] = [scores.get(n, np.nan) for n in BLENDSHAPE_NAMES]
        if matrix is not None:
            matrix[...] = result.facial_transformation_matrixes[0]
        return True
