"""SDI figure: per-group GDI bars and the discrepancy distribution, one row per subscale."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from ..io import atomic_path  # noqa: E402


def sdi_figure(results: dict) -> plt.Figure:
    """GDI per group with the SDI line, and the discrepancy histogram, one row per subscale."""
    n = len(results)
    fig, axes = plt.subplots(n, 2, figsize=(11, 2.8 * n), squeeze=False)
    for row, (name, res) in enumerate(results.items()):
        gt = res.groups
        ax = axes[row, 0]
        x = np.arange(len(gt))
        ax.bar(x, gt["gdi"], color="#4C72B0", label="GDI = mean + sd")
        ax.plot(x, gt["mean"], "o", color="#DD8452", ms=3, label="mean discrepancy")
        ax.axhline(res.sdi, color="k", lw=1, ls="--", label=f"SDI {res.sdi:.3f}")
        step = max(1, len(gt) // 12)
        ax.set_xticks(x[::step], [str(g) for g in gt["group"]][::step], rotation=0, fontsize=8)
        ax.set_title(f"{name}: GDI per group (n={res.n})", fontsize=10)
        ax.set_xlabel("group (raw total or band)")
        ax.legend(fontsize=7, loc="lower center", framealpha=0.9)
        ax2 = axes[row, 1]
        d = res.discrepancy.dropna().to_numpy(dtype=float)
        ax2.hist(d, bins=40, color="#55A868")
        ax2.set_title(f"{name}: normalized discrepancy", fontsize=10)
        ax2.set_xlabel("discrepancy (0-1)")
        ax2.set_ylabel("respondents")
    fig.tight_layout()
    return fig


def plot_sdi(results: dict, path: str | Path, *, dpi: int = 110) -> Path:
    """Write :func:`sdi_figure` as a PNG file (atomically)."""
    fig = sdi_figure(results)
    target = Path(path)
    with atomic_path(target) as tmp:
        fig.savefig(tmp, dpi=dpi, format="png")
    plt.close(fig)
    return target
