"""Benchmark: `extract_features` throughput on full-rate frame tables (1,800 frames each).

Writes N synthetic videos of 60 s at 30 fps (1,800 frames, every channel group incl.
blendshapes), then times feature extraction over the directory (reading Parquet included)
and prints videos per second, with the time that rate implies for the paper's 11,427
videos (a linear extrapolation: videos are independent and processed in fixed chunks).

    python benchmarks/bench_features.py [--videos 400] [--jobs 2] [--groups aus,pose,...]
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
from pathlib import Path

from _timing import cpu_seconds

from facemind.functionals import extract_features
from facemind.synth import SynthConfig, write_cohort

COHORT = 11_427


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--videos", type=int, default=400)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--groups", default=None, help="comma-separated channel groups (default all)")
    args = ap.parse_args()
    groups = args.groups.split(",") if args.groups else None
    out = Path(tempfile.mkdtemp(prefix="facemind-bench-features-"))
    try:
        cfg = SynthConfig(args.videos, seed=0, fps=30.0, duration=60.0)
        write_cohort(out, cfg, jobs=args.jobs)
        start, cpu0 = time.perf_counter(), cpu_seconds()
        res = extract_features(out, groups=groups, jobs=args.jobs)
        seconds, cpu = time.perf_counter() - start, cpu_seconds() - cpu0
        frames = res.table["coverage__frames"].mean()
        rate = len(res.table) / seconds
        print(
            f"features: {len(res.table)} videos x {frames:.0f} frames (mean), "
            f"{len(res.table.columns) - 2} columns, jobs={args.jobs}: {seconds:.1f} s = "
            f"{rate:.1f} videos/s; {COHORT} videos at this rate: {COHORT / rate / 60:.1f} min"
        )
        print(
            f"  CPU {cpu:.1f} s = {1000 * cpu / len(res.table):.0f} ms per video; load average "
            f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} cores"
        )
    finally:
        shutil.rmtree(out, ignore_errors=True)


if __name__ == "__main__":
    main()
