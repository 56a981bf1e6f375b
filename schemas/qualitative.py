"""Contracts of the qualitative strand's published tables (scoping, case selection, case studies).

Offsets (`start`, `end`) are 0-based, end-exclusive character positions in the published
(redacted) source text, the text stored in the exported `cases.project` .qdpx. Counts are
integers, never percentages; shares are 0–1 floats.
"""

from __future__ import annotations

from typing import Any

import pandera.polars as pa
import polars as pl


class _Table(pa.DataFrameModel):
    class Config:
        strict = True
        coerce = True


def _nonneg(nullable: bool = False) -> Any:
    """A non-negative count column."""
    return pa.Field(ge=0, nullable=nullable)


class Codebook(_Table):
    """The study codebook: theme → category → code, REFI GUIDs kept."""

    code_id: str = pa.Field(unique=True)
    name: str
    path: str = pa.Field(unique=True)
    parent_id: str = pa.Field(nullable=True)
    theme: str
    category: str = pa.Field(nullable=True)
    depth: int = pa.Field(ge=1)
    is_codable: bool
    color: str = pa.Field(nullable=True)
    description: str = pa.Field(nullable=True)


class Sources(_Table):
    """Coded sources (interviews, documents, observations) with pseudonymised participants."""

    source_id: str = pa.Field(unique=True)
    name: str
    case: str = pa.Field(nullable=True)
    site_id: str = pa.Field(nullable=True)
    source_type: str
    role: str = pa.Field(nullable=True)
    participant_pseudonym: str = pa.Field(nullable=True, str_matches=r"^P[0-9a-f]{12}$")
    length: int = _nonneg()


class Segments(_Table):
    """Coded segments: one row per (span, code) coding, text redacted."""

    segment_id: str
    source_id: str
    start: int = _nonneg()
    end: int = _nonneg()
    text: str
    code_id: str
    coder: str

    @pa.dataframe_check
    @classmethod
    def ordered_offsets(cls, data: pa.PolarsData) -> pl.LazyFrame:
        """start <= end."""
        return data.lazyframe.select(pl.col("start") <= pl.col("end"))

    class Config:
        unique = ["segment_id", "code_id"]


class CodeFrequencies(_Table):
    """How often each code was applied across the scoping sites."""

    code_id: str = pa.Field(unique=True)
    path: str
    theme: str
    n_sites: int = _nonneg()
    n_sources: int = _nonneg()
    n_segments: int = _nonneg()


class AreaRanking(_Table):
    """Areas (children of the area theme) ranked by sites, then segments mentioning them."""

    rank: int = pa.Field(ge=1, unique=True)
    area: str
    code_id: str = pa.Field(unique=True)
    path: str
    n_sites: int = _nonneg()
    n_sources: int = _nonneg()
    n_segments: int = _nonneg()
    sites: str
    is_target: bool


class SiteProfiles(_Table):
    """Each scoping site's maturity and focus areas."""

    site_id: str = pa.Field(unique=True)
    site_name: str = pa.Field(nullable=True)
    n_sources: int = _nonneg()
    n_segments: int = _nonneg()
    maturity: str = pa.Field(nullable=True)
    maturity_segments: int = _nonneg()
    focus_areas: str
    target_areas: str
    n_target_areas: int = _nonneg()


class CaseSelection(_Table):
    """Every candidate (and every actual case site) with whether and why it was chosen."""

    site_id: str = pa.Field(unique=True)
    in_pool: bool
    eligible: bool
    selected: bool
    pinned: bool
    order: int = pa.Field(ge=1, nullable=True)
    actual_case: str = pa.Field(nullable=True)
    target_areas: str
    quotas: str
    profile: str
    nearest_distance: float = pa.Field(ge=0, le=1, nullable=True)
    reason: str


class SelectionSets(_Table):
    """Diversity and constraints of the chosen, pinned, actual and random case sets."""

    set: str = pa.Field(unique=True)
    n_sites: int = _nonneg()
    sites: str
    mean_distance: float = pa.Field(ge=0, le=1, nullable=True)
    min_distance: float = pa.Field(ge=0, le=1, nullable=True)
    quota_share: float = pa.Field(ge=0, le=1, nullable=True)
    target_share: float = pa.Field(ge=0, le=1, nullable=True)
    note: str


class Cases(_Table):
    """The cases of the case-study projects and the sites each covers."""

    case: str = pa.Field(unique=True)
    case_guid: str
    site_ids: str
    n_sources: int = _nonneg()
    n_segments: int = _nonneg()


class Matrix(_Table):
    """Case × code counts (lead coder), with each code's theme and category."""

    case: str
    theme: str
    category: str = pa.Field(nullable=True)
    code_id: str
    code: str
    path: str
    n_segments: int = _nonneg()
    n_sources: int = _nonneg()
    n_participants: int = _nonneg()

    class Config:
        unique = ["case", "code_id"]


class MatrixByRole(_Table):
    """Case × participant role × theme counts (lead coder)."""

    case: str
    role: str
    theme: str
    n_segments: int = _nonneg()
    n_sources: int = _nonneg()
    n_participants: int = _nonneg()

    class Config:
        unique = ["case", "role", "theme"]


class MatrixBySourceType(_Table):
    """Case × source type × theme counts (lead coder)."""

    case: str
    source_type: str
    theme: str
    n_segments: int = _nonneg()
    n_sources: int = _nonneg()

    class Config:
        unique = ["case", "source_type", "theme"]


class ThemePresence(_Table):
    """In how many cases each theme appears (counts)."""

    theme: str = pa.Field(unique=True)
    n_cases: int = _nonneg()
    n_cases_total: int = _nonneg()
    cases: str
    n_segments: int = _nonneg()
    n_sources: int = _nonneg()


class Cooccurrence(_Table):
    """Code pairs applied to overlapping spans (scope "segment") or in one source ("source")."""

    scope: str = pa.Field(isin=["segment", "source"])
    code_a: str
    code_b: str
    path_a: str
    path_b: str
    n: int = pa.Field(ge=1)
    n_sources: int = pa.Field(ge=1)
    n_cases: int = _nonneg()

    class Config:
        unique = ["scope", "code_a", "code_b"]


class Framework(_Table):
    """Framework matrix: case × theme with counts and the strongest exemplar segments."""

    case: str
    theme: str
    n_segments: int = _nonneg()
    n_sources: int = _nonneg()
    n_codes: int = _nonneg()
    top_codes: str
    exemplar_ids: str
    exemplar_sources: str

    class Config:
        unique = ["case", "theme"]


class Reliability(_Table):
    """Inter-coder agreement per comparison, unit and code (and pooled), on the text the coders coded.

    A comparison is a pair of coders ("pair": Cohen's kappa and the 2×2 counts) or, with three
    or more coders, all of them ("all coders": Fleiss' kappa over the `kappa_sources` every coder
    coded; counts null). Units: source presence, segment overlap, character (see
    tasks/qualitative/reliability.py). kappa_low/high and alpha_low/high: 95% percentile
    bootstrap intervals over sources.
    """

    comparison: str = pa.Field(isin=["pair", "all coders"])
    coders: str
    coder_a: str = pa.Field(nullable=True)
    coder_b: str = pa.Field(nullable=True)
    n_coders: int = pa.Field(ge=2)
    unit: str = pa.Field(isin=["presence", "segment", "character"])
    code_id: str
    path: str = pa.Field(nullable=True)
    n_sources: int = _nonneg()
    kappa_sources: int = _nonneg()
    n_units: int = _nonneg()
    both: int = _nonneg(nullable=True)
    first_only: int = _nonneg(nullable=True)
    second_only: int = _nonneg(nullable=True)
    neither: int = _nonneg(nullable=True)
    agreement: float = pa.Field(ge=0, le=1, nullable=True)
    kappa_type: str = pa.Field(isin=["Cohen", "Fleiss"])
    kappa: float = pa.Field(ge=-1, le=1, nullable=True)
    kappa_low: float = pa.Field(ge=-1, le=1, nullable=True)
    kappa_high: float = pa.Field(ge=-1, le=1, nullable=True)
    alpha: float = pa.Field(le=1, nullable=True)
    alpha_low: float = pa.Field(le=1, nullable=True)
    alpha_high: float = pa.Field(le=1, nullable=True)

    class Config:
        unique = ["coders", "unit", "code_id"]


class Disagreements(_Table):
    """(source, code) pairs in double-coded sources that only one coder applied."""

    source_id: str
    case: str = pa.Field(nullable=True)
    code_id: str
    path: str
    coded_by: str
    other_coder: str
    n_segments: int = pa.Field(ge=1)
    chars: int = _nonneg()


class Quotes(_Table):
    """Exemplar quotes per theme × case, redacted, with provenance."""

    quote_id: str = pa.Field(unique=True)
    case: str
    theme: str
    rank: int = pa.Field(ge=1)
    segment_id: str
    codes: str
    source_id: str
    source_name: str
    source_type: str
    role: str = pa.Field(nullable=True)
    participant_pseudonym: str = pa.Field(nullable=True, str_matches=r"^P[0-9a-f]{12}$")
    site_id: str = pa.Field(nullable=True)
    start: int = _nonneg()
    end: int = _nonneg()
    raw_start: int = _nonneg()
    raw_end: int = _nonneg()
    text: str
    redactions: int = _nonneg()
    # Who said it in the study's words ("GP, case C, interview"; "role not recorded", ...).
    attribution: str



# Intermediate tables: written under the run for the later steps of a phase, never part of the
# report. They hold redacted text and pseudonyms only, like the published tables.


class Notes(_Table):
    """Notes a step made about its inputs (names redacted), in the order it made them."""

    note: str


class ActualCases(_Table):
    """The cases actually studied and their sites, in the order the projects list them."""

    case: str = pa.Field(unique=True)
    site_ids: str


class SourceTexts(_Table):
    """Each source's redacted text (the exported project carries it; `Sources` does not)."""

    source_id: str = pa.Field(unique=True)
    text: str


class SourceLengths(_Table):
    """Each source's length in the unredacted text the coders coded (reliability counts on it)."""

    source_id: str = pa.Field(unique=True)
    length: int = _nonneg()


class SegmentOffsets(_Table):
    """Each coding's offsets in the researchers' own (unredacted) source text, for provenance."""

    segment_id: str
    code_id: str
    coder: str
    raw_start: int = _nonneg()
    raw_end: int = _nonneg()

    class Config:
        unique = ["segment_id", "code_id", "coder"]
