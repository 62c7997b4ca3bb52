"""Face signals under conditions a study meets: lighting that changes, other people in view."""

from __future__ import annotations

import av
import numpy as np
import pytest

from facemind.face.extract import ExtractSettings, extract_video
from facemind.face.landmarker import Landmarker
from facemind.face.schema import AU_NAMES, LANDMARK_COLUMNS, POSE_COLUMNS
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
    return frame_table(
        np.arange(n),
        np.array([t for t, _ in frames]),
        np.array(face),
        np.array(mesh),
        np.array(blend),
        w,
        h,
    )


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


def _write_lossless(path, frames, fps=25):
    """Frames (RGB uint8) into a lossless FFV1 video: decoding gives back the same pixels."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(path), "w") as out:
        stream = out.add_stream("ffv1", rate=fps)
        stream.width, stream.height, stream.pix_fmt = frames[0].shape[1], frames[0].shape[0], "bgr0"
        for rgb in frames:
            out.mux(stream.encode(av.VideoFrame.from_ndarray(rgb, format="rgb24")))
        out.mux(stream.encode())
    return path


@pytest.fixture(scope="module")
def two_people(assets_dir):
    """72 frames of the man of single_face.mp4 and of the woman of the talking-face video,
    640x360 each."""
    man = [rgb for _, rgb in _decoded(assets_dir / "single_face.mp4")]
    woman = [rgb for _, rgb in _decoded(assets_dir / "WolfgangLanger_Pexels.mp4", len(man))]
    return man, woman


def _extract(path, model, **kw):
    res = extract_video(path, lambda: ExtractSettings(**kw).landmarker(model))
    assert res.frames is not None
    return res


SIGNALS = [*AU_NAMES, *POSE_COLUMNS, *LANDMARK_COLUMNS]


def test_tracked_face_beside_another_is_extracted_as_if_alone(two_people, face_model, tmp_path):
    """Side by side (1280x360): the woman's face is larger (boxes of about 230 against 165
    pixels) and a little less central; as the participant it is tracked in every frame and its
    signals equal those of the same video with the man's half black, the woman alone: AUs
    within 0.1 (measured 0.05 at most), pose within 0.2 degrees (0.06), landmarks within 0.5
    pixels (0.04 mean). Asking MediaPipe for three faces instead (its tracking off) moves the
    landmarks by a pixel and AUs by up to 1.4."""
    man, woman = two_people
    black = np.zeros_like(man[0])
    both = _write_lossless(
        tmp_path / "both.mkv", [np.hstack([m, w]) for m, w in zip(man, woman, strict=True)]
    )
    alone = _write_lossless(tmp_path / "alone.mkv", [np.hstack([black, w]) for w in woman])
    res, ref = _extract(both, face_model), _extract(alone, face_model)
    assert res.status == "ok" and res.face_frames == ref.face_frames == len(man)
    assert (res.faces_max, res.other_face_frames) == (2, len(man))
    assert (ref.faces_max, ref.other_face_frames) == (1, 0)
    assert (res.frames["faces"] == 2).all() and (ref.frames["faces"] == 1).all()
    assert res.frames["x_30"].min() > 640  # the woman's nose tip, in the right half
    diff = (res.frames[SIGNALS] - ref.frames[SIGNALS]).abs()
    assert diff[list(AU_NAMES)].max().max() < 0.1, diff[list(AU_NAMES)].max().to_dict()
    assert diff[list(POSE_COLUMNS[:3])].max().max() < 0.2
    assert diff[list(LANDMARK_COLUMNS)].max().max() < 0.5
    # with no other face looked for, the same video gives the same face: MediaPipe's choice
    one = _extract(both, face_model, max_faces=1)
    assert (one.faces_max, one.other_face_frames) == (1, 0) and "faces" in one.frames


def test_no_jump_to_another_face(two_people, face_model, tmp_path):
    """The participant (the woman, larger) leaves halfway and the man stays: the second half
    has no participant's face, the man's is counted as another face and never used.
    MediaPipe alone (``max_faces=1``) takes the man's face once hers is gone. A face alone in
    view is the participant's wherever it reappears."""
    man, woman = two_people
    half = len(man) // 2
    black = np.zeros_like(woman[0])
    frames = [
        np.hstack([m, w if k < half else black])
        for k, (m, w) in enumerate(zip(man, woman, strict=True))
    ]
    video = _write_lossless(tmp_path / "leaves.mkv", frames)
    res = _extract(video, face_model)
    face = res.frames["face_detected"].to_numpy()
    assert face[:half].all() and not face[half:].any()
    assert res.frames["faces"].tolist() == [2] * half + [1] * (len(man) - half)
    assert res.other_face_frames == len(man) and res.faces_max == 2 and res.status == "ok"
    jumped = _extract(video, face_model, max_faces=1).frames
    assert jumped["face_detected"].iloc[-10:].all() and (jumped["x_30"].iloc[-10:] < 640).all()
    # alone, the same face is followed wherever it reappears: the woman moves to the left half
    frames = [np.hstack([w, black] if k >= half else [black, w]) for k, w in enumerate(woman)]
    moved = _extract(_write_lossless(tmp_path / "moves.mkv", frames), face_model)
    assert moved.faces_max == 1 and moved.other_face_frames == 0
    assert moved.frames["face_detected"].sum() >= len(woman) - 2
    assert (moved.frames["x_30"].iloc[-10:] < 640).all()


def test_three_people_counted(two_people, face_model, tmp_path):
    """Three faces in a 1280x720 grid (the man, the woman, the man mirrored): every frame
    counts three and the participant (the woman, largest) is tracked throughout."""
    man, woman = two_people
    black = np.zeros_like(man[0])
    frames = [
        np.vstack([np.hstack([m, w]), np.hstack([m[:, ::-1], black])])
        for m, w in zip(man, woman, strict=True)
    ]
    res = _extract(_write_lossless(tmp_path / "three.mkv", frames), face_model)
    assert res.face_frames == len(man) and res.faces_max == 3
    assert (res.frames["faces"] == 3).all() and res.other_face_frames == len(man)
    assert (res.frames["x_30"] > 640).all() and (res.frames["y_30"] < 360).all()


def test_extract_names_videos_with_other_faces(two_people, face_model, tmp_path, capsys):
    """``facemind extract`` lists the videos showing another face after its closing line,
    and the manifest counts them; a video with one person is not listed."""
    import pandas as pd

    from facemind.cli import main

    man, woman = two_people
    black = np.zeros_like(man[0])
    n = 24
    _write_lossless(
        tmp_path / "in" / "pair.mkv",
        [np.hstack([m, w]) for m, w in zip(man[:n], woman[:n], strict=True)],
    )
    _write_lossless(tmp_path / "in" / "alone.mkv", [np.hstack([black, w]) for w in woman[:n]])
    rc = main(
        [
            "extract",
            str(tmp_path / "in"),
            "--out",
            str(tmp_path / "o"),
            "--model",
            str(face_model),
            "--workers",
            "1",
            "--no-progress",
        ]
    )
    assert rc == 0
    out = capsys.readouterr().out
    assert "1 video(s) show faces other than the participant's" in out
    assert f"  pair: up to 2 faces in a frame, other faces in {n} frames" in out
    assert "alone:" not in out
    manifest = pd.read_parquet(tmp_path / "o" / "manifest.parquet").set_index("video_id")
    assert manifest.loc["pair", "faces_max"] == 2 and manifest.loc["pair", "other_face_frames"] == n
    assert (
        manifest.loc["alone", "faces_max"] == 1 and manifest.loc["alone", "other_face_frames"] == 0
    )
