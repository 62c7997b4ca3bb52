"""Does the head tilt as the mouth opens in the talking-face video? A check from the pixels.

On ``WolfgangLanger_Pexels.mp4`` our pitch follows the mouth more than OpenFace 2's does. The
nose tip stands out of the face, so when the head tilts back it rises in the image against
the eye corners. This script measures that rise from the pixels alone, with pyramidal
Lucas-Kanade optical flow (OpenCV, a MediaPipe dependency) between consecutive frames at the
points' positions, summed over the video, independent of either landmarker; and compares it
with MediaPipe's mesh, OpenFace's landmarks (its 68 points: 30 the nose tip, 36/39/42/45 the
eye corners), both pitches and the lip gap. Summed flow drifts, so this is a rough check.

    .venv/bin/python benchmarks/check_pitch_flow.py [--assets .cache/assets]
        [--openface ../shared/openface]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd

NOSE_TIP, EYE_CORNERS = 4, (33, 133, 362, 263)  # MediaPipe mesh


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--assets", default=".cache/assets")
    ap.add_argument("--openface", default="../shared/openface")
    args = ap.parse_args()
    import cv2

    from facemind.face.aus import geometry_features
    from facemind.face.extract import ExtractSettings, extract_video
    from facemind.face.pose import fit_head
    from facemind.face.schema import MP_LANDMARKS_COLUMN
    from facemind.face.video import iter_frames, open_video

    video = Path(args.assets) / "WolfgangLanger_Pexels.mp4"
    settings = ExtractSettings()
    res = extract_video(
        video, lambda: settings.landmarker(Path(args.assets) / "face_landmarker.task")
    )
    df = res.frames
    if not df["face_detected"].all():
        raise SystemExit("expected a face in every frame")
    w, h = res.info.width, res.info.height
    mesh = np.stack(df[MP_LANDMARKS_COLUMN].to_numpy()).reshape(len(df), -1, 3)
    mesh = mesh.astype(np.float64) * np.array([w, h, w], dtype=float)
    gap = geometry_features(fit_head(mesh).head_points(mesh))["lip_gap"]
    container, _ = open_video(video)
    with container:
        grey = [cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY) for _, _, rgb in iter_frames(container)]
    ids = [NOSE_TIP, *EYE_CORNERS]
    flow, mp_step = [], []
    for k in range(len(grey) - 1):
        p0 = mesh[k, ids, :2].astype(np.float32).reshape(-1, 1, 2)
        p1, _, _ = cv2.calcOpticalFlowPyrLK(
            grey[k], grey[k + 1], p0, None, winSize=(15, 15), maxLevel=3
        )
        flow.append((p1 - p0).reshape(-1, 2)[:, 1])
        mp_step.append(mesh[k + 1, ids, 1] - mesh[k, ids, 1])
    iod = np.linalg.norm(mesh[:-1, EYE_CORNERS[0], :2] - mesh[:-1, EYE_CORNERS[3], :2], axis=1)

    def rise(steps):  # nose tip's upward motion against the eye corners, summed (IODs)
        steps = np.asarray(steps)
        return np.concatenate([[0.0], np.cumsum(-(steps[:, 0] - steps[:, 1:].mean(1)) / iod)])

    pixels, mediapipe = rise(flow), rise(mp_step)
    of = pd.read_csv(Path(args.openface) / "WolfgangLanger_Pexels.csv", skipinitialspace=True)
    of = of.set_index(of["frame"].astype(int) - 1)
    both = of.index[of["success"] > 0].intersection(df["frame"])
    sel = df["frame"].isin(both).to_numpy()
    o = of.loc[both]
    eye_y = o[[f"y_{i}" for i in (36, 39, 42, 45)]].mean(axis=1)
    o_iod = np.hypot(o["x_36"] - o["x_45"], o["y_36"] - o["y_45"])
    of_nose = -((o["y_30"] - eye_y) / o_iod).to_numpy()  # higher: nose nearer the eye line

    def r(a, b):
        return float(np.corrcoef(a, b)[0, 1])

    print(
        f"nose-tip rise from the pixels against MediaPipe's mesh: r {r(pixels, mediapipe):.2f}; "
        f"against OpenFace's landmarks: r {r(pixels[sel], of_nose):.2f}"
    )
    print(
        f"with the lip gap: pixels {r(pixels, gap):.2f}, MediaPipe {r(mediapipe, gap):.2f}, "
        f"OpenFace's landmarks {r(of_nose, gap[sel]):.2f}"
    )
    print(
        f"with pitch (looking up is negative, so rise ~ -pitch): ours "
        f"{r(pixels[sel], -df.loc[sel, 'pose_pitch']):.2f}, OpenFace's "
        f"{r(pixels[sel], -o['pose_Rx']):.2f}"
    )


if __name__ == "__main__":
    main()
