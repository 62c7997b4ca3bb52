"""The sweep: targets and folds, shared preprocessing, executors and resumable checkpoints."""

from __future__ import annotations

import shutil
import time
import warnings
from collections.abc import Callable, Sequence
from concurrent.futures import Executor
from contextlib import nullcontext
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .. import labels
from ..errors import FacemindError
from ..instruments import Instrument, load_instrument
from ..io import check_table_path
from ..models import get_model
from ..parallel import map_unordered, open_executor, share
from ..study import Study, prepare_study
from .checkpoint import Checkpoint, checkpoint_path, fingerprint
from .config import SweepConfig, SweepPlan, stable_seed
from .criteria import removal_keep
from .metrics import result_columns
from .preconditions import check_sweep_data
from .predictions import prediction_columns, unit_predictions
from .recording import FitRecord, FitRecorder
from .subgroups import (
    DEFAULT_BINS,
    Subgroups,
    cv_group_codes,
    subgroup_columns,
    subgroup_levels,
    summarize_subgroups,
)
from .summary import summarize
from .units import (
    Preprocessed,
    PreprocessJob,
    PreprocessKey,
    SubscaleContext,
    UnitKey,
    WorkUnit,
    fit_preprocessing,
    run_unit,
)


def _timed(func: Callable[[Any], Any], arg: Any) -> tuple[Any, float, list[str]]:
    """``func(arg)``, its CPU seconds and the warnings it raised (as text), so that the main
    process can count them whatever process ran it."""
    start = time.process_time()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out = func(arg)
    texts = [f"{w.category.__name__}: {str(w.message).strip()}" for w in caught]
    return out, time.process_time() - start, texts


def _timed_preprocessing(
    job: PreprocessJob, X: np.ndarray
) -> tuple[Preprocessed, float, list[str]]:
    """Fit one preprocessing job whose feature rows travel apart (:func:`parallel.share`)."""
    return _timed(fit_preprocessing, replace(job, X=X))


def _timed_unit(
    unit: WorkUnit, context: SubscaleContext, inputs: np.ndarray
) -> tuple[Any, float, list[str]]:
    """Run one unit whose context and inputs travel apart (:func:`parallel.share`)."""
    return _timed(run_unit, replace(unit, context=context, inputs=inputs))


# --------------------------------------------------------------------------------------------
# Planning: targets, folds, paper removals, units
# --------------------------------------------------------------------------------------------


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


def _splits(
    strata: np.ndarray, row_person: np.ndarray, folds: int, seed: int
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Stratified k-fold grouped by participant (one participant's rows stay together), or by
    whatever ``row_person`` holds (the ``cv_groups`` of each row's participant)."""
    import warnings

    from sklearn.model_selection import StratifiedGroupKFold

    _, counts = np.unique(strata, return_counts=True)
    if np.all(counts < folds):  # too few rows to stratify (a tiny regression cohort): group only
        strata = np.zeros_like(strata)
    cv = StratifiedGroupKFold(n_splits=folds, shuffle=True, random_state=seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # rare joint strata: best effort
        return list(cv.split(np.zeros(len(strata)), strata, groups=row_person))


def _targets(study: Study, plan: SweepPlan) -> dict[str, np.ndarray]:
    """Each subscale's target per participant; classes must fill every fold."""
    cfg, inst = plan.config, plan.instrument
    targets: dict[str, np.ndarray] = {}
    for s in plan.subscales:
        y = labels.make_target(
            study.scored[s], inst.subscales[s], cfg.task, positive_band=cfg.positive_band
        )
        if cfg.task != "regression":
            classes, counts = np.unique(y, return_counts=True)
            other = "another `positive_band`" if cfg.task == "binary" else "`task='binary'`"
            if len(classes) < 2:
                raise FacemindError(
                    f"subscale {s!r}: every participant is in the same class; "
                    f"use {other} or more participants"
                )
            if counts.min() < cfg.folds:
                raise FacemindError(
                    f"subscale {s!r}: the smallest class has {int(counts.min())} participant(s), "
                    f"fewer than `folds` {cfg.folds}; lower `folds`, use {other} or more "
                    "participants"
                )
        elif study.n_people < cfg.folds:
            raise FacemindError(
                f"{study.n_people} participant(s), fewer than `folds` {cfg.folds}; "
                "lower `folds` or use more participants"
            )
        targets[s] = y
    return targets


def _fold_splits(
    study: Study,
    plan: SweepPlan,
    targets: dict[str, np.ndarray],
    groups: np.ndarray | None = None,
) -> dict[int, list[tuple[np.ndarray, np.ndarray]]]:
    """(train rows, test rows) of every fold of every repeat, shared by all subscales; with
    ``groups`` (a code per participant) no group is on both sides of a split."""
    cfg = plan.config
    strata = _strata([targets[s][study.row_person] for s in plan.subscales], cfg.task)
    by = study.row_person if groups is None else groups[study.row_person]
    splits = {
        r: _splits(strata, by, cfg.folds, stable_seed(cfg.seed, "split", r))
        for r in range(cfg.repeats)
    }
    for r, folds in splits.items():
        if any(len(test) == 0 for _, test in folds):
            raise FacemindError(
                f"`cv_groups` {cfg.cv_groups!r}: a test fold of repeat {r + 1} is empty (one "
                "group holds most participants); lower `folds`"
            )
    return splits


def _contexts(
    study: Study,
    plan: SweepPlan,
    targets: dict[str, np.ndarray],
    recorder: FitRecorder | None,
) -> dict[str, SubscaleContext]:
    """Per subscale: its data and the paper protocol's removals (one per repeat, criterion
    and fraction, computed on the whole cohort)."""
    cfg, inst = plan.config, plan.instrument
    contexts: dict[str, SubscaleContext] = {}
    for s in plan.subscales:
        groups = study.raw[s]  # respondents with the same raw total, or the same band
        if cfg.group_by == "band":
            sub = inst.subscales[s]
            groups = sub.band_index(np.asarray(study.raw[s], dtype=float) * sub.multiplier)
        paper_keep: dict[tuple[int, str, float], np.ndarray] = {}
        if "paper" in cfg.protocols:
            for r in range(cfg.repeats):
                for criterion in cfg.criteria:
                    for fraction in (f for f in plan.fractions if f > 0):
                        paper_keep[(r, criterion, fraction)] = removal_keep(
                            criterion,
                            study.items[s],
                            groups,
                            fraction,
                            inst,
                            seed=stable_seed(cfg.seed, s, r, "paper", criterion),
                        )
                        if recorder is not None:
                            recorder.records.extend(
                                FitRecord(
                                    s,
                                    m,
                                    "paper",
                                    criterion,
                                    fraction,
                                    r,
                                    -1,
                                    f"criterion:{criterion}",
                                    frozenset(study.person_ids),
                                )
                                for m in plan.models
                            )
        contexts[s] = SubscaleContext(
            row_person=study.row_person,
            items=study.items[s],
            raw=groups,
            y_rows=targets[s][study.row_person],
            task=cfg.task,
            subscale=s,
            config=cfg,
            instrument=inst,
            paper_keep=paper_keep,
            record=recorder is not None,
        )
    return contexts


def _family(plan: SweepPlan, model: str) -> Any:
    """The shared preprocessing family of ``model`` (None: the model fits its own)."""
    return None if plan.config.refit_preprocessing else get_model(model).preprocessing


def _preprocess_jobs(
    study: Study,
    plan: SweepPlan,
    splits: dict[int, list[tuple[np.ndarray, np.ndarray]]],
    todo: list[UnitKey],
    record: bool,
) -> list[PreprocessJob]:
    """One job per (repeat, fold, family) that an unfinished unit needs."""
    cfg = plan.config
    families: dict[Any, str] = {}  # family -> the first model of it
    for m in plan.models:
        fam = _family(plan, m)
        if fam is not None and fam not in families:
            families[fam] = m
    needed = {PreprocessKey(u.repeat, u.fold, _family(plan, u.model)) for u in todo}
    return [
        PreprocessJob(
            key=PreprocessKey(r, k, fam),
            model=model,
            X=study.X,
            row_person=study.row_person,
            train_rows=splits[r][k][0],
            seed=stable_seed(cfg.seed, "preprocess", r, k),
            record=record,
        )
        for r in range(cfg.repeats)
        for k in plan.fold_ids
        for fam, model in families.items()
        if PreprocessKey(r, k, fam) in needed
    ]


def _work_unit(
    key: UnitKey,
    study: Study,
    plan: SweepPlan,
    contexts: dict[str, SubscaleContext],
    splits: dict[int, list[tuple[np.ndarray, np.ndarray]]],
    shared: dict[PreprocessKey, Preprocessed],
) -> WorkUnit:
    train_rows, test_rows = splits[key.repeat][key.fold]
    fam = _family(plan, key.model)
    common = dict(
        context=contexts[key.subscale], key=key, train_rows=train_rows, test_rows=test_rows
    )
    if fam is None:
        return WorkUnit(**common, inputs=study.X, preprocessed=False, pre_steps=())
    pre = shared[PreprocessKey(key.repeat, key.fold, fam)]
    return WorkUnit(**common, inputs=pre.inputs, preprocessed=True, pre_steps=pre.steps)


# --------------------------------------------------------------------------------------------
# The sweep
# --------------------------------------------------------------------------------------------


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
    #: Where the results come from (:func:`facemind.provenance.make_record`).
    provenance: dict[str, Any] = field(default_factory=dict)
    #: Every warning the fits raised, as ``Category: message`` (in any worker process).
    warnings: list[str] = field(default_factory=list)
    #: With subgroups: per fold and fit, the metrics within each subgroup level
    #: (:func:`.subgroups.subgroup_columns`), and their summary.
    subgroups: pd.DataFrame | None = None
    subgroup_summary: pd.DataFrame | None = None
    #: With ``save_predictions``: every fit's out-of-fold predictions (:mod:`.predictions`).
    predictions: pd.DataFrame | None = None

    def save(self, path: str | Path) -> list[Path]:
        """Write the per-fold table to ``path`` (CSV or Parquet by extension), the summary
        beside it (``<stem>_summary<ext>``), the subgroup tables and the predictions
        (``<stem>_predictions<ext>``) when there are any, each with its provenance; return
        the paths written."""
        from ..provenance import write_with_provenance
        from .predictions import predictions_path
        from .subgroups import subgroup_path
        from .summary import summary_path

        check_table_path(path, "path")
        tables = [(self.folds, Path(path)), (self.summary, summary_path(path))]
        if self.subgroups is not None:
            tables += [
                (self.subgroups, subgroup_path(path)),
                (self.subgroup_summary, summary_path(subgroup_path(path))),
            ]
        if self.predictions is not None:
            tables.append((self.predictions, predictions_path(path)))
        return [write_with_provenance(t, p, self.provenance) for t, p in tables]


class _Progress:
    """Counts finished steps and reports ``(done, total)`` to an optional callback."""

    def __init__(self, callback: Callable[[int, int], None] | None, done: int, total: int):
        self.callback, self.done, self.total = callback, done, total
        self._report()

    def step(self) -> None:
        self.done += 1
        self._report()

    def _report(self) -> None:
        if self.callback is not None:
            self.callback(self.done, self.total)


def run_sweep(
    features: pd.DataFrame,
    responses: pd.DataFrame,
    instrument: str | Instrument,
    config: SweepConfig | SweepPlan | None = None,
    *,
    recorder: FitRecorder | None = None,
    progress: Callable[[int, int], None] | None = None,
    features_name: str = "features",
    responses_name: str = "responses",
    checkpoint: str | Path | None = None,
    subgroups: Sequence[str] | None = None,
    subgroup_bins: int | dict[str, Sequence[float]] = DEFAULT_BINS,
    executor: Executor | None = None,
    scheduler: str | None = None,
    out: str | Path | None = None,
) -> SweepResult:
    """Join ``features`` to the scored ``responses`` (:func:`facemind.study.prepare_study`)
    and run :func:`sweep_study` on them.

    With ``out`` (a table path), finished units are kept beside it (:func:`checkpoint_path`)
    until the results are saved there; ``scheduler`` runs on that Dask cluster.

    ``config`` is validated against the instrument here, unless it is already a
    :class:`SweepPlan` (from :meth:`SweepConfig.validate`); ``subgroups`` are columns of
    ``responses`` whose levels (:func:`.subgroups.subgroup_levels`, numeric columns cut into
    ``subgroup_bins``) get metrics of their own; the other arguments are those of
    :func:`sweep_study`.
    """
    inst = load_instrument(instrument)
    if isinstance(config, SweepPlan):
        plan = config
        if plan.instrument.id != inst.id:
            raise ValueError(f"the plan is for {plan.instrument.id}, not {inst.id}")
    else:
        plan = (config or SweepConfig()).validate(inst)
    study = prepare_study(
        features,
        responses,
        plan.instrument,
        subscales=plan.subscales,
        id_column=plan.config.id_column,
        features_name=features_name,
        responses_name=responses_name,
    )
    groups = None
    if plan.config.cv_groups is not None:
        groups = cv_group_codes(
            responses,
            plan.config.cv_groups,
            study.person_ids,
            folds=plan.config.folds,
            id_column=plan.config.id_column,
            source=responses_name,
        )
    levels = None
    if subgroups:
        levels = subgroup_levels(
            responses,
            subgroups,
            study.person_ids,
            id_column=plan.config.id_column,
            bins=subgroup_bins,
            source=responses_name,
        )
    if out is not None and checkpoint is None:
        checkpoint = checkpoint_path(out)
    remote = executor is not None or scheduler is not None
    with open_executor(executor, scheduler=scheduler) if remote else nullcontext() as pool:
        result = sweep_study(
            study,
            plan,
            recorder=recorder,
            progress=progress,
            checkpoint=checkpoint,
            subgroups=levels,
            executor=pool,
            groups=groups,
        )
    result.provenance = _provenance(
        plan, {"responses": (responses, responses_name), "features": (features, features_name)}
    )
    if out is not None:
        result.save(out)
        shutil.rmtree(checkpoint_path(out), ignore_errors=True)
    return result


def _provenance(
    plan: SweepPlan, tables: dict[str, tuple[pd.DataFrame, str]] | None = None
) -> dict[str, Any]:
    """The provenance record of a sweep of ``plan`` on ``tables``."""
    from ..provenance import make_record

    cfg = plan.config
    settings = {k: v for k, v in cfg.__dict__.items() if k != "jobs"}
    return make_record(
        "sweep",
        instrument=plan.instrument,
        subscales=plan.subscales,
        task=cfg.task,
        positive_band=cfg.positive_band,
        models=plan.models,
        settings=settings,
        seed=cfg.seed,
        tables=tables,
    )


def sweep_study(
    study: Study,
    plan: SweepPlan,
    *,
    recorder: FitRecorder | None = None,
    progress: Callable[[int, int], None] | None = None,
    checkpoint: str | Path | None = None,
    subgroups: Subgroups | None = None,
    executor: Executor | None = None,
    groups: np.ndarray | None = None,
) -> SweepResult:
    """Run the sweep on a prepared study; the same rows for a seed wherever it runs.

    Preprocessing jobs and units run on ``executor`` (a Dask ``Client`` or its
    ``get_executor()`` included; see :mod:`facemind.parallel`), else in ``config.jobs`` local
    processes (one: in this process).

    With ``checkpoint`` (a folder), every finished (subscale, repeat, fold, model) unit is
    written there, and a rerun on the same data and settings reuses them instead of refitting:
    an interrupted sweep resumes (not while a ``recorder`` is attached).

    Folds are shared by all subscales (stratified on the joint classes, grouped by participant).
    Unless ``refit_preprocessing``, a model family's unsupervised preprocessing (impute,
    scale, PCA) is fitted once on each training fold and shared by every fraction, protocol,
    criterion and model of that fold; the models themselves are fitted on the kept rows only.
    ``progress(done, total)`` is called as preprocessing and (subscale, repeat, fold, model)
    units finish. With ``subgroups`` (levels in the order of ``study.person_ids``), every
    fit's metrics are also computed within each level of its test part (no checkpoint is
    then kept: its units would lack them). With ``groups`` (the ``cv_groups`` code of each
    participant, in the order of ``study.person_ids``) folds split whole groups.
    """
    cfg = plan.config
    missing = [s for s in plan.subscales if s not in study.items]
    if study.instrument.id != plan.instrument.id or missing:
        raise ValueError("the study was not prepared for this plan's instrument and subscales")
    targets = _targets(study, plan)
    splits = _fold_splits(study, plan, targets, groups)
    contexts = _contexts(study, plan, targets, recorder)
    not_estimable = check_sweep_data(study, plan, splits, contexts)
    if subgroups is not None:
        contexts = {s: replace(c, subgroups=subgroups) for s, c in contexts.items()}
    keys = [
        UnitKey(s, r, k, m)
        for s in plan.subscales
        for r in range(cfg.repeats)
        for k in plan.fold_ids
        for m in plan.models
    ]
    store = None
    if checkpoint is not None and recorder is None and subgroups is None:
        store = Checkpoint(Path(checkpoint), fingerprint(cfg, study, groups), cfg.task)
    finished = store.load(keys) if store is not None else {}
    predicted: dict[UnitKey, pd.DataFrame] = {}
    if cfg.save_predictions and store is not None:
        predicted = store.load_predictions(list(finished))
        finished = {k: v for k, v in finished.items() if k in predicted}
    todo = [key for key in keys if key not in finished]
    pre_jobs = _preprocess_jobs(study, plan, splits, todo, recorder is not None)
    bar = _Progress(progress, len(finished), len(pre_jobs) + len(keys))
    cpu = {"preprocessing": 0.0, "models": 0.0}
    shared: dict[PreprocessKey, Preprocessed] = {}
    caught: list[str] = []
    rows = [row for key in keys if key in finished for row in finished[key]]
    level_rows: list[dict[str, Any]] = []
    n_tasks = len(pre_jobs) + len(todo)
    with open_executor(executor, jobs=cfg.jobs, n_tasks=n_tasks) as pool:
        # Large arrays travel once (to a cluster), apart from the many calls that use them.
        X = share(pool, study.X) if pre_jobs else None
        pre_calls = [(replace(job, X=None), X) for job in pre_jobs]
        for i, (out, seconds, texts) in map_unordered(pool, _timed_preprocessing, pre_calls):
            caught.extend(texts)
            shared[pre_jobs[i].key] = out
            cpu["preprocessing"] += seconds
            bar.step()
        units = [_work_unit(key, study, plan, contexts, splits, shared) for key in todo]
        handles: dict[int, Any] = {}
        for big in [*(u.context for u in units), *(u.inputs for u in units)]:
            if id(big) not in handles:
                handles[id(big)] = share(pool, big)
        calls = [
            (replace(u, context=None, inputs=None), handles[id(u.context)], handles[id(u.inputs)])
            for u in units
        ]
        for i, (result, seconds, texts) in map_unordered(pool, _timed_unit, calls):
            caught.extend(texts)
            key = units[i].key
            cpu["models"] += seconds
            cpu[f"model:{key.model}"] = cpu.get(f"model:{key.model}", 0.0) + seconds
            rows.extend(result.rows)
            level_rows.extend(result.subgroup_rows)
            if cfg.save_predictions:
                predicted[key] = _unit_predictions(key, result, study, contexts, cfg)
                if store is not None:
                    store.save_predictions(key, predicted[key])
            if store is not None:
                store.save(key, result.rows)
            if recorder is not None:
                recorder.records.extend(
                    r.resolve(key.subscale, study.person_ids) for r in result.records
                )
            bar.step()
    folds = _in_plan_order(
        pd.DataFrame(rows, columns=result_columns(cfg.task)), plan, ["train_size"]
    )
    predictions = None
    if cfg.save_predictions:
        parts = [predicted[key] for key in keys if key in predicted]
        predictions = _in_plan_order(
            pd.concat(parts, ignore_index=True)
            if parts
            else pd.DataFrame(columns=prediction_columns(cfg.id_column)),
            plan,
            ["train_size"],
        )
    by_level = None
    if subgroups is not None:
        by_level = _in_plan_order(
            pd.DataFrame(level_rows, columns=subgroup_columns(cfg.task)), plan, ["subgroup"]
        )
    return SweepResult(
        folds=folds,
        summary=summarize(folds),
        notes=[*study.notes, *([not_estimable] if not_estimable else [])],
        n_participants=study.n_people,
        n_rows=len(study.X),
        components=[shared[job.key].inputs.shape[1] for job in pre_jobs],
        cpu_seconds=cpu,
        provenance=_provenance(plan),
        warnings=caught,
        subgroups=by_level,
        subgroup_summary=summarize_subgroups(by_level) if by_level is not None else None,
        predictions=predictions,
    )


def _unit_predictions(
    key: UnitKey,
    result: Any,
    study: Study,
    contexts: dict[str, SubscaleContext],
    cfg: SweepConfig,
) -> pd.DataFrame:
    """One unit's predictions as a table, with each participant's cohort discrepancy."""
    from ..sdi import subscale_discrepancy

    ctx = contexts[key.subscale]
    return unit_predictions(
        key,
        cfg.task,
        result.predictions,
        person_ids=study.person_ids,
        row_person=study.row_person,
        y_rows=ctx.y_rows,
        discrepancy=subscale_discrepancy(study.items[key.subscale], study.raw[key.subscale]),
        score_group=study.raw[key.subscale],
        id_column=cfg.id_column,
    )


def _in_plan_order(folds: pd.DataFrame, plan: SweepPlan, then: Sequence[str] = ()) -> pd.DataFrame:
    """Rows sorted by subscale, model, protocol and criterion as the plan lists them, then
    fraction, repeat and fold."""
    cfg = plan.config
    ranks = {
        "_s": ("subscale", plan.subscales),
        "_m": ("model", plan.models),
        "_p": ("protocol", cfg.protocols),
        "_c": ("criterion", cfg.criteria),
    }
    ranked = folds.assign(
        **{
            tmp: folds[column].map({v: i for i, v in enumerate(order)})
            for tmp, (column, order) in ranks.items()
        }
    )
    return (
        ranked.sort_values([*ranks, "fraction", "repeat", "fold", *then], kind="stable")
        .drop(columns=list(ranks))
        .reset_index(drop=True)
    )
