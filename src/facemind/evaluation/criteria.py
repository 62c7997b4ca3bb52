"""Removal criteria: who is removed first, and the keep-mask within total-score groups."""

from __future__ import annotations

import numpy as np

from .. import screening, sdi
from ..errors import FacemindError
from ..instruments import Instrument
from .config import CRITERIA, stable_seed


def criterion_scores(
    criterion: str, items: np.ndarray, groups: np.ndarray, inst: Instrument, *, seed: int = 0
) -> np.ndarray:
    """Suspicion score of every respondent (higher = removed first) from the rows given only.

    ``sdi``: the normalized discrepancy to the respondent's total-score group center, items
    standardized over these rows; ``random``: uniform noise from ``seed``; otherwise the
    screening index of the same name.
    """
    if criterion == "sdi":
        return sdi.subscale_discrepancy(items, groups, standardize=True, center="group")
    if criterion == "random":
        return np.random.default_rng(seed).random(len(items))
    if criterion in screening.INDICES:
        return screening.screen(
            items, criterion, response_min=inst.response_min, response_max=inst.response_max
        )
    raise FacemindError(f"unknown criterion {criterion!r}; choose from {', '.join(CRITERIA)}")


def removal_keep(
    criterion: str,
    items: np.ndarray,
    groups: np.ndarray,
    fraction: float,
    inst: Instrument,
    *,
    seed: int = 0,
) -> np.ndarray:
    """Keep-mask after removing ``fraction`` of every total-score group by ``criterion``.

    Ties (common for ``longstring``) are broken at random from ``seed``.
    """
    if fraction == 0:
        return np.ones(len(items), dtype=bool)
    scores = criterion_scores(criterion, items, groups, inst, seed=seed)
    tiebreak = np.random.default_rng(stable_seed(seed, "tiebreak")).permutation(len(items))
    return sdi.keep_within_groups(scores, groups, fraction, tiebreak=tiebreak)
