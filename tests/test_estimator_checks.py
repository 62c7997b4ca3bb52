"""Every estimator facemind defines honours scikit-learn's contract (``check_estimator``).

The estimators are found by walking the package: every ``BaseEstimator`` subclass defined in
facemind is checked, with default parameters unless :data:`CONFIGURED` gives the instances to
check (wrappers need an inner model; deep models a tiny network), or it is a base class listed
in :data:`BASES` with the reason it cannot be fitted itself. A new estimator is checked
without editing this file.

The deep models read their inputs from an extraction directory: ``X`` holds row numbers into
it, not feature values. The checks that fit on random feature tables cannot apply to them and
are listed below with that reason; every other check (parameters, cloning, tags, unfitted use,
1-D, empty, NaN, negative and sparse input) runs. ``xfail_strict`` makes a listed check that
starts passing fail the suite, so the list stays minimal.
"""

from __future__ import annotations

import importlib
import pkgutil

from sklearn.base import BaseEstimator
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.utils.estimator_checks import parametrize_with_checks

import facemind
from facemind.models.classical import HalfBootstrapForestClassifier, HalfBootstrapForestRegressor
from facemind.models.deep import ClipCNN, DeepModel, FramesCNN, SequenceModel
from facemind.models.kernel import RBFSVC, RBFSVR
from facemind.models.wrappers import Balanced, GroupedSearch


def facemind_estimators() -> dict[str, type]:
    """Every ``BaseEstimator`` subclass defined in a facemind module, by qualified name."""
    found = {}
    for info in pkgutil.walk_packages(facemind.__path__, "facemind."):
        if info.name.endswith("__main__"):
            continue
        for obj in vars(importlib.import_module(info.name)).values():
            if (
                isinstance(obj, type)
                and issubclass(obj, BaseEstimator)
                and obj.__module__.startswith("facemind.")
            ):
                found[f"{obj.__module__}.{obj.__qualname__}"] = obj
    return found


TINY = dict(epochs=1, batch_size=4, device="cpu")
#: Instances to check for estimators that need constructor arguments (or several settings).
CONFIGURED = {
    Balanced: [Balanced(LogisticRegression()), Balanced(LogisticRegression(), method="weights")],
    GroupedSearch: [
        GroupedSearch(LogisticRegression(), {"C": [0.1, 1.0]}, scoring="f1_macro"),
        GroupedSearch(
            Ridge(), {"alpha": [1.0, 10.0]}, scoring="neg_mean_absolute_error", classification=False
        ),
    ],
    SequenceModel: [
        SequenceModel("binary", width=4, levels=1, window=8, **TINY),
        SequenceModel("regression", width=4, levels=1, window=8, **TINY),
    ],
    FramesCNN: [FramesCNN("binary", k=2, size=16, widths=(8, 8), **TINY)],
    ClipCNN: [
        ClipCNN("binary", k=2, size=16, width=4, depth=1, **TINY),
        ClipCNN("regression", k=2, size=16, width=4, depth=1, **TINY),
    ],
    HalfBootstrapForestClassifier: [HalfBootstrapForestClassifier(n_estimators=5, max_samples=0.5)],
    HalfBootstrapForestRegressor: [HalfBootstrapForestRegressor(n_estimators=5, max_samples=0.5)],
}
#: Base classes: shared machinery, fitted only through their subclasses (checked above).
BASES = {
    "facemind.models.training.DeepModel": "no network of its own: SequenceModel, FramesCNN and "
    "ClipCNN define it",
    "facemind.models.deep._CropModel": "the face-crop input of FramesCNN and ClipCNN, no network",
    "facemind.models.kernel._GramSVM": "the kernel machinery of RBFSVC and RBFSVR, no task",
}
DISCOVERED = facemind_estimators()
ESTIMATORS = [
    estimator
    for name, cls in sorted(DISCOVERED.items())
    if name not in BASES
    for estimator in (CONFIGURED[cls] if cls in CONFIGURED else [cls()])
]


def test_every_estimator_facemind_defines_is_checked():
    checked = {type(e) for e in ESTIMATORS}
    assert set(DISCOVERED) - set(BASES) == {f"{c.__module__}.{c.__qualname__}" for c in checked}
    assert set(BASES) <= set(DISCOVERED)  # a listed base that no longer exists goes too
    assert {RBFSVC, RBFSVR, HalfBootstrapForestClassifier, DeepModel} <= set(DISCOVERED.values())


ROW_KEYS = (
    "X holds row numbers into an extraction directory (the frames parameter), one column of "
    "whole numbers; the check fits on a random feature table, which is not such input"
)
ROW_KEY_CHECKS = (
    "check_array_api_input",
    "check_dict_unchanged",
    "check_dont_overwrite_parameters",
    "check_dtype_object",
    "check_estimators_dtypes",
    "check_estimators_fit_returns_self",
    "check_estimators_nan_inf",
    "check_estimators_overwrite_params",
    "check_estimators_pickle",
    "check_f_contiguous_array_estimator",
    "check_fit2d_1feature",
    "check_fit2d_1sample",
    "check_fit2d_predict1d",
    "check_fit_check_is_fitted",
    "check_fit_idempotent",
    "check_fit_score_takes_y",
    "check_methods_sample_order_invariance",
    "check_methods_subset_invariance",
    "check_n_features_in",
    "check_n_features_in_after_fitting",
    "check_pipeline_consistency",
    "check_readonly_memmap_input",
    "check_supervised_y_2d",
)
CLASSIFIER_ROW_KEY_CHECKS = (
    "check_classifier_data_not_an_array",
    "check_classifiers_classes",
    "check_classifiers_one_label",
    "check_classifiers_train",
)
REGRESSOR_ROW_KEY_CHECKS = (
    "check_regressor_data_not_an_array",
    "check_regressors_int",
    "check_regressors_no_decision_function",
    "check_regressors_train",
)
SAMPLE_WEIGHT_REPEATS = "check_sample_weight_equivalence_on_dense_data"


def expected_failed_checks(estimator) -> dict[str, str]:
    if isinstance(estimator, DeepModel):
        extra = (
            CLASSIFIER_ROW_KEY_CHECKS
            if estimator.task != "regression"
            else REGRESSOR_ROW_KEY_CHECKS
        )
        return dict.fromkeys(ROW_KEY_CHECKS + extra, ROW_KEYS)
    if isinstance(estimator, RBFSVC | RBFSVR):
        # The same as scikit-learn's own SVC and SVR (their expected failure, same reason).
        return {
            SAMPLE_WEIGHT_REPEATS: "libsvm scales C per sample: a weight of 2 is not a repeated "
            "row (scikit-learn's SVC and SVR fail this check too)"
        }
    if isinstance(estimator, HalfBootstrapForestClassifier | HalfBootstrapForestRegressor):
        # The same as scikit-learn's own random forests (their expected failure, same reason).
        reason = (
            "bootstrap samples draw rows, so a weight of 2 is not a repeated row (scikit-learn's "
            "RandomForestClassifier and RandomForestRegressor fail this check too)"
        )
        return {
            SAMPLE_WEIGHT_REPEATS: reason,
            SAMPLE_WEIGHT_REPEATS.replace("dense", "sparse"): reason,
        }
    if isinstance(estimator, GroupedSearch):
        reason = (
            "the inner folds split rows: a repeated row can fall into two folds where a weighted "
            "row falls into one, so the grid choice (and a fold's all-zero weights) differ"
        )
        return {
            SAMPLE_WEIGHT_REPEATS: reason,
            SAMPLE_WEIGHT_REPEATS.replace("dense", "sparse"): reason,
        }
    return {}


@parametrize_with_checks(
    ESTIMATORS, expected_failed_checks=expected_failed_checks, xfail_strict=True
)
def test_scikit_learn_contract(estimator, check, monkeypatch):
    # The array-API check with NumPy inputs (results unchanged with dispatch on) only runs
    # when SciPy's array-API switch is named in the environment.
    monkeypatch.setenv("SCIPY_ARRAY_API", "1")
    name = getattr(check, "func", check).__name__
    if name == "check_classifiers_multilabel_output_format_decision_function":
        # scikit-learn skips this check for classifiers without decision_function (forests).
        if not hasattr(estimator, "decision_function"):
            return
    check(estimator)


def test_half_bootstrap_resolves_its_sample_size_without_changing_its_parameters():
    import numpy as np
    from sklearn.base import clone

    rng = np.random.default_rng(0)
    forest = HalfBootstrapForestRegressor(n_estimators=3, max_samples=0.5, random_state=0)
    for n, used, drawn in ((40, 0.5, 20), (15, None, 15)):  # half of 15 is under 10 rows
        forest.fit(rng.normal(size=(n, 3)), rng.normal(size=n))
        assert forest.get_params()["max_samples"] == 0.5 == clone(forest).max_samples
        assert forest.max_samples_ == used and forest._n_samples_bootstrap == drawn


def _section(doc: str, title: str) -> str:
    """The text of a numpydoc section (empty when absent)."""
    lines = doc.splitlines()
    for i, line in enumerate(lines[:-1]):
        if line.strip() == title and set(lines[i + 1].strip()) == {"-"}:
            rest = lines[i + 2 :]
            end = next(
                (j for j in range(len(rest) - 1) if set(rest[j + 1].strip()) == {"-"}), len(rest)
            )
            return "\n".join(rest[:end])
    return ""


def test_every_estimator_documents_its_fitted_attributes_and_relatives():
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(0)
    X = pd.DataFrame(rng.normal(size=(40, 3)), index=np.repeat(np.arange(20), 2))
    y = (X[0] > 0).astype(int).to_numpy()
    for estimator in ESTIMATORS:
        doc = type(estimator).__doc__ or ""
        attributes = _section(doc, "Attributes")
        assert attributes and _section(doc, "See Also"), type(estimator).__name__
        if isinstance(estimator, DeepModel):  # fits on an extraction folder: test_deep.py
            continue
        regression = getattr(estimator, "_estimator_type", "") == "regressor" or (
            isinstance(estimator, GroupedSearch) and not estimator.classification
        )
        fitted = estimator.fit(X, X[1].to_numpy() if regression else y)
        public = sorted(k for k in vars(fitted) if k.endswith("_") and not k.startswith("_"))
        # attributes of a scikit-learn model it extends are documented there
        inherited = " ".join(
            _section(c.__doc__ or "", "Attributes")
            for c in type(estimator).__mro__
            if c.__module__.startswith("sklearn.")
        )
        for name in public:
            assert name in attributes or name in inherited, (type(estimator).__name__, name)
