"""Tests for tasks.ingest.qdpx.model: the project tables and GUID helpers."""

from __future__ import annotations

import polars as pl

from tasks.ingest.qdpx import CODES_SCHEMA, canonical_guid, empty_project, stable_guid


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
