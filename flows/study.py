"""The parent flow: a whole study run, phase by phase, published only when complete."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from prefect import flow, tags
from prefect.states import State

from flows.phases import case_studies_flow, scoping_flow, survey_flow, triangulation_flow
from schemas.manifest import Manifest
from schemas.study_config import PHASES
from tasks.phase import PhaseResult
from tasks.quality.steps import quarantine_files_task
from tasks.storage.runs import PHASE_UPSTREAM
from tasks.storage.steps import RunPlan, finalise_run_task, phase_records, prepare_run_task
from tasks.storage.store import DEFAULT_STORE


class StudyRunFailed(RuntimeError):
    """One or more phases failed; the manifest records them and `latest` was not switched."""


def _phase_call(phase: str, run: RunPlan, results: dict[str, PhaseResult], failures: dict[str, str]) -> Callable[[], State]:
    upstream = run.upstream(results)
    cfg = run.ctx.config()
    calls: dict[str, Callable[[], State]] = {
        "scoping": lambda: scoping_flow(run.ctx, return_state=True),
        "survey_w1": lambda: survey_flow(
            run.ctx, cfg.survey.wave_for_phase("survey_w1"), upstream, return_state=True
        ),
        "case_studies": lambda: case_studies_flow(run.ctx, upstream, return_state=True),
        "survey_w2": lambda: survey_flow(
            run.ctx, cfg.survey.wave_for_phase("survey_w2"), upstream, return_state=True
        ),
        "triangulation": lambda: triangulation_flow(
            run.ctx, upstream, phase_records(run, results, failures), return_state=True
        ),
    }
    return calls[phase]


def _blocked(phase: str, run: RunPlan, results: dict[str, PhaseResult]) -> bool:
    """A phase cannot run when an upstream phase was due this run but did not complete."""
    return any(run.plan[u] == "run" and u not in results for u in PHASE_UPSTREAM[phase])


@flow(name="study", flow_run_name=lambda: f"study-{datetime.now(UTC):%Y-%m-%d-%H%M%S}", log_prints=True)
def study_flow(
    config_path: str, store_url: str = DEFAULT_STORE, phases: list[str] | None = None
) -> Manifest:
    """Run every phase whose inputs changed (or those asked for) and publish the run."""
    run = prepare_run_task(config_path, store_url, phases)
    results: dict[str, PhaseResult] = {}
    failures: dict[str, str] = {}
    for phase in PHASES:
        if run.plan[phase] != "run" or _blocked(phase, run, results):
            continue
        with tags(f"phase:{phase}", f"study:{run.study_id}"):
            state = _phase_call(phase, run, results, failures)()
        if state.is_completed():
            results[phase] = state.result()
        else:
            failures[phase] = str(state.result(raise_on_failure=False))
            quarantine_files_task(run.ctx, phase, failures[phase])
    manifest = finalise_run_task(run, results, failures)
    if failures:
        detail = "; ".join(f"{p}: {msg}" for p, msg in failures.items())
        raise StudyRunFailed(
            f"run {manifest.run_id} is incomplete, `latest` still names the last complete run. "
            f"Failed: {detail}"
        )
    return manifest
