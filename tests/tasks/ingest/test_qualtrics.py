"""Tests for tasks.ingest.qualtrics: the real Qualtrics sample, status labels and bad input."""

from __future__ import annotations

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from tasks.demo.exports import QualtricsColumn, write_qualtrics_csv
from tasks.ingest.errors import InputError
from tasks.ingest.qualtrics import qualtrics_status_label, read_qualtrics_csv
from tests.tasks.ingest.survey_samples import column_row

QUALTRICS_IDENTIFYING = {
    "IPAddress",
    "RecipientLastName",
    "RecipientFirstName",
    "RecipientEmail",
    "LocationLatitude",
    "LocationLongitude",
}


# --- Qualtrics: the real sample -------------------------------------------------------------


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


def test_a_file_with_two_header_rows_is_not_a_complete_export() -> None:
    with pytest.raises(InputError) as caught:
        read_qualtrics_csv(b"Q1,Q2\nOne,Two\n", "short.csv")
    assert str(caught.value) == (
        "short.csv: line 3: a Qualtrics export starts with three header rows "
        "(found 2: the file is truncated, or not a Qualtrics export)"
    )


def test_an_export_cut_off_mid_row_is_reported_as_truncated() -> None:
    written = write_qualtrics_csv(
        _three_columns(), pl.DataFrame({"ResponseId": ["R_1", "R_2"], "Q1": ["a", "c"], "Q2": ["b", "d"]}),
        crlf=False,
    )
    with pytest.raises(InputError) as caught:
        read_qualtrics_csv(written[: written.rindex(b",")], "w.csv")
    assert str(caught.value) == (
        "w.csv: line 6: the file is truncated: its last row is cut off "
        "(2 of 3 fields and no line end; export or copy the file again)"
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
