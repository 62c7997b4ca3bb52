"""Rigid head pose and the column-wise frame table, on synthetic transforms and real frames."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from facemind.face import geometry as g
from facemind.face import pose as P
from facemind.face import signals
from facemind.face.aus import geometry_features
from facemind.face.landmarker import Landmarker
from facemind.face.schema import AU_NAMES, MP_LANDMARKS_COLUMN, POSE_COLUMNS, conform
from facemind.face.signals import frame_table
from facemind.face.video import iter_frames, open_video

# Mesh points an expression moves: lips, jaw line, brows, lids (none is a rigid point).
LIPS = (0, 13, 14, 17, 37, 40, 61, 78, 82, 84, 87, 91, 267, 270, 291, 308, 312, 314, 317, 321)
JAW = (58, 136, 149, 150, 152, 172, 176, 365, 377, 378, 379, 397, 400)
BROWS = (63, 66, 70, 105, 107, 293, 296, 300, 334, 336)
LIDS = (144, 145, 153, 158, 159, 160, 373, 374, 380, 385, 386, 387)
MOVING = LIPS + JAW + BROWS + LIDS


def test_moving_points_are_not_rigid_points():
    assert not set(MOVING) & set(P.RIGID_POINTS)
    assert len(P.RIGID_WEIGHTS) == len(P.RIGID_POINTS)


def _posed_mesh(pitch, yaw, roll, scale, shift, rng, displace=0.0):
    """Canonical face (plus 10 iris points) in pixels under a known similarity transform."""
    model = np.vstack([P.canonical_face(), P.canonical_face()[[468 - 1] * 10]]).copy()
    model[list(MOVING)] += displace * rng.normal(size=(len(MOVING), 3))
    rot = g.rotation_xyz(pitch, yaw, roll)
    return scale * model @ rot.T + shift, rot


angle = st.floats(-0.6, 0.6)


@settings(max_examples=40, deadline=None)
@given(angle, angle, angle, st.floats(5.0, 40.0), st.integers(0, 2**31))
def test_rigid_transform_recovered_while_mouth_and_brows_move(pitch, yaw, roll, scale, seed):
    rng = np.random.default_rng(seed)
    shift = np.array([320.0, 180.0, 0.0]) + rng.normal(scale=50.0, size=3)
    # mouth opened, jaw dropped, brows raised: up to a few cm on a life-size face
    mesh, rot = _posed_mesh(pitch, yaw, roll, scale, shift, rng, displace=1.5)
    fit = P.fit_head(mesh[None])
    assert np.allclose(fit.rotation[0], rot, atol=1e-9)
    assert fit.scale[0] == pytest.approx(scale, rel=1e-9)
    assert np.allclose(fit.shift[0], shift, atol=1e-6)
    assert np.allclose(P.euler_xyz(fit.rotation)[0], (pitch, yaw, roll), atol=1e-9)
    # pose removed: the head points are the canonical face again
    head = fit.head_points(mesh[None])[0]
    rigid = list(P.RIGID_POINTS)
    assert np.allclose(head[rigid], P.canonical_face()[rigid], atol=1e-9)


def test_head_pose_translation_under_openface_camera():
    rng = np.random.default_rng(0)
    # 640x360: OpenFace assumes fx = fy = 437.5; a face 400 mm away is 437.5/40 px per cm
    f = P.openface_focal(640, 360)
    assert f == pytest.approx(437.5)
    assert P.openface_focal(960, 540) == pytest.approx(656.25)
    mesh, _ = _posed_mesh(0.1, -0.2, 0.05, f / 40.0, np.array([320 + f / 4, 180 - f / 8, 0]), rng)
    pitch, yaw, roll, tx, ty, tz = P.head_pose(P.fit_head(mesh[None]), 640, 360)[0]
    assert (pitch, yaw, roll) == pytest.approx(np.degrees((0.1, -0.2, 0.05)))
    assert (tx, ty, tz) == pytest.approx((100.0, -50.0, 400.0))


@pytest.fixture(scope="module")
def detections(assets_dir, face_model):
    """MediaPipe outputs of every frame of single_face.mp4 (a face in all 72 frames)."""
    container, _ = open_video(assets_dir / "single_face.mp4")
    out = {"frame": [], "timestamp": [], "mesh": [], "blendshapes": [], "matrices": []}
    with container, Landmarker(face_model, video=True) as lm:
        for i, t, rgb in iter_frames(container):
            det = lm.detect(rgb, t)
            assert det is not None
            out["frame"].append(i)
            out["timestamp"].append(t)
            out["mesh"].append(det.mesh)
            out["blendshapes"].append(det.blendshapes)
            out["matrices"].append(det.matrix)
            size = rgb.shape[1], rgb.shape[0]
    arrays = {k: np.asarray(v) for k, v in out.items()}
    arrays["face"] = np.ones(len(arrays["frame"]), dtype=bool)
    return arrays, size


def _table(d, size, calibration, rows=slice(None)):
    return frame_table(
        d["frame"][rows], d["timestamp"][rows], d["face"][rows], d["mesh"][rows],
        d["blendshapes"][rows], d["matrices"][rows], *size, au_calibration=calibration,
    )  # fmt: skip


def test_vectorised_table_equals_frame_by_frame(detections, monkeypatch):
    d, size = detections
    whole = _table(d, size, "none")
    monkeypatch.setattr(signals, "CHUNK", 25)  # long videos go in blocks: the same table
    blocks = _table(d, size, "video")
    monkeypatch.undo()
    pd.testing.assert_frame_equal(
        blocks.drop(columns=MP_LANDMARKS_COLUMN),
        _table(d, size, "video").drop(columns=MP_LANDMARKS_COLUMN),
        rtol=1e-12,
        atol=1e-12,
    )
    single = pd.concat([_table(d, size, "none", slice(i, i + 1)) for i in range(len(d["frame"]))],
                       ignore_index=True)  # fmt: skip
    floats = [c for c in whole.columns if c != MP_LANDMARKS_COLUMN]
    pd.testing.assert_frame_equal(whole[floats], single[floats], rtol=1e-9, atol=1e-9)
    assert all(
        np.array_equal(a, b)
        for a, b in zip(whole[MP_LANDMARKS_COLUMN], single[MP_LANDMARKS_COLUMN], strict=True)
    )
    pd.testing.assert_frame_equal(conform(whole), whole, check_dtype=False)


def test_rows_without_face_hold_nulls(detections):
    d, size = detections
    d = dict(d, face=np.arange(len(d["frame"])) % 3 != 0)  # every third frame: no face
    keep = d["face"]
    df = frame_table(d["frame"], d["timestamp"], keep, d["mesh"][keep], d["blendshapes"][keep],
                     d["matrices"][keep], *size)  # fmt: skip
    assert df["frame"].tolist() == d["frame"].tolist()
    assert df.loc[~keep, list(AU_NAMES) + list(POSE_COLUMNS)].isna().all().all()
    assert df.loc[~keep, MP_LANDMARKS_COLUMN].isna().all()
    assert df.loc[keep, list(AU_NAMES)].notna().all().all()
    empty = frame_table(d["frame"][:3], d["timestamp"][:3], np.zeros(3, bool), np.zeros((0, 478, 3)),
                        np.zeros((0, 52)), np.zeros((0, 4, 4)), *size)  # fmt: skip
    assert not empty["face_detected"].any() and empty["AU12"].isna().all()
    with pytest.raises(ValueError, match="mesh has 47 rows for 48 face frames"):
        frame_table(d["frame"], d["timestamp"], keep, d["mesh"][keep][1:],
                    d["blendshapes"][keep], d["matrices"][keep], *size)  # fmt: skip


def test_video_calibration_puts_neutral_near_zero(detections):
    d, size = detections
    video, absolute = _table(d, size, "video"), _table(d, size, "none")
    for au in AU_NAMES:  # the face's neutral level (a low percentile) reads 0
        assert np.percentile(video[au], 5) <= 0.05, au
    # a blendshape AU only loses this face's resting level
    assert (video["AU12"] <= absolute["AU12"] + 1e-9).all()
    with pytest.raises(ValueError, match="au_calibration"):
        _table(d, size, "person")


def test_pitch_does_not_follow_the_mouth(detections):
    """single_face.mp4: the head stays nearly still while the mouth opens and closes; pitch
    must not differ by more than 0.3 degrees between the quarter of frames with the widest and
    the quarter with the narrowest lip gap (MediaPipe's own matrix: 0.45, a fit to the whole
    mesh: 1.9)."""
    d, size = detections
    df = _table(d, size, "video")
    mesh_px = d["mesh"] * np.array([size[0], size[1], size[0]])
    gap = geometry_features(P.fit_head(mesh_px).head_points(mesh_px))["lip_gap"]
    open_, closed = gap >= np.quantile(gap, 0.75), gap <= np.quantile(gap, 0.25)
    assert gap[open_].mean() - gap[closed].mean() > 0.15  # the mouth really opens
    pitch = df["pose_pitch"].to_numpy()
    assert abs(pitch[open_].mean() - pitch[closed].mean()) < 0.3
    # opening the mouth further on these real frames (lips and jaw 1 cm down in the head's
    # axes) leaves the pose exactly as it was
    fit = P.fit_head(mesh_px)
    moved = fit.head_points(mesh_px)
    moved[:, list(LIPS[2:4] + JAW)] += (0.0, 1.0, 0.0)
    back = np.einsum("nij,nkj->nki", fit.rotation, moved) * fit.scale[:, None, None]
    back += fit.shift[:, None, :]
    assert np.allclose(P.fit_head(back).rotation, fit.rotation, atol=1e-9)
