"""The report's "Heterogeneity or capacity?" section: the paper's second claim put to the test.

Two figures (error by discrepancy quintile; the metric by training size and model) and, per
subscale, a reading decided by 95% intervals only (:func:`reading`), like the Findings:

- heterogeneity: the error of the most minus the least discrepant fifth of respondents *with
  the same score* (matched quintiles) lies above 0;
- data: the learning curve's slope at its end (what doubling the training data adds,
  :func:`facemind.evaluation.data_gain`) lies above 0;
- capacity: a model above the smallest of the ladder
  (:data:`facemind.evaluation.CAPACITY_ORDER`) beats it on the same folds.
"""

from __future__ import annotations

import html
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from ..evaluation.heterogeneity import discrepancy_contrast, errors_by_discrepancy
from ..evaluation.learning import CAPACITY_ORDER, capacity_gain, data_gain, learning_curve
from ..evaluation.metrics import metric_names
from . import figures
from .checklist import grouping
from .findings import Interval
from .names import metric_name, model_name

if TYPE_CHECKING:
    from .data import ReportData

HEAD = "<h2>Heterogeneity or capacity?</h2>"


def _iv(row: pd.Series | None, prefix: str) -> Interval:
    if row is None:
        return Interval(np.nan, np.nan, np.nan)
    return Interval(
        float(row[f"{prefix}_mean"]),
        float(row[f"{prefix}_ci_low"]),
        float(row[f"{prefix}_ci_high"]),
    )


def heterogeneity_sentence(plain: Interval, matched: Interval) -> tuple[str, bool]:
    """What the error contrast says, and whether it shows heterogeneity limiting accuracy."""
    if not np.isfinite(matched.mean):
        return "No predictions to place the errors (run the sweep with --save-predictions).", False
    if matched.above(+1):
        return (
            f"Errors concentrate in the most discrepant fifth of respondents with the same "
            f"score: {matched.text(signed=True)} over the least discrepant fifth "
            f"(everyone: {plain.text(signed=True)}).",
            True,
        )
    if plain.above(+1):
        return (
            f"Errors concentrate in the most discrepant fifth ({plain.text(signed=True)}), "
            "but not among respondents with the same score "
            f"({matched.text(signed=True)}): low discrepancy goes with extreme totals, "
            "which are easy cases.",
            False,
        )
    return (
        f"Errors do not concentrate in the most discrepant respondents (same score: "
        f"{matched.text(signed=True)}; everyone: {plain.text(signed=True)}).",
        False,
    )


def data_sentence(gain: Interval, better: int, label: str) -> tuple[str, bool]:
    """What the learning curve's end says, and whether more data would still help."""
    if not np.isfinite(gain.mean):
        return "No learning curve (run the sweep with --train-sizes, e.g. 0.25,0.5,1).", False
    text = f"Doubling the training data adds {gain.text(signed=True)} ({label})"
    if gain.above(better):
        return text + ": more data still helps.", True
    if gain.below(better):
        return text + ": the curve falls at its end.", False
    return text + ": no gain shown.", False


def capacity_sentence(gains: pd.DataFrame, better: int, label: str) -> tuple[str, bool]:
    """What the models above the smallest add, and whether any adds something."""
    if gains.empty:
        return "Only one model of the capacity ladder was swept: no comparison.", False
    base = model_name(str(gains["baseline"].iloc[0]))
    ivs = {model_name(r["model"]): _iv(r, "gain") for _, r in gains.iterrows()}
    helping = [m for m, iv in ivs.items() if iv.above(better)]
    listed = "; ".join(f"{m} {iv.text(signed=True)}" for m, iv in ivs.items())
    if helping:
        return f"Larger models add {label} over {base}: {listed}.", True
    if all(iv.below(better) for iv in ivs.values()):
        return f"Larger models do worse than {base} ({label}: {listed}).", False
    return f"Larger models add nothing shown over {base} ({label}: {listed}).", False


def reading(heterogeneity: bool, more_data: bool, capacity: bool, informative: bool) -> str:
    """One conclusion from the three tests (each decided by its interval)."""
    if not informative:
        return "Too few results for a reading."
    limits = [n for n, shown in (("more data", more_data), ("larger models", capacity)) if shown]
    if heterogeneity and not limits:
        return (
            "Heterogeneity, not model capacity, limits accuracy here: errors sit with the "
            "most discrepant respondents, and neither more data nor larger models helped."
        )
    if heterogeneity:
        return (
            f"Both: errors sit with the most discrepant respondents, and {' and '.join(limits)} "
            "still help."
        )
    if limits:
        return f"Capacity or data, not heterogeneity, limit accuracy here: {' and '.join(limits)} help."
    return (
        "The data do not show what limits accuracy: neither errors among the most discrepant "
        "respondents of the same score, nor more data, nor larger models."
    )


def heterogeneity_section(data: ReportData) -> str:
    """The section (see the module docstring); a note on what to run when results lack it."""
    from .appraisal import _img, _table

    folds = data.learning if data.learning is not None else data.folds
    if folds is None or folds.empty:
        return ""
    task = str(folds["task"].iloc[0])
    metric = metric_names(task)[0]
    better = -1 if task == "regression" else 1
    name = metric_name(metric)
    label = name + (", lower is better" if better < 0 else "")
    preds = data.predictions
    contrast = discrepancy_contrast(preds, id_column=data.id_column) if preds is not None else None
    errors = errors_by_discrepancy(preds, id_column=data.id_column) if preds is not None else None
    curve = learning_curve(folds)
    gains, cap = data_gain(folds, metric), capacity_gain(folds, metric)
    out = [
        HEAD,
        "<p>The paper's second claim is that symptom heterogeneity, not model capacity, "
        "limits accuracy. Three tests on held-out data, fits without removal, folds "
        f"{html.escape(grouping(data.provenance))}: do errors sit with the respondents whose "
        "answers are least like those of others with the same score; would more training "
        "data help; would larger models?</p>",
    ]
    if errors is not None and not errors.empty:
        errors = _by_capacity(errors)
        out.append(
            _img(
                figures.discrepancy_errors(errors, task == "regression"),
                "error by discrepancy quintile",
                "Held-out error ("
                + ("mean absolute error" if task == "regression" else "share misclassified")
                + ") by discrepancy quintile of the test "
                "participants, mean over folds with 95% bands: solid = quintiles within "
                "each score group (respondents with the same total), dashed = over "
                "everyone.",
            )
        )
    if not curve.empty and curve["train_size"].nunique() > 1:
        out.append(
            _img(
                figures.learning_curves(_by_capacity(curve), metric, name),
                "metric by training size and model",
                f"{name} (mean over folds, 95% bands) against the training participants "
                "per fold: nested stratified subsamples of every training fold, each "
                "tested on the whole test fold; models in order of capacity.",
            )
        )
    rows, readings = [], []
    for sub in dict.fromkeys(folds["subscale"]):
        full = folds[(folds["subscale"] == sub) & (folds["fraction"] == 0.0)]
        if "train_size" in full.columns:
            full = full[full["train_size"] == 1.0]
        means = full.groupby("model")[metric].mean()
        if means.empty:
            continue
        best = str(means.idxmax() if better > 0 else means.idxmin())
        c = _pick(contrast, sub, best)
        plain = _iv(_one(c, "ranking", "plain"), "contrast")
        matched = _iv(_one(c, "ranking", "matched"), "contrast")
        g = _pick(gains, sub, best)
        gain = _iv(None if g is None or g.empty else g.iloc[0], "per_doubling")
        sub_cap = cap[cap["subscale"] == sub] if not cap.empty else cap
        h_text, h = heterogeneity_sentence(plain, matched)
        d_text, d = data_sentence(gain, better, label)
        k_text, k = capacity_sentence(sub_cap, better, label)
        informative = any(np.isfinite(i.low) for i in (matched, gain)) or not sub_cap.empty
        readings.append(
            f"<p><b>{html.escape(sub)}</b> (best model {html.escape(model_name(best))}): "
            f"{html.escape(h_text)} {html.escape(d_text)} {html.escape(k_text)}</p>"
            f"<p class='reading'>{html.escape(reading(h, d, k, informative))}</p>"
        )
        rows.append(
            {
                "subscale": sub,
                "best model": model_name(best),
                "top - bottom fifth, same score": matched.cell(),
                "top - bottom fifth, everyone": plain.cell(),
                f"{name} per doubling of data": gain.cell(),
            }
        )
    out.extend(readings)
    if rows:
        out.append(_table(pd.DataFrame(rows)))
    missing = []
    if preds is None:
        missing.append("--save-predictions (errors by discrepancy)")
    if curve.empty or curve["train_size"].nunique() < 2:
        missing.append("--train-sizes 0.25,0.5,1 (learning curves)")
    if missing:
        out.append(
            f"<p class='note'>Run the sweep with {' and '.join(missing)} for the rest "
            "of this section.</p>"
        )
    return "".join(out)


def _by_capacity(table: pd.DataFrame) -> pd.DataFrame:
    """Rows with the models in capacity order (one colour per model in both figures)."""
    order = [m for m in CAPACITY_ORDER if m in set(table["model"])]
    order += [m for m in dict.fromkeys(table["model"]) if m not in order]
    rank = table["model"].map(order.index)
    return table.assign(_rank=rank).sort_values("_rank", kind="stable").drop(columns="_rank")


def _pick(table: pd.DataFrame | None, sub: str, model: str) -> pd.DataFrame | None:
    if table is None or table.empty:
        return None
    return table[(table["subscale"] == sub) & (table["model"] == model)]


def _one(table: pd.DataFrame | None, column: str, value: str) -> pd.Series | None:
    if table is None or table.empty:
        return None
    hit = table[table[column] == value]
    return None if hit.empty else hit.iloc[0]
