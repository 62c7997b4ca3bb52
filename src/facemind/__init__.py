"""facemind: facial videos and questionnaires into validated mental-health models, with the SDI.

``import facemind as fm`` gives the Python API of :mod:`facemind.api`: :func:`load_instrument`,
:func:`score`, :func:`compute_sdi`, :func:`extract`, :func:`features`, :func:`sweep`,
:func:`train`, :func:`load_model`, :func:`explain` and :func:`report`. They are loaded on first use, so importing
the package loads neither the face models nor the machine-learning libraries. The modules
behind ``features`` and ``report`` are :mod:`facemind.functionals` and
:mod:`facemind.reporting`, so each name means one thing.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

#: The API's names (:mod:`facemind.api`).
__all__ = [
    "load_instrument",
    "score",
    "compute_sdi",
    "extract",
    "features",
    "sweep",
    "train",
    "load_model",
    "explain",
    "report",
]


def __getattr__(name: str) -> Any:
    if name in __all__:
        return getattr(importlib.import_module(f"{__name__}.api"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
