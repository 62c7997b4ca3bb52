"""Face signals under conditions a study meets: lighting that changes, other people in view."""

from __future__ import annotations

import numpy as np
import pytest

from facemind.face.landmarker import Landmarker
from facemind.face.schema import AU_NAMES
from facemind.face.signals import frame_table
from facemind.face.video import iter_frames, open_video


def _decoded(path, limit=None):
    container, _ = open_video(path)
    with container:
        out = []
        for _, t, rgb in iter_frames(container):
            out.append((t, rgb))
            if limit and len(out) == limit:
                break
    return out


def _table(frames, model, transform=lambda k, rgb: rgb):
    """The frame table of decoded frames, each passed through ``transform`` first."""
    mesh, blend, face = [], [], []
    with Landmarker(model) as lm:
        for k, (t, rgb) in enumerate(frames):
            det = lm.detect(transform(k, rgb), t)
            face.append(det is not None)
            if det is not None:
                mesh.append(det.mesh)
                blend.append(det.blendshapes)
    h, w = frames[0][1].shape[:2]
    n = len(frames)
    return frame_table(np.arange(n), np.array([t for t, _ in frames]), np.array(face),
                       np.array(mesh), np.array(blend), w, h)  # fmt: skip


@pytest.fixture(scope="module")
def single_face(assets_dir):
    return _decoded(assets_dir / "single_face.mp4")


def test_gamma_ramps_leave_aus_and_pose_in_place(single_face, face_model):
    """single_face.mp4 brightened and darkened over time: gamma 2**sin(2 pi k / (n - 1)),
    from 1 up to 2 (darker: mid-grey 128 -> 64), back through 1 down to 0.5 (brighter:
    128 -> 181) and back. The face and its expression do not change, so the signals must stay
    where they are on the unmodified clip: every AU within 0.15 on average and 0.5 at most
    (0-5 scale; the AUs' own sd on this clip is 0.65 on average), pitch, yaw and roll within
    0.2 degrees on average and 0.5 at most. Measured: AUs 0.04 on average (worst AU01 and
    AU23, 0.11; largest single difference 0.41, AU12), pose 0.03-0.10 on average, 0.29 at
    most."""
    n = len(single_face)
    gammas = 2.0 ** np.sin(2 * np.pi * np.arange(n) / (n - 1))
    assert gammas.min() == pytest.approx(0.5, abs=0.01) and gammas.max() == pytest.approx(2, 0.01)

    def ramp(k, rgb):
        lut = np.round(255.0 * (np.arange(256) / 255.0) ** gammas[k]).astype(np.uint8)
        return lut[rgb]

    base = _table(single_face, face_model)
    lit = _table(single_face, face_model, ramp)
    assert base["face_detected"].all() and lit["face_detected"].all()
    dark, bright = n // 4, 3 * n // 4  # the darkest frame really is darker, the brightest brighter
    assert ramp(dark, single_face[dark][1]).mean() < single_face[dark][1].mean() - 30
    assert ramp(bright, single_face[bright][1]).mean() > single_face[bright][1].mean() + 30
    aus = (lit[list(AU_NAMES)] - base[list(AU_NAMES)]).abs()
    assert (aus.mean() <= 0.15).all(), aus.mean().round(3).to_dict()
    assert (aus.max() <= 0.5).all(), aus.max().round(2).to_dict()
    for col in ("pose_pitch", "pose_yaw", "pose_roll"):
        diff = (lit[col] - base[col]).abs()
        assert diff.mean() <= 0.2 and diff.max() <= 0.5, (col, diff.mean(), diff.max())
