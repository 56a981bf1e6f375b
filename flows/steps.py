"""Each analysis step as one Prefect task; a phase's steps submitted as their inputs allow."""

from __future__ import annotations

import logging
from typing import Any

from prefect import task
from prefect.context import FlowRunContext
from prefect.futures import PrefectFuture, wait
from prefect.task_runners import ThreadPoolTaskRunner
from prefect.tasks import exponential_backoff
from prefect.utilities.annotations import quote

from schemas.manifest import OutputRecord
from schemas.study_config import OrchestrationConfig
from tasks.context import RunContext
from tasks.pipeline import producer_step, step_named
from tasks.step import RunFacts, Step
from tasks.step_io import StepResult, execute_step, records_of
from tasks.storage.step_cache import StepInputsPolicy, step_cache_storage
from tasks.storage.store import is_transient


class _ThreadTimeoutNotice(logging.Filter):
    """Drop Prefect's per-task notice that a thread cannot be interrupted by its timeout.

    Steps are CPU-bound polars work: on any runner an overrunning step is marked failed when it
    returns, which is what the timeout is for (docs/architecture.md). The notice would repeat for
    every step of every run.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        return "Timeouts in worker threads cannot interrupt" not in record.getMessage()


logging.getLogger("prefect.task_runs").addFilter(_ThreadTimeoutNotice())


def _retry_on_store_trouble(task: Any, task_run: Any, state: Any) -> bool:
    """Retry a step only when the store had passing trouble, never for bad data."""
    exc = state.result(raise_on_failure=False)
    return isinstance(exc, BaseException) and is_transient(exc)


@task(name="step", cache_policy=StepInputsPolicy(), persist_result=True)
def run_step(
    ctx: RunContext,
    step: str,
    wave: str | None,
    upstream: dict[str, OutputRecord],
    earlier: list[StepResult],
    run: RunFacts | None = None,
) -> StepResult:
    """Run one analysis step: read its inputs by reference, compute, publish its outputs."""
    return execute_step(ctx, step_named(step), wave, {**upstream, **records_of(earlier)}, run)


def step_task(step: Step, ctx: RunContext, wave: str | None, settings: OrchestrationConfig) -> Any:
    """The Prefect task of one step: named after it, retried, timed, cached in the store."""
    return run_step.with_options(
        name=step.name,
        # Untagged (the phase flow clears its tags for its task runs): the run name names the
        # step and the wave.
        task_run_name=f"{step.name}[{wave}]" if wave else step.name,
        retries=settings.retries,
        retry_delay_seconds=exponential_backoff(backoff_factor=settings.retry_delay_seconds)
        if settings.retry_delay_seconds > 0 else 0,
        retry_condition_fn=_retry_on_store_trouble,
        timeout_seconds=settings.step_timeout_seconds,
        result_storage=step_cache_storage(ctx.store_url),
    )


def _plain(value: Any) -> Any:
    """Mark plain data (no futures inside) so Prefect need not walk a hundred records for futures.

    Only on the thread runner: Dask rebuilds the marker on its way to a worker as a bare tuple.
    """
    context = FlowRunContext.get()
    return quote(value) if context and isinstance(context.task_runner, ThreadPoolTaskRunner) else value


def run_steps(
    ctx: RunContext,
    steps: tuple[Step, ...],
    wave: str | None,
    upstream: dict[str, OutputRecord],
    run: RunFacts | None = None,
) -> list[StepResult]:
    """Submit a phase's steps, each as soon as the steps it reads from are done; wait for all."""
    config = ctx.config()
    settings = config.orchestration
    futures: dict[str, PrefectFuture[StepResult]] = {}
    for step in steps:
        if not step.applies(config, wave):
            continue
        # A step waits for the steps of this phase whose datasets it reads, and for nothing else.
        deps = {
            p.name for use in step.uses if (p := producer_step(use)) is not None and p.name in futures
        }
        futures[step.name] = step_task(step, ctx, wave, settings).submit(
            _plain(ctx), step.name, wave, _plain(upstream), [futures[d] for d in sorted(deps)], _plain(run)
        )
    wait(list(futures.values()))
    return [f.result() for f in futures.values()]
