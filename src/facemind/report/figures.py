"""Figures of the study report, drawn with matplotlib (Agg) and returned as PNG bytes."""

from __future__ import annotations

import io
from collections.abc import Sequence

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from ..instruments import Subscale  # noqa: E402

PALETTE = ["#4C72B0", "#DD8452", "#55A868", "#C44E52", "#8172B3", "#937860", "#DA8BC3", "#8C8C8C"]


def to_png(fig: plt.Figure, dpi: int = 90) -> bytes:
    """Render and close a figure."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, bbox_inches="tight")
    plt.close(fig)
    return buf.getvalue()


def score_histograms(scores: pd.DataFrame, subscales: dict[str, Subscale]) -> bytes:
    """Histogram of each subscale's scored total with its band cut-offs."""
    fig, axes = plt.subplots(1, len(subscales), figsize=(4.2 * len(subscales), 3), squeeze=False)
    for ax, (name, sub) in zip(axes[0], subscales.items(), strict=True):
        values = pd.to_numeric(scores[name], errors="coerce").dropna()
        top = int(values.max()) if len(values) else 1
        ax.hist(values, bins=np.arange(-0.5, top + 1.5, max(1, sub.multiplier)), color=PALETTE[0])
        for band in sub.bands[1:]:
            ax.axvline(band.min - 0.5, color="k", lw=0.8, ls=":")
            ax.text(
                band.min - 0.3,
                ax.get_ylim()[1] * 0.92,
                band.label,
                fontsize=7,
                rotation=90,
                va="top",
            )
        ax.set_title(name, fontsize=10)
        ax.set_xlabel("scored total")
        ax.set_ylabel("respondents")
    fig.tight_layout()
    return to_png(fig)


def removal_curves(summary: pd.DataFrame, metric: str) -> bytes:
    """Metric against removed fraction: a panel per subscale x model, a line per protocol x
    criterion with its 95% interval as a band."""
    subs = list(dict.fromkeys(summary["subscale"]))
    models = list(dict.fromkeys(summary["model"]))
    fig, axes = plt.subplots(
        len(subs),
        len(models),
        figsize=(3.4 * len(models), 2.7 * len(subs)),
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
                    ms=3,
                    label=f"{protocol} / {criterion}",
                )
                ax.fill_between(
                    x, line[f"{metric}_ci_low"], line[f"{metric}_ci_high"], color=color, alpha=0.12
                )
            ax.set_title(f"{sub} - {model}", fontsize=9)
            ax.grid(alpha=0.3)
            if i == len(subs) - 1:
                ax.set_xlabel("removed (%)")
            if j == 0:
                ax.set_ylabel(metric)
    handles, labels = axes[0, 0].get_legend_handles_labels()
    fig.legend(
        handles,
        labels,
        loc="upper center",
        ncol=min(4, len(labels)),
        fontsize=8,
        bbox_to_anchor=(0.5, 1.04),
    )
    fig.tight_layout()
    return to_png(fig)


def confusion_grid(matrices: list[tuple[str, np.ndarray]], class_names: Sequence[str]) -> bytes:
    """Confusion matrices (rows true, columns predicted), counts summed over test folds."""
    n = len(matrices)
    cols = min(4, n)
    rows = int(np.ceil(n / cols))
    fig, axes = plt.subplots(rows, cols, figsize=(2.8 * cols, 2.6 * rows), squeeze=False)
    for ax in axes.ravel()[n:]:
        ax.axis("off")
    for ax, (title, m) in zip(axes.ravel(), matrices, strict=False):
        ax.imshow(m, cmap="Blues")
        for (r, c), v in np.ndenumerate(m):
            ax.text(c, r, f"{int(v)}", ha="center", va="center", fontsize=9,
                    color="white" if v > m.max() / 2 else "black")  # fmt: skip
        ax.set_xticks(range(len(class_names)), class_names, fontsize=7)
        ax.set_yticks(range(len(class_names)), class_names, fontsize=7)
        ax.set_xlabel("predicted", fontsize=8)
        ax.set_ylabel("true", fontsize=8)
        ax.set_title(title, fontsize=8)
    fig.tight_layout()
    return to_png(fig)


def cluster_scatter(x: np.ndarray, labels: dict[int, np.ndarray], columns: Sequence[str]) -> bytes:
    """Standardized scores (first two columns) coloured by cluster, one panel per k."""
    fig, axes = plt.subplots(1, len(labels), figsize=(4 * len(labels), 3.4), squeeze=False)
    rng = np.random.default_rng(0)
    jitter = rng.normal(scale=0.04, size=x[:, :2].shape)
    for ax, (k, lab) in zip(axes[0], labels.items(), strict=True):
        for c in range(k):
            sel = lab == c
            ax.scatter(x[sel, 0] + jitter[sel, 0], x[sel, 1] + jitter[sel, 1], s=5, alpha=0.5,
                       color=PALETTE[c % len(PALETTE)], label=f"cluster {c} (n={sel.sum()})")  # fmt: skip
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
    counts = manifest["status"].value_counts()
    axes[1].bar(
        counts.index.astype(str), counts.to_numpy(), color=[PALETTE[i] for i in range(len(counts))]
    )
    axes[1].set_ylabel("videos")
    axes[1].set_title("extraction status", fontsize=10)
    fig.tight_layout()
    return to_png(fig)
