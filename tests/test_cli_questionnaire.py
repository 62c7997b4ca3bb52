"""The score / sdi / instruments commands: outputs per DESIGN.md and every error path."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from facemind.cli import main

ITEMS = [f"dass_{i}" for i in range(1, 22)]


@pytest.fixture
def responses(tmp_path):
    rng = np.random.default_rng(0)
    df = pd.DataFrame(rng.integers(0, 4, size=(40, 21)), columns=ITEMS)
    df.insert(0, "participant_id", [f"s{i:02d}" for i in range(40)])
    path = tmp_path / "responses.csv"
    df.to_csv(path, index=False)
    return path, df


def run(args, capsys):
    code = main([str(a) for a in args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_score_and_sdi_outputs(responses, tmp_path, capsys):
    path, df = responses
    out = tmp_path / "scores.parquet"
    code, _, _ = run(["score", path, "--instrument", "dass21", "-o", out], capsys)
    assert code == 0
    scores = pd.read_parquet(out)
    assert list(scores.columns[:4]) == [
        "participant_id",
        "depression",
        "depression_raw",
        "depression_band",
    ]
    dep = [f"dass_{n}" for n in (3, 5, 10, 13, 16, 17, 21)]
    assert scores["depression_raw"].tolist() == df[dep].sum(axis=1).tolist()
    assert scores["depression"].tolist() == (2 * df[dep].sum(axis=1)).tolist()

    sdi_out, summary, plot = tmp_path / "sdi.csv", tmp_path / "s.json", tmp_path / "sdi.png"
    code, stdout, _ = run(
        ["sdi", path, "-i", "dass21", "-o", sdi_out, "--summary", summary, "--plot", plot], capsys
    )
    assert code == 0
    assert "Symptom Discrepancy Index" in stdout
    table = pd.read_csv(sdi_out)
    assert list(table.columns) == ["participant_id"] + [
        f"{s}_{c}"
        for s in ("depression", "anxiety", "stress")
        for c in ("raw", "group", "discrepancy")
    ]
    assert table["depression_discrepancy"].between(0, 1).all()
    data = json.loads(summary.read_text())
    assert set(data) == {"depression", "anxiety", "stress"}
    for entry in data.values():
        assert {"sdi", "n", "groups"} <= set(entry)
        assert entry["n"] == 40
        assert sum(g["n"] for g in entry["groups"]) == 40
        assert set(entry["groups"][0]) == {"group", "n", "mean", "std", "gdi"}
        weighted = sum(g["n"] * g["gdi"] for g in entry["groups"]) / 40
        assert weighted == pytest.approx(entry["sdi"])
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and plot.stat().st_size > 10_000


def test_sdi_missing_drop_leaves_cells_empty(responses, tmp_path, capsys):
    path, df = responses
    df = df.astype({"dass_3": float})
    df.loc[[4, 9], "dass_3"] = np.nan
    df.to_csv(path, index=False)
    out = tmp_path / "sdi.csv"
    code, _, err = run(["sdi", path, "-i", "dass21", "-o", out], capsys)
    assert code == 2 and not out.exists()
    assert "row 5" in err and "'dass_3'" in err and "row 10" in err
    code, _, err = run(["sdi", path, "-i", "dass21", "-o", out, "--missing", "drop"], capsys)
    assert code == 0
    assert "depression: 2 of 40 respondents left out" in err.replace("\n", " ")
    table = pd.read_csv(out)
    assert table["depression_discrepancy"].isna().sum() == 2
    assert (
        table["depression_discrepancy"].isna().tolist()[4]
        and table["anxiety_discrepancy"].notna().all()
    )


def test_instruments_lists_builtins(capsys):
    code, out, _ = run(["instruments"], capsys)
    assert code == 0
    for name in ("dass21", "dass42", "phq9", "gad7", "pss10"):
        assert name in out
    code, out, _ = run(["instruments", "--show", "pss10"], capsys)
    assert code == 0 and "reverse pss_4, pss_5, pss_7, pss_8" in out


CASES = {
    "item column missing": (lambda df: df.drop(columns=["dass_7"]), ["dass_7", "missing"]),
    "out of range": (
        lambda df: df.assign(dass_4=df["dass_4"].where(df.index != 6, 4)),
        ["row 7", "'dass_4'", "value 4", "out of range"],
    ),
    "non-integer": (
        lambda df: df.assign(dass_2=df["dass_2"].astype(float).where(df.index != 2, 1.5)),
        ["row 3", "'dass_2'", "1.5", "integers"],
    ),
    "non-numeric": (
        lambda df: df.assign(dass_9=df["dass_9"].astype(str).where(df.index != 11, "often")),
        ["row 12", "'dass_9'", "'often'", "non-numeric"],
    ),
    "duplicate ids": (
        lambda df: df.assign(participant_id=df["participant_id"].where(df.index != 8, "s01")),
        ["row 9", "'participant_id'", "'s01'", "duplicate", "row 2"],
    ),
    "missing id": (
        lambda df: df.assign(participant_id=df["participant_id"].where(df.index != 5, None)),
        ["row 6", "participant id"],
    ),
    "header only": (lambda df: df.iloc[0:0], ["no respondents"]),
}


@pytest.mark.parametrize("command", ["score", "sdi"])
@pytest.mark.parametrize("case", list(CASES))
def test_error_paths_are_one_line(responses, tmp_path, capsys, command, case):
    path, df = responses
    mutate, expected = CASES[case]
    mutate(df).to_csv(path, index=False)
    out = tmp_path / "out.csv"
    code, _, err = run([command, path, "-i", "dass21", "-o", out], capsys)
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("facemind: error: ") and str(path) in lines[0]
    for fragment in expected:
        assert fragment in lines[0], (fragment, lines[0])
    assert "Traceback" not in err
    assert not out.exists()


def test_empty_file_and_bad_options(tmp_path, capsys, responses):
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    code, _, err = run(["score", empty, "-i", "dass21", "-o", tmp_path / "o.csv"], capsys)
    assert code == 2 and "empty" in err and str(empty) in err
    path, _ = responses
    code, _, err = run(["score", path, "-i", "dass99", "-o", tmp_path / "o.csv"], capsys)
    assert code == 2 and "unknown instrument" in err
    code, _, err = run(
        ["sdi", path, "-i", "dass21", "-o", tmp_path / "o.csv", "--group-by", "x"], capsys
    )
    assert code == 2 and "--group-by" in err
    code, _, err = run(["score", path, "-i", "dass21", "-o", tmp_path / "o.txt"], capsys)
    assert code == 2 and ".txt" in err


def test_existing_output_survives_a_failed_run(responses, tmp_path, capsys):
    path, df = responses
    out = tmp_path / "scores.csv"
    assert run(["score", path, "-i", "dass21", "-o", out], capsys)[0] == 0
    before = out.read_bytes()
    df.assign(dass_1=9).to_csv(path, index=False)
    assert run(["score", path, "-i", "dass21", "-o", out], capsys)[0] == 2
    assert out.read_bytes() == before
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


def test_console_script_exit_code(tmp_path):
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "facemind",
            "score",
            str(tmp_path / "none.csv"),
            "-i",
            "dass21",
            "-o",
            str(tmp_path / "o.csv"),
        ],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 2
    assert proc.stderr.strip() == f"facemind: error: {tmp_path / 'none.csv'}: file not found"
    helped = subprocess.run(
        [sys.executable, "-m", "facemind", "sdi", "--help"], capture_output=True, text=True
    )
    assert helped.returncode == 0 and "--group-by" in helped.stdout


def test_usage_errors_exit_2_without_traceback(capsys):
    for args in (["nonexist"], ["score", "--bogus"]):
        code, _, err = run(args, capsys)
        assert code == 2 and "Traceback" not in err and "Error:" in err


def test_errors_name_row_and_file_line(responses, tmp_path, capsys):
    path, df = responses
    df.assign(dass_4=df["dass_4"].where(df.index != 6, 4)).to_csv(path, index=False)
    code, _, err = run(["score", path, "-i", "dass21", "-o", tmp_path / "o.csv"], capsys)
    assert code == 2 and f"{path}, row 7, line 8, column 'dass_4', value 4" in err
    # a quoted line break and a blank line push the file line further than row + 1
    notes = ["two\nlines" if i == 0 else "x" for i in range(len(df))]
    text = df.assign(note=notes, dass_2=df["dass_2"].where(df.index != 2, 7)).to_csv(index=False)
    head, first, rest = text.split("\n", 2)
    path.write_text(f"{head}\n\n{first}\n{rest}")
    code, _, err = run(["sdi", path, "-i", "dass21", "-o", tmp_path / "o.csv"], capsys)
    assert code == 2 and "row 3, line 6, column 'dass_2', value 7" in err
    assert len(err.strip().splitlines()) == 1


def test_missing_item_column_names_the_near_match(responses, tmp_path, capsys):
    path, df = responses
    df.rename(columns={"dass_7": "dass7", "dass_12": "DASS-12"}).to_csv(path, index=False)
    code, _, err = run(["score", path, "-i", "dass21", "-o", tmp_path / "o.csv"], capsys)
    assert code == 2
    assert err.strip() == (
        f"facemind: error: {path}, column 'dass_7': item column(s) missing for instrument "
        "'dass21': dass_7, dass_12 (did you mean dass7 for dass_7, DASS-12 for dass_12?)"
    )
    df.rename(columns={"participant_id": "Participant_ID"}).to_csv(path, index=False)
    code, _, err = run(["score", path, "-i", "dass21", "-o", tmp_path / "o.csv"], capsys)
    assert code == 2 and "did you mean 'Participant_ID'? set it with --id-column" in err


def test_sdi_warns_when_most_score_groups_are_small(responses, tmp_path, capsys):
    path, df = responses
    small = df.iloc[:5]
    small.to_csv(path, index=False)
    code, _, err = run(["sdi", path, "-i", "dass21", "-o", tmp_path / "o.csv"], capsys)
    assert code == 0
    for sub in ("depression", "anxiety", "stress"):
        totals = small[sorted(_items(sub))].sum(axis=1)
        sizes = totals.value_counts()
        expected = f"{sub}: {(sizes < 5).sum()} of {sizes.size} score groups have fewer than 5"
        assert expected in err.replace("\n", " ")
    big = pd.DataFrame(np.repeat(df[ITEMS].to_numpy()[:4], 50, axis=0), columns=ITEMS)
    big.insert(0, "participant_id", [f"p{i}" for i in range(200)])
    big.to_csv(path, index=False)  # 4 answer profiles, 50 people each: every group is large
    code, _, err = run(["sdi", path, "-i", "dass21", "-o", tmp_path / "o.csv"], capsys)
    assert code == 0 and "score groups" not in err


def _items(subscale: str) -> list[str]:
    from facemind.instruments import load_instrument

    return list(load_instrument("dass21").subscales[subscale].items)


def test_encoding_option(responses, tmp_path, capsys):
    path, df = responses
    df.assign(town="Köln").to_csv(path, sep=";", index=False, encoding="cp1252")
    out = tmp_path / "o.csv"
    code, _, err = run(["score", path, "-i", "dass21", "-o", out], capsys)
    assert code == 0 and "read as Windows-1252" in err
    code, _, err = run(["score", path, "-i", "dass21", "-o", out, "--encoding", "cp1252"], capsys)
    assert code == 0 and "Windows-1252" not in err
    code, _, err = run(["sdi", path, "-i", "dass21", "-o", out, "--encoding", "utf-8"], capsys)
    assert code == 2 and "line 2: byte 0xf6 is not valid utf-8" in err
