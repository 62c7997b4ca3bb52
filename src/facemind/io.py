"""Table and file I/O: CSV or Parquet by extension, atomic writes (temp file + rename)."""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pandas as pd

from .errors import FacemindError, InputError

TABLE_SUFFIXES = (".csv", ".parquet", ".pq")


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


def _kind(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return "csv"
    if suffix in (".parquet", ".pq"):
        return "parquet"
    raise FacemindError(f"{path}: unsupported table extension {suffix!r} (use .csv or .parquet)")


def read_table(path: str | os.PathLike[str], **csv_kwargs: Any) -> pd.DataFrame:
    """Read a CSV or Parquet table, with one-line errors for missing, empty or unreadable files."""
    p = Path(path)
    if not p.exists():
        raise InputError("file not found", file=str(p))
    if p.is_dir():
        raise InputError("is a directory, expected a table file", file=str(p))
    kind = _kind(p)
    if p.stat().st_size == 0:
        raise InputError("file is empty", file=str(p))
    try:
        if kind == "csv":
            df = pd.read_csv(p, **csv_kwargs)
        else:
            df = pd.read_parquet(p)
    except pd.errors.EmptyDataError:
        raise InputError("file is empty", file=str(p)) from None
    except (pd.errors.ParserError, UnicodeDecodeError, OSError, ValueError) as exc:
        msg = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise InputError(f"cannot read table: {msg}", file=str(p)) from None
    if df.shape[1] == 0:
        raise InputError("file has no columns", file=str(p))
    return df


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
