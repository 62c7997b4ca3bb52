"""SDI figure: per-group GDI bars and the discrepancy distribution, one row per subscale."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.ticker import MaxNLocator  # noqa: E402

from ..io import atomic_path  # noqa: E402


def _group_labels(groups: pd.Series, multiplier: int | None) -> tuple[list[str], str]:
    """Group labels on the scored scale (raw total x multiplier) and the axis label; band
    groups keep their labels; without a multiplier the raw totals are labelled as such."""
    values = pd.to_numeric(groups, errors="coerce")
    if values.isna().any():
        return [str(g) for g in groups], "severity band"
    if multiplier is None:
        return [f"{v:g}" for v in values], "raw total (item sum)"
    if multiplier == 1:
        return [f"{v:g}" for v in values], "total score"
    return [f"{v * multiplier:g}" for v in values], f"scored total (raw sum x {multiplier})"


def sdi_figure(results: dict, multipliers: Mapping[str, int] | None = None) -> plt.Figure:
    """GDI per group with the SDI line, and the discrepancy histogram, one row per subscale.

    Groups are shown on the scored scale (raw total x the subscale's ``multipliers`` entry), the
    scale the bands and the score histograms use; without ``multipliers``, as raw totals.
    """
    n = len(results)
    fig, axes = plt.subplots(n, 2, figsize=(12, 3.0 * n), squeeze=False)
    for row, (name, res) in enumerate(results.items()):
        gt = res.groups
        ax = axes[row, 0]
        x = np.arange(len(gt))
        ax.bar(x, gt["gdi"], color="#4C72B0", label="GDI = mean + sd")
        ax.plot(x, gt["mean"], "o", color="#DD8452", ms=4, label="mean discrepancy")
        ax.axhline(res.sdi, color="k", lw=1, ls="--", label=f"SDI {res.sdi:.3f}")
        mult = None if multipliers is None else int(multipliers.get(name, 1))
        names, xlabel = _group_labels(gt["group"], mult)
        step = max(1, len(gt) // 12)
        ax.set_xticks(x[::step], names[::step], rotation=0, fontsize=8)
        ax.set_title(f"{name}: GDI per score group (n={res.n})", fontsize=10)
        ax.set_xlabel(xlabel)
        ax.set_ylabel("GDI (discrepancy, 0-1)")
        ax.set_ylim(0, max(1.0, float(np.nanmax(gt["gdi"])) * 1.05) if len(gt) else 1.0)
        ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False)
        ax2 = axes[row, 1]
        d = res.discrepancy.dropna().to_numpy(dtype=float)
        ax2.hist(d, bins=40, color="#55A868")
        ax2.set_title(f"{name}: normalized discrepancy", fontsize=10)
        ax2.set_xlabel("discrepancy (0-1)")
        ax2.set_ylabel("respondents")
        ax2.yaxis.set_major_locator(MaxNLocator(integer=True))
    fig.tight_layout()
    return fig


def plot_sdi(
    results: dict, path: str | Path, *, dpi: int = 110, multipliers: Mapping[str, int] | None = None
) -> Path:
    """Write :func:`sdi_figure` as a PNG file (atomically)."""
    fig = sdi_figure(results, multipliers)
    target = Path(path)
    with atomic_path(target) as tmp:
        fig.savefig(tmp, dpi=dpi, format="png", bbox_inches="tight")
    plt.close(fig)
    return target
