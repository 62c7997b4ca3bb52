"""The command line's progress, shared by the commands that report (done, total): a bar on a
terminal, plain lines elsewhere (a batch job's log), and what an interruption kept."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from . import err

#: Without a terminal, a line each time this share of the work is done more...
LOG_STEP = 0.1
#: ... or when this many seconds passed since the last line.
LOG_SECONDS = 60.0


def _duration(seconds: float) -> str:
    seconds = max(0, round(seconds))
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min {seconds % 60:02d} s"
    return f"{seconds // 3600} h {seconds % 3600 // 60:02d} min"


class LogProgress:
    """Progress as lines: ``label: done/total (pct), rate, time left``, printed every
    :data:`LOG_STEP` of the work or every :data:`LOG_SECONDS`, and when all is done."""

    def __init__(
        self,
        label: str,
        write: Callable[[str], None],
        *,
        step: float = LOG_STEP,
        seconds: float = LOG_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.label, self.write, self.step, self.seconds, self.clock = (
            label,
            write,
            step,
            seconds,
            clock,
        )
        self.start: float | None = None
        self.first = 0
        self.last_time = 0.0
        self.last_share = 0.0

    def __call__(self, done: int, total: int) -> None:
        now = self.clock()
        if self.start is None:  # the first call: work done before this run is not timed
            self.start, self.first, self.last_time = now, done, now
            self.last_share = done / total if total else 1.0
            return
        share = done / total if total else 1.0
        due = share >= self.last_share + self.step or now - self.last_time >= self.seconds
        if not (due or done >= total):
            return
        self.last_time, self.last_share = now, share
        elapsed = now - self.start
        ran = done - self.first
        text = f"{self.label}: {done}/{total} done ({share:.0%})"
        if ran > 0 and elapsed > 0:
            rate = ran / elapsed
            shown = f"{rate:.2f}/s" if rate >= 1 else f"{rate * 60:.2f}/min"
            text += f", {shown}, {_duration((total - done) / rate)} left"
        self.write(text)


@contextmanager
def progress_bar(label: str) -> Iterator[Callable[[int, int], None]]:
    """A progress bar on stderr on a terminal, else :class:`LogProgress` lines, updated as
    (done, total).

    The bar appears at the first update, so that input errors found before the work starts
    are printed without a bar.
    """
    if not err.is_terminal:
        yield LogProgress(label, lambda text: err.print(text, highlight=False, markup=False))
        return
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    bar = Progress(
        f"[bold]{label}",
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=err,
        transient=True,
    )
    task = None

    def update(done: int, total: int) -> None:
        nonlocal task
        if task is None:
            bar.start()
            task = bar.add_task(label, total=total)
        bar.update(task, completed=done, total=total)

    try:
        yield update
    finally:
        if task is not None:
            bar.stop()


#: What an interrupted command keeps, and how to go on.
KEPT = {
    "extract": "the videos finished so far are kept in {out}; run the same command again to "
    "extract the others",
    "sweep": "the folds finished so far are kept beside {out}; run the same command again to "
    "go on from there",
    "demo": "the stages finished so far are kept in {out}; run the same command again to go on",
}


def interrupted_message(argv: list[str]) -> str:
    """``facemind: interrupted``, with what the command kept and how to resume."""
    command = next((a for a in argv if not a.startswith("-")), "")
    out = next((argv[i + 1] for i, a in enumerate(argv[:-1]) if a in ("-o", "--out")), None)
    out = out or next((a.split("=", 1)[1] for a in argv if a.startswith("--out=")), "OUT")
    kept = KEPT.get(command)
    return "facemind: interrupted" + (f"; {kept.format(out=out)}" if kept else "; nothing kept")
