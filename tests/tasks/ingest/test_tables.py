"""Sites and roster tables from CSV, TSV and XLSX bytes."""

from __future__ import annotations

import io
from datetime import date, datetime

import openpyxl
import polars as pl
import pytest

from tasks.ingest.errors import InputError
from tasks.ingest.tables import TableRead, number_ranges, read_table, require_columns


def xlsx_bytes(sheets: dict[str, list[list[object]]]) -> bytes:
    book = openpyxl.Workbook()
    book.remove(book.active)
    for title, rows in sheets.items():
        sheet = book.create_sheet(title)
        for row in rows:
            sheet.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


ROSTER: list[list[object]] = [
    [" site_id ", "site_name", "enrolled", "share", "start", "active"],
    ["S01", "  Nordklinik ", 12, 0.25, date(2024, 3, 1), True],
    ["S02", "Südpraxis", 7.0, 1.5, datetime(2024, 4, 2, 13, 30), False],
    ["S03", None, None, None, None, None],
    # Blank rows as spreadsheets leave them: cells with only spaces, then an untouched row.
    ["  ", None, " ", None, None, None],
    [],
    ["", "", "", "", "", ""],
]


def test_xlsx_reads_strings_and_reports_blank_rows() -> None:
    table = read_table(xlsx_bytes({"Sites": ROSTER}), "sites.xlsx")
    assert isinstance(table, TableRead)
    assert table.frame.columns == ["site_id", "site_name", "enrolled", "share", "start", "active"]
    assert set(table.frame.schema.values()) == {pl.String}
    assert table.frame.rows() == [
        ("S01", "Nordklinik", "12", "0.25", "2024-03-01", "TRUE"),
        ("S02", "Südpraxis", "7", "1.5", "2024-04-02 13:30:00", "FALSE"),
        ("S03", None, None, None, None, None),
    ]
    assert table.dropped_rows == (5, 6, 7)
    assert table.notes == (
        "read sheet 'Sites'",
        "dropped 3 entirely empty row(s) (rows 5-7); they hold no data",
    )


def test_xlsx_sheet_by_name() -> None:
    data = xlsx_bytes({"Notes": [["text"], ["ignore me"]], "Roster": [["id"], ["P1"], ["P2"]]})
    assert read_table(data, "r.xlsx").frame.columns == ["text"]
    roster = read_table(data, "r.xlsx", sheet="Roster")
    assert roster.frame["id"].to_list() == ["P1", "P2"]
    with pytest.raises(InputError) as caught:
        read_table(data, "r.xlsx", sheet="Sites")
    assert (
        str(caught.value)
        == "r.xlsx: sheet 'Sites': the requested sheet must exist (sheets: Notes, Roster)"
    )


def test_xlsx_missing_required_column() -> None:
    table = read_table(xlsx_bytes({"Sites": ROSTER}), "sites.xlsx")
    require_columns(table, ["site_id", "enrolled"], "sites.xlsx")
    with pytest.raises(InputError) as caught:
        require_columns(table.frame, ["site_id", "region", "country"], "sites.xlsx")
    assert str(caught.value) == (
        "sites.xlsx: header row: required columns are missing (missing: region, country; "
        "found: site_id, site_name, enrolled, share, start, active)"
    )


def test_xlsx_data_without_header_is_refused() -> None:
    data = xlsx_bytes({"S": [["id", None, "name"], ["1", "orphan", "A"]]})
    with pytest.raises(InputError) as caught:
        read_table(data, "s.xlsx")
    assert str(caught.value) == (
        "s.xlsx: row 1, column 2: every column holding data needs a header (first value in row 2)"
    )


def test_broken_xlsx_is_refused() -> None:
    with pytest.raises(InputError, match="must be a readable Excel workbook"):
        read_table(b"not a zip file", "broken.xlsx")


def test_csv_blank_trailing_rows_are_noted_not_silent() -> None:
    data = b"participant_id, site_id ,role\nP01,S01, nurse \nP02,S02,\n,,\n\n  ,  ,\n"
    table = read_table(data, "roster.csv")
    assert table.frame.rows() == [("P01", "S01", "nurse"), ("P02", "S02", None)]
    assert table.frame.columns == ["participant_id", "site_id", "role"]
    assert table.dropped_rows == (4, 5, 6)
    assert table.notes == ("dropped 3 entirely empty row(s) (lines 4-6); they hold no data",)


def test_csv_cp1252_crlf_short_rows_and_trailing_empty_columns() -> None:
    data = "id,name,,\r\n1,Müller,,\r\n2\r\n".encode("cp1252")
    table = read_table(data, "ROSTER.CSV")
    assert table.frame.rows() == [("1", "Müller"), ("2", None)]
    assert table.notes == (
        "converted from Windows-1252 (cp1252) to UTF-8",
        "converted CRLF/CR line endings to LF",
        "dropped 2 empty column(s) without a header (columns 3-4)",
        "padded 1 short row(s) with empty cells (lines 3)",
    )


def test_tsv_and_semicolon_csv() -> None:
    assert read_table(b"a\tb\n1\t2, 3\n", "t.tsv").frame.rows() == [("1", "2, 3")]
    table = read_table(b"site;beds\nS1;12\n", "excel-de.csv")
    assert table.frame.rows() == [("S1", "12")]
    assert table.notes == ("read as semicolon-separated (the header row has no commas)",)


def test_csv_long_row_and_duplicate_header_are_refused() -> None:
    with pytest.raises(InputError) as caught:
        read_table(b"a,b\n1,2,3\n", "long.csv")
    assert str(caught.value) == (
        "long.csv: line 1, column 3: every column holding data needs a header (first value in line 2)"
    )
    with pytest.raises(InputError) as caught:
        read_table(b"id,id\n1,2\n", "dup.csv")
    assert (
        str(caught.value)
        == "dup.csv: line 1, column 2: column headers must be unique ('id' appears more than once)"
    )


def test_unsupported_inputs_are_refused() -> None:
    with pytest.raises(InputError) as caught:
        read_table(b"", "sites.xls")
    assert (
        str(caught.value)
        == "sites.xls: file name: a table must be a .csv, .tsv or .xlsx file (found '.xls')"
    )
    with pytest.raises(InputError, match="the first row must hold the column headers"):
        read_table(b"\n\n", "empty.csv")
    with pytest.raises(InputError, match="a sheet can only be chosen in an .xlsx file"):
        read_table(b"a\n1\n", "a.csv", sheet="Sheet1")


def test_number_ranges() -> None:
    assert number_ranges([9, 4, 5, 6, 12, 13]) == "4-6, 9, 12-13"
    assert number_ranges([]) == ""
