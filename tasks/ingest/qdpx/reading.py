"""Read REFI-QDA 1.5 projects (.qdpx, or project.qde XML) and codebooks (.qdc) into tables.

Strict mode (``strict=True``) judges a document by the standard: it must be valid against the
official schema (``Project.xsd`` / ``Codebook.xsd``, vendored in ./xsd; see ``schema``), every
deviation listed as an ``InputError`` placed by its XPath, and it must keep the few rules the
specification states in prose only (plainTextPath with ``internal://``, not both plainTextPath
and PlainTextContent, UTF-8 source texts, the project file named project.qde, a creatingUser
listed under Users). A schema-valid
project that keeps those rules reads with no note: GUIDs in upper case or braces are valid.

Lenient mode (the default) reads what real tools write and records each true deviation it
tolerates in ``QdaProject.notes`` (a missing or misspelt namespace, a missing isCodable, ``yes``
for true, colours without '#', a path without ``internal://``, ...). GUIDs are stored lower-case
without braces in both modes. Problems that make the data unusable (unknown code GUIDs,
selections outside their text, missing source files, unsafe zip members, ...) are errors in both
modes: one problem raises ``InputError``, several raise ``InputErrors`` (strict mode always
raises ``InputErrors``). Problems that stop reading outright (broken zip, no project.qde,
unparsable or entity-declaring XML, an unsafe member path, the size bound) raise a single
``InputError`` at once.

REFI sets (Project/Sets) are read into ``sets`` and ``set_members`` (sources and codes;
``sets.cases_from_sets`` turns chosen sets into cases).

Selection offsets are 0-based, end-exclusive counts of Unicode code points of the source text as
stored (no newline conversion).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterable
from typing import Any
from xml.etree import ElementTree as ET

import defusedxml
import defusedxml.ElementTree as SafeET
import polars as pl

from tasks.ingest.errors import InputError, InputErrors
from tasks.ingest.qdpx.archive import QdpxLimits, open_archive, unsafe_member_path
from tasks.ingest.qdpx.model import (
    CANONICAL_GUID_PATTERN,
    CODEBOOK_NAMESPACE,
    CODES_SCHEMA,
    COLOR_PATTERN,
    PROJECT_NAMESPACE,
    SCHEMA_GUID_PATTERN,
    TABLE_SCHEMAS,
    QdaProject,
    canonical_guid,
    table_from_rows,
)
from tasks.ingest.qdpx.schema import schema_errors
from tasks.ingest.text import decode_text

# A colour written without its '#': tolerated and read as "#" + value.
_BARE_COLOR = re.compile(r"(?:[0-9A-Fa-f]{6}|[0-9A-Fa-f]{3})")


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


_LOCAL_NAMES: dict[str, str] = {}


def _local(tag: str) -> str:
    """A tag without its namespace."""
    local = _LOCAL_NAMES.get(tag)
    if local is None:
        local = tag.rpartition("}")[2]
        if len(_LOCAL_NAMES) < 4096:  # a project uses a few dozen tags; a hostile one is not cached
            _LOCAL_NAMES[tag] = local
    return local


def _namespace(tag: str) -> str:
    """A tag's namespace, "" when it has none."""
    return tag[1:].partition("}")[0] if tag.startswith("{") else ""


def _children(element: ET.Element, local: str) -> list[ET.Element]:
    """Child elements with this local name, in any namespace."""
    return [c for c in element if isinstance(c.tag, str) and _local(c.tag) == local]


def _child(element: ET.Element, local: str) -> ET.Element | None:
    """The first child element with this local name, or None."""
    found = _children(element, local)
    return found[0] if found else None


# An XML declaration's encoding, when it names one (the declaration must open the document).
_DECLARED_ENCODING = re.compile(rb"<\?xml[^>]*?\bencoding\s*=\s*[\"']([A-Za-z0-9._-]+)[\"']")
# Encodings in which "<!DOCTYPE" can only be written as those ASCII bytes.
_ASCII_SUPERSETS = {b"utf-8", b"utf8", b"us-ascii", b"ascii", b"iso-8859-1", b"latin-1", b"latin1"}


def _without_dtd(xml: bytes) -> bool:
    """True when the document surely declares no DTD: ASCII-compatible and no "<!DOCTYPE" in it.

    Entities (and with them entity expansion and external resources) can only be declared in a
    DTD, so such a document gives defusedxml nothing to refuse. Anything else (UTF-16, another
    declared encoding, a "<!DOCTYPE" anywhere, even in a comment) goes through defusedxml.
    """
    head = xml.removeprefix(b"\xef\xbb\xbf").lstrip(b" \t\r\n")
    if not head.startswith(b"<") or b"<!DOCTYPE" in xml:
        return False
    if not head.startswith(b"<?xml"):
        return True
    declaration = head[: head.find(b"?>") + 2] if b"?>" in head[:512] else b""
    if not declaration:
        return False
    found = _DECLARED_ENCODING.match(declaration)
    if found is None:
        return b"encoding" not in declaration
    return found.group(1).lower() in _ASCII_SUPERSETS


def _parse_xml(xml: bytes, file: str, member: str | None) -> ET.Element:
    """The root element; entity declarations and malformed XML raise InputError."""
    prefix = f"{member}: " if member else ""
    try:
        if _without_dtd(xml):
            # Nothing for defusedxml to refuse: expat's C tree builder (defusedxml parses through
            # the pure-Python one, a Python call per element: most of reading a large project).
            return ET.fromstring(xml)
        # No DTD at all: REFI-QDA files have none, and a DTD is how entity and DTD attacks start.
        return SafeET.fromstring(xml, forbid_dtd=True)
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


def read_qdpx(
    data: bytes, name: str, *, strict: bool = False, max_uncompressed_bytes: int | None = None,
    limits: QdpxLimits | None = None,
) -> QdaProject:
    """Read a REFI-QDA .qdpx archive (project.qde plus sources/) into a QdaProject.

    `limits` bound what is inflated and parsed (default: QdpxLimits.from_env());
    `max_uncompressed_bytes` overrides their total.
    """
    limits = limits or QdpxLimits.from_env()
    with open_archive(data, name, max_uncompressed_bytes, limits) as reader:
        pre_notes: list[InputError] = []
        qde = "project.qde"
        if qde not in reader.members:
            # Some tools name the file after the project: one unambiguous .qde is accepted.
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
            xml, name, member=qde, fetch=reader.read, strict=strict, early=pre_notes, limits=limits
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
    data: bytes, name: str, *, strict: bool = False, limits: QdpxLimits | None = None
) -> tuple[pl.DataFrame, tuple[str, ...]]:
    """Read a REFI-QDA codebook (.qdc) into the codes table, with the lenient-mode notes."""
    limits = limits or QdpxLimits.from_env()
    if len(data) > limits.codebook_bytes:
        raise InputError(name, "whole file", f"a codebook must not exceed {limits.codebook_bytes} bytes",
                         f"it has {len(data)} (raise STUDYFLOW_QDC_MAX_MB for a larger one)")
    problems = _Problems(name, strict)
    root = _parse_xml(data, name, None)
    if _local(root.tag) != "CodeBook":
        raise InputError(
            name, f"root element <{_local(root.tag)}>", "a .qdc root element must be CodeBook"
        )
    if strict:
        _validate(root, "codebook", name, None, limits.code_depth)
    _check_namespaces(root, CODEBOOK_NAMESPACE, "", problems)
    rows: list[dict[str, Any]] = []
    codes = _child(root, "Codes")
    if codes is None:
        problems.deviation("/CodeBook", "CodeBook must contain Codes", "read as an empty codebook")
    else:
        _read_codes(codes, "/CodeBook/Codes", "", None, "", 1, rows, problems, max_depth=limits.code_depth)
    problems.raise_if_any()
    return table_from_rows(rows, CODES_SCHEMA), problems.all_notes()


def read_qdc(data: bytes, name: str, *, strict: bool = False, limits: QdpxLimits | None = None) -> pl.DataFrame:
    """Read a REFI-QDA codebook (.qdc) into the codes table."""
    return read_qdc_with_notes(data, name, strict=strict, limits=limits)[0]


def read_qdpx_codebook(
    data: bytes, name: str, *, strict: bool = False, limits: QdpxLimits | None = None
) -> tuple[pl.DataFrame, tuple[str, ...]]:
    """The codebook of a .qdpx (its Project/CodeBook) as the codes table, with lenient-mode notes.

    Only project.qde is inflated: the sources are neither read nor checked, so a project
    exported from a QDA tool can serve as a study's codebook. Strict mode validates the whole
    project.qde against Project.xsd.
    """
    limits = limits or QdpxLimits.from_env()
    with open_archive(data, name, None, limits) as reader:
        candidates = sorted(m for m in reader.members if m.lower().endswith(".qde"))
        qde = "project.qde" if "project.qde" in reader.members else (candidates[0] if len(candidates) == 1 else None)
        if qde is None:
            found = ", ".join(sorted(reader.members)[:10]) or "the zip is empty"
            raise InputError(name, "zip archive", "a .qdpx must contain project.qde", f"found: {found}")
        xml = reader.read(qde) or b""
    problems = _Problems(name, strict)
    if qde != "project.qde":
        problems.deviation("zip archive", "the project file must be project.qde at the top of the zip", f"used {qde!r}")
    root = _parse_xml(xml, name, qde)
    if _local(root.tag) != "Project":
        raise InputError(name, f"{qde}: root element <{_local(root.tag)}>", "the root element must be Project")
    if strict:
        _validate(root, "project", name, qde, limits.code_depth)
    _check_namespaces(root, PROJECT_NAMESPACE, f"{qde}: ", problems)
    codebook = _child(root, "CodeBook")
    codes = None if codebook is None else _child(codebook, "Codes")
    if codes is None:
        raise InputError(name, f"{qde}: /Project", "a project used as the codebook must contain CodeBook/Codes")
    rows: list[dict[str, Any]] = []
    _read_codes(codes, "/Project/CodeBook/Codes", f"{qde}: ", None, "", 1, rows, problems,
                max_depth=limits.code_depth)
    problems.raise_if_any()
    return table_from_rows(rows, CODES_SCHEMA), problems.all_notes()


def read_codebook_file(
    data: bytes, name: str, *, strict: bool = False, limits: QdpxLimits | None = None
) -> tuple[pl.DataFrame, tuple[str, ...]]:
    """A study codebook as the codes table with notes: a .qdc, or the CodeBook of a .qdpx."""
    if name.lower().endswith(".qdpx"):
        return read_qdpx_codebook(data, name, strict=strict, limits=limits)
    return read_qdc_with_notes(data, name, strict=strict, limits=limits)


def _check_namespaces(root: ET.Element, expected: str, doc: str, problems: _Problems) -> None:
    """One deviation per namespace other than the expected one."""
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
    """The GUID in canonical form (lower case, no braces); a deviation when it is no GUID at all.

    Project.xsd's GUIDType allows upper and lower case, with or without braces: those are
    valid and read without a note.
    """
    if CANONICAL_GUID_PATTERN.fullmatch(raw):
        return raw  # the form the tables hold, valid as it is (the common case)
    canonical = canonical_guid(raw)
    if not CANONICAL_GUID_PATTERN.fullmatch(canonical):
        problems.deviation(place, "GUIDs must be 8-4-4-4-12 hexadecimal", f"got {raw!r}")
    elif not SCHEMA_GUID_PATTERN.fullmatch(raw.strip()):
        # A form Python's uuid reads but the schema does not (no dashes, one brace, urn:uuid:).
        problems.deviation(
            place, "GUIDs must be 8-4-4-4-12 hexadecimal, with or without braces",
            f"{raw!r} read as {canonical!r}",
        )
    return canonical


def _check_nesting(root: ET.Element, file: str, doc: str, max_depth: int) -> None:
    """Refuse absurd nesting before the (recursive) schema validation walks the tree."""
    # The deepest legitimate REFI structure outside the codebook is a few levels; codes nest
    # up to max_depth under Project/CodeBook/Codes.
    bound = max_depth + 8
    stack = [(root, 1)]
    while stack:
        element, depth = stack.pop()
        if depth > bound:
            raise InputError(
                file, f"{doc}<{_local(element.tag) if isinstance(element.tag, str) else '?'}> element",
                f"elements must not be nested more than {bound} levels deep",
                "raise STUDYFLOW_QDPX_MAX_CODE_DEPTH for a deeper codebook",
            )
        stack.extend((child, depth + 1) for child in element)


def _validate(
    root: ET.Element, kind: str, file: str, member: str | None, max_depth: int
) -> None:
    """Strict mode: raise every deviation from the REFI-QDA schema, each placed by its XPath."""
    _check_nesting(root, file, f"{member}: " if member else "", max_depth)
    errors = schema_errors(root, "project" if kind == "project" else "codebook", file, member)
    if errors:
        raise InputErrors(errors)


def _guid_attr(element: ET.Element, attr: str, place: str, problems: _Problems) -> str | None:
    """The canonical GUID in attribute `attr`; an error and None when it is missing."""
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
    max_depth: int = QdpxLimits.code_depth,
) -> None:
    """Append a row per <Code> under parent, depth first, with its path and depth."""
    seen = set() if seen is None else seen
    children = _children(parent, "Code")
    if children and depth > max_depth:
        # A bound, not Python's recursion limit: the error names the file and where it went deep.
        shown = xpath if len(xpath) <= 120 else f"{xpath[:60]}…{xpath[-50:]}"
        raise InputError(
            problems.file, f"{doc}{shown}/Code",
            f"codes must not be nested more than {max_depth} levels deep",
            "raise STUDYFLOW_QDPX_MAX_CODE_DEPTH for a deeper codebook",
        )
    for i, element in enumerate(children, 1):
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
        _read_codes(element, here, doc, guid, path, depth + 1, rows, problems, seen, max_depth)


def _is_codable(element: ET.Element, place: str, problems: _Problems) -> bool:
    """isCodable as a bool, tolerating missing and loosely spelt values."""
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
    """The code colour as #RRGGBB or #RGB; a missing '#' is added, anything else dropped."""
    raw = element.get("color")
    if raw is None:
        return None
    value = raw.strip()
    if COLOR_PATTERN.fullmatch(value):
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
        limits: QdpxLimits | None = None,
    ) -> None:
        self.limits = limits or QdpxLimits.from_env()
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
        if problems.strict:
            _validate(root, "project", self.file, self.member, self.limits.code_depth)
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
                max_depth=self.limits.code_depth,
            )
            self.code_guids = {r["guid"] for r in self.rows["codes"] if r["guid"] is not None}
        self._variables(root)
        self._sources(root)
        self._cases(root)
        self._sets(root)
        self._summarise()
        problems.raise_if_any()
        return QdaProject(
            name=name,
            notes=problems.all_notes(),
            **{key: table_from_rows(rows, TABLE_SCHEMAS[key]) for key, rows in self.rows.items()},
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
            if not self._plain_selection(selection, guid, text):
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
        if not rest or unsafe_member_path(rest):
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

    def _plain_selection(self, element: ET.Element, source_guid: str | None, text: str | None) -> bool:
        """Read a selection that breaks no rule and needs no note; False (nothing done) otherwise.

        The common case of a large project, without building the places _selection names in
        its errors; any other selection is left to _selection, which reports it as before.
        """
        canonical, users = CANONICAL_GUID_PATTERN.fullmatch, self.user_guids
        guid = element.get("guid")
        if guid is None or not canonical(guid) or guid in self.selection_guids or source_guid is None or text is None:
            return False
        try:
            start, end = int(element.get("startPosition", "").strip()), int(element.get("endPosition", "").strip())
        except ValueError:
            return False
        selection_user = element.get("creatingUser")
        if not 0 <= start <= end <= len(text) or (selection_user is not None and selection_user not in users):
            return False  # a known user GUID is canonical: the tables hold only those
        rows = []
        for child in element:
            if not isinstance(child.tag, str) or _local(child.tag) != "Coding":
                continue
            coding_guid, user = child.get("guid"), child.get("creatingUser")
            ref = child[0] if len(child) else None
            code = ref.get("targetGUID") if ref is not None and isinstance(ref.tag, str) and _local(ref.tag) == "CodeRef" else None
            if (coding_guid is None or not canonical(coding_guid) or code is None or code not in self.code_guids
                    or (user is not None and user not in users)):
                return False
            rows.append({"guid": guid, "source_guid": source_guid, "start": start, "end": end,
                         "code_guid": code, "user_guid": user or selection_user, "text": text[start:end]})
        if not rows:
            return False  # counted as a selection without a Coding by _selection
        self.selection_guids.add(guid)
        self.rows["selections"].extend(rows)
        return True

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

    def _sets(self, root: ET.Element) -> None:
        sets = _child(root, "Sets")
        seen: set[str] = set()
        for i, element in enumerate([] if sets is None else _children(sets, "Set"), 1):
            xpath = f"/Project/Sets/Set[{i}]"
            place = self._place(xpath, element)
            guid = _guid_attr(element, "guid", place, self.problems)
            name = element.get("name")
            if name is None:
                self.problems.deviation(place, "<Set> needs a name attribute", "read as ''")
            known = self._unique("set", guid, place, seen)
            if not known:
                continue
            description = _child(element, "Description")
            self.rows["sets"].append({
                "guid": guid, "name": name or "",
                "description": None if description is None else (description.text or ""),
            })
            for tag, kind, targets, skipped in (
                ("MemberSource", "source", self.source_guids, self.skipped_sources),
                ("MemberCode", "code", self.code_guids, set()),
            ):
                for k, ref in enumerate(_children(element, tag), 1):
                    ref_place = f"{self.doc}{xpath}/{tag}[{k}] (set guid={element.get('guid')})"
                    target = _guid_attr(ref, "targetGUID", ref_place, self.problems)
                    if target is None:
                        continue
                    if target in targets:
                        self.rows["set_members"].append({"set_guid": guid, "member_guid": target, "kind": kind})
                    elif target in skipped:
                        self.counts["set members that are non-text sources (skipped)"] += 1
                    else:
                        self.problems.error(
                            ref_place, f"{tag} must target a {kind} in the project",
                            f"set {name!r}: unknown {kind} guid {target}",
                        )
            notes = len(_children(element, "MemberNote"))
            if notes:
                self.counts["set members that are notes (notes are not read; skipped)"] += notes

    def _summarise(self) -> None:
        for what, count in sorted(self.counts.items()):
            self.problems.note(f"{count} {what}")
