"""Model commands: ``train`` (fit one model on a cohort and save it) and ``predict`` (score
new videos, an extraction directory or a features table with a saved model)."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Annotated

import typer

from ..errors import FacemindError
from . import app, err, out
from .options import (
    BalanceOpt,
    EncodingOpt,
    InstrumentOpt,
    JobsOpt,
    JoinIdOpt,
    PositiveBandOpt,
    SeedOpt,
    TaskOpt,
    face_model_option,
    out_option,
    resolve_jobs,
)


def _params(text: str | None) -> dict | None:
    if text is None:
        return None
    try:
        value = json.loads(text)
    except ValueError as exc:
        raise FacemindError(f"--params: not a JSON object: {exc}") from None
    if not isinstance(value, dict):
        raise FacemindError("--params: give a JSON object, e.g. '{\"epochs\": 20}'")
    return value


@app.command("train")
def train_cmd(
    responses: Annotated[Path, typer.Option("--responses", help="Item responses (.csv/.parquet).")],
    instrument: InstrumentOpt,
    subscale: Annotated[str, typer.Option("--subscale", help="Subscale to model.")],
    model: Annotated[
        str,
        typer.Option(
            "--model",
            help="logreg, ridge, svm, rf, gbt (on --features); sequence (frame tables) or "
            "frames-cnn, clip-cnn (face crops) on --frames.",
        ),
    ],
    output: Annotated[Path, out_option("Model directory to write.")],
    features: Annotated[
        Path | None, typer.Option("--features", help="Features table for classical models.")
    ] = None,
    frames: Annotated[
        Path | None,
        typer.Option(
            "--frames", help="Extraction directory (manifest, frames/, crops/) for deep models."
        ),
    ] = None,
    task: TaskOpt = "binary",
    positive_band: PositiveBandOpt = "mild",
    balance: BalanceOpt = "downsample",
    grid_search: Annotated[
        bool, typer.Option("--grid-search", help="Inner grid search (classical models).")
    ] = False,
    seed: SeedOpt = 0,
    validate: Annotated[
        bool,
        typer.Option("--validate", help="Also store a cross-validated estimate (see --folds)."),
    ] = False,
    folds: Annotated[
        int, typer.Option("--folds", min=2, help="Folds of the --validate estimate.")
    ] = 5,
    params: Annotated[
        str | None,
        typer.Option("--params", help="Deep model settings as JSON, e.g. '{\"epochs\": 20}'."),
    ] = None,
    id_column: JoinIdOpt = "participant_id",
    encoding: EncodingOpt = None,
    verbose: Annotated[
        bool, typer.Option("--verbose", help="Print every library warning as it was raised.")
    ] = False,
) -> None:
    """Fit one model on every participant and save it (JSON + safetensors, no pickle)."""
    from ..api import train
    from .notices import quiet_warnings

    if (features is None) == (frames is None):
        raise FacemindError(
            "give exactly one of --features F (classical models) or --frames DIR (deep models)"
        )
    start = time.perf_counter()
    with quiet_warnings(verbose):
        trained = train(
            features,
            responses,
            instrument,
            subscale=subscale,
            model=model,
            frames=frames,
            task=task,
            positive_band=positive_band,
            balance=balance,
            grid_search=grid_search,
            seed=seed,
            id_column=id_column,
            params=_params(params),
            validate=folds if validate else 0,
            encoding=encoding,
        )
    for note in trained.meta["training"]["notes"]:
        err.print(f"note: {note}")
    if "validation" in trained.meta:
        from ..evaluation.validation import describe

        out.print(describe(trained.meta["validation"]))
    trained.save(output)
    t = trained.meta["training"]
    out.print(
        f"{model} ({task}, {trained.meta['instrument']} {subscale}) trained on "
        f"{t['participants']} participants ({t['rows_fitted']} rows fitted) and saved to "
        f"{output} in {time.perf_counter() - start:.1f} s"
    )


@app.command("predict")
def predict_cmd(
    videos: Annotated[
        list[Path] | None, typer.Argument(help="Video files, folders or CSV lists of videos.")
    ] = None,
    model: Annotated[
        Path, typer.Option("--model", help="Model directory from `facemind train`.")
    ] = ...,
    output: Annotated[Path, out_option("Predictions (.csv/.parquet).")] = ...,
    features: Annotated[
        Path | None, typer.Option("--features", help="Score a features table instead of videos.")
    ] = None,
    face_model: Annotated[Path | None, face_model_option()] = None,
    jobs: JobsOpt = None,
    encoding: EncodingOpt = None,
) -> None:
    """Score videos with a saved model: extraction (in memory), features, model; one row per video.

    Exits 1 when any video could not be read (after all of them; the others are scored), as
    extract does.
    """
    from ..api import load_model
    from ..io import TABLE_SUFFIXES, write_table
    from ..study import read_study_table

    if output.suffix.lower() not in TABLE_SUFFIXES:
        raise FacemindError(f"{output}: unsupported --out extension (use .csv or .parquet)")
    if bool(videos) == (features is not None):
        raise FacemindError("give videos to score, or --features F (not both)")
    start = time.perf_counter()
    trained = load_model(model)
    if features is not None:
        result = trained.predict_features(
            read_study_table(features, encoding=encoding), source=str(features)
        )
    else:
        result = trained.predict_videos(
            videos,
            face_model=face_model,
            jobs=resolve_jobs(jobs),
            on_video=lambda v, status: err.print(f"extracted {v} ({status})"),
        )
    write_table(result, output)
    scored = result["status"].isin(["ok", "partial"])
    for vid, error in result.attrs.get("partial", {}).items():
        err.print(f"note: {vid}: partial, scored on the frames decoded ({error})")
    for _, row in result[~scored].iterrows():
        err.print(f"note: {row['video_id']}: no prediction ({row['status']})")
    out.print(
        f"{int(scored.sum())} of {len(result)} video(s) scored with {trained.meta['model']} "
        f"({trained.meta['task']}, {trained.meta['subscale']}); written to {output} in "
        f"{time.perf_counter() - start:.1f} s"
    )
    if len(result):
        out.print(f"target: {result['target'].iloc[0]}")
    failed = result["status"].astype(str).str.startswith("extraction_failed")
    if failed.any():
        err.print(
            f"facemind: {int(failed.sum())} video(s) could not be read; the others' "
            f"predictions are in {output}"
        )
        raise SystemExit(1)
