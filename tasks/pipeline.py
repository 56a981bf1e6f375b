"""The study's pipeline: each phase's steps, and the phase graph derived from what they read.

Nothing here is written twice: which phase a phase waits for follows from the datasets its steps
use and the registry's producers; which input files a phase reads follows from its steps' `raw`
declarations.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import cache, lru_cache

from schemas.phases import PHASES, SURVEY_PHASES
from schemas.study_config import StudyConfig
from tasks.step import Step, Use


@lru_cache(maxsize=1)
def _families() -> dict[str, tuple[Step, ...]]:
    from tasks.qualitative.pipeline import CASE_STEPS, SCOPING_STEPS
    from tasks.survey.pipeline import STEPS as SURVEY_STEPS
    from tasks.triangulation.pipeline import TRIANGULATION_STEPS

    return {
        "scoping": SCOPING_STEPS,
        "survey": SURVEY_STEPS,
        "case_studies": CASE_STEPS,
        "triangulation": TRIANGULATION_STEPS,
    }


def family_of(phase: str) -> str:
    """The step family a phase runs ("survey" for both survey phases)."""
    if phase not in PHASES:
        raise KeyError(f"unknown phase {phase!r}; phases: {', '.join(PHASES)}")
    return "survey" if phase in SURVEY_PHASES else phase


def steps_of(phase: str) -> tuple[Step, ...]:
    """A phase's steps, in dependency order."""
    return _families()[family_of(phase)]


def load_steps(phases: Iterable[str]) -> None:
    """Import the step functions of these phases now, on the calling thread.

    Step modules load when first needed, but never on the phases' own threads: two threads
    importing modules that import each other (here pandera's and Great Expectations' shared
    dependencies) make Python stop one of them with "deadlock detected by _ModuleLock".
    """
    for phase in phases:
        for step in steps_of(phase):
            step.fn  # noqa: B018 - resolving the reference imports its module


def all_steps() -> tuple[Step, ...]:
    """Every step of every family, once."""
    return tuple(s for steps in _families().values() for s in steps)


@cache
def step_named(name: str) -> Step:
    """A step by its name."""
    for step in all_steps():
        if step.name == name:
            return step
    raise KeyError(f"no step named {name!r}")


def producer_step(use: Use) -> Step | None:
    """The step producing a used dataset (None for datasets no step declares, e.g. quality)."""
    try:
        return step_named(use.dataset.producer)
    except KeyError:
        return None


def _source_phases(use: Use, phase: str) -> tuple[str, ...]:
    """The phases whose instance of a used dataset a step of `phase` reads."""
    producer = producer_step(use)
    if producer is None:
        return ()
    if producer.family != "survey":
        return (producer.family,)
    if use.wave == "this" and phase in SURVEY_PHASES:
        return (phase,)
    if use.wave == "previous" and phase in SURVEY_PHASES:
        i = SURVEY_PHASES.index(phase)
        return SURVEY_PHASES[i - 1 : i]
    if use.wave == "first":
        return SURVEY_PHASES[:1]
    return SURVEY_PHASES


@lru_cache(maxsize=1)
def phase_upstream() -> dict[str, tuple[str, ...]]:
    """Per phase, the earlier phases whose datasets its steps read (in phase order)."""
    graph: dict[str, tuple[str, ...]] = {}
    for phase in PHASES:
        wanted = {
            src for step in steps_of(phase) for use in step.uses for src in _source_phases(use, phase)
        } - {phase}
        graph[phase] = tuple(p for p in PHASES if p in wanted)
    return graph


def phase_downstream(phase: str) -> tuple[str, ...]:
    """The phases that read, directly or not, what a phase publishes."""
    graph = phase_upstream()
    found: set[str] = set()
    frontier = {phase}
    while frontier:
        frontier = {p for p, ups in graph.items() if set(ups) & frontier} - found
        found |= frontier
    return tuple(p for p in PHASES if p in found)


def phase_inputs(config: StudyConfig) -> dict[str, tuple[str, ...]]:
    """Per phase, the raw-input names and prefixes its steps read, with its wave filled in."""
    result: dict[str, tuple[str, ...]] = {}
    for phase in PHASES:
        wave = config.survey.wave_for_phase(phase) if phase in SURVEY_PHASES else None
        prefixes = [p for step in steps_of(phase) for p in step.raw_prefixes(wave)]
        result[phase] = tuple(dict.fromkeys(prefixes))
    return result


def phase_stages() -> list[tuple[str, ...]]:
    """Phases grouped into stages: every phase of a stage only reads earlier stages."""
    graph = phase_upstream()
    stages: list[tuple[str, ...]] = []
    done: set[str] = set()
    while len(done) < len(PHASES):
        ready = tuple(p for p in PHASES if p not in done and set(graph[p]) <= done)
        if not ready:
            raise RuntimeError(f"the phase graph has a cycle: {graph}")
        stages.append(ready)
        done.update(ready)
    return stages
