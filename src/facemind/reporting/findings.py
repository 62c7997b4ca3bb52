"""The report's Findings: what the sweep says, in sentences that follow from its intervals.

For every subscale x model: the metric at 0% and at each removed fraction (95% intervals); the
change from 0% under the main criterion (SDI) and under random removal of the same size, for
both protocols; and a one-line reading decided by the intervals only:

- the SDI-minus-random interval of the train-only protocol lies above 0 -> SDI removal helps
  on held-out data beyond random removal;
- only the paper protocol's lies above 0 -> the gain appears only when test folds are
  filtered too;
- and so on (see :func:`reading`). With fewer than
  :data:`~facemind.evaluation.summary.MIN_INFORMATIVE_TEST` test cases per fold no reading is
  drawn.
"""

from __future__ import annotations

import html
import json
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .. import labels
from ..errors import FacemindError
from ..evaluation.metrics import metric_names
from ..evaluation.summary import MIN_INFORMATIVE_TEST, criterion_contrast
from ..instruments import Instrument
from .names import criterion_name, metric_name, model_name

#: The fraction the paper's headline quotes; the smallest swept fraction above 0 otherwise.
HEADLINE_FRACTION = 0.1
PROTOCOL_ORDER = ("paper", "train-only")


@dataclass(frozen=True)
class Interval:
    """A mean with its 95% interval (NaN ends when there were too few folds)."""

    mean: float
    low: float
    high: float

    def above(self, better: int) -> bool:
        """The whole interval lies on the better side of 0 (``better`` = +1 or -1)."""
        lo, hi = (self.low, self.high) if better > 0 else (-self.high, -self.low)
        return bool(np.isfinite(lo) and lo > 0)

    def below(self, better: int) -> bool:
        """The whole interval lies on the worse side of 0."""
        return self.above(-better)

    def text(self, signed: bool = False) -> str:
        """``+0.12 (95% CI -0.03 to +0.27)``."""
        if not np.isfinite(self.mean):
            return "not available"
        if not (np.isfinite(self.low) and np.isfinite(self.high)):
            return _num(self.mean, signed) + " (no interval: one fold)"
        return (
            f"{_num(self.mean, signed)} (95% CI {_num(self.low, signed)} to "
            f"{_num(self.high, signed)})"
        )

    def cell(self) -> str:
        """``0.52 [0.31, 0.70]`` for tables."""
        if not np.isfinite(self.mean):
            return ""
        if not (np.isfinite(self.low) and np.isfinite(self.high)):
            return _num(self.mean)
        return f"{_num(self.mean)} [{_num(self.low)}, {_num(self.high)}]"


def _num(value: float, signed: bool = False) -> str:
    """Two decimals, never ``-0.00``."""
    v = round(float(value), 2) + 0.0
    return f"{v:+.2f}" if signed else f"{v:.2f}"


def _interval(row: pd.Series | None, prefix: str) -> Interval:
    if row is None or f"{prefix}_mean" not in row:
        return Interval(np.nan, np.nan, np.nan)
    return Interval(
        float(row[f"{prefix}_mean"]),
        float(row[f"{prefix}_ci_low"]),
        float(row[f"{prefix}_ci_high"]),
    )


def headline_fraction(fractions: list[float]) -> float | None:
    """10% when it was swept, else the smallest fraction above 0 (None when only 0 was)."""
    above = sorted(f for f in fractions if f > 0)
    if not above:
        return None
    return HEADLINE_FRACTION if HEADLINE_FRACTION in above else above[0]


def main_criterion(criteria: list[str]) -> str | None:
    """The criterion the findings are about: SDI, else the first one that is not random."""
    if "sdi" in criteria:
        return "sdi"
    return next((c for c in criteria if c != "random"), None)


def reading(
    contrast: dict[str, Interval],
    gain: dict[str, Interval],
    better: int,
    has_random: bool,
    name: str = "SDI",
) -> str:
    """One sentence decided by the intervals (never by point estimates): ``contrast`` is the
    ``name``-minus-random change per protocol, ``gain`` the change from 0% per protocol."""
    test = contrast if has_random else gain
    paper, train = test.get("paper"), test.get("train-only")
    control = "random removal of the same size" if has_random else "keeping everyone"
    if train is not None and train.above(better):
        if has_random:
            return f"{name} removal helps on held-out data beyond random removal."
        return f"{name} removal helps on held-out data (no random control was swept)."
    if paper is not None and paper.above(better):
        if train is None:
            return (
                f"{name} removal beats {control} under the paper protocol (test folds filtered "
                "too); the train-only protocol was not swept."
            )
        return (
            "The gain appears only when test folds are filtered too: on held-out data "
            f"{name} removal is not distinguishable from {control}."
        )
    if train is not None and train.below(better):
        return f"On held-out data {name} removal does worse than {control}."
    if not test or all(not np.isfinite(i.low) for i in test.values()):
        return "Too few folds for an interval: no reading."
    return f"Neither protocol separates {name} removal from {control} (every interval includes 0)."


def _removed(folds: pd.DataFrame | None) -> pd.DataFrame:
    """Per subscale x protocol x criterion x fraction: people removed from the cohort
    (paper: tested folds' removals, per repeat) and from a training fold (mean)."""
    if folds is None or "n_removed_train" not in folds.columns:
        return pd.DataFrame()
    first = folds[folds["model"] == folds["model"].iloc[0]]
    keys = ["subscale", "protocol", "criterion", "fraction"]
    g = first.groupby(keys)
    out = pd.DataFrame(
        {
            "cohort": g["n_removed_test"].sum() / g["repeat"].nunique(),
            "train": g["n_removed_train"].mean(),
        }
    )
    return out.reset_index()


def class_shares(folds: pd.DataFrame | None, subscale: str) -> np.ndarray | None:
    """Share of each true class among the tested participants at 0% (from the confusion
    matrices of one model and one repeat), or None without them."""
    if folds is None or "confusion" not in folds.columns:
        return None
    part = folds[(folds["subscale"] == subscale) & (folds["fraction"] == 0.0)]
    part = part[part["confusion"].notna()]
    if part.empty:
        return None
    first = part.iloc[0]
    part = part[
        (part["model"] == first["model"])
        & (part["protocol"] == first["protocol"])
        & (part["criterion"] == first["criterion"])
        & (part["repeat"] == first["repeat"])
    ]
    total = sum(np.asarray(json.loads(c), dtype=float) for c in part["confusion"])
    rows = total.sum(axis=1)
    return rows / rows.sum() if rows.sum() else None


def target_sentence(
    task: str, subscale: str, inst: Instrument, positive_band: str | None, shares: np.ndarray | None
) -> str:
    """What was predicted for ``subscale``, its prevalence and what chance looks like."""
    sub = inst.subscales.get(subscale)
    band = positive_band or "mild"
    assumed = (
        ""
        if positive_band
        else " (the sweep's default positive band; the results do not record it)"
    )
    if task == "regression":
        return f"<b>{html.escape(subscale)}</b>: the scored total is predicted (regression); MAE is in score points, lower is better."
    try:
        names = labels.class_names(sub, task, positive_band=band) if sub else []
    except FacemindError:  # a band this subscale lacks: the sentence goes without class names
        names = []
    if task == "binary":
        lead = (
            f"<b>{html.escape(subscale)}</b>: positive = scored total at or above the "
            f"<i>{html.escape(band)}</i> band{html.escape(assumed)}"
        )
        if shares is None or len(shares) != 2:
            return lead + "; prevalence unknown (no confusion matrices in the results)."
        p = float(shares[1])
        return (
            f"{lead}; prevalence {p:.0%} among the tested participants. Chance level: F1 {p:.2f} "
            f"for guessing positive at that rate, {2 * p / (1 + p):.2f} for calling everyone "
            "positive; balanced accuracy and ROC AUC 0.50."
        )
    parts = ", ".join(
        f"{html.escape(n)} {s:.0%}"
        for n, s in zip(names, shares if shares is not None else [], strict=False)
    )
    return (
        f"<b>{html.escape(subscale)}</b>: {len(names) or 'several'} classes"
        + (f" ({parts})" if parts else "")
        + "; F1 is the macro average over classes (chance: about 1 / number of classes for balanced classes)."
    )


def findings_section(
    summary: pd.DataFrame | None,
    folds: pd.DataFrame | None,
    inst: Instrument,
    positive_band: str | None = None,
) -> str:
    """The Findings section's HTML (a short note when there are no sweep results)."""
    if summary is None or summary.empty:
        return "<h2>Findings</h2><p class='note'>No sweep results given: nothing to report on models.</p>"
    task = str(summary["task"].iloc[0])
    metric = metric_names(task)[0]
    better = -1 if task == "regression" else 1
    mname = metric_name(metric)
    fractions = sorted(float(f) for f in summary["fraction"].unique())
    head = headline_fraction(fractions)
    criteria = list(dict.fromkeys(summary["criterion"]))
    crit = main_criterion(criteria)
    has_random = "random" in criteria
    contrast = criterion_contrast(folds) if folds is not None and has_random else pd.DataFrame()
    removed = _removed(folds)
    if not removed.empty:  # the share quoted: the headline, or the smallest that removed anyone
        head = headline_fraction(
            sorted(
                {
                    f
                    for sub in removed["subscale"].unique()
                    for f in _removing(removed, sub, fractions)
                }
            )
        )
    out = ["<h2>Findings</h2>"]
    if head is None or crit is None:
        out.append(
            f"<p class='note'>{_why_no_removal(fractions, crit)}: the findings "
            "list the metric at 0% only.</p>"
        )
    out.append(
        f"<p>Metric: {mname} on held-out folds"
        + (" (higher is better)" if better > 0 else " (lower is better)")
        + ", mean over folds with its 95% corrected resampled t-interval, truncated to the "
        "metric's range. Changes are paired fold by fold. "
        + (
            f"The sentences quote {head:.0%} removal by {criterion_name(crit)} (or the smallest "
            "swept share that removed anyone) against random removal of the same number of people "
            "from the same total-score groups."
            if head is not None and crit is not None
            else ""
        )
        + "</p>"
    )
    readings: list[str] = []
    blocks = []
    for sub in dict.fromkeys(summary["subscale"]):
        s = summary[summary["subscale"] == sub]
        block = [f"<h3>{html.escape(str(sub))}</h3>"]
        block.append(
            f"<p>{target_sentence(task, sub, inst, positive_band, class_shares(folds, sub))}</p>"
        )
        n_test = (
            float(s.loc[s["fraction"] == 0.0, "n_test"].min())
            if (s["fraction"] == 0.0).any()
            else float(s["n_test"].min())
        )
        informative = n_test >= MIN_INFORMATIVE_TEST
        if not informative:
            block.append(
                f"<p class='warn'>About {n_test:.0f} test cases per fold (fewer than "
                f"{MIN_INFORMATIVE_TEST}): a fold's {mname} takes only a few values, so these "
                "intervals are not informative and no reading is drawn.</p>"
            )
        block.append(_nobody_removed(removed, sub))
        sub_head = headline_fraction(_removing(removed, sub, fractions)) if head else None
        items = []
        for model in dict.fromkeys(s["model"]):
            m = s[s["model"] == model]
            items.append(
                _model_item(
                    m,
                    contrast,
                    sub,
                    model,
                    mname,
                    metric,
                    sub_head,
                    crit,
                    has_random,
                    better,
                    informative,
                    readings,
                )
            )
        block.append("<ul>" + "".join(items) + "</ul>")
        block.append(_metric_table(s, metric, fractions, removed, sub))
        blocks.append("".join(block))
    if readings:
        counts = pd.Series(readings).value_counts()
        items = "".join(
            f"<li>{n} of {len(readings)}: {html.escape(r)}</li>" for r, n in counts.items()
        )
        caveat = (
            f"<p class='note'>Each interval is for one comparison, not adjusted for the "
            f"{len(readings)} subscale x model pairs: about 1 in 20 intervals misses 0 by "
            "chance alone, so a reading held by one pair is weak evidence.</p>"
            if len(readings) > 1
            else ""
        )
        out.append(
            "<div class='reading'><b>Reading</b> (subscale x model pairs, from the intervals):"
            f"<ul>{items}</ul></div>{caveat}"
        )
    out.extend(blocks)
    return "".join(out)


def _row(frame: pd.DataFrame, protocol: str, criterion: str, fraction: float) -> pd.Series | None:
    sel = frame[
        (frame["protocol"] == protocol)
        & (frame["criterion"] == criterion)
        & np.isclose(frame["fraction"].astype(float), fraction)
    ]
    return None if sel.empty else sel.iloc[0]


def _model_item(
    m: pd.DataFrame,
    contrast: pd.DataFrame,
    sub: str,
    model: str,
    mname: str,
    metric: str,
    head: float | None,
    crit: str | None,
    has_random: bool,
    better: int,
    informative: bool,
    readings: list[str],
) -> str:
    base = m[np.isclose(m["fraction"].astype(float), 0.0)]
    text = [f"<b>{html.escape(model_name(model))}</b>: {mname} with everyone "]
    text.append(
        _interval(base.iloc[0], metric).text() + "." if not base.empty else "not swept at 0%."
    )
    if head is None or crit is None:
        return "<li>" + "".join(text) + "</li>"
    gains: dict[str, Interval] = {}
    contrasts: dict[str, Interval] = {}
    c = (
        contrast[(contrast["subscale"] == sub) & (contrast["model"] == model)]
        if not contrast.empty
        else contrast
    )
    for protocol in PROTOCOL_ORDER:
        row = _row(m, protocol, crit, head)
        if row is None:
            continue
        gains[protocol] = _interval(row, f"{metric}_gain")
        sentence = (
            f" Under the <i>{protocol}</i> protocol, removing {head:.0%} by {criterion_name(crit)} "
            f"changed {mname} by {gains[protocol].text(signed=True)}"
        )
        rnd = _row(m, protocol, "random", head) if has_random else None
        if rnd is not None:
            sentence += f"; removing as many at random by {_interval(rnd, f'{metric}_gain').text(signed=True)}"
        crow = _row(c, protocol, crit, head) if not c.empty else None
        if crow is not None:
            contrasts[protocol] = _interval(crow, f"{metric}_vs_random")
            sentence += (
                f"; {criterion_name(crit)} minus random: {contrasts[protocol].text(signed=True)}"
            )
        text.append(sentence + ".")
    if informative:
        line = reading(
            contrasts if has_random else {}, gains, better, has_random and bool(contrasts)
        )
        readings.append(line)
        text.append(f" <i>Reading: {html.escape(line)}</i>")
    else:
        text.append(" <i>Reading: intervals not informative (too few test cases per fold).</i>")
    return "<li>" + "".join(text) + "</li>"


def _why_no_removal(fractions: list[float], crit: str | None) -> str:
    """Why the findings have no removal to quote, as what the sweep did."""
    swept = [f for f in fractions if f > 0]
    if not swept:
        return "The sweep ran no removal (only 0%)"
    shares = ", ".join(f"{f:.0%}" for f in swept)
    if crit is None:
        return (
            f"The sweep removed {shares} by random choice only, with no criterion to "
            "compare it with"
        )
    return (
        f"Removal of {shares} ran but removed nobody (too few participants for any of these shares)"
    )


def _removing(removed: pd.DataFrame, sub: str, fractions: list[float]) -> list[float]:
    """The swept fractions that removed someone from ``sub`` (all of them when unknown)."""
    if removed.empty:
        return fractions
    r = removed[removed["subscale"] == sub]
    total = r.groupby("fraction")[["cohort", "train"]].sum().sum(axis=1)
    return [f for f in fractions if f == 0.0 or total.get(f, 1.0) > 0]


def _nobody_removed(removed: pd.DataFrame, sub: str) -> str:
    if removed.empty:
        return ""
    r = removed[(removed["subscale"] == sub) & (removed["fraction"] > 0)]
    none = sorted(
        {float(f) for f, g in r.groupby("fraction") if (g["cohort"] + g["train"]).sum() == 0}
    )
    if not none:
        return ""
    fr = ", ".join(f"{f:.0%}" for f in none)
    return (
        f"<p class='warn'>At {fr} nobody was removed: every total-score group is so small that "
        "round(fraction x group size) is 0, so these results equal 0%.</p>"
    )


def _metric_table(
    s: pd.DataFrame, metric: str, fractions: list[float], removed: pd.DataFrame, sub: str
) -> str:
    """Model x protocol x criterion rows, one column per fraction: mean [95% interval]."""
    rows = []
    for (model, protocol, criterion), g in s.groupby(
        ["model", "protocol", "criterion"], sort=False
    ):
        row = {
            "model": model_name(model),
            "protocol": protocol,
            "removal": criterion_name(criterion),
        }
        for f in fractions:
            hit = g[np.isclose(g["fraction"].astype(float), f)]
            row[f"{f:.0%}"] = _interval(hit.iloc[0], metric).cell() if not hit.empty else ""
        rows.append(row)
    table = pd.DataFrame(rows)
    head = "".join(f"<th>{html.escape(c)}</th>" for c in table.columns)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(str(v))}</td>" for v in r) + "</tr>"
        for r in table.itertuples(index=False)
    )
    caption = (
        f"{metric_name(metric)} by share removed, mean [95% interval] over folds; at 0% every "
        "protocol and criterion is the same fit."
    )
    if not removed.empty:
        r = removed[
            (removed["subscale"] == sub)
            & (removed["fraction"] > 0)
            & (removed["protocol"] == "paper")
        ]
        if not r.empty:
            per = r.groupby("fraction")["cohort"].first()
            caption += (
                " People removed from the cohort (paper protocol): "
                + ", ".join(f"{f:.0%}: {n:.0f}" for f, n in per.items())
                + "."
            )
    return f"<table class='findings'><caption>{html.escape(caption)}</caption><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
