"""Benchmark: SDI of 1,000,000 respondents x 21 DASS-21 items (three subscales), one core.

Prints seconds and respondents per second for facemind's vectorized SDI (validation
included), and compares it with a per-row loop implementation run on 20,000 rows and
extrapolated linearly to the same size. Then times the whole ``facemind sdi`` command
(Parquet in, Parquet and JSON summary out, removal curve -10%..-50%), run in this process
through the CLI's own entry point, against a plain NumPy/pandas computation of the same
outputs, and checks that both give the same numbers. Data are synthetic (random Likert
answers; text ids ``P0000001``... in the Parquet file).

    python benchmarks/bench_sdi.py [--n 1000000] [--loop-n 20000] [--repeats 3]
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import math
import os
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from facemind import sdi  # noqa: E402
from facemind.cli import main as facemind_main  # noqa: E402
from facemind.instruments import load_instrument  # noqa: E402


def synthetic_responses(n: int, seed: int = 0) -> pd.DataFrame:
    """Synthetic DASS-21 answers: a latent level per subscale plus item noise."""
    rng = np.random.default_rng(seed)
    inst = load_instrument("dass21")
    data = {"participant_id": np.arange(n)}
    for sub in inst.subscales.values():
        level = rng.normal(size=n)
        for item in sub.items:
            data[item] = np.clip(np.round(1 + level + rng.normal(scale=0.9, size=n)), 0, 3).astype(
                np.int8
            )
    return pd.DataFrame(data)


def loop_sdi(df: pd.DataFrame) -> dict[str, float]:
    """A per-row loop implementation, as a hand-written analysis script would do it:
    plain Python over respondents and items, no array operations."""
    inst = load_instrument("dass21")
    result = {}
    for name, sub in inst.subscales.items():
        x = df[list(sub.items)].to_numpy(dtype=float).tolist()
        n, k = len(x), len(sub.items)
        means = [sum(row[j] for row in x) / n for j in range(k)]
        sds = [math.sqrt(sum((row[j] - means[j]) ** 2 for row in x) / (n - 1)) for j in range(k)]
        z = [[(row[j] - means[j]) / sds[j] if sds[j] > 0 else 0.0 for j in range(k)] for row in x]
        totals = [int(sum(row)) for row in x]
        sums: dict[int, list[float]] = {}
        counts: dict[int, int] = {}
        for zi, g in zip(z, totals, strict=True):
            acc = sums.setdefault(g, [0.0] * k)
            for j in range(k):
                acc[j] += zi[j]
            counts[g] = counts.get(g, 0) + 1
        centers = {g: [v / counts[g] for v in acc] for g, acc in sums.items()}
        d = []
        for zi, g in zip(z, totals, strict=True):
            c = centers[g]
            d.append(math.sqrt(sum((zi[j] - c[j]) ** 2 for j in range(k))))
        lo, hi = min(d), max(d)
        d = [(v - lo) / (hi - lo) for v in d]
        members: dict[int, list[float]] = {}
        for v, g in zip(d, totals, strict=True):
            members.setdefault(g, []).append(v)
        weighted = 0.0
        for vals in members.values():
            m = sum(vals) / len(vals)
            s = (
                math.sqrt(sum((v - m) ** 2 for v in vals) / (len(vals) - 1))
                if len(vals) > 1
                else 0.0
            )
            weighted += len(vals) * (m + s)
        result[name] = weighted / n
    return result


REMOVAL = (0.1, 0.2, 0.3, 0.4, 0.5)


def _gdi(d: np.ndarray, codes: np.ndarray, k: int):
    n = np.bincount(codes, minlength=k)
    mean = np.bincount(codes, weights=d, minlength=k) / np.maximum(n, 1)
    ss = np.bincount(codes, weights=(d - mean[codes]) ** 2, minlength=k)
    std = np.sqrt(np.where(n > 1, ss / np.maximum(n - 1, 1), 0.0))
    return n, mean, std, float(np.dot(n, mean + std) / n.sum())


def plain_sdi_command(src: Path, out: Path, summary_out: Path) -> dict:
    """What ``facemind sdi`` writes, computed directly with NumPy and pandas: per-respondent
    raw total, group and discrepancy, and per subscale the group table, SDI and the SDI after
    dropping the most discrepant 10-50% of each total-score group (no input validation)."""
    df = pd.read_parquet(src)
    inst = load_instrument("dass21")
    table = {"participant_id": df["participant_id"]}
    summary = {}
    for name, sub in inst.subscales.items():
        x = df[list(sub.items)].to_numpy(dtype=float)
        z = (x - x.mean(axis=0)) / x.std(axis=0, ddof=1)
        raw = x.sum(axis=1).astype(np.int64)
        codes, groups = pd.factorize(raw, sort=True)
        size = np.bincount(codes)
        centers = (
            np.column_stack([np.bincount(codes, weights=z[:, j]) for j in range(z.shape[1])])
            / size[:, None]
        )
        d = np.linalg.norm(z - centers[codes], axis=1)
        d = (d - d.min()) / (d.max() - d.min())
        table[f"{name}_raw"] = raw
        table[f"{name}_group"] = raw
        table[f"{name}_discrepancy"] = d

        n, mean, std, value = _gdi(d, codes, size.size)
        order = np.lexsort((-d, codes))  # by group, most discrepant first
        rank = np.arange(d.size) - (np.cumsum(size) - size)[codes[order]]
        removal = [{"fraction": 0.0, "n_kept": int(d.size), "sdi": value}]
        for f in REMOVAL:
            n_drop = np.minimum(np.floor(f * size + 0.5), size - 1)
            kept = order[rank >= n_drop[codes[order]]]
            removal.append(
                {
                    "fraction": f,
                    "n_kept": int(kept.size),
                    "sdi": _gdi(d[kept], codes[kept], size.size)[3],
                }
            )
        summary[name] = {
            "sdi": value,
            "n": int(d.size),
            "groups": [
                {
                    "group": int(g),
                    "n": int(k),
                    "mean": float(m),
                    "std": float(s),
                    "gdi": float(m + s),
                }
                for g, k, m, s in zip(groups, n, mean, std, strict=True)
            ],
            "removal": removal,
        }
    pd.DataFrame(table).to_parquet(out, index=False)
    summary_out.write_text(json.dumps(summary, indent=2))
    return summary


def compare_cli(n: int, repeats: int) -> None:
    """Time ``facemind sdi`` (in process) against :func:`plain_sdi_command` on one file."""
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        df = synthetic_responses(n)
        df["participant_id"] = [f"P{i:07d}" for i in range(1, n + 1)]
        src = d / "responses.parquet"
        df.to_parquet(src, index=False)
        del df
        args = ["sdi", str(src), "--instrument", "dass21", "-o", str(d / "cli.parquet")]
        args += ["--summary", str(d / "cli.json"), "--removal", "0,0.1,0.2,0.3,0.4,0.5"]
        cli_times, plain_times = [], []
        for _ in range(repeats):
            t0 = time.perf_counter()
            with (
                contextlib.redirect_stdout(io.StringIO()),
                contextlib.redirect_stderr(io.StringIO()),
            ):
                code = facemind_main(args)
            cli_times.append(time.perf_counter() - t0)
            assert code == 0, code
            t0 = time.perf_counter()
            plain = plain_sdi_command(src, d / "plain.parquet", d / "plain.json")
            plain_times.append(time.perf_counter() - t0)
        cli = json.loads((d / "cli.json").read_text())
        for name, entry in plain.items():
            assert abs(cli[name]["sdi"] - entry["sdi"]) < 1e-9, name
            for a, b in zip(cli[name]["removal"], entry["removal"], strict=True):
                assert a["n_kept"] == b["n_kept"] and abs(a["sdi"] - b["sdi"]) < 1e-9, (name, a, b)
        got = pd.read_parquet(d / "cli.parquet")
        ref = pd.read_parquet(d / "plain.parquet")
        np.testing.assert_allclose(got["stress_discrepancy"], ref["stress_discrepancy"], atol=1e-9)
        assert got["participant_id"].astype(str).equals(ref["participant_id"].astype(str))
    c, p = min(cli_times), min(plain_times)
    print(f"`facemind sdi` {n:,} x 21, Parquet in and out, summary with removal -10%..-50%:")
    print(f"  CLI path (best of {repeats}): {c:.2f} s; plain NumPy/pandas: {p:.2f} s")
    print(f"  ratio CLI / plain: {c / p:.2f} (same SDI, removal curve and discrepancies to 1e-9)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--loop-n", type=int, default=20_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--no-cli", action="store_true", help="Skip the CLI comparison.")
    args = parser.parse_args()

    df = synthetic_responses(args.n)
    times = []
    for _ in range(args.repeats):
        t0 = time.perf_counter()
        res = sdi.compute(df, "dass21")
        times.append(time.perf_counter() - t0)
    best = min(times)
    print(f"facemind SDI, {args.n:,} respondents x 21 items (synthetic), 3 subscales, 1 core")
    print(f"  best of {args.repeats}: {best:.3f} s  ({args.n / best:,.0f} respondents/s)")
    print("  SDI: " + ", ".join(f"{k} {v.sdi:.4f}" for k, v in res.items()))

    small = df.iloc[: args.loop_n]
    t0 = time.perf_counter()
    loop = loop_sdi(small)
    loop_t = time.perf_counter() - t0
    vec = sdi.compute(small, "dass21")
    for k, v in loop.items():
        assert abs(v - vec[k].sdi) < 1e-9, (k, v, vec[k].sdi)
    extrapolated = loop_t * args.n / args.loop_n
    print(f"per-row loop on {args.loop_n:,} rows: {loop_t:.3f} s (same SDI to 1e-9)")
    print(
        f"  extrapolated to {args.n:,}: {extrapolated:.1f} s -> speed-up {extrapolated / best:.0f}x"
    )
    if not args.no_cli:
        compare_cli(args.n, args.repeats)


if __name__ == "__main__":
    main()
