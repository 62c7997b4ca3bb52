"""Instrument specs and scoring: hand-computed scores, every band boundary, reverse keying."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from facemind.errors import FacemindError, InputError
from facemind.instruments import (
    builtin_ids,
    load_instrument,
    parse_spec,
    score,
    score_responses,
    validate_responses,
)

DASS_ITEMS = [f"dass_{i}" for i in range(1, 22)]
PAPER_ITEMS = {
    "depression": [3, 5, 10, 13, 16, 17, 21],
    "anxiety": [2, 4, 7, 9, 15, 19, 20],
    "stress": [1, 6, 8, 11, 12, 14, 18],
}
# Doubled-score cut-offs from PAPER.md: inclusive lower bounds of mild..extremely severe.
PAPER_CUTS = {
    "depression": [10, 14, 21, 28],
    "anxiety": [8, 10, 15, 20],
    "stress": [15, 19, 26, 34],
}
BANDS = ["normal", "mild", "moderate", "severe", "extremely_severe"]


def dass_frame(rows: list[list[int]], ids: list[str] | None = None) -> pd.DataFrame:
    df = pd.DataFrame(rows, columns=DASS_ITEMS)
    df.insert(0, "participant_id", ids or [f"p{i}" for i in range(len(rows))])
    return df


def test_builtins_load_with_published_structure():
    assert {"dass21", "dass42", "phq9", "gad7", "pss10"} <= set(builtin_ids())
    dass = load_instrument("dass21")
    for sub, nums in PAPER_ITEMS.items():
        assert dass.subscales[sub].items == tuple(f"dass_{n}" for n in nums)
        assert dass.subscales[sub].multiplier == 2
        assert dass.subscales[sub].max_missing == 1
    assert sorted(dass.items, key=lambda s: int(s.split("_")[1])) == DASS_ITEMS
    d42 = load_instrument("dass42")
    assert sorted(int(i.split("_")[1]) for i in d42.items) == list(range(1, 43))
    assert all(len(s.items) == 14 and s.multiplier == 1 for s in d42.subscales.values())
    pss = load_instrument("pss10")
    assert pss.subscales["stress"].reverse == ("pss_4", "pss_5", "pss_7", "pss_8")
    assert (pss.response_min, pss.response_max) == (0, 4)
    assert load_instrument("phq9").subscales["depression"].band_labels[-1] == "severe"
    assert len(load_instrument("gad7").items) == 7


@pytest.mark.parametrize("sub", ["depression", "anxiety", "stress"])
def test_dass21_bands_at_every_boundary(sub):
    s = load_instrument("dass21").subscales[sub]
    cuts = PAPER_CUTS[sub]
    for k, cut in enumerate(cuts):
        assert s.band_of([cut - 1])[0] == BANDS[k]
        assert s.band_of([cut])[0] == BANDS[k + 1]
    assert s.band_of([0])[0] == "normal"
    assert s.band_of([42])[0] == "extremely_severe"
    assert s.band_of([np.nan])[0] is None


def test_dass21_score_by_hand():
    # Respondent 0: every item 1 -> raw 7, scored 14 on each subscale.
    # Respondent 1: depression items 3, anxiety items 0 except dass_2 = 2, stress items 2.
    r1 = [0] * 21
    for n in PAPER_ITEMS["depression"]:
        r1[n - 1] = 3
    r1[2 - 1] = 2
    for n in PAPER_ITEMS["stress"]:
        r1[n - 1] = 2
    out = score(dass_frame([[1] * 21, r1]), "dass21")
    assert list(out.columns) == [
        "participant_id",
        "depression",
        "depression_raw",
        "depression_band",
        "anxiety",
        "anxiety_raw",
        "anxiety_band",
        "stress",
        "stress_raw",
        "stress_band",
    ]
    assert out.loc[0, ["depression", "anxiety", "stress"]].tolist() == [14, 14, 14]
    assert out.loc[0, ["depression_band", "anxiety_band", "stress_band"]].tolist() == [
        "moderate",
        "moderate",
        "normal",
    ]
    assert out.loc[1, ["depression_raw", "anxiety_raw", "stress_raw"]].tolist() == [21, 2, 14]
    assert out.loc[1, ["depression", "anxiety", "stress"]].tolist() == [42, 4, 28]
    assert out.loc[1, ["depression_band", "anxiety_band", "stress_band"]].tolist() == [
        "extremely_severe",
        "normal",
        "severe",
    ]


def test_pss10_reverse_keying_by_hand():
    inst = load_instrument("pss10")
    values = [4, 3, 2, 4, 3, 1, 0, 4, 2, 1]  # items 1..10
    df = pd.DataFrame([values], columns=[f"pss_{i}" for i in range(1, 11)])
    df.insert(0, "participant_id", ["x"])
    out = score(df, inst)
    # reversed: 4->0, 3->1, 0->4, 4->0 ; others as given: 4+3+2+1+2+1 = 13
    assert out.loc[0, "stress_raw"] == 13 + 0 + 1 + 4 + 0
    assert out.loc[0, "stress"] == 18
    assert out.loc[0, "stress_band"] == "moderate"


def test_missing_policies():
    rows = [[1] * 21, [1] * 21, [2] * 21]
    df = dass_frame(rows).astype({"dass_3": float, "dass_5": float})
    df.loc[1, "dass_3"] = np.nan  # one missing depression item
    df.loc[2, ["dass_3", "dass_5"]] = np.nan  # two missing: beyond DASS-21's allowance of one
    with pytest.raises(InputError) as exc:
        score(df, "dass21", source="r.csv")
    msg = str(exc.value)
    assert "r.csv" in msg and "row 2" in msg and "'dass_3'" in msg and "row 3" in msg
    dropped, report = score_responses(
        validate_responses(df, load_instrument("dass21")), missing="drop"
    )
    assert dropped["depression"].isna().tolist() == [False, True, True]
    assert report.dropped == {"depression": 2, "anxiety": 0, "stress": 0}
    prorated, report = score_responses(
        validate_responses(df, load_instrument("dass21")), missing="prorate"
    )
    assert prorated.loc[1, "depression_raw"] == pytest.approx(6 / 6 * 7)
    assert pd.isna(prorated.loc[2, "depression_raw"])
    assert report.prorated["depression"] == 1 and report.dropped["depression"] == 1
    assert prorated.loc[0, "anxiety"] == 14


def test_prorate_keeps_fractional_means():
    df = dass_frame([[1] * 21]).astype({"dass_3": float})
    df.loc[0, "dass_3"] = np.nan
    df.loc[0, "dass_5"] = 2  # answered depression items: 2,1,1,1,1,1 -> mean 7/6
    out, _ = score_responses(validate_responses(df, load_instrument("dass21")), missing="prorate")
    assert out.loc[0, "depression_raw"] == pytest.approx(7 / 6 * 7)
    assert out.loc[0, "depression"] == pytest.approx(7 / 6 * 14)


def test_aliases_and_ambiguity():
    df = dass_frame([[0] * 21]).rename(columns={"dass_1": "DASS21_1", "dass_2": "DASS_2"})
    assert score(df, "dass21").loc[0, "stress"] == 0
    df["dass_1"] = 0
    with pytest.raises(InputError, match="several columns"):
        score(df, "dass21")


def test_spec_file_and_errors(tmp_path):
    spec = tmp_path / "two.yaml"
    spec.write_text(
        "id: two\nresponse: {min: 1, max: 5}\nsubscales:\n  mood:\n    items: [a, b]\n"
        "    reverse: [b]\n    multiplier: 3\n    bands: [{label: low, min: 0}, {label: high, min: 12}]\n"
    )
    inst = load_instrument(spec)
    df = pd.DataFrame({"participant_id": [1, 2], "a": [5, 1], "b": [1, 5]})
    out = score(df, inst)
    # b reversed: 1+5-b; respondent 1: 5 + 5 = 10 -> 30 high; respondent 2: 1 + 1 = 2 -> 6 low
    assert out["mood_raw"].tolist() == [10, 2]
    assert out["mood"].tolist() == [30, 6]
    assert out["mood_band"].tolist() == ["high", "low"]
    bad = {
        "no subscales": {"id": "x", "response": {"min": 0, "max": 3}},
        "reverse not in items": {
            "id": "x",
            "response": {"min": 0, "max": 3},
            "subscales": {"s": {"items": ["a"], "reverse": ["b"]}},
        },
        "bands not ascending": {
            "id": "x",
            "response": {"min": 0, "max": 3},
            "subscales": {
                "s": {"items": ["a"], "bands": [{"label": "a", "min": 5}, {"label": "b", "min": 1}]}
            },
        },
        "min above max": {
            "id": "x",
            "response": {"min": 3, "max": 0},
            "subscales": {"s": {"items": ["a"]}},
        },
        "negative multiplier": {
            "id": "x",
            "response": {"min": 0, "max": 3},
            "subscales": {"s": {"items": ["a"], "multiplier": -1}},
        },
    }
    for label, data in bad.items():
        with pytest.raises(FacemindError, match="invalid instrument spec"):
            parse_spec(data, source=label)
    with pytest.raises(FacemindError, match="unknown instrument"):
        load_instrument("nope")


def test_json_spec_is_accepted(tmp_path):
    spec = tmp_path / "j.json"
    spec.write_text(
        '{"id": "j", "response": {"min": 0, "max": 1}, "subscales": {"s": {"items": ["q1", "q2"]}}}'
    )
    df = pd.DataFrame({"participant_id": ["a"], "q1": [1], "q2": [1]})
    assert score(df, load_instrument(spec))["s"].tolist() == [2]
