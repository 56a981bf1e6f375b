"""One Prefect flow per phase: its steps as tasks, then its quality gate and artifacts."""

from __future__ import annotations

import importlib
import threading
from datetime import UTC, datetime

from prefect import flow

from flows.artifacts import publish_phase_artifacts
from flows.steps import run_steps
from schemas.manifest import OutputRecord
from tasks.context import RunContext
from tasks.phase import PhaseResult, phase_result
from tasks.pipeline import steps_of
from tasks.quality.steps import quality_gate_task
from tasks.step import RunFacts


def _run_name(phase: str) -> str:
    return f"{phase}-{datetime.now(UTC):%Y-%m-%d-%H%M%S}"


_WARMING = threading.Lock()
_warmed = False


def _import_quietly(module: str) -> None:
    try:
        importlib.import_module(module)
    except Exception:  # noqa: BLE001 - the gate imports it again and reports any error itself
        pass


def warm_gate_imports() -> None:
    """Import Great Expectations (≈3 s) on a background thread while the first steps compute.

    The steps are polars work that releases the GIL, so the import overlaps with them instead of
    standing in the quality gate's critical path; it runs once per process.
    """
    global _warmed
    with _WARMING:
        if _warmed:
            return
        _warmed = True
    threading.Thread(
        target=_import_quietly, args=("great_expectations",), name="warm-gx", daemon=True
    ).start()


def _phase(
    ctx: RunContext, phase: str, wave: str | None, upstream: dict[str, OutputRecord],
    run: RunFacts | None = None,
) -> PhaseResult:
    warm_gate_imports()
    results = run_steps(ctx, steps_of(phase), wave, upstream, run)
    result = quality_gate_task(ctx, phase_result(phase, results, ctx.run_id))
    publish_phase_artifacts(ctx.config().study.id, result)
    return result


@flow(name="scoping", flow_run_name=lambda: _run_name("scoping"))
def scoping_flow(ctx: RunContext, upstream: dict[str, OutputRecord]) -> PhaseResult:
    """Scoping interviews: segments, code frequencies, area ranking, site profiles."""
    return _phase(ctx, "scoping", None, upstream)


@flow(name="survey", flow_run_name="survey-{wave}-{ctx.run_id}")
def survey_flow(ctx: RunContext, wave: str, upstream: dict[str, OutputRecord]) -> PhaseResult:
    """One survey wave: intake, weights, answers, coverage, estimates, tests, change, free text, figures."""
    return _phase(ctx, ctx.config().survey.waves[wave].phase, wave, upstream)


@flow(name="case-studies", flow_run_name=lambda: _run_name("case-studies"))
def case_studies_flow(ctx: RunContext, upstream: dict[str, OutputRecord]) -> PhaseResult:
    """Case selection from the wave-1 frame, then matrices, reliability, quotes, the project."""
    return _phase(ctx, "case_studies", None, upstream)


@flow(name="triangulation", flow_run_name=lambda: _run_name("triangulation"))
def triangulation_flow(
    ctx: RunContext, upstream: dict[str, OutputRecord], run: RunFacts
) -> PhaseResult:
    """Joint displays, convergence and the meta-matrix, then the study report."""
    return _phase(ctx, "triangulation", None, upstream, run)
