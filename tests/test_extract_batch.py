"""Batch runner: bad files recorded not fatal, resume, kill-and-resume, ids, Dask workers."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time

import pandas as pd
import pytest

from facemind.cli import main
from facemind.errors import InputError
from facemind.face.batch import collect_inputs, run_batch
from facemind.face.extract import ExtractSettings
from facemind.face.schema import MANIFEST_COLUMNS, read_frame_table


@pytest.fixture()
def video_folder(assets_dir, tmp_path):
    """Good videos, a truncated copy and a zero-byte file."""
    folder = tmp_path / "videos"
    (folder / "sub").mkdir(parents=True)
    shutil.copy(assets_dir / "single_face.mp4", folder / "a_single.mp4")
    shutil.copy(assets_dir / "no_face.mp4", folder / "sub" / "b_noface.mp4")
    data = (assets_dir / "single_face.mp4").read_bytes()
    (folder / "c_truncated.mp4").write_bytes(data[: len(data) // 3])
    (folder / "d_empty.mp4").write_bytes(b"")
    (folder / "notes.txt").write_text("not a video")
    return folder


def _frames(out):
    return {p.name: read_frame_table(p) for p in sorted((out / "frames").glob("*.parquet"))}


def test_bad_files_get_status_and_never_stop_the_batch(video_folder, face_model, tmp_path):
    out = tmp_path / "out"
    s = run_batch([video_folder], out, face_model)
    m = pd.read_parquet(out / "manifest.parquet").set_index("video_id")
    assert list(m.reset_index().columns) == list(MANIFEST_COLUMNS)
    assert m.loc["a_single", "status"] == "ok" and m.loc["a_single", "face_frames"] == 72
    assert m.loc["b_noface", "status"] == "no_face"
    assert m.loc["c_truncated", "status"] == "failed" and m.loc["c_truncated", "error"]
    assert m.loc["d_empty", "status"] == "failed" and "empty" in m.loc["d_empty", "error"]
    assert (s.failed, s.no_face, s.processed, s.skipped) == (2, 1, 4, 0)
    assert sorted(_frames(out)) == ["a_single.parquet", "b_noface.parquet"]
    assert not (out / "crops").exists()  # nothing but tables unless crops are asked for
    settings = json.loads(m.loc["a_single", "settings"])
    assert settings["min_confidence"] == 0.7 and settings["save_crops"] == 0
    # rerun: everything skipped, nothing changes
    before = _frames(out)
    s2 = run_batch([video_folder], out, face_model)
    assert (s2.skipped, s2.processed) == (4, 0)
    for k, v in _frames(out).items():
        pd.testing.assert_frame_equal(v, before[k])
    # changed settings or a changed input are redone
    s3 = run_batch([video_folder / "a_single.mp4"], out, face_model,
                   settings=ExtractSettings(min_confidence=0.6))  # fmt: skip
    assert s3.processed == 1
    os.utime(video_folder / "a_single.mp4", ns=(1, 1))
    assert run_batch([video_folder / "a_single.mp4"], out, face_model).processed == 1


def test_progress_counts_videos_done_including_earlier_ones(face_model, tmp_path):
    folder = tmp_path / "videos"
    folder.mkdir()
    for name in ("a.mp4", "b.mp4"):
        (folder / name).write_bytes(b"")  # fails at once: no decoding needed
    calls = []
    run_batch([folder], tmp_path / "out", face_model, progress=lambda d, t: calls.append((d, t)))
    assert calls == [(0, 2), (1, 2), (2, 2)]
    (folder / "c.mp4").write_bytes(b"")
    calls.clear()
    run_batch([folder], tmp_path / "out", face_model, progress=lambda d, t: calls.append((d, t)))
    assert calls == [(2, 3), (3, 3)]


def test_killed_and_resumed_run_equals_uninterrupted(assets_dir, face_model, tmp_path):
    folder = tmp_path / "videos"
    folder.mkdir()
    for name, src in (("v1", "single_face.mp4"), ("v2", "WolfgangLanger_Pexels.mp4"),
                      ("v3", "no_face.mp4"), ("v4", "single_face.mp4")):  # fmt: skip
        shutil.copy(assets_dir / src, folder / f"{name}.mp4")
    full = tmp_path / "full"
    run_batch([folder], full, face_model)

    part = tmp_path / "part"
    cmd = [sys.executable, "-m", "facemind", "extract", str(folder), "--out", str(part),
           "--model", str(face_model), "--no-progress", "-j", "1"]  # fmt: skip
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    while not (part / "records" / "v1.json").exists() and time.time() < deadline:
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)  # mid-way through v2
    proc.wait()
    done = sorted(p.stem for p in (part / "records").glob("*.json"))
    assert "v1" in done and "v4" not in done  # really interrupted
    assert not list((part / "frames").glob("*.tmp"))  # temp files never left as results

    s = run_batch([folder], part, face_model)
    assert s.skipped == len(done)
    pd.testing.assert_frame_equal(
        pd.read_parquet(part / "manifest.parquet"), pd.read_parquet(full / "manifest.parquet")
    )
    a, b = _frames(part), _frames(full)
    assert sorted(a) == sorted(b) == ["v1.parquet", "v2.parquet", "v3.parquet", "v4.parquet"]
    for k in a:
        pd.testing.assert_frame_equal(a[k], b[k])


def test_dask_workers_match_single_process(assets_dir, face_model, tmp_path):
    videos = [str(assets_dir / v) for v in ("single_face.mp4", "no_face.mp4")]
    one, two = tmp_path / "one", tmp_path / "two"
    run_batch(videos, one, face_model)
    s = run_batch(videos, two, face_model, workers=2)
    assert s.processed == 2
    pd.testing.assert_frame_equal(
        pd.read_parquet(one / "manifest.parquet"), pd.read_parquet(two / "manifest.parquet")
    )
    for k, v in _frames(one).items():
        pd.testing.assert_frame_equal(v, _frames(two)[k])


def _worker_environ() -> dict[str, str | None]:
    import os

    return {k: os.environ.get(k) for k in ("MALLOC_TRIM_THRESHOLD_", "OMP_NUM_THREADS")}


def test_local_cluster_workers_keep_glibc_malloc_defaults():
    from dask.distributed import Client

    from facemind.face.batch import local_cluster

    with local_cluster(2) as cluster, Client(cluster) as client:
        environs = list(client.run(_worker_environ).values())
    assert len(environs) == 2
    # Dask's MALLOC_TRIM_THRESHOLD_ is dropped; its one-thread BLAS/OpenMP limit stays.
    assert all(e == {"MALLOC_TRIM_THRESHOLD_": None, "OMP_NUM_THREADS": "1"} for e in environs)


def test_csv_list_ids_and_refusals(assets_dir, tmp_path):
    lst = tmp_path / "list.csv"
    lst.write_text(f"path,video_id,participant_id\n{assets_dir / 'single_face.mp4'},s01,p01\n"
                   f"{assets_dir / 'no_face.mp4'},s02,p01\n")  # fmt: skip
    tasks = collect_inputs([lst])
    assert [(t.video_id, t.participant_id) for t in tasks] == [("s01", "p01"), ("s02", "p01")]

    dup = tmp_path / "dup.csv"
    dup.write_text(f"path,video_id\n{assets_dir / 'single_face.mp4'},x\n"
                   f"{assets_dir / 'no_face.mp4'},x\n")  # fmt: skip
    with pytest.raises(InputError, match="duplicate video id"):
        collect_inputs([dup])
    for bad in ("../escape", "a/b", "..", ".hidden", "a\\b"):
        unsafe = tmp_path / "unsafe.csv"
        unsafe.write_text(f"path,video_id\n{assets_dir / 'single_face.mp4'},{bad}\n")
        with pytest.raises(InputError, match="unsafe video id") as err:
            collect_inputs([unsafe])
        assert "row 1" in str(err.value) and "video_id" in str(err.value)
    missing = tmp_path / "missing.csv"
    missing.write_text("path\nnowhere.mp4\n")
    with pytest.raises(InputError, match="video file not found"):
        collect_inputs([missing])
    # two folders holding the same file name collide
    for sub in ("x", "y"):
        (tmp_path / sub).mkdir()
        shutil.copy(assets_dir / "no_face.mp4", tmp_path / sub / "same.mp4")
    with pytest.raises(InputError, match="duplicate"):
        collect_inputs([tmp_path / "x", tmp_path / "y"])


def test_cli_extract_errors_are_one_line(tmp_path, capsys, face_model):
    assert main(["extract", str(tmp_path / "nothing.mp4"), "--out", str(tmp_path / "o"),
                 "--model", str(face_model)]) == 2  # fmt: skip
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "nothing.mp4" in err and "input not found" in err
    bad_model = tmp_path / "bad.task"
    bad_model.write_bytes(b"x")
    (tmp_path / "v.mp4").write_bytes(b"")
    assert main(["extract", str(tmp_path / "v.mp4"), "--out", str(tmp_path / "o"),
                 "--model", str(bad_model)]) == 2  # fmt: skip
    assert "sha256" in capsys.readouterr().err


def test_cli_extract_with_crops(assets_dir, face_model, tmp_path, capsys):
    out = tmp_path / "o"
    rc = main(["extract", str(assets_dir / "single_face.mp4"), "--out", str(out),
               "--model", str(face_model), "--save-crops", "3", "--no-progress"])  # fmt: skip
    assert rc == 0
    assert "1 processed" in capsys.readouterr().out
    assert sorted(p.name for p in (out / "crops" / "single_face").iterdir()) == [
        "000000.png",
        "000036.png",
        "000071.png",
    ]
