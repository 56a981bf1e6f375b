"""Task runners by name: threads on one machine, or Dask (a local cluster or a scheduler)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from prefect.task_runners import TaskRunner, ThreadPoolTaskRunner

# Two workers with one thread each: polars already uses every core inside a step.
LOCAL_DASK_WORKERS = 2


@contextmanager
def task_runner_for(spec: str) -> Iterator[TaskRunner]:  # type: ignore[type-arg]
    """A task runner for `threads`, `dask` or `dask=tcp://HOST:PORT`, shared by every phase.

    `dask` starts one local cluster for the whole study run and closes it afterwards, so phases
    running side by side share its workers instead of each starting a cluster.
    """
    if spec == "threads":
        yield ThreadPoolTaskRunner(max_workers=4)
        return
    from prefect_dask import DaskTaskRunner

    if spec.startswith("dask="):
        yield DaskTaskRunner(address=spec.removeprefix("dask="))
        return
    if spec != "dask":
        raise ValueError(f"task runner {spec!r}: expected threads, dask or dask=tcp://HOST:PORT")
    from distributed import LocalCluster

    with LocalCluster(
        n_workers=LOCAL_DASK_WORKERS, threads_per_worker=1, processes=True, dashboard_address=None,
        host="127.0.0.1",
    ) as cluster:
        yield DaskTaskRunner(address=cluster.scheduler_address)
