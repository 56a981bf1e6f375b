"""Contracts of the triangulation tables: joint displays, meta-matrix and convergence coding.

Proportions, differences and p-values are 0–1 floats (differences −1–1); qualitative counts are
integers (codings = applications of any code under a proposition's themes). The convergence codes
follow the triangulation protocol (agreement, partial agreement, silence, dissonance); the rules
are documented in tasks/triangulation/convergence.py.
"""

from __future__ import annotations

import pandera.polars as pa

QUANT_RESULTS: tuple[str, ...] = ("convergent", "divergent", "inconclusive", "not assessed")
QUAL_SUPPORTS: tuple[str, ...] = ("supported", "partial", "absent")
CONVERGENCE_CODES: tuple[str, ...] = ("agreement", "partial agreement", "silence", "dissonance")
STRANDS = ["qual", "quant"]
MEASURES = ["codings", "quote", "proportion", "difference", "p_value"]
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
    """Proposition × case: codings of the proposition's themes beside the survey headline."""

    proposition_id: str
    case: str
    themes: str
    codings: int = pa.Field(ge=0)
    sources: int = pa.Field(ge=0)
    present: bool
    quant_headline: str
    quant_result: str = pa.Field(isin=list(QUANT_RESULTS))
    convergence: str = pa.Field(isin=list(CONVERGENCE_CODES))

    class Config:
        unique = ["proposition_id", "case"]


class Convergence(_Table):
    """Per proposition: qualitative support, quantitative result, convergence code and review."""

    proposition_id: str = pa.Field(unique=True)
    statement: str
    themes: str
    variable: str
    expect: str = pa.Field(nullable=True, isin=EXPECTATIONS)
    cases_present: int = pa.Field(ge=0)
    cases_total: int = pa.Field(ge=0)
    qual_support: str = pa.Field(isin=list(QUAL_SUPPORTS))
    quant_headline: str
    quant_result: str = pa.Field(isin=list(QUANT_RESULTS))
    convergence: str = pa.Field(isin=list(CONVERGENCE_CODES))
    rule: str
    reviewer_status: str = pa.Field(isin=REVIEW_STATUSES)
    reviewer_note: str = pa.Field(nullable=True)

