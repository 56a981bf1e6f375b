"""Tests for strict reading judged by the official REFI-QDA schemas, and each tolerated deviation."""

from __future__ import annotations

import defusedxml.ElementTree as SafeET
import pytest

from tasks.ingest.errors import InputError, InputErrors
from tasks.ingest.qdpx import read_project_xml, read_qdpx, schema_errors
from tasks.ingest.qdpx.schema import XSD_DIR
from tests.tasks.ingest.qdpx.samples import make_zip

# A project in the shape MAXQDA 24 exports: upper-case GUIDs without braces, users, variables,
# sources stored as sources/<GUID>.txt with creation metadata, a document set.
CODE_A, CODE_B = "5A0B7E8C-1F2D-4C3B-9A8E-7D6C5B4A3F21", "5A0B7E8C-1F2D-4C3B-9A8E-7D6C5B4A3F22"
USER = "0D9E8F7A-6B5C-4D3E-8F2A-1B0C9D8E7F60"
SRC_1, SRC_2 = "C1D2E3F4-A5B6-4C7D-8E9F-0A1B2C3D4E51", "C1D2E3F4-A5B6-4C7D-8E9F-0A1B2C3D4E52"
VAR = "AB12CD34-EF56-4A78-9B0C-1D2E3F4A5B60"
SET_1 = "FEDCBA98-7654-4321-8FED-CBA987654321"
TEXT_1 = "The board met the GP lead."
TEXT_2 = "No time for redesign."


def maxqda_like(guid: str = "{}") -> bytes:
    """project.qde as MAXQDA writes it; `guid` formats every GUID (e.g. "{{{}}}" for braces)."""
    f = guid.format
    return f"""<?xml version="1.0" encoding="utf-8"?>
<Project xmlns="urn:QDA-XML:project:1.0" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
  xsi:schemaLocation="urn:QDA-XML:project:1.0 http://schema.qdasoftware.org/versions/Project/v1.0/Project.xsd"
  name="Trusts" origin="MAXQDA 24" creatingUserGUID="{f(USER)}" creationDateTime="2024-05-02T10:11:12Z">
  <Users><User guid="{f(USER)}" name="AB"/></Users>
  <CodeBook><Codes>
    <Code guid="{f(CODE_A)}" name="Governance" isCodable="true" color="#FF8000">
      <Description>Board and committees</Description>
      <Code guid="{f(CODE_B)}" name="Lack of time" isCodable="true" color="#0080ff"/>
    </Code>
  </Codes></CodeBook>
  <Variables><Variable guid="{f(VAR)}" name="participant_role" typeOfVariable="Text"/></Variables>
  <Sources>
    <TextSource guid="{f(SRC_1)}" name="Interview 1" plainTextPath="internal://{SRC_1}.txt"
        creatingUser="{f(USER)}" creationDateTime="2024-05-02T10:11:12Z">
      <PlainTextSelection guid="E0000000-0000-4000-8000-000000000001" startPosition="18" endPosition="25"
          creatingUser="{f(USER)}" creationDateTime="2024-05-02T10:12:00Z">
        <Coding guid="E0000000-0000-4000-8000-000000000002" creatingUser="{f(USER)}">
          <CodeRef targetGUID="{f(CODE_A)}"/>
        </Coding>
      </PlainTextSelection>
      <VariableValue><VariableRef targetGUID="{f(VAR)}"/><TextValue>GP</TextValue></VariableValue>
    </TextSource>
    <TextSource guid="{f(SRC_2)}" name="Interview 2" plainTextPath="internal://{SRC_2}.txt">
      <PlainTextSelection guid="E0000000-0000-4000-8000-000000000003" startPosition="0" endPosition="7">
        <Coding guid="E0000000-0000-4000-8000-000000000004"><CodeRef targetGUID="{f(CODE_B)}"/></Coding>
      </PlainTextSelection>
    </TextSource>
  </Sources>
  <Sets>
    <Set guid="{f(SET_1)}" name="Trust North"><Description>Documents of the trust</Description>
      <MemberSource targetGUID="{f(SRC_1)}"/><MemberSource targetGUID="{f(SRC_2)}"/>
    </Set>
  </Sets>
</Project>""".encode()


def maxqda_zip(qde: bytes) -> bytes:
    return make_zip({"project.qde": qde, f"sources/{SRC_1}.txt": TEXT_1.encode(),
                     f"sources/{SRC_2}.txt": TEXT_2.encode()})


# The shape ATLAS.ti 23 exports (codes only; upper-case GUIDs, a schema location it never loads).
ATLAS_LIKE = b"""<?xml version="1.0" encoding="utf-8"?>
<Project xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
  xsi:schemaLocation="urn:QDA-XML:project:1.0 http://schema.qdasoftware.org/versions/Project/v1.0/Project.xsd"
  origin="ATLAS.ti for Windows 23.2.3.27778" name="target-atlas-project"
  creatingUserGUID="088B08AC-D5CD-4ADB-8B71-B4F3459C177F" creationDateTime="2023-08-16T15:49:36Z"
  xmlns="urn:QDA-XML:project:1.0">
  <Users><User guid="088B08AC-D5CD-4ADB-8B71-B4F3459C177F" name="Coder" /></Users>
  <CodeBook><Codes>
    <Code guid="A182CD3A-D83C-4D8C-BC80-26D9103EC6D6" name="Commits" isCodable="true">
      <Code guid="2D2466F0-D77F-4F8C-BDF9-628966B6B74D" name="First" isCodable="true" />
    </Code>
  </Codes></CodeBook>
</Project>"""


def test_vendored_schemas_carry_their_licence() -> None:
    assert sorted(p.name for p in XSD_DIR.iterdir()) == ["Codebook.xsd", "LICENSE", "Project.xsd"]
    licence = (XSD_DIR / "LICENSE").read_text()
    assert "MIT License" in licence and "Copyright 2019 REFI-QDA www.qdasoftware.org." in licence
    assert "This specification is licensed under the MIT license." in (XSD_DIR / "Project.xsd").read_text()


@pytest.mark.parametrize("form", ["{}", "{{{}}}"], ids=["upper-case", "braced upper-case"])
def test_a_schema_valid_real_tool_export_passes_strict_with_no_note(form: str) -> None:
    qde = maxqda_like(form)
    assert schema_errors(SafeET.fromstring(qde), "project", "trusts.qdpx") == []
    project = read_qdpx(maxqda_zip(qde), "trusts.qdpx", strict=True)
    assert project.notes == ()
    assert project == read_qdpx(maxqda_zip(qde), "trusts.qdpx")
    assert project.codes["guid"].to_list() == [CODE_A.lower(), CODE_B.lower()]
    assert project.selections.select("text", "code_guid").rows() == [
        ("GP lead", CODE_A.lower()), ("No time", CODE_B.lower()),
    ]
    assert project.source_variables.rows() == [(SRC_1.lower(), "participant_role", "GP")]
    assert project.sets.rows() == [(SET_1.lower(), "Trust North", "Documents of the trust")]
    assert project.set_members.rows() == [
        (SET_1.lower(), SRC_1.lower(), "source"), (SET_1.lower(), SRC_2.lower(), "source"),
    ]


def test_atlas_like_export_passes_strict_with_no_note() -> None:
    project = read_project_xml(ATLAS_LIKE, "atlas.qde", strict=True)
    assert project.notes == ()
    assert project.codes["path"].to_list() == ["Commits", "Commits/First"]
    assert project.users.rows() == [("088b08ac-d5cd-4adb-8b71-b4f3459c177f", "Coder")]


def test_an_invalid_project_fails_strict_naming_each_xpath() -> None:
    qde = (
        maxqda_like()
        .replace(b'color="#0080ff"', b'color="0080ff"')
        .replace(b' typeOfVariable="Text"', b"")
        .replace(b"<Coding guid=\"E0000000-0000-4000-8000-000000000004\">", b"<Coding>")
        .replace(b"<Sets>", b"<Sets><Unknown/>")
        .replace(b'<Set guid=', b'<Set colour="red" guid=')
    )
    with pytest.raises(InputErrors) as caught:
        read_qdpx(maxqda_zip(qde), "trusts.qdpx", strict=True)
    rule = "must be valid against the REFI-QDA schema Project.xsd"
    assert [(e.file, e.place, e.rule) for e in caught.value.errors] == [
        ("trusts.qdpx", "project.qde: /Project/CodeBook/Codes/Code/Code/@color", rule),
        ("trusts.qdpx", "project.qde: /Project/Variables/Variable/@typeOfVariable", rule),
        ("trusts.qdpx", "project.qde: /Project/Sources/TextSource[2]/PlainTextSelection/Coding/@guid", rule),
        ("trusts.qdpx", "project.qde: /Project/Sets/Set/@colour", rule),
        ("trusts.qdpx", "project.qde: /Project/Sets", rule),
    ]
    details = [e.detail for e in caught.value.errors]
    assert details[0].startswith("attribute color='0080ff': value doesn't match any pattern of ")
    assert details[1] == "missing required attribute 'typeOfVariable'"
    assert details[2] == "missing required attribute 'guid'"
    assert details[3] == "'colour' attribute not allowed for element"
    assert details[4] == "Unexpected child with tag 'Unknown' at position 1. Tag 'Set' expected."
    assert str(caught.value).startswith(
        "5 problem(s) in input:\n  - trusts.qdpx: project.qde: /Project/CodeBook/Codes/Code/Code/@color: "
        "must be valid against the REFI-QDA schema Project.xsd (attribute color='0080ff'"
    )


def test_a_guid_of_the_wrong_shape_is_a_deviation_in_both_modes() -> None:
    qde = maxqda_like().replace(CODE_B.encode(), b"5A0B7E8C1F2D4C3B9A8E7D6C5B4A3F22X")
    project = read_qdpx(maxqda_zip(qde), "trusts.qdpx")
    assert project.notes[0].startswith(
        "tolerated 2 times: GUIDs must be 8-4-4-4-12 hexadecimal - first at project.qde: "
        "/Project/CodeBook/Codes/Code[1]/Code[1] (guid=5A0B7E8C1F2D4C3B9A8E7D6C5B4A3F22X) @guid"
    )
    with pytest.raises(InputErrors) as caught:
        read_qdpx(maxqda_zip(qde), "trusts.qdpx", strict=True)
    assert [e.place for e in caught.value.errors] == [
        "project.qde: /Project/CodeBook/Codes/Code/Code/@guid",
        "project.qde: /Project/Sources/TextSource[2]/PlainTextSelection/Coding/CodeRef/@targetGUID",
    ]


# Each deviation the lenient reader accepts: (edit of the valid export, the note's rule, the
# XPath-like place it names). Strict mode refuses every one of them.
DEVIATIONS = [
    (lambda q: q.replace(f'<User guid="{USER}"'.encode(), f'<User guid="{USER.replace("-", "")}"'.encode()),
     "GUIDs must be 8-4-4-4-12 hexadecimal, with or without braces",
     f"project.qde: /Project/Users/User[1] (guid={USER.replace('-', '')}) @guid ('{USER.replace('-', '')}' "
     f"read as '{USER.lower()}')"),
    (lambda q: q.replace(b'xmlns="urn:QDA-XML:project:1.0" ', b""),
     "elements must be in namespace 'urn:QDA-XML:project:1.0'", "project.qde: <Project> element"),
    (lambda q: q.replace(b'xmlns="urn:QDA-XML:project:1.0" ', b'xmlns="urn:QDA-XML:project:1:0" '),
     "elements must be in namespace 'urn:QDA-XML:project:1.0'", "project.qde: <Project> element"),
    (lambda q: q.replace(b'name="Trusts" ', b""),
     "<Project> needs a name attribute", "project.qde: /Project"),
    (lambda q: q.replace(b'name="Lack of time" isCodable="true"', b'name="Lack of time"'),
     "<Code> needs an isCodable attribute", f"project.qde: /Project/CodeBook/Codes/Code[1]/Code[1] (guid={CODE_B})"),
    (lambda q: q.replace(b'name="Lack of time" isCodable="true"', b'name="Lack of time" isCodable="yes"'),
     "isCodable must be true, false, 1 or 0", f"project.qde: /Project/CodeBook/Codes/Code[1]/Code[1] (guid={CODE_B})"),
    (lambda q: q.replace(b'color="#0080ff"', b'color="0080ff"'),
     "color must be #RRGGBB or #RGB", f"project.qde: /Project/CodeBook/Codes/Code[1]/Code[1] (guid={CODE_B})"),
    (lambda q: q.replace(b' typeOfVariable="Text"', b""),
     "<Variable> needs a typeOfVariable attribute", f"project.qde: /Project/Variables/Variable[1] (guid={VAR})"),
    (lambda q: q.replace(b'<Coding guid="E0000000-0000-4000-8000-000000000004">', b"<Coding>"),
     "<Coding> needs a guid attribute",
     "project.qde: /Project/Sources/TextSource[2]/PlainTextSelection[1]/Coding[1] "
     "(selection guid=E0000000-0000-4000-8000-000000000003)"),
    (lambda q: q.replace(f'plainTextPath="internal://{SRC_2}.txt"'.encode(), f'plainTextPath="{SRC_2}.txt"'.encode()),
     "plainTextPath must start with internal://", f"project.qde: /Project/Sources/TextSource[2] (guid={SRC_2})"),
    (lambda q: q.replace(f'plainTextPath="internal://{SRC_2}.txt">'.encode(),
                         f'plainTextPath="internal://{SRC_2}.txt"><PlainTextContent>x</PlainTextContent>'.encode()),
     "a TextSource must have plainTextPath or PlainTextContent, not both",
     f"project.qde: /Project/Sources/TextSource[2] (guid={SRC_2})"),
    (lambda q: q.replace(b' name="Trust North"', b""),
     "<Set> needs a name attribute", f"project.qde: /Project/Sets/Set[1] (guid={SET_1})"),
    (lambda q: q.replace(f'<Coding guid="E0000000-0000-4000-8000-000000000002" creatingUser="{USER}"'.encode(),
                         b'<Coding guid="E0000000-0000-4000-8000-000000000002" '
                         b'creatingUser="0D9E8F7A-6B5C-4D3E-8F2A-1B0C9D8E7F61"'),
     "creatingUser must name a User under Project/Users",
     "project.qde: /Project/Sources/TextSource[1]/PlainTextSelection[1]/Coding[1] "
     "(selection guid=E0000000-0000-4000-8000-000000000001)"),
]


@pytest.mark.parametrize("edit, rule, place", DEVIATIONS, ids=[d[1][:40] for d in DEVIATIONS])
def test_each_tolerated_deviation_is_one_note_and_fails_strict(edit, rule: str, place: str) -> None:  # type: ignore[no-untyped-def]
    data = maxqda_zip(edit(maxqda_like()))
    project = read_qdpx(data, "trusts.qdpx")
    assert len(project.notes) == 1, project.notes
    assert project.notes[0].startswith(f"tolerated: {rule} - at {place}")
    assert project.selections.height == 2
    with pytest.raises(InputErrors):
        read_qdpx(data, "trusts.qdpx", strict=True)


def test_a_source_file_that_is_not_utf8_is_tolerated_as_cp1252() -> None:
    data = make_zip({"project.qde": maxqda_like(), f"sources/{SRC_1}.txt": TEXT_1.encode(),
                     f"sources/{SRC_2}.txt": "No time – café".encode("cp1252")})
    project = read_qdpx(data, "trusts.qdpx")
    assert project.sources.filter(name="Interview 2")["text"].to_list() == ["No time – café"]
    assert project.notes[0].startswith("tolerated: source text must be UTF-8 - at project.qde: /Project/Sources/")
    with pytest.raises(InputErrors, match="source text must be UTF-8"):
        read_qdpx(data, "trusts.qdpx", strict=True)


def test_project_file_under_another_name_is_tolerated() -> None:
    data = make_zip({"Trusts.qde": maxqda_like(), f"sources/{SRC_1}.txt": TEXT_1.encode(),
                     f"sources/{SRC_2}.txt": TEXT_2.encode()})
    assert read_qdpx(data, "trusts.qdpx").notes == (
        "tolerated: the project file must be project.qde at the top of the zip - at zip archive "
        "(used 'Trusts.qde')",
    )


def test_a_set_member_that_names_no_source_is_an_error() -> None:
    qde = maxqda_like().replace(f'<MemberSource targetGUID="{SRC_2}"/>'.encode(),
                                b'<MemberSource targetGUID="C1D2E3F4-A5B6-4C7D-8E9F-0A1B2C3D4E59"/>')
    with pytest.raises(InputError) as caught:
        read_qdpx(maxqda_zip(qde), "trusts.qdpx")
    assert caught.value.place == f"project.qde: /Project/Sets/Set[1]/MemberSource[2] (set guid={SET_1})"
    assert caught.value.rule == "MemberSource must target a source in the project"
    assert caught.value.detail == "set 'Trust North': unknown source guid c1d2e3f4-a5b6-4c7d-8e9f-0a1b2c3d4e59"


def test_absurd_nesting_is_refused_before_schema_validation() -> None:
    deep = b"".join(
        f'<Code guid="00000000-0000-4000-8000-{i:012d}" name="c{i}" isCodable="true">'.encode() for i in range(80)
    ) + b"</Code>" * 80
    qde = maxqda_like().replace(b"<CodeBook><Codes>", b"<CodeBook><Codes>" + deep)
    with pytest.raises(InputError, match="elements must not be nested more than 72 levels deep"):
        read_qdpx(maxqda_zip(qde), "trusts.qdpx", strict=True)
