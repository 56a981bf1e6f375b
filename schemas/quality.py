"""Contract of the data-quality results table each phase publishes (`QUALITY_RESULTS`)."""

from __future__ import annotations

import pandera.polars as pa


class QualityResults(pa.DataFrameModel):
    """One row per expectation run by a phase's quality gate, with its outcome."""

    checkpoint: str
    dataset: str
    check: str
    expectation: str
    severity: str = pa.Field(isin=["error", "warn"])
    success: bool
    observed: str = pa.Field(nullable=True)
    element_count: int = pa.Field(ge=0, nullable=True)
    unexpected_count: int = pa.Field(ge=0, nullable=True)
    why: str

    class Config:
        strict = True
        coerce = True
        unique = ["dataset", "check"]

