"""The study: features joined to validated, scored responses, ready for modelling."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from . import labels
from .errors import InputError
from .instruments import Instrument, load_instrument, score_responses, validate_responses

ID_LIKE_COLUMNS: tuple[str, ...] = ("participant_id", "video_id")


@dataclass
class Study:
    """Features and responses of the participants present in both, ready for modelling.

    Rows of ``X`` are feature rows (videos or participants); ``row_person`` maps each to its
    participant (index into ``person_ids``). Per subscale: the keyed item block, the raw
    total (the SDI grouping) and the scored total of every participant.
    """

    X: np.ndarray
    feature_names: list[str]
    row_person: np.ndarray
    person_ids: np.ndarray
    items: dict[str, np.ndarray]
    raw: dict[str, np.ndarray]
    scored: dict[str, np.ndarray]
    instrument: Instrument
    notes: list[str] = field(default_factory=list)

    @property
    def n_people(self) -> int:
        return len(self.person_ids)


def _normalize_ids(values: pd.Series) -> pd.Series:
    return values.astype("string").str.strip()


def prepare_study(
    features: pd.DataFrame,
    responses: pd.DataFrame,
    instrument: str | Instrument,
    *,
    subscales: Sequence[str] | None = None,
    id_column: str = "participant_id",
    features_name: str = "features",
    responses_name: str = "responses",
) -> Study:
    """Validate and score responses, join them to the feature rows, and pick feature columns.

    Feature columns are the numeric (non-boolean) columns of ``features`` other than ids;
    other columns are listed in ``notes``. Participants missing an answer on a chosen subscale,
    or present on one side only, are left out and counted in ``notes``.
    """
    inst = load_instrument(instrument)
    subs = list(subscales) if subscales is not None else list(inst.subscales)
    validated = validate_responses(responses, inst, id_column=id_column, source=responses_name)
    scored, _ = score_responses(validated, missing="drop")
    notes: list[str] = []
    complete = np.ones(len(scored), dtype=bool)
    for s in subs:
        miss = scored[s].isna().to_numpy()
        if miss.any():
            notes.append(f"{int(miss.sum())} respondent(s) left out: missing answers on {s}")
        complete &= ~miss
    resp_ids = _normalize_ids(validated.ids)
    ids_frame = pd.DataFrame({id_column: resp_ids[complete].to_numpy()})
    if id_column not in features.columns:
        raise InputError("missing id column", file=features_name, column=id_column)
    joined = labels.join_features_responses(
        features, ids_frame, id_column=id_column, features_name=features_name,
        responses_name=responses_name,
    )  # fmt: skip
    if joined.unmatched_features:
        notes.append(
            f"{len(joined.unmatched_features)} participant(s) with features but no complete "
            f"responses left out (e.g. {joined.unmatched_features[0]})"
        )
    if joined.unmatched_responses:
        notes.append(
            f"{len(joined.unmatched_responses)} participant(s) with responses but no features "
            f"left out (e.g. {joined.unmatched_responses[0]})"
        )
    data = joined.data
    if len(data) == 0:
        raise InputError(
            f"no participant id in common between features and responses (column {id_column!r})",
            file=features_name,
        )
    exclude = {id_column, *ID_LIKE_COLUMNS}
    feature_names: list[str] = []
    skipped: list[str] = []
    for col in features.columns:
        if col in exclude:
            continue
        dtype = features[col].dtype
        if pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_bool_dtype(dtype):
            feature_names.append(str(col))
        else:
            skipped.append(str(col))
    if skipped:
        notes.append(
            f"{len(skipped)} non-numeric column(s) not used as features: {', '.join(skipped[:6])}"
        )
    if not feature_names:
        raise InputError("no numeric feature columns", file=features_name)
    X = data[feature_names].to_numpy(dtype=np.float64, na_value=np.nan)
    inf = ~np.isfinite(X) & ~np.isnan(X)
    if inf.any():
        notes.append(f"{int(inf.sum())} infinite feature value(s) treated as missing")
        X[inf] = np.nan
    all_nan = np.isnan(X).all(axis=0)
    if all_nan.any():
        notes.append(f"{int(all_nan.sum())} feature column(s) empty in every row, not used")
        X = X[:, ~all_nan]
        feature_names = [n for n, e in zip(feature_names, all_nan, strict=True) if not e]
    person_codes, person_ids = pd.factorize(data[id_column].to_numpy(), sort=True)
    pos = pd.Index(resp_ids.to_numpy()).get_indexer(person_ids)
    items = {s: np.asarray(validated.keyed(inst.subscales[s]), dtype=float)[pos] for s in subs}
    raw = {s: items[s].sum(axis=1) for s in subs}
    scored_totals = {s: scored[s].to_numpy(dtype=float, na_value=np.nan)[pos] for s in subs}
    return Study(
        X=X,
        feature_names=feature_names,
        row_person=person_codes.astype(np.int64),
        person_ids=np.asarray(person_ids, dtype=object),
        items=items,
        raw=raw,
        scored=scored_totals,
        instrument=inst,
        notes=notes,
    )
