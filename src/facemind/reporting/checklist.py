"""The report's closing section: a reporting checklist (TRIPOD+AI, BMJ 2024) filled in from
what facemind itself recorded, with what it cannot know marked as such."""

from __future__ import annotations

import html
import json
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from ..errors import FacemindError
from ..evaluation.metrics import REGRESSION_METRICS
from .names import model_name

if TYPE_CHECKING:
    from .data import ReportData

UNKNOWN = "<i>not known to facemind: state it in the paper</i>"


def _esc(text: object) -> str:
    return html.escape(str(text))


def _ci(mean: float, lo: float, hi: float) -> str:
    from .appraisal import _ci as ci

    return ci(mean, lo, hi)


def _participants(data: ReportData) -> str:
    """Respondents, complete answers per subscale, and who was left out of the join."""
    from ..study import prepare_study

    parts = [f"{len(data.responses)} respondents in {_esc(data.source)}"]
    if data.features is not None:
        try:
            study = prepare_study(
                data.features,
                data.responses,
                data.instrument,
                id_column=data.id_column,
                responses_name=data.source,
            )
        except FacemindError as exc:
            return parts[0] + f"; features could not be joined: {_esc(exc)}"
        parts.append(
            f"{study.n_people} with features and complete answers ({len(study.X)} feature rows)"
        )
        parts += [_esc(n) for n in study.notes] or ["nobody left out"]
    return "; ".join(parts)


def _predictors(data: ReportData) -> str:
    from ..evaluation.importance import channel_of, group_of
    from ..functionals import feature_columns

    if data.features is None:
        return "facial features (table not given to the report)"
    cols = feature_columns(data.features)
    counts = pd.Series([group_of(channel_of(c)) for c in cols]).value_counts()
    return (
        f"{len(cols)} per-video facial features, by channel group: "
        + ", ".join(f"{g} {n}" for g, n in counts.items())
        + "; summarized over face frames (statistics, dynamics, coverage)"
    )


def _sample(folds: pd.DataFrame) -> str:
    """Rows per fold and class counts of the test folds of one repeat at fraction 0."""
    base = folds[(folds["fraction"] == 0.0) & (folds["repeat"] == folds["repeat"].min())]
    out = []
    first = base[base["model"] == base["model"].iloc[0]] if len(base) else base
    for sub, g in first.groupby("subscale", sort=False):
        g = g.drop_duplicates("fold")
        n = int(g["n_test"].sum())
        text = f"{_esc(sub)}: {n} rows"
        if "confusion" in g.columns and g["confusion"].notna().all():
            totals = np.sum([np.asarray(json.loads(c)) for c in g["confusion"]], axis=0)
            text += (
                " ("
                + ", ".join(f"class {i}: {int(v)}" for i, v in enumerate(totals.sum(axis=1)))
                + ")"
            )
        out.append(text)
    return "; ".join(out)


def grouping(record: dict | None) -> str:
    """How the folds were grouped: by participant, or by the ``cv_groups`` column."""
    column = ((record or {}).get("settings") or {}).get("cv_groups")
    if column:
        return (
            f"grouped by {_esc(column)} (no {_esc(column)} on both sides of a split: "
            "validation across sites)"
        )
    return "grouped by participant"


def _validation(folds: pd.DataFrame, record: dict | None = None) -> str:
    k = int(folds["fold"].max()) + 1
    r = int(folds["repeat"].max()) + 1
    fractions = ", ".join(f"{f:.0%}" for f in sorted(set(folds["fraction"])))
    return (
        f"{r} x {k}-fold cross-validation, stratified on the outcome and {grouping(record)}; "
        f"protocols {', '.join(map(_esc, dict.fromkeys(folds['protocol'])))}; removal criteria "
        f"{', '.join(map(_esc, dict.fromkeys(folds['criterion'])))} at {fractions}. "
        "Preprocessing and models fitted on training folds only; no external validation."
    )


def _performance(summ: pd.DataFrame, metrics: tuple[str, ...]) -> str:
    base = summ[summ["fraction"] == 0.0].drop_duplicates(["subscale", "model"])
    items = []
    for r in base.itertuples():
        vals = [
            f"{m} {_ci(getattr(r, f'{m}_mean'), getattr(r, f'{m}_ci_low'), getattr(r, f'{m}_ci_high'))}"
            for m in metrics
            if hasattr(r, f"{m}_mean")
        ]
        items.append(f"{_esc(r.subscale)} / {_esc(model_name(r.model))}: " + ", ".join(vals))
    return "<br>".join(items) or "no results"


def _subgroups(data: ReportData) -> str:
    from ..evaluation.subgroups import largest_gaps

    rows = data.subgroups
    if rows is None or rows.empty:
        return "not run (sweep --subgroups)"
    metric = "mae" if str(rows["task"].iloc[0]) == "regression" else "f1"
    gaps = largest_gaps(rows[rows["fraction"] == 0.0], metric).drop_duplicates(
        ["subscale", "model", "subgroup"]
    )
    lines = [
        f"{_esc(r.subscale)} / {_esc(model_name(r.model))}, {_esc(r.subgroup)}: largest {metric} "
        f"gap {_esc(r.high)} vs {_esc(r.low)} {_ci(r.gap_mean, r.gap_ci_low, r.gap_ci_high)}"
        for r in gaps.itertuples()
        if r.high  # fewer than two levels with enough test cases: no gap to estimate
    ]
    if not lines:
        return (
            f"metrics per level of {', '.join(map(_esc, dict.fromkeys(rows['subgroup'])))}; no "
            "gap estimated: no variable has two levels with enough test cases in every fold "
            "(see Subgroups)"
        )
    return "<br>".join(lines) + " (see Subgroups)"


def _tuning(record: dict | None) -> str:
    """How hyperparameters were chosen, from the results' provenance when it is there."""
    settings = (record or {}).get("settings", {})
    if "grid_search" not in settings:
        return (
            "hyperparameters at facemind's defaults unless --grid-search was set (not stored "
            "in the results)"
        )
    if settings["grid_search"]:
        return "hyperparameters by an inner grid search on each training fold"
    return "hyperparameters at facemind's defaults (no grid search)"


def checklist_section(data: ReportData) -> str:
    """What TRIPOD+AI asks that this study's own files can answer, item by item."""
    from .html import _synthetic

    inst = data.instrument
    synthetic = bool(_synthetic(data.responses))
    folds, summ = data.folds, data.summary
    have = folds is not None and not folds.empty and summ is not None and not summ.empty
    task = str(folds["task"].iloc[0]) if have else None
    bands = "; ".join(
        f"{_esc(name)}: " + ", ".join(f"{_esc(b.label)} >={b.min:g}" for b in sub.bands)
        for name, sub in inst.subscales.items()
        if sub.bands
    )
    outcome = f"{_esc(inst.id)} subscale scores; bands {bands}"
    if task:
        subs = ", ".join(map(_esc, dict.fromkeys(folds["subscale"])))
        outcome += f". Modelled: {subs}, task {_esc(task)}"
        if task == "binary":
            outcome += (
                f" (positive at or above the {_esc(data.positive_band)} band)"
                if data.positive_band
                else " (positive at or above the band set with --positive-band, default mild; "
                "not stored in the results)"
            )
    items = [
        (
            "Data source",
            _esc(data.source)
            + (
                " — SYNTHETIC, simulated by facemind synth"
                if synthetic
                else " — not marked synthetic"
            ),
        ),
        ("Participants and missing data", _participants(data)),
        ("Outcome", outcome),
        ("Predictors", _predictors(data)),
        ("Sample size", _sample(folds) if have else "no sweep results"),
        (
            "Missing answers and values",
            "respondents missing any answer on a modelled subscale are left out (complete cases, "
            "counted above); missing feature values are imputed from the training fold",
        ),
    ]
    if have:
        models = ", ".join(_esc(model_name(m)) for m in dict.fromkeys(folds["model"]))
        balanced = bool((folds["n_fit"] < folds["n_train"]).any()) if "n_fit" in folds else False
        items.append(
            (
                "Model and tuning",
                f"{models}; "
                + ("classes balanced by downsampling the training fold; " if balanced else "")
                + _tuning(data.provenance),
            )
        )
        items.append(("Validation", _validation(folds, data.provenance)))
        perf = REGRESSION_METRICS if task == "regression" else ("f1", "roc_auc")
        items.append(("Performance (0%, 95% interval)", _performance(summ, perf)))
        cal = "not applicable to regression"
        if task != "regression":
            cal = _performance(summ, ("brier", "ece")) + " (see Calibration)"
        items.append(("Calibration", cal))
    items.append(("Subgroups", _subgroups(data)))
    if data.importance is not None and not data.importance.empty:
        t = data.importance[data.importance["level"] == "group"]
        above = [str(g) for g, lo in zip(t["group"], t["drop_ci_low"], strict=True) if lo > 0]
        items.append(
            (
                "Which predictors matter",
                f"permutation importance on held-out folds: interval above 0 for "
                f"{', '.join(map(_esc, above)) or 'no group'}",
            )
        )
    for name in (
        "Recruitment, eligibility and setting",
        "Consent and ethics approval",
        "Dates of data collection",
        "Blinding of outcome assessment",
        "Funding and conflicts of interest",
    ):
        items.append((name, UNKNOWN))
    body = "".join(
        f"<tr><td>{_esc(k)}</td><td style='text-align:left'>{v}</td></tr>" for k, v in items
    )
    return (
        "<h2>Reporting checklist</h2>"
        "<p>TRIPOD+AI (Collins et al., BMJ 2024) items this study's own files can answer; the "
        "rest must come from the study protocol.</p>"
        f"<table><thead><tr><th>Item</th><th style='text-align:left'>This study</th></tr></thead><tbody>{body}</tbody></table>"
    )
