"""Checks, before any fit, that every training set of a sweep can be fitted and scored.

A sweep on too little data must end in one line naming what is too small and what to change,
never in a library's traceback from inside a worker.
"""

from __future__ import annotations

import numpy as np

from ..errors import FacemindError
from ..study import Study, fit_data_problem
from .config import SweepPlan
from .recording import FitSetting
from .units import SubscaleContext, UnitKey, WorkUnit, _kept_rows, _subsamples

Splits = dict[int, list[tuple[np.ndarray, np.ndarray]]]


def _advice(kind: str, plan: SweepPlan, fraction: float) -> str:
    """What to change, most specific first."""
    cfg = plan.config
    if kind == "no_test":
        return "use smaller `fractions` or the train-only protocol"
    options = [f"fewer `folds` (now {cfg.folds})"] if cfg.folds > 2 else []
    if kind == "inner":
        options.append("leave out `grid_search`")
    else:
        if fraction > 0 and kind == "one_class":
            options.append("smaller `fractions`")
        if cfg.task == "binary" and kind == "one_class":
            options.append("another `positive_band`")
        options.append("more participants")
    if len(options) == 1:
        return f"use {options[0]}"
    return f"use {', '.join(options[:-1])} or {options[-1]}"


def check_sweep_data(
    study: Study, plan: SweepPlan, splits: Splits, contexts: dict[str, SubscaleContext]
) -> str | None:
    """Raise :class:`FacemindError` (one line) unless every fit of the plan has at least two
    classes (a varying target for regression) after removal and balancing and enough
    participants per class for the inner grid search.

    A setting whose removal leaves no test participant (paper protocol) cannot be scored: it
    is recorded with empty metrics, and the returned note says so once (``None`` when every
    setting has a test set).
    """
    cfg = plan.config
    fractions = plan.fractions
    settings = [("train-only", "none", 0.0)] if 0.0 in fractions else []
    settings += [(p, c, f) for f in fractions if f > 0 for p in cfg.protocols for c in cfg.criteria]
    empty: list[str] = []
    for s in plan.subscales:
        ctx = contexts[s]
        for r in range(cfg.repeats):
            for k in plan.fold_ids:
                train_rows, test_rows = splits[r][k]
                unit = WorkUnit(
                    context=ctx,
                    key=UnitKey(s, r, k, plan.models[0]),
                    train_rows=train_rows,
                    test_rows=test_rows,
                    inputs=study.X,
                    preprocessed=False,
                    pre_steps=(),
                )
                train_people = np.unique(ctx.row_person[train_rows])
                subsample = _subsamples(unit, train_people) if 0.0 in fractions else {}
                sized = [(*settings[0], size) for size in subsample]
                for protocol, criterion, fraction, *size in [*sized, *settings]:
                    at = FitSetting(plan.models[0], protocol, criterion, fraction, r, k)
                    tr, te = (
                        _kept_rows(unit, at, train_people, [])
                        if fraction > 0
                        else (train_rows, test_rows)
                    )
                    where = f"subscale {s!r}, fold {k + 1} of {cfg.folds}"
                    if cfg.repeats > 1:
                        where += f" (repeat {r + 1})"
                    if fraction > 0:
                        where += f", {protocol} removal of {fraction:g} by {criterion}"
                    if size:
                        tr = subsample[size[0]]
                        where += f", training share {size[0]:g} (`train_sizes`)"
                    if len(te) == 0:
                        empty.append(where)
                        continue
                    problem = fit_data_problem(
                        ctx.y_rows[tr],
                        ctx.row_person[tr],
                        task=cfg.task,
                        grid_search=cfg.grid_search,
                        inner_folds=cfg.inner_folds,
                    )
                    if problem is not None:
                        what, kind = problem
                        raise FacemindError(
                            f"{where}: the training set has {what}; {_advice(kind, plan, fraction)}"
                        )
    if not empty:
        return None
    more = f" and {len(empty) - 1} more" if len(empty) > 1 else ""
    return (
        f"{len(empty)} fold setting(s) not estimable, recorded with empty metrics: no test "
        f"participant left ({empty[0]}{more}); {_advice('no_test', plan, 1)}"
    )
