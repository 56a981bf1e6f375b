"""Survey export readers and writers against real Qualtrics/REDCap samples and written fixtures."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from tasks.ingest.errors import InputError
from tasks.ingest.qualtrics import (
    QualtricsColumn,
    qualtrics_status_label,
    read_qualtrics_csv,
    write_qualtrics_csv,
)
from tasks.ingest.redcap import (
    RedcapField,
    read_redcap_csv,
    read_redcap_dictionary,
    redcap_complete_label,
    write_redcap_csv,
    write_redcap_dictionary,
)
from tasks.ingest.survey_export import read_plain_csv, read_survey_export, unique_column_names

SAMPLES = Path(__file__).resolve().parents[3] / ".." / "shared" / "samples"
QUALTRICS_SAMPLE = SAMPLES / "qualtrics" / "qualtRics-sample.csv"
REDCAP_DATA = SAMPLES / "redcap" / "REDCapR-survey-data.csv"
REDCAP_DICTIONARY = SAMPLES / "redcap" / "REDCapR-checkboxes-dictionary.csv"

QUALTRICS_IDENTIFYING = {
    "IPAddress",
    "RecipientLastName",
    "RecipientFirstName",
    "RecipientEmail",
    "LocationLatitude",
    "LocationLongitude",
}


def column_row(columns: pl.DataFrame, column: str) -> dict[str, object]:
    return columns.filter(pl.col("column") == column).row(0, named=True)


# --- Qualtrics: the real sample -------------------------------------------------------------


@pytest.fixture(scope="module")
def qualtrics_sample() -> bytes:
    return QUALTRICS_SAMPLE.read_bytes()


def test_qualtrics_sample_shape_and_values(qualtrics_sample: bytes) -> None:
    export = read_qualtrics_csv(qualtrics_sample, "qualtRics-sample.csv")
    assert export.format == "qualtrics"
    assert export.data.shape == (1, 20)
    assert export.data.columns[:3] == ["StartDate", "EndDate", "Status"]
    assert export.data.columns[-3:] == ["Q1", "Q2", "Q2 - Topics"]
    assert set(export.data.schema.values()) == {pl.String}
    row = export.data.row(0, named=True)
    assert row["ResponseId"] == "R_2YPOQ602ER1jkf1"
    assert row["Q2"] == "Hello World!"
    assert row["Status"] == "0"
    assert qualtrics_status_label(row["Status"]) == "IP Address"
    # Empty cells are nulls, not empty strings.
    assert row["RecipientLastName"] is None
    assert row["Q2 - Topics"] is None
    assert export.notes == ()
    assert export.choices.is_empty()


def test_qualtrics_sample_header_rows(qualtrics_sample: bytes) -> None:
    columns = read_qualtrics_csv(qualtrics_sample, "qualtRics-sample.csv").columns
    assert columns["position"].to_list() == list(range(1, 21))
    assert column_row(columns, "RecipientLastName")["question_text"] == "Nachname des Empfängers"
    assert column_row(columns, "LocationLongitude")["question_text"] == "Längengrad des Standorts"
    assert column_row(columns, "Q1")["question_text"] == "This is a multiple choice question."
    assert column_row(columns, "Q1")["import_id"] == "QID1"
    topics = column_row(columns, "Q2 - Topics")
    assert topics["import_id"] == "QID2_TEXT_eae5a8d0e7fd4bd183e983e5Topics"
    assert topics["export_tag"] == "Q2 - Topics"
    assert column_row(columns, "ResponseId")["import_id"] == "_recordId"
    assert columns["field"].null_count() == 20
    assert columns["choice"].null_count() == 20


def test_qualtrics_sample_identifying_columns(qualtrics_sample: bytes) -> None:
    export = read_qualtrics_csv(qualtrics_sample, "qualtRics-sample.csv")
    assert column_row(export.columns, "IPAddress")["identifying"] is True
    assert set(export.identifying_columns) == QUALTRICS_IDENTIFYING
    # A pseudonymous panel link id, kept so waves can be joined.
    assert column_row(export.columns, "ExternalReference")["identifying"] is False
    public = export.deidentified()
    assert not QUALTRICS_IDENTIFYING & set(public.columns)
    assert public.width == 14


def test_dispatcher_reads_qualtrics_like_the_reader(qualtrics_sample: bytes) -> None:
    direct = read_qualtrics_csv(qualtrics_sample, "s.csv")
    via = read_survey_export(qualtrics_sample, "s.csv", "qualtrics")
    assert_frame_equal(direct.data, via.data)
    assert_frame_equal(direct.columns, via.columns)


def test_qualtrics_sample_survives_cp1252_with_bom(qualtrics_sample: bytes) -> None:
    export = read_qualtrics_csv(qualtrics_sample, "s.csv")
    written = write_qualtrics_csv(export.columns, export.data, encoding="cp1252", bom=True)
    assert written.startswith(b"\xef\xbb\xbf")
    assert "Empfängers".encode("cp1252") in written
    again = read_qualtrics_csv(written, "wave.csv")
    assert_frame_equal(again.data, export.data)
    assert_frame_equal(again.columns, export.columns)
    assert again.notes == (
        "removed a UTF-8 byte-order mark",
        "converted from Windows-1252 (cp1252) to UTF-8",
        "converted CRLF/CR line endings to LF",
    )


@pytest.mark.parametrize(
    ("value", "label"),
    [
        ("0", "IP Address"),
        ("1", "Survey Preview"),
        ("2", "Survey Test"),
        ("4", "Imported"),
        ("8", "Spam"),
        ("16", "Offline"),
        ("17", "Offline Survey Preview"),
        (" 8 ", "Spam"),
        ("IP Address", "IP Address"),
        ("survey preview", "Survey Preview"),
        ("Spam", "Spam"),
        ("99", "99"),
    ],
)
def test_qualtrics_status_label(value: str, label: str) -> None:
    assert qualtrics_status_label(value) == label


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


# --- Qualtrics: bad input -------------------------------------------------------------------


def test_missing_import_id_row_is_refused() -> None:
    legacy = (
        b"StartDate,Status,Q1\nStart Date,Response Type,How are you?\n2020-01-01 10:00:00,0,fine\n"
    )
    with pytest.raises(InputError) as caught:
        read_qualtrics_csv(legacy, "legacy.csv")
    assert str(caught.value) == (
        'legacy.csv: line 3, column 1 "StartDate": row 3 must hold {"ImportId": ...} JSON for '
        "every column (found '2020-01-01 10:00:00')"
    )


def test_first_bad_import_id_column_is_named() -> None:
    data = b'StartDate,Q1,Q2\nStart,One,Two\n"{""ImportId"":""startDate""}","{""ImportId"":""QID1""}",QID2\n'
    with pytest.raises(InputError) as caught:
        read_qualtrics_csv(data, "w.csv")
    assert caught.value.place == 'line 3, column 3 "Q2"'
    assert caught.value.detail == "found 'QID2'"


def test_header_only_file_lacks_import_ids() -> None:
    with pytest.raises(InputError) as caught:
        read_qualtrics_csv(b"Q1,Q2\nOne,Two\n", "short.csv")
    assert str(caught.value) == (
        'short.csv: line 3, column 1 "Q1": row 3 must hold {"ImportId": ...} JSON for every '
        "column (the cell is missing)"
    )


def _three_columns() -> list[QualtricsColumn]:
    return [
        QualtricsColumn("ResponseId", "Response ID", "_recordId"),
        QualtricsColumn("Q1", "Question\nwith two lines", "QID1"),
        QualtricsColumn("Q2", "Other", "QID2"),
    ]


def test_ragged_row_names_the_line() -> None:
    rows = pl.DataFrame({"ResponseId": ["R_1"], "Q1": ["a"], "Q2": ["b"]})
    written = write_qualtrics_csv(_three_columns(), rows, crlf=False)
    # The question text spans lines 2-3, so the JSON row is line 4 and the first response line 5.
    ragged = written + b"R_2,a,b,surplus\n"
    with pytest.raises(InputError) as caught:
        read_qualtrics_csv(ragged, "ragged.csv")
    assert str(caught.value) == (
        "ragged.csv: line 6: a row must not have more fields than the header "
        "(found 4 fields, the header has 3)"
    )


def test_blank_trailing_rows_are_dropped_and_noted() -> None:
    rows = pl.DataFrame({"ResponseId": ["R_1", "R_2"], "Q1": ["a", None], "Q2": ["b", "c"]})
    written = write_qualtrics_csv(_three_columns(), rows, crlf=True) + b",,\r\n\r\n"
    export = read_qualtrics_csv(written, "w.csv")
    assert_frame_equal(export.data, rows)
    assert "dropped 2 entirely empty row(s) (lines 7-8); they hold no data" in export.notes


def test_short_rows_are_padded_and_noted() -> None:
    written = write_qualtrics_csv(
        _three_columns(),
        pl.DataFrame({"ResponseId": ["R_1"], "Q1": ["a"], "Q2": ["b"]}),
        crlf=False,
    )
    export = read_qualtrics_csv(written + b"R_2,x\n", "w.csv")
    assert export.data.row(1) == ("R_2", "x", None)
    assert "padded 1 short row(s) with empty cells (lines 6)" in export.notes


def test_unclosed_quote_is_refused() -> None:
    with pytest.raises(InputError, match="fields must follow CSV quoting rules"):
        read_plain_csv(b'a,b\n1,"open\n', "q.csv")


# --- Plain CSV ------------------------------------------------------------------------------


def test_plain_csv_with_bom_crlf_and_duplicates() -> None:
    data = "\ufeffid,Email,answer,answer\r\n1,a@example.org,ja,\r\n2,,nein,vielleicht\r\n".encode()
    export = read_survey_export(data, "plain.csv", "csv")
    assert export.format == "csv"
    assert export.data.columns == ["id", "Email", "answer", "answer_2"]
    assert export.data.rows() == [
        ("1", "a@example.org", "ja", None),
        ("2", None, "nein", "vielleicht"),
    ]
    assert export.identifying_columns == ["Email"]
    assert export.columns["import_id"].null_count() == 4
    assert export.notes == (
        "removed a UTF-8 byte-order mark",
        "converted CRLF/CR line endings to LF",
        "renamed repeated column name 'answer' in column 4 to 'answer_2'",
    )


def test_plain_csv_refuses_a_qualtrics_export(qualtrics_sample: bytes) -> None:
    with pytest.raises(InputError, match='must be read as format "qualtrics"'):
        read_survey_export(qualtrics_sample, "s.csv", "csv")


def test_unknown_format_and_misplaced_dictionary() -> None:
    with pytest.raises(InputError) as caught:
        read_survey_export(b"a\n1\n", "x.csv", "spss")
    assert (
        str(caught.value)
        == "x.csv: format: the format must be one of csv, qualtrics, redcap (got 'spss')"
    )
    with pytest.raises(InputError, match="can only accompany a REDCap export"):
        read_survey_export(b"a\n1\n", "x.csv", "csv", dictionary=b"", dictionary_name="d.csv")


# --- REDCap: the real samples ---------------------------------------------------------------


@pytest.fixture(scope="module")
def redcap_sample() -> bytes:
    return REDCAP_DATA.read_bytes()


@pytest.fixture(scope="module")
def redcap_dictionary() -> bytes:
    return REDCAP_DICTIONARY.read_bytes()


def test_redcap_sample(redcap_sample: bytes) -> None:
    export = read_survey_export(redcap_sample, "REDCapR-survey-data.csv", "redcap")
    assert export.format == "redcap"
    assert export.data.shape == (2, 33)
    assert export.data["participant_id"].to_list() == ["1", "2"]
    assert export.data["email"].to_list() == ["aaa@bbb.com", "ccc@ddd.com"]
    assert export.data["prescreening_survey_complete"].to_list() == ["2", "2"]
    assert [redcap_complete_label(v) for v in export.data["participant_info_survey_complete"]] == [
        "Incomplete",
        "Incomplete",
    ]
    consent = column_row(export.columns, "consent___1")
    assert (consent["field"], consent["choice"], consent["export_tag"]) == (
        "consent",
        "1",
        "consent___1",
    )
    assert export.data["consent___1"].to_list() == ["1", "0"]
    assert column_row(export.columns, "has_diabetes")["field"] == "has_diabetes"
    assert export.columns["question_text"].null_count() == 33
    assert export.choices.is_empty()


def test_redcap_not_completed_becomes_null(redcap_sample: bytes) -> None:
    assert b"[not completed]" in redcap_sample
    export = read_redcap_csv(redcap_sample, "REDCapR-survey-data.csv")
    assert export.data["participant_morale_questionnaire_timestamp"].to_list() == [None, None]
    assert export.notes == (
        "replaced 1 '[not completed]' value(s) with null (a survey not finished): "
        "participant_morale_questionnaire_timestamp (1)",
    )


def test_redcap_sample_identifying_columns(redcap_sample: bytes) -> None:
    export = read_redcap_csv(redcap_sample, "REDCapR-survey-data.csv")
    assert set(export.identifying_columns) == {
        "redcap_survey_identifier",
        "dob",
        "email",
        "first_name",
        "last_name",
        "address",
        "telephone_1",
    }
    assert column_row(export.columns, "participant_id")["identifying"] is False


def test_redcap_sample_dictionary(redcap_dictionary: bytes) -> None:
    dictionary = read_redcap_dictionary(redcap_dictionary, "REDCapR-checkboxes-dictionary.csv")
    assert dictionary.fields["field"].to_list() == [
        "record_id",
        "check_one",
        "check_two",
        "desired_result",
    ]
    assert dictionary.fields["field_type"].to_list() == ["text", "checkbox", "checkbox", "notes"]
    assert dictionary.choices.rows() == [
        ("check_one", "1", "one"),
        ("check_one", "2", "two"),
        ("check_one", "3", "three"),
        ("check_one", "4", "four"),
        ("check_two", "a", "A"),
        ("check_two", "b", "B"),
        ("check_two", "c", "C"),
        ("check_two", "d", "D"),
        ("check_two", "e", "E"),
    ]


def _checkbox_data(extra: dict[str, list[str | None]] | None = None) -> bytes:
    columns: dict[str, list[str | None]] = {
        "record_id": ["1", "2"],
        **{f"check_one___{c}": ["1", "0"] for c in "1234"},
        **{f"check_two___{c}": ["0", "1"] for c in "abcde"},
        "desired_result": ["all of one", None],
        "form_2_complete": ["2", "0"],
        **(extra or {}),
    }
    return write_redcap_csv(pl.DataFrame(columns, schema={k: pl.String for k in columns}))


def test_redcap_with_dictionary(redcap_dictionary: bytes) -> None:
    export = read_survey_export(
        _checkbox_data(), "checkboxes.csv", "redcap", redcap_dictionary, "dictionary.csv"
    )
    assert export.data.shape == (2, 12)
    check_two_c = column_row(export.columns, "check_two___c")
    assert (check_two_c["field"], check_two_c["choice"], check_two_c["question_text"]) == (
        "check_two",
        "c",
        "check two",
    )
    assert column_row(export.columns, "desired_result")["question_text"] == (
        "What should happen for this participant"
    )
    assert column_row(export.columns, "form_2_complete")["question_text"] is None
    labels = export.columns.join(
        export.choices, left_on=["field", "choice"], right_on=["field", "code"]
    ).select("column", "label")
    assert labels.filter(pl.col("column") == "check_one___3")["label"].to_list() == ["three"]
    assert export.notes == (
        "1 column(s) not in dictionary.csv (REDCap system or form-status columns, or a "
        "dictionary from another project): form_2_complete",
    )


def test_undeclared_checkbox_choice_is_refused(redcap_dictionary: bytes) -> None:
    data = _checkbox_data({"check_one___5": ["0", "1"]})
    with pytest.raises(InputError) as caught:
        read_redcap_csv(data, "checkboxes.csv", redcap_dictionary, "dictionary.csv")
    assert str(caught.value) == (
        'checkboxes.csv: line 1, column 13 "check_one___5": checkbox columns (field___code) must '
        "match a checkbox field and one of its choice codes in the data dictionary "
        '(checkbox field "check_one" has codes 1, 2, 3, 4)'
    )


def test_checkbox_of_undeclared_field_is_refused(
    redcap_sample: bytes, redcap_dictionary: bytes
) -> None:
    with pytest.raises(InputError) as caught:
        read_redcap_csv(redcap_sample, "data.csv", redcap_dictionary, "dictionary.csv")
    assert caught.value.place == 'line 1, column 7 "consent___1"'
    assert caught.value.detail == 'dictionary.csv has no checkbox field "consent"'


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


def test_bad_form_status_is_refused() -> None:
    data = b"record_id,intake_complete\n1,2\n2,done\n"
    with pytest.raises(InputError) as caught:
        read_redcap_csv(data, "intake.csv")
    assert str(caught.value) == (
        'intake.csv: line 3, column 2 "intake_complete": form status columns (*_complete) must '
        "hold 0, 1 or 2 (found 'done'; 1 such value(s) on lines 3)"
    )


def test_bad_dictionary_choices_are_refused() -> None:
    dictionary = write_redcap_dictionary([RedcapField("q", "f", "radio", "Q", (("1", "one"),))])
    broken = dictionary.replace(b"1, one", b"1, one | two")
    with pytest.raises(InputError) as caught:
        read_redcap_dictionary(broken, "dict.csv")
    assert str(caught.value) == (
        'dict.csv: line 2, field "q": choices must read "code, label | code, label" (found \'two\')'
    )


def test_dictionary_without_standard_header_is_refused() -> None:
    with pytest.raises(InputError) as caught:
        read_redcap_dictionary(b"name,type\nq,text\n", "dict.csv")
    assert caught.value.rule == "a REDCap data dictionary needs the standard column headers"
    assert caught.value.detail.endswith("found: name, type")
