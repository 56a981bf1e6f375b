"""Polars' native CSV path gives the Python readers' exact results, and steps aside when it cannot."""

from __future__ import annotations

import polars as pl
import pytest
from polars.testing import assert_frame_equal

import tasks.ingest.qualtrics as qualtrics
from tasks.ingest.errors import InputError
from tasks.ingest.native_csv import read_csv_table, read_records, scan_layout
from tasks.ingest.tables import read_table

HEADER = (
    'StartDate,Status,ResponseId,Q1,Q2\r\n'
    '"Start Date","Response\r\nType","Response ID","Your role","Why, in your words"\r\n'
    '{"ImportId":"startDate"},{"ImportId":"status"},{"ImportId":"_recordId"},'
    '{"ImportId":"QID1"},{"ImportId":"QID2_TEXT"}\r\n'
)
BODY = (
    '2014-05-12 07:00:00,0,R_1,1,"Time, mostly"\r\n'
    ',,,,\r\n'
    '2014-05-13 08:00:00,0,R_2,2,"two\r\nlines ""quoted"""\r\n'
    '\r\n'
    '2014-05-14 09:00:00,8,R_3, 3 \r\n'
    '2014-05-15 10:00:00,0,R_4,,""\r\n'
    ',,,,\r\n'
)


def _python(data: bytes, name: str, monkeypatch: pytest.MonkeyPatch) -> qualtrics.SurveyExport:
    with monkeypatch.context() as m:
        m.setattr(qualtrics, "read_records", lambda *a, **k: None)
        return qualtrics.read_qualtrics_csv(data, name)


@pytest.mark.parametrize("encoding", ["utf-8", "cp1252"])
def test_qualtrics_native_equals_python_reader(encoding: str, monkeypatch: pytest.MonkeyPatch) -> None:
    data = (HEADER + BODY.replace("mostly", "mostly \u2013 caf\u00e9")).encode(encoding)
    native = qualtrics.read_qualtrics_csv(data, "wave.csv")
    python = _python(data, "wave.csv", monkeypatch)
    assert_frame_equal(native.data, python.data)
    assert_frame_equal(native.columns, python.columns)
    assert native.notes == python.notes
    assert native.data["Q2"].to_list() == ["Time, mostly \u2013 caf\u00e9", 'two\nlines "quoted"', None, None]
    assert native.data["Q1"].to_list() == ["1", "2", " 3 ", None]
    # Blank records at lines 6, 9 and 12 (the quoted line break makes record 3 two lines long).
    assert [n for n in native.notes if "empty" in n or "short" in n] == [
        "dropped 3 entirely empty row(s) (lines 6, 9, 12); they hold no data",
        "padded 1 short row(s) with empty cells (lines 10)",
    ]


def test_a_row_longer_than_the_header_is_left_to_the_python_reader() -> None:
    data = (HEADER + "2014-05-12 07:00:00,0,R_1,1,x,extra\r\n").encode()
    assert read_records(data.decode(), 3, ",", "x.csv") is None
    with pytest.raises(InputError, match="line 5.*more fields than the header"):
        qualtrics.read_qualtrics_csv(data, "wave.csv")


def test_a_quote_inside_an_unquoted_field_is_left_to_the_python_reader() -> None:
    assert scan_layout(b'a,b"c,d\n', ",", 1) is None
    assert scan_layout(b'a,"b"c,d\n', ",", 1) is None
    layout = scan_layout(b'a,"b,""c"""\n\n"x\ny",z', ",", 4)
    assert layout is not None
    assert layout.lines.tolist() == [4, 5, 6] and layout.fields.tolist() == [2, 0, 2]


def test_csv_table_native_equals_read_table() -> None:
    data = "\ufeffmember_id , ccg_code,role\r\n M1 ,CCG001,chair\r\n\r\nM2,CCG002\r\n  ,  ,  \r\n".encode()
    native = read_csv_table(data, "roster.csv")
    python = read_table(data, "roster.csv")
    assert native is not None
    assert_frame_equal(native.frame, python.frame)
    assert (native.notes, native.dropped_rows) == (python.notes, python.dropped_rows)
    assert native.frame.to_dicts()[1] == {"member_id": "M2", "ccg_code": "CCG002", "role": None}
    assert native.dropped_rows == (3, 5)


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("a;b\n1;2\n", "t.csv"),  # semicolon-separated: sniffed by the Python reader
        ("a,,b\n1,,2\n", "t.csv"),  # a column without a header
        ("a,a\n1,2\n", "t.csv"),  # a repeated header
        ("a,b\n1,2,3\n", "t.csv"),  # a row longer than the header
        ("a,b\n1,2\n", "t.xlsx"),  # not a delimited file
    ],
)
def test_csv_table_native_steps_aside(text: str, name: str) -> None:
    assert read_csv_table(text.encode(), name) is None


def test_tsv_table_native() -> None:
    data = b"a\tb\n1\t x \n"
    native = read_csv_table(data, "t.tsv")
    assert native is not None
    assert_frame_equal(native.frame, pl.DataFrame({"a": ["1"], "b": ["x"]}))


def test_native_table_refuses_a_roster_cut_off_mid_row() -> None:
    roster = b"member_id,site_id,role\nM1,S1,chair\nM2,S1,nurse\nM3,S"
    with pytest.raises(InputError) as caught:
        read_csv_table(roster, "roster.csv")
    assert str(caught.value) == (
        "roster.csv: line 4: the file is truncated: its last row is cut off "
        "(2 of 3 fields and no line end; export or copy the file again)"
    )
    # The complete last row without a line end is a complete file.
    assert read_csv_table(roster + b"2,gp", "roster.csv").frame.height == 3
