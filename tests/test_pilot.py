"""A pilot study without traps: the commands of a 12-participant pilot, with real videos,
where a rerun, a prediction or a message could have misled (issue 21)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pandas as pd
import pytest

import facemind
from facemind.cli import main


@pytest.fixture()
def pilot_videos(assets_dir, tmp_path):
    """Two real videos named by participant, as a pilot's ``videos/`` folder."""
    folder = tmp_path / "videos"
    folder.mkdir()
    shutil.copy(assets_dir / "single_face.mp4", folder / "p001.mp4")
    shutil.copy(assets_dir / "no_face.mp4", folder / "p002.mp4")
    return folder


def _manifest(out):
    return pd.read_parquet(out / "manifest.parquet").set_index("video_id")


def test_rerun_with_a_participant_list_updates_ids_and_prune_drops_stale_records(
    pilot_videos, face_model, tmp_path, capsys
):
    out = tmp_path / "extraction"
    extract = ["extract", "--out", str(out), "--model", str(face_model), "--no-progress"]
    assert main([*extract, str(pilot_videos), "-j", "1"]) == 0
    assert _manifest(out)["participant_id"].to_dict() == {"p001": "p001", "p002": "p002"}
    table = out / "frames" / "p001.parquet"
    stamp = table.stat().st_mtime_ns
    capsys.readouterr()

    notes = tmp_path / "notes.txt"  # listed by mistake
    notes.write_text("not a video")
    listed = tmp_path / "list.csv"
    listed.write_text(
        "path,video_id,participant_id\n"
        f"{pilot_videos / 'p001.mp4'},p001,001\n{pilot_videos / 'p002.mp4'},p002,002\n"
        f"{notes},notes,003\n"
    )
    assert main([*extract, str(listed), "-j", "1"]) == 1  # the text file failed
    said = capsys.readouterr().out
    assert "2 already done, 1 processed" in said
    assert "2 video(s) done earlier got a new participant id" in said
    m = _manifest(out)
    assert m["participant_id"].to_dict() == {"notes": "003", "p001": "001", "p002": "002"}
    assert m.loc["notes", "status"] == "failed"
    assert table.stat().st_mtime_ns == stamp  # ids changed without re-extraction

    listed.write_text(  # the list corrected
        "path,video_id,participant_id\n"
        f"{pilot_videos / 'p001.mp4'},p001,001\n{pilot_videos / 'p002.mp4'},p002,002\n"
    )
    assert main([*extract, str(listed), "-j", "1"]) == 0
    assert "1 video(s) extracted earlier are not among these inputs" in capsys.readouterr().out
    assert "notes" in _manifest(out).index  # kept until asked
    assert main([*extract, str(listed), "-j", "1", "--prune"]) == 0
    said = capsys.readouterr().out
    assert "2 videos: 2 already done, 0 processed; 1 ok, 0 partial, 1 without a face" in said
    assert "1 video(s) not among these inputs dropped" in said
    assert sorted(_manifest(out).index) == ["p001", "p002"]
    assert not (out / "records" / "notes.json").exists()
    assert table.stat().st_mtime_ns == stamp


DASS_ITEMS = [f"dass_{i}" for i in range(1, 22)]


def write_responses(path, answers):
    """Hand-made DASS-21 answers: ``{participant: answer to every item}``."""
    rows = [{"participant_id": pid, **dict.fromkeys(DASS_ITEMS, a)} for pid, a in answers.items()]
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


@pytest.fixture(scope="module")
def sampled_pilot(assets_dir, face_model, tmp_path_factory):
    """Four real face videos extracted at 8 frames per second without AU calibration, their
    features (CSV) and hand-made answers: two normal, two above."""
    root = tmp_path_factory.mktemp("pilot")
    videos = root / "videos"
    videos.mkdir()
    names = ["single_face.mp4", "WolfgangLanger_Pexels.mp4", "face_noface.mov", "noface_face.mov"]
    for i, name in enumerate(names, 1):
        shutil.copy(assets_dir / name, videos / f"p00{i}{name[-4:]}")
    extraction = root / "extraction"
    assert (
        main(
            [
                "extract",
                str(videos),
                "--out",
                str(extraction),
                "--model",
                str(face_model),
                "--sample-fps",
                "8",
                "--au-calibration",
                "none",
                "--no-progress",
                "-j",
                "1",
            ]
        )
        == 0
    )
    assert main(["features", str(extraction), "-o", str(root / "features.csv"), "-j", "1"]) == 0
    write_responses(root / "responses.csv", {"p001": 0, "p002": 2, "p003": 0, "p004": 2})
    return root


def test_predict_extracts_new_videos_as_the_training_videos_were(
    sampled_pilot, face_model, tmp_path, capsys
):
    import json

    root = sampled_pilot
    model_dir = tmp_path / "model"
    assert (
        main(
            [
                "train",
                "--features",
                str(root / "features.csv"),
                "--responses",
                str(root / "responses.csv"),
                "--instrument",
                "dass21",
                "--subscale",
                "depression",
                "--model",
                "logreg",
                "-o",
                str(model_dir),
            ]
        )
        == 0
    )
    made = json.loads((model_dir / "model.json").read_text())["input"]["extraction"]
    assert (made["sample_fps"], made["au_calibration"]) == (8.0, "none")
    assert made["model_sha256"] and made["backend"].startswith("mediapipe")

    pred = tmp_path / "pred.csv"
    video = root / "videos" / "p002.mp4"
    assert (
        main(
            [
                "predict",
                str(video),
                "--model",
                str(model_dir),
                "--face-model",
                str(face_model),
                "-o",
                str(pred),
            ]
        )
        == 0
    )
    on_video = pd.read_csv(pred).set_index("video_id")
    table = tmp_path / "pred_table.csv"
    assert (
        main(
            [
                "predict",
                "--features",
                str(root / "features.csv"),
                "--model",
                str(model_dir),
                "-o",
                str(table),
            ]
        )
        == 0
    )
    on_table = pd.read_csv(table, dtype={"participant_id": str}).set_index("video_id")
    # the same video, extracted alike: the same features, the same probability
    assert on_video.loc["p002", "p_depression_mild_or_above"] == pytest.approx(
        on_table.loc["p002", "p_depression_mild_or_above"], abs=1e-12
    )

    # features of the same videos extracted at full rate are refused in one line
    full = tmp_path / "full"
    assert (
        main(
            [
                "extract",
                str(video),
                "--out",
                str(full),
                "--model",
                str(face_model),
                "--no-progress",
                "-j",
                "1",
            ]
        )
        == 0
    )
    assert main(["features", str(full), "-o", str(tmp_path / "full.parquet")]) == 0
    capsys.readouterr()
    assert (
        main(
            [
                "predict",
                "--features",
                str(tmp_path / "full.parquet"),
                "--model",
                str(model_dir),
                "-o",
                str(tmp_path / "p.csv"),
            ]
        )
        == 2
    )
    said = capsys.readouterr().err.strip()
    assert "\n" not in said and "full.parquet" in said
    assert "sample_fps=None (model: 8.0)" in said and "au_calibration='video'" in said


def test_a_face_model_other_than_the_training_videos_one_is_refused(sampled_pilot, tmp_path):
    from facemind.api import load_model, train
    from facemind.errors import FacemindError

    root = sampled_pilot
    trained = train(
        root / "features.csv", root / "responses.csv", "dass21", subscale="depression", model="rf"
    )
    with pytest.raises(FacemindError, match=r"face model other\.task: sha256 000000000000\.\.\."):
        trained.check_face_model("0" * 64, "other.task")
    trained.save(tmp_path / "m")
    again = load_model(tmp_path / "m")
    assert again.extract_settings().sample_fps == 8.0
    assert again.extract_settings().au_calibration == "none"


SCRIPT = """import facemind as fm
{indent}manifest = fm.extract([{videos}], {out!r}, face_model={model!r}, jobs=2)
{indent}print(sorted(manifest["status"]))
"""


@pytest.mark.parametrize("guarded", [False, True])
def test_a_script_without_a_main_guard_is_refused_before_any_video_fails(
    assets_dir, face_model, tmp_path, guarded
):
    import subprocess
    import sys

    videos = [str(tmp_path / f"{n}.mp4") for n in ("a", "b")]
    for v in videos:
        shutil.copy(assets_dir / "no_face.mp4", v)
    out = tmp_path / "out"
    text = SCRIPT.format(
        indent="    " if guarded else "",
        videos=", ".join(map(repr, videos)),
        out=str(out),
        model=str(face_model),
    )
    if guarded:
        head, rest = text.split("\n", 1)
        text = f'{head}\nif __name__ == "__main__":\n{rest}'
    script = tmp_path / "pilot.py"
    script.write_text(text)
    src = str(Path(facemind.__file__).resolve().parents[1])  # the script imports this checkout
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([src, os.environ.get("PYTHONPATH", "")])}
    run = subprocess.run(
        [sys.executable, str(script)],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp_path,
        env=env,
    )
    if guarded:
        assert run.returncode == 0, run.stderr
        assert run.stdout.strip() == "['no_face', 'no_face']"
        return
    assert run.returncode == 1
    last = run.stderr.strip().splitlines()[-1]
    assert last == (
        f"facemind.errors.ParameterError: `jobs` above 1 starts worker processes, which run "
        f'{script} again: put the script\'s code under `if __name__ == "__main__":`, or use '
        "`jobs=1`"
    )
    assert "BrokenProcessPool" not in run.stderr
    assert not (out / "records").exists()  # no video marked failed


def test_the_main_guard_is_found_in_either_spelling(tmp_path, monkeypatch):
    import sys
    import types

    from facemind.parallel import unguarded_main

    script = tmp_path / "s.py"
    main = types.ModuleType("__main__")
    main.__file__ = str(script)
    monkeypatch.setitem(sys.modules, "__main__", main)
    for text, expected in [
        ("import facemind\nfacemind.extract([], 'o', jobs=2)\n", str(script)),
        ("def f():\n    pass\nif __name__ == '__main__':\n    f()\n", None),
        ('if "__main__" == __name__:\n    pass\n', None),
        ("if __name__ != '__main__':\n    pass\n", str(script)),
    ]:
        script.write_text(text)
        assert unguarded_main() == expected, text
    del main.__file__  # an interactive session
    assert unguarded_main() is None


def test_a_model_that_learned_nothing_warns_validates_at_chance_and_predicts_uncertain(
    sampled_pilot, tmp_path, capsys
):
    import json

    root = sampled_pilot
    # The pilot's videos were copies of one: every participant has the same features.
    one = pd.read_csv(root / "features.csv", dtype={"participant_id": str, "video_id": str})
    ids = [f"p{i:03d}" for i in range(1, 9)]
    same = pd.concat([one.iloc[[0]]] * len(ids), ignore_index=True)
    same["participant_id"] = same["video_id"] = ids
    same.to_csv(tmp_path / "features.csv", index=False)
    write_responses(tmp_path / "responses.csv", {p: 2 * (i % 2) for i, p in enumerate(ids)})
    model_dir = tmp_path / "model"
    capsys.readouterr()
    assert (
        main(
            [
                "train",
                "--features",
                str(tmp_path / "features.csv"),
                "--responses",
                str(tmp_path / "responses.csv"),
                "--instrument",
                "dass21",
                "--subscale",
                "depression",
                "--model",
                "logreg",
                "--validate",
                "--folds",
                "2",
                "-o",
                str(model_dir),
            ]
        )
        == 0
    )
    said = capsys.readouterr()
    assert (
        "warning: ModelWarning: model 'logreg' predicts the same for all 8 training rows"
        in said.err
    )
    assert "cross-validated in 2 folds: roc_auc 0.50" in said.out
    meta = json.loads((model_dir / "model.json").read_text())
    assert meta["training"]["warnings"] and meta["validation"]["folds"] == 2
    assert meta["validation"]["metrics"]["roc_auc"]["mean"] == pytest.approx(0.5)
    assert meta["validation"]["participants"] == 8

    pred = tmp_path / "pred.csv"
    assert (
        main(
            [
                "predict",
                "--features",
                str(tmp_path / "features.csv"),
                "--model",
                str(model_dir),
                "-o",
                str(pred),
            ]
        )
        == 0
    )
    table = pd.read_csv(pred)
    assert table["p_depression_mild_or_above"].sub(0.5).abs().max() < 1e-6
    assert (table["label"] == "uncertain").all()


def test_a_model_that_learned_something_neither_warns_nor_is_uncertain(sampled_pilot, recwarn):
    from facemind.api import train
    from facemind.errors import ModelWarning

    root = sampled_pilot
    trained = train(
        root / "features.csv",
        root / "responses.csv",
        "dass21",
        subscale="depression",
        model="logreg",
    )
    assert not [w for w in recwarn if issubclass(w.category, ModelWarning)]
    assert trained.meta["training"]["warnings"] == [] and "validation" not in trained.meta
    table = trained.predict(root / "features.csv")
    assert set(table["label"]) == {"normal", "mild_or_above"}


def test_predict_and_extract_agree_on_bad_videos_and_exit_codes(
    sampled_pilot, assets_dir, face_model, tmp_path, capsys
):
    from facemind.api import train

    root = sampled_pilot
    model_dir = tmp_path / "model"
    features = root / "features.csv"
    train(features, root / "responses.csv", "dass21", subscale="depression", model="logreg").save(
        model_dir
    )
    videos = tmp_path / "new"
    videos.mkdir()
    shutil.copy(assets_dir / "single_face.mp4", videos / "a_good.mp4")
    data = (assets_dir / "WolfgangLanger_Pexels.mp4").read_bytes()
    (videos / "b_cut.mp4").write_bytes(data[:150_000])  # truncated: decodes the first part
    (videos / "c_empty.mp4").write_bytes(b"")
    capsys.readouterr()
    pred = tmp_path / "pred.csv"
    code = main(
        [
            "predict",
            str(videos),
            "--model",
            str(model_dir),
            "--face-model",
            str(face_model),
            "-o",
            str(pred),
            "-j",
            "2",
        ]
    )
    said = capsys.readouterr()
    assert code == 1  # as extract: a video that could not be read
    table = pd.read_csv(pred).set_index("video_id")
    assert table.loc["a_good", "status"] == "ok"
    assert table.loc["b_cut", "status"] == "partial"
    assert table.loc["b_cut", "p_depression_mild_or_above"] >= 0  # scored on what decoded
    assert table.loc["c_empty", "status"].startswith("extraction_failed")
    assert "note: b_cut: partial, scored on the frames decoded" in said.err
    assert "2 of 3 video(s) scored" in said.out
    assert "1 video(s) could not be read" in said.err

    out = tmp_path / "extraction"
    assert (
        main(
            [
                "extract",
                str(videos),
                "--out",
                str(out),
                "--model",
                str(face_model),
                "--sample-fps",
                "8",
                "--au-calibration",
                "none",
                "--no-progress",
                "-j",
                "2",
            ]
        )
        == 1
    )
    statuses = _manifest(out)["status"].to_dict()
    assert statuses == {"a_good": "ok", "b_cut": "partial", "c_empty": "failed"}


@pytest.fixture()
def six(tmp_path):
    """Six participants (three normal, three above on every subscale) with one feature."""
    import numpy as np

    ids = [f"p{i:03d}" for i in range(1, 7)]
    write_responses(tmp_path / "responses.csv", {p: 2 * (i % 2) for i, p in enumerate(ids)})
    feature = np.random.default_rng(0).normal(size=len(ids))
    pd.DataFrame({"participant_id": ids, "video_id": ids, "f__mean": feature}).to_csv(
        tmp_path / "features.csv", index=False
    )
    return tmp_path


def test_a_fold_without_test_participants_is_not_estimable_and_the_sweep_goes_on(six, capsys):
    sweep = [
        "sweep",
        "--features",
        str(six / "features.csv"),
        "--responses",
        str(six / "responses.csv"),
        "--instrument",
        "dass21",
        "--subscales",
        "depression",
        "--models",
        "logreg",
        "--fractions",
        "0,0.3",
        "--protocols",
        "paper",
        "--criteria",
        "random",
        "--folds",
        "3",
        "--seed",
        "3",
        "-j",
        "1",
        "-o",
        str(six / "sweep.csv"),
    ]
    assert main(sweep) == 0
    err = capsys.readouterr().err
    assert err.count("not estimable") == 1  # said once
    assert (
        "note: 1 fold setting(s) not estimable, recorded with empty metrics: no test participant "
        "left (subscale 'depression', fold 2 of 3, paper removal of 0.3 by random)"
    ) in " ".join(err.split())
    folds = pd.read_csv(six / "sweep.csv")
    empty = folds[(folds["fraction"] == 0.3) & (folds["fold"] == 1)].iloc[0]
    assert empty["n_test"] == 0 and pd.isna(empty["f1"]) and empty["n_removed_test"] == 2
    scored = folds[(folds["fraction"] == 0.3) & (folds["fold"] != 1)]
    summary = pd.read_csv(six / "sweep_summary.csv").set_index("fraction")
    assert summary.loc[0.3, "f1_mean"] == pytest.approx(scored["f1"].mean())  # the others only
    assert (
        main(
            [
                "report",
                "--results",
                str(six / "sweep.csv"),
                "--responses",
                str(six / "responses.csv"),
                "--instrument",
                "dass21",
                "-o",
                str(six / "report.html"),
            ]
        )
        == 0
    )


@pytest.mark.parametrize(
    ("fractions", "criteria", "said"),
    [
        ("0,0.01", "sdi,random", "Removal of 1% ran but removed nobody"),
        ("0,0.3", "random", "The sweep removed 30% by random choice only"),
        ("0", "sdi", "The sweep ran no removal (only 0%)"),
    ],
)
def test_the_findings_say_what_the_removal_did(six, tmp_path, fractions, criteria, said):
    from facemind.api import report, sweep

    result = sweep(
        six / "features.csv",
        six / "responses.csv",
        "dass21",
        subscales=["depression"],
        models=["logreg"],
        protocols=["train-only"],
        fractions=[float(f) for f in fractions.split(",")],
        criteria=criteria.split(","),
        folds=2,
    )
    html = report(result, six / "responses.csv", "dass21", tmp_path / "r.html").read_text()
    assert said in html
    assert "The sweep ran no removal (only 0% or only random removal)" not in html


def test_every_bad_answer_is_reported_at_once_and_answers_coded_from_1_get_a_hint(tmp_path, capsys):
    ids = [f"{i:03d}" for i in range(1, 13)]
    # The pilot's answers were coded 1-4 instead of 0-3: every 4 is out of range.
    answers = {p: 1 + (i % 4) for i, p in enumerate(ids)}
    path = write_responses(tmp_path / "dass.csv", answers)
    assert main(["score", str(path), "-i", "dass21", "-o", str(tmp_path / "s.csv")]) == 2
    said = " ".join(capsys.readouterr().err.split())
    fours = [p for p, a in answers.items() if a == 4]  # rows 4, 8, 12: 21 items each
    assert said.startswith(
        f"facemind: error: {path}, row 4, line 5, column 'dass_3', value 4: item value out of "
        f"range 0-3; {21 * len(fours)} bad item values in all, also row 4 column 'dass_5' value "
        "4 (item value out of range 0-3)"  # items in the instrument's order
    ), said
    assert said.count("(item value out of range 0-3)") == 19  # the first 20 cells, then a count
    assert f"and {21 * len(fours) - 20} more" in said
    assert "every answer lies in 1-4, one above the instrument's 0-3" in said
    assert "subtract 1 from every item" in said

    # Other mistakes: every one named, no hint when the values are not shifted
    rows = pd.read_csv(path, dtype=str)
    rows.loc[:, [f"dass_{i}" for i in range(1, 22)]] = "1"
    rows.loc[1, "dass_5"] = "x"
    rows.loc[6, "dass_9"] = "1.5"
    rows.to_csv(path, index=False)
    assert main(["score", str(path), "-i", "dass21", "-o", str(tmp_path / "s.csv")]) == 2
    said = " ".join(capsys.readouterr().err.split())
    assert "row 2, line 3, column 'dass_5', value 'x': non-numeric item value; 2 bad item " in said
    assert said.endswith("also row 7 column 'dass_9' value 1.5 (item values must be integers)")
    assert "subtract 1" not in said


def test_one_command_line_convention(sampled_pilot, face_model, tmp_path, capsys):
    import json

    import facemind as fm

    assert main(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"facemind {fm.__version__}"

    video = sampled_pilot / "videos" / "p001.mp4"
    assert (
        main(
            [
                "extract",
                str(video),
                "-o",
                str(tmp_path / "a"),
                "--face-model",
                str(face_model),
                "--no-progress",
                "-j",
                "1",
            ]
        )
        == 0
    )
    assert "is now" not in capsys.readouterr().err
    assert (
        main(
            [
                "extract",
                str(video),
                "-o",
                str(tmp_path / "b"),
                "--model",
                str(face_model),
                "--no-progress",
                "-j",
                "1",
            ]
        )
        == 0
    )  # the old spelling still works
    assert "note: extract --model is now --face-model" in capsys.readouterr().err

    # -i everywhere, names in any case or by a common alias
    root = sampled_pilot
    model_dir = tmp_path / "gbt"
    assert (
        main(
            [
                "train",
                "--features",
                str(root / "features.csv"),
                "--responses",
                str(root / "responses.csv"),
                "-i",
                "DASS21",
                "--subscale",
                "Depression",
                "--model",
                "XGBoost",
                "-o",
                str(model_dir),
            ]
        )
        == 0
    )
    meta = json.loads((model_dir / "model.json").read_text())
    assert (meta["model"], meta["subscale"]) == ("gbt", "depression")

    # --encoding reaches the table reader: a Windows-1252 file read as UTF-8 is refused
    text = (root / "responses.csv").read_text().replace("participant_id", "participant_id,site")
    lines = text.splitlines()
    lines[1:] = [f"{ln.split(',', 1)[0]},Zürich,{ln.split(',', 1)[1]}" for ln in lines[1:]]
    latin = tmp_path / "responses_1252.csv"
    latin.write_bytes(("\n".join(lines) + "\n").encode("cp1252"))
    common = [
        "--features",
        str(root / "features.csv"),
        "--responses",
        str(latin),
        "-i",
        "dass21",
        "--subscale",
        "depression",
        "--model",
        "rf",
    ]
    capsys.readouterr()
    assert main(["train", *common, "-o", str(tmp_path / "m1"), "--encoding", "utf-8"]) == 2
    assert "responses_1252.csv" in capsys.readouterr().err
    assert main(["train", *common, "-o", str(tmp_path / "m2"), "--encoding", "cp1252"]) == 0
    for command in (
        [
            "sweep",
            "--subscales",
            "depression",
            "--models",
            "rf",
            "--folds",
            "2",
            "--fractions",
            "0",
            "-o",
            str(tmp_path / "s.csv"),
        ],
        ["report", "-o", str(tmp_path / "r.html")],
    ):
        args = ["--responses", str(latin), "-i", "dass21", "--encoding", "utf-8"]
        if command[0] == "sweep":
            args += ["--features", str(root / "features.csv")]
        assert main([*command, *args]) == 2, command
        assert "responses_1252.csv" in capsys.readouterr().err

    from pathlib import Path as _Path

    cli = (_Path(__file__).resolve().parents[1] / "docs" / "cli.md").read_text()
    rows = [ln for ln in cli.splitlines() if ln.startswith("| `--instrument`")]
    assert rows and all(ln.startswith("| `--instrument`, `-i` |") for ln in rows)
    assert "Face model file" not in "".join(ln for ln in cli.splitlines() if "`--model`" in ln)
    assert "| `--metric` | roc_auc (binary), balanced_accuracy" in cli


def test_progress_without_a_terminal_is_a_line_every_tenth_or_minute():
    from facemind.cli.progress import LogProgress

    lines, now = [], [0.0]
    log = LogProgress("extract", lines.append, clock=lambda: now[0])
    for done in range(21):  # one video a second
        now[0] = float(done)
        log(done, 20)
    assert len(lines) == 10  # every 10%
    assert lines[0] == "extract: 2/20 done (10%), 1.00/s, 18 s left"
    assert lines[-1] == "extract: 20/20 done (100%), 1.00/s, 0 s left"

    lines.clear()
    log = LogProgress("sweep", lines.append, clock=lambda: now[0])
    for done in range(0, 1001, 1):  # slow: one step every 30 s, 0.1% each
        now[0] = 30.0 * done
        log(done, 1000)
        if len(lines) == 2:
            break
    assert lines == [
        "sweep: 2/1000 done (0%), 2.00/min, 8 h 19 min left",  # a minute after the start
        "sweep: 4/1000 done (0%), 2.00/min, 8 h 18 min left",
    ]


def test_extract_in_a_batch_log_prints_progress_lines(pilot_videos, face_model, tmp_path, capsys):
    assert (
        main(
            [
                "extract",
                str(pilot_videos),
                "-o",
                str(tmp_path / "o"),
                "--face-model",
                str(face_model),
                "-j",
                "1",
            ]
        )
        == 0
    )
    err = capsys.readouterr().err.splitlines()
    assert [ln.split(",")[0] for ln in err if ln.startswith("extract:")] == [
        "extract: 1/2 done (50%)",
        "extract: 2/2 done (100%)",
    ]


def test_ctrl_c_says_what_is_kept_and_how_to_resume(assets_dir, face_model, tmp_path):
    import signal
    import subprocess
    import sys
    import time

    folder = tmp_path / "videos"
    folder.mkdir()
    for i, src in enumerate(["single_face.mp4", "WolfgangLanger_Pexels.mp4"] * 2):
        shutil.copy(assets_dir / src, folder / f"v{i}.mp4")
    part = tmp_path / "part"
    src = str(Path(facemind.__file__).resolve().parents[1])
    env = {**os.environ, "PYTHONPATH": src}
    cmd = [
        sys.executable,
        "-m",
        "facemind",
        "extract",
        str(folder),
        "-o",
        str(part),
        "--face-model",
        str(face_model),
        "-j",
        "1",
    ]
    # SIGINT as at a terminal, even where this test runs with it ignored (a background job)
    proc = subprocess.Popen(
        cmd,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env=env,
        text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    deadline = time.time() + 120
    while not list((part / "records").glob("*.json")) and time.time() < deadline:
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130
    ours = [ln for ln in err.splitlines() if ln.startswith("facemind:")]  # MediaPipe logs too
    assert ours[-1] == (
        f"facemind: interrupted; the videos finished so far are kept in {part}; run the same "
        "command again to extract the others"
    )


@pytest.fixture()
def pilot_answers(tmp_path):
    """Twelve hand-made DASS-21 answer sheets (0-3, seeded) with gender and age only."""
    import numpy as np

    rng = np.random.default_rng(0)
    ids = [f"{i:03d}" for i in range(1, 13)]
    rows = [
        {
            "participant_id": p,
            "gender": "f" if i % 2 else "m",
            "age": 14 + i % 3,
            **{item: int(rng.integers(0, 4)) for item in DASS_ITEMS},
        }
        for i, p in enumerate(ids)
    ]
    path = tmp_path / "responses.csv"
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


def test_report_fixes_seen_on_the_pilot(pilot_answers, tmp_path, capsys):
    import html as html_lib
    import re

    import numpy as np

    import facemind as fm
    from facemind.evaluation.importance import drop_bounds, permutation_importance
    from facemind.reporting.sdi_plot import plot_sdi

    # SDI: the small-group warning of `facemind sdi` is in the report too
    assert (
        main(
            [
                "sdi",
                str(pilot_answers),
                "-i",
                "dass21",
                "-o",
                str(tmp_path / "sdi.csv"),
                "--plot",
                str(tmp_path / "sdi.png"),
            ]
        )
        == 0
    )
    cli_warning = " ".join(capsys.readouterr().err.split())
    assert "score groups have fewer than 5 members" in cli_warning
    assert "--group-by band" in cli_warning
    report = fm.report(None, pilot_answers, "dass21", tmp_path / "r.html").read_text()
    text = html_lib.unescape(re.sub(r"<[^>]+>", " ", report))
    sdi_part = text.split("Symptom Discrepancy Index", 1)[1]
    assert "score groups have fewer than 5 members, so their SDs and the SDI mean little" in (
        " ".join(sdi_part.split())
    )
    # the cohort note says why a variable is missing
    assert "The responses have no grade column, so this table leaves out" in " ".join(text.split())
    assert "Not in the responses" not in text

    # the SDI plot of `facemind sdi --plot` is on the report's scored scale
    results = fm.compute_sdi(pilot_answers, "dass21")
    plot_sdi(
        results, tmp_path / "scored.png", multipliers={"depression": 2, "anxiety": 2, "stress": 2}
    )
    assert (tmp_path / "sdi.png").read_bytes() == (tmp_path / "scored.png").read_bytes()

    # importance intervals stay in the range a drop can take; a baseline at chance is flagged
    from facemind.synth import make_responses

    answers = make_responses(60, seed=4)
    noise = np.random.default_rng(1).normal(size=(60, 2))
    feats = answers[["participant_id"]].assign(
        video_id=answers["participant_id"], AU01__mean=noise[:, 0], pose_yaw__mean=noise[:, 1]
    )
    imp = permutation_importance(
        feats, answers, "dass21", subscale="depression", model="logreg", folds=2, permutations=2
    )
    for row in imp.table.itertuples():
        lo, hi = drop_bounds(row.metric, row.baseline)
        assert lo - 1e-12 <= row.drop_ci_low <= row.drop_ci_high <= hi + 1e-12
    table = imp.table.assign(baseline=0.42)  # a model worse than guessing
    page = fm.report(None, answers, "dass21", tmp_path / "i.html", importance=table).read_text()
    assert "The model's roc_auc on the test folds, 0.420, is not above chance (0.5)" in page
    good = fm.report(
        None, answers, "dass21", tmp_path / "g.html", importance=imp.table.assign(baseline=0.8)
    ).read_text()
    assert "is not above chance" not in good


def test_the_cluster_overlap_uses_the_sweeps_positive_band(tmp_path):
    import facemind as fm
    from facemind.synth import make_responses

    answers = make_responses(80, seed=2)
    truth = answers[["participant_id"]].assign(
        video_id=answers["participant_id"], truth__mean=answers["latent_depression"]
    )
    result = fm.sweep(
        truth,
        answers,
        "dass21",
        subscales=["depression"],
        models=["logreg"],
        fractions=[0.0],
        protocols=["paper"],
        criteria=["sdi"],
        folds=2,
        positive_band="moderate",
    )
    page = fm.report(result, answers, "dass21", tmp_path / "r.html").read_text()
    jaccard = page.split("Jaccard overlap", 1)[1]
    assert "depression&gt;=moderate" in jaccard and "depression&gt;=mild" not in jaccard


def test_one_study_file_runs_every_stage_and_a_dry_run_writes_nothing(
    sampled_pilot, face_model, tmp_path, capsys
):
    root = tmp_path / "pilot"
    shutil.copytree(sampled_pilot / "videos", root / "videos")
    shutil.copy(sampled_pilot / "responses.csv", root / "responses.csv")
    study = root / "study.yaml"
    study.write_text(
        "instrument: dass21\nresponses: responses.csv\nvideos: [videos/]\nout: study\n"
        f"extract: {{sample_fps: 8, face_model: {face_model}, jobs: 1}}\n"
        "features: {per: video}\n"
        "sweep: {subscales: [depression], models: [logreg], fractions: [0], protocols: [paper],"
        " criteria: [sdi], folds: 2}\n"
        "report: true\n"
    )
    assert main(["run", str(study), "--dry-run"]) == 0
    plan = capsys.readouterr().out.splitlines()
    assert plan[0].startswith("responses: 4 respondents of dass21")
    assert plan[1].startswith("extract: 4 videos, about ")
    assert "4 of 4 participant(s) have answers" in plan[1] and "with 1 worker(s)" in plan[1]
    assert plan[3].startswith("sweep: 2 model fits")
    assert plan[-1] == "dry run: every input checked, nothing written"
    assert not (root / "study").exists()

    assert main(["run", str(study)]) == 0
    said = capsys.readouterr().out
    assert "extract: 4 videos, 0 already done, 4 processed, 0 failed" in said
    for name in ("extraction/manifest.parquet", "features.parquet", "sweep.csv", "report.html"):
        assert (root / "study" / name).is_file(), name
    assert main(["run", str(study)]) == 0  # each stage resumes or is up to date
    said = capsys.readouterr().out
    assert "extract: 4 videos, 4 already done, 0 processed" in said
    assert "features: " in said and "is up to date" in said
    assert f"sweep: {root / 'study' / 'sweep.csv'} is up to date" in said

    # a dry run finds what would stop a stage: ids that do not join, in one line
    (root / "responses.csv").write_text((root / "responses.csv").read_text().replace("p00", "P-"))
    assert main(["run", str(study), "--dry-run"]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "no video's participant id is among the responses' ids" in err


def test_a_study_file_with_a_mistyped_setting_is_refused_in_one_line(tmp_path, capsys):
    study = tmp_path / "study.yaml"
    study.write_text("instrument: dass21\nresponses: r.csv\nout: o\nsweep: {modles: [rf]}\n")
    assert main(["run", str(study), "--dry-run"]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "'sweep' has unknown setting(s) modles; known: " in err
    assert not (tmp_path / "o").exists()


def test_group_by_band_in_the_sweep_and_the_report_that_follows_it(tmp_path):
    import facemind as fm
    from facemind.synth import make_responses

    answers = make_responses(60, seed=5)
    answers.to_csv(tmp_path / "responses.csv", index=False)
    truth = answers[["participant_id"]].assign(
        video_id=answers["participant_id"], truth__mean=answers["latent_depression"]
    )
    truth.to_csv(tmp_path / "features.csv", index=False)
    out = tmp_path / "sweep.csv"
    assert (
        main(
            [
                "sweep",
                "--features",
                str(tmp_path / "features.csv"),
                "--responses",
                str(tmp_path / "responses.csv"),
                "-i",
                "dass21",
                "--subscales",
                "depression",
                "--models",
                "logreg",
                "--fractions",
                "0,0.2",
                "--protocols",
                "paper",
                "--criteria",
                "sdi",
                "--folds",
                "2",
                "--group-by",
                "band",
                "-j",
                "1",
                "-o",
                str(out),
            ]
        )
        == 0
    )
    folds = pd.read_csv(out)
    removed = int(folds.loc[folds["fraction"] == 0.2, "n_removed_test"].sum())
    bands = fm.score(answers, "dass21")["depression_band"].value_counts()
    # removal within each band: round(0.2 x its size) of every band
    assert removed == sum(int(round(0.2 * n)) for n in bands)
    report = fm.report(out, tmp_path / "responses.csv", "dass21", tmp_path / "r.html")
    import re

    table = report.read_text().split("Symptom Discrepancy Index", 1)[1].split("</table>")[0]
    header = re.findall(r"<th[^>]*>(.*?)</th>", table)
    row = next(r for r in re.findall(r"<tr>(.*?)</tr>", table) if ">depression<" in r)
    cells = dict(zip(header, re.findall(r"<td[^>]*>(.*?)</td>", row), strict=True))
    assert int(cells["groups"]) == len(bands)  # the report groups as the sweep did


def test_report_groups_the_sdi_as_asked_or_refuses_what_the_sweep_did_not(tmp_path, capsys):
    import re

    import facemind as fm
    from facemind.errors import ParameterError
    from facemind.synth import make_responses

    answers = make_responses(60, seed=5)

    def groups_shown(path):
        table = path.read_text().split("Symptom Discrepancy Index", 1)[1].split("</table>")[0]
        header = re.findall(r"<th[^>]*>(.*?)</th>", table)
        row = next(r for r in re.findall(r"<tr>(.*?)</tr>", table) if ">depression<" in r)
        return int(
            dict(zip(header, re.findall(r"<td[^>]*>(.*?)</td>", row), strict=True))["groups"]
        )

    bands = fm.compute_sdi(answers, "dass21", group_by="band")["depression"].groups
    totals = fm.compute_sdi(answers, "dass21")["depression"].groups
    assert groups_shown(
        fm.report(None, answers, "dass21", tmp_path / "b.html", group_by="band")
    ) == len(bands)
    assert groups_shown(fm.report(None, answers, "dass21", tmp_path / "t.html")) == len(totals)
    truth = answers[["participant_id"]].assign(
        video_id=answers["participant_id"], truth__mean=answers["latent_depression"]
    )
    result = fm.sweep(
        truth,
        answers,
        "dass21",
        subscales=["depression"],
        models=["logreg"],
        fractions=[0, 0.2],
        protocols=["paper"],
        criteria=["sdi"],
        folds=2,
    )
    with pytest.raises(
        ParameterError, match=r"^`group_by` 'band' differs from the sweep's 'total'"
    ):
        fm.report(result, answers, "dass21", tmp_path / "r.html", group_by="band")
    assert not (tmp_path / "r.html").exists()
    answers.to_csv(tmp_path / "responses.csv", index=False)
    capsys.readouterr()
    code = main(
        [
            "report",
            "--responses",
            str(tmp_path / "responses.csv"),
            "-i",
            "dass21",
            "--group-by",
            "school",
            "-o",
            str(tmp_path / "x.html"),
        ]
    )
    err = capsys.readouterr().err
    assert code == 2 and "--group-by must be one of total, band, got 'school'" in err
