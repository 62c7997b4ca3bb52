"""Rigid head pose and the column-wise frame table, on synthetic transforms and real frames."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import ndimage

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


def test_head_pose_needs_the_image_size_and_is_exact_on_the_optical_axis():
    rng = np.random.default_rng(0)
    # 640x360: OpenFace assumes fx = fy = 437.5; a face 400 mm away is 437.5/40 px per cm
    f = P.openface_focal(640, 360)
    assert f == pytest.approx(437.5)
    assert P.openface_focal(960, 540) == pytest.approx(656.25)
    # at the image centre the line of sight is the optical axis: apparent = camera axes
    mesh, _ = _posed_mesh(0.1, -0.2, 0.05, f / 40.0, np.array([320.0, 180.0, 0.0]), rng)
    fit = P.fit_head(mesh[None], 640, 360)
    assert np.allclose(fit.camera, fit.rotation, atol=1e-12)
    pitch, yaw, roll, tx, ty, tz = P.head_pose(fit, 640, 360)[0]
    assert (pitch, yaw, roll) == pytest.approx(np.degrees((0.1, -0.2, 0.05)))
    assert (tx, ty, tz) == pytest.approx((0.0, 0.0, 400.0), abs=1e-9)
    with pytest.raises(ValueError, match="image size"):
        P.head_pose(P.fit_head(mesh[None]), 640, 360)


def test_line_of_sight_turns_the_optical_axis_onto_the_ray():
    shift = np.array([[320.0, 180.0], [320.0 + 437.5, 180.0], [0.0, 400.0], [600.0, 10.0]])
    los = P.line_of_sight(shift, 640, 360)
    ray = np.column_stack([(shift - (320.0, 180.0)) / 437.5, np.ones(4)])
    assert np.allclose(los[:, :, 2], ray / np.linalg.norm(ray, axis=1, keepdims=True))
    assert np.allclose(los @ los.transpose(0, 2, 1), np.eye(3), atol=1e-12)
    assert np.allclose(np.linalg.det(los), 1.0)
    assert np.allclose(los[0], np.eye(3))
    # 45 degrees to the right: a turn about the y axis only (yaw 45, pitch and roll 0)
    assert np.allclose(np.degrees(P.euler_xyz(los[1])), (0.0, 45.0, 0.0))
    assert np.allclose(los[:, 2, :2], -los[:, :2, 2])  # no roll about the ray


# Image size and face distance of the camera-axes ground truth: far enough (5 m) that the
# perspective within the face, which the similarity fit ignores, is below 0.5 degrees
# (at 50 cm it alone tilts pitch by about 3.7 degrees, at every position alike).
GT_SIZE, GT_DISTANCE = (1920, 1080), 500.0
# Directions of the face seen from the camera, degrees right and down of the optical axis.
GT_POSITIONS = ((0, 0), (20, 0), (0, -20), (-25, 0), (0, 25), (15, -15), (-18, 12), (20, 20))
GT_ROTATIONS = ((0, 0, 0), (10, -15, 5), (-20, 25, -10), (15, 10, 20), (-5, -30, 0))


def _camera_mesh(rot, t_cm, width, height):
    """MediaPipe-like mesh (pixels) of the canonical face at ``rot``, ``t_cm`` (camera axes).

    x and y: the exact perspective projection under OpenFace's default camera. z: depth
    along the line of sight from the camera to the face centre, relative to the centre, in
    the face's pixel scale (f / Z_c). MediaPipe's network sees only the face's crop, whose
    viewing direction is that line of sight; its depth is depth along the view (a pure
    camera rotation, a warp of the image, leaves its apparent rotation nearly unchanged:
    ``test_camera_turn_of_real_frames``).
    """
    f = P.openface_focal(width, height)
    pts = P.canonical_face() @ rot.T + t_cm
    ray = t_cm / np.linalg.norm(t_cm)
    x = f * pts[:, 0] / pts[:, 2] + width / 2.0
    y = f * pts[:, 1] / pts[:, 2] + height / 2.0
    z = f * ((pts - t_cm) @ ray) / t_cm[2]
    return np.column_stack([x, y, z])


def _angle_between(a, b):
    """Angle (degrees) of the rotation taking ``b`` to ``a``."""
    return np.degrees(np.arccos(np.clip((np.trace(a @ b.T) - 1.0) / 2.0, -1.0, 1.0)))


def test_head_pose_recovers_camera_axes_rotation_across_the_image():
    """Ground truth: a known camera-axes rotation placed at the centre and 20-28 degrees off
    the optical axis. The apparent rotation (the fit to the mesh) is off by about the line of
    sight's angle (the pose before camera axes: up to 28 degrees); head_pose recovers pitch,
    yaw and roll within 0.5 degrees and the translation within 1% of the distance at every
    position. What is left is the weak-perspective approximation (perspective within the
    face), which shrinks with distance: at 1 m the same test is off by up to 2.1 degrees."""
    width, height = GT_SIZE
    worst_angle = worst_t = 0.0
    for right, down in GT_POSITIONS:
        t_cm = GT_DISTANCE * np.array([np.tan(np.radians(right)), np.tan(np.radians(down)), 1])
        sight = np.degrees(np.arccos(GT_DISTANCE / np.linalg.norm(t_cm)))
        for angles in GT_ROTATIONS:
            rot = g.rotation_xyz(*np.radians(angles))
            fit = P.fit_head(_camera_mesh(rot, t_cm, width, height)[None], width, height)
            # (a) the apparent rotation is the rotation relative to the line of sight
            assert abs(_angle_between(fit.rotation[0], rot) - sight) < 2.5
            # (b) in camera axes, as OpenFace: the known rotation and position
            pose = P.head_pose(fit, width, height)[0]
            assert np.abs(pose[:3] - angles).max() < 0.5, (right, down, angles, pose[:3])
            assert np.abs(pose[3:] - 10.0 * t_cm).max() < 0.01 * 10.0 * GT_DISTANCE
            worst_angle = max(worst_angle, np.abs(pose[:3] - angles).max())
            worst_t = max(worst_t, np.abs(pose[3:] / 10.0 - t_cm).max())
    assert worst_angle > 0.05  # the mesh is a perspective view, not an exact similarity


def test_camera_axes_sign_conventions_off_centre():
    """A face looking straight ahead (R = I in camera axes, OpenFace's pose 0) to the image's
    right is seen from the person's right: relative to the line of sight it is turned to
    their left, nose towards the image's right (negative yaw). Below the optical axis it is
    seen from above, as if looking down (positive pitch). In camera axes both read 0."""
    width, height = GT_SIZE
    for t_cm, sign in (([150.0, 0.0, 500.0], (0, -1)), ([0.0, 150.0, 500.0], (1, 0))):
        fit = P.fit_head(_camera_mesh(np.eye(3), np.array(t_cm), width, height)[None], *GT_SIZE)
        apparent = np.degrees(P.euler_xyz(fit.rotation))[0]
        sight = np.degrees(np.arctan(150.0 / 500.0))
        assert np.allclose(apparent[:2], np.multiply(sign, sight), atol=1.5), apparent
        assert np.abs(P.head_pose(fit, width, height)[0, :3]).max() < 0.5


def _turn_camera(rgb, turn, focal):
    """The frame as a pinhole camera turned by ``turn`` (camera axes) would see it: a pure
    rotation, so the image is warped by the homography K turn K^-1 (no parallax)."""
    height, width = rgb.shape[:2]
    k = np.array([[focal, 0, width / 2.0], [0, focal, height / 2.0], [0, 0, 1]])
    back = k @ turn.T @ np.linalg.inv(k)  # output pixel -> input pixel
    ys, xs = np.mgrid[0:height, 0:width].astype(float)
    src = np.einsum("ij,jhw->ihw", back, np.stack([xs + 0.5, ys + 0.5, np.ones_like(xs)]))
    rows, cols = src[1] / src[2] - 0.5, src[0] / src[2] - 0.5
    out = [ndimage.map_coordinates(rgb[..., c], [rows, cols], order=1) for c in range(3)]
    return np.stack(out, axis=-1)


def test_camera_turn_of_real_frames(assets_dir, face_model):
    """Real ground truth with MediaPipe itself: frames of single_face.mp4 warped as if the
    camera (OpenFace's default intrinsics) had turned by a known rotation Q (15 degrees of
    yaw, 12 of pitch, both). The head's rotation in camera axes must turn by Q; MediaPipe's
    mesh, the face's appearance, barely turns (the apparent rotation, the pose before camera
    axes, misses Q by 11-15 degrees). The camera-axes pose follows Q within 4.5 degrees
    (mean error 1-3.5): what is left is MediaPipe's, whose apparent rotation follows about a
    fifth of the turn. The translation turns with Q within 8 mm of about 500."""
    container, _ = open_video(assets_dir / "single_face.mp4")
    with container:
        frames = [rgb for i, _, rgb in iter_frames(container) if i % 12 == 0]
    height, width = frames[0].shape[:2]
    focal = P.openface_focal(width, height)

    def pose_of(lm, rgb):
        mesh_px = lm.detect(rgb).mesh[None] * (width, height, width)
        fit = P.fit_head(mesh_px, width, height)
        return fit.rotation[0], fit.camera[0], P.head_pose(fit, width, height)[0, 3:]

    with Landmarker(face_model, video=False) as lm:
        before = [pose_of(lm, rgb) for rgb in frames]
        for turn_deg in ((0, 15, 0), (0, -15, 0), (12, 0, 0), (-12, 0, 0), (10, 12, 0)):
            turn = g.rotation_xyz(*np.radians(turn_deg))
            camera_err, apparent_err = [], []
            for rgb, (app0, cam0, t0) in zip(frames, before, strict=True):
                app1, cam1, t1 = pose_of(lm, _turn_camera(rgb, turn, focal))
                camera_err.append(_angle_between(cam1, turn @ cam0))
                apparent_err.append(_angle_between(app1, turn @ app0))
                assert np.abs(t1 - turn @ t0).max() < 8.0, (turn_deg, t1, turn @ t0)
            assert max(camera_err) < 4.5, (turn_deg, camera_err)
            assert min(apparent_err) > 10.0, (turn_deg, apparent_err)


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
        d["frame"][rows],
        d["timestamp"][rows],
        d["face"][rows],
        d["mesh"][rows],
        d["blendshapes"][rows],
        *size,
        au_calibration=calibration,
    )


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
    single = pd.concat(
        [_table(d, size, "none", slice(i, i + 1)) for i in range(len(d["frame"]))],
        ignore_index=True,
    )
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
    df = frame_table(
        d["frame"], d["timestamp"], keep, d["mesh"][keep], d["blendshapes"][keep], *size
    )
    assert df["frame"].tolist() == d["frame"].tolist()
    assert df.loc[~keep, list(AU_NAMES) + list(POSE_COLUMNS)].isna().all().all()
    assert df.loc[~keep, MP_LANDMARKS_COLUMN].isna().all()
    assert df.loc[keep, list(AU_NAMES)].notna().all().all()
    empty = frame_table(
        d["frame"][:3],
        d["timestamp"][:3],
        np.zeros(3, bool),
        np.zeros((0, 478, 3)),
        np.zeros((0, 52)),
        *size,
    )
    assert not empty["face_detected"].any() and empty["AU12"].isna().all()
    with pytest.raises(ValueError, match="mesh has 47 rows for 48 face frames"):
        frame_table(
            d["frame"], d["timestamp"], keep, d["mesh"][keep][1:], d["blendshapes"][keep], *size
        )


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
    """single_face.mp4: the head stays nearly still while the mouth opens and closes. The
    rigid points control the rotation relative to the line of sight (the apparent rotation);
    its pitch must not differ by more than 0.3 degrees between the quarter of frames with the
    widest and the quarter with the narrowest lip gap (MediaPipe's own matrix: 0.45, a fit to
    the whole mesh: 1.9). The camera-axes pitch is compared like with like: in this clip the
    head rises 6-7 px when the mouth opens (no open and closed frames share a face position
    within 3 px), so the line of sight turns by about 0.8 degrees between the quarters; with
    that turn taken out, pitch again moves less than 0.3 degrees."""
    d, size = detections
    df = _table(d, size, "video")
    mesh_px = d["mesh"] * np.array([size[0], size[1], size[0]])
    gap = geometry_features(P.fit_head(mesh_px).head_points(mesh_px))["lip_gap"]
    open_, closed = gap >= np.quantile(gap, 0.75), gap <= np.quantile(gap, 0.25)
    assert gap[open_].mean() - gap[closed].mean() > 0.15  # the mouth really opens
    fit = P.fit_head(mesh_px, *size)
    apparent = np.degrees(P.euler_xyz(fit.rotation))[:, 0]
    assert abs(apparent[open_].mean() - apparent[closed].mean()) < 0.3
    pitch = df["pose_pitch"].to_numpy()
    assert np.allclose(pitch, P.head_pose(fit, *size)[:, 0])
    sight = np.degrees(P.euler_xyz(P.line_of_sight(fit.shift, *size)))[:, 0]
    moved = sight[open_].mean() - sight[closed].mean()
    assert 0.5 < moved < 1.2  # the head's displacement, not its rotation
    assert abs(pitch[open_].mean() - pitch[closed].mean() - moved) < 0.3
    # opening the mouth further on these real frames (lips and jaw 1 cm down in the head's
    # axes) leaves the pose exactly as it was
    moved = fit.head_points(mesh_px)
    moved[:, list(LIPS[2:4] + JAW)] += (0.0, 1.0, 0.0)
    back = np.einsum("nij,nkj->nki", fit.rotation, moved) * fit.scale[:, None, None]
    back += fit.shift[:, None, :]
    again = P.fit_head(back, *size)
    assert np.allclose(again.rotation, fit.rotation, atol=1e-9)
    assert np.allclose(again.camera, fit.camera, atol=1e-9)


@pytest.fixture(scope="module")
def talking(assets_dir, face_model):
    """facemind's extraction of WolfgangLanger_Pexels.mp4 (a second person, 472 frames: crying,
    a hand over the mouth, then laughing; the head moves)."""
    from facemind.face.extract import ExtractSettings, extract_video

    settings = ExtractSettings()
    path = assets_dir / "WolfgangLanger_Pexels.mp4"
    return extract_video(path, lambda: settings.landmarker(face_model), settings)


def _within_second(x: np.ndarray, fps: float) -> np.ndarray:
    """``x`` minus its running median over one second: the time scale of speech."""
    return x - ndimage.median_filter(x, size=2 * int(round(fps / 2)) + 1, mode="nearest")


def test_mouth_moves_neither_pose_nor_upper_face_on_the_talking_face(talking):
    """On a second person's real frames: (a) by design, the lower lip and jaw moved 1 cm down in
    the head's axes (the mouth opened further) leave the pose and the upper-face landmark measures exactly as they were;
    (b) within a second (where the lips move with speech and the posture hardly does), pitch,
    AU06, AU07 and AU45 do not follow the lip gap (measured |r| 0.00-0.10). Over the whole
    clip pitch and the lip gap do go together (r about -0.6): she looks up while her mouth is
    open, a posture that the pixels confirm (benchmarks/check_pitch_flow.py)."""
    df = talking.frames
    assert df["face_detected"].all()
    w, h = talking.info.width, talking.info.height
    mesh = np.stack(df[MP_LANDMARKS_COLUMN].to_numpy()).reshape(len(df), -1, 3)
    mesh_px = mesh.astype(np.float64) * np.array([w, h, w])
    fit = P.fit_head(mesh_px, w, h)
    head = fit.head_points(mesh_px)
    feats = geometry_features(head)
    moved = head.copy()
    moved[:, [14, 17, 84, 87, 314, 317, *JAW]] += (0.0, 1.0, 0.0)  # lower lip, jaw
    back = np.einsum("nij,nkj->nki", fit.rotation, moved) * fit.scale[:, None, None]
    back += fit.shift[:, None, :]
    again = P.fit_head(back, w, h)
    assert np.allclose(again.camera, fit.camera, atol=1e-9)
    moved_feats = geometry_features(again.head_points(back))
    assert (moved_feats["lip_gap"] > feats["lip_gap"] + 0.05).all()
    for name in ("upper_lid", "lower_lid", "cheek", "brow_inner"):
        assert np.allclose(moved_feats[name], feats[name], atol=1e-9), name
    fps = talking.info.fps
    gap = _within_second(feats["lip_gap"], fps)
    assert gap.std() > 0.005  # the lips do move within seconds
    for col in ("pose_pitch", "AU06", "AU07", "AU45"):
        r = np.corrcoef(_within_second(df[col].to_numpy(float), fps), gap)[0, 1]
        assert abs(r) < 0.2, (col, r)
    assert np.corrcoef(df["pose_pitch"], feats["lip_gap"])[0, 1] < -0.4
