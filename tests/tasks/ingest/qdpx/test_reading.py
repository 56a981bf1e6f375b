"""Tests for tasks.ingest.qdpx.reading: lenient and strict reading of .qdpx, project.qde and .qdc."""

from __future__ import annotations

import polars as pl
import pytest

from tasks.ingest.errors import InputError, InputErrors
from tasks.ingest.qdpx import (
    CODES_SCHEMA,
    read_project_xml,
    read_qdc,
    read_qdc_with_notes,
    read_qdpx,
)
from tests.tasks.ingest.qdpx.samples import (
    C1,
    CATEGORY,
    LEAF,
    OTHER,
    S1,
    THEME,
    g,
    make_zip,
    qde,
    selection,
    text_source,
)

LENIENT_QDE = """<?xml version="1.0" encoding="utf-8"?>
<Project origin="OtherTool" name="Messy export">
  <Users>
    <User name="Ana" guid="{AAAAAAAA-0000-4000-8000-000000000001}"/>
  </Users>
  <CodeBook><Codes>
    <Code color="#FF0000" isCodable="false" name="Emotions" guid="{BBBBBBBB-0000-4000-8000-000000000001}">
      <Description>Feelings</Description>
      <Code name="Joy" guid="BBBBBBBB-0000-4000-8000-000000000002" isCodable="1"/>
    </Code>
  </Codes></CodeBook>
  <Variables>
    <Variable guid="cccccccc-0000-4000-8000-000000000001" name="Age" typeOfVariable="Integer"/>
  </Variables>
  <Cases>
    <Case guid="dddddddd-0000-4000-8000-000000000001" name="P1">
      <VariableValue>
        <VariableRef targetGUID="CCCCCCCC-0000-4000-8000-000000000001"/>
        <IntegerValue> 34 </IntegerValue>
      </VariableValue>
      <SourceRef targetGUID="{EEEEEEEE-0000-4000-8000-000000000001}"/>
    </Case>
  </Cases>
  <Sources>
    <TextSource name="Interview 1" guid="{EEEEEEEE-0000-4000-8000-000000000001}">
      <PlainTextContent>I felt joy today.</PlainTextContent>
      <PlainTextSelection endPosition="10" startPosition="7" guid="{FFFFFFFF-0000-4000-8000-000000000001}"
          creatingUser="{AAAAAAAA-0000-4000-8000-000000000001}">
        <Coding guid="99999999-0000-4000-8000-000000000001">
          <CodeRef targetGUID="{BBBBBBBB-0000-4000-8000-000000000002}"/>
        </Coding>
      </PlainTextSelection>
      <PlainTextSelection guid="ffffffff-0000-4000-8000-000000000002" startPosition="0" endPosition="1"/>
    </TextSource>
  </Sources>
</Project>
"""


def test_lenient_reading_normalises_and_notes_deviations() -> None:
    project = read_qdpx(make_zip({"project.qde": LENIENT_QDE.encode()}), "messy.qdpx")
    assert project.name == "Messy export"
    assert project.users.rows() == [("aaaaaaaa-0000-4000-8000-000000000001", "Ana")]
    codes = project.codes.sort("depth")
    assert codes["guid"].to_list() == [
        "bbbbbbbb-0000-4000-8000-000000000001",
        "bbbbbbbb-0000-4000-8000-000000000002",
    ]
    assert codes["is_codable"].to_list() == [False, True]
    assert codes["path"].to_list() == ["Emotions", "Emotions/Joy"]
    assert codes["description"].to_list() == ["Feelings", None]
    assert codes["color"].to_list() == ["#FF0000", None]
    assert project.sources.rows() == [
        ("eeeeeeee-0000-4000-8000-000000000001", "Interview 1", "I felt joy today.", None)
    ]
    assert project.selections.rows() == [
        (
            "ffffffff-0000-4000-8000-000000000001",
            "eeeeeeee-0000-4000-8000-000000000001",
            7,
            10,
            "bbbbbbbb-0000-4000-8000-000000000002",
            "aaaaaaaa-0000-4000-8000-000000000001",
            "joy",
        )
    ]
    assert project.case_variables.rows() == [("dddddddd-0000-4000-8000-000000000001", "Age", "34")]
    assert project.case_sources.rows() == [
        ("dddddddd-0000-4000-8000-000000000001", "eeeeeeee-0000-4000-8000-000000000001")
    ]
    # Upper-case and braced GUIDs are valid REFI-QDA (Project.xsd's GUIDType): no note for them.
    assert project.notes == (
        "tolerated: elements must be in namespace 'urn:QDA-XML:project:1.0' - at "
        "project.qde: <Project> element (found no namespace)",
        "1 selections without a Coding (skipped)",
    )


def test_strict_reading_judges_by_the_schema() -> None:
    # Without its namespace the document is no REFI-QDA project: the schema knows no <Project>.
    with pytest.raises(InputErrors) as caught:
        read_qdpx(make_zip({"project.qde": LENIENT_QDE.encode()}), "messy.qdpx", strict=True)
    (error,) = caught.value.errors
    assert (error.file, error.place) == ("messy.qdpx", "project.qde: /Project")
    assert error.rule == "must be valid against the REFI-QDA schema Project.xsd"
    assert error.detail == "'Project' is not an element of the schema"
    # With it, the same upper-case and braced GUIDs are valid and read without a note.
    xml = LENIENT_QDE.replace("<Project ", '<Project xmlns="urn:QDA-XML:project:1.0" ').replace(
        '<PlainTextSelection guid="ffffffff-0000-4000-8000-000000000002" startPosition="0" endPosition="1"/>', ""
    )
    project = read_qdpx(make_zip({"project.qde": xml.encode()}), "messy.qdpx", strict=True)
    assert project.notes == ()
    assert project.selections["code_guid"].to_list() == ["bbbbbbbb-0000-4000-8000-000000000002"]


def test_strict_accepts_the_writers_own_output_and_typos_in_namespace_are_deviations() -> None:
    xml = LENIENT_QDE.replace("<Project ", '<Project xmlns="urn:QDA-XML:project:1:0" ')
    project = read_project_xml(xml.encode(), "typo.qde")
    assert project.notes[0] == (
        "tolerated: elements must be in namespace 'urn:QDA-XML:project:1.0' - at "
        "<Project> element (found 'urn:QDA-XML:project:1:0')"
    )


def test_is_codable_spellings() -> None:
    xml = f"""<Project xmlns="urn:QDA-XML:project:1.0" name="p"><CodeBook><Codes>
      <Code guid="{g(1)}" name="a" isCodable="True"/>
      <Code guid="{g(2)}" name="b" isCodable="0"/>
      <Code guid="{g(3)}" name="c"/>
    </Codes></CodeBook></Project>"""
    project = read_project_xml(xml.encode(), "p.qde")
    assert project.codes["is_codable"].to_list() == [True, False, True]
    assert project.notes == (
        "tolerated: isCodable must be true, false, 1 or 0 - at /Project/CodeBook/Codes/Code[1] "
        f"(guid={g(1)}) (read 'True' as true)",
        "tolerated: <Code> needs an isCodable attribute - at /Project/CodeBook/Codes/Code[3] "
        f"(guid={g(3)}) (read as true)",
    )
    with pytest.raises(InputError, match=r"isCodable must be true, false, 1 or 0 \(got 'maybe'\)"):
        read_project_xml(xml.replace('"True"', '"maybe"').encode(), "p.qde")


def test_unknown_code_guid_is_an_error() -> None:
    data = make_zip({"project.qde": qde(text_source(selection(0, 5, code=g(99))))})
    with pytest.raises(InputError) as caught:
        read_qdpx(data, "p.qdpx")
    assert str(caught.value) == (
        "p.qdpx: project.qde: /Project/Sources/TextSource[1]/PlainTextSelection[1]/Coding[1]/CodeRef "
        f"(selection guid={g(41)}): CodeRef must target a code in the CodeBook "
        f"(selection guid={g(41)}, source 'Interview 1': unknown code guid {g(99)})"
    )


def test_selection_past_the_end_is_an_error() -> None:
    data = make_zip({"project.qde": qde(text_source(selection(6, 12)))})
    with pytest.raises(
        InputError,
        match=rf"a selection must end within its source text \(selection guid={g(41)}, "
        r"source 'Interview 1': endPosition=12 but the text has 11 characters\)",
    ):
        read_qdpx(data, "p.qdpx")


def test_selection_start_after_end_and_several_errors_together() -> None:
    body = selection(5, 3) + selection(0, 2, code=g(98), guid=g(42))
    with pytest.raises(InputErrors) as caught:
        read_project_xml(qde(text_source(body)), "p.qde")
    assert [e.rule for e in caught.value.errors] == [
        "a selection must not start after it ends",
        "CodeRef must target a code in the CodeBook",
    ]
    assert caught.value.errors[0].detail == (
        f"selection guid={g(41)}, source 'Interview 1': startPosition=5 > endPosition=3"
    )


def test_source_text_from_zip_uses_character_offsets() -> None:
    text = "Zoë:\nnaïve café"
    data = make_zip(
        {
            "project.qde": qde(
                text_source(selection(11, 15), path=f"internal://{S1}.txt", text=None)
            ),
            f"sources/{S1}.txt": text.encode("utf-8"),
        }
    )
    project = read_qdpx(data, "p.qdpx", strict=True)
    assert project.sources["plain_text_path"].to_list() == [f"sources/{S1}.txt"]
    assert project.selections["text"].to_list() == ["café"]


def test_plain_text_path_to_a_missing_member() -> None:
    data = make_zip({"project.qde": qde(text_source("", path="internal://gone.txt", text=None))})
    with pytest.raises(
        InputError,
        match=r"plainTextPath must point at a file in the zip \(plainTextPath='internal://gone.txt': "
        r"no zip member 'sources/gone.txt'\)",
    ):
        read_qdpx(data, "p.qdpx")


def test_plain_text_path_outside_the_archive() -> None:
    data = make_zip({"project.qde": qde(text_source("", path="relative://a.txt", text=None))})
    with pytest.raises(InputError, match=r"only internal:// source paths can be read from a .qdpx"):
        read_qdpx(data, "p.qdpx")
    sneaky = make_zip(
        {"project.qde": qde(text_source("", path="internal://../project.qde", text=None))}
    )
    with pytest.raises(
        InputError, match=r"must stay inside the archive's sources folder \(path traversal\)"
    ):
        read_qdpx(sneaky, "p.qdpx")


def test_non_utf8_source_text() -> None:
    data = make_zip(
        {
            "project.qde": qde(
                text_source(selection(0, 4), path=f"internal://{S1}.txt", text=None)
            ),
            f"sources/{S1}.txt": "Café au lait".encode("cp1252"),
        }
    )
    with pytest.raises(InputErrors) as caught:
        read_qdpx(data, "p.qdpx", strict=True)
    (error,) = caught.value.errors
    assert error.rule == "source text must be UTF-8"
    assert error.place == (
        f"project.qde: /Project/Sources/TextSource[1] (guid={S1}) sources/{S1}.txt, line 1, byte 3"
    )
    lenient = read_qdpx(data, "p.qdpx")
    assert lenient.sources["text"].to_list() == ["Café au lait"]
    assert lenient.selections["text"].to_list() == ["Café"]
    assert lenient.notes[0].startswith("tolerated: source text must be UTF-8 - at ")


def test_missing_project_qde() -> None:
    with pytest.raises(
        InputError, match=r"a .qdpx must contain project.qde \(found: sources/a.txt\)"
    ):
        read_qdpx(make_zip({"sources/a.txt": b"hi"}), "p.qdpx")


def test_project_file_with_another_name_is_tolerated() -> None:
    data = make_zip({"Study.qde": qde(text_source(selection(0, 5)))})
    project = read_qdpx(data, "p.qdpx")
    assert project.selections["text"].to_list() == ["Hello"]
    assert project.notes[0] == (
        "tolerated: the project file must be project.qde at the top of the zip - at zip archive "
        "(used 'Study.qde')"
    )


def test_xml_parse_error_names_line_and_column() -> None:
    data = make_zip(
        {"project.qde": b'<?xml version="1.0"?>\n<Project name="x">\n  <Users>\n</Project>'}
    )
    with pytest.raises(
        InputError,
        match=r"^p.qdpx: project.qde: line 4, column 3: XML must be well-formed \(mismatched tag\)$",
    ):
        read_qdpx(data, "p.qdpx")


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<Project xmlns="urn:QDA-XML:project:1.0" name="&lol9;"/>
"""


def test_billion_laughs_is_refused() -> None:
    with pytest.raises(
        InputError,
        match=r"^bomb.qdpx: project.qde: XML prolog: XML must not declare entities or load external "
        r"resources \(refused as unsafe\) \(DTDForbidden\)$",
    ):
        read_qdpx(make_zip({"project.qde": BILLION_LAUGHS}), "bomb.qdpx")
    bomb_codebook = BILLION_LAUGHS.replace(b"<Project", b"<CodeBook").replace(
        b'xmlns="urn:QDA-XML:project:1.0" name="&lol9;"', b'origin="&lol9;"'
    )
    with pytest.raises(InputError, match=r"XML must not declare entities"):
        read_qdc(bomb_codebook, "bomb.qdc")


def test_unknown_variable_and_case_source_references() -> None:
    xml = f"""<Project xmlns="urn:QDA-XML:project:1.0" name="p">
      <Cases><Case guid="{C1}" name="A">
        <VariableValue><VariableRef targetGUID="{g(77)}"/><TextValue>x</TextValue></VariableValue>
        <SourceRef targetGUID="{g(78)}"/>
      </Case></Cases></Project>"""
    with pytest.raises(InputErrors) as caught:
        read_project_xml(xml.encode(), "p.qde")
    assert [(e.rule, e.detail) for e in caught.value.errors] == [
        (
            "VariableRef must target a Variable defined under Project/Variables",
            f"unknown variable guid {g(77)}",
        ),
        ("SourceRef must target a source under Project/Sources", f"unknown source guid {g(78)}"),
    ]


def test_non_text_sources_are_skipped_with_a_note() -> None:
    xml = f"""<Project xmlns="urn:QDA-XML:project:1.0" name="p">
      <Cases><Case guid="{C1}" name="A"><SourceRef targetGUID="{g(60)}"/></Case></Cases>
      <Sources><PDFSource guid="{g(60)}" name="scan" path="internal://x.pdf"/></Sources></Project>"""
    project = read_project_xml(xml.encode(), "p.qde", strict=True)
    assert project.sources.height == 0
    assert project.notes == (
        "1 PDFSource sources (only text sources are read; skipped)",
        "1 case links to non-text sources (skipped)",
    )


QDC = f"""<?xml version="1.0" encoding="utf-8"?>
<CodeBook xmlns="urn:QDA-XML:codebook:1.0" origin="OtherTool">
  <Codes>
    <Code guid="{THEME}" name="Wellbeing" isCodable="0" color="#336699">
      <Description>Top theme</Description>
      <Code guid="{CATEGORY}" name="Stress" isCodable="1">
        <Code guid="{LEAF}" name="Workload" isCodable="true"/>
      </Code>
    </Code>
    <Code guid="{OTHER}" name="Support" isCodable="true"/>
  </Codes>
</CodeBook>
""".encode()


def test_read_qdc() -> None:
    codes = read_qdc(QDC, "book.qdc", strict=True)
    assert codes.schema == pl.Schema(CODES_SCHEMA)
    assert codes.rows() == [
        (THEME, "Wellbeing", None, False, "#336699", "Top theme", "Wellbeing", 1),
        (CATEGORY, "Stress", THEME, True, None, None, "Wellbeing/Stress", 2),
        (LEAF, "Workload", CATEGORY, True, None, None, "Wellbeing/Stress/Workload", 3),
        (OTHER, "Support", None, True, None, None, "Support", 1),
    ]


def test_qdc_braced_upper_case_guids_are_valid_and_bad_ones_are_placed_by_xpath() -> None:
    braces = QDC.replace(THEME.encode(), b"{" + THEME.upper().encode() + b"}", 1)
    lenient, notes = read_qdc_with_notes(braces, "book.qdc")
    assert lenient["guid"][0] == THEME
    assert notes == ()
    assert read_qdc(braces, "book.qdc", strict=True).equals(lenient)
    broken = QDC.replace(LEAF.encode(), b"not-a-guid", 1).replace(b'isCodable="1"', b'isCodable="yes"')
    with pytest.raises(InputErrors) as caught:
        read_qdc(broken, "book.qdc", strict=True)
    assert [(e.place, e.rule) for e in caught.value.errors] == [
        ("/CodeBook/Codes/Code[1]/Code/@isCodable", "must be valid against the REFI-QDA schema Codebook.xsd"),
        ("/CodeBook/Codes/Code[1]/Code/Code/@guid", "must be valid against the REFI-QDA schema Codebook.xsd"),
    ]
    assert caught.value.errors[0].detail == "attribute isCodable='yes': 'yes' is not a boolean value"
    _, notes = read_qdc_with_notes(broken, "book.qdc")
    assert notes == (
        "tolerated: isCodable must be true, false, 1 or 0 - at /CodeBook/Codes/Code[1]/Code[1] "
        f"(guid={CATEGORY}) (read 'yes' as true)",
        "tolerated: GUIDs must be 8-4-4-4-12 hexadecimal - at /CodeBook/Codes/Code[1]/Code[1]/Code[1] "
        "(guid=not-a-guid) @guid (got 'not-a-guid')",
    )


def test_qdc_with_a_project_root_is_refused() -> None:
    with pytest.raises(InputError, match=r"a .qdc root element must be CodeBook"):
        read_qdc(qde(""), "wrong.qdc")
