"""Heterogeneity or capacity (paper claim 2): out-of-fold predictions, errors by discrepancy
quintile, learning curves, and folds grouped by site.

Cohorts are SYNTHETIC (:func:`facemind.synth.make_responses` with features made here from the
true latent states, as in tests/test_evaluation.py), so the truth is known: faces carry the
true state, and planted discrepant respondents' answers (hence labels) do not match it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from scipy import stats
from sklearn import metrics as skm

from facemind import evaluation as ev
from facemind.errors import InputError, ParameterError
from facemind.evaluation.heterogeneity import (
    discrepancy_contrast,
    discrepancy_quintiles,
    errors_by_discrepancy,
)
from facemind.evaluation.learning import nested_subsamples
from facemind.evaluation.predictions import KEYS, prediction_columns
from test_evaluation import INST, cohort, small

# ---------------------------------------------------------------------------- predictions


def _recomputed(g: pd.DataFrame, task: str) -> dict[str, float]:
    """The fold's metrics from its predictions alone, with scikit-learn and numpy."""
    y, p, s = g["y_true"].to_numpy(), g["y_pred"].to_numpy(), g["y_score"].to_numpy()
    if task == "regression":
        err = p - y
        return {
            "mae": np.mean(np.abs(err)),
            "rmse": np.sqrt(np.mean(err**2)),
            "pearson_r": np.corrcoef(y, p)[0, 1],
        }
    out = {
        "f1": skm.f1_score(y, p),
        "precision": skm.precision_score(y, p, zero_division=0),
        "recall": skm.recall_score(y, p),
        "accuracy": skm.accuracy_score(y, p),
        "balanced_accuracy": skm.balanced_accuracy_score(y, p),
        "roc_auc": skm.roc_auc_score(y, s),
    }
    if np.all((s >= 0) & (s <= 1)):
        out["brier"] = np.mean((s - y) ** 2)
    return out


@pytest.mark.parametrize(
    "task, models", [("binary", ["logreg", "svm"]), ("regression", ["ridge", "rf"])]
)
def test_predictions_recompute_every_fold_metric(task, models):
    features, resp = cohort(n=240, seed=3)
    cfg = small(
        task=task,
        models=models,
        fractions=[0.0, 0.2],
        criteria=["sdi", "random"],
        save_predictions=True,
        train_sizes=[0.5],
    )
    res = ev.run_sweep(features, resp, INST, cfg)
    pred = res.predictions
    assert list(pred.columns) == prediction_columns()
    keys = [k for k in KEYS]
    joined = 0
    for key, g in pred.groupby(keys, sort=False):
        row = res.folds.set_index(keys).loc[key]
        assert row["n_test"] == len(g)
        for metric, value in _recomputed(g, task).items():
            assert abs(row[metric] - value) < 1e-9, (key, metric, row[metric], value)
        joined += 1
    assert joined == len(res.folds)  # every fold row has its predictions, and no more
    # Every test participant of a fit appears once; discrepancy is the cohort's, in [0, 1].
    assert not pred.duplicated(["participant_id", *keys]).any()
    assert pred["discrepancy"].between(0, 1).all()
    per_person = pred.groupby("participant_id")["discrepancy"].nunique()
    assert (per_person == 1).all()


def test_default_sweep_keeps_no_predictions():
    features, resp = cohort(n=150, seed=5)
    res = ev.run_sweep(features, resp, INST, small(fractions=[0.0]))
    assert res.predictions is None
    assert (res.folds["train_size"] == 1.0).all()


def test_a_resumed_sweep_gives_the_same_predictions(tmp_path):
    features, resp = cohort(n=200, seed=6)
    cfg = small(models=["logreg", "svm"], fractions=[0.0, 0.2], save_predictions=True)
    full = ev.run_sweep(features, resp, INST, cfg)

    class Stop(Exception):
        pass

    def stop_after_two_units(done, total):
        if done == 3 + 2:  # 3 shared preprocessing fits, then 2 of the 6 model units
            raise Stop

    with pytest.raises(Stop):
        ev.run_sweep(features, resp, INST, cfg, checkpoint=tmp_path, progress=stop_after_two_units)
    assert len(list(tmp_path.glob("p-*.parquet"))) == 2
    calls = []
    resumed = ev.run_sweep(
        features, resp, INST, cfg, checkpoint=tmp_path, progress=lambda d, t: calls.append(d)
    )
    assert calls[0] == 2
    pd.testing.assert_frame_equal(resumed.predictions, full.predictions)
    pd.testing.assert_frame_equal(resumed.folds, full.folds)


def test_predictions_do_not_depend_on_where_work_ran():
    features, resp = cohort(n=200, seed=7)
    cfg = dict(models=["logreg", "gbt"], save_predictions=True, train_sizes=[0.5])
    a = ev.run_sweep(features, resp, INST, small(**cfg, jobs=1))
    b = ev.run_sweep(features, resp, INST, small(**cfg, jobs=2))
    pd.testing.assert_frame_equal(a.predictions, b.predictions)
    pd.testing.assert_frame_equal(a.folds, b.folds)


# ---------------------------------------------------------------------------- learning curves


@given(
    strata=st.lists(st.integers(0, 3), min_size=1, max_size=120),
    sizes=st.lists(st.floats(0.01, 1.0), min_size=1, max_size=4, unique=True),
    seed=st.integers(0, 2**16),
)
def test_subsamples_are_nested_stratified_and_seeded(strata, sizes, seed):
    strata = np.asarray(strata)
    people = np.arange(100, 100 + len(strata)) * 3
    drawn = nested_subsamples(people, strata, sizes, seed)
    assert drawn.keys() == {float(s) for s in sizes}
    ordered = sorted(drawn)
    for small_size, large_size in zip(ordered, ordered[1:], strict=False):
        assert set(drawn[small_size]) <= set(drawn[large_size])
    for size, chosen in drawn.items():
        assert set(chosen) <= set(people)
        for c in np.unique(strata):
            n_c = int((strata == c).sum())
            got = np.isin(chosen, people[strata == c]).sum()
            assert got == max(1, round(size * n_c))
    again = nested_subsamples(people, strata, sizes, seed)
    assert all(np.array_equal(again[s], drawn[s]) for s in drawn)


def test_learning_curve_rises_on_a_pure_signal():
    # No discrepant respondents; a weak signal spread over many noisy channels, so that a
    # tenth of the training fold is not enough to learn it.
    features, resp = cohort(n=600, seed=11, share=0.0, n_features=40, noise=3.0)
    cfg = small(
        models=["logreg"],
        fractions=[0.0],
        criteria=["sdi"],
        protocols=["train-only"],
        folds=5,
        train_sizes=[0.1, 0.25, 0.5, 1],
    )
    res = ev.run_sweep(features, resp, INST, cfg)
    assert sorted(res.folds["train_size"].unique()) == [0.1, 0.25, 0.5, 1.0]
    curve = ev.learning_curve(res.folds).set_index("train_size")
    assert curve["n_train"].is_monotonic_increasing
    auc = curve["roc_auc_mean"]
    assert auc[1.0] > auc[0.1] + 0.05, auc
    assert auc[0.5] > auc[0.1], auc
    # The test folds are the same at every size.
    n_test = res.folds.groupby("fold")["n_test"].nunique()
    assert (n_test == 1).all()
    gain = ev.data_gain(res.folds, "roc_auc")
    assert gain["from_size"].iloc[0] == 0.5 and gain["to_size"].iloc[0] == 1.0
    assert gain["per_doubling_mean"].iloc[0] > 0


def test_train_sizes_are_checked_and_counted():
    with pytest.raises(ParameterError, match="`train_sizes` must be shares"):
        small(train_sizes=[0.0, 0.5]).validate(INST)
    with pytest.raises(ParameterError, match="add 0 to `fractions`"):
        small(train_sizes=[0.5], fractions=[0.1]).validate(INST)
    plan = small(train_sizes=[0.5, 0.25], fractions=[0.0, 0.3]).validate(INST)
    assert plan.train_sizes == (0.25, 0.5, 1.0)
    # Per fold: 3 sizes at fraction 0, then 2 protocols x 1 criterion at 0.3.
    assert plan.n_fits == 3 * (3 + 2)


# ---------------------------------------------------------------------------- grouped folds


@given(
    groups=st.lists(st.integers(0, 11), min_size=10, max_size=150),
    classes=st.lists(st.integers(0, 2), min_size=150, max_size=150),
    folds=st.integers(2, 5),
    seed=st.integers(0, 2**16),
)
def test_grouped_folds_never_split_a_group(groups, classes, folds, seed):
    from facemind.evaluation.plan import grouped_splits

    groups = np.asarray(groups)
    strata = np.asarray(classes[: len(groups)])
    assume(len(np.unique(groups)) >= folds)  # fewer groups are refused before splitting
    splits = grouped_splits(strata, groups, folds, seed)
    tested = np.concatenate([test for _, test in splits])
    assert sorted(tested) == list(range(len(groups)))  # every row tested exactly once
    for train, test in splits:
        assert not set(groups[train]) & set(groups[test])
        assert len(np.intersect1d(train, test)) == 0


def test_sweep_grouped_by_school_keeps_each_school_on_one_side():
    features, resp = cohort(n=300, seed=8)
    assert resp["school"].nunique() == 6
    cfg = small(cv_groups="school", save_predictions=True, fractions=[0.0, 0.2], repeats=2)
    res = ev.run_sweep(features, resp, INST, cfg, subgroups=["school"])
    school = resp.set_index("participant_id")["school"]
    pred = res.predictions.assign(school=lambda d: d["participant_id"].map(school))
    tested = pred[pred["fraction"] == 0.0].groupby(["repeat", "school"])["fold"].nunique()
    assert (tested == 1).all()  # each school is tested in one fold only, in every repeat
    assert res.provenance["settings"]["cv_groups"] == "school"
    assert set(res.subgroups["level"]) == set(school)
    ungrouped = ev.run_sweep(features, resp, INST, small(save_predictions=True, fractions=[0.0]))
    spread = ungrouped.predictions.groupby(ungrouped.predictions["participant_id"].map(school))[
        "fold"
    ].nunique()
    assert (spread > 1).all()  # without grouping, schools straddle the folds


def test_cv_groups_errors_are_one_line():
    features, resp = cohort(n=150, seed=9)
    with pytest.raises(
        ParameterError, match="`cv_groups` column 'gender' has 2 groups.*fewer than `folds` 3"
    ):
        ev.run_sweep(features, resp, INST, small(cv_groups="gender"))
    with pytest.raises(InputError, match="column .site.: no such column for `cv_groups`"):
        ev.run_sweep(features, resp, INST, small(cv_groups="site"))
    holes = resp.assign(school=resp["school"].where(resp.index != 4))
    with pytest.raises(InputError, match="row 5.*school"):
        ev.run_sweep(features, holes, INST, small(cv_groups="school"))


def test_sweep_cli_writes_predictions_learning_rows_and_groups(tmp_path, capsys):
    from facemind.cli import main

    features, resp = cohort(n=200, seed=10)
    features.to_parquet(tmp_path / "f.parquet")
    resp.to_csv(tmp_path / "r.csv", index=False)
    out = tmp_path / "res.csv"
    args = [
        "sweep",
        "--features",
        tmp_path / "f.parquet",
        "--responses",
        tmp_path / "r.csv",
        "--instrument",
        "dass21",
        "-o",
        out,
        "--models",
        "logreg",
        "--folds",
        "3",
        "--subscales",
        "depression",
        "--fractions",
        "0,0.2",
        "--criteria",
        "sdi",
        "--save-predictions",
        "--train-sizes",
        "0.5,1",
        "--cv-groups",
        "school",
    ]
    assert main([str(a) for a in args]) == 0
    stdout = capsys.readouterr().out
    pred = pd.read_csv(tmp_path / "res_predictions.csv", dtype={"participant_id": "string"})
    assert "out-of-fold predictions in" in stdout and "res_predictions.csv" in stdout
    folds = pd.read_csv(out)
    assert sorted(folds["train_size"].unique()) == [0.5, 1.0]
    assert len(pred) == folds["n_test"].sum()
    from facemind.provenance import read_provenance

    assert read_provenance(tmp_path / "res_predictions.csv")["settings"]["cv_groups"] == "school"
    assert main([str(a) for a in [*args[:-1], "gender"]]) == 2
    err = capsys.readouterr().err
    assert "--cv-groups column 'gender' has 2 groups" in err and err.count("\n") == 1
    assert main([str(a) for a in [*args[:-4], "--train-sizes", "0,1"]]) == 2
    assert "--train-sizes must be shares in (0, 1]" in capsys.readouterr().err


# ---------------------------------------------------------------------------- where the errors are


def test_quintiles_plain_and_matched_by_hand():
    people = pd.DataFrame(
        {
            "discrepancy": [0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.3, 0.3],
            "score_group": [1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 7, 8],
        }
    )
    q = discrepancy_quintiles(people)
    # Plain: quintile floor(5 (rank - 0.5) / 12) + 1; the three 0.3s share ranks 4-6 (5).
    assert q["plain"].tolist() == [1, 1, 2, 2, 3, 4, 4, 4, 5, 5, 2, 2]
    # Matched: within each group of five, one per quintile; groups of one sit in the middle.
    assert q["matched"].tolist() == [1, 2, 3, 4, 5, 1, 2, 3, 4, 5, 3, 3]


def test_fold_errors_and_contrast_by_hand():
    # Two folds of ten; in each, the two most discrepant are wrong, the rest right; the
    # least discrepant pair is right in fold 0 and half wrong in fold 1.
    rows = []
    for fold in (0, 1):
        for i in range(10):
            wrong = i >= 8 or (fold == 1 and i == 0)
            rows.append(
                {
                    "participant_id": f"p{fold}{i}",
                    "subscale": "stress",
                    "task": "binary",
                    "model": "logreg",
                    "protocol": "paper",
                    "criterion": "sdi",
                    "fraction": 0.0,
                    "repeat": 0,
                    "fold": fold,
                    "train_size": 1.0,
                    "y_true": 1,
                    "y_pred": 0 if wrong else 1,
                    "y_score": 0.5,
                    "discrepancy": i / 10 + fold / 100,
                    "score_group": 3,
                }
            )
    pred = pd.DataFrame(rows)
    errors = errors_by_discrepancy(pred)
    plain = errors[errors["ranking"] == "plain"].set_index("quintile")
    assert plain.loc[5, "error_mean"] == 1.0 and plain.loc[5, "n_test"] == 2
    assert plain.loc[1, "error_mean"] == pytest.approx(0.25)  # 0 and 0.5
    contrast = discrepancy_contrast(pred).set_index("ranking")
    assert contrast.loc["plain", "contrast_mean"] == pytest.approx(0.75)  # (1 + 0.5) / 2
    # Interval by hand: differences 1.0 and 0.5, ratio n_test / n_train = 10 / 10.
    sd = np.std([1.0, 0.5], ddof=1)
    half = stats.t.ppf(0.975, 1) * np.sqrt((1 / 2 + 1.0) * sd**2)
    assert contrast.loc["plain", "contrast_ci_low"] == pytest.approx(max(-1.0, 0.75 - half))
    assert contrast.loc["plain", "contrast_ci_high"] == pytest.approx(min(1.0, 0.75 + half))
    # Fits with removal and learning-curve fits are not counted.
    extra = pred.assign(fraction=0.2, y_pred=1)
    smaller = pred.assign(train_size=0.5, y_pred=1)
    again = errors_by_discrepancy(pd.concat([pred, extra, smaller], ignore_index=True))
    pd.testing.assert_frame_equal(again, errors)


def test_errors_concentrate_where_labels_are_noise_to_the_face():
    # A quarter answer from a state unrelated to their face (their labels are noise to the
    # features), with atypical profiles: errors pile up in the most discrepant fifth, also
    # among respondents with the same score.
    cfg = small(
        models=["logreg"], fractions=[0.0], protocols=["train-only"], folds=5, save_predictions=True
    )
    features, resp = cohort(n=800, seed=12, share=0.25, noise=0.5)
    noisy = discrepancy_contrast(ev.run_sweep(features, resp, INST, cfg).predictions)
    noisy = noisy.set_index("ranking")
    assert noisy.loc["matched", "contrast_ci_low"] > 0, noisy
    assert noisy.loc["plain", "contrast_ci_low"] > 0, noisy
    # The same cohort without them: part of the plain contrast stays (low discrepancy goes
    # with the extreme totals, easy cases), the matched one does not show.
    features, resp = cohort(n=800, seed=12, share=0.0, noise=0.5)
    pure = discrepancy_contrast(ev.run_sweep(features, resp, INST, cfg).predictions)
    pure = pure.set_index("ranking")
    assert pure.loc["matched", "contrast_ci_low"] < 0 < pure.loc["matched", "contrast_ci_high"]
    assert pure.loc["plain", "contrast_mean"] > pure.loc["matched", "contrast_mean"] + 0.05, pure
    assert noisy.loc["matched", "contrast_mean"] > pure.loc["matched", "contrast_mean"] + 0.2


# ---------------------------------------------------------------------------- the report's answer


def _iv(mean, low, high):
    from facemind.reporting.findings import Interval

    return Interval(mean, low, high)


def test_report_reading_follows_the_intervals():
    from facemind.reporting import capacity

    both = _iv(0.2, 0.05, 0.35)
    none_ = _iv(0.2, -0.05, 0.45)
    text, shown = capacity.heterogeneity_sentence(plain=both, matched=both)
    assert shown and "with the same score: +0.20 (95% CI +0.05 to +0.35)" in text
    text, shown = capacity.heterogeneity_sentence(plain=both, matched=none_)
    assert not shown and "but not among respondents with the same score" in text
    text, shown = capacity.heterogeneity_sentence(plain=none_, matched=none_)
    assert not shown and text.startswith("Errors do not concentrate")
    # Lower is better for regression: a falling MAE is a gain.
    assert capacity.data_sentence(_iv(-0.3, -0.5, -0.1), -1, "MAE")[1]
    assert not capacity.data_sentence(_iv(0.01, -0.01, 0.03), 1, "F1")[1]
    assert (
        "adds +0.01 (95% CI -0.01 to +0.03) (F1): no gain shown"
        in capacity.data_sentence(_iv(0.01, -0.01, 0.03), 1, "F1")[0]
    )
    gains = pd.DataFrame(
        {
            "model": ["rf"],
            "baseline": ["ridge"],
            "gain_mean": [0.9],
            "gain_ci_low": [0.1],
            "gain_ci_high": [1.8],
        }
    )
    text, shown = capacity.capacity_sentence(gains, -1, "MAE, lower is better")
    assert not shown and text.startswith("Larger models do worse than Ridge regression")
    text, shown = capacity.capacity_sentence(gains, 1, "F1")
    assert shown and "over Ridge regression: Random forest +0.90 (95% CI +0.10 to +1.80)" in text
    assert capacity.reading(True, False, False, True).startswith("Heterogeneity, not model")
    assert capacity.reading(False, True, False, True).startswith("Capacity or data")
    assert capacity.reading(True, False, True, True).startswith("Both")
    assert capacity.reading(False, False, False, True).startswith("The data do not show")
    assert capacity.reading(True, True, True, False) == "Too few results for a reading."


@pytest.fixture(scope="module")
def swept(tmp_path_factory):
    import facemind as fm

    folder = tmp_path_factory.mktemp("claim2")
    features, resp = cohort(n=800, seed=12, share=0.25, noise=0.5)
    fm.sweep(
        features,
        resp,
        "dass21",
        out=folder / "results.parquet",
        subscales=["depression"],
        models=["logreg", "gbt"],
        fractions=[0.0, 0.1],
        criteria=["sdi", "random"],
        folds=5,
        save_predictions=True,
        train_sizes=[0.25, 0.5],
        cv_groups="school",
    )
    return folder, features, resp


def test_report_section_reads_the_saved_tables(swept):
    import facemind as fm

    folder, features, resp = swept
    assert (folder / "results_predictions.parquet").exists()
    path = fm.report(
        folder / "results.parquet", resp, "dass21", folder / "report.html", features=features
    )
    text = path.read_text()
    section = text.split("<h2>Heterogeneity or capacity?</h2>")[1].split("<h2>")[0]
    assert "Synthetic data" in section
    assert "folds grouped by school" in section
    assert 'alt="error by discrepancy quintile"' in section
    assert 'alt="metric by training size and model"' in section
    assert (
        "Errors concentrate in the most discrepant fifth of respondents with the same score"
        in section
    )
    assert "Doubling the training data adds" in section and "over Logistic regression" in section
    assert "grouped by school" in text.split("<h2>Reporting checklist")[1]
    # The learning-curve rows stay out of the other sections: the Models figure and Findings
    # see the full training folds only.
    findings = text.split("<h2>Findings</h2>")[1].split("<h2>")[0]
    assert "25%" not in findings.replace("0.25", "")


def test_report_without_the_new_options_says_what_to_run(tmp_path):
    import facemind as fm

    features, resp = cohort(n=150, seed=13)
    result = fm.sweep(
        features,
        resp,
        "dass21",
        subscales=["depression"],
        models=["logreg"],
        fractions=[0.0],
        criteria=["sdi"],
        folds=3,
    )
    text = fm.report(result, resp, "dass21", tmp_path / "r.html").read_text()
    section = text.split("<h2>Heterogeneity or capacity?</h2>")[1].split("<h2>")[0]
    assert "--save-predictions" in section and "--train-sizes" in section
    assert "<img" not in section
    assert "folds grouped by participant" in section


def test_report_section_renders_in_chromium(swept):
    import facemind as fm
    from report_browser import open_report

    folder, features, resp = swept
    path = fm.report(folder / "results.parquet", resp, "dass21", folder / "shown.html")
    seen = open_report(path, "heterogeneity_or_capacity")
    assert not seen["errors"]
    figs = {alt: (ok, w, h) for alt, ok, w, h in seen["images"]}
    for alt in ("error by discrepancy quintile", "metric by training size and model"):
        ok, width, height = figs[alt]
        assert ok and width > 300 and height > 200
