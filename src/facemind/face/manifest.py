"""Per-video records and ``manifest.parquet`` of an extraction folder.

Layout of an output folder ``DIR``::

    DIR/frames/<video_id>.parquet      one frame table per video
    DIR/crops/<video_id>/<frame>.png   only with --save-crops
    DIR/records/<video_id>.json        one manifest row per finished video (resume state)
    DIR/manifest.parquet               all records, columns schema.MANIFEST_COLUMNS

A record is written atomically right after its frame table, so an interrupted run loses at
most the videos in flight; the manifest is rebuilt from the records.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pandas as pd

from ..errors import InputError
from ..io import write_json, write_table
from .schema import MANIFEST_COLUMNS

_UNSAFE = re.compile(r"[/\\\x00-\x1f]")


def check_video_id(video_id: str, *, source: str | None = None, row: int | None = None) -> str:
    """Return ``video_id`` if it is safe as a file name, else raise :class:`InputError`."""
    vid = str(video_id)
    bad = (
        not vid.strip()
        or _UNSAFE.search(vid)
        or ".." in vid
        or vid.startswith(".")
        or vid != vid.strip()
        or len(vid) > 200
    )
    if bad:
        raise InputError(
            "unsafe video id (no path separators, '..', leading dot, control characters, "
            "surrounding spaces; at most 200 characters)",
            file=source, row=row, column="video_id", value=vid,
        )  # fmt: skip
    return vid


def frames_path(out: Path, video_id: str) -> Path:
    return Path(out) / "frames" / f"{video_id}.parquet"


def record_path(out: Path, video_id: str) -> Path:
    return Path(out) / "records" / f"{video_id}.json"


def write_record(
    out: Path, record: dict[str, Any], *, resume: dict[str, Any] | None = None
) -> Path:
    """Write one manifest row atomically, with optional resume state kept beside it."""
    row: dict[str, Any] = {c: record.get(c) for c in MANIFEST_COLUMNS}
    if resume:
        row["resume"] = resume
    return write_json(row, record_path(out, row["video_id"]))


def read_record(out: Path, video_id: str) -> dict[str, Any] | None:
    """The record of ``video_id``, or ``None`` when absent or unreadable."""
    p = record_path(out, video_id)
    try:
        return json.loads(p.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def manifest_frame(rows: list[dict[str, Any]]) -> pd.DataFrame:
    """Rows -> a manifest table with the canonical columns and dtypes, sorted by video_id."""
    df = pd.DataFrame.from_records(rows, columns=list(MANIFEST_COLUMNS))
    for col in ("size", "frames", "face_frames"):
        df[col] = pd.array(df[col], dtype="Int64")
    for col in ("fps", "duration"):
        df[col] = pd.to_numeric(df[col], errors="coerce").astype("float64")
    df["synthetic"] = df["synthetic"].fillna(False).astype(bool)
    for col in MANIFEST_COLUMNS:
        if col not in ("size", "frames", "face_frames", "fps", "duration", "synthetic"):
            df[col] = df[col].astype("string")
    return df.sort_values("video_id", kind="stable").reset_index(drop=True)


def build_manifest(out: Path) -> pd.DataFrame:
    """Collect every record under ``out/records`` and write ``out/manifest.parquet``."""
    folder = Path(out) / "records"
    rows = []
    for p in sorted(folder.glob("*.json")) if folder.is_dir() else []:
        try:
            rows.append(json.loads(p.read_text(encoding="utf-8")))
        except (OSError, ValueError):
            continue  # a record being replaced; its video is redone on the next run
    df = manifest_frame(rows)
    write_table(df, Path(out) / "manifest.parquet")
    return df
