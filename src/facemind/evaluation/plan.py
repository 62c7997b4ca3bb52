"""What a sweep plan becomes on a study: each subscale's targets, the folds shared by every
subscale, each subscale's context (its data and the ``paper`` protocol's removals), the units
of work and the shared preprocessing jobs they need."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from .. import labels
from ..errors import FacemindError
from ..models import get_model
from ..study import Study
from .config import SweepPlan, stable_seed
from .criteria import removal_keep
from .recording import FitRecord, FitRecorder
from .units import (
    Preprocessed,
    PreprocessJob,
    PreprocessKey,
    SubscaleContext,
    UnitKey,
    WorkUnit,
)


def joint_strata(targets: list[np.ndarray], task: str) -> np.ndarray:
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


def grouped_splits(
    strata: np.ndarray, row_person: np.ndarray, folds: int, seed: int
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Stratified k-fold grouped by participant (one participant's rows stay together), or by
    whatever ``row_person`` holds (the ``cv_groups`` of each row's participant)."""
    from sklearn.model_selection import StratifiedGroupKFold

    _, counts = np.unique(strata, return_counts=True)
    if np.all(counts < folds):  # too few rows to stratify (a tiny regression cohort): group only
        strata = np.zeros_like(strata)
    cv = StratifiedGroupKFold(n_splits=folds, shuffle=True, random_state=seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # rare joint strata: best effort
        return list(cv.split(np.zeros(len(strata)), strata, groups=row_person))


def subscale_targets(study: Study, plan: SweepPlan) -> dict[str, np.ndarray]:
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


def fold_splits(
    study: Study,
    plan: SweepPlan,
    targets: dict[str, np.ndarray],
    groups: np.ndarray | None = None,
) -> dict[int, list[tuple[np.ndarray, np.ndarray]]]:
    """(train rows, test rows) of every fold of every repeat, shared by all subscales; with
    ``groups`` (a code per participant) no group is on both sides of a split."""
    cfg = plan.config
    strata = joint_strata([targets[s][study.row_person] for s in plan.subscales], cfg.task)
    by = study.row_person if groups is None else groups[study.row_person]
    splits = {
        r: grouped_splits(strata, by, cfg.folds, stable_seed(cfg.seed, "split", r))
        for r in range(cfg.repeats)
    }
    for r, folds in splits.items():
        if any(len(test) == 0 for _, test in folds):
            raise FacemindError(
                f"`cv_groups` {cfg.cv_groups!r}: a test fold of repeat {r + 1} is empty (one "
                "group holds most participants); lower `folds`"
            )
    return splits


def subscale_contexts(
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


def unit_keys(plan: SweepPlan) -> list[UnitKey]:
    """Every (subscale, repeat, fold, model) unit of the plan, in plan order."""
    cfg = plan.config
    return [
        UnitKey(s, r, k, m)
        for s in plan.subscales
        for r in range(cfg.repeats)
        for k in plan.fold_ids
        for m in plan.models
    ]


def preprocessing_family(plan: SweepPlan, model: str) -> Any:
    """The shared preprocessing family of ``model`` (None: the model fits its own)."""
    return None if plan.config.refit_preprocessing else get_model(model).preprocessing


def preprocess_jobs(
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
        fam = preprocessing_family(plan, m)
        if fam is not None and fam not in families:
            families[fam] = m
    needed = {PreprocessKey(u.repeat, u.fold, preprocessing_family(plan, u.model)) for u in todo}
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


def work_unit(
    key: UnitKey,
    study: Study,
    plan: SweepPlan,
    contexts: dict[str, SubscaleContext],
    splits: dict[int, list[tuple[np.ndarray, np.ndarray]]],
    shared: dict[PreprocessKey, Preprocessed],
) -> WorkUnit:
    """The unit of ``key`` on its fold, with its family's shared preprocessing (from
    ``shared``) or, for a model that fits its own, the raw features."""
    train_rows, test_rows = splits[key.repeat][key.fold]
    fam = preprocessing_family(plan, key.model)
    common = dict(
        context=contexts[key.subscale], key=key, train_rows=train_rows, test_rows=test_rows
    )
    if fam is None:
        return WorkUnit(**common, inputs=study.X, preprocessed=False, pre_steps=())
    pre = shared[PreprocessKey(key.repeat, key.fold, fam)]
    return WorkUnit(**common, inputs=pre.inputs, preprocessed=True, pre_steps=pre.steps)
