"""A sweep's results: the per-fold table, its summary, the subgroup and prediction tables,
and where they come from (provenance)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from ..io import check_table_path
from .config import SweepPlan


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
        (``<stem>_predictions<ext>``) when there are any, each with its provenance; return
        the paths written."""
        from ..provenance import write_with_provenance
        from .predictions import predictions_path
        from .subgroups import subgroup_path
        from .summary import summary_path

        check_table_path(path, "path")
        tables = [(self.folds, Path(path)), (self.summary, summary_path(path))]
        if self.subgroups is not None:
            tables += [
                (self.subgroups, subgroup_path(path)),
                (self.subgroup_summary, summary_path(subgroup_path(path))),
            ]
        if self.predictions is not None:
            tables.append((self.predictions, predictions_path(path)))
        return [write_with_provenance(t, p, self.provenance) for t, p in tables]


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
