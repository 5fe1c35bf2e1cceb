"""Where experiments run: in this process, in local worker processes, or on Dask.

Every executor takes the same chunks of experiments and hands back each chunk's results as it
finishes, in any order; the sweep sorts them, so the tables do not depend on the executor or the
number of workers. Workers evaluate with one BLAS thread each: numpy's threaded BLAS makes two
runs side by side slower each than alone on a small machine.

* ``sequential`` — here, one chunk after another.
* ``processes`` — a pool of ``workers`` spawned Python processes on this machine.
* ``dask`` — Dask distributed: a ``LocalCluster`` of ``workers`` single-threaded worker
  processes, or the cluster whose scheduler is at ``scheduler`` (``tcp://host:port``, started
  with ``dask scheduler`` and ``dask worker``). A worker lost mid-sweep has its tasks run again
  elsewhere by the scheduler; results already handed back are in the sweep's journal.
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import os
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from typing import Any, TypeVar

from simopt.experiments.outcomes import Record, Settings, evaluate

EXECUTORS = ("sequential", "processes", "dask")

T = TypeVar("T")
R = TypeVar("R")

Task = tuple[int, dict[str, Any], int]
"""(experiment, factor values, seed)."""
Done = tuple[int, list[Record] | str]
"""(experiment, its outcomes — or the one-line message of the error that stopped it)."""


@dataclass(frozen=True)
class Payload:
    """Everything a worker needs to evaluate experiments, sent once."""

    data: dict[str, Any]
    file: str
    outcomes: tuple[str, ...]
    settings: Settings

    @functools.cached_property
    def digest(self) -> str:
        """Names the payload in a worker's cache; computed once, and travels with it."""
        text = json.dumps(
            [self.data, self.file, self.outcomes, self.settings.__dict__],
            sort_keys=True,
            default=str,
        )
        return hashlib.sha256(text.encode()).hexdigest()


class ExecutorError(ValueError):
    """An executor cannot be set up as asked."""


_MODELS: dict[str, Any] = {}
_PINNED = False


def _pin_blas() -> None:
    global _PINNED
    if not _PINNED:
        from threadpoolctl import threadpool_limits

        threadpool_limits(1)
        _PINNED = True


_INSTALLED: list[Payload] = []


def _install(payload: Payload) -> None:
    _INSTALLED[:] = [payload]


def _evaluate_installed(chunk: Sequence[Task]) -> list[Done]:
    return evaluate_chunk(_INSTALLED[0], chunk)


def resolve_executor(executor: str | None, scheduler: str | None) -> str:
    """The executor asked for; without one, dask when a scheduler is named, else sequential."""
    return executor or ("dask" if scheduler else "sequential")


def _pinned_call(fn: Callable[[T], R], item: T) -> R:
    _pin_blas()
    return fn(item)


def map_tasks(
    fn: Callable[[T], R],
    items: Sequence[T],
    *,
    executor: str | None = None,
    workers: int | None = None,
    scheduler: str | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> list[R]:
    """``[fn(item) for item in items]`` on an executor, in the items' order. ``fn`` must be a
    module-level function (it travels to the workers by name); ``progress(done, total)``."""
    run = make_executor(resolve_executor(executor, scheduler), workers, scheduler)
    out: dict[int, R] = {}
    try:
        for i, result in run.map(fn, items):
            out[i] = result
            if progress is not None:
                progress(len(out), len(items))
    finally:
        run.close()
    return [out[i] for i in range(len(items))]


def evaluate_chunk(payload: Payload, chunk: Sequence[Task], pin: bool = True) -> list[Done]:
    """Evaluate experiments; a row the scenario's rules reject reports its message instead."""
    from simopt.errors import ScenarioError
    from simopt.experiments.model import ExperimentModel

    if pin:
        _pin_blas()
    key = payload.digest
    model = _MODELS.get(key)
    if model is None:
        _MODELS.clear()
        model = _MODELS[key] = ExperimentModel.from_scenario_data(payload.data, payload.file)
    out: list[Done] = []
    for experiment, row, seed in chunk:
        settings = Settings(
            confidence=float(row.get("confidence", payload.settings.confidence)),
            reps=int(row.get("reps", payload.settings.reps)),
            engine=payload.settings.engine,
        )
        try:
            scenario = model.scenario_at(row, where=f"experiment {experiment}")
            out.append(
                (experiment, evaluate(scenario, payload.outcomes, seed=seed, settings=settings))
            )
        except ScenarioError as err:
            out.append((experiment, err.message))
    return out


class Executor:
    name = "sequential"

    def __init__(self, workers: int = 1) -> None:
        self.workers = workers

    def map(self, fn: Callable[[T], R], items: Sequence[T]) -> Iterator[tuple[int, R]]:
        """(index, fn(item)) for every item, in the order they finish."""
        for i, item in enumerate(items):
            yield i, fn(item)

    def run(self, payload: Payload, chunks: Sequence[Sequence[Task]]) -> Iterator[list[Done]]:
        for chunk in chunks:
            yield evaluate_chunk(payload, chunk, pin=False)

    def describe(self) -> str:
        return "sequential, in this process"

    def close(self) -> None:
        return None


class ProcessExecutor(Executor):
    name = "processes"

    def map(self, fn: Callable[[T], R], items: Sequence[T]) -> Iterator[tuple[int, R]]:
        import multiprocessing

        context = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(max_workers=self.workers, mp_context=context) as pool:
            futures = {pool.submit(_pinned_call, fn, item): i for i, item in enumerate(items)}
            try:
                for future in as_completed(futures):
                    yield futures[future], future.result()
            finally:
                for f in futures:
                    f.cancel()

    def run(self, payload: Payload, chunks: Sequence[Sequence[Task]]) -> Iterator[list[Done]]:
        import multiprocessing

        # spawned, not forked: a fork would copy the progress bar's thread and any BLAS pool.
        # The payload (the whole scenario) goes to each process once, not with every chunk.
        context = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(
            max_workers=self.workers,
            mp_context=context,
            initializer=_install,
            initargs=(payload,),
        ) as pool:
            futures = [pool.submit(_evaluate_installed, chunk) for chunk in chunks]
            try:
                for future in as_completed(futures):
                    yield future.result()
            finally:
                for f in futures:
                    f.cancel()

    def describe(self) -> str:
        return f"{self.workers} local worker processes"


class DaskExecutor(Executor):
    name = "dask"
    connect_timeout = "20s"
    """How long to wait for a scheduler to answer (a cluster still starting may take a while)."""

    def __init__(self, workers: int = 2, scheduler: str | None = None) -> None:
        super().__init__(workers)
        self.scheduler = scheduler
        self._client: Any = None
        self._cluster: Any = None

    def _connect(self) -> Any:
        if self._client is not None:
            return self._client
        from distributed import Client, LocalCluster

        if self.scheduler:
            try:
                self._client = Client(  # type: ignore[no-untyped-call]
                    self.scheduler, timeout=self.connect_timeout
                )
            except OSError as exc:
                raise ExecutorError(
                    f"--scheduler {self.scheduler}: no Dask scheduler answers there ({exc}); "
                    "start one with `dask scheduler` and workers with `dask worker ADDRESS`"
                ) from None
        else:
            self._cluster = LocalCluster(  # type: ignore[no-untyped-call]
                n_workers=self.workers,
                threads_per_worker=1,
                processes=True,
                dashboard_address=":0",  # any free port: None still asks for 8787
                silence_logs=logging.ERROR,
            )
            self._client = Client(self._cluster)  # type: ignore[no-untyped-call]
        return self._client

    def map(self, fn: Callable[[T], R], items: Sequence[T]) -> Iterator[tuple[int, R]]:
        from distributed import as_completed as dask_completed

        client = self._connect()
        futures = [client.submit(_pinned_call, fn, item, pure=False) for item in items]
        where = {f.key: i for i, f in enumerate(futures)}
        try:
            for future in dask_completed(futures):  # type: ignore[no-untyped-call]
                result = future.result()
                index = where[future.key]
                future.release()
                yield index, result
        finally:
            client.cancel(futures)

    def run(self, payload: Payload, chunks: Sequence[Sequence[Task]]) -> Iterator[list[Done]]:
        from distributed import as_completed as dask_completed

        client = self._connect()
        shared = client.scatter(payload, broadcast=True, hash=False)
        stem = f"simopt-{payload.digest[:12]}-{os.getpid()}"
        futures = [
            client.submit(evaluate_chunk, shared, list(chunk), key=f"{stem}-{i}", pure=False)
            for i, chunk in enumerate(chunks)
        ]
        try:
            for future in dask_completed(futures):  # type: ignore[no-untyped-call]
                result = future.result()
                future.release()
                yield result
        finally:
            client.cancel(futures)

    def describe(self) -> str:
        if self.scheduler:
            return f"Dask cluster at {self.scheduler}"
        return f"Dask LocalCluster of {self.workers} single-threaded workers"

    def memory_per_worker(self) -> dict[str, int]:
        """Resident memory of each worker, in bytes, as the scheduler last heard it."""
        client = self._connect()
        info = client.scheduler_info()
        return {
            str(w.get("name", addr)): int(w.get("metrics", {}).get("memory", 0))
            for addr, w in info.get("workers", {}).items()
        }

    def close(self) -> None:
        # Workers hang up while the cluster shuts down; distributed logs each closed stream as
        # an error although nothing is lost. Quiet it for the shutdown only.
        quiet = [logging.getLogger(n) for n in ("distributed", "tornado", "asyncio")]
        levels = [q.level for q in quiet]
        for q in quiet:
            q.setLevel(logging.CRITICAL)
        try:
            if self._client is not None:
                self._client.close()
                self._client = None
            if self._cluster is not None:
                self._cluster.close()
                self._cluster = None
        finally:
            for q, level in zip(quiet, levels, strict=True):
                q.setLevel(level)


def make_executor(name: str, workers: int | None = None, scheduler: str | None = None) -> Executor:
    """An executor by name; ``scheduler`` implies Dask."""
    if scheduler and name != "dask":
        raise ExecutorError(f"--scheduler is a Dask address; it does not go with --executor {name}")
    if scheduler:
        if not scheduler.startswith(("tcp://", "tls://", "inproc://", "ucx://")):
            raise ExecutorError(
                f"--scheduler {scheduler}: a Dask scheduler address looks like tcp://HOST:PORT"
            )
        return DaskExecutor(workers or 0, scheduler)
    n = workers if workers is not None else max(1, min(2, os.cpu_count() or 1))
    if n < 1:
        raise ExecutorError(f"--workers must be at least 1, not {n}")
    if name == "sequential":
        return Executor(1)
    if name == "processes":
        return ProcessExecutor(n)
    if name == "dask":
        return DaskExecutor(n)
    raise ExecutorError(f"unknown executor {name!r} (known: {', '.join(EXECUTORS)})")
