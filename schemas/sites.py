"""Contracts of the site frame and the survey rosters (the denominators of coverage and weights).

Site attributes differ from study to study (region, rating, school type, ...), so the site
models check only the id and let the declared attribute columns through (`strict = False`);
the attribute values are strings, as study.yaml names them.
"""

from __future__ import annotations

import pandera.polars as pa
import polars as pl


class Sites(pa.DataFrameModel):
    """The organisations studied: one row per site, then its declared attributes as text."""

    site_id: str = pa.Field(unique=True, nullable=False, str_length={"min_value": 1})

    @pa.dataframe_check
    @classmethod
    def attributes_are_text(cls, data: pa.PolarsData) -> pl.LazyFrame:
        """Every attribute column holds strings (breakdowns and margins match on text)."""
        schema = data.lazyframe.collect_schema()
        ok = all(dtype == pl.String for dtype in schema.values())
        return data.lazyframe.select(pl.lit(ok).alias("attributes_are_text"))

    class Config:
        strict = False
        coerce = True


class Roster(pa.DataFrameModel):
    """The people who could respond in a wave, pseudonymised, with their site and role."""

    wave: str
    member_id: str = pa.Field(unique=True, str_matches=r"^P[0-9a-f]{12}$")
    site_id: str
    role: str
    role_group: str

    class Config:
        strict = True
        coerce = True

