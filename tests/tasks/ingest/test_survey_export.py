"""Tests for tasks.ingest.survey_export: the format dispatcher and plain CSV exports."""

from __future__ import annotations

import pytest
from polars.testing import assert_frame_equal

from tasks.ingest.errors import InputError
from tasks.ingest.qualtrics import read_qualtrics_csv
from tasks.ingest.survey_export import read_plain_csv, read_survey_export


def test_dispatcher_reads_qualtrics_like_the_reader(qualtrics_sample: bytes) -> None:
    direct = read_qualtrics_csv(qualtrics_sample, "s.csv")
    via = read_survey_export(qualtrics_sample, "s.csv", "qualtrics")
    assert_frame_equal(direct.data, via.data)
    assert_frame_equal(direct.columns, via.columns)


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
        read_survey_export(b"a\n1\n", "x.csv", "stata")
    assert (
        str(caught.value)
        == "x.csv: format: the format must be one of csv, qualtrics, redcap, spss (got 'stata')"
    )
    with pytest.raises(InputError, match="can only accompany a REDCap export"):
        read_survey_export(b"a\n1\n", "x.csv", "csv", dictionary=b"", dictionary_name="d.csv")
