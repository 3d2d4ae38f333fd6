"""Where offline work units run: in this process, in local worker processes, or on a cluster.

Every parallel step of the offline tools (keypoint extraction: one unit per video; model
search: one unit per fold, split or grid cell; rendering: one unit per clip) hands its
units to an `Executor`, so one code path serves all three:

- `LocalExecutor(1)`: in this process, in order (what `--jobs 1` always did);
- `LocalExecutor(n)`: n worker processes (joblib/loky, what `--jobs n` always did);
- `DaskExecutor`: a Dask distributed cluster, `--cluster local` (a local cluster of
  `--jobs` single-threaded worker processes, started once per command) or
  `--cluster ADDRESS` (e.g. tcp://scheduler:8786, a running one). Dask is optional
  (requirements-cluster.txt); only this module imports it.

Results come back to the caller (the driver), which alone writes them (e.g. the keypoint
cache, atomically): a unit whose worker dies is rescheduled by Dask on another worker
(up to `distributed.scheduler.allowed-failures` times) and its result is taken once, so
nothing is lost or written twice.

`session(jobs, cluster)` makes one executor the current one for a command (train.py's
subcommands, the render tool); library code asks `current(n_jobs)`, which gives that
executor when a cluster session is open and a `LocalExecutor(n_jobs)` otherwise.
"""

from __future__ import annotations

import argparse
import atexit
import contextlib
from collections.abc import Callable, Iterable, Iterator
from typing import Any, Protocol, TypeVar

S = TypeVar("S")
T = TypeVar("T")
R = TypeVar("R")

INSTALL_HINT = "--cluster needs Dask: pip install -r requirements-cluster.txt"


class Executor(Protocol):
    """Runs `fn(shared, item)` for every item; yields (item index, result) as each ends.

    `shared` is sent to each worker once (e.g. a feature table every fold reads). The
    function and its arguments must be picklable (a module-level function), except for
    `LocalExecutor(1)`, which calls it in this process.
    """

    workers: int

    def map_unordered(
        self, fn: Callable[[S, T], R], items: Iterable[T], shared: S
    ) -> Iterator[tuple[int, R]]: ...


class LocalExecutor:
    """`workers` == 1: in this process, in order; more: that many loky worker processes."""

    def __init__(self, workers: int = 1) -> None:
        if workers == 0:
            raise ValueError("`n_jobs` must be >= 1, or negative for all cores but n-1, got 0")
        self.workers = workers

    def map_unordered(
        self, fn: Callable[[S, T], R], items: Iterable[T], shared: S
    ) -> Iterator[tuple[int, R]]:
        items = list(items)
        if self.workers == 1 or len(items) < 2:
            for i, item in enumerate(items):
                yield i, fn(shared, item)
            return
        from joblib import Parallel, delayed

        parallel = Parallel(n_jobs=self.workers, return_as="generator_unordered")
        yield from parallel(delayed(_indexed)(fn, shared, i, item) for i, item in enumerate(items))


def _indexed(fn: Callable[[S, T], R], shared: S, index: int, item: T) -> tuple[int, R]:
    return index, fn(shared, item)


class DaskExecutor:
    """Units as Dask tasks on a local cluster (`address` "local") or a running scheduler.

    Attributes:
        client: the `distributed.Client` (tests use it to register worker plugins).
        startup_s: seconds it took to start or reach the cluster and see a worker.
    """

    def __init__(self, address: str, workers: int = 1, timeout_s: float = 30.0) -> None:
        import time

        dist = _distributed()
        start = time.perf_counter()
        self._cluster: Any = None
        if address == "local":
            if workers < 1:
                raise ValueError(f"--cluster local needs --jobs >= 1, got {workers}")
            self._cluster = dist.LocalCluster(
                n_workers=workers,
                threads_per_worker=1,  # one pose model / one fit per process at a time
                processes=True,
                dashboard_address="127.0.0.1:0",  # loopback, a free port: no clash, not exposed
            )
            self.client: Any = dist.Client(self._cluster)
        else:
            try:
                self.client = dist.Client(address, timeout=timeout_s)
            except OSError as e:
                raise RuntimeError(f"cannot reach the Dask scheduler at {address}: {e}") from e
        self.client.wait_for_workers(1, timeout=max(timeout_s, 120.0))
        self.startup_s = time.perf_counter() - start
        self.address = address
        self.workers = max(1, len(self.client.scheduler_info().get("workers", {})))

    def map_unordered(
        self, fn: Callable[[S, T], R], items: Iterable[T], shared: S
    ) -> Iterator[tuple[int, R]]:
        items = list(items)
        if not items:
            return
        [remote] = self.client.scatter([shared], broadcast=True, hash=False)
        futures = self.client.map(_indexed, [fn] * len(items), [remote] * len(items),
                                  range(len(items)), items, pure=False)  # fmt: skip
        try:
            for future in _distributed().as_completed(futures):
                index, result = future.result()
                yield index, result
                future.release()
        finally:
            for f in futures:
                f.cancel()
            remote.release()

    def close(self) -> None:
        self.client.close()
        if self._cluster is not None:
            self._cluster.close()


def _distributed() -> Any:
    """The `distributed` module (untyped to mypy), or the hint to install it."""
    try:
        import distributed
    except ImportError as e:
        raise RuntimeError(INSTALL_HINT) from e
    return distributed


_engines: dict[tuple[str, int], DaskExecutor] = {}
_current: list[Executor] = []


def engine(address: str, workers: int = 1) -> DaskExecutor:
    """The `DaskExecutor` for `address` ("local": `workers` processes), made once per
    process and closed at exit (so several steps of one command share its start-up)."""
    key = (address, workers if address == "local" else 0)
    if key not in _engines:
        if not _engines:
            atexit.register(shutdown)
        _engines[key] = DaskExecutor(address, workers)
    return _engines[key]


def shutdown() -> None:
    """Close every engine made by `engine` (stops local clusters)."""
    while _engines:
        _, ex = _engines.popitem()
        with contextlib.suppress(Exception):
            ex.close()


def executor(jobs: int = 1, cluster: str | None = None) -> Executor:
    """`--cluster` given: its engine; else `jobs` local processes (1: this process)."""
    return LocalExecutor(jobs) if cluster is None else engine(cluster, jobs)


@contextlib.contextmanager
def session(jobs: int = 1, cluster: str | None = None) -> Iterator[Executor | None]:
    """Make the `cluster` engine current for the block (nothing changes without one)."""
    if cluster is None:
        yield None
        return
    ex = engine(cluster, jobs)
    _current.append(ex)
    try:
        yield ex
    finally:
        _current.pop()


def current(n_jobs: int = 1) -> Executor:
    """The open session's engine, else `LocalExecutor(n_jobs)`."""
    return _current[-1] if _current else LocalExecutor(n_jobs)


def check_address(value: str) -> str:
    """argparse type of `--cluster`: "local" or a scheduler address (host:port, tcp://...)."""
    value = value.strip()
    if value != "local" and ":" not in value:
        raise argparse.ArgumentTypeError(
            f"--cluster takes 'local' or a Dask scheduler address such as "
            f"tcp://host:8786, got {value!r}"
        )
    return value
