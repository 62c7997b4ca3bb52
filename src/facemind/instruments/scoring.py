"""Scoring: raw sums after reverse keying, scored totals (x multiplier) and severity bands."""

from __future__ import annotations

import os
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..errors import check_choice
from ..io import read_table
from .responses import MISSING_POLICIES, MissingPolicy, Responses, validate_responses
from .spec import Instrument, load_instrument


@dataclass
class ScoreReport:
    """What scoring left out or prorated, per subscale."""

    n: int
    dropped: dict[str, int] = field(default_factory=dict)
    prorated: dict[str, int] = field(default_factory=dict)

    def lines(self) -> list[str]:
        out = []
        for sub, count in self.dropped.items():
            if count:
                out.append(f"{sub}: {count} of {self.n} respondents left out (missing answers)")
        for sub, count in self.prorated.items():
            if count:
                out.append(f"{sub}: {count} of {self.n} respondents prorated")
        return out


def integral_series(values: np.ndarray) -> pd.Series:
    """Integer column when every value is whole (nullable Int64 if some are missing), else float."""
    values = np.asarray(values, dtype=float)
    finite = values[~np.isnan(values)]
    if finite.size == values.size and np.all(np.mod(finite, 1) == 0):
        return pd.Series(values.astype("int64"))
    if np.all(np.mod(finite, 1) == 0):
        return pd.Series(pd.array(np.where(np.isnan(values), None, values), dtype="Int64"))
    return pd.Series(values)


def score_responses(
    responses: Responses, *, missing: MissingPolicy = "error"
) -> tuple[pd.DataFrame, ScoreReport]:
    """Score validated responses: id, then per subscale ``<sub>``, ``<sub>_raw``, ``<sub>_band``."""
    check_choice("missing", missing, MISSING_POLICIES)
    inst = responses.instrument
    out = pd.DataFrame({responses.id_column: responses.ids})
    report = ScoreReport(n=len(out))
    for sub in inst.subscales.values():
        keyed = responses.keyed(sub)
        n_missing = np.isnan(keyed).sum(axis=1)
        if missing == "error" and n_missing.any():
            raise responses.missing_error(sub, "use `missing='drop'` or `missing='prorate'`")
        raw = np.nansum(keyed, axis=1)
        prorated = np.zeros(len(raw), dtype=bool)
        if missing == "prorate":
            prorated = (n_missing > 0) & (n_missing <= sub.max_missing)
            answered = len(sub.items) - n_missing
            with np.errstate(invalid="ignore", divide="ignore"):
                raw = np.where(prorated, raw / answered * len(sub.items), raw)
            left_out = n_missing > sub.max_missing
        else:
            left_out = n_missing > 0
        raw = np.where(left_out, np.nan, raw)
        scored = raw * sub.multiplier
        out[sub.name] = integral_series(scored)
        out[f"{sub.name}_raw"] = integral_series(raw)
        if sub.bands:
            out[f"{sub.name}_band"] = sub.band_of(scored)
        report.dropped[sub.name] = int(left_out.sum())
        report.prorated[sub.name] = int(prorated.sum())
    return out, report


def score(
    df: pd.DataFrame | str | os.PathLike[str],
    instrument: str | Instrument,
    *,
    id_column: str = "participant_id",
    missing: MissingPolicy = "error",
    source: str = "responses",
    encoding: str | None = None,
) -> pd.DataFrame:
    """Validate and score a responses table (or file, read by :func:`facemind.io.read_table`
    with ``encoding``); see :func:`score_responses` for the columns. ``.attrs["notes"]`` holds
    :meth:`ScoreReport.lines`: the respondents each subscale left out or prorated."""
    inst = load_instrument(instrument)
    if isinstance(df, str | os.PathLike):
        source = str(df)
        df = read_table(df, id_columns=(id_column,), encoding=encoding)
    table, report = score_responses(
        validate_responses(df, inst, id_column=id_column, source=source), missing=missing
    )
    table.attrs["notes"] = report.lines()
    return table
