"""`facemind sweep`: outputs per DESIGN.md and one-line errors for bad input."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from facemind.cli import main
from facemind.evaluation import KEY_COLUMNS, result_columns
from facemind.synth import make_responses


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """SYNTHETIC responses and a features table driven by the latent states."""
    d = tmp_path_factory.mktemp("sweep")
    resp = make_responses(180, seed=7, discrepant_share=0.2)
    rng = np.random.default_rng(7)
    lat = resp[["latent_depression", "latent_anxiety", "latent_stress"]].to_numpy()
    x = lat @ rng.normal(size=(3, 8)) + rng.normal(size=(180, 8))
    feats = pd.DataFrame(x, columns=[f"ch{i}__mean" for i in range(8)])
    feats.insert(0, "participant_id", resp["participant_id"])
    feats.insert(1, "video_id", resp["participant_id"] + "_v0")
    feats.to_parquet(d / "features.parquet")
    resp.to_csv(d / "responses.csv", index=False)
    return d


def run(args, capsys):
    code = main([str(a) for a in args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def base(files, out, *extra):
    return [
        "sweep",
        "--features",
        files / "features.parquet",
        "--responses",
        files / "responses.csv",
        "--instrument",
        "dass21",
        "-o",
        out,
        "--models",
        "logreg",
        "--folds",
        "3",
        *extra,
    ]


def test_sweep_writes_results_and_summary(files, tmp_path, capsys):
    out = tmp_path / "results.csv"
    code, stdout, _ = run(
        base(
            files,
            out,
            "--subscales",
            "depression,stress",
            "--fractions",
            "0,0.1",
            "--criteria",
            "sdi,random,longstring",
            "--seed",
            "3",
        ),
        capsys,
    )
    assert code == 0, stdout
    folds = pd.read_csv(out)
    assert list(folds.columns) == result_columns("binary")
    assert list(folds.columns[:10]) == list(KEY_COLUMNS)
    # 2 subscales x 1 model x 2 protocols x 3 criteria x 2 fractions x 3 folds
    assert len(folds) == 2 * 2 * 3 * 2 * 3
    assert set(folds["criterion"]) == {"sdi", "random", "longstring"}
    summary = pd.read_csv(tmp_path / "results_summary.csv")
    assert len(summary) == 2 * 2 * 3 * 2
    assert (summary["n_folds"] == 3).all()
    assert "summary" in stdout and "results_summary.csv" in stdout
    assert not (tmp_path / ".results.csv.parts").exists()  # resume parts removed on success
    # Deterministic: a second run gives the same table.
    out2 = tmp_path / "again.parquet"
    code, _, _ = run(
        base(
            files,
            out2,
            "--subscales",
            "depression,stress",
            "--fractions",
            "0,0.1",
            "--criteria",
            "sdi,random,longstring",
            "--seed",
            "3",
        ),
        capsys,
    )
    assert code == 0
    pd.testing.assert_frame_equal(pd.read_parquet(out2), folds, check_dtype=False)
    assert (tmp_path / "again_summary.parquet").exists()


def test_sweep_regression_task(files, tmp_path, capsys):
    out = tmp_path / "reg.csv"
    code, _, err = run(
        [
            "sweep",
            "--features",
            files / "features.parquet",
            "--responses",
            files / "responses.csv",
            "--instrument",
            "dass21",
            "-o",
            out,
            "--task",
            "regression",
            "--models",
            "ridge",
            "--subscales",
            "anxiety",
            "--fractions",
            "0",
            "--folds",
            "3",
        ],
        capsys,
    )
    assert code == 0, err
    assert list(pd.read_csv(out).columns) == result_columns("regression")


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--criteria", "sdi,vibes"], "unknown criterion 'vibes'"),
        (["--protocols", "leaky"], "unknown protocol 'leaky'"),
        (["--fractions", "0,abc"], "--fractions: not a comma-separated list of numbers"),
        (["--fractions", "0,1"], "removal fraction must be in [0, 1)"),
        (["--subscales", "mood"], "unknown subscale 'mood'"),
        (["--models", "deepest"], "unknown model 'deepest'"),
        (["--task", "ranking"], "unknown task 'ranking'"),
        (["--positive-band", "normal"], "--positive-band 'normal' is not a band above"),
        (["--folds", "1"], "--folds must be at least 2"),
        (["--folds", "90"], "fewer than --folds 90"),
        (["--balance", "oversample"], "unknown balance 'oversample'"),
    ],
)
def test_sweep_bad_options(files, tmp_path, capsys, extra, message):
    out = tmp_path / "results.csv"
    out.write_text("earlier results\n")
    code, _, err = run(base(files, out, *extra), capsys)
    assert code == 2
    assert message in err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert out.read_text() == "earlier results\n"  # nothing half-written or lost
    assert not (tmp_path / "results_summary.csv").exists()


def test_sweep_bad_files(files, tmp_path, capsys):
    out = tmp_path / "r.csv"
    code, _, err = run(
        base(files, out)[:2] + [tmp_path / "none.parquet"] + base(files, out)[3:], capsys
    )
    assert code == 2 and "none.parquet: file not found" in err
    code, _, err = run(base(files, tmp_path / "r.txt"), capsys)
    assert code == 2 and "unsupported --out extension" in err
    # Features without the id column: the file and column are named.
    bad = tmp_path / "noid.csv"
    pd.read_parquet(files / "features.parquet").drop(columns="participant_id").to_csv(
        bad, index=False
    )
    args = base(files, out)
    args[2] = bad
    code, _, err = run(args, capsys)
    assert code == 2 and "noid.csv" in err and "participant_id" in err
    # A bad item value in the responses: file, row, column and value.
    resp = pd.read_csv(files / "responses.csv")
    resp.loc[4, "dass_7"] = 9
    bad_resp = tmp_path / "bad_responses.csv"
    resp.to_csv(bad_resp, index=False)
    args = base(files, out)
    args[4] = bad_resp
    code, _, err = run(args, capsys)
    assert code == 2
    assert "bad_responses.csv" in err and "row 5" in err and "dass_7" in err and "9" in err


def test_sweep_help(capsys):
    code, out, _ = run(["sweep", "--help"], capsys)
    assert code == 0
    for flag in (
        "--features",
        "--responses",
        "--instrument",
        "--subscales",
        "--task",
        "--positive-band",
        "--models",
        "--fractions",
        "--protocols",
        "--criteria",
        "--folds",
        "--repeats",
        "--seed",
        "--jobs",
    ):
        assert flag in out
