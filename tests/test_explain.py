"""Permutation importance on held-out folds: a planted AU signal is found, noise is not."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from facemind.cli import main
from facemind.evaluation.importance import channel_of, group_of, permutation_importance
from facemind.synth import make_responses


def planted(n=300, seed=0):
    """SYNTHETIC responses and features where only the AU columns follow the depression state."""
    resp = make_responses(n, seed=seed)
    rng = np.random.default_rng(seed + 7)
    lat = resp["latent_depression"].to_numpy()
    cols = {}
    for au in ("AU04", "AU12", "AU15"):
        cols[f"{au}__mean"] = lat * (1 if au != "AU12" else -1) + rng.normal(scale=0.8, size=n)
        cols[f"{au}__std"] = rng.normal(size=n)
    for ch in (
        "pose_pitch",
        "pose_yaw",
        "gaze_angle_x",
        "gaze_angle_y",
        "bs_mouthSmileLeft",
    ):
        cols[f"{ch}__mean"] = rng.normal(size=n)
        cols[f"{ch}__std"] = rng.normal(size=n)
    feats = pd.DataFrame(cols)
    feats.insert(0, "participant_id", resp["participant_id"])
    return feats, resp


@pytest.fixture(scope="module")
def result():
    feats, resp = planted()
    return permutation_importance(
        feats,
        resp,
        "dass21",
        subscale="depression",
        model="logreg",
        folds=5,
        repeats=2,
        permutations=3,
        seed=0,
    )


def test_channel_names_map_to_groups():
    assert channel_of("AU12__activation_rate") == "AU12"
    assert group_of("AU12") == "aus" and group_of("blink") == "aus"
    assert group_of("pose_pitch") == "pose" and group_of("head_rotation_speed") == "pose"
    assert group_of("gaze_angle_x") == "gaze" and group_of("x_3") == "landmarks"
    assert group_of("coverage") == "coverage" and group_of("something") == "other"


def test_only_the_planted_group_matters(result):
    t = result.table
    groups = t[t["level"] == "group"].set_index("group")
    assert set(groups.index) == {"aus", "pose", "gaze", "blendshapes"}
    assert groups.loc["aus", "drop_ci_low"] > 0
    for g in groups.index.drop("aus"):
        assert groups.loc[g, "drop_ci_low"] <= 0 <= groups.loc[g, "drop_ci_high"], g
    assert (groups["n_folds"] == 10).all() and (groups["metric"] == "roc_auc").all()
    chans = t[t["level"] == "channel"].set_index("channel")
    assert chans.loc["AU04", "drop_mean"] > chans.loc["pose_pitch", "drop_mean"]
    assert chans.loc["AU04", "n_features"] == 2


def test_drops_are_the_baseline_minus_the_permuted_score(result):
    d = result.drops
    t = result.table
    aus = d[(d["level"] == "group") & (d["group"] == "aus")]
    assert len(aus) == 10
    row = t[(t["level"] == "group") & (t["group"] == "aus")].iloc[0]
    assert row["drop_mean"] == pytest.approx(aus["drop"].mean())
    assert row["baseline"] == pytest.approx(aus["baseline"].mean())


def test_explain_cli_writes_the_table(tmp_path, capsys):
    feats, resp = planted(n=200, seed=3)
    fp, rp, out = tmp_path / "f.csv", tmp_path / "r.csv", tmp_path / "importance.csv"
    feats.to_csv(fp, index=False)
    resp.to_csv(rp, index=False)
    rc = main(
        [
            "explain",
            "--features",
            str(fp),
            "--responses",
            str(rp),
            "--instrument",
            "dass21",
            "--subscale",
            "depression",
            "--model",
            "logreg",
            "--folds",
            "3",
            "--permutations",
            "2",
            "-o",
            str(out),
        ]
    )
    assert rc == 0, capsys.readouterr().err
    t = pd.read_csv(out)
    for col in ("level", "group", "channel", "drop_mean", "drop_ci_low", "drop_ci_high"):
        assert col in t.columns
    html = tmp_path / "report.html"
    rc = main(
        [
            "report",
            "--responses",
            str(rp),
            "--instrument",
            "dass21",
            "--importance",
            str(out),
            "-o",
            str(html),
        ]
    )
    assert rc == 0
    text = html.read_text()
    assert "<h2>Which channels matter</h2>" in text and 'alt="channel importance"' in text
    assert "Which predictors matter" in text  # the checklist names it
    rc = main(
        [
            "report",
            "--responses",
            str(rp),
            "--instrument",
            "dass21",
            "--importance",
            str(rp),
            "-o",
            str(html),
        ]
    )
    err = capsys.readouterr().err
    assert rc == 2 and "not an importance table" in err and "column 'level'" in err
    rc = main(
        [
            "explain",
            "--features",
            str(fp),
            "--responses",
            str(rp),
            "--instrument",
            "dass21",
            "--subscale",
            "nope",
            "--model",
            "logreg",
            "-o",
            str(out),
        ]
    )
    err = capsys.readouterr().err
    assert rc == 2 and "unknown subscale 'nope'" in err and "Traceback" not in err


def test_limited_aus_among_the_important_carry_a_note(result):
    """AU04 and AU15 (planted, so important) are graded limited in the package's reliability
    table, AU12 (planted too) reliable: the note names the first two only, in explain's notes
    and in the report's importance section."""
    from facemind.evaluation.importance import important_channels, reliability_note
    from facemind.face.reliability import au_reliability
    from facemind.instruments import load_instrument
    from facemind.reporting.appraisal import importance_section
    from facemind.reporting.data import ReportData

    grades = au_reliability()["grade"]
    assert grades["AU04"] == grades["AU15"] == "limited" and grades["AU12"] == "reliable"
    important = important_channels(result.table)
    assert {"AU04", "AU12", "AU15"} <= set(important) and "pose_pitch" not in important
    notes = [n for n in result.notes if "graded limited" in n]
    assert len(notes) == 1 and notes[0] == reliability_note(result.table)
    named = notes[0].split(" are among")[0]
    assert sorted(named.split(", ")) == ["AU04", "AU15"] and "AU12" not in notes[0]
    _, resp = planted()
    html = importance_section(
        ReportData(responses=resp, instrument=load_instrument("dass21"), importance=result.table)
    )
    assert f"{named} are among the important channels but graded limited" in html
    calm = result.table[~result.table["channel"].isin(["AU04", "AU15"])]
    assert reliability_note(calm) is None  # AU12 alone: reliable, no note
