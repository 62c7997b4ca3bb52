"""A trained model's cross-validated estimate: the sweep of that one model, without removal.

``fm.train(..., validate=K)`` stores it in the model's ``meta["validation"]``, so that a saved
model says how well it predicts participants it was not fitted on.
"""

from __future__ import annotations

import math
import os
from typing import Any

import pandas as pd

from ..instruments import Instrument, load_instrument
from .config import SweepConfig
from .execution import run_sweep

#: Training options that the sweep takes too (the others do not change the estimate's folds).
SHARED_OPTIONS = ("task", "positive_band", "balance", "grid_search", "seed", "id_column")


def cross_validate(
    features: pd.DataFrame | None,
    responses: pd.DataFrame,
    instrument: str | Instrument,
    subscale: str,
    model: str,
    *,
    folds: int,
    frames: str | os.PathLike[str] | None = None,
    features_name: str = "features",
    responses_name: str = "responses",
    **options: Any,
) -> dict[str, Any]:
    """``{"folds", "participants", "metrics": {metric: {"mean", "ci_low", "ci_high"}},
    "notes"}`` of ``model`` cross-validated in ``folds`` folds (JSON-safe: ``None`` for a
    metric a fold could not compute)."""
    inst = load_instrument(instrument)
    config = SweepConfig(
        subscales=[subscale],
        models=[model],
        fractions=[0.0],
        protocols=["paper"],
        criteria=["sdi"],
        folds=folds,
        frames=None if frames is None else str(frames),
        **{k: options[k] for k in SHARED_OPTIONS if k in options},
    )
    plan = config.validate(inst)
    notes: list[str] = []
    if frames is not None:
        features, features_name, notes = plan.deep_inputs()
    result = run_sweep(
        features, responses, inst, plan, features_name=features_name, responses_name=responses_name
    )
    row = result.summary.iloc[0]

    def value(name: str) -> float | None:
        v = float(row[name])
        return None if math.isnan(v) else v

    metrics = {
        name[: -len("_mean")]: {
            k: value(name.replace("_mean", s))
            for k, s in (("mean", "_mean"), ("ci_low", "_ci_low"), ("ci_high", "_ci_high"))
        }
        for name in row.index
        if name.endswith("_mean") and not name.endswith("_gain_mean")
    }
    return {
        "folds": folds,
        "participants": int(row["n_train"] + row["n_test"]),
        "metrics": metrics,
        "notes": [*notes, *result.notes],
    }


def describe(validation: dict[str, Any]) -> str:
    """One line: the estimate's main metrics with their 95% intervals."""
    parts = []
    for name in ("roc_auc", "balanced_accuracy", "f1", "pearson_r", "mae"):
        m = validation["metrics"].get(name)
        if m and m["mean"] is not None:
            ci = "" if m["ci_low"] is None else f" [{m['ci_low']:.2f}, {m['ci_high']:.2f}]"
            parts.append(f"{name} {m['mean']:.2f}{ci}")
    return f"cross-validated in {validation['folds']} folds: " + (", ".join(parts) or "no metric")
