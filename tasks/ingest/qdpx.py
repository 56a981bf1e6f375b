"""Read and write REFI-QDA 1.5 projects (.qdpx) and codebooks (.qdc) as polars tables.

Reading is lenient by default: the deviations real exports show (missing or misspelt namespace,
GUIDs in braces or upper case, a missing isCodable, colours without '#', ...) are accepted and
recorded in ``QdaProject.notes``. With ``strict=True`` every deviation is collected and raised
together as ``InputErrors``. Problems that make the data unusable (unknown code GUIDs, selections
outside their text, missing source files, unsafe zip members, ...) are errors in both modes: one
problem raises ``InputError``, several raise ``InputErrors`` (strict mode always raises
``InputErrors``). Problems that stop reading outright (broken zip, no project.qde, unparsable or
entity-declaring XML, an unsafe member path, the size bound) raise a single ``InputError`` at once.

Selection offsets are 0-based, end-exclusive counts of Unicode code points of the source text as
stored (no newline conversion).
"""

from __future__ import annotations

import io
import re
import uuid
import zipfile
import zlib
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any
from xml.etree import ElementTree as ET

import defusedxml
import defusedxml.ElementTree as SafeET
import polars as pl

from tasks.ingest.errors import InputError, InputErrors
from tasks.ingest.text import decode_text

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

TABLE_SCHEMAS: dict[str, dict[str, pl.DataType]] = {
    "codes": CODES_SCHEMA,
    "sources": SOURCES_SCHEMA,
    "source_variables": SOURCE_VARIABLES_SCHEMA,
    "users": USERS_SCHEMA,
    "selections": SELECTIONS_SCHEMA,
    "cases": CASES_SCHEMA,
    "case_variables": CASE_VARIABLES_SCHEMA,
    "case_sources": CASE_SOURCES_SCHEMA,
}

# Fixed namespace so GUIDs derived from names are the same on every machine and every run.
_STUDYFLOW_GUID_NAMESPACE = uuid.UUID("6f1d3c2e-6a47-5b0e-9c1f-2d8a4e7b9f10")
_CANONICAL_GUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_COLOR = re.compile(r"#(?:[0-9A-Fa-f]{6}|[0-9A-Fa-f]{3})")
_BARE_COLOR = re.compile(r"(?:[0-9A-Fa-f]{6}|[0-9A-Fa-f]{3})")
# Characters XML 1.0 cannot carry at all, not even as character references.
_XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)
_READ_CHUNK = 1 << 20


def _empty(schema: dict[str, pl.DataType]) -> pl.DataFrame:
    return pl.DataFrame(schema=schema)


def _frame(rows: list[dict[str, Any]], schema: dict[str, pl.DataType]) -> pl.DataFrame:
    if not rows:
        return _empty(schema)
    return pl.DataFrame([{c: r.get(c) for c in schema} for r in rows], schema=schema, orient="row")


@dataclass(frozen=True, eq=False)
class QdaProject:
    """A REFI-QDA project as tables; equality ignores row order and notes."""

    name: str
    codes: pl.DataFrame = field(default_factory=lambda: _empty(CODES_SCHEMA))
    sources: pl.DataFrame = field(default_factory=lambda: _empty(SOURCES_SCHEMA))
    source_variables: pl.DataFrame = field(default_factory=lambda: _empty(SOURCE_VARIABLES_SCHEMA))
    users: pl.DataFrame = field(default_factory=lambda: _empty(USERS_SCHEMA))
    selections: pl.DataFrame = field(default_factory=lambda: _empty(SELECTIONS_SCHEMA))
    cases: pl.DataFrame = field(default_factory=lambda: _empty(CASES_SCHEMA))
    case_variables: pl.DataFrame = field(default_factory=lambda: _empty(CASE_VARIABLES_SCHEMA))
    case_sources: pl.DataFrame = field(default_factory=lambda: _empty(CASE_SOURCES_SCHEMA))
    notes: tuple[str, ...] = ()

    def frames(self) -> dict[str, pl.DataFrame]:
        """The eight tables by field name."""
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

    __hash__ = None  # type: ignore[assignment]

    @classmethod
    def from_rows(
        cls,
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
            r["parent_guid"] = (
                None if r["parent_guid"] is None else canonical_guid(r["parent_guid"])
            )
            r["is_codable"] = bool(r["is_codable"])
        problems = _derive_code_paths(code_rows)
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
                raise ValueError(
                    f"selections row {i}: text does not equal source text[{start}:{end}]"
                )
            row.update(start=start, end=end, text=sliced)
            selection_rows.append(row)

        def guid_rows(
            table: str,
            rows: Iterable[Mapping[str, Any]],
            required: tuple[str, ...],
            guids: tuple[str, ...],
        ) -> list[dict[str, Any]]:
            out = []
            for i, r in enumerate(rows):
                row = _row(table, i, r, required=required, optional={})
                for key in guids:
                    row[key] = canonical_guid(row[key])
                out.append(row)
            return out

        return cls(
            name=name,
            codes=_frame(code_rows, CODES_SCHEMA),
            sources=_frame(source_rows, SOURCES_SCHEMA),
            source_variables=_frame(
                guid_rows(
                    "source_variables",
                    source_variables,
                    ("source_guid", "name", "value"),
                    ("source_guid",),
                ),
                SOURCE_VARIABLES_SCHEMA,
            ),
            users=_frame(guid_rows("users", users, ("guid", "name"), ("guid",)), USERS_SCHEMA),
            selections=_frame(selection_rows, SELECTIONS_SCHEMA),
            cases=_frame(guid_rows("cases", cases, ("guid", "name"), ("guid",)), CASES_SCHEMA),
            case_variables=_frame(
                guid_rows(
                    "case_variables", case_variables, ("case_guid", "name", "value"), ("case_guid",)
                ),
                CASE_VARIABLES_SCHEMA,
            ),
            case_sources=_frame(
                guid_rows(
                    "case_sources",
                    case_sources,
                    ("case_guid", "source_guid"),
                    ("case_guid", "source_guid"),
                ),
                CASE_SOURCES_SCHEMA,
            ),
            notes=tuple(notes),
        )


def empty_project(name: str) -> QdaProject:
    """A project with the given name and no rows in any table."""
    return QdaProject(name=name)


def canonical_guid(value: str | uuid.UUID) -> str:
    """GUID in lower-case 8-4-4-4-12 form without braces; non-UUID text is only trimmed and lower-cased."""
    if isinstance(value, uuid.UUID):
        return str(value)
    text = str(value).strip()
    if text.startswith("{") and text.endswith("}"):
        text = text[1:-1].strip()
    try:
        return str(uuid.UUID(text))
    except ValueError:
        return text.lower()


def stable_guid(*parts: str) -> str:
    """A GUID derived only from the given strings (uuid5), for reproducible generated projects."""
    return str(uuid.uuid5(_STUDYFLOW_GUID_NAMESPACE, "\x1f".join(parts)))


def _row(
    table: str,
    index: int,
    row: Mapping[str, Any],
    *,
    required: tuple[str, ...],
    optional: dict[str, Any],
) -> dict[str, Any]:
    unknown = set(row) - set(required) - set(optional)
    if unknown:
        raise ValueError(f"{table} row {index}: unknown key(s) {sorted(unknown)}")
    missing = [key for key in required if row.get(key) is None]
    if missing:
        raise ValueError(f"{table} row {index}: missing {missing}")
    out = dict(optional)
    out.update(row)
    return out


def _derive_code_paths(rows: list[dict[str, Any]]) -> list[str]:
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


class _Problems:
    """Collects hard errors and tolerated deviations while reading one document."""

    def __init__(self, file: str, strict: bool) -> None:
        self.file = file
        self.strict = strict
        self.reported: list[InputError] = []
        self.tolerated: dict[str, list[InputError]] = {}
        self.notes: list[str] = []

    def error(self, place: str, rule: str, detail: str = "") -> None:
        self.reported.append(InputError(self.file, place, rule, detail))

    def deviation(self, place: str, rule: str, detail: str = "") -> None:
        problem = InputError(self.file, place, rule, detail)
        if self.strict:
            self.reported.append(problem)
        else:
            self.tolerated.setdefault(rule, []).append(problem)

    def note(self, text: str) -> None:
        self.notes.append(text)

    def raise_if_any(self) -> None:
        if self.strict and self.reported:
            raise InputErrors(self.reported)
        if len(self.reported) == 1:
            raise self.reported[0]
        if self.reported:
            raise InputErrors(self.reported)

    def all_notes(self) -> tuple[str, ...]:
        out = []
        for rule, items in self.tolerated.items():
            first = items[0]
            where = f"{first.place}" + (f" ({first.detail})" if first.detail else "")
            if len(items) == 1:
                out.append(f"tolerated: {rule} - at {where}")
            else:
                out.append(f"tolerated {len(items)} times: {rule} - first at {where}")
        return tuple(out + self.notes)


def _local(tag: str) -> str:
    return tag.rpartition("}")[2]


def _namespace(tag: str) -> str:
    return tag[1:].partition("}")[0] if tag.startswith("{") else ""


def _children(element: ET.Element, local: str) -> list[ET.Element]:
    return [c for c in element if isinstance(c.tag, str) and _local(c.tag) == local]


def _child(element: ET.Element, local: str) -> ET.Element | None:
    found = _children(element, local)
    return found[0] if found else None


def _parse_xml(xml: bytes, file: str, member: str | None) -> ET.Element:
    prefix = f"{member}: " if member else ""
    try:
        return SafeET.fromstring(xml)
    except defusedxml.DefusedXmlException as exc:
        raise InputError(
            file,
            f"{prefix}XML prolog",
            "XML must not declare entities or load external resources (refused as unsafe)",
            type(exc).__name__,
        ) from exc
    except ET.ParseError as exc:
        line, column = exc.position
        reason = str(exc).rsplit(": line", 1)[0]
        raise InputError(
            file, f"{prefix}line {line}, column {column + 1}", "XML must be well-formed", reason
        ) from exc


def _unsafe_member(path: str) -> bool:
    normal = path.replace("\\", "/")
    if normal.startswith("/") or re.match(r"[A-Za-z]:", normal):
        return True
    return any(part == ".." for part in normal.split("/"))


class _ZipReader:
    """Reads zip members while counting every decompressed byte against a total bound."""

    def __init__(self, archive: zipfile.ZipFile, file: str, limit: int) -> None:
        self.archive = archive
        self.file = file
        self.limit = limit
        self.used = 0
        self.members = {
            info.filename.replace("\\", "/").removeprefix("./"): info
            for info in archive.infolist()
            if not info.is_dir()
        }

    def read(self, member: str) -> bytes | None:
        info = self.members.get(member)
        if info is None:
            return None
        chunks = []
        try:
            with self.archive.open(info) as handle:
                while chunk := handle.read(_READ_CHUNK):
                    self.used += len(chunk)
                    # Declared sizes can lie; this count is what actually bounds memory use.
                    if self.used > self.limit:
                        raise InputError(
                            self.file,
                            f"zip member {info.filename!r}",
                            f"total uncompressed size must not exceed {self.limit} bytes",
                            "counted while decompressing",
                        )
                    chunks.append(chunk)
        except (zipfile.BadZipFile, zlib.error, EOFError, RuntimeError, NotImplementedError) as exc:
            raise InputError(
                self.file, f"zip member {info.filename!r}", "broken zip", str(exc)
            ) from exc
        return b"".join(chunks)


def read_qdpx(
    data: bytes, name: str, *, strict: bool = False, max_uncompressed_bytes: int = 2_000_000_000
) -> QdaProject:
    """Read a REFI-QDA .qdpx archive (project.qde plus sources/) into a QdaProject."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError) as exc:
        raise InputError(
            name, "whole file", "broken zip", f"not a readable zip archive: {exc}"
        ) from exc
    with archive:
        infos = archive.infolist()
        for info in infos:
            if _unsafe_member(info.filename):
                raise InputError(
                    name,
                    f"zip member {info.filename!r}",
                    "zip member paths must be relative and must not contain '..' (path traversal)",
                )
        declared = sum(info.file_size for info in infos)
        if declared > max_uncompressed_bytes:
            raise InputError(
                name,
                "zip archive",
                f"total uncompressed size must not exceed {max_uncompressed_bytes} bytes",
                f"the zip declares {declared} bytes",
            )
        reader = _ZipReader(archive, name, max_uncompressed_bytes)
        pre_notes: list[InputError] = []
        qde = "project.qde"
        if qde not in reader.members:
            candidates = sorted(m for m in reader.members if m.lower().endswith(".qde"))
            if len(candidates) != 1:
                found = ", ".join(sorted(reader.members)[:10]) or "the zip is empty"
                raise InputError(
                    name, "zip archive", "a .qdpx must contain project.qde", f"found: {found}"
                )
            qde = candidates[0]
            pre_notes.append(
                InputError(
                    name,
                    "zip archive",
                    "the project file must be project.qde at the top of the zip",
                    f"used {qde!r}",
                )
            )
        xml = reader.read(qde) or b""
        return _ProjectReader(
            xml, name, member=qde, fetch=reader.read, strict=strict, early=pre_notes
        ).read()


def read_project_xml(
    xml: bytes,
    name: str,
    *,
    sources_from_zip: Callable[[str], bytes | None] | None = None,
    strict: bool = False,
    member: str | None = None,
) -> QdaProject:
    """Read project.qde XML; sources_from_zip(member_path) returns a zip member's bytes or None."""
    return _ProjectReader(xml, name, member=member, fetch=sources_from_zip, strict=strict).read()


def read_qdc_with_notes(
    data: bytes, name: str, *, strict: bool = False
) -> tuple[pl.DataFrame, tuple[str, ...]]:
    """Read a REFI-QDA codebook (.qdc) into the codes table, with the lenient-mode notes."""
    problems = _Problems(name, strict)
    root = _parse_xml(data, name, None)
    if _local(root.tag) != "CodeBook":
        raise InputError(
            name, f"root element <{_local(root.tag)}>", "a .qdc root element must be CodeBook"
        )
    _check_namespaces(root, CODEBOOK_NAMESPACE, "", problems)
    rows: list[dict[str, Any]] = []
    codes = _child(root, "Codes")
    if codes is None:
        problems.deviation("/CodeBook", "CodeBook must contain Codes", "read as an empty codebook")
    else:
        _read_codes(codes, "/CodeBook/Codes", "", None, "", 1, rows, problems)
    problems.raise_if_any()
    return _frame(rows, CODES_SCHEMA), problems.all_notes()


def read_qdc(data: bytes, name: str, *, strict: bool = False) -> pl.DataFrame:
    """Read a REFI-QDA codebook (.qdc) into the codes table."""
    return read_qdc_with_notes(data, name, strict=strict)[0]


def _check_namespaces(root: ET.Element, expected: str, doc: str, problems: _Problems) -> None:
    seen: set[str] = set()
    for element in root.iter():
        if not isinstance(element.tag, str):
            continue
        namespace = _namespace(element.tag)
        if namespace == expected or namespace in seen:
            continue
        seen.add(namespace)
        shown = repr(namespace) if namespace else "no namespace"
        problems.deviation(
            f"{doc}<{_local(element.tag)}> element",
            f"elements must be in namespace {expected!r}",
            f"found {shown}",
        )


def _guid(raw: str, place: str, problems: _Problems) -> str:
    canonical = canonical_guid(raw)
    if not _CANONICAL_GUID.fullmatch(canonical):
        problems.deviation(place, "GUIDs must be 8-4-4-4-12 hexadecimal", f"got {raw!r}")
    elif canonical != raw:
        problems.deviation(
            place,
            "GUIDs must be lower-case 8-4-4-4-12 without braces",
            f"{raw!r} read as {canonical!r}",
        )
    return canonical


def _guid_attr(element: ET.Element, attr: str, place: str, problems: _Problems) -> str | None:
    raw = element.get(attr)
    if raw is None or not raw.strip():
        problems.error(place, f"<{_local(element.tag)}> needs a {attr} attribute")
        return None
    return _guid(raw, f"{place} @{attr}", problems)


def _read_codes(
    parent: ET.Element,
    xpath: str,
    doc: str,
    parent_guid: str | None,
    parent_path: str,
    depth: int,
    rows: list[dict[str, Any]],
    problems: _Problems,
    seen: set[str] | None = None,
) -> None:
    seen = set() if seen is None else seen
    for i, element in enumerate(_children(parent, "Code"), 1):
        here = f"{xpath}/Code[{i}]"
        place = f"{doc}{here} (guid={element.get('guid')})"
        guid = _guid_attr(element, "guid", place, problems)
        name = element.get("name")
        if name is None:
            problems.error(place, "<Code> needs a name attribute")
            name = ""
        if guid is not None:
            if guid in seen:
                problems.error(place, "code GUIDs must be unique", f"guid {guid} appears twice")
            seen.add(guid)
        path = f"{parent_path}/{name}" if parent_path else name
        description = _child(element, "Description")
        rows.append(
            {
                "guid": guid,
                "name": name,
                "parent_guid": parent_guid,
                "is_codable": _is_codable(element, place, problems),
                "color": _color(element, place, problems),
                "description": None if description is None else (description.text or ""),
                "path": path,
                "depth": depth,
            }
        )
        _read_codes(element, here, doc, guid, path, depth + 1, rows, problems, seen)


def _is_codable(element: ET.Element, place: str, problems: _Problems) -> bool:
    raw = element.get("isCodable")
    rule = "isCodable must be true, false, 1 or 0"
    if raw is None:
        problems.deviation(place, "<Code> needs an isCodable attribute", "read as true")
        return True
    value = raw.strip()
    if value in ("true", "1"):
        return True
    if value in ("false", "0"):
        return False
    if value.lower() in ("true", "yes", "y"):
        problems.deviation(place, rule, f"read {raw!r} as true")
        return True
    if value.lower() in ("false", "no", "n"):
        problems.deviation(place, rule, f"read {raw!r} as false")
        return False
    problems.error(place, rule, f"got {raw!r}")
    return True


def _color(element: ET.Element, place: str, problems: _Problems) -> str | None:
    raw = element.get("color")
    if raw is None:
        return None
    value = raw.strip()
    if _COLOR.fullmatch(value):
        return value
    rule = "color must be #RRGGBB or #RGB"
    if _BARE_COLOR.fullmatch(value):
        problems.deviation(place, rule, f"read {raw!r} as '#{value}'")
        return f"#{value}"
    problems.deviation(place, rule, f"dropped {raw!r}")
    return None


class _ProjectReader:
    """One pass over a parsed project.qde, filling row lists and collecting problems."""

    def __init__(
        self,
        xml: bytes,
        file: str,
        *,
        member: str | None,
        fetch: Callable[[str], bytes | None] | None,
        strict: bool,
        early: Iterable[InputError] = (),
    ) -> None:
        self.xml = xml
        self.file = file
        self.member = member
        self.doc = f"{member}: " if member else ""
        self.fetch = fetch
        self.problems = _Problems(file, strict)
        for problem in early:
            self.problems.deviation(problem.place, problem.rule, problem.detail)
        self.user_guids: set[str] = set()
        self.code_guids: set[str] = set()
        self.variables: dict[str, str] = {}
        self.source_guids: set[str] = set()
        self.selection_guids: set[str] = set()
        self.skipped_sources: set[str] = set()
        self.rows: dict[str, list[dict[str, Any]]] = {key: [] for key in TABLE_SCHEMAS}
        self.counts: Counter[str] = Counter()

    def read(self) -> QdaProject:
        root = _parse_xml(self.xml, self.file, self.member)
        if _local(root.tag) != "Project":
            raise InputError(
                self.file,
                f"{self.doc}root element <{_local(root.tag)}>",
                "the root element must be Project",
            )
        problems = self.problems
        _check_namespaces(root, PROJECT_NAMESPACE, self.doc, problems)
        name = root.get("name")
        if name is None:
            name = self.file.rsplit("/", 1)[-1].rsplit(".", 1)[0]
            problems.deviation(
                f"{self.doc}/Project", "<Project> needs a name attribute", f"used {name!r}"
            )
        self._users(root)
        codebook = _child(root, "CodeBook")
        codes = None if codebook is None else _child(codebook, "Codes")
        if codes is not None:
            _read_codes(
                codes,
                "/Project/CodeBook/Codes",
                self.doc,
                None,
                "",
                1,
                self.rows["codes"],
                problems,
            )
            self.code_guids = {r["guid"] for r in self.rows["codes"] if r["guid"] is not None}
        self._variables(root)
        self._sources(root)
        self._cases(root)
        self._summarise()
        problems.raise_if_any()
        return QdaProject(
            name=name,
            notes=problems.all_notes(),
            **{key: _frame(rows, TABLE_SCHEMAS[key]) for key, rows in self.rows.items()},
        )

    def _place(self, xpath: str, element: ET.Element) -> str:
        return f"{self.doc}{xpath} (guid={element.get('guid')})"

    def _unique(self, kind: str, guid: str | None, place: str, seen: set[str]) -> bool:
        if guid is None:
            return False
        if guid in seen:
            self.problems.error(place, f"{kind} GUIDs must be unique", f"guid {guid} appears twice")
            return False
        seen.add(guid)
        return True

    def _users(self, root: ET.Element) -> None:
        users = _child(root, "Users")
        for i, element in enumerate([] if users is None else _children(users, "User"), 1):
            place = self._place(f"/Project/Users/User[{i}]", element)
            guid = _guid_attr(element, "guid", place, self.problems)
            if self._unique("user", guid, place, self.user_guids):
                self.rows["users"].append({"guid": guid, "name": element.get("name") or ""})

    def _user_ref(self, element: ET.Element, place: str) -> str | None:
        raw = element.get("creatingUser")
        if raw is None or not raw.strip():
            return None
        guid = _guid(raw, f"{place} @creatingUser", self.problems)
        if guid not in self.user_guids:
            self.problems.deviation(
                place,
                "creatingUser must name a User under Project/Users",
                f"unknown user guid {guid}",
            )
        return guid

    def _variables(self, root: ET.Element) -> None:
        variables = _child(root, "Variables")
        for i, element in enumerate(
            [] if variables is None else _children(variables, "Variable"), 1
        ):
            place = self._place(f"/Project/Variables/Variable[{i}]", element)
            guid = _guid_attr(element, "guid", place, self.problems)
            name = element.get("name")
            if name is None:
                self.problems.error(place, "<Variable> needs a name attribute")
            if element.get("typeOfVariable") is None:
                self.problems.deviation(place, "<Variable> needs a typeOfVariable attribute")
            if guid is not None and name is not None:
                if guid in self.variables:
                    self.problems.error(
                        place, "variable GUIDs must be unique", f"guid {guid} appears twice"
                    )
                self.variables[guid] = name

    def _variable_value(
        self,
        element: ET.Element,
        xpath: str,
        owner_label: str,
        owner: str | None,
        table: str,
        key: str,
    ) -> None:
        place = f"{self.doc}{xpath} ({owner_label})"
        ref_place = f"{self.doc}{xpath}/VariableRef ({owner_label})"
        ref = _child(element, "VariableRef")
        if ref is None:
            self.problems.error(place, "<VariableValue> must contain a VariableRef")
            return
        target = _guid_attr(ref, "targetGUID", ref_place, self.problems)
        if target is None:
            return
        if target not in self.variables:
            self.problems.error(
                ref_place,
                "VariableRef must target a Variable defined under Project/Variables",
                f"unknown variable guid {target}",
            )
            return
        values = [c for c in element if isinstance(c.tag, str) and _local(c.tag) != "VariableRef"]
        if not values:
            self.counts["variable values without a value (skipped)"] += 1
            return
        value = values[0].text or ""
        if _local(values[0].tag) != "TextValue":
            value = value.strip()
        if owner is not None:
            self.rows[table].append({key: owner, "name": self.variables[target], "value": value})

    def _sources(self, root: ET.Element) -> None:
        sources = _child(root, "Sources")
        if sources is None:
            return
        index: Counter[str] = Counter()
        for element in sources:
            if not isinstance(element.tag, str):
                continue
            kind = _local(element.tag)
            index[kind] += 1
            xpath = f"/Project/Sources/{kind}[{index[kind]}]"
            if kind == "TextSource":
                self._text_source(element, xpath)
                continue
            self.counts[f"{kind} sources (only text sources are read; skipped)"] += 1
            raw = element.get("guid")
            if raw:
                self.skipped_sources.add(canonical_guid(raw))

    def _text_source(self, element: ET.Element, xpath: str) -> None:
        problems = self.problems
        place = self._place(xpath, element)
        guid = _guid_attr(element, "guid", place, problems)
        name = element.get("name") or ""
        known = self._unique("source", guid, place, self.source_guids)
        text, member = self._source_text(element, place, name)
        if known and text is not None:
            self.rows["sources"].append(
                {"guid": guid, "name": name, "text": text, "plain_text_path": member}
            )
        for j, selection in enumerate(_children(element, "PlainTextSelection"), 1):
            self._selection(selection, f"{xpath}/PlainTextSelection[{j}]", guid, name, text)
        whole = len(_children(element, "Coding"))
        if whole:
            self.counts["codings of whole text sources (no selection; skipped)"] += whole
        for k, value in enumerate(_children(element, "VariableValue"), 1):
            self._variable_value(
                value,
                f"{xpath}/VariableValue[{k}]",
                f"source guid={element.get('guid')}",
                guid if known else None,
                "source_variables",
                "source_guid",
            )

    def _source_text(
        self, element: ET.Element, place: str, name: str
    ) -> tuple[str | None, str | None]:
        problems = self.problems
        path = element.get("plainTextPath")
        inline = _child(element, "PlainTextContent")
        if path is None:
            if inline is None:
                problems.error(place, "a TextSource needs a plainTextPath or a PlainTextContent")
                return None, None
            return inline.text or "", None
        if inline is not None:
            problems.deviation(
                place,
                "a TextSource must have plainTextPath or PlainTextContent, not both",
                "used plainTextPath",
            )
        member = self._resolve(path, place)
        if member is None:
            return None, None
        if self.fetch is None:
            problems.error(
                place,
                "plainTextPath can only be resolved inside a .qdpx archive",
                f"plainTextPath={path!r}",
            )
            return None, None
        raw = self.fetch(member)
        if raw is None:
            problems.error(
                place,
                "plainTextPath must point at a file in the zip",
                f"plainTextPath={path!r}: no zip member {member!r}",
            )
            return None, None
        return self._decode(raw, member, place, name), member

    def _resolve(self, path: str, place: str) -> str | None:
        scheme, separator, rest = path.partition("://")
        if not separator:
            member = path if path.startswith("sources/") else f"sources/{path}"
            self.problems.deviation(
                place, "plainTextPath must start with internal://", f"read {path!r} as {member!r}"
            )
            rest = path
        elif scheme.lower() == "internal":
            if scheme != "internal":
                self.problems.deviation(
                    place, "plainTextPath must start with internal://", f"got {path!r}"
                )
            member = f"sources/{rest}"
        else:
            self.problems.error(
                place,
                "only internal:// source paths can be read from a .qdpx",
                f"plainTextPath={path!r} refers to a file outside the archive",
            )
            return None
        if not rest or _unsafe_member(rest):
            self.problems.error(
                place,
                "plainTextPath must stay inside the archive's sources folder (path traversal)",
                f"plainTextPath={path!r}",
            )
            return None
        return member.replace("\\", "/")

    def _decode(self, raw: bytes, member: str, place: str, name: str) -> str | None:
        problems = self.problems
        where = f"{place} {member}"
        try:
            decoded = decode_text(raw, self.file, allow_cp1252=False, normalise_newlines=False)
        except InputError as exc:
            problems.deviation(
                f"{where}, {exc.place}",
                "source text must be UTF-8",
                f"source {name!r}: {exc.detail}",
            )
            if problems.strict:
                return None
            try:
                decoded = decode_text(raw, self.file, allow_cp1252=True, normalise_newlines=False)
            except InputError as exc2:
                problems.error(
                    f"{where}, {exc2.place}", exc2.rule, f"source {name!r}: {exc2.detail}"
                )
                return None
            return decoded.text
        if decoded.encoding != "utf-8":
            problems.deviation(
                where, "source text must be UTF-8", f"source {name!r} is {decoded.encoding}"
            )
        if raw.startswith(b"\xef\xbb\xbf"):
            self.counts["source texts starting with a UTF-8 byte-order mark (mark removed)"] += 1
        return decoded.text

    def _selection(
        self,
        element: ET.Element,
        xpath: str,
        source_guid: str | None,
        source_name: str,
        text: str | None,
    ) -> None:
        problems = self.problems
        place = self._place(xpath, element)
        guid = _guid_attr(element, "guid", place, problems)
        label = f"selection guid={element.get('guid')}, source {source_name!r}"
        start = self._integer(element, "startPosition", place)
        end = self._integer(element, "endPosition", place)
        ok = start is not None and end is not None
        if start is not None and start < 0:
            problems.error(
                place, "startPosition must not be negative", f"{label}: startPosition={start}"
            )
            ok = False
        elif ok and start > end:  # type: ignore[operator]
            problems.error(
                place,
                "a selection must not start after it ends",
                f"{label}: startPosition={start} > endPosition={end}",
            )
            ok = False
        elif ok and text is not None and end > len(text):  # type: ignore[operator]
            problems.error(
                place,
                "a selection must end within its source text",
                f"{label}: endPosition={end} but the text has {len(text)} characters",
            )
            ok = False
        selection_user = self._user_ref(element, place)
        seen_selection = self._unique("selection", guid, place, self.selection_guids)
        codings = _children(element, "Coding")
        if not codings:
            self.counts["selections without a Coding (skipped)"] += 1
            return
        for k, coding in enumerate(codings, 1):
            selection_label = f"(selection guid={element.get('guid')})"
            coding_place = f"{self.doc}{xpath}/Coding[{k}] {selection_label}"
            code_ref_place = f"{self.doc}{xpath}/Coding[{k}]/CodeRef {selection_label}"
            if coding.get("guid") is None:
                problems.deviation(coding_place, "<Coding> needs a guid attribute")
            else:
                _guid(coding.get("guid", ""), f"{coding_place} @guid", problems)
            ref = _child(coding, "CodeRef")
            if ref is None:
                problems.deviation(
                    coding_place, "<Coding> must contain a CodeRef", "coding skipped"
                )
                continue
            code = _guid_attr(ref, "targetGUID", code_ref_place, problems)
            if code is None:
                continue
            if code not in self.code_guids:
                problems.error(
                    code_ref_place,
                    "CodeRef must target a code in the CodeBook",
                    f"{label}: unknown code guid {code}",
                )
                continue
            user = self._user_ref(coding, coding_place) or selection_user
            if ok and seen_selection and source_guid is not None and text is not None:
                self.rows["selections"].append(
                    {
                        "guid": guid,
                        "source_guid": source_guid,
                        "start": start,
                        "end": end,
                        "code_guid": code,
                        "user_guid": user,
                        "text": text[start:end],  # type: ignore[index]
                    }
                )

    def _integer(self, element: ET.Element, attr: str, place: str) -> int | None:
        raw = element.get(attr)
        if raw is None:
            self.problems.error(place, f"<{_local(element.tag)}> needs a {attr} attribute")
            return None
        try:
            return int(raw.strip())
        except ValueError:
            self.problems.error(place, f"{attr} must be an integer", f"got {raw!r}")
            return None

    def _cases(self, root: ET.Element) -> None:
        cases = _child(root, "Cases")
        seen: set[str] = set()
        for i, element in enumerate([] if cases is None else _children(cases, "Case"), 1):
            xpath = f"/Project/Cases/Case[{i}]"
            place = self._place(xpath, element)
            guid = _guid_attr(element, "guid", place, self.problems)
            known = self._unique("case", guid, place, seen)
            if known:
                self.rows["cases"].append({"guid": guid, "name": element.get("name") or ""})
            for k, value in enumerate(_children(element, "VariableValue"), 1):
                self._variable_value(
                    value,
                    f"{xpath}/VariableValue[{k}]",
                    f"case guid={element.get('guid')}",
                    guid if known else None,
                    "case_variables",
                    "case_guid",
                )
            for k, ref in enumerate(_children(element, "SourceRef"), 1):
                ref_place = f"{self.doc}{xpath}/SourceRef[{k}] (case guid={element.get('guid')})"
                target = _guid_attr(ref, "targetGUID", ref_place, self.problems)
                if target is None:
                    continue
                if target in self.source_guids:
                    if known:
                        self.rows["case_sources"].append({"case_guid": guid, "source_guid": target})
                elif target in self.skipped_sources:
                    self.counts["case links to non-text sources (skipped)"] += 1
                else:
                    self.problems.error(
                        ref_place,
                        "SourceRef must target a source under Project/Sources",
                        f"unknown source guid {target}",
                    )

    def _summarise(self) -> None:
        for what, count in sorted(self.counts.items()):
            self.problems.note(f"{count} {what}")


class _WriteCheck:
    """Collects reasons a model cannot be written as schema-valid REFI-QDA."""

    def __init__(self, label: str) -> None:
        self.label = label
        self.errors: list[InputError] = []

    def fail(self, place: str, rule: str, detail: str = "") -> None:
        self.errors.append(InputError(self.label, place, rule, detail))

    def guid(self, value: Any, place: str) -> str:
        canonical = canonical_guid(value) if value is not None else ""
        if not _CANONICAL_GUID.fullmatch(canonical):
            self.fail(place, "GUIDs must be UUIDs (8-4-4-4-12 hexadecimal)", f"got {value!r}")
        return canonical

    def xml_text(self, value: str | None, place: str) -> str | None:
        if value is not None and _XML_ILLEGAL.search(value):
            self.fail(place, "text must not contain characters XML 1.0 cannot carry", repr(value))
        return value

    def done(self) -> None:
        if len(self.errors) == 1:
            raise self.errors[0]
        if self.errors:
            raise InputErrors(self.errors)


def _code_elements(codes: pl.DataFrame, check: _WriteCheck) -> list[ET.Element]:
    """Nested <Code> elements in row order, children under their parents."""
    rows = []
    for i, r in enumerate(codes.iter_rows(named=True)):
        place = f"codes row {i} (guid={r['guid']})"
        r = dict(r)
        r["guid"] = check.guid(r["guid"], place)
        r["parent_guid"] = (
            None if r.get("parent_guid") is None else check.guid(r["parent_guid"], place)
        )
        if r.get("is_codable") is None:
            check.fail(place, "is_codable must be true or false", "got null")
        if r.get("color") is not None and not _COLOR.fullmatch(r["color"]):
            check.fail(place, "color must be #RRGGBB or #RGB", f"got {r['color']!r}")
        if r.get("name") is None:
            check.fail(place, "a code needs a name")
        check.xml_text(r.get("name"), place)
        check.xml_text(r.get("description"), place)
        rows.append(r)
    problems = _derive_code_paths(rows)
    for problem in problems:
        check.fail("codes", "codes must form a tree of unique GUIDs", problem)
    if problems:
        return []
    children: dict[str | None, list[dict[str, Any]]] = {}
    for r in rows:
        children.setdefault(r["parent_guid"], []).append(r)

    def build(r: dict[str, Any]) -> ET.Element:
        attrs = {
            "guid": r["guid"],
            "name": r["name"],
            "isCodable": "true" if r["is_codable"] else "false",
        }
        if r.get("color") is not None:
            attrs["color"] = r["color"]
        element = ET.Element("Code", attrs)
        if r.get("description") is not None:
            ET.SubElement(element, "Description").text = r["description"]
        element.extend(build(child) for child in children.get(r["guid"], []))
        return element

    return [build(r) for r in children.get(None, [])]


def _serialise(root: ET.Element) -> bytes:
    ET.indent(root, space="  ")
    body = ET.tostring(root, encoding="unicode")
    return ('<?xml version="1.0" encoding="UTF-8"?>\n' + body + "\n").encode("utf-8")


def _variable_value(parent: ET.Element, name: str, value: str) -> None:
    element = ET.SubElement(parent, "VariableValue")
    ET.SubElement(element, "VariableRef", {"targetGUID": stable_guid("variable", name)})
    ET.SubElement(element, "TextValue").text = value


def _project_element(project: QdaProject, check: _WriteCheck) -> tuple[ET.Element, dict[str, str]]:
    root = ET.Element(
        "Project", {"xmlns": PROJECT_NAMESPACE, "name": project.name, "origin": "studyflow"}
    )
    check.xml_text(project.name, "project name")

    user_guids: set[str] = set()
    users = []
    for i, r in enumerate(project.users.iter_rows(named=True)):
        place = f"users row {i}"
        guid = check.guid(r["guid"], place)
        if guid in user_guids:
            check.fail(place, "user GUIDs must be unique", guid)
        user_guids.add(guid)
        users.append(
            ET.Element("User", {"guid": guid, "name": check.xml_text(r["name"], place) or ""})
        )
    if users:
        ET.SubElement(root, "Users").extend(users)

    code_elements = _code_elements(project.codes, check)
    code_guids = {canonical_guid(g) for g in project.codes["guid"].to_list() if g is not None}
    if code_elements:
        ET.SubElement(ET.SubElement(root, "CodeBook"), "Codes").extend(code_elements)

    variable_names = sorted(
        set(project.source_variables["name"].to_list())
        | set(project.case_variables["name"].to_list())
    )
    if variable_names:
        variables = ET.SubElement(root, "Variables")
        for name in variable_names:
            check.xml_text(name, f"variable {name!r}")
            ET.SubElement(
                variables,
                "Variable",
                {"guid": stable_guid("variable", name), "name": name, "typeOfVariable": "Text"},
            )

    source_guids = [
        check.guid(g, f"sources row {i}") for i, g in enumerate(project.sources["guid"].to_list())
    ]
    for guid, count in Counter(source_guids).items():
        if count > 1:
            check.fail("sources", "source GUIDs must be unique", guid)

    case_values = _grouped(project.case_variables, "case_guid", check)
    case_links = _grouped(project.case_sources, "case_guid", check)
    case_guids: set[str] = set()
    cases = []
    for i, r in enumerate(project.cases.iter_rows(named=True)):
        place = f"cases row {i}"
        guid = check.guid(r["guid"], place)
        if guid in case_guids:
            check.fail(place, "case GUIDs must be unique", guid)
        case_guids.add(guid)
        element = ET.Element("Case", {"guid": guid, "name": check.xml_text(r["name"], place) or ""})
        for value in case_values.get(guid, []):
            _variable_value(element, value["name"], check.xml_text(value["value"], place) or "")
        for link in case_links.get(guid, []):
            target = check.guid(link["source_guid"], place)
            if target not in source_guids:
                check.fail(
                    place, "case_sources must name a known source", f"unknown source guid {target}"
                )
            ET.SubElement(element, "SourceRef", {"targetGUID": target})
        cases.append(element)
    for table, grouped in (("case_variables", case_values), ("case_sources", case_links)):
        for guid in grouped.keys() - case_guids:
            check.fail(table, f"{table} must name a known case", f"unknown case guid {guid}")
    if cases:
        ET.SubElement(root, "Cases").extend(cases)

    source_values = _grouped(project.source_variables, "source_guid", check)
    selections = _grouped(project.selections, "source_guid", check)
    texts: dict[str, str] = {}
    sources = []
    for guid, r in zip(source_guids, project.sources.iter_rows(named=True), strict=True):
        place = f"source {r['name']!r} (guid={guid})"
        if r["text"] is None:
            check.fail(place, "a source needs its text", "text is null")
        texts[guid] = r["text"] or ""
        element = ET.Element(
            "TextSource",
            {
                "guid": guid,
                "name": check.xml_text(r["name"], place) or "",
                "plainTextPath": f"internal://{guid}.txt",
            },
        )
        _selection_elements(
            element, selections.get(guid, []), texts[guid], code_guids, user_guids, place, check
        )
        for value in source_values.get(guid, []):
            _variable_value(element, value["name"], check.xml_text(value["value"], place) or "")
        sources.append(element)
    for table, grouped in (("source_variables", source_values), ("selections", selections)):
        for guid in grouped.keys() - set(source_guids):
            check.fail(table, f"{table} must name a known source", f"unknown source guid {guid}")
    if sources:
        ET.SubElement(root, "Sources").extend(sources)
    return root, texts


def _grouped(frame: pl.DataFrame, key: str, check: _WriteCheck) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    for i, r in enumerate(frame.iter_rows(named=True)):
        out.setdefault(check.guid(r[key], f"{key} in row {i}"), []).append(r)
    return out


def _selection_elements(
    parent: ET.Element,
    rows: list[dict[str, Any]],
    text: str,
    code_guids: set[str],
    user_guids: set[str],
    source_place: str,
    check: _WriteCheck,
) -> None:
    by_guid: dict[str, list[dict[str, Any]]] = {}
    for r in rows:
        by_guid.setdefault(check.guid(r["guid"], source_place), []).append(r)
    ordered = sorted(
        by_guid.items(), key=lambda item: (item[1][0]["start"], item[1][0]["end"], item[0])
    )
    for guid, codings in ordered:
        place = f"selection guid={guid} in {source_place}"
        start, end = codings[0]["start"], codings[0]["end"]
        if any((c["start"], c["end"]) != (start, end) for c in codings):
            check.fail(place, "rows of one selection must share start and end")
        if start is None or end is None or not 0 <= start <= end <= len(text):
            check.fail(
                place,
                "a selection must lie within its source text",
                f"start={start}, end={end}, text has {len(text)} characters",
            )
        users = {c["user_guid"] for c in codings}
        attrs = {"guid": guid, "startPosition": str(start), "endPosition": str(end)}
        if len(users) == 1 and None not in users:
            attrs["creatingUser"] = check.guid(next(iter(users)), place)
        element = ET.SubElement(parent, "PlainTextSelection", attrs)
        seen_codes: set[str] = set()
        for c in sorted(codings, key=lambda c: canonical_guid(c["code_guid"] or "")):
            code = check.guid(c["code_guid"], place)
            if code not in code_guids:
                check.fail(
                    place,
                    "code_guid must name a code in the codes table",
                    f"unknown code guid {code}",
                )
            if code in seen_codes:
                check.fail(place, "a selection must not carry the same code twice", code)
            seen_codes.add(code)
            coding_attrs = {"guid": stable_guid("coding", guid, code)}
            if c["user_guid"] is not None:
                user = check.guid(c["user_guid"], place)
                if user not in user_guids:
                    check.fail(
                        place,
                        "user_guid must name a user in the users table",
                        f"unknown user guid {user}",
                    )
                coding_attrs["creatingUser"] = user
            coding = ET.SubElement(element, "Coding", coding_attrs)
            ET.SubElement(coding, "CodeRef", {"targetGUID": code})


def _deterministic_zip(members: Mapping[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name in sorted(members):
            info = zipfile.ZipInfo(name, date_time=_ZIP_EPOCH)
            info.compress_type = zipfile.ZIP_DEFLATED
            # Fixed "made on Unix, mode 0644" so output does not depend on the writing platform.
            info.create_system = 3
            info.external_attr = 0o644 << 16
            archive.writestr(info, members[name], compresslevel=9)
    return buffer.getvalue()


def write_qdpx(project: QdaProject) -> bytes:
    """Write a schema-valid, byte-for-byte reproducible .qdpx (texts under sources/<guid>.txt)."""
    check = _WriteCheck(f"QdaProject {project.name!r}")
    root, texts = _project_element(project, check)
    check.done()
    members = {"project.qde": _serialise(root)}
    members.update({f"sources/{guid}.txt": text.encode("utf-8") for guid, text in texts.items()})
    return _deterministic_zip(members)


def write_qdc(codes: pl.DataFrame, name: str) -> bytes:
    """Write a codes table as a schema-valid REFI-QDA codebook (.qdc) XML document."""
    check = _WriteCheck(name)
    elements = _code_elements(codes, check)
    if not elements and not check.errors:
        check.fail("codes", "a codebook needs at least one code", "the codes table is empty")
    check.done()
    root = ET.Element("CodeBook", {"xmlns": CODEBOOK_NAMESPACE, "origin": "studyflow"})
    ET.SubElement(root, "Codes").extend(elements)
    return _serialise(root)
