"""Recording the participant ids every fitted step, criterion and test set saw."""

from __future__ import annotations

from dataclasses import dataclass

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
        return pd.DataFrame([r.__dict__ for r in self.records])
