"""Deep models (PyTorch, an optional extra): ``sequence`` on frame tables, ``frames-cnn`` and
``clip-cnn`` on face crops.

All are scikit-learn estimators registered in the model registry, so ``sweep`` and ``train``
use them like the classical models (same folds, protocols, SDI removal inside the training
fold, class balance). Their ``X`` is a one-column table of row keys (``input_row``, see
:func:`~facemind.models.inputs.input_table`) into the extraction directory given as the
``frames`` parameter (through ``make_estimator(..., inputs={"frames": DIR})``): the estimator
loads each video's frame table or face crops itself. ``X``'s index holds participant codes:
the inner validation split keeps a participant's rows together and predictions are pooled
(mean of the outputs) over all rows of a participant, giving one prediction per participant.

- ``sequence`` (:class:`SequenceModel`): per-frame AUs, head pose, gaze and blendshapes,
  resampled to ``fps`` by timestamp, standardized with training-fold statistics, cut into
  fixed windows of ``window`` steps; face-less frames and padding are masked; a temporal CNN
  (:class:`~facemind.models.nets.TemporalNet`) scores each window and a video's windows are
  averaged (weighted by their face frames).
- ``frames-cnn`` (:class:`FramesCNN`): the K aligned 112x112 face crops written by
  ``extract --save-crops K``; a shared small ResNet-style CNN per frame with cross-frame
  attention between stages and attention pooling over frames
  (:class:`~facemind.models.nets.FrameNet`), in the spirit of LI-FPN.
- ``clip-cnn`` (:class:`ClipCNN`): the same K crops stacked in time as one clip; a multiscale
  3D CNN (:class:`~facemind.models.nets.ClipNet`), in the spirit of the MSN.

Training and persistence are shared (:mod:`facemind.models.training`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from ..errors import FacemindError, InputError
from ..face import schema
from . import ALL_TASKS, ModelSpec, register_model
from .inputs import (
    CROP_SIZE,
    INPUT_COLUMN,
    MIN_FACE_FRAMES,
    SEQUENCE_GROUPS,
    InputTable,
    cached,
    input_table,
    load_crop,
    resample,
    resize_crops,
    select_crops,
    sequence_arrays,
)
from .training import INSTALL_HINT, TORCH_VERSION, DeepModel, require_torch, torch_session

__all__ = [
    "CROP_SIZE",
    "DEEP_MODELS",
    "INPUT_COLUMN",
    "INSTALL_HINT",
    "MIN_FACE_FRAMES",
    "SEQUENCE_GROUPS",
    "TORCH_VERSION",
    "ClipCNN",
    "DeepModel",
    "FramesCNN",
    "InputTable",
    "SequenceModel",
    "input_table",
    "require_torch",
    "resample",
    "sequence_arrays",
    "torch_session",
]


def _manifest_row(manifest: pd.DataFrame, r: int, manifest_path: Any) -> str:
    if not 0 <= r < len(manifest):
        raise ValueError(f"{INPUT_COLUMN} {r} is not a row of {manifest_path}")
    return str(manifest["video_id"].iloc[r])


# --------------------------------------------------------------------------------------------
# sequence
# --------------------------------------------------------------------------------------------


class SequenceModel(DeepModel):
    """Temporal CNN over per-frame channels; see the module docstring.

    Inputs of :meth:`fit_inputs` / :meth:`predict_inputs` are frame tables (DataFrames in the
    frame schema) or already resampled ``(values, face_mask)`` pairs.

    Attributes
    ----------
    channels_ : list of str
        The frame-table channels used (those that vary in the training videos).
    mean_, std_ : ndarray
        Their standardization, from the training videos.
    classes_ : ndarray
        Class labels (classification tasks).
    y_mean_, y_std_ : float
        The target's scaling (regression).
    n_outputs_ : int
        Network outputs (classes, or 1).
    net_ : torch.nn.Module
        The trained network, at its best validation epoch.
    best_epoch_ : int
        That epoch.
    history_ : list of dict
        Training and validation loss per epoch.
    n_train_rows_, n_val_rows_ : int
        Rows trained on and held out for early stopping (split by participant).
    n_features_in_ : int
        Columns of ``X`` (one: the row keys).

    See Also
    --------
    FramesCNN : a 2-D CNN over face crops.
    ClipCNN : a 3-D CNN over face crops.
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
            raise ValueError(
                f"unknown channel group {unknown[0]!r}; choose from {', '.join(schema.CHANNEL_GROUPS)}"
            )
        return [c for g in self.groups for c in schema.CHANNEL_GROUPS[g]]

    def _load_rows(self, rows: np.ndarray) -> list[Any]:
        import pyarrow.parquet as pq

        folder = self._source()
        manifest = folder.read_manifest()
        wanted = getattr(self, "channels_", None) or self.candidate_channels()
        out = []
        for r in rows:
            path = folder.frames_path(_manifest_row(manifest, r, folder.manifest_path))
            if not path.is_file():
                raise InputError("frame table not found", file=str(path))
            present = set(pq.read_schema(path).names)
            cols = tuple(c for c in wanted if c in present)

            def load(path=path, cols=cols):
                df = schema.read_frame_table(path, columns=["timestamp", "face_detected", *cols])
                return cols, df

            cols, df = cached(("frames", str(path), path.stat().st_mtime_ns, cols), load)
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
            len(self.channels_),
            self.n_outputs_,
            width=self.width,
            levels=self.levels,
            dropout=self.dropout,
        )

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
# frames-cnn and clip-cnn: face crops
# --------------------------------------------------------------------------------------------

_PIXEL_MEAN, _PIXEL_STD = 0.5, 0.25


class _CropModel(DeepModel):
    """What the models on face crops share: loading, pixel normalization, batches.

    Inputs of :meth:`fit_inputs` / :meth:`predict_inputs` are uint8 arrays (n, height, width, 3)
    of one video's crops (any n >= 1; ``k`` evenly spaced ones are used, resized to ``size``).
    """

    def _load_rows(self, rows: np.ndarray) -> list[Any]:
        folder = self._source()
        manifest = folder.read_manifest()
        out = []
        for r in rows:
            vid = _manifest_row(manifest, r, folder.manifest_path)
            files = select_crops(folder.crop_files(vid), self.k)
            if not files:
                raise InputError(
                    "no face crops for this video (extract it with `save_crops` > 0)",
                    file=str(folder.crop_dir(vid)),
                )
            key = ("crops", str(folder.crop_dir(vid)), tuple(f.name for f in files), self.size)
            out.append(
                cached(key, lambda files=files: np.stack([load_crop(f, self.size) for f in files]))
            )
        return out

    def _prepare_fit(self, inputs: list[Any]) -> None:
        pass

    def _pixels(self, x: Any) -> np.ndarray:
        """Normalized floats (n, 3, size, size) of at most ``k`` evenly spaced crops of ``x``."""
        arr = np.asarray(x)
        if arr.ndim != 4 or arr.shape[-1] != 3 or len(arr) == 0:
            raise ValueError(
                f"face crops must be an array (n >= 1, height, width, 3), got {arr.shape}"
            )
        arr = np.stack(select_crops(list(arr), self.k))
        if arr.shape[1:3] != (self.size, self.size):
            arr = resize_crops(arr, self.size)
        return (arr.transpose(0, 3, 1, 2).astype(np.float32) / 255.0 - _PIXEL_MEAN) / _PIXEL_STD

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


class FramesCNN(_CropModel):
    """Shared 2-D CNN over K face crops with cross-frame attention; see the module docstring.

    A video with fewer than ``k`` crops is padded, and the padding masked.

    Attributes
    ----------
    classes_ : ndarray
        Class labels (classification tasks).
    y_mean_, y_std_ : float
        The target's scaling (regression).
    n_outputs_ : int
        Network outputs (classes, or 1).
    net_ : torch.nn.Module
        The trained network, at its best validation epoch.
    best_epoch_ : int
        That epoch.
    history_ : list of dict
        Training and validation loss per epoch.
    n_train_rows_, n_val_rows_ : int
        Rows trained on and held out for early stopping (split by participant).
    n_features_in_ : int
        Columns of ``X`` (one: the row keys).

    See Also
    --------
    ClipCNN : the crops stacked in time for a 3-D CNN (MSN-like).
    SequenceModel : a temporal CNN over per-frame signals.
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

    def _prepare(self, x: Any) -> tuple[np.ndarray, np.ndarray]:
        px = self._pixels(x)
        out = np.zeros((self.k, 3, self.size, self.size), np.float32)
        out[: len(px)] = px
        mask = np.zeros(self.k, bool)
        mask[: len(px)] = True
        return out, mask

    def _network(self) -> Any:
        from .nets import FrameNet

        return FrameNet(self.n_outputs_, widths=tuple(self.widths), dropout=self.dropout)


class ClipCNN(_CropModel):
    """Multiscale 3D CNN over K face crops stacked in time (MSN-like); see the module docstring.

    Every clip has exactly ``k`` frames: a video with fewer crops repeats them in order. Stage
    ``i`` of ``depth`` has ``width * 2**i`` channels; ``size`` is the crop side in pixels.
    The defaults are sized for a CPU; the paper's MSN used 7 frames of 256x256.

    Attributes
    ----------
    classes_ : ndarray
        Class labels (classification tasks).
    y_mean_, y_std_ : float
        The target's scaling (regression).
    n_outputs_ : int
        Network outputs (classes, or 1).
    net_ : torch.nn.Module
        The trained network, at its best validation epoch.
    best_epoch_ : int
        That epoch.
    history_ : list of dict
        Training and validation loss per epoch.
    n_train_rows_, n_val_rows_ : int
        Rows trained on and held out for early stopping (split by participant).
    n_features_in_ : int
        Columns of ``X`` (one: the row keys).

    See Also
    --------
    FramesCNN : a 2-D CNN over the same crops with cross-frame attention (LI-FPN-like).
    SequenceModel : a temporal CNN over per-frame signals.
    """

    kind = "clip-cnn"

    def __init__(
        self,
        task: str = "binary",
        *,
        frames: str | None = None,
        k: int = 7,
        size: int = 64,
        width: int = 16,
        depth: int = 3,
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
        self.width = width
        self.depth = depth
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

    def _prepare(self, x: Any) -> tuple[np.ndarray, np.ndarray]:
        px = self._pixels(x)
        idx = np.round(np.linspace(0, len(px) - 1, self.k)).astype(int)
        return np.ascontiguousarray(px[idx]), np.ones(self.k, bool)

    def _network(self) -> Any:
        from .nets import ClipNet

        return ClipNet(self.n_outputs_, width=self.width, depth=self.depth, dropout=self.dropout)


# --------------------------------------------------------------------------------------------
# Registration
# --------------------------------------------------------------------------------------------

DEEP_MODELS: dict[str, type[DeepModel]] = {
    "sequence": SequenceModel,
    "frames-cnn": FramesCNN,
    "clip-cnn": ClipCNN,
}


def _builder(cls: type[DeepModel]) -> Any:
    def build(
        task: str, *, random_state: int = 0, n_jobs: int = 1, frames: Any = None, **params: Any
    ) -> DeepModel:
        require_torch()
        return cls(
            task,
            frames=None if frames is None else str(frames),
            random_state=random_state,
            threads=max(1, n_jobs),
            **params,
        )

    build.__doc__ = f"Unfitted :class:`{cls.__name__}` (checks that PyTorch is installed)."
    return build


build_sequence = _builder(SequenceModel)
build_frames_cnn = _builder(FramesCNN)
build_clip_cnn = _builder(ClipCNN)

for _name, _build, _input, _what in (
    (
        "sequence",
        build_sequence,
        "frames",
        "temporal CNN over per-frame AUs, pose, gaze and blendshapes (PyTorch)",
    ),
    (
        "frames-cnn",
        build_frames_cnn,
        "crops",
        "ResNet-style CNN over K face crops with cross-frame attention (PyTorch)",
    ),
    (
        "clip-cnn",
        build_clip_cnn,
        "crops",
        "multiscale 3D CNN over K face crops stacked in time (PyTorch)",
    ),
):
    register_model(
        ModelSpec(_name, _build, tasks=ALL_TASKS, requires="deep", input=_input, description=_what)
    )
