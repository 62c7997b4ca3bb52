"""Synthetic cohorts with a known ground truth, for demos and tests. Always labeled synthetic.

Generative model (also in docs/synthetic.md)

1. Demographics: age uniform on 10-18 (whole years), gender female/male with equal odds,
   grade = age - 5 plus a 0/+-1 offset, clipped to 1-12; school one of :data:`SCHOOLS`
   (``S1``...) with equal odds, from a stream of its own, with no effect on states or faces.
2. Latent states: theta = (depression, anxiety, stress) ~ N(mu, R) with correlations
   D-A 0.60, D-S 0.65, A-S 0.70; mu adds +0.2 to D and A for girls and +0.05 per year of age
   above 10 to D. These are the true states, kept as ``latent_depression`` etc.
3. Items: DASS-21 items (``dass_1..dass_21``, subscale membership as the real instrument)
   from Samejima's graded-response model, P(X >= k | theta_s) = logistic(a_j (theta_s - b_jk)),
   k = 1..3, with discriminations a_j ~ U(1.3, 2.6) and ordered thresholds
   b_j = (0.4, 1.3, 2.2) + N(0, 0.35) (one item bank per seed).
4. Discrepant respondents: a share ``discrepant_share`` (``synthetic_discrepant`` = True)
   answer from a *reported* state drawn independently of their true state, and within every
   subscale their answers are rearranged into an atypical profile with the same total (the
   total is poured, up to 3 points per item, into the items roughly hardest first: order by
   -mean(b_j) + N(0, 0.75)), the reverse of the model's own order. Their totals are
   distributed like everyone else's, so they sit in ordinary total-score groups, but their
   item profile is unlike their group's and their score says little about their face: the
   heterogeneity the SDI is meant to find.
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
6. Every output says it is synthetic: ``synthetic`` = True in responses.csv and the manifest,
   ``facemind.synthetic`` = "true" in every Parquet file's metadata, backend "synthetic".

Everything is a function of ``seed``: participant-level draws come from one stream, each video
from its own stream keyed by (seed, video index), so results do not depend on ``jobs``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from concurrent.futures import Executor
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.signal import lfilter

from . import __version__
from .errors import FacemindError, ParameterError
from .face import schema
from .face.layout import ExtractionDir, manifest_row
from .io import atomic_path, read_table, write_table
from .parallel import map_ordered, open_executor

#: DASS-21 item numbers of each subscale (PAPER.md).
DASS21_ITEMS: dict[str, tuple[int, ...]] = {
    "depression": (3, 5, 10, 13, 16, 17, 21),
    "anxiety": (2, 4, 7, 9, 15, 19, 20),
    "stress": (1, 6, 8, 11, 12, 14, 18),
}
SUBSCALES: tuple[str, ...] = ("depression", "anxiety", "stress")
ITEM_COLUMNS: tuple[str, ...] = tuple(f"dass_{i}" for i in range(1, 22))
#: Schools of the synthetic cohort (``school`` column: S1, S2, ...).
SCHOOLS = 6
LATENT_CORRELATION = np.array([[1.0, 0.60, 0.65], [0.60, 1.0, 0.70], [0.65, 0.70, 1.0]])
SYNTH_METADATA = {"facemind.synthetic": "true", "facemind.backend": "synthetic"}
#: The cohort's responses, beside its extraction folder's files.
RESPONSES_FILE = "responses.csv"


@dataclass(frozen=True)
class SynthConfig:
    """Settings of a synthetic cohort (all outputs are a function of these)."""

    participants: int
    seed: int = 0
    discrepant_share: float = 0.1
    fps: float = 5.0
    duration: float = 60.0
    videos_per_participant: int = 1
    signal: float = 1.0

    def validate(self) -> None:
        if self.participants < 1:
            raise ParameterError(f"`participants` must be at least 1, got {self.participants}")
        if not 0.0 <= self.discrepant_share <= 1.0:
            raise ParameterError(
                f"`discrepant_share` must be within 0-1, got {self.discrepant_share}"
            )
        if not 0.5 <= self.fps <= 120:
            raise ParameterError(f"`fps` must be within 0.5-120, got {self.fps}")
        if not 1.0 <= self.duration <= 3600:
            raise ParameterError(f"`duration` must be within 1-3600 seconds, got {self.duration}")
        if self.videos_per_participant < 1:
            raise ParameterError("`videos_per_participant` must be at least 1")
        if self.signal < 0:
            raise ParameterError(f"`signal` must not be negative, got {self.signal}")


# --------------------------------------------------------------------------------------------
# Responses
# --------------------------------------------------------------------------------------------


def item_bank(seed: int = 0) -> pd.DataFrame:
    """Graded-response item parameters: one row per DASS-21 item (subscale, a, b1, b2, b3)."""
    rng = np.random.default_rng([seed, 1])
    rows = []
    for i in range(1, 22):
        sub = next(s for s, items in DASS21_ITEMS.items() if i in items)
        a = rng.uniform(1.3, 2.6)
        b = np.sort(np.array([0.4, 1.3, 2.2]) + rng.normal(0, 0.35, 3))
        rows.append(
            {"item": f"dass_{i}", "subscale": sub, "a": a, "b1": b[0], "b2": b[1], "b3": b[2]}
        )
    return pd.DataFrame(rows)


def _grm_items(theta: np.ndarray, bank: pd.DataFrame, rng: np.random.Generator) -> np.ndarray:
    """Draw 0-3 answers for every respondent (rows of ``theta``: D, A, S) and item."""
    sub_index = bank["subscale"].map({s: k for k, s in enumerate(SUBSCALES)}).to_numpy()
    th = theta[:, sub_index]  # (n, 21)
    a = bank["a"].to_numpy()
    b = bank[["b1", "b2", "b3"]].to_numpy()  # (21, 3)
    p_ge = 1.0 / (1.0 + np.exp(-a[None, :, None] * (th[:, :, None] - b[None, :, :])))
    u = rng.random(th.shape)
    return (u[:, :, None] < p_ge).sum(axis=2).astype(np.int64)


def _pour(
    totals: np.ndarray,
    n_items: int,
    rng: np.random.Generator,
    difficulty: np.ndarray | None = None,
) -> np.ndarray:
    """Atypical profiles: pour each total into the items, at most 3 per item.

    Items are filled in random order or, given ``difficulty``, roughly hardest first (the
    reverse of how the graded-response model fills them), so that the profile is unusual for
    its total.
    """
    if difficulty is None:
        key = rng.random((len(totals), n_items))
    else:
        key = -np.asarray(difficulty)[None, :] + 0.75 * rng.standard_normal((len(totals), n_items))
    order = np.argsort(key, axis=1)
    filled = np.clip(totals[:, None] - 3 * np.arange(n_items)[None, :], 0, 3)
    out = np.empty_like(filled)
    np.put_along_axis(out, order, filled, axis=1)
    return out


def make_responses(
    participants: int, *, seed: int = 0, discrepant_share: float = 0.1
) -> pd.DataFrame:
    """Synthetic responses: ``participant_id``, demographics (``age``, ``gender``, ``grade``,
    ``school``), ``dass_1..dass_21``, truth columns.

    Truth: ``latent_depression/anxiety/stress`` (the true states that drive the faces) and
    ``synthetic_discrepant``; ``synthetic`` is True on every row.
    """
    SynthConfig(participants, seed, discrepant_share).validate()
    rng = np.random.default_rng([seed, 0])
    n = participants
    age = rng.integers(10, 19, n)
    gender = np.where(rng.random(n) < 0.5, "female", "male")
    grade = np.clip(age - 5 + rng.choice([-1, 0, 0, 1], n), 1, 12)
    mu = np.zeros((n, 3))
    mu[:, 0] += 0.05 * (age - 10)
    mu[:, :2] += 0.2 * (gender == "female")[:, None]
    chol = np.linalg.cholesky(LATENT_CORRELATION)
    theta = mu + rng.standard_normal((n, 3)) @ chol.T
    discrepant = np.zeros(n, dtype=bool)
    k = int(round(discrepant_share * n))
    if k:
        discrepant[rng.choice(n, k, replace=False)] = True
    reported = theta.copy()
    reported[discrepant] = rng.standard_normal((k, 3)) @ chol.T
    bank = item_bank(seed)
    items = _grm_items(reported, bank, rng)
    for sub in SUBSCALES:
        cols = [i - 1 for i in DASS21_ITEMS[sub]]
        block = items[np.ix_(discrepant, cols)]
        difficulty = bank[["b1", "b2", "b3"]].to_numpy()[cols].mean(axis=1)
        items[np.ix_(discrepant, cols)] = _pour(block.sum(axis=1), len(cols), rng, difficulty)
    width = max(5, len(str(n)))
    df = pd.DataFrame({"participant_id": [f"P{i:0{width}d}" for i in range(1, n + 1)]})
    df["age"] = age
    df["gender"] = gender
    df["grade"] = grade
    df["school"] = [f"S{k}" for k in np.random.default_rng([seed, 1]).integers(1, SCHOOLS + 1, n)]
    for j, col in enumerate(ITEM_COLUMNS):
        df[col] = items[:, j]
    for s, sub in enumerate(SUBSCALES):
        df[f"latent_{sub}"] = np.round(theta[:, s], 6)
    df["synthetic_discrepant"] = discrepant
    df["synthetic"] = True
    return df


# --------------------------------------------------------------------------------------------
# Frame tables
# --------------------------------------------------------------------------------------------


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
    for idx, vid, pid, lat in _video_plan(responses, videos_per_participant):
        rng = video_rng(seed, idx)
        frames = video_frames(lat, rng=rng, fps=fps, duration=duration, signal=signal)
        yield vid, pid, schema.conform(frames, source=vid)


def _video_plan(responses: pd.DataFrame, per: int):
    lat = responses[[f"latent_{s}" for s in SUBSCALES]].to_numpy(dtype=float)
    pids = responses["participant_id"].astype(str).tolist()
    for p, pid in enumerate(pids):
        for v in range(per):
            yield p * per + v, f"{pid}_v{v + 1}", pid, lat[p]


def _write_chunk(args) -> list[dict]:
    """Generate and write the frame tables of one chunk of videos; return manifest rows."""
    plan, out_dir, cfg_dict = args
    cfg = SynthConfig(**cfg_dict)
    settings = json.dumps(cfg_dict, sort_keys=True)
    meta = {**SYNTH_METADATA, "facemind.seed": str(cfg.seed)}
    layout = ExtractionDir(out_dir)
    rows = []
    for idx, vid, pid, lat in plan:
        path = layout.frames_path(vid)
        frames = video_frames(
            lat,
            rng=video_rng(cfg.seed, idx),
            fps=cfg.fps,
            duration=cfg.duration,
            signal=cfg.signal,
        )
        if not path.exists():
            schema.write_frame_table(frames, path, metadata={**meta, "facemind.video_id": vid})
        n_face = int(frames["face_detected"].sum())
        rows.append(
            manifest_row(
                video_id=vid,
                participant_id=pid,
                path=f"synthetic:{vid}",
                size=0,
                status="ok" if n_face else "no_face",
                frames=len(frames),
                face_frames=n_face,
                fps=cfg.fps,
                duration=float(len(frames) / cfg.fps),
                backend="synthetic",
                backend_version=__version__,
                settings=settings,
                synthetic=True,
            )
        )
    return rows


# Dtypes of the manifest's columns that the synthetic backend leaves empty.
_MANIFEST_DTYPES = {
    "error": "string",
    "model": "string",
    "model_sha256": "string",
    "faces_max": "float64",
    "other_face_frames": "float64",
}


@dataclass
class SynthSummary:
    """What :func:`write_cohort` wrote."""

    out: Path
    participants: int
    videos: int
    discrepant: int
    no_face_videos: int
    reused_videos: int


def write_cohort(
    out: str | os.PathLike[str],
    config: SynthConfig,
    *,
    jobs: int = 1,
    chunk: int = 64,
    progress: Callable[[int, int], None] | None = None,
    executor: Executor | None = None,
) -> SynthSummary:
    """Write ``out/responses.csv``, ``out/frames/<video_id>.parquet`` and ``out/manifest.parquet``.

    A rerun with the same settings reuses frame tables already written (so an interrupted run
    resumes); ``out`` holding a cohort made with other settings is an error. ``progress`` is
    called with (videos done, videos in all) after every chunk. Chunks of ``chunk`` videos
    run on ``executor`` (see :mod:`facemind.parallel`), else in ``jobs`` local processes.
    """
    config.validate()
    out = Path(out)
    layout = ExtractionDir(out)
    settings_path = out / "synth_settings.json"
    cfg_dict = asdict(config)
    if settings_path.exists():
        previous = json.loads(settings_path.read_text(encoding="utf-8"))
        if previous != cfg_dict:
            raise FacemindError(
                f"{out}: holds a synthetic cohort made with other settings ({previous}); "
                "choose another `out` or remove it"
            )
    elif layout.frames_dir.exists() and any(layout.frames_dir.iterdir()):
        raise FacemindError(
            f"{layout.frames_dir}: not empty and not a synthetic cohort; choose another `out`"
        )
    layout.frames_dir.mkdir(parents=True, exist_ok=True)
    with atomic_path(settings_path) as tmp:
        tmp.write_text(json.dumps(cfg_dict, sort_keys=True) + "\n", encoding="utf-8")

    responses = make_responses(
        config.participants, seed=config.seed, discrepant_share=config.discrepant_share
    )
    write_table(responses, responses_path(out))
    plan = list(_video_plan(responses, config.videos_per_participant))
    reused = sum(layout.frames_path(vid).exists() for _, vid, _, _ in plan)
    tasks = [(plan[i : i + chunk], str(out), cfg_dict) for i in range(0, len(plan), chunk)]
    rows: list[dict] = []
    if progress is not None:
        progress(0, len(plan))
    with open_executor(executor, jobs=jobs, n_tasks=len(tasks)) as pool:
        parts = map_ordered(pool, _write_chunk, tasks)
        for part in parts:
            rows.extend(part)
            if progress is not None:
                progress(len(rows), len(plan))
    manifest = pd.DataFrame(rows).astype(_MANIFEST_DTYPES)
    layout.write_manifest(manifest, metadata=SYNTH_METADATA)
    return SynthSummary(
        out=out,
        participants=len(responses),
        videos=len(manifest),
        discrepant=int(responses["synthetic_discrepant"].sum()),
        no_face_videos=int((manifest["status"] == "no_face").sum()),
        reused_videos=reused,
    )


def responses_path(out: str | os.PathLike[str]) -> Path:
    """The responses table of the cohort written to ``out``."""
    return Path(out) / RESPONSES_FILE


def read_responses(out: str | os.PathLike[str]) -> pd.DataFrame:
    """The responses of the cohort written to ``out`` (participant ids as text)."""
    return read_table(responses_path(out), dtype={"participant_id": str})
