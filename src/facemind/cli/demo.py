"""The ``demo`` command: a synthetic study end to end, then where to look."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from . import app, err
from .options import JobsOpt, out_option, resolve_jobs
from .progress import progress_bar
from .questionnaire import print_sdi_table


@app.command("demo")
def demo_cmd(
    out: Annotated[Path, out_option("Folder for the demo's files.")] = Path("demo-output"),
    participants: Annotated[
        int, typer.Option("--participants", min=100, help="Synthetic cohort size.")
    ] = 1500,
    seed: Annotated[int, typer.Option("--seed", help="Random seed.")] = 0,
    videos: Annotated[
        Path | None,
        typer.Option("--videos", help="Folder of real sample videos to extract as well."),
    ] = None,
    model: Annotated[
        Path | None,
        typer.Option(
            "--face-model", "--model", help="Face model file (default: resolved as extract does)."
        ),
    ] = None,
    jobs: JobsOpt = None,
    questionnaire_only: Annotated[
        bool,
        typer.Option(
            "--questionnaire-only", help="Only score the synthetic answers and print their SDI."
        ),
    ] = False,
) -> None:
    """Run a SYNTHETIC demo study end to end and write its report (report.html)."""
    from ..demo import run_demo, run_questionnaire_demo

    err.print(
        f"[bold]facemind demo[/] - SYNTHETIC data ({participants} simulated participants, seed {seed})"
    )
    if questionnaire_only:
        result = run_questionnaire_demo(out, participants=participants, seed=seed)
    else:
        with progress_bar("extract") as progress:
            result = run_demo(
                out,
                participants=participants,
                seed=seed,
                videos=videos,
                model=model,
                jobs=resolve_jobs(jobs),
                log=err.print,
                progress=progress,
            )
    print_sdi_table(
        result.results,
        [0.0, 0.1, 0.2, 0.3, 0.4, 0.5],
        title="Symptom Discrepancy Index (SYNTHETIC data)",
    )
    for note in result.notes:
        err.print(note)
    for name, path in result.files.items():
        err.print(f"  {name:16s} {path}")
    if "report" in result.files:
        err.print(f"[bold green]report:[/] {result.files['report'].resolve()}")
    else:
        err.print(f"demo files are in {result.out.resolve()}")
