"""The parent flow: a whole study run, stage by stage, published only when complete.

Phases of one stage read nothing from each other (scoping beside survey wave 1; case studies
beside wave 2), so they run side by side; each phase's steps run on the chosen task runner.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from prefect import flow, tags, task
from prefect.cache_policies import NO_CACHE
from prefect.futures import PrefectFuture, wait
from prefect.settings import temporary_settings
from prefect.states import Completed
from prefect.task_runners import ThreadPoolTaskRunner
from prefect.utilities.annotations import quote

from flows.artifacts import publish_run_artifacts
from flows.phases import case_studies_flow, scoping_flow, survey_flow, triangulation_flow
from flows.runners import task_runner_for
from flows.slots import gather_arrivals_task, study_id_task, study_slot
from schemas.manifest import Manifest, OutputRecord
from tasks.context import RunContext
from tasks.phase import PhaseResult
from tasks.pipeline import load_steps, phase_stages, phase_upstream
from tasks.quality.steps import quarantine_files_task
from tasks.step import RunFacts
from tasks.storage.steps import RunPlan, finalise_run_task, prepare_run_task, run_facts
from tasks.storage.store import DEFAULT_STORE


class StudyRunFailed(RuntimeError):
    """One or more phases failed; the manifest records them and `latest` was not switched."""


@task(name="phase", cache_policy=NO_CACHE, task_run_name="phase-{phase}")
def phase_task(
    phase: str,
    ctx: RunContext,
    upstream: dict[str, OutputRecord],
    facts: RunFacts,
    runner: Any,
) -> PhaseResult:
    """Run one phase's flow (its steps on the study's task runner)."""
    cfg = ctx.config()
    # No heartbeats of its own: a phase flow runs in the study flow's process, whose run already
    # sends them, and Prefect stops a heartbeat thread only between one-second sleeps (up to a
    # second at the end of every phase).
    with tags(f"phase:{phase}", f"study:{cfg.study.id}"), temporary_settings(
        updates={"flows.heartbeat_frequency": None}
    ):
        if phase == "scoping":
            return scoping_flow.with_options(task_runner=runner)(ctx, upstream)
        if phase == "case_studies":
            return case_studies_flow.with_options(task_runner=runner)(ctx, upstream)
        if phase == "triangulation":
            return triangulation_flow.with_options(task_runner=runner)(ctx, upstream, facts)
        return survey_flow.with_options(task_runner=runner)(ctx, cfg.survey.wave_for_phase(phase), upstream)


def _blocked(phase: str, run: RunPlan, results: dict[str, PhaseResult]) -> bool:
    """A phase cannot run when an upstream phase was due this run but did not complete."""
    return any(run.plan[u] == "run" and u not in results for u in phase_upstream()[phase])


def _run_phases(run: RunPlan, spec: str) -> tuple[dict[str, PhaseResult], dict[str, str]]:
    """Run the planned phases stage by stage; phases of one stage side by side."""
    results: dict[str, PhaseResult] = {}
    failures: dict[str, str] = {}
    with task_runner_for(spec) as runner:
        for stage in phase_stages():
            due = [p for p in stage if run.plan[p] == "run" and not _blocked(p, run, results)]
            load_steps(due)  # here, before the phases' threads start (see load_steps)
            facts = run_facts(run, results, failures)
            futures: dict[str, PrefectFuture[Any]] = {
                p: phase_task.submit(  # type: ignore[call-overload]
                    p, quote(run.ctx), quote(run.upstream(results)), quote(facts), quote(runner)
                )
                for p in due
            }
            wait(list(futures.values()))
            for phase, future in futures.items():
                state = future.state
                if state.is_completed():
                    results[phase] = future.result()
                else:
                    error = state.result(raise_on_failure=False)
                    # Some exceptions carry no message: name the type rather than print nothing.
                    failures[phase] = str(error) or f"{type(error).__name__} (no message)"
                    quarantine_files_task(run.ctx, phase, failures[phase])
    return results, failures


# Another run may become `latest` while this one computes (a run on another Prefect API, or a
# plain CLI run): the run then re-plans against it, reusing cached steps, at most this often.
MAX_REPLANS = 2


@flow(
    name="study",
    flow_run_name=lambda: f"study-{datetime.now(UTC):%Y-%m-%d-%H%M%S}",
    log_prints=True,
    # Phase-level concurrency only: the steps run on the runner chosen per run.
    task_runner=ThreadPoolTaskRunner(max_workers=2),  # type: ignore[arg-type]
)
def study_flow(
    config_path: str,
    store_url: str = DEFAULT_STORE,
    phases: list[str] | None = None,
    task_runner: str | None = None,
    new_key: bool = False,
    arrived_at: str | None = None,
) -> Manifest:
    """Run every phase whose inputs changed (or those asked for) and publish the run.

    One run per study at a time (the study's slot); a run started by a data arrival first waits
    out the arrival window. Losing `latest` to another run re-plans against it, or ends as
    "Superseded" (a completed state) when the other run read exactly the same inputs.
    """
    if arrived_at:
        gather_arrivals_task(config_path, arrived_at)
    with study_slot(study_id_task(config_path)):
        for attempt in range(MAX_REPLANS + 1):
            run = prepare_run_task(config_path, store_url, phases, new_key=new_key)
            spec = task_runner or run.ctx.config().orchestration.task_runner
            results, failures = _run_phases(run, spec)
            publication = finalise_run_task(run, results, failures)
            if publication.published or failures or publication.same_as_winner:
                break
            if attempt < MAX_REPLANS:
                print(f"run {run.ctx.run_id}: run {publication.winner} became latest first; re-planning against it")
    manifest = publication.manifest
    publish_run_artifacts(manifest, results, spec)
    if failures:
        from prefect.artifacts import create_markdown_artifact

        from flows.artifacts import artifact_key, failure_markdown
        from tasks.pipeline import steps_of

        create_markdown_artifact(
            markdown=failure_markdown(
                manifest.run_id, failures, {p: [s.name for s in steps_of(p)] for p in failures}
            ),
            key=artifact_key(run.ctx.config().study.id, "run", "failure"),
            description="Why the study run failed: phase, step, first error line",
        )
        detail = "; ".join(f"{p}: {msg}" for p, msg in failures.items())
        raise StudyRunFailed(
            f"run {manifest.run_id} is incomplete, `latest` still names the last complete run. "
            f"Failed: {detail}"
        )
    if not publication.published:
        why = (
            "it read the same inputs with the same code, configuration and key"
            if publication.same_as_winner
            else f"it kept losing to newer runs after {MAX_REPLANS} re-plans"
        )
        message = (
            f"run {manifest.run_id} superseded by run {publication.winner}: {why}. Its outputs are "
            f"kept (manifest {publication.manifest_key}); `latest` names run {publication.winner}."
        )
        print(message)
        return Completed(name="Superseded", message=message, data=manifest)  # type: ignore[return-value]
    return manifest
