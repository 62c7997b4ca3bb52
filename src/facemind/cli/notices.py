"""Library warnings on stderr: each kind once with a count, or every one with ``--verbose``."""

from __future__ import annotations

import re
import warnings
from collections.abc import Iterator
from contextlib import contextmanager

from . import as_flags, err


def warning_lines(texts: list[str]) -> list[str]:
    """One line per kind of warning (numbers aside), its first wording and its count."""
    first: dict[str, str] = {}
    counts: dict[str, int] = {}
    for text in texts:
        line = " ".join(text.split())
        key = re.sub(r"\d+(\.\d+)?", "#", line)
        first.setdefault(key, line)
        counts[key] = counts.get(key, 0) + 1
    return [
        f"warning ({counts[k]}x, --verbose shows each): {first[k]}"
        if counts[k] > 1
        else f"warning: {first[k]}"
        for k in first
    ]


@contextmanager
def quiet_warnings(verbose: bool) -> Iterator[list[str]]:
    """Collect the warnings raised in the block into the yielded list (also extended by the
    caller with workers' warnings); on leaving, print them grouped, or each as it came when
    ``verbose``."""
    collected: list[str] = []
    if verbose:
        yield collected
        for text in collected:
            err.print(f"warning: {text}", soft_wrap=True, highlight=False, markup=False)
        return
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        yield collected
    texts = [f"{w.category.__name__}: {str(w.message).strip()}" for w in caught] + collected
    for line in warning_lines(texts):
        err.print(line, soft_wrap=True, highlight=False, markup=False)


@contextmanager
def table_notes() -> Iterator[None]:
    """Print what the table reader noted in the block (an encoding guessed, ids re-typed) as
    ``note:`` lines, each as it came."""
    from ..io import TableNote

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", TableNote)
        yield
    for w in caught:
        err.print(f"[yellow]note: {as_flags(str(w.message))}[/]")
