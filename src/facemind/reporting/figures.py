"""Figures of the study report, drawn with matplotlib (Agg) and returned as PNG bytes."""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.ticker import MaxNLocator  # noqa: E402

from ..instruments import Subscale  # noqa: E402
from .names import criterion_name, model_name  # noqa: E402

PALETTE = ["#4C72B0", "#DD8452", "#55A868", "#C44E52", "#8172B3", "#937860", "#DA8BC3", "#8C8C8C"]


def integer_counts(ax: plt.Axes, axis: str = "y") -> None:
    """Count axes get whole-number ticks only (never 2.5 videos)."""
    (ax.yaxis if axis == "y" else ax.xaxis).set_major_locator(MaxNLocator(integer=True))


def to_png(fig: plt.Figure, dpi: int = 90) -> bytes:
    """Render and close a figure."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, bbox_inches="tight")
    plt.close(fig)
    return buf.getvalue()


def score_histograms(scores: pd.DataFrame, subscales: dict[str, Subscale]) -> bytes:
    """Histogram of each subscale's scored total with its band cut-offs."""
    fig, axes = plt.subplots(1, len(subscales), figsize=(4.2 * len(subscales), 3.6), squeeze=False)
    for ax, (name, sub) in zip(axes[0], subscales.items(), strict=True):
        values = pd.to_numeric(scores[name], errors="coerce").dropna()
        top = int(values.max()) if len(values) else 1
        ax.hist(values, bins=np.arange(-0.5, top + 1.5, max(1, sub.multiplier)), color=PALETTE[0])
        cuts = [band.min - 0.5 for band in sub.bands[1:]]
        for cut in cuts:
            ax.axvline(cut, color="k", lw=0.8, ls=":")
        # The band names go on a top axis, above the bars, never over them.
        ax.set_xlim(ax.get_xlim()[0], max(ax.get_xlim()[1], (cuts[-1] + 1) if cuts else 0))
        names = ax.secondary_xaxis("top")
        names.set_xticks(cuts, [band.label for band in sub.bands[1:]], fontsize=7, rotation=90)
        names.tick_params(length=0, pad=2)
        ax.set_title(name, fontsize=10, pad=4)
        ax.set_xlabel(
            f"scored total (raw sum x {sub.multiplier})" if sub.multiplier != 1 else "scored total"
        )
        ax.set_ylabel("respondents")
        integer_counts(ax)
    fig.tight_layout()
    return to_png(fig)


def removal_curves(summary: pd.DataFrame, metric: str) -> bytes:
    """Metric against removed fraction: a panel per subscale x model, a line per protocol x
    criterion with its 95% interval as a band. Drawn at the report's full width."""
    subs = list(dict.fromkeys(summary["subscale"]))
    models = list(dict.fromkeys(summary["model"]))
    width = 13.0  # inches at 90 dpi: the report's full width
    panel_w = width / len(models)
    fig, axes = plt.subplots(
        len(subs),
        len(models),
        figsize=(width, max(2.8, min(3.6, panel_w * 0.8)) * len(subs)),
        squeeze=False,
        sharey=True,
    )
    combos = list(dict.fromkeys(zip(summary["protocol"], summary["criterion"], strict=True)))
    criteria = list(dict.fromkeys(summary["criterion"]))
    for i, sub in enumerate(subs):
        for j, model in enumerate(models):
            ax = axes[i, j]
            part = summary[(summary["subscale"] == sub) & (summary["model"] == model)]
            for protocol, criterion in combos:
                line = part[
                    (part["protocol"] == protocol) & (part["criterion"] == criterion)
                ].sort_values("fraction")
                if line.empty:
                    continue
                color = PALETTE[criteria.index(criterion) % len(PALETTE)]
                style = "-" if protocol == "paper" else "--"
                x = line["fraction"].to_numpy() * 100
                ax.plot(
                    x,
                    line[f"{metric}_mean"],
                    style,
                    color=color,
                    marker="o",
                    ms=4,
                    lw=1.6,
                    label=f"{protocol} protocol, {criterion_name(criterion)} removal",
                )
                ax.fill_between(
                    x, line[f"{metric}_ci_low"], line[f"{metric}_ci_high"], color=color, alpha=0.12
                )
            ax.set_xticks(sorted({round(f * 100, 6) for f in summary["fraction"]}))
            ax.set_title(f"{sub} - {model_name(model)}", fontsize=12)
            ax.grid(alpha=0.3)
            ax.tick_params(labelsize=10)
            if i == len(subs) - 1:
                ax.set_xlabel("respondents removed (%)", fontsize=11)
            if j == 0:
                ax.set_ylabel(metric.upper() if len(metric) <= 3 else metric, fontsize=11)
    handles, labels = axes[0, 0].get_legend_handles_labels()
    fig.tight_layout(rect=(0, 0, 1, 0.93 if len(subs) == 1 else 0.96))
    fig.legend(
        handles, labels, loc="upper center", ncol=min(4, len(labels)), fontsize=10, frameon=False
    )
    return to_png(fig)


def confusion_grid(
    grid: list[list[np.ndarray | None]],
    row_titles: Sequence[str],
    column_titles: Sequence[str],
    class_names: Sequence[str],
) -> bytes:
    """Confusion matrices (rows true, columns predicted) in a grid: one row per subscale x
    model, one column per setting. Cells are row shares on one colour scale, with counts."""
    n_rows, n_cols = len(grid), len(column_titles)
    k = len(class_names)
    cell = 1.0 + 0.55 * k
    slanted = k > 2 or max(len(str(n)) for n in class_names) > 8
    fig, axes = plt.subplots(
        n_rows,
        n_cols,
        figsize=(2.6 + cell * n_cols + 1.0, 0.6 + cell * n_rows),
        squeeze=False,
        layout="constrained",
    )
    image = None
    for r, row in enumerate(grid):
        for c, m in enumerate(row):
            ax = axes[r, c]
            if m is None:
                ax.axis("off")
                continue
            totals = m.sum(axis=1, keepdims=True)
            share = np.divide(m, totals, out=np.zeros_like(m, dtype=float), where=totals > 0)
            image = ax.imshow(share, cmap="Blues", vmin=0, vmax=1)
            for (i, j), v in np.ndenumerate(m):
                ax.text(
                    j,
                    i,
                    f"{share[i, j]:.0%}\n(n={int(v)})",
                    ha="center",
                    va="center",
                    fontsize=9,
                    color="white" if share[i, j] > 0.5 else "black",
                )
            ax.set_xticks(range(k), class_names if r == n_rows - 1 else [""] * k, fontsize=8)
            if slanted:  # long or many names: slanted, each ending under its column
                ax.tick_params(axis="x", labelrotation=30)
                for label in ax.get_xticklabels():
                    label.set(ha="right", rotation_mode="anchor")
            ax.set_yticks(range(k), class_names if c == 0 else [""] * k, fontsize=8)
            if r == 0:
                ax.set_title(column_titles[c].replace(", ", "\n", 1), fontsize=9)
            if c == 0:
                ax.set_ylabel(
                    row_titles[r].replace(" - ", "\n", 1),
                    rotation=0,
                    ha="right",
                    va="center",
                    fontsize=9,
                    fontweight="bold",
                )
            if r == n_rows - 1:
                ax.set_xlabel("predicted", fontsize=8)
    fig.suptitle("rows: true class; columns: predicted class", fontsize=9)
    if image is not None:
        fig.colorbar(
            image,
            ax=axes,
            shrink=min(1.0, 3.0 / n_rows),
            format=lambda v, _: f"{v:.0%}",
            label="share of the true class",
        )
    return to_png(fig)


def cluster_scatter(x: np.ndarray, labels: dict[int, np.ndarray], columns: Sequence[str]) -> bytes:
    """Standardized scores (first two columns) coloured by cluster, one panel per k."""
    fig, axes = plt.subplots(1, len(labels), figsize=(4 * len(labels), 3.4), squeeze=False)
    rng = np.random.default_rng(0)
    jitter = rng.normal(scale=0.04, size=x[:, :2].shape)
    for ax, (k, lab) in zip(axes[0], labels.items(), strict=True):
        for c in range(k):
            sel = lab == c
            ax.scatter(
                x[sel, 0] + jitter[sel, 0],
                x[sel, 1] + jitter[sel, 1],
                s=5,
                alpha=0.5,
                color=PALETTE[c % len(PALETTE)],
                label=f"cluster {c} (n={sel.sum()})",
            )
        ax.set_xlabel(f"{columns[0]} (z)")
        ax.set_ylabel(f"{columns[1]} (z)")
        ax.set_title(f"{k} clusters", fontsize=10)
        ax.legend(fontsize=7, markerscale=2)
    fig.tight_layout()
    return to_png(fig)


def coverage_histogram(manifest: pd.DataFrame) -> bytes:
    """Share of frames with a face per video, and the count of videos per status."""
    fig, axes = plt.subplots(1, 2, figsize=(9, 3))
    frames = pd.to_numeric(manifest.get("frames"), errors="coerce")
    faces = pd.to_numeric(manifest.get("face_frames"), errors="coerce")
    coverage = (faces / frames.where(frames > 0)).dropna()
    axes[0].hist(coverage * 100, bins=np.linspace(0, 100, 21), color=PALETTE[2])
    axes[0].set_xlabel("frames with a face (%)")
    axes[0].set_ylabel("videos")
    integer_counts(axes[0])
    counts = manifest["status"].value_counts()
    axes[1].bar(
        counts.index.astype(str), counts.to_numpy(), color=[PALETTE[i] for i in range(len(counts))]
    )
    axes[1].set_ylabel("videos")
    integer_counts(axes[1])
    axes[1].set_title("extraction status", fontsize=10)
    fig.tight_layout()
    return to_png(fig)


def _subscale_panels(subs: list[str]) -> tuple[Any, Any]:
    """One panel per subscale, side by side, sharing the y axis."""
    return plt.subplots(1, len(subs), figsize=(4.3 * len(subs), 3.4), squeeze=False, sharey=True)


def _band_line(
    ax: Any, x: Any, mean: Any, lo: Any, hi: Any, style: str, color: str, label: str
) -> None:
    """A mean line with its 95% band."""
    ax.plot(x, mean, style, color=color, marker="o", ms=4, label=label)
    ax.fill_between(x, lo, hi, color=color, alpha=0.10)


def _legend_above(fig: Any, ax: Any, top: float, ncol: int) -> None:
    """The first panel's legend, centred above the panels."""
    handles, labels = ax.get_legend_handles_labels()
    fig.tight_layout(rect=(0, 0, 1, top))
    fig.legend(
        handles, labels, loc="upper center", ncol=min(ncol, len(labels)), fontsize=9, frameon=False
    )


def discrepancy_errors(errors: pd.DataFrame, regression: bool) -> bytes:
    """Error by discrepancy quintile: a panel per subscale, a colour per model, solid =
    quintiles within score groups (matched), dashed = over everyone (plain), 95% bands."""
    subs = list(dict.fromkeys(errors["subscale"]))
    models = list(dict.fromkeys(errors["model"]))
    fig, axes = _subscale_panels(subs)
    for ax, sub in zip(axes[0], subs, strict=True):
        for i, model in enumerate(models):
            for ranking, style in (("matched", "-"), ("plain", "--")):
                line = errors[
                    (errors["subscale"] == sub)
                    & (errors["model"] == model)
                    & (errors["ranking"] == ranking)
                ].sort_values("quintile")
                if line.empty:
                    continue
                color = PALETTE[i % len(PALETTE)]
                label = f"{model_name(model)}, {'within score group' if ranking == 'matched' else 'everyone'}"
                _band_line(
                    ax,
                    line["quintile"],
                    line["error_mean"],
                    line["error_ci_low"],
                    line["error_ci_high"],
                    style,
                    color,
                    label,
                )
        ax.set_xticks(range(1, 6), ["1\nleast", "2", "3", "4", "5\nmost"])
        ax.set_xlabel("discrepancy quintile of the test participants")
        ax.set_title(sub, fontsize=11)
        ax.grid(alpha=0.3)
    axes[0, 0].set_ylabel("mean absolute error" if regression else "error rate")
    _legend_above(fig, axes[0, 0], 0.86, 4)
    return to_png(fig)


def learning_curves(curve: pd.DataFrame, metric: str, metric_label: str) -> bytes:
    """Metric against training-set size (log scale): a panel per subscale, a line per model
    in the order given (by capacity), with 95% bands."""
    subs = list(dict.fromkeys(curve["subscale"]))
    models = list(dict.fromkeys(curve["model"]))
    fig, axes = _subscale_panels(subs)
    for ax, sub in zip(axes[0], subs, strict=True):
        for i, model in enumerate(models):
            line = curve[(curve["subscale"] == sub) & (curve["model"] == model)]
            line = line.sort_values("n_train")
            if line.empty:
                continue
            color = PALETTE[i % len(PALETTE)]
            _band_line(
                ax,
                line["n_train"],
                line[f"{metric}_mean"],
                line[f"{metric}_ci_low"],
                line[f"{metric}_ci_high"],
                "-",
                color,
                model_name(model),
            )
        ax.set_xscale("log", base=2)
        ticks = sorted({round(float(v)) for v in curve.loc[curve["subscale"] == sub, "n_train"]})
        ax.set_xticks(ticks, [str(t) for t in ticks])
        ax.minorticks_off()
        ax.set_xlabel("training participants per fold (log scale)")
        ax.set_title(sub, fontsize=11)
        ax.grid(alpha=0.3)
    axes[0, 0].set_ylabel(metric_label)
    _legend_above(fig, axes[0, 0], 0.88, 5)
    return to_png(fig)
