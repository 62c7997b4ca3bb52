"""Per-respondent screening indices for careless responding and person misfit.

Established alternatives to the SDI discrepancy, computed from the same item block (one row per
respondent, one column per item, values after reverse keying). Every function returns one
float per row, **higher = more suspicious**, so any of them can drive the same removal filters
as the SDI (:func:`facemind.sdi.keep_within_groups` / :func:`facemind.sdi.keep_overall`).

- :func:`mahalanobis`: distance of the response vector to the sample mean under the sample
  covariance (multivariate outliers; Meade & Craig 2012).
- :func:`irv`: intra-individual response variability, the standard deviation of a person's
  answers across items (Dunn et al. 2018; ``careless::irv``). High IRV flags erratic, random-like
  answering; pass ``tail="low"`` to flag straight-lining instead (low IRV).
- :func:`longstring`: the longest run of identical consecutive answers (Johnson 2005).
- :func:`guttman`: normed Guttman errors for polytomous items, G_p^N (Molenaar 1991; Emons
  2008), the person-fit statistic ``PerFit::Gnormed.poly``.

All sample statistics (means, covariance, item-step popularities) are estimated from the rows
passed in, so a call on a training fold uses the training fold only.
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
import pandas as pd

from .errors import FacemindError, InputError

__all__ = ["INDICES", "guttman", "guttman_max", "irv", "longstring", "mahalanobis", "screen"]


def _block(items: Any, *, name: str) -> np.ndarray:
    """Item block as a finite 2-D float array, or a one-line error naming the first missing cell."""
    if isinstance(items, pd.DataFrame):
        x = items.to_numpy(dtype=float, na_value=np.nan)
        columns = [str(c) for c in items.columns]
    else:
        x = np.asarray(items, dtype=float)
        columns = None
    if x.ndim != 2:
        raise FacemindError(f"{name}: expected a 2-D item block (respondents x items)")
    if x.shape[1] < 2:
        raise FacemindError(f"{name}: needs at least two items, got {x.shape[1]}")
    bad = np.argwhere(~np.isfinite(x))
    if bad.size:
        r, c = (int(v) for v in bad[0])
        raise InputError(
            f"{name}: missing or non-finite item value ({len(bad)} cell(s)); score complete "
            "responses only",
            row=r + 1,
            column=columns[c] if columns else str(c),
        )
    return x


def mahalanobis(items: Any) -> np.ndarray:
    """Mahalanobis distance ``sqrt((x - m)' S^+ (x - m))`` of each row to the sample mean.

    ``S`` is the sample covariance (ddof=1); its Moore-Penrose pseudo-inverse keeps the index
    defined when items are collinear or constant in the sample. Needs at least two rows.
    """
    x = _block(items, name="mahalanobis")
    if len(x) < 2:
        raise FacemindError("mahalanobis: needs at least two respondents")
    centered = x - x.mean(axis=0)
    cov = np.cov(x, rowvar=False, ddof=1)
    inv = np.linalg.pinv(np.atleast_2d(cov), hermitian=True)
    d2 = np.einsum("ij,jk,ik->i", centered, inv, centered)
    return np.sqrt(np.clip(d2, 0.0, None))


def irv(items: Any, *, tail: Literal["high", "low"] = "high") -> np.ndarray:
    """Intra-individual response variability: each row's standard deviation (ddof=1).

    ``tail="high"`` returns the IRV itself (high = erratic answering); ``tail="low"`` returns
    ``-IRV`` so that straight-lining (IRV 0) ranks as the most suspicious.
    """
    x = _block(items, name="irv")
    sd = x.std(axis=1, ddof=1)
    if tail == "high":
        return sd
    if tail == "low":
        return -sd
    raise FacemindError(f"irv: tail must be 'high' or 'low', got {tail!r}")


def longstring(items: Any) -> np.ndarray:
    """Length of the longest run of identical consecutive answers, in item order."""
    x = _block(items, name="longstring")
    same = x[:, 1:] == x[:, :-1]
    run = np.ones(len(x), dtype=np.int64)
    best = np.ones(len(x), dtype=np.int64)
    for j in range(same.shape[1]):
        run = np.where(same[:, j], run + 1, 1)
        best = np.maximum(best, run)
    return best.astype(float)


def _steps(x: np.ndarray, response_min: int | None, response_max: int | None):
    lo = int(np.min(x)) if response_min is None else int(response_min)
    hi = int(np.max(x)) if response_max is None else int(response_max)
    if hi <= lo:
        raise FacemindError("guttman: needs at least two response categories")
    if np.any(x < lo) or np.any(x > hi) or np.any(np.mod(x, 1) != 0):
        raise FacemindError(f"guttman: item values must be integers in {lo}-{hi}")
    m = hi - lo
    shifted = (x - lo).astype(np.int64)
    # Item step (j, h), h = 1..m, is passed when the answer to item j is >= h.
    passed = np.stack([shifted >= h for h in range(1, m + 1)], axis=2)  # n x J x m
    return passed.reshape(len(x), -1), m  # step index = j * m + (h - 1)


def _step_ranks(passed: np.ndarray, n_items: int, m: int) -> np.ndarray:
    """1-based rank of every item step, most popular first.

    Ties in popularity are broken by step level (lower first), then item order, so that the
    steps of one item are always ranked in their natural order.
    """
    popularity = passed.mean(axis=0)
    item = np.repeat(np.arange(n_items), m)
    level = np.tile(np.arange(m), n_items)
    order = np.lexsort((item, level, -popularity))
    ranks = np.empty(len(order), dtype=np.int64)
    ranks[order] = np.arange(1, len(order) + 1)
    return ranks


def guttman_max(step_ranks: np.ndarray, n_items: int, m: int) -> np.ndarray:
    """Largest possible G_p for every number of passed steps r = 0..J*m, given step ranks.

    G_p = sum of ranks of the passed steps - r(r+1)/2, and the steps passed on one item are
    always its first h steps, so the maximum is a small knapsack over items (exact).
    """
    ranks = np.asarray(step_ranks).reshape(n_items, m)
    prefix = np.concatenate([np.zeros((n_items, 1)), np.cumsum(ranks, axis=1)], axis=1)
    total = n_items * m
    best = np.full(total + 1, -np.inf)
    best[0] = 0.0
    for j in range(n_items):
        new = np.full(total + 1, -np.inf)
        for h in range(m + 1):
            shifted = np.full(total + 1, -np.inf)
            shifted[h:] = best[: total + 1 - h] + prefix[j, h]
            new = np.maximum(new, shifted)
        best = new
    r = np.arange(total + 1)
    return best - r * (r + 1) / 2.0


def guttman(
    items: Any,
    *,
    response_min: int | None = None,
    response_max: int | None = None,
    normed: bool = True,
) -> np.ndarray:
    """Guttman errors for polytomous items, normed by their maximum given the total (G_p^N).

    Each item with categories ``min..max`` becomes ``max - min`` item steps ("answer >= h").
    Steps are ordered by their popularity in the sample; a Guttman error is a pair of steps
    where a person fails the more popular step and passes the less popular one. ``normed``
    divides by the largest count possible for the person's total score (0 when that is 0,
    i.e. for the lowest and highest totals). The response range defaults to the observed one;
    pass the instrument's range so that unused categories still count.
    """
    x = _block(items, name="guttman")
    passed, m = _steps(x, response_min, response_max)
    n_items = x.shape[1]
    ranks = _step_ranks(passed, n_items, m)
    r = passed.sum(axis=1)
    g = (passed * ranks).sum(axis=1) - r * (r + 1) / 2.0
    if not normed:
        return g.astype(float)
    gmax = guttman_max(ranks, n_items, m)[r]
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(gmax > 0, g / np.where(gmax > 0, gmax, 1.0), 0.0)


#: Screening indices usable as removal criteria, by name.
INDICES: dict[str, Any] = {
    "mahalanobis": mahalanobis,
    "irv": irv,
    "longstring": longstring,
    "guttman": guttman,
}


def screen(
    items: Any,
    index: str,
    *,
    response_min: int | None = None,
    response_max: int | None = None,
) -> np.ndarray:
    """Compute screening ``index`` (a name in :data:`INDICES`) for every row of ``items``."""
    if index not in INDICES:
        raise FacemindError(
            f"unknown screening index {index!r}; choose one of {', '.join(INDICES)}"
        )
    if index == "guttman":
        return guttman(items, response_min=response_min, response_max=response_max)
    return INDICES[index](items)
