"""The ``report`` command: one self-contained HTML file of a study."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from ..errors import InputError
from ..instruments import load_instrument
from ..io import read_table
from . import app, err

if TYPE_CHECKING:
    from ..report.html import ReportData


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

    csv_ids = {"dtype": {id_column: "string"}} if responses.suffix.lower() == ".csv" else {}
    data = ReportData(
        responses=read_table(responses, **csv_ids),
        instrument=load_instrument(instrument),
        id_column=id_column,
        source=str(responses),
    )
    if results is not None:
        data.folds = read_table(results)
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
    output: Annotated[Path, typer.Option("--output", "-o", help="The HTML file to write.")],
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
        Path | None, typer.Option("--features", help="Features table (optional).")
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
