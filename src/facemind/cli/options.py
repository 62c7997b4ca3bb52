"""Options that several commands share, declared once so their names, defaults and help agree.

The command-line contract: a command's main output is ``-o/--out``, its local worker
processes ``-j/--jobs`` (default: one per core), its instrument ``-i/--instrument``, the text
encoding of the tables it reads ``--encoding``, the face model ``--face-model``. Names used before (``--output``,
``extract --workers``, ``models fetch --dest``) are still accepted; help shows only the
current ones (see :mod:`facemind.cli.help`).
"""

from __future__ import annotations

import os
from typing import Annotated, Any

import typer

#: Worker processes that ``-j/--jobs`` means when not given.
CORES = os.cpu_count() or 1
ONE_PER_CORE = "one per core"


_ANNOTATED: Any = object()


def _option(default: Any, *names: str, **kwargs: Any) -> Any:
    # In ``Annotated[...]`` typer takes no default; as a parameter's default value it needs one.
    if default is _ANNOTATED:
        return typer.Option(*names, **kwargs)
    return typer.Option(default, *names, **kwargs)


def out_option(help: str, *legacy: str, default: Any = _ANNOTATED, **kwargs: Any) -> Any:
    """``-o/--out`` for a command's main output; ``legacy`` names stay accepted, unshown.

    Inside ``Annotated[...]`` give no ``default``; as a parameter's default value give one
    (``...`` when required). ``kwargs`` go to :func:`typer.Option`.
    """
    return _option(default, "--out", "-o", *legacy, help=help, **kwargs)


def jobs_option(*legacy: str, default: Any = _ANNOTATED) -> Any:
    """``-j/--jobs``: local worker processes, one per core unless given (see ``out_option``)."""
    return _option(
        default,
        "--jobs",
        "-j",
        *legacy,
        min=1,
        show_default=ONE_PER_CORE,
        help="Worker processes.",
    )


JobsOpt = Annotated[int | None, jobs_option()]


def resolve_jobs(jobs: int | None, *, items: int | None = None) -> int:
    """``--jobs`` as a number: ``jobs`` when given, else one per core (at most ``items``)."""
    if jobs is not None:
        return jobs
    return max(1, min(CORES, items)) if items is not None else CORES


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


InstrumentOpt = Annotated[
    str,
    typer.Option(
        "--instrument", "-i", help="Built-in id (see `facemind instruments`) or a spec file."
    ),
]
EncodingOpt = Annotated[
    str | None,
    typer.Option(
        "--encoding", help="Text encoding of CSV tables (default: UTF-8, else Windows-1252)."
    ),
]


def face_model_option(help: str = "Face model file (.task).", *legacy: str) -> Any:
    """``--face-model``: the MediaPipe face model file (``legacy`` names stay accepted)."""
    return typer.Option("--face-model", *legacy, help=help)
