"""Benchmark: the default `facemind sweep` on a SYNTHETIC cohort of 11,427 participants.

The default sweep: 3 subscales x 4 models (logreg, svm, rf, gbt) x 7 fractions x 2 protocols
(paper, train-only) x 2 criteria (sdi, random) x 5 folds, binary task. The cohort (synthetic
responses, 60 s videos at 5 fps, per-video features of every channel group) is made once with
`facemind synth` + `facemind features` logic and kept in --cohort for later runs; making it is
not part of the timed figure.

    python benchmarks/bench_sweep.py [--participants 11427] [--jobs 2] [--quick]
        [--subscales depression] [--memory] [--train-sizes 0.1,0.25,0.5,1] [--save-predictions]

--train-sizes adds the learning-curve fits (each training fold refitted on nested subsamples
at fraction 0) and --save-predictions keeps every fit's out-of-fold predictions; without
them the sweep is the default one.

--quick runs one subscale (depression) on one of the five folds and extrapolates linearly: five
times the shared preprocessing (one fit per fold) plus fifteen times the model work (the other
subscales and folds are the same work on other rows and labels), from CPU time divided by the
cores and from this run's wall time. It says so when it does.

--memory samples the resident memory (RSS) of every worker process twice a second and prints,
per worker, its RSS after its first task, its peak and its last sample, and the workers' total
at each quarter of the sweep: a leak grows from quarter to quarter, a working set does not.
"""

from __future__ import annotations

import argparse
import contextlib
import threading
import time
from pathlib import Path

import pandas as pd

from facemind.evaluation import SweepConfig, plan_size, run_sweep
from facemind.instruments import load_instrument

COHORT = 11_427
REPO = Path(__file__).resolve().parents[1]


def ensure_cohort(folder: Path, participants: int, jobs: int) -> tuple[Path, Path]:
    """Make (once) the synthetic cohort and its features; return (features, responses)."""
    from facemind.functionals import extract_features, write_features
    from facemind.synth import SynthConfig, write_cohort

    features = folder / "features.parquet"
    responses = folder / "responses.csv"
    if not features.exists():
        start = time.perf_counter()
        write_cohort(folder, SynthConfig(participants, seed=0), jobs=jobs)
        write_features(extract_features(folder, jobs=jobs), features)
        print(f"made synthetic cohort in {folder} in {(time.perf_counter() - start) / 60:.1f} min")
    return features, responses


class MemorySampler:
    """Samples the RSS of this process's worker processes (children, recursively)."""

    def __init__(self, every: float = 0.5) -> None:
        import psutil

        self.me, self.every = psutil.Process(), every
        self.samples: list[tuple[float, int, int]] = []  # (time, pid, rss bytes)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> MemorySampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        import psutil

        while not self._stop.wait(self.every):
            now = time.perf_counter()
            for child in self.me.children(recursive=True):
                try:
                    # workers only: not the fork server (this process's child) or trackers
                    cmd = " ".join(child.cmdline())
                    if "tracker" in cmd or ("forkserver" in cmd and child.ppid() == self.me.pid):
                        continue
                    self.samples.append((now, child.pid, child.memory_info().rss))
                except psutil.Error:
                    pass

    def report(self, marks: list[tuple[int, float]]) -> None:
        """Per worker: RSS after its first task, peak, last; all workers per quarter."""
        if not self.samples:
            print("memory: no worker process was seen (one job runs in this process)")
            return
        gb = 1024**3
        first_done = marks[1][1] if len(marks) > 1 else marks[0][1]
        pids = sorted({pid for _, pid, _ in self.samples})
        for pid in pids:
            mine = [(t, r) for t, p, r in self.samples if p == pid]
            after_first = next((r for t, r in mine if t >= first_done), mine[-1][1])
            print(
                f"worker {pid}: {len(mine)} samples over {mine[-1][0] - mine[0][0]:.0f} s; "
                f"RSS after the first finished task {after_first / gb:.2f} GB, peak "
                f"{max(r for _, r in mine) / gb:.2f} GB, last {mine[-1][1] / gb:.2f} GB"
            )
        start, end = marks[0][1], marks[-1][1]
        quarters = []
        for q in range(4):
            lo, hi = start + q * (end - start) / 4, start + (q + 1) * (end - start) / 4
            inside = [(t, p, r) for t, p, r in self.samples if lo <= t < hi]
            peak = max((r for _, _, r in inside), default=0)
            quarters.append(f"Q{q + 1} worker peak {peak / gb:.2f} GB")
        print("memory through the sweep: " + ", ".join(quarters))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--participants", type=int, default=COHORT)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--cohort", type=Path, default=None, help="cohort folder (made if missing)")
    ap.add_argument("--quick", action="store_true", help="one subscale, extrapolated to three")
    ap.add_argument("--subscales", default=None, help="comma-separated (default: all three)")
    ap.add_argument("--memory", action="store_true", help="sample the workers' RSS")
    ap.add_argument("--train-sizes", default=None, help="learning-curve shares, e.g. 0.25,0.5,1")
    ap.add_argument("--save-predictions", action="store_true", help="keep the predictions")
    args = ap.parse_args()
    extra = {"save_predictions": args.save_predictions}
    if args.train_sizes:
        extra["train_sizes"] = [float(v) for v in args.train_sizes.split(",")]
    folder = args.cohort or REPO / ".cache" / "bench" / f"cohort-{args.participants}"
    features_path, responses_path = ensure_cohort(folder, args.participants, args.jobs)
    features = pd.read_parquet(features_path)
    responses = pd.read_csv(responses_path)
    inst = load_instrument("dass21")
    subscales = args.subscales.split(",") if args.subscales else None
    cfg = (
        SweepConfig(jobs=args.jobs, subscales=["depression"], run_folds=[0], **extra)
        if args.quick
        else SweepConfig(jobs=args.jobs, subscales=subscales, **extra)
    )
    full = SweepConfig(jobs=args.jobs, **extra)
    marks: list[tuple[int, float]] = []
    sampler = MemorySampler() if args.memory else None
    start = time.perf_counter()
    with sampler or contextlib.nullcontext():
        result = run_sweep(
            features,
            responses,
            inst,
            cfg,
            progress=lambda d, t: marks.append((d, time.perf_counter())),
        )
    seconds = time.perf_counter() - start
    n_pre = len(result.components)  # one preprocessing fit per fold (the classical models)
    t_setup = marks[0][1] - start  # validation, join, targets, splits, paper-protocol removal
    t_pre = next(t for d, t in marks if d == n_pre) - marks[0][1]
    t_units = start + seconds - next(t for d, t in marks if d == n_pre)
    print(
        f"sweep: {result.n_participants} participants x {len(features.columns) - 2} feature "
        f"columns (SYNTHETIC), PCA(0.99) kept {result.components} components, jobs={args.jobs}"
    )
    print(
        f"measured: {len(result.folds)} fold rows in {seconds / 60:.1f} min (setup "
        f"{t_setup / 60:.2f}, shared preprocessing {t_pre / 60:.2f}, models {t_units / 60:.2f})"
    )
    if result.predictions is not None:
        print(f"predictions: {len(result.predictions)} rows")
    cpu = result.cpu_seconds
    print(
        f"CPU: preprocessing {cpu['preprocessing'] / 60:.2f} min, models "
        f"{cpu['models'] / 60:.2f} min (summed over workers; "
        + ", ".join(f"{k[6:]} {v / 60:.2f}" for k, v in cpu.items() if k.startswith("model:"))
        + ")"
    )
    if args.quick:
        wall = t_setup + 5 * t_pre + 15 * t_units
        balanced = t_setup + (5 * cpu["preprocessing"] + 15 * cpu["models"]) / args.jobs
        print(
            f"EXTRAPOLATED full sweep ({plan_size(full, inst)} fits, 3 subscales x 5 "
            f"folds), measured on 1 subscale x 1 fold: {balanced / 60:.1f} min on {args.jobs} "
            f"cores from the CPU time (the full sweep's 60 units keep every core busy); "
            f"{wall / 60:.1f} min scaling this run's wall time (4 units on {args.jobs} cores, "
            f"unevenly loaded)"
        )
    elif subscales is None:
        what = "default" if not (args.train_sizes or args.save_predictions) else "full"
        print(f"{what} sweep ({plan_size(full, inst)} fits): {seconds / 60:.1f} min")
    if sampler is not None:
        sampler.report(marks)
    s = result.summary
    s = s[s["train_size"] == 1.0] if "train_size" in s.columns else s
    view = s[s["fraction"].isin([0.0, 0.1])][
        ["subscale", "model", "protocol", "criterion", "fraction", "n_train", "n_test", "f1_mean"]
    ]
    print(view.to_string(index=False, float_format=lambda v: f"{v:.3f}"))


if __name__ == "__main__":
    main()
