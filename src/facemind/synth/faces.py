"""Synthetic face signals: frame tables in the real frame schema driven by the true states.

Step 5 of the generative model (also in docs/synthetic.md):

5. Videos: ``videos_per_participant`` frame tables per participant in the real frame schema
   (:mod:`facemind.face.schema`), ``fps`` frames per second, length ``duration`` x U(0.85, 1.15).
   With L = ``signal`` x theta (true state) and per-person random effects u ~ N(0, 0.3):
   - smiles (AU12 with AU06 at 0.7x): events at rate 4 exp(-0.45 L_D - 0.1 L_A + u)/min,
     raised-cosine bumps of 1-3 s, peak 2.2 exp(-0.25 L_D + u) (fewer and weaker smiles);
   - brow lowering AU04 level softplus(0.2 + 0.45 L_D + 0.25 L_S + u); AU15 (lip corner
     depressor) rises with D, AU01 (inner brow raise) with A, AU07/AU23 with S;
   - blinks (AU45 peaks of 2.5-4.5 over >= 0.25 s) at 16 exp(0.25 L_A + 0.1 L_S + u)/min;
   - head pose: slow AR(1) motion with sd 3.5 exp(-0.3 L_D + 0.15 L_A + u) degrees (less
     movement with depression), pitch 5 + 2.5 L_D degrees (head down), fast jitter growing
     with S; translation around (0, 10, 600) mm;
   - gaze: reading sweeps in x, down-gaze 0.25 + 0.05 L_D rad, variability growing with A;
   - mouth opening (AU25/AU26) while reading aloud, slower with D; other AUs at low noise;
   - 68 landmarks: a template face moved by the head pose, deformed by the AUs (smile
     corners, lowered brows, closing lids, opening jaw), plus 0.8 px noise;
   - MediaPipe-style blendshapes derived from the same AUs and gaze (e.g. mouthSmile = AU12/5);
   - AU noise, and missing-face frames: Poisson(1.5) bursts of mean 1 s per video, and 1% of
     videos where the face is found in only 0-20% of the frames.

Each video draws from its own stream keyed by (seed, video index) (:func:`video_rng`).
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pandas as pd
from scipy.signal import lfilter

from ..face import schema
from .responses import SUBSCALES


def _template() -> np.ndarray:
    """A 68-point iBUG-numbered face template in face units (x right, y down, nose at 0)."""
    pts = np.zeros((68, 2))
    t = np.linspace(np.pi, 0, 17)
    pts[0:17] = np.c_[0.95 * np.cos(t), -0.25 + 1.05 * np.sin(t)]
    bx = np.linspace(-0.78, -0.16, 5)
    pts[17:22] = np.c_[bx, -0.55 - 0.08 * np.sin(np.linspace(0.3, 2.8, 5))]
    pts[22:27] = np.c_[-bx[::-1], pts[17:22, 1][::-1]]
    pts[27:31] = np.c_[np.zeros(4), np.linspace(-0.4, 0.0, 4)]
    pts[31:36] = np.c_[np.linspace(-0.2, 0.2, 5), 0.12 + 0.03 * np.abs(np.linspace(-1, 1, 5))]
    eye = np.array(
        [[-0.15, 0], [-0.07, -0.06], [0.07, -0.06], [0.15, 0], [0.07, 0.05], [-0.07, 0.05]]
    )
    pts[36:42] = eye + [-0.42, -0.3]
    pts[42:48] = eye + [0.42, -0.3]
    a = np.linspace(np.pi, -np.pi, 13)[:-1]  # 48 left corner, over the top, back along the bottom
    pts[48:60] = np.c_[0.28 * np.cos(a), 0.5 - 0.12 * np.sin(a)]
    ai = np.array([np.pi, 2.4, np.pi / 2, 0.74, 0.0, -0.74, -np.pi / 2, -2.4])
    pts[60:68] = np.c_[0.2 * np.cos(ai), 0.5 - 0.05 * np.sin(ai)]
    return pts


_TEMPLATE = _template()
_CORNERS = np.array([48, 54, 60, 64])
_CORNER_SIDE = np.array([-1.0, 1.0, -1.0, 1.0])
_BROWS = np.arange(17, 27)
_UPPER_LIDS = np.array([37, 38, 43, 44])
_LOWER_LIP = np.r_[np.arange(55, 60), np.arange(65, 68), np.arange(5, 12)]
FOCAL_PX, CX, CY, FACE_MM = 500.0, 320.0, 240.0, 75.0


def _softplus(x: np.ndarray | float) -> np.ndarray:
    return np.log1p(np.exp(x))


def _events(rng, rate_per_min, seconds, t, dur_range, peak, min_width):
    """Sum of raised-cosine bumps at Poisson event times."""
    n = rng.poisson(max(rate_per_min, 0.0) * seconds / 60.0)
    out = np.zeros_like(t)
    if n == 0:
        return out, 0
    start = rng.uniform(-1.0, seconds, n)
    width = np.maximum(rng.uniform(*dur_range, n), min_width)
    amp = peak * rng.uniform(0.7, 1.3, n)
    u = (t[None, :] - start[:, None]) / width[:, None]
    inside = (u >= 0) & (u <= 1)
    out = (np.where(inside, 0.5 * (1 - np.cos(2 * np.pi * u)), 0.0) * amp[:, None]).sum(axis=0)
    return out, n


def _ar1(rng, n, dt, tau, sd):
    phi = np.exp(-dt / tau)
    e = rng.standard_normal(n) * sd * np.sqrt(1 - phi**2)
    x = lfilter([1.0], [1.0, -phi], e)
    return x + rng.standard_normal() * sd * phi  # start from the stationary distribution


def video_frames(
    latent: np.ndarray,
    *,
    rng: np.random.Generator,
    fps: float = 5.0,
    duration: float = 60.0,
    signal: float = 1.0,
) -> pd.DataFrame:
    """One synthetic frame table (schema columns plus blendshapes) for true state ``latent`` (D, A, S)."""
    dt = 1.0 / fps
    n = max(2, int(round(duration * rng.uniform(0.85, 1.15) * fps)))
    t = np.arange(n) * dt
    secs = n * dt
    ld, la, ls = signal * np.asarray(latent, dtype=float)
    u = rng.normal(0, 0.3, 8)
    noise = lambda sd: rng.normal(0, sd, n)  # noqa: E731

    au: dict[str, np.ndarray] = {}
    smile, _ = _events(
        rng,
        4 * np.exp(-0.45 * ld - 0.1 * la + u[0]),
        secs,
        t,
        (1.0, 3.0),
        2.2 * np.exp(-0.25 * ld + u[1]),
        2 * dt,
    )
    au["AU12"] = 0.15 + smile + noise(0.12)
    au["AU06"] = 0.1 + 0.7 * smile + noise(0.12)
    au["AU04"] = _softplus(0.2 + 0.45 * ld + 0.25 * ls + u[2]) + _ar1(rng, n, dt, 3.0, 0.25)
    au["AU15"] = _softplus(-0.8 + 0.35 * ld) + noise(0.12)
    au["AU01"] = _softplus(-0.6 + 0.3 * la + u[3]) + _ar1(rng, n, dt, 2.0, 0.2)
    au["AU02"] = 0.6 * au["AU01"] + noise(0.1)
    au["AU07"] = _softplus(-0.6 + 0.35 * ls) + noise(0.15)
    au["AU23"] = _softplus(-0.9 + 0.3 * ls) + noise(0.12)
    blinks, _ = _events(
        rng, 16 * np.exp(0.25 * la + 0.1 * ls + u[4]), secs, t, (0.15, 0.3), 3.5, 2 * dt
    )
    au["AU45"] = 0.1 + np.minimum(blinks, 5.0) + noise(0.1)
    speech = _ar1(rng, n, dt, 0.4, 0.5)
    au["AU25"] = 1.3 * np.exp(-0.15 * ld) + speech + noise(0.15)
    au["AU26"] = 0.6 * au["AU25"] + noise(0.15)
    for name in ("AU05", "AU09", "AU10", "AU14", "AU17", "AU20"):
        au[name] = 0.2 + noise(0.15)
    for name in au:
        au[name] = np.clip(au[name], 0.0, 5.0)

    move_sd = 3.5 * np.exp(-0.3 * ld + 0.15 * la + u[5])
    jitter = 0.3 * np.exp(0.3 * ls)
    pitch = 5 + 2.5 * ld + _ar1(rng, n, dt, 2.0, move_sd) + noise(jitter)
    yaw = _ar1(rng, n, dt, 2.0, move_sd) + noise(jitter)
    roll = 0.5 * _ar1(rng, n, dt, 3.0, move_sd) + noise(jitter)
    tx = _ar1(rng, n, dt, 4.0, 8.0) + 2.0 * np.radians(yaw) * 50
    ty = 10 + _ar1(rng, n, dt, 4.0, 6.0)
    tz = 600 + rng.normal(0, 40) + _ar1(rng, n, dt, 5.0, 10.0)

    gaze_sd = np.exp(0.2 * la)
    line = 3.0 * rng.uniform(0.8, 1.2)
    gx = 0.25 * ((t / line) % 1.0 - 0.5) + noise(0.03 * gaze_sd) - 0.01 * yaw
    gy = 0.25 + 0.05 * ld + _ar1(rng, n, dt, 1.5, 0.04 * gaze_sd)

    cols: dict[str, np.ndarray] = {
        "frame": np.arange(n),
        "timestamp": t,
        "confidence": np.clip(rng.normal(0.95, 0.02, n), 0, 1),
        "pose_pitch": pitch,
        "pose_yaw": yaw,
        "pose_roll": roll,
        "pose_tx": tx,
        "pose_ty": ty,
        "pose_tz": tz,
        "gaze_angle_x": gx,
        "gaze_angle_y": gy,
    }
    for eye, off in ((0, 0.03), (1, -0.03)):
        ex, ey = gx + off, gy
        cols[f"gaze_{eye}_x"] = np.sin(ex) * np.cos(ey)
        cols[f"gaze_{eye}_y"] = np.sin(ey)
        cols[f"gaze_{eye}_z"] = -np.cos(ex) * np.cos(ey)
    cols.update(au)

    # Landmarks: template deformed by AUs, then posed and projected.
    pts = np.broadcast_to(_TEMPLATE, (n, 68, 2)).copy()
    pts[:, _CORNERS, 0] += 0.025 * au["AU12"][:, None] * _CORNER_SIDE
    pts[:, _CORNERS, 1] += (-0.025 * au["AU12"] + 0.02 * au["AU15"])[:, None]
    pts[:, _BROWS, 1] += (0.025 * au["AU04"] - 0.02 * au["AU01"])[:, None]
    pts[:, _UPPER_LIDS, 1] += 0.02 * au["AU45"][:, None]
    pts[:, _LOWER_LIP, 1] += 0.04 * au["AU26"][:, None]
    r = np.radians(roll)[:, None]
    x0, y0 = pts[..., 0], pts[..., 1]
    x1 = x0 * np.cos(r) - y0 * np.sin(r)
    y1 = x0 * np.sin(r) + y0 * np.cos(r)
    x1 = x1 * np.cos(np.radians(yaw))[:, None]
    y1 = y1 * np.cos(np.radians(pitch))[:, None]
    scale = (FOCAL_PX * FACE_MM / tz)[:, None]
    px = CX + FOCAL_PX * tx[:, None] / tz[:, None] + scale * x1 + rng.normal(0, 0.8, (n, 68))
    py = CY + FOCAL_PX * ty[:, None] / tz[:, None] + scale * y1 + rng.normal(0, 0.8, (n, 68))
    for i in range(68):
        cols[f"x_{i}"] = px[:, i]
    for i in range(68):
        cols[f"y_{i}"] = py[:, i]

    bs = {c: np.clip(0.02 + noise(0.01), 0, 1) for c in schema.BLENDSHAPE_COLUMNS}
    for side in ("Left", "Right"):
        bs[f"bs_mouthSmile{side}"] = au["AU12"] / 5 + noise(0.01)
        bs[f"bs_cheekSquint{side}"] = au["AU06"] / 5 + noise(0.01)
        bs[f"bs_browDown{side}"] = au["AU04"] / 5 + noise(0.01)
        bs[f"bs_eyeBlink{side}"] = 0.05 + au["AU45"] / 5 + noise(0.01)
        bs[f"bs_mouthFrown{side}"] = au["AU15"] / 5 + noise(0.01)
        bs[f"bs_eyeSquint{side}"] = au["AU07"] / 5 + noise(0.01)
        bs[f"bs_eyeLookDown{side}"] = 2 * np.clip(gy, 0, None) + noise(0.01)
        bs[f"bs_browOuterUp{side}"] = au["AU02"] / 5 + noise(0.01)
    bs["bs_browInnerUp"] = au["AU01"] / 5 + noise(0.01)
    bs["bs_jawOpen"] = au["AU26"] / 5 + noise(0.01)
    active = np.mean([v for k, v in bs.items() if k != "bs_neutral"], axis=0)
    bs["bs_neutral"] = 1 - 5 * active
    for c in schema.BLENDSHAPE_COLUMNS:
        cols[c] = np.clip(bs[c], 0, 1)

    # Missing-face frames: short bursts, and rarely a video where the face is mostly lost.
    face = np.ones(n, dtype=bool)
    for _ in range(rng.poisson(1.5)):
        start = rng.integers(0, n)
        face[start : start + max(1, int(rng.exponential(1.0) * fps))] = False
    if rng.random() < 0.01:
        face &= rng.random(n) < rng.uniform(0.0, 0.2)
    cols["face_detected"] = face
    return pd.DataFrame(cols)


def video_rng(seed: int, video_index: int) -> np.random.Generator:
    """The random stream of one video (independent of how videos are split over workers)."""
    return np.random.default_rng([seed, 2, video_index])


def iter_frame_tables(
    responses: pd.DataFrame,
    *,
    seed: int = 0,
    fps: float = 5.0,
    duration: float = 60.0,
    videos_per_participant: int = 1,
    signal: float = 1.0,
) -> Iterator[tuple[str, str, pd.DataFrame]]:
    """Yield ``(video_id, participant_id, frames)`` for every video of ``responses`` in memory.

    ``responses`` needs ``participant_id`` and ``latent_depression/anxiety/stress``; the frames
    are conformed to the frame schema, as they would be read back from disk.
    """
    for idx, vid, pid, lat in video_plan(responses, videos_per_participant):
        rng = video_rng(seed, idx)
        frames = video_frames(lat, rng=rng, fps=fps, duration=duration, signal=signal)
        yield vid, pid, schema.conform(frames, source=vid)


def video_plan(responses: pd.DataFrame, per: int) -> Iterator[tuple[int, str, str, np.ndarray]]:
    """``(video index, video_id, participant_id, true state)`` of the ``per`` videos of each
    participant of ``responses``, in order."""
    lat = responses[[f"latent_{s}" for s in SUBSCALES]].to_numpy(dtype=float)
    pids = responses["participant_id"].astype(str).tolist()
    for p, pid in enumerate(pids):
        for v in range(per):
            yield p * per + v, f"{pid}_v{v + 1}", pid, lat[p]
