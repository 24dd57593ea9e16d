"""Where sweep runs execute: in this process, a local process pool, or a Dask cluster.

Every executor does one thing: apply a picklable module-level function to each item and
yield `Done(index, value, error)` as results arrive, in any order. The caller (sweep.py)
writes results itself, so the same code serves all executors, a Dask worker needs no
shared disk, and the order results arrive in never reaches the output files.
"""

from __future__ import annotations

import multiprocessing
import os
import traceback
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from typing import Any, Protocol

from hardware_models.errors import InputError

CONNECT_TIMEOUT_S = 3
"""How long to wait for a Dask scheduler before calling the address unreachable."""


@dataclass(frozen=True)
class Done:
    """One finished task: its index in the submitted sequence, and its value or error text."""

    index: int
    value: Any = None
    error: str | None = None
    traceback: str | None = None


def guarded(fn: Callable[[Any], Any], item: Any) -> Done:
    """Run `fn(item)` in the worker and turn an exception into text.

    Catching in the worker keeps one failing run from failing the batch, and sends back
    plain strings rather than exception objects that may not unpickle on the driver.
    """
    try:
        return Done(-1, fn(item))
    except Exception as exc:  # noqa: BLE001 - any run error is recorded, the sweep goes on
        return Done(-1, None, f"{type(exc).__name__}: {exc}", traceback.format_exc())


def default_workers() -> int:
    """The cores this process may use (affinity-aware where the OS tells)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # macOS, Windows
        return os.cpu_count() or 1


class Executor(Protocol):
    """What sweep.py needs from an executor."""

    workers: int

    def imap_unordered(self, fn: Callable[[Any], Any], items: Sequence[Any]) -> Iterator[Done]:
        """Yield one `Done` per item as results arrive."""
        ...

    def close(self) -> None:
        """Release processes, clients and clusters."""
        ...


class SerialExecutor:
    """One worker, in this process: no start-up cost, easiest to debug."""

    workers = 1

    def imap_unordered(self, fn: Callable[[Any], Any], items: Sequence[Any]) -> Iterator[Done]:
        for i, item in enumerate(items):
            d = guarded(fn, item)
            yield Done(i, d.value, d.error, d.traceback)

    def close(self) -> None:
        """Nothing to release."""


def _collect(fut: Future[Done], index: int) -> Done:
    """A pool future's Done, or the reason its worker process never returned one."""
    exc = fut.exception()
    if exc is not None:
        return Done(index, None, f"worker process died: {type(exc).__name__}: {exc}", None)
    d = fut.result()
    return Done(index, d.value, d.error, d.traceback)


PRELOAD = ("scenarios.sweep", "scenarios.run", "world.metrics")
"""Imported once by the fork server, so each worker starts with the model already loaded."""


class PoolExecutor:
    """A local process pool (forkserver start: safe with the progress bar's thread).

    At most two tasks per worker are in flight, so results never pile up unwritten. A
    worker that dies (killed, out of memory, a crash in native code) breaks the pool: the
    tasks in flight are reported failed, a fresh pool takes over, and the sweep goes on.
    """

    def __init__(self, workers: int) -> None:
        self.workers = workers
        if "forkserver" in multiprocessing.get_all_start_methods():
            self._ctx = multiprocessing.get_context("forkserver")
            self._ctx.set_forkserver_preload(list(PRELOAD))
        else:  # Windows
            self._ctx = multiprocessing.get_context("spawn")
        self._pool = ProcessPoolExecutor(max_workers=workers, mp_context=self._ctx)

    def imap_unordered(self, fn: Callable[[Any], Any], items: Sequence[Any]) -> Iterator[Done]:
        pending: dict[Future[Done], int] = {}
        next_i = 0
        while next_i < len(items) or pending:
            broken = False
            while not broken and next_i < len(items) and len(pending) < 2 * self.workers:
                try:
                    pending[self._pool.submit(guarded, fn, items[next_i])] = next_i
                    next_i += 1
                except BrokenProcessPool:
                    broken = True
            if pending:
                finished, _ = wait(pending, return_when=FIRST_COMPLETED)
                broken |= any(isinstance(f.exception(), BrokenProcessPool) for f in finished)
                if broken:  # everything in flight dies with the pool: collect it all
                    finished, _ = wait(pending)
                for fut in finished:
                    yield _collect(fut, pending.pop(fut))
            if broken:
                self._pool.shutdown(wait=False, cancel_futures=True)
                self._pool = ProcessPoolExecutor(max_workers=self.workers, mp_context=self._ctx)

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)


def guarded_batch(fn: Callable[[Any], Any], items: Sequence[Any]) -> list[Done]:
    """`guarded` over a few items in one task: amortises the scheduler's per-task cost."""
    return [guarded(fn, item) for item in items]


class DaskExecutor:
    """Tasks on a dask.distributed cluster: an existing scheduler, or a LocalCluster.

    Runs go in batches (up to MAX_BATCH per task, fewer as the work runs out), as a Dask
    task costs scheduler and transfer time that a short run would feel.

    Args:
        address: "tcp://host:port" of a running `dask scheduler`, or "local" to start a
            LocalCluster here (one single-threaded worker process per core by default).
        workers: LocalCluster workers; ignored for an existing cluster.
        processes: LocalCluster workers as processes (True) or threads in this process.
    """

    MAX_BATCH = 8

    def __init__(self, address: str, workers: int | None = None, processes: bool = True) -> None:
        import dask
        from distributed import Client, LocalCluster

        self._cluster = None
        if address == "local":
            # the statistical profiler samples each task's stack every 10 ms: pure-Python
            # runs pay for it, and a sweep never looks at the profile
            with dask.config.set({"distributed.worker.profile.enabled": False}):
                self._cluster = LocalCluster(
                    n_workers=workers or default_workers(),
                    threads_per_worker=1,
                    processes=processes,
                    dashboard_address=":0",  # any free port: never clash with a running cluster
                )
            self._client = Client(self._cluster)
        else:
            try:
                self._client = Client(address, timeout=CONNECT_TIMEOUT_S)
            except (OSError, ValueError, TypeError) as exc:
                raise InputError(
                    f"--scheduler {address!r}: cannot reach a Dask scheduler within "
                    f"{CONNECT_TIMEOUT_S} s ({exc}); start one with `dask scheduler` and "
                    "`dask worker ADDRESS`, or use --scheduler local"
                ) from None
        threads = self._client.nthreads()
        self.workers = max(1, sum(threads.values()))

    def imap_unordered(self, fn: Callable[[Any], Any], items: Sequence[Any]) -> Iterator[Done]:
        from distributed import as_completed

        index: dict[str, list[int]] = {}
        queue = as_completed()
        start = 0

        def submit() -> None:
            # guided self-scheduling: batches shrink as the work runs out, so no worker
            # is left with a long batch while the others idle at the end
            nonlocal start
            size = max(1, min(self.MAX_BATCH, (len(items) - start) // (4 * self.workers)))
            batch = list(range(start, min(start + size, len(items))))
            if batch:
                start += len(batch)
                fut = self._client.submit(guarded_batch, fn, [items[i] for i in batch], pure=False)
                index[fut.key] = batch
                queue.add(fut)

        for _ in range(2 * self.workers):  # keep workers busy, not every payload shipped at once
            submit()
        for fut in queue:
            batch = index.pop(fut.key)
            if fut.status == "error":  # the worker died (KilledWorker) or the task was lost
                exc = fut.exception()
                for i in batch:
                    yield Done(i, None, f"worker failed: {type(exc).__name__}: {exc}", None)
            else:
                for i, d in zip(batch, fut.result(), strict=True):
                    yield Done(i, d.value, d.error, d.traceback)
            fut.release()
            submit()

    def close(self) -> None:
        self._client.close()
        if self._cluster is not None:
            self._cluster.close()


def make_executor(workers: int | None = None, scheduler: str | None = None) -> Executor:
    """The executor a sweep asked for; raises InputError (before any run) when it cannot be had."""
    if workers is not None and workers < 1:
        raise InputError(f"--workers {workers}: must be 1 or more")
    if scheduler:
        if scheduler != "local" and "://" not in scheduler:
            raise InputError(
                f"--scheduler {scheduler!r}: expected 'local' or an address like tcp://host:8786"
            )
        return DaskExecutor(scheduler, workers)
    k = workers or default_workers()
    return SerialExecutor() if k == 1 else PoolExecutor(k)
