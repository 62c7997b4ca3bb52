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
from sklearn.base import BaseEstimator, ClassifierMixin, TransformerMixin, clone, is_classifier
from sklearn.pipeline import Pipeline
from sklearn.utils import _safe_indexing, get_tags
from sklearn.utils.class_weight import compute_sample_weight
from sklearn.utils.metaestimators import available_if
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import (
    _check_sample_weight,
    check_is_fitted,
    column_or_1d,
    validate_data,
)

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

    Attributes
    ----------
    n_features_in_ : int
        Columns seen in ``fit``.

    See Also
    --------
    FitLog : where the row indices are recorded (``log``).
    """

    def __init__(self, tag: str = "", log: FitLog | None = None) -> None:
        self.tag = tag
        self.log = log

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        tags.input_tags.sparse = True
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags

    def _check(self, X: Any, reset: bool) -> Any:
        return validate_data(
            self, X, reset=reset, accept_sparse=True, ensure_all_finite=False, dtype="numeric"
        )

    def fit(self, X: Any, y: Any = None) -> FitProbe:
        """Record the rows of ``X`` (its index, or positions) in the log; check ``X``."""
        checked = self._check(X, reset=True)
        if self.log is not None:
            ids = X.index.to_numpy() if isinstance(X, pd.DataFrame) else np.arange(checked.shape[0])
            self.log.add(self.tag, ids)
        return self

    def transform(self, X: Any) -> Any:
        """``X`` itself (a table keeps its index and columns), after the usual checks."""
        check_is_fitted(self)
        checked = self._check(X, reset=False)
        return X if isinstance(X, pd.DataFrame) else checked

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


def _inner_has(method: str, fitted: str) -> Any:
    """For ``available_if``: the fitted inner estimator (else the unfitted one) has ``method``."""

    def check(self: Any) -> bool:
        inner = getattr(self, fitted, None)
        return hasattr(self.estimator if inner is None else inner, method)

    return check


def _check_wrapper_input(est: BaseEstimator, X: Any, y: Any) -> tuple[Any, np.ndarray]:
    """(``X``, ``y``) after scikit-learn's checks, for a wrapper; sets ``n_features_in_``.

    A table is passed on as is (its index holds the participant codes); anything else as the
    checked array (sparse as CSR / CSC, so rows can be taken). What the inner estimator accepts
    (NaN, sparse) is left to it.
    """
    checked, y = validate_data(
        est, X, y, accept_sparse=("csr", "csc"), ensure_all_finite=False, dtype=None
    )
    if is_classifier(est):
        check_classification_targets(y)
    return (X if isinstance(X, pd.DataFrame) else checked), column_or_1d(y)


def _inner_tags(tags: Any, inner: BaseEstimator) -> Any:
    sub = get_tags(inner)
    tags.input_tags.sparse = sub.input_tags.sparse
    tags.input_tags.allow_nan = sub.input_tags.allow_nan
    return tags


class GroupedSearch(BaseEstimator):
    """Inner grid search over a training fold, with folds grouped by the participant index.

    ``param_grid`` keys address the wrapped estimator (e.g. ``clf__C``). Classification folds
    are stratified; regression folds are grouped only. Refits the best setting on the whole
    training fold it was given.

    Attributes
    ----------
    search_ : sklearn.model_selection.GridSearchCV
        The fitted search (``cv_results_`` holds every setting's inner scores).
    best_estimator_ : estimator
        ``estimator`` with the best setting, refitted on every row given to ``fit``.
    best_params_ : dict
        The best setting.
    classes_ : ndarray
        Class labels (classification only).
    n_features_in_ : int
        Columns seen in ``fit``.

    See Also
    --------
    sklearn.model_selection.GridSearchCV : the search it runs.
    sklearn.model_selection.StratifiedGroupKFold : its inner folds for classification.
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

        X, y = _check_wrapper_input(self, X, y)
        if sample_weight is not None:
            sample_weight = _check_sample_weight(sample_weight, X)
        groups = X.index.to_numpy() if isinstance(X, pd.DataFrame) else np.arange(len(y))
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

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        sub = get_tags(self.estimator)
        tags.estimator_type = sub.estimator_type
        tags.classifier_tags = sub.classifier_tags
        tags.regressor_tags = sub.regressor_tags
        return _inner_tags(tags, self.estimator)

    def predict(self, X: Any) -> np.ndarray:
        """The refitted best estimator's predictions."""
        check_is_fitted(self, "best_estimator_")
        return self.best_estimator_.predict(X)

    @available_if(_inner_has("predict_proba", "best_estimator_"))
    def predict_proba(self, X: Any) -> np.ndarray:
        """The refitted best estimator's class probabilities."""
        check_is_fitted(self, "best_estimator_")
        return self.best_estimator_.predict_proba(X)

    @available_if(_inner_has("decision_function", "best_estimator_"))
    def decision_function(self, X: Any) -> np.ndarray:
        """The refitted best estimator's decision function."""
        check_is_fitted(self, "best_estimator_")
        return self.best_estimator_.decision_function(X)

    @available_if(_inner_has("score", "best_estimator_"))
    def score(self, X: Any, y: Any, sample_weight: np.ndarray | None = None) -> float:
        """The refitted best estimator's own score (accuracy, R^2, ...)."""
        check_is_fitted(self, "best_estimator_")
        return self.best_estimator_.score(X, y, sample_weight=sample_weight)


class Balanced(ClassifierMixin, BaseEstimator):
    """Class balance inside the training fold, for any classifier.

    ``downsample`` (the paper): fit on a random subset of every class the size of the smallest
    class (seeded); ``weights``: fit on every row with ``balanced`` sample weights (inverse
    class frequency); ``none``: fit as is.

    Attributes
    ----------
    estimator_ : estimator
        The fitted clone of ``estimator``.
    classes_ : ndarray
        Class labels.
    n_fit_ : int
        Rows the clone was fitted on.
    n_features_in_ : int
        Columns seen in ``fit``.

    See Also
    --------
    sklearn.utils.class_weight.compute_sample_weight : the ``balanced`` weights.
    """

    def __init__(
        self, estimator: BaseEstimator, method: str = "downsample", random_state: int = 0
    ) -> None:
        self.estimator = estimator
        self.method = method
        self.random_state = random_state

    def __sklearn_tags__(self) -> Any:
        return _inner_tags(super().__sklearn_tags__(), self.estimator)

    def fit(self, X: Any, y: Any) -> Balanced:
        """Fit a clone of ``estimator`` on the balanced rows of ``X``."""
        if self.method not in BALANCE_METHODS:
            raise ValueError(
                f"unknown balance method {self.method!r}; choose one of {', '.join(BALANCE_METHODS)}"
            )
        X, y = _check_wrapper_input(self, X, y)
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
        _fit_weighted(est, _safe_indexing(X, rows), y[rows], weight)
        self.estimator_ = est
        self.classes_ = np.unique(y)
        self.n_fit_ = len(rows)
        return self

    def predict(self, X: Any) -> np.ndarray:
        """The fitted estimator's predictions."""
        check_is_fitted(self, "estimator_")
        return self.estimator_.predict(X)

    @available_if(_inner_has("predict_proba", "estimator_"))
    def predict_proba(self, X: Any) -> np.ndarray:
        """The fitted estimator's class probabilities."""
        check_is_fitted(self, "estimator_")
        return self.estimator_.predict_proba(X)

    @available_if(_inner_has("decision_function", "estimator_"))
    def decision_function(self, X: Any) -> np.ndarray:
        """The fitted estimator's decision function."""
        check_is_fitted(self, "estimator_")
        return self.estimator_.decision_function(X)
