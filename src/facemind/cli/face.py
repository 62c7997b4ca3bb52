"""Face commands: models fetch, extract, import-openface."""

from __future__ import annotations

import contextlib
from pathlib import Path
from types import SimpleNamespace

import typer

from ..face.landmarker import DEFAULT_MAX_FACES, DEFAULT_MIN_CONFIDENCE
from . import app
from .options import jobs_option, out_option

models_app = typer.Typer(help="The face model file (fetch and verify).", no_args_is_help=True)
app.add_typer(models_app, name="models")


@models_app.command("fetch")
def models_fetch(
    dest: Path = out_option(
        "Folder for the model file.", "--dest", default=None, show_default="the user cache"
    ),
) -> None:
    """Download the MediaPipe face model into the user cache and verify its sha256."""
    from ..face.model import fetch_model

    path, source = fetch_model(dest)
    typer.echo(f"face model: {path} ({source}, sha256 verified)")


@app.command("extract")
def extract(
    inputs: list[Path] = typer.Argument(..., help="Video files, folders or CSV lists."),
    out: Path = out_option("Output folder.", default=...),
    jobs: int | None = jobs_option("--workers", default=None),
    scheduler: str = typer.Option(None, "--scheduler", help="Address of a Dask scheduler."),
    model: Path = typer.Option(None, "--face-model", "--model", help="Face model file (.task)."),
    save_crops: int = typer.Option(
        0, "--save-crops", help="Save K aligned 112x112 face crops per video (off: 0)."
    ),
    min_confidence: float = typer.Option(
        DEFAULT_MIN_CONFIDENCE,
        "--min-confidence",
        min=0.0,
        max=1.0,
        help="Minimum face detection/presence confidence.",
    ),
    sample_fps: float = typer.Option(
        None,
        "--sample-fps",
        help="Process about F frames per second of video time (default: every frame).",
    ),
    au_calibration: str = typer.Option(
        "video",
        "--au-calibration",
        help="AU levels relative to each video's neutral reference (video) or absolute (none).",
    ),
    max_faces: int = typer.Option(
        DEFAULT_MAX_FACES,
        "--max-faces",
        min=1,
        help="Faces looked for per frame: the participant's is tracked, others are counted.",
    ),
    retry_failed: bool = typer.Option(False, "--retry-failed", help="Redo failed videos."),
    prune: bool = typer.Option(
        False, "--prune", help="Drop what OUT holds of videos not among these inputs."
    ),
    progress: bool = typer.Option(True, "--progress/--no-progress", help="Progress bar."),
) -> None:
    """Extract per-frame face signals into OUT/frames/ and OUT/manifest.parquet.

    Exits 1 when any video failed (after the whole batch; the others are kept), listing them.
    """
    from ..api import extract
    from ..face.layout import ExtractionDir
    from .progress import progress_bar

    if jobs is None:
        jobs = 1 if scheduler else -1  # -1: one per core
    with progress_bar("extract") if progress else contextlib.nullcontext() as bar:
        manifest = extract(
            inputs,
            out,
            face_model=model,
            save_crops=save_crops,
            min_confidence=min_confidence,
            sample_fps=sample_fps,
            au_calibration=au_calibration,
            max_faces=max_faces,
            jobs=jobs,
            scheduler=scheduler,
            retry_failed=retry_failed,
            prune=prune,
            progress=bar,
        )
    summary = SimpleNamespace(**manifest.attrs["run"])
    if summary.relabelled:
        typer.echo(
            f"{summary.relabelled} video(s) done earlier got a new participant id "
            "from these inputs (frames kept)"
        )
    if summary.pruned:
        typer.echo(f"{summary.pruned} video(s) not among these inputs dropped from {out}")
    if summary.not_given:
        typer.echo(
            f"{summary.not_given} video(s) extracted earlier are not among these inputs "
            "and stay in the manifest (--prune drops them)"
        )
    typer.echo(
        f"{summary.total} videos: {summary.skipped} already done, {summary.processed} processed; "
        f"{summary.ok} ok, {summary.partial} partial, {summary.no_face} without a face, "
        f"{summary.failed} failed; {summary.frames} frames in {summary.seconds:.1f} s; "
        f"manifest: {ExtractionDir(out).manifest_path}"
    )
    if summary.other_faces:
        lines = [
            f"{len(summary.other_faces)} video(s) show faces other than the participant's "
            "(whose face alone is used):"
        ]
        lines += [
            f"  {vid}: up to {most} faces in a frame, other faces in {n} frames"
            for vid, most, n in summary.other_faces[:10]
        ]
        if len(summary.other_faces) > 10:
            lines.append(f"  ... and {len(summary.other_faces) - 10} more (see the manifest)")
        typer.echo("\n".join(lines))
    if summary.failures:
        lines = [f"facemind: {len(summary.failures)} video(s) failed:"]
        lines += [f"  {vid} ({path}): {error}" for vid, path, error in summary.failures[:10]]
        if len(summary.failures) > 10:
            lines.append(f"  ... and {len(summary.failures) - 10} more (see the manifest)")
        lines.append("the other videos' outputs are kept; rerun with --retry-failed to redo these")
        typer.echo("\n".join(lines), err=True)
        raise SystemExit(1)


@app.command("import-openface")
def import_openface_cmd(
    csvs: list[Path] = typer.Argument(..., help="OpenFace 2.x CSV files."),
    out: Path = out_option("Output folder.", default=...),
    fps: float = typer.Option(
        None,
        "--fps",
        help="Frame rate: timestamps become frame/fps (OpenFace writes 1 ms steps for image sequences).",
    ),
) -> None:
    """Convert OpenFace CSVs into OUT/frames/ and OUT/manifest.parquet."""
    from ..face.layout import ExtractionDir
    from ..face.openface import import_openface

    manifest = import_openface([str(c) for c in csvs], out, fps=fps)
    typer.echo(
        f"imported {len(csvs)} OpenFace files; manifest: {ExtractionDir(out).manifest_path} "
        f"({len(manifest)} videos)"
    )
