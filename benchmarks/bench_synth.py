"""Benchmark: write a synthetic cohort (responses, frame tables, manifest) with `write_cohort`.

Default: the paper's 11,427 participants, one 60-second video each at 5 fps, 2 worker
processes, into a temporary directory (about 3.2 GB, removed afterwards). Prints seconds,
videos per second and the size written.

    python benchmarks/bench_synth.py [--participants 11427] [--fps 5] [--duration 60]
                                     [--jobs 2] [--keep DIR]
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
from pathlib import Path

from _timing import cpu_seconds

from facemind.synth import SynthConfig, write_cohort


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--participants", type=int, default=11_427)
    ap.add_argument("--fps", type=float, default=5.0)
    ap.add_argument("--duration", type=float, default=60.0)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--keep", type=Path, default=None, help="write here and keep the cohort")
    args = ap.parse_args()
    out = args.keep or Path(tempfile.mkdtemp(prefix="facemind-bench-synth-"))
    cfg = SynthConfig(args.participants, seed=0, fps=args.fps, duration=args.duration)
    try:
        start, cpu0 = time.perf_counter(), cpu_seconds()
        s = write_cohort(out, cfg, jobs=args.jobs)
        seconds, cpu = time.perf_counter() - start, cpu_seconds() - cpu0
        size = sum(p.stat().st_size for p in out.rglob("*") if p.is_file())
        frames = sum(1 for _ in (out / "frames").iterdir())
        print(
            f"synth: {s.participants} participants, {s.videos} videos of ~{args.duration:g} s at "
            f"{args.fps:g} fps, jobs={args.jobs}: {seconds:.1f} s "
            f"({s.videos / seconds:.1f} videos/s), {frames} frame tables, {size / 1e9:.2f} GB"
        )
        print(
            f"  CPU {cpu:.1f} s = {1000 * cpu / s.videos:.0f} ms per video; load average "
            f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} cores"
        )
    finally:
        if args.keep is None:
            shutil.rmtree(out, ignore_errors=True)


if __name__ == "__main__":
    main()
