"""Agreement of extracted AUs, head pose and gaze with OpenFace 2 on three real test videos.

For each video with an OpenFace 2 reference (``--openface``, default ``../shared/openface``;
its README says how they were made), the video is extracted with facemind and compared on the
frames where both found a face, aligned by index (OpenFace's ``frame`` counts from 1). Printed:
per-AU Pearson r and mean level difference (facemind minus OpenFace, 0-5 scale) per video, and
r of pose (pitch, yaw, roll) and gaze angles; per video, pitch r after removing what OpenFace's
AU12, AU25 and AU26 explain of its pitch (its pitch follows its expression); then one summary
line checked against the targets in docs/extraction.md. An AU whose OpenFace sd is at most 0.1
in a video gets no r (a flat reference has no correlation to agree with); its level difference
still counts.

    .venv/bin/python benchmarks/bench_au_agreement.py [--assets .cache/assets]
        [--openface ../shared/openface] [--au-calibration video|none]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd

VIDEOS = ("single_face.mp4", "face_noface.mov", "noface_face.mov")
POSE = (("pose_pitch", "pose_Rx"), ("pose_yaw", "pose_Ry"), ("pose_roll", "pose_Rz"))
GAZE = (("gaze_angle_x", "gaze_angle_x"), ("gaze_angle_y", "gaze_angle_y"))
FLAT_SD = 0.1
EXPRESSION_AUS = ("AU12", "AU25", "AU26")


def pearson(a: np.ndarray, b: np.ndarray) -> float:
    """Pearson r, NaN when either side is constant."""
    if len(a) < 3 or np.std(a) == 0 or np.std(b) == 0:
        return float("nan")
    return float(np.corrcoef(a, b)[0, 1])


def extract(path: Path, model: Path, au_calibration: str) -> pd.DataFrame:
    """The frame table of one video, as ``facemind extract`` writes it."""
    from facemind.face.extract import ExtractSettings, extract_video
    from facemind.face.landmarker import Landmarker

    settings = ExtractSettings(au_calibration=au_calibration)
    result = extract_video(path, lambda: Landmarker(model), settings)
    if result.frames is None:
        raise SystemExit(f"{path}: extraction failed: {result.error}")
    return result.frames


def compare(ours: pd.DataFrame, of: pd.DataFrame) -> dict[str, tuple[float, float, float]]:
    """Per column: (r, mean difference ours - OpenFace, OpenFace sd) on frames both found."""
    from facemind.face.schema import AU_NAMES

    of = of.set_index(of["frame"].astype(int) - 1)
    both = ours.set_index("frame")
    idx = both.index.intersection(of.index)
    mask = both.loc[idx, "face_detected"].to_numpy(bool) & (of.loc[idx, "success"] > 0).to_numpy()
    idx = idx[mask]
    out: dict[str, tuple[float, float, float]] = {"frames": (len(idx), 0.0, 0.0)}
    for au in AU_NAMES:
        a = both.loc[idx, au].to_numpy(float)
        b = of.loc[idx, f"{au}_r"].to_numpy(float)
        out[au] = (pearson(a, b), float(np.mean(a - b)), float(np.std(b)))
    for ours_col, of_col in POSE + GAZE:
        a = both.loc[idx, ours_col].to_numpy(float)
        b = of.loc[idx, of_col].to_numpy(float)
        out[ours_col] = (pearson(a, b), float("nan"), float(np.std(b)))
    out["pitch_partial"] = partial_pitch(both.loc[idx, "pose_pitch"].to_numpy(float), of.loc[idx])
    return out


def partial_pitch(pitch: np.ndarray, of: pd.DataFrame) -> tuple[float, float, float]:
    """(r, R^2, residual sd): our pitch against OpenFace's once its expression AUs are removed.

    OpenFace's pitch (radians) is regressed by least squares on its ``EXPRESSION_AUS``
    intensities; r is that of the residual with ``pitch``, R^2 the share those AUs explain.
    """
    y = of["pose_Rx"].to_numpy(float)
    design = np.column_stack(
        [np.ones(len(y))] + [of[f"{au}_r"].to_numpy(float) for au in EXPRESSION_AUS]
    )
    resid = y - design @ np.linalg.lstsq(design, y, rcond=None)[0]
    r2 = 1.0 - float(np.var(resid) / np.var(y)) if np.var(y) > 0 else float("nan")
    return pearson(pitch, resid), r2, float(np.degrees(np.std(resid)))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--assets", default=".cache/assets")
    ap.add_argument("--openface", default="../shared/openface")
    ap.add_argument("--au-calibration", default="video", choices=("video", "none"))
    args = ap.parse_args()
    from facemind.face.schema import AU_NAMES

    assets, ref = Path(args.assets), Path(args.openface)
    for name in VIDEOS:
        for need in (assets / name, ref / f"{Path(name).stem}.csv"):
            if not need.is_file():
                raise SystemExit(f"{need}: file not found (see --assets and --openface)")
    results = {}
    for name in VIDEOS:
        stem = Path(name).stem
        of = pd.read_csv(ref / f"{stem}.csv", skipinitialspace=True)
        ours = extract(assets / name, assets / "face_landmarker.task", args.au_calibration)
        results[stem] = compare(ours, of)
    stems = list(results)
    head = f"{'':13}" + "".join(f"{s:>24}" for s in stems)
    print(head)
    print(f"{'':13}" + "".join(f"{'r':>10}{'diff':>7}{'of sd':>7}" for _ in stems))
    print(f"{'frames':13}" + "".join(f"{int(results[s]['frames'][0]):>24}" for s in stems))
    rs, diffs, weak = [], [], []
    for au in AU_NAMES:
        cells = []
        for s in stems:
            r, d, sd = results[s][au]
            varies = sd > FLAT_SD
            cells.append(f"{(r if varies else float('nan')):>10.2f}{d:>7.2f}{sd:>7.2f}")
            diffs.append(abs(d))
            if varies and np.isfinite(r):
                rs.append(r)
                if r < 0.2:
                    weak.append(f"{au}@{s} {r:.2f}")
        print(f"{au:13}" + "".join(cells))
    for col, _ in POSE + GAZE:
        print(f"{col:13}" + "".join(f"{results[s][col][0]:>10.2f}{'':>14}" for s in stems))
    aus = ", ".join(EXPRESSION_AUS)
    for s in stems:
        r, r2, sd = results[s]["pitch_partial"]
        print(
            f"{s}: pitch r after removing OpenFace's expression component ({aus}) {r:.2f} "
            f"(those AUs explain {r2:.2f} of OpenFace's pitch variance; residual sd {sd:.2f} deg)"
        )
    pitch = [results[s]["pose_pitch"][0] for s in stems]
    print(
        f"\nmean AU r {np.mean(rs):.2f} (target >= 0.65, over {len(rs)} AU-video pairs with "
        f"OpenFace sd > {FLAT_SD}); AU-video pairs below r 0.2: {len(weak)} "
        f"{'(' + ', '.join(weak) + ')' if weak else ''}(target 0); "
        f"pitch r {min(pitch):.2f}-{max(pitch):.2f} (target >= 0.7); "
        f"mean |level difference| {np.mean(diffs):.2f} (target <= 0.4)"
    )


if __name__ == "__main__":
    main()
