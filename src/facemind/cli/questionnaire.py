"""Questionnaire commands: ``instruments``, ``score`` and ``sdi``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from .. import sdi as sdi_mod
from ..errors import FacemindError
from ..instruments import builtin_ids, load_instrument
from ..io import write_json, write_table
from . import app, as_flags, err, out
from .notices import table_notes
from .options import EncodingOpt, InstrumentOpt, out_option

IdOpt = Annotated[str, typer.Option("--id-column", help="Column holding participant ids.")]
OutOpt = Annotated[Path, out_option("Output table (.csv or .parquet).", "--output")]


@app.command("instruments")
def instruments_cmd(
    show: Annotated[
        str | None,
        typer.Option("--show", help="Print the full spec of one instrument (id or file)."),
    ] = None,
) -> None:
    """List the built-in questionnaire instruments (or show one spec)."""
    if show is not None:
        inst = load_instrument(show)
        for name, sub in inst.subscales.items():
            bands = ", ".join(f"{b.label} >= {b.min:g}" for b in sub.bands) or "none"
            rev = f"; reverse {', '.join(sub.reverse)}" if sub.reverse else ""
            out.print(
                f"[bold]{name}[/]: {', '.join(sub.items)}{rev}; x{sub.multiplier:g}; bands {bands}; "
                f"prorate up to {sub.max_missing} missing"
            )
        return
    table = Table("id", "name", "items", "responses", "subscales")
    for iid in builtin_ids():
        inst = load_instrument(iid)
        table.add_row(
            inst.id,
            inst.name,
            str(len(inst.items)),
            f"{inst.response_min}-{inst.response_max}",
            ", ".join(inst.subscales),
        )
    out.print(table)


@app.command("score")
def score_cmd(
    responses: Annotated[
        Path,
        typer.Argument(
            help="Responses table (.csv, .parquet, .xlsx, .sav, .dta), one row per respondent."
        ),
    ],
    instrument: InstrumentOpt,
    output: OutOpt,
    id_column: IdOpt = "participant_id",
    missing: Annotated[
        str,
        typer.Option(
            "--missing", help="Missing answers: error, drop (leave out of the subscale) or prorate."
        ),
    ] = "error",
    encoding: EncodingOpt = None,
) -> None:
    """Score a questionnaire: per subscale the scored total, the raw sum and the severity band."""
    from ..api import score

    with table_notes():
        table = score(
            responses, instrument, id_column=id_column, missing=missing, encoding=encoding
        )
    write_table(table, output)
    for line in table.attrs["notes"]:
        err.print(f"[yellow]{line}[/]")
    subscales = ", ".join(load_instrument(instrument).subscales)
    err.print(f"scored {len(table)} respondents on {subscales} -> {output}")


def _parse_fractions(text: str) -> list[float]:
    try:
        values = [float(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise FacemindError(f"--removal must be comma-separated numbers, got {text!r}") from None
    for v in values:
        if not 0 <= v < 1:
            raise FacemindError(f"--removal fractions must be in [0, 1), got {v}")
    return values


@app.command("sdi")
def sdi_cmd(
    responses: Annotated[
        Path, typer.Argument(help="Responses table (.csv, .parquet, .xlsx, .sav, .dta).")
    ],
    instrument: InstrumentOpt,
    output: OutOpt,
    id_column: IdOpt = "participant_id",
    group_by: Annotated[
        str, typer.Option("--group-by", help="Group by raw subscale total or by severity band.")
    ] = "total",
    standardize: Annotated[
        bool,
        typer.Option(
            "--standardize/--no-standardize", help="z-score items (ddof=1) before distances."
        ),
    ] = True,
    center: Annotated[
        str,
        typer.Option(
            "--center",
            help="Distance to the group center (SDI) or to the global center (released scripts' variant).",
        ),
    ] = "group",
    missing: Annotated[
        str, typer.Option("--missing", help="error, or drop (leave out of that subscale).")
    ] = "error",
    summary: Annotated[
        Path | None, typer.Option("--summary", help="Write the per-subscale SDI summary as JSON.")
    ] = None,
    plot: Annotated[
        Path | None,
        typer.Option("--plot", help="Draw GDI bars and discrepancy distributions (PNG)."),
    ] = None,
    removal: Annotated[
        str,
        typer.Option(
            "--removal", help="Fractions for 'SDI after removing X%' (within each group)."
        ),
    ] = "0,0.1,0.2,0.3,0.4,0.5",
    encoding: EncodingOpt = None,
) -> None:
    """Symptom Discrepancy Index: per-respondent discrepancy, per-group GDI and per-subscale SDI."""
    from ..api import compute_sdi

    fractions = _parse_fractions(removal)
    with table_notes():
        results = compute_sdi(
            responses,
            instrument,
            group_by=group_by,
            standardize=standardize,
            center=center,
            missing=missing,
            id_column=id_column,
            encoding=encoding,
        )
    write_table(sdi_mod.per_respondent(results, id_column=id_column), output)
    summ = sdi_mod.summary(results, removal_fractions=fractions)
    if summary is not None:
        write_json(summ, summary)
    if plot is not None:
        from ..reporting.sdi_plot import plot_sdi

        scales = {n: s.multiplier for n, s in load_instrument(instrument).subscales.items()}
        plot_sdi(results, plot, multipliers=scales)  # the scored scale, as in the report
    print_sdi_table(results, fractions, summary=summ)
    from ..reporting.html import small_group_warnings

    for warning in small_group_warnings(results):
        err.print(f"[yellow]{as_flags(warning)}[/]", markup=True, highlight=False)
    for name, res in results.items():
        if res.left_out:
            err.print(
                f"[yellow]{name}: {res.left_out} of {len(res.ids)} respondents left out "
                "(missing answers)[/]"
            )
    wrote = [str(output)] + [str(p) for p in (summary, plot) if p is not None]
    err.print(f"wrote {', '.join(wrote)}")


def print_sdi_table(
    results: dict[str, sdi_mod.SubscaleSDI],
    fractions: list[float],
    title: str = "Symptom Discrepancy Index",
    summary: dict | None = None,
) -> None:
    """Print one row per subscale: n, groups, SDI and SDI after each removal fraction.

    The removal curve is read from ``summary`` (:func:`facemind.sdi.summary`) when given.
    """
    table = Table(title=title)
    for col in ["subscale", "n", "groups", "SDI"] + [f"-{f:.0%}" for f in fractions if f > 0]:
        table.add_column(col, justify="right" if col != "subscale" else "left")
    for name, res in results.items():
        if summary is not None:
            curve = [r["sdi"] for r in summary[name]["removal"] if r["fraction"] > 0]
        elif any(f > 0 for f in fractions):
            curve = res.removal_curve([f for f in fractions if f > 0])["sdi"].tolist()
        else:
            curve = []
        extra = [f"{v:.3f}" for v in curve]
        table.add_row(name, str(res.n), str(len(res.groups)), f"{res.sdi:.3f}", *extra)
    out.print(table)
