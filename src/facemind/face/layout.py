"""The extraction folder: where each file lives, the manifest, statuses and what was left out.

Layout of an extraction folder ``DIR``::

    DIR/frames/<video_id>.parquet      one frame table per video
    DIR/crops/<video_id>/<frame>.png   only with --save-crops
    DIR/records/<video_id>.json        one manifest row per finished video (resume state)
    DIR/manifest.parquet               all records, columns schema.MANIFEST_COLUMNS

A record is written atomically right after its frame table, so an interrupted run loses at
most the videos in flight; the manifest is rebuilt from the records (the synthetic cohort,
which keeps no records, writes its manifest at once). :class:`ExtractionDir` is the one
reader and writer of this layout (extraction, OpenFace import, the synthetic cohort and its
crops, features, the deep models, prediction, the report), and :func:`manifest_row` the one
maker of a manifest row.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from ..errors import InputError
from ..io import atomic_path, read_table, write_json, write_table
from .schema import MANIFEST_COLUMNS

#: Side in pixels of the aligned face crops that extraction saves and the crop models read.
CROP_SIZE = 112

#: Statuses of a manifest row. ``partial``: decoding stopped before the container's declared
#: end; the frames decoded until then are kept and ``error`` says how much.
STATUSES: tuple[str, ...] = ("ok", "partial", "no_face", "failed")
#: Statuses whose frame tables are used by features and models.
USABLE_STATUSES: tuple[str, ...] = ("ok", "partial")

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
            file=source,
            row=row,
            column="video_id",
            value=vid,
        )
    return vid


def manifest_row(
    *,
    video_id: str,
    participant_id: str,
    status: str,
    path: str | None = None,
    size: int | None = None,
    error: str | None = None,
    frames: int | None = None,
    face_frames: int | None = None,
    fps: float | None = None,
    duration: float | None = None,
    backend: str | None = None,
    backend_version: str | None = None,
    model: str | None = None,
    model_sha256: str | None = None,
    settings: str | None = None,
    synthetic: bool = False,
    faces_max: int | None = None,
    other_face_frames: int | None = None,
) -> dict[str, Any]:
    """One manifest row: every column of ``schema.MANIFEST_COLUMNS``, in that order; what is
    not given is ``None`` (``synthetic``: False)."""
    given = locals()
    return {c: given[c] for c in MANIFEST_COLUMNS}


def manifest_frame(rows: list[dict[str, Any]]) -> pd.DataFrame:
    """Rows -> a manifest table with the canonical columns and dtypes, sorted by video_id."""
    df = pd.DataFrame.from_records(rows, columns=list(MANIFEST_COLUMNS))
    counts = ("size", "frames", "face_frames", "faces_max", "other_face_frames")
    for col in counts:
        df[col] = pd.array(pd.to_numeric(df[col], errors="coerce"), dtype="Int64")
    for col in ("fps", "duration"):
        df[col] = pd.to_numeric(df[col], errors="coerce").astype("float64")
    df["synthetic"] = df["synthetic"].fillna(False).astype(bool)
    for col in MANIFEST_COLUMNS:
        if col not in (*counts, "fps", "duration", "synthetic"):
            df[col] = df[col].astype("string")
    return df.sort_values("video_id", kind="stable").reset_index(drop=True)


def left_out_summary(reasons: Iterable[str]) -> str:
    """``"2 video(s): extraction_failed, 1 video(s): no_crops"`` (reasons sorted), or ``""``."""
    counts = pd.Series(list(reasons), dtype="object").value_counts().sort_index()
    return ", ".join(f"{v} video(s): {k}" for k, v in counts.items())


_MANIFESTS: dict[tuple[str, int, int], pd.DataFrame] = {}


class ExtractionDir:
    """One extraction folder (see the module docstring).

    ``frames_dir`` is where the frame tables are: ``root/frames`` normally; :meth:`locate`
    also accepts folders whose tables lie beside the manifest or one level below it.
    """

    def __init__(self, root: str | os.PathLike[str], frames_dir: Path | None = None) -> None:
        self.root = Path(root)
        self.frames_dir = Path(frames_dir) if frames_dir is not None else self.root / "frames"

    def __repr__(self) -> str:
        return f"ExtractionDir({str(self.root)!r})"

    @classmethod
    def locate(cls, path: str | os.PathLike[str]) -> ExtractionDir:
        """The extraction folder holding ``path``: the folder itself or its ``frames/`` folder.

        Raises :class:`InputError` when neither ``path`` nor its parent has a manifest.
        """
        p = Path(path)
        if not p.exists():
            raise InputError("frames directory not found", file=str(p))
        if not p.is_dir():
            raise InputError("expected a directory with manifest.parquet and frames/", file=str(p))
        if (p / "manifest.parquet").is_file():
            return cls(p, p / "frames" if (p / "frames").is_dir() else p)
        if (p.parent / "manifest.parquet").is_file():
            return cls(p.parent, p)
        raise InputError("no manifest.parquet here or in the parent directory", file=str(p))

    # -- paths ---------------------------------------------------------------------------

    @property
    def manifest_path(self) -> Path:
        return self.root / "manifest.parquet"

    @property
    def crops_dir(self) -> Path:
        return self.root / "crops"

    def frames_path(self, video_id: str) -> Path:
        """The frame table of ``video_id``."""
        return self.frames_dir / f"{video_id}.parquet"

    def record_path(self, video_id: str) -> Path:
        return self.root / "records" / f"{video_id}.json"

    def crop_dir(self, video_id: str) -> Path:
        return self.crops_dir / video_id

    def crop_path(self, video_id: str, frame: int) -> Path:
        """Where the crop of ``frame`` (index in the decoded stream) is saved."""
        return self.crop_dir(video_id) / f"{int(frame):06d}.png"

    def crop_files(self, video_id: str) -> list[Path]:
        """The crops of one video, in frame order (empty when there are none)."""
        folder = self.crop_dir(video_id)
        return sorted(folder.glob("*.png")) if folder.is_dir() else []

    # -- records and manifest ------------------------------------------------------------

    def write_record(self, record: dict[str, Any], *, resume: dict[str, Any] | None = None) -> Path:
        """Write one manifest row atomically, with optional resume state kept beside it."""
        row: dict[str, Any] = {c: record.get(c) for c in MANIFEST_COLUMNS}
        if resume:
            row["resume"] = resume
        return write_json(row, self.record_path(row["video_id"]))

    def read_record(self, video_id: str) -> dict[str, Any] | None:
        """The record of ``video_id``, or ``None`` when absent or unreadable."""
        try:
            return json.loads(self.record_path(video_id).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None

    def record_ids(self) -> list[str]:
        """The video ids that have a record, sorted."""
        folder = self.root / "records"
        return sorted(p.stem for p in folder.glob("*.json")) if folder.is_dir() else []

    def remove_video(self, video_id: str) -> None:
        """Delete a video's record, frame table and crops (a video no longer among the inputs)."""
        import shutil

        self.record_path(video_id).unlink(missing_ok=True)
        self.frames_path(video_id).unlink(missing_ok=True)
        shutil.rmtree(self.crop_dir(video_id), ignore_errors=True)

    def build_manifest(self) -> pd.DataFrame:
        """Collect every record under ``records/`` and write ``manifest.parquet`` (unless it
        already holds them), so that what is newer than the manifest is known."""
        folder = self.root / "records"
        rows = []
        for p in sorted(folder.glob("*.json")) if folder.is_dir() else []:
            try:
                rows.append(json.loads(p.read_text(encoding="utf-8")))
            except (OSError, ValueError):
                continue  # a record being replaced; its video is redone on the next run
        df = manifest_frame(rows)
        if self.manifest_path.is_file():  # unchanged: left as it is, its time says when it was
            try:
                if read_table(self.manifest_path).equals(df):
                    return df
            except InputError:
                pass  # unreadable: written again
        write_table(df, self.manifest_path)
        return df

    def write_manifest(
        self, manifest: pd.DataFrame, *, metadata: dict[str, str] | None = None
    ) -> Path:
        """Write ``manifest`` (its columns of ``schema.MANIFEST_COLUMNS``, dtypes as they are)
        atomically as the manifest, ``metadata`` added to the Parquet file's metadata: for a
        manifest made at once (the synthetic cohort) rather than from records."""
        table = pa.Table.from_pandas(manifest[list(MANIFEST_COLUMNS)], preserve_index=False)
        meta = dict(table.schema.metadata or {})
        meta.update({k.encode(): v.encode() for k, v in (metadata or {}).items()})
        table = table.replace_schema_metadata(meta)
        with atomic_path(self.manifest_path) as tmp:
            pq.write_table(table, tmp)
        return self.manifest_path

    def read_manifest(self) -> pd.DataFrame:
        """The manifest, ids checked (read once while the file is unchanged; a copy each call).

        A manifest without ``status`` (older imports) counts every video as ``ok``.
        """
        path = self.manifest_path
        if not path.is_file():
            raise InputError("no manifest.parquet in the extraction directory", file=str(self.root))
        st = path.stat()
        key = (str(path.resolve()), st.st_mtime_ns, st.st_size)
        if key not in _MANIFESTS:
            m = read_table(path).reset_index(drop=True)
            for col in ("video_id", "participant_id"):
                if col not in m.columns:
                    raise InputError("manifest lacks a column", file=str(path), column=col)
                bad = m.index[m[col].isna()]
                if len(bad):
                    raise InputError("empty id", file=str(path), row=int(bad[0]) + 1, column=col)
            if "status" not in m.columns:
                m["status"] = "ok"
            _MANIFESTS.clear()  # one manifest at a time is what every caller needs
            _MANIFESTS[key] = m
        return _MANIFESTS[key].copy()

    # -- statuses ------------------------------------------------------------------------

    @staticmethod
    def usable(manifest: pd.DataFrame) -> pd.Series:
        """Boolean mask of the rows whose frame tables are used (``ok`` and ``partial``)."""
        return manifest["status"].isin(USABLE_STATUSES).fillna(False).astype(bool)

    def videos(self, manifest: pd.DataFrame | None = None) -> list[tuple[int, str, str, str]]:
        """``(manifest row, video_id, participant_id, status)`` of every manifest row."""
        m = self.read_manifest() if manifest is None else manifest
        return list(
            zip(
                range(len(m)),
                m["video_id"].astype(str),
                m["participant_id"].astype(str),
                m["status"].astype(str),
                strict=True,
            )
        )

    def exclusion(self, video_id: str, status: str) -> str | None:
        """Why a video's frame table cannot be used: ``extraction_failed`` (status ``failed``),
        ``missing_frame_table``, or ``None`` when it can (too few face frames is the caller's
        test, as the minimum is its setting)."""
        if status == "failed":
            return "extraction_failed"
        if not self.frames_path(video_id).is_file():
            return "missing_frame_table"
        return None

    def face_frames(self, video_id: str) -> int:
        """Frames with a face in the frame table of ``video_id`` (reads one column)."""
        from .schema import read_frame_table

        face = read_frame_table(self.frames_path(video_id), columns=["face_detected"])
        return int(face["face_detected"].sum())

    def status_counts(self, manifest: pd.DataFrame | None = None) -> dict[str, int]:
        """Videos per status, every known status present (0 when none)."""
        m = self.read_manifest() if manifest is None else manifest
        counts = m["status"].astype(str).value_counts()
        out = {s: int(counts.get(s, 0)) for s in STATUSES}
        out.update({str(k): int(v) for k, v in counts.items() if k not in out})
        return out

    def failures(self, manifest: pd.DataFrame | None = None) -> pd.DataFrame:
        """``video_id, path, error`` of the failed videos, sorted by video_id."""
        m = self.read_manifest() if manifest is None else manifest
        bad = m[m["status"] == "failed"]
        cols = [c for c in ("video_id", "path", "error") if c in bad.columns]
        return bad[cols].reset_index(drop=True)

    def left_out(self, manifest: pd.DataFrame | None = None) -> str:
        """Videos not usable, by status with their reasons: ``"failed 2 (reason: 1, ...)"``."""
        m = self.read_manifest() if manifest is None else manifest
        bad = m[~self.usable(m)]
        if not len(bad):
            return ""
        parts = []
        errors = bad["error"] if "error" in bad.columns else pd.Series("", index=bad.index)
        for status, group in errors.fillna("").astype(str).groupby(bad["status"].astype(str)):
            reasons = group[group != ""].value_counts()
            text = f"{status} {len(group)}"
            if len(reasons):
                text += " (" + "; ".join(f"{r}: {n}" for r, n in reasons.items()) + ")"
            parts.append(text)
        return ", ".join(parts)
