"""The study report: one self-contained HTML file (figures inline, no network fetches)."""

from __future__ import annotations

import base64
import html
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd

from .. import __version__, labels, sdi
from ..instruments import Instrument, score_responses, validate_responses
from ..io import atomic_path
from . import appraisal, figures
from .checklist import checklist_section
from .sdi_plot import sdi_figure

CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;max-width:1180px;margin:2em auto;
padding:0 1em;color:#222;line-height:1.45}
h1{margin-bottom:.2em}h2{border-bottom:2px solid #4C72B0;padding-bottom:.2em;margin-top:2em}
table{border-collapse:collapse;margin:.6em 0;font-size:.9em}
th,td{border:1px solid #ccc;padding:.25em .6em;text-align:right}th{background:#f0f3f8}
td:first-child,th:first-child{text-align:left}
figure{margin:1em 0}figure img{max-width:100%;border:1px solid #eee}
figcaption{font-size:.9em;color:#555;margin-top:.3em}
.synthetic{background:#fff3cd;border:2px solid #d39e00;padding:.7em 1em;font-weight:600;margin:1em 0}
.note{color:#666;font-size:.9em}.meta{color:#666;font-size:.85em}
"""


@dataclass
class ReportData:
    """Everything the report draws from; optional parts may be None."""

    responses: pd.DataFrame
    instrument: Instrument
    folds: pd.DataFrame | None = None
    summary: pd.DataFrame | None = None
    manifest: pd.DataFrame | None = None
    features: pd.DataFrame | None = None
    id_column: str = "participant_id"
    source: str = "responses"
    #: Per-fold subgroup metrics (``sweep --subgroups``) and channel importance (``explain``).
    subgroups: pd.DataFrame | None = None
    importance: pd.DataFrame | None = None


def _img(png: bytes, alt: str, caption: str) -> str:
    data = base64.b64encode(png).decode("ascii")
    return (
        f'<figure><img alt="{html.escape(alt)}" src="data:image/png;base64,{data}">'
        f"<figcaption>{html.escape(caption)}</figcaption></figure>"
    )


def _table(df: pd.DataFrame, floatfmt: str = "{:.3f}") -> str:
    def fmt(v: object) -> str:
        if isinstance(v, float | np.floating):
            return "" if np.isnan(v) else floatfmt.format(v)
        return html.escape(str(v))

    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in df.columns)
    body = "".join(
        "<tr>" + "".join(f"<td>{fmt(v)}</td>" for v in row) + "</tr>"
        for row in df.itertuples(index=False)
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _is_synthetic(data: ReportData) -> bool:
    frames = [data.responses, data.manifest, data.features]
    return any(
        df is not None
        and "synthetic" in df.columns
        and df["synthetic"].astype(str).str.lower().eq("true").any()
        for df in frames
    )


def _distribution(values: pd.Series) -> pd.DataFrame:
    """One variable's levels as columns, with rows n and %."""
    counts = values.value_counts(dropna=False).sort_index()
    levels = ["missing" if pd.isna(k) else str(k) for k in counts.index]
    pct = [f"{v:.1f}" for v in 100 * counts.to_numpy() / counts.sum()]
    return pd.DataFrame([["n", *counts.tolist()], ["%", *pct]], columns=["", *levels])


def cohort_section(data: ReportData) -> str:
    """Table 1: n, then the gender, age and grade distributions."""
    df = data.responses
    parts = [f"<p>{len(df)} respondents.</p>"]
    for col in ("gender", "age", "grade"):
        if col in df.columns:
            parts.append(f"<p><b>{col}</b></p>" + _table(_distribution(df[col])))
    if "age" in df.columns:
        age = pd.to_numeric(df["age"], errors="coerce")
        parts.append(
            f"<p>Age: mean {age.mean():.1f} (sd {age.std():.1f}), range {age.min():g}-{age.max():g}.</p>"
        )
    missing = [c for c in ("gender", "age", "grade") if c not in df.columns]
    if missing:
        parts.append(f'<p class="note">Not in the responses: {", ".join(missing)}.</p>')
    return "<h2>Cohort</h2>" + "".join(parts)


def scores_section(data: ReportData, scores: pd.DataFrame) -> str:
    """Score histograms with cut-offs and band counts per subscale."""
    inst = data.instrument
    out = ["<h2>Scores</h2>"]
    out.append(_img(figures.score_histograms(scores, inst.subscales), "score histograms",
                    "Distribution of each scored total; dotted lines are the band cut-offs (label on the line)."))  # fmt: skip
    rows = []
    for name, sub in inst.subscales.items():
        if not sub.bands:
            continue
        counts = scores[f"{name}_band"].value_counts()
        rows.append({"subscale": name, **{b: int(counts.get(b, 0)) for b in sub.band_labels}})
    if rows:
        out.append(_table(pd.DataFrame(rows).fillna(0)))
    return "".join(out)


def sdi_section(results: dict[str, sdi.SubscaleSDI]) -> str:
    """SDI per subscale, group GDI bars, discrepancy distributions, SDI after removal."""
    import matplotlib.pyplot as plt  # noqa: F401  (figures module sets the Agg backend)

    out = ["<h2>Symptom Discrepancy Index</h2>"]
    rows = []
    for name, res in results.items():
        curve = res.removal_curve(sdi.DEFAULT_REMOVAL_FRACTIONS)
        rows.append({"subscale": name, "n": res.n, "groups": len(res.groups),
                     **{f"SDI -{f:.0%}": v for f, v in zip(curve["fraction"], curve["sdi"], strict=True)}})  # fmt: skip
    out.append(_table(pd.DataFrame(rows)))
    out.append('<p class="note">SDI after removing X%: the most discrepant X% of every total-score group '
               "removed, group table recomputed on the rest (discrepancies not renormalized).</p>")  # fmt: skip
    out.append(_img(figures.to_png(sdi_figure(results)), "SDI per group",
                    "Left: GDI (mean + sd of discrepancy) per raw-total group, dashed line the SDI; "
                    "right: how discrepant respondents are (0 = typical profile for their score)."))  # fmt: skip
    return "".join(out)


def sweep_section(data: ReportData) -> str:
    """Metric against removed fraction per model, protocols and controls, with 95% intervals."""
    if data.summary is None or data.summary.empty:
        return "<h2>Models</h2><p class='note'>No sweep results given.</p>"
    summ = data.summary
    task = str(summ["task"].iloc[0])
    metric = "mae" if task == "regression" else "f1"
    out = [f"<h2>Models ({html.escape(task)})</h2>"]
    out.append(_img(figures.removal_curves(summ, metric), "removal curves",
                    f"{metric.upper()} (mean over folds, band = 95% corrected t-interval) against the share of "
                    "respondents removed: solid = paper protocol (test folds filtered too), dashed = "
                    "train-only (test on everyone); colours = removal criterion (random is the control)."))  # fmt: skip
    key = ["subscale", "model", "protocol", "criterion"]
    wanted = summ[summ["fraction"].isin([0.0, 0.1])]
    if not wanted.empty:
        pivot = wanted.pivot_table(
            index=key, columns="fraction", values=f"{metric}_mean"
        ).reset_index()
        pivot.columns = [c if isinstance(c, str) else f"{metric} at {c:.0%}" for c in pivot.columns]
        out.append(_table(pivot))
    out.append(confusion_section(data, task))
    return "".join(out)


def confusion_section(data: ReportData, task: str) -> str:
    """Confusion matrices at 0 and 10% removal (counts summed over test folds)."""
    folds = data.folds
    if folds is None or task == "regression" or "confusion" not in folds.columns:
        return "<p class='note'>Confusion matrices need classification sweep results (a confusion column).</p>"
    crit = "sdi" if "sdi" in set(folds["criterion"]) else str(folds["criterion"].iloc[0])
    chosen = folds[
        folds["fraction"].isin([0.0, 0.1])
        & (folds["criterion"] == crit)
        & folds["confusion"].notna()
    ]
    mats = []
    for (sub, model, protocol, fraction), g in chosen.groupby(
        ["subscale", "model", "protocol", "fraction"], sort=False
    ):
        if fraction == 0.0 and protocol != chosen["protocol"].iloc[0]:
            continue  # at 0% every protocol is the same fit
        total = sum(np.asarray(json.loads(c)) for c in g["confusion"])
        label = f"{sub} / {model} / " + (f"{protocol} {fraction:.0%}" if fraction else "0%")
        mats.append((label, total))
    if not mats:
        return ""
    size = mats[0][1].shape[0]
    names = ["negative", "positive"] if size == 2 else [str(i) for i in range(size)]
    return _img(figures.confusion_grid(mats, names), "confusion matrices",
                f"Confusion matrices (rows: true class, columns: predicted) summed over test folds, with "
                f"everyone and after removing 10% by {crit}; under the paper protocol the test folds shrink too.")  # fmt: skip


def cluster_section(data: ReportData, scores: pd.DataFrame) -> str:
    """Agglomerative clusters of standardized subscale scores, quality indices and Jaccard overlap."""
    cols = [s for s in data.instrument.subscales if s in scores.columns]
    complete = scores.dropna(subset=cols)
    if len(cols) < 2 or len(complete) < 10:
        return ""
    if len(complete) > 5000:  # Ward linkage is quadratic in memory; a fixed sample keeps it light
        complete = complete.sample(5000, random_state=0)
    clustering = labels.cluster_scores(complete, cols, (2, 3))
    x = labels.standardize(complete[cols].to_numpy(dtype=float))
    out = ["<h2>Data-driven clusters</h2>"]
    out.append(_img(figures.cluster_scatter(x, clustering.labels, cols), "clusters",
                    f"Agglomerative (Ward) clusters of the standardized {', '.join(cols)} scores, shown on the "
                    "first two; clusters are numbered by severity."))  # fmt: skip
    table = clustering.table.copy()
    table["sizes"] = table["sizes"].astype(str)
    out.append(_table(table))
    binaries = {}
    for name, sub in data.instrument.subscales.items():
        if name in cols and len(sub.bands) > 1:
            binaries[f"{name}>=" + sub.bands[1].label] = labels.binary_target(
                complete[name].to_numpy(dtype=float), sub, sub.bands[1].label
            ).astype(bool)
    if binaries:
        jt = labels.jaccard_table(binaries, {f"k{k}": v for k, v in clustering.labels.items()})
        out.append(
            "<p>Jaccard overlap of the binary labelings (rows) with the clusters (columns):</p>"
        )
        out.append(_table(jt.reset_index(names="labeling")))
    if len(complete) < len(scores):
        out.append(
            f"<p class='note'>Clustered {len(complete)} of {len(scores)} respondents (complete scores; at most 5000, sampled with a fixed seed).</p>"
        )
    return "".join(out)


def extraction_section(manifest: pd.DataFrame | None) -> str:
    """Face coverage per video and failures with their reasons."""
    if manifest is None:
        return ""
    out = ["<h2>Extraction quality</h2>"]
    backends = (
        ", ".join(sorted(manifest["backend"].dropna().astype(str).unique()))
        if "backend" in manifest
        else "?"
    )
    out.append(f"<p>{len(manifest)} videos; backend: {html.escape(backends)}.</p>")
    out.append(_img(figures.coverage_histogram(manifest), "extraction quality",
                    "Left: share of frames in which a face was found, per video; right: videos per status "
                    "(ok, no_face, failed)."))  # fmt: skip
    bad = manifest[manifest["status"] != "ok"]
    if len(bad):
        reasons = bad.groupby(["status", bad["error"].fillna("")]).size().reset_index(name="videos")
        out.append(_table(reasons.rename(columns={"error": "reason"})))
    else:
        out.append("<p>Every video was processed with a face found.</p>")
    return "".join(out)


def build_report(data: ReportData) -> str:
    """The report's HTML text."""
    responses = validate_responses(
        data.responses, data.instrument, id_column=data.id_column, source=data.source
    )
    scores, _ = score_responses(responses, missing="drop")
    results = sdi.compute(responses, missing="drop")
    synthetic = _is_synthetic(data)
    title = "facemind study report" + (" (SYNTHETIC DATA)" if synthetic else "")
    banner = (
        '<div class="synthetic">SYNTHETIC DATA: every participant, answer and video in this report was '
        "simulated by facemind synth. Nothing here describes real people.</div>"
        if synthetic
        else ""
    )
    meta = (
        f'<p class="meta">facemind {__version__}, instrument {html.escape(data.instrument.id)}, '
        f"generated {datetime.now(UTC).strftime('%Y-%m-%d %H:%M UTC')}.</p>"
    )
    body = "".join(
        [
            f"<h1>{html.escape(title)}</h1>",
            banner,
            meta,
            cohort_section(data),
            scores_section(data, scores),
            sdi_section(results),
            sweep_section(data),
            appraisal.calibration_section(data),
            appraisal.subgroups_section(data),
            appraisal.importance_section(data),
            cluster_section(data, scores),
            extraction_section(data.manifest),
            checklist_section(data),
        ]
    )
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        f"<title>{html.escape(title)}</title><style>{CSS}</style></head><body>{body}</body></html>\n"
    )


def write_report(data: ReportData, path: str | Path) -> Path:
    """Build the report and write it atomically."""
    text = build_report(data)
    target = Path(path)
    with atomic_path(target) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return target
