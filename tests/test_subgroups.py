"""Subgroup metrics: each level's metrics equal the metrics recomputed on that subset."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from facemind import evaluation as ev
from facemind.cli import main
from facemind.errors import InputError
from facemind.evaluation.result import subgroup_path
from facemind.evaluation.subgroups import largest_gaps, subgroup_levels
from facemind.synth import make_responses


def cohort(n=200, seed=4):
    """SYNTHETIC responses with features that follow the depression state."""
    resp = make_responses(n, seed=seed)
    rng = np.random.default_rng(seed)
    feats = pd.DataFrame(
        {
            "participant_id": resp["participant_id"],
            "f__mean": resp["latent_depression"] + rng.normal(scale=0.7, size=n),
            "g__mean": rng.normal(size=n),
        }
    )
    return feats, resp


def test_levels_cut_numeric_columns_at_quantiles_and_keep_missing():
    resp = pd.DataFrame(
        {
            "participant_id": [f"p{i}" for i in range(8)],
            "age": [10, 11, 12, 13, 14, 15, 16, None],
            "gender": ["f", "m", "f", "m", "f", "m", None, "f"],
        }
    )
    sg = subgroup_levels(resp, ["gender", "age"], resp["participant_id"], bins={"age": [13]})
    assert sg.levels[0] == ("f", "m", "missing")
    assert sg.levels[1] == ("[10, 13)", "[13, 16]", "missing")
    assert sg.codes[:, 1].tolist() == [0, 0, 0, 1, 1, 1, 1, 2]
    assert "cut at 13" in sg.binning[1]
    many = pd.DataFrame({"participant_id": [f"p{i}" for i in range(40)], "x": np.arange(40.0)})
    q = subgroup_levels(many, ["x"], many["participant_id"])
    assert len(q.levels[0]) == 4 and (np.bincount(q.codes[:, 0]) == 10).all()
    with pytest.raises(InputError, match="column 'nope'"):
        subgroup_levels(resp, ["nope"], resp["participant_id"])


def test_subgroup_metrics_equal_the_metrics_on_the_subset():
    """Each level's row equals the metrics of the fold's model on that level's test rows
    (preprocessing refitted per fit, so the model can be rebuilt here exactly)."""
    feats, resp = cohort()
    cfg = ev.SweepConfig(
        refit_preprocessing=True,
        subscales=["depression"],
        models=["logreg"],
        fractions=(0.0,),
        criteria=("sdi",),
        protocols=("train-only",),
        folds=3,
    )
    recorder = ev.FitRecorder()
    res = ev.run_sweep(feats, resp, "dass21", cfg, subgroups=["gender"], recorder=recorder)
    rows = res.subgroups
    assert set(rows["level"]) == {"female", "male"}
    # per fold the levels partition the test part
    per_fold = rows.groupby(["repeat", "fold"])["n_test"].sum().to_numpy()
    assert per_fold.tolist() == res.folds["n_test"].tolist()
    # rebuild each fold's model on everyone outside its recorded test ids; score each level
    from facemind.labels import make_target
    from facemind.models import make_estimator
    from facemind.study import prepare_study

    inst = _inst()
    study = prepare_study(feats, resp, inst, subscales=["depression"])
    y = make_target(study.scored["depression"], inst.subscales["depression"], "binary")
    y = y[study.row_person]
    ids = study.person_ids[study.row_person]
    gender = resp.set_index("participant_id").loc[ids, "gender"].to_numpy()
    X = pd.DataFrame(
        study.X, index=study.row_person, columns=[f"f{i}" for i in range(study.X.shape[1])]
    )
    tests = [r for r in recorder.records if r.stage == "test"]
    assert len(tests) == 3
    for rec in tests:
        k = rec.fold
        te = np.isin(ids, list(rec.ids))
        seed = ev.config.stable_seed(0, "model", "depression", 0, k)
        est = make_estimator("logreg", "binary", random_state=seed)
        est.fit(X[~te], y[~te])
        for level in ("female", "male"):
            sub = te & (gender == level)
            proba = est.predict_proba(X[sub])
            want = ev.classification_metrics(
                y[sub], est.predict(X[sub]), proba, est.classes_, probabilities=proba
            )
            got = rows[(rows["fold"] == k) & (rows["level"] == level)].iloc[0]
            assert got["n_test"] == sub.sum()
            for m in ("f1", "accuracy", "roc_auc", "brier", "ece"):
                assert got[m] == pytest.approx(want[m], abs=1e-9), (k, level, m)


def _inst():
    from facemind.instruments import load_instrument

    return load_instrument("dass21")


def test_small_levels_are_marked_not_hidden_and_gaps_skip_them():
    feats, resp = cohort(n=150, seed=6)
    resp = resp.copy()
    resp.loc[resp.index[:4], "gender"] = "other"
    cfg = ev.SweepConfig(
        subscales=["depression"],
        models=["logreg"],
        fractions=(0.0,),
        criteria=("sdi",),
        protocols=("train-only",),
        folds=3,
    )
    res = ev.run_sweep(feats, resp, "dass21", cfg, subgroups=["gender"])
    other = res.subgroups[res.subgroups["level"] == "other"]
    assert len(other) == 3 and other["too_few"].all()
    summ = res.subgroup_summary
    assert summ.loc[summ["level"] == "other", "too_few_folds"].iloc[0] == 3
    gaps = largest_gaps(res.subgroups, "f1")
    assert {gaps["high"].iloc[0], gaps["low"].iloc[0]} == {"female", "male"}
    # a level of 1-2 test cases per fold scatters widely: its interval still stays in [0, 1]
    for m in ("f1", "accuracy", "roc_auc", "brier", "ece"):
        lo, hi = summ[f"{m}_ci_low"].dropna(), summ[f"{m}_ci_high"].dropna()
        assert lo.between(0, 1).all() and hi.between(0, 1).all(), m
    assert gaps["gap_ci_low"].dropna().between(-1, 1).all()
    assert gaps["gap_ci_high"].dropna().between(-1, 1).all()
    # when no variable has two levels with enough test cases, the report says so, no "n/a" rows
    from facemind.instruments import load_instrument
    from facemind.reporting.html import ReportData, build_report

    few = res.subgroups.assign(too_few=True)
    data = ReportData(
        responses=resp,
        instrument=load_instrument("dass21"),
        folds=res.folds,
        summary=res.summary,
        subgroups=few,
    )
    text = build_report(data)
    assert "No gap between levels is estimated" in text and "no gap estimated" in text
    assert "vs n/a" not in text and "Largest gap in F1" not in text


def test_sweep_cli_writes_subgroup_tables_and_the_report_shows_them(tmp_path, capsys):
    feats, resp = cohort(n=150, seed=8)
    fp, rp, out = tmp_path / "f.csv", tmp_path / "r.csv", tmp_path / "res.csv"
    feats.to_csv(fp, index=False)
    resp.to_csv(rp, index=False)
    rc = main(
        [
            "sweep",
            "--features",
            str(fp),
            "--responses",
            str(rp),
            "--instrument",
            "dass21",
            "-o",
            str(out),
            "--models",
            "logreg",
            "--fractions",
            "0,0.1",
            "--folds",
            "3",
            "--subscales",
            "depression",
            "--criteria",
            "sdi",
            "--subgroups",
            "gender,age",
            "--subgroup-bins",
            "age=13,16",
        ]
    )
    assert rc == 0, capsys.readouterr().err
    rows = pd.read_csv(subgroup_path(out))
    assert set(rows["level"]) == {"female", "male", "[10, 13)", "[13, 16)", "[16, 18]"}
    assert (tmp_path / "res_subgroups_summary.csv").exists()
    html = tmp_path / "report.html"
    assert (
        main(
            [
                "report",
                "--responses",
                str(rp),
                "--instrument",
                "dass21",
                "--results",
                str(out),
                "-o",
                str(html),
            ]
        )
        == 0
    )
    text = html.read_text()
    assert "<h2>Subgroups</h2>" in text and "Largest gap in F1" in text and "[16, 18]" in text
    rc = main(
        [
            "sweep",
            "--features",
            str(fp),
            "--responses",
            str(rp),
            "--instrument",
            "dass21",
            "-o",
            str(out),
            "--models",
            "logreg",
            "--subgroups",
            "shoe_size",
        ]
    )
    err = capsys.readouterr().err
    assert rc == 2 and "shoe_size" in err and "Traceback" not in err
