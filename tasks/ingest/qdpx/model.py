"""The REFI-QDA data model: a project as typed polars tables, GUID helpers, code paths."""

from __future__ import annotations

import hashlib
import re
import uuid
from dataclasses import dataclass, field
from typing import Any

import polars as pl

PROJECT_NAMESPACE = "urn:QDA-XML:project:1.0"
CODEBOOK_NAMESPACE = "urn:QDA-XML:codebook:1.0"

CODES_SCHEMA: dict[str, pl.DataType] = {
    "guid": pl.String(),
    "name": pl.String(),
    "parent_guid": pl.String(),
    "is_codable": pl.Boolean(),
    "color": pl.String(),
    "description": pl.String(),
    "path": pl.String(),
    "depth": pl.Int64(),
}
SOURCES_SCHEMA: dict[str, pl.DataType] = {
    "guid": pl.String(),
    "name": pl.String(),
    "text": pl.String(),
    "plain_text_path": pl.String(),
}
SOURCE_VARIABLES_SCHEMA: dict[str, pl.DataType] = {
    "source_guid": pl.String(),
    "name": pl.String(),
    "value": pl.String(),
}
USERS_SCHEMA: dict[str, pl.DataType] = {"guid": pl.String(), "name": pl.String()}
SELECTIONS_SCHEMA: dict[str, pl.DataType] = {
    "guid": pl.String(),
    "source_guid": pl.String(),
    "start": pl.Int64(),
    "end": pl.Int64(),
    "code_guid": pl.String(),
    "user_guid": pl.String(),
    "text": pl.String(),
}
CASES_SCHEMA: dict[str, pl.DataType] = {"guid": pl.String(), "name": pl.String()}
CASE_VARIABLES_SCHEMA: dict[str, pl.DataType] = {
    "case_guid": pl.String(),
    "name": pl.String(),
    "value": pl.String(),
}
CASE_SOURCES_SCHEMA: dict[str, pl.DataType] = {"case_guid": pl.String(), "source_guid": pl.String()}
# REFI sets (Project/Sets): named groups of sources, codes or notes, e.g. MAXQDA document sets.
SETS_SCHEMA: dict[str, pl.DataType] = {"guid": pl.String(), "name": pl.String(), "description": pl.String()}
# One row per member; kind is "source" (MemberSource) or "code" (MemberCode).
SET_MEMBERS_SCHEMA: dict[str, pl.DataType] = {
    "set_guid": pl.String(),
    "member_guid": pl.String(),
    "kind": pl.String(),
}

TABLE_SCHEMAS: dict[str, dict[str, pl.DataType]] = {
    "codes": CODES_SCHEMA,
    "sources": SOURCES_SCHEMA,
    "source_variables": SOURCE_VARIABLES_SCHEMA,
    "users": USERS_SCHEMA,
    "selections": SELECTIONS_SCHEMA,
    "cases": CASES_SCHEMA,
    "case_variables": CASE_VARIABLES_SCHEMA,
    "case_sources": CASE_SOURCES_SCHEMA,
    "sets": SETS_SCHEMA,
    "set_members": SET_MEMBERS_SCHEMA,
}

# The form the writer emits and the tables hold. Project.xsd also accepts upper case and braces
# (read without a note); anything else is a deviation.
CANONICAL_GUID_PATTERN = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
# Project.xsd / Codebook.xsd GUIDType (an xsd:token: surrounding white space is collapsed).
_HEX_GUID = r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
SCHEMA_GUID_PATTERN = re.compile(rf"{_HEX_GUID}|\{{{_HEX_GUID}\}}")
COLOR_PATTERN = re.compile(r"#(?:[0-9A-Fa-f]{6}|[0-9A-Fa-f]{3})")

# Fixed namespace so GUIDs derived from names are the same on every machine and every run.
_STUDYFLOW_GUID_NAMESPACE = uuid.UUID("6f1d3c2e-6a47-5b0e-9c1f-2d8a4e7b9f10")


def empty_table(schema: dict[str, pl.DataType]) -> pl.DataFrame:
    """A table with the given schema and no rows."""
    return pl.DataFrame(schema=schema)


def table_from_rows(rows: list[dict[str, Any]], schema: dict[str, pl.DataType]) -> pl.DataFrame:
    """A table of the given schema from row dicts (missing keys are null, extra keys dropped)."""
    if not rows:
        return empty_table(schema)
    # Column by column: a third of the time of polars reading a dict per row (a national study
    # reads about a million selections this way). Not strict, as rows were:
    # a value of another type is cast to its column's (the demo builder passes numbers).
    return pl.DataFrame({c: [r.get(c) for r in rows] for c in schema}, schema=schema, strict=False)


@dataclass(frozen=True, eq=False)
class QdaProject:
    """A REFI-QDA project as tables; equality ignores row order and notes."""

    name: str
    codes: pl.DataFrame = field(default_factory=lambda: empty_table(CODES_SCHEMA))
    sources: pl.DataFrame = field(default_factory=lambda: empty_table(SOURCES_SCHEMA))
    source_variables: pl.DataFrame = field(
        default_factory=lambda: empty_table(SOURCE_VARIABLES_SCHEMA)
    )
    users: pl.DataFrame = field(default_factory=lambda: empty_table(USERS_SCHEMA))
    selections: pl.DataFrame = field(default_factory=lambda: empty_table(SELECTIONS_SCHEMA))
    cases: pl.DataFrame = field(default_factory=lambda: empty_table(CASES_SCHEMA))
    case_variables: pl.DataFrame = field(default_factory=lambda: empty_table(CASE_VARIABLES_SCHEMA))
    case_sources: pl.DataFrame = field(default_factory=lambda: empty_table(CASE_SOURCES_SCHEMA))
    sets: pl.DataFrame = field(default_factory=lambda: empty_table(SETS_SCHEMA))
    set_members: pl.DataFrame = field(default_factory=lambda: empty_table(SET_MEMBERS_SCHEMA))
    notes: tuple[str, ...] = ()

    def frames(self) -> dict[str, pl.DataFrame]:
        """The tables by field name."""
        return {key: getattr(self, key) for key in TABLE_SCHEMAS}

    def sorted(self) -> QdaProject:
        """The same project with every table sorted by all its columns (a canonical row order)."""
        ordered = {key: df.sort(df.columns, nulls_last=True) for key, df in self.frames().items()}
        return QdaProject(name=self.name, notes=self.notes, **ordered)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, QdaProject):
            return NotImplemented
        if self.name != other.name:
            return False
        mine, theirs = self.sorted().frames(), other.sorted().frames()
        return all(mine[key].equals(theirs[key]) for key in TABLE_SCHEMAS)

    # Equality compares table contents, which are mutable frames: a project is not hashable.
    __hash__ = None  # type: ignore[assignment]


def empty_project(name: str) -> QdaProject:
    """A project with the given name and no rows in any table."""
    return QdaProject(name=name)


def canonical_guid(value: str | uuid.UUID) -> str:
    """GUID in lower-case 8-4-4-4-12 form without braces; non-UUID text is only trimmed and lower-cased."""
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, str) and CANONICAL_GUID_PATTERN.fullmatch(value):
        return value  # already canonical (the common case): no UUID to build
    text = str(value).strip()
    if text.startswith("{") and text.endswith("}"):
        text = text[1:-1].strip()
    try:
        return str(uuid.UUID(text))
    except ValueError:
        return text.lower()


# uuid5 is SHA-1 of the namespace's bytes then the name: the namespace's state is hashed once.
_NAMESPACE_SHA1 = hashlib.sha1(_STUDYFLOW_GUID_NAMESPACE.bytes, usedforsecurity=False)
# RFC 4122 variant: the top two bits of the clock_seq_hi byte become 10 (its first hex digit 8-b).
_VARIANT_DIGIT = {f"{n:x}": f"{(n & 0x3) | 0x8:x}" for n in range(16)}


def stable_guid(*parts: str) -> str:
    """A GUID derived only from the given strings (uuid5), for reproducible generated projects."""
    # The same value as str(uuid.uuid5(namespace, name)), without building a UUID object: a
    # written project derives one per coding (a million at national scale).
    digest = _NAMESPACE_SHA1.copy()
    digest.update("\x1f".join(parts).encode("utf-8"))
    h = digest.hexdigest()
    return f"{h[:8]}-{h[8:12]}-5{h[13:16]}-{_VARIANT_DIGIT[h[16]]}{h[17:20]}-{h[20:32]}"


def derive_code_paths(rows: list[dict[str, Any]]) -> list[str]:
    """Fill path/depth from parent links in place; return problems (unknown parent, cycle, duplicate)."""
    by_guid: dict[str, dict[str, Any]] = {}
    problems: list[str] = []
    for r in rows:
        if r["guid"] in by_guid:
            problems.append(f"duplicate code guid {r['guid']}")
        by_guid[r["guid"]] = r
    for r in rows:
        names = [r["name"]]
        seen = {r["guid"]}
        parent = r["parent_guid"]
        while parent is not None:
            if parent not in by_guid:
                problems.append(f"code {r['guid']} has unknown parent_guid {parent}")
                break
            if parent in seen:
                problems.append(f"code {r['guid']} is part of a parent cycle")
                break
            seen.add(parent)
            names.append(by_guid[parent]["name"])
            parent = by_guid[parent]["parent_guid"]
        r["path"] = "/".join(reversed(names))
        r["depth"] = len(names)
    return problems
