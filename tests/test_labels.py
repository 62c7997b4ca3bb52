"""Targets, clusters, Jaccard and the features/responses join, against values worked by hand."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from facemind import labels
from facemind.errors import FacemindError, InputError


def _subscale(*bounds):
    names = ["normal", "mild", "moderate", "severe", "extremely_severe"][: len(bounds)]
    return SimpleNamespace(
        bands=[SimpleNamespace(label=n, min=m) for n, m in zip(names, bounds, strict=False)]
    )


# DASS-21 cut-offs on the doubled score (PAPER.md).
DEP = _subscale(0, 10, 14, 21, 28)
ANX = _subscale(0, 8, 10, 15, 20)
STR = _subscale(0, 15, 19, 26, 34)


def test_band_boundaries_depression():
    scores = [0, 8, 9, 10, 13, 14, 20, 21, 27, 28, 42]
    assert labels.band_index(scores, DEP).tolist() == [0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4]
    assert labels.binary_target(scores, DEP).tolist() == [0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1]
    assert labels.three_class_target(scores, DEP).tolist() == [0, 0, 0, 1, 1, 2, 2, 2, 2, 2, 2]
    assert labels.binary_target(scores, DEP, positive_band="moderate").tolist() == [
        0,
        0,
        0,
        0,
        0,
        1,
        1,
        1,
        1,
        1,
        1,
    ]


def test_band_boundaries_anxiety_and_stress():
    assert labels.band_index([7, 8, 9, 10, 14, 15, 19, 20], ANX).tolist() == [
        0,
        1,
        1,
        2,
        2,
        3,
        3,
        4,
    ]
    assert labels.band_index([14, 15, 18, 19, 25, 26, 33, 34], STR).tolist() == [
        0,
        1,
        1,
        2,
        2,
        3,
        3,
        4,
    ]


def test_make_target_dispatch_and_names():
    s = [4, 12, 30]
    assert labels.make_target(s, DEP, "binary").tolist() == [0, 1, 1]
    assert labels.make_target(s, DEP, "bands").tolist() == [0, 1, 4]
    assert labels.make_target(s, DEP, "3class").tolist() == [0, 1, 2]
    reg = labels.make_target(s, DEP, "regression")
    assert reg.dtype == np.float64 and reg.tolist() == [4.0, 12.0, 30.0]
    assert labels.class_names(DEP, "binary") == ["normal", "mild_or_above"]
    assert labels.class_names(DEP, "3class") == ["normal", "mild", "moderate_plus"]
    assert len(labels.class_names(DEP, "bands")) == 5
    with pytest.raises(FacemindError, match="unknown task"):
        labels.make_target(s, DEP, "ordinal")
    with pytest.raises(FacemindError, match="unknown band"):
        labels.binary_target(s, DEP, positive_band="huge")


def test_missing_score_is_an_error_naming_the_row():
    with pytest.raises(InputError, match="row 2"):
        labels.binary_target([3.0, np.nan, 12.0], DEP)


@given(st.lists(st.integers(0, 42), min_size=1, max_size=50))
def test_targets_are_monotone_and_consistent(scores):
    s = np.sort(np.asarray(scores))
    bands = labels.band_index(s, DEP)
    assert np.all(np.diff(bands) >= 0)
    three = labels.three_class_target(s, DEP)
    assert np.array_equal(three, np.minimum(bands, 2))
    assert np.array_equal(labels.binary_target(s, DEP), (bands >= 1).astype(int))


def test_jaccard_by_hand():
    a = np.array([1, 1, 0, 0, 1], dtype=bool)
    b = np.array([1, 0, 0, 1, 1], dtype=bool)
    # intersection {0, 4} = 2, union {0, 1, 3, 4} = 4
    assert labels.jaccard(a, b) == pytest.approx(0.5)
    assert np.isnan(labels.jaccard(np.zeros(3, bool), np.zeros(3, bool)))


def test_jaccard_table_binary_vs_clusters():
    dep = np.array([1, 1, 0, 0, 0, 1], dtype=bool)
    clusters = np.array([0, 1, 1, 0, 0, 1])
    t = labels.jaccard_table({"dep": dep}, {"k2": clusters})
    assert list(t.index) == ["dep"]
    assert list(t.columns) == ["k2=0", "k2=1"]
    # dep={0,1,5}; k2=0 -> {0,3,4}: 1/5 ; k2=1 -> {1,2,5}: 2/4
    assert t.loc["dep", "k2=0"] == pytest.approx(1 / 5)
    assert t.loc["dep", "k2=1"] == pytest.approx(2 / 4)
    sq = labels.jaccard_table({"dep": dep, "anx": np.array([1, 0, 0, 0, 0, 1], dtype=bool)})
    assert sq.loc["dep", "dep"] == 1.0
    assert sq.loc["dep", "anx"] == pytest.approx(2 / 3)


@given(
    st.lists(st.booleans(), min_size=1, max_size=40).flatmap(
        lambda a: st.tuples(st.just(a), st.lists(st.booleans(), min_size=len(a), max_size=len(a)))
    )
)
def test_jaccard_properties(pair):
    a, b = (np.asarray(v) for v in pair)
    j = labels.jaccard(a, b)
    if not (a.any() or b.any()):
        assert np.isnan(j)
    else:
        assert 0.0 <= j <= 1.0
        assert j == labels.jaccard(b, a)
        assert (j == 1.0) == bool(np.array_equal(a, b))


def test_cluster_scores_separates_planted_groups():
    rng = np.random.default_rng(0)
    low = rng.normal([2, 2, 4], 1.0, size=(60, 3))
    high = rng.normal([30, 25, 35], 1.0, size=(40, 3))
    scored = pd.DataFrame(np.vstack([low, high]), columns=["depression", "anxiety", "stress"])
    res = labels.cluster_scores(scored, n_clusters=(2, 3))
    lab2 = res.labels[2]
    # ordered by severity: the high group is cluster 1
    assert lab2[:60].tolist() == [0] * 60 and lab2[60:].tolist() == [1] * 40
    row = res.table.set_index("k").loc[2]
    assert row["silhouette"] > 0.8 and row["davies_bouldin"] < 0.3
    assert row["sizes"] == [60, 40]
    assert set(res.table["k"]) == {2, 3}
    assert res.centers[2].loc[1, "depression"] > res.centers[2].loc[0, "depression"]


def test_cluster_quality_matches_sklearn_and_standardize_by_hand():
    from sklearn import metrics

    x = np.array([[0.0, 0], [0, 1], [5, 5], [5, 6]])
    lab = np.array([0, 0, 1, 1])
    q = labels.cluster_quality(x, lab)
    assert q["silhouette"] == pytest.approx(metrics.silhouette_score(x, lab))
    assert np.isnan(labels.cluster_quality(x, np.zeros(4))["silhouette"])
    z = labels.standardize(np.array([1.0, 2.0, 3.0]))
    assert z.ravel().tolist() == pytest.approx([-1.0, 0.0, 1.0])


def test_join_reports_unmatched_ids_and_keeps_many_videos():
    feats = pd.DataFrame(
        {
            "video_id": ["a1", "a2", "b1", "z1"],
            "participant_id": ["A", "A", "B", "Z"],
            "f": [1, 2, 3, 4],
        }
    )
    resp = pd.DataFrame({"participant_id": ["A", "B", "C"], "dass_1": [0, 1, 2]})
    res = labels.join_features_responses(feats, resp)
    assert res.data["video_id"].tolist() == ["a1", "a2", "b1"]
    assert res.data["dass_1"].tolist() == [0, 0, 1]
    assert res.unmatched_features == ["Z"]
    assert res.unmatched_responses == ["C"]
    assert "1 only in features" in res.summary().replace("participant id(s) ", "")


def test_join_compares_numeric_and_text_ids():
    feats = pd.DataFrame({"participant_id": ["7", "8"], "f": [1.0, 2.0]})
    resp = pd.DataFrame({"participant_id": [7, 8], "dass_1": [3, 0]})
    res = labels.join_features_responses(feats, resp)
    assert res.data["dass_1"].tolist() == [3, 0]
    assert res.unmatched_features == [] and res.unmatched_responses == []


def test_join_errors_name_file_row_and_column():
    feats = pd.DataFrame({"participant_id": ["A"], "f": [1]})
    with pytest.raises(InputError, match="responses, row 3, column 'participant_id', value 'A'"):
        labels.join_features_responses(
            feats, pd.DataFrame({"participant_id": ["A", "B", "A"], "x": [1, 2, 3]})
        )
    with pytest.raises(InputError, match="missing id column"):
        labels.join_features_responses(feats, pd.DataFrame({"pid": ["A"]}))


def test_targets_from_the_builtin_dass21_scoring():
    from facemind.instruments import load_instrument, score

    inst = load_instrument("dass21")
    dep = inst.subscales["depression"]
    # the real spec's bands agree with the paper's cut-offs on the doubled score
    scores = [9, 10, 13, 14, 20, 21, 27, 28]
    assert labels.band_index(scores, dep).tolist() == [0, 1, 1, 2, 2, 3, 3, 4]
    assert labels.band_index(scores, dep).tolist() == dep.band_index(scores).tolist()
    # depression items 3, 5 at value 3 -> raw 6, scored 12 (mild): positive, class 1
    row = {f"dass_{i}": 0 for i in range(1, 22)}
    row.update({"participant_id": "A", "dass_3": 3, "dass_5": 3})
    scored = score(pd.DataFrame([row]), inst)
    assert scored["depression"].tolist() == [12]
    assert labels.make_target(scored["depression"], dep, "binary").tolist() == [1]
    assert labels.make_target(scored["depression"], dep, "3class").tolist() == [1]
    assert labels.make_target(scored["anxiety"], inst.subscales["anxiety"], "binary").tolist() == [
        0
    ]
