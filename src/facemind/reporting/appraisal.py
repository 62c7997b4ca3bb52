"""Report sections a study's appraisal asks for: calibration, subgroups, channel importance,
and a closing reporting checklist (TRIPOD+AI items facemind can state from its own records)."""

from __future__ import annotations

import html
import json
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from ..evaluation.importance import CHANCE, reliability_note
from . import figures
from .names import model_name

if TYPE_CHECKING:
    from .data import ReportData

#: The removal fraction shown beside 0% when the sweep has it (else its smallest above 0).
HEADLINE_FRACTION = 0.1


def _esc(text: object) -> str:
    return html.escape(str(text))


def _ci(mean: float, lo: float, hi: float, fmt: str = "{:.3f}") -> str:
    if not np.isfinite(mean):
        return "n/a"
    if not (np.isfinite(lo) and np.isfinite(hi)):
        return fmt.format(mean)
    return f"{fmt.format(mean)} [{fmt.format(lo)}, {fmt.format(hi)}]"


def _headline(folds: pd.DataFrame) -> float | None:
    fr = sorted(f for f in set(folds["fraction"]) if f > 0)
    if not fr:
        return None
    return HEADLINE_FRACTION if HEADLINE_FRACTION in fr else fr[0]


def _setting(folds: pd.DataFrame) -> tuple[str, str]:
    """The protocol and criterion shown at the headline fraction: train-only (tested on
    everyone) and SDI when the sweep has them."""
    protocols, criteria = set(folds["protocol"]), set(folds["criterion"])
    protocol = "train-only" if "train-only" in protocols else str(folds["protocol"].iloc[0])
    criterion = "sdi" if "sdi" in criteria else str(folds["criterion"].iloc[0])
    return protocol, criterion


def _pick(frame: pd.DataFrame, fraction: float, protocol: str, criterion: str) -> pd.DataFrame:
    return frame[
        (frame["fraction"] == fraction)
        & (frame["protocol"] == protocol)
        & (frame["criterion"] == criterion)
    ]


def _table(df: pd.DataFrame) -> str:
    from .html import _table as table  # html imports this module

    return table(df)


def _img(png: bytes, alt: str, caption: str) -> str:
    from .html import _img as img

    return img(png, alt, caption)


# --------------------------------------------------------------------------------------------
# Calibration
# --------------------------------------------------------------------------------------------


def pooled_bins(folds: pd.DataFrame) -> np.ndarray | None:
    """Reliability counts (cases, summed probability, events per bin) summed over the folds'
    ``calibration`` column; None when no fold has them."""
    cells = [json.loads(c) for c in folds["calibration"].dropna()]
    if not cells:
        return None
    return np.sum([np.asarray(c, dtype=float) for c in cells], axis=0)


def reliability_figure(panels: list[tuple[str, list[tuple[str, np.ndarray]]]]) -> bytes:
    """A reliability diagram per panel: observed event rate against mean predicted
    probability per bin (marker area = cases), one line per setting, the diagonal dotted."""
    plt = figures.plt
    cols = min(3, len(panels))
    rows = -(-len(panels) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(3.3 * cols, 3.1 * rows), squeeze=False)
    for ax in axes.ravel()[len(panels) :]:
        ax.axis("off")
    for ax, (title, lines) in zip(axes.ravel(), panels, strict=False):
        ax.plot([0, 1], [0, 1], ls=":", color="k", lw=0.8)
        for i, (label, b) in enumerate(lines):
            used = b[:, 0] > 0
            x, y = b[used, 1] / b[used, 0], b[used, 2] / b[used, 0]
            color = figures.PALETTE[i % len(figures.PALETTE)]
            ax.plot(x, y, "-", color=color, lw=1.2, label=label)
            ax.scatter(x, y, s=8 + 60 * b[used, 0] / b[:, 0].max(), color=color, zorder=3)
        ax.set(
            xlim=(0, 1), ylim=(0, 1), xlabel="mean predicted probability", ylabel="observed rate"
        )
        ax.set_title(title, fontsize=9)
        ax.legend(fontsize=7, loc="upper left")
    fig.tight_layout()
    return figures.to_png(fig)


def calibration_section(data: ReportData) -> str:
    """Brier score and ECE with intervals, and reliability diagrams pooled over test folds."""
    folds, summ = data.folds, data.summary
    head = "<h2>Calibration</h2>"
    if folds is None or "calibration" not in folds.columns or summ is None or summ.empty:
        return (
            head
            + "<p class='note'>Calibration needs classification sweep results with a calibration column.</p>"
        )
    headline = _headline(folds)
    protocol, criterion = _setting(folds)
    settings = [(0.0, "0%")] + (
        [(headline, f"{protocol} {headline:.0%} {criterion}")] if headline else []
    )
    rows, panels = [], []
    base_protocol = str(folds["protocol"].iloc[0])
    for (sub, model), g in folds.groupby(["subscale", "model"], sort=False):
        lines = []
        for fraction, label in settings:
            p = protocol if fraction else base_protocol
            c = criterion if fraction else str(g["criterion"].iloc[0])
            part = _pick(g, fraction, p, c)
            bins = pooled_bins(part)
            s = _pick(summ[(summ["subscale"] == sub) & (summ["model"] == model)], fraction, p, c)
            if bins is not None:
                lines.append((label, bins))
            if not s.empty and "brier_mean" in s.columns:
                r = s.iloc[0]
                rows.append(
                    {
                        "subscale": sub,
                        "model": model_name(model),
                        "setting": label,
                        "Brier": _ci(r["brier_mean"], r["brier_ci_low"], r["brier_ci_high"]),
                        "ECE": _ci(r["ece_mean"], r["ece_ci_low"], r["ece_ci_high"]),
                    }
                )
        if lines:
            panels.append((f"{sub} / {model_name(model)}", lines))
    out = [head]
    if rows:
        out.append(_table(pd.DataFrame(rows)))
    out.append(
        "<p class='note'>Brier score: mean squared difference between the predicted probability "
        "of the positive class and the outcome (0 is perfect; multi-class: summed over classes). "
        "ECE: expected calibration error over 10 equal-width probability bins, "
        "sum of (cases in bin / cases) x |mean predicted - observed rate| (multi-class: on the "
        "top-label probability). Mean over test folds, 95% corrected resampled t-interval. "
        "n/a: the model gives no probabilities.</p>"
    )
    if panels:
        out.append(
            _img(
                reliability_figure(panels),
                "reliability diagrams",
                "Reliability diagrams, test folds pooled: observed rate of the positive "
                "class against the mean predicted probability in each of 10 bins (marker "
                "area = cases); on the dotted diagonal the probabilities are calibrated.",
            )
        )
    return "".join(out)


# --------------------------------------------------------------------------------------------
# Subgroups
# --------------------------------------------------------------------------------------------


def subgroups_section(data: ReportData) -> str:
    """The primary metric per subgroup level with intervals, and the largest gap per variable."""
    from ..evaluation.subgroups import MIN_CASES, largest_gaps, summarize_subgroups

    head = "<h2>Subgroups</h2>"
    rows = data.subgroups
    if rows is None or rows.empty:
        return head + "<p class='note'>No subgroup results: run sweep --subgroups gender,age.</p>"
    task = str(rows["task"].iloc[0])
    metric = "mae" if task == "regression" else "f1"
    settings = [(0.0, str(rows["protocol"].iloc[0]), str(rows["criterion"].iloc[0]), "0%")]
    headline = _headline(rows)
    if headline:
        protocol, criterion = _setting(rows)
        settings.append((headline, protocol, criterion, f"{protocol} {headline:.0%} {criterion}"))
    summ = summarize_subgroups(rows)
    gaps = largest_gaps(rows, metric)
    out = [head]
    table: dict[tuple, dict[str, object]] = {}
    gap_rows = []
    for fraction, protocol, criterion, label in settings:
        for r in _pick(summ, fraction, protocol, criterion).itertuples():
            key = (r.subscale, r.model, r.subgroup, r.level)
            row = table.setdefault(
                key,
                {
                    "subscale": r.subscale,
                    "model": model_name(r.model),
                    "variable": r.subgroup,
                    "level": r.level,
                    "test cases per fold": f"{r.n_test:.1f}",
                },
            )
            few = f" ({r.too_few_folds}/{r.n_folds} folds too few)" if r.too_few_folds else ""
            row[f"{metric.upper()} {label}"] = (
                _ci(
                    getattr(r, f"{metric}_mean"),
                    getattr(r, f"{metric}_ci_low"),
                    getattr(r, f"{metric}_ci_high"),
                )
                + few
            )
        for r in _pick(gaps, fraction, protocol, criterion).itertuples():
            if not r.high:  # fewer than two levels with enough test cases: no gap to estimate
                continue
            gap_rows.append(
                {
                    "subscale": r.subscale,
                    "model": model_name(r.model),
                    "setting": label,
                    "variable": r.subgroup,
                    "highest": r.high,
                    "lowest": r.low,
                    "gap": _ci(r.gap_mean, r.gap_ci_low, r.gap_ci_high),
                }
            )
    if table:
        out.append(_table(pd.DataFrame(list(table.values()))))
    if gap_rows:
        out.append(f"<p>Largest gap in {metric.upper()} between levels (paired over folds):</p>")
        out.append(_table(pd.DataFrame(gap_rows)))
    elif table:
        out.append(
            f"<p>No gap between levels is estimated: no variable has two levels with at least "
            f"{MIN_CASES} test cases in every fold.</p>"
        )
    out.append(
        "<p class='note'>Metrics within each level of the test part of every fold; mean over folds "
        "with a 95% corrected resampled t-interval. Numeric columns with many values are cut at "
        "the participants' quartiles (or the --subgroup-bins given), named [from, to). Levels "
        f"with fewer than {MIN_CASES} test cases in a fold are marked, not hidden, and left out "
        "of the gap.</p>"
    )
    return "".join(out)


# --------------------------------------------------------------------------------------------
# Channel importance
# --------------------------------------------------------------------------------------------


def importance_figure(table: pd.DataFrame, top: int = 15) -> bytes:
    """Drop in the metric with its interval: channel groups (left), the top channels (right)."""
    plt = figures.plt
    groups = table[table["level"] == "group"].sort_values("drop_mean")
    chans = table[table["level"] == "channel"].sort_values("drop_mean").tail(top)
    fig, axes = plt.subplots(1, 2, figsize=(10, 0.6 + 0.28 * max(len(groups), len(chans), 4)))
    for ax, part, name in ((axes[0], groups, "group"), (axes[1], chans, "channel")):
        y = np.arange(len(part))
        mean = part["drop_mean"].to_numpy(dtype=float)
        err = np.vstack(
            [
                mean - part["drop_ci_low"].to_numpy(dtype=float),
                part["drop_ci_high"].to_numpy(dtype=float) - mean,
            ]
        )
        colors = [figures.PALETTE[0] if lo > 0 else "#BBBBBB" for lo in part["drop_ci_low"]]
        ax.barh(y, mean, xerr=np.nan_to_num(err), color=colors, ecolor="k", capsize=2)
        ax.set_yticks(y, part[name].astype(str), fontsize=8)
        ax.axvline(0, color="k", lw=0.8)
        ax.set_xlabel(f"drop in {table['metric'].iloc[0]} when permuted")
        ax.set_title(
            "channel groups" if name == "group" else f"top {len(part)} channels", fontsize=10
        )
    fig.tight_layout()
    return figures.to_png(fig)


def importance_section(data: ReportData) -> str:
    """Permutation importance per channel group and channel (``facemind explain``)."""
    t = data.importance
    if t is None or t.empty:
        return ""
    groups = t[t["level"] == "group"].sort_values("drop_mean", ascending=False)
    rows = [
        {
            "group": r.group,
            "features": r.n_features,
            "drop": _ci(r.drop_mean, r.drop_ci_low, r.drop_ci_high),
        }
        for r in groups.itertuples()
    ]
    metric = _esc(t["metric"].iloc[0])
    chance = CHANCE.get(str(t["metric"].iloc[0]))
    baseline = float(t["baseline"].mean())
    flag = ""
    if chance is not None and baseline <= chance:
        flag = (
            f"<p class='warn'>The model's {metric} on the test folds, {baseline:.3f}, is not "
            f"above chance ({chance:g}): it predicts no better than guessing, so these drops "
            "say little about which channels carry the signal.</p>"
        )
    return (
        "<h2>Which channels matter</h2>"
        + flag
        + _img(
            importance_figure(t),
            "channel importance",
            f"Drop in {metric} on held-out folds when a channel group's (left) or channel's "
            "(right) features are permuted together within the test fold; bars: mean over folds "
            "and repeats, whiskers: 95% corrected t-interval; blue: interval above 0.",
        )
        + _table(pd.DataFrame(rows))
        + "<p class='note'>The model was fitted on each training fold only; importance is measured "
        "on the test fold, so it shows what the model uses on people it has not seen.</p>"
        + (f"<p class='note'>{_esc(note)}</p>" if (note := reliability_note(t)) else "")
    )
