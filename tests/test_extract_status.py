"""Honest statuses and exit codes, frame sampling, one-pass crops, the extraction folder."""

from __future__ import annotations

import contextlib
import io
import json
import shutil
from fractions import Fraction

import av
import numpy as np
import pandas as pd
import pytest

from facemind.cli import main
from facemind.errors import FacemindError, InputError
from facemind.face.batch import run_batch
from facemind.face.extract import ExtractSettings, _CropKeeper, extract_video
from facemind.face.landmarker import Landmarker
from facemind.face.layout import CROP_SIZE, ExtractionDir
from facemind.face.schema import AU_NAMES, conform
from facemind.face.signals import frame_table
from facemind.face.video import iter_frames, open_video
from facemind.functionals import extract_features

CUT_BYTES = 150_000


@pytest.fixture(scope="module")
def batch(assets_dir, face_model, tmp_path_factory):
    """One CLI run over a good video, a face-less one, a copy cut at 150 kB and an empty file."""
    root = tmp_path_factory.mktemp("status")
    videos = root / "videos"
    videos.mkdir()
    shutil.copy(assets_dir / "single_face.mp4", videos / "a_good.mp4")
    shutil.copy(assets_dir / "no_face.mp4", videos / "b_noface.mp4")
    data = (assets_dir / "WolfgangLanger_Pexels.mp4").read_bytes()
    (videos / "c_cut.mp4").write_bytes(data[:CUT_BYTES])
    (videos / "d_empty.mp4").write_bytes(b"")
    out = root / "out"
    cmd = [
        "extract",
        str(videos),
        "--out",
        str(out),
        "--face-model",
        str(face_model),
        "--no-progress",
    ]
    stdout, stderr = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
        rc = main(cmd)
    return out, cmd, (rc, stdout.getvalue(), stderr.getvalue())


def _run(cmd, capsys):
    rc = main(cmd)
    captured = capsys.readouterr()
    return rc, captured.out, captured.err


def test_failed_video_exits_1_listing_it_and_good_outputs_are_kept(batch):
    out, _, (rc, stdout, err) = batch
    assert rc == 1
    assert "4 processed; 1 ok, 1 partial, 1 without a face, 1 failed" in stdout
    assert "1 video(s) failed" in err and "d_empty" in err and "file is empty (0 bytes)" in err
    assert "Traceback" not in err and "a_good" not in err
    layout = ExtractionDir(out)
    m = layout.read_manifest().set_index("video_id")
    assert dict(m["status"]) == {
        "a_good": "ok",
        "b_noface": "no_face",
        "c_cut": "partial",
        "d_empty": "failed",
    }
    for vid in ("a_good", "b_noface", "c_cut"):
        assert layout.frames_path(vid).is_file()
    assert not layout.frames_path("d_empty").exists()


def test_truncated_video_is_partial_and_keeps_what_was_decoded(batch, assets_dir, face_model):
    out, _, _ = batch
    m = ExtractionDir(out).read_manifest().set_index("video_id").loc["c_cut"]
    # Independent count: PyAV decodes this many frames of the cut file before it ends.
    container, info = open_video(out.parent / "videos" / "c_cut.mp4")
    with container:
        decoded = sum(1 for _ in iter_frames(container))
    assert info.declared_frames == 472 and 0 < decoded < 100
    assert m["status"] == "partial" and m["frames"] == decoded and m["face_frames"] > 0.9 * decoded
    assert f"{decoded} of 472 frames" in m["error"] and "of the 19.68 s" in m["error"]
    table = pd.read_parquet(ExtractionDir(out).frames_path("c_cut"))
    full = extract_video(assets_dir / "WolfgangLanger_Pexels.mp4", lambda: Landmarker(face_model))
    # AU levels are relative to each video's own neutral reference, so only the other columns
    # of the cut copy equal the full video's first rows.
    other = [c for c in conform(table).columns if c not in AU_NAMES]
    pd.testing.assert_frame_equal(conform(table)[other], conform(full.frames.iloc[:decoded])[other])
    # the whole video is ok, not partial
    assert full.status == "ok" and full.error is None


def test_features_use_partial_videos_and_count_them(batch):
    out, _, _ = batch
    res = extract_features(out, groups=["aus"], min_face_frames=10)
    assert sorted(res.table["video_id"]) == ["a_good", "c_cut"]
    assert res.partial == 1
    assert "1 partial video(s) used" in res.summary()
    assert dict(zip(res.excluded["video_id"], res.excluded["reason"], strict=True)) == {
        "b_noface": "too_few_face_frames",
        "d_empty": "extraction_failed",
    }


def test_rerun_counts_earlier_results_and_retry_failed_redoes_only_failures(batch, capsys):
    out, cmd, _ = batch
    layout = ExtractionDir(out)
    stamps = {v: layout.frames_path(v).stat().st_mtime_ns for v in ("a_good", "b_noface", "c_cut")}
    rc, stdout, err = _run(cmd, capsys)
    assert rc == 1 and "d_empty" in err
    assert "4 already done, 0 processed; 1 ok, 1 partial, 1 without a face, 1 failed" in stdout
    rc, stdout, err = _run([*cmd, "--retry-failed"], capsys)
    assert rc == 1 and "d_empty" in err
    assert "3 already done, 1 processed" in stdout
    assert stamps == {v: layout.frames_path(v).stat().st_mtime_ns for v in stamps}


def test_more_than_ten_failures_are_listed_with_a_count(tmp_path, face_model, capsys):
    for i in range(12):
        (tmp_path / f"v{i:02d}.mp4").write_bytes(b"not a video")
    rc, _, err = _run(
        [
            "extract",
            str(tmp_path),
            "--out",
            str(tmp_path / "o"),
            "--face-model",
            str(face_model),
            "--no-progress",
        ],
        capsys,
    )
    assert rc == 1
    assert "12 video(s) failed" in err and "v09" in err and "v10" not in err
    assert "... and 2 more" in err


def test_no_videos_found_names_inputs_and_extensions(tmp_path, face_model, capsys):
    (tmp_path / "notes.txt").write_text("x")
    rc, _, err = _run(
        ["extract", str(tmp_path), "--out", str(tmp_path / "o"), "--face-model", str(face_model)],
        capsys,
    )
    assert rc == 2 and err.count("\n") == 1
    assert f"no videos found in {tmp_path}" in err and ".mp4" in err and ".mov" in err


def _vfr_video(src, dst, pts_ms):
    """Real frames of ``src`` written with the given (irregular) presentation times."""
    container, _ = open_video(src)
    with container, av.open(str(dst), "w") as out:
        s = out.add_stream("libx264", rate=1000)
        s.width, s.height, s.pix_fmt = 640, 360, "yuv420p"
        s.time_base = Fraction(1, 1000)
        for (_, _, rgb), t in zip(iter_frames(container), pts_ms, strict=False):
            f = av.VideoFrame.from_ndarray(rgb, format="rgb24")
            f.pts, f.time_base = t, Fraction(1, 1000)
            for pkt in s.encode(f):
                out.mux(pkt)
        for pkt in s.encode():
            out.mux(pkt)


class _RecordingLandmarker(Landmarker):
    """The real landmarker, noting the millisecond timestamps it is given."""

    def detect_into(self, rgb, timestamp_s, *arrays):
        found = super().detect_into(rgb, timestamp_s, *arrays)
        self.seen.append(self._last_ms)
        return found


def test_sample_fps_on_variable_frame_rate_video(assets_dir, face_model, tmp_path):
    gaps = [20, 70, 30, 110, 15, 45, 90, 25, 60, 130, 35, 40, 100, 20, 80]
    pts = np.concatenate([[0], np.cumsum(np.resize(gaps, 39))])  # 40 frames, 2.2 s
    _vfr_video(assets_dir / "single_face.mp4", tmp_path / "vfr.mp4", pts.tolist())
    seen: list[int] = []

    def factory():
        lm = _RecordingLandmarker(face_model)
        lm.seen = seen
        return lm

    res = extract_video(tmp_path / "vfr.mp4", factory, ExtractSettings(sample_fps=8))
    # by hand: the first frame of each 125 ms interval of presentation time
    slots = np.floor(pts / 125.0).astype(int)
    expected = [i for i in range(len(pts)) if i == 0 or slots[i] > slots[i - 1]]
    assert res.frames["frame"].tolist() == expected
    assert np.allclose(res.frames["timestamp"], pts[expected] / 1000.0, atol=1e-6)
    assert res.n_frames == len(expected) < len(pts) and res.decoded == len(pts)
    assert res.status == "ok" and res.frames["face_detected"].all()
    assert seen == pts[expected].tolist()  # integer ms, strictly increasing, as VIDEO mode needs
    # full rate keeps every frame; a rate above the video's keeps every frame too
    for rate in (None, 100.0):
        every = extract_video(tmp_path / "vfr.mp4", factory, ExtractSettings(sample_fps=rate))
        assert every.frames["frame"].tolist() == list(range(len(pts)))


def test_sample_fps_and_au_calibration_are_recorded_and_part_of_the_resume_key(
    assets_dir, face_model, tmp_path
):
    video = [str(assets_dir / "single_face.mp4")]
    s = run_batch(video, tmp_path, face_model, settings=ExtractSettings(sample_fps=12))
    settings = json.loads(s.manifest.loc[0, "settings"])
    assert settings["sample_fps"] == 12 and settings["au_calibration"] == "video"
    assert s.manifest.loc[0, "frames"] == 29  # 2.4 s at 30 fps: frames 0, 3, 5, 8, 10, ..., 70
    table = pd.read_parquet(ExtractionDir(tmp_path).frames_path("single_face"))
    assert (np.diff(table["frame"]) >= 2).all() and (np.diff(table["frame"]) <= 3).all()
    again = run_batch(video, tmp_path, face_model, settings=ExtractSettings(sample_fps=12))
    assert again.skipped == 1
    for other in (
        ExtractSettings(sample_fps=8),
        ExtractSettings(sample_fps=12, au_calibration="none"),
    ):
        assert run_batch(video, tmp_path, face_model, settings=other).processed == 1
    with pytest.raises(FacemindError, match="au_calibration"):
        ExtractSettings(au_calibration="person")
    with pytest.raises(FacemindError, match="sample_fps"):
        ExtractSettings(sample_fps=0)


def test_one_pass_table_equals_the_per_frame_path(assets_dir, face_model):
    """The frame table built once per video equals one built a frame at a time (a landmarker
    detection and a one-row :func:`frame_table` per frame, with the faces it counted)."""
    path = assets_dir / "face_noface.mov"
    res = extract_video(
        path, lambda: Landmarker(face_model), ExtractSettings(au_calibration="none")
    )
    parts = []
    container, _ = open_video(path)
    with container, Landmarker(face_model) as lm:
        for index, t, rgb in iter_frames(container):
            det = lm.detect(rgb, t)
            found = det is not None
            n = int(found)
            parts.append(
                frame_table(
                    np.array([index]),
                    np.array([t]),
                    np.array([found]),
                    det.mesh[None] if found else np.zeros((0, 478, 3)),
                    det.blendshapes[None] if found else np.zeros((0, 52)),
                    960,
                    540,
                    "none",
                    faces=np.array([lm.faces]),
                )
            )
            assert len(parts[-1]) == 1 and n in (0, 1)
    per_frame = conform(pd.concat(parts, ignore_index=True))
    pd.testing.assert_frame_equal(conform(res.frames), per_frame, rtol=1e-5)
    assert 0 < res.face_frames < res.n_frames == 169


def test_crop_keeper_memory_is_bounded_and_choices_stay_close():
    rgb = np.zeros((60, 80, 3), np.uint8)
    mesh = np.full((478, 3), 0.5)
    mesh[[33, 133], 0], mesh[[263, 362], 0] = 0.4, 0.6  # eye corners: a level face
    keeper = _CropKeeper(k=5, size=CROP_SIZE, capacity=20)
    n_face = 1000
    for ordinal in range(n_face):
        keeper.offer(ordinal, ordinal + 7, rgb, mesh)
        assert len(keeper.kept) <= 20
    crops = keeper.crops(n_face)
    targets = np.round(np.linspace(0, n_face - 1, 5))
    got = np.array([index - 7 for index, _ in crops])
    assert len(got) == 5 and np.abs(got - targets).max() <= keeper.stride / 2
    assert got[0] == 0 and got[-1] == n_face - 1
    assert all(c.shape == (CROP_SIZE, CROP_SIZE, 3) for _, c in crops)
    # few face frames: exactly the evenly spaced ones
    small = _CropKeeper(k=3, size=CROP_SIZE)
    for ordinal in range(10):
        small.offer(ordinal, ordinal, rgb, mesh)
    assert [i for i, _ in small.crops(10)] == [0, 4, 9]  # round(4.5) is 4


def test_extraction_dir_locates_counts_and_summarises(batch):
    out, _, _ = batch
    layout = ExtractionDir.locate(out / "frames")
    assert layout.root == out and layout.frames_dir == out / "frames"
    assert ExtractionDir.locate(out).frames_path("x") == out / "frames" / "x.parquet"
    m = layout.read_manifest()
    assert layout.usable(m).tolist() == [True, False, True, False]  # ok, no_face, partial, failed
    counts = layout.status_counts()
    assert (counts["ok"], counts["partial"], counts["no_face"], counts["failed"]) == (1, 1, 1, 1)
    assert layout.failures()["video_id"].tolist() == ["d_empty"]
    text = layout.left_out()
    assert text.startswith("failed 1 (file is empty (0 bytes): 1), no_face 1 (no face found in")
    assert layout.exclusion("d_empty", "failed") == "extraction_failed"
    assert layout.exclusion("nothing", "ok") == "missing_frame_table"
    assert layout.exclusion("a_good", "ok") is None
    assert layout.face_frames("a_good") == 72 and layout.face_frames("b_noface") == 0
    assert layout.crop_path("a_good", 36) == out / "crops" / "a_good" / "000036.png"
    with pytest.raises(InputError, match="no manifest.parquet"):
        ExtractionDir.locate(out.parent / "videos")


def test_manifest_row_names_every_manifest_column_once():
    import inspect

    from facemind.face.layout import manifest_row
    from facemind.face.schema import MANIFEST_COLUMNS

    assert set(inspect.signature(manifest_row).parameters) == set(MANIFEST_COLUMNS)
    row = manifest_row(video_id="v", participant_id="p", status="ok")
    assert list(row) == list(MANIFEST_COLUMNS)
    assert row["synthetic"] is False and row["frames"] is None
