"""Extraction speed: frames per second with 1 and 2 workers, against a bare decode + landmarker loop.

Uses the real test videos (``make assets``), repeated to make a batch: single_face.mp4 and
WolfgangLanger_Pexels.mp4 are 640x360, the two .mov files 960x540 HEVC. One worker runs in
this process; N workers are ``run_batch(..., jobs=N)``'s local process pool
(:func:`facemind.parallel.process_pool`), passed in as ``executor`` with its processes started
before the clock (a real batch runs for hours, so the steady state is what counts), so that
their CPU time and memory can be read from /proc (Linux).
Peak memory is each process's high-water resident set size (VmHWM). Frames per CPU-second
(user + system time of the worker processes, all threads) is the speed a worker would reach
on a core of its own; it is less affected by other load on the machine than wall-clock fps.

The same videos also go through a bare loop in this process: PyAV decoding to RGB and
MediaPipe's FaceLandmarker in VIDEO mode, nothing else (no signals, no table, no files). The
ratio of extraction's frames per CPU-second to the bare loop's is the share of the model's
limit that extraction reaches (the target is 0.95 or more). The bare loop and the one-worker
extraction run twice each, in the order bare, extraction, extraction, bare, and are pooled.

    .venv/bin/python benchmarks/bench_extract.py [--assets .cache/assets] [--copies 8] [--workers 1,2]
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import tempfile
import time
from pathlib import Path

VIDEOS_360P = ("single_face.mp4", "WolfgangLanger_Pexels.mp4")
VIDEOS_540P = ("face_noface.mov", "noface_face.mov")


def _peak_rss_mib(pid: int | str = "self") -> float:
    """A process's peak resident memory (VmHWM), in MiB; this process's by default."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def _process_cpu_seconds(pid: int) -> float:
    """CPU time (user + system, all threads) another process has used, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime, stime


def _worker_pid(delay: float) -> int:
    """Keeps a worker busy for ``delay`` seconds (so each call gets its own) and says which."""
    time.sleep(delay)
    return os.getpid()


def _make_batch(assets: Path, names: tuple[str, ...], copies: int, folder: Path) -> None:
    folder.mkdir(parents=True)
    for k in range(copies):
        for n in names:
            src = assets / n
            shutil.copy(src, folder / f"{src.stem}_{k}{src.suffix}")


def _cpu_seconds() -> float:
    """CPU time (user + system, all threads) this process has used."""
    return time.process_time()


def bare_loop(folder: Path, model: Path) -> tuple[int, float, float]:
    """(frames, wall seconds, CPU seconds) of decode + FaceLandmarker over every video."""
    import av
    import mediapipe as mp
    from mediapipe.tasks.python import BaseOptions, vision

    from facemind.face.landmarker import DEFAULT_MIN_CONFIDENCE, startup_messages_dropped

    conf = DEFAULT_MIN_CONFIDENCE
    options = vision.FaceLandmarkerOptions(
        base_options=BaseOptions(model_asset_buffer=model.read_bytes()),
        running_mode=vision.RunningMode.VIDEO,
        num_faces=1,
        min_face_detection_confidence=conf,
        min_face_presence_confidence=conf,
        min_tracking_confidence=conf,
        output_face_blendshapes=True,
        output_facial_transformation_matrixes=True,
    )
    frames = 0
    t0, c0 = time.perf_counter(), _cpu_seconds()
    for video in sorted(folder.iterdir()):
        with startup_messages_dropped():
            lm = vision.FaceLandmarker.create_from_options(options)
        with av.open(str(video)) as container, lm:
            stream = container.streams.video[0]
            stream.thread_type = "AUTO"
            last = -1
            for frame in container.decode(stream):
                rgb = frame.to_ndarray(format="rgb24")
                image = mp.Image(image_format=mp.ImageFormat.SRGB, data=rgb)
                last = max(int(round(float(frame.time) * 1000)), last + 1)
                lm.detect_for_video(image, last)
                frames += 1
    return frames, time.perf_counter() - t0, _cpu_seconds() - c0


def run(folder: Path, model: Path, workers: int) -> tuple[int, float, float, list[float]]:
    from facemind.face.batch import run_batch

    with tempfile.TemporaryDirectory() as out:
        if workers == 1:
            t0, c0 = time.perf_counter(), _cpu_seconds()
            s = run_batch([folder], out, model, jobs=1)
            cpu = _cpu_seconds() - c0
            return s.frames, time.perf_counter() - t0, cpu, [_peak_rss_mib()]
        from facemind.parallel import process_pool

        with process_pool(workers) as pool:
            pids = set(pool.map(_worker_pid, [1.0] * workers))  # workers up before the clock
            assert len(pids) == workers, "each worker should have taken one call"
            c0 = sum(_process_cpu_seconds(pid) for pid in pids)
            t0 = time.perf_counter()
            s = run_batch([folder], out, model, jobs=workers, executor=pool)
            elapsed = time.perf_counter() - t0
            cpu = sum(_process_cpu_seconds(pid) for pid in pids) - c0
            peaks = [_peak_rss_mib(pid) for pid in sorted(pids)]
        return s.frames, elapsed, cpu, peaks


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--assets", default=".cache/assets")
    ap.add_argument("--copies", type=int, default=8, help="copies of each video in the batch")
    ap.add_argument("--workers", default="1,2", help="worker counts to run, comma separated")
    args = ap.parse_args()
    assets = Path(args.assets)
    model = assets / "face_landmarker.task"
    worker_counts = [int(w) for w in args.workers.split(",")]
    with tempfile.TemporaryDirectory() as tmp:
        for label, names in (("640x360 h264", VIDEOS_360P), ("960x540 hevc", VIDEOS_540P)):
            folder = Path(tmp) / label.split()[0]
            _make_batch(assets, names, args.copies, folder)
            # Bare loop and one worker in the order bare, extract, extract, bare, so that a
            # load that drifts during the run weighs on both alike; figures are pooled.
            bare = [bare_loop(folder, model)]
            one = [run(folder, model, 1) for _ in range(2)]
            bare.append(bare_loop(folder, model))
            bare_frames, bare_secs, bare_cpu = (sum(x) for x in zip(*bare, strict=True))
            bare_rate = bare_frames / bare_cpu
            print(
                f"{label}  bare decode + landmarker  frames={bare_frames}  {bare_secs:6.1f} s  "
                f"{bare_frames / bare_secs:6.1f} fps  ({bare_rate:5.1f} frames per CPU-second)",
                flush=True,
            )
            base = None
            for workers in worker_counts:
                if workers == 1:
                    frames = sum(r[0] for r in one)
                    secs, cpu = sum(r[1] for r in one), sum(r[2] for r in one)
                    peaks = [max(p for r in one for p in r[3])]
                else:
                    frames, secs, cpu, peaks = run(folder, model, workers)
                fps = frames / secs
                base = base or fps
                ratio = (
                    f"; x{frames / cpu / bare_rate:.2f} of the bare loop's frames per CPU-second, "
                    f"x{fps / (bare_frames / bare_secs):.2f} of its fps"
                    if workers == 1
                    else ""
                )
                print(
                    f"{label}  workers={workers}  frames={frames}  {secs:6.1f} s  "
                    f"{fps:6.1f} fps  ({fps / workers:5.1f} per worker, x{fps / base:.2f}; "
                    f"{frames / cpu:5.1f} frames per CPU-second{ratio})  "
                    f"peak RSS per worker: {', '.join(f'{p:.0f} MiB' for p in peaks)}",
                    flush=True,
                )


if __name__ == "__main__":
    main()
