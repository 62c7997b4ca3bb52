"""Options that several commands share, declared once so their names and help agree."""

from __future__ import annotations

from typing import Annotated

import typer

TaskOpt = Annotated[str, typer.Option("--task", help="binary, 3class, bands or regression.")]
PositiveBandOpt = Annotated[
    str, typer.Option("--positive-band", help="Binary task: positive at or above this band.")
]
BalanceOpt = Annotated[
    str, typer.Option("--balance", help="Class balance: downsample, weights or none.")
]
SeedOpt = Annotated[int, typer.Option("--seed", help="Random seed.")]
JoinIdOpt = Annotated[
    str, typer.Option("--id-column", help="Participant id column in both tables.")
]
