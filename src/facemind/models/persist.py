"""Model directories: a fitted model with its settings and metadata, without pickle.

Layout of ``MODEL_DIR``::

    model.json            format, metadata (task, instrument, subscale, input schema,
                          versions, training summary) and the estimator's description
    weights.safetensors   every array of the fitted estimator (safetensors, no code)

Classical models (scikit-learn pipelines) are stored as a tree of their fitted attributes:
each estimator is ``{"__estimator__": "<module>.<class>", "state": {...}}`` with its
``__dict__`` encoded as JSON, numeric arrays by reference into the safetensors file
(``{"__array__": key}``), string arrays as JSON lists, decision trees through their own
state (node array as bytes plus its dtype), XGBoost boosters in XGBoost's own UBJSON model
format (as bytes). Loading rebuilds the objects without running stored code: classes are
looked up only in an allow-list of modules (scikit-learn, XGBoost, facemind) and must be
scikit-learn estimators. Because fitted attributes are private to a scikit-learn version,
a classical model is refused when scikit-learn's major.minor version differs.

Deep models store their constructor settings and fitted attributes in ``model.json`` and the
network weights and normalization statistics in ``weights.safetensors``.
"""

from __future__ import annotations

import importlib
import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import FacemindError

FORMAT = "facemind-model"
FORMAT_VERSION = 1
MODEL_JSON = "model.json"
WEIGHTS = "weights.safetensors"
_ALLOWED_MODULES = ("sklearn.", "xgboost.", "facemind.")


def _safetensors_numpy() -> Any:
    try:
        from safetensors import numpy as stn
    except ImportError:
        raise FacemindError(
            "saving and loading models needs safetensors: pip install safetensors"
        ) from None
    return stn


# --------------------------------------------------------------------------------------------
# Encoding fitted scikit-learn objects
# --------------------------------------------------------------------------------------------


class _Encoder:
    def __init__(self) -> None:
        self.arrays: dict[str, np.ndarray] = {}

    def array(self, a: np.ndarray) -> dict[str, Any]:
        key = f"a{len(self.arrays)}"
        self.arrays[key] = np.ascontiguousarray(a)
        return {"__array__": key}

    def encode(self, obj: Any, where: str) -> Any:
        if obj is None or isinstance(obj, bool | str):
            return obj
        if isinstance(obj, int) and not isinstance(obj, bool):
            return obj
        if isinstance(obj, float):
            return obj if np.isfinite(obj) else {"__float__": repr(obj)}
        if isinstance(obj, np.generic):
            return {"__scalar__": obj.dtype.str, "value": self.encode(obj.item(), where)}
        if isinstance(obj, np.dtype):
            return {"__dtype__": np.lib.format.dtype_to_descr(obj)}
        if isinstance(obj, np.ndarray):
            if obj.dtype.fields is not None:
                return {
                    "__record_array__": self.array(obj.view(np.uint8).reshape(-1)),
                    "dtype": _descr_json(obj.dtype),
                    "shape": list(obj.shape),
                }
            if obj.dtype.kind in "biufc":
                return self.array(obj)
            if obj.dtype.kind in "OUS":
                items = obj.tolist()
                flat = obj.ravel().tolist()
                if all(isinstance(v, str) for v in flat):
                    return {"__str_array__": items, "dtype": obj.dtype.str}
            raise FacemindError(f"cannot store {where}: array of dtype {obj.dtype}")
        if isinstance(obj, tuple):
            return {"__tuple__": [self.encode(v, f"{where}[{i}]") for i, v in enumerate(obj)]}
        if isinstance(obj, list):
            return [self.encode(v, f"{where}[{i}]") for i, v in enumerate(obj)]
        if isinstance(obj, dict):
            if not all(isinstance(k, str) for k in obj):
                raise FacemindError(f"cannot store {where}: dictionary with non-text keys")
            return {"__dict__": {k: self.encode(v, f"{where}.{k}") for k, v in obj.items()}}
        cls = type(obj)
        path = f"{cls.__module__}.{cls.__qualname__}"
        if path == "sklearn.tree._tree.Tree":
            _, args, state = obj.__reduce__()
            return {"__tree__": self.encode(args, where), "state": self.encode(state, where)}
        if cls.__module__.startswith("xgboost.") and hasattr(obj, "get_booster"):
            raw = np.frombuffer(bytes(obj.get_booster().save_raw("ubj")), dtype=np.uint8)
            params = {k: v for k, v in obj.get_params(deep=False).items() if v is not None}
            return {
                "__xgboost__": path,
                "params": self.encode(params, f"{where}.params"),
                "model": self.array(raw.copy()),
            }
        from sklearn.base import BaseEstimator

        if isinstance(obj, BaseEstimator) and path.startswith(_ALLOWED_MODULES):
            state = obj.__getstate__() if hasattr(obj, "__getstate__") else obj.__dict__
            return {"__estimator__": path, "state": self.encode(state, f"{where}<{cls.__name__}>")}
        raise FacemindError(f"cannot store {where}: object of type {path}")


def _descr_json(dtype: np.dtype) -> dict[str, Any]:
    """A record dtype as names, formats, offsets and item size (padding included)."""
    names = list(dtype.names or ())
    return {
        "names": names,
        "formats": [dtype.fields[n][0].str for n in names],
        "offsets": [int(dtype.fields[n][1]) for n in names],
        "itemsize": int(dtype.itemsize),
    }


def _descr_dtype(descr: Any) -> np.dtype:
    if isinstance(descr, dict):
        return np.dtype(descr)
    return np.lib.format.descr_to_dtype(descr)


def _import_class(path: str) -> type:
    if not path.startswith(_ALLOWED_MODULES):
        raise FacemindError(f"model file names a class outside the allowed modules: {path}")
    module, _, name = path.rpartition(".")
    try:
        cls = getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError):
        raise FacemindError(f"model file names an unknown class: {path}") from None
    return cls


class _Decoder:
    def __init__(self, arrays: dict[str, np.ndarray]) -> None:
        self.arrays = arrays

    def decode(self, obj: Any) -> Any:
        if isinstance(obj, list):
            return [self.decode(v) for v in obj]
        if not isinstance(obj, dict):
            return obj
        if "__array__" in obj:
            return self.arrays[obj["__array__"]].copy()
        if "__float__" in obj:
            return float(obj["__float__"])
        if "__scalar__" in obj:
            return np.dtype(obj["__scalar__"]).type(self.decode(obj["value"]))
        if "__dtype__" in obj:
            d = obj["__dtype__"]
            return np.lib.format.descr_to_dtype(d if isinstance(d, str) else [tuple(f) for f in d])
        if "__record_array__" in obj:
            raw = self.decode(obj["__record_array__"])
            dtype = _descr_dtype(obj["dtype"])
            return raw.view(dtype).reshape(obj["shape"]).copy()
        if "__str_array__" in obj:
            dtype = np.dtype(obj["dtype"])
            return np.array(obj["__str_array__"], dtype=dtype)
        if "__tuple__" in obj:
            return tuple(self.decode(v) for v in obj["__tuple__"])
        if "__dict__" in obj:
            return {k: self.decode(v) for k, v in obj["__dict__"].items()}
        if "__tree__" in obj:
            from sklearn.tree._tree import Tree

            tree = Tree(*self.decode(obj["__tree__"]))
            tree.__setstate__(self.decode(obj["state"]))
            return tree
        if "__xgboost__" in obj:
            cls = _import_class(obj["__xgboost__"])
            est = cls(**self.decode(obj["params"]))
            est.load_model(bytearray(self.decode(obj["model"]).tobytes()))
            return est
        if "__estimator__" in obj:
            from sklearn.base import BaseEstimator

            cls = _import_class(obj["__estimator__"])
            if not (isinstance(cls, type) and issubclass(cls, BaseEstimator)):
                raise FacemindError(
                    f"model file names a non-estimator class: {obj['__estimator__']}"
                )
            est = cls.__new__(cls)
            state = self.decode(obj["state"])
            if hasattr(est, "__setstate__"):
                est.__setstate__(state)
            else:
                est.__dict__.update(state)
            return est
        raise FacemindError(f"model file: unknown entry {sorted(obj)[:3]}")


def encode_estimator(est: Any) -> tuple[Any, dict[str, np.ndarray]]:
    """(JSON description, arrays) of a fitted scikit-learn estimator; see the module docstring."""
    enc = _Encoder()
    return enc.encode(est, "estimator"), enc.arrays


def decode_estimator(desc: Any, arrays: dict[str, np.ndarray]) -> Any:
    """Inverse of :func:`encode_estimator`."""
    return _Decoder(arrays).decode(desc)


# --------------------------------------------------------------------------------------------
# Model directories
# --------------------------------------------------------------------------------------------


def save_model_dir(path: str | os.PathLike[str], estimator: Any, meta: dict[str, Any]) -> Path:
    """Write ``estimator`` (fitted) and ``meta`` to the directory ``path`` atomically.

    The directory is written beside ``path`` and renamed into place; an existing model there
    is replaced only once the new one is complete.
    """
    from .deep import DEEP_MODELS, DeepModel

    stn = _safetensors_numpy()
    if isinstance(estimator, DeepModel):
        attrs, arrays = estimator.fitted_state()
        params = estimator.get_params(deep=False)
        params.pop("frames", None)
        desc: dict[str, Any] = {
            "kind": "deep",
            "model": estimator.kind,
            "params": _Encoder().encode(params, "params"),
            "fitted": attrs,
        }
        assert estimator.kind in DEEP_MODELS
    else:
        enc, arrays = encode_estimator(estimator)
        desc = {"kind": "sklearn", "estimator": enc}
    doc = {"format": FORMAT, "format_version": FORMAT_VERSION, **meta, "estimator": desc}
    text = json.dumps(doc, indent=2, allow_nan=False) + "\n"
    target = Path(path)
    if target.exists() and not (target / MODEL_JSON).is_file():
        if not target.is_dir() or any(target.iterdir()):
            raise FacemindError(f"{target}: exists and is not a model directory; choose another -o")
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    try:
        stn.save_file(
            {k: np.ascontiguousarray(v) for k, v in arrays.items()},
            str(tmp / WEIGHTS),
            metadata={"format": FORMAT},
        )
        (tmp / MODEL_JSON).write_text(text, encoding="utf-8")
        if target.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{target.name}.old.", dir=target.parent))
            os.replace(target, old / "model")
            os.replace(tmp, target)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, target)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return target


def load_model_dir(path: str | os.PathLike[str]) -> tuple[Any, dict[str, Any]]:
    """(fitted estimator, metadata) from a model directory, with one-line errors."""
    from .deep import DEEP_MODELS, require_torch

    p = Path(path)
    doc_path = p / MODEL_JSON
    if not doc_path.is_file():
        raise FacemindError(f"{p}: not a model directory (no {MODEL_JSON})")
    try:
        doc = json.loads(doc_path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise FacemindError(f"{doc_path}: unreadable model file: {exc}") from None
    if doc.get("format") != FORMAT:
        raise FacemindError(f"{doc_path}: not a facemind model file")
    if doc.get("format_version") != FORMAT_VERSION:
        raise FacemindError(
            f"{doc_path}: model format version {doc.get('format_version')} is not supported "
            f"(this facemind reads version {FORMAT_VERSION})"
        )
    desc = doc["estimator"]
    if desc["kind"] == "deep":
        require_torch()
    stn = _safetensors_numpy()
    try:
        arrays = stn.load_file(str(p / WEIGHTS))
    except (OSError, ValueError, Exception) as exc:  # safetensors raises its own error type
        raise FacemindError(f"{p / WEIGHTS}: unreadable weights: {exc}") from None
    meta = {k: v for k, v in doc.items() if k != "estimator"}
    if desc["kind"] == "deep":
        cls = DEEP_MODELS.get(desc["model"])
        if cls is None:
            raise FacemindError(f"{doc_path}: unknown deep model {desc['model']!r}")
        params = _Decoder({}).decode(desc["params"])
        est = cls(**params)
        est.restore_state(desc["fitted"], arrays)
        return est, meta
    import sklearn

    saved = (meta.get("versions") or {}).get("scikit-learn", "")
    if saved.split(".")[:2] != sklearn.__version__.split(".")[:2]:
        raise FacemindError(
            f"{p}: model saved with scikit-learn {saved or 'unknown'}, this is "
            f"{sklearn.__version__}; retrain it with this version"
        )
    return decode_estimator(desc["estimator"], arrays), meta
