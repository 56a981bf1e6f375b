"""Read and write REFI-QDA 1.5 projects (.qdpx) and codebooks (.qdc) as polars tables.

- ``model``: ``QdaProject`` (typed tables, sets included), the table schemas and GUID helpers.
- ``reading``: the lenient / strict (schema-valid) readers of .qdpx archives, project.qde XML and .qdc codebooks.
- ``writing``: the strict, byte-for-byte reproducible writers.
- ``schema``: validation against the vendored official schemas (xsd/Project.xsd, xsd/Codebook.xsd).
- ``sets``: REFI sets turned into cases.
- ``archive``: zip safety (member paths, declared and decompressed sizes) for reading.

This package re-exports the names the rest of the code base imports from ``tasks.ingest.qdpx``.
"""

from __future__ import annotations

from tasks.ingest.qdpx.model import (
    CASE_SOURCES_SCHEMA,
    CASE_VARIABLES_SCHEMA,
    CASES_SCHEMA,
    CODES_SCHEMA,
    SELECTIONS_SCHEMA,
    SET_MEMBERS_SCHEMA,
    SETS_SCHEMA,
    SOURCE_VARIABLES_SCHEMA,
    SOURCES_SCHEMA,
    USERS_SCHEMA,
    QdaProject,
    canonical_guid,
    empty_project,
    stable_guid,
)
from tasks.ingest.qdpx.reading import (
    read_codebook_file,
    read_project_xml,
    read_qdc,
    read_qdc_with_notes,
    read_qdpx,
    read_qdpx_codebook,
)
from tasks.ingest.qdpx.schema import schema_errors
from tasks.ingest.qdpx.sets import cases_from_sets
from tasks.ingest.qdpx.writing import write_qdc, write_qdpx

__all__ = [
    "CASES_SCHEMA",
    "CASE_SOURCES_SCHEMA",
    "CASE_VARIABLES_SCHEMA",
    "CODES_SCHEMA",
    "SELECTIONS_SCHEMA",
    "SETS_SCHEMA",
    "SET_MEMBERS_SCHEMA",
    "SOURCES_SCHEMA",
    "SOURCE_VARIABLES_SCHEMA",
    "USERS_SCHEMA",
    "QdaProject",
    "canonical_guid",
    "cases_from_sets",
    "empty_project",
    "read_codebook_file",
    "read_project_xml",
    "read_qdc",
    "read_qdc_with_notes",
    "read_qdpx",
    "read_qdpx_codebook",
    "schema_errors",
    "stable_guid",
    "write_qdc",
    "write_qdpx",
]
