"""Tests for the researcher-made coded-segments CSV reader."""

from __future__ import annotations

import polars as pl
import pytest

from tasks.ingest.coded_segments_csv import (
    CODED_SEGMENTS_SCHEMA,
    read_coded_segments,
    read_coded_segments_csv,
)
from tasks.ingest.errors import InputError, InputErrors

HEADER = "source,case,speaker_role,start,end,code,coder,text\n"


def test_reads_typed_table() -> None:
    data = (
        b" Source ,CASE,Speaker_Role, start ,End,code,coder,text\n"
        b'int-01, P1 ,nurse,0,12,workload,ana,"We were short, again"\n'
        b'int-01,P1,, 15 ,40,support,ben,"She said:\nlet\'s go"\n'
    )
    table = read_coded_segments_csv(data, "seg.csv")
    assert table.schema == pl.Schema(CODED_SEGMENTS_SCHEMA)
    assert table.rows() == [
        ("int-01", "P1", "nurse", 0, 12, "workload", "ana", "We were short, again"),
        ("int-01", "P1", None, 15, 40, "support", "ben", "She said:\nlet's go"),
    ]


def test_missing_required_column_names_the_columns_found() -> None:
    data = b"Source,Case,start,end,code,text\nx,y,1,2,c,t\n"
    with pytest.raises(
        InputError,
        match=r"^seg\.csv: header \(row 1\): required column\(s\) missing: speaker_role, coder "
        r"\(found columns: 'Source', 'Case', 'start', 'end', 'code', 'text'\)$",
    ):
        read_coded_segments_csv(data, "seg.csv")


def test_non_integer_start_names_row_and_column() -> None:
    data = (HEADER + "a,b,,1,5,c,d,t\na,b,,x1,5,c,d,t\n").encode()
    with pytest.raises(
        InputError,
        match=r"^seg\.csv: row 3, column 'start': start must be a whole number \(got 'x1'\)$",
    ):
        read_coded_segments_csv(data, "seg.csv")


def test_start_after_end() -> None:
    data = (HEADER + "a,b,,9,5,c,d,t\n").encode()
    with pytest.raises(
        InputError,
        match=r"^seg\.csv: row 2: start must not be greater than end \(start=9, end=5\)$",
    ):
        read_coded_segments_csv(data, "seg.csv")


def test_negative_start() -> None:
    data = (HEADER + "a,b,,-1,5,c,d,t\n").encode()
    with pytest.raises(
        InputError, match=r"row 2, column 'start': start must not be negative \(got -1\)"
    ):
        read_coded_segments_csv(data, "seg.csv")


def test_several_problems_are_reported_together() -> None:
    data = (HEADER + "a,b,,1,z,c,d,t\n,b,,1,2,c,d,t\na,b,,1,2\n").encode()
    with pytest.raises(InputErrors) as caught:
        read_coded_segments_csv(data, "seg.csv")
    assert [str(e) for e in caught.value.errors] == [
        "seg.csv: row 2, column 'end': end must be a whole number (got 'z')",
        "seg.csv: row 3, column 'source': source must not be empty",
        "seg.csv: row 4: every row must have as many fields as the header "
        "(found 5 field(s), the header has 8)",
    ]


def test_blank_trailing_rows_are_ignored_and_noted() -> None:
    data = (HEADER + "a,b,r,1,2,c,d,t\n,,,,,,,\n\n").encode()
    result = read_coded_segments(data, "seg.csv")
    assert result.table.height == 1
    assert result.notes == ("ignored 2 blank row(s): 3, 4",)


def test_semicolons_bom_cp1252_and_extra_columns_are_noted() -> None:
    text = "source;case;speaker_role;start;end;code;coder;text;memo\r\nI1;P1;Ärztin;0;4;Stress;ana;Café;x\r\n"
    result = read_coded_segments(b"\xef\xbb\xbf" + text.encode("utf-8"), "seg.csv")
    assert result.table.rows() == [("I1", "P1", "Ärztin", 0, 4, "Stress", "ana", "Café", "x")]
    assert result.table.columns[-1] == "memo"
    assert result.notes == (
        "removed a UTF-8 byte-order mark",
        "converted CRLF/CR line endings to LF",
        "columns are separated by ';', not ','",
        "kept extra column(s) as text: memo",
    )
    latin = read_coded_segments(text.encode("cp1252"), "seg.csv")
    assert latin.table["speaker_role"].to_list() == ["Ärztin"]
    assert latin.notes[0] == "converted from Windows-1252 (cp1252) to UTF-8"


def test_header_only_gives_an_empty_typed_table() -> None:
    table = read_coded_segments_csv(HEADER.encode(), "seg.csv")
    assert table.height == 0
    assert table.schema == pl.Schema(CODED_SEGMENTS_SCHEMA)


def test_empty_file() -> None:
    with pytest.raises(
        InputError, match=r"^seg\.csv: row 1: the file must start with a header row"
    ):
        read_coded_segments_csv(b"", "seg.csv")
