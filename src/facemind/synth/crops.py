"""SYNTHETIC extraction directories with face crops, for tests and benchmarks of the deep models.

:func:`write_synthetic_extraction` writes a synthetic cohort (:func:`.cohort.write_cohort`:
responses, frame tables, manifest, all labeled synthetic) and, per video, ``k`` drawn 112x112 "face
crops" in the layout of ``extract --save-crops`` (``crops/<video_id>/<frame>.png``). A crop is
a cartoon face (skin-toned ellipse, eyes, brows, mouth) whose mouth curvature and brow height
follow the participant's latent depression (frowning with higher depression), with random
shifts, lighting and pixel noise: a planted visual signal with a known ground truth. They are
not faces of anyone and are never mixed with real data.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd

from ..face.layout import CROP_SIZE, ExtractionDir
from ..io import atomic_path
from .cohort import SynthConfig, read_responses, write_cohort

SIZE = CROP_SIZE


def draw_crop(latent: float, rng: np.random.Generator, size: int = SIZE) -> np.ndarray:
    """One SYNTHETIC cartoon face crop (size, size, 3) uint8 whose expression follows ``latent``."""
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32) / size
    cx, cy = 0.5 + rng.normal(0, 0.03), 0.5 + rng.normal(0, 0.03)
    light = rng.uniform(0.8, 1.2)
    img = np.full((size, size, 3), 60.0, np.float32) * light
    face = ((xx - cx) / 0.36) ** 2 + ((yy - cy) / 0.46) ** 2 <= 1.0
    img[face] = np.array([205.0, 165.0, 140.0]) * light
    for ex in (-0.14, 0.14):
        eye = ((xx - cx - ex) / 0.05) ** 2 + ((yy - cy + 0.1) / 0.03) ** 2 <= 1.0
        img[eye] = 40.0
        brow_y = cy - 0.19 + 0.03 * np.tanh(latent) + rng.normal(0, 0.01)
        brow = (np.abs(xx - cx - ex) < 0.08) & (np.abs(yy - brow_y) < 0.012)
        img[brow] = 70.0
    # Mouth: a parabola, curving up (smile) for low latent values and down (frown) for high.
    curve = 2.5 * np.tanh(latent) + rng.normal(0, 0.3)
    x = xx - cx
    mouth_y = cy + 0.2 + curve * (x**2 - 0.01)
    mouth = (np.abs(x) < 0.15) & (np.abs(yy - mouth_y) < 0.025)
    img[mouth] = np.array([150.0, 60.0, 60.0]) * light
    img += rng.normal(0, 8.0, img.shape)
    return np.clip(img, 0, 255).astype(np.uint8)


def write_synthetic_extraction(
    out: str | os.PathLike[str],
    participants: int,
    *,
    seed: int = 0,
    crops: int = 7,
    fps: float = 5.0,
    duration: float = 30.0,
    discrepant_share: float = 0.0,
) -> pd.DataFrame:
    """Write a SYNTHETIC extraction directory with crops under ``out``; return the responses.

    ``out/responses.csv``, ``out/frames/<video_id>.parquet``, ``out/manifest.parquet`` (all
    marked synthetic) and ``out/crops/<video_id>/<frame>.png`` (``crops`` per video).
    """
    from PIL import Image

    out = Path(out)
    config = SynthConfig(
        participants=participants,
        seed=seed,
        discrepant_share=discrepant_share,
        fps=fps,
        duration=duration,
    )
    write_cohort(out, config)
    layout = ExtractionDir(out)
    responses = read_responses(out)
    manifest = layout.read_manifest()
    latent = dict(
        zip(responses["participant_id"].astype(str), responses["latent_depression"], strict=True)
    )
    for i, (vid, pid) in enumerate(
        zip(manifest["video_id"].astype(str), manifest["participant_id"].astype(str), strict=True)
    ):
        rng = np.random.default_rng([seed, 7, i])
        for j in range(crops):
            target = layout.crop_path(vid, j * 10)
            if target.exists():
                continue
            with atomic_path(target) as tmp:
                Image.fromarray(draw_crop(float(latent[pid]), rng)).save(tmp, format="PNG")
    return responses
