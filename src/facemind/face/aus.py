"""Action-unit intensity estimates (OpenFace's 0-5 scale) from MediaPipe outputs.

:data:`AU_MAP` is the one table that says where each AU comes from: MediaPipe blendshape
scores (0-1), a landmark measure of what FACS defines for the AU, or both. Landmark measures
are taken in the head's own axes (pose removed, see :mod:`facemind.face.pose`) and divided by
the inter-ocular distance, so they depend neither on head pose nor on image size.

Each channel's raw signal (blendshape mean, or ``direction`` x landmark measure) is turned into
an intensity ``clip(gain * (signal - neutral), 0, 5)``. ``neutral`` is the face's own neutral
level: with ``calibration="video"`` (as OpenFace does for videos) a low percentile of the
signal over the video's face frames, so a neutral face reads near 0 and differences between
people are expression, not anatomy; with ``"none"`` (still images) an absolute reference:
0 for blendshapes, the measure on MediaPipe's canonical (neutral) face for landmarks. Where an
AU has both channels, its intensity is their mean. Limits: docs/extraction.md.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from . import geometry as g
from .schema import AU_NAMES, BLENDSHAPE_NAMES

CALIBRATIONS = ("video", "none")
# Percentile of a blendshape score over a video's face frames taken as its neutral level.
NEUTRAL_PERCENTILE = 5.0
BLENDSHAPE_GAIN = 5.0  # a blendshape score of 1 is intensity 5 (E, maximal)


@dataclass(frozen=True)
class AUSource:
    """How one AU is estimated: blendshapes, a landmark measure, or both (averaged).

    ``gain`` is intensity points per unit of the landmark measure: 5 divided by the
    displacement (in inter-ocular distances) of a maximal (FACS level E) action. Several
    measures must all move (their intensities' minimum); ``neutral_percentile`` is the
    percentile of the video's landmark signal taken as the face's neutral level.
    """

    au: str
    facs: str
    blendshapes: tuple[str, ...] = ()
    geometry: tuple[str, ...] = ()
    gain: float = 0.0
    direction: int = 1
    neutral_percentile: float = 5.0
    note: str = ""

    @property
    def kind(self) -> str:
        """``"blendshape"``, ``"geometry"`` or ``"both"``."""
        if self.blendshapes and self.geometry:
            return "both"
        return "geometry" if self.geometry else "blendshape"


LID_E = 0.05  # displacement (inter-ocular distances) of a maximal lid action, about 4.5 mm
FACE_E = 0.1  # of a maximal action of brows, cheeks, nose, lips and chin, about 9 mm

AU_MAP: tuple[AUSource, ...] = (
    AUSource("AU01", "inner brow raiser", ("browInnerUp",)),
    AUSource("AU02", "outer brow raiser", ("browOuterUpLeft", "browOuterUpRight")),
    AUSource("AU04", "brow lowerer", ("browDownLeft", "browDownRight")),
    AUSource(
        "AU05", "upper lid raiser", ("eyeWideLeft", "eyeWideRight"), ("upper_lid",), 5 / LID_E,
        neutral_percentile=50.0,
        note="upper lid above the eye-corner line; neutral is the median (blinks lower the lid)",
    ),
    AUSource(
        "AU06", "cheek raiser", (), ("cheek",), 5 / FACE_E, -1,
        note="cheekSquint stays 0 in MediaPipe; infraorbital cheek rising towards the eye line",
    ),
    AUSource(
        "AU07", "lid tightener", ("eyeSquintLeft", "eyeSquintRight"), ("lower_lid",),
        5 / LID_E, -1, note="lower lid rising to the eye-corner line (closes from below)",
    ),
    AUSource(
        "AU09", "nose wrinkler", (), ("ala", "brow_inner"), 5 / FACE_E, -1,
        note="noseSneer stays 0; nostril wings rising AND inner brows lowered (AU10 lacks the "
        "latter)",
    ),
    AUSource("AU10", "upper lip raiser", ("mouthUpperUpLeft", "mouthUpperUpRight")),
    AUSource("AU12", "lip corner puller", ("mouthSmileLeft", "mouthSmileRight")),
    AUSource(
        "AU14", "dimpler", ("mouthDimpleLeft", "mouthDimpleRight"), ("corner_depth",),
        5 / FACE_E, note="lip corners pulled inwards: their depth behind the lip midline",
    ),
    AUSource(
        "AU15", "lip corner depressor", (), ("corner_drop",), 5 / FACE_E,
        neutral_percentile=50.0,
        note="mouthFrown does not follow FACS AU15; lip corners below the inner lips' middle; "
        "neutral is the median (smiles raise the corners)",
    ),
    AUSource(
        "AU17", "chin raiser", ("mouthShrugLower",), ("chin_lip",), 5 / FACE_E,
        note="lower lip pushed up from the chin (both move with the jaw, their distance not)",
    ),
    AUSource("AU20", "lip stretcher", ("mouthStretchLeft", "mouthStretchRight")),
    AUSource(
        "AU23", "lip tightener", (), ("lip_tight",), 5 / 0.3,
        note="mouthPress is AU24; red-lip height and mouth width shrinking (mean log ratio)",
    ),
    AUSource(
        "AU25", "lips part", (), ("lip_gap",), 5 / 0.3,
        note="no blendshape for parted lips without jaw drop; inner-lip gap / mouth width",
    ),
    AUSource("AU26", "jaw drop", ("jawOpen",)),
    AUSource("AU45", "blink", ("eyeBlinkLeft", "eyeBlinkRight")),
)  # fmt: skip

assert tuple(s.au for s in AU_MAP) == AU_NAMES, "AU_MAP must cover schema.AU_NAMES in order"

_BS_INDEX = {name: i for i, name in enumerate(BLENDSHAPE_NAMES)}
GEOMETRY_FEATURES = (
    "upper_lid", "lower_lid", "cheek", "ala", "brow_inner", "corner_depth", "corner_drop",
    "chin_lip", "lip_tight", "lip_gap",
)  # fmt: skip

# Mesh points (MediaPipe numbering) of the landmark measures.
_EYE_CORNERS = (g.RIGHT_EYE_OUTER, g.RIGHT_EYE_INNER, g.LEFT_EYE_INNER, g.LEFT_EYE_OUTER)
_UPPER_LIDS, _LOWER_LIDS = (159, 386), (145, 374)
_CHEEKS = (g.RIGHT_CHEEK, g.LEFT_CHEEK)
_ALAE = (129, 358)  # top of the nostril wings
_INNER_BROWS = (107, 336)
_CORNERS = (g.MOUTH_RIGHT, g.MOUTH_LEFT)
_LIP_OUTER_TOP, _LIP_OUTER_BOTTOM, _CHIN = 0, 17, 152


def geometry_features(head: np.ndarray) -> dict[str, np.ndarray]:
    """Landmark measures (each (n,)) from mesh points in the head's axes (n, >=468, 3).

    Axes as OpenFace's camera frame with the pose removed: x towards the image's right, y
    down, z away from the camera. All lengths are divided by the inter-ocular distance
    (outer eye corners); the eye-corner line is the rigid vertical reference.

    - ``upper_lid`` / ``lower_lid``: upper lid above / lower lid below the eye-corner line.
    - ``cheek``: infraorbital cheek point below the eye-corner line (smaller: AU06).
    - ``ala``: top of the nostril wings below the eye-corner line (smaller: AU09).
    - ``brow_inner``: inner brow ends above the eye-corner line (smaller: AU04, AU09).
    - ``corner_depth``: lip corners behind (deeper than) the lip midline (AU14).
    - ``corner_drop``: lip corners below the middle of the inner lips (halfway between the
      inner upper and lower lip): the lip line angled down at the corners (AU15). Opening the
      mouth lowers the lower lip more than the corners, so it makes this measure smaller
      (no AU15); measured from the upper lip alone, opening would read as AU15.
    - ``chin_lip``: chin below the lower lip's outer edge (larger: AU17).
    - ``lip_tight``: minus the mean log of red-lip height and mouth width (larger: AU23).
    - ``lip_gap``: inner-lip opening / mouth width (AU25).
    """
    h = np.asarray(head, dtype=np.float64)
    y, z = h[..., 1], h[..., 2]
    iod = np.maximum(np.linalg.norm(h[:, g.RIGHT_EYE_OUTER] - h[:, g.LEFT_EYE_OUTER], axis=1), 1e-9)
    eye_line = y[:, list(_EYE_CORNERS)].mean(axis=1)
    mid_top, mid_bottom = y[:, g.LIP_INNER_TOP], y[:, g.LIP_INNER_BOTTOM]
    mouth = np.maximum(np.linalg.norm(h[:, g.MOUTH_RIGHT] - h[:, g.MOUTH_LEFT], axis=1), 1e-9)
    red_lip = (y[:, g.LIP_INNER_TOP] - y[:, _LIP_OUTER_TOP]) + (
        y[:, _LIP_OUTER_BOTTOM] - y[:, g.LIP_INNER_BOTTOM]
    )
    mid_z = (z[:, _LIP_OUTER_TOP] + z[:, _LIP_OUTER_BOTTOM]) / 2.0
    feats = {
        "upper_lid": eye_line - y[:, list(_UPPER_LIDS)].mean(axis=1),
        "lower_lid": y[:, list(_LOWER_LIDS)].mean(axis=1) - eye_line,
        "cheek": y[:, list(_CHEEKS)].mean(axis=1) - eye_line,
        "ala": y[:, list(_ALAE)].mean(axis=1) - eye_line,
        "brow_inner": eye_line - y[:, list(_INNER_BROWS)].mean(axis=1),
        "corner_depth": z[:, list(_CORNERS)].mean(axis=1) - mid_z,
        "corner_drop": y[:, list(_CORNERS)].mean(axis=1) - (mid_top + mid_bottom) / 2.0,
        "chin_lip": y[:, _CHIN] - y[:, _LIP_OUTER_BOTTOM],
    }
    out = {k: v / iod for k, v in feats.items()}
    out["lip_tight"] = -0.5 * (
        np.log(np.maximum(red_lip / iod, 1e-3)) + np.log(np.maximum(mouth / iod, 1e-3))
    )
    out["lip_gap"] = (mid_bottom - mid_top) / mouth
    return out


@lru_cache(maxsize=1)
def canonical_features() -> dict[str, float]:
    """The landmark measures on MediaPipe's canonical face: the absolute neutral reference."""
    from .pose import canonical_face

    return {k: float(v[0]) for k, v in geometry_features(canonical_face()[None]).items()}


def _intensity(signal: np.ndarray, gain: float, neutral: float | np.ndarray) -> np.ndarray:
    return np.clip(gain * (signal - neutral), 0.0, 5.0)


def _neutral(signal: np.ndarray, calibration: str, absolute: float, percentile: float) -> float:
    if calibration == "video" and len(signal):
        return float(np.percentile(signal, percentile))
    return absolute


def estimate_aus(
    blendshapes: np.ndarray,
    features: dict[str, np.ndarray],
    calibration: str = "video",
    sources: tuple[AUSource, ...] = AU_MAP,
) -> np.ndarray:
    """AU intensities (n, len(sources); 0-5) of ``n`` face frames of one face.

    ``blendshapes`` (n, 52), ``features`` from :func:`geometry_features`. With
    ``calibration="video"`` the neutral levels come from these ``n`` frames (pass all face
    frames of a video at once); with ``"none"`` every frame stands alone. ``sources``: how
    each AU is estimated (default :data:`AU_MAP`, the ``AU_NAMES`` order; others are for
    comparing alternatives).
    """
    if calibration not in CALIBRATIONS:
        raise ValueError(f"au_calibration must be one of {CALIBRATIONS}, not {calibration!r}")
    bs = np.asarray(blendshapes, dtype=np.float64).reshape(-1, len(BLENDSHAPE_NAMES))
    ref = canonical_features()
    out = np.empty((len(bs), len(sources)), dtype=np.float64)
    for i, src in enumerate(sources):
        parts = []
        if src.blendshapes:
            signal = bs[:, [_BS_INDEX[n] for n in src.blendshapes]].mean(axis=1)
            neutral = _neutral(signal, calibration, 0.0, NEUTRAL_PERCENTILE)
            parts.append(_intensity(signal, BLENDSHAPE_GAIN, neutral))
        if src.geometry:
            each = []
            for name in src.geometry:
                signal = src.direction * np.asarray(features[name], dtype=np.float64)
                absolute = src.direction * ref[name]
                neutral = _neutral(signal, calibration, absolute, src.neutral_percentile)
                each.append(_intensity(signal, src.gain, neutral))
            parts.append(np.min(each, axis=0))
        out[:, i] = np.mean(parts, axis=0)
    return out
