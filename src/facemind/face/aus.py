"""Action-unit intensity estimates (OpenFace's 0-5 scale) from MediaPipe outputs.

:data:`AU_MAP` is the one table that says where each AU comes from: a blendshape score
(0-1) or a landmark-geometry ratio. Each estimate is
``clip(gain * direction * (value - reference), 0, 5)``, where ``value`` is the mean of the
listed blendshapes (left and right) or the named geometry ratio. The geometry ratios are
measured in the head's own axes (pose removed) and divided by the inter-ocular distance or
the mouth width, so they do not depend on image size. Limits: docs/extraction.md.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from . import geometry as g
from .schema import AU_NAMES, BLENDSHAPE_NAMES


@dataclass(frozen=True)
class AUSource:
    """How one AU is estimated."""

    au: str
    facs: str
    kind: Literal["blendshape", "geometry"]
    inputs: tuple[str, ...]
    gain: float = 5.0
    reference: float = 0.0
    direction: int = 1
    note: str = ""


AU_MAP: tuple[AUSource, ...] = (
    AUSource("AU01", "inner brow raiser", "blendshape", ("browInnerUp",)),
    AUSource("AU02", "outer brow raiser", "blendshape", ("browOuterUpLeft", "browOuterUpRight")),
    AUSource("AU04", "brow lowerer", "blendshape", ("browDownLeft", "browDownRight")),
    AUSource("AU05", "upper lid raiser", "blendshape", ("eyeWideLeft", "eyeWideRight")),
    AUSource(
        "AU06", "cheek raiser", "geometry", ("cheek_gap",), gain=167.0, reference=0.335,
        direction=-1,
        note="cheekSquint stays 0 in MediaPipe; the cheek surface rising towards the lower lid",
    ),
    AUSource("AU07", "lid tightener", "blendshape", ("eyeSquintLeft", "eyeSquintRight")),
    AUSource(
        "AU09", "nose wrinkler", "geometry", ("ala_eye",), gain=62.5, reference=0.41,
        direction=-1,
        note="noseSneer stays 0 in MediaPipe; the nostril wings rising towards the eyes",
    ),
    AUSource("AU10", "upper lip raiser", "blendshape", ("mouthUpperUpLeft", "mouthUpperUpRight")),
    AUSource("AU12", "lip corner puller", "blendshape", ("mouthSmileLeft", "mouthSmileRight")),
    AUSource("AU14", "dimpler", "blendshape", ("mouthDimpleLeft", "mouthDimpleRight")),
    AUSource("AU15", "lip corner depressor", "blendshape", ("mouthFrownLeft", "mouthFrownRight")),
    AUSource("AU17", "chin raiser", "blendshape", ("mouthShrugLower",)),
    AUSource("AU20", "lip stretcher", "blendshape", ("mouthStretchLeft", "mouthStretchRight")),
    AUSource(
        "AU23", "lip tightener", "blendshape", ("mouthPressLeft", "mouthPressRight"),
        note="mouthPress is closer to AU24 (lip pressor); the nearest channel there is",
    ),
    AUSource(
        "AU25", "lips part", "geometry", ("lip_gap",), gain=16.7, reference=0.02,
        note="no blendshape for parted lips without jaw drop",
    ),
    AUSource("AU26", "jaw drop", "blendshape", ("jawOpen",)),
    AUSource("AU45", "blink", "blendshape", ("eyeBlinkLeft", "eyeBlinkRight")),
)  # fmt: skip

assert tuple(s.au for s in AU_MAP) == AU_NAMES, "AU_MAP must cover schema.AU_NAMES in order"

_BS_INDEX = {name: i for i, name in enumerate(BLENDSHAPE_NAMES)}
GEOMETRY_FEATURES = ("cheek_gap", "ala_eye", "lip_gap")


def geometry_features(mesh_px: np.ndarray, rotation: np.ndarray) -> dict[str, float]:
    """Pose-free landmark ratios used by the geometric AU estimates.

    - ``cheek_gap``: vertical distance from the lower eyelid to the cheek (malar) point,
      both eyes averaged, / inter-ocular distance; smaller when the cheeks rise (AU06).
    - ``ala_eye``: vertical distance from the inner eye corner to the top of the nostril
      wing / inter-ocular distance; smaller when the nose wrinkles (AU09).
    - ``lip_gap``: inner-lip opening / mouth width; larger when the lips part (AU25).
    """
    hp = mesh_px @ rotation  # each row is R^T p: coordinates in the head's axes
    iod = max(float(np.linalg.norm(hp[g.RIGHT_EYE_OUTER] - hp[g.LEFT_EYE_OUTER])), 1e-6)
    cheek = (hp[g.RIGHT_CHEEK, 1] - hp[g.RIGHT_EYE_LOWER, 1]) + (
        hp[g.LEFT_CHEEK, 1] - hp[g.LEFT_EYE_LOWER, 1]
    )
    ala = (hp[129, 1] - hp[g.RIGHT_EYE_INNER, 1]) + (hp[358, 1] - hp[g.LEFT_EYE_INNER, 1])
    mouth = max(float(np.linalg.norm(hp[g.MOUTH_RIGHT] - hp[g.MOUTH_LEFT])), 1e-6)
    return {
        "cheek_gap": float(cheek / 2.0 / iod),
        "ala_eye": float(ala / 2.0 / iod),
        "lip_gap": float((hp[g.LIP_INNER_BOTTOM, 1] - hp[g.LIP_INNER_TOP, 1]) / mouth),
    }


def estimate_aus(blendshapes: np.ndarray, features: dict[str, float]) -> np.ndarray:
    """AU intensities (0-5) in ``AU_NAMES`` order from one frame's blendshapes and ratios."""
    out = np.empty(len(AU_MAP), dtype=np.float64)
    for i, src in enumerate(AU_MAP):
        if src.kind == "blendshape":
            value = float(np.mean([blendshapes[_BS_INDEX[n]] for n in src.inputs]))
        else:
            value = features[src.inputs[0]]
        out[i] = src.gain * src.direction * (value - src.reference)
    return np.clip(out, 0.0, 5.0)
