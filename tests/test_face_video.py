"""PyAV decoding: stream timestamps (variable frame rate), rotation metadata, bad files."""

from __future__ import annotations

from fractions import Fraction

import av
import numpy as np
import pytest

from facemind.face.video import DecodeError, iter_frames, open_video, upright


def _write_video(path, frames, pts_ms, rotation=None):
    with av.open(str(path), "w") as out:
        s = out.add_stream("libx264", rate=1000)
        s.width, s.height = frames[0].shape[1], frames[0].shape[0]
        s.pix_fmt = "yuv420p"
        s.time_base = Fraction(1, 1000)
        s.codec_context.options = {"crf": "10"}
        if rotation is not None:
            s.set_display_rotation(rotation)
        for arr, t in zip(frames, pts_ms, strict=True):
            f = av.VideoFrame.from_ndarray(arr, format="rgb24")
            f.pts, f.time_base = t, Fraction(1, 1000)
            for pkt in s.encode(f):
                out.mux(pkt)
        for pkt in s.encode():
            out.mux(pkt)


def _pattern(h=96, w=160, shade=0):
    a = np.zeros((h, w, 3), np.uint8)
    a[: h // 2, : w // 2] = (255, 0, 0)  # red block in the top-left corner
    a[..., 2] = shade
    return a


def test_variable_frame_rate_timestamps(tmp_path):
    pts = [0, 33, 66, 150, 400, 433, 1000]
    _write_video(tmp_path / "vfr.mp4", [_pattern(shade=i * 30) for i in range(len(pts))], pts)
    container, info = open_video(tmp_path / "vfr.mp4")
    with container:
        got = [(i, t) for i, t, _ in iter_frames(container)]
    assert [i for i, _ in got] == list(range(len(pts)))
    assert np.allclose([t for _, t in got], np.array(pts) / 1000.0, atol=1e-3)


@pytest.mark.parametrize("rotation", [90, -90, 180])
def test_rotation_metadata_is_applied(tmp_path, rotation):
    upright_frame = _pattern()
    stored = np.ascontiguousarray(upright(upright_frame, -rotation))  # as a phone stores it
    _write_video(tmp_path / "rot.mp4", [stored] * 3, [0, 33, 66], rotation=rotation)
    container, _ = open_video(tmp_path / "rot.mp4")
    with container:
        frames = [rgb for _, _, rgb in iter_frames(container)]
    assert frames[0].shape == upright_frame.shape
    assert frames[0].flags["C_CONTIGUOUS"]
    red_top_left = frames[0][:48, :80, 0].mean()
    assert red_top_left > 200 and frames[0][48:, 80:, 0].mean() < 50


def test_empty_and_garbage_files(tmp_path):
    (tmp_path / "empty.mp4").write_bytes(b"")
    with pytest.raises(DecodeError, match="empty"):
        open_video(tmp_path / "empty.mp4")
    (tmp_path / "junk.mp4").write_bytes(b"not a video at all" * 100)
    with pytest.raises(DecodeError, match="cannot open"):
        open_video(tmp_path / "junk.mp4")


def test_real_video_timestamps(assets_dir):
    container, info = open_video(assets_dir / "single_face.mp4")
    with container:
        ts = np.array([t for _, t, _ in iter_frames(container)])
    assert len(ts) == 72 and info.width == 640 and info.height == 360
    assert ts[0] == 0 and np.allclose(np.diff(ts), 1 / 30, atol=1e-6)
