"""Head pose from the rigid part of the face, vectorised over frames.

MediaPipe's own transformation matrix is fitted to every mesh point, lips and jaw included, so
its pitch follows the mouth. Here each frame's mesh (pixels; x right, y down, z away from the
camera, as OpenFace's camera frame) is aligned to MediaPipe's canonical face model on points
that expressions hardly move: forehead, temples and eye corners. The fit is a weighted
similarity Procrustes (Umeyama 1991): ``mesh ~ s R c + t``, ``s`` the pixels per centimetre of
the face.

The mesh is the face's appearance in its crop, a view along the line of sight from the camera
to the face, so that ``R`` is the head's rotation relative to that line (the apparent
rotation). OpenFace 2 reports the rotation in the camera's axes (``solvePnP`` under its
perspective camera); the two differ by the line of sight's direction, which turns as the face
moves across the image. :func:`fit_head` given the image size also returns the camera-axes
rotation: the rigid points are re-projected into a virtual camera turned to look straight at
the face (a pure rotation, under OpenFace's default camera), fitted there, and the result is
composed with that turn.

The nose is left out although its bridge is bone: in MediaPipe's mesh the nose points, root
included, shift with smiles and mouth opening (on a still head, a fit that includes them
tilts with the mouth; docs/extraction.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

import numpy as np

# OpenGL (canonical model: y up, z towards the viewer) <-> OpenCV/OpenFace axes.
FLIP = np.diag([1.0, -1.0, -1.0])

# Rigid mesh points and their weights. Eye corners get half weight: AU06/AU07 move the skin
# around them a little. Lips, jaw, brows, lids and the nose are left out.
FOREHEAD = (10, 151, 9, 109, 338, 108, 337, 67, 297, 69, 299, 104, 333)
TEMPLES = (54, 284, 21, 251, 162, 389, 127, 356, 71, 301, 68, 298, 103, 332)
EYE_CORNERS = (33, 133, 362, 263, 130, 359, 243, 463)
RIGID_POINTS: tuple[int, ...] = FOREHEAD + TEMPLES + EYE_CORNERS
RIGID_WEIGHTS = np.array([1.0] * (len(FOREHEAD) + len(TEMPLES)) + [0.5] * len(EYE_CORNERS))


@lru_cache(maxsize=1)
def canonical_face() -> np.ndarray:
    """MediaPipe's canonical face model (468, 3), cm, in OpenFace axes (y down, z away)."""
    src = resources.files("facemind.face").joinpath("data", "canonical_face_model.csv")
    with src.open("r", encoding="ascii") as fh:
        model = np.loadtxt(fh, delimiter=",", skiprows=1)
    model = model @ FLIP
    model.setflags(write=False)
    return model


def openface_focal(width: int, height: int) -> float:
    """OpenFace 2's focal length (pixels) when no camera intrinsics are given."""
    return 250.0 * (width / 640.0 + height / 480.0)


@dataclass(frozen=True)
class PoseFit:
    """Rigid fits of ``n`` frames: ``mesh ~ scale * rotation @ canonical + shift`` (pixels).

    ``rotation`` is the apparent rotation (relative to the line of sight), the one that maps
    mesh points into the head's own axes; ``camera`` the head's rotation in the camera's axes
    (OpenFace's pose), present when the fit was given the image size.
    """

    rotation: np.ndarray  # (n, 3, 3), canonical (OpenFace axes) -> mesh
    scale: np.ndarray  # (n,), pixels per cm
    shift: np.ndarray  # (n, 3), pixels: where the canonical origin lands
    camera: np.ndarray | None = None  # (n, 3, 3), canonical -> camera axes
    view_scale: np.ndarray | None = None  # (n,), pixels per cm looking straight at the face

    def head_points(self, mesh_px: np.ndarray) -> np.ndarray:
        """Mesh points (n, k, 3) in the head's own axes and canonical cm (pose removed)."""
        centred = mesh_px - self.shift[:, None, :]
        return np.einsum("nkj,nji->nki", centred, self.rotation) / self.scale[:, None, None]


def similarity_fit(
    source: np.ndarray, target: np.ndarray, weights: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Weighted Umeyama fit ``target ~ s R source + t`` for a batch of point sets.

    ``source`` (k, 3) or (n, k, 3), ``target`` (n, k, 3), ``weights`` (k,). Returns ``R``
    (n, 3, 3, a proper rotation), ``s`` (n,) and ``t`` (n, 3).
    """
    target = np.asarray(target, dtype=np.float64)
    source = np.broadcast_to(np.asarray(source, dtype=np.float64), target.shape)
    w = np.ones(target.shape[1]) if weights is None else np.asarray(weights, dtype=np.float64)
    w = w / w.sum()
    mu_s = np.einsum("k,nkj->nj", w, source)
    mu_t = np.einsum("k,nkj->nj", w, target)
    cs = source - mu_s[:, None, :]
    ct = target - mu_t[:, None, :]
    cov = np.einsum("k,nki,nkj->nij", w, ct, cs)  # target x source
    u, sv, vt = np.linalg.svd(cov)
    d = np.ones((len(target), 3))
    d[:, 2] = np.sign(np.linalg.det(u @ vt))
    d[d[:, 2] == 0, 2] = 1.0
    rot = np.einsum("nij,nj,njk->nik", u, d, vt)
    var_s = np.einsum("k,nkj,nkj->n", w, cs, cs)
    scale = np.einsum("nj,nj->n", sv, d) / np.maximum(var_s, 1e-12)
    shift = mu_t - scale[:, None] * np.einsum("nij,nj->ni", rot, mu_s)
    return rot, scale, shift


def line_of_sight(shift: np.ndarray, width: int, height: int) -> np.ndarray:
    """(n, 3, 3) rotations taking the optical axis (0, 0, 1) onto the ray through ``shift``.

    ``shift`` (n, 2 or 3) are pixel positions; the camera is OpenFace's default one. The
    rotation is the smallest one (about an axis in the image plane), by Rodrigues' formula.
    """
    f = openface_focal(width, height)
    shift = np.asarray(shift, dtype=np.float64)
    ray = np.column_stack(
        [(shift[:, 0] - width / 2.0) / f, (shift[:, 1] - height / 2.0) / f, np.ones(len(shift))]
    )
    ray /= np.linalg.norm(ray, axis=1, keepdims=True)
    k = np.zeros((len(ray), 3, 3))  # cross-product matrix of (0, 0, 1) x ray
    k[:, 0, 2], k[:, 1, 2] = ray[:, 0], ray[:, 1]
    k[:, 2, 0], k[:, 2, 1] = -ray[:, 0], -ray[:, 1]
    return np.eye(3) + k + (k @ k) / (1.0 + ray[:, 2])[:, None, None]


def fit_head(mesh_px: np.ndarray, width: int | None = None, height: int | None = None) -> PoseFit:
    """Rigid head fit of each frame's pixel mesh (n, 478 or 468, 3) to the canonical face.

    With the image size, ``camera`` holds the rotation in camera axes: the rigid points' pixel
    rays are turned by the inverse line-of-sight rotation (a virtual camera looking straight
    at the canonical origin; depths rescaled to that view's pixels per cm), fitted again, and
    the line-of-sight rotation applied to the result.
    """
    idx = list(RIGID_POINTS)
    rigid = np.asarray(mesh_px, dtype=np.float64)[:, idx, :]
    source = canonical_face()[idx]
    rot, scale, shift = similarity_fit(source, rigid, RIGID_WEIGHTS)
    if width is None or height is None:
        return PoseFit(rot, scale, shift)
    los = line_of_sight(shift, width, height)
    f = openface_focal(width, height)
    rays = np.concatenate(
        [(rigid[..., :2] - (width / 2.0, height / 2.0)) / f, np.ones(rigid.shape[:2] + (1,))],
        axis=-1,
    )
    turned = np.einsum("nji,nkj->nki", los, rays)  # los^T @ ray
    view = np.concatenate(
        [f * turned[..., :2] / turned[..., 2:], rigid[..., 2:] * los[:, 2, 2, None, None]],
        axis=-1,
    )
    rot_view, scale_view, _ = similarity_fit(source, view, RIGID_WEIGHTS)
    return PoseFit(rot, scale, shift, los @ rot_view, scale_view)


def euler_xyz(rotation: np.ndarray) -> np.ndarray:
    """(n, 3) pitch, yaw, roll (radians) of R = Rx(pitch) Ry(yaw) Rz(roll), as OpenFace 2."""
    r = np.asarray(rotation, dtype=np.float64)
    pitch = np.arctan2(-r[..., 1, 2], r[..., 2, 2])
    yaw = np.arcsin(np.clip(r[..., 0, 2], -1.0, 1.0))
    roll = np.arctan2(-r[..., 0, 1], r[..., 0, 0])
    return np.stack([pitch, yaw, roll], axis=-1)


def head_pose(fit: PoseFit, width: int, height: int) -> np.ndarray:
    """(n, 6): pitch, yaw, roll (degrees) and tx, ty, tz (mm) with OpenFace 2's conventions.

    The angles are those of the rotation in camera axes (``fit.camera``; the fit must have
    been given the image size), as OpenFace's. Translation is the canonical model's origin in
    the camera frame under OpenFace's default camera (focal length :func:`openface_focal`,
    principal point at the image centre): on the ray through its pixel position, at the
    distance given by the face's scale seen straight on (the canonical face is life-size).
    """
    if fit.camera is None or fit.view_scale is None:
        raise ValueError("head_pose needs a fit made with the image size (camera axes)")
    f = openface_focal(width, height)
    ray = line_of_sight(fit.shift, width, height)[:, :, 2]  # unit ray to the canonical origin
    distance = 10.0 * f / np.maximum(fit.view_scale, 1e-9)  # cm -> mm
    angles = np.degrees(euler_xyz(fit.camera))
    return np.column_stack([angles, ray * distance[:, None]])
