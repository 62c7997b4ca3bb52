"""Where the errors are: out-of-fold errors by discrepancy quintile (paper claim 2).

From a sweep's predictions (``save_predictions``), fits without removal on the full training
folds: each test participant's error (classification: misclassified or not; regression: the
absolute error) is averaged within the quintiles of discrepancy, fold by fold, and the folds
give a 95% corrected resampled t-interval (:func:`.summary.corrected_t_interval`).

Two rankings (:data:`RANKINGS`):

- ``plain``: quintiles of discrepancy over all participants;
- ``matched``: discrepancy ranked within each score group (respondents with the same raw
  total), then cut into quintiles. Low discrepancy goes with extreme totals (everyone who
  answers all zeros has the same profile), which lie far from a cut-off and are easy cases;
  ranking within the score group compares respondents of the same score, so a contrast left
  there is the heterogeneity of their answers, not their severity.

:func:`discrepancy_contrast` is the error of the top minus the bottom quintile, paired fold
by fold. A group of one, or a group whose members all have the same discrepancy, sits in
the middle quintile of the matched ranking.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from .summary import CONFIDENCE, corrected_t_interval

RANKINGS: tuple[str, ...] = ("plain", "matched")
QUINTILES = 5


def _percentile(values: pd.Series) -> pd.Series:
    """Mid-rank percentile in (0, 1) (ties share their average rank)."""
    return (values.rank(method="average") - 0.5) / len(values)


def discrepancy_quintiles(people: pd.DataFrame) -> pd.DataFrame:
    """``plain`` and ``matched`` quintile (1-5) of every row of ``people`` (one per
    participant: ``discrepancy``, ``score_group``)."""
    plain = _percentile(people["discrepancy"])
    matched = people.groupby("score_group")["discrepancy"].transform(_percentile)
    cut = lambda p: np.clip(np.floor(p * QUINTILES).astype(int) + 1, 1, QUINTILES)  # noqa: E731
    return pd.DataFrame({"plain": cut(plain), "matched": cut(matched)}, index=people.index)


def _base_fits(predictions: pd.DataFrame) -> pd.DataFrame:
    """Predictions of the fits without removal on full training folds (one protocol and
    criterion: they list the same fits)."""
    p = predictions[predictions["fraction"] == 0.0]
    if "train_size" in p.columns:
        p = p[p["train_size"] == 1.0]
    if p.empty:
        return p
    first = p.iloc[0]
    return p[(p["protocol"] == first["protocol"]) & (p["criterion"] == first["criterion"])]


def fold_errors(predictions: pd.DataFrame, id_column: str = "participant_id") -> pd.DataFrame:
    """Mean error per subscale x model x ranking x repeat x fold x quintile, with the fold's
    test count in that quintile and its test-to-training ratio."""
    p = _base_fits(predictions)
    if p.empty:
        return pd.DataFrame()
    regression = str(p["task"].iloc[0]) == "regression"
    y, yhat = p["y_true"].to_numpy(dtype=float), p["y_pred"].to_numpy(dtype=float)
    p = p.assign(error=np.abs(yhat - y) if regression else (yhat != y).astype(float))
    parts = []
    for _, g in p.groupby("subscale", sort=False):
        people = g.drop_duplicates(id_column).set_index(id_column)[["discrepancy", "score_group"]]
        q = discrepancy_quintiles(people)
        n_people = g.groupby(["model", "repeat"])[id_column].transform("nunique")
        n_test = g.groupby(["model", "repeat", "fold"])[id_column].transform("size")
        g = g.assign(ratio=n_test / (n_people - n_test).clip(lower=1))
        for ranking in RANKINGS:
            keyed = g.assign(ranking=ranking, quintile=g[id_column].map(q[ranking]).to_numpy())
            parts.append(
                keyed.groupby(
                    ["subscale", "task", "model", "ranking", "repeat", "fold", "quintile"],
                    sort=False,
                )
                .agg(error=("error", "mean"), n=("error", "size"), ratio=("ratio", "first"))
                .reset_index()
            )
    return pd.concat(parts, ignore_index=True)


def errors_by_discrepancy(
    predictions: pd.DataFrame, confidence: float = CONFIDENCE, id_column: str = "participant_id"
) -> pd.DataFrame:
    """Per subscale x model x ranking x quintile: folds, mean test cases per fold, and the
    error's mean with its 95% interval over folds (``error_mean``, ``error_ci_low``,
    ``error_ci_high``; error rate, or mean absolute error for regression)."""
    folds = fold_errors(predictions, id_column)
    if folds.empty:
        return folds
    regression = str(folds["task"].iloc[0]) == "regression"
    bounds = (0.0, np.inf) if regression else (0.0, 1.0)
    out = []
    keys = ["subscale", "task", "model", "ranking", "quintile"]
    for key, g in folds.groupby(keys, sort=False):
        mean, lo, hi = corrected_t_interval(
            g["error"].to_numpy(), float(g["ratio"].mean()), confidence, bounds
        )
        row: dict[str, Any] = dict(zip(keys, key, strict=True))
        row.update(
            n_folds=len(g),
            n_test=float(g["n"].mean()),
            error_mean=mean,
            error_ci_low=lo,
            error_ci_high=hi,
        )
        out.append(row)
    table = pd.DataFrame(out)
    order = {sub: k for k, sub in enumerate(dict.fromkeys(folds["subscale"]))}
    return (  # subscales as swept, then model, ranking and quintile
        table.assign(_s=table["subscale"].map(order))
        .sort_values(["_s", "model", "ranking", "quintile"], kind="stable")
        .drop(columns="_s")
        .reset_index(drop=True)
    )


def discrepancy_contrast(
    predictions: pd.DataFrame, confidence: float = CONFIDENCE, id_column: str = "participant_id"
) -> pd.DataFrame:
    """Per subscale x model x ranking: the error of the most discrepant fifth minus that of
    the least discrepant fifth, paired fold by fold (``contrast_mean``, ``contrast_ci_low``,
    ``contrast_ci_high``); above 0: errors concentrate in the most discrepant respondents."""
    folds = fold_errors(predictions, id_column)
    if folds.empty:
        return folds
    regression = str(folds["task"].iloc[0]) == "regression"
    bounds = (-np.inf, np.inf) if regression else (-1.0, 1.0)
    out = []
    keys = ["subscale", "task", "model", "ranking"]
    for key, g in folds.groupby(keys, sort=False):
        wide = g.pivot_table(index=["repeat", "fold"], columns="quintile", values="error")
        diff = (wide.get(QUINTILES, np.nan) - wide.get(1, np.nan)).to_numpy(dtype=float)
        mean, lo, hi = corrected_t_interval(diff, float(g["ratio"].mean()), confidence, bounds)
        row: dict[str, Any] = dict(zip(keys, key, strict=True))
        row.update(
            n_folds=int(np.isfinite(diff).sum()),
            contrast_mean=mean,
            contrast_ci_low=lo,
            contrast_ci_high=hi,
        )
        out.append(row)
    return pd.DataFrame(out)
