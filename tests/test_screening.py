"""Screening indices against hand-computed values and independent simple implementations."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from facemind import screening
from facemind.errors import FacemindError, InputError

# ---------------------------------------------------------------------------- independent refs


def mahalanobis_ref(x: np.ndarray) -> np.ndarray:
    from scipy.spatial.distance import mahalanobis as scipy_mahalanobis

    mean = x.mean(axis=0)
    inv = np.linalg.inv(np.cov(x.T, ddof=1))
    return np.array([scipy_mahalanobis(row, mean, inv) for row in x])


def longstring_ref(row) -> int:
    return max(len(list(g)) for _, g in itertools.groupby(row))


def guttman_ref(x: np.ndarray, lo: int, hi: int) -> tuple[np.ndarray, np.ndarray]:
    """Brute force: count error pairs directly; maximum over every pattern with the same total."""
    m = hi - lo
    n_items = x.shape[1]

    def steps(row):
        return [int(row[j] - lo >= h) for j in range(n_items) for h in range(1, m + 1)]

    passed = np.array([steps(r) for r in x])
    pop = passed.mean(axis=0)
    # Most popular first; ties by level, then item (the documented tie-break).
    keys = [(-pop[j * m + h], h, j) for j in range(n_items) for h in range(m)]
    order = sorted(range(n_items * m), key=lambda k: keys[k])
    position = {step: i for i, step in enumerate(order)}

    def errors(p):
        return sum(
            1
            for a in range(len(p))
            for b in range(len(p))
            if position[a] < position[b] and p[a] == 0 and p[b] == 1
        )

    best: dict[int, int] = {}
    for pattern in itertools.product(range(lo, hi + 1), repeat=n_items):
        p = steps(pattern)
        r = sum(p)
        best[r] = max(best.get(r, 0), errors(p))
    g = np.array([errors(p) for p in passed], dtype=float)
    gmax = np.array([best[int(sum(p))] for p in passed], dtype=float)
    return g, np.where(gmax > 0, g / np.where(gmax > 0, gmax, 1), 0.0)


# ---------------------------------------------------------------------------- hand values


def test_irv_and_longstring_hand_values():
    x = np.array([[0, 0, 0, 0], [0, 3, 0, 3], [1, 1, 2, 2], [2, 2, 2, 1]])
    # sd (ddof=1) of [0,3,0,3] = sqrt(4 * 2.25 / 3) = sqrt(3)
    np.testing.assert_allclose(screening.irv(x), [0.0, np.sqrt(3.0), np.sqrt(1 / 3), 0.5])
    np.testing.assert_allclose(screening.irv(x, tail="low"), -screening.irv(x))
    np.testing.assert_array_equal(screening.longstring(x), [4, 1, 2, 3])


def test_mahalanobis_hand_value():
    # Two uncorrelated items with sd 1: distance = Euclidean distance of z-scores.
    x = np.array([[-1.0, -1.0], [-1.0, 1.0], [1.0, -1.0], [1.0, 1.0]])
    # var (ddof=1) of [-1,-1,1,1] = 4/3, so each coordinate is 1/sqrt(4/3) away from 0.
    expected = np.sqrt(2 * 0.75)
    np.testing.assert_allclose(screening.mahalanobis(x), [expected] * 4)


def test_guttman_hand_value_dichotomous():
    # Item A is answered "yes" by 3 of 4, item B by 2 of 4: A is the more popular step.
    x = np.array([[1, 0], [1, 0], [0, 1], [1, 1]])
    raw = screening.guttman(x, response_min=0, response_max=1, normed=False)
    np.testing.assert_array_equal(raw, [0, 0, 1, 0])  # [0,1] fails A and passes B
    normed = screening.guttman(x, response_min=0, response_max=1)
    np.testing.assert_array_equal(normed, [0, 0, 1, 0])  # the maximum for total 1 is 1


def test_guttman_hand_value_polytomous():
    # Two items scored 0-2 -> steps A>=1, A>=2, B>=1, B>=2.
    x = np.array([[2, 0], [2, 1], [1, 0], [0, 2]])
    # Popularities: A1 3/4, A2 2/4, B1 2/4, B2 1/4. A2 and B1 tie and the lower level goes
    # first, so the order is A1, B1, A2, B2.
    # [2,0] passes A1, A2 and fails B1, which comes before A2: 1 error.
    # [0,2] passes B1, B2, fails A1, A2: (A1,B1) (A1,B2) (A2,B2) = 3 errors.
    # With 2 steps passed the most errors possible is 3 (pass B1 and B2), so G_p^N = 1/3 and 1.
    # [2,1] passes A1, B1, A2 (the three most popular) and [1,0] passes A1: no errors.
    raw = screening.guttman(x, response_min=0, response_max=2, normed=False)
    np.testing.assert_array_equal(raw, [1, 0, 0, 3])
    normed = screening.guttman(x, response_min=0, response_max=2)
    np.testing.assert_allclose(normed, [1 / 3, 0, 0, 1])


# ---------------------------------------------------------------------------- vs references

item_blocks = arrays(
    np.int64,
    st.tuples(st.integers(4, 25), st.integers(2, 4)),
    elements=st.integers(0, 3),
)


@settings(max_examples=60, deadline=None)
@given(item_blocks)
def test_longstring_matches_groupby(x):
    np.testing.assert_array_equal(screening.longstring(x), [longstring_ref(r) for r in x])


@settings(max_examples=40, deadline=None)
@given(item_blocks)
def test_irv_matches_row_std(x):
    np.testing.assert_allclose(screening.irv(x), [np.std(r, ddof=1) for r in x])


@settings(max_examples=40, deadline=None)
@given(item_blocks)
def test_guttman_matches_brute_force(x):
    g_ref, gn_ref = guttman_ref(x, 0, 3)
    np.testing.assert_allclose(
        screening.guttman(x, response_min=0, response_max=3, normed=False), g_ref
    )
    gn = screening.guttman(x, response_min=0, response_max=3)
    np.testing.assert_allclose(gn, gn_ref)
    assert np.all((gn >= 0) & (gn <= 1))


def test_mahalanobis_matches_scipy():
    rng = np.random.default_rng(3)
    x = rng.integers(0, 4, size=(60, 7)).astype(float)
    np.testing.assert_allclose(screening.mahalanobis(x), mahalanobis_ref(x), rtol=1e-9)


def test_mahalanobis_tolerates_constant_item():
    x = np.array([[0, 1, 2], [0, 2, 1], [0, 3, 3], [0, 0, 1]], dtype=float)
    d = screening.mahalanobis(x)
    np.testing.assert_allclose(d, mahalanobis_ref(x[:, 1:]), rtol=1e-9)


def test_indices_flag_planted_random_responders():
    """Uniformly random answers among one-factor respondents score as suspicious."""
    rng = np.random.default_rng(0)
    n, k = 400, 7
    theta = rng.normal(size=n)
    b = np.array([0.0, 0.8, 1.6])
    x = (
        theta[:, None, None] * 1.8 - b[None, None, :] * 1.8 + rng.logistic(size=(n, k, 1)) > 0
    ).sum(axis=2)
    planted = rng.random(n) < 0.1
    x[planted] = rng.integers(0, 4, size=(planted.sum(), k))
    for name in ("mahalanobis", "irv", "guttman"):
        s = screening.screen(x, name, response_min=0, response_max=3)
        assert s[planted].mean() > s[~planted].mean(), name


def test_missing_value_is_a_located_error():
    df = pd.DataFrame({"a": [0, 1, 2], "b": [1, np.nan, 0]})
    with pytest.raises(InputError) as exc:
        screening.mahalanobis(df)
    assert exc.value.row == 2 and exc.value.column == "b"


def test_unknown_index():
    with pytest.raises(FacemindError, match="unknown screening index"):
        screening.screen(np.zeros((3, 2)), "nope")
