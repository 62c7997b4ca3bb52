"""Estimator wrappers shared by every model family: class balance, inner grid search, fit probes.

All follow the scikit-learn estimator API, so they compose with any registered model. Inputs
are DataFrames whose index holds participant codes: the balance and the inner search use it to
keep a participant's rows together, and :class:`FitProbe` records it to prove what a fit saw.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin, TransformerMixin, clone
from sklearn.pipeline import Pipeline
from sklearn.utils.class_weight import compute_sample_weight

from ..errors import FacemindError

BALANCE_METHODS: tuple[str, ...] = ("downsample", "weights", "none")


class FitLog:
    """Collects ``(tag, ids)`` records from :class:`FitProbe` steps; survives ``clone``.

    ``clone`` deep-copies non-estimator parameters; returning ``self`` from ``__deepcopy__``
    keeps every clone (inner grid-search fits included) writing into the same log.
    """

    def __init__(self) -> None:
        self.records: list[tuple[str, np.ndarray]] = []

    def add(self, tag: str, ids: Any) -> None:
        self.records.append((tag, np.asarray(ids).copy()))

    def __deepcopy__(self, memo: dict) -> FitLog:
        return self

    def __copy__(self) -> FitLog:
        return self


class FitProbe(TransformerMixin, BaseEstimator):
    """Pass-through step that records the row index of every ``fit`` it receives.

    Put in front of a pipeline step, it sees exactly the rows that step is fitted on.
    """

    def __init__(self, tag: str = "", log: FitLog | None = None) -> None:
        self.tag = tag
        self.log = log

    def fit(self, X: Any, y: Any = None) -> FitProbe:
        if self.log is not None:
            ids = X.index.to_numpy() if isinstance(X, pd.DataFrame) else np.arange(len(X))
            self.log.add(self.tag, ids)
        self.n_features_in_ = np.shape(X)[1]
        if isinstance(X, pd.DataFrame):
            self.feature_names_in_ = np.asarray(X.columns, dtype=object)
        return self

    def transform(self, X: Any) -> Any:
        return X

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        if input_features is not None:
            return np.asarray(input_features, dtype=object)
        names = getattr(self, "feature_names_in_", None)
        if names is None:
            names = [f"x{i}" for i in range(self.n_features_in_)]
        return np.asarray(names, dtype=object)


def probe_pipeline(
    estimator: BaseEstimator, log: FitLog, prefix: str = "", single_name: str = "model"
) -> BaseEstimator:
    """Copy of ``estimator`` with a :class:`FitProbe` before every pipeline step.

    Step names are unchanged, so parameter grids still apply. A non-pipeline estimator becomes
    the step ``model`` of a pipeline with one probe, tagged ``single_name``, in front of it.
    """
    est = clone(estimator)
    if isinstance(est, Pipeline):
        steps: list[tuple[str, Any]] = []
        for name, step in est.steps:
            steps.append((f"probe_{name}", FitProbe(f"{prefix}{name}", log)))
            steps.append((name, step))
        return Pipeline(steps).set_output(transform="pandas")
    return Pipeline([("probe_model", FitProbe(f"{prefix}{single_name}", log)), ("model", est)])


def final_step_name(estimator: BaseEstimator) -> str | None:
    """Name of the last step of a pipeline (where sample weights go), else None."""
    return estimator.steps[-1][0] if isinstance(estimator, Pipeline) else None


def _fit_weighted(estimator: BaseEstimator, X: Any, y: Any, weight: np.ndarray | None) -> None:
    if weight is None:
        estimator.fit(X, y)
        return
    if isinstance(estimator, GroupedSearch):
        estimator.fit(X, y, sample_weight=weight)
        return
    last = final_step_name(estimator)
    if last is None:
        estimator.fit(X, y, sample_weight=weight)
    else:
        estimator.fit(X, y, **{f"{last}__sample_weight": weight})


class GroupedSearch(BaseEstimator):
    """Inner grid search over a training fold, with folds grouped by the participant index.

    ``param_grid`` keys address the wrapped estimator (e.g. ``clf__C``). Classification folds
    are stratified; regression folds are grouped only. Refits the best setting on the whole
    training fold it was given.
    """

    def __init__(
        self,
        estimator: BaseEstimator,
        param_grid: Mapping[str, Sequence[Any]],
        *,
        scoring: str = "f1",
        folds: int = 3,
        classification: bool = True,
        random_state: int = 0,
    ) -> None:
        self.estimator = estimator
        self.param_grid = param_grid
        self.scoring = scoring
        self.folds = folds
        self.classification = classification
        self.random_state = random_state

    def fit(
        self, X: pd.DataFrame, y: Any, sample_weight: np.ndarray | None = None
    ) -> GroupedSearch:
        from sklearn.model_selection import GridSearchCV, GroupKFold, StratifiedGroupKFold

        groups = X.index.to_numpy() if isinstance(X, pd.DataFrame) else np.arange(len(X))
        if self.classification:
            cv: Any = StratifiedGroupKFold(self.folds, shuffle=True, random_state=self.random_state)
        else:
            cv = GroupKFold(self.folds)
        search = GridSearchCV(
            clone(self.estimator),
            {k: list(v) for k, v in self.param_grid.items()},
            scoring=self.scoring,
            cv=cv,
            n_jobs=1,
            refit=True,
            error_score="raise",
        )
        params: dict[str, Any] = {}
        last = final_step_name(self.estimator)
        if sample_weight is not None:
            params[f"{last}__sample_weight" if last else "sample_weight"] = sample_weight
        search.fit(X, y, groups=groups, **params)
        self.search_ = search
        self.best_estimator_ = search.best_estimator_
        self.best_params_ = search.best_params_
        if hasattr(self.best_estimator_, "classes_"):
            self.classes_ = self.best_estimator_.classes_
        return self

    def predict(self, X: Any) -> np.ndarray:
        return self.best_estimator_.predict(X)

    def __getattr__(self, name: str) -> Any:
        # predict_proba / decision_function exactly when the best estimator has them.
        if name in ("predict_proba", "decision_function") and "best_estimator_" in self.__dict__:
            return getattr(self.best_estimator_, name)
        raise AttributeError(name)


class Balanced(ClassifierMixin, BaseEstimator):
    """Class balance inside the training fold, for any classifier.

    ``downsample`` (the paper): fit on a random subset of every class the size of the smallest
    class (seeded); ``weights``: fit on every row with ``balanced`` sample weights (inverse
    class frequency); ``none``: fit as is. ``n_fit_`` is the number of rows fitted.
    """

    def __init__(
        self, estimator: BaseEstimator, method: str = "downsample", random_state: int = 0
    ) -> None:
        self.estimator = estimator
        self.method = method
        self.random_state = random_state

    def fit(self, X: Any, y: Any) -> Balanced:
        if self.method not in BALANCE_METHODS:
            raise FacemindError(
                f"unknown balance method {self.method!r}; choose one of {', '.join(BALANCE_METHODS)}"
            )
        y = np.asarray(y)
        est = clone(self.estimator)
        weight = None
        rows = np.arange(len(y))
        if self.method == "downsample":
            rng = np.random.default_rng(self.random_state)
            classes, counts = np.unique(y, return_counts=True)
            smallest = counts.min()
            keep = [
                np.sort(rng.choice(np.flatnonzero(y == c), size=smallest, replace=False))
                for c in classes
            ]
            rows = np.sort(np.concatenate(keep))
        elif self.method == "weights":
            weight = compute_sample_weight("balanced", y)
        Xs = X.iloc[rows] if isinstance(X, pd.DataFrame) else np.asarray(X)[rows]
        _fit_weighted(est, Xs, y[rows], weight)
        self.estimator_ = est
        self.classes_ = np.unique(y)
        self.n_fit_ = len(rows)
        return self

    def predict(self, X: Any) -> np.ndarray:
        return self.estimator_.predict(X)

    def __getattr__(self, name: str) -> Any:
        if name in ("predict_proba", "decision_function") and "estimator_" in self.__dict__:
            return getattr(self.estimator_, name)
        raise AttributeError(name)
