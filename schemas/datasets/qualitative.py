"""Datasets of the qualitative strand: scoping interviews and case studies.

The intermediate datasets (notes, actual cases, source texts, segment offsets) carry what a later
step of the phase needs and the published tables leave out; like every table here they hold
redacted text and pseudonyms only.
"""

from __future__ import annotations

from schemas.datasets import Dataset
from schemas.qualitative import (
    ActualCases,
    AreaRanking,
    Cases,
    CaseSelection,
    Codebook,
    CodeFrequencies,
    Cooccurrence,
    Disagreements,
    Framework,
    Matrix,
    MatrixByRole,
    MatrixBySourceType,
    Notes,
    Quotes,
    Reliability,
    SegmentOffsets,
    Segments,
    SelectionSets,
    SiteProfiles,
    SourceLengths,
    Sources,
    SourceTexts,
    ThemePresence,
)

SCOPING_CODEBOOK = Dataset("scoping.codebook", "scoping.segments", "scoping", Codebook,
                           description="the study codebook as read")
SCOPING_SOURCES = Dataset("scoping.sources", "scoping.segments", "scoping", Sources,
                          description="scoping sources, pseudonymised")
SCOPING_SEGMENTS = Dataset("scoping.segments", "scoping.segments", "scoping", Segments,
                           description="coded segments of the scoping interviews, redacted")
SCOPING_NOTES = Dataset("scoping.notes", "scoping.segments", "scoping", Notes,
                        description="notes on reading the scoping projects, redacted (intermediate)", intermediate=True)
CODE_FREQUENCIES = Dataset("scoping.code_frequencies", "scoping.frequencies", "scoping",
                           CodeFrequencies, description="codes by sites and segments")
AREA_RANKING = Dataset("scoping.area_ranking", "scoping.area_ranking", "scoping", AreaRanking,
                       description="areas ranked by sites, then segments")
SITE_PROFILES = Dataset("scoping.site_profiles", "scoping.site_profiles", "scoping", SiteProfiles,
                        description="each site's target areas and maturity")

CASES = Dataset("cases.cases", "cases.segments", "case_studies", Cases,
                description="the cases with their sources and segments")
CASES_CODEBOOK = Dataset("cases.codebook", "cases.segments", "case_studies", Codebook,
                         description="the study codebook as read")
CASES_SOURCES = Dataset("cases.sources", "cases.segments", "case_studies", Sources,
                        description="case-study sources, pseudonymised")
CASES_SEGMENTS = Dataset("cases.segments", "cases.segments", "case_studies", Segments,
                         description="coded segments of the case studies, redacted")
ACTUAL_CASES = Dataset("cases.actual_cases", "cases.segments", "case_studies", ActualCases,
                       description="the cases studied and their sites in project order (intermediate)", intermediate=True)
SOURCE_TEXTS = Dataset("cases.source_texts", "cases.segments", "case_studies", SourceTexts,
                       description="redacted source texts for the exported project (intermediate)", intermediate=True)
SEGMENT_OFFSETS = Dataset("cases.segment_offsets", "cases.segments", "case_studies", SegmentOffsets,
                          description="codings' offsets in the unredacted text (intermediate)", intermediate=True)
SOURCE_LENGTHS = Dataset("cases.source_lengths", "cases.segments", "case_studies", SourceLengths,
                         description="sources' lengths in the unredacted text, for reliability (intermediate)",
                         intermediate=True)
CASES_NOTES = Dataset("cases.notes", "cases.segments", "case_studies", Notes,
                      description="notes on reading the case-study projects, redacted (intermediate)", intermediate=True)
CASE_SELECTION = Dataset("cases.selection", "cases.selection", "case_studies", CaseSelection,
                         description="candidate sites, features and the chosen cases")
SELECTION_SETS = Dataset("cases.selection_sets", "cases.selection", "case_studies", SelectionSets,
                         description="the selected set against random draws and the actual cases")
SELECTION_NOTES = Dataset("cases.selection_notes", "cases.selection", "case_studies", Notes,
                          description="notes on the case selection, redacted (intermediate)", intermediate=True)
MATRIX = Dataset("cases.matrix", "cases.matrices", "case_studies", Matrix,
                 description="codes by case")
MATRIX_BY_ROLE = Dataset("cases.matrix_by_role", "cases.matrices", "case_studies", MatrixByRole,
                         description="codes by participant role")
MATRIX_BY_SOURCE_TYPE = Dataset("cases.matrix_by_source_type", "cases.matrices", "case_studies",
                                MatrixBySourceType, description="codes by source type")
THEME_PRESENCE = Dataset("cases.theme_presence", "cases.matrices", "case_studies", ThemePresence,
                         description="themes by number of cases")
FRAMEWORK = Dataset("cases.framework", "cases.matrices", "case_studies", Framework,
                    description="framework matrix: case × theme with exemplar segments")
COOCCURRENCE = Dataset("cases.cooccurrence", "cases.cooccurrence", "case_studies", Cooccurrence,
                       description="codes applied to overlapping text")
RELIABILITY = Dataset("cases.reliability", "cases.reliability", "case_studies", Reliability,
                      description="inter-coder agreement, kappa and alpha with bootstrap intervals, every "
                      "coder pair and all coders, at source, segment and character level")
DISAGREEMENTS = Dataset("cases.disagreements", "cases.reliability", "case_studies", Disagreements,
                        description="where double coders disagree")
QUOTES = Dataset("cases.quotes", "cases.quotes", "case_studies", Quotes,
                 description="redacted exemplar quotes")
PROJECT = Dataset("cases.project", "cases.project", "case_studies", kind="file",
                  formats=(("qdpx", "application/zip"),),
                  description="the coded case-study project as REFI-QDA .qdpx")
