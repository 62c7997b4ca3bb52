"""Per-video features from frame tables: the paper's 12 statistics, dynamics and coverage.

One row per video (or per participant, the mean over their videos): ``video_id``,
``participant_id``, ``synthetic`` (only when the manifest marks videos as synthetic), then the
features. Every feature column is named ``<channel>__<name>`` (it contains ``__``; identifier
columns do not; :func:`feature_columns` lists them):

- statistics over the *face frames* of every selected channel (``schema.CHANNEL_GROUPS``):
  ``mean, median, max, min, std, var, range, q25, q75, iqr, skew, kurtosis``. ``std``/``var``
  are sample estimates (ddof=1); quantiles interpolate linearly (numpy's default);
  ``skew`` and ``kurtosis`` are the moment estimates scipy.stats uses by default (biased,
  excess kurtosis), defined as 0 for a constant channel;
- dynamics between consecutive face frames: ``head_rotation_speed`` (deg/s) and
  ``head_translation_speed`` (mm/s) with group ``pose``, ``gaze_speed`` (rad/s) with ``gaze``,
  ``landmark_speed`` (mean landmark displacement per second in inter-ocular distances) with
  ``landmarks``, each as ``__mean`` and ``__std``; with ``aus``: ``blink__rate`` (blinks per
  minute of face time; a blink is a run of face frames with AU45 >= ``blink_threshold``) and,
  per AU, ``__activation_rate`` (onsets of runs with intensity >= ``activation_threshold`` per
  minute of face time), ``__activation_duration`` (mean run length in seconds, 0 without runs)
  and ``__active_share``;
- coverage: ``coverage__frames``, ``coverage__face_frames``, ``coverage__face_share`` and
  ``coverage__seconds`` (face time = face frames x median frame interval); per participant
  also ``coverage__videos``.

Videos with fewer than ``min_face_frames`` face frames, failed extractions and missing frame
tables are left out and listed in :attr:`FeatureResult.excluded` with the reason.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq

from .errors import FacemindError, InputError, ParameterError, check_choice
from .face import schema
from .face.layout import ExtractionDir, left_out_summary
from .io import write_table
from .parallel import map_ordered, open_executor

STATS: tuple[str, ...] = (
    "mean", "median", "max", "min", "std", "var", "range", "q25", "q75", "iqr", "skew", "kurtosis",
)  # fmt: skip
GROUPS: tuple[str, ...] = tuple(schema.CHANNEL_GROUPS)
ID_COLUMNS: tuple[str, ...] = ("video_id", "participant_id")
PER_CHOICES: tuple[str, ...] = ("video", "participant")
_EYE_CORNERS = (36, 45)


def feature_columns(df: pd.DataFrame) -> list[str]:
    """The feature columns of a features table (names containing ``__``), in table order."""
    return [c for c in df.columns if "__" in c]


# --------------------------------------------------------------------------------------------
# Statistics
# --------------------------------------------------------------------------------------------


def _stats_rows(x: np.ndarray) -> np.ndarray:
    """The 12 statistics of every row of ``x`` (c, n) without NaN; returns (c, 12).

    Rows are sorted in their own dtype (exact for the float32 frame tables); moments are
    computed in float64.
    """
    c, n = x.shape
    out = np.full((c, len(STATS)), np.nan)
    if n == 0:
        return out
    s = np.sort(x, axis=1)

    def q(p: float) -> np.ndarray:
        pos = p * (n - 1)
        lo = int(np.floor(pos))
        hi = min(lo + 1, n - 1)
        a, b = s[:, lo].astype(np.float64), s[:, hi].astype(np.float64)
        return a + (b - a) * (pos - lo)

    x64 = x.astype(np.float64, copy=False)
    mean = x64.mean(axis=1)
    d = x64 - mean[:, None]
    d2 = d * d
    m2 = d2.mean(axis=1)
    m3 = (d2 * d).mean(axis=1)
    m4 = (d2 * d2).mean(axis=1)
    constant = m2 <= 1e-14 * np.maximum(1.0, mean * mean)
    safe = np.where(constant, 1.0, m2)
    lo, hi = s[:, 0].astype(np.float64), s[:, -1].astype(np.float64)
    q25, q75 = q(0.25), q(0.75)
    out[:, 0] = mean
    out[:, 1] = q(0.5)
    out[:, 2] = hi
    out[:, 3] = lo
    if n > 1:
        var = m2 * n / (n - 1)
        out[:, 4] = np.sqrt(var)
        out[:, 5] = var
    out[:, 6] = hi - lo
    out[:, 7] = q25
    out[:, 8] = q75
    out[:, 9] = q75 - q25
    out[:, 10] = np.where(constant, 0.0, m3 / safe**1.5)
    out[:, 11] = np.where(constant, 0.0, m4 / safe**2 - 3.0)
    return out


def _row_statistics(x: np.ndarray) -> np.ndarray:
    """:func:`_stats_rows` ignoring NaN (row by row where a row has any)."""
    finite = np.isfinite(x)
    if finite.all():
        return _stats_rows(x)
    out = np.empty((x.shape[0], len(STATS)))
    full = finite.all(axis=1)
    if full.any():
        out[full] = _stats_rows(x[full])
    for j in np.flatnonzero(~full):
        out[j] = _stats_rows(x[j : j + 1, finite[j]])[0]
    return out


def channel_statistics(values: np.ndarray) -> np.ndarray:
    """The 12 :data:`STATS` of every column of ``values`` (n, c), ignoring NaN; returns (c, 12).

    A column with no finite value gets NaN statistics.
    """
    x = np.asarray(values, dtype=np.float64)
    if x.ndim == 1:
        x = x[:, None]
    return _row_statistics(np.ascontiguousarray(x.T))


# --------------------------------------------------------------------------------------------
# One video
# --------------------------------------------------------------------------------------------


def select_channels(groups: Sequence[str], available: Iterable[str]) -> list[str]:
    """Channels of ``groups`` (in schema order) that are among the ``available`` columns."""
    unknown = [g for g in groups if g not in schema.CHANNEL_GROUPS]
    if unknown:
        raise FacemindError(
            f"unknown channel group {unknown[0]!r}; choose from {', '.join(GROUPS)}"
        )
    avail = set(available)
    return [c for g in groups for c in schema.CHANNEL_GROUPS[g] if c in avail]


def feature_names(groups: Sequence[str], channels: Sequence[str]) -> list[str]:
    """Feature column names produced by :func:`video_features` for these groups and channels."""
    names = [f"{c}__{s}" for c in channels for s in STATS]
    ch = set(channels)
    if "pose" in groups:
        names += [f"head_rotation_speed__{s}" for s in ("mean", "std")]
        names += [f"head_translation_speed__{s}" for s in ("mean", "std")]
    if "gaze" in groups:
        names += [f"gaze_speed__{s}" for s in ("mean", "std")]
    if "landmarks" in groups:
        names += [f"landmark_speed__{s}" for s in ("mean", "std")]
    if "aus" in groups:
        names.append("blink__rate")
        for au in schema.AU_NAMES:
            if au in ch:
                names += [
                    f"{au}__activation_rate",
                    f"{au}__activation_duration",
                    f"{au}__active_share",
                ]
    names += [
        "coverage__frames",
        "coverage__face_frames",
        "coverage__face_share",
        "coverage__seconds",
    ]
    return names


def _speed(block: np.ndarray, pair_ok: np.ndarray, dt: np.ndarray) -> np.ndarray:
    """Euclidean speed between consecutive valid frames (columns of ``block`` (c, n))."""
    step = np.diff(block, axis=1)
    sp = np.sqrt((step * step).sum(axis=0)) / dt
    return sp[pair_ok & np.isfinite(step).all(axis=0)]


def _mean_std(v: np.ndarray) -> list[float]:
    v = v[np.isfinite(v)]
    if v.size == 0:
        return [np.nan, np.nan]
    return [float(v.mean()), float(v.std(ddof=1)) if v.size > 1 else np.nan]


def _runs(active: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per row of boolean ``active`` (k, n): number of runs and number of active frames."""
    onsets = active.copy()
    onsets[:, 1:] &= ~active[:, :-1]
    return onsets.sum(axis=1), active.sum(axis=1)


def _arrays(frames: pd.DataFrame) -> dict[str, np.ndarray]:
    out = {}
    for c in frames.columns:
        if c == "face_detected":
            out[c] = frames[c].to_numpy(dtype=bool)
        elif c != schema.MP_LANDMARKS_COLUMN:
            out[c] = frames[c].to_numpy(dtype=np.float64, na_value=np.nan)
    return out


def video_features(
    frames: pd.DataFrame | dict[str, np.ndarray],
    *,
    groups: Sequence[str] = GROUPS,
    channels: Sequence[str] | None = None,
    activation_threshold: float = 1.0,
    blink_threshold: float = 1.0,
) -> np.ndarray:
    """Feature vector of one frame table, in the order of :func:`feature_names`.

    ``channels`` defaults to the columns of ``groups`` present in ``frames``; channels absent
    from ``frames`` give NaN.
    """
    if isinstance(frames, pd.DataFrame):
        frames = _arrays(frames)
    if channels is None:
        channels = select_channels(groups, frames)
    face = np.asarray(frames["face_detected"], dtype=bool)
    n = len(face)
    ts = np.asarray(frames["timestamp"], dtype=np.float64)
    n_face = int(face.sum())
    dt_all = np.diff(ts)
    dt_med = float(np.median(dt_all[dt_all > 0])) if np.any(dt_all > 0) else np.nan
    face_seconds = n_face * dt_med if np.isfinite(dt_med) else np.nan
    minutes = face_seconds / 60.0 if face_seconds and face_seconds > 0 else np.nan

    # Channel-major float32 block (c, n): rows are contiguous, so sorting them is cheap.
    x = np.full((len(channels), n), np.nan, dtype=np.float32)
    for j, c in enumerate(channels):
        if c in frames:
            x[j] = frames[c]
    parts: list[np.ndarray] = [_row_statistics(x[:, face]).ravel()]

    pair_ok = face[:-1] & face[1:] & (dt_all > 0)
    dt = np.where(dt_all > 0, dt_all, 1.0)
    dyn: list[float] = []
    index = {c: j for j, c in enumerate(channels)}

    def chan(cols: Sequence[str]) -> np.ndarray:
        """(len(cols), n) float64 rows; NaN for channels not selected."""
        rows = [index.get(c, -1) for c in cols]
        out = x[np.maximum(rows, 0)].astype(np.float64)
        out[np.asarray(rows) < 0] = np.nan
        return out

    if "pose" in groups:
        dyn += _mean_std(_speed(chan(schema.POSE_COLUMNS[:3]), pair_ok, dt))
        dyn += _mean_std(_speed(chan(schema.POSE_COLUMNS[3:]), pair_ok, dt))
    if "gaze" in groups:
        dyn += _mean_std(_speed(chan(("gaze_angle_x", "gaze_angle_y")), pair_ok, dt))
    if "landmarks" in groups:
        xs = chan([f"x_{i}" for i in range(schema.N_LANDMARKS)])
        ys = chan([f"y_{i}" for i in range(schema.N_LANDMARKS)])
        a, b = _EYE_CORNERS
        iod = np.hypot(xs[a] - xs[b], ys[a] - ys[b])[face]
        iod_mean = float(np.nanmean(iod)) if np.isfinite(iod).any() else np.nan
        disp = np.hypot(np.diff(xs, axis=1), np.diff(ys, axis=1)).mean(axis=0)
        dyn += _mean_std((disp / dt / iod_mean)[pair_ok])
    if "aus" in groups:
        present = [au for au in schema.AU_NAMES if au in index]
        with np.errstate(invalid="ignore", divide="ignore"):
            if "AU45" in index:
                blink = face & (np.nan_to_num(chan(["AU45"])[0], nan=-np.inf) >= blink_threshold)
                dyn.append(float(_runs(blink[None, :])[0][0] / minutes))
            else:
                dyn.append(np.nan)
            if present:
                level = np.nan_to_num(chan(present), nan=-np.inf)
                active = face[None, :] & (level >= activation_threshold)
                runs, act = _runs(active)
                rate = runs / minutes
                duration = np.where(runs > 0, act * dt_med / np.maximum(runs, 1), 0.0)
                share = act / n_face if n_face else np.full(len(present), np.nan)
                dyn += np.column_stack([rate, duration, share]).ravel().tolist()
    dyn += [float(n), float(n_face), n_face / n if n else np.nan, face_seconds]
    parts.append(np.asarray(dyn, dtype=np.float64))
    return np.concatenate(parts)


# --------------------------------------------------------------------------------------------
# Many videos
# --------------------------------------------------------------------------------------------


@dataclass
class FeatureResult:
    """Features table plus the videos left out (``video_id, participant_id, reason, face_frames``)."""

    table: pd.DataFrame
    excluded: pd.DataFrame
    dropped_columns: list[str] = field(default_factory=list)
    #: Videos used although their decoding stopped early (manifest status ``partial``).
    partial: int = 0
    #: The MediaPipe extraction settings of the videos used (as in the manifest, with the face
    #: model's sha256), ``{"mixed": n}`` when they differ, ``None`` for imported frames.
    extraction: dict | None = None
    #: The settings the features were computed with (groups, per, thresholds).
    settings: dict = field(default_factory=dict)

    def annotated(self) -> pd.DataFrame:
        """The table with ``attrs``: ``excluded`` (one dict per video left out), ``summary`` and
        ``provenance`` (the extraction settings of its videos and the features' settings, for a
        model trained on it to make the features of new videos alike)."""
        from . import __version__

        self.table.attrs["excluded"] = self.excluded.to_dict("records")  # JSON-safe
        self.table.attrs["summary"] = self.summary()
        self.table.attrs["provenance"] = {
            "format": 1,
            "command": "features",
            "facemind": __version__,
            "extraction": self.extraction,
            "settings": self.settings,
        }
        return self.table

    def summary(self) -> str:
        """One line: rows written, partial videos used and videos left out, by reason."""
        unit = "participant" if "coverage__videos" in self.table.columns else "video"
        text = f"{len(self.table)} {unit} rows"
        if self.partial:
            text += f" ({self.partial} partial video(s) used: decoding stopped early)"
        if len(self.excluded):
            text += "; left out " + left_out_summary(self.excluded["reason"])
        if self.dropped_columns:
            text += f"; {len(self.dropped_columns)} channel feature(s) empty in every video dropped"
        return text


def _excluded_frame(rows: list[dict]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["video_id", "participant_id", "reason", "face_frames"])


def aggregate_participants(table: pd.DataFrame) -> pd.DataFrame:
    """Mean of every feature over each participant's videos; ``video_id`` lists them (';')."""
    feats = feature_columns(table)
    g = table.groupby("participant_id", sort=True)
    out = g[feats].mean()
    out.insert(0, "video_id", g["video_id"].agg(lambda s: ";".join(sorted(map(str, s)))))
    out["coverage__videos"] = g.size().astype(float)
    return out.reset_index()[["video_id", "participant_id", *feats, "coverage__videos"]]


def compute_features(
    tables: Iterable[tuple[str, str, pd.DataFrame]],
    *,
    groups: Sequence[str] | None = None,
    min_face_frames: int = 10,
    per: str = "video",
    activation_threshold: float = 1.0,
    blink_threshold: float = 1.0,
) -> FeatureResult:
    """Features of in-memory frame tables ``(video_id, participant_id, frames)``.

    ``groups`` defaults to every group with a column in the first table.
    """
    check_choice("per", per, PER_CHOICES)
    rows, ids, excluded = [], [], []
    names: list[str] | None = None
    channels: list[str] = []
    for vid, pid, frames in tables:
        if names is None:
            groups = _default_groups(frames.columns) if groups is None else list(groups)
            channels = select_channels(groups, schema.CORE_COLUMNS + schema.BLENDSHAPE_COLUMNS)
            names = feature_names(groups, channels)
        n_face = int(frames["face_detected"].sum())
        if n_face < min_face_frames:
            excluded.append(_excl(vid, pid, "too_few_face_frames", n_face))
            continue
        rows.append(
            video_features(
                frames,
                groups=groups,
                channels=channels,
                activation_threshold=activation_threshold,
                blink_threshold=blink_threshold,
            )
        )
        ids.append((vid, pid))
    return _assemble(rows, ids, names or [], excluded, per)


def _default_groups(columns: Iterable[str]) -> list[str]:
    cols = set(columns)
    return [g for g, chans in schema.CHANNEL_GROUPS.items() if cols & set(chans)]


def _excl(vid: str, pid: str, reason: str, n_face: int | None) -> dict:
    return {"video_id": vid, "participant_id": pid, "reason": reason, "face_frames": n_face}


def _assemble(rows, ids, names, excluded, per) -> FeatureResult:
    data = np.vstack(rows) if rows else np.empty((0, len(names)))
    keep = ~np.isnan(data).all(axis=0) if len(data) else np.ones(len(names), bool)
    keep |= np.array([n.startswith("coverage__") for n in names], dtype=bool)
    empty = [n for n, k in zip(names, keep, strict=True) if not k]
    table = pd.concat(
        [
            pd.DataFrame({"video_id": [v for v, _ in ids], "participant_id": [p for _, p in ids]}),
            pd.DataFrame(data[:, keep], columns=[n for n, k in zip(names, keep, strict=True) if k]),
        ],
        axis=1,
    )
    if per == "participant":
        table = aggregate_participants(table)
    return FeatureResult(table, _excluded_frame(excluded), empty)


# --------------------------------------------------------------------------------------------
# A frames directory
# --------------------------------------------------------------------------------------------


def _frames_layout(path: str | os.PathLike[str]) -> ExtractionDir:
    """The extraction folder of ``path`` (the folder holding manifest.parquet, or frames/)."""
    return ExtractionDir.locate(path)


def _read_chunk(args) -> tuple[list[np.ndarray], list[tuple[str, str]], list[dict]]:
    items, groups, channels, act, blink, min_face = args
    cols = list(dict.fromkeys([*schema.ID_COLUMNS, *channels]))
    rows, ids, excluded = [], [], []
    for vid, pid, path in items:
        if not Path(path).exists():
            excluded.append(_excl(vid, pid, "missing_frame_table", None))
            continue
        try:
            present = set(pq.read_schema(path).names)
            # One thread per reader: the parallelism is over videos (processes).
            table = pq.read_table(
                path, columns=[c for c in cols if c in present], use_threads=False
            )
        except (OSError, ValueError) as exc:
            raise InputError(f"cannot read frame table: {exc}", file=str(path)) from None
        for c in schema.ID_COLUMNS:
            if c not in table.column_names:
                raise InputError("frame table lacks a required column", file=str(path), column=c)
        frames = {c: table.column(c).to_numpy() for c in table.column_names}
        if table.column("face_detected").null_count:
            raise InputError("null face_detected values", file=str(path), column="face_detected")
        n_face = int(frames["face_detected"].sum())
        if n_face < min_face:
            excluded.append(_excl(vid, pid, "too_few_face_frames", n_face))
            continue
        rows.append(
            video_features(
                frames,
                groups=groups,
                channels=channels,
                activation_threshold=act,
                blink_threshold=blink,
            )
        )
        ids.append((vid, pid))
    return rows, ids, excluded


def extract_features(
    frames_dir: str | os.PathLike[str],
    *,
    groups: Sequence[str] | None = None,
    min_face_frames: int = 10,
    per: str = "video",
    jobs: int = 1,
    activation_threshold: float = 1.0,
    blink_threshold: float = 1.0,
    chunk: int = 64,
    progress: Callable[[int, int], None] | None = None,
    executor: Executor | None = None,
) -> FeatureResult:
    """Features of every video listed in ``frames_dir``'s ``manifest.parquet``.

    ``frames_dir`` is the extraction directory (``manifest.parquet`` + ``frames/``) or its
    ``frames/`` folder. ``groups`` defaults to every channel group present in the frame tables.
    Videos with status ``failed`` are left out (reason ``extraction_failed``), as are missing
    frame tables and videos with fewer than ``min_face_frames`` face frames. ``progress`` is
    called with (videos done, videos in all) after every chunk. Chunks of ``chunk`` videos
    run on ``executor`` (see :mod:`facemind.parallel`), else in ``jobs`` local processes.
    """
    check_choice("per", per, PER_CHOICES)
    if min_face_frames < 1:
        raise ParameterError(f"`min_face_frames` must be at least 1, got {min_face_frames}")
    layout = _frames_layout(frames_dir)
    manifest = layout.read_manifest()
    excluded: list[dict] = []
    items = []
    for _, vid, pid, status in layout.videos(manifest):
        if status == "failed":
            excluded.append(_excl(vid, pid, "extraction_failed", None))
        else:
            items.append((vid, pid, str(layout.frames_path(vid))))
    if groups is None:
        first = next((p for _, _, p in items if Path(p).exists()), None)
        available = pq.read_schema(first).names if first else schema.CORE_COLUMNS
        groups = _default_groups(available)
    groups = list(groups)
    channels = select_channels(groups, schema.CORE_COLUMNS + schema.BLENDSHAPE_COLUMNS)
    names = feature_names(groups, channels)
    tasks = [
        (
            items[i : i + chunk],
            groups,
            channels,
            activation_threshold,
            blink_threshold,
            min_face_frames,
        )
        for i in range(0, len(items), chunk)
    ]
    rows: list[np.ndarray] = []
    ids: list[tuple[str, str]] = []
    done = 0
    if progress is not None:
        progress(0, len(items))
    with open_executor(executor, jobs=jobs, n_tasks=len(tasks)) as pool:
        results = map_ordered(pool, _read_chunk, tasks)
        for (r, i, e), task in zip(results, tasks, strict=True):
            rows += r
            ids += i
            excluded += e
            done += len(task[0])
            if progress is not None:
                progress(done, len(items))
    result = _assemble(rows, ids, names, excluded, per)
    used = {v for v, _ in ids}
    result.partial = sum(v in used for v in manifest["video_id"][manifest["status"] == "partial"])
    result.extraction = extraction_settings(manifest, used)
    result.settings = {
        "groups": groups,
        "per": per,
        "min_face_frames": min_face_frames,
        "activation_threshold": activation_threshold,
        "blink_threshold": blink_threshold,
    }
    _label_synthetic(result.table, manifest)
    return result


def extraction_settings(manifest: pd.DataFrame, video_ids: Iterable[str]) -> dict | None:
    """The MediaPipe extraction settings shared by ``video_ids`` (see ``FeatureResult``)."""
    if not {"settings", "backend"} <= set(manifest.columns):
        return None
    rows = manifest[
        manifest["video_id"].isin(set(video_ids)) & (manifest["backend"] == "mediapipe")
    ]
    texts = sorted(set(rows["settings"].dropna().astype(str)))
    if len(texts) > 1:
        return {"mixed": len(texts)}
    try:
        return json.loads(texts[0]) if texts else None
    except ValueError:
        return None


def _label_synthetic(table: pd.DataFrame, manifest: pd.DataFrame) -> None:
    """Add a ``synthetic`` column (third) when the manifest lists synthetic videos."""
    if "synthetic" not in manifest.columns:
        return
    flags = manifest["synthetic"].fillna(False).astype(bool)
    if not flags.any():
        return
    by_participant = flags.groupby(manifest["participant_id"].astype(str)).any()
    table.insert(
        2, "synthetic", table["participant_id"].map(by_participant).fillna(False).astype(bool)
    )


def write_features(result: FeatureResult, path: str | os.PathLike[str]) -> Path:
    """Write the features table atomically (CSV or Parquet by extension)."""
    return write_table(result.table, path)
