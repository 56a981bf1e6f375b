"""Build a REFI-QDA ``QdaProject`` from plain rows, for the demo generator and test fixtures.

The pipeline itself only reads projects (tasks.ingest.qdpx) and derives the project it publishes
from validated tables (tasks.qualitative.qdpx_export); hand-written rows are a generator's need.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from tasks.ingest.qdpx.model import (
    CASE_SOURCES_SCHEMA,
    CASE_VARIABLES_SCHEMA,
    CASES_SCHEMA,
    CODES_SCHEMA,
    SELECTIONS_SCHEMA,
    SOURCE_VARIABLES_SCHEMA,
    SOURCES_SCHEMA,
    USERS_SCHEMA,
    QdaProject,
    canonical_guid,
    derive_code_paths,
    table_from_rows,
)


def project_from_rows(
    name: str,
    *,
    codes: Iterable[Mapping[str, Any]] = (),
    sources: Iterable[Mapping[str, Any]] = (),
    source_variables: Iterable[Mapping[str, Any]] = (),
    users: Iterable[Mapping[str, Any]] = (),
    selections: Iterable[Mapping[str, Any]] = (),
    cases: Iterable[Mapping[str, Any]] = (),
    case_variables: Iterable[Mapping[str, Any]] = (),
    case_sources: Iterable[Mapping[str, Any]] = (),
    notes: Iterable[str] = (),
) -> QdaProject:
    """Build a project from plain rows; derives code path/depth and selection text.

    codes: guid, name, [parent_guid], [is_codable=True], [color], [description].
    sources: guid, name, text, [plain_text_path]. selections: guid, source_guid, start, end,
    code_guid, [user_guid], [text: must equal the source slice if given]. GUIDs may be
    uuid.UUID or strings in any case, with or without braces. Raises ValueError on bad rows.
    """
    code_rows = [
        _row(
            "codes",
            i,
            r,
            required=("guid", "name"),
            optional={
                "parent_guid": None,
                "is_codable": True,
                "color": None,
                "description": None,
                "path": None,
                "depth": None,
            },
        )
        for i, r in enumerate(codes)
    ]
    for r in code_rows:
        r["guid"] = canonical_guid(r["guid"])
        r["parent_guid"] = None if r["parent_guid"] is None else canonical_guid(r["parent_guid"])
        r["is_codable"] = bool(r["is_codable"])
    problems = derive_code_paths(code_rows)
    if problems:
        raise ValueError(f"project {name!r}: " + "; ".join(problems))

    source_rows = [
        _row(
            "sources",
            i,
            r,
            required=("guid", "name", "text"),
            optional={"plain_text_path": None},
        )
        for i, r in enumerate(sources)
    ]
    texts: dict[str, str] = {}
    for r in source_rows:
        r["guid"] = canonical_guid(r["guid"])
        texts[r["guid"]] = r["text"]

    selection_rows = []
    for i, given in enumerate(selections):
        row = _row(
            "selections",
            i,
            given,
            required=("guid", "source_guid", "start", "end", "code_guid"),
            optional={"user_guid": None, "text": None},
        )
        for key in ("guid", "source_guid", "code_guid", "user_guid"):
            if row[key] is not None:
                row[key] = canonical_guid(row[key])
        source_text = texts.get(row["source_guid"])
        if source_text is None:
            raise ValueError(f"selections row {i}: unknown source_guid {row['source_guid']}")
        start, end = int(row["start"]), int(row["end"])
        if not 0 <= start <= end <= len(source_text):
            raise ValueError(
                f"selections row {i}: need 0 <= start <= end <= {len(source_text)}, "
                f"got start={start}, end={end}"
            )
        sliced = source_text[start:end]
        if row["text"] is not None and row["text"] != sliced:
            raise ValueError(f"selections row {i}: text does not equal source text[{start}:{end}]")
        row.update(start=start, end=end, text=sliced)
        selection_rows.append(row)

    return QdaProject(
        name=name,
        codes=table_from_rows(code_rows, CODES_SCHEMA),
        sources=table_from_rows(source_rows, SOURCES_SCHEMA),
        source_variables=table_from_rows(
            _guid_rows(
                "source_variables",
                source_variables,
                ("source_guid", "name", "value"),
                ("source_guid",),
            ),
            SOURCE_VARIABLES_SCHEMA,
        ),
        users=table_from_rows(
            _guid_rows("users", users, ("guid", "name"), ("guid",)), USERS_SCHEMA
        ),
        selections=table_from_rows(selection_rows, SELECTIONS_SCHEMA),
        cases=table_from_rows(
            _guid_rows("cases", cases, ("guid", "name"), ("guid",)), CASES_SCHEMA
        ),
        case_variables=table_from_rows(
            _guid_rows(
                "case_variables", case_variables, ("case_guid", "name", "value"), ("case_guid",)
            ),
            CASE_VARIABLES_SCHEMA,
        ),
        case_sources=table_from_rows(
            _guid_rows(
                "case_sources",
                case_sources,
                ("case_guid", "source_guid"),
                ("case_guid", "source_guid"),
            ),
            CASE_SOURCES_SCHEMA,
        ),
        notes=tuple(notes),
    )


def _row(
    table: str,
    index: int,
    row: Mapping[str, Any],
    *,
    required: tuple[str, ...],
    optional: dict[str, Any],
) -> dict[str, Any]:
    """One row with its optional keys defaulted; unknown or missing keys raise ValueError."""
    unknown = set(row) - set(required) - set(optional)
    if unknown:
        raise ValueError(f"{table} row {index}: unknown key(s) {sorted(unknown)}")
    missing = [key for key in required if row.get(key) is None]
    if missing:
        raise ValueError(f"{table} row {index}: missing {missing}")
    out = dict(optional)
    out.update(row)
    return out


def _guid_rows(
    table: str,
    rows: Iterable[Mapping[str, Any]],
    required: tuple[str, ...],
    guids: tuple[str, ...],
) -> list[dict[str, Any]]:
    """Rows with exactly the required keys, their GUID columns in canonical form."""
    out = []
    for i, r in enumerate(rows):
        row = _row(table, i, r, required=required, optional={})
        for key in guids:
            row[key] = canonical_guid(row[key])
        out.append(row)
    return out
