"""Batch extraction: inputs to tasks, one task per video, on the project's executor.

- Inputs are video files, folders (searched recursively by extension) or CSV lists with a
  ``path`` column and optional ``video_id`` / ``participant_id`` columns.
- Each video is processed by :func:`process_video`, which writes its frame table, crops (only
  when asked) and its record; the manifest is rebuilt from the records.
- A rerun skips videos whose record has the same input fingerprint (size, modification time)
  and settings; corrupt or face-less videos are recorded with their status, never fatal. A
  skipped video's participant id, which does not change its frames, is updated from the
  inputs; records of videos no longer among the inputs are kept, or dropped with ``prune``.
- Videos run through :mod:`facemind.parallel`: ``jobs=1`` in this process, ``jobs=N`` in N
  local worker processes, ``scheduler=ADDRESS`` on an existing Dask cluster, or on an
  ``executor`` given by the caller (the output folder must be on a file system the workers
  share).
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from ..errors import FacemindError, InputError
from ..io import read_table
from ..parallel import map_unordered, open_executor, resolve_jobs
from .extract import ExtractSettings, extract_video
from .landmarker import backend_version
from .layout import ExtractionDir, check_video_id, manifest_row
from .model import MODEL_NAME, resolve_model, verify_model
from .schema import SCHEMA_VERSION, write_frame_table
from .video import VIDEO_EXTENSIONS

BACKEND = "mediapipe"


@dataclass(frozen=True)
class VideoTask:
    """One video to process."""

    video_id: str
    participant_id: str
    path: str
    size: int
    fingerprint: str


def _fingerprint(p: Path) -> tuple[int, str]:
    st = p.stat()
    return st.st_size, f"{st.st_size}:{st.st_mtime_ns}"


def _task(path: Path, video_id: str | None, participant_id: str | None, **where) -> VideoTask:
    vid = check_video_id(video_id if video_id is not None else path.stem, **where)
    if not path.is_file():
        raise InputError(
            "video file not found",
            file=where.get("source") or str(path),
            row=where.get("row"),
            column="path",
            value=str(path),
        )
    size, fp = _fingerprint(path)
    pid = participant_id if participant_id not in (None, "") else vid
    return VideoTask(vid, str(pid), str(path.resolve()), size, fp)


def _from_csv(csv: Path) -> list[VideoTask]:
    df = read_table(csv, dtype=str, keep_default_na=False)
    if "path" not in df.columns:
        raise InputError("video list needs a 'path' column", file=str(csv), column="path")
    tasks = []
    for i, rec in enumerate(df.to_dict("records")):
        row = i + 1  # 1-based data row, header not counted
        raw = (rec.get("path") or "").strip()
        if not raw:
            raise InputError("empty path", file=str(csv), row=row, column="path")
        p = Path(raw)
        if not p.is_absolute():
            p = csv.parent / p
        vid = (rec.get("video_id") or "").strip() or None
        tasks.append(
            _task(
                p, vid, (rec.get("participant_id") or "").strip() or None, source=str(csv), row=row
            )
        )
    return tasks


def collect_inputs(inputs: Iterable[str | os.PathLike[str]]) -> list[VideoTask]:
    """Expand files, folders and CSV lists into tasks; refuse duplicate or unsafe ids."""
    tasks: list[VideoTask] = []
    for item in inputs:
        p = Path(item)
        if p.is_dir():
            found = sorted(
                q
                for q in p.rglob("*")
                if q.is_file()
                and q.suffix.lower() in VIDEO_EXTENSIONS
                and not any(part.startswith(".") for part in q.relative_to(p).parts)
            )
            tasks.extend(_task(q, None, None) for q in found)
        elif p.suffix.lower() == ".csv":
            tasks.extend(_from_csv(p))
        elif p.is_file():
            tasks.append(_task(p, None, None))
        else:
            raise InputError("input not found", file=str(p))
    seen: dict[str, str] = {}
    for t in tasks:
        if t.video_id in seen:
            raise InputError(
                f"duplicate video id (also {seen[t.video_id]}); give distinct ids in a CSV list",
                file=t.path,
                column="video_id",
                value=t.video_id,
            )
        seen[t.video_id] = t.path
    return tasks


def settings_key(settings: ExtractSettings, model_sha256: str) -> str:
    """The settings string stored in the manifest (and compared on resume)."""
    d = dict(
        settings.to_dict(),
        model_sha256=model_sha256,
        backend=backend_version(),
        schema_version=SCHEMA_VERSION,
    )
    return json.dumps(d, sort_keys=True)


def is_done(out: ExtractionDir, task: VideoTask, settings: str, retry_failed: bool = False) -> bool:
    """Whether a previous run finished ``task`` with the same input and settings."""
    rec = out.read_record(task.video_id)
    if rec is None or rec.get("settings") != settings or rec.get("path") != task.path:
        return False
    if (rec.get("resume") or {}).get("fingerprint") != task.fingerprint:
        return False
    if rec.get("status") == "failed":
        return not retry_failed
    return out.frames_path(task.video_id).is_file()


# -- worker side ---------------------------------------------------------------------------

_MODEL_CACHE: dict[str, bytes] = {}


def model_bytes(model_path: str) -> bytes:
    """The model file, read and verified once per process (each worker loads it once)."""
    if model_path not in _MODEL_CACHE:
        verify_model(model_path)
        _MODEL_CACHE[model_path] = Path(model_path).read_bytes()
    return _MODEL_CACHE[model_path]


def process_video(
    task: VideoTask,
    out: str,
    model_path: str,
    model_sha256: str,
    settings: ExtractSettings,
    settings_str: str,
) -> dict[str, Any]:
    """Extract one video, write its frame table, crops and record; return the record."""
    layout = ExtractionDir(out)
    model = model_bytes(model_path)
    t0 = time.perf_counter()
    try:
        res = extract_video(task.path, lambda: settings.landmarker(model), settings)
        status, error = res.status, res.error
    except Exception as exc:  # noqa: BLE001 - one bad video must never stop the batch
        res, status, error = None, "failed", f"{type(exc).__name__}: {exc}"
    target = layout.frames_path(task.video_id)
    if res is not None and res.frames is not None:
        write_frame_table(
            res.frames,
            target,
            metadata={"facemind.video_id": task.video_id, "facemind.backend": BACKEND},
        )
        if res.crops:
            _write_crops(layout, task.video_id, res.crops)
    elif target.exists():
        target.unlink()  # a stale table from an older version of this input
    info = res.info if res is not None else None
    record = manifest_row(
        video_id=task.video_id,
        participant_id=task.participant_id,
        path=task.path,
        size=task.size,
        status=status,
        error=error,
        frames=res.n_frames if res is not None else 0,
        face_frames=res.face_frames if res is not None else 0,
        faces_max=res.faces_max if res is not None else 0,
        other_face_frames=res.other_face_frames if res is not None else 0,
        fps=info.fps if info else None,
        duration=res.duration if res is not None and res.info is not None else None,
        backend=BACKEND,
        backend_version=backend_version().split()[-1],
        model=MODEL_NAME,
        model_sha256=model_sha256,
        settings=settings_str,
        synthetic=False,
    )
    layout.write_record(record, resume={"fingerprint": task.fingerprint})
    record["seconds"] = time.perf_counter() - t0
    return record


def _write_crops(layout: ExtractionDir, video_id: str, crops: list) -> None:
    from PIL import Image

    from ..io import atomic_path

    for index, arr in crops:
        with atomic_path(layout.crop_path(video_id, index)) as tmp:
            Image.fromarray(arr).save(tmp, format="PNG")


# -- driver --------------------------------------------------------------------------------


@dataclass
class BatchSummary:
    """What a batch run did. Status counts cover every input video, whether processed in this
    run or finished by an earlier one; ``failures`` lists ``(video_id, path, error)``,
    ``other_faces`` ``[video_id, faces_max, other_face_frames]`` of the videos in which faces
    other than the participant's were seen."""

    total: int
    skipped: int
    processed: int
    failed: int
    no_face: int
    frames: int
    seconds: float
    manifest: pd.DataFrame
    partial: int = 0
    ok: int = 0
    failures: list[tuple[str, str, str]] = field(default_factory=list)
    other_faces: list[list] = field(default_factory=list)
    #: Videos done earlier whose participant id this run changed (no re-extraction).
    relabelled: int = 0
    #: Records of videos not among these inputs: kept in the manifest, or ``pruned``.
    not_given: int = 0
    pruned: int = 0

    def counts(self) -> dict[str, Any]:
        """Every field but the manifest, JSON-safe (failures as lists)."""
        from dataclasses import asdict

        out = {k: v for k, v in asdict(self).items() if k != "manifest"}
        return {**out, "failures": [list(f) for f in self.failures]}


def no_videos_message(inputs: Sequence[str | os.PathLike[str]]) -> str:
    """``no videos found`` naming the inputs searched and the extensions looked for."""
    names = [str(p) for p in inputs]
    shown = ", ".join(names[:3]) + (f" and {len(names) - 3} more" if len(names) > 3 else "")
    return (
        f"no videos found in {shown} (folders are searched recursively for "
        f"{' '.join(VIDEO_EXTENSIONS)}; CSV lists name files in a 'path' column)"
    )


def run_batch(
    inputs: Sequence[str | os.PathLike[str]],
    out: str | os.PathLike[str],
    model_path: str | os.PathLike[str] | None = None,
    *,
    settings: ExtractSettings = ExtractSettings(),
    jobs: int = 1,
    executor: Any = None,
    scheduler: str | None = None,
    retry_failed: bool = False,
    prune: bool = False,
    progress: Callable[[int, int], None] | None = None,
    on_result: Callable[[dict[str, Any]], None] | None = None,
) -> BatchSummary:
    """Extract every input video into ``out`` (see the module docstring).

    ``model_path`` ``None`` resolves the model as :func:`~facemind.face.model.resolve_model`.
    Videos run largest first in ``jobs`` local processes (``-1``: one per core; never more
    than the videos to do), at the Dask ``scheduler``, or on
    ``executor`` (a :class:`concurrent.futures.Executor` or Dask ``Client``, used as given and
    left open). A call that raises in a worker, or whose worker died, fails its video only:
    it is recorded ``failed`` with ``worker failed: <error>``. A local process pool that loses
    a worker is broken, so the videos it had not finished are recorded so too. Such records
    keep no resume state: the next run redoes them, with or without ``retry_failed``. When
    every video to do failed so, :class:`FacemindError` is raised instead of a summary.
    ``progress`` is called with (videos done, videos in all), already extracted ones counted
    as done, before the first video and after each. ``prune`` deletes the records, frame
    tables and crops of videos not among ``inputs``, so that the manifest lists only these.
    """
    jobs = resolve_jobs(jobs)
    layout = ExtractionDir(out)
    tasks = collect_inputs(inputs)
    if not tasks:
        raise FacemindError(no_videos_message(inputs))
    model = str(resolve_model(model_path))
    sha = verify_model(model)
    skey = settings_key(settings, sha)
    todo, earlier = [], []
    for t in tasks:
        (earlier if is_done(layout, t, skey, retry_failed) else todo).append(t)
    layout.root.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    counts = {"ok": 0, "partial": 0, "failed": 0, "no_face": 0, "frames": 0}
    failures: list[tuple[str, str, str]] = []

    def count(rec: dict[str, Any]) -> None:
        status = str(rec.get("status"))
        counts[status] = counts.get(status, 0) + 1
        if status == "failed":
            failures.append((rec["video_id"], str(rec.get("path")), str(rec.get("error"))))

    relabelled = 0
    for t in earlier:
        rec = layout.read_record(t.video_id) or {"video_id": t.video_id, "status": "ok"}
        if "participant_id" in rec and rec["participant_id"] != t.participant_id:
            rec["participant_id"] = t.participant_id
            layout.write_record(rec, resume=rec.get("resume"))
            relabelled += 1
        count(rec)
    given = {t.video_id for t in tasks}
    stale = [v for v in layout.record_ids() if v not in given]
    if prune:
        for vid in stale:
            layout.remove_video(vid)

    finished = len(earlier)
    if progress is not None:
        progress(finished, len(tasks))

    def done(rec: dict[str, Any]) -> None:
        nonlocal finished
        counts["frames"] += int(rec.get("frames") or 0)
        count(rec)
        finished += 1
        if progress is not None:
            progress(finished, len(tasks))
        if on_result is not None:
            on_result(rec)

    args = (str(layout.root), model, sha, settings, skey)
    # Largest first, so that a long video does not start last and leave the others idle.
    ordered = sorted(todo, key=lambda t: -t.size)

    lost: list[str] = []

    def worker_failed(i: int, exc: Exception) -> dict[str, Any]:
        t = ordered[i]
        lost.append(f"{type(exc).__name__}: {exc}")
        rec = {
            "video_id": t.video_id,
            "participant_id": t.participant_id,
            "path": t.path,
            "size": t.size,
            "status": "failed",
            "error": f"worker failed: {type(exc).__name__}: {exc}",
            "frames": 0,
            "face_frames": 0,
            "backend": BACKEND,
            "settings": skey,
        }
        layout.write_record(rec)
        return rec

    if ordered:
        calls = [(t, *args) for t in ordered]
        jobs = min(jobs, len(ordered))  # a worker per video at most
        with open_executor(executor, jobs=jobs, scheduler=scheduler, n_tasks=len(ordered)) as pool:
            for _, rec in map_unordered(pool, process_video, calls, on_error=worker_failed):
                done(rec)
    manifest = layout.build_manifest()
    others = manifest[manifest["other_face_frames"].fillna(0) > 0]
    other_faces = [
        [str(v), int(m), int(n)]
        for v, m, n in zip(
            others["video_id"], others["faces_max"], others["other_face_frames"], strict=True
        )
    ]
    if ordered and len(lost) == len(ordered):
        raise FacemindError(
            f"every video to do ({len(ordered)}) failed in its worker process, none was "
            f"extracted ({lost[0]}); they are redone on the next run"
        )
    return BatchSummary(
        total=len(tasks),
        skipped=len(earlier),
        processed=len(todo),
        failed=counts["failed"],
        no_face=counts["no_face"],
        frames=counts["frames"],
        seconds=time.perf_counter() - t0,
        manifest=manifest,
        partial=counts["partial"],
        ok=counts["ok"],
        failures=sorted(failures),
        other_faces=other_faces,
        relabelled=relabelled,
        not_given=0 if prune else len(stale),
        pruned=len(stale) if prune else 0,
    )
