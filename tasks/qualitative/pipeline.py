"""The scoping and case-study phases as step lists, in dependency order.

Scoping: the projects are read (codebook, sources, segments), then frequencies, the area ranking
and the site profiles (which need the ranking), then the phase summary.
Case studies: the projects are read first, because the selection compares its choice with the
cases actually studied (in project order); the selection also needs the scoping site profiles
and, when the study names survey indicators, the first wave's respondents and answers. The
analysis steps after it only read the case-study tables and can run side by side.
"""

from __future__ import annotations

from schemas.datasets.qualitative import (
    ACTUAL_CASES,
    AREA_RANKING,
    CASE_SELECTION,
    CASES,
    CASES_CODEBOOK,
    CASES_NOTES,
    CASES_SEGMENTS,
    CASES_SOURCES,
    CODE_FREQUENCIES,
    COOCCURRENCE,
    MATRIX,
    PROJECT,
    QUOTES,
    RELIABILITY,
    SCOPING_CODEBOOK,
    SCOPING_NOTES,
    SCOPING_SEGMENTS,
    SCOPING_SOURCES,
    SEGMENT_OFFSETS,
    SELECTION_NOTES,
    SELECTION_SETS,
    SITE_PROFILES,
    SOURCE_LENGTHS,
    SOURCE_TEXTS,
    THEME_PRESENCE,
)
from schemas.datasets.survey import ANSWERS, RESPONDENTS
from schemas.inputs import site_map_name
from tasks.qualitative.inputs import CASE_INPUTS, CODEBOOK_INPUT, SCOPING_INPUTS, SITES_INPUT
from tasks.step import Step, Use, uses

# Reading projects pseudonymises participants (the key), maps roles ("roles"), checks sites
# against the sites table ("sites") and follows "qualitative" (formats, variables, redaction).
_READ_CONFIG = ("qualitative", "sites", "roles")
_SCOPING_CODED = (SCOPING_CODEBOOK, SCOPING_SOURCES, SCOPING_SEGMENTS)
_CASES_CODED = (CASES_CODEBOOK, CASES_SOURCES, CASES_SEGMENTS)

# A producing step is named by the registry (its datasets' `producer`), so the names cannot drift;
# the summary steps produce no dataset and are named here.
SCOPING_SEGMENTS_STEP = Step(
    SCOPING_SEGMENTS.producer, "scoping", "tasks.qualitative.steps:scoping_segments",
    raw=(CODEBOOK_INPUT, SITES_INPUT, SCOPING_INPUTS, site_map_name("scoping")), config=_READ_CONFIG,
    needs_key=True,
)
SCOPING_FREQUENCIES_STEP = Step(
    CODE_FREQUENCIES.producer, "scoping", "tasks.qualitative.steps:scoping_frequencies", uses=uses(*_SCOPING_CODED),
)
AREA_RANKING_STEP = Step(
    AREA_RANKING.producer, "scoping", "tasks.qualitative.steps:area_ranking", uses=uses(*_SCOPING_CODED), config=("qualitative",),
)
SITE_PROFILES_STEP = Step(
    SITE_PROFILES.producer, "scoping", "tasks.qualitative.steps:site_profiles", uses=uses(*_SCOPING_CODED, AREA_RANKING),
    raw=(SITES_INPUT,), config=("qualitative", "sites"),
)
SCOPING_SUMMARY_STEP = Step(
    "scoping.summary", "scoping", "tasks.qualitative.steps:scoping_summary",
    uses=uses(SCOPING_SOURCES, SCOPING_SEGMENTS, SCOPING_NOTES, AREA_RANKING, SITE_PROFILES),
    config=("qualitative",),
)

CASE_SEGMENTS_STEP = Step(
    CASES_SEGMENTS.producer, "case_studies", "tasks.qualitative.steps:case_segments",
    raw=(CODEBOOK_INPUT, SITES_INPUT, CASE_INPUTS, site_map_name("case_studies")), config=_READ_CONFIG,
    needs_key=True,
)
CASE_SELECTION_STEP = Step(
    CASE_SELECTION.producer, "case_studies", "tasks.qualitative.steps:case_selection",
    uses=uses(SITE_PROFILES, ACTUAL_CASES, Use(RESPONDENTS, wave="first", optional=True),
              Use(ANSWERS, wave="first", optional=True)),
    raw=(SITES_INPUT,), config=("qualitative", "sites", "survey"),
)
CASE_MATRICES_STEP = Step(
    MATRIX.producer, "case_studies", "tasks.qualitative.steps:case_matrices", uses=uses(CASES, *_CASES_CODED),
)
CASE_COOCCURRENCE_STEP = Step(
    COOCCURRENCE.producer, "case_studies", "tasks.qualitative.steps:case_cooccurrence", uses=uses(*_CASES_CODED),
)
CASE_RELIABILITY_STEP = Step(
    RELIABILITY.producer, "case_studies", "tasks.qualitative.steps:case_reliability",
    uses=uses(*_CASES_CODED, SEGMENT_OFFSETS, SOURCE_LENGTHS),
    config=("qualitative",),
)
CASE_QUOTES_STEP = Step(
    QUOTES.producer, "case_studies", "tasks.qualitative.steps:case_quotes", uses=uses(*_CASES_CODED, SEGMENT_OFFSETS), config=("roles",),
)
CASE_PROJECT_STEP = Step(
    PROJECT.producer, "case_studies", "tasks.qualitative.steps:case_project", uses=uses(CASES, *_CASES_CODED, SOURCE_TEXTS),
    config=("study", "qualitative"),
)
CASE_SUMMARY_STEP = Step(
    "cases.summary", "case_studies", "tasks.qualitative.steps:case_summary",
    uses=uses(CASES, CASES_SOURCES, CASES_SEGMENTS, CASES_NOTES, CASE_SELECTION, SELECTION_SETS,
              SELECTION_NOTES, THEME_PRESENCE, RELIABILITY, QUOTES),
    config=("qualitative",),
)

SCOPING_STEPS: tuple[Step, ...] = (
    SCOPING_SEGMENTS_STEP, SCOPING_FREQUENCIES_STEP, AREA_RANKING_STEP, SITE_PROFILES_STEP, SCOPING_SUMMARY_STEP,
)
CASE_STEPS: tuple[Step, ...] = (
    CASE_SEGMENTS_STEP, CASE_SELECTION_STEP, CASE_MATRICES_STEP, CASE_COOCCURRENCE_STEP, CASE_RELIABILITY_STEP,
    CASE_QUOTES_STEP, CASE_PROJECT_STEP, CASE_SUMMARY_STEP,
)
