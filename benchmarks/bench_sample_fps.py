"""Frame sampling: extraction speed-up and how far the per-video features move, against full rate.

Every real test video with a face is extracted at its full frame rate and with
``--sample-fps`` 8 and 12 (one process, one video at a time). For each rate the speed-up is
the ratio of frames-per-video CPU time (user + system, all threads) and wall time to the full
rate's; the features of each video are then computed from each frame table, and for each
channel group the median, over videos and channels, of the relative difference
``|sampled - full| / |full|`` of the ``__mean`` and of the ``__std`` features is printed.

    .venv/bin/python benchmarks/bench_sample_fps.py [--assets .cache/assets] [--rates 8,12]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import pandas as pd

VIDEOS = ("single_face.mp4", "WolfgangLanger_Pexels.mp4", "face_noface.mov", "noface_face.mov")


def extract_all(assets: Path, model: bytes, sample_fps: float | None):
    """({video: frame table}, wall seconds, CPU seconds, frames used)."""
    from facemind.face.extract import ExtractSettings, extract_video
    from facemind.face.landmarker import Landmarker
    from facemind.face.schema import conform

    settings = ExtractSettings(sample_fps=sample_fps)
    tables = {}
    t0, c0 = time.perf_counter(), time.process_time()
    for name in VIDEOS:
        res = extract_video(
            assets / name,
            lambda: Landmarker(model, min_confidence=settings.min_confidence),
            settings,
        )
        tables[name] = conform(res.frames)
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    return tables, wall, cpu, sum(len(t) for t in tables.values())


def features(tables: dict[str, pd.DataFrame]) -> pd.DataFrame:
    from facemind.functionals import compute_features

    res = compute_features([(k, k, v) for k, v in tables.items()], min_face_frames=1)
    return res.table.set_index("video_id")


def relative_differences(full: pd.DataFrame, sampled: pd.DataFrame) -> dict[tuple[str, str], float]:
    """Median |sampled - full| / |full| per (channel group, statistic)."""
    from facemind.face.schema import CHANNEL_GROUPS

    out = {}
    for group, channels in CHANNEL_GROUPS.items():
        for stat in ("mean", "std"):
            cols = [f"{c}__{stat}" for c in channels if f"{c}__{stat}" in full.columns]
            a = full.loc[sampled.index, cols].to_numpy(float)
            b = sampled[cols].to_numpy(float)
            ok = np.isfinite(a) & np.isfinite(b) & (np.abs(a) > 1e-9)
            out[group, stat] = float(np.median(np.abs(b[ok] - a[ok]) / np.abs(a[ok])))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--assets", default=".cache/assets")
    ap.add_argument("--rates", default="8,12", help="sampling rates (frames per second)")
    args = ap.parse_args()
    assets = Path(args.assets)
    model = (assets / "face_landmarker.task").read_bytes()
    extract_all(assets, model, 4.0)  # warm-up: libraries loaded, caches filled, before the clock
    full, wall0, cpu0, n0 = extract_all(assets, model, None)
    feats0 = features(full)
    print(f"full rate: {n0} frames, {wall0:.1f} s, {cpu0:.1f} CPU-s ({len(full)} videos)")
    groups = None
    for rate in (float(r) for r in args.rates.split(",")):
        tables, wall, cpu, n = extract_all(assets, model, rate)
        diffs = relative_differences(feats0, features(tables))
        groups = groups or sorted({g for g, _ in diffs})
        print(
            f"--sample-fps {rate:g}: {n} frames ({n / n0:.2f} of full), {wall:.1f} s, "
            f"{cpu:.1f} CPU-s; speed-up x{cpu0 / cpu:.2f} CPU, x{wall0 / wall:.2f} wall"
        )
        print("  median relative difference  " + "  ".join(f"{g:>11}" for g in groups))
        for stat in ("mean", "std"):
            print(f"  __{stat:<24}  " + "  ".join(f"{diffs[g, stat]:11.3f}" for g in groups))


if __name__ == "__main__":
    main()
