"""Prediction targets from scored questionnaires: binary, severity bands, 3-class, regression.

Also the paper's data-driven labels (agglomerative clusters of the standardized subscale
scores, judged by silhouette, Calinski-Harabasz and Davies-Bouldin), the Jaccard overlap table
between labelings, and the join of per-video or per-participant features with responses.

Targets are computed from *scored* totals (``<sub>`` columns of
:func:`facemind.instruments.score`, i.e. after the multiplier), so band cut-offs always apply to
the scale they were written for (the paper's scripts sometimes applied the doubled DASS-21
cut-offs to undoubled sums). A subscale is anything with a ``bands`` list of items that have
``label`` and ``min`` (inclusive lower bound on the scored total, ascending), as in the
instrument spec.

Public API
- :data:`TASKS`, :func:`band_index`, :func:`binary_target`, :func:`severity_target`,
  :func:`three_class_target`, :func:`regression_target`, :func:`make_target`,
  :func:`class_names`
- :func:`standardize`, :func:`cluster_quality`, :func:`cluster_scores` -> :class:`Clustering`
- :func:`jaccard`, :func:`indicator_sets`, :func:`jaccard_table`
- :func:`join_features_responses` -> :class:`JoinResult`
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
import pandas as pd

from .errors import FacemindError, InputError

#: Task names understood by :func:`make_target` (``sweep --task`` uses the same names).
TASKS: tuple[str, ...] = ("binary", "bands", "3class", "regression")
THREE_CLASS_NAMES: tuple[str, ...] = ("normal", "mild", "moderate_plus")


class BandLike(Protocol):
    label: str
    min: float


class SubscaleLike(Protocol):
    bands: Sequence[BandLike]


# --------------------------------------------------------------------------------------------
# Targets
# --------------------------------------------------------------------------------------------


def _bands(subscale: SubscaleLike) -> tuple[list[str], np.ndarray]:
    bands = list(getattr(subscale, "bands", None) or [])
    if not bands:
        raise FacemindError("subscale has no severity bands; use the regression task")
    labels = [str(b.label) for b in bands]
    mins = np.asarray([float(b.min) for b in bands], dtype=float)
    if np.any(np.diff(mins) <= 0):
        raise FacemindError(f"band lower bounds must increase: {list(mins)}")
    return labels, mins


def _scores(scores: Any, name: str = "score") -> np.ndarray:
    arr = np.asarray(scores, dtype=float)
    if arr.ndim != 1:
        raise FacemindError(f"{name}: expected a 1-D array of scored totals")
    missing = np.flatnonzero(~np.isfinite(arr))
    if missing.size:
        raise InputError(
            f"{missing.size} missing scored total(s); drop those respondents before making targets",
            row=int(missing[0]) + 1,
            column=name,
        )
    return arr


def band_index(scores: Any, subscale: SubscaleLike) -> np.ndarray:
    """Index (0 = lowest band) of the severity band each scored total falls in.

    Bands are inclusive lower bounds; a total below the first bound falls in band 0.
    """
    _, mins = _bands(subscale)
    arr = _scores(scores)
    return np.clip(np.searchsorted(mins, arr, side="right") - 1, 0, len(mins) - 1).astype(np.int64)


def binary_target(scores: Any, subscale: SubscaleLike, positive_band: str = "mild") -> np.ndarray:
    """1 where the scored total is at or above the lower bound of ``positive_band``, else 0."""
    labels, mins = _bands(subscale)
    if positive_band not in labels:
        raise FacemindError(f"unknown band {positive_band!r}; choose one of {', '.join(labels)}")
    threshold = mins[labels.index(positive_band)]
    return (_scores(scores) >= threshold).astype(np.int64)


def severity_target(scores: Any, subscale: SubscaleLike) -> np.ndarray:
    """Band index 0..k-1 (DASS-21: normal, mild, moderate, severe, extremely severe)."""
    return band_index(scores, subscale)


def three_class_target(scores: Any, subscale: SubscaleLike) -> np.ndarray:
    """0 = first band (normal), 1 = second band (mild), 2 = any higher band (moderate+)."""
    labels, _ = _bands(subscale)
    if len(labels) < 3:
        raise FacemindError("the 3-class task needs at least three severity bands")
    return np.minimum(band_index(scores, subscale), 2)


def regression_target(scores: Any) -> np.ndarray:
    """The scored total as float (the regression target)."""
    return _scores(scores).astype(np.float64)


def make_target(
    scores: Any,
    subscale: SubscaleLike,
    task: str,
    *,
    positive_band: str = "mild",
) -> np.ndarray:
    """Target array for ``task`` in :data:`TASKS` from scored totals of one subscale."""
    if task == "binary":
        return binary_target(scores, subscale, positive_band)
    if task == "bands":
        return severity_target(scores, subscale)
    if task == "3class":
        return three_class_target(scores, subscale)
    if task == "regression":
        return regression_target(scores)
    raise FacemindError(f"unknown task {task!r}; choose one of {', '.join(TASKS)}")


def class_names(subscale: SubscaleLike, task: str, *, positive_band: str = "mild") -> list[str]:
    """Names of the classes 0..k-1 of a classification task (empty for regression)."""
    if task == "regression":
        return []
    labels, _ = _bands(subscale)
    if task == "binary":
        idx = labels.index(positive_band) if positive_band in labels else None
        if idx is None:
            raise FacemindError(
                f"unknown band {positive_band!r}; choose one of {', '.join(labels)}"
            )
        below = labels[idx - 1] if idx == 1 else f"below_{positive_band}"
        return [below, f"{positive_band}_or_above"]
    if task == "bands":
        return labels
    if task == "3class":
        return [labels[0], labels[1], f"{labels[2]}_plus"]
    raise FacemindError(f"unknown task {task!r}; choose one of {', '.join(TASKS)}")


# --------------------------------------------------------------------------------------------
# Data-driven clusters
# --------------------------------------------------------------------------------------------


def standardize(values: Any) -> np.ndarray:
    """Column-wise z-scores (sample sd, ddof=1); a constant column becomes 0."""
    x = np.asarray(values, dtype=float)
    if x.ndim == 1:
        x = x[:, None]
    if not np.all(np.isfinite(x)):
        raise FacemindError("cannot standardize: missing values")
    sd = x.std(axis=0, ddof=1) if len(x) > 1 else np.zeros(x.shape[1])
    sd = np.where(sd > 0, sd, 1.0)
    return (x - x.mean(axis=0)) / sd


def cluster_quality(x: Any, labels: Any) -> dict[str, float]:
    """Silhouette (higher better), Calinski-Harabasz (higher) and Davies-Bouldin (lower).

    NaN where undefined (fewer than two clusters, or every point its own cluster).
    """
    from sklearn import metrics

    x = np.asarray(x, dtype=float)
    labels = np.asarray(labels)
    k = len(np.unique(labels))
    if k < 2 or k >= len(labels):
        nan = float("nan")
        return {"silhouette": nan, "calinski_harabasz": nan, "davies_bouldin": nan}
    # Silhouette is O(n^2); above 20,000 points it is estimated on a fixed random sample.
    sample = 20_000 if len(labels) > 20_000 else None
    return {
        "silhouette": float(
            metrics.silhouette_score(x, labels, sample_size=sample, random_state=0)
        ),
        "calinski_harabasz": float(metrics.calinski_harabasz_score(x, labels)),
        "davies_bouldin": float(metrics.davies_bouldin_score(x, labels)),
    }


@dataclass
class Clustering:
    """Agglomerative clusterings of standardized subscale scores for several cluster counts.

    ``labels[k]`` is the cluster (0..k-1, ordered by increasing mean standardized score, so
    the highest cluster is the most symptomatic) of every row; ``table`` has one row per k
    with ``k``, ``silhouette``, ``calinski_harabasz``, ``davies_bouldin`` and ``sizes``.
    """

    columns: list[str]
    labels: dict[int, np.ndarray]
    table: pd.DataFrame
    centers: dict[int, pd.DataFrame] = field(default_factory=dict)


def cluster_scores(
    scored: pd.DataFrame,
    columns: Sequence[str] = ("depression", "anxiety", "stress"),
    n_clusters: Sequence[int] = (2, 3),
    *,
    linkage: str = "ward",
) -> Clustering:
    """Agglomerative clustering of the standardized ``columns`` (the paper: D, A, S totals)."""
    from sklearn.cluster import AgglomerativeClustering

    missing = [c for c in columns if c not in scored.columns]
    if missing:
        raise InputError("scored table lacks a column to cluster on", column=missing[0])
    x = standardize(scored[list(columns)].to_numpy(dtype=float))
    labels: dict[int, np.ndarray] = {}
    centers: dict[int, pd.DataFrame] = {}
    rows = []
    for k in n_clusters:
        if not 2 <= k <= len(x):
            raise FacemindError(f"cannot make {k} clusters from {len(x)} rows")
        raw = AgglomerativeClustering(n_clusters=int(k), linkage=linkage).fit_predict(x)
        # Relabel so cluster ids are ordered by severity (mean z over columns).
        severity = np.array([x[raw == c].mean() for c in range(k)])
        order = np.argsort(severity, kind="stable")
        remap = np.empty(k, dtype=np.int64)
        remap[order] = np.arange(k)
        lab = remap[raw]
        labels[int(k)] = lab
        centers[int(k)] = pd.DataFrame(
            [x[lab == c].mean(axis=0) for c in range(k)], columns=list(columns)
        ).rename_axis("cluster")
        q = cluster_quality(x, lab)
        rows.append({"k": int(k), **q, "sizes": np.bincount(lab, minlength=k).tolist()})
    return Clustering(list(columns), labels, pd.DataFrame(rows), centers)


# --------------------------------------------------------------------------------------------
# Jaccard overlap
# --------------------------------------------------------------------------------------------


def jaccard(a: Any, b: Any) -> float:
    """|A and B| / |A or B| of two boolean membership vectors (NaN when both are empty)."""
    a = np.asarray(a, dtype=bool)
    b = np.asarray(b, dtype=bool)
    if a.shape != b.shape:
        raise FacemindError(f"jaccard: shapes differ {a.shape} vs {b.shape}")
    union = np.count_nonzero(a | b)
    return float("nan") if union == 0 else np.count_nonzero(a & b) / union


def indicator_sets(name: str, labeling: Any) -> dict[str, np.ndarray]:
    """Membership vectors of a labeling.

    A boolean labeling gives one set, ``name`` (its True members); any other labeling (cluster
    ids, bands, 0/1 integers) gives one set per distinct value, ``name=value``. Pass
    ``target.astype(bool)`` to treat a 0/1 binary target as a single positive set.
    """
    values = np.asarray(labeling)
    if values.dtype == bool:
        return {name: values}
    uniq = pd.unique(values.ravel())
    return {f"{name}={v}": values == v for v in sorted(uniq.tolist())}


def jaccard_table(
    rows: Mapping[str, Any], columns: Mapping[str, Any] | None = None
) -> pd.DataFrame:
    """Jaccard overlap of every set of ``rows`` labelings with every set of ``columns`` ones.

    Each labeling is expanded with :func:`indicator_sets`; with ``columns`` omitted the table is
    square over ``rows``. Typical use: binary labelings (rows) against clusters (columns).
    """
    r_sets: dict[str, np.ndarray] = {}
    for name, lab in rows.items():
        r_sets.update(indicator_sets(name, lab))
    c_sets: dict[str, np.ndarray] = {}
    for name, lab in (columns if columns is not None else rows).items():
        c_sets.update(indicator_sets(name, lab))
    table = pd.DataFrame(
        [[jaccard(a, b) for b in c_sets.values()] for a in r_sets.values()],
        index=list(r_sets),
        columns=list(c_sets),
    )
    return table


# --------------------------------------------------------------------------------------------
# Joining features and responses
# --------------------------------------------------------------------------------------------


@dataclass
class JoinResult:
    """Features joined to responses; ids present on one side only are listed, not dropped silently."""

    data: pd.DataFrame
    unmatched_features: list[Any]
    unmatched_responses: list[Any]

    def summary(self) -> str:
        """One line with the counts of joined rows and unmatched ids."""
        return (
            f"{len(self.data)} rows joined; {len(self.unmatched_features)} participant id(s) "
            f"only in features, {len(self.unmatched_responses)} only in responses"
        )


def normalize_ids(series: pd.Series) -> pd.Series:
    """Ids as text without surrounding whitespace, the form every join compares."""
    return series.astype("string").str.strip()


def join_features_responses(
    features: pd.DataFrame,
    responses: pd.DataFrame,
    *,
    id_column: str = "participant_id",
    features_name: str = "features",
    responses_name: str = "responses",
) -> JoinResult:
    """Inner-join features (one or more rows per participant) with responses (one row each).

    Ids are compared as stripped text. Raises :class:`InputError` when an id column is missing
    or empty, or when a participant has two response rows. Response columns that also exist in
    the features keep the features' values with the response copy suffixed ``_response``.
    """
    for df, name in ((features, features_name), (responses, responses_name)):
        if id_column not in df.columns:
            raise InputError("missing id column", file=name, column=id_column)
        empty = np.flatnonzero(df[id_column].isna().to_numpy())
        if empty.size:
            raise InputError(
                "empty participant id", file=name, row=int(empty[0]) + 1, column=id_column
            )
    f_ids = normalize_ids(features[id_column])
    r_ids = normalize_ids(responses[id_column])
    dup = r_ids.duplicated(keep="first").to_numpy()
    if dup.any():
        row = int(np.flatnonzero(dup)[0])
        raise InputError(
            "participant has more than one response row",
            file=responses_name,
            row=row + 1,
            column=id_column,
            value=str(r_ids.iloc[row]),
        )
    f = features.copy()
    f[id_column] = f_ids.to_numpy()
    r = responses.copy()
    r[id_column] = r_ids.to_numpy()
    data = f.merge(r, on=id_column, how="inner", suffixes=("", "_response"), sort=False)
    f_set, r_set = set(f_ids.tolist()), set(r_ids.tolist())
    return JoinResult(
        data=data.reset_index(drop=True),
        unmatched_features=sorted(f_set - r_set),
        unmatched_responses=sorted(r_set - f_set),
    )
