"""Recording the participant ids every fitted step, criterion and test set saw."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class FitRecord:
    """Participant ids one stage saw: ``stage`` is ``test`` (ids scored in the fold),
    ``criterion:<name>`` (ids the removal criterion was computed on; ``fold`` is -1 for the
    ``paper`` protocol, computed once on the cohort) or ``fit:<model>:<step>``."""

    subscale: str
    model: str
    protocol: str
    criterion: str
    fraction: float
    repeat: int
    fold: int
    stage: str
    ids: frozenset


class FitRecorder:
    """Receives a :class:`FitRecord` for every fitted step, criterion computation and test set."""

    def __init__(self) -> None:
        self.records: list[FitRecord] = []

    def frame(self) -> pd.DataFrame:
        """One row per record, columns the fields of :class:`FitRecord`."""
        return pd.DataFrame([r.__dict__ for r in self.records])


@dataclass(frozen=True)
class FitSetting:
    """Which fit of a fold a record belongs to (everything of :class:`FitRecord` but the
    subscale, the stage and the ids)."""

    model: str
    protocol: str
    criterion: str
    fraction: float
    repeat: int
    fold: int


@dataclass(frozen=True)
class StepCodes:
    """Participant codes (indices into the study's ``person_ids``) one step saw."""

    stage: str
    codes: np.ndarray


@dataclass(frozen=True)
class CodedRecord:
    """A :class:`FitRecord` as a worker makes it: codes, resolved to ids in the parent."""

    setting: FitSetting
    step: StepCodes

    def resolve(self, subscale: str, person_ids: np.ndarray) -> FitRecord:
        """The record with participant ids in place of codes."""
        s = self.setting
        ids = frozenset(person_ids[np.asarray(self.step.codes, dtype=np.int64)])
        return FitRecord(
            subscale,
            s.model,
            s.protocol,
            s.criterion,
            s.fraction,
            s.repeat,
            s.fold,
            self.step.stage,
            ids,
        )
