"""The ``report`` command: one self-contained HTML file of a study."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from ..errors import InputError
from ..instruments import load_instrument
from ..io import read_table
from ..study import read_study_table
from . import app, err
from .options import out_option

if TYPE_CHECKING:
    from ..report.html import ReportData


def _check_results(results: Path, data: ReportData) -> None:
    """Refuse results of another instrument, subscale or responses table (one line); take the
    sweep's positive band from their provenance."""
    from ..provenance import check_results, read_provenance

    record = read_provenance(results)
    if record is not None:
        check_results(
            record, results=results, instrument=data.instrument, responses=data.responses,
            responses_name=data.source,
        )  # fmt: skip
        data.positive_band = record.get("positive_band") or data.positive_band
        data.provenance = record
    if "subscale" in data.folds.columns:
        stray = sorted(set(data.folds["subscale"].astype(str)) - set(data.instrument.subscales))
        if stray:
            raise InputError(
                f"results of subscale(s) {', '.join(stray)}, not in {data.instrument.id}",
                file=str(results),
            )


def load_report_data(
    responses: Path,
    instrument: str,
    *,
    results: Path | None = None,
    extraction: Path | None = None,
    features: Path | None = None,
    id_column: str = "participant_id",
    importance: Path | None = None,
) -> ReportData:
    """Read the study's files (ids as text) into :class:`ReportData`."""
    from ..evaluation import summarize, summary_path
    from ..report.html import ReportData

    data = ReportData(
        responses=read_study_table(responses, (id_column, "video_id")),
        instrument=load_instrument(instrument),
        id_column=id_column,
        source=str(responses),
    )
    if results is not None:
        data.folds = read_table(results)
        _check_results(results, data)
        side = summary_path(results)
        data.summary = read_table(side) if side.exists() else summarize(data.folds)
        from ..evaluation.subgroups import subgroup_path

        if subgroup_path(results).exists():
            data.subgroups = read_table(subgroup_path(results))
    if importance is not None:
        from ..evaluation.importance import check_importance_table

        data.importance = check_importance_table(read_table(importance), str(importance))
    if extraction is not None:
        manifest = extraction / "manifest.parquet"
        if not manifest.exists():
            raise InputError("no manifest.parquet in the extraction folder", file=str(extraction))
        data.manifest = read_table(manifest)
    if features is not None:
        data.features = read_table(features)
    return data


@app.command("report")
def report_cmd(
    responses: Annotated[Path, typer.Option("--responses", help="Item responses (.csv/.parquet).")],
    instrument: Annotated[
        str, typer.Option("--instrument", "-i", help="Built-in id or spec file.")
    ],
    output: Annotated[Path, out_option("The HTML file to write.", "--output")],
    results: Annotated[
        Path | None,
        typer.Option(
            "--results", help="Per-fold sweep results (its _summary file is used if beside it)."
        ),
    ] = None,
    extraction: Annotated[
        Path | None,
        typer.Option(
            "--extraction", help="Extraction folder (manifest.parquet) for quality figures."
        ),
    ] = None,
    features: Annotated[
        Path | None,
        typer.Option(
            "--features",
            help="Features table: adds a feature-coverage section (per channel group).",
        ),
    ] = None,
    id_column: Annotated[
        str, typer.Option("--id-column", help="Participant id column.")
    ] = "participant_id",
    importance: Annotated[
        Path | None,
        typer.Option("--importance", help="Channel importance table from facemind explain."),
    ] = None,
) -> None:
    """Write a self-contained HTML report: cohort, scores, SDI, models, calibration, subgroups,
    channel importance, clusters, extraction and a reporting checklist."""
    from ..report.html import write_report

    data = load_report_data(
        responses,
        instrument,
        results=results,
        extraction=extraction,
        features=features,
        id_column=id_column,
        importance=importance,
    )
    path = write_report(data, output)
    err.print(f"report written to {path.resolve()}")
