"""The study report: self-contained HTML, checked in a real headless Chromium."""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import pandas as pd
import pytest

from facemind.cli import main

ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"


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
    assert main([
        "sweep", "--features", str(d / "features.parquet"), "--responses", str(d / "responses.csv"),
        "--instrument", "dass21", "-o", str(d / "results.csv"), "--models", "logreg",
        "--fractions", "0,0.1", "--folds", "3", "--subscales", "depression,anxiety",
    ]) == 0  # fmt: skip
    return d


@pytest.fixture(scope="module")
def report(study):
    out = study / "report.html"
    code = main([
        "report", "--responses", str(study / "responses.csv"), "--instrument", "dass21",
        "--results", str(study / "results.csv"), "--extraction", str(study),
        "--features", str(study / "features.parquet"), "-o", str(out),
    ])  # fmt: skip
    assert code == 0
    return out


def test_report_is_self_contained_and_complete(report):
    text = report.read_text(encoding="utf-8")
    # no network fetches: nothing loaded from outside the file
    assert not re.search(r'(src|href)\s*=\s*["\']?(https?:)?//', text, flags=re.I)
    assert "<script" not in text.lower()
    assert "SYNTHETIC DATA" in text
    for heading in ("Cohort", "Scores", "Symptom Discrepancy Index", "Models (binary)",
                    "Data-driven clusters", "Extraction quality"):  # fmt: skip
        assert f"<h2>{heading}</h2>" in text, heading
    images = re.findall(r'<img alt="([^"]+)" src="data:image/png;base64,([^"]+)"', text)
    assert {alt for alt, _ in images} >= {
        "score histograms", "SDI per group", "removal curves", "confusion matrices", "clusters",
        "extraction quality",
    }  # fmt: skip
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
    code = main(["report", "--responses", str(study / "responses.csv"), "-i", "dass21",
                 "--extraction", str(tmp_path), "-o", str(tmp_path / "r.html")])  # fmt: skip
    err = capsys.readouterr().err.strip()
    assert code == 2 and "manifest.parquet" in err and len(err.splitlines()) == 1
    assert not (tmp_path / "r.html").exists()


def _chromium() -> tuple[str, str]:
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver")
    assert browser and driver, (
        "Chromium and chromedriver are installed by `make test` (Debian chromium, chromium-driver)"
    )
    return browser, driver


def test_report_renders_in_chromium(report):
    os.environ.setdefault("SE_OFFLINE", "true")  # never let Selenium look for drivers online
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    browser, driver_path = _chromium()
    opts = webdriver.ChromeOptions()
    opts.binary_location = browser
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--no-first-run", "--window-size=1280,2000"):  # fmt: skip
        opts.add_argument(flag)
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    drv = webdriver.Chrome(service=Service(executable_path=driver_path), options=opts)
    try:
        drv.get(report.resolve().as_uri())
        images = drv.execute_script(
            "return Array.from(document.images).map(i => [i.alt, i.complete, i.naturalWidth, i.naturalHeight]);"
        )
        assert len(images) >= 6
        for alt, complete, width, height in images:
            assert complete and width > 100 and height > 100, (alt, width, height)
        errors = [e for e in drv.get_log("browser") if e["level"] in ("SEVERE", "ERROR")]
        assert errors == []
        ARTIFACTS.mkdir(exist_ok=True)
        shot = ARTIFACTS / "report.png"
        assert drv.save_screenshot(str(shot))
        assert shot.stat().st_size > 20_000
    finally:
        drv.quit()
