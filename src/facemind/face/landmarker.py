"""The MediaPipe FaceLandmarker backend: the participant's face, 478 landmarks, blendshapes.

One :class:`Landmarker` serves one video (VIDEO mode keeps tracking state and needs strictly
increasing millisecond timestamps) or any number of still images (IMAGE mode). It runs on
the CPU and never uses the network (the model is a local file).

Other people in view: the participant is the largest and most central face when first seen
(:func:`start_score`), then the face nearest the previous one (:func:`follows`), never a jump
to another face. Videos are landmarked for one face, with MediaPipe's tracking (the face's
region follows its landmarks from frame to frame). The model bundle's own face detector
counts the faces once every ``FACE_COUNT_EVERY_S`` seconds of video and whenever the face is
found again after a loss; once it has counted more than one, it runs on every frame and the
other faces' boxes are blacked out in the image the landmarker sees (never the pixels
around the participant's face). The participant's face is thus landmarked from the same
pixels, with the same tracking, as if it were alone in the video, a single-face video pays
for one detector call a second, and one with others for a detector call and a masked copy
per frame. (Asking MediaPipe for several faces instead would make it detect in every frame
and drop its landmark tracking, which moves the landmarks by about a pixel.)
"""

from __future__ import annotations

import io
import os
import re
import sys
import tempfile
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .schema import BLENDSHAPE_NAMES, N_MP_LANDMARKS

DEFAULT_MIN_CONFIDENCE = 0.7
DEFAULT_MAX_FACES = 3
#: Seconds of video between two counts of the faces in view while one face is landmarked.
FACE_COUNT_EVERY_S = 1.0
#: Two MediaPipe faces overlapping by more than this (intersection over union) are one face.
SAME_FACE_IOU = 0.5
#: Other faces are masked over this many times their detector box (MediaPipe's landmark
#: region is about 1.5 face boxes); as much around the participant's face stays untouched.
MASK_SCALE = 1.5


@dataclass(frozen=True)
class Detection:
    """One face found in one frame."""

    mesh: np.ndarray  # (478, 3) normalized x, y (0-1 of width/height), z (scaled like x)
    blendshapes: np.ndarray  # (52,) scores 0-1 in BLENDSHAPE_NAMES order
    matrix: np.ndarray  # (4, 4) canonical face model -> camera, OpenGL axes, cm


def face_box(mesh: np.ndarray) -> np.ndarray:
    """(x0, y0, x1, y1) of a normalised mesh (k, >=2): its landmarks' bounding box."""
    xy = np.asarray(mesh, dtype=np.float64)[:, :2]
    return np.concatenate([xy.min(axis=0), xy.max(axis=0)])


def iou(a: np.ndarray, b: np.ndarray) -> float:
    """Intersection over union of two boxes (x0, y0, x1, y1)."""
    w = min(a[2], b[2]) - max(a[0], b[0])
    h = min(a[3], b[3]) - max(a[1], b[1])
    inter = max(w, 0.0) * max(h, 0.0)
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def distinct_faces(boxes: list[np.ndarray]) -> list[int]:
    """Indices of the boxes that are not a repeat (IoU > ``SAME_FACE_IOU``) of an earlier one."""
    kept: list[int] = []
    for i, b in enumerate(boxes):
        if all(iou(b, boxes[j]) <= SAME_FACE_IOU for j in kept):
            kept.append(i)
    return kept


def start_score(box: np.ndarray, aspect: float) -> float:
    """How much a face looks like the participant's when first seen: larger and more central.

    The box's area times one minus its centre's distance from the image centre as a share of
    the half diagonal (``aspect`` is width / height; boxes are normalised).
    """
    cx, cy = (box[0] + box[2]) / 2.0 - 0.5, (box[1] + box[3]) / 2.0 - 0.5
    off = np.hypot(cx * aspect, cy) / np.hypot(0.5 * aspect, 0.5)
    return float((box[2] - box[0]) * (box[3] - box[1]) * aspect * max(1.0 - off, 0.0))


def follows(box: np.ndarray, previous: np.ndarray, aspect: float) -> float | None:
    """Distance of ``box``'s centre from ``previous``'s, in face sizes; ``None`` beyond one.

    One face size (the larger side of ``previous``) is more than a face moves between two
    processed frames and less than the distance to another face beside it.
    """
    d = (box[:2] + box[2:] - previous[:2] - previous[2:]) / 2.0
    size = max((previous[2] - previous[0]) * aspect, previous[3] - previous[1], 1e-9)
    dist = float(np.hypot(d[0] * aspect, d[1])) / size
    return dist if dist < 1.0 else None


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
                kept = [
                    ln
                    for ln in tmp.read().splitlines(keepends=True)
                    if not _STARTUP_NOISE.match(ln)
                ]
                if kept:
                    os.write(2, b"".join(kept))
    finally:
        os.close(saved)


class Landmarker:
    """A configured MediaPipe FaceLandmarker; use as a context manager.

    After each :meth:`detect_into`, ``faces`` is the number of distinct faces seen in that
    frame (the participant's included; 1 or 0 while no other face has been counted, at most
    ``max_faces``) and ``faces_max`` the most in one frame so far. ``max_faces=1`` looks for
    no other face at all.
    """

    def __init__(
        self,
        model: str | os.PathLike[str] | bytes,
        *,
        video: bool = True,
        min_confidence: float = DEFAULT_MIN_CONFIDENCE,
        max_faces: int = DEFAULT_MAX_FACES,
    ) -> None:
        """``model`` is the ``.task`` file's path, or its bytes (no file read per video)."""
        if max_faces < 1:
            raise ValueError(f"max_faces must be 1 or more, got {max_faces}")
        self.video = video
        self.max_faces = max_faces
        self._min_confidence = min_confidence
        self._model = model if isinstance(model, bytes) else Path(model).read_bytes()
        # Stills: every face at once, the participant's chosen. Videos: one face, tracked.
        self._impl: Any = self._create(1 if video else max_faces)
        self._detector: Any = None
        self._next_count_s = 0.0
        self._masking = False  # other faces have been counted: detect and mask every frame
        self._box: np.ndarray | None = None  # the participant's box when last found
        self._last_ms = -1
        self._blend_order: bool | None = None  # whether scores come in BLENDSHAPE_NAMES order
        self.faces = 0
        self.faces_max = 0

    def _create(self, num_faces: int) -> Any:
        from mediapipe.tasks.python import BaseOptions, vision

        options = vision.FaceLandmarkerOptions(
            base_options=BaseOptions(model_asset_buffer=self._model),
            running_mode=vision.RunningMode.VIDEO if self.video else vision.RunningMode.IMAGE,
            num_faces=num_faces,
            min_face_detection_confidence=self._min_confidence,
            min_face_presence_confidence=self._min_confidence,
            min_tracking_confidence=self._min_confidence,
            output_face_blendshapes=True,
            output_facial_transformation_matrixes=True,
        )
        with startup_messages_dropped():
            return vision.FaceLandmarker.create_from_options(options)

    def _face_boxes(self, image: Any) -> list[np.ndarray]:
        """Normalised boxes of the distinct faces (at most ``max_faces``) the bundle's face
        detector finds in one image, most confident first."""
        from mediapipe.tasks.python import BaseOptions, vision

        if self._detector is None:
            with zipfile.ZipFile(io.BytesIO(self._model)) as bundle:
                tflite = bundle.read("face_detector.tflite")
            options = vision.FaceDetectorOptions(
                base_options=BaseOptions(model_asset_buffer=tflite),
                min_detection_confidence=self._min_confidence,
            )
            with startup_messages_dropped():
                self._detector = vision.FaceDetector.create_from_options(options)
        w, h = image.width, image.height
        found = sorted(
            self._detector.detect(image).detections, key=lambda d: -d.categories[0].score
        )
        boxes = [
            np.array(
                [
                    b.origin_x / w,
                    b.origin_y / h,
                    (b.origin_x + b.width) / w,
                    (b.origin_y + b.height) / h,
                ]
            )
            for b in (d.bounding_box for d in found)
        ]
        return [boxes[i] for i in distinct_faces(boxes)][: self.max_faces]

    def __enter__(self) -> Landmarker:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Release the graphs (idempotent)."""
        for name in ("_impl", "_detector"):
            graph = getattr(self, name)
            if graph is not None:
                graph.close()
                setattr(self, name, None)

    def detect(self, rgb: np.ndarray, timestamp_s: float = 0.0) -> Detection | None:
        """Find the participant's face in one RGB (or grey) uint8 frame; ``None``: none."""
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

    def _masked(self, rgb: np.ndarray, boxes: list[np.ndarray]) -> tuple[np.ndarray, int]:
        """The frame with every face but the participant's blacked out, and the face count.

        The participant's face is the one following its last box, or (first seen) the one
        with the best :func:`start_score`. Other boxes are enlarged ``MASK_SCALE`` times
        about their centre; the participant's box, enlarged as much, is never covered.
        """
        h, w = rgb.shape[:2]
        aspect = w / h
        mine = self._box
        if mine is None and boxes:
            mine = max(boxes, key=lambda b: start_score(b, aspect))
        others = [b for b in boxes if mine is None or follows(b, mine, aspect) is None]
        count = len(others) + (mine is not None and len(others) < len(boxes))
        if not others:
            return rgb, count
        out = rgb.copy()
        scale = np.array([w, h, w, h], dtype=np.float64)
        for b in others:
            x0, y0, x1, y1 = np.round(_enlarged(b) * scale).astype(int)
            out[max(y0, 0) : max(y1, 0), max(x0, 0) : max(x1, 0)] = 0
        if mine is not None:
            x0, y0, x1, y1 = np.round(_enlarged(mine) * scale).astype(int)
            ys, xs = slice(max(y0, 0), max(y1, 0)), slice(max(x0, 0), max(x1, 0))
            out[ys, xs] = rgb[ys, xs]
        return out, count

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
        rgb = np.ascontiguousarray(rgb)
        aspect = rgb.shape[1] / rgb.shape[0]
        image = mp.Image(image_format=mp.ImageFormat.SRGB, data=rgb)
        if not self.video:
            result = self._impl.detect(image)
            meshes = [np.array([(p.x, p.y, p.z) for p in f]) for f in result.face_landmarks]
            boxes = [face_box(m) for m in meshes]
            kept = distinct_faces(boxes)
            self.faces = len(kept)
            self.faces_max = max(self.faces_max, self.faces)
            if not kept:
                return False
            k = max(kept, key=lambda i: start_score(boxes[i], aspect))
            return self._write(result, k, meshes[k], mesh, blendshapes, matrix)
        ms = max(int(round(timestamp_s * 1000.0)), self._last_ms + 1)
        self._last_ms = ms
        counted = None
        if self.max_faces > 1 and (self._masking or timestamp_s >= self._next_count_s):
            self._next_count_s = timestamp_s + FACE_COUNT_EVERY_S
            boxes = self._face_boxes(image)
            self._masking = self._masking or len(boxes) > 1
            if self._masking:
                masked, counted = self._masked(rgb, boxes)
                if masked is not rgb:
                    image = mp.Image(image_format=mp.ImageFormat.SRGB, data=masked)
        result = self._impl.detect_for_video(image, ms)
        found = bool(result.face_landmarks)
        points = np.array([(p.x, p.y, p.z) for p in result.face_landmarks[0]]) if found else None
        if found and self.max_faces > 1 and self._box is not None:
            if follows(face_box(points), self._box, aspect) is None:
                # away from the participant's last place: someone else, unless alone in view
                if not self._masking:
                    counted = len(self._face_boxes(image))
                    self._masking = counted > 1
                found = not self._masking
        self.faces = int(found) if counted is None else max(counted, int(found))
        self.faces_max = max(self.faces_max, self.faces)
        if not found:
            return False
        self._box = face_box(points)
        return self._write(result, 0, points, mesh, blendshapes, matrix)

    def _write(
        self,
        result: Any,
        k: int,
        points: np.ndarray,
        mesh: np.ndarray,
        blendshapes: np.ndarray,
        matrix: np.ndarray | None,
    ) -> bool:
        mesh[...] = points
        categories = result.face_blendshapes[k]
        if self._blend_order is None:
            self._blend_order = tuple(c.category_name for c in categories) == BLENDSHAPE_NAMES
        if self._blend_order:
            blendshapes[...] = [c.score for c in categories]
        else:
            scores = {c.category_name: c.score for c in categories}
            blendshapes[...] = [scores.get(n, np.nan) for n in BLENDSHAPE_NAMES]
        if matrix is not None:
            matrix[...] = result.facial_transformation_matrixes[k]
        return True


def _enlarged(box: np.ndarray) -> np.ndarray:
    """``box`` enlarged ``MASK_SCALE`` times about its centre."""
    centre, half = (box[:2] + box[2:]) / 2.0, (box[2:] - box[:2]) * MASK_SCALE / 2.0
    return np.concatenate([centre - half, centre + half])
