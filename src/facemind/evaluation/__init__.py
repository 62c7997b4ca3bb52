"""The SDI experiment done honestly: protocols, removal criteria, cross-validated sweeps, metrics.

:func:`run_sweep` crosses subscales x models x protocols x removal criteria x fractions over
repeated stratified k-fold cross-validation grouped by participant, and returns one row per
fold (:func:`result_columns`) plus a summary with 95% intervals (:func:`summarize`).

Protocols
- ``paper``: the removal criterion is computed on the whole cohort and the flagged respondents
  are removed before cross-validation, so test folds are filtered too (the released analysis).
  Folds are the cohort's folds restricted to the kept participants, which is removal before
  splitting with the fold assignment held fixed, so fractions are compared on paired folds.
- ``train-only``: the criterion is computed on the training fold only (its standardization,
  covariance or item popularities included), the training fold is filtered, and the model is
  tested on every participant of the test fold.

Criteria (``--criteria``): ``sdi`` (the respondent's discrepancy), ``random`` (the same number
removed at random) and the screening indices of :mod:`facemind.screening` (``mahalanobis``,
``irv``, ``longstring``, ``guttman``). Every criterion removes respondents **within raw
total-score groups** with :func:`facemind.sdi.keep_within_groups` (each group loses
``round(fraction x n)``, keeping at least one), ties broken at random; scores and tie-breaks do
not depend on the fraction, so removals are nested. At a given fraction every criterion removes
exactly the same number of people from each group, and differs only in whom.

At fraction 0 nothing is removed and both protocols are the same model on the same folds: it is
fitted once per fold and its rows are repeated under every protocol and criterion.

Nothing from a test fold enters a fit. The unsupervised preprocessing (imputer, scaler, PCA)
is fitted on the training fold, once per fold and shared by every filter and model unless
``refit_preprocessing``; each model is fitted on the kept, class-balanced training rows only.
Classification folds also carry the Brier score and expected calibration error with the
reliability counts behind it (:mod:`.metrics`); ``subgroups=`` adds metrics within levels of
response columns such as gender and age (:mod:`.subgroups`); :func:`permutation_importance`
measures which facial channels the model uses on held-out folds (:mod:`.importance`).

Heterogeneity or capacity (the paper's second claim): ``save_predictions`` keeps every fit's
out-of-fold predictions (:mod:`.predictions`), whose errors :func:`errors_by_discrepancy`
and :func:`discrepancy_contrast` split by discrepancy quintile, plain and within score
groups (:mod:`.heterogeneity`); ``train_sizes`` refits every training fold on nested
stratified subsamples for :func:`learning_curve`, :func:`data_gain` and, across models ordered
by capacity, :func:`capacity_gain` (:mod:`.learning`); ``cv_groups`` splits folds by site.

A :class:`FitRecorder` passed to
:func:`run_sweep` receives the participant ids seen by every fitted step and every criterion
computation, with the test ids of each fold, so this can be checked.
"""

from __future__ import annotations

from ..study import ID_LIKE_COLUMNS, Study, prepare_study
from .config import (
    CRITERIA,
    DEFAULT_CRITERIA,
    DEFAULT_FRACTIONS,
    DEFAULT_MODELS,
    DEFAULT_REGRESSION_MODELS,
    PROTOCOLS,
    SWEEP_TASKS,
    SweepConfig,
    SweepPlan,
    plan_size,
)
from .criteria import criterion_scores, removal_keep
from .execution import run_sweep, sweep_study
from .heterogeneity import discrepancy_contrast, errors_by_discrepancy
from .importance import ImportanceResult, permutation_importance
from .learning import CAPACITY_ORDER, capacity_gain, data_gain, learning_curve
from .metrics import (
    CALIBRATION_COLUMN,
    CLASSIFICATION_METRICS,
    CONFUSION_COLUMN,
    EXTRA_COLUMNS,
    KEY_COLUMNS,
    REGRESSION_METRICS,
    calibration_metrics,
    classification_metrics,
    confusion_json,
    metric_names,
    regression_metrics,
    result_columns,
)
from .predictions import prediction_columns
from .recording import FitRecord, FitRecorder
from .result import SweepResult, predictions_path, subgroup_path, summary_path
from .subgroups import Subgroups, subgroup_levels, summarize_subgroups
from .summary import CONFIDENCE, GROUP_COLUMNS, corrected_t_interval, summarize

__all__ = [
    "CAPACITY_ORDER",
    "CALIBRATION_COLUMN",
    "CLASSIFICATION_METRICS",
    "CONFIDENCE",
    "CONFUSION_COLUMN",
    "CRITERIA",
    "DEFAULT_CRITERIA",
    "DEFAULT_FRACTIONS",
    "DEFAULT_MODELS",
    "DEFAULT_REGRESSION_MODELS",
    "EXTRA_COLUMNS",
    "GROUP_COLUMNS",
    "ID_LIKE_COLUMNS",
    "KEY_COLUMNS",
    "PROTOCOLS",
    "REGRESSION_METRICS",
    "SWEEP_TASKS",
    "FitRecord",
    "FitRecorder",
    "ImportanceResult",
    "Study",
    "Subgroups",
    "SweepConfig",
    "SweepPlan",
    "SweepResult",
    "calibration_metrics",
    "capacity_gain",
    "classification_metrics",
    "confusion_json",
    "corrected_t_interval",
    "criterion_scores",
    "data_gain",
    "discrepancy_contrast",
    "errors_by_discrepancy",
    "learning_curve",
    "metric_names",
    "permutation_importance",
    "plan_size",
    "prediction_columns",
    "predictions_path",
    "prepare_study",
    "regression_metrics",
    "removal_keep",
    "result_columns",
    "run_sweep",
    "subgroup_levels",
    "subgroup_path",
    "summarize",
    "summarize_subgroups",
    "summary_path",
    "sweep_study",
]
