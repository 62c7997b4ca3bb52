"""Face geometry from the 478-point MediaPipe mesh: 68-point subset, head pose, gaze, alignment.

Coordinates follow OpenFace 2's camera frame: x to the right of the image, y down, z away
from the camera. MediaPipe's transformation matrix uses OpenGL axes (y up, z towards the
viewer) and centimetres; :func:`mediapipe_pose` converts it. Extraction takes its head pose from
the rigid fit in :mod:`facemind.face.pose` instead, as MediaPipe fits the matrix to the
mouth and jaw too.
"""

from __future__ import annotations

import numpy as np

# MediaPipe mesh index of each iBUG-68 point (OpenFace numbering). "Right" is the person's
# right, which is on the left of a (non-mirrored) image. Documented in docs/extraction.md.
IBUG68_FROM_MEDIAPIPE: tuple[int, ...] = (
    # 0-16 jaw line, from the right temple over the chin (8) to the left temple
    127, 234, 93, 132, 58, 172, 136, 149, 152, 378, 365, 397, 288, 361, 323, 454, 356,
    # 17-21 right brow (outer to inner), 22-26 left brow (inner to outer)
    70, 63, 105, 66, 107, 336, 296, 334, 293, 300,
    # 27-30 nose bridge (top to tip), 31-35 nostril base (right to left)
    168, 197, 5, 4, 98, 97, 2, 326, 327,
    # 36-41 right eye: outer corner, upper lid (2), inner corner, lower lid (2)
    33, 160, 158, 133, 153, 144,
    # 42-47 left eye: inner corner, upper lid (2), outer corner, lower lid (2)
    362, 385, 387, 263, 373, 380,
    # 48-59 outer lip contour, from the right mouth corner clockwise in the image
    61, 40, 37, 0, 267, 270, 291, 321, 314, 17, 84, 91,
    # 60-67 inner lip contour, from the right inner corner clockwise in the image
    78, 82, 13, 312, 308, 317, 14, 87,
)  # fmt: skip

# Named mesh points used by the estimators below.
RIGHT_EYE_OUTER, RIGHT_EYE_INNER = 33, 133
LEFT_EYE_INNER, LEFT_EYE_OUTER = 362, 263
RIGHT_IRIS, LEFT_IRIS = 468, 473  # iris centres (refined landmarks 468-477)
RIGHT_EYE_UPPER, RIGHT_EYE_LOWER = 159, 145
LEFT_EYE_UPPER, LEFT_EYE_LOWER = 386, 374
MOUTH_RIGHT, MOUTH_LEFT = 61, 291
LIP_INNER_TOP, LIP_INNER_BOTTOM = 13, 14
NOSE_TIP = 4
RIGHT_ALA, LEFT_ALA = 98, 327  # lower edge of the nostril wings
RIGHT_CHEEK, LEFT_CHEEK = 50, 280  # malar (cheek) surface below the eyes

# OpenGL (MediaPipe) <-> OpenCV/OpenFace axes.
_FLIP = np.diag([1.0, -1.0, -1.0])
# Eyeball radius as a share of the eye's corner-to-corner width (about 12 mm of 28-30 mm).
EYEBALL_RADIUS_SHARE = 0.42


def to_pixels(mesh: np.ndarray, width: int, height: int) -> np.ndarray:
    """Normalized mesh (n, 3) -> pixel coordinates; z scaled like x (MediaPipe convention)."""
    return mesh * np.array([width, height, width], dtype=np.float64)


def landmarks68(mesh_px: np.ndarray) -> np.ndarray:
    """The 68 iBUG points (..., 68, 2) in pixels from the pixel-space mesh (..., 478, 3)."""
    return mesh_px[..., list(IBUG68_FROM_MEDIAPIPE), :2]


def euler_xyz(rotation: np.ndarray) -> tuple[float, float, float]:
    """(pitch, yaw, roll) in radians of R = Rx(pitch) @ Ry(yaw) @ Rz(roll), as OpenFace 2."""
    r = rotation
    yaw = float(np.arcsin(np.clip(r[0, 2], -1.0, 1.0)))
    pitch = float(np.arctan2(-r[1, 2], r[2, 2]))
    roll = float(np.arctan2(-r[0, 1], r[0, 0]))
    return pitch, yaw, roll


def rotation_xyz(pitch: float, yaw: float, roll: float) -> np.ndarray:
    """Rotation matrix Rx(pitch) @ Ry(yaw) @ Rz(roll) (radians); inverse of :func:`euler_xyz`."""
    cx, sx = np.cos(pitch), np.sin(pitch)
    cy, sy = np.cos(yaw), np.sin(yaw)
    cz, sz = np.cos(roll), np.sin(roll)
    rx = np.array([[1, 0, 0], [0, cx, -sx], [0, sx, cx]])
    ry = np.array([[cy, 0, sy], [0, 1, 0], [-sy, 0, cy]])
    rz = np.array([[cz, -sz, 0], [sz, cz, 0], [0, 0, 1]])
    return rx @ ry @ rz


def mediapipe_rotation(matrix: np.ndarray) -> np.ndarray:
    """Head rotation in OpenFace camera axes from MediaPipe's 4x4 transformation matrix."""
    r = np.asarray(matrix, dtype=np.float64)[:3, :3]
    # Remove any scale the geometry pipeline left in the matrix, keep a proper rotation.
    u, _, vt = np.linalg.svd(r)
    r = u @ vt
    if np.linalg.det(r) < 0:
        r = u @ np.diag([1.0, 1.0, -1.0]) @ vt
    return _FLIP @ r @ _FLIP


def mediapipe_pose(matrix: np.ndarray) -> tuple[float, float, float, float, float, float]:
    """MediaPipe's own head pose: (pitch, yaw, roll) in degrees and (tx, ty, tz) in mm, OpenFace
    2 conventions, from its transformation matrix. The frame table does not use it (MediaPipe
    fits the matrix to lips and jaw too; see :mod:`facemind.face.pose`); it is the reference
    the rigid fit is compared with.

    Positive pitch: looking down; positive yaw: nose towards the image's left (the person
    turns to their right); positive roll: head tilted clockwise in the image. Translation is
    the face-model origin in the camera frame under MediaPipe's assumed camera (63 degree
    vertical field of view), so its scale is approximate.
    """
    m = np.asarray(matrix, dtype=np.float64)
    pitch, yaw, roll = np.degrees(euler_xyz(mediapipe_rotation(m)))
    t = _FLIP @ m[:3, 3] * 10.0  # cm -> mm
    return float(pitch), float(yaw), float(roll), float(t[0]), float(t[1]), float(t[2])


def eye_gaze(
    mesh_px: np.ndarray,
    rotation: np.ndarray,
    iris: int,
    corner_a: int,
    corner_b: int,
    camera: np.ndarray | None = None,
) -> np.ndarray:
    """Unit gaze vectors (n, 3) of one eye in camera axes (at the camera is about (0, 0, -1)).

    ``mesh_px`` (n, 478, 3) and ``rotation`` (n, 3, 3). The iris centre's offset from the
    middle of the eye corners, in the head's own axes, is read as the displacement of a point
    on an eyeball of radius ``EYEBALL_RADIUS_SHARE`` x eye width; the direction is turned
    into camera axes with ``camera`` (n, 3, 3; default ``rotation``). ``rotation`` is the one
    that maps mesh points into the head's axes (the apparent rotation of
    :class:`facemind.face.pose.PoseFit`), ``camera`` the head's rotation in camera axes.
    """
    a, b = mesh_px[:, corner_a], mesh_px[:, corner_b]
    width = np.linalg.norm(a - b, axis=-1)
    offset = np.einsum("nji,nj->ni", rotation, mesh_px[:, iris] - (a + b) / 2.0)
    radius = np.maximum(EYEBALL_RADIUS_SHARE * width, 1e-6)
    sx = np.clip(offset[:, 0] / radius, -0.99, 0.99)
    sy = np.clip(offset[:, 1] / radius, -0.99, 0.99)
    sz = -np.sqrt(np.maximum(1.0 - sx * sx - sy * sy, 1e-6))
    to_camera = rotation if camera is None else camera
    g = np.einsum("nij,nj->ni", to_camera, np.stack([sx, sy, sz], axis=-1))
    return g / np.linalg.norm(g, axis=-1, keepdims=True)


def gaze(mesh_px: np.ndarray, rotation: np.ndarray, camera: np.ndarray | None = None):
    """Gaze of eye 0 and eye 1 and OpenFace's combined gaze angles (radians).

    As OpenFace, eye 0 is the leftmost eye in the image (the person's right eye). Takes one
    frame (mesh (478, 3), rotation (3, 3)) or ``n`` frames ((n, 478, 3), (n, 3, 3)); returns
    vectors (3,) or (n, 3) and angles as floats or (n,) arrays accordingly. ``rotation`` and
    ``camera`` as in :func:`eye_gaze`.
    """
    one = np.ndim(mesh_px) == 2
    mesh = np.asarray(mesh_px, dtype=np.float64).reshape(-1, *np.shape(mesh_px)[-2:])
    rot = np.asarray(rotation, dtype=np.float64).reshape(-1, 3, 3)
    cam = None if camera is None else np.asarray(camera, dtype=np.float64).reshape(-1, 3, 3)
    eye0 = eye_gaze(mesh, rot, RIGHT_IRIS, RIGHT_EYE_INNER, RIGHT_EYE_OUTER, cam)
    eye1 = eye_gaze(mesh, rot, LEFT_IRIS, LEFT_EYE_INNER, LEFT_EYE_OUTER, cam)
    mean = (eye0 + eye1) / 2.0
    ax, ay = np.arctan2(mean[:, 0], -mean[:, 2]), np.arctan2(mean[:, 1], -mean[:, 2])
    if one:
        return eye0[0], eye1[0], float(ax[0]), float(ay[0])
    return eye0, eye1, ax, ay


def gaze_angles(g0: np.ndarray, g1: np.ndarray) -> tuple[float, float]:
    """OpenFace's ``gaze_angle_x/y``: the mean of both eyes' vectors as two angles."""
    g = (np.asarray(g0, dtype=np.float64) + np.asarray(g1, dtype=np.float64)) / 2.0
    return float(np.arctan2(g[0], -g[2])), float(np.arctan2(g[1], -g[2]))


def alignment_matrix(
    mesh_px: np.ndarray, size: int = 112, eye_distance: float = 0.35, eye_height: float = 0.36
) -> np.ndarray:
    """2x3 affine (similarity) mapping the image to a ``size`` crop with level eyes.

    The eye centres land at ``eye_height * size`` from the top, ``eye_distance * size`` apart,
    symmetric about the vertical centre line.
    """
    right = (mesh_px[RIGHT_EYE_OUTER, :2] + mesh_px[RIGHT_EYE_INNER, :2]) / 2.0
    left = (mesh_px[LEFT_EYE_OUTER, :2] + mesh_px[LEFT_EYE_INNER, :2]) / 2.0
    d = left - right
    scale = eye_distance * size / max(float(np.hypot(*d)), 1e-6)
    angle = np.arctan2(d[1], d[0])
    c, s = np.cos(-angle) * scale, np.sin(-angle) * scale
    centre = (left + right) / 2.0
    target = np.array([size / 2.0, eye_height * size])
    rot = np.array([[c, -s], [s, c]])
    shift = target - rot @ centre
    return np.hstack([rot, shift[:, None]])
