"""Datasets of the data-quality gates: what each phase's gate publishes and what it derives.

`{phase}` is the phase's name. The derived datasets (kind "derived") are small aggregate frames
the gate computes in memory from a phase's published tables, only to run Great Expectations
checks on them (`schemas.expectations`); they have no contract and are never stored. Each lives
next to the table it is derived from, so its name follows that table's ("survey.{wave}.…"). Like
the gate's published datasets they belong to family "any": the gate runs after every phase and is
no step of a phase's pipeline.
"""

from __future__ import annotations

from schemas.datasets import Dataset
from schemas.quality import QualityResults

GATE = "quality-gate"

QUALITY_RESULTS = Dataset("quality.{phase}.results", GATE, "any", QualityResults,
                          description="one row per expectation checked, pass or fail")
DATA_DOCS = Dataset("quality.{phase}.docs", GATE, "any", kind="file",
                    formats=(("html", "text/html"),),
                    description="the phase's Great Expectations Data Docs site (index page)")


def _derived(name: str, description: str) -> Dataset:
    return Dataset(name, GATE, "any", kind="derived", formats=(), description=description)


# From a wave's respondents (with its roster).
RESPONDENT_LINKS = _derived("survey.{wave}.respondent_links",
                            "each respondent's member id and whether the roster lists it")
SITE_COUNTS = _derived("survey.{wave}.site_counts", "respondents and roster members per site")
ROLE_MIX = _derived("survey.{wave}.role_mix",
                    "each role's share of respondents against its share of the roster")
# From a wave's answers.
ANSWER_CODES = _derived("survey.{wave}.answer_codes",
                        "every distinct (variable, code) answered, with its count")
LIKERT_SCORES = _derived("survey.{wave}.likert_scores",
                         "every distinct Likert score per variable, placed on its scale")
# From the coded segments (with their sources and codebook).
SCOPING_SEGMENT_BOUNDS = _derived("scoping.segment_bounds",
                                  "each scoping segment's offsets next to its source's length")
SCOPING_CODE_USAGE = _derived("scoping.code_usage",
                              "segments per codable code in the scoping interviews")
CASES_SEGMENT_BOUNDS = _derived("cases.segment_bounds",
                                "each case-study segment's offsets next to its source's length")
CASES_CODE_USAGE = _derived("cases.code_usage", "segments per codable code in the case studies")
SOURCE_CODING = _derived("cases.source_coding", "coders per coded case-study source")
# From the joint displays.
STRANDS = _derived("triangulation.strands", "evidence rows of each strand per proposition")
