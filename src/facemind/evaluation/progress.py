"""A sweep's progress: finished steps counted and reported to an optional callback."""

from __future__ import annotations

from collections.abc import Callable


class Progress:
    """Counts finished steps and reports ``(done, total)`` to an optional callback."""

    def __init__(self, callback: Callable[[int, int], None] | None, done: int, total: int):
        self.callback, self.done, self.total = callback, done, total
        self._report()

    def step(self) -> None:
        self.done += 1
        self._report()

    def _report(self) -> None:
        if self.callback is not None:
            self.callback(self.done, self.total)
