"""Helpers shared by the survey export tests (readers in tasks/ingest, writers in tasks/demo)."""

from __future__ import annotations

import polars as pl


def column_row(columns: pl.DataFrame, column: str) -> dict[str, object]:
    """The row of an export's columns table describing one data column."""
    return columns.filter(pl.col("column") == column).row(0, named=True)
