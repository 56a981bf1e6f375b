"""A survey wave as a declared list of steps, in dependency order.

Every survey phase runs this list for its wave. Each step reads only the datasets it declares
(its own wave's, or the previous wave's estimates for the change) and the study.yaml sections it
names; the registry (`schemas.datasets.survey`, `schemas.datasets.sites`) says what it produces.
The summary comes before the figures so the phase's markdown reads summary first, figures last.
"""

from __future__ import annotations

from schemas.datasets.sites import ROSTER, SITES
from schemas.datasets.survey import (
    ANSWERS,
    CHANGE,
    CLEANING,
    COVERAGE,
    ESTIMATES,
    FREETEXT,
    REMOVED,
    RESPONDENTS,
    RESPONSES,
)
from schemas.inputs import DICTIONARY, EXPORT, HUMAN_CODED, SITE_LOOKUP
from schemas.inputs import ROSTER as ROSTER_FILE
from schemas.inputs import SITES as SITES_FILE
from schemas.study_config import StudyConfig
from tasks.step import Step, Use, uses


def has_previous_wave(config: StudyConfig, wave: str | None) -> bool:
    """Whether a wave comes after another (and so has a change to measure)."""
    waves = config.survey.waves
    return wave in waves and any(w.phase < waves[wave].phase for w in waves.values())


def has_dictionaries(config: StudyConfig, wave: str | None) -> bool:
    """Whether the study codes free text with dictionaries."""
    return bool(config.survey.freetext)


INTAKE = Step(
    "survey.intake", "survey", "tasks.survey.steps:intake",
    raw=(SITES_FILE.name, ROSTER_FILE.name, EXPORT.name, DICTIONARY.name, SITE_LOOKUP.name),
    config=("sites", "survey", "roles"),
    needs_key=True,
)
WEIGHTS = Step(
    "survey.weights", "survey", "tasks.survey.steps:weights",
    uses=uses(SITES, ROSTER, RESPONSES),
    config=("survey",),
)
ANSWERS_STEP = Step(
    "survey.answers", "survey", "tasks.survey.steps:answers",
    uses=uses(RESPONSES),
    config=("survey",),
)
COVERAGE_STEP = Step(
    "survey.coverage", "survey", "tasks.survey.steps:coverage",
    uses=uses(SITES, ROSTER, RESPONDENTS),
    config=("survey", "roles"),
)
ESTIMATES_STEP = Step(
    "survey.estimates", "survey", "tasks.survey.steps:estimates",
    uses=uses(SITES, RESPONDENTS, ANSWERS),
    config=("survey",),
)
ASSOCIATIONS_STEP = Step(
    "survey.associations", "survey", "tasks.survey.steps:associations",
    uses=uses(SITES, RESPONDENTS, ANSWERS, ESTIMATES),
    config=("survey",),
)
CHANGE_STEP = Step(
    "survey.change", "survey", "tasks.survey.steps:change",
    uses=uses(
        ESTIMATES, ANSWERS, RESPONDENTS, Use(ESTIMATES, wave="previous"),
        Use(ANSWERS, wave="previous"), Use(RESPONDENTS, wave="previous"),
    ),
    config=("survey",),
    when=has_previous_wave,
)
FREETEXT_STEP = Step(
    "survey.freetext", "survey", "tasks.survey.steps:freetext",
    uses=uses(SITES, RESPONDENTS, RESPONSES),
    raw=(HUMAN_CODED.name,),
    config=("survey", "qualitative"),
    needs_key=True,
    when=has_dictionaries,
)
ANALYSIS_FILE = Step(
    "survey.analysis_file", "survey", "tasks.survey.steps:analysis_files",
    uses=uses(RESPONSES, RESPONDENTS),
    config=("survey",),
)
SUMMARY = Step(
    "survey.summary", "survey", "tasks.survey.steps:summary",
    uses=uses(CLEANING, REMOVED, RESPONDENTS, COVERAGE, ESTIMATES, Use(CHANGE, optional=True)),
    config=("survey",),
)
FIGURES_STEP = Step(
    "survey.figures", "survey", "tasks.survey.steps:figures",
    uses=uses(ESTIMATES, COVERAGE, Use(FREETEXT, optional=True), Use(CHANGE, optional=True)),
    config=("survey", "roles", "sites"),
)

STEPS: tuple[Step, ...] = (
    INTAKE,
    WEIGHTS,
    ANSWERS_STEP,
    COVERAGE_STEP,
    ESTIMATES_STEP,
    ASSOCIATIONS_STEP,
    CHANGE_STEP,
    FREETEXT_STEP,
    ANALYSIS_FILE,
    SUMMARY,
    FIGURES_STEP,
)
