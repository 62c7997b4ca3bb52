"""One table reader for every format: real files written here by pandas, openpyxl and
pyreadstat; `score` and `sdi` give the same output whatever the format; ids stay text."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pyreadstat
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from facemind import io as fio
from facemind import sdi
from facemind.cli import main
from facemind.errors import FacemindError, InputError
from facemind.instruments import score

ITEMS = [f"dass_{i}" for i in range(1, 22)]


@pytest.fixture(scope="module")
def table() -> pd.DataFrame:
    rng = np.random.default_rng(11)
    df = pd.DataFrame(rng.integers(0, 4, size=(30, 21)), columns=ITEMS)
    df.insert(0, "participant_id", [f"{i:03d}" for i in range(1, 31)])  # 001 .. 030
    df["town"] = ["Zürich", "Köln", "Malmö"] * 10
    return df


def _csv(sep=",", encoding="utf-8"):
    return lambda df, p: df.to_csv(p, sep=sep, index=False, encoding=encoding)


WRITERS = {
    "comma.csv": _csv(),
    "semicolon.csv": _csv(";"),
    "tab.csv": _csv("\t"),
    "tab.tsv": _csv("\t"),
    "windows1252.csv": _csv(";", "cp1252"),
    "bom.csv": _csv(",", "utf-8-sig"),
    "utf16.txt": _csv("\t", "utf-16"),
    "sheet.xlsx": lambda df, p: df.to_excel(p, index=False),
    "data.parquet": lambda df, p: df.to_parquet(p, index=False),
    "spss.sav": lambda df, p: pyreadstat.write_sav(df, str(p)),
    "stata.dta": lambda df, p: pyreadstat.write_dta(df, str(p)),
}


def _read(path, **kw):
    with warnings.catch_warnings(record=True) as notes:
        warnings.simplefilter("always")
        df = fio.read_table(path, **kw)
    return df, [str(n.message) for n in notes]


@pytest.mark.parametrize("name", list(WRITERS))
def test_every_format_reads_the_same_table(name, table, tmp_path):
    path = tmp_path / name
    WRITERS[name](table, path)
    df, notes = _read(path)
    assert df["participant_id"].tolist() == table["participant_id"].tolist()  # 001 stays 001
    assert pd.api.types.is_string_dtype(df["participant_id"])
    assert df["town"].tolist() == table["town"].tolist()  # umlauts decoded in every encoding
    np.testing.assert_array_equal(df[ITEMS].to_numpy(dtype=float), table[ITEMS].to_numpy())
    assert [n for n in notes if "id column" in n] == []  # text ids: nothing to say
    assert (name == "windows1252.csv") == any("Windows-1252" in n for n in notes)


@pytest.mark.parametrize("name", ["sheet.xlsx", "data.parquet", "spss.sav", "stata.dta", "int"])
def test_numeric_ids_become_text_without_decimal_point_once(name, table, tmp_path):
    numeric = table.assign(participant_id=np.arange(1, 31, dtype=float) * 7)
    if name == "int":  # an integer column in Parquet
        path = tmp_path / "int.parquet"
        numeric.astype({"participant_id": "int64"}).to_parquet(path, index=False)
    else:
        path = tmp_path / name
        WRITERS[name](numeric, path)
    df, notes = _read(path)
    assert df["participant_id"].tolist() == [str(7 * i) for i in range(1, 31)]  # 7.0 -> "7"
    assert len([n for n in notes if "id column 'participant_id' holds numbers" in n]) == 1


def test_excel_mixed_text_and_number_ids(tmp_path):
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.append(["participant_id", "x"])
    ws.append(["007", 1])  # a text cell keeps its zeros
    ws.append([7, 2])  # a number cell is the number 7
    ws.append([8.0, 3])
    wb.save(tmp_path / "ids.xlsx")
    df, notes = _read(tmp_path / "ids.xlsx")
    assert df["participant_id"].tolist() == ["007", "7", "8"]
    assert len(notes) == 1


def test_007_is_not_7_in_csv(tmp_path):
    path = tmp_path / "r.csv"
    path.write_text("participant_id,video_id,x\n007,0012,1\n7,12,2\n")
    df, notes = _read(path)
    assert df["participant_id"].tolist() == ["007", "7"]
    assert df["video_id"].tolist() == ["0012", "12"]
    assert df["x"].tolist() == [1, 2] and notes == []


def test_delimiter_sniffing_respects_quotes_and_decimal_commas(tmp_path):
    path = tmp_path / "eu.csv"
    path.write_text('participant_id;name;score\n001;"Meier, Anna";1,5\n002;"Roth; Ben";2,25\n')
    df, _ = _read(path)
    assert df.columns.tolist() == ["participant_id", "name", "score"]
    assert df["name"].tolist() == ["Meier, Anna", "Roth; Ben"]
    assert df["score"].tolist() == [1.5, 2.25]
    single = tmp_path / "one.csv"
    single.write_text("participant_id\n001\n002\n")
    assert _read(single)[0]["participant_id"].tolist() == ["001", "002"]


def test_named_encoding_and_undecodable_line(tmp_path):
    path = tmp_path / "latin.csv"
    path.write_bytes("participant_id,town\n001,Köln\n002,Malmö\n".encode("latin-1"))
    df, notes = _read(path, encoding="latin-1")
    assert df["town"].tolist() == ["Köln", "Malmö"] and notes == []
    with pytest.raises(InputError, match=r"latin.csv: line 2: byte 0xf6 is not valid utf-8"):
        fio.read_table(path, encoding="utf-8")
    with pytest.raises(FacemindError, match="unknown encoding 'klingon'"):
        fio.read_table(path, encoding="klingon")


def test_line_map_follows_quoted_line_breaks_and_blank_lines(tmp_path):
    path = tmp_path / "multi.csv"
    path.write_text('participant_id,note\n001,"two\nlines"\n\n002,x\n003,y\n')
    df, _ = _read(path)
    assert df["participant_id"].tolist() == ["001", "002", "003"]
    assert [fio.file_line(df, r) for r in (1, 2, 3)] == [2, 5, 6]
    plain = tmp_path / "plain.csv"
    plain.write_text("participant_id,x\n001,1\n002,2\n")
    assert fio.file_line(_read(plain)[0], 2) == 3
    assert fio.file_line(pd.DataFrame({"a": [1]}), 1) is None  # not read from CSV
    df = _read(path)[0]
    assert fio.file_line(df.iloc[[2, 0, 1]], 1) is None  # reordered: lines no longer known
    assert fio.file_line(df[df["participant_id"] != "001"].reset_index(drop=True), 1) is None
    assert fio.file_line(df.copy(), 3) == 6


def test_missing_optional_reader_names_the_extra(tmp_path, monkeypatch):
    path = tmp_path / "sheet.xlsx"
    pd.DataFrame({"participant_id": ["1"]}).to_excel(path, index=False)
    real = fio.find_spec
    monkeypatch.setattr(fio, "find_spec", lambda m: None if m == "openpyxl" else real(m))
    with pytest.raises(FacemindError) as exc:
        fio.read_table(path)
    assert str(exc.value) == (
        f"{path}: reading Excel files needs openpyxl: pip install 'facemind[formats]'"
    )


def test_unsupported_extension_lists_the_formats(tmp_path):
    (tmp_path / "r.json").write_text("{}")
    with pytest.raises(FacemindError, match=r"use .csv, .tsv, .parquet, .xlsx, .sav or .dta"):
        fio.read_table(tmp_path / "r.json")


@pytest.mark.parametrize("name", [n for n in WRITERS if n != "comma.csv"])
def test_score_and_sdi_commands_agree_across_formats(name, table, tmp_path, capsys):
    ref_in, path = tmp_path / "comma.csv", tmp_path / name
    WRITERS["comma.csv"](table, ref_in)
    WRITERS[name](table, path)
    outputs = {}
    for src in (ref_in, path):
        for cmd in ("score", "sdi"):
            out = tmp_path / f"{src.stem}_{cmd}.csv"
            extra = ["--summary", tmp_path / f"{src.stem}.json"] if cmd == "sdi" else []
            args = [cmd, src, "--instrument", "dass21", "-o", out, *extra]
            assert main([str(a) for a in args]) == 0, capsys.readouterr().err
            outputs[src.stem, cmd] = out.read_text()
    capsys.readouterr()
    for cmd in ("score", "sdi"):
        assert outputs[path.stem, cmd] == outputs["comma", cmd]
    assert (tmp_path / f"{path.stem}.json").read_text() == (tmp_path / "comma.json").read_text()
    assert outputs["comma", "score"].splitlines()[1].startswith("001,")


def test_python_api_reads_paths(table, tmp_path):
    path = tmp_path / "r.csv"
    table.to_csv(path, sep=";", index=False, encoding="cp1252")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", fio.TableNote)
        scores = score(path, "dass21", encoding="cp1252")
        res = sdi.compute(path, "dass21")
    assert scores["participant_id"].tolist()[:2] == ["001", "002"]
    assert res["stress"].ids.tolist() == table["participant_id"].tolist()


text_cells = st.text(alphabet="ab ,;\t\"'\nxyzäöü", max_size=8).map(lambda t: "t" + t)


@settings(max_examples=40, deadline=None)
@given(
    cells=st.lists(st.tuples(text_cells, st.integers(-5, 5)), min_size=1, max_size=12),
    sep=st.sampled_from([",", ";", "\t"]),
    encoding=st.sampled_from(["utf-8", "utf-8-sig", "cp1252"]),
)
def test_any_written_csv_reads_back_with_rows_on_their_lines(
    cells, sep, encoding, tmp_path_factory
):
    df = pd.DataFrame(cells, columns=["note", "score"])
    df.insert(0, "participant_id", [f"{i:03d}" for i in range(len(df))])
    path = tmp_path_factory.mktemp("csv") / "t.csv"
    df.to_csv(path, sep=sep, index=False, encoding=encoding)
    back, _ = _read(path)
    pd.testing.assert_frame_equal(back, df, check_dtype=False)
    lines = path.read_bytes().decode(encoding).split("\n")
    for row in range(1, len(df) + 1):  # each row's line starts with its id
        assert lines[fio.file_line(back, row) - 1].startswith(df["participant_id"][row - 1])
