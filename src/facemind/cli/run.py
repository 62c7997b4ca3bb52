"""The ``run`` command: every stage a study file names, or with ``--dry-run`` the plan."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from . import app, out


@app.command("run")
def run_cmd(
    study: Annotated[Path, typer.Argument(help="The study file (YAML).")],
    dry_run: Annotated[
        bool,
        typer.Option(
            "--dry-run",
            help="Check every input and print the plan with a time estimate; write nothing.",
        ),
    ] = False,
) -> None:
    """Run the stages a study file names (extract, features, sweep, report), each resumable."""
    from ..studyfile import check_study, load_study, run_study

    spec = load_study(study)
    if dry_run:
        for line in check_study(spec):
            out.print(line, soft_wrap=True, highlight=False, markup=False)
        out.print("dry run: every input checked, nothing written", highlight=False)
        return
    run_study(spec, say=lambda text: out.print(text, soft_wrap=True, highlight=False))
