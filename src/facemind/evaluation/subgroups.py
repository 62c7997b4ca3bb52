"""Subgroup metrics: each fold's test part split by columns of the responses (gender, age).

Levels come from :func:`subgroup_levels`: a column with at most :data:`MAX_LEVELS` distinct
values is used as it is; a numeric column with more is cut into bins (by default its
quartiles over the study's participants, or the edges given), named ``[lo, hi)`` (the last
bin closed). A missing value is its own level, ``missing``. Levels with fewer than
``min_cases`` test cases in a fold are marked ``too_few`` in that fold's rows, not dropped.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ..errors import InputError, ParameterError
from .metrics import metric_names
from .summary import (
    CONFIDENCE,
    GROUP_COLUMNS,
    METRIC_BOUNDS,
    corrected_t_interval,
    difference_bounds,
)

#: A column with more distinct values than this is cut into bins (numeric) or refused.
MAX_LEVELS = 8
#: Default quantile bins of a numeric column (quartiles).
DEFAULT_BINS = 4
#: Levels with fewer test cases than this in a fold are marked ``too_few``.
MIN_CASES = 10
SUBGROUP_COLUMNS: tuple[str, ...] = ("subgroup", "level", "too_few", "n_test_fold")


@dataclass(frozen=True, eq=False)
class Subgroups:
    """Every participant's level of each subgroup variable (codes index ``levels``)."""

    names: tuple[str, ...]
    levels: tuple[tuple[str, ...], ...]
    #: Shape (participants, variables), in the order of the study's ``person_ids``.
    codes: np.ndarray
    #: How each variable's levels were made, in words (for the report).
    binning: tuple[str, ...]
    min_cases: int = MIN_CASES


def _fmt(v: float) -> str:
    return f"{v:g}"


def _cut(
    name: str, values: pd.Series, edges: Sequence[float] | None, bins: int
) -> tuple[pd.Series, str]:
    """Bin labels of a numeric column, and how it was binned."""
    v = values.astype(float)
    if edges is None:
        qs = np.nanquantile(v.to_numpy(), np.linspace(0, 1, bins + 1))
        inner = list(np.unique(qs[1:-1]))
        how = f"{name}: {bins} quantile bins over the participants (cut at {', '.join(map(_fmt, inner))})"
    else:
        inner = sorted(float(e) for e in edges)
        how = f"{name}: bins cut at {', '.join(map(_fmt, inner))}"
    lo, hi = float(np.nanmin(v)), float(np.nanmax(v))
    cuts = [lo, *[e for e in inner if lo < e <= hi], hi]
    labels = []
    for i in range(len(cuts) - 1):
        close = "]" if i == len(cuts) - 2 else ")"
        labels.append(f"[{_fmt(cuts[i])}, {_fmt(cuts[i + 1])}{close}")
    idx = np.searchsorted(np.asarray(cuts[1:-1]), v.to_numpy(), side="right")
    out = pd.Series([labels[i] for i in idx], index=values.index, dtype=object)
    return out.where(v.notna(), "missing"), how


def subgroup_levels(
    responses: pd.DataFrame,
    columns: Sequence[str],
    person_ids: Sequence[Any],
    *,
    id_column: str = "participant_id",
    bins: int | Mapping[str, Sequence[float]] = DEFAULT_BINS,
    min_cases: int = MIN_CASES,
    source: str = "responses",
) -> Subgroups:
    """The level of each of ``person_ids`` on each of ``columns`` of ``responses``.

    ``bins``: the number of quantile bins of every numeric column with many values, or a
    mapping from column to its inner cut points (other columns: quartiles).
    """
    for c in [id_column, *columns]:
        if c not in responses.columns:
            raise InputError("no such column for `subgroups`", file=source, column=c)
    if isinstance(bins, int) and bins < 2:
        raise InputError(f"subgroup bins must be at least 2, got {bins}", file=source)
    ids = responses[id_column].astype("string").str.strip()
    table = responses.set_index(ids.to_numpy())
    table = table[~table.index.duplicated()]
    wanted = pd.Index([str(p).strip() for p in person_ids])
    names, levels, codes, binning = [], [], [], []
    for c in columns:
        col = table[c].reindex(wanted)
        numeric = pd.to_numeric(col, errors="coerce")
        distinct = col.dropna().unique()
        if len(distinct) > MAX_LEVELS or (isinstance(bins, Mapping) and c in bins):
            bad = col.notna() & numeric.isna()
            if bad.any():
                row = int(np.flatnonzero(responses[c].astype("string") == str(col[bad].iloc[0]))[0])
                raise InputError(
                    f"subgroup column has {len(distinct)} levels and a non-numeric value, "
                    "so it cannot be binned",
                    file=source,
                    row=row + 1,
                    column=c,
                    value=str(col[bad].iloc[0]),
                )
            edges = bins.get(c) if isinstance(bins, Mapping) else None
            labelled, how = _cut(c, numeric, edges, bins if isinstance(bins, int) else DEFAULT_BINS)
        else:
            labelled = col.map(lambda v: "missing" if pd.isna(v) else str(v))
            how = f"{c}: its {len(distinct)} values"
        order = sorted(set(labelled) - {"missing"}, key=_level_key) + (
            ["missing"] if (labelled == "missing").any() else []
        )
        lookup = {lv: i for i, lv in enumerate(order)}
        names.append(str(c))
        levels.append(tuple(order))
        codes.append(labelled.map(lookup).to_numpy(dtype=np.int64))
        binning.append(how)
    return Subgroups(
        names=tuple(names),
        levels=tuple(levels),
        codes=np.column_stack(codes) if codes else np.zeros((len(wanted), 0), dtype=np.int64),
        binning=tuple(binning),
        min_cases=min_cases,
    )


def cv_group_codes(
    responses: pd.DataFrame,
    column: str,
    person_ids: Sequence[Any],
    *,
    folds: int,
    id_column: str = "participant_id",
    source: str = "responses",
) -> np.ndarray:
    """Each participant's code of the ``cv_groups`` column (a site, a school), in the order of
    ``person_ids``: folds split whole groups. A missing value, or fewer groups than
    ``folds``, is a one-line error."""
    if column not in responses.columns:
        raise InputError("no such column for `cv_groups`", file=source, column=column)
    ids = responses[id_column].astype("string").str.strip()
    values = pd.Series(responses[column].astype("string").str.strip().to_numpy(), index=ids)
    values = values[~values.index.duplicated()].reindex([str(p).strip() for p in person_ids])
    if values.isna().any() or (values == "").any():
        who = values.index[(values.isna() | (values == "")).to_numpy()][0]
        row = int(np.flatnonzero(ids.to_numpy() == who)[0]) + 1
        raise InputError("no `cv_groups` value", file=source, row=row, column=column)
    codes, uniques = pd.factorize(values, sort=True)
    if len(uniques) < folds:
        raise ParameterError(
            f"`cv_groups` column {column!r} has {len(uniques)} groups among the participants, "
            f"fewer than `folds` {folds}; lower `folds` or group by a finer column"
        )
    return codes.astype(np.int64)


def _level_key(label: str) -> tuple[float, str]:
    """Bins sort by their lower edge, other levels by name."""
    if label.startswith("["):
        try:
            return float(label[1:].split(",")[0]), label
        except ValueError:
            pass
    return float("inf"), label


def level_rows(
    subgroups: Subgroups, test_people: np.ndarray, metrics_of: Any
) -> list[dict[str, Any]]:
    """One row per variable and level: ``metrics_of(mask)`` on the test cases of that level
    (``mask`` over the test rows), with the level's test count and the ``too_few`` mark."""
    rows = []
    for j, name in enumerate(subgroups.names):
        codes = subgroups.codes[test_people, j]
        for k, level in enumerate(subgroups.levels[j]):
            mask = codes == k
            n = int(mask.sum())
            rows.append(
                {
                    "subgroup": name,
                    "level": level,
                    "too_few": n < subgroups.min_cases,
                    "n_test_fold": len(codes),
                    "n_test": n,
                    **(metrics_of(mask) if n else {}),
                }
            )
    return rows


def subgroup_columns(task: str) -> list[str]:
    """Columns of the per-fold subgroup table."""
    keys = ["subscale", "task", "model", "protocol", "criterion", "fraction", "repeat", "fold"]
    return [*keys, *SUBGROUP_COLUMNS, "n_train", "n_test", *metric_names(task)]


def summarize_subgroups(rows: pd.DataFrame, confidence: float = CONFIDENCE) -> pd.DataFrame:
    """Per setting, variable and level: folds, folds with too few cases, mean test cases and
    each metric's mean and 95% corrected resampled t-interval over folds (the fold's test to
    training ratio)."""
    if rows.empty:
        return pd.DataFrame()
    metrics = metric_names(str(rows["task"].iloc[0]))
    keys = [*GROUP_COLUMNS, "subgroup", "level"]
    out = []
    for key, g in rows.groupby(keys, sort=False):
        ratio = float((g["n_test_fold"] / g["n_train"].clip(lower=1)).mean())
        row: dict[str, Any] = dict(zip(keys, key, strict=True))
        row["n_folds"] = len(g)
        row["too_few_folds"] = int(g["too_few"].astype(bool).sum())
        row["n_test"] = float(g["n_test"].mean())
        for m in metrics:
            mean, lo, hi = corrected_t_interval(
                g[m].to_numpy(dtype=float), ratio, confidence, METRIC_BOUNDS.get(m)
            )
            row[f"{m}_mean"], row[f"{m}_ci_low"], row[f"{m}_ci_high"] = mean, lo, hi
        out.append(row)
    return pd.DataFrame(out)


def largest_gaps(rows: pd.DataFrame, metric: str, confidence: float = CONFIDENCE) -> pd.DataFrame:
    """Per setting and variable: the levels with the highest and lowest mean ``metric``
    (levels marked too few in any fold left out) and their gap, with a 95% corrected
    t-interval over the paired per-fold differences."""
    if rows.empty:
        return pd.DataFrame()
    out = []
    for key, g in rows.groupby([*GROUP_COLUMNS, "subgroup"], sort=False):
        ok = g.groupby("level")["too_few"].transform(lambda s: not s.astype(bool).any())
        g = g[ok.astype(bool)]
        means = g.groupby("level")[metric].mean().dropna()
        row: dict[str, Any] = dict(zip([*GROUP_COLUMNS, "subgroup"], key, strict=True))
        if len(means) < 2:
            out.append(
                {
                    **row,
                    "high": "",
                    "low": "",
                    "gap_mean": np.nan,
                    "gap_ci_low": np.nan,
                    "gap_ci_high": np.nan,
                }
            )
            continue
        high, low = str(means.idxmax()), str(means.idxmin())
        per_fold = g.pivot_table(index=["repeat", "fold"], columns="level", values=metric)
        diff = (per_fold[high] - per_fold[low]).to_numpy()
        ratio = float((g["n_test_fold"] / g["n_train"].clip(lower=1)).mean())
        mean, lo, hi = corrected_t_interval(diff, ratio, confidence, difference_bounds(metric))
        out.append(
            {**row, "high": high, "low": low, "gap_mean": mean, "gap_ci_low": lo, "gap_ci_high": hi}
        )
    return pd.DataFrame(out)
