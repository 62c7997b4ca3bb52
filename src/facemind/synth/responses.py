"""Synthetic questionnaire answers: demographics, latent states, graded-response DASS-21 items.

Steps 1-4 of the generative model (also in docs/synthetic.md):

1. Demographics: age uniform on 10-18 (whole years), gender female/male with equal odds,
   grade = age - 5 plus a 0/+-1 offset, clipped to 1-12; school one of :data:`SCHOOLS`
   (``S1``...) with equal odds, from a stream of its own, with no effect on states or faces.
2. Latent states: theta = (depression, anxiety, stress) ~ N(mu, R) with correlations
   D-A 0.60, D-S 0.65, A-S 0.70; mu adds +0.2 to D and A for girls and +0.05 per year of age
   above 10 to D. These are the true states, kept as ``latent_depression`` etc.
3. Items: DASS-21 items (``dass_1..dass_21``, subscale membership as the real instrument)
   from Samejima's graded-response model, P(X >= k | theta_s) = logistic(a_j (theta_s - b_jk)),
   k = 1..3, with discriminations a_j ~ U(1.3, 2.6) and ordered thresholds
   b_j = (0.4, 1.3, 2.2) + N(0, 0.35) (one item bank per seed).
4. Discrepant respondents: a share ``discrepant_share`` (``synthetic_discrepant`` = True)
   answer from a *reported* state drawn independently of their true state, and within every
   subscale their answers are rearranged into an atypical profile with the same total (the
   total is poured, up to 3 points per item, into the items roughly hardest first: order by
   -mean(b_j) + N(0, 0.75)), the reverse of the model's own order. Their totals are
   distributed like everyone else's, so they sit in ordinary total-score groups, but their
   item profile is unlike their group's and their score says little about their face: the
   heterogeneity the SDI is meant to find.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..errors import ParameterError

#: DASS-21 item numbers of each subscale (PAPER.md).
DASS21_ITEMS: dict[str, tuple[int, ...]] = {
    "depression": (3, 5, 10, 13, 16, 17, 21),
    "anxiety": (2, 4, 7, 9, 15, 19, 20),
    "stress": (1, 6, 8, 11, 12, 14, 18),
}
SUBSCALES: tuple[str, ...] = ("depression", "anxiety", "stress")
ITEM_COLUMNS: tuple[str, ...] = tuple(f"dass_{i}" for i in range(1, 22))
#: Schools of the synthetic cohort (``school`` column: S1, S2, ...).
SCHOOLS = 6
LATENT_CORRELATION = np.array([[1.0, 0.60, 0.65], [0.60, 1.0, 0.70], [0.65, 0.70, 1.0]])


def check_response_settings(participants: int, discrepant_share: float) -> None:
    """Raise :class:`ParameterError` unless the cohort's size and discrepant share are valid."""
    if participants < 1:
        raise ParameterError(f"`participants` must be at least 1, got {participants}")
    if not 0.0 <= discrepant_share <= 1.0:
        raise ParameterError(f"`discrepant_share` must be within 0-1, got {discrepant_share}")


def item_bank(seed: int = 0) -> pd.DataFrame:
    """Graded-response item parameters: one row per DASS-21 item (subscale, a, b1, b2, b3)."""
    rng = np.random.default_rng([seed, 1])
    rows = []
    for i in range(1, 22):
        sub = next(s for s, items in DASS21_ITEMS.items() if i in items)
        a = rng.uniform(1.3, 2.6)
        b = np.sort(np.array([0.4, 1.3, 2.2]) + rng.normal(0, 0.35, 3))
        rows.append(
            {"item": f"dass_{i}", "subscale": sub, "a": a, "b1": b[0], "b2": b[1], "b3": b[2]}
        )
    return pd.DataFrame(rows)


def _grm_items(theta: np.ndarray, bank: pd.DataFrame, rng: np.random.Generator) -> np.ndarray:
    """Draw 0-3 answers for every respondent (rows of ``theta``: D, A, S) and item."""
    sub_index = bank["subscale"].map({s: k for k, s in enumerate(SUBSCALES)}).to_numpy()
    th = theta[:, sub_index]  # (n, 21)
    a = bank["a"].to_numpy()
    b = bank[["b1", "b2", "b3"]].to_numpy()  # (21, 3)
    p_ge = 1.0 / (1.0 + np.exp(-a[None, :, None] * (th[:, :, None] - b[None, :, :])))
    u = rng.random(th.shape)
    return (u[:, :, None] < p_ge).sum(axis=2).astype(np.int64)


def _pour(
    totals: np.ndarray,
    n_items: int,
    rng: np.random.Generator,
    difficulty: np.ndarray | None = None,
) -> np.ndarray:
    """Atypical profiles: pour each total into the items, at most 3 per item.

    Items are filled in random order or, given ``difficulty``, roughly hardest first (the
    reverse of how the graded-response model fills them), so that the profile is unusual for
    its total.
    """
    if difficulty is None:
        key = rng.random((len(totals), n_items))
    else:
        key = -np.asarray(difficulty)[None, :] + 0.75 * rng.standard_normal((len(totals), n_items))
    order = np.argsort(key, axis=1)
    filled = np.clip(totals[:, None] - 3 * np.arange(n_items)[None, :], 0, 3)
    out = np.empty_like(filled)
    np.put_along_axis(out, order, filled, axis=1)
    return out


def make_responses(
    participants: int, *, seed: int = 0, discrepant_share: float = 0.1
) -> pd.DataFrame:
    """Synthetic responses: ``participant_id``, demographics (``age``, ``gender``, ``grade``,
    ``school``), ``dass_1..dass_21``, truth columns.

    Truth: ``latent_depression/anxiety/stress`` (the true states that drive the faces) and
    ``synthetic_discrepant``; ``synthetic`` is True on every row.
    """
    check_response_settings(participants, discrepant_share)
    rng = np.random.default_rng([seed, 0])
    n = participants
    age = rng.integers(10, 19, n)
    gender = np.where(rng.random(n) < 0.5, "female", "male")
    grade = np.clip(age - 5 + rng.choice([-1, 0, 0, 1], n), 1, 12)
    mu = np.zeros((n, 3))
    mu[:, 0] += 0.05 * (age - 10)
    mu[:, :2] += 0.2 * (gender == "female")[:, None]
    chol = np.linalg.cholesky(LATENT_CORRELATION)
    theta = mu + rng.standard_normal((n, 3)) @ chol.T
    discrepant = np.zeros(n, dtype=bool)
    k = int(round(discrepant_share * n))
    if k:
        discrepant[rng.choice(n, k, replace=False)] = True
    reported = theta.copy()
    reported[discrepant] = rng.standard_normal((k, 3)) @ chol.T
    bank = item_bank(seed)
    items = _grm_items(reported, bank, rng)
    for sub in SUBSCALES:
        cols = [i - 1 for i in DASS21_ITEMS[sub]]
        block = items[np.ix_(discrepant, cols)]
        difficulty = bank[["b1", "b2", "b3"]].to_numpy()[cols].mean(axis=1)
        items[np.ix_(discrepant, cols)] = _pour(block.sum(axis=1), len(cols), rng, difficulty)
    width = max(5, len(str(n)))
    df = pd.DataFrame({"participant_id": [f"P{i:0{width}d}" for i in range(1, n + 1)]})
    df["age"] = age
    df["gender"] = gender
    df["grade"] = grade
    df["school"] = [f"S{k}" for k in np.random.default_rng([seed, 1]).integers(1, SCHOOLS + 1, n)]
    for j, col in enumerate(ITEM_COLUMNS):
        df[col] = items[:, j]
    for s, sub in enumerate(SUBSCALES):
        df[f"latent_{sub}"] = np.round(theta[:, s], 6)
    df["synthetic_discrepant"] = discrepant
    df["synthetic"] = True
    return df
