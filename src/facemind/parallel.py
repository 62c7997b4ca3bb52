"""One way to run work in parallel: serially, in local worker processes, or on a Dask cluster.

Library functions take ``executor`` (any :class:`concurrent.futures.Executor`, a Dask
``Client`` or ``client.get_executor()``) or ``jobs`` (local processes), and report
``progress(done, total)`` to a callback; the command line draws the bars. Results never
depend on where the work ran: every task carries its own seed.
"""

from __future__ import annotations

import ast
import os
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Executor, Future, ProcessPoolExecutor, as_completed
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from .errors import FacemindError, ParameterError

#: Reports ``(done, total)`` as work finishes.
Progress = Callable[[int, int], None]


class SerialExecutor(Executor):
    """Runs each call in this process when it is submitted: no pickling, no workers."""

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future:
        """Run ``fn(*args, **kwargs)`` now; its result or exception is in the future."""
        future: Future = Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except BaseException as exc:  # delivered by future.result(), as any executor does
            future.set_exception(exc)
        return future


def resolve_jobs(jobs: int) -> int:
    """``jobs`` worker processes, ``-1`` meaning one per core."""
    if jobs == -1:
        return os.cpu_count() or 1
    if jobs < 1:
        raise ParameterError(f"`jobs` must be a positive number of processes or -1, got {jobs}")
    return jobs


def _limit_threads(threads: int) -> None:
    """Worker start-up: BLAS and OpenMP pools sized so that the workers share the cores."""
    from threadpoolctl import threadpool_limits

    threadpool_limits(threads)


#: Imported once by the fork server, so that each worker starts as a fork of it.
_PRELOAD = ["facemind.evaluation.units", "facemind.functionals", "facemind.synth"]


def _start_fork_server() -> None:
    """Start the fork server (once per process) without the ``MALLOC_TRIM_THRESHOLD_`` that a
    Dask ``LocalCluster`` leaves in this process's environment: with it glibc maps and unmaps
    every decoded frame buffer, which costs extraction about 8% of its speed."""
    from multiprocessing import forkserver

    dask_value = ""
    if "distributed" in sys.modules:  # only a loaded Dask can have set it
        import dask

        preset = dask.config.get("distributed.nanny.pre-spawn-environ", {}) or {}
        dask_value = str(preset.get("MALLOC_TRIM_THRESHOLD_", ""))
    if not dask_value or os.environ.get("MALLOC_TRIM_THRESHOLD_") != dask_value:
        forkserver.ensure_running()
        return
    del os.environ["MALLOC_TRIM_THRESHOLD_"]
    try:
        forkserver.ensure_running()
    finally:
        os.environ["MALLOC_TRIM_THRESHOLD_"] = dask_value


def _is_main_guard(node: ast.stmt) -> bool:
    """Whether ``node`` is ``if __name__ == "__main__":`` (either way round)."""
    test = node.test if isinstance(node, ast.If) else None
    if not isinstance(test, ast.Compare) or [type(op) for op in test.ops] != [ast.Eq]:
        return False
    sides = [test.left, *test.comparators]
    names = {s.id for s in sides if isinstance(s, ast.Name)}
    texts = {s.value for s in sides if isinstance(s, ast.Constant)}
    return names == {"__name__"} and texts == {"__main__"}


def unguarded_main() -> str | None:
    """The main script's path when worker processes would run its code again: a script (not
    an interactive session, ``python -c`` or a package's ``__main__``) that has no
    ``if __name__ == "__main__":`` at its top level; else ``None``."""
    main = sys.modules.get("__main__")
    path = getattr(main, "__file__", None)
    spec = getattr(main, "__spec__", None)
    if path is None or (spec is not None and spec.name.endswith("__main__")):
        return None  # never run again in a worker
    try:
        tree = ast.parse(Path(path).read_bytes(), filename=path)
    except (OSError, SyntaxError, ValueError):
        return None
    return None if any(_is_main_guard(n) for n in tree.body) else str(path)


def process_pool(jobs: int) -> ProcessPoolExecutor:
    """``jobs`` worker processes forked from a clean server process (spawned where there is
    no fork server), their native thread pools limited to an equal share of the cores.

    Not forks of this process: a fork inherits the state of OpenMP runtimes (XGBoost, PyTorch)
    already used here, which can hang the child. As with any such pool, a script that starts
    one must guard its entry point with ``if __name__ == "__main__":``; a script that does not
    is refused (:func:`unguarded_main`) before any work starts.
    """
    import multiprocessing as mp

    script = unguarded_main()
    if script is not None:  # each worker would run the script again, and fail
        raise ParameterError(
            f"`jobs` above 1 starts worker processes, which run {script} again: put the "
            'script\'s code under `if __name__ == "__main__":`, or use `jobs=1`'
        )
    if "forkserver" in mp.get_all_start_methods():
        context = mp.get_context("forkserver")
        context.set_forkserver_preload(_PRELOAD)
        _start_fork_server()
    else:
        context = mp.get_context("spawn")
    threads = max(1, (os.cpu_count() or 1) // jobs)
    return ProcessPoolExecutor(
        max_workers=jobs, mp_context=context, initializer=_limit_threads, initargs=(threads,)
    )


def dask_client(scheduler: str) -> Any:
    """A ``distributed.Client`` connected to the Dask scheduler at ``scheduler``."""
    try:
        from distributed import Client
    except ImportError:
        raise FacemindError(
            "scheduler needs Dask: pip install 'facemind[dist]' (dask[distributed])"
        ) from None
    try:
        return Client(scheduler, set_as_default=False)  # waits distributed.comm.timeouts.connect
    except (OSError, TimeoutError) as exc:
        raise FacemindError(f"scheduler {scheduler}: no Dask scheduler answered ({exc})") from None


@contextmanager
def open_executor(
    executor: Any = None, *, jobs: int = 1, scheduler: str | None = None, n_tasks: int = 2
) -> Iterator[Executor]:
    """The executor to run on: ``executor`` as given (a Dask ``Client`` becomes its
    ``get_executor()``; left open), else one opened here and shut down on exit: the Dask
    cluster at ``scheduler``, ``jobs`` local processes, or this process when one job (or
    one task, ``n_tasks``) would do.
    """
    if executor is not None:
        yield _as_executor(executor)
    elif scheduler is not None:
        client = dask_client(scheduler)
        try:
            yield client.get_executor(pure=False)
        finally:
            client.close()
    elif (jobs := resolve_jobs(jobs)) > 1 and n_tasks > 1:
        with process_pool(jobs) as pool:
            yield pool
    else:
        yield SerialExecutor()


def _as_executor(executor: Any) -> Executor:
    if isinstance(executor, Executor):
        return executor
    if hasattr(executor, "get_executor"):  # a distributed.Client
        return executor.get_executor(pure=False)
    raise TypeError(
        f"executor must be a concurrent.futures.Executor or a Dask Client, got {executor!r}"
    )


def share(executor: Executor, value: Any) -> Any:
    """``value`` made ready to pass to many calls: on a Dask cluster it is sent once (to one
    worker; the others fetch it from there) instead of with every call; elsewhere it is
    ``value`` itself. Pass the result as a direct argument of :func:`map_unordered`'s calls.
    """
    client = getattr(executor, "_client", None)  # distributed.cfexecutor.ClientExecutor
    if client is None or not hasattr(client, "scatter"):
        return value
    return client.scatter(value, hash=False)


def map_unordered(
    executor: Executor,
    func: Callable[..., Any],
    calls: Sequence[tuple[Any, ...]],
    *,
    on_error: Callable[[int, Exception], Any] | None = None,
) -> Iterator[tuple[int, Any]]:
    """``(index, func(*calls[index]))`` for every call, as each finishes (in order when
    serial). Calls not yet started are cancelled if the caller stops early or one fails.

    With ``on_error``, a call that raises (in ``func``, or because its worker died) yields
    ``(index, on_error(index, exception))`` instead, and the other calls go on.
    """

    def settled(i: int, outcome: Callable[[], Any]) -> tuple[int, Any]:
        try:
            return i, outcome()
        except Exception as exc:
            if on_error is None:
                raise
            return i, on_error(i, exc)

    if isinstance(executor, SerialExecutor):
        for i, args in enumerate(calls):
            yield settled(i, lambda args=args: func(*args))
        return
    futures = {executor.submit(func, *args): i for i, args in enumerate(calls)}
    try:
        for future in as_completed(futures):
            yield settled(futures[future], future.result)
    finally:
        for future in futures:
            future.cancel()


def map_ordered(
    executor: Executor, func: Callable[[Any], Any], items: Iterable[Any]
) -> Iterator[Any]:
    """``func(item)`` for every item, in the items' order (serially: one at a time)."""
    results: dict[int, Any] = {}
    following = 0
    for i, result in map_unordered(executor, func, [(item,) for item in items]):
        results[i] = result
        while following in results:
            yield results.pop(following)
            following += 1
