"""The ``demo`` command: a synthetic study end to end, then where to look."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from ..demo import run_questionnaire_demo
from . import app
from .questionnaire import print_sdi_table

err = Console(stderr=True, soft_wrap=True)


@app.command("demo")
def demo_cmd(
    out: Annotated[Path, typer.Option("--out", help="Folder for the demo's files.")] = Path(
        "demo-output"
    ),
    participants: Annotated[
        int, typer.Option("--participants", min=50, help="Synthetic cohort size.")
    ] = 2000,
    seed: Annotated[int, typer.Option("--seed", help="Random seed.")] = 0,
) -> None:
    """Run a SYNTHETIC demo study: DASS-21 answers, scores and their SDI."""
    err.print(
        f"[bold]facemind demo[/] - SYNTHETIC data ({participants} simulated respondents, seed {seed})"
    )
    result = run_questionnaire_demo(out, participants=participants, seed=seed)
    print_sdi_table(
        result.results,
        [0.0, 0.1, 0.2, 0.3, 0.4, 0.5],
        title="Symptom Discrepancy Index (SYNTHETIC data)",
    )
    for name, path in result.files.items():
        err.print(f"  {name:12s} {path}")
    err.print(f"demo files are in {result.out.resolve()}")
