"""The README works as written: every `facemind` command line it shows names commands and
options that exist and parses; its `make` lines name real targets and variables; its Python
example runs."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
import typer

from facemind.cli import app

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()
FENCED = re.compile(r"^```(\w*)\n(.*?)^```", re.S | re.M)
INLINE = re.compile(r"`([^`\n]+)`")


def _code_lines() -> list[str]:
    """Lines of the README's code: fenced blocks, indented blocks and inline code spans,
    with backslash continuations joined and comments dropped."""
    text = FENCED.sub("", README)
    lines = [body for lang, body in FENCED.findall(README) if lang in ("", "sh", "bash")]
    lines = "\n".join(lines).splitlines()
    lines += [ln for ln in text.splitlines() if ln.startswith("    ")]
    lines += INLINE.findall(text)
    joined = re.sub(r"\\\n\s*", " ", "\n".join(ln.strip() for ln in lines))
    return [ln.split(" #")[0].strip() for ln in joined.splitlines() if ln.strip()]


def _facemind_lines() -> list[list[str]]:
    out = []
    for line in _code_lines():
        words = shlex.split(line)
        if words and words[0] in ("facemind", ".venv/bin/facemind"):
            out.append(words[1:])
    return out


def test_the_readme_shows_the_commands():
    commands = {words[0] for words in _facemind_lines() if words}
    # the README walks through the whole study
    assert {
        "score",
        "sdi",
        "models",
        "extract",
        "import-openface",
        "features",
        "sweep",
        "report",
        "train",
        "predict",
        "instruments",
    } <= commands


@pytest.mark.parametrize("words", _facemind_lines(), ids=lambda w: " ".join(w)[:60])
def test_every_facemind_line_in_the_readme_exists_and_parses(words):
    cmd = typer.main.get_command(app)
    args = list(words)
    # walk down the command groups: `facemind models fetch` -> models -> fetch
    while args and getattr(cmd, "commands", None) and not args[0].startswith("-"):
        name = args.pop(0)
        assert name in cmd.commands, f"README shows unknown command {name!r}"
        cmd = cmd.commands[name]
    known = {"--help"}
    for param in cmd.params:
        known.update(param.opts, param.secondary_opts, getattr(param, "legacy_opts", []))
    for arg in args:
        if arg.startswith("-") and not re.fullmatch(r"-\d.*", arg):
            assert arg.split("=")[0] in known, f"README shows unknown option {arg} of {words}"
    if "--help" not in args and getattr(cmd, "commands", None) is None:
        # the whole line parses: required options present, values of the right type
        cmd.make_context(f"facemind {' '.join(words)}", args)


def test_the_readme_says_how_to_reach_the_command():
    setup = README.split("## Your own study")[0]
    assert "source .venv/bin/activate" in setup and ".venv/bin/facemind" in setup
    pyproject = (ROOT / "pyproject.toml").read_text()
    assert 'facemind = "facemind.cli:console"' in pyproject


def test_make_lines_in_the_readme_name_real_targets_and_variables():
    makefile = (ROOT / "Makefile").read_text()
    targets = set(re.findall(r"^([a-z][\w-]*):", makefile, re.M))
    variables = set(re.findall(r"^([A-Z_]+) \?=", makefile, re.M))
    shown = [shlex.split(ln)[1:] for ln in _code_lines() if ln.startswith("make ")]
    assert shown
    for words in shown:
        for word in words:
            if "=" in word:
                assert word.split("=")[0] in variables, f"README shows unknown make variable {word}"
            else:
                assert word in targets, f"README shows unknown make target {word}"
