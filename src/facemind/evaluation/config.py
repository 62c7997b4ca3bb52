"""What a sweep runs: :class:`SweepConfig`, its validation against an instrument, its size."""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal, get_args

import numpy as np

from ..errors import FacemindError, ParameterError
from ..instruments import Instrument
from ..models import BALANCE_METHODS, canonical_model, check_model, get_model

Task = Literal["binary", "3class", "bands", "regression"]
Protocol = Literal["paper", "train-only"]
Criterion = Literal["sdi", "random", "mahalanobis", "irv", "longstring", "guttman"]
Balance = Literal["downsample", "weights", "none"]

PROTOCOLS: tuple[str, ...] = get_args(Protocol)
CRITERIA: tuple[str, ...] = get_args(Criterion)
DEFAULT_CRITERIA: tuple[str, ...] = ("sdi", "random")
DEFAULT_FRACTIONS: tuple[float, ...] = (0.0, 0.05, 0.1, 0.2, 0.3, 0.4, 0.5)
DEFAULT_MODELS: tuple[str, ...] = ("logreg", "svm", "rf", "gbt")
DEFAULT_REGRESSION_MODELS: tuple[str, ...] = ("ridge", "svm", "rf", "gbt")
SWEEP_TASKS: tuple[str, ...] = get_args(Task)


def stable_seed(*keys: Any) -> int:
    """A 32-bit seed from a tuple of keys, stable across processes and Python runs."""
    ints = [zlib.crc32(str(k).encode("utf-8")) for k in keys]
    return int(np.random.SeedSequence(ints).generate_state(1)[0])


@dataclass(frozen=True)
class SweepConfig:
    """What to sweep. ``subscales=None`` means every subscale of the instrument, ``models=None``
    the default models of the task (``ridge`` replaces ``logreg`` for regression).

    Sequences are kept as tuples. :meth:`validate` checks the settings against an instrument
    and returns the :class:`SweepPlan` the runner takes.
    """

    subscales: Sequence[str] | None = None
    task: Task = "binary"
    positive_band: str = "mild"
    models: Sequence[str] | None = None
    fractions: Sequence[float] = DEFAULT_FRACTIONS
    protocols: Sequence[Protocol] = PROTOCOLS
    criteria: Sequence[Criterion] = DEFAULT_CRITERIA
    folds: int = 5
    repeats: int = 1
    seed: int = 0
    jobs: int = 1
    balance: Balance = "downsample"
    grid_search: bool = False
    inner_folds: int = 3
    refit_preprocessing: bool = False
    #: Run only these fold indices (0-based) of every repeat: to split one sweep across
    #: machines (concatenate the fold tables, then :func:`summarize`) or to time a part of it.
    run_folds: Sequence[int] | None = None
    id_column: str = "participant_id"
    #: Extraction directory the deep models (``sequence``, ``frames-cnn``) load their inputs
    #: from; their feature table is then :func:`facemind.models.deep.input_table`.
    frames: str | None = None
    #: Groups within which respondents are compared and removed: ``total`` (same raw total,
    #: the paper's) or ``band`` (same severity band, for small cohorts), as in the SDI.
    group_by: str = "total"
    #: Keep every fit's out-of-fold predictions (:attr:`SweepResult.predictions`).
    save_predictions: bool = False
    #: Learning curves: shares of every training fold (nested stratified subsamples, each
    #: tested on the whole test fold) fitted besides the full fold, without removal.
    train_sizes: Sequence[float] | None = None
    #: A responses column (sites, schools) whose values never fall on both sides of a split.
    cv_groups: str | None = None

    def __post_init__(self) -> None:
        names = (
            "subscales",
            "models",
            "fractions",
            "protocols",
            "criteria",
            "run_folds",
            "train_sizes",
        )
        for name in names:
            value = getattr(self, name)
            if value is not None and not isinstance(value, str | tuple):
                object.__setattr__(self, name, tuple(value))
        if self.models is not None and not isinstance(self.models, str):
            object.__setattr__(self, "models", tuple(canonical_model(m) for m in self.models))

    def resolved_models(self) -> list[str]:
        """The models to fit: ``models``, or the task's defaults."""
        if self.models is not None:
            return list(self.models)
        return list(DEFAULT_REGRESSION_MODELS if self.task == "regression" else DEFAULT_MODELS)

    def validate(self, inst: Instrument) -> SweepPlan:
        """Check the settings against ``inst`` (one-line errors, before any work starts) and
        return the resolved plan."""
        if self.task not in SWEEP_TASKS:
            raise FacemindError(
                f"unknown task {self.task!r}; choose one of {', '.join(SWEEP_TASKS)}"
            )
        subs = [inst.subscale_name(s) for s in self.resolved_subscales(inst)]
        if not subs:
            raise FacemindError("no subscales chosen")
        for s in subs:
            if s not in inst.subscales:
                raise FacemindError(
                    f"unknown subscale {s!r} for {inst.id}; choose from {', '.join(inst.subscales)}"
                )
            if self.task != "regression":
                bands = [b.label for b in inst.subscales[s].bands]
                if not bands:
                    raise FacemindError(
                        f"subscale {s!r} has no severity bands; use `task='regression'`"
                    )
                if self.task == "binary" and self.positive_band not in bands[1:]:
                    raise FacemindError(
                        f"`positive_band` {self.positive_band!r} is not a band above the lowest "
                        f"of {s!r}; choose from {', '.join(bands[1:])}"
                    )
        models = self.resolved_models()
        if not models:
            raise FacemindError("no models chosen")
        for m in models:
            check_model(m, self.task)
        _check_model_inputs(models, self.frames)
        for name, values, allowed in (
            ("protocol", self.protocols, PROTOCOLS),
            ("criterion", self.criteria, CRITERIA),
        ):
            if not values:
                raise FacemindError(f"no {name} chosen")
            for v in values:
                if v not in allowed:
                    raise FacemindError(f"unknown {name} {v!r}; choose from {', '.join(allowed)}")
        if not self.fractions:
            raise FacemindError("no removal fractions chosen")
        for f in self.fractions:
            if not 0.0 <= float(f) < 1.0:
                raise FacemindError(f"removal fraction must be in [0, 1), got {f}")
        if self.group_by not in GROUP_BY:
            raise ParameterError(
                f"`group_by` must be one of {', '.join(GROUP_BY)}, got {self.group_by!r}"
            )
        if self.folds < 2:
            raise ParameterError(f"`folds` must be at least 2, got {self.folds}")
        if self.repeats < 1:
            raise ParameterError(f"`repeats` must be at least 1, got {self.repeats}")
        if self.jobs == 0 or self.jobs < -1:
            raise ParameterError(
                f"`jobs` must be a positive number of processes or -1, got {self.jobs}"
            )
        if self.balance not in BALANCE_METHODS:
            raise FacemindError(
                f"unknown balance {self.balance!r}; choose one of {', '.join(BALANCE_METHODS)}"
            )
        if self.run_folds is not None:
            bad = [k for k in self.run_folds if not 0 <= int(k) < self.folds]
            if bad or not self.run_folds:
                raise FacemindError(f"run_folds must be fold indices 0-{self.folds - 1}, got {bad}")
        if self.grid_search and self.inner_folds < 2:
            raise FacemindError("inner grid search needs at least 2 inner folds")
        sizes = self.resolved_train_sizes()
        if any(not 0.0 < s <= 1.0 for s in sizes):
            raise ParameterError(f"`train_sizes` must be shares in (0, 1], got {list(sizes)}")
        if len(sizes) > 1 and 0.0 not in {float(f) for f in self.fractions}:
            raise ParameterError("`train_sizes` are fitted without removal: add 0 to `fractions`")
        if self.cv_groups is not None and not str(self.cv_groups).strip():
            raise ParameterError("`cv_groups` must name a responses column")
        fold_ids = sorted({int(k) for k in self.run_folds}) if self.run_folds else None
        return SweepPlan(
            config=self,
            instrument=inst,
            subscales=tuple(subs),
            models=tuple(models),
            fractions=tuple(sorted({float(f) for f in self.fractions})),
            fold_ids=tuple(fold_ids if fold_ids is not None else range(self.folds)),
            train_sizes=sizes,
        )

    def resolved_train_sizes(self) -> tuple[float, ...]:
        """Training shares fitted per fold, ascending; the full fold (1) is always fitted."""
        return tuple(sorted({1.0, *(float(s) for s in self.train_sizes or ())}))

    def resolved_subscales(self, inst: Instrument) -> list[str]:
        """The subscales to sweep: ``subscales``, or every subscale of ``inst``."""
        return list(self.subscales) if self.subscales is not None else list(inst.subscales)


def _check_model_inputs(models: Sequence[str], frames: str | None) -> None:
    """Deep models need ``frames``; feature models and deep models take different tables."""
    deep = [m for m in models if get_model(m).input != "features"]
    if deep and frames is None:
        raise ParameterError(f"model {deep[0]!r} needs an extraction directory: pass `frames`")
    if deep and len(deep) < len(models):
        other = next(m for m in models if m not in deep)
        raise FacemindError(
            f"models {deep[0]!r} (on `frames`) and {other!r} (on `features`) take different "
            "inputs; sweep them in separate runs"
        )


#: Ways to group respondents for the SDI criterion and removal within groups.
GROUP_BY = ("total", "band")


@dataclass(frozen=True)
class SweepPlan:
    """A :class:`SweepConfig` validated against its instrument, with every default resolved:
    made by :meth:`SweepConfig.validate` only."""

    config: SweepConfig
    instrument: Instrument
    subscales: tuple[str, ...]
    models: tuple[str, ...]
    #: Distinct removal fractions, ascending.
    fractions: tuple[float, ...]
    #: Fold indices run in every repeat (``config.run_folds``, or all of them).
    fold_ids: tuple[int, ...]
    #: Training shares of every fold, ascending, ending with 1 (the full training fold).
    train_sizes: tuple[float, ...] = (1.0,)

    @property
    def n_fits(self) -> int:
        """Number of model fits the sweep will make (see :func:`plan_size`)."""
        return plan_size(self.config, self.instrument)

    def deep_inputs(self) -> tuple[Any, str, list[str]]:
        """The deep models' input table read from ``config.frames`` (crops too when a model
        takes them), its name, and the note on the videos left out."""
        from ..models import get_model
        from ..models.inputs import input_table

        crops = any(get_model(m).input == "crops" for m in self.models)
        inputs = input_table(self.config.frames, crops=crops)
        return inputs.table, str(self.config.frames), [inputs.summary()]


def plan_size(config: SweepConfig, inst: Instrument) -> int:
    """Number of model fits the sweep will make (fraction 0 once per model, fold and training
    size)."""
    subs = len(config.resolved_subscales(inst))
    fractions = {float(f) for f in config.fractions}
    sizes = len(config.resolved_train_sizes())
    per_fold = (sizes if 0.0 in fractions else 0) + len(fractions - {0.0}) * len(
        config.protocols
    ) * len(config.criteria)
    return subs * len(config.resolved_models()) * config.repeats * config.folds * per_fold
