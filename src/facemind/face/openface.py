"""Import OpenFace 2.x CSV output into the frame schema, so both backends look alike.

OpenFace writes ``", "``-separated CSVs with ``frame`` (1-based), ``timestamp``, ``confidence``,
``success``, gaze vectors (eye 0 is the leftmost in the image, i.e. the person's right eye),
``gaze_angle_x/y`` (newer versions), ``pose_Tx/Ty/Tz`` (mm), ``pose_Rx/Ry/Rz`` (radians),
68 landmarks ``x_i``/``y_i`` (pixels) and ``AUxx_r`` intensities (0-5). Rows with
``success == 0`` become face-less rows. Multi-face output (``face_id``) keeps, per frame, the
face with the highest confidence, and the number of rows left out is reported.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import InputError
from .geometry import gaze_angles
from .layout import ExtractionDir, check_video_id, manifest_row
from .schema import AU_NAMES, N_LANDMARKS, write_frame_table

BACKEND = "openface"
REQUIRED = ("frame", "timestamp", "success")


@dataclass
class OpenFaceImport:
    """One imported CSV: its frame table and what was left out."""

    frames: pd.DataFrame
    dropped_duplicate_faces: int
    missing_columns: list[str]


def read_openface_csv(path: str | os.PathLike[str]) -> pd.DataFrame:
    """Read an OpenFace CSV (``", "`` separators, header names stripped)."""
    p = Path(path)
    if not p.is_file():
        raise InputError("file not found", file=str(p))
    if p.stat().st_size == 0:
        raise InputError("file is empty", file=str(p))
    try:
        df = pd.read_csv(p, skipinitialspace=True)
    except (pd.errors.ParserError, UnicodeDecodeError, ValueError) as exc:
        raise InputError(
            f"cannot read as OpenFace CSV: {str(exc).splitlines()[0]}", file=str(p)
        ) from None
    df.columns = [str(c).strip() for c in df.columns]
    for col in REQUIRED:
        if col not in df.columns:
            raise InputError("not an OpenFace CSV: missing column", file=str(p), column=col)
    return df


def _numeric(df: pd.DataFrame, col: str, source: str) -> np.ndarray:
    values = pd.to_numeric(df[col], errors="coerce")
    bad = values.isna() & df[col].notna() & (df[col].astype(str).str.strip() != "")
    if bad.any():
        i = int(np.argmax(bad.to_numpy()))
        raise InputError(
            "not a number", file=source, row=i + 1, column=col, value=str(df[col].iloc[i])
        )
    return values.to_numpy(dtype=np.float64)


def openface_to_frames(df: pd.DataFrame, *, source: str = "OpenFace CSV") -> OpenFaceImport:
    """Convert an OpenFace table to the frame schema (see the module docstring)."""
    dropped = 0
    if "face_id" in df.columns:
        conf = pd.to_numeric(df.get("confidence", 0.0), errors="coerce").fillna(-1)
        order = df.copy().assign(_c=conf).sort_values(["frame", "_c"], ascending=[True, False])
        kept = order.drop_duplicates("frame", keep="first").drop(columns="_c")
        dropped = len(df) - len(kept)
        df = kept
    df = df.sort_values("frame", kind="stable").reset_index(drop=True)
    num = {c: _numeric(df, c, source) for c in df.columns if c not in ("face_id",)}
    frame = num["frame"]
    if np.isnan(frame).any():
        raise InputError(
            "missing frame number",
            file=source,
            row=int(np.argmax(np.isnan(frame))) + 1,
            column="frame",
        )
    out: dict[str, np.ndarray] = {
        "frame": (frame - frame.min()).astype(np.int64),  # OpenFace counts from 1
        "timestamp": num["timestamp"],
        "face_detected": np.nan_to_num(num["success"]) > 0,
    }
    missing: list[str] = []

    def take(src: str, dst: str, scale: float = 1.0) -> None:
        if src in num:
            out[dst] = num[src] * scale
        else:
            missing.append(src)

    take("confidence", "confidence")
    for axis, name in (("x", "pitch"), ("y", "yaw"), ("z", "roll")):
        take(f"pose_R{axis}", f"pose_{name}", 180.0 / np.pi)
        take(f"pose_T{axis}", f"pose_t{axis}")
    # Eye 0 is the leftmost eye in the image (the person's right eye), in both schemas.
    for eye in (0, 1):
        for axis in ("x", "y", "z"):
            take(f"gaze_{eye}_{axis}", f"gaze_{eye}_{axis}")
    if "gaze_angle_x" in num and "gaze_angle_y" in num:
        out["gaze_angle_x"], out["gaze_angle_y"] = num["gaze_angle_x"], num["gaze_angle_y"]
    elif all(f"gaze_{e}_{a}" in num for e in (0, 1) for a in "xyz"):
        g0 = np.stack([num[f"gaze_0_{a}"] for a in "xyz"], axis=1)
        g1 = np.stack([num[f"gaze_1_{a}"] for a in "xyz"], axis=1)
        angles = np.array([gaze_angles(a, b) for a, b in zip(g0, g1, strict=True)])
        out["gaze_angle_x"], out["gaze_angle_y"] = angles[:, 0], angles[:, 1]
    for au in AU_NAMES:
        take(f"{au}_r", au)
    for i in range(N_LANDMARKS):
        take(f"x_{i}", f"x_{i}")
        take(f"y_{i}", f"y_{i}")
    frames = pd.DataFrame(out)
    return OpenFaceImport(frames, dropped, missing)


def import_openface(
    csvs: list[str | os.PathLike[str]], out: str | os.PathLike[str], *, fps: float | None = None
) -> pd.DataFrame:
    """Import OpenFace CSVs into ``out`` (frames/<video_id>.parquet + manifest); return it.

    The video id is the CSV's file name without extension; duplicates are refused. ``fps``
    replaces the CSV's timestamps by ``frame / fps``: OpenFace run on image sequences writes
    1 ms steps, which would make every rate and speed feature 1000/fps times too large.
    """
    if fps is not None and not fps > 0:
        raise InputError("`fps` must be positive", value=fps)
    layout = ExtractionDir(out)
    seen: dict[str, str] = {}
    jobs = []
    for c in csvs:
        p = Path(c)
        vid = check_video_id(p.stem, source=str(p))
        if vid in seen:
            raise InputError(
                f"duplicate video id (also {seen[vid]})", file=str(p), column="video_id", value=vid
            )
        seen[vid] = str(p)
        jobs.append((vid, p))
    # Read everything first: a bad file stops the import before anything is written.
    imports = [(vid, p, openface_to_frames(read_openface_csv(p), source=str(p))) for vid, p in jobs]
    for vid, p, imp in imports:
        df = imp.frames
        if fps is not None:
            df["timestamp"] = df["frame"].to_numpy(dtype=float) / fps
        write_frame_table(
            df,
            layout.frames_path(vid),
            metadata={"facemind.video_id": vid, "facemind.backend": BACKEND},
        )
        n, n_face = len(df), int(df["face_detected"].sum())
        ts = df["timestamp"].to_numpy()
        step = float(np.median(np.diff(ts))) if n > 1 else 0.0
        notes = []
        if imp.dropped_duplicate_faces:
            notes.append(
                f"kept the most confident face per frame, left out "
                f"{imp.dropped_duplicate_faces} rows of other faces"
            )
        if fps is None and 0 < step < 0.005:
            notes.append(
                f"timestamps advance {step * 1000:g} ms per frame (image-sequence "
                "output?); rerun with `fps` set to the real frame rate"
            )
        if imp.missing_columns:
            notes.append(f"{len(imp.missing_columns)} OpenFace columns absent (left null)")
        layout.write_record(
            manifest_row(
                video_id=vid,
                participant_id=vid,
                path=str(p.resolve()),
                size=p.stat().st_size,
                status="ok" if n_face else "no_face",
                error="; ".join(notes) or None,
                frames=n,
                face_frames=n_face,
                fps=(1.0 / step) if step > 0 else None,
                duration=float(ts[-1] - ts[0] + step) if n else None,
                backend=BACKEND,
                backend_version="2.x",
                settings="{}",
                synthetic=False,
            )
        )
    return layout.build_manifest()
