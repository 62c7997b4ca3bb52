"""How the report names models, protocols, criteria and metrics: one table, used everywhere."""

from __future__ import annotations

#: Registry name -> the name users know (README, papers).
MODEL_NAMES: dict[str, str] = {
    "logreg": "Logistic regression",
    "ridge": "Ridge regression",
    "svm": "SVM (RBF)",
    "rf": "Random forest",
    "gbt": "XGBoost",
    "sequence": "Sequence model (frame tables)",
    "frames-cnn": "LI-FPN-like CNN (face frames)",
    "clip-cnn": "MSN-like 3D CNN (face clips)",
}
PROTOCOL_NAMES: dict[str, str] = {
    "paper": "paper protocol (test folds filtered too)",
    "train-only": "train-only protocol (tested on everyone)",
}
CRITERION_NAMES: dict[str, str] = {
    "sdi": "SDI",
    "random": "random",
    "mahalanobis": "Mahalanobis distance",
    "irv": "IRV",
    "longstring": "longstring",
    "guttman": "Guttman errors",
}
METRIC_NAMES: dict[str, str] = {
    "f1": "F1",
    "precision": "precision",
    "recall": "recall",
    "accuracy": "accuracy",
    "balanced_accuracy": "balanced accuracy",
    "roc_auc": "ROC AUC",
    "mae": "MAE",
    "rmse": "RMSE",
    "pearson_r": "Pearson r",
}


def model_name(name: str) -> str:
    """The display name of a registered model (the registry name when it has none)."""
    return MODEL_NAMES.get(name, name)


def protocol_name(name: str, short: bool = False) -> str:
    """``paper`` -> ``paper protocol (test folds filtered too)``; ``short`` keeps the id."""
    return name if short else PROTOCOL_NAMES.get(name, name)


def criterion_name(name: str) -> str:
    """``sdi`` -> ``SDI``."""
    return CRITERION_NAMES.get(name, name)


def metric_name(name: str) -> str:
    """``f1`` -> ``F1``."""
    return METRIC_NAMES.get(name, name)
