"""Table and file I/O: one reader for every table format, atomic writes (temp file + rename).

:func:`read_table` reads CSV (delimiter sniffed among comma, semicolon and tab; UTF-8 with or
without BOM, UTF-16 with BOM, else Windows-1252), Parquet, Excel ``.xlsx``, SPSS ``.sav`` and
Stata ``.dta``. Id columns are text in every format, so ``007`` never equals ``7``.
"""

from __future__ import annotations

import codecs
import csv
import io
import json
import os
import re
import tempfile
import warnings
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from importlib.util import find_spec
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .errors import FacemindError, InputError, ParameterError

#: Extensions :func:`write_table` writes (and the CLI accepts for outputs).
TABLE_SUFFIXES = (".csv", ".parquet", ".pq")
#: Extensions :func:`read_table` reads.
READ_SUFFIXES = (
    ".csv",
    ".tsv",
    ".txt",
    ".parquet",
    ".pq",
    ".xlsx",
    ".xlsm",
    ".sav",
    ".zsav",
    ".dta",
)
#: Columns read as text by default: participant and video ids.
ID_COLUMNS: tuple[str, ...] = ("participant_id", "video_id")
DELIMITERS = (",", ";", "\t")
_EXTRA = "pip install 'facemind[formats]'"


class TableNote(UserWarning):
    """Something the reader did that the user should know (an encoding guessed, ids re-typed)."""


class LineMap:
    """File line of each data row of a CSV (1-based; the header is line 1 when it is one line).

    Kept in ``DataFrame.attrs["lines"]``; copying a frame shares it instead of copying it.
    """

    def __init__(self, n_rows: int, lines: np.ndarray | None = None) -> None:
        self.n_rows, self._lines = n_rows, lines

    def line(self, row: int) -> int:
        """File line on which 1-based data row ``row`` starts."""
        return int(self._lines[row - 1]) if self._lines is not None else row + 1

    def __deepcopy__(self, memo: dict) -> LineMap:
        return self

    def __repr__(self) -> str:
        return "LineMap(row + 1)" if self._lines is None else f"LineMap({self._lines.size} rows)"


def line_map(df: pd.DataFrame) -> LineMap | None:
    """The :class:`LineMap` of a table read from CSV and still in file order, else None.

    A frame whose rows were filtered or reordered since (other length or index) has none.
    """
    lines = df.attrs.get("lines")
    if not isinstance(lines, LineMap) or lines.n_rows != len(df):
        return None
    return lines if df.index.equals(pd.RangeIndex(len(df))) else None


def file_line(df: pd.DataFrame, row: int) -> int | None:
    """File line of 1-based data row ``row`` of a table read from CSV, else None."""
    lines = line_map(df)
    return lines.line(row) if lines is not None else None


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextmanager
def atomic_path(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on success it replaces ``path`` atomically."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    os.chmod(tmp_path, 0o666 & ~_umask())  # mkstemp makes 0600; outputs get the usual mode
    try:
        yield tmp_path
        os.replace(tmp_path, target)
    finally:
        if tmp_path.exists():
            tmp_path.unlink()


def _kind(path: Path, *, reading: bool = False) -> str:
    suffix = path.suffix.lower()
    if not reading:
        check_table_path(path)
    if suffix == ".csv" or (reading and suffix in (".tsv", ".txt")):
        return "csv"
    if suffix in (".parquet", ".pq"):
        return "parquet"
    if suffix in (".xlsx", ".xlsm"):
        return "excel"
    if suffix in (".sav", ".zsav"):
        return "spss"
    if suffix == ".dta":
        return "stata"
    raise FacemindError(
        f"{path}: unsupported table extension {suffix!r} "
        "(use .csv, .tsv, .parquet, .xlsx, .sav or .dta)"
    )


def check_table_path(path: str | os.PathLike[str], parameter: str | None = None) -> Path:
    """``path`` as a Path when its extension is one :func:`write_table` writes; refuse it
    (naming ``parameter``) before any long work that would end in writing it."""
    p = Path(path)
    if p.suffix.lower() not in TABLE_SUFFIXES:
        what = f"`{parameter}` extension" if parameter else "table extension"
        raise ParameterError(f"{p}: unsupported {what} {p.suffix.lower()!r} (use .csv or .parquet)")
    return p


def _need(module: str, path: Path, what: str) -> None:
    if find_spec(module) is None:
        raise FacemindError(f"{path}: reading {what} needs {module}: {_EXTRA}")


def _is_utf8(encoding: str) -> bool:
    try:
        return codecs.lookup(encoding).name == "utf-8"
    except LookupError:
        return False


def decode_csv(raw: bytes, path: Path, encoding: str | None) -> tuple[str, str]:
    """Text and encoding of a CSV file: the named encoding, else UTF-8/UTF-16 by BOM, UTF-8,
    or Windows-1252 (Latin-1 where Windows-1252 leaves a byte undefined)."""
    if raw.startswith(codecs.BOM_UTF8) and (encoding is None or _is_utf8(encoding)):
        encoding = "utf-8-sig"
    if encoding is not None:
        try:
            return raw.decode(encoding), encoding
        except LookupError:
            raise FacemindError(f"unknown encoding {encoding!r}") from None
        except UnicodeDecodeError as exc:
            line = raw.count(b"\n", 0, exc.start) + 1
            raise InputError(
                f"line {line}: byte 0x{raw[exc.start]:02x} is not valid {encoding} "
                "(set the file's `encoding`, e.g. cp1252 or utf-8)",
                file=str(path),
            ) from None
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        return raw.decode("utf-16"), "utf-16"
    try:
        return raw.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        text, enc = raw.decode("cp1252"), "cp1252"
    except UnicodeDecodeError:
        text, enc = raw.decode("latin-1"), "latin-1"
    warnings.warn(
        f"{path}: not UTF-8, read as {'Windows-1252' if enc == 'cp1252' else 'Latin-1'} "
        "(name another `encoding`)",
        TableNote,
        stacklevel=4,  # the caller of read_table
    )
    return text, enc


def sniff_delimiter(text: str) -> str:
    """Comma, semicolon or tab: the one splitting the header into the most fields, and the
    first lines into as many (quoted fields respected); comma when none does."""
    sample = text[:65536]
    lines = sample.splitlines()[:50]
    if len(sample) == 65536 and len(lines) > 1:
        lines = lines[:-1]  # the last line may be cut
    best, best_fields = ",", 1
    for delim in DELIMITERS:
        try:
            records = [r for r in csv.reader(lines, delimiter=delim) if r]
        except csv.Error:
            continue
        if not records:
            continue
        fields = len(records[0])
        consistent = sum(len(r) == fields for r in records) >= 0.8 * len(records)
        if fields > best_fields and consistent:
            best, best_fields = delim, fields
    return best


def _line_map(text: str, delimiter: str, n_rows: int) -> LineMap | None:
    n_lines = text.count("\n") + (0 if text.endswith("\n") or not text else 1)
    if n_lines == n_rows + 1:
        return LineMap(n_rows)
    starts: list[int] = []  # quoted line breaks or blank lines: follow the records
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    end = 0
    try:
        for record in reader:
            if record:
                starts.append(end + 1)
            end = reader.line_num
    except csv.Error:
        return None
    starts = starts[1:]  # the header
    return LineMap(n_rows, np.asarray(starts, dtype=np.int64)) if len(starts) == n_rows else None


def _read_csv(
    p: Path, id_columns: tuple[str, ...], encoding: str | None, kwargs: dict[str, Any]
) -> pd.DataFrame:
    raw = p.read_bytes()
    text, enc = decode_csv(raw, p, encoding)
    if not text.strip():
        raise InputError("file is empty", file=str(p))
    options = dict(kwargs)
    if "sep" not in options and "delimiter" not in options:
        options["sep"] = sniff_delimiter(text)
        if options["sep"] == ";" and re.search(r"\d,\d", text[:65536]):
            options.setdefault("decimal", ",")  # European spreadsheet export
    dtype = options.get("dtype")
    if dtype is None or isinstance(dtype, dict):
        options["dtype"] = {c: "string" for c in id_columns} | dict(dtype or {})
    df = pd.read_csv(io.BytesIO(raw), encoding=enc, **options)
    sep = options.get("sep", options.get("delimiter", ","))
    if isinstance(sep, str) and len(sep) == 1:
        lines = _line_map(text, sep, len(df))
        if lines is not None:
            df.attrs["lines"] = lines
    return df


def _id_text(col: pd.Series) -> tuple[pd.Series, bool]:
    """Ids as text; numbers lose a zero fraction (7.0 -> "7"). Says whether any were numbers."""
    if pd.api.types.is_string_dtype(col) and not pd.api.types.is_object_dtype(col):
        return col, False  # already text: left exactly as stored
    if pd.api.types.is_bool_dtype(col):
        return col.astype("string"), True
    if pd.api.types.is_integer_dtype(col):
        return col.astype("Int64").astype("string"), True
    if pd.api.types.is_float_dtype(col):
        values = col.to_numpy(dtype=float, na_value=np.nan)
        text = np.full(values.size, None, dtype=object)
        whole = np.isfinite(values) & (values == np.round(values)) & (np.abs(values) < 2**53)
        text[whole] = values[whole].astype(np.int64).astype(str)
        for i in np.flatnonzero(~whole & ~np.isnan(values)):
            text[i] = repr(float(values[i]))
        return pd.Series(text, index=col.index, dtype="string", name=col.name), True
    numeric = False

    def one(v: Any) -> Any:
        nonlocal numeric
        if v is None or (isinstance(v, float) and np.isnan(v)) or v is pd.NA:
            return None
        if isinstance(v, int | float | np.integer | np.floating) and not isinstance(v, bool):
            numeric = True
            return _number_text(v)
        return str(v)

    out = pd.Series([one(v) for v in col.tolist()], index=col.index, dtype="string", name=col.name)
    return out, numeric


def _number_text(v: Any) -> str:
    f = float(v)
    return str(int(f)) if f.is_integer() and abs(f) < 2**53 else repr(f)


def _ids_as_text(df: pd.DataFrame, p: Path, id_columns: Iterable[str]) -> pd.DataFrame:
    for c in id_columns:
        if c not in df.columns:
            continue
        df[c], was_numeric = _id_text(df[c])
        if was_numeric:
            warnings.warn(
                f"{p}: id column {c!r} holds numbers; read as text without a decimal point "
                "(7.0 -> '7'); leading zeros, if the ids had any, were lost before this file",
                TableNote,
                stacklevel=3,  # the caller of read_table
            )
    return df


def _read_other(p: Path, kind: str, id_columns: tuple[str, ...], encoding: str | None):
    if kind == "parquet":
        return pd.read_parquet(p)
    if kind == "excel":
        _need("openpyxl", p, "Excel files")
        return pd.read_excel(
            p, sheet_name=0, engine="openpyxl", dtype={c: object for c in id_columns}
        )
    _need("pyreadstat", p, "SPSS and Stata files")
    import pyreadstat

    reader = pyreadstat.read_sav if kind == "spss" else pyreadstat.read_dta
    df, _ = reader(str(p), encoding=encoding) if encoding else reader(str(p))
    return df


def read_table(
    path: str | os.PathLike[str],
    *,
    id_columns: Iterable[str] = ID_COLUMNS,
    encoding: str | None = None,
    **csv_kwargs: Any,
) -> pd.DataFrame:
    """Read a table in any supported format, with id columns as text and one-line errors.

    Parameters
    ----------
    path
        ``.csv``/``.tsv``/``.txt``, ``.parquet``, ``.xlsx``, ``.sav`` or ``.dta``.
    id_columns
        Columns read as text and never cast (absent ones are ignored); numeric ids in typed
        formats become text without a decimal point, with one :class:`TableNote` warning.
    encoding
        Text encoding of a CSV (or of an SPSS/Stata file's strings); detected when None.
    **csv_kwargs
        Extra :func:`pandas.read_csv` options for CSV files.

    A CSV's frame carries ``attrs["lines"]`` (:class:`LineMap`) for :func:`file_line`.
    """
    p = Path(path)
    ids = tuple(id_columns)
    if not p.exists():
        raise InputError("file not found", file=str(p))
    if p.is_dir():
        raise InputError("is a directory, expected a table file", file=str(p))
    kind = _kind(p, reading=True)
    if p.stat().st_size == 0:
        raise InputError("file is empty", file=str(p))
    try:
        if kind == "csv":
            df = _read_csv(p, ids, encoding, csv_kwargs)
        else:
            df = _read_other(p, kind, ids, encoding)
    except pd.errors.EmptyDataError:
        raise InputError("file is empty", file=str(p)) from None
    except FacemindError:
        raise
    except Exception as exc:  # each format's library raises its own kinds; all mean "unreadable"
        msg = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise InputError(f"cannot read table: {msg}", file=str(p)) from None
    if df.shape[1] == 0:
        raise InputError("file has no columns", file=str(p))
    df.columns = [str(c) for c in df.columns]
    return _ids_as_text(df, p, ids) if kind != "csv" else df


def write_table(df: pd.DataFrame, path: str | os.PathLike[str], *, index: bool = False) -> Path:
    """Write ``df`` atomically as CSV or Parquet, chosen by the extension of ``path``."""
    p = Path(path)
    kind = _kind(p)
    with atomic_path(p) as tmp:
        if kind == "csv":
            df.to_csv(tmp, index=index)
        else:
            df.to_parquet(tmp, index=index)
    return p


def write_json(obj: Any, path: str | os.PathLike[str]) -> Path:
    """Write JSON atomically (UTF-8, indented)."""
    p = Path(path)
    with atomic_path(p) as tmp:
        tmp.write_text(json.dumps(obj, indent=2, allow_nan=False) + "\n", encoding="utf-8")
    return p
