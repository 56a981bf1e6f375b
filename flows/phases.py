"""One Prefect flow per phase: each runs its step task(s) and publishes its artifacts."""

from __future__ import annotations

from datetime import UTC, datetime

from prefect import flow

from flows.artifacts import publish_phase_artifacts
from schemas.manifest import OutputRecord, PhaseRecord
from tasks.context import RunContext
from tasks.phase import PhaseResult
from tasks.qualitative.steps import case_studies_task, scoping_task
from tasks.quality.steps import quality_gate_task
from tasks.report.steps import report_task
from tasks.survey.steps import survey_wave_task
from tasks.triangulation.steps import triangulation_task


def _run_name(phase: str) -> str:
    return f"{phase}-{datetime.now(UTC):%Y-%m-%d-%H%M%S}"


def _study_id(ctx: RunContext) -> str:
    return ctx.config().study.id


@flow(name="scoping", flow_run_name=lambda: _run_name("scoping"))
def scoping_flow(ctx: RunContext) -> PhaseResult:
    """Scoping interviews: code frequencies, clinical-area ranking, site profiles."""
    result = quality_gate_task(ctx, scoping_task(ctx))
    publish_phase_artifacts(_study_id(ctx), result)
    return result


@flow(name="survey", flow_run_name="survey-{wave}-{ctx.run_id}")
def survey_flow(ctx: RunContext, wave: str, upstream: dict[str, OutputRecord]) -> PhaseResult:
    """One survey wave: cleaning, coverage, weights, estimates, change, free text, figures."""
    result = quality_gate_task(ctx, survey_wave_task(ctx, wave, upstream))
    publish_phase_artifacts(_study_id(ctx), result)
    return result


@flow(name="case-studies", flow_run_name=lambda: _run_name("case-studies"))
def case_studies_flow(ctx: RunContext, upstream: dict[str, OutputRecord]) -> PhaseResult:
    """Case selection from the wave-1 frame, then the case-study matrices, reliability, quotes."""
    result = quality_gate_task(ctx, case_studies_task(ctx, upstream))
    publish_phase_artifacts(_study_id(ctx), result)
    return result


@flow(name="triangulation", flow_run_name=lambda: _run_name("triangulation"))
def triangulation_flow(
    ctx: RunContext, upstream: dict[str, OutputRecord], phases: list[PhaseRecord]
) -> PhaseResult:
    """Joint displays and convergence, then the study report."""
    joint = quality_gate_task(ctx, triangulation_task(ctx, upstream))
    report = report_task(ctx, {**upstream, **joint.by_dataset()}, [p.model_dump() for p in phases])
    result = PhaseResult(
        phase="triangulation",
        outputs=[*joint.outputs, *report.outputs],
        summary={**joint.summary, **report.summary},
        markdown=f"{joint.markdown}\n\n{report.markdown}",
        table=joint.table,
        checks=joint.checks,
    )
    publish_phase_artifacts(_study_id(ctx), result)
    return result
