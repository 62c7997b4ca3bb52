"""The study: features joined to validated, scored responses, ready for modelling."""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from . import labels
from .errors import InputError
from .instruments import Instrument, load_instrument, score_responses, validate_responses

ID_LIKE_COLUMNS: tuple[str, ...] = ("participant_id", "video_id")


def read_study_table(
    path: str | os.PathLike[str],
    id_columns: Sequence[str] = ID_LIKE_COLUMNS,
    encoding: str | None = None,
) -> pd.DataFrame:
    """Read a responses or features table with its id columns as text.

    Ids are labels, not numbers: ``001`` stays ``001`` and is never the same participant
    as ``1``. Every study command reads its tables here.
    """
    from .io import read_table

    return read_table(path, id_columns=tuple(id_columns), encoding=encoding)


def study_table(
    data: pd.DataFrame | str | os.PathLike[str],
    id_column: str = "participant_id",
    encoding: str | None = None,
) -> tuple[pd.DataFrame, str]:
    """``data`` as a DataFrame (a file read by :func:`read_study_table`, CSV text in
    ``encoding`` or detected) and the name its errors give it."""
    if isinstance(data, pd.DataFrame):
        return data, "the table"
    return read_study_table(data, (id_column, "video_id"), encoding), str(data)


# Ways two id spellings of one participant can differ, as (name, canonical form).
_ID_DIFFERENCES: tuple[tuple[str, Callable[[str], str]], ...] = (
    ("zero-padding", lambda s: re.sub(r"(?<!\d)0+(?=\d)", "", s)),
    ("letter case", str.casefold),
    ("whitespace", lambda s: re.sub(r"\s+", "", s)),
    ("punctuation", lambda s: re.sub(r"[-_.]", "", s)),
)


def _strip_prefix(ids: list[str]) -> tuple[str, list[str]]:
    """The prefix every id shares (letters and separators only) and the ids without it."""
    head = os.path.commonprefix(ids) if len(ids) > 1 else ""
    head = re.match(r"[^\d]*", head).group(0) if head else ""
    return head, [i[len(head) :] for i in ids]


def describe_id_mismatch(features_ids: Sequence[str], responses_ids: Sequence[str]) -> str:
    """Say how the ids of the two tables differ: an example from each side, and the
    difference (padding, case, whitespace, a prefix) under which more of them would match.

    The join itself stays exact: this only explains it.
    """
    f = sorted({str(i) for i in features_ids})
    r = sorted({str(i) for i in responses_ids})
    common = set(f) & set(r)
    f_only = [i for i in f if i not in common] or f
    r_only = [i for i in r if i not in common] or r
    example = f"e.g. {f_only[0]!r} in features, {r_only[0]!r} in responses"
    if not f or not r:
        return example
    fp, f_rest = _strip_prefix(f)
    rp, r_rest = _strip_prefix(r)
    candidates: list[tuple[str, list[str], list[str]]] = [
        (name, [canon(i) for i in f], [canon(i) for i in r]) for name, canon in _ID_DIFFERENCES
    ]
    if fp != rp:
        prefix = f"a prefix ({fp!r} vs {rp!r})"
        candidates.append((prefix, f_rest, r_rest))
        candidates += [
            (f"{prefix} and {name}", [canon(i) for i in f_rest], [canon(i) for i in r_rest])
            for name, canon in _ID_DIFFERENCES
        ]
    best: tuple[int, str, str, str] | None = None
    for name, fc, rc in candidates:
        n = len(set(fc) & set(rc))
        if n > len(common) and (best is None or n > best[0]):
            by_canon = dict(zip(rc, r, strict=True))
            pair = next(
                (
                    (o, by_canon[c])
                    for c, o in zip(fc, f, strict=True)
                    if c in by_canon and o != by_canon[c]
                ),
                None,
            )
            if pair is not None:
                best = (n, name, *pair)
    if best is None:
        return example
    n, name, a, b = best
    return (
        f"ids differ in {name}: {a!r} in features vs {b!r} in responses ({n} would match "
        "without it); ids are joined as exact text: write them the same way in both files"
    )


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
    resp_ids = labels.normalize_ids(validated.ids)
    ids_frame = pd.DataFrame({id_column: resp_ids[complete].to_numpy()})
    if id_column not in features.columns:
        raise InputError("missing id column", file=features_name, column=id_column)
    joined = labels.join_features_responses(
        features,
        ids_frame,
        id_column=id_column,
        features_name=features_name,
        responses_name=responses_name,
    )
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
    f_ids = labels.normalize_ids(features[id_column]).dropna().unique()
    r_ids = ids_frame[id_column].dropna().unique()
    if len(data) == 0:
        raise InputError(
            f"no participant id in common between features and responses (column "
            f"{id_column!r}): {describe_id_mismatch(f_ids, r_ids)}",
            file=features_name,
        )
    n_common = len(set(f_ids) & set(r_ids))
    if n_common < min(len(f_ids), len(r_ids)) / 2:
        notes.append(
            f"only {n_common} of {len(f_ids)} feature ids and {len(r_ids)} response ids in "
            f"common: {describe_id_mismatch(f_ids, r_ids)}"
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


def fit_data_problem(
    y: np.ndarray,
    groups: np.ndarray,
    *,
    task: str,
    grid_search: bool = False,
    inner_folds: int = 3,
) -> tuple[str, str] | None:
    """Why a model cannot be fitted on these training rows, or None when it can.

    Returns ``(what is too small, kind)`` with kind ``constant`` (regression target),
    ``one_class`` or ``inner`` (too few participants for the inner grid search), so that
    callers name the setting to change. ``groups`` holds each row's participant.
    """
    y = np.asarray(y)
    groups = np.asarray(groups)
    values = np.unique(y)
    if task == "regression":
        if len(values) < 2:
            return f"the target is constant ({len(y)} row(s), all {values[0]:g})", "constant"
        people = len(np.unique(groups))
        if grid_search and people < inner_folds:
            return (
                f"{people} participant(s), fewer than the {inner_folds} inner folds of the "
                "grid search",
                "inner",
            )
        return None
    if len(values) < 2:
        which = f"class {values[0]}" if len(values) else "no rows"
        return f"only one class ({len(y)} row(s), {which})", "one_class"
    if grid_search:
        for c in values:
            people = len(np.unique(groups[y == c]))
            if people < inner_folds:
                return (
                    f"class {c} has {people} participant(s), fewer than the {inner_folds} "
                    "inner folds of the grid search",
                    "inner",
                )
    return None
