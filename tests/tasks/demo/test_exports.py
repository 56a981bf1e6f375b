"""Tests for tasks.demo.exports: written Qualtrics and REDCap files read back unchanged."""

from __future__ import annotations

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from tasks.demo.exports import (
    QualtricsColumn,
    RedcapField,
    write_qualtrics_csv,
    write_redcap_csv,
    write_redcap_dictionary,
)
from tasks.ingest.qualtrics import read_qualtrics_csv
from tasks.ingest.redcap import read_redcap_csv, read_redcap_dictionary
from tasks.ingest.survey_export import unique_column_names
from tests.tasks.ingest.survey_samples import column_row

# --- Qualtrics: writer round trip -----------------------------------------------------------

TRICKY_TEXT = 'Line one\nline two, with a comma and a "quote"'

ROUND_TRIP_COLUMNS = [
    QualtricsColumn("StartDate", "Start Date", "startDate", {"timeZone": "Europe/Berlin"}),
    QualtricsColumn("Status", "Response Type", "status"),
    QualtricsColumn("ResponseId", "Response ID", "_recordId"),
    QualtricsColumn("Q5", TRICKY_TEXT, "QID5"),
    QualtricsColumn("Q5", "Wie zufrieden sind Sie? (Ärger, Größe)", "QID6"),
    QualtricsColumn("Q7_QID9", "A tag that happens to look like a rename", "QID7"),
    QualtricsColumn("Q7", "Seven", "QID8"),
    QualtricsColumn("Q7", "Seven again", "QID9", {"choiceId": "2"}),
    QualtricsColumn("Q5", "Third use of the tag", "QID6"),
    QualtricsColumn("Q6", None, "QID8_TEXT"),
]
ROUND_TRIP_NAMES = [
    "StartDate",
    "Status",
    "ResponseId",
    "Q5",
    "Q5_QID6",
    "Q7_QID9",
    "Q7",
    "Q7_2",
    "Q5_2",
    "Q6",
]
ROUND_TRIP_ROWS = pl.DataFrame(
    {
        "StartDate": ["2024-03-01 09:00:00", "2024-03-02 10:30:00", "2024-03-03 11:00:00"],
        "Status": ["0", "1", "8"],
        "ResponseId": ["R_a", "R_b", "R_c"],
        "Q5": ["3", None, "1"],
        "Q5_QID6": ["Sehr zufrieden – „gut“", "a,b", None],
        "Q7_QID9": ["x", "y", "z"],
        "Q7": ["1", "2", "3"],
        "Q7_2": [None, "2", None],
        "Q5_2": ["€", None, "¿qué?"],
        "Q6": [TRICKY_TEXT, "Großartig!\nZweite Zeile", " leading and trailing spaces "],
    },
    schema={name: pl.String for name in ROUND_TRIP_NAMES},
)


def test_duplicate_tags_are_renamed_and_noted() -> None:
    written = write_qualtrics_csv(ROUND_TRIP_COLUMNS, ROUND_TRIP_ROWS)
    export = read_qualtrics_csv(written, "wave1.csv")
    assert export.data.columns == ROUND_TRIP_NAMES
    assert export.columns["export_tag"].to_list() == [c.export_tag for c in ROUND_TRIP_COLUMNS]
    assert [n for n in export.notes if n.startswith("renamed")] == [
        "renamed repeated column name 'Q5' in column 5 to 'Q5_QID6'",
        "renamed repeated column name 'Q7' in column 8 to 'Q7_2'",
        "renamed repeated column name 'Q5' in column 9 to 'Q5_2'",
    ]


@pytest.mark.parametrize(
    ("encoding", "bom", "crlf"),
    [
        ("utf-8", False, True),
        ("utf-8", True, False),
        ("cp1252", True, True),
        ("cp1252", False, False),
    ],
)
def test_qualtrics_round_trip(encoding: str, bom: bool, crlf: bool) -> None:
    written = write_qualtrics_csv(
        ROUND_TRIP_COLUMNS, ROUND_TRIP_ROWS, encoding=encoding, bom=bom, crlf=crlf
    )
    assert written == write_qualtrics_csv(
        ROUND_TRIP_COLUMNS, ROUND_TRIP_ROWS, encoding=encoding, bom=bom, crlf=crlf
    )
    assert written.startswith(b"\xef\xbb\xbf") is bom
    assert (b"\r\n" in written) is crlf
    export = read_qualtrics_csv(written, "wave.csv")
    assert_frame_equal(export.data, ROUND_TRIP_ROWS)
    q5 = column_row(export.columns, "Q5")
    assert q5["question_text"] == TRICKY_TEXT
    assert column_row(export.columns, "Q6")["question_text"] is None
    assert column_row(export.columns, "StartDate")["import_extra"] == '{"timeZone":"Europe/Berlin"}'
    assert column_row(export.columns, "Q7_2")["import_extra"] == '{"choiceId":"2"}'
    assert ("converted from Windows-1252 (cp1252) to UTF-8" in export.notes) is (
        encoding == "cp1252"
    )
    # The columns table is enough to write the same file again.
    assert (
        write_qualtrics_csv(export.columns, export.data, encoding=encoding, bom=bom, crlf=crlf)
        == written
    )


_text = st.text(
    alphabet=st.characters(codec="utf-8", exclude_characters="\r\x00"),
    max_size=20,
)


@st.composite
def qualtrics_tables(draw: st.DrawFn) -> tuple[list[QualtricsColumn], pl.DataFrame]:
    tags = draw(
        st.lists(st.sampled_from(["Q1", "Q2", "Q1_QID2", "Q1_2", "Q 3"]), min_size=1, max_size=6)
    )
    columns = [
        QualtricsColumn(tag, draw(st.none() | _text.filter(bool)), f"QID{draw(st.integers(1, 3))}")
        for tag in tags
    ]
    names, _ = unique_column_names(tags, [c.import_id for c in columns])
    n_rows = draw(st.integers(0, 4))
    cell = st.none() | _text.filter(bool)
    rows = [[draw(cell) for _ in names] for _ in range(n_rows)]
    rows = [r for r in rows if any(v is not None and v.strip() for v in r)]
    frame = pl.DataFrame(
        {name: [r[k] for r in rows] for k, name in enumerate(names)},
        schema={name: pl.String for name in names},
    )
    return columns, frame


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(qualtrics_tables(), st.booleans(), st.booleans())
def test_qualtrics_round_trip_property(
    table: tuple[list[QualtricsColumn], pl.DataFrame], bom: bool, crlf: bool
) -> None:
    columns, rows = table
    export = read_qualtrics_csv(write_qualtrics_csv(columns, rows, bom=bom, crlf=crlf), "p.csv")
    assert_frame_equal(export.data, rows)
    assert export.columns["question_text"].to_list() == [c.question_text for c in columns]
    assert export.columns["import_id"].to_list() == [c.import_id for c in columns]


def test_writer_refuses_what_cannot_round_trip() -> None:
    with pytest.raises(ValueError, match="rows must have the columns"):
        write_qualtrics_csv(ROUND_TRIP_COLUMNS, ROUND_TRIP_ROWS.drop("Q6"))
    empty_row = pl.DataFrame({"Q1": [None]}, schema={"Q1": pl.String})
    with pytest.raises(ValueError, match="row 1 is entirely empty"):
        write_qualtrics_csv([QualtricsColumn("Q1", "q", "QID1")], empty_row)
    with pytest.raises(ValueError, match="carriage return"):
        write_qualtrics_csv([QualtricsColumn("Q1", "q", "QID1")], pl.DataFrame({"Q1": ["a\r\nb"]}))
    with pytest.raises(ValueError, match="cannot be written as cp1252"):
        write_qualtrics_csv(
            [QualtricsColumn("Q1", "q", "QID1")], pl.DataFrame({"Q1": ["日本"]}), encoding="cp1252"
        )


# --- REDCap: writer round trip --------------------------------------------------------------


def test_written_dictionary_round_trips_and_marks_identifiers() -> None:
    fields = [
        RedcapField("record_id", "intake", "text", "Record ID"),
        RedcapField("contact", "intake", "text", "How can we reach you?", text_validation="email"),
        RedcapField("initials", "intake", "text", "Initials", identifier=True),
        RedcapField("agree", "intake", "radio", "Agree?", (("1", "Yes, definitely"), ("0", "No"))),
        RedcapField("tools", "intake", "checkbox", "Tools used", (("A", "Alpha"), ("b2", "Beta"))),
        RedcapField("ok", "intake", "yesno", "OK?"),
    ]
    dictionary = write_redcap_dictionary(fields)
    assert dictionary.startswith(
        b"Variable / Field Name,Form Name,Section Header,Field Type,Field Label,"
    )
    parsed = read_redcap_dictionary(dictionary, "dict.csv")
    assert parsed.choices.rows() == [
        ("agree", "1", "Yes, definitely"),
        ("agree", "0", "No"),
        ("tools", "A", "Alpha"),
        ("tools", "b2", "Beta"),
        ("ok", "1", "Yes"),
        ("ok", "0", "No"),
    ]
    data = write_redcap_csv(
        pl.DataFrame(
            {
                "record_id": ["1"],
                "contact": ["x@example.org"],
                "initials": ["AB"],
                "agree": ["1"],
                "tools___a": ["1"],
                "tools___b2": ["0"],
                "ok": ["1"],
                "intake_complete": ["1"],
            }
        ),
        crlf=True,
        bom=True,
    )
    export = read_redcap_csv(data, "intake.csv", dictionary, "dict.csv")
    assert export.identifying_columns == ["contact", "initials"]
    # REDCap lower-cases letter codes in column names; the dictionary's own code is kept.
    assert column_row(export.columns, "tools___a")["choice"] == "A"
    assert export.notes[:2] == (
        "removed a UTF-8 byte-order mark",
        "converted CRLF/CR line endings to LF",
    )
