"""Which facial channels carry the signal: permutation importance on held-out folds.

For every fold of a repeated stratified k-fold split grouped by participant, the model is
fitted on the training part only; then, within the test part, the columns of one channel
group (``aus``, ``pose``, ``gaze``, ``landmarks``, ``blendshapes``) or of one channel
(``AU12``, ``pose_pitch``, ...; feature columns are named ``<channel>__<stat>``) are permuted
together, rows shuffled with one permutation so that the unit keeps its joint distribution,
and the drop in the test metric is recorded (averaged over ``permutations`` shuffles). The
drop is given with a 95% corrected resampled t-interval over folds and repeats
(:func:`.summary.corrected_t_interval`). Drops are signed so that positive means the unit
helps, for error metrics (MAE, RMSE) too.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from .. import labels
from ..errors import FacemindError, ParameterError
from ..face.schema import CHANNEL_GROUPS
from ..instruments import Instrument, load_instrument
from ..models import check_model, make_estimator
from ..study import prepare_study
from .config import stable_seed
from .metrics import (
    CLASSIFICATION_METRICS,
    REGRESSION_METRICS,
    classification_metrics,
    regression_metrics,
    scores_of,
)
from .summary import METRIC_BOUNDS, corrected_t_interval

#: Derived channels of :mod:`facemind.functionals` and the group each belongs to.
DERIVED_CHANNELS: dict[str, str] = {
    "blink": "aus",
    "head_rotation_speed": "pose",
    "head_translation_speed": "pose",
    "gaze_speed": "gaze",
    "landmark_speed": "landmarks",
    "coverage": "coverage",
}
#: Derived channels that come from one AU (for its reliability grade).
AU_OF_DERIVED: dict[str, str] = {"blink": "AU45"}
#: Most feature values stacked into one prediction call.
MAX_CELLS = 4_000_000
#: Metrics computed from the scores alone (the predicted labels are not needed).
SCORE_METRICS = frozenset({"roc_auc", "brier", "ece"})
#: Metrics where lower is better: their drop is the increase.
LOWER_IS_BETTER = frozenset({"mae", "rmse", "brier", "ece"})
#: The score of a model that guesses, for the metrics that have one.
CHANCE = {"roc_auc": 0.5}


def drop_bounds(metric: str, baseline: float) -> tuple[float, float]:
    """The range a drop from ``baseline`` can take within the metric's own range (an AUC of
    0.6 can drop by 0.6 at most, and rise by 0.4)."""
    lo, hi = METRIC_BOUNDS.get(metric, (-np.inf, np.inf))
    if metric in LOWER_IS_BETTER:
        return lo - baseline, hi - baseline
    return baseline - hi, baseline - lo


IMPORTANCE_COLUMNS: tuple[str, ...] = (
    "level", "group", "channel", "n_features", "metric", "baseline",
    "drop_mean", "drop_ci_low", "drop_ci_high", "n_folds", "permutations",
)  # fmt: skip


def check_importance_table(table: pd.DataFrame, source: str = "importance") -> pd.DataFrame:
    """``table`` if it has the columns of :data:`IMPORTANCE_COLUMNS` (one-line error if not)."""
    from ..errors import InputError

    for column in IMPORTANCE_COLUMNS:
        if column not in table.columns:
            raise InputError(
                "not an importance table of facemind explain", file=source, column=column
            )
    return table


def channel_of(feature: str) -> str:
    """The channel of a feature column ``<channel>__<stat>`` (the whole name without ``__``)."""
    return feature.split("__", 1)[0]


def group_of(channel: str) -> str:
    """The channel group of ``channel`` (``other`` for channels facemind does not make)."""
    for group, channels in CHANNEL_GROUPS.items():
        if channel in channels:
            return group
    return DERIVED_CHANNELS.get(channel, "other")


def important_channels(table: pd.DataFrame) -> list[str]:
    """Channels of an importance table whose drop interval lies above 0, largest drop first."""
    ch = table[(table["level"] == "channel") & (table["drop_ci_low"] > 0)]
    return ch.sort_values("drop_mean", ascending=False)["channel"].astype(str).tolist()


def reliability_note(table: pd.DataFrame) -> str | None:
    """A note when an important channel is an AU graded ``limited``
    (:mod:`facemind.face.reliability`); ``None`` otherwise."""
    from ..face.reliability import limited_note

    return limited_note(AU_OF_DERIVED.get(c, c) for c in important_channels(table))


@dataclass
class ImportanceResult:
    """One row per group and per channel (:data:`IMPORTANCE_COLUMNS`), with the per-fold
    drops behind them and the study's notes."""

    table: pd.DataFrame
    drops: pd.DataFrame
    notes: list[str] = field(default_factory=list)
    n_participants: int = 0


def _default_metric(task: str) -> str:
    return (
        "mae" if task == "regression" else ("roc_auc" if task == "binary" else "balanced_accuracy")
    )


def _scorer(task: str, metric: str) -> Callable[[Any, pd.DataFrame, np.ndarray, int], np.ndarray]:
    """``score(estimator, X, y, copies)``: the metric on each of ``copies`` equal consecutive
    blocks of ``X`` (each scored against ``y``), predicted in one pass: per-call overhead of
    the pipeline, not the rows, dominates."""
    allowed = REGRESSION_METRICS if task == "regression" else CLASSIFICATION_METRICS
    if metric not in allowed:
        raise FacemindError(
            f"unknown metric {metric!r} for {task}; choose from {', '.join(allowed)}"
        )

    def score(est: Any, X: pd.DataFrame, y: np.ndarray, copies: int) -> np.ndarray:
        n = len(y)
        blocks = [slice(i * n, (i + 1) * n) for i in range(copies)]
        if task == "regression":
            yhat = est.predict(X)
            return np.array([regression_metrics(y, yhat[b])[metric] for b in blocks])
        classes = np.asarray(est.classes_)
        s = scores_of(est, X)
        proba = s if hasattr(est, "predict_proba") else None
        # these metrics read the scores only: no second pass for the labels
        pred = None if metric in SCORE_METRICS and s is not None else est.predict(X)
        out = []
        for b in blocks:
            m = classification_metrics(
                y,
                y if pred is None else pred[b],
                None if s is None else s[b],
                classes,
                probabilities=None if proba is None else proba[b],
            )
            out.append(m[metric])
        return np.array(out)

    return score


def permutation_importance(
    features: pd.DataFrame,
    responses: pd.DataFrame,
    instrument: str | Instrument,
    *,
    subscale: str,
    model: str = "logreg",
    task: str = "binary",
    positive_band: str = "mild",
    folds: int = 5,
    repeats: int = 1,
    permutations: int = 5,
    metric: str | None = None,
    balance: str = "downsample",
    seed: int = 0,
    id_column: str = "participant_id",
    features_name: str = "features",
    responses_name: str = "responses",
    progress: Callable[[int, int], None] | None = None,
) -> ImportanceResult:
    """Permutation importance of every channel group and channel (see the module docstring).

    ``metric`` defaults to ROC AUC (binary), balanced accuracy (other classification tasks)
    or MAE (regression).
    """
    import warnings

    from sklearn.model_selection import StratifiedGroupKFold

    inst = load_instrument(instrument)
    subscale = inst.subscale_name(subscale)
    if subscale not in inst.subscales:
        raise FacemindError(
            f"unknown subscale {subscale!r} for {inst.id}; choose from {', '.join(inst.subscales)}"
        )
    model = check_model(model, task).name
    if check_model(model, task).input != "features":
        raise FacemindError(f"model {model!r} takes frames, not features; explain a feature model")
    if folds < 2 or repeats < 1 or permutations < 1:
        raise ParameterError("`folds` must be at least 2, `repeats` and `permutations` at least 1")
    metric = metric or _default_metric(task)
    score = _scorer(task, metric)
    study = prepare_study(
        features,
        responses,
        inst,
        subscales=[subscale],
        id_column=id_column,
        features_name=features_name,
        responses_name=responses_name,
    )
    y_people = labels.make_target(
        study.scored[subscale], inst.subscales[subscale], task, positive_band=positive_band
    )
    y = y_people[study.row_person]
    if task != "regression":
        _, counts = np.unique(y_people, return_counts=True)
        if len(counts) < 2 or counts.min() < folds:
            raise FacemindError(
                f"subscale {subscale!r}: a class has fewer than `folds` {folds} participants"
            )
        strata = y
    else:
        edges = np.unique(np.quantile(y, [0.2, 0.4, 0.6, 0.8]))
        strata = np.searchsorted(edges, y, side="right")
    names = study.feature_names
    channels = list(dict.fromkeys(channel_of(n) for n in names))
    groups = list(dict.fromkeys(group_of(c) for c in channels))
    units = [
        ("group", g, "", [i for i, n in enumerate(names) if group_of(channel_of(n)) == g])
        for g in groups
    ]
    units += [
        ("channel", group_of(c), c, [i for i, n in enumerate(names) if channel_of(n) == c])
        for c in channels
    ]
    X = pd.DataFrame(study.X, columns=names, index=study.row_person)
    total = repeats * folds
    done = 0
    drops = []
    for r in range(repeats):
        cv = StratifiedGroupKFold(
            n_splits=folds, shuffle=True, random_state=stable_seed(seed, "split", r)
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            splits = list(cv.split(study.X, strata, groups=study.row_person))
        for k, (tr, te) in enumerate(splits):
            rs = stable_seed(seed, "model", r, k)
            est = make_estimator(model, task, random_state=rs, balance=balance)
            est.fit(X.iloc[tr], y[tr])
            Xte, yte = X.iloc[te], y[te]
            base = float(score(est, Xte, yte, 1)[0])
            rng = np.random.default_rng(stable_seed(seed, "permute", r, k))
            values = Xte.to_numpy()
            # every unit's shuffled copies of the test part, stacked, scored in chunks
            per_chunk = max(1, int(MAX_CELLS // max(values.size * permutations, 1)))
            for start in range(0, len(units), per_chunk):
                chunk = units[start : start + per_chunk]
                stack = []
                for _level, _group, _channel, cols in chunk:
                    for _ in range(permutations):
                        shuffled = values.copy()
                        shuffled[:, cols] = values[rng.permutation(len(te))][:, cols]
                        stack.append(shuffled)
                frame = pd.DataFrame(
                    np.vstack(stack), columns=names, index=np.tile(Xte.index.to_numpy(), len(stack))
                )
                got = score(est, frame, yte, len(stack)).reshape(len(chunk), permutations)
                for (level, group, channel, _cols), permuted in zip(chunk, got, strict=True):
                    mean = float(np.nanmean(permuted))
                    drop = mean - base if metric in LOWER_IS_BETTER else base - mean
                    drops.append(
                        {
                            "level": level,
                            "group": group,
                            "channel": channel,
                            "repeat": r,
                            "fold": k,
                            "n_train": len(tr),
                            "n_test": len(te),
                            "baseline": base,
                            "drop": drop,
                        }
                    )
            done += 1
            if progress is not None:
                progress(done, total)
    per_fold = pd.DataFrame(drops)
    rows = []
    for level, group, channel, cols in units:
        g = per_fold[
            (per_fold["level"] == level)
            & (per_fold["group"] == group)
            & (per_fold["channel"] == channel)
        ]
        ratio = float((g["n_test"] / g["n_train"]).mean())
        mean, lo, hi = corrected_t_interval(
            g["drop"].to_numpy(), ratio, bounds=drop_bounds(metric, float(g["baseline"].mean()))
        )
        rows.append(
            {
                "level": level,
                "group": group,
                "channel": channel,
                "n_features": len(cols),
                "metric": metric,
                "baseline": float(g["baseline"].mean()),
                "drop_mean": mean,
                "drop_ci_low": lo,
                "drop_ci_high": hi,
                "n_folds": len(g),
                "permutations": permutations,
            }
        )
    table = pd.DataFrame(rows, columns=list(IMPORTANCE_COLUMNS))
    note = reliability_note(table)
    return ImportanceResult(table, per_fold, study.notes + ([note] if note else []), study.n_people)
