"""The sweep's units of work and what a worker process does with them."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ..instruments import Instrument
from ..models import FitLog, make_estimator, make_preprocessing
from .config import SweepConfig, stable_seed
from .criteria import removal_keep
from .learning import nested_subsamples, regression_strata
from .metrics import (
    CALIBRATION_COLUMN,
    CONFUSION_COLUMN,
    calibration_json,
    classification_metrics,
    confusion_json,
    regression_metrics,
    score_column,
    scores_of,
)
from .recording import CodedRecord, FitSetting, StepCodes
from .subgroups import Subgroups, level_rows

# --------------------------------------------------------------------------------------------
# Work units
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class SubscaleContext:
    """What every unit of one subscale needs (shared, read-only)."""

    row_person: np.ndarray
    items: np.ndarray
    #: Each respondent's group: the raw total, or the band index with ``group_by='band'``.
    raw: np.ndarray
    y_rows: np.ndarray
    task: str
    subscale: str
    config: SweepConfig
    instrument: Instrument
    #: Paper protocol: the cohort's keep-mask per (repeat, criterion, fraction).
    paper_keep: dict[tuple[int, str, float], np.ndarray]
    record: bool
    #: Levels of the subgroup variables: metrics are also computed within each level.
    subgroups: Subgroups | None = None


@dataclass(frozen=True)
class UnitKey:
    """One checkpointed unit of work: a model on one fold of one repeat of one subscale."""

    subscale: str
    repeat: int
    fold: int
    model: str

    def part_name(self, tag: str) -> str:
        """File name of this unit's rows in a checkpoint folder of fingerprint ``tag``."""
        return f"{tag}-{self.subscale}-r{self.repeat}-k{self.fold}-{self.model}.parquet"


@dataclass(frozen=True)
class PreprocessKey:
    """One shared preprocessing fit: a family's steps on the training part of one fold."""

    repeat: int
    fold: int
    family: Any


@dataclass(frozen=True, eq=False)
class PreprocessJob:
    """Everything a worker needs to fit :attr:`key` (``model`` is one model of the family)."""

    key: PreprocessKey
    model: str
    X: np.ndarray
    row_person: np.ndarray
    train_rows: np.ndarray
    seed: int
    record: bool


@dataclass(frozen=True, eq=False)
class Preprocessed:
    """All feature rows transformed by steps fitted on one training fold, and what they saw."""

    inputs: np.ndarray
    steps: tuple[StepCodes, ...]


@dataclass(frozen=True, eq=False)
class WorkUnit:
    """Every protocol x criterion x fraction of one model on one fold of one subscale."""

    context: SubscaleContext
    key: UnitKey
    train_rows: np.ndarray
    test_rows: np.ndarray
    #: Feature rows, already transformed by the shared preprocessing when ``preprocessed``.
    inputs: np.ndarray
    preprocessed: bool
    pre_steps: tuple[StepCodes, ...]


@dataclass(frozen=True, eq=False)
class Predicted:
    """One fit's out-of-fold predictions: its test rows, predicted values and scores
    (:func:`.metrics.score_column`)."""

    setting: FitSetting
    train_size: float
    rows: np.ndarray
    y_pred: np.ndarray
    y_score: np.ndarray


@dataclass(frozen=True, eq=False)
class UnitResult:
    """The result rows of one :class:`WorkUnit` and the ids its fits saw (when recording)."""

    rows: list[dict[str, Any]]
    records: tuple[CodedRecord, ...]
    #: Per fit, its metrics within every subgroup level (see :mod:`.subgroups`).
    subgroup_rows: list[dict[str, Any]] = field(default_factory=list)
    #: Per fit, its predictions (``save_predictions`` only).
    predictions: list[Predicted] = field(default_factory=list)


# --------------------------------------------------------------------------------------------
# What runs in a worker
# --------------------------------------------------------------------------------------------


def _frame(values: np.ndarray, rows: np.ndarray, row_person: np.ndarray) -> pd.DataFrame:
    return pd.DataFrame(
        values[rows], index=row_person[rows], columns=[f"f{i}" for i in range(values.shape[1])]
    )


def fit_preprocessing(job: PreprocessJob) -> Preprocessed:
    """Fit a model family's preprocessing on the training rows of a fold; transform all rows."""
    log = FitLog() if job.record else None
    pre = make_preprocessing(job.model, random_state=job.seed, log=log)
    pre.fit(_frame(job.X, job.train_rows, job.row_person))
    z = pre.transform(_frame(job.X, np.arange(len(job.X)), job.row_person))
    steps = tuple(StepCodes(f"fit:{tag}", ids) for tag, ids in (log.records if log else []))
    return Preprocessed(np.asarray(z, dtype=np.float64), steps)


def _fit_predict(
    unit: WorkUnit,
    train_rows: np.ndarray,
    test_rows: np.ndarray,
    random_state: int,
    log: FitLog | None,
) -> tuple[dict[str, Any], int, list[dict[str, Any]], tuple[np.ndarray, np.ndarray]]:
    """Fit the unit's model on ``train_rows``; metrics on ``test_rows``, rows fitted, the
    metrics within each subgroup level of the test rows, and the predictions and scores."""
    ctx, cfg = unit.context, unit.context.config
    est = make_estimator(
        unit.key.model,
        ctx.task,
        random_state=random_state,
        balance=cfg.balance,
        grid_search=cfg.grid_search,
        inner_folds=cfg.inner_folds,
        n_jobs=1,
        log=log,
        preprocessing=not unit.preprocessed,
        inputs={"frames": cfg.frames} if cfg.frames is not None else None,
    )
    Xtr = _frame(unit.inputs, train_rows, ctx.row_person)
    Xte = _frame(unit.inputs, test_rows, ctx.row_person)
    ytr, yte = ctx.y_rows[train_rows], ctx.y_rows[test_rows]
    est.fit(Xtr, ytr)
    n_fit = int(getattr(est, "n_fit_", len(train_rows)))
    test_people = ctx.row_person[test_rows]
    if ctx.task == "regression":
        yhat = est.predict(Xte)
        sub = _by_level(ctx, test_people, lambda m: regression_metrics(yte[m], yhat[m]))
        return regression_metrics(yte, yhat), n_fit, sub, (yhat, np.asarray(yhat, dtype=float))
    classes = np.asarray(est.classes_)
    scores = scores_of(est, Xte)
    if scores is not None and scores.ndim == 1 and len(classes) == 2:
        # A binary decision function: predict from its sign (one pass over a kernel model).
        pred = classes[(scores > 0).astype(int)]
    else:
        pred = est.predict(Xte)
    proba = scores if hasattr(est, "predict_proba") else None
    metrics: dict[str, Any] = classification_metrics(
        yte, pred, scores, classes, probabilities=proba
    )
    metrics[CONFUSION_COLUMN] = confusion_json(
        yte, pred, np.union1d(classes, np.unique(ctx.y_rows))
    )
    metrics[CALIBRATION_COLUMN] = calibration_json(yte, proba, classes)

    def within(m: np.ndarray) -> dict[str, float]:
        s = None if scores is None else scores[m]
        p = None if proba is None else proba[m]
        return classification_metrics(yte[m], pred[m], s, classes, probabilities=p)

    predicted = (pred, score_column(scores, pred, classes, proba is not None))
    return metrics, n_fit, _by_level(ctx, test_people, within), predicted


def _by_level(ctx: SubscaleContext, test_people: np.ndarray, metrics_of: Any) -> list[dict]:
    """The fit's metrics within each subgroup level of the test part (none without subgroups)."""
    if ctx.subgroups is None:
        return []
    return level_rows(ctx.subgroups, test_people, metrics_of)


def _kept_rows(
    unit: WorkUnit, setting: FitSetting, train_people: np.ndarray, records: list[CodedRecord]
) -> tuple[np.ndarray, np.ndarray]:
    """Training and test rows left after the setting's removal (fraction above 0)."""
    ctx, key = unit.context, unit.key
    train_rows, test_rows = unit.train_rows, unit.test_rows
    if setting.protocol == "paper":
        keep_people = ctx.paper_keep[(key.repeat, setting.criterion, setting.fraction)]
        tr = train_rows[keep_people[ctx.row_person[train_rows]]]
        te = test_rows[keep_people[ctx.row_person[test_rows]]]
        return tr, te
    keep = removal_keep(
        setting.criterion,
        ctx.items[train_people],
        ctx.raw[train_people],
        setting.fraction,
        ctx.instrument,
        seed=stable_seed(ctx.config.seed, key.subscale, key.repeat, key.fold, setting.criterion),
    )
    if ctx.record:
        stage = f"criterion:{setting.criterion}"
        records.append(CodedRecord(setting, StepCodes(stage, train_people)))
    keep_people = np.zeros(ctx.items.shape[0], dtype=bool)
    keep_people[train_people[keep]] = True
    return train_rows[keep_people[ctx.row_person[train_rows]]], test_rows


def run_unit(unit: WorkUnit) -> UnitResult:
    """Every protocol x criterion x fraction of one model on one fold of one subscale.

    Fraction 0 is fitted once and its row repeated under every protocol and criterion.
    """
    ctx, key, cfg = unit.context, unit.key, unit.context.config
    records: list[CodedRecord] = []
    rows: list[dict[str, Any]] = []
    subgroup_rows: list[dict[str, Any]] = []
    predictions: list[Predicted] = []
    rs = stable_seed(cfg.seed, "model", key.subscale, key.repeat, key.fold)

    def setting(protocol: str, criterion: str, fraction: float) -> FitSetting:
        return FitSetting(key.model, protocol, criterion, fraction, key.repeat, key.fold)

    def fit(at: FitSetting, tr: np.ndarray, te: np.ndarray, size: float = 1.0) -> tuple:
        if len(te) == 0:  # nobody left to score: not estimable, the metrics stay empty
            row = {
                "n_train": len(tr),
                "n_test": 0,
                "n_fit": 0,
                "n_removed_train": len(unit.train_rows) - len(tr),
                "n_removed_test": len(unit.test_rows),
                "train_size": size,
            }
            return row, [], te, (np.empty(0), np.empty(0))
        log = FitLog() if ctx.record else None
        metrics, n_fit, by_level, predicted = _fit_predict(unit, tr, te, rs, log)
        if log is not None:
            records.append(CodedRecord(at, StepCodes("test", ctx.row_person[te])))
            records.extend(CodedRecord(at, step) for step in unit.pre_steps)
            records.extend(CodedRecord(at, StepCodes(f"fit:{t}", i)) for t, i in log.records)
        removed = 0 if size < 1.0 else len(unit.train_rows) - len(tr)
        row = {
            "n_train": len(tr),
            "n_test": len(te),
            **metrics,
            "n_fit": n_fit,
            "n_removed_train": removed,
            "n_removed_test": len(unit.test_rows) - len(te),
            "train_size": size,
        }
        levels = [{"n_train": len(tr), **r} for r in by_level] if size == 1.0 else []
        return row, levels, te, predicted

    def add(at: FitSetting, result: tuple) -> None:
        row, levels, te, (y_pred, y_score) = result
        rows.append(_row(unit, at, row))
        subgroup_rows.extend(_row(unit, at, r) for r in levels)
        if cfg.save_predictions:
            predictions.append(Predicted(at, row["train_size"], te, y_pred, y_score))

    train_people = np.unique(ctx.row_person[unit.train_rows])
    fractions = sorted({float(f) for f in cfg.fractions})
    if 0.0 in fractions:
        base = [fit(setting("train-only", "none", 0.0), unit.train_rows, unit.test_rows)]
        for size, tr in _subsamples(unit, train_people).items():
            base.append(fit(setting("train-only", "none", 0.0), tr, unit.test_rows, size))
        for protocol in cfg.protocols:
            for criterion in cfg.criteria:
                for result in sorted(base, key=lambda r: r[0]["train_size"]):
                    add(setting(protocol, criterion, 0.0), result)
    for fraction in (f for f in fractions if f > 0):
        for protocol in cfg.protocols:
            for criterion in cfg.criteria:
                at = setting(protocol, criterion, fraction)
                tr, te = _kept_rows(unit, at, train_people, records)
                add(at, fit(at, tr, te))
    return UnitResult(rows, tuple(records), subgroup_rows, predictions)


def _subsamples(unit: WorkUnit, train_people: np.ndarray) -> dict[float, np.ndarray]:
    """Training rows of every learning-curve share below 1 (:func:`.learning.nested_subsamples`
    of the fold's participants, stratified by their target; the same for every model)."""
    ctx, key, cfg = unit.context, unit.key, unit.context.config
    sizes = [s for s in cfg.resolved_train_sizes() if s < 1.0]
    if not sizes:
        return {}
    y_person = np.zeros(ctx.items.shape[0])
    y_person[ctx.row_person] = ctx.y_rows
    y = y_person[train_people]
    strata = regression_strata(y) if ctx.task == "regression" else y
    seed = stable_seed(cfg.seed, "train_size", key.subscale, key.repeat, key.fold)
    chosen = nested_subsamples(train_people, strata, sizes, seed)
    member = np.zeros(ctx.items.shape[0], dtype=bool)
    out = {}
    for size, people in chosen.items():
        member[:] = False
        member[people] = True
        out[size] = unit.train_rows[member[ctx.row_person[unit.train_rows]]]
    return out


def _row(unit: WorkUnit, at: FitSetting, result: dict[str, Any]) -> dict[str, Any]:
    return {
        "subscale": unit.key.subscale,
        "task": unit.context.task,
        "model": at.model,
        "protocol": at.protocol,
        "criterion": at.criterion,
        "fraction": at.fraction,
        "repeat": at.repeat,
        "fold": at.fold,
        **result,
    }
