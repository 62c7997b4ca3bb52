"""The ``explain`` command: which facial channels carry the signal, on held-out folds."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer

from . import app, err, out
from .options import (
    BalanceOpt,
    EncodingOpt,
    InstrumentOpt,
    JoinIdOpt,
    PositiveBandOpt,
    SeedOpt,
    TaskOpt,
)


@app.command("explain")
def explain_cmd(
    features: Annotated[Path, typer.Option("--features", help="Features table (.parquet/.csv).")],
    responses: Annotated[Path, typer.Option("--responses", help="Item responses (.csv/.parquet).")],
    instrument: InstrumentOpt,
    subscale: Annotated[str, typer.Option("--subscale", help="The subscale to predict.")],
    model: Annotated[str, typer.Option("--model", help="A feature model (e.g. logreg, rf).")],
    output: Annotated[Path, typer.Option("--out", "-o", help="Importance table (.csv/.parquet).")],
    task: TaskOpt = "binary",
    positive_band: PositiveBandOpt = "mild",
    folds: Annotated[int, typer.Option("--folds", help="Cross-validation folds.")] = 5,
    repeats: Annotated[int, typer.Option("--repeats", help="Repeats of the k-fold split.")] = 1,
    permutations: Annotated[
        int, typer.Option("--permutations", help="Shuffles per fold and unit (averaged).")
    ] = 5,
    metric: Annotated[
        str | None,
        typer.Option(
            "--metric",
            help="Metric whose drop is reported.",
            show_default="roc_auc (binary), balanced_accuracy (other classes), mae (regression)",
        ),
    ] = None,
    seed: SeedOpt = 0,
    balance: BalanceOpt = "downsample",
    id_column: JoinIdOpt = "participant_id",
    encoding: EncodingOpt = None,
) -> None:
    """Permutation importance per channel group and channel, on held-out folds."""
    from ..api import explain
    from .progress import progress_bar as _progress

    start = time.perf_counter()
    with _progress("explain") as progress:
        result = explain(
            features,
            responses,
            instrument,
            subscale=subscale,
            model=model,
            out=output,
            encoding=encoding,
            progress=progress,
            task=task,
            positive_band=positive_band,
            folds=folds,
            repeats=repeats,
            permutations=permutations,
            metric=metric,
            balance=balance,
            seed=seed,
            id_column=id_column,
        )
    for note in result.notes:
        err.print(f"note: {note}", soft_wrap=True)
    groups = result.table[result.table["level"] == "group"].sort_values(
        "drop_mean", ascending=False
    )
    top = ", ".join(
        f"{r.group} {r.drop_mean:+.3f} [{r.drop_ci_low:+.3f}, {r.drop_ci_high:+.3f}]"
        for r in groups.itertuples()
    )
    out.print(
        f"drop in {result.table['metric'].iloc[0]} when permuted (95% interval over "
        f"{folds * repeats} folds): {top}; {len(result.table)} rows written to {output} in "
        f"{time.perf_counter() - start:.1f} s",
        soft_wrap=True,
    )
