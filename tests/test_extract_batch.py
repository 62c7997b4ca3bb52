"""Batch runner: bad files recorded not fatal, resume, kill-and-resume, ids, local and Dask
workers, failing workers."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

import facemind
from facemind.cli import main
from facemind.errors import FacemindError, InputError
from facemind.face.batch import collect_inputs, run_batch
from facemind.face.extract import ExtractSettings
from facemind.face.schema import MANIFEST_COLUMNS, read_frame_table
from facemind.parallel import SerialExecutor, open_executor


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
    s3 = run_batch(
        [video_folder / "a_single.mp4"],
        out,
        face_model,
        settings=ExtractSettings(min_confidence=0.6),
    )
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
    for name, src in (
        ("v1", "single_face.mp4"),
        ("v2", "WolfgangLanger_Pexels.mp4"),
        ("v3", "no_face.mp4"),
        ("v4", "single_face.mp4"),
    ):
        shutil.copy(assets_dir / src, folder / f"{name}.mp4")
    full = tmp_path / "full"
    run_batch([folder], full, face_model)

    part = tmp_path / "part"
    cmd = [
        sys.executable,
        "-m",
        "facemind",
        "extract",
        str(folder),
        "--out",
        str(part),
        "--face-model",
        str(face_model),
        "--no-progress",
        "-j",
        "1",
    ]
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


def _same_outputs(one, two):
    pd.testing.assert_frame_equal(
        pd.read_parquet(one / "manifest.parquet"), pd.read_parquet(two / "manifest.parquet")
    )
    a, b = _frames(one), _frames(two)
    assert sorted(a) == sorted(b) and a
    for k, v in a.items():
        pd.testing.assert_frame_equal(v, b[k])


def test_dask_workers_match_single_process(assets_dir, face_model, tmp_path):
    videos = [str(assets_dir / v) for v in ("single_face.mp4", "no_face.mp4")]
    one, two, dask = tmp_path / "one", tmp_path / "two", tmp_path / "dask"
    run_batch(videos, one, face_model)
    s = run_batch(videos, two, face_model, jobs=2)  # two local worker processes
    assert s.processed == 2
    _same_outputs(one, two)

    distributed = pytest.importorskip("distributed")  # the `dist` extra
    src = str(Path(facemind.__file__).resolve().parents[1])  # workers import this checkout
    before = os.environ.get("PYTHONPATH")
    os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (src, before) if p)
    try:
        with (
            distributed.LocalCluster(
                n_workers=2,
                threads_per_worker=1,
                processes=True,
                dashboard_address=None,
                host="127.0.0.1",
            ) as cluster,
            distributed.Client(cluster, set_as_default=False) as client,
        ):
            s = run_batch(videos, dask, face_model, executor=client)
            assert client.status == "running"  # a caller's client is left open
            workers = {w["id"] for w in client.scheduler_info()["workers"].values()}
    finally:
        if before is None:
            os.environ.pop("PYTHONPATH", None)
        else:
            os.environ["PYTHONPATH"] = before
    assert s.processed == 2 and len(workers) == 2
    _same_outputs(one, dask)


def _worker_environ(_: int) -> tuple[int, str | None]:
    return os.getpid(), os.environ.get("MALLOC_TRIM_THRESHOLD_")


def test_local_worker_processes_keep_glibc_malloc_defaults():
    # Dask's nanny sets MALLOC_TRIM_THRESHOLD_=65536, which costs extraction about 8% of its
    # speed; the local pool that `jobs=2` opens starts its workers without it.
    with open_executor(jobs=2, n_tasks=2) as pool:
        assert not isinstance(pool, SerialExecutor)
        seen = list(pool.map(_worker_environ, range(4)))
    assert all(pid != os.getpid() and trim is None for pid, trim in seen)


@pytest.mark.parametrize("jobs", [1, 2])
def test_a_call_that_raises_in_a_worker_fails_its_video_only(
    assets_dir, face_model, tmp_path, jobs
):
    folder = tmp_path / "videos"
    folder.mkdir()
    shutil.copy(assets_dir / "single_face.mp4", folder / "a.mp4")
    shutil.copy(assets_dir / "no_face.mp4", folder / "b.mp4")
    shutil.copy(assets_dir / "single_face.mp4", folder / "c.mp4")
    out = tmp_path / "out"
    # A folder where a's frame table goes: writing the table raises in the worker, outside
    # the extraction's own error handling.
    (out / "frames" / "a.parquet").mkdir(parents=True)
    results = []
    s = run_batch([folder], out, face_model, jobs=jobs, on_result=results.append)
    m = pd.read_parquet(out / "manifest.parquet").set_index("video_id")
    assert m.loc["a", "status"] == "failed"
    assert m.loc["a", "error"].startswith("worker failed: IsADirectoryError: ")
    assert (m.loc["b", "status"], m.loc["c", "status"]) == ("no_face", "ok")
    assert m.loc["c", "face_frames"] == 72
    tables = sorted(p.name for p in (out / "frames").iterdir() if p.is_file())
    assert tables == ["b.parquet", "c.parquet"]
    assert (s.processed, s.failed, s.ok, s.no_face) == (3, 1, 1, 1)
    assert [f[0] for f in s.failures] == ["a"] and len(results) == 3


def _cpu_limited_worker() -> None:
    """A worker the OS kills (SIGXCPU) once it has used one second of CPU time."""
    import resource

    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    resource.setrlimit(resource.RLIMIT_CPU, (1, resource.getrlimit(resource.RLIMIT_CPU)[1]))


def test_a_dead_worker_fails_the_videos_of_its_broken_pool_and_a_rerun_redoes_them(
    assets_dir, face_model, tmp_path
):
    import multiprocessing as mp
    from concurrent.futures import ProcessPoolExecutor

    videos = [str(assets_dir / v) for v in ("WolfgangLanger_Pexels.mp4", "no_face.mp4")]
    out = tmp_path / "out"
    pool = ProcessPoolExecutor(
        max_workers=1, mp_context=mp.get_context("forkserver"), initializer=_cpu_limited_worker
    )
    with pool, pytest.raises(FacemindError, match=r"every video to do \(2\) failed in its worker"):
        run_batch(videos, out, face_model, executor=pool)  # every video lost: no summary
    m = pd.read_parquet(out / "manifest.parquet").set_index("video_id")
    assert list(m["status"]) == ["failed", "failed"]
    assert all(e.startswith("worker failed: BrokenProcessPool: ") for e in m["error"])
    assert not _frames(out)
    again = run_batch(videos, out, face_model)  # the next run redoes them
    assert (again.skipped, again.processed, again.ok, again.no_face) == (0, 2, 1, 1)
    assert sorted(_frames(out)) == ["WolfgangLanger_Pexels.parquet", "no_face.parquet"]


def test_csv_list_ids_and_refusals(assets_dir, tmp_path):
    lst = tmp_path / "list.csv"
    lst.write_text(
        f"path,video_id,participant_id\n{assets_dir / 'single_face.mp4'},s01,p01\n"
        f"{assets_dir / 'no_face.mp4'},s02,p01\n"
    )
    tasks = collect_inputs([lst])
    assert [(t.video_id, t.participant_id) for t in tasks] == [("s01", "p01"), ("s02", "p01")]

    dup = tmp_path / "dup.csv"
    dup.write_text(
        f"path,video_id\n{assets_dir / 'single_face.mp4'},x\n{assets_dir / 'no_face.mp4'},x\n"
    )
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
    assert (
        main(
            [
                "extract",
                str(tmp_path / "nothing.mp4"),
                "--out",
                str(tmp_path / "o"),
                "--face-model",
                str(face_model),
            ]
        )
        == 2
    )
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "nothing.mp4" in err and "input not found" in err
    bad_model = tmp_path / "bad.task"
    bad_model.write_bytes(b"x")
    (tmp_path / "v.mp4").write_bytes(b"")
    assert (
        main(
            [
                "extract",
                str(tmp_path / "v.mp4"),
                "--out",
                str(tmp_path / "o"),
                "--face-model",
                str(bad_model),
            ]
        )
        == 2
    )
    assert "sha256" in capsys.readouterr().err


def test_cli_extract_with_crops(assets_dir, face_model, tmp_path, capsys):
    out = tmp_path / "o"
    rc = main(
        [
            "extract",
            str(assets_dir / "single_face.mp4"),
            "--out",
            str(out),
            "--face-model",
            str(face_model),
            "--save-crops",
            "3",
            "--no-progress",
        ]
    )
    assert rc == 0
    assert "1 processed" in capsys.readouterr().out
    assert sorted(p.name for p in (out / "crops" / "single_face").iterdir()) == [
        "000000.png",
        "000036.png",
        "000071.png",
    ]


def test_max_faces_is_an_extract_setting_recorded_per_video(tmp_path, assets_dir, face_model):
    import facemind as fm
    from facemind.errors import ParameterError

    video = [str(assets_dir / "single_face.mp4")]
    with pytest.raises(ParameterError, match=r"^`max_faces` must be 1 or more, got 0$"):
        fm.extract(video, tmp_path / "none", face_model=face_model, max_faces=0)
    assert not (tmp_path / "none").exists()
    one = fm.extract(video, tmp_path / "one", face_model=face_model, max_faces=1)
    assert json.loads(one["settings"].iloc[0])["max_faces"] == 1
    again = fm.extract(video, tmp_path / "one", face_model=face_model)  # other setting: redone
    assert again.attrs["run"]["processed"] == 1
    assert json.loads(again["settings"].iloc[0])["max_faces"] == 3
