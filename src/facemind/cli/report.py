"""The ``report`` command: one self-contained HTML file of a study."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from . import app, err
from .options import EncodingOpt, InstrumentOpt, out_option


@app.command("report")
def report_cmd(
    responses: Annotated[Path, typer.Option("--responses", help="Item responses (.csv/.parquet).")],
    instrument: InstrumentOpt,
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
    encoding: EncodingOpt = None,
    group_by: Annotated[
        str | None,
        typer.Option(
            "--group-by",
            help="SDI groups: raw subscale total or severity band [default: as the sweep did].",
        ),
    ] = None,
) -> None:
    """Write a self-contained HTML report: cohort, scores, SDI, models, calibration, subgroups,
    channel importance, clusters, extraction and a reporting checklist."""
    from ..api import report

    path = report(
        results,
        responses,
        instrument,
        output,
        extraction=extraction,
        features=features,
        importance=importance,
        id_column=id_column,
        encoding=encoding,
        group_by=group_by,
    )
    err.print(f"report written to {path.resolve()}")
