"""Running a sweep: shared preprocessing and model units on an executor, resumable from a
checkpoint, gathered into a :class:`.result.SweepResult`."""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable, Sequence
from concurrent.futures import Executor
from contextlib import nullcontext
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..instruments import Instrument, load_instrument
from ..parallel import map_unordered, open_executor, share
from ..study import Study, prepare_study
from .checkpoint import Checkpoint, fingerprint, kept_until_saved
from .config import SweepConfig, SweepPlan
from .metrics import result_columns
from .plan import (
    fold_splits,
    preprocess_jobs,
    subscale_contexts,
    subscale_targets,
    unit_keys,
    work_unit,
)
from .preconditions import check_sweep_data
from .predictions import prediction_columns, unit_predictions
from .progress import Progress
from .recording import FitRecorder
from .result import SweepResult, in_plan_order, sweep_provenance
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

    With ``out`` (a table path), finished units are kept beside it until the results are saved
    there (:func:`.checkpoint.kept_until_saved`); ``scheduler`` runs on that Dask cluster.

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
    remote = executor is not None or scheduler is not None
    with kept_until_saved(out, checkpoint) as folder:
        with open_executor(executor, scheduler=scheduler) if remote else nullcontext() as pool:
            result = sweep_study(
                study,
                plan,
                recorder=recorder,
                progress=progress,
                checkpoint=folder,
                subgroups=levels,
                executor=pool,
                groups=groups,
            )
        tables = {"responses": (responses, responses_name), "features": (features, features_name)}
        result.provenance = sweep_provenance(plan, tables)
        if out is not None:
            result.save(out)
    return result


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
    targets = subscale_targets(study, plan)
    splits = fold_splits(study, plan, targets, groups)
    contexts = subscale_contexts(study, plan, targets, recorder)
    not_estimable = check_sweep_data(study, plan, splits, contexts)
    if subgroups is not None:
        contexts = {s: replace(c, subgroups=subgroups) for s, c in contexts.items()}
    keys = unit_keys(plan)
    store = None
    if checkpoint is not None and recorder is None and subgroups is None:
        store = Checkpoint(Path(checkpoint), fingerprint(cfg, study, groups), cfg.task)
    finished = store.load(keys) if store is not None else {}
    predicted: dict[UnitKey, pd.DataFrame] = {}
    if cfg.save_predictions and store is not None:
        predicted = store.load_predictions(list(finished))
        finished = {k: v for k, v in finished.items() if k in predicted}
    todo = [key for key in keys if key not in finished]
    pre_jobs = preprocess_jobs(study, plan, splits, todo, recorder is not None)
    bar = Progress(progress, len(finished), len(pre_jobs) + len(keys))
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
        units = [work_unit(key, study, plan, contexts, splits, shared) for key in todo]
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
    folds = in_plan_order(
        pd.DataFrame(rows, columns=result_columns(cfg.task)), plan, ["train_size"]
    )
    predictions = None
    if cfg.save_predictions:
        parts = [predicted[key] for key in keys if key in predicted]
        predictions = in_plan_order(
            pd.concat(parts, ignore_index=True)
            if parts
            else pd.DataFrame(columns=prediction_columns(cfg.id_column)),
            plan,
            ["train_size"],
        )
    by_level = None
    if subgroups is not None:
        by_level = in_plan_order(
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
        provenance=sweep_provenance(plan),
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
