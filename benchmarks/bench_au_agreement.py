"""Agreement of extracted AUs, head pose and gaze with OpenFace 2 on four real test videos.

For each video with an OpenFace 2 reference (``--openface``, default ``../shared/openface``;
its README says how they were made), the video is extracted with facemind and compared on the
frames where both found a face, aligned by index (OpenFace's ``frame`` counts from 1). The
videos show two people: person A in ``single_face``, ``face_noface`` and ``noface_face``
(three cuts of one recording), person B in ``WolfgangLanger_Pexels`` (talking, head moving).

Printed: per-AU Pearson r and mean level difference (facemind minus OpenFace, 0-5 scale) per
video; r of pose (pitch, yaw, roll) and gaze angles; the mouth coupling (r with OpenFace's
AU25 + AU26) of our pitch, AU06, AU07 and AU45 beside that of OpenFace's own; pitch r after
removing what OpenFace's AU12, AU25 and AU26 explain of its pitch; the same couplings within a
second (each signal minus its 1 s running median: speech moves the mouth within a second,
posture more slowly); per video the mean AU r and the lowest AU; and the pitch and AU figures
again without OpenFace's tracking failures (frames where its rotation is more than 20 degrees
from its own 1 s running median, as after it lost and re-found the face in the talking-face
video). An AU whose OpenFace sd is at most 0.1 in a video gets no r there.

Leave-one-person-out: for each AU, the variants of its source in ``aus.AU_MAP`` (blendshapes
alone, landmark measures alone, both; neutral percentile 5 or 50) are scored on one person
and the best one's r is measured on the other. The reliability table (per AU: r per person,
the lower of the two held-out r, the grade of :func:`facemind.face.reliability.grade`) is
printed as Markdown; ``--write-table`` writes it into the package
(``facemind/face/data/au_reliability.csv``), where ``explain`` and the report read it.

    .venv/bin/python benchmarks/bench_au_agreement.py [--assets .cache/assets]
        [--openface ../shared/openface] [--au-calibration video|none] [--write-table]
"""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path

import numpy as np
import pandas as pd

PERSONS = {
    "A": ("single_face.mp4", "face_noface.mov", "noface_face.mov"),
    "B": ("WolfgangLanger_Pexels.mp4",),
}
VIDEOS = tuple(v for vids in PERSONS.values() for v in vids)
POSE = (("pose_pitch", "pose_Rx"), ("pose_yaw", "pose_Ry"), ("pose_roll", "pose_Rz"))
GAZE = (("gaze_angle_x", "gaze_angle_x"), ("gaze_angle_y", "gaze_angle_y"))
FLAT_SD = 0.1
EXPRESSION_AUS = ("AU12", "AU25", "AU26")
MOUTH_AUS = ("AU25", "AU26")  # OpenFace's mouth opening
COUPLED = ("pose_pitch", "AU06", "AU07", "AU45")
# OpenFace's rotation this far (degrees) from its own running median over one second: a head
# does not turn that far and back within a second, so these are OpenFace's tracking failures.
FAILURE_DEG = 20.0


def pearson(a: np.ndarray, b: np.ndarray) -> float:
    """Pearson r, NaN when either side is constant."""
    if len(a) < 3 or np.std(a) == 0 or np.std(b) == 0:
        return float("nan")
    return float(np.corrcoef(a, b)[0, 1])


def extract(path: Path, model: Path, au_calibration: str):
    """The extraction result of one video, as ``facemind extract`` makes it."""
    from facemind.face.extract import ExtractSettings, extract_video

    settings = ExtractSettings(au_calibration=au_calibration)
    result = extract_video(path, lambda: settings.landmarker(model), settings)
    if result.frames is None:
        raise SystemExit(f"{path}: extraction failed: {result.error}")
    return result


def aligned(ours: pd.DataFrame, of: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Both tables on the frames where both found a face, in frame order."""
    of = of.set_index(of["frame"].astype(int) - 1)
    both = ours.set_index("frame")
    idx = both.index.intersection(of.index)
    mask = both.loc[idx, "face_detected"].to_numpy(bool) & (of.loc[idx, "success"] > 0).to_numpy()
    return both.loc[idx[mask]], of.loc[idx[mask]]


def running_median(x: np.ndarray, fps: float) -> np.ndarray:
    """``x``'s median over a centred window of one second (an odd number of frames)."""
    from scipy.ndimage import median_filter

    return median_filter(x, size=2 * int(round(fps / 2)) + 1, mode="nearest")


def reference_failures(of: pd.DataFrame, fps: float) -> np.ndarray:
    """Rows of ``of`` (its face frames) whose rotation is ``FAILURE_DEG`` from its 1 s median."""
    rot = np.degrees(of[["pose_Rx", "pose_Ry", "pose_Rz"]].to_numpy(float))
    med = np.column_stack([running_median(rot[:, k], fps) for k in range(3)])
    return np.abs(rot - med).max(axis=1) > FAILURE_DEG


def compare(
    ours: pd.DataFrame, of: pd.DataFrame, fps: float, *, drop_failures: bool = False
) -> dict[str, tuple[float, float, float]]:
    """Per column: (r, mean difference ours - OpenFace, OpenFace sd) on frames both found.

    ``drop_failures`` leaves out OpenFace's tracking failures (:func:`reference_failures`).
    Also: the mouth coupling of ``COUPLED`` over the video and within a second (each signal
    minus its 1 s running median: the time scale of speech, not of posture).
    """
    from facemind.face.schema import AU_NAMES

    a, b = aligned(ours, of)
    failed = reference_failures(b, fps)
    if drop_failures:
        a, b = a[~failed], b[~failed]
    out: dict[str, tuple[float, float, float]] = {
        "frames": (len(a), 0.0, 0.0),
        "failures": (int(failed.sum()), 0.0, 0.0),
    }
    for au in AU_NAMES:
        x, y = a[au].to_numpy(float), b[f"{au}_r"].to_numpy(float)
        out[au] = (pearson(x, y), float(np.mean(x - y)), float(np.std(y)))
    for ours_col, of_col in POSE + GAZE:
        x, y = a[ours_col].to_numpy(float), b[of_col].to_numpy(float)
        out[ours_col] = (pearson(x, y), float("nan"), float(np.std(y)))
    mouth = sum(b[f"{au}_r"].to_numpy(float) for au in MOUTH_AUS)
    for col in COUPLED:
        of_col = "pose_Rx" if col == "pose_pitch" else f"{col}_r"
        x, y = a[col].to_numpy(float), b[of_col].to_numpy(float)
        out[f"mouth~{col}"] = (pearson(x, mouth), pearson(y, mouth), 0.0)
        fast_mouth = mouth - running_median(mouth, fps)
        out[f"fast~{col}"] = (
            pearson(x - running_median(x, fps), fast_mouth),
            pearson(y - running_median(y, fps), fast_mouth),
            0.0,
        )
    out["pitch_partial"] = partial_pitch(a["pose_pitch"].to_numpy(float), b)
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


def variants(src):
    """The variants of one ``AUSource`` scored leave-one-person-out (the shipped one first)."""
    out = [src]
    if src.blendshapes and src.geometry:
        out += [dataclasses.replace(src, geometry=()), dataclasses.replace(src, blendshapes=())]
    if src.geometry:
        for v in list(out):
            if v.geometry:
                other = 50.0 if v.neutral_percentile != 50.0 else 5.0
                out.append(dataclasses.replace(v, neutral_percentile=other))
    return out


def variant_rs(result, of: pd.DataFrame, width: int, height: int, au_calibration: str):
    """{AU: [r of each variant]} on one video (NaN where OpenFace's AU is flat)."""
    from facemind.face.aus import AU_MAP, estimate_aus, geometry_features
    from facemind.face.pose import fit_head
    from facemind.face.schema import BLENDSHAPE_COLUMNS, MP_LANDMARKS_COLUMN

    df = result.frames
    face = df[df["face_detected"]]
    mesh = np.stack(face[MP_LANDMARKS_COLUMN].to_numpy()).reshape(len(face), -1, 3)
    mesh_px = mesh.astype(np.float64) * np.array([width, height, width], dtype=float)
    feats = geometry_features(fit_head(mesh_px, width, height).head_points(mesh_px))
    bs = face[list(BLENDSHAPE_COLUMNS)].to_numpy(np.float64)
    a, b = aligned(df, of)
    keep = np.isin(face["frame"].to_numpy(), a.index.to_numpy())
    out = {}
    for src in AU_MAP:
        ref = b[f"{src.au}_r"].to_numpy(float)
        rs = []
        for v in variants(src):
            est = estimate_aus(bs, feats, au_calibration, (v,))[keep, 0]
            rs.append(pearson(est, ref) if np.std(ref) > FLAT_SD else float("nan"))
        out[src.au] = rs
    return out


def reliability_table(results: dict, vrs: dict) -> pd.DataFrame:
    """Per AU: r per person, leave-one-person-out r and grade."""
    from facemind.face.aus import AU_MAP
    from facemind.face.reliability import grade

    rows = []
    for src in AU_MAP:
        row = {"au": src.au, "facs": src.facs}
        held = []
        per = {}
        for p, vids in PERSONS.items():
            stems = [Path(v).stem for v in vids]
            rs = [results[s][src.au][0] for s in stems if results[s][src.au][2] > FLAT_SD]
            row[f"r_{p}"] = round(float(np.mean(rs)), 2) if rs else float("nan")
            with np.errstate(all="ignore"):
                per[p] = np.nanmean([vrs[s][src.au] for s in stems], axis=0)
        for p in PERSONS:
            (q,) = [o for o in PERSONS if o != p]
            if np.all(np.isnan(per[q])) or np.all(np.isnan(per[p])):
                continue  # nothing to choose on, or to measure on
            chosen = int(np.nanargmax(per[q]))
            held.append(float(per[p][chosen]))
        row["lopo_r"] = round(min(held), 2) if held else float("nan")
        row["grade"] = grade([row[f"r_{p}"] for p in PERSONS], row["lopo_r"])
        rows.append(row)
    return pd.DataFrame(rows)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--assets", default=".cache/assets")
    ap.add_argument("--openface", default="../shared/openface")
    ap.add_argument("--au-calibration", default="video", choices=("video", "none"))
    ap.add_argument(
        "--write-table", action="store_true", help="write the reliability table into the package"
    )
    args = ap.parse_args()
    from facemind.face.reliability import RELIABILITY_FILE, RULE
    from facemind.face.schema import AU_NAMES

    assets, ref = Path(args.assets), Path(args.openface)
    for name in VIDEOS:
        for need in (assets / name, ref / f"{Path(name).stem}.csv"):
            if not need.is_file():
                raise SystemExit(f"{need}: file not found (see --assets and --openface)")
    results, clean, vrs = {}, {}, {}
    for name in VIDEOS:
        stem = Path(name).stem
        of = pd.read_csv(ref / f"{stem}.csv", skipinitialspace=True)
        res = extract(assets / name, assets / "face_landmarker.task", args.au_calibration)
        results[stem] = compare(res.frames, of, res.info.fps)
        clean[stem] = compare(res.frames, of, res.info.fps, drop_failures=True)
        vrs[stem] = variant_rs(res, of, res.info.width, res.info.height, args.au_calibration)
    stems = list(results)
    print(f"{'':13}" + "".join(f"{s[:22]:>24}" for s in stems))
    print(f"{'':13}" + "".join(f"{'r':>10}{'diff':>7}{'of sd':>7}" for _ in stems))
    print(f"{'frames':13}" + "".join(f"{int(results[s]['frames'][0]):>24}" for s in stems))
    for au in AU_NAMES:
        cells = []
        for s in stems:
            r, d, sd = results[s][au]
            cells.append(f"{(r if sd > FLAT_SD else float('nan')):>10.2f}{d:>7.2f}{sd:>7.2f}")
        print(f"{au:13}" + "".join(cells))
    for col, _ in POSE + GAZE:
        print(f"{col:13}" + "".join(f"{results[s][col][0]:>10.2f}{'':>14}" for s in stems))
    print("\nmouth coupling: r with OpenFace's AU25 + AU26, ours / OpenFace's own")
    for col in COUPLED:
        cells = "".join(
            f"{results[s]['mouth~' + col][0]:>10.2f}{results[s]['mouth~' + col][1]:>7.2f}{'':>7}"
            for s in stems
        )
        print(f"{col:13}" + cells)
    print("within a second (each signal minus its 1 s running median), ours / OpenFace's own")
    for col in COUPLED:
        cells = "".join(
            f"{results[s]['fast~' + col][0]:>10.2f}{results[s]['fast~' + col][1]:>7.2f}{'':>7}"
            for s in stems
        )
        print(f"{col:13}" + cells)
    aus = ", ".join(EXPRESSION_AUS)
    for s in stems:
        r, r2, sd = results[s]["pitch_partial"]
        print(
            f"{s}: pitch r after removing OpenFace's expression component ({aus}) {r:.2f} "
            f"(those AUs explain {r2:.2f} of OpenFace's pitch variance; residual sd "
            f"{sd:.2f} deg)"
        )
    print()
    for s in stems:
        rs = {au: results[s][au][0] for au in AU_NAMES if results[s][au][2] > FLAT_SD}
        low = min(rs, key=rs.get)
        diffs = np.mean([abs(results[s][au][1]) for au in AU_NAMES])
        pose = " ".join(f"{c.split('_')[1]} r {results[s][c][0]:.2f}" for c, _ in POSE)
        print(
            f"{s}: mean AU r {np.mean(list(rs.values())):.2f} over {len(rs)} AUs (target "
            f">= 0.6), lowest {low} {rs[low]:.2f} (target >= 0); {pose}; mean |level "
            f"difference| {diffs:.2f}"
        )
    print(
        f"\nwithout OpenFace's tracking failures (its rotation more than {FAILURE_DEG:.0f} deg "
        "from its own 1 s running median):"
    )
    for s in stems:
        c = clean[s]
        rs = [c[au][0] for au in AU_NAMES if c[au][2] > FLAT_SD]
        print(
            f"{s}: {int(c['failures'][0])} frames left out; mean AU r {np.mean(rs):.2f}; "
            f"pitch r {c['pose_pitch'][0]:.2f}; pitch mouth coupling ours "
            f"{c['mouth~pose_pitch'][0]:.2f} / OpenFace's {c['mouth~pose_pitch'][1]:.2f}"
        )
    table = reliability_table(results, vrs)
    print(f"\nreliability ({RULE}):\n")
    print(
        "| AU | FACS name | "
        + " | ".join(f"r person {p}" for p in PERSONS)
        + " | leave-one-person-out r | grade |"
    )
    print("|---|---|" + "---|" * len(PERSONS) + "---|---|")
    for row in table.itertuples(index=False):
        d = row._asdict()
        cells = " | ".join("-" if np.isnan(d[f"r_{p}"]) else f"{d[f'r_{p}']:.2f}" for p in PERSONS)
        lopo = "-" if np.isnan(row.lopo_r) else f"{row.lopo_r:.2f}"
        print(f"| {row.au} | {row.facs} | {cells} | {lopo} | {row.grade} |")
    if args.write_table:
        import facemind.face

        target = Path(facemind.face.__file__).parent / "data" / RELIABILITY_FILE
        with target.open("w", encoding="utf-8") as fh:
            fh.write(
                "# Written by benchmarks/bench_au_agreement.py --write-table; person A: "
                "single_face, face_noface, noface_face; person B: WolfgangLanger_Pexels\n"
                f"# {RULE}\n"
            )
            table.to_csv(fh, index=False)
        print(f"\nwrote {target}")


if __name__ == "__main__":
    main()
