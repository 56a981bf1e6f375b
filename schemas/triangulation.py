"""Contracts of the triangulation tables: joint displays, meta-matrix and convergence coding.

Proportions, differences and p-values are 0–1 floats (differences −1–1); qualitative counts are
integers (codings = applications of any code under a proposition's themes). The convergence codes
follow the triangulation protocol (agreement, partial agreement, silence, dissonance); the rules
are documented in tasks/triangulation/convergence.py.
"""

from __future__ import annotations

import pandera.polars as pa

QUANT_RESULTS: tuple[str, ...] = ("convergent", "divergent", "inconclusive", "not assessed")
QUAL_SUPPORTS: tuple[str, ...] = ("supported", "contested", "contradicted", "absent")
CASE_EVIDENCE = ["supporting", "contradicting", "contested", "none"]
CONVERGENCE_CODES: tuple[str, ...] = ("agreement", "partial agreement", "silence", "dissonance")
STRANDS = ["qual", "quant"]
MEASURES = ["codings", "prevalence", "quote", "proportion", "difference", "p_value"]
DIRECTIONS = ["higher", "lower", "no clear difference", "not tested"]
EXPECTATIONS = ["majority", "minority", "increase", "decrease", "differs_by_group"]
REVIEW_STATUSES = ["confirmed", "disputed", "unreviewed"]


class _Table(pa.DataFrameModel):
    class Config:
        strict = True
        coerce = True


class JointDisplays(_Table):
    """One row per proposition × evidence item, qualitative and quantitative side by side."""

    proposition_id: str
    statement: str
    order: int = pa.Field(ge=1)
    strand: str = pa.Field(isin=STRANDS)
    measure: str = pa.Field(isin=MEASURES)
    item: str
    wave: str = pa.Field(nullable=True)
    group: str = pa.Field(nullable=True)
    value: float = pa.Field(nullable=True, ge=-1.0)
    lower: float = pa.Field(nullable=True, ge=-1.0, le=1.0)
    upper: float = pa.Field(nullable=True, ge=-1.0, le=1.0)
    n: int = pa.Field(nullable=True, ge=0)
    cases: int = pa.Field(nullable=True, ge=0)
    detail: str

    class Config:
        unique = ["proposition_id", "order"]


class MetaMatrix(_Table):
    """Proposition × case: the case's own evidence beside its sites' survey indicator."""

    proposition_id: str
    case: str
    evidence: str = pa.Field(isin=CASE_EVIDENCE)
    supporting_codings: int = pa.Field(ge=0)
    contradicting_codings: int = pa.Field(ge=0)
    sources: int = pa.Field(ge=0)
    case_sites: str = pa.Field(nullable=True)
    site_wave: str = pa.Field(nullable=True)
    site_n: int = pa.Field(nullable=True, ge=0)
    site_count: int = pa.Field(nullable=True, ge=0)
    site_estimate: float = pa.Field(nullable=True, ge=0.0, le=1.0)
    site_lower: float = pa.Field(nullable=True, ge=0.0, le=1.0)
    site_upper: float = pa.Field(nullable=True, ge=0.0, le=1.0)
    site_weighted_estimate: float = pa.Field(nullable=True, ge=0.0, le=1.0)
    small_n: bool = pa.Field(nullable=True)
    national_estimate: float = pa.Field(nullable=True, ge=0.0, le=1.0)
    site_test: str = pa.Field(nullable=True)
    site_p_value: float = pa.Field(nullable=True, ge=0.0, le=1.0)
    site_direction: str = pa.Field(nullable=True, isin=DIRECTIONS)
    site_vs_national: str = pa.Field(nullable=True)
    quant_result: str = pa.Field(isin=list(QUANT_RESULTS))
    convergence: str = pa.Field(isin=list(CONVERGENCE_CODES))

    class Config:
        unique = ["proposition_id", "case"]


class Convergence(_Table):
    """Per proposition: qualitative support, quantitative result, code, sensitivity and review."""

    proposition_id: str = pa.Field(unique=True)
    statement: str
    supporting: str
    contradicting: str = pa.Field(nullable=True)
    variable: str
    expect: str = pa.Field(nullable=True, isin=EXPECTATIONS)
    cases_supporting: int = pa.Field(ge=0)
    cases_contradicting: int = pa.Field(ge=0)
    cases_contested: int = pa.Field(ge=0)
    cases_none: int = pa.Field(ge=0)
    cases_total: int = pa.Field(ge=0)
    qual_support: str = pa.Field(isin=list(QUAL_SUPPORTS))
    quant_headline: str
    quant_result: str = pa.Field(isin=list(QUANT_RESULTS))
    convergence: str = pa.Field(isin=list(CONVERGENCE_CODES))
    rule: str
    sensitivity: str
    reviewer_status: str = pa.Field(isin=REVIEW_STATUSES)
    reviewer_category: str = pa.Field(nullable=True, isin=list(CONVERGENCE_CODES))
    reviewer_note: str = pa.Field(nullable=True)
    review_flag: str = pa.Field(nullable=True)


class Sensitivity(_Table):
    """Per proposition × setting: the verdict re-derived under a neighbouring setting."""

    proposition_id: str
    setting: str
    case_prevalence: str
    confidence: float = pa.Field(gt=0.0, lt=1.0)
    weighted: bool
    qual_support: str = pa.Field(isin=list(QUAL_SUPPORTS))
    quant_result: str = pa.Field(isin=list(QUANT_RESULTS))
    convergence: str = pa.Field(isin=list(CONVERGENCE_CODES))
    changed: bool
    rule: str

    class Config:
        unique = ["proposition_id", "setting"]


class Review(_Table):
    """The researcher's review rows (and unreviewed propositions), with re-review flags."""

    proposition_id: str = pa.Field(unique=True)
    line: int = pa.Field(nullable=True, ge=2)
    in_study: bool
    status: str = pa.Field(isin=REVIEW_STATUSES)
    recorded_category: str = pa.Field(nullable=True, isin=list(CONVERGENCE_CODES))
    proposed_category: str = pa.Field(nullable=True, isin=list(CONVERGENCE_CODES))
    flag: str = pa.Field(nullable=True)
    note: str = pa.Field(nullable=True)
