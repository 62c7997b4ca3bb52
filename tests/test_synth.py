"""Synthetic cohorts: labeled synthetic, real frame schema, deterministic, planted truth recoverable."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from facemind import functionals, synth
from facemind.cli import main
from facemind.errors import FacemindError
from facemind.face import schema
from facemind.sdi import subscale_discrepancy

SUBS = synth.SUBSCALES


def _items(sub):
    return [f"dass_{i}" for i in synth.DASS21_ITEMS[sub]]


def test_responses_columns_ranges_and_labels():
    r = synth.make_responses(500, seed=3, discrepant_share=0.2)
    assert list(r.columns[:5]) == ["participant_id", "age", "gender", "grade", "school"]
    assert set(r["school"]) == {f"S{k}" for k in range(1, synth.SCHOOLS + 1)}
    assert list(synth.ITEM_COLUMNS) == [c for c in r.columns if c.startswith("dass_")]
    assert r["participant_id"].is_unique
    items = r[list(synth.ITEM_COLUMNS)].to_numpy()
    assert items.min() >= 0 and items.max() <= 3
    assert r["age"].between(10, 18).all() and r["grade"].between(1, 12).all()
    assert set(r["gender"]) == {"female", "male"}
    assert r["synthetic"].all()
    assert r["synthetic_discrepant"].sum() == 100
    # the item bank follows the DASS-21 subscale membership
    assert sorted(sum((list(v) for v in synth.DASS21_ITEMS.values()), [])) == list(range(1, 22))


def test_responses_deterministic_for_a_seed():
    a = synth.make_responses(200, seed=11)
    b = synth.make_responses(200, seed=11)
    pd.testing.assert_frame_equal(a, b)
    c = synth.make_responses(200, seed=12)
    assert not a[list(synth.ITEM_COLUMNS)].equals(c[list(synth.ITEM_COLUMNS)])


def test_latent_correlations_and_totals_track_latents():
    r = synth.make_responses(4000, seed=0, discrepant_share=0.2)
    lat = r[[f"latent_{s}" for s in SUBS]].to_numpy()
    corr = np.corrcoef(lat.T)
    assert corr[0, 1] == pytest.approx(0.60, abs=0.05)
    assert corr[1, 2] == pytest.approx(0.70, abs=0.05)
    ok = ~r["synthetic_discrepant"].to_numpy()
    for s in SUBS:
        total = r[_items(s)].sum(axis=1).to_numpy()
        latent = r[f"latent_{s}"].to_numpy()
        # consistent respondents answer from their true state, discrepant ones do not
        assert np.corrcoef(total[ok], latent[ok])[0, 1] > 0.7
        assert (
            abs(np.corrcoef(total[~ok], latent[~ok])[0, 1])
            < 0.75 * np.corrcoef(total[ok], latent[ok])[0, 1]
        )


def test_planted_discrepant_respondents_are_the_heterogeneous_ones():
    r = synth.make_responses(3000, seed=1, discrepant_share=0.1)
    planted = r["synthetic_discrepant"].to_numpy()
    for s in SUBS:
        items = r[_items(s)].to_numpy()
        d = subscale_discrepancy(items, items.sum(axis=1))
        assert d[planted].mean() > 1.25 * d[~planted].mean()
        top = np.argsort(-d)[: planted.sum()]
        # the top decile by discrepancy holds far more planted cases than a random decile (10%);
        # planted respondents with a total of 0 look like everyone else with 0 and cannot be found
        assert planted[top].mean() > 0.3


@given(st.lists(st.integers(0, 21), min_size=1, max_size=30), st.integers(0, 2**16))
def test_pour_keeps_totals_and_range(totals, seed):
    t = np.asarray(totals)
    out = synth.responses._pour(t, 7, np.random.default_rng(seed))
    assert out.shape == (len(t), 7)
    assert np.array_equal(out.sum(axis=1), t)
    assert out.min() >= 0 and out.max() <= 3


def test_video_frames_conform_to_schema():
    lat = np.array([0.5, -0.2, 1.0])
    f = synth.video_frames(lat, rng=synth.video_rng(0, 0), fps=5, duration=20)
    c = schema.conform(f)
    assert set(schema.CORE_COLUMNS) <= set(c.columns)
    assert set(schema.BLENDSHAPE_COLUMNS) <= set(c.columns)
    assert 0.85 * 100 - 1 <= len(c) <= 1.15 * 100 + 1
    assert np.all(np.diff(c["timestamp"]) > 0)
    assert not c["face_detected"].all() or c["AU12"].notna().all()
    aus = c.loc[c["face_detected"], list(schema.AU_NAMES)].to_numpy()
    assert np.nanmin(aus) >= 0 and np.nanmax(aus) <= 5
    assert c.loc[~c["face_detected"], "AU12"].isna().all()


def test_planted_face_signal_is_recoverable():
    r = synth.make_responses(120, seed=5, discrepant_share=0.0)
    tables = synth.iter_frame_tables(r, seed=5, fps=5, duration=30)
    res = functionals.compute_features(tables, groups=["aus", "pose"])
    d = res.table.merge(r, on="participant_id")
    dep, anx = d["latent_depression"], d["latent_anxiety"]
    assert np.corrcoef(dep, d["AU12__mean"])[0, 1] < -0.3  # fewer, weaker smiles
    assert np.corrcoef(dep, d["AU04__mean"])[0, 1] > 0.3  # more brow lowering
    assert np.corrcoef(dep, d["head_rotation_speed__mean"])[0, 1] < -0.2  # less movement
    assert np.corrcoef(anx, d["blink__rate"])[0, 1] > 0.2  # more blinking


def test_write_cohort_files_labels_and_determinism(tmp_path):
    cfg = synth.SynthConfig(participants=12, seed=4, fps=2, duration=10, videos_per_participant=2)
    s = synth.write_cohort(tmp_path / "a", cfg, jobs=1, chunk=5)
    assert (s.participants, s.videos) == (12, 24)
    resp = pd.read_csv(tmp_path / "a" / "responses.csv")
    assert resp["synthetic"].all() and len(resp) == 12
    man = pd.read_parquet(tmp_path / "a" / "manifest.parquet")
    assert list(man.columns) == list(schema.MANIFEST_COLUMNS)
    assert man["synthetic"].all() and (man["backend"] == "synthetic").all()
    assert set(man["participant_id"]) == set(resp["participant_id"])
    first = tmp_path / "a" / "frames" / f"{man['video_id'].iloc[0]}.parquet"
    assert schema.frame_table_metadata(first)["facemind.synthetic"] == "true"
    frames = schema.read_frame_table(first)
    assert list(frames.columns[: len(schema.CORE_COLUMNS)]) == list(schema.CORE_COLUMNS)
    assert int(man["frames"].iloc[0]) == len(frames)
    assert int(man["face_frames"].iloc[0]) == int(frames["face_detected"].sum())

    # same settings in parallel elsewhere: identical files
    synth.write_cohort(tmp_path / "b", cfg, jobs=2, chunk=5)
    for vid in man["video_id"]:
        a = schema.read_frame_table(tmp_path / "a" / "frames" / f"{vid}.parquet")
        b = schema.read_frame_table(tmp_path / "b" / "frames" / f"{vid}.parquet")
        pd.testing.assert_frame_equal(a, b)
    pd.testing.assert_frame_equal(man, pd.read_parquet(tmp_path / "b" / "manifest.parquet"))

    # a rerun with the same settings resumes; other settings are refused
    again = synth.write_cohort(tmp_path / "a", cfg)
    assert again.reused_videos == 24
    other = synth.SynthConfig(participants=12, seed=5, fps=2, duration=10)
    with pytest.raises(FacemindError, match="other settings"):
        synth.write_cohort(tmp_path / "a", other)
    settings = json.loads((tmp_path / "a" / "synth_settings.json").read_text())
    assert settings["seed"] == 4


def test_cli_synth_and_errors(tmp_path, capsys):
    rc = main(["synth", "--participants", "3", "--out", str(tmp_path / "c"), "--duration", "5"])
    assert rc == 0
    assert "3 participants" in capsys.readouterr().out
    assert (tmp_path / "c" / "manifest.parquet").exists()
    for args, msg in [
        (["--participants", "0"], "--participants must be at least 1"),
        (["--participants", "3", "--discrepant-share", "1.5"], "--discrepant-share"),
        (["--participants", "3", "--fps", "0"], "--fps"),
    ]:
        rc = main(["synth", *args, "--out", str(tmp_path / "d")])
        err = capsys.readouterr().err
        assert rc == 2
        assert msg in err and err.count("\n") == 1 and "Traceback" not in err
