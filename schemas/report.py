"""Contract of the report's table of contents: which section shows what, drawn from which data.

The report itself (report.html, report.md) is a document, not a table; `report.contents` lists
its sections with the number of rows shown and the datasets every figure in them comes from.
"""

from __future__ import annotations

import pandera.polars as pa


class Contents(pa.DataFrameModel):
    """One row per report section, in page order."""

    order: int = pa.Field(ge=1, unique=True)
    section: str
    title: str
    rows: int = pa.Field(ge=0)
    sources: str

    class Config:
        strict = True
        coerce = True

