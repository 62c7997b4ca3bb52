"""How the minimum detection confidence trades missed faces against false detections.

Runs the extractor on the real test videos (``make assets``) at several confidences. Ground
truth for the face / face-less parts of face_noface.mov and noface_face.mov comes from a
simple independent rule: the person is filmed against a warm wall (mean red > mean blue),
the face-less part is sky or black. Prints one line per confidence.

    .venv/bin/python benchmarks/sweep_confidence.py [--assets .cache/assets]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from facemind.face.extract import ExtractSettings, extract_video
from facemind.face.landmarker import Landmarker
from facemind.face.video import iter_frames, open_video

VIDEOS = (
    "single_face.mp4",
    "WolfgangLanger_Pexels.mp4",
    "face_noface.mov",
    "noface_face.mov",
    "no_face.mp4",
)


def person_scene(path: Path) -> np.ndarray:
    """Per frame: does it show the person's scene (warm wall), by mean colour."""
    container, _ = open_video(path)
    with container:
        return np.array(
            [rgb[..., 0].mean() > rgb[..., 2].mean() + 5 for _, _, rgb in iter_frames(container)]
        )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--assets", default=".cache/assets")
    ap.add_argument("--confidences", default="0.3,0.4,0.5,0.6,0.7,0.8,0.9")
    args = ap.parse_args()
    assets = Path(args.assets)
    model = assets / "face_landmarker.task"
    truth = {}
    for v in VIDEOS:
        if v in ("face_noface.mov", "noface_face.mov"):
            truth[v] = person_scene(assets / v)
        elif v == "no_face.mp4":
            truth[v] = None  # no face anywhere
        else:
            truth[v] = True  # a face in every frame
    print(
        "conf  " + "  ".join(f"{v.split('.')[0][:14]:>14}" for v in VIDEOS) + "  (hit/face, false)"
    )
    for conf in (float(c) for c in args.confidences.split(",")):
        cells = []
        for v in VIDEOS:
            res = extract_video(
                assets / v,
                lambda c=conf: Landmarker(model, video=True, min_confidence=c),
                ExtractSettings(min_confidence=conf),
            )
            det = res.frames["face_detected"].to_numpy()
            t = truth[v]
            face = np.ones_like(det) if t is True else (np.zeros_like(det) if t is None else t)
            cells.append(
                f"{int((det & face).sum()):>4}/{int(face.sum()):<4} {int((det & ~face).sum()):>3}"
            )
        print(f"{conf:<4}  " + "  ".join(f"{c:>14}" for c in cells))


if __name__ == "__main__":
    main()
