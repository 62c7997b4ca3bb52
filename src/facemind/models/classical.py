"""Classical models on feature tables: scikit-learn pipelines fitted inside each training fold.

Every pipeline is ``SimpleImputer(median) -> StandardScaler -> PCA(99% variance) -> model``,
the paper's preprocessing, but fitted on the training fold only (the released scripts fitted
scaler and PCA on all data before cross-validation). Models:

- ``logreg``: logistic regression (classification only);
- ``ridge``: ridge regression (the linear model for the regression task);
- ``svm``: RBF support-vector classifier / regressor (the paper's SVM and SVR), libsvm on a
  kernel matrix computed with BLAS (:mod:`facemind.models.kernel`: the same model, 3-4x faster);
- ``rf``: random forest;
- ``gbt``: gradient-boosted trees, XGBoost (``hist`` trees). XGBoost rather than LightGBM
  because the paper's regression used it (results stay comparable), it is deterministic for a
  seed with one thread, its wheels bundle their own OpenMP runtime, and it is an optional extra
  (``pip install 'facemind[gbt]'``): without it ``gbt`` fails with a one-line message.

Each model uses one thread; the sweep parallelises over folds instead.
"""

from __future__ import annotations

from typing import Any

from sklearn.decomposition import PCA
from sklearn.ensemble import RandomForestClassifier, RandomForestRegressor
from sklearn.impute import SimpleImputer
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.validation import _num_samples

from ..errors import FacemindError
from . import CLASSIFICATION, ModelSpec, register_model

PCA_VARIANCE = 0.99


def pca_preprocessing(*, random_state: int = 0) -> Pipeline:
    """Impute (median), scale, PCA keeping 99% of the variance; pandas in and out."""
    pipe = Pipeline(
        [
            ("impute", SimpleImputer(strategy="median")),
            ("scale", StandardScaler()),
            ("pca", PCA(n_components=PCA_VARIANCE, svd_solver="full", random_state=random_state)),
        ]
    )
    return pipe.set_output(transform="pandas")


def _is_classification(task: str) -> bool:
    return task in CLASSIFICATION


def build_logreg(task: str, *, random_state: int = 0, n_jobs: int = 1) -> Any:
    from sklearn.linear_model import LogisticRegression

    # Newton steps with a Cholesky solve: the exact optimum in a handful of iterations on a
    # few hundred components, where lbfgs needs hundreds and stops short of it.
    return LogisticRegression(C=1.0, solver="newton-cholesky", max_iter=200)


def build_ridge(task: str, *, random_state: int = 0, n_jobs: int = 1) -> Any:
    from sklearn.linear_model import Ridge

    return Ridge(alpha=1.0)


def build_svm(task: str, *, random_state: int = 0, n_jobs: int = 1) -> Any:
    from .kernel import RBFSVC, RBFSVR

    return RBFSVC(C=1.0, gamma="scale") if _is_classification(task) else RBFSVR(C=1.0)


RF_TREES = 100
#: Fewest rows a tree's bootstrap sample should have (scikit-learn warns below 10).
RF_MIN_BOOTSTRAP = 10


class _HalfBootstrap:
    """Each tree on a bootstrap sample of ``max_samples`` (a fraction; 0.5 in ``rf``: twice as
    fast, no loss measured on the benchmark cohort) when that leaves :data:`RF_MIN_BOOTSTRAP`
    rows, else on a full-size one.

    The configured ``max_samples`` is left as given (scikit-learn's contract): a plain forest
    with the effective value is fitted and its fitted state adopted; the value used is the
    fitted attribute ``max_samples_``.
    """

    _forest: type

    def fit(self, X: Any, y: Any, sample_weight: Any = None) -> Any:
        params = self.get_params(deep=False)  # type: ignore[attr-defined]
        fraction = params["max_samples"]
        small = isinstance(fraction, float) and fraction * _num_samples(X) < RF_MIN_BOOTSTRAP
        effective = None if small else fraction
        forest = self._forest(**{**params, "max_samples": effective})
        forest.fit(X, y, sample_weight=sample_weight)
        fitted = {k: v for k, v in vars(forest).items() if k.startswith("_") or k.endswith("_")}
        vars(self).update(fitted)
        self.max_samples_ = effective
        return self


class HalfBootstrapForestClassifier(_HalfBootstrap, RandomForestClassifier):
    """Random forest classifier on half-size bootstrap samples (see :class:`_HalfBootstrap`).

    Attributes
    ----------
    max_samples_ : float or None
        The bootstrap fraction the fit used (None: full-size samples).

    See Also
    --------
    HalfBootstrapForestRegressor : the same forest for regression.
    sklearn.ensemble.RandomForestClassifier : the forest it configures.
    """

    _forest = RandomForestClassifier


class HalfBootstrapForestRegressor(_HalfBootstrap, RandomForestRegressor):
    """Random forest regressor on half-size bootstrap samples (see :class:`_HalfBootstrap`).

    Attributes
    ----------
    max_samples_ : float or None
        The bootstrap fraction the fit used (None: full-size samples).

    See Also
    --------
    HalfBootstrapForestClassifier : the same forest for classification.
    sklearn.ensemble.RandomForestRegressor : the forest it configures.
    """

    _forest = RandomForestRegressor


def build_rf(task: str, *, random_state: int = 0, n_jobs: int = 1) -> Any:
    cls = (
        HalfBootstrapForestClassifier if _is_classification(task) else HalfBootstrapForestRegressor
    )
    return cls(
        n_estimators=RF_TREES,
        max_features="sqrt",
        min_samples_leaf=2,
        max_samples=0.5,
        random_state=random_state,
        n_jobs=n_jobs,
    )


def _xgboost() -> Any:
    try:
        import xgboost
    except ImportError:
        raise FacemindError(
            "model 'gbt' needs XGBoost, which is not installed: pip install 'facemind[gbt]'"
        ) from None
    return xgboost


def build_gbt(task: str, *, random_state: int = 0, n_jobs: int = 1) -> Any:
    xgb = _xgboost()
    common = dict(
        n_estimators=200,
        max_depth=4,
        learning_rate=0.1,
        subsample=0.8,
        colsample_bytree=0.5,
        max_bin=64,
        tree_method="hist",
        random_state=random_state,
        n_jobs=n_jobs,
        verbosity=0,
    )
    if _is_classification(task):
        model: Any = xgb.XGBClassifier(**common)
    else:
        model = xgb.XGBRegressor(**common)
    return model


_TREE_GRID = {"min_samples_leaf": [1, 5], "max_depth": [None, 12]}

register_model(
    ModelSpec(
        "logreg",
        build_logreg,
        tasks=CLASSIFICATION,
        param_grid={"classification": {"C": [0.01, 0.1, 1.0, 10.0]}},
        preprocessing=pca_preprocessing,
        description="logistic regression on PCA components",
    )
)
register_model(
    ModelSpec(
        "ridge",
        build_ridge,
        tasks=("regression",),
        param_grid={"regression": {"alpha": [0.1, 1.0, 10.0, 100.0]}},
        preprocessing=pca_preprocessing,
        description="ridge regression on PCA components",
    )
)
register_model(
    ModelSpec(
        "svm",
        build_svm,
        param_grid={
            "classification": {"C": [0.1, 1.0, 10.0], "gamma": ["scale", 0.01]},
            "regression": {"C": [0.1, 1.0, 10.0], "gamma": ["scale", 0.01]},
        },
        preprocessing=pca_preprocessing,
        description="RBF support-vector machine (SVC / SVR)",
    )
)
register_model(
    ModelSpec(
        "rf",
        build_rf,
        param_grid={"classification": _TREE_GRID, "regression": _TREE_GRID},
        preprocessing=pca_preprocessing,
        description=f"random forest ({RF_TREES} trees)",
    )
)
register_model(
    ModelSpec(
        "gbt",
        build_gbt,
        param_grid={
            "classification": {"max_depth": [3, 6], "learning_rate": [0.05, 0.1]},
            "regression": {"max_depth": [3, 6], "learning_rate": [0.05, 0.1]},
        },
        preprocessing=pca_preprocessing,
        requires="gbt",
        description="gradient-boosted trees (XGBoost, hist)",
    )
)
