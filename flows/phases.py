"""One Prefect flow per phase: its steps as tasks, then its quality gate and artifacts."""

from __future__ import annotations

import contextlib
import importlib
import threading
from datetime import UTC, datetime
from typing import Any

from prefect import Flow, flow
from prefect.context import TagsContext

from flows.artifacts import publish_phase_artifacts
from flows.steps import run_steps
from schemas.manifest import OutputRecord
from tasks.context import RunContext
from tasks.phase import PhaseResult, phase_result
from tasks.pipeline import steps_of
from tasks.quality.steps import quality_gate_task
from tasks.step import RunFacts


class ByReference:
    """A phase flow's argument handed over by reference, not recorded as a flow-run parameter.

    Prefect records a flow run's parameters in its database and refuses more than 512 KiB; a
    national study's run context lists thousands of input files. Recorded as "<ByReference>"
    (the encoder finds no fields to walk); attributes read through (flow-run names use them).
    """

    __slots__ = ("value",)

    def __init__(self, value: Any) -> None:
        self.value = value

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        return getattr(self.value, name)


def _plain(value: Any) -> Any:
    return value.value if isinstance(value, ByReference) else value


class PhaseFlow:
    """A phase flow called with its context, upstream records and run facts by reference."""

    def __init__(self, inner: Flow[..., PhaseResult]) -> None:
        self.inner = inner

    def with_options(self, **options: Any) -> PhaseFlow:
        """The same phase flow with other Prefect options (the study's task runner)."""
        return PhaseFlow(self.inner.with_options(**options))

    def __call__(self, *args: Any) -> PhaseResult:
        """Run the flow; the wave (a string) stays a recorded parameter, the rest by reference."""
        return self.inner(*(a if isinstance(a, str) else ByReference(a) for a in args))


def _run_name(phase: str) -> str:
    return f"{phase}-{datetime.now(UTC):%Y-%m-%d-%H%M%S}"


_WARMING = threading.Lock()
_warmed = False


def _import_quietly(module: str) -> None:
    # The gate imports it again and reports any error itself.
    with contextlib.suppress(Exception):
        importlib.import_module(module)


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
    ctx: RunContext | ByReference, phase: str, wave: str | None,
    upstream: dict[str, OutputRecord] | ByReference, run: RunFacts | ByReference | None = None,
) -> PhaseResult:
    context: RunContext = _plain(ctx)
    records: dict[str, OutputRecord] = _plain(upstream)
    facts: RunFacts | None = _plain(run)
    warm_gate_imports()
    # The phase's tags (phase:, study:) label this flow run; its task runs go untagged, since
    # Prefect asks the API for tag concurrency slots before every tagged task run (one request
    # each, serialised per tag set: seconds at a phase's start on a busy API).
    with TagsContext(current_tags=set()):
        results = run_steps(context, steps_of(phase), wave, records, facts)
        result = quality_gate_task(context, phase_result(phase, results, context.run_id))
    publish_phase_artifacts(context.config().study.id, result)
    return result


@flow(name="scoping", flow_run_name=lambda: _run_name("scoping"), validate_parameters=False)
def _scoping(ctx: Any, upstream: Any) -> PhaseResult:
    """Scoping interviews: segments, code frequencies, area ranking, site profiles."""
    return _phase(ctx, "scoping", None, upstream)


@flow(name="survey", flow_run_name="survey-{wave}-{ctx.run_id}", validate_parameters=False)
def _survey(ctx: Any, wave: str, upstream: Any) -> PhaseResult:
    """One survey wave: intake, weights, answers, coverage, estimates, tests, change, free text, figures."""
    return _phase(ctx, _plain(ctx).config().survey.waves[wave].phase, wave, upstream)


@flow(name="case-studies", flow_run_name=lambda: _run_name("case-studies"), validate_parameters=False)
def _case_studies(ctx: Any, upstream: Any) -> PhaseResult:
    """Case selection from the wave-1 frame, then matrices, reliability, quotes, the project."""
    return _phase(ctx, "case_studies", None, upstream)


@flow(name="triangulation", flow_run_name=lambda: _run_name("triangulation"), validate_parameters=False)
def _triangulation(ctx: Any, upstream: Any, run: Any) -> PhaseResult:
    """Joint displays, convergence and the meta-matrix, then the study report."""
    return _phase(ctx, "triangulation", None, upstream, run)


scoping_flow = PhaseFlow(_scoping)
survey_flow = PhaseFlow(_survey)
case_studies_flow = PhaseFlow(_case_studies)
triangulation_flow = PhaseFlow(_triangulation)
