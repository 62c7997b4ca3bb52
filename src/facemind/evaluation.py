"""The SDI experiment done honestly: protocols, removal criteria, cross-validated sweeps, metrics.

:func:`run_sweep` crosses subscales x models x protocols x removal criteria x fractions over
repeated stratified k-fold cross-validation grouped by participant, and returns one row per
fold (:func:`result_columns`) plus a summary with 95% intervals (:func:`summarize`).

Protocols
- ``paper``: the removal criterion is computed on the whole cohort and the flagged respondents
  are removed before cross-validation, so test folds are filtered too (the released analysis).
  Folds are the cohort's folds restricted to the kept participants, which is removal before
  splitting with the fold assignment held fixed, so fractions are compared on paired folds.
- ``train-only``: the criterion is computed on the training fold only (its standardization,
  covariance or item popularities included), the training fold is filtered, and the model is
  tested on every participant of the test fold.

Criteria (``--criteria``): ``sdi`` (the respondent's discrepancy), ``random`` (the same number
removed at random) and the screening indices of :mod:`facemind.screening` (``mahalanobis``,
``irv``, ``longstring``, ``guttman``). Every criterion removes respondents **within raw
total-score groups** with :func:`facemind.sdi.keep_within_groups` (each group loses
``round(fraction x n)``, keeping at least one), ties broken at random; scores and tie-breaks do
not depend on the fraction, so removals are nested. At a given fraction every criterion removes
exactly the same number of people from each group, and differs only in whom.

At fraction 0 nothing is removed and both protocols are the same model on the same folds: it is
fitted once per fold and its rows are repeated under every protocol and criterion.

Nothing from a test fold enters a fit. The unsupervised preprocessing (imputer, scaler, PCA)
is fitted on the training fold, once per fold and shared by every filter and model unless
``refit_preprocessing``; each model is fitted on the kept, class-balanced training rows only.
A :class:`FitRecorder` passed to
:func:`run_sweep` receives the participant ids seen by every fitted step and every criterion
computation, with the test ids of each fold, so this can be checked.
"""

from __future__ import annotations

import json
import time
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from . import labels, screening, sdi
from .errors import FacemindError, InputError
from .instruments import Instrument, load_instrument, score_responses, validate_responses
from .io import write_table
from .models import (
    BALANCE_METHODS,
    FitLog,
    check_model,
    get_model,
    make_estimator,
    make_preprocessing,
)

PROTOCOLS: tuple[str, ...] = ("paper", "train-only")
CRITERIA: tuple[str, ...] = ("sdi", "random", "mahalanobis", "irv", "longstring", "guttman")
DEFAULT_CRITERIA: tuple[str, ...] = ("sdi", "random")
DEFAULT_FRACTIONS: tuple[float, ...] = (0.0, 0.05, 0.1, 0.2, 0.3, 0.4, 0.5)
DEFAULT_MODELS: tuple[str, ...] = ("logreg", "svm", "rf", "gbt")
DEFAULT_REGRESSION_MODELS: tuple[str, ...] = ("ridge", "svm", "rf", "gbt")
SWEEP_TASKS: tuple[str, ...] = ("binary", "3class", "bands", "regression")

CLASSIFICATION_METRICS: tuple[str, ...] = (
    "f1",
    "precision",
    "recall",
    "accuracy",
    "balanced_accuracy",
    "roc_auc",
)
REGRESSION_METRICS: tuple[str, ...] = ("mae", "rmse", "pearson_r")
KEY_COLUMNS: tuple[str, ...] = (
    "subscale",
    "task",
    "model",
    "protocol",
    "criterion",
    "fraction",
    "repeat",
    "fold",
    "n_train",
    "n_test",
)
#: Trailing columns: rows fitted after class balance, and rows the criterion removed from the
#: training and the test part of the fold.
EXTRA_COLUMNS: tuple[str, ...] = ("n_fit", "n_removed_train", "n_removed_test")
ID_LIKE_COLUMNS: tuple[str, ...] = ("participant_id", "video_id")


def metric_names(task: str) -> tuple[str, ...]:
    """Metric columns of ``task``."""
    return REGRESSION_METRICS if task == "regression" else CLASSIFICATION_METRICS


#: Classification only: the test fold's confusion matrix as JSON, rows true and columns
#: predicted, classes in ascending label order (what the report sums over folds).
CONFUSION_COLUMN = "confusion"


def result_columns(task: str) -> list[str]:
    """Columns of the per-fold results table for ``task``, in order."""
    tail = () if task == "regression" else (CONFUSION_COLUMN,)
    return [*KEY_COLUMNS, *metric_names(task), *EXTRA_COLUMNS, *tail]


def confusion_json(y_true: np.ndarray, y_pred: np.ndarray, labels: np.ndarray) -> str:
    """Confusion matrix (rows true, columns predicted) over ``labels``, as compact JSON."""
    from sklearn.metrics import confusion_matrix

    return json.dumps(
        confusion_matrix(y_true, y_pred, labels=labels).tolist(), separators=(",", ":")
    )


def summary_path(results: str | Path) -> Path:
    """Where the summary of ``results`` goes: ``<stem>_summary<suffix>`` beside it."""
    p = Path(results)
    return p.with_name(f"{p.stem}_summary{p.suffix}")


def _seed(*keys: Any) -> int:
    """A 32-bit seed from a tuple of keys, stable across processes and Python runs."""
    ints = [zlib.crc32(str(k).encode("utf-8")) for k in keys]
    return int(np.random.SeedSequence(ints).generate_state(1)[0])


# --------------------------------------------------------------------------------------------
# Configuration
# --------------------------------------------------------------------------------------------


@dataclass
class SweepConfig:
    """What to sweep. ``subscales=None`` means every subscale of the instrument, ``models=None``
    the default models of the task (``ridge`` replaces ``logreg`` for regression)."""

    subscales: Sequence[str] | None = None
    task: str = "binary"
    positive_band: str = "mild"
    models: Sequence[str] | None = None
    fractions: Sequence[float] = DEFAULT_FRACTIONS
    protocols: Sequence[str] = PROTOCOLS
    criteria: Sequence[str] = DEFAULT_CRITERIA
    folds: int = 5
    repeats: int = 1
    seed: int = 0
    jobs: int = 1
    balance: str = "downsample"
    grid_search: bool = False
    inner_folds: int = 3
    refit_preprocessing: bool = False
    #: Run only these fold indices (0-based) of every repeat: to split one sweep across
    #: machines (concatenate the fold tables, then :func:`summarize`) or to time a part of it.
    run_folds: Sequence[int] | None = None
    id_column: str = "participant_id"
    #: Extraction directory the deep models (``sequence``, ``frames-cnn``) load their inputs
    #: from; their feature table is then :func:`facemind.models.deep.input_table`.
    frames: str | None = None

    def resolved_models(self) -> list[str]:
        if self.models is not None:
            return list(self.models)
        return list(DEFAULT_REGRESSION_MODELS if self.task == "regression" else DEFAULT_MODELS)

    def validate(self, inst: Instrument) -> None:
        """One-line errors for unusable settings, before any work starts."""
        if self.task not in SWEEP_TASKS:
            raise FacemindError(
                f"unknown task {self.task!r}; choose one of {', '.join(SWEEP_TASKS)}"
            )
        subs = list(self.subscales) if self.subscales is not None else list(inst.subscales)
        if not subs:
            raise FacemindError("no subscales chosen")
        for s in subs:
            if s not in inst.subscales:
                raise FacemindError(
                    f"unknown subscale {s!r} for {inst.id}; choose from {', '.join(inst.subscales)}"
                )
            if self.task != "regression":
                bands = [b.label for b in inst.subscales[s].bands]
                if not bands:
                    raise FacemindError(
                        f"subscale {s!r} has no severity bands; use --task regression"
                    )
                if self.task == "binary" and self.positive_band not in bands[1:]:
                    raise FacemindError(
                        f"--positive-band {self.positive_band!r} is not a band above the lowest "
                        f"of {s!r}; choose from {', '.join(bands[1:])}"
                    )
        models = self.resolved_models()
        if not models:
            raise FacemindError("no models chosen")
        for m in models:
            check_model(m, self.task)
        _check_model_inputs(models, self.frames)
        for name, values, allowed in (
            ("protocol", self.protocols, PROTOCOLS),
            ("criterion", self.criteria, CRITERIA),
        ):
            if not values:
                raise FacemindError(f"no {name} chosen")
            for v in values:
                if v not in allowed:
                    raise FacemindError(f"unknown {name} {v!r}; choose from {', '.join(allowed)}")
        if not self.fractions:
            raise FacemindError("no removal fractions chosen")
        for f in self.fractions:
            if not 0.0 <= float(f) < 1.0:
                raise FacemindError(f"removal fraction must be in [0, 1), got {f}")
        if self.folds < 2:
            raise FacemindError(f"--folds must be at least 2, got {self.folds}")
        if self.repeats < 1:
            raise FacemindError(f"--repeats must be at least 1, got {self.repeats}")
        if self.jobs == 0 or self.jobs < -1:
            raise FacemindError(
                f"--jobs must be a positive number of processes or -1, got {self.jobs}"
            )
        if self.balance not in BALANCE_METHODS:
            raise FacemindError(
                f"unknown balance {self.balance!r}; choose one of {', '.join(BALANCE_METHODS)}"
            )
        if self.run_folds is not None:
            bad = [k for k in self.run_folds if not 0 <= int(k) < self.folds]
            if bad or not self.run_folds:
                raise FacemindError(f"run_folds must be fold indices 0-{self.folds - 1}, got {bad}")
        if self.grid_search and self.inner_folds < 2:
            raise FacemindError("inner grid search needs at least 2 inner folds")

    def resolved_subscales(self, inst: Instrument) -> list[str]:
        return list(self.subscales) if self.subscales is not None else list(inst.subscales)


def _check_model_inputs(models: Sequence[str], frames: str | None) -> None:
    """Deep models need ``frames``; feature models and deep models take different tables."""
    deep = [m for m in models if get_model(m).input != "features"]
    if deep and frames is None:
        raise FacemindError(f"model {deep[0]!r} needs an extraction directory: pass --frames DIR")
    if deep and len(deep) < len(models):
        other = next(m for m in models if m not in deep)
        raise FacemindError(
            f"models {deep[0]!r} (on --frames) and {other!r} (on --features) take different "
            "inputs; sweep them in separate runs"
        )


# --------------------------------------------------------------------------------------------
# The study: features joined to validated, scored responses
# --------------------------------------------------------------------------------------------


@dataclass
class Study:
    """Features and responses of the participants present in both, ready for modelling.

    Rows of ``X`` are feature rows (videos or participants); ``row_person`` maps each to its
    participant (index into ``person_ids``). Per subscale: the keyed item block, the raw
    total (the SDI grouping) and the scored total of every participant.
    """

    X: np.ndarray
    feature_names: list[str]
    row_person: np.ndarray
    person_ids: np.ndarray
    items: dict[str, np.ndarray]
    raw: dict[str, np.ndarray]
    scored: dict[str, np.ndarray]
    instrument: Instrument
    notes: list[str] = field(default_factory=list)

    @property
    def n_people(self) -> int:
        return len(self.person_ids)


def _normalize_ids(values: pd.Series) -> pd.Series:
    return values.astype("string").str.strip()


def prepare_study(
    features: pd.DataFrame,
    responses: pd.DataFrame,
    instrument: str | Instrument,
    *,
    subscales: Sequence[str] | None = None,
    id_column: str = "participant_id",
    features_name: str = "features",
    responses_name: str = "responses",
) -> Study:
    """Validate and score responses, join them to the feature rows, and pick feature columns.

    Feature columns are the numeric (non-boolean) columns of ``features`` other than ids;
    other columns are listed in ``notes``. Participants missing an answer on a chosen subscale,
    or present on one side only, are left out and counted in ``notes``.
    """
    inst = load_instrument(instrument)
    subs = list(subscales) if subscales is not None else list(inst.subscales)
    validated = validate_responses(responses, inst, id_column=id_column, source=responses_name)
    scored, _ = score_responses(validated, missing="drop")
    notes: list[str] = []
    complete = np.ones(len(scored), dtype=bool)
    for s in subs:
        miss = scored[s].isna().to_numpy()
        if miss.any():
            notes.append(f"{int(miss.sum())} respondent(s) left out: missing answers on {s}")
        complete &= ~miss
    resp_ids = _normalize_ids(validated.ids)
    ids_frame = pd.DataFrame({id_column: resp_ids[complete].to_numpy()})
    if id_column not in features.columns:
        raise InputError("missing id column", file=features_name, column=id_column)
    joined = labels.join_features_responses(
        features, ids_frame, id_column=id_column, features_name=features_name,
        responses_name=responses_name,
    )  # fmt: skip
    if joined.unmatched_features:
        notes.append(
            f"{len(joined.unmatched_features)} participant(s) with features but no complete "
            f"responses left out (e.g. {joined.unmatched_features[0]})"
        )
    if joined.unmatched_responses:
        notes.append(
            f"{len(joined.unmatched_responses)} participant(s) with responses but no features "
            f"left out (e.g. {joined.unmatched_responses[0]})"
        )
    data = joined.data
    if len(data) == 0:
        raise InputError(
            f"no participant id in common between features and responses (column {id_column!r})",
            file=features_name,
        )
    exclude = {id_column, *ID_LIKE_COLUMNS}
    feature_names: list[str] = []
    skipped: list[str] = []
    for col in features.columns:
        if col in exclude:
            continue
        dtype = features[col].dtype
        if pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_bool_dtype(dtype):
            feature_names.append(str(col))
        else:
            skipped.append(str(col))
    if skipped:
        notes.append(
            f"{len(skipped)} non-numeric column(s) not used as features: {', '.join(skipped[:6])}"
        )
    if not feature_names:
        raise InputError("no numeric feature columns", file=features_name)
    X = data[feature_names].to_numpy(dtype=np.float64, na_value=np.nan)
    inf = ~np.isfinite(X) & ~np.isnan(X)
    if inf.any():
        notes.append(f"{int(inf.sum())} infinite feature value(s) treated as missing")
        X[inf] = np.nan
    all_nan = np.isnan(X).all(axis=0)
    if all_nan.any():
        notes.append(f"{int(all_nan.sum())} feature column(s) empty in every row, not used")
        X = X[:, ~all_nan]
        feature_names = [n for n, e in zip(feature_names, all_nan, strict=True) if not e]
    person_codes, person_ids = pd.factorize(data[id_column].to_numpy(), sort=True)
    pos = pd.Index(resp_ids.to_numpy()).get_indexer(person_ids)
    items = {s: np.asarray(validated.keyed(inst.subscales[s]), dtype=float)[pos] for s in subs}
    raw = {s: items[s].sum(axis=1) for s in subs}
    scored_totals = {s: scored[s].to_numpy(dtype=float, na_value=np.nan)[pos] for s in subs}
    return Study(
        X=X,
        feature_names=feature_names,
        row_person=person_codes.astype(np.int64),
        person_ids=np.asarray(person_ids, dtype=object),
        items=items,
        raw=raw,
        scored=scored_totals,
        instrument=inst,
        notes=notes,
    )


# --------------------------------------------------------------------------------------------
# Removal criteria
# --------------------------------------------------------------------------------------------


def criterion_scores(
    criterion: str, items: np.ndarray, groups: np.ndarray, inst: Instrument, *, seed: int = 0
) -> np.ndarray:
    """Suspicion score of every respondent (higher = removed first) from the rows given only.

    ``sdi``: the normalized discrepancy to the respondent's total-score group center, items
    standardized over these rows; ``random``: uniform noise from ``seed``; otherwise the
    screening index of the same name.
    """
    if criterion == "sdi":
        return sdi.subscale_discrepancy(items, groups, standardize=True, center="group")
    if criterion == "random":
        return np.random.default_rng(seed).random(len(items))
    if criterion in screening.INDICES:
        return screening.screen(
            items, criterion, response_min=inst.response_min, response_max=inst.response_max
        )
    raise FacemindError(f"unknown criterion {criterion!r}; choose from {', '.join(CRITERIA)}")


def removal_keep(
    criterion: str,
    items: np.ndarray,
    groups: np.ndarray,
    fraction: float,
    inst: Instrument,
    *,
    seed: int = 0,
) -> np.ndarray:
    """Keep-mask after removing ``fraction`` of every total-score group by ``criterion``.

    Ties (common for ``longstring``) are broken at random from ``seed``.
    """
    if fraction == 0:
        return np.ones(len(items), dtype=bool)
    scores = criterion_scores(criterion, items, groups, inst, seed=seed)
    tiebreak = np.random.default_rng(_seed(seed, "tiebreak")).permutation(len(items))
    return sdi.keep_within_groups(scores, groups, fraction, tiebreak=tiebreak)


# --------------------------------------------------------------------------------------------
# Metrics
# --------------------------------------------------------------------------------------------


def classification_metrics(
    y_true: np.ndarray, y_pred: np.ndarray, scores: np.ndarray | None, classes: np.ndarray
) -> dict[str, float]:
    """F1, precision, recall (binary: of class 1; otherwise macro), accuracy, balanced accuracy
    and ROC AUC (binary; otherwise the macro mean of one-vs-rest AUCs). NaN where undefined."""
    from sklearn import metrics as skm

    y_true = np.asarray(y_true)
    binary = len(classes) <= 2 and set(np.unique(y_true)) <= {0, 1}
    avg = "binary" if binary else "macro"
    out = {
        "f1": skm.f1_score(y_true, y_pred, average=avg, zero_division=0),
        "precision": skm.precision_score(y_true, y_pred, average=avg, zero_division=0),
        "recall": skm.recall_score(y_true, y_pred, average=avg, zero_division=0),
        "accuracy": skm.accuracy_score(y_true, y_pred),
        "balanced_accuracy": np.nan,
        "roc_auc": np.nan,
    }
    if len(np.unique(y_true)) > 1:
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            out["balanced_accuracy"] = skm.balanced_accuracy_score(y_true, y_pred)
    if scores is not None and len(np.unique(y_true)) > 1:
        s = np.asarray(scores, dtype=float)
        if binary:
            if s.ndim == 2:
                s = s[:, list(classes).index(1)] if 1 in classes else s[:, -1]
            out["roc_auc"] = skm.roc_auc_score(y_true, s)
        elif s.ndim == 2:
            aucs = []
            for j, c in enumerate(classes):
                pos = y_true == c
                if 0 < pos.sum() < len(pos):
                    aucs.append(skm.roc_auc_score(pos, s[:, j]))
            out["roc_auc"] = float(np.mean(aucs)) if aucs else np.nan
    return {k: float(v) for k, v in out.items()}


def regression_metrics(y_true: np.ndarray, y_pred: np.ndarray) -> dict[str, float]:
    """MAE, RMSE and Pearson r (NaN when either side is constant)."""
    y_true = np.asarray(y_true, dtype=float)
    y_pred = np.asarray(y_pred, dtype=float)
    err = y_pred - y_true
    r = np.nan
    if len(y_true) > 1 and np.std(y_true) > 0 and np.std(y_pred) > 0:
        r = float(np.corrcoef(y_true, y_pred)[0, 1])
    return {
        "mae": float(np.mean(np.abs(err))),
        "rmse": float(np.sqrt(np.mean(err**2))),
        "pearson_r": r,
    }


def _scores_of(est: Any, X: pd.DataFrame) -> np.ndarray | None:
    if hasattr(est, "predict_proba"):
        return est.predict_proba(X)
    if hasattr(est, "decision_function"):
        return est.decision_function(X)
    return None


# --------------------------------------------------------------------------------------------
# Recording what every fit sees
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FitRecord:
    """Participant ids one stage saw: ``stage`` is ``test`` (ids scored in the fold),
    ``criterion:<name>`` (ids the removal criterion was computed on; ``fold`` is -1 for the
    ``paper`` protocol, computed once on the cohort) or ``fit:<model>:<step>``."""

    subscale: str
    model: str
    protocol: str
    criterion: str
    fraction: float
    repeat: int
    fold: int
    stage: str
    ids: frozenset


class FitRecorder:
    """Receives a :class:`FitRecord` for every fitted step, criterion computation and test set."""

    def __init__(self) -> None:
        self.records: list[FitRecord] = []

    def frame(self) -> pd.DataFrame:
        return pd.DataFrame([r.__dict__ for r in self.records])


# --------------------------------------------------------------------------------------------
# The sweep
# --------------------------------------------------------------------------------------------


@dataclass
class _Context:
    """What every unit of one subscale needs (shared, read-only)."""

    row_person: np.ndarray
    items: np.ndarray
    raw: np.ndarray
    y_rows: np.ndarray
    task: str
    subscale: str
    config: SweepConfig
    instrument: Instrument
    paper_keep: dict[tuple[int, str, float], np.ndarray]
    record: bool


def _strata(targets: list[np.ndarray], task: str) -> np.ndarray:
    """One stratum per combination of the subscales' classes (quintiles for regression)."""
    cols = []
    for y in targets:
        if task == "regression":
            edges = np.unique(np.quantile(y, [0.2, 0.4, 0.6, 0.8]))
            cols.append(np.searchsorted(edges, y, side="right"))
        else:
            cols.append(np.asarray(y))
    _, joint = np.unique(np.column_stack(cols), axis=0, return_inverse=True)
    return joint.ravel()


def _splits(strata: np.ndarray, row_person: np.ndarray, folds: int, seed: int):
    """Stratified k-fold grouped by participant (one participant's rows stay together)."""
    import warnings

    from sklearn.model_selection import StratifiedGroupKFold

    cv = StratifiedGroupKFold(n_splits=folds, shuffle=True, random_state=seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # rare joint strata: best effort
        return list(cv.split(np.zeros(len(strata)), strata, groups=row_person))


def _frame(values: np.ndarray, rows: np.ndarray, row_person: np.ndarray) -> pd.DataFrame:
    return pd.DataFrame(
        values[rows], index=row_person[rows], columns=[f"f{i}" for i in range(values.shape[1])]
    )


def _fit_preprocessing(
    model: str,
    X: np.ndarray,
    row_person: np.ndarray,
    train_rows: np.ndarray,
    seed: int,
    record: bool,
) -> tuple[np.ndarray, list[tuple[str, np.ndarray]]]:
    """Fit a model family's preprocessing on the training rows of a fold; transform all rows."""
    log = FitLog() if record else None
    pre = make_preprocessing(model, random_state=seed, log=log)
    pre.fit(_frame(X, train_rows, row_person))
    z = pre.transform(_frame(X, np.arange(len(X)), row_person))
    return np.asarray(z, dtype=np.float64), (log.records if log is not None else [])


def _fit_predict(
    ctx: _Context,
    model: str,
    inputs: np.ndarray,
    preprocessed: bool,
    train_rows: np.ndarray,
    test_rows: np.ndarray,
    random_state: int,
    log: FitLog | None,
) -> tuple[dict[str, float], int]:
    cfg = ctx.config
    est = make_estimator(
        model,
        ctx.task,
        random_state=random_state,
        balance=cfg.balance,
        grid_search=cfg.grid_search,
        inner_folds=cfg.inner_folds,
        n_jobs=1,
        log=log,
        preprocessing=not preprocessed,
        inputs={"frames": cfg.frames} if cfg.frames is not None else None,
    )
    Xtr = _frame(inputs, train_rows, ctx.row_person)
    Xte = _frame(inputs, test_rows, ctx.row_person)
    ytr, yte = ctx.y_rows[train_rows], ctx.y_rows[test_rows]
    est.fit(Xtr, ytr)
    n_fit = int(getattr(est, "n_fit_", len(train_rows)))
    if ctx.task == "regression":
        return regression_metrics(yte, est.predict(Xte)), n_fit
    classes = np.asarray(est.classes_)
    scores = _scores_of(est, Xte)
    if scores is not None and scores.ndim == 1 and len(classes) == 2:
        # A binary decision function: predict from its sign (one pass over a kernel model).
        pred = classes[(scores > 0).astype(int)]
    else:
        pred = est.predict(Xte)
    metrics = classification_metrics(yte, pred, scores, classes)
    metrics[CONFUSION_COLUMN] = confusion_json(
        yte, pred, np.union1d(classes, np.unique(ctx.y_rows))
    )
    return metrics, n_fit


def _run_fold_model(
    ctx: _Context,
    repeat: int,
    fold: int,
    train_rows: np.ndarray,
    test_rows: np.ndarray,
    model: str,
    inputs: np.ndarray,
    preprocessed: bool,
    pre_records: list[tuple[str, np.ndarray]],
) -> tuple[list[dict[str, Any]], list[tuple]]:
    """Every protocol x criterion x fraction of one model on one fold of one subscale."""
    cfg = ctx.config
    records: list[tuple] = []
    rows: list[dict[str, Any]] = []
    rs = _seed(cfg.seed, "model", ctx.subscale, repeat, fold)

    def fit(protocol, criterion, fraction, tr, te, extra):
        log = FitLog() if ctx.record else None
        metrics, n_fit = _fit_predict(ctx, model, inputs, preprocessed, tr, te, rs, log)
        if log is not None:
            key = (model, protocol, criterion, fraction, repeat, fold)
            records.append((*key, "test", ctx.row_person[te]))
            records.extend((*key, f"fit:{tag}", ids) for tag, ids in pre_records)
            records.extend((*key, f"fit:{tag}", ids) for tag, ids in log.records)
        return {"n_train": len(tr), "n_test": len(te), **metrics, "n_fit": n_fit, **extra}

    train_people = np.unique(ctx.row_person[train_rows])
    fractions = sorted({float(f) for f in cfg.fractions})
    if 0.0 in fractions:
        base = fit("train-only", "none", 0.0, train_rows, test_rows,
                   {"n_removed_train": 0, "n_removed_test": 0})  # fmt: skip
        for protocol in cfg.protocols:
            for criterion in cfg.criteria:
                rows.append(_row(ctx, model, protocol, criterion, 0.0, repeat, fold, base))
    for fraction in (f for f in fractions if f > 0):
        for protocol in cfg.protocols:
            for criterion in cfg.criteria:
                if protocol == "paper":
                    keep_people = ctx.paper_keep[(repeat, criterion, fraction)]
                    tr = train_rows[keep_people[ctx.row_person[train_rows]]]
                    te = test_rows[keep_people[ctx.row_person[test_rows]]]
                else:
                    keep = removal_keep(
                        criterion,
                        ctx.items[train_people],
                        ctx.raw[train_people],
                        fraction,
                        ctx.instrument,
                        seed=_seed(cfg.seed, ctx.subscale, repeat, fold, criterion),
                    )
                    if ctx.record:
                        key = (model, protocol, criterion, fraction, repeat, fold)
                        records.append((*key, f"criterion:{criterion}", train_people))
                    keep_people = np.zeros(ctx.items.shape[0], dtype=bool)
                    keep_people[train_people[keep]] = True
                    tr = train_rows[keep_people[ctx.row_person[train_rows]]]
                    te = test_rows
                extra = {
                    "n_removed_train": len(train_rows) - len(tr),
                    "n_removed_test": len(test_rows) - len(te),
                }
                result = fit(protocol, criterion, fraction, tr, te, extra)
                rows.append(_row(ctx, model, protocol, criterion, fraction, repeat, fold, result))
    return rows, records


def _row(ctx, model, protocol, criterion, fraction, repeat, fold, result) -> dict[str, Any]:
    return {
        "subscale": ctx.subscale,
        "task": ctx.task,
        "model": model,
        "protocol": protocol,
        "criterion": criterion,
        "fraction": fraction,
        "repeat": repeat,
        "fold": fold,
        **result,
    }


@dataclass
class SweepResult:
    """Per-fold rows (:func:`result_columns`), the summary (:func:`summarize`) and notes on
    what was left out of the data."""

    folds: pd.DataFrame
    summary: pd.DataFrame
    notes: list[str]
    n_participants: int
    n_rows: int
    #: Columns left by the shared preprocessing (PCA components) in each (repeat, fold).
    components: list[int] = field(default_factory=list)
    #: CPU seconds spent in the shared preprocessing and in the model units (all workers),
    #: and per model (``model:<name>``).
    cpu_seconds: dict[str, float] = field(default_factory=dict)


def plan_size(config: SweepConfig, inst: Instrument) -> int:
    """Number of model fits the sweep will make (fraction 0 once per model and fold)."""
    subs = len(config.resolved_subscales(inst))
    fractions = {float(f) for f in config.fractions}
    per_fold = (1 if 0.0 in fractions else 0) + len(fractions - {0.0}) * len(
        config.protocols
    ) * len(config.criteria)
    return subs * len(config.resolved_models()) * config.repeats * config.folds * per_fold


def _records_to(recorder: FitRecorder, subscale: str, person_ids: np.ndarray, records) -> None:
    for model, protocol, criterion, fraction, repeat, fold, stage, codes in records:
        recorder.records.append(
            FitRecord(subscale, model, protocol, criterion, fraction, repeat, fold, stage,
                      frozenset(person_ids[np.asarray(codes, dtype=np.int64)]))
        )  # fmt: skip


def run_sweep(
    features: pd.DataFrame,
    responses: pd.DataFrame,
    instrument: str | Instrument,
    config: SweepConfig | None = None,
    *,
    recorder: FitRecorder | None = None,
    progress: Callable[[int, int], None] | None = None,
    features_name: str = "features",
    responses_name: str = "responses",
    checkpoint: str | Path | None = None,
) -> SweepResult:
    """Run the sweep; deterministic for ``config.seed`` whatever ``config.jobs``.

    With ``checkpoint`` (a folder), every finished (subscale, repeat, fold, model) unit is
    written there, and a rerun on the same data and settings reuses them instead of refitting:
    an interrupted sweep resumes (not while a ``recorder`` is attached).

    Folds are shared by all subscales (stratified on the joint classes, grouped by participant).
    Unless ``config.refit_preprocessing``, a model family's unsupervised preprocessing (impute,
    scale, PCA) is fitted once on each training fold and shared by every fraction, protocol,
    criterion and model of that fold; the models themselves are fitted on the kept rows only.
    ``progress(done, total)`` is called as preprocessing and (subscale, repeat, fold, model)
    units finish.
    """
    from joblib import Parallel, delayed

    cfg = config or SweepConfig()
    inst = load_instrument(instrument)
    cfg.validate(inst)
    subs = cfg.resolved_subscales(inst)
    models = cfg.resolved_models()
    record = recorder is not None
    study = prepare_study(
        features, responses, inst, subscales=subs, id_column=cfg.id_column,
        features_name=features_name, responses_name=responses_name,
    )  # fmt: skip
    fractions = sorted({float(f) for f in cfg.fractions})
    targets: dict[str, np.ndarray] = {}
    for s in subs:
        y = labels.make_target(
            study.scored[s], inst.subscales[s], cfg.task, positive_band=cfg.positive_band
        )
        if cfg.task != "regression":
            classes, counts = np.unique(y, return_counts=True)
            if len(classes) < 2:
                raise FacemindError(f"subscale {s!r}: every participant is in the same class")
            if counts.min() < cfg.folds:
                raise FacemindError(
                    f"subscale {s!r}: the smallest class has {int(counts.min())} participant(s), "
                    f"fewer than --folds {cfg.folds}; lower --folds or use more participants"
                )
        targets[s] = y
    strata = _strata([targets[s][study.row_person] for s in subs], cfg.task)
    splits = {
        r: _splits(strata, study.row_person, cfg.folds, _seed(cfg.seed, "split", r))
        for r in range(cfg.repeats)
    }
    # Paper protocol: one removal per subscale, repeat, criterion and fraction, on the cohort.
    contexts: dict[str, _Context] = {}
    for s in subs:
        paper_keep: dict[tuple[int, str, float], np.ndarray] = {}
        if "paper" in cfg.protocols:
            for r in range(cfg.repeats):
                for criterion in cfg.criteria:
                    for fraction in (f for f in fractions if f > 0):
                        paper_keep[(r, criterion, fraction)] = removal_keep(
                            criterion, study.items[s], study.raw[s], fraction, inst,
                            seed=_seed(cfg.seed, s, r, "paper", criterion),
                        )  # fmt: skip
                        if recorder is not None:
                            recorder.records.extend(
                                FitRecord(s, m, "paper", criterion, fraction, r, -1,
                                          f"criterion:{criterion}", frozenset(study.person_ids))
                                for m in models
                            )  # fmt: skip
        contexts[s] = _Context(
            row_person=study.row_person,
            items=study.items[s],
            raw=study.raw[s],
            y_rows=targets[s][study.row_person],
            task=cfg.task,
            subscale=s,
            config=cfg,
            instrument=inst,
            paper_keep=paper_keep,
            record=record,
        )
    # Shared preprocessing: one fit per (repeat, fold, preprocessing family).
    families: dict[Any, str] = {}
    if not cfg.refit_preprocessing:
        for m in models:
            pre = get_model(m).preprocessing
            if pre is not None and pre not in families:
                families[pre] = m
    fold_ids = sorted({int(k) for k in cfg.run_folds}) if cfg.run_folds else range(cfg.folds)
    unit_keys = [
        (s, r, k, m) for s in subs for r in range(cfg.repeats) for k in fold_ids for m in models
    ]
    finished: dict[tuple, list[dict[str, Any]]] = {}
    parts: Path | None = None
    if checkpoint is not None and recorder is None:
        parts = Path(checkpoint)
        tag = _fingerprint(cfg, study)
        for key in unit_keys:
            path = parts / _part_name(tag, key)
            if path.exists():
                finished[key] = pd.read_parquet(path).to_dict("records")
    todo = [key for key in unit_keys if key not in finished]

    def family(m: str) -> Any:
        return None if cfg.refit_preprocessing else get_model(m).preprocessing

    needed = {(r, k, family(m)) for _, r, k, m in todo if family(m) is not None}
    pre_jobs = [
        (r, k, fam) for r in range(cfg.repeats) for k in fold_ids for fam in families
        if (r, k, fam) in needed
    ]  # fmt: skip
    total = len(pre_jobs) + len(unit_keys)
    done = len(finished)
    if progress is not None:
        progress(done, total)

    def parallel_map(func, arg_lists):
        if cfg.jobs == 1:
            return ((i, func(*a)) for i, a in enumerate(arg_lists))
        return Parallel(n_jobs=cfg.jobs, return_as="generator_unordered")(
            delayed(_indexed)(func, i, a) for i, a in enumerate(arg_lists)
        )

    shared: dict[tuple[int, int, Any], tuple[np.ndarray, list]] = {}
    pre_args = [
        (families[fam], study.X, study.row_person, splits[r][k][0],
         _seed(cfg.seed, "preprocess", r, k), record)
        for r, k, fam in pre_jobs
    ]  # fmt: skip
    cpu = {"preprocessing": 0.0, "models": 0.0}
    for i, (out, seconds) in parallel_map(_timed_preprocessing, pre_args):
        shared[pre_jobs[i]] = out
        cpu["preprocessing"] += seconds
        done += 1
        if progress is not None:
            progress(done, total)
    units = []
    for s, r, k, m in todo:
        tr, te = splits[r][k]
        fam = family(m)
        if fam is not None:
            z, pre_records = shared[(r, k, fam)]
            units.append((contexts[s], r, k, tr, te, m, z, True, pre_records))
        else:
            units.append((contexts[s], r, k, tr, te, m, study.X, False, []))
    rows: list[dict[str, Any]] = [
        row for key in unit_keys if key in finished for row in finished[key]
    ]
    for i, ((unit_rows, unit_records), seconds) in parallel_map(_timed_fold_model, units):
        cpu["models"] += seconds
        cpu[f"model:{units[i][5]}"] = cpu.get(f"model:{units[i][5]}", 0.0) + seconds
        rows.extend(unit_rows)
        if parts is not None:
            write_table(
                pd.DataFrame(unit_rows, columns=result_columns(cfg.task)),
                parts / _part_name(tag, todo[i]),
            )
        if recorder is not None:
            _records_to(recorder, units[i][0].subscale, study.person_ids, unit_records)
        done += 1
        if progress is not None:
            progress(done, total)
    folds = pd.DataFrame(rows, columns=result_columns(cfg.task))
    order = {name: i for i, name in enumerate(models)}
    folds = (
        folds.assign(
            _s=folds["subscale"].map({s: i for i, s in enumerate(subs)}),
            _m=folds["model"].map(order),
            _p=folds["protocol"].map({p: i for i, p in enumerate(cfg.protocols)}),
            _c=folds["criterion"].map({c: i for i, c in enumerate(cfg.criteria)}),
        )
        .sort_values(["_s", "_m", "_p", "_c", "fraction", "repeat", "fold"], kind="stable")
        .drop(columns=["_s", "_m", "_p", "_c"])
        .reset_index(drop=True)
    )
    return SweepResult(
        folds=folds,
        summary=summarize(folds),
        notes=study.notes,
        n_participants=study.n_people,
        n_rows=len(study.X),
        components=[shared[key][0].shape[1] for key in pre_jobs],
        cpu_seconds=cpu,
    )


def _fingerprint(cfg: SweepConfig, study: Study) -> str:
    """Digest of the data and of every setting that changes results (not jobs or run_folds)."""
    import hashlib

    h = hashlib.sha256()
    settings = {k: v for k, v in cfg.__dict__.items() if k not in ("jobs", "run_folds")}
    h.update(json.dumps(settings, sort_keys=True, default=list).encode())
    h.update("\x1f".join(map(str, study.person_ids)).encode())
    h.update("\x1f".join(study.feature_names).encode())
    h.update(np.ascontiguousarray(study.row_person).tobytes())
    h.update(np.ascontiguousarray(study.X).tobytes())
    for name in sorted(study.items):
        h.update(name.encode())
        h.update(np.ascontiguousarray(study.items[name]).tobytes())
        h.update(np.ascontiguousarray(study.scored[name]).tobytes())
    return h.hexdigest()[:16]


def _part_name(tag: str, key: tuple) -> str:
    s, r, k, m = key
    return f"{tag}-{s}-r{r}-k{k}-{m}.parquet"


def _indexed(func: Callable[..., Any], index: int, args: tuple) -> tuple[int, Any]:
    return index, func(*args)


def _timed(func: Callable[..., Any]) -> Callable[..., Any]:
    def run(*args: Any) -> tuple[Any, float]:
        start = time.process_time()
        return func(*args), time.process_time() - start

    return run


# --------------------------------------------------------------------------------------------
# Summary with intervals
# --------------------------------------------------------------------------------------------

GROUP_COLUMNS: tuple[str, ...] = ("subscale", "task", "model", "protocol", "criterion", "fraction")
CONFIDENCE = 0.95


def corrected_t_interval(
    values: np.ndarray, test_train_ratio: float, confidence: float = CONFIDENCE
) -> tuple[float, float, float]:
    """Mean and corrected resampled t-interval over cross-validation folds.

    Fold scores share training data, so the plain t-interval is too narrow; the Nadeau-Bengio
    correction (Bouckaert & Frank 2004 for repeated k-fold) inflates the variance of the mean
    to ``(1/J + n_test/n_train) s^2`` with J - 1 degrees of freedom. NaN scores are skipped.
    """
    from scipy import stats

    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    if v.size == 0:
        return np.nan, np.nan, np.nan
    mean = float(v.mean())
    if v.size < 2:
        return mean, np.nan, np.nan
    var = (1.0 / v.size + test_train_ratio) * v.var(ddof=1)
    half = float(stats.t.ppf(0.5 + confidence / 2, v.size - 1) * np.sqrt(var))
    return mean, mean - half, mean + half


def summarize(folds: pd.DataFrame, confidence: float = CONFIDENCE) -> pd.DataFrame:
    """Per subscale x task x model x protocol x criterion x fraction: fold count, mean
    ``n_train``/``n_test``, and for each metric ``<m>_mean``, ``<m>_ci_low``, ``<m>_ci_high``
    (95% corrected resampled t-interval over the folds of all repeats, see
    :func:`corrected_t_interval`), plus the paired change of the first metric (F1, or MAE for
    regression) from fraction 0 on the same folds, ``<m>_gain_*``."""
    if folds.empty:
        return pd.DataFrame()
    task = str(folds["task"].iloc[0])
    metrics = metric_names(task)
    primary = metrics[0]
    keys = list(GROUP_COLUMNS)
    base = folds[folds["fraction"] == 0.0].set_index(
        ["subscale", "task", "model", "protocol", "criterion", "repeat", "fold"]
    )[primary]
    out = []
    for key, g in folds.groupby(keys, sort=False):
        ratio = float((g["n_test"] / g["n_train"].clip(lower=1)).mean())
        row: dict[str, Any] = dict(zip(keys, key, strict=True))
        row["n_folds"] = len(g)
        row["n_train"] = float(g["n_train"].mean())
        row["n_test"] = float(g["n_test"].mean())
        for m in metrics:
            mean, lo, hi = corrected_t_interval(g[m].to_numpy(), ratio, confidence)
            row[f"{m}_mean"], row[f"{m}_ci_low"], row[f"{m}_ci_high"] = mean, lo, hi
        idx = pd.MultiIndex.from_frame(
            g[["subscale", "task", "model", "protocol", "criterion", "repeat", "fold"]]
        )
        ref = base.reindex(idx).to_numpy()
        mean, lo, hi = corrected_t_interval(g[primary].to_numpy() - ref, ratio, confidence)
        row[f"{primary}_gain_mean"], row[f"{primary}_gain_ci_low"], row[f"{primary}_gain_ci_high"] = (
            mean, lo, hi,
        )  # fmt: skip
        out.append(row)
    return pd.DataFrame(out)


_timed_preprocessing = _timed(_fit_preprocessing)
_timed_fold_model = _timed(_run_fold_model)
