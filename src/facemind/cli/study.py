"""Study commands: ``synth`` (synthetic cohorts) and ``features`` (frame tables to features)."""

from __future__ import annotations

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
    out_option,
    resolve_jobs,
)
from .progress import progress_bar as _progress

# --------------------------------------------------------------------------------------------
# synth
# --------------------------------------------------------------------------------------------


@app.command("synth")
def synth_cmd(
    participants: Annotated[
        int, typer.Option("--participants", "-n", help="Number of participants.")
    ],
    out_dir: Annotated[Path, out_option("Output directory.")],
    seed: Annotated[
        int, typer.Option("--seed", help="Random seed (outputs are a function of it).")
    ] = 0,
    discrepant_share: Annotated[
        float,
        typer.Option(
            "--discrepant-share", help="Share of respondents with atypical item profiles."
        ),
    ] = 0.1,
    fps: Annotated[float, typer.Option("--fps", help="Frames per second of the videos.")] = 5.0,
    duration: Annotated[
        float, typer.Option("--duration", help="Nominal video length in seconds (+-15%).")
    ] = 60.0,
    videos_per_participant: Annotated[
        int, typer.Option("--videos-per-participant", help="Videos (tasks) per participant.")
    ] = 1,
    signal: Annotated[
        float, typer.Option("--signal", help="Strength of the latent states' effect on faces.")
    ] = 1.0,
    jobs: JobsOpt = None,
) -> None:
    """Write a SYNTHETIC cohort: responses.csv, frames/*.parquet, manifest.parquet."""
    from ..synth import SynthConfig, write_cohort

    config = SynthConfig(
        participants=participants,
        seed=seed,
        discrepant_share=discrepant_share,
        fps=fps,
        duration=duration,
        videos_per_participant=videos_per_participant,
        signal=signal,
    )
    start = time.perf_counter()
    with _progress("synth") as progress:
        s = write_cohort(out_dir, config, jobs=resolve_jobs(jobs), progress=progress)
    reused = f" ({s.reused_videos} reused from an earlier run)" if s.reused_videos else ""
    out.print(
        f"synthetic cohort: {s.participants} participants ({s.discrepant} planted discrepant), "
        f"{s.videos} videos{reused}, {s.no_face_videos} without any face frame; "
        f"written to {s.out} in {time.perf_counter() - start:.1f} s"
    )


# --------------------------------------------------------------------------------------------
# features
# --------------------------------------------------------------------------------------------


@app.command("features")
def features_cmd(
    frames_dir: Annotated[
        Path, typer.Argument(help="Extraction directory (manifest.parquet + frames/).")
    ],
    output: Annotated[Path, out_option("Features table (.parquet or .csv).")],
    groups: Annotated[
        str | None,
        typer.Option(
            "--groups",
            help="Comma-separated channel groups: aus,pose,gaze,landmarks,blendshapes.",
            show_default="every group present",
        ),
    ] = None,
    per: Annotated[
        str, typer.Option("--per", help="One row per 'video' or per 'participant'.")
    ] = "video",
    min_face_frames: Annotated[
        int, typer.Option("--min-face-frames", help="Leave out videos with fewer face frames.")
    ] = 10,
    activation_threshold: Annotated[
        float, typer.Option("--activation-threshold", help="AU intensity counted as active.")
    ] = 1.0,
    blink_threshold: Annotated[
        float, typer.Option("--blink-threshold", help="AU45 intensity counted as a blink.")
    ] = 1.0,
    jobs: JobsOpt = None,
) -> None:
    """Per-video (or per-participant) statistics, dynamics and coverage of frame tables."""
    from ..api import features
    from ..functionals import feature_columns

    group_list = None
    if groups is not None:
        group_list = [g.strip() for g in groups.split(",") if g.strip()]
        if not group_list:
            raise FacemindError("--groups: give at least one group")
    start = time.perf_counter()
    with _progress("features") as progress:
        table = features(
            frames_dir,
            groups=group_list,
            per=per,
            min_face_frames=min_face_frames,
            activation_threshold=activation_threshold,
            blink_threshold=blink_threshold,
            out=output,
            jobs=resolve_jobs(jobs),
            progress=progress,
        )
    synthetic = " (SYNTHETIC data)" if "synthetic" in table.columns else ""
    out.print(
        f"{table.attrs['summary']}; {len(feature_columns(table))} features written to {output}"
        f"{synthetic} in {time.perf_counter() - start:.1f} s"
    )


# --------------------------------------------------------------------------------------------
# sweep
# --------------------------------------------------------------------------------------------


def _csv_list(option: str, text: str) -> list[str]:
    values = [v.strip() for v in text.split(",") if v.strip()]
    if not values:
        raise FacemindError(f"{option}: give at least one value")
    return values


def _numbers(option: str, text: str) -> list[float]:
    try:
        return [float(v) for v in _csv_list(option, text)]
    except ValueError:
        raise FacemindError(f"{option}: not a comma-separated list of numbers: {text!r}") from None


def _bins(text: str) -> int | dict[str, list[float]]:
    """``--subgroup-bins``: a count of quantile bins, or ``COLUMN=CUT,CUT;...``."""
    if text.strip().isdigit():
        return int(text)
    out: dict[str, list[float]] = {}
    for part in (p for p in text.split(";") if p.strip()):
        name, _, cuts = part.partition("=")
        try:
            out[name.strip()] = [float(c) for c in _csv_list("--subgroup-bins", cuts)]
        except ValueError:
            raise FacemindError(f"--subgroup-bins: not COLUMN=CUT,CUT: {part!r}") from None
    if not out:
        raise FacemindError(f"--subgroup-bins: give a number or COLUMN=CUT,CUT, got {text!r}")
    return out


@app.command("sweep")
def sweep_cmd(
    responses: Annotated[Path, typer.Option("--responses", help="Item responses (.csv/.parquet).")],
    instrument: InstrumentOpt,
    output: Annotated[
        Path,
        out_option(
            "Per-fold results (.csv/.parquet); the summary goes beside it as <stem>_summary<ext>."
        ),
    ],
    features: Annotated[
        Path | None, typer.Option("--features", help="Features table (.parquet/.csv).")
    ] = None,
    frames: Annotated[
        Path | None,
        typer.Option(
            "--frames",
            help="Extraction directory (manifest, frames/, crops/): inputs of the deep models "
            "sequence, frames-cnn and clip-cnn, instead of --features.",
        ),
    ] = None,
    subscales: Annotated[
        str | None,
        typer.Option("--subscales", help="Comma-separated.", show_default="every subscale"),
    ] = None,
    task: TaskOpt = "binary",
    positive_band: PositiveBandOpt = "mild",
    models: Annotated[
        str | None,
        typer.Option(
            "--models",
            help="Comma-separated model names.",
            show_default="logreg,svm,rf,gbt (ridge instead of logreg for regression)",
        ),
    ] = None,
    fractions: Annotated[
        str, typer.Option("--fractions", help="Removal fractions.")
    ] = "0,0.05,0.1,0.2,0.3,0.4,0.5",
    protocols: Annotated[
        str, typer.Option("--protocols", help="paper and/or train-only.")
    ] = "paper,train-only",
    criteria: Annotated[
        str,
        typer.Option(
            "--criteria",
            help="Removal criteria: sdi, random, mahalanobis, irv, longstring, guttman.",
        ),
    ] = "sdi,random",
    folds: Annotated[int, typer.Option("--folds", help="Cross-validation folds.")] = 5,
    repeats: Annotated[int, typer.Option("--repeats", help="Repeats of the k-fold split.")] = 1,
    seed: SeedOpt = 0,
    jobs: JobsOpt = None,
    scheduler: Annotated[
        str | None,
        typer.Option(
            "--scheduler",
            help="Address of a running Dask scheduler (tcp://host:8786): run on its workers "
            "instead of --jobs; the same rows as a local run.",
        ),
    ] = None,
    balance: BalanceOpt = "downsample",
    grid_search: Annotated[
        bool, typer.Option("--grid-search", help="Inner grid search in every training fold.")
    ] = False,
    refit_preprocessing: Annotated[
        bool,
        typer.Option(
            "--refit-preprocessing",
            help="Refit scaler and PCA on every filtered training set (slower) instead of once "
            "per training fold.",
        ),
    ] = False,
    id_column: JoinIdOpt = "participant_id",
    encoding: EncodingOpt = None,
    group_by: Annotated[
        str,
        typer.Option(
            "--group-by",
            help="Compare and remove respondents within groups of the same raw total or "
            "severity band (as sdi --group-by; the report follows).",
        ),
    ] = "total",
    verbose: Annotated[
        bool, typer.Option("--verbose", help="Print every library warning as it was raised.")
    ] = False,
    subgroups: Annotated[
        str | None,
        typer.Option(
            "--subgroups",
            help="Comma-separated response columns (e.g. gender,age): metrics within each level "
            "of every test fold, in <stem>_subgroups<ext> and <stem>_subgroups_summary<ext>.",
        ),
    ] = None,
    subgroup_bins: Annotated[
        str,
        typer.Option(
            "--subgroup-bins",
            help="Bins of numeric subgroup columns with many values: a number of quantile bins, "
            "or COLUMN=CUT,CUT;... inner cut points.",
        ),
    ] = "4",
    save_predictions: Annotated[
        bool,
        typer.Option(
            "--save-predictions",
            help="Also write every fit's out-of-fold predictions (y_true, y_pred, y_score, "
            "discrepancy) to <stem>_predictions<ext>.",
        ),
    ] = False,
    train_sizes: Annotated[
        str | None,
        typer.Option(
            "--train-sizes",
            help="Learning curves: shares of every training fold (e.g. 0.1,0.25,0.5,1), nested "
            "stratified subsamples tested on the whole test fold, without removal.",
        ),
    ] = None,
    cv_groups: Annotated[
        str | None,
        typer.Option(
            "--cv-groups",
            help="A responses column (e.g. school): folds never put one of its values on both "
            "sides of a split.",
        ),
    ] = None,
) -> None:
    """Cross-validated models x removal protocols x criteria x fractions, one row per fold."""
    from ..api import sweep
    from ..evaluation import SweepConfig, plan_size
    from ..evaluation.result import result_files
    from ..instruments import load_instrument
    from .notices import quiet_warnings

    if scheduler is not None and jobs is not None:
        raise FacemindError("give --jobs (local processes) or --scheduler (a Dask cluster)")
    fraction_values = _numbers("--fractions", fractions)
    sizes = _numbers("--train-sizes", train_sizes) if train_sizes is not None else None
    settings = dict(
        subscales=_csv_list("--subscales", subscales) if subscales is not None else None,
        task=task,
        positive_band=positive_band,
        models=_csv_list("--models", models) if models is not None else None,
        fractions=fraction_values,
        protocols=_csv_list("--protocols", protocols),
        criteria=_csv_list("--criteria", criteria),
        folds=folds,
        repeats=repeats,
        seed=seed,
        jobs=1 if scheduler is not None else resolve_jobs(jobs),
        balance=balance,
        grid_search=grid_search,
        id_column=id_column,
        frames=str(frames) if frames is not None else None,
        refit_preprocessing=refit_preprocessing,
        group_by=group_by,
        save_predictions=save_predictions,
        train_sizes=sizes,
        cv_groups=cv_groups,
    )
    start = time.perf_counter()
    with quiet_warnings(verbose) as caught, _progress("sweep") as progress:
        result = sweep(
            features,
            responses,
            instrument,
            out=output,
            progress=progress,
            scheduler=scheduler,
            subgroups=_csv_list("--subgroups", subgroups) if subgroups is not None else None,
            subgroup_bins=_bins(subgroup_bins),
            encoding=encoding,
            **settings,
        )
        caught.extend(result.warnings)
    for note in result.notes:
        err.print(f"note: {note}", soft_wrap=True)
    files = result_files(output)
    summary = files["summary"]
    if result.subgroups is not None:
        side, side_summary = files["subgroups"], files["subgroup_summary"]
        out.print(f"subgroup metrics in {side} and {side_summary}", soft_wrap=True)
    if result.predictions is not None:
        side = files["predictions"]
        out.print(f"{len(result.predictions)} out-of-fold predictions in {side}", soft_wrap=True)
    fits = plan_size(SweepConfig(**settings), load_instrument(instrument))
    out.print(
        f"{len(result.folds)} fold rows ({fits} fits) on {result.n_participants} participants "
        f"({result.n_rows} feature rows) written to {output}; summary (means, 95% corrected "
        f"resampled t-intervals over folds) in {summary}; {time.perf_counter() - start:.1f} s",
        soft_wrap=True,
    )
