"""The study report: one self-contained HTML file (figures inline, no network fetches)."""

from __future__ import annotations

import base64
import html
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd

from .. import __version__, labels, sdi
from ..errors import FacemindError
from ..instruments import score_responses, validate_responses
from ..io import atomic_path
from . import appraisal, capacity, figures
from .checklist import checklist_section
from .coverage import feature_coverage
from .data import ReportData, full_training_folds
from .findings import findings_section, headline_fraction, main_criterion
from .names import criterion_name, metric_name, model_name
from .sdi_plot import sdi_figure

CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;max-width:1180px;margin:2em auto;
padding:0 1em;color:#222;line-height:1.45}
h1{margin-bottom:.2em}h2{border-bottom:2px solid #4C72B0;padding-bottom:.2em;margin-top:2em}
table{border-collapse:collapse;margin:.6em 0;font-size:.9em}
th,td{border:1px solid #ccc;padding:.25em .6em;text-align:right}th{background:#f0f3f8}
td:first-child,th:first-child{text-align:left}
figure{margin:1em 0}figure img{max-width:100%;border:1px solid #eee}
figure.wide img{width:100%}
figcaption{font-size:.9em;color:#555;margin-top:.3em}
caption{caption-side:bottom;text-align:left;font-size:.85em;color:#555;padding-top:.3em}
.origin{display:inline-block;font-size:.85em;font-weight:600;padding:.15em .6em;border-radius:3px;margin:.2em 0}
.origin.synthetic{background:#fff3cd;color:#7a5a00}.origin.real{background:#d4edda;color:#155724}
.warn{background:#fdecea;border-left:4px solid #C44E52;padding:.3em .7em}
.reading{background:#eef3fb;border-left:4px solid #4C72B0;padding:.4em .8em}
div.synthetic{background:#fff3cd;border:2px solid #d39e00;padding:.7em 1em;font-weight:600;margin:1em 0}
.note{color:#666;font-size:.9em}.meta{color:#666;font-size:.85em}
"""


@dataclass
class ReportContext:
    """What every section function receives: the data, its scores and SDI, and which of its
    sources are synthetic (True), real (False) or absent (None)."""

    data: ReportData
    scores: pd.DataFrame
    sdi: dict[str, sdi.SubscaleSDI]
    origins: dict[str, bool | None] = field(default_factory=dict)

    @property
    def labelled(self) -> bool:
        """Sections say where their data come from whenever any source is synthetic."""
        return any(v is True for v in self.origins.values())

    def origin(self, *sources: str) -> str:
        """A line saying whether a section's data are synthetic or real (empty when the report
        holds real data only)."""
        if not self.labelled:
            return ""
        flags = [self.origins.get(s) for s in sources]
        if any(f is True for f in flags):
            return (
                '<p class="origin synthetic">Synthetic data: simulated by facemind synth; '
                "it describes no real person.</p>"
            )
        return '<p class="origin real">Real data: recorded videos processed by facemind.</p>'


#: A report section: a function of the context that returns HTML (empty to leave it out).
Section = Callable[[ReportContext], str]


def _img(png: bytes, alt: str, caption: str, wide: bool = False) -> str:
    data = base64.b64encode(png).decode("ascii")
    cls = ' class="wide"' if wide else ""
    return (
        f'<figure{cls}><img alt="{html.escape(alt)}" src="data:image/png;base64,{data}">'
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


def _synthetic(df: pd.DataFrame | None) -> bool | None:
    """True when a table marks rows synthetic, False when it is present and does not, None
    when absent."""
    if df is None:
        return None
    return "synthetic" in df.columns and bool(
        df["synthetic"].astype(str).str.lower().eq("true").any()
    )


def _distribution(values: pd.Series) -> pd.DataFrame:
    """One variable's levels as columns, with rows n and %."""
    counts = values.value_counts(dropna=False).sort_index()
    levels = ["missing" if pd.isna(k) else str(k) for k in counts.index]
    pct = [f"{v:.1f}" for v in 100 * counts.to_numpy() / counts.sum()]
    return pd.DataFrame([["n", *counts.tolist()], ["%", *pct]], columns=["", *levels])


def cohort_section(ctx: ReportContext) -> str:
    """Table 1: n, then the gender, age and grade distributions."""
    df = ctx.data.responses
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
        parts.append(
            f'<p class="note">The responses have no {" or ".join(missing)} column, so this '
            "table leaves out their distribution (a column of that name would add it).</p>"
        )
    return "<h2>Cohort</h2>" + ctx.origin("responses") + "".join(parts)


def scores_section(ctx: ReportContext) -> str:
    """Score histograms with cut-offs and band counts per subscale."""
    inst, scores = ctx.data.instrument, ctx.scores
    out = ["<h2>Scores</h2>", ctx.origin("responses")]
    out.append(
        _img(
            figures.score_histograms(scores, inst.subscales),
            "score histograms",
            "Distribution of each scored total (raw item sum x the subscale's multiplier, the "
            "scale the bands are defined on); dotted lines are the band cut-offs.",
        )
    )
    rows = []
    for name, sub in inst.subscales.items():
        if not sub.bands:
            continue
        counts = scores[f"{name}_band"].value_counts()
        rows.append({"subscale": name, **{b: int(counts.get(b, 0)) for b in sub.band_labels}})
    if rows:
        out.append(_table(pd.DataFrame(rows).fillna(0)))
    return "".join(out)


def sdi_section(ctx: ReportContext) -> str:
    """SDI per subscale, group GDI bars, discrepancy distributions, SDI after removal."""
    results = ctx.sdi
    out = ["<h2>Symptom Discrepancy Index</h2>", ctx.origin("responses")]
    rows = []
    for name, res in results.items():
        curve = res.removal_curve(sdi.DEFAULT_REMOVAL_FRACTIONS)
        rows.append(
            {
                "subscale": name,
                "n": res.n,
                "groups": len(res.groups),
                **{
                    f"SDI -{f:.0%}": v for f, v in zip(curve["fraction"], curve["sdi"], strict=True)
                },
            }
        )
    out.append(_table(pd.DataFrame(rows)))
    out.extend(f"<p class='warn'>{html.escape(w)}</p>" for w in small_group_warnings(results))
    out.append(
        '<p class="note">SDI after removing X%: the most discrepant X% of every total-score group '
        "removed, group table recomputed on the rest (discrepancies not renormalized).</p>"
    )
    multipliers = {n: s.multiplier for n, s in ctx.data.instrument.subscales.items()}
    out.append(
        _img(
            figures.to_png(sdi_figure(results, multipliers)),
            "SDI per group",
            "Left: GDI (mean + sd of discrepancy) of each group of respondents with the same "
            "total, on the scored scale of the Scores section; dashed line the SDI. Right: how "
            "discrepant respondents are (0 = typical profile for their score).",
        )
    )
    return "".join(out)


#: Score groups smaller than this have SDs, and so an SDI, that mean little.
SMALL_GROUP = 5


def small_group_warnings(results: dict) -> list[str]:
    """A warning per subscale most of whose score groups have fewer than :data:`SMALL_GROUP`
    members (the ``sdi`` command prints the same)."""
    out = []
    for name, res in results.items():
        small, groups = res.small_groups(SMALL_GROUP)
        if 2 * small > groups:
            out.append(
                f"{name}: {small} of {groups} score groups have fewer than {SMALL_GROUP} "
                "members, so their SDs and the SDI mean little (use more respondents, or group "
                "by severity band: `group_by='band'`)"
            )
    return out


def findings(ctx: ReportContext) -> str:
    """The Findings section (see :mod:`facemind.reporting.findings`)."""
    d = ctx.data
    text = findings_section(d.summary, d.folds, d.instrument, d.positive_band)
    head, _, rest = text.partition("</h2>")
    return head + "</h2>" + ctx.origin("responses", "features") + rest


def sweep_section(ctx: ReportContext) -> str:
    """Metric against removed fraction per model, protocols and controls, with 95% intervals."""
    data = ctx.data
    if data.summary is None or data.summary.empty:
        return "<h2>Models</h2><p class='note'>No sweep results given.</p>"
    summ = data.summary
    task = str(summ["task"].iloc[0])
    metric = "mae" if task == "regression" else "f1"
    out = [f"<h2>Models ({html.escape(task)})</h2>", ctx.origin("responses", "features")]
    out.append(
        _img(
            figures.removal_curves(summ, metric),
            "removal curves",
            f"{metric_name(metric)} (mean over folds, band = 95% corrected t-interval, truncated to "
            "the metric's range) against the share of respondents removed: solid = paper protocol "
            "(test folds filtered too), dashed = train-only (test on everyone); colours = removal "
            "criterion (random is the control). The numbers are in the Findings tables.",
            wide=True,
        )
    )
    out.append(confusion_section(data, task))
    return "".join(out)


def confusion_section(data: ReportData, task: str) -> str:
    """Row-normalised confusion matrices at 0% and at the headline fraction (both protocols)."""
    folds = data.folds
    if folds is None or task == "regression" or "confusion" not in folds.columns:
        return "<p class='note'>Confusion matrices need classification sweep results (a confusion column).</p>"
    crit = main_criterion(list(dict.fromkeys(folds["criterion"]))) or str(
        folds["criterion"].iloc[0]
    )
    fractions = sorted(float(f) for f in folds["fraction"].unique())
    if {"n_removed_train", "n_removed_test"} <= set(folds.columns):
        removed = folds.groupby("fraction")[["n_removed_train", "n_removed_test"]].sum().sum(axis=1)
        fractions = [f for f in fractions if f == 0.0 or removed.get(f, 0) > 0]
    head = headline_fraction(fractions)
    chosen = folds[folds["criterion"].eq(crit) & folds["confusion"].notna()]
    columns: list[tuple[str, pd.DataFrame]] = []
    zero = chosen[chosen["fraction"] == 0.0]
    if not zero.empty:
        columns.append(("everyone (0%)", zero[zero["protocol"] == zero["protocol"].iloc[0]]))
    if head is not None:
        for protocol in ("paper", "train-only"):
            part = chosen[np.isclose(chosen["fraction"], head) & (chosen["protocol"] == protocol)]
            if not part.empty:
                columns.append((f"{protocol}, {head:.0%} removed by {criterion_name(crit)}", part))
    pairs = list(dict.fromkeys(zip(chosen["subscale"], chosen["model"], strict=True)))
    if not columns or not pairs:
        return ""
    grid = [
        [_summed(part[(part["subscale"] == sub) & (part["model"] == model)]) for _, part in columns]
        for sub, model in pairs
    ]
    sub0 = data.instrument.subscales.get(pairs[0][0])
    try:
        names = (
            labels.class_names(sub0, task, positive_band=data.positive_band or "mild")
            if sub0
            else []
        )
    except FacemindError:  # a band this subscale lacks: class numbers instead
        names = []
    size = next(m.shape[0] for row in grid for m in row if m is not None)
    if len(names) != size:
        names = ["negative", "positive"] if size == 2 else [str(i) for i in range(size)]
    return _img(
        figures.confusion_grid(
            grid, [f"{s} - {model_name(m)}" for s, m in pairs], [c for c, _ in columns], names
        ),
        "confusion matrices",
        "Confusion matrices summed over test folds: rows true class, columns predicted; each "
        "cell is the share of its row (one colour scale for all) with the count below. Under "
        "the paper protocol the test folds shrink too.",
        wide=True,
    )


def _summed(part: pd.DataFrame) -> np.ndarray | None:
    if part.empty:
        return None
    return sum(np.asarray(json.loads(c), dtype=float) for c in part["confusion"])


def cluster_section(ctx: ReportContext) -> str:
    """Agglomerative clusters of standardized subscale scores, quality indices and Jaccard overlap."""
    data, scores = ctx.data, ctx.scores
    cols = [s for s in data.instrument.subscales if s in scores.columns]
    complete = scores.dropna(subset=cols)
    if len(cols) < 2 or len(complete) < 10:
        return ""
    if len(complete) > 5000:  # Ward linkage is quadratic in memory; a fixed sample keeps it light
        complete = complete.sample(5000, random_state=0)
    clustering = labels.cluster_scores(complete, cols, (2, 3))
    x = labels.standardize(complete[cols].to_numpy(dtype=float))
    out = ["<h2>Data-driven clusters</h2>", ctx.origin("responses")]
    out.append(
        _img(
            figures.cluster_scatter(x, clustering.labels, cols),
            "clusters",
            f"Agglomerative (Ward) clusters of the standardized {', '.join(cols)} scores, shown on the "
            "first two; clusters are numbered by severity.",
        )
    )
    table = clustering.table.copy()
    table["sizes"] = table["sizes"].astype(str)
    out.append(_table(table))
    binaries = {}
    for name, sub in data.instrument.subscales.items():
        if name in cols and len(sub.bands) > 1:  # at the sweep's positive band, when known
            band = data.positive_band if data.positive_band in sub.band_labels[1:] else None
            band = band or sub.bands[1].label
            binaries[f"{name}>={band}"] = labels.binary_target(
                complete[name].to_numpy(dtype=float), sub, band
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


def extraction_section(ctx: ReportContext) -> str:
    """Face coverage per video and failures with their reasons."""
    manifest = ctx.data.manifest
    if manifest is None:
        return ""
    out = ["<h2>Extraction quality</h2>", ctx.origin("manifest")]
    if ctx.data.extraction_note:
        out.append(f"<p>{html.escape(ctx.data.extraction_note)}</p>")
    backends = (
        ", ".join(sorted(manifest["backend"].dropna().astype(str).unique()))
        if "backend" in manifest
        else "?"
    )
    out.append(f"<p>{len(manifest)} videos; backend: {html.escape(backends)}.</p>")
    out.append(
        _img(
            figures.coverage_histogram(manifest),
            "extraction quality",
            "Left: share of frames in which a face was found, per video; right: videos per status "
            "(ok, no_face, failed).",
        )
    )
    bad = manifest[manifest["status"] != "ok"]
    if len(bad):
        reasons = bad.groupby(["status", bad["error"].fillna("")]).size().reset_index(name="videos")
        out.append(_table(reasons.rename(columns={"error": "reason"})))
    else:
        out.append("<p>Every video was processed with a face found.</p>")
    return "".join(out)


def features_section(ctx: ReportContext) -> str:
    """Feature coverage: features per channel group and their missing shares."""
    feats = ctx.data.features
    if feats is None:
        return ""
    table = feature_coverage(feats)
    out = ["<h2>Feature coverage</h2>", ctx.origin("features")]
    unit = "videos" if "video_id" in feats.columns else "participants"
    out.append(
        f"<p>{len(feats)} rows ({unit}), {int(table['features'].sum())} feature columns.</p>"
    )
    out.append(_table(table, floatfmt="{:.1%}"))
    out.append(
        "<p class='note'>missing share: empty cells among the group's features; rows without "
        "any: rows in which every feature of the group is empty (no usable frames of that "
        "channel).</p>"
    )
    return "".join(out)


#: The report's sections, in order. A new section is a :data:`Section` added to this list (or
#: to the ``sections`` argument of :func:`build_report`).
def _on_data(section: Callable[[ReportData], str], *sources: str) -> Section:
    """A section of :class:`ReportData` alone, with the origin line of ``sources`` under its
    heading."""

    def run(ctx: ReportContext) -> str:
        text = section(ctx.data)
        at = text.find("</h2>")
        return text if at < 0 else text[: at + 5] + ctx.origin(*sources) + text[at + 5 :]

    run.__name__ = section.__name__
    return run


SECTIONS: list[Section] = [
    findings,
    cohort_section,
    scores_section,
    sdi_section,
    sweep_section,
    _on_data(capacity.heterogeneity_section, "responses", "features"),
    _on_data(appraisal.calibration_section, "responses", "features"),
    _on_data(appraisal.subgroups_section, "responses", "features"),
    _on_data(appraisal.importance_section, "responses", "features"),
    cluster_section,
    extraction_section,
    features_section,
    _on_data(checklist_section, "responses", "features"),
]


def _banner(ctx: ReportContext) -> str:
    if not ctx.labelled:
        return ""
    real = [k for k, v in ctx.origins.items() if v is False]
    text = (
        "SYNTHETIC DATA: the participants, answers, facial features and model results in this "
        "report were simulated by facemind synth; nothing in them describes real people."
    )
    if "manifest" in real:
        text += " The Extraction quality section is real: it describes real videos."
    text += " Every section says which it is."
    return f'<div class="synthetic">{html.escape(text)}</div>'


def build_report(data: ReportData, sections: Sequence[Section] | None = None) -> str:
    """The report's HTML text: the title, then every section of ``sections`` (default
    :data:`SECTIONS`) in order."""
    data = full_training_folds(data)
    responses = validate_responses(
        data.responses, data.instrument, id_column=data.id_column, source=data.source
    )
    scores, _ = score_responses(responses, missing="drop")
    ctx = ReportContext(
        data=data,
        scores=scores,
        sdi=sdi.compute(responses, missing="drop", group_by=data.group_by),
        origins={
            "responses": _synthetic(data.responses),
            "features": _synthetic(data.features),
            "manifest": _synthetic(data.manifest),
        },
    )
    title = "facemind study report" + (" (SYNTHETIC DATA)" if ctx.labelled else "")
    meta = (
        f'<p class="meta">facemind {__version__}, instrument {html.escape(data.instrument.id)}, '
        f"generated {datetime.now(UTC).strftime('%Y-%m-%d %H:%M UTC')}.</p>"
    )
    parts = [f"<h1>{html.escape(title)}</h1>", _banner(ctx), meta]
    parts.extend(section(ctx) for section in (SECTIONS if sections is None else sections))
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        f"<title>{html.escape(title)}</title><style>{CSS}</style></head><body>{''.join(parts)}</body></html>\n"
    )


def write_report(data: ReportData, path: str | Path) -> Path:
    """Build the report and write it atomically."""
    text = build_report(data)
    target = Path(path)
    with atomic_path(target) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return target
