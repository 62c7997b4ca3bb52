"""The sweep: folds, work units, shared preprocessing, executors and resumable checkpoints."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .. import labels
from ..errors import FacemindError
from ..instruments import Instrument, load_instrument
from ..io import write_table
from ..models import FitLog, get_model, make_estimator, make_preprocessing
from ..study import Study, prepare_study
from .config import SweepConfig, _seed
from .criteria import removal_keep
from .metrics import (
    CONFUSION_COLUMN,
    _scores_of,
    classification_metrics,
    confusion_json,
    regression_metrics,
    result_columns,
)
from .recording import FitRecord, FitRecorder
from .summary import summarize


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
    )
    if cfg.frames is not None:
        from .models.deep import attach_frames

        attach_frames(est, cfg.frames)  # the deep models load their inputs from there
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


_timed_preprocessing = _timed(_fit_preprocessing)
_timed_fold_model = _timed(_run_fold_model)
