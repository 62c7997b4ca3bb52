"""Head pose, gaze, alignment and the 68-point map: hand-computed values and invariants."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from facemind.face import geometry as g

FLIP = np.diag([1.0, -1.0, -1.0])
angle = st.floats(-1.2, 1.2)


@given(angle, angle, angle)
def test_euler_roundtrip(pitch, yaw, roll):
    r = g.rotation_xyz(pitch, yaw, roll)
    assert np.allclose(r @ r.T, np.eye(3), atol=1e-9)
    assert np.allclose(g.euler_xyz(r), (pitch, yaw, roll), atol=1e-9)


@given(angle, angle, angle, st.floats(-20, 20), st.floats(-20, 20), st.floats(-80, -20))
def test_mediapipe_pose_from_its_matrix(pitch, yaw, roll, tx, ty, tz):
    # Build MediaPipe's matrix (OpenGL axes, cm) from a known OpenFace-frame rotation.
    m = np.eye(4)
    m[:3, :3] = FLIP @ g.rotation_xyz(pitch, yaw, roll) @ FLIP
    m[:3, 3] = (tx, ty, tz)
    p, y, r, otx, oty, otz = g.mediapipe_pose(m)
    assert np.allclose((p, y, r), np.degrees((pitch, yaw, roll)), atol=1e-6)
    assert np.allclose((otx, oty, otz), (10 * tx, -10 * ty, -10 * tz))
    assert otz > 0  # in front of the camera, as OpenFace's pose_Tz


def test_pose_sign_conventions():
    nose = np.array([0.0, 0.0, -1.0])  # model nose points towards the camera (-z)
    # positive yaw: nose moves to the image's left
    assert (g.rotation_xyz(0, 0.3, 0) @ nose)[0] < 0
    # positive pitch: nose moves down in the image (looking down)
    assert (g.rotation_xyz(0.3, 0, 0) @ nose)[1] > 0
    # positive roll: the head's x axis turns towards +y (clockwise in the image)
    assert (g.rotation_xyz(0, 0, 0.3) @ np.array([1.0, 0, 0]))[1] > 0


def test_head_rotation_removes_scale():
    m = np.eye(4)
    m[:3, :3] = 1.7 * (FLIP @ g.rotation_xyz(0.1, -0.2, 0.05) @ FLIP)
    assert np.allclose(g.mediapipe_rotation(m), g.rotation_xyz(0.1, -0.2, 0.05), atol=1e-9)


def _eye_mesh(iris_offset):
    mesh = np.zeros((478, 3))
    mesh[g.RIGHT_EYE_OUTER] = (100.0, 200.0, 0.0)
    mesh[g.RIGHT_EYE_INNER] = (130.0, 200.0, 0.0)
    mesh[g.LEFT_EYE_INNER] = (170.0, 200.0, 0.0)
    mesh[g.LEFT_EYE_OUTER] = (200.0, 200.0, 0.0)
    mesh[g.RIGHT_IRIS] = (115.0, 200.0, 0.0) + np.asarray(iris_offset)
    mesh[g.LEFT_IRIS] = (185.0, 200.0, 0.0) + np.asarray(iris_offset)
    return mesh


def test_gaze_straight_and_known_angle():
    left, right, ax, ay = g.gaze(_eye_mesh((0, 0, 0)), np.eye(3))
    assert np.allclose(left, (0, 0, -1)) and np.allclose(right, (0, 0, -1))
    assert ax == pytest.approx(0) and ay == pytest.approx(0)
    # eye width 30 px, eyeball radius 0.42 * 30 = 12.6 px; an offset of r*sin(20 deg)
    # to the image's right is a gaze 20 degrees to the right, as OpenFace's positive angle_x.
    r = g.EYEBALL_RADIUS_SHARE * 30.0
    left, right, ax, ay = g.gaze(_eye_mesh((r * np.sin(np.radians(20)), 0, 0)), np.eye(3))
    assert np.degrees(ax) == pytest.approx(20, abs=1e-6)
    assert ay == pytest.approx(0, abs=1e-9)
    assert np.linalg.norm(left) == pytest.approx(1)
    # looking down: positive gaze_angle_y
    _, _, _, ay = g.gaze(_eye_mesh((0, r * np.sin(np.radians(10)), 0)), np.eye(3))
    assert np.degrees(ay) == pytest.approx(10, abs=1e-6)


def test_eye_0_is_the_leftmost_eye_in_the_image():
    # As OpenFace: eye 0 is the person's right eye, on the image's left (x 100-130 here).
    mesh = _eye_mesh((0, 0, 0))
    mesh[g.RIGHT_IRIS, 0] += 5.0  # only the eye on the image's left looks to the right
    eye0, eye1, _, _ = g.gaze(mesh, np.eye(3))
    assert eye0[0] > 0.3 and np.allclose(eye1, (0, 0, -1))
    # n frames at once give the same vectors
    many = g.gaze(np.stack([mesh, _eye_mesh((0, 0, 0))]), np.stack([np.eye(3)] * 2))
    assert np.allclose(many[0][0], eye0) and np.allclose(many[0][1], (0, 0, -1))


def test_gaze_follows_head_rotation():
    # Eyes centred in a head turned by yaw: the gaze turns with the head.
    rot = g.rotation_xyz(0, np.radians(15), 0)
    mesh = _eye_mesh((0, 0, 0))
    left, _, ax, _ = g.gaze(mesh, rot)
    assert np.allclose(left, rot @ (0, 0, -1))
    assert np.degrees(ax) == pytest.approx(-15)  # nose to the image's left: angle_x < 0


def test_gaze_angles_match_openface_formula():
    g0 = np.array([0.109059, 0.062474, -0.99207])
    g1 = np.array([-0.124401, 0.0663107, -0.990014])
    m = (g0 + g1) / 2
    assert g.gaze_angles(g0, g1) == pytest.approx(
        (np.arctan2(m[0], -m[2]), np.arctan2(m[1], -m[2]))
    )


def test_alignment_puts_eyes_level_at_target():
    mesh = np.zeros((478, 3))
    # eyes tilted by 30 degrees, centres at (100, 100) and (100 + 60 cos30, 100 + 60 sin30)
    c = np.array([100.0, 100.0])
    d = 60 * np.array([np.cos(np.radians(30)), np.sin(np.radians(30))])
    for idx, p in (
        (g.RIGHT_EYE_OUTER, c - (3, 0)),
        (g.RIGHT_EYE_INNER, c + (3, 0)),
        (g.LEFT_EYE_INNER, c + d - (3, 0)),
        (g.LEFT_EYE_OUTER, c + d + (3, 0)),
    ):
        mesh[idx, :2] = p
    m = g.alignment_matrix(mesh, size=112, eye_distance=0.35, eye_height=0.36)
    right = m @ np.append(c, 1)
    left = m @ np.append(c + d, 1)
    assert right[1] == pytest.approx(left[1])  # level
    assert left[0] - right[0] == pytest.approx(0.35 * 112)
    assert (right[0] + left[0]) / 2 == pytest.approx(56)
    assert right[1] == pytest.approx(0.36 * 112)


def test_ibug_map_is_68_distinct_mesh_points():
    idx = g.IBUG68_FROM_MEDIAPIPE
    assert len(idx) == 68 and len(set(idx)) == 68
    assert all(0 <= i < 468 for i in idx)


def test_ibug_map_topology_on_real_face(extracted):
    """On a frontal real face the mapped points keep the iBUG layout."""
    import pandas as pd

    df = pd.read_parquet(extracted / "frames" / "single_face.parquet")
    row = df[df.face_detected].iloc[0]
    x = np.array([row[f"x_{i}"] for i in range(68)])
    y = np.array([row[f"y_{i}"] for i in range(68)])
    assert x[0] < x[4] < x[8] < x[12] < x[16]  # jaw runs from the image's left to right
    assert np.argmax(y[:17]) == 8  # chin lowest
    assert x[36] < x[39] < x[42] < x[45]  # eye corners
    assert max(y[17:27]) < min(y[36:48])  # brows above eyes
    assert np.all(np.diff(y[27:31]) > 0)  # nose bridge runs down
    assert x[31] < x[33] < x[35]
    assert x[48] < x[51] < x[54] and y[51] < y[62] <= y[66] < y[57]  # lips
    assert max(y[36:48]) < y[30] < min(y[48:68])  # nose tip between eyes and mouth
