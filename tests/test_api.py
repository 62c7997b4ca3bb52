"""The Python API: a light `import facemind`, runnable examples, generated reference, README
script, errors that name parameters, and the layering of `models/` below the pipeline."""

from __future__ import annotations

import ast
import doctest
import importlib.util
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

import pandas as pd
import pytest

import facemind
from facemind import api
from facemind.cli import as_flags
from facemind.errors import FacemindError, InputError, ParameterError

ROOT = Path(__file__).resolve().parent.parent
SRC = ROOT / "src" / "facemind"
HEAVY = ("torch", "mediapipe", "xgboost", "sklearn.ensemble", "dask")


def _python(code: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=cwd, env=env, timeout=600
    )


def test_import_facemind_loads_no_heavy_module():
    proc = _python(
        "import sys, facemind as fm\n"
        f"print(sorted(m for m in {HEAVY!r} if m in sys.modules))\n"
        "print('facemind.api' in sys.modules, callable(fm.score), 'sklearn.ensemble' in sys.modules)"
    )
    assert proc.returncode == 0, proc.stderr
    loaded, after = proc.stdout.splitlines()
    assert loaded == "[]"
    assert after == "False True False"  # the API module loads on first use, still light


def test_api_names_are_exported():
    assert facemind.__all__ == [
        "load_instrument",
        "score",
        "compute_sdi",
        "extract",
        "features",
        "sweep",
        "train",
        "load_model",
        "explain",
        "report",
    ]
    assert set(facemind.__all__) <= set(dir(facemind))
    with pytest.raises(AttributeError, match="no attribute 'nonexistent'"):
        facemind.nonexistent  # noqa: B018


def test_api_functions_are_plain_functions_beside_their_modules():
    """``fm.features`` and ``fm.report`` are the API functions, whatever was imported before;
    the modules behind them have names of their own."""
    proc = _python(
        "import inspect, facemind.functionals as ff, facemind.reporting.html as rep\n"
        "import facemind as fm\nfrom facemind import features\n"
        "print(fm.features is features, inspect.isfunction(fm.features),"
        " inspect.isfunction(fm.report), 'groups' in inspect.signature(fm.features).parameters,"
        " hasattr(ff, 'extract_features'), hasattr(rep, 'write_report'))"
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["True"] * 6


def test_api_examples_run(tmp_path, monkeypatch):
    """Every API function has an example, and every example runs (the numpydoc doctests)."""
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    monkeypatch.chdir(tmp_path)
    tests = {t.name.rpartition(".")[2]: t for t in doctest.DocTestFinder().find(api)}
    assert set(facemind.__all__) <= {name for name, t in tests.items() if t.examples}
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
    for name in facemind.__all__:
        runner.run(tests[name])
    result = runner.summarize(verbose=False)
    assert result.failed == 0
    assert result.attempted >= 50


def test_api_reference_is_current():
    proc = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "gen_api_docs.py"), "--check"],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT / "src")},
    )
    assert proc.returncode == 0, proc.stderr


def test_readme_python_script_runs_a_whole_study(tmp_path):
    text = (ROOT / "README.md").read_text()
    section = text[text.index("## From Python") :]
    script = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    for stage in ("fm.score", "fm.compute_sdi", "fm.features", "fm.sweep", "fm.report"):
        assert stage in script
    proc = _python(script, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    study = tmp_path / "study"
    assert (study / "results.csv").is_file() and (study / "results_summary.csv").is_file()
    assert "SYNTHETIC" in (study / "report.html").read_text().upper()
    assert "f1_mean" in proc.stdout
    printed = ast.literal_eval(proc.stdout.splitlines()[0])  # first it prints {subscale: SDI}
    assert set(printed) == {"depression", "anxiety", "stress"}
    assert all(0.0 <= v <= 1.0 for v in printed.values())


def _stress_truth(answers: pd.DataFrame) -> pd.DataFrame:
    """A made-up feature: the synthetic cohort's true stress level."""
    return answers[["participant_id"]].assign(
        video_id=answers["participant_id"], truth__mean=answers["latent_stress"]
    )


def test_sweep_out_writes_every_table_with_provenance_and_no_checkpoint_is_left(tmp_path):
    from facemind.provenance import read_provenance
    from facemind.synth import make_responses

    answers = make_responses(120, seed=2)
    out = tmp_path / "res.parquet"
    result = facemind.sweep(
        _stress_truth(answers),
        answers,
        "dass21",
        out=out,
        subgroups=["gender"],
        subscales=["stress"],
        models=["logreg"],
        fractions=[0.0, 0.2],
        protocols=["paper"],
        criteria=["sdi"],
        folds=2,
    )
    written = sorted(p.name for p in tmp_path.iterdir())
    assert written == [
        "res.parquet",
        "res_subgroups.parquet",
        "res_subgroups_summary.parquet",
        "res_summary.parquet",
    ]
    pd.testing.assert_frame_equal(pd.read_parquet(out), result.folds, check_dtype=False)
    for name in written:
        assert read_provenance(tmp_path / name)["instrument"]["id"] == "dass21"

    report = facemind.report(out, answers, "dass21", tmp_path / "r.html")
    assert "stress" in report.read_text()
    other = make_responses(120, seed=3)  # another cohort: the results are not about it
    with pytest.raises(FacemindError, match="results computed on other responses"):
        facemind.report(out, other, "dass21", tmp_path / "r2.html")


def test_score_notes_count_the_respondents_left_out():
    from facemind.synth import make_responses

    answers = make_responses(50, seed=0)
    answers.loc[[0, 7], "dass_3"] = None  # a depression item, unanswered twice
    table = facemind.score(answers, "dass21", missing="drop")
    assert table.attrs["notes"] == ["depression: 2 of 50 respondents left out (missing answers)"]
    assert table["depression"].isna().sum() == 2 and table["stress"].notna().all()


def test_features_of_no_usable_video_is_an_error_naming_the_folder(tmp_path):
    from facemind.synth import SynthConfig, write_cohort

    write_cohort(tmp_path, SynthConfig(participants=3, fps=4.0, duration=6.0))
    with pytest.raises(InputError, match="no video has features") as err:
        facemind.features(tmp_path, min_face_frames=10**6)
    assert str(tmp_path) in str(err.value) and "too_few_face_frames" in str(err.value)


#: Each command of a pipeline stage and the API function it is a shell over.
STAGE_COMMANDS = {
    "score": "score",
    "sdi": "compute_sdi",
    "extract": "extract",
    "features": "features",
    "sweep": "sweep",
    "train": "train",
    "predict": "load_model",
    "explain": "explain",
    "report": "report",
}
#: The library functions behind the API; a command calling one of them bypasses it.
BEHIND_API = {
    "run_batch",
    "extract_features",
    "run_sweep",
    "sweep_study",
    "train_model",
    "write_report",
    "load_report_data",
    "score_responses",
    "compute",
    "permutation_importance",
}


def test_cli_stage_commands_are_shells_over_the_api():
    found = {}
    for path in (SRC / "cli").glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.FunctionDef):
                continue
            names = [
                d.args[0].value
                for d in node.decorator_list
                if isinstance(d, ast.Call)
                and d.args
                and isinstance(d.args[0], ast.Constant)
                and getattr(d.func, "attr", "") == "command"
            ]
            if not names or names[0] not in STAGE_COMMANDS:
                continue
            api_names = {
                a.name
                for n in ast.walk(node)
                if isinstance(n, ast.ImportFrom) and n.module == "api"
                for a in n.names
            }
            called = {
                n.func.id if isinstance(n.func, ast.Name) else n.func.attr
                for n in ast.walk(node)
                if isinstance(n, ast.Call) and isinstance(n.func, ast.Name | ast.Attribute)
            }
            found[names[0]] = (
                STAGE_COMMANDS[names[0]] in api_names & called,
                sorted(called & BEHIND_API),
            )
    assert found == {name: (True, []) for name in STAGE_COMMANDS}


# -- errors ----------------------------------------------------------------------------------
def test_errors_are_value_errors_naming_the_parameter():
    assert issubclass(InputError, ValueError) and issubclass(InputError, FacemindError)
    assert issubclass(ParameterError, ValueError) and issubclass(ParameterError, FacemindError)
    with pytest.raises(ValueError, match=r"^`folds` must be at least 2, got 1$"):
        facemind.sweep(None, None, "dass21", folds=1)
    with pytest.raises(ValueError, match=r"^`per` must be one of video, participant"):
        facemind.features(ROOT, per="school")


@pytest.mark.parametrize(
    ("message", "flags"),
    [
        ("`folds` must be at least 2, got 1", "--folds must be at least 2, got 1"),
        ("use `missing='drop'` or `missing='prorate'`", "use --missing drop or --missing prorate"),
        ("`min_face_frames` must be at least 1", "--min-face-frames must be at least 1"),
        ("pass `frames`", "pass --frames"),
        ("run `facemind models fetch` first", "run `facemind models fetch` first"),
        ("no parameter here", "no parameter here"),
    ],
)
def test_cli_writes_parameters_as_its_flags(message, flags):
    assert as_flags(message) == flags


def test_unfitted_deep_model_raises_not_fitted_error():
    from sklearn.exceptions import NotFittedError

    from facemind.models.deep import DEEP_MODELS

    with pytest.raises(NotFittedError):
        DEEP_MODELS["sequence"]().raw_outputs([])


def _flag_text(node: ast.AST) -> list[str]:
    return [
        n.value
        for n in ast.walk(node)
        if isinstance(n, ast.Constant)
        and isinstance(n.value, str)
        and re.search(r"(^|[\s(])--[a-z]", n.value)
    ]


def test_library_errors_name_no_command_line_flags():
    found = []
    for path in SRC.rglob("*.py"):
        if "cli" in path.relative_to(SRC).parts:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Raise) and node.exc is not None:
                found += [f"{path.relative_to(SRC)}:{node.lineno}: {t}" for t in _flag_text(node)]
    assert found == []


# -- layering --------------------------------------------------------------------------------
def facemind_imports() -> dict[str, set[str]]:
    """Each module under src/facemind (dotted name) and the facemind modules it imports, as
    ``scripts/layers.py`` reads them."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("layers", ROOT / "scripts" / "layers.py")
    layers = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(layers)
    return layers.imports()


#: What the estimators, registry and persistence may not import: the pipeline above them.
#: ``face.schema`` (the frame-table definition) is the one part of ``face`` they read.
ABOVE_MODELS = re.compile(
    r"^facemind(\.(study|evaluation|predict|api|reporting|cli|demo|functionals)\b"
    r"|\.face(?!\.(schema|layout)\b)|$)"
)


def test_models_import_nothing_above_itself():
    graph = facemind_imports()
    assert "facemind.predict" in graph and "facemind.models.trained" in graph
    assert "facemind.study" in graph["facemind.predict"]
    bad = sorted(
        f"{mod} -> {dep}"
        for mod, deps in graph.items()
        if mod.startswith("facemind.models")
        for dep in deps
        if ABOVE_MODELS.match(dep)
    )
    assert bad == []


def test_every_import_points_down_the_layers_and_sizes_are_code_lines():
    proc = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "layers.py")], capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr
    assert "imports pointing up: 0" in proc.stdout
    api_row = next(line.split() for line in proc.stdout.splitlines() if " facemind.api " in line)
    assert int(api_row[1]) < int(api_row[2]) / 2  # the API is mostly its documentation
    spec = importlib.util.spec_from_file_location("layers", ROOT / "scripts" / "layers.py")
    layers = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(layers)
    source = '"""Module."""\n\n# note\ndef f():\n    """Two\n    lines."""\n    return 1\n'
    assert layers.code_lines(source) == 2


def test_trained_model_predicts_a_features_table_given_as_frame_or_file(tmp_path):
    from facemind.synth import SynthConfig, write_cohort

    write_cohort(tmp_path, SynthConfig(participants=40, seed=3, fps=4.0, duration=6.0))
    table = facemind.features(tmp_path, groups=["aus"])
    assert len(table) + len(table.attrs["excluded"]) == 40  # every video kept or said why not
    assert all(row["reason"] for row in table.attrs["excluded"])
    table.to_parquet(tmp_path / "features.parquet")
    model = facemind.train(
        tmp_path / "features.parquet",
        tmp_path / "responses.csv",
        "dass21",
        subscale="stress",
        model="logreg",
    )
    from_frame = model.predict(table)
    pd.testing.assert_frame_equal(from_frame, model.predict(tmp_path / "features.parquet"))
    assert from_frame["video_id"].tolist() == table["video_id"].tolist()
    assert (
        from_frame["p_stress_mild_or_above"].between(0, 1).all()
        and (from_frame["status"] == "ok").all()
    )
    assert model.meta["features_name"] == "features.parquet"


def test_functions_on_features_and_responses_take_them_in_one_order():
    import inspect

    from facemind.synth import make_responses

    for name in ("sweep", "train", "explain"):
        params = list(inspect.signature(getattr(facemind, name)).parameters.values())
        assert [p.name for p in params[:3]] == ["features", "responses", "instrument"], name
        assert all(p.kind is p.KEYWORD_ONLY for p in params[3:] if p.kind is not p.VAR_KEYWORD)
    responses = make_responses(60, seed=5)
    table = responses[["participant_id"]].assign(
        video_id=responses["participant_id"], truth__mean=responses["latent_depression"]
    )
    positional = facemind.train(table, responses, "dass21", subscale="depression", model="logreg")
    keywords = facemind.train(
        responses=responses,
        instrument="dass21",
        subscale="depression",
        model="logreg",
        features=table,
    )
    pd.testing.assert_frame_equal(positional.predict(table), keywords.predict(table))
    with pytest.raises(TypeError, match="multiple values for argument 'features'"):
        facemind.train(responses, "dass21", "depression", "logreg", features=table)  # old order
