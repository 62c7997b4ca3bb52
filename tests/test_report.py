"""The study report: self-contained HTML, checked in a real headless Chromium."""

from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from facemind.cli import main
from facemind.evaluation import summary as ev_summary
from facemind.functionals import feature_columns
from facemind.reporting.coverage import feature_coverage
from facemind.reporting.findings import Interval, headline_fraction, reading
from facemind.reporting.names import model_name
from report_browser import open_report


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    """A small synthetic study taken through synth, features and a reduced sweep."""
    d = tmp_path_factory.mktemp("study")
    assert (
        main(
            ["synth", "-n", "240", "--out", str(d), "--fps", "2", "--duration", "20", "--seed", "3"]
        )
        == 0
    )
    assert main(["features", str(d), "--out", str(d / "features.parquet")]) == 0
    assert (
        main(
            [
                "sweep",
                "--features",
                str(d / "features.parquet"),
                "--responses",
                str(d / "responses.csv"),
                "--instrument",
                "dass21",
                "-o",
                str(d / "results.csv"),
                "--models",
                "logreg",
                "--fractions",
                "0,0.1",
                "--folds",
                "3",
                "--subscales",
                "depression,anxiety",
            ]
        )
        == 0
    )
    return d


@pytest.fixture(scope="module")
def report(study):
    out = study / "report.html"
    code = main(
        [
            "report",
            "--responses",
            str(study / "responses.csv"),
            "--instrument",
            "dass21",
            "--results",
            str(study / "results.csv"),
            "--extraction",
            str(study),
            "--features",
            str(study / "features.parquet"),
            "-o",
            str(out),
        ]
    )
    assert code == 0
    return out


def test_report_is_self_contained_and_complete(report):
    text = report.read_text(encoding="utf-8")
    # no network fetches: nothing loaded from outside the file
    assert not re.search(r'(src|href)\s*=\s*["\']?(https?:)?//', text, flags=re.I)
    assert "<script" not in text.lower()
    assert "SYNTHETIC DATA" in text
    for heading in (
        "Cohort",
        "Scores",
        "Symptom Discrepancy Index",
        "Models (binary)",
        "Data-driven clusters",
        "Extraction quality",
    ):
        assert f"<h2>{heading}</h2>" in text, heading
    images = re.findall(r'<img alt="([^"]+)" src="data:image/png;base64,([^"]+)"', text)
    assert {alt for alt, _ in images} >= {
        "score histograms",
        "SDI per group",
        "removal curves",
        "confusion matrices",
        "clusters",
        "extraction quality",
    }
    assert all(len(data) > 2000 for _, data in images)
    assert text.count("<figcaption>") == len(images)  # every figure has its caption
    responses = pd.read_csv(report.parent / "responses.csv")
    assert f"<p>{len(responses)} respondents.</p>" in text


def test_report_without_optional_inputs(study, tmp_path):
    out = tmp_path / "r.html"
    assert (
        main(
            ["report", "--responses", str(study / "responses.csv"), "-i", "dass21", "-o", str(out)]
        )
        == 0
    )
    text = out.read_text()
    assert "No sweep results given" in text and "Extraction quality" not in text


def test_report_errors_are_one_line(study, tmp_path, capsys):
    code = main(
        [
            "report",
            "--responses",
            str(study / "responses.csv"),
            "-i",
            "dass21",
            "--extraction",
            str(tmp_path),
            "-o",
            str(tmp_path / "r.html"),
        ]
    )
    err = capsys.readouterr().err.strip()
    assert code == 2 and "manifest.parquet" in err and len(err.splitlines()) == 1
    assert not (tmp_path / "r.html").exists()


def test_report_renders_in_chromium(report):
    page = open_report(report, "report")
    images = page["images"]
    assert len(images) >= 6
    for alt, complete, width, height in images:
        assert complete and width > 100 and height > 100, (alt, width, height)
    assert page["errors"] == []
    assert page["screenshot"].stat().st_size > 20_000
    assert re.search(r"F1 with everyone \d\.\d\d \(95% CI \d\.\d\d to \d\.\d\d\)", page["findings"])


@pytest.fixture(scope="module")
def small_study(tmp_path_factory):
    """A 16-person synthetic study: tiny test folds, total-score groups too small for 5%."""
    d = tmp_path_factory.mktemp("small")
    assert (
        main(
            ["synth", "-n", "16", "--out", str(d), "--fps", "2", "--duration", "20", "--seed", "3"]
        )
        == 0
    )
    assert main(["features", str(d), "--out", str(d / "features.parquet")]) == 0
    assert (
        main(
            [
                "sweep",
                "--features",
                str(d / "features.parquet"),
                "--responses",
                str(d / "responses.csv"),
                "--instrument",
                "dass21",
                "-o",
                str(d / "results.csv"),
                "--models",
                "logreg,gbt",
                "--fractions",
                "0,0.05,0.2",
                "--folds",
                "3",
                "--subscales",
                "depression,anxiety",
            ]
        )
        == 0
    )
    out = d / "report.html"
    assert (
        main(
            [
                "report",
                "--responses",
                str(d / "responses.csv"),
                "--instrument",
                "dass21",
                "--results",
                str(d / "results.csv"),
                "--extraction",
                str(d),
                "--features",
                str(d / "features.parquet"),
                "-o",
                str(out),
            ]
        )
        == 0
    )
    return d


def test_small_study_intervals_stay_in_range_and_say_they_are_uninformative(small_study):
    summary = pd.read_csv(small_study / "results_summary.csv")
    for m in ("f1", "precision", "recall", "accuracy", "balanced_accuracy", "roc_auc"):
        lo, hi = summary[f"{m}_ci_low"].dropna(), summary[f"{m}_ci_high"].dropna()
        assert lo.between(0, 1).all() and hi.between(0, 1).all(), m
    assert summary["f1_gain_ci_low"].dropna().between(-1, 1).all()
    text = (small_study / "report.html").read_text(encoding="utf-8")
    assert "intervals are not informative" in text
    # 16 people in total-score groups of at most a few: round(0.05 x n) = 0 everywhere
    assert "At 5% nobody was removed" in text


def test_report_names_models_as_users_know_them(small_study):
    text = (small_study / "report.html").read_text(encoding="utf-8")
    visible = re.sub(r"<[^>]+>", " ", re.sub(r'src="[^"]+"', "", text))
    assert "XGBoost" in visible and "Logistic regression" in visible
    assert not re.search(r"\b(gbt|logreg)\b", visible)


def test_report_features_section_counts_features_per_group(report, study):
    text = report.read_text(encoding="utf-8")
    assert "<h2>Feature coverage</h2>" in text
    feats = pd.read_parquet(study / "features.parquet")
    table = feature_coverage(feats)
    assert table["features"].sum() == len(feature_columns(feats))
    assert f"{int(table['features'].sum())} feature columns" in text


def test_findings_come_first_with_positive_class_and_prevalence(report, study):
    text = report.read_text(encoding="utf-8")
    h2 = re.findall(r"<h2>([^<]+)</h2>", text)
    assert h2[0] == "Findings"
    assert "positive = scored total at or above the <i>mild</i> band" in text
    # prevalence: the positives' share of the tested participants at 0% (one model, one repeat)
    folds = pd.read_csv(study / "results.csv")
    zero = folds[
        (folds["subscale"] == "depression")
        & (folds["fraction"] == 0)
        & (folds["protocol"] == "paper")
        & (folds["criterion"] == "sdi")
    ]
    mats = sum(np.array(json.loads(c)) for c in zero["confusion"])
    p = mats[1].sum() / mats.sum()
    assert f"prevalence {p:.0%} among the tested participants" in text
    assert re.search(r"<i>Reading: [^<]+</i>", text)


def test_small_study_renders_in_chromium(small_study):
    page = open_report(small_study / "report.html", "report-16-people")
    assert page["errors"] == []
    assert len(page["images"]) >= 6
    for alt, complete, width, height in page["images"]:
        assert complete and width > 100 and height > 100, (alt, width, height)
    assert "Findings" not in (page["findings"] or "") and page["findings"]
    assert re.search(r"\d\.\d\d \[\d\.\d\d, \d\.\d\d\]", page["findings"])


# --------------------------------------------------------------------------------------------
# Intervals within the metric's range, the SDI-minus-random contrast, the reading
# --------------------------------------------------------------------------------------------


def _folds(f1_by_criterion: dict[str, list[float]], fraction: float = 0.1) -> pd.DataFrame:
    rows = []
    for criterion, values in f1_by_criterion.items():
        for fold, v in enumerate(values):
            for frac, f1 in ((0.0, 0.5), (fraction, v)):
                rows.append(
                    {
                        "subscale": "depression",
                        "task": "binary",
                        "model": "logreg",
                        "protocol": "train-only",
                        "criterion": criterion,
                        "fraction": frac,
                        "repeat": 0,
                        "fold": fold,
                        "n_train": 40,
                        "n_test": 10,
                        "f1": f1,
                        "precision": f1,
                        "recall": f1,
                        "accuracy": f1,
                        "balanced_accuracy": f1,
                        "roc_auc": f1,
                    }
                )
    return pd.DataFrame(rows)


def test_interval_is_truncated_to_the_metric_range():
    # [0, 1, 1]: mean 2/3, s^2 = 1/3, var = (1/3 + 10/40) / 3 ... half-width t(0.975, 2) x sqrt
    v = np.array([0.0, 1.0, 1.0])
    mean, lo, hi = ev_summary.corrected_t_interval(v, 0.25)
    assert hi > 1 and lo < 0  # the raw t-interval leaves [0, 1]
    half = stats.t.ppf(0.975, 2) * np.sqrt((1 / 3 + 0.25) * (1 / 3))
    assert lo == pytest.approx(2 / 3 - half)
    m2, lo2, hi2 = ev_summary.corrected_t_interval(v, 0.25, bounds=(0.0, 1.0))
    assert (m2, lo2, hi2) == (pytest.approx(2 / 3), 0.0, 1.0)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.floats(0, 1), min_size=2, max_size=8))
def test_summary_intervals_never_leave_their_bounds(values):
    s = ev_summary.summarize(_folds({"sdi": values}))
    for m in ("f1", "balanced_accuracy", "roc_auc"):
        assert s[f"{m}_ci_low"].between(0, 1).all() and s[f"{m}_ci_high"].between(0, 1).all()
        assert (s[f"{m}_ci_low"] <= s[f"{m}_mean"] + 1e-12).all()
        assert (s[f"{m}_mean"] <= s[f"{m}_ci_high"] + 1e-12).all()
    assert s["f1_gain_ci_low"].between(-1, 1).all() and s["f1_gain_ci_high"].between(-1, 1).all()


def test_criterion_contrast_is_paired_fold_by_fold():
    folds = _folds({"sdi": [0.5, 0.6, 0.7], "random": [0.4, 0.6, 0.5]})
    c = ev_summary.criterion_contrast(folds)
    row = c[(c["criterion"] == "sdi") & (c["fraction"] == 0.1)].iloc[0]
    diffs = np.array([0.1, 0.0, 0.2])
    half = stats.t.ppf(0.975, 2) * np.sqrt((1 / 3 + 10 / 40) * diffs.var(ddof=1))
    assert row["f1_vs_random_mean"] == pytest.approx(0.1)
    assert row["f1_vs_random_ci_low"] == pytest.approx(0.1 - half)
    assert row["f1_vs_random_ci_high"] == pytest.approx(0.1 + half)
    assert set(c["criterion"]) == {"sdi"}
    assert ev_summary.criterion_contrast(folds[folds["criterion"] == "sdi"]).empty


@pytest.mark.parametrize(
    ("paper", "train", "expected"),
    [
        ((0.1, 0.05, 0.15), (0.08, 0.02, 0.14), "SDI removal helps on held-out data beyond random"),
        (
            (0.1, 0.05, 0.15),
            (0.0, -0.05, 0.05),
            "The gain appears only when test folds are filtered too",
        ),
        ((0.0, -0.1, 0.1), (-0.1, -0.15, -0.05), "On held-out data SDI removal does worse"),
        ((0.2, -0.1, 0.5), (0.1, -0.05, 0.2), "Neither protocol separates SDI removal"),
    ],
)
def test_reading_follows_the_intervals_not_the_means(paper, train, expected):
    contrast = {"paper": Interval(*paper), "train-only": Interval(*train)}
    assert reading(contrast, {}, better=1, has_random=True).startswith(expected)


def test_reading_for_regression_treats_lower_as_better():
    contrast = {"paper": Interval(0.0, -0.1, 0.1), "train-only": Interval(-0.5, -0.8, -0.2)}
    assert "helps on held-out data" in reading(contrast, {}, better=-1, has_random=True)


def test_feature_coverage_of_a_hand_made_table():
    feats = pd.DataFrame(
        {
            "video_id": ["a", "b", "c", "d"],
            "AU01__mean": [1.0, np.nan, 2.0, np.nan],
            "AU01__std": [1.0, np.nan, 2.0, 3.0],
            "blink__rate": [5.0, np.nan, 1.0, 1.0],
            "pose_yaw__mean": [0.1, 0.2, 0.3, 0.4],
            "head_rotation_speed__mean": [1.0, 1.0, np.nan, 1.0],
        }
    )
    table = feature_coverage(feats).set_index("group")
    assert table.loc["aus", "features"] == 3 and table.loc["aus", "channels"] == 2
    assert table.loc["aus", "missing share"] == pytest.approx(4 / 12)
    assert table.loc["aus", "rows without any"] == pytest.approx(1 / 4)  # video b
    assert table.loc["pose", "features"] == 2
    assert table.loc["pose", "missing share"] == pytest.approx(1 / 8)
    assert table.loc["pose", "rows without any"] == 0


def test_headline_fraction_and_model_names():
    assert headline_fraction([0.0, 0.05, 0.1, 0.2]) == 0.1
    assert headline_fraction([0.0, 0.2, 0.3]) == 0.2
    assert headline_fraction([0.0]) is None
    assert model_name("gbt") == "XGBoost" and model_name("custom") == "custom"


def test_findings_of_hand_made_folds_quote_the_contrast_and_read_it():
    from facemind.instruments import load_instrument
    from facemind.reporting.findings import findings_section

    folds = _folds({"sdi": [0.7, 0.8, 0.75, 0.72], "random": [0.5, 0.52, 0.49, 0.5]})
    text = findings_section(ev_summary.summarize(folds), folds, load_instrument("dass21"), "mild")
    assert "removing 10% by SDI changed F1 by +0.24" in text
    assert "SDI minus random: +0.24" in text
    assert "Reading: SDI removal helps on held-out data beyond random removal." in text
    assert "Logistic regression" in text and "logreg" not in text
    # no confusion column: the prevalence is said to be unknown rather than guessed
    assert "prevalence unknown" in text
