"""The demo: every file written, labeled synthetic, SDI table printed."""

from __future__ import annotations

import json

import pandas as pd

from facemind.cli import main


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
