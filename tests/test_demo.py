"""The demo: every file written, labeled synthetic, SDI table printed; its report, opened in
Chromium, says section by section what is synthetic and what is real."""

from __future__ import annotations

import json
import re

import pandas as pd
import pytest

from facemind.cli import main
from report_browser import open_report


def test_demo_writes_labeled_files(tmp_path, capsys):
    out = tmp_path / "demo"
    assert main(["demo", "--out", str(out), "--participants", "200", "--questionnaire-only"]) == 0
    captured = capsys.readouterr()
    assert "SYNTHETIC" in captured.out and "depression" in captured.out
    assert str(out.resolve()) in captured.err.replace("\n", "")
    responses = pd.read_csv(out / "responses.csv")
    assert len(responses) == 200 and responses["synthetic"].all()
    assert pd.read_csv(out / "scores.csv")["synthetic"].all()
    assert pd.read_csv(out / "sdi.csv")["synthetic"].all()
    summary = json.loads((out / "sdi_summary.json").read_text())
    assert summary["synthetic"] is True
    assert 0 < summary["depression"]["sdi"] < 1
    assert (out / "sdi.png").stat().st_size > 10_000


@pytest.fixture(scope="module")
def demo_report(tmp_path_factory, assets_dir, face_model):
    """The full demo on a small synthetic cohort, with the real sample videos extracted."""
    out = tmp_path_factory.mktemp("demo")
    assert (
        main(
            [
                "demo",
                "--out",
                str(out),
                "--participants",
                "100",
                "--videos",
                str(assets_dir),
                "--face-model",
                str(face_model),
                "--jobs",
                "2",
            ]
        )
        == 0
    )
    return out / "report.html"


def test_demo_report_labels_synthetic_and_real_sections(demo_report):
    text = demo_report.read_text(encoding="utf-8")
    sections = re.split(r"<h2>", text)[1:]
    labels = {}
    for part in sections:
        title = part.split("</h2>", 1)[0]
        origin = re.search(r'<p class="origin (synthetic|real)">', part)
        labels[title] = origin.group(1) if origin else None
    assert list(labels)[0] == "Findings"
    for title in (
        "Findings",
        "Cohort",
        "Scores",
        "Symptom Discrepancy Index",
        "Models (binary)",
        "Heterogeneity or capacity?",
        "Data-driven clusters",
        "Feature coverage",
    ):
        assert labels[title] == "synthetic", title
    assert labels["Extraction quality"] == "real"
    assert "real sample videos" in text and "The Extraction quality section is real" in text


def test_demo_report_renders_in_chromium(demo_report):
    page = open_report(demo_report, "demo-report")
    assert page["errors"] == []
    assert len(page["images"]) >= 6
    shown = {alt for alt, complete, width, _ in page["images"] if complete and width > 0}
    assert {"error by discrepancy quintile", "metric by training size and model"} <= shown
    for alt, complete, width, height in page["images"]:
        assert complete and width > 100 and height > 100, (alt, width, height)
    assert re.search(r"F1 with everyone \d\.\d\d \(95% CI \d\.\d\d to \d\.\d\d\)", page["findings"])
    assert "Reading" in page["findings"]


def test_demo_sweep_is_grouped_by_school_with_predictions(demo_report):
    text = demo_report.read_text(encoding="utf-8")
    assert "folds grouped by school" in text
    predictions = pd.read_csv(demo_report.parent / "results_predictions.csv")
    assert {"y_true", "y_pred", "y_score", "discrepancy", "score_group"} <= set(predictions)
    folds = pd.read_csv(demo_report.parent / "results.csv")
    assert sorted(folds["train_size"].unique()) == [0.25, 0.5, 1.0]
