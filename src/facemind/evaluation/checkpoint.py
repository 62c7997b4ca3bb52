"""Sweep checkpoints: each finished unit's rows (and predictions), kept until the results are
written, in a folder named by a fingerprint of the data and the settings; where that folder
is, and its removal once the results are written (:func:`kept_until_saved`)."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..io import write_table
from ..study import Study
from .config import SweepConfig
from .metrics import result_columns
from .units import UnitKey


def fingerprint(cfg: SweepConfig, study: Study, groups: np.ndarray | None = None) -> str:
    """Digest of the data (the ``cv_groups`` codes included) and of every setting that changes
    results (not jobs or run_folds)."""
    import hashlib

    h = hashlib.sha256()
    settings = {k: v for k, v in cfg.__dict__.items() if k not in ("jobs", "run_folds")}
    h.update(json.dumps(settings, sort_keys=True, default=list).encode())
    h.update("\x1f".join(map(str, study.person_ids)).encode())
    h.update("\x1f".join(study.feature_names).encode())
    h.update(np.ascontiguousarray(study.row_person).tobytes())
    h.update(np.ascontiguousarray(study.X).tobytes())
    if groups is not None:
        h.update(np.ascontiguousarray(groups).tobytes())
    for name in sorted(study.items):
        h.update(name.encode())
        h.update(np.ascontiguousarray(study.items[name]).tobytes())
        h.update(np.ascontiguousarray(study.scored[name]).tobytes())
    return h.hexdigest()[:16]


@dataclass(frozen=True)
class Checkpoint:
    """A folder of finished units' rows, named by the fingerprint of data and settings."""

    folder: Path
    tag: str
    task: str

    def load(self, keys: Sequence[UnitKey]) -> dict[UnitKey, list[dict[str, Any]]]:
        """The rows of every unit of ``keys`` already in the folder."""
        finished = {}
        for key in keys:
            path = self.folder / key.part_name(self.tag)
            if path.exists():
                finished[key] = pd.read_parquet(path).to_dict("records")
        return finished

    def save(self, key: UnitKey, rows: list[dict[str, Any]]) -> None:
        """Write one finished unit's rows."""
        frame = pd.DataFrame(rows, columns=result_columns(self.task))
        write_table(frame, self.folder / key.part_name(self.tag))

    def load_predictions(self, keys: Sequence[UnitKey]) -> dict[UnitKey, pd.DataFrame]:
        """The predictions of every unit of ``keys`` already in the folder."""
        paths = {key: self.folder / f"p-{key.part_name(self.tag)}" for key in keys}
        return {key: pd.read_parquet(path) for key, path in paths.items() if path.exists()}

    def save_predictions(self, key: UnitKey, table: pd.DataFrame) -> None:
        """Write one finished unit's predictions (before its rows: a unit with rows has both)."""
        write_table(table, self.folder / f"p-{key.part_name(self.tag)}")


def checkpoint_path(results: str | Path) -> Path:
    """The folder that keeps a sweep's finished units until ``results`` is written."""
    p = Path(results)
    return p.with_name(f".{p.name}.parts")


@contextmanager
def kept_until_saved(
    results: str | Path | None, folder: str | Path | None = None
) -> Iterator[Path | None]:
    """The checkpoint folder of a sweep whose results go to ``results``: ``folder`` when given,
    else :func:`checkpoint_path` of ``results`` (None when neither is given).

    When the block ends without an error (the results are written), the folder beside
    ``results`` is removed; a sweep interrupted before leaves it for a rerun to resume from.
    A ``folder`` given without ``results`` is kept.
    """
    if results is None:
        yield None if folder is None else Path(folder)
        return
    yield checkpoint_path(results) if folder is None else Path(folder)
    shutil.rmtree(checkpoint_path(results), ignore_errors=True)
