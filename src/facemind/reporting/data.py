"""What a report is made of, and how it is gathered from a study's tables and files."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pandas as pd

from ..errors import InputError
from ..face.layout import ExtractionDir
from ..instruments import Instrument, load_instrument
from ..io import read_table
from ..study import study_table

if TYPE_CHECKING:
    from ..evaluation import SweepResult

Table = pd.DataFrame | str | os.PathLike[str]


@dataclass
class ReportData:
    """Everything the report draws from; optional parts may be None.

    ``positive_band`` is the sweep's positive band (binary task), when known;
    ``extraction_note`` says what the extraction section's videos are, when they are not the
    cohort's own (the demo's real sample videos).
    """

    responses: pd.DataFrame
    instrument: Instrument
    folds: pd.DataFrame | None = None
    summary: pd.DataFrame | None = None
    manifest: pd.DataFrame | None = None
    features: pd.DataFrame | None = None
    id_column: str = "participant_id"
    source: str = "responses"
    positive_band: str | None = None
    #: Where the results come from (:func:`facemind.provenance.read_provenance`), when known.
    provenance: dict | None = None
    extraction_note: str | None = None
    #: Per-fold subgroup metrics (``sweep --subgroups``) and channel importance (``explain``).
    subgroups: pd.DataFrame | None = None
    importance: pd.DataFrame | None = None
    #: Out-of-fold predictions (``sweep --save-predictions``), and the per-fold rows of every
    #: training size (``sweep --train-sizes``; ``folds`` and ``summary`` then keep the full
    #: training folds only, see :func:`full_training_folds`).
    predictions: pd.DataFrame | None = None
    learning: pd.DataFrame | None = None
    #: How the SDI section groups respondents when asked (``report(group_by=)``).
    sdi_group_by: str | None = None

    @property
    def group_by(self) -> str:
        """How the SDI groups respondents: as asked, else as the sweep did, else ``total``."""
        settings = (self.provenance or {}).get("settings") or {}
        return str(self.sdi_group_by or settings.get("group_by") or "total")


def full_training_folds(data: ReportData) -> ReportData:
    """``data`` with learning-curve rows moved from ``folds`` to ``learning``, so that every
    other section sees the fits on full training folds only."""
    from dataclasses import replace

    folds = data.folds
    if folds is None or "train_size" not in folds.columns or (folds["train_size"] == 1.0).all():
        return data
    summary = data.summary
    if summary is not None and "train_size" in summary.columns:
        summary = summary[summary["train_size"] == 1.0].reset_index(drop=True)
    full = folds[folds["train_size"] == 1.0].reset_index(drop=True)
    return replace(data, folds=full, summary=summary, learning=folds)


def _take_provenance(data: ReportData, record: dict[str, Any] | None) -> None:
    if record:
        data.provenance = record
        data.positive_band = record.get("positive_band") or data.positive_band


def _check_subscales(data: ReportData, results: str) -> None:
    if data.folds is not None and "subscale" in data.folds.columns:
        stray = sorted(set(data.folds["subscale"].astype(str)) - set(data.instrument.subscales))
        if stray:
            raise InputError(
                f"results of subscale(s) {', '.join(stray)}, not in {data.instrument.id}",
                file=results,
            )


def _take_results(data: ReportData, result: SweepResult) -> None:
    data.folds, data.summary, data.subgroups = result.folds, result.summary, result.subgroups
    data.predictions = result.predictions
    _take_provenance(data, result.provenance)


def _read_results(data: ReportData, results: str | os.PathLike[str]) -> None:
    """The results saved at ``results`` (:meth:`SweepResult.load`: the per-fold table and
    what lies beside it), after refusing results of another instrument, spec or responses
    table."""
    from ..evaluation import SweepResult
    from ..provenance import check_results

    result = SweepResult.load(results)
    if result.provenance:
        check_results(
            result.provenance,
            results=results,
            instrument=data.instrument,
            responses=data.responses,
            responses_name=data.source,
        )
    _take_results(data, result)


def load_report_data(
    responses: Table,
    instrument: str | os.PathLike[str] | Instrument,
    *,
    results: SweepResult | str | os.PathLike[str] | None = None,
    extraction: str | os.PathLike[str] | None = None,
    features: Table | None = None,
    importance: Table | None = None,
    id_column: str = "participant_id",
    encoding: str | None = None,
    group_by: str | None = None,
) -> ReportData:
    """Gather a report's parts: tables as given, files read with their ids as text (CSV text
    in ``encoding``, or detected).

    ``results`` is a sweep result or the path of its per-fold table (its summary, subgroup
    and prediction tables are read from beside it); ``extraction`` is an extraction folder,
    whose manifest feeds the extraction section; ``group_by`` groups the SDI section
    (``total`` or ``band``; default: as the sweep did).
    """
    from ..errors import ParameterError, check_choice
    from ..evaluation import SweepResult

    if group_by is not None:
        check_choice("group_by", group_by, ("total", "band"))

    resp, source = study_table(responses, id_column, encoding)
    data = ReportData(
        responses=resp, instrument=load_instrument(instrument), id_column=id_column, source=source
    )
    if isinstance(results, SweepResult):
        _take_results(data, results)
        _check_subscales(data, "the sweep result")
    elif results is not None:
        _read_results(data, results)
        _check_subscales(data, str(results))
    if group_by is not None:
        swept = data.group_by
        if data.provenance is not None and group_by != swept:
            raise ParameterError(
                f"`group_by` {group_by!r} differs from the sweep's {swept!r}: the SDI section "
                "must group as the sweep removed"
            )
        data.sdi_group_by = group_by
    if importance is not None:
        from ..evaluation.importance import check_importance_table

        table, name = study_table(importance, id_column, encoding)
        data.importance = check_importance_table(table, name)
    if extraction is not None:
        manifest = ExtractionDir(extraction).manifest_path
        if not manifest.exists():
            raise InputError("no manifest.parquet in the extraction folder", file=str(extraction))
        data.manifest = read_table(manifest)
    if features is not None:
        data.features = study_table(features, id_column, encoding)[0]
    return data
