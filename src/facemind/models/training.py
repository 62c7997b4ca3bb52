"""What the deep models share: PyTorch on demand, the training loop and the estimator contract.

:class:`DeepModel` is a scikit-learn estimator over row keys (see :mod:`.inputs`): ``fit``
validates ``X`` (one column of whole row numbers), loads each row's input from the extraction
directory ``frames`` and trains; subclasses define the data (``_load_rows``, ``_prepare_fit``,
``_prepare``, the batches) and the network (``_network``).

Training: Adam, mini-batches, early stopping on the loss of an inner validation split of the
training participants (stratified for classification), keeping the best epoch's weights.
Seeded and deterministic on the CPU (fixed thread count, deterministic algorithms); CUDA is
used when present (``device="auto"``). PyTorch is imported only when a deep model is fitted,
restored or built through the registry.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator
from sklearn.utils.metaestimators import available_if
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data

from ..errors import FacemindError
from ..face.layout import ExtractionDir
from . import ALL_TASKS, CLASSIFICATION
from .inputs import extraction_dir, groups_of, key_columns, row_keys

TORCH_VERSION = "2.13.0"
INSTALL_HINT = (
    "pip install 'facemind[deep]' (the CPU build: pip install torch==" + TORCH_VERSION + ")"
)


def require_torch() -> Any:
    """The ``torch`` module, or a one-line error saying how to install it."""
    try:
        import torch
    except ImportError:
        raise FacemindError(
            f"deep models need PyTorch, which is not installed: {INSTALL_HINT}"
        ) from None
    return torch


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


def inner_split(
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


def pool(outputs: np.ndarray, groups: np.ndarray) -> np.ndarray:
    """Each row's output replaced by the mean over the rows of its group (participant)."""
    codes, inverse = np.unique(groups, return_inverse=True)
    sums = np.zeros((len(codes), outputs.shape[1]))
    np.add.at(sums, inverse, outputs)
    counts = np.bincount(inverse, minlength=len(codes))[:, None]
    return (sums / counts)[inverse]


def softmax(z: np.ndarray) -> np.ndarray:
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


# --------------------------------------------------------------------------------------------
# Shared estimator machinery
# --------------------------------------------------------------------------------------------


class DeepModel(BaseEstimator):
    """Fit / predict over per-row inputs loaded from ``frames``; see the module docstring.

    A classifier for the classification tasks and a regressor for ``regression``: the
    estimator type follows ``task`` (scikit-learn tags), so wrappers and scorers treat it
    right.
    """

    kind = ""

    def _is_classifier(self) -> bool:
        return self.task in CLASSIFICATION

    def __sklearn_tags__(self) -> Any:
        from sklearn.utils import ClassifierTags, RegressorTags

        tags = super().__sklearn_tags__()
        if self._is_classifier():
            tags.estimator_type = "classifier"
            tags.classifier_tags = ClassifierTags()
        else:
            tags.estimator_type = "regressor"
            tags.regressor_tags = RegressorTags()
        tags.input_tags.positive_only = True  # row numbers
        return tags

    def _device(self, torch: Any) -> Any:
        name = self.device
        if name == "auto":
            name = "cuda" if torch.cuda.is_available() else "cpu"
        return torch.device(name)

    # -- data -------------------------------------------------------------------------------
    def _source(self) -> ExtractionDir:
        if self.frames is None:
            raise ValueError(
                f"model {self.kind!r} loads its inputs from an extraction directory: "
                "give it as the parameter frames"
            )
        return extraction_dir(self.frames)

    def _keys(self, X: Any, y: Any = None, *, reset: bool) -> tuple[np.ndarray, np.ndarray, Any]:
        """(row keys, participant groups, validated y) of ``X``; scikit-learn's input errors."""
        table = X if isinstance(X, pd.DataFrame) else None
        X = key_columns(X)
        if reset:
            X, y = validate_data(self, X, y, dtype="numeric", y_numeric=not self._is_classifier())
            if self._is_classifier():
                check_classification_targets(y)
        else:
            X = validate_data(self, X, reset=False, dtype="numeric")
        groups = groups_of(table) if table is not None else np.arange(len(X))
        return row_keys(np.asarray(X)), groups, y

    # -- fitting ----------------------------------------------------------------------------
    def fit(self, X: Any, y: Any) -> DeepModel:
        """Fit on row keys ``X`` (participant codes in its index) and labels ``y``."""
        keys, groups, y = self._keys(X, y, reset=True)
        require_torch()
        return self.fit_inputs(self._load_rows(keys), np.asarray(y), groups)

    def fit_inputs(self, inputs: list[Any], y: np.ndarray, groups: np.ndarray) -> DeepModel:
        """Fit on loaded per-row inputs (see the subclass), labels and participant groups."""
        if self.task not in ALL_TASKS:
            raise ValueError(f"unknown task {self.task!r}; choose from {', '.join(ALL_TASKS)}")
        if len(inputs) != len(y):
            raise ValueError(f"{len(inputs)} inputs but {len(y)} labels")
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
        train, val = inner_split(groups, strata, self.val_share, self.random_state)
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
                    pooled = pool(self._outputs(net, [data[i] for i in vi], device), groups[vi])
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
            p = softmax(out)[np.arange(len(target)), target]
            return float(-np.mean(np.log(np.clip(p, 1e-12, None))))
        return float(np.mean((out[:, 0] - target) ** 2))

    # -- predicting -------------------------------------------------------------------------
    def raw_outputs(self, inputs: list[Any], groups: np.ndarray | None = None) -> np.ndarray:
        """Network outputs (logits, or the standardized score) per row, pooled over groups."""
        check_is_fitted(self, "net_")
        data = [self._prepare(x) for x in inputs]
        with torch_session(self.threads, self.random_state) as torch:
            device = self._device(torch)
            net = self.net_.to(device)
            out = self._outputs(net, data, device)
            self.net_ = net.cpu()
        return pool(out, np.arange(len(data)) if groups is None else np.asarray(groups))

    def predict_inputs(self, inputs: list[Any], groups: np.ndarray | None = None) -> np.ndarray:
        out = self.raw_outputs(inputs, groups)
        if self._is_classifier():
            return self.classes_[out.argmax(axis=1)]
        return out[:, 0] * self.y_std_ + self.y_mean_

    def predict_proba_inputs(
        self, inputs: list[Any], groups: np.ndarray | None = None
    ) -> np.ndarray:
        return softmax(self.raw_outputs(inputs, groups))

    def predict(self, X: Any) -> np.ndarray:
        """Class labels or scores of the rows of ``X``, pooled per participant."""
        check_is_fitted(self, "net_")
        keys, groups, _ = self._keys(X, reset=False)
        return self.predict_inputs(self._load_rows(keys), groups)

    @available_if(_is_classifier)
    def predict_proba(self, X: Any) -> np.ndarray:
        """Class probabilities of the rows of ``X``, pooled per participant."""
        check_is_fitted(self, "net_")
        keys, groups, _ = self._keys(X, reset=False)
        return self.predict_proba_inputs(self._load_rows(keys), groups)

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

    def restore_state(self, attrs: dict[str, Any], arrays: dict[str, np.ndarray]) -> DeepModel:
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
