"""Where results come from: the instrument, settings and input tables they were computed on.

Sweep results, trained models and importance tables carry a provenance record (a JSON
object). Tables keep it in their Parquet metadata, or in a ``<stem>.json`` sidecar beside a
CSV; a trained model keeps it in its ``model.json``. ``report`` reads it back to refuse
results of another instrument or other responses.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import hashlib
import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from .errors import FacemindError
from .instruments import Instrument
from .io import atomic_path, write_json, write_table

FORMAT = 1
#: Key of the record in a Parquet file's key-value metadata.
PARQUET_KEY = b"facemind.provenance"


def table_fingerprint(table: pd.DataFrame, name: str | os.PathLike[str] = "") -> dict[str, Any]:
    """Name, shape and a SHA-256 of the column names and values of a table as read.

    The digest depends on the content, not on the file: re-reading a file gives the same
    fingerprint; changing one answer gives another.
    """
    h = hashlib.sha256()
    h.update(json.dumps([str(c) for c in table.columns]).encode())
    if len(table) and len(table.columns):
        h.update(pd.util.hash_pandas_object(table, index=False).to_numpy().tobytes())
    return {
        "name": Path(name).name if name else "",
        "rows": int(len(table)),
        "columns": int(table.shape[1]),
        "sha256": h.hexdigest(),
    }


def instrument_fingerprint(inst: Instrument) -> dict[str, str]:
    """The instrument's id and a SHA-256 of its parsed spec (where it was read from aside)."""
    spec = dataclasses.asdict(inst)
    spec.pop("source", None)
    digest = hashlib.sha256(json.dumps(spec, sort_keys=True, default=str).encode()).hexdigest()
    return {"id": inst.id, "spec_sha256": digest}


def make_record(
    command: str,
    *,
    instrument: Instrument,
    subscales: Sequence[str],
    task: str,
    positive_band: str | None,
    models: Sequence[str],
    settings: Mapping[str, Any],
    seed: int,
    tables: Mapping[str, tuple[pd.DataFrame, str | os.PathLike[str]]] | None = None,
) -> dict[str, Any]:
    """A provenance record; ``tables`` maps a role (``responses``, ``features``) to the table
    as read and its file name."""
    from . import __version__

    return {
        "format": FORMAT,
        "command": command,
        "facemind": __version__,
        "created": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
        "instrument": instrument_fingerprint(instrument),
        "subscales": list(subscales),
        "task": task,
        "positive_band": positive_band if task == "binary" else None,
        "models": list(models),
        "settings": json.loads(json.dumps(dict(settings), default=list)),
        "seed": int(seed),
        "tables": {
            role: table_fingerprint(df, name) for role, (df, name) in (tables or {}).items()
        },
    }


def sidecar_path(path: str | os.PathLike[str]) -> Path:
    """``<stem>.json`` beside a CSV table: where its provenance is kept."""
    p = Path(path)
    return p.with_name(f"{p.stem}.json")


def write_with_provenance(
    table: pd.DataFrame, path: str | os.PathLike[str], record: Mapping[str, Any]
) -> Path:
    """Write ``table`` (atomically, CSV or Parquet by extension) with ``record`` attached."""
    p = Path(path)
    if p.suffix.lower() == ".csv":
        write_json(dict(record), sidecar_path(p))
        return write_table(table, p)
    import pyarrow as pa
    import pyarrow.parquet as pq

    arrow = pa.Table.from_pandas(table, preserve_index=False)
    meta = dict(arrow.schema.metadata or {})
    meta[PARQUET_KEY] = json.dumps(dict(record)).encode()
    with atomic_path(p) as tmp:
        pq.write_table(arrow.replace_schema_metadata(meta), tmp)
    return p


def read_provenance(path: str | os.PathLike[str]) -> dict[str, Any] | None:
    """The record attached to a table written by :func:`write_with_provenance`, or None."""
    p = Path(path)
    try:
        if p.suffix.lower() == ".csv":
            side = sidecar_path(p)
            return json.loads(side.read_text(encoding="utf-8")) if side.exists() else None
        import pyarrow.parquet as pq

        raw = (pq.read_schema(p).metadata or {}).get(PARQUET_KEY)
        return json.loads(raw) if raw else None
    except (OSError, ValueError) as exc:
        raise FacemindError(f"{p}: cannot read the results' provenance: {exc}") from None


def read_features_record(table: pd.DataFrame, name: str | os.PathLike[str]) -> dict | None:
    """The provenance of a features table (``FeatureResult.annotated``): kept in its ``attrs``
    (a table from ``fm.features``) or attached to the file ``name``; ``None`` when it has none."""
    record = table.attrs.get("provenance")
    if record is None and Path(name).suffix.lower() in (".csv", ".parquet", ".pq"):
        if Path(name).is_file():  # the formats facemind writes with provenance
            record = read_provenance(name)
    return record if isinstance(record, dict) and record.get("command") == "features" else None


def check_results(
    record: Mapping[str, Any],
    *,
    results: str | os.PathLike[str],
    instrument: Instrument,
    responses: pd.DataFrame,
    responses_name: str | os.PathLike[str],
) -> None:
    """Refuse (one line) results computed on another instrument, spec or responses table."""
    got = record.get("instrument", {})
    if got.get("id") != instrument.id:
        raise FacemindError(
            f"{results}: results of instrument {got.get('id')!r}, not {instrument.id!r}; "
            f"report them with `instrument={got.get('id')}`"
        )
    if got.get("spec_sha256") != instrument_fingerprint(instrument)["spec_sha256"]:
        raise FacemindError(
            f"{results}: results computed with another version of the {instrument.id} spec"
        )
    unknown = [s for s in record.get("subscales", []) if s not in instrument.subscales]
    if unknown:
        raise FacemindError(
            f"{results}: results of subscale(s) {', '.join(unknown)}, not in {instrument.id}"
        )
    seen = record.get("tables", {}).get("responses")
    if seen is not None and seen.get("sha256") != table_fingerprint(responses)["sha256"]:
        raise FacemindError(
            f"{results}: results computed on other responses ({seen.get('name') or 'a table'} "
            f"with {seen.get('rows')} rows), not {Path(responses_name).name} "
            f"({len(responses)} rows)"
        )
