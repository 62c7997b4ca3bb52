"""Model registry: names (``logreg``, ``svm``, ``rf``, ``gbt``, ...) -> estimator builders.

``sweep --models`` and ``train --model`` look names up here. A model family registers a
:class:`ModelSpec` whose ``build(task, random_state=..., n_jobs=...)`` returns an unfitted
scikit-learn-compatible estimator (``fit(X, y)``, ``predict``, and ``predict_proba`` or
``decision_function`` for classifiers). ``X`` is a DataFrame whose index holds participant
codes, so an estimator can keep a participant's rows together. A family may name a shared,
unsupervised ``preprocessing`` (the classical models: impute, scale, PCA): the full estimator
is then ``preprocessing -> model``, and a sweep may fit the preprocessing once per training
fold and reuse it for every model. Deep models plug in the same way, without preprocessing::

    register_model(ModelSpec("sequence", build_sequence, tasks=ALL_TASKS, requires="deep",
                             input="frames", description="..."))

:func:`make_estimator` adds what every family shares: optional inner grid search
(``param_grid``) and, for classification, class balance inside the training fold.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..errors import FacemindError
from .wrappers import BALANCE_METHODS, Balanced, FitLog, FitProbe, GroupedSearch, probe_pipeline

#: Classification task names (see :data:`facemind.labels.TASKS`).
CLASSIFICATION: tuple[str, ...] = ("binary", "bands", "3class")
ALL_TASKS: tuple[str, ...] = CLASSIFICATION + ("regression",)


@dataclass(frozen=True)
class ModelSpec:
    """A registered model family.

    ``build(task, *, random_state, n_jobs)`` returns an unfitted estimator for ``task``;
    ``preprocessing(random_state=...)``, when given, returns the unsupervised pipeline that
    goes in front of it (fitted on the training fold too); ``param_grid`` (keys addressing the
    built estimator, e.g. ``C``) is used by the optional inner grid search, per task kind
    (``"classification"`` / ``"regression"``); ``requires`` names the optional extra the
    builder needs, ``input`` what ``X`` holds (``features``: one numeric row per video or
    participant; the sweep runs ``features`` models only).
    """

    name: str
    build: Callable[..., Any]
    tasks: tuple[str, ...] = ALL_TASKS
    param_grid: Mapping[str, Mapping[str, Sequence[Any]]] = field(default_factory=dict)
    preprocessing: Callable[..., Any] | None = None
    requires: str | None = None
    input: str = "features"
    description: str = ""


_REGISTRY: dict[str, ModelSpec] = {}


def register_model(spec: ModelSpec, *, replace: bool = False) -> ModelSpec:
    """Add a model family to the registry (``replace=True`` to override a name)."""
    if spec.name in _REGISTRY and not replace:
        raise FacemindError(f"model {spec.name!r} is already registered")
    _REGISTRY[spec.name] = spec
    return spec


def available_models() -> list[str]:
    """Registered model names, in registration order."""
    return list(_REGISTRY)


#: Other names people give the registered models (looked up case-insensitively).
MODEL_ALIASES: dict[str, str] = {
    "xgboost": "gbt",
    "xgb": "gbt",
    "logistic": "logreg",
    "logistic_regression": "logreg",
    "random_forest": "rf",
    "randomforest": "rf",
    "svc": "svm",
}


def canonical_model(name: str) -> str:
    """The registered name of a model given in any letter case or by an alias (``XGBoost`` ->
    ``gbt``); an unknown name is returned as given, for :func:`get_model` to refuse."""
    key = str(name).strip().lower().replace("-", "_")
    for registered in _REGISTRY:
        if registered.lower().replace("-", "_") == key:
            return registered
    return MODEL_ALIASES.get(key, str(name))


def get_model(name: str) -> ModelSpec:
    """The :class:`ModelSpec` registered as ``name`` (any case, or an alias of
    :data:`MODEL_ALIASES`), or a one-line error listing the names."""
    try:
        return _REGISTRY[canonical_model(name)]
    except KeyError:
        raise FacemindError(
            f"unknown model {name!r}; choose from {', '.join(available_models())}"
        ) from None


def check_model(name: str, task: str) -> ModelSpec:
    """Check that ``name`` exists, supports ``task`` and has its dependencies installed."""
    spec = get_model(name)
    if task not in spec.tasks:
        raise FacemindError(
            f"model {name!r} does not support the {task} task (it supports {', '.join(spec.tasks)})"
        )
    spec.build(task, random_state=0, n_jobs=1)  # raises a clear error if an extra is missing
    return spec


def make_estimator(
    name: str,
    task: str,
    *,
    random_state: int = 0,
    balance: str = "downsample",
    grid_search: bool = False,
    inner_folds: int = 3,
    n_jobs: int = 1,
    log: FitLog | None = None,
    preprocessing: bool = True,
    inputs: Mapping[str, Any] | None = None,
) -> Any:
    """Unfitted estimator for model ``name`` on ``task``, ready for one training fold.

    Layers, inside out: the family's preprocessing (unless ``preprocessing=False``, for use on
    already preprocessed inputs) and model, with a :class:`FitProbe` before each step when
    ``log`` is given; an inner :class:`GroupedSearch` when ``grid_search`` and the family has a
    grid; and :class:`Balanced` for classification (``balance`` in ``BALANCE_METHODS``).
    ``inputs`` (e.g. ``{"frames": DIR}``) go to the builder of a family whose ``input`` is
    not ``features`` (the deep models load their data from there).
    """
    from sklearn.pipeline import Pipeline

    spec = check_model(name, task)
    classification = task in CLASSIFICATION
    extra = dict(inputs or {}) if spec.input != "features" else {}
    est = spec.build(task, random_state=random_state, n_jobs=n_jobs, **extra)
    prefix = ""
    if preprocessing and spec.preprocessing is not None:
        steps = spec.preprocessing(random_state=random_state).steps + [("clf", est)]
        est = Pipeline(steps).set_output(transform="pandas")
        prefix = "clf__"
    if log is not None:
        est = probe_pipeline(est, log, prefix=f"{name}:", single_name="clf")
    if log is not None and not prefix:
        prefix = "model__"
    grid = spec.param_grid.get("classification" if classification else "regression")
    if grid_search and grid:
        if classification:
            scoring = "f1" if task == "binary" else "f1_macro"
        else:
            scoring = "neg_mean_absolute_error"
        est = GroupedSearch(
            est,
            {f"{prefix}{k}": v for k, v in grid.items()},
            scoring=scoring,
            folds=inner_folds,
            classification=classification,
            random_state=random_state,
        )
    if classification:
        if balance not in BALANCE_METHODS:
            raise FacemindError(
                f"unknown balance {balance!r}; choose one of {', '.join(BALANCE_METHODS)}"
            )
        est = Balanced(est, method=balance, random_state=random_state)
    return est


def make_preprocessing(name: str, *, random_state: int = 0, log: FitLog | None = None) -> Any:
    """Unfitted shared preprocessing of model ``name`` (None when it has none)."""
    spec = get_model(name)
    if spec.preprocessing is None:
        return None
    pre = spec.preprocessing(random_state=random_state)
    if log is not None:
        pre = probe_pipeline(pre, log, prefix="preprocess:")
    return pre


__all__ = [
    "ALL_TASKS",
    "BALANCE_METHODS",
    "CLASSIFICATION",
    "Balanced",
    "FitLog",
    "FitProbe",
    "GroupedSearch",
    "ModelSpec",
    "available_models",
    "check_model",
    "get_model",
    "make_estimator",
    "make_preprocessing",
    "register_model",
]

# Registers logreg, ridge, svm, rf, gbt; then sequence, frames-cnn and clip-cnn (PyTorch imported
# lazily).
from . import classical, deep  # noqa: E402,F401
