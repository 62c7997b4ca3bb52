"""Validation of questionnaire responses against an instrument spec.

Every problem is reported as one line naming the file, the row (1-based data row, the header
not counted), the column and the value at fault.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd

from ..errors import InputError
from ..io import LineMap, line_map
from .spec import Instrument, Subscale

MissingPolicy = Literal["error", "drop", "prorate"]
MISSING_POLICIES: tuple[str, ...] = ("error", "drop", "prorate")


@dataclass(frozen=True)
class Responses:
    """Validated responses: ids, canonical item columns (float, NaN = missing), source rows."""

    ids: pd.Series
    items: pd.DataFrame
    rows: np.ndarray
    source: str
    instrument: Instrument
    id_column: str
    lines: LineMap | None = None

    def at(self, row: int) -> dict[str, int | None]:
        """``row`` and, for a CSV, the file ``line`` of a 1-based data row (InputError keywords)."""
        return _at(self.lines)(row)

    def keyed(self, subscale: Subscale) -> np.ndarray:
        """The subscale's item values after reverse keying (``min + max - value``)."""
        block = self.items[list(subscale.items)].to_numpy(dtype=float, copy=True)
        if subscale.reverse:
            inst = self.instrument
            rev = [subscale.items.index(r) for r in subscale.reverse]
            block[:, rev] = inst.response_min + inst.response_max - block[:, rev]
        return block

    def missing_mask(self, subscale: Subscale) -> np.ndarray:
        """Rows with at least one missing item in the subscale."""
        return self.items[list(subscale.items)].isna().to_numpy().any(axis=1)

    def missing_error(self, subscale: Subscale, hint: str) -> InputError:
        """One-line error listing the first rows with missing answers in the subscale."""
        block = self.items[list(subscale.items)].isna().to_numpy()
        bad_rows = np.flatnonzero(block.any(axis=1))
        cells = []
        for r in bad_rows[:3]:
            col = subscale.items[int(np.argmax(block[r]))]
            line = self.lines.line(int(self.rows[r])) if self.lines is not None else None
            where = f"row {self.rows[r]}" + (f" (line {line})" if line is not None else "")
            cells.append(f"{where} column {col!r}")
        more = f" and {len(bad_rows) - 3} more" if len(bad_rows) > 3 else ""
        first = bad_rows[0]
        return InputError(
            f"{len(bad_rows)} respondent(s) miss answers on subscale {subscale.name!r} "
            f"({'; '.join(cells)}{more}); {hint}",
            file=self.source,
            **self.at(int(self.rows[first])),
            column=subscale.items[int(np.argmax(block[first]))],
        )


def _at(lines: LineMap | None) -> Callable[[int], dict[str, int | None]]:
    def at(row: int) -> dict[str, int | None]:
        return {"row": row, "line": lines.line(row) if lines is not None else None}

    return at


def _near(name: str, candidates: list[str]) -> str | None:
    """The candidate closest to ``name`` (case and separators ignored), if close enough."""
    key = {c.lower().replace("-", "_").replace(" ", "_"): c for c in candidates}
    hit = difflib.get_close_matches(name.lower(), list(key), n=1, cutoff=0.75)
    return key[hit[0]] if hit else None


def resolve_item_columns(
    columns: list[str], inst: Instrument, source: str, *, other: tuple[str, ...] = ()
) -> dict[str, str]:
    """Map each canonical item name to the column holding it (exact name, then aliases).

    A missing item is reported with the closest column that holds no item (``other`` names
    columns known to be something else, such as the id column).
    """
    present = set(columns)
    mapping: dict[str, str] = {}
    missing: list[str] = []
    for item in inst.items:
        candidates = [item] + [a for a in inst.aliases.get(item, ()) if a != item]
        found = [c for c in candidates if c in present]
        if len(found) > 1:
            raise InputError(
                f"item {item!r} appears under several columns {found}; keep one",
                file=source,
                column=found[1],
            )
        if found:
            mapping[item] = found[0]
        else:
            missing.append(item)
    if missing:
        shown = ", ".join(missing[:8]) + (
            f" and {len(missing) - 8} more" if len(missing) > 8 else ""
        )
        unmatched = [c for c in columns if c not in set(mapping.values()) | set(other)]
        hints = []
        for item in missing:
            near = _near(item, unmatched)
            if near is not None:
                unmatched.remove(near)
                hints.append(f"{near} for {item}")
        hint = f" (did you mean {', '.join(hints[:5])}?)" if hints else ""
        raise InputError(
            f"item column(s) missing for instrument {inst.id!r}: {shown}{hint}",
            file=source,
            column=missing[0],
        )
    return mapping


def _first_bad(mask: np.ndarray) -> int | None:
    hits = np.flatnonzero(mask)
    return int(hits[0]) if hits.size else None


#: Bad cells listed in the error beside the first one; the others are counted.
SHOWN_CELLS = 20


def _bad_cells(col: pd.Series, inst: Instrument) -> tuple[np.ndarray, list[tuple[int, str, Any]]]:
    """Numeric values of one item column and its bad cells: ``(row index, reason, value)``."""
    if pd.api.types.is_bool_dtype(col):
        return np.full(len(col), np.nan), [
            (0, "boolean item values are not allowed", bool(col.iloc[0]))
        ]
    bad: list[tuple[int, str, Any]] = []
    if pd.api.types.is_integer_dtype(col) and not col.hasnans:
        ints = col.to_numpy()
        if ints.min() >= inst.response_min and ints.max() <= inst.response_max:
            return ints.astype(float), []
        values = ints.astype(float)
    elif pd.api.types.is_numeric_dtype(col):
        values = col.to_numpy(dtype=float, na_value=np.nan)
    else:
        text = col.astype("string").str.strip()
        text = text.mask(text == "")
        values = pd.to_numeric(text, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
        bad += [
            (int(i), "non-numeric item value", str(text.iloc[i]))
            for i in np.flatnonzero(text.notna().to_numpy() & np.isnan(values))
        ]
    finite = ~np.isnan(values)
    checks = [
        (finite & ~np.isfinite(values), "item values must be finite"),
        (finite & np.isfinite(values) & (np.mod(values, 1) != 0), "item values must be integers"),
        (
            finite
            & np.isfinite(values)
            & (np.mod(values, 1) == 0)
            & ((values < inst.response_min) | (values > inst.response_max)),
            f"item value out of range {inst.response_min}-{inst.response_max}",
        ),
    ]
    for mask, reason in checks:
        bad += [(int(i), reason, _show(col.iloc[i])) for i in np.flatnonzero(mask)]
    return values, sorted(bad, key=lambda b: b[0])


def _shifted_hint(values: list[np.ndarray], inst: Instrument) -> str:
    """A hint when every answer lies one above the instrument's range (coded from 1, not 0)."""
    answered = np.concatenate([v[np.isfinite(v)] for v in values]) if values else np.empty(0)
    lo, hi = inst.response_min, inst.response_max
    if answered.size and answered.min() >= lo + 1 and answered.max() == hi + 1:
        return (
            f"; every answer lies in {lo + 1}-{hi + 1}, one above the instrument's {lo}-{hi}: "
            f"if the file codes answers from {lo + 1}, subtract 1 from every item"
        )
    return ""


def _cells_error(
    cells: list[tuple[int, int, str, str, Any]], at: Callable[[int], Any], source: str, hint: str
) -> InputError:
    """One error for every bad cell ``(row index, column order, column, reason, value)``:
    located at the first, listing the next ones up to :data:`SHOWN_CELLS`, counting the rest."""
    cells = sorted(cells, key=lambda c: (c[0], c[1]))
    row, _, column, reason, value = cells[0]
    message = reason
    if len(cells) > 1:
        shown = [
            f"row {r + 1} column {c!r} value {v!r} ({why})"
            for r, _, c, why, v in cells[1:SHOWN_CELLS]
        ]
        more = f" and {len(cells) - SHOWN_CELLS} more" if len(cells) > SHOWN_CELLS else ""
        message += f"; {len(cells)} bad item values in all, also {'; '.join(shown)}{more}"
    return InputError(message + hint, file=source, **at(row + 1), column=column, value=value)


def _show(value: object) -> object:
    if isinstance(value, float | np.floating) and float(value).is_integer():
        return int(value)
    if isinstance(value, np.generic):
        return value.item()
    return value


def validate_responses(
    df: pd.DataFrame,
    inst: Instrument,
    *,
    id_column: str = "participant_id",
    source: str = "responses",
) -> Responses:
    """Check ids and item values; return canonical float items with NaN for missing answers.

    Ids are kept as given (:func:`facemind.io.read_table` reads them as text). Errors name the
    data row and, for a table read from CSV by :func:`facemind.io.read_table`, its file line.
    """
    if len(df) == 0:
        raise InputError("no respondents (the table has a header but no rows)", file=source)
    lines = line_map(df)
    at = _at(lines)
    rows = np.arange(1, len(df) + 1)
    if id_column not in df.columns:
        near = _near(id_column, [str(c) for c in df.columns])
        hint = f"did you mean {near!r}? " if near is not None else ""
        raise InputError(
            f"id column not found ({hint}set it with `id_column`)", file=source, column=id_column
        )
    ids = df[id_column]
    blank = ids.isna().to_numpy(copy=True)
    if not pd.api.types.is_numeric_dtype(ids):
        blank |= (ids.astype("string").str.strip() == "").fillna(True).to_numpy()
    bad = _first_bad(blank)
    if bad is not None:
        raise InputError("missing participant id", file=source, **at(bad + 1), column=id_column)
    dup = ids.duplicated(keep="first").to_numpy()
    bad = _first_bad(dup)
    if bad is not None:
        first = int(np.flatnonzero((ids == ids.iloc[bad]).to_numpy())[0])
        raise InputError(
            f"duplicate participant id (first seen at row {rows[first]})",
            file=source,
            **at(bad + 1),
            column=id_column,
            value=_show(ids.iloc[bad]),
        )
    mapping = resolve_item_columns([str(c) for c in df.columns], inst, source, other=(id_column,))
    values: dict[str, np.ndarray] = {}
    cells: list[tuple[int, int, str, str, Any]] = []
    for order, (item, column) in enumerate(mapping.items()):
        values[item], bad = _bad_cells(df[column], inst)
        cells += [(r, order, column, reason, value) for r, reason, value in bad]
    if cells:
        raise _cells_error(cells, at, source, _shifted_hint(list(values.values()), inst))
    block = np.empty((len(df), len(mapping)), order="F")  # pandas keeps it without a copy
    for j, item in enumerate(mapping):
        block[:, j] = values[item]
    return Responses(
        ids=ids.reset_index(drop=True),
        items=pd.DataFrame(block, columns=list(mapping), copy=False),
        rows=rows,
        source=source,
        instrument=inst,
        id_column=id_column,
        lines=lines,
    )
