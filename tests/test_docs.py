"""The CLI reference is generated from the commands and must match them; every command's help
follows one convention (-o/--out, -j/--jobs one per core, plain type names, workflow order)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import typer

from facemind.cli import app, main
from facemind.cli.help import WORKFLOW
from facemind.cli.options import CORES, resolve_jobs

ROOT = Path(__file__).resolve().parent.parent


def test_cli_reference_is_current():
    proc = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "gen_cli_docs.py"), "--check"],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stderr


def test_readme_names_the_two_setup_commands():
    text = (ROOT / "README.md").read_text()
    assert "make demo" in text and "make test" in text


def _all_commands():
    root = typer.main.get_command(app)
    for name in root.list_commands(None):
        cmd = root.commands[name]
        subs = getattr(cmd, "commands", None)
        if subs:
            yield from ([name, sub] for sub in cmd.list_commands(None))
        else:
            yield [name]


def test_help_lists_commands_in_workflow_order(capsys):
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    listed = re.findall(r"^│ ([a-z][a-z-]+) ", out, re.M)
    assert listed == [c for c in WORKFLOW if c in listed]
    assert listed[:4] == ["instruments", "score", "sdi", "models"] and listed[-1] == "demo"


@pytest.mark.parametrize("words", list(_all_commands()), ids=" ".join)
def test_help_is_readable_and_follows_the_contract(words, capsys):
    assert main([*words, "--help"]) == 0
    out = re.sub(r"[\s│]+", " ", capsys.readouterr().out)  # the text, unwrapped
    # plain type names, arguments in capitals, no machine-specific default
    for raw in ("<bool>", "<int>", "<str>", "<path>", "<list[", "{"):
        assert raw not in out.replace("'{\"epochs\": 20}'", ""), (words, raw)
    assert f"default: {CORES}]" not in out
    cmd = typer.main.get_command(app)
    for w in words:
        cmd = cmd.commands[w]
    opts = {o for p in cmd.params for o in p.opts}
    writes = [p for p in cmd.params if p.name in ("out", "output", "out_dir", "dest")]
    if writes:
        assert {"-o", "--out"} <= opts and "--out" in out
    if any(p.name == "jobs" for p in cmd.params):
        assert {"-j", "--jobs"} <= opts and "one per core" in out


def test_cli_reference_has_no_machine_specific_defaults():
    text = (ROOT / "docs" / "cli.md").read_text()
    jobs_rows = [ln for ln in text.splitlines() if ln.startswith("| `--jobs`")]
    assert len(jobs_rows) == 6  # extract, predict, synth, features, sweep, demo
    assert all("| one per core |" in ln for ln in jobs_rows)
    assert "| `--min-confidence` | `0.7` |" in text


def test_earlier_option_names_still_work(tmp_path, capsys):
    # every answer 1: each subscale has 7 items, raw 7, scored (x2) 14
    items = {f"dass_{i}": [1, 1] for i in range(1, 22)}
    pd.DataFrame({"participant_id": ["007", "8"], **items}).to_csv(tmp_path / "r.csv", index=False)
    assert (
        main(
            ["score", str(tmp_path / "r.csv"), "-i", "dass21", "--output", str(tmp_path / "s.csv")]
        )
        == 0
    )
    scores = pd.read_csv(tmp_path / "s.csv", dtype={"participant_id": str})
    assert scores["participant_id"].tolist() == ["007", "8"]
    assert scores["depression"].tolist() == [14, 14] and scores["depression_raw"].tolist() == [7, 7]
    assert scores["depression_band"].tolist() == ["moderate", "moderate"]
    assert scores["stress_band"].tolist() == ["normal", "normal"]
    capsys.readouterr()
    # extract --workers is -j/--jobs: the same option, checked by the same rule
    code = main(["extract", str(tmp_path / "v.mp4"), "-o", str(tmp_path / "x"), "--workers", "0"])
    err = capsys.readouterr().err
    assert code == 2 and "'--jobs' / '-j'" in err and "greater than or equal to 1" in err


def test_jobs_default_is_one_per_core_and_one_per_video_at_most():
    assert resolve_jobs(None) == CORES and resolve_jobs(3) == 3
    assert resolve_jobs(None, items=1) == 1 and resolve_jobs(None, items=10**6) == CORES
    from facemind.parallel import SerialExecutor, open_executor

    with open_executor(jobs=4, n_tasks=1) as pool:  # one video: no worker processes
        assert isinstance(pool, SerialExecutor)
