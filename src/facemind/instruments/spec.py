"""Questionnaire specs: the YAML format of DESIGN.md, parsed into frozen dataclasses.

A spec names the allowed integer item values, the subscales with their items, reverse-keyed
items, multiplier and severity bands (inclusive lower bounds on the scored total), and how
many missing items per subscale may be prorated. Built-in specs live in ``builtin/*.yaml``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from ..errors import FacemindError


@dataclass(frozen=True)
class Band:
    """A severity band: ``label`` applies to scored totals ``>= min`` (up to the next band)."""

    label: str
    min: float


@dataclass(frozen=True)
class Subscale:
    """One subscale: its items, reverse keying, multiplier, bands and prorating allowance."""

    name: str
    items: tuple[str, ...]
    reverse: tuple[str, ...] = ()
    multiplier: float = 1
    bands: tuple[Band, ...] = ()
    max_missing: int = 0

    def band_index(self, scored: Any) -> np.ndarray:
        """Index of the band of each scored total (-1 where the total is missing)."""
        if not self.bands:
            raise FacemindError(f"subscale {self.name!r} has no severity bands")
        values = np.asarray(scored, dtype=float)
        mins = np.array([b.min for b in self.bands], dtype=float)
        idx = np.searchsorted(mins, values, side="right") - 1
        idx = np.where(np.isnan(values), -1, np.maximum(idx, 0))
        return idx.astype(int)

    def band_of(self, scored: Any) -> np.ndarray:
        """Band label of each scored total (``None`` where the total is missing)."""
        labels = np.array([b.label for b in self.bands] + [None], dtype=object)
        return labels[self.band_index(scored)]  # -1 picks the trailing None

    @property
    def band_labels(self) -> tuple[str, ...]:
        return tuple(b.label for b in self.bands)


@dataclass(frozen=True)
class Instrument:
    """A questionnaire: allowed item values, subscales and accepted column aliases."""

    id: str
    name: str
    response_min: int
    response_max: int
    subscales: dict[str, Subscale]
    aliases: dict[str, tuple[str, ...]] = field(default_factory=dict)
    reference: str = ""
    source: str = ""

    def subscale_name(self, name: str) -> str:
        """The subscale called ``name`` in any letter case (``Depression`` -> ``depression``);
        an unknown name is returned as given, for the caller to refuse."""
        key = str(name).strip().casefold()
        return next((s for s in self.subscales if s.casefold() == key), str(name))

    @property
    def items(self) -> tuple[str, ...]:
        """Every item used by any subscale, in first-use order."""
        seen: dict[str, None] = {}
        for sub in self.subscales.values():
            seen.update(dict.fromkeys(sub.items))
        return tuple(seen)


def _spec_error(source: str, message: str) -> FacemindError:
    return FacemindError(f"{source}: invalid instrument spec: {message}")


def _as_int(value: Any, source: str, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise _spec_error(source, f"{where} must be an integer, got {value!r}")
    return value


def parse_spec(data: Any, *, source: str = "<spec>") -> Instrument:
    """Build an :class:`Instrument` from a parsed YAML/JSON mapping, checking every field."""
    if not isinstance(data, dict):
        raise _spec_error(source, "top level must be a mapping")
    for key in ("id", "response", "subscales"):
        if key not in data:
            raise _spec_error(source, f"missing required key {key!r}")
    response = data["response"]
    if not isinstance(response, dict) or "min" not in response or "max" not in response:
        raise _spec_error(source, "'response' must be a mapping with 'min' and 'max'")
    rmin = _as_int(response["min"], source, "response.min")
    rmax = _as_int(response["max"], source, "response.max")
    if rmin >= rmax:
        raise _spec_error(source, f"response.min ({rmin}) must be below response.max ({rmax})")
    default_missing = _as_int(data.get("max_missing", 0), source, "max_missing")
    raw_subs = data["subscales"]
    if not isinstance(raw_subs, dict) or not raw_subs:
        raise _spec_error(source, "'subscales' must be a non-empty mapping")
    subscales: dict[str, Subscale] = {}
    for name, sub in raw_subs.items():
        where = f"subscales.{name}"
        if not isinstance(sub, dict) or "items" not in sub:
            raise _spec_error(source, f"{where} must be a mapping with 'items'")
        items = sub["items"]
        if not isinstance(items, list) or not items or not all(isinstance(i, str) for i in items):
            raise _spec_error(source, f"{where}.items must be a non-empty list of column names")
        if len(set(items)) != len(items):
            raise _spec_error(source, f"{where}.items lists an item twice")
        reverse = sub.get("reverse") or []
        unknown = [r for r in reverse if r not in items]
        if unknown:
            raise _spec_error(source, f"{where}.reverse names items not in the subscale: {unknown}")
        multiplier = sub.get("multiplier", 1)
        if (
            isinstance(multiplier, bool)
            or not isinstance(multiplier, int | float)
            or multiplier <= 0
        ):
            raise _spec_error(source, f"{where}.multiplier must be a positive number")
        bands = []
        for i, band in enumerate(sub.get("bands") or []):
            if not isinstance(band, dict) or "label" not in band or "min" not in band:
                raise _spec_error(source, f"{where}.bands[{i}] needs 'label' and 'min'")
            if isinstance(band["min"], bool) or not isinstance(band["min"], int | float):
                raise _spec_error(source, f"{where}.bands[{i}].min must be a number")
            bands.append(Band(str(band["label"]), float(band["min"])))
        mins = [b.min for b in bands]
        if any(b <= a for a, b in zip(mins, mins[1:], strict=False)):
            raise _spec_error(source, f"{where}.bands must have strictly ascending 'min'")
        labels = [b.label for b in bands]
        if len(set(labels)) != len(labels):
            raise _spec_error(source, f"{where}.bands repeat a label")
        max_missing = _as_int(
            sub.get("max_missing", default_missing), source, f"{where}.max_missing"
        )
        if not 0 <= max_missing < len(items):
            raise _spec_error(source, f"{where}.max_missing must be between 0 and {len(items) - 1}")
        subscales[str(name)] = Subscale(
            name=str(name),
            items=tuple(items),
            reverse=tuple(reverse),
            multiplier=multiplier,
            bands=tuple(bands),
            max_missing=max_missing,
        )
    aliases: dict[str, tuple[str, ...]] = {}
    for item, alts in (data.get("aliases") or {}).items():
        if not isinstance(alts, list) or not all(isinstance(a, str) for a in alts):
            raise _spec_error(source, f"aliases.{item} must be a list of column names")
        aliases[str(item)] = tuple(alts)
    inst = Instrument(
        id=str(data["id"]),
        name=str(data.get("name", data["id"])),
        response_min=rmin,
        response_max=rmax,
        subscales=subscales,
        aliases=aliases,
        reference=str(data.get("reference", "")),
        source=source,
    )
    stray = [a for a in aliases if a not in inst.items]
    if stray:
        raise _spec_error(source, f"aliases name items not in any subscale: {stray}")
    return inst


def builtin_ids() -> list[str]:
    """Ids of the built-in instruments."""
    folder = resources.files("facemind.instruments") / "builtin"
    return sorted(p.name[: -len(".yaml")] for p in folder.iterdir() if p.name.endswith(".yaml"))


@cache
def _builtin(iid: str) -> Instrument:
    """A built-in spec, parsed once per process (specs are immutable)."""
    res = resources.files("facemind.instruments") / "builtin" / f"{iid}.yaml"
    return parse_spec(yaml.safe_load(res.read_text(encoding="utf-8")), source=f"builtin:{iid}")


def load_instrument(name_or_path: str | Path | Instrument) -> Instrument:
    """Load a built-in instrument by id (e.g. ``"dass21"``) or a spec file (YAML or JSON)."""
    if isinstance(name_or_path, Instrument):
        return name_or_path
    text_name = str(name_or_path)
    if text_name.lower() in builtin_ids():
        return _builtin(text_name.lower())
    path = Path(text_name)
    if not path.exists():
        raise FacemindError(
            f"unknown instrument {text_name!r}: not a built-in ({', '.join(builtin_ids())}) "
            "and no such spec file"
        )
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        raise FacemindError(f"{path}: cannot parse instrument spec{where}") from None
    return parse_spec(data, source=str(path))
