"""Atomic writes: all or nothing, usual file mode, tables by extension."""

from __future__ import annotations

import os

import pandas as pd
import pytest

from facemind.errors import FacemindError
from facemind.io import atomic_path, read_table, write_table


def test_failed_write_keeps_the_old_file(tmp_path):
    target = tmp_path / "out.csv"
    target.write_text("old\n")
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        tmp.write_text("half")
        raise RuntimeError("interrupted")
    assert target.read_text() == "old\n"
    assert os.listdir(tmp_path) == ["out.csv"]


def test_mode_follows_umask(tmp_path):
    old = os.umask(0o027)
    try:
        path = write_table(pd.DataFrame({"a": [1]}), tmp_path / "t.parquet")
    finally:
        os.umask(old)
    assert os.stat(path).st_mode & 0o777 == 0o640


def test_round_trip_by_extension(tmp_path):
    df = pd.DataFrame({"participant_id": ["a", "b"], "x": [1.5, 2.0]})
    for name in ("t.csv", "t.parquet"):
        back = read_table(write_table(df, tmp_path / name))
        pd.testing.assert_frame_equal(back, df, check_dtype=False)
    with pytest.raises(FacemindError, match="unsupported table extension"):
        write_table(df, tmp_path / "t.xlsx")
