"""Features: the 12 statistics, dynamics and coverage against independent computations."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from scipy import stats as sps

from facemind import functionals, synth
from facemind.cli import main
from facemind.errors import FacemindError
from facemind.face import schema


def _frames(n, fps=10.0, face=None, **channels):
    cols = {"frame": np.arange(n), "timestamp": np.arange(n) / fps}
    cols["face_detected"] = np.ones(n, bool) if face is None else np.asarray(face, bool)
    cols.update({k: np.asarray(v, dtype=float) for k, v in channels.items()})
    return schema.conform(pd.DataFrame(cols))


def _row(frames, **kw):
    groups = kw.pop("groups", ["aus"])
    res = functionals.compute_features(
        [("v1", "p1", frames)], groups=groups, min_face_frames=1, **kw
    )
    return res.table.iloc[0]


def _reference(v):
    """The 12 statistics of a 1-D sample, computed independently with numpy and scipy."""
    q25, q75 = np.percentile(v, [25, 75])
    return {
        "mean": np.mean(v),
        "median": np.median(v),
        "max": np.max(v),
        "min": np.min(v),
        "std": np.std(v, ddof=1),
        "var": np.var(v, ddof=1),
        "range": np.ptp(v),
        "q25": q25,
        "q75": q75,
        "iqr": q75 - q25,
        "skew": sps.skew(v),
        "kurtosis": sps.kurtosis(v),
    }


def test_twelve_statistics_over_face_frames_match_numpy_and_scipy():
    au12 = np.array([0.0, 1.5, 2.5, 4.0, 0.5, 3.0, 9.9, 0.25], dtype=np.float32)
    au04 = np.array([1.0, 1.0, np.nan, 2.0, 0.5, 0.75, 3.0, 1.25], dtype=np.float32)
    face = np.array([1, 1, 1, 1, 1, 1, 0, 1], bool)  # frame 6 has no face: 9.9 must not count
    row = _row(_frames(8, face=face, AU12=au12, AU04=au04))
    for name, ref in _reference(au12[face].astype(float)).items():
        assert row[f"AU12__{name}"] == pytest.approx(ref, rel=1e-6, abs=1e-9), name
    # a missing value inside face frames is ignored for that channel only
    v04 = au04[face & ~np.isnan(au04)].astype(float)
    for name, ref in _reference(v04).items():
        assert row[f"AU04__{name}"] == pytest.approx(ref, rel=1e-6, abs=1e-9), name
    assert list(functionals.STATS) == [
        "mean",
        "median",
        "max",
        "min",
        "std",
        "var",
        "range",
        "q25",
        "q75",
        "iqr",
        "skew",
        "kurtosis",
    ]


def test_constant_channel_has_zero_shape_statistics():
    st_ = functionals.channel_statistics(np.full((5, 1), 2.0))[0]
    named = dict(zip(functionals.STATS, st_, strict=True))
    assert named["std"] == 0 and named["skew"] == 0 and named["kurtosis"] == 0
    assert named["mean"] == 2.0 and named["iqr"] == 0


@settings(max_examples=60, deadline=None)
@given(
    arrays(
        np.float64,
        st.tuples(st.integers(2, 40), st.integers(1, 4)),
        elements=st.floats(-1e3, 1e3, allow_nan=False, width=32),
    )
)
def test_statistics_invariants_and_scipy_agreement(x):
    out = functionals.channel_statistics(x)
    s = {k: out[:, i] for i, k in enumerate(functionals.STATS)}
    tol = 1e-6 * (1 + np.abs(x).max())
    assert np.all(s["min"] <= s["q25"] + tol) and np.all(s["q25"] <= s["median"] + tol)
    assert np.all(s["median"] <= s["q75"] + tol) and np.all(s["q75"] <= s["max"] + tol)
    assert np.allclose(s["range"], s["max"] - s["min"])
    assert np.allclose(s["iqr"], s["q75"] - s["q25"])
    assert np.allclose(s["var"], s["std"] ** 2, rtol=1e-9, atol=tol)
    assert np.allclose(s["mean"], x.mean(axis=0), atol=tol)
    assert np.allclose(s["median"], np.median(x, axis=0), atol=tol)
    spread = x.std(axis=0) > 1e-3 * (1 + np.abs(x).max(axis=0))
    if spread.any():
        assert np.allclose(s["skew"][spread], sps.skew(x[:, spread], axis=0), atol=1e-6)
        assert np.allclose(s["kurtosis"][spread], sps.kurtosis(x[:, spread], axis=0), atol=1e-5)


@settings(max_examples=40, deadline=None)
@given(
    arrays(np.float32, st.integers(2, 60), elements=st.floats(0, 5, width=32)),
    st.randoms(use_true_random=False),
)
def test_statistics_do_not_depend_on_frame_order(values, rnd):
    perm = list(range(len(values)))
    rnd.shuffle(perm)
    a = functionals.channel_statistics(values.astype(np.float64))
    b = functionals.channel_statistics(values[perm].astype(np.float64))
    assert np.allclose(a[:, :10], b[:, :10], rtol=1e-9, atol=1e-9, equal_nan=True)
    if a[0, 4] > 1e-3:  # shape statistics of a (near) constant channel are ill-conditioned
        assert np.allclose(a[:, 10:], b[:, 10:], rtol=1e-6, atol=1e-6)


def test_blink_rate_and_activation_runs_on_a_hand_built_sequence():
    # 10 fps, 20 frames = 2 s. AU45 >= 1 in runs at 2-3, 7, and 11-13; frame 12 has no face,
    # which splits the last run in two -> 4 blinks in 19 face frames = 1.9 s of face time.
    au45 = np.zeros(20)
    au45[[2, 3, 7, 11, 12, 13]] = [2.0, 1.0, 3.0, 2.0, 2.0, 2.0]
    au12 = np.zeros(20)
    au12[[4, 5, 15, 16, 17, 18]] = 1.5  # two runs: 2 and 4 frames
    face = np.ones(20, bool)
    face[12] = False
    row = _row(_frames(20, face=face, AU45=au45, AU12=au12))
    minutes = 19 * 0.1 / 60
    assert row["blink__rate"] == pytest.approx(4 / minutes)
    assert row["AU12__activation_rate"] == pytest.approx(2 / minutes)
    assert row["AU12__activation_duration"] == pytest.approx((0.2 + 0.4) / 2)
    assert row["AU12__active_share"] == pytest.approx(6 / 19)
    assert row["AU45__activation_duration"] == pytest.approx(5 * 0.1 / 4)
    assert row["coverage__face_share"] == pytest.approx(19 / 20)
    assert row["coverage__face_frames"] == 19 and row["coverage__frames"] == 20
    assert row["coverage__seconds"] == pytest.approx(1.9)
    # a higher threshold sees only the 2.0 and 3.0 peaks: runs {2}, {7}, {11}, {13}
    high = _row(_frames(20, face=face, AU45=au45, AU12=au12), blink_threshold=1.5)
    assert high["blink__rate"] == pytest.approx(4 / minutes)
    higher = _row(_frames(20, face=face, AU45=au45, AU12=au12), blink_threshold=2.5)
    assert higher["blink__rate"] == pytest.approx(1 / minutes)


def test_head_and_landmark_speed_by_hand():
    n, fps = 6, 5.0
    yaw = np.arange(n) * 2.0  # 2 degrees per frame = 10 deg/s
    yaw[3] = 100.0  # but frame 3 has no face: pairs (2,3) and (3,4) are skipped
    face = np.ones(n, bool)
    face[3] = False
    cols = {"pose_yaw": yaw, "pose_pitch": np.zeros(n), "pose_roll": np.zeros(n)}
    # landmarks: eye corners 36 and 45 are 50 px apart; the face moves 5 px right per frame
    base_x = np.linspace(0, 67, 68)
    base_x[36], base_x[45] = 100.0, 150.0
    for i in range(68):
        cols[f"x_{i}"] = base_x[i] + 5.0 * np.arange(n)
        cols[f"y_{i}"] = np.full(n, 10.0)
    row = _row(_frames(n, fps=fps, face=face, **cols), groups=["pose", "landmarks"])
    assert row["head_rotation_speed__mean"] == pytest.approx(10.0)
    assert row["head_rotation_speed__std"] == pytest.approx(0.0)
    assert row["landmark_speed__mean"] == pytest.approx(5.0 * fps / 50.0)
    # no translation channels were given: empty in every video, so dropped (and reported)
    assert "head_translation_speed__mean" not in row.index


def test_feature_names_match_vector_and_groups_select_channels():
    r = synth.make_responses(2, seed=0)
    (vid, pid, frames) = next(synth.iter_frame_tables(r, fps=2, duration=10))
    for groups in (["aus"], ["pose", "gaze"], list(functionals.GROUPS)):
        channels = functionals.select_channels(groups, frames.columns)
        names = functionals.feature_names(groups, channels)
        vec = functionals.video_features(frames, groups=groups, channels=channels)
        assert len(vec) == len(names) == len(set(names))
        assert all("__" in n for n in names)
    aus_only = functionals.feature_names(
        ["aus"], functionals.select_channels(["aus"], frames.columns)
    )
    assert "AU12__mean" in aus_only and not any(n.startswith("pose_") for n in aus_only)
    with pytest.raises(FacemindError, match="unknown channel group"):
        functionals.select_channels(["faces"], frames.columns)


@pytest.fixture(scope="module")
def cohort(tmp_path_factory):
    out = tmp_path_factory.mktemp("cohort")
    cfg = synth.SynthConfig(participants=8, seed=2, fps=2, duration=12, videos_per_participant=2)
    synth.write_cohort(out, cfg)
    return out


def test_extract_features_from_directory(cohort):
    res = functionals.extract_features(cohort, jobs=1)
    t = res.table
    assert list(t.columns[:3]) == ["video_id", "participant_id", "synthetic"]
    assert t["synthetic"].all()  # labeled synthetic, like its source
    assert "synthetic" not in functionals.feature_columns(t)
    assert len(t) + len(res.excluded) == 16
    assert t["video_id"].is_unique
    man = pd.read_parquet(cohort / "manifest.parquet").set_index("video_id")
    assert (t["participant_id"] == man.loc[t["video_id"], "participant_id"].to_numpy()).all()
    assert {"AU12__kurtosis", "bs_jawOpen__mean", "x_0__iqr", "gaze_angle_y__q75"} <= set(t.columns)
    # the frames/ folder itself is accepted too, and parallel workers give the same table
    par = functionals.extract_features(cohort / "frames", jobs=2, chunk=3).table
    pd.testing.assert_frame_equal(t, par)


def test_min_face_frames_excludes_with_reasons(cohort, tmp_path):
    res = functionals.extract_features(cohort, min_face_frames=10_000)
    assert res.table.empty and len(res.excluded) == 16
    assert set(res.excluded["reason"]) == {"too_few_face_frames"}
    assert "16 video(s): too_few_face_frames" in res.summary()
    # a failed extraction and a missing frame table are reported, not silently dropped
    man = pd.read_parquet(cohort / "manifest.parquet")
    man.loc[0, "status"] = "failed"
    man.loc[1, "video_id"] = "ghost"
    d = tmp_path / "x"
    (d / "frames").mkdir(parents=True)
    for vid in man["video_id"].iloc[2:]:
        (d / "frames" / f"{vid}.parquet").write_bytes(
            (cohort / "frames" / f"{vid}.parquet").read_bytes()
        )
    man.to_parquet(d / "manifest.parquet")
    res = functionals.extract_features(d)
    reasons = res.excluded.set_index("video_id")["reason"]
    assert reasons[man.loc[0, "video_id"]] == "extraction_failed"
    assert reasons["ghost"] == "missing_frame_table"
    assert len(res.table) == 14


def test_per_participant_means_over_videos(cohort):
    vids = functionals.extract_features(cohort, groups=["aus"]).table
    parts = functionals.extract_features(cohort, groups=["aus"], per="participant").table
    assert len(parts) == vids["participant_id"].nunique()
    assert parts["coverage__videos"].tolist() == [2.0] * len(parts)
    p0 = parts.iloc[0]
    mine = vids[vids["participant_id"] == p0["participant_id"]]
    assert p0["AU12__mean"] == pytest.approx(mine["AU12__mean"].mean())
    assert p0["video_id"] == ";".join(sorted(mine["video_id"]))
    assert functionals.feature_columns(parts)[-1] == "coverage__videos"


def test_cli_features_success_and_errors(cohort, tmp_path, capsys):
    out = tmp_path / "f.parquet"
    rc = main(["features", str(cohort), "--out", str(out), "--groups", "aus,pose"])
    assert rc == 0
    assert "video rows" in capsys.readouterr().out
    t = pd.read_parquet(out)
    assert "AU12__mean" in t.columns and not any(c.startswith("x_") for c in t.columns)
    cases = [
        ([str(tmp_path / "nope"), "--out", str(out)], "frames directory not found"),
        ([str(cohort), "--out", str(out), "--groups", "aus,faces"], "unknown channel group"),
        ([str(cohort), "--out", str(tmp_path / "f.xlsx")], "unsupported table extension"),
        ([str(cohort), "--out", str(out), "--per", "school"], "--per must be one of"),
        ([str(tmp_path), "--out", str(out)], "no manifest.parquet"),
    ]
    for args, msg in cases:
        rc = main(["features", *args])
        err = capsys.readouterr().err
        assert rc == 2, args
        assert msg in err and err.count("\n") == 1 and "Traceback" not in err


def test_default_groups_follow_the_columns_present():
    # an OpenFace-like table: core columns only, no blendshapes
    frames = _frames(30, AU12=np.linspace(0, 2, 30), pose_yaw=np.linspace(0, 5, 30))
    res = functionals.compute_features([("v", "p", frames)], min_face_frames=1)
    cols = functionals.feature_columns(res.table)
    assert not any(c.startswith("bs_") for c in cols)
    assert "AU12__mean" in cols and "pose_yaw__mean" in cols
    # core channels with no values at all (here: landmarks, gaze) are dropped and reported
    assert "x_0__mean" not in cols and "x_0__mean" in res.dropped_columns
    assert "empty in every video dropped" in res.summary()
    # coverage is always there
    assert {"coverage__frames", "coverage__face_share"} <= set(cols)
