"""Triangulation's steps and the study report, in dependency order.

A step's name is the `producer` its datasets declare in the registry (read from there, so the two
cannot drift apart).

Joint displays and convergence both read the case-study and every wave's survey tables (they can
run side by side); convergence also publishes the sensitivity and review tables. The meta-matrix
sets each case's evidence beside its own sites' survey indicator, computed from the respondents and
answers the survey phases publish; the summary writes the phase's key figures and markdown (the
Prefect artifact, re-review flags included); the report renders what the run published.
"""

from __future__ import annotations

from schemas.datasets.qualitative import (
    AREA_RANKING,
    CASE_SELECTION,
    CASES,
    CASES_CODEBOOK,
    FRAMEWORK,
    MATRIX,
    QUOTES,
    RELIABILITY,
    THEME_PRESENCE,
)
from schemas.datasets.survey import (
    ANSWERS,
    ASSOCIATIONS,
    CHANGE,
    COVERAGE,
    ESTIMATES,
    FIGURES,
    FREETEXT,
    FREETEXT_CODED,
    FREETEXT_UNCODED,
    RESPONDENTS,
)
from schemas.datasets.triangulation import (
    CONVERGENCE,
    JOINT_DISPLAYS,
    META_MATRIX,
    REPORT_HTML,
    REVIEW,
    SENSITIVITY,
)
from tasks.step import Step, Use, uses

# Propositions name case-study themes and survey variables; an absent table is checked by the
# steps (required only when the study declares propositions).
_CASE_EVIDENCE = (Use(CASES_CODEBOOK, optional=True), Use(MATRIX, optional=True))
_SURVEY_EVIDENCE = tuple(Use(d, wave="all", optional=True) for d in (ESTIMATES, ASSOCIATIONS, CHANGE, FREETEXT))
# Case-level convergence: each case's sites' respondents, from what the survey phases publish.
_CASE_SITE_SURVEY = (
    Use(CASES, optional=True),
    *(Use(d, wave="all", optional=True) for d in (RESPONDENTS, ANSWERS, FREETEXT_CODED, FREETEXT_UNCODED)),
)
# The researcher-owned review file: review/triangulation.csv is the raw input "review.triangulation".
_REVIEW = ("review.",)

JOINT_DISPLAYS_STEP = Step(
    JOINT_DISPLAYS.producer, "triangulation", "tasks.triangulation.steps:joint_displays",
    uses=uses(*_CASE_EVIDENCE, Use(QUOTES, optional=True), *_SURVEY_EVIDENCE),
    config=("triangulation", "survey", "roles"),
)
CONVERGENCE_STEP = Step(
    CONVERGENCE.producer, "triangulation", "tasks.triangulation.steps:convergence",
    uses=uses(*_CASE_EVIDENCE, *_SURVEY_EVIDENCE), raw=_REVIEW, config=("triangulation", "survey"),
)
META_MATRIX_STEP = Step(
    META_MATRIX.producer, "triangulation", "tasks.triangulation.steps:meta_matrix",
    uses=uses(*_CASE_EVIDENCE, *_SURVEY_EVIDENCE, *_CASE_SITE_SURVEY, CONVERGENCE),
    config=("triangulation", "survey"),
)
SUMMARY_STEP = Step(
    "triangulation.summary", "triangulation", "tasks.triangulation.steps:summary", uses=uses(CONVERGENCE, REVIEW, META_MATRIX), raw=_REVIEW,
    config=(),
)
# The report names its run (id, code version, phase records), so it is never taken from a cache.
REPORT_STEP = Step(
    REPORT_HTML.producer, "triangulation", "tasks.report.steps:report",
    uses=uses(
        *(Use(d, wave="all", optional=True) for d in (COVERAGE, ESTIMATES, CHANGE, FREETEXT)),
        *(Use(d, optional=True) for d in (AREA_RANKING, CASE_SELECTION, FRAMEWORK, MATRIX, THEME_PRESENCE,
                                           RELIABILITY, QUOTES)),
        CONVERGENCE, JOINT_DISPLAYS, *(Use(d, optional=True) for d in (META_MATRIX, SENSITIVITY, REVIEW)),
        Use(FIGURES, wave="all", optional=True),
    ),
    config=("study", "survey", "roles"),
    cacheable=False,
)

TRIANGULATION_STEPS: tuple[Step, ...] = (
    JOINT_DISPLAYS_STEP, CONVERGENCE_STEP, META_MATRIX_STEP, SUMMARY_STEP, REPORT_STEP,
)
