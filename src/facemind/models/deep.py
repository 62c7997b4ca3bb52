"""Deep models (PyTorch, an optional extra): ``sequence`` on frame tables, ``frames-cnn`` on crops.

Both are scikit-learn-compatible estimators registered in the model registry, so ``sweep`` and
``train`` use them like the classical models (same folds, protocols, SDI removal inside the
training fold, class balance). Their ``X`` is a one-column table of row keys (``input_row``,
see :func:`input_table`) into an extraction directory (``frames``): the estimator loads each
video's frame table or face crops itself. ``X``'s index holds participant codes: the inner
validation split keeps a participant's rows together and predictions are pooled (mean of the
outputs) over all rows of a participant, giving one prediction per participant.

- ``sequence`` (:class:`SequenceModel`): per-frame AUs, head pose, gaze and blendshapes,
  resampled to ``fps`` by timestamp, standardized with training-fold statistics, cut into
  fixed windows of ``window`` steps; face-less frames and padding are masked; a temporal CNN
  (:class:`~facemind.models.nets.TemporalNet`) scores each window and a video's windows are
  averaged (weighted by their face frames).
- ``frames-cnn`` (:class:`FramesCNN`): the K aligned 112x112 face crops written by
  ``extract --save-crops K``; a shared small ResNet-style CNN per frame with cross-frame
  attention between stages and attention pooling over frames
  (:class:`~facemind.models.nets.FrameNet`), in the spirit of LI-FPN.

Training: Adam, mini-batches, early stopping on the loss of an inner validation split of the
training participants (stratified for classification), keeping the best epoch's weights.
Seeded and deterministic on the CPU (fixed thread count, deterministic algorithms); CUDA is
used when present (``device="auto"``). PyTorch is imported only when a deep model is built.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator
from sklearn.exceptions import NotFittedError
from sklearn.utils.metaestimators import available_if

from ..errors import FacemindError, InputError
from ..face import schema
from . import ALL_TASKS, CLASSIFICATION, ModelSpec, register_model

TORCH_VERSION = "2.13.0"
INSTALL_HINT = (
    "pip install 'facemind[deep]' (the CPU build: pip install torch==" + TORCH_VERSION + ")"
)
INPUT_COLUMN = "input_row"
SEQUENCE_GROUPS: tuple[str, ...] = ("aus", "pose", "gaze", "blendshapes")
CROP_SIZE = 112
MIN_FACE_FRAMES = 10


def require_torch() -> Any:
    """The ``torch`` module, or a one-line error saying how to install it."""
    try:
        import torch
    except ImportError:
        raise FacemindError(
            f"deep models need PyTorch, which is not installed: {INSTALL_HINT}"
        ) from None
    return torch


# --------------------------------------------------------------------------------------------
# Inputs: an extraction directory and its row keys
# --------------------------------------------------------------------------------------------


def _layout(frames_dir: str | os.PathLike[str]) -> Path:
    """The extraction directory (holding ``manifest.parquet``) of ``frames_dir``."""
    p = Path(frames_dir)
    if not p.is_dir():
        raise InputError("extraction directory not found", file=str(p))
    if (p / "manifest.parquet").is_file():
        return p
    if p.name == "frames" and (p.parent / "manifest.parquet").is_file():
        return p.parent
    raise InputError("no manifest.parquet in the extraction directory", file=str(p))


_MANIFESTS: dict[tuple[str, int], pd.DataFrame] = {}


def read_manifest(frames_dir: str | os.PathLike[str]) -> pd.DataFrame:
    """The manifest of an extraction directory (cached while the file is unchanged)."""
    from ..io import read_table

    path = _layout(frames_dir) / "manifest.parquet"
    key = (str(path.resolve()), path.stat().st_mtime_ns)
    if key not in _MANIFESTS:
        m = read_table(path)
        for col in ("video_id", "participant_id"):
            if col not in m.columns:
                raise InputError("manifest lacks a column", file=str(path), column=col)
        _MANIFESTS[key] = m.reset_index(drop=True)
    return _MANIFESTS[key]


def crop_files(root: Path, video_id: str) -> list[Path]:
    """The crops of one video (``crops/<video_id>/<frame>.png``), in frame order."""
    folder = root / "crops" / video_id
    return sorted(folder.glob("*.png")) if folder.is_dir() else []


@dataclass
class InputTable:
    """Row keys of the usable videos (``video_id, participant_id, input_row``) and the videos
    left out (``video_id, participant_id, reason``)."""

    table: pd.DataFrame
    excluded: pd.DataFrame

    def summary(self) -> str:
        text = f"{len(self.table)} video rows"
        if len(self.excluded):
            counts = self.excluded["reason"].value_counts().sort_index()
            text += "; left out " + ", ".join(f"{v} video(s): {k}" for k, v in counts.items())
        return text


def input_table(
    frames_dir: str | os.PathLike[str],
    *,
    crops: bool = False,
    min_face_frames: int = MIN_FACE_FRAMES,
) -> InputTable:
    """Row keys for the deep models: one row per usable video of an extraction directory.

    ``input_row`` is the video's position in ``manifest.parquet``. Left out (and listed):
    failed extractions, missing frame tables, fewer than ``min_face_frames`` face frames and,
    with ``crops``, videos without face crops.
    """
    root = _layout(frames_dir)
    manifest = read_manifest(root)
    rows, excluded = [], []
    status = (
        manifest["status"]
        if "status" in manifest.columns
        else pd.Series("ok", index=manifest.index)
    )
    for i, (vid, pid, st) in enumerate(
        zip(
            manifest["video_id"].astype(str),
            manifest["participant_id"].astype(str),
            status,
            strict=True,
        )
    ):
        path = root / "frames" / f"{vid}.parquet"
        reason = None
        if st == "failed":
            reason = "extraction_failed"
        elif not path.is_file():
            reason = "missing_frame_table"
        else:
            face = schema.read_frame_table(path, columns=["face_detected"])["face_detected"]
            if int(face.sum()) < min_face_frames:
                reason = "too_few_face_frames"
            elif crops and not crop_files(root, vid):
                reason = "no_crops"
        if reason is None:
            rows.append((vid, pid, i))
        else:
            excluded.append((vid, pid, reason))
    table = pd.DataFrame(rows, columns=["video_id", "participant_id", INPUT_COLUMN])
    table[INPUT_COLUMN] = table[INPUT_COLUMN].astype("int64")
    return InputTable(
        table, pd.DataFrame(excluded, columns=["video_id", "participant_id", "reason"])
    )


def _row_keys(X: Any) -> np.ndarray:
    if isinstance(X, pd.DataFrame):
        if INPUT_COLUMN in X.columns:
            col = X[INPUT_COLUMN]
        elif X.shape[1] == 1:
            col = X.iloc[:, 0]
        else:
            raise FacemindError(
                f"deep models take one column of row keys ({INPUT_COLUMN!r}), got {X.shape[1]} "
                "columns; build it with facemind.models.deep.input_table"
            )
        values = col.to_numpy(dtype=float)
    else:
        values = np.asarray(X, dtype=float).reshape(len(X), -1)[:, 0]
    if not np.all(np.isfinite(values)) or np.any(values != np.round(values)):
        raise FacemindError(f"deep models: {INPUT_COLUMN} must hold whole row numbers")
    return values.astype(np.int64)


def _groups(X: Any) -> np.ndarray:
    if isinstance(X, pd.DataFrame):
        return X.index.to_numpy()
    return np.arange(len(X))


def resample(
    timestamp: np.ndarray, face: np.ndarray, values: np.ndarray, fps: float
) -> tuple[np.ndarray, np.ndarray]:
    """Values and face mask on a regular grid of ``fps`` steps from the first timestamp.

    Each step takes the last frame at or before it, so the grid does not depend on the
    video's own frame rate.
    """
    if len(timestamp) == 0:
        return np.zeros((0, values.shape[1]), np.float32), np.zeros(0, bool)
    t0 = float(timestamp[0])
    n = int(np.floor((float(timestamp[-1]) - t0) * fps + 1e-6)) + 1
    grid = t0 + np.arange(n) / fps
    j = np.searchsorted(timestamp, grid + 1e-6, side="right") - 1
    return values[j].astype(np.float32), face[j].astype(bool)


def sequence_arrays(
    frames: pd.DataFrame, channels: Sequence[str], fps: float, *, source: str = "frame table"
) -> tuple[np.ndarray, np.ndarray]:
    """(values (steps, channels) with NaN where missing, face mask (steps,)) of a frame table."""
    missing = [c for c in ("timestamp", "face_detected", *channels) if c not in frames.columns]
    if missing:
        raise InputError(
            f"frame table lacks {len(missing)} channel(s) the model needs (schema mismatch)",
            file=source, column=missing[0],
        )  # fmt: skip
    ts = frames["timestamp"].to_numpy(dtype=float)
    face = frames["face_detected"].to_numpy(dtype=bool)
    values = frames[list(channels)].to_numpy(dtype=np.float32, na_value=np.nan)
    return resample(ts, face, values, fps)


def select_crops(paths: Sequence[Any], k: int) -> list[Any]:
    """``k`` evenly spaced items of ``paths`` (all of them when there are at most ``k``)."""
    if len(paths) <= k:
        return list(paths)
    idx = np.unique(np.round(np.linspace(0, len(paths) - 1, k)).astype(int))
    return [paths[i] for i in idx]


def load_crop(path: str | os.PathLike[str], size: int = CROP_SIZE) -> np.ndarray:
    """One RGB crop as uint8 (size, size, 3), resized when it has another size."""
    from PIL import Image

    try:
        with Image.open(path) as im:
            im = im.convert("RGB")
            if im.size != (size, size):
                im = im.resize((size, size), Image.Resampling.BILINEAR)
            return np.asarray(im, dtype=np.uint8).copy()
    except OSError as exc:
        raise InputError(f"cannot read face crop: {exc}", file=str(path)) from None


_CACHE: dict[tuple, Any] = {}
_CACHE_LIMIT = 50_000


def _cached(key: tuple, load) -> Any:
    if key not in _CACHE:
        if len(_CACHE) >= _CACHE_LIMIT:
            _CACHE.clear()
        _CACHE[key] = load()
    return _CACHE[key]


@contextmanager
def torch_session(threads: int, seed: int) -> Iterator[Any]:
    """Seeded, deterministic PyTorch with ``threads`` CPU threads; settings restored after."""
    torch = require_torch()
    prev_threads = torch.get_num_threads()
    prev_det = torch.are_deterministic_algorithms_enabled()
    prev_warn = torch.is_deterministic_algorithms_warn_only_enabled()
    torch.set_num_threads(max(1, int(threads)))
    torch.use_deterministic_algorithms(True, warn_only=True)
    torch.manual_seed(int(seed))
    try:
        yield torch
    finally:
        torch.set_num_threads(prev_threads)
        torch.use_deterministic_algorithms(prev_det, warn_only=prev_warn)


def _inner_split(
    groups: np.ndarray, y: np.ndarray | None, share: float, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """Row masks (train, validation) with whole participants on one side; stratified on the
    participant's label when ``y`` is given. No validation rows with fewer than 10 groups."""
    n = len(groups)
    codes, first = np.unique(groups, return_index=True)
    if share <= 0 or len(codes) < 10:
        return np.ones(n, bool), np.zeros(n, bool)
    rng = np.random.default_rng(seed)
    val_groups: list[Any] = []
    strata = y[first] if y is not None else np.zeros(len(codes), int)
    for s in np.unique(strata):
        members = codes[strata == s]
        take = int(round(share * len(members)))
        if len(members) >= 2:
            take = min(max(take, 1), len(members) - 1)
        else:
            take = 0
        val_groups.extend(rng.permutation(members)[:take].tolist())
    val = np.isin(groups, np.asarray(val_groups, dtype=groups.dtype))
    return ~val, val


def _pool(outputs: np.ndarray, groups: np.ndarray) -> np.ndarray:
    """Each row's output replaced by the mean over the rows of its group (participant)."""
    codes, inverse = np.unique(groups, return_inverse=True)
    sums = np.zeros((len(codes), outputs.shape[1]))
    np.add.at(sums, inverse, outputs)
    counts = np.bincount(inverse, minlength=len(codes))[:, None]
    return (sums / counts)[inverse]


def _softmax(z: np.ndarray) -> np.ndarray:
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


# --------------------------------------------------------------------------------------------
# Shared estimator machinery
# --------------------------------------------------------------------------------------------


class _DeepModel(BaseEstimator):
    """Fit / predict over per-row inputs loaded from ``frames``; subclasses define the data
    (``_load_rows``, ``_prepare_fit``, ``_batch``) and the network (``_network``)."""

    kind = ""

    def _is_classifier(self) -> bool:
        return self.task in CLASSIFICATION

    def _device(self, torch: Any) -> Any:
        name = self.device
        if name == "auto":
            name = "cuda" if torch.cuda.is_available() else "cpu"
        return torch.device(name)

    # -- data -------------------------------------------------------------------------------
    def _source(self) -> Path:
        if self.frames is None:
            raise FacemindError(f"model {self.kind!r} needs an extraction directory: pass `frames`")
        return _layout(self.frames)

    # -- fitting ----------------------------------------------------------------------------
    def fit(self, X: Any, y: Any) -> _DeepModel:
        require_torch()
        inputs = self._load_rows(_row_keys(X))
        return self.fit_inputs(inputs, np.asarray(y), _groups(X))

    def fit_inputs(self, inputs: list[Any], y: np.ndarray, groups: np.ndarray) -> _DeepModel:
        """Fit on loaded per-row inputs (see the subclass), labels and participant groups."""
        if self.task not in ALL_TASKS:
            raise FacemindError(f"unknown task {self.task!r}")
        if len(inputs) != len(y):
            raise FacemindError(f"{len(inputs)} inputs but {len(y)} labels")
        if self._is_classifier():
            self.classes_, target = np.unique(y, return_inverse=True)
            self.n_outputs_ = len(self.classes_)
            strata = target
        else:
            yf = y.astype(float)
            self.y_mean_ = float(np.mean(yf))
            self.y_std_ = float(np.std(yf)) or 1.0
            target = (yf - self.y_mean_) / self.y_std_
            self.n_outputs_ = 1
            strata = None
        self._prepare_fit(inputs)
        data = [self._prepare(x) for x in inputs]
        train, val = _inner_split(groups, strata, self.val_share, self.random_state)
        with torch_session(self.threads, self.random_state) as torch:
            device = self._device(torch)
            net = self._network().to(device)
            opt = torch.optim.Adam(net.parameters(), lr=self.lr, weight_decay=self.weight_decay)
            rng = np.random.default_rng(self.random_state)
            best, best_state, waited = np.inf, None, 0
            history = []
            tr_idx = np.flatnonzero(train)
            for epoch in range(self.epochs):
                net.train()
                losses = []
                for batch in self._train_batches(data, tr_idx, rng):
                    xb, mb, rows = batch
                    out = net(xb.to(device), mb.to(device))
                    loss = self._loss(torch, out, target[rows], device)
                    opt.zero_grad()
                    loss.backward()
                    opt.step()
                    losses.append(float(loss.detach().cpu()))
                train_loss = float(np.mean(losses)) if losses else np.nan
                val_loss = np.nan
                if val.any():
                    vi = np.flatnonzero(val)
                    pooled = _pool(self._outputs(net, [data[i] for i in vi], device), groups[vi])
                    val_loss = self._np_loss(pooled, target[vi])
                history.append({"epoch": epoch + 1, "train_loss": train_loss, "val_loss": val_loss})
                score = val_loss if val.any() else -epoch
                if score < best - 1e-6:
                    best, waited = score, 0
                    best_state = {k: v.detach().cpu().clone() for k, v in net.state_dict().items()}
                    self.best_epoch_ = epoch + 1
                else:
                    waited += 1
                    if val.any() and waited >= self.patience:
                        break
            net.load_state_dict(best_state)
            self.net_ = net.cpu().eval()
        self.history_ = history
        self.n_train_rows_ = int(train.sum())
        self.n_val_rows_ = int(val.sum())
        return self

    def _loss(self, torch: Any, out: Any, target: np.ndarray, device: Any) -> Any:
        F = torch.nn.functional
        if self._is_classifier():
            return F.cross_entropy(out, torch.as_tensor(target, dtype=torch.long, device=device))
        t = torch.as_tensor(target, dtype=torch.float32, device=device)
        return F.mse_loss(out[:, 0], t)

    def _np_loss(self, out: np.ndarray, target: np.ndarray) -> float:
        if self._is_classifier():
            p = _softmax(out)[np.arange(len(target)), target]
            return float(-np.mean(np.log(np.clip(p, 1e-12, None))))
        return float(np.mean((out[:, 0] - target) ** 2))

    # -- predicting -------------------------------------------------------------------------
    def raw_outputs(self, inputs: list[Any], groups: np.ndarray | None = None) -> np.ndarray:
        """Network outputs (logits, or the standardized score) per row, pooled over groups."""
        if not hasattr(self, "net_"):
            raise NotFittedError(f"this {type(self).__name__} is not fitted yet; call fit first")
        data = [self._prepare(x) for x in inputs]
        with torch_session(self.threads, self.random_state) as torch:
            device = self._device(torch)
            net = self.net_.to(device)
            out = self._outputs(net, data, device)
            self.net_ = net.cpu()
        return _pool(out, np.arange(len(data)) if groups is None else np.asarray(groups))

    def predict_inputs(self, inputs: list[Any], groups: np.ndarray | None = None) -> np.ndarray:
        out = self.raw_outputs(inputs, groups)
        if self._is_classifier():
            return self.classes_[out.argmax(axis=1)]
        return out[:, 0] * self.y_std_ + self.y_mean_

    def predict_proba_inputs(
        self, inputs: list[Any], groups: np.ndarray | None = None
    ) -> np.ndarray:
        return _softmax(self.raw_outputs(inputs, groups))

    def predict(self, X: Any) -> np.ndarray:
        return self.predict_inputs(self._load_rows(_row_keys(X)), _groups(X))

    @available_if(_is_classifier)
    def predict_proba(self, X: Any) -> np.ndarray:
        return self.predict_proba_inputs(self._load_rows(_row_keys(X)), _groups(X))

    def _outputs(self, net: Any, data: list[Any], device: Any) -> np.ndarray:
        torch = require_torch()
        net.eval()
        chunks = []
        with torch.no_grad():
            for xb, mb, owner, weight in self._eval_batches(data):
                out = net(xb.to(device), mb.to(device)).cpu().numpy().astype(np.float64)
                chunks.append((out, owner, weight))
        res = np.zeros((len(data), self.n_outputs_))
        wsum = np.zeros(len(data))
        for out, owner, weight in chunks:
            np.add.at(res, owner, out * weight[:, None])
            np.add.at(wsum, owner, weight)
        return res / np.clip(wsum, 1e-12, None)[:, None]

    # -- persistence ------------------------------------------------------------------------
    def fitted_state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        """(JSON-able fitted attributes, arrays) for :mod:`facemind.models.persist`."""
        attrs: dict[str, Any] = {"n_outputs_": int(self.n_outputs_)}
        arrays = {f"net.{k}": v.detach().cpu().numpy() for k, v in self.net_.state_dict().items()}
        if self._is_classifier():
            attrs["classes_"] = self.classes_.tolist()
        else:
            attrs["y_mean_"], attrs["y_std_"] = self.y_mean_, self.y_std_
        attrs["best_epoch_"] = int(getattr(self, "best_epoch_", 0))
        attrs["history_"] = [
            {k: (None if isinstance(v, float) and not np.isfinite(v) else v) for k, v in h.items()}
            for h in getattr(self, "history_", [])
        ]
        return attrs, arrays

    def restore_state(self, attrs: dict[str, Any], arrays: dict[str, np.ndarray]) -> _DeepModel:
        """Inverse of :meth:`fitted_state`."""
        torch = require_torch()
        self.n_outputs_ = int(attrs["n_outputs_"])
        if "classes_" in attrs:
            self.classes_ = np.asarray(attrs["classes_"])
        else:
            self.y_mean_, self.y_std_ = float(attrs["y_mean_"]), float(attrs["y_std_"])
        self.best_epoch_ = attrs.get("best_epoch_", 0)
        self.history_ = attrs.get("history_", [])
        self._restore_data_state(attrs, arrays)
        net = self._network()
        state = {
            k[4:]: torch.from_numpy(np.ascontiguousarray(v))
            for k, v in arrays.items()
            if k.startswith("net.")
        }
        net.load_state_dict(state, strict=True)
        self.net_ = net.eval()
        return self

    def _restore_data_state(self, attrs: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
        pass


# --------------------------------------------------------------------------------------------
# sequence
# --------------------------------------------------------------------------------------------


class SequenceModel(_DeepModel):
    """Temporal CNN over per-frame channels; see the module docstring.

    Inputs of :meth:`fit_inputs` / :meth:`predict_inputs` are frame tables (DataFrames in the
    frame schema) or already resampled ``(values, face_mask)`` pairs.
    """

    kind = "sequence"

    def __init__(
        self,
        task: str = "binary",
        *,
        frames: str | None = None,
        groups: tuple[str, ...] = SEQUENCE_GROUPS,
        fps: float = 5.0,
        window: int = 64,
        windows_per_video: int = 4,
        width: int = 32,
        levels: int = 3,
        dropout: float = 0.1,
        epochs: int = 50,
        batch_size: int = 16,
        lr: float = 1e-3,
        weight_decay: float = 1e-4,
        patience: int = 8,
        val_share: float = 0.2,
        random_state: int = 0,
        threads: int = 1,
        device: str = "auto",
    ) -> None:
        self.task = task
        self.frames = frames
        self.groups = groups
        self.fps = fps
        self.window = window
        self.windows_per_video = windows_per_video
        self.width = width
        self.levels = levels
        self.dropout = dropout
        self.epochs = epochs
        self.batch_size = batch_size
        self.lr = lr
        self.weight_decay = weight_decay
        self.patience = patience
        self.val_share = val_share
        self.random_state = random_state
        self.threads = threads
        self.device = device

    def candidate_channels(self) -> list[str]:
        unknown = [g for g in self.groups if g not in schema.CHANNEL_GROUPS]
        if unknown:
            raise FacemindError(
                f"unknown channel group {unknown[0]!r}; choose from {', '.join(schema.CHANNEL_GROUPS)}"
            )
        return [c for g in self.groups for c in schema.CHANNEL_GROUPS[g]]

    def _load_rows(self, rows: np.ndarray) -> list[Any]:
        import pyarrow.parquet as pq

        root = self._source()
        manifest = read_manifest(root)
        wanted = getattr(self, "channels_", None) or self.candidate_channels()
        out = []
        for r in rows:
            if not 0 <= r < len(manifest):
                raise FacemindError(f"{INPUT_COLUMN} {r} is not a row of {root}/manifest.parquet")
            path = root / "frames" / f"{manifest['video_id'].iloc[r]}.parquet"
            if not path.is_file():
                raise InputError("frame table not found", file=str(path))
            present = set(pq.read_schema(path).names)
            cols = tuple(c for c in wanted if c in present)

            def load(path=path, cols=cols):
                df = schema.read_frame_table(path, columns=["timestamp", "face_detected", *cols])
                return cols, df

            cols, df = _cached(("frames", str(path), path.stat().st_mtime_ns, cols), load)
            out.append(df)
        return out

    def _raw(self, x: Any, channels: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        if isinstance(x, tuple):
            return x
        present = [c for c in channels if c in x.columns]
        values, face = sequence_arrays(x, present, self.fps)
        full = np.full((len(face), len(channels)), np.nan, np.float32)
        idx = [channels.index(c) for c in present]
        full[:, idx] = values
        return full, face

    def _prepare_fit(self, inputs: list[Any]) -> None:
        cand = self.candidate_channels()
        raws = [self._raw(x, cand) for x in inputs]
        stack = np.concatenate([v[m] for v, m in raws if m.any()] or [np.zeros((0, len(cand)))])
        if len(stack) == 0:
            raise FacemindError("no face frames in the training videos")
        with np.errstate(all="ignore"):
            import warnings

            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                mean = np.nanmean(stack, axis=0)
                std = np.nanstd(stack, axis=0)
        keep = np.isfinite(mean)
        if not keep.any():
            raise FacemindError("every channel is empty in the training videos")
        self.channels_ = [c for c, k in zip(cand, keep, strict=True) if k]
        self.mean_ = mean[keep].astype(np.float32)
        self.std_ = np.where(std[keep] > 1e-6, std[keep], 1.0).astype(np.float32)

    def _prepare(self, x: Any) -> tuple[np.ndarray, np.ndarray]:
        if isinstance(x, pd.DataFrame):
            missing = [c for c in self.channels_ if c not in x.columns]
            if missing:
                raise FacemindError(
                    f"frame table lacks channel {missing[0]!r} the model was trained on "
                    f"({len(missing)} missing; schema mismatch)"
                )
        values, face = self._raw(x, list(self.channels_))
        z = (values - self.mean_) / self.std_
        z = np.where(np.isfinite(z) & face[:, None], z, 0.0).astype(np.float32)
        return z, face

    def _network(self) -> Any:
        from .nets import TemporalNet

        return TemporalNet(
            len(self.channels_), self.n_outputs_, width=self.width, levels=self.levels,
            dropout=self.dropout,
        )  # fmt: skip

    def _window(self, z: np.ndarray, m: np.ndarray, start: int) -> tuple[np.ndarray, np.ndarray]:
        w = self.window
        xs = np.zeros((w, z.shape[1]), np.float32)
        ms = np.zeros(w, bool)
        part = z[start : start + w]
        xs[: len(part)] = part
        ms[: len(part)] = m[start : start + w]
        return xs, ms

    def _train_batches(self, data, rows: np.ndarray, rng: np.random.Generator):
        torch = require_torch()
        items = []
        for r in rows:
            n = len(data[r][1])
            for _ in range(self.windows_per_video):
                start = int(rng.integers(0, max(n - self.window, 0) + 1))
                items.append((r, start))
        order = rng.permutation(len(items))
        for b in range(0, len(order), self.batch_size):
            chosen = [items[i] for i in order[b : b + self.batch_size]]
            wins = [self._window(*data[r], s) for r, s in chosen]
            xb = torch.from_numpy(np.stack([w[0] for w in wins]))
            mb = torch.from_numpy(np.stack([w[1] for w in wins]))
            yield xb, mb, np.array([r for r, _ in chosen])

    def _eval_batches(self, data):
        torch = require_torch()
        items = []
        step = max(1, self.window // 2)
        for r, (_, m) in enumerate(data):
            n = len(m)
            starts = list(range(0, max(n - self.window, 0) + 1, step))
            if n > self.window and starts[-1] != n - self.window:
                starts.append(n - self.window)
            items.extend((r, s) for s in starts)
        size = max(self.batch_size, 64)
        for b in range(0, len(items), size):
            chosen = items[b : b + size]
            wins = [self._window(*data[r], s) for r, s in chosen]
            mb = np.stack([w[1] for w in wins])
            weight = mb.sum(axis=1).astype(float)
            weight = np.where(weight > 0, weight, 1e-6)
            yield (
                torch.from_numpy(np.stack([w[0] for w in wins])),
                torch.from_numpy(mb),
                np.array([r for r, _ in chosen]),
                weight,
            )

    def fitted_state(self):
        attrs, arrays = super().fitted_state()
        attrs["channels_"] = list(self.channels_)
        arrays["norm.mean"], arrays["norm.std"] = self.mean_, self.std_
        return attrs, arrays

    def _restore_data_state(self, attrs, arrays) -> None:
        self.channels_ = list(attrs["channels_"])
        self.mean_ = np.asarray(arrays["norm.mean"], np.float32)
        self.std_ = np.asarray(arrays["norm.std"], np.float32)


# --------------------------------------------------------------------------------------------
# frames-cnn
# --------------------------------------------------------------------------------------------

_PIXEL_MEAN, _PIXEL_STD = 0.5, 0.25


class FramesCNN(_DeepModel):
    """Shared 2-D CNN over K face crops with cross-frame attention; see the module docstring.

    Inputs of :meth:`fit_inputs` / :meth:`predict_inputs` are uint8 arrays (n, 112, 112, 3)
    of one video's crops (any n >= 1; ``k`` evenly spaced ones are used).
    """

    kind = "frames-cnn"

    def __init__(
        self,
        task: str = "binary",
        *,
        frames: str | None = None,
        k: int = 7,
        size: int = CROP_SIZE,
        widths: tuple[int, ...] = (16, 32, 64, 128),
        dropout: float = 0.2,
        flip: bool = True,
        epochs: int = 50,
        batch_size: int = 16,
        lr: float = 1e-3,
        weight_decay: float = 1e-4,
        patience: int = 8,
        val_share: float = 0.2,
        random_state: int = 0,
        threads: int = 1,
        device: str = "auto",
    ) -> None:
        self.task = task
        self.frames = frames
        self.k = k
        self.size = size
        self.widths = widths
        self.dropout = dropout
        self.flip = flip
        self.epochs = epochs
        self.batch_size = batch_size
        self.lr = lr
        self.weight_decay = weight_decay
        self.patience = patience
        self.val_share = val_share
        self.random_state = random_state
        self.threads = threads
        self.device = device

    def _load_rows(self, rows: np.ndarray) -> list[Any]:
        root = self._source()
        manifest = read_manifest(root)
        out = []
        for r in rows:
            if not 0 <= r < len(manifest):
                raise FacemindError(f"{INPUT_COLUMN} {r} is not a row of {root}/manifest.parquet")
            vid = str(manifest["video_id"].iloc[r])
            files = select_crops(crop_files(root, vid), self.k)
            if not files:
                raise InputError("no face crops for this video (extract it with `save_crops`)",
                                 file=str(root / "crops" / vid))  # fmt: skip
            key = ("crops", str(root / "crops" / vid), tuple(f.name for f in files), self.size)
            out.append(
                _cached(key, lambda files=files: np.stack([load_crop(f, self.size) for f in files]))
            )
        return out

    def _prepare_fit(self, inputs: list[Any]) -> None:
        pass

    def _prepare(self, x: Any) -> tuple[np.ndarray, np.ndarray]:
        arr = np.asarray(x)
        if arr.ndim != 4 or arr.shape[1:] != (self.size, self.size, 3):
            raise FacemindError(
                f"face crops must be an array (n, {self.size}, {self.size}, 3), got {arr.shape}"
            )
        arr = np.stack(select_crops(list(arr), self.k))
        out = np.zeros((self.k, 3, self.size, self.size), np.float32)
        out[: len(arr)] = (
            arr.transpose(0, 3, 1, 2).astype(np.float32) / 255.0 - _PIXEL_MEAN
        ) / _PIXEL_STD
        mask = np.zeros(self.k, bool)
        mask[: max(len(arr), 1)] = True
        return out, mask

    def _network(self) -> Any:
        from .nets import FrameNet

        return FrameNet(self.n_outputs_, widths=tuple(self.widths), dropout=self.dropout)

    def _train_batches(self, data, rows: np.ndarray, rng: np.random.Generator):
        torch = require_torch()
        order = rng.permutation(rows)
        for b in range(0, len(order), self.batch_size):
            chosen = order[b : b + self.batch_size]
            xs = []
            for r in chosen:
                x = data[r][0]
                if self.flip and rng.random() < 0.5:
                    x = x[:, :, :, ::-1]
                xs.append(x)
            xb = torch.from_numpy(np.ascontiguousarray(np.stack(xs)))
            mb = torch.from_numpy(np.stack([data[r][1] for r in chosen]))
            yield xb, mb, chosen

    def _eval_batches(self, data):
        torch = require_torch()
        size = max(self.batch_size, 16)
        for b in range(0, len(data), size):
            idx = np.arange(b, min(b + size, len(data)))
            yield (
                torch.from_numpy(np.stack([data[i][0] for i in idx])),
                torch.from_numpy(np.stack([data[i][1] for i in idx])),
                idx,
                np.ones(len(idx)),
            )


# --------------------------------------------------------------------------------------------
# Registration
# --------------------------------------------------------------------------------------------


def build_sequence(
    task: str, *, random_state: int = 0, n_jobs: int = 1, frames: str | None = None, **params: Any
) -> SequenceModel:
    """Unfitted :class:`SequenceModel` (checks that PyTorch is installed)."""
    require_torch()
    return SequenceModel(task, frames=None if frames is None else str(frames),
                         random_state=random_state, threads=max(1, n_jobs), **params)  # fmt: skip


def build_frames_cnn(
    task: str, *, random_state: int = 0, n_jobs: int = 1, frames: str | None = None, **params: Any
) -> FramesCNN:
    """Unfitted :class:`FramesCNN` (checks that PyTorch is installed)."""
    require_torch()
    return FramesCNN(task, frames=None if frames is None else str(frames),
                     random_state=random_state, threads=max(1, n_jobs), **params)  # fmt: skip


def attach_frames(estimator: Any, frames: str | os.PathLike[str] | None) -> Any:
    """Point every deep model inside ``estimator`` (wrappers, pipelines) at ``frames``.

    Sets the ``frames`` parameter wherever it occurs, before fitting (wrappers clone their
    inner estimator with its parameters); other estimators are returned unchanged.
    """
    if frames is None or not hasattr(estimator, "get_params"):
        return estimator
    keys = [k for k in estimator.get_params(deep=True) if k == "frames" or k.endswith("__frames")]
    if keys:
        estimator.set_params(**{k: str(frames) for k in keys})
    return estimator


DEEP_MODELS: dict[str, type[_DeepModel]] = {"sequence": SequenceModel, "frames-cnn": FramesCNN}

register_model(
    ModelSpec(
        "sequence",
        build_sequence,
        tasks=ALL_TASKS,
        requires="deep",
        input="frames",
        description="temporal CNN over per-frame AUs, pose, gaze and blendshapes (PyTorch)",
    )
)
register_model(
    ModelSpec(
        "frames-cnn",
        build_frames_cnn,
        tasks=ALL_TASKS,
        requires="deep",
        input="crops",
        description="ResNet-style CNN over K face crops with cross-frame attention (PyTorch)",
    )
)
