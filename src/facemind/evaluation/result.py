"""A sweep's results: the per-fold table, its summary, the subgroup and prediction tables,
and where they come from (provenance); the files they are saved to, read back and named here
only."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from ..io import check_table_path, read_table
from .config import SweepPlan
from .subgroups import summarize_subgroups
from .summary import summarize


def _beside(results: str | Path, part: str) -> Path:
    p = Path(results)
    return p.with_name(f"{p.stem}_{part}{p.suffix}")


def summary_path(results: str | Path) -> Path:
    """Where the summary of ``results`` goes: ``<stem>_summary<suffix>`` beside it."""
    return _beside(results, "summary")


def subgroup_path(results: str | Path) -> Path:
    """Where the per-fold subgroup rows of ``results`` go: ``<stem>_subgroups<suffix>``."""
    return _beside(results, "subgroups")


def predictions_path(results: str | Path) -> Path:
    """Where the predictions of ``results`` go: ``<stem>_predictions<suffix>`` beside it."""
    return _beside(results, "predictions")


def result_files(results: str | Path) -> dict[str, Path]:
    """The file of each table of a sweep's results whose per-fold table is ``results``, by
    :class:`SweepResult` field: ``folds`` (``results`` itself), ``summary``, ``subgroups``,
    ``subgroup_summary`` (``<stem>_subgroups_summary<suffix>``) and ``predictions``."""
    return {
        "folds": Path(results),
        "summary": summary_path(results),
        "subgroups": subgroup_path(results),
        "subgroup_summary": summary_path(subgroup_path(results)),
        "predictions": predictions_path(results),
    }


@dataclass
class SweepResult:
    """Per-fold rows (:func:`result_columns`), the summary (:func:`summarize`) and notes on
    what was left out of the data."""

    folds: pd.DataFrame
    summary: pd.DataFrame
    notes: list[str]
    n_participants: int
    n_rows: int
    #: Columns left by the shared preprocessing (PCA components) in each (repeat, fold).
    components: list[int] = field(default_factory=list)
    #: CPU seconds spent in the shared preprocessing and in the model units (all workers),
    #: and per model (``model:<name>``).
    cpu_seconds: dict[str, float] = field(default_factory=dict)
    #: Where the results come from (:func:`facemind.provenance.make_record`).
    provenance: dict[str, Any] = field(default_factory=dict)
    #: Every warning the fits raised, as ``Category: message`` (in any worker process).
    warnings: list[str] = field(default_factory=list)
    #: With subgroups: per fold and fit, the metrics within each subgroup level
    #: (:func:`.subgroups.subgroup_columns`), and their summary.
    subgroups: pd.DataFrame | None = None
    subgroup_summary: pd.DataFrame | None = None
    #: With ``save_predictions``: every fit's out-of-fold predictions (:mod:`.predictions`).
    predictions: pd.DataFrame | None = None

    def save(self, path: str | Path) -> list[Path]:
        """Write the per-fold table to ``path`` (CSV or Parquet by extension), the summary
        beside it (``<stem>_summary<ext>``), the subgroup tables and the predictions
        (``<stem>_predictions<ext>``) when there are any, each with its provenance
        (:func:`result_files`); return the paths written."""
        from ..provenance import write_with_provenance

        check_table_path(path, "path")
        files = result_files(path)
        names = ["folds", "summary"]
        if self.subgroups is not None:
            names += ["subgroups", "subgroup_summary"]
        if self.predictions is not None:
            names.append("predictions")
        return [write_with_provenance(getattr(self, n), files[n], self.provenance) for n in names]

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> SweepResult:
        """The results :meth:`save` wrote to ``path``: the per-fold table, the tables beside
        it that exist (:func:`result_files`) and its provenance (``{}`` when it has none).

        A summary missing from beside the per-fold (or subgroup) table is computed from it.
        What is not saved is left empty: ``notes``, ``components``, ``cpu_seconds`` and
        ``warnings``, and 0 ``n_participants`` and ``n_rows``.
        """
        from ..provenance import read_provenance

        files = result_files(path)
        folds = read_table(files["folds"])
        provenance = read_provenance(files["folds"]) or {}
        tables = {n: read_table(p) for n, p in files.items() if n != "folds" and p.exists()}
        subgroups = tables.get("subgroups")
        subgroup_summary = tables.get("subgroup_summary")
        if subgroups is not None and subgroup_summary is None:
            subgroup_summary = summarize_subgroups(subgroups)
        return cls(
            folds=folds,
            summary=tables["summary"] if "summary" in tables else summarize(folds),
            notes=[],
            n_participants=0,
            n_rows=0,
            provenance=provenance,
            subgroups=subgroups,
            subgroup_summary=subgroup_summary,
            predictions=tables.get("predictions"),
        )


def sweep_provenance(
    plan: SweepPlan, tables: dict[str, tuple[pd.DataFrame, str]] | None = None
) -> dict[str, Any]:
    """The provenance record of a sweep of ``plan`` on ``tables``."""
    from ..provenance import make_record

    cfg = plan.config
    settings = {k: v for k, v in cfg.__dict__.items() if k != "jobs"}
    return make_record(
        "sweep",
        instrument=plan.instrument,
        subscales=plan.subscales,
        task=cfg.task,
        positive_band=cfg.positive_band,
        models=plan.models,
        settings=settings,
        seed=cfg.seed,
        tables=tables,
    )


def in_plan_order(folds: pd.DataFrame, plan: SweepPlan, then: Sequence[str] = ()) -> pd.DataFrame:
    """Rows sorted by subscale, model, protocol and criterion as the plan lists them, then
    fraction, repeat and fold."""
    cfg = plan.config
    ranks = {
        "_s": ("subscale", plan.subscales),
        "_m": ("model", plan.models),
        "_p": ("protocol", cfg.protocols),
        "_c": ("criterion", cfg.criteria),
    }
    ranked = folds.assign(
        **{
            tmp: folds[column].map({v: i for i, v in enumerate(order)})
            for tmp, (column, order) in ranks.items()
        }
    )
    return (
        ranked.sort_values([*ranks, "fraction", "repeat", "fold", *then], kind="stable")
        .drop(columns=list(ranks))
        .reset_index(drop=True)
    )
