"""Write a QdaProject as a schema-valid, byte-for-byte reproducible .qdpx, and codes as a .qdc.

The writer is strict where the reader is lenient: every GUID must be a UUID, codes must form a
tree, selections must lie within their text and name known codes and users, and text must be
representable in XML 1.0. All such problems are collected and raised together (one problem as
``InputError``, several as ``InputErrors``). Output depends only on the tables: elements follow
the schema's order, selections are written in text order, GUIDs of derived elements come from
``stable_guid`` and zip members carry a fixed date and mode.
"""

from __future__ import annotations

import io
import re
import zipfile
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from typing import Any
from xml.etree import ElementTree as ET

import polars as pl

from tasks.ingest.errors import InputError, InputErrors
from tasks.ingest.qdpx.model import (
    CANONICAL_GUID_PATTERN,
    CODEBOOK_NAMESPACE,
    COLOR_PATTERN,
    PROJECT_NAMESPACE,
    QdaProject,
    canonical_guid,
    derive_code_paths,
    stable_guid,
)

# Characters XML 1.0 cannot carry at all, not even as character references.
_XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
# The earliest date a zip entry can hold: a fixed stamp keeps the bytes independent of the clock.
_ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)


class _WriteCheck:
    """Collects reasons a model cannot be written as schema-valid REFI-QDA."""

    def __init__(self, label: str) -> None:
        self.label = label
        self.errors: list[InputError] = []

    def fail(self, place: str, rule: str, detail: str = "") -> None:
        """Record one reason the project cannot be written."""
        self.errors.append(InputError(self.label, place, rule, detail))

    def guid(self, value: Any, place: str) -> str:
        """The GUID in canonical form, recording a failure when it is not a UUID."""
        if isinstance(value, str) and CANONICAL_GUID_PATTERN.fullmatch(value):
            return value  # already canonical (the common case)
        canonical = canonical_guid(value) if value is not None else ""
        if not CANONICAL_GUID_PATTERN.fullmatch(canonical):
            self.fail(place, "GUIDs must be UUIDs (8-4-4-4-12 hexadecimal)", f"got {value!r}")
        return canonical

    def new_guid(self, value: Any, place: str, seen: set[str], kind: str) -> str:
        """The canonical GUID of a new element, recording a failure when `seen` already holds it."""
        guid = self.guid(value, place)
        if guid in seen:
            self.fail(place, f"{kind} GUIDs must be unique", guid)
        seen.add(guid)
        return guid

    def xml_text(self, value: str | None, place: str) -> str | None:
        """The text unchanged, recording a failure when XML 1.0 cannot carry it."""
        if value is not None and _XML_ILLEGAL.search(value):
            self.fail(place, "text must not contain characters XML 1.0 cannot carry", repr(value))
        return value

    def done(self) -> None:
        """Raise every recorded failure: one as InputError, several as InputErrors."""
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
        if r.get("color") is not None and not COLOR_PATTERN.fullmatch(r["color"]):
            check.fail(place, "color must be #RRGGBB or #RGB", f"got {r['color']!r}")
        if r.get("name") is None:
            check.fail(place, "a code needs a name")
        check.xml_text(r.get("name"), place)
        check.xml_text(r.get("description"), place)
        rows.append(r)
    problems = derive_code_paths(rows)
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
    """UTF-8 XML with a declaration, indented two spaces, ending in a newline."""
    ET.indent(root, space="  ")
    body = ET.tostring(root, encoding="unicode")
    return ('<?xml version="1.0" encoding="UTF-8"?>\n' + body + "\n").encode("utf-8")


def _variable_value(parent: ET.Element, name: str, value: str) -> None:
    """Append a text <VariableValue> naming the variable by its stable GUID."""
    element = ET.SubElement(parent, "VariableValue")
    ET.SubElement(element, "VariableRef", {"targetGUID": stable_guid("variable", name)})
    ET.SubElement(element, "TextValue").text = value


def _project_element(
    project: QdaProject, check: _WriteCheck, *, fast_sources: bool = True
) -> tuple[ET.Element, dict[str, str], pl.Series | None]:
    """The <Project> element in schema order, each source's text by GUID, and the serialised
    <TextSource> elements when written directly (see _sources_xml; else the element holds them)."""
    root = ET.Element(
        "Project", {"xmlns": PROJECT_NAMESPACE, "name": project.name, "origin": "studyflow"}
    )
    check.xml_text(project.name, "project name")

    user_guids: set[str] = set()
    users = []
    for i, r in enumerate(project.users.iter_rows(named=True)):
        place = f"users row {i}"
        guid = check.new_guid(r["guid"], place, user_guids, "user")
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
    # Looked up once per case link: a list made writing a national project quadratic.
    known_sources = set(source_guids)

    case_values = _grouped(project.case_variables, "case_guid", check)
    case_links = _grouped(project.case_sources, "case_guid", check)
    case_guids: set[str] = set()
    cases = []
    for i, r in enumerate(project.cases.iter_rows(named=True)):
        place = f"cases row {i}"
        guid = check.new_guid(r["guid"], place, case_guids, "case")
        element = ET.Element("Case", {"guid": guid, "name": check.xml_text(r["name"], place) or ""})
        for value in case_values.get(guid, []):
            _variable_value(element, value["name"], check.xml_text(value["value"], place) or "")
        for link in case_links.get(guid, []):
            target = check.guid(link["source_guid"], place)
            if target not in known_sources:
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

    fast = _sources_xml(project, source_guids, code_guids, user_guids) if fast_sources else None
    if fast is not None:
        # _write_qdpx streams the sources in place of this placeholder once the rest is serialised.
        if fast[1]:
            ET.SubElement(root, "Sources").text = _SOURCES_PLACEHOLDER
        _set_elements(root, project, known_sources, code_guids, check)
        return root, fast[1], fast[0]
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
        for guid in grouped.keys() - known_sources:
            check.fail(table, f"{table} must name a known source", f"unknown source guid {guid}")
    if sources:
        ET.SubElement(root, "Sources").extend(sources)
    _set_elements(root, project, known_sources, code_guids, check)
    return root, texts, None


# Stands for the <Sources> block while the rest of the project is serialised by ElementTree: no
# text of a writable project holds a NUL (XML 1.0 cannot carry it), so it cannot clash.
_SOURCES_PLACEHOLDER = "\x00studyflow-sources\x00"
# _XML_ILLEGAL for polars' regex engine.
_XML_ILLEGAL_POLARS = r"[\x00-\x08\x0B\x0C\x0E-\x1F\x{FFFE}\x{FFFF}]"
_GUID_POLARS = r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"


def _escaped(text: pl.Expr, *, attribute: bool) -> pl.Expr:
    """ElementTree's escaping of text (&, <, >) or of an attribute value (also ", CR, LF, tab)."""
    pairs = [("&", "&amp;"), ("<", "&lt;"), (">", "&gt;")]
    if attribute:
        pairs += [('"', "&quot;"), ("\r", "&#13;"), ("\n", "&#10;"), ("\t", "&#09;")]
    for char, entity in pairs:  # in ElementTree's order: "&" first
        text = text.str.replace_all(char, entity, literal=True)
    return text


def _all_guids(frame: pl.DataFrame, column: str, *, nullable: bool = False) -> bool:
    """Every value of the column a canonical GUID (nulls allowed when nullable)."""
    ok = pl.col(column).str.contains(_GUID_POLARS)
    return bool(frame.select((ok | pl.col(column).is_null()) if nullable else ok.fill_null(False)).to_series().all())


def _sources_xml(
    project: QdaProject, source_guids: list[str], code_guids: set[str], user_guids: set[str]
) -> tuple[pl.Series, dict[str, str]] | None:
    """Each <TextSource> serialised (as ElementTree would indent and write it), and the texts.

    Written with polars, a string per selection rather than four elements per coding, for a
    project that passes every check _project_element makes of sources, their variables and
    selections; None for any other project, which then takes the element-by-element path (and
    gets its errors from it, exactly as before).
    """
    sources, values, selections = project.sources, project.source_variables, project.selections
    if len(set(source_guids)) != len(source_guids) or not _all_guids(sources, "guid"):
        return None
    if sources.select(pl.col("text").is_null().any() | pl.col("name").str.contains(_XML_ILLEGAL_POLARS).any()).item():
        return None
    known = pl.DataFrame({"source_guid": source_guids}, schema={"source_guid": pl.String})
    lengths = sources.select(pl.col("guid").alias("source_guid"), pl.col("text").str.len_chars().alias("length"))
    if not (_all_guids(values, "source_guid") and values.join(known, on="source_guid", how="anti").is_empty()):
        return None
    if values.select(pl.col("value").str.contains(_XML_ILLEGAL_POLARS).any()).item():
        return None
    if not all(_all_guids(selections, c) for c in ("guid", "source_guid", "code_guid")):
        return None
    if not _all_guids(selections, "user_guid", nullable=True):
        return None
    codes = pl.DataFrame({"code_guid": sorted(code_guids)}, schema={"code_guid": pl.String})
    users = pl.DataFrame({"user_guid": sorted(user_guids)}, schema={"user_guid": pl.String})
    checked = selections.join(lengths, on="source_guid", how="left")
    problems = checked.select(
        pl.col("length").is_null().any()  # a selection of an unknown source
        | pl.col("start").is_null().any() | pl.col("end").is_null().any()
        | ~((pl.col("start") >= 0) & (pl.col("start") <= pl.col("end")) & (pl.col("end") <= pl.col("length"))).all()
        | (pl.col("start").n_unique().over("source_guid", "guid") > 1).any()
        | (pl.col("end").n_unique().over("source_guid", "guid") > 1).any()
        | pl.struct("source_guid", "guid", "code_guid").is_duplicated().any()
    ).item()
    if problems or not selections.join(codes, on="code_guid", how="anti").is_empty():
        return None
    if not selections.drop_nulls("user_guid").join(users, on="user_guid", how="anti").is_empty():
        return None

    pairs = zip(selections.get_column("guid").to_list(), selections.get_column("code_guid").to_list(), strict=True)
    coding_guids = pl.Series("coding_guid", [stable_guid("coding", g, c) for g, c in pairs], dtype=pl.String)
    user_attr = pl.when(pl.col("user_guid").is_not_null()).then(
        pl.concat_str(pl.lit(' creatingUser="'), pl.col("user_guid"), pl.lit('"'))).otherwise(pl.lit(""))
    codings = selections.with_columns(coding_guids).with_columns(
        pl.concat_str(
            pl.lit('\n        <Coding guid="'), pl.col("coding_guid"), pl.lit('"'), user_attr,
            pl.lit('>\n          <CodeRef targetGUID="'), pl.col("code_guid"), pl.lit('" />\n        </Coding>'),
        ).alias("xml")
    )
    one_user = (pl.col("user_guid").n_unique() == 1) & (pl.col("user_guid").null_count() == 0)
    del coding_guids
    spans = (
        codings.sort("source_guid", "guid", "code_guid")
        .group_by("source_guid", "guid", maintain_order=True)
        .agg(pl.col("start").first(), pl.col("end").first(), pl.col("xml").str.join(""),
             pl.when(one_user).then(pl.col("user_guid").first()).alias("user_guid"))
        .sort("source_guid", "start", "end", "guid")
        .select("source_guid", pl.concat_str(
            pl.lit('\n      <PlainTextSelection guid="'), pl.col("guid"),
            pl.lit('" startPosition="'), pl.col("start").cast(pl.String),
            pl.lit('" endPosition="'), pl.col("end").cast(pl.String), pl.lit('"'), user_attr, pl.lit(">"),
            pl.col("xml"), pl.lit("\n      </PlainTextSelection>"),
        ).alias("xml"))
        .group_by("source_guid", maintain_order=True).agg(pl.col("xml").str.join("").alias("spans"))
    )
    del codings  # a national project's strings are large: each stage is dropped once used
    variable_guids = {n: stable_guid("variable", n) for n in values.get_column("name").unique().to_list()}
    value = _escaped(pl.col("value").fill_null(""), attribute=False)
    variables = values.select(
        "source_guid",
        pl.concat_str(
            pl.lit('\n      <VariableValue>\n        <VariableRef targetGUID="'),
            pl.col("name").replace_strict(variable_guids, return_dtype=pl.String),
            pl.lit('" />\n        '),
            pl.when(value == "").then(pl.lit("<TextValue />")).otherwise(
                pl.concat_str(pl.lit("<TextValue>"), value, pl.lit("</TextValue>"))),
            pl.lit("\n      </VariableValue>"),
        ).alias("xml"),
    ).group_by("source_guid", maintain_order=True).agg(pl.col("xml").str.join("").alias("variables"))
    children = pl.concat_str(pl.col("spans").fill_null(""), pl.col("variables").fill_null(""))
    elements = (
        sources.select(pl.col("guid").alias("source_guid"), "name")
        .join(spans, on="source_guid", how="left", maintain_order="left")
        .join(variables, on="source_guid", how="left", maintain_order="left")
        .select(pl.concat_str(
            pl.lit('\n    <TextSource guid="'), pl.col("source_guid"),
            pl.lit('" name="'), _escaped(pl.col("name").fill_null(""), attribute=True),
            pl.lit('" plainTextPath="internal://'), pl.col("source_guid"), pl.lit('.txt"'),
            pl.when(children == "").then(pl.lit(" />")).otherwise(
                pl.concat_str(pl.lit(">"), children, pl.lit("\n    </TextSource>"))),
        ).alias("xml"))
    )
    texts = dict(zip(source_guids, sources.get_column("text").to_list(), strict=True))
    return elements.get_column("xml"), texts


def _qde_chunks(head: bytes, sources: pl.Series, tail: bytes, rows: int = 2000) -> Iterator[bytes]:
    """project.qde in pieces: the serialised rest around <Sources>, the sources a few at a time."""
    yield head + b"<Sources>"
    for start in range(0, sources.len(), rows):
        yield "".join(sources.slice(start, rows).to_list()).encode("utf-8")
    yield b"\n  </Sources>" + tail


def _set_elements(
    root: ET.Element, project: QdaProject, source_guids: set[str], code_guids: set[str], check: _WriteCheck
) -> None:
    """Append <Sets> (after Sources, in schema order) with each set's member codes and sources."""
    members = _grouped(project.set_members, "set_guid", check)
    set_guids: set[str] = set()
    sets = []
    for i, r in enumerate(project.sets.iter_rows(named=True)):
        place = f"sets row {i}"
        guid = check.new_guid(r["guid"], place, set_guids, "set")
        element = ET.Element("Set", {"guid": guid, "name": check.xml_text(r["name"], place) or ""})
        if r["description"] is not None:
            ET.SubElement(element, "Description").text = check.xml_text(r["description"], place)
        by_kind: dict[str, list[str]] = {"code": [], "source": []}
        for member in members.get(guid, []):
            target = check.guid(member["member_guid"], place)
            kind = member["kind"]
            known = {"code": code_guids, "source": source_guids}.get(kind)
            if known is None:
                check.fail(place, "set member kind must be 'code' or 'source'", f"got {kind!r}")
            elif target not in known:
                check.fail(place, f"set_members must name a known {kind}", f"unknown {kind} guid {target}")
            else:
                by_kind[kind].append(target)
        # Project.xsd orders a set's members: MemberCode before MemberSource.
        for tag, kind in (("MemberCode", "code"), ("MemberSource", "source")):
            for target in by_kind[kind]:
                ET.SubElement(element, tag, {"targetGUID": target})
        sets.append(element)
    for guid in members.keys() - set_guids:
        check.fail("set_members", "set_members must name a known set", f"unknown set guid {guid}")
    if sets:
        ET.SubElement(root, "Sets").extend(sets)


def _grouped(frame: pl.DataFrame, key: str, check: _WriteCheck) -> dict[str, list[dict[str, Any]]]:
    """Rows by the canonical GUID in column `key`, in row order."""
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
    """Append a source's <PlainTextSelection> elements in text order, each with its codings."""
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


def _deterministic_zip(members: Mapping[str, bytes | Iterable[bytes]]) -> bytes:
    """A deflated zip of the members (bytes, or pieces of them) in name order, with a fixed date and mode."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name in sorted(members):
            info = zipfile.ZipInfo(name, date_time=_ZIP_EPOCH)
            info.compress_type = zipfile.ZIP_DEFLATED
            # Fixed "made on Unix, mode 0644" so output does not depend on the writing platform.
            info.create_system = 3
            info.external_attr = 0o644 << 16
            data = members[name]
            if isinstance(data, bytes):
                archive.writestr(info, data, compresslevel=9)
                continue
            # What writestr does, piece by piece: zlib's stream does not depend on how its input
            # is cut, and the header is rewritten with the sizes and CRC once the member is done.
            info._compresslevel = 9  # type: ignore[attr-defined]
            with archive.open(info, mode="w") as member:
                for piece in data:
                    member.write(piece)
    return buffer.getvalue()


def write_qdpx(project: QdaProject) -> bytes:
    """Write a schema-valid, byte-for-byte reproducible .qdpx (texts under sources/<guid>.txt)."""
    return _write_qdpx(project, fast_sources=True)


def _write_qdpx(project: QdaProject, *, fast_sources: bool) -> bytes:
    """write_qdpx; fast_sources=False writes <Sources> element by element (the tests compare)."""
    check = _WriteCheck(f"QdaProject {project.name!r}")
    root, texts, block = _project_element(project, check, fast_sources=fast_sources)
    check.done()
    xml = _serialise(root)
    members: dict[str, bytes | Iterable[bytes]] = {"project.qde": xml}
    if block is not None and texts:
        # Streamed into the zip: a national project.qde is hundreds of MB, never held whole.
        head, tail = xml.split(f"<Sources>{_SOURCES_PLACEHOLDER}</Sources>".encode(), 1)
        members["project.qde"] = _qde_chunks(head, block, tail)
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
