"""Tests for tasks.ingest.qdpx.model: the project tables and GUID helpers."""

from __future__ import annotations

import polars as pl

from tasks.ingest.qdpx import (
    CODES_SCHEMA,
    SELECTIONS_SCHEMA,
    canonical_guid,
    empty_project,
    stable_guid,
)
from tasks.ingest.qdpx.model import table_from_rows


def test_empty_project_has_typed_empty_tables() -> None:
    project = empty_project("nothing")
    assert project.name == "nothing"
    assert project.codes.schema == pl.Schema(CODES_SCHEMA)
    assert all(frame.height == 0 for frame in project.frames().values())
    assert project.notes == ()


def test_canonical_and_stable_guids() -> None:
    assert (
        canonical_guid("{ABCDEF01-2345-6789-ABCD-EF0123456789}")
        == "abcdef01-2345-6789-abcd-ef0123456789"
    )
    assert canonical_guid("not-a-guid") == "not-a-guid"
    assert stable_guid("variable", "age") == stable_guid("variable", "age")
    assert stable_guid("variable", "age") != stable_guid("variable", "role")


def test_table_from_rows_fills_missing_keys_drops_extra_ones_and_casts_values() -> None:
    rows = [
        {"guid": "g1", "source_guid": "s1", "start": 0, "end": 4, "code_guid": "c1", "text": "Dear", "extra": 1},
        {"guid": "g2", "start": "5", "end": 9, "user_guid": 7},
    ]
    table = table_from_rows(rows, SELECTIONS_SCHEMA)
    assert table.schema == pl.Schema(SELECTIONS_SCHEMA)
    assert table.rows() == [
        ("g1", "s1", 0, 4, "c1", None, "Dear"),
        ("g2", None, 5, 9, None, "7", None),
    ]
    assert table_from_rows([], SELECTIONS_SCHEMA).schema == pl.Schema(SELECTIONS_SCHEMA)
