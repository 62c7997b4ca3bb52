"""facemind: facial videos and questionnaires into validated mental-health models, with the SDI.

``import facemind as fm`` gives the Python API of :mod:`facemind.api`: :func:`load_instrument`,
:func:`score`, :func:`compute_sdi`, :func:`extract`, :func:`features`, :func:`sweep`,
:func:`train`, :func:`load_model` and :func:`report`. They are loaded on first use, so importing
the package loads neither the face models nor the machine-learning libraries.

``facemind.features`` and ``facemind.report`` are also modules; they are callable, and calling
them runs the API function of the same name.
"""

from __future__ import annotations

import importlib
import sys
import types
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
    "report",
]

_CALLABLE_MODULES = ("features", "report")


class _CallableModule(types.ModuleType):
    """A submodule that shares its name with an API function, and runs it when called."""

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        api = importlib.import_module(f"{__name__}.api")
        return getattr(api, self.__name__.rpartition(".")[2])(*args, **kwargs)


class _Package(types.ModuleType):
    """The package: submodules named like an API function become callable when imported."""

    def __setattr__(self, name: str, value: Any) -> None:
        if name in _CALLABLE_MODULES and type(value) is types.ModuleType:
            value.__class__ = _CallableModule
        super().__setattr__(name, value)


def __getattr__(name: str) -> Any:
    if name in _CALLABLE_MODULES:
        return importlib.import_module(f"{__name__}.{name}")
    if name in __all__:
        return getattr(importlib.import_module(f"{__name__}.api"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})


sys.modules[__name__].__class__ = _Package
