"""Process-pool mapping shared by the batch writers (synth, features)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from typing import Any


@contextmanager
def process_map(jobs: int, n_tasks: int) -> Iterator[Callable[..., Iterable[Any]]]:
    """Yield ``map`` over ``jobs`` worker processes, or the built-in ``map`` when one would do.

    Results come back in task order either way, so outputs do not depend on ``jobs``.
    """
    if jobs > 1 and n_tasks > 1:
        with ProcessPoolExecutor(max_workers=jobs) as pool:
            yield pool.map
    else:
        yield map
