"""The sweep on a synthetic cohort with planted facial signal and planted discrepant responders.

Responses come from :func:`facemind.synth.make_responses` (graded-response items driven by latent
states; a planted share answers from an unrelated state with an atypical profile). Features are
a small SYNTHETIC table made here from the true latent states (a linear mix plus noise), so the
known truth is: faces predict the true state, and planted discrepant respondents' answers do not
match their faces.
"""

from __future__ import annotations

import sys

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from facemind import evaluation as ev
from facemind.errors import FacemindError
from facemind.instruments import load_instrument
from facemind.models import ModelSpec, available_models, make_estimator, register_model
from facemind.synth import make_responses

LATENT = ["latent_depression", "latent_anxiety", "latent_stress"]


def cohort(n=400, seed=0, share=0.25, videos=1, n_features=12, noise=1.0):
    """SYNTHETIC responses and features (``videos`` feature rows per participant)."""
    resp = make_responses(n, seed=seed, discrepant_share=share)
    rng = np.random.default_rng(seed + 100)
    w = rng.normal(size=(3, n_features))
    lat = resp[LATENT].to_numpy()
    frames = []
    for v in range(videos):
        x = lat @ w + noise * rng.normal(size=(n, n_features))
        f = pd.DataFrame(x, columns=[f"ch{i}__mean" for i in range(n_features)])
        f.insert(0, "participant_id", resp["participant_id"])
        f.insert(1, "video_id", resp["participant_id"] + f"_v{v}")
        f["synthetic"] = True
        frames.append(f)
    return pd.concat(frames, ignore_index=True), resp


@pytest.fixture(scope="module")
def data():
    return cohort()


INST = load_instrument("dass21")


def small(**kw):
    base = dict(
        subscales=["depression"],
        models=["logreg"],
        fractions=[0.0, 0.3],
        criteria=["sdi"],
        folds=3,
        seed=0,
    )
    base.update(kw)
    return ev.SweepConfig(**base)


# ---------------------------------------------------------------------------- criteria


def test_sdi_removes_planted_discrepant_far_more_than_random():
    _, resp = cohort(n=1500, seed=1, share=0.15)
    study = ev.prepare_study(resp[["participant_id"]].assign(x=1.0), resp, INST)
    planted = resp.set_index("participant_id").loc[study.person_ids, "synthetic_discrepant"]
    planted = planted.to_numpy()
    hits = {}
    for crit in ("sdi", "random", "mahalanobis", "guttman"):
        found = []
        for sub in ("depression", "anxiety", "stress"):
            keep = ev.removal_keep(crit, study.items[sub], study.raw[sub], 0.15, INST, seed=3)
            found.append(planted[~keep].mean())  # share of removed that were planted
        hits[crit] = float(np.mean(found))
    assert hits["random"] < 0.25  # about the base rate, 0.15
    assert hits["sdi"] > 2 * hits["random"], hits


def test_every_criterion_removes_the_same_number_per_group():
    _, resp = cohort(n=600, seed=2)
    study = ev.prepare_study(resp[["participant_id"]].assign(x=1.0), resp, INST)
    groups = study.raw["anxiety"]
    counts = {}
    for crit in ev.CRITERIA:
        keep = ev.removal_keep(crit, study.items["anxiety"], groups, 0.2, INST, seed=0)
        counts[crit] = pd.Series(~keep).groupby(groups).sum().to_numpy()
    for crit in ev.CRITERIA:
        np.testing.assert_array_equal(counts[crit], counts["sdi"], err_msg=crit)
    assert counts["sdi"].sum() > 0


# ---------------------------------------------------------------------------- sweep behaviour


def test_above_chance_and_table_shape(data):
    features, resp = data
    res = ev.run_sweep(features, resp, INST, small(fractions=[0.0], criteria=["sdi", "random"]))
    assert list(res.folds.columns) == ev.result_columns("binary")
    assert list(res.folds.columns[:10]) == list(ev.KEY_COLUMNS)
    assert len(res.folds) == 3 * 2 * 2  # folds x protocols x criteria (fraction 0 repeated)
    positive = float((ev.prepare_study(features, resp, INST).scored["depression"] >= 10).mean())
    chance_f1 = 2 * positive * 0.5 / (positive + 0.5)  # F1 of guessing with p = 0.5
    assert res.folds["f1"].mean() > chance_f1 + 0.1
    assert res.folds["roc_auc"].mean() > 0.7
    s = res.summary
    assert {"f1_mean", "f1_ci_low", "f1_ci_high", "n_train", "n_test", "n_folds"} <= set(s.columns)
    assert (s["f1_ci_low"] <= s["f1_mean"]).all() and (s["f1_mean"] <= s["f1_ci_high"]).all()
    assert res.n_participants == 400
    assert any("non-numeric" in n and "synthetic" in n for n in res.notes)


def test_paper_protocol_gains_at_least_as_much_as_train_only():
    features, resp = cohort(n=600, seed=4, share=0.3)
    res = ev.run_sweep(features, resp, INST, small(fractions=[0.0, 0.3], repeats=2))
    f = res.folds
    gain = {}
    for protocol in ("paper", "train-only"):
        rows = f[f["protocol"] == protocol].pivot_table(
            index=["repeat", "fold"], columns="fraction", values="f1"
        )
        gain[protocol] = float((rows[0.3] - rows[0.0]).mean())
    assert gain["paper"] >= gain["train-only"], gain
    assert gain["paper"] > 0, gain
    # n kept: the paper protocol filters test folds too, train-only never does.
    kept = f[(f["fraction"] == 0.3) & (f["protocol"] == "paper")]
    assert (kept["n_removed_test"] > 0).all()
    assert (f[f["protocol"] == "train-only"]["n_removed_test"] == 0).all()
    assert (
        kept["n_train"] + kept["n_removed_train"] + kept["n_test"] + kept["n_removed_test"] == 600
    ).all()


@pytest.mark.parametrize(
    "kw",
    [
        dict(models=["logreg", "rf"], criteria=["sdi", "random"]),
        dict(
            models=["logreg"],
            grid_search=True,
            balance="weights",
            criteria=["guttman"],
            protocols=["train-only"],
        ),
        dict(models=["svm"], criteria=["irv"], refit_preprocessing=True),
    ],
    ids=["plain", "grid-search-weights", "refit-preprocessing"],
)
def test_no_test_row_ever_enters_a_fit(kw):
    # Two feature rows per participant: folds must also keep a participant's rows together.
    features, resp = cohort(n=240, seed=5, videos=2)
    rec = ev.FitRecorder()
    ev.run_sweep(features, resp, INST, small(fractions=[0.0, 0.2], **kw), recorder=rec)
    log = rec.frame()
    key = ["subscale", "model", "protocol", "criterion", "fraction", "repeat", "fold"]
    tests = {k: g["ids"].iloc[0] for k, g in log[log["stage"] == "test"].groupby(key)}
    everyone = set(resp["participant_id"])
    n_fits = 0
    for k, g in log[log["stage"] != "test"].groupby(key):
        protocol, fold = k[2], k[6]
        for stage, ids in zip(g["stage"], g["ids"], strict=True):
            if stage.startswith("criterion:"):
                if protocol == "paper":  # by definition computed on the whole cohort
                    assert fold == -1 and ids == everyone
                else:
                    assert not ids & tests[k], (k, stage)
                continue
            assert stage.startswith("fit:")
            assert ids and not ids & tests[k], (k, stage)
            n_fits += 1
    # Every fitted step of every model was seen: impute, scale, pca, clf (and inner folds).
    steps = {s.rsplit(":", 1)[1] for s in log["stage"] if s.startswith("fit:")}
    assert steps == {"impute", "scale", "pca", "clf"}
    assert n_fits >= len(tests) * 4
    # Each train-only fit (fraction > 0) saw only training people its criterion kept.
    crit = log[(log["stage"].str.startswith("criterion:")) & (log["protocol"] == "train-only")]
    assert len(crit) > 0


def test_deterministic_for_a_seed_whatever_the_jobs(data):
    features, resp = data
    cfg = dict(models=["svm", "gbt"], criteria=["random"], fractions=[0.0, 0.2])
    a = ev.run_sweep(features, resp, INST, small(**cfg, jobs=1)).folds
    b = ev.run_sweep(features, resp, INST, small(**cfg, jobs=2)).folds
    pd.testing.assert_frame_equal(a, b)
    c = ev.run_sweep(features, resp, INST, small(**cfg, seed=1)).folds
    assert not a["f1"].equals(c["f1"])


def test_a_fold_gives_the_same_rows_when_run_alone(data):
    features, resp = data
    cfg = dict(criteria=["sdi", "random"], fractions=[0.0, 0.2])
    full = ev.run_sweep(features, resp, INST, small(**cfg)).folds
    alone = ev.run_sweep(features, resp, INST, small(**cfg, run_folds=[1])).folds
    assert set(alone["fold"]) == {1}
    pd.testing.assert_frame_equal(alone, full[full["fold"] == 1].reset_index(drop=True))
    with pytest.raises(FacemindError, match="run_folds"):
        ev.run_sweep(features, resp, INST, small(run_folds=[3]))


def test_an_interrupted_sweep_resumes_from_its_checkpoint(data, tmp_path):
    features, resp = data
    cfg = small(models=["logreg", "svm"], criteria=["sdi", "random"], fractions=[0.0, 0.2])
    full = ev.run_sweep(features, resp, INST, cfg).folds

    class Stop(Exception):
        pass

    def stop_after_two_units(done, total):
        if done == 3 + 2:  # 3 shared preprocessing fits, then 2 of the 6 model units
            raise Stop

    with pytest.raises(Stop):
        ev.run_sweep(features, resp, INST, cfg, checkpoint=tmp_path, progress=stop_after_two_units)
    assert len(list(tmp_path.glob("*.parquet"))) == 2
    calls = []
    resumed = ev.run_sweep(
        features, resp, INST, cfg, checkpoint=tmp_path, progress=lambda d, t: calls.append((d, t))
    )
    assert calls[0][0] == 2  # two units reused, not refitted
    pd.testing.assert_frame_equal(resumed.folds, full)
    assert len(list(tmp_path.glob("*.parquet"))) == 6
    # Other settings (here the seed) never reuse those parts.
    calls.clear()
    ev.run_sweep(
        features,
        resp,
        INST,
        small(**{**cfg.__dict__, "seed": 5}),
        checkpoint=tmp_path,
        progress=lambda d, t: calls.append((d, t)),
    )
    assert calls[0][0] == 0


def test_the_checkpoint_beside_the_results_stays_until_they_are_written(data, tmp_path):
    features, resp = data
    cfg = small(models=["logreg", "svm"])
    out = tmp_path / "res.csv"
    parts = tmp_path / ".res.csv.parts"

    class Stop(Exception):
        pass

    def stop_after_two_units(done, total):
        if done == 3 + 2:  # 3 shared preprocessing fits, then 2 of the 6 model units
            raise Stop

    with pytest.raises(Stop):
        ev.run_sweep(features, resp, INST, cfg, out=out, progress=stop_after_two_units)
    assert len(list(parts.glob("*.parquet"))) == 2 and not out.exists()
    calls = []
    ev.run_sweep(features, resp, INST, cfg, out=out, progress=lambda d, t: calls.append(d))
    assert calls[0] == 2  # resumed from the parts beside the results
    assert out.exists() and not parts.exists()


@pytest.mark.parametrize("ext", ["parquet", "csv"])
def test_saved_results_load_back_as_they_were_written(data, tmp_path, ext):
    from dataclasses import replace

    features, resp = data
    out = tmp_path / f"res.{ext}"
    cfg = small(save_predictions=True)
    result = ev.run_sweep(features, resp, INST, cfg, subgroups=["gender"], out=out)
    back = ev.SweepResult.load(out)
    assert back.provenance == result.provenance and back.provenance["command"] == "sweep"
    for name in ("folds", "summary", "subgroups", "subgroup_summary", "predictions"):
        # from CSV, ids come back as pandas' string type
        exact = ext == "parquet"
        pd.testing.assert_frame_equal(getattr(back, name), getattr(result, name), check_dtype=exact)
    plain = tmp_path / f"plain.{ext}"
    replace(result, subgroups=None, subgroup_summary=None, predictions=None).save(plain)
    again = ev.SweepResult.load(plain)
    assert again.subgroups is again.subgroup_summary is again.predictions is None
    pd.testing.assert_frame_equal(again.summary, result.summary)


def test_three_class_and_regression_tasks(data):
    features, resp = data
    r3 = ev.run_sweep(features, resp, INST, small(task="3class", fractions=[0.0, 0.1]))
    assert list(r3.folds.columns) == ev.result_columns("3class")
    assert r3.folds["roc_auc"].between(0.5, 1).all()
    rr = ev.run_sweep(features, resp, INST, small(task="regression", models=None, fractions=[0.0]))
    assert list(rr.folds.columns) == ev.result_columns("regression")
    assert set(rr.folds["model"]) == {"ridge", "svm", "rf", "gbt"}
    assert (rr.folds["pearson_r"] > 0.3).all()
    assert {"mae_mean", "mae_gain_mean", "pearson_r_ci_high"} <= set(rr.summary.columns)


# ---------------------------------------------------------------------------- metrics, CI


def test_metrics_hand_values():
    y = np.array([0, 0, 1, 1, 1])
    pred = np.array([0, 1, 1, 1, 0])
    score = np.array([0.1, 0.6, 0.7, 0.9, 0.4])
    m = ev.classification_metrics(y, pred, score, np.array([0, 1]))
    assert m["precision"] == pytest.approx(2 / 3)
    assert m["recall"] == pytest.approx(2 / 3)
    assert m["f1"] == pytest.approx(2 / 3)
    assert m["accuracy"] == pytest.approx(3 / 5)
    assert m["balanced_accuracy"] == pytest.approx((1 / 2 + 2 / 3) / 2)
    assert m["roc_auc"] == pytest.approx(5 / 6)  # 5 of 6 (pos, neg) pairs ordered correctly
    r = ev.regression_metrics(np.array([1.0, 2.0, 3.0]), np.array([2.0, 2.0, 5.0]))
    assert r["mae"] == pytest.approx(1.0)
    assert r["rmse"] == pytest.approx(np.sqrt(5 / 3))
    assert r["pearson_r"] == pytest.approx(stats.pearsonr([1, 2, 3], [2, 2, 5])[0])


def test_corrected_t_interval_formula():
    v = np.array([0.6, 0.7, 0.65, 0.72, 0.58])
    mean, lo, hi = ev.corrected_t_interval(v, 0.25)
    half = stats.t.ppf(0.975, 4) * np.sqrt((1 / 5 + 0.25) * v.var(ddof=1))
    assert mean == pytest.approx(v.mean())
    assert (lo, hi) == pytest.approx((v.mean() - half, v.mean() + half))
    assert np.isnan(ev.corrected_t_interval(np.array([0.5]), 0.25)[1])


# ---------------------------------------------------------------------------- models


def test_downsampling_balances_the_training_fold():
    rng = np.random.default_rng(0)
    X = pd.DataFrame(rng.normal(size=(100, 4)), index=np.arange(100))
    y = (np.arange(100) < 20).astype(int)
    est = make_estimator("logreg", "binary", balance="downsample").fit(X, y)
    assert est.n_fit_ == 40
    assert make_estimator("logreg", "binary", balance="weights").fit(X, y).n_fit_ == 100


def test_registry_accepts_new_models_and_names_errors(data):
    from sklearn.dummy import DummyClassifier

    if "prior" not in available_models():
        register_model(
            ModelSpec(
                "prior", lambda task, **_: DummyClassifier(strategy="prior"), tasks=("binary",)
            )
        )
    features, resp = data
    res = ev.run_sweep(features, resp, INST, small(models=["prior"], fractions=[0.0]))
    assert (res.folds["roc_auc"] == 0.5).all()
    with pytest.raises(FacemindError, match="unknown model 'nope'"):
        ev.run_sweep(features, resp, INST, small(models=["nope"]))
    with pytest.raises(FacemindError, match="does not support the regression task"):
        ev.run_sweep(features, resp, INST, small(models=["logreg"], task="regression"))
    with pytest.raises(FacemindError, match="already registered"):
        register_model(ModelSpec("svm", lambda task, **_: None))


def test_gbt_without_xgboost_is_a_clear_error(monkeypatch):
    monkeypatch.setitem(sys.modules, "xgboost", None)
    with pytest.raises(FacemindError, match=r"pip install 'facemind\[gbt\]'"):
        make_estimator("gbt", "binary")


# ---------------------------------------------------------------------------- data checks


def test_unmatched_ids_and_bad_settings_are_reported(data):
    features, resp = data
    extra = features.iloc[:3].assign(participant_id=["X1", "X2", "X3"])
    res = ev.run_sweep(pd.concat([features, extra]), resp.iloc[5:], INST, small(fractions=[0.0]))
    assert res.n_participants == 395
    assert any("8 participant(s) with features but no complete responses" in n for n in res.notes)
    with pytest.raises(FacemindError, match="smallest class"):
        ev.run_sweep(features.iloc[:30], resp, INST, small(folds=20, fractions=[0.0]))
    with pytest.raises(FacemindError, match="`positive_band`"):
        ev.run_sweep(features, resp, INST, small(positive_band="huge"))
    with pytest.raises(FacemindError, match=r"removal fraction must be in \[0, 1\)"):
        ev.run_sweep(features, resp, INST, small(fractions=[0.0, 1.0]))


def test_confusion_column_matches_the_fold_metrics():
    """The per-fold confusion matrix agrees with the fold's n_test, accuracy and recall."""
    import json as _json

    from facemind.evaluation import SweepConfig, run_sweep
    from facemind.synth import make_responses

    responses = make_responses(160, seed=5)
    rng = np.random.default_rng(5)
    feats = pd.DataFrame(
        {
            "video_id": responses["participant_id"],
            "participant_id": responses["participant_id"],
            "f__mean": responses["latent_depression"] + rng.normal(scale=0.5, size=160),
            "g__mean": rng.normal(size=160),
        }
    )
    cfg = SweepConfig(
        subscales=["depression"],
        models=["logreg"],
        fractions=(0.0, 0.1),
        folds=3,
        criteria=("sdi",),
    )
    folds = run_sweep(feats, responses, "dass21", cfg).folds
    assert "confusion" in folds.columns
    for row in folds.itertuples():
        m = np.asarray(_json.loads(row.confusion))
        assert m.shape == (2, 2) and m.sum() == row.n_test
        assert np.trace(m) / m.sum() == pytest.approx(row.accuracy)
        if m[1].sum():
            assert m[1, 1] / m[1].sum() == pytest.approx(row.recall)


# ---------------------------------------------------------------------------- plan and study


def test_config_is_frozen_and_validates_into_a_resolved_plan():
    import dataclasses

    cfg = ev.SweepConfig(fractions=[0.3, 0.0, 0.3], run_folds=[2, 0], criteria=["random"])
    with pytest.raises(dataclasses.FrozenInstanceError):
        cfg.seed = 1  # type: ignore[misc]
    assert cfg.fractions == (0.3, 0.0, 0.3) and cfg.criteria == ("random",)
    plan = cfg.validate(INST)
    assert plan.config is cfg
    assert plan.subscales == ("depression", "anxiety", "stress")
    assert plan.models == ("logreg", "svm", "rf", "gbt")
    assert plan.fractions == (0.0, 0.3) and plan.fold_ids == (0, 2)
    # 3 subscales x 4 models x 5 folds x (fraction 0 once + 0.3 x 2 protocols x 1 criterion)
    assert plan.n_fits == ev.plan_size(cfg, INST) == 3 * 4 * 5 * 3


def test_sweep_study_on_a_prepared_study_matches_run_sweep(data):
    features, resp = data
    cfg = small(fractions=[0.0, 0.2])
    study = ev.prepare_study(features, resp, INST, subscales=["depression"])
    on_study = ev.sweep_study(study, cfg.validate(INST)).folds
    on_tables = ev.run_sweep(features, resp, INST, cfg).folds
    on_plan = ev.run_sweep(features, resp, INST, cfg.validate(INST)).folds
    pd.testing.assert_frame_equal(on_study, on_tables)
    pd.testing.assert_frame_equal(on_plan, on_tables)
    with pytest.raises(ValueError, match="not prepared"):
        ev.sweep_study(study, small(subscales=["anxiety"]).validate(INST))
