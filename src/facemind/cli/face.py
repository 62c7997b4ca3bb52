"""Face commands: models fetch, extract, import-openface."""

from __future__ import annotations

from pathlib import Path

import typer

from ..face.landmarker import DEFAULT_MIN_CONFIDENCE
from . import app
from .options import extract_workers, jobs_option, out_option

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
    model: Path = typer.Option(None, "--model", help="Face model file (.task)."),
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
    retry_failed: bool = typer.Option(False, "--retry-failed", help="Redo failed videos."),
    progress: bool = typer.Option(True, "--progress/--no-progress", help="Progress bar."),
) -> None:
    """Extract per-frame face signals into OUT/frames/ and OUT/manifest.parquet."""
    from ..errors import FacemindError
    from ..face.batch import collect_inputs, run_batch
    from ..face.extract import ExtractSettings

    if jobs is not None and jobs > 1 and scheduler:
        raise FacemindError("give either --jobs or --scheduler, not both")
    if save_crops < 0:
        raise FacemindError(f"--save-crops must be 0 or more, got {save_crops}")
    workers = 1 if scheduler else extract_workers(jobs, lambda: len(collect_inputs(inputs)))
    summary = run_batch(
        [str(p) for p in inputs], out, model,
        settings=ExtractSettings(min_confidence=min_confidence, save_crops=save_crops),
        workers=workers, scheduler=scheduler, retry_failed=retry_failed, progress=progress,
    )  # fmt: skip
    typer.echo(
        f"{summary.total} videos: {summary.skipped} already done, {summary.processed} processed "
        f"({summary.failed} failed, {summary.no_face} without a face), {summary.frames} frames "
        f"in {summary.seconds:.1f} s; manifest: {Path(out) / 'manifest.parquet'}"
    )


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
    from ..face.openface import import_openface

    manifest = import_openface([str(c) for c in csvs], out, fps=fps)
    typer.echo(
        f"imported {len(csvs)} OpenFace files; manifest: {Path(out) / 'manifest.parquet'} "
        f"({len(manifest)} videos)"
    )
