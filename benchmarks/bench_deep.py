"""Deep models on the CPU (or GPU when present): training seconds per epoch and inference
videos per second, on a SYNTHETIC cohort (60 s videos at 5 fps; 7 face crops per video, which
clip-cnn resizes to its default 64x64).

Run: .venv/bin/python benchmarks/bench_deep.py [--videos 200] [--epochs 3] [--threads 1] [--device auto]
     [--models sequence,frames-cnn,clip-cnn]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from facemind.models.deep import ClipCNN, FramesCNN, SequenceModel
from facemind.synth import draw_crop, iter_frame_tables, make_responses


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--videos", type=int, default=200)
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--device", default="auto")
    ap.add_argument("--models", default="sequence,frames-cnn,clip-cnn")
    args = ap.parse_args()
    device = "cuda" if args.device == "auto" and torch.cuda.is_available() else args.device
    device = "cpu" if device == "auto" else device
    n = args.videos
    responses = make_responses(n, seed=0, discrepant_share=0.0)
    frames = [f for _, _, f in iter_frame_tables(responses, seed=0, fps=5.0, duration=60.0)]
    latent = responses["latent_depression"].to_numpy()
    y = (latent > np.median(latent)).astype(int)
    rng = np.random.default_rng(0)
    crops = [np.stack([draw_crop(float(v), rng) for _ in range(7)]) for v in latent]
    print(
        f"SYNTHETIC cohort: {n} videos; torch {torch.__version__}, device {device}, "
        f"{args.threads} thread(s)"
    )
    common = dict(epochs=args.epochs, val_share=0.0, threads=args.threads, device=device)
    for name, model, inputs in (
        ("sequence", SequenceModel("binary", **common), frames),
        ("frames-cnn", FramesCNN("binary", **common), crops),
        ("clip-cnn", ClipCNN("binary", **common), crops),
    ):
        if name not in args.models.split(","):
            continue
        t0 = time.perf_counter()
        model.fit_inputs(inputs, y, np.arange(n))
        per_epoch = (time.perf_counter() - t0) / args.epochs
        t0 = time.perf_counter()
        model.predict_proba_inputs(inputs)
        vps = n / (time.perf_counter() - t0)
        print(
            f"{name:>10}: training {per_epoch:6.2f} s/epoch ({n} videos, "
            f"{n / per_epoch:6.1f} videos/s); inference {vps:7.1f} videos/s"
        )


if __name__ == "__main__":
    main()
