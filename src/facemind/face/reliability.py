"""How far each AU estimate can be trusted: agreement with OpenFace 2 on reference people.

The table ``data/au_reliability.csv`` is written by ``benchmarks/bench_au_agreement.py`` from
the OpenFace 2 references of the test videos (two people): per AU, Pearson r on each person
(mean over that person's videos where OpenFace's AU varies, sd > 0.1), the
leave-one-person-out r (the AU's source and neutral percentile chosen on one person,
measured on the other; the lower of the two directions) and a grade by :func:`grade`.
``explain`` and the report use it to mark an important AU graded ``limited``, so that no
clinical finding is read into an estimate that is not shown to hold across people.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache
from importlib import resources

import numpy as np
import pandas as pd

RELIABILITY_FILE = "au_reliability.csv"
#: Agreement an AU needs on every reference person and when held out.
MIN_R = 0.6
#: People on whom OpenFace's AU must vary for agreement to be measured across people.
MIN_PEOPLE = 2
RULE = (
    f"reliable: r >= {MIN_R} with OpenFace 2 on each of at least {MIN_PEOPLE} reference people "
    f"where its AU varies (sd > 0.1), and r >= {MIN_R} leave-one-person-out; otherwise limited"
)


def grade(r_by_person: Iterable[float], lopo: float) -> str:
    """``"reliable"`` or ``"limited"`` by :data:`RULE`; NaN: not measured on that person."""
    rs = np.asarray(list(r_by_person), dtype=np.float64)
    measured = rs[np.isfinite(rs)]
    ok = len(measured) >= MIN_PEOPLE and bool((measured >= MIN_R).all())
    return "reliable" if ok and np.isfinite(lopo) and lopo >= MIN_R else "limited"


@lru_cache(maxsize=1)
def au_reliability() -> pd.DataFrame:
    """The shipped table: one row per AU (``au``, ``facs``, ``r_<person>`` ..., ``lopo_r``,
    ``grade``), indexed by AU."""
    src = resources.files("facemind.face").joinpath("data", RELIABILITY_FILE)
    with src.open("r", encoding="utf-8") as fh:
        return pd.read_csv(fh, comment="#").set_index("au")


def limited_aus(channels: Iterable[str]) -> list[str]:
    """The AUs among ``channels`` (in their order, once each) graded ``limited``."""
    table = au_reliability()
    out: list[str] = []
    for ch in channels:
        if ch in table.index and table.at[ch, "grade"] == "limited" and ch not in out:
            out.append(ch)
    return out


def limited_note(channels: Iterable[str]) -> str | None:
    """A note naming the ``limited`` AUs among important ``channels``; ``None`` if none."""
    aus = limited_aus(channels)
    if not aus:
        return None
    return (
        f"{', '.join(aus)} {'is' if len(aus) == 1 else 'are'} among the important channels but "
        f"graded limited: the estimate does not agree with OpenFace 2 across the reference "
        f"people ({RULE}; docs/extraction.md). Read no clinical finding into "
        f"{'it' if len(aus) == 1 else 'them'}."
    )
