"""Synthetic cohorts written to disk: responses, frame tables and manifest, all labeled synthetic.

Step 6 of the generative model (also in docs/synthetic.md): every output says it is
synthetic: ``synthetic`` = True in responses.csv and the manifest, ``facemind.synthetic`` =
"true" in every Parquet file's metadata, backend "synthetic".

A cohort's folder is an extraction folder (:class:`facemind.face.layout.ExtractionDir` names
its frame tables and writes its manifest) with the cohort's own files beside them:
``responses.csv`` (:func:`responses_path`) and ``synth_settings.json``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from concurrent.futures import Executor
from dataclasses import asdict, dataclass
from pathlib import Path

import pandas as pd

from .. import __version__
from ..errors import FacemindError, ParameterError
from ..face import schema
from ..face.layout import ExtractionDir, manifest_row
from ..io import atomic_path, read_table, write_table
from ..parallel import map_ordered, open_executor
from .faces import video_frames, video_plan, video_rng
from .responses import check_response_settings, make_responses

SYNTH_METADATA = {"facemind.synthetic": "true", "facemind.backend": "synthetic"}
#: The cohort's responses, beside its extraction folder's files.
RESPONSES_FILE = "responses.csv"


@dataclass(frozen=True)
class SynthConfig:
    """Settings of a synthetic cohort (all outputs are a function of these)."""

    participants: int
    seed: int = 0
    discrepant_share: float = 0.1
    fps: float = 5.0
    duration: float = 60.0
    videos_per_participant: int = 1
    signal: float = 1.0

    def validate(self) -> None:
        check_response_settings(self.participants, self.discrepant_share)
        if not 0.5 <= self.fps <= 120:
            raise ParameterError(f"`fps` must be within 0.5-120, got {self.fps}")
        if not 1.0 <= self.duration <= 3600:
            raise ParameterError(f"`duration` must be within 1-3600 seconds, got {self.duration}")
        if self.videos_per_participant < 1:
            raise ParameterError("`videos_per_participant` must be at least 1")
        if self.signal < 0:
            raise ParameterError(f"`signal` must not be negative, got {self.signal}")


def _write_chunk(args) -> list[dict]:
    """Generate and write the frame tables of one chunk of videos; return manifest rows."""
    plan, out_dir, cfg_dict = args
    cfg = SynthConfig(**cfg_dict)
    settings = json.dumps(cfg_dict, sort_keys=True)
    meta = {**SYNTH_METADATA, "facemind.seed": str(cfg.seed)}
    layout = ExtractionDir(out_dir)
    rows = []
    for idx, vid, pid, lat in plan:
        path = layout.frames_path(vid)
        frames = video_frames(
            lat,
            rng=video_rng(cfg.seed, idx),
            fps=cfg.fps,
            duration=cfg.duration,
            signal=cfg.signal,
        )
        if not path.exists():
            schema.write_frame_table(frames, path, metadata={**meta, "facemind.video_id": vid})
        n_face = int(frames["face_detected"].sum())
        rows.append(
            manifest_row(
                video_id=vid,
                participant_id=pid,
                path=f"synthetic:{vid}",
                size=0,
                status="ok" if n_face else "no_face",
                frames=len(frames),
                face_frames=n_face,
                fps=cfg.fps,
                duration=float(len(frames) / cfg.fps),
                backend="synthetic",
                backend_version=__version__,
                settings=settings,
                synthetic=True,
            )
        )
    return rows


# Dtypes of the manifest's columns that the synthetic backend leaves empty.
_MANIFEST_DTYPES = {
    "error": "string",
    "model": "string",
    "model_sha256": "string",
    "faces_max": "float64",
    "other_face_frames": "float64",
}


@dataclass
class SynthSummary:
    """What :func:`write_cohort` wrote."""

    out: Path
    participants: int
    videos: int
    discrepant: int
    no_face_videos: int
    reused_videos: int


def write_cohort(
    out: str | os.PathLike[str],
    config: SynthConfig,
    *,
    jobs: int = 1,
    chunk: int = 64,
    progress: Callable[[int, int], None] | None = None,
    executor: Executor | None = None,
) -> SynthSummary:
    """Write ``out/responses.csv``, ``out/frames/<video_id>.parquet`` and ``out/manifest.parquet``.

    A rerun with the same settings reuses frame tables already written (so an interrupted run
    resumes); ``out`` holding a cohort made with other settings is an error. ``progress`` is
    called with (videos done, videos in all) after every chunk. Chunks of ``chunk`` videos
    run on ``executor`` (see :mod:`facemind.parallel`), else in ``jobs`` local processes.
    """
    config.validate()
    out = Path(out)
    layout = ExtractionDir(out)
    settings_path = out / "synth_settings.json"
    cfg_dict = asdict(config)
    if settings_path.exists():
        previous = json.loads(settings_path.read_text(encoding="utf-8"))
        if previous != cfg_dict:
            raise FacemindError(
                f"{out}: holds a synthetic cohort made with other settings ({previous}); "
                "choose another `out` or remove it"
            )
    elif layout.frames_dir.exists() and any(layout.frames_dir.iterdir()):
        raise FacemindError(
            f"{layout.frames_dir}: not empty and not a synthetic cohort; choose another `out`"
        )
    layout.frames_dir.mkdir(parents=True, exist_ok=True)
    with atomic_path(settings_path) as tmp:
        tmp.write_text(json.dumps(cfg_dict, sort_keys=True) + "\n", encoding="utf-8")

    responses = make_responses(
        config.participants, seed=config.seed, discrepant_share=config.discrepant_share
    )
    write_table(responses, responses_path(out))
    plan = list(video_plan(responses, config.videos_per_participant))
    reused = sum(layout.frames_path(vid).exists() for _, vid, _, _ in plan)
    tasks = [(plan[i : i + chunk], str(out), cfg_dict) for i in range(0, len(plan), chunk)]
    rows: list[dict] = []
    if progress is not None:
        progress(0, len(plan))
    with open_executor(executor, jobs=jobs, n_tasks=len(tasks)) as pool:
        parts = map_ordered(pool, _write_chunk, tasks)
        for part in parts:
            rows.extend(part)
            if progress is not None:
                progress(len(rows), len(plan))
    manifest = pd.DataFrame(rows).astype(_MANIFEST_DTYPES)
    layout.write_manifest(manifest, metadata=SYNTH_METADATA)
    return SynthSummary(
        out=out,
        participants=len(responses),
        videos=len(manifest),
        discrepant=int(responses["synthetic_discrepant"].sum()),
        no_face_videos=int((manifest["status"] == "no_face").sum()),
        reused_videos=reused,
    )


def responses_path(out: str | os.PathLike[str]) -> Path:
    """The responses table of the cohort written to ``out``."""
    return Path(out) / RESPONSES_FILE


def read_responses(out: str | os.PathLike[str]) -> pd.DataFrame:
    """The responses of the cohort written to ``out`` (participant ids as text)."""
    return read_table(responses_path(out), dtype={"participant_id": str})
