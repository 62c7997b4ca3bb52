"""Brier score, expected calibration error and reliability counts: hand values and the sweep."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from facemind import evaluation as ev
from facemind.evaluation.metrics import calibration_bins, calibration_metrics, ece_from_bins
from facemind.instruments import load_instrument
from facemind.reporting.html import ReportData, build_report
from facemind.synth import make_responses


def test_brier_and_ece_hand_values():
    y = np.array([0, 0, 1, 1])
    p1 = np.array([0.1, 0.3, 0.35, 0.8])
    proba = np.column_stack([1 - p1, p1])
    m = calibration_metrics(y, proba, np.array([0, 1]))
    # Brier: (0.01 + 0.09 + 0.4225 + 0.04) / 4
    assert m["brier"] == pytest.approx(0.5625 / 4)
    # Bins of width 0.1: 0.1 -> [0.1,0.2), 0.3 and 0.35 -> [0.3,0.4), 0.8 -> [0.8,0.9).
    # |0.1 - 0| * 1 + |0.65 - 1| * 1 (sum of p minus events in the shared bin) + |0.8 - 1| * 1
    assert m["ece"] == pytest.approx((0.1 + 0.35 + 0.2) / 4)
    bins = calibration_bins(y, proba, np.array([0, 1]))
    assert bins[3].tolist() == pytest.approx([2, 0.65, 1])
    assert bins[:, 0].sum() == 4


def test_multiclass_brier_sums_over_classes_and_ece_uses_the_top_label():
    y = np.array([0, 2])
    proba = np.array([[0.5, 0.3, 0.2], [0.1, 0.1, 0.8]])
    m = calibration_metrics(y, proba, np.array([0, 1, 2]))
    assert m["brier"] == pytest.approx(((0.25 + 0.09 + 0.04) + (0.01 + 0.01 + 0.04)) / 2)
    # top labels both right: confidences 0.5 and 0.8 in separate bins
    assert m["ece"] == pytest.approx((0.5 + 0.2) / 2)


def test_without_probabilities_calibration_is_nan():
    m = ev.classification_metrics(np.array([0, 1]), np.array([0, 1]), None, np.array([0, 1]))
    assert np.isnan(m["brier"]) and np.isnan(m["ece"])


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.tuples(st.floats(0, 1), st.integers(0, 1)), min_size=2, max_size=40),
    st.integers(1, 5),
)
def test_pooled_bins_equal_the_bins_of_the_pooled_cases(cases, cut):
    """Summing per-fold counts gives the counts (and so the ECE) of all test cases at once."""
    p = np.array([c[0] for c in cases])
    y = np.array([c[1] for c in cases])
    proba = np.column_stack([1 - p, p])
    cut = min(cut, len(p) - 1)
    parts = calibration_bins(y[:cut], proba[:cut], np.array([0, 1])) + calibration_bins(
        y[cut:], proba[cut:], np.array([0, 1])
    )
    whole = calibration_bins(y, proba, np.array([0, 1]))
    assert parts == pytest.approx(whole)
    assert 0 <= ece_from_bins(whole) <= 1


@pytest.fixture(scope="module")
def sweep():
    resp = make_responses(180, seed=2)
    rng = np.random.default_rng(2)
    feats = pd.DataFrame(
        {
            "participant_id": resp["participant_id"],
            "f__mean": resp["latent_depression"] + rng.normal(scale=0.6, size=180),
            "g__mean": rng.normal(size=180),
        }
    )
    cfg = ev.SweepConfig(
        subscales=["depression"],
        models=["logreg"],
        fractions=(0.0, 0.1),
        folds=3,
        criteria=("sdi",),
    )
    return resp, ev.run_sweep(feats, resp, "dass21", cfg)


def test_sweep_folds_carry_brier_ece_and_reliability_counts(sweep):
    _, res = sweep
    folds = res.folds
    assert {"brier", "ece", "calibration"} <= set(folds.columns)
    for row in folds.itertuples():
        bins = np.asarray(json.loads(row.calibration), dtype=float)
        assert bins.shape == (10, 3) and bins[:, 0].sum() == row.n_test
        assert ece_from_bins(bins) == pytest.approx(row.ece, abs=1e-5)
        assert 0 <= row.brier <= 1
    s = res.summary
    for col in ("brier_mean", "brier_ci_low", "brier_ci_high", "ece_mean", "ece_ci_low"):
        assert col in s.columns and s[col].notna().all()


def test_report_has_a_calibration_section_and_checklist(sweep):
    resp, res = sweep
    data = ReportData(
        responses=resp, instrument=load_instrument("dass21"), folds=res.folds, summary=res.summary
    )
    text = build_report(data)
    assert "<h2>Calibration</h2>" in text and 'alt="reliability diagrams"' in text
    assert "<h2>Reporting checklist</h2>" in text
    tail = text[text.index("<h2>Reporting checklist</h2>") :]
    for item in (
        "Data source",
        "SYNTHETIC",
        "Outcome",
        "Sample size",
        "Validation",
        "Calibration",
        "Subgroups",
        "not run (sweep --subgroups)",
        "Consent and ethics approval",
        "not known to facemind",
    ):
        assert item in tail, item
    assert text.index("<h2>Calibration</h2>") < text.index("<h2>Reporting checklist</h2>")
    assert "not stored in the results" in tail  # no provenance given: says so
    data.provenance, data.positive_band = res.provenance, "moderate"
    tail = build_report(data).split("<h2>Reporting checklist</h2>")[1]
    assert "positive at or above the moderate band" in tail
    assert "defaults (no grid search)" in tail and "not stored in the results" not in tail


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(0, 1), st.integers(0, 1), st.integers(0, 4)), min_size=1, max_size=30
    )
)
def test_binary_metrics_equal_scikit_learns(cases):
    """The fast 0/1 path gives scikit-learn's values (ties in the scores included)."""
    import warnings

    from sklearn import metrics as skm

    y = np.array([c[0] for c in cases])
    pred = np.array([c[1] for c in cases])
    score = np.array([c[2] for c in cases], dtype=float) / 4
    m = ev.classification_metrics(y, pred, score, np.array([0, 1]))
    kw = {"zero_division": 0}
    assert m["f1"] == pytest.approx(skm.f1_score(y, pred, **kw))
    assert m["precision"] == pytest.approx(skm.precision_score(y, pred, **kw))
    assert m["recall"] == pytest.approx(skm.recall_score(y, pred, **kw))
    assert m["accuracy"] == pytest.approx(skm.accuracy_score(y, pred))
    if len(set(y)) == 2:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            assert m["balanced_accuracy"] == pytest.approx(skm.balanced_accuracy_score(y, pred))
        assert m["roc_auc"] == pytest.approx(skm.roc_auc_score(y, score))
    else:
        assert np.isnan(m["roc_auc"]) and np.isnan(m["balanced_accuracy"])
