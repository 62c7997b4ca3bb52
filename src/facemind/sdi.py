"""The Symptom Discrepancy Index (SDI): how much symptom heterogeneity hides behind equal scores.

For one subscale (PAPER.md):

1. standardize each item over the sample, ``z = (x - mean) / sd`` with ``ddof=1``; an item with
   no variance contributes 0;
2. group respondents by their raw subscale total (or by severity band);
3. each group's center is the mean z-vector of its members;
4. a respondent's discrepancy is the Euclidean distance of their z-vector to their group's
   center (``center="global"`` measures to the sample's overall center instead, as the
   released modelling scripts did; it is offered only to reproduce them);
5. discrepancies are min-max normalized to [0, 1] over the whole sample;
6. per group, ``GDI = mean(d) + sd(d)`` (``sd`` with ``ddof=1``; a group of one has sd 0);
7. the subscale's SDI is the size-weighted mean of the group GDIs.

Filters return boolean keep-masks (True = keep), in the style of data-quality tools, so they
compose with any selection. "SDI after removing X%" recomputes the group table on the kept
respondents with their original (not renormalized) discrepancies.
Everything is vectorized: group operations use ``np.bincount`` over factorized group codes.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd

from .errors import FacemindError, check_choice
from .instruments import Instrument, Responses, load_instrument, validate_responses
from .io import read_table

GroupBy = Literal["total", "band"]
Center = Literal["group", "global"]
Within = Literal["group", "overall"]
DEFAULT_REMOVAL_FRACTIONS: tuple[float, ...] = (0.0, 0.1, 0.2, 0.3, 0.4, 0.5)


def standardize_items(items: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
    """Column z-scores with ``ddof=1``; columns with zero (or undefined) variance become 0.

    ``weights`` are row multiplicities (rows standing for several identical respondents).
    """
    x = np.asarray(items, dtype=float)
    if x.ndim != 2:
        raise ValueError("items must be a 2-D array (respondents x items)")
    w = np.ones(x.shape[0]) if weights is None else np.asarray(weights, dtype=float)
    n = w.sum()
    z = x - (w @ x) / n
    sd = np.sqrt((w @ (z * z)) / (n - 1)) if n > 1 else np.zeros(x.shape[1])
    z /= np.where(sd > 0, sd, 1.0)
    z[:, ~(sd > 0)] = 0.0
    return z


def _codes(groups: Any) -> tuple[np.ndarray, np.ndarray]:
    codes, uniques = pd.factorize(pd.Series(np.asarray(groups)), sort=True)
    if (codes < 0).any():
        raise FacemindError("group labels must not be missing")
    return codes.astype(np.int64), np.asarray(uniques)


def raw_discrepancy(
    items: Any,
    groups: Any,
    *,
    standardize: bool = True,
    center: Center = "group",
    weights: Any = None,
) -> np.ndarray:
    """Unnormalized Euclidean distance of each respondent's item vector to its center."""
    x = np.asarray(items, dtype=float)
    if np.isnan(x).any():
        raise FacemindError("items must not contain missing values (filter or drop them first)")
    w = np.ones(x.shape[0]) if weights is None else np.asarray(weights, dtype=float)
    z = standardize_items(x, w) if standardize else x
    if center == "global":
        return np.linalg.norm(z - (w @ z) / w.sum(), axis=1)
    if center != "group":
        raise FacemindError(f"center must be 'group' or 'global', got {center!r}")
    codes, _ = _codes(groups)
    size = np.bincount(codes, weights=w)
    sums = np.column_stack(
        [np.bincount(codes, weights=w * z[:, j], minlength=size.size) for j in range(z.shape[1])]
    )
    return np.linalg.norm(z - (sums / size[:, None])[codes], axis=1)


def response_profiles(
    items: np.ndarray, low: int, high: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Distinct answer profiles of integer items in ``[low, high]``.

    Returns ``(profiles, inverse, counts)`` with ``items == profiles[inverse]``. With a few
    items on a short scale there are far fewer profiles than respondents, so the SDI is
    computed once per profile (weighted by its count): exactly the same values, much faster.
    """
    x = np.asarray(items)
    n, k = x.shape
    base = high - low + 1
    if k * np.log2(base) <= 22:  # dense table of every possible profile (exact in float64)
        powers = base ** np.arange(k, dtype=np.int64)
        codes = (x @ powers.astype(float) - low * powers.sum()).astype(np.int64)
        counts_all = np.bincount(codes, minlength=base**k)
        present = np.flatnonzero(counts_all)
        lookup = np.empty(base**k, dtype=np.int64)
        lookup[present] = np.arange(present.size)
        digits = (present[:, None] // (base ** np.arange(k, dtype=np.int64))) % base
        return (digits + low).astype(float), lookup[codes], counts_all[present]
    xi = (x - low).astype(np.int64)
    uniq, inverse, counts = np.unique(xi, axis=0, return_inverse=True, return_counts=True)
    return (uniq + low).astype(float), inverse.reshape(-1), counts


def minmax(values: np.ndarray) -> np.ndarray:
    """Min-max normalize to [0, 1]; a constant vector maps to 0.

    A range within rounding noise (``1e-12`` of the largest magnitude) counts as constant, so
    distances that are all zero but for summation noise are not stretched to 0 and 1.
    """
    v = np.asarray(values, dtype=float)
    if v.size == 0:
        return v
    lo, hi = v.min(), v.max()
    if hi - lo <= 1e-12 * max(1.0, abs(lo), abs(hi)):
        return np.zeros_like(v)
    return (v - lo) / (hi - lo)


def subscale_discrepancy(
    items: Any, groups: Any, *, standardize: bool = True, center: Center = "group"
) -> np.ndarray:
    """Normalized (0-1) discrepancy of each respondent (rows of ``items``, keyed item values)."""
    return minmax(raw_discrepancy(items, groups, standardize=standardize, center=center))


def group_table(
    discrepancy: Any, groups: Any, *, weights: Any = None, ddof: int = 1
) -> pd.DataFrame:
    """Per group: ``group``, ``n``, ``mean``, ``std`` and ``gdi = mean + std`` (sorted by group).

    ``weights`` are row multiplicities, as in :func:`response_profiles`.
    """
    d = np.asarray(discrepancy, dtype=float)
    if d.size == 0:
        return pd.DataFrame({"group": [], "n": [], "mean": [], "std": [], "gdi": []})
    w = np.ones(d.size) if weights is None else np.asarray(weights, dtype=float)
    codes, uniques = _codes(groups)
    n = np.bincount(codes, weights=w)
    mean = np.bincount(codes, weights=w * d) / n
    ss = np.bincount(codes, weights=w * (d - mean[codes]) ** 2)
    with np.errstate(invalid="ignore", divide="ignore"):
        var = np.where(n > ddof, ss / (n - ddof), 0.0)
    std = np.sqrt(np.maximum(var, 0.0))
    return pd.DataFrame(
        {
            "group": uniques,
            "n": np.rint(n).astype(int),
            "mean": mean,
            "std": std,
            "gdi": mean + std,
        }
    )


def dataset_sdi(groups_table: pd.DataFrame) -> float:
    """Size-weighted mean of the group GDIs (NaN for an empty table)."""
    n = groups_table["n"].to_numpy(dtype=float)
    if n.sum() == 0:
        return float("nan")
    return float(np.dot(n, groups_table["gdi"].to_numpy(dtype=float)) / n.sum())


def _check_fraction(fraction: float) -> float:
    f = float(fraction)
    if not 0.0 <= f < 1.0:
        raise FacemindError(f"removal fraction must be in [0, 1), got {fraction!r}")
    return f


def _rank_key(d: np.ndarray) -> np.ndarray:
    """Discrepancies rounded to 12 decimals: equal profiles tie despite summation-order noise."""
    return -np.round(d, 12)


class _IdCodes:
    """Participant ids factorized (sorted) on first use, shared by the subscales of a result."""

    def __init__(self, ids: pd.Series) -> None:
        self._ids, self._codes = ids, None

    @property
    def codes(self) -> np.ndarray:
        if self._codes is None:
            self._codes = tiebreak_codes(self._ids.to_numpy(), len(self._ids))
        return self._codes


def tiebreak_codes(tiebreak: Any, n: int) -> np.ndarray:
    """Integer codes ordering the tie-break keys (row position when ``tiebreak`` is None)."""
    if tiebreak is None:
        return np.arange(n)
    codes, _ = pd.factorize(pd.Series(np.asarray(tiebreak)), sort=True)
    return codes


def n_removed(fraction: float, sizes: Any) -> np.ndarray:
    """Members each group of ``sizes`` loses at ``fraction``: the one removal rule.

    ``round(fraction * n)`` with halves rounded up (``floor(fraction * n + 0.5)``), but at
    least one member of every group is kept.
    """
    f = _check_fraction(fraction)
    n = np.asarray(sizes, dtype=np.int64)
    return np.minimum(np.floor(f * n + 0.5), np.maximum(n - 1, 0)).astype(np.int64)


def keep_within_groups(
    discrepancy: Any, groups: Any, fraction: float, *, tiebreak: Any = None
) -> np.ndarray:
    """Keep-mask dropping the most discrepant ``fraction`` of every group (:func:`n_removed`).

    Ties in discrepancy drop the member with the smaller ``tiebreak`` key first (default: row
    position; pass participant ids to make the mask independent of row order).
    """
    return RemovalOrder.build(discrepancy, groups, within="group", tiebreak=tiebreak).keep(fraction)


def keep_overall(discrepancy: Any, fraction: float, *, tiebreak: Any = None) -> np.ndarray:
    """Keep-mask dropping the ``round(fraction * N)`` most discrepant respondents overall."""
    return RemovalOrder.build(discrepancy, None, within="overall", tiebreak=tiebreak).keep(fraction)


def keep_mask(
    discrepancy: Any,
    groups: Any,
    fraction: float,
    *,
    within: Within = "group",
    tiebreak: Any = None,
) -> np.ndarray:
    """Keep-mask of :class:`RemovalOrder`: within each group, or over all respondents."""
    return RemovalOrder.build(discrepancy, groups, within=within, tiebreak=tiebreak).keep(fraction)


@dataclass(frozen=True)
class RemovalOrder:
    """Respondents sorted once for removal; each fraction's keep-mask is then read off in O(n).

    Gives the masks of :func:`keep_mask` (same ranking and tie-breaking) without sorting again
    for every fraction.
    """

    order: np.ndarray  # row positions, most discrepant first within each group
    rank: np.ndarray  # rank of ``order[i]`` within its group (0 = most discrepant)
    group_of: np.ndarray  # group code of ``order[i]`` (all 0 with ``within="overall"``)
    counts: np.ndarray  # group sizes

    @classmethod
    def build(
        cls, discrepancy: Any, groups: Any, *, within: Within = "group", tiebreak: Any = None
    ) -> RemovalOrder:
        """Sort by group, then discrepancy (descending), then ``tiebreak`` codes (ascending).

        The one removal ranking: every keep-mask and the removal curve follow it. ``groups``
        is unused with ``within="overall"``. ``tiebreak`` is a key per row (default: row
        position), or already factorized integer codes (compute them once with
        :func:`tiebreak_codes` to share them between subscales).
        """
        d = np.asarray(discrepancy, dtype=float)
        check_choice("within", within, ("group", "overall"))
        by_group = within == "group" and d.size
        codes = _codes(groups)[0] if by_group else np.zeros(d.size, dtype=np.int64)
        tb = np.asarray(tiebreak) if tiebreak is not None else None
        if tb is None or tb.dtype.kind not in "iu":
            tb = tiebreak_codes(tiebreak, d.size)
        order = np.lexsort((tb, _rank_key(d), codes))
        counts = np.bincount(codes)
        group_of = codes[order]
        starts = np.cumsum(counts) - counts
        rank = np.arange(d.size) - starts[group_of] if d.size else np.zeros(0, dtype=np.int64)
        return cls(order=order, rank=rank, group_of=group_of, counts=counts)

    def keep(self, fraction: float) -> np.ndarray:
        """Keep-mask dropping the most discrepant ``fraction`` of each group (:func:`n_removed`)."""
        drop = n_removed(fraction, self.counts)
        keep = np.ones(self.order.size, dtype=bool)
        keep[self.order[self.rank < drop[self.group_of]]] = False
        return keep


def _profile_curve(
    discrepancy: np.ndarray,
    groups: np.ndarray,
    weights: np.ndarray,
    fractions: Sequence[float],
    within: Within,
) -> list[tuple[int, float] | None]:
    """``(n_kept, sdi)`` per fraction from distinct answer profiles and their counts.

    Members of one group with equal discrepancy are interchangeable for the kept group table,
    so the :class:`RemovalOrder` result follows from the profiles in O(profiles) per fraction.
    Where the cut falls inside a tie that spans several groups (possible only with
    ``within="overall"``), which members go depends on their ids: that fraction is None, for
    the row-level path.
    """
    d, w = np.asarray(discrepancy, dtype=float), np.asarray(weights, dtype=np.int64)
    codes, _ = _codes(groups)
    key = codes if within == "group" else np.zeros(d.size, dtype=np.int64)
    rk = _rank_key(d)
    order = np.lexsort((rk, key))
    d_s, codes_s, w_s, key_s, rk_s = d[order], codes[order], w[order], key[order], rk[order]
    size = np.bincount(key, weights=w).astype(np.int64)
    cum = np.cumsum(w_s)
    ahead = cum - w_s - (np.cumsum(size) - size)[key_s]  # members before, in group
    points: list[tuple[int, float] | None] = []
    for f in fractions:
        n_drop = n_removed(f, size)
        if within == "overall" and n_drop[0] > 0:
            last, first = np.searchsorted(cum, [n_drop[0], n_drop[0] + 1])
            if rk_s[last] == rk_s[first]:
                tie = rk_s[last]
                lo, hi = np.searchsorted(rk_s, tie, "left"), np.searchsorted(rk_s, tie, "right")
                if np.unique(codes_s[lo:hi]).size > 1:
                    points.append(None)
                    continue
        kept = w_s - np.clip(n_drop[key_s] - ahead, 0, w_s)
        sel = kept > 0
        gt = group_table(d_s[sel], codes_s[sel], weights=kept[sel])
        points.append((int(kept.sum()), dataset_sdi(gt)))
    return points


@dataclass
class SubscaleSDI:
    """SDI of one subscale: per-respondent table, group table and the dataset SDI.

    ``table`` is aligned with the input rows; respondents left out of the subscale (missing
    answers with ``missing="drop"``) have empty cells there and are in no group.
    """

    subscale: str
    table: pd.DataFrame
    groups: pd.DataFrame
    sdi: float
    n: int
    left_out: int
    ids: pd.Series
    #: Distinct answer profiles (discrepancy, group, count) when computed by :func:`compute`.
    profiles: tuple[np.ndarray, np.ndarray, np.ndarray] | None = field(default=None, repr=False)
    _ids_codes: _IdCodes | None = field(default=None, repr=False, compare=False)
    _orders: dict[str, RemovalOrder] = field(default_factory=dict, repr=False, compare=False)

    @property
    def discrepancy(self) -> pd.Series:
        return self.table[f"{self.subscale}_discrepancy"]

    @property
    def group(self) -> pd.Series:
        return self.table[f"{self.subscale}_group"]

    @property
    def included(self) -> np.ndarray:
        return self.discrepancy.notna().to_numpy()

    def removal_order(self, within: Within = "group") -> RemovalOrder:
        """The included respondents sorted for removal (computed once per ``within``)."""
        if within not in self._orders:
            if self._ids_codes is None:
                self._ids_codes = _IdCodes(self.ids)
            inc = self.included
            self._orders[within] = RemovalOrder.build(
                self.discrepancy.to_numpy()[inc],
                self.group.to_numpy()[inc],
                within=within,
                tiebreak=self._ids_codes.codes[inc],
            )
        return self._orders[within]

    def keep_mask(self, fraction: float, *, within: Within = "group") -> np.ndarray:
        """Keep-mask over all input rows; rows left out of the subscale are False.

        Ties are broken by participant id, so the mask does not depend on row order.
        """
        inc = self.included
        mask = np.zeros(len(self.table), dtype=bool)
        mask[inc] = self.removal_order(within).keep(fraction)
        return mask

    def small_groups(self, min_size: int = 5) -> tuple[int, int]:
        """``(groups with fewer than min_size members, groups)``: a small group's SD says little."""
        n = self.groups["n"].to_numpy()
        return int((n < min_size).sum()), int(n.size)

    def after_removal(self, keep: np.ndarray) -> tuple[float, pd.DataFrame]:
        """SDI and group table of the kept respondents (discrepancies not renormalized)."""
        sel = np.asarray(keep, dtype=bool) & self.included
        d = self.discrepancy.to_numpy()[sel]
        if isinstance(self.group.dtype, pd.CategoricalDtype):  # bands: keep severity order
            gt = group_table(d, self.group.cat.codes.to_numpy()[sel])
            gt["group"] = np.asarray(self.group.cat.categories, dtype=object)[
                gt["group"].to_numpy()
            ]
        else:
            gt = group_table(d, self.group.to_numpy()[sel])
        return dataset_sdi(gt), gt

    def removal_curve(
        self, fractions: Iterable[float] = DEFAULT_REMOVAL_FRACTIONS, *, within: Within = "group"
    ) -> pd.DataFrame:
        """SDI after removing each fraction of the most discrepant respondents.

        By construction the SDI of the respondents :meth:`keep_mask` keeps (same ranking, same
        tie-break by participant id), computed per answer profile where that is exact.
        """
        check_choice("within", within, ("group", "overall"))
        fr = [_check_fraction(f) for f in fractions]
        points: list[tuple[int, float] | None] = [None] * len(fr)
        if self.profiles is not None and self.n:
            points = _profile_curve(*self.profiles, fr, within)
        rows = []
        for f, point in zip(fr, points, strict=True):
            if point is None:
                keep = self.keep_mask(f, within=within)
                point = (int(keep.sum()), self.after_removal(keep)[0])
            rows.append({"fraction": f, "n_kept": point[0], "sdi": point[1]})
        return pd.DataFrame(rows, columns=["fraction", "n_kept", "sdi"])


def _subscale_sdi(
    responses: Responses,
    subscale: str,
    *,
    group_by: GroupBy,
    standardize: bool,
    center: Center,
    missing: str,
    id_codes: _IdCodes | None = None,
) -> SubscaleSDI:
    inst = responses.instrument
    sub = inst.subscales[subscale]
    keyed = responses.keyed(sub)
    missing_rows = np.isnan(keyed @ np.ones(keyed.shape[1]))  # NaN propagates: one cheap pass
    if missing_rows.any() and missing == "error":
        raise responses.missing_error(sub, "use `missing='drop'` to leave them out of the subscale")
    inc = ~missing_rows
    complete = keyed[inc] if missing_rows.any() else keyed
    profiles, inverse, counts = response_profiles(complete, inst.response_min, inst.response_max)
    p_raw = profiles.sum(axis=1)
    if group_by == "total":
        p_groups: np.ndarray = p_raw.astype(np.int64)
    elif group_by == "band":
        if not sub.bands:
            raise FacemindError(
                f"subscale {subscale!r} of {inst.id!r} has no bands; use `group_by='total'`"
            )
        p_groups = sub.band_index(p_raw * sub.multiplier)
    else:
        raise FacemindError(f"group_by must be 'total' or 'band', got {group_by!r}")
    d_p = minmax(
        raw_discrepancy(profiles, p_groups, standardize=standardize, center=center, weights=counts)
    )
    n_rows = len(keyed)
    raw_col = np.zeros(n_rows, dtype=np.int64)
    raw_col[inc] = p_raw[inverse]
    disc_col = np.full(n_rows, np.nan)
    disc_col[inc] = d_p[inverse]
    group_col = np.zeros(n_rows, dtype=np.int64)
    group_col[inc] = p_groups[inverse]
    table = pd.DataFrame(index=pd.RangeIndex(n_rows))
    table[f"{subscale}_raw"] = pd.arrays.IntegerArray(raw_col, ~inc)
    gt = group_table(d_p, p_groups, weights=counts)
    if group_by == "total":
        table[f"{subscale}_group"] = pd.arrays.IntegerArray(group_col, ~inc)
    else:  # band indices -> labels, ordered by severity
        group_col[~inc] = -1
        table[f"{subscale}_group"] = pd.Categorical.from_codes(
            group_col, categories=sub.band_labels
        )
        gt["group"] = np.asarray(sub.band_labels, dtype=object)[gt["group"].to_numpy()]
    table[f"{subscale}_discrepancy"] = disc_col
    return SubscaleSDI(
        subscale=subscale,
        table=table,
        groups=gt,
        sdi=dataset_sdi(gt),
        n=int(inc.sum()),
        left_out=int(missing_rows.sum()),
        ids=responses.ids,
        profiles=(d_p, p_groups, counts),
        _ids_codes=id_codes,
    )


def compute(
    responses: pd.DataFrame | Responses | str | os.PathLike[str],
    instrument: str | Instrument | None = None,
    *,
    subscales: Sequence[str] | None = None,
    group_by: GroupBy = "total",
    standardize: bool = True,
    center: Center = "group",
    missing: Literal["error", "drop"] = "error",
    id_column: str = "participant_id",
    source: str = "responses",
    encoding: str | None = None,
) -> dict[str, SubscaleSDI]:
    """SDI of every (or the chosen) subscale of a responses table.

    ``responses`` is a raw table or a file (read by :func:`facemind.io.read_table` with
    ``encoding``), validated here against ``instrument``, or an already validated
    :class:`~facemind.instruments.Responses`.
    """
    check_choice("group_by", group_by, ("total", "band"))
    check_choice("center", center, ("group", "global"))
    check_choice("missing", missing, ("error", "drop"))
    if isinstance(responses, str | os.PathLike):
        source = str(responses)
        responses = read_table(responses, id_columns=(id_column,), encoding=encoding)
    if isinstance(responses, Responses):
        data = responses
    else:
        if instrument is None:
            raise FacemindError("an instrument is required to compute the SDI of a raw table")
        data = validate_responses(
            responses, load_instrument(instrument), id_column=id_column, source=source
        )
    names = list(subscales) if subscales is not None else list(data.instrument.subscales)
    unknown = [s for s in names if s not in data.instrument.subscales]
    if unknown:
        raise FacemindError(
            f"unknown subscale(s) {unknown} for {data.instrument.id!r} "
            f"(has {', '.join(data.instrument.subscales)})"
        )
    id_codes = _IdCodes(data.ids)  # shared: ids are factorized once, when a mask needs them
    return {
        s: _subscale_sdi(
            data,
            s,
            group_by=group_by,
            standardize=standardize,
            center=center,
            missing=missing,
            id_codes=id_codes,
        )
        for s in names
    }


def per_respondent(
    results: dict[str, SubscaleSDI], *, id_column: str = "participant_id"
) -> pd.DataFrame:
    """One table: id, then per subscale ``<sub>_raw``, ``<sub>_group``, ``<sub>_discrepancy``."""
    first = next(iter(results.values()))
    frames = [pd.DataFrame({id_column: first.ids})] + [r.table for r in results.values()]
    return pd.concat(frames, axis=1)


def _json_value(value: Any) -> Any:
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def summary(
    results: dict[str, SubscaleSDI],
    *,
    removal_fractions: Iterable[float] | None = DEFAULT_REMOVAL_FRACTIONS,
    within: Within = "group",
) -> dict[str, Any]:
    """The JSON summary of DESIGN.md, plus ``removal`` (SDI after removing each fraction)."""
    out: dict[str, Any] = {}
    for name, res in results.items():
        entry: dict[str, Any] = {
            "sdi": float(res.sdi),
            "n": res.n,
            "left_out": res.left_out,
            "groups": [
                {
                    "group": _json_value(row.group),
                    "n": int(row.n),
                    "mean": float(row.mean),
                    "std": float(row.std),
                    "gdi": float(row.gdi),
                }
                for row in res.groups.itertuples(index=False)
            ],
        }
        if removal_fractions is not None:
            entry["removal"] = res.removal_curve(removal_fractions, within=within).to_dict(
                "records"
            )
        out[name] = entry
    return out
