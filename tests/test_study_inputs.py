"""Study inputs as real exports shape them: ids stay text, joins explain themselves, results
know their origin, small data gets one line, warnings are counted."""

from __future__ import annotations

import contextlib
import io
import json
import tempfile
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from facemind.cli import main
from facemind.cli.notices import quiet_warnings, warning_lines
from facemind.errors import InputError
from facemind.instruments import load_instrument
from facemind.provenance import read_provenance, sidecar_path, table_fingerprint
from facemind.study import describe_id_mismatch, prepare_study, read_study_table
from facemind.synth import make_responses


def run(args):
    """Run the CLI in this process: exit status, stdout, stderr (a traceback would raise)."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main([str(a) for a in args])
    return code, out.getvalue(), err.getvalue()


def cohort(n, seed=0, ids=None):
    """SYNTHETIC responses and a features table (4 channels driven by the latent states)."""
    resp = make_responses(n, seed=seed, discrepant_share=0.1)
    if ids is not None:
        resp["participant_id"] = ids
    rng = np.random.default_rng(seed)
    lat = resp[["latent_depression", "latent_anxiety", "latent_stress"]].to_numpy()
    x = lat @ rng.normal(size=(3, 4)) + 0.5 * rng.normal(size=(n, 4))
    feats = pd.DataFrame(x, columns=[f"ch{i}__mean" for i in range(4)])
    feats.insert(0, "participant_id", resp["participant_id"].to_numpy())
    return resp, feats


def sweep_args(resp, feats, out, *extra):
    return [
        "sweep",
        "--responses",
        resp,
        "--features",
        feats,
        "--instrument",
        "dass21",
        "-o",
        out,
        "--models",
        "logreg",
        "--fractions",
        "0,0.2",
        "--folds",
        "2",
        "--protocols",
        "train-only",
        "--criteria",
        "sdi",
        "--subscales",
        "anxiety",
        *extra,
    ]


def train_args(resp, feats, out):
    return [
        "train",
        "--responses",
        resp,
        "--features",
        feats,
        "--instrument",
        "dass21",
        "--subscale",
        "anxiety",
        "--model",
        "logreg",
        "-o",
        out,
    ]


# --------------------------------------------------------------------------------------------
# Ids stay text
# --------------------------------------------------------------------------------------------

PADDED = [f"{i:03d}" for i in range(1, 41)]


@pytest.mark.parametrize("features_ext", [".csv", ".parquet"])
@pytest.mark.parametrize("responses_ext", [".csv", ".parquet"])
def test_sweep_and_train_keep_leading_zeros(tmp_path, features_ext, responses_ext):
    resp, feats = cohort(40, ids=PADDED)
    r, f = tmp_path / f"r{responses_ext}", tmp_path / f"f{features_ext}"
    for table, path in ((resp, r), (feats, f)):
        table.to_csv(path, index=False) if path.suffix == ".csv" else table.to_parquet(path)
    assert read_study_table(r)["participant_id"].tolist() == PADDED
    code, out, err = run(sweep_args(r, f, tmp_path / "s.csv"))
    assert code == 0, err
    assert "on 40 participants" in out
    code, out, err = run(train_args(r, f, tmp_path / "m"))
    assert code == 0, err
    assert "trained on 40 participants" in out


def test_seven_and_double_oh_seven_are_never_one_participant(tmp_path):
    resp, feats = cohort(12, ids=[f"{i:03d}" for i in range(1, 13)])
    feats["participant_id"] = [str(i) for i in range(1, 13)]  # 1..12 where responses say 001..
    resp.to_csv(tmp_path / "r.csv", index=False)
    feats.to_csv(tmp_path / "f.csv", index=False)
    code, _, err = run(sweep_args(tmp_path / "r.csv", tmp_path / "f.csv", tmp_path / "s.csv"))
    lines = err.strip().splitlines()
    assert code == 2 and len(lines) == 1, err
    assert "no participant id in common" in lines[0]
    assert "zero-padding: '1' in features vs '001' in responses (12 would match" in lines[0]
    assert not (tmp_path / "s.csv").exists()


def test_numeric_parquet_ids_become_text_without_a_decimal_point(tmp_path):
    pd.DataFrame({"participant_id": [1.0, 2.0, np.nan], "x": [1, 2, 3]}).to_parquet(
        tmp_path / "t.parquet"
    )
    ids = read_study_table(tmp_path / "t.parquet")["participant_id"]
    assert ids.tolist()[:2] == ["1", "2"] and pd.isna(ids.iloc[2])


# --------------------------------------------------------------------------------------------
# Joins that explain themselves
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("f_ids", "r_ids", "expected"),
    [
        (["001", "002"], ["1", "2"], "zero-padding: '001' in features vs '1' in responses"),
        (["p01", "p02"], ["P01", "P02"], "letter case: 'p01' in features vs 'P01' in responses"),
        (["P 01", "P 02"], ["P01", "P02"], "whitespace: 'P 01' in features vs 'P01'"),
        (["sub-01", "sub-02"], ["01", "02"], "a prefix ('sub-' vs ''): 'sub-01' in features"),
        (["a", "b"], ["c", "d"], "e.g. 'a' in features, 'c' in responses"),
    ],
)
def test_id_mismatch_names_the_difference(f_ids, r_ids, expected):
    assert expected in describe_id_mismatch(f_ids, r_ids)


def test_join_with_few_ids_in_common_notes_why_and_merges_nothing():
    resp, feats = cohort(20, ids=[f"S{i:02d}" for i in range(20)])
    feats["participant_id"] = [f"s{i:02d}" if i >= 4 else f"S{i:02d}" for i in range(20)]
    study = prepare_study(feats, resp, "dass21", subscales=["anxiety"])
    assert study.n_people == 4  # exact text only: 's05' is not 'S05'
    note = next(n for n in study.notes if n.startswith("only 4 of 20"))
    assert "letter case: 's04' in features vs 'S04' in responses (20 would match" in note
    feats["participant_id"] = [f"s{i:02d}" for i in range(20)]
    with pytest.raises(InputError, match="letter case"):
        prepare_study(feats, resp, "dass21", subscales=["anxiety"])


# --------------------------------------------------------------------------------------------
# Provenance
# --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def swept(tmp_path_factory):
    d = tmp_path_factory.mktemp("prov")
    resp, feats = cohort(30, seed=2)
    resp.to_csv(d / "r.csv", index=False)
    feats.to_parquet(d / "f.parquet")
    for ext in ("csv", "parquet"):
        code, _, err = run(sweep_args(d / "r.csv", d / "f.parquet", d / f"s.{ext}", "--seed", "5"))
        assert code == 0, err
    return d


@pytest.mark.parametrize("ext", ["csv", "parquet"])
def test_sweep_results_carry_their_provenance(swept, ext):
    record = read_provenance(swept / f"s.{ext}")
    assert record == read_provenance(swept / f"s_summary.{ext}")
    assert record["instrument"]["id"] == "dass21" and len(record["instrument"]["spec_sha256"]) == 64
    assert record["subscales"] == ["anxiety"] and record["task"] == "binary"
    assert record["positive_band"] == "mild" and record["models"] == ["logreg"]
    assert record["seed"] == 5 and record["settings"]["folds"] == 2
    assert record["settings"]["fractions"] == [0.0, 0.2]
    from facemind import __version__

    assert record["facemind"] == __version__
    resp = read_study_table(swept / "r.csv")
    assert record["tables"]["responses"] == table_fingerprint(resp, "r.csv")
    feats = read_study_table(swept / "f.parquet")
    assert record["tables"]["features"]["sha256"] == table_fingerprint(feats)["sha256"]
    if ext == "csv":
        assert json.loads(sidecar_path(swept / "s.csv").read_text()) == record


def test_fingerprint_changes_with_one_answer(swept):
    resp = read_study_table(swept / "r.csv")
    before = table_fingerprint(resp)["sha256"]
    assert table_fingerprint(read_study_table(swept / "r.csv"))["sha256"] == before
    resp.loc[3, "dass_2"] = (resp.loc[3, "dass_2"] + 1) % 4
    assert table_fingerprint(resp)["sha256"] != before


def _report(d, responses, instrument, out):
    return run(
        [
            "report",
            "--responses",
            responses,
            "--instrument",
            instrument,
            "--results",
            d / "s.parquet",
            "-o",
            out,
        ]
    )


def test_report_refuses_results_of_another_instrument_or_responses(swept, tmp_path):
    phq = pd.DataFrame(
        {"participant_id": ["a", "b"], **{f"phq9_{i}": [1, 2] for i in range(1, 10)}}
    )
    phq.to_csv(tmp_path / "phq9.csv", index=False)
    code, _, err = _report(swept, tmp_path / "phq9.csv", "phq9", tmp_path / "x.html")
    assert code == 2 and len(err.strip().splitlines()) == 1, err
    assert "results of instrument 'dass21', not 'phq9'" in err
    other = read_study_table(swept / "r.csv")
    other.loc[0, "dass_1"] = (other.loc[0, "dass_1"] + 1) % 4
    other.to_csv(tmp_path / "other.csv", index=False)
    code, _, err = _report(swept, tmp_path / "other.csv", "dass21", tmp_path / "x.html")
    assert code == 2 and len(err.strip().splitlines()) == 1, err
    assert "computed on other responses (r.csv with 30 rows), not other.csv" in err
    assert not (tmp_path / "x.html").exists()


def test_report_accepts_its_own_results(swept, tmp_path):
    code, _, err = _report(swept, swept / "r.csv", "dass21", tmp_path / "ok.html")
    assert code == 0, err
    assert (tmp_path / "ok.html").exists()


def test_trained_model_records_provenance(swept, tmp_path):
    code, _, err = run(
        [
            "train",
            "--responses",
            swept / "r.csv",
            "--features",
            swept / "f.parquet",
            "--instrument",
            "dass21",
            "--subscale",
            "stress",
            "--model",
            "logreg",
            "--seed",
            "4",
            "-o",
            tmp_path / "m",
        ]
    )
    assert code == 0, err
    meta = json.loads((tmp_path / "m" / "model.json").read_text())
    prov = meta["provenance"]
    assert prov["command"] == "train" and prov["subscales"] == ["stress"] and prov["seed"] == 4
    resp = read_study_table(swept / "r.csv")
    assert prov["tables"]["responses"]["sha256"] == table_fingerprint(resp)["sha256"]


# --------------------------------------------------------------------------------------------
# Small data: exit 0, or exit 2 with one line
# --------------------------------------------------------------------------------------------


def test_five_respondents_two_folds_get_one_line(tmp_path):
    resp, feats = cohort(5, seed=4)
    resp.to_csv(tmp_path / "r.csv", index=False)
    feats.to_csv(tmp_path / "f.csv", index=False)
    code, _, err = run(
        [
            "sweep",
            "--responses",
            tmp_path / "r.csv",
            "--features",
            tmp_path / "f.csv",
            "--instrument",
            "dass21",
            "-o",
            tmp_path / "s.csv",
            "--models",
            "logreg",
            "--folds",
            "2",
            "--subscales",
            "anxiety",
        ]
    )
    assert code == 2 and err.count("\n") == 1, err
    assert err == (
        "facemind: error: subscale 'anxiety', fold 2 of 2, paper removal of 0.5 by sdi: the "
        "training set has only one class (1 row(s), class 1); use smaller --fractions, "
        "another --positive-band or more participants\n"
    )


@settings(
    max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    n=st.integers(3, 40),
    seed=st.integers(0, 1000),
    folds=st.integers(2, 5),
    task=st.sampled_from(["binary", "3class", "regression"]),
    band=st.sampled_from(["mild", "moderate", "severe"]),
    fractions=st.sampled_from(["0", "0,0.3", "0.5", "0,0.1,0.5"]),
    protocols=st.sampled_from(["paper", "train-only", "paper,train-only"]),
    balance=st.sampled_from(["downsample", "weights", "none"]),
    grid=st.booleans(),
)
def test_small_cohorts_get_results_or_one_line(
    tmp_path, n, seed, folds, task, band, fractions, protocols, balance, grid
):
    resp, feats = cohort(n, seed=seed)
    d = Path(tempfile.mkdtemp(dir=tmp_path))
    resp.to_csv(d / "r.csv", index=False)
    feats.to_parquet(d / "f.parquet")
    code, _, err = run(
        [
            "sweep",
            "--responses",
            d / "r.csv",
            "--features",
            d / "f.parquet",
            "--instrument",
            "dass21",
            "-o",
            d / "s.csv",
            "--models",
            "ridge" if task == "regression" else "logreg",
            "--folds",
            folds,
            "--task",
            task,
            "--positive-band",
            band,
            "--fractions",
            fractions,
            "--protocols",
            protocols,
            "--criteria",
            "sdi,random",
            "--balance",
            balance,
            "--subscales",
            "stress",
            *(["--grid-search"] if grid else []),
        ]
    )
    assert code in (0, 2), err
    if code == 2:
        lines = err.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("facemind: error:"), err
        assert not (d / "s.csv").exists()
    else:
        assert len(pd.read_csv(d / "s.csv")) > 0


# --------------------------------------------------------------------------------------------
# Quiet by default
# --------------------------------------------------------------------------------------------


def test_sixteen_person_sweep_has_a_short_stderr(tmp_path):
    resp, feats = cohort(16, seed=3)
    resp.to_csv(tmp_path / "r.csv", index=False)
    feats.to_parquet(tmp_path / "f.parquet")
    code, _, err = run(
        [
            "sweep",
            "--responses",
            tmp_path / "r.csv",
            "--features",
            tmp_path / "f.parquet",
            "--instrument",
            "dass21",
            "-o",
            tmp_path / "s.csv",
            "--models",
            "logreg,rf",
            "--fractions",
            "0,0.2",
            "--folds",
            "3",
            "--criteria",
            "sdi",
            "--subscales",
            "stress",
        ]
    )
    assert code == 0, err
    assert len(err.strip().splitlines()) < 10, err
    assert "max_samples" not in err


def test_warnings_are_printed_once_with_a_count(capsys):
    with quiet_warnings(verbose=False) as caught:
        for n in range(5):
            warnings.warn(f"only {n} samples", UserWarning, stacklevel=1)
        caught.append("RuntimeWarning: from a worker")
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [
        "warning (5x, --verbose shows each): UserWarning: only 0 samples",
        "warning: RuntimeWarning: from a worker",
    ]
    assert warning_lines([]) == []


def test_verbose_shows_every_warning(capsys):
    with warnings.catch_warnings():
        warnings.simplefilter("always")
        with quiet_warnings(verbose=True) as caught:
            caught.extend(["UserWarning: a 1", "UserWarning: a 2"])
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["warning: UserWarning: a 1", "warning: UserWarning: a 2"]


def test_instrument_spec_hash_ignores_where_the_spec_was_read(tmp_path):
    from facemind.provenance import instrument_fingerprint

    inst = load_instrument("dass21")
    assert instrument_fingerprint(inst) == instrument_fingerprint(load_instrument("dass21"))
    assert instrument_fingerprint(inst) != instrument_fingerprint(load_instrument("dass42"))


@pytest.mark.parametrize(
    "name", ["semicolon.csv", "windows1252.csv", "sheet.xlsx", "spss.sav", "stata.dta"]
)
def test_study_commands_read_every_format_alike(tmp_path, name):
    """sweep, train and report read responses and features through the one table reader: the
    same rows from a spreadsheet or statistics-package export as from a plain CSV."""
    from test_formats import WRITERS

    resp, feats = cohort(40, ids=PADDED)
    resp = resp[["participant_id", *[c for c in resp.columns if c.startswith("dass_")]]]
    resp.to_csv(tmp_path / "r.csv", index=False)
    feats.to_csv(tmp_path / "f.csv", index=False)
    r, f = tmp_path / f"r_{name}", tmp_path / f"f_{name}"
    WRITERS[name](resp, r)
    WRITERS[name](feats, f)
    code, _, err = run(sweep_args(tmp_path / "r.csv", tmp_path / "f.csv", tmp_path / "plain.csv"))
    assert code == 0, err
    code, out, err = run(sweep_args(r, f, tmp_path / "other.csv"))
    assert code == 0, err
    assert "on 40 participants" in out
    plain, other = pd.read_csv(tmp_path / "plain.csv"), pd.read_csv(tmp_path / "other.csv")
    pd.testing.assert_frame_equal(plain, other)
    code, out, err = run(train_args(r, f, tmp_path / "m"))
    assert code == 0, err
    assert "trained on 40 participants" in out
    code, _, err = run(
        [
            "report",
            "--results",
            tmp_path / "other.csv",
            "--responses",
            r,
            "--instrument",
            "dass21",
            "-o",
            tmp_path / "report.html",
        ]
    )
    assert code == 0, err
    assert (tmp_path / "report.html").is_file()
